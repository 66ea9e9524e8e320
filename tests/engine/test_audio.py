# SPDX-License-Identifier: MIT
"""The audio preview: the synthesiser's output, headless playback, and a machine with no sound
device (these machines have none unless a JACK server runs; nothing here is mocked)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from engine.audio.preview import AudioPreview, AudioUnavailable, list_output_devices
from engine.audio.synth import render, tick_frame
from engine.live.jack import JackServer, jack_installed
from engine.music import DRUM_CHANNEL, Note, Pattern, Track

RATE = 48000
#: At 480 ticks per quarter and 120 BPM a tick is exactly 50 frames, a bar 96,000.
TPQ = 480
BAR = 4 * TPQ
BAR_FRAMES = 96_000

Audio = npt.NDArray[np.float32]


def pitched(
    notes: Iterable[tuple[int, int, int, int]],
    program: int = 0,
    channel: int = 0,
    name: str = "keys",
) -> Track:
    return Track(name, program, False, channel, [Note(*n) for n in notes])


def drums(notes: Iterable[tuple[int, int, int, int]]) -> Track:
    return Track("drums", 0, True, DRUM_CHANNEL, [Note(*n) for n in notes])


def groove(n_bars: int = 4) -> Pattern:
    """Four tracks, every bar alike: drums, bass, chords, a melody."""
    kit: list[tuple[int, int, int, int]] = []
    bass: list[tuple[int, int, int, int]] = []
    chords: list[tuple[int, int, int, int]] = []
    tune: list[tuple[int, int, int, int]] = []
    for bar in range(n_bars):
        base = bar * BAR
        kit += [(base + i * 240, 60, 42, 80) for i in range(8)]
        kit += [(base, 60, 36, 110), (base + 960, 60, 36, 110)]
        kit += [(base + 480, 60, 38, 100), (base + 1440, 60, 38, 100)]
        bass += [(base + i * 480, 240, 36 + 2 * i, 90) for i in range(4)]
        chords += [(base, 960, p, 70) for p in (60, 64, 67)]
        tune += [(base + i * 240, 240, 72 + i, 90) for i in range(8)]
    return Pattern(
        [drums(kit), pitched(bass, 33, 0), pitched(chords, 0, 1), pitched(tune, 73, 2)],
        n_bars=n_bars,
    )


def mono(audio: Audio) -> Audio:
    both: Audio = audio.mean(axis=1)
    return both


def rms(audio: Audio) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


# --- the synthesiser ---------------------------------------------------------------------------
def test_render_covers_the_pattern_finite_and_never_clips():
    pattern = groove()
    audio = render(pattern, RATE)
    assert audio.dtype == np.float32
    assert audio.shape == (4 * BAR_FRAMES, 2)
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() <= 1.0
    # At another tempo the length follows it (90 BPM: 4/3 as long).
    slower = render(pattern, RATE, bpm=90.0)
    assert slower.shape == (tick_frame(4 * BAR, TPQ, RATE, 90.0), 2) == (512_000, 2)


def test_a_loud_pile_of_notes_is_limited_below_full_scale():
    chord = [(0, BAR, p, 127) for p in range(40, 88)]
    audio = render(Pattern([pitched(chord, 16)], n_bars=1), RATE)
    assert rms(audio) > 0.3  # loud enough that the limiter worked
    assert np.abs(audio).max() <= 1.0


def test_sound_where_notes_are_and_silence_in_an_empty_bar():
    notes = [(0, 240, 60, 100), (480, 240, 64, 100), (BAR + 960, 240, 67, 100)]
    audio = render(Pattern([pitched(notes)], n_bars=4), RATE)
    bars = [audio[i * BAR_FRAMES : (i + 1) * BAR_FRAMES] for i in range(4)]
    assert rms(bars[0]) > 0.01
    assert rms(bars[1]) > 0.01
    assert np.abs(bars[2]).max() < 1e-4
    assert np.abs(bars[3]).max() < 1e-4


@pytest.mark.parametrize(
    ("program", "is_drum", "pitch"), [(0, False, 60), (24, False, 48), (0, True, 38), (0, True, 36)]
)
def test_onsets_fall_on_the_note_starts(program, is_drum, pitch):
    starts = [240, 960, 1800, 2700, 4000, 5555]
    notes = [(s, 120, pitch, 100) for s in starts]
    track = drums(notes) if is_drum else pitched(notes, program)
    audio = mono(render(Pattern([track], n_bars=4), RATE, tails="cut"))
    bounds = [*starts, 4 * BAR]
    for start, following in pairwise(bounds):
        window = np.abs(audio[start * 50 - 2400 : following * 50])
        assert window[:2400].max() < 1e-4  # quiet just before the note
        onset = int(np.argmax(window > 0.05 * window.max())) - 2400
        assert 0 <= onset <= 0.003 * RATE, (start, onset)


def test_a_muted_track_is_absent():
    keys = pitched([(0, 480, 60, 100), (960, 480, 62, 100)], 0, 0)
    strings = pitched([(0, BAR, 55, 90)], 48, 1, name="strings")
    both = Pattern([keys, strings], n_bars=1)
    assert not np.any(render(both, RATE, audible=set()))
    assert not np.any(render(Pattern([keys], n_bars=1), RATE, audible=[]))
    # Hearing only the strings sounds exactly like the keys having no notes.
    silent_keys = Pattern([keys.with_notes([]), strings], n_bars=1)
    only_strings = render(both, RATE, audible={1})
    assert np.any(only_strings)
    np.testing.assert_array_equal(only_strings, render(silent_keys, RATE))
    assert not np.array_equal(only_strings, render(both, RATE))


def spectral_flatness(signal: Audio) -> float:
    power = np.abs(np.fft.rfft(signal * np.hanning(len(signal)))) ** 2 + 1e-20
    return float(np.exp(np.mean(np.log(power))) / np.mean(power))


def test_drums_sound_like_noise_and_keys_like_tones():
    snare = mono(render(Pattern([drums([(0, 120, 38, 100)])], n_bars=1), RATE))
    hat = mono(render(Pattern([drums([(0, 120, 42, 100)])], n_bars=1), RATE))
    piano = mono(render(Pattern([pitched([(0, 480, 60, 100)])], n_bars=1), RATE))
    snare_flat = spectral_flatness(snare[:4096])
    assert snare_flat > 20 * spectral_flatness(piano[:4096])
    assert spectral_flatness(hat[:2048]) > 20 * spectral_flatness(piano[:2048])
    # Every drum key makes some sound, and the sounds differ (but for two kicks, two snares).
    keys = (35, 36, 38, 40, 41, 42, 46, 49, 51, 56, 81)
    hits = [mono(render(Pattern([drums([(0, 120, k, 100)])], n_bars=1), RATE)) for k in keys]
    assert all(rms(h) > 1e-3 for h in hits)
    for a in range(len(hits)):
        for b in range(a + 1, len(hits)):
            same_sound = {keys[a], keys[b]} in ({35, 36}, {38, 40})
            assert np.array_equal(hits[a], hits[b]) == same_sound, (keys[a], keys[b])


@pytest.mark.parametrize("family", range(16))
def test_pitch_matches_the_midi_note_in_every_family(family):
    pitch = 57  # A3, 220 Hz
    track = pitched([(0, 2 * TPQ, pitch, 100)], program=8 * family)
    audio = mono(render(Pattern([track], n_bars=1), RATE, tails="cut"))
    segment = audio[4800 : 4800 + RATE // 2]  # 0.1 .. 0.6 s, past any attack
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment))))
    freqs = np.fft.rfftfreq(len(segment), 1.0 / RATE)
    band = (freqs > 50) & (freqs < 5000)
    peak_hz = freqs[band][np.argmax(spectrum[band])]
    assert peak_hz == pytest.approx(220.0, rel=0.02)


def test_velocity_scales_the_level():
    loud, soft = (render(Pattern([pitched([(0, 480, 60, v)])], n_bars=1), RATE) for v in (120, 40))
    assert rms(loud) > 3 * rms(soft) > 0


def test_tails_wrap_round_to_make_a_seamless_loop():
    # A pad whose release rings past the end of the pattern.
    pattern = Pattern([pitched([(BAR, BAR, 60, 110)], 88)], n_bars=2)
    wrapped = mono(render(pattern, RATE))
    cut = mono(render(pattern, RATE, tails="cut"))
    assert not np.any(cut[:BAR_FRAMES])
    assert np.abs(wrapped[:2400]).max() > 0.01  # the tail, heard after the loop's end
    np.testing.assert_array_equal(wrapped[BAR_FRAMES:], cut[BAR_FRAMES:])
    # Across the seam the signal moves no more than it does anywhere inside the buffer.
    seam = abs(float(wrapped[0]) - float(wrapped[-1]))
    assert seam <= np.abs(np.diff(wrapped)).max()


def test_bars_render_a_loop_range():
    pattern = groove()
    part = render(pattern, RATE, bars=(1, 3))
    assert part.shape == (2 * BAR_FRAMES, 2)
    # Every bar of the groove is alike, so the range sounds like two bars of it.
    np.testing.assert_allclose(part, render(groove(2), RATE), atol=1e-6)
    with pytest.raises(ValueError, match="bars"):
        render(pattern, RATE, bars=(3, 5))


def test_bad_arguments_are_named():
    pattern = groove(1)
    with pytest.raises(ValueError, match="bpm"):
        render(pattern, RATE, bpm=0.0)
    with pytest.raises(ValueError, match="sample_rate"):
        render(pattern, 100)
    with pytest.raises(ValueError, match="tails"):
        render(pattern, RATE, tails="fade")  # type: ignore[arg-type]


# --- headless preview -------------------------------------------------------------------------
def pull_all(preview: AudioPreview, n_frames: int, block: int = 512) -> Audio:
    return np.concatenate(
        [preview.pull(min(block, n_frames - i)) for i in range(0, n_frames, block)]
    )


def headless() -> AudioPreview:
    return AudioPreview(sample_rate=RATE, open_stream=False)


def test_pull_plays_the_rendered_loop_and_wraps():
    pattern = groove(2)
    loop = render(pattern, RATE)
    preview = headless()
    assert not preview.playing
    assert not np.any(preview.pull(256))  # nothing to play yet
    preview.play(pattern)
    assert preview.playing
    heard = pull_all(preview, len(loop) + 5000, block=777)
    np.testing.assert_array_equal(heard[: len(loop)], loop)
    np.testing.assert_array_equal(heard[len(loop) :], loop[:5000])


def test_play_a_loop_range_from_a_start_beat():
    pattern = groove(4)
    loop = render(pattern, RATE, bars=(1, 3))
    preview = headless()
    preview.play(pattern, loop=(1, 3), start_beat=6.0)  # bar 1 is beats 4..8
    assert preview.position_beats() == pytest.approx(6.0)
    heard = pull_all(preview, 2 * BAR_FRAMES)
    np.testing.assert_array_equal(heard[: BAR_FRAMES + 48_000], loop[48_000:])
    np.testing.assert_array_equal(heard[BAR_FRAMES + 48_000 :], loop[:48_000])
    # A start outside the loop folds into it: beat 2 is one loop (8 beats) before beat 10.
    preview.play(pattern, loop=(1, 3), start_beat=2.0)
    assert preview.position_beats() == pytest.approx(10.0)


def test_position_advances_with_the_frames_pulled():
    preview = headless()
    preview.play(groove(2), bpm=120.0)
    assert preview.position_beats() == 0.0
    preview.pull(24_000)  # half a second at 120 BPM: one beat
    assert preview.position_beats() == pytest.approx(1.0)
    pull_all(preview, 2 * BAR_FRAMES)  # once round the two-bar loop
    assert preview.position_beats() == pytest.approx(1.0)
    preview.play(groove(2), bpm=60.0)
    preview.pull(24_000)
    assert preview.position_beats() == pytest.approx(0.5)


def test_set_pattern_takes_over_at_the_next_bar_line():
    old, new = groove(2), Pattern([pitched([(i * 240, 240, 70 + i, 100) for i in range(16)])], 2)
    old_audio, new_audio = render(old, RATE), render(new, RATE)
    preview = headless()
    preview.play(old)
    before = pull_all(preview, 60_000)  # inside bar 0
    preview.set_pattern(new)
    after = pull_all(preview, 2 * BAR_FRAMES)
    heard = np.concatenate([before, after])
    np.testing.assert_array_equal(heard[:BAR_FRAMES], old_audio[:BAR_FRAMES])
    np.testing.assert_array_equal(heard[BAR_FRAMES : 2 * BAR_FRAMES], new_audio[BAR_FRAMES:])
    np.testing.assert_array_equal(heard[2 * BAR_FRAMES :], new_audio[:60_000])


def test_set_pattern_on_a_bar_line_takes_over_there_and_keeps_the_loop():
    old = groove(4)
    new = Pattern([pitched([(b * BAR, 480, 60 + b, 100) for b in range(4)])], n_bars=4)
    preview = headless()
    preview.play(old, loop=(2, 4))
    pull_all(preview, 2 * BAR_FRAMES)  # exactly once round: back on bar 2's line
    preview.set_pattern(new, audible={0})
    np.testing.assert_array_equal(pull_all(preview, 1000), render(new, RATE, bars=(2, 4))[:1000])
    assert preview.position_beats() == pytest.approx(8.0 + 1000 / 24_000)


def test_set_pattern_while_stopped_takes_over_at_once():
    preview = headless()
    preview.play(groove(2))
    preview.stop()
    new = Pattern([pitched([(0, 480, 60, 100)])], n_bars=2)
    preview.set_pattern(new)
    preview.play(new)
    np.testing.assert_array_equal(pull_all(preview, 4096), render(new, RATE)[:4096])


def test_set_audible_mutes_at_once():
    pattern = groove(2)
    preview = headless()
    preview.play(pattern)
    first = pull_all(preview, 30_000)
    preview.set_audible({0})  # drums only, from the next frame
    rest = pull_all(preview, 30_000)
    np.testing.assert_array_equal(first, render(pattern, RATE)[:30_000])
    np.testing.assert_array_equal(rest, render(pattern, RATE, audible={0})[30_000:60_000])


def test_stop_silences_pull_and_keeps_the_position():
    preview = headless()
    preview.play(groove(2))
    assert np.any(preview.pull(4096))
    preview.stop()
    assert not preview.playing
    assert not np.any(preview.pull(4096))
    assert preview.position_beats() == pytest.approx(4096 / 24_000)
    preview.close()
    assert not np.any(preview.pull(16))


def test_play_rejects_a_loop_outside_the_pattern():
    preview = headless()
    with pytest.raises(ValueError, match="bars"):
        preview.play(groove(2), loop=(1, 3))
    assert not preview.playing


# --- no sound device -----------------------------------------------------------------------
def test_list_output_devices_never_raises():
    devices = list_output_devices()
    assert isinstance(devices, list)
    assert all(isinstance(name, str) and name for name in devices)


def test_a_missing_device_raises_audio_unavailable_and_the_preview_stays_usable():
    pattern = groove(1)
    preview = AudioPreview("no-such-device-barforge", sample_rate=RATE)
    for _ in range(2):  # play can be retried, and fails the same way
        with pytest.raises(AudioUnavailable, match="no-such-device-barforge") as caught:
            preview.play(pattern)
        assert "JACK" in str(caught.value)
        assert caught.value.reason
        assert not preview.playing
    assert not np.any(preview.pull(512))
    preview.open_stream = False  # carry on without a device
    preview.play(pattern)
    np.testing.assert_array_equal(pull_all(preview, 4096), render(pattern, RATE)[:4096])
    preview.close()


def test_the_default_device_plays_or_says_why_not():
    preview = AudioPreview(sample_rate=RATE)
    if list_output_devices():  # a JACK server (or a sound card) is there
        preview.play(groove(1))
        assert preview.playing
        preview.close()
        assert not preview.playing
    else:
        with pytest.raises(AudioUnavailable, match="default output device") as caught:
            preview.play(groove(1))
        assert caught.value.device is None
        assert not preview.playing


def test_changing_the_device_closes_the_stream():
    preview = AudioPreview("no-such-device-barforge", sample_rate=RATE)
    with pytest.raises(AudioUnavailable):
        preview.play(groove(1))
    preview.device = "another-missing-device-barforge"
    with pytest.raises(AudioUnavailable, match="another-missing-device-barforge"):
        preview.play(groove(1))


# --- a real device: a private JACK server -------------------------------------------------
PLAY_THROUGH_JACK = """
import json, time
from engine.audio.preview import AudioPreview, list_output_devices
from engine.music import Note, Pattern, Track
devices = list_output_devices()
preview = AudioPreview(devices[0] if devices else None, sample_rate=48000, block_frames=256)
preview.play(Pattern([Track("keys", 0, notes=[Note(0, 480, 60, 100)])], n_bars=1))
while preview.position_beats() < 0.5:  # the device's callback moves it
    time.sleep(0.01)
playing = preview.playing
preview.close()
print(json.dumps({"devices": devices, "playing": playing, "after": preview.playing}))
"""


def test_plays_through_a_real_jack_device():
    if not jack_installed():
        pytest.skip("jackd is not installed (scripts/setup.sh installs it)")
    with JackServer(period=256, realtime=False) as server:
        done = subprocess.run(
            [sys.executable, "-c", PLAY_THROUGH_JACK],
            env=server.env,
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"]  # PortAudio sees the JACK server
    assert result["playing"] is True
    assert result["after"] is False
