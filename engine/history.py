# SPDX-License-Identifier: MIT
"""Undo history over immutable documents, without Qt.

The editor's whole state that undo covers is one immutable value, a :class:`Document`
(pattern, locks, provenance, seed, output settings). Every edit makes a new document; the
:class:`History` records each step as a :class:`Command` holding the document before and after,
so undo and redo are swaps and can never drift from what the edit did.

A gesture that changes the document many times (a mouse drag) is one step: :meth:`History.begin`
opens a group, :meth:`History.update` shows each intermediate document at once, and
:meth:`History.commit` records one step from the document at ``begin`` to the last one
(:meth:`History.abort` goes back instead). The desktop binds its Undo and Redo actions and its
"modified" mark to :attr:`History.can_undo`, :attr:`History.undo_label`, :attr:`History.clean`
and friends, and repaints from :attr:`History.state` when the listener is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.generation.settings import Locks, OutputSettings, Provenance
from engine.music import Pattern

#: Largest seed a generation accepts (seeds are 0..2**63-1, as the composer checks).
MAX_SEED = 2**63 - 1
#: Steps kept by default; older ones are dropped.
DEFAULT_LIMIT = 500


class HistoryError(RuntimeError):
    """An operation the history cannot do now: undo with nothing to undo, a push while a group
    is open, a commit with no group open... The message says which and why."""


def _same_provenance(a: Provenance | None, b: Provenance | None) -> bool:
    """Field-by-field equality; ``bar_inputs`` (an array, which ``==`` cannot compare to a
    bool) compares by shape and exact bytes, so two records are equal only if they reproduce
    the same result."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return (
        a.model_id == b.model_id
        and a.seed == b.seed
        and a.n_bars == b.n_bars
        and a.settings == b.settings
        and a.sampling_seed == b.sampling_seed
        and a.history == b.history
        and a.locks == b.locks
        and a.bar_inputs.dtype == b.bar_inputs.dtype
        and a.bar_inputs.shape == b.bar_inputs.shape
        and a.bar_inputs.tobytes() == b.bar_inputs.tobytes()
    )


@dataclass(frozen=True, slots=True, eq=False)
class Document:
    """Everything that undo covers: one immutable value per state of the editor.

    Parameters
    ----------
    pattern : Pattern
        The notes, tracks, tempo and metre being edited.
    locks : Locks
        What a generation must keep (locked notes, bars, tracks).
    provenance : Provenance or None
        How the pattern was generated, or None for a pattern the model did not make (imported,
        drawn by hand).
    seed : int or None
        The seed shown in the seed box, 0..2**63-1, or None when there is none.
    settings : OutputSettings
        The output settings the next generation uses.

    Notes
    -----
    Two documents are equal when all their fields are; provenance compares its latents by
    exact bytes. Equality is quick where most of the value is shared: patterns made by an edit
    share the untouched tracks, which compare by identity first. A document is hashable; the
    hash leaves the provenance out.
    """

    pattern: Pattern
    locks: Locks = field(default_factory=Locks)
    provenance: Provenance | None = None
    seed: int | None = None
    settings: OutputSettings = field(default_factory=OutputSettings)

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, Pattern):
            raise ValueError(f"Document.pattern must be a Pattern, got {self.pattern!r}")
        if not isinstance(self.locks, Locks):
            raise ValueError(f"Document.locks must be Locks, got {self.locks!r}")
        if self.provenance is not None and not isinstance(self.provenance, Provenance):
            raise ValueError(
                f"Document.provenance must be a Provenance or None, got {self.provenance!r}"
            )
        if self.seed is not None and (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed <= MAX_SEED
        ):
            raise ValueError(f"Document.seed must be None or in 0..2**63-1, got {self.seed!r}")
        if not isinstance(self.settings, OutputSettings):
            raise ValueError(f"Document.settings must be OutputSettings, got {self.settings!r}")

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Document):
            return NotImplemented
        return (
            self.seed == other.seed
            and self.settings == other.settings
            and self.locks == other.locks
            and self.pattern == other.pattern
            and _same_provenance(self.provenance, other.provenance)
        )

    def __hash__(self) -> int:
        return hash((self.pattern, self.locks, self.seed, self.settings))


