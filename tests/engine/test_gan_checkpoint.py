# SPDX-License-Identifier: MIT
"""Checkpoints: exact round trips of weights and training state; refusal of anything else."""

from __future__ import annotations

import json
import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.gan.checkpoint import (
    TRAINING_FILE,
    TRAINING_JSON,
    CheckpointError,
    TrainingState,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from engine.gan.config import ModelConfig, TrainConfig
from engine.gan.files import CONFIG_FILE, WEIGHTS_FILE
from engine.gan.model import build_models
from engine.pianoroll import PhraseSpec

SMALL = PhraseSpec(("Lead", "Bass"), (False, False), (0, 33), 4, 4, 2, 40, 24)


@pytest.fixture(autouse=True)
def _threads() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _train_two_steps(config: ModelConfig) -> tuple[Any, Any, torch.optim.Adam, torch.optim.Adam]:
    generator, critic = build_models(config, seed=0)
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), lr=2e-3, betas=(0.5, 0.9))
    gen = torch.Generator().manual_seed(0)
    for _ in range(2):
        frames, onsets = generator(generator.sample_latents(4, gen))
        loss_d = critic(torch.sigmoid(frames.detach()), torch.sigmoid(onsets.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = -critic(torch.sigmoid(frames), torch.sigmoid(onsets)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return generator, critic, opt_g, opt_d


@pytest.mark.parametrize("arch", ["hybrid", "dcgan"])
def test_round_trip_is_exact(tmp_path: Path, arch: str) -> None:
    config = ModelConfig.for_spec(SMALL, arch)
    generator, critic, opt_g, opt_d = _train_two_steps(config)
    numpy_rng = np.random.default_rng(3)
    numpy_rng.random(5)
    random.seed(11)
    torch.manual_seed(12)
    training = TrainingState(
        step=2,
        optimizers={"generator": opt_g.state_dict(), "critic": opt_d.state_dict()},
        rng=capture_rng(numpy_rng),
        extra={"train": TrainConfig().to_dict(), "losses": (0.5, -1.25), "kept": np.arange(3)},
    )
    expected_draws = (numpy_rng.random(), random.random(), torch.rand(1))
    folder = save_checkpoint(tmp_path / "step-2", generator, critic, config, training)
    assert sorted(os.listdir(folder)) == sorted(
        [CONFIG_FILE, WEIGHTS_FILE, TRAINING_FILE, TRAINING_JSON]
    )
    assert os.listdir(tmp_path) == ["step-2"]  # no temporary folder left behind

    loaded = load_checkpoint(folder)
    assert loaded.config == config
    assert not loaded.generator.training
    assert loaded.critic is not None
    generator.eval()
    latents = generator.sample_latents(3, torch.Generator().manual_seed(5))
    with torch.inference_mode():
        for x, y in zip(generator(latents), loaded.generator(latents), strict=True):
            assert torch.equal(x, y)
        x = torch.rand(2, *SMALL.shape)
        assert torch.equal(critic(x, x), loaded.critic(x, x))

    # Optimizers: fresh ones take the loaded state and match the saved ones exactly.
    state = loaded.training
    assert state is not None
    assert state.step == 2
    fresh_g = torch.optim.Adam(loaded.generator.parameters(), lr=0.1)
    fresh_d = torch.optim.Adam(loaded.critic.parameters(), lr=0.1)
    fresh_g.load_state_dict(state.optimizers["generator"])
    fresh_d.load_state_dict(state.optimizers["critic"])
    for saved, restored in ((opt_g, fresh_g), (opt_d, fresh_d)):
        a, b = saved.state_dict(), restored.state_dict()
        assert a["param_groups"] == b["param_groups"]
        assert a["state"].keys() == b["state"].keys()
        for index, values in a["state"].items():
            assert values.keys() == b["state"][index].keys()
            for key, value in values.items():
                assert torch.equal(value, b["state"][index][key]), (index, key)
    assert state.extra["losses"] == (0.5, -1.25)
    assert state.extra["train"] == TrainConfig().to_dict()
    assert np.array_equal(state.extra["kept"], np.arange(3))

    # RNGs: restoring gives the same draws as right after the capture.
    other = np.random.default_rng(99)
    random.seed(0)
    torch.manual_seed(0)
    restore_rng(state.rng, other)
    assert (other.random(), random.random(), torch.rand(1)) == expected_draws


def test_load_without_critic_and_replacing_a_checkpoint(tmp_path: Path) -> None:
    config = ModelConfig.for_spec(SMALL)
    generator, critic = build_models(config, seed=0)
    save_checkpoint(tmp_path / "ckpt", generator, critic, config)
    generator2, _ = build_models(config, seed=1)
    save_checkpoint(tmp_path / "ckpt", generator2, None, config)  # replaces the folder whole
    assert sorted(os.listdir(tmp_path / "ckpt")) == [CONFIG_FILE, WEIGHTS_FILE]
    assert os.listdir(tmp_path) == ["ckpt"]
    loaded = load_checkpoint(tmp_path / "ckpt", device="cpu", with_critic=False)
    assert loaded.critic is None
    assert loaded.training is None
    for name, value in generator2.state_dict().items():
        assert torch.equal(value, loaded.generator.state_dict()[name])
    with pytest.raises(CheckpointError, match=r"critic\..* missing"):
        load_checkpoint(tmp_path / "ckpt")


def test_save_refuses_to_replace_a_folder_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "song.mid").write_bytes(b"MThd")
    config = ModelConfig.for_spec(SMALL)
    generator, critic = build_models(config, seed=0)
    with pytest.raises(ValueError, match="not a checkpoint folder"):
        save_checkpoint(tmp_path / "music", generator, critic, config)
    assert (tmp_path / "music" / "song.mid").exists()
    with pytest.raises(ValueError, match="config differs"):
        save_checkpoint(tmp_path / "x", generator, critic, ModelConfig())


# --- refusals -----------------------------------------------------------------------------------
@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    config = ModelConfig.for_spec(SMALL)
    generator, critic = build_models(config, seed=0)
    opt = torch.optim.Adam(generator.parameters())
    training = TrainingState(step=0, optimizers={"generator": opt.state_dict()})
    return save_checkpoint(tmp_path / "ckpt", generator, critic, config, training)


class _Marker:
    """Unpickling this creates the file ``path`` (as a malicious pickle would run code)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def test_a_pickle_is_refused_without_being_unpickled(checkpoint: Path, tmp_path: Path) -> None:
    # The marker works: unpickling it creates its file.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Marker(probe))).close()
    assert probe.exists()
    marker = tmp_path / "marker"
    weights = checkpoint / WEIGHTS_FILE
    torch.save({"generator.weight": torch.zeros(3), "payload": _Marker(marker)}, weights)
    with pytest.raises(CheckpointError, match=r"torch\.save.*pickle") as info:
        load_checkpoint(checkpoint)
    assert info.value.path == str(weights)
    assert not marker.exists()
    # A bare pickle (no zip around it) too.
    weights.write_bytes(pickle.dumps({"payload": _Marker(marker)}, protocol=4))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(checkpoint)
    assert not marker.exists()


@pytest.mark.parametrize("keep", [0, 5, 40, -100])
def test_a_truncated_weights_file_is_refused(checkpoint: Path, keep: int) -> None:
    weights = checkpoint / WEIGHTS_FILE
    data = weights.read_bytes()
    weights.write_bytes(data[:keep])
    with pytest.raises(CheckpointError, match="truncated") as info:
        load_checkpoint(checkpoint)
    assert info.value.path == str(weights)
    assert WEIGHTS_FILE in str(info.value)


def test_a_truncated_training_file_is_refused(checkpoint: Path) -> None:
    path = checkpoint / TRAINING_FILE
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="truncated") as info:
        load_checkpoint(checkpoint)
    assert info.value.path == str(path)


def test_a_file_that_is_not_safetensors_is_refused(checkpoint: Path) -> None:
    (checkpoint / WEIGHTS_FILE).write_bytes(b"hello, this is not a tensor file")
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_checkpoint(checkpoint)


@pytest.mark.parametrize("name", [WEIGHTS_FILE, CONFIG_FILE, TRAINING_JSON])
def test_a_missing_file_is_named(checkpoint: Path, name: str) -> None:
    (checkpoint / name).unlink()
    with pytest.raises(CheckpointError, match="missing") as info:
        load_checkpoint(checkpoint)
    assert info.value.path == str(checkpoint / name)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        load_checkpoint(tmp_path / "nothing")


def test_bad_json_is_refused(checkpoint: Path) -> None:
    path = checkpoint / CONFIG_FILE
    path.write_text('{"format": "barforge-checkpoint",', encoding="utf-8")
    with pytest.raises(CheckpointError, match="not valid JSON") as info:
        load_checkpoint(checkpoint)
    assert info.value.path == str(path)
    assert CONFIG_FILE in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 2}, "format version 2; this Barforge .* reads version 1"),
        ({"format_version": None}, "format version None"),
        ({"format": "something-else"}, "is not a barforge-checkpoint file"),
    ],
)
def test_wrong_format_is_refused(checkpoint: Path, change: dict[str, Any], message: str) -> None:
    path = checkpoint / CONFIG_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(change)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(checkpoint)
    assert info.value.path == str(path)


def test_a_bad_model_config_is_refused(checkpoint: Path) -> None:
    path = checkpoint / CONFIG_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["d_shared"] = "big"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"bad model config: ModelConfig\.d_shared"):
        load_checkpoint(checkpoint)


def test_weights_that_do_not_match_the_config_are_refused(checkpoint: Path) -> None:
    path = checkpoint / CONFIG_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["d_shared"] = 16  # the saved weights were made with 32
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CheckpointError, match="does not match the model") as info:
        load_checkpoint(checkpoint)
    assert info.value.path == str(checkpoint / WEIGHTS_FILE)
    reason = info.value.reason
    assert (
        "1 mismatch(es): generator.bar_generator.0.weight is torch.float32 (1, 128, 128)" in reason
    )
    data["model"]["d_hidden"] = 64
    data["model"]["d_temporal_hidden"] = 64
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        CheckpointError, match=r"18 mismatch\(es\): generator\.shared_temporal.* \(and 13 more\)"
    ) as info:
        load_checkpoint(checkpoint)


def test_missing_and_unexpected_weights_are_listed(checkpoint: Path, tmp_path: Path) -> None:
    import safetensors.torch

    path = checkpoint / WEIGHTS_FILE
    tensors = safetensors.torch.load(path.read_bytes())
    del tensors["generator.bar_generator.0.bias"]
    tensors["generator.extra"] = torch.zeros(2)
    path.write_bytes(safetensors.torch.save(tensors))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(checkpoint)
    assert "generator.bar_generator.0.bias missing" in info.value.reason
    assert "generator.extra not in the model" in info.value.reason
