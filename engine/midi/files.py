# SPDX-License-Identifier: MIT
"""Standard MIDI Files <-> :class:`~engine.music.Pattern`, through mido.

Reading (:func:`read_midi_file`) accepts type 0 and type 1 files (and RIFF-wrapped RMID):

- one :class:`~engine.music.Track` per (MIDI track, channel, program) that holds notes, in file
  order; a MIDI track with a program change but no notes gives an empty track (so an empty
  track that Barforge wrote comes back), a track with neither (a conductor track) gives none;
- channel 10 (index 9) is the drum channel;
- the first tempo and time signature are kept; later changes are listed in the warnings;
- a note-on with velocity 0 is a note-off; a note-off ends the oldest sounding note of its
  channel and pitch (first in, first out); notes of one pitch that overlap are then cut where
  the next one starts (see :func:`~engine.music.resolve_overlaps`); a note still sounding at
  the end of its track ends there; a note with no length gets one tick. Each of these repairs
  is counted in the warnings;
- the pattern has enough whole bars to hold every note and every track's end.

Every failure (not MIDI, truncated, bad data, a type 2 file, SMPTE time, a file above the size
cap, absurd lengths) raises :class:`MidiFileError`, naming the file and the reason. Damaged
data (a delta time or event length beyond MIDI's four-byte numbers, one silence longer than
the bar limit) is reported as ``damaged data: ...`` (with the track and byte where known),
never as the huge number it would decode to. A file whose only fault is data bytes above 127
is read again with those bytes clipped, with a warning.

Writing (:func:`write_midi_file`) makes a type 1 file: a conductor track with the tempo and time
signature, then one track per pattern track with its name (UTF-8), program change and notes;
note-offs come before note-ons on the same tick; every track ends at the pattern's end. The
file is written atomically (a temporary file renamed over the target). The bytes are encoded
here rather than through mido's message objects, which made writing four times slower than
mido's own save (see ``barforge bench io``); mido and music21 read them back in the tests.
"""

from __future__ import annotations

import io
import math
import os
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import mido

from engine.atomic import write_bytes_atomically
from engine.gm import program_name
from engine.music import (
    DEFAULT_TEMPO_US,
    DRUM_CHANNEL,
    Note,
    Pattern,
    TimeSignature,
    Track,
    resolve_overlaps,
)

#: Files above this size are refused before parsing (real MIDI files rarely pass 1 MiB).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Longest delta time a MIDI file can hold (a four-byte variable-length quantity).
MAX_DELTA_TICKS = 0x0FFFFFFF
#: Patterns longer than this are refused (10,000 bars of 4/4 last 5.5 hours at 120 BPM).
MAX_BARS = 10_000


#: Events a pattern does not keep and whose loss is worth no warning.
_HARMLESS = frozenset(
    {"end_of_track", "instrument_name", "key_signature", "text", "copyright", "marker"}
)


