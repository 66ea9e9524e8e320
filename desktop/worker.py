# SPDX-License-Identifier: MIT
"""The generation worker: the model runs on a thread of its own, so the window never waits.

One long-lived :class:`GenerationWorker` lives on its own QThread and owns the engine (the
:class:`~engine.generation.composer.Composer`, and with it torch). It imports
``engine.generation.composer`` only inside that thread, when the first model loads, so
importing this module (and showing the window) does not import torch.

The UI talks to it through a :class:`GenerationService`, which lives on the UI thread, owns
the thread and re-emits the worker's news there. Nothing on the UI thread ever waits for the
worker, except :meth:`GenerationService.shutdown` (which first asks the running request to
stop)::

    service = GenerationService()
    service.model_ready.connect(...)
    service.finished.connect(show_take)          # (request_id, result, latency_sec)
    service.failed.connect(show_error)           # (request_id, message)
    service.start(model_dir)
    request_id = service.submit("regenerate", take=take, bars=[2])
    ...
    service.shutdown()                           # on close; safe to call twice

Requests and slots
------------------
Every request has an id (1, 2, ...) and a *slot*: by default its kind, or any name given as
``slot=``. The stale rule: **submitting a request makes every older request of its slot
stale.** A stale request is skipped if it has not started, stops at its next progress check
if it is running (inpaint and accompany check after every step; the other kinds take
milliseconds and run to the end), and nothing is ever emitted for it again: no
``progressed``, ``finished``, ``failed`` or ``cancelled``. The UI submitted the newer request,
so it knows. Every other request ends with exactly one of ``finished``, ``failed`` or
``cancelled``, on the UI thread, in the order the worker served them.

:meth:`GenerationService.cancel` flags a request; from then on ``finished`` and ``failed`` are
never emitted for it, and ``cancelled`` is, once the worker has let go of it (it skipped it,
stopped it, or it was done already). After :meth:`GenerationService.shutdown` nothing at all
is emitted.

Loading a model calls :func:`gc.freeze` (process-wide): the objects alive then (torch's
modules, the model) are left out of later garbage collections, which otherwise hold the GIL
for 130-150 ms each and stall the UI thread during an inpaint (see
:meth:`GenerationWorker.load`).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING, Any, Final

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

from desktop.threads import ThreadWorker, WorkerThread
from engine.gan.errors import CheckpointError
from engine.generation.errors import GenerationCancelled
from engine.generation.settings import Locks
from engine.models import ModelInfo

if TYPE_CHECKING:
    from engine.generation.composer import Composer

#: The Composer methods a request can call.
KINDS: Final = (
    "generate",
    "variations",
    "interpolate",
    "blend",
    "regenerate",
    "inpaint",
    "accompany",
)
#: The kinds that report progress and can stop part-way (the others run to the end).
STOPPABLE_KINDS: Final = ("inpaint", "accompany")

_log = logging.getLogger(__name__)
_QUEUED = Qt.ConnectionType.QueuedConnection


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """What :attr:`GenerationService.model_ready` tells about the model now in use.

    Attributes
    ----------
    info : ModelInfo
        Its folder, config and id.
    device : str
        Where it runs (``"cpu"``, ``"cuda"``...).
    load_sec : float
        Seconds until it could generate (with importing torch the first time and warming up
        generation; inpainting warms up after ``model_ready``).
    """

    info: ModelInfo
    device: str
    load_sec: float


@dataclass(frozen=True, slots=True, eq=False)
class Request:
    """One request as the worker receives it; ``params`` are the Composer method's keyword
    arguments, ``submitted_at`` a :func:`time.perf_counter` reading, ``then`` what to make of
    the result on the worker thread before it is sent (None: send it as it is)."""

    request_id: int
    kind: str
    slot: str
    params: Mapping[str, Any]
    submitted_at: float
    then: Callable[[Any], Any] | None = None


class RequestBook:
    """Which requests are still wanted: shared by the UI thread (which opens, cancels and
    closes them) and the worker thread (which asks whether to go on), under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = count(1)
        self._newest: dict[str, int] = {}  # slot -> id of its newest request
        self._slot_of: dict[int, str] = {}  # open request id -> slot
        self._cancelled: set[int] = set()

    def open(self, slot: str) -> int:
        """A fresh id in ``slot``; every older request of ``slot`` becomes stale."""
        with self._lock:
            request_id = next(self._ids)
            self._newest[slot] = request_id
            self._slot_of[request_id] = slot
            return request_id

    def cancel(self, request_id: int) -> bool:
        """Flag an open request; returns whether it was open (and not stale)."""
        with self._lock:
            if not self._is_current(request_id):
                return False
            self._cancelled.add(request_id)
            return True

    def cancel_all(self) -> None:
        with self._lock:
            self._cancelled.update(self._slot_of)

    def should_stop(self, request_id: int) -> bool:
        """Whether the worker should skip or stop the request (stale, cancelled or closed)."""
        with self._lock:
            return request_id in self._cancelled or not self._is_current(request_id)

    def is_live(self, request_id: int) -> bool:
        """Open, current and not cancelled: its progress is worth showing."""
        return not self.should_stop(request_id)

    def close(self, request_id: int) -> str:
        """Forget the request; returns how its outcome is to be told: ``"stale"`` (drop it),
        ``"cancelled"`` (tell it as cancelled, whatever it was) or ``"live"`` (tell it)."""
        with self._lock:
            current = self._is_current(request_id)
            self._slot_of.pop(request_id, None)
            if request_id in self._cancelled:
                self._cancelled.discard(request_id)
                return "cancelled" if current else "stale"
            return "live" if current else "stale"

    @property
    def open_ids(self) -> list[int]:
        """Requests submitted and not yet answered (stale ones included), oldest first."""
        with self._lock:
            return sorted(self._slot_of)

    def _is_current(self, request_id: int) -> bool:
        slot = self._slot_of.get(request_id)
        return slot is not None and self._newest.get(slot) == request_id


