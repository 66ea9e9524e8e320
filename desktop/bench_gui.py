# SPDX-License-Identifier: MIT
"""``barforge bench gui``: how the app feels, measured (``python -m desktop.bench_gui``).

- **paint**: one full frame of the piano roll at 1600x900 (the widget rendered into an image,
  which runs its paint code), with 10,000 and 100,000 notes: median and p95 of many frames;
- **regenerate to painted**: from the "regenerate bar" action until the piano roll has painted
  the new notes, with the real model on the worker thread (median of repeats);
- **UI stall**: the longest gap between ticks of a 1 ms timer on the UI thread while generations
  and inpaints run on the worker (the UI thread's worst wait);
- **browser fill**: from asking for 16 variations until all 16 thumbnails are in the browser
  (the model on the worker, the thumbnails drawn on their own thread), and the longest UI
  stall while it fills;
- **launch**: from starting ``barforge-app`` (a new process) until its window has painted
  (median of runs).

The engine's ``barforge bench gui`` runs this module in a new process (the engine never
imports the desktop package).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QSize, QTimer
from PySide6.QtGui import QImage

from desktop.app import application
from desktop.main_window import MainWindow
from desktop.piano_roll_view import PianoRollView
from engine.bench.startup import launch
from engine.music import Note, Pattern, Track

FRAME = QSize(1600, 900)


def dense_pattern(n_notes: int, n_tracks: int = 4) -> Pattern:
    """``n_notes`` notes over ``n_tracks`` tracks, a sixteenth apart, pitches walking."""
    tpq = 480
    step = tpq // 4
    per_track = n_notes // n_tracks
    n_bars = per_track * step // (4 * tpq) + 1
    tracks = []
    for k in range(n_tracks):
        notes = [
            Note(i * step, step * (1 + (i + k) % 2), 36 + 12 * k + (i * 5) % 24, 90)
            for i in range(per_track)
        ]
        tracks.append(Track(f"Track {k + 1}", k, False, k, notes))
    return Pattern(tracks, n_bars=n_bars, ticks_per_quarter=tpq)


def paint_times(n_notes: int, frames: int) -> list[float]:
    """Seconds per full frame at 1600x900, the whole pattern in view."""
    view = PianoRollView()
    view.resize(FRAME)
    view.set_pattern(dense_pattern(n_notes))
    image = QImage(FRAME, QImage.Format.Format_RGB32)
    times = []
    for _ in range(frames + 3):
        began = time.perf_counter()
        view.render(image)
        times.append(time.perf_counter() - began)
    view.deleteLater()
    return times[3:]  # the first frames warm caches up


def _wait(condition: object, timeout_sec: float) -> bool:
    """Run the event loop (as the app does, idle in between) until ``condition()`` holds."""
    if condition():  # type: ignore[operator]
        return True
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(1)
    check.timeout.connect(lambda: loop.quit() if condition() else None)  # type: ignore[operator]
    give_up = QTimer()
    give_up.setSingleShot(True)
    give_up.timeout.connect(loop.quit)
    check.start()
    give_up.start(int(timeout_sec * 1000))
    loop.exec()
    check.stop()
    give_up.stop()
    return bool(condition())  # type: ignore[operator]


class _Stalls:
    """The longest gap between the ticks of a 1 ms timer on the UI thread."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.clock = QElapsedTimer()
        self.longest_ms = 0.0
        self.last_ms = 0.0
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.clock.start()
        self.last_ms = 0.0
        self.longest_ms = 0.0
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed() / 1e6
        self.longest_ms = max(self.longest_ms, now - self.last_ms)
        self.last_ms = now

    def stop(self) -> float:
        self.timer.stop()
        return self.longest_ms


