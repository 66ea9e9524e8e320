# SPDX-License-Identifier: MIT
"""The editor as a composer uses it: mouse and keys on the real window, generation through the
worker with a tiny model, project files, autosave and recovery after a real crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from engine.autosave import find_recoverable
from engine.generation.settings import Locks
from engine.midi.files import read_midi_file, write_midi_file
from engine.music import Note, Pattern, TimeSignature, Track
from engine.project import load_project

BAR = 1920
VOICES = ("Soprano", "Alto", "Tenor", "Bass")


def song() -> Pattern:
    return Pattern(
        [
            Track("Lead", 73, channel=0, notes=[Note(0, 480, 72), Note(960, 480, 74)]),
            Track("Bass", 33, channel=1, notes=[Note(0, 1920, 40)]),
        ],
        n_bars=2,
    )


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    win = MainWindow(autosave_dir=tmp_path / "autosave", start_worker=False)
    win.confirm_close = False
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def opened(window: MainWindow, tmp_path: Path) -> MainWindow:
    path = tmp_path / "song.mid"
    write_midi_file(song(), path)
    assert window.import_midi(path)
    return window


def point(window: MainWindow, tick: float, pitch: int) -> QPoint:
    roll = window.piano_roll
    return QPoint(round(roll.x_of(tick)), round(roll.y_of(pitch) + 2))


def lead(window: MainWindow) -> list[tuple[int, int, int]]:
    assert window.pattern is not None
    return [(n.start, n.duration, n.pitch) for n in window.pattern.tracks[0].notes]


def test_mouse_drawing_moving_and_undo_redo_with_the_keyboard(
    qtbot: QtBot, opened: MainWindow
) -> None:
    roll = opened.piano_roll
    roll.setFocus()
    QTest.mouseClick(
        roll,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        point(opened, 2 * 480 + 490, 76),
    )
    assert (1440, 120, 76) in lead(opened)  # snapped to the sixteenth, a grid step long
    # drag the first note up two semitones and right by a beat: one undo step
    start = point(opened, 100, 72)
    QTest.mousePress(roll, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(roll, point(opened, 300, 73))
    QTest.mouseMove(roll, point(opened, 580, 74))
    QTest.mouseRelease(
        roll, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(opened, 580, 74)
    )
    assert (480, 480, 74) in lead(opened)
    assert opened.undo_action.text() == "&Undo Move notes"
    QTest.keyClick(roll, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (0, 480, 72) in lead(opened)
    QTest.keyClick(roll, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (1440, 120, 76) not in lead(opened)
    QTest.keyClick(
        roll, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert (1440, 120, 76) in lead(opened)
    # select all, transpose an octave with the keyboard, delete
    QTest.keyClick(roll, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(roll, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert sorted(p for *_, p in lead(opened)) == [84, 86, 88]
    QTest.keyClick(roll, Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier)
    assert lead(opened) == []
    assert opened.pattern is not None
    assert opened.pattern.tracks[1].notes
    assert "•" in opened.windowTitle()  # unsaved


def test_tools_switch_by_key_and_the_erase_tool_erases(qtbot: QtBot, opened: MainWindow) -> None:
    roll = opened.piano_roll
    roll.setFocus()
    QTest.keyClick(roll, Qt.Key.Key_E, Qt.KeyboardModifier.NoModifier)
    assert opened.editor.tool == "erase"
    assert opened.tool_actions["erase"].isChecked()
    QTest.mouseClick(
        roll, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point(opened, 100, 72)
    )
    assert (0, 480, 72) not in lead(opened)
    QTest.keyClick(roll, Qt.Key.Key_S, Qt.KeyboardModifier.NoModifier)
    assert opened.editor.tool == "select"


def test_locks_are_undoable_and_shown(opened: MainWindow) -> None:
    opened.set_bar_lock(1, True)
    opened.set_track_lock(1, True)
    assert opened.document.locks.bars == {1}
    assert opened.piano_roll.locked_bars == {1}
    assert opened.document.track_states[1].lock
    opened.undo()
    assert not opened.document.track_states[1].lock
    opened.undo()
    assert opened.document.locks.bars == frozenset()
    menu = opened.bar_menu(0)
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Lock Bar 1", "Regenerate Bar 1"]


def test_save_and_load_round_trip_keeps_pattern_locks_and_track_states(
    qtbot: QtBot, opened: MainWindow, tmp_path: Path
) -> None:
    opened.set_bar_lock(0, True)
    opened.editor.selection = frozenset({(0, Note(960, 480, 74))})
    opened.toggle_note_locks()
    opened.document.set_track_state(1, mute=True)
    target = tmp_path / "project.barforge"
    assert opened.save_to(target)
    assert "•" not in opened.windowTitle()
    assert opened.windowTitle().endswith("project.barforge")
    fresh = MainWindow(autosave_dir=tmp_path / "autosave2", start_worker=False)
    qtbot.addWidget(fresh)
    assert fresh.open_file(target)
    assert fresh.pattern == opened.pattern
    assert fresh.document.locks == Locks([(0, Note(960, 480, 74))], bars=[0])
    assert fresh.document.track_states[1].mute
    assert load_project(target).document.pattern == opened.pattern


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.barforge", b"{not json", "not JSON"),
        ("other.barforge", json.dumps({"format": "something else"}).encode(), "format"),
        ("broken.mid", b"MThd\x00\x00\x00\x06\x00\x01", "truncated"),
    ],
)
def test_a_corrupt_file_gives_a_message_naming_it_and_keeps_the_work(
    opened: MainWindow, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    before = opened.pattern
    bad = tmp_path / name
    bad.write_bytes(content)
    assert not opened.open_file(bad)
    assert opened.pattern == before
    box = opened.error_box
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    assert name in box.text()
    assert reason in (opened.last_error or "")
    assert "What was open stays open" in box.informativeText()


def test_export_writes_a_midi_file_with_the_notes(opened: MainWindow, tmp_path: Path) -> None:
    out = tmp_path / "out.mid"
    assert opened.export_midi(out)
    assert read_midi_file(out).pattern.tracks[0].notes == song().tracks[0].notes


def _generated(qtbot: QtBot, window: MainWindow, request: int | None) -> None:
    assert request is not None
    qtbot.waitUntil(lambda: request not in window._pending, timeout=60_000)


@pytest.fixture
def with_model(qtbot: QtBot, tiny_model_dir: Path, tmp_path: Path) -> MainWindow:
    win = MainWindow(model=tiny_model_dir, autosave_dir=tmp_path / "autosave", start_worker=False)
    win.confirm_close = False
    qtbot.addWidget(win)
    win.show()
    win.start_worker()
    qtbot.waitUntil(lambda: win.model_ready, timeout=60_000)
    assert "ready" in win.model_label.text()
    assert win.device_label.text() == "Device: CPU"
    return win


def test_generation_regenerate_and_inpaint_keep_locks_and_are_undoable(
    qtbot: QtBot, with_model: MainWindow
) -> None:
    win = with_model
    _generated(qtbot, win, win.new_from_seed(5))
    assert win.pattern is not None
    assert win.pattern.n_bars == 4
    assert "Last generation" in win.latency_label.text()
    first = win.pattern
    # lock bar 0 and track 3, then regenerate bars 0-1: bar 0 and track 3 stay as they were
    win.set_bar_lock(0, True)
    win.set_track_lock(3, True)
    _generated(qtbot, win, win.regenerate(bars=[0, 1]))
    after = win.pattern
    assert after is not None
    for t in range(4):
        in_bar0 = [n for n in after.tracks[t].notes if n.start < BAR]
        assert in_bar0 == [n for n in first.tracks[t].notes if n.start < BAR]
    assert after.tracks[3] == first.tracks[3]
    later = [n for n in first.tracks[0].notes if n.start >= 2 * BAR]
    assert [n for n in after.tracks[0].notes if n.start >= 2 * BAR] == later
    assert win.document.history is not None
    assert win.document.history.undo_label == "Regenerate bars 1, 2"
    # inpaint around a locked note: it stays exactly
    note = Note(2 * BAR + 120, 300, 70, 77)
    win.document.push("Add note", after.with_track(0, after.tracks[0].with_notes([note])))
    win.editor.selection = frozenset({(0, note)})
    win.toggle_note_locks()
    _generated(qtbot, win, win.inpaint())
    assert win.pattern is not None
    assert note in win.pattern.tracks[0].notes
    assert win.document.history.undo_label == "Fill around locks"
    win.undo()
    assert win.pattern is not None
    assert win.pattern.tracks[0].notes == (note,)


def test_regenerate_after_an_undo_continues_from_the_state_shown(
    qtbot: QtBot, with_model: MainWindow
) -> None:
    win = with_model
    _generated(qtbot, win, win.new_from_seed(6))
    first = win.document.state.provenance
    assert first is not None
    _generated(qtbot, win, win.regenerate(bars=[0]))
    win.undo()
    assert win.document.state.provenance is first
    _generated(qtbot, win, win.regenerate(bars=[2]))
    provenance = win.document.state.provenance
    assert provenance is not None
    # one regeneration on top of the first take, not on top of the undone one
    assert [step["op"] for step in provenance.history] == ["generate", "regenerate"]
    assert provenance.history[-1]["bars"] == [2]


def test_worker_errors_appear_as_messages_and_generation_goes_on(
    qtbot: QtBot, with_model: MainWindow, tmp_path: Path
) -> None:
    win = with_model
    path = tmp_path / "three.mid"
    waltz = Pattern(
        [Track(name, 52, channel=i, notes=[Note(0, 480, 60 + i)]) for i, name in enumerate(VOICES)],
        time_signature=TimeSignature(3, 4),
        n_bars=4,
    )
    write_midi_file(waltz, path)  # the model's tracks, but in 3/4: the engine refuses
    assert win.import_midi(path)
    win.set_bar_lock(0, True)
    _generated(qtbot, win, win.inpaint())
    assert win.last_generation_error is not None
    assert "Fill around locks failed" in win.last_generation_error
    assert "3/4" in win.last_generation_error
    assert isinstance(win.error_box, QMessageBox)
    assert win.error_box.isVisible()
    _generated(qtbot, win, win.new_from_seed(2))  # the worker still serves
    assert win.pattern is not None
    assert len(win.pattern.tracks) == 4


def test_a_long_inpaint_can_be_cancelled(qtbot: QtBot, with_model: MainWindow) -> None:
    win = with_model
    _generated(qtbot, win, win.new_from_seed(1))
    before = win.pattern
    request = win.inpaint()
    assert win.cancel_button.isVisible()
    win.cancel_generation()
    qtbot.waitUntil(lambda: request not in win._pending, timeout=60_000)
    assert not win.cancel_button.isVisible()
    assert win.pattern is before or win.document.history is not None


CRASHING_EDITOR = textwrap.dedent(
    """
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    from desktop.main_window import MainWindow
    from engine.music import Note
    app = QApplication([])
    window = MainWindow(autosave_dir=sys.argv[1], start_worker=False)
    window.show()
    assert window.import_midi(sys.argv[2])
    window.document.push("Add note", window.pattern.with_track(
        0, window.pattern.tracks[0].with_notes([Note(0, 480, 72), Note(480, 240, 79)])))
    assert window.autosave()
    print("saved", flush=True)
    while True:  # editing on, until killed
        app.processEvents()
        time.sleep(0.01)
    """
)


def test_after_a_crash_the_next_start_offers_the_autosaved_work(
    qtbot: QtBot, tmp_path: Path
) -> None:
    autosave = tmp_path / "autosave"
    source = tmp_path / "song.mid"
    write_midi_file(song(), source)
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_EDITOR, str(autosave), str(source)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "saved"
        process.send_signal(signal.SIGKILL)  # a crash: no clean-up at all
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
    assert len(find_recoverable(autosave)) == 1
    window = MainWindow(autosave_dir=autosave, start_worker=False)
    window.confirm_close = False
    qtbot.addWidget(window)
    window.show()
    sessions = window.offer_recovery()
    assert len(sessions) == 1
    box = window.recovery_box
    assert box is not None
    assert box.isVisible()
    assert "did not close properly" in box.text()
    recover = next(b for b in box.buttons() if b.text() == "Recover")
    recover.click()
    assert window.pattern is not None
    assert [n.pitch for n in window.pattern.tracks[0].notes] == [72, 79]
    assert "•" in window.windowTitle()  # recovered, not saved anywhere yet
    assert find_recoverable(autosave) == []  # offered once


def test_the_window_shows_before_torch_loads_then_the_model_gets_ready(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    """The window is up before anything imports torch; the worker thread then loads it."""
    code = textwrap.dedent(
        """
        import os, sys, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from desktop.app import application
        from desktop.main_window import MainWindow
        app = application()
        window = MainWindow(model=sys.argv[2], autosave_dir=sys.argv[1])
        window.show()
        window.repaint()
        print("torch" in sys.modules, flush=True)
        deadline = time.monotonic() + 60
        while not window.model_ready and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        print(window.model_label.text(), flush=True)
        window.confirm_close = False
        window.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(tiny_model_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    torch_at_show, label = done.stdout.splitlines()
    assert torch_at_show == "False"
    assert label.endswith("· ready")
