# SPDX-License-Identifier: MIT
"""``barforge pick``: choose a run's best checkpoint by the metrics on the validation data, and
export it as a model (generator only) for the app and the CLI.

GAN quality swings during training, so the last checkpoint is not necessarily the best. Each
checkpoint of the run generates ``n`` phrases; each per-track metric (EB, UPC, QN, PP, notes
per bar, pitch range) and each track pair's tonal distance is compared with the real
validation phrases as an error in units of its target tolerance (:data:`TOLERANCES`): 1.0
means "just at the target". The checkpoint with the lowest mean error wins.

Besides those averages, the listening features of :mod:`engine.note_features` count: the share
of notes at least 3 steps long (within 0.05 of real), the re-strike share (within 0.03), the
note-length histogram's total-variation distance to real (0.1 at most), and per track the
lowest of Yang and Lerch's overlapping areas over the features (0.85 at least). A model that
matches the averages with choppy notes therefore loses to one whose notes last as real ones do.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.atomic import write_bytes_atomically
from engine.data.store import PhraseDataset
from engine.generation.harmony import HarmonyStats, learn_harmony
from engine.generation.voices import DECODING_FILE, VoiceStats, learn_voices, save_voices
from engine.metrics import MetricReport, evaluate
from engine.note_features import (
    LENGTH_SHARE_STEPS,
    FeatureComparison,
    NoteFeatures,
    compare_features,
    note_features,
    reference_features,
)
from engine.pianoroll import PhraseSpec

#: Metric key -> (relative tolerance, absolute floor): a model value ``m`` meets the target for
#: a real value ``r`` when ``|m - r| <= max(relative * |r|, floor)``. The floors keep a target
#: meaningful where the real value is 0 (e.g. the chorale voices' polyphonicity); EB's target
#: is absolute (2 points) and TD's is 0.05. PR (pitch range per bar) is there so that a
#: decoding cannot buy harmony with leaps: a voice that jumps an octave to reach a chord tone
#: widens its bars' range.
TOLERANCES: dict[str, tuple[float, float]] = {
    "empty_bar_rate": (0.0, 0.02),
    "used_pitch_classes": (0.10, 0.05),
    "qualified_note_rate": (0.10, 0.01),
    "polyphonicity": (0.10, 0.01),
    "notes_per_bar": (0.10, 0.05),
    "pitch_range": (0.10, 0.5),
    "tonal_distance": (0.0, 0.05),
}
#: Listening features (:mod:`engine.note_features`) -> how their error is counted:
#: ``("closer", tolerance)``: ``|m - r| / tolerance``; ``("at_most", target)``: ``m / target``;
#: ``("at_least", target)``: ``(1 - m) / (1 - target)`` for a value in 0..1.
LISTENING_TARGETS: dict[str, tuple[str, float]] = {
    "long_note_share": ("closer", 0.05),
    "restrike": ("closer", 0.03),
    "length_tv": ("at_most", 0.1),
    "worst_oa": ("at_least", 0.85),
}
LABELS = {
    "empty_bar_rate": "EB",
    "used_pitch_classes": "UPC",
    "qualified_note_rate": "QN",
    "polyphonicity": "PP",
    "notes_per_bar": "NPB",
    "pitch_range": "PR",
    "tonal_distance": "TD",
    "long_note_share": ">=3",
    "restrike": "RS",
    "length_tv": "LTV",
    "worst_oa": "OA",
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """A model's metrics against the real ones, in units of the target tolerance."""

    errors: dict[str, list[float]]  # metric -> per track (per pair for TD), |m - r| / tolerance
    model: dict[str, list[float]]
    real: dict[str, list[float]]

    @property
    def mean_error(self) -> float:
        values = [v for vs in self.errors.values() for v in vs if math.isfinite(v)]
        return float(np.mean(values)) if values else math.inf

    @property
    def max_error(self) -> float:
        values = [v for vs in self.errors.values() for v in vs if math.isfinite(v)]
        return float(max(values)) if values else math.inf

    @property
    def targets_met(self) -> dict[str, bool]:
        return {key: all(v <= 1.0 for v in vs) for key, vs in self.errors.items()}


