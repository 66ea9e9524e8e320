# SPDX-License-Identifier: MIT
"""The window as an instrument: its transport into a private JACK server (edits reach the DAW
at the next bar, stop leaves nothing sounding, a browser tile auditions), recording into a
track, the audio preview without a sound device, drag-out, preferences, recent files and the
shortcuts panel (Qt offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mido
import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.transport import PREVIEW_OUTPUT
from engine.clips import extract_clip
from engine.history import Document
from engine.live.jack import JackServer
from engine.midi.ports import MidiInput
from engine.music import Note, Pattern, Track
from engine.project import Project
from tests.desktop.test_transport import BPM, TPQ, _beats, _collect, _onsets, _pattern, hanging
from tests.engine.test_clips import mido_notes


@pytest.fixture
def win(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    window = MainWindow(autosave_dir=tmp_path / "autosave", start_worker=False)
    qtbot.addWidget(window)
    window.show()
    return window


def open_pattern(window: MainWindow, pattern: Pattern) -> None:
    window.document.open(Project.from_document(Document(pattern)), None)


@pytest.fixture
def daw(jack_server: JackServer) -> Iterator[MidiInput]:
    """The DAW's MIDI input port, which the window plays into by name."""
    port = MidiInput("in", api="jack", client="window-daw")
    yield port
    port.close()


@pytest.fixture
def live(win: MainWindow, daw: MidiInput) -> MainWindow:
    win.transport.midi_api = "jack"
    win.transport.output_port = daw.name
    win.transport.bpm = BPM
    return win


def test_play_edit_while_playing_and_stop_from_the_window(
    qtbot: QtBot, live: MainWindow, daw: MidiInput
) -> None:
    open_pattern(live, _pattern([_beats(60)]))
    roll = live.piano_roll
    live.transport_bar.play_action.trigger()  # Space
    assert live.transport.playing
    qtbot.waitUntil(lambda: live.transport.song_position() >= 5.3, timeout=5000)  # in bar 2
    assert roll.playhead_tick is not None
    assert TPQ * 4 <= roll.playhead_tick < TPQ * 8
    # an edit in the roll: every note up an octave (one undo step); the DAW hears it at beat 8
    edited = live.document.pattern.with_track(0, _beats(72))
    with qtbot.waitSignal(live.transport.pattern_swapped, timeout=5000) as swapped:
        live.document.push("Transpose", edited)
    assert swapped.args == [8.0]
    qtbot.waitUntil(lambda: live.transport.song_position() >= 10.2, timeout=5000)
    heard = _collect(qtbot, daw, 0.1)
    live.transport_bar.play_action.trigger()  # Space again: stop
    assert not live.transport.playing
    heard += _collect(qtbot, daw, 0.3)
    pitches = [r.message[1] for r in _onsets(heard)]
    assert pitches[:8] == [60] * 8
    assert pitches[8:] == [72] * (len(pitches) - 8)
    assert len(pitches) >= 10
    assert hanging(r.message for r in heard) == set()
    assert roll.playhead_tick is None


def test_a_browser_tile_auditions_live_until_the_project_changes(
    qtbot: QtBot, live: MainWindow, daw: MidiInput
) -> None:
    project = _pattern([_beats(60)])
    tile = _pattern([_beats(67)])
    open_pattern(live, project)
    live.playback.audition(tile)  # a click on a tile: plays it, the project is untouched
    assert live.document.pattern is project
    assert live.playback.pattern_to_play() is tile
    heard = _collect(qtbot, daw, 0.6)
    assert {r.message[1] for r in _onsets(heard)} == {67}
    live.document.push("Edit", project.with_track(0, _beats(48)))  # back to the project
    assert live.playback.auditioned is None
    with qtbot.waitSignal(live.transport.pattern_swapped, timeout=5000):
        pass
    daw.poll()  # what arrived before the bar line
    heard = _collect(qtbot, daw, 0.6)
    live.transport.stop()
    heard += _collect(qtbot, daw, 0.3)
    assert {r.message[1] for r in _onsets(heard)} == {48}
    assert hanging(r.message for r in heard) == set()


