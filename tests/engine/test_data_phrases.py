# SPDX-License-Identifier: MIT
"""Pieces to phrases: step notes read off the roll, windows, clipping, duplicate keys."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data.phrases import cut_phrases, encode_piece, phrase_keys, roll_notes
from engine.music import Note, Pattern, Track, resolve_overlaps
from engine.pianoroll import RollGrid, pattern_to_roll, roll_to_pattern

GRID = RollGrid(n_steps_per_bar=16, lowest_pitch=36, n_pitches=48)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4 * 1920 - 1), st.integers(1, 2000), st.integers(30, 90),
            st.integers(1, 127),
        ),
        max_size=30,
    )
)  # fmt: skip
def test_roll_notes_read_the_roll_as_roll_to_pattern_does(
    raw: list[tuple[int, int, int, int]],
) -> None:
    notes = [Note(s, min(d, 4 * 1920 - s), p, v) for s, d, p, v in raw]
    pattern = Pattern((Track("t", notes=resolve_overlaps(notes)[0]),), n_bars=4)
    roll = pattern_to_roll(pattern, GRID).roll
    table = roll_notes(roll)
    decoded = roll_to_pattern(roll, pattern)
    step = 1920 // 16
    expected = sorted(
        (n.start // step, n.duration // step, n.pitch - 36, n.velocity)
        for n in decoded.tracks[0].notes
    )
    assert sorted(map(tuple, table[:, 1:].tolist())) == expected
    assert (table[:, 0] == 0).all()


def test_windows_clip_notes_and_skip_silence() -> None:
    # track, start, length, pitch, velocity: one long note over bars 0-2 (16 steps a bar)
    notes = np.array([[0, 10, 30, 5, 90], [1, 33, 2, 7, 60]], dtype=np.int64)
    phrases = cut_phrases(notes, n_bars=4, n_steps_per_bar=16, phrase_bars=1, hop_bars=1)
    assert phrases.n_windows == 4
    assert phrases.n_silent == 1  # bar 3
    assert phrases.first_bars.tolist() == [0, 1, 2]
    rows = phrases.notes.tolist()
    assert rows == [
        [0, 0, 10, 6, 5, 90],  # bar 0: steps 10..15
        [1, 0, 0, 16, 5, 90],  # bar 1: sounds throughout, starts on the window's first step
        [2, 0, 0, 8, 5, 90],  # bar 2: the rest of it, up to step 40
        [2, 1, 1, 2, 7, 60],
    ]
    two = cut_phrases(notes, n_bars=4, n_steps_per_bar=16, phrase_bars=2, hop_bars=2)
    assert two.first_bars.tolist() == [0, 2]
    assert two.n_windows == 2
    assert len(cut_phrases(notes, 3, 16, 4, 1).first_bars) == 0  # shorter than a phrase


def test_encode_piece_counts_what_the_roll_cannot_hold() -> None:
    track = Track("t", notes=[Note(0, 120, 20), Note(10, 50, 60), Note(480, 480, 60)])
    piece = encode_piece(Pattern((track,), n_bars=1), GRID)
    assert piece.counts == {"out_of_range": 1, "quantized": 1, "merged": 0}
    assert piece.notes.tolist() == [[0, 0, 1, 24, 100], [0, 4, 4, 24, 100]]


def test_phrase_keys_see_through_transposition_but_not_drums() -> None:
    is_drum = np.array([True, False])
    rows = np.array([[0, 0, 0, 2, 10, 100], [0, 1, 4, 2, 20, 100]], dtype=np.int64)
    up = rows.copy()
    up[1, 4] += 3
    loud = rows.copy()
    loud[:, 5] = 30
    drum_moved = rows.copy()
    drum_moved[0, 4] += 3
    key, exact = phrase_keys(rows, is_drum)
    assert phrase_keys(loud, is_drum) == (key, exact)  # velocity is not compared
    assert phrase_keys(up, is_drum)[0] == key
    assert phrase_keys(up, is_drum)[1] != exact
    assert phrase_keys(drum_moved, is_drum)[0] != key