@dataclass(frozen=True, slots=True)
class Command:
    """One undo step: the document before and after an edit.

    Parameters
    ----------
    label : str
        What the edit did, for the menu: ``"Move notes"`` is shown as "Undo Move notes".
    before, after : Document
    """

    label: str
    before: Document
    after: Document


@dataclass(frozen=True, slots=True)
class _Group:
    label: str
    before: Document


class History:
    """Undo and redo over :class:`Document` values, with grouping and a saved mark.

    Parameters
    ----------
    state : Document
        The document to start from (nothing to undo, and clean).
    limit : int
        Most steps kept, >= 1; pushing one more drops the oldest.
    listener : callable or None
        Called with no arguments after every operation that changes anything the history
        reports: :attr:`state` (each time it changes), the steps, :attr:`clean`, or whether a
        group is open. Compare :attr:`state` by identity to skip a repaint when only the rest
        changed (a commit leaves the state as the last update made it).

    Raises
    ------
    HistoryError
        From any operation that cannot be done now (see each method); the history is then left
        as it was.
    """

    def __init__(
        self,
        state: Document,
        *,
        limit: int = DEFAULT_LIMIT,
        listener: Callable[[], None] | None = None,
    ) -> None:
        _check_document("state", state)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"History.limit must be an integer >= 1, got {limit!r}")
        self._limit = limit
        self.listener = listener
        self._reset(state)

    def _reset(self, state: Document) -> None:
        self._state = state
        #: Applied steps are ``_steps[:_index]``; the redo tail is ``_steps[_index:]``.
        self._steps: list[Command] = []
        self._index = 0
        #: The ``_index`` at which the document was saved, or None when that point is gone.
        self._clean_index: int | None = 0
        self._group: _Group | None = None

    def _changed(self) -> None:
        if self.listener is not None:
            self.listener()

    # --- what the history reports ------------------------------------------------------------
    @property
    def state(self) -> Document:
        """The current document (inside a group: the last one given to :meth:`update`)."""
        return self._state

    @property
    def limit(self) -> int:
        """Most steps kept."""
        return self._limit

    @property
    def n_undo(self) -> int:
        """Steps that :meth:`undo` can take back, one at a time."""
        return self._index

    @property
    def n_redo(self) -> int:
        """Undone steps that :meth:`redo` can make again."""
        return len(self._steps) - self._index

    @property
    def in_group(self) -> bool:
        """Whether a group (a drag) is open: between :meth:`begin` and commit or abort."""
        return self._group is not None

    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` would succeed now (never while a group is open)."""
        return self._group is None and self._index > 0

    @property
    def can_redo(self) -> bool:
        """Whether :meth:`redo` would succeed now (never while a group is open)."""
        return self._group is None and self._index < len(self._steps)

    @property
    def undo_label(self) -> str | None:
        """Label of the step :meth:`undo` would take back, or None when it cannot."""
        return self._steps[self._index - 1].label if self.can_undo else None

    @property
    def redo_label(self) -> str | None:
        """Label of the step :meth:`redo` would make again, or None when it cannot."""
        return self._steps[self._index].label if self.can_redo else None

    @property
    def clean(self) -> bool:
        """Whether the current document is the one last marked clean (saved).

        An edit makes the history dirty; undoing back to the saved point makes it clean again.
        Once the steps back to the saved point are dropped (by an edit after undoing past it, or
        by the limit), it stays dirty until :meth:`mark_clean`.
        """
        if self._clean_index != self._index:
            return False
        return self._group is None or self._state == self._group.before

    # --- steps -------------------------------------------------------------------------------
    def push(self, label: str, new_state: Document) -> bool:
        """Make ``new_state`` current as one step named ``label``.

        Drops the redo tail. Nothing happens when ``new_state`` equals the current state.

        Returns
        -------
        bool
            Whether a step was recorded.

        Raises
        ------
        HistoryError
            While a group is open (use :meth:`update` inside a group).
        """
        _check_label(label)
        _check_document("new_state", new_state)
        if self._group is not None:
            raise HistoryError(
                f"cannot push {label!r} while the group {self._group.label!r} is open: "
                "commit or abort it first"
            )
        if new_state == self._state:
            return False
        self._record(Command(label, self._state, new_state))
        self._changed()
        return True

    def _record(self, command: Command) -> None:
        del self._steps[self._index :]
        if self._clean_index is not None and self._clean_index > self._index:
            self._clean_index = None  # the saved state was in the dropped redo tail
        self._steps.append(command)
        self._index += 1
        self._state = command.after
        if len(self._steps) > self._limit:
            del self._steps[0]
            self._index -= 1
            if self._clean_index is not None:
                self._clean_index = self._clean_index - 1 if self._clean_index > 0 else None

    def undo(self) -> Command:
        """Take back the last step; returns it (its ``before`` is now the state).

        Raises
        ------
        HistoryError
            When there is nothing to undo, or while a group is open.
        """
        self._check_no_group("undo")
        if self._index == 0:
            raise HistoryError("nothing to undo")
        self._index -= 1
        command = self._steps[self._index]
        self._state = command.before
        self._changed()
        return command

    def redo(self) -> Command:
        """Make the last undone step again; returns it (its ``after`` is now the state).

        Raises
        ------
        HistoryError
            When there is nothing to redo, or while a group is open.
        """
        self._check_no_group("redo")
        if self._index == len(self._steps):
            raise HistoryError("nothing to redo")
        command = self._steps[self._index]
        self._index += 1
        self._state = command.after
        self._changed()
        return command

    # --- groups ------------------------------------------------------------------------------
    def begin(self, label: str) -> None:
        """Open a group named ``label``: the following updates become one step.

        Raises
        ------
        HistoryError
            When a group is already open.
        """
        _check_label(label)
        if self._group is not None:
            raise HistoryError(
                f"cannot begin {label!r}: the group {self._group.label!r} is still open"
            )
        self._group = _Group(label, self._state)
        self._changed()

    def update(self, new_state: Document) -> None:
        """Make ``new_state`` current inside the open group, without recording a step.

        Raises
        ------
        HistoryError
            When no group is open.
        """
        _check_document("new_state", new_state)
        if self._group is None:
            raise HistoryError("cannot update: no group is open (call begin first)")
        if new_state is self._state:
            return
        self._state = new_state
        self._changed()

    def commit(self) -> bool:
        """Close the group, recording one step from the state at :meth:`begin` to the current
        one; nothing is recorded when they are equal.

        Returns
        -------
        bool
            Whether a step was recorded.

        Raises
        ------
        HistoryError
            When no group is open.
        """
        group = self._group
        if group is None:
            raise HistoryError("cannot commit: no group is open")
        self._group = None
        recorded = self._state != group.before
        if recorded:
            self._record(Command(group.label, group.before, self._state))
        else:
            self._state = group.before
        self._changed()
        return recorded

    def abort(self) -> None:
        """Close the group and go back to the state at :meth:`begin`; nothing is recorded.

        Raises
        ------
        HistoryError
            When no group is open.
        """
        group = self._group
        if group is None:
            raise HistoryError("cannot abort: no group is open")
        self._group = None
        self._state = group.before
        self._changed()

    # --- saved mark --------------------------------------------------------------------------
    def mark_clean(self) -> None:
        """Mark the current state as saved: :attr:`clean` is true until it changes.

        Raises
        ------
        HistoryError
            While a group is open (the state is not final yet).
        """
        self._check_no_group("mark clean")
        if self._clean_index != self._index:
            self._clean_index = self._index
            self._changed()

    def reset(self, state: Document) -> None:
        """Start over from ``state`` (a project opened or made new): no steps, clean, no group."""
        _check_document("state", state)
        self._reset(state)
        self._changed()

    def _check_no_group(self, what: str) -> None:
        if self._group is not None:
            raise HistoryError(
                f"cannot {what} while the group {self._group.label!r} is open: "
                "commit or abort it first"
            )

    def __repr__(self) -> str:
        return (
            f"History(n_undo={self.n_undo}, n_redo={self.n_redo}, clean={self.clean}, "
            f"group={None if self._group is None else self._group.label!r})"
        )


def _check_document(name: str, value: object) -> None:
    if not isinstance(value, Document):
        raise TypeError(f"History: {name} must be a Document, got {type(value).__name__}")


def _check_label(label: object) -> None:
    if not isinstance(label, str):
        raise TypeError(f"History: a label must be a string, got {label!r}")
