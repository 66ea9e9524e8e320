# SPDX-License-Identifier: MIT
"""``barforge bench startup``: it reads the app's report, times each named way of starting
it, and says which one would not start (here with stand-in programs; the real app's report is
tested in tests/desktop/test_app.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from engine.bench.startup import StartupError, launch, main, read_report
from engine.cli import main as cli

#: A stand-in app: reports its window at once and its model 0.2 s later, as the app does.
FAKE_APP = """
import os, time
path = os.environ["BARFORGE_REPORT_SHOWN"]
with open(path, "w") as f:
    f.write(f"shown {time.time()!r}\\n")
time.sleep(0.2)
with open(path, "a") as f:
    f.write(f"ready {time.time()!r}\\n")
"""


def test_the_report_is_read_line_by_line() -> None:
    assert read_report("shown 12.5\nready 14.25\n") == {"shown": 12.5, "ready": 14.25}
    with pytest.raises(ValueError, match="could not convert"):
        read_report("1796676279.69")  # a bare time, as an old app wrote it


def test_each_way_of_starting_is_timed_to_window_and_to_model(tmp_path: Path) -> None:
    script = tmp_path / "fake_app.py"
    script.write_text(FAKE_APP, encoding="utf-8")
    times = launch([sys.executable, str(script)])
    assert 0 < times["shown"] < times["ready"]
    assert times["ready"] - times["shown"] >= 0.19
    out = tmp_path / "startup.json"
    assert (
        main(
            [("a", [sys.executable, str(script)]), ("b", [sys.executable, str(script)])],
            2,
            str(out),
        )
        == 0
    )
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert set(figures) == {"a", "b"}
    assert figures["a"]["ready_median_s"] > figures["a"]["shown_median_s"]
    assert figures["b"]["ready_max_s"] >= figures["b"]["ready_median_s"]


def test_an_app_that_reports_nothing_is_named(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="did not start and load its model"):
        launch([sys.executable, "-c", "pass"])
    with pytest.raises(StartupError, match="no-such-app: no such program"):
        launch([str(tmp_path / "no-such-app")])


def test_the_command_line_refuses_a_malformed_app(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["bench", "startup", "--app", "no-equals-sign"]) == 2
    assert "is not NAME=COMMAND" in capsys.readouterr().err
    assert cli(["bench", "startup", "--runs", "0"]) == 2
