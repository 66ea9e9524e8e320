# SPDX-License-Identifier: MIT
"""Reading what other programs write: a Standard MIDI File's chunks and events walked as the
specification says a reader should, and rewritten in the strict form mido reads.

mido reads strictly: one unknown chunk, one undefined status byte or one missing byte at the
end, and it refuses the whole file. The Standard MIDI File specification (MMA, 1996) asks a
reader to skip chunks it does not know, and most players and DAWs go on past bad bytes. This
module walks the file once, event by event (:func:`repair`), and:

- **skips alien chunks** (any chunk other than ``MTrk`` after the header), as if they were not
  there; the header's track count counts track chunks only;
- **skips undefined status bytes** (0xF4, 0xF5, 0xF9, 0xFD): each is read as an event with no
  data, so the next byte starts the next delta time; their delta times still count;
- **skips stray data bytes** (a data byte where no running status is in effect) up to the next
  status byte, which is read with the stray bytes' delta time;
- **keeps running status across meta and sysex events**: the specification cancels running
  status there, but files that rely on it exist, and the channel status before the meta or
  sysex event is the only reading that keeps their notes (mido takes the sysex for the status,
  which reads the notes as sysex data). System messages (0xF1-0xFE) do not change it either;
- **clips data bytes above 127** to 127;
- **recovers a truncated file**: where the data ends inside a track (or a track's chunk claims
  more bytes than the file holds), the events read before the damage are kept and the track
  ends there (a note still sounding is ended by the reader, as for any track); the tracks
  after it are gone. Only a file whose header, or whose first track chunk's header, is cut
  short is still refused;
- **refuses damaged numbers** as before: a delta time or event length longer than MIDI's four
  bytes, or an event of more than :data:`MAX_EVENT_BYTES`, names the track and byte.

Each repair is counted in one warning. A file that needed none is passed to mido as it was, so
healthy files cost one walk over their events and nothing more. The rewritten file has every
event with its own status byte and an End of Track at the end of every track.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

#: Longest delta time or event length a MIDI file can hold (a four-byte variable-length number).
MAX_NUMBER = 0x0FFFFFFF
#: mido refuses a meta or sysex event longer than this (its ``MAX_MESSAGE_LENGTH``).
MAX_EVENT_BYTES = 1_000_000
#: Data bytes after a channel status byte (by its high nibble).
CHANNEL_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
#: Data bytes after the system messages that can stand in a track (sysex and meta aside).
SYSTEM_DATA_BYTES = {
    0xF1: 1,
    0xF2: 2,
    0xF3: 1,
    0xF6: 0,
    0xF8: 0,
    0xFA: 0,
    0xFB: 0,
    0xFC: 0,
    0xFE: 0,
}
#: Status bytes the MIDI specification leaves undefined.
UNDEFINED_STATUS = frozenset({0xF4, 0xF5, 0xF9, 0xFD})
_END_OF_TRACK = b"\xff\x2f\x00"


class DamagedData(ValueError):
    """A number in the file is longer than MIDI allows (the reason names track and byte)."""


class Unreadable(ValueError):
    """Nothing of the file can be kept (the reason says why)."""


@dataclass(frozen=True, slots=True)
class Repaired:
    """A file made readable: ``data`` (the original bytes when nothing needed repair)."""

    data: bytes
    warnings: tuple[str, ...]
    n_tracks: int


def _number(data: bytes, pos: int, end: int) -> tuple[int | None, int]:
    """The variable-length number at ``pos`` and the offset after it; None when ``end`` comes
    first. Stops once the number passes :data:`MAX_NUMBER` (returning that much), so a long
    run of continuation bytes builds no huge integer."""
    value = 0
    while pos < end:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80 or value > MAX_NUMBER:
            return value, pos
    return None, pos


def varlen(value: int) -> bytes:
    """MIDI's variable-length quantity: 7 bits a byte, most significant first."""
    out = bytearray((value & 0x7F,))
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.reverse()
    return bytes(out)


