# SPDX-License-Identifier: MIT
"""Tests for engine.music: validation, immutability and the editing helpers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.music import (
    DEFAULT_TEMPO_US,
    DRUM_CHANNEL,
    MAX_TEMPO_US,
    Note,
    Pattern,
    TimeSignature,
    Track,
    default_channels,
    resolve_overlaps,
)

# --- helpers ---------------------------------------------------------------------------------


def raises_naming(field_name: str) -> Any:
    """``pytest.raises(ValueError)`` whose message must contain ``field_name`` literally."""
    return pytest.raises(ValueError, match=re.escape(field_name))


def check_invariants(pattern: Pattern) -> None:
    """Assert the model's invariants directly, without trusting the constructors."""
    assert isinstance(pattern.tracks, tuple)
    assert type(pattern.n_bars) is int
    assert pattern.n_bars >= 1
    ts = pattern.time_signature
    assert type(ts.denominator) is int
    assert (pattern.ticks_per_quarter * 4 * ts.numerator) % ts.denominator == 0
    length = pattern.n_bars * pattern.ticks_per_quarter * 4 * ts.numerator // ts.denominator
    for track in pattern.tracks:
        assert isinstance(track, Track)
        assert track.is_drum == (track.channel == DRUM_CHANNEL)
        assert isinstance(track.notes, tuple)
        keys = [(n.start, n.pitch) for n in track.notes]
        assert keys == sorted(keys), f"notes of {track.name!r} are not sorted"
        last_end: dict[int, int] = {}
        for note in track.notes:
            assert type(note) is Note
            for value in (note.start, note.duration, note.pitch, note.velocity):
                assert type(value) is int
            assert note.start >= 0
            assert note.duration >= 1
            assert 0 <= note.pitch <= 127
            assert 1 <= note.velocity <= 127
            assert note.start + note.duration <= length
            assert last_end.get(note.pitch, 0) <= note.start, "same-pitch notes overlap"
            last_end[note.pitch] = note.start + note.duration


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def piano(*notes: Note, name: str = "piano", program: int = 0, channel: int = 0) -> Track:
    return Track(name, program, False, channel, notes)


def drums(*notes: Note, name: str = "drums") -> Track:
    return Track(name, 0, True, DRUM_CHANNEL, notes)


BAR = 1920  # one bar of 4/4 at 480 ticks per quarter
NOTHING: Any = None


# --- strategies ------------------------------------------------------------------------------

SIGNATURES = [(4, 4), (3, 4), (6, 8), (7, 8), (5, 4), (2, 2), (12, 8), (1, 1)]


@st.composite
def raw_notes(draw: st.DrawFn, length: int, max_size: int = 12) -> list[Note]:
    """Notes lying inside ``[0, length)`` ticks, possibly overlapping."""
    notes = []
    for _ in range(draw(st.integers(0, max_size))):
        start = draw(st.integers(0, length - 1))
        duration = draw(st.integers(1, length - start))
        pitch = draw(st.integers(0, 127))
        velocity = draw(st.integers(1, 127))
        notes.append(Note(start, duration, pitch, velocity))
    return notes


@st.composite
def tracks(draw: st.DrawFn, length: int) -> Track:
    channel = draw(st.integers(0, 15))
    notes, _ = resolve_overlaps(draw(raw_notes(length)))
    return Track(
        draw(st.text(max_size=8)),
        draw(st.integers(0, 127)),
        channel == DRUM_CHANNEL,
        channel,
        notes,
    )


@st.composite
def patterns(draw: st.DrawFn, max_tracks: int = 4) -> Pattern:
    numerator, denominator = draw(st.sampled_from(SIGNATURES))
    tpq = draw(st.sampled_from([1, 2, 3, 24, 96, 480, 960]))
    # Some resolutions cannot hold some signatures (1 tick per quarter in 7/8): scale them up.
    while (tpq * 4 * numerator) % denominator:
        tpq *= 2
    n_bars = draw(st.integers(1, 4))
    length = n_bars * tpq * 4 * numerator // denominator
    return Pattern(
        tracks=tuple(draw(st.lists(tracks(length), max_size=max_tracks))),
        n_bars=n_bars,
        ticks_per_quarter=tpq,
        time_signature=TimeSignature(numerator, denominator),
        tempo_us=draw(st.integers(1, MAX_TEMPO_US)),
    )


# --- Note ------------------------------------------------------------------------------------


def test_note_defaults_and_end() -> None:
    note = Note(10, 5, 60)
    assert note.velocity == 100
    assert note.end == 15


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": 0, "duration": 1, "pitch": 0, "velocity": 1},
        {"start": 10**9, "duration": 10**9, "pitch": 127, "velocity": 127},
    ],
)
def test_note_accepts_boundary_values(kwargs: dict[str, int]) -> None:
    note = Note(**kwargs)
    assert (note.start, note.duration, note.pitch, note.velocity) == tuple(kwargs.values())


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("start", -1),
        ("start", 1.0),
        ("start", True),
        ("start", "0"),
        ("start", None),
        ("duration", 0),
        ("duration", -5),
        ("duration", True),
        ("duration", 2.5),
        ("pitch", -1),
        ("pitch", 128),
        ("pitch", True),
        ("pitch", 60.0),
        ("velocity", 0),
        ("velocity", 128),
        ("velocity", False),
        ("velocity", True),
    ],
)
def test_note_rejects_invalid_field(field_name: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"start": 0, "duration": 1, "pitch": 60, "velocity": 64}
    kwargs[field_name] = value
    with raises_naming(f"Note.{field_name}"):
        Note(**kwargs)


