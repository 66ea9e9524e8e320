# SPDX-License-Identifier: MIT
"""What a listener hears in a voice: note lengths, re-strikes, rhythm and melodic steps.

:mod:`engine.metrics` averages (notes per bar, mean note length); a choppy model can match an
average and still sound wrong. This module measures the *distributions* behind the averages,
per track, and compares sets of phrases with them, as Yang and Lerch ("On the evaluation of
generative models in music", Neural Computing and Applications, 2020) proposed.

Notes are read by the rule of :mod:`engine.metrics` (:func:`~engine.metrics.extract_notes`):
a note starts where a pitch begins to sound or where an onset falls on a sounding step, and
lasts until the pitch stops or its next onset. Lengths and times are in steps (``1 /
spec.steps_per_beat`` beats).

Features of one track (pitched tracks; IOI applies to drums too, the rest is NaN there):

- **note length** (``length``): the histogram of note lengths over the bins ``1, 2, ...,
  n_steps_per_bar`` steps and one last bin for longer notes;
- **length shares** (``length_shares``): the share of notes at least ``k`` steps long, for
  ``k`` in :data:`LENGTH_SHARE_STEPS`;
- **re-strikes** (``restrike``): the share of notes that start on the very step where the
  previous note of the same pitch (same track, same phrase) ended, i.e. a held pitch struck
  again with no rest between;
- **IOI** (``ioi``): the histogram of inter-onset intervals, the steps between two
  consecutive distinct onset times of the track in one phrase, over bins ``1, ...,
  n_steps_per_bar`` and one for longer;
- **pitch interval** (``interval``): the histogram of melodic steps, the signed semitones from
  the highest pitch starting at one onset time to the highest pitch starting at the next
  (within a phrase), over bins ``-12, ..., +12`` plus one bin each for larger leaps down and up;
- **QN** (``qn``): the share of notes lasting at least each threshold of
  :data:`QN_THRESHOLDS_BEATS` beats (``ceil(threshold * steps_per_beat)`` steps, at least 1);
- **notes per bar** (``npb``): note starts per bar (for one phrase: its notes over its bars).

Pooled histograms count every note (or interval) of every phrase; a phrase's own histogram,
normalised to sum 1, is its feature vector for the set comparisons.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.metrics import NoteTable, extract_notes, qualified_min_steps
from engine.pianoroll import PhraseSpec

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: ``length_shares`` gives the share of notes at least this many steps long.
LENGTH_SHARE_STEPS = (1, 2, 3, 4, 8)
#: ``qn`` gives the share of notes lasting at least this many beats.
QN_THRESHOLDS_BEATS = (0.25, 0.5, 0.75)
#: Melodic steps up to an octave get a bin each; larger leaps share one bin per direction.
MAX_INTERVAL = 12
#: The features compared as distributions, with their report names.
FEATURES: Mapping[str, str] = {
    "length": "note length",
    "restrike": "re-strikes",
    "ioi": "inter-onset interval",
    "interval": "pitch interval",
    "qn": "QN at 1/4, 1/2, 3/4 beat",
    "npb": "notes per bar",
}
#: Features defined for drum tracks as well as pitched ones.
_DRUM_FEATURES = frozenset({"ioi", "npb"})
_CHUNK = 512


@dataclass(frozen=True, slots=True, eq=False)
class NoteFeatures:
    """The features of a set of phrases, pooled per track and per phrase.

    Pooled arrays have one row per track (NaN rows for features that do not apply, or when the
    track has no note). ``per_phrase[feature]`` has shape ``(n_phrases, n_tracks, dim)``: each
    phrase's own normalised histogram or value, NaN where the phrase gives it nothing to
    measure (e.g. no note in that track).
    """

    track_names: tuple[str, ...]
    is_drum: tuple[bool, ...]
    n_phrases: int
    steps_per_beat: int
    n_notes: IntArray  # (n_tracks,)
    length: FloatArray  # (n_tracks, n_steps_per_bar + 1), sums to 1
    length_shares: FloatArray  # (n_tracks, len(LENGTH_SHARE_STEPS))
    restrike: FloatArray  # (n_tracks,)
    ioi: FloatArray  # (n_tracks, n_steps_per_bar + 1), sums to 1
    interval: FloatArray  # (n_tracks, 2 * MAX_INTERVAL + 3), sums to 1
    qn: FloatArray  # (n_tracks, len(QN_THRESHOLDS_BEATS))
    npb: FloatArray  # (n_tracks,)
    per_phrase: Mapping[str, FloatArray]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (NaN becomes None); per-phrase values are left out."""

        def plain(a: NDArray[Any]) -> Any:
            return [plain(v) for v in a] if a.ndim else (None if np.isnan(a) else float(a))

        return {
            "n_notes": [int(n) for n in self.n_notes],
            "length_bins_steps": [*range(1, self.length.shape[1]), "longer"],
            "length": plain(self.length),
            "length_share_steps": list(LENGTH_SHARE_STEPS),
            "length_shares": plain(self.length_shares),
            "restrike": plain(self.restrike),
            "ioi": plain(self.ioi),
            "interval_bins_semitones": ["lower", *range(-MAX_INTERVAL, MAX_INTERVAL + 1), "higher"],
            "interval": plain(self.interval),
            "qn_thresholds_beats": list(QN_THRESHOLDS_BEATS),
            "qn": plain(self.qn),
            "npb": plain(self.npb),
        }


