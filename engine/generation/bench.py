# SPDX-License-Identifier: MIT
"""``barforge bench generate``: how fast the :class:`~engine.generation.composer.Composer`
answers, and how well inpainting agrees with real music.

Latency, median and p95 of timed calls (``time.perf_counter``, the device synchronized around
each call) after a warm-up, of what the app asks for interactively:

- *generate*: one phrase of the model's length, a different seed each call;
- *variations*: 16 variations of one seed (one batch), a different seed each call;
- *regenerate*: one bar of a fixed take, a different bar each call;
- *inpaint*: bars 0 and 1 of a generated take locked, the rest generated around them;
- *accompany*: track 0 of a generated take kept, the other tracks generated around it.

Inpaint and accompany optimise latents and are timed ``max(5, repeats // 5)`` times. Each
operation has a target (:data:`TARGETS_MS`); the table says whether the median and the p95
meet it.

With a dataset, *inpaint agreement on the validation set*: for validation phrases spread over
the split, ``accompany(phrase, 0)`` and ``inpaint(phrase, Locks(bars=[0, 1]))``, and the mean
over phrases of the :class:`~engine.generation.composer.InpaintReport` figures (recall,
specificity, note recall), plus recall and specificity pooled over all locked cells.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from engine.atomic import write_bytes_atomically
from engine.data.store import DatasetError, PhraseDataset
from engine.gan.errors import CheckpointError
from engine.generation.composer import Composer, GenerationError, InpaintReport
from engine.generation.settings import Locks
from engine.music import Pattern

PROG = "barforge bench generate"
#: Latency targets (milliseconds) of each operation.
TARGETS_MS: dict[str, float] = {
    "generate": 5.0,
    "variations": 25.0,
    "regenerate": 5.0,
    "inpaint": 250.0,
    "accompany": 250.0,
}
#: What each operation does, for the table.
WHAT: dict[str, str] = {
    "generate": "1 phrase, new seed each call",
    "variations": "16 variations of a seed",
    "regenerate": "1 bar of a fixed take",
    "inpaint": "bars 0-1 locked",
    "accompany": "track 0 kept",
}
N_VARIATIONS = 16
#: Warm-up calls of the fast operations and of inpaint / accompany.
WARM_UP = 5
WARM_UP_HEAVY = 1


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _times(action: Callable[[int], object], repeats: int, device: torch.device) -> list[float]:
    """Seconds of ``action(i)`` for ``i`` in ``range(repeats)``."""
    out = []
    for i in range(repeats):
        _sync(device)
        began = time.perf_counter()
        action(i)
        _sync(device)
        out.append(time.perf_counter() - began)
    return out


def device_name(device: torch.device) -> str:
    """A readable name of the device: the GPU's model, or the CPU's."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({_cpu_model() or platform.processor() or platform.machine() or 'unknown'})"
    return str(device)


