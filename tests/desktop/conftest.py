# SPDX-License-Identifier: MIT
"""Desktop tests run Qt offscreen; a test that leaves a QThread running or a window open fails."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QThread, QThreadPool
from PySide6.QtWidgets import QApplication

# Read when the QApplication is created (pytest-qt's qapp, at the first test): set it first.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LeakCheck = Callable[[list[QThread]], list[str]]


def find_leaks(threads: list[QThread]) -> list[str]:
    """What a test left behind: running threads among ``threads``, busy thread-pool tasks and
    visible top-level windows. Each one found is also stopped or closed, so that the next test
    starts clean and the process never destroys a running thread."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    problems = []
    for thread in threads:
        if thread.isRunning():
            problems.append(f"a QThread is still running: {thread!r}")
            thread.quit()
            thread.wait(2000)
    if not QThreadPool.globalInstance().waitForDone(2000):
        problems.append("QThreadPool still runs tasks")
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible():
            title = widget.windowTitle()
            problems.append(f"a window is still open: {type(widget).__name__} {title!r}")
            widget.close()
    return problems


@pytest.fixture
def leak_check() -> LeakCheck:
    """The check the autouse fixture runs after every test, for tests of the check itself."""
    return find_leaks


@pytest.fixture(autouse=True)
def _fail_on_leaks(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Set up before qtbot (autouse), so this runs after pytest-qt has closed the test's
    # widgets (registered with qtbot.addWidget) and handled its events.
    started: list[QThread] = []
    original_start = QThread.start

    def start_and_track(self: QThread, *args: object) -> None:
        started.append(self)
        original_start(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(QThread, "start", start_and_track)
    yield
    problems = find_leaks(started)
    if problems:
        pytest.fail("the test left things running: " + "; ".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _private_autosave(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Autosave, preferences and dragged clips go into the test's folder, never the user's;
    windows close without asking and open no MIDI port until they play (a test that wants the
    port at start sets ``open_port_at_start``)."""
    monkeypatch.setenv("BARFORGE_AUTOSAVE_DIR", str(tmp_path / "autosave"))
    monkeypatch.setenv("BARFORGE_DRAG_DIR", str(tmp_path / "drag"))
    settings = tmp_path / "settings"
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.NativeFormat, scope, str(settings))
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(settings))
    from desktop.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "confirm_close", False)
    monkeypatch.setattr(MainWindow, "open_port_at_start", False)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine tests' tiny random hybrid (see tests/engine/conftest.py), saved once for the
    session: do not modify it. Imports torch (here, in the test process) when first used."""
    path = Path(__file__).resolve().parents[1] / "engine" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_barforge_engine_fixtures", path)
    assert spec is not None
    assert spec.loader is not None
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    folder: Path = helpers.save_tiny_model(tmp_path_factory.mktemp("models") / "tiny")
    return folder
