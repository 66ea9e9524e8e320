# SPDX-License-Identifier: MIT
"""The track list: one row per track with its colour, name, program, channel, notes, and
mute, solo and lock toggles. It never changes the pattern itself: it asks the main window,
which makes each change an undo step (mute and solo are a mixer's buttons, not undone)."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.colors import track_color
from engine.gm import program_name
from engine.music import DRUM_CHANNEL, Pattern, Track

COLUMNS = ("", "Track", "Program", "Ch", "Notes", "M", "S", "🔒")
SWATCH, NAME, PROGRAM, CHANNEL, NOTES, MUTE, SOLO, LOCK = range(len(COLUMNS))
TOGGLES = (MUTE, SOLO, LOCK)


def program_label(track: Track) -> str:
    """``"1 Acoustic Grand Piano"`` (General MIDI numbers from 1); drums name their kit."""
    if track.is_drum:
        return f"Drums (kit {track.program + 1})"
    return f"{track.program + 1} {program_name(track.program)}"


def parse_program(text: str) -> int | None:
    """The 0-based program a user typed: ``"34"`` or ``"34 Electric Bass"`` (1..128)."""
    head = text.strip().split(" ", 1)[0]
    if not head.isdigit():
        return None
    number = int(head)
    return number - 1 if 1 <= number <= 128 else None


class TrackList(QTableWidget):
    """Lists a pattern's tracks; its swatches match the piano roll's note colours.

    Double-click (or F2) a name, program or channel to change it; click M, S or the lock to
    toggle them. Signals carry 0-based track indices, programs and channels.
    """

    current_track_changed = Signal(int)
    rename_requested = Signal(int, str)
    program_requested = Signal(int, int)
    channel_requested = Signal(int, int)
    mute_toggled = Signal(int, bool)
    solo_toggled = Signal(int, bool)
    lock_toggled = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        for column, tip in ((MUTE, "Mute"), (SOLO, "Solo"), (LOCK, "Lock against generation")):
            item = self.horizontalHeaderItem(column)
            if item is not None:
                item.setToolTip(tip)
        self._pattern: Pattern | None = None
        self.itemChanged.connect(self._on_item_changed)
        self.currentCellChanged.connect(self._on_current_cell)

    @property
    def current_track(self) -> int:
        row = self.currentRow()
        return max(row, 0)

    def select_track(self, index: int) -> None:
        if 0 <= index < self.rowCount():
            self.setCurrentCell(index, NAME)

    def set_pattern(self, pattern: Pattern | None) -> None:
        """Show the tracks of ``pattern`` (None: no rows); the current row stays if it can."""
        current = self.currentRow()
        self._pattern = pattern
        tracks = () if pattern is None else pattern.tracks
        with QSignalBlocker(self):
            self.setRowCount(len(tracks))
            for row, track in enumerate(tracks):
                swatch = QTableWidgetItem()
                swatch.setData(Qt.ItemDataRole.DecorationRole, track_color(row))
                swatch.setToolTip(f"Notes of this track are drawn in {track_color(row).name()}")
                swatch.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.setItem(row, SWATCH, swatch)
                self.setItem(row, NAME, QTableWidgetItem(track.name or "(unnamed)"))
                program = QTableWidgetItem(program_label(track))
                program.setToolTip("General MIDI program: type its number (1-128)")
                self.setItem(row, PROGRAM, program)
                channel = self._number_item(track.channel + 1)
                if track.is_drum:
                    channel.setFlags(channel.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    channel.setToolTip("Drums play on channel 10")
                self.setItem(row, CHANNEL, channel)
                notes = self._number_item(len(track.notes))
                notes.setFlags(notes.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.setItem(row, NOTES, notes)
                for column in TOGGLES:
                    if self.item(row, column) is not None:
                        continue  # keeps its state; set_states changes it
                    toggle = QTableWidgetItem()
                    toggle.setFlags(
                        Qt.ItemFlag.ItemIsEnabled
                        | Qt.ItemFlag.ItemIsUserCheckable
                        | Qt.ItemFlag.ItemIsSelectable
                    )
                    toggle.setCheckState(Qt.CheckState.Unchecked)
                    self.setItem(row, column, toggle)
            if tracks:
                self.setCurrentCell(min(max(current, 0), len(tracks) - 1), NAME)

    def set_states(self, muted: set[int], soloed: set[int], locked: set[int]) -> None:
        """Show which tracks are muted, soloed and locked (emits nothing)."""
        with QSignalBlocker(self):
            for row in range(self.rowCount()):
                for column, chosen in ((MUTE, muted), (SOLO, soloed), (LOCK, locked)):
                    item = self.item(row, column)
                    if item is not None:
                        state = Qt.CheckState.Checked if row in chosen else Qt.CheckState.Unchecked
                        item.setCheckState(state)

    def is_checked(self, row: int, column: int) -> bool:
        item = self.item(row, column)
        return item is not None and item.checkState() == Qt.CheckState.Checked

    def _on_current_cell(self, row: int, column: int, old_row: int, old_column: int) -> None:
        if row >= 0 and row != old_row:
            self.current_track_changed.emit(row)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        pattern = self._pattern
        row, column = item.row(), item.column()
        if pattern is None or not 0 <= row < len(pattern.tracks):
            return
        track = pattern.tracks[row]
        if column in TOGGLES:
            on = item.checkState() == Qt.CheckState.Checked
            signal = {MUTE: self.mute_toggled, SOLO: self.solo_toggled, LOCK: self.lock_toggled}
            signal[column].emit(row, on)
            return
        text = item.text().strip()
        if column == NAME and text and text != track.name:
            self.rename_requested.emit(row, text)
        elif column == PROGRAM:
            program = parse_program(text)
            if program is not None and program != track.program:
                self.program_requested.emit(row, program)
        elif column == CHANNEL and text.isdigit():
            channel = int(text) - 1
            valid = 0 <= channel < 16 and (channel == DRUM_CHANNEL) == track.is_drum
            if valid and channel != track.channel:
                self.channel_requested.emit(row, channel)
        # Whatever was typed, show the track as it is until the window applies a change (later:
        # the item being edited must not be replaced inside its own signal).
        QTimer.singleShot(0, lambda: self.set_pattern(self._pattern))

    @staticmethod
    def _number_item(value: int) -> QTableWidgetItem:
        item = QTableWidgetItem(str(value))
        alignment = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        item.setTextAlignment(alignment)
        return item

    def cell_text(self, row: int, column: int) -> str:
        """The text shown in a cell ("" where the cell is empty)."""
        item = self.item(row, column)
        return "" if item is None else item.text()
