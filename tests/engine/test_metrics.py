# SPDX-License-Identifier: MIT
"""Tests for engine.metrics: hand-built rolls with known answers, and properties.

The property tests compare every metric with a slow reference written straight from the
docstrings: Python loops over bars and beats of the frames, and over the notes that
:func:`engine.pianoroll.roll_to_pattern` (not engine.metrics) decodes from the roll.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import metrics
from engine.metrics import (
    METRICS,
    METRICS_BY_KEY,
    MetricReport,
    count_reference_copies,
    drum_grid_weights,
    drum_pattern_rate,
    empty_bar_rate,
    evaluate,
    extract_notes,
    mean_note_length,
    mean_pairwise_distance,
    nearest_neighbour_distances,
    notes_per_bar,
    phrase_metrics,
    pitch_range,
    polyphonicity,
    qualified_min_steps,
    qualified_note_rate,
    tonal_centroid_matrix,
    tonal_distance,
    unique_rate,
    used_pitch_classes,
)
from engine.music import DRUM_CHANNEL, Pattern, TimeSignature, Track
from engine.pianoroll import PhraseSpec, PianoRoll, roll_to_pattern

NAN = math.nan

# --- building rolls ----------------------------------------------------------------------------


def make_spec(
    n_tracks: int = 1,
    *,
    drums: tuple[int, ...] = (),
    steps_per_beat: int = 4,
    beats_per_bar: int = 4,
    n_bars: int = 1,
    lowest_pitch: int = 36,
    n_pitches: int = 48,
) -> PhraseSpec:
    return PhraseSpec(
        track_names=tuple(f"t{i}" for i in range(n_tracks)),
        is_drum=tuple(i in drums for i in range(n_tracks)),
        programs=(0,) * n_tracks,
        steps_per_beat=steps_per_beat,
        beats_per_bar=beats_per_bar,
        n_bars=n_bars,
        lowest_pitch=lowest_pitch,
        n_pitches=n_pitches,
    )


class Rolls:
    """Empty planes for ``n_phrases`` phrases of ``spec``, filled note by note."""

    def __init__(self, spec: PhraseSpec, n_phrases: int = 1) -> None:
        self.spec = spec
        self.frames = np.zeros((n_phrases, *spec.shape), dtype=np.bool_)
        self.onsets = np.zeros_like(self.frames)

    def _flat(self, plane: np.ndarray, phrase: int, track: int) -> np.ndarray:
        spec = self.spec
        view: np.ndarray = plane[phrase, track].reshape(
            spec.n_bars * spec.n_steps_per_bar, spec.n_pitches
        )
        return view

    def note(
        self, pitch: int, start: int, length: int, *, track: int = 0, phrase: int = 0
    ) -> Rolls:
        """A note of MIDI ``pitch`` over phrase-level steps ``start .. start + length - 1``."""
        index = pitch - self.spec.lowest_pitch
        assert 0 <= index < self.spec.n_pitches
        self._flat(self.frames, phrase, track)[start : start + length, index] = True
        self._flat(self.onsets, phrase, track)[start, index] = True
        return self

    def chord(self, pitches: list[int], start: int, length: int, **where: int) -> Rolls:
        for pitch in pitches:
            self.note(pitch, start, length, **where)
        return self

    def args(self) -> tuple[np.ndarray, np.ndarray, PhraseSpec]:
        return self.frames, self.onsets, self.spec


def nan_equal(actual: Any, expected: Any) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=0, atol=1e-12
    )


C4, E4, G4 = 60, 64, 67

# --- hand-built rolls, known answers ------------------------------------------------------------


def test_c_major_triad_for_one_beat():
    rolls = Rolls(make_spec()).chord([C4, E4, G4], 0, 4)  # one beat of a 16-step bar
    args = rolls.args()
    nan_equal(empty_bar_rate(*args), [0.0])
    nan_equal(used_pitch_classes(*args), [3.0])
    nan_equal(pitch_range(*args), [7.0])
    nan_equal(polyphonicity(*args), [4 / 16])  # 3 pitches on 4 of the bar's 16 steps
    nan_equal(polyphonicity(*args, threshold=3), [0.0])  # 3 is not more than 3
    nan_equal(notes_per_bar(*args), [3.0])
    nan_equal(mean_note_length(*args), [1.0])
    nan_equal(qualified_note_rate(*args), [1.0])


def test_triad_over_the_whole_bar_is_fully_polyphonic():
    nan_equal(polyphonicity(*Rolls(make_spec()).chord([C4, E4, G4], 0, 16).args()), [1.0])


def test_polyphonicity_threshold_counts_more_than():
    args = Rolls(make_spec()).chord([C4, G4], 0, 8).args()
    nan_equal(polyphonicity(*args), [0.0])  # two pitches are not more than 2
    nan_equal(polyphonicity(*args, threshold=1), [0.5])
    nan_equal(polyphonicity(*args, threshold=0), [0.5])


def test_empty_bars_and_per_bar_means_skip_them():
    rolls = Rolls(make_spec(n_bars=2), n_phrases=2)
    rolls.chord([C4, E4], 0, 4, phrase=0)  # bar 0 of phrase 0; three bars stay empty
    args = rolls.args()
    nan_equal(empty_bar_rate(*args), [0.75])
    nan_equal(used_pitch_classes(*args), [2.0])  # only the non-empty bar counts
    nan_equal(pitch_range(*args), [4.0])
    nan_equal(notes_per_bar(*args), [2 / 4])  # empty bars count here
    nan_equal(polyphonicity(*args, threshold=1), [4 / 16])


def test_all_empty_track_gives_nan_where_nothing_to_average():
    args = Rolls(make_spec(2), n_phrases=3).note(C4, 0, 2, track=0).args()
    nan_equal(empty_bar_rate(*args), [2 / 3, 1.0])
    nan_equal(used_pitch_classes(*args), [1.0, NAN])
    nan_equal(pitch_range(*args), [0.0, NAN])
    nan_equal(polyphonicity(*args), [0.0, NAN])
    nan_equal(qualified_note_rate(*args), [1.0, NAN])
    nan_equal(mean_note_length(*args), [0.5, NAN])
    nan_equal(notes_per_bar(*args), [1 / 3, 0.0])


def test_no_phrases_gives_nan():
    args = Rolls(make_spec(2, drums=(1,)), n_phrases=0).args()
    report = evaluate(*args)
    for info in METRICS:
        if info.scope in ("pitched", "drums", "all"):
            assert np.isnan(getattr(report, info.key)).all(), info.key
    assert report.pairs == ()
    assert math.isnan(report.unique_rate)
    assert math.isnan(report.mean_pairwise_distance)


def test_repeated_note_is_two_notes_a_held_note_one():
    repeated = Rolls(make_spec()).note(C4, 0, 2).note(C4, 2, 2)  # C, C: frames run 0..3
    held = Rolls(make_spec()).note(C4, 0, 4)
    assert (repeated.frames == held.frames).all()
    nan_equal(notes_per_bar(*repeated.args()), [2.0])
    nan_equal(notes_per_bar(*held.args()), [1.0])
    nan_equal(mean_note_length(*repeated.args()), [0.5])
    nan_equal(mean_note_length(*held.args()), [1.0])
    notes = extract_notes(repeated.frames, repeated.onsets)
    assert notes.start.tolist() == [0, 2]
    assert notes.length.tolist() == [2, 2]


def test_onset_on_a_silent_step_is_ignored():
    rolls = Rolls(make_spec()).note(C4, 0, 2)
    rolls.onsets[0, 0, 0, 5, C4 - 36] = True  # nothing sounds there
    nan_equal(notes_per_bar(*rolls.args()), [1.0])
    assert len(extract_notes(rolls.frames, rolls.onsets)) == 1


def test_note_crossing_a_bar_line_counts_once_in_its_starting_bar():
    rolls = Rolls(make_spec(n_bars=2)).note(C4, 14, 4)  # steps 14..17 of two 16-step bars
    args = rolls.args()
    nan_equal(notes_per_bar(*args), [0.5])  # one note over two bars
    nan_equal(empty_bar_rate(*args), [0.0])  # but it sounds in both
    nan_equal(used_pitch_classes(*args), [1.0])
    nan_equal(mean_note_length(*args), [1.0])  # not cut at the bar line
    notes = extract_notes(*args[:2])
    assert (notes.start.tolist(), notes.length.tolist()) == ([14], [4])


def test_phrase_end_cuts_a_note_but_the_next_phrase_does_not_continue_it():
    rolls = Rolls(make_spec(), n_phrases=2).note(C4, 12, 4, phrase=0).note(C4, 0, 4, phrase=1)
    rolls.onsets[1] = False  # phrase 1 starts sounding: still a new note
    notes = extract_notes(rolls.frames, rolls.onsets)
    assert notes.phrase.tolist() == [0, 1]
    assert notes.start.tolist() == [12, 0]
    assert notes.length.tolist() == [4, 4]


@pytest.mark.parametrize("lowest_pitch", [36, 24, 31, 0])
def test_octaves_fold_to_one_pitch_class(lowest_pitch: int):
    """C2 + C3 + C4 is one pitch class: MuseGAN v1's reshape(T, 12, 7) made it three."""
    spec = make_spec(lowest_pitch=lowest_pitch, n_pitches=61)
    args = Rolls(spec).chord([36, 48, 60], 0, 4).args()
    nan_equal(used_pitch_classes(*args), [1.0])
    nan_equal(pitch_range(*args), [24.0])
    nan_equal(used_pitch_classes(*Rolls(spec).chord([36, 49], 0, 4).args()), [2.0])