def test_a_recording_becomes_the_track_in_one_undo_step(qtbot: QtBot, win: MainWindow) -> None:
    lead = Track("Lead", 81, channel=1, notes=[Note(0, 240, 50, 90)])
    open_pattern(win, _pattern([_beats(60), lead]))
    played = Track("Lead", 81, channel=1, notes=[Note(0, 120, 64, 100), Note(480, 240, 67, 90)])
    win.transport.recording_finished.emit(1, played)  # as the transport reports a take
    assert win.document.pattern.tracks[1].notes == played.notes
    assert win.document.pattern.tracks[1].name == "Lead"
    assert win.track_list.current_track == 1  # ready for Accompany
    history = win.document.history
    assert history is not None
    assert history.undo_label == "Record into Lead"
    win.undo()
    assert win.document.pattern.tracks[1].notes == lead.notes


def test_the_audio_preview_without_a_device_says_so_once_and_the_app_goes_on(
    qtbot: QtBot, win: MainWindow
) -> None:
    open_pattern(win, _pattern([_beats(60)]))
    win.transport.output_port = PREVIEW_OUTPUT
    win.transport.audio_device = "no-such-device-barforge"
    assert not win.transport.play(win.pattern)
    box = win.error_box
    assert box is not None
    assert box.isVisible()
    assert "no audio output" in box.informativeText()
    assert "no-such-device-barforge" in box.informativeText()
    box.close()
    assert not win.transport.play(win.pattern)  # again: only the status bar says it
    assert win.error_box is box
    assert not box.isVisible()
    assert "no audio output" in win.statusBar().currentMessage()
    assert not win.transport.playing
    win.document.push("Edit", win.document.pattern.with_track(0, _beats(62)))  # still works
    assert win.document.pattern.tracks[0].notes[0].pitch == 62


def test_drag_out_makes_a_midi_file_of_the_chosen_bars_of_one_track(
    win: MainWindow, tmp_path: Path
) -> None:
    bass = Track("Bass", 33, channel=1, notes=[Note(0, 4 * TPQ, 36, 90), Note(5 * TPQ, 480, 43)])
    pattern = _pattern([_beats(60), bass], n_bars=2)
    open_pattern(win, pattern)
    assert win.clip_for_drag(one_track=False) is not None
    win.piano_roll.selected_bars = frozenset({1})
    win.track_list.select_track(1)
    made = win.clip_for_drag(one_track=True)
    assert made is not None
    mime, name = made
    assert name.endswith(".mid")
    assert "Bass" in name
    urls = mime.urls()
    assert len(urls) == 1
    path = Path(QUrl(urls[0]).toLocalFile())
    assert path.parent == tmp_path / "drag"  # the test's private drag folder
    heard = mido_notes(mido.MidiFile(path))
    expected = extract_clip(pattern, (1, 2), 1).tracks[0].notes
    assert heard == {"Bass": [(n.start, n.duration, n.pitch, n.velocity) for n in expected]}
    assert heard["Bass"][0][:3] == (TPQ, 480, 43)


def test_preferences_and_recent_files_outlive_the_window(
    qtbot: QtBot, win: MainWindow, tmp_path: Path
) -> None:
    open_pattern(win, _pattern([_beats(60)]))
    win.grid_box.setCurrentText("1/8")
    win.transport.bpm = 97.0
    target = tmp_path / "song.barforge"
    assert win.save_to(target)
    win.close()
    again = MainWindow(autosave_dir=tmp_path / "autosave2", start_worker=False)
    qtbot.addWidget(again)
    assert again.grid_box.currentText() == "1/8"
    assert again.transport.bpm == 97.0
    assert again.transport_bar.bpm_box.value() == 97.0
    again.recent_menu.aboutToShow.emit()
    entries = [a.text() for a in again.recent_menu.actions()]
    assert any("song.barforge" in text for text in entries)
    opened = next(a for a in again.recent_menu.actions() if "song.barforge" in a.text())
    opened.trigger()
    assert again.document.path == target


def test_the_shortcuts_panel_lists_the_transport_and_browser_keys(win: MainWindow) -> None:
    win.shortcuts_action.trigger()
    panel = win.shortcuts_panel
    assert panel is not None
    assert panel.isVisible()
    texts = {(row.command, row.keys) for row in panel.rows}
    space = QKeySequence("Space").toString(QKeySequence.SequenceFormat.NativeText)
    assert any(keys == space for _, keys in texts)
    assert any("Browser" in action for action, _ in texts)
    panel.close()
