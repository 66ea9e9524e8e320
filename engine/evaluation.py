# SPDX-License-Identifier: MIT
"""``barforge eval``: the metrics of :mod:`engine.metrics` as a report.

The report compares sources of phrases, one row each: the real validation phrases of a dataset
(the yardstick: a model should come close to them), a sample of the real training phrases
(how far two real samples differ, i.e. what "close" can mean), and, once models exist, one row
per model. Set measures use the training split as the reference: the nearest-reference
distance of real validation phrases is what a model that does not copy should show.

Written to the output folder:

- ``report.md``: the tables and the definitions;
- ``report.json``: the same figures (``MetricReport.to_dict`` per source);
- ``distributions.png``: per-phrase distributions of the per-track metrics;
- ``examples.png``: example phrases of each source as piano rolls.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine import metrics
from engine.atomic import write_bytes_atomically
from engine.data.store import PhraseDataset
from engine.metrics import METRICS, MetricReport
from engine.note_features import (
    FEATURES,
    LENGTH_SHARE_STEPS,
    QN_THRESHOLDS_BEATS,
    TV_FEATURES,
    FeatureComparison,
    NoteFeatures,
    compare_features,
    note_features,
    reference_features,
)
from engine.pianoroll import PhraseSpec
from engine.plots import save_distributions, save_roll_grid

Planes = tuple[NDArray[np.bool_], NDArray[np.bool_]]

#: Per-track metrics whose per-phrase distribution is plotted, with the label shown.
_DISTRIBUTIONS: tuple[tuple[str, str], ...] = (
    ("empty_bar_rate", "EB, empty-bar rate"),
    ("used_pitch_classes", "UPC, pitch classes per bar"),
    ("qualified_note_rate", "QN, qualified-note rate"),
    ("polyphonicity", "PP, polyphonicity"),
    ("notes_per_bar", "NPB, notes per bar"),
    ("mean_note_length", "NL, mean note length (beats)"),
    ("pitch_range", "PR, pitch range (semitones)"),
    ("tonal_distance", "TD, tonal distance"),
)
#: Shown in a cell where a metric does not apply to a track.
NOT_APPLICABLE = "n/a"
_PERCENT = {"empty_bar_rate", "qualified_note_rate", "polyphonicity", "drum_pattern_rate"}


@dataclass(frozen=True, slots=True)
class Source:
    """One row of the report: a name and its phrases."""

    name: str
    frames: NDArray[np.bool_]
    onsets: NDArray[np.bool_]
    reference: Planes | None


def training_reference(dataset: PhraseDataset) -> Planes:
    """Every training phrase: what the set measures compare the other rows with."""
    train = dataset.indices("train")
    if len(train) == 0:
        raise ValueError("the dataset has no training phrases")
    return dataset.rolls(train)


def real_sources(dataset: PhraseDataset, n: int, seed: int, reference: Planes) -> list[Source]:
    """The real rows: up to ``n`` validation phrases (measured against ``reference``) and
    ``n`` training phrases, drawn at random (without replacement, reproducibly from ``seed``)."""
    rng = np.random.default_rng(seed)
    train = dataset.indices("train")
    valid = dataset.indices("valid")
    sources = []
    if len(valid):
        chosen = np.sort(rng.choice(valid, size=min(n, len(valid)), replace=False))
        sources.append(Source("real (validation)", *dataset.rolls(chosen), reference))
    chosen = np.sort(rng.choice(train, size=min(n, len(train)), replace=False))
    sources.append(Source("real (training)", *dataset.rolls(chosen), None))
    return sources


def _cell(values: Sequence[float | None], percent: bool) -> str:
    shown = []
    for value in values:
        if value is None:
            shown.append(NOT_APPLICABLE)
        elif percent:
            shown.append(f"{100 * value:.1f}")
        else:
            shown.append(f"{value:.2f}")
    return " / ".join(shown)


def _initials(names: Sequence[str]) -> list[str]:
    initials = [name[:1].upper() or "?" for name in names]
    return initials if len(set(initials)) == len(initials) else list(names)


def markdown(
    reports: Sequence[tuple[str, MetricReport]], spec: PhraseSpec, title: str, made_by: str = ""
) -> str:
    """The report's Markdown: per-track table, pair and set table, and the definitions."""
    first = reports[0][1]
    short = _initials(spec.track_names)
    lines = [f"# {title}", ""]
    if made_by:
        lines += [f"Made by `{made_by}`.", ""]
    lines.append(
        f"Phrases of {spec.n_bars} bars of {spec.beats_per_bar}/4, {spec.steps_per_beat} steps "
        f"per beat, tracks {', '.join(spec.track_names)}. Rates in percent; each cell lists "
        f"the tracks in order ({'/'.join(short)}); n/a where a metric does not apply. QN counts "
        f"notes of at least {first.settings['qn_threshold_beats']:g} beat "
        f"({first.settings['qn_min_steps']} steps)."
    )
    lines.append("")
    per_track = [m for m in METRICS if m.scope in ("pitched", "drums", "all")]
    heads = [
        f"{m.short}{' %' if m.key in _PERCENT else ''}"
        for m in per_track
        if any(not np.all(np.isnan(getattr(r, m.key))) for _, r in reports)
    ]
    keys = [
        m.key for m in per_track if any(not np.all(np.isnan(getattr(r, m.key))) for _, r in reports)
    ]
    lines.append("| source | phrases | " + " | ".join(heads) + " |")
    lines.append("|---" * (len(heads) + 2) + "|")
    for name, report in reports:
        data = report.to_dict()
        cells = [_cell(data["per_track"][key], key in _PERCENT) for key in keys]
        lines.append(f"| {name} | {report.n_phrases} | " + " | ".join(cells) + " |")
    lines.append("")
    pairs = [f"{short[a]}-{short[b]}" for a, b in first.pairs]
    set_heads = ["UNQ %", "DIV", "NN", "COPY"]
    lines.append(
        "| source | TD " + "/".join(pairs) + " | " + " | ".join(set_heads) + " |"
        if pairs
        else "| source | " + " | ".join(set_heads) + " |"
    )
    lines.append("|---" * (len(set_heads) + (2 if pairs else 1)) + "|")
    for name, report in reports:
        data = report.to_dict()
        row = [name]
        if pairs:
            row.append(_cell([p["tonal_distance"] for p in data["pairs"]], False))
        measures = data["set"]
        row.append(_cell([measures["unique_rate"]], True))
        div = measures["mean_pairwise_distance"]
        row.append(NOT_APPLICABLE if div is None else f"{div:.4f}")
        row.append(
            NOT_APPLICABLE if measures["nn_distance"] is None else f"{measures['nn_distance']:.4f}"
        )
        copies = measures["n_reference_copies"]
        row.append(NOT_APPLICABLE if copies is None else str(copies))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("NN and COPY compare each phrase with the training split, so they are left out")
    lines.append("for the training row itself.")
    lines.append("")
    lines.append("## Definitions")
    lines.append("")
    for m in METRICS:
        better = {"closer": "closer to the real data is better", "higher": "higher is better"}
        lines.append(
            f"- **{m.short}**, {m.name} ({m.unit}): {m.definition}; "
            f"{better.get(m.better, 'lower is better')}."
        )
    lines.append("")
    return "\n".join(lines)