class MidiFileError(Exception):
    """A MIDI file could not be read or written; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True, slots=True)
class MidiImport:
    """A pattern read from a MIDI file, with what could not be kept as it was."""

    pattern: Pattern
    warnings: tuple[str, ...]
    midi_type: int
    #: Every time signature event of the file, ``(tick, numerator, denominator)`` in time
    #: order; the pattern keeps the first (4/4 when there is none).
    time_signatures: tuple[tuple[int, int, int], ...] = ()


# --- reading ---------------------------------------------------------------------------------


def read_midi_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES) -> MidiImport:
    """Read a Standard MIDI File (type 0 or 1) into a pattern.

    Raises
    ------
    MidiFileError
        For any file that cannot be read as MIDI, with the file and the reason.
    """
    data = _read_bytes(path, max_bytes)
    warnings: list[str] = []
    midi = _parse(path, data, warnings)
    try:
        pattern, signatures = midi_to_pattern(midi, path, warnings)
    except ValueError as e:  # a value the music model refuses: still this file's fault
        raise MidiFileError(path, f"the file holds values Barforge cannot use: {e}") from None
    return MidiImport(pattern, tuple(warnings), midi.type, signatures)


def _read_bytes(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise MidiFileError(
                path,
                f"the file is {size / 2**20:.1f} MiB, above the {max_bytes / 2**20:.0f} MiB "
                "limit for MIDI files",
            )
        with open(path, "rb") as f:
            return f.read(max_bytes + 1)
    except IsADirectoryError:
        raise MidiFileError(path, "it is a folder, not a file") from None
    except OSError as e:
        raise MidiFileError(path, e.strerror or str(e)) from None


def _parse(path: str | os.PathLike[str], data: bytes, warnings: list[str]) -> mido.MidiFile:
    skipped = 0  # bytes of a RIFF wrapper before the MIDI data
    if data[:4] == b"RIFF" and data[8:12] == b"RMID" and b"MThd" in data:
        skipped = data.index(b"MThd")
        data = data[skipped:]
    if len(data) < 4 or data[:4] != b"MThd":
        raise MidiFileError(path, "not a Standard MIDI File (it does not start with 'MThd')")
    if len(data) < 14:
        raise MidiFileError(path, "the file ends in the header chunk (truncated)")
    header_length = int.from_bytes(data[4:8], "big")
    if header_length < 6 or 8 + header_length > len(data):
        raise MidiFileError(
            path,
            f"the header chunk claims {header_length} bytes, which the file does not hold "
            "(truncated or damaged)",
        )
    midi_type = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    if midi_type == 2:
        raise MidiFileError(path, "type 2 (independent sequences) MIDI files are not supported")
    if midi_type not in (0, 1):
        raise MidiFileError(path, f"unknown MIDI file type {midi_type} (only 0, 1 and 2 exist)")
    if division & 0x8000:
        raise MidiFileError(
            path, "SMPTE (frames per second) time division is not supported, only ticks per beat"
        )
    if division == 0:
        raise MidiFileError(path, "the header gives 0 ticks per quarter note")
    _check_numbers(path, data, skipped)
    try:
        midi = _mido_parse(data, clip=False)
    except OSError as e:
        if "data byte" not in str(e):
            raise MidiFileError(path, _reason(e)) from None
        try:
            midi = _mido_parse(data, clip=True)
        except Exception as e2:  # mido raises many kinds: report them all alike
            raise MidiFileError(path, _reason(e2)) from None
        warnings.append("data bytes above 127 were clipped to 127 (the file is damaged)")
    except Exception as e:  # mido raises many kinds: report them all alike
        raise MidiFileError(path, _reason(e)) from None
    return midi


#: Data bytes after a channel status byte (by its high nibble) and after the system messages
#: that mido reads inside a track (0xF4, 0xF5, 0xF9 and 0xFD are undefined: mido refuses them).
_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
_SYSTEM_DATA_BYTES = {
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
#: mido refuses a meta or sysex event longer than this (its ``MAX_MESSAGE_LENGTH``).
_MAX_EVENT_BYTES = 1_000_000


def _read_number(data: bytes, pos: int) -> tuple[int | None, int]:
    """The variable-length quantity at ``pos`` and the offset after it; None if the data ends.

    Stops as soon as the number exceeds :data:`MAX_DELTA_TICKS` (returning that much), so a
    long run of continuation bytes costs no huge integer.
    """
    value = 0
    end = len(data)
    while pos < end:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80 or value > MAX_DELTA_TICKS:
            return value, pos
    return None, pos


def _check_numbers(path: str | os.PathLike[str], data: bytes, skipped: int) -> None:
    """Refuse damaged variable-length numbers before mido reads them.

    A Standard MIDI File writes delta times and event lengths in at most four bytes (up to
    :data:`MAX_DELTA_TICKS`). mido reads any run of continuation bytes: damaged data then gave
    delta times of 80 digits (reported as the music's absurd length in bars, and quadratic to
    read) or event lengths of as many digits. This walks the tracks' events exactly as mido's
    reader does and raises :class:`MidiFileError` at the first such number; anything else that
    is wrong (truncation, a bad status byte) is left for mido to report.
    """
    n_tracks = int.from_bytes(data[10:12], "big")
    pos = 8 + int.from_bytes(data[4:8], "big")
    end = len(data)

    def damaged(track: int, at: int, what: str) -> MidiFileError:
        return MidiFileError(path, f"damaged data: track {track}, byte {at + skipped}: {what}")

    for track in range(1, n_tracks + 1):
        if pos + 8 > end or data[pos : pos + 4] != b"MTrk":
            return
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        pos += 8
        start = pos
        last_status: int | None = None
        while pos - start != size:  # mido's own test for the end of a track
            at = pos
            delta, pos = _read_number(data, pos)
            if delta is None or pos >= end:
                return
            if delta > MAX_DELTA_TICKS:
                raise damaged(
                    track,
                    at,
                    "an event's delta time is larger than MIDI allows "
                    f"(at most {MAX_DELTA_TICKS} ticks)",
                )
            status = data[pos]
            pos += 1
            peeked = 0
            if status < 0x80:  # running status: that byte was the first data byte
                if last_status is None:
                    return
                status, peeked = last_status, 1
            elif status != 0xFF:
                last_status = status
            if status in (0xFF, 0xF0, 0xF7):
                kind = "meta" if status == 0xFF else "sysex"
                if status == 0xFF:
                    pos += 1  # the meta event's type
                at = pos
                length, pos = _read_number(data, pos)
                if length is None:
                    return
                if length > MAX_DELTA_TICKS:
                    raise damaged(
                        track,
                        at,
                        f"a {kind} event's length is larger than MIDI allows "
                        f"(at most {MAX_DELTA_TICKS} bytes)",
                    )
                if length > _MAX_EVENT_BYTES:
                    holds = (
                        f"but the file ends {end - pos} bytes later"
                        if length > end - pos
                        else f"more than the {_MAX_EVENT_BYTES} bytes read for one event"
                    )
                    raise damaged(
                        track, at, f"a {kind} event claims a length of {length} bytes, {holds}"
                    )
                pos += length
            else:
                n_data = (
                    _DATA_BYTES.get(status >> 4)
                    if status < 0xF0
                    else _SYSTEM_DATA_BYTES.get(status)
                )
                if n_data is None:
                    return
                pos += n_data - peeked
            if pos > end:
                return


def _mido_parse(data: bytes, clip: bool) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data), clip=clip)


def _reason(error: Exception) -> str:
    if isinstance(error, EOFError):
        return "the file ends in the middle of a chunk (truncated)"
    text = str(error) or type(error).__name__
    if isinstance(error, OSError):  # mido's own messages, e.g. "no MTrk header at start of track"
        return f"bad MIDI data: {text}"
    return f"bad MIDI data ({type(error).__name__}): {text}"


def _decode_text(text: str) -> str:
    """mido decodes meta text as latin-1; most tools today write UTF-8."""
    raw = text.encode("latin-1", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text


@dataclass(slots=True)
class _TrackScan:
    """What one MIDI track holds, before it is split into pattern tracks."""

    name: str | None = None
    # channel -> [(start, duration, pitch, velocity, program or None if none set yet)]
    notes: dict[int, list[tuple[int, int, int, int, int | None]]] = field(default_factory=dict)
    programs: dict[int, int] = field(default_factory=dict)  # channel -> first program change
    end: int = 0


def midi_to_pattern(
    midi: mido.MidiFile, path: str | os.PathLike[str], warnings: list[str]
) -> tuple[Pattern, tuple[tuple[int, int, int], ...]]:
    """Convert a parsed MIDI file; repairs and ignored content are appended to ``warnings``.

    Returns the pattern and the file's time signature events (see
    :attr:`MidiImport.time_signatures`).
    """
    tempos: list[tuple[int, int]] = []
    signatures: list[tuple[int, int, int]] = []
    first_program: dict[int, tuple[int, int]] = {}  # channel -> (tick, program)
    ignored: Counter[str] = Counter()
    repairs: Counter[str] = Counter()
    scans: list[_TrackScan] = []

    for track in midi.tracks:
        scan = _TrackScan()
        programs: dict[int, int] = {}
        sounding: dict[tuple[int, int], deque[tuple[int, int, int | None]]] = {}
        tick = 0
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                key = (msg.channel, msg.note)
                queue = sounding.get(key)
                if queue is None:
                    queue = sounding[key] = deque()
                queue.append((tick, msg.velocity, programs.get(msg.channel)))
                scan.notes.setdefault(msg.channel, [])  # tracks come in order of first note-on
            elif kind == "note_off" or kind == "note_on":
                queue = sounding.get((msg.channel, msg.note))
                if not queue:
                    repairs["note-offs with no sounding note, ignored"] += 1
                    continue
                start, velocity, program = queue.popleft()
                duration = tick - start
                if duration == 0:
                    repairs["notes with no length, given one tick"] += 1
                    duration = 1
                scan.notes[msg.channel].append((start, duration, msg.note, velocity, program))
            elif kind == "program_change":
                programs[msg.channel] = msg.program
                if msg.channel not in first_program or tick < first_program[msg.channel][0]:
                    first_program[msg.channel] = (tick, msg.program)
                scan.programs.setdefault(msg.channel, msg.program)
            elif kind == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif kind == "time_signature":
                signatures.append((tick, msg.numerator, msg.denominator))
            elif kind == "track_name":
                if scan.name is None:
                    scan.name = _decode_text(msg.name)
            elif kind not in _HARMLESS:
                ignored[kind] += 1
        scan.end = tick
        for (channel, pitch), queue in sounding.items():
            for start, velocity, program in queue:
                repairs["notes still sounding at the end of their track, ended there"] += 1
                scan.notes.setdefault(channel, []).append(
                    (start, max(tick - start, 1), pitch, velocity, program)
                )
        scans.append(scan)

    if any(tempo == 0 for _, tempo in tempos):
        warnings.append("a tempo of 0 (invalid) was ignored")
        tempos = [(tick, tempo) for tick, tempo in tempos if tempo]
    tempo_us = _first_value(tempos, DEFAULT_TEMPO_US, "tempo", warnings, midi.ticks_per_beat)
    signature = _time_signature(path, signatures, midi.ticks_per_beat, warnings)

    tracks: list[Track] = []
    for scan in scans:
        tracks.extend(_split_tracks(scan, first_program, repairs))

    tpq = midi.ticks_per_beat
    bar = Pattern(ticks_per_quarter=tpq, time_signature=signature, n_bars=1).bar_ticks
    end = max([s.end for s in scans] + [n.end for t in tracks for n in t.notes], default=0)
    n_bars = max(1, math.ceil(end / bar))
    if n_bars > MAX_BARS:
        raise MidiFileError(path, _too_long(midi, n_bars, bar, tempo_us))
    warnings.extend(f"{what}: {count}" for what, count in repairs.items())
    if ignored:
        listed = ", ".join(f"{n} {kind}" for kind, n in sorted(ignored.items()))
        warnings.append(f"events that a pattern does not hold were ignored: {listed}")
    pattern = Pattern(
        tracks=tuple(tracks),
        n_bars=n_bars,
        ticks_per_quarter=tpq,
        time_signature=signature,
        tempo_us=tempo_us,
    )
    return pattern, tuple(signatures)


def _too_long(midi: mido.MidiFile, n_bars: int, bar_ticks: int, tempo_us: int) -> str:
    """Why a file whose music lasts ``n_bars`` (above :data:`MAX_BARS`) is refused."""
    limit = f"above the limit of {MAX_BARS} bars"
    gap = max((msg.time for track in midi.tracks for msg in track), default=0)
    if gap <= MAX_BARS * bar_ticks:
        return f"the music lasts {n_bars} bars, {limit}"
    # One silence longer than the limit on its own: a damaged delta time, not long music.
    seconds = gap * tempo_us / midi.ticks_per_beat / 1e6
    if seconds >= 3600:
        after = f"{seconds / 3600:,.0f} hours"
    elif seconds >= 60:
        after = f"{seconds / 60:,.0f} minutes"
    else:
        after = f"{seconds:,.1f} seconds"
    return (
        f"damaged data: an event lies {after} ({gap} ticks, {gap // bar_ticks} bars) after "
        f"the previous one; the music would last {n_bars} bars, {limit}"
    )


def _first_value(
    changes: list[tuple[int, int]], default: int, what: str, warnings: list[str], tpq: int
) -> int:
    if not changes:
        return default
    changes.sort(key=lambda c: c[0])
    value = changes[0][1]
    later = [
        (t, v) for (t, v), (_, before) in zip(changes[1:], changes, strict=False) if v != before
    ]
    if later:
        warnings.append(
            f"{len(later)} later {what} change(s) ignored, the first at beat "
            f"{later[0][0] / tpq:g}: the pattern keeps {60_000_000 / value:.6g} BPM"
        )
    return value


def _time_signature(
    path: str | os.PathLike[str],
    signatures: list[tuple[int, int, int]],
    tpq: int,
    warnings: list[str],
) -> TimeSignature:
    if not signatures:
        return TimeSignature()
    signatures.sort(key=lambda s: s[0])
    _, numerator, denominator = signatures[0]
    try:
        signature = TimeSignature(numerator, denominator)
        Pattern(ticks_per_quarter=tpq, time_signature=signature, n_bars=1)
    except ValueError as e:
        warnings.append(f"time signature {numerator}/{denominator} cannot be used ({e}); 4/4 used")
        return TimeSignature()
    later = [
        s for s, before in zip(signatures[1:], signatures, strict=False) if s[1:] != before[1:]
    ]
    if later:
        warnings.append(
            f"{len(later)} later time signature change(s) ignored, the first at beat "
            f"{later[0][0] / tpq:g}: the pattern keeps {signature}"
        )
    return signature


def _split_tracks(
    scan: _TrackScan, first_program: dict[int, tuple[int, int]], repairs: Counter[str]
) -> Iterator[Track]:
    groups: dict[tuple[int, int], list[Note]] = {}
    for channel, raw in scan.notes.items():
        default = first_program.get(channel, (0, 0))[1]
        for start, duration, pitch, velocity, program in raw:
            key = (channel, default if program is None else program)
            groups.setdefault(key, []).append(Note(start, duration, pitch, velocity))
    for channel, program in scan.programs.items():
        if channel not in scan.notes:
            groups[(channel, program)] = []
    for (channel, program), group in groups.items():
        is_drum = channel == DRUM_CHANNEL
        label = program_name(program, is_drum)
        if len(groups) == 1:
            name = label if scan.name is None else scan.name
        else:
            name = f"{scan.name + ': ' if scan.name else ''}{label} (ch {channel + 1})"
        resolved, n_changed = resolve_overlaps(group)
        if n_changed:
            repairs["overlapping notes of one pitch, shortened or merged"] += n_changed
        yield Track(name, program, is_drum, channel, resolved)


# --- writing ---------------------------------------------------------------------------------


def _varlen(value: int) -> bytes:
    """MIDI's variable-length quantity: 7 bits a byte, most significant first."""
    out = bytearray((value & 0x7F,))
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.reverse()
    return bytes(out)


