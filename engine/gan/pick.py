# SPDX-License-Identifier: MIT
"""``barforge pick``: choose a run's best checkpoint by the metrics on the validation data, and
export it as a model (generator only) for the app and the CLI.

GAN quality swings during training, so the last checkpoint is not necessarily the best. Each
checkpoint of the run generates ``n`` phrases; each per-track metric (EB, UPC, QN, PP, notes
per bar) and each track pair's tonal distance is compared with the real validation phrases as
an error in units of its target tolerance (:data:`TOLERANCES`): 1.0 means "just at the target".
The checkpoint with the lowest mean error wins.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.atomic import write_bytes_atomically
from engine.data.store import PhraseDataset
from engine.metrics import MetricReport, evaluate

#: Metric key -> (relative tolerance, absolute floor): a model value ``m`` meets the target for
#: a real value ``r`` when ``|m - r| <= max(relative * |r|, floor)``. The floors keep a target
#: meaningful where the real value is 0 (e.g. the chorale voices' polyphonicity); EB's target
#: is absolute (2 points) and TD's is 0.05.
TOLERANCES: dict[str, tuple[float, float]] = {
    "empty_bar_rate": (0.0, 0.02),
    "used_pitch_classes": (0.10, 0.05),
    "qualified_note_rate": (0.10, 0.01),
    "polyphonicity": (0.10, 0.01),
    "notes_per_bar": (0.10, 0.05),
    "tonal_distance": (0.0, 0.05),
}
LABELS = {
    "empty_bar_rate": "EB",
    "used_pitch_classes": "UPC",
    "qualified_note_rate": "QN",
    "polyphonicity": "PP",
    "notes_per_bar": "NPB",
    "tonal_distance": "TD",
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


def compare(model: MetricReport, real: MetricReport) -> Comparison:
    """``model`` against ``real``; pitched tracks only (drums have no pitch metrics)."""
    errors: dict[str, list[float]] = {}
    model_values: dict[str, list[float]] = {}
    real_values: dict[str, list[float]] = {}
    for key, (relative, floor) in TOLERANCES.items():
        m = np.asarray(getattr(model, key), dtype=float)
        r = np.asarray(getattr(real, key), dtype=float)
        if key != "tonal_distance":
            pitched = ~np.asarray(real.is_drum, dtype=bool)
            m, r = m[pitched], r[pitched]
        tolerance = np.maximum(relative * np.abs(r), floor)
        err = np.abs(m - r) / tolerance
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


def main(data: str, run: str, out: str | None, n: int, seed: int, device: str | None = None) -> int:
    """Score every checkpoint of ``run``; export the best to ``out`` (when given)."""
    from engine.gan.checkpoint import load_checkpoint, save_checkpoint
    from engine.gan.sample import sample_checkpoint

    dataset = PhraseDataset.load(data)
    real = validation_report(dataset)
    rows: list[dict[str, Any]] = []
    print(f"{'checkpoint':<24} {'mean err':>9} {'max err':>8}  EB/UPC/QN/PP/NPB/TD met")
    for folder in checkpoints(run):
        frames, onsets, spec = sample_checkpoint(folder, n, seed, device)
        if spec != dataset.spec:
            raise ValueError(f"{folder} makes phrases of {spec}, the dataset holds {dataset.spec}")
        result = compare(evaluate(frames, onsets, spec), real)
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
            }
        )
    best = min(rows, key=lambda r: r["mean_error"])
    print(f"best: {best['checkpoint']} (mean error {best['mean_error']:.3f})")
    if out is not None:
        source = Path(run) / "checkpoints" / best["checkpoint"]
        loaded = load_checkpoint(source, with_critic=False)
        save_checkpoint(out, loaded.generator, None, loaded.config)
        record = {
            "chosen": best["checkpoint"],
            "run": str(run),
            "data": str(data),
            "phrases_per_checkpoint": n,
            "seed": seed,
            "real_validation": real_values(real),
            "tolerances": {k: list(v) for k, v in TOLERANCES.items()},
            "checkpoints": rows,
        }
        write_bytes_atomically(
            Path(out) / "selection.json", (json.dumps(record, indent=1) + "\n").encode()
        )
        print(f"exported {source} to {out} (generator only), with selection.json")
    return 0


def real_values(real: MetricReport) -> dict[str, list[float]]:
    return {key: [float(v) for v in getattr(real, key)] for key in TOLERANCES}
