# SPDX-License-Identifier: MIT
"""Objective music metrics: the yardstick every Barforge model is judged by.

Input
-----
Phrases come as two bool arrays, ``frames`` and ``onsets``, of shape
``(n_phrases, n_tracks, n_bars, n_steps_per_bar, n_pitches)``, and an
:class:`~engine.pianoroll.PhraseSpec` that says what the axes mean. Pitch index ``i`` is MIDI
pitch ``spec.lowest_pitch + i``; a step lasts ``1 / spec.steps_per_beat`` beats.

Notes
-----
A note starts at a step where ``frames`` is True and either the step before it (in the same
phrase; notes may cross bar lines) is False or ``onsets`` is True, and lasts until ``frames``
turns False or the next onset of its pitch. An onset on a silent step is ignored. This is the
rule of :func:`engine.pianoroll.roll_to_pattern`, so a repeated note (C, C) is two notes;
pypianoroll, which sees only the frames, would merge them into one. A note belongs to the bar
in which it starts; its length runs on across bar lines and is cut only by the phrase's end.
:func:`extract_notes` lists the notes; the note-based metrics below (QN, notes per bar, mean
note length, DP) count exactly those notes (without listing them, which is 3x faster).

Conventions
-----------
- Rates are fractions in 0..1 (a report multiplies by 100 where it wants percent).
- Per-track metrics pool all phrases given and return an array of shape ``(n_tracks,)``; a
  metric that does not apply to a track (pitch metrics on drums, DP on pitched tracks) or has
  nothing to average (no non-empty bar, no note) is NaN there.
- Pitch classes are folded from absolute MIDI pitch, ``(lowest_pitch + i) % 12``.
- Results do not depend on ``chunk_size``: phrases are processed in chunks so that memory
  stays bounded, integer counts are summed exactly, and the few real-valued per-bar and
  per-beat values are kept and summed once at the end.

Where this differs from MuseGAN's published code (Dong et al., AAAI 2018), on purpose
--------------------------------------------------------------------------------------------
- UPC folds octaves correctly (the v1 code's ``reshape(T, 12, 7)`` summed 7 adjacent
  semitones; the later TF code counted pitch x time activations).
- The empty-bar rate is the empty share (the TF code returned the non-empty share).
- QN's threshold is given in beats, not steps, so it means the same at every resolution; notes
  are onset-split and measured across bar lines (MuseGAN cut them at each bar line, having
  only per-bar rolls), and the rate pools all notes instead of averaging per-bar rates.
- PP counts steps with *more than* ``threshold`` pitches (v1 used ``>= 2``), over the steps of
  non-empty bars.
- DP pools all drum onsets (the share of onsets, not the mean of per-bar shares); each bar
  still gets its own best grid phase, as in v1. Onsets come from the onsets plane, so a
  repeated hit counts twice (v1 took rising edges of the frames).
- TD folds octaves correctly (v1's chroma had UPC's fold bug) and averages over all beats,
  of all phrases, where both tracks sound (v1 averaged per bar, then over bars); v1 and
  pypianoroll divided by a zero chroma sum on a silent beat and the result went NaN.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from engine.pianoroll import PhraseSpec

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DP_NEAR_WEIGHT",
    "DEFAULT_MAX_PAIRS",
    "DEFAULT_PP_THRESHOLD",
    "DEFAULT_QN_THRESHOLD_BEATS",
    "METRICS",
    "METRICS_BY_KEY",
    "TONAL_RADII",
    "MetricInfo",
    "MetricReport",
    "NoteTable",
    "count_reference_copies",
    "drum_grid_weights",
    "drum_pattern_rate",
    "empty_bar_rate",
    "evaluate",
    "extract_notes",
    "mean_note_length",
    "mean_pairwise_distance",
    "nearest_neighbour_distances",
    "notes_per_bar",
    "phrase_metrics",
    "pitch_range",
    "polyphonicity",
    "qualified_min_steps",
    "qualified_note_rate",
    "tonal_centroid_matrix",
    "tonal_distance",
    "unique_rate",
    "used_pitch_classes",
]

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: QN threshold in beats: 1/8 beat, a 32nd note in 4/4 (MuseGAN's 3 steps at 24 per beat).
DEFAULT_QN_THRESHOLD_BEATS = 1 / 8
#: PP counts steps where *more than* this many pitches sound.
DEFAULT_PP_THRESHOLD = 2
#: DP weight of a drum onset one step off the 16th-note grid (MuseGAN's tolerance).
DEFAULT_DP_NEAR_WEIGHT = 0.3
#: Phrases processed at once; 256 phrases of 4 x 4 x 48 x 64 are 12.6 MB per plane.
DEFAULT_CHUNK_SIZE = 256
#: Pairs drawn for the mean pairwise distance when the set has more pairs than this.
DEFAULT_MAX_PAIRS = 10_000
#: Radii of Harte et al.'s three circles: fifths, minor thirds, major thirds.
TONAL_RADII = (1.0, 1.0, 0.5)

# --- the definitions table --------------------------------------------------------------------

Scope = Literal["pitched", "drums", "all", "pair", "set"]
Better = Literal["closer", "higher", "lower"]


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """One row of the definitions table a report writer lays out.

    Attributes
    ----------
    key : str
        Field name in :class:`MetricReport` and key in :meth:`MetricReport.to_dict`.
    short : str
        Column heading, e.g. ``"EB"``.
    name : str
        Long name.
    unit : str
        Unit of the value (``"fraction"`` for rates in 0..1).
    scope : {"pitched", "drums", "all", "pair", "set"}
        Which tracks it applies to: pitched tracks, drum tracks, every track, each pair of
        pitched tracks, or the sample set as a whole.
    better : {"closer", "higher", "lower"}
        How to read it: ``"closer"`` to the real (training) data's value is better, or simply
        higher / lower.
    definition : str
        One sentence; the function's docstring has the details.
    """

    key: str
    short: str
    name: str
    unit: str
    scope: Scope
    better: Better
    definition: str


#: Every metric :func:`evaluate` computes, in report order.
METRICS: tuple[MetricInfo, ...] = (
    MetricInfo(
        "empty_bar_rate", "EB", "empty-bar rate", "fraction", "all", "closer",
        "share of bars in which the track sounds on no step",
    ),
    MetricInfo(
        "used_pitch_classes", "UPC", "used pitch classes", "pitch classes per bar", "pitched",
        "closer", "mean over non-empty bars of the distinct pitch classes sounding in the bar",
    ),
    MetricInfo(
        "qualified_note_rate", "QN", "qualified-note rate", "fraction", "pitched", "closer",
        "share of notes lasting at least the QN threshold (default 1/8 beat)",
    ),
    MetricInfo(
        "polyphonicity", "PP", "polyphonicity", "fraction", "pitched", "closer",
        "share of the steps of non-empty bars where more than 2 pitches sound",
    ),
    MetricInfo(
        "drum_pattern_rate", "DP", "drum-pattern rate", "fraction", "drums", "closer",
        "share of drum onsets on the 16th-note grid (one step off counts 0.3), best grid phase"
        " per bar",
    ),
    MetricInfo(
        "notes_per_bar", "NPB", "notes per bar", "notes per bar", "all", "closer",
        "mean number of note onsets per bar, empty bars included",
    ),
    MetricInfo(
        "mean_note_length", "NL", "mean note length", "beats", "pitched", "closer",
        "mean length of the notes, in beats",
    ),
    MetricInfo(
        "pitch_range", "PR", "pitch range", "semitones", "pitched", "closer",
        "mean over non-empty bars of highest minus lowest sounding pitch",
    ),
    MetricInfo(
        "tonal_distance", "TD", "tonal distance", "tonal-centroid distance", "pair", "closer",
        "mean over beats where both sound of the distance between the tracks' tonal centroids"
        " (smaller is more harmonious)",
    ),
    MetricInfo(
        "unique_rate", "UNQ", "unique samples", "fraction", "set", "higher",
        "share of distinct phrases (identical notes count once)",
    ),
    MetricInfo(
        "mean_pairwise_distance", "DIV", "mean pairwise distance", "fraction of cells", "set",
        "closer", "mean normalised Hamming distance between the frames of two phrases",
    ),
    MetricInfo(
        "nn_distance", "NN", "nearest-reference distance", "fraction of cells", "set",
        "closer", "mean over samples of the normalised Hamming distance to the nearest"
        " reference phrase (0: a copy)",
    ),
    MetricInfo(
        "n_reference_copies", "COPY", "copies of references", "phrases", "set", "lower",
        "samples whose notes equal those of some reference phrase",
    ),
)  # fmt: skip

#: :data:`METRICS` by key.
METRICS_BY_KEY: Mapping[str, MetricInfo] = {m.key: m for m in METRICS}

# --- checks -------------------------------------------------------------------------------------


def _check_planes(frames: BoolArray, onsets: BoolArray | None, spec: PhraseSpec | None) -> None:
    for name, plane in (("frames", frames), ("onsets", onsets)):
        if plane is None:
            continue
        if not isinstance(plane, np.ndarray) or plane.dtype != np.bool_ or plane.ndim != 5:
            raise ValueError(
                f"{name} must be a bool array of shape (n_phrases, n_tracks, n_bars, "
                f"n_steps_per_bar, n_pitches), got "
                f"{getattr(plane, 'dtype', type(plane).__name__)} "
                f"{getattr(plane, 'shape', '')}"
            )
    if onsets is not None and onsets.shape != frames.shape:
        raise ValueError(f"onsets has shape {onsets.shape}, frames has {frames.shape}")
    if spec is not None and frames.shape[1:] != spec.shape:
        raise ValueError(
            f"frames has phrases of shape {frames.shape[1:]}, the PhraseSpec says {spec.shape}"
        )


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in 0..1, got {value!r}")
    return float(value)


def qualified_min_steps(threshold_beats: float, steps_per_beat: int) -> int:
    """Shortest qualified note in steps: ``max(1, ceil(threshold_beats * steps_per_beat))``.

    The product is rounded up after a tolerance of 1e-9 steps, so that a threshold such as
    1/3 beat at 12 steps per beat gives exactly 4 steps despite binary floating point.
    """
    if (
        isinstance(threshold_beats, bool)
        or not isinstance(threshold_beats, int | float)
        or not math.isfinite(threshold_beats)
        or threshold_beats < 0
    ):
        raise ValueError(f"threshold_beats must be a finite number >= 0, got {threshold_beats!r}")
    _check_int("steps_per_beat", steps_per_beat, 1)
    return max(1, math.ceil(threshold_beats * steps_per_beat - 1e-9))


def _chunks(n: int, chunk_size: int) -> Iterator[slice]:
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


# --- notes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class NoteTable:
    """The notes of a batch of phrases, one entry per note (all arrays int64, one length).

    Notes are ordered by phrase, then track, then pitch, then start.

    Attributes
    ----------
    phrase : ndarray
        Phrase index.
    track : ndarray
        Track index.
    start : ndarray
        Start step from the phrase's beginning (``bar * n_steps_per_bar + step``).
    length : ndarray
        Length in steps, >= 1.
    pitch : ndarray
        Pitch *index* (add ``spec.lowest_pitch`` for the MIDI pitch).
    """

    phrase: IntArray
    track: IntArray
    start: IntArray
    length: IntArray
    pitch: IntArray

    def __len__(self) -> int:
        return len(self.start)


def _starts(frames: BoolArray, onsets: BoolArray) -> BoolArray:
    """Steps where a note starts, for planes whose *last* axis is time (views are fine)."""
    starts = frames & onsets
    starts[..., 0] |= frames[..., 0]
    starts[..., 1:] |= frames[..., 1:] > frames[..., :-1]
    return starts


def _time_last(plane: BoolArray) -> BoolArray:
    """A view of ``(..., n_bars, n_steps, n_pitches)`` as ``(..., n_pitches, n_bars * n_steps)``."""
    *lead, n_bars, n_steps, n_pitches = plane.shape
    return np.swapaxes(plane.reshape(*lead, n_bars * n_steps, n_pitches), -1, -2)


def _lasting(continues: BoolArray, width: int) -> BoolArray:
    """``out[..., t] = continues[..., t : t + width].all()``, False past the end (time last).

    Works in place: ``continues`` is overwritten and returned. Doubling: after each pass
    ``out[t]`` covers ``covered`` steps from ``t``; and-ing in ``out[t + shift]`` with
    ``shift <= covered`` extends that without a gap, so ``ceil(log2(width))`` passes suffice.
    """
    out = continues
    covered = 1
    while covered < width:
        shift = min(covered, width - covered)
        out[..., :-shift] &= out[..., shift:]
        out[..., -shift:] = False
        covered += shift
    return out


def _note_runs(frames: BoolArray, onsets: BoolArray) -> tuple[IntArray, IntArray]:
    """Notes of rolls whose *last* axis is time: flat index of each start, and the length.

    A step continues the note before it when it sounds and starts nothing; a note ends at a
    sounding step that the next step does not continue. Every note has one start and one end
    and the notes of one row are disjoint, so in row-major order the k-th start and the k-th
    end belong to the same note.
    """
    starts = _starts(frames, onsets)
    continues = frames > starts
    ends = frames.copy()
    ends[..., :-1] = frames[..., :-1] > continues[..., 1:]
    first = np.flatnonzero(starts)
    last = np.flatnonzero(ends)
    return first, last - first + 1


def _pitch_major(plane: BoolArray) -> BoolArray:
    """A contiguous copy of :func:`_time_last` (pitch-major rows, time last)."""
    return np.ascontiguousarray(_time_last(plane))


def extract_notes(frames: BoolArray, onsets: BoolArray) -> NoteTable:
    """List the notes of a batch of phrases (vectorised; no Python loop over notes).

    Parameters
    ----------
    frames, onsets : ndarray of bool
        Shape ``(n_phrases, n_tracks, n_bars, n_steps_per_bar, n_pitches)``.
        The planes of :class:`~engine.pianoroll.PianoRoll`, stacked over phrases.

    Returns
    -------
    NoteTable
        One entry per note, found by the rule in the module docstring (the rule of
        :func:`engine.pianoroll.roll_to_pattern`): a note starts where a pitch begins to sound
        or where an onset falls on a sounding step, and lasts until the pitch stops or its next
        onset. Notes cross bar lines; the phrase's end cuts them.
    """
    _check_planes(frames, onsets, None)
    _, n_tracks, n_bars, n_steps, n_pitches = frames.shape
    total = n_bars * n_steps
    first, length = _note_runs(_pitch_major(frames), _pitch_major(onsets))
    row, start = np.divmod(first, total)
    row, pitch = np.divmod(row, n_pitches)
    phrase, track = np.divmod(row, n_tracks)
    return NoteTable(phrase, track, start, length, pitch)


# --- the grids behind DP and TD ----------------------------------------------------------------


def drum_grid_weights(
    steps_per_beat: int, near_weight: float = DEFAULT_DP_NEAR_WEIGHT
) -> FloatArray:
    """Weight of a drum onset at each step of a beat, for the drum-pattern rate.

    The 16th-note grid points of a beat lie at ``k * steps_per_beat / 4`` steps, ``k = 0..3``;
    each is put on its nearest step (halves round up, wrapping past the beat's end to step 0),
    which weighs 1. A step one step away from a grid step (circularly), and not itself on the
    grid, weighs ``near_weight``; every other step 0. At 24 steps per beat this is MuseGAN's
    filter ``[1, .3, 0, 0, 0, .3]`` repeated; at 12 it is ``[1, .3, .3]`` repeated; at 4 or
    fewer steps per beat every step is on the grid.

    Returns
    -------
    ndarray of float, shape=(steps_per_beat,)
    """
    near_weight = _check_fraction("near_weight", near_weight)
    on, near = _grid_masks(steps_per_beat)
    return on + near_weight * near


def _grid_masks(steps_per_beat: int) -> tuple[BoolArray, BoolArray]:
    """Steps of a beat on the 16th grid, and steps one step off it (see drum_grid_weights)."""
    _check_int("steps_per_beat", steps_per_beat, 1)
    on = np.zeros(steps_per_beat, dtype=np.bool_)
    on[[(2 * k * steps_per_beat + 4) // 8 % steps_per_beat for k in range(4)]] = True
    near = ~on & (np.roll(on, 1) | np.roll(on, -1))
    return on, near


def tonal_centroid_matrix(radii: Sequence[float] = TONAL_RADII) -> FloatArray:
    """Harte, Sandler and Gasser's (2006) 6 x 12 tonal-centroid projection.

    Pitch class ``k`` (0 = C) maps to column ``k``::

        [r1 sin(k 7pi/6), r1 cos(k 7pi/6),   # circle of fifths: a fifth turns by pi/6
         r2 sin(k 3pi/2), r2 cos(k 3pi/2),   # circle of minor thirds: a minor third by pi/2
         r3 sin(k 2pi/3), r3 cos(k 2pi/3)]   # circle of major thirds: a major third by 2pi/3

    with ``(r1, r2, r3) = (1, 1, 0.5)`` by default (Harte et al.'s eq. 3; MuseGAN and
    pypianoroll use the same angles and radii).

    Returns
    -------
    ndarray of float, shape=(6, 12)
    """
    r1, r2, r3 = (float(r) for r in radii)
    k = np.arange(12)
    # The angles reduced to [0, 2pi) exactly first (k 7pi/6 = 2pi (7k mod 12) / 12, ...), so
    # that sin(pi) is 1e-16 rather than 1e-15.
    fifths = 2 * np.pi * (7 * k % 12) / 12
    minor_thirds = 2 * np.pi * (3 * k % 4) / 4
    major_thirds = 2 * np.pi * (k % 3) / 3
    return np.stack(
        [
            r1 * np.sin(fifths),
            r1 * np.cos(fifths),
            r2 * np.sin(minor_thirds),
            r2 * np.cos(minor_thirds),
            r3 * np.sin(major_thirds),
            r3 * np.cos(major_thirds),
        ]
    )


# --- the per-track accumulator -----------------------------------------------------------------


def _pitched_pairs(spec: PhraseSpec) -> list[tuple[int, int]]:
    pitched = [t for t in range(spec.n_tracks) if not spec.is_drum[t]]
    return [(a, b) for i, a in enumerate(pitched) for b in pitched[i + 1 :]]


class _Totals:
    """Per-phrase counts over chunks of phrases, from which every per-track and pair metric
    follows, pooled over the phrases or for each phrase on its own.

    Each chunk adds rows of shape ``(chunk, n_tracks)`` (or ``(chunk, n_pairs)``). Counts are
    integers, summed exactly; the real-valued DP scores and tonal distances are summed within
    a phrase by element-wise operations in a fixed order. Pooling sums the rows once at the
    end, so no result depends on how the phrases were chunked.
    """

    _COUNTS = (
        "nonempty_bars",
        "pitch_classes",  # summed over the non-empty bars
        "pitch_span",  # summed over the non-empty bars
        "poly_steps",
        "n_notes",
        "n_qualified",
        "note_steps",
    )

    def __init__(
        self,
        spec: PhraseSpec,
        *,
        qn_min_steps: int,
        pp_threshold: int,
        dp_near_weight: float,
        bars: bool = True,
        steps: bool = True,
        notes: bool = True,
        tonal: bool = True,
    ) -> None:
        self.spec = spec
        self.qn_min_steps = qn_min_steps
        self.pp_threshold = pp_threshold
        self.want_bars, self.want_steps, self.want_notes, self.want_tonal = (
            bars,
            steps,
            notes,
            tonal,
        )
        self.is_drum = np.array(spec.is_drum, dtype=np.bool_)
        self.pitched = np.flatnonzero(~self.is_drum)
        self.pairs = _pitched_pairs(spec)
        self.rows: dict[str, list[NDArray[Any]]] = {
            key: [] for key in (*self._COUNTS, "dp_score", "td_sum", "td_beats")
        }
        spb = spec.steps_per_beat
        on, near = _grid_masks(spb)
        self.dp_near_weight = dp_near_weight
        # One column per grid phase: shift s moves the grid s steps later, circularly.
        step_in_bar = np.arange(spec.n_steps_per_bar)
        n_shifts = -(-spb // 4)
        phase = (step_in_bar[:, None] - np.arange(n_shifts)[None, :]) % spb
        self.dp_on = on[phase].astype(np.int64)  # (n_steps_per_bar, n_shifts)
        self.dp_near = near[phase].astype(np.int64)
        self.tonal_matrix = tonal_centroid_matrix()
        self.octave_offset = spec.lowest_pitch % 12
        self.n_octaves = -(-(self.octave_offset + spec.n_pitches) // 12)

    # -- one chunk ------------------------------------------------------------------------------

    def add(self, frames: BoolArray, onsets: BoolArray) -> None:
        c, n = len(frames), self.spec.n_tracks
        chunk: dict[str, NDArray[Any]] = {
            key: np.zeros((c, n), dtype=np.int64) for key in self._COUNTS
        }
        chunk["dp_score"] = np.zeros((c, n))
        chunk["td_sum"] = np.zeros((c, len(self.pairs)))
        chunk["td_beats"] = np.zeros((c, len(self.pairs)), dtype=np.int64)
        if self.want_bars or self.want_tonal:
            self._add_bars_and_beats(frames, chunk)
        if self.want_steps:
            self._add_steps(frames, chunk)
        if self.want_notes:
            self._add_notes(frames, onsets, chunk)
        for key, rows in chunk.items():
            self.rows[key].append(rows)

    def _chroma(self, counts: NDArray[Any]) -> NDArray[np.int64]:
        """Fold the last (pitch-index) axis onto the 12 pitch classes, C = 0."""
        padded = np.zeros((*counts.shape[:-1], self.n_octaves * 12), dtype=np.int64)
        padded[..., self.octave_offset : self.octave_offset + counts.shape[-1]] = counts
        folded: NDArray[np.int64] = padded.reshape(*counts.shape[:-1], self.n_octaves, 12).sum(
            axis=-2
        )
        return folded

    def _add_bars_and_beats(self, frames: BoolArray, chunk: dict[str, NDArray[Any]]) -> None:
        spec = self.spec
        c, n_tracks, n_bars, _, n_pitches = frames.shape
        spb, bpb = spec.steps_per_beat, spec.beats_per_bar
        dtype = np.uint8 if spb < 256 else np.int64
        # Steps each pitch sounds in each beat: (c, n_tracks, n_beats, n_pitches).
        beat_counts = frames.reshape(c, n_tracks, n_bars * bpb, spb, n_pitches).sum(
            axis=3, dtype=dtype
        )
        bar_used = beat_counts.reshape(c, n_tracks, n_bars, bpb, n_pitches).any(axis=3)
        nonempty = bar_used.any(axis=-1)  # (c, n_tracks, n_bars)
        chunk["nonempty_bars"][:] = nonempty.sum(axis=2)
        pitched = self.pitched
        if len(pitched) == 0:
            return
        beat_chroma = self._chroma(beat_counts[:, pitched])  # (c, n_pitched, n_beats, 12)
        if self.want_bars:
            bar_classes = beat_chroma.reshape(c, len(pitched), n_bars, bpb, 12).any(axis=3)
            chunk["pitch_classes"][:, pitched] = bar_classes.sum(axis=(2, 3))
            used = bar_used[:, pitched]
            lowest = used.argmax(axis=-1)
            highest = n_pitches - 1 - used[..., ::-1].argmax(axis=-1)
            span = np.where(nonempty[:, pitched], highest - lowest, 0)
            chunk["pitch_span"][:, pitched] = span.sum(axis=2)
        if self.want_tonal and self.pairs:
            self._add_tonal(beat_chroma, chunk)

    def _add_tonal(self, beat_chroma: NDArray[np.int64], chunk: dict[str, NDArray[Any]]) -> None:
        total = beat_chroma.sum(axis=-1)  # (c, n_pitched, n_beats)
        norm = beat_chroma / np.maximum(total, 1)[..., None]
        # Only element-wise operations, in a fixed order (the projection and the sums written
        # out term by term), so that a phrase's value does not depend on its chunk.
        m = self.tonal_matrix
        centroid = np.zeros((*norm.shape[:-1], 6))
        for k in range(12):
            centroid += norm[..., k, None] * m[:, k]
        where = {int(t): i for i, t in enumerate(self.pitched)}
        for p, (a, b) in enumerate(self.pairs):
            ia, ib = where[a], where[b]
            diff = centroid[:, ia] - centroid[:, ib]  # (c, n_beats, 6)
            squared = np.zeros(diff.shape[:-1])
            for j in range(6):
                squared += diff[..., j] * diff[..., j]
            both = (total[:, ia] > 0) & (total[:, ib] > 0)
            distance = np.where(both, np.sqrt(squared), 0.0)
            for beat in range(distance.shape[1]):
                chunk["td_sum"][:, p] += distance[:, beat]
            chunk["td_beats"][:, p] = both.sum(axis=1)

    def _add_steps(self, frames: BoolArray, chunk: dict[str, NDArray[Any]]) -> None:
        for t in self.pitched:
            counts = frames[:, t].sum(axis=-1, dtype=np.uint8)  # pitches sounding per step
            chunk["poly_steps"][:, t] = np.count_nonzero(counts > self.pp_threshold, axis=(1, 2))

    def _add_notes(
        self, frames: BoolArray, onsets: BoolArray, chunk: dict[str, NDArray[Any]]
    ) -> None:
        # The notes of extract_notes(), counted without listing them: a note starts at each
        # True of ``starts``; every sounding step belongs to exactly one note, so the lengths
        # sum to the sounding steps; a note lasts at least L steps when the L - 1 steps after
        # its start all continue it. (The tests check these counts against the notes that
        # roll_to_pattern decodes, and extract_notes against roll_to_pattern.)
        c = len(frames)
        width = self.qn_min_steps - 1
        for t in range(self.spec.n_tracks):
            f, o = _time_last(frames[:, t]), _time_last(onsets[:, t])  # (c, n_pitches, time)
            starts = _starts(f, o)
            chunk["n_notes"][:, t] = _count_rows(starts, c)
            if self.is_drum[t]:
                chunk["dp_score"][:, t] = self._drum_scores(starts.sum(axis=1, dtype=np.int64))
                continue
            chunk["note_steps"][:, t] = _count_rows(frames[:, t], c)
            if width == 0:
                chunk["n_qualified"][:, t] = chunk["n_notes"][:, t]
            else:
                lasting = _lasting(f > starts, width)
                chunk["n_qualified"][:, t] = _count_rows(starts[..., :-1] & lasting[..., 1:], c)

    def _drum_scores(self, per_step: NDArray[np.int64]) -> FloatArray:
        """Per phrase, the sum over its bars of each bar's best DP score over the grid phases.

        ``per_step`` holds the drum onsets per step, shape ``(c, n_bars * n_steps_per_bar)``.
        """
        c = len(per_step)
        counts = per_step.reshape(c * self.spec.n_bars, -1)  # (bars, n_steps_per_bar)
        on = counts @ self.dp_on  # (bars, phases), exact integers
        near = counts @ self.dp_near
        best = (on + self.dp_near_weight * near).max(axis=1).reshape(c, self.spec.n_bars)
        score = np.zeros(c)
        for bar in range(self.spec.n_bars):
            score += best[:, bar]
        return score

    # -- results --------------------------------------------------------------------------------

    def _values(self, key: str, per_phrase: bool) -> NDArray[Any]:
        rows = self.rows[key]
        width = len(self.pairs) if key.startswith("td_") else self.spec.n_tracks
        stacked = np.concatenate(rows) if rows else np.zeros((0, width), dtype=np.int64)
        return stacked if per_phrase else stacked.sum(axis=0)

    def _ratio(
        self, numerator: NDArray[Any], denominator: NDArray[Any], only: BoolArray | None = None
    ) -> FloatArray:
        """``numerator / denominator``, NaN where the denominator is 0 or ``only`` is False."""
        out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.nan)
        ok = np.broadcast_to(denominator > 0, out.shape)
        if only is not None:
            ok = ok & only
        out[ok] = (numerator / np.where(denominator > 0, denominator, 1))[ok]
        return out

    def n_bars(self, per_phrase: bool) -> NDArray[np.int64]:
        n = len(self._values("n_notes", True))
        shape = (n, self.spec.n_tracks) if per_phrase else (self.spec.n_tracks,)
        count = self.spec.n_bars if per_phrase else n * self.spec.n_bars
        return np.full(shape, count, dtype=np.int64)

    def empty_bar_rate(self, per_phrase: bool = False) -> FloatArray:
        bars = self.n_bars(per_phrase)
        return self._ratio(bars - self._values("nonempty_bars", per_phrase), bars)

    def used_pitch_classes(self, per_phrase: bool = False) -> FloatArray:
        return self._ratio(
            self._values("pitch_classes", per_phrase),
            self._values("nonempty_bars", per_phrase),
            ~self.is_drum,
        )

    def pitch_range(self, per_phrase: bool = False) -> FloatArray:
        return self._ratio(
            self._values("pitch_span", per_phrase),
            self._values("nonempty_bars", per_phrase),
            ~self.is_drum,
        )

    def polyphonicity(self, per_phrase: bool = False) -> FloatArray:
        steps = self._values("nonempty_bars", per_phrase) * self.spec.n_steps_per_bar
        return self._ratio(self._values("poly_steps", per_phrase), steps, ~self.is_drum)

    def qualified_note_rate(self, per_phrase: bool = False) -> FloatArray:
        return self._ratio(
            self._values("n_qualified", per_phrase),
            self._values("n_notes", per_phrase),
            ~self.is_drum,
        )

    def mean_note_length(self, per_phrase: bool = False) -> FloatArray:
        return self._ratio(
            self._values("note_steps", per_phrase),
            self._values("n_notes", per_phrase) * self.spec.steps_per_beat,
            ~self.is_drum,
        )

    def notes_per_bar(self, per_phrase: bool = False) -> FloatArray:
        return self._ratio(self._values("n_notes", per_phrase), self.n_bars(per_phrase))

    def drum_pattern_rate(self, per_phrase: bool = False) -> FloatArray:
        return self._ratio(
            self._values("dp_score", per_phrase),
            self._values("n_notes", per_phrase),
            self.is_drum,
        )

    def tonal_distance(self, per_phrase: bool = False) -> FloatArray:
        """Shape ``(n_pairs,)``, or ``(n_phrases, n_pairs)`` per phrase."""
        return self._ratio(self._values("td_sum", per_phrase), self._values("td_beats", per_phrase))


def _count_rows(plane: BoolArray, n_rows: int) -> NDArray[np.int64]:
    """True cells of each row (first axis) of a plane, shape ``(n_rows,)``.

    A loop over the rows: ``count_nonzero`` of a whole row is several times faster than with
    an ``axis``, which sums a converted copy.
    """
    return np.fromiter((np.count_nonzero(row) for row in plane), dtype=np.int64, count=n_rows)


def _accumulate(
    frames: BoolArray,
    onsets: BoolArray,
    spec: PhraseSpec,
    *,
    chunk_size: int,
    qn_threshold_beats: float = DEFAULT_QN_THRESHOLD_BEATS,
    pp_threshold: int = DEFAULT_PP_THRESHOLD,
    dp_near_weight: float = DEFAULT_DP_NEAR_WEIGHT,
    bars: bool = True,
    steps: bool = True,
    notes: bool = True,
    tonal: bool = True,
) -> _Totals:
    _check_planes(frames, onsets, spec)
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    totals = _Totals(
        spec,
        qn_min_steps=qualified_min_steps(qn_threshold_beats, spec.steps_per_beat),
        pp_threshold=_check_int("threshold", pp_threshold, 0),
        dp_near_weight=_check_fraction("near_weight", dp_near_weight),
        bars=bars,
        steps=steps,
        notes=notes,
        tonal=tonal,
    )
    for part in _chunks(len(frames), chunk_size):
        totals.add(np.ascontiguousarray(frames[part]), np.ascontiguousarray(onsets[part]))
    return totals


# --- per-track metrics -------------------------------------------------------------------------

_ONLY_BARS = {"bars": True, "steps": False, "notes": False, "tonal": False}


def empty_bar_rate(
    frames: BoolArray, onsets: BoolArray, spec: PhraseSpec, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> FloatArray:
    """EB, the empty-bar rate: share of bars in which the track sounds on no step.

    A bar is empty when ``frames`` is False on all its steps and pitches; a note held over from
    the bar before makes a bar non-empty. Pooled over all bars of all phrases.

    Parameters
    ----------
    frames, onsets : ndarray of bool
        Shape ``(n_phrases, n_tracks, n_bars, n_steps_per_bar, n_pitches)``.
    spec : PhraseSpec
    chunk_size : int
        Phrases processed at once (memory only; the result does not depend on it).

    Returns
    -------
    ndarray of float, shape=(n_tracks,)
        Fraction in 0..1 for every track (drums included); NaN when there are no phrases.
        MuseGAN reports it in percent; its TF code returned the non-empty share by mistake.
    """
    return _accumulate(frames, onsets, spec, chunk_size=chunk_size, **_ONLY_BARS).empty_bar_rate()


def used_pitch_classes(
    frames: BoolArray, onsets: BoolArray, spec: PhraseSpec, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> FloatArray:
    """UPC: mean over non-empty bars of the number of distinct pitch classes sounding in a bar.

    A pitch class sounds in a bar when some pitch of that class sounds on some step of the bar
    (held notes count in every bar they sound in). Classes fold octaves from absolute pitch,
    ``(spec.lowest_pitch + index) % 12``, so C2 + C3 + C4 is one class. MuseGAN's v1 code
    folded with ``reshape(T, 12, 7)``, summing 7 adjacent semitones instead (3 classes there).

    Returns
    -------
    ndarray of float, shape=(n_tracks,)
        Pitch classes per bar, in 1..12; NaN for drum tracks and for tracks with no non-empty bar.
    """
    return _accumulate(
        frames, onsets, spec, chunk_size=chunk_size, **_ONLY_BARS
    ).used_pitch_classes()


def pitch_range(
    frames: BoolArray, onsets: BoolArray, spec: PhraseSpec, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> FloatArray:
    """Pitch range: mean over non-empty bars of highest minus lowest pitch sounding in the bar.

    Returns
    -------
    ndarray of float, shape=(n_tracks,)
        Semitones, >= 0 (a bar of one pitch has range 0); NaN for drum tracks and for tracks
        with no non-empty bar.
    """
    return _accumulate(frames, onsets, spec, chunk_size=chunk_size, **_ONLY_BARS).pitch_range()


def polyphonicity(
    frames: BoolArray,
    onsets: BoolArray,
    spec: PhraseSpec,
    *,
    threshold: int = DEFAULT_PP_THRESHOLD,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> FloatArray:
    """PP, polyphonicity: share of steps where more than ``threshold`` pitches sound.

    The steps counted are those of the track's non-empty bars, pooled over phrases (all bars
    have the same length, so this is also the mean of the per-bar shares). MuseGAN's v1 code
    counted ``>= 2`` pitches over every bar; pypianoroll's ``polyphonic_rate(threshold=t)``
    and MusPy's ``polyphony_rate`` count ``> t`` over all steps they are given.

    Parameters
    ----------
    threshold : int
        A step counts when more than this many pitches sound; default 2 (three or more).

    Returns
    -------
    ndarray of float, shape=(n_tracks,)
        Fraction in 0..1; NaN for drum tracks and for tracks with no non-empty bar.
    """
    totals = _accumulate(
        frames, onsets, spec, chunk_size=chunk_size, pp_threshold=threshold,
        bars=True, steps=True, notes=False, tonal=False,
    )  # fmt: skip
    return totals.polyphonicity()


def qualified_note_rate(
    frames: BoolArray,
    onsets: BoolArray,
    spec: PhraseSpec,
    *,
    threshold_beats: float = DEFAULT_QN_THRESHOLD_BEATS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> FloatArray:
    """QN, qualified-note rate: share of notes lasting at least ``threshold_beats`` beats.

    A note qualifies when ``length_steps >= qualified_min_steps(threshold_beats,
    spec.steps_per_beat)``, i.e. ``ceil(threshold_beats * steps_per_beat)`` and at least one
    step. The default, 1/8 beat (a 32nd note in 4/4), is MuseGAN's 3 steps at 24 steps per
    beat; it is 2 steps at 12 and 1 step at 4 steps per beat or fewer, where *every* note
    qualifies: QN only means something on a grid finer than 8 steps per beat.

    Notes are onset-split (a repeated C, C is two notes; pypianoroll merges them), counted in
    their starting bar and measured across bar lines (MuseGAN's per-bar rolls cut them there);
    a note the phrase's end cuts counts with its cut length. The rate pools all notes of the
    track rather than averaging per-bar rates as MuseGAN's code did.

    Returns
    -------
    ndarray of float, shape=(n_tracks,)
        Fraction in 0..1; NaN for drum tracks and for tracks with no note.
    """
    totals = _accumulate(
        frames, onsets, spec, chunk_size=chunk_size, qn_threshold_beats=threshold_beats,
        bars=False, steps=False, notes=True, tonal=False,
    )  # fmt: skip
    return totals.qualified_note_rate()


def notes_per_bar(
    frames: BoolArray, onsets: BoolArray, spec: PhraseSpec, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> FloatArray:
    """Mean number of notes starting in a bar, over all bars (empty ones included).

    Notes are those of :func:`extract_notes`: onset-split, each counted once, in the bar where
    it starts (a note held across a bar line does not count again in the next bar). Merging
    repeated notes as a frames-only reading does lowers this by about 10% on the chorales.

    Returns
    -------
    ndarray of float, shape=(n_tracks,)
        Notes per bar, >= 0, for every track (drums included); NaN when there are no phrases.
    """
    totals = _accumulate(
        frames, onsets, spec, chunk_size=chunk_size, bars=False, steps=False, notes=True,
        tonal=False,
    )  # fmt: skip
    return totals.notes_per_bar()


def mean_note_length(
    frames: BoolArray, onsets: BoolArray, spec: PhraseSpec, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> FloatArray:
    """Mean length of the notes of :func:`extract_notes`, in beats (``steps / steps_per_beat``).

    Since every sounding step belongs to exactly one note, this is also the number of sounding
    (step, pitch) cells divided by the number of notes.

    Returns
    -------
    ndarray of float, shape=(n_tracks,)
        Beats, > 0; NaN for drum tracks (a drum hit's length means nothing) and for tracks with
        no note.
    """
    totals = _accumulate(
        frames, onsets, spec, chunk_size=chunk_size, bars=False, steps=False, notes=True,
        tonal=False,
    )  # fmt: skip
    return totals.mean_note_length()


def drum_pattern_rate(
    frames: BoolArray,
    onsets: BoolArray,
    spec: PhraseSpec,
    *,
    near_weight: float = DEFAULT_DP_NEAR_WEIGHT,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> FloatArray:
    """DP, drum-pattern rate: weighted share of drum onsets that fall on a 16th-note grid.

    Every note start on a drum track is an onset (two drums struck together are two). An onset
    on the grid weighs 1, one step off it ``near_weight`` (0.3, MuseGAN's tolerance; only on a
    grid finer than 16ths), elsewhere 0 (see :func:`drum_grid_weights`, which also says how a
    ``steps_per_beat`` that is not a multiple of 4 is handled). The grid may be shifted
    circularly by 0 .. ``ceil(steps_per_beat / 4) - 1`` steps (every phase within one 16th),
    and each bar takes the shift that scores highest, as MuseGAN's v1 code did. The rate is
    the sum over bars of those best scores divided by the number of onsets (MuseGAN averaged
    per-bar rates instead).

    Returns
    -------
    ndarray of float, shape=(n_tracks,)
        Fraction in 0..1; NaN for pitched tracks and for drum tracks with no onset.
    """
    totals = _accumulate(
        frames, onsets, spec, chunk_size=chunk_size, dp_near_weight=near_weight,
        bars=False, steps=False, notes=True, tonal=False,
    )  # fmt: skip
    return totals.drum_pattern_rate()


def tonal_distance(
    frames: BoolArray, onsets: BoolArray, spec: PhraseSpec, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> dict[tuple[int, int], float]:
    """TD, tonal distance between each pair of pitched tracks (Harte et al. 2006).

    For each beat of each phrase, a track's chroma is the number of sounding steps of each
    pitch class in the beat (octaves folded from absolute pitch), divided by its sum (L1). It
    is projected to a 6-D tonal centroid with :func:`tonal_centroid_matrix` (fifths at
    ``7pi/6 k``, minor thirds at ``3pi/2 k``, major thirds at ``2pi/3 k``, radii 1, 1, 0.5).
    The tonal distance of a beat is the Euclidean distance between the two tracks' centroids;
    TD is its mean over the beats, of all phrases, in which *both* tracks sound. Beats in which
    either track is silent are skipped: their chroma cannot be normalised (MuseGAN's code and
    pypianoroll divide by zero there and return NaN). Values lie in 0..3 (C vs G is
    ``sqrt(19/4 - sqrt(3))`` = 1.737); smaller is more consonant. Per-beat values are about
    half the per-bar ones, so state the choice when comparing.

    Returns
    -------
    dict
        ``{(i, j): distance}`` for every pair of pitched tracks ``i < j``; NaN for a pair that
        never sounds together.
    """
    totals = _accumulate(
        frames, onsets, spec, chunk_size=chunk_size, bars=False, steps=False, notes=False,
        tonal=True,
    )  # fmt: skip
    return dict(zip(totals.pairs, totals.tonal_distance().tolist(), strict=True))


_PER_TRACK_KEYS = (
    "empty_bar_rate",
    "used_pitch_classes",
    "qualified_note_rate",
    "polyphonicity",
    "drum_pattern_rate",
    "notes_per_bar",
    "mean_note_length",
    "pitch_range",
)


def _phrase_values(totals: _Totals) -> dict[str, FloatArray]:
    values: dict[str, FloatArray] = {
        key: getattr(totals, key)(per_phrase=True) for key in _PER_TRACK_KEYS
    }
    values["tonal_distance"] = totals.tonal_distance(per_phrase=True)
    return values


def phrase_metrics(
    frames: BoolArray,
    onsets: BoolArray,
    spec: PhraseSpec,
    *,
    qn_threshold_beats: float = DEFAULT_QN_THRESHOLD_BEATS,
    pp_threshold: int = DEFAULT_PP_THRESHOLD,
    dp_near_weight: float = DEFAULT_DP_NEAR_WEIGHT,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, FloatArray]:
    """Every per-track and pair metric of each phrase on its own, for distributions.

    Row ``i`` of each array equals the metric computed on ``frames[i : i + 1]`` alone (the
    functions above pool phrases instead), in one vectorised pass over all phrases.

    Returns
    -------
    dict
        ``{key: ndarray of shape (n_phrases, n_tracks)}`` for each per-track metric key of
        :data:`METRICS` (``"empty_bar_rate"``, ``"used_pitch_classes"``, ...), NaN where the
        metric does not apply or the phrase has nothing to average; and ``"tonal_distance"``
        of shape ``(n_phrases, n_pairs)``, pairs in the order of :func:`tonal_distance`.
    """
    totals = _accumulate(
        frames, onsets, spec, chunk_size=chunk_size, qn_threshold_beats=qn_threshold_beats,
        pp_threshold=pp_threshold, dp_near_weight=dp_near_weight,
    )  # fmt: skip
    return _phrase_values(totals)


# --- sample-set measures -----------------------------------------------------------------------


def _phrase_keys(frames: BoolArray, onsets: BoolArray, chunk_size: int) -> list[bytes]:
    """A 128-bit digest per phrase of its frames and note starts (what its notes are)."""
    keys: list[bytes] = []
    for part in _chunks(len(frames), chunk_size):
        f = np.ascontiguousarray(frames[part])
        c = len(f)
        starts = _starts(_time_last(f), _time_last(np.ascontiguousarray(onsets[part])))
        packed_frames = np.packbits(f.reshape(c, -1), axis=1)
        packed_starts = np.packbits(np.swapaxes(starts, -1, -2).reshape(c, -1), axis=1)
        for row_frames, row_starts in zip(packed_frames, packed_starts, strict=True):
            digest = hashlib.blake2b(row_frames, digest_size=16)
            digest.update(row_starts)
            keys.append(digest.digest())
    return keys


def unique_rate(
    frames: BoolArray, onsets: BoolArray, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> float:
    """Share of distinct phrases: the number of different phrases divided by ``n_phrases``.

    Two phrases are the same when their notes are (equal ``frames`` and equal note starts, so
    an onset that changes no note, e.g. on a silent step, does not make a phrase different).
    Phrases are compared by a 128-bit BLAKE2b digest of those bits; a collision is
    astronomically unlikely. Returns NaN for an empty set.
    """
    _check_planes(frames, onsets, None)
    if len(frames) == 0:
        return math.nan
    keys = _phrase_keys(frames, onsets, _check_int("chunk_size", chunk_size, 1))
    return len(set(keys)) / len(keys)


def count_reference_copies(
    frames: BoolArray,
    onsets: BoolArray,
    reference_frames: BoolArray,
    reference_onsets: BoolArray,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Number of phrases whose notes equal those of some reference (e.g. training) phrase.

    Equality is as in :func:`unique_rate`; a phrase that copies a reference counts once, and
    two samples copying the same reference count twice.
    """
    _check_planes(frames, onsets, None)
    _check_planes(reference_frames, reference_onsets, None)
    if reference_frames.shape[1:] != frames.shape[1:]:
        raise ValueError(
            f"reference phrases have shape {reference_frames.shape[1:]}, samples {frames.shape[1:]}"
        )
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    known = set(_phrase_keys(reference_frames, reference_onsets, chunk_size))
    return sum(key in known for key in _phrase_keys(frames, onsets, chunk_size))


def _packed_words(frames: BoolArray, chunk_size: int) -> NDArray[np.uint64]:
    """Each phrase's frames as bits packed into 64-bit words (zero-padded)."""
    n = len(frames)
    n_cells = math.prod(frames.shape[1:])
    n_words = -(-n_cells // 64)
    out = np.zeros((n, n_words * 8), dtype=np.uint8)
    for part in _chunks(n, chunk_size):
        rows = np.ascontiguousarray(frames[part]).reshape(part.stop - part.start, n_cells)
        out[part, : -(-n_cells // 8)] = np.packbits(rows, axis=1)
    return out.view(np.uint64)


def mean_pairwise_distance(
    frames: BoolArray,
    *,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> float:
    """Mean normalised Hamming distance between the frames of two different phrases.

    The distance of phrases ``a`` and ``b`` is the share of (track, bar, step, pitch) cells
    where one sounds and the other does not, in 0..1. With ``n`` phrases, all
    ``n (n - 1) / 2`` pairs are averaged when there are at most ``max_pairs`` of them;
    otherwise ``max_pairs`` pairs ``i != j`` are drawn uniformly (with replacement) by
    ``numpy.random.default_rng(seed)``, so the value is deterministic. Returns NaN for fewer
    than two phrases. A collapsed generator scores near 0; compare with the real data's value.
    """
    _check_planes(frames, None, None)
    max_pairs = _check_int("max_pairs", max_pairs, 1)
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    n = len(frames)
    if n < 2:
        return math.nan
    if n * (n - 1) // 2 <= max_pairs:
        first, second = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        first = rng.integers(0, n, size=max_pairs)
        second = rng.integers(0, n - 1, size=max_pairs)
        second += second >= first
    words = _packed_words(frames, chunk_size)
    differing = 0
    step = max(1, chunk_size * 4)
    for start in range(0, len(first), step):
        a, b = first[start : start + step], second[start : start + step]
        differing += int(np.bitwise_count(words[a] ^ words[b]).sum(dtype=np.int64))
    return differing / (len(first) * math.prod(frames.shape[1:]))


def nearest_neighbour_distances(
    frames: BoolArray,
    reference_frames: BoolArray,
    *,
    chunk_size: int | None = None,
) -> FloatArray:
    """For each phrase, the normalised Hamming distance of its frames to the nearest reference.

    ``|a xor b| = |a| + |b| - 2 a.b`` for bit vectors ``a`` and ``b``; the dot products come
    from float32 matrix products over chunks of ``chunk_size`` phrases and references (by
    default as many as fill 256 MiB of float32; larger products run faster), over
    only the cells that sound somewhere in both the chunk and the reference set (the others
    add nothing to ``a.b``). They are exact: the terms are 0 or 1 and every partial sum is an
    integer below 2**24 (longer phrases fall back to float64). Cost is up to
    ``2 n m n_cells`` floating-point operations: about 4 s for 1,000 x 3,000 random phrases of
    49,152 cells on two cores, less when the sets leave cells unused.

    Returns
    -------
    ndarray of float, shape=(n_phrases,)
        Distances in 0..1; 0 means the phrase's frames copy a reference's. Compare the mean
        with the reference set's own held-out value: much lower suggests memorisation.
    """
    _check_planes(frames, None, None)
    _check_planes(reference_frames, None, None)
    if reference_frames.shape[1:] != frames.shape[1:]:
        raise ValueError(
            f"reference phrases have shape {reference_frames.shape[1:]}, samples {frames.shape[1:]}"
        )
    n, m = len(frames), len(reference_frames)
    if m == 0:
        raise ValueError("reference_frames holds no phrase")
    n_cells = math.prod(frames.shape[1:])
    if chunk_size is None:
        chunk_size = max(1, (256 << 20) // (4 * max(n_cells, 1)))
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    dtype: type[np.floating[Any]] = np.float32 if n_cells < 1 << 24 else np.float64

    def rows_of(plane: BoolArray, part: slice) -> BoolArray:
        return np.ascontiguousarray(plane[part]).reshape(part.stop - part.start, n_cells)

    ref_counts = np.zeros(m, dtype=np.int64)
    ref_used = np.zeros(n_cells, dtype=np.bool_)
    for part in _chunks(m, chunk_size):
        rows = rows_of(reference_frames, part)
        ref_counts[part] = np.count_nonzero(rows, axis=1)
        ref_used |= rows.any(axis=0)
    best = np.zeros(n, dtype=np.int64)
    for part in _chunks(n, chunk_size):
        rows = rows_of(frames, part)
        counts = np.count_nonzero(rows, axis=1).astype(np.int64)
        used = rows.any(axis=0) & ref_used
        cells = np.flatnonzero(used) if np.count_nonzero(used) < 0.9 * n_cells else slice(None)
        a = rows[:, cells].astype(dtype)
        nearest = np.full(len(a), np.iinfo(np.int64).max, dtype=np.int64)
        for ref_part in _chunks(m, chunk_size):
            refs = rows_of(reference_frames, ref_part)[:, cells].astype(dtype)
            dots = (a @ refs.T).astype(np.int64)
            dist = counts[:, None] + ref_counts[None, ref_part] - 2 * dots
            np.minimum(nearest, dist.min(axis=1), out=nearest)
        best[part] = nearest
    return best / n_cells


# --- everything at once --------------------------------------------------------------------------


def _plain(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True, slots=True, eq=False)
class MetricReport:
    """What :func:`evaluate` measured; see :data:`METRICS` for the definitions.

    Per-track arrays have shape ``(n_tracks,)`` and follow ``track_names``; ``tonal_distance``
    has one value per entry of ``pairs``. Rates are fractions in 0..1.
    """

    track_names: tuple[str, ...]
    is_drum: tuple[bool, ...]
    n_phrases: int
    settings: Mapping[str, float | int]
    empty_bar_rate: FloatArray
    used_pitch_classes: FloatArray
    qualified_note_rate: FloatArray
    polyphonicity: FloatArray
    drum_pattern_rate: FloatArray
    notes_per_bar: FloatArray
    mean_note_length: FloatArray
    pitch_range: FloatArray
    pairs: tuple[tuple[int, int], ...]
    tonal_distance: FloatArray
    unique_rate: float
    mean_pairwise_distance: float
    #: Per-sample distance to the nearest reference phrase; None without a reference set.
    nn_distances: FloatArray | None = field(default=None)
    n_reference_copies: int | None = None
    #: What :func:`phrase_metrics` returns, when ``evaluate(per_phrase=True)``; else None.
    #: Not part of :meth:`to_dict`.
    per_phrase: Mapping[str, FloatArray] | None = None

    @property
    def nn_distance(self) -> float | None:
        """Mean of :attr:`nn_distances`, or None without a reference set."""
        if self.nn_distances is None:
            return None
        return float(self.nn_distances.mean()) if len(self.nn_distances) else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON: floats, ints, lists and dicts; NaN becomes None.

        Layout::

            {"n_phrases": 10000, "tracks": [{"name": "Bass", "is_drum": false}, ...],
             "settings": {...},
             "per_track": {"empty_bar_rate": [0.08, ...], ...},     # one value per track
             "pairs": [{"tracks": [0, 2], "names": ["Bass", "Guitar"],
                        "tonal_distance": 1.31}, ...],
             "set": {"unique_rate": 1.0, "mean_pairwise_distance": 0.05,
                     "nn_distance": 0.03 or None, "n_reference_copies": 0 or None}}
        """
        per_track = {
            key: [_plain(v) for v in getattr(self, key)]
            for key in (m.key for m in METRICS if m.scope in ("pitched", "drums", "all"))
        }
        nn = self.nn_distance
        return {
            "n_phrases": self.n_phrases,
            "tracks": [
                {"name": name, "is_drum": drum}
                for name, drum in zip(self.track_names, self.is_drum, strict=True)
            ],
            "settings": dict(self.settings),
            "per_track": per_track,
            "pairs": [
                {
                    "tracks": [a, b],
                    "names": [self.track_names[a], self.track_names[b]],
                    "tonal_distance": _plain(float(d)),
                }
                for (a, b), d in zip(self.pairs, self.tonal_distance, strict=True)
            ],
            "set": {
                "unique_rate": _plain(self.unique_rate),
                "mean_pairwise_distance": _plain(self.mean_pairwise_distance),
                "nn_distance": None if nn is None else _plain(nn),
                "n_reference_copies": self.n_reference_copies,
            },
        }


def evaluate(
    frames: BoolArray,
    onsets: BoolArray,
    spec: PhraseSpec,
    *,
    reference: tuple[BoolArray, BoolArray] | None = None,
    qn_threshold_beats: float = DEFAULT_QN_THRESHOLD_BEATS,
    pp_threshold: int = DEFAULT_PP_THRESHOLD,
    dp_near_weight: float = DEFAULT_DP_NEAR_WEIGHT,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    per_phrase: bool = False,
) -> MetricReport:
    """Every metric of :data:`METRICS` over a set of phrases.

    The per-track and pair metrics come from one pass over the rolls; the set measures make
    their own (see their functions). Settings and the reference's shape are checked before
    any work starts.

    Parameters
    ----------
    frames, onsets : ndarray of bool
        Shape ``(n_phrases, n_tracks, n_bars, n_steps_per_bar, n_pitches)``.
    spec : PhraseSpec
    reference : (frames, onsets), optional
        Reference (training) phrases of the same phrase shape; adds the nearest-reference
        distances and the number of copies. Costs about ``2 n m n_cells`` flops.
    qn_threshold_beats, pp_threshold, dp_near_weight
        See :func:`qualified_note_rate`, :func:`polyphonicity`, :func:`drum_pattern_rate`.
    max_pairs : int
        See :func:`mean_pairwise_distance`.
    chunk_size : int
        Phrases processed at once; only memory depends on it, never the result.
    per_phrase : bool
        Also keep each phrase's own values (:attr:`MetricReport.per_phrase`, as
        :func:`phrase_metrics` gives them), at no extra pass.
    """
    _check_int("max_pairs", max_pairs, 1)
    if reference is not None:
        _check_planes(reference[0], reference[1], spec)
    totals = _accumulate(
        frames,
        onsets,
        spec,
        chunk_size=chunk_size,
        qn_threshold_beats=qn_threshold_beats,
        pp_threshold=pp_threshold,
        dp_near_weight=dp_near_weight,
    )
    nn: FloatArray | None = None
    copies: int | None = None
    if reference is not None:
        ref_frames, ref_onsets = reference
        nn = nearest_neighbour_distances(frames, ref_frames)
        copies = count_reference_copies(
            frames, onsets, ref_frames, ref_onsets, chunk_size=chunk_size
        )
    return MetricReport(
        track_names=spec.track_names,
        is_drum=spec.is_drum,
        n_phrases=len(frames),
        settings={
            "qn_threshold_beats": float(qn_threshold_beats),
            "qn_min_steps": totals.qn_min_steps,
            "pp_threshold": int(pp_threshold),
            "dp_near_weight": float(dp_near_weight),
            "max_pairs": int(max_pairs),
            "steps_per_beat": spec.steps_per_beat,
        },
        empty_bar_rate=totals.empty_bar_rate(),
        used_pitch_classes=totals.used_pitch_classes(),
        qualified_note_rate=totals.qualified_note_rate(),
        polyphonicity=totals.polyphonicity(),
        drum_pattern_rate=totals.drum_pattern_rate(),
        notes_per_bar=totals.notes_per_bar(),
        mean_note_length=totals.mean_note_length(),
        pitch_range=totals.pitch_range(),
        pairs=tuple(totals.pairs),
        tonal_distance=totals.tonal_distance(),
        unique_rate=unique_rate(frames, onsets, chunk_size=chunk_size),
        mean_pairwise_distance=mean_pairwise_distance(
            frames, max_pairs=max_pairs, chunk_size=chunk_size
        ),
        nn_distances=nn,
        n_reference_copies=copies,
        per_phrase=_phrase_values(totals) if per_phrase else None,
    )
