"""What a loader is, and the helpers every loader shares."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState


@dataclass
class LoadOptions:
    vector_column: str | None = None  # a column name or a glob such as "dim_*"
    metadata_path: Path | None = None
    dataset: str | None = None  # HDF5 dataset / npz array name
    id_column: str | None = None
    label_column: str | None = None  # what names the items (default: guessed, label_columns.py)


@dataclass
class Loaded:
    """What a loader returns before the shared checks run."""

    vectors: np.ndarray
    metadata: pa.Table | None = None
    vector_column: str | None = None
    metric: str | None = None  # when the file says (ann-benchmarks 'distance')
    metadata_path: Path | None = None  # a sibling file to join (the Projector's metadata.tsv)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes, Path], bool]  # is this head of the file plausible?
    load: Callable[[Path, LoadOptions, TaskState], Loaded]
    memory_mapped: bool = False
    ram_per_file_byte: float = 1.5  # rough RAM needed per byte of file while loading
    description: str = ""
    priority: int = 0  # when several formats claim a file name, the highest is asked first
    by_content: bool = False  # recognised by its content whatever the file is called
    plugin: str | None = None  # the distribution of a plugin's loader (None: built-in)


# Array names that say "these are the vectors" when a file holds several candidates.
VECTOR_NAMES = ("embeddings", "embedding", "vectors", "vector", "train", "x", "X", "data", "arr_0")


def pick(candidates: list[str], path: Path, what: str) -> str:
    """The one candidate array or dataset, a conventional name among several, or ask."""
    if not candidates:
        raise InputError(f"no {what} found", path=path)
    if len(candidates) == 1:
        return candidates[0]
    for name in VECTOR_NAMES:
        if name in candidates:
            return name
    raise InputError(f"several {what}s: " + ", ".join(candidates), path=path,
                     hint="choose one with --dataset NAME", choices=tuple(candidates),
                     option="dataset")


def read_head(path: Path, size: int = 4096) -> bytes:
    """Open the file once, so unreadable paths fail here with a clear message."""
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a directory, not a file",
                         path=path, hint="choose a file inside it")
    if not path.is_file():  # opening a pipe waits for a writer; /dev/zero never ends
        raise InputError("is not a regular file (a device, pipe or socket)", path=path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(size)
    except PermissionError:
        raise InputError("permission denied: the file is not readable", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    if not head:
        raise InputError("the file is empty (0 bytes)", path=path)
    return head


def relocated(err: InputError, **where: str | int | None) -> InputError:
    """The same error pointing somewhere more precise (a line, a 1-based column)."""
    fields = dict(path=err.path, row=err.row, line=err.line, column=err.column, hint=err.hint,
                  choices=err.choices, option=err.option)
    return InputError(err.message, **(fields | where))


def available_memory() -> int:
    """Bytes of RAM the system could give us now (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def check_fits_in_memory(path: Path, fmt: Format) -> None:
    if fmt.memory_mapped:
        return
    size = path.stat().st_size
    need = int(size * fmt.ram_per_file_byte)
    avail = available_memory()
    if need > avail:
        raise InputError(
            f"the file is {size_text(size)} and reading {fmt.name} needs about "
            f"{size_text(need)} of memory, but only {size_text(avail)} is free",
            path=path,
            hint="convert it to .npy, which is memory-mapped, or free some memory",
        )


def check_declared(path: Path, shape: tuple[int, ...], itemsize: int, have: int,
                   what: str = "the header", ratio: float = 1) -> None:
    """A header may claim any shape: refuse one the bytes behind it cannot hold.

    Called before anything is allocated from the declared shape, so a damaged or hostile
    header fails here instead of asking for gigabytes. `have` is the bytes that could hold
    the values (the file, or a member of an archive, less its header); `ratio` the most
    that compression could have packed into each of them.
    """
    shape_text = " x ".join(map(str, shape))
    if any(n < 0 for n in shape):
        raise InputError(f"{what} declares a negative size ({shape_text}); the file is damaged",
                         path=path)
    need = math.prod(shape) * itemsize
    if need > have * ratio:
        packed = ", too few even compressed" if ratio > 1 else ""
        raise InputError(f"{what} declares {shape_text} values ({size_text(need)}), but the "
                         f"file holds only {size_text(max(0, have))} for them{packed} "
                         "(truncated or damaged file?)", path=path)


def check_array_fits(path: Path, shape: tuple[int, ...], itemsize: int = 4) -> None:
    """A header may claim any shape: refuse before allocating what memory cannot hold."""
    if any(n < 0 for n in shape):
        raise InputError(f"the header declares a negative size ({' x '.join(map(str, shape))}); "
                         "the file is damaged", path=path)
    need = math.prod(shape) * itemsize
    avail = available_memory()
    if need > avail:
        raise InputError(
            f"the file declares {' x '.join(map(str, shape))} values, {size_text(need)} in memory, "
            f"but only {size_text(avail)} is free", path=path,
            hint="convert it to .npy, which is memory-mapped, or free some memory")


def size_text(n: float) -> str:
    """Readable size; GiB alone would print 0.0 for the small numbers people also hit."""
    if n < 1024:
        return f"{n:.0f} bytes"
    for unit in ("KiB", "MiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} GiB"


def not_utf8(head: bytes) -> str | None:
    """Where text without NUL bytes stops being UTF-8 (a legacy code page), or None."""
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            line = head.count(b"\n", 0, exc.start) + 1
            return f"byte 0x{head[exc.start]:02x} on line {line} (offset {exc.start})"
    return None


def is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the head is still text
        return exc.start >= len(head) - 4
    return True
