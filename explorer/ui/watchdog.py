"""A freeze watchdog: every thread's stack in the log when the UI thread stops answering.

A frozen window is hard to report usefully: by the time anyone looks, only the
symptom is left. With the watchdog on (`--diagnose`, or EXPLORER_DEBUG=1), a
timer on the UI thread re-arms `faulthandler.dump_traceback_later` every second;
if the UI thread has not run that timer for `seconds` (10 by default),
faulthandler's own C thread writes every Python thread's stack into the log.

That C thread needs neither the GIL nor the event loop, so the dump is written
even when the freeze is a deadlock in which the GIL is held by a thread blocked
in C code, where a watchdog written in Python could not run at all. When the UI
thread comes back it logs how long it was gone, next to the stacks.
"""

from __future__ import annotations

import faulthandler
import logging
import threading
import time
from pathlib import Path
from typing import TextIO

from PySide6.QtCore import QObject, QTimer

from explorer.core.paths import data_home

log = logging.getLogger(__name__)

STALL_SECONDS = 10.0
BEAT_MS = 1000
LOG_NAME = "embedding-explorer.log"


def default_log_path() -> Path:
    return data_home() / "logs" / LOG_NAME


def log_to_file(path: Path) -> TextIO:
    """Send the app's log records to `path` (appended), and return the open file.

    The watchdog writes its stack dumps into the same file, so a report needs only it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - kept open
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: "
                                           "%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return stream


class Watchdog(QObject):
    """Dumps all threads' stacks to `stream` when the UI thread has not answered for `seconds`.

    Create it on the UI thread; it runs until `stop()` (the app calls it once its event loop
    has returned). Nothing is tied to its `destroyed` signal: with the QApplication as its
    parent that signal comes during the interpreter's own teardown, where calling into
    Python is not safe (the app under --diagnose ended with a segfault in ~4% of runs).
    faulthandler keeps one pending dump per process, so only one watchdog may run.
    """

    def __init__(self, stream: TextIO, seconds: float | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stream = stream
        self.seconds = STALL_SECONDS if seconds is None else seconds
        self._last = time.monotonic()
        self._timer = QTimer(self, interval=min(BEAT_MS, max(50, int(self.seconds * 250))))
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        log.info("watchdog on: every thread's stack is written here if the UI thread "
                 "(0x%016x) does not answer for %.0f s", threading.get_ident(), self.seconds)
        self._last = time.monotonic()
        self._arm()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        faulthandler.cancel_dump_traceback_later()

    def _arm(self) -> None:
        """Push the pending dump `seconds` into the future (replaces the previous one)."""
        faulthandler.dump_traceback_later(self.seconds, repeat=False, file=self.stream)

    def _beat(self) -> None:
        now = time.monotonic()
        gone = now - self._last
        self._last = now
        self._arm()
        if gone >= self.seconds:
            log.warning("the UI thread did not answer for %.1f s; the stacks of every thread "
                        "at the %.0f s mark are above", gone, self.seconds)
