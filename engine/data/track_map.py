# SPDX-License-Identifier: MIT
"""Which of a MIDI file's tracks feeds which of the model's tracks.

The model has a fixed list of tracks ("targets"). Every track of a file that holds notes is
assigned to at most one target; the tracks assigned to one target are merged into it.

Built-in maps (``--track-map programs``, the default, and ``--track-map names``)
    MuseGAN's five families, in MuseGAN's order, by General MIDI program (0-based):

    ========  =======  ====================================================================
    target    program  takes
    ========  =======  ====================================================================
    Drums     (kit)    every drum track (MIDI channel 10), whatever its program
    Piano     0        programs 0-23: pianos, chromatic percussion, organs
    Guitar    24       programs 24-31
    Bass      32       programs 32-39
    Strings   48       programs 40-127: strings, ensembles, brass, reeds, pipes, synths,
                       ethnic, percussive and effects
    ========  =======  ====================================================================

    Every program lands somewhere, so nothing melodic is dropped: a flute or a synth lead
    trains the Strings track. ``names`` first looks at the track's name (case-insensitive
    regular expressions: ``piano|keys|...`` for Piano, ``guitar`` (but not ``bass guitar``)
    for Guitar, ``bass`` (but not ``bassoon`` or ``contrabass``) for Bass,
    ``string|violin|viola|cello|...`` for Strings) and falls back to the program; it suits
    files whose tracks are named but all left on program 0.

A map of your own (``--track-map PATH``) is a small JSON file::

    {
      "tracks": [
        {"name": "Drums", "drum": true},
        {"name": "Keys", "program": 4, "programs": ["0-23"], "names": ["piano|keys|rhodes"]},
        {"name": "Bass", "program": 33, "programs": ["32-39", 43], "names": ["\\\\bbass"]},
        {"name": "Lead", "program": 80}
      ]
    }

Each entry of ``tracks`` is one target, in the order the model sees them:

- ``name`` (required): the target's name, unique;
- ``drum`` (default false): a drum track. Drum targets take only drum tracks (MIDI channel
  10) and pitched targets only pitched ones;
- ``program`` (0-127): the General MIDI program written for the target when phrases are
  exported; by default the first program of ``programs``, else 0;
- ``programs``: source programs taken, as numbers ``33``, ranges ``"32-39"`` or pairs
  ``[32, 39]`` (0-based, inclusive);
- ``names``: regular expressions searched (case-insensitively) in the source track's name.

A file's track goes to the first target (in list order, of its kind) whose ``names`` match its
name; failing that, to the first whose ``programs`` hold its program; failing that, to the
first target that gives neither ``names`` nor ``programs`` (a catch-all, like "Lead" above).
A track that none takes is left out and counted as unmapped in the build report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.music import Track, default_channels

#: Names of the built-in maps that ``--track-map`` accepts instead of a path.
PRESETS = ("programs", "names")


class TrackMapError(Exception):
    """A track map that cannot be used; ``source`` names it and ``reason`` says why."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"track map {source}: {reason}")


@dataclass(frozen=True, slots=True)
class Target:
    """One of the model's tracks and what it takes (see the module's docstring).

    Attributes
    ----------
    name : str
    is_drum : bool
    program : int
        General MIDI program 0..127 of the output track.
    programs : tuple of (int, int)
        Inclusive ranges of source programs taken.
    names : tuple of str
        Regular expressions searched, case-insensitively, in source track names.
    """

    name: str
    is_drum: bool
    program: int
    programs: tuple[tuple[int, int], ...]
    names: tuple[str, ...]

    def takes_name(self, name: str) -> bool:
        return any(re.search(pattern, name, re.IGNORECASE) for pattern in self.names)

    def takes_program(self, program: int) -> bool:
        return any(low <= program <= high for low, high in self.programs)

    @property
    def catch_all(self) -> bool:
        return not self.programs and not self.names

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "drum": self.is_drum,
            "program": self.program,
            "programs": [[low, high] for low, high in self.programs],
            "names": list(self.names),
        }


@dataclass(frozen=True, slots=True)
class TrackMap:
    """The model's tracks and the rule that fills them from a file's tracks.

    Attributes
    ----------
    targets : tuple of Target
        In the model's track order.
    source : str
        ``"programs"``, ``"names"`` or the path the map was read from.
    """

    targets: tuple[Target, ...]
    source: str

    def assign(self, track: Track) -> int | None:
        """Index of the target that takes ``track``, or None when none does."""
        kind = [(i, t) for i, t in enumerate(self.targets) if t.is_drum == track.is_drum]
        for i, target in kind:
            if target.takes_name(track.name):
                return i
        for i, target in kind:
            if target.takes_program(track.program):
                return i
        for i, target in kind:
            if target.catch_all:
                return i
        return None

    def channels(self) -> tuple[int, ...]:
        """MIDI channel index of each target: 9 for drums, 0, 1, 2... (skipping 9) for others."""
        return default_channels([target.is_drum for target in self.targets])

    def to_json(self) -> dict[str, Any]:
        """The map as JSON-able data, in the file format (for the manifest and cache key)."""
        return {"source": self.source, "tracks": [t.to_json() for t in self.targets]}


