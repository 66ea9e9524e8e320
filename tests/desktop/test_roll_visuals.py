# SPDX-License-Identifier: MIT
"""What a new user sees in the piano roll and the track list: locked notes marked, silent
tracks dimmed, readable track names, short notes that move, a view that follows new notes.
Checked on the real widgets: their pixels (``grab()``) and the mouse (QTest)."""

from __future__ import annotations

from typing import TypeVar

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem, QWidget
from pytestqt.qtbot import QtBot

from desktop import colors
from desktop.document import EditDocument
from desktop.piano_roll_view import LOCKED_NOTE_EDGE, PianoRollView
from desktop.roll_tools import RollEditor
from desktop.track_list import NAME, TrackList
from desktop.viewport import Viewport
from engine.history import Document
from engine.music import Note, Pattern, Track
from engine.project import Project

TPQ = 480
SIXTEENTH = TPQ // 4


def image_of(widget: PianoRollView | TrackList) -> QImage:
    return widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def colours_in(image: QImage, x0: int, y0: int, x1: int, y1: int) -> set[int]:
    """The RGB values (0xRRGGBB) of the pixels in ``[x0, x1) x [y0, y1)``."""
    return {image.pixel(x, y) & 0xFFFFFF for x in range(x0, x1) for y in range(y0, y1)}


def rgb(color: QColor) -> int:
    return color.rgb() & 0xFFFFFF


def two_tracks() -> Pattern:
    return Pattern(
        [
            Track("Soprano", 0, channel=0, notes=[Note(0, 960, 64), Note(960, 960, 64)]),
            Track("Alto", 0, channel=1, notes=[Note(0, 960, 60), Note(960, 960, 60)]),
        ],
        n_bars=1,
        ticks_per_quarter=TPQ,
    )


W = TypeVar("W", bound=QWidget)


def on_screen(qtbot: QtBot, widget: W, width: int, height: int) -> W:
    """``widget`` at ``width`` x ``height``, shown and exposed (closed by qtbot)."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def roll(qtbot: QtBot) -> PianoRollView:
    return on_screen(qtbot, PianoRollView(), 900, 600)


def note_box(view: PianoRollView, note: Note) -> tuple[int, int, int, int]:
    """The pixels strictly inside a note's box: x0, y0, x1, y1."""
    x0, x1 = view.x_of(note.start), view.x_of(note.end)
    y0 = view.y_of(note.pitch)
    y1 = y0 + view.roll_rect().height() / view.viewport.n_pitches if view.viewport else y0
    return int(x0) + 1, int(y0) + 1, int(x1) - 1, int(y1) - 2


# --- 1. locked notes ------------------------------------------------------------------------


def test_locked_notes_are_outlined_hatched_and_marked(roll: PianoRollView) -> None:
    pattern = two_tracks()
    roll.set_pattern(pattern)
    assert roll.locked_notes == frozenset()
    locked, free = pattern.tracks[0].notes
    plain = image_of(roll)
    edge = rgb(LOCKED_NOTE_EDGE)
    for note in (locked, free):
        assert edge not in colours_in(plain, *note_box(roll, note))

    roll.locked_notes = frozenset({(0, locked)})
    roll.update()
    marked = image_of(roll)
    inside = colours_in(marked, *note_box(roll, locked))
    assert edge in inside  # the outline (and padlock)
    fill = rgb(colors.track_color(0))
    assert fill in inside
    assert len(inside - {fill, edge}) >= 1  # the hatch darkens part of the fill
    # Only that note changed: its neighbour on the same row, and the other track, did not.
    x0, y0, x1, y1 = note_box(roll, free)
    assert colours_in(marked, x0, y0, x1, y1) == colours_in(plain, x0, y0, x1, y1)
    alto = pattern.tracks[1].notes[0]
    assert edge not in colours_in(marked, *note_box(roll, alto))


