"""Reading rows for a map: in chunks, cleaned, sampled, never the whole memory map at once."""

from __future__ import annotations

import mmap

import numpy as np

from explorer.core.jobs import TaskState
from explorer.core.vector_checks import chunk_rows


def release(vectors: np.ndarray) -> None:
    """Drop this process's mapping of pages read so far (they stay in the page cache)."""
    own = getattr(vectors, "release_pages", None)  # a sharded set's (core/sharded.py)
    if callable(own):
        own()
        return
    mapping = getattr(vectors, "_mmap", None) if isinstance(vectors, np.memmap) else None
    if mapping is None and isinstance(getattr(vectors, "base", None), mmap.mmap):
        mapping = vectors.base
    if mapping is not None:
        try:
            mapping.madvise(mmap.MADV_DONTNEED)
        except (AttributeError, OSError, ValueError):
            pass


def clean_rows(chunk: np.ndarray, normalise: bool) -> np.ndarray:
    """float32 copy with non-finite values zeroed and (for cosine) rows L2-normalised."""
    x = np.array(chunk, dtype=np.float32, copy=True, order="C")
    if not np.isfinite(x).all():
        np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    if normalise:
        norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(np.float32)
        np.divide(x, norms[:, None], out=x, where=norms[:, None] > 0)
    return x


def prefetch(vectors: np.ndarray, start: int, stop: int) -> None:
    """Ask the kernel to read rows start:stop of a memory-mapped file ahead (MADV_WILLNEED).

    Issued for the next chunk while this one is processed, so reading a set that is not
    in the page cache overlaps with computing instead of faulting in page by page.
    """
    mapping = getattr(vectors, "_mmap", None) if isinstance(vectors, np.memmap) else None
    if mapping is None or start >= stop or not vectors.flags.c_contiguous:
        return
    try:
        base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
        row_bytes = vectors.strides[0]
        begin = vectors.ctypes.data - base + start * row_bytes
        end = vectors.ctypes.data - base + stop * row_bytes
        begin -= begin % mmap.PAGESIZE
        end = min(end, len(mapping))
        if end > begin >= 0:
            mapping.madvise(mmap.MADV_WILLNEED, begin, end - begin)
    except (AttributeError, OSError, ValueError, TypeError, BufferError):
        pass


def block_sample(n: int, m: int, seed: int, block: int = 512) -> np.ndarray | None:
    """Sorted rows of ~m/block runs of `block` consecutive rows, one run in each of as many
    equal slices of 0..n (random offset inside each slice), or None for all rows.

    Used to fit PCA: reading runs touches ~m rows' worth of pages (sequential I/O) where
    m random rows would touch almost every page of the file, and one run in every slice
    still samples every part of a file sorted by, say, category.
    """
    if m >= n:
        return None
    if 2 * m > n:
        return sample_rows(n, m, seed)
    nblocks = max(1, m // block)
    sizes = np.full(nblocks, m // nblocks, dtype=np.int64)
    sizes[: m % nblocks] += 1                      # exactly m rows
    width = n / nblocks                            # >= 2 * max(sizes) - 1: runs never overlap
    rng = np.random.default_rng(seed)
    starts = np.arange(nblocks) * width + rng.uniform(0, 1, nblocks) * (width - sizes)
    starts = starts.astype(np.int64)
    return np.concatenate([np.arange(s, s + k) for s, k in zip(starts, sizes)])


def sample_rows(n: int, m: int, seed: int) -> np.ndarray | None:
    """Sorted row numbers of a deterministic random sample, or None for all rows."""
    if m >= n:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64)


def gather(vectors: np.ndarray, rows: np.ndarray | None, normalise: bool,
           state: TaskState) -> np.ndarray:
    """Rows (all when None) as a cleaned float32 (m, d) array, read in chunks."""
    n, d = vectors.shape
    m = n if rows is None else rows.size
    out = np.empty((m, d), dtype=np.float32)
    step = chunk_rows(d)
    for start in range(0, m, step):
        stop = min(m, start + step)
        chunk = vectors[start:stop] if rows is None else vectors[rows[start:stop]]
        out[start:stop] = clean_rows(chunk, normalise)
        state.progress(stop, m)
    release(vectors)
    return out


def read_fit_rows(vectors: np.ndarray, rows: np.ndarray | None, normalise: bool,
                  state: TaskState, label: str) -> np.ndarray:
    """The rows a `label` layout is fitted on, read as `gather` does, the status saying
    how many (and of how many, for a sample): every sampled method reports it alike."""
    n = vectors.shape[0]
    sampled = rows is not None
    m = rows.size if sampled else n
    state.status(f"{label}: reading {m:,} rows" + (f" (a sample of {n:,})" if sampled else ""))
    return gather(vectors, rows, normalise, state)


def fit_size(n: int, sample: int | None, above: int, auto: int) -> int:
    """Rows to fit on: the asked sample, else all up to `above` and `auto` past it."""
    if sample is not None:
        return min(n, int(sample))
    return auto if n > above else n
