# SPDX-License-Identifier: MIT
"""The track list: its cells, its editors and toggles, and the requests they emit."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLineEdit,
    QSpinBox,
    QStyle,
    QStyleOptionViewItem,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.colors import track_color
from desktop.track_list import (
    CHANNEL,
    LOCK,
    MUTE,
    NAME,
    NOTES,
    PROGRAM,
    SOLO,
    SWATCH,
    TrackList,
    program_label,
)
from engine.editing import replace_track
from engine.music import Note, Pattern, Track

REQUESTS = (
    "rename_requested",
    "program_requested",
    "channel_requested",
    "mute_toggled",
    "solo_toggled",
    "lock_toggled",
)


def three_tracks() -> Pattern:
    drums = [Note(i * 240, 60, 36, 100) for i in range(6)]
    bass = [Note(0, 480, 40), Note(480, 480, 43)]
    keys = [Note(0, 480, p) for p in (60, 64, 67)] + [Note(960, 480, 62)]
    return Pattern(
        tracks=(
            Track("Kit", 0, True, 9, drums),
            Track("Bass line", 33, False, 1, bass),
            Track("Keys", 0, False, 0, keys),
        ),
        n_bars=1,
        ticks_per_quarter=480,
    )


class Recorder:
    """Every request signal of a track list, in the order emitted."""

    def __init__(self, table: TrackList) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []
        for name in (*REQUESTS, "current_track_changed"):
            getattr(table, name).connect(lambda *args, n=name: self.calls.append((n, args)))

    def requests(self) -> list[tuple[str, tuple[object, ...]]]:
        return [call for call in self.calls if call[0] in REQUESTS]


@pytest.fixture
def table(qtbot: QtBot) -> TrackList:
    widget = TrackList()
    qtbot.addWidget(widget)
    widget.resize(640, 240)
    with qtbot.waitExposed(widget):
        widget.show()
    widget.set_pattern(three_tracks())
    return widget


def open_editor(table: TrackList, row: int, column: int) -> QWidget:
    """Open the cell's editor with F2 (as a user would) and return it."""
    table.setCurrentCell(row, column)
    QTest.keyClick(table, Qt.Key.Key_F2)
    assert table.state() == QAbstractItemView.State.EditingState
    editor = QApplication.focusWidget()
    assert editor is not None
    return editor


def press_return(qtbot: QtBot, table: TrackList, editor: QWidget) -> None:
    """Enter commits the editor (Qt does so on the next turn of the event loop) and closes it."""
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != QAbstractItemView.State.EditingState)


def apply_like_the_window(table: TrackList) -> None:
    """Apply renames, programs and channels as the main window does, then show the result."""

    def change(index: int, **fields: object) -> None:
        pattern = table.pattern
        assert pattern is not None
        old = pattern.tracks[index]
        new = Track(
            str(fields.get("name", old.name)),
            int(fields.get("program", old.program)),  # type: ignore[call-overload]
            old.is_drum,
            int(fields.get("channel", old.channel)),  # type: ignore[call-overload]
            old.notes,
        )
        table.set_pattern(replace_track(pattern, index, new))

    table.rename_requested.connect(lambda i, name: change(i, name=name))
    table.program_requested.connect(lambda i, program: change(i, program=program))
    table.channel_requested.connect(lambda i, channel: change(i, channel=channel))


def check_box_center(table: TrackList, row: int, column: int) -> QPoint:
    option = QStyleOptionViewItem()
    table.initViewItemOption(option)
    option.rect = table.visualRect(table.model().index(row, column))
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    box = table.style().subElementRect(
        QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, table
    )
    return box.center()


# --- what is shown ---------------------------------------------------------------------------