def _chunks(n: int) -> Iterator[slice]:
    for start in range(0, n, _CHUNK):
        yield slice(start, min(n, start + _CHUNK))


def _rows(notes: NoteTable, n_tracks: int) -> IntArray:
    """Each note's (phrase, track) row, ``phrase * n_tracks + track``."""
    return notes.phrase * n_tracks + notes.track


def _histogram(rows: IntArray, bins: IntArray, n_rows: int, n_bins: int) -> IntArray:
    flat = np.bincount(rows * n_bins + bins, minlength=n_rows * n_bins)
    return flat.reshape(n_rows, n_bins)


def _restrikes(notes: NoteTable) -> BoolArray:
    """Per note: does it start where the previous note of its pitch (same phrase and track)
    ended? Notes come ordered by phrase, track, pitch and start, so that previous note, if
    any, is the entry just before."""
    out = np.zeros(len(notes), dtype=np.bool_)
    if len(notes) > 1:
        out[1:] = (
            (notes.phrase[1:] == notes.phrase[:-1])
            & (notes.track[1:] == notes.track[:-1])
            & (notes.pitch[1:] == notes.pitch[:-1])
            & (notes.start[:-1] + notes.length[:-1] == notes.start[1:])
        )
    return out


def _onset_steps(notes: NoteTable, n_tracks: int) -> tuple[IntArray, IntArray, IntArray]:
    """The distinct onset times of every (phrase, track) row: ``(row, start, top pitch)``,
    ordered by row and start; the top pitch is the highest pitch starting there."""
    rows = _rows(notes, n_tracks)
    order = np.lexsort((notes.pitch, notes.start, rows))
    rows, start, pitch = rows[order], notes.start[order], notes.pitch[order]
    last = np.ones(len(rows), dtype=np.bool_)  # the last (highest) note of each onset time
    last[:-1] = (rows[1:] != rows[:-1]) | (start[1:] != start[:-1])
    return rows[last], start[last], pitch[last]


def _measure(notes: NoteTable, n_phrases: int, spec: PhraseSpec) -> dict[str, IntArray]:
    """Integer counts of one chunk, each of shape ``(n_phrases, n_tracks, n_bins)``."""
    t, bar = spec.n_tracks, spec.n_steps_per_bar
    n_rows = n_phrases * t
    rows = _rows(notes, t)
    counts: dict[str, IntArray] = {}
    counts["notes"] = np.bincount(rows, minlength=n_rows).reshape(n_phrases, t, 1)
    counts["length"] = _histogram(
        rows, np.minimum(notes.length, bar + 1) - 1, n_rows, bar + 1
    ).reshape(n_phrases, t, bar + 1)
    counts["restrike"] = (
        np.bincount(rows, weights=_restrikes(notes), minlength=n_rows)
        .astype(np.int64)
        .reshape(n_phrases, t, 1)
    )
    min_steps = [qualified_min_steps(b, spec.steps_per_beat) for b in QN_THRESHOLDS_BEATS]
    counts["qn"] = np.stack(
        [
            np.bincount(rows, weights=notes.length >= m, minlength=n_rows).astype(np.int64)
            for m in min_steps
        ],
        axis=-1,
    ).reshape(n_phrases, t, len(min_steps))
    onset_rows, start, top = _onset_steps(notes, t)
    same = onset_rows[1:] == onset_rows[:-1]
    gap_rows = onset_rows[1:][same]
    gaps = (start[1:] - start[:-1])[same]
    counts["ioi"] = _histogram(gap_rows, np.minimum(gaps, bar + 1) - 1, n_rows, bar + 1).reshape(
        n_phrases, t, bar + 1
    )
    steps = np.clip((top[1:] - top[:-1])[same], -MAX_INTERVAL - 1, MAX_INTERVAL + 1)
    n_bins = 2 * MAX_INTERVAL + 3
    counts["interval"] = _histogram(gap_rows, steps + MAX_INTERVAL + 1, n_rows, n_bins).reshape(
        n_phrases, t, n_bins
    )
    return counts


