# SPDX-License-Identifier: MIT
"""Barforge's desktop application (Qt): for now a read-only MIDI viewer.

It imports :mod:`engine`, never the other way round, and never imports torch at start-up.
"""
