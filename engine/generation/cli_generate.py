# SPDX-License-Identifier: MIT
"""``barforge generate``: phrases from a seed, or around what a MIDI file locks, as files.

Without ``--from``, the seed's piece is written as ``DIR/seed-S.mid`` and ``DIR/seed-S.png``,
and with ``--variations N`` its variations as ``DIR/seed-S-var-1.mid`` ... ``-var-N`` (each with
its PNG). With ``--from FILE.mid`` and ``--lock-track`` / ``--lock-bar``, the file's locked
tracks and bars are kept exactly and the rest is generated around them (a one-track file is
accompanied: it becomes the model track named by ``--lock-track``), written as
``DIR/<stem>-inpaint-seed-S.mid`` and ``.png``. ``DIR/provenance.json`` lists every file
written into ``DIR`` with the :class:`~engine.generation.settings.Provenance` that reproduces
it (entries of earlier runs into the same folder are kept; a file written again replaces its
entry).

Every file is written atomically. Bad requests (a seed, a model folder, a MIDI file, a lock
that the model or the file cannot serve) print ``barforge generate: ...`` on stderr and give
exit code 2; a failure to write gives 1.

torch is imported only once the arguments have been checked (see :func:`main`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.atomic import write_bytes_atomically
from engine.generation.settings import Locks, OutputSettings
from engine.midi.files import MidiFileError, MidiImport, read_midi_file, write_midi_file
from engine.music import Pattern
from engine.pianoroll import PhraseSpec, pattern_to_roll
from engine.plots import save_roll_grid

if TYPE_CHECKING:
    from engine.generation.composer import Composer, Take

PROG = "barforge generate"
PROVENANCE_FILE = "provenance.json"
MAX_SEED = 2**63 - 1
#: The composer's limits on a piece's bars and on the number of variations.
MAX_BARS = 1024
MAX_VARIATIONS = 256


class Refused(Exception):
    """A request that cannot be served: printed after ``barforge generate:``, exit code 2."""


class WriteFailed(Exception):
    """An output file could not be written: printed after ``barforge generate:``, exit 1."""


@dataclass(frozen=True, slots=True)
class Written:
    """One result written: its MIDI file and PNG (names inside the output folder)."""

    midi: str
    png: str
    take: Take
    source: str | None = None


def parse_seed(text: object) -> int:
    """``--seed``'s value as an integer in 0..2**63-1.

    Raises
    ------
    Refused
        Naming the option and the value.
    """
    try:
        seed = int(str(text).strip(), 10)
    except ValueError:
        seed = -1
    if not 0 <= seed <= MAX_SEED:
        raise Refused(f"--seed must be a whole number in 0..{MAX_SEED}, got {text!r}")
    return seed


def output_settings(args: argparse.Namespace) -> OutputSettings:
    """The :class:`OutputSettings` of the options; errors name the option, not the field."""
    try:
        return OutputSettings(
            threshold=args.threshold,
            temperature=args.temperature,
            min_note_steps=args.min_note_steps,
            velocity=args.velocity,
            base_velocity=args.base_velocity,
            key=args.key,
        )
    except ValueError as e:
        message = str(e)
        for field in dataclasses.fields(OutputSettings):
            message = message.replace(
                f"OutputSettings.{field.name}", "--" + field.name.replace("_", "-")
            )
        if args.key is not None and message.startswith("key "):
            message = f"--{message}"
        raise Refused(message) from None


def _check_request(args: argparse.Namespace) -> None:
    """The option combinations and ranges, checked before anything is loaded."""
    if args.bars is not None and not 1 <= args.bars <= MAX_BARS:
        raise Refused(f"--bars must be in 1..{MAX_BARS}, got {args.bars}")
    if not 0 <= args.variations <= MAX_VARIATIONS:
        raise Refused(f"--variations must be in 0..{MAX_VARIATIONS}, got {args.variations}")
    if not 0.0 <= args.strength <= 1.0:
        raise Refused(f"--strength must be in [0, 1], got {args.strength}")
    for option, values in (("--lock-track", args.lock_track), ("--lock-bar", args.lock_bar)):
        negative = [v for v in values if v < 0]
        if negative:
            raise Refused(f"{option} must be >= 0 (0 is the first), got {negative[0]}")
    if args.from_file is None:
        if args.lock_track or args.lock_bar:
            raise Refused(
                "--lock-track and --lock-bar keep parts of a MIDI file: give the file with --from"
            )
        return
    if not (args.lock_track or args.lock_bar):
        raise Refused(
            f"--from {args.from_file}: say what to keep with --lock-track and/or --lock-bar"
        )
    if args.variations:
        raise Refused("--variations cannot be combined with --from")


def _read_source(path: str) -> MidiImport:
    try:
        midi = read_midi_file(path)
    except MidiFileError as e:
        raise Refused(str(e)) from None
    for warning in midi.warnings:
        print(f"{PROG}: warning: {path}: {warning}", file=sys.stderr)
    return midi


def _load_composer(args: argparse.Namespace, settings: OutputSettings) -> Composer:
    from engine.gan.errors import CheckpointError
    from engine.generation.composer import Composer, GenerationError

    try:
        return Composer(args.model, device=args.device, settings=settings, warm_up=False)
    except CheckpointError as e:
        hint = "" if args.model is not None else " (name a model with --model DIR)"
        raise Refused(f"model: {e}{hint}") from None
    except (GenerationError, ValueError) as e:  # a DCGAN model; an unknown or missing device
        raise Refused(str(e)) from None


# --- the two requests --------------------------------------------------------------------------


def _from_seed(composer: Composer, args: argparse.Namespace, seed: int) -> list[Written]:
    from engine.generation.composer import GenerationError

    try:
        takes = [composer.generate(seed, args.bars)]
        if args.variations:
            takes += composer.variations(seed, args.variations, args.strength, args.bars)
    except GenerationError as e:
        raise Refused(str(e)) from None
    names = [f"seed-{seed}"] + [f"seed-{seed}-var-{i}" for i in range(1, len(takes))]
    return [
        Written(f"{name}.mid", f"{name}.png", take) for name, take in zip(names, takes, strict=True)
    ]


def _from_file(
    composer: Composer, args: argparse.Namespace, seed: int, midi: MidiImport
) -> list[Written]:
    from engine.generation.composer import GenerationError

    source = Path(args.from_file)
    pattern = midi.pattern
    if args.bars is not None:
        print(f"note: --bars is ignored with --from: the file's {pattern.n_bars} bars are used")
    one_track = len(pattern.tracks) == 1 and composer.spec.n_tracks > 1
    try:
        if one_track:
            if len(args.lock_track) != 1 or args.lock_bar:
                raise Refused(
                    f"{source}: a one-track file is accompanied: give exactly one --lock-track "
                    f"(the model track it becomes: 0..{composer.spec.n_tracks - 1}, "
                    f"{', '.join(composer.spec.track_names)}) and no --lock-bar"
                )
            track = args.lock_track[0]
            take = composer.accompany(pattern, track, seed=seed)
            print(
                f"{source}: one track, kept as model track {track} "
                f"({composer.spec.track_names[track]}); the others generated around it"
            )
        else:
            locks = Locks(tracks=args.lock_track, bars=args.lock_bar)
            take = composer.inpaint(pattern, locks, seed=seed)
    except GenerationError as e:
        raise Refused(f"{source}: {e}") from None
    report = take.report
    if report is not None:
        print(
            "agreement with the locks before they were enforced: "
            f"recall {report.recall:.3f} ({report.locked_on_cells} sounding locked cells), "
            f"specificity {report.specificity:.3f} ({report.locked_off_cells} silent locked "
            f"cells), note recall {report.note_recall:.3f}"
        )
        if report.unconstrained_notes:
            print(
                f"  {report.unconstrained_notes} locked note(s) lie outside the model's pitch "
                "range: kept, but the model could not be asked for them"
            )
    name = f"{source.stem}-inpaint-seed-{seed}"
    return [Written(f"{name}.mid", f"{name}.png", take, str(source))]


# --- writing -----------------------------------------------------------------------------------


def save_png(pattern: Pattern, spec: PhraseSpec, title: str, path: Path) -> None:
    """A piano-roll PNG of ``pattern``'s notes (what the MIDI file holds), written atomically."""
    roll = pattern_to_roll(pattern, spec.grid).roll
    shown = dataclasses.replace(spec, n_bars=pattern.n_bars)
    with tempfile.TemporaryDirectory(prefix="barforge-png-") as folder:
        drawn = Path(folder) / "roll.png"
        save_roll_grid([(roll.frames, roll.onsets)], [title], shown, drawn, columns=1)
        data = drawn.read_bytes()
    write_bytes_atomically(path, data)


