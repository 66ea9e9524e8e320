# SPDX-License-Identifier: MIT
"""Audio preview: a pattern rendered by :mod:`engine.audio.synth` and looped to a sound device.

It behaves like the live player (:mod:`engine.live.player`) from the composer's side: the
pattern (or a loop range of its bars) repeats; a new pattern submitted with
:meth:`AudioPreview.set_pattern` takes over at the next bar line; mute and solo are a set of
audible tracks.

The whole loop is rendered in the calling thread; PortAudio's callback only copies frames out
of the ready buffer under a lock. :meth:`AudioPreview.pull` is that same copy, so tests and
headless use read the audio "to a buffer" with no device: create the preview with
``open_stream=False`` and call :meth:`~AudioPreview.pull` in place of the callback.

sounddevice is imported only when a stream is first opened (it loads PortAudio, which probes
the audio system); a machine without PortAudio or without an output device raises
:class:`AudioUnavailable` from :meth:`AudioPreview.play` and the preview stays usable.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.audio.synth import render, tick_frame
from engine.music import Pattern

Frames = npt.NDArray[np.float32]

#: What to tell the user when no stream can be opened.
ADVICE = "start JACK or PulseAudio, or choose another device in Preferences"


class AudioUnavailable(RuntimeError):
    """No sound device could be opened. The message names the device, the reason and what to
    do; ``device`` and ``reason`` hold the first two."""

    def __init__(self, device: str | int | None, reason: str) -> None:
        self.device = device
        self.reason = reason
        name = "the default output device" if device is None else f"output device {device!r}"
        super().__init__(f"no audio output: cannot open {name} ({reason}); {ADVICE}")


def list_output_devices() -> list[str]:
    """Names of the sound devices PortAudio can play to; empty where there are none (or no
    PortAudio at all). Never raises."""
    try:
        import sounddevice

        devices = sounddevice.query_devices()
    except Exception:  # PortAudio missing (OSError) or failing: no devices to offer
        return []
    return [str(d["name"]) for d in devices if int(d.get("max_output_channels", 0)) > 0]


@dataclass(frozen=True, slots=True)
class _Loop:
    """A rendered loop and where its bar lines fall."""

    pattern: Pattern
    frames: Frames  # shape=(n_frames, 2)
    bar_frames: tuple[int, ...]  # frame of each bar line, first 0, last n_frames
    first_bar: int
    beats_per_frame: float  # quarter notes per frame
    first_beat: float  # quarter notes from the pattern start to the loop start

    @property
    def n_bars(self) -> int:
        return len(self.bar_frames) - 1


@dataclass(frozen=True, slots=True)
class _Pending:
    loop: _Loop
    at_frame: int  # the bar line of the playing loop where it takes over


class AudioPreview:
    """Loops a rendered pattern to a sound device (or to :meth:`pull` alone).

    Parameters
    ----------
    device : str, int or None
        A sounddevice output device (name, part of a name, or index); None is the default.
        Changing :attr:`device` later closes the open stream; the next :meth:`play` opens it.
    sample_rate : int
        Frames per second (Hz) of the rendering and the stream.
    block_frames : int
        Frames per callback (the stream's block size); 0 lets PortAudio choose.
    open_stream : bool
        False for a headless preview: :meth:`play` never opens a device and the caller reads
        the audio with :meth:`pull`.
    """

    def __init__(
        self,
        device: str | int | None = None,
        sample_rate: int = 48000,
        block_frames: int = 512,
        *,
        open_stream: bool = True,
    ) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 8000:
            raise ValueError(f"sample_rate must be an integer >= 8000 Hz, got {sample_rate!r}")
        if isinstance(block_frames, bool) or not isinstance(block_frames, int) or block_frames < 0:
            raise ValueError(f"block_frames must be an integer >= 0, got {block_frames!r}")
        self._device = device
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self.open_stream = open_stream
        self._lock = threading.Lock()
        self._stream: Any = None
        self._loop: _Loop | None = None
        self._pending: _Pending | None = None
        self._position = 0  # frame within the playing loop
        self._playing = False
        # What play() asked for, kept for set_pattern.
        self._bpm: float | None = None
        self._bars: tuple[int, int] | None = None

    # --- properties ---------------------------------------------------------------------------
    @property
    def device(self) -> str | int | None:
        """The output device; setting it closes the open stream (the next play opens it)."""
        return self._device

    @device.setter
    def device(self, device: str | int | None) -> None:
        self.close()
        self._device = device

    @property
    def playing(self) -> bool:
        """Whether the loop is playing (:meth:`pull` returns it rather than silence)."""
        with self._lock:
            return self._playing

    # --- commands -----------------------------------------------------------------------------
    def play(
        self,
        pattern: Pattern,
        bpm: float | None = None,
        loop: tuple[int, int] | None = None,
        audible: Collection[int] | None = None,
        start_beat: float = 0.0,
    ) -> None:
        """Render ``pattern`` and loop it from ``start_beat``.

        Parameters
        ----------
        pattern : Pattern
        bpm : float or None
            Tempo in quarter notes per minute; None plays each pattern at its own tempo.
        loop : (int, int) or None
            First bar and the bar after the last to repeat; None repeats the whole pattern.
        audible : collection of int or None
            Indices of the tracks to hear; None hears all.
        start_beat : float
            Where to start, in quarter notes from the pattern's start; a point outside the loop
            is folded into it.

        Raises
        ------
        AudioUnavailable
            No output stream could be opened (the preview is left stopped, and usable).
        ValueError
            A loop outside the pattern, a tempo <= 0 or a start that is not a finite number.
        """
        if not (isinstance(start_beat, int | float) and math.isfinite(start_beat)):
            raise ValueError(f"start_beat must be a finite number, got {start_beat!r}")
        rendered = self._render(pattern, bpm, loop, audible)
        if self.open_stream:
            self._open()
        beat_frames = (start_beat - rendered.first_beat) / rendered.beats_per_frame
        with self._lock:
            self._bpm, self._bars = bpm, loop
            self._loop = rendered
            self._pending = None
            self._position = round(beat_frames) % len(rendered.frames)
            self._playing = True
        if self._stream is not None and not self._stream.active:
            try:
                self._stream.start()
            except Exception as error:
                self.close()
                raise AudioUnavailable(self._device, str(error)) from error

    def set_pattern(self, pattern: Pattern, audible: Collection[int] | None = None) -> None:
        """Render ``pattern`` and let it take over at the next bar line of the playing loop.

        The tempo and loop range of :meth:`play` carry over (a loop that does not fit the new
        pattern becomes the whole pattern). ``audible`` is the set of tracks to hear, None for
        all. While stopped the new pattern takes over at once. Playback continues in the bar
        that follows, counted within the new loop.
        """
        bars = self._bars
        if bars is not None and bars[1] > pattern.n_bars:
            bars = None
        rendered = self._render(pattern, self._bpm, bars, audible)
        with self._lock:
            current = self._loop
            if current is None or not self._playing:
                if current is not None:
                    bar = _bar_at(current.bar_frames, self._position)
                    self._position = rendered.bar_frames[bar % rendered.n_bars]
                self._loop, self._pending = rendered, None
                return
            position = self._position
            at_frame = next(f for f in current.bar_frames if f >= position)
            self._pending = _Pending(rendered, at_frame)

    def set_audible(self, audible: Collection[int] | None) -> None:
        """Mute and solo: hear only the tracks ``audible`` (None: all), at once, as the live
        player does. Renders the playing pattern again (and a pending one)."""
        while True:
            with self._lock:
                current, pending = self._loop, self._pending
            if current is None:
                return
            now = self._render(current.pattern, self._bpm, self._loop_bars(current), audible)
            later = None
            if pending is not None:
                loop = pending.loop
                later = self._render(loop.pattern, self._bpm, self._loop_bars(loop), audible)
            with self._lock:
                if self._loop is not current or self._pending is not pending:
                    continue  # a bar line passed while rendering: render what plays now
                self._position = _same_place(current, now, self._position)
                self._loop = now
                if pending is not None and later is not None:
                    self._pending = _Pending(later, pending.at_frame)
                return

    def stop(self) -> None:
        """Stop at once; a pattern waiting for its bar line takes over now. The position stays
        where it was (see :meth:`position_beats`)."""
        with self._lock:
            self._playing = False
            if self._pending is not None:
                self._take_over()
        stream = self._stream
        # Outside the lock: abort waits for the callback. A device that has vanished may fail
        # to abort; the preview is stopped all the same (pull already returns silence).
        if stream is not None and stream.active:
            with contextlib.suppress(Exception):
                stream.abort()

    def close(self) -> None:
        """Stop and release the sound device. A later :meth:`play` opens it again."""
        self.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):  # as in stop: a lost device still counts closed
                stream.close()

    def __enter__(self) -> AudioPreview:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ------------------------------------------------------------------------------
    def position_beats(self) -> float:
        """Where playback is, in quarter notes from the pattern's start (within the loop; 0.0
        before anything was played). This is the next frame to be read, so a device plays it
        after the stream's latency."""
        with self._lock:
            loop = self._loop
            if loop is None:
                return 0.0
            return loop.first_beat + (self._position % len(loop.frames)) * loop.beats_per_frame

    def pull(self, n_frames: int) -> Frames:
        """The next ``n_frames`` of audio, float32, ``shape=(n_frames, 2)``; silence while
        stopped. This is what the device callback plays."""
        out = np.empty((n_frames, 2), np.float32)
        self._fill(out)
        return out

    # --- internals ----------------------------------------------------------------------------
    def _render(
        self,
        pattern: Pattern,
        bpm: float | None,
        bars: tuple[int, int] | None,
        audible: Collection[int] | None,
    ) -> _Loop:
        tempo = pattern.bpm if bpm is None else bpm
        first_bar, end_bar = (0, pattern.n_bars) if bars is None else bars
        frames = render(pattern, self.sample_rate, tempo, audible, bars=(first_bar, end_bar))
        if len(frames) < 2:
            raise ValueError(f"at {tempo:g} BPM the loop lasts less than two frames")
        tpq = pattern.ticks_per_quarter

        def frame(tick: int) -> int:
            return tick_frame(tick, tpq, self.sample_rate, tempo)

        origin = frame(first_bar * pattern.bar_ticks)
        bar_frames = tuple(
            frame(bar * pattern.bar_ticks) - origin for bar in range(first_bar, end_bar + 1)
        )
        return _Loop(
            pattern=pattern,
            frames=frames,
            bar_frames=bar_frames,
            first_bar=first_bar,
            beats_per_frame=tempo / (60.0 * self.sample_rate),
            first_beat=first_bar * pattern.bar_ticks / tpq,
        )

    @staticmethod
    def _loop_bars(loop: _Loop) -> tuple[int, int]:
        return (loop.first_bar, loop.first_bar + loop.n_bars)

    def _open(self) -> None:
        """Open the output stream if it is not open; AudioUnavailable if it cannot be."""
        if self._stream is not None:
            return
        try:
            import sounddevice

            stream = sounddevice.OutputStream(
                samplerate=self.sample_rate,
                blocksize=self.block_frames,
                device=self._device,
                channels=2,
                dtype="float32",
                callback=self._callback,
            )
        except Exception as error:  # OSError (no PortAudio), PortAudioError, ValueError (name)
            raise AudioUnavailable(self._device, str(error) or type(error).__name__) from error
        self._stream = stream

    def _callback(self, outdata: Frames, frames: int, time: Any, status: Any) -> None:
        """PortAudio's thread: copy the next frames out; nothing is rendered here."""
        self._fill(outdata)

    def _fill(self, out: Frames) -> None:
        """Copy the next ``len(out)`` frames into ``out`` (silence while stopped)."""
        with self._lock:
            loop = self._loop
            if not self._playing or loop is None:
                out.fill(0.0)
                return
            done, wanted = 0, len(out)
            while done < wanted:
                pending = self._pending
                if pending is not None and self._position == pending.at_frame:
                    self._take_over()
                    loop = self._loop
                    assert loop is not None
                    continue
                if self._position >= len(loop.frames):
                    self._position = 0
                    continue
                end = len(loop.frames)
                if pending is not None and pending.at_frame > self._position:
                    end = pending.at_frame
                n = min(wanted - done, end - self._position)
                out[done : done + n] = loop.frames[self._position : self._position + n]
                done += n
                self._position += n

    def _take_over(self) -> None:
        """Swap in the pending loop at the current bar line (lock held)."""
        pending, old = self._pending, self._loop
        assert pending is not None
        assert old is not None
        bar = old.first_bar + _bar_at(old.bar_frames, pending.at_frame)
        new = pending.loop
        self._loop, self._pending = new, None
        self._position = new.bar_frames[(bar - new.first_bar) % new.n_bars]


def _same_place(old: _Loop, new: _Loop, frame: int) -> int:
    """The frame of ``new`` at the same bar and beat as ``frame`` of ``old``."""
    bar = _bar_at(old.bar_frames, frame)
    offset_beats = (frame - old.bar_frames[bar]) * old.beats_per_frame
    target = (old.first_bar + bar - new.first_bar) % new.n_bars
    start, end = new.bar_frames[target], new.bar_frames[target + 1]
    return min(start + round(offset_beats / new.beats_per_frame), end - 1)


def _bar_at(bar_frames: tuple[int, ...], frame: int) -> int:
    """Index of the bar holding ``frame`` (the bar that starts there, for a bar line)."""
    return max(i for i, f in enumerate(bar_frames) if f <= frame)
