# SPDX-License-Identifier: MIT
"""Tests for engine.pianoroll: Pattern <-> piano roll."""

from __future__ import annotations

import dataclasses
import itertools
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.music import DRUM_CHANNEL, Note, Pattern, TimeSignature, Track
from engine.pianoroll import PianoRoll, RollEncoding, RollGrid, pattern_to_roll, roll_to_pattern

# --- helpers ---------------------------------------------------------------------------------


def step_tick(step: int, n_steps: int, bar_ticks: int) -> int:
    """round(step * bar_ticks / n_steps), halves rounding up, in exact integer arithmetic."""
    return (2 * step * bar_ticks + n_steps) // (2 * n_steps)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def empty_roll(n_tracks: int, n_bars: int, grid: RollGrid) -> PianoRoll:
    shape = (n_tracks, n_bars, grid.n_steps_per_bar, grid.n_pitches)
    return PianoRoll(
        np.zeros(shape, np.bool_), np.zeros(shape, np.bool_), np.zeros(shape, np.uint8), grid
    )


def template(n_tracks: int = 1, n_bars: int = 1, **kwargs: Any) -> Pattern:
    tracks = tuple(Track(f"t{i}", 10 * i, False, i) for i in range(n_tracks))
    return Pattern(tracks, n_bars=n_bars, **kwargs)


def encode(notes: list[Note], grid: RollGrid, n_bars: int = 1, **kwargs: Any) -> RollEncoding:
    return pattern_to_roll(Pattern((Track("t", notes=notes),), n_bars=n_bars, **kwargs), grid)


#: 16 steps per 4/4 bar at 480 ticks per quarter: one step is 120 ticks.
GRID16 = RollGrid(n_steps_per_bar=16, lowest_pitch=36, n_pitches=48)

# --- strategies ------------------------------------------------------------------------------

SIGNATURES = [(4, 4), (3, 4), (6, 8), (5, 4)]


