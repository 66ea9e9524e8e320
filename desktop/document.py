# SPDX-License-Identifier: MIT
"""The open project as the window sees it: the engine's undo history (``engine.history``) plus
what is not undone (track mute/solo/colour, favourites, view, the file), with Qt signals.

Every change of the music goes through :class:`~engine.history.History`: edits from the piano
roll (a drag is one group), generations, lock toggles. The piano roll's controller edits
through the small :class:`~desktop.roll_tools.Document` protocol this class implements.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.generation.settings import Locks
from engine.history import Document, History
from engine.music import Pattern
from engine.project import MAX_ADOPTED, Idea, Project, TrackState


class EditDocument(QObject):
    """The project being edited.

    Signals
    -------
    changed(bool)
        After every change; True when the music (the history's state) changed, False when
        only the undo steps, the clean mark or the track states did.
    """

    changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: History | None = None
        self.track_states: list[TrackState] = []
        self.favourites: list[int] = []
        #: The browser's favourite takes and adopted states (not undone; saved with the project).
        self.ideas: list[Idea] = []
        self.adopted: list[Idea] = []
        self.view: dict[str, Any] = {}
        #: The project file (None: never saved).
        self.path: Path | None = None
        self._last_state: Document | None = None
        self._force_dirty = False

    # --- what is open ------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.history is not None

    @property
    def state(self) -> Document:
        if self.history is None:
            raise RuntimeError("no project is open")
        return self.history.state

    @property
    def pattern(self) -> Pattern:
        return self.state.pattern

    @property
    def locks(self) -> Locks:
        return self.state.locks

    @property
    def dirty(self) -> bool:
        return self.history is not None and not self.history.clean

    def open(self, project: Project, path: Path | None = None, dirty: bool = False) -> None:
        """Show ``project`` (from a file, a generation or a recovery) with a fresh history."""
        self.history = History(project.document, listener=self._on_history)
        self.track_states = list(project.track_states)
        self.favourites = list(project.favourites)
        self.ideas = list(project.ideas)
        self.adopted = list(project.adopted)
        self.view = dict(project.view)
        self.path = path
        self._last_state = project.document
        # A recovered or generated project is not saved anywhere yet, though nothing was edited.
        self._force_dirty = dirty
        self.changed.emit(True)

    def close(self) -> None:
        self.history = None
        self.track_states = []
        self.ideas = []
        self.adopted = []
        self.path = None
        self._last_state = None
        self.changed.emit(True)

    def to_project(self) -> Project:
        self._sync_states()
        return Project(
            self.state,
            tuple(self.track_states),
            tuple(self.favourites),
            self.view,
            tuple(self.ideas),
            tuple(self.adopted),
        )

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self._force_dirty = False
        if self.history is not None:
            self.history.mark_clean()

    def mark_unsaved(self) -> None:
        """No file holds this project now (it was imported over what was open)."""
        self._force_dirty = True
        self.changed.emit(False)

    @property
    def unsaved(self) -> bool:
        """Changes that no file holds: edits since the last save (or a recovered project)."""
        return self.dirty or self._force_dirty

    def _on_history(self) -> None:
        history = self.history
        if history is None:
            return
        state = history.state
        music = state is not self._last_state
        self._last_state = state
        if music:
            self._sync_states()
        self.changed.emit(music)

    def _sync_states(self) -> None:
        """One track state per track (a generation may change the number of tracks); the
        lock toggles follow the document's locked tracks."""
        if self.history is None:
            return
        n = len(self.history.state.pattern.tracks)
        states = self.track_states[:n] + [TrackState()] * (n - len(self.track_states))
        locked = self.history.state.locks.tracks
        self.track_states = [
            dataclasses.replace(s, lock=i in locked) if s.lock != (i in locked) else s
            for i, s in enumerate(states)
        ]

    # --- the roll_tools.Document protocol ----------------------------------------------------
    def begin(self, label: str) -> None:
        self._history().begin(label)

    def update(self, pattern: Pattern) -> None:
        history = self._history()
        history.update(dataclasses.replace(history.state, pattern=pattern))

    def commit(self) -> None:
        self._history().commit()

    def abort(self) -> None:
        self._history().abort()

    def push(self, label: str, pattern: Pattern) -> None:
        history = self._history()
        history.push(label, dataclasses.replace(history.state, pattern=pattern))

    # --- other undoable changes --------------------------------------------------------------
    def push_state(self, label: str, state: Document) -> None:
        self._history().push(label, state)

    def set_locks(self, label: str, locks: Locks) -> None:
        history = self._history()
        history.push(label, dataclasses.replace(history.state, locks=locks))

    def set_track_state(self, index: int, **changes: Any) -> None:
        """Mute, solo or colour of one track (not undone, like a mixer's buttons)."""
        self._sync_states()
        self.track_states[index] = dataclasses.replace(self.track_states[index], **changes)
        self.changed.emit(False)

    def set_ideas(self, ideas: list[Idea]) -> None:
        """The browser's favourites changed: not undone, but the project now has unsaved
        changes (closing asks to save them)."""
        self.ideas = list(ideas)
        self._force_dirty = True
        self.changed.emit(False)

    def note_adopted(self, idea: Idea) -> None:
        """Record a state adopted from the browser (after pushing it as an undo step)."""
        self.adopted = [*self.adopted, idea][-MAX_ADOPTED:]

    def _history(self) -> History:
        if self.history is None:
            raise RuntimeError("no project is open")
        return self.history
