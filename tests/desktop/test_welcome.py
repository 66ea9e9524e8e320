# SPDX-License-Identifier: MIT
"""The first-run welcome and the DAW connection guide: shown at the first start, gone once
the composer turns it off, back from the Help menu, the guide one click away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from desktop.welcome import GUIDE_TITLE, WELCOME_TITLE, port_step, welcome_html

REPO = Path(__file__).resolve().parents[2]
#: The guide's sections, one per DAW among them, as its Markdown names them.
SECTIONS = [
    line[3:].strip()
    for line in (REPO / "docs" / "daws.md").read_text(encoding="utf-8").splitlines()
    if line.startswith("## ")
]

#: Starts the real app as ``barforge-app`` does; a second after its window shows, prints the
#: visible windows, then (with "untick") unticks "Show this when Barforge starts" and clicks
#: Start, as a composer would, and quits.
START = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop import app
from desktop.main_window import MainWindow

def look():
    qt = QApplication.instance()
    print(sorted(w.windowTitle() for w in qt.topLevelWidgets() if w.isVisible()), flush=True)
    window = next(w for w in qt.topLevelWidgets() if isinstance(w, MainWindow))
    if sys.argv[1] == "untick":
        window.welcome_dialog.at_start.click()
        window.welcome_dialog.start_button.click()
    window.close()
    qt.quit()

app.application()
QTimer.singleShot(1000, look)
sys.exit(app.main([]))
"""


def _start(home: Path, then: str) -> str:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(home / "config"),
        "BARFORGE_AUTOSAVE_DIR": str(home / "autosave"),
        "BARFORGE_MODEL": str(home / "no-model"),  # the welcome needs none
    }
    done = subprocess.run(
        [sys.executable, "-c", START, then],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_first_start_welcomes_until_the_composer_turns_it_off(tmp_path: Path) -> None:
    first = _start(tmp_path, "untick")
    assert WELCOME_TITLE in first
    assert (tmp_path / "config" / "Barforge" / "Barforge.conf").exists()
    second = _start(tmp_path, "look")
    assert WELCOME_TITLE not in second
    assert "Barforge" in second  # the main window itself


def test_the_help_menu_brings_the_welcome_back_and_opens_the_guide(qtbot: QtBot) -> None:
    window = MainWindow(start_worker=False)
    qtbot.addWidget(window)
    window.show()
    window.prefs.show_welcome = False
    assert window.offer_welcome() is False
    assert window.welcome_dialog is None
    assert window.welcome_action in window.help_menu.actions()
    assert window.guide_action in window.help_menu.actions()
    window.welcome_action.trigger()
    welcome = window.welcome_dialog
    assert welcome is not None
    assert welcome.isVisible()
    assert not welcome.at_start.isChecked()  # as the composer left it
    welcome.guide_button.click()
    guide = window.guide_window
    assert guide is not None
    assert guide.isVisible()
    assert guide.windowTitle() == GUIDE_TITLE
    text = guide.text.toPlainText()
    assert "Ableton Live" in SECTIONS
    for section in SECTIONS:
        assert section in text, section
    assert "barforge live --file song.mid --sync clock --midi-api jack" in text
    window.close()
    assert not welcome.isVisible()
    assert not guide.isVisible()


@pytest.mark.parametrize(
    ("platform", "said"),
    [("linux", "Barforge:out"), ("darwin", "<b>out</b>"), ("win32", "loopMIDI")],
)
def test_the_welcome_names_the_port_of_each_system(platform: str, said: str) -> None:
    assert said in port_step(platform)
    html = welcome_html(platform)
    assert said in html
    assert "DAW clock" in html
    assert "{" not in html  # every field filled
