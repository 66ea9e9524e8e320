# SPDX-License-Identifier: MIT
"""The GAN: configs (:mod:`.config`, no torch), networks (:mod:`.model`), checkpoints
(:mod:`.checkpoint`) and the device choice (:mod:`.device`).

Importing this package does not import torch; :mod:`.model`, :mod:`.checkpoint` and
:mod:`.device` do.
"""

from engine.gan.config import ModelConfig, TrainConfig

__all__ = ["ModelConfig", "TrainConfig"]
