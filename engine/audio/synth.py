# SPDX-License-Identifier: MIT
"""A small offline synthesiser: a pattern rendered to a stereo float buffer with numpy.

Not a General MIDI sound set: one simple timbre per program family (:data:`FAMILY_TIMBRES`) and
a drum kit over the GM key map, enough to hear an idea without a DAW. Work is vectorised per
note (each note is one numpy expression over its samples); identical notes are rendered once.

Timing is sample-exact and shared with :mod:`engine.audio.preview`: tick ``t`` of the rendered
range ``[t0, t1)`` falls on frame ``tick_frame(t) - tick_frame(t0)``.

Release tails: with ``tails="wrap"`` (the default) sound that rings past the end of the range
is added back at its start, so that the buffer loops seamlessly; ``tails="cut"`` drops it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from engine.music import Pattern, Track

Wave = npt.NDArray[np.float32]

#: Gain of one note at full velocity before the mix is limited (headroom for chords).
NOTE_GAIN = 0.18
#: Level at which the soft limiter starts bending the mix towards 1.0.
LIMIT_KNEE = 0.8
#: GM drum key: (sound, decay time constant in seconds, length in seconds); others click.
DRUM_KIT: dict[int, tuple[str, float, float]] = {
    key: (name, decay_sec, length_sec)
    for keys, name, decay_sec, length_sec in (
        ((35, 36), "kick", 0.12, 0.5),
        ((38, 40), "snare", 0.06, 0.35),
        ((42, 44), "hat", 0.03, 0.2),
        ((46,), "hat", 0.25, 1.0),
        ((49, 52, 55, 57), "crash", 0.6, 2.0),
        ((51, 53, 59), "ride", 0.4, 1.5),
        ((41, 43, 45, 47, 48, 50), "tom", 0.15, 0.6),
    )
    for key in keys
}
#: Longest sound of one note, in seconds (a held note is cut, with its release, after it).
MAX_NOTE_SEC = 8.0


@dataclass(frozen=True, slots=True)
class Timbre:
    """How one family of programs sounds.

    ``wave`` is "harmonic" (sines at ``harmonics`` relative amplitudes), "saw" or "square"
    (naive, softened by a short moving average). ``decay_sec`` is the time constant of the
    decay while the key is held (None: sustained); ``bright_sec`` that of the overtones, which
    fade faster (plucked and struck sounds). Times in seconds.
    """

    wave: str
    attack_sec: float
    release_sec: float
    decay_sec: float | None = None
    bright_sec: float | None = None
    harmonics: tuple[float, ...] = (1.0,)
    detune: float = 0.0
    gain: float = 1.0


_KEYS = Timbre("harmonic", 0.002, 0.08, 1.2, 0.25, (1.0, 0.5, 0.3, 0.18, 0.1, 0.06))
_MALLET = Timbre("harmonic", 0.001, 0.2, 0.6, 0.08, (1.0, 0.0, 0.0, 0.35, 0.0, 0.0, 0.0, 0.0, 0.2))
_ORGAN = Timbre("harmonic", 0.01, 0.04, None, None, (1.0, 0.7, 0.45, 0.35, 0.0, 0.25, 0.0, 0.2))
_PLUCK = Timbre("harmonic", 0.002, 0.06, 0.9, 0.12, (1.0, 0.6, 0.45, 0.3, 0.22, 0.15, 0.1, 0.07))
_PAD = Timbre("saw", 0.12, 0.25, None, None, detune=0.004, gain=0.7)
_BRASS = Timbre("saw", 0.03, 0.08, None, None, gain=0.7)
_REED = Timbre("square", 0.02, 0.06, None, None, gain=0.6)
_PIPE = Timbre("harmonic", 0.03, 0.06, None, None, (1.0, 0.12, 0.04))
_LEAD = Timbre("square", 0.005, 0.05, None, None, gain=0.6)

#: Timbre of each GM family (program // 8), in :data:`engine.gm.FAMILY_NAMES` order.
FAMILY_TIMBRES: tuple[Timbre, ...] = (
    _KEYS, _MALLET, _ORGAN, _PLUCK, _PLUCK, _PAD, _PAD, _BRASS,
    _REED, _PIPE, _LEAD, _PAD, _PAD, _PLUCK, _MALLET, _PAD,
)  # fmt: skip


def tick_frame(tick: int, ticks_per_quarter: int, sample_rate: int, bpm: float) -> int:
    """The frame (sample index) at which ``tick`` falls, counting from tick 0."""
    return round(tick * 60.0 * sample_rate / (bpm * ticks_per_quarter))


def _check(sample_rate: int, bpm: float) -> None:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 8000:
        raise ValueError(f"sample_rate must be an integer >= 8000 Hz, got {sample_rate!r}")
    if not (isinstance(bpm, int | float) and math.isfinite(bpm) and bpm > 0):
        raise ValueError(f"bpm must be a positive number, got {bpm!r}")


@functools.lru_cache(maxsize=4)
def _noise(sample_rate: int) -> tuple[Wave, Wave]:
    """Two seconds of fixed white noise (so renders repeat exactly) and the same high-passed."""
    noise = np.random.default_rng(2026).uniform(-1.0, 1.0, 2 * sample_rate).astype(np.float32)
    hiss = np.diff(noise, prepend=np.float32(0.0)) * np.float32(0.5)
    noise.flags.writeable = hiss.flags.writeable = False
    return noise, hiss


def _soften(wave: Wave) -> Wave:
    """A three-tap low-pass, (1, 2, 1) / 4: takes the edge off naive waveforms, in place."""
    edge = wave[:-1] + wave[1:]
    wave *= np.float32(0.5)
    wave[1:] += np.float32(0.25) * edge
    wave[:-1] += np.float32(0.25) * edge
    return wave


@functools.lru_cache(maxsize=4)
def _counter(n_frames: int) -> npt.NDArray[np.uint32]:
    """0, 1, 2... as uint32 (read-only), for phase accumulators."""
    counter = np.arange(n_frames, dtype=np.uint32)
    counter.flags.writeable = False
    return counter


def _phase(freq: float, n_frames: int, sample_rate: int) -> Wave:
    """Phase in cycles, [0, 1), of an oscillator at ``freq`` Hz from frame 0.

    A 32-bit integer accumulator that wraps by itself: exact for long notes, where a float32
    ``2 * pi * f * t`` would lose the phase's fine part.
    """
    step = np.uint32(round(freq / sample_rate * 2.0**32) % 2**32)
    cycles: Wave = (_counter(_ramp(sample_rate).size)[:n_frames] * step).astype(np.float32)
    cycles *= np.float32(2.0**-32)
    return cycles


@functools.lru_cache(maxsize=4)
def _ramp(sample_rate: int) -> Wave:
    """Time in seconds of each frame, 0 .. MAX_NOTE_SEC + a tail (read-only)."""
    n = int((MAX_NOTE_SEC + 2.0) * sample_rate)
    ramp = np.arange(n, dtype=np.float32) / np.float32(sample_rate)
    ramp.flags.writeable = False
    return ramp


def _tail_frames(timbre: Timbre, sample_rate: int) -> int:
    """Frames of release after a key is let go (to -40 dB, then a short fade to zero)."""
    return int(timbre.release_sec * 4.6 * sample_rate)


def _release(timbre: Timbre, sample_rate: int) -> Wave:
    """The release curve, 1 at the key's release falling to 0, ``_tail_frames`` long."""
    t = _ramp(sample_rate)[: _tail_frames(timbre, sample_rate)]
    curve: Wave = np.exp(t * np.float32(-1.0 / timbre.release_sec))
    curve *= np.linspace(1.0, 0.0, len(t), dtype=np.float32)
    return curve