def test_locks_on_notes_that_are_not_in_the_pattern_draw_nothing(roll: PianoRollView) -> None:
    pattern = two_tracks()
    roll.set_pattern(pattern)
    plain = image_of(roll)
    roll.locked_notes = frozenset(
        {(1, pattern.tracks[0].notes[0]), (0, Note(0, 960, 62)), (5, Note(0, 960, 64))}
    )
    roll.update()
    assert image_of(roll) == plain


def test_a_locked_note_is_drawn_in_the_dense_raster_path_too(qtbot: QtBot) -> None:
    # 2,000 notes in a 400 px wide roll: painted as one raster, the lock pass goes over it.
    notes = [Note(i * 24, 24, 60 + i % 12) for i in range(2000)]
    pattern = Pattern([Track("Many", 0, notes=notes)], n_bars=25, ticks_per_quarter=TPQ)
    view = on_screen(qtbot, PianoRollView(), 456, 400)
    view.set_pattern(pattern)
    long_note = Note(48000, 960, 72)
    pattern = Pattern(
        [Track("Many", 0, notes=[*notes, long_note])], n_bars=26, ticks_per_quarter=TPQ
    )
    view.set_pattern(pattern)
    before = colours_in(image_of(view), *note_box(view, long_note))
    view.locked_notes = frozenset({(0, long_note)})
    view.update()
    after = colours_in(image_of(view), *note_box(view, long_note))
    assert rgb(LOCKED_NOTE_EDGE) not in before
    assert rgb(LOCKED_NOTE_EDGE) in after


# --- 2. silent tracks -----------------------------------------------------------------------


def test_muted_tracks_and_tracks_silenced_by_a_solo_are_dimmed(roll: PianoRollView) -> None:
    pattern = two_tracks()
    roll.set_pattern(pattern)
    soprano, alto = pattern.tracks[0].notes[0], pattern.tracks[1].notes[0]

    def fills() -> tuple[set[int], set[int]]:
        image = image_of(roll)
        return colours_in(image, *note_box(roll, soprano)), colours_in(image, *note_box(roll, alto))

    bright0, bright1 = rgb(colors.track_color(0)), rgb(colors.track_color(1))
    assert fills() == ({bright0}, {bright1})

    roll.muted_tracks = frozenset({1})
    roll.update()
    top, bottom = fills()
    assert top == {bright0}
    assert bright1 not in bottom
    assert len(bottom) == 1
    (dim,) = bottom
    # Dimmed: closer to the background than the track's colour is.
    back = QColor(colors.ROLL_BACKGROUND)
    shown, full = QColor(dim), colors.track_color(1)
    assert shown.value() < full.value()
    assert abs(shown.value() - back.value()) < abs(full.value() - back.value())
    assert roll.silent_tracks == frozenset({1})

    roll.muted_tracks = frozenset()
    roll.soloed_tracks = frozenset({1})
    roll.update()
    top, bottom = fills()
    assert bright0 not in top
    assert bottom == {bright1}
    assert roll.silent_tracks == frozenset({0})


def name_text_colours(table: TrackList, row: int) -> set[int]:
    image = image_of(table)
    rect = table.visualRect(table.model().index(row, NAME)).translated(table.viewport().pos())
    return colours_in(image, rect.left(), rect.top(), rect.right(), rect.bottom())


def darkest(values: set[int]) -> int:
    return min(QColor(v).value() for v in values)


def test_the_track_list_dims_the_rows_of_silent_tracks(qtbot: QtBot) -> None:
    table = on_screen(qtbot, TrackList(), 640, 240)
    pattern = two_tracks()
    table.set_pattern(pattern)
    table.setCurrentCell(-1, -1)  # no highlighted row: text on the base colour
    table.clearSelection()
    normal = darkest(name_text_colours(table, 1))

    table.set_states({1}, set(), set())
    assert table.silent_tracks == frozenset({1})
    assert darkest(name_text_colours(table, 1)) > normal + 40
    assert darkest(name_text_colours(table, 0)) == normal

    table.set_states(set(), {1}, set())  # a solo on the alto silences the soprano
    assert table.silent_tracks == frozenset({0})
    assert darkest(name_text_colours(table, 0)) > normal + 40
    assert darkest(name_text_colours(table, 1)) == normal

    table.set_pattern(pattern)  # refilling keeps the dimming
    assert darkest(name_text_colours(table, 0)) > normal + 40


