# SPDX-License-Identifier: MIT
"""Damaged MIDI files, written byte by byte: the error says the data is damaged and why.

mido reads a variable-length number (a delta time, a meta or sysex event's length) of any
number of bytes; a Standard MIDI File allows four. Damaged bytes used to come back as the
music lasting an 80-digit number of bars, or an event of an 80-digit length.
"""

from __future__ import annotations

import re
import struct
import tempfile
import time
from pathlib import Path

import mido
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.midi.files import MAX_DELTA_TICKS, MidiFileError, read_midi_file


def header(n_tracks: int = 1, division: int = 480) -> bytes:
    return b"MThd" + struct.pack(">LHHH", 6, 1, n_tracks, division)


def chunk(body: bytes) -> bytes:
    return b"MTrk" + struct.pack(">L", len(body)) + body


NOTE_ON = b"\x00\x90\x3c\x40"
NOTE_OFF = b"\x80\x3c\x00"  # after a delta time
END = b"\x00\xff\x2f\x00"
ONE_NOTE = NOTE_ON + b"\x83\x60" + NOTE_OFF + END
#: Where the first track's body starts in ``header() + chunk(...)``.
BODY = 14 + 8


def write(folder: Path, data: bytes, name: str = "damaged.mid") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def damage_error(path: Path) -> MidiFileError:
    with pytest.raises(MidiFileError) as info:
        read_midi_file(path)
    error = info.value
    assert error.path == str(path)
    assert str(error) == f"{path}: {error.reason}"
    assert error.reason.startswith("damaged data: "), error.reason
    assert "\n" not in error.reason
    assert not re.search(r"\d{12}", error.reason), error.reason  # no huge number
    return error


def huge_number(n_bytes: int) -> bytes:
    """A variable-length number of ``n_bytes`` bytes, all bits set (~7 * n_bytes bits)."""
    return b"\xff" * (n_bytes - 1) + b"\x7f"


def test_an_80_digit_delta_time_is_damaged_data_not_bars(tmp_path: Path) -> None:
    body = NOTE_ON + huge_number(39) + NOTE_OFF + END
    error = damage_error(write(tmp_path, header() + chunk(body)))
    assert error.reason == (
        f"damaged data: track 1, byte {BODY + len(NOTE_ON)}: an event's delta time is larger "
        f"than MIDI allows (at most {MAX_DELTA_TICKS} ticks)"
    )
    assert "bars" not in error.reason


def test_a_five_byte_delta_time_is_damaged(tmp_path: Path) -> None:
    body = NOTE_ON + b"\x8f\xff\xff\xff\x7f" + NOTE_OFF + END
    error = damage_error(write(tmp_path, header() + chunk(body)))
    assert "delta time" in error.reason


def test_a_huge_delta_time_before_the_end_of_a_later_track(tmp_path: Path) -> None:
    second = NOTE_ON + b"\x10" + NOTE_OFF + huge_number(60) + b"\xff\x2f\x00"
    data = header(n_tracks=2) + chunk(ONE_NOTE) + chunk(second)
    error = damage_error(write(tmp_path, data))
    at = BODY + len(ONE_NOTE) + 8 + len(NOTE_ON) + 1 + len(NOTE_OFF)
    assert error.reason.startswith(f"damaged data: track 2, byte {at}: ")


@pytest.mark.parametrize(
    ("status", "kind"), [(b"\xff\x01", "meta"), (b"\xff\x03", "meta"), (b"\xf0", "sysex")]
)
def test_an_80_digit_event_length_is_damaged_data(tmp_path: Path, status: bytes, kind: str) -> None:
    body = b"\x00" + status + huge_number(40) + b"abc" + ONE_NOTE
    error = damage_error(write(tmp_path, header() + chunk(body)))
    assert error.reason == (
        f"damaged data: track 1, byte {BODY + 1 + len(status)}: a {kind} event's length is "
        f"larger than MIDI allows (at most {MAX_DELTA_TICKS} bytes)"
    )


def test_an_event_length_beyond_the_file_is_damaged_data(tmp_path: Path) -> None:
    body = b"\x00\xff\x01\x83\xff\xff\x7fabc" + ONE_NOTE  # a text of 8 MiB in a tiny file
    error = damage_error(write(tmp_path, header() + chunk(body)))
    assert "a meta event claims a length of 8388607 bytes, but the file ends" in error.reason


def test_one_silence_longer_than_the_bar_limit_is_named_in_hours(tmp_path: Path) -> None:
    # A legal four-byte delta time of 33,554,431 ticks: 17,476 bars of 4/4 at 120 BPM.
    body = NOTE_ON + b"\x8f\xff\xff\x7f" + NOTE_OFF + END
    error = damage_error(write(tmp_path, header() + chunk(body)))
    assert error.reason.startswith("damaged data: an event lies 10 hours (33554431 ticks, ")
    assert "above the limit of 10000 bars" in error.reason


