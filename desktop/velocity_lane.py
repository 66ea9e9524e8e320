# SPDX-License-Identifier: MIT
"""The velocity lane under the piano roll: one stem per visible note of the current track,
aligned with the roll in time; dragging a stem up or down sets the velocity (of the selection
when the stem is selected). It never edits: it tells the main window, which makes the drag one
undo step (``begin`` on :attr:`~VelocityLane.velocity_drag_started`, ``update`` with
``engine.editing.set_velocity`` on each :attr:`~VelocityLane.velocity_changed`, ``commit`` on
:attr:`~VelocityLane.velocity_drag_finished`).

Like the roll, it paints from the track's sorted numpy arrays: two binary searches find the
notes whose onset is in view, and where they are denser than the pixels, one stem per pixel
column (the loudest) is drawn, so a track of a million notes paints as fast as one of ten.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QLineF, QObject, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from desktop import colors
from desktop.note_table import TrackNotes
from desktop.piano_roll_view import PianoRollView
from desktop.viewport import Viewport, label_step
from engine.editing import EMPTY, NoteRef, Selection
from engine.music import Pattern, Track

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: A stem this close to the pointer (pixels, horizontally) is hit.
HIT_PX = 5.0
#: Width of a stem when notes are sparser than the pixels.
STEM_PX = 3.0
#: Empty pixels above velocity 127 and below velocity 0 inside the lane.
TOP_PX = 6.0
BOTTOM_PX = 4.0


class VelocityLane(QWidget):
    """Velocities of the current track's notes, under and aligned with ``roll``.

    It follows the roll by itself: it watches the roll's paint and resize events (an event
    filter) and repaints when the roll's viewport or geometry changed since its own last paint.
    :meth:`sync` does the same check on demand, for a caller that moves the roll's viewport
    without the roll repainting (nothing in the app needs it today).

    Signals
    -------
    velocity_drag_started()
        A drag began on a stem (or on the selection's stems).
    velocity_changed(object, int)
        The notes dragged (a frozenset of ``(track, Note)`` refs as they were when the drag
        started: apply it to the pattern of that moment) and the velocity 1..127 under the
        pointer. Emitted on press and on each move that changes the velocity.
    velocity_drag_finished()
        The button was released.
    """

    velocity_drag_started = Signal()
    velocity_changed = Signal(object, int)
    velocity_drag_finished = Signal()

    def __init__(self, roll: PianoRollView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._roll = roll
        self._pattern: Pattern | None = None
        self._track_index = 0
        #: The track the arrays were built from (rebuilt only when it is another value).
        self._built_from: Track | None = None
        self._table = TrackNotes.from_track(Track(""))
        self._velocities: IntArray = np.empty(0, dtype=np.int64)
        self._selection: Selection = EMPTY
        self._selected_starts: IntArray = np.empty(0, dtype=np.int64)
        self._selected_velocities: IntArray = np.empty(0, dtype=np.int64)
        self._drag_refs: Selection | None = None
        self._drag_velocity = 0
        #: What the last paint was aligned to; :meth:`sync` repaints when it differs.
        self._painted_key: tuple[object, ...] | None = None
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(8.0)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumHeight(60)
        self.setMouseTracking(True)
        self.setToolTip(
            "Velocity: drag a stem up or down; a selected stem moves the whole selection"
        )
        roll.installEventFilter(self)

    def sizeHint(self) -> QSize:
        return QSize(900, 110)

    # --- state -------------------------------------------------------------------------------
    @property
    def roll(self) -> PianoRollView:
        """The piano roll this lane is aligned with."""
        return self._roll

    @property
    def pattern(self) -> Pattern | None:
        return self._pattern

    @property
    def track(self) -> int:
        """Index of the track whose velocities are shown."""
        return self._track_index

    @property
    def selection(self) -> Selection:
        return self._selection

    @property
    def dragging(self) -> bool:
        """Whether a velocity drag is under way."""
        return self._drag_refs is not None

    def set_pattern(self, pattern: Pattern | None) -> None:
        """Show the velocities of ``pattern`` (None: nothing)."""
        self._pattern = pattern
        self._rebuild()

    def set_track(self, index: int) -> None:
        """Show track ``index`` (0-based; an index with no track shows nothing)."""
        self._track_index = index
        self._rebuild()
        self._select(self._selection)

    def set_selection(self, selection: Selection) -> None:
        """Highlight ``selection``'s notes (those of the shown track) and let a drag on one of
        them change them all."""
        self._select(selection)

    def _current_track(self) -> Track | None:
        pattern = self._pattern
        if pattern is None or not 0 <= self._track_index < len(pattern.tracks):
            return None
        return pattern.tracks[self._track_index]

    def _rebuild(self) -> None:
        track = self._current_track()
        if track is not self._built_from:
            self._built_from = track
            track = track if track is not None else Track("")
            self._table = TrackNotes.from_track(track)
            self._velocities = np.fromiter(
                (n.velocity for n in track.notes), np.int64, len(track.notes)
            )
        self.update()

    def _select(self, selection: Selection) -> None:
        self._selection = selection
        mine = [n for t, n in selection if t == self._track_index]
        starts = np.fromiter((n.start for n in mine), np.int64, len(mine))
        order = np.argsort(starts, kind="stable")
        self._selected_starts = starts[order]
        velocities = np.fromiter((n.velocity for n in mine), np.int64, len(mine))
        self._selected_velocities = velocities[order]
        self.update()

    # --- geometry ----------------------------------------------------------------------------
    def _offset(self) -> float:
        """How far right of this widget's x the roll's x = 0 lies (0 in separate windows)."""
        top = self.window()
        if self._roll.window() is not top or self._roll is top:
            return 0.0
        origin = QPoint(0, 0)
        return float(self._roll.mapTo(top, origin).x() - self.mapTo(top, origin).x())

    def lane_rect(self) -> QRectF:
        """Where stems are drawn, in widget pixels: under the roll's note area in x; velocity
        127 at the top, 0 at the bottom."""
        roll = self._roll.roll_rect()
        height = max(self.height() - TOP_PX - BOTTOM_PX, 1.0)
        return QRectF(self._offset() + roll.left(), TOP_PX, roll.width(), height)

    def x_of(self, tick: float) -> float:
        """Widget x of ``tick``: the x the roll shows it at, in this widget's coordinates."""
        return self._offset() + self._roll.x_of(tick)

    def tick_at(self, x: float) -> float:
        """The tick under widget x coordinate ``x`` (as in the roll above it)."""
        return self._roll.tick_at(x - self._offset())

    def velocity_at(self, y: float) -> int:
        """The velocity (1..127) a pointer at widget y means: 127 at the lane's top, 0 (so 1)
        at its bottom, linear in between, rounded."""
        lane = self.lane_rect()
        fraction = (lane.bottom() - y) / lane.height()
        return int(min(127, max(1, round(fraction * 127))))

    def y_of(self, velocity: float) -> float:
        """Widget y of the top of a stem of ``velocity``."""
        lane = self.lane_rect()
        return lane.bottom() - velocity / 127 * lane.height()

    def _in_view(self, view: Viewport) -> tuple[int, int]:
        """Index range ``[first, last)`` of the notes whose onset shows in ``view``."""
        starts = self._table.starts
        first = int(np.searchsorted(starts, view.start_tick, side="left"))
        last = int(np.searchsorted(starts, view.end_tick, side="left"))
        return first, max(first, last)

    def stem_at(self, x: float, y: float) -> NoteRef | None:
        """The note whose stem is nearest to ``(x, y)``: nearest in x (within :data:`HIT_PX`);
        among stems at the same x (a chord), the one whose top is nearest to ``y``."""
        view = self._roll.viewport
        track = self._current_track()
        if view is None or track is None or not track.notes:
            return None
        first, last = self._in_view(view)
        starts = self._table.starts
        low = int(np.searchsorted(starts, self.tick_at(x - HIT_PX), side="left"))
        high = int(np.searchsorted(starts, self.tick_at(x + HIT_PX), side="right"))
        low, high = max(low, first), min(high, last)
        if high <= low:
            return None
        xs = self._xs(starts[low:high])
        dx = np.abs(xs - x)
        near = dx <= min(float(dx.min()) + 1.0, HIT_PX)
        if not near.any():
            return None
        dy = np.abs(self._tops(self._velocities[low:high]) - y)
        dy[~near] = np.inf
        return (self._track_index, track.notes[low + int(np.argmin(dy))])

    def _xs(self, ticks: IntArray) -> FloatArray:
        view = self._roll.viewport
        assert view is not None
        lane = self.lane_rect()
        px_per_tick = lane.width() / view.n_ticks
        return np.asarray(lane.left() + (ticks - view.start_tick) * px_per_tick, np.float64)

    def _tops(self, velocities: IntArray) -> FloatArray:
        lane = self.lane_rect()
        return np.asarray(lane.bottom() - velocities * (lane.height() / 127), np.float64)

    # --- following the roll ------------------------------------------------------------------
    def _alignment(self) -> tuple[object, ...]:
        return (self._roll.viewport, self.lane_rect().getRect())

    def sync(self) -> None:
        """Repaint if the roll's viewport or geometry changed since the last paint."""
        if self._alignment() != self._painted_key:
            self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._roll and event.type() in (QEvent.Type.Paint, QEvent.Type.Resize):
            self.sync()
        return False

    # --- mouse -------------------------------------------------------------------------------
    def _selection_span(self) -> tuple[float, float] | None:
        """Widget x range of the selected stems in view (None: none is in view)."""
        view = self._roll.viewport
        starts = self._selected_starts
        if view is None or len(starts) == 0:
            return None
        first = int(np.searchsorted(starts, view.start_tick, side="left"))
        last = int(np.searchsorted(starts, view.end_tick, side="left"))
        if last <= first:
            return None
        xs = self._xs(starts[[first, last - 1]])
        return float(xs[0]) - HIT_PX, float(xs[1]) + HIT_PX

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._drag_refs is not None:
            return
        position = event.position()
        hit = self.stem_at(position.x(), position.y())
        span = self._selection_span()
        if hit is not None and hit not in self._selection:
            refs: Selection = frozenset({hit})
        elif hit is not None or (span is not None and span[0] <= position.x() <= span[1]):
            refs = self._selection  # a selected stem, or between the selected stems
        else:
            return
        self._drag_refs = refs
        self._drag_velocity = self.velocity_at(position.y())
        self.velocity_drag_started.emit()
        self.velocity_changed.emit(refs, self._drag_velocity)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        if self._drag_refs is None:
            hit = self.stem_at(position.x(), position.y())
            shape = Qt.CursorShape.ArrowCursor if hit is None else Qt.CursorShape.SizeVerCursor
            if self.cursor().shape() != shape:
                self.setCursor(shape)
            return
        velocity = self.velocity_at(position.y())
        if velocity != self._drag_velocity:
            self._drag_velocity = velocity
            self.velocity_changed.emit(self._drag_refs, velocity)
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._drag_refs is not None:
            self._drag_refs = None
            self.velocity_drag_finished.emit()
            self.update()

    # --- painting ----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self._painted_key = self._alignment()
            painter.fillRect(self.rect(), colors.ROLL_BACKGROUND)
            lane = self.lane_rect()
            self._paint_scale(painter, lane)
            view = self._roll.viewport
            if view is None:
                return
            painter.save()
            painter.setClipRect(QRectF(lane.left(), 0, lane.width(), self.height()))
            if self._pattern is not None:
                self._paint_bars(painter, lane, self._pattern, view)
            first, last = self._in_view(view)
            color = colors.track_color(self._track_index)
            painter.setPen(Qt.PenStyle.NoPen)
            self._paint_stems(
                painter, lane, self._table.starts[first:last], self._velocities[first:last], color
            )
            starts = self._selected_starts
            first = int(np.searchsorted(starts, view.start_tick, side="left"))
            last = int(np.searchsorted(starts, view.end_tick, side="left"))
            self._paint_stems(
                painter,
                lane,
                starts[first:last],
                self._selected_velocities[first:last],
                colors.SELECTED_EDGE,
            )
            painter.restore()
            if self._drag_refs is not None:
                painter.setFont(self._label_font)
                painter.setPen(colors.RULER_TEXT)
                text_rect = QRectF(lane.left() + 4, 0, 120, TOP_PX + 14)
                align = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                painter.drawText(text_rect, align, f"Velocity {self._drag_velocity}")
        finally:
            painter.end()

    def _paint_scale(self, painter: QPainter, lane: QRectF) -> None:
        """The strip under the keyboard, with 127 / 64 / 1 marks, and quarter lines."""
        strip = QRectF(0, 0, max(lane.left(), 0.0), self.height())
        painter.fillRect(strip, colors.RULER_BACKGROUND)
        painter.setPen(QPen(colors.ROLL_BEAT_LINE, 1))
        lines = [
            QLineF(lane.left(), y, lane.right(), y)
            for v in (32, 64, 96, 127)
            for y in [round(self.y_of(v)) + 0.5]
        ]
        painter.drawLines(lines)
        painter.setPen(QPen(colors.ROLL_BAR_LINE, 1))
        bottom = math.floor(lane.bottom()) + 0.5
        painter.drawLine(QLineF(lane.left(), bottom, lane.right(), bottom))
        if strip.width() < 20:
            return
        painter.setFont(self._label_font)
        painter.setPen(colors.RULER_TEXT)
        align = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for value in (127, 64, 1):
            rect = QRectF(0, self.y_of(value) - 7, strip.width() - 4, 14)
            painter.drawText(rect, align, str(value))

    def _paint_bars(
        self, painter: QPainter, lane: QRectF, pattern: Pattern, view: Viewport
    ) -> None:
        """Bar lines where the roll draws them (every bar, or every 2nd, 4th... when dense)."""
        bar = pattern.bar_ticks
        step = label_step(bar * lane.width() / view.n_ticks, 4) * bar
        ticks = np.arange(math.ceil(view.start_tick / step) * step, view.end_tick, step)
        xs = np.floor(self._xs(ticks.astype(np.int64))) + 0.5
        painter.setPen(QPen(colors.ROLL_BEAT_LINE, 1))
        painter.drawLines([QLineF(x, 0, x, self.height()) for x in xs.tolist()])
        painter.setPen(Qt.PenStyle.NoPen)

    def _paint_stems(
        self,
        painter: QPainter,
        lane: QRectF,
        starts: IntArray,
        velocities: IntArray,
        color: QColor,
    ) -> None:
        """One stem per note; where there are more notes than pixel columns, one stem per
        column as tall as its loudest note (``starts`` is sorted, so columns are too)."""
        if len(starts) == 0:
            return
        xs = self._xs(starts)
        bottom = lane.bottom()
        if len(starts) > lane.width() / 2:
            columns = np.floor(xs - lane.left()).astype(np.int64)
            unique, heads = np.unique(columns, return_index=True)
            peaks = np.maximum.reduceat(velocities, heads)
            lefts = lane.left() + unique.astype(np.float64)
            widths = np.ones(len(unique))
        else:
            peaks = velocities
            lefts = xs - (STEM_PX - 1) / 2
            widths = np.full(len(xs), STEM_PX)
        tops = self._tops(peaks)
        rects = [
            QRectF(x, y, w, bottom - y)
            for x, y, w in zip(lefts.tolist(), tops.tolist(), widths.tolist(), strict=True)
        ]
        painter.setBrush(color)
        painter.drawRects(rects)
