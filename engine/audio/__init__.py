# SPDX-License-Identifier: MIT
"""Audio preview: a small built-in synthesiser and a looping player for hearing ideas without
a DAW. :mod:`engine.audio.synth` renders offline with numpy; :mod:`engine.audio.preview` plays
the result through sounddevice (imported only when a device is opened)."""
