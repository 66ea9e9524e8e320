# SPDX-License-Identifier: MIT
"""Live playback into a DAW: a looped pattern on a scheduler thread, in time with an internal or
an external MIDI clock, with hot swap at bar boundaries, input recording and no stuck notes.

Data flow::

    Pattern --compile--> Timeline (note-ons sorted by tick, per output port and channel)
                             |
    commands (play, stop, swap, mute...) --queue--> Player thread <--poll-- MidiInput
                             |                       (clock, notes)       (clock, notes)
                             v
                      SoundingNotes  --> MidiOutput(s) --> the DAW

Qt-free: the desktop app wraps :class:`~engine.live.player.Player` and turns its callbacks into
signals.
"""
