# SPDX-License-Identifier: MIT
"""A real DAW at the other end: Ardour (Debian's ``ardour``, headless through ``ardour7-lua``)
on a private JACK server is the clock master at a tempo nobody picked and records what
``barforge live --sync clock`` plays into one of its MIDI tracks; the recording, read back
from the session's own MIDI file, must be the pattern, note for note, on Ardour's beats."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.live.jack import JackServer, jack_installed
from engine.midi.files import read_midi_file, write_midi_file
from engine.music import Note, Pattern, Track

ARDOUR_LUA = "ardour7-lua"
SCRIPT = Path(__file__).parent / "data" / "ardour_record.lua"
TPQ = 480
BPM = 123.4  # Ardour's tempo; Barforge is told nothing of it
SECONDS = 4.0
#: Eighth notes up a scale, one bar: note j of the song is pitch 60 + j % 8 on beat j / 2.
NOTES = [Note(j * TPQ // 2, TPQ // 4, 60 + j, 100) for j in range(8)]


#: Starts of Ardour tried before the test fails: Ardour's own JACK client sometimes loses the
#: server while Ardour creates its session, before Barforge is started (seen here in 3 of 5
#: suite runs on one day and in none of 25 the day before: "JACK HALTED: JACK server has been
#: closed" from Ardour, "Unknown request" or "Broken pipe" from jackd, with no other client
#: connected; up to 3 starts in a row). That is Ardour failing to start, not what the test
#: measures, so only that is tried again, on a fresh server; every figure is asserted on the
#: one run that started.
START_ATTEMPTS = 5

#: Recordings tried again when the timing was off and jackd itself reported running late
#: while it recorded ("JackTimedDriver::Process XRun"): the virtual machine took the CPU from
#: the audio server, whose frame clock, Ardour's timeline, then fell behind the wall clock that
#: Barforge schedules by, and notes sent on time land early in the take. In one CI run of
#: 2026-12-06 three of 31 events were 4.8 to 11.9 ms off (one of them early), the rest within
#: 2.8 ms; jackd's output was not kept then, so that cause is inferred: jackd stopped for
#: 30 ms here reports these lines. A recording with the timing off and no such report fails
#: at once, and every failure lists both.
HELD_UP_RECORDINGS = 2


class _LostJack(AssertionError):
    """Ardour's JACK client lost the server before its ports appeared."""


