# SPDX-License-Identifier: MIT
"""Files other programs write, built byte by byte: read as the Standard MIDI File spec asks
(alien chunks skipped), past bytes lenient readers skip, and up to a truncation.

:data:`ODD_FILES` is a small corpus of such files; the last test reads it with plain mido
and with Barforge, and Barforge must read every file mido reads, and more.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import mido
import pytest

from engine.cli import main
from engine.midi.files import MidiFileError, read_midi_file
from engine.midi.repair import repair
from engine.music import Note

TPQ = 480


def header(midi_type: int = 1, n_tracks: int = 1) -> bytes:
    return b"MThd" + struct.pack(">LHHH", 6, midi_type, n_tracks, TPQ)


def chunk(body: bytes, kind: bytes = b"MTrk") -> bytes:
    return kind + struct.pack(">L", len(body)) + body


ON = b"\x00\x90\x3c\x40"  # delta 0, note-on C4 velocity 64
OFF_AFTER_A_BEAT = b"\x83\x60\x80\x3c\x00"  # delta 480, note-off C4
END = b"\x00\xff\x2f\x00"
ONE_NOTE = ON + OFF_AFTER_A_BEAT + END
C4_ONE_BEAT = (Note(0, TPQ, 60, 64),)


def read(tmp_path: Path, data: bytes) -> tuple[tuple[Note, ...], tuple[str, ...]]:
    path = tmp_path / "odd.mid"
    path.write_bytes(data)
    result = read_midi_file(path)
    notes = tuple(n for t in result.pattern.tracks for n in t.notes)
    return notes, result.warnings


@pytest.mark.parametrize(
    "data",
    [
        header(n_tracks=1) + chunk(b"hello", b"XFIH") + chunk(ONE_NOTE),
        header(n_tracks=2) + chunk(ONE_NOTE) + chunk(b"\x00" * 40, b"XFIH") + chunk(END),
        header(n_tracks=1) + chunk(ONE_NOTE) + chunk(b"trailing", b"INFO"),
    ],
    ids=["before", "between", "after"],
)
def test_alien_chunks_are_skipped_as_if_they_were_not_there(tmp_path: Path, data: bytes) -> None:
    notes, warnings = read(tmp_path, data)
    assert notes == C4_ONE_BEAT
    if b"INFO" in data:  # after the tracks the header counts: never looked at
        assert warnings == ()
    else:
        assert warnings == ("chunks that are not MIDI tracks were skipped: 1 'XFIH'",)


@pytest.mark.parametrize("byte", [0xF4, 0xF5, 0xF9, 0xFD])
def test_undefined_status_bytes_are_skipped_and_their_time_still_counts(
    tmp_path: Path, byte: int
) -> None:
    # note-on; 480 ticks later an undefined byte; the note-off 0 ticks after it.
    body = ON + b"\x83\x60" + bytes((byte,)) + b"\x00\x80\x3c\x00" + END
    notes, warnings = read(tmp_path, header() + chunk(body))
    assert notes == C4_ONE_BEAT
    assert warnings == ("undefined status bytes (0xF4, 0xF5, 0xF9, 0xFD) skipped: 1",)


def test_stray_data_bytes_are_skipped_up_to_the_next_status_byte(tmp_path: Path) -> None:
    # A sysex cancels nothing here: the file starts with data bytes and no status at all.
    body = b"\x83\x60\x11\x22" + b"\x90\x3c\x40" + OFF_AFTER_A_BEAT + END
    notes, warnings = read(tmp_path, header() + chunk(body))
    assert notes == (Note(TPQ, TPQ, 60, 64),)  # the stray bytes' 480 ticks are kept
    assert warnings == ("stray data bytes (no status in effect) skipped: 2",)


@pytest.mark.parametrize(
    "between",
    [b"\x00\xf0\x03\x7e\x01\xf7", b"\x00\xff\x01\x04text"],
    ids=["sysex", "meta"],
)
def test_running_status_after_a_sysex_or_meta_event_keeps_the_channel_status(
    tmp_path: Path, between: bytes
) -> None:
    # note-on C4; a sysex or meta event; then E4 in running status, and both note-offs.
    body = ON + between + b"\x00\x40\x40" + b"\x83\x60\x80\x3c\x00\x00\x80\x40\x00" + END
    notes, warnings = read(tmp_path, header() + chunk(body))
    assert notes == (Note(0, TPQ, 60, 64), Note(0, TPQ, 64, 64))
    assert warnings[0] == "events using running status after a meta or sysex event: 1"
    assert warnings[1:] in ((), ("events that a pattern does not hold were ignored: 1 sysex",))


def test_one_byte_missing_at_the_end_keeps_every_note(tmp_path: Path) -> None:
    data = header(midi_type=0) + chunk(ONE_NOTE)
    notes, warnings = read(tmp_path, data[:-1])
    assert notes == C4_ONE_BEAT
    assert warnings == (
        "the file ends inside track 1 (truncated): the events before the damage are kept, "
        "1 of 1 tracks",
    )


def test_a_cut_inside_a_note_keeps_it_sounding_to_where_the_file_ends(tmp_path: Path) -> None:
    second = b"\x00\x91\x40\x50" + b"\x81\x70\x81\x40\x00" + END  # E4, off 240 ticks later
    data = header(n_tracks=2) + chunk(ONE_NOTE) + chunk(second)
    notes, warnings = read(tmp_path, data[: -len(b"\x40\x00" + END)])  # cut in the note-off
    assert notes == (*C4_ONE_BEAT, Note(0, 240, 64, 80))  # the E4's off was cut away
    assert "the file ends inside track 2 (truncated)" in warnings[0]
    assert "notes still sounding at the end of their track, ended there: 1" in warnings


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (header()[:10], "ends in the header chunk (truncated)"),
        (header() + b"MTr", "the file ends inside the header of track chunk 1 (truncated)"),
        (header() + b"\x00\x01\x02\x03" + chunk(ONE_NOTE), "no chunk starts where track chunk 1"),
    ],
    ids=["header", "track-header", "garbage"],
)
def test_a_file_with_nothing_sound_is_still_refused_in_one_line(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    path = tmp_path / "odd.mid"
    path.write_bytes(data)
    with pytest.raises(MidiFileError) as caught:
        read_midi_file(path)
    assert reason in caught.value.reason
    assert "\n" not in str(caught.value)


def type_2_file() -> bytes:
    """Three sequences: one beat, a bar and a half (6 beats), one beat; 4/4 in the first."""
    first = b"\x00\xff\x58\x04\x04\x02\x18\x08" + ONE_NOTE
    long = b"\x00\x90\x3e\x40\x96\x40\x80\x3e\x00" + END  # D4 for 6 beats (2880 ticks)
    last = b"\x00\x90\x40\x40\x83\x60\x80\x40\x00" + END
    return header(midi_type=2, n_tracks=3) + chunk(first) + chunk(long) + chunk(last)


def test_a_type_2_file_plays_its_sequences_one_after_another_from_new_bars(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sequences.mid"
    path.write_bytes(type_2_file())
    result = read_midi_file(path)
    bar = 4 * TPQ
    starts = [[n.start for n in t.notes] for t in result.pattern.tracks]
    assert starts == [[0], [bar], [3 * bar]]  # the 6-beat sequence takes two bars
    assert result.pattern.n_bars == 4
    assert result.layout == "3 sequences, read one after another, each from a new bar"
    first = read_midi_file(path, sequences="first")
    assert [len(t.notes) for t in first.pattern.tracks] == [1]
    assert first.layout == "3 sequences; the first read, 2 left out (by choice)"
    with pytest.raises(ValueError, match="sequences must be one of all, first"):
        read_midi_file(path, sequences="second")


def test_barforge_info_says_how_it_read_the_file_and_lists_the_repairs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sequences.mid"
    path.write_bytes(type_2_file())
    assert main(["info", str(path), "--sequences", "first"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"{path}: MIDI type 2 (3 sequences; the first read, 2 left out (by choice)), 480 ticks"
    )
    odd = tmp_path / "odd.mid"
    odd.write_bytes(header() + chunk(b"x", b"XFIH") + chunk(b"\x00\xf5" + ONE_NOTE)[:-1])
    assert main(["info", str(odd)]) == 0
    lines = capsys.readouterr().out.splitlines()
    warnings = [line.strip() for line in lines if line.strip().startswith("warning:")]
    assert warnings == [
        "warning: the file ends inside track 1 (truncated): the events before the damage are "
        "kept, 1 of 1 tracks",
        "warning: chunks that are not MIDI tracks were skipped: 1 'XFIH'",
        "warning: undefined status bytes (0xF4, 0xF5, 0xF9, 0xFD) skipped: 1",
    ]


def test_a_chunk_shorter_than_its_last_event_drops_that_event_and_goes_on(
    tmp_path: Path,
) -> None:
    # Track 1's chunk stops in the middle of a note-off; track 2 follows where it says.
    data = header(n_tracks=2) + chunk(ON + b"\x83\x60\x80") + chunk(ONE_NOTE)
    notes, warnings = read(tmp_path, data)
    assert notes == C4_ONE_BEAT * 2  # the cut note ends where its note-off was due
    assert warnings[0] == "track 1's last event runs past the end of its chunk: dropped"


def test_a_sound_file_is_handed_to_mido_as_it_is() -> None:
    data = header(n_tracks=2) + chunk(ONE_NOTE) + chunk(b"\x00\x91\x40\x50\x40\x50\x00" + END)
    repaired = repair(data)
    assert repaired.data is data
    assert repaired.warnings == ()


#: Odd files, by what is odd about them. Barforge must read all but the last two, which
#: nobody can read (nothing is left of them).
ODD_FILES: dict[str, bytes] = {
    "alien chunk before the track": header() + chunk(b"abc", b"XFIH") + chunk(ONE_NOTE),
    "alien chunk between tracks": header(n_tracks=2)
    + chunk(ONE_NOTE)
    + chunk(b"", b"MeTa")
    + chunk(ONE_NOTE),
    "undefined status 0xF4": header() + chunk(b"\x00\xf4" + ONE_NOTE),
    "undefined status 0xFD": header() + chunk(ON + b"\x00\xfd" + OFF_AFTER_A_BEAT + END),
    "stray data bytes": header() + chunk(b"\x00\x12\x34" + ONE_NOTE),
    "running status after sysex": header() + chunk(ON + b"\x00\xf0\x01\xf7\x83\x60\x3c\x00" + END),
    "running status after meta": header() + chunk(ON + b"\x00\xff\x06\x01m\x83\x60\x3c\x00" + END),
    "one byte missing at the end": (header(midi_type=0) + chunk(ONE_NOTE))[:-1],
    "cut inside the second track": (header(n_tracks=2) + chunk(ONE_NOTE) + chunk(ONE_NOTE))[:-6],
    "fewer track chunks than declared": header(n_tracks=3) + chunk(ONE_NOTE),
    "track length beyond the file": header() + b"MTrk\x00\x01\x00\x00" + ONE_NOTE,
    "type 2": header(midi_type=2, n_tracks=2) + chunk(ONE_NOTE) + chunk(ONE_NOTE),
    "data byte above 127": header() + chunk(b"\x00\x90\x3c\xc0" + OFF_AFTER_A_BEAT + END),
    "unreadable: cut in the header": header()[:12],
    "unreadable: garbage where the track is": header() + b"\xde\xad\xbe\xef" + ONE_NOTE,
}


def test_barforge_reads_every_odd_file_mido_reads_and_more(tmp_path: Path) -> None:
    by_mido, by_barforge = set(), set()
    for name, data in ODD_FILES.items():
        try:
            mido.MidiFile(file=io.BytesIO(data))
            by_mido.add(name)
        except Exception:  # mido refuses in many ways
            pass
        path = tmp_path / "odd.mid"
        path.write_bytes(data)
        try:
            result = read_midi_file(path)
        except MidiFileError:
            continue
        by_barforge.add(name)
        assert result.pattern.n_notes >= 1, name
    unreadable = {n for n in ODD_FILES if n.startswith("unreadable")}
    assert by_barforge == set(ODD_FILES) - unreadable
    assert by_mido <= by_barforge
    assert len(by_mido) < len(by_barforge)
