"""Runs core jobs off the UI thread and brings their progress and results back to it.

One runner per window. Jobs have a kind ("open", "filter", ...): starting a job
cancels the running job of the same kind, and a result that arrives after a
newer job of its kind was started is dropped, so a stale answer never
overwrites a fresh one.

Workers never call into Qt. What a job reports (progress, status, partial
results, its end) goes into a plain inbox that a timer of the UI thread empties;
only the UI thread emits signals. So a worker holds no Qt mutex and copies no
Python object inside Qt, which is where a GIL-holding UI thread and a worker can
wait for each other; and a runner deleted while its jobs finish is never
touched by them (they only ever reach the inbox).

Nor does a worker free a Qt object: the function and arguments of a job (a
view's method, say, whose view may hold the only reference to a model or a
menu) stay referenced from the UI thread until the worker says it let go of
them, so the last reference always goes on the UI thread; after a shutdown the
UI-thread collector keeps them (`explorer.ui.collector`, which also keeps the
garbage collector on the UI thread, for the same reason).
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.ui.collector import UiThreadCollector, collect_on_ui_thread

POLL_MS = 10  # how often the UI thread looks for news while jobs run
PROGRESS_EVERY = 0.05  # seconds between two progress reports of one job


@dataclass
class Job:
    id: int
    kind: str
    label: str
    state: TaskState
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    on_partial: Callable[[Any], None] | None = None
    started: float = field(default_factory=time.monotonic)


class Inbox:
    """Messages from worker threads to the UI thread; once closed, new ones are dropped.

    The lock guards only the deque and the flag; nothing is called while it is held.
    """

    def __init__(self) -> None:
        self._items: deque[tuple] = deque()
        self._let_go: deque[int] = deque()  # jobs whose worker dropped its references
        self._lock = threading.Lock()
        self._closed = False

    def put(self, *message: Any) -> None:
        with self._lock:
            if not self._closed:
                self._items.append(message)

    def pop(self) -> tuple | None:
        """The oldest message, or None when there is none."""
        with self._lock:
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        """Drop what is waiting and whatever comes later (late results go nowhere)."""
        with self._lock:
            self._closed = True
            self._items.clear()

    def let_go(self, job_id: int) -> None:
        """The worker of `job_id` holds no reference to the job's function any more
        (noted even after `close`: someone on the UI thread waits for it)."""
        with self._lock:
            self._let_go.append(job_id)

    def released(self) -> list[int]:
        with self._lock:
            ids = list(self._let_go)
            self._let_go.clear()
        return ids


class JobRunner(QObject):
    jobStarted = Signal(object)  # Job
    jobProgress = Signal(int, float)  # job id, fraction
    jobStatus = Signal(int, str)
    jobFinished = Signal(int)  # job id, whatever the outcome
    jobFailed = Signal(object, object)  # Job, exception (not yet handled by on_error)

    def __init__(self, max_workers: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="explorer-job")
        self._ids = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._jobs: dict[int, Job] = {}
        self._closed = False
        self._inbox = Inbox()
        self._calls: dict[int, tuple] = {}  # job id -> (fn, args), until its worker lets go
        self._collector: UiThreadCollector | None = collect_on_ui_thread()
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._drain)

    def submit(self, kind: str, label: str, fn: Callable[..., Any], *args: Any,
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None,
               on_partial: Callable[[Any], None] | None = None) -> Job:
        """Run `fn(*args, state)` on the pool; callbacks run on the UI thread.

        `state.partial(x)` in the job delivers x to `on_partial` (e.g. a layout
        while UMAP optimises), for as long as the job is the newest of its kind.
        """
        self.cancel_kind(kind)
        job_id = next(self._ids)
        if self._closed:  # the window is closing: a late timer may still ask for work
            dead = TaskState()
            dead.cancel()
            return Job(job_id, kind, label, dead)
        state = _reporting_state(self._inbox, job_id)
        job = Job(job_id, kind, label, state, on_done, on_error, on_partial)
        self._jobs[job_id] = job
        self._latest[kind] = job_id
        self.jobStarted.emit(job)
        call = (fn, args)
        self._calls[job_id] = call
        self._pool.submit(_work, self._inbox, job_id, [call], state)
        if not self._poll.isActive():  # (re)starting it would postpone the next look
            self._poll.start()
        return job

    def cancel_kind(self, kind: str) -> None:
        job_id = self._latest.get(kind)
        if job_id in self._jobs:
            self._jobs[job_id].state.cancel()

    def cancel(self, job_id: int) -> None:
        if job_id in self._jobs:
            self._jobs[job_id].state.cancel()

    def running(self) -> list[Job]:
        return list(self._jobs.values())

    def _drain(self) -> None:
        """Deliver what the workers reported, in their order (UI thread).

        One message at a time: if a callback raises, the rest wait for the next tick.
        """
        for job_id in self._inbox.released():
            self._calls.pop(job_id, None)  # the last reference, dropped here
        while not self._closed and (message := self._inbox.pop()) is not None:
            what, job_id, *rest = message
            if what == "progress":
                self.jobProgress.emit(job_id, *rest)
            elif what == "status":
                self.jobStatus.emit(job_id, *rest)
            elif what == "partial":
                self._on_partial(job_id, *rest)
            else:
                self._on_done(job_id, *rest)
        if not (self._jobs or self._calls) or self._closed:
            self._poll.stop()

    def _on_partial(self, job_id: int, value: Any) -> None:
        job = self._jobs.get(job_id)
        if job is not None and job.on_partial is not None and not job.state.cancelled \
                and self._latest.get(job.kind) == job_id:
            job.on_partial(value)

    def _on_done(self, job_id: int, result: Any, error: BaseException | None) -> None:
        job = self._jobs.pop(job_id, None)
        self.jobFinished.emit(job_id)
        if job is None or self._latest.get(job.kind) != job_id:
            return  # stale: a newer job of this kind owns the answer
        # A job cancelled too late to stop still delivers: its work (an import, say) is done.
        if error is not None:
            if isinstance(error, Cancelled):
                return
            if job.on_error is not None:
                job.on_error(error)
            else:
                self.jobFailed.emit(job, error)
            return
        if job.on_done is not None:
            job.on_done(result)

    def shutdown(self) -> None:
        """Cancel everything and return at once; late results go nowhere."""
        self._closed = True
        self._inbox.close()
        self._poll.stop()
        for job in self._jobs.values():
            job.state.cancel()
        self._jobs.clear()
        self._latest.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._collector is not None:  # workers still running hold them too
            self._collector.keep_until_let_go(self._inbox, self._calls)
        self._calls = {}


def _reporting_state(inbox: Inbox, job_id: int) -> TaskState:
    """A TaskState whose reports go to `inbox` (progress at most every PROGRESS_EVERY s).

    A module function, so the callbacks a worker holds reach the inbox and never the runner.
    """
    last = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] > PROGRESS_EVERY or fraction >= 1.0:
            last[0] = now
            inbox.put("progress", job_id, fraction)

    return TaskState(on_progress=progress,
                     on_status=lambda text: inbox.put("status", job_id, text),
                     on_partial=lambda value: inbox.put("partial", job_id, value))


def _work(inbox: Inbox, job_id: int, holder: list[tuple], state: TaskState) -> None:
    """The worker's side of a job. `holder` hands over the job's (fn, args) and is
    emptied, so once `_run` returns this thread holds no reference to them."""
    _run(inbox, job_id, holder.pop(), state)
    inbox.let_go(job_id)


def _run(inbox: Inbox, job_id: int, call: tuple, state: TaskState) -> None:
    """Run the job and post its end, whatever it is."""
    from explorer.compute.numba import readiness  # numba loads with the first job, not here

    fn, args = call
    try:
        with readiness.job_state(state):  # a wait for the compile worker shows, and cancels
            result = fn(*args, state)
    except BaseException as exc:  # delivered to the UI thread, never lost
        if not isinstance(exc, (InputError, Cancelled)):
            exc.formatted = traceback.format_exc()  # type: ignore[attr-defined]
        inbox.put("done", job_id, None, exc)
    else:
        inbox.put("done", job_id, result, None)