@dataclass(frozen=True, slots=True)
class Listening:
    """A source's note features with what :func:`compare` needs of the real ones."""

    features: NoteFeatures
    against_real: FeatureComparison


#: A source's comparison with the real phrases, and its listening features.
Measured = tuple[Comparison, Listening]


def listening(
    frames: NDArray[np.bool_],
    onsets: NDArray[np.bool_],
    spec: PhraseSpec,
    real: NoteFeatures,
    intra: NoteFeatures,
) -> Listening:
    """The listening features of phrases, compared with the real ones (``intra``: the real
    half that OA and KL measure against; see :func:`engine.note_features.compare_features`)."""
    features = note_features(frames, onsets, spec)
    return Listening(features, compare_features(features, real, intra))


def _listening_values(item: Listening) -> dict[str, NDArray[np.float64]]:
    f, c = item.features, item.against_real
    return {
        "long_note_share": f.length_shares[:, LENGTH_SHARE_STEPS.index(3)],
        "restrike": f.restrike,
        "length_tv": c.tv["length"],
        "worst_oa": c.worst_oa,
    }


def compare(
    model: MetricReport,
    real: MetricReport,
    model_listening: Listening | None = None,
    real_listening: Listening | None = None,
) -> Comparison:
    """``model`` against ``real``; pitched tracks only (drums have no pitch metrics).

    With both listening arguments, the targets of :data:`LISTENING_TARGETS` count too.
    """
    errors: dict[str, list[float]] = {}
    model_values: dict[str, list[float]] = {}
    real_values: dict[str, list[float]] = {}
    pitched = ~np.asarray(real.is_drum, dtype=bool)
    for key, (relative, floor) in TOLERANCES.items():
        m = np.asarray(getattr(model, key), dtype=float)
        r = np.asarray(getattr(real, key), dtype=float)
        if key != "tonal_distance":
            m, r = m[pitched], r[pitched]
        tolerance = np.maximum(relative * np.abs(r), floor)
        err = np.abs(m - r) / tolerance
        errors[key] = [float(e) if math.isfinite(e) else math.inf for e in err]
        model_values[key] = [float(v) for v in m]
        real_values[key] = [float(v) for v in r]
    if model_listening is not None and real_listening is not None:
        got, want = _listening_values(model_listening), _listening_values(real_listening)
        for key, (kind, target) in LISTENING_TARGETS.items():
            m, r = got[key][pitched], want[key][pitched]
            if kind == "closer":
                err = np.abs(m - r) / target
            elif kind == "at_most":
                err = m / target
            else:
                err = np.maximum(0.0, 1.0 - m) / (1.0 - target)
            errors[key] = [float(e) if math.isfinite(e) else math.inf for e in err]
            model_values[key] = [float(v) for v in m]
            real_values[key] = [float(v) for v in r]
    return Comparison(errors, model_values, real_values)


def checkpoints(run: str | os.PathLike[str]) -> list[Path]:
    """The checkpoint folders of a run (``RUN/checkpoints/step-N``), by step."""
    folder = Path(run) / "checkpoints"
    found = [p for p in folder.glob("step-*") if re.fullmatch(r"step-\d+", p.name) and p.is_dir()]
    if not found:
        raise ValueError(f"{folder}: no checkpoints (step-N folders) found")
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def validation_report(dataset: PhraseDataset) -> MetricReport:
    valid = dataset.indices("valid")
    if len(valid) == 0:
        raise ValueError("the dataset has no validation phrases")
    frames, onsets = dataset.rolls(valid)
    return evaluate(frames, onsets, dataset.spec)


