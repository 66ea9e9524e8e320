# SPDX-License-Identifier: MIT
"""Tests for engine.midi.files: reading, writing and refusing Standard MIDI Files."""

from __future__ import annotations

import os
import struct
import tempfile
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mido
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from music21 import midi as m21midi

from engine.midi.files import MidiFileError, MidiImport, read_midi_file, write_midi_file
from engine.music import (
    DRUM_CHANNEL,
    MAX_TEMPO_US,
    TIME_SIGNATURE_DENOMINATORS,
    Note,
    Pattern,
    TimeSignature,
    Track,
    resolve_overlaps,
)

# --- fixtures written as text ----------------------------------------------------------------


def meta(kind: str, **kwargs: Any) -> mido.MetaMessage:
    return mido.MetaMessage(kind, **kwargs)


def midi_file(tracks: Sequence[Sequence[Any]], *, midi_type: int = 1, tpq: int = 480) -> Any:
    """A mido.MidiFile from tracks of ``Message.from_str`` lines and meta messages."""
    midi = mido.MidiFile(type=midi_type, ticks_per_beat=tpq)
    for events in tracks:
        track = mido.MidiTrack()
        for event in events:
            track.append(mido.Message.from_str(event) if isinstance(event, str) else event)
        midi.tracks.append(track)
    return midi


def save(midi: Any, folder: Path, name: str = "fixture.mid") -> Path:
    path = folder / name
    midi.save(str(path))
    return path


def read_tracks(
    folder: Path, tracks: Sequence[Sequence[Any]], *, midi_type: int = 1, tpq: int = 480
) -> MidiImport:
    return read_midi_file(save(midi_file(tracks, midi_type=midi_type, tpq=tpq), folder))


def read_error(path: Path | str, **kwargs: Any) -> MidiFileError:
    """Read ``path`` expecting a MidiFileError (any other exception fails) that names it."""
    with pytest.raises(MidiFileError) as info:
        read_midi_file(path, **kwargs)
    error = info.value
    assert error.path == os.fspath(path)
    assert str(path) in str(error)
    assert error.reason in str(error)
    return error


def piano(*notes: Note, name: str = "Piano", program: int = 0, channel: int = 0) -> Track:
    return Track(name, program, False, channel, notes)


# --- reading fixtures ------------------------------------------------------------------------


def test_type_0_file_splits_channels_into_tracks(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                meta("track_name", name="Song"),
                meta("set_tempo", tempo=600_000),
                "program_change channel=0 program=0 time=0",
                "program_change channel=1 program=33 time=0",
                "program_change channel=2 program=40 time=0",
                "note_on channel=0 note=60 velocity=64 time=0",
                "note_on channel=1 note=36 velocity=90 time=0",
                "note_on channel=2 note=72 velocity=30 time=240",
                "note_off channel=0 note=60 velocity=0 time=240",
                "note_off channel=1 note=36 velocity=0 time=240",
                "note_off channel=2 note=72 velocity=0 time=240",
                "note_on channel=0 note=62 velocity=70 time=0",
                "note_off channel=0 note=62 velocity=0 time=480",
            ]
        ],
        midi_type=0,
    )
    assert result.midi_type == 0
    assert result.warnings == ()
    piano_notes = [Note(0, 480, 60, 64), Note(960, 480, 62, 70)]
    assert result.pattern == Pattern(
        (
            Track("Song: Acoustic Grand Piano (ch 1)", 0, False, 0, piano_notes),
            Track("Song: Electric Bass (finger) (ch 2)", 33, False, 1, [Note(0, 720, 36, 90)]),
            Track("Song: Violin (ch 3)", 40, False, 2, [Note(240, 720, 72, 30)]),
        ),
        n_bars=1,
        tempo_us=600_000,
    )


def test_type_0_tracks_come_in_file_order_not_note_off_order(tmp_path: Path) -> None:
    # Channels appear in the order 1, 2, 3; their notes end in the order 3, 2, 1.
    result = read_tracks(
        tmp_path,
        [
            [
                "note_on channel=0 note=60 velocity=64 time=0",
                "note_on channel=1 note=62 velocity=64 time=0",
                "note_on channel=2 note=64 velocity=64 time=0",
                "note_off channel=2 note=64 velocity=0 time=100",
                "note_off channel=1 note=62 velocity=0 time=100",
                "note_off channel=0 note=60 velocity=0 time=100",
            ]
        ],
        midi_type=0,
    )
    assert [t.channel for t in result.pattern.tracks] == [0, 1, 2]


def test_drums_on_channel_index_9(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                meta("track_name", name="Beat"),
                "program_change channel=9 program=25 time=0",
                "note_on channel=9 note=36 velocity=100 time=0",
                "note_on channel=9 note=42 velocity=80 time=0",
                "note_off channel=9 note=36 velocity=0 time=60",
                "note_off channel=9 note=42 velocity=0 time=0",
            ],
            [
                "note_on channel=9 note=38 velocity=100 time=480",
                "note_off channel=9 note=38 velocity=0 time=60",
            ],
            [
                "note_on channel=8 note=38 velocity=100 time=0",
                "note_off channel=8 note=38 velocity=0 time=60",
            ],
        ],
    )
    assert result.warnings == ()
    kit, unnamed, pitched = result.pattern.tracks
    assert kit == Track("Beat", 25, True, DRUM_CHANNEL, [Note(0, 60, 36), Note(0, 60, 42, 80)])
    # No program change in its own track: the channel's first program (25) applies.
    assert unnamed == Track("Drums", 25, True, DRUM_CHANNEL, [Note(480, 60, 38)])
    assert pitched == Track("Acoustic Grand Piano", 0, False, 8, [Note(0, 60, 38)])


