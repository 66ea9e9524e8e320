# SPDX-License-Identifier: MIT
"""The build's progress bar: redraws on a terminal, occasional lines elsewhere, an ETA."""

from __future__ import annotations

import io

import pytest

from engine.data.progress import Progress, format_seconds


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_format_seconds() -> None:
    assert format_seconds(4.25) == "4.2 s"
    assert format_seconds(185) == "3 min 05 s"
    assert format_seconds(7380) == "2 h 03 min"


def test_lines_without_a_terminal_come_at_most_every_five_seconds() -> None:
    clock, stream = FakeClock(), io.StringIO()
    with Progress(100, "reading", stream=stream, clock=clock) as progress:
        for _ in range(100):
            clock.now += 0.25  # 25 s in all
            progress.update()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    # the first item, then once per 5 s (items 21, 41, 61, 81), then the final line
    assert len(lines) == 6
    assert lines[0] == "reading   1/100   1% 0.2 s, ETA ?"
    assert lines[2] == "reading  41/100  41% 10.2 s, ETA 14.8 s"
    assert lines[-1] == "reading 100/100 100% 25.0 s"


def test_a_terminal_gets_one_line_redrawn_at_most_ten_times_a_second() -> None:
    clock, stream = FakeClock(), Terminal()
    progress = Progress(1000, "parsing", stream=stream, clock=clock, width=10)
    for _ in range(1000):
        clock.now += 1 / 128  # 7.8 s in all: at most 78 redraws at 10 a second
        progress.update()
    progress.close()
    text = stream.getvalue()
    frames = text.split("\r")[1:]
    assert 70 <= len(frames) <= 80
    assert text.count("\n") == 1
    assert frames[-1].endswith(" \n")  # padded over the longer line before it
    assert frames[-1].rstrip() == "parsing 1000/1000 100% [##########] 7.8 s"
    middle = frames[len(frames) // 2]  # about halfway through
    done = int(middle.split()[1].split("/")[0])
    assert 450 <= done <= 550
    assert "[#####.....]" in middle
    assert ", ETA 3." in middle or ", ETA 4." in middle


def test_eta_and_edge_cases() -> None:
    clock = FakeClock()
    progress = Progress(10, "x", stream=io.StringIO(), clock=clock)
    assert progress.eta_sec() is None
    clock.now += 3
    progress.update(3)
    assert progress.eta_sec() == pytest.approx(7.0)
    empty = Progress(0, "nothing", stream=io.StringIO(), clock=clock)
    empty.close()
    empty.close()  # once is enough
    with pytest.raises(ValueError, match="total must be >= 0"):
        Progress(-1, "bad")
