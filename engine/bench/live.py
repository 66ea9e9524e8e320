# SPDX-License-Identifier: MIT
"""``barforge bench live``: how well the player keeps time into a real JACK MIDI port.

For each JACK period and tempo, a private JACK server (dummy backend, synchronous mode) gets a
dense pattern (``--tracks`` tracks of sixteenth notes, each a different pitch walk) played for
``--seconds``, received by ``jack_midi_dump``. Measured:

- **send-side error**: when each group of messages was handed to the MIDI system, minus its
  deadline (p50, p99, max);
- **receiver-side inter-onset error**: for consecutive groups, the gap between their arrival
  times at an rtmidi receiver minus the gap between their deadlines (p50, p99, max of the
  absolute value). rtmidi writes each message at the start of the next JACK period, so up to
  one period is expected;
- **messages lost**: sent but missing at either receiver (the rtmidi one, and
  ``jack_midi_dump``, which must also receive the sent sequence in order).

Then the same once more in JACK's asynchronous mode at the first period and tempo, to show what
that mode costs on this machine; then the clock-following rows
(:mod:`engine.bench.clock_follow`): ``--clock-runs`` runs at each ``--clock-bpm`` following
``jack_midi_clock``, with the p50, p90 and largest distance of the onsets from the clock's own
grid and the runs in which nothing was heard.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from engine.bench.clock_follow import CLOCK_TOOL, ClockRow, clock_rows
from engine.live.jack import JackServer, MidiDump, jack_installed
from engine.live.player import Player, SentGroup
from engine.midi.ports import MidiInput, MidiOutput, Received
from engine.music import Note, Pattern, Track


@dataclass
class LiveRun:
    period: int
    bpm: float
    sync_mode: bool
    seconds: float
    realtime: bool
    groups: int
    messages_sent: int
    messages_received: int
    messages_lost: int
    in_order: bool
    send_p50_ms: float
    send_p99_ms: float
    send_max_ms: float
    rx_p50_ms: float
    rx_p99_ms: float
    rx_max_ms: float
    period_ms: float


def dense_pattern(n_tracks: int = 4, n_bars: int = 4, bpm: float = 120.0) -> Pattern:
    """``n_tracks`` tracks of sixteenth notes, each note 3/4 of a sixteenth long."""
    tpq = 480
    step = tpq // 4
    tracks = []
    for index in range(n_tracks):
        base = 48 + 7 * index
        notes = [
            Note(start, step * 3 // 4, base + (start // step * (index + 2)) % 12, 64 + index * 8)
            for start in range(0, n_bars * 4 * tpq, step)
        ]
        tracks.append(Track(f"Track {index + 1}", program=index * 8, channel=index, notes=notes))
    return Pattern(tracks, n_bars=n_bars, ticks_per_quarter=tpq, tempo_us=round(60_000_000 / bpm))


def measure(
    period: int, bpm: float, seconds: float, n_tracks: int, sync_mode: bool = True
) -> LiveRun:
    """One run on a fresh private server."""
    with JackServer(period, sync=sync_mode) as server:
        saved = os.environ.get("JACK_DEFAULT_SERVER")
        os.environ["JACK_DEFAULT_SERVER"] = server.name
        try:
            out = MidiOutput("out", api="jack", client="Barforge bench")
            receiver = MidiInput("in", api="jack", client="bench-rx")
            try:
                server.connect(out.name, receiver.name)
                dump = MidiDump(server, "bench-dump").start([out.name])
                player = Player([out], bpm=bpm, log_sent=True).start()
                arrived: list[Received] = []
                try:
                    player.set_pattern(dense_pattern(n_tracks, bpm=bpm))
                    player.play()
                    end = time.monotonic() + seconds
                    while time.monotonic() < end:
                        time.sleep(0.1)
                        arrived += receiver.poll()
                    player.stop()
                finally:
                    player.close()
                dumped = dump.stop(settle_sec=0.5)
                arrived += receiver.poll()
            finally:
                out.close()
                receiver.close()
        finally:
            if saved is None:
                os.environ.pop("JACK_DEFAULT_SERVER", None)
            else:
                os.environ["JACK_DEFAULT_SERVER"] = saved
    everything = [m for g in player.sent() for _, m in g.messages]
    late = np.array(player.timing()) * 1e3
    got = [r.message for r in arrived]
    in_order = got == everything and [d.message for d in dumped] == everything
    rx = np.array(inter_onset_errors(player.sent(), arrived) if got == everything else [np.nan])
    rx *= 1e3
    lost = max(_lost(everything, got), _lost(everything, [d.message for d in dumped]))
    return LiveRun(
        period=period,
        bpm=bpm,
        sync_mode=sync_mode,
        seconds=seconds,
        realtime=bool(player.realtime),
        groups=sum(1 for g in player.sent() if g.scheduled),
        messages_sent=len(everything),
        messages_received=min(len(got), len(dumped)),
        messages_lost=lost,
        in_order=in_order,
        send_p50_ms=float(np.median(late)),
        send_p99_ms=float(np.percentile(late, 99)),
        send_max_ms=float(late.max()),
        rx_p50_ms=float(np.median(rx)),
        rx_p99_ms=float(np.percentile(rx, 99)),
        rx_max_ms=float(rx.max()),
        period_ms=period / server.rate * 1e3,
    )


def inter_onset_errors(groups: Sequence[SentGroup], arrived: Sequence[Received]) -> list[float]:
    """|arrival gap - deadline gap| of consecutive scheduled groups, seconds.

    ``arrived`` must hold exactly the messages of ``groups``, in order. Arrival times are the
    receiver's (rtmidi stamps each message with the JACK clock when its period is processed);
    the dummy backend's frame counter is not used, as it drifts from real time by several
    percent on a busy virtual machine.
    """
    times = []
    cursor = 0
    for group in groups:
        if group.scheduled:
            times.append((group.deadline_sec, arrived[cursor].source_sec))
        cursor += len(group.messages)
    return [abs((t1 - t0) - (d1 - d0)) for (d0, t0), (d1, t1) in itertools.pairwise(times)]


def _lost(sent: Sequence[tuple[int, ...]], got: Sequence[tuple[int, ...]]) -> int:
    """Messages of ``sent`` missing from ``got``, in order (the longest common subsequence)."""
    matcher = difflib.SequenceMatcher(None, list(sent), list(got), autojunk=False)
    return len(sent) - sum(block.size for block in matcher.get_matching_blocks())


def main(
    periods: Sequence[int],
    bpms: Sequence[float],
    seconds: float,
    n_tracks: int,
    json_path: str | None,
    clock_bpms: Sequence[float] = (97.0, 133.3, 171.0),
    clock_runs: int = 10,
    clock_seconds: float = 4.0,
) -> int:
    if not jack_installed():
        print("barforge bench live: JACK is not installed (Debian: apt-get install jackd2)")
        return 2
    runs = []
    for period in periods:
        for bpm in bpms:
            runs.append(measure(period, bpm, seconds, n_tracks))
            _print(runs[-1])
    runs.append(measure(periods[0], bpms[0], seconds, n_tracks, sync_mode=False))
    _print(runs[-1])
    worst = max(r.send_p99_ms for r in runs if r.sync_mode)
    print(
        f"\nsend-side p99, worst synchronous run: {worst:.3f} ms (target 0.2 ms); "
        f"lost in synchronous runs: {sum(r.messages_lost for r in runs if r.sync_mode)}; "
        f"median send p50 {statistics.median(r.send_p50_ms for r in runs):.4f} ms"
    )
    clock: list[ClockRow] = []
    if clock_runs and shutil.which(CLOCK_TOOL):
        clock = clock_rows(list(clock_bpms), clock_runs, clock_seconds)
    elif clock_runs:
        print(f"(no clock-following rows: {CLOCK_TOOL} is not installed; Debian: jack-midi-clock)")
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(
                {"runs": [asdict(r) for r in runs], "clock": [asdict(r) for r in clock]},
                f,
                indent=2,
            )
    return 0


def _print(run: LiveRun) -> None:
    mode = "sync" if run.sync_mode else "async"
    print(
        f"JACK {run.period:>4} frames ({run.period_ms:.2f} ms, {mode:5}) {run.bpm:>5.0f} BPM "
        f"{run.seconds:.0f} s: send p50 {run.send_p50_ms:.3f} p99 {run.send_p99_ms:.3f} "
        f"max {run.send_max_ms:.3f} ms | receiver inter-onset p50 {run.rx_p50_ms:.3f} "
        f"p99 {run.rx_p99_ms:.3f} max {run.rx_max_ms:.3f} ms | "
        f"{run.messages_received}/{run.messages_sent} received, {run.messages_lost} lost, "
        f"{'in order' if run.in_order else 'NOT in order'}, "
        f"{'realtime' if run.realtime else 'no realtime'}",
        flush=True,
    )