# --- Track -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"name": None}, "Track.name"),
        ({"name": 5}, "Track.name"),
        ({"program": -1}, "Track.program"),
        ({"program": 128}, "Track.program"),
        ({"program": True}, "Track.program"),
        ({"program": 1.0}, "Track.program"),
        ({"is_drum": 1}, "Track.is_drum"),
        ({"is_drum": 0}, "Track.is_drum"),
        ({"is_drum": "yes"}, "Track.is_drum"),
        ({"channel": -1}, "Track.channel"),
        ({"channel": 16}, "Track.channel"),
        ({"channel": True}, "Track.channel"),
        ({"channel": 9.0, "is_drum": True}, "Track.channel"),
        # The General MIDI drum rule: drums on index 9 and nothing else there.
        ({"is_drum": True, "channel": 0}, "Track.channel"),
        ({"is_drum": False, "channel": DRUM_CHANNEL}, "Track.channel"),
        ({"notes": ("not a note",)}, "Track.notes"),
        ({"notes": (Note(0, 1, 60), (0, 1, 62))}, "Track.notes"),
    ],
)
def test_track_rejects_invalid_field(kwargs: dict[str, Any], field_name: str) -> None:
    args: dict[str, Any] = {"name": "t", "program": 0, "is_drum": False, "channel": 0}
    args.update(kwargs)
    with raises_naming(field_name):
        Track(**args)


@pytest.mark.parametrize("notes", [None, 5])
def test_track_rejects_non_iterable_notes_with_value_error(notes: Any) -> None:
    # The module promises a ValueError naming the field for every invalid value.
    with raises_naming("Track.notes"):
        Track("t", notes=notes)


def test_drum_track_on_channel_9_is_accepted() -> None:
    track = Track("kit", 25, True, DRUM_CHANNEL)
    assert track.is_drum
    assert track.channel == 9


@pytest.mark.parametrize("channel", [c for c in range(16) if c != DRUM_CHANNEL])
def test_pitched_tracks_accept_every_other_channel(channel: int) -> None:
    assert Track("t", channel=channel).channel == channel


def test_track_sorts_notes_by_start_then_pitch_and_stores_a_tuple() -> None:
    given_notes = [Note(480, 10, 60), Note(0, 10, 64), Note(0, 10, 60), Note(240, 10, 50)]
    track = Track("t", notes=given_notes)
    assert track.notes == (Note(0, 10, 60), Note(0, 10, 64), Note(240, 10, 50), Note(480, 10, 60))
    assert isinstance(track.notes, tuple)
    given_notes.append(Note(1000, 1, 1))  # the caller's list is not shared
    assert len(track.notes) == 4


def test_track_accepts_a_generator_of_notes() -> None:
    track = Track("t", notes=(Note(i * 10, 10, 60) for i in range(3)))
    assert [n.start for n in track.notes] == [0, 10, 20]


@pytest.mark.parametrize(
    "notes",
    [
        (Note(0, 100, 60), Note(50, 100, 60)),
        (Note(0, 100, 60), Note(0, 100, 60)),
        (Note(0, 10, 60), Note(0, 5, 60)),
        (Note(200, 10, 60), Note(0, 300, 60)),  # unsorted input: still detected
        (Note(0, 10, 60), Note(10, 10, 60), Note(15, 1, 60)),
    ],
)
def test_track_rejects_overlapping_notes_of_one_pitch(notes: tuple[Note, ...]) -> None:
    with raises_naming("Track.notes"):
        Track("t", notes=notes)


def test_track_accepts_touching_notes_and_overlaps_across_pitches() -> None:
    notes = (Note(0, 100, 60), Note(100, 100, 60), Note(50, 200, 61), Note(0, 300, 62))
    track = Track("t", notes=notes)
    assert len(track.notes) == 4


def test_with_notes_replaces_notes_and_keeps_the_rest() -> None:
    track = Track("bass", 33, False, 2, (Note(0, 10, 40),))
    new = track.with_notes([Note(20, 5, 41)])
    assert new == Track("bass", 33, False, 2, (Note(20, 5, 41),))
    assert track.notes == (Note(0, 10, 40),)


# --- TimeSignature ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "field_name"),
    [
        (0, 4, "TimeSignature.numerator"),
        (256, 4, "TimeSignature.numerator"),
        (True, 4, "TimeSignature.numerator"),
        (4.0, 4, "TimeSignature.numerator"),
        (4, 3, "TimeSignature.denominator"),
        (4, 0, "TimeSignature.denominator"),
        (4, 128, "TimeSignature.denominator"),
        (4, -4, "TimeSignature.denominator"),
        (4, "4", "TimeSignature.denominator"),
        (4, None, "TimeSignature.denominator"),
    ],
)
def test_time_signature_rejects_invalid_values(
    numerator: Any, denominator: Any, field_name: str
) -> None:
    with raises_naming(field_name):
        TimeSignature(numerator, denominator)


@pytest.mark.parametrize("denominator", [True, 4.0, 8.0])
def test_time_signature_denominator_must_be_a_true_int(denominator: Any) -> None:
    # `x in (1, 2, 4, ...)` accepts True (== 1) and 4.0 (== 4); bools are not ints here.
    with raises_naming("TimeSignature.denominator"):
        TimeSignature(4, denominator)


@pytest.mark.parametrize("denominator", [1, 2, 4, 8, 16, 32, 64])
def test_time_signature_accepts_powers_of_two(denominator: int) -> None:
    assert TimeSignature(255, denominator).denominator == denominator


def test_time_signature_str_and_default() -> None:
    assert str(TimeSignature(6, 8)) == "6/8"
    assert TimeSignature() == TimeSignature(4, 4)


