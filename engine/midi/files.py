# SPDX-License-Identifier: MIT
"""Standard MIDI Files <-> :class:`~engine.music.Pattern`, through mido.

Reading (:func:`read_midi_file`) accepts type 0, 1 and 2 files (and RIFF-wrapped RMID), and
reads past what other programs get wrong as :mod:`engine.midi.repair` describes (alien chunks,
undefined status bytes, stray data bytes, running status around sysex, a truncated end), with
a warning for each kind of repair:

- a type 2 file holds independent sequences, one per track chunk: by default each becomes a
  section of the pattern, one after another, each starting on a new bar (the first time
  signature sets the bar); ``sequences="first"`` reads the first one only;

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

Every failure (not MIDI, a header or first track chunk cut short, SMPTE time, a file above the
size cap, absurd lengths) raises :class:`MidiFileError`, naming the file and the reason.
Damaged data (a delta time or event length beyond MIDI's four-byte numbers, one silence longer
than the bar limit) is reported as ``damaged data: ...`` (with the track and byte where
known), never as the huge number it would decode to. Data bytes above 127 are clipped to 127,
with a warning.

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
from engine.midi.repair import MAX_NUMBER, DamagedData, Unreadable, repair, varlen
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
MAX_DELTA_TICKS = MAX_NUMBER
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
    #: How a type 2 file's sequences were read (empty for types 0 and 1).
    layout: str = ""


#: How :func:`read_midi_file` reads a type 2 file: every sequence, one after another, or the
#: first only.
SEQUENCES = ("all", "first")


# --- reading ---------------------------------------------------------------------------------


def read_midi_file(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES, sequences: str = "all"
) -> MidiImport:
    """Read a Standard MIDI File (type 0, 1 or 2) into a pattern.

    ``sequences`` (one of :data:`SEQUENCES`) says how a type 2 file is read: ``"all"``, one
    after another, or ``"first"``.

    Raises
    ------
    MidiFileError
        For any file that cannot be read as MIDI, with the file and the reason.
    """
    if sequences not in SEQUENCES:
        raise ValueError(f"sequences must be one of {', '.join(SEQUENCES)}, not {sequences!r}")
    data = _read_bytes(path, max_bytes)
    warnings: list[str] = []
    midi = _parse(path, data, warnings)
    layout = ""
    if midi.type == 2:
        n = len(midi.tracks)
        if sequences == "first" and n > 1:
            midi.tracks = midi.tracks[:1]
            layout = f"{n} sequences; the first read, {n - 1} left out (by choice)"
        else:
            counted = f"{n} sequence{'s' if n != 1 else ''}"
            layout = f"{counted}, read one after another, each from a new bar"
    try:
        pattern, signatures = midi_to_pattern(midi, path, warnings)
    except ValueError as e:  # a value the music model refuses: still this file's fault
        raise MidiFileError(path, f"the file holds values Barforge cannot use: {e}") from None
    return MidiImport(pattern, tuple(warnings), midi.type, signatures, layout)


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
    if midi_type not in (0, 1, 2):
        raise MidiFileError(path, f"unknown MIDI file type {midi_type} (only 0, 1 and 2 exist)")
    if division & 0x8000:
        raise MidiFileError(
            path, "SMPTE (frames per second) time division is not supported, only ticks per beat"
        )
    if division == 0:
        raise MidiFileError(path, "the header gives 0 ticks per quarter note")
    try:
        repaired = repair(data, skipped)
    except (DamagedData, Unreadable) as e:
        raise MidiFileError(path, str(e)) from None
    warnings.extend(repaired.warnings)
    try:
        midi = mido.MidiFile(file=io.BytesIO(repaired.data))
    except Exception as e:  # mido raises many kinds: report them all alike
        raise MidiFileError(path, _reason(e)) from None
    return midi


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

    starts = _sequence_starts(midi) if midi.type == 2 else [0] * len(midi.tracks)
    for track, tick in zip(midi.tracks, starts, strict=True):
        scan = _TrackScan()
        programs: dict[int, int] = {}
        sounding: dict[tuple[int, int], deque[tuple[int, int, int | None]]] = {}
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


def _sequence_starts(midi: mido.MidiFile) -> list[int]:
    """Where each sequence of a type 2 file starts: on the first bar after the previous one
    ends (bars of the file's first time signature, 4/4 when it has none or cannot be used)."""
    signature = TimeSignature()
    for track in midi.tracks:
        found = next((m for m in track if m.type == "time_signature"), None)
        if found is not None:
            try:
                signature = TimeSignature(found.numerator, found.denominator)
                Pattern(ticks_per_quarter=midi.ticks_per_beat, time_signature=signature, n_bars=1)
            except ValueError:
                signature = TimeSignature()
            break
    bar = Pattern(ticks_per_quarter=midi.ticks_per_beat, time_signature=signature, n_bars=1)
    starts, start = [], 0
    for track in midi.tracks:
        starts.append(start)
        length = sum(msg.time for msg in track)
        start += -(-length // bar.bar_ticks) * bar.bar_ticks
    return starts


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


def _chunk(kind: bytes, body: bytes | bytearray) -> bytes:
    return kind + len(body).to_bytes(4, "big") + bytes(body)


def _track_chunk(track: Track, length: int) -> bytes:
    name = track.name.encode("utf-8")
    body = bytearray(b"\x00\xff\x03" + varlen(len(name)) + name)
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
            encoded = deltas[delta] = varlen(delta)
        body += encoded
        body += bytes((on if is_on else off, pitch, velocity))
        now = tick
    body += varlen(length - now) + b"\xff\x2f\x00"
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
        + varlen(length)
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
