# SPDX-License-Identifier: MIT
"""The desktop app: main window, track list, piano roll, bad files and the entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import mido
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QThread
from PySide6.QtGui import QColor, QImage, QKeySequence, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop.app import application, main
from desktop.colors import track_color
from desktop.main_window import MainWindow
from desktop.note_table import TrackNotes, note_tables, visible_notes
from desktop.piano_roll_view import EMPTY_HINT, PianoRollView
from desktop.track_list import CHANNEL, NAME, NOTES, PROGRAM
from desktop.viewport import Viewport, fit_viewport, scroll_pitch, zoom_time
from engine import __version__
from engine.bench.startup import launch
from engine.midi.files import MidiFileError, read_midi_file, write_midi_file
from engine.music import Note, Pattern, TimeSignature, Track

REPO = Path(__file__).resolve().parents[2]
LeakCheck = Callable[[list[QThread]], list[str]]


# --- helpers -------------------------------------------------------------------------------


def small_pattern() -> Pattern:
    """Three tracks, 2 bars of 3/4 at 90 BPM: drums (channel 10), bass, piano."""
    q = 480
    drums = [Note(i * q, 60, 36 if i % 3 == 0 else 42, 100) for i in range(6)]
    bass = [Note(0, 3 * q, 40), Note(3 * q, 3 * q, 43)]
    piano = [Note(0, q, p) for p in (60, 64, 67)] + [Note(3 * q, 2 * q, 62)]
    return Pattern(
        tracks=(
            Track("Kit", 0, True, 9, drums),
            Track("Bass line", 33, False, 1, bass),
            Track("Keys", 0, False, 0, piano),
        ),
        n_bars=2,
        ticks_per_quarter=q,
        time_signature=TimeSignature(3, 4),
        tempo_us=666_667,
    )


def other_pattern() -> Pattern:
    return Pattern(tracks=(Track("Lead", 80, False, 3, [Note(0, 480, 72)]),), n_bars=1)


def big_pattern(n_tracks: int = 4, n_per_track: int = 2_500) -> Pattern:
    """``n_tracks * n_per_track`` notes, one every sixteenth per track."""
    step = 24  # a sixteenth at 96 ticks per quarter
    n_bars = (n_per_track + 2) * step // 384 + 1
    tracks = []
    for k in range(n_tracks):
        notes = [
            Note(i * step, step * (1 + (i + k) % 3), 36 + 12 * k + (i * 7) % 24, 100)
            for i in range(n_per_track)
        ]
        tracks.append(Track(f"Track {k + 1}", k, False, k, notes))
    return Pattern(tracks=tuple(tracks), n_bars=n_bars, ticks_per_quarter=96)


def color_count(image: QImage, color: QColor) -> int:
    """How many pixels of ``image`` have exactly ``color``."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    words = image.bytesPerLine() // 4
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.height() * words)
    pixels = pixels.reshape(image.height(), words)[:, : image.width()]
    return int(np.count_nonzero(pixels == np.uint32(color.rgb())))


def open_window(qtbot: QtBot) -> MainWindow:
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    return window


@pytest.fixture
def midi_path(tmp_path: Path) -> Path:
    path = tmp_path / "three tracks.mid"
    write_midi_file(small_pattern(), path)
    return path


# --- main window -----------------------------------------------------------------------------


def test_title_and_empty_state(qtbot: QtBot) -> None:
    window = open_window(qtbot)
    assert window.windowTitle() == "Barforge"
    assert window.pattern is None
    assert window.track_list.rowCount() == 0
    assert window.summary_label.text().startswith("Nothing open")
    assert not window.fit_action.isEnabled()
    assert "Ctrl+O" in EMPTY_HINT
    assert "Ctrl+N" in EMPTY_HINT
    # The hint is painted: the empty roll holds more than its background colour.
    image = window.piano_roll.grab().toImage()
    background = color_count(image, QColor("#262a31"))
    assert 0 < background < image.width() * image.height() - 200


