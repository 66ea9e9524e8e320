# SPDX-License-Identifier: MIT
"""Voice decoding: statistics learned from hand-built lines, and lines decoded from logits
whose thresholded reading is choppy."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.generation.composer import Composer, GenerationError
from engine.generation.voices import (
    DECODING_FILE,
    DEFAULT_ONSET_WEIGHT,
    DEFAULT_WEIGHT,
    DecodingError,
    VoiceStats,
    decode_voices,
    learn_voices,
    load_voices,
    save_voices,
)
from engine.metrics import extract_notes
from engine.models import describe_model, model_id
from engine.pianoroll import PhraseSpec
from tests.engine.test_metrics import Rolls, make_spec

C4, D4, E4 = 60, 62, 64
PRIOR = 0.5  # the pseudo-count voices.py adds to every count


def _spec(n_tracks: int = 1, drums: tuple[int, ...] = ()) -> PhraseSpec:
    return make_spec(n_tracks, drums=drums, n_bars=1, lowest_pitch=48, n_pitches=24)


def _line() -> Rolls:
    """C held 4 steps, C struck again for 4, D for 4, then 4 silent steps."""
    return Rolls(_spec()).note(C4, 0, 4).note(C4, 4, 4).note(D4, 8, 4)


def test_what_follows_each_step_is_counted_from_the_voice() -> None:
    stats = learn_voices(*_line().args())
    assert stats.tracks == (0,)
    # 15 transitions: 12 from sounding steps (9 holds, 1 strike, 1 move, 1 to rest), 3 from
    # silent steps (all stay silent).
    total = 12 + 4 * PRIOR
    assert math.exp(stats.hold[0]) == pytest.approx((9 + PRIOR) / total)
    assert math.exp(stats.strike[0]) == pytest.approx((1 + PRIOR) / total)
    assert math.exp(stats.move[0]) == pytest.approx((1 + PRIOR) / total)
    assert math.exp(stats.rest[0]) == pytest.approx((1 + PRIOR) / total)
    assert math.exp(stats.stay_silent[0]) == pytest.approx((3 + PRIOR) / (3 + 2 * PRIOR))
    up_two = stats.interval[0][2 + 24 - 1]
    assert up_two == max(stats.interval[0])  # the one move was a whole tone up
    assert stats.pitch[0][C4 - 48] == max(stats.pitch[0])  # the phrase starts on C


def test_chords_and_drums_are_not_voices() -> None:
    spec = _spec(3, drums=(2,))
    rolls = Rolls(spec).note(C4, 0, 8, track=0)
    rolls.chord([C4, E4], 0, 8, track=1)
    rolls.note(36 + 12, 0, 1, track=2)
    assert learn_voices(*rolls.args()).tracks == (0,)


def _stats() -> VoiceStats:
    rolls = Rolls(_spec(), n_phrases=8)
    for phrase in range(8):
        rolls.note(C4 + phrase % 3, 0, 8, phrase=phrase).note(E4, 8, 8, phrase=phrase)
    return learn_voices(*rolls.args())


def _logits(held: list[tuple[int, int, int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Frame logits of -6 everywhere but the given ``(pitch, start, length, logit)`` runs."""
    spec = _spec()
    frames = np.full((1, *spec.shape), -6.0, dtype=np.float32)
    flat = frames.reshape(16, 24)
    for pitch, start, length, logit in held:
        flat[start : start + length, pitch - 48] = logit
    return frames, np.full_like(frames, -6.0)


def _notes(frames: np.ndarray, onsets: np.ndarray) -> list[tuple[int, int, int]]:
    table = extract_notes(frames, onsets)
    return sorted(
        zip(table.start.tolist(), table.length.tolist(), (table.pitch + 48).tolist(), strict=True)
    )


def _decode(frame_logits: np.ndarray, onset_logits: np.ndarray, stats: VoiceStats):
    frames = frame_logits > 0
    onsets = (onset_logits > 0) & frames
    threshold = _notes(frames, onsets)
    decode_voices(frame_logits, onset_logits, stats, frames, onsets)
    return threshold, _notes(frames, onsets)


def test_a_dip_in_a_held_note_does_not_break_it() -> None:
    fl, ol = _logits([(C4, 0, 8, 3.0), (E4, 8, 8, 3.0)])
    fl.reshape(16, 24)[4, C4 - 48] = -0.5  # one step just below the threshold
    threshold, voice = _decode(fl, ol, _stats())
    assert threshold == [(0, 4, C4), (5, 3, C4), (8, 8, E4)]
    assert voice == [(0, 8, C4), (8, 8, E4)]


def test_two_pitches_at_once_become_the_likelier_one() -> None:
    fl, ol = _logits([(C4, 0, 16, 3.0), (C4 + 1, 0, 16, 1.0)])
    threshold, voice = _decode(fl, ol, _stats())
    assert len(threshold) == 2
    assert voice == [(0, 16, C4)]


def test_a_stray_onset_strikes_again_only_when_the_onset_weighs_enough() -> None:
    fl, ol = _logits([(C4, 0, 16, 3.0)])
    ol.reshape(16, 24)[0, C4 - 48] = 4.0
    ol.reshape(16, 24)[8, C4 - 48] = 2.0  # the generator's onset plane says "again" here
    threshold, gentle = _decode(fl, ol, _stats())
    assert threshold == [(0, 8, C4), (8, 8, C4)]
    assert gentle == [(0, 16, C4)]
    _, heavy = _decode(fl, ol, _stats().with_weights(0.25, 4.0))
    assert heavy == [(0, 8, C4), (8, 8, C4)]


