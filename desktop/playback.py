# SPDX-License-Identifier: MIT
"""What the window plays, and what playing shows: the transport and its toolbar bound to the
project, the browser's auditions, the playhead, recordings and playback errors.

Data flow::

    project changed (an edit, a take, an adoption) -> transport.update_pattern: the DAW
        hears it from the next bar line; mute and solo are passed on as they change
    browser click -> audition(pattern): plays in place of the project until it changes
    transport.position_changed -> the roll's playhead
    transport.recording_finished -> the recorded notes become the track (one undo step)
    transport.error_raised -> a message that says what to do (an audio one only once)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow

from desktop.browser import BrowserPanel
from desktop.document import EditDocument
from desktop.piano_roll_view import PianoRollView
from desktop.preferences import Preferences
from desktop.track_list import TrackList
from desktop.transport import PREVIEW_OUTPUT, Transport
from desktop.transport_bar import TransportBar
from engine import editing as ed
from engine.music import Pattern

AUDITION_HINT = (
    "Auditioning a browser take (the project is unchanged): Enter or a double-click adopts it, "
    "an edit goes back to the project"
)


class Playback(QObject):
    """The window's transport, bound to its project and widgets.

    Parameters
    ----------
    window : QMainWindow
        Gets the transport bar, and shows messages in its status bar.
    document, piano_roll, track_list, browser_panel
        The window's project and the widgets playing shows on.
    current_track : callable
        The track Record records into.
    show_message : callable
        ``show_message(title, text)``: the window's message box.
    prefs : Preferences
        Ports, MIDI system, audio device, tempo and sync to start with.
    """

    def __init__(
        self,
        window: QMainWindow,
        document: EditDocument,
        piano_roll: PianoRollView,
        track_list: TrackList,
        browser_panel: BrowserPanel,
        *,
        current_track: Callable[[], int],
        show_message: Callable[[str, str], None],
        prefs: Preferences,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.document = document
        self.piano_roll = piano_roll
        self.track_list = track_list
        self.browser_panel = browser_panel
        self._show_message = show_message
        #: The pattern a click in the browser plays instead of the project's (None: the project).
        self.auditioned: Pattern | None = None
        #: The last playback problem reported (a port, the audio device), if any.
        self.last_error: str | None = None
        self._audio_errors_shown: set[str] = set()  # each is shown in a box once
        self._told_flags: list[tuple[bool, bool]] = []  # mute and solo, as last passed on
        #: The playing going on was started by an audition (the project was not playing).
        self._audition_started = False
        self._quiet = False  # opening the port at start: problems go to the status bar only
        self.transport = Transport(self, midi_api=prefs.midi_api)
        self.apply_preferences(prefs)
        self.transport.bpm = prefs.bpm
        self.transport.sync = prefs.sync
        self.transport.send_clock = prefs.send_clock
        self.transport.error_raised.connect(self._on_error)
        self.transport.position_changed.connect(self._on_playhead)
        self.transport.state_changed.connect(self._on_state)
        self.transport.recording_finished.connect(self._on_recorded)
        self.bar = TransportBar(self.transport, self.pattern_to_play, current_track)
        self.bar.bpm_edited.connect(self._on_bpm_edited)

    # --- what plays ----------------------------------------------------------------------------
    def pattern_to_play(self) -> Pattern | None:
        """What Play plays: the auditioned browser take, else the project."""
        if self.auditioned is not None:
            return self.auditioned
        return self.document.pattern if self.document.is_open else None

    def audition(self, pattern: Pattern) -> None:
        """Play ``pattern`` (a browser take) in place of the project until something is adopted
        or the project changes: into the DAW, or through the built-in synth, whichever the
        output is. While playing it takes over at the next bar line."""
        was_playing = self.transport.playing
        self.auditioned = pattern
        if self.transport.play(pattern):
            if not was_playing:
                self._audition_started = True
            self.window.statusBar().showMessage(AUDITION_HINT, 8000)

    def adopting(self) -> None:
        """A take is being adopted: the audition is over. Playing that the audition started
        stops (the composer was only listening to the take); playing the project, which the
        composer started, goes on with the adopted music from the next bar line."""
        if self.auditioned is not None and self._audition_started:
            self.auditioned = None
            self.transport.stop()

    def project_changed(self, music: bool) -> None:
        """The document changed: its music reaches the DAW at the next bar line (an audition
        ends), and mute and solo are passed on."""
        doc = self.document
        if not doc.is_open:
            return
        if music:
            self.auditioned = None
            self.browser_panel.set_playing(None)
            if round(doc.pattern.bpm, 1) != round(self.transport.bpm, 1):
                self.bar.show_bpm(doc.pattern.bpm)  # the project's tempo plays
            self.transport.update_pattern(doc.pattern)
        flags = [(s.mute, s.solo) for s in doc.track_states]
        if flags == self._told_flags:
            return
        for i, (mute, solo) in enumerate(flags):
            told = self._told_flags[i] if i < len(self._told_flags) else (False, False)
            if mute != told[0]:
                self.transport.set_mute(i, mute)
            if solo != told[1]:
                self.transport.set_solo(i, solo)
        self._told_flags = flags

    def _on_bpm_edited(self, bpm: float) -> None:
        """The composer set a tempo: it is the project's (one undo step), so that export and the
        project file keep it."""
        doc = self.document
        if not doc.is_open:
            return
        tempo_us = round(60_000_000 / bpm)
        if tempo_us != doc.pattern.tempo_us:
            doc.push(f"Tempo {bpm:.6g} BPM", dataclasses.replace(doc.pattern, tempo_us=tempo_us))

    def tempo_for_new(self) -> int:
        """The tempo (microseconds a quarter) a new project starts at: the transport's."""
        return round(60_000_000 / self.transport.bpm)

    # --- preferences ---------------------------------------------------------------------------
    def apply_preferences(self, prefs: Preferences) -> None:
        """Use the ports, MIDI system and audio device ``prefs`` name."""
        transport = self.transport
        transport.midi_api = prefs.midi_api
        transport.output_port = prefs.output_port
        transport.input_port = prefs.input_port
        if transport.audio_device != prefs.audio_device:
            transport.audio_device = prefs.audio_device
            self._audio_errors_shown.clear()

    def save_preferences(self, prefs: Preferences) -> None:
        """Keep the ports, tempo and sync chosen on the transport bar for the next session."""
        transport = self.transport
        prefs.output_port = transport.output_port
        prefs.input_port = transport.input_port
        prefs.bpm = transport.bpm
        prefs.sync = transport.sync
        prefs.send_clock = transport.send_clock

    def open_port_at_start(self) -> bool:
        """Create Barforge's virtual output port now, so that the DAW can be routed to it
        before anything plays (nothing to do for another program's port or the built-in
        synth). A problem is told in the status bar only. Returns whether the port is open."""
        if self.transport.output_port is not None:
            return False
        self._quiet = True
        try:
            return self.transport.open_ports()
        finally:
            self._quiet = False

    def close(self) -> None:
        """Stop (nothing is left sounding) and close the ports; the window calls it on close."""
        self.transport.close()

    # --- what playing shows --------------------------------------------------------------------
    def _on_error(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 10000)
        self.bar.show_problem(message)
        self.last_error = message
        if self._quiet:
            return
        if self.transport.output_port == PREVIEW_OUTPUT:
            if message in self._audio_errors_shown:
                return  # said once; the status bar repeats it
            self._audio_errors_shown.add(message)
        self._show_message("Playback", message)

    def _on_state(self, state: str) -> None:
        if state != "playing" and state != "waiting":
            self._audition_started = False
        if state == "stopped":
            self.piano_roll.playhead_tick = None
            self.piano_roll.update()
            self.browser_panel.set_playing(None)

    def _on_playhead(self, beat: float) -> None:
        pattern = self.transport.pattern or self.pattern_to_play()
        roll = self.piano_roll
        if pattern is None or not self.transport.playing:
            roll.playhead_tick = None
        else:
            roll.playhead_tick = beat * pattern.ticks_per_quarter
        roll.update()

    def _on_recorded(self, index: int, track: Any) -> None:
        """A recording from the input port ended: it becomes track ``index`` (one undo step)
        and the current track, ready for Accompany."""
        doc = self.document
        if not doc.is_open or not 0 <= index < len(doc.pattern.tracks):
            return
        pattern = doc.pattern
        kept = pattern.tracks[index]
        notes = [n for n in track.notes if n.start < pattern.length_ticks]
        doc.push(
            f"Record into {kept.name or f'track {index + 1}'}",
            ed.replace_track(pattern, index, kept.with_notes(notes)),
        )
        self.track_list.select_track(index)
        self.window.statusBar().showMessage(
            f"Recorded {len(notes)} notes into {kept.name}: Accompany (Ctrl+Shift+A) writes "
            "the other tracks around them",
            10000,
        )