class _Track:
    """One track chunk walked event by event (see the module docstring)."""

    def __init__(
        self, data: bytes, number: int, start: int, end: int, offset: int, build: bool
    ) -> None:
        self.data, self.number, self.pos, self.end = data, number, start, end
        self.build = build  # whether to write the events out (only when the file needs it)
        self.n_events = 0
        self.offset = offset  # bytes before data[0] in the file (a RIFF wrapper), for messages
        self.out = bytearray()
        self.repairs: Counter[str] = Counter()
        self.truncated = False
        self.ended = False  # an End of Track event was read
        self.pending = 0  # delta ticks read and not yet given to an event

    def damaged(self, at: int, what: str) -> DamagedData:
        return DamagedData(f"damaged data: track {self.number}, byte {at + self.offset}: {what}")

    def walk(self, stop_at_end_of_track: bool) -> None:
        data, end = self.data, self.end
        status: int | None = None  # the channel status running status repeats
        after_meta = False  # a meta or sysex event came since that status byte
        while self.pos < end:
            at = self.pos
            delta, pos = _number(data, self.pos, end)
            if delta is None:
                self.truncated = True
                return
            if delta > MAX_NUMBER:
                raise self.damaged(
                    at,
                    f"an event's delta time is larger than MIDI allows (at most {MAX_NUMBER} "
                    "ticks)",
                )
            self.pending += delta
            if pos >= end:
                self.truncated = True
                return
            byte = data[pos]
            if byte < 0x80 and status is None:  # stray data: skip to the next status byte
                skip = pos
                while skip < end and data[skip] < 0x80:
                    skip += 1
                self.repairs["stray data bytes (no status in effect) skipped"] += skip - pos
                if skip >= end:
                    self.truncated = True
                    return
                pos, byte = skip, data[skip]
            if byte in UNDEFINED_STATUS:
                self.repairs["undefined status bytes (0xF4, 0xF5, 0xF9, 0xFD) skipped"] += 1
                self.pos = pos + 1
                continue
            if byte == 0xFF or byte in (0xF0, 0xF7):
                head = pos + (2 if byte == 0xFF else 1)  # a meta event has a type byte
                if head > end:
                    self.truncated = True
                    return
                length, body = _number(data, head, end)
                if length is None:
                    self.truncated = True
                    return
                kind = "meta" if byte == 0xFF else "sysex"
                if length > MAX_NUMBER:
                    raise self.damaged(
                        head,
                        f"a {kind} event's length is larger than MIDI allows "
                        f"(at most {MAX_NUMBER} bytes)",
                    )
                if length > MAX_EVENT_BYTES:
                    holds = (
                        f"but the file ends {len(data) - body} bytes later"
                        if length > len(data) - body
                        else f"more than the {MAX_EVENT_BYTES} bytes read for one event"
                    )
                    raise self.damaged(
                        head, f"a {kind} event claims a length of {length} bytes, {holds}"
                    )
                if body + length > end:
                    self.truncated = True
                    return
                if self.build:
                    self.out += varlen(self.pending) + data[pos : body + length]
                self.pending = 0
                self.n_events += 1
                self.pos = body + length
                after_meta = True
                if byte == 0xFF and data[pos + 1] == 0x2F:
                    self.ended = True
                    if stop_at_end_of_track:
                        return
                continue
            if byte >= 0xF0:  # a system message: its data bytes, running status untouched
                n_data = SYSTEM_DATA_BYTES[byte]
                first = pos + 1
                event = byte
            elif byte >= 0x80:
                status, after_meta, event = byte, False, byte
                n_data = CHANNEL_DATA_BYTES[byte >> 4]
                first = pos + 1
            else:  # running status
                assert status is not None
                if after_meta:
                    self.repairs["events using running status after a meta or sysex event"] += 1
                    after_meta = False
                event = status
                n_data = CHANNEL_DATA_BYTES[status >> 4]
                first = pos
            if first + n_data > end:
                self.truncated = True
                return
            values = data[first : first + n_data]
            high = sum(v > 0x7F for v in values)
            if high:
                self.repairs["data bytes above 127, clipped to 127"] += high
                values = bytes(min(v, 0x7F) for v in values)
            if self.build:
                self.out += varlen(self.pending) + bytes((event,)) + values
            self.pending = 0
            self.n_events += 1
            self.pos = first + n_data

    def chunk(self) -> bytes:
        body = bytes(self.out)
        if not self.ended:  # at the time of the last delta read, when the file was cut there
            body += varlen(self.pending) + _END_OF_TRACK
        return b"MTrk" + len(body).to_bytes(4, "big") + body