def test_open_file_fills_track_list_and_title(qtbot: QtBot, midi_path: Path) -> None:
    window = open_window(qtbot)
    assert window.open_file(midi_path)
    assert window.pattern == small_pattern()
    assert window.path is None  # imported: not saved as a project yet
    assert window.source_name == midi_path.name
    assert window.last_error is None
    assert window.windowTitle().startswith("Barforge")
    assert "three tracks.mid" in window.windowTitle()
    table = window.track_list
    rows = [
        tuple(table.cell_text(r, c) for c in (NAME, PROGRAM, CHANNEL, NOTES))
        for r in range(table.rowCount())
    ]
    assert rows == [
        ("Kit", "Drums (kit 1)", "10", "6"),
        ("Bass line", "34 Electric Bass (finger)", "2", "2"),
        ("Keys", "1 Acoustic Grand Piano", "1", "4"),
    ]
    assert window.summary_label.text() == "90 BPM · 3/4 · 2 bars · 3 tracks · 12 notes"
    assert window.warnings_label.text() == ""
    assert window.piano_roll.pattern == window.pattern
    assert window.fit_action.isEnabled()


def test_track_colours_match_the_roll(qtbot: QtBot, midi_path: Path) -> None:
    window = open_window(qtbot)
    window.open_file(midi_path)
    image = window.piano_roll.grab().toImage()
    for row in range(3):
        swatch = window.track_list.item(row, 0)
        assert swatch is not None
        assert QColor(swatch.data(Qt.ItemDataRole.DecorationRole)) == track_color(row)
        assert color_count(image, track_color(row)) > 50


def test_import_warnings_are_summarised(qtbot: QtBot, tmp_path: Path) -> None:
    track = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=500_000, time=0),
            mido.Message.from_str("note_on channel=0 note=60 velocity=90 time=0"),
            mido.Message.from_str("note_on channel=0 note=64 velocity=90 time=0"),
            mido.Message.from_str("note_off channel=0 note=64 velocity=0 time=480"),
            mido.MetaMessage("set_tempo", tempo=400_000, time=480),
        ]
    )
    path = tmp_path / "dangling.mid"
    mido.MidiFile(type=0, ticks_per_beat=480, tracks=[track]).save(path)
    window = open_window(qtbot)
    assert window.open_file(path)
    assert len(window.import_warnings) == 2
    assert window.warnings_label.text().startswith("2 import warnings: ")
    assert "+1 more" in window.warnings_label.text()
    assert window.warnings_label.toolTip() == "\n".join(window.import_warnings)


def test_a_file_another_program_cut_short_opens_with_what_it_holds(
    qtbot: QtBot, tmp_path: Path
) -> None:
    # A type 0 file whose last byte is missing, with an alien chunk before its track.
    body = b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x00\x00\xff\x2f\x00"
    data = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0" + b"XFIH\x00\x00\x00\x02hi"
    data += b"MTrk" + len(body).to_bytes(4, "big") + body[:-1]
    path = tmp_path / "cut.mid"
    path.write_bytes(data)
    window = open_window(qtbot)
    assert window.open_file(path)
    assert window.document.pattern.n_notes == 1
    assert window.warnings_label.text().startswith("2 import warnings: ")
    assert "truncated" in window.warnings_label.toolTip()
    assert "not MIDI tracks were skipped" in window.warnings_label.toolTip()