@st.composite
def aligned_patterns(draw: st.DrawFn) -> tuple[Pattern, RollGrid]:
    """A random pattern whose note boundaries all lie on the roll's step ticks, and its grid."""
    tpq = draw(st.sampled_from([3, 4, 96, 120, 480, 960]))
    numerator, denominator = draw(st.sampled_from(SIGNATURES))
    bar = tpq * 4 * numerator // denominator
    cap = min(bar, 192)
    n_steps = draw(
        st.one_of(
            st.sampled_from([d for d in divisors(bar) if d <= cap]),  # steps divide the bar
            st.integers(1, cap),  # mostly they do not
            st.just(bar) if bar <= 192 else st.just(cap),  # one tick per step
        )
    )
    n_bars = draw(st.integers(1, 3))
    total = n_bars * n_steps
    lowest = draw(st.integers(0, 127))
    grid = RollGrid(n_steps, lowest, draw(st.integers(1, 128 - lowest)))
    tracks: list[Track] = []
    for _ in range(draw(st.integers(1, 3))):
        notes = []
        pitches = st.integers(grid.lowest_pitch, grid.highest_pitch)
        for pitch in draw(st.lists(pitches, unique=True, min_size=1, max_size=6)):
            step = draw(st.integers(0, total - 1))
            segments = st.tuples(
                st.integers(0, max(1, total // 8)), st.integers(1, max(1, total // 3))
            )
            for gap, length in draw(st.lists(segments, min_size=1, max_size=10)):
                start, end = step + gap, min(step + gap + length, total)
                if start >= total:
                    break
                notes.append(
                    Note(
                        step_tick(start, n_steps, bar),
                        step_tick(end, n_steps, bar) - step_tick(start, n_steps, bar),
                        pitch,
                        draw(st.integers(1, 127)),
                    )
                )
                step = end  # the next note may touch this one (a repeated note)
        channel = draw(st.integers(0, 15))
        program = draw(st.integers(0, 127))
        tracks.append(
            Track(f"track {len(tracks)}", program, channel == DRUM_CHANNEL, channel, notes)
        )
    pattern = Pattern(
        tuple(tracks),
        n_bars=n_bars,
        ticks_per_quarter=tpq,
        time_signature=TimeSignature(numerator, denominator),
    )
    return pattern, grid


# --- round trip ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(aligned_patterns())
def test_grid_aligned_patterns_round_trip_exactly(case: tuple[Pattern, RollGrid]) -> None:
    pattern, grid = case
    encoding = pattern_to_roll(pattern, grid)
    assert encoding.out_of_range == ()
    assert encoding.n_quantized == 0
    assert encoding.n_merged == 0
    assert encoding.exact
    roll = encoding.roll
    n_steps, bar = grid.n_steps_per_bar, pattern.bar_ticks
    assert roll.shape == (len(pattern.tracks), pattern.n_bars, n_steps, grid.n_pitches)
    # Independent check of the planes against the notes.
    step_of = {step_tick(s, n_steps, bar): s for s in range(pattern.n_bars * n_steps + 1)}
    for t, track in enumerate(pattern.tracks):
        onsets = roll.onsets[t].reshape(-1, grid.n_pitches)
        frames = roll.frames[t].reshape(-1, grid.n_pitches)
        velocities = roll.velocities[t].reshape(-1, grid.n_pitches)
        assert int(onsets.sum()) == len(track.notes)
        assert int(np.count_nonzero(velocities)) == len(track.notes)
        n_frames = 0
        for note in track.notes:
            start, end = step_of[note.start], step_of[note.end]
            index = note.pitch - grid.lowest_pitch
            assert onsets[start, index]
            assert velocities[start, index] == note.velocity
            assert frames[start:end, index].all()
            n_frames += end - start
        assert int(frames.sum()) == n_frames
    assert roll_to_pattern(roll, pattern) == pattern
    # The template's notes are ignored.
    blank = dataclasses.replace(pattern, tracks=tuple(t.with_notes(()) for t in pattern.tracks))
    assert roll_to_pattern(roll, blank) == pattern


@pytest.mark.parametrize(
    ("tpq", "n_steps"), [(4, 16), (4, 15), (4, 6), (4, 1), (3, 12), (120, 7), (960, 96)]
)
def test_round_trip_at_the_rounded_step_ticks(tpq: int, n_steps: int) -> None:
    pattern = template(n_bars=2, ticks_per_quarter=tpq)
    bar = pattern.bar_ticks
    ticks = [step_tick(s, n_steps, bar) for s in range(2 * n_steps + 1)]
    notes = [Note(a, b - a, 60 + (i % 2)) for i, (a, b) in enumerate(itertools.pairwise(ticks))]
    pattern = pattern.with_track(0, pattern.tracks[0].with_notes(notes))
    grid = RollGrid(n_steps, 60, 2)
    encoding = pattern_to_roll(pattern, grid)
    assert encoding.exact
    assert roll_to_pattern(encoding.roll, pattern) == pattern


def test_step_ticks_round_halves_up() -> None:
    # 6 steps in a bar of 16 ticks: steps fall on 0, 2.67, 5.33, 8, 10.67, 13.33, 16.
    grid = RollGrid(6, 60, 1)
    kwargs = {"ticks_per_quarter": 4}
    assert encode([Note(3, 2, 60)], grid, **kwargs).exact  # 3..5 are steps 1..2
    encoding = encode([Note(4, 4, 60)], grid, **kwargs)  # tick 4 is step 1.5: rounds to 2
    assert encoding.n_quantized == 1
    assert not encoding.exact
    decoded = roll_to_pattern(encoding.roll, template(ticks_per_quarter=4))
    assert decoded.tracks[0].notes == (Note(5, 3, 60),)


# --- specific encodings ----------------------------------------------------------------------


def test_shape_dtypes_and_cells() -> None:
    pattern = Pattern(
        (
            Track("a", notes=[Note(480, 480, 62, 90), Note(1920 + 120, 120, 36, 5)]),
            Track("b", 0, True, DRUM_CHANNEL, [Note(0, 3840, 83)]),
        ),
        n_bars=2,
    )
    encoding = pattern_to_roll(pattern, GRID16)
    roll = encoding.roll
    assert roll.shape == (2, 2, 16, 48)
    for plane in (roll.frames, roll.onsets, roll.velocities):
        assert plane.shape == (2, 2, 16, 48)
    assert roll.frames.dtype == np.bool_
    assert roll.onsets.dtype == np.bool_
    assert roll.velocities.dtype == np.uint8
    assert roll.grid == GRID16
    expected_frames = np.zeros((2, 2, 16, 48), np.bool_)
    expected_frames[0, 0, 4:8, 62 - 36] = True
    expected_frames[0, 1, 1:2, 0] = True
    expected_frames[1, :, :, 83 - 36] = True
    np.testing.assert_array_equal(roll.frames, expected_frames)
    assert list(zip(*np.nonzero(roll.onsets), strict=True)) == [
        (0, 0, 4, 26),
        (0, 1, 1, 0),
        (1, 0, 0, 47),
    ]
    assert roll.velocities[0, 0, 4, 26] == 90
    assert roll.velocities[0, 1, 1, 0] == 5
    assert roll.velocities[1, 0, 0, 47] == 100
    assert int(np.count_nonzero(roll.velocities)) == 3
    assert encoding.exact


def test_empty_pattern() -> None:
    encoding = pattern_to_roll(Pattern(n_bars=3), GRID16)
    assert encoding.roll.shape == (0, 3, 16, 48)
    assert encoding.exact
    assert roll_to_pattern(encoding.roll, Pattern()) == Pattern(n_bars=3)


def test_repeated_notes_stay_separate() -> None:
    notes = [Note(0, 480, 60, 70), Note(480, 480, 60, 80)]
    encoding = encode(notes, GRID16)
    roll = encoding.roll
    assert encoding.exact
    assert roll.frames[0, 0, 0:8, 24].all()
    assert np.flatnonzero(roll.onsets[0, 0, :, 24]).tolist() == [0, 4]
    assert roll_to_pattern(roll, template()).tracks[0].notes == tuple(notes)
    # Without the onsets plane, the run is one long note.
    no_onsets = dataclasses.replace(roll, onsets=np.zeros_like(roll.onsets))
    assert roll_to_pattern(no_onsets, template()).tracks[0].notes == (Note(0, 960, 60, 70),)


def test_off_grid_notes_are_quantized_and_counted() -> None:
    notes = [
        Note(10, 100, 40),  # start 10 -> 0, end 110 -> 120
        Note(0, 30, 41),  # end 30 -> 0, widened to one step
        Note(240, 170, 42),  # end 410 -> 360
        Note(480, 240, 43),  # on the grid
        Note(1919, 1, 44),  # start rounds to the end of the pattern: pulled back one step
    ]
    encoding = encode(notes, GRID16)
    assert encoding.n_quantized == 4
    assert encoding.n_merged == 0
    assert encoding.out_of_range == ()
    assert not encoding.exact
    decoded = roll_to_pattern(encoding.roll, template())
    assert decoded.tracks[0].notes == (
        Note(0, 120, 40),
        Note(0, 120, 41),
        Note(240, 120, 42),
        Note(480, 240, 43),
        Note(1800, 120, 44),
    )


def test_notes_landing_on_one_step_merge_and_are_counted() -> None:
    notes = [Note(0, 10, 60, 30), Note(10, 200, 60, 90), Note(0, 10, 61)]
    encoding = encode(notes, GRID16)
    assert encoding.n_merged == 1
    assert not encoding.exact
    decoded = roll_to_pattern(encoding.roll, template()).tracks[0].notes
    assert [(n.start, n.pitch) for n in decoded] == [(0, 60), (0, 61)]
    assert decoded[0].duration == 240


def test_out_of_range_pitches_are_listed_and_left_out() -> None:
    grid = RollGrid(16, 48, 24)  # pitches 48..71
    low, high = Note(0, 120, 47), Note(120, 120, 72)
    pattern = Pattern(
        (
            Track("a", notes=[low, Note(0, 120, 48), Note(240, 120, 71)]),
            Track("b", notes=[Note(0, 120, 60), high]),
        ),
        n_bars=1,
    )
    encoding = pattern_to_roll(pattern, grid)
    assert encoding.out_of_range == ((0, low), (1, high))
    assert not encoding.exact
    assert encoding.n_quantized == 0
    assert encoding.n_merged == 0
    roll = encoding.roll
    assert int(roll.onsets.sum()) == 3
    assert int(roll.frames.sum()) == 3
    assert roll.onsets[0, 0, 0, 0]
    assert roll.onsets[0, 0, 2, 23]
    assert roll.onsets[1, 0, 0, 12]
    decoded = roll_to_pattern(roll, pattern)
    assert decoded.tracks[0].notes == (Note(0, 120, 48), Note(240, 120, 71))
    assert decoded.tracks[1].notes == (Note(0, 120, 60),)


# --- decoding --------------------------------------------------------------------------------


def test_decode_frames_only_gives_runs_with_the_default_velocity() -> None:
    roll = empty_roll(2, 2, GRID16)
    roll.frames[0, 0, 2:6, 10] = True  # one run
    roll.frames[0, 0, 8:16, 10] = True  # a second run, across the bar line
    roll.frames[0, 1, 0:3, 10] = True
    roll.frames[1, 1, 15, 47] = True  # last step of the last bar
    roll.frames[1, 0, 0, 0] = True
    decoded = roll_to_pattern(roll, template(2))
    assert decoded.n_bars == 2
    assert decoded.tracks[0].notes == (Note(240, 480, 46), Note(960, 1320, 46))
    assert decoded.tracks[1].notes == (Note(0, 120, 36), Note(3720, 120, 83))
    softer = roll_to_pattern(roll, template(2), default_velocity=33)
    assert {n.velocity for t in softer.tracks for n in t.notes} == {33}


def test_decode_takes_the_template_shape_and_the_roll_length() -> None:
    roll = empty_roll(1, 3, GRID16)
    roll.frames[0, 2, 0, 0] = True
    like = Pattern(
        (Track("lead", 81, False, 5, [Note(0, 1, 1)]),),
        n_bars=1,
        ticks_per_quarter=480,
        tempo_us=400_000,
    )
    decoded = roll_to_pattern(roll, like)
    assert decoded == Pattern(
        (Track("lead", 81, False, 5, [Note(3840, 120, 36)]),),
        n_bars=3,
        ticks_per_quarter=480,
        tempo_us=400_000,
    )


def test_onset_on_a_silent_step_is_ignored() -> None:
    roll = empty_roll(1, 1, GRID16)
    roll.onsets[0, 0, 3, 5] = True
    roll.velocities[0, 0, 3, 5] = 90
    roll.frames[0, 0, 4:6, 5] = True
    decoded = roll_to_pattern(roll, template()).tracks[0].notes
    assert decoded == (Note(480, 240, 41),)


def test_onset_inside_a_run_splits_it() -> None:
    roll = empty_roll(1, 1, GRID16)
    roll.frames[0, 0, 0:8, 5] = True
    roll.onsets[0, 0, 5, 5] = True
    roll.velocities[0, 0, 5, 5] = 20
    decoded = roll_to_pattern(roll, template()).tracks[0].notes
    assert decoded == (Note(0, 600, 41, 100), Note(600, 360, 41, 20))


def test_velocities_above_127_are_clipped() -> None:
    roll = empty_roll(1, 1, GRID16)
    roll.frames[0, 0, 0, 0] = True
    roll.onsets[0, 0, 0, 0] = True
    roll.velocities[0, 0, 0, 0] = 255
    assert roll_to_pattern(roll, template()).tracks[0].notes == (Note(0, 120, 36, 127),)


def test_decode_rejects_a_template_with_another_track_count() -> None:
    roll = empty_roll(2, 1, GRID16)
    with pytest.raises(ValueError, match=re.escape("template.tracks")):
        roll_to_pattern(roll, template(3))
    with pytest.raises(ValueError, match=re.escape("template.tracks")):
        roll_to_pattern(roll, template(1))


@pytest.mark.parametrize("plane", ["onsets", "velocities"])
def test_decode_rejects_planes_of_different_shapes(plane: str) -> None:
    roll = empty_roll(1, 1, GRID16)
    bad = dataclasses.replace(roll, **{plane: getattr(roll, plane)[:, :, :8]})
    with pytest.raises(ValueError, match=re.escape(f"PianoRoll.{plane}")):
        roll_to_pattern(bad, template())


def test_decode_rejects_a_grid_that_does_not_match_the_planes() -> None:
    roll = dataclasses.replace(empty_roll(1, 1, GRID16), grid=RollGrid(32, 36, 48))
    with pytest.raises(ValueError, match=re.escape("PianoRoll.grid")):
        roll_to_pattern(roll, template())


@pytest.mark.parametrize("velocity", [0, 128, -1])
def test_decode_rejects_a_bad_default_velocity(velocity: int) -> None:
    with pytest.raises(ValueError, match="default_velocity"):
        roll_to_pattern(empty_roll(1, 1, GRID16), template(), default_velocity=velocity)


def test_steps_must_fit_in_a_bar() -> None:
    grid = RollGrid(17, 0, 128)
    small = template(ticks_per_quarter=4)  # 16 ticks a bar
    with pytest.raises(ValueError, match=re.escape("RollGrid.n_steps_per_bar")):
        pattern_to_roll(small, grid)
    with pytest.raises(ValueError, match=re.escape("RollGrid.n_steps_per_bar")):
        roll_to_pattern(empty_roll(1, 1, grid), small)
    assert pattern_to_roll(small, RollGrid(16, 0, 128)).roll.shape == (1, 1, 16, 128)


# --- RollGrid --------------------------------------------------------------------------------


def test_roll_grid_defaults_and_highest_pitch() -> None:
    assert RollGrid() == RollGrid(48, 0, 128)
    assert RollGrid().highest_pitch == 127
    assert RollGrid(96, 24, 84).highest_pitch == 107
    assert RollGrid(1, 127, 1).highest_pitch == 127


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"n_steps_per_bar": 0}, "RollGrid.n_steps_per_bar"),
        ({"n_steps_per_bar": (1 << 16) + 1}, "RollGrid.n_steps_per_bar"),
        ({"n_steps_per_bar": True}, "RollGrid.n_steps_per_bar"),
        ({"n_steps_per_bar": 16.0}, "RollGrid.n_steps_per_bar"),
        ({"lowest_pitch": -1}, "RollGrid.lowest_pitch"),
        ({"lowest_pitch": 128, "n_pitches": 1}, "RollGrid.lowest_pitch"),
        ({"lowest_pitch": False}, "RollGrid.lowest_pitch"),
        ({"n_pitches": 0}, "RollGrid.n_pitches"),
        ({"n_pitches": 129}, "RollGrid.n_pitches"),
        ({"lowest_pitch": 100, "n_pitches": 29}, "RollGrid.n_pitches"),
        ({"n_pitches": "128"}, "RollGrid.n_pitches"),
    ],
)
def test_roll_grid_rejects_invalid_values(kwargs: dict[str, Any], field_name: str) -> None:
    with pytest.raises(ValueError, match=re.escape(field_name)):
        RollGrid(**kwargs)


def test_roll_grid_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GRID16.n_pitches = 3  # type: ignore[misc]
