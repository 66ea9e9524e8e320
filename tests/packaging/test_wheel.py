# SPDX-License-Identifier: MIT
"""The wheel stands alone: built from the checkout, unpacked far from it, it finds every
shipped file through importlib.resources and generates with the shipped model.

(``scripts/check-wheel.sh``, which ``setup.sh test`` runs after the suite, installs the same
wheel into a fresh virtual environment with its dependencies and starts the app from it.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from engine.midi.files import read_midi_file

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "engine" / "resources"


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, unpacked as pip would into site-packages."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = out.glob("barforge-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return site


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python args`` with only the unpacked wheel's Barforge importable (the checkout's
    editable install sits later on the path, and the working folder is elsewhere)."""
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    env.pop("BARFORGE_MODEL", None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_every_shipped_file_is_in_the_wheel_and_found_by_importlib(
    unpacked: Path, tmp_path: Path
) -> None:
    shipped = sorted(
        p.relative_to(SHIPPED).as_posix()
        for p in SHIPPED.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"
    )
    assert "models/default/weights.safetensors" in shipped
    assert "icons/barforge.svg" in shipped
    code = (
        "import sys, engine\n"
        "from importlib.resources import files\n"
        "from engine.models import default_model_dir\n"
        "from engine.resources import ICON, shipped\n"
        "print(engine.__file__)\n"
        "print(default_model_dir())\n"
        "print(shipped(*ICON))\n"
        "root = files('engine.resources')\n"
        "for name in sys.argv[1:]:\n"
        "    print(name, root.joinpath(*name.split('/')).read_bytes().__len__())\n"
    )
    done = _run(unpacked, tmp_path, "-c", code, *shipped)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert Path(lines[0]).is_relative_to(unpacked)  # not the checkout's engine
    assert Path(lines[1]) == unpacked / "engine" / "resources" / "models" / "default"
    assert Path(lines[2]) == unpacked / "engine" / "resources" / "icons" / "barforge.svg"
    sizes = dict(line.rsplit(" ", 1) for line in lines[3:])
    assert {name: int(size) for name, size in sizes.items()} == {
        name: (SHIPPED / name).stat().st_size for name in shipped
    }


def test_the_unpacked_wheel_generates_with_the_shipped_model(
    unpacked: Path, tmp_path: Path
) -> None:
    version = _run(unpacked, tmp_path, "-m", "engine.cli", "--version")
    assert version.returncode == 0, version.stderr
    assert str(unpacked / "engine" / "resources" / "models" / "default") in version.stdout
    done = _run(unpacked, tmp_path, "-m", "engine.cli", "generate", "--seed", "7", "--out", "out")
    assert done.returncode == 0, done.stderr
    written = read_midi_file(tmp_path / "out" / "seed-7.mid").pattern
    assert [t.name for t in written.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert all(t.notes for t in written.tracks)


def test_a_missing_shipped_file_is_named(unpacked: Path, tmp_path: Path) -> None:
    code = "from engine.resources import shipped\nshipped('models', 'nothing-here')"
    done = _run(unpacked, tmp_path, "-c", code)
    assert done.returncode == 1
    assert "Barforge's shipped models/nothing-here is missing" in done.stderr