def _chunk(kind: bytes, body: bytes | bytearray) -> bytes:
    return kind + len(body).to_bytes(4, "big") + bytes(body)


def _track_chunk(track: Track, length: int) -> bytes:
    name = track.name.encode("utf-8")
    body = bytearray(b"\x00\xff\x03" + _varlen(len(name)) + name)
    body += bytes((0, 0xC0 | track.channel, track.program))
    # Sort key: tick, then offs (0) before ons (1), then pitch.
    events = [(n.end, 0, n.pitch, 0) for n in track.notes]
    events += [(n.start, 1, n.pitch, n.velocity) for n in track.notes]
    events.sort()
    on, off = 0x90 | track.channel, 0x80 | track.channel
    deltas: dict[int, bytes] = {}
    now = 0
    for tick, is_on, pitch, velocity in events:
        delta = tick - now
        encoded = deltas.get(delta)
        if encoded is None:
            encoded = deltas[delta] = _varlen(delta)
        body += encoded
        body += bytes((on if is_on else off, pitch, velocity))
        now = tick
    body += _varlen(length - now) + b"\xff\x2f\x00"
    return _chunk(b"MTrk", body)


def midi_file_bytes(pattern: Pattern) -> bytes:
    """``pattern`` as the bytes of a type 1 Standard MIDI File (see the module's docstring)."""
    if pattern.length_ticks > MAX_DELTA_TICKS:
        raise ValueError(
            f"Pattern.n_bars: {pattern.length_ticks} ticks is longer than a MIDI file can say "
            f"({MAX_DELTA_TICKS} ticks)"
        )
    if len(pattern.tracks) + 1 > 0xFFFF:
        raise ValueError(
            f"Pattern.tracks: a MIDI file holds at most 65534 tracks, not {len(pattern.tracks)}"
        )
    ts = pattern.time_signature
    length = pattern.length_ticks
    conductor = (
        # time signature: numerator, log2(denominator), 24 clocks a click, 8 32nds a quarter
        b"\x00\xff\x58\x04"
        + bytes((ts.numerator, ts.denominator.bit_length() - 1, 24, 8))
        + b"\x00\xff\x51\x03"
        + pattern.tempo_us.to_bytes(3, "big")
        + _varlen(length)
        + b"\xff\x2f\x00"
    )
    header = (1).to_bytes(2, "big") + (len(pattern.tracks) + 1).to_bytes(2, "big")
    header += pattern.ticks_per_quarter.to_bytes(2, "big")
    chunks = [_chunk(b"MThd", header), _chunk(b"MTrk", conductor)]
    chunks += [_track_chunk(track, length) for track in pattern.tracks]
    return b"".join(chunks)


def write_midi_file(pattern: Pattern, path: str | os.PathLike[str]) -> None:
    """Write ``pattern`` as a type 1 MIDI file, atomically; failures raise MidiFileError."""
    try:
        data = midi_file_bytes(pattern)
    except ValueError as e:
        raise MidiFileError(path, f"cannot write this pattern: {e}") from None
    try:
        write_bytes_atomically(path, data)
    except OSError as e:
        raise MidiFileError(path, f"cannot write: {e.strerror or e}") from None