def repair(data: bytes, offset: int = 0) -> Repaired:
    """Walk the Standard MIDI File ``data`` (its header already checked) and make it readable.

    ``offset`` is the number of bytes before ``data`` in the file (a RIFF wrapper), so byte
    positions in messages are the file's.

    Raises
    ------
    DamagedData
        For a delta time or event length beyond MIDI's four bytes, or an event above
        :data:`MAX_EVENT_BYTES`.
    Unreadable
        When the file is cut (or damaged where a track chunk should start) before any
        complete event.
    """
    # The first walk only checks; a file that needs repairs is walked again to rewrite it.
    checked = _repair(data, offset, build=False)
    return checked if checked.data is data else _repair(data, offset, build=True)


def _repair(data: bytes, offset: int, build: bool) -> Repaired:
    header_length = int.from_bytes(data[4:8], "big")
    declared = int.from_bytes(data[10:12], "big")
    pos = 8 + header_length
    end = len(data)
    tracks: list[_Track] = []
    aliens: Counter[str] = Counter()
    cut: str | None = None  # why reading stopped before the declared tracks, if it did
    warnings: list[str] = []
    rewrite = False
    while len(tracks) < declared:
        if pos >= end:
            cut = f"the file ends after {len(tracks)} of the {declared} track chunks it declares"
            break
        if pos + 8 > end:
            cut = f"the file ends inside the header of track chunk {len(tracks) + 1}"
            break
        tag, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "big")
        if tag != b"MTrk":
            if not all(0x20 <= c < 0x7F for c in tag):  # no chunk name: not a chunk at all
                where = f"byte {pos + offset}"
                cut = f"no chunk starts where track chunk {len(tracks) + 1} should ({where})"
                break
            aliens[tag.decode("ascii")] += 1
            pos += 8 + size
            rewrite = True
            continue
        body = pos + 8
        overruns = body + size > end
        track = _Track(data, len(tracks) + 1, body, min(body + size, end), offset, build)
        track.walk(stop_at_end_of_track=overruns)
        tracks.append(track)
        rewrite = rewrite or bool(track.repairs)
        if overruns and track.ended:  # the chunk's length was wrong, its End of Track was not
            warnings.append(
                f"track {track.number}'s chunk claims {size} bytes, more than the file holds: "
                "read up to its End of Track"
            )
            pos, rewrite = track.pos, True
            continue
        if overruns:
            cut = f"the file ends inside track {track.number}"
            break
        if track.truncated:  # the chunk is shorter than its last event: believe the length
            warnings.append(
                f"track {track.number}'s last event runs past the end of its chunk: dropped"
            )
            rewrite = True
        pos = body + size
    if cut is not None and not any(t.n_events for t in tracks):
        raise Unreadable(f"{cut} (truncated), before any complete event")
    if cut is not None:
        warnings.insert(
            0,
            f"{cut} (truncated): the events before the damage are kept, "
            f"{len(tracks)} of {declared} tracks",
        )
        rewrite = True
    if aliens:
        listed = ", ".join(f"{n} {name!r}" for name, n in sorted(aliens.items()))
        warnings.append(f"chunks that are not MIDI tracks were skipped: {listed}")
    repairs: Counter[str] = Counter()
    for track in tracks:
        repairs.update(track.repairs)
    warnings += [f"{what}: {count}" for what, count in repairs.items()]
    if not rewrite:
        return Repaired(data, tuple(warnings), declared)
    if not build:
        return Repaired(b"", tuple(warnings), len(tracks))  # walked again to be rewritten
    header = data[:10] + len(tracks).to_bytes(2, "big") + data[12 : 8 + header_length]
    return Repaired(header + b"".join(t.chunk() for t in tracks), tuple(warnings), len(tracks))
