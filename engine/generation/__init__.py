# SPDX-License-Identifier: MIT
"""Generation that composers steer: see :class:`engine.generation.composer.Composer`.

Importing this package does not import torch; ``from engine.generation.composer import
Composer`` does.
"""

from engine.generation.errors import GenerationCancelled
from engine.generation.settings import Locks, OutputSettings, Provenance

__all__ = ["GenerationCancelled", "Locks", "OutputSettings", "Provenance"]
