"""Scores: every item's projection on a direction, read from the set chunk by chunk.

For cosine sets the projection of its unit vector, i.e. the cosine between the
item and the direction, so long vectors do not dominate. Chunks keep a
memory-mapped set out of memory and let a long scoring report progress and stop.
"""

from __future__ import annotations

import numpy as np

from explorer.compute.concepts.direction import Direction, check_dim
from explorer.compute.vectors import unit
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

CHUNK = 65_536  # rows per read of a memory-mapped set: progress and cancel between chunks


def _read(es: EmbeddingSet, rows: np.ndarray | None, lo: int, hi: int) -> np.ndarray:
    idx = slice(lo, hi) if rows is None else rows[lo:hi]
    return np.asarray(es.vectors[idx], dtype=np.float32)


def represent(es: EmbeddingSet, rows) -> np.ndarray:
    """The rows as concepts see them: unit vectors for cosine sets, raw ones otherwise."""
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), es.dim), dtype=np.float32)
    for lo in range(0, len(rows), CHUNK):
        x = _read(es, rows, lo, lo + CHUNK)
        out[lo:lo + len(x)] = unit(x) if es.metric == "cosine" else x
    return out


def mean_representation(es: EmbeddingSet, rows: np.ndarray) -> np.ndarray:
    """The mean of the rows as scored (`represent`), in chunks, float64."""
    total = np.zeros(es.dim, dtype=np.float64)
    for lo in range(0, len(rows), CHUNK):
        total += represent(es, rows[lo:lo + CHUNK]).sum(axis=0, dtype=np.float64)
    return total / max(1, len(rows))


def score_matrix(es: EmbeddingSet, directions, rows=None, raw: bool = False,
                 state: TaskState | None = None, norms_out: np.ndarray | None = None) -> np.ndarray:
    """float32 (n, k): each row's projection on each direction, chunk by chunk.

    Cosine sets project unit rows (scores are cosines; zero rows score 0) unless
    `raw`; dot / l2 sets project the raw rows. `rows` scores a subset, in its order;
    `norms_out`, if given, receives each scored row's length on the way.
    """
    state = state or TaskState()
    vs = [d.vector if isinstance(d, Direction) else np.asarray(d, np.float32) for d in directions]
    for d in directions:
        if isinstance(d, Direction):
            check_dim(es, d)
    if not vs:
        raise InputError("no direction to score along")
    v = np.stack(vs, axis=1).astype(np.float32)
    if v.shape[0] != es.dim:
        raise InputError(f"a direction has {v.shape[0]} dimensions but the set has {es.dim}")
    rows = None if rows is None else np.asarray(rows, dtype=np.int64)
    n = es.count if rows is None else len(rows)
    out = np.empty((n, v.shape[1]), dtype=np.float32)
    normalise = es.metric == "cosine" and not raw
    for lo in range(0, n, CHUNK):
        x = _read(es, rows, lo, lo + CHUNK)
        p = x @ v
        if normalise or norms_out is not None:
            nrm = np.sqrt(np.einsum("ij,ij->i", x, x))
            if norms_out is not None:
                norms_out[lo:lo + len(x)] = nrm
            if normalise:
                p = np.divide(p, nrm[:, None], out=np.zeros_like(p), where=nrm[:, None] > 0)
        out[lo:lo + len(x)] = p
        state.progress(min(n, lo + CHUNK), n)
    return out


def scores(es: EmbeddingSet, direction: Direction, rows=None, raw: bool = False,
           state: TaskState | None = None) -> np.ndarray:
    """float32 [n]: every item's score along the direction (see `score_matrix`)."""
    return score_matrix(es, [direction], rows, raw, state)[:, 0]
