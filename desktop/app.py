# SPDX-License-Identifier: MIT
"""Entry point of the ``barforge-app`` GUI script.

``barforge-app [FILE.mid|PROJECT.barforge] [--screenshot PNG]`` shows the window (and the
file). The window appears before torch is imported: the model loads in the worker thread
afterwards, and the status bar says when it is ready. After a crash the app offers to recover
the autosaved work.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop.main_window import APP_NAME, MainWindow
from engine import __version__
from engine.resources import ICON, shipped

#: The app's icon, shipped inside the package (the app starts without it if it is missing).
try:
    ICON_PATH: Path | None = shipped(*ICON)
except FileNotFoundError:
    ICON_PATH = None
#: ``barforge bench gui`` and ``bench startup`` set this to a file path: the app writes there
#: a line ``shown T`` when its window has painted and ``ready T`` (or ``failed T``) when its
#: model has loaded (T in seconds since the epoch), then quits.
REPORT_SHOWN_ENV = "BARFORGE_REPORT_SHOWN"
#: How long --screenshot waits after showing the window, so layout and first paint are done.
SCREENSHOT_DELAY_MS = 300


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="barforge-app",
        description="Barforge: generate, edit and lock multi-track bars with a GAN.",
    )
    parser.add_argument("file", nargs="?", help="a project (.barforge) or MIDI file to open")
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
    parser.add_argument(
        "--seed", type=int, help="generate this seed once the model is ready (for the docs)"
    )
    parser.add_argument(
        "--browse",
        type=int,
        metavar="N",
        help="after --seed, fill the browser with N variations and star two (for the docs)",
    )
    parser.add_argument(
        "--play",
        type=float,
        metavar="SECONDS",
        help="with --screenshot: play (a browser tile with --browse) and take the picture after "
        "SECONDS (for the docs)",
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
    if ICON_PATH is not None:
        app.setWindowIcon(QIcon(str(ICON_PATH)))
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until its window closes; with --screenshot, save the window and return."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = application()
    window = MainWindow(model=args.model)
    window.show()
    opened = args.file is None or window.open_file(args.file)
    if args.seed is not None:
        window.service.model_ready.connect(lambda _: window.new_from_seed(args.seed))
    report = os.environ.get(REPORT_SHOWN_ENV)
    if report:  # barforge bench gui: when was the window up and painted?
        lines: list[str] = []

        def note(what: str) -> None:
            lines.append(f"{what} {time.time()!r}\n")
            Path(report).write_text("".join(lines), encoding="utf-8")
            if len(lines) == 2:
                window.confirm_close = False
                window.close()
                app.quit()

        def shown() -> None:
            window.repaint()
            note("shown")
            if window.model_ready or window.model_error:  # loaded while the window painted
                note("ready" if window.model_ready else "failed")

        def loaded(what: str) -> None:
            if lines:  # otherwise shown() reports it
                note(what)

        window.service.model_ready.connect(lambda _: loaded("ready"))
        window.service.model_failed.connect(lambda _: loaded("failed"))
        QTimer.singleShot(0, shown)
        return app.exec()
    # Pictures for the docs run a local event loop: quitting the application itself would
    # leave a test process's QApplication unable to run its next loop.
    loop = QEventLoop()
    if args.screenshot is None:
        if args.file is None:
            window.offer_recovery()
        if window.recovery_box is None:  # after a crash, getting the work back comes first
            window.offer_welcome()
        return app.exec()

    saved = False
    done = False
    window.confirm_close = False  # a picture for the docs: nothing to save

    def grab_and_quit() -> None:
        nonlocal saved, done
        if done:
            return
        done = True
        saved = window.grab().save(args.screenshot, "PNG")
        window.close()
        loop.quit()

    generated = False

    def after_generation() -> None:
        nonlocal generated
        if generated:
            return
        generated = True
        if args.browse:
            window.browser.batch_filled.connect(lambda *_: after_browsing())
            window.browser.vary(args.browse, 0.5)
        else:
            after_browsing()

    def after_browsing() -> None:
        if args.browse:
            browser = window.browser
            for tile in (1, 4):
                if tile < len(browser.entries):
                    browser.set_favourite(tile, True)
            window.browser_panel.current_index = min(2, len(browser.entries) - 1)
        if args.play is None:
            QTimer.singleShot(SCREENSHOT_DELAY_MS, grab_and_quit)
            return
        if args.browse:
            window.browser.audition(window.browser_panel.current_index or 0)
        else:
            window.transport.play(window.playback.pattern_to_play())
        QTimer.singleShot(round(args.play * 1000), grab_and_quit)

    if args.seed is None:
        QTimer.singleShot(SCREENSHOT_DELAY_MS, after_browsing)
    else:  # wait for the model and the generation (at most 60 s)
        window.service.finished.connect(lambda *_: after_generation())
        QTimer.singleShot(60_000, grab_and_quit)
    loop.exec()
    if not opened:
        print(f"barforge-app: {window.last_error}", file=sys.stderr)
    if not saved:
        print(f"barforge-app: could not save the screenshot {args.screenshot}", file=sys.stderr)
    window.deleteLater()
    return 0 if opened and saved else 1