def _cpu_model() -> str | None:
    """The CPU's model name where the system says it (Linux's /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return None


def _figures(times: list[float], target_ms: float, what: str) -> dict[str, Any]:
    median = 1000 * statistics.median(times)
    p95 = 1000 * float(np.percentile(times, 95))
    return {
        "what": what,
        "calls": len(times),
        "median_ms": median,
        "p95_ms": p95,
        "target_ms": target_ms,
        "met_median": median <= target_ms,
        "met_p95": p95 <= target_ms,
    }


def latency(composer: Composer, repeats: int) -> dict[str, dict[str, Any]]:
    """Median and p95 latency of the five operations (see the module's docstring)."""
    heavy = max(5, repeats // 5)
    device = composer.device
    n_bars = composer.native_bars
    take = composer.generate(0)
    locked_bars = Locks(bars=[b for b in (0, 1) if b < n_bars])
    actions: dict[str, tuple[Callable[[int], object], int, int]] = {
        # Seeds from 1000 on: seed 0 is the fixed take, and the warm-up uses its own seeds.
        "generate": (lambda i: composer.generate(1000 + i), repeats, WARM_UP),
        "variations": (
            lambda i: composer.variations(1000 + i, N_VARIATIONS, 0.3),
            repeats,
            WARM_UP,
        ),
        "regenerate": (lambda i: composer.regenerate(take, bars=[i % n_bars]), repeats, WARM_UP),
        "inpaint": (
            lambda i: composer.inpaint(take.pattern, locked_bars, seed=1000 + i),
            heavy,
            WARM_UP_HEAVY,
        ),
        "accompany": (
            lambda i: composer.accompany(take.pattern, 0, seed=1000 + i),
            heavy,
            WARM_UP_HEAVY,
        ),
    }
    out = {}
    for name, (action, count, warm) in actions.items():
        for i in range(warm):
            action(500 + i)
        out[name] = _figures(_times(action, count, device), TARGETS_MS[name], WHAT[name])
    return out


def validation_patterns(dataset: PhraseDataset, composer: Composer, n: int) -> list[Pattern]:
    """Up to ``n`` validation phrases of ``dataset`` (spread evenly over the split) as patterns
    with the model's tracks.

    Raises
    ------
    ValueError
        When the dataset's phrases do not fit the model (tracks, grid or pitch axis), or it has
        no validation phrases.
    """
    data, model = dataset.spec, composer.spec
    fields = ("n_tracks", "beats_per_bar", "n_steps_per_bar", "lowest_pitch", "n_pitches")
    differ = [f for f in fields if getattr(data, f) != getattr(model, f)]
    if differ:
        shown = ", ".join(f"{f} {getattr(data, f)} vs {getattr(model, f)}" for f in differ)
        raise ValueError(f"{dataset.folder}: the dataset's phrases do not fit the model ({shown})")
    pool = dataset.indices("valid")
    if len(pool) == 0:
        raise ValueError(f"{dataset.folder}: the dataset has no validation phrases")
    picks = np.unique(np.linspace(0, len(pool) - 1, min(n, len(pool))).round().astype(np.int64))
    return dataset.patterns(pool[picks].tolist())


def _summary(reports: list[InpaintReport]) -> dict[str, Any]:
    on = sum(r.locked_on_cells for r in reports)
    off = sum(r.locked_off_cells for r in reports)
    return {
        "recall": float(np.mean([r.recall for r in reports])),
        "specificity": float(np.mean([r.specificity for r in reports])),
        "note_recall": float(np.mean([r.note_recall for r in reports])),
        "pooled_recall": sum(r.recall * r.locked_on_cells for r in reports) / on if on else 1.0,
        "pooled_specificity": (
            sum(r.specificity * r.locked_off_cells for r in reports) / off if off else 1.0
        ),
        "locked_on_cells": on,
        "locked_off_cells": off,
    }


def agreement(composer: Composer, patterns: list[Pattern]) -> dict[str, Any]:
    """Mean agreement of accompany (track 0 kept) and inpaint (bars 0 and 1 locked)."""
    accompany: list[InpaintReport] = []
    inpaint: list[InpaintReport] = []
    locks = Locks(bars=[b for b in (0, 1) if b < patterns[0].n_bars])
    for seed, pattern in enumerate(patterns):
        for reports, take in (
            (accompany, composer.accompany(pattern, 0, seed=seed)),
            (inpaint, composer.inpaint(pattern, locks, seed=seed)),
        ):
            assert take.report is not None  # inpaint and accompany always report
            reports.append(take.report)
    return {
        "phrases": len(patterns),
        "accompany": _summary(accompany),
        "inpaint": _summary(inpaint),
    }


def run(
    model: str | None,
    device: str | None,
    repeats: int,
    data: str | None = None,
    agreement_phrases: int = 64,
) -> dict[str, Any]:
    """Measure and return every figure (see the module's docstring).

    Raises
    ------
    CheckpointError, DatasetError
        For a bad model or dataset folder.
    ValueError
        For an unknown device, a model that cannot generate (a DCGAN), or a dataset that does
        not fit the model.
    """
    composer = Composer(model, device=device, warm_up=True)
    patterns = (
        validation_patterns(PhraseDataset.load(data), composer, agreement_phrases)
        if data is not None
        else None
    )
    figures: dict[str, Any] = {
        "model": str(composer.model_dir),
        "model_id": composer.model_id,
        "device": str(composer.device),
        "device_name": device_name(composer.device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "phrase_shape": list(composer.spec.shape),
        "repeats": repeats,
        "heavy_repeats": max(5, repeats // 5),
        "operations": latency(composer, repeats),
        "agreement": None,
    }
    if patterns is not None:
        figures["agreement"] = {"data": str(data), **agreement(composer, patterns)}
    return figures


def _met(figures: dict[str, Any]) -> str:
    if figures["met_p95"]:
        return "yes"
    return "median only" if figures["met_median"] else "no"


def report(f: dict[str, Any]) -> str:
    """The figures as the table ``barforge bench generate`` prints."""
    lines = [
        f"bench generate: model {f['model']} ({f['model_id']}), phrases "
        f"{' x '.join(map(str, f['phrase_shape']))}",
        f"  device {f['device_name']}, {f['threads']} torch threads, torch {f['torch']}",
        "",
        f"  {'operation':<11} {'':<29} {'calls':>5} {'median ms':>10} {'p95 ms':>9} "
        f"{'target ms':>10}  met",
    ]
    for name, op in f["operations"].items():
        lines.append(
            f"  {name:<11} {op['what']:<29} {op['calls']:>5} {op['median_ms']:>10.2f} "
            f"{op['p95_ms']:>9.2f} {op['target_ms']:>10.0f}  {_met(op)}"
        )
    lines.append("  (met: yes = the p95 meets the target; median only = the median does)")
    agree = f.get("agreement")
    if agree:
        lines += [
            "",
            f"  inpaint agreement on {agree['phrases']} validation phrases of {agree['data']} "
            "(means over phrases; pooled over cells in brackets)",
            f"  {'request':<24} {'recall':>15} {'specificity':>15} {'note recall':>12}",
        ]
        for key, label in (("accompany", "accompany (track 0)"), ("inpaint", "inpaint (bars 0-1)")):
            a = agree[key]
            lines.append(
                f"  {label:<24} {a['recall']:>6.3f} ({a['pooled_recall']:.3f}) "
                f"{a['specificity']:>6.3f} ({a['pooled_specificity']:.3f}) "
                f"{a['note_recall']:>12.3f}"
            )
    return "\n".join(lines)


def main(
    model: str | None,
    device: str | None,
    repeats: int,
    json_path: str | None,
    data: str | None = None,
    agreement_phrases: int = 64,
) -> int:
    """Run the bench, print the table, write the JSON; the exit code (2 for a bad request)."""
    try:
        figures = run(model, device, repeats, data, agreement_phrases)
    except (CheckpointError, DatasetError, GenerationError, ValueError) as e:
        hint = " (name a model with --model DIR)" if isinstance(e, CheckpointError) else ""
        print(f"{PROG}: {e}{hint if model is None else ''}", file=sys.stderr)
        return 2
    print(report(figures))
    if json_path:
        try:
            write_bytes_atomically(json_path, (json.dumps(figures, indent=2) + "\n").encode())
        except OSError as e:
            print(f"{PROG}: {json_path}: cannot write: {e.strerror or e}", file=sys.stderr)
            return 1
    return 0
