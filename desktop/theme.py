# SPDX-License-Identifier: MIT
"""Colour themes of the whole app: dark, light, or whatever the platform gives.

"dark" and "light" use the Fusion style with an explicit palette, so they look the same on
every platform; "system" goes back to the style and palette the app started with.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

#: Theme names, as :class:`~desktop.preferences.Preferences` stores them, with their labels.
THEMES: dict[str, str] = {"system": "System", "dark": "Dark", "light": "Light"}
#: The theme of a new installation.
DEFAULT_THEME = "system"

# Name of the application property that remembers the style the app started with.
_SYSTEM_STYLE_PROPERTY = "barforge_system_style"

_Role = QPalette.ColorRole
_Group = QPalette.ColorGroup


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style (grey surfaces, light text, blue highlight)."""
    palette = QPalette()
    colours = {
        _Role.Window: QColor(45, 45, 48),
        _Role.WindowText: QColor(222, 222, 222),
        _Role.Base: QColor(30, 30, 32),
        _Role.AlternateBase: QColor(40, 40, 43),
        _Role.ToolTipBase: QColor(60, 60, 64),
        _Role.ToolTipText: QColor(230, 230, 230),
        _Role.PlaceholderText: QColor(140, 140, 140),
        _Role.Text: QColor(222, 222, 222),
        _Role.Button: QColor(53, 53, 57),
        _Role.ButtonText: QColor(222, 222, 222),
        _Role.BrightText: QColor(255, 90, 90),
        _Role.Light: QColor(75, 75, 80),
        _Role.Midlight: QColor(62, 62, 66),
        _Role.Mid: QColor(40, 40, 43),
        _Role.Dark: QColor(25, 25, 27),
        _Role.Shadow: QColor(10, 10, 10),
        _Role.Highlight: QColor(42, 130, 218),
        _Role.HighlightedText: QColor(255, 255, 255),
        _Role.Link: QColor(90, 160, 240),
        _Role.LinkVisited: QColor(160, 120, 230),
    }
    for role, colour in colours.items():
        palette.setColor(role, colour)
    dimmed = QColor(120, 120, 120)
    for role in (_Role.WindowText, _Role.Text, _Role.ButtonText, _Role.HighlightedText):
        palette.setColor(_Group.Disabled, role, dimmed)
    palette.setColor(_Group.Disabled, _Role.Highlight, QColor(70, 70, 74))
    return palette


def light_palette() -> QPalette:
    """A light palette for the Fusion style (Fusion's own light colours, written out so that a
    dark platform colour scheme cannot change them)."""
    palette = QPalette()
    colours = {
        _Role.Window: QColor(239, 239, 239),
        _Role.WindowText: QColor(0, 0, 0),
        _Role.Base: QColor(255, 255, 255),
        _Role.AlternateBase: QColor(247, 247, 247),
        _Role.ToolTipBase: QColor(255, 255, 220),
        _Role.ToolTipText: QColor(0, 0, 0),
        _Role.PlaceholderText: QColor(0, 0, 0, 128),
        _Role.Text: QColor(0, 0, 0),
        _Role.Button: QColor(239, 239, 239),
        _Role.ButtonText: QColor(0, 0, 0),
        _Role.BrightText: QColor(255, 255, 255),
        _Role.Light: QColor(255, 255, 255),
        _Role.Midlight: QColor(202, 202, 202),
        _Role.Mid: QColor(184, 184, 184),
        _Role.Dark: QColor(159, 159, 159),
        _Role.Shadow: QColor(118, 118, 118),
        _Role.Highlight: QColor(48, 140, 198),
        _Role.HighlightedText: QColor(255, 255, 255),
        _Role.Link: QColor(0, 0, 255),
        _Role.LinkVisited: QColor(255, 0, 255),
    }
    for role, colour in colours.items():
        palette.setColor(role, colour)
    dimmed = QColor(190, 190, 190)
    for role in (_Role.WindowText, _Role.Text, _Role.ButtonText):
        palette.setColor(_Group.Disabled, role, dimmed)
    palette.setColor(_Group.Disabled, _Role.Base, QColor(239, 239, 239))
    palette.setColor(_Group.Disabled, _Role.Highlight, QColor(145, 145, 145))
    return palette


def apply_theme(app: QApplication, name: str) -> None:
    """Give ``app`` the theme ``name`` (one of :data:`THEMES`).

    The first call remembers the style the app had, so that "system" can go back to it later.

    Raises
    ------
    ValueError
        When ``name`` is not one of :data:`THEMES`.
    """
    if name not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, got {name!r}")
    system_style = app.property(_SYSTEM_STYLE_PROPERTY)
    if not isinstance(system_style, str) or not system_style:
        system_style = app.style().name()
        app.setProperty(_SYSTEM_STYLE_PROPERTY, system_style)
    hints = app.styleHints()
    if name == "system":
        app.setStyle(system_style)
        # A palette that sets no role resolves to the platform's own (Qt 6).
        app.setPalette(QPalette())
        hints.unsetColorScheme()
        return
    app.setStyle("Fusion")
    if name == "dark":
        hints.setColorScheme(Qt.ColorScheme.Dark)
        app.setPalette(dark_palette())
    else:
        hints.setColorScheme(Qt.ColorScheme.Light)
        app.setPalette(light_palette())
