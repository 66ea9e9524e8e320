# SPDX-License-Identifier: MIT
"""``barforge train``: adversarial training with checkpoints, samples and exact resume.

A run folder holds:

- ``checkpoints/step-NNNNNNN/``: a checkpoint every ``checkpoint_every`` generator steps (and
  when the run ends or is interrupted), with the optimizer and RNG states, so that a run
  resumes where it stopped and continues exactly as if it had not (on the same device);
- ``samples/step-NNNNNNN/``: four phrases from fixed latents as MIDI files and a piano-roll
  PNG, to hear and see the model improve;
- ``log.jsonl``: one JSON line of losses per checkpoint.

Running the same command again resumes from the newest checkpoint that loads (a damaged
newest one, from a crash in the middle of writing, is passed over with a message). Ctrl-C
(SIGINT) or SIGTERM finishes the step under way, writes a checkpoint and stops, so at most the
steps since the last checkpoint are lost after a crash and none after Ctrl-C; a second Ctrl-C
stops at once. (The signal only sets a flag: an exception raised wherever the signal lands can
be swallowed, e.g. inside a garbage-collection callback, and the run would go on.)

Data-parallel training: launched by ``torchrun --nproc-per-node N -m engine.cli train ...``
(and ``--nnodes``/``--rdzv-endpoint`` across machines), every process holds a replica of the
models, draws its own batches and latents, and the gradients are averaged over all processes
(``all_reduce``: NCCL on GPUs, gloo on CPUs) before each optimizer step, so the replicas stay
identical; every checkpoint checks that they are (a digest of every replica's weights) and
stores each process's RNG states so that a resumed run goes on exactly. The averaging is done
by hand rather than by ``DistributedDataParallel``, which does not support the double
backward of the gradient penalty. Only the first process writes files.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
import torch.distributed as dist

from engine.atomic import write_bytes_atomically
from engine.data.progress import Progress
from engine.data.store import PhraseDataset
from engine.gan.checkpoint import (
    CheckpointError,
    TrainingState,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from engine.gan.config import ModelConfig, TrainConfig
from engine.gan.device import choose_device
from engine.gan.losses import critic_loss, generator_loss
from engine.gan.model import PhraseCritic, PhraseGenerator, build_models
from engine.gan.sample import binarize
from engine.midi.files import write_midi_file
from engine.pianoroll import PianoRoll, roll_to_pattern
from engine.plots import save_roll_grid

_STEP_FOLDER = re.compile(r"^step-(\d{7})$")
#: Phrases drawn from fixed latents for the sample files.
N_SAMPLES = 4


class TrainError(Exception):
    """Training cannot start or go on (a bad run folder, data set or option)."""


@dataclass(frozen=True, slots=True)
class TrainResult:
    """Where a run stands after :func:`train` returns."""

    out: Path
    step: int
    interrupted: bool
    last_checkpoint: Path | None


def checkpoint_folders(out: Path) -> list[tuple[int, Path]]:
    """The run's checkpoint folders as ``(step, path)``, oldest first."""
    root = out / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_FOLDER.match(child.name)
        if match and child.is_dir():
            found.append((int(match.group(1)), child))
    return sorted(found)


