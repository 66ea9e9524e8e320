# SPDX-License-Identifier: MIT
"""engine.metrics against independent implementations: MusPy 0.5 and pypianoroll 1.0.4.

Each comparison is made where the definitions coincide, on random rolls cut so that they do
(one bar, one track, ...); MusPy gets the notes that :func:`engine.pianoroll.roll_to_pattern`
decodes (one tick per step), pypianoroll the frames. Where a definition deliberately differs,
or the other library is wrong, the test says so and shows it instead of comparing.
"""

from __future__ import annotations

import math
from typing import Any

import muspy
import numpy as np
import pypianoroll
import pytest

from engine.metrics import (
    drum_pattern_rate,
    empty_bar_rate,
    pitch_range,
    polyphonicity,
    tonal_centroid_matrix,
    tonal_distance,
    used_pitch_classes,
)
from engine.music import DRUM_CHANNEL, Pattern, TimeSignature, Track
from engine.pianoroll import PhraseSpec, PianoRoll, roll_to_pattern


def make_spec(
    *,
    drum: bool = False,
    steps_per_beat: int = 4,
    n_bars: int = 1,
    lowest_pitch: int = 36,
    n_pitches: int = 48,
) -> PhraseSpec:
    return PhraseSpec(("t",), (drum,), (0,), steps_per_beat, 4, n_bars, lowest_pitch, n_pitches)


