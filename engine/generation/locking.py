# SPDX-License-Identifier: MIT
"""Putting locked notes, bars and tracks back into a generated pattern (torch-free, so the app
can apply locks to an edited pattern on its own thread)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from engine.generation.settings import Locks
from engine.music import Note, Pattern, resolve_overlaps


def enforce_locks(generated: Pattern, source: Pattern, locks: Locks) -> Pattern:
    """``generated`` with the locked notes, bars and tracks of ``source`` put back exactly: a
    locked track is ``source``'s track; in a locked bar only ``source``'s notes sound (a
    generated note ringing into it is cut at the bar line, and a note of ``source`` that rings
    into it from an unlocked bar is kept whole, so the bar sounds as it did); a locked note is
    added, and a generated note of its pitch that overlaps it is cut before it (or dropped)."""
    bar = source.bar_ticks
    ranges = [(b * bar, (b + 1) * bar) for b in sorted(locks.bars) if b < source.n_bars]
    tracks = []
    for t, track in enumerate(generated.tracks):
        if t in locks.tracks and t < len(source.tracks):
            tracks.append(track.with_notes(source.tracks[t].notes))
            continue
        kept: list[Note] = []
        for note in track.notes:
            cut = _cut_before_ranges(note, ranges)
            if cut is not None:
                kept.append(cut)
        locked: list[Note] = []
        if t < len(source.tracks):
            locked.extend(
                n
                for n in source.tracks[t].notes
                if any(n.start < b1 and n.end > b0 for b0, b1 in ranges)
            )
        locked.extend(n for i, n in locks.notes if i == t)
        merged = _merge(kept, locked)
        tracks.append(track.with_notes(merged))
    return dataclasses.replace(generated, tracks=tuple(tracks))


def _cut_before_ranges(note: Note, ranges: list[tuple[int, int]]) -> Note | None:
    for start, end in ranges:
        if start <= note.start < end:
            return None
        if note.start < start < note.end:
            note = dataclasses.replace(note, duration=start - note.start)
    return note


def _merge(generated: list[Note], locked: list[Note]) -> list[Note]:
    """``locked`` notes as they are, and ``generated`` ones cut or dropped where they would
    overlap a locked note of the same pitch."""
    locked_notes, _ = resolve_overlaps(locked)
    by_pitch: dict[int, list[Note]] = {}
    for n in locked_notes:
        by_pitch.setdefault(n.pitch, []).append(n)
    out = list(locked_notes)
    for note in generated:
        current: Note | None = note
        for lock in by_pitch.get(note.pitch, ()):
            if current is None:
                break
            if lock.start < current.end and current.start < lock.end:
                if current.start < lock.start:
                    current = dataclasses.replace(current, duration=lock.start - current.start)
                else:
                    current = None
        if current is not None:
            out.append(current)
    return out


def merge_regenerated(
    current: Pattern,
    generated: Pattern,
    bars: Iterable[int] | None,
    tracks: Iterable[int] | None,
    locks: Locks,
) -> Pattern:
    """``current`` (the composer's edited pattern) with the chosen cells taken from
    ``generated``: the notes starting in ``bars`` (None: all) of ``tracks`` (None: all) come
    from ``generated`` (cut at their bar's end), everything else stays as the composer left it,
    and the locked notes, bars and tracks of ``locks`` stay exactly as in ``current``.

    Both patterns must have the same tracks and bar length; ``generated`` may be shorter.
    """
    if len(generated.tracks) != len(current.tracks) or generated.bar_ticks != current.bar_ticks:
        raise ValueError(
            "the regenerated pattern does not match the one being edited (tracks or bar length)"
        )
    chosen_bars = sorted(
        b for b in (range(current.n_bars) if bars is None else bars) if 0 <= b < current.n_bars
    )
    chosen_tracks = sorted(
        t
        for t in (range(len(current.tracks)) if tracks is None else tracks)
        if 0 <= t < len(current.tracks)
    )
    bar = current.bar_ticks
    result = current
    for t in chosen_tracks:
        for b in chosen_bars:
            start, end = b * bar, (b + 1) * bar
            new = [
                n if n.end <= end else dataclasses.replace(n, duration=end - n.start)
                for n in generated.tracks[t].notes
                if start <= n.start < end
            ]
            result = result.replace_bars(t, b, 1, new)
    return enforce_locks(result, current, locks)
