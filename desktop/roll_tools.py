# SPDX-License-Identifier: MIT
"""What the mouse and keys do in the piano roll, without Qt: a small controller over pointer
events in music coordinates (ticks, pitch rows), so every gesture is tested directly.

DAW conventions (LMMS, Ableton, FL): Draw, Select and Erase tools; Ctrl held switches to
Select; Alt held turns snapping off; in Draw a click on empty space adds a note with the last
length and velocity, a drag on a note moves it, a drag on its right edge resizes it; in Select
a drag on empty space selects with a rubber band, on a note moves the selection, and Ctrl+drag
copies it; double-click adds a note in any tool; Delete removes the selection. A whole drag is
one undo step: the controller opens a group on press, updates it while moving and commits it on
release.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from engine import editing as ed
from engine.music import Note, Pattern

TOOLS = ("draw", "select", "erase")
#: At most this part of a note (from its right end) is its resize edge, so the rest of even a
#: short note drags to move it.
MAX_EDGE_FRACTION = 1 / 3


@dataclass(frozen=True, slots=True)
class Pointer:
    """One pointer event in music coordinates.

    ``edge_ticks``: how many ticks from a note's end may count as its edge (the widget
    converts a few pixels; :func:`on_edge` caps it at a third of the note). ``alt`` disables
    snapping, ``ctrl`` selects (and copies on drag), ``shift`` adds to the selection.
    """

    tick: float
    pitch: float
    alt: bool = False
    ctrl: bool = False
    shift: bool = False
    edge_ticks: float = 0.0


def on_edge(note: Note, p: Pointer) -> bool:
    """Whether ``p`` is on ``note``'s resize edge: within ``p.edge_ticks`` of its end and in
    its last :data:`MAX_EDGE_FRACTION` (so the left and middle part always move it)."""
    zone = min(max(p.edge_ticks, 0.0), note.duration * MAX_EDGE_FRACTION)
    return note.end - p.tick <= zone


class Document(Protocol):
    """What the controller edits: a pattern with undo (the main window binds the history)."""

    @property
    def pattern(self) -> Pattern: ...

    def begin(self, label: str) -> None: ...

    def update(self, pattern: Pattern) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...

    def push(self, label: str, pattern: Pattern) -> None: ...


@dataclass(slots=True)
class _Drag:
    kind: str  # "move", "copy", "resize", "rubber", "erase"
    origin: Pointer
    base: Pattern
    refs: ed.Selection
    anchor: Note | None = None


class RollEditor:
    """The piano roll's editing state: tool, grid, active track, selection, a drag in flight.

    Parameters
    ----------
    document : Document
    grid_ticks : int
        Snap grid (a sixteenth at 480 ticks per quarter is 120).
    """

    def __init__(self, document: Document, grid_ticks: int = 120) -> None:
        self.document = document
        self.grid_ticks = grid_ticks
        self.tool = "draw"
        self.track = 0
        self.selection: ed.Selection = ed.EMPTY
        self.last_length = grid_ticks
        self.last_velocity = 100
        self.clipboard: ed.Clipboard | None = None
        #: Rubber band ``(tick0, pitch0, tick1, pitch1)`` while one is dragged, for painting.
        self.rubber: tuple[float, float, float, float] | None = None
        self._drag: _Drag | None = None
        #: Called whenever the selection changes (the widget repaints).
        self.on_change: Callable[[], None] = lambda: None

    # --- helpers -----------------------------------------------------------------------------
    @property
    def pattern(self) -> Pattern:
        return self.document.pattern

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    def _snap(self, tick: float, p: Pointer) -> int:
        return math.floor(tick) if p.alt else ed.snap_down(tick, self.grid_ticks)

    def _delta(self, ticks: float, p: Pointer) -> int:
        return round(ticks) if p.alt else ed.snap(ticks, self.grid_ticks)

    def _tracks(self) -> list[int]:
        return [self.track] if self.pattern.tracks else []

    def _select(self, refs: ed.Selection) -> None:
        self.selection = refs
        self.on_change()

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {', '.join(TOOLS)}, got {tool!r}")
        self.tool = tool

    def set_track(self, track: int) -> None:
        self.track = track
        self._select(frozenset(r for r in self.selection if r[0] == track))

    # --- pointer -----------------------------------------------------------------------------
    def press(self, p: Pointer) -> None:
        if not self.pattern.tracks or self._drag is not None:
            return
        tool = "select" if p.ctrl else self.tool
        hit = ed.note_at(self.pattern, p.tick, p.pitch, self._tracks())
        if tool == "erase":
            self.document.begin("Erase notes")
            self._drag = _Drag("erase", p, self.pattern, ed.EMPTY)
            self._erase_at(p)
            return
        if hit is not None:
            note = hit[1]
            if hit not in self.selection:
                self._select(self.selection | {hit} if p.shift else frozenset({hit}))
            if on_edge(note, p) and tool == "draw":
                self.document.begin("Resize notes")
                self._drag = _Drag("resize", p, self.pattern, self.selection, note)
            else:
                kind = "copy" if p.ctrl else "move"
                self.document.begin("Copy notes" if kind == "copy" else "Move notes")
                self._drag = _Drag(kind, p, self.pattern, self.selection, note)
            self.last_length, self.last_velocity = note.duration, note.velocity
            return
        if tool == "draw":
            self.add_at(p)
            return
        # select: a rubber band
        self._drag = _Drag("rubber", p, self.pattern, self.selection if p.shift else ed.EMPTY)
        self.rubber = (p.tick, p.pitch, p.tick, p.pitch)
        if not p.shift:
            self._select(ed.EMPTY)

    def move(self, p: Pointer) -> None:
        drag = self._drag
        if drag is None:
            return
        if drag.kind == "erase":
            self._erase_at(p)
        elif drag.kind == "rubber":
            o = drag.origin
            self.rubber = (o.tick, o.pitch, p.tick, p.pitch)
            inside = ed.notes_in_rect(
                self.pattern, o.tick, p.tick, o.pitch, p.pitch, self._tracks()
            )
            self._select(drag.refs | inside)
        elif drag.kind in ("move", "copy"):
            dt = self._delta(p.tick - drag.origin.tick, p)
            dp = math.floor(p.pitch) - math.floor(drag.origin.pitch)
            pattern, refs = ed.move_notes(drag.base, drag.refs, dt, dp, copy=drag.kind == "copy")
            self.document.update(pattern)
            self._select(refs)
        elif drag.kind == "resize":
            dt = self._delta(p.tick - drag.origin.tick, p)
            minimum = 1 if p.alt else max(1, self.grid_ticks)
            pattern, refs = ed.resize_notes(drag.base, drag.refs, dt, minimum)
            self.document.update(pattern)
            self._select(refs)
            if drag.anchor is not None:
                self.last_length = max(minimum, drag.anchor.duration + dt)

    def release(self, p: Pointer) -> None:
        drag = self._drag
        if drag is None:
            return
        self.move(p)
        self._drag = None
        self.rubber = None
        if drag.kind != "rubber":
            self.document.commit()
        self.on_change()

    def cancel(self) -> None:
        """Escape during a drag: back to how it was before the press."""
        drag = self._drag
        self._drag = None
        self.rubber = None
        if drag is not None and drag.kind != "rubber":
            self.document.abort()
            self._select(ed.existing(self.pattern, drag.refs))

    def add_at(self, p: Pointer) -> None:
        """Add a note of the last length and velocity at the pointer (one undo step)."""
        if not self.pattern.tracks:
            return
        pitch = min(127, max(0, math.floor(p.pitch)))
        start = max(0, self._snap(p.tick, p))
        if start >= self.pattern.length_ticks:
            return
        note = Note(start, max(1, self.last_length), pitch, self.last_velocity)
        pattern, refs = ed.add_note(self.pattern, self.track, note)
        self.document.push("Add note", pattern)
        self._select(refs)

    def double_click(self, p: Pointer) -> None:
        hit = ed.note_at(self.pattern, p.tick, p.pitch, self._tracks())
        if hit is None:
            self.add_at(p)

    def _erase_at(self, p: Pointer) -> None:
        hit = ed.note_at(self.pattern, p.tick, p.pitch, self._tracks())
        if hit is not None:
            self.document.update(ed.delete_notes(self.pattern, {hit}))
            self._select(self.selection - {hit})

    # --- keys --------------------------------------------------------------------------------
    def _edit(self, label: str, pattern: Pattern, refs: ed.Selection) -> None:
        if pattern != self.pattern:
            self.document.push(label, pattern)
        self._select(refs)

    def delete(self) -> None:
        if self.selection:
            self._edit("Delete notes", ed.delete_notes(self.pattern, self.selection), ed.EMPTY)

    def nudge(self, steps: int = 0, semitones: int = 0) -> None:
        """Shift+Left/Right: a grid step; Shift+Up/Down: a semitone; Ctrl+Up/Down: octave."""
        if not self.selection:
            return
        label = "Transpose notes" if semitones and not steps else "Move notes"
        pattern, refs = ed.move_notes(
            self.pattern, self.selection, steps * self.grid_ticks, semitones
        )
        self._edit(label, pattern, refs)

    def lengthen(self, steps: int) -> None:
        if self.selection:
            pattern, refs = ed.resize_notes(
                self.pattern, self.selection, steps * self.grid_ticks, self.grid_ticks
            )
            self._edit("Resize notes", pattern, refs)

    def velocity(self, value: int | None = None, delta: int = 0) -> None:
        if self.selection:
            pattern, refs = ed.set_velocity(self.pattern, self.selection, value, delta)
            self._edit("Change velocity", pattern, refs)
            if value is not None:
                self.last_velocity = value

    def select_all(self) -> None:
        tracks = self._tracks()
        self._select(frozenset((t, n) for t in tracks for n in self.pattern.tracks[t].notes))

    def copy(self) -> None:
        if self.selection:
            self.clipboard = ed.copy_notes(self.pattern, self.selection)

    def cut(self) -> None:
        if self.selection:
            self.copy()
            self._edit("Cut notes", ed.delete_notes(self.pattern, self.selection), ed.EMPTY)

    def paste(self, at_tick: float) -> None:
        """Paste the clipboard onto the active track at ``at_tick`` (snapped)."""
        if self.clipboard is None or not self.clipboard.notes or not self.pattern.tracks:
            return
        at = max(0, ed.snap_down(at_tick, self.grid_ticks))
        pattern, refs = ed.paste_notes(self.pattern, self.clipboard, at, self.track)
        self._edit("Paste notes", pattern, refs)

    def duplicate(self) -> None:
        """Ctrl+D: a copy of the selection right after it."""
        if not self.selection:
            return
        notes = [n for _, n in self.selection]
        span = max(n.end for n in notes) - min(n.start for n in notes)
        span = max(self.grid_ticks, -(-span // self.grid_ticks) * self.grid_ticks)
        pattern, refs = ed.move_notes(self.pattern, self.selection, span, 0, copy=True)
        self._edit("Duplicate notes", pattern, refs)

    def refresh(self) -> None:
        """After undo, redo or a generation: keep only selected notes that still exist."""
        self._select(ed.existing(self.pattern, self.selection))