# --- 3. readable names ----------------------------------------------------------------------


def test_track_names_are_readable_at_the_default_splitter_width(qtbot: QtBot) -> None:
    table = on_screen(qtbot, TrackList(), 300, 240)
    names = ("Soprano", "Alto", "Electric Bass", "Kit")
    tracks = [Track(n, 33, channel=i, notes=[Note(0, 480, 40)]) for i, n in enumerate(names)]
    table.set_pattern(Pattern(tracks, n_bars=1, ticks_per_quarter=TPQ))
    qtbot.wait(10)
    metrics = table.fontMetrics()
    column_px = table.columnWidth(NAME)
    assert column_px >= metrics.horizontalAdvance("Soprano")
    # Every column fits: no horizontal scrolling hides a part of the row.
    total = sum(table.columnWidth(c) for c in range(table.columnCount()))
    assert total <= table.viewport().width()
    for row, name in enumerate(names):
        option = QStyleOptionViewItem()
        table.initViewItemOption(option)
        option.rect = table.visualRect(table.model().index(row, NAME))
        option.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay
        option.text = name
        text_rect = table.style().subElementRect(
            QStyle.SubElement.SE_ItemViewItemText, option, table
        )
        shown = metrics.elidedText(name, Qt.TextElideMode.ElideRight, text_rect.width())
        assert shown == name, f"{name!r} shows as {shown!r} in {text_rect.width()} px"


# --- 4. short notes move ----------------------------------------------------------------------


def editable_roll(qtbot: QtBot, pattern: Pattern) -> tuple[PianoRollView, EditDocument]:
    document = EditDocument()
    document.open(Project.from_document(Document(pattern)))
    view = PianoRollView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.editor = RollEditor(document, grid_ticks=SIXTEENTH)
    document.changed.connect(lambda _music: view.set_pattern(document.pattern, keep_view=True))
    view.set_pattern(document.pattern)
    view.show()
    qtbot.waitExposed(view)
    return view, document