# --- Pattern ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"n_bars": 0}, "Pattern.n_bars"),
        ({"n_bars": -1}, "Pattern.n_bars"),
        ({"n_bars": True}, "Pattern.n_bars"),
        ({"n_bars": 2.0}, "Pattern.n_bars"),
        ({"ticks_per_quarter": 0}, "Pattern.ticks_per_quarter"),
        ({"ticks_per_quarter": 0x8000}, "Pattern.ticks_per_quarter"),
        ({"ticks_per_quarter": True}, "Pattern.ticks_per_quarter"),
        ({"tempo_us": 0}, "Pattern.tempo_us"),
        ({"tempo_us": MAX_TEMPO_US + 1}, "Pattern.tempo_us"),
        ({"tempo_us": False}, "Pattern.tempo_us"),
        ({"tempo_us": 500000.0}, "Pattern.tempo_us"),
        ({"time_signature": "4/4"}, "Pattern.time_signature"),
        ({"time_signature": (4, 4)}, "Pattern.time_signature"),
        ({"tracks": ("piano",)}, "Pattern.tracks"),
        ({"tracks": (piano(), None)}, "Pattern.tracks"),
    ],
)
def test_pattern_rejects_invalid_field(kwargs: dict[str, Any], field_name: str) -> None:
    with raises_naming(field_name):
        Pattern(**kwargs)


def test_pattern_rejects_non_iterable_tracks_with_value_error() -> None:
    with raises_naming("Pattern.tracks"):
        Pattern(tracks=NOTHING)


def test_pattern_accepts_boundary_values() -> None:
    pattern = Pattern(n_bars=1, ticks_per_quarter=0x7FFF, tempo_us=MAX_TEMPO_US)
    assert pattern.ticks_per_quarter == 32767
    assert Pattern(tempo_us=1).tempo_us == 1


@pytest.mark.parametrize(
    ("tpq", "numerator", "denominator"),
    [(1, 3, 8), (1, 7, 8), (3, 5, 16), (2, 7, 16), (1, 1, 64), (7, 3, 32)],
)
def test_pattern_rejects_bars_that_are_not_whole_ticks(
    tpq: int, numerator: int, denominator: int
) -> None:
    with raises_naming("Pattern.ticks_per_quarter"):
        Pattern(ticks_per_quarter=tpq, time_signature=TimeSignature(numerator, denominator))


@pytest.mark.parametrize(
    ("tpq", "numerator", "denominator", "bar_ticks"),
    [(2, 3, 8, 3), (4, 7, 16, 7), (16, 1, 64, 1), (1, 4, 4, 4), (1, 1, 1, 4)],
)
def test_pattern_accepts_small_whole_bars(
    tpq: int, numerator: int, denominator: int, bar_ticks: int
) -> None:
    pattern = Pattern(ticks_per_quarter=tpq, time_signature=TimeSignature(numerator, denominator))
    assert pattern.bar_ticks == bar_ticks


def test_pattern_rejects_a_note_starting_at_the_end() -> None:
    with raises_naming("Pattern.n_bars"):
        Pattern((piano(Note(BAR, 1, 60)),), n_bars=1)


def test_pattern_rejects_a_note_ending_past_the_end() -> None:
    with raises_naming("Pattern.n_bars"):
        Pattern((piano(Note(BAR - 10, 11, 60)),), n_bars=1)


def test_pattern_rejects_a_long_early_note_past_the_end() -> None:
    # The last note starts early enough; an earlier, longer one is the culprit.
    track = piano(Note(0, BAR + 1, 60), Note(100, 10, 61))
    with raises_naming("Pattern.n_bars"):
        Pattern((track,), n_bars=1)


def test_pattern_accepts_a_note_ending_exactly_at_the_end() -> None:
    pattern = Pattern((piano(Note(0, BAR, 60), Note(BAR - 1, 1, 61)),), n_bars=1)
    assert pattern.n_notes == 2


def test_pattern_stores_tracks_as_a_tuple() -> None:
    given_tracks: Any = [piano()]
    pattern = Pattern(tracks=given_tracks, n_bars=1)
    assert pattern.tracks == (piano(),)


@pytest.mark.parametrize(
    ("numerator", "denominator", "bar_ticks"),
    [(4, 4, 1920), (3, 4, 1440), (6, 8, 1440), (7, 8, 1680), (5, 4, 2400), (2, 2, 1920)],
)
def test_bar_ticks_at_480_tpq(numerator: int, denominator: int, bar_ticks: int) -> None:
    pattern = Pattern(n_bars=3, time_signature=TimeSignature(numerator, denominator))
    assert pattern.bar_ticks == bar_ticks
    assert type(pattern.bar_ticks) is int
    assert pattern.length_ticks == 3 * bar_ticks


@pytest.mark.parametrize(
    ("tempo_us", "bpm"), [(DEFAULT_TEMPO_US, 120.0), (1_000_000, 60.0), (400_000, 150.0)]
)
def test_bpm(tempo_us: int, bpm: float) -> None:
    assert Pattern(tempo_us=tempo_us).bpm == pytest.approx(bpm)


def test_default_pattern() -> None:
    pattern = Pattern()
    assert (pattern.n_bars, pattern.ticks_per_quarter, pattern.tempo_us) == (4, 480, 500_000)
    assert pattern.time_signature == TimeSignature(4, 4)
    assert pattern.tracks == ()


def test_n_notes_and_pitch_range_ignore_drums() -> None:
    pattern = Pattern(
        (piano(Note(0, 10, 40), Note(0, 10, 70)), drums(Note(0, 10, 20), Note(0, 10, 100))),
        n_bars=1,
    )
    assert pattern.n_notes == 4
    assert pattern.pitch_range() == (40, 70)
    assert Pattern((drums(Note(0, 1, 36)),)).pitch_range() is None
    assert Pattern().pitch_range() is None


