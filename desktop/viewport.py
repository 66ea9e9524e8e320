# SPDX-License-Identifier: MIT
"""What part of a pattern the piano roll shows, and how it scrolls and zooms (no Qt here)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.music import Pattern

#: Rows of the highest note, plus one: pitch ``p`` fills the row ``[p, p + 1)``.
N_PITCH_ROWS = 128
#: Semitones of padding above and below a pattern's notes when fitting it.
FIT_PADDING = 2
#: A fitted view shows at least this many semitones.
MIN_PITCH_SPAN = 12
#: The pitch rows shown for a pattern with no notes: C3 to C5.
DEFAULT_PITCHES = (48, 73)


def is_black_key(pitch: int) -> bool:
    return pitch % 12 in (1, 3, 6, 8, 10)


@dataclass(frozen=True, slots=True)
class Viewport:
    """A rectangle of the music: ticks ``[start_tick, end_tick)``, pitch rows
    ``[low_pitch, high_pitch)``. Floats, so zooming is smooth; the widget maps it to pixels."""

    start_tick: float
    end_tick: float
    low_pitch: float
    high_pitch: float

    def __post_init__(self) -> None:
        if not self.end_tick > self.start_tick:
            raise ValueError(f"Viewport.end_tick must exceed start_tick, got {self}")
        if not self.high_pitch > self.low_pitch:
            raise ValueError(f"Viewport.high_pitch must exceed low_pitch, got {self}")

    @property
    def n_ticks(self) -> float:
        return self.end_tick - self.start_tick

    @property
    def n_pitches(self) -> float:
        return self.high_pitch - self.low_pitch


def fit_viewport(pattern: Pattern) -> Viewport:
    """The whole pattern in time; its pitches (drums included), padded a little, in height."""
    pitches = [n.pitch for t in pattern.tracks for n in t.notes]
    low: float
    high: float
    if pitches:
        low, high = min(pitches) - FIT_PADDING, max(pitches) + 1 + FIT_PADDING
    else:
        low, high = DEFAULT_PITCHES
    if high - low < MIN_PITCH_SPAN:
        middle = (low + high) / 2
        low, high = middle - MIN_PITCH_SPAN / 2, middle + MIN_PITCH_SPAN / 2
    low, high = _shift_inside(low, high, 0, N_PITCH_ROWS)
    return Viewport(0.0, float(pattern.length_ticks), float(low), float(high))


def fit_pitches(view: Viewport, pattern: Pattern) -> Viewport:
    """``view``'s time range with the pitch range :func:`fit_viewport` gives ``pattern``."""
    fitted = fit_viewport(pattern)
    return Viewport(view.start_tick, view.end_tick, fitted.low_pitch, fitted.high_pitch)


def _shift_inside(low: float, high: float, lowest: float, highest: float) -> tuple[float, float]:
    """Move ``[low, high)`` inside ``[lowest, highest)`` keeping its size (cut if larger)."""
    span = min(high - low, highest - lowest)
    low = min(max(low, lowest), highest - span)
    return low, low + span


def zoom_time(view: Viewport, factor: float, anchor_tick: float, length_ticks: int) -> Viewport:
    """Scale the visible time by ``factor`` (< 1 zooms in) keeping ``anchor_tick`` in place.

    The view stays inside the pattern and never shows fewer than 16 ticks.
    """
    span = min(max(view.n_ticks * factor, 16.0), float(length_ticks))
    fraction = (anchor_tick - view.start_tick) / view.n_ticks if view.n_ticks else 0.0
    start = anchor_tick - fraction * span
    start, end = _shift_inside(start, start + span, 0.0, float(length_ticks))
    return Viewport(start, end, view.low_pitch, view.high_pitch)


def scroll_time(view: Viewport, delta_ticks: float, length_ticks: int) -> Viewport:
    start, end = _shift_inside(
        view.start_tick + delta_ticks, view.end_tick + delta_ticks, 0.0, float(length_ticks)
    )
    return Viewport(start, end, view.low_pitch, view.high_pitch)


def scroll_pitch(view: Viewport, delta_pitches: float) -> Viewport:
    low, high = _shift_inside(
        view.low_pitch + delta_pitches, view.high_pitch + delta_pitches, 0.0, N_PITCH_ROWS
    )
    return Viewport(view.start_tick, view.end_tick, low, high)


def label_step(unit_px: float, label_px: float) -> int:
    """Label every ``step``-th unit (1, 2, 4, 8, ...) so labels ``label_px`` wide don't touch."""
    step = 1
    while step * unit_px < label_px and step < 1 << 20:
        step *= 2
    return step
