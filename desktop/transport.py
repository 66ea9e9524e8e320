# SPDX-License-Identifier: MIT
"""The transport: the live player (:class:`engine.live.player.Player`) in the desktop app.

:class:`Transport` lives on the UI thread and owns the engine's player and its MIDI ports. It
only supplies what the engine's player leaves to its host: ports opened lazily (at the first
:meth:`Transport.play`, so the app starts without any MIDI system), the player's callbacks
turned into Qt signals, a playhead timer, and every failure turned into a message for the
user. Nothing here waits on the MIDI system: a player command returns within a couple of
milliseconds (it runs between two deadlines on the player's thread), opening a port is quick.

Threads: :class:`engine.live.player.PlayerListener` callbacks run on the player's thread. They
only emit a private signal, connected with a queued connection, so the transport handles them
on the UI thread. Each player gets a new *generation* number; news from a player that has been
replaced or closed is dropped. The listener never reads its payload's meaning from the player
thread: a state callback only says "look again", and the transport reads the player's state
when it handles it, so a late callback cannot undo a newer :meth:`Transport.stop`.

Errors: a :class:`~engine.midi.ports.PortError` (an ``OSError``; a port that cannot be opened,
or one that vanished while playing) or any other playback failure closes the player and its
ports (the player has already released every note), leaves the transport stopped and emits
:attr:`Transport.error_raised` with a message that names the port and says what to do. The
next :meth:`Transport.play` opens the ports again. No exception from the MIDI side ever reaches
Qt.

Wiring (see also :class:`desktop.transport_bar.TransportBar`)::

    transport = Transport(window)
    transport.error_raised.connect(window.show_error)
    transport.position_changed.connect(roll.set_playhead)          # beats in the pattern
    transport.recording_finished.connect(window.take_recording)    # (track index, Track)
    document.pattern_changed.connect(transport.update_pattern)     # edits reach the DAW
    ...
    transport.close()                                              # in closeEvent
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from engine.audio.player import PreviewPlayer
from engine.audio.preview import AudioPreview, AudioUnavailable
from engine.live.player import Player, PlayerListener
from engine.midi.ports import (
    APP_PORT_NAME,
    MidiInput,
    MidiOutput,
    list_input_ports,
    list_output_ports,
)
from engine.music import Pattern, Track

#: What :attr:`Transport.state_changed` reports. "waiting": clock sync, armed and waiting for
#: the DAW's Start (or Continue).
STATES: Final = ("stopped", "playing", "paused", "waiting")
#: "internal": Barforge's own tempo; "clock": follow the MIDI clock the DAW sends to the input.
SYNC_MODES: Final = ("internal", "clock")
#: Tempo range of the internal clock, BPM.
MIN_BPM: Final = 20.0
MAX_BPM: Final = 300.0
#: The :attr:`Transport.output_port` value that plays through the built-in synth (the audio
#: preview) instead of a MIDI port.
PREVIEW_OUTPUT: Final = "(built-in synth)"
PREVIEW_NEEDS_INTERNAL: Final = (
    "The built-in synth plays on Barforge's own clock: set Sync to Internal, or choose a MIDI "
    "output to follow the DAW."
)
#: Playhead refresh interval while playing, ms (about 30 Hz).
POSITION_INTERVAL_MS: Final = 33

NOTHING_TO_PLAY: Final = "There is nothing to play yet: generate or open a pattern first."
CLOCK_NEEDS_INPUT: Final = (
    "Following the DAW's clock needs an input port: choose the port your DAW sends MIDI clock "
    "to under Input (and turn on MIDI clock output in the DAW), or set Sync to Internal."
)
RECORD_NEEDS_INPUT: Final = (
    "Recording needs an input port: choose the port of your keyboard (or of your DAW's MIDI "
    "output) under Input, then press Record again."
)


class _Listener(PlayerListener):
    """Forwards the player's callbacks (player thread) as ``(generation, kind, payload)``."""

    def __init__(self, notify: Callable[[int, str, object], None], generation: int) -> None:
        self._notify = notify
        self._generation = generation
        #: Cleared before the player is closed: nothing is forwarded afterwards.
        self.active = True

    def _forward(self, kind: str, payload: object) -> None:
        if self.active:
            self._notify(self._generation, kind, payload)

    def state_changed(self, state: str) -> None:
        self._forward("state", state)

    def error_raised(self, error: Exception) -> None:
        self._forward("error", error)

    def pattern_swapped(self, beat: float) -> None:
        self._forward("swapped", beat)

    def recording_finished(self, track: Track) -> None:
        self._forward("recorded", track)


