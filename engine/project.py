# SPDX-License-Identifier: MIT
"""The project file (``*.barforge``): a whole editing session as UTF-8 JSON.

A :class:`Project` is the undoable :class:`~engine.history.Document` (pattern, locks,
provenance, seed, output settings) plus what undo does not cover: each track's mute, solo, lock
and colour (:class:`TrackState`), the favourite seeds, the browser's ideas (the takes the
composer starred and the states they adopted, each an :class:`Idea`), and a free-form ``view``
(zoom, scroll) that the app fills as it likes. The format is described in
``docs/project-format.md``.

:func:`save_project` writes atomically (a temporary file renamed over the target), so a crash
or a full disk leaves the old file as it was. :func:`load_project` checks everything and raises
:class:`ProjectFileError`, naming the file and the reason (for a bad value: which field, e.g.
``pattern.tracks[2].notes[5]: pitch 200 is out of range 0..127``). No pickle: a project file
from anywhere is safe to open.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.atomic import write_bytes_atomically
from engine.generation.settings import Locks, OutputSettings, Provenance
from engine.history import MAX_SEED, Document
from engine.midi.files import MAX_BARS
from engine.music import MAX_TEMPO_US, Note, Pattern, TimeSignature, Track

#: The ``"format"`` value that marks a Barforge project file.
PROJECT_FORMAT = "barforge-project"
#: The newest format version this code reads and the one it writes.
PROJECT_VERSION = 2
#: At most this many adopted states are kept (the oldest go first).
MAX_ADOPTED = 100
#: File name suffix of project files.
PROJECT_SUFFIX = ".barforge"
#: Files above this size are refused before parsing (a million notes take about 25 MiB).
MAX_PROJECT_BYTES = 64 * 1024 * 1024

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class ProjectFileError(Exception):
    """A project file could not be read or written; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True, slots=True)
class TrackState:
    """How the app shows and plays one track; not part of undo.

    Parameters
    ----------
    mute : bool
        Silenced in playback.
    solo : bool
        Soloed: while any track is soloed, only soloed tracks play.
    lock : bool
        The lock toggle in the track list (the app keeps ``Document.locks`` in step with it).
    colour : str or None
        ``"#rrggbb"`` (stored in lower case), or None for the palette's colour.
    """

    mute: bool = False
    solo: bool = False
    lock: bool = False
    colour: str | None = None

    def __post_init__(self) -> None:
        for name in ("mute", "solo", "lock"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"TrackState.{name} must be a bool, got {getattr(self, name)!r}")
        if self.colour is not None:
            if not isinstance(self.colour, str) or not _COLOUR.fullmatch(self.colour):
                raise ValueError(
                    f'TrackState.colour must be "#rrggbb" or None, got {self.colour!r}'
                )
            object.__setattr__(self, "colour", self.colour.lower())


@dataclass(frozen=True, slots=True, eq=False)
class Idea:
    """A take the composer kept from the browser: starred as a favourite, or adopted.

    Parameters
    ----------
    label : str
        What the browser shows (``"Seed 7 · var 3"``).
    pattern : Pattern
        The notes exactly as the composer heard them.
    provenance : Provenance or None
        Where they came from (the model's bar inputs): interpolating between two ideas needs
        it; None for notes no model made.
    seed : int or None
        The seed the take started from, 0..2**63-1.

    Ideas compare by identity: they are immutable, and the app keeps the same objects.
    """

    label: str
    pattern: Pattern
    provenance: Provenance | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.label, str):
            raise ValueError(f"Idea.label must be a string, got {self.label!r}")
        if not isinstance(self.pattern, Pattern):
            raise ValueError(f"Idea.pattern must be a Pattern, got {self.pattern!r}")
        if self.provenance is not None and not isinstance(self.provenance, Provenance):
            raise ValueError(f"Idea.provenance must be a Provenance, got {self.provenance!r}")
        seed = self.seed
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
        ):
            raise ValueError(f"Idea.seed: seeds are in 0..2**63-1, got {seed!r}")


