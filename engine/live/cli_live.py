# SPDX-License-Identifier: MIT
"""``barforge live`` (play into the DAW until Ctrl-C) and ``barforge panic``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from engine.live import messages as mm
from engine.live.clock import check_bpm
from engine.midi.files import MidiFileError, read_midi_file
from engine.music import Pattern

# The player and the ports (rtmidi) are imported when a command runs: every other
# `barforge` command starts without them.


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    live = commands.add_parser(
        "live",
        help="play a pattern into your DAW through a virtual MIDI port until Ctrl-C",
        description="Play a generated seed or a MIDI file in a loop into a MIDI port. "
        "Ctrl-C (or SIGTERM) stops it and releases every note.",
    )
    source = live.add_mutually_exclusive_group()
    source.add_argument("--seed", type=int, help="generate this seed with the model (default 0)")
    source.add_argument("--file", metavar="F.mid", help="play this MIDI file instead")
    live.add_argument("--bars", type=int, help="bars to generate (default: the model's phrase)")
    live.add_argument("--model", metavar="DIR", help="model folder (default: the shipped one)")
    live.add_argument("--bpm", type=float, help="tempo (default: the file's, or 120)")
    live.add_argument(
        "--sync",
        choices=("internal", "clock"),
        default="internal",
        help="'clock' follows the DAW's MIDI clock, Start, Stop and Song Position on the input",
    )
    live.add_argument(
        "--port", metavar="NAME", help="send to this existing port instead of a virtual one"
    )
    live.add_argument(
        "--in-port", metavar="NAME", help="listen to this existing port instead of a virtual one"
    )
    live.add_argument(
        "--port-per-track", action="store_true", help="one virtual output port per track"
    )
    live.add_argument("--send-clock", action="store_true", help="also send MIDI clock")
    live.add_argument(
        "--midi-api",
        metavar="API",
        help="alsa, jack, coremidi or winmm (default: $BARFORGE_MIDI_API, else the platform's)",
    )
    live.add_argument(
        "--seconds", type=float, help="stop after this many seconds (default: until Ctrl-C)"
    )
    panic = commands.add_parser(
        "panic",
        help="release every note on a MIDI port: note-offs, sustain off, all notes/sound off",
    )
    panic.add_argument("--port", required=True, metavar="NAME", help="the port to send to")
    panic.add_argument("--midi-api", metavar="API", help="as for barforge live")


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _load(args: argparse.Namespace) -> Pattern:
    if args.file:
        return read_midi_file(args.file).pattern
    from engine.generation.composer import Composer

    composer = Composer(args.model)
    take = composer.generate(0 if args.seed is None else args.seed, args.bars)
    return take.pattern


def main_live(args: argparse.Namespace) -> int:
    from engine.live.player import Player, PlayerListener
    from engine.midi.ports import MidiInput, MidiOutput, PortError

    class _Report(PlayerListener):
        def __init__(self) -> None:
            self.error: Exception | None = None
            self.failed = threading.Event()

        def error_raised(self, error: Exception) -> None:
            self.error = error
            self.failed.set()

    name = "barforge live"
    try:
        if args.bpm is not None:
            check_bpm(args.bpm)
        if args.seconds is not None and args.seconds <= 0:
            raise ValueError("--seconds must be above 0")
        if args.sync == "clock" and args.send_clock:
            raise ValueError("--send-clock cannot be used with --sync clock")
        pattern = _load(args)
    except (ValueError, MidiFileError, OSError) as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    bpm = args.bpm if args.bpm is not None else pattern.bpm
    outputs: list[MidiOutput] = []
    source: MidiInput | None = None
    player: Player | None = None
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.port:
            outputs.append(MidiOutput(args.port, api=args.midi_api, virtual=False))
        elif args.port_per_track and len(pattern.tracks) > 1:
            for index, track in enumerate(pattern.tracks):
                client = f"Barforge {index + 1} {track.name}"[:48]
                outputs.append(MidiOutput("out", api=args.midi_api, client=client))
        else:
            outputs.append(MidiOutput("out", api=args.midi_api))
        if args.sync == "clock" or args.in_port:
            if args.in_port:
                source = MidiInput(args.in_port, api=args.midi_api, virtual=False)
            else:
                source = MidiInput("in", api=args.midi_api)
        report = _Report()
        player = Player(
            outputs,
            source,
            sync=args.sync,
            bpm=bpm,
            send_clock=args.send_clock,
            port_per_track=len(outputs) > 1,
            listener=report,
        ).start()
        player.set_pattern(pattern)
        player.play()
        ports = ", ".join(port.name for port in outputs)
        waiting = " (waiting for the DAW's Start)" if args.sync == "clock" else ""
        print(
            f"Playing {pattern.n_bars} bars, {len(pattern.tracks)} tracks at {bpm:.6g} BPM "
            f"to {ports} ({outputs[0].api}){waiting}. Ctrl-C stops.",
            flush=True,
        )
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        told = False
        while deadline is None or time.monotonic() < deadline:
            if report.failed.wait(0.1):
                print(f"{name}: {report.error}", file=sys.stderr)
                return 1
            if not told and player.clock_without_start:
                told = True
                print(
                    "MIDI clock is arriving, but the DAW's Start came before Barforge listened: "
                    "press Stop, then Play in the DAW.",
                    flush=True,
                )
        return 0
    except KeyboardInterrupt:
        return 130
    except PortError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 1
    finally:
        if player is not None:
            player.close()
        for port in outputs:
            port.close()
        if source is not None:
            source.close()
        signal.signal(signal.SIGTERM, previous)


def main_panic(args: argparse.Namespace) -> int:
    """Note-off for every key, then sustain off, all notes off and all sound off, on all 16
    channels: another process cannot know which notes sound, so it releases them all."""
    from engine.midi.ports import MidiOutput, PortError

    try:
        port = MidiOutput(args.port, api=args.midi_api, virtual=False)
    except PortError as error:
        print(f"barforge panic: {error}", file=sys.stderr)
        return 1

    def send_channel(messages: Sequence[mm.Message]) -> None:
        for message in messages:
            port.send(message)

    try:
        mm.release_everything(send_channel)
        time.sleep(0.05)
    finally:
        port.close()
    print(f"Released every note on {port.name}.")
    return 0