@functools.lru_cache(maxsize=64)
def _power_series(chebyshev: tuple[float, ...]) -> tuple[float, ...]:
    """Power-series coefficients (lowest first) of a Chebyshev series."""
    return tuple(float(c) for c in np.polynomial.chebyshev.cheb2poly(chebyshev))


def _held(timbre: Timbre, pitch: int, n_frames: int, sample_rate: int) -> Wave:
    """A key held for ``n_frames`` at unit velocity (attack and decay, no release)."""
    freq = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    t = _ramp(sample_rate)[:n_frames]
    cycles = _phase(freq, n_frames, sample_rate)
    if timbre.wave == "harmonic":
        # Fundamental as a sine; overtones sum(a_k cos(k x)) as a polynomial in cos(x)
        # (Chebyshev), evaluated by Horner: two cheap passes per overtone instead of a sine.
        angle = cycles * np.float32(2.0 * math.pi)
        wave = np.sin(angle)
        n_keep = min(len(timbre.harmonics), int(0.45 * sample_rate / freq))
        overtones = [0.0, 0.0, *timbre.harmonics[1:n_keep]]
        if n_keep >= 2 and any(overtones):
            cosine = np.cos(angle)
            coefficients = _power_series(tuple(overtones))
            bright = np.full(n_frames, np.float32(coefficients[-1]), np.float32)
            for coefficient in coefficients[-2::-1]:
                bright *= cosine
                bright += np.float32(coefficient)
            if timbre.bright_sec is not None:
                bright *= np.exp(t * np.float32(-1.0 / timbre.bright_sec))
            wave += bright
    else:
        wave = np.zeros(n_frames, np.float32)
        for shift in (-timbre.detune, timbre.detune) if timbre.detune else (0.0,):
            cycles = _phase(freq * (1.0 + shift), n_frames, sample_rate)
            if timbre.wave == "saw":
                wave += cycles
                wave -= np.float32(0.5)
            else:
                wave += np.where(cycles < 0.5, np.float32(0.5), np.float32(-0.5))
        wave = _soften(wave)
    gain = np.float32(timbre.gain)
    envelope = np.minimum(t * (gain / np.float32(timbre.attack_sec)), gain)  # the attack
    if timbre.decay_sec is not None:
        rate = (freq / 262.0) ** 0.3 / timbre.decay_sec
        envelope *= np.exp(t * np.float32(-rate))
    wave *= envelope
    result: Wave = wave
    return result


