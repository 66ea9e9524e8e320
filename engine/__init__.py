# SPDX-License-Identifier: MIT
"""Barforge engine: music model, MIDI, the GAN and the command line. Knows no Qt."""

__version__ = "0.1.0"
