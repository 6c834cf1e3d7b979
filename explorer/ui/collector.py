"""Qt objects are freed on the UI thread: the garbage collector runs there, never in a worker.

Why (issue 23, a deadlock seen with py-spy and gdb): the collector runs in
whichever thread allocates when a threshold is crossed, which is usually a job
thread (a numba compile allocates millions of objects). Reference cycles often
hold Python-owned Qt objects: a closed window's menus and item models,
pyqtgraph's widget groups. Freeing one there runs QObject::~QObject on the
worker; Shiboken lets go of the GIL around that C++ destructor, which then
locks Qt's signal-slot mutexes and calls back into Python (`disconnectNotify`
of a sender), waiting for the GIL with those mutexes held. Meanwhile the UI
thread, holding the GIL, waits for one of those mutexes in QObject::connect (a
window being built, a widget created). Neither moves; every other thread then
waits for the GIL or numba's compiler lock. Qt's rule is that an object is
destroyed in its own thread; this module makes the collector keep it.

So automatic collection is switched off and a timer on the UI thread collects,
generation by generation, on the thresholds Python itself would use. Garbage
made by workers waits at most one tick. Automatic collection stays off once the
application is gone: job threads may still be finishing (the interpreter waits
for them on exit) and must not free Qt objects then either; the interpreter
collects once more as it exits. The same timer keeps the references of jobs
whose runner was shut down until their workers let go of them
(`keep_until_let_go`), for the same reason.
"""

from __future__ import annotations

import gc
from typing import Protocol

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

INTERVAL_MS = 200


class LetGoNotices(Protocol):
    def released(self) -> list[int]:
        """Ids of the jobs whose worker no longer holds their references."""


class UiThreadCollector(QObject):
    """Collects cyclic garbage on a timer of the UI thread (see the module's docstring)."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)  # lives, and ticks, as long as the application
        self.threshold = gc.get_threshold()
        self.kept: list[tuple[LetGoNotices, dict[int, object]]] = []
        self.timer = QTimer(self, interval=INTERVAL_MS)
        self.timer.timeout.connect(self.collect)
        self.timer.start()
        gc.disable()

    def keep_until_let_go(self, notices: LetGoNotices, held: dict[int, object]) -> None:
        """Hold `held` (job id -> references) and drop each entry here, on the UI thread,
        once `notices` says its worker let go: a shut-down job runner's running jobs."""
        if held:
            self.kept.append((notices, dict(held)))

    def collect(self) -> int:
        """Drop what workers let go of; collect the oldest generation that is due, as
        CPython's automatic collector would."""
        for notices, held in self.kept:
            for job_id in notices.released():
                held.pop(job_id, None)
        self.kept = [(notices, held) for notices, held in self.kept if held]
        count0, count1, count2 = gc.get_count()
        limit0, limit1, limit2 = self.threshold
        if count0 <= limit0:
            return 0
        generation = 2 if count2 > limit2 else 1 if count1 > limit1 else 0
        return gc.collect(generation)


def collect_on_ui_thread() -> UiThreadCollector | None:
    """Make the UI thread the only one that collects garbage (idempotent).

    Call on the UI thread once a QApplication exists; without one (a headless run)
    nothing changes, because there are then no Qt objects to protect.
    """
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        return None
    existing = app.findChild(UiThreadCollector)
    return existing if existing is not None else UiThreadCollector(app)
