# SPDX-License-Identifier: MIT
"""Bach's chorales from music21's bundled corpus, as four-track patterns (Soprano..Bass).

Which files
    Every score music21 lists under ``corpus.getComposer("bach")`` (MusicXML and Humdrum),
    less the Roman-numeral analyses (``.rntxt``, not music) and BWV 846 (a Well-Tempered
    Clavier prelude, the one work there that is not a chorale). Where a chorale is stored twice
    (``bwv281.krn`` beside ``bwv281.mxl``) the MusicXML file is used and the other reported as
    skipped. That is 409 files; ``corpus.chorales.Iterator`` would give only the 350 distinct
    files of Riemenschneider's numbering and miss chorales such as BWV 66.6.

Which pieces
    Exactly four parts (taken in score order as Soprano, Alto, Tenor, Bass; every four-part
    file in the corpus names them so) and 4/4 throughout. Other part counts (chorales with
    horns, trumpets, continuo...), other meters and meter changes are reported and skipped,
    never forced. Pieces whose measures cannot be laid on 4/4 bars (a measure longer than a
    bar, or one that starts inside a bar it does not fit in: a handful of encoding slips) are
    skipped too: bars must be the piece's measures.

Pickup and split measures
    An incomplete first measure is an anacrusis: it is padded to a full bar with silence in
    front, so that its notes end on the first bar line and every later measure starts on a bar
    line. Keeping it (rather than dropping it) keeps the upbeat with the phrase it leads into.
    Measures split in two (at a repeat sign or a fermata, ``3 + 1`` beats) share one bar, as in
    the printed score. An incomplete last measure ends in silence. Repeats are not expanded.

Notes
    Tied notes become one note; rests are nothing; grace notes are dropped and counted.
    Time is 480 ticks per quarter note. Velocity is 100 (the encodings carry no dynamics) and
    the tempo 120 BPM (they carry no tempo either).

Program
    Every voice gets General MIDI program 52, "Choir Aahs": the tracks are sung parts with
    voice ranges, and a choir patch keeps the four lines audible as voices when a generated
    chorale is played back or dragged into a DAW. 19 "Church Organ" would suit the chorales'
    accompaniment but merges the four lines into one timbre.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.data.phrases import PieceInfo, PieceSkipped
from engine.music import Note, Pattern, TimeSignature, Track, resolve_overlaps

VOICES = ("Soprano", "Alto", "Tenor", "Bass")
#: General MIDI program of every voice: 52 is "Choir Aahs".
PROGRAM = 52
TICKS_PER_QUARTER = 480
#: Default pitch axis: MIDI 28..91. The voices span 36..81; the margin of 8 below and 10 above
#: leaves room for transposition by +-5 semitones (and a little more) without leaving the range.
LOWEST_PITCH = 28
N_PITCHES = 64

#: Works in the corpus's "bach" folder that are not chorales.
NOT_CHORALES = frozenset({"bwv846"})
#: File kinds music21 reads as scores, most preferred first (where a chorale has two).
SCORE_SUFFIXES = (".mxl", ".musicxml", ".xml", ".krn")

_BAR_QUARTERS = Fraction(4)


@dataclass(frozen=True, slots=True)
class ChoraleFile:
    """One chorale file: ``key`` is its path in the corpus (``"bach/bwv66.6.mxl"``)."""

    key: str
    path: Path


def corpus_root() -> Path:
    """The folder of music21's bundled corpus."""
    from music21 import common

    return Path(common.getCorpusFilePath())