def test_file_without_notes(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "silence.mid"
    write_midi_file(Pattern(n_bars=2), path)
    window = open_window(qtbot)
    assert window.open_file(path)
    assert window.track_list.rowCount() == 0
    assert window.summary_label.text() == "120 BPM · 4/4 · 2 bars · 0 tracks · 0 notes"
    assert window.piano_roll.viewport == Viewport(0, 2 * 1920, 48, 73)
    window.piano_roll.grab()  # paints the grid and the "no notes" hint without failing


def test_menu_actions_and_shortcuts(qtbot: QtBot) -> None:
    window = open_window(qtbot)
    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.open_action.shortcut() == QKeySequence("Ctrl+O")
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.menuBar().actions()[0] == window.file_menu.menuAction()
    assert window.file_menu.title() == "&File"
    assert window.file_menu.actions()[0] == window.new_action
    assert window.open_action in window.file_menu.actions()
    assert window.file_menu.actions()[-1] == window.quit_action
    assert window.undo_action.shortcut() == QKeySequence("Ctrl+Z")
    assert QKeySequence("Ctrl+Y") in window.redo_action.shortcuts()
    assert window.new_action.shortcut() == QKeySequence("Ctrl+N")


def test_open_action_opens_the_chosen_file(qtbot: QtBot, midi_path: Path) -> None:
    window = open_window(qtbot)
    window.open_action.trigger()
    dialog = window.file_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    dialog.fileSelected.emit(str(midi_path))  # what choosing a file and "Open" does
    dialog.close()
    assert window.source_name == midi_path.name
    assert window.track_list.rowCount() == 3


def test_quit_action_closes_the_window(qtbot: QtBot) -> None:
    window = open_window(qtbot)
    window.quit_action.trigger()
    assert not window.isVisible()


def test_about_is_honest_about_the_version(qtbot: QtBot) -> None:
    window = open_window(qtbot)
    window.about_action.trigger()
    box = window.about_box
    assert box is not None
    assert box.isVisible()
    assert __version__ in box.text()
    assert "built-in synth" in box.text()


def _truncated(tmp_path: Path) -> Path:
    good = tmp_path / "whole.mid"
    write_midi_file(small_pattern(), good)
    path = tmp_path / "truncated.mid"
    # Cut inside the first event: nothing of the music is left to keep (a later cut is read
    # up to the damage, with a warning).
    path.write_bytes(good.read_bytes()[: 14 + 8 + 3])
    return path


def _random_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "noise.mid"
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 500, dtype=np.uint8).tobytes())
    return path


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "not there.mid"


@pytest.mark.parametrize("bad_file", [_truncated, _random_bytes, _missing])
def test_bad_file_reports_and_keeps_previous(qtbot: QtBot, midi_path: Path, bad_file) -> None:
    bad = bad_file(midi_path.parent)
    with pytest.raises(MidiFileError) as raised:
        read_midi_file(bad)
    reason = raised.value.reason
    window = open_window(qtbot)
    assert window.open_file(midi_path)
    title, shown = window.windowTitle(), window.pattern

    assert window.open_file(bad) is False  # returns at once: the message does not block

    assert window.last_error is not None
    assert bad.name in window.last_error
    assert reason in window.last_error
    box = window.error_box
    assert box is not None
    assert box.isVisible()
    assert box.windowModality() == Qt.WindowModality.WindowModal
    assert box.parent() is window
    assert bad.name in box.text()
    assert reason.lower() in box.informativeText().lower()
    assert "stays open" in box.informativeText()
    assert window.pattern is shown
    assert window.windowTitle() == title
    assert window.track_list.rowCount() == 3
    assert window.piano_roll.pattern is shown


def test_error_clears_after_a_good_file(qtbot: QtBot, tmp_path: Path, midi_path: Path) -> None:
    window = open_window(qtbot)
    assert not window.open_file(tmp_path / "missing.mid")
    assert window.pattern is None
    assert window.windowTitle() == "Barforge"
    assert window.open_file(midi_path)
    assert window.last_error is None


def test_closing_the_window_closes_its_messages(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot)
    window.open_file(tmp_path / "missing.mid")
    assert window.error_box is not None
    window.close()
    assert not window.error_box.isVisible()


# --- piano roll: pure computations -----------------------------------------------------------


def test_visible_notes_for_a_viewport() -> None:
    track = Track(
        "t",
        notes=[
            Note(0, 2000, 60),  # long: starts before the view, still sounds in it
            Note(100, 100, 62),  # ends before the view
            Note(900, 200, 64),  # overlaps the left edge
            Note(1200, 100, 90),  # above the pitch range
            Note(1200, 100, 40),  # below the pitch range
            Note(1500, 100, 59),  # row [59, 60) overlaps the view's [59.5, ...)
            Note(1999, 10, 70),  # starts just inside the right edge
            Note(2000, 10, 65),  # starts at the right edge: outside
        ],
    )
    notes = TrackNotes.from_track(track)
    found = visible_notes(notes, 1000, 2000, 59.5, 80)
    assert [(int(notes.starts[i]), int(notes.pitches[i])) for i in found] == [
        (0, 60),
        (900, 64),
        (1500, 59),
        (1999, 70),
    ]
    assert len(visible_notes(notes, 3000, 4000, 0, 128)) == 0