def describe_error(error: Exception) -> str:
    """A message for the user: a request the engine refused says why itself (GenerationError
    and the other ValueErrors); anything else is named as unexpected."""
    if isinstance(error, CheckpointError):
        return f"{error.path}: {error.reason}"
    if isinstance(error, ValueError):
        return str(error)
    return f"unexpected error ({type(error).__name__}: {error})"


class GenerationWorker(ThreadWorker):
    """Owns the Composer; lives on the service's thread and serves one request at a time.

    Its slots run on that thread (the service posts to them with queued signals); its signals
    carry every request's outcome, stale ones included: the service filters them.
    """

    model_ready = Signal(object)  # LoadedModel
    model_failed = Signal(str)
    progressed = Signal(int, int, int)  # request id, done, total
    finished = Signal(int, object, float)  # request id, Take or list of Take, latency_sec
    failed = Signal(int, str)  # request id, message
    cancelled = Signal(int)  # request id (skipped or stopped)

    def __init__(self, book: RequestBook, warm_up: bool = True) -> None:
        super().__init__()
        self._book = book
        self._warm_up = warm_up
        self._composer: Composer | None = None
        self._load_error: str | None = None

    @Slot(object, object)
    def load(self, model_dir: str | os.PathLike[str] | None, device: str | None) -> None:
        """Load the model (None: the default one); a failure keeps the model loaded before."""
        started = time.perf_counter()
        try:
            from engine.generation.composer import Composer  # torch, on this thread only

            gc.freeze()  # torch's modules: see below
            composer = Composer(model_dir, device=device, warm_up=self._warm_up)
        except Exception as error:
            self._load_error = describe_error(error)
            if not isinstance(error, CheckpointError | ValueError):
                _log.exception("loading the model %s failed", model_dir)
            self.model_failed.emit(self._load_error)
            return
        self._composer = composer
        self._load_error = None
        info = ModelInfo(composer.model_dir, composer.config, composer.model_id)
        # Ready to generate: say so now. The inpaint warm-up below takes as long again (on the
        # project's CPUs 1.3 s against 1.7 s for importing torch and loading); a request sent
        # meanwhile waits for it, as it would for any request before it.
        self.model_ready.emit(
            LoadedModel(info, str(composer.device), time.perf_counter() - started)
        )
        if self._warm_up:
            # The first optimisation imports some 800 more modules (torch's optimiser and
            # compiler machinery): do it now, not in the first inpaint the user asks for.
            try:
                composer.inpaint(
                    composer.generate(0).pattern, Locks(bars=[0]), candidates=1, steps=1
                )
            except Exception:  # the first real inpaint will say what is wrong
                _log.exception("warming up inpainting with %s failed", model_dir)
        # A full garbage collection scans every object (some 300k once torch and its optimiser
        # are loaded) and holds the GIL meanwhile: 130-150 ms on the project's machines, a
        # stall of the UI thread (and of live playback) that an inpaint's allocations trigger
        # about every second. What is alive now (modules, the model) lives as long as the app:
        # move it out of the collector's way, so that later collections scan only what was made
        # since. (No gc.collect() first: it would be one such stall.)
        gc.freeze()

    @Slot(object)
    def run(self, request: Request) -> None:
        """Serve one request; every exception becomes ``failed``, the worker goes on."""
        request_id = request.request_id
        if self._book.should_stop(request_id):
            self.cancelled.emit(request_id)
            return
        if self._composer is None:
            why = f" ({self._load_error})" if self._load_error else ""
            self.failed.emit(request_id, f"{request.kind}: no model is loaded{why}")
            return
        params = dict(request.params)
        if request.kind in STOPPABLE_KINDS:

            def progress(done: int, total: int) -> bool:
                self.progressed.emit(request_id, done, total)
                return not self._book.should_stop(request_id)

            params["progress"] = progress
        try:
            result = getattr(self._composer, request.kind)(**params)
            if request.then is not None:
                result = request.then(result)
        except GenerationCancelled:
            self.cancelled.emit(request_id)
        except Exception as error:
            if not isinstance(error, ValueError):
                _log.exception("request %d (%s) failed", request_id, request.kind)
            self.failed.emit(request_id, describe_error(error))
        else:
            self.finished.emit(request_id, result, time.perf_counter() - request.submitted_at)