def test_note_on_with_velocity_0_is_a_note_off(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                "note_on channel=3 note=60 velocity=64 time=0",
                "note_on channel=3 note=60 velocity=0 time=480",
                "note_on channel=3 note=60 velocity=99 time=0",
                "note_on channel=3 note=60 velocity=0 time=240",
            ]
        ],
    )
    assert result.warnings == ()
    assert result.pattern.tracks[0].notes == (Note(0, 480, 60, 64), Note(480, 240, 60, 99))


def test_overlapping_notes_of_one_pitch_are_paired_first_in_first_out_then_cut(
    tmp_path: Path,
) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                "note_on channel=0 note=60 velocity=10 time=0",
                "note_on channel=0 note=60 velocity=20 time=100",
                "note_off channel=0 note=60 velocity=0 time=100",  # ends the first: 0..200
                "note_off channel=0 note=60 velocity=0 time=100",  # ends the second: 100..300
                "note_on channel=0 note=64 velocity=30 time=0",
                "note_off channel=0 note=64 velocity=0 time=10",
            ]
        ],
    )
    assert result.pattern.tracks[0].notes == (
        Note(0, 100, 60, 10),
        Note(100, 200, 60, 20),
        Note(300, 10, 64, 30),
    )
    assert len(result.warnings) == 1
    assert "overlapping notes of one pitch" in result.warnings[0]
    assert result.warnings[0].endswith(": 1")


def test_first_tempo_and_time_signature_are_kept_and_later_changes_warned(
    tmp_path: Path,
) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                meta("time_signature", numerator=3, denominator=4),
                meta("set_tempo", tempo=600_000),
                meta("set_tempo", tempo=600_000, time=1440),  # the same again: no change
                meta("set_tempo", tempo=400_000, time=1440),
                meta("time_signature", numerator=6, denominator=8),
            ],
            [
                "note_on channel=0 note=60 velocity=64 time=0",
                "note_off channel=0 note=60 velocity=0 time=480",
            ],
        ],
    )
    pattern = result.pattern
    assert pattern.tempo_us == 600_000
    assert pattern.time_signature == TimeSignature(3, 4)
    assert pattern.n_bars == 2  # the conductor track ends at 2880 ticks
    assert len(result.warnings) == 2
    tempo_warning = next(w for w in result.warnings if "tempo" in w)
    signature_warning = next(w for w in result.warnings if "time signature" in w)
    assert tempo_warning.startswith("1 later tempo change")
    assert "beat 6" in tempo_warning
    assert "100 BPM" in tempo_warning
    assert signature_warning.startswith("1 later time signature change")
    assert "3/4" in signature_warning
    assert result.time_signatures == ((0, 3, 4), (2880, 6, 8))


def test_program_change_mid_track_splits_the_track(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                meta("track_name", name="Keys"),
                "program_change channel=0 program=0 time=0",
                "note_on channel=0 note=60 velocity=64 time=0",
                "note_off channel=0 note=60 velocity=0 time=480",
                "program_change channel=0 program=40 time=0",
                "note_on channel=0 note=62 velocity=64 time=0",
                "note_off channel=0 note=62 velocity=0 time=480",
                "program_change channel=0 program=0 time=0",
                "note_on channel=0 note=64 velocity=64 time=0",
                "note_off channel=0 note=64 velocity=0 time=480",
            ]
        ],
    )
    assert result.warnings == ()
    assert result.pattern.tracks == (
        Track(
            "Keys: Acoustic Grand Piano (ch 1)",
            0,
            False,
            0,
            [Note(0, 480, 60, 64), Note(960, 480, 64, 64)],
        ),
        Track("Keys: Violin (ch 1)", 40, False, 0, [Note(480, 480, 62, 64)]),
    )


def test_a_note_without_note_off_ends_at_the_end_of_its_track(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                "note_on channel=0 note=60 velocity=64 time=0",
                "note_on channel=0 note=67 velocity=64 time=100",
                "note_off channel=0 note=67 velocity=0 time=100",
                meta("end_of_track", time=760),
            ]
        ],
    )
    assert result.pattern.tracks[0].notes == (Note(0, 960, 60, 64), Note(100, 100, 67, 64))
    assert result.pattern.n_bars == 1
    assert len(result.warnings) == 1
    assert "still sounding" in result.warnings[0]
    assert result.warnings[0].endswith(": 1")


