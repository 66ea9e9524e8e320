# SPDX-License-Identifier: MIT
"""Errors of the model package that callers catch without importing torch."""

from __future__ import annotations

import os


class CheckpointError(Exception):
    """A checkpoint that cannot be loaded: ``path`` names the file (or folder), ``reason`` says
    why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"checkpoint file {self.path}: {reason}")
