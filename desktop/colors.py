# SPDX-License-Identifier: MIT
"""Colours of the piano roll and of the tracks (the track list's swatches use the same)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from engine.palette import TRACK_COLORS

ROLL_BACKGROUND = QColor("#262a31")
ROLL_BLACK_ROW = QColor("#1f2228")
ROLL_OCTAVE_LINE = QColor("#3a404a")
ROLL_BEAT_LINE = QColor("#323741")
ROLL_BAR_LINE = QColor("#5a6170")
RULER_BACKGROUND = QColor("#31353d")
RULER_TEXT = QColor("#d5d9e0")
KEY_WHITE = QColor("#eceef1")
KEY_BLACK = QColor("#2f3238")
KEY_EDGE = QColor("#a9adb5")
KEY_TEXT = QColor("#4a4f58")
HINT_TEXT = QColor("#aab0ba")
SELECTED_NOTE = QColor(255, 255, 255, 70)
SELECTED_EDGE = QColor("#ffffff")
RUBBER_FILL = QColor(120, 170, 255, 40)
RUBBER_EDGE = QColor("#8fb4ff")
SELECTED_BAR = QColor(120, 170, 255, 22)
SELECTED_RULER = QColor("#8fb4ff")
LOCKED_BAR = QColor(255, 196, 64, 26)
LOCKED_RULER = QColor("#5b4a22")
PLAYHEAD = QColor("#ff6b5b")


def track_color(index: int) -> QColor:
    """The colour of track ``index`` (0-based)."""
    return QColor(TRACK_COLORS[index % len(TRACK_COLORS)])
