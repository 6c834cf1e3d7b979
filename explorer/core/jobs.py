"""Task state shared by every long job: progress, status, partial results, cancel.

A job is a plain function `run(..., state: TaskState)`. It calls `state.progress`
now and then, which raises `Cancelled` once someone asked it to stop. The UI
wraps jobs in `explorer.ui.workers`; the CLI runs them directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Cancelled(Exception):
    """Raised inside a job when its TaskState was cancelled."""


class TaskState:
    def __init__(
        self,
        on_progress: Callable[[float], None] | None = None,
        on_status: Callable[[str], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
    ) -> None:
        self._cancel = threading.Event()
        self._on_progress = on_progress
        self._on_status = on_status
        self._on_partial = on_partial
        self.fraction = 0.0
        self.text = ""

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def progress(self, done: float, total: float = 1.0) -> None:
        self.check()
        self.fraction = min(1.0, max(0.0, done / total)) if total else 1.0
        if self._on_progress:
            self._on_progress(self.fraction)

    def status(self, text: str) -> None:
        self.check()
        self.text = text
        if self._on_status:
            self._on_status(text)

    def partial(self, result: Any) -> None:
        if self._on_partial:
            self._on_partial(result)

    def sub(self, start: float, stop: float) -> "SubTask":
        """A view of this state whose progress 0..1 maps to start..stop here."""
        return SubTask(self, start, stop)


class SubTask(TaskState):
    def __init__(self, parent: TaskState, start: float, stop: float) -> None:
        super().__init__()
        self._parent = parent
        self._start = start
        self._span = stop - start

    @property
    def cancelled(self) -> bool:
        return self._parent.cancelled

    def cancel(self) -> None:
        self._parent.cancel()

    def check(self) -> None:
        self._parent.check()

    def progress(self, done: float, total: float = 1.0) -> None:
        frac = min(1.0, max(0.0, done / total)) if total else 1.0
        self._parent.progress(self._start + self._span * frac)

    def status(self, text: str) -> None:
        self._parent.status(text)

    def partial(self, result: Any) -> None:
        self._parent.partial(result)