# --- immutability ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "attribute", "new"),
    [
        (Note(0, 1, 60), "pitch", 61),
        (Track("t"), "name", "u"),
        (Track("t"), "notes", ()),
        (TimeSignature(), "numerator", 3),
        (Pattern(), "n_bars", 2),
        (Pattern(), "tracks", ()),
    ],
)
def test_values_are_frozen(value: object, attribute: str, new: object) -> None:
    before = getattr(value, attribute)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, attribute, new)
    assert getattr(value, attribute) == before


def test_notes_order_by_start_first() -> None:
    assert Note(0, 100, 90) < Note(1, 1, 10)


# --- resolve_overlaps ------------------------------------------------------------------------


def test_resolve_same_start_keeps_the_longer_note() -> None:
    notes, n_changed = resolve_overlaps([Note(0, 100, 60, 120), Note(0, 200, 60, 10)])
    assert notes == (Note(0, 200, 60, 10),)
    assert n_changed == 1


def test_resolve_same_start_and_length_keeps_the_louder_note() -> None:
    notes, n_changed = resolve_overlaps([Note(0, 100, 60, 20), Note(0, 100, 60, 90)])
    assert notes == (Note(0, 100, 60, 90),)
    assert n_changed == 1


def test_resolve_identical_duplicates_keep_one() -> None:
    notes, n_changed = resolve_overlaps([Note(5, 10, 60)] * 3)
    assert notes == (Note(5, 10, 60),)
    assert n_changed == 2


def test_resolve_cuts_the_earlier_note_at_the_later_start() -> None:
    notes, n_changed = resolve_overlaps([Note(50, 100, 60, 70), Note(0, 100, 60, 80)])
    assert notes == (Note(0, 50, 60, 80), Note(50, 100, 60, 70))
    assert n_changed == 1


def test_resolve_leaves_touching_notes_and_other_pitches_alone() -> None:
    given_notes = [Note(100, 100, 60), Note(0, 100, 60), Note(0, 500, 61), Note(10, 10, 62)]
    notes, n_changed = resolve_overlaps(given_notes)
    assert notes == (Note(0, 100, 60), Note(0, 500, 61), Note(10, 10, 62), Note(100, 100, 60))
    assert n_changed == 0


def test_resolve_chain_of_overlaps() -> None:
    notes, n_changed = resolve_overlaps([Note(0, 300, 60), Note(100, 50, 60), Note(120, 10, 60)])
    assert notes == (Note(0, 100, 60), Note(100, 20, 60), Note(120, 10, 60))
    assert n_changed == 2


def test_resolve_note_inside_a_long_note_cuts_the_long_one() -> None:
    notes, n_changed = resolve_overlaps([Note(0, 1000, 60), Note(100, 10, 60)])
    assert notes == (Note(0, 100, 60), Note(100, 10, 60))
    assert n_changed == 1


def test_resolve_empty() -> None:
    assert resolve_overlaps([]) == ((), 0)


@settings(max_examples=200, deadline=None)
@given(raw_notes(length=200, max_size=25))
def test_resolve_overlaps_properties(notes: list[Note]) -> None:
    resolved, n_changed = resolve_overlaps(notes)
    Track("t", notes=resolved)  # no same-pitch overlaps left
    assert [(n.start, n.pitch) for n in resolved] == sorted((n.start, n.pitch) for n in resolved)
    # Each (pitch, start) survives once, as the longest (then loudest) note given there.
    best: dict[tuple[int, int], Note] = {}
    for note in notes:
        key = (note.pitch, note.start)
        if key not in best or (note.duration, note.velocity) > (
            best[key].duration,
            best[key].velocity,
        ):
            best[key] = note
    assert {(n.pitch, n.start) for n in resolved} == set(best)
    n_shortened = 0
    for note in resolved:
        kept = best[(note.pitch, note.start)]
        assert note.velocity == kept.velocity
        assert 1 <= note.duration <= kept.duration
        if note.duration < kept.duration:
            n_shortened += 1
            # Cut exactly where the next note of its pitch starts.
            later = [n.start for n in resolved if n.pitch == note.pitch and n.start > note.start]
            assert note.end == min(later)
    assert n_changed == (len(notes) - len(resolved)) + n_shortened
    assert (n_changed == 0) == (resolved == tuple(sorted(notes, key=lambda n: (n.start, n.pitch))))


# --- notes_between / notes_in_bars -----------------------------------------------------------


def make_two_bar_pattern() -> Pattern:
    melody = piano(
        Note(0, 1000, 60),  # rings into bar 1
        Note(960, 960, 62),
        Note(BAR - 1, 1, 64),
        Note(BAR, 480, 65),
        Note(2 * BAR - 1, 1, 67),
        name="melody",
    )
    return Pattern((melody, drums(Note(0, 10, 36), Note(BAR, 10, 38))), n_bars=2)


def test_notes_between_is_half_open_on_onsets() -> None:
    track = make_two_bar_pattern().tracks[0]
    assert track.notes_between(0, BAR) == (
        Note(0, 1000, 60),
        Note(960, 960, 62),
        Note(BAR - 1, 1, 64),
    )
    assert track.notes_between(BAR, 2 * BAR) == (Note(BAR, 480, 65), Note(2 * BAR - 1, 1, 67))
    assert track.notes_between(961, BAR - 1) == ()
    assert track.notes_between(BAR - 1, BAR) == (Note(BAR - 1, 1, 64),)


def test_notes_in_bars() -> None:
    pattern = make_two_bar_pattern()
    assert pattern.notes_in_bars(0, 1) == (Note(BAR, 480, 65), Note(2 * BAR - 1, 1, 67))
    assert len(pattern.notes_in_bars(0, 0, 2)) == 5
    assert pattern.notes_in_bars(1, 1) == (Note(BAR, 10, 38),)


