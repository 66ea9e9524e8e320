# SPDX-License-Identifier: MIT
"""MIDI: files (mido) now, live ports later."""