def test_other_repairs_are_counted_in_warnings(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                "note_off channel=0 note=50 velocity=0 time=0",  # nothing sounds
                "note_on channel=0 note=60 velocity=64 time=10",
                "note_off channel=0 note=60 velocity=0 time=0",  # no length
                "control_change channel=0 control=64 value=127 time=0",
                "control_change channel=0 control=7 value=100 time=0",
                "pitchwheel channel=0 pitch=100 time=0",
                meta("text", text="harmless"),
                meta("marker", text="verse"),
                meta("key_signature", key="C"),
            ]
        ],
    )
    assert result.pattern.tracks[0].notes == (Note(10, 1, 60, 64),)
    assert sorted(result.warnings) == [
        "events that a pattern does not hold were ignored: 2 control_change, 1 pitchwheel",
        "note-offs with no sounding note, ignored: 1",
        "notes with no length, given one tick: 1",
    ]


@pytest.mark.parametrize(
    "name", ["Klänge", "Бас", "ドラム 🥁", "naïve café"], ids=["de", "ru", "ja", "fr"]
)
def test_utf8_track_names(tmp_path: Path, name: str) -> None:
    as_mido_reads_it = name.encode("utf-8").decode("latin-1")
    result = read_tracks(
        tmp_path,
        [
            [
                meta("track_name", name=as_mido_reads_it),
                "note_on channel=0 note=60 velocity=64 time=0",
                "note_off channel=0 note=60 velocity=0 time=10",
            ]
        ],
    )
    assert result.pattern.tracks[0].name == name
    # Written by Barforge and read back.
    pattern = Pattern((piano(Note(0, 10, 60), name=name),), n_bars=1)
    write_midi_file(pattern, tmp_path / "round.mid")
    assert read_midi_file(tmp_path / "round.mid").pattern == pattern


def test_latin1_track_names_that_are_not_utf8_are_kept(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path, [[meta("track_name", name="Café"), "program_change channel=0 program=1 time=0"]]
    )
    assert result.pattern.tracks[0].name == "Café"


def test_an_empty_track_with_a_program_change_is_kept(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [meta("track_name", name="Pad"), "program_change channel=3 program=88 time=0"],
            ["program_change channel=9 program=0 time=0"],
        ],
    )
    assert result.warnings == ()
    assert result.pattern == Pattern(
        (Track("Pad", 88, False, 3), Track("Drums", 0, True, DRUM_CHANNEL)), n_bars=1
    )


def test_a_conductor_track_gives_no_track(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                meta("track_name", name="Tempo map"),
                meta("time_signature", numerator=4, denominator=4),
                meta("set_tempo", tempo=500_000),
                meta("text", text="made by hand"),
            ],
            [
                meta("track_name", name="Lead"),
                "note_on channel=0 note=60 velocity=64 time=0",
                "note_off channel=0 note=60 velocity=0 time=10",
            ],
        ],
    )
    assert result.warnings == ()
    assert [t.name for t in result.pattern.tracks] == ["Lead"]


@pytest.mark.parametrize(
    ("end_tick", "n_bars"),
    [(0, 1), (1, 1), (1920, 1), (1921, 2), (3840, 2), (5761, 4)],
)
def test_n_bars_holds_the_end_of_every_track(tmp_path: Path, end_tick: int, n_bars: int) -> None:
    result = read_tracks(
        tmp_path,
        [
            [
                "note_on channel=0 note=60 velocity=64 time=0",
                "note_off channel=0 note=60 velocity=0 time=1",
            ],
            [meta("end_of_track", time=end_tick)],
        ],
    )
    assert result.pattern.n_bars == n_bars


def test_n_bars_counts_bars_of_the_time_signature(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path,
        [
            [meta("time_signature", numerator=6, denominator=8)],
            [
                "note_on channel=0 note=60 velocity=64 time=2000",
                "note_off channel=0 note=60 velocity=0 time=881",  # ends at 2881 = 2 bars + 1
            ],
        ],
    )
    assert result.pattern.bar_ticks == 1440
    assert result.pattern.n_bars == 3


def test_a_time_signature_the_resolution_cannot_hold_falls_back_to_4_4(tmp_path: Path) -> None:
    result = read_tracks(
        tmp_path, [[meta("time_signature", numerator=3, denominator=8)], []], tpq=1
    )
    assert result.pattern.time_signature == TimeSignature(4, 4)
    assert len(result.warnings) == 1
    assert "3/8" in result.warnings[0]


def test_rmid_wrapped_file_is_read(tmp_path: Path) -> None:
    pattern = Pattern((piano(Note(0, 480, 60)),), n_bars=1)
    write_midi_file(pattern, tmp_path / "plain.mid")
    smf = (tmp_path / "plain.mid").read_bytes()
    data_chunk = b"data" + struct.pack("<L", len(smf)) + smf
    riff = b"RIFF" + struct.pack("<L", 4 + len(data_chunk)) + b"RMID" + data_chunk
    (tmp_path / "song.rmi").write_bytes(riff)
    assert read_midi_file(tmp_path / "song.rmi").pattern == pattern


# --- hypothesis round trip -------------------------------------------------------------------