def random_phrases(spec: PhraseSpec, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` one-track phrases of varied density (some empty), onsets on a third of steps."""
    rng = np.random.default_rng(seed)
    density = rng.choice([0.0, 0.02, 0.1, 0.4], size=(n, 1, 1, 1, 1))
    frames = rng.random((n, *spec.shape)) < density
    onsets = rng.random((n, *spec.shape)) < 0.3
    return frames, onsets


def notes_of(frames: np.ndarray, onsets: np.ndarray, spec: PhraseSpec) -> list[muspy.Note]:
    """The one track's notes of one phrase, decoded by roll_to_pattern, as MusPy notes."""
    track = Track("t", is_drum=spec.is_drum[0], channel=DRUM_CHANNEL if spec.is_drum[0] else 0)
    template = Pattern(
        (track,),
        n_bars=spec.n_bars,
        ticks_per_quarter=spec.steps_per_beat,  # one tick per step
        time_signature=TimeSignature(spec.beats_per_bar, 4),
    )
    roll = PianoRoll(frames, onsets, np.zeros(frames.shape, np.uint8), spec.grid)
    pattern = roll_to_pattern(roll, template)
    return [muspy.Note(n.start, n.pitch, n.duration, n.velocity) for n in pattern.tracks[0].notes]


def music_of(notes: list[muspy.Note], spec: PhraseSpec, **track: Any) -> muspy.Music:
    return muspy.Music(
        resolution=spec.steps_per_beat,
        tracks=[muspy.Track(is_drum=spec.is_drum[0], notes=notes, **track)],
    )


def full_roll(bar: np.ndarray, spec: PhraseSpec) -> np.ndarray:
    """One bar ``(n_steps, n_pitches)`` as pypianoroll's ``(n_steps, 128)`` MIDI-pitch roll."""
    roll = np.zeros((len(bar), 128), dtype=np.bool_)
    roll[:, spec.lowest_pitch : spec.lowest_pitch + spec.n_pitches] = bar
    return roll


# --- MusPy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lowest_pitch", "seed"), [(36, 1), (43, 2), (0, 3), (70, 4)])
def test_bar_pitch_metrics_equal_muspy_and_pypianoroll(lowest_pitch: int, seed: int):
    """One bar, one track: UPC, pitch range and PP against MusPy and pypianoroll.

    With one bar, UPC is MusPy's n_pitch_classes_used of the bar's notes and the pitch range
    its pitch_range (and pypianoroll's, from the frames). MusPy's polyphony_rate divides by the
    time up to the last note's end, not by the bar, so the counts are compared: rate x length.
    pypianoroll's polyphonic_rate is given exactly the bar's steps and matches as it is.
    """
    spec = make_spec(lowest_pitch=lowest_pitch, n_pitches=min(48, 128 - lowest_pitch))
    frames, onsets = random_phrases(spec, 40, seed)
    n_compared = 0
    for i in range(len(frames)):
        one = (frames[i : i + 1], onsets[i : i + 1], spec)
        notes = notes_of(frames[i], onsets[i], spec)
        if not notes:
            assert math.isnan(used_pitch_classes(*one)[0])
            continue
        n_compared += 1
        music = music_of(notes, spec)
        bar = full_roll(frames[i, 0, 0], spec)
        assert used_pitch_classes(*one)[0] == muspy.n_pitch_classes_used(music)
        assert pitch_range(*one)[0] == muspy.pitch_range(music) == pypianoroll.pitch_range(bar)
        end = music.get_end_time()
        for threshold in (0, 1, 2, 3):
            pp = polyphonicity(*one, threshold=threshold)[0]
            assert pp == pytest.approx(pypianoroll.polyphonic_rate(bar, threshold), abs=1e-12)
            poly_steps = muspy.polyphony_rate(music, threshold=threshold) * end
            assert pp * spec.n_steps_per_bar == pytest.approx(poly_steps, abs=1e-9)
    assert n_compared >= 20


def test_empty_bar_rate_equals_muspy_empty_measure_rate():
    """EB of one track against MusPy's empty_measure_rate, through an adapter.

    MusPy marks the measure holding a note's exclusive *end* as used (a note ending on a bar
    line makes the next bar non-empty) and counts measures only up to the last event. The
    adapter doubles ticks and ends each note one tick early, so that it covers exactly the
    bars its steps sound in, and adds an annotation on the phrase's last tick.
    """
    spec = make_spec(n_bars=4)
    frames, onsets = random_phrases(spec, 40, seed=5)
    frames[:, :, 1] &= np.random.default_rng(6).random((40, 1, 1, 1)) < 0.5  # more empty bars
    total = spec.n_bars * spec.n_steps_per_bar
    for i in range(len(frames)):
        notes = [
            muspy.Note(2 * n.time, n.pitch, 2 * n.duration - 1)
            for n in notes_of(frames[i], onsets[i], spec)
        ]
        music = music_of(notes, spec, annotations=[muspy.Annotation(2 * total - 1, "end")])
        expected = muspy.empty_measure_rate(music, 2 * spec.n_steps_per_bar)
        assert empty_bar_rate(frames[i : i + 1], onsets[i : i + 1], spec)[0] == pytest.approx(
            expected, abs=1e-12
        )


@pytest.mark.parametrize(("steps_per_beat", "seed"), [(4, 7), (8, 8), (12, 9), (24, 10)])
def test_drum_pattern_rate_equals_best_muspy_duple_rate(steps_per_beat: int, seed: int):
    """DP without tolerance against MusPy's drum_in_pattern_rate(music, "duple").

    MusPy counts the drum notes whose onset falls on a multiple of a 16th (at a resolution
    that is a multiple of 4), with no tolerance and no grid shift. So DP with
    ``near_weight=0`` of one bar is the best MusPy rate over the notes moved back by each
    phase ``0 .. steps_per_beat / 4 - 1`` (moved forward by ``steps_per_beat - phase``, as
    MusPy reads ``time % resolution``). The 0.3 tolerance and the best-phase search are
    MuseGAN's, and MusPy has neither.
    """
    spec = make_spec(drum=True, steps_per_beat=steps_per_beat, n_pitches=12)
    frames, onsets = random_phrases(spec, 30, seed)
    n_compared = 0
    for i in range(len(frames)):
        notes = notes_of(frames[i], onsets[i], spec)
        dp = drum_pattern_rate(frames[i : i + 1], onsets[i : i + 1], spec, near_weight=0)[0]
        if not notes:
            assert math.isnan(dp)
            continue
        n_compared += 1
        best = max(
            muspy.drum_in_pattern_rate(
                music_of(
                    [muspy.Note(n.time + steps_per_beat - phase, n.pitch, 1) for n in notes],
                    spec,
                ),
                "duple",
            )
            for phase in range(steps_per_beat // 4)
        )
        assert dp == pytest.approx(best, abs=1e-12)
    assert n_compared >= 15


# --- pypianoroll: where it is right, and where it is not -----------------------------------------


def test_tonal_matrix_equals_pypianoroll_and_musegan():
    """The 6 x 12 matrix: pypianoroll (and MuseGAN's code) use Harte et al.'s angles and radii.

    Only the matrix is compared; pypianoroll's tonal_distance itself is wrong (see below).
    ``_get_tonal_matrix`` is private, so this may need updating with a new pypianoroll.
    """
    expected = pypianoroll.metrics._get_tonal_matrix(1.0, 1.0, 0.5)
    np.testing.assert_allclose(tonal_centroid_matrix(), expected, rtol=0, atol=1e-14)


def test_pypianoroll_pitch_classes_do_not_fold_octaves():
    """pypianoroll's _to_chroma reshapes 120 pitches as (12, 10): pitch p lands in class p // 10.

    So C2 + C3 + C4 counts 3 pitch classes there (1 here), and n_pitch_classes_used,
    in_scale_rate and tonal_distance all inherit it. For pitches >= 120 it adds into a view of
    the caller's array, changing it. Not compared; if this test starts failing, pypianoroll
    was fixed and UPC can be cross-checked against it.
    """
    spec = make_spec()
    frames = np.zeros((1, *spec.shape), dtype=np.bool_)
    frames[0, 0, 0, :4, [0, 12, 24]] = True  # C2, C3, C4 for one beat
    assert used_pitch_classes(frames, frames, spec)[0] == 1
    assert pypianoroll.n_pitch_classes_used(full_roll(frames[0, 0, 0], spec)) == 3
    caller = np.zeros((4, 128), dtype=np.int64)
    caller[:, 125] = 1
    pypianoroll.n_pitch_classes_used(caller)
    assert caller[:, :120].any()  # the call wrote into our array


def test_pypianoroll_empty_beat_rate_returns_the_non_empty_share():
    """One sounding beat of four: 3/4 of the beats are empty, pypianoroll says 1/4.

    (Barforge measures empty *bars*; at one bar per beat, EB gives the right 0.75.)
    """
    spec = PhraseSpec(("t",), (False,), (0,), 4, 1, 4, 36, 48)  # 4 bars of one beat
    frames = np.zeros((1, *spec.shape), dtype=np.bool_)
    frames[0, 0, 0, :, 24] = True
    assert empty_bar_rate(frames, frames, spec)[0] == 0.75
    assert pypianoroll.empty_beat_rate(full_roll(frames[0, 0].reshape(16, 48), spec), 4) == 0.25


def test_pypianoroll_qualified_note_rate_is_unusable():
    """pypianoroll's qualified_note_rate is not compared.

    It diffs the *flattened* padded roll, so ``offsets - onsets`` mixes pitch and time and is
    never small: any threshold gives 1.0 on int64 or float input. On bool or uint8 input the
    unsigned diff wraps, no offset is found, and it raises. It also reads notes from frames
    only, merging a repeated note into one (QN here splits it at the onset).
    """
    roll = np.zeros((16, 128), dtype=np.int64)
    roll[0:4, 60] = 1  # one 4-step note
    for threshold in (1, 5, 100):
        assert pypianoroll.qualified_note_rate(roll, threshold) == 1.0
    with pytest.raises(ValueError, match="broadcast"):
        pypianoroll.qualified_note_rate(roll.astype(np.bool_), 3)


def test_pypianoroll_tonal_distance_is_unusable():
    """pypianoroll's tonal_distance is not compared.

    It normalises each *step's* chroma (NaN on any silent step), multiplies the 6 x 12 matrix
    with a (12, resolution, n_beats) array, which only runs when resolution is 12 and then
    contracts over the steps of a beat instead of the pitch classes, and returns the norm over
    everything instead of a mean. C against G held for a beat gives 0 there; Harte's distance
    is sqrt(19/4 - sqrt(3)) = 1.737, which Barforge gives.
    """
    spec = PhraseSpec(("a", "b"), (False, False), (0, 0), 12, 1, 1, 36, 48)
    frames = np.zeros((1, *spec.shape), dtype=np.bool_)
    frames[0, 0, 0, :, 24] = True  # C4
    frames[0, 1, 0, :, 31] = True  # G4
    td = tonal_distance(frames, frames, spec)[(0, 1)]
    assert td == pytest.approx(math.sqrt(19 / 4 - math.sqrt(3)), abs=1e-12)
    c, g = (full_roll(frames[0, t, 0], spec).astype(float) for t in (0, 1))
    assert pypianoroll.tonal_distance(c, g, 12) == 0.0
    with pytest.raises(ValueError, match="mismatch"):
        pypianoroll.tonal_distance(c[:8], g[:8], 4)