def _per_phrase(source: Source, spec: PhraseSpec) -> dict[str, NDArray[np.float64]]:
    """Per-phrase values of each plotted metric, pooled over the tracks (or pairs) it has."""
    values = metrics.phrase_metrics(source.frames, source.onsets, spec)
    return {label: values[key].ravel() for key, label in _DISTRIBUTIONS}


def write_report(
    sources: Sequence[Source],
    spec: PhraseSpec,
    out: str | os.PathLike[str],
    title: str,
    made_by: str = "",
) -> dict[str, Any]:
    """Evaluate every source and write the report files; returns the JSON document."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    reports = [
        (s.name, metrics.evaluate(s.frames, s.onsets, spec, reference=s.reference)) for s in sources
    ]
    document = {
        "title": title,
        "made_by": made_by,
        "spec": {
            "track_names": list(spec.track_names),
            "is_drum": list(spec.is_drum),
            "steps_per_beat": spec.steps_per_beat,
            "beats_per_bar": spec.beats_per_bar,
            "n_bars": spec.n_bars,
            "lowest_pitch": spec.lowest_pitch,
            "n_pitches": spec.n_pitches,
        },
        "sources": {name: report.to_dict() for name, report in reports},
    }
    listening = listening_rows(sources, spec)
    document["listening"] = {
        name: {"features": feats.to_dict(), "against_real": cmp.to_dict()}
        for name, feats, cmp in listening
    }
    text = markdown(reports, spec, title, made_by)
    if listening:
        text += listening_markdown(listening, spec)
    write_bytes_atomically(folder / "report.md", text.encode())
    write_bytes_atomically(folder / "report.json", (json.dumps(document, indent=2) + "\n").encode())
    per_phrase = {s.name: _per_phrase(s, spec) for s in sources}
    values = {
        label: {name: per_phrase[name][label] for name in per_phrase} for _, label in _DISTRIBUTIONS
    }
    save_distributions(values, folder / "distributions.png")
    examples: list[Planes] = []
    titles: list[str] = []
    for source in sources:
        for i in range(min(2, len(source.frames))):
            examples.append((source.frames[i], source.onsets[i]))
            titles.append(f"{source.name}, example {i + 1}")
    save_roll_grid(examples, titles, spec, folder / "examples.png")
    return document


def listening_rows(
    sources: Sequence[Source], spec: PhraseSpec, seed: int = 0
) -> list[tuple[str, NoteFeatures, FeatureComparison]]:
    """The note features of every source against the real validation phrases.

    The first source must be the real validation phrases (else there is nothing to compare
    with, and no rows). Its two random halves give the
    ceiling row (``"real, half vs half"``: the second half measured against the first); every
    other source is measured against the whole validation set for TV distances and against
    the first half for OA and KL, so that all rows share one intra-set density.
    """
    if not sources or sources[0].name != "real (validation)":
        return []  # nothing real to compare with
    real = sources[0]
    whole, half_a, half_b = reference_features(real.frames, real.onsets, spec, seed)
    rows = [("real, half vs half", half_b, compare_features(half_b, half_a, half_a, seed))]
    for source in sources[1:]:
        feats = note_features(source.frames, source.onsets, spec)
        rows.append((source.name, feats, compare_features(feats, whole, half_a, seed)))
    rows.insert(0, (real.name, whole, compare_features(whole, whole, half_a, seed)))
    return rows


def listening_markdown(
    rows: Sequence[tuple[str, NoteFeatures, FeatureComparison]], spec: PhraseSpec
) -> str:
    """The report's section on note lengths, re-strikes, rhythm and melodic steps."""
    short = "/".join(_initials(spec.track_names))
    lines = [
        "## What a listener hears: note lengths, re-strikes, rhythm, melodic steps",
        "",
        f"Per track ({short}). Shares are of the track's notes; a step is "
        f"1/{spec.steps_per_beat} beat. TV: total-variation distance of the pooled histogram "
        'to the real validation phrases\' (0 = the same). The row "real, half vs half" '
        "compares one random half of the validation phrases with the other: the ceiling.",
        "",
        "| source | NPB | >= 2 steps | >= 3 steps | >= 4 steps | >= 8 steps | re-strikes |"
        " length TV | IOI TV | interval TV |",
        "|---" * 10 + "|",
    ]
    col = {k: i for i, k in enumerate(LENGTH_SHARE_STEPS)}
    for name, feats, cmp in rows:
        cells = [
            _cell(list(feats.npb), False),
            *(_cell(list(feats.length_shares[:, col[k]]), False) for k in (2, 3, 4, 8)),
            _cell(list(feats.restrike), False),
            *(_cell(list(cmp.tv[key]), False) for key in TV_FEATURES),
        ]
        lines.append(f"| {name} | " + " | ".join(_nan_na(c) for c in cells) + " |")
    lines += [
        "",
        "QN at thresholds in beats (share of notes at least that long):",
        "",
        "| source | " + " | ".join(f"QN {b:g} beat" for b in QN_THRESHOLDS_BEATS) + " |",
        "|---" * (len(QN_THRESHOLDS_BEATS) + 1) + "|",
    ]
    for name, feats, _ in rows:
        cells = [_cell(list(feats.qn[:, i]), False) for i in range(len(QN_THRESHOLDS_BEATS))]
        lines.append(f"| {name} | " + " | ".join(_nan_na(c) for c in cells) + " |")
    for measure, label in (
        ("oa", "overlapping area (higher is better, 1 at most)"),
        ("kl", "KL divergence (lower is better, 0 at least)"),
    ):
        lines += [
            "",
            f"Yang and Lerch's {label}, of each source's per-phrase features against the first "
            "half of the real validation phrases:",
            "",
            "| source | " + " | ".join(FEATURES.values()) + " |",
            "|---" * (len(FEATURES) + 1) + "|",
        ]
        for name, _, cmp in rows[1:]:
            values = getattr(cmp, measure)
            cells = [_cell(list(values[key]), False) for key in FEATURES]
            lines.append(f"| {name} | " + " | ".join(_nan_na(c) for c in cells) + " |")
    lines += ["", *_LISTENING_DEFINITIONS, ""]
    return "\n".join(lines)


