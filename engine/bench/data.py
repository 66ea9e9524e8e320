# SPDX-License-Identifier: MIT
"""``barforge bench data``: dataset build time, and metrics throughput.

- *build from scratch*: :func:`engine.data.build.build` of the source into an empty folder
  (the chorales: music21 parses every file, in ``jobs`` processes);
- *build from cache*: the same call again, which finds the store up to date;
- *metrics*: :func:`engine.metrics.evaluate` (every per-track, pair and set measure, without a
  reference set) on ``n_phrases`` real phrases, drawn with repetition and random transposition
  from the store so that the set is as large as asked; then the nearest-reference distance of
  1,000 of them against the training split, timed apart since it grows with both sets.

Build times are single runs (a build takes tens of seconds); metric times are medians.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine import metrics
from engine.bench import median_seconds
from engine.data.build import BuildOptions, build
from engine.data.store import PhraseDataset


def run(source: str, n_phrases: int, repeats: int, jobs: int | None) -> dict[str, Any]:
    """Measure and return the figures (the store is built in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="barforge-bench-data-") as scratch:
        folder = Path(scratch) / "store"
        began = time.perf_counter()
        first = build(source, folder, BuildOptions(), jobs=jobs, force=True)
        scratch_seconds = time.perf_counter() - began
        began = time.perf_counter()
        again = build(source, folder, BuildOptions(), jobs=jobs)
        cache_seconds = time.perf_counter() - began
        if not again.skipped:
            raise RuntimeError(f"bench data: the second build was not skipped ({again.reason})")
        dataset = PhraseDataset.load(folder)
    rng = np.random.default_rng(0)
    everything = dataset.indices("all")
    chosen = rng.choice(everything, size=n_phrases, replace=True)
    low, high = dataset.shift_limits(chosen)
    shifts = rng.integers(np.maximum(low, -5), np.minimum(high, 5) + 1)
    frames, onsets = dataset.rolls(chosen, transpose=shifts)
    spec = dataset.spec
    metric_seconds = median_seconds(lambda: metrics.evaluate(frames, onsets, spec), repeats)
    train = dataset.rolls(dataset.indices("train"))
    n_nn = min(1000, n_phrases)
    nn_seconds = median_seconds(
        lambda: metrics.nearest_neighbour_distances(frames[:n_nn], train[0]), repeats
    )
    counts = first.manifest.get("counts", {})
    return {
        "source": source,
        "jobs": jobs,
        "build_scratch_seconds": scratch_seconds,
        "build_cache_seconds": cache_seconds,
        "n_phrases_in_store": len(dataset),
        "store_counts": counts,
        "metrics": {
            "n_phrases": n_phrases,
            "shape": list(frames.shape[1:]),
            "repeats": repeats,
            "seconds": metric_seconds,
            "phrases_per_second": n_phrases / metric_seconds,
        },
        "nearest_reference": {
            "n_samples": n_nn,
            "n_reference": len(train[0]),
            "seconds": nn_seconds,
        },
    }


def report(figures: dict[str, Any]) -> str:
    m = figures["metrics"]
    nn = figures["nearest_reference"]
    shape = " x ".join(map(str, m["shape"]))
    return "\n".join(
        [
            f"bench data: source {figures['source']}, {figures['n_phrases_in_store']} phrases "
            "in the store",
            f"  build from scratch          {figures['build_scratch_seconds']:8.1f} s",
            f"  build from cache (skipped)  {figures['build_cache_seconds']:8.2f} s",
            f"  metrics, {m['n_phrases']:,} phrases of {shape}: {m['seconds']:.2f} s "
            f"= {m['phrases_per_second']:,.0f} phrases/s (median of {m['repeats']})",
            f"  nearest-reference distance, {nn['n_samples']:,} vs {nn['n_reference']:,} "
            f"phrases: {nn['seconds']:.2f} s",
        ]
    )


def main(
    source: str,
    n_phrases: int,
    repeats: int,
    jobs: int | None,
    json_path: str | None,
) -> int:
    figures = run(source, n_phrases, repeats, jobs)
    print(report(figures))
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
    return 0
