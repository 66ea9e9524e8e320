# SPDX-License-Identifier: MIT
"""``barforge bench io``: how fast MIDI files are read and written, against mido alone.

A large multi-track pattern is made (16 tracks, drums on channel 10, ``n_notes`` notes),
written once to a temporary file, then timed ``repeats`` times each:

- *read*: :func:`engine.midi.files.read_midi_file` (mido's parse plus Barforge's conversion and
  checks, down to a validated :class:`~engine.music.Pattern`);
- *mido parse*: ``mido.MidiFile(path)`` alone, the floor that *read* stands on;
- *write*: :func:`engine.midi.files.write_midi_file` (Pattern to messages, save, fsync, rename);
- *mido save*: ``MidiFile.save(path)`` of the already parsed file, alone.

Ratios compare medians measured in the same run, so a noisy machine moves both sides alike.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mido
import numpy as np

from engine.bench import median_seconds
from engine.midi.files import read_midi_file, write_midi_file
from engine.music import DRUM_CHANNEL, Note, Pattern, Track, resolve_overlaps


def make_large_pattern(n_notes: int = 100_000, n_tracks: int = 16, seed: int = 0) -> Pattern:
    """A dense, deterministic pattern of ``n_notes`` notes over ``n_tracks`` tracks."""
    rng = np.random.default_rng(seed)
    tpq = 480
    step = tpq // 8  # a 32nd note
    tracks = []
    for index in range(n_tracks):
        per_track = n_notes // n_tracks + (index < n_notes % n_tracks)
        drawn = per_track + per_track // 4 + 8  # spare notes for those merged away below
        channel = index % 16
        is_drum = channel == DRUM_CHANNEL
        starts = np.arange(drawn) * step + rng.integers(0, 4, drawn) * step * 8
        starts.sort()
        low, high = (35, 82) if is_drum else (36 + 2 * index, 72 + 2 * index)
        pitches = rng.integers(low, high, drawn)
        durations = rng.integers(1, 16, drawn) * step
        velocities = rng.integers(30, 128, drawn)
        notes = [
            Note(int(s), int(d), int(p), int(v))
            for s, d, p, v in zip(starts, durations, pitches, velocities, strict=True)
        ]
        # Onsets can repeat across the jitter: keep one note per (onset, pitch) and cut overlaps.
        resolved, _ = resolve_overlaps(notes)
        kept = resolved[:per_track]
        tracks.append(Track(f"Track {index + 1}", index * 8 % 128, is_drum, channel, kept))
    end = max(n.end for t in tracks for n in t.notes)
    return Pattern(tracks=tuple(tracks), n_bars=-(-end // (4 * tpq)), ticks_per_quarter=tpq)


def run(n_notes: int = 100_000, repeats: int = 5) -> dict[str, Any]:
    """Measure and return the figures (seconds are medians of ``repeats`` runs)."""
    pattern = make_large_pattern(n_notes)
    with tempfile.TemporaryDirectory(prefix="barforge-bench-io-") as folder:
        path = Path(folder) / "large.mid"
        out = Path(folder) / "out.mid"
        write_midi_file(pattern, path)
        parsed = mido.MidiFile(path)
        if read_midi_file(path).pattern != pattern:
            raise RuntimeError("bench io: the large file did not read back as written")
        seconds = {
            "read": median_seconds(lambda: read_midi_file(path), repeats),
            "mido_parse": median_seconds(lambda: mido.MidiFile(path), repeats),
            "write": median_seconds(lambda: write_midi_file(pattern, out), repeats),
            "mido_save": median_seconds(lambda: parsed.save(out), repeats),
        }
        file_bytes = path.stat().st_size
    n = pattern.n_notes
    return {
        "n_notes": n,
        "n_tracks": len(pattern.tracks),
        "file_bytes": file_bytes,
        "repeats": repeats,
        "seconds": seconds,
        "notes_per_second": {k: n / v for k, v in seconds.items()},
        "read_vs_mido_parse": seconds["mido_parse"] / seconds["read"],
        "write_vs_mido_save": seconds["mido_save"] / seconds["write"],
    }


def report(figures: dict[str, Any]) -> str:
    """The figures as a small table."""
    labels = {
        "read": "read  (barforge, to a Pattern)",
        "mido_parse": "parse (mido.MidiFile alone)",
        "write": "write (barforge, from a Pattern)",
        "mido_save": "save  (MidiFile.save alone)",
    }
    lines = [
        f"bench io: {figures['n_notes']:,} notes in {figures['n_tracks']} tracks, "
        f"{figures['file_bytes'] / 2**20:.2f} MiB file, median of {figures['repeats']} runs",
        f"  {'':34}{'seconds':>9}{'notes/s':>12}",
    ]
    for key, label in labels.items():
        lines.append(
            f"  {label:34}{figures['seconds'][key]:9.3f}{figures['notes_per_second'][key]:12,.0f}"
        )
    lines.append(
        f"  read speed / mido parse speed: {figures['read_vs_mido_parse']:.2f}; "
        f"write speed / mido save speed: {figures['write_vs_mido_save']:.2f}"
    )
    return "\n".join(lines)


def main(n_notes: int, repeats: int, json_path: str | None) -> int:
    figures = run(n_notes, repeats)
    print(report(figures))
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
    return 0