@dataclass(frozen=True, slots=True)
class Project:
    """Everything a project file holds.

    Parameters
    ----------
    document : Document
        The undoable state: pattern, locks, provenance, current seed, output settings.
    track_states : tuple of TrackState
        One per track of ``document.pattern``, in the same order.
    favourites : tuple of int
        Seeds the composer starred, 0..2**63-1, in the order shown.
    view : dict
        Free-form JSON object for the app (zoom, scroll, ...): string keys; values that JSON
        can hold (no NaN or infinity). Saved and loaded as it is.
    ideas : tuple of Idea
        The takes starred in the browser, in the order shown.
    adopted : tuple of Idea
        The states adopted from the browser, oldest first; at most :data:`MAX_ADOPTED` (older
        ones are dropped).
    """

    document: Document
    track_states: tuple[TrackState, ...]
    favourites: tuple[int, ...] = ()
    view: dict[str, Any] = field(default_factory=dict)
    ideas: tuple[Idea, ...] = ()
    adopted: tuple[Idea, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.document, Document):
            raise ValueError(f"Project.document must be a Document, got {self.document!r}")
        states = tuple(self.track_states)
        if not all(isinstance(s, TrackState) for s in states):
            raise ValueError("Project.track_states must hold TrackState values")
        n_tracks = len(self.document.pattern.tracks)
        if len(states) != n_tracks:
            raise ValueError(
                f"Project.track_states: {len(states)} states for {n_tracks} tracks "
                "(one per track is needed)"
            )
        favourites = tuple(self.favourites)
        for seed in favourites:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
                raise ValueError(f"Project.favourites: seeds are in 0..2**63-1, got {seed!r}")
        if not isinstance(self.view, dict) or not all(isinstance(k, str) for k in self.view):
            raise ValueError(f"Project.view must be a dict with string keys, got {self.view!r}")
        ideas, adopted = tuple(self.ideas), tuple(self.adopted)[-MAX_ADOPTED:]
        if not all(isinstance(i, Idea) for i in ideas + adopted):
            raise ValueError("Project.ideas and Project.adopted must hold Idea values")
        object.__setattr__(self, "track_states", states)
        object.__setattr__(self, "favourites", favourites)
        object.__setattr__(self, "ideas", ideas)
        object.__setattr__(self, "adopted", adopted)

    @classmethod
    def from_document(
        cls,
        document: Document,
        *,
        favourites: Iterable[int] = (),
        view: Mapping[str, Any] | None = None,
    ) -> Project:
        """A project for ``document`` with default track states (nothing muted, soloed or
        locked, palette colours)."""
        states = tuple(TrackState() for _ in document.pattern.tracks)
        return cls(document, states, tuple(favourites), dict(view or {}))


# --- writing ---------------------------------------------------------------------------------


def _pattern_dict(pattern: Pattern, track_states: Iterable[TrackState]) -> dict[str, Any]:
    tracks = []
    for track, state in zip(pattern.tracks, track_states, strict=True):
        tracks.append(
            {
                "name": track.name,
                "program": track.program,
                "is_drum": track.is_drum,
                "channel": track.channel,
                "mute": state.mute,
                "solo": state.solo,
                "lock": state.lock,
                "colour": state.colour,
                "notes": [[n.start, n.duration, n.pitch, n.velocity] for n in track.notes],
            }
        )
    return {
        "ticks_per_quarter": pattern.ticks_per_quarter,
        "time_signature": {
            "numerator": pattern.time_signature.numerator,
            "denominator": pattern.time_signature.denominator,
        },
        "tempo_us": pattern.tempo_us,
        "n_bars": pattern.n_bars,
        "tracks": tracks,
    }


def _idea_dict(idea: Idea) -> dict[str, Any]:
    plain = (TrackState() for _ in idea.pattern.tracks)
    return {
        "label": idea.label,
        "seed": idea.seed,
        "pattern": _pattern_dict(idea.pattern, plain),
        "provenance": None if idea.provenance is None else idea.provenance.to_dict(),
    }


def project_to_dict(project: Project) -> dict[str, Any]:
    """The JSON object of ``project`` (see ``docs/project-format.md``)."""
    doc = project.document
    return {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "pattern": _pattern_dict(doc.pattern, project.track_states),
        "seeds": {"current": doc.seed, "favourites": list(project.favourites)},
        "locks": doc.locks.to_dict(),
        "provenance": None if doc.provenance is None else doc.provenance.to_dict(),
        "settings": doc.settings.to_dict(),
        "ideas": {
            "favourites": [_idea_dict(i) for i in project.ideas],
            "adopted": [_idea_dict(i) for i in project.adopted],
        },
        "view": project.view,
    }


def project_to_json(project: Project) -> str:
    """The text of a project file: indented JSON with one note (one flat list) per line.

    Raises
    ------
    ValueError
        When ``project.view`` holds something JSON cannot (a NaN, a set, a non-string key).
    """
    try:
        return _dump(project_to_dict(project), "") + "\n"
    except RecursionError:
        raise ValueError("project: the view is nested too deeply") from None