@pytest.mark.parametrize(
    ("args", "field_name"),
    [
        ((0, 2), "first_bar"),
        ((0, -1), "first_bar"),
        ((0, 1, 2), "n_bars"),
        ((0, 0, 0), "n_bars"),
        ((2, 0), "Pattern.track"),
        ((-1, 0), "Pattern.track"),
        ((True, 0), "Pattern.track"),
    ],
)
def test_notes_in_bars_rejects_bad_ranges(args: tuple[Any, ...], field_name: str) -> None:
    with raises_naming(field_name):
        make_two_bar_pattern().notes_in_bars(*args)


def test_notes_in_bars_on_a_pattern_without_tracks() -> None:
    with raises_naming("Pattern.track"):
        Pattern().notes_in_bars(0, 0)


# --- replace_bars ----------------------------------------------------------------------------


def test_replace_bars_puts_exactly_the_new_notes_in_the_range() -> None:
    pattern = Pattern(
        (
            piano(
                Note(0, 480, 60),
                Note(BAR - 240, 480, 62),  # rings from bar 0 into bar 1
                Note(BAR, 960, 64),
                Note(BAR + 960, 1000, 65),  # starts in bar 1, rings into bar 2
                Note(2 * BAR, 480, 67),
                Note(3 * BAR, 480, 69),
            ),
            drums(Note(BAR, 10, 36)),
        ),
        n_bars=4,
    )
    new = [Note(2 * BAR + 480, 480, 72), Note(BAR, 1, 71)]
    result = pattern.replace_bars(0, 1, 2, new)
    assert result.notes_in_bars(0, 1, 2) == (Note(BAR, 1, 71), Note(2 * BAR + 480, 480, 72))
    assert result.tracks[0].notes == (
        Note(0, 480, 60),
        Note(BAR - 240, 240, 62),  # cut at the range's start
        Note(BAR, 1, 71),
        Note(2 * BAR + 480, 480, 72),
        Note(3 * BAR, 480, 69),
    )
    assert result.tracks[1] == pattern.tracks[1]
    assert result.notes_in_bars(0, 0) == (Note(0, 480, 60), Note(BAR - 240, 240, 62))
    assert result.notes_in_bars(0, 3) == pattern.notes_in_bars(0, 3)
    assert dataclasses.replace(result, tracks=()) == dataclasses.replace(pattern, tracks=())
    # The original is untouched.
    assert pattern.tracks[0].notes[1] == Note(BAR - 240, 480, 62)


def test_replace_bars_with_no_notes_clears_the_range() -> None:
    pattern = Pattern((piano(Note(0, 3 * BAR, 60), Note(BAR, 10, 61)),), n_bars=3)
    result = pattern.replace_bars(0, 1, 1, [])
    # A note spanning the whole range is cut at its start.
    assert result.tracks[0].notes == (Note(0, BAR, 60),)


def test_replace_bars_new_note_may_fill_the_range_exactly() -> None:
    pattern = Pattern((piano(),), n_bars=2)
    result = pattern.replace_bars(0, 1, 1, [Note(BAR, BAR, 60)])
    assert result.tracks[0].notes == (Note(BAR, BAR, 60),)


@pytest.mark.parametrize(
    "note", [Note(BAR - 1, 2, 60), Note(BAR, BAR + 1, 60), Note(0, 1, 60), Note(2 * BAR, 1, 60)]
)
def test_replace_bars_rejects_notes_outside_the_range(note: Note) -> None:
    pattern = Pattern((piano(),), n_bars=3)
    with raises_naming("notes"):
        pattern.replace_bars(0, 1, 1, [note])


def test_replace_bars_rejects_overlapping_new_notes() -> None:
    pattern = Pattern((piano(),), n_bars=2)
    with raises_naming("Track.notes"):
        pattern.replace_bars(0, 0, 1, [Note(0, 100, 60), Note(50, 100, 60)])


@pytest.mark.parametrize(
    ("args", "field_name"),
    [((1, 0, 1), "Pattern.track"), ((0, 2, 1), "first_bar"), ((0, 1, 2), "n_bars")],
)
def test_replace_bars_rejects_bad_indices(args: tuple[int, int, int], field_name: str) -> None:
    with raises_naming(field_name):
        Pattern((piano(),), n_bars=2).replace_bars(*args, [])


# --- with_track ------------------------------------------------------------------------------


def test_with_track() -> None:
    pattern = Pattern((piano(), drums()), n_bars=1)
    result = pattern.with_track(1, drums(Note(0, 1, 36), name="kit"))
    assert result.tracks == (piano(), drums(Note(0, 1, 36), name="kit"))
    with raises_naming("Pattern.track"):
        pattern.with_track(2, piano())
    with raises_naming("Pattern.n_bars"):
        pattern.with_track(0, piano(Note(BAR, 1, 60)))


# --- transpose -------------------------------------------------------------------------------


def test_track_transpose_moves_every_pitch_only() -> None:
    track = Track("lead", 80, False, 3, (Note(0, 10, 60, 90), Note(5, 20, 64, 30)))
    moved = track.transpose(-12)
    assert moved == Track("lead", 80, False, 3, (Note(0, 10, 48, 90), Note(5, 20, 52, 30)))


def test_transpose_leaves_drums_unchanged() -> None:
    track = drums(Note(0, 10, 36), Note(0, 10, 127))
    assert track.transpose(5) is track
    assert track.transpose(-36) == track


