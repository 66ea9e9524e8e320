# SPDX-License-Identifier: MIT
"""Dragging clips out: the .mid file and MIME data a drag carries, the cache folder and its
pruning, and when the drag handle starts a drag."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import mido
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDrag
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from desktop.drag_out import (
    DRAG_DIR_ENV,
    DRAG_TOOLTIP,
    MIDI_MIME_TYPES,
    DragHandle,
    clip_mime_data,
    drag_folder,
    prune_drag_folder,
    start_clip_drag,
)
from engine.clips import extract_clip
from engine.music import Note, Pattern, TimeSignature, Track
from tests.engine.test_clips import mido_notes as read_with_mido

DAY_SEC = 24 * 3600


def quartet() -> Pattern:
    soprano = [Note(0, 960, 72, 90), Note(1440, 960, 74, 80), Note(3840, 480, 76, 70)]
    bass = [Note(0, 5760, 40, 100)]
    return Pattern(
        tracks=(Track("Soprano", 52, False, 0, soprano), Track("Bass", 32, False, 1, bass)),
        n_bars=3,
        ticks_per_quarter=480,
        time_signature=TimeSignature(4, 4),
        tempo_us=500_000,
    )


def mido_notes(path: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    """(start, length, pitch, velocity) per named track, read by mido from the file."""
    return read_with_mido(mido.MidiFile(str(path)))


def expected_notes(clip: Pattern) -> dict[str, list[tuple[int, int, int, int]]]:
    return {
        t.name: sorted((n.start, n.duration, n.pitch, n.velocity) for n in t.notes)
        for t in clip.tracks
    }


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(DRAG_DIR_ENV, str(tmp_path / "drag"))
    return drag_folder()


# --- the folder ------------------------------------------------------------------------------


def test_drag_folder_follows_the_environment_and_is_created(folder: Path, tmp_path: Path) -> None:
    assert folder == tmp_path / "drag"
    assert folder.is_dir()


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_CACHE_HOME places the cache on Linux")
def test_drag_folder_defaults_to_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DRAG_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = drag_folder()
    assert folder.name == "drag"
    assert folder.is_dir()
    assert folder.is_relative_to(tmp_path / "cache")


# --- MIME data -------------------------------------------------------------------------------


def test_mime_data_points_to_a_midi_file_with_the_clips_notes(folder: Path) -> None:
    pattern = quartet()
    mime = clip_mime_data(pattern, (1, 3), None, folder, "Chorale")
    assert mime.hasFormat("text/uri-list")
    [url] = mime.urls()
    assert url.isLocalFile()
    path = Path(url.toLocalFile())
    assert path.parent == folder.resolve()
    assert path.name == "Barforge - Chorale - bars 2-3.mid"
    assert mido_notes(path) == expected_notes(extract_clip(pattern, (1, 3)))
    assert mido_notes(path)["Soprano"] == [(0, 480, 74, 80), (1920, 480, 76, 70)]
    assert mido_notes(path)["Bass"] == [(0, 3840, 40, 100)]


def test_mime_bytes_equal_the_file(folder: Path) -> None:
    mime = clip_mime_data(quartet(), None, 1, folder, None)
    path = Path(mime.urls()[0].toLocalFile())
    assert path.name == "Barforge - Untitled - Bass.mid"
    on_disk = path.read_bytes()
    for kind in MIDI_MIME_TYPES:
        assert mime.hasFormat(kind)
        assert mime.data(kind).data() == on_disk
    assert mido_notes(path) == {"Bass": [(0, 5760, 40, 100)]}


def test_dragging_again_replaces_the_file(folder: Path) -> None:
    pattern = quartet()
    first = Path(clip_mime_data(pattern, (0, 1), 0, folder, "Song").urls()[0].toLocalFile())
    louder = pattern.tracks[0].with_notes([Note(0, 480, 72, 127)])
    changed = Pattern(
        tracks=(louder, pattern.tracks[1]), n_bars=3, ticks_per_quarter=480, tempo_us=500_000
    )
    second = Path(clip_mime_data(changed, (0, 1), 0, folder, "Song").urls()[0].toLocalFile())
    assert first == second
    assert mido_notes(second) == {"Soprano": [(0, 480, 72, 127)]}
    assert [p.name for p in folder.iterdir()] == [second.name]  # no temporary files left


def test_bad_range_raises_and_writes_nothing(folder: Path) -> None:
    with pytest.raises(ValueError, match="empty range"):
        clip_mime_data(quartet(), (2, 2), None, folder, "Song")
    with pytest.raises(ValueError, match="track 7"):
        clip_mime_data(quartet(), None, 7, folder, "Song")
    assert list(folder.iterdir()) == []


# --- pruning ---------------------------------------------------------------------------------


def _aged(path: Path, days: float, data: bytes = b"MThd") -> Path:
    if not path.exists():
        path.write_bytes(data)
    stamp = time.time() - days * DAY_SEC
    os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


def test_prune_removes_only_old_clip_files(folder: Path, tmp_path: Path) -> None:
    old_clip = _aged(folder / "Barforge - Song - bars 1-2.mid", 8)
    new_clip = _aged(folder / "Barforge - Song - bar 3.mid", 1)
    other_midi = _aged(folder / "song.mid", 30)
    other_text = _aged(folder / "Barforge - notes.txt", 30)
    sub = folder / "Barforge - folder.mid"
    sub.mkdir()
    inside = _aged(sub / "Barforge - inner.mid", 30)
    _aged(sub, 30)
    outside = _aged(tmp_path / "Barforge - mine.mid", 30)
    link = folder / "Barforge - link.mid"
    link.symlink_to(outside)
    _aged(link, 30)

    removed = prune_drag_folder(folder)

    assert removed == [old_clip]
    assert not old_clip.exists()
    for kept in (new_clip, other_midi, other_text, sub, inside, outside):
        assert kept.exists()
    assert link.is_symlink()


def test_prune_age_is_a_parameter(folder: Path) -> None:
    clip = _aged(folder / "Barforge - Song.mid", 2)
    assert prune_drag_folder(folder, max_age_sec=3 * DAY_SEC) == []
    assert clip.exists()
    assert prune_drag_folder(folder, max_age_sec=DAY_SEC) == [clip]
    assert not clip.exists()


def test_prune_of_a_missing_folder_removes_nothing(tmp_path: Path) -> None:
    assert prune_drag_folder(tmp_path / "nowhere") == []


# --- the handle ------------------------------------------------------------------------------


class Drags:
    """Records drags instead of running them.

    Offscreen Qt has no drag-and-drop loop: ``QDrag.exec`` cannot complete here, so it is
    replaced (the one fake in these tests) by a function that records what would have been
    dragged and answers as a DAW that took the file would (``CopyAction``).
    """

    def __init__(self, answer: Qt.DropAction = Qt.DropAction.CopyAction) -> None:
        self.answer = answer
        self.urls: list[list[QUrl]] = []
        self.data: list[bytes] = []
        self.actions: list[Any] = []
        self.has_pixmap: list[bool] = []

    def exec(self, drag: QDrag, *actions: Any) -> Qt.DropAction:
        mime = drag.mimeData()
        self.urls.append(mime.urls())
        self.data.append(bytes(mime.data("audio/midi").data()))
        self.actions.append(actions)
        self.has_pixmap.append(not drag.pixmap().isNull())
        return self.answer


@pytest.fixture
def drags(monkeypatch: pytest.MonkeyPatch) -> Drags:
    recorder = Drags()
    monkeypatch.setattr(QDrag, "exec", lambda drag, *a: recorder.exec(drag, *a))
    return recorder


class Provider:
    def __init__(self, folder: Path, result: str = "clip") -> None:
        self.folder = folder
        self.result = result
        self.calls = 0
        self.label = ""

    def __call__(self) -> tuple[QMimeData, str] | None:
        self.calls += 1
        if self.result == "none":
            return None
        if self.result == "error":
            raise OSError("No space left on device")
        mime = clip_mime_data(quartet(), (0, 2), None, self.folder, "Song")
        self.label = Path(mime.urls()[0].toLocalFile()).name
        return mime, self.label


def press(widget: QLabel) -> None:
    QTest.mousePress(
        widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(5, 5)
    )


def release(widget: QLabel) -> None:
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)


def _handle(qtbot: QtBot, provider: Provider) -> DragHandle:
    handle = DragHandle(provider)
    qtbot.addWidget(handle)
    handle.resize(80, 24)
    handle.show()
    qtbot.waitExposed(handle)
    return handle


def test_handle_looks_like_a_grip(qtbot: QtBot, folder: Path) -> None:
    handle = _handle(qtbot, Provider(folder))
    assert isinstance(handle, QLabel)
    assert "MIDI" in handle.text()
    assert handle.toolTip() == DRAG_TOOLTIP


def test_handle_asks_for_the_clip_only_past_the_drag_distance(
    qtbot: QtBot, folder: Path, drags: Drags
) -> None:
    provider = Provider(folder)
    handle = _handle(qtbot, provider)
    distance = QApplication.startDragDistance()
    press(handle)
    QTest.mouseMove(handle, QPoint(5 + distance - 1, 5))
    assert provider.calls == 0
    assert drags.urls == []

    with qtbot.waitSignal(handle.clip_dropped) as dropped:
        QTest.mouseMove(handle, QPoint(5 + distance + 2, 5))
    assert provider.calls == 1
    assert dropped.args == [provider.label]
    [urls] = drags.urls
    path = Path(urls[0].toLocalFile())
    assert path.read_bytes() == drags.data[0]
    assert mido_notes(path) == expected_notes(extract_clip(quartet(), (0, 2)))
    assert drags.actions == [(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)]
    assert drags.has_pixmap == [True]

    # the same press does not start a second drag
    QTest.mouseMove(handle, QPoint(5 + 3 * distance, 5))
    release(handle)
    assert provider.calls == 1


def test_handle_does_nothing_when_there_is_nothing_to_drag(
    qtbot: QtBot, folder: Path, drags: Drags
) -> None:
    provider = Provider(folder, "none")
    handle = _handle(qtbot, provider)
    dropped: list[str] = []
    handle.clip_dropped.connect(dropped.append)
    press(handle)
    QTest.mouseMove(handle, QPoint(40, 5))
    release(handle)
    assert provider.calls == 1
    assert drags.urls == []
    assert dropped == []


def test_handle_reports_a_clip_that_cannot_be_written(
    qtbot: QtBot, folder: Path, drags: Drags
) -> None:
    handle = _handle(qtbot, Provider(folder, "error"))
    with qtbot.waitSignal(handle.drag_failed) as failed:
        press(handle)
        QTest.mouseMove(handle, QPoint(40, 5))
    assert failed.args == ["No space left on device"]
    assert drags.urls == []


def test_a_cancelled_drag_is_not_reported_as_dropped(
    qtbot: QtBot, folder: Path, drags: Drags
) -> None:
    drags.answer = Qt.DropAction.IgnoreAction
    provider = Provider(folder)
    handle = _handle(qtbot, provider)
    dropped: list[str] = []
    handle.clip_dropped.connect(dropped.append)
    press(handle)
    QTest.mouseMove(handle, QPoint(40, 5))
    assert provider.calls == 1
    assert len(drags.urls) == 1
    assert dropped == []


def test_start_clip_drag_from_any_widget(qtbot: QtBot, folder: Path, drags: Drags) -> None:
    source = QLabel("Soprano")
    qtbot.addWidget(source)
    mime = clip_mime_data(quartet(), None, 0, folder, "Song")
    assert start_clip_drag(source, mime) == Qt.DropAction.CopyAction
    assert Path(drags.urls[0][0].toLocalFile()).name == "Barforge - Song - Soprano.mid"
    assert drags.has_pixmap == [False]
