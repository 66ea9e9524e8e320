# SPDX-License-Identifier: MIT
"""``barforge bench startup``: from starting the app until its window has painted, and until
its model is ready to generate, for each way of starting it that is named (the environment
this command runs in, a wheel's environment, the desktop bundle...).

Each run starts a new process from a fresh temporary folder with ``BARFORGE_REPORT_SHOWN``
set; the app writes there when its window painted and when the model loaded, then quits (see
``desktop.app``). The commands take turns run by run, so a noisy machine weighs on all of them
alike; medians and maxima are over the runs, ratios compare medians of the same run. Without
a screen (no ``DISPLAY``) the app draws offscreen.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

#: The app's report file, named by this variable (``desktop.app.REPORT_SHOWN_ENV``).
REPORT_ENV = "BARFORGE_REPORT_SHOWN"
#: Launch to painted window and launch to model ready, seconds (issue targets).
TARGETS = {"shown": 1.5, "ready": 3.0}


class StartupError(RuntimeError):
    """An app that would not start, or whose model failed to load."""


def read_report(text: str) -> dict[str, float]:
    """The times in a report file (``shown T`` and ``ready T`` lines): ``{"shown": T, ...}``."""
    times = {}
    for line in text.splitlines():
        what, _, value = line.partition(" ")
        times[what] = float(value)
    return times


def default_app() -> list[str]:
    """``barforge-app`` of the environment this command runs in."""
    return [str(Path(sys.executable).with_name("barforge-app"))]


def launch(command: Sequence[str], timeout_sec: float = 120.0) -> dict[str, float]:
    """Seconds from starting ``command`` until its window painted and until its model was
    ready: ``{"shown": s, "ready": s}``."""
    if os.sep in command[0]:  # a path from here: the app runs from another folder
        command = [str(Path(command[0]).absolute()), *command[1:]]
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report"
        env = {**os.environ, REPORT_ENV: str(report)}
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            env.setdefault("QT_QPA_PLATFORM", "offscreen")
        began = time.time()
        try:
            done = subprocess.run(
                list(command),
                env=env,
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout_sec,
                check=False,
            )
        except FileNotFoundError as error:
            raise StartupError(f"{command[0]}: no such program") from error
        except subprocess.TimeoutExpired as error:
            raise StartupError(f"{shlex.join(command)} ran past {timeout_sec:g} s") from error
        said = report.read_text(encoding="utf-8") if report.exists() else ""
        try:
            times = read_report(said)
        except ValueError as error:
            raise StartupError(f"{shlex.join(command)} reported {said!r}, not times") from error
        if "failed" in times or "ready" not in times or done.returncode != 0:
            raise StartupError(
                f"{shlex.join(command)} did not start and load its model (status "
                f"{done.returncode}, reported {sorted(times)}): {done.stderr.strip()[-800:]}"
            )
    return {what: times[what] - began for what in ("shown", "ready")}


def main(apps: Sequence[tuple[str, Sequence[str]]], runs: int, json_path: str | None) -> int:
    if not apps:
        apps = [("this environment", default_app())]
    measured: dict[str, dict[str, list[float]]] = {
        name: {"shown": [], "ready": []} for name, _ in apps
    }
    try:
        for _ in range(runs):
            for name, command in apps:
                for what, sec in launch(command).items():
                    measured[name][what].append(sec)
    except StartupError as error:
        print(f"barforge bench startup: {error}", file=sys.stderr)
        return 1
    figures: dict[str, dict[str, float]] = {}
    first = apps[0][0]
    for name, _ in apps:
        row = {}
        for what, values in measured[name].items():
            row[f"{what}_median_s"] = statistics.median(values)
            row[f"{what}_max_s"] = max(values)
        figures[name] = row
    for name, command in apps:
        row = figures[name]
        parts = []
        for what, label in (("shown", "window painted"), ("ready", "model ready")):
            median = row[f"{what}_median_s"]
            ratio = median / figures[first][f"{what}_median_s"]
            parts.append(
                f"{label} median {median:.2f} s (max {row[f'{what}_max_s']:.2f} s, "
                f"target {TARGETS[what]:g} s, x{ratio:.2f} of {first})"
            )
        print(f"{name} ({shlex.join(command)}), {runs} runs: " + "; ".join(parts), flush=True)
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0
