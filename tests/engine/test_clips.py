# SPDX-License-Identifier: MIT
"""Tests for engine.clips: cutting bars out of a pattern, and naming the clip's file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import mido
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.clips import CLIP_FILE_PREFIX, MAX_NAME_CHARS, clip_file_name, extract_clip
from engine.midi.files import midi_file_bytes, read_midi_file, write_midi_file
from engine.music import Note, Pattern, TimeSignature, Track, resolve_overlaps

TPQ = 480
BAR = 4 * TPQ  # 4/4


def choir() -> Pattern:
    """Three bars of 4/4 at 96 BPM: a soprano with notes crossing the bar lines, a bass, drums."""
    soprano = [
        Note(0, 480, 72, 90),
        Note(1440, 960, 74, 80),  # beat 4 of bar 1 into bar 2
        Note(2400, 480, 76, 70),
        Note(3360, 1440, 77, 60),  # beat 4 of bar 2 to the end of bar 3
        Note(5280, 480, 79, 50),
    ]
    bass = [Note(0, 3 * BAR, 36, 100)]  # one note over all three bars
    kit = [Note(i * 480, 120, 42, 64 + i) for i in range(12)]
    return Pattern(
        tracks=(
            Track("Soprano", 52, False, 0, soprano),
            Track("Bass", 32, False, 1, bass),
            Track("Kit", 0, True, 9, kit),
        ),
        n_bars=3,
        ticks_per_quarter=TPQ,
        time_signature=TimeSignature(4, 4),
        tempo_us=625_000,
    )


def mido_notes(midi: Any) -> dict[str, list[tuple[int, int, int, int]]]:
    """(start, length, pitch, velocity) of every note per named track, read with mido alone."""
    out: dict[str, list[tuple[int, int, int, int]]] = {}
    for track in midi.tracks:
        name, tick = None, 0
        sounding: dict[int, tuple[int, int]] = {}
        notes: list[tuple[int, int, int, int]] = []
        for msg in track:
            tick += msg.time
            if msg.type == "track_name":
                name = msg.name
            elif msg.type == "note_on" and msg.velocity > 0:
                sounding[msg.note] = (tick, msg.velocity)
            elif msg.type in ("note_on", "note_off"):
                start, velocity = sounding.pop(msg.note)
                notes.append((start, tick - start, msg.note, velocity))
        if name is not None:
            out[name] = sorted(notes)
    return out


def expected(track: Track) -> list[tuple[int, int, int, int]]:
    return sorted((n.start, n.duration, n.pitch, n.velocity) for n in track.notes)


# --- cutting ---------------------------------------------------------------------------------


def test_clip_of_bar_two_keeps_what_sounds_in_it() -> None:
    clip = extract_clip(choir(), (1, 2))
    assert clip.n_bars == 1
    soprano, bass, kit = clip.tracks
    assert [(n.start, n.duration, n.pitch, n.velocity) for n in soprano.notes] == [
        (0, 480, 74, 80),  # started a beat before the bar: the part inside, from tick 0
        (480, 480, 76, 70),
        (1440, 480, 77, 60),  # sounds on into bar 3: cut at the bar's end
    ]
    assert [(n.start, n.duration) for n in bass.notes] == [(0, BAR)]
    assert [(n.start, n.velocity) for n in kit.notes] == [(i * 480, 68 + i) for i in range(4)]


def test_clip_keeps_tempo_meter_names_programs_and_channels() -> None:
    pattern = choir()
    clip = extract_clip(pattern, (0, 2))
    assert (clip.tempo_us, clip.time_signature, clip.ticks_per_quarter) == (
        625_000,
        TimeSignature(4, 4),
        TPQ,
    )
    assert [(t.name, t.program, t.is_drum, t.channel) for t in clip.tracks] == [
        ("Soprano", 52, False, 0),
        ("Bass", 32, False, 1),
        ("Kit", 0, True, 9),
    ]


def test_whole_pattern_clip_is_the_pattern() -> None:
    pattern = choir()
    assert extract_clip(pattern) == pattern
    assert extract_clip(pattern, (0, 3)) == pattern


def test_one_track_clip_holds_only_that_track() -> None:
    clip = extract_clip(choir(), (2, 3), track=2)
    assert [t.name for t in clip.tracks] == ["Kit"]
    assert clip.tracks[0].channel == 9
    assert [n.start for n in clip.tracks[0].notes] == [0, 480, 960, 1440]


def test_clip_in_three_four_uses_its_bar_length() -> None:
    pattern = Pattern(
        tracks=(Track("Waltz", 0, False, 0, [Note(1000, 1000, 60)]),),
        n_bars=3,
        ticks_per_quarter=TPQ,
        time_signature=TimeSignature(3, 4),
    )
    clip = extract_clip(pattern, (1, 3))
    assert clip.length_ticks == 2 * 1440
    assert clip.tracks[0].notes == (Note(0, 560, 60),)


def test_bars_with_no_notes_give_empty_tracks() -> None:
    pattern = Pattern(tracks=(Track("Lead", 0, False, 0, [Note(0, 240, 60)]),), n_bars=2)
    clip = extract_clip(pattern, (1, 2))
    assert clip.tracks[0].notes == ()
    assert clip.tracks[0].name == "Lead"


@pytest.mark.parametrize(
    ("bars", "named"),
    [((2, 2), "bars 2..2"), ((2, 1), "bars 2..1"), ((-1, 1), "bars -1..1"), ((1, 4), "1..4")],
)
def test_bad_ranges_raise_naming_the_range(bars: tuple[int, int], named: str) -> None:
    with pytest.raises(ValueError, match="bars") as info:
        extract_clip(choir(), bars)
    assert named in str(info.value)


def test_empty_range_says_it_is_empty() -> None:
    with pytest.raises(ValueError, match=r"bars 1\.\.1 is an empty range"):
        extract_clip(choir(), (1, 1))


@pytest.mark.parametrize("track", [3, -1, True])
def test_bad_track_raises_naming_it(track: int) -> None:
    with pytest.raises(ValueError, match="track"):
        extract_clip(choir(), (0, 1), track=track)


def test_track_out_of_range_says_how_many_there_are() -> None:
    with pytest.raises(ValueError, match=r"track 3 does not exist: the pattern has 3 track"):
        extract_clip(choir(), None, track=3)


# --- through real MIDI bytes -----------------------------------------------------------------


def test_clip_file_round_trip_gives_the_same_notes(tmp_path: Path) -> None:
    pattern = choir()
    clip = extract_clip(pattern, (1, 3))
    path = tmp_path / clip_file_name(pattern, (1, 3), None, "Chorale")
    write_midi_file(clip, path)

    midi = mido.MidiFile(str(path))
    assert midi.ticks_per_beat == TPQ
    assert mido_notes(midi) == {t.name: expected(t) for t in clip.tracks}
    assert mido_notes(midi)["Soprano"] == [
        (0, 480, 74, 80),
        (480, 480, 76, 70),
        (1440, 1440, 77, 60),
        (3360, 480, 79, 50),
    ]
    meta = {msg.type: msg for msg in midi.tracks[0]}
    assert meta["set_tempo"].tempo == 625_000
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (4, 4)

    back = read_midi_file(path)
    assert back.warnings == ()
    assert back.pattern == clip


def test_one_track_clip_bytes_read_by_mido() -> None:
    pattern = choir()
    clip = extract_clip(pattern, (0, 1), track=1)
    midi = mido.MidiFile(file=io.BytesIO(midi_file_bytes(clip)))
    assert mido_notes(midi) == {"Bass": [(0, BAR, 36, 100)]}
    assert midi.length == pytest.approx(4 * 0.625)  # one bar of 4 beats at 96 BPM, seconds


@st.composite
def patterns(draw: st.DrawFn) -> Pattern:
    n_bars = draw(st.integers(1, 4))
    tpq = 2  # a bar of 4/4 is 8 ticks: small enough to check tick by tick
    length = n_bars * 8
    tracks = []
    for i in range(draw(st.integers(1, 3))):
        raw = draw(
            st.lists(
                st.tuples(st.integers(0, length - 1), st.integers(1, length), st.integers(60, 63)),
                max_size=8,
            )
        )
        notes = [Note(s, min(d, length - s), p, 1 + s % 127) for s, d, p in raw]
        tracks.append(Track(f"T{i}", 0, False, i, resolve_overlaps(notes)[0]))
    return Pattern(tracks=tracks, n_bars=n_bars, ticks_per_quarter=tpq)


def sounding(track: Track, tick: int) -> set[tuple[int, int]]:
    """(pitch, velocity) of the notes sounding at ``tick``."""
    return {(n.pitch, n.velocity) for n in track.notes if n.start <= tick < n.end}


def onsets(track: Track) -> set[tuple[int, int]]:
    return {(n.start, n.pitch) for n in track.notes}


@given(patterns(), st.data())
def test_clip_sounds_as_the_pattern_does_in_its_bars(pattern: Pattern, data: st.DataObject) -> None:
    first = data.draw(st.integers(0, pattern.n_bars - 1))
    end = data.draw(st.integers(first + 1, pattern.n_bars))
    clip = extract_clip(pattern, (first, end))
    offset = first * pattern.bar_ticks
    assert clip.length_ticks == (end - first) * pattern.bar_ticks
    for original, cut in zip(pattern.tracks, clip.tracks, strict=True):
        for tick in range(clip.length_ticks):
            assert sounding(cut, tick) == sounding(original, tick + offset)
        # every note starts where one started in the pattern, or at the clip's start
        for start, pitch in onsets(cut):
            assert start == 0 or (start + offset, pitch) in onsets(original)
    back = mido.MidiFile(file=io.BytesIO(midi_file_bytes(clip)))
    assert mido_notes(back) == {t.name: expected(t) for t in clip.tracks}


# --- file names ------------------------------------------------------------------------------


def test_file_name_names_project_track_and_bars_from_one() -> None:
    pattern = Pattern(
        tracks=(Track("Soprano", 52, False, 0), Track("Alto", 52, False, 1)), n_bars=4
    )
    assert (
        clip_file_name(pattern, (1, 3), 0, None) == "Barforge - Untitled - Soprano - bars 2-3.mid"
    )
    assert clip_file_name(pattern, (3, 4), 1, "Song") == "Barforge - Song - Alto - bar 4.mid"
    assert clip_file_name(pattern, None, None, "Song") == "Barforge - Song.mid"
    assert clip_file_name(pattern, (0, 4), None, "  ") == "Barforge - Untitled - bars 1-4.mid"
    assert clip_file_name(pattern, None, None, "Song - Take 2") == "Barforge - Song - Take 2.mid"


def test_file_name_has_no_separators_or_odd_characters() -> None:
    pattern = Pattern(tracks=(Track('Lead/Rhythm: "A"\t<1>|?*\\', 0, False, 0),), n_bars=2)
    name = clip_file_name(pattern, (0, 2), 0, "../../etc/passwd\x00")
    assert name.startswith(CLIP_FILE_PREFIX)
    assert name.endswith(".mid")
    for bad in '/\\:<>"|?*\x00\t':
        assert bad not in name
    assert ".." not in name
    assert Path(name).name == name
    assert name == "Barforge - etc-passwd - Lead-Rhythm- A 1 - bars 1-2.mid"


def test_file_name_of_unnamed_track_uses_its_number() -> None:
    pattern = Pattern(tracks=(Track("x", 0, False, 0), Track("", 0, False, 1)), n_bars=1)
    assert clip_file_name(pattern, None, 1, "Song") == "Barforge - Song - Track 2.mid"


def test_long_names_are_shortened_and_keep_the_bars() -> None:
    pattern = Pattern(tracks=(Track("Strings " * 20, 48, False, 0),), n_bars=8)
    name = clip_file_name(pattern, (4, 8), 0, "A very long project title " * 10)
    assert name.endswith(" - bars 5-8.mid")
    project, track = name.removeprefix(CLIP_FILE_PREFIX).split(" - ")[:2]
    assert len(project) <= MAX_NAME_CHARS
    assert project.endswith("…")
    assert len(track) <= MAX_NAME_CHARS
    assert len(name.encode("utf-8")) < 255


def test_file_name_refuses_what_extract_clip_refuses() -> None:
    with pytest.raises(ValueError, match="empty range"):
        clip_file_name(choir(), (2, 2), None, "Song")
    with pytest.raises(ValueError, match="track 5"):
        clip_file_name(choir(), None, 5, "Song")
