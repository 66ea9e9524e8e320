# SPDX-License-Identifier: MIT
"""One harmony for the voices: beats labelled with chords, statistics learned from hand-built
chorales, the chord path found from logits, and voices that lean on it when decoded."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.generation.harmony import (
    QUALITIES,
    WINDOW,
    HarmonyStats,
    beat_chords,
    chord_path,
    harmony_lean,
    learn_harmony,
)
from engine.generation.voices import (
    BEAM,
    DECODING_FILE,
    DecodingError,
    VoiceStats,
    decode_voices,
    learn_voices,
    load_voices,
    save_voices,
)
from engine.metrics import extract_notes
from tests.engine.test_metrics import Rolls, make_spec

Q = len(QUALITIES)
MAJOR, MINOR, DIMINISHED, SEVENTH = range(Q)
C, D, E, F, G, A, B = 0, 2, 4, 5, 7, 9, 11


def _chroma(*weights: tuple[int, float]) -> np.ndarray:
    out = np.zeros(12)
    for pc, w in weights:
        out[pc] += w
    return out


def _chord(root: int, quality: int) -> int:
    return root * Q + quality


def test_each_beat_is_named_by_the_chord_that_explains_it() -> None:
    beats = np.stack(
        [
            _chroma((C, 2), (E, 1), (G, 1)),  # C major, root doubled
            _chroma((A, 1), (C, 1), (E, 2)),  # A minor
            _chroma((G, 1), (B, 1), (D, 1), (F, 1)),  # G seventh: the F is its seventh
            _chroma((B, 2), (D, 1), (F, 1)),  # B diminished
            _chroma((C, 2), (E, 1), (G, 1), (D, 0.25)),  # C major with a passing D
            _chroma((G, 1), (B, 1), (D, 2)),  # G major: no F, so no seventh
            np.zeros(12),  # nothing sounds
        ]
    )
    assert beat_chords(beats).tolist() == [
        _chord(C, MAJOR),
        _chord(A, MINOR),
        _chord(G, SEVENTH),
        _chord(B, DIMINISHED),
        _chord(C, MAJOR),
        _chord(G, MAJOR),
        -1,
    ]


# Four voices, lowest MIDI pitch 36; a beat is 4 steps, a bar 4 beats.
SPEC = make_spec(4, n_bars=1, lowest_pitch=36, n_pitches=48)
BASS, TENOR, ALTO, SOPRANO = 3, 2, 1, 0


def _cadence(rolls: Rolls, phrase: int, shift: int = 0) -> None:
    """I-IV-V-I in C (transposed by ``shift``): the bass on each root, the soprano on the
    fifth, one chord per beat."""
    for beat, (root, third, fifth) in enumerate(((48, 52, 55), (53, 57, 60), (43, 47, 50),
                                                 (48, 52, 55))):  # fmt: skip
        at = {"phrase": phrase}
        rolls.note(root + shift, beat * 4, 4, track=BASS, **at)
        rolls.note(third + 12 + shift, beat * 4, 4, track=TENOR, **at)
        rolls.note(fifth + 12 + shift, beat * 4, 4, track=ALTO, **at)
        rolls.note(root + 24 + shift, beat * 4, 4, track=SOPRANO, **at)


def _cadences() -> tuple[VoiceStats, HarmonyStats]:
    """Voices and harmony learned from six cadences in six keys."""
    rolls = Rolls(SPEC, n_phrases=6)
    for phrase in range(6):
        _cadence(rolls, phrase, shift=phrase - 2)
    frames, onsets, spec = rolls.args()
    voices = learn_voices(frames, onsets, spec)
    assert voices.tracks == (0, 1, 2, 3)
    return voices, learn_harmony(frames, spec, voices.tracks)


def _learned() -> HarmonyStats:
    return _cadences()[1]


def test_what_each_voice_sounds_under_each_chord_is_learned() -> None:
    stats = _learned()
    tone = np.asarray(stats.tone)  # (voices, qualities, steps per beat, 12)
    assert tone.shape == (4, Q, 4, 12)
    # Every beat of the cadences is a major chord; the bass and the soprano sound its root,
    # the alto its fifth, the tenor its third.
    assert np.argmax(stats.quality) == MAJOR
    for voice, interval in ((BASS, 0), (SOPRANO, 0), (ALTO, 7), (TENOR, 4)):
        assert tone[voice, MAJOR, 0].argmax() == interval
        # 6 phrases x 4 beats sound it on each step of the beat; 0.5 is added to every count.
        assert math.exp(tone[voice, MAJOR, 0].max()) == pytest.approx(24.5 / (24 + 12 * 0.5))
    # I -> IV is a root step of 5 semitones up, IV -> V of 2, V -> I of 5: up a fourth is the
    # likeliest change, then a whole tone; never down a semitone.
    change = np.asarray(stats.change)[MAJOR, MAJOR]
    assert change.argmax() == 5
    assert change[2] > change[11]
    assert stats.weight == (0.0,) * 4
    assert not stats.active


def _voice_logits(pitches: list[list[int]], sure: float = 4.0) -> np.ndarray:
    """Frame logits ``(1, 4 voices, 16 steps, 48 pitches)``: each voice sure of its pitch for
    each beat (``pitches[voice][beat]``, a MIDI number, or None for unsure)."""
    out = np.full((1, 4, 16, 48), -6.0, dtype=np.float32)
    for voice, line in enumerate(pitches):
        for beat, pitch in enumerate(line):
            out[0, voice, beat * 4 : beat * 4 + 4, pitch - 36] = sure
    return out


def _top(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The :data:`BEAM` candidates of each step and their logits, as the voice search keeps
    them."""
    cand = np.argsort(-logits, axis=-1, kind="stable")[..., :BEAM]
    return np.take_along_axis(logits, cand, -1), cand


