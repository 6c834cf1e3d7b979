"""The kNN graph UMAP and t-SNE start from, and the search that places rows outside a sample
(faiss: no JIT to compile, unlike pynndescent)."""

from __future__ import annotations

import numpy as np

from explorer.core.jobs import TaskState

EXACT_KNN_MAX = 15_000         # exact (flat) kNN up to here, HNSW above
QUERY_CHUNK = 8192             # rows per faiss search call (cancellation granularity)


class KnnIndex:
    """Exact flat index for small sets, HNSW for large ones; inner product on normalised rows."""

    def __init__(self, x: np.ndarray, metric: str, state: TaskState) -> None:
        import faiss

        self.metric = metric
        m, d = x.shape
        ip = metric == "cosine"
        self.exact = m <= EXACT_KNN_MAX
        if self.exact:
            self.index = faiss.IndexFlatIP(d) if ip else faiss.IndexFlatL2(d)
            self.index.add(x)
            state.progress(1)
        else:
            faiss_metric = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
            self.index = faiss.IndexHNSWFlat(d, 16, faiss_metric)
            self.index.hnsw.efConstruction = 40
            step = max(QUERY_CHUNK, m // 50)
            for start in range(0, m, step):
                self.index.add(x[start:start + step])
                state.progress(min(m, start + step), m)

    def search(self, q: np.ndarray, k: int, state: TaskState,
               ef: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices int64 (q, k), distances float32 (q, k)); missing neighbours are -1."""
        if not self.exact:
            self.index.hnsw.efSearch = max(ef or 48, k + 8 if ef is None else k)
        nq = q.shape[0]
        ind = np.empty((nq, k), dtype=np.int64)
        dist = np.empty((nq, k), dtype=np.float32)
        step = QUERY_CHUNK
        if self.exact:  # brute force: keep each call near 1e10 flops (~0.2 s) for cancelling
            step = int(max(256, min(QUERY_CHUNK, 5e9 // max(1, self.index.ntotal * q.shape[1]))))
        for start in range(0, nq, step):
            s, i = self.index.search(q[start:start + step], k)
            ind[start:start + step] = i
            dist[start:start + step] = self._to_distance(s)
            state.progress(min(nq, start + step), nq)
        _fill_missing(ind, dist)
        return ind, dist

    def _to_distance(self, s: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":  # umap's cosine distance: 1 - cos
            return np.clip(1.0 - s, 0.0, 2.0)
        return np.sqrt(np.maximum(s, 0.0))


def _fill_missing(ind: np.ndarray, dist: np.ndarray) -> None:
    """Give missing neighbours (-1) a finite distance (the row's largest) so kernels stay sane."""
    missing = ind < 0
    if missing.any():
        masked = np.where(missing, -np.inf, dist)
        row_max = masked.max(axis=1)
        row_max[~np.isfinite(row_max)] = 1.0
        dist[missing] = np.broadcast_to(row_max[:, None], dist.shape)[missing]


def self_first(ind: np.ndarray, dist: np.ndarray) -> None:
    """Make column 0 the row itself (duplicates can push it down or out), as umap expects."""
    rows = np.arange(ind.shape[0])
    bad = np.flatnonzero(ind[:, 0] != rows)
    for r in bad:
        where = np.flatnonzero(ind[r] == r)
        if where.size:
            j = where[0]
            ind[r, 1:j + 1] = ind[r, :j].copy()
            dist[r, 1:j + 1] = dist[r, :j].copy()
        else:
            ind[r, 1:] = ind[r, :-1].copy()
            dist[r, 1:] = dist[r, :-1].copy()
        ind[r, 0] = r
        dist[r, 0] = 0.0
