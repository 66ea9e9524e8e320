# SPDX-License-Identifier: MIT
"""What a composer steers a generation with, and what a result records about itself.

- :class:`OutputSettings`: how the model's probabilities become notes (threshold or sampling
  with a temperature, shortest note, velocities, an optional key).
- :class:`Locks`: what must stay exactly as the composer has it (notes, bars, tracks).
- :class:`Provenance`: everything needed to reproduce a result exactly (model id, seed,
  latents, settings, the operations that led to it), as JSON.

No torch here.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.music import Note

#: Scales by name, as semitone offsets from the key's root.
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic-minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "minor-pentatonic": (0, 3, 5, 7, 10),
    "chromatic": tuple(range(12)),
}
VELOCITY_MODES = ("fixed", "humanize")
_ROOTS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def parse_key(text: str) -> tuple[int, str]:
    """``"D minor"``, ``"F#"``, ``"Bb major"`` or ``"A:dorian"`` -> ``(root pitch class, scale)``.

    Raises
    ------
    ValueError
        Naming the text and what is expected.
    """
    parts = text.replace(":", " ").split()
    if not parts or len(parts) > 2 or parts[0][:1].upper() not in _ROOTS:
        raise ValueError(
            f"key {text!r}: expected a root (C, C#, Db, ...) and optionally a scale "
            f"({', '.join(SCALES)})"
        )
    root_text = parts[0]
    root = _ROOTS[root_text[0].upper()]
    for accidental in root_text[1:]:
        if accidental == "#":
            root += 1
        elif accidental == "b":
            root -= 1
        else:
            raise ValueError(f"key {text!r}: {root_text!r} is not a note name")
    scale = parts[1].lower() if len(parts) == 2 else "major"
    if scale not in SCALES:
        raise ValueError(f"key {text!r}: unknown scale {scale!r}; known: {', '.join(SCALES)}")
    return root % 12, scale


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """How the generator's probabilities become notes.

    Parameters
    ----------
    threshold : float
        A cell sounds where its probability exceeds this, in (0, 1); used when ``temperature``
        is 0.
    temperature : float
        0: the threshold decides (deterministic). Above 0: each cell is drawn at random with
        probability ``sigmoid(logit / temperature)`` from a seeded generator (more surprising
        at higher temperatures), at most 10.
    min_note_steps : int
        Notes shorter than this many grid steps are dropped, >= 1.
    velocity : {"fixed", "humanize"}
        The model has no velocity output. ``"fixed"``: every note gets ``base_velocity``;
        ``"humanize"``: accents on the beats and a seeded random spread around it.
    base_velocity : int
        1..127.
    key : str or None
        E.g. ``"D minor"``: pitched tracks may only use the scale's pitch classes; None: any.
    """

    threshold: float = 0.5
    temperature: float = 0.0
    min_note_steps: int = 1
    velocity: str = "fixed"
    base_velocity: int = 90
    key: str | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.threshold, int | float) and 0.0 < self.threshold < 1.0):
            raise ValueError(f"OutputSettings.threshold must be in (0, 1), got {self.threshold!r}")
        if not (
            isinstance(self.temperature, int | float)
            and math.isfinite(self.temperature)
            and 0.0 <= self.temperature <= 10.0
        ):
            raise ValueError(
                f"OutputSettings.temperature must be in [0, 10], got {self.temperature!r}"
            )
        for name, value, low, high in (
            ("min_note_steps", self.min_note_steps, 1, 1 << 16),
            ("base_velocity", self.base_velocity, 1, 127),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(
                    f"OutputSettings.{name} must be an integer in {low}..{high}, got {value!r}"
                )
        if self.velocity not in VELOCITY_MODES:
            raise ValueError(
                f"OutputSettings.velocity must be one of {', '.join(VELOCITY_MODES)}, "
                f"got {self.velocity!r}"
            )
        if self.key is not None:
            parse_key(self.key)

    def pitch_classes(self) -> frozenset[int] | None:
        """The allowed pitch classes, or None when every pitch is allowed."""
        if self.key is None:
            return None
        root, scale = parse_key(self.key)
        return frozenset((root + step) % 12 for step in SCALES[scale])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutputSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"OutputSettings: unknown field(s) {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Locks:
    """What a generation must keep exactly as it is.

    Parameters
    ----------
    notes : iterable of (track index, Note)
        Single locked notes.
    bars : iterable of int
        Locked bars (0-based): every track's notes there stay, and nothing is added.
    tracks : iterable of int
        Locked tracks (model track indices): their notes stay, and nothing is added.
    """

    notes: tuple[tuple[int, Note], ...] = ()
    bars: frozenset[int] = field(default_factory=frozenset)
    tracks: frozenset[int] = field(default_factory=frozenset)

    def __init__(
        self,
        notes: Iterable[tuple[int, Note]] = (),
        bars: Iterable[int] = (),
        tracks: Iterable[int] = (),
    ) -> None:
        object.__setattr__(self, "notes", tuple((int(t), n) for t, n in notes))
        object.__setattr__(self, "bars", frozenset(int(b) for b in bars))
        object.__setattr__(self, "tracks", frozenset(int(t) for t in tracks))
        for t, note in self.notes:
            if not isinstance(note, Note):
                raise ValueError(f"Locks.notes: expected (track, Note) pairs, got {note!r}")
            if t < 0:
                raise ValueError(f"Locks.notes: track index must be >= 0, got {t}")
        for name in ("bars", "tracks"):
            bad = sorted(i for i in getattr(self, name) if i < 0)
            if bad:
                raise ValueError(f"Locks.{name}: indices must be >= 0, got {bad}")

    @property
    def empty(self) -> bool:
        return not (self.notes or self.bars or self.tracks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "notes": [[t, n.start, n.duration, n.pitch, n.velocity] for t, n in self.notes],
            "bars": sorted(self.bars),
            "tracks": sorted(self.tracks),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Locks:
        notes = [(int(t), Note(int(s), int(d), int(p), int(v))) for t, s, d, p, v in data["notes"]]
        return cls(notes, data["bars"], data["tracks"])


def encode_array(array: NDArray[np.float32]) -> dict[str, Any]:
    """A float32 array as JSON: shape and little-endian bytes in base64 (exact)."""
    data = np.ascontiguousarray(array, dtype="<f4")
    return {"shape": list(data.shape), "float32_base64": base64.b64encode(data.tobytes()).decode()}


def decode_array(value: dict[str, Any]) -> NDArray[np.float32]:
    """:func:`encode_array`'s inverse.

    Raises
    ------
    ValueError
        When the value is not an encoded array or its size does not fit its shape.
    """
    try:
        shape = tuple(int(s) for s in value["shape"])
        raw = base64.b64decode(value["float32_base64"], validate=True)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not an encoded float32 array: {e}") from None
    if len(raw) != 4 * math.prod(shape):
        raise ValueError(f"encoded array: {len(raw)} bytes do not fit the shape {shape}")
    return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a result came from, enough to reproduce it exactly on the same device.

    Attributes
    ----------
    model_id : str
        :func:`engine.models.model_id` of the model.
    seed : int
        The seed the result started from.
    n_bars : int
    bar_inputs : ndarray of float32, shape=(n_tracks, n_bars, d_bar_input)
        The generator's per-bar, per-track input vectors (the latents after the temporal
        generators): rendering them again gives the same probabilities.
    settings : OutputSettings
    sampling_seed : int
        Seeds the random draws of sampling (temperature > 0) and humanized velocities.
    history : tuple of dict
        The operations that led here, oldest first (e.g. ``{"op": "generate", "seed": 7}``).
    locks : Locks
        The locks that were enforced on the result (empty for a plain generation).
    """

    model_id: str
    seed: int
    n_bars: int
    bar_inputs: NDArray[np.float32]
    settings: OutputSettings
    sampling_seed: int
    history: tuple[dict[str, Any], ...]
    locks: Locks = field(default_factory=Locks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly; :meth:`from_dict` reads it back exactly."""
        return {
            "model_id": self.model_id,
            "seed": self.seed,
            "n_bars": self.n_bars,
            "bar_inputs": encode_array(self.bar_inputs),
            "settings": self.settings.to_dict(),
            "sampling_seed": self.sampling_seed,
            "history": [dict(h) for h in self.history],
            "locks": self.locks.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        """Raises ValueError (naming the field) on a malformed record."""
        try:
            return cls(
                model_id=str(data["model_id"]),
                seed=int(data["seed"]),
                n_bars=int(data["n_bars"]),
                bar_inputs=decode_array(data["bar_inputs"]),
                settings=OutputSettings.from_dict(data["settings"]),
                sampling_seed=int(data["sampling_seed"]),
                history=tuple(dict(h) for h in data["history"]),
                locks=Locks.from_dict(data["locks"]),
            )
        except KeyError as e:
            raise ValueError(f"provenance: missing field {e}") from None
