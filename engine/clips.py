# SPDX-License-Identifier: MIT
"""Clips: a range of bars of a pattern (all tracks, or one), cut out to stand on its own.

A clip is what a user drags from Barforge into a DAW or a file manager: it starts at tick 0 and
lasts exactly the bars it was cut from. What the user saw in those bars is what the clip holds:

- a note that sounds past the range's end is cut at the end;
- a note that starts before the range but still sounds in it keeps the part inside the range,
  starting at the range's first tick (a DAW's "split at the range" does the same);
- tempo, time signature, resolution, and each kept track's name, program and channel are kept.

Bars are counted from 0 in the API, ``(first, end)`` half-open like a Python slice; the file
names shown to users count from 1 (bars ``(1, 3)`` are "bars 2-3").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from engine.music import Note, Pattern, Track

#: Every clip file name starts with this; :func:`desktop.drag_out.prune_drag_folder` removes
#: only files named so.
CLIP_FILE_PREFIX = "Barforge - "
#: Suffix of clip files.
CLIP_FILE_SUFFIX = ".mid"
#: Longest project name and track name kept in a clip's file name, in characters; longer ones
#: are shortened with "…", so a name stays far inside every file system's 255-byte limit and
#: the bar range at its end stays visible.
MAX_NAME_CHARS = 32

# Characters that some file system refuses in a name (Windows is the strictest): separators
# become a dash, the others are dropped.
_SEPARATORS = re.compile(r"[/\\:]")
_DROPPED = re.compile(r'[<>"|?*]')
_DASHES = re.compile(r"-(?:\s*-)+")
_SPACES = re.compile(r"\s+")


def _check_range(pattern: Pattern, bars: tuple[int, int] | None) -> tuple[int, int]:
    """``bars`` as ``(first, end)``, whole pattern for None; ValueError naming a bad range."""
    if bars is None:
        return 0, pattern.n_bars
    try:
        first, end = bars
    except (TypeError, ValueError):
        raise ValueError(f"bars must be a pair (first, end), got {bars!r}") from None
    for value in (first, end):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"bars must be a pair of integers, got {bars!r}")
    if end <= first:
        raise ValueError(f"bars {first}..{end} is an empty range: end must be above first")
    if first < 0 or end > pattern.n_bars:
        raise ValueError(
            f"bars {first}..{end} lie outside the pattern's bars 0..{pattern.n_bars} "
            "(first counted from 0, end excluded)"
        )
    return first, end


def _check_track(pattern: Pattern, track: int | None) -> None:
    if track is None:
        return
    if isinstance(track, bool) or not isinstance(track, int):
        raise ValueError(f"track must be an integer index or None, got {track!r}")
    if not 0 <= track < len(pattern.tracks):
        raise ValueError(
            f"track {track} does not exist: the pattern has {len(pattern.tracks)} track(s)"
        )


def _clip_notes(notes: tuple[Note, ...], start: int, end: int) -> list[Note]:
    """The parts of ``notes`` that sound in ``[start, end)`` ticks, moved to start at 0."""
    out = []
    for note in notes:
        if note.start >= end:
            break  # notes are sorted by onset
        if note.end <= start:
            continue
        onset = max(note.start, start)
        offset = min(note.end, end)
        out.append(replace(note, start=onset - start, duration=offset - onset))
    return out


def extract_clip(
    pattern: Pattern, bars: tuple[int, int] | None = None, track: int | None = None
) -> Pattern:
    """Bars ``[first, end)`` of every track, or of track ``track``, as a pattern of their own.

    Parameters
    ----------
    pattern : Pattern
    bars : (int, int) or None
        First bar and the bar after the last, counted from 0; None takes every bar.
    track : int or None
        Index of the one track to keep; None keeps them all (empty ones included).

    Returns
    -------
    Pattern
        ``end - first`` bars starting at tick 0; notes crossing either end of the range are cut
        to the part inside it (see the module's docstring). Tempo, meter, ticks per quarter and
        the kept tracks' names, programs and channels are the pattern's.

    Raises
    ------
    ValueError
        When the range is empty (``end <= first``) or leaves the pattern, or ``track`` is no
        track's index; the message names the range or the track.
    """
    first, end = _check_range(pattern, bars)
    _check_track(pattern, track)
    start_tick, end_tick = first * pattern.bar_ticks, end * pattern.bar_ticks
    chosen = pattern.tracks if track is None else (pattern.tracks[track],)
    tracks: list[Track] = [t.with_notes(_clip_notes(t.notes, start_tick, end_tick)) for t in chosen]
    return replace(pattern, tracks=tuple(tracks), n_bars=end - first)


def _safe(text: str) -> str:
    """``text`` with characters unsafe in a file name replaced and white space folded."""
    text = unicodedata.normalize("NFC", text)
    # control, format and separator characters (tabs, NUL, line breaks...) become spaces
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    text = _DROPPED.sub("", _SEPARATORS.sub("-", text))
    text = _SPACES.sub(" ", _DASHES.sub("-", text)).strip(" .-")
    if len(text) > MAX_NAME_CHARS:
        text = text[: MAX_NAME_CHARS - 1].rstrip(" .-") + "…"
    return text


def clip_file_name(
    pattern: Pattern,
    bars: tuple[int, int] | None,
    track: int | None,
    project_name: str | None,
) -> str:
    """A readable, safe file name for a clip: ``"Barforge - Untitled - Soprano - bars 2-3.mid"``.

    The project name (``"Untitled"`` when None or blank), then the track's name when one track
    is taken (``"Track N"`` when it has none), then the bars counted from 1 when a range is
    given (``"bar 3"`` for one bar). Characters that some file system refuses (path separators,
    ``:``) become ``-``, ``<>"|?*`` and control characters are dropped, so the name has no
    directory part; names
    longer than :data:`MAX_NAME_CHARS` characters are shortened with "…".

    Raises
    ------
    ValueError
        For the same bad ranges and tracks as :func:`extract_clip`.
    """
    first, end = _check_range(pattern, bars)
    _check_track(pattern, track)
    parts = [_safe(project_name or "") or "Untitled"]
    if track is not None:
        parts.append(_safe(pattern.tracks[track].name) or f"Track {track + 1}")
    if bars is not None:
        parts.append(f"bar {first + 1}" if end - first == 1 else f"bars {first + 1}-{end}")
    return CLIP_FILE_PREFIX + " - ".join(parts) + CLIP_FILE_SUFFIX
