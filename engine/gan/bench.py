# SPDX-License-Identifier: MIT
"""``barforge bench model``: generator latency, training throughput and memory.

- *generator latency*: one forward pass of the generator in eval mode under
  ``torch.inference_mode`` for 1 and for 16 phrases (fresh latents each call), median and p95
  of ``repeats`` calls after a warm-up;
- *training throughput*: real phrases consumed per second by full training steps
  (``n_critic`` critic steps with the gradient penalty, then one generator step) on random
  real-shaped batches, and the FLOP/s those steps reach, counted by torch's FLOP counter, as a
  share of the device's measured peak (the best of a few large float32 matrix products);
- *peak memory*: the process's peak resident memory (and, on CUDA, the peak allocated by torch).

The models are freshly initialised: speed does not depend on the weights.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from engine.gan.config import ModelConfig, TrainConfig
from engine.gan.device import choose_device
from engine.gan.losses import critic_loss, generator_loss
from engine.gan.model import build_models, count_parameters


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _times(action: Callable[[], object], repeats: int, device: torch.device) -> list[float]:
    out = []
    for _ in range(repeats):
        _sync(device)
        began = time.perf_counter()
        action()
        _sync(device)
        out.append(time.perf_counter() - began)
    return out


class _FlopCount(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Counts the FLOPs of the matrix products and convolutions run inside it, with torch's
    own formulas (``flop_registry``). torch's FlopCounterMode cannot be used here: its
    per-module hooks refuse ``autograd.grad``, which the gradient penalty calls."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.total = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += int(formula(*args, **kwargs, out_val=out))
        return out


def peak_matmul_flops(device: torch.device, size: int = 2048, repeats: int = 5) -> float:
    """The best float32 FLOP/s of a ``size`` x ``size`` matrix product on ``device``."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    best = min(_times(lambda: a @ b, repeats, device))
    return 2 * size**3 / best


def bench_config(arch: str, model: str | None) -> ModelConfig:
    """The architecture to measure: the config of the model in folder ``model`` (default: the
    shipped default model, else the built-in chorale config), as ``arch``."""
    from engine.gan.checkpoint import read_config
    from engine.models import default_model_dir

    folder = Path(model) if model is not None else default_model_dir()
    if model is not None or (folder / "config.json").exists():
        base = read_config(folder)
    else:
        base = ModelConfig()
    if base.arch == arch:
        return base
    return ModelConfig.for_spec(base.spec, arch)


def run(
    arch: str,
    device_name: str | None,
    repeats: int,
    train_steps: int,
    batch_size: int,
    model: str | None = None,
    n_critic: int = 5,
) -> dict[str, Any]:
    """Measure and return the figures for the model shape of ``model`` (see
    :func:`bench_config`) as ``arch``."""
    device = choose_device(device_name)
    config = bench_config(arch, model)
    settings = TrainConfig(batch_size=batch_size, n_critic=n_critic)
    generator, critic = build_models(config, seed=0, device=device)
    generator.eval()
    latency: dict[str, dict[str, float]] = {}
    with torch.inference_mode():
        for n in (1, 16):
            for _ in range(10):
                generator.generate(generator.sample_latents(n))

            def call(n: int = n) -> object:
                return generator.generate(generator.sample_latents(n))

            times = _times(call, repeats, device)
            latency[str(n)] = {
                "median_ms": 1000 * statistics.median(times),
                "p95_ms": 1000 * float(np.percentile(times, 95)),
            }

    generator.train()
    critic.train()
    loss = settings.resolved_loss(arch)
    n_critic = settings.n_critic if loss == "wgan-gp" else 1
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=settings.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=settings.betas)
    shape = (batch_size, *config.spec.shape)
    real = (
        (torch.rand(shape, device=device) < 0.03).float(),
        (torch.rand(shape, device=device) < 0.01).float(),
    )

    def fake() -> tuple[torch.Tensor, torch.Tensor]:
        frames, onsets = generator.generate(generator.sample_latents(batch_size))
        return torch.sigmoid(frames), torch.sigmoid(onsets)

    def step() -> None:
        for _ in range(n_critic):
            with torch.no_grad():
                f = fake()
            d_loss, _ = critic_loss(loss, critic, real, f, settings.gp_weight)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()  # type: ignore[no-untyped-call]
            opt_d.step()
        g_loss, _ = generator_loss(loss, critic, fake())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()  # type: ignore[no-untyped-call]
        opt_g.step()

    step()  # warm-up
    counter = _FlopCount()
    with counter:
        step()
    flops_per_step = float(counter.total)
    step_times = _times(step, train_steps, device)
    seconds = statistics.median(step_times)
    peak = peak_matmul_flops(device)
    phrases_per_step = batch_size * n_critic
    figures: dict[str, Any] = {
        "arch": arch,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "parameters": {
            "generator": count_parameters(generator),
            "critic": count_parameters(critic),
        },
        "phrase_shape": list(config.spec.shape),
        "generator_latency": latency,
        "training": {
            "batch_size": batch_size,
            "n_critic": n_critic,
            "loss": loss,
            "step_seconds_median": seconds,
            "generator_steps_per_second": 1 / seconds,
            "real_phrases_per_second": phrases_per_step / seconds,
            "flops_per_step": flops_per_step,
            "achieved_flops_per_second": flops_per_step / seconds,
            "peak_matmul_flops_per_second": peak,
            "share_of_peak": flops_per_step / seconds / peak,
        },
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if device.type == "cuda":
        figures["peak_cuda_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return figures


def report(f: dict[str, Any]) -> str:
    t = f["training"]
    lat = f["generator_latency"]
    params = f["parameters"]
    lines = [
        f"bench model: {f['arch']} on {f['device']} ({f['threads']} threads), phrases "
        f"{' x '.join(map(str, f['phrase_shape']))}, G {params['generator']:,} / "
        f"D {params['critic']:,} parameters",
        f"  generator, 1 phrase:   median {lat['1']['median_ms']:.2f} ms, "
        f"p95 {lat['1']['p95_ms']:.2f} ms",
        f"  generator, 16 phrases: median {lat['16']['median_ms']:.2f} ms, "
        f"p95 {lat['16']['p95_ms']:.2f} ms",
        f"  training ({t['loss']}, batch {t['batch_size']}, {t['n_critic']} critic steps per "
        f"G step): {t['step_seconds_median']:.3f} s a step, "
        f"{t['real_phrases_per_second']:,.0f} real phrases/s",
        f"  {t['achieved_flops_per_second'] / 1e9:.2f} GFLOP/s of a measured matmul peak of "
        f"{t['peak_matmul_flops_per_second'] / 1e9:.1f} GFLOP/s = {100 * t['share_of_peak']:.1f}%",
        f"  peak memory: {f['peak_rss_mib']:.0f} MiB resident"
        + (
            f", {f['peak_cuda_allocated_mib']:.0f} MiB on the GPU"
            if "peak_cuda_allocated_mib" in f
            else ""
        ),
    ]
    return "\n".join(lines)


def main(
    arch: str,
    device: str | None,
    repeats: int,
    train_steps: int,
    batch_size: int,
    json_path: str | None,
    model: str | None = None,
    n_critic: int = 5,
) -> int:
    figures = run(arch, device, repeats, train_steps, batch_size, model, n_critic)
    print(report(figures))
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
    return 0
