# SPDX-License-Identifier: MIT
"""Live MIDI ports: the one facade over python-rtmidi (nothing else in Barforge imports it).

A port is either *virtual* (Barforge creates it and the DAW connects to it, as a DAW expects of
a plug-in-like companion) or an *existing* port of another program opened by name (Windows has
no virtual ports: users run a loopback driver such as loopMIDI and pick its port).

The MIDI system ("API") is chosen per platform so that it just works:

- Linux: the ALSA sequencer when ``/dev/snd/seq`` exists, otherwise a running JACK server;
- macOS: CoreMIDI; Windows: the Windows multimedia API (``winmm``).

``BARFORGE_MIDI_API`` (or ``--midi-api`` on the command line) overrides the choice with one of
:data:`API_NAMES`. Every failure raises :class:`PortError`, which names the port, says why and
what to do. rtmidi's own errors subclass :class:`OSError`; so does :class:`PortError`.

Inputs are polled, never called back: a Python callback would run on the MIDI system's realtime
thread and make it wait for the interpreter lock (on JACK that costs whole periods). rtmidi
queues what arrives with its own timestamps; :meth:`MidiInput.poll` turns them into
:func:`time.perf_counter` seconds.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import rtmidi

#: The names a user may give for a MIDI system, and rtmidi's constants for them.
API_NAMES: dict[str, int] = {
    "alsa": rtmidi.API_LINUX_ALSA,
    "jack": rtmidi.API_UNIX_JACK,
    "coremidi": rtmidi.API_MACOSX_CORE,
    "winmm": rtmidi.API_WINDOWS_MM,
}
#: The environment variable that overrides the platform's choice of MIDI system.
API_ENV = "BARFORGE_MIDI_API"
#: The app's name as the MIDI system shows it (client name; the DAW lists its ports).
APP_PORT_NAME = "Barforge"
#: Seconds an output waits after its last message before closing, so that the MIDI system
#: delivers it (two JACK periods of 1,024 frames at 48 kHz).
FLUSH_SEC = 0.045
#: rtmidi's JACK output buffer holds 16 KiB; stay well below it in one burst.
MAX_BURST_BYTES = 8192

_API_LABELS = {value: name for name, value in API_NAMES.items()}

# Never start a JACK server behind the user's back (libjack would, on the first client).
os.environ.setdefault("JACK_NO_START_SERVER", "1")


class PortError(OSError):
    """A MIDI port that cannot be made, opened or used.

    Parameters
    ----------
    port : str
        The port's name as the user knows it.
    reason : str
        What went wrong.
    advice : str
        What the user can do about it ("" when there is nothing to add).
    """

    def __init__(self, port: str, reason: str, advice: str = "") -> None:
        self.port = port
        self.reason = reason
        self.advice = advice
        text = f"MIDI port {port!r}: {reason}"
        super().__init__(f"{text}. {advice}" if advice else text)


class PortLostError(PortError):
    """A port that was open has gone (its program quit, or the MIDI system stopped)."""


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence what the C libraries print on file descriptor 2 while probing (libjack is loud)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            sys.stderr.flush()
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _compiled() -> list[int]:
    return list(rtmidi.get_compiled_api())


def jack_running() -> bool:
    """Whether a JACK server answers (``JACK_DEFAULT_SERVER`` picks which one)."""
    if rtmidi.API_UNIX_JACK not in _compiled():
        return False
    with _quiet_stderr():
        try:
            probe = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=f"{APP_PORT_NAME} probe")
        except (rtmidi.RtMidiError, RuntimeError):
            return False
    probe.delete()
    return True


def choose_api(requested: str | None = None) -> str:
    """The MIDI system to use: ``requested``, else ``$BARFORGE_MIDI_API``, else the platform's.

    Returns one of :data:`API_NAMES`. Raises :class:`PortError` naming the reason when the
    requested system is unknown or not built into rtmidi, or when none is available.
    """
    name = requested or os.environ.get(API_ENV) or ""
    compiled = _compiled()
    if name:
        key = name.strip().lower()
        if key not in API_NAMES:
            raise PortError(
                APP_PORT_NAME,
                f"unknown MIDI system {name!r}",
                f"Use one of: {', '.join(API_NAMES)} (set by --midi-api or {API_ENV})",
            )
        if API_NAMES[key] not in compiled:
            have = ", ".join(_API_LABELS.get(api, str(api)) for api in compiled) or "none"
            raise PortError(
                APP_PORT_NAME,
                f"this build of python-rtmidi has no {key} support",
                f"Available here: {have}",
            )
        return key
    if sys.platform == "darwin":
        return "coremidi"
    if sys.platform.startswith("win"):
        return "winmm"
    if os.path.exists("/dev/snd/seq") and rtmidi.API_LINUX_ALSA in compiled:
        return "alsa"
    if jack_running():
        return "jack"
    raise PortError(
        APP_PORT_NAME,
        "no MIDI system is available: there is no ALSA sequencer (/dev/snd/seq is missing) "
        "and no JACK server is running",
        "Load the ALSA sequencer (sudo modprobe snd-seq) or start JACK (for example "
        "jackd -d dummy), then try again",
    )


def _open_error(kind: str, port: str, api: str, error: Exception) -> PortError:
    if api == "jack":
        advice = "Is the JACK server running? Start it (jackd -d dummy, or QjackCtl) and retry"
    elif api == "alsa":
        advice = "Is the ALSA sequencer loaded? (sudo modprobe snd-seq)"
    else:
        advice = "Check that the MIDI system works and that no other program holds the port"
    return PortError(port, f"cannot open the {kind} on {api} ({error})", advice)


def _find_port(names: Sequence[str], wanted: str) -> int | None:
    """Index of ``wanted`` among ``names``: exact, else case-insensitive, else a unique prefix.

    rtmidi lists ports as ``client:port`` (JACK) or ``client:port 20:0`` (ALSA), so a user's
    ``loopMIDI Port`` or ``DAW:in`` must match the start of a listed name too.
    """
    for i, name in enumerate(names):
        if name == wanted:
            return i
    folded = wanted.casefold()
    for i, name in enumerate(names):
        if name.casefold() == folded:
            return i
    matches = [i for i, name in enumerate(names) if name.casefold().startswith(folded)]
    return matches[0] if len(matches) == 1 else None


def _no_such_port(kind: str, wanted: str, names: Sequence[str], api: str) -> PortError:
    listed = ", ".join(repr(n) for n in names) or "none"
    advice = f"The {kind} ports now on {api} are: {listed}"
    if api == "winmm":
        advice += (
            ". Windows has no virtual MIDI ports: install a loopback driver (for example "
            "loopMIDI), create a port there and choose it in Barforge and in your DAW"
        )
    return PortError(wanted, f"no such {kind} port", advice)


def _open(
    port: rtmidi.MidiOut | rtmidi.MidiIn,
    kind: str,
    name: str,
    api: str,
    virtual: bool,
    client: str,
    option: str,
) -> str:
    """Open ``port`` (a fresh rtmidi object) as a virtual port or onto an existing one; return
    the name the MIDI system shows. On failure the rtmidi object is freed and PortError says
    why (``kind`` is "output" or "input"; ``option`` the command-line flag naming a port)."""
    try:
        if virtual:
            if api == "winmm":
                raise PortError(
                    name,
                    "Windows cannot make virtual MIDI ports",
                    "Install a loopback driver (for example loopMIDI), create a port there "
                    f"and give its name ({option} NAME)",
                )
            port.open_virtual_port(name)
            return f"{client}:{name}"
        ports = list(port.get_ports())
        index = _find_port(ports, name)
        if index is None:
            raise _no_such_port(kind, name, ports, api)
        port.open_port(index, "out" if kind == "output" else "in")
        return str(ports[index])
    except PortError:
        port.delete()
        raise
    except (rtmidi.RtMidiError, RuntimeError) as error:
        port.delete()
        raise _open_error(kind, name, api, error) from error


def list_output_ports(api: str | None = None) -> list[str]:
    """Names of the ports Barforge can send to (other programs' inputs)."""
    return _list_ports(rtmidi.MidiOut, api)


def list_input_ports(api: str | None = None) -> list[str]:
    """Names of the ports Barforge can listen to (other programs' outputs)."""
    return _list_ports(rtmidi.MidiIn, api)


def _list_ports(kind: type[rtmidi.MidiOut] | type[rtmidi.MidiIn], api: str | None) -> list[str]:
    api = choose_api(api)
    with _quiet_stderr():
        probe = kind(rtapi=API_NAMES[api], name=f"{APP_PORT_NAME} list")
    try:
        return list(probe.get_ports())
    finally:
        probe.delete()


def _still_there(
    closed: bool, virtual: bool, name: str, port: rtmidi.MidiOut | rtmidi.MidiIn
) -> bool:
    """Whether an open port is still there: a virtual one always, another program's while the
    MIDI system lists it."""
    if closed:
        return False
    if virtual:
        return True
    try:
        return name in port.get_ports()
    except (rtmidi.RtMidiError, RuntimeError):
        return False


class MidiOutput:
    """One output port: virtual (others connect to it) or another program's input, by name.

    Parameters
    ----------
    name : str
        For a virtual port, its name (the MIDI system shows ``<client>:<name>``); for an
        existing port (``virtual=False``), the port to open (exact, case-insensitive or a unique
        prefix of a listed name).
    api : str or None
        One of :data:`API_NAMES`; None chooses (see :func:`choose_api`).
    virtual : bool
    client : str
        The client name the MIDI system shows (JACK and ALSA); unique per output.

    Sending is meant for one thread (the player's).
    """

    def __init__(
        self,
        name: str = "out",
        *,
        api: str | None = None,
        virtual: bool = True,
        client: str = APP_PORT_NAME,
    ) -> None:
        self.api = choose_api(api)
        self.virtual = virtual
        self.requested = name
        with _quiet_stderr():
            try:
                self._out = rtmidi.MidiOut(rtapi=API_NAMES[self.api], name=client)
            except (rtmidi.RtMidiError, RuntimeError) as error:
                raise _open_error("output", name, self.api, error) from error
        self.name = _open(self._out, "output", name, self.api, virtual, client, "--port")
        self._closed = False
        self._last_send = -math.inf

    def send(self, message: Sequence[int]) -> None:
        """Send one MIDI message (status byte and data bytes)."""
        self._out.send_message(message)
        self._last_send = time.perf_counter()

    def exists(self) -> bool:
        """Whether the port is still there: always, for a virtual port; for another program's
        port, whether the MIDI system still lists it."""
        return _still_there(self._closed, self.virtual, self.name, self._out)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the port and free the client (so its name can be taken again). Idempotent."""
        if self._closed:
            return
        self._closed = True
        # JACK hands sent messages over in its next period; a port closed before then can lose
        # them (the note-offs of a panic, say). Give it two of the longest periods first.
        wait = self._last_send + FLUSH_SEC - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        self._out.close_port()
        self._out.delete()


@dataclass(frozen=True, slots=True)
class Received:
    """One message from an input port.

    Parameters
    ----------
    time_sec : float
        When it arrived, on the :func:`time.perf_counter` clock (the estimate of how the MIDI
        system's clock relates to it improves as messages come, by up to the polling interval).
    message : tuple of int
        Status byte and data bytes.
    source_sec : float
        When it arrived on the MIDI system's own clock, seconds since the port's first message:
        exact differences between messages of one port, for measurements.
    """

    time_sec: float
    message: tuple[int, ...]
    source_sec: float = 0.0


class MidiInput:
    """One input port, polled (see the module notes): virtual or another program's output.

    Parameters are as for :class:`MidiOutput`. Clock and other realtime messages are received
    (rtmidi drops them by default); system exclusive and active sensing are ignored.
    """

    def __init__(
        self,
        name: str = "in",
        *,
        api: str | None = None,
        virtual: bool = True,
        client: str = f"{APP_PORT_NAME} in",
    ) -> None:
        self.api = choose_api(api)
        self.virtual = virtual
        self.requested = name
        with _quiet_stderr():
            try:
                self._in = rtmidi.MidiIn(
                    rtapi=API_NAMES[self.api], name=client, queue_size_limit=8192
                )
            except (rtmidi.RtMidiError, RuntimeError) as error:
                raise _open_error("input", name, self.api, error) from error
        self._in.ignore_types(sysex=True, timing=False, active_sense=True)
        self.name = _open(self._in, "input", name, self.api, virtual, client, "--in-port")
        self._lock = threading.Lock()
        self._closed = False
        # rtmidi stamps each message with the seconds since the previous one, measured by the
        # MIDI system; their running sum plus an offset gives the arrival times. The offset is
        # the smallest (poll time - running sum) seen: a message cannot be read before it came.
        self._sum_sec = 0.0
        self._offset_sec: float | None = None

    def poll(self) -> list[Received]:
        """Everything that arrived since the last call, oldest first."""
        with self._lock:
            if self._closed:
                return []
            items = []
            while (item := self._in.get_message()) is not None:
                items.append(item)
            if not items:
                return []
            now = time.perf_counter()
            sums: list[float] = []
            for _message, delta_sec in items:
                if self._offset_sec is not None or sums:
                    self._sum_sec += delta_sec
                sums.append(self._sum_sec)
            candidate = now - self._sum_sec
            if self._offset_sec is None or candidate < self._offset_sec:
                self._offset_sec = candidate
            offset = self._offset_sec
        return [
            Received(total + offset, tuple(message), total)
            for total, (message, _) in zip(sums, items, strict=True)
        ]

    def exists(self) -> bool:
        """As :meth:`MidiOutput.exists`."""
        return _still_there(self._closed, self.virtual, self.name, self._in)

    def close(self) -> None:
        """Close the port and free the client. Idempotent; safe against a concurrent poll."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._in.close_port()
            self._in.delete()