@st.composite
def patterns(draw: st.DrawFn, names: st.SearchStrategy[str]) -> Pattern:
    """Random valid patterns: drums on channel 9 only, no overlapping notes of one pitch."""
    numerator = draw(st.one_of(st.integers(1, 16), st.just(255)))
    denominator = draw(st.sampled_from(TIME_SIGNATURE_DENOMINATORS))
    tpq = draw(st.one_of(st.integers(1, 1000), st.sampled_from([96, 480, 960])))
    tpq *= max(1, denominator // 4)  # so that a bar is a whole number of ticks
    if denominator <= 4 and draw(st.booleans()):
        tpq = draw(st.sampled_from([1, 0x7FFF]))
    n_bars = draw(st.integers(1, 4))
    length = n_bars * tpq * 4 * numerator // denominator
    tracks = []
    for _ in range(draw(st.integers(0, 4))):
        channel = draw(st.integers(0, 15))
        raw = []
        for _ in range(draw(st.integers(0, 16))):
            start = draw(st.integers(0, length - 1))
            duration = draw(st.integers(1, length - start))
            raw.append(Note(start, duration, draw(st.integers(0, 127)), draw(st.integers(1, 127))))
        notes, _ = resolve_overlaps(raw)
        program = draw(st.integers(0, 127))
        tracks.append(Track(draw(names), program, channel == DRUM_CHANNEL, channel, notes))
    return Pattern(
        tuple(tracks),
        n_bars=n_bars,
        ticks_per_quarter=tpq,
        time_signature=TimeSignature(numerator, denominator),
        tempo_us=draw(st.integers(1, MAX_TEMPO_US)),
    )


def round_trip(pattern: Pattern) -> MidiImport:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "round.mid"
        write_midi_file(pattern, path)
        return read_midi_file(path)


@settings(max_examples=150, deadline=None)
@given(patterns(names=st.text(max_size=12)))
def test_any_pattern_survives_a_file_round_trip(pattern: Pattern) -> None:
    result = round_trip(pattern)
    assert result.warnings == ()
    assert result.midi_type == 1
    assert result.pattern == pattern


@settings(max_examples=150, deadline=None)
@given(patterns(names=st.text(min_size=1, max_size=12).filter(lambda s: s == s.strip())))
def test_patterns_with_trimmed_names_survive_a_file_round_trip(pattern: Pattern) -> None:
    # The same as above with names that have no edge whitespace, so that a failure of the
    # test above that comes from names alone does not hide other faults.
    result = round_trip(pattern)
    assert result.warnings == ()
    assert result.midi_type == 1
    assert result.pattern == pattern


@pytest.mark.parametrize("name", ["", " lead ", "\tbass"])
def test_track_names_round_trip_exactly(name: str) -> None:
    pattern = Pattern((piano(Note(0, 10, 60), name=name),), n_bars=1)
    assert round_trip(pattern).pattern.tracks[0].name == name


# --- the writer, inspected with mido ---------------------------------------------------------


def absolute(track: Any) -> list[tuple[int, Any]]:
    tick, out = 0, []
    for message in track:
        tick += message.time
        out.append((tick, message))
    return out


def is_note_off(message: Any) -> bool:
    return bool(message.type == "note_off" or (message.type == "note_on" and message.velocity == 0))


def writer_example() -> Pattern:
    lead = Track(
        "Lead",
        81,
        False,
        3,
        [
            Note(0, 480, 60, 90),
            Note(480, 480, 60, 70),  # touches the one before: off and on at tick 480
            Note(240, 240, 64, 50),  # ends at 480
            Note(480, 240, 67, 1),  # starts at 480
            Note(2879, 1, 127, 127),  # ends with the pattern
        ],
    )
    kit = Track("Kit", 16, True, DRUM_CHANNEL, [Note(0, 10, 36), Note(10, 10, 36)])
    return Pattern(
        (lead, kit, Track("Empty", 5, False, 0)),
        n_bars=2,
        ticks_per_quarter=480,
        time_signature=TimeSignature(3, 4),
        tempo_us=400_000,
    )


def test_writer_layout(tmp_path: Path) -> None:
    pattern = writer_example()
    path = tmp_path / "out.mid"
    write_midi_file(pattern, path)
    midi = mido.MidiFile(str(path))
    assert midi.type == 1
    assert midi.ticks_per_beat == 480
    assert len(midi.tracks) == 4
    length = pattern.length_ticks

    conductor = absolute(midi.tracks[0])
    assert all(m.is_meta for _, m in conductor)
    ((ts_tick, ts),) = [(t, m) for t, m in conductor if m.type == "time_signature"]
    ((tempo_tick, tempo),) = [(t, m) for t, m in conductor if m.type == "set_tempo"]
    assert (ts_tick, ts.numerator, ts.denominator) == (0, 3, 4)
    assert (tempo_tick, tempo.tempo) == (0, 400_000)
    assert conductor[-1][1].type == "end_of_track"
    assert conductor[-1][0] == length

    for track, midi_track in zip(pattern.tracks, midi.tracks[1:], strict=True):
        events = absolute(midi_track)
        names = [m.name for _, m in events if m.type == "track_name"]
        assert [n.encode("latin-1").decode("utf-8") for n in names] == [track.name]
        programs = [(t, m.channel, m.program) for t, m in events if m.type == "program_change"]
        assert programs == [(0, track.channel, track.program)]
        first_note = next((i for i, (_, m) in enumerate(events) if m.type.startswith("note")), None)
        if first_note is not None:
            assert [m.type for _, m in events[:first_note]] == ["track_name", "program_change"]
        channels = {m.channel for _, m in events if not m.is_meta}
        assert channels == {track.channel}
        assert events[-1][1].type == "end_of_track"
        assert events[-1][0] == length
        # Rebuild the notes from the events.
        sounding: dict[int, deque[tuple[int, int]]] = {}
        notes = []
        for tick, message in events:
            if message.type == "note_on" and message.velocity > 0:
                sounding.setdefault(message.note, deque()).append((tick, message.velocity))
            elif is_note_off(message):
                start, velocity = sounding[message.note].popleft()
                notes.append(Note(start, tick - start, message.note, velocity))
        assert not any(sounding.values())
        assert tuple(sorted(notes, key=lambda n: (n.start, n.pitch))) == track.notes


def test_writer_puts_note_offs_before_note_ons_at_one_tick(tmp_path: Path) -> None:
    path = tmp_path / "out.mid"
    write_midi_file(writer_example(), path)
    midi = mido.MidiFile(str(path))
    checked_ticks = set()
    for midi_track in midi.tracks[1:]:
        seen_on_at: int | None = None
        for tick, message in absolute(midi_track):
            if message.type == "note_on" and message.velocity > 0:
                seen_on_at = tick
            elif is_note_off(message):
                assert seen_on_at != tick, f"a note-off follows a note-on at tick {tick}"
                checked_ticks.add(tick)
    assert {480, 10} <= checked_ticks  # the ticks where offs and ons meet were seen


def test_write_leaves_no_temporary_file_and_replaces_the_target(tmp_path: Path) -> None:
    path = tmp_path / "song.mid"
    first = Pattern((piano(Note(0, 10, 60)),), n_bars=1)
    second = Pattern((piano(Note(0, 20, 62)), piano(name="B")), n_bars=2)
    write_midi_file(first, path)
    assert os.listdir(tmp_path) == ["song.mid"]
    write_midi_file(second, str(path))
    assert os.listdir(tmp_path) == ["song.mid"]
    assert read_midi_file(path).pattern == second


def test_write_into_a_missing_folder_raises_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "song.mid"
    with pytest.raises(MidiFileError) as info:
        write_midi_file(Pattern(), path)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)
    assert os.listdir(tmp_path) == []


