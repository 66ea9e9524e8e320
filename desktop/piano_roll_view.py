# SPDX-License-Identifier: MIT
"""A read-only piano roll: a custom painter over each track's sorted numpy note table.

Every paint looks up the visible notes with two binary searches per track and draws them with
one ``drawRects`` call per track; nothing is built per note ahead of time but the arrays, so a
pattern of a million notes paints as fast as one of a thousand (see the platform notes).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from desktop import colors
from desktop.note_table import TrackNotes, merge_spans, note_tables, visible_notes
from desktop.viewport import (
    Viewport,
    fit_viewport,
    is_black_key,
    label_step,
    scroll_pitch,
    scroll_time,
    zoom_time,
)
from engine.music import Pattern, pitch_name

EMPTY_HINT = (
    "Open a MIDI file (Ctrl+O) to see it here.\n\n"
    "This first version of Barforge shows MIDI files; it does not edit or play them yet.\n"
    "Generation arrives with the model."
)
NO_NOTES_HINT = "This file holds no notes."
NAVIGATION_HELP = (
    "Wheel: scroll pitch · Shift+wheel: scroll time · Ctrl+wheel: zoom time · "
    "Ctrl+0: fit the whole pattern"
)


class PianoRollView(QWidget):
    """Paints a pattern: notes coloured per track, bar and beat lines, a bar-number ruler on
    top and a keyboard with C labels (C4 = MIDI 60) on the left. Fits the pattern when set."""

    KEYBOARD_WIDTH = 56
    RULER_HEIGHT = 24
    #: Black keys cover this part of the keyboard strip's width.
    BLACK_KEY_FRACTION = 0.56

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pattern: Pattern | None = None
        self._tables: tuple[TrackNotes, ...] = ()
        self._viewport: Viewport | None = None
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(8.0)
        self._hint_font = QFont(self.font())
        self._hint_font.setPointSizeF(11.0)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(240, 160)

    # --- state ----------------------------------------------------------------------------
    @property
    def pattern(self) -> Pattern | None:
        return self._pattern

    def set_pattern(self, pattern: Pattern | None) -> None:
        """Show ``pattern`` (None: the empty state), fitted to the widget."""
        self._pattern = pattern
        self._tables = () if pattern is None else note_tables(pattern)
        self._viewport = None if pattern is None else fit_viewport(pattern)
        self.setToolTip("" if pattern is None else NAVIGATION_HELP)
        self.update()

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

    def sizeHint(self) -> QSize:
        return QSize(900, 600)

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
            self._paint_rows(painter, roll, self._viewport)
            self._paint_grid(painter, roll, self._pattern, self._viewport)
            self._paint_notes(painter, roll, self._viewport)
            painter.restore()
            self._paint_ruler(painter, roll, self._pattern, self._viewport)
            self._paint_keyboard(painter, roll, self._viewport)
            if self._pattern.n_notes == 0:
                self._paint_hint(painter, NO_NOTES_HINT)
        finally:
            painter.end()

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

    def _paint_notes(self, painter: QPainter, roll: QRectF, view: Viewport) -> None:
        px_per_tick = roll.width() / view.n_ticks
        row_px = roll.height() / view.n_pitches
        height = row_px - 1 if row_px >= 4 else row_px

        def to_x(ticks: np.ndarray) -> np.ndarray:
            # Clipped to just outside the roll, so deep zooms never make huge coordinates.
            xs = roll.left() + (ticks - view.start_tick) * px_per_tick
            return np.clip(xs, roll.left() - 2, roll.right() + 2)

        for index, notes in enumerate(self._tables):
            visible = visible_notes(
                notes, view.start_tick, view.end_tick, view.low_pitch, view.high_pitch
            )
            if len(visible) == 0:
                continue
            x0 = to_x(notes.starts[visible])
            x1 = to_x(notes.ends[visible])
            pitches = notes.pitches[visible]
            color = colors.track_color(index)
            if len(visible) > roll.width():
                # Denser than the pixels: merge notes touching on a row into one rectangle.
                left = np.floor(x0).astype(np.int64)
                right = np.maximum(np.ceil(x1).astype(np.int64), left + 1)
                left, right, pitches = merge_spans(left, right, pitches)
                x0, x1 = left.astype(np.float64), right.astype(np.float64)
                painter.setPen(Qt.PenStyle.NoPen)
            elif row_px >= 5:
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
        painter.setPen(QPen(colors.RULER_TEXT, 1))
        lines = self._vertical_lines(roll, view, ticks, self.RULER_HEIGHT - 7, self.RULER_HEIGHT)
        painter.drawLines(lines)
        align = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        for number, line in zip((bars + 1).tolist(), lines, strict=True):
            text_rect = QRectF(line.x1() + 3, 0, bar_px * step, self.RULER_HEIGHT - 3)
            painter.drawText(text_rect, align, str(number))
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
