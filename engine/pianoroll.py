# SPDX-License-Identifier: MIT
"""Pattern <-> piano roll: the arrays the GAN learns from and writes.

A roll has three planes, each of shape ``(n_tracks, n_bars, n_steps_per_bar, n_pitches)``:

- ``frames`` (bool): the pitch sounds during the step;
- ``onsets`` (bool): a note starts on the step. This keeps a repeated note (C, C) apart from
  one long note (C--), which a frames plane alone cannot do;
- ``velocities`` (uint8): the velocity of the note starting on the step, 0 elsewhere.

Time is a grid of ``n_steps_per_bar`` steps per bar; pitch index ``i`` is MIDI pitch
``lowest_pitch + i``. A tick ``t`` maps to step ``round(t * n_steps_per_bar / bar_ticks)``
(halves round up) and a step ``s`` back to tick ``round(s * bar_ticks / n_steps_per_bar)``, so a
pattern whose note boundaries lie on those ticks round-trips exactly. Other notes are quantized
to the grid (a note never shrinks below one step); notes outside the pitch range are left out
of the roll and listed in :attr:`RollEncoding.out_of_range`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.music import DEFAULT_TEMPO_US, Note, Pattern, Track, default_channels


@dataclass(frozen=True, slots=True)
class RollGrid:
    """The shape of a roll's time and pitch axes.

    Parameters
    ----------
    n_steps_per_bar : int
        Time steps per bar, >= 1 (96 = 24 per beat in 4/4, MuseGAN's grid, keeps triplets).
    lowest_pitch : int
        MIDI pitch of pitch index 0.
    n_pitches : int
        Number of pitches, >= 1; ``lowest_pitch + n_pitches`` must not exceed 128.
    """

    n_steps_per_bar: int = 48
    lowest_pitch: int = 0
    n_pitches: int = 128

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("n_steps_per_bar", self.n_steps_per_bar, 1, 1 << 16),
            ("lowest_pitch", self.lowest_pitch, 0, 127),
            ("n_pitches", self.n_pitches, 1, 128 - self.lowest_pitch),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(
                    f"RollGrid.{name} must be an integer in {low}..{high}, got {value!r}"
                )

    @property
    def highest_pitch(self) -> int:
        return self.lowest_pitch + self.n_pitches - 1


@dataclass(frozen=True, slots=True)
class PhraseSpec:
    """What the axes of a batch of phrase rolls mean.

    Datasets, the model and the metrics all exchange phrases as two bool arrays, ``frames``
    and ``onsets``, of shape ``(n_phrases, n_tracks, n_bars, n_steps_per_bar, n_pitches)``
    (see :class:`PianoRoll` for the planes); this says which track is which, how long a step
    is and which pitch index 0 is.

    Parameters
    ----------
    track_names : tuple of str
        One per track, e.g. ``("Soprano", "Alto", "Tenor", "Bass")``.
    is_drum : tuple of bool
        One per track.
    programs : tuple of int
        General MIDI program of each track, for playback and MIDI export.
    steps_per_beat : int
        Time steps per beat (a quarter note in 4/4).
    beats_per_bar : int
        Beats per bar (4 for 4/4).
    n_bars : int
        Bars per phrase.
    lowest_pitch : int
        MIDI pitch of pitch index 0.
    n_pitches : int
        Pitches on the pitch axis.
    """

    track_names: tuple[str, ...]
    is_drum: tuple[bool, ...]
    programs: tuple[int, ...]
    steps_per_beat: int
    beats_per_bar: int
    n_bars: int
    lowest_pitch: int
    n_pitches: int

    def __post_init__(self) -> None:
        n = len(self.track_names)
        if n == 0 or len(self.is_drum) != n or len(self.programs) != n:
            raise ValueError(
                "PhraseSpec.track_names, is_drum and programs must be non-empty and of one "
                f"length, got {len(self.track_names)}, {len(self.is_drum)}, {len(self.programs)}"
            )
        for name in ("steps_per_beat", "beats_per_bar", "n_bars", "n_pitches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PhraseSpec.{name} must be a positive integer, got {value!r}")
        RollGrid(self.n_steps_per_bar, self.lowest_pitch, self.n_pitches)

    @property
    def n_tracks(self) -> int:
        return len(self.track_names)

    @property
    def n_steps_per_bar(self) -> int:
        return self.steps_per_beat * self.beats_per_bar

    @property
    def grid(self) -> RollGrid:
        return RollGrid(self.n_steps_per_bar, self.lowest_pitch, self.n_pitches)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """Shape of one phrase: ``(n_tracks, n_bars, n_steps_per_bar, n_pitches)``."""
        return (self.n_tracks, self.n_bars, self.n_steps_per_bar, self.n_pitches)

    def template(
        self,
        n_bars: int | None = None,
        tempo_us: int = DEFAULT_TEMPO_US,
        ticks_per_quarter: int = 480,
    ) -> Pattern:
        """An empty pattern with these tracks (names, programs, drums, default channels), of
        ``n_bars`` bars (default: a phrase's), for :func:`roll_to_pattern`."""
        tracks = [
            Track(name, program, drum, channel)
            for name, program, drum, channel in zip(
                self.track_names,
                self.programs,
                self.is_drum,
                default_channels(self.is_drum),
                strict=True,
            )
        ]
        return Pattern(
            tracks,
            n_bars=self.n_bars if n_bars is None else n_bars,
            ticks_per_quarter=ticks_per_quarter,
            tempo_us=tempo_us,
        )


@dataclass(frozen=True, slots=True, eq=False)
class PianoRoll:
    """Three aligned planes of shape ``(n_tracks, n_bars, n_steps_per_bar, n_pitches)``."""

    frames: NDArray[np.bool_]
    onsets: NDArray[np.bool_]
    velocities: NDArray[np.uint8]
    grid: RollGrid

    @property
    def shape(self) -> tuple[int, int, int, int]:
        n_tracks, n_bars, n_steps, n_pitches = self.frames.shape
        return n_tracks, n_bars, n_steps, n_pitches


@dataclass(frozen=True, slots=True)
class RollEncoding:
    """What :func:`pattern_to_roll` made, and what it could not keep exactly.

    Attributes
    ----------
    roll : PianoRoll
    out_of_range : tuple of (int, Note)
        ``(track index, note)`` for each note whose pitch lies outside the grid's range.
    n_quantized : int
        Notes whose start or end was off the grid and moved to it.
    n_merged : int
        Notes that landed on the same step and pitch as another note of their track and so
        merged with it.
    """

    roll: PianoRoll
    out_of_range: tuple[tuple[int, Note], ...]
    n_quantized: int
    n_merged: int

    @property
    def exact(self) -> bool:
        """True when decoding the roll gives back the pattern's notes unchanged."""
        return not (self.out_of_range or self.n_quantized or self.n_merged)


def _check_grid(pattern: Pattern, grid: RollGrid) -> None:
    if grid.n_steps_per_bar > pattern.bar_ticks:
        raise ValueError(
            f"RollGrid.n_steps_per_bar: {grid.n_steps_per_bar} steps do not fit in a bar of "
            f"{pattern.bar_ticks} ticks (a step must last at least one tick)"
        )


def _tick_to_step(ticks: NDArray[np.int64], n_steps: int, bar_ticks: int) -> NDArray[np.int64]:
    return (2 * ticks * n_steps + bar_ticks) // (2 * bar_ticks)


def _step_to_tick(steps: NDArray[np.int64], n_steps: int, bar_ticks: int) -> NDArray[np.int64]:
    return (2 * steps * bar_ticks + n_steps) // (2 * n_steps)


def pattern_to_roll(pattern: Pattern, grid: RollGrid) -> RollEncoding:
    """Encode a pattern as a piano roll on ``grid`` (see the module's docstring)."""
    _check_grid(pattern, grid)
    n_steps, bar = grid.n_steps_per_bar, pattern.bar_ticks
    total = pattern.n_bars * n_steps
    shape = (len(pattern.tracks), total, grid.n_pitches)
    frames = np.zeros(shape, dtype=np.bool_)
    onsets = np.zeros(shape, dtype=np.bool_)
    velocities = np.zeros(shape, dtype=np.uint8)
    out_of_range: list[tuple[int, Note]] = []
    n_quantized = n_merged = 0
    for t, track in enumerate(pattern.tracks):
        if not track.notes:
            continue
        table = np.array(
            [(n.start, n.end, n.pitch, n.velocity) for n in track.notes], dtype=np.int64
        )
        pitch_index = table[:, 2] - grid.lowest_pitch
        inside = (pitch_index >= 0) & (pitch_index < grid.n_pitches)
        out_of_range.extend((t, track.notes[i]) for i in np.flatnonzero(~inside))
        table, pitch_index = table[inside], pitch_index[inside]
        start = _tick_to_step(table[:, 0], n_steps, bar)
        end = _tick_to_step(table[:, 1], n_steps, bar)
        end = np.minimum(np.maximum(end, start + 1), total)
        start = np.minimum(start, total - 1)
        moved = (_step_to_tick(start, n_steps, bar) != table[:, 0]) | (
            _step_to_tick(end, n_steps, bar) != table[:, 1]
        )
        n_quantized += int(moved.sum())
        # Frames: +1 at each start, -1 at each end, running sum > 0 while something sounds.
        counts = np.zeros((total + 1, grid.n_pitches), dtype=np.int32)
        np.add.at(counts, (start, pitch_index), 1)
        np.add.at(counts, (end, pitch_index), -1)
        frames[t] = np.cumsum(counts, axis=0)[:total] > 0
        cells = start * grid.n_pitches + pitch_index
        n_merged += len(cells) - len(np.unique(cells))
        onsets[t, start, pitch_index] = True
        velocities[t, start, pitch_index] = table[:, 3]  # a merged onset keeps the last velocity
    split = (len(pattern.tracks), pattern.n_bars, n_steps, grid.n_pitches)
    roll = PianoRoll(frames.reshape(split), onsets.reshape(split), velocities.reshape(split), grid)
    return RollEncoding(roll, tuple(out_of_range), n_quantized, n_merged)


def track_note_steps(
    roll: PianoRoll, track: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The notes of one track of a roll, in steps, read as :func:`roll_to_pattern` reads them.

    Returns
    -------
    pitch_index, start_step, length : ndarray of int64, shape=(n_notes,)
        Pitch-major order (by pitch, then start); ``start_step`` counts from the roll's start.
    """
    _, n_bars, n_steps, n_pitches = roll.shape
    total = n_bars * n_steps
    # Pitch-major, one silent step appended to every pitch row so that runs end in-row.
    frames = np.zeros((n_pitches, total + 1), dtype=np.bool_)
    frames[:, :total] = roll.frames[track].reshape(total, n_pitches).T
    onsets = np.zeros_like(frames)
    onsets[:, :total] = roll.onsets[track].reshape(total, n_pitches).T
    previous = np.zeros_like(frames)
    previous[:, 1:] = frames[:, :-1]
    starts = frames & (~previous | onsets)
    boundaries = np.flatnonzero((starts | ~frames).ravel())
    start_flat = np.flatnonzero(starts.ravel())
    end_flat = boundaries[np.searchsorted(boundaries, start_flat, side="right")]
    pitch_index, start_step = np.divmod(start_flat, total + 1)
    return pitch_index, start_step, end_flat - start_flat


def roll_to_pattern(roll: PianoRoll, template: Pattern, default_velocity: int = 100) -> Pattern:
    """Decode a roll into a pattern shaped like ``template``.

    ``template`` gives the tracks' names, programs and channels, the ticks per quarter, time
    signature and tempo; its notes are ignored and its track count must match the roll's. The
    result has as many bars as the roll.

    A note starts where a pitch begins to sound or where an onset falls inside a sounding run,
    and lasts until the pitch stops or the next onset. An onset on a silent step is ignored.
    Notes take the ``velocities`` plane's value at their onset, or ``default_velocity`` where
    that is 0 (a roll made by the GAN carries no velocities).
    """
    n_tracks, n_bars, n_steps, n_pitches = roll.shape
    for name in ("onsets", "velocities"):
        if getattr(roll, name).shape != roll.frames.shape:
            raise ValueError(
                f"PianoRoll.{name} has shape {getattr(roll, name).shape}, "
                f"frames has {roll.frames.shape}"
            )
    if n_steps != roll.grid.n_steps_per_bar or n_pitches != roll.grid.n_pitches:
        raise ValueError(
            f"PianoRoll.grid says {roll.grid.n_steps_per_bar} steps and {roll.grid.n_pitches} "
            f"pitches, but the planes have shape {roll.frames.shape}"
        )
    if n_tracks != len(template.tracks):
        raise ValueError(
            f"template.tracks: the roll has {n_tracks} tracks, the template {len(template.tracks)}"
        )
    if not 1 <= default_velocity <= 127:
        raise ValueError(f"default_velocity must be in 1..127, got {default_velocity}")
    pattern = dataclasses.replace(template, n_bars=n_bars, tracks=())
    _check_grid(pattern, roll.grid)
    bar = pattern.bar_ticks
    total = n_bars * n_steps
    tracks: list[Track] = []
    for t, like in enumerate(template.tracks):
        pitch_index, start_step, length = track_note_steps(roll, t)
        end_step = start_step + length
        vel = roll.velocities[t].reshape(total, n_pitches)[start_step, pitch_index].astype(np.int64)
        vel[vel == 0] = default_velocity
        vel = np.minimum(vel, 127)
        start_tick = _step_to_tick(start_step, n_steps, bar)
        end_tick = _step_to_tick(end_step, n_steps, bar)
        pitch = pitch_index + roll.grid.lowest_pitch
        # Plain ints first (tolist): building Notes from numpy scalars is several times slower.
        notes = [
            Note(s, d, p, v)
            for s, d, p, v in zip(
                start_tick.tolist(),
                (end_tick - start_tick).tolist(),
                pitch.tolist(),
                vel.tolist(),
                strict=True,
            )
        ]
        tracks.append(like.with_notes(notes))
    return dataclasses.replace(pattern, tracks=tuple(tracks))