def _title(item: Written, model_id: str) -> str:
    history = item.take.provenance.history[0]
    op = history["op"]
    if op == "variation":
        what = f"seed {item.take.seed}, variation {history['index'] + 1}"
        what += f" (strength {history['strength']:g})"
    elif item.source is not None:
        what = f"{Path(item.source).name}, {op} (seed {item.take.seed})"
    else:
        what = f"seed {item.take.seed}"
    return f"{what}, model {model_id}"


def _read_provenance(path: Path) -> list[dict[str, Any]]:
    """The entries of an existing provenance file ([] if there is none or it is not one)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        print(f"{PROG}: warning: {path} could not be read ({e}); replaced", file=sys.stderr)
        return []
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("file"), str) for e in entries
    ):
        print(
            f"{PROG}: warning: {path} is not a list of {{file, provenance}} entries; replaced",
            file=sys.stderr,
        )
        return []
    return entries


def _entry(item: Written, composer: Composer) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "file": item.midi,
        "png": item.png,
        "model": str(composer.model_dir),
        "provenance": item.take.provenance.to_dict(),
    }
    if item.source is not None:
        entry["source"] = item.source
    if item.take.report is not None:
        entry["report"] = item.take.report.to_dict()
    return entry


def write_outputs(out: Path, items: list[Written], composer: Composer) -> None:
    """The MIDI files, PNGs and the provenance file, each written atomically."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteFailed(f"cannot create the folder {out}: {e.strerror or e}") from None
    for item in items:
        pattern = item.take.pattern
        try:
            write_midi_file(pattern, out / item.midi)
        except MidiFileError as e:
            raise WriteFailed(str(e)) from None
        try:
            save_png(pattern, composer.spec, _title(item, composer.model_id), out / item.png)
        except OSError as e:
            raise WriteFailed(f"{out / item.png}: cannot write: {e.strerror or e}") from None
        print(
            f"wrote {out / item.midi} ({pattern.n_bars} bars, {pattern.n_notes} notes) "
            f"and {item.png}"
        )
    path = out / PROVENANCE_FILE
    new = [_entry(item, composer) for item in items]
    names = {entry["file"] for entry in new}
    kept = [entry for entry in _read_provenance(path) if entry["file"] not in names]
    try:
        write_bytes_atomically(path, (json.dumps(kept + new, indent=1) + "\n").encode())
    except OSError as e:
        raise WriteFailed(f"{path}: cannot write: {e.strerror or e}") from None
    print(f"wrote {path}")


def main(args: argparse.Namespace) -> int:
    """Run ``barforge generate`` with parsed arguments (see :mod:`engine.cli`); the exit code."""
    try:
        seed = parse_seed(args.seed)
        settings = output_settings(args)
        _check_request(args)
        midi = _read_source(args.from_file) if args.from_file is not None else None
        composer = _load_composer(args, settings)
        if midi is None:
            items = _from_seed(composer, args, seed)
        else:
            items = _from_file(composer, args, seed, midi)
        write_outputs(Path(args.out), items, composer)
    except Refused as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except WriteFailed as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    return 0