def _dump(value: Any, indent: str) -> str:
    """JSON text of ``value``: objects and lists of containers one item per line, lists of
    plain values (a note, a seed list) on one line."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"project: JSON object keys must be strings, got {key!r}")
            items.append(f"{inner}{_scalar(key)}: {_dump(item, inner)}")
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        if not any(isinstance(item, dict | list | tuple) for item in value):
            return "[" + ", ".join(_scalar(item) for item in value) + "]"
        lines = ",\n".join(inner + _dump(item, inner) for item in value)
        return "[\n" + lines + "\n" + indent + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is not None and not isinstance(value, str | int | float):
        raise ValueError(f"project: {type(value).__name__} values cannot be saved as JSON")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ValueError(f"project: {value!r} cannot be saved as JSON") from None


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    """Write ``project`` to ``path`` atomically: readers see the old file or the new one.

    Raises
    ------
    ProjectFileError
        When the project cannot be encoded (see :func:`project_to_json`) or the file cannot be
        written; the old file, if any, is left as it was and no temporary file remains.
    """
    try:
        data = project_to_json(project).encode("utf-8")
    except ValueError as e:
        raise ProjectFileError(path, f"cannot save this project: {e}") from None
    try:
        write_bytes_atomically(path, data)
    except OSError as e:
        raise ProjectFileError(path, f"cannot write: {e.strerror or e}") from None


# --- reading ---------------------------------------------------------------------------------


def load_project(path: str | os.PathLike[str], *, max_bytes: int = MAX_PROJECT_BYTES) -> Project:
    """Read a project file written by :func:`save_project` (this version or an older one).

    Parameters
    ----------
    path : path-like
    max_bytes : int
        Files larger than this many bytes are refused before reading.

    Raises
    ------
    ProjectFileError
        For a file that is missing, unreadable, too large, not UTF-8, not JSON, not a Barforge
        project, from a newer version, or holding a missing or invalid field; the reason names
        the field.
    """
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ProjectFileError(path, "it is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ProjectFileError(path, "not a regular file")
        size = info.st_size
        if size > max_bytes:
            raise ProjectFileError(
                path,
                f"the file is {size / 2**20:.1f} MiB, above the {max_bytes / 2**20:.0f} MiB "
                "limit for project files",
            )
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except IsADirectoryError:
        raise ProjectFileError(path, "it is a folder, not a file") from None
    except OSError as e:
        raise ProjectFileError(path, e.strerror or str(e)) from None
    if len(data) > max_bytes:  # it grew after the check
        raise ProjectFileError(path, f"the file is larger than the {max_bytes} byte limit")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ProjectFileError(
            path, f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None
    try:
        return project_from_json(text)
    except ValueError as e:
        raise ProjectFileError(path, str(e)) from None


def project_from_json(text: str) -> Project:
    """Parse the text of a project file.

    Raises
    ------
    ValueError
        For text that is not JSON or not a valid project; the message names the field.
    """
    try:
        data = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise ValueError("not JSON that Barforge can read: nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, or one of the hooks below
        raise ValueError(f"not JSON: {e}") from None
    return project_from_dict(data)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def project_from_dict(data: Any) -> Project:
    """Build a project from its parsed JSON, checking every field.

    Raises
    ------
    ValueError
        ``"<field>: <reason>"`` for the first field found wrong, or a reason about the whole
        file (not a Barforge project, a newer version).
    """
    if not isinstance(data, dict):
        raise ValueError(f"not a Barforge project: the file holds a JSON {_kind(data)}")
    if data.get("format") != PROJECT_FORMAT:
        found = data.get("format")
        what = "no format field" if found is None else f"format {found!r}"
        raise ValueError(f"not a Barforge project ({what}; expected {PROJECT_FORMAT!r})")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version: expected an integer >= 1, got {version!r}")
    if version > PROJECT_VERSION:
        raise ValueError(
            f"the project was saved by a newer Barforge (format version {version}; this one "
            f"reads up to version {PROJECT_VERSION})"
        )
    fields = ["format", "version", "pattern", "seeds", "locks", "provenance", "settings", "view"]
    if version >= 2:  # version 2 added the browser's ideas
        fields.insert(-1, "ideas")
    _keys(data, "", tuple(fields))
    pattern, states = _pattern(data["pattern"])
    seeds = _keys(data["seeds"], "seeds", ("current", "favourites"))
    current = seeds["current"]
    seed = None if current is None else _int(current, "seeds.current", 0, MAX_SEED)
    favourites = tuple(
        _int(s, f"seeds.favourites[{i}]", 0, MAX_SEED)
        for i, s in enumerate(_list(seeds["favourites"], "seeds.favourites"))
    )
    locks = _locks(data["locks"])
    provenance = None if data["provenance"] is None else _provenance(data["provenance"])
    raw_settings = _object(data["settings"], "settings")
    try:
        settings = OutputSettings.from_dict(raw_settings)
    except (TypeError, ValueError) as e:
        raise ValueError(f"settings: {e}") from None
    view = _object(data["view"], "view")
    document = Document(pattern, locks, provenance, seed, settings)
    ideas: tuple[Idea, ...] = ()
    adopted: tuple[Idea, ...] = ()
    if "ideas" in data:
        raw_ideas = _keys(data["ideas"], "ideas", ("favourites", "adopted"))
        ideas = _ideas(raw_ideas["favourites"], "ideas.favourites")
        adopted = _ideas(raw_ideas["adopted"], "ideas.adopted")
    return Project(document, states, favourites, view, ideas, adopted)


def _ideas(value: Any, where: str) -> tuple[Idea, ...]:
    ideas = []
    for i, item in enumerate(_list(value, where)):
        here = f"{where}[{i}]"
        raw = _keys(item, here, ("label", "seed", "pattern", "provenance"))
        if not isinstance(raw["label"], str):
            raise ValueError(f"{here}.label: expected a string, got {_kind(raw['label'])}")
        seed = None if raw["seed"] is None else _int(raw["seed"], f"{here}.seed", 0, MAX_SEED)
        pattern, _ = _pattern(raw["pattern"], f"{here}.pattern")
        provenance = (
            None
            if raw["provenance"] is None
            else _provenance(raw["provenance"], f"{here}.provenance")
        )
        ideas.append(Idea(raw["label"], pattern, provenance, seed))
    return tuple(ideas)


def _provenance(value: Any, where: str = "provenance") -> Provenance:
    raw = _keys(
        value,
        where,
        (
            "model_id",
            "seed",
            "n_bars",
            "bar_inputs",
            "settings",
            "sampling_seed",
            "history",
            "locks",
        ),
    )
    if not isinstance(raw["model_id"], str):
        raise ValueError(f"{where}.model_id: expected a string, got {_kind(raw['model_id'])}")
    _int(raw["seed"], f"{where}.seed", 0, MAX_SEED)
    _int(raw["n_bars"], f"{where}.n_bars", 1, MAX_BARS)
    _int(raw["sampling_seed"], f"{where}.sampling_seed", 0, MAX_SEED)
    for i, item in enumerate(_list(raw["history"], f"{where}.history")):
        _object(item, f"{where}.history[{i}]")
    _keys(raw["bar_inputs"], f"{where}.bar_inputs", ("shape", "float32_base64"))
    _object(raw["settings"], f"{where}.settings")
    _locks(raw["locks"], f"{where}.locks")
    try:  # what is left to check: the array and the settings
        return Provenance.from_dict(raw)
    except (KeyError, TypeError, ValueError) as e:
        text = str(e).removeprefix("provenance: ")
        raise ValueError(f"{where}: {text}") from None


_TRACK_KEYS = ("name", "program", "is_drum", "channel", "mute", "solo", "lock", "colour", "notes")


def _pattern(value: Any, at: str = "pattern") -> tuple[Pattern, tuple[TrackState, ...]]:
    raw = _keys(
        value,
        at,
        ("ticks_per_quarter", "time_signature", "tempo_us", "n_bars", "tracks"),
    )
    tpq = _int(raw["ticks_per_quarter"], f"{at}.ticks_per_quarter", 1, 0x7FFF)
    ts = _keys(raw["time_signature"], f"{at}.time_signature", ("numerator", "denominator"))
    numerator = _int(ts["numerator"], f"{at}.time_signature.numerator", 1, 255)
    denominator = _int(ts["denominator"], f"{at}.time_signature.denominator", 1, 64)
    try:
        signature = TimeSignature(numerator, denominator)
    except ValueError as e:
        raise ValueError(f"{at}.time_signature: {e}") from None
    tempo_us = _int(raw["tempo_us"], f"{at}.tempo_us", 1, MAX_TEMPO_US)
    n_bars = _int(raw["n_bars"], f"{at}.n_bars", 1, MAX_BARS)
    tracks = []
    states = []
    for i, item in enumerate(_list(raw["tracks"], f"{at}.tracks")):
        where = f"{at}.tracks[{i}]"
        t = _keys(item, where, _TRACK_KEYS)
        name = t["name"]
        if not isinstance(name, str):
            raise ValueError(f"{where}.name: expected a string, got {_kind(name)}")
        program = _int(t["program"], f"{where}.program", 0, 127)
        is_drum = _bool(t["is_drum"], f"{where}.is_drum")
        channel = _int(t["channel"], f"{where}.channel", 0, 15)
        mute = _bool(t["mute"], f"{where}.mute")
        solo = _bool(t["solo"], f"{where}.solo")
        lock = _bool(t["lock"], f"{where}.lock")
        colour = t["colour"]
        if colour is not None and not (isinstance(colour, str) and _COLOUR.fullmatch(colour)):
            raise ValueError(f'{where}.colour: expected "#rrggbb" or null, got {colour!r}')
        notes = _notes(t["notes"], f"{where}.notes")
        try:
            tracks.append(Track(name, program, is_drum, channel, notes))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        states.append(TrackState(mute, solo, lock, colour))
    try:
        pattern = Pattern(tracks, n_bars, tpq, signature, tempo_us)
    except ValueError as e:
        raise ValueError(f"{at}: {e}") from None
    return pattern, tuple(states)


_NOTE_FIELDS = (("start", 0, None), ("duration", 1, None), ("pitch", 0, 127), ("velocity", 1, 127))


def _notes(value: Any, where: str) -> list[Note]:
    notes = []
    for j, item in enumerate(_list(value, where)):
        if (
            type(item) is list
            and len(item) == 4
            and all(type(x) is int for x in item)
            and item[0] >= 0
            and item[1] >= 1
            and 0 <= item[2] <= 127
            and 1 <= item[3] <= 127
        ):  # the common case, checked at once; _note names what is wrong
            notes.append(Note(item[0], item[1], item[2], item[3]))
        else:
            notes.append(_note(item, f"{where}[{j}]"))
    return notes


def _note(item: Any, where: str, first: str = "") -> Note:
    """``[start, duration, pitch, velocity]`` (after ``first``, when given) as a Note."""
    names = [name for name, _, _ in _NOTE_FIELDS]
    shape = "[" + ", ".join(([first] if first else []) + names) + "]"
    n_items = len(names) + (1 if first else 0)
    if type(item) is not list or len(item) != n_items:
        raise ValueError(f"{where}: expected {shape}, got {_short(item)}")
    values = []
    for x, (name, low, high) in zip(item[n_items - 4 :], _NOTE_FIELDS, strict=True):
        if isinstance(x, bool) or not isinstance(x, int):
            raise ValueError(f"{where}: {name} must be an integer, got {_short(x)}")
        if x < low or (high is not None and x > high):
            bounds = f"out of range {low}..{high}" if high is not None else f"below {low}"
            raise ValueError(f"{where}: {name} {x} is {bounds}")
        values.append(x)
    return Note(*values)


def _locks(value: Any, where: str = "locks") -> Locks:
    raw = _keys(value, where, ("notes", "bars", "tracks"))
    notes = []
    for j, item in enumerate(_list(raw["notes"], f"{where}.notes")):
        here = f"{where}.notes[{j}]"
        note = _note(item, here, first="track")
        track = item[0]
        if isinstance(track, bool) or not isinstance(track, int) or track < 0:
            raise ValueError(f"{here}: track must be an integer >= 0, got {_short(track)}")
        notes.append((track, note))
    bars = [
        _int(b, f"{where}.bars[{i}]", 0, None)
        for i, b in enumerate(_list(raw["bars"], f"{where}.bars"))
    ]
    tracks = [
        _int(t, f"{where}.tracks[{i}]", 0, None)
        for i, t in enumerate(_list(raw["tracks"], f"{where}.tracks"))
    ]
    return Locks(notes, bars, tracks)


# --- small checks ----------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, got {_kind(value)}")
    return value


def _keys(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """``value`` as an object holding exactly ``keys``."""
    obj = _object(value, where or "the file")
    prefix = f"{where}." if where else ""
    for key in keys:
        if key not in obj:
            raise ValueError(f"{prefix}{key}: missing")
    unknown = [k for k in obj if k not in keys]
    if unknown:
        raise ValueError(f"{prefix}{unknown[0]}: unknown field")
    return obj


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected an array, got {_kind(value)}")
    return value


def _int(value: Any, where: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: expected an integer, got {_short(value)}")
    if value < low or (high is not None and value > high):
        bounds = f"out of range {low}..{high}" if high is not None else f"below {low}"
        raise ValueError(f"{where}: {value} is {bounds}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {_short(value)}")
    return value
