"""Hubness: how often each item is among the others' k nearest neighbours.

In high dimensions a few items ("hubs") turn up in very many neighbour lists
and many ("anti-hubs") in none, which skews every kNN-based answer. The
k-occurrence N_k(x) counts the lists x appears in; its skewness summarises how
strongly a set has hubs (0: none; above 1: strong).

Where the kNN graph comes from, cheapest first: the counts kept in the library; the graph a
UMAP map of the set stored (knn_store) when its metric agrees and its k suffices (at 1M rows,
seconds: a pass over the set checks the graph's recall; minutes to search every row); an exact
search (faiss brute force) up to EXACT_MAX rows or when asked; above, the pivot join of
projection/knn_graph.py, every row's nearest pivots found through a tree of pivot samples
(27-37 s at 1M x 384 on two shared cores, load 2-4; the HNSW over the pivots it replaced
59-82 s in the same runs), stored so a map or a later count reuses it (0.9 s).
"dot" has no map graph and no join: its large sets search the set's HNSW index. A result says
which graph it counted and, when approximate, the graph's recall on a sample of rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from explorer.compute import knn_store
from explorer.compute.neighbours import open_index, set_norms, vectors_signature
from explorer.compute.projection.knn_graph import KnnGraph, all_knn, sampled_recall
from explorer.compute.vectors import check_metric, layout_metric
from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

EXACT_MAX = 200_000
KIND = "hubness"
TOP = 20
GRAPH_K = 16      # a graph joined here keeps 15 others: it serves UMAP's default 15 too
# Lists a row joins and lists its group reads in the graph joined here (a map's join keeps
# knn_graph's 3 and 6). 1M x 384 mixture, recall@10 on 1000 rows, skewness of N_10 against
# 0.226 from a reference graph of recall 0.981 (4, 12, three rounds: 31 s), seconds of the
# graph on a quiet machine: (3, 6) 0.910, 0.257, 18 s; (3, 8) 0.945, 0.244, 20 s;
# (4, 8) 0.966, 0.234, 22 s. The HNSW over the pivots before: 0.856, 0.325, 35 s.
GRAPH_ASSIGN, GRAPH_PROBE = 4, 8
# rows whose true neighbours check an approximate graph (1,000 neighbours at k = 10): the
# check is one pass over the set whatever their number, 0.7-1.9 s at 1M x 384 (load 2-4),
# the blocks of rows compared where they lie, scaled by the stored norms
RECALL_ROWS = 100
# approximate counts kept before this version are counted again: the HNSW search of every
# row they came from inflates hubs (bench_hubness.py, a 384-d mixture: on 100k rows skewness
# 0.64 against 0.35 exact, no top-20 hub in common; at 1M 6.9 against the pivot graph's 0.32);
# 3: the pivot tree's graph (1M skewness 0.234 against the reference's 0.226; before 0.325)
COUNTS_VERSION = 3
# where a result's neighbour lists came from
EXACT, MAP_GRAPH, STORED_GRAPH, PIVOT_GRAPH, HNSW = (
    "exact", "map graph", "stored graph", "pivot graph", "hnsw")


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
    source: str = EXACT        # EXACT, MAP_GRAPH, STORED_GRAPH, PIVOT_GRAPH or HNSW
    recall: float | None = None  # an approximate graph's sampled recall of the k nearest

    def to_dict(self, top: int = TOP) -> dict:
        return {"k": self.k, "metric": self.metric, "skewness": self.skewness,
                "antihub_count": self.antihub_count, "exact": self.exact,
                "source": self.source, "recall": self.recall,
                "seconds": self.seconds, "max": int(self.counts.max(initial=0)),
                "hubs": [{"row": int(r), "count": int(self.counts[r])} for r in self.hubs[:top]],
                "antihubs": [int(r) for r in self.antihubs[:top]],
                "histogram": np.bincount(self.counts).tolist()}


@dataclass
class Lists:
    """Each row's k nearest others (-1 where missing) and how they were found."""

    ids: np.ndarray  # (n, k) int64
    exact: bool
    source: str
    recall: float | None = None


def summarise(counts: np.ndarray, k: int, metric: str, exact: bool, seconds: float,
              source: str = EXACT, recall: float | None = None) -> Hubness:
    counts = np.asarray(counts, dtype=np.int32)
    c = counts.astype(np.float64)
    sd = c.std()
    skew = float(((c - c.mean()) ** 3).mean() / sd ** 3) if sd > 0 else 0.0
    hubs = np.lexsort((np.arange(len(c)), -c))[:TOP]
    zero = np.flatnonzero(counts == 0)
    antihubs = zero[:TOP] if zero.size else np.argsort(c, kind="stable")[:TOP]
    return Hubness(k, metric, counts, skew, hubs.astype(np.int64), antihubs.astype(np.int64),
                   int(zero.size), exact, seconds, source, recall)


