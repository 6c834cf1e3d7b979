"""PCA: exact, fitted on (a block sample of) the rows, every row transformed in chunks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer.compute.projection.rows import block_sample, clean_rows, prefetch, release
from explorer.core.jobs import TaskState
from explorer.core.vector_checks import chunk_rows

if TYPE_CHECKING:
    from explorer.compute.projection.params import ProjectionParams

PCA_FIT_ROWS = 100_000         # PCA: mean and covariance from at most this many rows


def fit(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
        ) -> tuple[np.ndarray, dict]:
    """Exact PCA of (a sample of) the rows; transform all rows in chunks."""
    n, d = vectors.shape
    cos = params.metric == "cosine"
    m = min(n, params.sample or PCA_FIT_ROWS)
    rows = block_sample(n, m, params.seed)
    m = n if rows is None else int(rows.size)
    state.status("PCA: fitting" + (f" on {m:,} of {n:,} rows" if rows is not None else ""))
    mean, components, evr, total_var = pca_fit(vectors, rows, params.dims, cos,
                                               state.sub(0.0, 0.45))
    state.status("PCA: placing every row")
    coords = pca_transform(vectors, mean, components, cos, state.sub(0.45, 1.0))
    return coords, {"explained_variance_ratio": [float(v) for v in evr],
                    "fit_rows": int(m), "total_variance": float(total_var)}


def pca_fit(vectors: np.ndarray, rows: np.ndarray | None, dims: int, normalise: bool,
            state: TaskState | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mean (d,), components (dims, d) with sklearn's sign convention, explained variance ratio.

    One pass over the rows in chunks accumulating float64 sums around a shift
    (the first chunk's mean), so it is exact up to rounding and never holds more
    than a chunk. Components beyond the data's dimension are zero.
    """
    state = state or TaskState()
    n, d = vectors.shape
    m = n if rows is None else rows.size
    step = max(1, min(chunk_rows(d), 32768))
    shift = None
    total = np.zeros(d, dtype=np.float64)
    scatter = np.zeros((d, d), dtype=np.float64)
    for start in range(0, m, step):
        stop = min(m, start + step)
        if rows is None:
            prefetch(vectors, stop, min(m, stop + step))
        elif stop < m:
            prefetch(vectors, int(rows[stop]), int(rows[min(m, stop + step) - 1]) + 1)
        raw = vectors[start:stop] if rows is None else vectors[rows[start:stop]]
        # float32 products (sgemm, twice dgemm's speed) summed per chunk into float64:
        # centred on a shift, a chunk's sums lose nothing a 2-D map can show
        chunk = clean_rows(raw, normalise)
        if shift is None:
            shift = chunk.mean(axis=0, dtype=np.float64).astype(np.float32)
        chunk -= shift
        total += chunk.sum(axis=0, dtype=np.float64)
        scatter += chunk.T @ chunk
        state.progress(stop, m)
    release(vectors)
    mean_shifted = total / m
    cov = (scatter - m * np.outer(mean_shifted, mean_shifted)) / max(1, m - 1)
    mean = shift.astype(np.float64) + mean_shifted
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals = np.clip(evals[order], 0.0, None)
    evecs = evecs[:, order]
    k = min(dims, d)
    comps = np.zeros((dims, d), dtype=np.float64)
    comps[:k] = evecs[:, :k].T
    # sklearn's svd_flip(u_based_decision=False): the largest |entry| of each component is > 0
    for i in range(k):
        j = int(np.argmax(np.abs(comps[i])))
        if comps[i, j] < 0:
            comps[i] = -comps[i]
    total_var = float(evals.sum())
    evr = np.zeros(dims)
    if total_var > 0:
        evr[:k] = evals[:k] / total_var
    return mean, comps, evr, total_var


def pca_transform(vectors: np.ndarray, mean: np.ndarray, components: np.ndarray,
                  normalise: bool, state: TaskState | None = None) -> np.ndarray:
    """(x [/|x|] - mean) @ components.T for every row, in chunks, without copying the matrix."""
    state = state or TaskState()
    n, d = vectors.shape
    dims = components.shape[0]
    w = np.ascontiguousarray(components.T, dtype=np.float32)     # (d, dims)
    offset = (mean @ components.T).astype(np.float32)             # (dims,)
    out = np.empty((n, dims), dtype=np.float32)
    step = chunk_rows(d)
    prefetch(vectors, 0, min(n, step))
    for start in range(0, n, step):
        stop = min(n, start + step)
        prefetch(vectors, stop, min(n, stop + step))
        chunk = np.asarray(vectors[start:stop])
        if chunk.dtype != np.float32:
            chunk = chunk.astype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            proj = chunk @ w
        bad = ~np.isfinite(proj).all(axis=1)
        if bad.any():  # rows with NaN/Inf: redo them with the offending values zeroed
            proj[bad] = clean_rows(chunk[bad], False) @ w
        if normalise:
            with np.errstate(invalid="ignore", over="ignore"):
                sq = np.einsum("ij,ij->i", chunk, chunk)
            if bad.any():
                clean_bad = clean_rows(chunk[bad], False)
                sq[bad] = np.einsum("ij,ij->i", clean_bad, clean_bad)
            norms = np.sqrt(sq, dtype=np.float32)
            np.divide(proj, norms[:, None], out=proj, where=norms[:, None] > 0)
        proj -= offset
        out[start:stop] = proj
        state.progress(stop, n)
        if start // step % 4 == 3:
            release(vectors)
    release(vectors)
    return out


def pca_init(x: np.ndarray, dims: int) -> np.ndarray:
    """A PCA layout of rows already in memory: UMAP's and t-SNE's start."""
    mean, comps, _, _ = pca_fit(x, None, dims, False)
    return (x - mean) @ comps.T
