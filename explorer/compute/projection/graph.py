"""umap's fuzzy simplicial set of a kNN graph and its curve fit, over our cached kernels."""

from __future__ import annotations

import functools

import numpy as np

from explorer.compute.numba import run_parallel
from explorer.compute.numba.umap_kernels import (
    fuzzy_union,
    membership_strengths,
    smooth_knn_dist,
)

# fuzzy_graph's union runs in numba from this many rows: at 1M x 15 it took 2.0 s and 385 MB
# against scipy's 3.2 s and 500 MB; at 100k they tie, and below, numba's thread start costs
# more than it saves (bench_projection --only union)
NUMBA_UNION_MIN = 200_000


def smooth_knn(dist: np.ndarray, k: float, local_connectivity: float = 1.0):
    """(sigmas, rhos) per row of kNN distances: the cached kernel, with its types fixed."""
    args = (np.ascontiguousarray(dist, dtype=np.float32), float(k), 64,
            float(local_connectivity), 1.0)
    return run_parallel(smooth_knn_dist, *args)  # compiled first, never under the lock


def fuzzy_graph(ind: np.ndarray, dist: np.ndarray, n_neighbors: int, *, n_epochs: int = 0,
                engine: str = "auto"):
    """umap's fuzzy simplicial set (fuzzy union) of a kNN graph, as a scipy CSR matrix.

    With `n_epochs` > 0 the edges below max / n_epochs are dropped (umap's pruning before
    its epochs); `engine` as in `union_graph`.
    """
    m = ind.shape[0]
    dist = np.ascontiguousarray(dist, dtype=np.float32)
    sigmas, rhos = smooth_knn(dist, float(n_neighbors), 1.0)
    rows, cols, vals = membership_strengths(
        np.ascontiguousarray(ind, dtype=np.int64), dist, sigmas, rhos, False)
    return union_graph(rows, cols, vals, m, n_epochs=n_epochs, engine=engine)


def union_graph(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n: int, *,
                n_epochs: int = 0, engine: str = "auto"):
    """The fuzzy union a + b - ab of a COO matrix (duplicates summed) and its transpose, CSR.

    `engine` "numba" is `fuzzy_union`, O(E) on every core; "scipy" the sparse-matrix
    arithmetic, with its sorts and temporaries; "auto" takes numba from
    NUMBA_UNION_MIN rows. Both give the same edges, in the same order, and weights.
    """
    import scipy.sparse

    if engine == "auto":
        engine = "numba" if n >= NUMBA_UNION_MIN else "scipy"
    if engine == "numba":
        head, tail, w = run_parallel(fuzzy_union, np.ascontiguousarray(rows, dtype=np.int32),
                                     np.ascontiguousarray(cols, dtype=np.int32),
                                     np.ascontiguousarray(vals, dtype=np.float32), int(n),
                                     int(n_epochs))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(head, minlength=n), out=indptr[1:])
        g = scipy.sparse.csr_matrix((w, tail, indptr), shape=(n, n), copy=False)
        g.has_sorted_indices = True  # the kernel's order: by head, then tail, no duplicates
        g.has_canonical_format = True
        return g
    if engine != "scipy":
        raise ValueError(f"unknown fuzzy union engine {engine!r}")
    g = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
    g.eliminate_zeros()
    t = g.transpose().tocsr()
    g = (g + t - g.multiply(t)).tocsr()
    g.eliminate_zeros()
    if n_epochs > 0 and g.nnz:
        g.data[g.data < g.data.max() / np.float32(n_epochs)] = 0.0
        g.eliminate_zeros()
    return g


@functools.lru_cache(maxsize=32)
def find_ab_params(spread: float, min_dist: float) -> tuple[float, float]:
    """umap's fit of 1 / (1 + a d^2b) to the offset exponential given by min_dist."""
    from scipy.optimize import curve_fit

    def curve(x, a, b):
        return 1.0 / (1.0 + a * x ** (2 * b))

    xv = np.linspace(0, spread * 3, 300)
    yv = np.zeros(xv.shape)
    yv[xv < min_dist] = 1.0
    yv[xv >= min_dist] = np.exp(-(xv[xv >= min_dist] - min_dist) / spread)
    params, _ = curve_fit(curve, xv, yv)
    return float(params[0]), float(params[1])
