# SPDX-License-Identifier: MIT
"""From the generator's logits to notes: key constraint, threshold or sampling, shortest note,
velocities, and the :class:`~engine.music.Pattern` that the app edits and plays.

numpy only (no torch): the composer hands over logits as arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.generation.settings import OutputSettings
from engine.generation.voices import VoiceStats, decode_voices
from engine.music import DEFAULT_TEMPO_US, Pattern
from engine.pianoroll import PhraseSpec, PianoRoll, RollGrid, roll_to_pattern, track_note_steps

FloatArray = NDArray[np.float32]
BoolArray = NDArray[np.bool_]


def key_mask(spec: PhraseSpec, settings: OutputSettings) -> BoolArray | None:
    """``(n_tracks, n_pitches)``: where a note may sound under the settings' key; None: all."""
    classes = settings.pitch_classes()
    if classes is None:
        return None
    pitches = np.arange(spec.lowest_pitch, spec.lowest_pitch + spec.n_pitches)
    allowed = np.isin(pitches % 12, sorted(classes))
    mask = np.broadcast_to(allowed, (spec.n_tracks, spec.n_pitches)).copy()
    mask[np.asarray(spec.is_drum, dtype=bool)] = True  # drums have no key
    return mask


def binarize(
    frame_logits: FloatArray,
    onset_logits: FloatArray,
    spec: PhraseSpec,
    settings: OutputSettings,
    rng: np.random.Generator,
    voices: VoiceStats | None = None,
    lines: tuple[BoolArray, BoolArray] | None = None,
) -> tuple[BoolArray, BoolArray]:
    """Frames and onsets, shape ``(n_tracks, n_bars, n_steps_per_bar, n_pitches)``.

    The threshold (or, with a temperature, a seeded draw) decides each cell; an onset counts
    only where a note sounds; cells outside the key are silent; notes shorter than
    ``min_note_steps`` are removed. With ``voices`` (the model's ``decoding.json``) and no
    temperature, the voice tracks are decoded as lines instead
    (:func:`engine.generation.voices.decode_voices`), the threshold making rests likelier or
    rarer; a temperature draws every cell as before. ``lines``: this phrase's part of what
    :func:`voice_lines` found for a batch (the same result, searched once for all phrases).
    Planes with a leading batch axis work too, as long as ``min_note_steps`` is 1.
    """
    if settings.temperature > 0:
        # One draw per cell from rng, frames first: the same rng state gives the same notes.
        p_frames = _sigmoid(frame_logits / settings.temperature)
        p_onsets = _sigmoid(onset_logits / settings.temperature)
        frames = rng.random(p_frames.shape, dtype=np.float32) < p_frames
        onsets = rng.random(p_onsets.shape, dtype=np.float32) < p_onsets
    else:
        cut = np.float32(np.log(settings.threshold / (1.0 - settings.threshold)))
        frames = frame_logits > cut
        onsets = onset_logits > cut
    onsets &= frames
    mask = key_mask(spec, settings)
    if lines is None:
        lines = voice_lines(frame_logits, onset_logits, spec, settings, voices)
    if lines is not None and voices is not None:
        tracks = list(voices.tracks)
        frames[..., tracks, :, :, :] = lines[0][..., tracks, :, :, :]
        onsets[..., tracks, :, :, :] = lines[1][..., tracks, :, :, :]
    if mask is not None:
        frames &= mask[:, None, None, :]
        onsets &= frames
    if settings.min_note_steps > 1:
        drop_short_notes(frames, onsets, settings.min_note_steps)
    return frames, onsets


