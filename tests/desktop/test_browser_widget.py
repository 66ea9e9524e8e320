# SPDX-License-Identifier: MIT
"""The browser panel: thumbnail pixels, the off-thread renderer, and the panel's tiles, keys,
lists and requests (real widgets, real mouse and key events, offscreen)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QListWidget, QWidget
from pytestqt.qtbot import QtBot

from desktop.browser import MAX_TILES, PLACEHOLDER_TEXT, BrowserPanel, ThumbnailTile
from desktop.thumbnails import (
    BACKGROUND,
    BAR_LINE,
    BEAT_LINE,
    DEFAULT_COLOURS,
    ThumbnailRenderer,
    thumbnail_image,
    thumbnail_pixels,
)
from engine.music import Note, Pattern, Track

WIDTH, HEIGHT = 160, 90
#: 4 bars of 4/4 at 480 ticks per quarter: 7680 ticks over 160 pixels, 48 ticks a pixel.
BAR = 1920


def one_note(start: int = BAR, duration: int = 480, pitch: int = 60) -> Pattern:
    return Pattern([Track("Keys", 0, False, 0, [Note(start, duration, pitch)])], n_bars=4)


def band(seed: int, n_notes: int = 40) -> Pattern:
    """Drums, bass and keys with notes placed by ``seed``."""
    rng = np.random.default_rng(seed)
    drums = [Note(int(t) * 240, 60, int(rng.choice([36, 38, 42]))) for t in range(32)]
    bass = [Note(i * 480, 480, int(rng.integers(36, 48))) for i in range(16)]
    keys = [
        Note(i * 7680 // n_notes, 7680 // n_notes, int(rng.integers(60, 80)))
        for i in range(n_notes)
    ]
    return Pattern(
        [
            Track("Kit", 0, True, 9, drums),
            Track("Bass", 33, False, 1, bass),
            Track("Keys", 0, False, 0, keys),
        ],
        n_bars=4,
    )


def columns_rows(pixels: np.ndarray, colour: int) -> tuple[np.ndarray, np.ndarray]:
    rows, columns = np.nonzero(pixels == np.uint32(colour))
    return columns, rows


# --- pixels -----------------------------------------------------------------------------------
def test_a_note_lands_where_its_ticks_and_pitch_say_in_its_track_colour() -> None:
    pixels = thumbnail_pixels(one_note(), WIDTH, HEIGHT)
    assert pixels.shape == (HEIGHT, WIDTH)
    assert pixels.dtype == np.uint32
    columns, rows = columns_rows(pixels, DEFAULT_COLOURS[0])
    # Ticks 1920..2400 at 48 ticks a pixel: columns 40..49, the last one left as a gap.
    assert columns.min() == 40
    assert columns.max() == 48
    # The pitch range is fitted around the one note: it sits in the middle band of rows.
    assert HEIGHT * 0.3 < rows.min() <= rows.max() < HEIGHT * 0.7
    assert rows.max() - rows.min() + 1 >= 3  # a row of a 12-row range is 7-8 px tall


def test_higher_notes_are_drawn_higher_and_colours_are_per_track() -> None:
    low, high = Note(0, 960, 48), Note(3840, 960, 72)
    pattern = Pattern([Track("A", 0, False, 0, [low]), Track("B", 0, False, 1, [high])], n_bars=4)
    pixels = thumbnail_pixels(pattern, WIDTH, HEIGHT, colours=[0xFF112233, 0xFF445566])
    a_columns, a_rows = columns_rows(pixels, 0xFF112233)
    b_columns, b_rows = columns_rows(pixels, 0xFF445566)
    assert a_columns.max() < 20 <= 80 <= b_columns.min()
    assert b_rows.max() < a_rows.min()
    # The range is fitted with a margin: neither note touches the top or bottom edge.
    assert b_rows.min() > 0
    assert a_rows.max() < HEIGHT - 1


def test_drums_are_short_marks_in_a_lane_under_the_pitched_notes() -> None:
    pattern = Pattern(
        [
            Track("Kit", 0, True, 9, [Note(0, 1920, 36), Note(3840, 60, 38)]),
            Track("Keys", 0, False, 0, [Note(0, 7680, 60)]),
        ],
        n_bars=4,
    )
    pixels = thumbnail_pixels(pattern, WIDTH, HEIGHT)
    drum_columns, drum_rows = columns_rows(pixels, DEFAULT_COLOURS[0])
    key_columns, key_rows = columns_rows(pixels, DEFAULT_COLOURS[1])
    assert drum_rows.min() >= HEIGHT * 3 // 4 > key_rows.max()
    # A long drum note is still a mark a couple of pixels wide, at its onset.
    assert set(drum_columns) <= {0, 1, 2, 80, 81, 82}
    assert {0, 80} <= set(drum_columns)
    assert key_columns.max() == WIDTH - 2  # to the end, less the gap after a note


def test_an_empty_pattern_shows_only_the_background_and_its_bar_lines() -> None:
    pixels = thumbnail_pixels(Pattern([Track("Empty")], n_bars=4), WIDTH, HEIGHT)
    assert set(np.unique(pixels).tolist()) <= {BACKGROUND, BEAT_LINE, BAR_LINE}
    bar_columns = np.flatnonzero((pixels == np.uint32(BAR_LINE)).all(axis=0))
    assert bar_columns.tolist() == [40, 80, 120]
    assert np.count_nonzero(pixels == np.uint32(BACKGROUND)) > pixels.size * 0.8


def test_different_patterns_give_different_pictures_and_the_same_one_the_same() -> None:
    first, second = (
        thumbnail_pixels(band(1), WIDTH, HEIGHT),
        thumbnail_pixels(band(2), WIDTH, HEIGHT),
    )
    assert not np.array_equal(first, second)
    assert np.array_equal(first, thumbnail_pixels(band(1), WIDTH, HEIGHT))


@pytest.mark.parametrize(("width", "height"), [(0, 90), (160, 0), (-3, 5)])
def test_a_picture_needs_at_least_one_pixel(width: int, height: int) -> None:
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        thumbnail_pixels(one_note(), width, height)


def test_the_image_owns_the_same_pixels() -> None:
    image = thumbnail_image(one_note(), WIDTH, HEIGHT)
    pixels = thumbnail_pixels(one_note(), WIDTH, HEIGHT)
    assert image.size() == QSize(WIDTH, HEIGHT)
    assert image.format() == QImage.Format.Format_RGB32
    for x, y in ((44, 48), (10, 10), (40, 5)):
        assert image.pixel(x, y) == int(pixels[y, x])


# --- the renderer ----------------------------------------------------------------------------
@pytest.fixture
def renderer() -> Iterator[ThumbnailRenderer]:
    made = ThumbnailRenderer()
    yield made
    made.close()


def test_every_thumbnail_of_a_batch_arrives_on_the_ui_thread(
    qtbot: QtBot, renderer: ThumbnailRenderer
) -> None:
    patterns = [band(seed) for seed in range(6)]
    got: list[tuple[int, int, QImage]] = []
    renderer.thumbnail_ready.connect(lambda b, i, image: got.append((b, i, image)))
    assert not renderer.running
    with qtbot.waitSignal(renderer.batch_finished, timeout=10_000) as finished:
        renderer.render(7, patterns, QSize(WIDTH, HEIGHT))
    assert finished.args == [7]
    assert renderer.running
    assert [(b, i) for b, i, _ in got] == [(7, i) for i in range(6)]
    for (_, _, image), pattern in zip(got, patterns, strict=True):
        assert image == thumbnail_image(pattern, WIDTH, HEIGHT)


def test_a_newer_batch_supersedes_an_older_one(qtbot: QtBot, renderer: ThumbnailRenderer) -> None:
    got: list[int] = []
    finished: list[int] = []
    renderer.thumbnail_ready.connect(lambda b, i, image: got.append(b))
    renderer.batch_finished.connect(finished.append)
    old = [band(seed, n_notes=200) for seed in range(MAX_TILES)]
    with qtbot.waitSignal(renderer.batch_finished, timeout=10_000):
        renderer.render(1, old, QSize(WIDTH, HEIGHT))
        renderer.render(2, [band(99), band(98)], QSize(WIDTH, HEIGHT))
    qtbot.wait(50)  # let anything still queued for batch 1 arrive: none of it may be re-emitted
    assert finished == [2]
    assert got == [2, 2]


def test_the_panel_ignores_thumbnails_of_a_batch_it_no_longer_shows(qtbot: QtBot) -> None:
    panel = BrowserPanel()
    qtbot.addWidget(panel)
    panel.show_batch(1, ["Var 1", "Var 2"])
    panel.show_batch(2, ["Var 1", "Var 2"])
    panel.set_thumbnail(1, 0, thumbnail_image(band(1), WIDTH, HEIGHT))
    panel.set_thumbnail(2, 5, thumbnail_image(band(1), WIDTH, HEIGHT))  # no such tile
    assert [tile.image for tile in panel.tiles] == [None, None]
    panel.set_thumbnail(2, 1, thumbnail_image(band(1), WIDTH, HEIGHT))
    assert panel.tiles[1].image is not None


def test_renderer_feeds_the_panel(qtbot: QtBot, renderer: ThumbnailRenderer) -> None:
    panel = BrowserPanel()
    qtbot.addWidget(panel)
    renderer.thumbnail_ready.connect(panel.set_thumbnail)
    panel.show_batch(3, [f"Var {i + 1}" for i in range(4)])
    with qtbot.waitSignal(renderer.batch_finished, timeout=10_000):
        renderer.render(3, [band(seed) for seed in range(4)], panel.thumbnail_size)
    assert all(tile.image is not None for tile in panel.tiles)
    assert panel.tiles[2].image == thumbnail_image(band(2), WIDTH, HEIGHT)


def test_close_ends_the_thread_and_is_idempotent(qtbot: QtBot) -> None:
    renderer = ThumbnailRenderer()
    renderer.close()  # before any render: nothing to stop
    assert not renderer.running
    with pytest.raises(RuntimeError, match="closed"):
        renderer.render(1, [one_note()], QSize(WIDTH, HEIGHT))

    renderer = ThumbnailRenderer()
    with qtbot.waitSignal(renderer.batch_finished, timeout=10_000):
        renderer.render(1, [one_note()], QSize(WIDTH, HEIGHT))
    renderer.render(2, [band(seed, n_notes=200) for seed in range(MAX_TILES)], QSize(320, 180))
    renderer.close()  # while rendering: waits for the picture in hand, skips the rest
    assert not renderer.running
    renderer.close()
    late: list[int] = []
    renderer.thumbnail_ready.connect(lambda b, i, image: late.append(i))
    qtbot.wait(50)
    assert late == []


# --- the panel ---------------------------------------------------------------------------------
@pytest.fixture
def panel(qtbot: QtBot) -> BrowserPanel:
    widget = BrowserPanel()
    qtbot.addWidget(widget)
    widget.resize(720, 640)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    widget.show_batch(1, [f"Var {i + 1}" for i in range(8)])
    qtbot.waitUntil(lambda: widget.tiles[0].isVisible() and widget.tiles[0].height() > 60)
    return widget


def double_click(qtbot: QtBot, widget: QWidget, pos: QPoint) -> None:
    """What a real double click sends: press and release, then a double-click event (Qt 6's
    QTest.mouseDClick on a widget sends only the last part) and its release."""
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    QTest.mouseDClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)


def picture_centre(tile: ThumbnailTile) -> QPoint:
    return tile.image_rect().center()


def test_show_batch_builds_one_placeholder_tile_per_label(
    qtbot: QtBot, panel: BrowserPanel
) -> None:
    assert [tile.label for tile in panel.tiles] == [f"Var {i + 1}" for i in range(8)]
    assert all(tile.image is None for tile in panel.tiles)
    assert panel.current_index == 0
    assert panel.tiles[0].current
    # Four columns: the fifth tile starts the second row.
    assert panel.tiles[4].x() == panel.tiles[0].x()
    assert panel.tiles[4].y() > panel.tiles[0].y()
    panel.show_batch(2, ["t=0", "t=0.5", "t=1"])
    assert [tile.label for tile in panel.tiles] == ["t=0", "t=0.5", "t=1"]
    assert panel.batch_id == 2
    with pytest.raises(ValueError, match="at most 16"):
        panel.show_batch(3, ["x"] * (MAX_TILES + 1))


def test_set_thumbnail_replaces_the_placeholder(qtbot: QtBot, panel: BrowserPanel) -> None:
    tile = panel.tiles[2]
    red = QColor("#ff0000")
    before = tile.grab().toImage().pixelColor(picture_centre(tile))
    assert before != red  # the placeholder ("rendering…") look
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(red)
    panel.set_thumbnail(1, 2, image)
    assert tile.image is image
    after = tile.grab().toImage().pixelColor(picture_centre(tile))
    assert after == red
    assert PLACEHOLDER_TEXT.endswith("…")


def test_clicking_a_tile_auditions_it_and_makes_it_current(
    qtbot: QtBot, panel: BrowserPanel
) -> None:
    tile = panel.tiles[5]
    with qtbot.waitSignal(panel.audition_requested) as blocker:
        QTest.mouseClick(
            tile, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, picture_centre(tile)
        )
    assert blocker.args == [5]
    assert panel.current_index == 5
    assert tile.current
    assert not panel.tiles[0].current
    with qtbot.waitSignal(panel.audition_requested) as blocker:
        QTest.keyClick(panel.tiles[3], Qt.Key.Key_Space)
    assert blocker.args == [3]


def test_double_click_and_enter_adopt(qtbot: QtBot, panel: BrowserPanel) -> None:
    tile = panel.tiles[6]
    with qtbot.waitSignal(panel.adopt_requested) as blocker:
        double_click(qtbot, tile, picture_centre(tile))
    assert blocker.args == [6]
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        with qtbot.waitSignal(panel.adopt_requested) as blocker:
            QTest.keyClick(panel.tiles[1], key)
        assert blocker.args == [1]


def test_arrows_move_the_current_tile(qtbot: QtBot, panel: BrowserPanel) -> None:
    auditioned: list[int] = []
    panel.audition_requested.connect(auditioned.append)
    panel.tiles[0].setFocus()
    moves = [
        (Qt.Key.Key_Right, 1),
        (Qt.Key.Key_Down, 5),
        (Qt.Key.Key_Down, 5),  # no tile 9 in a batch of 8
        (Qt.Key.Key_Left, 4),
        (Qt.Key.Key_Left, 3),  # runs on to the end of the row above
        (Qt.Key.Key_Up, 3),
        (Qt.Key.Key_Right, 4),
    ]
    for key, expected in moves:
        current = panel.current_index
        assert current is not None
        QTest.keyClick(panel.tiles[current], key)
        assert panel.current_index == expected, key
        assert [tile.current for tile in panel.tiles].count(True) == 1
    qtbot.waitUntil(lambda: panel.tiles[4].hasFocus())
    assert auditioned == []  # moving only selects


def test_the_star_and_f_ask_to_toggle_a_favourite(qtbot: QtBot, panel: BrowserPanel) -> None:
    auditioned: list[int] = []
    panel.audition_requested.connect(auditioned.append)
    tile = panel.tiles[2]
    with qtbot.waitSignal(panel.favourite_toggled) as blocker:
        QTest.mouseClick(
            tile,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            tile.star_rect().center(),
        )
    assert blocker.args == [2, True]
    assert not tile.favourite  # a request: the window decides and marks it
    panel.set_favourite_marks({2, 4})
    assert [t.favourite for t in panel.tiles] == [i in (2, 4) for i in range(8)]
    with qtbot.waitSignal(panel.favourite_toggled) as blocker:
        QTest.mouseClick(
            tile,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            tile.star_rect().center(),
        )
    assert blocker.args == [2, False]
    with qtbot.waitSignal(panel.favourite_toggled) as blocker:
        QTest.keyClick(panel.tiles[7], Qt.Key.Key_F)
    assert blocker.args == [7, True]
    assert auditioned == []


def select_rows(qtbot: QtBot, widget: QListWidget, rows: list[int]) -> None:
    """Click the first row, Ctrl+click the others."""
    for n, row in enumerate(rows):
        item = widget.item(row)
        assert item is not None
        modifier = Qt.KeyboardModifier.ControlModifier if n else Qt.KeyboardModifier.NoModifier
        QTest.mouseClick(
            widget.viewport(),
            Qt.MouseButton.LeftButton,
            modifier,
            widget.visualItemRect(item).center(),
        )


def test_interpolate_needs_exactly_two_favourites(qtbot: QtBot, panel: BrowserPanel) -> None:
    panel.set_favourites(
        [("Var 2", thumbnail_image(band(2), WIDTH, HEIGHT)), ("Var 5", None), ("t=0.5", None)]
    )
    favourites = panel.favourites_list
    assert favourites.count() == 3
    assert not favourites.item(0).icon().isNull()
    assert favourites.item(1).icon().isNull()
    assert not panel.interpolate_button.isEnabled()
    select_rows(qtbot, favourites, [0])
    assert panel.selected_favourites() == [0]
    assert not panel.interpolate_button.isEnabled()
    select_rows(qtbot, favourites, [2, 0])
    assert panel.selected_favourites() == [0, 2]
    assert panel.interpolate_button.isEnabled()
    assert panel.interpolation_steps == 5
    panel.steps_spin.setFocus()
    QTest.keyClick(panel.steps_spin, Qt.Key.Key_Up)
    QTest.keyClick(panel.steps_spin, Qt.Key.Key_Up)
    assert panel.interpolation_steps == 7
    with qtbot.waitSignal(panel.interpolate_requested) as blocker:
        QTest.mouseClick(panel.interpolate_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [0, 2, 7]
    select_rows(qtbot, favourites, [0, 1, 2])
    assert not panel.interpolate_button.isEnabled()
    # New favourites keep the rows still there selected.
    select_rows(qtbot, favourites, [0, 1])
    panel.set_favourites([("A", None), ("B", None)])
    assert panel.selected_favourites() == [0, 1]
    assert panel.interpolate_button.isEnabled()


def test_count_and_strength_feed_vary(qtbot: QtBot, panel: BrowserPanel) -> None:
    assert (panel.count, panel.strength) == (8, 0.5)
    assert panel.strength_label.text() == "50 %"
    with qtbot.waitSignal(panel.vary_requested) as blocker:
        QTest.mouseClick(panel.vary_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [8, 0.5]
    panel.count_spin.setFocus()
    QTest.keyClick(panel.count_spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(panel.count_spin, "12")
    panel.strength_slider.setFocus()
    QTest.keyClick(panel.strength_slider, Qt.Key.Key_End)
    QTest.keyClick(panel.strength_slider, Qt.Key.Key_PageDown)
    assert panel.strength_label.text() == "90 %"
    with qtbot.waitSignal(panel.vary_requested) as blocker:
        QTest.mouseClick(panel.vary_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == 12
    assert blocker.args[1] == pytest.approx(0.9)
    QTest.keyClicks(panel.count_spin, "99")  # the spin box refuses more than 16
    assert panel.count <= MAX_TILES


def test_lists_ask_to_adopt_and_remove(qtbot: QtBot, panel: BrowserPanel) -> None:
    panel.set_favourites([("A", None), ("B", None), ("C", None)])
    panel.set_history([("newest", None), ("older", None), ("oldest", None)])
    history = panel.history_list
    with qtbot.waitSignal(panel.history_adopt_requested) as blocker:
        double_click(qtbot, history.viewport(), history.visualItemRect(history.item(1)).center())
    assert blocker.args == [1]
    favourites = panel.favourites_list
    with qtbot.waitSignal(panel.favourite_adopt_requested) as blocker:
        double_click(
            qtbot, favourites.viewport(), favourites.visualItemRect(favourites.item(2)).center()
        )
    assert blocker.args == [2]
    removed: list[int] = []
    panel.favourite_removed.connect(removed.append)
    select_rows(qtbot, favourites, [0, 2])
    QTest.keyClick(favourites, Qt.Key.Key_Delete)
    assert removed == [2, 0]  # highest first, so removing one by one keeps the others valid


def test_status_line_and_playing_mark(qtbot: QtBot, panel: BrowserPanel) -> None:
    assert panel.status_text == ""
    panel.set_busy(True, "Generating 8 variations…")
    assert panel.status_text == "Generating 8 variations…"
    assert panel.status_label.isVisible()
    panel.set_busy(False, "No model is loaded")
    assert panel.status_text == "No model is loaded"
    panel.set_busy(False)
    assert not panel.status_label.isVisible()
    tile = panel.tiles[3]
    plain = tile.grab().toImage()
    panel.set_playing(3)
    assert [t.playing for t in panel.tiles] == [i == 3 for i in range(8)]
    assert tile.grab().toImage() != plain  # the playing mark shows
    panel.set_playing(None)
    assert not any(t.playing for t in panel.tiles)


def test_favourite_labels_wrap_into_sight_instead_of_running_off_the_list(
    qtbot: QtBot, panel: BrowserPanel
) -> None:
    panel.resize(470, 640)  # the dock's width beside the roll
    picture = QImage(160, 90, QImage.Format.Format_RGB32)
    picture.fill(Qt.GlobalColor.darkBlue)
    label = "Seed 7 · var 2 (50%)"
    panel.set_favourites([(label, picture), ("Seed 7 · var 5 (50%)", picture)])
    favourites = panel.favourites_list
    qtbot.waitUntil(lambda: favourites.viewport().width() > 0)
    QApplication.processEvents()
    width = favourites.viewport().width()
    assert favourites.horizontalScrollBar().maximum() == 0
    rect = favourites.visualItemRect(favourites.item(0))
    assert rect.right() <= width
    text_width = width - favourites.iconSize().width() - 12
    needed = favourites.fontMetrics().boundingRect(
        0, 0, text_width, 1000, int(Qt.TextFlag.TextWordWrap), label
    )
    assert rect.height() >= needed.height()  # every word of the label has room
