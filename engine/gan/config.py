# SPDX-License-Identifier: MIT
"""Every hyper-parameter of the GAN: the architecture (:class:`ModelConfig`) and the training
(:class:`TrainConfig`).

Both are frozen dataclasses with a JSON-friendly ``to_dict()`` / ``from_dict()`` round trip;
the model config is saved beside the weights (``config.json`` of a checkpoint), so a checkpoint
rebuilds exactly the network it was trained as. This module does not import torch.

Up-sampling and down-sampling layers are written as ``(axis, factor, channels)`` triples,
``axis`` being ``"time"`` (steps within a bar) or ``"pitch"``: a layer multiplies (generator) or
divides (critic) that axis by ``factor`` with a kernel equal to its stride, i.e. a per-position
linear map followed by a reshape (see :mod:`engine.gan.model`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from engine.pianoroll import PhraseSpec

ARCHS = ("hybrid", "dcgan")
NORMS = ("batch", "layer", "none")
CRITIC_NORMS = ("layer", "none")
LOSSES = ("auto", "wgan-gp", "bce")
AXES = ("time", "pitch")

Layer = tuple[str, int, int]
"""``(axis, factor, channels)`` of an up- or down-sampling layer."""


# --- validation helpers -------------------------------------------------------------------------
def _fail(owner: str, name: str, expected: str, value: object) -> ValueError:
    return ValueError(f"{owner}.{name} must be {expected}, got {value!r}")


def _int(owner: str, name: str, value: object, low: int = 1, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(owner, name, "an integer", value)
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in {low}..{high}"
        raise _fail(owner, name, f"an integer {bounds}", value)
    return value


def _float(
    owner: str,
    name: str,
    value: object,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(owner, name, "a finite number", value)
    x = float(value)
    if x < low or x > high or (open_low and x == low) or (open_high and x == high):
        lo = "(" if open_low else "["
        hi = ")" if open_high else "]"
        raise _fail(owner, name, f"a number in {lo}{low}, {high}{hi}", value)
    return x


def _bool(owner: str, name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _fail(owner, name, "true or false", value)
    return value


def _choice(owner: str, name: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _fail(owner, name, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def _seq(owner: str, name: str, value: object, length: int | None = None) -> tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise _fail(owner, name, "a list", value)
    if length is not None and len(value) != length:
        raise _fail(owner, name, f"a list of {length} items", value)
    return tuple(value)


def _layers(owner: str, name: str, value: object, *, allow_empty: bool) -> tuple[Layer, ...]:
    items = _seq(owner, name, value)
    if not items and not allow_empty:
        raise _fail(owner, name, "a non-empty list of [axis, factor, channels]", value)
    out: list[Layer] = []
    for i, item in enumerate(items):
        entry = _seq(owner, f"{name}[{i}]", item, 3)
        axis = _choice(owner, f"{name}[{i}][0]", entry[0], AXES)
        factor = _int(owner, f"{name}[{i}][1]", entry[1], 1, 64)
        channels = _int(owner, f"{name}[{i}][2]", entry[2], 1, 4096)
        out.append((axis, factor, channels))
    return tuple(out)


def _product(layers: tuple[tuple[Any, ...], ...], axis: str) -> int:
    return math.prod(layer[1] for layer in layers if layer[0] == axis)


class _DictMixin:
    """``to_dict`` / ``from_dict`` for a frozen dataclass whose ``__post_init__`` normalizes."""

    #: Fields that files written before they existed lack (their defaults mean "as before").
    _ADDED_LATER: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild from :meth:`to_dict`'s output (e.g. parsed JSON).

        Raises
        ------
        ValueError
            On an unknown or missing key or a bad value; the message names the field.
        """
        owner = cls.__name__
        if not isinstance(data, dict):
            raise ValueError(f"{owner} must be a JSON object, got {type(data).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(names), key=str)
        if unknown:
            raise ValueError(f"{owner}: unknown field(s) {', '.join(map(repr, unknown))}")
        # Fields added after format 1 may be absent from older files: their defaults keep the
        # behaviour those files were trained with.
        missing = [n for n in names if n not in data and n not in cls._ADDED_LATER]
        if missing:
            raise ValueError(f"{owner}: missing field(s) {', '.join(map(repr, missing))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (tuples become lists) that :meth:`from_dict` reads back."""

        def plain(value: object) -> object:
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            return value

        return {
            f.name: plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    def _normalize(self, checks: dict[str, Callable[[str, str, Any], Any]]) -> None:
        owner = type(self).__name__
        for name, check in checks.items():
            object.__setattr__(self, name, check(owner, name, getattr(self, name)))


# --- the architecture ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ModelConfig(_DictMixin):
    """The architecture of a generator and its critic, and the phrase shape they work on.

    The defaults describe the hybrid model for the chorale data set (4 tracks x 4 bars x 48
    steps x 64 pitches, MIDI 28..91); :meth:`for_spec` derives a config for another phrase shape.

    Parameters
    ----------
    arch : {"hybrid", "dcgan"}
        ``"hybrid"``: MuseGAN-style hybrid generator with a WGAN-GP critic;
        ``"dcgan"``: the seed article's DCGAN, adapted to phrases (see
        :class:`engine.gan.model.DCGANGenerator`).
    track_names, is_drum, programs, steps_per_beat, beats_per_bar, n_bars, lowest_pitch, n_pitches
        The :class:`~engine.pianoroll.PhraseSpec` fields (see :attr:`spec`).
    d_shared : int
        Size of the time-independent inter-track latent ``Latents.shared``.
    d_shared_temporal : int
        Size of ``Latents.shared_temporal``, the input of the shared temporal generator.
    d_private : int
        Size of the time-independent per-track latent ``Latents.private``.
    d_private_temporal : int
        Size of ``Latents.private_temporal``, input of the per-track temporal generators.
    d_temporal_hidden : int
        Hidden width of the temporal generators (two linear layers each).
    d_bar_temporal : int
        Size of the per-bar vector each temporal generator gives.
    g_base_channels : int
        Channels of the bar generator's first grid (after its dense layer).
    g_layers : tuple of (axis, factor, channels)
        The bar generator's hidden up-sampling layers, in order.
    g_out_layer : (axis, factor)
        The output up-sampling layer, which gives the two planes (frames, onsets). The factors
        of ``g_layers`` and ``g_out_layer`` must divide ``n_steps_per_bar`` (time) and
        ``n_pitches`` (pitch); the rest is the first grid's size.
    g_track_layers : int
        How many of the bar generator's last layers (of the dense layer, ``g_layers`` and the
        output layer) have separate weights per track (the per-track branches); the others are
        shared by all tracks. All of them: one bar generator per track, as in MuseGAN.
    norm : {"batch", "layer", "none"}
        Normalization after each hidden layer of the generator. ``"batch"`` (MuseGAN's) uses
        batch statistics while training and running statistics in eval mode, where bars are
        independent; ``"layer"`` normalizes each position's channels and never mixes samples.
    g_out_bias : float
        Initial bias of the output logits (sparse rolls: sigmoid(-3) ~ 5% of cells on).
    d_layers : tuple of (axis, factor, channels)
        The critic's down-sampling layers over each bar (tracks x planes are the input channels);
        their factors must divide ``n_steps_per_bar`` and ``n_pitches``.
    d_bar_features : int
        Features per bar after the critic's per-bar stage.
    d_hidden : int
        Width of the critic's phrase-level hidden layer (over all bars).
    d_norm : {"layer", "none"}
        Normalization in the critic (never batch statistics: the gradient penalty needs
        per-sample gradients).
    d_chroma_features : int
        Width of the critic's chroma stream: each bar's frames and onsets folded onto the 12
        pitch classes, down-sampled in time and flattened to this many features beside the
        bar's own (as BinaryMuseGAN's critic has). 0: no chroma stream (models before it).
    leaky_slope : float
        Negative slope of the critic's leaky ReLUs, in [0, 1).
    dcgan_latent : int
        Latent size of the DCGAN baseline.
    dcgan_channels : (int, int, int)
        DCGAN generator: channels of the dense layer's grid and of the first two transposed
        convolutions (the seed: 128, 128, 64).
    dcgan_d_channels : (int, int)
        DCGAN discriminator convolutions (the seed: 64, 128).
    """

    arch: str = "hybrid"
    track_names: tuple[str, ...] = ("Soprano", "Alto", "Tenor", "Bass")
    is_drum: tuple[bool, ...] = (False, False, False, False)
    programs: tuple[int, ...] = (52, 52, 52, 52)
    steps_per_beat: int = 12
    beats_per_bar: int = 4
    n_bars: int = 4
    lowest_pitch: int = 28
    n_pitches: int = 64
    d_shared: int = 32
    d_shared_temporal: int = 32
    d_private: int = 32
    d_private_temporal: int = 32
    d_temporal_hidden: int = 128
    d_bar_temporal: int = 32
    g_base_channels: int = 64
    g_layers: tuple[Layer, ...] = (("time", 4, 48), ("time", 4, 24), ("pitch", 2, 16))
    g_out_layer: tuple[str, int] = ("pitch", 8)
    g_track_layers: int = 2
    norm: str = "batch"
    g_out_bias: float = -3.0
    d_layers: tuple[Layer, ...] = (
        ("pitch", 4, 32),
        ("time", 4, 64),
        ("pitch", 4, 64),
        ("time", 4, 128),
    )
    d_bar_features: int = 128
    d_hidden: int = 128
    d_norm: str = "none"
    d_chroma_features: int = 0
    leaky_slope: float = 0.2
    dcgan_latent: int = 128
    dcgan_channels: tuple[int, int, int] = (128, 128, 64)
    dcgan_d_channels: tuple[int, int] = (64, 128)

    _ADDED_LATER: ClassVar[frozenset[str]] = frozenset({"d_chroma_features"})

    def __post_init__(self) -> None:
        def ints(owner: str, name: str, value: Any) -> tuple[int, ...]:
            return tuple(_int(owner, f"{name}[{i}]", v, 0, 127) for i, v in enumerate(value))

        def out_layer(owner: str, name: str, value: Any) -> tuple[str, int]:
            entry = _seq(owner, name, value, 2)
            return (
                _choice(owner, f"{name}[0]", entry[0], AXES),
                _int(owner, f"{name}[1]", entry[1], 1, 64),
            )

        def channels(n: int) -> Callable[[str, str, Any], tuple[int, ...]]:
            def check(owner: str, name: str, value: Any) -> tuple[int, ...]:
                items = _seq(owner, name, value, n)
                return tuple(_int(owner, f"{name}[{i}]", v, 1, 4096) for i, v in enumerate(items))

            return check

        def size(owner: str, name: str, value: Any) -> int:
            return _int(owner, name, value, 1, 4096)

        self._normalize(
            {
                "arch": lambda o, n, v: _choice(o, n, v, ARCHS),
                "track_names": lambda o, n, v: tuple(
                    _str(o, f"{n}[{i}]", s) for i, s in enumerate(_seq(o, n, v))
                ),
                "is_drum": lambda o, n, v: tuple(
                    _bool(o, f"{n}[{i}]", b) for i, b in enumerate(_seq(o, n, v))
                ),
                "programs": lambda o, n, v: ints(o, n, _seq(o, n, v)),
                "steps_per_beat": lambda o, n, v: _int(o, n, v, 1, 1 << 12),
                "beats_per_bar": lambda o, n, v: _int(o, n, v, 1, 64),
                "n_bars": lambda o, n, v: _int(o, n, v, 1, 1024),
                "lowest_pitch": lambda o, n, v: _int(o, n, v, 0, 127),
                "n_pitches": lambda o, n, v: _int(o, n, v, 1, 128),
                "d_shared": size,
                "d_shared_temporal": size,
                "d_private": size,
                "d_private_temporal": size,
                "d_temporal_hidden": size,
                "d_bar_temporal": size,
                "g_base_channels": size,
                "g_layers": lambda o, n, v: _layers(o, n, v, allow_empty=True),
                "g_out_layer": out_layer,
                "g_track_layers": lambda o, n, v: _int(o, n, v, 0, 1024),
                "norm": lambda o, n, v: _choice(o, n, v, NORMS),
                "g_out_bias": lambda o, n, v: _float(o, n, v, -20.0, 20.0),
                "d_layers": lambda o, n, v: _layers(o, n, v, allow_empty=True),
                "d_bar_features": size,
                "d_hidden": size,
                "d_norm": lambda o, n, v: _choice(o, n, v, CRITIC_NORMS),
                "d_chroma_features": lambda o, n, v: _int(o, n, v, 0, 4096),
                "leaky_slope": lambda o, n, v: _float(o, n, v, 0.0, 1.0, open_high=True),
                "dcgan_latent": size,
                "dcgan_channels": channels(3),
                "dcgan_d_channels": channels(2),
            }
        )
        try:
            spec = self.spec
        except ValueError as e:
            raise ValueError(
                f"ModelConfig: the phrase fields do not make a PhraseSpec: {e}"
            ) from None
        if self.g_track_layers > len(self.g_layers) + 2:
            raise ValueError(
                f"ModelConfig.g_track_layers must be at most {len(self.g_layers) + 2} (the dense "
                f"layer, the layers of g_layers and the output layer), got {self.g_track_layers}"
            )
        if self.arch == "hybrid":
            generator_layers = (*self.g_layers, self.g_out_layer)
            for field, layers in (
                ("g_layers/g_out_layer", generator_layers),
                ("d_layers", self.d_layers),
            ):
                for axis, length, name in (
                    ("time", spec.n_steps_per_bar, "n_steps_per_bar"),
                    ("pitch", spec.n_pitches, "n_pitches"),
                ):
                    factor = _product(layers, axis)
                    if length % factor:
                        raise ValueError(
                            f"ModelConfig.{field}: the {axis} factors multiply to {factor}, which "
                            f"does not divide {name} = {length}"
                        )
        else:
            time = spec.n_bars * spec.n_steps_per_bar
            if time % 8 or spec.n_pitches % 8:
                raise ValueError(
                    "ModelConfig: the dcgan treats a phrase as a (n_bars * n_steps_per_bar) x "
                    "n_pitches image and up-samples it 3 times by 2, so both must be divisible "
                    f"by 8; got n_bars * n_steps_per_bar = {time} and n_pitches = "
                    f"{spec.n_pitches}"
                )

    @property
    def spec(self) -> PhraseSpec:
        """The phrase shape and meaning the model works on."""
        return PhraseSpec(
            track_names=self.track_names,
            is_drum=self.is_drum,
            programs=self.programs,
            steps_per_beat=self.steps_per_beat,
            beats_per_bar=self.beats_per_bar,
            n_bars=self.n_bars,
            lowest_pitch=self.lowest_pitch,
            n_pitches=self.n_pitches,
        )

    @property
    def n_tracks(self) -> int:
        return len(self.track_names)

    @property
    def d_bar_input(self) -> int:
        """Size of a bar generator's input vector (shared, shared temporal, private, private
        temporal, concatenated)."""
        return self.d_shared + self.d_private + 2 * self.d_bar_temporal

    @property
    def g_base_grid(self) -> tuple[int, int]:
        """``(steps, pitches)`` of the bar generator's first grid."""
        layers = (*self.g_layers, self.g_out_layer)
        return (
            self.steps_per_beat * self.beats_per_bar // _product(layers, "time"),
            self.n_pitches // _product(layers, "pitch"),
        )

    @classmethod
    def for_spec(cls, spec: PhraseSpec, arch: str = "hybrid", **overrides: Any) -> ModelConfig:
        """A config for ``spec``: the default widths, with up- and down-sampling factors that
        fit its grid, and ``overrides`` on top.

        The generator up-samples time twice (by 4, 3 or 2 where they divide the steps) and
        pitch by up to 16 in all (2 in a hidden layer, the rest in the output layer); the
        critic down-samples each axis twice.

        Raises
        ------
        ValueError
            When ``overrides`` names an unknown field or the result is not a valid config.
        """
        time = _factors(spec.n_steps_per_bar, 2)
        pitch = _factors(spec.n_pitches, 2)
        pitch_total = next(f for f in (16, 12, 8, 6, 4, 3, 2, 1) if spec.n_pitches % f == 0)
        pitch_hidden = 2 if pitch_total % 2 == 0 else 1
        values: dict[str, Any] = {
            "arch": arch,
            "track_names": spec.track_names,
            "is_drum": spec.is_drum,
            "programs": spec.programs,
            "steps_per_beat": spec.steps_per_beat,
            "beats_per_bar": spec.beats_per_bar,
            "n_bars": spec.n_bars,
            "lowest_pitch": spec.lowest_pitch,
            "n_pitches": spec.n_pitches,
            "g_layers": (
                ("time", time[0], 48),
                ("time", time[1], 24),
                ("pitch", pitch_hidden, 16),
            ),
            "g_out_layer": ("pitch", pitch_total // pitch_hidden),
            "d_layers": (
                ("pitch", pitch[0], 32),
                ("time", time[0], 64),
                ("pitch", pitch[1], 64),
                ("time", time[1], 128),
            ),
        }
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"ModelConfig: unknown field(s) {', '.join(map(repr, unknown))}")
        values.update(overrides)
        return cls(**values)


def _str(owner: str, name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(owner, name, "a non-empty string", value)
    return value


def _factors(length: int, count: int) -> tuple[int, ...]:
    """``count`` up-sampling factors (4, else 3, else 2, else 1) whose product divides
    ``length``."""
    out: list[int] = []
    rest = length
    for _ in range(count):
        factor = next((f for f in (4, 3, 2) if rest % f == 0), 1)
        out.append(factor)
        rest //= factor
    return tuple(out)


# --- the training -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrainConfig(_DictMixin):
    """Hyper-parameters of adversarial training (the trainer reads them; the model does not).

    Parameters
    ----------
    loss : {"auto", "wgan-gp", "bce"}
        ``"auto"``: WGAN-GP for the hybrid, the standard (sigmoid cross-entropy) GAN loss for
        the DCGAN baseline, as the seed article trained it.
    lr_g, lr_d : float
        Adam learning rates of the generator and the critic, > 0.
    betas : (float, float)
        Adam's betas, each in [0, 1).
    batch_size : int
        Real phrases per critic step.
    gp_weight : float
        Weight of the gradient penalty (WGAN-GP), >= 0.
    n_critic : int
        Critic steps per generator step.
    steps : int
        Generator steps to train.
    checkpoint_every : int
        Generator steps between checkpoints (and sample files).
    seed : int
        Seeds torch, numpy and Python's RNGs; the same seed on one device gives the same run.
    amp : bool
        Mixed precision (only where the device supports it; the trainer ignores it on CPU).
    transpose_range : (int, int)
        Inclusive semitone range of the random transposition of each training phrase; must
        hold 0; ``(0, 0)`` turns augmentation off.
    straight_through_from : int
        From this generator step on, the critic judges fake phrases thresholded at 0.5, as the
        app decodes them, with the sigmoid's gradient passed straight through the threshold
        (BinaryMuseGAN's deterministic binary neurons); -1: never, the critic sees the
        probabilities (MuseGAN).
    """

    loss: str = "auto"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.9)
    batch_size: int = 64
    gp_weight: float = 10.0
    n_critic: int = 5
    steps: int = 20_000
    checkpoint_every: int = 500
    seed: int = 0
    amp: bool = False
    transpose_range: tuple[int, int] = (-5, 5)
    straight_through_from: int = -1

    _ADDED_LATER: ClassVar[frozenset[str]] = frozenset({"straight_through_from"})

    def __post_init__(self) -> None:
        def betas(owner: str, name: str, value: Any) -> tuple[float, float]:
            items = _seq(owner, name, value, 2)
            b1 = _float(owner, f"{name}[0]", items[0], 0.0, 1.0, open_high=True)
            b2 = _float(owner, f"{name}[1]", items[1], 0.0, 1.0, open_high=True)
            return (b1, b2)

        def transpose(owner: str, name: str, value: Any) -> tuple[int, int]:
            items = _seq(owner, name, value, 2)
            low = _int(owner, f"{name}[0]", items[0], -127, 0)
            high = _int(owner, f"{name}[1]", items[1], 0, 127)
            return (low, high)

        def rate(owner: str, name: str, value: Any) -> float:
            return _float(owner, name, value, 0.0, 10.0, open_low=True)

        self._normalize(
            {
                "loss": lambda o, n, v: _choice(o, n, v, LOSSES),
                "lr_g": rate,
                "lr_d": rate,
                "betas": betas,
                "batch_size": lambda o, n, v: _int(o, n, v, 1, 1 << 20),
                "gp_weight": lambda o, n, v: _float(o, n, v, 0.0, 1e6),
                "n_critic": lambda o, n, v: _int(o, n, v, 1, 1000),
                "steps": lambda o, n, v: _int(o, n, v, 0, 1 << 40),
                "checkpoint_every": lambda o, n, v: _int(o, n, v, 1, 1 << 40),
                "seed": lambda o, n, v: _int(o, n, v, 0, (1 << 63) - 1),
                "amp": _bool,
                "transpose_range": transpose,
                "straight_through_from": lambda o, n, v: _int(o, n, v, -1, 1 << 40),
            }
        )

    def resolved_loss(self, arch: str) -> str:
        """The loss to train ``arch`` with: ``loss``, or for ``"auto"`` WGAN-GP for the hybrid
        and the standard GAN loss (``"bce"``) for the DCGAN."""
        if self.loss != "auto":
            return self.loss
        return "bce" if arch == "dcgan" else "wgan-gp"