def _sweep(t: Wave, high_hz: float, low_hz: float, tau_sec: float) -> Wave:
    """A sine whose frequency falls exponentially from ``high_hz`` to ``low_hz``."""
    phase = low_hz * t + (high_hz - low_hz) * tau_sec * (1.0 - np.exp(-t / np.float32(tau_sec)))
    result: Wave = np.sin(np.float32(2.0 * math.pi) * phase)
    return result


def _drum(key: int, sample_rate: int) -> Wave:
    """One drum hit (GM key map) at unit velocity; drums ignore their note's length."""
    name, decay_sec, length_sec = DRUM_KIT.get(key, ("click", 0.008, 0.05))
    t = _ramp(sample_rate)[: int(length_sec * sample_rate)]
    noise, hiss = (x[: len(t)] for x in _noise(sample_rate))
    two_pi = np.float32(2.0 * math.pi)
    if name == "kick":
        sound = 1.6 * _sweep(t, 160.0, 45.0, 0.03)
    elif name == "snare":
        sound = 0.7 * noise + 0.6 * np.sin(two_pi * 185.0 * t) * np.exp(t * np.float32(-30.0))
    elif name == "hat":
        sound = 0.6 * hiss
    elif name == "crash":
        sound = 0.5 * hiss
    elif name == "ride":
        sound = 0.25 * hiss + 0.15 * np.sin(two_pi * 3150.0 * t)
    elif name == "tom":
        low_hz = 70.0 * 2.0 ** ((key - 41) / 12.0)
        sound = _sweep(t, 1.8 * low_hz, low_hz, 0.05)
    else:  # a short click, higher for higher keys
        sound = 0.5 * noise + 0.5 * np.sin(two_pi * 600.0 * 2.0 ** ((key - 60) / 24.0) * t)
    result: Wave = (sound * np.exp(t * np.float32(-1.0 / decay_sec))).astype(np.float32)
    return result


def _add(mix: Wave, start: int, sound: Wave, wrap: bool) -> None:
    """Add ``sound`` into ``mix`` at ``start``; what rings past the end wraps round (as often
    as needed when the sound outlasts the buffer) or is dropped."""
    n = len(mix)
    head = min(len(sound), n - start)
    mix[start : start + head] += sound[:head]
    while wrap and head < len(sound):
        mix[: min(n, len(sound) - head)] += sound[head : head + n]
        head += n


