# SPDX-License-Identifier: MIT
"""The music model: notes, tracks and patterns in integer ticks.

Everything here is immutable. An edit makes a new value (``dataclasses.replace`` or one of the
helpers below), so an undo step can simply keep the value from before.

Invariants, checked on construction (a violation raises ``ValueError`` naming the field):

- times are integer ticks; a note lasts at least one tick;
- within a track, notes are sorted by ``(start, pitch)`` and two notes of the same pitch never
  overlap (they may touch). This is what a MIDI channel can express, so a pattern survives a
  MIDI file round trip unchanged;
- every note lies inside the pattern: ``0 <= start`` and ``end <= n_bars * bar_ticks``;
- drum tracks, and only drum tracks, play on MIDI channel 10 (index 9), as General MIDI says.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: MIDI channel index (0-based) that General MIDI reserves for drums ("channel 10").
DRUM_CHANNEL = 9
#: Microseconds per quarter note at 120 BPM, MIDI's default tempo.
DEFAULT_TEMPO_US = 500_000
#: Largest tempo value a MIDI set_tempo message can carry (24 bits).
MAX_TEMPO_US = 0xFFFFFF
#: Denominators a MIDI time signature can express (a power of two).
TIME_SIGNATURE_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)


_PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI note number, with middle C (60) as C4."""
    _check_int("pitch_name", "pitch", pitch, 0, 127)
    return f"{_PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


def default_channels(is_drum: Sequence[bool]) -> tuple[int, ...]:
    """MIDI channel indices for tracks in order: drums on 9 (channel 10), the others on 0, 1,
    2... skipping 9, starting over after the fifteenth."""
    free = [c for c in range(16) if c != DRUM_CHANNEL]
    channels, pitched = [], 0
    for drum in is_drum:
        if drum:
            channels.append(DRUM_CHANNEL)
        else:
            channels.append(free[pitched % len(free)])
            pitched += 1
    return tuple(channels)


