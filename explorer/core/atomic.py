"""Write-then-rename helpers: a crash never leaves a half-written file in place.

`write_output` is the one way a file the user named (`--out`, an export) is
written: into what they named, whatever kind of file that is.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from explorer.core.errors import InputError, storage_error


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def output_target(path: str | Path) -> tuple[Path, Path, int | None]:
    """(the path as named, the file it resolves to, that file's st_mode or None when new).

    InputError when nothing can be written there (a folder, a socket), so a
    command can refuse before its work rather than after it.
    """
    named = Path(path).expanduser()
    target = Path(os.path.realpath(named))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return named, target, None
    except OSError as exc:
        raise InputError(f"cannot write there ({exc.strerror or exc})", path=named) from None
    if stat.S_ISDIR(mode):
        raise InputError("is a folder", path=named, hint="name a file to write")
    if stat.S_ISSOCK(mode):
        raise InputError("is a socket, which cannot be written as a file", path=named)
    return named, target, mode


def write_output(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write the file the user named with `write(binary file)`; returns the path as named.

    A regular file (or a new one) is replaced atomically: a temporary file beside
    it, fsync, rename, keeping the old file's permissions (a new one gets the
    umask's). A symlink is followed, so its target is replaced and the link
    stays a link. A device or a FIFO (/dev/stdout, /dev/full, a pipe) is written
    into directly: renaming over it would swap the device for a plain file. A
    folder or a socket is refused. Any failure is an InputError naming the path.
    """
    named, target, mode = output_target(path)
    if mode is not None and not stat.S_ISREG(mode):
        try:
            with open(target, "wb") as fh:
                write(fh)
                fh.flush()
        except OSError as exc:
            raise InputError(f"cannot write into it ({exc.strerror or exc})", path=named) from None
        return named
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # our own O_EXCL create rather than mkstemp, so a new file gets the umask's permissions
        tmp = folder / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise storage_error(exc, folder, "the folder") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            if mode is not None:
                os.fchmod(fh.fileno(), stat.S_IMODE(mode))
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise storage_error(exc, folder, "the folder") from None
        raise
    fsync_dir(folder)
    return named
