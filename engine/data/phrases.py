# SPDX-License-Identifier: MIT
"""Cut a piece into phrases of whole bars, as sparse note tables on the roll grid.

A piece (an engine :class:`~engine.music.Pattern` whose bars are the piece's measures) is
encoded once with :func:`engine.pianoroll.pattern_to_roll`; its notes are then read back off
the roll as *step notes* (track, start step, length in steps, pitch index, velocity), so that
everything the store holds is exactly what the roll holds (quantized, merged, inside the pitch
range).

Phrases are windows of ``phrase_bars`` bars starting every ``hop_bars`` bars; only windows that
lie wholly inside the piece are taken. Each phrase is a stand-alone pattern: a note sounding
into the window from before it starts on the window's first step (with an onset), and a note
running past its end is cut there. Windows in which every track is silent are dropped.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.music import DEFAULT_TEMPO_US, Pattern
from engine.pianoroll import PianoRoll, RollGrid, pattern_to_roll, track_note_steps

#: Columns of a step-note table, in order (all int64 while building; see ``store`` on disk).
NOTE_COLUMNS = ("track", "start", "length", "pitch", "velocity")


class PieceSkipped(Exception):
    """A piece that the build leaves out, with a short ``category`` and a full ``reason``.

    ``category`` groups skips in the report (e.g. ``"not 4/4"``); ``reason`` says what exactly
    was found in this piece (e.g. ``"meter 3/4 (only 4/4 is used)"``).
    """

    def __init__(self, category: str, reason: str) -> None:
        self.category = category
        self.reason = reason
        super().__init__(f"{category}: {reason}")


@dataclass(frozen=True, slots=True)
class PieceInfo:
    """What reading one piece found, besides its notes.

    Attributes
    ----------
    counts : dict of str to int
        Things counted while reading, summed over pieces in the build report (e.g.
        ``grace_dropped``, ``unmapped_tracks``); only non-zero counts are kept.
    pickup_beats : float
        Length of the anacrusis padded into bar 0, in beats (0 for none).
    tempo_us : int
        Microseconds per quarter note, used when phrases are exported as patterns.
    details : tuple of str
        Things worth a line in the manifest (e.g. unmapped tracks by name and program).
    """

    counts: dict[str, int] = field(default_factory=dict)
    pickup_beats: float = 0.0
    tempo_us: int = DEFAULT_TEMPO_US
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Phrases:
    """The phrases cut from one piece.

    Attributes
    ----------
    first_bars : ndarray of int64, shape=(n_phrases,)
        Bar (0-based, in the piece) where each phrase starts.
    notes : ndarray of int64, shape=(n_notes, 6)
        One row per note: phrase (0-based, within this piece), then the :data:`NOTE_COLUMNS`
        with ``start`` in steps from the phrase's start. Sorted by phrase, track, start, pitch.
    n_windows : int
        Windows looked at, silent ones included.
    n_silent : int
        Windows dropped because no track sounds in them.
    """

    first_bars: NDArray[np.int64]
    notes: NDArray[np.int64]
    n_windows: int
    n_silent: int

    @property
    def n_phrases(self) -> int:
        return len(self.first_bars)

    def phrase_slices(self) -> list[slice]:
        """Row range of ``notes`` for each phrase, in phrase order."""
        bounds = np.searchsorted(self.notes[:, 0], np.arange(self.n_phrases + 1))
        return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


@dataclass(slots=True)
class EncodedPiece:
    """A piece on the roll grid: its step notes and what the encoding could not keep.

    Attributes
    ----------
    notes : ndarray of int64, shape=(n_notes, 5)
        :data:`NOTE_COLUMNS`, ``start`` in steps from the piece's start, sorted by track, start,
        pitch.
    n_bars : int
        Bars in the piece.
    counts : dict of str to int
        ``out_of_range`` (notes outside the pitch range, left out), ``quantized`` (notes moved
        to the grid) and ``merged`` (notes that fell on one step and pitch with another).
    """

    notes: NDArray[np.int64]
    n_bars: int
    counts: dict[str, int] = field(default_factory=dict)


def roll_notes(roll: PianoRoll) -> NDArray[np.int64]:
    """Step notes of a roll, read as :func:`engine.pianoroll.roll_to_pattern` reads it.

    A note starts where a pitch begins to sound or where an onset falls inside a sounding run,
    and lasts until the pitch stops or the next onset.

    Returns
    -------
    ndarray of int64, shape=(n_notes, 5)
        :data:`NOTE_COLUMNS`, ``start`` in steps from the roll's start, sorted by track, start,
        pitch.
    """
    n_tracks, n_bars, n_steps, n_pitches = roll.shape
    total = n_bars * n_steps
    tables = []
    for t in range(n_tracks):
        pitch, start, length = track_note_steps(roll, t)
        velocity = roll.velocities[t].reshape(total, n_pitches)[start, pitch].astype(np.int64)
        table = np.stack([np.full_like(start, t), start, length, pitch, velocity], axis=1).astype(
            np.int64
        )
        tables.append(table)
    notes = np.concatenate(tables) if tables else np.zeros((0, 5), dtype=np.int64)
    order = np.lexsort((notes[:, 3], notes[:, 1], notes[:, 0]))
    return notes[order]


def encode_piece(pattern: Pattern, grid: RollGrid) -> EncodedPiece:
    """Encode a whole piece on ``grid`` (see :func:`engine.pianoroll.pattern_to_roll`)."""
    encoding = pattern_to_roll(pattern, grid)
    counts = {
        "out_of_range": len(encoding.out_of_range),
        "quantized": encoding.n_quantized,
        "merged": encoding.n_merged,
    }
    return EncodedPiece(roll_notes(encoding.roll), pattern.n_bars, counts)


def cut_phrases(
    notes: NDArray[np.int64],
    n_bars: int,
    n_steps_per_bar: int,
    phrase_bars: int,
    hop_bars: int,
) -> Phrases:
    """Cut a piece's step notes into windows of ``phrase_bars`` bars, every ``hop_bars`` bars.

    Parameters
    ----------
    notes : ndarray of int64, shape=(n_notes, 5)
        Step notes of the whole piece (:data:`NOTE_COLUMNS`), e.g. from :func:`encode_piece`.
    n_bars : int
        Bars in the piece.
    n_steps_per_bar, phrase_bars, hop_bars : int
        Grid steps per bar; bars per phrase; bars from one window's start to the next.
    """
    length = phrase_bars * n_steps_per_bar
    first_bars = np.arange(0, n_bars - phrase_bars + 1, hop_bars, dtype=np.int64)
    start, end = notes[:, 1], notes[:, 1] + notes[:, 2]
    kept_bars: list[int] = []
    tables: list[NDArray[np.int64]] = []
    for bar in first_bars:
        w0 = int(bar) * n_steps_per_bar
        w1 = w0 + length
        inside = (start < w1) & (end > w0)
        if not inside.any():
            continue
        chosen = notes[inside].copy()
        clipped_start = np.maximum(chosen[:, 1], w0)
        chosen[:, 2] = np.minimum(chosen[:, 1] + chosen[:, 2], w1) - clipped_start
        chosen[:, 1] = clipped_start - w0
        order = np.lexsort((chosen[:, 3], chosen[:, 1], chosen[:, 0]))
        phrase = np.full((len(chosen), 1), len(kept_bars), dtype=np.int64)
        tables.append(np.concatenate([phrase, chosen[order]], axis=1))
        kept_bars.append(int(bar))
    table = np.concatenate(tables) if tables else np.zeros((0, 6), dtype=np.int64)
    return Phrases(
        first_bars=np.array(kept_bars, dtype=np.int64),
        notes=table,
        n_windows=len(first_bars),
        n_silent=len(first_bars) - len(kept_bars),
    )


def phrase_keys(rows: NDArray[np.int64], is_drum: NDArray[np.bool_]) -> tuple[bytes, bytes]:
    """What makes two phrases "the same": as written, and up to transposition.

    Parameters
    ----------
    rows : ndarray of int64, shape=(n_notes, 6)
        One phrase's rows of :attr:`Phrases.notes` (sorted as there).
    is_drum : ndarray of bool, shape=(n_tracks,)
        Drum tracks, which transposition leaves alone.

    Returns
    -------
    transposed : bytes
        Equal for two phrases whose notes (track, start, length, pitch) are equal once their
        pitched notes are moved so that the lowest lies on pitch index 0 (drums stay).
    exact : bytes
        Equal for two phrases whose notes are equal as they are.

    Velocities are left out: the model sees frames and onsets only, so phrases that differ
    only in velocity are duplicates to it.
    """
    body = np.ascontiguousarray(rows[:, 1:5], dtype="<i8")
    exact = hashlib.blake2b(body.tobytes(), digest_size=16).digest()
    pitched = ~is_drum[rows[:, 1]]
    if pitched.any():
        moved = body.copy()
        moved[pitched, 3] -= moved[pitched, 3].min()
        body = moved
    transposed = hashlib.blake2b(body.tobytes(), digest_size=16).digest()
    return transposed, exact
