# SPDX-License-Identifier: MIT
"""``barforge data build``: turn the Bach chorales or a folder of MIDI files into a phrase store.

Steps (each choice is argued where it is made):

1. Inputs: ``--source chorales`` is the chorales of music21's bundled corpus
   (:mod:`engine.data.chorales`: four voices, 4/4, pickups padded); any other value is a folder
   searched for MIDI files (:mod:`engine.data.midi_folder`, tracks mapped by
   :mod:`engine.data.track_map`). To use a folder that is called ``chorales``, write
   ``./chorales``.
2. Every file is read, encoded on the roll grid and cut into phrases by
   :mod:`engine.data.worker`, over ``--jobs`` processes (default: one per CPU; ``--jobs 1``
   works in this process). A file that cannot be used is skipped with its reason; the build
   never stops for one file.
3. Grid: ``--steps-per-beat`` steps per beat, default 12 (48 per 4/4 bar): the least that
   holds both sixteenths (3 steps) and eighth-note triplets (4 steps) exactly; sixteenth
   triplets (2 steps) are exact too, 32nd notes (1.5 steps) are rounded. Pitch axis:
   ``--lowest-pitch`` / ``--n-pitches``, default MIDI 28..91 (64) for the chorales (voices
   36..81 plus room to transpose by +-5) and 24..107 (84, MuseGAN's) for MIDI folders. Notes
   outside it are left out and counted.
4. Phrases of ``--phrase-bars`` bars (4) start every ``--hop-bars`` bars. The default hop is 1:
   overlapping windows see every bar in every position of a phrase and give about four times
   as many phrases as hop 4 (chorale phrases, two bars between fermatas, fall at any bar, not
   at multiples of 4), which a corpus of ~4,500 bars needs. Overlapping phrases are not
   independent samples, but the split is by piece, so no overlap crosses from training to
   validation. Windows where every track is silent are dropped.
5. Duplicates are removed, keeping the first in input order (files sorted by path, then by
   bar): across pieces (chorales recur in more than one file, e.g. BWV 398 is BWV 197.7-a) and
   within a piece too (a loop repeated 32 times in a MIDI file would otherwise weigh 32 times
   in training and pull the model towards copying it). Two phrases are duplicates when their
   rolls (frames and onsets) are equal, or equal after transposing the pitched tracks (drums
   left as they are): the loader's transposition augmentation would otherwise turn a
   training phrase into a validation phrase (the passion chorale is in the corpus in two
   keys, BWV 244.15 and 244.17). Velocity is not compared.
6. Split by piece, after the duplicates are gone (so no validation phrase equals a training
   phrase): the pieces that have phrases are ordered by SHA-256 of ``seed:path`` and the first
   ``round(valid_fraction * n)`` (at least one when the fraction is above 0 and there are two
   pieces) are validation. Adding a file moves no other piece between the splits.
7. ``phrases.npz`` and ``manifest.json`` (see :mod:`engine.data.store`) are written atomically,
   the manifest last. The manifest's ``cache_key`` hashes the format and Barforge versions,
   the inputs (paths inside the source, sizes, SHA-256), the options, and for the chorales
   music21's version; a build whose key matches an intact store is skipped (``--force``
   rebuilds). ``--jobs`` is not part of it: any number of processes gives the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from engine import __version__
from engine.atomic import write_bytes_atomically
from engine.data import chorales, midi_folder
from engine.data.options import add_arguments as add_arguments  # re-exported
from engine.data.phrases import PieceSkipped, phrase_keys
from engine.data.progress import Progress, format_seconds
from engine.data.store import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    PHRASES_FILE,
    DatasetError,
    PhraseDataset,
    npz_bytes,
    sha256_hex,
)
from engine.data.track_map import TrackMap, TrackMapError, load_track_map
from engine.data.worker import CHORALE, MIDI, Result, Task, process
from engine.gm import program_name
from engine.pianoroll import RollGrid

#: ``--source`` value that means music21's Bach chorales rather than a folder.
CHORALES = "chorales"
BEATS_PER_BAR = 4
#: Skipped files listed one per line in the printed report (all are in the manifest).
MAX_LISTED_SKIPS = 40


class BuildError(Exception):
    """The build cannot run at all (a bad option, a missing source); the message says why."""


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """Options of a build; all of them go into the cache key.

    Attributes
    ----------
    steps_per_beat : int
        Grid steps per quarter note (default 12: 48 per bar).
    phrase_bars : int
        Bars per phrase (4).
    hop_bars : int
        Bars from one phrase's start to the next (1: overlapping windows).
    valid_fraction : float
        Share of pieces in the validation split, 0 <= f < 1.
    seed : int
        Chooses the split.
    lowest_pitch, n_pitches : int or None
        Pitch axis; None for the source's default.
    track_map : str or None
        MIDI folders only: ``"programs"`` (default), ``"names"`` or a JSON file.
    limit : int or None
        Use only the first ``limit`` input files (tests and quick looks).
    """

    steps_per_beat: int = 12
    phrase_bars: int = 4
    hop_bars: int = 1
    valid_fraction: float = 0.1
    seed: int = 0
    lowest_pitch: int | None = None
    n_pitches: int | None = None
    track_map: str | None = None
    limit: int | None = None

    def check(self) -> None:
        """Raise BuildError naming the first option out of its range."""
        for name, value, low, high in (
            ("steps-per-beat", self.steps_per_beat, 1, 480),
            ("phrase-bars", self.phrase_bars, 1, 64),
            ("hop-bars", self.hop_bars, 1, 64),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BuildError(f"--{name} must be a whole number in {low}..{high}, got {value!r}")
        if not 0 <= self.valid_fraction < 1:
            raise BuildError(f"--valid-fraction must be in [0, 1), got {self.valid_fraction!r}")
        if self.limit is not None and self.limit < 1:
            raise BuildError(f"limit must be >= 1, got {self.limit}")


@dataclass(slots=True)
class Plan:
    """What a build reads and how its tracks and axes are laid out."""

    kind: str
    source: dict[str, Any]
    tasks: list[Task]
    left_out: list[tuple[str, PieceSkipped]]
    tracks: list[dict[str, Any]]
    grid: RollGrid
    ticks_per_quarter: int
    label: str
    track_map: TrackMap | None = None


@dataclass(slots=True)
class Outcome:
    """What :func:`build` did: ``manifest`` as written (or found), ``skipped`` if cached."""

    manifest: dict[str, Any]
    skipped: bool
    reason: str
    seconds: float


# --- planning --------------------------------------------------------------------------------


def _plan(source: str, options: BuildOptions) -> Plan:
    if source == CHORALES:
        if options.track_map is not None:
            raise BuildError("--track-map applies to MIDI folders, not to the chorales")
        files, left_out = chorales.chorale_files()
        import music21

        lowest = chorales.LOWEST_PITCH if options.lowest_pitch is None else options.lowest_pitch
        count = chorales.N_PITCHES if options.n_pitches is None else options.n_pitches
        grid = _grid(options, lowest, count)
        tasks = [
            Task(CHORALE, f.key, str(f.path), grid, options.phrase_bars, options.hop_bars)
            for f in files
        ]
        tracks = [
            {
                "name": name,
                "program": chorales.PROGRAM,
                "program_name": program_name(chorales.PROGRAM),
                "is_drum": False,
                "channel": channel,
            }
            for channel, name in enumerate(chorales.VOICES)
        ]
        described = {
            "kind": "chorales",
            "name": "Bach chorales, music21 corpus",
            "root": str(chorales.corpus_root()),
            "music21_version": str(music21.__version__),
        }
        return Plan(
            CHORALE, described, tasks, left_out, tracks, grid, chorales.TICKS_PER_QUARTER,
            "reading chorales",
        )  # fmt: skip
    root = Path(source)
    if not root.is_dir():
        raise BuildError(
            f"--source {source}: no such folder (give a folder of MIDI files, or 'chorales')"
        )
    try:
        track_map = load_track_map(options.track_map)
    except TrackMapError as e:
        raise BuildError(str(e)) from None
    lowest = midi_folder.LOWEST_PITCH if options.lowest_pitch is None else options.lowest_pitch
    count = midi_folder.N_PITCHES if options.n_pitches is None else options.n_pitches
    grid = _grid(options, lowest, count)
    found = midi_folder.find_midi_files(root)
    if not found:
        raise BuildError(f"--source {source}: no MIDI files (*.mid, *.midi) in this folder")
    tasks = [
        Task(MIDI, key, str(path), grid, options.phrase_bars, options.hop_bars, track_map)
        for key, path in found
    ]
    tracks = [
        {
            "name": target.name,
            "program": target.program,
            "program_name": program_name(target.program, target.is_drum),
            "is_drum": target.is_drum,
            "channel": channel,
        }
        for target, channel in zip(track_map.targets, track_map.channels(), strict=True)
    ]
    described = {"kind": "midi-folder", "root": str(root.resolve())}
    return Plan(
        MIDI, described, tasks, [], tracks, grid, _ticks_per_quarter(options.steps_per_beat),
        "reading MIDI files", track_map,
    )  # fmt: skip


def _grid(options: BuildOptions, lowest: int, count: int) -> RollGrid:
    try:
        return RollGrid(options.steps_per_beat * BEATS_PER_BAR, lowest, count)
    except ValueError as e:
        raise BuildError(f"--lowest-pitch / --n-pitches: {e}") from None


def _ticks_per_quarter(steps_per_beat: int) -> int:
    """Ticks per quarter for exported phrases: a multiple of the steps per beat near 480."""
    return steps_per_beat * max(1, round(480 / steps_per_beat))


def _fingerprint(plan: Plan, limit: int | None) -> list[dict[str, Any]]:
    tasks = plan.tasks if limit is None else plan.tasks[:limit]
    inputs = []
    for task in tasks:
        data = Path(task.path).read_bytes()
        inputs.append({"path": task.key, "bytes": len(data), "sha256": sha256_hex(data)})
    return inputs


def _options_record(plan: Plan, options: BuildOptions) -> dict[str, Any]:
    record = asdict(options)
    record["lowest_pitch"] = plan.grid.lowest_pitch
    record["n_pitches"] = plan.grid.n_pitches
    record["track_map"] = None if plan.track_map is None else plan.track_map.to_json()
    return record


def _cache_key(plan: Plan, inputs: list[dict[str, Any]], options: dict[str, Any]) -> str:
    blob = {
        "format_version": FORMAT_VERSION,
        "barforge_version": __version__,
        "source": {k: v for k, v in plan.source.items() if k != "root"},
        "inputs": inputs,
        "options": options,
    }
    return sha256_hex(json.dumps(blob, sort_keys=True).encode("utf-8"))


def _why_rebuild(out: Path, key: str, inputs: list[dict[str, Any]], options: dict[str, Any]) -> str:
    """Why the store in ``out`` cannot be reused ("" when it can)."""
    try:
        old = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no earlier build in this folder"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return f"the old {MANIFEST_FILE} cannot be read"
    if not isinstance(old, dict):
        return f"the old {MANIFEST_FILE} cannot be read"
    if old.get("format_version") != FORMAT_VERSION:
        return f"the old store has format version {old.get('format_version')!r}"
    if old.get("cache_key") != key:
        before = {i.get("path"): i.get("sha256") for i in old.get("inputs", [])}
        now = {i["path"]: i["sha256"] for i in inputs}
        changes = []
        if (n := sum(1 for p in now if p in before and before[p] != now[p])) > 0:
            changes.append(f"{n} changed")
        if (n := sum(1 for p in now if p not in before)) > 0:
            changes.append(f"{n} added")
        if (n := sum(1 for p in before if p not in now)) > 0:
            changes.append(f"{n} removed")
        if changes:
            return f"input files changed ({', '.join(changes)})"
        if old.get("options") != options:
            diff = [k for k in options if old.get("options", {}).get(k) != options[k]]
            return f"options changed ({', '.join(diff) or 'format'})"
        return "the source or the builder changed"
    try:
        PhraseDataset.load(out)
    except DatasetError as e:
        return f"the old store is damaged ({e.reason})"
    return ""


# --- running ---------------------------------------------------------------------------------


def _run(tasks: list[Task], jobs: int, progress: Progress) -> list[Result]:
    """Process every task, in parallel when ``jobs`` > 1; results in task order."""
    if jobs <= 1 or len(tasks) <= 1:
        results = []
        for task in tasks:
            results.append(process(task))
            progress.update()
        return results
    # 'spawn': workers start clean (no copy of this process's threads or locks) on every OS.
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context)
    by_index: dict[int, Result] = {}
    try:
        # Keep a bounded number in flight, so that a huge folder does not queue all at once.
        pending: dict[Future[Result], int] = {}
        queue: Iterator[tuple[int, Task]] = iter(enumerate(tasks))
        limit = 4 * jobs

        def fill() -> None:
            for index, task in queue:
                pending[executor.submit(process, task)] = index
                if len(pending) >= limit:
                    return

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    by_index[pending[future]] = future.result()
                except BrokenProcessPool:
                    # A worker died (killed for memory, or a crash in native code): the
                    # files it may have held cannot be told apart from here.
                    names = ", ".join(sorted(tasks[i].key for i in pending.values()))
                    raise BuildError(
                        f"a worker process died while reading one of: {names}; "
                        "run with --jobs 1 to see which"
                    ) from None
                del pending[future]
                progress.update()
            fill()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return [by_index[i] for i in range(len(tasks))]


@dataclass(slots=True)
class _Assembly:
    arrays: dict[str, NDArray[Any]]
    pieces: list[dict[str, Any]]
    skipped: list[dict[str, str]]
    counts: dict[str, int]
    split: dict[str, Any]
    details: list[str]


def _assemble(
    plan: Plan,
    results: list[Result],
    left_out: list[tuple[str, PieceSkipped]],
    options: BuildOptions,
) -> _Assembly:
    """Deduplicate, split by piece and lay out the arrays and the manifest's tables."""
    counts: Counter[str] = Counter()
    skipped = [{"path": key, "category": s.category, "reason": s.reason} for key, s in left_out]
    pieces: list[dict[str, Any]] = []
    details: list[str] = []
    seen: dict[bytes, int] = {}  # transposition-free key -> piece of its first occurrence
    seen_exact: set[bytes] = set()
    is_drum = np.array([t["is_drum"] for t in plan.tracks], dtype=np.bool_)
    note_tables: list[NDArray[np.int64]] = []
    phrase_piece: list[int] = []
    phrase_bar: list[int] = []
    for result in results:
        if result.skipped:
            skipped.append(
                {
                    "path": result.key,
                    "category": str(result.skip_category),
                    "reason": str(result.skip_reason),
                }
            )
            continue
        assert result.phrases is not None
        piece_index = len(pieces)
        counts.update(result.info.counts)
        for name, value in result.encoding_counts.items():
            counts[f"notes_{name}"] += value
        details.extend(f"{result.key}: {line}" for line in result.info.details)
        phrases = result.phrases
        counts["windows"] += phrases.n_windows
        counts["silent_windows"] += phrases.n_silent
        first_phrase = len(phrase_piece)
        for local, rows in enumerate(phrases.phrase_slices()):
            table = phrases.notes[rows]
            key, exact = phrase_keys(table, is_drum)
            if key in seen:
                same_piece = seen[key] == piece_index
                counts["duplicates_within_piece" if same_piece else "duplicates_across_pieces"] += 1
                counts["duplicates_transposed"] += exact not in seen_exact
                continue
            seen[key] = piece_index
            seen_exact.add(exact)
            table = table.copy()
            table[:, 0] = len(phrase_piece)
            note_tables.append(table)
            phrase_piece.append(piece_index)
            phrase_bar.append(int(phrases.first_bars[local]))
        piece: dict[str, Any] = {
            "path": result.key,
            "n_bars": result.n_bars,
            "first_phrase": first_phrase,
            "n_phrases": len(phrase_piece) - first_phrase,
            "split": None,
            "tempo_us": result.info.tempo_us,
        }
        if plan.kind == CHORALE:
            piece["pickup_beats"] = result.info.pickup_beats
            counts["pickups_padded"] += result.info.pickup_beats > 0
        if result.n_bars < options.phrase_bars:
            counts["pieces_too_short"] += 1
        pieces.append(piece)

    notes = np.concatenate(note_tables) if note_tables else np.zeros((0, 6), dtype=np.int64)
    split_of_piece = _split_pieces(pieces, options.valid_fraction, options.seed)
    for piece, side in zip(pieces, split_of_piece, strict=True):
        piece["split"] = side
    piece_split = np.array([1 if s == "valid" else 0 for s in split_of_piece], dtype=np.uint8)
    phrase_piece_array = np.array(phrase_piece, dtype=np.int32)
    phrase_split = (
        piece_split[phrase_piece_array] if len(phrase_piece) else np.zeros(0, dtype=np.uint8)
    )
    arrays: dict[str, NDArray[Any]] = {
        "note_phrase": notes[:, 0].astype(np.int32),
        "note_track": notes[:, 1].astype(np.uint8),
        "note_start": notes[:, 2].astype(np.int32),
        "note_length": notes[:, 3].astype(np.int32),
        "note_pitch": notes[:, 4].astype(np.uint8),
        "note_velocity": np.clip(notes[:, 5], 1, 127).astype(np.uint8),
        "phrase_piece": phrase_piece_array,
        "phrase_bar": np.array(phrase_bar, dtype=np.int32),
        "phrase_split": phrase_split.astype(np.uint8),
    }
    n_valid_phrases = int(phrase_split.sum())
    split = {
        "by": "piece",
        "seed": options.seed,
        "valid_fraction": options.valid_fraction,
        "train": {
            "pieces": sum(1 for s in split_of_piece if s == "train"),
            "phrases": len(phrase_piece) - n_valid_phrases,
        },
        "valid": {
            "pieces": sum(1 for s in split_of_piece if s == "valid"),
            "phrases": n_valid_phrases,
        },
    }
    counts["files"] = len(results) + len(left_out)
    counts["pieces_kept"] = len(pieces)
    counts["pieces_skipped"] = len(skipped)
    counts["pieces_with_phrases"] = sum(1 for p in pieces if p["n_phrases"])
    counts["phrases"] = len(phrase_piece)
    counts["notes"] = len(notes)
    return _Assembly(arrays, pieces, skipped, dict(sorted(counts.items())), split, details)


