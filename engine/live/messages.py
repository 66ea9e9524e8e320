# SPDX-License-Identifier: MIT
"""MIDI channel and realtime messages as byte tuples, and the panic sequence."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

NOTE_OFF = 0x80
NOTE_ON = 0x90
CONTROL_CHANGE = 0xB0
PROGRAM_CHANGE = 0xC0
SONG_POSITION = 0xF2
CLOCK = 0xF8
START = 0xFA
CONTINUE = 0xFB
STOP = 0xFC
#: Controllers of the panic sequence: sustain pedal, all notes off, all sound off.
CC_SUSTAIN = 64
CC_ALL_NOTES_OFF = 123
CC_ALL_SOUND_OFF = 120
#: MIDI channels, all of which a full panic (:func:`release_everything`) resets.
N_CHANNELS = 16
#: Pause after each channel of a full panic, so that the MIDI system (and a slow receiver)
#: drains its buffer before the next 131 messages: 16 channels take 32 ms.
RELEASE_PAUSE_SEC = 0.002
#: MIDI clock pulses per quarter note; a Song Position Pointer counts sixteenths (6 pulses).
PULSES_PER_QUARTER = 24
PULSES_PER_SPP_UNIT = 6

Message = tuple[int, ...]


def note_on(channel: int, pitch: int, velocity: int) -> Message:
    return (NOTE_ON | channel, pitch, velocity)


def note_off(channel: int, pitch: int) -> Message:
    return (NOTE_OFF | channel, pitch, 0)


def program_change(channel: int, program: int) -> Message:
    return (PROGRAM_CHANGE | channel, program)


def control_change(channel: int, controller: int, value: int) -> Message:
    return (CONTROL_CHANGE | channel, controller, value)


def song_position(sixteenths: int) -> Message:
    """Song Position Pointer: ``sixteenths`` since the start, 0..16383."""
    value = max(0, min(sixteenths, 0x3FFF))
    return (SONG_POSITION, value & 0x7F, value >> 7)


def channel_reset(channel: int) -> list[Message]:
    """After the note-offs of a panic: sustain up, all notes off, all sound off."""
    return [
        control_change(channel, CC_SUSTAIN, 0),
        control_change(channel, CC_ALL_NOTES_OFF, 0),
        control_change(channel, CC_ALL_SOUND_OFF, 0),
    ]


def release_channel(channel: int) -> list[Message]:
    """A note-off for each of the 128 keys of ``channel``, then :func:`channel_reset`: the
    panic for a channel whose sounding notes are not known."""
    return [note_off(channel, pitch) for pitch in range(128)] + channel_reset(channel)


def release_everything(
    send_channel: Callable[[Sequence[Message]], None],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """The full panic of ``barforge panic`` and of the app's Panic button: for each of the 16
    channels, :func:`release_channel` handed to ``send_channel`` (which sends it to every port
    it covers), then a pause of :data:`RELEASE_PAUSE_SEC`. It releases what nobody kept track
    of: notes another program sent, or that an earlier session left hanging."""
    for channel in range(N_CHANNELS):
        send_channel(release_channel(channel))
        sleep(RELEASE_PAUSE_SEC)


def is_note_on(message: Message) -> bool:
    return len(message) == 3 and message[0] & 0xF0 == NOTE_ON and message[2] > 0


def is_note_off(message: Message) -> bool:
    return len(message) == 3 and (
        message[0] & 0xF0 == NOTE_OFF or (message[0] & 0xF0 == NOTE_ON and message[2] == 0)
    )
