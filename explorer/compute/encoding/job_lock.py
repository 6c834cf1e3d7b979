"""One run at a time per encode job: an flock on a file beside the job's work folder.

Two runs of the same job (same inputs, model and settings) would share one work
folder: each would append windows to the other's vectors and rename its pieces,
and the one that finished first would import a set with rows from both. So a run
takes this lock before it touches the folder and keeps it until the folder is
imported and removed; a second run waits, saying which process it waits for, and
can be cancelled while it waits. Waiting, not refusing, because the usual second
run is the GUI's "run it again to resume" while the cancelled run is still
finishing its batch, or a script starting jobs side by side: both want the set, and
both get a correct one.

The kernel drops an flock when its process exits in any way (kill -9 too), so a
crash never leaves a stale lock. The lock file sits beside the work folder, not in
it, so the folder can be removed under the lock; the holder removes the lock file
itself last, and a waiter that then gets the lock on the removed file takes the new
one instead (it checks the file it locked is still the one at the path).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from explorer.core.jobs import TaskState

POLL_SECONDS = 0.25  # how often a waiting run tries again (and notices a cancel)


@contextmanager
def job_lock(path: Path, job: str, state: TaskState,
             on_wait: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock at `path` for the block; `on_wait(message)` once if another run holds it.

    `job` says what is being encoded, for the message a later run shows while it waits.
    """
    fd = _acquire(path, job, state, on_wait)
    try:
        yield
    finally:
        _release(path, fd)


def _acquire(path: Path, job: str, state: TaskState, on_wait: Callable[[str], None]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            if not waited:
                waited = True
                on_wait(waiting_message(holder))
            state.check()
            time.sleep(POLL_SECONDS)
            continue
        if _is_current(fd, path):
            _write_holder(fd, job)
            return fd
        os.close(fd)  # its holder removed it after we opened it: lock the new file


def _release(path: Path, fd: int) -> None:
    try:
        if _is_current(fd, path):
            path.unlink()
    finally:
        os.close(fd)  # releases the lock


def _is_current(fd: int, path: Path) -> bool:
    try:
        here = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)


def _write_holder(fd: int, job: str) -> None:
    record = {"pid": os.getpid(), "started": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
              "job": job}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)


def _read_holder(fd: int) -> dict:
    """Who holds the lock, as it wrote itself down; {} when it has not yet (or wrote nonsense)."""
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def waiting_message(holder: dict) -> str:
    """What a run says while it waits: which process, what it encodes, since when."""
    pid, job, started = holder.get("pid"), holder.get("job"), holder.get("started")
    what = f"the same encoding ({job})" if isinstance(job, str) else "the same encoding"
    if not isinstance(pid, int):
        return f"Waiting for another run of {what} to finish"
    if pid == os.getpid():
        return f"Waiting for the earlier run of {what} to stop"
    since = f" at {started}" if isinstance(started, str) else ""
    return f"Waiting for process {pid}, which started {what}{since}, to finish"
