# SPDX-License-Identifier: MIT
"""A new user's first minutes with the transport and the files, through the real widgets: the
tempo belongs to the project, Space plays from any toolbar box, playback problems stay in
sight, the ports are there before the first Play, adopting ends an audition, and files keep
their names (each test here failed before its fix)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QFileDialog, QToolButton
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.preferences import PreferencesDialog
from desktop.transport import PREVIEW_OUTPUT
from engine.history import Document
from engine.live.jack import JackServer
from engine.midi.files import read_midi_file, write_midi_file
from engine.midi.ports import MidiInput, list_input_ports
from engine.music import Note, Pattern, Track
from engine.project import Idea, Project, load_project
from tests.desktop.test_transport import _beats, _collect, _onsets, _pattern


@pytest.fixture
def win(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    window = MainWindow(autosave_dir=tmp_path / "autosave", start_worker=False)
    qtbot.addWidget(window)
    window.resize(1480, 860)
    window.show()
    qtbot.waitExposed(window)
    return window


def song() -> Pattern:
    return Pattern(
        [Track("Lead", 73, channel=0, notes=[Note(0, 480, 72), Note(960, 480, 74)])], n_bars=2
    )


def opened(window: MainWindow, tmp_path: Path, name: str = "song.mid") -> Path:
    path = tmp_path / name
    write_midi_file(song(), path)
    assert window.import_midi(path)
    return path


def type_into(box: QAbstractSpinBox, text: str) -> None:
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key.Key_Return)


def test_the_tempo_is_the_projects_saved_exported_and_undone(
    win: MainWindow, tmp_path: Path
) -> None:
    opened(win, tmp_path)
    bpm_box = win.transport_bar.bpm_box
    assert bpm_box.value() == pytest.approx(120.0)
    type_into(bpm_box, "90")
    assert win.pattern is not None
    assert win.pattern.bpm == pytest.approx(90.0, abs=1e-3)
    assert win.transport.bpm == pytest.approx(90.0)
    history = win.document.history
    assert history is not None
    assert history.undo_label == "Tempo 90 BPM"
    assert win.export_midi(tmp_path / "out.mid")
    assert read_midi_file(tmp_path / "out.mid").pattern.bpm == pytest.approx(90.0, abs=1e-3)
    assert win.save_to(tmp_path / "song.barforge")
    project = load_project(tmp_path / "song.barforge")
    assert project.document.pattern.bpm == pytest.approx(90.0, abs=1e-3)
    win.undo()
    assert bpm_box.value() == pytest.approx(120.0)
    assert win.transport.bpm == pytest.approx(120.0)
    # a project at its own tempo sets the transport when it opens
    assert win.open_project(tmp_path / "song.barforge")
    assert bpm_box.value() == pytest.approx(90.0)


@pytest.mark.parametrize("which", ["seed_box", "bpm_box"])
def test_space_in_a_toolbar_box_plays_instead_of_blanking_it(
    qtbot: QtBot, win: MainWindow, tmp_path: Path, which: str
) -> None:
    opened(win, tmp_path)
    win.transport.output_port = PREVIEW_OUTPUT
    win.transport.audio_device = "no-such-device-barforge"
    box = win.seed_box if which == "seed_box" else win.transport_bar.bpm_box
    type_into(box, "7" if which == "seed_box" else "100")
    before = box.value()
    with qtbot.waitSignal(win.transport_bar.play_action.triggered, timeout=2000):
        QTest.keyClick(box, Qt.Key.Key_Space)
    assert box.value() == before
    assert box.text().strip() != ""
    assert win.playback.last_error is not None  # Play ran (and said there is no device)


def test_every_play_without_a_sound_device_is_answered_in_sight(
    win: MainWindow, tmp_path: Path
) -> None:
    opened(win, tmp_path)
    win.transport.output_port = PREVIEW_OUTPUT
    win.transport.audio_device = "no-such-device-barforge"
    button = win.transport_bar.widgetForAction(win.transport_bar.play_action)
    assert isinstance(button, QToolButton)
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    assert win.error_box is not None
    win.error_box.close()
    label = win.transport_bar.problem_label
    label.setVisible(False)  # as if it had been dismissed: the second Play must show it again
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    assert label.isVisible()
    assert "no audio output" in label.toolTip()
    assert not win.transport_bar.play_action.isChecked()


def test_preferences_show_the_ports_the_transport_uses(win: MainWindow) -> None:
    win.transport.output_port = PREVIEW_OUTPUT
    win.transport.input_port = "Keys:out"
    win.show_preferences()
    dialog = win.preferences_dialog
    assert isinstance(dialog, PreferencesDialog)
    assert dialog.output_box.currentData() == PREVIEW_OUTPUT
    assert dialog.output_box.currentText() == PreferencesDialog.PREVIEW
    assert dialog.input_box.currentData() == "Keys:out"
    dialog.close()


def test_importing_over_a_saved_project_does_not_let_save_overwrite_it(
    win: MainWindow, tmp_path: Path
) -> None:
    opened(win, tmp_path)
    project_file = tmp_path / "mine.barforge"
    assert win.save_to(project_file)
    saved = project_file.read_bytes()
    other = Pattern([Track("Bass", 33, channel=1, notes=[Note(0, 1920, 40)])], n_bars=1)
    write_midi_file(other, tmp_path / "bass.mid")
    assert win.import_midi(tmp_path / "bass.mid")
    assert win.path is None
    assert "bass.mid" in win.windowTitle()
    QTest.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert project_file.read_bytes() == saved  # Save asked for a name instead
    dialog = win.file_dialog
    assert isinstance(dialog, QFileDialog)
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    assert Path(dialog.selectedFiles()[0]).name == "bass.barforge"
    dialog.close()


def test_the_export_dialog_suggests_a_name_and_folder(win: MainWindow, tmp_path: Path) -> None:
    opened(win, tmp_path)
    assert win.save_to(tmp_path / "tune.barforge")
    QTest.keyClick(win, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = win.file_dialog
    assert isinstance(dialog, QFileDialog)
    chosen = Path(dialog.selectedFiles()[0])
    assert chosen == tmp_path / "tune.mid"
    dialog.close()


@pytest.fixture
def jack_window(
    qtbot: QtBot, tmp_path: Path, jack_server: JackServer, monkeypatch: pytest.MonkeyPatch
) -> MainWindow:
    monkeypatch.setenv("BARFORGE_MIDI_API", "jack")
    monkeypatch.setattr(MainWindow, "open_port_at_start", True)
    window = MainWindow(autosave_dir=tmp_path / "autosave", start_worker=False)
    qtbot.addWidget(window)
    window.show()
    return window


def test_the_virtual_port_is_there_before_the_first_play(
    qtbot: QtBot, jack_window: MainWindow
) -> None:
    qtbot.waitUntil(lambda: jack_window.transport.output_name is not None, timeout=5000)
    assert not jack_window.transport.playing
    assert any(name.startswith("Barforge:out") for name in list_input_ports("jack"))


def test_adopting_an_auditioned_take_stops_only_what_the_audition_started(
    qtbot: QtBot, jack_window: MainWindow
) -> None:
    win = jack_window
    daw = MidiInput("in", api="jack", client="adopt-daw")
    try:
        win.transport.output_port = daw.name
        project = _pattern([_beats(60)])
        win.document.open(Project.from_document(Document(project)), None)
        tile = _pattern([_beats(67)])
        win.playback.audition(tile)  # a click on a tile while stopped
        assert win.transport.playing
        win.adopt_idea(Idea("Seed 1 · var 1", tile))
        assert not win.transport.playing
        assert win.document.pattern.tracks[0].notes == tile.tracks[0].notes
        # playing the project, then auditioning and adopting: playing goes on
        win.transport_bar.play_action.trigger()
        assert win.transport.playing
        other = _pattern([_beats(64)])
        win.playback.audition(other)
        win.adopt_idea(Idea("Seed 1 · var 2", other))
        assert win.transport.playing
        heard = _collect(qtbot, daw, 1.2)
        assert 64 in {r.message[1] for r in _onsets(heard)}
        win.transport.stop()
    finally:
        daw.close()