def test_rows_show_each_track(table: TrackList) -> None:
    rows = [
        tuple(table.cell_text(r, c) for c in (NAME, PROGRAM, CHANNEL, NOTES))
        for r in range(table.rowCount())
    ]
    assert rows == [
        ("Kit", "Drums (kit 1)", "10", "6"),
        ("Bass line", "34 Electric Bass (finger)", "2", "2"),
        ("Keys", "1 Acoustic Grand Piano", "1", "4"),
    ]
    for row in range(3):
        swatch = table.item(row, SWATCH)
        assert swatch is not None
        assert QColor(swatch.data(Qt.ItemDataRole.DecorationRole)) == track_color(row)
        for column in (MUTE, SOLO, LOCK):
            assert not table.is_checked(row, column)
    drum_channel = table.item(0, CHANNEL)
    assert drum_channel is not None
    assert not drum_channel.flags() & Qt.ItemFlag.ItemIsEditable
    assert program_label(Track("x", 127)) == "128 Gunshot"


def test_refilling_emits_no_request(table: TrackList) -> None:
    recorder = Recorder(table)
    pattern = three_tracks()
    renamed = replace_track(
        pattern, 1, Track("Walking bass", 35, False, 4, pattern.tracks[1].notes)
    )
    table.set_pattern(renamed)
    table.set_states({0, 2}, {1}, {2})
    table.set_pattern(pattern)
    table.set_states(set(), set(), set())
    table.set_pattern(None)
    table.set_pattern(pattern)
    assert recorder.calls == []
    assert table.cell_text(1, NAME) == "Bass line"


def test_set_pattern_updates_cells_and_keeps_the_current_row(table: TrackList) -> None:
    table.select_track(2)
    recorder = Recorder(table)
    pattern = three_tracks()
    keys = pattern.tracks[2]
    fewer_notes = replace_track(pattern, 2, keys.with_notes(keys.notes[:1]))
    table.set_pattern(fewer_notes)
    assert table.current_track == 2
    assert table.cell_text(2, NOTES) == "1"
    bass = Track("", 38, False, 5, pattern.tracks[1].notes)
    table.set_pattern(replace_track(pattern, 1, bass))
    assert table.cell_text(1, NAME) == "(unnamed)"
    assert table.cell_text(1, PROGRAM) == "39 Synth Bass 1"
    assert table.cell_text(1, CHANNEL) == "6"
    assert recorder.calls == []
    # Fewer tracks than the current row: the last one becomes current, and the roll is told.
    table.set_pattern(Pattern(pattern.tracks[:2], n_bars=1))
    assert table.rowCount() == 2
    assert table.current_track == 1
    assert recorder.calls == [("current_track_changed", (1,))]
    table.set_pattern(None)
    assert table.rowCount() == 0
    assert table.current_track == 0


def test_clicking_a_row_makes_its_track_current(qtbot: QtBot, table: TrackList) -> None:
    with qtbot.waitSignal(table.current_track_changed) as blocker:
        rect = table.visualRect(table.model().index(1, NOTES))
        QTest.mouseClick(
            table.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            rect.center(),
        )
    assert blocker.args == [1]
    assert table.current_track == 1
    with qtbot.waitSignal(table.current_track_changed) as blocker:
        table.select_track(2)
    assert blocker.args == [2]
    with qtbot.assertNotEmitted(table.current_track_changed):
        table.select_track(7)
    assert table.current_track == 2


# --- editors ---------------------------------------------------------------------------------


