# SPDX-License-Identifier: MIT
"""The track list: one row per track with its colour, name, program, channel, note count, and
mute, solo and lock toggles. Silent tracks (muted, or not soloed while another track is) show
their text dimmed.

It never changes the pattern itself. An edit in a cell (a name typed, a program or channel
chosen, a toggle clicked) becomes a request signal; the main window applies it (an undo step;
mute and solo are a mixer's buttons, not undone) and shows the result again with
:meth:`TrackList.set_pattern` and :meth:`TrackList.set_states`. Until then the cells keep
showing the pattern as it is, so a request the window refuses leaves nothing wrong on screen.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
    Signal,
)
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.colors import track_color
from engine.gm import program_name
from engine.music import DRUM_CHANNEL, Pattern, Track

COLUMNS = ("", "Track", "Program", "Ch", "Notes", "M", "S", "Lock")
SWATCH, NAME, PROGRAM, CHANNEL, NOTES, MUTE, SOLO, LOCK = range(len(COLUMNS))
TOGGLES = (MUTE, SOLO, LOCK)
#: Header tool tips of the columns that need one.
COLUMN_TIPS = {
    NAME: "Double-click or F2 to rename",
    PROGRAM: "General MIDI program (drums: the kit); double-click or F2 to choose",
    CHANNEL: "MIDI channel 1-16 (drums play on 10); double-click or F2 to change",
    MUTE: "Mute",
    SOLO: "Solo",
    LOCK: "Lock the track against generation",
}
#: Cells whose text is dimmed on a silent track.
TEXT_COLUMNS = (NAME, PROGRAM, CHANNEL, NOTES)
#: The name column is kept at least this many average characters wide (plus padding), more
#: where a name needs it (up to NAME_MAX_CHARS); the program column gives way first.
NAME_MIN_CHARS = 13
NAME_MAX_CHARS = 24
#: The program column never gets narrower than this many average characters.
PROGRAM_MIN_CHARS = 4
_Index = QModelIndex | QPersistentModelIndex


def program_label(track: Track) -> str:
    """``"1 Acoustic Grand Piano"`` (General MIDI numbers from 1); drums name their kit."""
    return program_choice(track.program, track.is_drum)


def program_choice(program: int, is_drum: bool) -> str:
    """How program ``program`` (0..127) is shown and offered: ``"34 Electric Bass (finger)"``,
    or ``"Drums (kit 1)"`` on a drum track."""
    if is_drum:
        return f"Drums (kit {program + 1})"
    return f"{program + 1} {program_name(program)}"


def parse_program(text: str) -> int | None:
    """The 0-based program a typed cell means: ``"34"`` or ``"34 Electric Bass"`` (1..128)."""
    head = text.strip().split(" ", 1)[0]
    if not head.isdigit():
        return None
    number = int(head)
    return number - 1 if 1 <= number <= 128 else None


class ChannelBox(QSpinBox):
    """A MIDI channel 1..16 as users count them; the arrows step over 10, which General MIDI
    keeps for drums (typing 10 on a pitched track is ignored when committed)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(1, 16)
        self.setAccelerated(False)

    def stepBy(self, steps: int) -> None:
        value = self.value() + steps
        if value == DRUM_CHANNEL + 1:
            value += 1 if steps > 0 else -1
        self.setValue(min(max(value, 1), 16))


