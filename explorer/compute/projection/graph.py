"""umap's fuzzy simplicial set of a kNN graph and its curve fit, over our cached kernels."""

from __future__ import annotations

import functools

import numpy as np

from explorer.compute.numba import run_parallel
from explorer.compute.numba.umap_kernels import membership_strengths, smooth_knn_dist


def smooth_knn(dist: np.ndarray, k: float, local_connectivity: float = 1.0):
    """(sigmas, rhos) per row of kNN distances: the cached kernel, with its types fixed."""
    args = (np.ascontiguousarray(dist, dtype=np.float32), float(k), 64,
            float(local_connectivity), 1.0)
    return run_parallel(smooth_knn_dist, *args)  # compiled first, never under the lock


def fuzzy_graph(ind: np.ndarray, dist: np.ndarray, n_neighbors: int):
    """umap's fuzzy simplicial set (fuzzy union) of a kNN graph, as a scipy CSR matrix."""
    import scipy.sparse

    m = ind.shape[0]
    dist = np.ascontiguousarray(dist, dtype=np.float32)
    sigmas, rhos = smooth_knn(dist, float(n_neighbors), 1.0)
    rows, cols, vals = membership_strengths(
        np.ascontiguousarray(ind, dtype=np.int64), dist, sigmas, rhos, False)
    g = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(m, m)).tocsr()
    g.eliminate_zeros()
    t = g.transpose().tocsr()
    g = (g + t - g.multiply(t)).tocsr()
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
