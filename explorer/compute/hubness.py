"""Hubness: how often each item is among the others' k nearest neighbours.

In high dimensions a few items ("hubs") turn up in very many neighbour lists
and many ("anti-hubs") in none, which skews every kNN-based answer. The
k-occurrence N_k(x) counts the lists x appears in; its skewness summarises how
strongly a set has hubs (0: none; above 1: strong).

The kNN graph is exact (faiss brute force, batched) up to EXACT_MAX rows and
comes from the set's HNSW index above; the counts are stored with the set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from explorer.compute.neighbours import open_index, set_norms, vectors_signature
from explorer.compute.vectors import check_metric
from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

EXACT_MAX = 200_000
KIND = "hubness"
TOP = 20


@dataclass
class Hubness:
    k: int
    metric: str
    counts: np.ndarray = field(repr=False)  # int32 per row
    skewness: float
    hubs: np.ndarray = field(repr=False)  # rows, most frequent first
    antihubs: np.ndarray = field(repr=False)  # rows nobody lists (or the least listed)
    antihub_count: int
    exact: bool
    seconds: float

    def to_dict(self, top: int = TOP) -> dict:
        return {"k": self.k, "metric": self.metric, "skewness": self.skewness,
                "antihub_count": self.antihub_count, "exact": self.exact,
                "seconds": self.seconds, "max": int(self.counts.max(initial=0)),
                "hubs": [{"row": int(r), "count": int(self.counts[r])} for r in self.hubs[:top]],
                "antihubs": [int(r) for r in self.antihubs[:top]],
                "histogram": np.bincount(self.counts).tolist()}


def summarise(counts: np.ndarray, k: int, metric: str, exact: bool, seconds: float) -> Hubness:
    counts = np.asarray(counts, dtype=np.int32)
    c = counts.astype(np.float64)
    sd = c.std()
    skew = float(((c - c.mean()) ** 3).mean() / sd ** 3) if sd > 0 else 0.0
    hubs = np.lexsort((np.arange(len(c)), -c))[:TOP]
    zero = np.flatnonzero(counts == 0)
    antihubs = zero[:TOP] if zero.size else np.argsort(c, kind="stable")[:TOP]
    return Hubness(k, metric, counts, skew, hubs.astype(np.int64), antihubs.astype(np.int64),
                   int(zero.size), exact, seconds)


def k_occurrence(es: EmbeddingSet, k: int = 10, metric: str | None = None,
                 state: TaskState | None = None) -> Hubness:
    """N_k for every item (self excluded), cached in the library."""
    state = state or TaskState()
    metric = metric or es.metric
    check_metric(metric)
    n = es.count
    if not 1 <= k < n:
        raise InputError(f"k must be between 1 and {n - 1} for a set of {n} items, got {k}")
    store = ArtifactStore(es.path) if es.path is not None else None
    key = f"{metric}-k{k}"
    sig = vectors_signature(es)
    if store is not None:
        found = store.load(KIND, key)
        if found is not None and found[1].get("signature") == sig:
            meta = found[1]
            return summarise(np.asarray(found[0]), k, metric, meta["exact"], meta["seconds"])
    start = time.perf_counter()
    norms = set_norms(es, state.sub(0, 0.05))
    ind, exact = knn_graph(es, k, metric, norms, state.sub(0.05, 1.0))
    counts = np.bincount(ind[ind >= 0], minlength=n).astype(np.int32)
    result = summarise(counts, k, metric, exact, time.perf_counter() - start)
    if store is not None:
        try:
            store.save(KIND, key, counts, {"signature": sig, "exact": exact,
                                           "seconds": result.seconds})
        except OSError:
            pass
    return result


def knn_graph(es: EmbeddingSet, k: int, metric: str, norms: np.ndarray,
              state: TaskState) -> tuple[np.ndarray, bool]:
    """(n, k) rows of each row's k nearest others (-1 where missing), and whether exact.

    Large sets use the set's HNSW index (the one neighbour search uses, built and
    stored if it is not there yet), so the graph is built once for both.
    """
    import faiss

    vectors = es.vectors
    n, d = vectors.shape
    exact = n <= EXACT_MAX
    params = None
    if exact:
        faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
        index = faiss.IndexFlat(d, faiss_metric)
    else:
        state.status("Opening the HNSW index")
        index = open_index(es, metric, "hnsw", state.sub(0, 0.5))[0].faiss_index
        params = faiss.SearchParametersHNSW(efSearch=max(64, 2 * k))
    scale = None
    if metric == "cosine":
        scale = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0).astype(np.float32)

    def rows(lo: int, hi: int) -> np.ndarray:
        x = np.ascontiguousarray(vectors[lo:hi], dtype=np.float32)
        return x * scale[lo:hi, None] if scale is not None else x

    if exact:
        add_step = 65536
        state.status("Indexing for the neighbour graph")
        for lo in range(0, n, add_step):
            index.add(rows(lo, min(n, lo + add_step)))
            state.progress(min(n, lo + add_step), n * 4)
    # brute force: keep each call near 2e10 flops so cancel answers within a second or so
    step = int(max(256, min(16384, 2e10 // max(1, n * d)))) if exact else 8192
    out = np.full((n, k), -1, dtype=np.int64)
    zero = norms == 0 if metric == "cosine" else None
    # zero rows (cosine 0) can outrank real neighbours with negative cosines: ask for enough
    want = min(n, k + 1 + (int(zero.sum()) if zero is not None else 0))
    state.status("Finding every item's neighbours")
    done_before = n // 4 if exact else n  # after the flat adds, or the HNSW index (half)
    total = n + done_before
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        _, ids = index.search(rows(lo, hi), want, params=params)
        for i, row in enumerate(range(lo, hi)):
            found = ids[i][(ids[i] != row) & (ids[i] >= 0)]
            if zero is not None:
                found = found[~zero[found]]
            out[row, :min(k, len(found))] = found[:k]
        state.progress(done_before + hi, total)
    if zero is not None:
        out[zero] = -1  # a zero vector has no cosine neighbours
    return out, exact
