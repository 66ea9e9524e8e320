# SPDX-License-Identifier: MIT
"""The transport and its toolbar on real ports: a private JACK server (the session's
``jack_server``), received by rtmidi inputs and by ``jack_midi_dump``; Qt offscreen."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Iterable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from desktop.transport import Transport, pattern_beat
from desktop.transport_bar import TransportBar, format_position
from engine.live import messages as mm
from engine.live.jack import JackServer, MidiDump
from engine.midi.ports import MidiInput, MidiOutput, Received
from engine.music import Note, Pattern, Track

TPQ = 480
BAR = 4 * TPQ
BPM = 240.0  # a beat lasts 0.25 s, a bar 1 s
SEC_PER_BEAT = 60 / BPM
CLIENT = "Barforge desk"


def _pattern(tracks: Iterable[Track], n_bars: int = 2) -> Pattern:
    return Pattern(tracks, n_bars=n_bars, ticks_per_quarter=TPQ, tempo_us=round(60e6 / BPM))


def _beats(pitch: int | None = None, n_bars: int = 2, channel: int = 0) -> Track:
    """A note on every beat: ``pitch`` on each, or 60 + beat when None."""
    notes = [
        Note(b * TPQ, TPQ // 2, pitch if pitch is not None else 60 + b, 100)
        for b in range(4 * n_bars)
    ]
    return Track("beat", 0, channel=channel, notes=notes)


def hanging(messages: Iterable[tuple[int, ...]]) -> set[tuple[int, int]]:
    """(channel, pitch) of the notes a receiver still hears: each note-on needs a note-off."""
    sounding: dict[tuple[int, int], int] = {}
    for message in messages:
        key = (message[0] & 0x0F, message[1]) if len(message) == 3 else None
        if key is not None and mm.is_note_on(message):
            sounding[key] = sounding.get(key, 0) + 1
        elif key is not None and mm.is_note_off(message) and sounding.get(key, 0) > 0:
            sounding[key] -= 1
    return {key for key, count in sounding.items() if count > 0}


def _collect(qtbot: QtBot, port: MidiInput, seconds: float) -> list[Received]:
    """What ``port`` receives in ``seconds``, with Qt's events handled meanwhile."""
    out: list[Received] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        qtbot.wait(20)
        out += port.poll()
    return out


def _onsets(received: Iterable[Received]) -> list[Received]:
    return [r for r in received if mm.is_note_on(r.message)]


def _grid_residuals(onsets: list[Received]) -> list[float]:
    """Arrival (the MIDI system's clock) minus a line fitted through the onsets against their
    index: with one note a beat, how far each note is from the beat grid, seconds. The line
    takes up the dummy backend's slow drift against the wall clock (a few percent here)."""
    xs = list(range(len(onsets)))
    ys = [r.source_sec for r in onsets]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    assert slope == pytest.approx(SEC_PER_BEAT, rel=0.06)
    return [y - (my + slope * (x - mx)) for x, y in zip(xs, ys, strict=True)]


def _player_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "barforge-player" and t.is_alive()]


@pytest.fixture
def receiver(jack_server: JackServer) -> Iterator[MidiInput]:
    """The DAW's MIDI input: a port of another program that the transport opens by name."""
    port = MidiInput("in", api="jack", client="desk-rx")
    yield port
    port.close()


@pytest.fixture
def transport(jack_server: JackServer, receiver: MidiInput) -> Iterator[Transport]:
    transport = Transport(midi_api="jack", client=CLIENT)
    transport.output_port = receiver.name
    transport.bpm = BPM
    yield transport
    transport.close()


def test_positions_are_bar_dot_beat_inside_the_loop() -> None:
    pattern = _pattern([_beats()], n_bars=4)
    assert format_position(0.0, 4.0) == "1.1"
    assert format_position(5.5, 4.0) == "2.2"
    assert format_position(7.99, 3.0) == "3.2"
    assert pattern_beat(17.0, pattern, None) == 1.0  # the 16-beat pattern came round
    assert pattern_beat(9.0, pattern, (1, 3)) == 5.0  # bars 2-3 loop: 8 beats from beat 4


