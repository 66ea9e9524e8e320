# SPDX-License-Identifier: MIT
"""Latents of whole pieces: any number of bars, variations around a seed, paths between seeds.

The hybrid generator makes phrases of ``n_bars`` (its native length) from four latents; a
longer piece keeps the time-independent ones (``shared``, ``private``: the piece's character)
and gives every further native-length chunk new temporal latents that follow the previous
chunk's: ``z[k+1] = c * z[k] + sqrt(1 - c**2) * noise``, ``c`` being the continuity. Every
latent stays standard normal, as the generator was trained on, while neighbouring chunks stay
related instead of being unrelated blocks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.gan.config import ModelConfig
from engine.gan.model import HybridGenerator, Latents, sample_latents


@dataclass(frozen=True, slots=True, eq=False)
class PieceLatents:
    """Latents of ``B`` pieces of ``n_chunks`` native-length chunks each.

    Attributes
    ----------
    shared : Tensor, shape=(B, d_shared)
    private : Tensor, shape=(B, n_tracks, d_private)
    shared_temporal : Tensor, shape=(B, n_chunks, d_shared_temporal)
    private_temporal : Tensor, shape=(B, n_chunks, n_tracks, d_private_temporal)
    """

    shared: Tensor
    private: Tensor
    shared_temporal: Tensor
    private_temporal: Tensor

    @property
    def batch_size(self) -> int:
        return int(self.shared.shape[0])

    @property
    def n_chunks(self) -> int:
        return int(self.shared_temporal.shape[1])

    def fields(self) -> tuple[Tensor, ...]:
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))

    def map(self, fn: Callable[[Tensor], Tensor]) -> PieceLatents:
        """A copy with ``fn`` applied to every field."""
        return PieceLatents(*(fn(x) for x in self.fields()))

    def __getitem__(self, index: int | slice) -> PieceLatents:
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return self.map(lambda x: x[index])

    @staticmethod
    def cat(items: list[PieceLatents]) -> PieceLatents:
        return PieceLatents(*(torch.cat([it.fields()[i] for it in items]) for i in range(4)))


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts (a seed, a name, an index...), the same on every run."""
    text = "\x1f".join(repr(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1


def n_chunks(config: ModelConfig, n_bars: int) -> int:
    """Native-length chunks needed for ``n_bars`` bars."""
    return -(-n_bars // config.n_bars)


def draw(config: ModelConfig, seed: int, chunks: int, continuity: float) -> PieceLatents:
    """The latents of one piece from ``seed`` (on the CPU).

    The first chunk's latents are those ``sample_latents(config, 1, Generator(seed))`` gives, so
    a piece's first native-length phrase does not depend on how long the piece is.
    """
    rng = torch.Generator().manual_seed(seed)
    first = sample_latents(config, 1, rng)
    shared_t = [first.shared_temporal]
    private_t = [first.private_temporal]
    keep = continuity
    fresh = math.sqrt(max(0.0, 1.0 - continuity * continuity))
    for _ in range(chunks - 1):
        shared_t.append(
            keep * shared_t[-1] + fresh * torch.randn(shared_t[-1].shape, generator=rng)
        )
        private_t.append(
            keep * private_t[-1] + fresh * torch.randn(private_t[-1].shape, generator=rng)
        )
    return PieceLatents(
        first.shared,
        first.private,
        torch.stack(shared_t, dim=1),
        torch.stack(private_t, dim=1),
    )


def noise_like(latents: PieceLatents, seed: int) -> PieceLatents:
    """Standard-normal latents shaped like ``latents``, from ``seed`` (CPU)."""
    rng = torch.Generator().manual_seed(seed)
    return latents.map(lambda x: torch.randn(x.shape, generator=rng).to(x.device))


def mix(base: PieceLatents, noise: PieceLatents, strength: float) -> PieceLatents:
    """``cos(a) * base + sin(a) * noise`` with ``a = strength * pi / 2``: strength 0 gives
    ``base`` exactly, 1 gives ``noise``, and the result stays standard normal in between."""
    if strength == 0.0:
        return base
    angle = strength * math.pi / 2
    c, s = math.cos(angle), math.sin(angle)
    if strength == 1.0:
        c, s = 0.0, 1.0
    fields = [c * b + s * n for b, n in zip(base.fields(), noise.fields(), strict=True)]
    return PieceLatents(*fields)


def slerp(a: PieceLatents, b: PieceLatents, t: float) -> PieceLatents:
    """Spherical interpolation of every latent (per piece): ``t`` = 0 gives ``a`` exactly and
    1 gives ``b`` exactly."""
    if t == 0.0:
        return a
    if t == 1.0:
        return b

    def one(x: Tensor, y: Tensor) -> Tensor:
        flat_x, flat_y = x.flatten(1), y.flatten(1)
        cos = (flat_x * flat_y).sum(1) / (flat_x.norm(dim=1) * flat_y.norm(dim=1)).clamp_min(1e-12)
        omega = torch.arccos(cos.clamp(-1.0, 1.0))
        sin = torch.sin(omega)
        linear = sin < 1e-6
        wa = torch.where(linear, 1.0 - t, torch.sin((1.0 - t) * omega) / sin.clamp_min(1e-12))
        wb = torch.where(
            linear, torch.full_like(omega, t), torch.sin(t * omega) / sin.clamp_min(1e-12)
        )
        shape = (-1,) + (1,) * (x.dim() - 1)
        return wa.view(shape) * x + wb.view(shape) * y

    return PieceLatents(*(one(x, y) for x, y in zip(a.fields(), b.fields(), strict=True)))


def bar_inputs(model: HybridGenerator, latents: PieceLatents, n_bars: int) -> Tensor:
    """The bar generator's inputs of every bar of every track:
    ``(B, n_tracks, n_bars, d_bar_input)``."""
    b, c = latents.batch_size, latents.n_chunks
    t = model.config.n_tracks
    flat = Latents(
        shared=latents.shared.repeat_interleave(c, dim=0),
        shared_temporal=latents.shared_temporal.reshape(b * c, -1),
        private=latents.private.repeat_interleave(c, dim=0),
        private_temporal=latents.private_temporal.reshape(b * c, t, -1),
    )
    per_chunk = model.bar_latents(flat)  # (B*C, T, native, d)
    native, d = per_chunk.shape[2], per_chunk.shape[3]
    x = per_chunk.view(b, c, t, native, d).transpose(1, 2).reshape(b, t, c * native, d)
    return x[:, :, :n_bars]
