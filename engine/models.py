# SPDX-License-Identifier: MIT
"""Where models live: the shipped default model, and a model's identity.

No torch here: the CLI and the app resolve and name models before (or without) loading them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.gan.config import ModelConfig
from engine.gan.errors import CheckpointError
from engine.gan.files import CONFIG_FILE, WEIGHTS_FILE, load_json, read_config_file
from engine.generation.voices import DECODING_FILE
from engine.resources import DEFAULT_MODEL, shipped

#: The environment variable that names another default model folder.
MODEL_ENV = "BARFORGE_MODEL"
#: A model folder's optional description for people: its style, data and terms of use.
CARD_FILE = "card.json"


def shipped_model_dir() -> Path:
    """The default model Barforge ships (inside the package: :mod:`engine.resources`)."""
    return shipped(*DEFAULT_MODEL)


def default_model_dir() -> Path:
    """The model used when none is named: ``$BARFORGE_MODEL`` if set, else the shipped one."""
    override = os.environ.get(MODEL_ENV)
    if override:
        return Path(override)
    return shipped_model_dir()


def resolve_model(path: str | os.PathLike[str] | None) -> Path:
    """``path`` as a folder, or the default model's folder when ``path`` is None."""
    return default_model_dir() if path is None else Path(path)


def model_id(folder: str | os.PathLike[str]) -> str:
    """The first 16 hex digits of the SHA-256 of a checkpoint's config and weights, and of its
    voice decoding (``decoding.json``) when it has one, since that changes the notes: two
    folders with the same id make the same notes.

    Raises
    ------
    OSError
        When ``config.json`` or ``weights.safetensors`` cannot be read.
    """
    digest = hashlib.sha256()
    names = [CONFIG_FILE, WEIGHTS_FILE]
    if (Path(folder) / DECODING_FILE).exists():
        names.append(DECODING_FILE)
    for name in names:
        with open(Path(folder) / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What a model's folder says of it for people (``card.json``; every field optional).

    Attributes
    ----------
    style : str
        What it writes, in words ("four-part chorales...").
    data : str
        What it was trained on.
    terms : str
        Its terms of use.
    commercial_use : bool or None
        Whether its terms allow commercial use (None: not stated).
    """

    style: str = ""
    data: str = ""
    terms: str = ""
    commercial_use: bool | None = None


def read_card(folder: str | os.PathLike[str]) -> ModelCard:
    """The ``card.json`` of a model folder; an empty card when there is none.

    Raises
    ------
    CheckpointError
        When the file is there but is not a JSON object of strings (and a boolean
        ``commercial_use``).
    """
    path = Path(folder) / CARD_FILE
    if not path.exists():
        return ModelCard()
    data = load_json(path)
    if not isinstance(data, dict):
        raise CheckpointError(path, "must hold a JSON object")
    card: dict[str, str | bool | None] = {}
    for name in ("style", "data", "terms"):
        value = data.get(name, "")
        if not isinstance(value, str):
            raise CheckpointError(path, f"{name!r} must be a string")
        card[name] = value
    commercial = data.get("commercial_use")
    if commercial is not None and not isinstance(commercial, bool):
        raise CheckpointError(path, "'commercial_use' must be true, false or null")
    return ModelCard(str(card["style"]), str(card["data"]), str(card["terms"]), commercial)


def grid_words(steps_per_beat: int) -> str:
    """A grid of ``steps_per_beat`` steps a quarter note, as a musician says it."""
    named = {1: "quarter notes", 2: "8ths", 3: "8th triplets", 4: "16ths", 6: "16th triplets"}
    if steps_per_beat in named:
        return named[steps_per_beat]
    if steps_per_beat % 12 == 0:
        return f"16ths and triplets ({steps_per_beat} steps a beat)"
    return f"{steps_per_beat} steps a beat"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the app shows about a model before (or without) loading it."""

    folder: Path
    config: ModelConfig
    model_id: str
    card: ModelCard = field(default_factory=ModelCard)

    def describe(self) -> list[tuple[str, str]]:
        """``(what, text)`` rows for people: its tracks, meter and grid, how notes are decoded,
        phrase, style, data and terms ("not stated" where the folder does not say)."""
        c = self.config
        tracks = ", ".join(
            f"{name} (drums)" if drum else name
            for name, drum in zip(c.track_names, c.is_drum, strict=True)
        )
        card = self.card
        if card.commercial_use is False:
            use = "non-commercial use only"
        elif card.commercial_use:
            use = "commercial use allowed"
        else:
            use = "not stated"
        return [
            ("Tracks", tracks),
            ("Bars", f"{c.beats_per_bar}/4, phrases of {c.n_bars} bars (longer ones continue)"),
            ("Grid", grid_words(c.steps_per_beat)),
            (
                "Decoding",
                "each voice as a line, as the training voices move (decoding.json)"
                if (self.folder / DECODING_FILE).exists()
                else "a threshold on each step and pitch",
            ),
            ("Style", card.style or "not stated"),
            ("Data", card.data or "not stated"),
            ("Use", use),
            ("Terms", card.terms or "not stated by the model's folder"),
        ]

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
    return ModelInfo(root, config, ident, read_card(root))