def test_the_transport_plays_a_pattern_into_the_daw_on_the_beat(
    qtbot: QtBot, transport: Transport, receiver: MidiInput, jack_server: JackServer
) -> None:
    states: list[str] = []
    positions: list[float] = []
    transport.state_changed.connect(states.append)
    transport.position_changed.connect(positions.append)
    assert transport.output_name is None  # nothing opens before playing
    with qtbot.waitSignal(transport.state_changed, timeout=5000):
        assert transport.play(_pattern([_beats()]))
    assert transport.output_name == receiver.name
    assert transport.playing
    heard = _collect(qtbot, receiver, 2.4)  # a loop and a bit
    transport.stop()
    heard += _collect(qtbot, receiver, 0.3)
    assert states == ["playing", "stopped"]
    onsets = _onsets(heard)
    pitches = [r.message[1] for r in onsets]
    assert pitches[:10] == [*range(60, 68), 60, 61]  # every beat, in order, then round again
    assert all(r.message[0] == 0x90 for r in onsets)
    residuals = _grid_residuals(onsets)
    period = jack_server.period_sec
    assert statistics.median(abs(e) for e in residuals) <= period + 0.002
    assert max(abs(e) for e in residuals) < SEC_PER_BEAT / 16  # never off by a 64th note
    # the playhead moved through the pattern while playing, and went home on stop
    assert len(positions) > 20
    assert max(positions) > 6.0
    assert all(0.0 <= p < 8.0 for p in positions)
    assert positions[-1] == 0.0
    assert hanging(r.message for r in heard) == set()


def test_an_edit_while_playing_reaches_the_daw_at_the_next_bar_line(
    qtbot: QtBot, transport: Transport, receiver: MidiInput, jack_server: JackServer
) -> None:
    old, new = _pattern([_beats(60)]), _pattern([_beats(72)])
    assert transport.play(old)
    qtbot.waitUntil(lambda: transport.song_position() >= 5.3, timeout=5000)  # in bar 2
    before = transport.song_position()
    with qtbot.waitSignal(transport.pattern_swapped, timeout=5000) as swapped:
        transport.update_pattern(new)
        after = transport.song_position()
    assert before // 4 == (after + 0.1) // 4 == 1  # asked for well inside the second bar
    assert swapped.args == [8.0]  # the next bar line, in song beats
    qtbot.waitUntil(lambda: transport.song_position() >= 11.2, timeout=5000)
    heard = _collect(qtbot, receiver, 0.1)
    transport.stop()
    heard += _collect(qtbot, receiver, 0.3)
    onsets = _onsets(heard)
    pitches = [r.message[1] for r in onsets]
    assert pitches[:8] == [60] * 8  # the old pattern up to the line, every beat of it
    assert pitches[8:] == [72] * (len(pitches) - 8)  # the new one from the line on
    assert len(pitches) >= 11
    # The first new note comes on the bar line's beat of the grid the old notes set.
    residuals = _grid_residuals(onsets)
    usual = statistics.median(residuals)
    assert abs(residuals[8] - usual) <= jack_server.period_sec + 0.004
    assert hanging(r.message for r in heard) == set()


