# SPDX-License-Identifier: MIT
"""The ``barforge`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from engine import __version__
from engine.data import options as data_options
from engine.gm import program_name
from engine.live import cli_live
from engine.live.clock import check_bpm
from engine.midi.files import SEQUENCES, MidiFileError, MidiImport, read_midi_file
from engine.music import pitch_name


def version_text() -> str:
    """``barforge X.Y.Z`` and the default model's folder and id (what makes the notes)."""
    from engine.models import default_model_dir, model_id

    folder = default_model_dir()
    try:
        model = f"{folder} (id {model_id(folder)})"
    except OSError as e:
        model = f"{folder}: cannot be read ({e.strerror or e})"
    return f"barforge {__version__}\ndefault model: {model}"


class _VersionAction(argparse.Action):
    """``--version``, worked out only when asked (the model id reads the weights)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(version_text())
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="barforge",
        description="Barforge: multi-track bars from a GAN, played live into your DAW.",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        nargs=0,
        help="show Barforge's version and the default model's id, then exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = commands.add_parser("info", help="describe a MIDI file as Barforge reads it")
    info.add_argument("file", metavar="FILE.mid", help="a Standard MIDI File (type 0, 1 or 2)")
    info.add_argument(
        "--sequences",
        choices=SEQUENCES,
        default="all",
        help="a type 2 file's sequences: all, one after another (default), or the first only",
    )

    data = commands.add_parser("data", help="training data: build a phrase dataset")
    data_commands = data.add_subparsers(dest="data", metavar="WHAT", required=True)
    build = data_commands.add_parser(
        "build",
        help="cut 4-bar phrases from the Bach chorales or a folder of MIDI files",
        description="Build (or reuse from its cache) a phrase dataset in --out.",
    )
    data_options.add_arguments(build)

    evaluate = commands.add_parser(
        "eval",
        help="the objective metrics of a dataset's real phrases, as a report",
        description="Write report.md, report.json and PNG plots for a dataset's real phrases.",
    )
    evaluate.add_argument("--data", required=True, metavar="DIR", help="a built dataset")
    evaluate.add_argument(
        "--n", type=int, default=1000, help="phrases drawn from each split (default 1000)"
    )
    evaluate.add_argument("--out", required=True, metavar="REPORT_DIR", help="report folder")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the random draw")
    evaluate.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="CHECKPOINT",
        help="a checkpoint folder (barforge train's runs/NAME/checkpoints/step-N); adds a row "
        "of --n generated phrases; give it several times to compare models",
    )
    evaluate.add_argument("--device", default="auto", help="where models run: auto, cpu, cuda")

    pick_cmd = commands.add_parser(
        "pick",
        help="choose a run's best checkpoint by validation metrics and export it as a model",
        description="Score every checkpoint of a run against the real validation phrases "
        "(EB, UPC, QN, PP, notes per bar, TD, in units of their targets) and export the best "
        "one, generator only, with selection.json.",
    )
    pick_cmd.add_argument("--data", required=True, metavar="DIR", help="the run's dataset")
    pick_cmd.add_argument("--run", required=True, metavar="RUN_DIR", help="a training run folder")
    pick_cmd.add_argument("--out", metavar="MODEL_DIR", help="where to export the best one")
    pick_cmd.add_argument(
        "--n", type=int, default=1000, help="phrases generated per checkpoint (default 1000)"
    )
    pick_cmd.add_argument("--seed", type=int, default=0, help="seed of the generated phrases")
    pick_cmd.add_argument("--device", default="auto", help="where models run: auto, cpu, cuda")
    pick_cmd.add_argument(
        "--harmony",
        action="store_true",
        help="also try voices that lean on one harmony (closer tonal distance; the voice decoding "
        "takes about half as long again); taken only when it keeps every target the plain "
        "voices meet",
    )

    train = commands.add_parser(
        "train",
        help="train a model on a phrase dataset (resumes when --out holds checkpoints)",
        description="Adversarial training with checkpoints, sample MIDI files and PNGs every "
        "--checkpoint-every steps; run it again to resume; Ctrl-C writes a checkpoint first.",
    )
    train.add_argument("--data", required=True, metavar="DIR", help="a built dataset")
    train.add_argument("--out", required=True, metavar="RUN_DIR", help="the run folder")
    train.add_argument("--arch", choices=("hybrid", "dcgan"), default="hybrid")
    train.add_argument("--steps", type=int, default=20_000, help="generator steps in all")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--n-critic", type=int, default=5, help="critic steps per G step")
    train.add_argument("--checkpoint-every", type=int, default=500, metavar="K")
    train.add_argument("--lr-g", type=float, default=1e-3)
    train.add_argument("--lr-d", type=float, default=1e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="auto", help="auto (CUDA, MPS or CPU), cpu, cuda...")
    train.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    train.add_argument(
        "--no-transpose", action="store_true", help="no random transposition of training phrases"
    )
    train.add_argument(
        "--chroma-features",
        type=int,
        default=0,
        metavar="N",
        help="give the critic a chroma stream of N features per bar (default 0: none)",
    )
    train.add_argument(
        "--straight-through-from",
        type=int,
        default=-1,
        metavar="STEP",
        help="from this step on the critic judges fake phrases thresholded as the app decodes "
        "them, gradients passed straight through (default -1: never)",
    )

    generate = commands.add_parser(
        "generate",
        help="phrases from a seed (and variations), or around a MIDI file's locked tracks and "
        "bars, as MIDI files and piano-roll PNGs",
        description="Write DIR/seed-S.mid and .png (and DIR/seed-S-var-I.mid/.png with "
        "--variations), or with --from FILE.mid and --lock-track/--lock-bar the file's locked "
        "parts kept exactly and the rest generated around them (a one-track file becomes the "
        "model track of --lock-track) as DIR/STEM-inpaint-seed-S.mid/.png; DIR/provenance.json "
        "records how to reproduce each file.",
    )
    generate.add_argument(
        "--seed", default="0", metavar="S", help="the seed, 0..2**63-1 (default 0)"
    )
    generate.add_argument(
        "--bars",
        type=int,
        default=None,
        metavar="N",
        help="bars to generate (default: the model's phrase)",
    )
    generate.add_argument(
        "--variations", type=int, default=0, metavar="N", help="also write N variations"
    )
    generate.add_argument(
        "--strength",
        type=float,
        default=0.3,
        metavar="S",
        help="how far variations stray, 0 (the same) to 1 (unrelated); default 0.3",
    )
    generate.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE.mid",
        help="a MIDI file to keep parts of (with --lock-track and/or --lock-bar)",
    )
    generate.add_argument(
        "--lock-track",
        type=int,
        action="append",
        default=[],
        metavar="K",
        help="keep track K (0-based) of --from's file; repeatable",
    )
    generate.add_argument(
        "--lock-bar",
        type=int,
        action="append",
        default=[],
        metavar="B",
        help="keep bar B (0-based) of --from's file, every track; repeatable",
    )
    generate.add_argument(
        "--model",
        metavar="DIR",
        help="a model (checkpoint) folder (default: $BARFORGE_MODEL, else the shipped one)",
    )
    generate.add_argument("--device", default="auto", help="auto (CUDA, MPS or CPU), cpu, cuda...")
    generate.add_argument(
        "--temperature",
        type=float,
        default=0.0,
        metavar="T",
        help="0: the threshold decides; above 0 (at most 10): notes drawn at random",
    )
    generate.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        metavar="P",
        help="probability a note needs (default 0.5)",
    )
    generate.add_argument(
        "--min-note-steps", type=int, default=1, metavar="N", help="drop notes shorter than N steps"
    )
    generate.add_argument("--velocity", choices=("fixed", "humanize"), default="fixed")
    generate.add_argument(
        "--base-velocity", type=int, default=90, metavar="V", help="velocity 1..127 (default 90)"
    )
    generate.add_argument(
        "--key",
        default=None,
        metavar="KEY",
        help='keep pitched tracks in a key, e.g. "D minor" (default: any)',
    )
    generate.add_argument("--out", required=True, metavar="DIR", help="the output folder")

    cli_live.add_arguments(commands)

    bench = commands.add_parser("bench", help="measure speed (benchmarks, not tests)")
    benches = bench.add_subparsers(dest="bench", metavar="WHAT", required=True)
    bench_io = benches.add_parser("io", help="MIDI file read and write speed, against mido")
    bench_io.add_argument("--notes", type=int, default=100_000, help="notes in the test file")
    bench_io.add_argument("--repeats", type=int, default=5, help="runs of each (median kept)")
    bench_io.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    bench_data = benches.add_parser(
        "data", help="dataset build time (scratch, cache) and metrics throughput"
    )
    bench_data.add_argument(
        "--source", default="chorales", help="'chorales' (default) or a folder of MIDI files"
    )
    bench_data.add_argument(
        "--phrases", type=int, default=10_000, help="phrases the metrics run on (default 10000)"
    )
    bench_data.add_argument("--repeats", type=int, default=3, help="metric runs (median kept)")
    bench_data.add_argument("--jobs", type=int, default=None, help="build processes")
    bench_data.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    bench_model = benches.add_parser(
        "model", help="generator latency (1 and 16 phrases), training throughput, memory"
    )
    bench_model.add_argument("--arch", choices=("hybrid", "dcgan"), default="hybrid")
    bench_model.add_argument("--device", default="auto", help="auto, cpu, cuda, mps...")
    bench_model.add_argument("--repeats", type=int, default=200, help="generator calls timed")
    bench_model.add_argument("--train-steps", type=int, default=3, help="training steps timed")
    bench_model.add_argument("--batch-size", type=int, default=64)
    bench_model.add_argument("--n-critic", type=int, default=5, help="critic steps per G step")
    bench_model.add_argument(
        "--model",
        metavar="DIR",
        help="measure this model's architecture (default: the shipped default model's)",
    )
    bench_model.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    bench_generate = benches.add_parser(
        "generate",
        help="latency of generate, variations, regenerate, inpaint and accompany with a model; "
        "inpaint agreement on a dataset's validation phrases",
    )
    bench_generate.add_argument(
        "--model",
        metavar="DIR",
        help="a model (checkpoint) folder (default: $BARFORGE_MODEL, else the shipped one)",
    )
    bench_generate.add_argument("--device", default="auto", help="auto, cpu, cuda, mps...")
    bench_generate.add_argument(
        "--repeats",
        type=int,
        default=50,
        metavar="N",
        help="timed calls of each operation (inpaint and accompany: max(5, repeats // 5))",
    )
    bench_generate.add_argument(
        "--data", metavar="DIR", help="a built dataset: also measure inpaint agreement"
    )
    bench_generate.add_argument(
        "--agreement-phrases",
        type=int,
        default=64,
        metavar="N",
        help="validation phrases the agreement uses (default 64)",
    )
    bench_generate.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    bench_gui = benches.add_parser(
        "gui",
        help="the app: paint time (10k and 100k notes), regenerate to painted, UI-thread "
        "stalls while generating, launch to window",
    )
    bench_gui.add_argument("--frames", type=int, default=60, help="frames painted per size")
    bench_gui.add_argument("--repeats", type=int, default=20, help="regenerations timed")
    bench_gui.add_argument("--launches", type=int, default=5, help="app launches timed")
    bench_gui.add_argument("--model", metavar="DIR", help="model folder (default: the shipped one)")
    bench_gui.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    bench_startup = benches.add_parser(
        "startup",
        help="the app's launch to painted window and to model ready, for each way of "
        "starting it named (this environment, a wheel's, the desktop bundle)",
    )
    bench_startup.add_argument("--runs", type=int, default=5, help="launches of each (default 5)")
    bench_startup.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="a way of starting the app, e.g. bundle=dist/bundle/barforge/barforge-app "
        "(repeatable; default: this environment's barforge-app)",
    )
    bench_startup.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    bench_live = benches.add_parser(
        "live",
        help="live MIDI timing on a private JACK server: send-side scheduling error, "
        "receiver-side inter-onset error, messages lost",
    )
    bench_live.add_argument(
        "--periods", type=int, nargs="+", default=[64, 256], help="JACK periods (frames)"
    )
    bench_live.add_argument("--bpm", type=float, nargs="+", default=[120.0, 200.0])
    bench_live.add_argument("--seconds", type=float, default=30.0, help="length of each run")
    bench_live.add_argument("--tracks", type=int, default=4, help="tracks of sixteenth notes")
    bench_live.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    bench_live.add_argument(
        "--clock-bpm",
        type=float,
        nargs="+",
        default=[97.0, 133.3, 171.0],
        help="tempi of jack_midi_clock for the clock-following rows",
    )
    bench_live.add_argument(
        "--clock-runs", type=int, default=10, help="runs per clock tempo (0: no clock rows)"
    )
    bench_live.add_argument(
        "--clock-seconds", type=float, default=4.0, help="length of each clock-following run"
    )
    return parser


def describe(midi: MidiImport, path: str) -> str:
    """The text ``barforge info`` prints for a file that was read."""
    pattern = midi.pattern
    span = pattern.pitch_range()
    pitches = (
        f"{pitch_name(span[0])}-{pitch_name(span[1])} ({span[0]}-{span[1]})" if span else "none"
    )
    lines = [
        f"{path}: MIDI type {midi.midi_type}"
        + (f" ({midi.layout})" if midi.layout else "")
        + f", {pattern.ticks_per_quarter} ticks per quarter",
        f"  {pattern.n_bars} bars of {pattern.time_signature} at {pattern.bpm:.6g} BPM, "
        f"{pattern.n_notes} notes, pitch range {pitches}",
        f"  {'#':>3}  {'track':24} {'program':32} {'channel':>7} {'notes':>7}",
    ]
    for i, track in enumerate(pattern.tracks, 1):
        program = f"{track.program + 1} {program_name(track.program, track.is_drum)}"
        lines.append(
            f"  {i:>3}  {track.name[:24]:24} {program[:32]:32} "
            f"{track.channel + 1:>7} {len(track.notes):>7}"
        )
    if not pattern.tracks:
        lines.append("       (no tracks with notes or programs)")
    lines.extend(f"  warning: {w}" for w in midi.warnings)
    return "\n".join(lines)


def _pick(args: argparse.Namespace) -> int:
    from engine.data.store import DatasetError
    from engine.gan import pick
    from engine.gan.errors import CheckpointError

    if args.n < 1:
        print("barforge pick: --n must be at least 1", file=sys.stderr)
        return 2
    try:
        return pick.main(
            args.data, args.run, args.out, args.n, args.seed, args.device, args.harmony
        )
    except (DatasetError, CheckpointError, ValueError) as e:
        print(f"barforge pick: {e}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    from engine.data.store import DatasetError
    from engine.gan.config import TrainConfig
    from engine.gan.train import TrainError, train

    try:
        settings = TrainConfig(
            steps=args.steps,
            batch_size=args.batch_size,
            n_critic=args.n_critic,
            checkpoint_every=args.checkpoint_every,
            lr_g=args.lr_g,
            lr_d=args.lr_d,
            seed=args.seed,
            amp=args.amp,
            transpose_range=(0, 0) if args.no_transpose else (-5, 5),
            straight_through_from=args.straight_through_from,
        )
        overrides = {"d_chroma_features": args.chroma_features} if args.chroma_features else {}
        result = train(
            args.data,
            args.out,
            settings,
            arch=args.arch,
            model_overrides=overrides,
            device=args.device,
        )
    except (ValueError, DatasetError, TrainError) as e:
        print(f"barforge train: {e}", file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 1
    where = result.last_checkpoint or "no checkpoint (no steps to do)"
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line, not one per process
        print(f"step {result.step} of {args.steps}; latest checkpoint: {where}")
    return 130 if result.interrupted else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 0
    if args.command == "info":
        try:
            midi = read_midi_file(args.file, sequences=args.sequences)
        except MidiFileError as e:
            print(f"barforge info: {e}", file=sys.stderr)
            return 1
        print(describe(midi, args.file))
        return 0
    if args.command == "data":
        from engine.data import build as data_build

        return data_build.main_from_args(args)
    if args.command == "eval":
        from engine import evaluation
        from engine.data.store import DatasetError
        from engine.gan.errors import CheckpointError

        if args.n < 1:
            print("barforge eval: --n must be at least 1", file=sys.stderr)
            return 2
        try:
            return evaluation.main(args.data, args.n, args.out, args.seed, args.model, args.device)
        except DatasetError as e:
            print(f"barforge eval: {e}", file=sys.stderr)
            return 1
        except CheckpointError as e:
            print(f"barforge eval: {e}", file=sys.stderr)
            return 1
        except ValueError as e:  # a model that does not fit the data, a bad device
            print(f"barforge eval: {e}", file=sys.stderr)
            return 2
    if args.command == "train":
        return _train(args)
    if args.command == "pick":
        return _pick(args)
    if args.command == "bench" and args.bench == "io":
        from engine.bench import io

        if args.notes < 1 or args.repeats < 1:
            print("barforge bench io: --notes and --repeats must be at least 1", file=sys.stderr)
            return 2
        return io.main(args.notes, args.repeats, args.json)
    if args.command == "bench" and args.bench == "data":
        from engine.bench import data

        if args.phrases < 1 or args.repeats < 1 or (args.jobs is not None and args.jobs < 1):
            print(
                "barforge bench data: --phrases, --repeats and --jobs must be at least 1",
                file=sys.stderr,
            )
            return 2
        return data.main(args.source, args.phrases, args.repeats, args.jobs, args.json)
    if args.command == "bench" and args.bench == "model":
        from engine.gan import bench as model_bench
        from engine.gan.errors import CheckpointError

        if min(args.repeats, args.train_steps, args.batch_size, args.n_critic) < 1:
            print(
                "barforge bench model: --repeats, --train-steps, --batch-size and --n-critic "
                "must be at least 1",
                file=sys.stderr,
            )
            return 2
        try:
            return model_bench.main(
                args.arch,
                args.device,
                args.repeats,
                args.train_steps,
                args.batch_size,
                args.json,
                args.model,
                args.n_critic,
            )
        except (ValueError, CheckpointError) as e:  # an unknown device, a bad model folder
            print(f"barforge bench model: {e}", file=sys.stderr)
            return 2
    if args.command == "generate":
        from engine.generation import cli_generate

        return cli_generate.main(args)
    if args.command == "bench" and args.bench == "generate":
        from engine.generation import bench as generate_bench

        if args.repeats < 1 or args.agreement_phrases < 1:
            print(
                "barforge bench generate: --repeats and --agreement-phrases must be at least 1",
                file=sys.stderr,
            )
            return 2
        return generate_bench.main(
            args.model, args.device, args.repeats, args.json, args.data, args.agreement_phrases
        )
    if args.command == "live":
        return cli_live.main_live(args)
    if args.command == "panic":
        return cli_live.main_panic(args)
    if args.command == "bench" and args.bench == "gui":
        # The desktop app is measured in a process of its own: the engine never imports it.
        command = [sys.executable, "-m", "desktop.bench_gui"]
        for flag in ("frames", "repeats", "launches", "model", "json"):
            value = getattr(args, flag)
            if value is not None:
                command += [f"--{flag}", str(value)]
        import subprocess

        return subprocess.run(command, check=False).returncode
    if args.command == "bench" and args.bench == "startup":
        import shlex

        from engine.bench import startup

        apps = []
        for item in args.app:
            name, sep, command = item.partition("=")
            if not sep or not name or not command.strip():
                print(
                    f"barforge bench startup: --app {item!r} is not NAME=COMMAND", file=sys.stderr
                )
                return 2
            apps.append((name, shlex.split(command)))
        if args.runs < 1:
            print("barforge bench startup: --runs must be at least 1", file=sys.stderr)
            return 2
        return startup.main(apps, args.runs, args.json)
    if args.command == "bench" and args.bench == "live":
        from engine.bench import live as live_bench

        if args.seconds <= 0 or min(args.periods) < 16 or min(args.bpm) <= 0:
            print(
                "barforge bench live: --seconds and --bpm must be above 0, periods at least 16",
                file=sys.stderr,
            )
            return 2
        if args.clock_runs < 0 or args.clock_seconds <= 0:
            print(
                "barforge bench live: --clock-runs must be 0 or more, --clock-seconds above 0",
                file=sys.stderr,
            )
            return 2
        try:
            for bpm in args.clock_bpm:
                check_bpm(bpm)
        except ValueError as e:
            print(f"barforge bench live: --clock-bpm: {e}", file=sys.stderr)
            return 2
        return live_bench.main(
            args.periods,
            args.bpm,
            args.seconds,
            args.tracks,
            args.json,
            args.clock_bpm,
            args.clock_runs,
            args.clock_seconds,
        )
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse forbids the rest


if __name__ == "__main__":
    sys.exit(main())