def test_visible_notes_match_brute_force() -> None:
    rng = np.random.default_rng(11)
    notes = TrackNotes.from_track(big_pattern(1, 3000).tracks[0])
    for _ in range(200):
        start = rng.uniform(-100, notes.ends.max())
        end = start + rng.uniform(1, 5000)
        low = rng.uniform(0, 100)
        high = low + rng.uniform(0.5, 40)
        expected = np.flatnonzero(
            (notes.starts < end)
            & (notes.ends > start)
            & (notes.pitches + 1 > low)
            & (notes.pitches < high)
        )
        np.testing.assert_array_equal(visible_notes(notes, start, end, low, high), expected)


def test_fit_viewport_and_zoom() -> None:
    pattern = small_pattern()
    view = fit_viewport(pattern)
    assert (view.start_tick, view.end_tick) == (0, pattern.length_ticks)
    assert view.low_pitch <= 36 - 1  # drums count too
    assert view.high_pitch >= 67 + 2
    zoomed = zoom_time(view, 0.5, 720, pattern.length_ticks)
    assert zoomed.n_ticks == pytest.approx(view.n_ticks / 2)
    # The anchor tick stays at the same fraction of the width.
    assert (720 - zoomed.start_tick) / zoomed.n_ticks == pytest.approx(720 / view.n_ticks)
    assert zoom_time(zoomed, 10, 0, pattern.length_ticks) == view
    assert scroll_pitch(view, 500).high_pitch == 128
    with pytest.raises(ValueError, match="end_tick"):
        Viewport(10, 10, 0, 12)
    assert note_tables(pattern)[2].pitches.tolist() == [60, 64, 67, 62]


# --- piano roll: the widget ------------------------------------------------------------------