def test_a_higher_threshold_makes_rests_likelier() -> None:
    fl, ol = _logits([(C4, 0, 16, 0.5)])
    stats = _stats()
    frames, onsets = fl > 0, (ol > 0) & (fl > 0)
    decode_voices(fl, ol, stats, frames, onsets, cut=0.0)
    assert frames.any()
    decode_voices(fl, ol, stats, frames, onsets, cut=math.log(0.9 / 0.1))
    assert not frames.any()


def test_a_sound_bias_keeps_a_voice_sounding_where_the_generator_is_unsure() -> None:
    # The generator is sure of C4 for four steps, then only at 0.35 (below the threshold).
    fl, ol = _logits([(C4, 0, 4, 3.0), (C4, 4, 12, -0.6)])
    plain = _decode(fl, ol, _stats())[1]
    assert plain == [(0, 4, C4)]  # rests where the probability is under 0.5
    biased = _decode(fl, ol, _stats().with_weights(DEFAULT_WEIGHT, DEFAULT_ONSET_WEIGHT, 2.0))[1]
    assert biased == [(0, 16, C4)]  # one held note: resting would cost more than sounding


# --- the file ---------------------------------------------------------------------------------


def test_decoding_files_round_trip_and_bad_ones_name_the_reason(tmp_path: Path) -> None:
    spec = _spec()
    assert load_voices(tmp_path, spec) is None
    stats = _stats().with_weights(0.3, 0.2)
    save_voices(tmp_path, stats)
    assert load_voices(tmp_path, spec) == stats
    other = make_spec(1, n_bars=1, lowest_pitch=48, n_pitches=36)
    with pytest.raises(DecodingError, match=r"decoding\.json: learned for 24 pitches"):
        load_voices(tmp_path, other)
    path = tmp_path / DECODING_FILE
    document = json.loads(path.read_text())
    document["voices"]["weight"] = [-1]
    path.write_text(json.dumps(document))
    with pytest.raises(DecodingError, match="weight must be a number >= 0"):
        load_voices(tmp_path, spec)
    document["voices"]["weight"] = [0.3]
    document["voices"]["sound_bias"] = [float("nan")]
    path.write_text(json.dumps(document))
    with pytest.raises(DecodingError, match="sound_bias must be a number"):
        load_voices(tmp_path, spec)
    document["voices"]["sound_bias"] = [0.0]
    document["format_version"] = 4
    path.write_text(json.dumps(document))
    with pytest.raises(DecodingError, match="format_version 4; this Barforge reads 1, 2, 3"):
        load_voices(tmp_path, spec)
    document["format_version"] = 3
    del document["voices"]["hold"]
    path.write_text(json.dumps(document))
    with pytest.raises(DecodingError, match=r"voices are malformed.*hold"):
        load_voices(tmp_path, spec)
    path.write_text("{not json")
    with pytest.raises(DecodingError, match="cannot be read as JSON"):
        load_voices(tmp_path, spec)
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(DecodingError, match="not a Barforge voice decoding"):
        load_voices(tmp_path, spec)


def test_version_1_files_decode_with_no_sound_bias(tmp_path: Path) -> None:
    spec = _spec()
    stats = _stats().with_weights(0.3, 0.2, 1.5)
    save_voices(tmp_path, stats)
    path = tmp_path / DECODING_FILE
    document = json.loads(path.read_text())
    assert document["format_version"] == 3
    document["format_version"] = 1
    del document["voices"]["sound_bias"]
    path.write_text(json.dumps(document))
    assert load_voices(tmp_path, spec) == stats.with_weights(0.3, 0.2, 0.0)


def test_the_composer_decodes_with_the_models_voices(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    plain = Composer(folder, device="cpu", warm_up=False)
    assert plain.voices is None
    spec = plain.spec
    rolls = Rolls(spec, n_phrases=4)
    for phrase in range(4):
        for track in range(spec.n_tracks):
            for bar in range(spec.n_bars):
                start = bar * spec.n_steps_per_bar
                rolls.note(60 - 7 * track + phrase, start, spec.n_steps_per_bar, track=track,
                           phrase=phrase)  # fmt: skip
    save_voices(folder, learn_voices(*rolls.args()))
    lines = Composer(folder, device="cpu", warm_up=False)
    assert lines.voices is not None
    assert lines.voices.tracks == tuple(range(spec.n_tracks))
    take = lines.generate(3)
    for voice in take.pattern.tracks:  # one pitch at a time in every voice
        spans = sorted((n.start, n.start + n.duration) for n in voice.notes)
        assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    assert take.pattern != plain.generate(3).pattern
    (folder / DECODING_FILE).write_text("[]")
    with pytest.raises(GenerationError, match=r"decoding\.json: not a Barforge voice decoding"):
        Composer(folder, device="cpu", warm_up=False)


def test_the_decoding_is_part_of_the_model_id(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    before = model_id(folder)
    assert dict(describe_model(folder).describe())["Decoding"].startswith("a threshold")
    spec = Composer(folder, device="cpu", warm_up=False).spec
    rolls = Rolls(spec).note(60, 0, 4, track=0)
    save_voices(folder, learn_voices(*rolls.args()))
    assert model_id(folder) != before
    assert dict(describe_model(folder).describe())["Decoding"].startswith("each voice")