class _RequestDelegate(QStyledItemDelegate):
    """Editors of the name, program and channel cells. Committing an editor does not write the
    cell: it hands the value to the track list, which checks it and emits a request."""

    def __init__(self, owner: TrackList) -> None:
        super().__init__(owner)
        self._owner = owner

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:
        track = self._owner.track_at(index.row())
        column = index.column()
        if column == PROGRAM and track is not None:
            combo = QComboBox(parent)
            combo.addItems([program_choice(p, track.is_drum) for p in range(128)])
            combo.setMaxVisibleItems(16)
            # Choosing an entry commits at once (as a menu would), not when focus leaves.
            combo.activated.connect(lambda _row: self._commit_and_close(combo))
            return combo
        if column == CHANNEL and track is not None:
            return ChannelBox(parent)
        editor = super().createEditor(parent, option, index)
        if isinstance(editor, QLineEdit):
            editor.setPlaceholderText("Track name")
        return editor

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        """Editors open on the track's value (not the cell's text, e.g. "(unnamed)")."""
        track = self._owner.track_at(index.row())
        if track is None:
            super().setEditorData(editor, index)
        elif isinstance(editor, QComboBox):
            editor.setCurrentIndex(track.program)
        elif isinstance(editor, QSpinBox):
            editor.setValue(track.channel + 1)
        elif isinstance(editor, QLineEdit):
            editor.setText(track.name)
            editor.selectAll()
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:
        if isinstance(editor, QComboBox):
            self._owner.request(index.row(), index.column(), editor.currentIndex())
        elif isinstance(editor, QSpinBox):
            self._owner.request(index.row(), index.column(), editor.value() - 1)
        elif isinstance(editor, QLineEdit):
            self._owner.request(index.row(), index.column(), editor.text())

    def _commit_and_close(self, editor: QWidget) -> None:
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.NoHint)


