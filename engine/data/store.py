# SPDX-License-Identifier: MIT
"""The phrase store on disk (``phrases.npz`` + ``manifest.json``) and its loader.

``phrases.npz`` holds sparse notes, not dense rolls, as plain arrays (no pickles):

=================  ========  ==================================================================
array              dtype     one value per ...
=================  ========  ==================================================================
``note_phrase``    int32     note: its phrase (index into the ``phrase_*`` arrays); sorted
``note_track``     uint8     note: its track (index into the manifest's ``tracks``)
``note_start``     int32     note: first step, counted from the phrase's start
``note_length``    int32     note: length in steps, >= 1
``note_pitch``     uint8     note: pitch index (MIDI pitch minus ``pitch_range.lowest``)
``note_velocity``  uint8     note: MIDI velocity 1..127 (not part of the rolls; for export)
``phrase_piece``   int32     phrase: its piece (index into the manifest's ``pieces``)
``phrase_bar``     int32     phrase: bar of the piece where it starts
``phrase_split``   uint8     phrase: 0 training, 1 validation
=================  ========  ==================================================================

Notes are sorted by phrase, track, start, pitch. The archive is written with fixed time stamps,
so the same phrases make the same bytes; the manifest records their SHA-256, which the loader
checks. ``manifest.json`` also records the source, every input file (size, SHA-256), the
options, the grid, the tracks, the counts and the split (see :mod:`engine.data.build`).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.music import DEFAULT_TEMPO_US, Pattern, TimeSignature, Track
from engine.pianoroll import PhraseSpec, PianoRoll, roll_to_pattern

FORMAT = "barforge-phrases"
#: Bumped whenever the files' layout or meaning changes; older stores must be rebuilt.
FORMAT_VERSION = 1
PHRASES_FILE = "phrases.npz"
MANIFEST_FILE = "manifest.json"
SPLITS = ("train", "valid", "all")

#: Arrays of ``phrases.npz`` and their dtypes.
ARRAYS: dict[str, np.dtype[Any]] = {
    "note_phrase": np.dtype(np.int32),
    "note_track": np.dtype(np.uint8),
    "note_start": np.dtype(np.int32),
    "note_length": np.dtype(np.int32),
    "note_pitch": np.dtype(np.uint8),
    "note_velocity": np.dtype(np.uint8),
    "phrase_piece": np.dtype(np.int32),
    "phrase_bar": np.dtype(np.int32),
    "phrase_split": np.dtype(np.uint8),
}


class DatasetError(Exception):
    """A phrase store that cannot be loaded; ``folder`` names it and ``reason`` says why."""

    def __init__(self, folder: str | Path, reason: str) -> None:
        self.folder = str(folder)
        self.reason = reason
        super().__init__(f"phrase store {self.folder}: {reason}")


def npz_bytes(arrays: dict[str, NDArray[Any]]) -> bytes:
    """A compressed ``.npz`` archive of ``arrays`` that ``np.load`` reads, byte-reproducible.

    Unlike ``np.savez_compressed`` no time stamp goes in, so equal arrays give equal bytes.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                np.lib.format.write_array(
                    member, np.ascontiguousarray(arrays[name]), allow_pickle=False
                )
    return buffer.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True, eq=False)
class PhraseBatch:
    """A batch drawn by :meth:`PhraseDataset.sample_batch`.

    Attributes
    ----------
    frames, onsets : ndarray of bool
        shape=(batch_size, n_tracks, n_bars, n_steps_per_bar, n_pitches)
    indices : ndarray of int64, shape=(batch_size,)
        Phrase of each item.
    shifts : ndarray of int64, shape=(batch_size,)
        Semitones each item was transposed by (drum tracks never are).
    """

    frames: NDArray[np.bool_]
    onsets: NDArray[np.bool_]
    indices: NDArray[np.int64]
    shifts: NDArray[np.int64]