def _to_tensor(plane: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(plane).to(device=device, dtype=torch.float32)


def write_samples(
    generator: PhraseGenerator[Any],
    config: ModelConfig,
    latents: Any,
    folder: Path,
    title: str,
) -> None:
    """Sample MIDI files and a piano-roll PNG of ``latents`` (hard threshold at 0.5)."""
    folder.mkdir(parents=True, exist_ok=True)
    was_training = generator.training
    generator.eval()
    with torch.inference_mode():
        frames, onsets = binarize(*generator.generate(latents))
    generator.train(was_training)
    spec = config.spec
    template = spec.template(ticks_per_quarter=spec.steps_per_beat * 40)
    for i in range(len(frames)):
        roll = PianoRoll(frames[i], onsets[i], np.zeros(frames[i].shape, np.uint8), spec.grid)
        write_midi_file(roll_to_pattern(roll, template), folder / f"sample-{i + 1}.mid")
    save_roll_grid(
        [(frames[i], onsets[i]) for i in range(len(frames))],
        [f"{title}, sample {i + 1}" for i in range(len(frames))],
        spec,
        folder / "samples.png",
    )


def straight_through(
    frames: torch.Tensor, onsets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities thresholded at 0.5 as decoding reads them (an onset counts only where
    its cell sounds), with the probabilities' gradient passed through unchanged."""
    hard_frames = (frames > 0.5).to(frames.dtype)
    hard_onsets = (onsets > 0.5).to(onsets.dtype) * hard_frames
    # (p - p.detach()) is exactly 0, so the values are exactly the thresholded ones.
    return (
        hard_frames + (frames - frames.detach()),
        hard_onsets + (onsets - onsets.detach()),
    )


def _world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: from torchrun's environment, else ``(0, 1)``."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _average(tensors: list[torch.Tensor], world: int) -> None:
    """Replace each tensor by its mean over all processes, in one all-reduce."""
    if not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()


def _average_gradients(module: torch.nn.Module, world: int) -> None:
    """Average the gradients of ``module`` over all processes."""
    _average([p.grad for p in module.parameters() if p.grad is not None], world)


def _average_buffers(module: torch.nn.Module, world: int) -> None:
    """Average floating buffers (batch-norm running statistics) over all processes: each
    replica's statistics saw only its own batches. (DDP broadcasts rank 0's instead.)"""
    _average([b for b in module.buffers() if b.is_floating_point()], world)


def _stop_everywhere(requested: bool, world: int, device: torch.device) -> bool:
    """Whether any process was asked to stop (all processes stop after the same step)."""
    if world == 1:
        return requested
    flag = torch.tensor([1 if requested else 0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def weights_digest(*modules: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer of ``modules``, in order (replicas compare it)."""
    digest = hashlib.sha256()
    for module in modules:
        for name, tensor in module.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class _StopRequest:
    """While active (in the main thread), SIGINT and SIGTERM set :attr:`signum` instead of
    stopping the process; a second SIGINT stops it at once, as Python's default does."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class _Run:
    """The state of one training run (of one process): models, optimizers, data and RNGs."""

    def __init__(
        self,
        dataset: PhraseDataset,
        config: ModelConfig,
        settings: TrainConfig,
        device: torch.device,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.dataset = dataset
        self.config = config
        self.settings = settings
        self.device = device
        self.rank, self.world = rank, world
        self.loss = settings.resolved_loss(config.arch)
        # Every process draws its own batches and latents; the weights start equal (below).
        torch.manual_seed(settings.seed + 1_000_003 * rank)
        self.rng = np.random.default_rng([settings.seed, rank])
        self.generator: PhraseGenerator[Any]
        self.critic: PhraseCritic
        self.generator, self.critic = build_models(config, seed=settings.seed, device=device)
        betas = settings.betas
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=settings.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=settings.lr_d, betas=betas)
        # Fixed latents for the samples, from their own seeded generator.
        sample_rng = torch.Generator().manual_seed(settings.seed + 1)
        self.sample_latents = self.generator.sample_latents(N_SAMPLES, sample_rng, device)
        self.step = 0
        self.elapsed = 0.0
        self.amp = settings.amp and device.type == "cuda"

    def state(self, rank_rng: list[Any] | None = None) -> TrainingState:
        extra: dict[str, Any] = {
            "train_config": self.settings.to_dict(),
            "elapsed_sec": self.elapsed,
            "world_size": self.world,
        }
        if rank_rng is not None:
            extra["rank_rng"] = rank_rng
        return TrainingState(
            step=self.step,
            optimizers={"generator": self.opt_g.state_dict(), "critic": self.opt_d.state_dict()},
            rng=capture_rng(self.rng),
            extra=extra,
        )

    def resume(self, folder: Path) -> None:
        loaded = load_checkpoint(folder, device=self.device, with_critic=True)
        if loaded.config != self.config:
            raise TrainError(
                f"{folder}: the checkpoint's model config differs from this run's; "
                "train into a new folder"
            )
        if loaded.training is None or loaded.critic is None:
            raise TrainError(f"{folder}: the checkpoint holds no training state to resume from")
        self.generator.load_state_dict(loaded.generator.state_dict())
        self.critic.load_state_dict(loaded.critic.state_dict())
        self.opt_g.load_state_dict(loaded.training.optimizers["generator"])
        self.opt_d.load_state_dict(loaded.training.optimizers["critic"])
        rank_rng = loaded.training.extra.get("rank_rng")
        if isinstance(rank_rng, list) and len(rank_rng) == self.world:
            restore_rng(rank_rng[self.rank], self.rng)
        else:
            restore_rng(loaded.training.rng, self.rng)
        self.step = loaded.training.step
        self.elapsed = float(loaded.training.extra.get("elapsed_sec", 0.0))

    def _autocast(self) -> Any:
        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast(self.device.type, enabled=False)

    def _fake(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        latents = self.generator.sample_latents(batch, None, self.device)
        frame_logits, onset_logits = self.generator.generate(latents)
        frames, onsets = torch.sigmoid(frame_logits.float()), torch.sigmoid(onset_logits.float())
        start = self.settings.straight_through_from
        if start < 0 or self.step < start:
            return frames, onsets
        return straight_through(frames, onsets)

    def train_step(self) -> dict[str, float]:
        """One generator step after ``n_critic`` critic steps; returns the last losses."""
        s = self.settings
        self.generator.train()
        self.critic.train()
        figures: dict[str, float] = {}
        for _ in range(s.n_critic if self.loss == "wgan-gp" else 1):
            batch = self.dataset.sample_batch("train", s.batch_size, self.rng, s.transpose_range)
            real = (_to_tensor(batch.frames, self.device), _to_tensor(batch.onsets, self.device))
            with self._autocast():
                with torch.no_grad():
                    fake = self._fake(s.batch_size)
                loss, figures = critic_loss(self.loss, self.critic, real, fake, s.gp_weight)
            self.opt_d.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            if self.world > 1:
                _average_gradients(self.critic, self.world)
            self.opt_d.step()
        with self._autocast():
            fake = self._fake(s.batch_size)
            loss, g_figures = generator_loss(self.loss, self.critic, fake)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if self.world > 1:
            _average_gradients(self.generator, self.world)
        self.opt_g.step()
        if self.world > 1:
            with torch.no_grad():
                _average_buffers(self.generator, self.world)
                _average_buffers(self.critic, self.world)
        self.step += 1
        return {**figures, **g_figures}


def _log(out: Path, record: dict[str, Any]) -> None:
    with open(out / "log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def train(
    data: str | Path,
    out: str | Path,
    settings: TrainConfig,
    *,
    arch: str = "hybrid",
    model_overrides: dict[str, Any] | None = None,
    device: str | None = None,
    stream: TextIO | None = None,
    stop_after_steps: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> TrainResult:
    """Train (or resume training) into the run folder ``out``.

    Parameters
    ----------
    data : path
        A phrase dataset (``barforge data build``); its training split is used.
    out : path
        The run folder; when it holds checkpoints, training resumes from the newest.
    settings : TrainConfig
    arch : {"hybrid", "dcgan"}
    model_overrides : dict, optional
        ModelConfig fields to change from :meth:`ModelConfig.for_spec`'s defaults.
    device : str, optional
        ``"auto"`` / None (CUDA, MPS or the CPU), ``"cpu"``, ``"cuda"``, ``"mps"``...
    stream : text stream, optional
        Progress and messages (stderr if None).
    stop_after_steps : int, optional
        Stop (with a checkpoint) after this many steps of this call, as an interruption would.
    """
    stream = sys.stderr if stream is None else stream
    run_folder = Path(out)
    dataset = PhraseDataset.load(data)
    try:
        config = ModelConfig.for_spec(dataset.spec, arch, **(model_overrides or {}))
        chosen = choose_device(device)
    except ValueError as e:
        raise TrainError(str(e)) from None
    rank, world = _world()
    if world > 1 and not dist.is_initialized():
        if chosen.type == "cuda":
            chosen = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(chosen)
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    try:
        return _train(
            dataset, data, run_folder, config, settings, chosen, rank, world, stream,
            stop_after_steps, clock,
        )  # fmt: skip
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _train(
    dataset: PhraseDataset,
    data: str | Path,
    run_folder: Path,
    config: ModelConfig,
    settings: TrainConfig,
    device: torch.device,
    rank: int,
    world: int,
    stream: TextIO,
    stop_after_steps: int | None,
    clock: Callable[[], float],
) -> TrainResult:
    lead = rank == 0
    say = stream if lead else open(os.devnull, "w")  # noqa: SIM115 (closed at the end)
    run = _Run(dataset, config, settings, device, rank, world)
    for step, folder in reversed(checkpoint_folders(run_folder)):
        try:
            run.resume(folder)
        except CheckpointError as e:
            print(f"passing over a checkpoint that does not load: {e}", file=say)
            continue
        print(f"resuming from {folder} (step {step})", file=say)
        break
    if lead:
        run_folder.mkdir(parents=True, exist_ok=True)
        document = {
            "data": str(data),
            "model": config.to_dict(),
            "train": settings.to_dict(),
            "world_size": world,
        }
        write_bytes_atomically(
            run_folder / "run.json", (json.dumps(document, indent=2) + "\n").encode()
        )
    last: Path | None = None
    interrupted = False
    steps_left = settings.steps - run.step
    if stop_after_steps is not None:
        steps_left = min(steps_left, stop_after_steps)
    progress = Progress(max(steps_left, 0), f"training {config.arch}", stream=say, clock=clock)
    figures: dict[str, float] = {}

    def checkpoint() -> Path:
        name = f"step-{run.step:07d}"
        folder = run_folder / "checkpoints" / name
        rank_rng: list[Any] | None = None
        record: dict[str, Any] = {"step": run.step, "elapsed_sec": run.elapsed, **figures}
        if world > 1:
            shared: list[Any] = [None] * world
            dist.all_gather_object(
                shared,
                {
                    "rng": capture_rng(run.rng),
                    "digest": weights_digest(run.generator, run.critic),
                    "figures": figures,
                },
            )
            rank_rng = [entry["rng"] for entry in shared]
            digests = [entry["digest"] for entry in shared]
            record["replica_digests"] = digests
            record["replica_figures"] = [entry["figures"] for entry in shared]
            if len(set(digests)) != 1:
                raise TrainError(f"step {run.step}: the replicas' weights differ: {digests}")
        if lead:
            save_checkpoint(folder, run.generator, run.critic, config, run.state(rank_rng))
            write_samples(
                run.generator, config, run.sample_latents, run_folder / "samples" / name, name
            )
            _log(run_folder, record)
        if world > 1:
            dist.barrier()
        return folder

    began = clock()
    start_elapsed = run.elapsed
    with _StopRequest() as stop:
        try:
            for _ in range(max(steps_left, 0)):
                figures = run.train_step()
                if not all(math.isfinite(v) for v in figures.values()):
                    raise TrainError(f"step {run.step}: the losses are no longer finite: {figures}")
                run.elapsed = start_elapsed + clock() - began
                progress.update()
                if run.step % settings.checkpoint_every == 0:
                    last = checkpoint()
                    losses = ", ".join(f"{k} {v:.3f}" for k, v in figures.items())
                    print(f"step {run.step}: {losses}", file=say)
                if _stop_everywhere(stop.signum is not None, world, device):
                    interrupted = True
                    print(f"interrupted at step {run.step}: writing a checkpoint", file=say)
                    break
        finally:
            progress.close()
    if run.step > 0 and (last is None or not last.name.endswith(f"{run.step:07d}")):
        last = checkpoint()
    if not lead:
        say.close()
    return TrainResult(run_folder, run.step, interrupted, last)