def pattern_beat(song_beat: float, pattern: Pattern, loop: tuple[int, int] | None) -> float:
    """Where song beat ``song_beat`` (quarter notes since playing started, loops counted) lies
    in ``pattern`` looped over bars ``loop`` = ``(first, end)`` (end exclusive; None: all
    bars), in quarter-note beats from the pattern's start."""
    bar_beats = pattern.bar_ticks / pattern.ticks_per_quarter
    first, end = loop if loop is not None else (0, pattern.n_bars)
    span = (end - first) * bar_beats
    return first * bar_beats + math.fmod(max(0.0, song_beat), span)


class Transport(QObject):
    """Plays patterns live into MIDI ports (the DAW), from the UI thread.

    Parameters
    ----------
    parent : QObject or None
    midi_api : str or None
        The MIDI system (see :func:`engine.midi.ports.choose_api`); None chooses.
    client : str
        The client name the MIDI system shows for the output (the input's is
        ``"<client> in"``); the virtual output port is ``"<client>:out"``.
    realtime : bool
        Let the player's thread ask for realtime scheduling (see the engine's player).

    Signals
    -------
    state_changed(str)
        One of :data:`STATES`.
    error_raised(str)
        A message for the user; the transport is stopped and nothing sounds.
    position_changed(float)
        The playhead, in quarter-note beats from the pattern's start; about 30 times a second
        while playing, and once when playing stops.
    recording_finished(int, object)
        Track index given to :meth:`record` and the recorded :class:`~engine.music.Track`
        (notes from the pattern's start, quantised to sixteenths, ``n_bars`` long at most).
    pattern_swapped(float)
        A pattern given while playing took over, at this song beat (quarter notes since
        playing started, loops counted; see :meth:`song_position`).
    ports_changed()
        Ports were opened or closed (:attr:`output_name`, :attr:`input_name`).
    """

    state_changed = Signal(str)
    error_raised = Signal(str)
    position_changed = Signal(float)
    recording_finished = Signal(int, object)
    pattern_swapped = Signal(float)
    ports_changed = Signal()
    # Emitted on the player's thread, handled (queued) on the UI thread.
    _player_notified = Signal(int, str, object)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        midi_api: str | None = None,
        client: str = APP_PORT_NAME,
        realtime: bool = True,
    ) -> None:
        super().__init__(parent)
        self._midi_api = midi_api
        self._client = client
        self._realtime = realtime
        self._output_port: str | None = None
        self._input_port: str | None = None
        self._sync = "internal"
        self._bpm = 120.0
        self._loop: tuple[int, int] | None = None
        self._send_clock = False
        self._pattern: Pattern | None = None
        self._muted: set[int] = set()
        self._soloed: set[int] = set()
        self._player: Player | PreviewPlayer | None = None
        #: The built-in synth's sound output (made when first played; see PREVIEW_OUTPUT).
        self.preview: AudioPreview | None = None
        #: The sound device the preview opens (None: the system's default).
        self.audio_device: str | None = None
        self._listener: _Listener | None = None
        self._output: MidiOutput | None = None
        self._input: MidiInput | None = None
        self._player_loop: tuple[int, int] | None = None  # the loop the player was given
        self._generation = 0
        self._state = "stopped"
        self._paused = False
        self._recording_track: int | None = None
        self._port_error = ""
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(POSITION_INTERVAL_MS)
        self._timer.timeout.connect(self._emit_position)
        self._player_notified.connect(self._on_player_event, Qt.ConnectionType.QueuedConnection)

    # --- settings ----------------------------------------------------------------------------
    @property
    def output_port(self) -> str | None:
        """The port to play into: None for a virtual port ``"<client>:out"`` that the DAW
        connects to, or the name of another program's input port. Changing it closes the
        ports (playing goes on through the new one)."""
        return self._output_port

    @output_port.setter
    def output_port(self, name: str | None) -> None:
        if name != self._output_port:
            self._output_port = name
            self._rebuild()

    @property
    def input_port(self) -> str | None:
        """Another program's output port to listen to (clock sync and recording); None: no
        input."""
        return self._input_port

    @input_port.setter
    def input_port(self, name: str | None) -> None:
        if name != self._input_port:
            self._input_port = name
            self._rebuild()

    @property
    def midi_api(self) -> str | None:
        """The MIDI system ("alsa", "jack", "coremidi", "winmm"); None chooses."""
        return self._midi_api

    @midi_api.setter
    def midi_api(self, api: str | None) -> None:
        if api != self._midi_api:
            self._midi_api = api
            self._rebuild()

    @property
    def sync(self) -> str:
        """One of :data:`SYNC_MODES`; "clock" needs an :attr:`input_port`."""
        return self._sync

    @sync.setter
    def sync(self, mode: str) -> None:
        if mode not in SYNC_MODES:
            raise ValueError(f"sync must be one of {', '.join(SYNC_MODES)}, got {mode!r}")
        if mode != self._sync:
            self._sync = mode
            self._rebuild()

    @property
    def send_clock(self) -> bool:
        """Send MIDI clock, Start, Stop and Continue with the notes (internal sync only)."""
        return self._send_clock

    @send_clock.setter
    def send_clock(self, on: bool) -> None:
        if on != self._send_clock:
            self._send_clock = on
            if self._sync == "internal":
                self._rebuild()

    @property
    def bpm(self) -> float:
        """Tempo of the internal clock, BPM, within [:data:`MIN_BPM`, :data:`MAX_BPM`];
        applies at once while playing. ValueError outside the range."""
        return self._bpm

    @bpm.setter
    def bpm(self, value: float) -> None:
        bpm = float(value)
        if not MIN_BPM <= bpm <= MAX_BPM:
            raise ValueError(f"tempo {value!r} BPM is outside {MIN_BPM:g}..{MAX_BPM:g} BPM")
        self._bpm = bpm
        player = self._player
        if player is not None:
            self._guard(lambda: player.set_bpm(bpm))

    @property
    def loop(self) -> tuple[int, int] | None:
        """Bars ``(first, end)`` to loop (0-based, end exclusive); None loops the whole pattern.
        Applies at once while playing. A loop that does not fit the pattern playing is set
        aside (the whole pattern loops) until a pattern it fits comes."""
        return self._loop

    @loop.setter
    def loop(self, bars: tuple[int, int] | None) -> None:
        if bars is not None:
            first, end = bars
            if not 0 <= first < end:
                raise ValueError(f"a loop needs 0 <= first < end, got bars {first}..{end}")
            bars = (int(first), int(end))
        self._loop = bars
        self._guard(self._apply_loop)

    # --- state -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """One of :data:`STATES`."""
        return self._state

    @property
    def playing(self) -> bool:
        """Playing, or (clock sync) waiting for the DAW's Start."""
        return self._state in ("playing", "waiting")

    @property
    def pattern(self) -> Pattern | None:
        """The pattern last given to :meth:`play` or :meth:`update_pattern`."""
        return self._pattern

    @property
    def output_name(self) -> str | None:
        """The open output port as the MIDI system names it (None while closed)."""
        return self._output.name if self._output is not None else None

    @property
    def input_name(self) -> str | None:
        """The open input port as the MIDI system names it (None while closed)."""
        return self._input.name if self._input is not None else None

    @property
    def port_error(self) -> str:
        """Why the last :meth:`available_outputs` or :meth:`available_inputs` found nothing
        ("" when it worked)."""
        return self._port_error

    @property
    def beats_per_bar(self) -> float:
        """Quarter-note beats in a bar of the pattern (4 when there is none)."""
        pattern = self._current_pattern()
        if pattern is None:
            return 4.0
        return pattern.bar_ticks / pattern.ticks_per_quarter

    def song_position(self) -> float:
        """Quarter-note beats since playing started, loops counted (the player's time)."""
        return self._player.position() if self._player is not None else 0.0

    def position(self) -> float:
        """The playhead: quarter-note beats from the pattern's start."""
        pattern = self._current_pattern()
        if pattern is None:
            return 0.0
        return pattern_beat(self.song_position(), pattern, self._player_loop)

    # --- ports -------------------------------------------------------------------------------
    def available_outputs(self) -> list[str]:
        """Other programs' ports Barforge can play into (never raises: [] and
        :attr:`port_error` when the MIDI system cannot be asked)."""
        return self._list(list_output_ports)

    def available_inputs(self) -> list[str]:
        """Other programs' ports Barforge can listen to (as :meth:`available_outputs`)."""
        return self._list(list_input_ports)

    def _list(self, lister: Callable[[str | None], list[str]]) -> list[str]:
        try:
            names = lister(self._midi_api)
        except Exception as error:  # PortError, or rtmidi failing in its own way
            self._port_error = str(error)
            return []
        self._port_error = ""
        own = {self._client, f"{self._client} in"}
        return [name for name in names if name.split(":", 1)[0] not in own]

    def open_ports(self) -> bool:
        """Open the ports now (they open at :meth:`play` otherwise), so that the DAW can see
        and connect to the virtual port before anything plays. Returns whether they are open;
        failures are reported through :attr:`error_raised`."""
        return self._ensure_player() is not None

    # --- playing -----------------------------------------------------------------------------
    def play(self, pattern: Pattern | None = None) -> bool:
        """Play ``pattern`` in a loop (None: the last one given), or resume after
        :meth:`pause`. While playing, a pattern given takes over at the next bar line (see
        :meth:`update_pattern`). Returns whether it plays (or waits for the DAW's Start);
        failures are reported through :attr:`error_raised`."""
        if self._closed:
            return False
        if self.playing:
            if pattern is not None:
                self.update_pattern(pattern)
            return True
        if pattern is not None:
            self._pattern = pattern
        if self._pattern is None:
            self._report(NOTHING_TO_PLAY)
            return False
        player = self._ensure_player()
        if player is None:
            return False
        chosen = self._pattern

        def start() -> None:
            player.set_pattern(chosen)
            self._apply_loop()
            player.play()

        started = self._guard(start)
        self._paused = False
        self._sync_state()
        return started

    def update_pattern(self, pattern: Pattern) -> None:
        """The pattern changed (an edit, a new take): while playing it reaches the DAW at the
        next bar line; while stopped it is remembered for the next :meth:`play`."""
        self._pattern = pattern
        player = self._player
        if player is not None and not self._closed:
            self._guard(lambda: player.set_pattern(pattern, at="bar"))

    def stop(self) -> None:
        """Stop, release every note (panic) and go back to the start of the loop."""
        player = self._player
        if player is not None:
            self._guard(player.stop)
        self._paused = False
        self._sync_state()
        self.position_changed.emit(self.position())

    def pause(self) -> None:
        """Stop and release every note, keeping the position for :meth:`play`."""
        player = self._player
        if player is None or not self.playing:
            return
        if self._guard(player.pause):
            self._paused = True
        self._sync_state()

    def panic(self) -> None:
        """Release every sounding note now; playing goes on from the next notes."""
        player = self._player
        if player is not None:
            self._guard(player.panic)

    def set_mute(self, track: int, on: bool) -> None:
        """Mute track ``track`` (its sounding notes end at once)."""
        self._set_flag(self._muted, track, on)
        player = self._player
        if player is not None:
            self._guard(lambda: player.set_mute(track, on))

    def set_solo(self, track: int, on: bool) -> None:
        """Solo track ``track`` (the notes of tracks that fall silent end at once)."""
        self._set_flag(self._soloed, track, on)
        player = self._player
        if player is not None:
            self._guard(lambda: player.set_solo(track, on))

    def record(self, n_bars: int, track_index: int) -> float | None:
        """Record the input's notes for ``n_bars`` bars from the next bar line (starting
        playback first when stopped) into a copy of track ``track_index`` (its name, program
        and channel); :attr:`recording_finished` gives the result. Returns the song beat at
        which recording starts, or None after reporting why it cannot."""
        if self._closed:
            return None
        if self._input_port is None:
            self._report(RECORD_NEEDS_INPUT)
            return None
        if n_bars < 1:
            self._report(f"Record at least one bar (not {n_bars}).")
            return None
        pattern = self._current_pattern()
        if pattern is None:
            self._report(NOTHING_TO_PLAY)
            return None
        if not 0 <= track_index < len(pattern.tracks):
            self._report(
                f"There is no track {track_index + 1} to record into: the pattern has "
                f"{len(pattern.tracks)}."
            )
            return None
        template = pattern.tracks[track_index]
        if not self.playing and not self.play():
            return None
        player = self._player
        assert player is not None
        box: list[float] = []
        if not self._guard(lambda: box.append(player.record(n_bars, template))):
            return None
        self._recording_track = track_index
        return box[0]

    def close(self) -> None:
        """Stop (releasing every note), end the player's thread and close the ports. Call it
        from the window's ``closeEvent``. Idempotent; the transport does nothing afterwards."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self._teardown()
        if self.preview is not None:
            self.preview.close()
        self._sync_state()

    # --- internals ---------------------------------------------------------------------------
    def _current_pattern(self) -> Pattern | None:
        player = self._player
        playing = player.pattern if player is not None else None
        return playing if playing is not None else self._pattern

    @staticmethod
    def _set_flag(group: set[int], track: int, on: bool) -> None:
        if on:
            group.add(track)
        else:
            group.discard(track)

    def _ensure_player(self) -> Player | PreviewPlayer | None:
        """The player with its ports open, or None after reporting why not."""
        if self._player is not None:
            return self._player
        if self._closed:
            return None
        if self._output_port == PREVIEW_OUTPUT:
            return self._ensure_preview()
        if self._sync == "clock" and self._input_port is None:
            self._report(CLOCK_NEEDS_INPUT)
            return None
        output: MidiOutput | None = None
        source: MidiInput | None = None
        try:
            if self._output_port is None:
                output = MidiOutput("out", api=self._midi_api, client=self._client)
            else:
                output = MidiOutput(
                    self._output_port, api=self._midi_api, virtual=False, client=self._client
                )
            if self._input_port is not None:
                source = MidiInput(
                    self._input_port,
                    api=self._midi_api,
                    virtual=False,
                    client=f"{self._client} in",
                )
            self._generation += 1
            listener = _Listener(self._player_notified.emit, self._generation)
            player = Player(
                [output],
                source,
                sync=self._sync,
                bpm=self._bpm,
                send_clock=self._send_clock and self._sync == "internal",
                listener=listener,
                realtime=self._realtime,
            ).start()
            for track in self._muted:
                player.set_mute(track, True)
            for track in self._soloed:
                player.set_solo(track, True)
        except Exception as error:  # PortError (OSError) above all; never into Qt
            for port in (output, source):
                if port is not None:
                    with contextlib.suppress(Exception):
                        port.close()
            self._report(str(error))
            return None
        self._player, self._listener = player, listener
        self._output, self._input = output, source
        self._player_loop = None
        self.ports_changed.emit()
        return player

    def _ensure_preview(self) -> PreviewPlayer | None:
        """The built-in synth as the player (the sound device opens at play)."""
        if self._sync == "clock":
            self._report(PREVIEW_NEEDS_INTERNAL)
            return None
        if self.preview is None or self.preview.device != self.audio_device:
            if self.preview is not None:
                self.preview.close()
            self.preview = AudioPreview(self.audio_device)
        self._generation += 1
        listener = _Listener(self._player_notified.emit, self._generation)
        player = PreviewPlayer(self.preview, self._bpm, listener)
        for track in self._muted:
            player.set_mute(track, True)
        for track in self._soloed:
            player.set_solo(track, True)
        self._player, self._listener = player, listener
        self._player_loop = None
        self.ports_changed.emit()
        return player

    def _teardown(self) -> None:
        """Close the player (it releases every note) and the ports; news from it is dropped."""
        player, listener = self._player, self._listener
        output, source = self._output, self._input
        self._player = self._listener = None
        self._output = self._input = None
        self._generation += 1
        self._paused = False
        self._player_loop = None
        self._recording_track = None
        if listener is not None:
            listener.active = False
        if player is not None:
            with contextlib.suppress(Exception):
                player.close()
        for port in (output, source):
            if port is not None:
                with contextlib.suppress(Exception):
                    port.close()  # rtmidi sends what is queued before the port goes
        if output is not None or source is not None:
            self.ports_changed.emit()

    def _rebuild(self) -> None:
        """Ports or sync changed: close the player; start again if it was playing."""
        if self._player is None:
            return
        was_playing = self.playing
        self._teardown()
        self._sync_state()
        if was_playing:
            self.play()

    def _apply_loop(self) -> None:
        """Give the player the loop, or None where it does not fit the pattern playing."""
        player = self._player
        if player is None:
            return
        pattern = self._current_pattern()
        loop = self._loop
        if pattern is None or (loop is not None and loop[1] > pattern.n_bars):
            loop = None
        if loop != self._player_loop:
            player.set_loop(loop)
            self._player_loop = loop

    def _guard(self, action: Callable[[], object]) -> bool:
        """Run a player command; a failure stops everything and is reported."""
        try:
            action()
        except Exception as error:
            self._fail(error)
            return False
        return True

    def _fail(self, error: BaseException) -> None:
        self._teardown()
        self._sync_state()
        message = str(error)
        if not isinstance(error, OSError | AudioUnavailable):
            message = (
                f"Playback stopped: {message}. Every note was released; press Play to start again."
            )
        self.error_raised.emit(message)

    def _report(self, message: str) -> None:
        self._sync_state()
        self.error_raised.emit(message)

    def _sync_state(self) -> None:
        """Read the player's state (the truth) and tell if it changed."""
        player = self._player
        raw = player.state if player is not None else "stopped"
        if raw == "closed":
            raw = "stopped"
        state = "paused" if raw == "stopped" and self._paused else raw
        if state == self._state:
            return
        self._state = state
        if state == "playing" and not self._closed:
            self._timer.start()
        else:
            self._timer.stop()
        self.state_changed.emit(state)
        if state != "playing":
            self.position_changed.emit(self.position())

    @Slot()
    def _emit_position(self) -> None:
        self.position_changed.emit(self.position())

    @Slot(int, str, object)
    def _on_player_event(self, generation: int, kind: str, payload: object) -> None:
        if generation != self._generation or self._closed:
            return  # from a player that has been replaced or closed
        if kind == "state":
            self._sync_state()
        elif kind == "error":
            assert isinstance(payload, BaseException)
            self._fail(payload)
        elif kind == "swapped":
            assert isinstance(payload, float)
            self._guard(self._apply_loop)
            self.pattern_swapped.emit(payload)
        elif kind == "recorded":
            index, self._recording_track = self._recording_track, None
            if index is not None:
                self.recording_finished.emit(index, payload)
