# SPDX-License-Identifier: MIT
"""The live player: a looped pattern sent to MIDI ports on a dedicated thread.

Timing: each group of messages due at one tick has an absolute deadline on the
:func:`time.perf_counter` clock. The thread sleeps until :data:`SPIN_SEC` before it, then spins,
then sends the whole group. It asks for realtime scheduling (SCHED_FIFO) where the OS allows
it, and lowers the interpreter's switch interval so that other Python threads give the lock
back quickly. Every lateness is kept (:meth:`Player.timing`) for ``barforge bench live``.

Musical rules:

- at one tick: note-offs, then a pending swap, then clock, program changes, then note-ons;
- **programs**: whatever plays, the receiver is set to its tracks' programs when it starts
  playing: :meth:`Player.play` (and a seek or the DAW's Start) sends every track's program;
  a swap sends, on the boundary, each program of the new pattern that differs from the one
  last sent on its (port, channel) (the last track on a channel wins, as at play), and
  nothing when they all match;
- a key (port, channel, pitch) sounds once: a second note-on first ends the first note, whose
  own note-off is then skipped (:class:`~engine.live.sounding.SoundingNotes`);
- **hot swap** (:meth:`Player.set_pattern`): the new pattern takes over at the next bar
  boundary (or the loop's start, or at once). A note sounding across that boundary keeps
  sounding when the new pattern has the same note (same key and onset), and ends on the new
  pattern's note-off; otherwise it ends at the boundary. Notes are only ever started at their
  onsets, so nothing is doubled;
- mute and solo act at once: the notes of a track that falls silent end now;
- **panic** (stop, pause, seek, port loss, an error, :meth:`Player.close` and process exit):
  a note-off for each sounding note, then sustain off, all notes off and all sound off on
  every channel used. :meth:`Player.panic` (the app's Panic button) sends what
  ``barforge panic`` sends, on every output: a note-off for all 128 keys, then those three
  controllers, on all 16 channels (:func:`~engine.live.messages.release_everything`), since
  what hangs may be notes this player never sent.

Commands (play, stop, swap...) may come from any thread; they run on the player's thread in
order, between deadlines. Listener callbacks run on the player's thread: keep them short (the
desktop app turns them into queued Qt signals).
"""

from __future__ import annotations

import atexit
import contextlib
import heapq
import itertools
import math
import os
import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.live import messages as mm
from engine.live.clock import ClockEvent, ExternalClock, InternalClock, check_bpm
from engine.live.recorder import Recorder
from engine.live.sounding import Key, SoundingNotes
from engine.live.timeline import Timeline
from engine.music import Pattern, Track

#: The thread sleeps until this long before a deadline, then spins on the clock.
SPIN_SEC = 0.0015
#: Longest sleep while playing to an external clock (the input is polled this often).
CLOCK_POLL_SEC = 0.001
#: Longest sleep otherwise (input notes, port checks, commands all wake sooner or are polled).
IDLE_POLL_SEC = 0.005
#: How often ports opened by name are checked for having vanished.
PORT_CHECK_SEC = 0.25
#: Delay from play() to the first note with the internal clock (room to schedule it on time).
START_LEAD_SEC = 0.02
#: SCHED_FIFO priority asked for (below JACK's own threads, above everything else).
REALTIME_PRIORITY = 50
#: Interpreter switch interval while a player runs.
SWITCH_INTERVAL_SEC = 0.0005
#: Lateness figures kept (a ring); 30 s of a dense pattern needs a few thousand.
MAX_TIMING_RECORDS = 1_000_000

SYNC_MODES = ("internal", "clock")
SWAP_POINTS = ("bar", "loop", "now")


class Port(Protocol):
    """What the player needs of an output port (:class:`engine.midi.ports.MidiOutput`)."""

    name: str

    def send(self, message: Sequence[int]) -> None: ...

    def exists(self) -> bool: ...


class InputPort(Protocol):
    """What the player needs of an input port (:class:`engine.midi.ports.MidiInput`)."""

    name: str

    def poll(self) -> list[Any]: ...

    def exists(self) -> bool: ...