class TrackList(QTableWidget):
    """Lists a pattern's tracks; its swatches match the piano roll's note colours.

    Double-click (or F2) a name, program or channel to change it; click M, S or the lock (or
    press Space on one) to toggle it. All indices, programs and channels are 0-based.

    Signals
    -------
    current_track_changed(int)
        Another row became current (the piano roll then edits that track). Also emitted by
        :meth:`set_pattern` when fewer tracks move the current row.
    rename_requested(int, str)
        Track index, the new name (stripped, never empty, different from the old one).
    program_requested(int, int)
        Track index, General MIDI program 0..127 (on a drum track: the kit).
    channel_requested(int, int)
        Track index, MIDI channel 0..15 (never 9 for a pitched track; drums cannot change).
    mute_toggled(int, bool), solo_toggled(int, bool), lock_toggled(int, bool)
        Track index and the state asked for. The toggle shows it once :meth:`set_states`
        confirms it.
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
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The name takes the free width; the program column is sized by _fit_columns so that
        # the free width is enough for the names (its text is elided, the full one a tip).
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(PROGRAM, QHeaderView.ResizeMode.Fixed)
        header.setHighlightSections(False)
        for column, tip in COLUMN_TIPS.items():
            item = self.horizontalHeaderItem(column)
            if item is not None:
                item.setToolTip(tip)
        self._delegate = _RequestDelegate(self)
        for column in (NAME, PROGRAM, CHANNEL):
            self.setItemDelegateForColumn(column, self._delegate)
        self._pattern: Pattern | None = None
        #: The toggles' states as the window last set them: {MUTE: rows, SOLO: ..., LOCK: ...}.
        self._states: dict[int, frozenset[int]] = {column: frozenset() for column in TOGGLES}
        self._signals = {MUTE: self.mute_toggled, SOLO: self.solo_toggled, LOCK: self.lock_toggled}
        self.itemChanged.connect(self._on_item_changed)
        self.currentCellChanged.connect(self._on_current_cell)

    # --- state -------------------------------------------------------------------------------
    @property
    def pattern(self) -> Pattern | None:
        """The pattern shown (None: no rows)."""
        return self._pattern

    @property
    def current_track(self) -> int:
        """The current row's track index (0 while no row is current)."""
        return max(self.currentRow(), 0)

    def select_track(self, index: int) -> None:
        """Make track ``index`` current (emits :attr:`current_track_changed` if it changes);
        indices with no row are ignored."""
        if 0 <= index < self.rowCount():
            self.setCurrentCell(index, NAME)

    def track_at(self, row: int) -> Track | None:
        """The track shown in ``row`` (None: no such row)."""
        pattern = self._pattern
        if pattern is None or not 0 <= row < len(pattern.tracks):
            return None
        return pattern.tracks[row]

    def set_pattern(self, pattern: Pattern | None) -> None:
        """Show the tracks of ``pattern`` (None: no rows); the current row stays if it can.

        Emits no request. Cells are updated in place, so calling this on every edit (every
        step of a drag) costs a few text comparisons per track.
        """
        old_row = self.currentRow()
        self._pattern = pattern
        tracks = () if pattern is None else pattern.tracks
        with QSignalBlocker(self):
            if self.rowCount() != len(tracks):
                self.setRowCount(len(tracks))
            for row, track in enumerate(tracks):
                self._fill_row(row, track)
            new_row = min(max(old_row, 0), len(tracks) - 1)
            if tracks and self.currentRow() != new_row:
                self.setCurrentCell(new_row, NAME)
        self._fit_columns()
        if new_row >= 0 and old_row >= 0 and new_row != old_row:
            self.current_track_changed.emit(new_row)

    def set_states(self, muted: set[int], soloed: set[int], locked: set[int]) -> None:
        """Show which tracks are muted, soloed and locked (emits nothing); the rows of the
        tracks that are then silent (see :attr:`silent_tracks`) are dimmed."""
        self._states = {MUTE: frozenset(muted), SOLO: frozenset(soloed), LOCK: frozenset(locked)}
        with QSignalBlocker(self):
            for row in range(self.rowCount()):
                for column in TOGGLES:
                    self._show_toggle(row, column)
                self._show_silence(row)

    @property
    def silent_tracks(self) -> frozenset[int]:
        """Rows whose track does not sound: the muted ones and, while any track is soloed,
        every track not soloed (as :meth:`set_states` last set them)."""
        soloed = self._states[SOLO]
        rows = range(self.rowCount())
        return frozenset(r for r in rows if r in self._states[MUTE] or (soloed and r not in soloed))

    def is_checked(self, row: int, column: int) -> bool:
        """Whether the toggle in ``row`` and ``column`` (MUTE, SOLO or LOCK) shows as on."""
        item = self.item(row, column)
        return item is not None and item.checkState() == Qt.CheckState.Checked

    def cell_text(self, row: int, column: int) -> str:
        """The text shown in a cell ("" where the cell is empty)."""
        item = self.item(row, column)
        return "" if item is None else item.text()

    # --- requests ----------------------------------------------------------------------------
    def request(self, row: int, column: int, value: int | str) -> None:
        """Emit the request an editor's ``value`` means for ``row`` and ``column``, if it is a
        valid change: a non-empty new name, a new program 0..127, a new channel 0..15 that
        keeps drums, and only drums, on channel 10. Anything else is dropped silently."""
        track = self.track_at(row)
        if track is None:
            return
        if column == NAME and isinstance(value, str):
            name = value.strip()
            if name and name != track.name:
                self.rename_requested.emit(row, name)
        elif column == PROGRAM and isinstance(value, int):
            if 0 <= value <= 127 and value != track.program:
                self.program_requested.emit(row, value)
        elif column == CHANNEL and isinstance(value, int):
            valid = 0 <= value <= 15 and (value == DRUM_CHANNEL) == track.is_drum
            if valid and value != track.channel:
                self.channel_requested.emit(row, value)

    # --- filling -----------------------------------------------------------------------------
    def _cell(self, row: int, column: int, flags: Qt.ItemFlag) -> QTableWidgetItem:
        """The item of a cell, made on first use; its flags set to ``flags``."""
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            if column in (CHANNEL, NOTES):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            elif column in TOGGLES:
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.setItem(row, column, item)
        if item.flags() != flags:
            item.setFlags(flags)
        return item

    @staticmethod
    def _set(item: QTableWidgetItem, text: str, tip: str = "") -> None:
        if item.text() != text:
            item.setText(text)
        if item.toolTip() != tip:
            item.setToolTip(tip)

    def _fill_row(self, row: int, track: Track) -> None:
        shown = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        editable = shown | Qt.ItemFlag.ItemIsEditable
        swatch = self._cell(row, SWATCH, shown)
        color = track_color(row)
        if swatch.data(Qt.ItemDataRole.DecorationRole) != color:
            swatch.setData(Qt.ItemDataRole.DecorationRole, color)
            swatch.setToolTip(f"Notes of this track are drawn in {color.name()}")
        self._set(self._cell(row, NAME, editable), track.name or "(unnamed)", track.name)
        label = program_label(track)
        self._set(self._cell(row, PROGRAM, editable), label, label)
        if track.is_drum:
            channel = self._cell(row, CHANNEL, shown)
            self._set(channel, str(track.channel + 1), "Drums play on channel 10")
        else:
            self._set(self._cell(row, CHANNEL, editable), str(track.channel + 1))
        self._set(self._cell(row, NOTES, shown), str(len(track.notes)))
        for column in TOGGLES:
            self._cell(row, column, shown | Qt.ItemFlag.ItemIsUserCheckable)
            self._show_toggle(row, column)
        self._show_silence(row)

    def _show_silence(self, row: int) -> None:
        """Dim the text of ``row`` while its track is silent (the palette's disabled text)."""
        silent = row in self.silent_tracks
        for column in TEXT_COLUMNS:
            item = self.item(row, column)
            if item is None:
                continue
            if silent:
                color = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
                if item.data(Qt.ItemDataRole.ForegroundRole) != color:
                    item.setForeground(color)
            elif item.data(Qt.ItemDataRole.ForegroundRole) is not None:
                item.setData(Qt.ItemDataRole.ForegroundRole, None)

    # --- layout ------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Size the program column so the stretched name column keeps enough width for the
        names: the program gets its full text where there is room, down to
        :data:`PROGRAM_MIN_CHARS` where there is not (then elided)."""
        header = self.horizontalHeader()
        char_px = self.fontMetrics().averageCharWidth()
        padding = 2 * (self.style().pixelMetric(self.style().PixelMetric.PM_FocusFrameHMargin) + 1)
        names = [self.cell_text(r, NAME) for r in range(self.rowCount())]
        longest = max((self.fontMetrics().horizontalAdvance(n) for n in names), default=0)
        wanted_name = padding + max(
            NAME_MIN_CHARS * char_px, min(longest, NAME_MAX_CHARS * char_px)
        )
        others = sum(header.sectionSize(c) for c in range(len(COLUMNS)) if c not in (NAME, PROGRAM))
        program_full = max(self.sizeHintForColumn(PROGRAM), header.sectionSizeHint(PROGRAM))
        program_min = padding + PROGRAM_MIN_CHARS * char_px
        room = self.viewport().width() - others - wanted_name
        width = max(program_min, min(program_full, room))
        if header.sectionSize(PROGRAM) != width:
            header.resizeSection(PROGRAM, width)

    def _show_toggle(self, row: int, column: int) -> None:
        item = self.item(row, column)
        if item is None:
            return
        on = row in self._states[column]
        state = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
        if item.data(Qt.ItemDataRole.CheckStateRole) is None or item.checkState() != state:
            item.setCheckState(state)

    # --- slots -------------------------------------------------------------------------------
    def _on_current_cell(self, row: int, column: int, old_row: int, old_column: int) -> None:
        if row >= 0 and row != old_row:
            self.current_track_changed.emit(row)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        """A cell was changed (a toggle clicked, or a text set by code rather than through
        the editors, which write nothing): ask for the change, then show the track as the
        window has left it (changed by now, if it applied the request at once)."""
        row, column = item.row(), item.column()
        if self.track_at(row) is None:
            return
        if column in TOGGLES:
            asked = item.checkState() == Qt.CheckState.Checked
            if asked != (row in self._states[column]):
                self._signals[column].emit(row, asked)
            with QSignalBlocker(self):
                self._show_toggle(row, column)
            return
        text = item.text()
        if column == NAME:
            self.request(row, NAME, text)
        elif column == PROGRAM and (program := parse_program(text)) is not None:
            self.request(row, PROGRAM, program)
        elif column == CHANNEL and text.strip().isdigit():
            self.request(row, CHANNEL, int(text) - 1)
        track = self.track_at(row)
        if track is not None:
            with QSignalBlocker(self):
                self._fill_row(row, track)
