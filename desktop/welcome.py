# SPDX-License-Identifier: MIT
"""The first-run welcome, which connects a composer to their DAW in three steps (shown at
start-up until it is turned off; Help > Welcome brings it back), and the DAW connection guide
(``docs/daws.md``, shipped inside the package) shown in a window of its own."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.preferences import Preferences
from engine.resources import GUIDE, shipped

WELCOME_TITLE = "Welcome to Barforge"
GUIDE_TITLE = "DAW Connection Guide"


def port_step(platform: str = sys.platform) -> str:
    """Step 1 in the words of ``platform`` (``sys.platform``): where Barforge's notes come
    out."""
    if platform == "win32":
        return (
            "Windows cannot make virtual MIDI ports: create one in <b>loopMIDI</b>, choose it "
            "under <i>Out</i> on the transport bar and as a MIDI input in your DAW."
        )
    port = "out" if platform == "darwin" else "Barforge:out"
    return (
        "Set <i>Out</i> on the transport bar to <b>Barforge (virtual port)</b>. In your DAW, "
        f"turn on the MIDI input <b>{port}</b>."
    )


def welcome_html(platform: str = sys.platform) -> str:
    """The welcome's text for ``platform``."""
    return WELCOME_HTML.format(port_step=port_step(platform))


WELCOME_HTML = """
<p>Barforge writes bars with you and plays them into your DAW, in time with it.</p>
<ol>
<li><b>Hear it in your DAW.</b> {port_step} Give each Barforge track an instrument track in
the DAW that listens on its channel (the <i>Ch</i> column of the track list).</li>
<li><b>Play in time.</b> Make your DAW send MIDI clock and Song Position to a port, choose
that port under <i>In</i> and set <i>Sync</i> to <b>DAW clock</b>: Barforge then starts,
stops, locates and changes tempo with your DAW.</li>
<li><b>Make music.</b> Pick a seed and press <b>New from Seed</b>, <b>Vary</b> it in the
browser, lock what you like and <b>Regenerate</b> the rest. Drag <b>⠿ Pattern</b> into your
DAW to keep a clip. <b>Panic</b> (Ctrl+Shift+P) silences every note.</li>
</ol>
<p>Your DAW's menus for each of these, and what to do when something is not heard: the
<b>DAW Connection Guide</b> (also in the Help menu).</p>
"""


class WelcomeDialog(QDialog):
    """Three steps from a new window to notes in the DAW; it does not block the window.

    Signals
    -------
    guide_requested()
        The composer asked for the DAW connection guide.
    """

    guide_requested = Signal()

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(WELCOME_TITLE)
        self._prefs = prefs
        layout = QVBoxLayout(self)
        text = QLabel(welcome_html())
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setWordWrap(True)
        text.setMinimumWidth(520)
        layout.addWidget(text)
        self.at_start = QCheckBox("Show this when Barforge starts")
        self.at_start.setChecked(prefs.show_welcome)
        self.at_start.toggled.connect(self._set_at_start)
        layout.addWidget(self.at_start)
        buttons = QDialogButtonBox()
        self.guide_button = QPushButton(GUIDE_TITLE)
        buttons.addButton(self.guide_button, QDialogButtonBox.ButtonRole.HelpRole)
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.guide_button.clicked.connect(self.guide_requested)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)

    def _set_at_start(self, checked: bool) -> None:
        self._prefs.show_welcome = checked
        self._prefs.flush()


class GuideWindow(QDialog):
    """The DAW connection guide, rendered from its Markdown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(GUIDE_TITLE)
        self.resize(860, 720)
        layout = QVBoxLayout(self)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        try:
            path = shipped(*GUIDE)
            self.text.setMarkdown(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, OSError, UnicodeDecodeError) as error:
            self.text.setPlainText(f"The guide could not be read: {error}")
        layout.addWidget(self.text)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)
