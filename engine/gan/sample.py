# SPDX-License-Identifier: MIT
"""Phrases from a trained checkpoint, as the bool rolls datasets and metrics use."""

from __future__ import annotations

import os

import numpy as np
import torch
from numpy.typing import NDArray

from engine.gan.checkpoint import load_checkpoint
from engine.gan.device import choose_device
from engine.generation.decode import binarize as binarize_phrases
from engine.generation.settings import OutputSettings
from engine.generation.voices import VoiceStats, load_voices
from engine.pianoroll import PhraseSpec


def binarize(
    frame_logits: torch.Tensor, onset_logits: torch.Tensor
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Hard threshold at probability 0.5 (logit 0); an onset counts only where a note sounds."""
    frames = (frame_logits > 0).cpu().numpy()
    onsets = (onset_logits > 0).cpu().numpy() & frames
    return frames, onsets


def sample_logits(
    folder: str | os.PathLike[str],
    n: int,
    seed: int = 0,
    device: str | None = None,
    batch_size: int = 256,
) -> tuple[NDArray[np.float32], NDArray[np.float32], PhraseSpec]:
    """The frame and onset logits of ``n`` phrases from seeded latents (as
    :func:`sample_checkpoint` draws them), shape ``(n, *spec.shape)``, for tuning decoding."""
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
            f, o = generator.generate(latents)
            frames.append(f.float().cpu().numpy())
            onsets.append(o.float().cpu().numpy())
    return np.concatenate(frames), np.concatenate(onsets), loaded.config.spec


def decode_logits(
    frame_logits: NDArray[np.float32],
    onset_logits: NDArray[np.float32],
    spec: PhraseSpec,
    voices: VoiceStats | None,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Planes from a batch of logits as the app decodes them at its default settings
    (:func:`engine.generation.decode.binarize` with the default ``OutputSettings``: threshold
    0.5, and the voice tracks as lines when ``voices`` is given)."""
    unused = np.random.default_rng(0)  # binarize draws only with a temperature
    return binarize_phrases(frame_logits, onset_logits, spec, OutputSettings(), unused, voices)


def sample_checkpoint(
    folder: str | os.PathLike[str],
    n: int,
    seed: int = 0,
    device: str | None = None,
    batch_size: int = 256,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], PhraseSpec]:
    """``n`` phrases generated from the checkpoint in ``folder`` from seeded latents.

    Returns ``(frames, onsets, spec)``, planes of shape ``(n, *spec.shape)``. The same
    checkpoint, ``n`` and ``seed`` give the same phrases on one device. They are decoded as
    the app decodes them (:func:`decode_logits`), with the folder's own ``decoding.json`` if
    it has one.
    """
    frame_logits, onset_logits, spec = sample_logits(folder, n, seed, device, batch_size)
    voices = load_voices(folder, spec)
    frames, onsets = decode_logits(frame_logits, onset_logits, spec, voices)
    return frames, onsets, spec
