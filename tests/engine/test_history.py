# SPDX-License-Identifier: MIT
"""Undo history: steps, groups (a drag is one step), the saved mark, the limit and the
listener, checked directly and against a model (a list and an index) by a state machine."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.generation.settings import Locks, OutputSettings, Provenance
from engine.history import Command, Document, History, HistoryError
from engine.music import Note, Pattern, Track


def doc(*pitches: int, seed: int | None = None) -> Document:
    """A fresh document whose one track holds a quarter note per pitch, one after another."""
    notes = [Note(480 * i, 480, p) for i, p in enumerate(pitches)]
    return Document(Pattern([Track("piano", notes=notes)]), seed=seed)


def provenance(value: float) -> Provenance:
    return Provenance(
        model_id="tiny",
        seed=7,
        n_bars=4,
        bar_inputs=np.full((2, 4, 3), value, dtype=np.float32),
        settings=OutputSettings(),
        sampling_seed=7,
        history=({"op": "generate", "seed": 7},),
    )


# --- Document --------------------------------------------------------------------------------


def test_documents_compare_by_value_including_provenance_arrays() -> None:
    a = dataclasses.replace(doc(60), provenance=provenance(0.5))
    b = dataclasses.replace(doc(60), provenance=provenance(0.5))
    c = dataclasses.replace(doc(60), provenance=provenance(0.25))
    assert a == b
    assert hash(a) == hash(b)
    assert a != c
    assert a != dataclasses.replace(a, provenance=None)
    assert a != dataclasses.replace(a, seed=3)
    assert a != dataclasses.replace(a, locks=Locks(bars=[1]))
    assert a != dataclasses.replace(a, settings=OutputSettings(temperature=1.0))
    assert doc(60) != doc(62)
    assert {doc(60), doc(60), doc(62)} == {doc(60), doc(62)}


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"pattern": "notes"}, "pattern"),
        ({"locks": ()}, "locks"),
        ({"provenance": {}}, "provenance"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"seed": True}, "seed"),
        ({"settings": None}, "settings"),
    ],
)
def test_a_document_refuses_wrong_fields(changes: dict[str, object], field_name: str) -> None:
    with pytest.raises(ValueError, match=f"Document.{field_name}"):
        dataclasses.replace(doc(60), **changes)  # type: ignore[arg-type]


# --- steps -----------------------------------------------------------------------------------


def test_push_undo_redo_swap_states_and_report_labels() -> None:
    a, b, c = doc(), doc(60), doc(60, 62)
    history = History(a)
    assert not history.can_undo
    assert not history.can_redo
    assert history.undo_label is None
    assert history.redo_label is None
    assert history.push("Add note", b)
    assert history.push("Add another", c)
    assert history.state is c
    assert history.undo_label == "Add another"
    command = history.undo()
    assert command == Command("Add another", b, c)
    assert history.state is b
    assert history.redo_label == "Add another"
    assert history.undo_label == "Add note"
    history.undo()
    assert history.state is a
    assert not history.can_undo
    assert history.redo().after is b
    assert history.redo().after is c
    assert not history.can_redo
    assert (history.n_undo, history.n_redo) == (2, 0)


def test_pushing_an_equal_state_records_nothing() -> None:
    history = History(doc(60))
    calls: list[None] = []
    history.listener = lambda: calls.append(None)
    assert not history.push("Nothing", doc(60))  # equal, not the same object
    assert not history.can_undo
    assert calls == []


def test_a_push_drops_the_redo_tail() -> None:
    history = History(doc())
    history.push("one", doc(60))
    history.push("two", doc(60, 62))
    history.undo()
    history.push("other", doc(60, 64))
    assert not history.can_redo
    assert history.undo().label == "other"
    assert history.undo().label == "one"
    assert not history.can_undo


def test_undo_and_redo_with_nothing_to_do_raise() -> None:
    history = History(doc())
    with pytest.raises(HistoryError, match="nothing to undo"):
        history.undo()
    with pytest.raises(HistoryError, match="nothing to redo"):
        history.redo()
    assert history.state == doc()


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="limit"):
        History(doc(), limit=0)
    history = History(doc())
    with pytest.raises(TypeError, match="Document"):
        history.push("x", doc().pattern)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="label"):
        history.push(None, doc(60))  # type: ignore[arg-type]
    assert not history.can_undo


def test_the_limit_drops_the_oldest_steps() -> None:
    history = History(doc(), limit=3)
    for i in range(5):
        history.push(f"step {i}", doc(*range(60, 61 + i)))
    assert history.n_undo == 3
    labels = [history.undo().label for _ in range(3)]
    assert labels == ["step 4", "step 3", "step 2"]
    assert history.state == doc(60, 61)  # after step 1: the oldest kept "before"
    assert not history.can_undo
    assert History(doc()).limit == 500


# --- groups ----------------------------------------------------------------------------------


def test_a_drag_is_one_step() -> None:
    start = doc(60)
    history = History(start)
    history.begin("Move notes")
    assert history.in_group
    for pitch in (61, 62, 63):
        history.update(doc(pitch))
        assert history.state == doc(pitch)  # shown live
        assert history.n_undo == 0  # no step yet
    assert not history.can_undo  # not while the drag is open
    assert history.commit()
    assert not history.in_group
    assert history.n_undo == 1
    assert history.undo_label == "Move notes"
    history.undo()
    assert history.state is start
    history.redo()
    assert history.state == doc(63)


def test_a_group_that_changes_nothing_records_nothing() -> None:
    history = History(doc(60))
    history.begin("Move notes")
    history.update(doc(62))
    history.update(doc(60))  # dragged back where it was
    assert not history.commit()
    assert history.n_undo == 0
    assert history.state == doc(60)
    history.begin("Click")
    assert not history.commit()
    assert history.n_undo == 0


def test_abort_goes_back_to_the_state_at_begin() -> None:
    start = doc(60)
    history = History(start)
    history.push("first", doc(60, 62))
    history.undo()  # leave a redo tail: an aborted group must keep it
    history.begin("Move notes")
    history.update(doc(72))
    history.abort()
    assert history.state is start
    assert history.n_undo == 0
    assert history.redo_label == "first"


def test_operations_that_need_no_open_group_raise_inside_one() -> None:
    history = History(doc())
    history.push("one", doc(60))
    history.begin("Drag")
    history.update(doc(61))
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: history.push("x", doc(62)), "push"),
        (history.undo, "undo"),
        (history.redo, "redo"),
        (lambda: history.begin("again"), "begin"),
        (history.mark_clean, "mark clean"),
    ]
    for call, pattern in calls:
        with pytest.raises(HistoryError, match=pattern) as info:
            call()
        assert "'Drag'" in str(info.value)
    assert history.state == doc(61)  # still in the drag
    history.commit()
    assert history.undo_label == "Drag"


def test_group_operations_without_a_group_raise() -> None:
    history = History(doc())
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: history.update(doc(60)), "update"),
        (history.commit, "commit"),
        (history.abort, "abort"),
    ]
    for call, pattern in calls:
        with pytest.raises(HistoryError, match=f"cannot {pattern}: no group is open"):
            call()
    assert history.state == doc()


# --- saved mark ------------------------------------------------------------------------------


def test_clean_follows_the_saved_point() -> None:
    history = History(doc())
    assert history.clean
    history.push("one", doc(60))
    assert not history.clean
    history.mark_clean()
    assert history.clean
    history.push("two", doc(60, 62))
    assert not history.clean
    history.undo()
    assert history.clean  # back at the saved point
    history.undo()
    assert not history.clean
    history.redo()
    assert history.clean
    history.begin("Drag")
    assert history.clean
    history.update(doc(70))
    assert not history.clean
    history.abort()
    assert history.clean


def test_the_saved_point_is_lost_with_the_redo_tail_and_the_limit() -> None:
    history = History(doc())
    history.push("one", doc(60))
    history.mark_clean()
    history.undo()
    history.push("other", doc(61))  # the saved state was in the dropped redo tail
    history.undo()
    assert not history.clean
    history.redo()
    assert not history.clean

    limited = History(doc(), limit=2)
    limited.push("one", doc(60))
    limited.push("two", doc(61))
    limited.push("three", doc(62))  # drops the step from the saved (initial) state
    while limited.can_undo:
        limited.undo()
        assert not limited.clean


def test_reset_starts_over_clean() -> None:
    history = History(doc())
    history.push("one", doc(60))
    history.begin("Drag")
    history.reset(doc(70))
    assert history.state == doc(70)
    assert history.clean
    assert not history.in_group
    assert not history.can_undo
    assert not history.can_redo


# --- listener --------------------------------------------------------------------------------


def test_the_listener_hears_every_change() -> None:
    seen: list[tuple[Document, bool, bool]] = []
    history = History(doc())
    history.listener = lambda: seen.append((history.state, history.can_undo, history.clean))
    history.push("one", doc(60))
    assert seen[-1] == (doc(60), True, False)
    history.undo()
    assert seen[-1] == (doc(), False, True)
    history.redo()
    history.begin("Drag")
    assert seen[-1] == (doc(60), False, False)
    n = len(seen)
    history.update(doc(61))
    history.update(doc(62))
    assert [s[0] for s in seen[n:]] == [doc(61), doc(62)]
    history.commit()
    assert seen[-1] == (doc(62), True, False)
    history.mark_clean()
    assert seen[-1] == (doc(62), True, True)
    n = len(seen)
    history.mark_clean()  # nothing changes: nothing to hear
    history.push("same", doc(62))
    assert len(seen) == n


# --- the state machine -------------------------------------------------------------------------

LIMIT = 4
PITCHES = st.integers(60, 63)  # few distinct states, so equal pushes and updates happen
LABELS = st.sampled_from(["a", "b", "c"])


class HistoryMachine(RuleBasedStateMachine):
    """The history against a model: ``states[i]`` is the document after ``i`` steps,
    ``labels[i]`` the label of step ``i + 1``, ``index`` the steps applied."""

    def __init__(self) -> None:
        super().__init__()
        self.history = History(doc(), limit=LIMIT)
        self.states: list[Document] = [doc()]
        self.labels: list[str] = []
        self.index = 0
        self.clean_index: int | None = 0
        self.group: tuple[str, Document] | None = None
        self.current = doc()

    def _record(self, label: str, state: Document) -> None:
        del self.states[self.index + 1 :]
        del self.labels[self.index :]
        if self.clean_index is not None and self.clean_index > self.index:
            self.clean_index = None
        self.states.append(state)
        self.labels.append(label)
        self.index += 1
        if len(self.labels) > LIMIT:
            del self.states[0]
            del self.labels[0]
            self.index -= 1
            if self.clean_index is not None:
                self.clean_index = None if self.clean_index == 0 else self.clean_index - 1
        self.current = state

    @precondition(lambda self: self.group is None)
    @rule(label=LABELS, pitch=PITCHES)
    def push(self, label: str, pitch: int) -> None:
        state = doc(pitch)
        recorded = self.history.push(label, state)
        assert recorded == (state != self.current)
        if recorded:
            self._record(label, state)

    @precondition(lambda self: self.group is None)
    @rule()
    def undo(self) -> None:
        if self.index == 0:
            with pytest.raises(HistoryError):
                self.history.undo()
            return
        command = self.history.undo()
        self.index -= 1
        self.current = self.states[self.index]
        assert command.label == self.labels[self.index]

    @precondition(lambda self: self.group is None)
    @rule()
    def redo(self) -> None:
        if self.index == len(self.labels):
            with pytest.raises(HistoryError):
                self.history.redo()
            return
        command = self.history.redo()
        assert command.label == self.labels[self.index]
        self.index += 1
        self.current = self.states[self.index]

    @precondition(lambda self: self.group is None)
    @rule(label=LABELS)
    def begin(self, label: str) -> None:
        self.history.begin(label)
        self.group = (label, self.current)

    @precondition(lambda self: self.group is not None)
    @rule(pitch=PITCHES)
    def update(self, pitch: int) -> None:
        self.history.update(doc(pitch))
        self.current = doc(pitch)

    @precondition(lambda self: self.group is not None)
    @rule()
    def commit(self) -> None:
        assert self.group is not None
        label, before = self.group
        self.group = None
        recorded = self.history.commit()
        assert recorded == (self.current != before)
        if recorded:
            self._record(label, self.current)
        else:
            self.current = before

    @precondition(lambda self: self.group is not None)
    @rule()
    def abort(self) -> None:
        assert self.group is not None
        self.history.abort()
        self.current = self.group[1]
        self.group = None

    @precondition(lambda self: self.group is None)
    @rule()
    def mark_clean(self) -> None:
        self.history.mark_clean()
        self.clean_index = self.index

    @precondition(lambda self: self.group is not None)
    @rule(label=LABELS, pitch=PITCHES)
    def push_in_a_group_is_refused(self, label: str, pitch: int) -> None:
        with pytest.raises(HistoryError):
            self.history.push(label, doc(pitch))

    @precondition(lambda self: self.group is None)
    @rule()
    def commit_without_a_group_is_refused(self) -> None:
        with pytest.raises(HistoryError):
            self.history.commit()

    @invariant()
    def matches_the_model(self) -> None:
        h = self.history
        assert h.state == self.current
        open_group = self.group is not None
        assert h.in_group == open_group
        assert h.n_undo == self.index
        assert h.n_redo == len(self.labels) - self.index
        assert h.can_undo == (not open_group and self.index > 0)
        assert h.can_redo == (not open_group and self.index < len(self.labels))
        assert h.undo_label == (self.labels[self.index - 1] if h.can_undo else None)
        assert h.redo_label == (self.labels[self.index] if h.can_redo else None)
        at_saved = self.clean_index == self.index
        if self.group is not None:
            at_saved = at_saved and self.current == self.group[1]
        assert h.clean == at_saved
        assert self.states[self.index] == (self.group[1] if self.group else self.current)


HistoryMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_history_matches_its_model = HistoryMachine.TestCase
