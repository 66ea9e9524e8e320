# SPDX-License-Identifier: MIT
"""The browser in the window: variations of the seed, adopting one as an undo step,
favourites, interpolation and the history, saved with the project (tiny model, worker
thread, offscreen)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from desktop.main_window import MainWindow
from engine.music import Pattern


@pytest.fixture
def win(qtbot: QtBot, tiny_model_dir: Path, tmp_path: Path) -> MainWindow:
    window = MainWindow(
        model=tiny_model_dir, autosave_dir=tmp_path / "autosave", start_worker=False
    )
    qtbot.addWidget(window)
    window.show()
    window.start_worker()
    qtbot.waitUntil(lambda: window.model_ready, timeout=60_000)
    request = window.new_from_seed(11)
    qtbot.waitUntil(lambda: request not in window._pending, timeout=30_000)
    assert window.pattern is not None
    return window


def fill(qtbot: QtBot, window: MainWindow, count: int = 8, strength: float = 0.5) -> list[Pattern]:
    """Ask for variations and wait until every thumbnail is in."""
    with qtbot.waitSignal(window.browser.batch_filled, timeout=30_000):
        assert window.browser.vary(count, strength) is not None
    return [e.idea.pattern for e in window.browser.entries]


def filled(window: MainWindow) -> int:
    """Tiles of the browser showing a thumbnail."""
    return sum(tile.image is not None for tile in window.browser_panel.tiles)


def notes(pattern: Pattern) -> list[tuple[object, ...]]:
    return [tuple(t.notes) for t in pattern.tracks]


def test_variations_of_a_seed_are_deterministic_and_fill_every_tile(
    qtbot: QtBot, win: MainWindow
) -> None:
    first = fill(qtbot, win, 8, 0.5)
    assert len(first) == 8
    assert len({str(notes(p)) for p in first}) > 1  # not eight copies
    assert filled(win) == 8
    again = fill(qtbot, win, 8, 0.5)
    assert [notes(p) for p in again] == [notes(p) for p in first]
    fewer = fill(qtbot, win, 3, 0.5)
    assert len(fewer) == 3
    assert filled(win) == 3


def test_adopting_a_variation_is_one_undo_step_and_joins_the_history(
    qtbot: QtBot, win: MainWindow
) -> None:
    before = win.pattern
    assert before is not None
    history = win.document.history
    assert history is not None
    steps = history.n_undo
    tiles = fill(qtbot, win)
    # the project's track names stay; the notes are the variation's
    win.browser_panel.current_index = 2
    QTest.keyClick(win.browser_panel.tiles[2], Qt.Key.Key_Return)
    assert win.pattern is not None
    assert notes(win.pattern) == notes(tiles[2])
    assert [t.name for t in win.pattern.tracks] == [t.name for t in before.tracks]
    assert history.n_undo == steps + 1
    assert str(history.undo_label).startswith("Adopt")
    assert [i.pattern for i in win.document.adopted] == [tiles[2]]
    assert win.browser_panel.history_list.count() == 1
    win.undo()
    assert win.pattern is before


def test_adopting_keeps_locked_bars(qtbot: QtBot, win: MainWindow) -> None:
    before = win.pattern
    assert before is not None
    win.set_bar_lock(1, True)
    tiles = fill(qtbot, win, 4, 1.0)
    bar = before.bar_ticks

    def in_bar_1(p: Pattern) -> list[object]:
        return [n for t in p.tracks for n in t.notes if bar <= n.start < 2 * bar]

    assert all(in_bar_1(t) == in_bar_1(before) for t in tiles)  # tiles show what adopting does
    win.browser.adopt(3)
    assert win.pattern is not None
    assert in_bar_1(win.pattern) == in_bar_1(before)


def test_interpolation_between_two_favourites_starts_and_ends_on_them(
    qtbot: QtBot, win: MainWindow, tmp_path: Path
) -> None:
    fill(qtbot, win, 6, 0.8)
    win.browser.set_favourite(1, True)
    win.browser.set_favourite(4, True)
    favourites = list(win.document.ideas)
    assert len(favourites) == 2
    assert win.browser_panel.favourites_list.count() == 2
    with qtbot.waitSignal(win.browser.batch_filled, timeout=30_000):
        assert win.browser.interpolate(0, 1, 5) is not None
    path = [e.idea for e in win.browser.entries]
    assert len(path) == 5
    assert path[0] is favourites[0]
    assert path[-1] is favourites[1]
    assert notes(path[0].pattern) == notes(favourites[0].pattern)
    middle = path[2].pattern
    assert notes(middle) != notes(favourites[0].pattern)
    assert notes(middle) != notes(favourites[1].pattern)
    # favourites and adopted states are saved with the project
    win.browser.adopt(2)
    target = tmp_path / "ideas.barforge"
    assert win.save_to(target)
    fresh = MainWindow(autosave_dir=tmp_path / "autosave2", start_worker=False)
    qtbot.addWidget(fresh)
    assert fresh.open_file(target)
    assert [i.label for i in fresh.document.ideas] == [i.label for i in favourites]
    assert [notes(i.pattern) for i in fresh.document.adopted] == [notes(middle)]
    assert fresh.browser_panel.favourites_list.count() == 2
    assert fresh.browser_panel.history_list.count() == 1


def test_a_newer_request_wins_and_errors_are_shown(qtbot: QtBot, win: MainWindow) -> None:
    win.browser.vary(8, 0.2)
    with qtbot.waitSignal(win.browser.batch_filled, timeout=30_000):
        win.browser.vary(2, 0.9)
    assert len(win.browser.entries) == 2
    assert win.browser.interpolate(0, 1, 5) is None  # no favourites yet: nothing asked
    win.browser.set_favourite(0, True)
    assert win.browser.interpolate(0, 0, 5) is None
