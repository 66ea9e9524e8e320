# SPDX-License-Identifier: MIT
"""One object on a thread of its own, started and ended safely (the generation worker and the
thumbnail renderer both live this way).

Requests reach the object through queued signals that carry Python objects. Ending the thread
with such a request still queued drops it on the thread's way out, where freeing its Python
objects crashes the process; and dropping the object itself while its thread still runs one
of its slots deletes it under that thread's feet. So :meth:`WorkerThread.stop` queues the end
behind every request (each returns at once once cancelled) and keeps the object until the
thread is gone.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot


class ThreadWorker(QObject):
    """Base of an object that lives on a :class:`WorkerThread`."""

    @Slot()
    def finish(self) -> None:
        """End the thread's event loop (queued after every request, see WorkerThread.stop)."""
        self.thread().quit()


class WorkerThread(QObject):
    """A started QThread named ``name`` running ``worker`` (moved onto it); connect the
    worker's slots with queued connections before or after.

    Attributes
    ----------
    worker : ThreadWorker
        Kept until :meth:`stop` has waited for the thread.
    qthread : QThread
        The thread itself.
    """

    _finish_requested = Signal()

    def __init__(self, name: str, worker: ThreadWorker) -> None:
        super().__init__()
        self.worker = worker
        self.qthread = QThread()
        self.qthread.setObjectName(name)
        worker.moveToThread(self.qthread)
        self._finish_requested.connect(worker.finish, Qt.ConnectionType.QueuedConnection)
        self.qthread.start()

    @property
    def running(self) -> bool:
        return self.qthread.isRunning()

    def stop(self) -> None:
        """End the thread after the requests queued before, and wait for it."""
        self._finish_requested.emit()
        self.qthread.wait()
