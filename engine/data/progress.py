# SPDX-License-Identifier: MIT
"""A tiny progress bar with an ETA, for long builds (no tqdm).

On a terminal it redraws one line in place (``\\r``) at most ``redraw_sec`` apart (10 times a
second by default); elsewhere (a log file, a pipe, CI) it prints a whole line at most
``line_sec`` apart (every 5 s by default) so that the log shows the build moving without
flooding it. Both print a final line when the work is done.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def format_seconds(seconds: float) -> str:
    """``seconds`` as ``"4.2 s"``, ``"3 min 05 s"`` or ``"2 h 03 min"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


class Progress:
    """Counts finished items out of ``total`` and shows how far along and how long is left.

    Parameters
    ----------
    total : int
        Items to do, >= 0.
    label : str
        Shown before the counts, e.g. ``"parsing"``.
    stream : text stream, optional
        Where to write; ``sys.stderr`` when None.
    redraw_sec : float
        Least time between redraws on a terminal, in seconds.
    line_sec : float
        Least time between printed lines when ``stream`` is not a terminal, in seconds.
    clock : callable returning float seconds, optional
        ``time.monotonic`` when None (tests pass a fake one).
    width : int
        Characters of the bar itself, on a terminal.
    """

    def __init__(
        self,
        total: int,
        label: str,
        *,
        stream: TextIO | None = None,
        redraw_sec: float = 0.1,
        line_sec: float = 5.0,
        clock: Callable[[], float] | None = None,
        width: int = 24,
    ) -> None:
        if total < 0:
            raise ValueError(f"Progress.total must be >= 0, got {total}")
        self.total = total
        self.label = label
        self.done = 0
        self._stream = sys.stderr if stream is None else stream
        self._clock = time.monotonic if clock is None else clock
        self._width = width
        self._started = self._clock()
        self._last_shown: float | None = None
        self._closed = False
        try:
            self._tty = bool(self._stream.isatty())
        except (AttributeError, ValueError):  # a closed or odd stream
            self._tty = False
        self._interval = redraw_sec if self._tty else line_sec
        self._line_length = 0

    @property
    def elapsed_sec(self) -> float:
        """Seconds since the bar was made."""
        return self._clock() - self._started

    def eta_sec(self) -> float | None:
        """Estimated seconds left (elapsed time per item so far, times the items left).

        None until three items are done (or all, if fewer).
        """
        if self.done < min(3, self.total) or self.total == 0:
            return None  # too early: the first items carry the start-up time
        return self.elapsed_sec / self.done * max(self.total - self.done, 0)

    def text(self) -> str:
        """The status line, e.g. ``"parsing 120/412  29% [#######.........] 4.1 s, ETA 10 s"``."""
        fraction = self.done / self.total if self.total else 1.0
        digits = len(str(self.total))
        line = f"{self.label} {self.done:>{digits}}/{self.total} {fraction:4.0%}"
        if self._tty:
            filled = round(fraction * self._width)
            line += f" [{'#' * filled}{'.' * (self._width - filled)}]"
        line += f" {format_seconds(self.elapsed_sec)}"
        eta = self.eta_sec()
        if self.done < self.total:
            line += f", ETA {format_seconds(eta)}" if eta is not None else ", ETA ?"
        return line

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done and redraw if enough time has passed."""
        self.done += n
        now = self._clock()
        if self._last_shown is None or now - self._last_shown >= self._interval:
            self._show(now)

    def close(self) -> None:
        """Show the final state (always) and end the line."""
        if self._closed:
            return
        self._closed = True
        self._show(self._clock())
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()

    def _show(self, now: float) -> None:
        self._last_shown = now
        line = self.text()
        if self._tty:
            padding = " " * max(self._line_length - len(line), 0)
            self._stream.write(f"\r{line}{padding}")
            self._line_length = len(line)
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
