# SPDX-License-Identifier: MIT
"""Listening features and Yang and Lerch's set measures, on hand-built phrases with known
answers (the note-building helpers are those of the metric tests)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.feature_overlap import compare_densities, overlap, split_halves
from engine.gan.pick import LABELS, compare, listening
from engine.metrics import evaluate
from engine.note_features import (
    LENGTH_SHARE_STEPS,
    MAX_INTERVAL,
    compare_features,
    note_features,
    total_variation,
)
from tests.engine.test_metrics import Rolls, make_spec

C4, D4, E4, F4, G4 = 60, 62, 64, 65, 67


def _bin(semitones: int) -> int:
    """Index of a melodic step in the interval histogram."""
    return max(-MAX_INTERVAL - 1, min(MAX_INTERVAL + 1, semitones)) + MAX_INTERVAL + 1


def test_a_held_note_struck_again_is_a_restrike_and_a_rest_between_is_not() -> None:
    rolls = Rolls(make_spec())  # one 16-step bar
    rolls.note(C4, 0, 4).note(C4, 4, 4)  # struck again where it ended: a re-strike
    rolls.note(C4, 10, 2)  # after a rest of 2 steps: not one
    rolls.note(E4, 12, 4)  # another pitch: not one
    features = note_features(*rolls.args())
    assert features.n_notes.tolist() == [4]
    assert features.restrike == pytest.approx([1 / 4])
    np.testing.assert_allclose(features.npb, [4.0])


def test_note_lengths_shares_and_their_histogram() -> None:
    rolls = Rolls(make_spec(n_bars=2))  # 32 steps
    for start, length in ((0, 1), (1, 2), (3, 3), (6, 4), (10, 8), (18, 14)):
        rolls.note(C4 + start % 5, start, length)
    features = note_features(*rolls.args())
    expected = {1: 6 / 6, 2: 5 / 6, 3: 4 / 6, 4: 3 / 6, 8: 2 / 6}
    assert features.length_shares[0] == pytest.approx([expected[k] for k in LENGTH_SHARE_STEPS])
    histogram = np.zeros(17)
    for length in (1, 2, 3, 4, 8, 14):
        histogram[length - 1] += 1 / 6
    np.testing.assert_allclose(features.length[0], histogram)
    # Lengths beyond a bar share the last bin.
    long = note_features(*Rolls(make_spec(n_bars=2)).note(C4, 0, 20).args())
    assert long.length[0, -1] == 1.0
    # QN at 1/4, 1/2 and 3/4 beat: notes of at least 1, 2 and 3 steps.
    assert features.qn[0] == pytest.approx([1.0, 5 / 6, 4 / 6])


def test_inter_onset_intervals_count_distinct_onset_times() -> None:
    rolls = Rolls(make_spec())
    rolls.chord([C4, E4, G4], 0, 4)  # one onset time for three notes
    rolls.note(D4, 4, 2).note(F4, 10, 6)
    features = note_features(*rolls.args())
    expected = np.zeros(17)
    expected[4 - 1] = 0.5  # 0 -> 4
    expected[6 - 1] = 0.5  # 4 -> 10
    np.testing.assert_allclose(features.ioi[0], expected)


def test_pitch_intervals_follow_the_top_of_each_onset_time() -> None:
    rolls = Rolls(make_spec(n_bars=2))
    rolls.chord([C4, G4], 0, 4)  # top G4
    rolls.note(E4, 4, 4)  # G4 -> E4: -3
    rolls.note(E4 + 14, 8, 4)  # E4 -> F#5: +14, beyond an octave
    rolls.note(E4 + 14, 12, 4)  # repeated: 0
    features = note_features(*rolls.args())
    expected = np.zeros(2 * MAX_INTERVAL + 3)
    for step in (-3, 14, 0):
        expected[_bin(step)] += 1 / 3
    np.testing.assert_allclose(features.interval[0], expected)


def test_each_phrase_and_track_is_measured_on_its_own() -> None:
    spec = make_spec(2, n_bars=1)
    rolls = Rolls(spec, n_phrases=2)
    rolls.note(C4, 0, 16, phrase=0, track=0)
    rolls.note(C4, 0, 8, phrase=1, track=0).note(C4, 8, 8, phrase=1, track=0)
    rolls.note(E4, 0, 2, phrase=1, track=1)
    features = note_features(*rolls.args())
    # A re-strike needs the previous note in the same phrase and track.
    restrike = features.per_phrase["restrike"][:, :, 0]
    np.testing.assert_allclose(restrike, [[0.0, math.nan], [0.5, 0.0]])
    assert features.restrike == pytest.approx([1 / 3, 0.0])
    np.testing.assert_allclose(features.per_phrase["npb"][:, :, 0], [[1, 0], [2, 1]])
    assert features.npb == pytest.approx([1.5, 0.5])


def test_drum_tracks_get_rhythm_features_only() -> None:
    spec = make_spec(2, drums=(1,))
    rolls = Rolls(spec).note(C4, 0, 4, track=0)
    rolls.note(C4, 0, 1, track=1).note(C4, 4, 1, track=1)
    features = note_features(*rolls.args())
    assert math.isnan(features.restrike[1])
    assert np.isnan(features.length[1]).all()
    assert features.ioi[1, 4 - 1] == 1.0
    assert features.npb == pytest.approx([1.0, 2.0])


def test_total_variation_is_half_the_l1_distance() -> None:
    assert total_variation(np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])) == 0.5
    assert total_variation(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert total_variation(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 1.0


# --- Yang and Lerch's overlapping area and KL -----------------------------------------------


def test_two_normal_densities_overlap_as_the_formula_says() -> None:
    """Two unit normals one apart overlap by 2 * Phi(-1/2) = 0.617 and have KL 1/2; the KDE
    widens each a little (Scott's rule), which the tolerances allow."""
    rng = np.random.default_rng(0)
    a = rng.normal(10.0, 1.0, 50_000)
    b = rng.normal(11.0, 1.0, 50_000)
    result = compare_densities(a, b)
    assert result.oa == pytest.approx(2 * 0.5 * math.erfc(0.5 / math.sqrt(2)), abs=0.01)
    assert result.kl == pytest.approx(0.5, abs=0.03)
    same = compare_densities(a, rng.normal(10.0, 1.0, 50_000))
    assert same.oa > 0.98
    assert same.kl < 0.005
    apart = compare_densities(a, rng.normal(30.0, 1.0, 50_000))
    assert apart.oa < 1e-3
    assert apart.kl > 10


def test_overlap_of_sets_like_each_other_is_high_and_of_unlike_sets_low() -> None:
    rng = np.random.default_rng(1)
    real = rng.normal(0.0, 1.0, (400, 3))
    like = rng.normal(0.0, 1.0, (400, 3))
    unlike = rng.normal(3.0, 1.0, (400, 3))
    assert overlap(real, like).oa > 0.95
    assert overlap(real, unlike).oa < 0.3
    assert overlap(real, unlike).kl > overlap(real, like).kl
    # Phrases without the feature (NaN) take no part.
    with_gaps = like.copy()
    with_gaps[::2] = np.nan
    assert overlap(real, with_gaps).oa > 0.9
    assert math.isnan(overlap(real, np.full((5, 3), np.nan)).oa)


def test_split_halves_are_disjoint_and_cover_everything() -> None:
    first, second = split_halves(11, seed=3)
    assert len(first) == 5
    assert sorted([*first, *second]) == list(range(11))


# --- a choppy model against a legato one ------------------------------------------------------


def _quarters(n_phrases: int, length: int, seed: int) -> Rolls:
    """Phrases of four notes a bar, one per beat on four distinct pitches of C major, each
    ``length`` steps long (seeded: the same pitches whatever the length)."""
    spec = make_spec(n_bars=2)
    rolls = Rolls(spec, n_phrases)
    rng = np.random.default_rng(seed)
    for phrase in range(n_phrases):
        scale = [0, 2, 4, 5, 7, 9, 11]
        pitches = C4 + np.concatenate([rng.choice(scale, size=4, replace=False) for _ in "ab"])
        for beat, pitch in enumerate(pitches):
            rolls.note(int(pitch), 4 * beat, length, phrase=phrase)
    return rolls


def test_pick_prefers_held_notes_to_clipped_ones_that_the_old_metrics_cannot_tell_apart() -> None:
    real = _quarters(60, 4, seed=0)
    legato = _quarters(60, 4, seed=1)  # other notes, same rhythm as real
    choppy = _quarters(60, 1, seed=1)  # the same notes cut to a 16th each
    spec = real.spec
    real_report = evaluate(*real.args())
    first, _ = split_halves(60)
    intra = note_features(real.frames[first], real.onsets[first], spec)
    real_notes = listening(real.frames, real.onsets, spec, note_features(*real.args()), intra)

    def score(rolls: Rolls, with_listening: bool) -> float:
        report = evaluate(*rolls.args())
        if not with_listening:
            return compare(report, real_report).mean_error
        notes = listening(rolls.frames, rolls.onsets, spec, real_notes.features, intra)
        return compare(report, real_report, notes, real_notes).mean_error

    # EB, UPC, QN (1/8 beat), PP and notes per bar are the same for both...
    assert score(choppy, False) == pytest.approx(score(legato, False))
    # ...the note lengths are not.
    assert score(legato, True) < score(choppy, True)
    notes = listening(choppy.frames, choppy.onsets, spec, real_notes.features, intra)
    assert notes.against_real.tv["length"][0] == pytest.approx(1.0)
    # pick prints one "met" mark per label, in the order of the errors.
    result = compare(evaluate(*choppy.args()), real_report, notes, real_notes)
    assert list(result.errors) == list(LABELS)
    assert compare_features(real_notes.features, real_notes.features).tv["length"][0] == 0.0