@pytest.mark.parametrize(("pitch", "semitones"), [(120, 8), (5, -6), (0, -1), (127, 1)])
def test_transpose_out_of_range_raises_naming_pitch(pitch: int, semitones: int) -> None:
    track = piano(Note(0, 10, 60), Note(10, 10, pitch))
    with raises_naming("Note.pitch"):
        track.transpose(semitones)


@pytest.mark.parametrize("semitones", [128, -128, True, 1.0])
def test_transpose_rejects_bad_semitones(semitones: Any) -> None:
    with raises_naming("transpose.semitones"):
        piano(Note(0, 10, 60)).transpose(semitones)


def test_transpose_to_the_edges() -> None:
    assert piano(Note(0, 1, 0)).transpose(127).notes == (Note(0, 1, 127),)
    assert piano(Note(0, 1, 127)).transpose(-127).notes == (Note(0, 1, 0),)


def test_pattern_transpose_all_tracks_skips_drums() -> None:
    pattern = Pattern(
        (piano(Note(0, 10, 60)), drums(Note(0, 10, 36)), piano(Note(0, 10, 40), channel=1)),
        n_bars=1,
    )
    result = pattern.transpose(2)
    assert [n.pitch for t in result.tracks for n in t.notes] == [62, 36, 42]


def test_pattern_transpose_a_subset_of_tracks() -> None:
    pattern = Pattern(
        (piano(Note(0, 10, 60)), piano(Note(0, 10, 50), channel=1), piano(Note(0, 10, 40))),
        n_bars=1,
    )
    result = pattern.transpose(-3, tracks=[2, 0])
    assert [t.notes[0].pitch for t in result.tracks] == [57, 50, 37]
    assert pattern.transpose(5, tracks=[]) == pattern


@pytest.mark.parametrize("index", [3, 10, -1, True])
def test_pattern_transpose_rejects_a_bad_track_index(index: Any) -> None:
    pattern = Pattern((piano(Note(0, 10, 60)), piano(), piano(Note(0, 10, 40))), n_bars=1)
    with raises_naming("Pattern.track"):
        pattern.transpose(1, tracks=[0, index])


def test_pattern_transpose_out_of_range_raises_naming_pitch() -> None:
    pattern = Pattern((piano(Note(0, 10, 60)), piano(Note(0, 10, 125), channel=1)), n_bars=1)
    with raises_naming("Note.pitch"):
        pattern.transpose(3)
    assert pattern.transpose(3, tracks=[0]).tracks[0].notes[0].pitch == 63


# --- quantize --------------------------------------------------------------------------------


def quantized_notes(
    notes: Iterable[Note], grid: int, n_bars: int = 2, **kw: bool
) -> tuple[Note, ...]:
    return Pattern((piano(*notes),), n_bars=n_bars).quantize(grid, **kw).tracks[0].notes


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (Note(50, 120, 60), Note(0, 120, 60)),  # 50 -> 0, 170 -> 120
        (Note(70, 120, 60), Note(120, 120, 60)),  # 70 -> 120, 190 -> 240
        (Note(60, 120, 60), Note(120, 120, 60)),  # halves round up: 60 -> 120, 180 -> 240
        (Note(59, 121, 60), Note(0, 240, 60)),  # 59 -> 0, 180 -> 240
        (Note(120, 240, 60, 7), Note(120, 240, 60, 7)),  # on the grid: unchanged
        (Note(10, 5, 60), Note(0, 120, 60)),  # never shorter than one step
        (Note(200, 30, 60), Note(240, 120, 60)),  # 230 rounds to 240: pushed to one step
    ],
)
def test_quantize_snaps_to_the_nearest_grid_line(note: Note, expected: Note) -> None:
    assert quantized_notes([note], 120) == (expected,)


def test_quantize_clamps_at_the_pattern_end() -> None:
    assert quantized_notes([Note(2 * BAR - 10, 10, 60)], 120) == (Note(2 * BAR - 120, 120, 60),)
    assert quantized_notes([Note(2 * BAR - 61, 61, 60)], 480) == (Note(2 * BAR - 480, 480, 60),)


def test_quantize_without_durations_keeps_lengths_but_clamps() -> None:
    notes = [Note(70, 33, 60), Note(2 * BAR - 50, 40, 61)]
    assert quantized_notes(notes, 120, durations=False) == (
        Note(120, 33, 60),
        Note(2 * BAR - 120, 40, 61),
    )
    assert quantized_notes([Note(2 * BAR - 300, 290, 62)], 480, durations=False) == (
        Note(2 * BAR - 480, 290, 62),
    )
    # Moved right by the snap, then cut at the pattern's end.
    assert quantized_notes([Note(2 * BAR - 640, 600, 63)], 480, durations=False) == (
        Note(2 * BAR - 480, 480, 63),
    )
    assert quantized_notes([Note(2 * BAR - 239, 200, 64)], 480, durations=False) == (
        Note(2 * BAR - 480, 200, 64),
    )
    assert quantized_notes([Note(BAR - 100, 100, 65)], BAR, durations=False) == (
        Note(BAR, 100, 65),
    )


def test_quantize_resolves_collisions() -> None:
    notes = [Note(10, 90, 60, 50), Note(100, 400, 60, 90), Note(200, 10, 61)]
    # Grid 120: 10 -> 0 and 100 -> 120; the first ends 100 -> 120, the second 500 -> 480.
    assert quantized_notes(notes, 120) == (
        Note(0, 120, 60, 50),
        Note(120, 360, 60, 90),
        Note(240, 120, 61),
    )
    # Grid 480: both start on 0 and last one step: the louder one stays.
    assert quantized_notes(notes[:2], 480) == (Note(0, 480, 60, 90),)
    # Grid 480: both start on 0, the second lasts two steps: the longer one stays.
    assert quantized_notes([Note(10, 90, 60, 99), Note(100, 700, 60, 9)], 480) == (
        Note(0, 960, 60, 9),
    )
    # Without durations, a note ringing over a later one's snapped start is cut there.
    assert quantized_notes([Note(0, 500, 60), Note(500, 10, 60)], 480, durations=False) == (
        Note(0, 480, 60),
        Note(480, 10, 60),
    )