def test_wheel_zooms_and_scrolls(qtbot: QtBot) -> None:
    view = PianoRollView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    view.set_pattern(small_pattern())
    fitted = view.viewport
    assert fitted is not None

    def wheel(modifiers: Qt.KeyboardModifier) -> None:
        position = QPointF(300, 200)
        event = QWheelEvent(
            position,
            view.mapToGlobal(position),
            QPoint(0, 0),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            modifiers,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(view, event)

    wheel(Qt.KeyboardModifier.ControlModifier)
    zoomed = view.viewport
    assert zoomed is not None
    assert zoomed.n_ticks == pytest.approx(fitted.n_ticks * 0.8)
    wheel(Qt.KeyboardModifier.NoModifier)
    scrolled = view.viewport
    assert scrolled is not None
    assert scrolled.low_pitch == pytest.approx(zoomed.low_pitch + 3)
    view.fit_to_pattern()
    assert view.viewport == fitted


def test_fit_action_fits_the_pattern_again(qtbot: QtBot, midi_path: Path) -> None:
    window = open_window(qtbot)
    window.open_file(midi_path)
    fitted = window.piano_roll.viewport
    assert fitted is not None
    window.piano_roll.viewport = Viewport(0, 100, 60, 72)
    window.fit_action.trigger()
    assert window.piano_roll.viewport == fitted


class CountingView(PianoRollView):
    """Counts its paint events."""

    n_paints = 0

    def paintEvent(self, event: QPaintEvent) -> None:
        self.n_paints += 1
        super().paintEvent(event)


def test_long_paint_run_survives_and_paints_notes(qtbot: QtBot) -> None:
    """2,000+ repaints of 10,000 notes: PySide6 6.12.0 on Python 3.11 aborted the process
    (``none_dealloc``) after ~140 of them. Reaching the asserts means the process survived."""
    pattern = big_pattern()
    assert pattern.n_notes == 10_000
    view = CountingView()
    qtbot.addWidget(view)
    view.resize(640, 360)
    with qtbot.waitExposed(view):
        view.show()
    view.set_pattern(pattern)
    length = pattern.length_ticks
    rng = np.random.default_rng(5)
    n_paints = 2_000
    for i in range(n_paints):
        if i % 100 == 0:
            view.fit_to_pattern()  # everything visible: the merged-rectangles path
            if i % 500 == 0:
                view.resize(int(rng.integers(320, 900)), int(rng.integers(200, 600)))
        else:
            span = length * 10 ** rng.uniform(-2.3, -0.5)
            start = rng.uniform(0, length - span)
            low = rng.uniform(20, 90)
            view.viewport = Viewport(start, start + span, low, low + rng.uniform(12, 48))
        view.repaint()
    assert view.n_paints >= n_paints  # repaint() painted (a hidden widget would not)

    view.resize(640, 360)
    view.fit_to_pattern()
    image = view.grab().toImage()
    for k in range(4):
        assert color_count(image, track_color(k)) > 200
    view.viewport = Viewport(0, 4 * pattern.bar_ticks, 30, 110)  # few notes: exact rectangles
    image = view.grab().toImage()
    for k in range(4):
        assert color_count(image, track_color(k)) > 200


# --- the entry point -------------------------------------------------------------------------


def test_main_screenshot_writes_a_png(tmp_path: Path, midi_path: Path) -> None:
    empty_png = tmp_path / "empty.png"
    assert main(["--screenshot", str(empty_png)]) == 0
    png = tmp_path / "shot.png"
    assert main([str(midi_path), "--screenshot", str(png)]) == 0
    for path in (empty_png, png):
        assert path.stat().st_size > 5_000
        image = QImage(str(path))
        assert not image.isNull()
        assert image.width() >= 640
        assert image.height() >= 400
    assert QApplication.applicationName() == "Barforge"


def test_main_screenshot_of_a_bad_file_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "shot.png"
    assert main([str(tmp_path / "missing.mid"), "--screenshot", str(png)]) == 1
    assert "missing.mid" in capsys.readouterr().err
    assert png.exists()


def test_starting_the_app_does_not_import_torch() -> None:
    code = (
        "import sys, desktop.app, desktop.main_window, desktop.piano_roll_view; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_app_reports_its_window_and_then_its_model_to_the_startup_benchmark(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARFORGE_MODEL", str(tiny_model_dir))
    start = "import sys; from desktop.app import main; sys.exit(main([]))"
    times = launch([sys.executable, "-c", start])
    assert 0 < times["shown"] < times["ready"] < 60


# --- the leak check itself -------------------------------------------------------------------


def test_leak_check_finds_open_windows_and_running_threads(leak_check: LeakCheck) -> None:
    window = QWidget()
    window.setWindowTitle("forgotten")
    window.show()
    thread = QThread()
    thread.start()
    problems = leak_check([thread])
    assert any("QThread" in p for p in problems)
    assert any("forgotten" in p for p in problems)
    assert not thread.isRunning()
    assert not window.isVisible()
    assert leak_check([thread]) == []


def test_application_carries_name_and_icon(qapp: QApplication) -> None:
    app = application()
    assert app is qapp
    assert app.applicationName() == "Barforge"
    assert not app.windowIcon().isNull()
    assert app.windowIcon().pixmap(32, 32).toImage().pixelColor(16, 16).alpha() > 0


# --- the model ---------------------------------------------------------------------------------
def test_status_bar_names_the_model_or_why_there_is_none(qtbot: QtBot, tmp_path: Path) -> None:
    from engine.gan.config import ModelConfig

    folder = tmp_path / "my-model"
    folder.mkdir()
    config = {"format": "barforge-checkpoint", "format_version": 1, "barforge_version": "0"}
    (folder / "config.json").write_text(json.dumps({**config, "model": ModelConfig().to_dict()}))
    (folder / "weights.safetensors").write_bytes(b"weights")
    window = MainWindow(model=folder, start_worker=False)
    qtbot.addWidget(window)
    assert window.model_info is not None
    assert window.model_label.text().startswith("Model: my-model · hybrid · Soprano/")
    assert window.model_info.model_id[:8] in window.model_label.text()

    (folder / "config.json").write_text("{")
    assert not window.set_model(folder)
    assert window.model_info is None
    assert window.model_label.text() == "Model: none"
    assert window.model_error is not None
    assert "config.json" in window.model_error
    assert "not valid JSON" in window.model_error
    assert not window.set_model(tmp_path / "nowhere")
    assert "missing" in window.model_label.toolTip()
