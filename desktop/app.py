# SPDX-License-Identifier: MIT
"""Entry point of the ``barforge-app`` GUI script.

``barforge-app [FILE.mid] [--screenshot PNG]`` shows the window (and the file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop.main_window import APP_NAME, MainWindow
from engine import __version__

#: The app's icon, in the repository's resources folder (the project runs from its checkout).
ICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "icons" / "barforge.svg"
#: How long --screenshot waits after showing the window, so layout and first paint are done.
SCREENSHOT_DELAY_MS = 300


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="barforge-app", description="Barforge: show a MIDI file (read-only for now)."
    )
    parser.add_argument("file", nargs="?", help="MIDI file to open")
    parser.add_argument(
        "--screenshot",
        metavar="PNG",
        help="save a picture of the window to PNG once it is shown, then exit (for the docs)",
    )
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="the model folder to generate with (default: the shipped default model, or "
        "$BARFORGE_MODEL)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(list(argv))


def application() -> QApplication:
    """The running QApplication (tests already have one), or a new one."""
    existing = QApplication.instance()
    if existing is None:
        app = QApplication([sys.argv[0] if sys.argv else "barforge-app"])
    elif isinstance(existing, QApplication):
        app = existing
    else:
        raise RuntimeError("a QCoreApplication without widgets is already running")
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("barforge")
    if ICON_PATH.exists():
        app.setWindowIcon(QIcon(str(ICON_PATH)))
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until its window closes; with --screenshot, save the window and return."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = application()
    window = MainWindow(model=args.model)
    window.show()
    opened = args.file is None or window.open_file(args.file)
    if args.screenshot is None:
        return app.exec()

    saved = False

    def grab_and_quit() -> None:
        nonlocal saved
        saved = window.grab().save(args.screenshot, "PNG")
        window.close()
        app.quit()

    QTimer.singleShot(SCREENSHOT_DELAY_MS, grab_and_quit)
    app.exec()
    if not opened:
        print(f"barforge-app: {window.last_error}", file=sys.stderr)
    if not saved:
        print(f"barforge-app: could not save the screenshot {args.screenshot}", file=sys.stderr)
    window.deleteLater()
    return 0 if opened and saved else 1