def chorale_files() -> tuple[list[ChoraleFile], list[tuple[str, PieceSkipped]]]:
    """The chorale files to read, and the files left out before reading (with why).

    Returns
    -------
    files : list of ChoraleFile
        Sorted by key.
    left_out : list of (key, PieceSkipped)
        Second encodings of a chorale that is read from another file.
    """
    from music21 import corpus

    root = corpus_root()
    by_stem: dict[str, list[Path]] = {}
    for path in corpus.getComposer("bach"):
        path = Path(path)
        if path.suffix.lower() not in SCORE_SUFFIXES or path.stem in NOT_CHORALES:
            continue
        by_stem.setdefault(path.stem, []).append(path)
    files: list[ChoraleFile] = []
    left_out: list[tuple[str, PieceSkipped]] = []
    for paths in by_stem.values():
        paths.sort(key=lambda p: SCORE_SUFFIXES.index(p.suffix.lower()))
        chosen = ChoraleFile(paths[0].relative_to(root).as_posix(), paths[0])
        files.append(chosen)
        for other in paths[1:]:
            key = other.relative_to(root).as_posix()
            reason = f"another encoding of the same chorale is used ({chosen.key})"
            left_out.append((key, PieceSkipped("second encoding", reason)))
    files.sort(key=lambda f: f.key)
    left_out.sort(key=lambda item: item[0])
    return files, left_out


def place_measures(
    durations: list[Fraction], labels: list[str], bar: Fraction = _BAR_QUARTERS
) -> list[Fraction]:
    """Where each measure starts on a grid of whole bars, in quarter notes.

    See the module's docstring: a short first measure is a pickup padded in front; a measure
    that starts inside a bar must fit in the rest of it (the second half of a split bar).

    Parameters
    ----------
    durations : list of Fraction
        Length of each measure, in quarter notes.
    labels : list of str
        Measure numbers as printed, for the reason given when the piece is refused.
    bar : Fraction
        Length of a bar, in quarter notes.

    Raises
    ------
    PieceSkipped
        When a measure cannot be laid on the bars.
    """
    starts: list[Fraction] = []
    position = Fraction(0)
    for index, (duration, label) in enumerate(zip(durations, labels, strict=True)):
        if duration > bar:
            raise PieceSkipped(
                "measures do not fit 4/4 bars",
                f"measure {label} lasts {_beats(duration)} beats, longer than a 4/4 bar",
            )
        into = position % bar
        if index == 0 and duration < bar:
            start = bar - duration  # a pickup, padded in front
        elif into == 0 or into + duration <= bar:
            start = position
        else:
            raise PieceSkipped(
                "measures do not fit 4/4 bars",
                f"measure {label} ({_beats(duration)} beats) starts {_beats(into)} beats into a "
                "bar and does not fit in the rest of it",
            )
        starts.append(start)
        position = start + duration
    return starts


def _measure_label(measure: Any) -> str:
    """A measure's number as printed, with its suffix ("4a")."""
    return f"{measure.number}{measure.numberSuffix or ''}"


def _beats(quarters: Fraction) -> str:
    return f"{float(quarters):g}"


def _quarters(value: Any) -> Fraction:
    return Fraction(value).limit_denominator(1 << 16)