class GenerationService(QObject):
    """The UI's handle on the worker: owns its thread, posts requests, re-emits the outcomes
    on the UI thread (dropping stale ones, see the module's docstring).

    Parameters
    ----------
    parent : QObject, optional
    warm_up : bool
        Run a generation, a regeneration and a one-step inpaint when a model loads, so that the
        first request of each kind is as fast as the others (and the modules torch loads for
        them are in place before :func:`gc.freeze`, see :meth:`GenerationWorker.load`).

    Signals
    -------
    model_ready(LoadedModel)
        A model loaded; requests use it from now on.
    model_failed(str)
        A model could not be loaded (the message says which and why); the one before stays.
    progressed(int, int, int)
        ``(request_id, done, total)`` of a running inpaint or accompany, after each step.
    finished(int, object, float)
        ``(request_id, result, latency_sec)``: the Composer method's result (a Take, or a list
        of them for variations and interpolate); seconds from :meth:`submit` until it was
        ready.
    failed(int, str)
        ``(request_id, message)``: the engine refused the request or failed; a message for the
        user. The worker goes on serving.
    cancelled(int)
        ``request_id`` after :meth:`cancel`, once the worker has let go of it.
    """

    model_ready = Signal(object)
    model_failed = Signal(str)
    progressed = Signal(int, int, int)
    finished = Signal(int, object, float)
    failed = Signal(int, str)
    cancelled = Signal(int)

    _load_requested = Signal(object, object)
    _run_requested = Signal(object)

    def __init__(self, parent: QObject | None = None, warm_up: bool = True) -> None:
        super().__init__(parent)
        self._book = RequestBook()
        self._warm_up = warm_up
        self._thread: WorkerThread | None = None
        self._stopped = False
        self._model: LoadedModel | None = None

    # --- state ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the worker thread runs (after :meth:`start`, until :meth:`shutdown`)."""
        return self._thread is not None and self._thread.running

    @property
    def model(self) -> LoadedModel | None:
        """The model in use, as :attr:`model_ready` last told it; None before."""
        return self._model

    @property
    def open_requests(self) -> list[int]:
        """Ids submitted whose outcome has not come back yet (stale ones included)."""
        return self._book.open_ids

    # --- commands -------------------------------------------------------------------------
    def start(
        self, model_dir: str | os.PathLike[str] | None = None, device: str | None = None
    ) -> None:
        """Start the worker thread (the first time) and load the model there; returns at once.

        ``model_ready`` or ``model_failed`` follows. Calling it again loads another model;
        requests submitted before run with the model before.
        """
        if self._stopped:
            raise RuntimeError("the generation service was shut down")
        if self._thread is None:
            worker = GenerationWorker(self._book, self._warm_up)
            self._load_requested.connect(worker.load, _QUEUED)
            self._run_requested.connect(worker.run, _QUEUED)
            worker.model_ready.connect(self._on_model_ready, _QUEUED)
            worker.model_failed.connect(self._on_model_failed, _QUEUED)
            worker.progressed.connect(self._on_progressed, _QUEUED)
            worker.finished.connect(self._on_finished, _QUEUED)
            worker.failed.connect(self._on_failed, _QUEUED)
            worker.cancelled.connect(self._on_cancelled, _QUEUED)
            app = QCoreApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(self.shutdown)
            self._thread = WorkerThread("barforge-generation", worker)
        self._load_requested.emit(model_dir, device)

    def submit(
        self,
        kind: str,
        *,
        slot: str | None = None,
        then: Callable[[Any], Any] | None = None,
        **params: Any,
    ) -> int:
        """Post a request to call ``Composer.<kind>(**params)``; returns its id at once.

        ``slot`` (default: ``kind``) names the slot whose older requests this one makes stale.
        ``then(result)``, when given, runs on the worker thread after the call, and what it
        returns is what ``finished`` carries (work that should not load the UI thread, such as
        drawing thumbnails; it must not touch widgets or other UI-thread objects).
        Parameters are checked by the engine, on the worker thread: a bad one comes back as
        ``failed``.

        Raises
        ------
        ValueError
            For an unknown kind, or a ``progress`` parameter (the worker supplies it).
        RuntimeError
            Before :meth:`start` or after :meth:`shutdown`.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown request {kind!r}; known: {', '.join(KINDS)}")
        if "progress" in params:
            raise ValueError("the worker reports progress itself; do not pass one")
        if self._stopped or self._thread is None:
            raise RuntimeError(
                "the generation service was shut down"
                if self._stopped
                else "start the generation service first"
            )
        slot = kind if slot is None else slot
        request_id = self._book.open(slot)
        self._run_requested.emit(Request(request_id, kind, slot, params, time.perf_counter(), then))
        return request_id

    def cancel(self, request_id: int) -> bool:
        """Ask the request to stop (thread-safe; never waits). Returns whether it was open and
        current; if so, ``cancelled(request_id)`` follows and ``finished`` never does."""
        return self._book.cancel(request_id)

    @Slot()
    def shutdown(self) -> None:
        """Stop every request, end the worker thread and wait for it (the running step ends
        first; a model that is loading finishes loading). Nothing is emitted afterwards. Safe
        to call twice, or before :meth:`start`."""
        if self._stopped:
            return
        self._stopped = True
        self._book.cancel_all()
        if self._thread is not None:
            self._thread.stop()  # the requests queued before, cancelled, are skipped at once
            self._thread = None

    # --- the worker's news, on the UI thread ----------------------------------------------
    @Slot(object)
    def _on_model_ready(self, model: LoadedModel) -> None:
        if not self._stopped:
            self._model = model
            self.model_ready.emit(model)

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        if not self._stopped:
            self.model_failed.emit(message)

    @Slot(int, int, int)
    def _on_progressed(self, request_id: int, done: int, total: int) -> None:
        if not self._stopped and self._book.is_live(request_id):
            self.progressed.emit(request_id, done, total)

    @Slot(int, object, float)
    def _on_finished(self, request_id: int, result: object, latency_sec: float) -> None:
        verdict = self._book.close(request_id)
        if self._stopped or verdict == "stale":
            return
        if verdict == "cancelled":
            self.cancelled.emit(request_id)
        else:
            self.finished.emit(request_id, result, latency_sec)

    @Slot(int, str)
    def _on_failed(self, request_id: int, message: str) -> None:
        verdict = self._book.close(request_id)
        if self._stopped or verdict == "stale":
            return
        if verdict == "cancelled":
            self.cancelled.emit(request_id)
        else:
            self.failed.emit(request_id, message)

    @Slot(int)
    def _on_cancelled(self, request_id: int) -> None:
        verdict = self._book.close(request_id)
        if not self._stopped and verdict != "stale":
            # "live": the engine stopped on its own account (it never does today); say so.
            self.cancelled.emit(request_id)
