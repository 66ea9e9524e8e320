# SPDX-License-Identifier: MIT
"""Inpainting: latents whose generated piece agrees with what the composer locked.

The locks become a target and a weight per grid cell (:func:`constraints`): a locked note's
cells should sound (and its first cell start a note); inside a locked bar or track every other
cell should stay silent. Several latent restarts are optimised together with Adam
(:func:`fit`): a weighted cross-entropy between the generator's logits and the target, plus a
small pull towards the standard-normal prior so the latents stay where the generator was
trained. The restart that agrees best wins; the composer then fills the unlocked part from it
and puts the locked notes back exactly (:func:`engine.generation.locking.enforce_locks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor

from engine.gan.model import HybridGenerator
from engine.generation import latents as lat
from engine.generation.errors import GenerationCancelled
from engine.generation.settings import Locks
from engine.music import Pattern
from engine.pianoroll import PhraseSpec, PianoRoll, pattern_to_roll, track_note_steps

BoolArray = NDArray[np.bool_]
#: Called as ``progress(done, total)`` after each unit of work; returning False cancels.
Progress = Callable[[int, int], bool]


@dataclass(frozen=True, slots=True, eq=False)
class Constraints:
    """Per-cell targets, shape ``(n_tracks, n_bars, n_steps_per_bar, n_pitches)``.

    Attributes
    ----------
    frames, onsets : bool arrays
        What each constrained cell should be.
    mask : bool array
        Which cells are constrained (locked notes' cells, and every cell of locked bars and
        tracks).
    note_cells : list of (track, flat start, length, pitch index)
        The locked notes in the grid, to count how many the model played whole.
    unconstrained_notes : int
        Locked notes outside the grid's pitch range.
    """

    frames: BoolArray
    onsets: BoolArray
    mask: BoolArray
    note_cells: list[tuple[int, int, int, int]]
    unconstrained_notes: int


def constraints(pattern: Pattern, locks: Locks, spec: PhraseSpec) -> Constraints:
    """The cells that ``locks`` fix in ``pattern`` (whose tracks are the model's)."""
    n_bars = pattern.n_bars
    shape = (spec.n_tracks, n_bars, spec.n_steps_per_bar, spec.n_pitches)
    whole = pattern_to_roll(pattern, spec.grid)
    frames = np.zeros(shape, dtype=bool)
    onsets = np.zeros(shape, dtype=bool)
    mask = np.zeros(shape, dtype=bool)
    regions = np.zeros(shape[:2], dtype=bool)  # (track, bar) cells locked whole
    for t in locks.tracks:
        if t < spec.n_tracks:
            regions[t] = True
    for b in locks.bars:
        if b < n_bars:
            regions[:, b] = True
    frames[regions] = whole.roll.frames[regions]
    onsets[regions] = whole.roll.onsets[regions]
    mask[regions] = True
    bar = pattern.bar_ticks
    unconstrained = sum(
        1
        for t, n in whole.out_of_range
        if t < spec.n_tracks and regions[t, min(n.start // bar, n_bars - 1)]
    )
    note_cells: list[tuple[int, int, int, int]] = []
    if locks.notes:
        only = Pattern(
            [
                track.with_notes(n for i, n in locks.notes if i == t)
                for t, track in enumerate(pattern.tracks)
            ],
            n_bars=n_bars,
            ticks_per_quarter=pattern.ticks_per_quarter,
            time_signature=pattern.time_signature,
            tempo_us=pattern.tempo_us,
        )
        enc = pattern_to_roll(only, spec.grid)
        unconstrained += len(enc.out_of_range)
        frames |= enc.roll.frames
        onsets |= enc.roll.onsets
        mask |= enc.roll.frames
        # Onset cells of locked notes are constrained (a repeated note must start again).
        mask |= enc.roll.onsets
        for t in range(spec.n_tracks):
            pitch, start, length = track_note_steps(enc.roll, t)
            note_cells.extend(
                (t, int(s), int(n), int(p)) for p, s, n in zip(pitch, start, length, strict=True)
            )
    if locks.tracks or locks.bars:
        for t in range(spec.n_tracks):
            pitch, start, length = _region_notes(whole.roll, t, regions[t], spec.n_steps_per_bar)
            note_cells.extend(
                (t, int(s), int(n), int(p)) for p, s, n in zip(pitch, start, length, strict=True)
            )
    return Constraints(frames, onsets, mask, note_cells, unconstrained)


def _region_notes(
    roll: PianoRoll, track: int, bars: NDArray[np.bool_], n_steps: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The notes of ``track`` that start in the bars marked in ``bars``."""
    if not bars.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    pitch, start, length = track_note_steps(roll, track)
    inside = bars[start // n_steps]
    return pitch[inside], start[inside], length[inside]


def fit(
    generator: HybridGenerator,
    start: lat.PieceLatents,
    n_bars: int,
    target: Constraints,
    steps: int,
    lr: float = 0.15,
    prior_weight: float = 0.02,
    progress: Progress | None = None,
) -> tuple[lat.PieceLatents, Tensor, Tensor, Tensor]:
    """Optimise the ``B`` restarts of ``start`` towards the constraints.

    Returns the optimised latents, the frame and onset logits of every restart (``(B, T, n,
    S, P)``, no grad) and each restart's final constraint loss ``(B,)``.

    ``progress``, if given, is called after each Adam step as ``progress(done, steps)`` (the
    restarts run together, so ``done`` counts steps: 1, 2, ..., ``steps``); when it returns
    False the optimisation stops there and :class:`GenerationCancelled` is raised. It only
    observes: the result is the same with or without it.

    Raises
    ------
    GenerationCancelled
        When ``progress`` returned False.
    """
    device = generator.device
    params = [x.detach().clone().to(device).requires_grad_(True) for x in start.fields()]
    mask = torch.from_numpy(target.mask).to(device)
    tf = torch.from_numpy(target.frames).to(device=device, dtype=torch.float32)
    to = torch.from_numpy(target.onsets).to(device=device, dtype=torch.float32)
    # Sounding cells are rare: weight them as much as all silent ones together.
    on = mask & (tf > 0.5)
    n_on = int(on.sum())
    n_off = int(mask.sum()) - n_on
    w_on = 0.5 / max(n_on, 1)
    w_off = 0.5 / max(n_off, 1) if n_on else 1.0 / max(n_off, 1)
    weight = torch.where(on, w_on, torch.where(mask, w_off, 0.0))
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = torch.zeros(start.batch_size, device=device)
    total = max(steps, 0)
    for step in range(total):
        latents = lat.PieceLatents(*params)
        frame_logits, onset_logits = generator.generate_bars(
            lat.bar_inputs(generator, latents, n_bars)
        )
        losses = _constraint_loss(frame_logits, onset_logits, tf, to, weight)
        prior = sum((p.square().flatten(1).mean(1) for p in params), torch.zeros_like(losses))
        optimizer.zero_grad(set_to_none=True)
        (losses + prior_weight * prior).sum().backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if progress is not None and progress(step + 1, total) is False:
            raise GenerationCancelled(step + 1, total)
    with torch.no_grad():
        latents = lat.PieceLatents(*(p.detach() for p in params))
        frame_logits, onset_logits = generator.generate_bars(
            lat.bar_inputs(generator, latents, n_bars)
        )
        losses = _constraint_loss(frame_logits, onset_logits, tf, to, weight)
    return latents, frame_logits, onset_logits, losses


def _constraint_loss(
    frame_logits: Tensor, onset_logits: Tensor, tf: Tensor, to: Tensor, weight: Tensor
) -> Tensor:
    frames = F.binary_cross_entropy_with_logits(
        frame_logits, tf.expand_as(frame_logits), reduction="none"
    )
    onsets = F.binary_cross_entropy_with_logits(
        onset_logits, to.expand_as(onset_logits), reduction="none"
    )
    # Onsets matter where a note sounds in the target (a silent cell's onset is ignored).
    onset_weight = weight * (tf > 0.5)
    total = (frames * weight).flatten(1).sum(1) + 0.5 * (onsets * onset_weight).flatten(1).sum(1)
    return total


def agreement(frames: BoolArray, target: Constraints) -> tuple[int, float, int, float, float]:
    """``(on cells, recall, off cells, specificity, note recall)`` of generated ``frames``."""
    on = target.mask & target.frames
    off = target.mask & ~target.frames
    n_on, n_off = int(on.sum()), int(off.sum())
    recall = float(frames[on].mean()) if n_on else 1.0
    specificity = float((~frames[off]).mean()) if n_off else 1.0
    if target.note_cells:
        t_shape = frames.shape
        flat = frames.reshape(t_shape[0], -1, t_shape[3])
        whole = [bool(flat[t, s : s + n, p].all()) for t, s, n, p in target.note_cells]
        note_recall = float(np.mean(whole))
    else:
        note_recall = 1.0
    return n_on, recall, n_off, specificity, note_recall