class PlayerListener:
    """Callbacks from the player's thread; override what you need. Keep them short."""

    def state_changed(self, state: str) -> None:
        """``state`` is one of "stopped", "playing", "waiting" (for the DAW's Start), "closed"."""

    def error_raised(self, error: Exception) -> None:
        """A port was lost or playback failed; the player has stopped and sent a panic."""

    def pattern_swapped(self, beat: float) -> None:
        """A submitted pattern took over at song beat ``beat``."""

    def recording_finished(self, track: Track) -> None:
        """A recording armed by :meth:`Player.record` is complete."""


@dataclass(frozen=True, slots=True)
class SentGroup:
    """Messages sent at one deadline (kept when ``log_sent`` is on, for tests and benches)."""

    tick: int
    deadline_sec: float
    sent_sec: float
    messages: tuple[tuple[int, tuple[int, ...]], ...]

    @property
    def scheduled(self) -> bool:
        """Sent on a deadline (not a panic or the program changes at start)."""
        return self.deadline_sec != self.sent_sec


@dataclass(slots=True)
class _PendingSwap:
    timeline: Timeline
    tick: int | None  # None: at the next bar boundary, decided on the player's thread
    at: str


@dataclass(slots=True)
class _Sounding:
    off_tick: int
    start_tick: int
    key: Key
    token: int
    track: int


