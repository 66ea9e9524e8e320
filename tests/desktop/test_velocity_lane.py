# SPDX-License-Identifier: MIT
"""The velocity lane: alignment with the roll, hits, drags and the signals they emit, and
painting from numpy (100,000 notes)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPaintEvent
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from desktop import colors
from desktop.piano_roll_view import PianoRollView
from desktop.velocity_lane import TOP_PX, VelocityLane
from desktop.viewport import Viewport
from engine.editing import NoteRef
from engine.music import Note, Pattern, Track

#: The roll is 656 px wide: 56 of keyboard, then 600 px of notes. The view shows 1920 ticks,
#: so a tick is 600 / 1920 px and ticks 0, 480, 960, 1440 lie at x = 56, 206, 356, 506.
ROLL_WIDTH = 656
#: The lane is 137 px tall: 6 px above velocity 127, 4 px below 0, so its 127 px are one per
#: velocity step and the velocity under y is 133 - y.
LANE_HEIGHT = 137
VIEW = Viewport(0, 1920, 40, 80)


def x_at(tick: int) -> float:
    return 56 + tick * 600 / 1920


def melody() -> Pattern:
    """Track 0: a few notes, one a chord of two; track 1 elsewhere."""
    notes = [
        Note(0, 240, 60, 100),
        Note(480, 240, 62, 40),
        Note(480, 240, 67, 110),
        Note(960, 240, 64, 70),
        Note(1440, 240, 65, 20),
    ]
    other = [Note(240, 240, 48, 90)]
    return Pattern([Track("Melody", notes=notes), Track("Bass", 33, False, 1, other)], n_bars=2)


def ref(tick: int, pitch: int) -> NoteRef:
    note = next(n for n in melody().tracks[0].notes if (n.start, n.pitch) == (tick, pitch))
    return (0, note)


class Lane(VelocityLane):
    """Counts its paints and records its signals."""

    n_paints = 0

    def __init__(self, roll: PianoRollView) -> None:
        super().__init__(roll)
        self.calls: list[tuple[object, ...]] = []
        self.velocity_drag_started.connect(lambda: self.calls.append(("started",)))
        self.velocity_changed.connect(lambda refs, v: self.calls.append(("changed", refs, v)))
        self.velocity_drag_finished.connect(lambda: self.calls.append(("finished",)))

    def paintEvent(self, event: QPaintEvent) -> None:
        self.n_paints += 1
        super().paintEvent(event)


@pytest.fixture
def roll(qtbot: QtBot) -> PianoRollView:
    view = PianoRollView()
    qtbot.addWidget(view)
    view.resize(ROLL_WIDTH, 300)
    view.set_pattern(melody())
    view.viewport = VIEW
    return view


@pytest.fixture
def lane(qtbot: QtBot, roll: PianoRollView) -> Lane:
    widget = Lane(roll)
    qtbot.addWidget(widget)
    widget.resize(ROLL_WIDTH, LANE_HEIGHT)
    widget.set_pattern(roll.pattern)
    widget.set_track(0)
    return widget


def drag(lane: VelocityLane, x: float, ys: list[float]) -> None:
    """Press at ``(x, ys[0])``, move through the other ys, release at the last."""
    points = [QPointF(x, y).toPoint() for y in ys]
    QTest.mousePress(lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    for point in points[1:]:
        QTest.mouseMove(lane, point)
    QTest.mouseRelease(lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def pixel(image: QImage, x: float, y: float) -> QColor:
    return image.pixelColor(int(x), int(y))


# --- geometry --------------------------------------------------------------------------------


def test_geometry_matches_the_roll(lane: Lane, roll: PianoRollView) -> None:
    rect = lane.lane_rect()
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == (56, TOP_PX, 600, 127)
    for tick in (0, 480, 1000, 1919):
        assert lane.x_of(tick) == pytest.approx(roll.x_of(tick))
        assert lane.x_of(tick) == pytest.approx(x_at(tick))
    assert lane.tick_at(356) == pytest.approx(960)
    assert [lane.velocity_at(y) for y in (133, 132, 69, 37, 6, -40, 200)] == [
        1,
        1,
        64,
        96,
        127,
        127,
        1,
    ]
    assert lane.y_of(96) == pytest.approx(37)
    roll.viewport = Viewport(960, 1920, 40, 80)  # zoomed in: the lane follows
    assert lane.x_of(1440) == pytest.approx(roll.x_of(1440)) == pytest.approx(356)


def test_stem_hits(lane: Lane) -> None:
    assert lane.stem_at(x_at(0) + 3, 100) == ref(0, 60)
    assert lane.stem_at(x_at(0) + 8, 100) is None  # farther than HIT_PX
    assert lane.stem_at(x_at(240), 100) is None  # the other track's note is not shown
    # A chord: both stems at one x; the one whose top is nearer to the pointer is hit.
    assert lane.stem_at(x_at(480), lane.y_of(110) + 2) == ref(480, 67)
    assert lane.stem_at(x_at(480), lane.y_of(40) - 2) == ref(480, 62)
    lane.set_track(1)
    assert lane.stem_at(x_at(240), 100) == (1, melody().tracks[1].notes[0])
    lane.set_track(5)
    assert lane.stem_at(x_at(240), 100) is None


# --- dragging --------------------------------------------------------------------------------


def test_dragging_an_unselected_stem_sets_its_velocity(lane: Lane) -> None:
    lane.set_selection(frozenset({ref(0, 60)}))
    target = frozenset({ref(960, 64)})
    drag(lane, x_at(960) + 1, [60, 50, 50, 20, -30, 300])
    assert lane.calls == [
        ("started",),
        ("changed", target, 73),  # pressed at y 60: 133 - 60
        ("changed", target, 83),
        ("changed", target, 113),  # the second move to y 50 changed nothing: no signal
        ("changed", target, 127),  # above the lane: the loudest
        ("changed", target, 1),  # below it: the softest
        ("finished",),
    ]
    assert not lane.dragging


def test_dragging_a_selected_stem_moves_the_selection(lane: Lane) -> None:
    selection = frozenset({ref(0, 60), ref(960, 64), ref(1440, 65)})
    lane.set_selection(selection)
    drag(lane, x_at(1440) - 2, [120, 33])
    assert lane.calls == [
        ("started",),
        ("changed", selection, 13),
        ("changed", selection, 100),
        ("finished",),
    ]


def test_between_selected_stems_drags_the_selection(lane: Lane) -> None:
    selection = frozenset({ref(0, 60), ref(960, 64)})
    lane.set_selection(selection)
    drag(lane, x_at(720), [80])  # no stem here, but inside the selection's span
    assert lane.calls == [("started",), ("changed", selection, 53), ("finished",)]
    lane.calls.clear()
    drag(lane, x_at(1200), [80])  # right of the selection, no stem: nothing
    lane.set_selection(frozenset())
    drag(lane, x_at(720), [80])
    QTest.mouseClick(
        lane,
        Qt.MouseButton.RightButton,
        Qt.KeyboardModifier.NoModifier,
        QPointF(x_at(960), 80).toPoint(),
    )
    assert lane.calls == []


def test_clicking_a_chord_stem_picks_by_height(lane: Lane) -> None:
    drag(lane, x_at(480), [lane.y_of(40) - 1])
    assert lane.calls[1] == ("changed", frozenset({ref(480, 62)}), 41)
    lane.calls.clear()
    drag(lane, x_at(480), [lane.y_of(110) + 1])
    assert lane.calls[1] == ("changed", frozenset({ref(480, 67)}), 109)


# --- painting --------------------------------------------------------------------------------


def test_stems_are_painted_where_the_roll_shows_the_notes(lane: Lane, roll: PianoRollView) -> None:
    color = colors.track_color(0)
    image = lane.grab().toImage()
    for tick, velocity in ((0, 100), (960, 70), (1440, 20)):
        x = x_at(tick) + 0.5
        assert pixel(image, x, lane.y_of(velocity) + 2) == color
        assert pixel(image, x, lane.y_of(velocity) - 3) != color
    assert pixel(image, x_at(240) + 0.5, lane.y_of(10)) != colors.track_color(1)
    lane.set_selection(frozenset({ref(960, 64)}))
    image = lane.grab().toImage()
    assert pixel(image, x_at(960) + 0.5, lane.y_of(70) + 2) == colors.SELECTED_EDGE
    assert pixel(image, x_at(0) + 0.5, lane.y_of(100) + 2) == color
    # Scrolled: the stems move with the roll.
    roll.viewport = Viewport(480, 2400, 40, 80)
    image = lane.grab().toImage()
    assert pixel(image, x_at(960 - 480) + 0.5, lane.y_of(70) + 2) == colors.SELECTED_EDGE
    assert pixel(image, x_at(1440 - 480) + 0.5, lane.y_of(20) + 2) == color


def test_lane_repaints_when_the_roll_moves(qtbot: QtBot, lane: Lane, roll: PianoRollView) -> None:
    roll.show()
    lane.show()
    qtbot.waitExposed(lane)
    qtbot.waitUntil(lambda: lane.n_paints > 0)
    qtbot.wait(20)
    before = lane.n_paints
    roll.viewport = Viewport(100, 1100, 40, 80)  # the roll repaints; the lane follows
    qtbot.waitUntil(lambda: lane.n_paints > before)
    settled = lane.n_paints
    roll.repaint()  # a repaint that changes nothing does not repaint the lane
    qtbot.wait(30)
    assert lane.n_paints == settled


def big_track_pattern(n_notes: int) -> Pattern:
    """One track of ``n_notes`` notes, one every 24 ticks, velocities cycling 1..127."""
    notes = [Note(i * 24, 24, 36 + (i * 7) % 48, 1 + i % 127) for i in range(n_notes)]
    n_bars = n_notes * 24 // 1920 + 1
    return Pattern([Track("Many", notes=notes)], n_bars=n_bars)


def count(image: QImage, color: QColor) -> int:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    words = image.bytesPerLine() // 4
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.height() * words)
    pixels = pixels.reshape(image.height(), words)[:, : image.width()]
    return int(np.count_nonzero(pixels == np.uint32(color.rgb())))


def test_paints_100k_notes_as_stems_and_selections(qtbot: QtBot) -> None:
    pattern = big_track_pattern(100_000)
    roll = PianoRollView()
    qtbot.addWidget(roll)
    roll.resize(ROLL_WIDTH, 300)
    roll.set_pattern(pattern)
    lane = VelocityLane(roll)
    qtbot.addWidget(lane)
    lane.resize(ROLL_WIDTH, LANE_HEIGHT)
    lane.set_pattern(pattern)
    lane.set_track(0)
    color = colors.track_color(0)

    # How fast it paints is `barforge bench gui`'s to measure; here, that it paints right.
    image = lane.grab().toImage()  # the whole pattern: ~167 notes per pixel column
    # Every column holds some loud note: the stems fill the lane almost to the top.
    rows = [count(image.copy(0, int(lane.y_of(v)), ROLL_WIDTH, 1), color) for v in (126, 64, 2)]
    assert all(r >= 590 for r in rows), rows

    # Zoomed in on 40 notes: one 3-pixel stem each, as tall as its velocity.
    roll.viewport = Viewport(24_000, 24_960, 30, 90)
    image = lane.grab().toImage()
    for i in range(1000, 1040):
        x, velocity = lane.x_of(i * 24) + 0.5, 1 + i % 127
        assert pixel(image, x, lane.y_of(velocity) + 0.5) == color
        assert pixel(image, x, lane.y_of(velocity) - 2) != color
    hit = lane.stem_at(lane.x_of(1010 * 24), 100)
    assert hit == (0, pattern.tracks[0].notes[1010])

    # A selection of many notes paints over them in its own colour.
    lane.set_selection(frozenset((0, n) for n in pattern.tracks[0].notes[::2]))
    roll.fit_to_pattern()
    image = lane.grab().toImage()
    assert count(image, colors.SELECTED_EDGE) > 590 * 100
