# SPDX-License-Identifier: MIT
"""The one program of the desktop bundle: ``barforge-app`` (a link to it) starts the app,
``barforge`` is the command line. The bundle holds what a composer plays with; the commands
that build data sets, train and measure need the packages it leaves out (music21, matplotlib)
and are refused with a pointer to the wheel."""

from __future__ import annotations

import sys
from pathlib import Path

#: Commands of ``barforge`` that the bundle carries everything for.
IN_BUNDLE = ("info", "generate", "live", "panic")


def _starts_the_app() -> bool:
    """Called as barforge-app (a link on Linux, a second program on Windows), or opened as
    Barforge.app on macOS (the Finder passes no arguments, or a -psn_ one)."""
    if Path(sys.argv[0]).name.startswith("barforge-app"):
        return True
    in_app_bundle = ".app/Contents/MacOS/" in sys.executable
    return in_app_bundle and all(a.startswith("-psn_") for a in sys.argv[1:])


def main() -> int:
    if _starts_the_app():
        from desktop.app import main as app

        return app()
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if command is not None and command not in IN_BUNDLE:
        print(
            f"barforge {command}: not in the desktop bundle, which carries the app and "
            f"barforge {', '.join(IN_BUNDLE)}; for data sets, training, evaluation and "
            "benchmarks install the wheel (pip install barforge, see the README)",
            file=sys.stderr,
        )
        return 2
    from engine.cli import main as cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