def test_failed_write_removes_its_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_bytes(b"x")  # a non-empty folder cannot be replaced by a file
    with pytest.raises(MidiFileError) as info:
        write_midi_file(Pattern(), target)
    assert str(target) in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["taken"]
    assert os.listdir(target) == ["inside"]


def test_names_that_utf8_cannot_hold_are_refused_before_writing() -> None:
    # A lone surrogate (what os.fsdecode makes of a non-UTF-8 file name) is a valid str,
    # but no MIDI file can carry it: the track refuses it, so writing never meets it.
    with pytest.raises(ValueError, match=r"Track\.name"):
        piano(name="take\udcff")


def test_patterns_too_long_for_a_midi_file_are_a_midi_file_error(tmp_path: Path) -> None:
    pattern = Pattern((piano(),), n_bars=2049, ticks_per_quarter=32767)
    with pytest.raises(MidiFileError) as info:
        write_midi_file(pattern, tmp_path / "long.mid")
    assert "longer than a MIDI file can say" in info.value.reason
    assert os.listdir(tmp_path) == []


# --- an independent reader: music21 ----------------------------------------------------------


def music21_view(path: Path) -> dict[str, Any]:
    """What music21's low-level MIDI parser finds in ``path``: header, conductor, tracks."""
    mf = m21midi.MidiFile()
    mf.open(str(path))
    try:
        mf.read()
    finally:
        mf.close()
    tracks = []
    tempo = signature = None
    for index, track in enumerate(mf.tracks):
        tick = 0
        name = None
        programs = []
        channels = set()
        sounding: dict[tuple[int, int], deque[tuple[int, int]]] = {}
        notes = []
        for event in track.events:
            if isinstance(event, m21midi.DeltaTime):
                tick += event.time
                continue
            kind = event.type
            if kind == m21midi.MetaEvents.SEQUENCE_TRACK_NAME:
                assert isinstance(event.data, bytes)
                name = event.data.decode("utf-8")
            elif kind == m21midi.MetaEvents.SET_TEMPO:
                assert isinstance(event.data, bytes)
                tempo = (tick, int.from_bytes(event.data, "big"))
            elif kind == m21midi.MetaEvents.TIME_SIGNATURE:
                assert isinstance(event.data, bytes)
                signature = (tick, event.data[0], 2 ** event.data[1])
            elif kind == m21midi.ChannelVoiceMessages.PROGRAM_CHANGE:
                programs.append((tick, event.channel - 1, event.data))
            elif kind in (
                m21midi.ChannelVoiceMessages.NOTE_ON,
                m21midi.ChannelVoiceMessages.NOTE_OFF,
            ):
                channel, pitch = event.channel - 1, event.pitch
                assert pitch is not None
                channels.add(channel)
                key = (channel, pitch)
                if kind == m21midi.ChannelVoiceMessages.NOTE_ON and event.velocity:
                    sounding.setdefault(key, deque()).append((tick, event.velocity))
                else:
                    start, velocity = sounding[key].popleft()
                    notes.append(Note(start, tick - start, pitch, velocity))
            elif kind == m21midi.MetaEvents.END_OF_TRACK:
                pass
            else:
                raise AssertionError(f"unexpected event {event!r} in track {index}")
        assert not any(sounding.values())
        notes.sort(key=lambda n: (n.start, n.pitch))
        tracks.append(
            {"name": name, "programs": programs, "channels": channels, "notes": notes, "end": tick}
        )
    return {
        "format": mf.format,
        "tpq": mf.ticksPerQuarterNote,
        "tempo": tempo,
        "signature": signature,
        "tracks": tracks,
    }


