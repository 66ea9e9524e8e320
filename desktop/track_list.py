# SPDX-License-Identifier: MIT
"""The track list: one read-only row per track with its colour, name, program, channel, notes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.colors import track_color
from engine.gm import program_name
from engine.music import Pattern, Track

COLUMNS = ("", "Track", "Program", "Ch", "Notes")
SWATCH, NAME, PROGRAM, CHANNEL, NOTES = range(len(COLUMNS))


def program_label(track: Track) -> str:
    """``"1 Acoustic Grand Piano"`` (General MIDI numbers from 1); drums name their kit."""
    if track.is_drum:
        return f"Drums (kit {track.program + 1})"
    return f"{track.program + 1} {program_name(track.program)}"


class TrackList(QTableWidget):
    """Lists a pattern's tracks; its swatches match the piano roll's note colours."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)

    def set_pattern(self, pattern: Pattern | None) -> None:
        """Show the tracks of ``pattern`` (None: no rows)."""
        tracks = () if pattern is None else pattern.tracks
        self.setRowCount(len(tracks))
        for row, track in enumerate(tracks):
            swatch = QTableWidgetItem()
            swatch.setData(Qt.ItemDataRole.DecorationRole, track_color(row))
            swatch.setToolTip(f"Notes of this track are drawn in {track_color(row).name()}")
            self.setItem(row, SWATCH, swatch)
            self.setItem(row, NAME, QTableWidgetItem(track.name or "(unnamed)"))
            self.setItem(row, PROGRAM, QTableWidgetItem(program_label(track)))
            self.setItem(row, CHANNEL, self._number_item(track.channel + 1))
            self.setItem(row, NOTES, self._number_item(len(track.notes)))

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
