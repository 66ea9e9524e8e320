# SPDX-License-Identifier: MIT
"""``barforge eval`` on a dataset built from MIDI files the test writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from engine import metrics
from engine.cli import main
from engine.data.store import PhraseDataset
from engine.midi.files import write_midi_file
from engine.music import Note, Pattern, Track
from engine.note_features import note_features


def _piece(seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    quarter = 480
    tracks = []
    for name, program, low in (("Piano", 0, 60), ("Bass", 33, 36)):
        notes = []
        for beat in range(16 * 4):  # 16 bars of quarter notes
            if rng.random() < 0.8:
                notes.append(Note(beat * quarter, quarter, int(low + rng.integers(0, 12))))
        tracks.append(Track(name, program, False, 0 if name == "Piano" else 1, notes))
    return Pattern(tracks, n_bars=16)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval")
    songs = root / "songs"
    songs.mkdir()
    for seed in range(6):
        write_midi_file(_piece(seed), songs / f"song{seed}.mid")
    out = root / "data"
    code = main(
        [
            "data",
            "build",
            "--source",
            str(songs),
            "--out",
            str(out),
            "--jobs",
            "1",
            "--valid-fraction",
            "0.34",
        ]
    )
    assert code == 0
    return out


def test_eval_writes_tables_json_and_pictures(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main(["eval", "--data", str(dataset), "--n", "20", "--out", str(out)]) == 0
    capsys.readouterr()
    report = json.loads((out / "report.json").read_text())
    assert set(report["sources"]) == {"real (validation)", "real (training)"}

    # The JSON holds exactly what the metrics module computes on the drawn phrases.
    data = PhraseDataset.load(dataset)
    rng = np.random.default_rng(0)
    train, valid = data.indices("train"), data.indices("valid")
    chosen = np.sort(rng.choice(valid, size=min(20, len(valid)), replace=False))
    expected = metrics.evaluate(*data.rolls(chosen), data.spec, reference=data.rolls(train))
    assert report["sources"]["real (validation)"] == json.loads(json.dumps(expected.to_dict()))
    assert report["sources"]["real (validation)"]["set"]["n_reference_copies"] == 0
    assert report["sources"]["real (training)"]["n_phrases"] == min(20, len(train))

    table = (out / "report.md").read_text()
    n_valid = report["sources"]["real (validation)"]["n_phrases"]
    assert f"| real (validation) | {n_valid} |" in table
    # Music in every bar: the empty-bar rate of the tracks that exist is 0 % in the table.
    ebr = report["sources"]["real (validation)"]["per_track"]["empty_bar_rate"]
    assert len(ebr) == len(data.spec.track_names)
    assert "## Definitions" in table
    assert "**UPC**" in table

    # The listening section: the validation phrases' features, and the half-vs-half ceiling.
    listening = report["listening"]
    assert set(listening) == {"real (validation)", "real, half vs half", "real (training)"}
    got = listening["real (validation)"]["features"]
    want = note_features(*data.rolls(chosen), data.spec).to_dict()
    assert got == json.loads(json.dumps(want))
    ceiling = listening["real, half vs half"]["against_real"]["oa"]["length"]
    assert all(v is None or 0.0 < v <= 1.0 for v in ceiling)
    assert "## What a listener hears" in table
    assert "| real, half vs half |" in table
    for picture in ("distributions.png", "examples.png"):
        assert imread(out / picture).shape[1] > 600


def test_eval_of_a_missing_dataset_names_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing"
    assert main(["eval", "--data", str(missing), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert str(missing) in err
    assert not (tmp_path / "r").exists()


def test_eval_refuses_a_sample_of_nothing(dataset: Path, tmp_path: Path) -> None:
    assert main(["eval", "--data", str(dataset), "--n", "0", "--out", str(tmp_path)]) == 2


def test_bench_data_times_build_cache_and_metrics(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    songs = dataset.parent / "songs"
    out = tmp_path / "bench.json"
    args = ["bench", "data", "--source", str(songs), "--phrases", "50", "--repeats", "1"]
    assert main([*args, "--jobs", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["n_phrases_in_store"] == len(PhraseDataset.load(dataset))
    assert figures["build_scratch_seconds"] > 0
    assert figures["build_cache_seconds"] > 0
    assert figures["metrics"]["n_phrases"] == 50
    assert figures["metrics"]["phrases_per_second"] > 0
    assert "phrases/s" in capsys.readouterr().out
    assert main(["bench", "data", "--phrases", "0"]) == 2