def load_chorale(path: str | Path) -> tuple[Pattern, PieceInfo]:
    """Parse one chorale file into a four-track pattern (see the module's docstring).

    Returns
    -------
    pattern : Pattern
        Tracks Soprano, Alto, Tenor, Bass; 480 ticks per quarter; 4/4; bar 0 holds the
        padded pickup, if any.
    info : PieceInfo
        Counts (``grace_dropped``, ``overlaps_resolved``, ``unnamed_parts``) and the pickup
        length.

    Raises
    ------
    PieceSkipped
        For a piece that is not four parts in 4/4 laid on whole bars.
    """
    from music21 import converter, meter, stream

    # Parsed afresh: faster than thawing music21's pickle cache, and it writes nothing there.
    score = converter.parseFile(str(path), forceSource=True, storePickle=False)
    if not isinstance(score, stream.Score):
        raise PieceSkipped("not a score", f"music21 read it as a {type(score).__name__}")
    parts = list(score.parts)
    if len(parts) != 4:
        names = ", ".join(str(p.partName or "?") for p in parts)
        raise PieceSkipped("not 4 parts", f"{len(parts)} parts ({names}), not 4")
    meters: list[str] = []
    for part in parts:
        for signature in part.recurse().getElementsByClass(meter.TimeSignature):
            if not meters or meters[-1] != signature.ratioString:
                meters.append(signature.ratioString)
    distinct = list(dict.fromkeys(meters))
    if distinct != ["4/4"]:
        if not distinct:
            raise PieceSkipped("no meter", "no time signature")
        if len(distinct) == 1:
            raise PieceSkipped("not 4/4", f"meter {distinct[0]} (only 4/4 is used)")
        raise PieceSkipped("meter changes", f"meter changes ({' -> '.join(distinct)})")

    measures = [list(part.getElementsByClass(stream.Measure)) for part in parts]
    durations = [[_quarters(m.duration.quarterLength) for m in ms] for ms in measures]
    if any(d != durations[0] for d in durations[1:]):
        raise PieceSkipped("parts disagree", "the parts' measures differ in number or length")
    labels = [_measure_label(m) for m in measures[0]]
    starts = place_measures(durations[0], labels)

    counts: Counter[str] = Counter()
    tracks: list[Track] = []
    end_quarters = (starts[-1] + durations[0][-1]) if starts else Fraction(0)
    raw_tracks: list[list[list[int]]] = []
    for part, part_measures in zip(parts, measures, strict=True):
        if part.partName is None or part.partName == "":
            counts["unnamed_parts"] += 1
        notes: list[list[int]] = []  # [start tick, end tick, pitch]
        open_ties: dict[int, int] = {}  # pitch -> index into notes of a tie still open
        for measure, start in zip(part_measures, starts, strict=True):
            for element in measure.flatten().notes:
                if element.duration.isGrace:
                    counts["grace_dropped"] += 1
                    continue
                onset = start + _quarters(element.offset)
                offset = onset + _quarters(element.duration.quarterLength)
                end_quarters = max(end_quarters, offset)
                tick0 = round(onset * TICKS_PER_QUARTER)
                tick1 = round(offset * TICKS_PER_QUARTER)
                for pitch, tie in _pitches_and_ties(element):
                    _add_note(notes, open_ties, tick0, tick1, pitch, tie, counts)
        raw_tracks.append(notes)

    bar_ticks = 4 * TICKS_PER_QUARTER
    n_bars = max(1, math.ceil(end_quarters * TICKS_PER_QUARTER / bar_ticks))
    for channel, (name, notes) in enumerate(zip(VOICES, raw_tracks, strict=True)):
        made = [Note(s, e - s, p, 100) for s, e, p in notes if e > s]
        counts["zero_length_dropped"] += sum(1 for s, e, _ in notes if e <= s)
        resolved, n_changed = resolve_overlaps(made)
        counts["overlaps_resolved"] += n_changed
        tracks.append(Track(name, PROGRAM, False, channel, resolved))
    pattern = Pattern(
        tracks=tuple(tracks),
        n_bars=n_bars,
        ticks_per_quarter=TICKS_PER_QUARTER,
        time_signature=TimeSignature(4, 4),
    )
    pickup = float(durations[0][0]) if durations[0] and starts[0] > 0 else 0.0
    return pattern, PieceInfo(counts={k: v for k, v in counts.items() if v}, pickup_beats=pickup)


def _pitches_and_ties(element: Any) -> list[tuple[int, str | None]]:
    """(MIDI pitch, tie type or None) of a music21 Note or Chord; unpitched give none."""
    if element.isNote:
        return [(int(element.pitch.midi), element.tie.type if element.tie else None)]
    if element.isChord:
        chord_tie = element.tie.type if element.tie else None
        return [
            (int(sub.pitch.midi), sub.tie.type if sub.tie else chord_tie) for sub in element.notes
        ]
    return []


def _add_note(
    notes: list[list[int]],
    open_ties: dict[int, int],
    start: int,
    end: int,
    pitch: int,
    tie: str | None,
    counts: Counter[str],
) -> None:
    """Add one written note, joining it to the note it is tied from."""
    if tie in ("stop", "continue") and pitch in open_ties:
        held = notes[open_ties[pitch]]
        held[1] = max(held[1], end)
        counts["ties_joined"] += 1
        if tie == "stop":
            del open_ties[pitch]
        return
    open_ties.pop(pitch, None)
    notes.append([start, end, pitch])
    if tie in ("start", "continue"):
        open_ties[pitch] = len(notes) - 1
