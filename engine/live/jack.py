# SPDX-License-Identifier: MIT
"""A private JACK server and JACK's own tools, for the tests and ``barforge bench live``.

:class:`JackServer` starts ``jackd`` with the dummy backend (no sound card needed) under a name
of its own, so that it disturbs no server the user runs; clients reach it through
``JACK_DEFAULT_SERVER``. :class:`MidiDump` runs ``jack_midi_dump``, a receiver nobody here
wrote, and reads back what it received with JACK frame times.

Synchronous mode (``-S``) is the default: the server then waits for every client each period.
In asynchronous mode a client that misses a period loses that period's MIDI, which on a busy
virtual machine happens every few hundred messages (``barforge bench live`` measures both).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

#: The Debian package that carries jackd, jack_midi_dump, jack_connect and jack_wait.
JACK_PACKAGE = "jackd2"


class JackError(RuntimeError):
    """A JACK tool is missing or a server would not start."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise JackError(f"{name} is not installed (Debian: apt-get install {JACK_PACKAGE})")
    return path


def jack_installed() -> bool:
    return all(shutil.which(t) for t in ("jackd", "jack_wait", "jack_connect", "jack_midi_dump"))


class JackServer:
    """``jackd -d dummy`` under a private name.

    Parameters
    ----------
    period : int
        Frames per period (64 is 1.33 ms at 48 kHz).
    rate : int
        Sample rate, Hz.
    sync : bool
        Synchronous mode (see the module notes).
    realtime : bool
        Run the server's threads with realtime priority (``-R``) where allowed.
    name : str or None
        Server name; default a fresh one.
    """

    def __init__(
        self,
        period: int = 64,
        rate: int = 48_000,
        *,
        sync: bool = True,
        realtime: bool = True,
        name: str | None = None,
    ) -> None:
        self.period = period
        self.rate = rate
        self.sync = sync
        self.realtime = realtime
        self.name = name or f"barforge-{uuid.uuid4().hex[:8]}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None  # jackd's stdout and stderr, for a failed start

    @property
    def period_sec(self) -> float:
        return self.period / self.rate

    @property
    def pid(self) -> int | None:
        """jackd's process id while it runs."""
        return None if self._process is None else self._process.pid

    @property
    def env(self) -> dict[str, str]:
        """The environment for a client of this server (and no other)."""
        return {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def start(self, timeout: float = 10.0) -> JackServer:
        command = [_tool("jackd"), "-n", self.name]
        if self.sync:
            command.append("-S")
        if self.realtime:
            command += ["-R", "-P", "70"]
        else:
            command.append("-r")
        command += ["-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
        self._process = subprocess.Popen(
            command,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        atexit.register(self.stop)  # a server left running would compete for the CPUs
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                status = self._process.returncode
                said = self.output()
                self.stop()
                raise JackError(
                    f"jackd exited at start with status {status}; it said: "
                    + (" | ".join(said.splitlines()[-12:]) or "nothing")
                )
            done = subprocess.run(
                [_tool("jack_wait"), "-c"], env=self.env, capture_output=True, text=True
            )
            if "running" in done.stdout and "not" not in done.stdout:
                return self
            time.sleep(0.05)
        self.stop()
        raise JackError(f"jackd did not start within {timeout:g} s")

    def output(self) -> str:
        """What jackd has written to stdout and stderr so far (this start)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", errors="replace").strip()

    def xruns(self) -> list[str]:
        """jackd's reports of periods it ran late ("JackTimedDriver::Process XRun = N usec"
        from the dummy backend): times the server itself lost time, so far."""
        return [line for line in self.output().splitlines() if "XRun" in line]

    def stop(self, timeout: float = 5.0) -> None:
        process = self._process
        self._process = None
        atexit.unregister(self.stop)
        log, self._log = self._log, None
        try:
            if process is None or process.poll() is not None:
                return
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        finally:
            if log is not None:
                log.close()

    def __enter__(self) -> JackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self, *args: str, check: bool = True) -> str:
        """Run a JACK tool (``jack_connect``, ``jack_lsp``...) against this server."""
        done = subprocess.run(
            [_tool(args[0]), *args[1:]], env=self.env, capture_output=True, text=True
        )
        if check and done.returncode != 0:
            raise JackError(f"{' '.join(args)} failed: {done.stderr.strip() or done.stdout}")
        return done.stdout

    def connect(self, source: str, destination: str) -> None:
        self.run("jack_connect", source, destination)

    def disconnect(self, source: str, destination: str) -> None:
        self.run("jack_disconnect", source, destination)

    def ports(self) -> list[str]:
        return [line.strip() for line in self.run("jack_lsp").splitlines() if line.strip()]

    def wait_for_port(self, port: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while port not in self.ports():
            if time.monotonic() > deadline:
                raise JackError(f"port {port!r} did not appear within {timeout:g} s")
            time.sleep(0.02)


class Transport:
    """``jack_transport`` on a server, driven by its commands (``play``, ``stop``,
    ``tempo 150``, ``locate 96000``, ``master``...), as a DAW's transport would be."""

    def __init__(self, server: JackServer) -> None:
        self._process = subprocess.Popen(
            [_tool("jack_transport")],
            env=server.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def say(self, *commands: str) -> None:
        assert self._process.stdin is not None
        for command in commands:
            self._process.stdin.write(command + "\n")
        self._process.stdin.flush()

    def close(self) -> None:
        """Quit it (killed if it does not), closing its stdin."""
        if self._process.poll() is None:
            try:
                self.say("quit")
                self._process.communicate(timeout=5)
                return
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
        self._process.communicate()


@dataclass(frozen=True, slots=True)
class Dumped:
    """One message ``jack_midi_dump`` received, at JACK frame ``frame``."""

    frame: int
    message: tuple[int, ...]


class MidiDump:
    """``jack_midi_dump -a`` as a receiver: connect sources to :attr:`port`, then
    :meth:`stop` returns what arrived, in order, with frame times."""

    def __init__(self, server: JackServer, name: str = "dump") -> None:
        self.server = server
        self.client = name
        self.port = f"{name}:input"
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[str] | None = None

    def start(self, sources: Sequence[str] = ()) -> MidiDump:
        stdbuf = shutil.which("stdbuf")
        command = [_tool("jack_midi_dump"), "-a", self.client]
        if stdbuf:  # line-buffered, or the last lines are lost when it stops
            command = [stdbuf, "-oL", *command]
        # Into a file, not a pipe: a pipe nobody reads fills up (64 KiB, about a thousand
        # messages), then jack_midi_dump blocks and drops what arrives.
        self._output = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            command,
            env=self.server.env,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.DEVNULL,
        )
        self.server.wait_for_port(self.port)
        for source in sources:
            self.server.connect(source, self.port)
        return self

    def stop(self, settle_sec: float = 0.3) -> list[Dumped]:
        process = self._process
        self._process = None
        if process is None or self._output is None:
            return []
        time.sleep(settle_sec)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._output.seek(0)
        text = self._output.read()
        self._output.close()
        self._output = None
        return parse_dump(text)


def parse_dump(text: str) -> list[Dumped]:
    """Lines such as ``  24000: 90 3c 64 note on (channel 0): ...`` -> :class:`Dumped`."""
    out = []
    for line in text.splitlines():
        head, sep, rest = line.partition(":")
        if not sep or not head.strip().isdigit():
            continue
        data = []
        for token in rest.split():
            if len(token) == 2 and all(c in "0123456789abcdefABCDEF" for c in token):
                data.append(int(token, 16))
            else:
                break
        if data:
            out.append(Dumped(int(head), tuple(data)))
    return out
