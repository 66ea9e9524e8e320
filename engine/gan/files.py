# SPDX-License-Identifier: MIT
"""The JSON side of a checkpoint folder, read without torch (the app names a model before it
loads one): the format's names and the reading of ``config.json``.

See :mod:`engine.gan.checkpoint` for the whole layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import __version__
from engine.gan.config import ModelConfig
from engine.gan.errors import CheckpointError

FORMAT = "barforge-checkpoint"
#: Bumped whenever the files' layout or meaning changes.
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"


def load_json(path: Path) -> Any:
    """The JSON value in ``path`` (a checkpoint folder's file).

    Raises
    ------
    CheckpointError
        Naming the file: missing, unreadable or not JSON.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(path, "missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(path, f"cannot be read ({e})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(path, f"is not valid JSON ({e})") from None


def read_json(path: Path) -> dict[str, Any]:
    """A checkpoint JSON file of this format and version.

    Raises
    ------
    CheckpointError
        Naming the file: missing, unreadable, not JSON, another format or version.
    """
    data = load_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(path, f'is not a {FORMAT} file (no "format": "{FORMAT}")')
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            path,
            f"has format version {version!r}; this Barforge ({__version__}) reads version "
            f"{FORMAT_VERSION}",
        )
    return data


def read_config_file(path: Path) -> tuple[ModelConfig, str]:
    """``(config, barforge version that wrote it)`` of a ``config.json``.

    Raises
    ------
    CheckpointError
        As :func:`read_json`, or when the model config is not valid.
    """
    data = read_json(path)
    try:
        config = ModelConfig.from_dict(data.get("model"))  # type: ignore[arg-type]
    except ValueError as e:
        raise CheckpointError(path, f"bad model config: {e}") from None
    return config, str(data.get("barforge_version", "unknown"))
