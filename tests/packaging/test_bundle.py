# SPDX-License-Identifier: MIT
"""The desktop bundle, built by ``packaging/linux/build.sh`` as a composer would get it, run
from a folder far from the checkout with nothing of Python in its environment: it names its
own model, generates, opens its window and plays into a real JACK server.

The build takes some three minutes (the first time also a build environment of 1.5 GB), so
``scripts/setup.sh test`` runs these tests (marker ``bundle``) as a step of their own after
the suite, on a bundle it builds with ``packaging/linux/build.sh``: ``BARFORGE_BUNDLE=DIR/barforge``
tests a bundle built already, ``BARFORGE_SKIP_BUNDLE=1`` leaves them out when time is short
(CI builds and tests it by default).
"""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from engine.live.jack import JackServer, MidiDump, jack_installed
from engine.midi.files import read_midi_file, write_midi_file
from engine.music import Note, Pattern, Track

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "linux" / "build.sh"

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(
        os.environ.get("BARFORGE_SKIP_BUNDLE") == "1", reason="BARFORGE_SKIP_BUNDLE=1 leaves it out"
    ),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("BARFORGE_BUNDLE")
    if given:
        return Path(given).resolve()
    out = tmp_path_factory.mktemp("bundle")
    built = subprocess.run(
        ["bash", str(BUILD), "--out", str(out)], capture_output=True, text=True, timeout=1200
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "MiB, built in" in built.stdout, built.stdout
    return out / "barforge"


@pytest.fixture
def bare(tmp_path: Path) -> dict[str, str]:
    """An environment with no Python in it: no virtual environment, no PYTHONPATH, only the
    system's programs on PATH and a home of its own."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    return env


def _run(
    bundle: Path, program: str, *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bundle / program), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_it_carries_its_own_python_and_nothing_it_does_not_use(bundle: Path) -> None:
    inside = bundle / "_internal"
    assert list(inside.glob("libpython3.*.so*")), "no Python of its own"
    assert (inside / "torch" / "lib" / "libtorch_cpu.so").exists()
    names = {p.name for p in inside.rglob("*")}
    assert not [n for n in names if n.startswith(("libcudart", "libcublas", "libnvrtc"))]
    qt = {p.name.split(".")[0] for p in (inside / "PySide6").glob("Qt*.so")}
    assert qt == {"QtCore", "QtGui", "QtWidgets"}, qt
    assert not (inside / "torch" / "test").exists()  # torch's own tests are left out
    assert not (inside / "music21").exists()


def test_it_generates_with_its_own_model_where_there_is_no_python(
    bundle: Path, bare: dict[str, str], tmp_path: Path
) -> None:
    version = _run(bundle, "barforge", "--version", env=bare, cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert f"default model: {bundle}/_internal/" in version.stdout, version.stdout
    made = _run(
        bundle, "barforge", "generate", "--seed", "3", "--out", "out", env=bare, cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    pattern = read_midi_file(tmp_path / "out" / "seed-3.mid").pattern
    assert [t.name for t in pattern.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert all(t.notes for t in pattern.tracks)
    assert (tmp_path / "out" / "seed-3.png").stat().st_size > 1000


def test_commands_it_leaves_out_say_where_to_find_them(
    bundle: Path, bare: dict[str, str], tmp_path: Path
) -> None:
    refused = _run(bundle, "barforge", "data", "build", "--out", "x", env=bare, cwd=tmp_path)
    assert refused.returncode == 2
    assert "barforge data: not in the desktop bundle" in refused.stderr
    assert "install the wheel" in refused.stderr
    assert not (tmp_path / "x").exists()


def test_its_app_opens_the_window_and_generates(
    bundle: Path, bare: dict[str, str], tmp_path: Path
) -> None:
    env = {**bare, "QT_QPA_PLATFORM": "offscreen"}
    shot = tmp_path / "window.png"
    shown = _run(
        bundle, "barforge-app", "--screenshot", str(shot), "--seed", "3", env=env, cwd=tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width >= 800, width
    assert height >= 600, height


def test_it_plays_into_jack(bundle: Path, bare: dict[str, str], tmp_path: Path) -> None:
    if not jack_installed():
        pytest.skip("JACK is not installed here (Debian: apt-get install jackd2)")
    notes = [Note(j * 240, 120, 60 + j, 100) for j in range(8)]  # eighths up a scale
    song = tmp_path / "scale.mid"
    write_midi_file(
        Pattern((Track("scale", 0, False, 0, notes),), n_bars=1, ticks_per_quarter=480), song
    )
    with JackServer() as server:
        dump = MidiDump(server).start()
        env = {**bare, "JACK_DEFAULT_SERVER": server.name, "JACK_NO_START_SERVER": "1"}
        played = _run(
            bundle,
            "barforge",
            "live",
            "--file",
            str(song),
            "--midi-api",
            "jack",
            "--port",
            dump.port,
            "--bpm",
            "240",
            "--seconds",
            "1.5",
            env=env,
            cwd=tmp_path,
        )
        got = dump.stop()
    assert played.returncode == 0, played.stdout + played.stderr
    ons = [m.message[1] for m in got if m.message[0] & 0xF0 == 0x90 and m.message[2] > 0]
    assert ons[:8] == list(range(60, 68)), got


def test_its_launcher_puts_the_bundles_app_in_the_menu(bundle: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(bundle / "install-launcher.sh")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    entry = (tmp_path / "applications" / "barforge.desktop").read_text(encoding="utf-8")
    assert f'Exec="{bundle / "barforge-app"}" %f' in entry
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "barforge.svg"
    assert icon.read_bytes().startswith(b"<")  # the bundle's own SVG