@pytest.mark.parametrize("grid", [7, 1000, 0, -120, BAR + 1, True, 120.0])
def test_quantize_rejects_grids_that_do_not_divide_a_bar(grid: Any) -> None:
    with raises_naming("quantize.grid_ticks"):
        Pattern((piano(),), n_bars=1).quantize(grid)


def test_quantize_grid_must_divide_the_bar_not_the_beat() -> None:
    pattern = Pattern((piano(Note(100, 100, 60)),), n_bars=1, time_signature=TimeSignature(3, 4))
    assert pattern.quantize(720).tracks[0].notes == (Note(0, 720, 60),)  # 720 divides 1440
    with raises_naming("quantize.grid_ticks"):
        pattern.quantize(960)  # divides a 4/4 bar, not a 3/4 one


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_quantize_properties(data: st.DataObject) -> None:
    pattern = data.draw(patterns(max_tracks=3))
    grid = data.draw(st.sampled_from(divisors(pattern.bar_ticks)))
    result = pattern.quantize(grid)
    check_invariants(result)
    for before, after in zip(pattern.tracks, result.tracks, strict=True):
        assert dataclasses.replace(after, notes=()) == dataclasses.replace(before, notes=())
        assert len(after.notes) <= len(before.notes)
        for note in after.notes:
            assert note.start % grid == 0
            assert note.end % grid == 0
            assert note.duration >= grid
    # Quantizing twice changes nothing more.
    assert result.quantize(grid) == result


# --- merge_tracks ----------------------------------------------------------------------------


def four_tracks() -> Pattern:
    return Pattern(
        (
            Track("a", 0, False, 0, (Note(0, 100, 60),)),
            Track("b", 33, False, 1, (Note(0, 200, 60), Note(300, 10, 40))),
            Track("c", 0, True, DRUM_CHANNEL, (Note(0, 10, 36),)),
            Track("d", 48, False, 2, (Note(50, 100, 60, 20), Note(0, 20, 72))),
        ),
        n_bars=1,
    )


def test_merge_tracks_places_the_result_at_the_first_named_track() -> None:
    result = four_tracks().merge_tracks([1, 3])
    assert [t.name for t in result.tracks] == ["a", "b", "c"]
    merged = result.tracks[1]
    assert (merged.program, merged.channel, merged.is_drum) == (33, 1, False)
    # Note(0, 200, 60) is cut where Note(50, 100, 60) of track d starts.
    assert merged.notes == (
        Note(0, 50, 60),
        Note(0, 20, 72),
        Note(50, 100, 60, 20),
        Note(300, 10, 40),
    )


def test_merge_tracks_order_of_indices_chooses_the_first() -> None:
    result = four_tracks().merge_tracks([3, 0], name="keys")
    assert [t.name for t in result.tracks] == ["b", "c", "keys"]
    merged = result.tracks[2]
    assert (merged.program, merged.channel) == (48, 2)
    # Note(0, 100, 60) of track a is cut where Note(50, 100, 60) of track d starts.
    assert merged.notes == (Note(0, 50, 60), Note(0, 20, 72), Note(50, 100, 60, 20))


def test_merge_a_single_track_renames_it() -> None:
    pattern = four_tracks()
    result = pattern.merge_tracks([2], name="kit")
    assert result.tracks[2] == dataclasses.replace(pattern.tracks[2], name="kit")
    assert result.tracks[:2] == pattern.tracks[:2]
    assert pattern.merge_tracks([2]) == pattern


def test_merge_drum_tracks() -> None:
    pattern = Pattern((drums(Note(0, 10, 36)), piano(), drums(Note(0, 5, 36), Note(5, 5, 38))))
    result = pattern.merge_tracks([2, 0])
    assert result.tracks[0] == piano()
    assert result.tracks[1].is_drum
    assert result.tracks[1].notes == (Note(0, 10, 36), Note(5, 5, 38))


@pytest.mark.parametrize(
    ("indices", "field_name"),
    [
        ([0, 2], "merge_tracks.indices"),
        ([2, 1], "merge_tracks.indices"),
        ([1, 1], "merge_tracks.indices"),
        ([0, 1, 0], "merge_tracks.indices"),
        ([], "merge_tracks.indices"),
        ([0, 4], "Pattern.track"),
        ([-1], "Pattern.track"),
    ],
)
def test_merge_tracks_rejects_bad_indices(indices: list[int], field_name: str) -> None:
    with raises_naming(field_name):
        four_tracks().merge_tracks(indices)


# --- random sequences of edits keep every invariant -----------------------------------------


@settings(max_examples=100, deadline=None)
@given(patterns())
def test_generated_patterns_are_valid_and_rebuildable(pattern: Pattern) -> None:
    check_invariants(pattern)
    rebuilt = Pattern(
        tuple(
            Track(t.name, t.program, t.is_drum, t.channel, list(t.notes)) for t in pattern.tracks
        ),
        pattern.n_bars,
        pattern.ticks_per_quarter,
        TimeSignature(pattern.time_signature.numerator, pattern.time_signature.denominator),
        pattern.tempo_us,
    )
    assert rebuilt == pattern
    assert hash(rebuilt) == hash(pattern)


