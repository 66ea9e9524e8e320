# SPDX-License-Identifier: MIT
"""The player's Panic (the app's Panic button) on real ports: a private JACK server (the
``jack_server`` fixture) and rtmidi receivers, one per output port."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest

from engine.live import messages as mm
from engine.live.jack import JackServer
from engine.live.player import Player
from engine.midi.ports import MidiInput, MidiOutput, Received
from engine.music import Note, Pattern, Track

TPQ = 480
BAR = 4 * TPQ


def everything_released(channel: int) -> list[tuple[int, ...]]:
    """What ``barforge panic`` sends on ``channel``: 128 note-offs, sustain off, all notes off,
    all sound off (written out here, not taken from the code under test)."""
    offs = [(0x80 | channel, pitch, 0) for pitch in range(128)]
    return [*offs, (0xB0 | channel, 64, 0), (0xB0 | channel, 123, 0), (0xB0 | channel, 120, 0)]


FULL_PANIC = [m for channel in range(16) for m in everything_released(channel)]


def collect(ports: list[MidiInput], seconds: float) -> list[list[Received]]:
    out: list[list[Received]] = [[] for _ in ports]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.02)
        for got, port in zip(out, ports, strict=True):
            got += port.poll()
    return out


def index_of_slice(messages: list[tuple[int, ...]], part: list[tuple[int, ...]]) -> int:
    for start in range(len(messages) - len(part) + 1):
        if messages[start : start + len(part)] == part:
            return start
    return -1


@pytest.fixture
def two_ports(jack_server: JackServer) -> Iterator[tuple[list[MidiOutput], list[MidiInput]]]:
    outputs = [MidiOutput(f"out{i}", api="jack", client=f"Barforge panic {i}") for i in range(2)]
    inputs = [MidiInput("in", api="jack", client=f"daw{i}") for i in range(2)]
    for output, receiver in zip(outputs, inputs, strict=True):
        jack_server.connect(output.name, receiver.name)
    yield outputs, inputs
    for output in outputs:
        output.close()
    for receiver in inputs:
        receiver.close()


def test_panic_releases_every_key_on_all_16_channels_of_every_output(
    two_ports: tuple[list[MidiOutput], list[MidiInput]],
) -> None:
    outputs, receivers = two_ports
    # Track 0 plays on port 0, channel 0; track 1 on port 1, channel 2: 14 channels of each
    # port are not the pattern's, and hold nothing the player knows of.
    pad = Track("pad", 0, channel=0, notes=[Note(0, 2 * BAR, 48, 80)])
    beat = Track("beat", 0, channel=2, notes=[Note(b * TPQ, 100, 60, 90) for b in range(8)])
    pattern = Pattern((pad, beat), n_bars=2, ticks_per_quarter=TPQ, tempo_us=250_000)
    player = Player(outputs, bpm=240, port_per_track=True, log_sent=True).start()
    try:
        player.set_pattern(pattern)
        player.play()
        before = collect(receivers, 0.4)
        assert mm.note_on(0, 48, 80) in [r.message for r in before[0]]  # the pad sounds
        player.panic()
        assert player.state == "playing"  # playing goes on
        after = collect(receivers, 1.0)
        player.stop()
    finally:
        player.close()
    rest = collect(receivers, 0.3)
    for port in range(2):
        heard = [r.message for r in before[port] + after[port] + rest[port]]
        sent = [m for group in player.sent() for p, m in group.messages if p == port]
        assert heard == sent  # nothing lost on the way
        # The whole of barforge panic's sequence, in one piece, on this port...
        start = index_of_slice(heard, FULL_PANIC)
        assert start >= 0, f"port {port}: no full panic among {len(heard)} messages"
        # ...which released the pad: its own note-off is not sent again later.
        if port == 0:
            assert mm.note_off(0, 48) not in heard[:start] + heard[start + len(FULL_PANIC) :]
        if port == 1:  # the beat goes on after the panic, from its next onsets
            assert any(mm.is_note_on(m) for m in heard[start + len(FULL_PANIC) :])


def test_panic_when_stopped_still_releases_all_16_channels(
    two_ports: tuple[list[MidiOutput], list[MidiInput]],
) -> None:
    outputs, receivers = two_ports
    player = Player(outputs, bpm=240).start()  # no pattern at all
    try:
        player.panic()
        heard = collect(receivers, 0.3)
    finally:
        player.close()
    for port in range(2):
        assert [r.message for r in heard[port]] == FULL_PANIC


def test_panic_through_any_port_sends_exactly_the_full_sequence() -> None:
    class Port:
        name = "fake"

        def __init__(self) -> None:
            self.sent: list[tuple[int, ...]] = []

        def send(self, message: Sequence[int]) -> None:
            self.sent.append(tuple(message))

        def exists(self) -> bool:
            return True

    port = Port()
    player = Player([port], realtime=False).start()
    try:
        player.panic()
    finally:
        player.close()
    # close() sends its own (empty: nothing sounds, no pattern) panic after the button's
    assert port.sent == FULL_PANIC