def test_pitch_classes_sound_through_the_bar_not_at_once():
    # C then D then E, one after another: three classes in the bar though never together.
    args = Rolls(make_spec()).note(60, 0, 2).note(62, 4, 2).note(64, 8, 2).args()
    nan_equal(used_pitch_classes(*args), [3.0])
    nan_equal(polyphonicity(*args, threshold=1), [0.0])


@pytest.mark.parametrize(
    ("threshold", "steps_per_beat", "expected"),
    [(1 / 8, 24, 3), (1 / 8, 12, 2), (1 / 8, 8, 1), (1 / 8, 4, 1), (1 / 3, 12, 4), (0, 24, 1),
     (1, 12, 12), (0.25, 6, 2), (0.2, 12, 3), (1 / 8, 20, 3), (0.25, 5, 2)],
)  # fmt: skip
def test_qualified_min_steps(threshold: float, steps_per_beat: int, expected: int):
    assert qualified_min_steps(threshold, steps_per_beat) == expected


@pytest.mark.parametrize("bad", [-0.1, math.inf, math.nan, True, "1"])
def test_qualified_min_steps_rejects(bad: Any):
    with pytest.raises(ValueError, match="threshold_beats"):
        qualified_min_steps(bad, 4)


def test_qualified_note_rate_at_24_steps_per_beat():
    spec = make_spec(steps_per_beat=24, n_pitches=24, lowest_pitch=48)
    rolls = Rolls(spec).note(C4, 0, 2).note(C4, 2, 3).note(62, 10, 1).note(64, 20, 30)
    # Lengths 2, 3, 1, 30 (a repeated C is split): at 1/8 beat = 3 steps, two of four qualify.
    nan_equal(qualified_note_rate(*rolls.args()), [0.5])
    nan_equal(qualified_note_rate(*rolls.args(), threshold_beats=1 / 24), [1.0])
    nan_equal(qualified_note_rate(*rolls.args(), threshold_beats=1.25), [0.25])  # 30 steps


