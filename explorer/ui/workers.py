"""Runs core jobs off the UI thread and brings their progress and results back to it.

One runner per window. Jobs have a kind ("open", "filter", ...): starting a job
cancels the running job of the same kind, and a result that arrives after a
newer job of its kind was started is dropped, so a stale answer never
overwrites a fresh one.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState


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


class JobRunner(QObject):
    jobStarted = Signal(object)  # Job
    jobProgress = Signal(int, float)  # job id, fraction
    jobStatus = Signal(int, str)
    jobFinished = Signal(int)  # job id, whatever the outcome
    jobFailed = Signal(object, object)  # Job, exception (not yet handled by on_error)
    _done = Signal(int, object, object)  # job id, result, error — crosses threads
    _partial = Signal(int, object)  # job id, intermediate result — crosses threads

    def __init__(self, max_workers: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="explorer-job")
        self._ids = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._jobs: dict[int, Job] = {}
        self._closed = False
        self._emit_lock = threading.Lock()
        self._done.connect(self._on_done)
        self._partial.connect(self._on_partial)

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
        last_emit = [0.0]

        def progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last_emit[0] > 0.05 or fraction >= 1.0:
                last_emit[0] = now
                self._emit(self.jobProgress, job_id, fraction)

        state = TaskState(on_progress=progress,
                          on_status=lambda text: self._emit(self.jobStatus, job_id, text),
                          on_partial=lambda value: self._emit(self._partial, job_id, value))
        job = Job(job_id, kind, label, state, on_done, on_error, on_partial)
        self._jobs[job_id] = job
        self._latest[kind] = job_id
        self.jobStarted.emit(job)

        def work() -> None:
            try:
                result = fn(*args, state)
            except BaseException as exc:  # delivered to the UI thread, never lost
                if not isinstance(exc, (InputError, Cancelled)):
                    exc.formatted = traceback.format_exc()  # type: ignore[attr-defined]
                self._emit(self._done, job_id, None, exc)
            else:
                self._emit(self._done, job_id, result, None)

        self._pool.submit(work)
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

    def _emit(self, signal, *args) -> None:
        """Emit from a worker thread, unless the runner was shut down.

        The lock orders this against `shutdown`: once it returns, no worker
        touches the runner again, so its owner (a dialog, say) may be deleted
        while jobs are still finishing (emitting on a deleted QObject crashes).
        """
        with self._emit_lock:
            if not self._closed:
                signal.emit(*args)

    def shutdown(self) -> None:
        """Cancel everything and return at once; late results go nowhere."""
        with self._emit_lock:
            self._closed = True
        for job in self._jobs.values():
            job.state.cancel()
        self._jobs.clear()
        self._latest.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