def test_the_chord_path_follows_what_the_voices_propose() -> None:
    stats = _learned()
    # F, G, C and D major (the cadences taught major chords only); soprano, alto, tenor and
    # bass per beat.
    logits = _voice_logits([[77, 79, 72, 74], [72, 74, 67, 69], [69, 71, 64, 66], [53, 55, 48, 50]])
    assert chord_path(*_top(logits), stats, 48).tolist() == [
        [_chord(F, MAJOR), _chord(G, MAJOR), _chord(C, MAJOR), _chord(D, MAJOR)]
    ]


def test_the_lean_favours_the_chords_tones_near_the_voice_and_is_0_at_weight_0() -> None:
    stats = _learned()
    logits = _voice_logits([[72] * 4, [67] * 4, [64] * 4, [48] * 4])  # C major throughout
    cand_logits, cand = _top(logits)
    # The bass's candidates: C3 (sure), C#3, and an octave up C4 and C#4 (unlikely).
    cand[0, BASS] = [48 - 36, 49 - 36, 60 - 36, 61 - 36]
    cand_logits[0, BASS] = np.take_along_axis(logits[0, BASS], cand[0, BASS], -1)
    assert not harmony_lean(cand_logits, cand, stats, 48).any()
    lean = harmony_lean(cand_logits, cand, stats.with_weight(2.0), 48)[0, BASS, 0]
    root, sharp, root_up, sharp_up = lean
    assert root > 0  # the root: what the bass sounds under a major chord
    assert sharp < 0  # C#: never under C major
    # Beyond WINDOW semitones from where the generator puts the voice, a chord tone gets no
    # bonus (the harmony chooses the pitch class, the generator the octave); an off-chord
    # pitch there keeps its penalty.
    assert WINDOW < 12
    assert root_up == 0.0
    assert sharp_up == sharp


def test_an_unsure_voice_takes_the_pitch_that_fits_the_others() -> None:
    voices, harmony = _cadences()
    # Soprano, alto, tenor sure of a C major triad; the bass torn between C (a chord tone) and
    # C# (none), C# a little likelier.
    logits = _voice_logits([[72] * 4, [67] * 4, [64] * 4, [48] * 4]).reshape(1, 4, 1, 16, 48)
    bass = logits[0, BASS, 0]
    bass[:, 48 - 36] = 1.0
    bass[:, 49 - 36] = 1.2
    onset_logits = np.full_like(logits, -6.0)
    onset_logits[..., 0, :] = 4.0

    def bass_pitches(stats: object) -> list[int]:
        f = np.zeros(logits.shape, dtype=bool)
        o = np.zeros(logits.shape, dtype=bool)
        decode_voices(logits, onset_logits, stats, f, o)  # type: ignore[arg-type]
        table = extract_notes(f[:, BASS : BASS + 1], o[:, BASS : BASS + 1])
        return sorted(set((table.pitch + 36).tolist()))

    assert bass_pitches(voices) == [49]  # on its own, the likelier pitch
    assert bass_pitches(voices.with_harmony(harmony.with_weight(0.0))) == [49]
    assert bass_pitches(voices.with_harmony(harmony.with_weight(1.0))) == [48]


def test_the_harmony_is_saved_with_the_voices_and_checked_on_load(tmp_path: Path) -> None:
    rolls = Rolls(SPEC, n_phrases=2)
    _cadence(rolls, 0)
    _cadence(rolls, 1, shift=2)
    frames, onsets, spec = rolls.args()
    voices = learn_voices(frames, onsets, spec)
    stats = voices.with_harmony(learn_harmony(frames, spec, voices.tracks).with_weight(1.5))
    save_voices(tmp_path, stats)
    document = json.loads((tmp_path / DECODING_FILE).read_text())
    assert document["format_version"] == 3
    assert load_voices(tmp_path, spec) == stats
    other = make_spec(4, n_bars=1, steps_per_beat=12, lowest_pitch=36, n_pitches=48)
    with pytest.raises(DecodingError, match="harmony: learned for 4 steps per beat"):
        load_voices(tmp_path, other)
    good = json.loads(json.dumps(document))
    document["voices"]["harmony"]["tone"] = [[[[0.0]]]]
    (tmp_path / DECODING_FILE).write_text(json.dumps(document))
    with pytest.raises(DecodingError, match=r"harmony: tone must be 4 x 4 x 4 x 12 numbers"):
        load_voices(tmp_path, spec)
    del document["voices"]["harmony"]["change"]
    (tmp_path / DECODING_FILE).write_text(json.dumps(document))
    with pytest.raises(DecodingError, match=r"voices are malformed \(harmony: KeyError\('change'"):
        load_voices(tmp_path, spec)
    document = json.loads(json.dumps(good))
    document["voices"]["harmony"]["weight"] = [1.0, -1.0, 1.0, 1.0]
    (tmp_path / DECODING_FILE).write_text(json.dumps(document))
    with pytest.raises(DecodingError, match="harmony: weight must be a number >= 0"):
        load_voices(tmp_path, spec)
    # A version 2 file (no harmony) decodes each voice on its own.
    document = json.loads(json.dumps(good))
    document["format_version"] = 2
    del document["voices"]["harmony"]
    (tmp_path / DECODING_FILE).write_text(json.dumps(document))
    loaded = load_voices(tmp_path, spec)
    assert loaded is not None
    assert loaded.harmony is None
    with pytest.raises(ValueError, match="the harmony was learned for tracks"):
        voices.with_harmony(learn_harmony(frames, spec, voices.tracks[:2]).with_weight(1.0))
