# SPDX-License-Identifier: MIT
"""The first things a composer does in the app, through the real keys, buttons and menus: the
actions must do what their names say (each test here failed before its fix)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from engine.midi.files import write_midi_file
from engine.music import Note, Pattern, Track

BAR = 1920


@pytest.fixture
def win(qtbot: QtBot, tiny_model_dir: Path, tmp_path: Path) -> MainWindow:
    window = MainWindow(
        model=tiny_model_dir, autosave_dir=tmp_path / "autosave", start_worker=False
    )
    qtbot.addWidget(window)
    window.resize(1480, 860)
    window.show()
    qtbot.waitExposed(window)
    window.start_worker()
    qtbot.waitUntil(lambda: window.model_ready, timeout=60_000)
    return window


def wait_idle(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window._pending, timeout=60_000)


def type_seed(qtbot: QtBot, window: MainWindow, seed: int) -> None:
    box = window.seed_box
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, str(seed))
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert box.value() == seed


def generate_by_key(qtbot: QtBot, window: MainWindow, seed: int) -> None:
    type_seed(qtbot, window, seed)
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, window)


def undo_label(window: MainWindow) -> str:
    history = window.document.history
    assert history is not None
    return history.undo_label or ""


def click_toolbar(window: MainWindow, action: QAction) -> None:
    button = window.toolbar.widgetForAction(action)
    assert button is not None
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_ctrl_n_generates_the_seed_typed_in_the_toolbar(qtbot: QtBot, win: MainWindow) -> None:
    generate_by_key(qtbot, win, 7)
    assert win.document.is_open
    assert win.document.state.seed == 7
    provenance = win.document.state.provenance
    assert provenance is not None
    assert provenance.seed == 7
    # the toolbar button and the menu do the same
    type_seed(qtbot, win, 12)
    click_toolbar(win, win.new_action)
    wait_idle(qtbot, win)
    assert win.document.state.seed == 12
    assert undo_label(win) == "Generate seed 12"
    type_seed(qtbot, win, 3)
    win.generate_menu.actions()[0].trigger()
    wait_idle(qtbot, win)
    assert win.document.state.seed == 3


def test_ctrl_r_toolbar_and_menu_regenerate_the_current_track(
    qtbot: QtBot, win: MainWindow
) -> None:
    generate_by_key(qtbot, win, 5)
    before = win.pattern
    assert before is not None
    QTest.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, win)
    assert win.last_generation_error is None
    assert undo_label(win) == "Regenerate track 1"
    after = win.pattern
    assert after is not None
    assert after is not before
    assert after.tracks[1:] == before.tracks[1:]  # only the current track was redrawn
    # the ruler's bars, then the toolbar button
    win.piano_roll.selected_bars = frozenset({2})
    click_toolbar(win, win.regenerate_action)
    wait_idle(qtbot, win)
    assert undo_label(win) == "Regenerate bar 3"
    win.regenerate_action.trigger()  # the Generate menu's item
    wait_idle(qtbot, win)
    assert undo_label(win) == "Regenerate bar 3"
    assert win.last_generation_error is None


def test_every_generate_and_edit_menu_item_runs_without_an_error(
    qtbot: QtBot, win: MainWindow
) -> None:
    generate_by_key(qtbot, win, 2)
    win.editor.selection = frozenset({(0, win.document.pattern.tracks[0].notes[0])})
    for menu in (win.generate_menu, win.edit_menu, win.view_menu):
        for action in menu.actions():
            if action.isSeparator() or action.menu() is not None:
                continue
            if action is win.preferences_action:
                continue  # a dialog of its own, tested in test_preferences
            action.trigger()  # pytest-qt fails the test on an exception in the slot
            wait_idle(qtbot, win)
    assert win.document.is_open


def test_accompany_keeps_locked_bars_and_notes(qtbot: QtBot, win: MainWindow) -> None:
    generate_by_key(qtbot, win, 9)
    first = win.pattern
    assert first is not None
    win.set_bar_lock(1, True)
    locked = first.tracks[2].notes[-1]
    win.editor.selection = frozenset({(2, locked)})
    QTest.keyClick(win, Qt.Key.Key_L)
    assert (2, locked) in win.document.locks.notes
    win.editor.selection = frozenset()
    QTest.keyClick(
        win,
        Qt.Key.Key_A,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    wait_idle(qtbot, win)
    assert win.last_generation_error is None
    assert undo_label(win) == "Accompany track 1"
    after = win.pattern
    assert after is not None
    assert after.tracks[0] == first.tracks[0]
    for t in range(4):

        def in_bar1(p: Pattern, t: int = t) -> list[Note]:
            return [n for n in p.tracks[t].notes if n.start < 2 * BAR and n.end > BAR]

        assert in_bar1(after) == in_bar1(first), f"track {t} changed in the locked bar"
    assert locked in after.tracks[2].notes
    assert after.tracks[1:] != first.tracks[1:]  # the rest was written anew


def band() -> Pattern:
    return Pattern(
        [
            Track("Drums", 0, is_drum=True, channel=9, notes=[Note(0, 120, 36)]),
            Track("Bass", 33, channel=1, notes=[Note(0, 960, 40)]),
            Track("Piano", 0, channel=0, notes=[Note(0, 960, 60)]),
            Track("Flute", 73, channel=2, notes=[Note(0, 480, 76)]),
        ],
        n_bars=4,
    )


def test_generating_on_a_band_file_is_refused_with_the_reason(
    qtbot: QtBot, win: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "band.mid"
    write_midi_file(band(), path)
    assert win.import_midi(path)
    before = win.pattern
    win.piano_roll.selected_bars = frozenset({1})
    for action in (win.regenerate_action, win.inpaint_action, win.accompany_action):
        win.last_generation_error = None
        action.trigger()
        assert not win._pending, f"{action.text()} sent a request"
        message = win.last_generation_error
        assert message is not None
        assert "“Drums” is a drum track" in message
        assert "Soprano, Alto, Tenor, Bass" in message
        assert isinstance(win.error_box, QMessageBox)
        assert win.error_box.isVisible()
        assert win.pattern is before


def test_a_pitched_file_with_other_names_is_refused_until_renamed(
    qtbot: QtBot, win: MainWindow, tmp_path: Path
) -> None:
    pitched = Pattern(
        [Track("Piano", 0, channel=i, notes=[Note(0, 960, 60 + i)]) for i in range(4)],
        n_bars=4,
    )
    path = tmp_path / "piano.mid"
    write_midi_file(pitched, path)
    assert win.import_midi(path)
    win.regenerate_action.trigger()
    assert win.last_generation_error is not None
    assert "“Piano” would be written as the model's Soprano" in win.last_generation_error
    for i, name in enumerate(("Soprano", "Alto", "Tenor", "bass")):
        win._rename_track(i, name)
    win.last_generation_error = None
    win.regenerate_action.trigger()
    wait_idle(qtbot, win)
    assert win.last_generation_error is None
    assert undo_label(win) == "Regenerate track 1"


def test_the_panel_says_what_the_model_writes_and_its_settings_reach_the_model(
    qtbot: QtBot, win: MainWindow
) -> None:
    panel = win.generation_panel
    text = panel.model_label.text()
    assert "Soprano, Alto, Tenor, Bass" in text
    assert "16ths" in text
    assert "not stated" in text  # the tiny test model's folder has no card.json
    panel.bars_spin.setFocus()
    panel.bars_spin.selectAll()
    QTest.keyClicks(panel.bars_spin, "8")
    panel.key_box.setCurrentIndex(panel.key_box.findData("D minor"))
    panel.temperature_spin.setValue(0.8)
    panel.velocity_box.setCurrentIndex(panel.velocity_box.findData("humanize"))
    generate_by_key(qtbot, win, 4)
    pattern = win.pattern
    provenance = win.document.state.provenance
    assert pattern is not None
    assert provenance is not None
    assert pattern.n_bars == 8
    settings = provenance.settings
    assert (settings.key, settings.temperature, settings.velocity) == ("D minor", 0.8, "humanize")
    d_minor = {2, 4, 5, 7, 9, 10, 0}
    assert all(n.pitch % 12 in d_minor for t in pattern.tracks for n in t.notes)
    assert len({n.velocity for t in pattern.tracks for n in t.notes}) > 1  # humanized


def test_the_default_models_card_says_it_is_for_non_commercial_use(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = MainWindow(autosave_dir=tmp_path / "autosave", start_worker=False)
    qtbot.addWidget(window)
    text = window.generation_panel.model_label.text()
    assert "non-commercial use only" in text
    assert "Bach" in text
