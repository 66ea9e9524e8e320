# SPDX-License-Identifier: MIT
"""A pattern's notes as numpy arrays, and the visible-note search the piano roll paints from.

Nothing here knows Qt, so the visible-note search is tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.music import Pattern, Track

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TrackNotes:
    """One track's notes, sorted by start tick; all arrays have ``shape=(n_notes,)``.

    ``reach[i]`` is the latest end tick among notes ``0..i`` (a running maximum), so it never
    decreases and a binary search on it finds the first note that may still sound at a tick.
    """

    starts: IntArray
    ends: IntArray
    pitches: IntArray
    reach: IntArray

    @classmethod
    def from_track(cls, track: Track) -> TrackNotes:
        """Build the arrays once per track; ``Track.notes`` is already sorted by start."""
        starts = np.fromiter((n.start for n in track.notes), np.int64, len(track.notes))
        ends = np.fromiter((n.end for n in track.notes), np.int64, len(track.notes))
        pitches = np.fromiter((n.pitch for n in track.notes), np.int64, len(track.notes))
        reach = np.maximum.accumulate(ends) if len(ends) else ends.copy()
        return cls(starts, ends, pitches, reach)

    def __len__(self) -> int:
        return len(self.starts)


def note_tables(pattern: Pattern) -> tuple[TrackNotes, ...]:
    """One :class:`TrackNotes` per track of ``pattern``, in track order."""
    return tuple(TrackNotes.from_track(track) for track in pattern.tracks)


def visible_notes(
    notes: TrackNotes, start_tick: float, end_tick: float, low_pitch: float, high_pitch: float
) -> NDArray[np.intp]:
    """Indices (ascending) of the notes that show in a viewport.

    A note of pitch ``p`` fills the row ``[p, p + 1)`` and the ticks ``[start, end)``; it shows
    when that box overlaps ``[start_tick, end_tick) x [low_pitch, high_pitch)`` with a non-zero
    area. Two binary searches bound the candidates; only those are tested one by one.
    """
    first = int(np.searchsorted(notes.reach, start_tick, side="right"))
    last = int(np.searchsorted(notes.starts, end_tick, side="left"))
    if last <= first:
        return np.empty(0, dtype=np.intp)
    ends = notes.ends[first:last]
    pitches = notes.pitches[first:last]
    keep = (ends > start_tick) & (pitches + 1 > low_pitch) & (pitches < high_pitch)
    return np.flatnonzero(keep) + first