def generation_figures(model: str | None, repeats: int) -> dict[str, float]:
    """Regenerate-to-painted and the UI stall, with the model in the worker."""
    window = MainWindow(model=model, start_worker=False)
    window.confirm_close = False
    window.resize(FRAME)
    window.show()
    window.start_worker()
    if not _wait(lambda: window.model_ready, 120):
        raise RuntimeError(f"the model did not load: {window.model_error}")
    window.new_from_seed(1)
    if not _wait(lambda: window.pattern is not None, 30):
        raise RuntimeError("the first generation did not arrive")
    roll = window.piano_roll
    latencies = []
    stalls = _Stalls()
    stalls.start()
    for i in range(repeats):
        bar = i % max(1, window.document.pattern.n_bars)
        before = window.document.pattern
        began = time.perf_counter()
        window.regenerate(bars=[bar])
        if not _wait(
            lambda before=before: (
                roll.painted_pattern is not None
                and roll.painted_pattern is not before
                and roll.painted_pattern is window.document.pattern
            ),
            30,
        ):
            raise RuntimeError("a regeneration was not painted")
        latencies.append(roll.painted_at - began)
    stall_generate = stalls.stop()
    window.set_bar_lock(0, True)  # something to fill around
    stalls.start()
    for _ in range(max(3, repeats // 5)):
        count = window.document.history.n_undo if window.document.history else 0
        window.inpaint()
        if not _wait(
            lambda count=count: (
                window.document.history is not None and window.document.history.n_undo > count
            ),
            60,
        ):
            raise RuntimeError(f"an inpaint did not finish: {window.last_generation_error}")
    stall_inpaint = stalls.stop()
    window.set_bar_lock(0, False)
    fills = []
    fill_stalls = []
    filled: list[float] = []
    window.browser.batch_filled.connect(lambda _batch, sec: filled.append(sec))
    for _ in range(repeats):
        done = len(filled)
        stalls.start()
        window.browser.vary(16, 0.5)
        if not _wait(lambda done=done: len(filled) > done, 30):
            raise RuntimeError(f"the browser did not fill: {window.browser.last_error}")
        fill_stalls.append(stalls.stop())
        fills.append(filled[-1])
    window.close()
    window.deleteLater()
    return {
        "regenerate_to_painted_median_ms": statistics.median(latencies) * 1e3,
        "regenerate_to_painted_p95_ms": _p95(latencies) * 1e3,
        "ui_stall_during_regenerate_ms": stall_generate,
        "ui_stall_during_inpaint_ms": stall_inpaint,
        "browser_fill_16_median_ms": statistics.median(fills) * 1e3,
        "browser_fill_16_p95_ms": _p95(fills) * 1e3,
        "ui_stall_during_browser_fill_ms": max(fill_stalls),
        "ui_stall_during_browser_fill_median_ms": statistics.median(fill_stalls),
    }


def launch_times(runs: int) -> list[float]:
    """Seconds from starting a new app process until its window painted (as
    ``barforge bench startup`` launches it)."""
    start = "import sys; from desktop.app import main; sys.exit(main([]))"
    return [launch([sys.executable, "-c", start])["shown"] for _ in range(runs)]


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="barforge bench gui")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--model", metavar="DIR")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    application()
    figures: dict[str, float] = {}
    for n in (10_000, 100_000):
        times = paint_times(n, args.frames)
        figures[f"paint_{n}_median_ms"] = statistics.median(times) * 1e3
        figures[f"paint_{n}_p95_ms"] = _p95(times) * 1e3
        print(
            f"paint 1600x900, {n:>7,} notes: median {figures[f'paint_{n}_median_ms']:.2f} ms, "
            f"p95 {figures[f'paint_{n}_p95_ms']:.2f} ms (target {8 if n == 10_000 else 16} ms)",
            flush=True,
        )
    figures.update(generation_figures(args.model, args.repeats))
    print(
        f"regenerate bar -> painted: median {figures['regenerate_to_painted_median_ms']:.1f} ms, "
        f"p95 {figures['regenerate_to_painted_p95_ms']:.1f} ms (target 16 ms)\n"
        f"longest UI-thread stall: {figures['ui_stall_during_regenerate_ms']:.1f} ms while "
        f"regenerating, {figures['ui_stall_during_inpaint_ms']:.1f} ms while inpainting "
        "(target 16 ms; a 1 ms timer, so ~1 ms is no stall)\n"
        f"browser, 16 thumbnails: median {figures['browser_fill_16_median_ms']:.1f} ms, "
        f"p95 {figures['browser_fill_16_p95_ms']:.1f} ms (target 100 ms); longest UI stall "
        f"while filling {figures['ui_stall_during_browser_fill_ms']:.1f} ms (median of runs "
        f"{figures['ui_stall_during_browser_fill_median_ms']:.1f} ms, target 16 ms)",
        flush=True,
    )
    launches = launch_times(args.launches)
    figures["launch_median_s"] = statistics.median(launches)
    figures["launch_max_s"] = max(launches)
    print(
        f"launch to painted window: median {figures['launch_median_s']:.2f} s, "
        f"max {figures['launch_max_s']:.2f} s over {len(launches)} runs (target 1.5 s)",
        flush=True,
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