_NAME_PATTERNS = {
    "Drums": ("drum|kit|perc",),
    "Piano": ("piano|keys|keyboard|organ|rhodes|clav|harpsichord|celesta|marimba|vibraphone",),
    "Guitar": ("^(?!.*bass).*guitar",),
    "Bass": (r"(?<!contra)bass(?!oon)",),
    "Strings": ("string|violin|viola|cello|contrabass|fiddle|ensemble|orchestra",),
}

_FAMILIES = (
    ("Drums", True, 0, ()),
    ("Piano", False, 0, ((0, 23),)),
    ("Guitar", False, 24, ((24, 31),)),
    ("Bass", False, 32, ((32, 39),)),
    ("Strings", False, 48, ((40, 127),)),
)


def preset(name: str) -> TrackMap:
    """A built-in map: ``"programs"`` (MuseGAN's families) or ``"names"`` (names first)."""
    if name not in PRESETS:
        raise TrackMapError(name, f"no built-in map of that name (there are {', '.join(PRESETS)})")
    targets = tuple(
        Target(
            family,
            drum,
            program,
            ranges,
            _NAME_PATTERNS[family] if name == "names" and not drum else (),
        )
        for family, drum, program, ranges in _FAMILIES
    )
    return TrackMap(targets, name)


def load_track_map(spec: str | None) -> TrackMap:
    """The map named by ``--track-map``: None for the default, a preset's name, or a path.

    Raises
    ------
    TrackMapError
        For a file that cannot be read or does not follow the format, naming the fault.
    """
    if spec is None:
        return preset("programs")
    if spec in PRESETS and not Path(spec).exists():
        return preset(spec)
    try:
        data = json.loads(Path(spec).read_text(encoding="utf-8"))
    except OSError as e:
        raise TrackMapError(spec, f"cannot read it: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TrackMapError(spec, f"not valid JSON: {e}") from None
    return parse_track_map(data, spec)


def parse_track_map(data: Any, source: str) -> TrackMap:
    """Check and convert the JSON data of a track map (see the module's docstring)."""
    if not isinstance(data, dict) or not isinstance(data.get("tracks"), list):
        raise TrackMapError(source, 'expected an object with a list "tracks"')
    entries = data["tracks"]
    if not 1 <= len(entries) <= 16:
        raise TrackMapError(source, f'"tracks" must list 1 to 16 targets, not {len(entries)}')
    targets = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        where = f"target {number}"
        if not isinstance(entry, dict):
            raise TrackMapError(source, f"{where} must be an object")
        unknown = set(entry) - {"name", "drum", "program", "programs", "names"}
        if unknown:
            raise TrackMapError(source, f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise TrackMapError(source, f'{where} needs a "name" (text)')
        if name in seen:
            raise TrackMapError(source, f"target name {name!r} is used twice")
        seen.add(name)
        drum = entry.get("drum", False)
        if not isinstance(drum, bool):
            raise TrackMapError(source, f'{name}: "drum" must be true or false')
        ranges = tuple(_program_range(source, name, item) for item in entry.get("programs", []))
        patterns = entry.get("names", [])
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise TrackMapError(source, f'{name}: "names" must be a list of regular expressions')
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as e:
                raise TrackMapError(
                    source, f"{name}: bad regular expression {pattern!r}: {e}"
                ) from None
        program = entry.get("program", ranges[0][0] if ranges else 0)
        if isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127:
            raise TrackMapError(source, f'{name}: "program" must be a number 0..127')
        targets.append(Target(name, drum, program, ranges, tuple(patterns)))
    if sum(1 for t in targets if not t.is_drum) > 15:
        raise TrackMapError(source, "at most 15 pitched targets fit on the MIDI channels")
    return TrackMap(tuple(targets), source)


def _program_range(source: str, name: str, item: Any) -> tuple[int, int]:
    low: Any
    high: Any
    if isinstance(item, int) and not isinstance(item, bool):
        low = high = item
    elif isinstance(item, str) and re.fullmatch(r"\s*\d+\s*(-\s*\d+\s*)?", item):
        low, _, high = item.partition("-")
        low, high = int(low), int(high or low)
    elif isinstance(item, list) and len(item) == 2:
        low, high = item
    else:
        raise TrackMapError(source, f'{name}: "programs" holds {item!r}, not N, "A-B" or [A, B]')
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)) or not (
        0 <= low <= high <= 127
    ):
        raise TrackMapError(source, f"{name}: program range {item!r} is not within 0..127")
    return int(low), int(high)
