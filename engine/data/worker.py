# SPDX-License-Identifier: MIT
"""One input file to phrases: the unit of work that the build spreads over processes.

:func:`process` runs in a worker process (or in-process for ``--jobs 1``). It takes a file path,
not a parsed score, so that nothing large crosses between processes on the way in; it returns
the phrases as small arrays. It never raises for a bad file: whatever goes wrong with one file
comes back as a skip with its reason, so the build goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.data.phrases import (
    EncodedPiece,
    Phrases,
    PieceInfo,
    PieceSkipped,
    cut_phrases,
    encode_piece,
)
from engine.data.track_map import TrackMap
from engine.music import Pattern
from engine.pianoroll import RollGrid

CHORALE = "chorale"
MIDI = "midi"


@dataclass(frozen=True, slots=True)
class Task:
    """What to do with one file.

    Attributes
    ----------
    kind : str
        :data:`CHORALE` (a music21 corpus file) or :data:`MIDI`.
    key : str
        The file's name in the report and manifest (its path inside the source).
    path : str
        Where to read it.
    grid : RollGrid
    phrase_bars, hop_bars : int
    track_map : TrackMap or None
        For MIDI files.
    """

    kind: str
    key: str
    path: str
    grid: RollGrid
    phrase_bars: int
    hop_bars: int
    track_map: TrackMap | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one file: phrases, or a skip with its category and reason."""

    key: str
    phrases: Phrases | None = None
    n_bars: int = 0
    info: PieceInfo = field(default_factory=PieceInfo)
    encoding_counts: dict[str, int] = field(default_factory=dict)
    skip_category: str | None = None
    skip_reason: str | None = None

    @property
    def skipped(self) -> bool:
        return self.skip_category is not None


def load_piece(task: Task) -> tuple[Pattern, PieceInfo]:
    """Read the task's file as a pattern with the model's tracks (raises PieceSkipped)."""
    if task.kind == CHORALE:
        from engine.data.chorales import load_chorale

        return load_chorale(task.path)
    if task.kind == MIDI:
        from engine.data.midi_folder import load_midi_piece

        if task.track_map is None:
            raise ValueError("a MIDI task needs a track map")
        return load_midi_piece(task.path, task.track_map)
    raise ValueError(f"unknown task kind {task.kind!r}")


def process(task: Task) -> Result:
    """Read, encode and cut one file; a failure of any kind becomes a skip with its reason."""
    try:
        pattern, info = load_piece(task)
        encoded: EncodedPiece = encode_piece(pattern, task.grid)
        phrases = cut_phrases(
            encoded.notes,
            encoded.n_bars,
            task.grid.n_steps_per_bar,
            task.phrase_bars,
            task.hop_bars,
        )
    except PieceSkipped as e:
        return Result(task.key, skip_category=e.category, skip_reason=e.reason)
    except Exception as e:  # one bad file must never stop the build
        return Result(task.key, skip_category="error", skip_reason=f"{type(e).__name__}: {e}")
    return Result(
        task.key,
        phrases=phrases,
        n_bars=encoded.n_bars,
        info=info,
        encoding_counts=encoded.counts,
    )