def check_with_music21(pattern: Pattern, path: Path) -> None:
    view = music21_view(path)
    assert view["format"] == 1
    assert view["tpq"] == pattern.ticks_per_quarter
    assert view["tempo"] == (0, pattern.tempo_us)
    ts = pattern.time_signature
    assert view["signature"] == (0, ts.numerator, ts.denominator)
    conductor, *tracks = view["tracks"]
    assert conductor["notes"] == []
    assert conductor["programs"] == []
    assert conductor["end"] == pattern.length_ticks
    assert len(tracks) == len(pattern.tracks)
    for track, found in zip(pattern.tracks, tracks, strict=True):
        assert found["name"] == track.name
        assert found["programs"] == [(0, track.channel, track.program)]
        assert found["channels"] <= {track.channel}
        assert found["notes"] == list(track.notes)
        assert found["end"] == pattern.length_ticks


def test_music21_reads_what_barforge_writes(tmp_path: Path) -> None:
    pattern = writer_example()
    write_midi_file(pattern, tmp_path / "out.mid")
    check_with_music21(pattern, tmp_path / "out.mid")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns(names=st.text(max_size=12)))
def test_music21_reads_random_patterns_exactly(pattern: Pattern) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "song.mid"
        write_midi_file(pattern, path)
        check_with_music21(pattern, path)


# --- malformed files -------------------------------------------------------------------------


def header(midi_type: int = 1, n_tracks: int = 1, division: int = 480, length: int = 6) -> bytes:
    return b"MThd" + struct.pack(">LHHH", length, midi_type, n_tracks, division)


def chunk(body: bytes, length: int | None = None, kind: bytes = b"MTrk") -> bytes:
    return kind + struct.pack(">L", len(body) if length is None else length) + body


#: One note and the end of the track, as raw track-chunk bytes.
ONE_NOTE = b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x00\x00\xff\x2f\x00"


def write_bytes(folder: Path, data: bytes, name: str = "bad.mid") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_the_raw_fixture_itself_is_valid(tmp_path: Path) -> None:
    result = read_midi_file(write_bytes(tmp_path, header() + chunk(ONE_NOTE)))
    assert result.pattern.tracks[0].notes == (Note(0, 480, 60, 64),)
    assert result.warnings == ()


def multi_track_bytes() -> bytes:
    pattern = Pattern(
        (
            Track("Bass", 33, False, 1, [Note(i * 240, 240, 36 + i, 90) for i in range(8)]),
            Track("Kit", 0, True, DRUM_CHANNEL, [Note(i * 120, 60, 42) for i in range(16)]),
        ),
        n_bars=1,
    )
    with tempfile.TemporaryDirectory() as folder:
        write_midi_file(pattern, Path(folder) / "x.mid")
        return (Path(folder) / "x.mid").read_bytes()