def voice_lines(
    frame_logits: FloatArray,
    onset_logits: FloatArray,
    spec: PhraseSpec,
    settings: OutputSettings,
    voices: VoiceStats | None,
) -> tuple[BoolArray, BoolArray] | None:
    """The voice tracks decoded as lines (:func:`engine.generation.voices.decode_voices`) for
    logits of shape ``(..., n_tracks, n_bars, n_steps_per_bar, n_pitches)`` (one phrase or a
    batch, searched together), outside the key silent; None where :func:`binarize` draws or
    thresholds instead (no voices, or a temperature). Only the voice tracks are filled in."""
    if voices is None or not voices.tracks or settings.temperature > 0:
        return None
    cut = float(np.log(settings.threshold / (1.0 - settings.threshold)))
    mask = key_mask(spec, settings)
    allowed = (
        frame_logits
        if mask is None
        else np.where(mask[:, None, None, :], frame_logits, np.float32(-1e4))
    )
    frames = np.zeros(frame_logits.shape, dtype=np.bool_)
    onsets = np.zeros(frame_logits.shape, dtype=np.bool_)
    decode_voices(allowed, onset_logits, voices, frames, onsets, cut)
    return frames, onsets


def drop_short_notes(frames: BoolArray, onsets: BoolArray, min_steps: int) -> None:
    """Clear (in place) every note shorter than ``min_steps`` steps, read as
    :func:`~engine.pianoroll.roll_to_pattern` reads notes."""
    n_tracks, n_bars, n_steps, n_pitches = frames.shape
    total = n_bars * n_steps
    grid = PianoRoll(
        frames, onsets, np.zeros(frames.shape, np.uint8), RollGrid(n_steps, 0, n_pitches)
    )
    for t in range(n_tracks):
        pitch, start, length = track_note_steps(grid, t)
        short = length < min_steps
        if not short.any():
            continue
        flat_frames = frames[t].reshape(total, n_pitches)
        flat_onsets = onsets[t].reshape(total, n_pitches)
        for p, s, n in zip(pitch[short], start[short], length[short], strict=True):
            flat_frames[s : s + n, p] = False
            flat_onsets[s, p] = False
        # (A note ends where its pitch stops or at the next onset, so whatever followed a
        # removed note keeps its own start.)


def note_starts(frames: BoolArray, onsets: BoolArray) -> BoolArray:
    """Where notes start, as :func:`~engine.pianoroll.roll_to_pattern` reads them: an onset in
    a sounding cell, or a cell that sounds after a silent one."""
    n_tracks, n_bars, n_steps, n_pitches = frames.shape
    flat = frames.reshape(n_tracks, n_bars * n_steps, n_pitches)
    previous = np.zeros_like(flat)
    previous[:, 1:] = flat[:, :-1]
    starts = (flat & ~previous).reshape(frames.shape)
    return starts | (onsets & frames)


def velocities(
    frames: BoolArray,
    onsets: BoolArray,
    spec: PhraseSpec,
    settings: OutputSettings,
    rng: np.random.Generator,
) -> NDArray[np.uint8]:
    """The velocity plane, set where notes start: ``base_velocity``, or humanized (an accent
    on each beat, a stronger one on the bar's first beat, and a seeded spread of a few
    steps)."""
    out = np.zeros(frames.shape, dtype=np.uint8)
    starts = note_starts(frames, onsets)
    if settings.velocity == "fixed":
        out[starts] = settings.base_velocity
        return out
    base = np.full(frames.shape[2], float(settings.base_velocity))
    base[:: spec.steps_per_beat] += 6.0
    base[0] += 6.0
    jitter = rng.normal(0.0, 5.0, size=frames.shape)
    values = np.clip(np.rint(base[None, None, :, None] + jitter), 1, 127).astype(np.uint8)
    out[starts] = values[starts]
    return out


def to_pattern(
    frames: BoolArray,
    onsets: BoolArray,
    velocity_plane: NDArray[np.uint8],
    spec: PhraseSpec,
    tempo_us: int = DEFAULT_TEMPO_US,
) -> Pattern:
    """The notes of the planes, in a pattern with the model's tracks."""
    roll = PianoRoll(frames, onsets, velocity_plane, spec.grid)
    return roll_to_pattern(roll, spec.template(frames.shape[1], tempo_us))


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)
    return out
