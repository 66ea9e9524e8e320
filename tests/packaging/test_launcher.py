# SPDX-License-Identifier: MIT
"""The freedesktop.org launcher installer, run for real into a temporary data folder."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "linux" / "install-launcher.sh"


def _run(data: Path, venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(data), "BARFORGE_VENV": str(venv)}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True)


def test_launcher_points_at_the_installed_app_and_uninstalls(tmp_path: Path) -> None:
    venv = Path(sys.prefix)
    assert (venv / "bin" / "barforge-app").exists()
    done = _run(tmp_path, venv)
    assert done.returncode == 0, done.stderr
    entry = tmp_path / "applications" / "barforge.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(entry)
    section = parser["Desktop Entry"]
    assert section["Exec"] == f'"{venv / "bin" / "barforge-app"}" %f'
    icon = Path(section["Icon"])
    shipped_icon = ROOT / "engine" / "resources" / "icons" / "barforge.svg"
    assert icon.read_bytes() == shipped_icon.read_bytes()
    assert "audio/midi" in section["MimeType"]

    removed = _run(tmp_path, venv, "--uninstall")
    assert removed.returncode == 0
    assert not entry.exists()
    assert not icon.exists()


def test_launcher_refuses_without_an_installed_app(tmp_path: Path) -> None:
    done = _run(tmp_path / "data", tmp_path / "no-venv")
    assert done.returncode == 1
    assert "run 'bash scripts/setup.sh app' first" in done.stderr
    assert not (tmp_path / "data" / "applications" / "barforge.desktop").exists()
