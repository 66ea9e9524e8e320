# SPDX-License-Identifier: MIT
"""Note edits as pure functions: a pattern and a selection in, a new pattern (and selection) out.

A note is named by its track and its value (:data:`NoteRef`): notes are frozen values and a
track never holds two equal notes, so the pair is unique and survives any edit that leaves the
note alone. Every function here keeps a pattern valid: notes stay inside its bars and pitch
range, and where an edit makes two notes of one pitch overlap on a track, the earlier is cut
where the later starts (the note just placed wins). The piano roll binds mouse and keys to
these; the undo history (``engine.history``) records their results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from engine.music import Note, Pattern, Track

#: (track index, note)
NoteRef = tuple[int, Note]
Selection = frozenset[NoteRef]

EMPTY: Selection = frozenset()


def snap(tick: float, grid_ticks: int) -> int:
    """``tick`` rounded to the nearest grid line (grid 1 or less: to the nearest tick)."""
    if grid_ticks <= 1:
        return round(tick)
    return round(tick / grid_ticks) * grid_ticks


def snap_down(tick: float, grid_ticks: int) -> int:
    """The grid line at or before ``tick``."""
    if grid_ticks <= 1:
        return math.floor(tick)
    return math.floor(tick / grid_ticks) * grid_ticks


def _by_track(refs: Iterable[NoteRef]) -> dict[int, set[Note]]:
    out: dict[int, set[Note]] = {}
    for track, note in refs:
        out.setdefault(track, set()).add(note)
    return out


def _place(kept: Iterable[Note], placed: Iterable[Note]) -> list[Note]:
    """``kept`` and ``placed`` notes of one track with no two of a pitch overlapping: a kept note
    is cut where a placed one starts, and dropped where a placed one covers its start."""
    placed = sorted(placed, key=lambda n: (n.start, n.pitch))
    by_pitch: dict[int, list[Note]] = {}
    for note in placed:
        by_pitch.setdefault(note.pitch, []).append(note)
    out: list[Note] = []
    for note in kept:
        rivals = by_pitch.get(note.pitch)
        if not rivals:
            out.append(note)
            continue
        if any(r.start <= note.start < r.end for r in rivals):
            continue  # covered at its start: the placed note replaces it
        cut = min((r.start for r in rivals if note.start < r.start < note.end), default=None)
        out.append(note if cut is None else replace(note, duration=cut - note.start))
    # placed notes among themselves: a later one cuts an earlier one of its pitch
    for pitch_notes in by_pitch.values():
        for i, note in enumerate(pitch_notes):
            nxt = pitch_notes[i + 1].start if i + 1 < len(pitch_notes) else None
            if nxt is not None and nxt < note.end:
                if nxt == note.start:
                    continue  # two placed notes on one tick: keep the later in order
                note = replace(note, duration=nxt - note.start)
            out.append(note)
    return out


def _with_tracks(pattern: Pattern, changed: dict[int, list[Note]]) -> Pattern:
    tracks = list(pattern.tracks)
    for index, notes in changed.items():
        tracks[index] = tracks[index].with_notes(notes)
    return Pattern(
        tracks,
        pattern.n_bars,
        pattern.ticks_per_quarter,
        pattern.time_signature,
        pattern.tempo_us,
    )


def _check_track(pattern: Pattern, track: int) -> None:
    if not 0 <= track < len(pattern.tracks):
        raise ValueError(f"there is no track {track} (the pattern has {len(pattern.tracks)})")


def _fit(note: Note, length: int) -> Note | None:
    """``note`` cut to end by ``length``; None when nothing of it is left."""
    if note.start >= length:
        return None
    if note.end > length:
        return replace(note, duration=length - note.start)
    return note


def add_note(pattern: Pattern, track: int, note: Note) -> tuple[Pattern, Selection]:
    """Add ``note`` to ``track`` (cut to the pattern's end); returns the pattern and the new
    note as the selection."""
    _check_track(pattern, track)
    fitted = _fit(note, pattern.length_ticks)
    if fitted is None:
        return pattern, EMPTY
    notes = _place(pattern.tracks[track].notes, [fitted])
    return _with_tracks(pattern, {track: notes}), frozenset({(track, fitted)})


def delete_notes(pattern: Pattern, refs: Iterable[NoteRef]) -> Pattern:
    """``pattern`` without the notes of ``refs`` (refs to notes that are not there are ignored)."""
    changed = {}
    for track, gone in _by_track(refs).items():
        _check_track(pattern, track)
        changed[track] = [n for n in pattern.tracks[track].notes if n not in gone]
    return _with_tracks(pattern, changed) if changed else pattern


def existing(pattern: Pattern, refs: Iterable[NoteRef]) -> Selection:
    """The refs that name notes of ``pattern``."""
    out: set[NoteRef] = set()
    for track, notes in _by_track(refs).items():
        if 0 <= track < len(pattern.tracks):
            have = set(pattern.tracks[track].notes)
            out.update((track, n) for n in notes if n in have)
    return frozenset(out)


def clamp_move(
    pattern: Pattern, refs: Iterable[NoteRef], delta_ticks: int, delta_pitch: int
) -> tuple[int, int]:
    """The move closest to ``(delta_ticks, delta_pitch)`` that keeps every note of ``refs``
    inside the pattern (ticks ``[0, length)``, pitches 0..127): the group keeps its shape."""
    notes = [n for _, n in refs]
    if not notes:
        return 0, 0
    first = min(n.start for n in notes)
    last_start = max(n.start for n in notes)
    low = min(n.pitch for n in notes)
    high = max(n.pitch for n in notes)
    dt = max(-first, min(delta_ticks, pattern.length_ticks - 1 - last_start))
    dp = max(-low, min(delta_pitch, 127 - high))
    return dt, dp


def move_notes(
    pattern: Pattern,
    refs: Iterable[NoteRef],
    delta_ticks: int,
    delta_pitch: int,
    *,
    copy: bool = False,
) -> tuple[Pattern, Selection]:
    """Move (or with ``copy`` duplicate) the notes of ``refs`` by whole ticks and semitones,
    clamped as :func:`clamp_move` says; notes that would end past the pattern are cut there.
    Returns the pattern and the moved (or new) notes as the selection."""
    refs = existing(pattern, refs)
    dt, dp = clamp_move(pattern, refs, delta_ticks, delta_pitch)
    if not refs or (dt == 0 and dp == 0 and not copy):
        return pattern, refs
    length = pattern.length_ticks
    changed: dict[int, list[Note]] = {}
    selection = set()
    for track, notes in _by_track(refs).items():
        moved = []
        for note in notes:
            new = _fit(replace(note, start=note.start + dt, pitch=note.pitch + dp), length)
            if new is not None:
                moved.append(new)
                selection.add((track, new))
        kept = [n for n in pattern.tracks[track].notes if copy or n not in notes]
        changed[track] = _place(kept, moved)
    result = _with_tracks(pattern, changed)
    return result, existing(result, selection)


def resize_notes(
    pattern: Pattern, refs: Iterable[NoteRef], delta_ticks: int, min_ticks: int = 1
) -> tuple[Pattern, Selection]:
    """Lengthen (or shorten) the notes of ``refs`` by ``delta_ticks``, each at least
    ``min_ticks`` long and ending by the pattern's end."""
    refs = existing(pattern, refs)
    if not refs or delta_ticks == 0:
        return pattern, refs
    length = pattern.length_ticks
    changed: dict[int, list[Note]] = {}
    selection = set()
    for track, notes in _by_track(refs).items():
        resized = []
        for note in notes:
            duration = max(min_ticks, note.duration + delta_ticks)
            duration = max(1, min(duration, length - note.start))
            new = replace(note, duration=duration)
            resized.append(new)
            selection.add((track, new))
        kept = [n for n in pattern.tracks[track].notes if n not in notes]
        changed[track] = _place(kept, resized)
    result = _with_tracks(pattern, changed)
    return result, existing(result, selection)


def set_velocity(
    pattern: Pattern, refs: Iterable[NoteRef], velocity: int | None = None, delta: int = 0
) -> tuple[Pattern, Selection]:
    """Give the notes of ``refs`` one ``velocity``, or change each by ``delta`` (1..127)."""
    refs = existing(pattern, refs)
    changed: dict[int, list[Note]] = {}
    selection = set()
    for track, notes in _by_track(refs).items():
        new_notes = []
        for note in pattern.tracks[track].notes:
            if note in notes:
                value = velocity if velocity is not None else note.velocity + delta
                note = replace(note, velocity=max(1, min(127, value)))
                selection.add((track, note))
            new_notes.append(note)
        changed[track] = new_notes
    result = _with_tracks(pattern, changed) if changed else pattern
    return result, frozenset(selection)


def notes_in_rect(
    pattern: Pattern,
    start_tick: float,
    end_tick: float,
    low_pitch: float,
    high_pitch: float,
    tracks: Iterable[int] | None = None,
) -> Selection:
    """Notes whose box (ticks ``[start, end)``, row ``[pitch, pitch + 1)``) meets the
    rectangle, on ``tracks`` (default all)."""
    t0, t1 = sorted((start_tick, end_tick))
    p0, p1 = sorted((low_pitch, high_pitch))
    wanted = range(len(pattern.tracks)) if tracks is None else tracks
    out = set()
    for index in wanted:
        for note in pattern.tracks[index].notes:
            if note.start >= t1:
                break
            if note.end > t0 and note.pitch + 1 > p0 and note.pitch < p1:
                out.add((index, note))
    return frozenset(out)


def note_at(
    pattern: Pattern, tick: float, pitch: float, tracks: Iterable[int] | None = None
) -> NoteRef | None:
    """The note under a point (the latest-starting one where several are), on ``tracks``."""
    row = math.floor(pitch)
    best: NoteRef | None = None
    wanted = range(len(pattern.tracks)) if tracks is None else tracks
    for index in wanted:
        for note in pattern.tracks[index].notes:
            if note.start > tick:
                break
            hit = note.pitch == row and note.start <= tick < note.end
            if hit and (best is None or note.start >= best[1].start):
                best = (index, note)
    return best


@dataclass(frozen=True, slots=True)
class Clipboard:
    """Copied notes, relative to the earliest one's start; ``tracks`` keeps where each came
    from. ``ticks_per_quarter`` rescales a paste into a pattern of another resolution."""

    notes: tuple[tuple[int, Note], ...]
    ticks_per_quarter: int

    @property
    def span_ticks(self) -> int:
        return max((n.end for _, n in self.notes), default=0)


def copy_notes(pattern: Pattern, refs: Iterable[NoteRef]) -> Clipboard:
    refs = sorted(existing(pattern, refs), key=lambda r: (r[1].start, r[0], r[1].pitch))
    if not refs:
        return Clipboard((), pattern.ticks_per_quarter)
    first = refs[0][1].start
    return Clipboard(
        tuple((t, replace(n, start=n.start - first)) for t, n in refs),
        pattern.ticks_per_quarter,
    )


def paste_notes(
    pattern: Pattern, clipboard: Clipboard, at_tick: int, track: int | None = None
) -> tuple[Pattern, Selection]:
    """Paste at ``at_tick``: onto ``track`` when given, else onto the tracks the notes came
    from (those past the last track go to the last). Returns the pasted notes as selection."""
    if not clipboard.notes or not pattern.tracks:
        return pattern, EMPTY
    scale = pattern.ticks_per_quarter / clipboard.ticks_per_quarter
    length = pattern.length_ticks
    placed: dict[int, list[Note]] = {}
    for source, note in clipboard.notes:
        target = track if track is not None else min(source, len(pattern.tracks) - 1)
        _check_track(pattern, target)
        start = at_tick + round(note.start * scale)
        new = _fit(
            replace(note, start=start, duration=max(1, round(note.duration * scale))), length
        )
        if new is not None and start >= 0:
            placed.setdefault(target, []).append(new)
    changed = {t: _place(pattern.tracks[t].notes, notes) for t, notes in placed.items()}
    result = _with_tracks(pattern, changed)
    selection = {(t, n) for t, notes in placed.items() for n in notes}
    return result, existing(result, selection)


def replace_track(pattern: Pattern, index: int, track: Track) -> Pattern:
    """``pattern`` with track ``index`` replaced (its notes cut to the pattern's end)."""
    _check_track(pattern, index)
    length = pattern.length_ticks
    notes = [f for n in track.notes if (f := _fit(n, length)) is not None]
    return pattern.with_track(index, track.with_notes(notes))
