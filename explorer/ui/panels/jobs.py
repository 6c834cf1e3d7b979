"""Every background job of one panel goes through its `PanelJobs`: one path, one guard.

What it adds to the window's `JobRunner` (which already keeps only the newest job of a
kind and drops a stale kind's result):
  * kinds are namespaced by the panel's key (`"map:project"`), so two panels never
    cancel each other's jobs by sharing a free string;
  * a result, partial result or error computed for a set the window has since left is
    dropped, and the old set's jobs are cancelled when the set changes. The guard
    compares the set a job was submitted for with the set shown now, so it does not
    depend on the order in which slots of `setChanged` run;
  * errors go to the panel's own inline error unless the caller says otherwise;
  * `track()` follows the newest job of a kind with a progress bar that shows only for
    jobs that take a while, and its status text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QProgressBar

from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.state import AppState
from explorer.ui.workers import Job, JobRunner

SHOW_BAR_AFTER_MS = 200


class PanelJobs(QObject):
    """The one way a panel (and its tabs) runs background work."""

    def __init__(self, key: str, runner: JobRunner, state: AppState,
                 on_error: Callable[[BaseException], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.runner = runner
        self.state = state
        self.on_error = on_error
        self._set_of: dict[int, EmbeddingSet | None] = {}  # running set-bound job -> its set
        runner.jobFinished.connect(lambda job_id: self._set_of.pop(job_id, None))
        state.setChanged.connect(self._new_set)

    def kind(self, kind: str) -> str:
        """The runner's kind for this panel's `kind`."""
        return f"{self.key}:{kind}"

    def submit(self, kind: str, label: str, fn: Callable[..., Any], *args: Any,
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None,
               on_partial: Callable[[Any], None] | None = None,
               set_bound: bool = True) -> Job:
        """Run `fn(*args, state)` as the newest job of `kind`; callbacks run on the UI thread.

        A `set_bound` job (the default) delivers nothing once another set is shown, and is
        cancelled then. A job that is not (saving a file, a library change) always delivers.
        `on_error` defaults to the panel's inline error.
        """
        shown = self.state.embedding_set
        guard = self.guard if set_bound else (lambda callback: callback)
        job = self.runner.submit(self.kind(kind), label, fn, *args,
                                 on_done=guard(on_done) if on_done else None,
                                 on_error=guard(on_error or self.on_error),
                                 on_partial=guard(on_partial) if on_partial else None)
        if set_bound:
            self._set_of[job.id] = shown
        return job

    def guard(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """`callback`, made to do nothing once the set shown now has been left."""
        shown = self.state.embedding_set

        def guarded(*args: Any) -> Any:
            if self.state.embedding_set is shown:
                return callback(*args)
            return None
        return guarded

    def cancel(self, kind: str) -> None:
        self.runner.cancel_kind(self.kind(kind))

    def running(self, kind: str) -> bool:
        full = self.kind(kind)
        return any(job.kind == full for job in self.runner.running())

    def track(self, kind: str, bar: QProgressBar,
              on_status: Callable[[str], None] | None = None,
              on_end: Callable[[], None] | None = None) -> "TrackedKind":
        """Follow the newest job of `kind` in the panel: `bar`, status text, `on_end`."""
        return TrackedKind(self, kind, bar, on_status, on_end)

    def _new_set(self, es: EmbeddingSet | None) -> None:
        for job in self.runner.running():
            if job.id in self._set_of and self._set_of[job.id] is not es:
                self.runner.cancel(job.id)


class TrackedKind(QObject):
    """The newest job of one kind of a panel, shown in the panel while it runs."""

    def __init__(self, jobs: PanelJobs, kind: str, bar: QProgressBar,
                 on_status: Callable[[str], None] | None,
                 on_end: Callable[[], None] | None) -> None:
        super().__init__(jobs)
        self.jobs = jobs
        self.kind = kind
        self.bar = bar
        self.on_status = on_status
        self.on_end = on_end
        self.job_id: int | None = None
        runner = jobs.runner
        runner.jobProgress.connect(self._progress)
        runner.jobStatus.connect(self._status)
        runner.jobFinished.connect(self._finished)

    def submit(self, label: str, fn: Callable[..., Any], *args: Any,
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None,
               on_partial: Callable[[Any], None] | None = None,
               set_bound: bool = True) -> Job:
        job = self.jobs.submit(self.kind, label, fn, *args, on_done=on_done, on_error=on_error,
                               on_partial=on_partial, set_bound=set_bound)
        self.job_id = job.id
        self.bar.setValue(0)
        QTimer.singleShot(SHOW_BAR_AFTER_MS, self.bar,
                          lambda: self.bar.setVisible(self.job_id is not None))
        return job

    def running(self) -> bool:
        return self.job_id is not None

    def cancel(self) -> None:
        self.jobs.cancel(self.kind)

    def _progress(self, job_id: int, fraction: float) -> None:
        if job_id == self.job_id:
            self.bar.setValue(int(fraction * 1000))

    def _status(self, job_id: int, text: str) -> None:
        if job_id == self.job_id and self.on_status is not None:
            self.on_status(text + "…")

    def _finished(self, job_id: int) -> None:
        if job_id != self.job_id:
            return
        self.job_id = None
        self.bar.hide()
        if self.on_end is not None:
            self.on_end()