def test_rename_by_double_click(qtbot: QtBot, table: TrackList) -> None:
    rect = table.visualRect(table.model().index(1, NAME))
    QTest.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )
    QTest.mouseDClick(
        table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    assert editor.text() == "Bass line"
    editor.selectAll()
    QTest.keyClicks(editor, "  Walking bass ")
    with qtbot.waitSignal(table.rename_requested) as blocker:
        QTest.keyClick(editor, Qt.Key.Key_Return)
    assert blocker.args == [1, "Walking bass"]
    # The cell shows the track as it is until the window applies the change.
    assert table.cell_text(1, NAME) == "Bass line"


def test_rename_is_applied_by_the_window(qtbot: QtBot, table: TrackList) -> None:
    apply_like_the_window(table)
    editor = open_editor(table, 2, NAME)
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    QTest.keyClicks(editor, "Rhodes")
    press_return(qtbot, table, editor)
    assert table.cell_text(2, NAME) == "Rhodes"
    assert table.pattern is not None
    assert table.pattern.tracks[2].name == "Rhodes"
    assert table.state() != QAbstractItemView.State.EditingState


@pytest.mark.parametrize("typed", ["", "   ", "Keys"])
def test_empty_or_unchanged_names_are_ignored(qtbot: QtBot, table: TrackList, typed: str) -> None:
    recorder = Recorder(table)
    editor = open_editor(table, 2, NAME)
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    QTest.keyClick(editor, Qt.Key.Key_Delete)
    QTest.keyClicks(editor, typed)
    press_return(qtbot, table, editor)
    assert table.state() != QAbstractItemView.State.EditingState
    assert recorder.requests() == []
    assert table.cell_text(2, NAME) == "Keys"


def test_program_combo_lists_general_midi(qtbot: QtBot, table: TrackList) -> None:
    combo = open_editor(table, 1, PROGRAM)
    assert isinstance(combo, QComboBox)
    assert combo.count() == 128
    assert combo.itemText(0) == "1 Acoustic Grand Piano"
    assert combo.itemText(40) == "41 Violin"
    assert combo.currentIndex() == 33
    assert combo.currentText() == table.cell_text(1, PROGRAM)
    with qtbot.waitSignal(table.program_requested) as blocker:
        QTest.keyClick(combo, Qt.Key.Key_Down)  # the next program, committed at once
    assert blocker.args == [1, 34]
    assert table.state() != QAbstractItemView.State.EditingState


def test_program_of_drums_chooses_a_kit(qtbot: QtBot, table: TrackList) -> None:
    apply_like_the_window(table)
    combo = open_editor(table, 0, PROGRAM)
    assert isinstance(combo, QComboBox)
    assert combo.itemText(0) == "Drums (kit 1)"
    assert combo.itemText(24) == "Drums (kit 25)"
    with qtbot.waitSignal(table.program_requested) as blocker:
        combo.setCurrentIndex(23)
        QTest.keyClick(combo, Qt.Key.Key_Down)
    assert blocker.args == [0, 24]
    assert table.cell_text(0, PROGRAM) == "Drums (kit 25)"


def test_choosing_the_same_program_asks_nothing(qtbot: QtBot, table: TrackList) -> None:
    recorder = Recorder(table)
    combo = open_editor(table, 2, PROGRAM)
    assert isinstance(combo, QComboBox)
    press_return(qtbot, table, combo)
    assert table.state() != QAbstractItemView.State.EditingState
    assert recorder.requests() == []


def test_channel_spin_box(qtbot: QtBot, table: TrackList) -> None:
    apply_like_the_window(table)
    box = open_editor(table, 2, CHANNEL)
    assert isinstance(box, QSpinBox)
    assert (box.minimum(), box.maximum(), box.value()) == (1, 16, 1)
    QTest.keyClick(box, Qt.Key.Key_Up)
    with qtbot.waitSignal(table.channel_requested) as blocker:
        QTest.keyClick(box, Qt.Key.Key_Return)
    assert blocker.args == [2, 1]  # 0-based: channel 2 as users count
    assert table.cell_text(2, CHANNEL) == "2"
    # The arrows step over channel 10, which is the drums'.
    box = open_editor(table, 2, CHANNEL)
    assert isinstance(box, QSpinBox)
    box.setValue(9)
    QTest.keyClick(box, Qt.Key.Key_Up)
    assert box.value() == 11
    QTest.keyClick(box, Qt.Key.Key_Down)
    assert box.value() == 9


@pytest.mark.parametrize("typed", ["10", "0", "99"])
def test_invalid_channels_ask_nothing(qtbot: QtBot, table: TrackList, typed: str) -> None:
    recorder = Recorder(table)
    box = open_editor(table, 1, CHANNEL)
    assert isinstance(box, QSpinBox)
    box.lineEdit().selectAll()
    QTest.keyClicks(box, typed)
    if typed == "99":
        assert box.text() == "9"  # the box refuses what leaves 1..16
        QTest.keyClick(box, Qt.Key.Key_Backspace)
        QTest.keyClicks(box, "2")  # the channel the track has
    press_return(qtbot, table, box)
    assert table.state() != QAbstractItemView.State.EditingState
    assert recorder.requests() == []
    assert table.cell_text(1, CHANNEL) == "2"


def test_drums_stay_on_channel_10(table: TrackList) -> None:
    table.setCurrentCell(0, CHANNEL)
    QTest.keyClick(table, Qt.Key.Key_F2)
    assert table.state() != QAbstractItemView.State.EditingState
    recorder = Recorder(table)
    table.request(0, CHANNEL, 3)
    table.request(1, CHANNEL, 9)
    table.request(1, PROGRAM, 128)
    table.request(5, NAME, "nobody")
    assert recorder.calls == []


# --- toggles ---------------------------------------------------------------------------------

TOGGLE_SIGNALS = [(MUTE, "mute_toggled"), (SOLO, "solo_toggled"), (LOCK, "lock_toggled")]


@pytest.mark.parametrize(("column", "signal"), TOGGLE_SIGNALS)
def test_clicking_a_toggle_asks_for_it(
    qtbot: QtBot, table: TrackList, column: int, signal: str
) -> None:
    point = check_box_center(table, 1, column)
    with qtbot.waitSignal(getattr(table, signal)) as blocker:
        QTest.mouseClick(
            table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point
        )
    assert blocker.args == [1, True]
    # Nobody applied it: the toggle still shows the state as it is.
    assert not table.is_checked(1, column)


@pytest.mark.parametrize(("column", "signal"), TOGGLE_SIGNALS)
def test_toggles_show_what_the_window_sets(table: TrackList, column: int, signal: str) -> None:
    states: dict[int, set[int]] = {MUTE: set(), SOLO: set(), LOCK: set()}

    def apply(row: int, on: bool) -> None:
        states[column].add(row) if on else states[column].discard(row)
        table.set_states(states[MUTE], states[SOLO], states[LOCK])

    getattr(table, signal).connect(apply)
    recorder = Recorder(table)
    point = check_box_center(table, 2, column)
    QTest.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point
    )
    assert table.is_checked(2, column)
    table.setCurrentCell(2, column)
    QTest.keyClick(table, Qt.Key.Key_Space)
    assert not table.is_checked(2, column)
    assert recorder.requests() == [(signal, (2, True)), (signal, (2, False))]