def k_occurrence(es: EmbeddingSet, k: int = 10, metric: str | None = None,
                 state: TaskState | None = None, *, exact: bool = False) -> Hubness:
    """N_k for every item (self excluded), cached in the library.

    `exact`: count an exact search even where a graph is stored or the set is large (at
    1M rows that takes hours); an approximate count kept in the library is then not used.
    """
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
        meta = found[1] if found is not None else {}
        if meta.get("signature") == sig and \
                (meta["exact"] or (not exact and meta.get("version") == COUNTS_VERSION)):
            return summarise(np.asarray(found[0]), k, metric, meta["exact"], meta["seconds"],
                             meta.get("source", EXACT), meta.get("recall"))
    start = time.perf_counter()
    norms = set_norms(es, state.sub(0, 0.05))
    lists = neighbour_lists(es, k, metric, norms, exact, state.sub(0.05, 1.0))
    ind = lists.ids
    counts = np.bincount(ind[ind >= 0], minlength=n).astype(np.int32)
    result = summarise(counts, k, metric, lists.exact, time.perf_counter() - start,
                       lists.source, lists.recall)
    if store is not None:
        try:
            store.save(KIND, key, counts, {"signature": sig, "exact": lists.exact,
                                           "seconds": result.seconds, "source": lists.source,
                                           "recall": lists.recall, "version": COUNTS_VERSION})
        except OSError:
            pass
    return result


def neighbour_lists(es: EmbeddingSet, k: int, metric: str, norms: np.ndarray, exact: bool,
                    state: TaskState) -> Lists:
    """Every row's k nearest others from the cheapest graph that answers (module docstring)."""
    zero = norms == 0 if metric == "cosine" else None
    if not exact and metric != "dot":
        graph_metric = layout_metric(metric)  # l2 -> euclidean: the same order
        graph = knn_store.load_graph(es, graph_metric, k + 1)
        if graph is not None:
            made_by = (knn_store.stored(es, graph_metric) or {}).get("made_by")
            state.status("Counting the neighbour graph the library keeps")
            return from_graph(es.vectors, graph, k, zero,
                              MAP_GRAPH if made_by == "map" else STORED_GRAPH, state, norms)
        if es.count > EXACT_MAX:
            graph, _ = all_knn(es.vectors, graph_metric, max(k + 1, GRAPH_K), state.sub(0, 0.9),
                               norms=norms, exact_max=EXACT_MAX, assign=GRAPH_ASSIGN,
                               probe=GRAPH_PROBE)
            knn_store.save_graph(es, graph, made_by="hubness")
            return from_graph(es.vectors, graph, k, zero, PIVOT_GRAPH, state.sub(0.9, 1.0),
                              norms)
    exact = exact or es.count <= EXACT_MAX
    return Lists(knn_graph(es, k, metric, norms, state, exact=exact)[0], exact,
                 EXACT if exact else HNSW)


def from_graph(vectors: np.ndarray, graph: KnnGraph, k: int, zero: np.ndarray | None,
               source: str, state: TaskState, norms: np.ndarray | None = None) -> Lists:
    """The first k others of each row in a stored or joined graph, and its sampled recall at
    k (the first k + 1 columns: itself and its k nearest; `norms`, the set's, spare the
    check a cleaned copy of the rows). A graph lists a zero row at cosine distance 1 from
    every row: it is skipped, as the exact search skips it."""
    n = graph.ind.shape[0]
    exact = graph.method == "exact"
    recall = None
    if not exact:
        state.status("Checking the neighbour graph against an exact search of a few rows")
        used = KnnGraph(graph.ind[:, :k + 1], graph.dist[:, :k + 1], graph.metric, graph.method,
                        k + 1)
        recall = round(sampled_recall(vectors, used, RECALL_ROWS, state.sub(0, 0.9),
                                      norms=norms), 4)
    out = np.empty((n, k), dtype=np.int64)
    step = 1 << 16
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        ids, rows = np.asarray(graph.ind[lo:hi]), np.arange(lo, hi)
        # most rows list themselves first and then k others to count: taken as they are
        head = ids[:, 1:k + 1]
        plain = (ids[:, 0] == rows) & (head >= 0).all(axis=1) & \
            (head != rows[:, None]).all(axis=1)
        if zero is not None:
            plain &= ~zero[np.maximum(head, 0)].any(axis=1)
        out[lo:hi][plain] = head[plain]
        out[lo:hi][~plain] = first_others(ids[~plain], rows[~plain], k, zero)
    if zero is not None:
        out[zero] = -1
    state.progress(1)
    return Lists(out, exact, source, recall)