def drag(view: PianoRollView, start: QPoint, end: QPoint) -> None:
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    middle = QPoint((start.x() + end.x()) // 2, start.y())
    QTest.mouseMove(view, middle)
    QTest.mouseMove(view, end)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def test_a_sixteenth_note_moves_from_its_middle_and_resizes_from_its_edge(
    qtbot: QtBot,
) -> None:
    short = Note(4 * TPQ, SIXTEENTH, 60)
    pattern = Pattern(
        [Track("Lead", 0, notes=[Note(0, TPQ, 64), short, Note(12 * TPQ, TPQ, 67)])],
        n_bars=8,
        ticks_per_quarter=TPQ,
    )
    view, document = editable_roll(qtbot, pattern)
    width_px = view.x_of(short.end) - view.x_of(short.start)
    assert 4 < width_px < 10  # a sixteenth at the default (fitted) zoom is a few pixels
    y = round(view.y_of(60) + 3)
    step_px = view.x_of(2 * SIXTEENTH) - view.x_of(0)

    middle = QPoint(round(view.x_of(short.start + SIXTEENTH / 2)), y)
    drag(view, middle, QPoint(round(middle.x() + step_px), y))
    moved = document.pattern.tracks[0].notes[1]
    assert (moved.start, moved.duration, moved.pitch) == (short.start + 2 * SIXTEENTH, 120, 60)

    edge = QPoint(int(view.x_of(moved.end)) - 1, y)
    assert view.tick_at(edge.x()) < moved.end
    drag(view, edge, QPoint(round(edge.x() + step_px), y))
    resized = document.pattern.tracks[0].notes[1]
    assert (resized.start, resized.duration) == (moved.start, 3 * SIXTEENTH)


# --- 5. the view follows new notes ------------------------------------------------------------


def test_a_new_pattern_out_of_view_is_scrolled_into_view(roll: PianoRollView) -> None:
    high = Pattern(
        [Track("Soprano", 0, notes=[Note(i * TPQ, TPQ, 72 + i % 5) for i in range(8)])],
        n_bars=2,
        ticks_per_quarter=TPQ,
    )
    roll.set_pattern(high)
    roll.viewport = Viewport(480.0, 2400.0, 68.0, 82.0)
    low = Pattern(
        [Track("Bass", 33, notes=[Note(i * TPQ, TPQ, 36 + i % 3) for i in range(8)])],
        n_bars=2,
        ticks_per_quarter=TPQ,
    )
    roll.set_pattern(low, keep_view=True)
    view = roll.viewport
    assert view is not None
    assert view.low_pitch <= 36  # every bass note shows
    assert view.high_pitch >= 39
    assert (view.start_tick, view.end_tick) == (480.0, 2400.0)  # time zoom kept
    image = image_of(roll)
    bass = rgb(colors.track_color(0))
    assert bass in colours_in(image, *note_box(roll, low.tracks[0].notes[2]))


def test_an_edit_that_keeps_notes_in_view_does_not_move_it(roll: PianoRollView) -> None:
    notes = [Note(i * TPQ, TPQ, 60 + i) for i in range(8)]
    pattern = Pattern([Track("Lead", 0, notes=notes)], n_bars=2, ticks_per_quarter=TPQ)
    roll.set_pattern(pattern)
    scrolled = Viewport(0.0, 1920.0, 58.0, 64.0)  # notes 60..63 show, 4 of 8
    roll.viewport = scrolled
    # An edit: one note added above the view. Half the notes were shown and still nearly are.
    edited = Pattern(
        [Track("Lead", 0, notes=[*notes, Note(3000, 120, 90)])], n_bars=2, ticks_per_quarter=TPQ
    )
    roll.set_pattern(edited, keep_view=True)
    assert roll.viewport == scrolled
    # Scrolled up to the one high note: an edit there keeps the view ...
    high = Viewport(0.0, 1920.0, 84.0, 96.0)
    roll.viewport = high
    moved = Pattern(
        [Track("Lead", 0, notes=[*notes, Note(3000, 120, 91)])], n_bars=2, ticks_per_quarter=TPQ
    )
    roll.set_pattern(moved, keep_view=True)
    assert roll.viewport == high
    # ... and undoing the note, which leaves no note in view, shows the notes again.
    roll.set_pattern(pattern, keep_view=True)
    assert roll.viewport != high
    assert roll.viewport is not None
    assert roll.viewport.low_pitch <= 60
    assert roll.viewport.high_pitch >= 68


def test_a_new_take_mostly_out_of_view_is_fitted_in_height(roll: PianoRollView) -> None:
    def take(pitches: tuple[int, ...]) -> Pattern:
        tracks = [
            Track(f"Voice {p}", 0, channel=i, notes=[Note(j * TPQ, TPQ, p) for j in range(4)])
            for i, p in enumerate(pitches)
        ]
        return Pattern(tracks, n_bars=1, ticks_per_quarter=TPQ)

    roll.set_pattern(take((70, 72, 74, 76)))  # fitted: all shown
    before = roll.viewport
    assert before is not None
    roll.set_pattern(take((40, 45, 50, 74)), keep_view=True)  # one voice of four in view
    after = roll.viewport
    assert after is not None
    assert after.low_pitch <= 40
    assert after.high_pitch >= 75
    assert (after.start_tick, after.end_tick) == (before.start_tick, before.end_tick)