class PhraseDataset:
    """Phrases built by ``barforge data build``, loaded for training and for looking at.

    Use :meth:`load`. The notes stay sparse in memory; :meth:`rolls` makes dense bool rolls
    for the phrases asked for, transposed if asked.

    Attributes
    ----------
    folder : Path
    manifest : dict
        ``manifest.json`` as read.
    spec : PhraseSpec
        Tracks, grid and pitch axis of every phrase.
    """

    def __init__(
        self, folder: Path, manifest: dict[str, Any], spec: PhraseSpec, arrays: dict[str, Any]
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.spec = spec
        self._notes = {name: np.asarray(arrays[name]) for name in ARRAYS if name.startswith("note")}
        self._piece = np.asarray(arrays["phrase_piece"], dtype=np.int64)
        self._bar = np.asarray(arrays["phrase_bar"], dtype=np.int64)
        self._split = np.asarray(arrays["phrase_split"], dtype=np.int64)
        n = len(self._piece)
        phrase = self._notes["note_phrase"]
        self._offsets = np.searchsorted(phrase, np.arange(n + 1)).astype(np.int64)
        drum = np.array(spec.is_drum, dtype=np.bool_)
        pitched = ~drum[self._notes["note_track"]]
        pitch = self._notes["note_pitch"].astype(np.int64)
        low = np.full(n, spec.n_pitches, dtype=np.int64)
        high = np.full(n, -1, dtype=np.int64)
        np.minimum.at(low, phrase[pitched], pitch[pitched])
        np.maximum.at(high, phrase[pitched], pitch[pitched])
        # Semitones each phrase may move: all its pitched notes stay on the pitch axis.
        self._shift_low = np.where(high < 0, -127, -low)
        self._shift_high = np.where(high < 0, 127, spec.n_pitches - 1 - high)

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | Path) -> PhraseDataset:
        """Load and check a store.

        Raises
        ------
        DatasetError
            For a missing folder or file, a manifest of another format version, a
            ``phrases.npz`` whose SHA-256 differs from the manifest's (changed or corrupt), or
            arrays that do not agree with the manifest; the message names the folder and says
            to rebuild.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise DatasetError(folder, "no such folder (build one with `barforge data build`)")
        manifest = _read_manifest(folder)
        try:
            spec = spec_from_manifest(manifest)
            expected_sha = str(manifest["phrases_sha256"])
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(
                folder, f"{MANIFEST_FILE} lacks or garbles a field ({e}); rebuild with --force"
            ) from None
        path = folder / PHRASES_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DatasetError(folder, f"{PHRASES_FILE} is missing; rebuild with --force") from None
        except OSError as e:
            raise DatasetError(folder, f"cannot read {PHRASES_FILE}: {e.strerror or e}") from None
        actual_sha = sha256_hex(data)
        if actual_sha != expected_sha:
            raise DatasetError(
                folder,
                f"{PHRASES_FILE} does not match {MANIFEST_FILE} (SHA-256 {actual_sha[:12]}..., "
                f"the manifest says {expected_sha[:12]}...): it was changed or is corrupt; "
                "rebuild with --force",
            )
        arrays = _read_arrays(folder, data)
        _check_arrays(folder, arrays, spec, manifest)
        return cls(folder, manifest, spec, arrays)

    # --- what is there --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._piece)

    def __repr__(self) -> str:
        return (
            f"PhraseDataset({str(self.folder)!r}: {len(self)} phrases, "
            f"tracks {', '.join(self.spec.track_names)})"
        )

    def indices(self, split: str) -> NDArray[np.int64]:
        """Phrase indices of ``split``: ``"train"``, ``"valid"`` or ``"all"``, ascending."""
        if split == "all":
            return np.arange(len(self), dtype=np.int64)
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        return np.flatnonzero(self._split == SPLITS.index(split)).astype(np.int64)

    def source_of(self, index: int) -> tuple[str, int]:
        """(input file, first bar in it) of phrase ``index``."""
        piece = self.manifest["pieces"][int(self._piece[index])]
        return str(piece["path"]), int(self._bar[index])

    def shift_limits(self, indices: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Lowest and highest transposition (semitones) that keep each phrase in range.

        Returns
        -------
        low, high : ndarray of int64, shape=(n,)
            ``low <= 0 <= high``; a phrase with only drum notes gets -127 and 127.
        """
        chosen = self._check_indices(indices)
        return self._shift_low[chosen], self._shift_high[chosen]

    # --- rolls ------------------------------------------------------------------------------
    def rolls(
        self, indices: ArrayLike, transpose: int | ArrayLike = 0
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Dense rolls of some phrases.

        Parameters
        ----------
        indices : array-like of int, shape=(n,)
            Phrases, in any order, repeats allowed.
        transpose : int or array-like of int, shape=(n,)
            Semitones to move each phrase's pitched tracks by (drum tracks never move).

        Returns
        -------
        frames, onsets : ndarray of bool, shape=(n, n_tracks, n_bars, n_steps_per_bar, n_pitches)

        Raises
        ------
        ValueError
            When a shift would move a note of its phrase off the pitch axis (see
            :meth:`shift_limits`), naming the phrase and the shift.
        """
        chosen = self._check_indices(indices)
        shifts = self._check_shifts(chosen, transpose)
        rows, batch = self._rows(chosen)
        spec = self.spec
        track = self._notes["note_track"][rows].astype(np.int64)
        start = self._notes["note_start"][rows].astype(np.int64)
        length = self._notes["note_length"][rows].astype(np.int64)
        drum = np.array(spec.is_drum, dtype=np.bool_)[track]
        pitch = self._notes["note_pitch"][rows].astype(np.int64) + np.where(drum, 0, shifts[batch])
        total = spec.n_bars * spec.n_steps_per_bar
        flat = (len(chosen), spec.n_tracks, total, spec.n_pitches)
        onsets = np.zeros(flat, dtype=np.bool_)
        onsets[batch, track, start, pitch] = True
        frames = np.zeros(flat, dtype=np.bool_)
        cell_note = np.repeat(np.arange(len(rows)), length)
        first_cell = np.repeat(np.cumsum(length) - length, length)
        step = start[cell_note] + np.arange(len(cell_note)) - first_cell
        frames[batch[cell_note], track[cell_note], step, pitch[cell_note]] = True
        shape = (len(chosen), *spec.shape)
        return frames.reshape(shape), onsets.reshape(shape)

    def sample_batch(
        self,
        split: str,
        batch_size: int,
        rng: np.random.Generator,
        transpose_range: tuple[int, int] = (-5, 5),
    ) -> PhraseBatch:
        """Random phrases of ``split``, each transposed by a random shift that keeps it in range.

        Phrases are drawn without replacement when the split holds ``batch_size`` of them (with
        replacement otherwise). Each phrase's shift is drawn uniformly from the semitones in
        ``transpose_range`` (inclusive) that keep all its pitched notes on the pitch axis, so
        a shift is only applied where it fits, and 0 always does; ``(0, 0)`` turns
        augmentation off. Drum tracks are never transposed.
        """
        low, high = transpose_range
        if low > 0 or high < 0:
            raise ValueError(f"transpose_range must hold 0, got {transpose_range}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        pool = self.indices(split)
        if len(pool) == 0:
            raise ValueError(f"the {split!r} split of {self.folder} holds no phrases")
        chosen = rng.choice(pool, size=batch_size, replace=len(pool) < batch_size)
        limit_low, limit_high = self.shift_limits(chosen)
        lowest = np.maximum(limit_low, low)
        highest = np.minimum(limit_high, high)
        shifts = lowest + np.floor(rng.random(batch_size) * (highest - lowest + 1)).astype(np.int64)
        frames, onsets = self.rolls(chosen, shifts)
        return PhraseBatch(frames, onsets, chosen.astype(np.int64), shifts)

    # --- patterns ---------------------------------------------------------------------------
    def template(self, tempo_us: int = DEFAULT_TEMPO_US) -> Pattern:
        """An empty pattern with the store's tracks (names, programs, channels) and timing."""
        tracks = tuple(
            Track(str(t["name"]), int(t["program"]), bool(t["is_drum"]), int(t["channel"]))
            for t in self.manifest["tracks"]
        )
        return Pattern(
            tracks=tracks,
            n_bars=self.spec.n_bars,
            ticks_per_quarter=int(self.manifest["grid"]["ticks_per_quarter"]),
            time_signature=TimeSignature(self.spec.beats_per_bar, 4),
            tempo_us=tempo_us,
        )

    def to_pattern(self, index: int, transpose: int = 0) -> Pattern:
        """Phrase ``index`` as an engine pattern (via :func:`engine.pianoroll.roll_to_pattern`).

        Velocities are the stored ones; the tempo is the source piece's.
        """
        frames, onsets = self.rolls([index], [transpose])
        chosen = self._check_indices([index])
        rows, _ = self._rows(chosen)
        velocities = np.zeros(frames.shape[1:], dtype=np.uint8).reshape(
            self.spec.n_tracks, -1, self.spec.n_pitches
        )
        drum = np.array(self.spec.is_drum, dtype=np.bool_)
        track = self._notes["note_track"][rows].astype(np.int64)
        pitch = self._notes["note_pitch"][rows].astype(np.int64) + np.where(
            drum[track], 0, transpose
        )
        start = self._notes["note_start"][rows].astype(np.int64)
        velocities[track, start, pitch] = self._notes["note_velocity"][rows]
        roll = PianoRoll(frames[0], onsets[0], velocities.reshape(frames.shape[1:]), self.spec.grid)
        piece = self.manifest["pieces"][int(self._piece[chosen[0]])]
        tempo = int(piece.get("tempo_us", DEFAULT_TEMPO_US))
        return roll_to_pattern(roll, self.template(tempo))

    def patterns(self, indices: Sequence[int]) -> list[Pattern]:
        """:meth:`to_pattern` of each index."""
        return [self.to_pattern(int(i)) for i in indices]

    # --- helpers ----------------------------------------------------------------------------
    def _check_indices(self, indices: ArrayLike) -> NDArray[np.int64]:
        chosen = np.asarray(indices)
        if chosen.ndim != 1 or (chosen.size and not np.issubdtype(chosen.dtype, np.integer)):
            raise ValueError(f"indices must be a 1-D array of integers, got {chosen!r}")
        chosen = chosen.astype(np.int64)
        if chosen.size and (chosen.min() < 0 or chosen.max() >= len(self)):
            raise IndexError(f"phrase indices must lie in 0..{len(self) - 1}")
        return chosen

    def _check_shifts(
        self, chosen: NDArray[np.int64], transpose: int | ArrayLike
    ) -> NDArray[np.int64]:
        shifts = np.broadcast_to(np.asarray(transpose), chosen.shape)
        if shifts.size and not np.issubdtype(shifts.dtype, np.integer):
            raise ValueError(f"transpose must be whole semitones, got {transpose!r}")
        shifts = shifts.astype(np.int64)
        low, high = self._shift_low[chosen], self._shift_high[chosen]
        bad = np.flatnonzero((shifts < low) | (shifts > high))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"transposing phrase {int(chosen[i])} by {int(shifts[i])} semitones moves a note "
                f"off the pitch axis (it allows {int(low[i])}..{int(high[i])}); "
                f"{bad.size} of {chosen.size} shifts do not fit"
            )
        return shifts

    def _rows(self, chosen: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Note rows of the chosen phrases, and the batch position of each row."""
        first = self._offsets[chosen]
        counts = self._offsets[chosen + 1] - first
        batch = np.repeat(np.arange(len(chosen), dtype=np.int64), counts)
        before = np.repeat(np.cumsum(counts) - counts, counts)
        rows = np.repeat(first, counts) + np.arange(int(counts.sum())) - before
        return rows.astype(np.int64), batch


def spec_from_manifest(manifest: dict[str, Any]) -> PhraseSpec:
    """The :class:`PhraseSpec` a manifest describes (raises KeyError/TypeError/ValueError)."""
    tracks = manifest["tracks"]
    grid = manifest["grid"]
    pitches = manifest["pitch_range"]
    return PhraseSpec(
        track_names=tuple(str(t["name"]) for t in tracks),
        is_drum=tuple(bool(t["is_drum"]) for t in tracks),
        programs=tuple(int(t["program"]) for t in tracks),
        steps_per_beat=int(grid["steps_per_beat"]),
        beats_per_bar=int(grid["beats_per_bar"]),
        n_bars=int(grid["n_bars"]),
        lowest_pitch=int(pitches["lowest"]),
        n_pitches=int(pitches["n_pitches"]),
    )


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(
            folder, f"no {MANIFEST_FILE}: not a phrase store (build one with `barforge data build`)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(folder, f"cannot read {MANIFEST_FILE}: {e}") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(
            folder, f"{MANIFEST_FILE} is not valid JSON ({e}); rebuild with --force"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetError(folder, f"{MANIFEST_FILE} does not describe a {FORMAT} store")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise DatasetError(
            folder,
            f"the store has format version {version!r}, this Barforge reads version "
            f"{FORMAT_VERSION}; rebuild with --force",
        )
    return manifest


def _read_arrays(folder: Path, data: bytes) -> dict[str, NDArray[Any]]:
    arrays: dict[str, NDArray[Any]] = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            for name in ARRAYS:
                if name not in archive.files:
                    raise DatasetError(folder, f"{PHRASES_FILE} lacks the array {name!r}")
                arrays[name] = archive[name]
    except DatasetError:
        raise
    except Exception as e:  # zipfile, zlib and numpy raise many kinds for a damaged file
        raise DatasetError(
            folder, f"cannot read {PHRASES_FILE} ({type(e).__name__}: {e}); rebuild with --force"
        ) from None
    return arrays


def _check_arrays(
    folder: Path, arrays: dict[str, NDArray[Any]], spec: PhraseSpec, manifest: dict[str, Any]
) -> None:
    def fail(what: str) -> DatasetError:
        return DatasetError(folder, f"{PHRASES_FILE} does not agree with {MANIFEST_FILE}: {what}")

    for name, dtype in ARRAYS.items():
        array = arrays[name]
        if array.dtype != dtype or array.ndim != 1:
            raise fail(f"{name} is {array.dtype} of shape {array.shape}, expected 1-D {dtype}")
    n_notes = len(arrays["note_phrase"])
    n_phrases = len(arrays["phrase_piece"])
    if any(len(arrays[n]) != n_notes for n in ARRAYS if n.startswith("note")):
        raise fail("the note arrays differ in length")
    if any(len(arrays[n]) != n_phrases for n in ARRAYS if n.startswith("phrase")):
        raise fail("the phrase arrays differ in length")
    counts = manifest.get("counts", {})
    if counts.get("phrases") != n_phrases or counts.get("notes") != n_notes:
        raise fail(f"{n_phrases} phrases and {n_notes} notes, the manifest counts otherwise")
    phrase = arrays["note_phrase"]
    total = spec.n_bars * spec.n_steps_per_bar
    start, length = arrays["note_start"], arrays["note_length"]
    if n_notes and (
        np.any(np.diff(phrase) < 0)
        or phrase[0] < 0
        or phrase[-1] >= n_phrases
        or arrays["note_track"].max() >= spec.n_tracks
        or arrays["note_pitch"].max() >= spec.n_pitches
        or start.min() < 0
        or length.min() < 1
        or np.any(start.astype(np.int64) + length > total)
    ):
        raise fail("a note lies outside its phrase, tracks or pitch range")
    n_pieces = len(manifest.get("pieces", []))
    if n_phrases and (arrays["phrase_piece"].min() < 0 or arrays["phrase_piece"].max() >= n_pieces):
        raise fail("a phrase names a piece the manifest does not list")
    if n_phrases and arrays["phrase_split"].max() > 1:
        raise fail("phrase_split holds a value other than 0 (train) and 1 (valid)")