def real_listening(dataset: PhraseDataset, seed: int = 0) -> tuple[Listening, NoteFeatures]:
    """The validation phrases' listening features, and those of the random half that OA and
    KL measure every model against (the other half against it gives the ceiling)."""
    frames, onsets = dataset.rolls(dataset.indices("valid"))
    whole, intra, _ = reference_features(frames, onsets, dataset.spec, seed)
    return Listening(whole, compare_features(whole, whole, intra)), intra


def main(
    data: str,
    run: str,
    out: str | None,
    n: int,
    seed: int,
    device: str | None = None,
    harmony: bool = False,
) -> int:
    """Score every checkpoint of ``run``; export the best to ``out`` (when given). With
    ``harmony``, the decoding tuned on the best one may lean on one harmony
    (:mod:`engine.generation.harmony`)."""
    from engine.gan.checkpoint import load_checkpoint, save_checkpoint
    from engine.gan.sample import decode_logits, sample_logits

    dataset = PhraseDataset.load(data)
    real = validation_report(dataset)
    real_notes, intra = real_listening(dataset)
    train_frames, train_onsets = dataset.rolls(dataset.indices("train"))
    voices = learn_voices(train_frames, train_onsets, dataset.spec)
    chords = (
        learn_harmony(train_frames, dataset.spec, voices.tracks)
        if harmony and voices.tracks
        else None
    )

    def measure(frames: NDArray[np.bool_], onsets: NDArray[np.bool_]) -> Measured:
        notes = listening(frames, onsets, dataset.spec, real_notes.features, intra)
        return compare(evaluate(frames, onsets, dataset.spec), real, notes, real_notes), notes

    rows: list[dict[str, Any]] = []
    decoded = "voices decoded as lines" if voices.tracks else "threshold 0.5"
    print(f"scoring each checkpoint on {n} phrases ({decoded})")
    print(f"{'checkpoint':<24} {'mean err':>9} {'max err':>8}  {'/'.join(LABELS.values())} met")
    best_logits: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None
    for folder in checkpoints(run):
        frame_logits, onset_logits, spec = sample_logits(folder, n, seed, device)
        if spec != dataset.spec:
            raise ValueError(f"{folder} makes phrases of {spec}, the dataset holds {dataset.spec}")
        planes = decode_logits(frame_logits, onset_logits, spec, voices if voices.tracks else None)
        result, heard = measure(*planes)
        if not rows or result.mean_error < min(r["mean_error"] for r in rows):
            best_logits = (frame_logits, onset_logits)  # the decoding is tuned on these
        met = "".join("y" if ok else "." for ok in result.targets_met.values())
        print(f"{folder.name:<24} {result.mean_error:>9.3f} {result.max_error:>8.2f}  {met}")
        rows.append(
            {
                "checkpoint": folder.name,
                "mean_error": result.mean_error,
                "max_error": result.max_error,
                "targets_met": result.targets_met,
                "model": result.model,
                "errors": result.errors,
                "listening": {
                    "features": heard.features.to_dict(),
                    "against_real": heard.against_real.to_dict(),
                },
            }
        )
    best = min(rows, key=lambda r: r["mean_error"])
    print(f"best: {best['checkpoint']} (mean error {best['mean_error']:.3f})")
    source = Path(run) / "checkpoints" / best["checkpoint"]
    assert best_logits is not None  # checkpoints() found at least one
    tuning = _tune_voices(*best_logits, dataset.spec, voices, lambda f, o: measure(f, o)[0], chords)
    chosen_voices = min((t for t in tuning if t["eligible"]), key=lambda t: t["mean_error"])
    for row in tuning:
        mark = "  <- chosen" if row is chosen_voices else ""
        if not row["eligible"]:
            lost = [LABELS[k] for k, ok in row["targets_met"].items() if not ok]
            mark = f"  (not chosen: misses {'/'.join(lost)})"
        print(f"  decoding: {row['decoding']}: mean error {row['mean_error']:.3f}{mark}")
    if out is not None:
        loaded = load_checkpoint(source, with_critic=False)
        save_checkpoint(out, loaded.generator, None, loaded.config)
        decoding_file = Path(out) / DECODING_FILE
        if chosen_voices["stats"] is not None:
            save_voices(out, chosen_voices["stats"])
        elif decoding_file.exists():
            decoding_file.unlink()  # the threshold won: no voice decoding for this model
        record = {
            "chosen": best["checkpoint"],
            "run": str(run),
            "data": str(data),
            "phrases_per_checkpoint": n,
            "seed": seed,
            "real_listening": real_notes.features.to_dict(),
            "real_validation": {
                **real_values(real),
                **{k: [float(x) for x in v] for k, v in _listening_values(real_notes).items()},
            },
            "tolerances": {k: list(v) for k, v in TOLERANCES.items()},
            "listening_targets": {k: list(v) for k, v in LISTENING_TARGETS.items()},
            "checkpoints": rows,
            "decoding": {
                "chosen": chosen_voices["decoding"],
                "tried": [{k: v for k, v in row.items() if k != "stats"} for row in tuning],
            },
        }
        write_bytes_atomically(
            Path(out) / "selection.json", (json.dumps(record, indent=1) + "\n").encode()
        )
        print(f"exported {source} to {out} (generator only), with selection.json")
    return 0


