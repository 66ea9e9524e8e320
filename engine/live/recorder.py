# SPDX-License-Identifier: MIT
"""Recording the input's notes into a track: quantised to a grid, aligned to bars.

A recording covers ``n_bars`` bars from a bar boundary of the song. A note played up to half a
grid step early still counts for the first step (players anticipate the downbeat); a note
still held when the recording ends ends there. The result is a track of its own length
(``n_bars``), placed in the pattern's first bars, for the generator to accompany.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.live.messages import Message, is_note_off, is_note_on
from engine.music import Note, Track, resolve_overlaps


@dataclass(slots=True)
class Recorder:
    """Collects notes between ``start_tick`` and ``end_tick`` (song ticks).

    Parameters
    ----------
    start_tick : int
        A bar boundary of the song.
    n_bars : int
    bar_ticks : int
    grid_ticks : int
        Onsets and ends snap to multiples of this (>= 1).
    template : Track or None
        Name, program and channel of the result (default: "Recorded", piano, channel 0).
    pattern_bars : int
        Bars of the pattern that plays; the result never exceeds ``min(n_bars, pattern_bars)``.
    """

    start_tick: int
    n_bars: int
    bar_ticks: int
    grid_ticks: int
    template: Track | None = None
    pattern_bars: int = 0
    _open: dict[tuple[int, int], tuple[float, int]] = field(default_factory=dict)
    _notes: list[tuple[float, float, int, int]] = field(default_factory=list)

    @property
    def end_tick(self) -> int:
        return self.start_tick + self.n_bars * self.bar_ticks

    def receive(self, message: Message, tick: float) -> None:
        """One channel message that arrived at song tick ``tick`` (fractional)."""
        if is_note_on(message):
            key = (message[0] & 0x0F, message[1])
            if key in self._open:
                self._close(key, tick)
            self._open[key] = (tick, message[2])
        elif is_note_off(message):
            self._close((message[0] & 0x0F, message[1]), tick)

    def _close(self, key: tuple[int, int], tick: float) -> None:
        opened = self._open.pop(key, None)
        if opened is not None:
            start, velocity = opened
            self._notes.append((start, tick, key[1], velocity))

    def finish(self) -> Track:
        """The recorded track (notes still held end at the recording's end)."""
        for key in list(self._open):
            self._close(key, float(self.end_tick))
        grid = self.grid_ticks
        bars = min(self.n_bars, self.pattern_bars) if self.pattern_bars else self.n_bars
        length = bars * self.bar_ticks
        notes = []
        for start, end, pitch, velocity in self._notes:
            onset = round((start - self.start_tick) / grid) * grid
            if not 0 <= onset < length:
                continue
            offset = round((end - self.start_tick) / grid) * grid
            offset = min(max(offset, onset + grid), length)
            notes.append(Note(int(onset), int(offset - onset), pitch, velocity))
        resolved, _ = resolve_overlaps(notes)
        template = self.template
        if template is None:
            return Track("Recorded", 0, False, 0, resolved)
        return Track(template.name, template.program, template.is_drum, template.channel, resolved)
