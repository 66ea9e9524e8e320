# SPDX-License-Identifier: MIT
"""Errors of the generation package that callers catch without importing torch."""

from __future__ import annotations


class GenerationCancelled(Exception):
    """A generation stopped because its ``progress`` callback returned False.

    Not a :class:`~engine.generation.composer.GenerationError`: nothing was wrong with the
    request, the caller asked it to stop. ``done`` and ``total`` are the progress counts at the
    moment it stopped.
    """

    def __init__(self, done: int, total: int) -> None:
        self.done = done
        self.total = total
        super().__init__(f"cancelled after {done} of {total} steps")