class PatternEdits(RuleBasedStateMachine):
    """Random sequences of valid edits: each must succeed and leave a valid pattern."""

    pattern: Pattern

    @initialize(pattern=patterns(max_tracks=3))
    def start(self, pattern: Pattern) -> None:
        self.pattern = pattern

    @invariant()
    def valid(self) -> None:
        check_invariants(self.pattern)

    @rule(data=st.data())
    def add_track(self, data: st.DataObject) -> None:
        track = data.draw(tracks(self.pattern.length_ticks))
        before = self.pattern
        self.pattern = dataclasses.replace(before, tracks=(*before.tracks, track))
        assert self.pattern.tracks[-1] == track
        assert self.pattern.tracks[:-1] == before.tracks

    @rule(data=st.data())
    def add_notes(self, data: st.DataObject) -> None:
        if not self.pattern.tracks:
            return
        index = data.draw(st.integers(0, len(self.pattern.tracks) - 1))
        extra = data.draw(raw_notes(self.pattern.length_ticks, max_size=6))
        track = self.pattern.tracks[index]
        notes, _ = resolve_overlaps((*track.notes, *extra))
        self.pattern = self.pattern.with_track(index, track.with_notes(notes))
        onsets = {(n.pitch, n.start) for n in self.pattern.tracks[index].notes}
        assert {(n.pitch, n.start) for n in extra} <= onsets

    @rule(data=st.data())
    def transpose(self, data: st.DataObject) -> None:
        n = len(self.pattern.tracks)
        chosen = data.draw(st.lists(st.integers(0, n - 1), unique=True)) if n else []
        pitches = [
            note.pitch
            for i in chosen
            if not self.pattern.tracks[i].is_drum
            for note in self.pattern.tracks[i].notes
        ]
        low = -min(pitches, default=127)
        high = 127 - max(pitches, default=0)
        semitones = data.draw(st.integers(max(low, -127), min(high, 127)))
        before = self.pattern
        self.pattern = before.transpose(semitones, tracks=chosen)
        for i, (old, new) in enumerate(zip(before.tracks, self.pattern.tracks, strict=True)):
            shift = semitones if i in chosen and not old.is_drum else 0
            assert [n.pitch for n in new.notes] == [n.pitch + shift for n in old.notes]

    @rule(data=st.data())
    def replace_bars(self, data: st.DataObject) -> None:
        if not self.pattern.tracks:
            return
        index = data.draw(st.integers(0, len(self.pattern.tracks) - 1))
        first_bar = data.draw(st.integers(0, self.pattern.n_bars - 1))
        n_bars = data.draw(st.integers(1, self.pattern.n_bars - first_bar))
        bar = self.pattern.bar_ticks
        start, end = first_bar * bar, (first_bar + n_bars) * bar
        shifted = data.draw(raw_notes(end - start, max_size=6))
        new, _ = resolve_overlaps(dataclasses.replace(n, start=n.start + start) for n in shifted)
        before = self.pattern
        self.pattern = before.replace_bars(index, first_bar, n_bars, new)
        assert self.pattern.notes_in_bars(index, first_bar, n_bars) == new
        old_track, new_track = before.tracks[index], self.pattern.tracks[index]
        assert new_track.notes_between(end, before.length_ticks) == old_track.notes_between(
            end, before.length_ticks
        )
        for old in old_track.notes_between(0, start):
            expected = (
                old if old.end <= start else dataclasses.replace(old, duration=start - old.start)
            )
            assert expected in new_track.notes

    @rule(data=st.data())
    def quantize(self, data: st.DataObject) -> None:
        grid = data.draw(st.sampled_from(divisors(self.pattern.bar_ticks)))
        durations = data.draw(st.booleans())
        self.pattern = self.pattern.quantize(grid, durations=durations)
        for track in self.pattern.tracks:
            assert all(n.start % grid == 0 for n in track.notes)

    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        if not self.pattern.tracks:
            return
        drum = data.draw(st.sampled_from([t.is_drum for t in self.pattern.tracks]))
        same = [i for i, t in enumerate(self.pattern.tracks) if t.is_drum == drum]
        indices = data.draw(st.permutations(same))
        indices = indices[: data.draw(st.integers(1, len(indices)))]
        before = self.pattern
        self.pattern = before.merge_tracks(indices)
        assert len(self.pattern.tracks) == len(before.tracks) - len(indices) + 1
        first = indices[0]
        merged = self.pattern.tracks[first - sum(1 for i in indices[1:] if i < first)]
        assert dataclasses.replace(merged, notes=()) == dataclasses.replace(
            before.tracks[first], notes=()
        )
        onsets = {(n.pitch, n.start) for i in indices for n in before.tracks[i].notes}
        assert {(n.pitch, n.start) for n in merged.notes} == onsets
        others = [t for i, t in enumerate(before.tracks) if i not in indices]
        assert [t for t in self.pattern.tracks if t is not merged] == others


PatternEdits.TestCase.settings = settings(max_examples=100, stateful_step_count=15, deadline=None)
TestPatternEdits = PatternEdits.TestCase


def test_end_tick_is_the_latest_note_end_not_the_last_onset() -> None:
    track = Track("Pad", notes=[Note(0, 1900, 48), Note(960, 10, 60)])
    assert track.end_tick == 1900
    assert Track("Empty").end_tick == 0
    assert dataclasses.replace(track, notes=(Note(5, 10, 60),)).end_tick == 15
    # It is derived: two tracks with equal fields are equal whatever built them.
    assert track == Track("Pad", notes=(Note(960, 10, 60), Note(0, 1900, 48)))


def test_default_channels_keep_channel_10_for_drums() -> None:
    assert default_channels([True, False, False, True]) == (9, 0, 1, 9)
    assert default_channels([False] * 10) == (0, 1, 2, 3, 4, 5, 6, 7, 8, 10)
    assert default_channels([False] * 16)[-1] == 0  # the sixteenth pitched track starts over
