# SPDX-License-Identifier: MIT
"""The GAN's networks, configs and device choice: shapes, determinism, bar and track control."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
import torch

from engine.gan.config import ModelConfig, TrainConfig
from engine.gan.device import choose_device
from engine.gan.model import (
    DCGANDiscriminator,
    DCGANGenerator,
    HybridCritic,
    HybridGenerator,
    Latents,
    build_models,
    count_parameters,
    sample_latents,
)
from engine.pianoroll import PhraseSpec

SMALL = PhraseSpec(("Lead", "Drums"), (False, True), (0, 0), 4, 4, 2, 40, 24)  # 2x2x16x24
CHORALE = ModelConfig().spec  # 4 x 4 x 48 x 64


@pytest.fixture(autouse=True)
def _threads() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one code path for every run: bit-identical results
    yield
    torch.set_num_threads(threads)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _models(spec: PhraseSpec, arch: str, **overrides: Any) -> tuple[Any, Any]:
    return build_models(ModelConfig.for_spec(spec, arch, **overrides), seed=0)


# --- shapes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["hybrid", "dcgan"])
@pytest.mark.parametrize("spec", [SMALL, CHORALE], ids=["small", "chorale"])
def test_shapes_and_dtypes(arch: str, spec: PhraseSpec) -> None:
    generator, critic = _models(spec, arch)
    generator.eval()
    with torch.inference_mode():
        frames, onsets = generator(generator.sample_latents(3, _gen()))
        assert frames.shape == onsets.shape == (3, *spec.shape)
        assert frames.dtype == onsets.dtype == torch.float32
        assert torch.isfinite(frames).all()
        assert torch.isfinite(onsets).all()
        scores = critic(torch.sigmoid(frames), torch.sigmoid(onsets))
    assert scores.shape == (3,)
    assert scores.dtype == torch.float32


def test_default_config_is_the_chorale_hybrid_and_small() -> None:
    generator, critic = build_models(ModelConfig(), seed=0)
    assert isinstance(generator, HybridGenerator)
    assert isinstance(critic, HybridCritic)
    assert 150_000 <= count_parameters(generator) <= 400_000
    assert 200_000 <= count_parameters(critic) <= 400_000
    assert ModelConfig.for_spec(CHORALE) == ModelConfig()


def test_training_mode_batch_norm_updates_its_running_statistics() -> None:
    generator, _ = _models(SMALL, "hybrid")
    before = {k: v.clone() for k, v in generator.state_dict().items() if "running" in k}
    frames, onsets = generator(generator.sample_latents(4, _gen()))
    (frames.mean() + onsets.mean()).backward()
    after = generator.state_dict()
    assert before
    assert all(not torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is not None for p in generator.parameters())


def test_layer_norm_variant_runs() -> None:
    generator, _ = _models(SMALL, "hybrid", norm="layer", g_track_layers=5)
    frames, _ = generator(generator.sample_latents(2, _gen()))
    assert frames.shape == (2, *SMALL.shape)


# --- determinism --------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["hybrid", "dcgan"])
def test_same_seed_same_outputs(arch: str) -> None:
    results = []
    for _ in range(2):
        generator, _ = _models(SMALL, arch)
        generator.eval()
        with torch.inference_mode():
            results.append(generator(generator.sample_latents(4, _gen(7))))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])
    generator, _ = _models(SMALL, arch)
    other = generator.sample_latents(4, _gen(8))
    same = generator.sample_latents(4, _gen(7))
    assert not torch.equal(_first(other), _first(same))


def _first(latents: Latents | torch.Tensor) -> torch.Tensor:
    return latents.shared if isinstance(latents, Latents) else latents


def test_build_models_does_not_touch_the_global_rng() -> None:
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    build_models(ModelConfig.for_spec(SMALL), seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_sample_latents_shapes_and_standard_normal() -> None:
    config = ModelConfig()
    z = sample_latents(config, 512, _gen())
    assert z.shared.shape == (512, config.d_shared)
    assert z.shared_temporal.shape == (512, config.d_shared_temporal)
    assert z.private.shape == (512, 4, config.d_private)
    assert z.private_temporal.shape == (512, 4, config.d_private_temporal)
    assert abs(float(z.private.mean())) < 0.02
    assert abs(float(z.private.std()) - 1) < 0.02
    with pytest.raises(ValueError, match="dcgan"):
        sample_latents(ModelConfig.for_spec(SMALL, "dcgan"), 1, _gen())


# --- bar and track control of the hybrid --------------------------------------------------------
@pytest.fixture(scope="module")
def hybrid() -> HybridGenerator:
    generator, _ = build_models(ModelConfig(), seed=0)
    # Trained-looking batch-norm statistics, so that the test does not pass by accident.
    with torch.no_grad():
        for name, buffer in generator.named_buffers():
            buffer.copy_(torch.rand_like(buffer) + (0.5 if "var" in name else -0.5))
    assert isinstance(generator, HybridGenerator)
    return generator.eval()


@pytest.mark.parametrize("bar", [0, 2])
def test_changing_one_bar_changes_only_that_bar(hybrid: HybridGenerator, bar: int) -> None:
    with torch.inference_mode():
        latents = hybrid.sample_latents(3, _gen())
        inputs = hybrid.bar_latents(latents)
        assert inputs.shape == (3, 4, 4, hybrid.config.d_bar_input)
        edited = inputs.clone()
        edited[:, :, bar] = torch.randn(edited[:, :, bar].shape, generator=_gen(1))
        before = hybrid.generate_bars(inputs)
        after = hybrid.generate_bars(edited)
        assert torch.equal(hybrid(latents)[0], before[0])
    for x, y in zip(before, after, strict=True):
        others = [b for b in range(4) if b != bar]
        assert torch.equal(x[:, :, others], y[:, :, others])
        assert (x[:, :, bar] != y[:, :, bar]).any(dim=(-1, -2)).all()  # every track of the bar


@pytest.mark.parametrize("field", ["private", "private_temporal"])
def test_changing_one_tracks_latents_changes_only_that_track(
    hybrid: HybridGenerator, field: str
) -> None:
    track = 1
    with torch.inference_mode():
        latents = hybrid.sample_latents(3, _gen())
        value = getattr(latents, field).clone()
        value[:, track] = torch.randn(value[:, track].shape, generator=_gen(2))
        before = hybrid(latents)
        after = hybrid(latents.replace(**{field: value}))
    for x, y in zip(before, after, strict=True):
        others = [t for t in range(4) if t != track]
        assert torch.equal(x[:, others], y[:, others])
        assert (x[:, track] != y[:, track]).any(dim=(-1, -2)).all()  # every bar of the track


def test_changing_shared_latents_changes_every_track(hybrid: HybridGenerator) -> None:
    with torch.inference_mode():
        latents = hybrid.sample_latents(2, _gen())
        before = hybrid(latents)[0]
        after = hybrid(latents.replace(shared=latents.shared + 1))[0]
    assert (before != after).any(dim=(-1, -2)).all()


def test_generate_bars_regenerates_a_subset_of_bars(hybrid: HybridGenerator) -> None:
    with torch.inference_mode():
        inputs = hybrid.bar_latents(hybrid.sample_latents(2, _gen()))
        full = hybrid.generate_bars(inputs)
        part = hybrid.generate_bars(inputs[:, :, 1:3])
    assert part[0].shape == (2, 4, 2, 48, 64)
    torch.testing.assert_close(part[0], full[0][:, :, 1:3], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(part[1], full[1][:, :, 1:3], rtol=1e-5, atol=1e-5)


def test_wrong_latent_shapes_are_refused(hybrid: HybridGenerator) -> None:
    latents = hybrid.sample_latents(2, _gen())
    with pytest.raises(ValueError, match=r"Latents\.private must have shape"):
        hybrid(latents.replace(private=latents.private[:, :2]))
    with pytest.raises(ValueError, match="bar_latents must have shape"):
        hybrid.generate_bars(torch.zeros(2, 3, 4, hybrid.config.d_bar_input))


def test_latents_indexing_and_to(hybrid: HybridGenerator) -> None:
    latents = hybrid.sample_latents(4, _gen())
    assert latents[1].batch_size == 1
    assert torch.equal(latents[1:3].private, latents.private[1:3])
    assert latents.to("cpu").shared.device.type == "cpu"


# --- critic -------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["hybrid", "dcgan"])
def test_critic_gradients_are_per_sample(arch: str) -> None:
    _, critic = _models(SMALL, arch)
    frames = torch.rand(3, *SMALL.shape, requires_grad=True)
    onsets = torch.rand(3, *SMALL.shape, requires_grad=True)
    scores = critic(frames, onsets)
    grad_frames, grad_onsets = torch.autograd.grad(scores[1], (frames, onsets))
    for grad in (grad_frames, grad_onsets):
        assert grad[1].abs().sum() > 0
        assert grad[0].abs().sum() == 0
        assert grad[2].abs().sum() == 0
    # The gradient penalty: the input gradient's norm has a gradient in every parameter (but
    # the last bias, which does not change the input gradient).
    scores = critic(frames, onsets)
    grads = torch.autograd.grad(scores.sum(), (frames, onsets), create_graph=True)
    norm = torch.cat([g.flatten(1) for g in grads], dim=1).norm(dim=1)
    ((norm - 1) ** 2).mean().backward()
    last_bias = "out.bias" if arch == "hybrid" else "dense.bias"
    for name, parameter in critic.named_parameters():
        assert (parameter.grad is not None) == (name != last_bias), name


def test_critic_refuses_wrong_shapes() -> None:
    _, critic = _models(SMALL, "hybrid")
    with pytest.raises(ValueError, match="frames must have shape"):
        critic(torch.zeros(2, 2, 2, 16, 20), torch.zeros(2, *SMALL.shape))


# --- the DCGAN baseline -------------------------------------------------------------------------
def test_dcgan_follows_the_seed_design() -> None:
    generator, critic = build_models(ModelConfig.for_spec(CHORALE, "dcgan"), seed=0)
    assert isinstance(generator, DCGANGenerator)
    assert isinstance(critic, DCGANDiscriminator)
    # time 4 * 48 = 192 -> 24, pitch 64 -> 8: Dense -> Reshape(24, 8, 128).
    assert generator.dense.out_features == 24 * 8 * 128
    assert (generator.height, generator.width) == (24, 8)
    assert [m.out_channels for m in (generator.up1, generator.up2, generator.up3)] == [128, 64, 8]
    assert [m.out_channels for m in (critic.conv1, critic.conv2)] == [64, 128]
    z = generator.sample_latents(2, _gen())
    assert z.shape == (2, 128)
    frames, onsets = generator.generate(z)
    assert frames.shape == onsets.shape == (2, *CHORALE.shape)


def test_dcgan_tracks_and_planes_are_the_output_channels() -> None:
    generator, _ = _models(SMALL, "dcgan")
    image = {}

    def keep(_module: Any, _args: Any, output: torch.Tensor) -> None:
        image["x"] = output

    generator.up3.register_forward_hook(keep)
    frames, onsets = generator(generator.sample_latents(2, _gen()))
    x = image["x"]  # (B, 2T, time, pitch)
    assert x.shape == (2, 4, 32, 24)
    assert torch.equal(frames[:, 1].reshape(2, 32, 24), x[:, 1])
    assert torch.equal(onsets[:, 0].reshape(2, 32, 24), x[:, 2])


def test_dcgan_needs_divisibility_by_8() -> None:
    spec = PhraseSpec(("a",), (False,), (0,), 3, 4, 2, 40, 24)  # time 24, pitch 24: fine
    ModelConfig.for_spec(spec, "dcgan")
    spec = PhraseSpec(("a",), (False,), (0,), 3, 4, 1, 40, 24)  # time 12
    with pytest.raises(ValueError, match=r"divisible by 8.*n_bars \* n_steps_per_bar = 12"):
        ModelConfig.for_spec(spec, "dcgan")
    spec = PhraseSpec(("a",), (False,), (0,), 4, 4, 2, 40, 20)
    with pytest.raises(ValueError, match="n_pitches = 20"):
        ModelConfig.for_spec(spec, "dcgan")


# --- configs ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "config",
    [ModelConfig(), ModelConfig.for_spec(SMALL, "dcgan"), ModelConfig.for_spec(SMALL)],
    ids=["chorale", "small-dcgan", "small-hybrid"],
)
def test_model_config_round_trips_through_json(config: ModelConfig) -> None:
    data = json.loads(json.dumps(config.to_dict()))
    assert ModelConfig.from_dict(data) == config
    assert ModelConfig.from_dict(data).spec == config.spec


def test_train_config_round_trips_through_json() -> None:
    config = TrainConfig(lr_g=2e-4, betas=(0.5, 0.99), transpose_range=(0, 0), amp=True)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert TrainConfig().betas == (0.5, 0.9)
    assert TrainConfig().resolved_loss("dcgan") == "bce"
    assert TrainConfig().resolved_loss("hybrid") == "wgan-gp"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bogus": 1}, "unknown field.*'bogus'"),
        ({"d_shared": None}, r"ModelConfig\.d_shared must be an integer"),
        ({"d_shared": True}, r"ModelConfig\.d_shared must be an integer"),
        ({"arch": "vae"}, r"ModelConfig\.arch must be one of"),
        ({"norm": "group"}, r"ModelConfig\.norm must be one of"),
        ({"g_layers": [["tempo", 4, 8]]}, r"ModelConfig\.g_layers\[0\]\[0\]"),
        ({"g_layers": [["time", 4]]}, r"ModelConfig\.g_layers\[0\] must be a list of 3"),
        ({"g_out_layer": ["pitch", 5]}, r"g_layers/g_out_layer: the pitch factors.*n_pitches"),
        ({"d_layers": [["time", 5, 8]]}, r"d_layers: the time factors.*n_steps_per_bar"),
        ({"programs": [0, 0, 0, 200]}, r"ModelConfig\.programs\[3\]"),
        ({"is_drum": [False]}, "PhraseSpec"),
        ({"leaky_slope": 1.0}, r"ModelConfig\.leaky_slope"),
        ({"g_track_layers": 9}, r"ModelConfig\.g_track_layers must be at most 5"),
    ],
)
def test_model_config_errors_name_the_field(change: dict[str, Any], message: str) -> None:
    data = ModelConfig().to_dict()
    data.update(change)
    with pytest.raises(ValueError, match=message):
        ModelConfig.from_dict(data)


def test_missing_fields_are_named() -> None:
    data = ModelConfig().to_dict()
    del data["n_bars"]
    with pytest.raises(ValueError, match=r"missing field.*'n_bars'"):
        ModelConfig.from_dict(data)
    data = TrainConfig().to_dict()
    del data["gp_weight"]
    with pytest.raises(ValueError, match=r"TrainConfig: missing field.*'gp_weight'"):
        TrainConfig.from_dict(data)
    with pytest.raises(ValueError, match="JSON object"):
        TrainConfig.from_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr_g": 0}, r"TrainConfig\.lr_g"),
        ({"lr_d": "fast"}, r"TrainConfig\.lr_d"),
        ({"betas": [0.5]}, r"TrainConfig\.betas must be a list of 2"),
        ({"betas": [0.5, 1.0]}, r"TrainConfig\.betas\[1\]"),
        ({"batch_size": 0}, r"TrainConfig\.batch_size"),
        ({"n_critic": 2.5}, r"TrainConfig\.n_critic"),
        ({"amp": 1}, r"TrainConfig\.amp must be true or false"),
        ({"transpose_range": [1, 5]}, r"TrainConfig\.transpose_range\[0\]"),
        ({"loss": "hinge"}, r"TrainConfig\.loss"),
        ({"gp_weight": float("nan")}, r"TrainConfig\.gp_weight must be a finite number"),
    ],
)
def test_train_config_errors_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict({**TrainConfig().to_dict(), **change})


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ModelConfig().n_bars = 8  # type: ignore[misc]


def test_for_spec_refuses_unknown_overrides() -> None:
    with pytest.raises(ValueError, match=r"unknown field.*'width'"):
        ModelConfig.for_spec(SMALL, width=3)


# --- device -------------------------------------------------------------------------------------
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_choice_on_a_cpu_only_machine() -> None:
    assert choose_device() == torch.device("cpu")
    assert choose_device("auto") == torch.device("cpu")
    assert choose_device(" CPU ") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"device 'cuda' is not available: no CUDA"):
        choose_device("cuda")
    with pytest.raises(ValueError, match=r"device 'cuda:1' is not available: no CUDA"):
        choose_device("cuda:1")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="device 'mps' is not available"):
            choose_device("mps")


@pytest.mark.parametrize("name", ["tpu", "cuda:x", "gpu", ""])
def test_unknown_device_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=f"unknown device {name!r}"):
        choose_device(name)


def test_configs_written_before_the_chroma_stream_still_load_as_they_were() -> None:
    data = ModelConfig().to_dict()
    del data["d_chroma_features"]
    assert ModelConfig.from_dict(data).d_chroma_features == 0
    train = TrainConfig().to_dict()
    del train["straight_through_from"]
    assert TrainConfig.from_dict(train).straight_through_from == -1
    with pytest.raises(ValueError, match="d_chroma_features"):
        ModelConfig.from_dict({**ModelConfig().to_dict(), "d_chroma_features": -1})


def test_the_chroma_stream_hears_pitch_classes_not_octaves() -> None:
    config = ModelConfig(d_chroma_features=16)
    torch.manual_seed(0)
    critic = HybridCritic(config)
    assert critic.chroma is not None
    b, t, n, s, p = 2, config.n_tracks, config.n_bars, config.spec.n_steps_per_bar, 64
    frames = torch.zeros(b, t, n, s, p)
    frames[:, 0, :, 0:4, 20] = 1.0  # one pitch, then the same an octave up, then a semitone up
    up_octave = torch.roll(frames, 12, dims=-1)
    up_semitone = torch.roll(frames, 1, dims=-1)
    onsets = frames.clone()
    with torch.no_grad():
        base = critic.chroma(frames, onsets)
        octave = critic.chroma(up_octave, torch.roll(onsets, 12, dims=-1))
        semitone = critic.chroma(up_semitone, torch.roll(onsets, 1, dims=-1))
        assert base.shape == (b, n, 16)
        assert torch.equal(base, octave)
        assert not torch.equal(base, semitone)
        assert critic(frames, onsets).shape == (b,)
    plain = HybridCritic(ModelConfig())
    assert plain.chroma is None
    assert count_parameters(critic) > count_parameters(plain)