class Player:
    """Plays a looped pattern into MIDI output ports.

    Parameters
    ----------
    outputs : sequence of Port
        One port (each track on its own channel) or several (see ``port_per_track``).
    input : InputPort or None
        Where the DAW's clock and the composer's notes come from.
    sync : str
        "internal" (the player's own tempo) or "clock" (follow MIDI clock on ``input``).
    bpm : float
        Tempo of the internal clock (and the assumed tempo before an external clock's second
        pulse).
    send_clock : bool
        Send MIDI clock, Start, Stop, Continue and Song Position on the first output (internal
        sync only).
    port_per_track : bool
        Track ``i`` plays on ``outputs[i % len(outputs)]``.
    listener : PlayerListener or None
    realtime : bool
        Ask for SCHED_FIFO scheduling (granted where the OS allows; see :attr:`realtime`).
    log_sent : bool
        Keep every group sent (:meth:`sent`), for tests and benchmarks.
    """

    def __init__(
        self,
        outputs: Sequence[Port],
        input: InputPort | None = None,
        *,
        sync: str = "internal",
        bpm: float = 120.0,
        send_clock: bool = False,
        port_per_track: bool = False,
        listener: PlayerListener | None = None,
        realtime: bool = True,
        log_sent: bool = False,
    ) -> None:
        if not outputs:
            raise ValueError("the player needs at least one output port")
        if sync not in SYNC_MODES:
            raise ValueError(f"sync must be one of {', '.join(SYNC_MODES)}, got {sync!r}")
        if sync == "clock" and input is None:
            raise ValueError("following the DAW's MIDI clock needs an input port")
        if sync == "clock" and send_clock:
            raise ValueError("the player cannot send clock while it follows another clock")
        self.outputs = list(outputs)
        self.input = input
        self.sync = sync
        self.send_clock = send_clock
        self.port_per_track = port_per_track
        self.listener = listener or PlayerListener()
        self.log_sent = log_sent
        self._want_realtime = realtime
        #: Whether the thread got realtime scheduling (known once started).
        self.realtime: bool | None = None
        self._internal = InternalClock(bpm)
        self._external = ExternalClock(bpm) if sync == "clock" else None
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._quit = False
        self._state = "stopped"
        self._timeline: Timeline | None = None
        self._pending: _PendingSwap | None = None
        self._loop: tuple[int, int] | None = None
        self._muted: set[int] = set()
        self._soloed: set[int] = set()
        self._sounding = SoundingNotes()
        self._live: dict[int, _Sounding] = {}
        self._offs: list[tuple[int, int]] = []  # heap of (off tick, token)
        self._tokens = itertools.count(1)
        self._tick = 0  # the next tick to play (everything before it has been sent)
        self._cycle = 0
        self._index = 0
        self._next_pulse_out = 0
        self._recorder: Recorder | None = None
        self._next_port_check = 0.0
        self._lost: set[str] = set()
        self._late: list[float] = []
        self._sent: list[SentGroup] = []
        self._heard: set[Key] = set()
        #: The program last sent on each (port, channel).
        self._programs_sent: dict[tuple[int, int], int] = {}
        self._events: list[Callable[[], None]] = []
        self._tempo_log: list[tuple[int, float]] = []
        self.last_recording: Track | None = None
        self._thread = threading.Thread(target=self._run, name="barforge-player", daemon=True)
        self._saved_switch: float | None = None
        self._started = False
        self._closed = False

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> Player:
        """Start the thread (idempotent). Also registers a panic at process exit."""
        if not self._started:
            self._started = True
            self._saved_switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch, SWITCH_INTERVAL_SEC))
            _live_players.add(self)
            self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop with a panic and end the thread. Idempotent; the ports stay open (the caller
        owns them)."""
        if self._closed:
            return
        self._closed = True
        if self._started and self._thread.is_alive():

            def finish() -> None:
                self._panic_stop("stopped")
                self._quit = True

            self._commands.put(finish)
            self._wake.set()
            self._thread.join(timeout)
        _live_players.discard(self)
        if self._saved_switch is not None:
            sys.setswitchinterval(self._saved_switch)
        self._state = "closed"
        with contextlib.suppress(Exception):
            self.listener.state_changed("closed")

    def __enter__(self) -> Player:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- commands (any thread) ---------------------------------------------------------------
    def _call(self, action: Callable[[], Any], wait: bool = True, timeout: float = 5.0) -> Any:
        if self._closed:
            raise RuntimeError("the player is closed")
        self.start()
        if not wait:
            self._commands.put(action)
            self._wake.set()
            return None
        done = threading.Event()
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = action()
            except Exception as error:  # returned to the caller's thread
                box["error"] = error
            finally:
                done.set()

        self._commands.put(run)
        self._wake.set()
        if not done.wait(timeout):
            raise TimeoutError("the player thread did not answer")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    @property
    def state(self) -> str:
        return self._state

    @property
    def bpm(self) -> float:
        """The tempo playing: the internal clock's, or the DAW's as last estimated."""
        return self._external.bpm if self._external is not None else self._internal.bpm

    @property
    def pattern(self) -> Pattern | None:
        return self._timeline.pattern if self._timeline is not None else None

    def set_pattern(self, pattern: Pattern, at: str = "bar") -> None:
        """Play ``pattern``: at once when stopped; while playing, from the next bar boundary
        ("bar"), the next start of the loop ("loop") or the next tick ("now")."""
        if at not in SWAP_POINTS:
            raise ValueError(f"at must be one of {', '.join(SWAP_POINTS)}, got {at!r}")
        self._check_pattern(pattern)
        self._call(lambda: self._submit(pattern, at))

    @property
    def clock_without_start(self) -> bool:
        """Clock sync: a beat of MIDI clock has arrived but no Start or Continue, so the clock
        was joined mid-song and the player waits for the DAW's next Start."""
        external = self._external
        return (
            external is not None
            and not external.running
            and external.pulses_without_start >= mm.PULSES_PER_QUARTER
        )

    def play(self) -> None:
        """Start (or resume) playing; with clock sync, wait for the DAW's Start or Continue,
        or, when the DAW is already playing from a Start the player heard, come in at once
        where the DAW is."""
        self._call(self._play)

    def stop(self) -> None:
        """Stop, send a panic and go back to the loop's start."""
        self._call(lambda: self._panic_stop("stopped", rewind=True))

    def pause(self) -> None:
        """Stop and send a panic, keeping the position for :meth:`play`."""
        self._call(lambda: self._panic_stop("stopped"))

    def seek(self, beat: float) -> None:
        """Move to song beat ``beat`` (quarter notes); sounding notes end."""
        if not math.isfinite(beat) or beat < 0:
            raise ValueError(f"cannot seek to beat {beat!r}")
        self._call(lambda: self._seek(beat))

    def set_bpm(self, bpm: float) -> None:
        """Change the internal clock's tempo, from now on."""
        value = check_bpm(bpm)
        self._call(lambda: self._internal.set_bpm(value, time.perf_counter()))

    def set_loop(self, bars: tuple[int, int] | None) -> None:
        """Loop bars ``[first, end)`` of the pattern (None: all); takes effect at once."""
        self._call(lambda: self._set_loop(bars))

    def set_mute(self, track: int, muted: bool) -> None:
        self._call(lambda: self._set_audible(self._muted, track, muted))

    def set_solo(self, track: int, soloed: bool) -> None:
        self._call(lambda: self._set_audible(self._soloed, track, soloed))

    def panic(self) -> None:
        """Silence everything now, on all 16 channels of every output port, as ``barforge
        panic`` does (playing goes on from the next onsets)."""
        self._call(self._panic_everywhere)

    def record(
        self, n_bars: int, track: Track | None = None, grid_ticks: int | None = None
    ) -> float:
        """Record the input's notes for ``n_bars`` bars from the next bar boundary into a copy
        of ``track`` (name, program, channel; default a piano track), quantised to
        ``grid_ticks`` (default a sixteenth). :attr:`last_recording` and
        :meth:`PlayerListener.recording_finished` give the result. Returns the song beat at
        which the recording starts."""
        if self.input is None:
            raise ValueError("recording needs an input port")
        if n_bars < 1:
            raise ValueError(f"record at least one bar, not {n_bars}")
        return float(self._call(lambda: self._arm_recording(n_bars, track, grid_ticks)))

    def position(self) -> float:
        """The song beat playing now (approximate; for a playhead)."""
        if self._state != "playing" or self._timeline is None:
            return self._tick / (self._timeline.ticks_per_quarter if self._timeline else 1)
        clock = self._clock()
        return max(0.0, clock.beat_at(time.perf_counter()))

    def timing(self) -> list[float]:
        """Lateness of every group sent, seconds (send time minus deadline)."""
        return list(self._late)

    def sent(self) -> list[SentGroup]:
        """Every group sent (``log_sent`` only)."""
        return list(self._sent)

    def tempo_log(self) -> list[tuple[int, float]]:
        """``(pulse index, estimated BPM)`` after each external clock pulse (``log_sent``
        only)."""
        return list(self._tempo_log)

    # --- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        self.realtime = _try_realtime() if self._want_realtime else False
        while not self._quit:
            try:
                self._cycle_once()
            except Exception as error:  # report, release every note, go on
                self._fail(error)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._panic_stop("stopped")
                raise

    def _cycle_once(self) -> None:
        self._drain()
        if self._quit:
            return
        if self.input is not None:
            self._read_input()
        now = time.perf_counter()
        if now >= self._next_port_check:
            self._next_port_check = now + PORT_CHECK_SEC
            self._check_ports()
        wait = self._step()
        if wait > 0:
            self._wake.wait(wait)
            self._wake.clear()

    def _fail(self, error: Exception) -> None:
        """Playback cannot go on: panic, stop, tell the listener; the thread stays."""
        with contextlib.suppress(Exception):
            self._panic_stop("stopped")
        with contextlib.suppress(Exception):
            self.listener.error_raised(error)

    def _drain(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            command()

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.listener.state_changed(state)

    def _clock(self) -> InternalClock | ExternalClock:
        return self._external if self._external is not None else self._internal

    # --- scheduling --------------------------------------------------------------------------
    def _next_tick(self) -> int | None:
        candidates = []
        if self._offs:
            candidates.append(self._offs[0][0])
        on = self._next_on()
        if on is not None:
            candidates.append(on)
        if self._pending is not None and self._pending.tick is not None:
            candidates.append(self._pending.tick)
        if self.send_clock:
            candidates.append(self._pulse_tick(self._next_pulse_out))
        if self._recorder is not None:
            candidates.append(self._recorder.end_tick)
        return min(candidates) if candidates else None

    def _next_on(self) -> int | None:
        timeline = self._timeline
        if timeline is None or not timeline.notes:
            return None
        if self._index >= len(timeline.notes):
            self._cycle += 1
            self._index = timeline.first_at_or_after(timeline.loop_start)
            if self._index >= len(timeline.notes):
                return None
        note = timeline.notes[self._index]
        return self._cycle * timeline.loop_ticks + note.start - timeline.loop_start

    def _pulse_tick(self, pulse: int) -> int:
        tpq = self._timeline.ticks_per_quarter if self._timeline else 480
        return -(-pulse * tpq // mm.PULSES_PER_QUARTER)

    def _step(self) -> float:
        """Play what is due; return how long to sleep."""
        idle = CLOCK_POLL_SEC if self._external is not None else IDLE_POLL_SEC
        if self._state != "playing" or self._timeline is None:
            return idle if self.input is not None else PORT_CHECK_SEC
        if self._pending is not None and self._pending.tick is None:
            self._pending.tick = self._swap_tick(self._pending.at)
        tick = self._next_tick()
        if tick is None:
            return idle
        tpq = self._timeline.ticks_per_quarter
        beat = tick / tpq
        external = self._external
        if external is not None and (
            not external.has_pulse or beat > external.horizon_beat() + 1e-9
        ):
            return CLOCK_POLL_SEC
        deadline = self._clock().time_of(beat)
        remaining = deadline - time.perf_counter()
        if remaining > SPIN_SEC:
            return min(remaining - SPIN_SEC, idle)
        out = self._play_tick(tick)  # prepared before the deadline, sent on it
        while time.perf_counter() < deadline:
            pass
        if out:
            self._send(out, tick, deadline)
        self._notify()
        # a recording that has ended
        if self._recorder is not None and tick >= self._recorder.end_tick:
            self._finish_recording()
        return 0.0

    def _play_tick(self, tick: int) -> list[tuple[int, tuple[int, ...]]]:
        """Advance the state through ``tick``; return the messages due then."""
        out: list[tuple[int, tuple[int, ...]]] = []
        # 1. note-offs due
        while self._offs and self._offs[0][0] <= tick:
            _, token = heapq.heappop(self._offs)
            entry = self._live.pop(token, None)
            if entry is not None and self._sounding.end(entry.key, token):
                out.append((entry.key[0], mm.note_off(entry.key[1], entry.key[2])))
        # 2. a pending swap
        pending = self._pending
        if pending is not None and pending.tick is not None and pending.tick <= tick:
            tick = self._swap(tick, out)  # in the new pattern's ticks
        timeline = self._timeline
        assert timeline is not None
        # 3. clock out
        if self.send_clock:
            while self._pulse_tick(self._next_pulse_out) <= tick:
                out.append((0, (mm.CLOCK,)))
                self._next_pulse_out += 1
        # 4. note-ons
        while (on := self._next_on()) is not None and on == tick:
            note = timeline.notes[self._index]
            self._index += 1
            if not self._audible(note.track):
                continue
            key = (note.port, note.channel, note.pitch)
            token = next(self._tokens)
            if self._sounding.start(key, token):
                out.append((note.port, mm.note_off(note.channel, note.pitch)))
            out.append((note.port, mm.note_on(note.channel, note.pitch, note.velocity)))
            off = tick + note.end - note.start
            self._live[token] = _Sounding(off, tick, key, token, note.track)
            heapq.heappush(self._offs, (off, token))
        self._tick = tick + 1
        return out

    def _send(self, out: list[tuple[int, tuple[int, ...]]], tick: int, deadline: float) -> None:
        outputs = self.outputs
        sent = time.perf_counter()
        try:
            for port, message in out:
                outputs[port].send(message)
        finally:
            self._heard_update(out)
        if len(self._late) < MAX_TIMING_RECORDS:
            self._late.append(sent - deadline)
        if self.log_sent:
            self._sent.append(SentGroup(tick, deadline, sent, tuple(out)))
        self._notify()

    def _send_now(self, out: list[tuple[int, tuple[int, ...]]]) -> None:
        """Send outside the schedule (panics, program changes at start)."""
        if not out:
            return
        now = time.perf_counter()
        for port, message in out:
            with contextlib.suppress(Exception):  # a lost port must not stop a panic
                self.outputs[port].send(message)
        self._heard_update(out)
        if self.log_sent:
            self._sent.append(SentGroup(self._tick, now, now, tuple(out)))

    def _heard_update(self, out: list[tuple[int, tuple[int, ...]]]) -> None:
        """Keep the keys sounding at the receivers, from what was actually sent: the last line
        of defence of a panic, whatever state the scheduler was left in; and the programs
        they were last sent."""
        heard = self._heard
        for port, message in out:
            if len(message) == 2 and message[0] & 0xF0 == mm.PROGRAM_CHANGE:
                self._programs_sent[(port, message[0] & 0x0F)] = message[1]
            elif len(message) == 3:
                kind = message[0] & 0xF0
                if kind == mm.NOTE_ON and message[2] > 0:
                    heard.add((port, message[0] & 0x0F, message[1]))
                elif kind == mm.NOTE_OFF or kind == mm.NOTE_ON:
                    heard.discard((port, message[0] & 0x0F, message[1]))

    def _notify(self) -> None:
        """Tell the listener what happened, once the messages are out."""
        while self._events:
            self._events.pop(0)()

    # --- commands on the thread --------------------------------------------------------------
    def _submit(self, pattern: Pattern, at: str) -> None:
        timeline = Timeline(
            pattern,
            n_ports=len(self.outputs),
            port_per_track=self.port_per_track,
            loop=self._loop_for(pattern),
        )
        if self._timeline is None or self._state != "playing":
            old = self._timeline
            self._timeline = timeline
            if old is not None and old.ticks_per_quarter != timeline.ticks_per_quarter:
                self._tick = round(self._tick * timeline.ticks_per_quarter / old.ticks_per_quarter)
            self._pending = None
            self._place_cursor(self._tick)
            return
        self._pending = _PendingSwap(timeline, None, at)

    def _loop_for(self, pattern: Pattern) -> tuple[int, int] | None:
        if self._loop is None:
            return None
        first, end = self._loop
        if end > pattern.n_bars:
            return None
        return (first, end)

    def _swap_tick(self, at: str) -> int:
        timeline = self._timeline
        assert timeline is not None
        tick = max(
            self._tick,
            math.ceil(self._clock().beat_at(time.perf_counter()) * timeline.ticks_per_quarter),
        )
        if at == "now":
            return tick
        if at == "loop":
            loop = timeline.loop_ticks
            return -(-tick // loop) * loop
        bar = timeline.bar_ticks
        return -(-tick // bar) * bar

    def _swap(self, tick: int, out: list[tuple[int, tuple[int, ...]]]) -> int:
        pending = self._pending
        old = self._timeline
        assert pending is not None
        assert old is not None
        self._pending = None
        new = pending.timeline
        if new.ticks_per_quarter != old.ticks_per_quarter:
            scale = new.ticks_per_quarter / old.ticks_per_quarter
            tick = round(tick * scale)
            for entry in self._live.values():
                entry.off_tick = round(entry.off_tick * scale)
                entry.start_tick = round(entry.start_tick * scale)
        self._timeline = new
        position = new.position(tick)
        # Sounding notes: keep those the new pattern also has, end the rest now.
        ended: list[int] = []
        for token, entry in self._live.items():
            port, channel, pitch = entry.key
            start = position - (tick - entry.start_tick)
            same = (
                new.find(port, channel, pitch, start)
                if start >= new.loop_start and self._audible(entry.track)
                else None
            )
            if same is not None and same.end - same.start > tick - entry.start_tick:
                entry.off_tick = entry.start_tick + same.end - same.start
                entry.track = same.track
            else:
                ended.append(token)
        for token in ended:
            entry = self._live.pop(token)
            if self._sounding.end(entry.key, token):
                out.append((entry.key[0], mm.note_off(entry.key[1], entry.key[2])))
        self._offs = [(entry.off_tick, token) for token, entry in self._live.items()]
        heapq.heapify(self._offs)
        # Programs that differ from those last sent (new tracks, changed ones) switch at the
        # boundary; the last track on a channel wins, as when playing starts.
        programs = {(port, channel): program for port, channel, program in new.programs()}
        for (port, channel), program in programs.items():
            if self._programs_sent.get((port, channel)) != program:
                out.append((port, mm.program_change(channel, program)))
        self._place_cursor(tick)
        self._tick = tick
        beat = tick / new.ticks_per_quarter
        self._events.append(lambda: self.listener.pattern_swapped(beat))
        return tick

    def _place_cursor(self, tick: int) -> None:
        timeline = self._timeline
        if timeline is None:
            return
        self._cycle = tick // timeline.loop_ticks
        self._index = timeline.first_at_or_after(timeline.position(tick))

    def _play(self) -> None:
        if self._timeline is None:
            raise ValueError("there is no pattern to play: give one with set_pattern")
        if self._state == "playing" or self._state == "waiting":
            return
        external = self._external
        if external is not None:
            if external.running and external.has_pulse:
                # The DAW is already playing (its Start came before this play, or before the
                # pattern): come in at its next pulse, where the pulse count says the song is.
                self._begin(self._pulse_tick(external.next_pulse), 0.0, resumed=True)
                return
            self._set_state("waiting")
            return
        self._begin(self._tick, time.perf_counter() + START_LEAD_SEC, resumed=self._tick > 0)

    def _begin(self, tick: int, at_sec: float, resumed: bool) -> None:
        """Start playing song tick ``tick`` at ``at_sec``."""
        timeline = self._timeline
        assert timeline is not None
        self._tick = tick
        self._place_cursor(tick)
        beat = tick / timeline.ticks_per_quarter
        if self._external is None:
            self._internal.start(at_sec, beat)
        out = [(port, mm.program_change(ch, prog)) for port, ch, prog in timeline.programs()]
        if self.send_clock:
            pulse = math.ceil(beat * mm.PULSES_PER_QUARTER)
            self._next_pulse_out = pulse
            if resumed:
                out.append((0, mm.song_position(pulse // mm.PULSES_PER_SPP_UNIT)))
                out.append((0, (mm.CONTINUE,)))
            else:
                out.append((0, (mm.START,)))
        self._send_now(out)
        self._set_state("playing")

    def _panic_stop(self, state: str, rewind: bool = False) -> None:
        was_playing = self._state == "playing"
        if self.send_clock and was_playing:
            self._send_now([(0, (mm.STOP,))])
        self._panic_now()
        if self._pending is not None:
            # A pattern that was waiting for its bar takes over now.
            self._timeline = self._pending.timeline
            self._pending = None
        if rewind:
            self._tick = 0
        self._place_cursor(self._tick)
        if self._recorder is not None and was_playing:
            self._finish_recording()
        self._set_state(state)

    def _panic_now(self) -> None:
        extra = self._timeline.channels() if self._timeline is not None else set()
        extra |= {(port, channel) for port, channel, _ in self._heard}
        out = self._sounding.panic(extra)
        released = {(port, m[0] & 0x0F, m[1]) for port, m in out if mm.is_note_off(m)}
        missed = sorted(self._heard - released)  # sent but forgotten by a failed step
        out[:0] = [(port, mm.note_off(channel, pitch)) for port, channel, pitch in missed]
        self._forget_notes()
        self._send_now(out)

    def _panic_everywhere(self) -> None:
        """The Panic button: every key and the three controllers on all 16 channels of every
        output port, what ``barforge panic`` sends (it covers the notes this player sent)."""
        self._sounding.panic()  # forgets every key and channel; its messages are covered
        self._forget_notes()
        ports = range(len(self.outputs))

        def send_channel(messages: Sequence[mm.Message]) -> None:
            self._send_now([(port, message) for port in ports for message in messages])

        mm.release_everything(send_channel)

    def _forget_notes(self) -> None:
        """After a panic: no note sounds any more (playing goes on from the next onsets)."""
        self._events.clear()
        self._live.clear()
        self._offs.clear()
        self._heard.clear()

    def _seek(self, beat: float) -> None:
        if self._timeline is None:
            raise ValueError("there is no pattern to seek in")
        tick = round(beat * self._timeline.ticks_per_quarter)
        playing = self._state == "playing"
        self._panic_now()
        self._tick = tick
        self._place_cursor(tick)
        if playing and self._external is None:
            self._begin(tick, time.perf_counter() + START_LEAD_SEC, resumed=True)

    def _set_loop(self, bars: tuple[int, int] | None) -> None:
        self._loop = bars
        if self._timeline is not None:
            pattern = self._timeline.pattern
            if bars is not None and not 0 <= bars[0] < bars[1] <= pattern.n_bars:
                self._loop = None
                raise ValueError(
                    f"loop bars {bars[0]}..{bars[1]} are not inside the pattern's "
                    f"{pattern.n_bars} bars"
                )
            self._timeline = Timeline(
                pattern,
                n_ports=len(self.outputs),
                port_per_track=self.port_per_track,
                loop=self._loop,
            )
            self._place_cursor(self._tick)

    def _audible(self, track: int) -> bool:
        if self._soloed:
            return track in self._soloed and track not in self._muted
        return track not in self._muted

    def _set_audible(self, group: set[int], track: int, flag: bool) -> None:
        if flag:
            group.add(track)
        else:
            group.discard(track)
        silent = [t for t, e in self._live.items() if not self._audible(e.track)]
        out = []
        for token in silent:
            entry = self._live.pop(token)
            if self._sounding.end(entry.key, token):
                out.append((entry.key[0], mm.note_off(entry.key[1], entry.key[2])))
        self._offs = [(e.off_tick, t) for t, e in self._live.items()]
        heapq.heapify(self._offs)
        self._send_now(out)

    # --- input -------------------------------------------------------------------------------
    def _read_input(self) -> None:
        assert self.input is not None
        for received in self.input.poll():
            message = received.message
            if not message:
                continue
            status = message[0]
            if status >= 0xF0:
                if self._external is not None:
                    event = self._external.receive(
                        status, tuple(message[1:]), received.time_sec, received.source_sec
                    )
                    if event is not None:
                        self._clock_event(event)
                continue
            if self._recorder is not None and self._timeline is not None:
                beat = self._clock().beat_at(received.time_sec)
                self._recorder.receive(message, beat * self._timeline.ticks_per_quarter)

    def _clock_event(self, event: ClockEvent) -> None:
        if self.log_sent and event.kind == "pulse" and self._external is not None:
            self._tempo_log.append((self._external.last_pulse, self._external.bpm))
        if self._timeline is None:
            return
        tpq = self._timeline.ticks_per_quarter
        tick = round(event.beat * tpq)
        if event.kind in ("start", "continue"):
            if self._state in ("waiting", "playing"):
                if self._state == "playing":
                    self._panic_now()
                self._begin(tick, time.perf_counter(), resumed=event.kind == "continue")
        elif event.kind == "stop":
            if self._state == "playing":
                self._panic_stop("waiting")
        elif event.kind == "seek":
            self._panic_now()
            self._tick = tick
            self._place_cursor(tick)

    def _arm_recording(self, n_bars: int, track: Track | None, grid_ticks: int | None) -> float:
        timeline = self._timeline
        if timeline is None:
            raise ValueError("recording needs a pattern playing (its bars and tempo)")
        tpq = timeline.ticks_per_quarter
        grid = grid_ticks if grid_ticks is not None else max(1, tpq // 4)
        if self._state == "playing":
            now = max(self._tick, math.ceil(self._clock().beat_at(time.perf_counter()) * tpq))
        else:
            now = self._tick
        bar = timeline.bar_ticks
        start = -(-now // bar) * bar
        self._recorder = Recorder(
            start_tick=start,
            n_bars=n_bars,
            bar_ticks=bar,
            grid_ticks=grid,
            template=track,
            pattern_bars=timeline.pattern.n_bars,
        )
        return start / tpq

    def _finish_recording(self) -> None:
        recorder = self._recorder
        self._recorder = None
        if recorder is None:
            return
        track = recorder.finish()
        self.last_recording = track
        self.listener.recording_finished(track)

    # --- ports -------------------------------------------------------------------------------
    def _check_ports(self) -> None:
        ports: list[Port | InputPort] = [*self.outputs]
        if self.input is not None:
            ports.append(self.input)
        lost = [port for port in ports if not port.exists()]
        names = {port.name for port in lost}
        fresh = names - self._lost
        self._lost = names
        if not fresh:
            return
        from engine.midi.ports import PortLostError

        if self._state in ("playing", "waiting"):
            self._panic_stop("stopped")
        raise PortLostError(
            ", ".join(sorted(fresh)),
            "the port has gone (its program quit, or the MIDI system stopped)",
            "Playback stopped and every note was released; reopen the port or choose another",
        )

    @staticmethod
    def _check_pattern(pattern: Pattern) -> None:
        if not isinstance(pattern, Pattern):
            raise TypeError(f"expected a Pattern, got {type(pattern).__name__}")


def _try_realtime() -> bool:
    """Ask for SCHED_FIFO for the calling thread; False where the OS refuses."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    except (AttributeError, OSError):
        return False
    return True


_live_players: weakref.WeakSet[Player] = weakref.WeakSet()


@atexit.register
def _panic_at_exit() -> None:
    """Process exit (including SIGTERM turned into SystemExit): no note left hanging."""
    for player in list(_live_players):
        with contextlib.suppress(Exception):
            player.close(timeout=1.0)
