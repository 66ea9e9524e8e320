# SPDX-License-Identifier: MIT
"""The options of ``barforge data build``, apart from the build itself, so that the command
line can offer them without importing numpy and the build's machinery at every start."""

from __future__ import annotations

import argparse


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _pitch(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a MIDI pitch") from None
    if not 0 <= value <= 127:
        raise argparse.ArgumentTypeError(f"must be a MIDI pitch 0..127, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``barforge data build``'s options to ``parser`` (see :func:`main_from_args`)."""
    parser.add_argument(
        "--source",
        required=True,
        metavar="chorales|DIR",
        help="'chorales' (Bach, music21's corpus) or a folder searched for *.mid / *.midi",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the store")
    parser.add_argument(
        "--jobs", type=_positive_int, default=None, help="worker processes (default: CPU count)"
    )
    parser.add_argument(
        "--steps-per-beat",
        type=_positive_int,
        default=12,
        help="grid steps per beat (default 12: 48 per bar, 16ths and triplets exact)",
    )
    parser.add_argument(
        "--phrase-bars", type=_positive_int, default=4, help="bars per phrase (default 4)"
    )
    parser.add_argument(
        "--hop-bars",
        type=_positive_int,
        default=1,
        help="bars between phrase starts (default 1: overlapping phrases)",
    )
    parser.add_argument(
        "--valid-fraction",
        type=_fraction,
        default=0.1,
        help="share of pieces held out for validation (default 0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="chooses the split (default 0)")
    parser.add_argument(
        "--lowest-pitch",
        type=_pitch,
        default=None,
        help="MIDI pitch of the lowest row (default 28 for chorales, 24 for MIDI folders)",
    )
    parser.add_argument(
        "--n-pitches",
        type=_positive_int,
        default=None,
        help="pitch rows (default 64 for chorales, 84 for MIDI folders)",
    )
    parser.add_argument(
        "--track-map",
        default=None,
        metavar="programs|names|PATH",
        help="MIDI folders: how tracks become the model's tracks: 'programs' (default, GM "
        "families), 'names' (track names first), or a JSON file (see engine.data.track_map)",
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if the store is up to date"
    )