def _check_int(owner: str, name: str, value: Any, low: int, high: int | None = None) -> None:
    """Raise ``ValueError`` naming ``owner.name`` unless ``value`` is an int in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{owner}.{name} must be {bounds}, got {value}")


def _as_tuple(name: str, values: Any) -> tuple[Any, ...]:
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be an iterable of values, got {values!r}")
    try:
        return tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be an iterable of values, got {values!r}") from None


@dataclass(frozen=True, slots=True, order=True)
class Note:
    """One note.

    Parameters
    ----------
    start : int
        Onset in ticks from the start of the pattern, >= 0.
    duration : int
        Length in ticks, >= 1.
    pitch : int
        MIDI note number, 0..127 (60 is middle C). On a drum track it selects the instrument.
    velocity : int
        MIDI velocity, 1..127 (0 would mean note-off in MIDI).
    """

    start: int
    duration: int
    pitch: int
    velocity: int = 100

    def __post_init__(self) -> None:
        # One cheap test on the common path (files hold hundreds of thousands of notes); the
        # detailed checks below only run to name what is wrong.
        start, duration, pitch, velocity = self.start, self.duration, self.pitch, self.velocity
        if (
            type(start) is int
            and type(duration) is int
            and type(pitch) is int
            and type(velocity) is int
            and start >= 0
            and duration >= 1
            and 0 <= pitch <= 127
            and 1 <= velocity <= 127
        ):
            return
        _check_int("Note", "start", start, 0)
        _check_int("Note", "duration", duration, 1)
        _check_int("Note", "pitch", pitch, 0, 127)
        _check_int("Note", "velocity", velocity, 1, 127)

    @property
    def end(self) -> int:
        """Tick just after the note (``start + duration``)."""
        return self.start + self.duration


#: Order of notes within a track: by onset, then pitch (then the rest, to be total).
_sort_key = operator.attrgetter("start", "pitch", "duration", "velocity")


def resolve_overlaps(notes: Iterable[Note]) -> tuple[tuple[Note, ...], int]:
    """Make notes playable on one MIDI channel: no two notes of one pitch overlap.

    Where two notes of the same pitch start on the same tick, the longer (then louder) one is
    kept. Where a note starts while an earlier one of its pitch still sounds, the earlier one is
    cut short at that tick, as a synthesiser retriggering the key would do.

    Returns
    -------
    notes : tuple of Note
        Sorted by ``(start, pitch)``.
    n_changed : int
        How many notes were shortened or dropped.
    """
    by_pitch = sorted(notes, key=operator.attrgetter("pitch", "start"))
    kept: list[Note] = []
    n_changed = 0
    for note in by_pitch:
        if kept and kept[-1].pitch == note.pitch:
            last = kept[-1]
            if last.start == note.start:
                n_changed += 1
                if (note.duration, note.velocity) > (last.duration, last.velocity):
                    kept[-1] = note
                continue
            if last.start + last.duration > note.start:
                kept[-1] = dataclasses.replace(last, duration=note.start - last.start)
                n_changed += 1
        kept.append(note)
    kept.sort(key=_sort_key)
    return tuple(kept), n_changed


@dataclass(frozen=True, slots=True, init=False)
class Track:
    """One instrument's notes.

    Parameters
    ----------
    name : str
        Shown in the track list and written as the MIDI track name.
    program : int
        General MIDI program 0..127 (0 is Acoustic Grand Piano); on a drum track, the kit.
    is_drum : bool
        A drum track; it must play on ``channel`` 9 (MIDI channel 10), and only it may.
    channel : int
        MIDI channel index 0..15 (shown to users as 1..16).
    notes : tuple of Note
        Sorted by ``(start, pitch)``, no two notes of one pitch overlapping. Any iterable is
        accepted and sorted; overlaps raise (use :func:`resolve_overlaps` first to cut them).
    """

    name: str
    program: int
    is_drum: bool
    channel: int
    notes: tuple[Note, ...]
    #: Tick at which the last note ends (0 for no notes); derived, not passed.
    end_tick: int = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        name: str,
        program: int = 0,
        is_drum: bool = False,
        channel: int = 0,
        notes: Iterable[Note] = (),
    ) -> None:
        # Written out (not the dataclass's own) so that ``notes`` may be any iterable.
        for attribute, value in (
            ("name", name),
            ("program", program),
            ("is_drum", is_drum),
            ("channel", channel),
            ("notes", notes),
        ):
            object.__setattr__(self, attribute, value)
        self._validate()

    def _validate(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"Track.name must be a string, got {self.name!r}")
        try:
            self.name.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"Track.name must be text that UTF-8 can hold, got {self.name!r}"
            ) from None
        _check_int("Track", "program", self.program, 0, 127)
        if not isinstance(self.is_drum, bool):
            raise ValueError(f"Track.is_drum must be a bool, got {self.is_drum!r}")
        _check_int("Track", "channel", self.channel, 0, 15)
        if self.is_drum != (self.channel == DRUM_CHANNEL):
            raise ValueError(
                f"Track.channel: drum tracks, and only drum tracks, play on channel index "
                f"{DRUM_CHANNEL} (MIDI channel 10); got channel {self.channel} with "
                f"is_drum={self.is_drum}"
            )
        notes = _as_tuple("Track.notes", self.notes)
        if not all(isinstance(note, Note) for note in notes):
            bad = next(note for note in notes if not isinstance(note, Note))
            raise ValueError(f"Track.notes must hold Note values, got {bad!r}")
        notes = tuple(sorted(notes, key=_sort_key))
        last_end: dict[int, int] = {}
        end_tick = 0
        for note in notes:
            start, pitch = note.start, note.pitch
            if last_end.get(pitch, -1) > start:
                raise ValueError(
                    f"Track.notes: two notes of pitch {pitch} overlap at tick {start} "
                    f"in track {self.name!r}"
                )
            end = last_end[pitch] = start + note.duration
            end_tick = max(end_tick, end)
        object.__setattr__(self, "notes", notes)
        object.__setattr__(self, "end_tick", end_tick)

    def with_notes(self, notes: Iterable[Note]) -> Track:
        """The same track holding ``notes`` instead."""
        return dataclasses.replace(self, notes=tuple(notes))

    def notes_between(self, start: int, end: int) -> tuple[Note, ...]:
        """Notes whose onset lies in ``[start, end)`` ticks."""
        return tuple(n for n in self.notes if start <= n.start < end)

    def transpose(self, semitones: int) -> Track:
        """Shift every pitch by ``semitones``; drum tracks are returned unchanged.

        Raises ``ValueError`` naming ``pitch`` when a note would leave 0..127.
        """
        _check_int("transpose", "semitones", semitones, -127, 127)
        if self.is_drum or semitones == 0:
            return self
        moved = []
        for note in self.notes:
            pitch = note.pitch + semitones
            if not 0 <= pitch <= 127:
                raise ValueError(
                    f"Note.pitch: transposing {self.name!r} by {semitones} moves pitch "
                    f"{note.pitch} at tick {note.start} to {pitch}, outside 0..127"
                )
            moved.append(dataclasses.replace(note, pitch=pitch))
        return self.with_notes(moved)


@dataclass(frozen=True, slots=True)
class TimeSignature:
    """A time signature such as 4/4 or 6/8.

    ``numerator`` is 1..255 beats; ``denominator`` a power of two 1..64 (the beat's note value).
    """

    numerator: int = 4
    denominator: int = 4

    def __post_init__(self) -> None:
        _check_int("TimeSignature", "numerator", self.numerator, 1, 255)
        if type(self.denominator) is not int or self.denominator not in TIME_SIGNATURE_DENOMINATORS:
            raise ValueError(
                "TimeSignature.denominator must be one of "
                f"{', '.join(map(str, TIME_SIGNATURE_DENOMINATORS))}, got {self.denominator!r}"
            )

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True, slots=True, init=False)
class Pattern:
    """Several tracks over a whole number of bars: what Barforge generates, edits and plays.

    Parameters
    ----------
    tracks : tuple of Track
    n_bars : int
        Length in bars, >= 1. Every note lies within the first ``n_bars`` bars.
    ticks_per_quarter : int
        Time resolution, 1..32767 (MIDI's ticks per beat). A bar must be a whole number of ticks.
    time_signature : TimeSignature
    tempo_us : int
        Microseconds per quarter note, 1..16777215 (500000 is 120 BPM); see :attr:`bpm`.
    """

    tracks: tuple[Track, ...]
    n_bars: int
    ticks_per_quarter: int
    time_signature: TimeSignature
    tempo_us: int

    def __init__(
        self,
        tracks: Iterable[Track] = (),
        n_bars: int = 4,
        ticks_per_quarter: int = 480,
        time_signature: TimeSignature | None = None,
        tempo_us: int = DEFAULT_TEMPO_US,
    ) -> None:
        # Written out (not the dataclass's own) so that ``tracks`` may be any iterable.
        for attribute, value in (
            ("tracks", tracks),
            ("n_bars", n_bars),
            ("ticks_per_quarter", ticks_per_quarter),
            ("time_signature", TimeSignature() if time_signature is None else time_signature),
            ("tempo_us", tempo_us),
        ):
            object.__setattr__(self, attribute, value)
        self._validate()

    def _validate(self) -> None:
        tracks = _as_tuple("Pattern.tracks", self.tracks)
        for track in tracks:
            if not isinstance(track, Track):
                raise ValueError(f"Pattern.tracks must hold Track values, got {track!r}")
        object.__setattr__(self, "tracks", tracks)
        _check_int("Pattern", "n_bars", self.n_bars, 1)
        _check_int("Pattern", "ticks_per_quarter", self.ticks_per_quarter, 1, 0x7FFF)
        if not isinstance(self.time_signature, TimeSignature):
            raise ValueError(
                f"Pattern.time_signature must be a TimeSignature, got {self.time_signature!r}"
            )
        _check_int("Pattern", "tempo_us", self.tempo_us, 1, MAX_TEMPO_US)
        ts = self.time_signature
        if (self.ticks_per_quarter * 4 * ts.numerator) % ts.denominator:
            raise ValueError(
                f"Pattern.ticks_per_quarter: a bar of {ts} at {self.ticks_per_quarter} ticks per "
                "quarter is not a whole number of ticks"
            )
        length = self.length_ticks
        for track in tracks:
            if track.end_tick > length:
                raise ValueError(
                    f"Pattern.n_bars: track {track.name!r} has a note ending at tick "
                    f"{track.end_tick}, past the end of {self.n_bars} bars ({length} ticks)"
                )

    # --- derived values -------------------------------------------------------------------
    @property
    def bar_ticks(self) -> int:
        """Length of one bar in ticks."""
        ts = self.time_signature
        return self.ticks_per_quarter * 4 * ts.numerator // ts.denominator

    @property
    def length_ticks(self) -> int:
        """Length of the whole pattern in ticks."""
        return self.n_bars * self.bar_ticks

    @property
    def bpm(self) -> float:
        """Tempo in quarter notes per minute."""
        return 60_000_000 / self.tempo_us

    @property
    def n_notes(self) -> int:
        return sum(len(t.notes) for t in self.tracks)

    def pitch_range(self) -> tuple[int, int] | None:
        """Lowest and highest pitch over the pitched (non-drum) tracks, or None if none."""
        pitches = [n.pitch for t in self.tracks if not t.is_drum for n in t.notes]
        return (min(pitches), max(pitches)) if pitches else None

    # --- helpers ----------------------------------------------------------------------------
    def _bar_span(self, first_bar: int, n_bars: int) -> tuple[int, int]:
        _check_int("bar range", "first_bar", first_bar, 0, self.n_bars - 1)
        _check_int("bar range", "n_bars", n_bars, 1, self.n_bars - first_bar)
        return first_bar * self.bar_ticks, (first_bar + n_bars) * self.bar_ticks

    def _track_index(self, track: int) -> int:
        _check_int("Pattern", "track", track, 0, max(len(self.tracks) - 1, 0))
        if not self.tracks:
            raise ValueError("Pattern.track: the pattern has no tracks")
        return track

    def notes_in_bars(self, track: int, first_bar: int, n_bars: int = 1) -> tuple[Note, ...]:
        """Notes of ``tracks[track]`` starting in the ``n_bars`` bars from ``first_bar``."""
        start, end = self._bar_span(first_bar, n_bars)
        return self.tracks[self._track_index(track)].notes_between(start, end)

    def replace_bars(
        self, track: int, first_bar: int, n_bars: int, notes: Iterable[Note]
    ) -> Pattern:
        """Replace the content of bars ``first_bar .. first_bar+n_bars-1`` of one track.

        Afterwards the range holds exactly ``notes`` (absolute ticks, each lying wholly inside
        the range): the notes that began in it are gone, and a note that began earlier and rang
        into it is cut at the range's start. Bars outside the range are untouched.
        """
        start, end = self._bar_span(first_bar, n_bars)
        index = self._track_index(track)
        new = tuple(notes)
        for note in new:
            if note.start < start or note.end > end:
                raise ValueError(
                    f"notes: a note at ticks {note.start}..{note.end} does not lie inside bars "
                    f"{first_bar}..{first_bar + n_bars - 1} (ticks {start}..{end})"
                )
        old = self.tracks[index]
        kept = []
        for note in old.notes:
            if start <= note.start < end:
                continue
            if note.start < start < note.end:
                note = dataclasses.replace(note, duration=start - note.start)
            kept.append(note)
        return self.with_track(index, old.with_notes(kept + list(new)))

    def with_track(self, index: int, track: Track) -> Pattern:
        """The same pattern with ``tracks[index]`` replaced by ``track``."""
        self._track_index(index)
        tracks = list(self.tracks)
        tracks[index] = track
        return dataclasses.replace(self, tracks=tuple(tracks))

    def transpose(self, semitones: int, tracks: Sequence[int] | None = None) -> Pattern:
        """Transpose the pitched tracks (all, or those indexed by ``tracks``); drums stay."""
        chosen = range(len(self.tracks)) if tracks is None else tracks
        result = list(self.tracks)
        for i in chosen:
            index = self._track_index(i)
            result[index] = self.tracks[index].transpose(semitones)
        return dataclasses.replace(self, tracks=tuple(result))

    def quantize(self, grid_ticks: int, *, durations: bool = True) -> Pattern:
        """Snap every onset (and, with ``durations``, every end) to the nearest grid line.

        A note is never shortened below one grid step, nor moved past the pattern's end; notes
        of one pitch that collide after snapping are resolved as in :func:`resolve_overlaps`.
        ``grid_ticks`` must divide a bar, so that every bar starts on the grid.
        """
        _check_int("quantize", "grid_ticks", grid_ticks, 1, self.bar_ticks)
        if self.bar_ticks % grid_ticks:
            raise ValueError(
                f"quantize.grid_ticks: {grid_ticks} ticks does not divide a bar "
                f"of {self.bar_ticks} ticks"
            )
        length = self.length_ticks

        def snap(tick: int) -> int:
            return (2 * tick + grid_ticks) // (2 * grid_ticks) * grid_ticks

        tracks = []
        for track in self.tracks:
            moved = []
            for note in track.notes:
                start = min(snap(note.start), length - grid_ticks)
                end = snap(note.end) if durations else start + note.duration
                end = min(max(end, start + grid_ticks if durations else start + 1), length)
                moved.append(dataclasses.replace(note, start=start, duration=end - start))
            tracks.append(track.with_notes(resolve_overlaps(moved)[0]))
        return dataclasses.replace(self, tracks=tuple(tracks))

    def merge_tracks(self, indices: Sequence[int], name: str | None = None) -> Pattern:
        """Merge several tracks into one, placed where the first of them was.

        The merged track keeps the first track's program, channel and drum flag; notes of one
        pitch that overlap are resolved as in :func:`resolve_overlaps`.
        """
        chosen = [self._track_index(i) for i in indices]
        if not chosen:
            raise ValueError("merge_tracks.indices: name at least one track")
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"merge_tracks.indices: a track is named twice in {list(indices)}")
        drums = {self.tracks[i].is_drum for i in chosen}
        if len(drums) > 1:
            raise ValueError("merge_tracks.indices: cannot merge drum and pitched tracks")
        first = self.tracks[chosen[0]]
        notes = [n for i in chosen for n in self.tracks[i].notes]
        merged = dataclasses.replace(
            first,
            name=first.name if name is None else name,
            notes=resolve_overlaps(notes)[0],
        )
        others = set(chosen[1:])
        tracks = [t for i, t in enumerate(self.tracks) if i not in others]
        tracks[chosen[0] - sum(1 for r in others if r < chosen[0])] = merged
        return dataclasses.replace(self, tracks=tuple(tracks))
