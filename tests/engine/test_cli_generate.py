# SPDX-License-Identifier: MIT
"""``barforge generate`` and ``barforge bench generate``, on tiny random hybrid models."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from engine.cli import main
from engine.gan.checkpoint import save_checkpoint
from engine.gan.config import ModelConfig
from engine.gan.model import build_models
from engine.generation.composer import Composer
from engine.generation.settings import Locks, OutputSettings, Provenance
from engine.midi.files import read_midi_file, write_midi_file
from engine.music import Note, Pattern, TimeSignature, Track
from engine.pianoroll import PhraseSpec

#: Shaped like the chorale model: 4 tracks x 4 bars x 16 steps x 64 pitches (MIDI 28..91).
SPEC = PhraseSpec(("Soprano", "Alto", "Tenor", "Bass"), (False,) * 4, (52,) * 4, 4, 4, 4, 28, 64)
TINY: dict[str, Any] = {
    "d_shared": 4,
    "d_shared_temporal": 4,
    "d_private": 4,
    "d_private_temporal": 4,
    "d_temporal_hidden": 8,
    "d_bar_temporal": 4,
    "g_base_channels": 8,
    "d_bar_features": 8,
    "d_hidden": 8,
}
OPERATIONS = {"generate", "variations", "regenerate", "inpaint", "accompany"}


def tiny_model(folder: Path, spec: PhraseSpec, arch: str = "hybrid") -> Path:
    """A random model for ``spec`` with tiny widths, saved as a checkpoint folder."""
    if arch == "hybrid":
        base = ModelConfig.for_spec(spec)
        config = ModelConfig.for_spec(
            spec,
            g_layers=tuple((axis, factor, 4) for axis, factor, _ in base.g_layers),
            d_layers=tuple((axis, factor, 4) for axis, factor, _ in base.d_layers),
            **TINY,
        )
    else:
        config = ModelConfig.for_spec(
            spec, arch, dcgan_latent=4, dcgan_channels=(4, 4, 4), dcgan_d_channels=(4, 4)
        )
    generator, _ = build_models(config, seed=0)
    return save_checkpoint(folder, generator, None, config)


@pytest.fixture(autouse=True)
def _threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only cost time, and one code path
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("model") / "tiny", SPEC)


@pytest.fixture(scope="module")
def composer(model: Path) -> Composer:
    return Composer(model, device="cpu", warm_up=False)


def _notes(pattern: Pattern) -> list[tuple[Note, ...]]:
    return [track.notes for track in pattern.tracks]


def _chorale(n_tracks: int = 4, meter: TimeSignature | None = None, n_bars: int = 4) -> Pattern:
    """A pattern with the model's pitch range; track 1 holds an off-grid note with an odd
    velocity, which a locked track must keep exactly."""
    beats = (meter or TimeSignature()).numerator
    tracks = []
    for t in range(n_tracks):
        notes = [Note(i * 480, 480, 72 - 7 * t + (3 * i) % 5, 80) for i in range(beats * n_bars)]
        if t == 1:
            notes[3] = Note(3 * 480 + 7, 301, 66, 33)
        tracks.append(Track(f"Voice {t + 1}", 52, False, t, notes))
    return Pattern(tracks, n_bars=n_bars, time_signature=meter)


def _generate(model: Path, out: Path, *args: str) -> int:
    return main(["generate", "--model", str(model), "--device", "cpu", "--out", str(out), *args])


# --- generate from a seed ----------------------------------------------------------------------


def test_generate_writes_the_seeds_piece_and_variations(
    model: Path, composer: Composer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _generate(model, out, "--seed", "7", "--variations", "3", "--strength", "0.4") == 0
    names = ["seed-7", "seed-7-var-1", "seed-7-var-2", "seed-7-var-3"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.mid" for n in names] + [f"{n}.png" for n in names] + ["provenance.json"]
    )
    takes = [composer.generate(7), *composer.variations(7, 3, 0.4)]
    for name, take in zip(names, takes, strict=True):
        pattern = read_midi_file(out / f"{name}.mid").pattern
        assert pattern.n_bars == 4
        assert [t.name for t in pattern.tracks] == list(SPEC.track_names)
        assert _notes(pattern) == _notes(take.pattern)
        assert imread(out / f"{name}.png").shape[1] > 300
    assert _notes(takes[0].pattern) != _notes(takes[1].pattern)
    entries = json.loads((out / "provenance.json").read_text())
    assert [e["file"] for e in entries] == [f"{n}.mid" for n in names]
    assert [e["png"] for e in entries] == [f"{n}.png" for n in names]
    provenance = [Provenance.from_dict(e["provenance"]) for e in entries]
    assert [p.history[0]["op"] for p in provenance] == ["generate"] + ["variation"] * 3
    assert [p.history[0].get("index") for p in provenance[1:]] == [0, 1, 2]
    assert {p.model_id for p in provenance} == {composer.model_id}
    assert np.array_equal(provenance[0].bar_inputs, takes[0].provenance.bar_inputs)
    printed = capsys.readouterr().out
    assert f"wrote {out / 'seed-7.mid'} (4 bars" in printed
    assert f"wrote {out / 'provenance.json'}" in printed
    assert not list(out.glob(".*"))  # no temporary files left behind


def test_generate_passes_bars_and_output_settings(
    model: Path, composer: Composer, tmp_path: Path
) -> None:
    args = ["--seed", "11", "--bars", "6", "--temperature", "0.8", "--threshold", "0.3"]
    args += ["--min-note-steps", "2", "--velocity", "humanize", "--base-velocity", "70"]
    args += ["--key", "D minor"]
    assert _generate(model, tmp_path, *args) == 0
    settings = OutputSettings(0.3, 0.8, 2, "humanize", 70, "D minor")
    expected = composer.generate(11, 6, settings)
    pattern = read_midi_file(tmp_path / "seed-11.mid").pattern
    assert pattern.n_bars == 6
    assert _notes(pattern) == _notes(expected.pattern)
    assert len({n.velocity for t in pattern.tracks for n in t.notes}) > 1
    entry = json.loads((tmp_path / "provenance.json").read_text())[0]
    assert Provenance.from_dict(entry["provenance"]).settings == settings


def test_provenance_of_later_runs_is_merged(model: Path, tmp_path: Path) -> None:
    for seed in ("1", "2", "1"):
        assert _generate(model, tmp_path, "--seed", seed) == 0
    entries = json.loads((tmp_path / "provenance.json").read_text())
    assert [e["file"] for e in entries] == ["seed-2.mid", "seed-1.mid"]
    (tmp_path / "provenance.json").write_text("{not json")
    assert _generate(model, tmp_path, "--seed", "3") == 0
    assert [e["file"] for e in json.loads((tmp_path / "provenance.json").read_text())] == [
        "seed-3.mid"
    ]


# --- generate around a file --------------------------------------------------------------------


def test_from_a_file_keeps_the_locked_track_and_bar_exactly(
    model: Path, composer: Composer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _chorale()
    write_midi_file(source, tmp_path / "song.mid")
    out = tmp_path / "out"
    args = ["--from", str(tmp_path / "song.mid"), "--lock-track", "1", "--lock-bar", "2"]
    assert _generate(model, out, *args, "--seed", "3", "--bars", "9") == 0
    printed = capsys.readouterr().out
    assert "--bars is ignored" in printed
    assert "recall" in printed
    assert "specificity" in printed
    result = read_midi_file(out / "song-inpaint-seed-3.mid").pattern
    assert result.n_bars == 4
    assert result.tracks[1].notes == source.tracks[1].notes  # off-grid note included
    for t in range(4):
        assert result.notes_in_bars(t, 2) == source.notes_in_bars(t, 2)
    expected = composer.inpaint(source, Locks(tracks=[1], bars=[2]), seed=3)
    assert _notes(result) == _notes(expected.pattern)
    assert imread(out / "song-inpaint-seed-3.png").shape[1] > 300
    (entry,) = json.loads((out / "provenance.json").read_text())
    assert entry["file"] == "song-inpaint-seed-3.mid"
    assert entry["source"] == str(tmp_path / "song.mid")
    assert entry["report"]["recall"] == expected.report.recall  # type: ignore[union-attr]
    assert Provenance.from_dict(entry["provenance"]).locks == Locks(tracks=[1], bars=[2])


def test_a_one_track_file_is_accompanied(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    melody = _chorale(n_tracks=2).tracks[1]
    write_midi_file(Pattern([melody], n_bars=4), tmp_path / "tune.mid")
    args = ["--from", str(tmp_path / "tune.mid"), "--lock-track", "2", "--seed", "5"]
    assert _generate(model, tmp_path, *args) == 0
    assert "model track 2 (Tenor)" in capsys.readouterr().out
    result = read_midi_file(tmp_path / "tune-inpaint-seed-5.mid").pattern
    assert len(result.tracks) == 4
    assert result.tracks[2].notes == melody.notes
    assert result.tracks[2].name == melody.name
    assert [result.tracks[t].name for t in (0, 1, 3)] == ["Soprano", "Alto", "Bass"]
    assert len({t.channel for t in result.tracks}) == 4
    history = json.loads((tmp_path / "provenance.json").read_text())[0]["provenance"]["history"]
    assert history[0]["op"] == "accompany"


# --- errors ------------------------------------------------------------------------------------


def _bad_config(tmp_path: Path) -> list[str]:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    return ["--model", str(folder)]


def _from(pattern: Pattern | bytes, *more: str) -> Callable[[Path], list[str]]:
    def setup(tmp_path: Path) -> list[str]:
        path = tmp_path / "in.mid"
        if isinstance(pattern, bytes):
            path.write_bytes(pattern)
        else:
            write_midi_file(pattern, path)
        return ["--from", str(path), *more]

    return setup


ERRORS: dict[str, tuple[Callable[[Path], list[str]], list[str]]] = {
    "negative seed": (lambda _: ["--seed", "-3"], ["--seed", "'-3'"]),
    "non-integer seed": (lambda _: ["--seed", "7.5"], ["--seed", "'7.5'"]),
    "missing model": (
        lambda p: ["--model", str(p / "nowhere")],
        ["nowhere", "no such checkpoint folder"],
    ),
    "invalid model": (_bad_config, ["config.json", "not valid JSON"]),
    "dcgan model": (
        lambda p: ["--model", str(tiny_model(p / "dcgan", SPEC, "dcgan"))],
        ["dcgan", "hybrid"],
    ),
    "unreadable midi": (
        _from(b"not a midi file", "--lock-track", "0"),
        ["in.mid", "not a Standard MIDI File"],
    ),
    "missing midi": (
        lambda p: ["--from", str(p / "gone.mid"), "--lock-track", "0"],
        ["gone.mid", "No such file"],
    ),
    "wrong meter": (
        _from(_chorale(meter=TimeSignature(3, 4)), "--lock-track", "0"),
        ["in.mid", "3/4"],
    ),
    "wrong track count": (_from(_chorale(n_tracks=2), "--lock-track", "0"), ["in.mid", "2 tracks"]),
    "track out of range": (_from(_chorale(), "--lock-track", "7"), ["in.mid", "[7]"]),
    "one-track file, track out of range": (
        _from(Pattern([_chorale().tracks[0]]), "--lock-track", "4"),
        ["in.mid", "track must be in 0..3"],
    ),
    "lock without --from": (lambda _: ["--lock-track", "0"], ["--lock-track", "--from"]),
    "--from without locks": (_from(_chorale()), ["--lock-track", "--lock-bar"]),
    "negative lock": (_from(_chorale(), "--lock-bar", "-1"), ["--lock-bar", ">= 0"]),
    "bad threshold": (lambda _: ["--threshold", "1.5"], ["--threshold", "1.5"]),
    "bad key": (lambda _: ["--key", "H minor"], ["--key", "H minor"]),
    "bad device": (lambda _: ["--device", "tpu"], ["tpu"]),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_requests_exit_2_naming_what_and_why(
    case: str, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup, expected = ERRORS[case]
    args = ["--device", "cpu", "--model", str(model), *setup(tmp_path)]  # later options win
    out = tmp_path / "out"
    assert main(["generate", *args, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("barforge generate: ")
    for text in expected:
        assert text in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from engine.cli import main\n"
        "import engine.generation.cli_generate\n"
        "try:\n"
        "    main(['generate', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--lock-track" in done.stdout


# --- bench generate ----------------------------------------------------------------------------


def _check_operations(figures: dict[str, Any], repeats: int) -> None:
    operations = figures["operations"]
    assert set(operations) == OPERATIONS
    for name, op in operations.items():
        heavy = name in {"inpaint", "accompany"}
        assert op["calls"] == (max(5, repeats // 5) if heavy else repeats)
        assert op["target_ms"] == (250.0 if heavy else 25.0 if name == "variations" else 5.0)
        for key in ("median_ms", "p95_ms"):
            assert np.isfinite(op[key])
        assert isinstance(op["met_median"], bool)
        assert isinstance(op["met_p95"], bool)


def test_bench_generate_writes_every_operation(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bench.json"
    args = ["bench", "generate", "--model", str(model), "--device", "cpu", "--repeats", "3"]
    assert main([*args, "--json", str(path)]) == 0
    figures = json.loads(path.read_text())
    _check_operations(figures, 3)
    assert figures["threads"] == 1
    assert figures["device"] == "cpu"
    assert figures["agreement"] is None
    printed = capsys.readouterr().out
    for name in OPERATIONS:
        assert name in printed
    assert "torch threads" in printed


def _piece(seed: int) -> Pattern:
    rng = np.random.default_rng(seed)
    melody = [Note(beat * 480, 480, int(60 + rng.integers(0, 12))) for beat in range(32)]
    bass = [Note(bar * 1920, 1920, int(36 + rng.integers(0, 12))) for bar in range(8)]
    return Pattern(
        [Track("Piano", 0, False, 0, melody), Track("Bass", 33, False, 1, bass)], n_bars=8
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    songs = root / "songs"
    songs.mkdir()
    for seed in range(4):
        write_midi_file(_piece(seed), songs / f"song{seed}.mid")
    out = root / "store"
    args = ["data", "build", "--source", str(songs), "--out", str(out), "--jobs", "1"]
    args += ["--steps-per-beat", "4", "--n-pitches", "48", "--lowest-pitch", "36"]
    assert main([*args, "--valid-fraction", "0.5"]) == 0
    return out


def test_bench_generate_measures_agreement_on_validation_phrases(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.data.store import PhraseDataset

    spec = PhraseDataset.load(dataset).spec
    model = tiny_model(tmp_path / "model", spec)
    path = tmp_path / "bench.json"
    args = ["bench", "generate", "--model", str(model), "--device", "cpu", "--repeats", "1"]
    args += ["--data", str(dataset), "--agreement-phrases", "2", "--json", str(path)]
    assert main(args) == 0
    figures = json.loads(path.read_text())
    _check_operations(figures, 1)
    agreement = figures["agreement"]
    assert agreement["phrases"] == 2
    assert agreement["data"] == str(dataset)
    for request in ("accompany", "inpaint"):
        figures_of = agreement[request]
        for key in ("recall", "specificity", "note_recall", "pooled_recall"):
            assert 0.0 <= figures_of[key] <= 1.0
    assert agreement["inpaint"]["locked_on_cells"] > 0
    assert "inpaint agreement on 2 validation phrases" in capsys.readouterr().out


def test_bench_generate_refuses_a_dataset_that_does_not_fit(
    model: Path, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "generate", "--model", str(model), "--device", "cpu", "--data", str(dataset)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("barforge bench generate: ")
    assert "do not fit the model" in err
    assert "n_tracks 5 vs 4" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--repeats", "0"], "--repeats and --agreement-phrases must be at least 1"),
        (["--model", "/nonexistent/model"], "/nonexistent/model: no such checkpoint folder"),
    ],
)
def test_bench_generate_bad_requests_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "generate", "--device", "cpu", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
