# SPDX-License-Identifier: MIT
"""The ``barforge`` command line, called in-process and as the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import __version__
from engine.bench.io import make_large_pattern
from engine.cli import main
from engine.midi.files import read_midi_file, write_midi_file
from engine.models import model_id, shipped_model_dir
from engine.music import Note, Pattern, TimeSignature, Track


def _song() -> Pattern:
    bass = Track("Bass", 33, False, 1, tuple(Note(i * 480, 240, 36 + i % 5, 90) for i in range(12)))
    drums = Track("Kit", 0, True, 9, tuple(Note(i * 240, 60, 36 + (i % 2) * 2) for i in range(24)))
    return Pattern(
        tracks=(bass, drums),
        n_bars=4,
        ticks_per_quarter=480,
        time_signature=TimeSignature(3, 4),
        tempo_us=600_000,
    )


def test_version_prints_the_package_version_and_the_default_models_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    shipped = shipped_model_dir()
    assert capsys.readouterr().out.splitlines() == [
        f"barforge {__version__}",
        f"default model: {shipped} (id {model_id(shipped)})",
    ]
    monkeypatch.setenv("BARFORGE_MODEL", str(tmp_path / "gone"))
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "gone: cannot be read" in capsys.readouterr().out


def test_info_describes_tracks_bars_tempo_and_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "song.mid"
    write_midi_file(_song(), path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 bars of 3/4 at 100 BPM, 36 notes" in out
    assert "pitch range C2-E2 (36-40)" in out  # drums do not count as pitches
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("1 ", "2 "))]
    assert rows == [
        ["1", "Bass", "34", "Electric", "Bass", "(finger)", "2", "12"],
        ["2", "Kit", "1", "Drums", "10", "24"],
    ]
    assert "warning" not in out


def test_info_lists_warnings_of_a_repaired_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import mido

    midi = mido.MidiFile(type=0, ticks_per_beat=96)
    midi.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("set_tempo", tempo=400_000, time=0),
                mido.Message("note_on", note=60, velocity=80, time=0),
                mido.MetaMessage("set_tempo", tempo=500_000, time=96),
            ]
        )
    )
    path = tmp_path / "hanging.mid"
    midi.save(path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning: notes still sounding at the end of their track, ended there: 1" in out
    assert "at 150 BPM" in out
    assert "warning: 1 later tempo change(s) ignored, the first at beat 1" in out


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not a Standard MIDI File"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a Standard MIDI File"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x10\x00\x90", "truncated"),
    ],
)
def test_info_on_a_bad_file_exits_1_naming_file_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    assert main(["info", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(path) in captured.err
    assert reason in captured.err
    assert "Traceback" not in captured.err


def test_installed_console_script_reports_errors_without_traceback(tmp_path: Path) -> None:
    script = shutil.which("barforge", path=str(Path(sys.executable).parent))
    assert script is not None, "the barforge console script is not installed beside python"
    missing = tmp_path / "nowhere.mid"
    done = subprocess.run([script, "info", str(missing)], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == f"barforge info: {missing}: No such file or directory"
    version = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.splitlines()[0] == f"barforge {__version__}"


def test_bench_io_measures_a_file_that_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "io.json"
    assert main(["bench", "io", "--notes", "3000", "--repeats", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["n_notes"] == 3000
    assert set(figures["seconds"]) == {"read", "mido_parse", "write", "mido_save"}
    assert all(v > 0 for v in figures["seconds"].values())
    assert figures["read_vs_mido_parse"] > 0
    assert "read speed / mido parse speed" in capsys.readouterr().out


def test_bench_pattern_is_large_dense_and_round_trips(tmp_path: Path) -> None:
    pattern = make_large_pattern(n_notes=5000, n_tracks=16)
    assert pattern.n_notes == 5000
    assert len(pattern.tracks) == 16
    assert [t.is_drum for t in pattern.tracks].count(True) == 1
    path = tmp_path / "large.mid"
    write_midi_file(pattern, path)
    assert read_midi_file(path).pattern == pattern


def test_bench_rejects_nonpositive_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "io", "--notes", "0"]) == 2
    assert "--notes and --repeats must be at least 1" in capsys.readouterr().err