def _track_audio(
    track: Track,
    hits: list[tuple[int, int, int, np.float32]],
    n_frames: int,
    wrap: bool,
    sample_rate: int,
) -> Wave:
    """One track, mono. ``hits`` holds (pitch, onset frame, release frame, level) per note."""
    mono = np.zeros(n_frames, np.float32)
    if track.is_drum:
        kit: dict[int, Wave] = {}
        for pitch, onset, _, level in hits:
            if pitch not in kit:
                kit[pitch] = _drum(pitch, sample_rate)
            _add(mono, onset, kit[pitch] * level, wrap)
        return mono
    timbre = FAMILY_TIMBRES[track.program // 8]
    release = _release(timbre, sample_rate)
    cap = int(MAX_NOTE_SEC * sample_rate)
    longest: dict[int, int] = {}
    for pitch, onset, end, _ in hits:
        longest[pitch] = max(longest.get(pitch, 0), min(end - onset, cap))
    # Each pitch is synthesised once, as long as its longest note; notes are slices of it.
    held = {p: _held(timbre, p, n + len(release), sample_rate) for p, n in longest.items()}
    for pitch, onset, end, level in hits:
        n_on = min(end - onset, cap)
        sound = held[pitch][: n_on + len(release)] * level
        sound[n_on:] *= release
        _add(mono, onset, sound, wrap)
    return mono


def render(
    pattern: Pattern,
    sample_rate: int = 48000,
    bpm: float | None = None,
    audible: Collection[int] | None = None,
    *,
    bars: tuple[int, int] | None = None,
    tails: Literal["wrap", "cut"] = "wrap",
) -> npt.NDArray[np.float32]:
    """Render a pattern (or a range of its bars) to stereo audio.

    Parameters
    ----------
    pattern : Pattern
    sample_rate : int
        Frames per second (Hz), >= 8000.
    bpm : float or None
        Tempo in quarter notes per minute; None takes the pattern's own.
    audible : collection of int or None
        Indices of the tracks to hear (mute/solo already applied); None hears them all.
    bars : (int, int) or None
        First bar and the bar after the last to render (as a loop: only notes starting inside,
        cut at its end); None renders the whole pattern.
    tails : "wrap" or "cut"
        What happens to sound ringing past the end: added at the start (a seamless loop) or
        dropped.

    Returns
    -------
    numpy.ndarray
        float32, ``shape=(n_frames, 2)``, ``n_frames = tick_frame(end) - tick_frame(start)``;
        every sample within [-1, 1] (a soft limiter bends peaks above :data:`LIMIT_KNEE`).
    """
    tempo = pattern.bpm if bpm is None else bpm
    _check(sample_rate, tempo)
    first_bar, end_bar = (0, pattern.n_bars) if bars is None else bars
    if not 0 <= first_bar < end_bar <= pattern.n_bars:
        raise ValueError(f"bars {first_bar}..{end_bar} are not inside {pattern.n_bars} bars")
    if tails not in ("wrap", "cut"):
        raise ValueError(f"tails must be 'wrap' or 'cut', got {tails!r}")
    start_tick, end_tick = first_bar * pattern.bar_ticks, end_bar * pattern.bar_ticks

    def frame(tick: int) -> int:
        return tick_frame(tick, pattern.ticks_per_quarter, sample_rate, tempo)

    origin = frame(start_tick)
    sides = np.zeros((2, frame(end_tick) - origin), np.float32)  # left, right
    n_tracks = len(pattern.tracks)
    for index, track in enumerate(pattern.tracks):
        if audible is not None and index not in audible:
            continue
        hits = [
            (
                note.pitch,
                frame(note.start) - origin,
                frame(min(note.end, end_tick)) - origin,
                np.float32(NOTE_GAIN * (note.velocity / 127.0) ** 1.5),
            )
            for note in track.notes
            if start_tick <= note.start < end_tick
        ]
        mono = _track_audio(track, hits, sides.shape[1], tails == "wrap", sample_rate)
        # Constant-power pan: drums in the middle, the other tracks spread a little.
        pan = 0.0 if track.is_drum or n_tracks < 2 else index / (n_tracks - 1) - 0.5
        angle = (0.5 * pan + 0.5) * math.pi / 2
        sides[0] += mono * np.float32(math.cos(angle) * math.sqrt(2))
        sides[1] += mono * np.float32(math.sin(angle) * math.sqrt(2))
    return _limit(sides.T.copy())


def _limit(mix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Leave samples below the knee alone; bend louder ones smoothly towards (never past) 1."""
    loud = np.abs(mix) > LIMIT_KNEE
    if loud.any():
        over = np.abs(mix[loud]) - LIMIT_KNEE
        room = 1.0 - LIMIT_KNEE
        bent = LIMIT_KNEE + room * np.tanh(over / room)
        mix[loud] = np.sign(mix[loud]) * np.minimum(bent, 1.0).astype(np.float32)
    return mix