def test_every_note_qualifies_at_4_steps_per_beat():
    args = Rolls(make_spec()).note(C4, 0, 1).note(E4, 5, 1).args()
    nan_equal(qualified_note_rate(*args), [1.0])


@pytest.mark.parametrize("threshold_steps", [2, 3, 5, 7, 8, 12, 13])
def test_qualified_note_rate_long_thresholds(threshold_steps: int):
    spec = make_spec(steps_per_beat=12, n_bars=2, n_pitches=12, lowest_pitch=60)
    rolls = Rolls(spec)
    lengths = [1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 30]
    for i, length in enumerate(lengths):
        rolls.note(60 + i, 96 - length, length)  # the last two end at the phrase's end
    rolls.note(71, 0, 4).note(71, 4, 9)  # a repeated note: lengths 4 and 9
    lengths += [4, 9]
    expected = sum(length >= threshold_steps for length in lengths) / len(lengths)
    rate = qualified_note_rate(*rolls.args(), threshold_beats=threshold_steps / 12)
    nan_equal(rate, [expected])


def test_drum_grid_weights():
    nan_equal(drum_grid_weights(24), np.tile([1, 0.3, 0, 0, 0, 0.3], 4))
    nan_equal(drum_grid_weights(12), np.tile([1, 0.3, 0.3], 4))
    nan_equal(drum_grid_weights(8), np.tile([1, 0.3], 4))
    nan_equal(drum_grid_weights(4), np.ones(4))
    nan_equal(drum_grid_weights(2), np.ones(2))
    # 6 steps a beat: 16ths at 0, 1.5, 3, 4.5 steps -> steps 0, 2, 3, 5 (halves up).
    nan_equal(drum_grid_weights(6), [1, 0.3, 1, 1, 0.3, 1])
    nan_equal(drum_grid_weights(5, near_weight=0.5), [1, 1, 0.5, 1, 1])  # 0, 1.25, 2.5, 3.75


def drums_at(steps: list[int], *, steps_per_beat: int = 24, n_bars: int = 1) -> Rolls:
    spec = make_spec(2, drums=(1,), steps_per_beat=steps_per_beat, n_bars=n_bars)
    rolls = Rolls(spec)
    for i, step in enumerate(steps):
        rolls.note(36 + i % 3, step, 1, track=1)
    return rolls


def test_drum_pattern_on_grid_and_one_step_off():
    nan_equal(drum_pattern_rate(*drums_at([0, 6, 12, 18]).args()), [NAN, 1.0])
    # Three on the grid and one a step late: 1, 1, 1, 0.3 under the best (unshifted) grid.
    nan_equal(drum_pattern_rate(*drums_at([0, 6, 12, 1]).args()), [NAN, 3.3 / 4])
    # Two steps off weighs 0.
    nan_equal(drum_pattern_rate(*drums_at([0, 6, 12, 2]).args()), [NAN, 3 / 4])
    nan_equal(drum_pattern_rate(*drums_at([0, 6, 12, 1]).args(), near_weight=0), [NAN, 3 / 4])


def test_drum_pattern_takes_the_best_grid_phase_per_bar():
    # Bar 0: every hit 3 steps after a 16th (all on the grid shifted by 3). Bar 1: on the grid.
    rolls = drums_at([3, 9, 15, 33, 96, 102], n_bars=2)
    nan_equal(drum_pattern_rate(*rolls.args()), [NAN, 1.0])
    # One phrase-wide phase could not fit both bars; with 2 off-phase hits in bar 1 instead:
    # bar 0 scores 4 (shift 3), bar 1 scores max(2 on + 0, shift 3: 2 on) = 2 -> 6 / 8.
    rolls = drums_at([3, 9, 15, 33, 96, 102, 99, 105], n_bars=2)
    nan_equal(drum_pattern_rate(*rolls.args()), [NAN, 6 / 8])