def chunk_boundaries(data: bytes) -> list[int]:
    """Offsets after the header chunk, after each track chunk header, and inside each track."""
    (header_length,) = struct.unpack(">L", data[4:8])
    offset = 8 + header_length
    cuts = [offset]
    while offset < len(data):
        (length,) = struct.unpack(">L", data[offset + 4 : offset + 8])
        body = offset + 8
        cuts += [offset + 4, body, body + 1, body + length // 2, body + length - 1]
        offset = body + length
        cuts.append(offset)
    return sorted({c for c in cuts if 0 < c < len(data)})


def note_starts(result: MidiImport) -> set[tuple[int, int, int]]:
    return {(i, n.start, n.pitch) for i, t in enumerate(result.pattern.tracks) for n in t.notes}


def test_a_file_cut_at_any_chunk_boundary_keeps_what_came_before(tmp_path: Path) -> None:
    data = multi_track_bytes()
    whole = read_midi_file(write_bytes(tmp_path, data, "whole.mid"))
    first_event = 14 + 8 + 8  # the headers, then the conductor's time signature (8 bytes)
    cuts = chunk_boundaries(data)
    assert len(cuts) >= 15
    kept = []
    for cut in cuts:
        path = write_bytes(tmp_path, data[:cut], f"cut{cut}.mid")
        if cut < first_event:  # nothing complete to keep: refused
            assert "truncated" in read_error(path).reason, cut
            continue
        result = read_midi_file(path)
        assert any("truncated" in w for w in result.warnings), (cut, result.warnings)
        # Every note kept starts where one of the whole file does (notes cut short end early).
        assert note_starts(result) <= note_starts(whole), cut
        kept.append(result.pattern.n_notes)
    assert kept == sorted(kept)  # a longer piece of the file never keeps fewer notes
    # Cut inside the last End of Track, every note is there; cut early, fewer are.
    assert kept[0] < kept[-1] == whole.pattern.n_notes


def test_a_file_cut_at_any_byte_is_read_up_to_the_cut_or_refused_in_its_headers(
    tmp_path: Path,
) -> None:
    data = save_bytes(
        midi_file(
            [
                [meta("set_tempo", tempo=500_000), meta("track_name", name="Conductor")],
                [
                    "program_change channel=0 program=5 time=0",
                    "note_on channel=0 note=60 velocity=64 time=0",
                    "note_on channel=0 note=64 velocity=64 time=0",  # running status
                    "note_off channel=0 note=60 velocity=0 time=200",
                    "pitchwheel channel=0 pitch=-300 time=0",
                    "sysex data=(1,2,3) time=0",
                    "note_off channel=0 note=64 velocity=0 time=20000",  # two-byte delta
                ],
            ]
        )
    )
    path = tmp_path / "cut.mid"
    first_event = 14 + 8 + 7  # the headers, then the conductor's tempo event (7 bytes)
    counts = []
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        if cut < first_event:  # nothing complete to keep: refused
            expected = "MThd" if cut < 4 else "truncated"
            assert expected in read_error(path).reason, cut
            continue
        result = read_midi_file(path)
        assert any("truncated" in w for w in result.warnings), (cut, result.warnings)
        counts.append(result.pattern.n_notes)
    assert counts == sorted(counts)
    assert counts[-1] == 2  # one byte missing at the end: both notes are kept
    path.write_bytes(data)
    whole = read_midi_file(path)
    assert whole.pattern.n_notes == 2
    assert not any("truncated" in w for w in whole.warnings)


def save_bytes(midi: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return save(midi, Path(folder)).read_bytes()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300).filter(lambda b: b[:4] not in (b"MThd", b"RIFF")))
def test_random_bytes_are_refused(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write_bytes(Path(folder), data)
        error = read_error(path)
    assert "MThd" in error.reason


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([0, 1]),
    st.integers(0, 3),
    st.sampled_from([1, 96, 480]),
    st.lists(st.one_of(st.binary(max_size=24), st.sampled_from([ONE_NOTE, b"\xff\x2f\x00"]))),
)
def test_random_bodies_after_a_valid_header_never_raise_anything_else(
    midi_type: int, n_tracks: int, division: int, bodies: list[bytes]
) -> None:
    data = header(midi_type, n_tracks, division) + b"".join(chunk(b) for b in bodies)
    with tempfile.TemporaryDirectory() as folder:
        path = write_bytes(Path(folder), data)
        failure: MidiFileError | None = None
        try:
            result = read_midi_file(path)
        except MidiFileError as error:
            failure = error
        if failure is not None:
            assert failure.path == str(path)
            assert str(path) in str(failure)
        else:
            assert result.midi_type == midi_type
            assert result.pattern.ticks_per_quarter == division


@pytest.mark.parametrize(
    "data",
    [
        b"MThx" + header()[4:] + chunk(ONE_NOTE),
        b"RIFF\x20\x00\x00\x00RMIDdata\x10\x00\x00\x00" + b"\x00" * 16,
        b"RIFF\x20\x00\x00\x00WAVEfmt " + b"\x00" * 16,
        b"\x00MThd" + header()[4:] + chunk(ONE_NOTE),
        b"MTrk" + header()[4:],
    ],
    ids=["MThx", "RIFF-RMID-without-MThd", "RIFF-WAVE", "shifted", "MTrk-first"],
)
def test_wrong_header_is_refused(tmp_path: Path, data: bytes) -> None:
    error = read_error(write_bytes(tmp_path, data))
    assert "MThd" in error.reason


def test_huge_header_chunk_length(tmp_path: Path) -> None:
    error = read_error(write_bytes(tmp_path, header(length=0xFFFFFFFF) + chunk(ONE_NOTE)))
    assert "truncated" in error.reason


@pytest.mark.parametrize("n_tracks", [1, 2])
def test_a_track_chunk_claiming_more_than_the_file_is_read_to_its_end_of_track(
    tmp_path: Path, n_tracks: int
) -> None:
    data = header(n_tracks=n_tracks) + chunk(ONE_NOTE, length=0xFFFFFFFF)
    data += chunk(ONE_NOTE) * (n_tracks - 1)
    result = read_midi_file(write_bytes(tmp_path, data))
    assert result.pattern.n_notes == n_tracks
    assert "track 1's chunk claims 4294967295 bytes" in result.warnings[0]


