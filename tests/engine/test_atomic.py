# SPDX-License-Identifier: MIT
"""Atomic file writing: all or nothing, with the permissions a user expects."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.atomic import write_bytes_atomically


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    path = tmp_path / "song.mid"
    write_bytes_atomically(path, b"abc")
    assert path.read_bytes() == b"abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    assert os.listdir(tmp_path) == ["song.mid"]


def test_replacing_keeps_the_old_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "song.mid"
    path.write_bytes(b"old")
    path.chmod(0o640)
    write_bytes_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path) -> None:
    # The final rename fails for real: the target is a folder that holds a file.
    target = tmp_path / "song.mid"
    target.mkdir()
    (target / "inside").write_bytes(b"kept")
    with pytest.raises(IsADirectoryError):
        write_bytes_atomically(target, b"new")
    assert (target / "inside").read_bytes() == b"kept"
    assert sorted(os.listdir(tmp_path)) == ["song.mid"]


def test_a_missing_folder_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_bytes_atomically(tmp_path / "missing" / "song.mid", b"abc")