#: Weights of the voice search that pick tries on the chosen checkpoint, for each voice track
#: on its own: (transition weight, onset weight, sound bias).
VOICE_WEIGHTS = tuple(
    (w, o, b)
    for w in (0.1, 0.15, 0.25, 0.35)
    for o in (0.05, 0.1, 0.25, 0.5)
    for b in (0.0, 1.0, 2.0, 3.0, 4.0)
)


def _track_errors(result: Comparison, pitched: list[int]) -> dict[int, float]:
    """Each pitched track's mean error over the per-track metrics (TD, a pair metric, is
    left out: it depends on two tracks)."""
    out = {}
    for i, track in enumerate(pitched):
        values = [v[i] for k, v in result.errors.items() if k != "tonal_distance"]
        finite = [v for v in values if math.isfinite(v)]
        out[track] = float(np.mean(finite)) if finite else math.inf
    return out


#: Harmony weights pick tries for each voice track (0: the voice is left alone).
HARMONY_WEIGHTS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)
#: Rounds of the harmony search (each tries every weight on every voice, the others fixed).
HARMONY_ROUNDS = 2


def _tune_weights(
    frame_logits: NDArray[np.float32],
    onset_logits: NDArray[np.float32],
    spec: PhraseSpec,
    voices: VoiceStats,
    score: Callable[[NDArray[np.bool_], NDArray[np.bool_]], Comparison],
) -> VoiceStats:
    """``voices`` with each voice track's weights chosen from :data:`VOICE_WEIGHTS` by that
    track's own error (the harmony, if any, kept as it is)."""
    from engine.gan.sample import decode_logits

    pitched = [t for t, drum in enumerate(spec.is_drum) if not drum]
    best: dict[int, tuple[float, tuple[float, float, float]]] = {}
    for chosen in VOICE_WEIGHTS:
        stats = voices.with_weights(*chosen)
        per_track = _track_errors(
            score(*decode_logits(frame_logits, onset_logits, spec, stats)), pitched
        )
        for track in voices.tracks:
            if track not in best or per_track[track] < best[track][0]:
                best[track] = (per_track[track], chosen)
    weights, onset_weights, biases = ([best[t][1][i] for t in voices.tracks] for i in range(3))
    return voices.with_weights(weights, onset_weights, biases)


def _keeps(met: dict[str, bool], base: dict[str, bool]) -> bool:
    """Whether every target met in ``base`` is met in ``met`` too."""
    return all(met[key] for key, ok in base.items() if ok)


