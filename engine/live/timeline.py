# SPDX-License-Identifier: MIT
"""A pattern compiled for playback: its notes sorted by onset, with their output port and
channel, inside a loop range."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from engine.music import Pattern


@dataclass(frozen=True, slots=True)
class LiveNote:
    """One note as the player sends it.

    ``start`` and ``end`` are ticks within the pattern; ``end`` is cut at the loop's end.
    """

    start: int
    end: int
    port: int
    channel: int
    pitch: int
    velocity: int
    track: int


class Timeline:
    """The notes of ``pattern`` that start inside the loop ``[loop_start, loop_end)`` (ticks).

    Parameters
    ----------
    pattern : Pattern
    n_ports : int
        Output ports: with ``port_per_track`` track ``i`` goes to port ``i % n_ports``,
        otherwise every track goes to port 0 on its own channel.
    port_per_track : bool
    loop : (int, int) or None
        First bar and the bar after the last of the loop; None loops the whole pattern.
    """

    def __init__(
        self,
        pattern: Pattern,
        *,
        n_ports: int = 1,
        port_per_track: bool = False,
        loop: tuple[int, int] | None = None,
    ) -> None:
        if n_ports < 1:
            raise ValueError("a timeline needs at least one output port")
        first_bar, end_bar = (0, pattern.n_bars) if loop is None else loop
        if not 0 <= first_bar < end_bar <= pattern.n_bars:
            raise ValueError(
                f"loop bars {first_bar}..{end_bar} are not inside the pattern's "
                f"{pattern.n_bars} bars (give the first bar and the bar after the last)"
            )
        self.pattern = pattern
        self.ticks_per_quarter = pattern.ticks_per_quarter
        self.bar_ticks = pattern.bar_ticks
        self.loop_start = first_bar * pattern.bar_ticks
        self.loop_end = end_bar * pattern.bar_ticks
        self.port_per_track = port_per_track
        self.n_ports = n_ports
        notes = []
        for index, track in enumerate(pattern.tracks):
            port = index % n_ports if port_per_track else 0
            for note in track.notes:
                if not self.loop_start <= note.start < self.loop_end:
                    continue
                notes.append(
                    LiveNote(
                        note.start,
                        min(note.end, self.loop_end),
                        port,
                        track.channel,
                        note.pitch,
                        note.velocity,
                        index,
                    )
                )
        notes.sort(key=lambda n: (n.start, n.track, n.pitch))
        self.notes: tuple[LiveNote, ...] = tuple(notes)
        self.starts: list[int] = [n.start for n in notes]
        self._by_key = {(n.port, n.channel, n.pitch, n.start): n for n in notes}

    @property
    def loop_ticks(self) -> int:
        return self.loop_end - self.loop_start

    def position(self, tick: int) -> int:
        """The pattern tick that plays at song tick ``tick`` (the loop repeats from song tick
        0, so the DAW's bars and the loop's stay aligned)."""
        return self.loop_start + tick % self.loop_ticks

    def first_at_or_after(self, position: int) -> int:
        """Index of the first note starting at or after pattern tick ``position``."""
        return bisect.bisect_left(self.starts, position)

    def find(self, port: int, channel: int, pitch: int, start: int) -> LiveNote | None:
        """The note of that key starting at pattern tick ``start``, if any."""
        return self._by_key.get((port, channel, pitch, start))

    def programs(self) -> list[tuple[int, int, int]]:
        """``(port, channel, program)`` of each track, in track order."""
        out = []
        for index, track in enumerate(self.pattern.tracks):
            port = index % self.n_ports if self.port_per_track else 0
            out.append((port, track.channel, track.program))
        return out

    def channels(self) -> set[tuple[int, int]]:
        """The ``(port, channel)`` pairs the pattern plays on."""
        return {(port, channel) for port, channel, _ in self.programs()}
