# SPDX-License-Identifier: MIT
"""The :class:`Composer`: one object that the CLI and the desktop app generate with.

It loads a model (the shipped default one when none is named), picks the device, warms up, and
offers seeds, variations, interpolation, bar and track regeneration, inpainting around locked
notes, bars and tracks, and accompaniment of the composer's own track. Every result is a
:class:`Take`: the notes as a :class:`~engine.music.Pattern`, the planes they came from, and
the :class:`~engine.generation.settings.Provenance` that reproduces it exactly.

Data flow of one generation::

    seed -> PieceLatents (latents.draw) -> bar inputs (temporal generators)
         -> logits (bar generator, per bar and track) -> planes (decode.binarize)
         -> velocities -> Pattern (decode.to_pattern)

Regeneration replaces the bar inputs of the chosen bars / tracks only and runs the bar
generator on those bars only; every other cell is copied, so it stays bit-identical.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from engine.gan.checkpoint import load_checkpoint
from engine.gan.device import choose_device
from engine.gan.model import HybridGenerator
from engine.generation import latents as lat
from engine.generation.decode import binarize, to_pattern, velocities, voice_lines
from engine.generation.errors import GenerationCancelled as GenerationCancelled
from engine.generation.inpaint import Progress, agreement, constraints, fit
from engine.generation.locking import enforce_locks as enforce_locks
from engine.generation.settings import Locks, OutputSettings, Provenance
from engine.generation.voices import DecodingError, VoiceStats, load_voices
from engine.models import model_id, resolve_model
from engine.music import Pattern, Track
from engine.pianoroll import PhraseSpec, PianoRoll, roll_to_pattern

BoolArray = NDArray[np.bool_]


class GenerationError(ValueError):
    """A request the composer cannot serve (a bad seed, bar count or input); the message says
    what and why."""


@dataclass(frozen=True, slots=True)
class InpaintReport:
    """How well the generator agreed with the locks, before they were enforced.

    Attributes
    ----------
    locked_on_cells : int
        Grid cells where a locked note sounds (the notes the model was asked to play).
    recall : float
        Share of those cells the model played by itself (1.0 when there are none).
    locked_off_cells : int
        Silent cells inside locked bars and tracks.
    specificity : float
        Share of those the model left silent (1.0 when there are none).
    note_recall : float
        Share of locked notes (in the grid's range) whose every cell the model played.
    unconstrained_notes : int
        Locked notes outside the model's pitch range: kept as they are, but the model could
        not be asked for them.
    candidates : int
        Latent restarts optimised in parallel; the best agreeing one was kept.
    steps : int
        Optimisation steps.
    """

    locked_on_cells: int
    recall: float
    locked_off_cells: int
    specificity: float
    note_recall: float
    unconstrained_notes: int
    candidates: int
    steps: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True, eq=False)
class Take:
    """One result.

    Attributes
    ----------
    pattern : Pattern
        The notes, with the model's tracks (or the input pattern's, for inpaint / accompany).
    frames, onsets : ndarray of bool, shape=(n_tracks, n_bars, n_steps_per_bar, n_pitches)
        The generated planes (before locks were enforced).
    velocity_plane : ndarray of uint8, same shape
    provenance : Provenance
    report : InpaintReport or None
        For inpaint and accompany.
    latents : PieceLatents
        The piece's latents (CPU). Regeneration reads its time-independent parts and replaces
        a regenerated track's; after a bar was regenerated, ``provenance.bar_inputs`` (not
        these) is what the bars were made from.
    """

    pattern: Pattern
    frames: BoolArray
    onsets: BoolArray
    velocity_plane: NDArray[np.uint8]
    provenance: Provenance
    latents: lat.PieceLatents
    report: InpaintReport | None = None

    @property
    def seed(self) -> int:
        return self.provenance.seed

    @property
    def n_bars(self) -> int:
        return self.provenance.n_bars


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**63:
        raise GenerationError(f"seed must be an integer in 0..2**63-1, got {seed!r}")
    return int(seed)


class Composer:
    """Generates, varies, regenerates and inpaints with one hybrid model.

    Parameters
    ----------
    model : path, optional
        A checkpoint folder; None: the default model (:func:`engine.models.default_model_dir`).
    device : str, optional
        ``"auto"``/None (CUDA, MPS, else CPU), ``"cpu"``, ``"cuda"``...
    settings : OutputSettings
        The default output settings of every call.
    continuity : float
        How much each further chunk of a long piece follows the previous one, in [0, 1).
    warm_up : bool
        Run one generation now so that the first request is as fast as the others.

    Raises
    ------
    engine.gan.errors.CheckpointError
        When the model folder is missing or not a valid checkpoint.
    GenerationError
        When the model is not a hybrid (the DCGAN baseline cannot regenerate or inpaint).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        device: str | None = None,
        settings: OutputSettings | None = None,
        continuity: float = 0.9,
        warm_up: bool = True,
    ) -> None:
        if not 0.0 <= continuity < 1.0:
            raise GenerationError(f"continuity must be in [0, 1), got {continuity!r}")
        self.model_dir = resolve_model(model)
        self.device = choose_device(device)
        loaded = load_checkpoint(self.model_dir, device=self.device, with_critic=False)
        if not isinstance(loaded.generator, HybridGenerator):
            raise GenerationError(
                f"{self.model_dir}: a {loaded.config.arch} model; generation needs a hybrid one"
            )
        self.generator: HybridGenerator = loaded.generator
        self.generator.requires_grad_(False)
        self.config = loaded.config
        self.spec: PhraseSpec = loaded.config.spec
        try:
            #: The voice decoding learned with the model (None: threshold decoding).
            self.voices: VoiceStats | None = load_voices(self.model_dir, self.spec)
        except DecodingError as e:
            raise GenerationError(str(e)) from None
        self.model_id = model_id(self.model_dir)
        self.settings = settings or OutputSettings()
        self.continuity = float(continuity)
        if warm_up:
            self.generate(0)
            self.regenerate(self.generate(1), bars=[0])

    # --- plain generation ------------------------------------------------------------------
    @property
    def native_bars(self) -> int:
        """Bars of one phrase of the model."""
        return self.config.n_bars

    def generate(
        self, seed: int, n_bars: int | None = None, settings: OutputSettings | None = None
    ) -> Take:
        """The piece of ``n_bars`` (default: the model's phrase length) that ``seed`` gives:
        the same for the same model, seed, settings and device."""
        seed = _check_seed(seed)
        n_bars = self._check_bars(n_bars)
        latents = lat.draw(self.config, seed, lat.n_chunks(self.config, n_bars), self.continuity)
        history = ({"op": "generate", "seed": seed, "n_bars": n_bars},)
        return self._render(latents, seed, n_bars, settings, [seed], [history])[0]

    def variations(
        self,
        seed: int,
        n: int,
        strength: float,
        n_bars: int | None = None,
        settings: OutputSettings | None = None,
    ) -> list[Take]:
        """``n`` variations around ``seed``: variation ``i`` mixes the seed's latents with noise
        of its own (from seed and ``i``), by ``strength`` from 0 (the seed's piece) to 1
        (unrelated). Variation ``i`` has the same latents whatever ``n`` is (its notes can
        differ only where a probability lies within float rounding of the threshold, as
        batches of other sizes round differently)."""
        seed = _check_seed(seed)
        n_bars = self._check_bars(n_bars)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 256:
            raise GenerationError(f"variations: n must be an integer in 1..256, got {n!r}")
        if not (isinstance(strength, int | float) and 0.0 <= strength <= 1.0):
            raise GenerationError(f"variations: strength must be in [0, 1], got {strength!r}")
        strength = float(strength)
        base = lat.draw(self.config, seed, lat.n_chunks(self.config, n_bars), self.continuity)
        mixed, sampling, histories = [], [], []
        for i in range(n):
            noise = lat.noise_like(base, lat.derive_seed("variation", seed, i))
            mixed.append(lat.mix(base, noise, strength))
            sampling.append(seed if strength == 0.0 else lat.derive_seed("sampling", seed, i))
            histories.append(
                (
                    {
                        "op": "variation",
                        "seed": seed,
                        "index": i,
                        "of": n,
                        "strength": strength,
                        "n_bars": n_bars,
                    },
                )
            )
        return self._render(
            lat.PieceLatents.cat(mixed), seed, n_bars, settings, sampling, histories
        )

    def interpolate(
        self,
        a: int,
        b: int,
        steps: int,
        n_bars: int | None = None,
        settings: OutputSettings | None = None,
    ) -> list[Take]:
        """``steps`` pieces on a path from seed ``a``'s to seed ``b``'s (spherical interpolation
        of their latents); the first is ``generate(a)`` and the last ``generate(b)``."""
        a, b = _check_seed(a), _check_seed(b)
        n_bars = self._check_bars(n_bars)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= 256:
            raise GenerationError(f"interpolate: steps must be an integer in 2..256, got {steps!r}")
        chunks = lat.n_chunks(self.config, n_bars)
        la = lat.draw(self.config, a, chunks, self.continuity)
        lb = lat.draw(self.config, b, chunks, self.continuity)
        points = [i / (steps - 1) for i in range(steps)]
        path = lat.PieceLatents.cat([lat.slerp(la, lb, t) for t in points])
        sampling = [
            a if t == 0.0 else b if t == 1.0 else lat.derive_seed("path", a, b, t) for t in points
        ]
        histories = [
            (
                {
                    "op": "interpolate",
                    "a": a,
                    "b": b,
                    "t": t,
                    "index": i,
                    "of": steps,
                    "n_bars": n_bars,
                },
            )
            for i, t in enumerate(points)
        ]
        return self._render(path, a, n_bars, settings, sampling, histories)

    def blend(
        self,
        a: Provenance | int,
        b: Provenance | int,
        steps: int,
        settings: OutputSettings | None = None,
    ) -> list[Take]:
        """``steps`` pieces on a straight path between two takes the composer kept (say, two
        favourite variations), by their bar inputs: the first is rendered from ``a``'s inputs
        with ``a``'s sampling seed, the last from ``b``'s; in between, ``(1 - t) * a + t * b``.

        ``a`` and ``b`` are provenances of this model with the same bar count, or seeds (their
        plain generation). ``settings`` default to ``a``'s. The takes' ``latents`` are seed
        ``a``'s drawn latents, which regeneration uses only for their shape and for the fresh
        parts it draws; their bars come from ``provenance.bar_inputs``.
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= 256:
            raise GenerationError(f"blend: steps must be an integer in 2..256, got {steps!r}")
        ends = [self.generate(x).provenance if not isinstance(x, Provenance) else x for x in (a, b)]
        pa, pb = ends
        for which, p in (("a", pa), ("b", pb)):
            if p.model_id != self.model_id:
                raise GenerationError(
                    f"blend: take {which} was made by model {p.model_id}, this is {self.model_id}"
                )
        if pa.bar_inputs.shape != pb.bar_inputs.shape or pa.n_bars != pb.n_bars:
            raise GenerationError(
                f"blend: the takes differ in length ({pa.n_bars} and {pb.n_bars} bars)"
            )
        settings = settings or pa.settings
        points = [i / (steps - 1) for i in range(steps)]
        inputs = np.stack(
            [
                pa.bar_inputs
                if t == 0.0
                else pb.bar_inputs
                if t == 1.0
                else ((1.0 - t) * pa.bar_inputs + t * pb.bar_inputs).astype(np.float32)
                for t in points
            ]
        )
        with torch.inference_mode():
            frame_logits, onset_logits = self.generator.generate_bars(
                self._to_device(torch.from_numpy(inputs))
            )
        fl_all = frame_logits.float().cpu().numpy()
        ol_all = onset_logits.float().cpu().numpy()
        latents = lat.draw(
            self.config, pa.seed, lat.n_chunks(self.config, pa.n_bars), self.continuity
        )
        lines = voice_lines(fl_all, ol_all, self.spec, settings, self.voices)  # all at once
        takes = []
        for i, t in enumerate(points):
            sampling_seed = (
                pa.sampling_seed
                if t == 0.0
                else pb.sampling_seed
                if t == 1.0
                else lat.derive_seed("blend", pa.sampling_seed, pb.sampling_seed, t)
            )
            rng = np.random.default_rng(sampling_seed)
            frames, onsets = binarize(
                fl_all[i], ol_all[i], self.spec, settings, rng, self.voices,
                None if lines is None else (lines[0][i], lines[1][i]),
            )  # fmt: skip
            vel = velocities(frames, onsets, self.spec, settings, rng)
            history = (
                {
                    "op": "blend",
                    "a": [dict(h) for h in pa.history],
                    "b": [dict(h) for h in pb.history],
                    "t": t,
                    "index": i,
                    "of": steps,
                },
            )
            provenance = Provenance(
                self.model_id, pa.seed, pa.n_bars, inputs[i], settings, sampling_seed, history
            )
            pattern = to_pattern(frames, onsets, vel, self.spec)
            takes.append(Take(pattern, frames, onsets, vel, provenance, latents))
        return takes

    # --- regeneration ----------------------------------------------------------------------
    def regenerate(
        self,
        take: Take,
        bars: Iterable[int] | None = None,
        tracks: Iterable[int] | None = None,
        seed: int | None = None,
    ) -> Take:
        """Resample the chosen bars and/or tracks of ``take``; every other cell stays
        bit-identical.

        ``bars`` only: the bars' temporal latents change for every track (the piece's character,
        its time-independent latents, stays). ``tracks`` only: the tracks' own latents change in
        every bar. Both: only those tracks in those bars. ``seed`` picks the new latents
        (default: derived from the take's history, so the same request gives the same result).
        The take's locks (if it came from inpaint or accompany) are enforced again.
        """
        n_bars, n_tracks = take.n_bars, self.spec.n_tracks
        bar_list = self._indices("bars", bars, n_bars)
        track_list = self._indices("tracks", tracks, n_tracks)
        if bar_list == [] or track_list == []:
            raise GenerationError("regenerate: choose at least one bar or track")
        if seed is None:
            seed = lat.derive_seed("regenerate", take.provenance.history, bar_list, track_list)
        seed = _check_seed(seed)
        fresh = lat.draw(self.config, seed, take.latents.n_chunks, self.continuity)
        old = take.latents
        chosen_bars = bar_list if bar_list is not None else list(range(n_bars))
        chosen_tracks = track_list if track_list is not None else list(range(n_tracks))
        inputs = torch.from_numpy(take.provenance.bar_inputs.copy())[None].to(self.device)
        fresh_inputs = self._bar_inputs(
            lat.PieceLatents(
                old.shared, fresh.private, fresh.shared_temporal, fresh.private_temporal
            ),
            n_bars,
        )
        c = self.config
        shared_temporal = slice(c.d_shared, c.d_shared + c.d_bar_temporal)
        start = c.d_shared + c.d_bar_temporal
        private_part = slice(start, start + c.d_private)
        private_temporal = slice(start + c.d_private, None)
        mixed = inputs.clone()
        rows = torch.tensor(chosen_tracks)[:, None]
        cols = torch.tensor(chosen_bars)[None, :]
        parts = [private_temporal]
        if track_list is None:
            parts.append(shared_temporal)
        if bar_list is None:
            parts.append(private_part)
        for part in parts:
            mixed[0, rows, cols, part] = fresh_inputs[0, rows, cols, part]
        # Only the chosen bars run through the bar generator; the rest is copied.
        with torch.inference_mode():
            frame_logits, onset_logits = self.generator.generate_bars(mixed[:, :, chosen_bars])
        settings = take.provenance.settings
        sampling_seed = lat.derive_seed("sampling", seed)
        rng = np.random.default_rng(sampling_seed)
        fl = frame_logits[0].float().cpu().numpy()
        ol = onset_logits[0].float().cpu().numpy()
        frames_new, onsets_new = binarize(fl, ol, self.spec, settings, rng, self.voices)
        vel_new = velocities(frames_new, onsets_new, self.spec, settings, rng)
        frames, onsets = take.frames.copy(), take.onsets.copy()
        vel = take.velocity_plane.copy()
        grid_rows = np.asarray(chosen_tracks)[:, None]
        grid_cols = np.asarray(chosen_bars)[None, :]
        local = np.arange(len(chosen_bars))[None, :]
        frames[grid_rows, grid_cols] = frames_new[grid_rows, local]
        onsets[grid_rows, grid_cols] = onsets_new[grid_rows, local]
        vel[grid_rows, grid_cols] = vel_new[grid_rows, local]
        history = (
            *take.provenance.history,
            {"op": "regenerate", "bars": bar_list, "tracks": track_list, "seed": seed},
        )
        provenance = dataclasses.replace(
            take.provenance,
            bar_inputs=mixed[0].float().cpu().numpy(),
            sampling_seed=sampling_seed,
            history=history,
        )
        pattern = self._pattern(frames, onsets, vel, take.pattern)
        if not take.provenance.locks.empty:
            pattern = enforce_locks(pattern, take.pattern, take.provenance.locks)
        private = old.private.clone()
        if bar_list is None:
            private[:, chosen_tracks] = fresh.private[:, chosen_tracks]
        new_latents = dataclasses.replace(old, private=private)
        return Take(pattern, frames, onsets, vel, provenance, new_latents)

    # --- reproduction ----------------------------------------------------------------------
    def reproduce(self, provenance: Provenance, source: Pattern | None = None) -> Take:
        """The take that ``provenance`` describes, made again by replaying its history with its
        settings: the same notes on the same device.

        ``source`` is the pattern an inpaint or accompany started from (its locked bars and
        tracks are not in the provenance); it is needed only for those.

        Raises
        ------
        GenerationError
            When the provenance comes from another model, names an unknown operation, or needs
            ``source``.
        """
        if provenance.model_id != self.model_id:
            raise GenerationError(
                f"reproduce: the take was made by model {provenance.model_id}, this is "
                f"{self.model_id}"
            )
        settings = provenance.settings
        take: Take | None = None
        for step in provenance.history:
            op = step.get("op")
            if op == "generate":
                take = self.generate(int(step["seed"]), int(step["n_bars"]), settings)
            elif op == "variation":
                # The whole batch again: a take's notes are exactly reproducible only from the
                # same batch (float rounding may differ between batch sizes).
                take = self.variations(
                    int(step["seed"]),
                    int(step["of"]),
                    float(step["strength"]),
                    int(step["n_bars"]),
                    settings,
                )[int(step["index"])]
            elif op == "interpolate":
                take = self.interpolate(
                    int(step["a"]), int(step["b"]), int(step["of"]), int(step["n_bars"]), settings
                )[int(step["index"])]
            elif op in ("inpaint", "accompany"):
                if source is None:
                    raise GenerationError(f"reproduce: an {op} needs the pattern it started from")
                if op == "accompany":
                    take = self.accompany(
                        source,
                        int(step["track"]),
                        int(step["seed"]),
                        settings,
                        int(step["candidates"]),
                        int(step["steps"]),
                        locks=provenance.locks,
                    )
                else:
                    take = self.inpaint(
                        source,
                        provenance.locks,
                        int(step["seed"]),
                        settings,
                        int(step["candidates"]),
                        int(step["steps"]),
                    )
            elif op == "blend":
                a = self.reproduce(dataclasses.replace(provenance, history=tuple(step["a"])))
                b = self.reproduce(dataclasses.replace(provenance, history=tuple(step["b"])))
                take = self.blend(a.provenance, b.provenance, int(step["of"]), settings)[
                    int(step["index"])
                ]
            elif op == "regenerate" and take is not None:
                take = self.regenerate(take, step["bars"], step["tracks"], int(step["seed"]))
            else:
                raise GenerationError(f"reproduce: cannot replay operation {step!r}")
        if take is None:
            raise GenerationError("reproduce: the provenance has no history")
        return take

    # --- helpers ---------------------------------------------------------------------------
    def _check_bars(self, n_bars: int | None) -> int:
        if n_bars is None:
            return self.native_bars
        if isinstance(n_bars, bool) or not isinstance(n_bars, int) or not 1 <= n_bars <= 1024:
            raise GenerationError(f"n_bars must be an integer in 1..1024, got {n_bars!r}")
        return n_bars

    @staticmethod
    def _indices(name: str, values: Iterable[int] | None, size: int) -> list[int] | None:
        if values is None:
            return None
        out = sorted({int(v) for v in values})
        bad = [v for v in out if not 0 <= v < size]
        if bad:
            raise GenerationError(f"regenerate: {name} {bad} out of range 0..{size - 1}")
        return out

    def _bar_inputs(self, latents: lat.PieceLatents, n_bars: int) -> Tensor:
        with torch.inference_mode():
            return lat.bar_inputs(self.generator, latents.map(self._to_device), n_bars)

    def _to_device(self, x: Tensor) -> Tensor:
        return x.to(self.device)

    def _render(
        self,
        latents: lat.PieceLatents,
        seed: int,
        n_bars: int,
        settings: OutputSettings | None,
        sampling_seeds: Sequence[int],
        histories: Sequence[tuple[dict[str, Any], ...]],
    ) -> list[Take]:
        settings = settings or self.settings
        inputs = self._bar_inputs(latents, n_bars)
        with torch.inference_mode():
            frame_logits, onset_logits = self.generator.generate_bars(inputs)
        fl_all = frame_logits.float().cpu().numpy()
        ol_all = onset_logits.float().cpu().numpy()
        inputs_cpu = inputs.float().cpu().numpy()
        lines = voice_lines(fl_all, ol_all, self.spec, settings, self.voices)  # all at once
        takes = []
        for i, (sampling_seed, history) in enumerate(zip(sampling_seeds, histories, strict=True)):
            rng = np.random.default_rng(sampling_seed)
            frames, onsets = binarize(
                fl_all[i], ol_all[i], self.spec, settings, rng, self.voices,
                None if lines is None else (lines[0][i], lines[1][i]),
            )  # fmt: skip
            vel = velocities(frames, onsets, self.spec, settings, rng)
            provenance = Provenance(
                self.model_id, seed, n_bars, inputs_cpu[i], settings, sampling_seed, history
            )
            pattern = to_pattern(frames, onsets, vel, self.spec)
            takes.append(Take(pattern, frames, onsets, vel, provenance, latents[i]))
        return takes

    def _pattern(
        self, frames: BoolArray, onsets: BoolArray, vel: NDArray[np.uint8], like: Pattern
    ) -> Pattern:
        """The planes' notes in a pattern shaped like ``like`` (its tracks' names, programs and
        channels, its ticks per quarter and tempo)."""
        return roll_to_pattern(PianoRoll(frames, onsets, vel, self.spec.grid), like)

    def _fit_pattern(self, pattern: Pattern, what: str) -> Pattern:
        """``pattern`` checked against the model: its meter, track count and resolution."""
        if not isinstance(pattern, Pattern):
            raise GenerationError(f"{what}: expected a Pattern, got {type(pattern).__name__}")
        meter = pattern.time_signature
        if meter.numerator * 4 != self.spec.beats_per_bar * meter.denominator:
            raise GenerationError(
                f"{what}: the pattern is in {meter}, the model writes bars of "
                f"{self.spec.beats_per_bar} quarter notes"
            )
        if len(pattern.tracks) != self.spec.n_tracks:
            raise GenerationError(
                f"{what}: the pattern has {len(pattern.tracks)} tracks, the model "
                f"{self.spec.n_tracks} ({', '.join(self.spec.track_names)})"
            )
        if pattern.bar_ticks % self.spec.n_steps_per_bar:
            raise GenerationError(
                f"{what}: a bar of {pattern.bar_ticks} ticks does not split into the model's "
                f"{self.spec.n_steps_per_bar} steps; use a ticks-per-quarter divisible by "
                f"{self.spec.steps_per_beat}"
            )
        return pattern

    # --- inpainting ------------------------------------------------------------------------
    def inpaint(
        self,
        pattern: Pattern,
        locks: Locks,
        seed: int = 0,
        settings: OutputSettings | None = None,
        candidates: int = 4,
        steps: int = 20,
        what: str = "inpaint",
        *,
        progress: Progress | None = None,
    ) -> Take:
        """Generate around what ``locks`` keeps of ``pattern``: the locked notes, bars and tracks
        stay exactly as they are (their ticks and velocities too), and the rest is generated to
        fit them.

        ``candidates`` latent restarts (from ``seed``) are optimised for ``steps`` Adam steps so
        that the generator's own output agrees with the locks; the best one fills the unlocked
        part. :attr:`Take.report` says how well it agreed before the locks were enforced.
        ``what`` names the operation in error messages.

        ``progress``, if given, is called as ``progress(done, steps)`` after each step (``done``
        from 1 to ``steps``; the restarts run together); returning False cancels. It does not
        change the result.

        Raises
        ------
        GenerationError
            When the request is invalid (checked before any work is done).
        GenerationCancelled
            When ``progress`` returned False.
        """
        seed = _check_seed(seed)
        self._fit_pattern(pattern, what)
        if not isinstance(locks, Locks) or locks.empty:
            raise GenerationError(f"{what}: nothing is locked; use generate for a new piece")
        bad_tracks = sorted(
            t for t in locks.tracks | {t for t, _ in locks.notes} if t >= self.spec.n_tracks
        )
        bad_bars = sorted(b for b in locks.bars if b >= pattern.n_bars)
        if bad_tracks or bad_bars:
            raise GenerationError(
                f"{what}: locks name tracks {bad_tracks} / bars {bad_bars} that the pattern "
                f"({self.spec.n_tracks} tracks, {pattern.n_bars} bars) does not have"
            )
        beyond = [n for _, n in locks.notes if n.end > pattern.length_ticks]
        if beyond:
            raise GenerationError(
                f"{what}: {len(beyond)} locked note(s) end after the pattern's "
                f"{pattern.n_bars} bars (the first at tick {beyond[0].end})"
            )
        for name, value, high in (("candidates", candidates, 256), ("steps", steps, 10_000)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise GenerationError(f"{what}: {name} must be an integer in 1..{high}")
        settings = settings or self.settings
        n_bars = pattern.n_bars
        target = constraints(pattern, locks, self.spec)
        chunks = lat.n_chunks(self.config, n_bars)
        start = lat.PieceLatents.cat(
            [
                lat.draw(self.config, lat.derive_seed("inpaint", seed, k), chunks, self.continuity)
                for k in range(candidates)
            ]
        )
        latents, frame_logits, onset_logits, losses = fit(
            self.generator, start.map(self._to_device), n_bars, target, steps, progress=progress
        )
        best = int(torch.argmin(losses).item())
        sampling_seed = lat.derive_seed("sampling", "inpaint", seed)
        rng = np.random.default_rng(sampling_seed)
        frames, onsets = binarize(
            frame_logits[best].float().cpu().numpy(),
            onset_logits[best].float().cpu().numpy(),
            self.spec,
            settings,
            rng,
            self.voices,
        )
        n_on, recall, n_off, specificity, note_recall = agreement(frames, target)
        report = InpaintReport(
            n_on,
            recall,
            n_off,
            specificity,
            note_recall,
            target.unconstrained_notes,
            candidates,
            steps,
        )
        vel = velocities(frames, onsets, self.spec, settings, rng)
        generated = self._pattern(frames, onsets, vel, pattern)
        result = enforce_locks(generated, pattern, locks)
        with torch.inference_mode():
            best_latents = latents[best]
            inputs = lat.bar_inputs(self.generator, best_latents, n_bars)[0]
        provenance = Provenance(
            self.model_id,
            seed,
            n_bars,
            inputs.float().cpu().numpy(),
            settings,
            sampling_seed,
            ({"op": "inpaint", "seed": seed, "candidates": candidates, "steps": steps},),
            locks,
        )
        return Take(result, frames, onsets, vel, provenance, best_latents.map(_cpu), report)

    def accompany(
        self,
        pattern: Pattern,
        track: int,
        seed: int = 0,
        settings: OutputSettings | None = None,
        candidates: int = 4,
        steps: int = 20,
        *,
        locks: Locks | None = None,
        progress: Progress | None = None,
    ) -> Take:
        """Keep the composer's own track and generate the other tracks around it.

        ``pattern`` either has the model's tracks (``track`` is the one to keep) or a single
        track, which becomes the model's track ``track`` (say the soprano, 0, for a melody).
        ``locks`` (of a pattern with the model's tracks) are kept too: the locked notes, bars
        and other tracks stay exactly as they are. ``progress`` is as for :meth:`inpaint`
        (returning False raises :class:`GenerationCancelled`).
        """
        if not isinstance(pattern, Pattern):
            raise GenerationError(f"accompany: expected a Pattern, got {type(pattern).__name__}")
        if (
            isinstance(track, bool)
            or not isinstance(track, int)
            or not 0 <= track < self.spec.n_tracks
        ):
            raise GenerationError(
                f"accompany: track must be in 0..{self.spec.n_tracks - 1} "
                f"({', '.join(self.spec.track_names)}), got {track!r}"
            )
        if len(pattern.tracks) == 1 and self.spec.n_tracks > 1:
            template = self.spec.template(pattern.n_bars, pattern.tempo_us)
            tracks = list(template.tracks)
            own = pattern.tracks[0]
            if own.is_drum == tracks[track].is_drum:
                tracks[track] = own.with_notes(own.notes)
            else:
                tracks[track] = tracks[track].with_notes(own.notes)
            pattern = dataclasses.replace(
                pattern,
                tracks=tuple(
                    dataclasses.replace(t, channel=c) if i != track else t
                    for i, (t, c) in enumerate(
                        zip(tracks, self._free_channels(tracks, track), strict=True)
                    )
                ),
            )
        if locks is not None and not isinstance(locks, Locks):
            raise GenerationError(f"accompany: locks must be Locks, got {type(locks).__name__}")
        kept = locks or Locks()
        take = self.inpaint(
            pattern,
            Locks(kept.notes, kept.bars, kept.tracks | {track}),
            seed,
            settings,
            candidates,
            steps,
            what="accompany",
            progress=progress,
        )
        history = ({**take.provenance.history[0], "op": "accompany", "track": track},)
        return dataclasses.replace(
            take, provenance=dataclasses.replace(take.provenance, history=history)
        )

    @staticmethod
    def _free_channels(tracks: list[Track], keep: int) -> list[int]:
        """Channels for the tracks: the kept one's own, and the others the defaults, skipping
        the kept one's channel."""
        own = tracks[keep].channel
        free = [c for c in range(16) if c != 9 and c != own]
        out = []
        for i, t in enumerate(tracks):
            if i == keep:
                out.append(own)
            elif t.is_drum:
                out.append(9)
            else:
                out.append(free.pop(0))
        return out


def _cpu(x: Tensor) -> Tensor:
    return x.detach().cpu()
