# SPDX-License-Identifier: MIT
"""Fixtures shared by the engine tests: a tiny random hybrid model saved as a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.gan.checkpoint import save_checkpoint
from engine.gan.config import ModelConfig
from engine.gan.model import build_models
from engine.pianoroll import PhraseSpec

SPEC = PhraseSpec(
    track_names=("Soprano", "Alto", "Tenor", "Bass"),
    is_drum=(False, False, False, False),
    programs=(52, 52, 52, 52),
    steps_per_beat=4,
    beats_per_bar=4,
    n_bars=4,
    lowest_pitch=28,
    n_pitches=64,
)


def tiny_config(spec: PhraseSpec = SPEC) -> ModelConfig:
    return ModelConfig.for_spec(
        spec,
        d_shared=8,
        d_shared_temporal=8,
        d_private=8,
        d_private_temporal=8,
        d_temporal_hidden=16,
        d_bar_temporal=8,
        g_base_channels=16,
        g_layers=(("time", 4, 16), ("time", 4, 8), ("pitch", 2, 8)),
        d_layers=(("pitch", 4, 8), ("time", 4, 8), ("pitch", 4, 8), ("time", 4, 8)),
        d_bar_features=16,
        d_hidden=16,
        g_out_bias=-1.0,
    )


def save_tiny_model(folder: Path, seed: int = 0, spec: PhraseSpec = SPEC) -> Path:
    config = tiny_config(spec)
    generator, _ = build_models(config, seed=seed)
    generator.eval()
    return save_checkpoint(folder, generator, None, config)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint folder of a tiny random hybrid (chorale-shaped phrases at 4 steps per beat,
    no critic), shared by the session: do not modify it."""
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like :func:`tiny_model_dir`, with other weights."""
    return save_tiny_model(tmp_path_factory.mktemp("models") / "other", seed=1)
