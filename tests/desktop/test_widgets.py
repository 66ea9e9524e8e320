# SPDX-License-Identifier: MIT
"""The track list and the velocity lane: what the composer does with them reaches the window
as requests with the right values (the window then makes them undo steps)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTableWidgetItem
from pytestqt.qtbot import QtBot

from desktop.colors import track_color
from desktop.piano_roll_view import PianoRollView
from desktop.track_list import CHANNEL, LOCK, MUTE, NAME, PROGRAM, SOLO, TrackList
from desktop.velocity_lane import VelocityLane
from engine.music import Note, Pattern, Track


def two_tracks() -> Pattern:
    return Pattern(
        [
            Track("Keys", 0, False, 0, [Note(0, 480, 60, 100), Note(960, 480, 64, 40)]),
            Track("Kit", 0, True, 9, [Note(0, 60, 36)]),
        ],
        n_bars=1,
    )


def test_track_list_edits_become_requests_and_refills_say_nothing(qtbot: QtBot) -> None:
    table = TrackList()
    qtbot.addWidget(table)
    heard: list[tuple[str, int, object]] = []
    table.rename_requested.connect(lambda i, v: heard.append(("name", i, v)))
    table.program_requested.connect(lambda i, v: heard.append(("program", i, v)))
    table.channel_requested.connect(lambda i, v: heard.append(("channel", i, v)))
    table.mute_toggled.connect(lambda i, v: heard.append(("mute", i, v)))
    table.solo_toggled.connect(lambda i, v: heard.append(("solo", i, v)))
    table.lock_toggled.connect(lambda i, v: heard.append(("lock", i, v)))
    table.set_pattern(two_tracks())
    table.set_states({1}, set(), {0})
    assert heard == []
    assert table.is_checked(1, MUTE)
    assert table.is_checked(0, LOCK)
    assert not table.is_checked(0, SOLO)

    def cell(row: int, column: int) -> QTableWidgetItem:
        item = table.item(row, column)
        assert item is not None
        return item

    cell(0, NAME).setText("Piano")
    cell(0, PROGRAM).setText("34")
    cell(0, CHANNEL).setText("3")
    cell(0, CHANNEL).setText("10")  # only drums play on 10: refused
    cell(0, NAME).setText("   ")  # an empty name: refused
    cell(1, SOLO).setCheckState(Qt.CheckState.Checked)
    cell(0, LOCK).setCheckState(Qt.CheckState.Unchecked)
    assert heard == [
        ("name", 0, "Piano"),
        ("program", 0, 33),
        ("channel", 0, 2),
        ("solo", 1, True),
        ("lock", 0, False),
    ]
    qtbot.waitUntil(lambda: table.cell_text(0, NAME) == "Keys")  # shown as it is until applied


def test_velocity_lane_drags_the_stem_under_the_pointer(qtbot: QtBot) -> None:
    roll = PianoRollView()
    roll.resize(800, 400)
    pattern = two_tracks()
    roll.set_pattern(pattern)
    lane = VelocityLane(roll)
    lane.resize(800, 120)
    qtbot.addWidget(roll)
    qtbot.addWidget(lane)
    lane.set_pattern(pattern)
    changes: list[tuple[object, int]] = []
    ended: list[bool] = []
    lane.velocity_changed.connect(lambda refs, v: changes.append((refs, v)))
    lane.velocity_drag_finished.connect(lambda: ended.append(True))
    x = round(roll.x_of(960))
    QTest.mousePress(lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 60))
    QTest.mouseMove(lane, QPoint(x, 4))
    QTest.mouseRelease(
        lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 4)
    )
    target = frozenset({(0, Note(960, 480, 64, 40))})
    assert changes[0] == (target, lane.velocity_at(60))
    assert 55 <= changes[0][1] <= 72  # the middle of the lane
    assert changes[-1] == (target, 127)  # the top
    assert ended == [True]
    # with a selection, a drag on a selected stem moves all of it
    both = frozenset((0, n) for n in pattern.tracks[0].notes)
    lane.set_selection(both)
    changes.clear()
    QTest.mouseClick(
        lane, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 110)
    )
    assert changes == [(both, lane.velocity_at(110))]


def test_velocity_lane_paints_100000_notes(qtbot: QtBot) -> None:
    notes = [Note(i * 24, 24, 40 + i % 30, 1 + i % 127) for i in range(100_000)]
    pattern = Pattern([Track("Dense", notes=notes)], n_bars=100_000 * 24 // 1920 + 1)
    roll = PianoRollView()
    roll.resize(1600, 400)
    roll.set_pattern(pattern)
    lane = VelocityLane(roll)
    lane.resize(1600, 120)
    qtbot.addWidget(roll)
    qtbot.addWidget(lane)
    lane.set_pattern(pattern)
    image = lane.grab().toImage().convertToFormat(lane.grab().toImage().Format.Format_RGB32)
    words = image.bytesPerLine() // 4
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.height() * words)
    stem = np.uint32(QColor(track_color(0)).rgb())
    assert np.count_nonzero(pixels == stem) > 10_000
