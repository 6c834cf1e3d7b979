"""One kind of background job a view runs, followed in the view itself.

The window's JobRunner already keeps only the newest job of a kind. What a view
adds: a progress bar that shows only for jobs that take a while, the job's status
text, a word when it ends without a result, and dropping results that were
computed for a set the view has since left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QProgressBar

from explorer.ui.workers import JobRunner

SHOW_BAR_AFTER_MS = 200


class TrackedJob(QObject):
    """The newest job of `kind`: its progress goes to `bar`, its status text to `on_status`,
    and `on_end` runs when it finishes, before its result (if any) is delivered."""

    def __init__(self, jobs: JobRunner, kind: str, bar: QProgressBar,
                 on_status: Callable[[str], None] | None = None,
                 on_end: Callable[[], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.kind = kind
        self.bar = bar
        self.on_status = on_status
        self.on_end = on_end
        self.job_id: int | None = None
        self._gen = 0
        jobs.jobProgress.connect(self._progress)
        jobs.jobStatus.connect(self._status)
        jobs.jobFinished.connect(self._finished)

    def submit(self, title: str, work: Callable[[Any], Any], on_done: Callable[[Any], None],
               on_error: Callable[[BaseException], None]) -> None:
        """Run `work(state)`; its result or error is delivered unless the set changed meanwhile."""
        gen = self._gen

        def guarded(callback: Callable[[Any], None]) -> Callable[[Any], None]:
            return lambda value: callback(value) if gen == self._gen else None

        job = self.jobs.submit(self.kind, title, work,
                               on_done=guarded(on_done), on_error=guarded(on_error))
        self.job_id = job.id
        self.bar.setValue(0)
        QTimer.singleShot(SHOW_BAR_AFTER_MS, self.bar,
                          lambda: self.bar.setVisible(self.job_id is not None))

    def running(self) -> bool:
        return self.job_id is not None

    def cancel(self) -> None:
        self.jobs.cancel_kind(self.kind)

    def new_set(self, stop: bool = True) -> None:
        """The view moved to another set: stop the job (unless `stop` is False) and drop
        whatever it still delivers, which is for the old set."""
        if stop:
            self.cancel()
        self._gen += 1

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
