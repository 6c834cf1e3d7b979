"""How faithful a map is to the vectors it was made from.

- `trustworthiness_continuity`: scikit-learn's trustworthiness (are the map's
  neighbours real neighbours?) and continuity (are real neighbours still
  neighbours on the map? = trustworthiness with the two spaces swapped), both
  on the same random sample of rows.
- `knn_overlap`: per point, the share of its k nearest neighbours in the
  vectors that are also among its k nearest on the map; neighbours are
  searched among all points (faiss, exact), streaming the vectors in chunks so
  a memory-mapped set is never copied whole.

For metric "cosine" the vectors are compared by cosine distance (equivalently,
Euclidean distance of L2-normalised rows); the map always by Euclidean
distance.
"""

from __future__ import annotations

import numpy as np

from explorer.compute.vectors import layout_metric, unit
from explorer.core.jobs import TaskState
from explorer.core.vector_checks import chunk_rows


def sample_rows(n: int, sample: int | None, seed: int = 0) -> np.ndarray:
    """Sorted row numbers of a deterministic random sample (all rows when n <= sample)."""
    if sample is None or n <= sample:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=int(sample), replace=False)).astype(np.int64)


def _rows(a: np.ndarray, rows: np.ndarray, normalise: bool = False) -> np.ndarray:
    x = np.array(a[rows], dtype=np.float64)
    if not np.isfinite(x).all():
        np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return unit(x) if normalise else x


def trustworthiness_continuity(high: np.ndarray, low: np.ndarray, k: int = 10,
                               sample: int | None = 2000, metric: str = "cosine",
                               seed: int = 0) -> dict:
    """Trustworthiness and continuity (scikit-learn's definition) on one sample of rows.

    `k` is lowered to what scikit-learn allows (< sample size / 2) for tiny sets.
    """
    from sklearn.manifold import trustworthiness

    if high.shape[0] != low.shape[0]:
        raise ValueError(f"{high.shape[0]} vectors but {low.shape[0]} map rows")
    metric = layout_metric(metric)
    rows = sample_rows(high.shape[0], sample, seed)
    m = rows.size
    k = int(min(k, (m - 1) // 2))
    if k < 1:
        return {"trustworthiness": None, "continuity": None, "sample_size": int(m), "k": 0}
    h = _rows(high, rows)
    lo = _rows(low, rows)
    trust = trustworthiness(h, lo, n_neighbors=k, metric=metric)
    # swapped roles: sklearn measures the second space with Euclidean distance, which on
    # L2-normalised rows ranks neighbours exactly as cosine distance does
    h_emb = _rows(high, rows, normalise=True) if metric == "cosine" else h
    cont = trustworthiness(lo, h_emb, n_neighbors=k, metric="euclidean")
    return {"trustworthiness": float(trust), "continuity": float(cont),
            "sample_size": int(m), "k": k}


OVERLAP_ALL_ROWS = 20_000          # knn_overlap: every point up to this many ...
OVERLAP_PAIR_BUDGET = 400_000_000  # ... then as many query rows as keep queries x n under this


def default_overlap_rows(n: int) -> int:
    """How many points `knn_overlap` scores by default: all up to 20k, then fewer as n grows
    (1000 at 400k and above), since each costs a pass over all n vectors."""
    if n <= OVERLAP_ALL_ROWS:
        return n
    return int(max(1000, min(OVERLAP_ALL_ROWS, OVERLAP_PAIR_BUDGET // n)))


def knn_overlap(high: np.ndarray, low: np.ndarray, k: int = 10, rows: np.ndarray | None = None,
                metric: str = "cosine", max_rows: int | None = None, seed: int = 0,
                state: TaskState | None = None) -> np.ndarray:
    """|kNN_high(i) ∩ kNN_low(i)| / k per query row i, float32.

    With `rows`, one value per given row. Without, one value per point: every
    point when n <= max_rows (default: `default_overlap_rows(n)`), else a
    deterministic sample of `max_rows` points and NaN for the others (searching
    the high-dimensional space costs n x queries x d). A point is never its own
    neighbour.
    """
    state = state or TaskState()
    metric = layout_metric(metric)
    n = high.shape[0]
    if low.shape[0] != n:
        raise ValueError(f"{n} vectors but {low.shape[0]} map rows")
    if rows is None:
        query = sample_rows(n, default_overlap_rows(n) if max_rows is None else max_rows, seed)
        full = True
    else:
        query = np.asarray(rows, dtype=np.int64).ravel()
        full = False
    k = int(min(k, n - 1))
    if k < 1 or query.size == 0:
        values = np.full(query.size, np.nan, dtype=np.float32)
    else:
        state.status("Neighbours in the vectors")
        nh = _knn_streamed(high, query, k, metric == "cosine", state.sub(0.0, 0.9))
        state.status("Neighbours on the map")
        nl = _knn_streamed(low, query, k, False, state.sub(0.9, 1.0))
        values = np.empty(query.size, dtype=np.float32)
        for i in range(query.size):
            values[i] = np.intersect1d(nh[i], nl[i], assume_unique=True).size / k
    if not full:
        return values
    out = np.full(n, np.nan, dtype=np.float32)
    out[query] = values
    return out


def _knn_streamed(base: np.ndarray, query_rows: np.ndarray, k: int, normalise: bool,
                  state: TaskState) -> np.ndarray:
    """Exact k nearest rows of `base` (excluding the row itself) for each query row.

    Inner product on normalised rows for cosine, squared L2 otherwise; the base
    is read in chunks and candidates merged, so memory stays at one chunk.
    """
    import faiss

    n, d = base.shape
    q = _rows(base, query_rows, normalise).astype(np.float32)
    kk = min(k + 1, n)
    metric = faiss.METRIC_INNER_PRODUCT if normalise else faiss.METRIC_L2
    best_s = None
    best_i = None
    step = chunk_rows(d)
    for start in range(0, n, step):
        stop = min(n, start + step)
        xb = np.array(base[start:stop], dtype=np.float32)
        if not np.isfinite(xb).all():
            np.nan_to_num(xb, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if normalise:
            norms = np.linalg.norm(xb, axis=1, keepdims=True)
            np.divide(xb, norms, out=xb, where=norms > 0)
        s, i = faiss.knn(q, xb, min(kk, stop - start), metric=metric)
        i = np.where(i >= 0, i + start, -1)
        if best_s is None:
            best_s, best_i = s, i
        else:
            best_s = np.concatenate([best_s, s], axis=1)
            best_i = np.concatenate([best_i, i], axis=1)
            # larger is better for inner product, smaller for L2
            key = -best_s if normalise else best_s
            keep = np.argsort(key, axis=1, kind="stable")[:, :kk]
            best_s = np.take_along_axis(best_s, keep, axis=1)
            best_i = np.take_along_axis(best_i, keep, axis=1)
        state.progress(stop, n)
    out = np.empty((query_rows.size, k), dtype=np.int64)
    for r, row in enumerate(query_rows):
        cand = best_i[r][best_i[r] != row]
        out[r] = cand[:k]
    return out


__all__ = ["default_overlap_rows", "knn_overlap", "sample_rows", "trustworthiness_continuity"]
