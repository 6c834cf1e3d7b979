"""What a loader is, and the helpers every loader shares."""

from __future__ import annotations

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


@dataclass
class Loaded:
    """What a loader returns before the shared checks run."""

    vectors: np.ndarray
    metadata: pa.Table | None = None
    vector_column: str | None = None
    metric: str | None = None  # when the file says (ann-benchmarks 'distance')
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


def read_head(path: Path, size: int = 4096) -> bytes:
    """Open the file once, so unreadable paths fail here with a clear message."""
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a directory, not a file",
                         path=path, hint="choose a file inside it")
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except PermissionError:
        raise InputError("permission denied: the file is not readable", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", path=path) from None


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
            f"the file is {size / 2**30:.1f} GiB and reading {fmt.name} needs about "
            f"{need / 2**30:.1f} GiB of memory, but only {avail / 2**30:.1f} GiB is free",
            path=path,
            hint="convert it to .npy, which is memory-mapped, or free some memory",
        )


def is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the head is still text
        return exc.start >= len(head) - 4
    return True


def numeric_matrix(table: pa.Table, path: Path) -> np.ndarray:
    """Stack numeric Arrow columns into an (n, d) float32 array."""
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if col.null_count:
            row = _first_null(col)
            raise InputError("empty cell where a number was expected",
                             path=path, row=row, column=name)
        cols.append(col.to_numpy().astype(np.float32, copy=False))
    if not cols:
        return np.zeros((table.num_rows, 0), dtype=np.float32)
    return np.column_stack(cols)


def _first_null(col: pa.ChunkedArray) -> int:
    import pyarrow.compute as pc
    return int(pc.index(pc.is_null(col), True).as_py())
