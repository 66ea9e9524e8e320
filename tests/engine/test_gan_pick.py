# SPDX-License-Identifier: MIT
"""``barforge pick``: the best checkpoint by validation metrics, exported generator-only."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
import safetensors

from engine.cli import main
from engine.data.store import PhraseDataset
from engine.gan.checkpoint import load_checkpoint
from engine.gan.config import TrainConfig
from engine.gan.pick import (
    HARMONY_WEIGHTS,
    TOLERANCES,
    VOICE_WEIGHTS,
    _keeps,
    checkpoints,
    compare,
)
from engine.gan.train import train
from engine.generation.voices import load_voices
from engine.metrics import evaluate
from engine.midi.files import write_midi_file
from engine.music import Note, Pattern, Track
from engine.pianoroll import PhraseSpec


def _piece(seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    melody = [Note(b * 480, 480, int(60 + rng.integers(0, 12))) for b in range(32)]
    bass = [Note(bar * 1920, 1920, int(40 + rng.integers(0, 12))) for bar in range(8)]
    return Pattern([Track("Lead", 0, False, 0, melody), Track("Bass", 33, False, 1, bass)], 8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pick")
    songs = root / "songs"
    songs.mkdir()
    for seed in range(12):
        write_midi_file(_piece(seed), songs / f"song{seed}.mid")
    out = root / "data"
    args = ["data", "build", "--source", str(songs), "--out", str(out), "--jobs", "1"]
    args += ["--steps-per-beat", "4", "--n-pitches", "48", "--lowest-pitch", "36"]
    assert main([*args, "--valid-fraction", "0.25"]) == 0
    return out


def _spec() -> PhraseSpec:
    return PhraseSpec(("a", "b"), (False, False), (0, 0), 4, 4, 2, 40, 24)


def test_compare_measures_errors_in_units_of_the_target() -> None:
    rng = np.random.default_rng(0)
    frames = rng.random((40, 2, 2, 16, 24)) < 0.05
    onsets = frames & (rng.random(frames.shape) < 0.5)
    real = evaluate(frames, onsets, _spec())
    same = compare(real, real)
    assert same.mean_error == 0.0
    assert all(same.targets_met.values())
    # 20% more notes per bar than real is twice the 10% tolerance.
    more = dataclasses.replace(real, notes_per_bar=real.notes_per_bar * 1.2)
    result = compare(more, real)
    assert result.errors["notes_per_bar"] == pytest.approx([2.0, 2.0])
    assert not result.targets_met["notes_per_bar"]
    assert result.targets_met["used_pitch_classes"]
    # EB's target is absolute: 2 points.
    emptier = dataclasses.replace(real, empty_bar_rate=real.empty_bar_rate + 0.01)
    assert compare(emptier, real).errors["empty_bar_rate"] == pytest.approx([0.5, 0.5])
    assert TOLERANCES["empty_bar_rate"] == (0.0, 0.02)


def test_a_decoding_is_eligible_only_when_it_keeps_the_targets_met_without_it() -> None:
    base = {"notes_per_bar": True, "tonal_distance": False, "restrike": True}
    assert _keeps({"notes_per_bar": True, "tonal_distance": True, "restrike": True}, base)
    assert _keeps({"notes_per_bar": True, "tonal_distance": False, "restrike": True}, base)
    assert not _keeps({"notes_per_bar": False, "tonal_distance": True, "restrike": True}, base)


def test_checkpoints_are_listed_by_step(tmp_path: Path) -> None:
    for name in ("step-0000010", "step-0000002", "step-x", "notes"):
        (tmp_path / "checkpoints" / name).mkdir(parents=True)
    assert [p.name for p in checkpoints(tmp_path)] == ["step-0000002", "step-0000010"]
    with pytest.raises(ValueError, match="no checkpoints"):
        checkpoints(tmp_path / "empty")


def test_pick_exports_the_best_checkpoint_without_its_critic(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = TrainConfig(steps=4, checkpoint_every=2, batch_size=8, n_critic=1, seed=1)
    train(dataset, tmp_path / "run", settings, device="cpu", stream=io.StringIO())
    out = tmp_path / "model"
    args = ["pick", "--data", str(dataset), "--run", str(tmp_path / "run"), "--n", "16"]
    assert main([*args, "--out", str(out), "--device", "cpu", "--harmony"]) == 0
    printed = capsys.readouterr().out
    assert "step-0000002" in printed
    assert "step-0000004" in printed
    record = json.loads((out / "selection.json").read_text())
    rows = {r["checkpoint"]: r["mean_error"] for r in record["checkpoints"]}
    assert record["chosen"] == min(rows, key=lambda k: rows[k])
    with safetensors.safe_open(str(out / "weights.safetensors"), "pt") as f:
        names = list(f.keys())
    assert names
    assert all(n.startswith("generator.") for n in names)
    # The decoding is tuned on the chosen checkpoint: the threshold and each voice weighting.
    # Every checkpoint's listening features are kept, as eval reports them.
    first = record["checkpoints"][0]["listening"]
    assert set(first["features"]) >= {"length_shares", "restrike", "ioi", "interval", "qn"}
    assert set(first["against_real"]) == {"tv", "oa", "kl"}
    assert len(record["real_listening"]["restrike"]) == 5
    tried = {
        row["decoding"]: row["mean_error"] for row in record["decoding"]["tried"] if row["eligible"]
    }
    assert record["decoding"]["chosen"] == min(tried, key=lambda k: tried[k])
    assert "threshold 0.5" in tried
    # A decoding is eligible when it keeps every target the plain voices meet.
    rows_tried = record["decoding"]["tried"]
    if len(rows_tried) > 1:
        plain_met = rows_tried[1]["targets_met"]
        for row in rows_tried[2:]:
            assert "harmony weight per track" in row["decoding"]
            kept = all(row["targets_met"][k] for k, ok in plain_met.items() if ok)
            assert row["eligible"] == kept
    voices = load_voices(out, PhraseDataset.load(dataset).spec)
    if record["decoding"]["chosen"] == "threshold 0.5":
        assert voices is None
    else:
        assert voices is not None
        assert voices.tracks  # the lead and the bass are one note at a time
        chosen = zip(voices.weight, voices.onset_weight, voices.sound_bias, strict=True)
        assert all(weights in VOICE_WEIGHTS for weights in chosen)
        if voices.harmony is not None:  # the voices lean on one harmony
            assert voices.harmony.tracks == voices.tracks
            assert all(w in HARMONY_WEIGHTS for w in voices.harmony.weight)
    exported = load_checkpoint(out, with_critic=False)
    source = load_checkpoint(tmp_path / "run" / "checkpoints" / record["chosen"])
    assert exported.config == source.config
    for name, value in exported.generator.state_dict().items():
        assert value.equal(source.generator.state_dict()[name])


def test_pick_reports_a_run_without_checkpoints(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pick", "--data", str(dataset), "--run", str(tmp_path)]) == 2
    assert "no checkpoints" in capsys.readouterr().err
