"""Where a set's images are: a column of paths, of image bytes, or of {bytes, path} structs.

Paths are resolved against a root: the folder the user picked, else the folder of the set's
data file. A data file is untrusted, so a path never reaches outside that root: `../x.jpg`,
`/etc/shadow` and a symlink pointing out of the root are all refused ("outside the root"),
checked on the path with every symlink resolved. To show images stored elsewhere the user
picks a root that holds them (picking `/` allows every path: the user's choice, not the
file's). Only regular files are read (a pipe would wait forever, a device never ends), opened
without following a symlink swapped in after the check, and at most `MAX_SOURCE_BYTES`.
URLs (http, https, s3, gs, hf, ftp) are counted and never fetched: the app works offline.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from explorer.compute.thumbnails.decode import MAX_SOURCE_BYTES
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError

KINDS = ("path", "bytes", "struct")
URL = re.compile(r"^(?:https?|s3|gs|hf|ftp)://", re.IGNORECASE)
FILE_URL = "file://"
ROOT_HINT = "choose a root folder that holds the images"  # the CLI names its --root
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class ImageSource:
    """Which column holds a set's images, of which kind, and the folder its paths start from."""

    column: str
    kind: str  # "path" | "bytes" | "struct"
    root: str | None = None  # None: the folder of the set's data file

    def to_dict(self) -> dict:
        return {"column": self.column, "kind": self.kind, "root": self.root}


@dataclass(frozen=True)
class Unreadable:
    """A row without a usable image: `status` is "missing", "outside", "url" or "broken"."""

    status: str
    reason: str


@dataclass(frozen=True)
class Found:
    """A row's image bytes and what identifies them (size and mtime of a file, else 0s)."""

    data: bytes
    size: int
    mtime_ns: int


def data_folder(emb_set: EmbeddingSet) -> Path | None:
    """The folder of the file the set was imported from (None: made in the app)."""
    return source_folder(emb_set.source)


def source_folder(sources: list[str]) -> Path | None:
    """The folder of the first source when it is a file's full path; None for what the app
    records instead (`array:<digest>` of a set stored from Python, a parent set's id), which
    would otherwise resolve against whatever the working folder is."""
    return Path(sources[0]).parent if sources and os.path.isabs(sources[0]) else None


def resolved_root(emb_set: EmbeddingSet, root: str | None) -> str | None:
    """The absolute real path paths start from; None when there is none (no root, no file)."""
    if root is None:
        folder = data_folder(emb_set)
        return None if folder is None else os.path.realpath(folder)
    base = data_folder(emb_set) or Path.cwd()
    return os.path.realpath(os.path.join(base, os.path.expanduser(root)))


def check_source(emb_set: EmbeddingSet, source: ImageSource) -> str | None:
    """The resolved root; InputError for an unknown column or kind, or a root that is no folder."""
    if source.column not in emb_set.columns:
        raise InputError(f"the set has no column {source.column!r}",
                         hint="its columns: " + ", ".join(emb_set.columns),
                         choices=tuple(emb_set.columns), option="column")
    if source.kind not in KINDS:
        raise InputError(f"unknown image column kind {source.kind!r} "
                         f"(expected one of {', '.join(KINDS)})")
    root = resolved_root(emb_set, source.root)
    if source.root is not None and not os.path.isdir(root or ""):
        raise InputError("the image root is not a folder", path=source.root)
    if root is None and source.kind == "path":  # embedded bytes (a struct's too) need no file
        raise InputError("the set was not read from a file, so its image paths have no folder "
                         "to start from", hint=ROOT_HINT, option="root")
    return root


def value_key(value: str | bytes) -> int:
    """64 bits identifying a path's text or an image's bytes (a change of either remakes it)."""
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def inside(path: str, root: str) -> str | None:
    """The real path of `path` (relative to `root`) if it lies inside `root`; else None."""
    try:
        real = os.path.realpath(os.path.join(root, path))
    except (ValueError, OSError):  # an embedded NUL, a name too long
        return None
    base = root if root.endswith(os.sep) else root + os.sep
    return real if real.startswith(base) else None


def locate(value: str, root: str) -> str | Unreadable:
    """The real path `value` names inside `root`, or why it cannot be read."""
    if URL.match(value):
        return Unreadable("url", "a URL (never fetched)")
    value = value.removeprefix(FILE_URL)
    if not value.strip():
        return Unreadable("missing", "an empty path")
    real = inside(value, root)
    if real is None:
        return Unreadable("outside", f"outside the image root {root}")
    return real


def file_stamp(real: str) -> tuple[int, int] | Unreadable:
    """(size, mtime_ns) of a regular file, or why it is not one."""
    try:
        st = os.stat(real)
    except OSError as exc:
        return Unreadable("missing", _missing(exc))
    if not stat.S_ISREG(st.st_mode):
        return Unreadable("broken", "not a regular file (a folder, device, pipe or socket)")
    return st.st_size, st.st_mtime_ns


def read_file(real: str) -> Found | Unreadable:
    """The file's bytes, if it is a regular file of at most MAX_SOURCE_BYTES."""
    try:
        fd = os.open(real, OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink put in place after the path was checked
            return Unreadable("outside", "a symlink appeared where the file was")
        return Unreadable("missing", _missing(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Unreadable("broken", "not a regular file (a folder, device, pipe or socket)")
        if st.st_size > MAX_SOURCE_BYTES:
            return Unreadable("broken", f"larger than {MAX_SOURCE_BYTES >> 20} MiB")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        return Unreadable("broken", f"cannot be read ({exc.strerror or exc})")
    finally:
        os.close(fd)
    if len(data) > MAX_SOURCE_BYTES:
        return Unreadable("broken", f"larger than {MAX_SOURCE_BYTES >> 20} MiB")
    return Found(data, st.st_size, st.st_mtime_ns)


def _missing(exc: OSError) -> str:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file"
    return f"cannot be opened ({exc.strerror or exc})"


def column_values(emb_set: EmbeddingSet, source: ImageSource, start: int, stop: int) -> list:
    """Rows start..stop of the image column as Python values: str, bytes, or a dict of both.

    A struct's image is its `bytes` when present, else its `path`; a binary column's value is
    bytes; anything else is read as text (a path).
    """
    chunk = emb_set.metadata.column(source.column).slice(start, stop - start)
    kind = chunk.type
    if pa.types.is_struct(kind):
        names = [kind.field(i).name for i in range(kind.num_fields)]
        return [_struct_value(v, names) for v in chunk.to_pylist()]
    if source.kind == "path" and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return [None if v is None else str(v) for v in chunk.to_pylist()]
    return chunk.to_pylist()


def _struct_value(value: dict | None, names: list[str]) -> str | bytes | None:
    if value is None:
        return None
    data = value.get("bytes") if "bytes" in names else None
    if isinstance(data, (bytes, bytearray)) and data:
        return bytes(data)
    path = value.get("path") if "path" in names else None
    return path if isinstance(path, str) else None
