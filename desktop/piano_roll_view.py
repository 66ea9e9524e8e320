# SPDX-License-Identifier: MIT
"""The piano roll: a custom painter over each track's sorted numpy note table, and the mouse
and keys of editing (handed to a :class:`~desktop.roll_tools.RollEditor`, which knows no Qt).

Every paint looks up the visible notes with two binary searches per track and draws them with
one ``drawRects`` call per track; nothing is built per note ahead of time but the arrays, so a
pattern of a million notes paints as fast as one of a thousand (see the platform notes). The
selection, locked bars and notes and the rubber band are painted over that; locked notes in a
small pass of their own over only the visible ones. Silent tracks (muted, or not soloed while
another track is) are drawn dimmed.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from desktop import colors
from desktop.note_table import TrackNotes, note_tables, visible_notes
from desktop.roll_tools import Pointer, RollEditor
from desktop.viewport import (
    Viewport,
    fit_pitches,
    fit_viewport,
    is_black_key,
    label_step,
    scroll_pitch,
    scroll_time,
    zoom_time,
)
from engine.music import Note, Pattern, pitch_name

IntArray = NDArray[np.int64]

EMPTY_HINT = (
    "Generate a new pattern from a seed (Ctrl+N), open a project (Ctrl+O) "
    "or import a MIDI file (Ctrl+I)."
)
NO_NOTES_HINT = "This file holds no notes."
NAVIGATION_HELP = (
    "Wheel: scroll pitch · Shift+wheel: scroll time · Ctrl+wheel: zoom time · "
    "Ctrl+0: fit the whole pattern\nDraw (D), Select (S), Erase (E); Ctrl: select while held; "
    "Alt: no snapping; right-click the ruler to lock or regenerate a bar"
)
#: A note's last few pixels (at most a third of it, see roll_tools.on_edge) are its edge:
#: dragging there resizes it.
EDGE_PX = 6
#: Locked notes: an outline in the locked bars' amber, a dark hatch over the fill and a small
#: padlock where the note is big enough to hold one.
LOCKED_NOTE_EDGE = QColor("#ffd24d")
LOCKED_NOTE_HATCH = QColor(0, 0, 0, 120)
#: Padlocks drawn at most per paint (more locked notes than that in view are only outlined).
MAX_LOCK_MARKS = 2000
#: How much of its own colour a silent track's note keeps (the rest is the roll background).
SILENT_NOTE_MIX = 0.3
#: With ``keep_view``, a view that showed at least this part of the notes (in height) follows
#: them when that part halves.
KEEP_VIEW_FRACTION = 0.5


def dimmed(color: QColor, mix: float = SILENT_NOTE_MIX) -> QColor:
    """``color`` mixed into the roll background, keeping ``mix`` of it (opaque)."""
    back = colors.ROLL_BACKGROUND
    return QColor(
        round(back.red() + (color.red() - back.red()) * mix),
        round(back.green() + (color.green() - back.green()) * mix),
        round(back.blue() + (color.blue() - back.blue()) * mix),
    )


class PianoRollView(QWidget):
    """Paints a pattern: notes coloured per track, bar and beat lines, a bar-number ruler on
    top and a keyboard with C labels (C4 = MIDI 60) on the left. Fits the pattern when set."""

    KEYBOARD_WIDTH = 56
    RULER_HEIGHT = 24
    #: Black keys cover this part of the keyboard strip's width.
    BLACK_KEY_FRACTION = 0.56

    #: A bar was right-clicked in the ruler: (bar index, global x, global y) for a menu.
    bar_menu_requested = Signal(int, int, int)
    #: Clicked in the ruler: (bar index, extend) — select that bar (shift extends).
    bar_clicked = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pattern: Pattern | None = None
        #: The editing controller (None: read-only).
        self.editor: RollEditor | None = None
        #: Bars locked against regeneration (shaded), and bars selected in the ruler.
        self.locked_bars: frozenset[int] = frozenset()
        self.selected_bars: frozenset[int] = frozenset()
        #: Notes locked against regeneration, as ``(track index, note)`` (the form of
        #: ``Locks.notes``): outlined, hatched and marked with a padlock. Pairs that name no
        #: note of the pattern are not drawn.
        self.locked_notes: frozenset[tuple[int, Note]] = frozenset()
        #: Muted tracks, and soloed tracks (while any is soloed, the others are silent too):
        #: the notes of every silent track (see :attr:`silent_tracks`) are drawn dimmed.
        self.muted_tracks: frozenset[int] = frozenset()
        self.soloed_tracks: frozenset[int] = frozenset()
        #: Song tick of the playhead (None: hidden).
        self.playhead_tick: float | None = None
        #: The pattern the last paint showed and when it ended (perf_counter), for benches.
        self.painted_pattern: Pattern | None = None
        self.painted_at = 0.0
        self._tables: tuple[TrackNotes, ...] = ()
        #: The visible-lock arrays and what they were built from (locked_notes, tables).
        self._locked_key: tuple[frozenset[tuple[int, Note]], tuple[TrackNotes, ...]] | None = None
        self._locked: tuple[IntArray, IntArray, IntArray, IntArray] | None = None
        self._viewport: Viewport | None = None
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(8.0)
        self._hint_font = QFont(self.font())
        self._hint_font.setPointSizeF(11.0)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(240, 160)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)

    # --- state ----------------------------------------------------------------------------
    @property
    def pattern(self) -> Pattern | None:
        return self._pattern

    @property
    def silent_tracks(self) -> frozenset[int]:
        """Tracks that do not sound: the muted ones and, while any track is soloed, every
        track not soloed (indices of the pattern's tracks)."""
        n_tracks = len(self._tables)
        silent = set(self.muted_tracks)
        if self.soloed_tracks:
            silent |= set(range(n_tracks)) - self.soloed_tracks
        return frozenset(i for i in silent if 0 <= i < n_tracks)

    def set_pattern(self, pattern: Pattern | None, keep_view: bool = False) -> None:
        """Show ``pattern`` (None: the empty state), fitted to the widget.

        With ``keep_view`` (an edit of the same pattern, or a new take of the same length) the
        view stays where it is while it still shows the notes: the pitch range is fitted to
        the new notes, and the time range kept, when the view would show none of them in
        height, or when it showed at least :data:`KEEP_VIEW_FRACTION` of the previous notes
        and that share at least halves (a new take in another range, everything transposed
        out of view). Small edits never cross that, and nothing moves during a drag (the
        pointer's mapping must hold).
        """
        previous = self._pattern
        old_tables = self._tables
        self._pattern = pattern
        self._tables = () if pattern is None else note_tables(pattern)
        same_length = (
            previous is not None
            and pattern is not None
            and previous.length_ticks == pattern.length_ticks
        )
        view = self._viewport
        if pattern is None:
            self._viewport = None
        elif not (keep_view and same_length and view is not None):
            self._viewport = fit_viewport(pattern)
        elif not (self.editor is not None and self.editor.dragging):
            shown = self._shown_fraction(self._tables, view)
            before = self._shown_fraction(old_tables, view)
            if shown == 0.0 or (before >= KEEP_VIEW_FRACTION and shown < before / 2):
                self._viewport = fit_pitches(view, pattern)
        self.setToolTip("" if pattern is None else NAVIGATION_HELP)
        self.update()

    @staticmethod
    def _shown_fraction(tables: tuple[TrackNotes, ...], view: Viewport) -> float:
        """The part of the notes in ``tables`` whose rows ``view`` shows (1.0: no notes)."""
        n_notes = sum(len(t) for t in tables)
        if n_notes == 0:
            return 1.0
        shown = sum(
            int(np.count_nonzero((t.pitches + 1 > view.low_pitch) & (t.pitches < view.high_pitch)))
            for t in tables
        )
        return shown / n_notes

    @property
    def viewport(self) -> Viewport | None:
        """The part of the pattern shown (None while no pattern is set)."""
        return self._viewport

    @viewport.setter
    def viewport(self, view: Viewport) -> None:
        if self._pattern is None:
            raise ValueError("PianoRollView.viewport: no pattern is shown")
        self._viewport = view
        self.update()

    def fit_to_pattern(self) -> None:
        """Show the whole pattern again, as when it was opened."""
        if self._pattern is not None:
            self.viewport = fit_viewport(self._pattern)

    def roll_rect(self) -> QRectF:
        """Where the notes are drawn, in widget pixels (right of the keyboard, under the ruler)."""
        return QRectF(
            self.KEYBOARD_WIDTH,
            self.RULER_HEIGHT,
            max(self.width() - self.KEYBOARD_WIDTH, 1),
            max(self.height() - self.RULER_HEIGHT, 1),
        )

    def tick_at(self, x: float) -> float:
        """The tick under widget x coordinate ``x`` (0.0 while no pattern is set)."""
        if self._viewport is None:
            return 0.0
        roll = self.roll_rect()
        view = self._viewport
        return view.start_tick + (x - roll.left()) / roll.width() * view.n_ticks

    def pitch_at(self, y: float) -> float:
        """The pitch row (fractional) under widget y coordinate ``y``."""
        if self._viewport is None:
            return 0.0
        roll = self.roll_rect()
        view = self._viewport
        return view.high_pitch - (y - roll.top()) / roll.height() * view.n_pitches

    def x_of(self, tick: float) -> float:
        """Widget x of ``tick``."""
        if self._viewport is None:
            return 0.0
        roll = self.roll_rect()
        view = self._viewport
        return roll.left() + (tick - view.start_tick) * roll.width() / view.n_ticks

    def y_of(self, pitch: float) -> float:
        """Widget y of the top of pitch row ``pitch``."""
        if self._viewport is None:
            return 0.0
        return self._row_top(self.roll_rect(), self._viewport, pitch)

    def sizeHint(self) -> QSize:
        return QSize(900, 600)

    # --- editing --------------------------------------------------------------------------
    def _pointer(self, event: QMouseEvent) -> Pointer:
        position = event.position()
        modifiers = event.modifiers()
        roll = self.roll_rect()
        edge = 0.0
        if self._viewport is not None:
            edge = EDGE_PX * self._viewport.n_ticks / roll.width()
        return Pointer(
            tick=self.tick_at(position.x()),
            pitch=self.pitch_at(position.y()),
            alt=bool(modifiers & Qt.KeyboardModifier.AltModifier),
            ctrl=bool(modifiers & Qt.KeyboardModifier.ControlModifier),
            shift=bool(modifiers & Qt.KeyboardModifier.ShiftModifier),
            edge_ticks=edge,
        )

    def _bar_at(self, x: float) -> int | None:
        if self._pattern is None:
            return None
        bar = math.floor(self.tick_at(x) / self._pattern.bar_ticks)
        return bar if 0 <= bar < self._pattern.n_bars else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        if self._pattern is None:
            return
        if position.y() < self.RULER_HEIGHT and position.x() >= self.KEYBOARD_WIDTH:
            bar = self._bar_at(position.x())
            if bar is not None:
                if event.button() == Qt.MouseButton.RightButton:
                    point = event.globalPosition().toPoint()
                    self.bar_menu_requested.emit(bar, point.x(), point.y())
                else:
                    shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                    self.bar_clicked.emit(bar, shift)
            return
        if self.editor is None or position.x() < self.KEYBOARD_WIDTH:
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self.editor.press(self._pointer(event))
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.editor is not None and self.editor.dragging:
            self.editor.move(self._pointer(event))
            self.update()
        elif self.editor is not None and self._pattern is not None:
            self._update_cursor(self._pointer(event))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.editor is not None and event.button() == Qt.MouseButton.LeftButton:
            self.editor.release(self._pointer(event))
            self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        inside = position.y() >= self.RULER_HEIGHT and position.x() >= self.KEYBOARD_WIDTH
        if self.editor is not None and inside:
            self.editor.double_click(self._pointer(event))
            self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.editor is not None:
            self.editor.cancel()
            self.update()
            return
        super().keyPressEvent(event)

    def _update_cursor(self, pointer: Pointer) -> None:
        from desktop.roll_tools import on_edge
        from engine.editing import note_at

        assert self.editor is not None
        assert self._pattern is not None
        hit = note_at(self._pattern, pointer.tick, pointer.pitch, [self.editor.track])
        shape = Qt.CursorShape.ArrowCursor
        if hit is not None:
            near_end = on_edge(hit[1], pointer)
            tool = "select" if pointer.ctrl else self.editor.tool
            if near_end and tool == "draw":
                shape = Qt.CursorShape.SizeHorCursor
            elif tool != "erase":
                shape = Qt.CursorShape.SizeAllCursor
        elif self.editor.tool == "draw" and not pointer.ctrl:
            shape = Qt.CursorShape.CrossCursor
        self.setCursor(shape)

    # --- Qt events ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), colors.ROLL_BACKGROUND)
            if self._pattern is None or self._viewport is None:
                self._paint_hint(painter, EMPTY_HINT)
                return
            roll = self.roll_rect()
            painter.save()
            painter.setClipRect(roll)
            view = self._viewport
            found = [
                visible_notes(n, view.start_tick, view.end_tick, view.low_pitch, view.high_pitch)
                for n in self._tables
            ]
            if sum(len(v) for v in found) > roll.width():
                # Denser than the pixels: rows and notes as one opaque numpy raster, then the
                # tints and lines over it.
                self._paint_raster(painter, roll, self._pattern, view, found)
                self._paint_bars(painter, roll, self._pattern, view)
            else:
                self._paint_rows(painter, roll, view)
                self._paint_bars(painter, roll, self._pattern, view)
                self._paint_grid(painter, roll, self._pattern, view)
                self._paint_notes(painter, roll, view, found)
            self._paint_locked_notes(painter, roll, view)
            self._paint_selection(painter, roll, self._viewport)
            self._paint_playhead(painter, roll)
            painter.restore()
            self._paint_ruler(painter, roll, self._pattern, self._viewport)
            self._paint_keyboard(painter, roll, self._viewport)
            if self._pattern.n_notes == 0:
                self._paint_hint(painter, NO_NOTES_HINT)
        finally:
            painter.end()
            self.painted_pattern = self._pattern
            self.painted_at = time.perf_counter()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self._pattern is None or self._viewport is None:
            event.ignore()
            return
        delta = event.angleDelta()
        steps = (delta.y() or delta.x()) / 120
        modifiers = event.modifiers()
        length = self._pattern.length_ticks
        view = self._viewport
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            anchor = self.tick_at(event.position().x())
            view = zoom_time(view, 0.8**steps, anchor, length)
        elif modifiers & Qt.KeyboardModifier.ShiftModifier or (delta.x() and not delta.y()):
            view = scroll_time(view, -steps * view.n_ticks / 8, length)
        else:
            view = scroll_pitch(view, 3 * steps)
        self.viewport = view
        event.accept()

    # --- painting -------------------------------------------------------------------------
    def _paint_hint(self, painter: QPainter, text: str) -> None:
        painter.setFont(self._hint_font)
        painter.setPen(colors.HINT_TEXT)
        area = QRectF(self.rect()).adjusted(24, 24, -24, -24)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        painter.drawText(area, int(flags), text)

    @staticmethod
    def _rows(view: Viewport) -> range:
        """Pitch rows that show at least partly."""
        return range(max(math.floor(view.low_pitch), 0), min(math.ceil(view.high_pitch), 128))

    @staticmethod
    def _row_top(roll: QRectF, view: Viewport, pitch: float) -> float:
        return roll.top() + (view.high_pitch - (pitch + 1)) * roll.height() / view.n_pitches

    def _paint_rows(self, painter: QPainter, roll: QRectF, view: Viewport) -> None:
        row_px = roll.height() / view.n_pitches
        black = [
            QRectF(roll.left(), self._row_top(roll, view, p), roll.width(), row_px)
            for p in self._rows(view)
            if is_black_key(p)
        ]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.ROLL_BLACK_ROW)
        painter.drawRects(black)
        self._paint_octave_lines(painter, roll, view)

    def _paint_octave_lines(self, painter: QPainter, roll: QRectF, view: Viewport) -> None:
        """A line under each C, where rows are tall enough to see it."""
        row_px = roll.height() / view.n_pitches
        if row_px >= 2:
            lines = [
                QLineF(roll.left(), y, roll.right(), y)
                for p in self._rows(view)
                if p % 12 == 0
                for y in [round(self._row_top(roll, view, p) + row_px) - 0.5]
            ]
            painter.setPen(QPen(colors.ROLL_OCTAVE_LINE, 1))
            painter.drawLines(lines)

    def _paint_grid(
        self, painter: QPainter, roll: QRectF, pattern: Pattern, view: Viewport
    ) -> None:
        px_per_tick = roll.width() / view.n_ticks
        bar = pattern.bar_ticks
        beat = pattern.ticks_per_quarter * 4 // pattern.time_signature.denominator
        if beat * px_per_tick >= 6:
            ticks = np.arange(math.ceil(view.start_tick / beat) * beat, view.end_tick, beat)
            ticks = ticks[ticks % bar != 0]
            painter.setPen(QPen(colors.ROLL_BEAT_LINE, 1))
            painter.drawLines(self._vertical_lines(roll, view, ticks, roll.top(), roll.bottom()))
        step = label_step(bar * px_per_tick, 4) * bar
        ticks = np.arange(math.ceil(view.start_tick / step) * step, view.end_tick + 1, step)
        painter.setPen(QPen(colors.ROLL_BAR_LINE, 1))
        painter.drawLines(self._vertical_lines(roll, view, ticks, roll.top(), roll.bottom()))

    @staticmethod
    def _vertical_lines(
        roll: QRectF, view: Viewport, ticks: np.ndarray, top: float, bottom: float
    ) -> list[QLineF]:
        xs = np.round(roll.left() + (ticks - view.start_tick) * roll.width() / view.n_ticks)
        return [QLineF(x, top, x, bottom) for x in (xs + 0.5).tolist()]

    def _paint_notes(
        self, painter: QPainter, roll: QRectF, view: Viewport, found: list[np.ndarray]
    ) -> None:
        px_per_tick = roll.width() / view.n_ticks
        row_px = roll.height() / view.n_pitches
        height = row_px - 1 if row_px >= 4 else row_px

        def to_x(ticks: np.ndarray) -> np.ndarray:
            # Clipped to just outside the roll, so deep zooms never make huge coordinates.
            xs = roll.left() + (ticks - view.start_tick) * px_per_tick
            return np.clip(xs, roll.left() - 2, roll.right() + 2)

        silent = self.silent_tracks
        for index, (notes, visible) in enumerate(zip(self._tables, found, strict=True)):
            if len(visible) == 0:
                continue
            x0 = to_x(notes.starts[visible])
            x1 = to_x(notes.ends[visible])
            pitches = notes.pitches[visible]
            color = self._note_color(index, silent)
            if row_px >= 5:
                painter.setPen(QPen(color.darker(170), 1))
            else:
                painter.setPen(Qt.PenStyle.NoPen)
            tops = roll.top() + (view.high_pitch - (pitches + 1)) * row_px
            widths = np.maximum(x1 - x0, 1.0)
            rects = [
                QRectF(x, y, w, height)
                for x, y, w in zip(x0.tolist(), tops.tolist(), widths.tolist(), strict=True)
            ]
            painter.setBrush(color)
            painter.drawRects(rects)

    def _paint_raster(
        self,
        painter: QPainter,
        roll: QRectF,
        pattern: Pattern,
        view: Viewport,
        found: list[np.ndarray],
    ) -> None:
        """The rows and every visible note as pixels of a (pitch rows x roll pixels) image: a
        note covers the pixel columns its ticks touch (at least one) on its row; later tracks
        on top; octave lines drawn over it."""
        width = max(int(roll.width()), 1)
        low = max(math.floor(view.low_pitch), 0)
        high = min(math.ceil(view.high_pitch), 128)
        n_rows = max(high - low, 1)
        px_per_tick = width / view.n_ticks
        shades = np.array(
            [
                colors.ROLL_BLACK_ROW.rgba() if is_black_key(p) else colors.ROLL_BACKGROUND.rgba()
                for p in range(high - 1, high - 1 - n_rows, -1)
            ],
            dtype=np.uint32,
        )
        canvas = np.repeat(shades[:, None], width, axis=1)
        # Beat and bar lines as pixel columns, under the notes (as in the vector path).
        bar = pattern.bar_ticks
        beat = pattern.ticks_per_quarter * 4 // pattern.time_signature.denominator
        step = label_step(bar * px_per_tick, 4) * bar
        for every, color in ((beat, colors.ROLL_BEAT_LINE), (step, colors.ROLL_BAR_LINE)):
            if every * px_per_tick < 6 and every != step:
                continue
            ticks = np.arange(math.ceil(view.start_tick / every) * every, view.end_tick, every)
            xs = np.floor((ticks - view.start_tick) * px_per_tick).astype(np.int64)
            canvas[:, xs[(xs >= 0) & (xs < width)]] = color.rgba()
        stride = width + 1
        silent = self.silent_tracks
        for index, (notes, visible) in enumerate(zip(self._tables, found, strict=True)):
            if len(visible) == 0:
                continue
            x0 = np.floor((notes.starts[visible] - view.start_tick) * px_per_tick)
            x1 = np.ceil((notes.ends[visible] - view.start_tick) * px_per_tick)
            x0 = np.clip(x0, 0, width - 1).astype(np.int64)
            x1 = np.clip(np.maximum(x1, x0 + 1), 0, width).astype(np.int64)
            rows = (high - 1 - notes.pitches[visible]).astype(np.int64)
            keep = (rows >= 0) & (rows < n_rows)
            rows, x0, x1 = rows[keep], x0[keep], x1[keep]
            # +1 where a span starts, -1 where it ends, per row; a running sum marks coverage.
            size = n_rows * stride
            diff = np.bincount(rows * stride + x0, minlength=size) - np.bincount(
                rows * stride + x1, minlength=size
            )
            runs = np.cumsum(diff.reshape(n_rows, stride)[:, :width], axis=1, dtype=np.int32)
            color = self._note_color(index, silent)
            np.copyto(canvas, np.uint32(color.rgba()), where=runs > 0)
        # All opaque: drawn as a plain copy, no blending.
        image = QImage(canvas.data, width, n_rows, width * 4, QImage.Format.Format_RGB32)
        row_px = roll.height() / view.n_pitches
        top = self._row_top(roll, view, high - 1)
        target = QRectF(roll.left(), top, width, n_rows * row_px)
        painter.drawImage(target, image)
        del canvas  # the image only borrowed it, until drawImage returned
        self._paint_octave_lines(painter, roll, view)

    @staticmethod
    def _note_color(index: int, silent: frozenset[int]) -> QColor:
        color = colors.track_color(index)
        return dimmed(color) if index in silent else color

    def _locked_arrays(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """Tracks, starts, ends and pitches of the locked notes that are in the pattern
        (matched by track, start, end and pitch), built again only when the locks or the
        pattern change."""
        key = (self.locked_notes, self._tables)
        old = self._locked_key
        if self._locked is not None and old is not None and old[0] is key[0] and old[1] is key[1]:
            return self._locked
        rows = [
            (track, note.start, note.end, note.pitch)
            for track, note in self.locked_notes
            if 0 <= track < len(self._tables)
        ]
        table = np.array(rows, dtype=np.int64).reshape(-1, 4)
        keep = np.zeros(len(table), dtype=bool)
        for track, notes in enumerate(self._tables):
            mine = np.flatnonzero(table[:, 0] == track)
            if len(mine) == 0 or len(notes) == 0:
                continue
            starts, ends, pitches = table[mine, 1], table[mine, 2], table[mine, 3]
            first = np.searchsorted(notes.starts, starts, side="left")
            last = np.searchsorted(notes.starts, starts, side="right")
            found = np.zeros(len(mine), dtype=bool)
            # Notes of one start tick are few (a chord): look at each candidate in turn.
            for offset in range(int((last - first).max(initial=0))):
                at = np.minimum(first + offset, len(notes) - 1)
                same = (notes.ends[at] == ends) & (notes.pitches[at] == pitches)
                found |= (first + offset < last) & same
            keep[mine] = found
        table = table[keep]
        self._locked_key = key
        self._locked = (table[:, 0], table[:, 1], table[:, 2], table[:, 3])
        return self._locked

    def _paint_locked_notes(self, painter: QPainter, roll: QRectF, view: Viewport) -> None:
        """Locked notes: outlined and hatched, with a padlock on those big enough."""
        if not self.locked_notes:
            return
        _, starts, ends, pitches = self._locked_arrays()
        shown = np.flatnonzero(
            (ends > view.start_tick)
            & (starts < view.end_tick)
            & (pitches + 1 > view.low_pitch)
            & (pitches < view.high_pitch)
        )
        if len(shown) == 0:
            return
        px_per_tick = roll.width() / view.n_ticks
        row_px = roll.height() / view.n_pitches
        height = max(row_px - 1 if row_px >= 4 else row_px, 1.0)
        x0 = roll.left() + (starts[shown] - view.start_tick) * px_per_tick
        x1 = roll.left() + (ends[shown] - view.start_tick) * px_per_tick
        x0 = np.clip(x0, roll.left() - 2, roll.right() + 2)
        x1 = np.clip(x1, roll.left() - 2, roll.right() + 2)
        widths = np.maximum(x1 - x0, 2.0)
        tops = roll.top() + (view.high_pitch - (pitches[shown] + 1)) * row_px
        boxes = [
            QRectF(x, y, w, height)
            for x, y, w in zip(x0.tolist(), tops.tolist(), widths.tolist(), strict=True)
        ]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(LOCKED_NOTE_HATCH, Qt.BrushStyle.BDiagPattern))
        painter.drawRects(boxes)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(LOCKED_NOTE_EDGE, 2))
        painter.drawRects([box.adjusted(1, 1, -1, -1) for box in boxes])
        if height < 9:
            return
        # A padlock (shackle over a body) at the top left of each note wide enough for one.
        marks = [box for box in boxes if box.width() >= 12][:MAX_LOCK_MARKS]
        bodies = [QRectF(b.left() + 3, b.top() + 5, 6, 4) for b in marks]
        shackles = [QRectF(b.left() + 4.5, b.top() + 2.5, 3, 3) for b in marks]
        painter.setPen(QPen(LOCKED_NOTE_EDGE, 1))
        painter.drawRects(shackles)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(LOCKED_NOTE_EDGE)
        painter.drawRects(bodies)

    def _bar_rects(
        self, roll: QRectF, pattern: Pattern, view: Viewport, bars: frozenset[int], top: float
    ) -> list[QRectF]:
        px = roll.width() / view.n_ticks
        out = []
        for bar in sorted(bars):
            x0 = roll.left() + (bar * pattern.bar_ticks - view.start_tick) * px
            x1 = x0 + pattern.bar_ticks * px
            if x1 >= roll.left() and x0 <= roll.right():
                out.append(QRectF(x0, top, x1 - x0, roll.bottom() - top))
        return out

    def _paint_bars(
        self, painter: QPainter, roll: QRectF, pattern: Pattern, view: Viewport
    ) -> None:
        """Selected bars tinted, locked bars hatched."""
        painter.setPen(Qt.PenStyle.NoPen)
        if self.selected_bars:
            painter.setBrush(colors.SELECTED_BAR)
            painter.drawRects(self._bar_rects(roll, pattern, view, self.selected_bars, roll.top()))
        if self.locked_bars:
            painter.setBrush(colors.LOCKED_BAR)
            painter.drawRects(self._bar_rects(roll, pattern, view, self.locked_bars, roll.top()))

    def _paint_selection(self, painter: QPainter, roll: QRectF, view: Viewport) -> None:
        editor = self.editor
        if editor is None:
            return
        px = roll.width() / view.n_ticks
        row_px = roll.height() / view.n_pitches
        if editor.selection:
            rects = []
            for _, note in editor.selection:
                if note.end < view.start_tick or note.start > view.end_tick:
                    continue
                x = roll.left() + (note.start - view.start_tick) * px
                y = self._row_top(roll, view, note.pitch)
                rects.append(QRectF(x, y, max(note.duration * px, 2.0), max(row_px - 1, 1.0)))
            painter.setBrush(colors.SELECTED_NOTE)
            painter.setPen(QPen(colors.SELECTED_EDGE, 1.5))
            painter.drawRects(rects)
        if editor.rubber is not None:
            t0, p0, t1, p1 = editor.rubber
            a = QPointF(
                roll.left() + (t0 - view.start_tick) * px, self._row_top(roll, view, p0 - 1)
            )
            b = QPointF(
                roll.left() + (t1 - view.start_tick) * px, self._row_top(roll, view, p1 - 1)
            )
            painter.setBrush(colors.RUBBER_FILL)
            painter.setPen(QPen(colors.RUBBER_EDGE, 1))
            painter.drawRect(QRectF(a, b).normalized())

    def _paint_playhead(self, painter: QPainter, roll: QRectF) -> None:
        if self.playhead_tick is None:
            return
        x = round(self.x_of(self.playhead_tick)) + 0.5
        painter.setPen(QPen(colors.PLAYHEAD, 1.5))
        painter.drawLine(QLineF(x, roll.top(), x, roll.bottom()))

    def _paint_ruler(
        self, painter: QPainter, roll: QRectF, pattern: Pattern, view: Viewport
    ) -> None:
        ruler = QRectF(roll.left(), 0, roll.width(), self.RULER_HEIGHT)
        painter.fillRect(QRectF(0, 0, self.width(), self.RULER_HEIGHT), colors.RULER_BACKGROUND)
        painter.save()
        painter.setClipRect(ruler)
        painter.setFont(self._label_font)
        metrics = QFontMetricsF(self._label_font)
        bar_px = pattern.bar_ticks * roll.width() / view.n_ticks
        step = label_step(bar_px, metrics.horizontalAdvance(str(pattern.n_bars)) + 10)
        first = math.ceil(view.start_tick / pattern.bar_ticks / step) * step
        last = min(pattern.n_bars, math.ceil(view.end_tick / pattern.bar_ticks))
        bars = np.arange(first, last, step)
        ticks = bars * pattern.bar_ticks
        marks = self._bar_rects(roll, pattern, view, self.locked_bars, 0)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.LOCKED_RULER)
        painter.drawRects([QRectF(r.left(), 0, r.width(), self.RULER_HEIGHT) for r in marks])
        picked = self._bar_rects(roll, pattern, view, self.selected_bars, 0)
        painter.setBrush(colors.SELECTED_RULER)
        painter.drawRects([QRectF(r.left(), 0, r.width(), 4) for r in picked])
        painter.setPen(QPen(colors.RULER_TEXT, 1))
        lines = self._vertical_lines(roll, view, ticks, self.RULER_HEIGHT - 7, self.RULER_HEIGHT)
        painter.drawLines(lines)
        align = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        for number, line in zip((bars + 1).tolist(), lines, strict=True):
            text_rect = QRectF(line.x1() + 3, 0, bar_px * step, self.RULER_HEIGHT - 3)
            label = f"{number} (locked)" if number - 1 in self.locked_bars else str(number)
            painter.drawText(text_rect, align, label)
        painter.restore()
        painter.setPen(QPen(colors.ROLL_BAR_LINE, 1))
        y = self.RULER_HEIGHT - 0.5
        painter.drawLine(QLineF(0, y, self.width(), y))

    def _paint_keyboard(self, painter: QPainter, roll: QRectF, view: Viewport) -> None:
        keys = QRectF(0, roll.top(), self.KEYBOARD_WIDTH, roll.height())
        painter.save()
        painter.setClipRect(keys)
        painter.fillRect(keys, colors.KEY_WHITE)
        row_px = roll.height() / view.n_pitches
        rows = self._rows(view)
        black_width = self.KEYBOARD_WIDTH * self.BLACK_KEY_FRACTION
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colors.KEY_BLACK)
        black = [
            QRectF(0, self._row_top(roll, view, p), black_width, row_px)
            for p in rows
            if is_black_key(p)
        ]
        painter.drawRects(black)
        if row_px >= 3:
            # Where two white keys meet (B|C and E|F) a line shows the gap between them.
            edges = [
                QLineF(0, y, self.KEYBOARD_WIDTH, y)
                for p in rows
                if p % 12 in (0, 5)
                for y in [round(self._row_top(roll, view, p) + row_px) - 0.5]
            ]
            painter.setPen(QPen(colors.KEY_EDGE, 1))
            painter.drawLines(edges)
        painter.setFont(self._label_font)
        metrics = QFontMetricsF(self._label_font)
        text_px = metrics.height()
        if 12 * row_px >= text_px:
            painter.setPen(colors.KEY_TEXT)
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            for pitch in (p for p in rows if p % 12 == 0):
                bottom = self._row_top(roll, view, pitch) + row_px
                top = bottom - row_px / 2 - text_px / 2 if row_px >= text_px else bottom - text_px
                label = QRectF(0, top, self.KEYBOARD_WIDTH - 4, text_px)
                painter.drawText(label, int(align), pitch_name(pitch))
        painter.restore()
        painter.setPen(QPen(colors.KEY_EDGE, 1))
        x = self.KEYBOARD_WIDTH - 0.5
        painter.drawLine(QLineF(x, roll.top(), x, roll.bottom()))
