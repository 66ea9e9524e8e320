# SPDX-License-Identifier: MIT
"""A folder of the user's MIDI files, as patterns with the model's tracks.

Files are found recursively: every ``*.mid`` and ``*.midi`` (any letter case) under the folder,
symbolic links to folders not followed, in sorted order of their path inside the folder. Each
is read with :func:`engine.midi.files.read_midi_file`; its tracks are assigned to the model's
tracks by a :class:`~engine.data.track_map.TrackMap` and the tracks of one target merged
(notes of one pitch that overlap are cut as in :func:`engine.music.resolve_overlaps`).

Only 4/4 files are used: a file whose time signature is another, or changes, is reported and
skipped (a file without a time signature is 4/4, as the MIDI standard says). Bars count from the
file's first tick; a MIDI file does not say where a pickup is.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from engine.data.phrases import PieceInfo, PieceSkipped
from engine.data.track_map import TrackMap
from engine.gm import program_name
from engine.midi.files import MidiFileError, read_midi_file
from engine.music import Note, Pattern, Track, resolve_overlaps

#: File name endings taken, compared in lower case.
MIDI_SUFFIXES = (".mid", ".midi")
#: Default pitch axis: MIDI 24..107, MuseGAN's 84 pitches (C1..B7).
LOWEST_PITCH = 24
N_PITCHES = 84
#: Longer files are skipped: the whole piece is encoded at once (about 60 MB of rolls at
#: 2,048 bars of 48 steps, 5 tracks and 84 pitches).
MAX_PIECE_BARS = 2048


def find_midi_files(root: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """Every MIDI file under ``root``, as (path inside ``root`` with ``/``, full path), sorted."""
    base = Path(root)
    found = []
    for folder, subfolders, names in os.walk(base):
        subfolders.sort()
        for name in names:
            if name.lower().endswith(MIDI_SUFFIXES):
                path = Path(folder) / name
                found.append((path.relative_to(base).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return found


def load_midi_piece(path: str | os.PathLike[str], track_map: TrackMap) -> tuple[Pattern, PieceInfo]:
    """Read one MIDI file and map its tracks onto ``track_map``'s targets.

    Returns
    -------
    pattern : Pattern
        One track per target, in the map's order (empty where nothing was mapped), the file's
        ticks per quarter and first tempo.
    info : PieceInfo
        Counts ``unmapped_tracks``, ``empty_tracks``, ``merged_tracks`` (tracks merged into a
        target that already had one), ``overlaps_resolved`` and ``import_warnings``; the
        unmapped tracks in ``details``.

    Raises
    ------
    PieceSkipped
        For a file that cannot be read (the reader's reason), is not in 4/4 throughout, is
        too long, or has no notes on the mapped tracks.
    """
    try:
        midi = read_midi_file(path)
    except MidiFileError as e:
        raise PieceSkipped("unreadable", e.reason) from None
    source = midi.pattern
    meters = list(dict.fromkeys(f"{n}/{d}" for _, n, d in midi.time_signatures))
    if len(meters) > 1:
        raise PieceSkipped("meter changes", f"meters {', '.join(meters)} (only 4/4 is used)")
    if meters not in ([], ["4/4"]):  # no time signature means 4/4
        raise PieceSkipped("not 4/4", f"meter {meters[0]} (only 4/4 is used)")
    if source.n_bars > MAX_PIECE_BARS:
        raise PieceSkipped(
            "too long", f"{source.n_bars} bars, above the limit of {MAX_PIECE_BARS} per file"
        )

    counts: Counter[str] = Counter()
    details: list[str] = []
    gathered: list[list[Note]] = [[] for _ in track_map.targets]
    filled = [0] * len(track_map.targets)
    for track in source.tracks:
        if not track.notes:
            counts["empty_tracks"] += 1
            continue
        index = track_map.assign(track)
        if index is None:
            counts["unmapped_tracks"] += 1
            kind = (
                "drums"
                if track.is_drum
                else f"program {track.program} {program_name(track.program)}"
            )
            details.append(f"unmapped track {track.name!r} ({kind})")
            continue
        gathered[index].extend(track.notes)
        filled[index] += 1
    counts["merged_tracks"] = sum(max(n - 1, 0) for n in filled)
    counts["import_warnings"] = len(midi.warnings)
    if not any(gathered):
        raise PieceSkipped("no notes", "no notes on the tracks that the track map takes")

    tracks = []
    for target, channel, notes in zip(
        track_map.targets, track_map.channels(), gathered, strict=True
    ):
        resolved, n_changed = resolve_overlaps(notes)
        counts["overlaps_resolved"] += n_changed
        tracks.append(Track(target.name, target.program, target.is_drum, channel, resolved))
    pattern = Pattern(
        tracks=tuple(tracks),
        n_bars=source.n_bars,
        ticks_per_quarter=source.ticks_per_quarter,
        time_signature=source.time_signature,
        tempo_us=source.tempo_us,
    )
    info = PieceInfo(
        counts={k: v for k, v in counts.items() if v},
        tempo_us=source.tempo_us,
        details=tuple(details),
    )
    return pattern, info
