# SPDX-License-Identifier: MIT
"""Phrases from a trained checkpoint, as the bool rolls datasets and metrics use."""

from __future__ import annotations

import os

import numpy as np
import torch
from numpy.typing import NDArray

from engine.gan.checkpoint import load_checkpoint
from engine.gan.device import choose_device
from engine.pianoroll import PhraseSpec


def binarize(
    frame_logits: torch.Tensor, onset_logits: torch.Tensor
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Hard threshold at probability 0.5 (logit 0); an onset counts only where a note sounds."""
    frames = (frame_logits > 0).cpu().numpy()
    onsets = (onset_logits > 0).cpu().numpy() & frames
    return frames, onsets


def sample_checkpoint(
    folder: str | os.PathLike[str],
    n: int,
    seed: int = 0,
    device: str | None = None,
    batch_size: int = 256,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], PhraseSpec]:
    """``n`` phrases generated from the checkpoint in ``folder`` from seeded latents.

    Returns ``(frames, onsets, spec)``, planes of shape ``(n, *spec.shape)``. The same
    checkpoint, ``n`` and ``seed`` give the same phrases on one device.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    chosen = choose_device(device)
    loaded = load_checkpoint(folder, device=chosen, with_critic=False)
    generator = loaded.generator
    rng = torch.Generator().manual_seed(seed)
    frames, onsets = [], []
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            latents = generator.sample_latents(min(batch_size, n - start), rng, chosen)
            f, o = binarize(*generator.generate(latents))
            frames.append(f)
            onsets.append(o)
    return np.concatenate(frames), np.concatenate(onsets), loaded.config.spec