def first_others(ids: np.ndarray, rows: np.ndarray, k: int,
                 zero: np.ndarray | None) -> np.ndarray:
    """(len(rows), k) int64: each row's first k candidates in `ids` that are not the row
    itself, not missing (-1) and not a zero row (`zero`, cosine); -1 where there are fewer."""
    ok = (ids >= 0) & (ids != rows[:, None])
    if zero is not None:
        ok &= ~zero[np.where(ids >= 0, ids, 0)]
    rank = np.cumsum(ok, axis=1) - 1
    r, c = np.nonzero(ok & (rank < k))
    out = np.full((len(rows), k), -1, dtype=np.int64)
    out[r, rank[r, c]] = ids[r, c]
    return out


def knn_graph(es: EmbeddingSet, k: int, metric: str, norms: np.ndarray,
              state: TaskState, *, exact: bool | None = None) -> tuple[np.ndarray, bool]:
    """(n, k) rows of each row's k nearest others by a faiss search (-1 where missing), and
    whether exact: brute force (`exact`, by default up to EXACT_MAX rows; `exact_knn`), else
    the set's HNSW index (the one neighbour search uses, built and stored if it is not there).
    """
    exact = es.count <= EXACT_MAX if exact is None else exact
    if exact:
        return exact_knn(es.vectors, k, metric, norms, state), True
    import faiss

    state.status("Opening the HNSW index")
    index = open_index(es, metric, "hnsw", state.sub(0, 0.5))[0].faiss_index
    params = faiss.SearchParametersHNSW(efSearch=max(64, 2 * k))
    reader = RowReader(es.vectors, norms, metric)
    return search_lists(index, reader, None, k, 8192, state.sub(0.5, 1.0), params), False


def exact_knn(vectors: np.ndarray, k: int, metric: str, norms: np.ndarray, state: TaskState,
              *, rows: np.ndarray | None = None, queries: np.ndarray | None = None
              ) -> np.ndarray:
    """Each query's k nearest others by faiss brute force, (queries, k) int64, -1 where missing.

    Over `rows` of `vectors` (all when None; `norms` are the whole set's), in that order:
    neighbours and `queries` (all of them when None) are positions in `rows`, so two sets
    joined item by item search the same positions. Cosine skips zero rows, as `knn_graph`.
    """
    import faiss

    reader = RowReader(vectors, norms, metric, rows)
    n, d = reader.count, vectors.shape[1]
    index = faiss.IndexFlat(d, faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT)
    add_step = 65536
    state.status("Indexing for the neighbour graph")
    for lo in range(0, n, add_step):
        index.add(reader.read(slice(lo, min(n, lo + add_step))))
        state.progress(min(n, lo + add_step), n * 5)
    # keep each call near 2e10 flops so cancel answers within a second or so
    step = int(max(256, min(16384, 2e10 // max(1, n * d))))
    return search_lists(index, reader, queries, k, step, state.sub(0.2, 1.0))


class RowReader:
    """float32 rows `rows` of a set (all when None) as faiss compares them: scaled to unit
    length for cosine, a zero row left zero (`zero` marks them, by position)."""

    def __init__(self, vectors: np.ndarray, norms: np.ndarray, metric: str,
                 rows: np.ndarray | None = None) -> None:
        self.vectors, self.rows = vectors, rows
        self.count = vectors.shape[0] if rows is None else rows.size
        self.scale = self.zero = None
        if metric == "cosine":
            self.scale = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0),
                                  0.0).astype(np.float32)
            self.zero = norms == 0 if rows is None else norms[rows] == 0

    def read(self, positions: slice | np.ndarray) -> np.ndarray:
        picked = positions if self.rows is None else self.rows[positions]
        x = np.ascontiguousarray(self.vectors[picked], dtype=np.float32)
        return x * self.scale[picked, None] if self.scale is not None else x


def search_lists(index, reader: RowReader, queries: np.ndarray | None, k: int, step: int,
                 state: TaskState, params=None) -> np.ndarray:
    """The k nearest others of each query position (all when None) in a faiss index holding
    the reader's rows, `step` queries a call with progress (and cancel) between calls."""
    n = reader.count
    m = n if queries is None else queries.size
    zero = reader.zero
    out = np.full((m, k), -1, dtype=np.int64)
    # zero rows (cosine 0) can outrank real neighbours with negative cosines: ask for enough
    want = min(n, k + 1 + (int(zero.sum()) if zero is not None else 0))
    state.status("Finding every item's neighbours")
    for lo in range(0, m, step):
        hi = min(m, lo + step)
        at = np.arange(lo, hi) if queries is None else queries[lo:hi]
        _, ids = index.search(reader.read(slice(lo, hi) if queries is None else at), want,
                              params=params)
        out[lo:hi] = first_others(ids, at, k, zero)
        state.progress(hi, m)
    if zero is not None:
        out[zero if queries is None else zero[queries]] = -1  # no cosine neighbours
    return out