def test_long_music_without_a_damaged_gap_keeps_the_bar_limit_message(tmp_path: Path) -> None:
    # 12,000 one-bar notes: too long, but nothing in it is damaged.
    body = b"\x00\x90\x3c\x40" + (b"\x8f\x00\x80\x3c\x00\x00\x90\x3c\x40") * 12_000 + END
    with pytest.raises(MidiFileError) as info:
        read_midi_file(write(tmp_path, header() + chunk(body)))
    assert info.value.reason == "the music lasts 12001 bars, above the limit of 10000 bars"


def test_a_long_run_of_damaged_bytes_is_refused_at_once(tmp_path: Path) -> None:
    # mido's reader is quadratic in such a run (200,000 bytes took 4.4 s, 400,000 about 18 s).
    body = NOTE_ON + huge_number(400_000) + NOTE_OFF + END
    path = write(tmp_path, header() + chunk(body))
    started = time.perf_counter()
    damage_error(path)
    assert time.perf_counter() - started < 2.0


def test_barforge_info_prints_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, header() + chunk(NOTE_ON + huge_number(39) + NOTE_OFF + END))
    assert main(["info", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"barforge info: {path}: damaged data: track 1, byte 26: ")
    assert not re.search(r"\d{12}", lines[0])


def test_the_byte_offset_counts_a_riff_wrapper(tmp_path: Path) -> None:
    smf = header() + chunk(NOTE_ON + huge_number(39) + NOTE_OFF + END)
    riff = b"RIFF" + struct.pack("<L", len(smf) + 12) + b"RMIDdata" + struct.pack("<L", len(smf))
    error = damage_error(write(tmp_path, riff + smf))
    assert f"byte {len(riff) + BODY + len(NOTE_ON)}:" in error.reason


# --- what is not damaged is still read -------------------------------------------------------


def test_padded_variable_length_numbers_are_still_read(tmp_path: Path) -> None:
    # Leading 0x80 bytes add nothing: five bytes, but the value (480) fits.
    body = NOTE_ON + b"\x80\x80\x80\x83\x60" + NOTE_OFF + END
    result = read_midi_file(write(tmp_path, header() + chunk(body)))
    assert result.pattern.tracks[0].notes[0].duration == 480


def test_meta_and_sysex_data_full_of_high_bytes_is_not_taken_for_numbers(tmp_path: Path) -> None:
    name = b"\xff" * 40  # a latin-1 track name of 40 'y' with diaeresis
    body = b"\x00\xff\x03" + bytes((len(name),)) + name
    body += b"\x00\xf0\x05\x01\x02\x03\x04\xf7"
    body += b"\x00\xff\x7f\x06" + b"\x80\x81\x82\x83\x84\x85"  # sequencer-specific bytes
    result = read_midi_file(write(tmp_path, header() + chunk(body + ONE_NOTE)))
    assert result.pattern.tracks[0].name == "\xff" * 40
    assert result.pattern.n_notes == 1


_EVENTS = st.one_of(
    st.builds(
        lambda ch, n, v, t: mido.Message("note_on", channel=ch, note=n, velocity=v, time=t),
        st.integers(0, 15),
        st.integers(0, 127),
        st.integers(0, 127),
        st.integers(0, 5000),
    ),
    st.builds(
        lambda ch, c, v, t: mido.Message("control_change", channel=ch, control=c, value=v, time=t),
        st.integers(0, 15),
        st.integers(0, 127),
        st.integers(0, 127),
        st.integers(0, 5000),
    ),
    st.builds(
        lambda ch, p, t: mido.Message("program_change", channel=ch, program=p, time=t),
        st.integers(0, 15),
        st.integers(0, 127),
        st.integers(0, 300),
    ),
    st.builds(
        lambda d, t: mido.Message("sysex", data=d, time=t),
        st.lists(st.integers(0, 127), max_size=200),
        st.integers(0, 300),
    ),
    st.builds(
        lambda text, t: mido.MetaMessage("text", text=text, time=t),
        st.text(st.characters(max_codepoint=255), max_size=200),
        st.integers(0, 300),
    ),
    st.builds(
        lambda d, t: mido.MetaMessage("sequencer_specific", data=d, time=t),
        st.lists(st.integers(0, 255), max_size=50),
        st.integers(0, 300),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_EVENTS, max_size=30), min_size=1, max_size=3))
def test_files_mido_writes_are_never_called_damaged(tracks: list[list[mido.Message]]) -> None:
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    for events in tracks:
        midi.tracks.append(mido.MidiTrack(events))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ok.mid"
        midi.save(str(path))  # with running status, metas and sysex
        result = read_midi_file(path)
    assert result.midi_type == 1
