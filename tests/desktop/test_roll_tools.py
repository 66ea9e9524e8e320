# SPDX-License-Identifier: MIT
"""The piano roll's gestures, without Qt: pointer events through RollEditor onto a real
undo history (desktop.document.EditDocument over engine.history)."""

from __future__ import annotations

import pytest

from desktop.document import EditDocument
from desktop.roll_tools import Pointer, RollEditor
from engine.history import Document
from engine.music import Note, Pattern, Track
from engine.project import Project

BAR = 1920


@pytest.fixture
def doc(qapp: object) -> EditDocument:
    document = EditDocument()
    pattern = Pattern(
        [
            Track("a", channel=0, notes=[Note(0, 240, 60, 90), Note(480, 240, 64, 80)]),
            Track("b", channel=1, notes=[Note(0, 960, 40)]),
        ],
        n_bars=2,
    )
    document.open(Project.from_document(Document(pattern)))
    return document


def notes(doc: EditDocument, track: int = 0) -> list[tuple[int, int, int, int]]:
    return [(n.start, n.duration, n.pitch, n.velocity) for n in doc.pattern.tracks[track].notes]


def test_draw_click_adds_a_snapped_note_with_the_last_length_and_undo_removes_it(
    doc: EditDocument,
) -> None:
    editor = RollEditor(doc, grid_ticks=120)
    editor.press(Pointer(130, 62.5))  # press on empty space adds at once
    editor.release(Pointer(130, 62.5))
    assert (120, 120, 62, 100) in notes(doc)
    assert doc.history is not None
    assert doc.history.undo_label == "Add note"
    doc.history.undo()
    assert (120, 120, 62, 100) not in notes(doc)
    editor.press(Pointer(133, 70.2, alt=True))  # Alt: no snapping
    editor.release(Pointer(133, 70.2, alt=True))
    assert (133, 120, 70, 100) in notes(doc)


def test_a_whole_drag_is_one_undo_step_and_moves_by_grid_and_semitone(doc: EditDocument) -> None:
    editor = RollEditor(doc, grid_ticks=120)
    before = doc.pattern
    editor.press(Pointer(100, 60.5))
    for tick in (150, 250, 370):
        editor.move(Pointer(tick, 62.5))
    editor.release(Pointer(370, 62.5))
    assert (240, 240, 62, 90) in notes(doc)  # +270 snapped to +240, +2 semitones
    assert doc.history is not None
    assert doc.history.n_undo == 1
    doc.history.undo()
    assert doc.pattern == before


def test_edge_drag_resizes_and_ctrl_drag_copies(doc: EditDocument) -> None:
    editor = RollEditor(doc, grid_ticks=120)
    editor.press(Pointer(235, 60.5, edge_ticks=10))
    editor.move(Pointer(475, 60.5, edge_ticks=10))
    editor.release(Pointer(475, 60.5, edge_ticks=10))
    assert (0, 480, 60, 90) in notes(doc)
    editor.press(Pointer(500, 64.5, ctrl=True))
    editor.release(Pointer(1460, 64.5, ctrl=True))
    assert (480, 240, 64, 80) in notes(doc)
    assert (1440, 240, 64, 80) in notes(doc)
    assert doc.history is not None
    assert doc.history.undo_label == "Copy notes"


def test_rubber_band_selects_and_keys_edit_the_selection(doc: EditDocument) -> None:
    editor = RollEditor(doc, grid_ticks=120)
    editor.set_tool("select")
    editor.press(Pointer(-10, 70))
    editor.move(Pointer(1000, 59))
    assert editor.rubber is not None
    editor.release(Pointer(1000, 59))
    assert {n.pitch for _, n in editor.selection} == {60, 64}
    assert editor.rubber is None
    editor.nudge(semitones=12)
    assert [p for _, _, p, _ in notes(doc)] == [72, 76]
    editor.nudge(steps=1)
    assert [s for s, _, _, _ in notes(doc)] == [120, 600]
    editor.velocity(value=33)
    assert {v for *_, v in notes(doc)} == {33}
    editor.copy()
    editor.delete()
    assert notes(doc) == []
    editor.paste(BAR)
    assert [(s, p) for s, _, p, _ in notes(doc)] == [(BAR, 72), (BAR + 480, 76)]
    editor.duplicate()
    assert len(notes(doc)) == 4
    assert doc.history is not None
    labels = []
    while doc.history.can_undo:
        labels.append(doc.history.undo_label)
        doc.history.undo()
    assert labels == [
        "Duplicate notes",
        "Paste notes",
        "Delete notes",
        "Change velocity",
        "Move notes",
        "Transpose notes",
    ]


def test_erase_drag_and_escape(doc: EditDocument) -> None:
    editor = RollEditor(doc, grid_ticks=120)
    editor.set_tool("erase")
    editor.press(Pointer(10, 60.5))
    editor.move(Pointer(500, 64.5))
    editor.release(Pointer(500, 64.5))
    assert notes(doc) == []
    assert doc.history is not None
    assert doc.history.n_undo == 1
    doc.history.undo()
    editor.set_tool("draw")
    editor.press(Pointer(10, 60.5))
    editor.move(Pointer(900, 66.5))
    editor.cancel()  # Escape: back to before the drag, no undo step
    assert (0, 240, 60, 90) in notes(doc)
    assert doc.history.n_undo == 0
    assert doc.history.can_redo
    editor.set_track(1)  # the other track is edited now
    editor.press(Pointer(10, 40.5))
    editor.release(Pointer(10, 41.5))
    assert notes(doc, 1) == [(0, 960, 41, 100)]
    with pytest.raises(ValueError, match="tool must be one of"):
        editor.set_tool("lasso")
