# SPDX-License-Identifier: MIT
"""Where the composer chooses what to generate: what the loaded model writes (its tracks,
meter, grid, style and terms of use) and the output settings of the next generation (bars,
key, temperature, velocities).

A pure view: the window reads :meth:`GenerationPanel.settings` and
:meth:`GenerationPanel.n_bars` when it sends a request, and calls
:meth:`GenerationPanel.show_model` when the model changes.
"""

from __future__ import annotations

import html
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.generation.settings import SCALES, OutputSettings
from engine.models import ModelInfo

#: Roots offered in the Key box, as a keyboard player names them.
ROOTS: Final = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Scales offered, most used first.
SCALE_ORDER: Final = (
    "major",
    "minor",
    "dorian",
    "mixolydian",
    "harmonic-minor",
    "pentatonic",
    "minor-pentatonic",
)
ANY_KEY: Final = "Any key"
#: Longest piece the Bars box offers.
MAX_BARS: Final = 64


class GenerationPanel(QGroupBox):
    """The model's description and the output settings of New from Seed, Fill Around Locks,
    Accompany and Vary (Regenerate keeps the settings of the take it redraws)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Model and output", parent)
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_label.setTextFormat(Qt.TextFormat.RichText)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.bars_spin = QSpinBox()
        self.bars_spin.setRange(1, MAX_BARS)
        self.bars_spin.setValue(4)
        self.bars_spin.setSuffix(" bars")
        self.bars_spin.setToolTip("How many bars New from Seed writes")
        self.key_box = QComboBox()
        self.key_box.addItem(ANY_KEY, None)
        for scale in SCALE_ORDER:
            assert scale in SCALES
            for root in ROOTS:
                key = f"{root} {scale}"
                self.key_box.addItem(key, key)
        self.key_box.setMaxVisibleItems(24)
        self.key_box.setToolTip("Pitched tracks use only this key's notes (drums are free)")
        self.temperature_spin = QDoubleSpinBox()
        self.temperature_spin.setRange(0.0, 3.0)
        self.temperature_spin.setSingleStep(0.1)
        self.temperature_spin.setDecimals(1)
        self.temperature_spin.setSpecialValueText("Off (most likely notes)")
        self.temperature_spin.setToolTip(
            "0: the model's most likely notes, the same every time. Higher: notes are drawn "
            "at random from the model's probabilities, more surprising as it rises"
        )
        self.velocity_box = QComboBox()
        self.velocity_box.addItem("Fixed", "fixed")
        self.velocity_box.addItem("Humanized", "humanize")
        self.velocity_box.setToolTip(
            "Fixed: every note at one velocity. Humanized: accents on the beats and a little "
            "random spread, as a player would"
        )
        form = QFormLayout()
        form.addRow("&Bars:", self.bars_spin)
        form.addRow("&Key:", self.key_box)
        form.addRow("&Temperature:", self.temperature_spin)
        form.addRow("&Velocity:", self.velocity_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.model_label)
        layout.addLayout(form)
        layout.addStretch(1)
        self.show_model(None, "no model")

    def show_model(self, info: ModelInfo | None, problem: str = "") -> None:
        """Describe ``info`` (None: say there is no model, and why); Bars starts at its
        phrase length."""
        if info is None:
            self.model_label.setText(f"<b>No model</b>: {html.escape(problem or 'none is loaded')}")
            return
        rows = "".join(
            f"<tr><td><b>{html.escape(what)}</b>&nbsp;</td><td>{html.escape(text)}</td></tr>"
            for what, text in info.describe()
        )
        self.model_label.setText(f"<b>{html.escape(info.folder.name)}</b><table>{rows}</table>")
        self.model_label.setToolTip(str(info.folder))
        self.bars_spin.setValue(info.config.n_bars)

    def n_bars(self) -> int:
        """Bars New from Seed writes."""
        return self.bars_spin.value()

    def settings(self) -> OutputSettings:
        """The output settings chosen."""
        key = self.key_box.currentData()
        temperature = round(self.temperature_spin.value(), 1)
        return OutputSettings(
            temperature=temperature,
            velocity=str(self.velocity_box.currentData()),
            key=str(key) if key is not None else None,
        )
