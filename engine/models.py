# SPDX-License-Identifier: MIT
"""Where models live: the shipped default model, and a model's identity.

No torch here: the CLI and the app resolve and name models before (or without) loading them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from engine.gan.config import ModelConfig
from engine.gan.errors import CheckpointError
from engine.gan.files import CONFIG_FILE, WEIGHTS_FILE, read_config_file

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
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        with open(Path(folder) / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the app shows about a model before (or without) loading it."""

    folder: Path
    config: ModelConfig
    model_id: str

    @property
    def summary(self) -> str:
        """E.g. ``"default · hybrid · Soprano/Alto/Tenor/Bass · 4 bars · 3f2a…"``."""
        c = self.config
        return " · ".join(
            (
                self.folder.name,
                c.arch,
                "/".join(c.track_names),
                f"{c.n_bars} bars of {c.beats_per_bar} beats",
                self.model_id[:8],
            )
        )


def describe_model(folder: str | os.PathLike[str] | None = None) -> ModelInfo:
    """The config and id of the model in ``folder`` (default: the default model), read from
    its JSON without torch.

    Raises
    ------
    CheckpointError
        Naming the file and the reason when the folder holds no readable model.
    """
    root = resolve_model(folder)
    config, _ = read_config_file(root / CONFIG_FILE)
    try:
        ident = model_id(root)
    except OSError as e:
        raise CheckpointError(root / WEIGHTS_FILE, f"cannot be read ({e})") from None
    return ModelInfo(root, config, ident)
