# SPDX-License-Identifier: MIT
"""One harmony for all the voices: a chord per beat, chosen from what the generator proposes,
that every voice's line then leans towards.

The voice search (:mod:`engine.generation.voices`) decodes each voice on its own, so nothing
makes the bass agree with the soprano about the chord: decoded phrases are as far apart
vertically (tonal distance) as real voices taken from different phrases. Real voices share a
harmony, beat by beat. This module finds one and hands it to the voice search:

1. :func:`learn_harmony` labels every beat of the training phrases with the chord that best
   explains the pitch classes sounding in it (a root and one of :data:`QUALITIES`; the share
   of the beat's sound on the chord's tones, minus the share off them, minus
   :data:`MISSING_TONE` per chord tone that does not sound), and counts, per voice, which
   pitch class relative to the root it sounds under each quality (``tone``, log probabilities
   weighted by steps), how often each quality occurs (``quality``), and what follows a chord on
   the next beat (``change``: the next quality and the root's step up, 0-11 semitones).
2. :func:`chord_path` finds, per phrase, the chord sequence that maximises
   ``sum over beats of (log P(quality) at the first beat, or log P(change) after it)
   + sum over voices, steps of the beat and pitch classes of chroma * tone / steps_per_beat``
   (``tone`` at that step's position in the beat), where a voice's ``chroma`` at a step is
   the generator's frame probabilities of its candidate pitches (the ones the voice search
   keeps) folded onto the 12 pitch classes and scaled to sum to at most 1 (one voice, one
   pitch). Exact Viterbi over ``12 * len(QUALITIES)`` chords per beat.
3. :func:`harmony_lean` turns the path into a term added to each candidate's frame logit:
   ``weight[voice] * clip(tone[voice, quality, position, pitch class - root] + log 12,
   -PENALTY, BONUS)``, the pointwise mutual information of the pitch class and the chord
   (positive on the tones the voice sounds under that chord more often than at random,
   negative on the others); a candidate more than :data:`WINDOW` semitones from the
   probability-weighted mean of the candidates keeps only the negative part, so the harmony
   picks the pitch class and the generator the octave (without it, voices leapt an octave to
   reach a chord tone). ``weight`` is tuned on validation phrases by ``barforge pick``; 0
   leaves the voice alone.

numpy only.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.pianoroll import PhraseSpec

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Chord qualities, as pitch classes above the root: the chorales' vocabulary of harmonies.
QUALITIES: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "diminished": (0, 3, 6),
    "dominant seventh": (0, 4, 7, 10),
}
#: What a chord tone that does not sound costs the chord when labelling a beat (in shares of
#: the beat's sound), so that a seventh chord is named only where its seventh sounds.
MISSING_TONE = 0.1
#: The bias is the pointwise mutual information clipped to -PENALTY..BONUS (a pitch class
#: the data never showed under a chord is unlikely, not impossible).
PENALTY = 3.0
BONUS = 3.0
#: Semitones either side of the generator's pitch for the voice within which the harmony's
#: bonus applies (an octave in all, so each pitch class once).
WINDOW = 6
_PRIOR = 0.5


@dataclass(frozen=True, slots=True)
class HarmonyStats:
    """What :func:`learn_harmony` learned (natural logarithms).

    ``tone[v][q][i]``: log P(voice ``v`` sounds the pitch class ``i`` semitones above the
    root | the beat's chord has quality ``q``); ``quality[q]``: log P(quality ``q``);
    ``change[q][q2][step]``: log P(the next beat's chord has quality ``q2`` and a root
    ``step`` semitones higher | this beat's has quality ``q``). ``tracks`` are the voice
    tracks, in the order of ``tone``; ``weight`` scales each voice's bias.
    """

    tracks: tuple[int, ...]
    steps_per_beat: int
    lowest_pitch: int
    qualities: tuple[str, ...]
    tone: tuple[tuple[tuple[tuple[float, ...], ...], ...], ...]
    quality: tuple[float, ...]
    change: tuple[tuple[tuple[float, ...], ...], ...]
    weight: tuple[float, ...]

    def with_weight(self, weight: float | tuple[float, ...] | list[float]) -> HarmonyStats:
        """The same statistics with another bias weight: one for every voice, or one each."""
        n = len(self.tracks)
        values = (float(weight),) * n if isinstance(weight, int | float) else tuple(weight)
        if len(values) != n:
            raise ValueError(f"{n} voice tracks need {n} harmony weights, got {len(values)}")
        return dataclasses.replace(self, weight=tuple(float(v) for v in values))

    @property
    def active(self) -> bool:
        return any(w > 0 for w in self.weight)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracks": list(self.tracks),
            "steps_per_beat": self.steps_per_beat,
            "lowest_pitch": self.lowest_pitch,
            "qualities": list(self.qualities),
            "tone": self.tone,
            "quality": self.quality,
            "change": self.change,
            "weight": list(self.weight),
        }


def _log(counts: Any, axis: int = -1) -> FloatArray:
    c = np.asarray(counts, dtype=np.float64) + _PRIOR
    out: FloatArray = np.log(c / c.sum(axis=axis, keepdims=True))
    return out


def _templates() -> NDArray[np.float64]:
    """``(12 * Q, 12)``: 1 on the tones of chord ``root * Q + q``."""
    q = len(QUALITIES)
    out = np.zeros((12 * q, 12))
    for root in range(12):
        for i, tones in enumerate(QUALITIES.values()):
            out[root * q + i, [(root + t) % 12 for t in tones]] = 1.0
    return out


def _pitch_classes(lowest_pitch: int, n_pitches: int) -> NDArray[np.int64]:
    out: NDArray[np.int64] = (lowest_pitch + np.arange(n_pitches)) % 12
    return out


@functools.lru_cache(maxsize=8)
def _class_one_hot(lowest_pitch: int, n_pitches: int) -> NDArray[np.float32]:
    """``(n_pitches, 12)``: 1 where pitch index ``i`` has pitch class ``c`` (C = 0)."""
    classes = _pitch_classes(lowest_pitch, n_pitches)
    out: NDArray[np.float32] = (classes[:, None] == np.arange(12)).astype(np.float32)
    return out


def _fold(values: NDArray[Any], lowest_pitch: int) -> NDArray[np.float32]:
    """Fold the last (pitch index) axis onto the 12 pitch classes (C = 0)."""
    one_hot = _class_one_hot(lowest_pitch, values.shape[-1])
    out: NDArray[np.float32] = np.asarray(values, dtype=np.float32) @ one_hot
    return out


def _nested(values: Any) -> Any:
    """Nested lists or arrays of numbers as nested tuples of floats (the frozen tables)."""
    if isinstance(values, int | float | np.number):
        return float(values)
    return tuple(_nested(v) for v in values)


def beat_chords(chroma: FloatArray) -> NDArray[np.int64]:
    """The chord (``root * len(QUALITIES) + quality``) that best explains each beat's pitch
    classes ``(..., 12)`` (any weights: steps sounding, summed over voices); -1 where nothing
    sounds. Ties go to the lower root, then to the quality listed first."""
    total = chroma.sum(axis=-1, keepdims=True)
    share = chroma / np.maximum(total, 1e-12)
    templates = _templates()  # (chords, 12)
    on = share @ templates.T
    off = share @ (1.0 - templates).T
    missing = (share[..., None, :] <= 0) & (templates > 0)
    score = on - off - MISSING_TONE * missing.sum(axis=-1)
    out: NDArray[np.int64] = np.where(total[..., 0] > 0, score.argmax(axis=-1), -1)
    return out


def learn_harmony(frames: BoolArray, spec: PhraseSpec, tracks: tuple[int, ...]) -> HarmonyStats:
    """Harmony statistics of the voice ``tracks`` of phrases ``(n, n_tracks, n_bars,
    n_steps_per_bar, n_pitches)`` (the training split); the weight starts at 0 (off)."""
    n, _, b, s, p = frames.shape
    spb = spec.steps_per_beat
    q = len(QUALITIES)
    voices = frames[:, list(tracks)].reshape(n, len(tracks), b * s // spb, spb, p)
    by_step = _fold(voices, spec.lowest_pitch)  # (n, V, beats, spb, 12)
    chroma = by_step.sum(axis=3)  # (n, V, beats, 12)
    chords = beat_chords(chroma.sum(axis=1))  # (n, beats)
    labelled = chords >= 0
    root, quality = chords // q, chords % q
    tone = np.zeros((len(tracks), q, spb, 12))
    for v in range(len(tracks)):
        for qi in range(q):
            where = labelled & (quality == qi)
            for pc in range(12):
                rel = (pc - root[where]) % 12
                for pos in range(spb):
                    np.add.at(tone[v, qi, pos], rel, by_step[:, v, :, pos][where][:, pc])
    change = np.zeros((q, q, 12))
    both = labelled[:, :-1] & labelled[:, 1:]
    np.add.at(
        change,
        (
            quality[:, :-1][both],
            quality[:, 1:][both],
            (root[:, 1:][both] - root[:, :-1][both]) % 12,
        ),
        1.0,
    )
    flat_change = _log(change.reshape(q, q * 12)).reshape(q, q, 12)
    return HarmonyStats(
        tracks=tuple(tracks),
        steps_per_beat=spb,
        lowest_pitch=spec.lowest_pitch,
        qualities=tuple(QUALITIES),
        tone=_nested(_log(tone)),
        quality=_nested(_log(np.bincount(quality[labelled], minlength=q))),
        change=_nested(flat_change),
        weight=(0.0,) * len(tracks),
    )


def _sigmoid(x: NDArray[Any]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = (0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float32)))).astype(
        np.float32
    )
    return out


def _rolled_tone(stats: HarmonyStats) -> FloatArray:
    """``(V, chords, steps_per_beat, 12)``: ``tone[v, quality, step, (pc - root) % 12]`` for
    chord ``root * Q + quality``."""
    tone = np.asarray(stats.tone)  # (V, Q, spb, 12)
    v, q, spb, _ = tone.shape
    pcs = np.arange(12)
    out = np.empty((v, 12 * q, spb, 12))
    for root in range(12):
        out[:, root * q : (root + 1) * q] = tone[..., (pcs - root) % 12]
    return out


@dataclass(frozen=True)
class _Tables:
    """What the search needs of one :class:`HarmonyStats`, as arrays (the chord search in
    float64, whose argmax numpy runs several times faster than float32's)."""

    emission: FloatArray  # (V * spb * 12, chords): chroma -> log likelihood
    first: FloatArray  # (chords,): log P(chord) on the first beat
    into: FloatArray  # (1, next chord, chord): log P(next chord | chord)
    bias: NDArray[np.float32]  # (V, chords, spb, n_pitches): the weighted, clipped PMI


@functools.lru_cache(maxsize=8)
def _tables(stats: HarmonyStats, n_pitches: int) -> _Tables:
    rolled = _rolled_tone(stats)  # (V, chords, spb, 12)
    v, chords, spb, _ = rolled.shape
    q = chords // 12
    change = np.asarray(stats.change)  # (Q, Q, 12)
    full = np.empty((chords, chords))
    for r in range(12):
        for r2 in range(12):
            full[r * q : (r + 1) * q, r2 * q : (r2 + 1) * q] = change[:, :, (r2 - r) % 12]
    weight = np.asarray(stats.weight)[:, None, None, None]
    pmi = np.clip(rolled + math.log(12), -PENALTY, BONUS) * weight
    f32 = np.float32
    return _Tables(
        emission=rolled.transpose(0, 2, 3, 1).reshape(v * spb * 12, chords) / spb,
        first=np.tile(np.asarray(stats.quality), 12) - math.log(12),
        into=np.ascontiguousarray(full.T[None]),
        bias=pmi[..., _pitch_classes(stats.lowest_pitch, n_pitches)].astype(f32),
    )


def _path(chroma: NDArray[Any], stats: HarmonyStats, tables: _Tables) -> NDArray[np.intp]:
    """Viterbi over the chords for voice chroma ``(rows, V, steps, 12)``."""
    rows, v, steps, _ = chroma.shape
    spb = stats.steps_per_beat
    beats = steps // spb
    by_beat = chroma.reshape(rows, v, beats, spb * 12).transpose(0, 2, 1, 3)
    emission = by_beat.reshape(rows, beats, v * spb * 12).astype(np.float64) @ tables.emission
    score = emission[:, 0] + tables.first
    back = np.empty((beats, rows, len(tables.first)), dtype=np.intp)
    for beat in range(1, beats):
        total = score[:, None, :] + tables.into  # (rows, next chord, chord)
        back[beat] = total.argmax(axis=2)
        score = np.take_along_axis(total, back[beat][:, :, None], 2)[..., 0] + emission[:, beat]
    path = np.empty((rows, beats), dtype=np.intp)
    path[:, -1] = score.argmax(axis=1)
    every = np.arange(rows)
    for beat in range(beats - 1, 0, -1):
        path[:, beat - 1] = back[beat, every, path[:, beat]]
    return path


def _candidate_chroma(
    probs: NDArray[np.float32], cand: NDArray[Any], lowest_pitch: int, n_pitches: int
) -> NDArray[np.float32]:
    """``(rows, V, steps, 12)`` from the candidates' probabilities ``(rows, V, steps, k)``,
    each step's scaled to sum to at most 1 (one voice, one pitch)."""
    share = probs / np.maximum(probs.sum(axis=-1, keepdims=True), np.float32(1.0))
    one_hot = _class_one_hot(lowest_pitch, n_pitches)
    out: NDArray[np.float32] = np.einsum("...k,...kc->...c", share, one_hot[cand])
    return out


def chord_path(
    cand_logits: NDArray[Any], cand: NDArray[Any], stats: HarmonyStats, n_pitches: int
) -> NDArray[np.intp]:
    """The most likely chord of each beat, ``(rows, n_beats)``, from the frame logits
    ``(rows, n_voices, n_steps, k)`` of each voice's ``k`` candidate pitches ``cand`` (pitch
    indices, same shape; voices in ``stats.tracks`` order) of a model of ``n_pitches``."""
    probs = _sigmoid(cand_logits)
    chroma = _candidate_chroma(probs, cand, stats.lowest_pitch, n_pitches)
    return _path(chroma, stats, _tables(stats, n_pitches))


def harmony_lean(
    cand_logits: NDArray[Any], cand: NDArray[Any], stats: HarmonyStats, n_pitches: int
) -> NDArray[np.float32]:
    """The term to add to the candidates' frame logits (shapes as for :func:`chord_path`)
    so that each voice leans towards the beat's chord."""
    _, v, steps, _ = cand_logits.shape
    tables = _tables(stats, n_pitches)
    probs = _sigmoid(cand_logits)
    path = _path(_candidate_chroma(probs, cand, stats.lowest_pitch, n_pitches), stats, tables)
    spb = stats.steps_per_beat
    chord = path[:, None, np.arange(steps) // spb, None]  # (rows, 1, steps, 1)
    position = (np.arange(steps) % spb)[None, None, :, None]
    out = tables.bias[np.arange(v)[None, :, None, None], chord, position, cand]
    # The harmony chooses the pitch class, the generator the octave: a candidate further than
    # WINDOW semitones from where the generator's probabilities put the voice (their mean)
    # gets no bonus, only its penalty.
    centre = (probs * cand).sum(axis=-1) / np.maximum(probs.sum(axis=-1), np.float32(1e-6))
    far = np.abs(cand - centre[..., None]) > WINDOW
    np.minimum(out, np.float32(0.0), out=out, where=far)
    result: NDArray[np.float32] = out
    return result


def harmony_from_dict(data: dict[str, Any]) -> HarmonyStats:
    """The statistics of :meth:`HarmonyStats.to_dict` (``KeyError``, ``TypeError`` or
    ``ValueError`` when malformed; :func:`harmony_problems` checks the shapes)."""
    return HarmonyStats(
        tracks=tuple(int(t) for t in data["tracks"]),
        steps_per_beat=int(data["steps_per_beat"]),
        lowest_pitch=int(data["lowest_pitch"]),
        qualities=tuple(str(q) for q in data["qualities"]),
        tone=_nested(data["tone"]),
        quality=_nested(data["quality"]),
        change=_nested(data["change"]),
        weight=tuple(float(w) for w in data["weight"]),
    )


def harmony_problems(stats: HarmonyStats, tracks: tuple[int, ...], spec: PhraseSpec) -> list[str]:
    """What makes ``stats`` unusable with the voice ``tracks`` of a model of ``spec``."""
    problems = []
    q, spb = len(stats.qualities), spec.steps_per_beat
    if stats.tracks != tracks:
        problems.append(f"harmony: tracks {list(stats.tracks)} are not the voices {list(tracks)}")
    if stats.qualities != tuple(QUALITIES):
        problems.append(f"harmony: qualities {list(stats.qualities)}, expected {list(QUALITIES)}")
    if (stats.steps_per_beat, stats.lowest_pitch) != (spb, spec.lowest_pitch):
        problems.append(
            f"harmony: learned for {stats.steps_per_beat} steps per beat from pitch "
            f"{stats.lowest_pitch}, the model has {spb} from {spec.lowest_pitch}"
        )
    tables = {"tone": (len(tracks), q, spb, 12), "quality": (q,), "change": (q, q, 12)}
    for name, shape in tables.items():
        try:
            values = np.asarray(getattr(stats, name), dtype=np.float64)
        except ValueError:
            values = None
        if values is None or values.shape != shape:
            problems.append(f"harmony: {name} must be {' x '.join(map(str, shape))} numbers")
        elif not np.isfinite(values).all():
            problems.append(f"harmony: {name} holds a value that is not a finite number")
    weights = stats.weight
    if len(weights) != len(tracks) or not all(math.isfinite(w) and w >= 0 for w in weights):
        problems.append(f"harmony: weight must be a number >= 0 per voice, got {list(weights)}")
    return problems
