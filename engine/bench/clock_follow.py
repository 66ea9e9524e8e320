# SPDX-License-Identifier: MIT
"""How closely the player follows an external MIDI clock: the clock-following rows of
``barforge bench live``.

Each run starts a private JACK server (dummy backend, synchronous mode) and Debian's
``jack_midi_clock`` (a clock source nobody here wrote) at a tempo, driven by JACK transport.
The player follows it (``sync="clock"``) playing one bar of sixteenth notes whose pitches say
which sixteenth of the bar they are. ``jack_midi_dump`` hears the clock and the notes with
JACK frame times, so the clock's grid is its own pulses: sixteenth ``k`` of the song falls
on pulse ``6 k``. An onset's distance is its frame minus that pulse's frame, in ms.

Two ways in: ``"start"`` arms the player before the DAW's Start (the usual case), ``"running"``
presses play while the clock already runs (the player heard the Start but was not playing).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass

import numpy as np

from engine.live.jack import Dumped, JackServer, MidiDump, Transport
from engine.live.player import Player
from engine.midi.ports import MidiInput, MidiOutput
from engine.music import Note, Pattern, Track

CLOCK_TOOL = "jack_midi_clock"
CLOCK_PORT = "jack_midi_clock:mclk_out"
TPQ = 480
#: The first pitch of the bar of sixteenths (sixteenth ``j`` of a bar is ``FIRST_PITCH + j``).
FIRST_PITCH = 60
JOINS = ("start", "running")


@dataclass(frozen=True, slots=True)
class ClockRun:
    """One run: ``onsets`` heard and the distances (absolute, ms) of their frames from the
    clock's grid; NaN figures when nothing was heard."""

    bpm: float
    join: str
    onsets: int
    p50_ms: float
    p90_ms: float
    max_ms: float
    pulse_ms: float
    period_ms: float
    distances_ms: tuple[float, ...] = ()
    #: Periods jackd itself reported running late during the run (:meth:`JackServer.xruns`).
    xruns: int = 0


def sixteenths_bar() -> Pattern:
    notes = [Note(j * TPQ // 4, TPQ // 8, FIRST_PITCH + j, 100) for j in range(16)]
    return Pattern((Track("sixteenths", 0, False, 0, notes),), n_bars=1, ticks_per_quarter=TPQ)


def grid_distances_ms(dumped: list[Dumped], rate: int) -> list[float]:
    """Each note-on's frame minus the frame of its sixteenth's pulse, in ms.

    A note-on of pitch ``FIRST_PITCH + j`` belongs to the song sixteenth ``k`` with ``k % 16 ==
    j`` nearest its frame (16 sixteenths apart, so a note off by less than 8 of them is
    placed right); sixteenth ``k`` is pulse ``6 k`` counted from the clock's Start.
    """
    starts = [d.frame for d in dumped if d.message == (0xFA,)]
    if not starts:
        return []
    pulses = np.array([d.frame for d in dumped if d.message == (0xF8,) and d.frame >= starts[0]])
    out = []
    for d in dumped:
        if len(d.message) != 3 or d.message[0] & 0xF0 != 0x90 or d.message[2] == 0:
            continue
        if d.frame < starts[0] or len(pulses) < 2:
            continue
        nearest = int(np.argmin(np.abs(pulses - d.frame)))
        j = d.message[1] - FIRST_PITCH
        k = j + 16 * round((nearest / 6 - j) / 16)
        if 0 <= 6 * k < len(pulses):
            out.append((d.frame - int(pulses[6 * k])) / rate * 1e3)
    return out


def follow_once(bpm: float, seconds: float, join: str = "start", period: int = 64) -> ClockRun:
    """One run on a fresh private server (see the module docstring)."""
    if join not in JOINS:
        raise ValueError(f"join must be one of {', '.join(JOINS)}, not {join!r}")
    with JackServer(period) as server:
        saved = os.environ.get("JACK_DEFAULT_SERVER")
        os.environ["JACK_DEFAULT_SERVER"] = server.name
        clock = subprocess.Popen(
            [CLOCK_TOOL, "-b", f"{bpm:g}", "-B"],
            env=server.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        transport = Transport(server)
        out = MidiOutput("out", api="jack", client="Barforge bench")
        source = MidiInput("in", api="jack", client="Barforge sync")
        player = Player([out], source, sync="clock", bpm=120).start()

        try:
            server.wait_for_port(CLOCK_PORT)
            server.connect(CLOCK_PORT, source.name)
            dump = MidiDump(server, "clock-dump").start([CLOCK_PORT, out.name])
            player.set_pattern(sixteenths_bar())
            if join == "start":
                player.play()
                transport.say("play")
            else:
                transport.say("play")
                time.sleep(0.5)
                player.play()
            time.sleep(seconds)
            transport.say("stop")
            dumped = dump.stop(settle_sec=0.3)
            xruns = len(server.xruns())
        finally:
            player.close()
            transport.close()
            clock.send_signal(signal.SIGINT)
            clock.wait(5)
            out.close()
            source.close()
            if saved is None:
                os.environ.pop("JACK_DEFAULT_SERVER", None)
            else:
                os.environ["JACK_DEFAULT_SERVER"] = saved
        rate = server.rate
    distances = np.abs(np.array(grid_distances_ms(dumped, rate)))
    empty = len(distances) == 0
    return ClockRun(
        bpm=bpm,
        join=join,
        onsets=len(distances),
        p50_ms=float("nan") if empty else float(np.median(distances)),
        p90_ms=float("nan") if empty else float(np.percentile(distances, 90)),
        max_ms=float("nan") if empty else float(distances.max()),
        pulse_ms=60_000 / bpm / 24,
        period_ms=period / rate * 1e3,
        distances_ms=tuple(float(d) for d in distances),
        xruns=xruns,
    )


@dataclass(frozen=True, slots=True)
class ClockRow:
    """``runs`` consecutive runs at one tempo, their onsets pooled."""

    bpm: float
    runs: int
    silent_runs: int
    onsets: int
    p50_ms: float
    p90_ms: float
    max_ms: float
    pulse_ms: float


def clock_rows(
    bpms: list[float], runs: int, seconds: float, joins: tuple[str, ...] = JOINS
) -> list[ClockRow]:
    """``runs`` runs per tempo (alternating the ways in of ``joins``), printed as they end."""
    rows = []
    for bpm in bpms:
        done = [follow_once(bpm, seconds, joins[i % len(joins)]) for i in range(runs)]
        pooled = np.array([d for run in done for d in run.distances_ms])
        empty = len(pooled) == 0
        row = ClockRow(
            bpm=bpm,
            runs=runs,
            silent_runs=sum(1 for run in done if run.onsets == 0),
            onsets=len(pooled),
            p50_ms=float("nan") if empty else float(np.median(pooled)),
            p90_ms=float("nan") if empty else float(np.percentile(pooled, 90)),
            max_ms=float("nan") if empty else float(pooled.max()),
            pulse_ms=60_000 / bpm / 24,
        )
        print(
            f"following jack_midi_clock at {bpm:g} BPM, {runs} runs of {seconds:g} s: "
            f"{row.onsets} onsets, distance to the clock's grid p50 {row.p50_ms:.2f} "
            f"p90 {row.p90_ms:.2f} max {row.max_ms:.2f} ms (one pulse {row.pulse_ms:.1f} ms); "
            f"runs with no output: {row.silent_runs}",
            flush=True,
        )
        rows.append(row)
    return rows
