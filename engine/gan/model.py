# SPDX-License-Identifier: MIT
"""The GAN's networks: the MuseGAN-style hybrid generator with its WGAN-GP critic, and the seed
article's DCGAN as a baseline.

Every generator maps latents to two logit tensors, ``frame_logits`` and ``onset_logits``, each
of shape ``(batch, n_tracks, n_bars, n_steps_per_bar, n_pitches)`` (``sigmoid`` gives the
probability that a cell sounds / starts a note; see :mod:`engine.pianoroll` for the planes).
Every critic maps the two planes as floats in [0, 1] to one score per phrase, shape
``(batch,)``.

The hybrid's up-sampling layers have a kernel equal to their stride, so they are written as a
per-position (batched) matrix product followed by a reshape, on a channels-last grid: on these
CPUs that is several times faster than ``ConvTranspose3d``. In eval mode the batch norm is
folded into the preceding layer's weights.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.gan.config import ModelConfig

LatentT = TypeVar("LatentT")

_BN_EPS = 1e-5
_BN_MOMENTUM = 0.1


# --- the common interface -----------------------------------------------------------------------
class PhraseGenerator(nn.Module, Generic[LatentT]):
    """What every generator offers.

    Attributes
    ----------
    config : ModelConfig
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def sample_latents(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> LatentT:
        """``n`` standard-normal latents, drawn from ``generator`` (the global RNG if None) on
        its device and moved to ``device`` (the model's device if None)."""
        raise NotImplementedError

    def forward(self, latents: LatentT) -> tuple[Tensor, Tensor]:
        """``(frame_logits, onset_logits)``, each
        ``shape=(batch, n_tracks, n_bars, n_steps_per_bar, n_pitches)``."""
        raise NotImplementedError

    def generate(self, latents: LatentT) -> tuple[Tensor, Tensor]:
        """Same as calling the module (:meth:`forward`), typed."""
        frames: Tensor
        onsets: Tensor
        frames, onsets = self(latents)
        return frames, onsets

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device


class PhraseCritic(nn.Module):
    """What every critic (discriminator) offers: ``forward(frames, onsets) -> scores``.

    ``frames`` and ``onsets`` are float tensors in [0, 1] of shape
    ``(batch, n_tracks, n_bars, n_steps_per_bar, n_pitches)``; the result has shape
    ``(batch,)``: a WGAN critic's score, or a discriminator's logit.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, frames: Tensor, onsets: Tensor) -> Tensor:
        raise NotImplementedError

    def score(self, frames: Tensor, onsets: Tensor) -> Tensor:
        """Same as calling the module (:meth:`forward`), typed."""
        out: Tensor = self(frames, onsets)
        return out

    def _check_input(self, frames: Tensor, onsets: Tensor) -> None:
        shape = self.config.spec.shape
        for name, x in (("frames", frames), ("onsets", onsets)):
            if x.dim() != 5 or tuple(x.shape[1:]) != shape:
                raise ValueError(
                    f"{type(self).__name__}: {name} must have shape (batch, *{shape}), "
                    f"got {tuple(x.shape)}"
                )


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def build_models(
    config: ModelConfig,
    seed: int | None = None,
    device: torch.device | str | None = None,
) -> tuple[PhraseGenerator[Any], PhraseCritic]:
    """The generator and critic that ``config`` describes, in training mode.

    Parameters
    ----------
    config : ModelConfig
    seed : int, optional
        Seeds the weight initialization (without touching the global RNG's state); None draws
        from the global RNG.
    device : torch.device or str, optional
        Where the models live (CPU if None).
    """
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        generator = build_generator(config)
        critic = build_critic(config)
    if device is not None:
        generator.to(device)
        critic.to(device)
    return generator, critic


def build_generator(config: ModelConfig) -> PhraseGenerator[Any]:
    """The generator ``config`` describes, on the CPU, initialized from the global RNG."""
    if config.arch == "hybrid":
        return HybridGenerator(config)
    return DCGANGenerator(config)


def build_critic(config: ModelConfig) -> PhraseCritic:
    """The critic ``config`` describes, on the CPU, initialized from the global RNG."""
    if config.arch == "hybrid":
        return HybridCritic(config)
    return DCGANDiscriminator(config)


def _randn(generator: torch.Generator | None, *shape: int) -> Tensor:
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.randn(*shape, generator=generator, device=device)


# --- building blocks (channels-last grids) ------------------------------------------------------
class UpBlock(nn.Module):
    """A transposed convolution whose kernel equals its stride, as one matrix product.

    Maps ``(T, R, c_in)`` to ``(T, R * factor, c_out)``: each of the ``R`` input positions
    becomes ``factor`` output positions (its patch, the sub-position axis last) through one
    matrix product, followed by an optional normalization over channels and ReLU. The layer
    does not need to know the grid: the caller keeps track of which axes the positions stand
    for and reorders them once at the end (:meth:`HybridGenerator.generate_bars`), so no layer
    copies its output into grid order.

    ``T`` is the track axis, first so that per-track weights are one batched matrix product:
    with ``groups == T`` every track has its own weights (a per-track branch), with
    ``groups == 1`` the weights are shared. Positions never mix, so a bar's output depends on
    that bar's input only (in eval mode; batch norm uses batch statistics while training).

    Parameters
    ----------
    factor : int
        Output positions per input position (the patch size, time x pitch).
    c_in, c_out : int
        Channels in and out.
    groups : int
        1 (shared) or the number of tracks (per-track weights).
    norm : {"batch", "layer", "none"}
    relu : bool
        Apply ReLU after the normalization.
    """

    running_mean: Tensor
    running_var: Tensor

    def __init__(
        self, factor: int, c_in: int, c_out: int, groups: int, norm: str, relu: bool
    ) -> None:
        super().__init__()
        self.factor = factor
        self.c_out = c_out
        self.norm = norm
        self.relu = relu
        gain = math.sqrt(2.0) if relu else 1.0
        self.weight = nn.Parameter(
            torch.randn(groups, c_in, factor * c_out) * (gain / math.sqrt(c_in))
        )
        self.bias = nn.Parameter(torch.zeros(groups, 1, factor * c_out))
        if norm != "none":
            self.norm_weight = nn.Parameter(torch.ones(groups, c_out))
            self.norm_bias = nn.Parameter(torch.zeros(groups, c_out))
        if norm == "batch":
            self.register_buffer("running_mean", torch.zeros(groups, c_out))
            self.register_buffer("running_var", torch.ones(groups, c_out))

    def _weights(self) -> tuple[Tensor, Tensor]:
        """``(weight, bias)``, with eval-mode batch norm folded in."""
        if self.norm != "batch" or self.training:
            return self.weight, self.bias
        groups, c_in, kc = self.weight.shape
        scale = self.norm_weight * torch.rsqrt(self.running_var + _BN_EPS)  # (G, c_out)
        shift = self.norm_bias - self.running_mean * scale  # (G, c_out)
        weight = self.weight.view(groups, c_in, -1, self.c_out) * scale[:, None, None]
        bias = self.bias.view(groups, -1, self.c_out) * scale[:, None] + shift[:, None]
        return weight.view(groups, c_in, kc), bias.view(groups, 1, kc)

    def _batch_norm(self, y: Tensor) -> Tensor:
        """Training-mode batch norm of ``y`` (T, R, c_out) over positions (and, with shared
        weights, tracks)."""
        groups = self.weight.shape[0]
        dims = (1,) if groups > 1 else (0, 1)
        var, mean = torch.var_mean(y, dim=dims, unbiased=False)  # (T, c_out) or (c_out,)
        n = y.numel() // var.numel()
        with torch.no_grad():
            self.running_mean.lerp_(mean.view(groups, -1), _BN_MOMENTUM)
            self.running_var.lerp_(var.view(groups, -1) * (n / max(n - 1, 1)), _BN_MOMENTUM)
        scale = self.norm_weight * torch.rsqrt(var.view(groups, -1) + _BN_EPS)  # (G, c_out)
        shift = self.norm_bias - mean.view(groups, -1) * scale  # (G, c_out)
        return torch.addcmul(shift[:, None], y, scale[:, None])

    def forward(self, x: Tensor) -> Tensor:
        t_axis, _, c = x.shape
        weight, bias = self._weights()
        if weight.shape[0] == 1:
            y = torch.addmm(bias[0], x.reshape(-1, c), weight[0])  # (T*R, k*c_out)
        else:
            y = torch.bmm(x, weight).add_(bias)  # (T, R, k*c_out)
        y = y.view(t_axis, -1, self.c_out)  # (T, R*k, c_out)
        if self.norm == "batch" and self.training:
            y = self._batch_norm(y)
        elif self.norm == "layer":
            y = F.layer_norm(y, (self.c_out,))
            y = torch.addcmul(self.norm_bias[:, None], y, self.norm_weight[:, None])
        if self.relu:
            y = F.relu(y, inplace=True)
        return y  # (T, R*k, c_out)


class DownBlock(nn.Module):
    """A convolution whose kernel equals its stride, on a channels-last grid, then a layer
    norm over channels (or none) and a leaky ReLU.

    Maps ``(B, N, t, p, c_in)`` to ``(B, N, t / time_factor, p / pitch_factor, c_out)``.
    """

    def __init__(
        self,
        time_factor: int,
        pitch_factor: int,
        c_in: int,
        c_out: int,
        norm: str,
        slope: float,
    ) -> None:
        super().__init__()
        self.time_factor = time_factor
        self.pitch_factor = pitch_factor
        self.slope = slope
        self.linear = nn.Linear(time_factor * pitch_factor * c_in, c_out)
        self.norm: nn.Module = nn.LayerNorm(c_out) if norm == "layer" else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        b, n, t, p, c = x.shape
        ft, fp = self.time_factor, self.pitch_factor
        x = x.reshape(b, n, t // ft, ft, p // fp, fp, c)  # (B, N, t', ft, p', fp, c_in)
        if ft > 1:
            x = x.transpose(3, 4)  # (B, N, t', p', ft, fp, c_in)
        x = x.reshape(b, n, t // ft, p // fp, ft * fp * c)  # (B, N, t', p', ft*fp*c_in)
        x = self.norm(self.linear(x))  # (B, N, t', p', c_out)
        return F.leaky_relu(x, self.slope)  # (B, N, t', p', c_out)


# --- the hybrid ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class Latents:
    """The hybrid generator's latents, one row per phrase.

    Attributes
    ----------
    shared : Tensor, shape=(B, d_shared)
        Time-independent, shared by all tracks.
    shared_temporal : Tensor, shape=(B, d_shared_temporal)
        Input of the shared temporal generator, which gives every bar its shared latent.
    private : Tensor, shape=(B, n_tracks, d_private)
        Time-independent, one per track.
    private_temporal : Tensor, shape=(B, n_tracks, d_private_temporal)
        Inputs of the per-track temporal generators, which give every bar of a track its latent.
    """

    shared: Tensor
    shared_temporal: Tensor
    private: Tensor
    private_temporal: Tensor

    @property
    def batch_size(self) -> int:
        return int(self.shared.shape[0])

    def to(self, device: torch.device | str) -> Latents:
        return Latents(*(getattr(self, f.name).to(device) for f in dataclasses.fields(self)))

    def __getitem__(self, index: int | slice | Sequence[int] | Tensor) -> Latents:
        """The phrases at ``index`` (batch axis); an int keeps the batch axis."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return Latents(*(getattr(self, f.name)[index] for f in dataclasses.fields(self)))

    def replace(self, **changes: Tensor) -> Latents:
        """A copy with some fields replaced (see :func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)


def sample_latents(
    config: ModelConfig,
    n: int,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Latents:
    """``n`` standard-normal hybrid latents.

    Drawn from ``generator`` (the global RNG if None) on its device in a fixed order (shared,
    shared_temporal, private, private_temporal), so a seed gives the same latents every time;
    then moved to ``device`` (if given).
    """
    if config.arch != "hybrid":
        raise ValueError(
            f"sample_latents: the config's arch is {config.arch!r}; use its generator's "
            "sample_latents()"
        )
    if n < 1:
        raise ValueError(f"sample_latents: n must be >= 1, got {n}")
    t = config.n_tracks
    latents = Latents(
        shared=_randn(generator, n, config.d_shared),
        shared_temporal=_randn(generator, n, config.d_shared_temporal),
        private=_randn(generator, n, t, config.d_private),
        private_temporal=_randn(generator, n, t, config.d_private_temporal),
    )
    return latents if device is None else latents.to(device)


class TemporalGenerator(nn.Module):
    """Turns one latent per group into one vector per bar: ``(B, G, d_in)`` ->
    ``(B, G, n_bars, d_out)``; groups have their own weights (G = 1: the shared temporal
    generator; G = n_tracks: the per-track ones)."""

    def __init__(
        self, d_in: int, d_hidden: int, n_bars: int, d_out: int, groups: int, norm: str
    ) -> None:
        super().__init__()
        self.hidden = UpBlock(1, d_in, d_hidden, groups, norm, relu=True)
        self.out = UpBlock(n_bars, d_hidden, d_out, groups, "none", relu=False)

    def forward(self, z: Tensor) -> Tensor:
        b, g, _ = z.shape
        x = z.transpose(0, 1)  # (G, B, d_in)
        x = self.hidden(x)  # (G, B, d_hidden)
        y: Tensor = self.out(x)  # (G, B * n_bars, d_out)
        return y.view(g, b, -1, y.shape[-1]).transpose(0, 1)  # (B, G, n_bars, d_out)


class HybridGenerator(PhraseGenerator[Latents]):
    """MuseGAN's hybrid generator, with explicit control of every bar and track.

    Bar ``b`` of track ``t`` comes from the bar generator applied to
    ``concat(shared, shared_temporal_out[:, b], private[:, t], private_temporal_out[:, t, b])``
    only (:meth:`bar_latents`), so :meth:`generate_bars` can regenerate chosen bars or tracks
    from edited vectors while the rest stays bit-identical (in eval mode).

    The bar generator is a dense layer to a small ``(steps, pitches)`` grid followed by the
    up-sampling layers of ``config.g_layers`` and an output layer giving the frame and onset
    logits; its last ``config.g_track_layers`` layers have weights per track.
    """

    def __init__(self, config: ModelConfig) -> None:
        if config.arch != "hybrid":
            raise ValueError(f"HybridGenerator needs arch 'hybrid', got {config.arch!r}")
        super().__init__(config)
        c = config
        t = c.n_tracks
        self.shared_temporal = TemporalGenerator(
            c.d_shared_temporal, c.d_temporal_hidden, c.n_bars, c.d_bar_temporal, 1, c.norm
        )
        self.private_temporal = TemporalGenerator(
            c.d_private_temporal, c.d_temporal_hidden, c.n_bars, c.d_bar_temporal, t, c.norm
        )
        n_layers = len(c.g_layers) + 2
        first_private = n_layers - c.g_track_layers

        def groups(i: int) -> int:
            return t if i >= first_private else 1

        # (time, pitch) patch of every layer: the dense layer's is the whole first grid.
        patches = [c.g_base_grid]
        widths = [c.g_base_channels]
        for axis, factor, width in c.g_layers:
            patches.append((factor, 1) if axis == "time" else (1, factor))
            widths.append(width)
        axis, factor = c.g_out_layer
        patches.append((factor, 1) if axis == "time" else (1, factor))
        widths.append(2)
        self._patches = tuple(patches)
        layers = []
        c_in = c.d_bar_input
        for i, ((ft, fp), c_out) in enumerate(zip(patches, widths, strict=True)):
            last = i == n_layers - 1
            norm = "none" if last else c.norm
            layers.append(UpBlock(ft * fp, c_in, c_out, groups(i), norm, relu=not last))
            c_in = c_out
        with torch.no_grad():
            layers[-1].bias.fill_(c.g_out_bias)
        self.bar_generator = nn.ModuleList(layers)

    def sample_latents(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> Latents:
        return sample_latents(self.config, n, generator, self.device if device is None else device)

    def bar_latents(self, latents: Latents) -> Tensor:
        """The bar generator's input vector of every bar of every track.

        Returns
        -------
        Tensor, shape=(B, n_tracks, n_bars, d_bar_input)
            ``concat(shared, shared temporal out, private, private temporal out)`` per bar.
        """
        c = self.config
        b, t = latents.batch_size, c.n_tracks
        expected = {
            "shared": (b, c.d_shared),
            "shared_temporal": (b, c.d_shared_temporal),
            "private": (b, t, c.d_private),
            "private_temporal": (b, t, c.d_private_temporal),
        }
        for name, shape in expected.items():
            got = tuple(getattr(latents, name).shape)
            if got != shape:
                raise ValueError(f"Latents.{name} must have shape {shape}, got {got}")
        n = c.n_bars
        shared_t = self.shared_temporal(latents.shared_temporal[:, None])  # (B, 1, n_bars, d_bt)
        private_t = self.private_temporal(latents.private_temporal)  # (B, T, n_bars, d_bt)
        return torch.cat(
            (
                latents.shared[:, None, None].expand(b, t, n, c.d_shared),
                shared_t.expand(b, t, n, c.d_bar_temporal),
                latents.private[:, :, None].expand(b, t, n, c.d_private),
                private_t,
            ),
            dim=-1,
        )  # (B, T, n_bars, d_bar_input)

    def generate_bars(self, bar_latents: Tensor) -> tuple[Tensor, Tensor]:
        """Run the bar generator on per-bar, per-track input vectors.

        Parameters
        ----------
        bar_latents : Tensor, shape=(B, n_tracks, n, d_bar_input)
            As :meth:`bar_latents` gives them, possibly edited; ``n`` may be any number of bars
            (e.g. only the bars to regenerate).

        Returns
        -------
        frame_logits, onset_logits : Tensor, shape=(B, n_tracks, n, n_steps_per_bar, n_pitches)
        """
        c = self.config
        if bar_latents.dim() != 4 or (bar_latents.shape[1], bar_latents.shape[3]) != (
            c.n_tracks,
            c.d_bar_input,
        ):
            raise ValueError(
                f"bar_latents must have shape (B, {c.n_tracks}, n_bars, {c.d_bar_input}), "
                f"got {tuple(bar_latents.shape)}"
            )
        b, t, n, d = bar_latents.shape
        x = bar_latents.transpose(0, 1).reshape(t, b * n, d)  # (T, B*n, d_in)
        for layer in self.bar_generator:
            x = layer(x)  # (T, B*n*positions, channels); last: (T, B*n*S*P, 2)
        # Each layer appended its (time, pitch) patch axes after the positions it expanded;
        # one reordering puts them in grid order and the two planes first.
        sizes = [size for patch in self._patches for size in patch]
        x = x.view(t, b, n, *sizes, 2)  # (T, B, n, t0, p0, ft1, fp1, ..., 2)
        time_axes = [3 + 2 * i for i in range(len(self._patches))]
        pitch_axes = [4 + 2 * i for i in range(len(self._patches))]
        x = x.permute(-1, 1, 0, 2, *time_axes, *pitch_axes)  # (2, B, T, n, t0, ft1.., p0, fp1..)
        x = x.reshape(2, b, t, n, c.steps_per_beat * c.beats_per_bar, c.n_pitches)
        # (2, B, T, n, S, P)
        return x[0], x[1]  # 2 x (B, T, n, S, P), contiguous

    def forward(self, latents: Latents) -> tuple[Tensor, Tensor]:
        return self.generate_bars(self.bar_latents(latents))  # 2 x (B, T, n_bars, S, P)


class HybridCritic(PhraseCritic):
    """The WGAN-GP critic for the hybrid generator.

    Tracks and the two planes are the input channels; each bar is down-sampled by the layers of
    ``config.d_layers`` (kernel = stride, layer norm, leaky ReLU), flattened to
    ``d_bar_features``; the bars' features together go through a hidden layer to one score.
    No batch statistics anywhere: each phrase's score depends on that phrase only, as the
    gradient penalty needs.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        slope = c.leaky_slope
        layers = []
        c_in, steps, pitches = 2 * c.n_tracks, c.steps_per_beat * c.beats_per_bar, c.n_pitches
        for axis, factor, c_out in c.d_layers:
            ft, fp = (factor, 1) if axis == "time" else (1, factor)
            layers.append(DownBlock(ft, fp, c_in, c_out, c.d_norm, slope))
            c_in, steps, pitches = c_out, steps // ft, pitches // fp
        self.bar_layers = nn.ModuleList(layers)
        self.bar_out = DownBlock(steps, pitches, c_in, c.d_bar_features, c.d_norm, slope)
        self.chroma: ChromaStream | None = ChromaStream(c) if c.d_chroma_features > 0 else None
        per_bar = c.d_bar_features + c.d_chroma_features
        self.phrase_hidden = nn.Linear(c.n_bars * per_bar, c.d_hidden)
        self.phrase_norm: nn.Module = (
            nn.LayerNorm(c.d_hidden) if c.d_norm == "layer" else nn.Identity()
        )
        self.out = nn.Linear(c.d_hidden, 1)

    def forward(self, frames: Tensor, onsets: Tensor) -> Tensor:
        self._check_input(frames, onsets)
        b, t, n, s, p = frames.shape
        x = torch.stack((frames, onsets), dim=-1)  # (B, T, N, S, P, 2)
        x = x.permute(0, 2, 3, 4, 1, 5).reshape(b, n, s, p, 2 * t)  # (B, N, S, P, 2T)
        for layer in self.bar_layers:
            x = layer(x)  # (B, N, steps', pitches', channels)
        x = self.bar_out(x).reshape(b, n, -1)  # (B, N, d_bar_features)
        if self.chroma is not None:
            x = torch.cat((x, self.chroma(frames, onsets)), dim=-1)  # (B, N, + d_chroma)
        x = x.reshape(b, -1)  # (B, N * per-bar features)
        x = F.leaky_relu(self.phrase_norm(self.phrase_hidden(x)), self.config.leaky_slope)
        # (B, d_hidden)
        score: Tensor = self.out(x)  # (B, 1)
        return score.view(b)  # (B,)


class ChromaStream(nn.Module):
    """The critic's view of harmony and rhythm without register: each bar's frames and onsets
    of every track folded onto the 12 pitch classes (a fixed 0/1 matrix), then down-sampled
    in time beat by beat and flattened to ``d_chroma_features`` per bar.

    Maps frames and onsets ``(B, T, N, S, P)`` to ``(B, N, d_chroma_features)``.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config
        pitch_class = (torch.arange(c.n_pitches) + c.lowest_pitch) % 12
        self.register_buffer("fold", F.one_hot(pitch_class, 12).float(), persistent=False)
        steps = c.steps_per_beat * c.beats_per_bar
        slope, width = c.leaky_slope, 4 * c.n_tracks
        self.beat = DownBlock(c.steps_per_beat, 1, 2 * c.n_tracks, width, c.d_norm, slope)
        self.bar = DownBlock(
            steps // c.steps_per_beat, 12, width, c.d_chroma_features, c.d_norm, slope
        )

    def forward(self, frames: Tensor, onsets: Tensor) -> Tensor:
        b, t, n, s, _ = frames.shape
        fold: Tensor = self.fold  # type: ignore[assignment]
        x = torch.stack((frames, onsets), dim=-1)  # (B, T, N, S, P, 2)
        x = torch.einsum("btnspc,pk->bnskct", x, fold)  # (B, N, S, 12, 2, T)
        x = x.reshape(b, n, s, 12, 2 * t)  # (B, N, S, 12, 2T)
        features: Tensor = self.bar(self.beat(x))  # (B, N, 1, 1, d_chroma_features)
        return features.reshape(b, n, -1)  # (B, N, d_chroma_features)


# --- the seed article's DCGAN -------------------------------------------------------------------
class DCGANGenerator(PhraseGenerator[Tensor]):
    """The seed article's DCGAN generator, adapted to multi-track phrases.

    The seed made one 64 x 64 "image" (time x pitch, all voices merged):
    ``Dense -> Reshape(8, 8, 128) -> ConvT(128, 4, s2) -> ConvT(64, 4, s2) -> ConvT(1, 4, s2)``
    with ReLUs. Adaptation: the image is time (``n_bars * n_steps_per_bar``) x pitch
    (``n_pitches``), with one output channel per track for the frames and one for the onsets
    (``C_out = 2 * n_tracks``), so its samples go through the same metrics as the hybrid's. The
    dense layer's grid is ``(time / 8, pitch / 8)`` (both must be divisible by 8); transposed
    convolutions use padding 1 so each doubles the grid exactly (Keras' ``"same"``). The output
    is logits (the sigmoid belongs to the loss or the sampler). Channels come from
    ``config.dcgan_channels``; the latent is one vector of ``config.dcgan_latent`` and there is
    no bar or track control.
    """

    def __init__(self, config: ModelConfig) -> None:
        if config.arch != "dcgan":
            raise ValueError(f"DCGANGenerator needs arch 'dcgan', got {config.arch!r}")
        super().__init__(config)
        c = config
        c0, c1, c2 = c.dcgan_channels
        self.height = c.n_bars * c.steps_per_beat * c.beats_per_bar // 8
        self.width = c.n_pitches // 8
        self.dense = nn.Linear(c.dcgan_latent, self.height * self.width * c0)
        self.up1 = nn.ConvTranspose2d(c0, c1, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(c1, c2, 4, stride=2, padding=1)
        self.up3 = nn.ConvTranspose2d(c2, 2 * c.n_tracks, 4, stride=2, padding=1)

    def sample_latents(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """``(n, dcgan_latent)`` standard-normal latents (see
        :meth:`PhraseGenerator.sample_latents`)."""
        if n < 1:
            raise ValueError(f"sample_latents: n must be >= 1, got {n}")
        z = _randn(generator, n, self.config.dcgan_latent)
        return z.to(self.device if device is None else device)

    def forward(self, latents: Tensor) -> tuple[Tensor, Tensor]:
        c = self.config
        if latents.dim() != 2 or latents.shape[1] != c.dcgan_latent:
            raise ValueError(
                f"DCGANGenerator: latents must have shape (B, {c.dcgan_latent}), "
                f"got {tuple(latents.shape)}"
            )
        b = latents.shape[0]
        x = F.relu(self.dense(latents))  # (B, h * w * c0)
        x = x.view(b, -1, self.height, self.width)  # (B, c0, h, w)
        x = F.relu(self.up1(x))  # (B, c1, 2h, 2w)
        x = F.relu(self.up2(x))  # (B, c2, 4h, 4w)
        x = self.up3(x)  # (B, 2T, time, pitch)
        shape = (b, *c.spec.shape)
        t = c.n_tracks
        return x[:, :t].reshape(shape), x[:, t:].reshape(shape)  # 2 x (B, T, N, S, P)


class DCGANDiscriminator(PhraseCritic):
    """The seed article's discriminator, adapted like :class:`DCGANGenerator`:
    ``Conv(64, 4, s2) -> Conv(128, 4, s2) -> Dense(1)`` with leaky ReLUs over the
    time x pitch image with ``2 * n_tracks`` channels (frames and onsets of every track).

    Returns logits, shape ``(B,)``: the seed's sigmoid is applied by the standard GAN loss
    (``binary_cross_entropy_with_logits``, numerically stable).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        d0, d1 = c.dcgan_d_channels
        time = c.n_bars * c.steps_per_beat * c.beats_per_bar
        self.conv1 = nn.Conv2d(2 * c.n_tracks, d0, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(d0, d1, 4, stride=2, padding=1)
        self.dense = nn.Linear(d1 * (time // 4) * (c.n_pitches // 4), 1)

    def forward(self, frames: Tensor, onsets: Tensor) -> Tensor:
        self._check_input(frames, onsets)
        b, t, n, s, p = frames.shape
        x = torch.cat((frames.reshape(b, t, n * s, p), onsets.reshape(b, t, n * s, p)), dim=1)
        # (B, 2T, time, pitch)
        slope = self.config.leaky_slope
        x = F.leaky_relu(self.conv1(x), slope)  # (B, d0, time/2, pitch/2)
        x = F.leaky_relu(self.conv2(x), slope)  # (B, d1, time/4, pitch/4)
        score: Tensor = self.dense(x.flatten(1))  # (B, 1)
        return score.view(b)  # (B,)