def _split_pieces(
    pieces: list[dict[str, Any]], valid_fraction: float, seed: int
) -> list[str | None]:
    """ "train", "valid" or None (no phrases) for each piece; see the module's docstring."""
    with_phrases = [i for i, p in enumerate(pieces) if p["n_phrases"]]
    n_valid = round(valid_fraction * len(with_phrases))
    if valid_fraction > 0 and len(with_phrases) >= 2:
        n_valid = min(max(n_valid, 1), len(with_phrases) - 1)
    order = sorted(
        with_phrases,
        key=lambda i: hashlib.sha256(f"{seed}:{pieces[i]['path']}".encode()).hexdigest(),
    )
    valid = set(order[:n_valid])
    return [
        None if not p["n_phrases"] else ("valid" if i in valid else "train")
        for i, p in enumerate(pieces)
    ]


# --- the build -------------------------------------------------------------------------------


def build(
    source: str,
    out: str | os.PathLike[str],
    options: BuildOptions,
    *,
    jobs: int | None = None,
    force: bool = False,
    progress_stream: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Build (or find up to date) the phrase store of ``source`` in the folder ``out``.

    Raises
    ------
    BuildError
        For a bad option, a missing source or an unusable output folder. Bad input files
        never raise: they are skipped and listed.
    """
    started = clock()
    options.check()
    if jobs is not None and jobs < 1:
        raise BuildError(f"--jobs must be >= 1, got {jobs}")
    jobs = jobs or os.cpu_count() or 1
    plan = _plan(source, options)
    tasks = plan.tasks if options.limit is None else plan.tasks[: options.limit]
    left_out = plan.left_out if options.limit is None else []
    target = Path(out)
    try:
        inputs = _fingerprint(plan, options.limit)
    except OSError as e:
        raise BuildError(f"cannot read an input file: {e}") from None
    options_record = _options_record(plan, options)
    key = _cache_key(plan, inputs, options_record)
    why = "--force" if force else _why_rebuild(target, key, inputs, options_record)
    if not why:
        found = json.loads((target / MANIFEST_FILE).read_text(encoding="utf-8"))
        reason = (
            f"same {len(inputs)} input files (by SHA-256) and same options as the store built "
            f"{found.get('created', '?')}"
        )
        return Outcome(found, True, reason, clock() - started)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BuildError(f"--out {out}: cannot make the folder: {e.strerror or e}") from None

    with Progress(len(tasks), plan.label, stream=progress_stream, clock=clock) as progress:
        results = _run(tasks, jobs, progress)
    assembly = _assemble(plan, results, left_out, options)
    data = npz_bytes(assembly.arrays)
    grid = plan.grid
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "barforge_version": __version__,
        "cache_key": key,
        "source": plan.source,
        "options": options_record,
        "grid": {
            "steps_per_beat": options.steps_per_beat,
            "beats_per_bar": BEATS_PER_BAR,
            "n_steps_per_bar": grid.n_steps_per_bar,
            "n_bars": options.phrase_bars,
            "hop_bars": options.hop_bars,
            "ticks_per_quarter": plan.ticks_per_quarter,
        },
        "pitch_range": {
            "lowest": grid.lowest_pitch,
            "highest": grid.highest_pitch,
            "n_pitches": grid.n_pitches,
        },
        "tracks": plan.tracks,
        "counts": assembly.counts,
        "skipped_by_category": dict(Counter(s["category"] for s in assembly.skipped).most_common()),
        "split": assembly.split,
        "phrases_file": PHRASES_FILE,
        "phrases_bytes": len(data),
        "phrases_sha256": sha256_hex(data),
        "build_seconds": 0.0,
        "inputs": inputs,
        "pieces": assembly.pieces,
        "skipped": assembly.skipped,
        "details": assembly.details,
    }
    manifest["build_seconds"] = round(clock() - started, 3)
    try:
        write_bytes_atomically(target / PHRASES_FILE, data)
        text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
        write_bytes_atomically(target / MANIFEST_FILE, text.encode("utf-8"))
    except OSError as e:
        raise BuildError(f"--out {out}: cannot write the store: {e.strerror or e}") from None
    return Outcome(manifest, False, why, clock() - started)


# --- the report ------------------------------------------------------------------------------


def _describe_track(track: dict[str, Any]) -> str:
    if track["is_drum"]:
        return f"{track['name']} (drums)"
    return f"{track['name']} (program {track['program']} {track['program_name']})"


def report(outcome: Outcome, out: str | os.PathLike[str]) -> str:
    """The text printed after a build (or a skipped one)."""
    m = outcome.manifest
    c: dict[str, int] = m["counts"]
    lines = []
    if outcome.skipped:
        lines.append(f"{out}: up to date, build skipped: {outcome.reason}; --force rebuilds")
    else:
        lines.append(f"{out}: built in {format_seconds(outcome.seconds)} ({outcome.reason})")
    grid, pitches = m["grid"], m["pitch_range"]
    tracks = ", ".join(_describe_track(t) for t in m["tracks"])
    lines += [
        f"  source: {m['source'].get('name', m['source'].get('root'))}",
        f"  tracks: {tracks}",
        f"  grid: {grid['n_bars']} bars x {grid['n_steps_per_bar']} steps "
        f"({grid['steps_per_beat']} per beat), hop {grid['hop_bars']} bar(s); "
        f"pitches {pitches['lowest']}..{pitches['highest']} ({pitches['n_pitches']})",
        f"  files: {c.get('files', 0)}; pieces kept {c.get('pieces_kept', 0)}, "
        f"skipped {c.get('pieces_skipped', 0)}",
    ]
    for category, n in m.get("skipped_by_category", {}).items():
        lines.append(f"    skipped, {category}: {n}")
    lines += [
        f"  phrases: {c.get('windows', 0)} windows, {c.get('silent_windows', 0)} silent, "
        f"{c.get('duplicates_across_pieces', 0)} duplicates across pieces and "
        f"{c.get('duplicates_within_piece', 0)} within a piece removed "
        f"({c.get('duplicates_transposed', 0)} of them transposed copies): "
        f"{c.get('phrases', 0)} phrases, {c.get('notes', 0)} notes",
        f"  split by piece (seed {m['split']['seed']}, valid fraction "
        f"{m['split']['valid_fraction']}): train {m['split']['train']['pieces']} pieces / "
        f"{m['split']['train']['phrases']} phrases, valid {m['split']['valid']['pieces']} "
        f"pieces / {m['split']['valid']['phrases']} phrases",
        f"  notes out of pitch range (left out): {c.get('notes_out_of_range', 0)}; "
        f"moved to the grid: {c.get('notes_quantized', 0)}; merged on one step: "
        f"{c.get('notes_merged', 0)}",
    ]
    known = {
        "files", "pieces_kept", "pieces_skipped", "windows", "silent_windows", "phrases",
        "notes", "duplicates_across_pieces", "duplicates_within_piece", "duplicates_transposed",
        "notes_out_of_range",
        "notes_quantized", "notes_merged",
    }  # fmt: skip
    other = [f"{k.replace('_', ' ')} {v}" for k, v in c.items() if k not in known and v]
    if other:
        lines.append(f"  also: {', '.join(other)}")
    skipped = m.get("skipped", [])
    if skipped and not outcome.skipped:
        lines.append("  skipped files:")
        for s in skipped[:MAX_LISTED_SKIPS]:
            lines.append(f"    {s['path']}: {s['reason']}")
        if len(skipped) > MAX_LISTED_SKIPS:
            lines.append(
                f"    ... and {len(skipped) - MAX_LISTED_SKIPS} more, all in "
                f"{Path(out) / MANIFEST_FILE}"
            )
    lines.append(
        f"  store: {Path(out) / PHRASES_FILE} ({m['phrases_bytes'] / 1024:.0f} KiB), "
        f"{Path(out) / MANIFEST_FILE}"
    )
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------


def main(
    source: str,
    out: str,
    *,
    jobs: int | None,
    steps_per_beat: int,
    hop_bars: int,
    valid_fraction: float,
    seed: int,
    track_map: str | None,
    force: bool,
    phrase_bars: int = 4,
    lowest_pitch: int | None = None,
    n_pitches: int | None = None,
) -> int:
    """``barforge data build``: build, print the report; 0 on success, 1 when it cannot run.

    Progress goes to stderr, the report to stdout.
    """
    options = BuildOptions(
        steps_per_beat=steps_per_beat,
        phrase_bars=phrase_bars,
        hop_bars=hop_bars,
        valid_fraction=valid_fraction,
        seed=seed,
        lowest_pitch=lowest_pitch,
        n_pitches=n_pitches,
        track_map=track_map,
    )
    try:
        outcome = build(source, out, options, jobs=jobs, force=force)
    except BuildError as e:
        print(f"barforge data build: {e}", file=sys.stderr)
        return 1
    print(report(outcome, out))
    if outcome.manifest["counts"].get("phrases", 0) == 0:
        print("barforge data build: no phrases came out of this source", file=sys.stderr)
        return 1
    return 0


def main_from_args(args: argparse.Namespace) -> int:
    """Run :func:`main` with the options :func:`add_arguments` parsed."""
    return main(
        args.source,
        args.out,
        jobs=args.jobs,
        steps_per_beat=args.steps_per_beat,
        hop_bars=args.hop_bars,
        valid_fraction=args.valid_fraction,
        seed=args.seed,
        track_map=args.track_map,
        force=args.force,
        phrase_bars=args.phrase_bars,
        lowest_pitch=args.lowest_pitch,
        n_pitches=args.n_pitches,
    )
