"""Hidden `.partial-*` work folders of the library, and sweeping the ones nobody owns.

An import writes a whole set into such a folder before renaming it into place,
so a killed import leaves one behind (hundreds of MB for a large set). Each
folder holds a lock file its process keeps flock'ed while it works; the kernel
drops the lock when the process ends, however it ends. A folder whose lock can
be taken therefore belongs to a process that is gone and is deleted at once; a
locked one belongs to a live import, in this process or another, and is never
touched. The trash of `remove` is garbage as soon as it exists. Anything else
(no lock file: older versions, or a folder caught in the microseconds between
mkdir and lock) is left alone for a day.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; folders with a lock file fall back to their age
    fcntl = None

PARTIAL_PREFIX = ".partial-"
TRASH_PREFIX = f"{PARTIAL_PREFIX}removed-"
LOCK_FILE = ".owner.lock"
UNOWNED_AGE = 24 * 3600  # seconds before a folder without a lock is taken for abandoned


@contextmanager
def partial_folder(parent: Path, label: str) -> Iterator[Path]:
    """A new `.partial-<label>-<random>` folder in `parent`, locked by this process.

    It is removed when the block raises. On success the caller has usually
    renamed it into place; call `release` first so the lock file does not go
    along. Whatever is left at the end of the block is removed.
    """
    folder = parent / f"{PARTIAL_PREFIX}{label}-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield folder
    finally:
        # a folder renamed into place is no longer here; anything still here is ours to delete
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def release(folder: Path) -> None:
    """Drop the lock file before `folder` is renamed into place (the lock stays held)."""
    (folder / LOCK_FILE).unlink(missing_ok=True)


def sweep(parent: Path) -> list[Path]:
    """Delete the partial folders in `parent` that no live process owns; returns them."""
    removed = orphaned(parent)
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def orphaned(parent: Path) -> list[Path]:
    """The partial folders in `parent` no live process owns: what `sweep` deletes."""
    now = time.time()
    found = []
    for folder in sorted(parent.glob(PARTIAL_PREFIX + "*")):
        try:
            if folder.name.startswith(TRASH_PREFIX) or _abandoned(folder, now):
                found.append(folder)
        except OSError:
            continue  # vanished meanwhile, or not ours to read
    return found


def _abandoned(folder: Path, now: float) -> bool:
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return now - folder.stat().st_mtime > UNOWNED_AGE
    try:
        if fcntl is None or os.fstat(fd).st_size == 0:  # no flock, or not yet stamped by its owner
            return now - folder.stat().st_mtime > UNOWNED_AGE
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live process holds it
        return True
    finally:
        os.close(fd)
