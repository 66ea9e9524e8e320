# SPDX-License-Identifier: MIT
"""Note edits: each keeps the pattern valid and returns what it touched as the selection."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine import editing as ed
from engine.music import Note, Pattern, Track

BAR = 1920


def _pattern(*tracks: list[Note], n_bars: int = 2) -> Pattern:
    return Pattern(
        [Track(f"t{i}", channel=i, notes=notes) for i, notes in enumerate(tracks)], n_bars=n_bars
    )


def test_snapping_to_the_grid() -> None:
    assert ed.snap(130, 120) == 120
    assert ed.snap(181, 120) == 240
    assert ed.snap_down(239, 120) == 120
    assert ed.snap(131.4, 0) == 131


def test_adding_a_note_over_one_of_its_pitch_cuts_or_replaces_it() -> None:
    long = Note(0, 960, 60)
    pattern = _pattern([long, Note(960, 480, 60)])
    added, selection = ed.add_note(pattern, 0, Note(480, 240, 60))
    assert added.tracks[0].notes == (Note(0, 480, 60), Note(480, 240, 60), Note(960, 480, 60))
    assert selection == {(0, Note(480, 240, 60))}
    covered, _ = ed.add_note(pattern, 0, Note(0, 100, 60))
    assert Note(0, 960, 60) not in covered.tracks[0].notes
    past_end, _ = ed.add_note(pattern, 0, Note(2 * BAR - 100, 480, 64))
    assert past_end.tracks[0].notes[-1] == Note(2 * BAR - 100, 100, 64)


def test_moving_keeps_the_group_inside_the_pattern_and_can_copy() -> None:
    a, b = Note(0, 240, 60), Note(480, 240, 67)
    pattern = _pattern([a, b])
    refs = {(0, a), (0, b)}
    moved, selection = ed.move_notes(pattern, refs, -500, 100)  # clamped: 0 ticks, +60 pitch
    assert moved.tracks[0].notes == (Note(0, 240, 120), Note(480, 240, 127))
    assert selection == {(0, Note(0, 240, 120)), (0, Note(480, 240, 127))}
    copied, new = ed.move_notes(pattern, refs, 960, 0, copy=True)
    assert len(copied.tracks[0].notes) == 4
    assert new == {(0, Note(960, 240, 60)), (0, Note(1440, 240, 67))}


def test_resize_velocity_delete_and_hit_tests() -> None:
    a = Note(0, 240, 60, 90)
    pattern = _pattern([a, Note(240, 240, 62)], [Note(0, 480, 40)])
    _, selection = ed.resize_notes(pattern, {(0, a)}, 10_000)
    assert next(iter(selection))[1].duration == 2 * BAR
    shorter, _ = ed.resize_notes(pattern, {(0, a)}, -1000, min_ticks=30)
    assert shorter.tracks[0].notes[0].duration == 30
    louder, _ = ed.set_velocity(pattern, {(0, a)}, delta=100)
    assert louder.tracks[0].notes[0].velocity == 127
    assert ed.note_at(pattern, 100, 60.5) == (0, a)
    assert ed.note_at(pattern, 100, 61.5) is None
    assert ed.notes_in_rect(pattern, 200, 300, 55, 65) == {(0, a), (0, Note(240, 240, 62))}
    assert ed.notes_in_rect(pattern, 0, 10, 0, 128, tracks=[1]) == {(1, Note(0, 480, 40))}
    assert ed.delete_notes(pattern, {(0, a)}).tracks[0].notes == (Note(240, 240, 62),)


def test_copy_and_paste_onto_the_source_tracks_or_one_track() -> None:
    a, b = Note(480, 240, 60), Note(960, 240, 40)
    pattern = _pattern([a], [b])
    clip = ed.copy_notes(pattern, {(0, a), (1, b)})
    assert clip.span_ticks == 720
    pasted, selection = ed.paste_notes(pattern, clip, BAR)
    assert Note(BAR, 240, 60) in pasted.tracks[0].notes
    assert Note(BAR + 480, 240, 40) in pasted.tracks[1].notes
    assert len(selection) == 2
    onto, _ = ed.paste_notes(pattern, clip, 0, track=1)
    assert {n.pitch for n in onto.tracks[1].notes} == {60, 40}


notes = st.builds(
    Note,
    start=st.integers(0, 2 * BAR - 1),
    duration=st.integers(1, 800),
    pitch=st.integers(55, 65),
    velocity=st.integers(1, 127),
)


@given(
    st.lists(notes, max_size=12),
    st.lists(notes, max_size=6),
    st.integers(-3000, 3000),
    st.integers(-70, 70),
    st.booleans(),
)
def test_any_edit_leaves_a_valid_pattern_and_a_selection_of_its_notes(
    base: list[Note], extra: list[Note], dt: int, dp: int, copy: bool
) -> None:
    pattern = Pattern([Track("t")], n_bars=2)
    for note in base:
        pattern, _ = ed.add_note(pattern, 0, note)
    refs = {(0, n) for n in pattern.tracks[0].notes[::2]}
    moved, selection = ed.move_notes(pattern, refs, dt, dp, copy=copy)
    assert ed.existing(moved, selection) == selection
    clip = ed.copy_notes(moved, selection)
    pasted, chosen = ed.paste_notes(moved, clip, max(0, dt))
    assert ed.existing(pasted, chosen) == chosen
    for note in extra:
        pasted, _ = ed.add_note(pasted, 0, note)
    resized, chosen = ed.resize_notes(pasted, ed.existing(pasted, selection), dt // 3)
    assert ed.existing(resized, chosen) == chosen
    assert all(n.end <= resized.length_ticks for n in resized.tracks[0].notes)
