# SPDX-License-Identifier: MIT
"""Merging regenerated cells into an edited pattern, keeping its locks (torch-free)."""

from __future__ import annotations

import pytest

from engine.generation.locking import merge_regenerated
from engine.generation.settings import Locks
from engine.music import Note, Pattern, Track

BAR = 1920


def _pattern(*tracks: list[Note]) -> Pattern:
    return Pattern([Track(f"t{i}", channel=i, notes=n) for i, n in enumerate(tracks)], n_bars=4)


def test_only_the_chosen_cells_change_and_locked_notes_stay() -> None:
    edited = _pattern(
        [Note(b * BAR, 480, 60 + b) for b in range(4)] + [Note(960, 2000, 70)],
        [Note(b * BAR, 480, 40 + b) for b in range(4)],
    )
    generated = _pattern(
        [Note(b * BAR + 240, 240, 80 + b) for b in range(4)],
        [Note(b * BAR + 240, 240, 50 + b) for b in range(4)],
    )
    locked = Note(2 * BAR, 480, 62)  # a locked note inside a regenerated cell
    merged = merge_regenerated(
        edited, generated, bars=[1, 2], tracks=[0], locks=Locks([(0, locked)])
    )
    soprano = merged.tracks[0].notes
    assert Note(0, 480, 60) in soprano
    assert Note(3 * BAR, 480, 63) in soprano
    assert Note(BAR + 240, 240, 81) in soprano
    assert Note(2 * BAR + 240, 240, 82) in soprano
    assert Note(BAR, 480, 61) not in soprano  # replaced
    assert locked in soprano  # kept although its bar was regenerated
    assert Note(960, 960, 70) in soprano  # rang into bar 1: cut at the bar line
    assert merged.tracks[1] == edited.tracks[1]  # the other track untouched


def test_locked_bars_and_tracks_win_over_the_chosen_cells() -> None:
    edited = _pattern([Note(b * BAR, 480, 60) for b in range(4)], [Note(0, 480, 40)])
    generated = _pattern([Note(b * BAR, 480, 72) for b in range(4)], [Note(0, 480, 50)])
    merged = merge_regenerated(edited, generated, None, None, Locks(bars=[0], tracks=[1]))
    assert merged.tracks[0].notes[0] == Note(0, 480, 60)
    assert [n.pitch for n in merged.tracks[0].notes[1:]] == [72, 72, 72]
    assert merged.tracks[1] == edited.tracks[1]
    with pytest.raises(ValueError, match="does not match"):
        merge_regenerated(edited, _pattern([]), None, None, Locks())