def test_drum_pattern_counts_simultaneous_hits_and_ignores_length():
    rolls = drums_at([])
    rolls.chord([36, 38, 42], 6, 5, track=1)  # three drums struck together, held 5 steps
    rolls.note(36, 13, 1, track=1)  # one step off the grid
    nan_equal(drum_pattern_rate(*rolls.args()), [NAN, 3.3 / 4])
    nan_equal(used_pitch_classes(*rolls.args()), [NAN, NAN])  # pitch metrics skip drums
    nan_equal(mean_note_length(*rolls.args()), [NAN, NAN])
    nan_equal(notes_per_bar(*rolls.args()), [0.0, 4.0])  # notes per bar covers drums too


def test_tonal_centroid_matrix_angles():
    m = tonal_centroid_matrix()
    assert m.shape == (6, 12)
    nan_equal(m[:, 0], [0, 1, 0, 1, 0, 0.5])  # C
    s3 = math.sqrt(3)
    # G (k = 7): fifths at 49pi/6 = pi/6, minor thirds at 21pi/2 = pi/2, major at 14pi/3.
    nan_equal(m[:, 7], [0.5, s3 / 2, 1, 0, s3 / 4, -0.25])
    fifths, major_thirds = 4 * 7 * math.pi / 6, 4 * 2 * math.pi / 3  # E (k = 4)
    expected = [math.sin(fifths), math.cos(fifths), 0, 1]
    expected += [0.5 * math.sin(major_thirds), 0.5 * math.cos(major_thirds)]
    nan_equal(m[:, 4], expected)


C_VS_G = math.sqrt(19 / 4 - math.sqrt(3))  # |m[:, 0] - m[:, 7]| worked out by hand


def test_tonal_distance_known_values():
    spec = make_spec(3, n_bars=1)
    rolls = Rolls(spec)
    rolls.note(48, 0, 4, track=0).note(72, 0, 4, track=1)  # beat 0: C vs C (other octave)
    rolls.note(48, 4, 4, track=0).note(55, 4, 4, track=1)  # beat 1: C vs G
    rolls.note(48, 8, 4, track=0)  # beat 2: track 1 silent, skipped
    rolls.note(60, 12, 4, track=2)  # track 2 sounds only in beat 3, alone
    td = tonal_distance(*rolls.args())
    assert list(td) == [(0, 1), (0, 2), (1, 2)]
    assert td[(0, 1)] == pytest.approx((0 + C_VS_G) / 2, abs=1e-12)
    assert math.isnan(td[(0, 2)])
    assert math.isnan(td[(1, 2)])


def test_tonal_distance_weights_chroma_by_sounding_steps():
    rolls = Rolls(make_spec(2))
    rolls.note(60, 0, 2, track=0).note(67, 2, 2, track=0)  # half the beat C, half G
    rolls.note(48, 0, 4, track=1)  # C throughout
    # Centroids (c0 + c7) / 2 and c0: the distance is half of C vs G.
    assert tonal_distance(*rolls.args())[(0, 1)] == pytest.approx(C_VS_G / 2, abs=1e-12)


def test_tonal_distance_skips_drum_tracks():
    spec = make_spec(3, drums=(1,))
    rolls = Rolls(spec).note(60, 0, 4, track=0).note(38, 0, 4, track=1).note(67, 0, 4, track=2)
    assert tonal_distance(*rolls.args()) == {(0, 2): pytest.approx(C_VS_G, abs=1e-12)}


# --- sample-set measures ------------------------------------------------------------------------


def test_unique_rate_counts_identical_notes_once():
    rolls = Rolls(make_spec(), n_phrases=5)
    rolls.note(60, 0, 4, phrase=0).note(60, 0, 4, phrase=1)  # 0 and 1: the same
    rolls.note(60, 0, 4, phrase=2)
    rolls.onsets[2, 0, 0, 9, 0] = True  # an onset on a silent step: same notes as 0
    rolls.note(60, 0, 2, phrase=3).note(60, 2, 2, phrase=3)  # C, C: same frames, other notes
    # Phrase 4 stays empty.
    assert unique_rate(rolls.frames, rolls.onsets) == pytest.approx(3 / 5)
    assert unique_rate(rolls.frames, rolls.onsets, chunk_size=2) == pytest.approx(3 / 5)
    assert math.isnan(unique_rate(rolls.frames[:0], rolls.onsets[:0]))


def test_count_reference_copies():
    samples = Rolls(make_spec(), n_phrases=4)
    for i in range(4):
        samples.note(60 + i, 0, 4, phrase=i)
    samples.note(70, 8, 2, phrase=3)
    reference = Rolls(make_spec(), n_phrases=3)
    reference.note(61, 0, 4, phrase=0).note(62, 0, 4, phrase=1).note(63, 0, 4, phrase=2)
    copies = count_reference_copies(
        samples.frames, samples.onsets, reference.frames, reference.onsets
    )
    assert copies == 2  # samples 1 and 2; sample 3 has an extra note
    doubled = np.concatenate([samples.frames, samples.frames[1:2]])
    doubled_onsets = np.concatenate([samples.onsets, samples.onsets[1:2]])
    assert count_reference_copies(doubled, doubled_onsets, reference.frames, reference.onsets) == 3


