# SPDX-License-Identifier: MIT
"""The generation worker: the model on its own thread, requests by id, stale results dropped,
errors and cancellation as signals, a UI thread that never waits, a clean shutdown."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QThread, QTimer
from pytestqt.qtbot import QtBot

from desktop.worker import GenerationService, GenerationWorker, LoadedModel, RequestBook
from engine.models import describe_model
from engine.music import Note, Pattern, Track

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 20_000
#: Enough steps that an inpaint runs far longer than any test waits (it is always cancelled).
ENDLESS_STEPS = 10_000
LeakCheck = Callable[[list[QThread]], list[str]]


def melody() -> Pattern:
    notes = [Note(i * 480, 480, 67 + i % 5) for i in range(16)]
    return Pattern([Track("Melody", notes=notes)], 4)


class Events:
    """Everything a service emits, in order, as ``(signal name, args...)`` tuples."""

    def __init__(self, service: GenerationService) -> None:
        self.log: list[tuple[Any, ...]] = []
        for name in (
            "model_ready",
            "model_failed",
            "progressed",
            "finished",
            "failed",
            "cancelled",
        ):
            getattr(service, name).connect(self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: object) -> None:
            self.log.append((name, *args))

        return record

    def about(self, request_id: int) -> list[tuple[Any, ...]]:
        """The events of one request (model events have no id)."""
        return [e for e in self.log if not e[0].startswith("model") and e[1] == request_id]

    def outcome(self, request_id: int) -> tuple[Any, ...] | None:
        """The request's finished/failed/cancelled event, or None (yet)."""
        ends = [e for e in self.about(request_id) if e[0] != "progressed"]
        assert len(ends) <= 1, f"request {request_id} ended more than once: {ends}"
        return ends[0] if ends else None

    def progress_of(self, request_id: int) -> list[tuple[Any, ...]]:
        return [e for e in self.about(request_id) if e[0] == "progressed"]


def wait_outcome(qtbot: QtBot, events: Events, request_id: int) -> tuple[Any, ...]:
    qtbot.waitUntil(lambda: events.outcome(request_id) is not None, timeout=TIMEOUT_MS)
    outcome = events.outcome(request_id)
    assert outcome is not None
    return outcome


def wait_running(qtbot: QtBot, events: Events, request_id: int, steps: int = 1) -> None:
    """Until the request has reported ``steps`` steps (so it runs on the worker)."""
    qtbot.waitUntil(lambda: len(events.progress_of(request_id)) >= steps, timeout=TIMEOUT_MS)


@pytest.fixture
def service(qtbot: QtBot, tiny_model_dir: Path) -> Iterator[GenerationService]:
    """A service with the tiny model loaded (no warm-up), shut down after the test."""
    service = GenerationService(warm_up=False)
    with qtbot.waitSignal(service.model_ready, timeout=TIMEOUT_MS):
        service.start(tiny_model_dir, device="cpu")
    yield service
    service.shutdown()


@pytest.fixture
def events(service: GenerationService) -> Events:
    return Events(service)


# --- loading ---------------------------------------------------------------------------------