def _share(counts: NDArray[Any], total: NDArray[Any]) -> FloatArray:
    """``counts / total`` with NaN where the total is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(total > 0, counts / np.maximum(total, 1), np.nan)
    return out


def note_features(frames: BoolArray, onsets: BoolArray, spec: PhraseSpec) -> NoteFeatures:
    """Measure every feature of the module docstring on a set of phrases.

    Parameters
    ----------
    frames, onsets : ndarray of bool
        Shape ``(n_phrases, *spec.shape)``.
    spec : PhraseSpec
    """
    if frames.shape != onsets.shape or frames.shape[1:] != spec.shape:
        raise ValueError(
            f"frames and onsets must both have shape (n_phrases, {', '.join(map(str, spec.shape))})"
            f", got {frames.shape} and {onsets.shape}"
        )
    if len(frames) == 0:
        raise ValueError("note_features needs at least one phrase")
    parts: dict[str, list[IntArray]] = {}
    for part in _chunks(len(frames)):
        notes = extract_notes(frames[part], onsets[part])
        for key, value in _measure(notes, part.stop - part.start, spec).items():
            parts.setdefault(key, []).append(value)
    n_phrases = len(frames)
    counts = {key: np.concatenate(value) for key, value in parts.items()}
    pooled = {key: value.sum(axis=0) for key, value in counts.items()}  # (n_tracks, n_bins)
    n_notes = pooled["notes"][:, 0]
    notes_col = pooled["notes"]
    per_phrase_notes = counts["notes"]
    length = _share(pooled["length"], notes_col)
    # Share of notes at least k steps long: the length histogram's tail sums.
    tail = np.cumsum(pooled["length"][:, ::-1], axis=1)[:, ::-1]  # tail[:, i]: notes >= i + 1
    shares = _share(tail[:, [k - 1 for k in LENGTH_SHARE_STEPS]], notes_col)
    per_phrase: dict[str, FloatArray] = {
        "length": _share(counts["length"], per_phrase_notes),
        "restrike": _share(counts["restrike"], per_phrase_notes),
        "ioi": _share(counts["ioi"], counts["ioi"].sum(axis=-1, keepdims=True)),
        "interval": _share(counts["interval"], counts["interval"].sum(axis=-1, keepdims=True)),
        "qn": _share(counts["qn"], per_phrase_notes),
        "npb": per_phrase_notes / float(spec.n_bars),
    }
    pooled_values: dict[str, FloatArray] = {
        "length": length,
        "restrike": _share(pooled["restrike"], notes_col)[:, 0],
        "ioi": _share(pooled["ioi"], pooled["ioi"].sum(axis=-1, keepdims=True)),
        "interval": _share(pooled["interval"], pooled["interval"].sum(axis=-1, keepdims=True)),
        "qn": _share(pooled["qn"], notes_col),
        "npb": n_notes / float(n_phrases * spec.n_bars),
    }
    drums = np.asarray(spec.is_drum, dtype=np.bool_)
    for key, pooled_value in (*pooled_values.items(), ("length_shares", shares)):
        if key not in _DRUM_FEATURES:
            pooled_value[drums] = np.nan
    for key, phrase_value in per_phrase.items():
        if key not in _DRUM_FEATURES:
            phrase_value[:, drums] = np.nan
    return NoteFeatures(
        track_names=spec.track_names,
        is_drum=spec.is_drum,
        n_phrases=n_phrases,
        steps_per_beat=spec.steps_per_beat,
        n_notes=n_notes.astype(np.int64),
        length=pooled_values["length"],
        length_shares=shares,
        restrike=pooled_values["restrike"],
        ioi=pooled_values["ioi"],
        interval=pooled_values["interval"],
        qn=pooled_values["qn"],
        npb=pooled_values["npb"].astype(np.float64),
        per_phrase={key: value.astype(np.float64) for key, value in per_phrase.items()},
    )


def reference_features(
    frames: BoolArray, onsets: BoolArray, spec: PhraseSpec, seed: int = 0
) -> tuple[NoteFeatures, NoteFeatures, NoteFeatures]:
    """The real reference: the features of all the phrases given, of a random first half of
    them (the intra set that OA and KL measure every source against) and of the second half
    (which, against the first, gives the ceiling). Halves from
    :func:`engine.feature_overlap.split_halves` with ``seed``."""
    from engine.feature_overlap import split_halves

    first, second = split_halves(len(frames), seed)
    return (
        note_features(frames, onsets, spec),
        note_features(frames[first], onsets[first], spec),
        note_features(frames[second], onsets[second], spec),
    )


def total_variation(p: NDArray[Any], q: NDArray[Any]) -> FloatArray:
    """Total-variation distance between distributions along the last axis:
    ``0.5 * sum(|p - q|)``, 0 (equal) to 1 (disjoint); NaN where either is NaN."""
    out: FloatArray = 0.5 * np.abs(np.asarray(p, float) - np.asarray(q, float)).sum(axis=-1)
    return out


#: Features whose pooled histograms are compared by total-variation distance.
TV_FEATURES = ("length", "ioi", "interval")


@dataclass(frozen=True, slots=True)
class FeatureComparison:
    """A set's features against the real ones.

    ``tv[feature]``: per track, the total-variation distance between the pooled histograms
    (:data:`TV_FEATURES`); ``oa[feature]`` and ``kl[feature]``: per track, Yang and Lerch's
    overlapping area and KL divergence (:mod:`engine.feature_overlap`) of the per-phrase
    features against the real set's (NaN where a track has no note to measure).
    """

    tv: Mapping[str, FloatArray]
    oa: Mapping[str, FloatArray]
    kl: Mapping[str, FloatArray]

    @property
    def worst_oa(self) -> FloatArray:
        """Per track, the lowest overlapping area over the features (NaN for a track with
        none defined)."""
        stacked = np.stack([self.oa[key] for key in FEATURES])
        out: FloatArray = np.full(stacked.shape[1], np.nan)
        defined = ~np.isnan(stacked).all(axis=0)
        out[defined] = np.nanmin(stacked[:, defined], axis=0)
        return out

    def to_dict(self) -> dict[str, Any]:
        def plain(a: FloatArray) -> list[float | None]:
            return [None if np.isnan(v) else float(v) for v in a]

        return {
            "tv": {key: plain(value) for key, value in self.tv.items()},
            "oa": {key: plain(value) for key, value in self.oa.items()},
            "kl": {key: plain(value) for key, value in self.kl.items()},
        }


def compare_features(
    model: NoteFeatures, real: NoteFeatures, intra: NoteFeatures | None = None, seed: int = 0
) -> FeatureComparison:
    """``model``'s features against ``real``'s.

    TV distances compare the pooled histograms of ``model`` and ``real``. OA and KL compare
    ``model``'s phrases with the phrases of ``intra`` (default ``real``): pass one half of the
    real set as ``intra`` and the other as ``model`` for the real-vs-real ceiling, and the same
    half as ``intra`` for every model, so that all rows share one intra-set density.
    """
    from engine.feature_overlap import overlap

    base = real if intra is None else intra
    n_tracks = len(real.track_names)
    tv = {key: total_variation(getattr(model, key), getattr(real, key)) for key in TV_FEATURES}
    oa: dict[str, FloatArray] = {}
    kl: dict[str, FloatArray] = {}
    for key in FEATURES:
        found = [
            overlap(base.per_phrase[key][:, t], model.per_phrase[key][:, t], seed)
            for t in range(n_tracks)
        ]
        oa[key] = np.array([o.oa for o in found])
        kl[key] = np.array([o.kl for o in found])
    return FeatureComparison(tv, oa, kl)
