# SPDX-License-Identifier: MIT
"""The velocity lane under the piano roll: one stem per visible note of the current track,
aligned with the roll in time; dragging a stem up or down sets the velocity (of the selection
when the stem is selected). It never edits: it tells the main window, which makes the drag one
undo step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from desktop import colors
from desktop.note_table import TrackNotes, visible_notes
from desktop.piano_roll_view import PianoRollView
from engine.editing import EMPTY, NoteRef, Selection
from engine.music import Pattern

#: Stems closer than this to the pointer (pixels) are hit.
HIT_PX = 5


class VelocityLane(QWidget):
    """Velocities of the active track.

    Signals
    -------
    velocity_drag_started()
    velocity_changed(object, int)
        The notes (a frozenset of ``(track, Note)`` as they were when the drag started) and
        the velocity 1..127 the pointer points at.
    velocity_drag_finished()
    """

    velocity_drag_started = Signal()
    velocity_changed = Signal(object, int)
    velocity_drag_finished = Signal()

    def __init__(self, roll: PianoRollView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.roll = roll
        self._pattern: Pattern | None = None
        self._track = 0
        self._table: TrackNotes | None = None
        self._selection: Selection = EMPTY
        self._drag: frozenset[NoteRef] | None = None
        self.setMinimumHeight(60)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setToolTip("Velocity: drag a stem up or down (the selection's, if it is selected)")

    def sizeHint(self) -> QSize:
        return QSize(900, 110)

    def set_pattern(self, pattern: Pattern | None) -> None:
        self._pattern = pattern
        self._rebuild()

    def set_track(self, track: int) -> None:
        self._track = track
        self._rebuild()

    def set_selection(self, selection: Selection) -> None:
        self._selection = selection
        self.update()

    def _rebuild(self) -> None:
        pattern = self._pattern
        if pattern is None or not 0 <= self._track < len(pattern.tracks):
            self._table = None
        else:
            self._table = TrackNotes.from_track(pattern.tracks[self._track])
        self.update()

    # --- geometry ----------------------------------------------------------------------------
    def _lane(self) -> QRectF:
        left = float(self.roll.KEYBOARD_WIDTH)
        return QRectF(left, 4.0, max(self.width() - left, 1.0), max(self.height() - 8.0, 1.0))

    def _visible(self) -> np.ndarray:
        view = self.roll.viewport
        if view is None or self._table is None or len(self._table) == 0:
            return np.empty(0, dtype=np.intp)
        return visible_notes(self._table, view.start_tick, view.end_tick, 0, 128)

    def _x(self, ticks: np.ndarray) -> np.ndarray:
        view = self.roll.viewport
        assert view is not None
        lane = self._lane()
        return lane.left() + (ticks - view.start_tick) * lane.width() / view.n_ticks

    def velocity_at(self, y: float) -> int:
        """The velocity (1..127) a pointer at widget y means."""
        lane = self._lane()
        fraction = (lane.bottom() - y) / lane.height()
        return int(min(127, max(1, round(fraction * 127))))

    def note_at(self, x: float) -> NoteRef | None:
        """The visible note whose stem is nearest to x (within a few pixels)."""
        pattern = self._pattern
        visible = self._visible()
        if pattern is None or len(visible) == 0 or self._table is None:
            return None
        xs = self._x(self._table.starts[visible].astype(np.float64))
        nearest = int(np.argmin(np.abs(xs - x)))
        if abs(xs[nearest] - x) > HIT_PX:
            return None
        return (self._track, pattern.tracks[self._track].notes[int(visible[nearest])])

    # --- mouse -------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self.note_at(event.position().x())
        if hit is None:
            return
        self._drag = self._selection if hit in self._selection else frozenset({hit})
        self.velocity_drag_started.emit()
        self.velocity_changed.emit(self._drag, self.velocity_at(event.position().y()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self.velocity_changed.emit(self._drag, self.velocity_at(event.position().y()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = None
            self.velocity_drag_finished.emit()

    # --- painting ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), colors.ROLL_BACKGROUND)
            lane = self._lane()
            painter.setPen(QPen(colors.ROLL_OCTAVE_LINE, 1))
            painter.drawLine(QLineF(lane.left(), lane.bottom(), lane.right(), lane.bottom()))
            visible = self._visible()
            if len(visible) == 0 or self._pattern is None or self._table is None:
                return
            notes = self._pattern.tracks[self._track].notes
            xs = self._x(self._table.starts[visible].astype(np.float64))
            velocities = np.fromiter(
                (notes[i].velocity for i in visible.tolist()), np.float64, len(visible)
            )
            tops = lane.bottom() - velocities / 127 * lane.height()
            color = colors.track_color(self._track)
            rects = [
                QRectF(x - 1, y, 3, lane.bottom() - y)
                for x, y in zip(xs.tolist(), tops.tolist(), strict=True)
            ]
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRects(rects)
            chosen = {n for t, n in self._selection if t == self._track}
            if chosen:
                marked = [
                    r for r, i in zip(rects, visible.tolist(), strict=True) if notes[i] in chosen
                ]
                painter.setBrush(colors.SELECTED_EDGE)
                painter.drawRects(marked)
        finally:
            painter.end()