def test_stop_and_panic_leave_no_note_sounding(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    pad = Track("pad", 0, channel=2, notes=[Note(0, 2 * BAR, p, 80) for p in (48, 52, 55)])
    beat = Track("beat", 0, channel=9, is_drum=True, notes=[Note(0, TPQ // 4, 36, 90)])
    assert transport.play(_pattern([pad, beat]))
    heard = _collect(qtbot, receiver, 0.4)
    assert hanging(r.message for r in heard) == {(2, 48), (2, 52), (2, 55)}
    transport.panic()  # releases the pad; playing goes on
    heard += _collect(qtbot, receiver, 0.2)
    assert hanging(r.message for r in heard) == set()
    assert transport.state == "playing"
    qtbot.waitUntil(lambda: transport.song_position() >= 8.2, timeout=5000)  # round again
    heard += _collect(qtbot, receiver, 0.2)
    assert hanging(r.message for r in heard) == {(2, 48), (2, 52), (2, 55)}
    transport.stop()
    heard += _collect(qtbot, receiver, 0.3)
    assert transport.state == "stopped"
    assert hanging(r.message for r in heard) == set()
    assert [r.message for r in heard].count(mm.note_on(2, 48, 80)) == 2


def test_pause_keeps_the_position_and_play_resumes_there(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    assert transport.play(_pattern([_beats()]))
    qtbot.waitUntil(lambda: transport.song_position() >= 2.6, timeout=5000)
    transport.pause()
    assert transport.state == "paused"
    paused_at = transport.position()
    assert 2.5 <= paused_at < 4.0
    heard = _collect(qtbot, receiver, 0.3)
    assert transport.state == "paused"
    assert transport.play()  # the pattern given before
    assert transport.state == "playing"
    heard += _collect(qtbot, receiver, 0.8)  # beats 3, 4 and 5
    transport.stop()
    heard += _collect(qtbot, receiver, 0.2)
    pitches = [r.message[1] for r in _onsets(heard)]
    assert pitches[:6] == list(range(60, 66))  # resumed with the next beat, not from the start
    assert hanging(r.message for r in heard) == set()


def test_a_port_that_does_not_exist_is_reported_and_a_good_one_then_plays(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    transport.output_port = "no-such-daw:midi-in"
    with qtbot.waitSignal(transport.error_raised, timeout=2000) as error:
        assert not transport.play(_pattern([_beats()]))
    message = str(error.args[0])
    assert "no-such-daw:midi-in" in message
    assert receiver.name in message  # the ports there are, to choose from
    assert transport.state == "stopped"
    assert transport.output_name is None
    transport.output_port = receiver.name
    assert transport.play()
    heard = _collect(qtbot, receiver, 0.5)
    transport.stop()
    assert [r.message[1] for r in _onsets(heard)][:2] == [60, 61]


def test_a_port_that_vanishes_while_playing_stops_everything_and_play_works_again(
    qtbot: QtBot, transport: Transport, receiver: MidiInput, jack_server: JackServer
) -> None:
    daw = MidiInput("in", api="jack", client="desk-daw")
    transport.output_port = daw.name
    assert transport.open_ports()  # open before playing, to watch our own port
    monitor = MidiDump(jack_server, "desk-monitor").start([f"{CLIENT}:out"])
    states: list[str] = []
    transport.state_changed.connect(states.append)
    try:
        pad = Track("pad", 0, channel=0, notes=[Note(0, 2 * BAR, 48, 80), Note(0, 2 * BAR, 55, 80)])
        assert transport.play(_pattern([pad]))
        qtbot.waitUntil(lambda: transport.song_position() >= 1.5, timeout=5000)
        assert hanging(r.message for r in daw.poll()) == {(0, 48), (0, 55)}
        with qtbot.waitSignal(transport.error_raised, timeout=3000) as error:
            daw.close()  # the DAW quits
    finally:
        heard = [d.message for d in monitor.stop()]
        daw.close()
    message = str(error.args[0])
    assert "desk-daw:in" in message
    assert "released" in message
    assert states == ["playing", "stopped"]
    assert transport.output_name is None  # the ports were closed, to be opened again
    assert mm.note_on(0, 48, 80) in heard
    assert hanging(heard) == set()
    transport.output_port = receiver.name
    assert transport.play()
    heard_again = _collect(qtbot, receiver, 0.3)
    transport.stop()
    assert mm.note_on(0, 48, 80) in [r.message for r in heard_again]


def test_clock_sync_without_an_input_port_is_an_error_not_an_exception(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    transport.sync = "clock"
    with qtbot.waitSignal(transport.error_raised, timeout=2000) as error:
        assert not transport.play(_pattern([_beats()]))
    assert "input port" in str(error.args[0])
    assert transport.state == "stopped"
    transport.sync = "internal"
    assert transport.play()
    assert transport.state == "playing"
    transport.stop()


def test_clock_sync_waits_for_the_daw_and_recording_needs_an_input(
    qtbot: QtBot, transport: Transport, jack_server: JackServer
) -> None:
    with qtbot.waitSignal(transport.error_raised, timeout=2000) as error:
        assert transport.record(1, 0) is None
    assert "input port" in str(error.args[0])
    clock = MidiOutput("clock", api="jack", client="desk-clock")
    try:
        transport.input_port = clock.name
        transport.sync = "clock"
        assert transport.play(_pattern([_beats()]))
        assert transport.state == "waiting"  # for the DAW's Start
        assert transport.input_name == clock.name
        transport.stop()
        assert transport.state == "stopped"
    finally:
        transport.close()
        clock.close()


def test_recording_from_the_input_gives_quantised_notes_for_the_track(
    qtbot: QtBot, transport: Transport
) -> None:
    keys = MidiOutput("keys", api="jack", client="desk-keyboard")  # the composer's keyboard
    try:
        transport.input_port = keys.name
        click = Track("click", 0, channel=9, is_drum=True, notes=[Note(0, 60, 37, 60)])
        lead = Track("Lead", program=81, channel=4)
        assert transport.play(_pattern([click, lead]))
        qtbot.waitUntil(lambda: transport.song_position() >= 0.5, timeout=5000)
        start_beat = transport.record(1, 1)
        assert start_beat == 4.0  # the next bar line
        t0 = time.perf_counter() + (start_beat - transport.song_position()) * SEC_PER_BEAT
        plan = [(0.0, 0.2, 60), (1.0, 1.4, 64), (2.5, 3.0, 67)]  # beats into the bar
        jitter = [-0.012, 0.009, -0.006]
        events = []
        for (on, off, pitch), shift in zip(plan, jitter, strict=True):
            events.append((t0 + on * SEC_PER_BEAT + shift, (0x90, pitch, 100)))
            events.append((t0 + off * SEC_PER_BEAT + shift, (0x80, pitch, 0)))
        with qtbot.waitSignal(transport.recording_finished, timeout=5000) as finished:
            for when, message in sorted(events):
                while time.perf_counter() < when:
                    time.sleep(0.0005)
                keys.send(message)
        index, track = finished.args
        assert transport.playing  # recording does not stop playing
        transport.stop()
    finally:
        keys.close()
    assert index == 1
    assert isinstance(track, Track)
    assert (track.name, track.program, track.channel) == ("Lead", 81, 4)
    assert [(n.start, n.duration, n.pitch) for n in track.notes] == [
        (0, 120, 60),
        (480, 240, 64),
        (1200, 240, 67),
    ]


def test_record_while_stopped_starts_playing_first(qtbot: QtBot, transport: Transport) -> None:
    keys = MidiOutput("keys", api="jack", client="desk-keyboard")
    try:
        transport.input_port = keys.name
        transport.update_pattern(_pattern([_beats()]))  # remembered while stopped
        assert transport.state == "stopped"
        with qtbot.waitSignal(transport.recording_finished, timeout=5000) as finished:
            assert transport.record(1, 0) == 0.0  # from the first bar
            assert transport.state == "playing"
            qtbot.waitUntil(lambda: transport.song_position() >= 1.95, timeout=3000)
            keys.send((0x90, 70, 90))  # on beat 2, held to the end
        transport.stop()
    finally:
        keys.close()
    index, track = finished.args
    assert index == 0
    assert [(n.start, n.pitch, n.velocity) for n in track.notes] == [(960, 70, 90)]


def test_tempo_and_loop_changes_apply_while_playing(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    assert transport.play(_pattern([_beats()]))
    qtbot.waitUntil(lambda: transport.song_position() >= 1.2, timeout=5000)
    transport.loop = (1, 2)  # the second bar only: pitches 64..67
    transport.bpm = 160.0  # a beat of 0.375 s
    _collect(qtbot, receiver, 0.5)
    heard = _collect(qtbot, receiver, 2.0)
    transport.stop()
    onsets = _onsets(heard)
    assert {r.message[1] for r in onsets} <= {64, 65, 66, 67}
    gaps = [b.source_sec - a.source_sec for a, b in itertools.pairwise(onsets)]
    assert statistics.median(gaps) == pytest.approx(60 / 160, rel=0.06)
    assert 4.0 <= transport.position() < 8.0  # the playhead stays inside the loop


def test_the_bar_drives_the_transport_and_shows_its_state(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    pattern = _pattern([_beats()])
    bar = TransportBar(transport, lambda: pattern, lambda: 0)
    qtbot.addWidget(bar)
    assert bar.objectName() == "transport"
    assert bar.play_action.shortcut().toString() == "Space"
    bar.play_action.trigger()
    assert transport.state == "playing"
    assert bar.play_action.isChecked()
    qtbot.waitUntil(lambda: bar.position_label.text() == "2.1", timeout=5000)
    bar.bpm_box.setValue(200.0)
    assert transport.bpm == 200.0
    _collect(qtbot, receiver, 0.4)
    heard = _collect(qtbot, receiver, 1.6)
    bar.stop_action.trigger()
    assert transport.state == "stopped"
    assert not bar.play_action.isChecked()
    assert bar.position_label.text() == "1.1"
    onsets = _onsets(heard)
    onset_gaps = [b.source_sec - a.source_sec for a, b in itertools.pairwise(onsets)]
    assert len(onset_gaps) >= 3
    assert statistics.median(onset_gaps) == pytest.approx(60 / 200, rel=0.06)
    bar.loop_start_box.setValue(2)
    bar.loop_end_box.setValue(2)
    bar.loop_action.trigger()
    assert transport.loop == (1, 2)
    bar.loop_action.trigger()
    assert transport.loop is None
    bar.play_action.trigger()  # Play again, Space's action stops it
    assert transport.playing
    bar.play_action.trigger()
    assert transport.state == "stopped"


def test_the_bar_lists_ports_and_chooses_them(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    keys = MidiOutput("keys", api="jack", client="desk-keyboard")
    bar = TransportBar(transport, lambda: None, lambda: 0)
    qtbot.addWidget(bar)
    try:
        bar.refresh_ports()
        outputs = [bar.output_box.itemText(i) for i in range(bar.output_box.count())]
        inputs = [bar.input_box.itemText(i) for i in range(bar.input_box.count())]
        assert outputs[0] == "Barforge (virtual port)"
        assert receiver.name in outputs
        assert bar.output_box.currentText() == receiver.name  # the transport's choice
        assert inputs[0] == "None"
        assert keys.name in inputs
        bar.input_box.activated.emit(inputs.index(keys.name))
        assert transport.input_port == keys.name
        bar.output_box.activated.emit(0)
        assert transport.output_port is None  # Barforge's virtual port
        bar.sync_box.setCurrentIndex(1)
        assert transport.sync == "clock"
        with qtbot.waitSignal(transport.error_raised, timeout=2000):
            bar.play_action.trigger()  # no pattern to play
        assert not bar.play_action.isChecked()
    finally:
        keys.close()


def test_the_virtual_port_is_there_for_the_daw_to_connect_to(
    qtbot: QtBot, transport: Transport, receiver: MidiInput, jack_server: JackServer
) -> None:
    transport.output_port = None
    assert transport.open_ports()
    assert transport.output_name == f"{CLIENT}:out"
    assert transport.output_name not in transport.available_outputs()  # not our own ports
    jack_server.connect(f"{CLIENT}:out", receiver.name)  # what the DAW does
    assert transport.play(_pattern([_beats()]))
    heard = _collect(qtbot, receiver, 0.4)
    transport.stop()
    assert [r.message[1] for r in _onsets(heard)][:1] == [60]


def test_close_ends_the_player_thread_and_is_idempotent(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    assert transport.play(_pattern([_beats(n_bars=1)], n_bars=1))
    assert _player_threads()
    heard = _collect(qtbot, receiver, 0.2)
    transport.close()
    transport.close()
    assert not _player_threads()
    assert transport.state == "stopped"
    assert not transport.play()  # closed for good
    heard += _collect(qtbot, receiver, 0.2)
    assert hanging(r.message for r in heard) == set()


def test_changing_the_output_while_playing_goes_on_through_the_new_port(
    qtbot: QtBot, transport: Transport, receiver: MidiInput
) -> None:
    other = MidiInput("in", api="jack", client="desk-rx2")
    states: list[str] = []
    transport.state_changed.connect(states.append)
    try:
        pad = Track("pad", 0, channel=1, notes=[Note(0, 2 * BAR, 50, 80)])
        assert transport.play(_pattern([pad, _beats(channel=0)]))
        first = _collect(qtbot, receiver, 0.4)
        transport.output_port = other.name
        assert transport.playing
        assert transport.output_name == other.name
        second = _collect(qtbot, other, 0.4)
        transport.stop()
        first += _collect(qtbot, receiver, 0.2)
        second += _collect(qtbot, other, 0.2)
    finally:
        other.close()
    assert states == ["playing", "stopped", "playing", "stopped"]
    assert mm.note_on(1, 50, 80) in [r.message for r in first]
    assert hanging(r.message for r in first) == set()  # the old port was released
    assert [r.message[1] for r in _onsets(second)][:2] == [50, 60]  # started again
    assert hanging(r.message for r in second) == set()