def test_mean_pairwise_distance_by_hand():
    spec = make_spec(n_pitches=2, lowest_pitch=60)  # 1 x 1 x 16 x 2 = 32 cells
    rolls = Rolls(spec, n_phrases=3)
    rolls.note(60, 0, 4, phrase=1)  # 4 cells from the empty phrase 0
    rolls.note(61, 0, 8, phrase=2)  # 8 cells from phrase 0, 12 from phrase 1
    assert mean_pairwise_distance(rolls.frames) == pytest.approx((4 + 8 + 12) / 3 / 32)
    assert math.isnan(mean_pairwise_distance(rolls.frames[:1]))


def test_mean_pairwise_distance_subsamples_deterministically():
    rng = np.random.default_rng(5)
    frames = rng.random((60, 1, 1, 8, 8)) < rng.random((60, 1, 1, 1, 1))
    exact = mean_pairwise_distance(frames)  # 1,770 pairs: all of them
    sampled = mean_pairwise_distance(frames, max_pairs=1500, seed=3)
    assert sampled == mean_pairwise_distance(frames, max_pairs=1500, seed=3)
    assert sampled != exact
    assert sampled == pytest.approx(exact, rel=0.05)
    flat = frames.reshape(60, -1)
    brute = np.mean([(flat[i] != flat[j]).mean() for i in range(60) for j in range(i + 1, 60)])
    assert exact == pytest.approx(brute, abs=1e-12)


def test_nearest_neighbour_distances_by_brute_force():
    rng = np.random.default_rng(7)
    shape = (2, 2, 8, 6)
    samples = rng.random((13, *shape)) < 0.2
    reference = rng.random((9, *shape)) < 0.2
    reference[:, 1] = False  # cells no reference uses: the products skip them
    samples[2, 1] = False
    reference[4] = samples[2]  # a copy: distance 0
    expected = [min((s.ravel() != r.ravel()).sum() for r in reference) / s.size for s in samples]
    for chunk_size in (None, 1, 4, 100):
        distances = nearest_neighbour_distances(samples, reference, chunk_size=chunk_size)
        nan_equal(distances, expected)
    assert nearest_neighbour_distances(samples, reference)[2] == 0


def test_set_measures_check_their_arguments():
    frames = np.zeros((2, 1, 1, 4, 3), dtype=np.bool_)
    with pytest.raises(ValueError, match="reference phrases have shape"):
        nearest_neighbour_distances(frames, np.zeros((2, 1, 1, 4, 4), dtype=np.bool_))
    with pytest.raises(ValueError, match="no phrase"):
        nearest_neighbour_distances(frames, frames[:0])
    with pytest.raises(ValueError, match="frames must be a bool array"):
        mean_pairwise_distance(frames.astype(np.uint8))
    with pytest.raises(ValueError, match="max_pairs"):
        mean_pairwise_distance(frames, max_pairs=0)


# --- evaluate, the report, the definitions table ----------------------------------------------


def random_phrases(
    spec: PhraseSpec, n_phrases: int, seed: int, density: float = 0.08
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = rng.random((n_phrases, *spec.shape)) < density
    onsets = rng.random((n_phrases, *spec.shape)) < 0.3
    return frames, onsets


SPEC4 = make_spec(4, drums=(1,), steps_per_beat=12, n_bars=2, lowest_pitch=40, n_pitches=30)


def test_evaluate_does_not_depend_on_chunk_size():
    frames, onsets = random_phrases(SPEC4, 23, seed=1)
    frames[3] = frames[4]
    onsets[3] = onsets[4]
    reference = random_phrases(SPEC4, 7, seed=2)
    reference[0][1] = frames[5]
    reference[1][1] = onsets[5]
    reports = [
        evaluate(frames, onsets, SPEC4, reference=reference, chunk_size=size).to_dict()
        for size in (1, 4, 23, 1000)
    ]
    for report in reports[1:]:
        assert report == reports[0]  # exactly, not approximately
    assert reports[0]["set"]["unique_rate"] == pytest.approx(22 / 23)
    assert reports[0]["set"]["n_reference_copies"] == 1


def test_evaluate_agrees_with_the_single_metrics():
    frames, onsets = random_phrases(SPEC4, 9, seed=3)
    args = (frames, onsets, SPEC4)
    report = evaluate(*args, qn_threshold_beats=0.25, pp_threshold=1, dp_near_weight=0.5)
    nan_equal(report.empty_bar_rate, empty_bar_rate(*args))
    nan_equal(report.used_pitch_classes, used_pitch_classes(*args))
    nan_equal(report.qualified_note_rate, qualified_note_rate(*args, threshold_beats=0.25))
    nan_equal(report.polyphonicity, polyphonicity(*args, threshold=1))
    nan_equal(report.drum_pattern_rate, drum_pattern_rate(*args, near_weight=0.5))
    nan_equal(report.notes_per_bar, notes_per_bar(*args))
    nan_equal(report.mean_note_length, mean_note_length(*args))
    nan_equal(report.pitch_range, pitch_range(*args))
    td = tonal_distance(*args)
    assert report.pairs == tuple(td) == ((0, 2), (0, 3), (2, 3))
    nan_equal(report.tonal_distance, list(td.values()))
    assert report.unique_rate == unique_rate(frames, onsets)
    assert report.mean_pairwise_distance == mean_pairwise_distance(frames)
    assert report.nn_distances is None
    assert report.nn_distance is None
    assert report.n_reference_copies is None
    assert report.settings["qn_min_steps"] == 3


def test_phrase_metrics_are_the_metrics_of_each_phrase_alone():
    frames, onsets = random_phrases(SPEC4, 6, seed=8)
    frames[2] = False  # an empty phrase: NaN wherever there is nothing to average
    values = phrase_metrics(frames, onsets, SPEC4, qn_threshold_beats=0.25, chunk_size=4)
    singles: dict[str, Callable[..., Any]] = {
        "empty_bar_rate": empty_bar_rate,
        "used_pitch_classes": used_pitch_classes,
        "qualified_note_rate": lambda *a: qualified_note_rate(*a, threshold_beats=0.25),
        "polyphonicity": polyphonicity,
        "drum_pattern_rate": drum_pattern_rate,
        "notes_per_bar": notes_per_bar,
        "mean_note_length": mean_note_length,
        "pitch_range": pitch_range,
        "tonal_distance": lambda *a: list(tonal_distance(*a).values()),
    }
    assert set(values) == set(singles)
    for key, single in singles.items():
        assert values[key].shape == (6, 3 if key == "tonal_distance" else 4)
        for i in range(6):
            nan_equal(values[key][i], single(frames[i : i + 1], onsets[i : i + 1], SPEC4))
    assert np.isnan(values["used_pitch_classes"][2]).all()
    nan_equal(values["notes_per_bar"][2], [0, 0, 0, 0])
    report = evaluate(frames, onsets, SPEC4, qn_threshold_beats=0.25, per_phrase=True)
    assert report.per_phrase is not None
    for key, array in values.items():
        assert np.array_equal(report.per_phrase[key], array, equal_nan=True), key
    assert evaluate(frames, onsets, SPEC4).per_phrase is None


def test_report_to_dict_is_plain_json():
    frames, onsets = random_phrases(SPEC4, 5, seed=4)
    report = evaluate(frames, onsets, SPEC4, reference=random_phrases(SPEC4, 3, seed=5))
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)  # NaN became None
    assert json.loads(text) == data
    assert data["per_track"]["used_pitch_classes"][1] is None  # the drum track
    assert data["per_track"]["drum_pattern_rate"][0] is None
    assert data["pairs"][0]["names"] == ["t0", "t2"]
    assert report.nn_distances is not None
    assert data["set"]["nn_distance"] == pytest.approx(float(report.nn_distances.mean()))
    assert [t["is_drum"] for t in data["tracks"]] == [False, True, False, False]


