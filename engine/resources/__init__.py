# SPDX-License-Identifier: MIT
"""The files Barforge ships: the default model, its card, the icon, the example and the DAW
connection guide.

They live inside the package (``engine/resources/``), so a wheel installed anywhere carries
them; :func:`shipped` finds them with :mod:`importlib.resources`. The folders are read as
plain folders (a model is loaded from its folder), so an install that keeps packages zipped
gets a clear error instead of a missing model.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The shipped default model's folder, below this package.
DEFAULT_MODEL = ("models", "default")
#: The model card of the shipped model.
MODEL_CARD = ("models", "MODEL_CARD.md")
#: The app's icon.
ICON = ("icons", "barforge.svg")
#: A short MIDI file to try things on.
EXAMPLE = ("examples", "demo.mid")
#: The DAW connection guide (a link to the checkout's docs/daws.md; wheels carry the file).
GUIDE = ("docs", "daws.md")


def shipped(*parts: str) -> Path:
    """The shipped file or folder ``parts`` (e.g. ``shipped(*ICON)``), as a path.

    Raises
    ------
    FileNotFoundError
        When this installation of Barforge lacks it, or keeps it where no path reaches
        (inside a zip): the message names it.
    """
    entry = files(__name__).joinpath(*parts)
    path = Path(str(entry))
    if not path.exists():
        raise FileNotFoundError(
            f"Barforge's shipped {'/'.join(parts)} is missing from {path.parent} "
            "(a broken or zipped installation: reinstall Barforge)"
        )
    return path
