# SPDX-License-Identifier: MIT
"""Clocks map musical time (quarter-note beats since the song's start) to
:func:`time.perf_counter` seconds and back.

- :class:`InternalClock` runs at a tempo the user sets (BPM); a tempo change keeps the current
  beat where it is and changes the slope from there.
- :class:`ExternalClock` follows a DAW's MIDI clock (24 pulses per quarter note) with Start,
  Stop, Continue and Song Position Pointer. It fits a line through the arrival times of the
  last :data:`FIT_PULSES` pulses, so a tempo change is followed within half a beat, and it
  predicts no further than the next pulse: if the DAW slows down, nothing plays early. The
  line is fitted on the MIDI system's own clock (the port's exact time stamps) and mapped to
  :func:`time.perf_counter` through the latest estimate of how the two relate, so a better
  estimate moves the whole line instead of bending it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.live.messages import (
    CLOCK,
    CONTINUE,
    PULSES_PER_QUARTER,
    PULSES_PER_SPP_UNIT,
    SONG_POSITION,
    START,
    STOP,
)

#: Pulses of the tempo fit: half a beat, so that a tempo change is followed within a beat.
FIT_PULSES = 12
#: Tempo range accepted from a clock source; pulses implying a tempo outside it restart the fit
#: (a source that paused without Stop, or a burst of pulses).
MIN_BPM = 10.0
MAX_BPM = 999.0


class InternalClock:
    """A steady tempo, set by the user.

    Parameters
    ----------
    bpm : float
        Quarter notes per minute, within [MIN_BPM, MAX_BPM].
    """

    def __init__(self, bpm: float = 120.0) -> None:
        self._bpm = check_bpm(bpm)
        self._origin_sec = 0.0
        self._origin_beat = 0.0

    @property
    def bpm(self) -> float:
        return self._bpm

    @property
    def sec_per_beat(self) -> float:
        return 60.0 / self._bpm

    def start(self, now_sec: float, beat: float) -> None:
        """Beat ``beat`` sounds at ``now_sec``."""
        self._origin_sec = now_sec
        self._origin_beat = beat

    def set_bpm(self, bpm: float, now_sec: float) -> None:
        """Change tempo at ``now_sec`` without moving the beat that is playing then."""
        beat = self.beat_at(now_sec)
        self._bpm = check_bpm(bpm)
        self.start(now_sec, beat)

    def time_of(self, beat: float) -> float:
        return self._origin_sec + (beat - self._origin_beat) * self.sec_per_beat

    def beat_at(self, time_sec: float) -> float:
        return self._origin_beat + (time_sec - self._origin_sec) / self.sec_per_beat


def check_bpm(bpm: float) -> float:
    """``bpm`` as a float, or ValueError naming the allowed range."""
    value = float(bpm)
    if not MIN_BPM <= value <= MAX_BPM:
        raise ValueError(f"tempo {bpm!r} BPM is outside {MIN_BPM:g}..{MAX_BPM:g} BPM")
    return value


@dataclass(frozen=True, slots=True)
class ClockEvent:
    """What a clock message meant to the transport.

    ``kind`` is one of ``"start"`` (play from ``beat``, the song's start or the position a
    Song Position Pointer set), ``"continue"`` (play on from ``beat``), ``"stop"``, ``"seek"``
    (a Song Position Pointer while stopped) and ``"pulse"`` (a clock pulse while running).
    """

    kind: str
    beat: float


class ExternalClock:
    """Follows MIDI clock messages fed to :meth:`receive` in arrival order.

    Parameters
    ----------
    bpm : float
        Tempo assumed until two pulses have arrived.
    """

    def __init__(self, bpm: float = 120.0) -> None:
        self._default_sec_per_pulse = 60.0 / check_bpm(bpm) / PULSES_PER_QUARTER
        self.running = False
        #: Index of the next pulse to arrive (pulse 0 is the song's start).
        self.next_pulse = 0
        self._fit: deque[tuple[int, float]] = deque(maxlen=FIT_PULSES)
        self._sec_per_pulse = self._default_sec_per_pulse
        self._intercept = 0.0  # on the source's clock
        self._offset = 0.0  # perf_counter seconds minus the source's clock
        #: Pulses that arrived while the source was not known to run (no Start or Continue
        #: seen): the clock was joined mid-song, and only the DAW's next Start can place it.
        self.pulses_without_start = 0

    @property
    def bpm(self) -> float:
        """The source's tempo as last estimated."""
        return 60.0 / (self._sec_per_pulse * PULSES_PER_QUARTER)

    @property
    def has_pulse(self) -> bool:
        """Whether a pulse has arrived since the transport started (times are known)."""
        return bool(self._fit)

    @property
    def last_pulse(self) -> int:
        """Index of the last pulse that arrived."""
        return self.next_pulse - 1

    def receive(
        self,
        status: int,
        data: tuple[int, ...],
        time_sec: float,
        source_sec: float | None = None,
    ) -> ClockEvent | None:
        """Take one realtime or Song Position message; return what it means, or None.

        ``time_sec`` is its arrival on the :func:`time.perf_counter` clock; ``source_sec``,
        when given, the same moment on the MIDI system's own clock (exact between messages of
        one port: :attr:`engine.midi.ports.Received.source_sec`).
        """
        if source_sec is None:
            source_sec = time_sec
        self._offset = time_sec - source_sec
        if status == CLOCK:
            if not self.running:
                self.pulses_without_start += 1
                return None
            self._add_pulse(self.next_pulse, source_sec)
            self.next_pulse += 1
            return ClockEvent("pulse", self.last_pulse / PULSES_PER_QUARTER)
        if status == START:
            self.running = True
            self.pulses_without_start = 0
            self.next_pulse = 0
            self._fit.clear()
            return ClockEvent("start", 0.0)
        if status == CONTINUE:
            self.running = True
            self.pulses_without_start = 0
            self._fit.clear()
            return ClockEvent("continue", self.next_pulse / PULSES_PER_QUARTER)
        if status == STOP:
            was = self.running
            self.running = False
            self._fit.clear()
            return ClockEvent("stop", self.next_pulse / PULSES_PER_QUARTER) if was else None
        if status == SONG_POSITION and len(data) >= 2:
            sixteenths = data[0] | (data[1] << 7)
            self.next_pulse = sixteenths * PULSES_PER_SPP_UNIT
            self._fit.clear()
            return ClockEvent("seek", self.next_pulse / PULSES_PER_QUARTER)
        return None

    def _add_pulse(self, index: int, time_sec: float) -> None:
        if self._fit:
            last_index, last_time = self._fit[-1]
            step = (time_sec - last_time) / max(1, index - last_index)
            if not _plausible(step):
                self._fit.clear()
        self._fit.append((index, time_sec))
        n = len(self._fit)
        if n >= 2:
            # Least-squares line time = intercept + slope * index through the window.
            mean_i = sum(i for i, _ in self._fit) / n
            mean_t = sum(t for _, t in self._fit) / n
            var = sum((i - mean_i) ** 2 for i, _ in self._fit)
            cov = sum((i - mean_i) * (t - mean_t) for i, t in self._fit)
            slope = cov / var
            if _plausible(slope):
                self._sec_per_pulse = slope
            self._intercept = mean_t - self._sec_per_pulse * mean_i
        else:
            self._intercept = time_sec - self._sec_per_pulse * index

    def horizon_beat(self) -> float:
        """The latest beat whose time is known: up to the next pulse."""
        return self.next_pulse / PULSES_PER_QUARTER

    def time_of(self, beat: float) -> float:
        """Predicted time of ``beat``; meaningful up to :meth:`horizon_beat`."""
        return self._offset + self._intercept + beat * PULSES_PER_QUARTER * self._sec_per_pulse

    def beat_at(self, time_sec: float) -> float:
        source_sec = time_sec - self._offset
        return (source_sec - self._intercept) / (self._sec_per_pulse * PULSES_PER_QUARTER)


def _plausible(sec_per_pulse: float) -> bool:
    if sec_per_pulse <= 0:
        return False
    bpm = 60.0 / (sec_per_pulse * PULSES_PER_QUARTER)
    return MIN_BPM <= bpm <= MAX_BPM