def test_definitions_table_matches_the_report():
    fields = {f.name for f in dataclasses.fields(MetricReport)}
    for info in METRICS:
        assert METRICS_BY_KEY[info.key] is info
        assert info.key in fields or info.key == "nn_distance", info.key
        assert info.scope in ("pitched", "drums", "all", "pair", "set")
        assert info.better in ("closer", "higher", "lower")
        assert getattr(metrics, info.key, None) is None or callable(getattr(metrics, info.key))
    shorts = [info.short for info in METRICS]
    assert len(set(shorts)) == len(shorts)
    assert {"EB", "UPC", "QN", "PP", "DP", "TD"} <= set(shorts)
    assert hasattr(MetricReport, "nn_distance")


@pytest.mark.parametrize(
    ("frames", "onsets", "message"),
    [
        (np.zeros((1, 1, 1, 16, 48), np.uint8), None, "frames must be a bool array"),
        (np.zeros((1, 1, 1, 16, 48), np.bool_), np.zeros((1, 1, 1, 16, 47), np.bool_),
         "onsets has shape"),
        (np.zeros((1, 1, 1, 16, 47), np.bool_), None, "the PhraseSpec says"),
        (np.zeros((1, 1, 16, 48), np.bool_), None, "frames must be a bool array"),
    ],
)  # fmt: skip
def test_evaluate_checks_its_arguments(frames: np.ndarray, onsets: Any, message: str):
    onsets = np.zeros(frames.shape, np.bool_) if onsets is None else onsets
    with pytest.raises(ValueError, match=message):
        evaluate(frames, onsets, make_spec())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"chunk_size": 0}, "chunk_size"), ({"pp_threshold": -1}, "threshold"),
     ({"dp_near_weight": 1.5}, "near_weight"), ({"qn_threshold_beats": -1}, "threshold_beats")],
)  # fmt: skip
def test_evaluate_checks_its_settings(kwargs: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=message):
        evaluate(*Rolls(make_spec()).args(), **kwargs)


# --- a slow reference written from the docstrings ---------------------------------------------


Notes = list[list[list[tuple[int, int, int]]]]


def decoded_notes(frames: np.ndarray, onsets: np.ndarray, spec: PhraseSpec) -> Notes:
    """``notes[phrase][track]``: (start step, length, MIDI pitch) from roll_to_pattern."""
    # One tick per step: a quarter of spb ticks, bars of beats_per_bar quarters.
    tracks = [
        Track(f"t{i}", is_drum=drum, channel=DRUM_CHANNEL if drum else i % 9)
        for i, drum in enumerate(spec.is_drum)
    ]
    template = Pattern(
        tracks,
        n_bars=spec.n_bars,
        ticks_per_quarter=spec.steps_per_beat,
        time_signature=TimeSignature(spec.beats_per_bar, 4),
    )
    out = []
    for i in range(len(frames)):
        roll = PianoRoll(frames[i], onsets[i], np.zeros(frames[i].shape, np.uint8), spec.grid)
        pattern = roll_to_pattern(roll, template)
        out.append([[(n.start, n.duration, n.pitch) for n in t.notes] for t in pattern.tracks])
    return out


