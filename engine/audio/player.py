# SPDX-License-Identifier: MIT
"""The audio preview behind the live player's interface, so that a transport can play into the
built-in synth exactly as it plays into a MIDI port.

:class:`PreviewPlayer` offers the part of :class:`engine.live.player.Player` a host drives
(play, stop, pause, set_pattern at the next bar, loop, tempo, mute and solo, position) on top of
an :class:`~engine.audio.preview.AudioPreview`. Nothing can hang here: stopping the audio stops
every sound. Recording and following a MIDI clock need MIDI ports; they raise a clear error.
"""

from __future__ import annotations

from engine.audio.preview import AudioPreview
from engine.live.player import PlayerListener
from engine.music import Pattern, Track

MIDI_ONLY = "{what} needs MIDI: choose a MIDI output under Output (the built-in synth only plays)"


class PreviewPlayer:
    """Plays patterns through the audio preview with the live player's commands.

    Parameters
    ----------
    preview : AudioPreview
        Where the sound goes (the caller owns it; :meth:`close` only stops it).
    bpm : float
        Tempo in quarter notes per minute.
    listener : PlayerListener or None
        Told of state changes (on the caller's thread: the preview has no thread of its own
        besides the sound device's).
    """

    def __init__(
        self, preview: AudioPreview, bpm: float = 120.0, listener: PlayerListener | None = None
    ) -> None:
        self.preview = preview
        self.listener = listener or PlayerListener()
        self._bpm = float(bpm)
        self._pattern: Pattern | None = None
        self._loop: tuple[int, int] | None = None
        self._muted: set[int] = set()
        self._soloed: set[int] = set()
        self._state = "stopped"
        self._resume_beat = 0.0

    # --- the live player's interface --------------------------------------------------------
    def start(self) -> PreviewPlayer:
        return self

    @property
    def state(self) -> str:
        return self._state

    @property
    def pattern(self) -> Pattern | None:
        return self._pattern

    def set_pattern(self, pattern: Pattern, at: str = "bar") -> None:
        """Play ``pattern`` from the next bar line (or at once while stopped)."""
        self._pattern = pattern
        if self._state == "playing":
            self.preview.set_pattern(pattern, self._audible())

    def play(self) -> None:
        """Start (or resume) looping; raises AudioUnavailable when no device opens."""
        if self._pattern is None or self._state == "playing":
            return
        self._start(self._resume_beat)

    def stop(self) -> None:
        self.preview.stop()
        self._resume_beat = self._loop_start()
        self._set_state("stopped")

    def pause(self) -> None:
        self._resume_beat = self.preview.position_beats()
        self.preview.stop()
        self._set_state("stopped")

    def panic(self) -> None:
        """Audio has no hanging notes; the sound goes on with the next notes."""

    def seek(self, beat: float) -> None:
        self._resume_beat = float(beat)
        if self._state == "playing":
            self._start(self._resume_beat)

    def set_bpm(self, bpm: float) -> None:
        self._bpm = float(bpm)
        if self._state == "playing":
            self._start(self.preview.position_beats())

    def set_loop(self, bars: tuple[int, int] | None) -> None:
        self._loop = bars
        if self._state == "playing":
            self._start(self.preview.position_beats())

    def set_mute(self, track: int, muted: bool) -> None:
        (self._muted.add if muted else self._muted.discard)(track)
        self.preview.set_audible(self._audible())

    def set_solo(self, track: int, soloed: bool) -> None:
        (self._soloed.add if soloed else self._soloed.discard)(track)
        self.preview.set_audible(self._audible())

    def position(self) -> float:
        """Beats into the loop (what :func:`desktop.transport.pattern_beat` folds back)."""
        if self._state != "playing":
            return max(0.0, self._resume_beat - self._loop_start())
        return max(0.0, self.preview.position_beats() - self._loop_start())

    def record(self, n_bars: int, track: Track | None = None) -> float:
        raise RuntimeError(MIDI_ONLY.format(what="Recording"))

    def close(self, timeout: float = 5.0) -> None:
        self.preview.stop()
        self._set_state("closed")

    # --- internals ----------------------------------------------------------------------------
    def _start(self, beat: float) -> None:
        pattern = self._pattern
        assert pattern is not None
        loop = self._loop
        if loop is not None and loop[1] > pattern.n_bars:
            loop = None
        self.preview.play(pattern, self._bpm, loop, self._audible(), start_beat=beat)
        self._set_state("playing")

    def _loop_start(self) -> float:
        pattern = self._pattern
        if pattern is None or self._loop is None:
            return 0.0
        return self._loop[0] * pattern.bar_ticks / pattern.ticks_per_quarter

    def _audible(self) -> set[int] | None:
        pattern = self._pattern
        if pattern is None or not (self._muted or self._soloed):
            return None
        # As the live player: while any track is soloed only soloed ones sound; a muted track
        # never does.
        tracks = range(len(pattern.tracks))
        return {
            t for t in tracks if t not in self._muted and (not self._soloed or t in self._soloed)
        }

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.listener.state_changed(state)