@pytest.mark.parametrize(
    "event",
    [
        b"\x00\xff\x01\x8f\xff\xff\xff\x7fabc",  # text meta event, length ~ 2**35
        b"\x00\xff\x03\x83\xff\xff\x7fname",  # track name, length ~ 8 MB
        b"\x00\xf0\x8f\xff\xff\xff\x7f\x01\x02",  # sysex
    ],
    ids=["text", "name", "sysex"],
)
def test_huge_event_length(tmp_path: Path, event: bytes) -> None:
    error = read_error(write_bytes(tmp_path, header() + chunk(event + b"\x00\xff\x2f\x00")))
    assert "length" in error.reason


def test_data_bytes_with_no_status_in_effect_are_skipped(tmp_path: Path) -> None:
    result = read_midi_file(write_bytes(tmp_path, header() + chunk(b"\x00\x3c\x40" + ONE_NOTE)))
    assert result.pattern.tracks[0].notes == (Note(0, 480, 60, 64),)
    # 3c and 40, then ONE_NOTE's own delta byte: data bytes up to the next status byte.
    assert result.warnings == ("stray data bytes (no status in effect) skipped: 3",)


def test_an_undefined_status_byte_is_skipped(tmp_path: Path) -> None:
    result = read_midi_file(write_bytes(tmp_path, header() + chunk(b"\x00\xf4" + ONE_NOTE)))
    assert result.pattern.tracks[0].notes == (Note(0, 480, 60, 64),)
    assert result.warnings == ("undefined status bytes (0xF4, 0xF5, 0xF9, 0xFD) skipped: 1",)


def test_data_bytes_above_127_are_clipped_with_a_warning(tmp_path: Path) -> None:
    body = (
        b"\x00\x90\x3c\xc8"  # velocity 200
        b"\x00\x90\xbc\x40"  # pitch 188
        b"\x83\x60\x80\x3c\x00"
        b"\x00\x80\x7f\x00"
        b"\x00\xff\x2f\x00"
    )
    result = read_midi_file(write_bytes(tmp_path, header() + chunk(body)))
    assert result.pattern.tracks[0].notes == (Note(0, 480, 60, 127), Note(0, 480, 127, 64))
    assert len(result.warnings) == 1
    assert "clipped" in result.warnings[0]


def test_a_type_2_file_with_one_sequence_reads_like_type_0(tmp_path: Path) -> None:
    result = read_midi_file(write_bytes(tmp_path, header(midi_type=2) + chunk(ONE_NOTE)))
    assert result.midi_type == 2
    assert result.pattern.tracks[0].notes == (Note(0, 480, 60, 64),)
    assert result.layout == "1 sequence, read one after another, each from a new bar"


@pytest.mark.parametrize("midi_type", [3, 0x7FFF, 0xFFFF])
def test_unknown_types_are_refused(tmp_path: Path, midi_type: int) -> None:
    error = read_error(write_bytes(tmp_path, header(midi_type=midi_type) + chunk(ONE_NOTE)))
    assert "type" in error.reason


@pytest.mark.parametrize("division", [0xE728, 0xE250, 0x8000])  # -25 fps, -30 fps, SMPTE bit
def test_smpte_division_is_refused(tmp_path: Path, division: int) -> None:
    error = read_error(write_bytes(tmp_path, header(division=division) + chunk(ONE_NOTE)))
    assert "SMPTE" in error.reason


def test_zero_division_is_refused_without_blaming_smpte(tmp_path: Path) -> None:
    # 0 ticks per quarter is simply invalid; SMPTE divisions have the top bit set.
    error = read_error(write_bytes(tmp_path, header(division=0) + chunk(ONE_NOTE)))
    assert "SMPTE" not in error.reason


def test_a_zero_tempo_is_ignored_with_a_warning(tmp_path: Path) -> None:
    body = b"\x00\xff\x51\x03\x00\x00\x00" + ONE_NOTE
    result = read_midi_file(write_bytes(tmp_path, header() + chunk(body)))
    assert result.pattern.tempo_us == 500_000
    assert result.warnings == ("a tempo of 0 (invalid) was ignored",)


def test_a_header_claiming_more_bytes_than_the_file_holds(tmp_path: Path) -> None:
    error = read_error(write_bytes(tmp_path, header(n_tracks=0, length=0xFFFFFFFF)))
    assert "header chunk claims" in error.reason


def test_music_longer_than_the_bar_limit_is_refused(tmp_path: Path) -> None:
    body = b"\x00\x90\x3c\x40\x8f\xff\xff\x7f\x80\x3c\x00\x00\xff\x2f\x00"  # 2**28 - 1 ticks
    error = read_error(write_bytes(tmp_path, header(division=1) + chunk(body)))
    assert "bars" in error.reason


def test_file_above_the_size_cap(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, header() + chunk(ONE_NOTE))
    size = path.stat().st_size
    error = read_error(path, max_bytes=size - 1)
    assert "limit" in error.reason
    assert read_midi_file(path, max_bytes=size).pattern.n_notes == 1


def test_a_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "song.mid"
    folder.mkdir()
    error = read_error(folder)
    assert "folder" in error.reason


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    error = read_error(tmp_path / "nowhere.mid")
    assert "No such file" in error.reason
    error = read_error(str(tmp_path / "nowhere" / "deeper.mid"))
    assert "No such file" in error.reason


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    error = read_error(write_bytes(tmp_path, b""))
    assert "MThd" in error.reason
