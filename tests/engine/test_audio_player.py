# SPDX-License-Identifier: MIT
"""The audio preview behind the live player's commands (headless: audio read with pull)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio.player import PreviewPlayer
from engine.audio.preview import AudioPreview
from engine.audio.synth import render
from engine.live.player import PlayerListener
from engine.music import Note, Pattern, Track

RATE = 8000
BPM = 240.0  # a bar lasts one second: 8,000 frames
BAR_FRAMES = RATE


def two_tracks(pitch: int = 60) -> Pattern:
    lead = Track("Lead", 80, notes=[Note(b * 480, 240, pitch + b, 100) for b in range(8)])
    bass = Track("Bass", 33, channel=1, notes=[Note(0, 1920, pitch - 24, 90)])
    return Pattern([lead, bass], n_bars=2)


class States(PlayerListener):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def state_changed(self, state: str) -> None:
        self.seen.append(state)


def player() -> tuple[PreviewPlayer, AudioPreview, States]:
    preview = AudioPreview(sample_rate=RATE, open_stream=False)
    states = States()
    return PreviewPlayer(preview, BPM, states), preview, states


def test_play_gives_the_rendered_loop_and_stop_gives_silence() -> None:
    p, preview, states = player()
    pattern = two_tracks()
    p.set_pattern(pattern)
    p.play()
    assert p.state == "playing"
    audio = preview.pull(2 * BAR_FRAMES)
    expected = render(pattern, RATE, BPM)
    np.testing.assert_array_equal(audio, expected)
    assert p.position() == pytest.approx(0.0)  # came round to the start
    p.stop()
    assert not np.any(preview.pull(1000))
    assert states.seen == ["playing", "stopped"]


def test_a_new_pattern_takes_over_at_the_next_bar_line() -> None:
    p, preview, _ = player()
    old, new = two_tracks(60), two_tracks(67)
    p.set_pattern(old)
    p.play()
    preview.pull(BAR_FRAMES // 4)
    p.set_pattern(new)
    rest_of_bar = preview.pull(BAR_FRAMES - BAR_FRAMES // 4)
    np.testing.assert_array_equal(rest_of_bar, render(old, RATE, BPM)[BAR_FRAMES // 4 : BAR_FRAMES])
    next_bar = preview.pull(BAR_FRAMES)
    np.testing.assert_array_equal(next_bar, render(new, RATE, BPM)[BAR_FRAMES:])
    assert p.pattern is new


def test_mute_and_solo_choose_the_tracks_heard() -> None:
    p, preview, _ = player()
    pattern = two_tracks()
    p.set_pattern(pattern)
    p.play()
    p.set_mute(0, True)
    np.testing.assert_array_equal(
        preview.pull(BAR_FRAMES), render(pattern, RATE, BPM, audible={1})[:BAR_FRAMES]
    )
    p.set_solo(0, True)  # soloed but muted: silent, as in the live player
    assert not np.any(preview.pull(BAR_FRAMES))
    p.set_mute(0, False)
    np.testing.assert_array_equal(
        preview.pull(BAR_FRAMES), render(pattern, RATE, BPM, audible={0})[:BAR_FRAMES]
    )


def test_pause_resumes_where_it_was_and_a_loop_range_repeats_its_bars() -> None:
    p, preview, _ = player()
    pattern = two_tracks()
    p.set_pattern(pattern)
    p.play()
    preview.pull(BAR_FRAMES // 2)
    p.pause()
    assert p.position() == pytest.approx(2.0)  # half a bar of 4 beats
    p.play()
    assert preview.position_beats() == pytest.approx(2.0)
    p.set_loop((1, 2))  # only the second bar
    p.stop()
    assert p.position() == 0.0
    p.play()
    assert preview.position_beats() == pytest.approx(4.0)  # the loop's first beat
    np.testing.assert_array_equal(preview.pull(BAR_FRAMES), render(pattern, RATE, BPM, bars=(1, 2)))


def test_recording_needs_midi() -> None:
    p, _, _ = player()
    with pytest.raises(RuntimeError, match="needs MIDI"):
        p.record(1)