def test_set_states_shows_the_states(table: TrackList) -> None:
    recorder = Recorder(table)
    table.set_states({0}, {1, 2}, {2})
    shown = {
        column: {row for row in range(3) if table.is_checked(row, column)}
        for column in (MUTE, SOLO, LOCK)
    }
    assert shown == {MUTE: {0}, SOLO: {1, 2}, LOCK: {2}}
    # Refilling keeps them; a new row starts with what the states say of it.
    table.set_pattern(Pattern(three_tracks().tracks[:1], n_bars=1))
    table.set_pattern(three_tracks())
    assert table.is_checked(0, MUTE)
    assert table.is_checked(2, LOCK)
    assert not table.is_checked(1, MUTE)
    assert recorder.requests() == []


def test_text_set_in_a_cell_becomes_a_request(table: TrackList) -> None:
    """Code (or another editor) that writes a cell's text asks as the editors do; the cell
    then shows the track as it is again."""
    recorder = Recorder(table)
    for column, text in (
        (NAME, " Organ "),
        (PROGRAM, "17 Drawbar Organ"),
        (PROGRAM, "129"),
        (PROGRAM, "organ"),
        (CHANNEL, "4"),
        (CHANNEL, "10"),
        (CHANNEL, "x"),
    ):
        item = table.item(2, column)
        assert item is not None
        item.setText(text)
    assert recorder.requests() == [
        ("rename_requested", (2, "Organ")),
        ("program_requested", (2, 16)),
        ("channel_requested", (2, 3)),
    ]
    assert [table.cell_text(2, c) for c in (NAME, PROGRAM, CHANNEL)] == [
        "Keys",
        "1 Acoustic Grand Piano",
        "1",
    ]
