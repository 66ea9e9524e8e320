# SPDX-License-Identifier: MIT
"""MIDI channel and realtime messages as byte tuples, and the panic sequence."""

from __future__ import annotations

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


def is_note_on(message: Message) -> bool:
    return len(message) == 3 and message[0] & 0xF0 == NOTE_ON and message[2] > 0


def is_note_off(message: Message) -> bool:
    return len(message) == 3 and (
        message[0] & 0xF0 == NOTE_OFF or (message[0] & 0xF0 == NOTE_ON and message[2] == 0)
    )
