# SPDX-License-Identifier: MIT
"""Preferences (QSettings) and their dialog, recent files, themes and the shortcuts panel.

Every test keeps its settings in an INI file in its own temporary folder, never the user's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMainWindow, QMenu
from pytestqt.qtbot import QtBot

from desktop.grids import DEFAULT_GRID, GRIDS
from desktop.main_window import MainWindow
from desktop.preferences import (
    DEFAULT_BPM,
    MIDI_APIS,
    Preferences,
    PreferencesDialog,
)
from desktop.recent_files import MAX_RECENT, RECENT_KEY, RecentFiles, menu_label
from desktop.shortcuts_panel import (
    MOUSE_GROUP,
    OTHER_GROUP,
    ShortcutRow,
    ShortcutsPanel,
    action_text,
    mouse_gestures,
)
from desktop.theme import THEMES, apply_theme

NATIVE = QKeySequence.SequenceFormat.NativeText


def ini(tmp_path: Path, name: str = "p.ini") -> QSettings:
    return QSettings(str(tmp_path / name), QSettings.Format.IniFormat)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return ini(tmp_path)


def reopened(settings: QSettings) -> QSettings:
    """A second QSettings over the same file, reading what the first wrote to disk."""
    settings.sync()
    return QSettings(settings.fileName(), QSettings.Format.IniFormat)


# --- Preferences -----------------------------------------------------------------------------


def test_defaults_of_a_new_installation(settings: QSettings) -> None:
    prefs = Preferences(settings)
    assert prefs.output_port is None
    assert prefs.input_port is None
    assert prefs.midi_api is None
    assert prefs.audio_device is None
    assert prefs.grid == DEFAULT_GRID
    assert prefs.theme == "system"
    assert prefs.bpm == DEFAULT_BPM
    assert prefs.sync == "internal"
    assert prefs.send_clock is False
    assert prefs.window_geometry is None
    assert prefs.window_state is None


def test_every_value_survives_the_file(settings: QSettings) -> None:
    prefs = Preferences(settings)
    prefs.output_port = "Ardour:MIDI in 1"
    prefs.input_port = "Ardour, clock out"  # a comma: INI files quote it
    prefs.midi_api = "jack"
    prefs.audio_device = "system"
    prefs.grid = "1/8 triplet"
    prefs.theme = "dark"
    prefs.bpm = 92.5
    prefs.sync = "clock"
    prefs.send_clock = True
    prefs.window_geometry = b"\x01\xd9\xd0\xcb\x00\x03"
    prefs.window_state = bytes(range(256))
    prefs.flush()

    again = Preferences(reopened(settings))
    assert again.output_port == "Ardour:MIDI in 1"
    assert again.input_port == "Ardour, clock out"
    assert again.midi_api == "jack"
    assert again.audio_device == "system"
    assert again.grid == "1/8 triplet"
    assert again.theme == "dark"
    assert again.bpm == 92.5
    assert again.sync == "clock"
    assert again.send_clock is True
    assert again.window_geometry == b"\x01\xd9\xd0\xcb\x00\x03"
    assert again.window_state == bytes(range(256))


def test_none_removes_a_value(settings: QSettings) -> None:
    prefs = Preferences(settings)
    prefs.output_port = "Synth"
    prefs.midi_api = "alsa"
    prefs.window_state = b"state"
    prefs.output_port = None
    prefs.midi_api = None
    prefs.window_state = None
    assert prefs.output_port is None
    assert prefs.midi_api is None
    assert prefs.window_state is None
    assert settings.allKeys() == []


CORRUPT_INI = """\
[midi]
output_port=
input_port=@Invalid()
api=asio
[audio]
device=42
[editor]
grid=1/7
[view]
theme=purple
[transport]
bpm=fast
sync=midi
send_clock=maybe
[window]
geometry=not bytes
state=@ByteArray()
"""


def test_corrupt_values_read_as_defaults(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.ini"
    path.write_text(CORRUPT_INI, encoding="utf-8")
    prefs = Preferences(QSettings(str(path), QSettings.Format.IniFormat))
    assert prefs.output_port is None
    assert prefs.input_port is None
    assert prefs.midi_api is None
    assert prefs.audio_device == "42"  # a device may well be named by a number
    assert prefs.grid == DEFAULT_GRID
    assert prefs.theme == "system"
    assert prefs.bpm == DEFAULT_BPM
    assert prefs.sync == "internal"
    assert prefs.send_clock is False
    assert prefs.window_geometry is None
    assert prefs.window_state is None


@pytest.mark.parametrize("text", ["nan", "inf", "-120", "0", "5", "1000", "1e9", "true"])
def test_tempo_outside_the_clock_range_reads_as_default(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bpm.ini"
    path.write_text(f"[transport]\nbpm={text}\n", encoding="utf-8")
    bpm = Preferences(QSettings(str(path), QSettings.Format.IniFormat)).bpm
    assert bpm == DEFAULT_BPM
    assert math.isfinite(bpm)


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1", True), ("false", False)])
def test_send_clock_reads_ini_texts(tmp_path: Path, text: str, value: bool) -> None:
    path = tmp_path / "clock.ini"
    path.write_text(f"[transport]\nsend_clock={text}\n", encoding="utf-8")
    assert Preferences(QSettings(str(path), QSettings.Format.IniFormat)).send_clock is value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("grid", "1/7"),
        ("theme", "purple"),
        ("midi_api", "asio"),
        ("sync", "midi"),
        ("bpm", 5000.0),
        ("bpm", True),
        ("send_clock", "yes"),
        ("output_port", ""),
        ("window_state", "text"),
    ],
)
def test_writing_a_bad_value_raises(settings: QSettings, name: str, value: object) -> None:
    prefs = Preferences(settings)
    with pytest.raises(ValueError, match=name.replace("_", ".")):
        setattr(prefs, name, value)
    assert settings.allKeys() == []


def test_choices_match_the_engine_and_the_window() -> None:
    from engine.midi.ports import API_NAMES

    assert set(MIDI_APIS) == set(API_NAMES)
    assert set(THEMES) == {"dark", "light", "system"}
    assert DEFAULT_GRID in [label for label, _ in GRIDS]


def test_window_geometry_restores_a_window(qtbot: QtBot, settings: QSettings) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.resize(640, 480)
    prefs = Preferences(settings)
    prefs.window_geometry = bytes(window.saveGeometry().data())
    prefs.window_state = bytes(window.saveState().data())
    again = Preferences(reopened(settings))
    other = QMainWindow()
    qtbot.addWidget(other)
    assert again.window_geometry is not None
    assert again.window_state is not None
    assert other.restoreGeometry(again.window_geometry)
    assert other.restoreState(again.window_state)
    assert other.size() == window.size()


# --- the dialog ------------------------------------------------------------------------------


class Listing:
    """Names a backend would list, counting calls (the dialog must not open ports itself)."""

    def __init__(self, *names: str, error: str | None = None) -> None:
        self.names = list(names)
        self.error = error
        self.calls = 0

    def __call__(self) -> Sequence[str]:
        self.calls += 1
        if self.error is not None:
            raise OSError(self.error)
        return self.names


def dialog(
    qtbot: QtBot,
    prefs: Preferences,
    outputs: Listing | None = None,
    inputs: Listing | None = None,
    audio_devices: Listing | None = None,
) -> PreferencesDialog:
    box = PreferencesDialog(
        prefs,
        outputs=outputs or Listing(),
        inputs=inputs or Listing(),
        audio_devices=audio_devices or Listing(),
    )
    qtbot.addWidget(box)
    return box


def press(box: PreferencesDialog, which: QDialogButtonBox.StandardButton) -> None:
    button = box.buttons.button(which)
    assert button is not None
    button.click()


def test_dialog_shows_the_saved_choices(qtbot: QtBot, settings: QSettings) -> None:
    prefs = Preferences(settings)
    prefs.output_port = "Synth B"
    prefs.midi_api = "jack"
    prefs.grid = "1/32"
    prefs.theme = "light"
    outputs = Listing("Synth A", "Synth B")
    box = dialog(qtbot, prefs, outputs=outputs, inputs=Listing("Keys"))
    assert outputs.calls == 1
    assert [box.output_box.itemText(i) for i in range(box.output_box.count())] == [
        PreferencesDialog.VIRTUAL_PORT,
        PreferencesDialog.PREVIEW,
        "Synth A",
        "Synth B",
    ]
    assert box.output_box.currentText() == "Synth B"
    assert box.input_box.currentData() is None
    assert box.input_box.currentText() == PreferencesDialog.NO_INPUT  # as on the transport bar
    assert box.api_box.currentText() == "JACK"
    assert box.grid_box.currentText() == "1/32"
    assert box.theme_box.currentText() == "Light"
    assert box.audio_box.currentText() == PreferencesDialog.SYSTEM_DEFAULT


def test_ok_writes_and_announces(qtbot: QtBot, settings: QSettings) -> None:
    prefs = Preferences(settings)
    box = dialog(
        qtbot,
        prefs,
        outputs=Listing("Synth A", "Synth B"),
        inputs=Listing("Keys"),
        audio_devices=Listing("system", "hdmi"),
    )
    box.output_box.setCurrentText("Synth A")
    box.input_box.setCurrentText("Keys")
    box.api_box.setCurrentIndex(box.api_box.findData("alsa"))
    box.audio_box.setCurrentText("hdmi")
    box.grid_box.setCurrentText("1/8")
    box.theme_box.setCurrentIndex(box.theme_box.findData("dark"))
    with qtbot.waitSignal(box.preferences_changed):
        press(box, QDialogButtonBox.StandardButton.Ok)
    assert box.result() == PreferencesDialog.DialogCode.Accepted
    again = Preferences(reopened(settings))
    assert (again.output_port, again.input_port, again.midi_api) == ("Synth A", "Keys", "alsa")
    assert (again.audio_device, again.grid, again.theme) == ("hdmi", "1/8", "dark")


def test_cancel_changes_nothing(qtbot: QtBot, settings: QSettings) -> None:
    prefs = Preferences(settings)
    prefs.output_port = "Synth A"
    prefs.theme = "light"
    before = {key: settings.value(key) for key in settings.allKeys()}
    box = dialog(qtbot, prefs, outputs=Listing("Synth A", "Synth B"))
    announced: list[bool] = []
    box.preferences_changed.connect(lambda: announced.append(True))
    box.output_box.setCurrentText("Synth B")
    box.theme_box.setCurrentIndex(box.theme_box.findData("dark"))
    box.grid_box.setCurrentText("1/4")
    press(box, QDialogButtonBox.StandardButton.Cancel)
    assert box.result() == PreferencesDialog.DialogCode.Rejected
    assert announced == []
    assert {key: settings.value(key) for key in settings.allKeys()} == before
    assert (prefs.output_port, prefs.theme, prefs.grid) == ("Synth A", "light", DEFAULT_GRID)


def test_a_port_that_is_gone_is_kept(qtbot: QtBot, settings: QSettings) -> None:
    prefs = Preferences(settings)
    prefs.output_port = "USB Synth"
    box = dialog(qtbot, prefs, outputs=Listing("Other"))
    assert box.output_box.currentText() == "USB Synth" + PreferencesDialog.NOT_FOUND
    press(box, QDialogButtonBox.StandardButton.Ok)
    assert prefs.output_port == "USB Synth"


def test_a_failing_listing_is_shown_not_raised(qtbot: QtBot, settings: QSettings) -> None:
    inputs = Listing(error="JACK server is not running")
    box = dialog(qtbot, Preferences(settings), outputs=Listing("Synth"), inputs=inputs)
    assert not box.message_label.isHidden()
    assert "MIDI input ports" in box.message_label.text()
    assert "JACK server is not running" in box.message_label.text()
    assert box.input_box.count() == 1
    inputs.error = None
    inputs.names = ["Keys"]
    box.input_box.setCurrentIndex(0)
    box.rescan_button.click()
    assert inputs.calls == 2
    assert box.message_label.isHidden()
    assert box.input_box.findText("Keys") == 1


def test_rescan_keeps_the_choice(qtbot: QtBot, settings: QSettings) -> None:
    outputs = Listing("Synth A", "Synth B")
    box = dialog(qtbot, Preferences(settings), outputs=outputs)
    box.output_box.setCurrentText("Synth B")
    outputs.names = ["Synth B", "Synth C"]
    box.rescan()
    assert box.output_box.currentText() == "Synth B"
    assert box.output_box.findText("Synth C") > 0


# --- recent files ----------------------------------------------------------------------------


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_recent_files_most_recent_first_and_deduplicated(
    qtbot: QtBot, settings: QSettings, tmp_path: Path
) -> None:
    recent = RecentFiles(settings)
    a, b = touch(tmp_path / "a.barforge"), touch(tmp_path / "sub" / "b.mid")
    with qtbot.waitSignal(recent.changed):
        recent.add(a)
    recent.add(b)
    recent.add(tmp_path / "sub" / ".." / "a.barforge")  # the same file, spelt otherwise
    link = tmp_path / "link.mid"
    link.symlink_to(b)
    recent.add(link)  # resolves to b
    assert recent.paths() == [str(b.resolve()), str(a.resolve())]
    assert RecentFiles(reopened(settings)).paths() == recent.paths()


def test_recent_files_keep_ten(settings: QSettings, tmp_path: Path) -> None:
    recent = RecentFiles(settings)
    files = [touch(tmp_path / f"song {i}.mid") for i in range(MAX_RECENT + 3)]
    for path in files:
        recent.add(path)
    assert recent.paths() == [str(p.resolve()) for p in reversed(files)][:MAX_RECENT]


def test_recent_files_clear(qtbot: QtBot, settings: QSettings, tmp_path: Path) -> None:
    recent = RecentFiles(settings)
    recent.add(touch(tmp_path / "a.mid"))
    with qtbot.waitSignal(recent.changed):
        recent.clear()
    assert recent.paths() == []
    assert not settings.contains(RECENT_KEY)


def test_recent_files_ignore_a_corrupt_setting(tmp_path: Path) -> None:
    path = tmp_path / "recent.ini"
    path.write_text("[recent]\nfiles=@Variant(garbage)\n", encoding="utf-8")
    assert RecentFiles(QSettings(str(path), QSettings.Format.IniFormat)).paths() == []
    path.write_text("[recent]\nfiles=/music/one.mid\n", encoding="utf-8")
    assert RecentFiles(QSettings(str(path), QSettings.Format.IniFormat)).paths() == [
        "/music/one.mid"
    ]


def test_menu_lists_numbered_files_and_opens_them(
    qtbot: QtBot, settings: QSettings, tmp_path: Path
) -> None:
    recent = RecentFiles(settings)
    first = touch(tmp_path / "Rock & Roll, take 2.mid")
    second = touch(tmp_path / "song.barforge")
    recent.add(first)
    recent.add(second)
    menu = QMenu()
    qtbot.addWidget(menu)
    opened: list[str] = []
    recent.fill_menu(menu, opened.append)
    actions = [a for a in menu.actions() if not a.isSeparator()]
    assert [a.text() for a in actions] == [
        "&1 song.barforge",
        "&2 Rock && Roll, take 2.mid",
        "Clear Recent Files",
    ]
    assert actions[1].toolTip() == str(first.resolve())
    actions[1].trigger()
    assert opened == [str(first.resolve())]
    actions[2].trigger()
    assert recent.paths() == []


def test_menu_drops_missing_files_and_says_when_empty(
    qtbot: QtBot, settings: QSettings, tmp_path: Path
) -> None:
    recent = RecentFiles(settings)
    gone = touch(tmp_path / "gone.mid")
    kept = touch(tmp_path / "kept.mid")
    recent.add(gone)
    recent.add(kept)
    gone.unlink()
    menu = QMenu()
    qtbot.addWidget(menu)
    recent.fill_menu(menu, lambda _path: None)
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
        "&1 kept.mid",
        "Clear Recent Files",
    ]
    assert recent.paths() == [str(kept.resolve())]
    kept.unlink()
    recent.fill_menu(menu, lambda _path: None)
    [only] = menu.actions()
    assert only.text() == "No Recent Files"
    assert not only.isEnabled()


def test_menu_is_rebuilt_before_it_shows(qtbot: QtBot, settings: QSettings, tmp_path: Path) -> None:
    recent = RecentFiles(settings)
    menu = QMenu()
    qtbot.addWidget(menu)
    recent.attach(menu, lambda _path: None)
    assert [a.text() for a in menu.actions()] == ["No Recent Files"]
    recent.add(touch(tmp_path / "new.mid"))
    menu.aboutToShow.emit()
    assert menu.actions()[0].text() == "&1 new.mid"


def test_menu_labels_count_to_ten() -> None:
    assert menu_label(1, "/a/x.mid") == "&1 x.mid"
    assert menu_label(10, "/a/y.mid") == "1&0 y.mid"


# --- themes ----------------------------------------------------------------------------------


@pytest.fixture
def app_theme(qapp: QApplication) -> Iterator[QApplication]:
    """The application, given back its own look after the test."""
    yield qapp
    apply_theme(qapp, "system")


def lightness(app: QApplication, role: QPalette.ColorRole) -> int:
    return app.palette().color(role).lightness()


def test_dark_light_and_back_to_system(app_theme: QApplication) -> None:
    app = app_theme
    system_window = app.palette().color(QPalette.ColorRole.Window)
    system_style = app.style().name()
    apply_theme(app, "dark")
    assert app.style().name().lower() == "fusion"
    assert lightness(app, QPalette.ColorRole.Window) < 100
    assert lightness(app, QPalette.ColorRole.WindowText) > 180
    apply_theme(app, "light")
    assert app.style().name().lower() == "fusion"
    assert lightness(app, QPalette.ColorRole.Window) > 200
    assert lightness(app, QPalette.ColorRole.Text) < 60
    apply_theme(app, "system")
    assert app.style().name() == system_style
    assert app.palette().color(QPalette.ColorRole.Window) == system_window


def test_unknown_theme_raises(app_theme: QApplication) -> None:
    before = app_theme.palette().color(QPalette.ColorRole.Window)
    with pytest.raises(ValueError, match="purple"):
        apply_theme(app_theme, "purple")
    assert app_theme.palette().color(QPalette.ColorRole.Window) == before


# --- the shortcuts panel ---------------------------------------------------------------------


def native(*keys: str) -> str:
    return ", ".join(QKeySequence(k).toString(NATIVE) for k in keys)


def sample_window(qtbot: QtBot) -> QMainWindow:
    window = QMainWindow()
    qtbot.addWidget(window)
    file_menu = window.menuBar().addMenu("&File")
    save = QAction("&Save", window)
    save.setShortcut(QKeySequence("Ctrl+S"))
    file_menu.addAction(save)
    file_menu.addSeparator()
    file_menu.addAction(QAction("&Recent (no shortcut)", window))
    edit_menu = window.menuBar().addMenu("&Edit")
    redo = QAction("&Redo", window)
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    edit_menu.addAction(redo)
    edit_menu.addAction(save)  # in two menus: listed once, under the first
    tools = edit_menu.addMenu("&Tool")
    draw = QAction("&Draw && Paint", window)
    draw.setShortcut(QKeySequence("D"))
    tools.addAction(draw)
    nudge = QAction("Semitone Up", window)  # on the window only, as the main window's nudges
    nudge.setShortcut(QKeySequence("Shift+Up"))
    window.addAction(nudge)
    return window


def open_panel(qtbot: QtBot, window: QMainWindow) -> ShortcutsPanel:
    panel = ShortcutsPanel(window)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def table_rows(panel: ShortcutsPanel) -> list[tuple[str, str, str]]:
    table = panel.table
    out = []
    for row in range(table.rowCount()):
        if not table.isRowHidden(row):
            items = [table.item(row, c) for c in range(3)]
            out.append(tuple(i.text() if i is not None else "" for i in items))
    return out  # type: ignore[return-value]


def test_panel_lists_the_windows_shortcuts_by_menu(qtbot: QtBot) -> None:
    window = sample_window(qtbot)
    panel = open_panel(qtbot, window)
    try:
        assert panel.windowTitle() == "Keyboard Shortcuts"
        keyboard = [r for r in table_rows(panel) if r[0] != MOUSE_GROUP]
        assert keyboard == [
            ("File", "Save", native("Ctrl+S")),
            ("Edit", "Redo", native("Ctrl+Shift+Z", "Ctrl+Y")),
            ("Edit > Tool", "Draw & Paint", native("D")),
            (OTHER_GROUP, "Semitone Up", native("Shift+Up")),
        ]
        assert len(table_rows(panel)) == len(keyboard) + len(mouse_gestures())
        assert panel.table.editTriggers() == panel.table.EditTrigger.NoEditTriggers
    finally:
        panel.close()


def test_panel_filter_narrows_the_rows(qtbot: QtBot) -> None:
    window = sample_window(qtbot)  # kept: the panel is its child
    panel = open_panel(qtbot, window)
    try:
        panel.filter_edit.setText("redo")
        assert table_rows(panel) == [("Edit", "Redo", native("Ctrl+Shift+Z", "Ctrl+Y"))]
        assert panel.visible_rows() == [ShortcutRow("Edit", "Redo", panel.visible_rows()[0].keys)]
        panel.filter_edit.setText("save ctrl")  # every word must match, in any column
        assert [r[1] for r in table_rows(panel)] == ["Save"]
        panel.filter_edit.setText("wheel")
        assert {r[0] for r in table_rows(panel)} == {MOUSE_GROUP}
        assert "Zoom time" in [r[1] for r in table_rows(panel)]
        panel.filter_edit.setText("no such command")
        assert table_rows(panel) == []
        assert not panel.empty_label.isHidden()
        panel.filter_edit.clear()
        assert len(table_rows(panel)) == len(panel.rows)
        assert panel.empty_label.isHidden()
    finally:
        panel.close()


def test_panel_reads_the_actions_when_it_opens(qtbot: QtBot) -> None:
    window = sample_window(qtbot)
    late = QAction("Panic", window)
    window.addAction(late)
    before = ShortcutsPanel(window)
    late.setShortcut(QKeySequence("Ctrl+."))
    after = ShortcutsPanel(window)
    assert "Panic" not in [r.command for r in before.rows]
    assert ShortcutRow(OTHER_GROUP, "Panic", native("Ctrl+.")) in after.rows


def test_panel_of_the_main_window(qtbot: QtBot, tmp_path: Path) -> None:
    window = MainWindow(autosave_dir=tmp_path / "autosave", start_worker=False)
    qtbot.addWidget(window)
    panel = ShortcutsPanel(window)
    rows = {(r.group, r.command): r.keys for r in panel.rows}
    assert rows[("Edit", "Undo")] == QKeySequence(QKeySequence.StandardKey.Undo).toString(NATIVE)
    assert rows[("Edit", "Delete")] == native("Del", "Backspace")
    assert rows[("Edit > Tool", "Select")] == native("S")
    assert rows[(OTHER_GROUP, "Octave Up")] == native("Ctrl+Up")
    assert ("Generate", "New from Seed") not in rows  # listed once, under File
    assert rows[("File", "New from Seed")] == native("Ctrl+N")


def test_action_text_drops_mnemonics() -> None:
    assert action_text(QAction("Save &As…")) == "Save As…"
    assert action_text(QAction("Rock && &Roll")) == "Rock & Roll"
    assert action_text(QAction("&Open\tCtrl+O")) == "Open"


def test_mouse_gestures_are_the_rolls() -> None:
    gestures = {r.command: r.keys for r in mouse_gestures()}
    ctrl = QKeySequence("Ctrl+A").toString(NATIVE)[:-1]
    assert gestures["Copy the selected notes"] == f"{ctrl}drag a note"
    assert gestures["Add a note (any tool)"] == "Double-click"
    assert "No snapping while held" in gestures
    assert all(r.group == MOUSE_GROUP for r in mouse_gestures())
    assert gestures["Cancel a drag"] == QKeySequence("Esc").toString(NATIVE)
