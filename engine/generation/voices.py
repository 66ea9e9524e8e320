# SPDX-License-Identifier: MIT
"""Decoding a monophonic voice as a line: the most likely sequence of held, struck and
silent steps under how the training data's voices move, instead of a threshold per cell.

A threshold decides every (step, pitch) cell on its own, so a held note whose probability
dips for one step breaks in two, two neighbouring pitches that both pass the threshold sound
together, and a stray onset restrikes a held note. A real voice does none of that often, and
how often it does is measured on the training phrases (:func:`learn_voices`):

- from a sounding step: the next step continues the pitch, strikes it again, moves to
  another pitch (by each interval, as often as the voice moves by it) or rests;
- from a silent step: the next is silent again or a note starts (on each pitch, as often as
  the voice uses it).

:func:`decode_voices` then finds, per track, the path of states (rest; pitch *p* struck;
pitch *p* held on) that maximises ``sum(emission) + weight * sum(log transition)``: the
emission of pitch *p* at a step is its frame logit minus the threshold's logit plus
``sound_bias``, plus ``onset_weight * log sigmoid(onset logit)`` when struck or
``onset_weight * log sigmoid(-onset logit)`` when held; a rest scores 0. ``weight`` balances
the generator against the voice statistics, ``onset_weight`` its onset plane, and
``sound_bias`` how sure the generator must be of silence before the voice rests (the
generator's frame probabilities dip below 0.5 on steps where a real voice still sounds); all
three are tuned per track on validation phrases (``barforge pick``). The search keeps the
:data:`BEAM` most likely pitches of each step (the generator puts almost all of a voice's
probability on a few), which makes it exact Viterbi over ``2 * BEAM + 1`` states per step.

A model folder carries what was learned in ``decoding.json``; tracks that are not monophonic
in the data (and drum tracks) keep the threshold. numpy only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.atomic import write_bytes_atomically
from engine.generation.harmony import (
    HarmonyStats,
    harmony_from_dict,
    harmony_lean,
    harmony_problems,
)
from engine.pianoroll import PhraseSpec

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: The weights :func:`learn_voices` starts with (``barforge pick`` tunes them per track).
DEFAULT_WEIGHT = 0.25
DEFAULT_ONSET_WEIGHT = 0.25
#: Candidate pitches per step that the search keeps. On the shipped model's 1,000 validation
#: phrases, 4, 5, 6 and 8 gave identical lines on every track; 4 is the fastest.
BEAM = 4
#: File of a model folder that holds the voice decoding.
DECODING_FILE = "decoding.json"
FORMAT = "barforge-decoding"
FORMAT_VERSION = 3
#: Versions :func:`load_voices` reads (version 1 had no ``sound_bias``: 0 for every voice;
#: versions 1 and 2 had no ``harmony``: each voice decoded on its own).
READS_VERSIONS = (1, 2, 3)
#: A track is a voice when at most this share of its sounding steps hold more than one pitch.
MAX_CHORD_SHARE = 0.01
#: Added to every count before the logarithm, so nothing the data never showed is impossible.
_PRIOR = 0.5
_NEVER = -1e9


class DecodingError(ValueError):
    """A ``decoding.json`` that cannot be used (names the file and the reason)."""


@dataclass(frozen=True, slots=True)
class VoiceStats:
    """How each voice track of a data set moves from step to step (natural logarithms).

    Per voice track (in ``tracks`` order): ``hold``, ``strike`` (the same pitch struck
    again), ``move`` (another pitch) and ``rest``, the log probabilities of what follows a
    sounding step; ``interval[d + n_pitches - 1]``, the log probability of moving by ``d``
    semitones given a move; ``stay_silent`` and ``start``, what follows a silent step;
    ``pitch[p]``, the log probability of pitch index ``p`` given a note starts after silence.
    ``weight`` (per voice track) scales every transition term in the search,
    ``onset_weight`` the onset plane's term, and ``sound_bias`` is added to the emission of
    every sounding state (so a higher one makes the voice rest less).
    """

    tracks: tuple[int, ...]
    n_pitches: int
    hold: tuple[float, ...]
    strike: tuple[float, ...]
    move: tuple[float, ...]
    rest: tuple[float, ...]
    stay_silent: tuple[float, ...]
    start: tuple[float, ...]
    interval: tuple[tuple[float, ...], ...]
    pitch: tuple[tuple[float, ...], ...]
    weight: tuple[float, ...] = ()
    onset_weight: tuple[float, ...] = ()
    sound_bias: tuple[float, ...] = ()
    harmony: HarmonyStats | None = None

    def with_weights(
        self,
        weight: float | Sequence[float],
        onset_weight: float | Sequence[float],
        sound_bias: float | Sequence[float] = 0.0,
    ) -> VoiceStats:
        """The same statistics searched with other weights: one for every voice, or one each."""
        n = len(self.tracks)

        def each(value: float | Sequence[float]) -> tuple[float, ...]:
            values = (float(value),) * n if isinstance(value, int | float) else tuple(value)
            if len(values) != n:
                raise ValueError(f"{n} voice tracks need {n} weights, got {len(values)}")
            return tuple(float(v) for v in values)

        return dataclasses.replace(
            self,
            weight=each(weight),
            onset_weight=each(onset_weight),
            sound_bias=each(sound_bias),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracks": list(self.tracks),
            "n_pitches": self.n_pitches,
            "hold": list(self.hold),
            "strike": list(self.strike),
            "move": list(self.move),
            "rest": list(self.rest),
            "stay_silent": list(self.stay_silent),
            "start": list(self.start),
            "interval": [list(row) for row in self.interval],
            "pitch": [list(row) for row in self.pitch],
            "weight": list(self.weight),
            "onset_weight": list(self.onset_weight),
            "sound_bias": list(self.sound_bias),
            "harmony": None if self.harmony is None else self.harmony.to_dict(),
        }

    def with_harmony(self, harmony: HarmonyStats | None) -> VoiceStats:
        """The same voices, leaning on ``harmony`` (None: each voice on its own)."""
        if harmony is not None and harmony.tracks != self.tracks:
            raise ValueError(
                f"the harmony was learned for tracks {list(harmony.tracks)}, "
                f"the voices are {list(self.tracks)}"
            )
        return dataclasses.replace(self, harmony=harmony)


def _log(counts: Any) -> FloatArray:
    c = np.asarray(counts, dtype=np.float64) + _PRIOR
    out: FloatArray = np.log(c / c.sum())
    return out


def learn_voices(frames: BoolArray, onsets: BoolArray, spec: PhraseSpec) -> VoiceStats:
    """Step statistics of every monophonic pitched track of phrases
    ``(n, n_tracks, n_bars, n_steps_per_bar, n_pitches)`` (the training split)."""
    n, t, b, s, p = frames.shape
    flat = frames.reshape(n, t, b * s, p)
    flat_onsets = onsets.reshape(n, t, b * s, p)
    sounding: BoolArray = np.asarray(flat.any(axis=-1))  # (n, t, steps)
    chords: BoolArray = np.asarray(flat.sum(axis=-1) > 1)
    tracks, stats = [], []
    for track in range(t):
        if spec.is_drum[track] or not sounding[:, track].any():
            continue
        if chords[:, track].sum() > MAX_CHORD_SHARE * sounding[:, track].sum():
            continue
        # The top sounding pitch of each step (the voice), -1 when silent.
        top = np.where(sounding[:, track], p - 1 - np.argmax(flat[:, track, :, ::-1], -1), -1)
        struck = np.take_along_axis(flat_onsets[:, track], np.maximum(top, 0)[..., None], -1)[
            ..., 0
        ]
        a, z = top[:, :-1].ravel(), top[:, 1:].ravel()
        hit = struck[:, 1:].ravel()
        on = a >= 0
        same = on & (z == a)
        counts = [
            np.count_nonzero(same & ~hit),
            np.count_nonzero(same & hit),
            np.count_nonzero(on & (z >= 0) & (z != a)),
            np.count_nonzero(on & (z < 0)),
        ]
        moves = (z - a)[on & (z >= 0) & (z != a)]
        interval = np.bincount(moves + p - 1, minlength=2 * p - 1).astype(np.float64)
        interval[p - 1] = 0.0
        interval_log = _log(interval)
        interval_log[p - 1] = _NEVER  # a move is to another pitch
        after_silence = [np.count_nonzero(~on & (z < 0)), np.count_nonzero(~on & (z >= 0))]
        first = top[:, 0]
        entered = np.concatenate([z[~on & (z >= 0)], first[first >= 0]])
        tracks.append(track)
        stats.append(
            (
                _log(counts),
                _log(after_silence),
                interval_log,
                _log(np.bincount(entered, minlength=p)),
            )
        )
    return VoiceStats(
        tracks=tuple(tracks),
        n_pitches=p,
        hold=tuple(float(c[0][0]) for c in stats),
        strike=tuple(float(c[0][1]) for c in stats),
        move=tuple(float(c[0][2]) for c in stats),
        rest=tuple(float(c[0][3]) for c in stats),
        stay_silent=tuple(float(c[1][0]) for c in stats),
        start=tuple(float(c[1][1]) for c in stats),
        interval=tuple(tuple(float(v) for v in c[2]) for c in stats),
        pitch=tuple(tuple(float(v) for v in c[3]) for c in stats),
        weight=(DEFAULT_WEIGHT,) * len(tracks),
        onset_weight=(DEFAULT_ONSET_WEIGHT,) * len(tracks),
        sound_bias=(0.0,) * len(tracks),
    )


def _log_sigmoid(x: NDArray[Any]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = -np.logaddexp(np.float32(0.0), -np.asarray(x, dtype=np.float32))
    return out


def _decode_rows(
    frame_logits: NDArray[Any],
    onset_logits: NDArray[Any],
    stats: VoiceStats,
    voice: NDArray[np.int64],
    cut: float,
    harmony: tuple[NDArray[Any], NDArray[Any]] | None = None,
) -> tuple[BoolArray, BoolArray]:
    """Viterbi over ``(rows, steps, n_pitches)`` logits; row ``r`` is a line of the voice
    ``voice[r]`` (an index into ``stats.tracks``). ``harmony``: the candidate pitches
    ``(rows, steps, BEAM)`` (still those the generator rates highest) and the harmony's term
    for each, added to their frame logits (the harmony chooses among them)."""
    rows, steps, p = frame_logits.shape
    k = min(BEAM, p)
    f32 = np.float32
    w = np.asarray(stats.weight, dtype=f32)[voice]  # (rows,)
    onset_weight = np.asarray(stats.onset_weight, dtype=f32)[voice][:, None, None]
    sound_bias = stats.sound_bias or (0.0,) * len(stats.tracks)
    bias = np.asarray(sound_bias, dtype=f32)[voice][:, None, None] - f32(cut)
    every = np.arange(rows)
    if harmony is None:
        cand = _candidates(frame_logits)  # (rows, steps, k)
        f = np.take_along_axis(frame_logits, cand, -1).astype(f32) + bias
    else:
        cand, lean = harmony
        f = np.take_along_axis(frame_logits, cand, -1).astype(f32) + bias + lean
    o = np.take_along_axis(onset_logits, cand, -1).astype(f32)
    n_states = 2 * k + 1  # struck 0..k-1, held k..2k-1, rest 2k
    emission = np.empty((rows, steps, n_states), dtype=f32)
    emission[..., :k] = f + onset_weight * _log_sigmoid(o)
    emission[..., k : 2 * k] = f + onset_weight * _log_sigmoid(-o)
    emission[..., 2 * k] = 0.0

    def per_row(name: str) -> NDArray[np.float32]:
        out: NDArray[np.float32] = w * np.asarray(getattr(stats, name), dtype=f32)[voice]
        return out

    interval = w[:, None] * np.asarray(stats.interval, dtype=f32)[voice]  # (rows, 2p - 1)
    pitch = w[:, None] * np.asarray(stats.pitch, dtype=f32)[voice]  # (rows, p)
    hold, strike, move, rest = (per_row(n) for n in ("hold", "strike", "move", "rest"))
    silent, start = per_row("stay_silent"), per_row("start")
    # Struck and held steps of a pitch lead to the same places, so the search keeps, per
    # candidate pitch, the better of the two ("from" pitch i = state i or k + i) and the rest.
    # Transitions from those k + 1 to the 2k + 1 states: (rows, steps - 1, k + 1, 2k + 1).
    a, z = cand[:, :-1, :, None], cand[:, 1:, None, :]
    same = a == z
    r = every[:, None, None, None]
    trans = np.empty((rows, steps - 1, k + 1, n_states), dtype=f32)
    trans[:, :, :k, :k] = np.where(
        same, strike[:, None, None, None], move[:, None, None, None] + interval[r, z - a + p - 1]
    )
    trans[:, :, :k, k : 2 * k] = np.where(same, hold[:, None, None, None], _NEVER)
    trans[:, :, :k, 2 * k] = rest[:, None, None]
    trans[:, :, k, :k] = start[:, None, None] + pitch[every[:, None, None], cand[:, 1:]]
    trans[:, :, k, k : 2 * k] = _NEVER
    trans[:, :, k, 2 * k] = silent[:, None]
    score = emission[:, 0].copy()
    score[:, :k] += start[:, None] + pitch[every[:, None], cand[:, 0]]
    score[:, k : 2 * k] = _NEVER  # nothing is held before the phrase starts
    score[:, 2 * k] += silent
    back = np.empty((steps, rows, n_states), dtype=np.intp)  # the "from" index, 0..k
    held_better = np.empty((steps, rows, k), dtype=np.bool_)
    collapsed = np.empty((rows, k + 1), dtype=f32)
    for step in range(1, steps):
        np.greater(score[:, k : 2 * k], score[:, :k], out=held_better[step - 1])
        np.maximum(score[:, :k], score[:, k : 2 * k], out=collapsed[:, :k])
        collapsed[:, k] = score[:, 2 * k]
        total = collapsed[:, :, None] + trans[:, step - 1]  # (rows, k + 1, 2k + 1)
        back[step] = total.argmax(axis=1)
        score = total.max(axis=1) + emission[:, step]
    state = np.empty((rows, steps), dtype=np.intp)
    state[:, -1] = score.argmax(axis=1)
    for step in range(steps - 1, 0, -1):
        came = back[step, every, state[:, step]]  # a candidate index, or k for the rest
        pitch_state = np.minimum(came, k - 1)
        held = held_better[step - 1, every, pitch_state]
        state[:, step - 1] = np.where(came == k, 2 * k, came + k * held)
    frames = np.zeros((rows, steps, p), dtype=np.bool_)
    onsets = np.zeros((rows, steps, p), dtype=np.bool_)
    chosen = np.take_along_axis(cand, (state % k)[..., None], -1)[..., 0]
    row, at = np.nonzero(state < 2 * k)
    frames[row, at, chosen[row, at]] = True
    row, at = np.nonzero(state < k)
    onsets[row, at, chosen[row, at]] = True
    return frames, onsets


def _candidates(frame_logits: NDArray[Any]) -> NDArray[np.intp]:
    """The :data:`BEAM` pitches with the highest logits at each step (last axis)."""
    k = min(BEAM, frame_logits.shape[-1])
    out: NDArray[np.intp] = np.argpartition(-frame_logits, k - 1, axis=-1)[..., :k]
    return out


#: Rows decoded at once (bounds the memory of the transition tables).
_ROWS = 256


def decode_voices(
    frame_logits: NDArray[Any],
    onset_logits: NDArray[Any],
    stats: VoiceStats,
    frames: BoolArray,
    onsets: BoolArray,
    cut: float = 0.0,
) -> None:
    """Overwrite (in place) the planes of the voice tracks with their decoded lines.

    ``frame_logits``/``onset_logits`` and the planes have shape ``(..., n_tracks, n_bars,
    n_steps_per_bar, n_pitches)`` (one phrase, or a batch); ``cut`` is the threshold's
    logit (0 for 0.5), so a higher threshold makes rests likelier, as it does for cells.
    """
    *lead, _t, b, s, p = frame_logits.shape
    if p != stats.n_pitches:
        raise DecodingError(
            f"the voice decoding was learned for {stats.n_pitches} pitches, the model has {p}"
        )
    if not stats.tracks:
        return
    tracks = list(stats.tracks)
    # (lead..., voices, steps, p) -> rows of (voice, phrase) lines, all decoded together.
    by_voice = np.moveaxis(frame_logits[..., tracks, :, :, :], -4, 0)
    n_lines = by_voice.size // (len(tracks) * b * s * p)
    voice = np.repeat(np.arange(len(tracks)), n_lines)
    fl = by_voice.reshape(-1, b * s, p)
    ol = np.moveaxis(onset_logits[..., tracks, :, :, :], -4, 0).reshape(-1, b * s, p)
    harmony = None
    if stats.harmony is not None and stats.harmony.active:
        cand = _candidates(fl)
        k = cand.shape[-1]

        def by_phrase(rows: NDArray[Any]) -> NDArray[Any]:
            return rows.reshape(len(tracks), n_lines, b * s, k).transpose(1, 0, 2, 3)

        lean = harmony_lean(
            by_phrase(np.take_along_axis(fl, cand, -1)), by_phrase(cand), stats.harmony, p
        )
        harmony = (cand, lean.transpose(1, 0, 2, 3).reshape(cand.shape))
    out_f = np.empty(fl.shape, dtype=np.bool_)
    out_o = np.empty(fl.shape, dtype=np.bool_)
    for first in range(0, len(fl), _ROWS):
        part = slice(first, first + _ROWS)
        out_f[part], out_o[part] = _decode_rows(
            fl[part], ol[part], stats, voice[part], cut,
            None if harmony is None else (harmony[0][part], harmony[1][part]),
        )  # fmt: skip
    shape = (len(tracks), *lead, b, s, p)
    frames[..., tracks, :, :, :] = np.moveaxis(out_f.reshape(shape), 0, -4)
    onsets[..., tracks, :, :, :] = np.moveaxis(out_o.reshape(shape), 0, -4)


# --- the file -----------------------------------------------------------------------------


def save_voices(folder: str | os.PathLike[str], stats: VoiceStats) -> Path:
    """Write ``folder/decoding.json`` atomically; returns its path."""
    path = Path(folder) / DECODING_FILE
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "voices": stats.to_dict()}
    write_bytes_atomically(path, (json.dumps(document, indent=1) + "\n").encode())
    return path


def load_voices(folder: str | os.PathLike[str], spec: PhraseSpec) -> VoiceStats | None:
    """The voice decoding of a model folder, or None when it has none (threshold decoding).

    Raises
    ------
    DecodingError
        When the file is unreadable, not this format, or does not fit the model ``spec``.
    """
    path = Path(folder) / DECODING_FILE
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DecodingError(f"{path}: cannot be read as JSON ({e})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DecodingError(f"{path}: not a Barforge voice decoding (no format {FORMAT!r})")
    if document.get("format_version") not in READS_VERSIONS:
        raise DecodingError(
            f"{path}: format_version {document.get('format_version')!r}; this Barforge reads "
            f"{', '.join(map(str, READS_VERSIONS))}"
        )
    try:
        stats = _stats_from(document["voices"])
    except (KeyError, TypeError, ValueError) as e:
        raise DecodingError(f"{path}: the voices are malformed ({e})") from None
    p = spec.n_pitches
    problems = []
    if stats.n_pitches != p:
        problems.append(f"learned for {stats.n_pitches} pitches, the model has {p}")
    if any(not 0 <= t < spec.n_tracks or spec.is_drum[t] for t in stats.tracks):
        problems.append(f"tracks {list(stats.tracks)} are not all pitched tracks of the model")
    if any(len(row) != 2 * p - 1 for row in stats.interval) or any(
        len(row) != p for row in stats.pitch
    ):
        problems.append("the interval or pitch tables have the wrong length")
    for name in ("weight", "onset_weight"):
        values = getattr(stats, name)
        if len(values) != len(stats.tracks) or not all(math.isfinite(v) and v >= 0 for v in values):
            problems.append(f"{name} must be a number >= 0 per voice track, got {list(values)}")
    if len(stats.sound_bias) != len(stats.tracks) or not all(
        math.isfinite(v) for v in stats.sound_bias
    ):
        problems.append(
            f"sound_bias must be a number per voice track, got {list(stats.sound_bias)}"
        )
    if stats.harmony is not None:
        problems += harmony_problems(stats.harmony, stats.tracks, spec)
    if problems:
        raise DecodingError(f"{path}: {'; '.join(problems)}")
    return stats


def _stats_from(data: dict[str, Any]) -> VoiceStats:
    n = len(data["tracks"])

    def floats(key: str) -> tuple[float, ...]:
        values = tuple(float(v) for v in data[key])
        if len(values) != n:
            raise ValueError(f"{key!r} has {len(values)} values for {n} tracks")
        return values

    def tables(key: str) -> tuple[tuple[float, ...], ...]:
        rows = tuple(tuple(float(v) for v in row) for row in data[key])
        if len(rows) != n:
            raise ValueError(f"{key!r} has {len(rows)} rows for {n} tracks")
        return rows

    return VoiceStats(
        tracks=tuple(int(t) for t in data["tracks"]),
        n_pitches=int(data["n_pitches"]),
        hold=floats("hold"),
        strike=floats("strike"),
        move=floats("move"),
        rest=floats("rest"),
        stay_silent=floats("stay_silent"),
        start=floats("start"),
        interval=tables("interval"),
        pitch=tables("pitch"),
        weight=tuple(float(v) for v in data["weight"]),
        onset_weight=tuple(float(v) for v in data["onset_weight"]),
        # Version 1 files have none: no bias.
        sound_bias=tuple(float(v) for v in data.get("sound_bias", [0.0] * n)),
        # Versions 1 and 2 have none.
        harmony=None if data.get("harmony") is None else _harmony_from(data["harmony"]),
    )


def _harmony_from(data: Any) -> HarmonyStats:
    try:
        return harmony_from_dict(data)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"harmony: {e!r}") from None