_LISTENING_DEFINITIONS = (
    "Definitions (`engine/note_features.py`, `engine/feature_overlap.py`):",
    "",
    "- **NPB**: note starts per bar. **>= k steps**: share of notes at least k steps long.",
    "- **re-strikes**: share of notes that start on the step where the previous note of the "
    "same pitch ended (a held pitch struck again without a rest).",
    "- **IOI**: steps between consecutive distinct onset times of a track (bins 1 step to one "
    "bar, and longer). **interval**: signed semitones between the highest pitches of "
    "consecutive onset times (bins -12..+12 and larger leaps either way).",
    "- **OA / KL** (Yang and Lerch 2020): Gaussian-KDE densities of the Euclidean distances "
    "between the real phrases' features (intra-set) and between real and the source's phrases "
    "(inter-set); OA is the area both densities share, KL the divergence of the inter-set "
    "density from the intra-set one.",
)


def _nan_na(cell: str) -> str:
    return cell.replace("nan", NOT_APPLICABLE)


def model_source(
    dataset: PhraseDataset,
    checkpoint: str,
    n: int,
    seed: int,
    reference: Planes,
    device: str | None = None,
) -> Source:
    """A report row of ``n`` phrases generated by the checkpoint in folder ``checkpoint``,
    measured against ``reference``; its phrase shape must be the dataset's."""
    from engine.gan.sample import sample_checkpoint  # torch only when a model is evaluated

    frames, onsets, spec = sample_checkpoint(checkpoint, n, seed, device)
    if spec != dataset.spec:
        raise ValueError(
            f"the model in {checkpoint} makes phrases of {spec}, the dataset holds {dataset.spec}"
        )
    path = Path(checkpoint)
    run = path.parent.parent.name if path.parent.name == "checkpoints" else ""
    name = f"model {run}/{path.name}" if run else f"model {path.name}"
    return Source(name, frames, onsets, reference)


def main(
    data: str, n: int, out: str, seed: int, models: Sequence[str] = (), device: str | None = None
) -> int:
    """``barforge eval``: report on the real phrases of a dataset, and on models' phrases."""
    dataset = PhraseDataset.load(data)
    reference = training_reference(dataset)  # built once, shared by every row
    sources = real_sources(dataset, n, seed, reference)
    sources += [model_source(dataset, model, n, seed, reference, device) for model in models]
    source = dataset.manifest.get("source")
    name = source.get("name") if isinstance(source, dict) else None
    title = f"Barforge evaluation: {name or data}"
    made_by = f"barforge eval --data {data} --n {n} --seed {seed}" + "".join(
        f" --model {m}" for m in models
    )
    write_report(sources, dataset.spec, out, title, made_by)
    print((Path(out) / "report.md").read_text())
    print(f"wrote {out}/report.md, report.json, distributions.png, examples.png")
    return 0
