# SPDX-License-Identifier: MIT
"""The notes sounding at the receiver, per (port, channel, pitch): what a panic must release."""

from __future__ import annotations

from collections.abc import Iterable

from engine.live.messages import Message, channel_reset, note_off

#: (output port index, channel 0..15, pitch 0..127)
Key = tuple[int, int, int]


class SoundingNotes:
    """Which note instance holds each key, so that a note-off only ends the note that owns it.

    Two notes of one pitch on one channel (two tracks sharing a channel, or a swap) would
    otherwise end each other early or leave one hanging: a key sounds at most once; a second
    note-on first ends the first note (a retrigger), and the first note's own note-off is then
    skipped.
    """

    def __init__(self) -> None:
        self._owner: dict[Key, int] = {}
        #: Channels that have sounded per port since the last reset (where a panic resets).
        self.channels: set[tuple[int, int]] = set()

    def __len__(self) -> int:
        return len(self._owner)

    def __contains__(self, key: object) -> bool:
        return key in self._owner

    def keys(self) -> list[Key]:
        return list(self._owner)

    def owner(self, key: Key) -> int | None:
        return self._owner.get(key)

    def start(self, key: Key, token: int) -> bool:
        """Record that ``token`` now sounds ``key``; True when the key was already sounding
        (the caller sends a note-off first)."""
        retrigger = key in self._owner
        self._owner[key] = token
        self.channels.add((key[0], key[1]))
        return retrigger

    def end(self, key: Key, token: int) -> bool:
        """Whether ``token``'s note-off should be sent (it still owns ``key``); forgets it."""
        if self._owner.get(key) != token:
            return False
        del self._owner[key]
        return True

    def release(self, keys: Iterable[Key]) -> list[tuple[int, Message]]:
        """Forget ``keys`` and return their note-offs as ``(port, message)``."""
        out = []
        for key in keys:
            if self._owner.pop(key, None) is not None:
                out.append((key[0], note_off(key[1], key[2])))
        return out

    def panic(self, extra_channels: Iterable[tuple[int, int]] = ()) -> list[tuple[int, Message]]:
        """Note-offs for every sounding key, then sustain up, all notes off and all sound off
        on every channel that sounded (and ``extra_channels``), as ``(port, message)``."""
        out = self.release(sorted(self._owner))
        for port, channel in sorted(self.channels | set(extra_channels)):
            out.extend((port, message) for message in channel_reset(channel))
        self.channels.clear()
        return out