def reference_metrics(
    frames: np.ndarray,
    onsets: np.ndarray,
    spec: PhraseSpec,
    *,
    qn_threshold_beats: float = 1 / 8,
    pp_threshold: int = 2,
    near_weight: float = 0.3,
) -> dict[str, Any]:
    n, n_tracks, n_bars, n_steps, _ = frames.shape
    spb = spec.steps_per_beat
    notes = decoded_notes(frames, onsets, spec)
    # The decimal the caller meant (0.2, not the binary float just above it), as the engine does.
    min_steps = max(1, math.ceil(Fraction(qn_threshold_beats).limit_denominator(10**6) * spb))
    grid = {math.floor(Fraction(k * spb, 4) + Fraction(1, 2)) % spb for k in range(4)}
    near = {(g + d) % spb for g in grid for d in (-1, 1)} - grid

    def weight(step: int) -> float:
        return 1.0 if step in grid else near_weight if step in near else 0.0

    def ratio(num: float, den: float) -> float:
        return num / den if den else NAN

    out: dict[str, Any] = {k: [] for k in ("EB", "UPC", "PR", "PP", "QN", "NL", "NPB", "DP")}
    for t in range(n_tracks):
        drum = spec.is_drum[t]
        nonempty = classes = spans = poly = 0
        for i in range(n):
            for b in range(n_bars):
                bar = frames[i, t, b]
                if not bar.any():
                    continue
                nonempty += 1
                used = [spec.lowest_pitch + p for p in range(spec.n_pitches) if bar[:, p].any()]
                classes += len({p % 12 for p in used})
                spans += max(used) - min(used)
                poly += sum(int(bar[s].sum()) > pp_threshold for s in range(n_steps))
        track_notes = [note for i in range(n) for note in notes[i][t]]
        lengths = [length for _, length, _ in track_notes]
        score = 0.0
        for i in range(n):
            for b in range(n_bars):
                hits = [s - b * n_steps for s, _, _ in notes[i][t] if s // n_steps == b]
                shifts = range(-(-spb // 4))
                score += max(sum(weight((h - s) % spb) for h in hits) for s in shifts)
        out["EB"].append(ratio(n * n_bars - nonempty, n * n_bars))
        out["NPB"].append(ratio(len(track_notes), n * n_bars))
        out["UPC"].append(NAN if drum else ratio(classes, nonempty))
        out["PR"].append(NAN if drum else ratio(spans, nonempty))
        out["PP"].append(NAN if drum else ratio(poly, nonempty * n_steps))
        out["QN"].append(NAN if drum else ratio(sum(x >= min_steps for x in lengths), len(lengths)))
        out["NL"].append(NAN if drum else ratio(sum(lengths), len(lengths) * spb))
        out["DP"].append(ratio(score, len(lengths)) if drum else NAN)

    # Tonal distance, from Harte et al.'s formula with math.sin / math.cos.
    def centroid(chroma: list[int]) -> list[float]:
        total = sum(chroma)
        out = [0.0] * 6
        for k, count in enumerate(chroma):
            for row, (radius, angle) in enumerate(
                [(1, 7 * math.pi / 6), (1, 3 * math.pi / 2), (0.5, 2 * math.pi / 3)]
            ):
                out[2 * row] += count / total * radius * math.sin(k * angle)
                out[2 * row + 1] += count / total * radius * math.cos(k * angle)
        return out

    pitched = [t for t in range(n_tracks) if not spec.is_drum[t]]
    td = {}
    for x, a in enumerate(pitched):
        for b in pitched[x + 1 :]:
            distances = []
            for i in range(n):
                for beat in range(n_bars * spec.beats_per_bar):
                    bar, offset = divmod(beat * spb, n_steps)
                    chromas = []
                    for t in (a, b):
                        steps = frames[i, t, bar, offset : offset + spb]
                        chroma = [0] * 12
                        for p in np.flatnonzero(steps.any(axis=0)):
                            chroma[(spec.lowest_pitch + p) % 12] += int(steps[:, p].sum())
                        chromas.append(chroma)
                    if sum(chromas[0]) and sum(chromas[1]):
                        ca, cb = centroid(chromas[0]), centroid(chromas[1])
                        distances.append(math.dist(ca, cb))
            td[(a, b)] = sum(distances) / len(distances) if distances else NAN
    out["TD"] = td
    return out


@st.composite
def phrase_sets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, PhraseSpec]:
    n_tracks = draw(st.integers(1, 3))
    n_pitches = draw(st.integers(1, 14))
    spec = PhraseSpec(
        track_names=tuple(f"t{i}" for i in range(n_tracks)),
        is_drum=tuple(draw(st.lists(st.booleans(), min_size=n_tracks, max_size=n_tracks))),
        programs=(0,) * n_tracks,
        steps_per_beat=draw(st.sampled_from([1, 2, 3, 4, 5, 6, 8, 12, 24])),
        beats_per_bar=draw(st.integers(1, 4)),
        n_bars=draw(st.integers(1, 3)),
        lowest_pitch=draw(st.integers(0, 128 - n_pitches)),
        n_pitches=n_pitches,
    )
    n_phrases = draw(st.integers(0, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.9, 1.0]))
    onset_density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    shape = (n_phrases, *spec.shape)
    return rng.random(shape) < density, rng.random(shape) < onset_density, spec


@settings(max_examples=120, deadline=None)
@given(
    phrase_sets(),
    st.sampled_from([1 / 8, 0.2, 1 / 4, 1 / 3, 1.0]),
    st.integers(0, 3),
    st.sampled_from([0.3, 0.0, 1.0]),
)
def test_metrics_equal_the_slow_reference(
    case: tuple[np.ndarray, np.ndarray, PhraseSpec], qn: float, pp: int, near: float
):
    frames, onsets, spec = case
    report = evaluate(
        frames, onsets, spec, qn_threshold_beats=qn, pp_threshold=pp, dp_near_weight=near,
        chunk_size=2,
    )  # fmt: skip
    expected = reference_metrics(
        frames, onsets, spec, qn_threshold_beats=qn, pp_threshold=pp, near_weight=near
    )
    for short, key in [
        ("EB", "empty_bar_rate"), ("UPC", "used_pitch_classes"), ("PR", "pitch_range"),
        ("PP", "polyphonicity"), ("QN", "qualified_note_rate"), ("NL", "mean_note_length"),
        ("NPB", "notes_per_bar"), ("DP", "drum_pattern_rate"),
    ]:  # fmt: skip
        np.testing.assert_allclose(
            getattr(report, key), expected[short], rtol=1e-12, atol=1e-12, err_msg=short
        )
    assert report.pairs == tuple(expected["TD"])
    np.testing.assert_allclose(
        report.tonal_distance, list(expected["TD"].values()), rtol=1e-9, atol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(phrase_sets())
def test_metric_ranges(case: tuple[np.ndarray, np.ndarray, PhraseSpec]):
    frames, onsets, spec = case
    report = evaluate(frames, onsets, spec)

    def within(values: Any, low: float, high: float) -> bool:
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        return bool(((values >= low) & (values <= high)).all())

    for key in ("empty_bar_rate", "qualified_note_rate", "polyphonicity", "drum_pattern_rate"):
        assert within(getattr(report, key), 0, 1), key
    assert within(report.used_pitch_classes, 1, 12)
    assert within(report.pitch_range, 0, spec.n_pitches - 1)
    assert within(report.notes_per_bar, 0, spec.n_steps_per_bar * spec.n_pitches)
    assert within(
        report.mean_note_length, 1 / spec.steps_per_beat, spec.n_bars * spec.beats_per_bar
    )
    assert within(report.tonal_distance, 0, 3)
    assert within([report.unique_rate, report.mean_pairwise_distance], 0, 1)
    pitched = ~np.array(spec.is_drum)
    assert np.isnan(report.used_pitch_classes[~pitched]).all()
    assert np.isnan(report.drum_pattern_rate[pitched]).all()
    if len(frames):
        assert not np.isnan(report.empty_bar_rate).any()


@settings(max_examples=80, deadline=None)
@given(phrase_sets())
def test_extract_notes_equals_roll_to_pattern(case: tuple[np.ndarray, np.ndarray, PhraseSpec]):
    frames, onsets, spec = case
    table = extract_notes(frames, onsets)
    assert all(len(a) == len(table) for a in (table.phrase, table.track, table.pitch))
    assert (table.length >= 1).all()
    expected = decoded_notes(frames, onsets, spec)
    for i in range(len(frames)):
        for t in range(spec.n_tracks):
            mine = (table.phrase == i) & (table.track == t)
            found = sorted(
                zip(
                    table.start[mine].tolist(),
                    table.length[mine].tolist(),
                    (table.pitch[mine] + spec.lowest_pitch).tolist(),
                    strict=True,
                )
            )
            assert found == sorted(expected[i][t])
    # Every sounding cell belongs to exactly one note.
    assert int(table.length.sum()) == int(frames.sum())


@settings(max_examples=40, deadline=None)
@given(phrase_sets(), st.integers(1, 4))
def test_chunking_never_changes_a_result(
    case: tuple[np.ndarray, np.ndarray, PhraseSpec], chunk_size: int
):
    frames, onsets, spec = case
    whole = evaluate(frames, onsets, spec, chunk_size=1000, per_phrase=True)
    parts = evaluate(frames, onsets, spec, chunk_size=chunk_size, per_phrase=True)
    assert parts.to_dict() == whole.to_dict()
    assert whole.per_phrase is not None
    assert parts.per_phrase is not None
    for key, array in whole.per_phrase.items():
        assert np.array_equal(parts.per_phrase[key], array, equal_nan=True), key


def test_phrase_keys_ignore_redundant_onsets_only():
    rolls = Rolls(make_spec(), n_phrases=3)
    rolls.note(60, 0, 4, phrase=0).note(60, 0, 4, phrase=1).note(60, 0, 4, phrase=2)
    rolls.onsets[1, 0, 0, 10, :] = True  # silent steps: no note changes
    rolls.onsets[2, 0, 0, 2, 24] = True  # splits the note in two
    keys = metrics._phrase_keys(rolls.frames, rolls.onsets, 2)
    assert keys[0] == keys[1] != keys[2]