class _Output:
    """Everything a process writes to its stdout, read by a thread as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.saved = threading.Event()
        assert process.stdout is not None
        self._stdout = process.stdout
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stdout:
            self.lines.append(line)
            if line.strip() == "ready":
                self.ready.set()
            if line.strip() == "saved":
                self.saved.set()

    def text(self) -> str:
        """What it wrote (all of it, once the process has ended)."""
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._stdout.close()
        return "".join(self.lines)


def _wait_for(
    server: JackServer,
    ardour: subprocess.Popen[str],
    said: _Output,
    suffixes: tuple[str, ...],
    timeout: float = 60.0,
) -> list[str]:
    """Ardour's ports ending with ``suffixes``, once its script says it is ready.

    The ports are listed only then, and a few times at most: a JACK client opened and closed
    while Ardour's own client is being created can corrupt jackd's request stream (seen here
    as "Unknown request" in jackd's output and "JACK server has been closed" in Ardour's).
    """
    deadline = time.monotonic() + timeout
    while not said.ready.wait(0.1):
        if ardour.poll() is not None or time.monotonic() > deadline:
            break
    for _ in range(10 if said.ready.is_set() else 0):
        ports = server.ports()
        found = [next((p for p in ports if p.endswith(s)), None) for s in suffixes]
        if all(found):
            return [p for p in found if p is not None]
        time.sleep(0.5)
    if ardour.poll() is None:
        ardour.kill()
    ardour.wait()
    lost = "JACK HALTED" in said.text()
    raise (_LostJack if lost else AssertionError)(
        f"Ardour's ports {suffixes} did not appear (Ardour's status {ardour.returncode}); "
        f"there are {server.ports()}; Ardour said: {said.text()[-2000:]}; jackd said: "
        f"{server.output()[-2000:]}"
    )


def _record(
    server: JackServer,
    ardour: subprocess.Popen[str],
    pattern_file: Path,
    clock_out: str,
    track_in: str,
    go: Path,
    output: _Output,
) -> None:
    """``barforge live --sync clock`` from Ardour's clock into its track, while Ardour records
    and saves. Ardour then quits; when its teardown hangs (seen here 2 times in 8 runs on one
    day, always after "saved"), it is killed: the session is on disk by then."""
    command = [sys.executable, "-m", "engine.cli", "live", "--file", str(pattern_file)]
    command += ["--sync", "clock", "--midi-api", "jack", "--in-port", clock_out]
    command += ["--port", track_in, "--seconds", str(SECONDS + 30)]
    live = None
    try:
        live = subprocess.Popen(
            command,
            env=server.env,
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert live.stdout is not None
        assert "waiting for the DAW's Start" in live.stdout.readline()
        go.touch()  # Ardour: record and roll
        assert output.saved.wait(60), f"Ardour did not save within 60 s: {output.lines[-20:]}"
        try:
            ardour.wait(timeout=10)
        except subprocess.TimeoutExpired:
            ardour.kill()
    finally:
        if live is not None:
            live.terminate()
            live.communicate(timeout=10)
        if ardour.poll() is None:
            ardour.kill()
            ardour.wait()


def _late_events(session: Path, said: str, period_ms: float) -> str | None:
    """Check the take note for note; return what was off its beats, or None when all held."""
    takes = glob.glob(str(session / "interchange" / "*" / "midifiles" / "*.mid"))
    assert len(takes) == 1, (takes, said)
    take = read_midi_file(takes[0])  # Ardour's own file, read by Barforge's reader
    recorded = [n for t in take.pattern.tracks for n in t.notes]
    beats_per_ms = BPM / 60_000
    tpq = take.pattern.ticks_per_quarter
    expected = int(SECONDS * BPM / 60 * 2)  # eighth notes in the recorded seconds
    assert expected - 2 <= len(recorded) <= expected + 1, (len(recorded), expected, recorded, said)
    errors_ms = []
    for j, note in enumerate(recorded):
        assert note.pitch == 60 + j % 8, (j, note)  # every note, in order
        errors_ms.append((note.start / tpq - j / 2) / beats_per_ms)
    # Nothing can be predicted before the clock's first pulse: the first note comes a period
    # or two after it. From then on half the events land within one period (and 1 ms) of
    # their beats. With both CPUs busy (a training run beside the suite) single events were
    # measured up to 5.6 ms off and, in 1 run of 15, a tenth of them beyond 2.3 ms; the
    # bounds below hold those (8.3 ms is a seventh of a 32nd note at this tempo).
    # Each note ends a sixteenth after its beat (the last one is cut by Ardour's Stop).
    off_errors_ms = [
        (note.end / tpq - (j / 2 + 0.25)) / beats_per_ms for j, note in enumerate(recorded[:-1])
    ]
    events_ms = sorted(abs(e) for e in errors_ms[1:] + off_errors_ms)
    held = {
        "the first note within 2 periods and 1 ms": abs(errors_ms[0]) <= 2 * period_ms + 1.0,
        "half the events within a period and 1 ms": (
            events_ms[len(events_ms) // 2] <= period_ms + 1.0
        ),
        "nine in ten within 2 periods and 1 ms": (
            events_ms[int(0.9 * (len(events_ms) - 1))] <= 2 * period_ms + 1.0
        ),
        "every event within 4 periods and 3 ms": events_ms[-1] <= 4 * period_ms + 3.0,
    }
    missed = [bound for bound, ok in held.items() if not ok]
    if not missed:
        return None
    # The errors in time order say whether the clock drifted or single events came late.
    return (
        f"missed: {missed}; note-on errors (ms, in order) {[round(e, 2) for e in errors_ms]}, "
        f"note-off errors {[round(e, 2) for e in off_errors_ms]}; Ardour said: {said}"
    )


def test_ardour_as_clock_master_records_the_pattern_on_its_beats(tmp_path: Path) -> None:
    if shutil.which(ARDOUR_LUA) is None:
        pytest.skip(f"{ARDOUR_LUA} is not installed (Debian: apt-get install ardour)")
    if not jack_installed():
        pytest.skip("JACK is not installed here (Debian: apt-get install jackd2)")
    pattern_file = tmp_path / "scale.mid"
    write_midi_file(
        Pattern((Track("scale", 0, False, 0, NOTES),), n_bars=1, ticks_per_quarter=TPQ),
        pattern_file,
    )
    failed_starts: list[str] = []
    excused: list[str] = []
    for attempt in range(START_ATTEMPTS + HELD_UP_RECORDINGS):
        session = tmp_path / f"session-{attempt}"
        go = tmp_path / f"go-{attempt}"
        with JackServer(period=64) as server:
            ardour = subprocess.Popen(
                [ARDOUR_LUA, str(SCRIPT), str(session), str(BPM), str(go), str(SECONDS)],
                env=server.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            output = _Output(ardour)
            try:
                clock_out, track_in = _wait_for(
                    server, ardour, output, ("MIDI Clock out", "Barforge/midi_in 1")
                )
            except _LostJack as lost:
                failed_starts.append(str(lost)[-600:])
                if len(failed_starts) == START_ATTEMPTS:
                    pytest.fail(f"Ardour lost JACK at start {attempt + 1} times: {failed_starts}")
                time.sleep(1.0)
                continue
            before = len(server.xruns())
            _record(server, ardour, pattern_file, clock_out, track_in, go, output)
            held_up = server.xruns()[before:]
            period_ms = server.period_sec * 1e3
        said = output.text()
        assert "saved" in said, said
        late = _late_events(session, said, period_ms)
        if late is None:
            return
        if not held_up or len(excused) == HELD_UP_RECORDINGS:
            pytest.fail(
                f"{late}; jackd ran late {len(held_up)} times while it recorded: {held_up}; "
                f"recordings tried again before this one, with jackd running late: {excused}"
            )
        excused.append(f"{held_up} ({late[:300]})")
    pytest.fail(f"no recording was made: {failed_starts}, {excused}")