def _tune_harmony(
    frame_logits: NDArray[np.float32],
    onset_logits: NDArray[np.float32],
    spec: PhraseSpec,
    voices: VoiceStats,
    harmony: HarmonyStats,
    score: Callable[[NDArray[np.bool_], NDArray[np.bool_]], Comparison],
) -> HarmonyStats:
    """The harmony weights (from :data:`HARMONY_WEIGHTS`, per voice track) with the lowest
    mean error, TD included, among those that keep every target ``voices`` meets alone;
    found by coordinate search from all 0 (off)."""
    from engine.gan.sample import decode_logits

    def result(weights: list[float]) -> Comparison:
        stats = voices.with_harmony(harmony.with_weight(weights))
        return score(*decode_logits(frame_logits, onset_logits, spec, stats))

    weights = [0.0] * len(voices.tracks)
    base = result(weights)
    lowest = base.mean_error
    for _ in range(HARMONY_ROUNDS):
        for i in range(len(weights)):
            for w in HARMONY_WEIGHTS:
                if w == weights[i]:
                    continue
                trial = [*weights[:i], w, *weights[i + 1 :]]
                got = result(trial)
                if got.mean_error < lowest and _keeps(got.targets_met, base.targets_met):
                    lowest, weights = got.mean_error, trial
    return harmony.with_weight(weights)


def _tune_voices(
    frame_logits: NDArray[np.float32],
    onset_logits: NDArray[np.float32],
    spec: PhraseSpec,
    voices: VoiceStats,
    score: Callable[[NDArray[np.bool_], NDArray[np.bool_]], Comparison],
    harmony: HarmonyStats | None = None,
) -> list[dict[str, Any]]:
    """The chosen checkpoint's mean error under the threshold, under the voice search with
    each voice track's weights chosen from :data:`VOICE_WEIGHTS` by that track's own error
    (tracks are searched independently, so each can be tuned on its own), and, with
    ``harmony``, with the voices leaning on one harmony: its weights found by
    :func:`_tune_harmony`, then with the voice weights tuned again under it. Each row's
    ``stats`` is the decoding to save (None: the threshold); a harmony row is ``eligible``
    only when it keeps every target the plain voices meet."""
    from engine.gan.sample import decode_logits

    def describe(stats: VoiceStats) -> str:
        shown = ", ".join(
            f"{w:g}/{o:g}/{b:g}"
            for w, o, b in zip(stats.weight, stats.onset_weight, stats.sound_bias, strict=True)
        )
        text = f"voices, weight/onset weight/sound bias per track {shown}"
        if stats.harmony is not None:
            text += f"; harmony weight per track {'/'.join(f'{w:g}' for w in stats.harmony.weight)}"
        return text

    def row(stats: VoiceStats | None) -> dict[str, Any]:
        result = score(*decode_logits(frame_logits, onset_logits, spec, stats))
        return {
            "decoding": "threshold 0.5" if stats is None else describe(stats),
            "stats": stats,
            "mean_error": result.mean_error,
            "targets_met": result.targets_met,
            "eligible": True,
        }

    rows: list[dict[str, Any]] = [row(None)]
    if not voices.tracks:
        return rows
    tuned = _tune_weights(frame_logits, onset_logits, spec, voices, score)
    rows.append(row(tuned))
    if harmony is not None:
        leaning = _tune_harmony(frame_logits, onset_logits, spec, tuned, harmony, score)
        if leaning.active:
            rows.append(row(tuned.with_harmony(leaning)))
            again = _tune_weights(
                frame_logits, onset_logits, spec, tuned.with_harmony(leaning), score
            )
            rows.append(row(again))
            # The harmony may lower the mean error by trading a target that holds without it
            # (say, the bass's notes per bar) for a closer TD: then it is not chosen.
            for leaning_row in rows[2:]:
                leaning_row["eligible"] = _keeps(leaning_row["targets_met"], rows[1]["targets_met"])
    return rows


def real_values(real: MetricReport) -> dict[str, list[float]]:
    return {key: [float(v) for v in getattr(real, key)] for key in TOLERANCES}
