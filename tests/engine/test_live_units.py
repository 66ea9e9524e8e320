# SPDX-License-Identifier: MIT
"""The live player's parts that need no port: clocks, the timeline, sounding notes, recording."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.live import messages as mm
from engine.live.clock import ExternalClock, InternalClock, check_bpm
from engine.live.recorder import Recorder
from engine.live.sounding import SoundingNotes
from engine.live.timeline import Timeline
from engine.music import Note, Pattern, Track


def test_internal_clock_maps_beats_and_keeps_the_beat_across_a_tempo_change() -> None:
    clock = InternalClock(120)
    clock.start(10.0, 0.0)
    assert clock.time_of(4.0) == pytest.approx(12.0)
    assert clock.beat_at(11.0) == pytest.approx(2.0)
    clock.set_bpm(240, 11.0)  # at beat 2
    assert clock.beat_at(11.0) == pytest.approx(2.0)
    assert clock.time_of(4.0) == pytest.approx(11.5)


@pytest.mark.parametrize("bpm", [0, 5, 1000, float("nan")])
def test_impossible_tempi_are_refused_with_the_range(bpm: float) -> None:
    with pytest.raises(ValueError, match="BPM is outside"):
        check_bpm(bpm)


def _feed(clock: ExternalClock, t0: float, n: int, sec_per_pulse: float) -> float:
    t = t0
    for _ in range(n):
        clock.receive(mm.CLOCK, (), t)
        t += sec_per_pulse
    return t


def test_external_clock_follows_start_pulses_and_a_tempo_change_within_a_beat() -> None:
    clock = ExternalClock(bpm=90)
    assert clock.receive(mm.CLOCK, (), 0.0) is None  # not running yet
    event = clock.receive(mm.START, (), 0.0)
    assert event is not None
    assert event.kind == "start"
    assert event.beat == 0.0
    t = _feed(clock, 1.0, 48, 60 / 120 / 24)  # two beats at 120
    assert clock.bpm == pytest.approx(120, rel=1e-6)
    assert clock.last_pulse == 47
    assert clock.time_of(2.0) == pytest.approx(t)  # the next pulse, predicted
    assert clock.horizon_beat() == pytest.approx(2.0)
    t = _feed(clock, t, 24, 60 / 150 / 24)  # one beat at 150
    assert clock.bpm == pytest.approx(150, rel=1e-6)
    assert clock.time_of(3.0) == pytest.approx(t, abs=1e-9)


def test_a_better_arrival_estimate_moves_the_line_without_bending_it() -> None:
    # Pulses 20 ms apart on the MIDI system's clock; its offset to perf_counter is first
    # estimated 5 ms too late (a late first poll), then corrected at pulse 6.
    clock = ExternalClock()
    clock.receive(mm.START, (), 100.0, 0.0)
    for pulse in range(12):
        source = 0.5 + pulse * 0.020
        offset = 100.005 if pulse < 6 else 100.0
        clock.receive(mm.CLOCK, (), source + offset, source)
    assert clock.bpm == pytest.approx(60 / (24 * 0.020), rel=1e-9)  # the slope is exact
    # Pulse 12 is predicted on the corrected mapping: source 0.74 s, plus 100 s.
    assert clock.time_of(12 / 24) == pytest.approx(100.74, abs=1e-9)
    assert clock.beat_at(100.74) == pytest.approx(12 / 24)


def test_pulses_before_any_start_are_counted_as_a_clock_joined_mid_song() -> None:
    clock = ExternalClock()
    _feed(clock, 0.0, 30, 0.02)
    assert clock.pulses_without_start == 30
    assert not clock.running
    clock.receive(mm.START, (), 1.0)
    assert clock.pulses_without_start == 0


def test_external_clock_song_position_and_continue_resume_where_the_pointer_says() -> None:
    clock = ExternalClock()
    clock.receive(mm.START, (), 0.0)
    _feed(clock, 0.0, 30, 0.02)
    stop = clock.receive(mm.STOP, (), 1.0)
    assert stop is not None
    assert stop.kind == "stop"
    seek = clock.receive(mm.SONG_POSITION, (8, 0), 1.1)  # 8 sixteenths = beat 2
    assert seek is not None
    assert seek.kind == "seek"
    assert seek.beat == 2.0
    resumed = clock.receive(mm.CONTINUE, (), 1.2)
    assert resumed is not None
    assert resumed.kind == "continue"
    assert resumed.beat == 2.0
    pulse = clock.receive(mm.CLOCK, (), 1.3)
    assert pulse is not None
    assert pulse.beat == 2.0
    assert clock.time_of(2.0) == pytest.approx(1.3)


def test_external_clock_ignores_implausible_gaps_when_estimating_tempo() -> None:
    clock = ExternalClock()
    clock.receive(mm.START, (), 0.0)
    t = _feed(clock, 0.0, 24, 60 / 100 / 24)
    _feed(clock, t + 30.0, 24, 60 / 100 / 24)  # a 30 s pause without Stop
    assert clock.bpm == pytest.approx(100, rel=1e-6)


def _pattern(*tracks: Track, n_bars: int = 2) -> Pattern:
    return Pattern(tracks, n_bars=n_bars, ticks_per_quarter=480)


def test_timeline_sorts_notes_maps_ports_and_cuts_at_the_loop_end() -> None:
    a = Track("a", program=5, channel=0, notes=[Note(960, 480, 60), Note(0, 2000, 62)])
    b = Track("b", program=9, channel=3, notes=[Note(0, 480, 40), Note(1920, 1920, 41)])
    pattern = _pattern(a, b)
    timeline = Timeline(pattern, n_ports=2, port_per_track=True, loop=(0, 1))
    assert [(n.start, n.pitch, n.port) for n in timeline.notes] == [
        (0, 62, 0),
        (0, 40, 1),
        (960, 60, 0),
    ]
    assert timeline.notes[0].end == 1920  # cut at the loop's end
    assert timeline.position(1920 * 3 + 5) == 5
    assert timeline.programs() == [(0, 0, 5), (1, 3, 9)]
    one_port = Timeline(pattern)
    assert {n.port for n in one_port.notes} == {0}
    with pytest.raises(ValueError, match="loop bars"):
        Timeline(pattern, loop=(1, 3))


def test_a_key_sounds_once_and_only_its_owner_ends_it() -> None:
    sounding = SoundingNotes()
    key = (0, 2, 60)
    assert sounding.start(key, 1) is False
    assert sounding.start(key, 2) is True  # a retrigger: the caller ends the first note
    assert sounding.end(key, 1) is False  # the first note's own note-off is skipped
    assert key in sounding
    assert sounding.end(key, 2) is True
    assert len(sounding) == 0


def test_panic_releases_every_key_then_resets_every_channel_used() -> None:
    sounding = SoundingNotes()
    sounding.start((0, 0, 60), 1)
    sounding.start((1, 9, 36), 2)
    out = sounding.panic(extra_channels={(0, 5)})
    assert out[:2] == [(0, mm.note_off(0, 60)), (1, mm.note_off(9, 36))]
    resets = out[2:]
    assert (0, (0xB5, 64, 0)) in resets
    assert (0, (0xB5, 123, 0)) in resets
    assert (1, (0xB9, 120, 0)) in resets
    assert len(resets) == 3 * 3
    # the order within a channel: sustain off, all notes off, all sound off
    assert [m[1] for p, m in resets if p == 0 and m[0] == 0xB0] == [64, 123, 120]
    assert len(sounding) == 0
    assert sounding.panic() == []


def test_recording_quantises_aligns_to_the_bar_and_closes_held_notes() -> None:
    recorder = Recorder(start_tick=3840, n_bars=1, bar_ticks=1920, grid_ticks=120)
    on = (0x90, 60, 100)
    off = (0x80, 60, 0)
    recorder.receive(on, 3840 - 40)  # slightly early for the downbeat
    recorder.receive(off, 3840 + 470)
    recorder.receive((0x90, 64, 90), 3840 + 965)
    recorder.receive((0x90, 64, 0), 3840 + 1200)  # note-on with velocity 0 is a note-off
    recorder.receive((0x90, 67, 80), 3840 + 1500)  # still held at the end
    recorder.receive((0x90, 70, 80), 3840 + 1920 + 10)  # after the recording
    track = recorder.finish()
    assert [(n.start, n.duration, n.pitch, n.velocity) for n in track.notes] == [
        (0, 480, 60, 100),
        (960, 240, 64, 90),
        (1440, 480, 67, 80),
    ]
    template = Track("Lead", program=81, channel=4)
    again = Recorder(0, 1, 1920, 120, template=template).finish()
    assert (again.name, again.program, again.channel, again.notes) == ("Lead", 81, 4, ())


@given(st.integers(0, 0x3FFF))
def test_song_position_bytes_round_trip(sixteenths: int) -> None:
    status, lsb, msb = mm.song_position(sixteenths)
    assert status == mm.SONG_POSITION
    assert lsb < 128
    assert msb < 128
    assert lsb | (msb << 7) == sixteenths