def test_importing_the_worker_does_not_import_torch() -> None:
    code = (
        "import sys; import desktop.worker; "
        "assert 'torch' not in sys.modules, 'torch was imported'; "
        "assert 'engine.generation.composer' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_the_model_loads_on_the_worker_thread(
    qtbot: QtBot, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Which thread runs the load (recorded inside it: a model that loads fast would emit
    # model_ready before a connection made after start() could see it).
    loaded_on: list[int] = []
    original = GenerationWorker.load

    def load(self: GenerationWorker, *args: Any) -> None:
        loaded_on.append(threading.get_ident())
        original(self, *args)

    monkeypatch.setattr(GenerationWorker, "load", load)
    service = GenerationService(warm_up=False)
    assert not service.running
    assert service.model is None
    service.start(tiny_model_dir, device="cpu")
    try:
        with qtbot.waitSignal(service.model_ready, timeout=TIMEOUT_MS) as blocker:
            pass
        model = blocker.args[0]
        assert isinstance(model, LoadedModel)
        assert model.info.model_id == describe_model(tiny_model_dir).model_id
        assert model.info.folder == tiny_model_dir
        assert model.device == "cpu"
        assert model.load_sec > 0
        assert service.model is model
        assert service.running
        assert loaded_on
        assert loaded_on[0] != threading.get_ident()
    finally:
        service.shutdown()


def test_a_model_that_cannot_load_fails_and_the_one_before_stays(
    qtbot: QtBot, service: GenerationService, events: Events, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-model"
    before = service.model
    with qtbot.waitSignal(service.model_failed, timeout=TIMEOUT_MS) as blocker:
        service.start(missing)
    assert str(missing) in blocker.args[0]
    assert service.model is before
    request_id = service.submit("generate", seed=3)
    assert wait_outcome(qtbot, events, request_id)[0] == "finished"


def test_requests_without_a_model_fail_and_name_why(qtbot: QtBot, tmp_path: Path) -> None:
    service = GenerationService(warm_up=False)
    events = Events(service)
    try:
        with qtbot.waitSignal(service.model_failed, timeout=TIMEOUT_MS):
            service.start(tmp_path / "nothing-here")
        request_id = service.submit("generate", seed=1)
        outcome = wait_outcome(qtbot, events, request_id)
        assert outcome[0] == "failed"
        assert "no model is loaded" in str(outcome[2])
        assert "nothing-here" in str(outcome[2])
    finally:
        service.shutdown()


# --- requests --------------------------------------------------------------------------------


def test_a_generate_request_returns_a_take(
    qtbot: QtBot, service: GenerationService, events: Events, tiny_model_dir: Path
) -> None:
    from engine.generation.composer import Composer, Take

    request_id = service.submit("generate", seed=7)
    assert isinstance(request_id, int)
    name, rid, take, latency_sec = wait_outcome(qtbot, events, request_id)
    assert (name, rid) == ("finished", request_id)
    assert isinstance(take, Take)
    assert isinstance(latency_sec, float)
    assert latency_sec > 0
    # The same piece as a Composer of the same model gives on this thread.
    direct = Composer(tiny_model_dir, device="cpu", warm_up=False).generate(7)
    assert [t.notes for t in take.pattern.tracks] == [t.notes for t in direct.pattern.tracks]
    assert service.open_requests == []


def test_every_kind_of_request_is_served(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    from engine.generation.composer import Take
    from engine.generation.settings import Locks

    first = service.submit("generate", seed=5)
    take = wait_outcome(qtbot, events, first)[2]
    assert isinstance(take, Take)
    requests: dict[str, dict[str, Any]] = {
        "variations": {"seed": 5, "n": 3, "strength": 0.5},
        "interpolate": {"a": 1, "b": 2, "steps": 4},
        "regenerate": {"take": take, "bars": [1]},
        "inpaint": {"pattern": take.pattern, "locks": Locks(bars=[0]), "steps": 3},
        "accompany": {"pattern": melody(), "track": 0, "steps": 3},
    }
    ids = {kind: service.submit(kind, **params) for kind, params in requests.items()}
    results = {kind: wait_outcome(qtbot, events, i) for kind, i in ids.items()}
    assert all(r[0] == "finished" for r in results.values()), results
    assert [len(results[k][2]) for k in ("variations", "interpolate")] == [3, 4]
    for kind in ("regenerate", "inpaint", "accompany"):
        assert isinstance(results[kind][2], Take)
    # Progress only from the kinds that have steps: 1..3 of 3.
    for kind in ("inpaint", "accompany"):
        assert [e[2:] for e in events.progress_of(ids[kind])] == [(1, 3), (2, 3), (3, 3)]
    assert events.progress_of(ids["regenerate"]) == []


def test_errors_come_back_as_failed_and_the_worker_goes_on(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    bad_seed = service.submit("generate", seed=-1)
    name, _, message = wait_outcome(qtbot, events, bad_seed)
    assert name == "failed"
    assert "seed must be an integer" in str(message)

    take = wait_outcome(qtbot, events, service.submit("generate", seed=2))[2]
    bad_bar = service.submit("regenerate", take=take, bars=[99])
    name, _, message = wait_outcome(qtbot, events, bad_bar)
    assert name == "failed"
    assert "bars [99] out of range" in str(message)

    # Not a GenerationError: a parameter the method does not take.
    typo = service.submit("generate", seed=1, colour="red")
    name, _, message = wait_outcome(qtbot, events, typo)
    assert name == "failed"
    assert str(message).startswith("unexpected error (TypeError:")
    assert "colour" in str(message)

    after = service.submit("generate", seed=4)
    assert wait_outcome(qtbot, events, after)[0] == "finished"
    assert service.running


def test_bad_submissions_are_refused_at_once(qtbot: QtBot, tiny_model_dir: Path) -> None:
    service = GenerationService(warm_up=False)
    with pytest.raises(RuntimeError, match="start"):
        service.submit("generate", seed=1)
    with pytest.raises(ValueError, match="unknown request 'compose'"):
        service.submit("compose", seed=1)
    with pytest.raises(ValueError, match="progress"):
        service.submit("inpaint", progress=lambda d, t: True)
    service.shutdown()  # before start: nothing to stop
    with pytest.raises(RuntimeError, match="shut down"):
        service.start(tiny_model_dir)


# --- stale requests and cancellation ---------------------------------------------------------


def test_only_the_newest_request_of_a_slot_is_answered(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    # Keep the worker busy so the first requests are surely still queued when they go stale.
    blocker = service.submit("accompany", pattern=melody(), track=0, steps=ENDLESS_STEPS)
    wait_running(qtbot, events, blocker)
    old = [service.submit("generate", seed=s) for s in (1, 2)]
    other_slot = service.submit("generate", slot="browser", seed=3)
    newest = service.submit("generate", seed=4)
    assert service.cancel(blocker)
    assert wait_outcome(qtbot, events, newest)[0] == "finished"
    assert wait_outcome(qtbot, events, other_slot)[0] == "finished"
    assert wait_outcome(qtbot, events, blocker)[0] == "cancelled"
    qtbot.waitUntil(lambda: service.open_requests == [], timeout=TIMEOUT_MS)
    qtbot.wait(100)
    for request_id in old:
        assert events.about(request_id) == []
    assert newest == old[-1] + 2
    assert newest > other_slot


def test_a_result_made_before_a_newer_request_came_is_dropped(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    """The worker has answered (a result and an error), but the UI thread has not received
    them yet when newer requests of their slots arrive: both answers are dropped."""
    served: list[int] = []
    both = threading.Event()
    assert service._thread is not None
    worker = service._thread.worker
    assert isinstance(worker, GenerationWorker)

    def note(request_id: int, *_: object) -> None:
        served.append(request_id)
        if len(served) == 2:
            both.set()

    worker.finished.connect(note, Qt.ConnectionType.DirectConnection)
    worker.failed.connect(note, Qt.ConnectionType.DirectConnection)
    old_result = service.submit("generate", seed=1)
    old_error = service.submit("generate", slot="other", seed=-1)
    # Wait without processing events: the answers stay queued for the UI thread.
    assert both.wait(TIMEOUT_MS / 1000)
    assert served == [old_result, old_error]
    new_result = service.submit("generate", seed=2)
    new_error = service.submit("generate", slot="other", seed=-2)
    assert wait_outcome(qtbot, events, new_result)[0] == "finished"
    assert wait_outcome(qtbot, events, new_error)[0] == "failed"
    qtbot.waitUntil(lambda: service.open_requests == [], timeout=TIMEOUT_MS)
    assert events.about(old_result) == []
    assert events.about(old_error) == []


def test_a_running_request_made_stale_stops_and_says_nothing_more(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    old = service.submit("accompany", pattern=melody(), track=0, steps=ENDLESS_STEPS)
    wait_running(qtbot, events, old, steps=3)
    seen = len(events.about(old))
    new = service.submit("accompany", pattern=melody(), track=0, seed=1, steps=4)
    name, _, take, _ = wait_outcome(qtbot, events, new)
    assert name == "finished"
    assert take.provenance.history[0]["seed"] == 1
    # The old one let go (its outcome came back and was dropped) long before its last step.
    qtbot.waitUntil(lambda: service.open_requests == [], timeout=TIMEOUT_MS)
    qtbot.wait(100)
    assert len(events.about(old)) == seen
    assert all(e[0] == "progressed" and e[3] == ENDLESS_STEPS for e in events.about(old))
    assert not service.cancel(old)  # stale: nothing to cancel


def test_cancelling_an_inpaint_emits_cancelled_and_no_result(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    from engine.generation.settings import Locks

    take = wait_outcome(qtbot, events, service.submit("generate", seed=6))[2]
    request_id = service.submit(
        "inpaint", pattern=take.pattern, locks=Locks(tracks=[1]), steps=ENDLESS_STEPS
    )
    wait_running(qtbot, events, request_id, steps=2)
    assert service.cancel(request_id)
    assert wait_outcome(qtbot, events, request_id) == ("cancelled", request_id)
    steps_done = len(events.progress_of(request_id))
    assert steps_done < ENDLESS_STEPS  # stopped at a step, not at the end
    qtbot.wait(100)
    assert [e[0] for e in events.about(request_id)] == ["progressed"] * steps_done + ["cancelled"]
    assert not service.cancel(request_id)  # already answered
    assert wait_outcome(qtbot, events, service.submit("generate", seed=1))[0] == "finished"


def test_a_cancelled_request_that_has_not_started_never_runs(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    busy = service.submit("accompany", pattern=melody(), track=0, steps=ENDLESS_STEPS)
    wait_running(qtbot, events, busy)
    queued = service.submit("accompany", slot="second", pattern=melody(), track=0, steps=2)
    assert service.cancel(queued)
    assert service.cancel(busy)
    assert wait_outcome(qtbot, events, busy)[0] == "cancelled"
    assert wait_outcome(qtbot, events, queued) == ("cancelled", queued)
    assert events.progress_of(queued) == []  # skipped, not stopped


def test_a_cancel_after_the_result_was_made_still_means_cancelled(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    """The worker has made the result, but the UI thread has not received it yet: the cancel
    still wins, and the result is dropped."""
    served = threading.Event()
    assert service._thread is not None
    worker = service._thread.worker
    assert isinstance(worker, GenerationWorker)
    worker.finished.connect(lambda *_: served.set(), Qt.ConnectionType.DirectConnection)
    request_id = service.submit("generate", seed=9)
    # Wait without processing events: the result stays queued for the UI thread.
    assert served.wait(TIMEOUT_MS / 1000)
    assert events.outcome(request_id) is None
    assert service.cancel(request_id)
    assert wait_outcome(qtbot, events, request_id) == ("cancelled", request_id)
    qtbot.wait(50)
    assert [e[0] for e in events.about(request_id)] == ["cancelled"]


# --- the UI thread never waits ---------------------------------------------------------------


def test_the_ui_thread_keeps_running_while_the_worker_inpaints(
    qtbot: QtBot, tiny_model_dir: Path
) -> None:
    """A QTimer on the UI thread ticks every 10 ms while the worker optimises: no gap between
    ticks reaches 100 ms. (With the worker's warm-up, as the app loads a model.)"""
    service = GenerationService(warm_up=True)
    events = Events(service)
    with qtbot.waitSignal(service.model_ready, timeout=TIMEOUT_MS):
        service.start(tiny_model_dir, device="cpu")
    try:
        check_the_ui_thread_keeps_running(qtbot, service, events)
    finally:
        service.shutdown()


def check_the_ui_thread_keeps_running(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    ticks.append(time.perf_counter())  # a block before the first tick counts too
    request_id = service.submit(
        "accompany", pattern=melody(), track=0, candidates=16, steps=ENDLESS_STEPS
    )
    wait_running(qtbot, events, request_id)
    steps_before = len(events.progress_of(request_id))
    qtbot.wait(1000)
    timer.stop()
    steps_during = len(events.progress_of(request_id)) - steps_before
    still_running = service.cancel(request_id)
    # The UI thread ran its timer throughout (a blocked one ticks once or twice in the second;
    # how long its longest wait is, `barforge bench gui` measures).
    assert len(ticks) > 20, f"the UI thread's 10 ms timer ticked {len(ticks)} times in 1 s"
    assert steps_during > 1, "the inpaint did not run while the timer was measured"
    assert still_running
    assert wait_outcome(qtbot, events, request_id)[0] == "cancelled"


# --- shutdown --------------------------------------------------------------------------------


def test_shutdown_stops_a_running_request_and_the_thread(
    qtbot: QtBot, service: GenerationService, events: Events
) -> None:
    assert service._thread is not None
    thread = service._thread.qthread
    assert thread.isRunning()
    request_id = service.submit("accompany", pattern=melody(), track=0, steps=ENDLESS_STEPS)
    queued = service.submit("generate", seed=1)
    wait_running(qtbot, events, request_id)
    service.shutdown()
    assert not thread.isRunning()
    assert thread.isFinished()
    assert not service.running
    service.shutdown()  # twice is fine
    seen = list(events.log)
    qtbot.wait(100)
    assert events.log == seen  # nothing is emitted after shutdown
    assert events.outcome(request_id) is None
    assert events.outcome(queued) is None
    with pytest.raises(RuntimeError, match="shut down"):
        service.submit("generate", seed=1)


def test_the_leak_guard_catches_a_service_left_running(
    qtbot: QtBot, tiny_model_dir: Path, leak_check: LeakCheck
) -> None:
    service = GenerationService(warm_up=False)
    with qtbot.waitSignal(service.model_ready, timeout=TIMEOUT_MS):
        service.start(tiny_model_dir)
    assert service._thread is not None
    thread = service._thread.qthread
    problems = leak_check([thread])
    assert any("QThread is still running" in p for p in problems)
    service.shutdown()
    assert leak_check([thread]) == []


# --- the book keeping, without threads -------------------------------------------------------


def test_the_request_book_applies_the_stale_rule() -> None:
    book = RequestBook()
    a = book.open("regenerate")
    b = book.open("regenerate")
    c = book.open("inpaint")
    assert (a, b, c) == (1, 2, 3)
    assert book.should_stop(a)
    assert not book.should_stop(b)
    assert not book.should_stop(c)
    assert not book.cancel(a)  # stale already
    assert book.cancel(c)
    assert book.should_stop(c)
    assert not book.is_live(c)
    assert [book.close(i) for i in (a, b, c)] == ["stale", "live", "cancelled"]
    assert book.open_ids == []
    assert book.should_stop(b)  # answered: nothing more to do
    d = book.open("regenerate")
    book.cancel_all()
    assert book.close(d) == "cancelled"
