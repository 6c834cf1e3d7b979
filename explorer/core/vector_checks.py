"""One pass over the vectors that finds rows no metric can use.

Works in row chunks so a memory-mapped set is never copied whole into RAM. The
pass computes squared norms with einsum (memory-bandwidth bound); only the rare
rows whose norm is not finite or is zero are looked at element by element, so a
NaN in row 5 column 17 can be reported as exactly that.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field

import numpy as np

from explorer.core.jobs import TaskState

CHUNK_BYTES = 64 << 20


@dataclass
class VectorScan:
    count: int
    dim: int
    nonfinite_rows: np.ndarray = field(repr=False)
    zero_rows: np.ndarray = field(repr=False)
    first_nonfinite: tuple[int, int] | None = None  # (row, column), 0-based
    norms: np.ndarray | None = field(default=None, repr=False)  # |x| per row (float32)

    @property
    def nan_rows(self) -> int:
        return int(self.nonfinite_rows.size)

    @property
    def n_zero_rows(self) -> int:
        return int(self.zero_rows.size)


def chunk_rows(dim: int, itemsize: int = 4) -> int:
    return max(1, CHUNK_BYTES // max(1, dim * itemsize))


def release_pages(vectors: np.ndarray) -> None:
    """Drop a memory map's pages read so far from this process (they stay in the page cache).

    A chunked pass over a memory-mapped set would otherwise leave every page it
    touched counted in the process's memory, as much as the whole file.
    """
    own = getattr(vectors, "release_pages", None)  # a sharded set's (core/sharded.py)
    if callable(own):
        own()
        return
    mapping = getattr(vectors, "_mmap", None) if isinstance(vectors, np.memmap) else None
    if mapping is None:
        return
    try:
        mapping.madvise(mmap.MADV_DONTNEED)
    except (AttributeError, OSError, ValueError):
        pass


def scan_vectors(vectors: np.ndarray, state: TaskState | None = None) -> VectorScan:
    """Find rows holding NaN/Inf and rows that are all zeros; keep every row's norm."""
    state = state or TaskState()
    n, d = vectors.shape
    step = chunk_rows(d, vectors.dtype.itemsize)
    bad: list[np.ndarray] = []
    zero: list[np.ndarray] = []
    first: tuple[int, int] | None = None
    norms = np.empty(n, dtype=np.float32)
    for start in range(0, n, step):
        chunk = np.asarray(vectors[start:start + step])
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            # Check what will be stored: float64 values beyond float32's range become
            # Inf and tiny ones 0 when the library writes float32.
            if chunk.dtype != np.float32:
                chunk = chunk.astype(np.float32)
            sq = np.einsum("ij,ij->i", chunk, chunk)
            norms[start:start + len(chunk)] = np.sqrt(sq)  # kept: search needs them
        suspect = np.flatnonzero(~np.isfinite(sq) | (sq == 0))
        if suspect.size:
            rows = chunk[suspect]
            finite = np.isfinite(rows)
            is_bad = ~finite.all(axis=1)
            is_zero = ~is_bad & ~(rows != 0).any(axis=1)
            if is_bad.any():
                bad.append(suspect[is_bad] + start)
                if first is None:
                    r = int(np.flatnonzero(is_bad)[0])
                    first = (int(suspect[r] + start), int(np.flatnonzero(~finite[r])[0]))
            if is_zero.any():
                zero.append(suspect[is_zero] + start)
        release_pages(vectors)
        state.progress(min(n, start + step), n)
    empty = np.zeros(0, dtype=np.int64)
    return VectorScan(
        count=n,
        dim=d,
        nonfinite_rows=np.concatenate(bad).astype(np.int64) if bad else empty,
        zero_rows=np.concatenate(zero).astype(np.int64) if zero else empty,
        first_nonfinite=first,
        norms=norms,
    )
