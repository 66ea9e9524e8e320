# SPDX-License-Identifier: MIT
"""Where models live: the shipped default model, and a model's identity.

No torch here: the CLI and the app resolve and name models before (or without) loading them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: The environment variable that names another default model folder.
MODEL_ENV = "BARFORGE_MODEL"
#: The shipped default model, relative to the project's root.
DEFAULT_MODEL_RELATIVE = Path("resources") / "models" / "default"


def project_root() -> Path:
    """The folder that holds ``engine/`` and ``resources/``."""
    return Path(__file__).resolve().parent.parent


def default_model_dir() -> Path:
    """The model used when none is named: ``$BARFORGE_MODEL`` if set, else the shipped one."""
    override = os.environ.get(MODEL_ENV)
    if override:
        return Path(override)
    return project_root() / DEFAULT_MODEL_RELATIVE


def resolve_model(path: str | os.PathLike[str] | None) -> Path:
    """``path`` as a folder, or the default model's folder when ``path`` is None."""
    return default_model_dir() if path is None else Path(path)


def model_id(folder: str | os.PathLike[str]) -> str:
    """The first 16 hex digits of the SHA-256 of a checkpoint's config and weights: two folders
    with the same id hold the same model.

    Raises
    ------
    OSError
        When ``config.json`` or ``weights.safetensors`` cannot be read.
    """
    digest = hashlib.sha256()
    for name in ("config.json", "weights.safetensors"):
        with open(Path(folder) / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
