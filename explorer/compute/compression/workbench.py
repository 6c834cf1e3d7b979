"""Evaluate compressions against exact search on the same metric, on sampled query rows.

Queries are rows of the set (a seeded sample, or rows given, e.g. a selection); each is
left out of its own results, in the exact and in the compressed search. The exact top
max(k, 100) (the ground truth) is computed once per (set, metric, query rows, depth) by a
faiss flat search over the float32 rows and kept in the library
(`<set>/artifacts/compression/`), as is each method's result, keyed by its parameters
(method, k, metric, queries, seed, the vectors' signature), so asking again costs nothing.

Identical texts embed identically, so exact search and a method may return different
duplicates at the k-th place. `overlap_with_ties` counts such a swap as kept, as the
per-query view does; `overlap` is the plain set overlap, which calls it a loss. The
tie-aware figures are worked out on every call, from the lists (cheap), not cached.
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from explorer.compute.compression import measures
from explorer.compute.compression.codecs import (OPQ_NITER, PQ_NITER, TRAIN_ROWS, make_codec,
                                                 train_rows)
from explorer.compute.compression.methods import Method, default_methods, parse_methods
from explorer.compute.neighbours import set_norms, vectors_signature
from explorer.compute.vectors import check_metric
from explorer.core.artifacts import ArtifactStore, safe_key
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

KIND = "compression"
FORMAT = 3  # 2: the cached array is the top-k ids; 3: scalar codes' search time by block scan
RECALL_AT = (1, 10, 100)
MIN_DEPTH = 100
DEFAULT_QUERIES = 1000
MAX_K = 1000
PAIR_BLOCK = 4_000_000  # float64 values of rows scored at once (32 MB)


@dataclass
class MethodResult:
    name: str
    bytes_per_vector: int  # one vector's code
    fixed_bytes: int  # trained parameters (matrices, codebooks, ranges), once per set
    total_bytes: int  # the whole set: count * bytes_per_vector + fixed_bytes
    recall_at: dict  # {j: share of queries whose exact nearest neighbour is in the top j}
    recall_at_k: float
    overlap: float  # mean |exact top-k & method top-k| / k
    rank_correlation: float  # mean Spearman rho of the exact top-k's ranks (see measures)
    distortion: float | None  # mean |method score - exact score| on the exact top-k pairs
    train_seconds: float
    encode_seconds: float
    search_ms_per_query: float
    trained_on: dict  # sample_rows, pq_iterations, opq_iterations where they apply
    rerank_bytes_per_vector: int = 0  # float32 rows read for re-ranking (binary-rerankR)
    cached: bool = False
    overlap_with_ties: float = math.nan  # `overlap`, a swap among items tied at the k-th kept
    queries_with_ties: int = 0  # queries whose k-th neighbour ties with another item
    ids: np.ndarray = field(default=None, repr=False)  # (queries, k) the method's top-k rows
    per_query_overlap: np.ndarray = field(default=None, repr=False)  # (queries,) plain
    per_query_kept: np.ndarray = field(default=None, repr=False)  # (queries,) with ties

    @property
    def stored_bytes_per_vector(self) -> int:
        """The code plus the float32 row a re-ranking method reads back (kept on disk or in RAM)."""
        return self.bytes_per_vector + self.rerank_bytes_per_vector

    def to_dict(self) -> dict:
        return {"name": self.name, "bytes_per_vector": self.bytes_per_vector,
                "fixed_bytes": self.fixed_bytes, "total_bytes": self.total_bytes,
                "recall_at_k": self.recall_at_k,
                "recall_at": {str(j): v for j, v in self.recall_at.items()},
                "overlap": self.overlap, "overlap_with_ties": self.overlap_with_ties,
                "queries_with_ties": self.queries_with_ties,
                "rank_correlation": self.rank_correlation,
                "distortion": self.distortion, "train_seconds": self.train_seconds,
                "encode_seconds": self.encode_seconds,
                "search_ms_per_query": self.search_ms_per_query,
                "trained_on": self.trained_on,
                "rerank_bytes_per_vector": self.rerank_bytes_per_vector,
                "cached": self.cached}

    def _meta(self) -> dict:
        d = self.to_dict()
        d["recall_at"] = [[int(j), v] for j, v in self.recall_at.items()]
        for derived in ("cached", "overlap_with_ties", "queries_with_ties"):
            d.pop(derived)  # worked out again on every call
        return d

    @classmethod
    def _from_meta(cls, meta: dict, ids: np.ndarray, exact: np.ndarray, k: int
                   ) -> "MethodResult":
        fields = {k: v for k, v in meta.items() if k in cls.__dataclass_fields__}
        fields["recall_at"] = {int(j): v for j, v in meta["recall_at"]}
        ids = np.array(ids)
        return cls(**fields, cached=True, ids=ids,
                   per_query_overlap=measures.overlap(exact, ids, k))


@dataclass
class Evaluation:
    k: int
    metric: str
    seed: int
    rows: np.ndarray = field(repr=False)  # the query rows
    depth: int  # exact neighbours kept per query: max(k, 100), fewer in small sets
    count: int
    dim: int
    exact_ms_per_query: float  # the float32 flat search the ground truth came from
    methods: list[MethodResult]
    exact: np.ndarray = field(default=None, repr=False)  # (queries, depth) exact rows, best first

    @property
    def queries(self) -> int:
        return int(len(self.rows))

    def to_dict(self) -> dict:
        return {"k": self.k, "queries": self.queries, "metric": self.metric, "seed": self.seed,
                "count": self.count, "dim": self.dim, "float32_bytes_per_vector": 4 * self.dim,
                "exact_ms_per_query": self.exact_ms_per_query,
                "train_sample_rows": min(self.count, TRAIN_ROWS),
                "methods": [m.to_dict() for m in self.methods]}


def metric_rows(vectors: np.ndarray, metric: str, norms: np.ndarray | None) -> np.ndarray:
    """float32 (n, d) rows as the metric sees them: unit rows for cosine (zero rows stay 0)."""
    x = np.array(vectors, dtype=np.float32)  # a copy: faiss wants it in memory anyway
    if metric == "cosine":
        x *= np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0)[:, None].astype(
            np.float32)
    return x


def _query_rows(n: int, usable: np.ndarray, queries: int, rows, seed: int) -> np.ndarray:
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if rows.size == 0:
            raise InputError("no query rows given")
        if rows.min() < 0 or rows.max() >= n:
            raise InputError(f"query rows must be between 0 and {n - 1}")
        rows = np.unique(rows)
        if not usable[rows].all():
            raise InputError("some query rows are zero vectors: cosine is undefined for them")
        return rows
    if queries < 1:
        raise InputError(f"the number of queries must be at least 1, got {queries}")
    candidates = np.flatnonzero(usable)
    if queries >= len(candidates):
        return candidates.astype(np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(candidates, size=queries, replace=False)).astype(np.int64)


def _clean(ids: np.ndarray, rows: np.ndarray, usable: np.ndarray, depth: int) -> np.ndarray:
    """Drop each query's own row, unusable (zero, for cosine) rows and -1; pad with -1."""
    out = np.full((len(rows), depth), -1, dtype=np.int64)
    for i, row in enumerate(rows):
        r = ids[i]
        r = r[(r >= 0) & (r != row)]
        r = r[usable[r]][:depth]
        out[i, :len(r)] = r
    return out


def _faiss_exact(xb: np.ndarray, queries: np.ndarray, metric: str, want: int) -> np.ndarray:
    import faiss

    index = faiss.IndexFlat(xb.shape[1], faiss.METRIC_L2 if metric == "l2"
                            else faiss.METRIC_INNER_PRODUCT)
    index.add(xb)
    return index.search(queries, want)[1]


def pair_scores(xb: np.ndarray, queries: np.ndarray, rows: np.ndarray, metric: str) -> np.ndarray:
    """Exact cosine / dot / L2 distance of each query with its rows (nq, k), -1 rows -> NaN.
    In blocks of queries, so the float64 copy of their rows stays small at large k."""
    out = np.empty(rows.shape, dtype=np.float64)
    block = max(1, PAIR_BLOCK // max(1, rows.shape[1] * xb.shape[1]))
    for at in range(0, len(rows), block):
        part = rows[at:at + block]
        safe = np.where(part >= 0, part, 0)
        x = xb[safe.ravel()].reshape(part.shape[0], part.shape[1], -1).astype(np.float64)
        q = queries[at:at + block].astype(np.float64)[:, None, :]
        out[at:at + block] = np.sqrt(((x - q) ** 2).sum(axis=2)) if metric == "l2" \
            else (x * q).sum(axis=2)
    return np.where(rows >= 0, out, np.nan)


def with_ties(result: MethodResult, xb: np.ndarray, xq: np.ndarray, exact: np.ndarray,
              exact_scores: np.ndarray, metric: str, k: int) -> MethodResult:
    """`result` with its tie-aware figures (`measures.overlap_with_ties`)."""
    got_scores = pair_scores(xb, xq, result.ids, metric)
    kept, tied = measures.overlap_with_ties(exact, exact_scores, result.ids, got_scores, k)
    result.per_query_kept = kept
    result.overlap_with_ties = float(kept.mean())
    result.queries_with_ties = int(tied.sum())
    return result


def evaluate(es: EmbeddingSet, methods=None, k: int = 10, queries: int = DEFAULT_QUERIES,
             metric: str | None = None, rows=None, seed: int = 0,
             state: TaskState | None = None) -> Evaluation:
    """Compress the set each way in `methods` (names or Methods; default: `default_methods`)
    and compare every method's neighbours of the query rows with the exact ones."""
    state = state or TaskState()
    metric = metric or es.metric
    check_metric(metric)
    n, d = es.count, es.dim
    methods = default_methods(d) if methods is None else parse_methods(methods)
    for m in methods:
        m.check(d)
    state.status("Preparing the vectors")
    norms = set_norms(es, state.sub(0, 0.02))
    usable = (np.asarray(norms) > 0) if metric == "cosine" else np.ones(n, dtype=bool)
    n_usable = int(usable.sum())
    if not 1 <= k <= min(MAX_K, n_usable - 1):
        raise InputError(f"k must be between 1 and {min(MAX_K, n_usable - 1)} for this set, "
                         f"got {k}")
    qrows = _query_rows(n, usable, queries, rows, seed)
    depth = min(max(k, MIN_DEPTH), n_usable - 1)
    want = min(n, depth + 1 + (n - n_usable))
    xb = metric_rows(es.vectors, metric, np.asarray(norms))
    state.progress(0.05)
    xq = np.ascontiguousarray(xb[qrows])
    store = ArtifactStore(es.path) if es.path is not None else None
    sig = vectors_signature(es)
    qkey = (f"q{len(qrows)}-s{seed}" if rows is None
            else f"rows{len(qrows)}-{zlib.crc32(qrows.tobytes()):08x}")

    state.status("Exact search (ground truth)")
    exact, exact_ms = _ground_truth(store, sig, f"gt-{metric}-{qkey}-d{depth}", xb, xq, qrows,
                                    usable, metric, want, depth)
    state.progress(0.1)
    exact_scores = pair_scores(xb, xq, exact[:, :k + 1], metric)  # one past k: for ties

    results = []
    for i, method in enumerate(methods):
        sub = state.sub(0.1 + 0.9 * i / len(methods), 0.1 + 0.9 * (i + 1) / len(methods))
        sub.status(f"Compressing: {method.name}")
        key = safe_key(f"m{FORMAT}-{method.name}-{metric}-k{k}-{qkey}-d{depth}"
                       f"-t{TRAIN_ROWS}-i{PQ_NITER}.{OPQ_NITER}")
        result = _load_result(store, sig, key, exact, k)
        if result is None:
            result = _run_method(method, xb, xq, qrows, usable, metric, k, depth, want, exact,
                                 exact_scores[:, :k], seed, sub)
            _save(store, key, result.ids, {"signature": sig, **result._meta()})
        results.append(with_ties(result, xb, xq, exact, exact_scores, metric, k))
        state.partial(result)
        sub.progress(1.0)
    return Evaluation(k, metric, seed, qrows, depth, n, d, exact_ms, results, exact)


def _save(store, key: str, array: np.ndarray, meta: dict) -> None:
    if store is not None:
        try:
            store.save(KIND, key, array, meta)
        except OSError:
            pass  # a cache that cannot be written is recomputed next time


def _ground_truth(store, sig, key, xb, xq, qrows, usable, metric, want, depth):
    """(exact ids (nq, depth), float32 flat search ms per query), from the library if there."""
    if store is not None:
        found = store.load(KIND, key)
        if (found is not None and found[1].get("signature") == sig
                and found[0].shape == (len(qrows), depth)):
            return np.array(found[0]), float(found[1]["exact_ms_per_query"])
    start = time.perf_counter()
    ids = _faiss_exact(xb, xq, metric, want)
    ms = 1000 * (time.perf_counter() - start) / len(qrows)
    exact = _clean(ids, qrows, usable, depth)
    _save(store, key, exact, {"signature": sig, "exact_ms_per_query": ms})
    return exact, ms


def _load_result(store, sig, key, exact, k) -> MethodResult | None:
    if store is None:
        return None
    found = store.load(KIND, key)
    if (found is None or found[1].get("signature") != sig
            or found[0].shape != (len(exact), k)):
        return None
    try:
        return MethodResult._from_meta(found[1], found[0], exact, k)
    except (KeyError, TypeError, ValueError):
        return None


def _run_method(method: Method, xb, xq, qrows, usable, metric, k, depth, want, exact,
                exact_scores, seed, state) -> MethodResult:
    n, d = xb.shape
    codec = make_codec(method, metric).build(xb, train_rows(n, seed), seed, state.sub(0, 0.8))
    state.check()
    start = time.perf_counter()
    ids = codec.search(xq, want)
    search_ms = 1000 * (time.perf_counter() - start) / len(qrows)
    got = _clean(ids, qrows, usable, depth)
    state.progress(0.9)
    per_query = measures.overlap(exact, got, k)
    recall = {j: measures.recall_at(exact, got, j) for j in sorted({*RECALL_AT, k}) if j <= depth}
    approx = codec.pair_scores(xq, exact[:, :k])
    if approx is not None:
        approx = np.where(exact[:, :k] >= 0, approx, np.nan)
    ok = ~np.isnan(exact_scores)
    distortion = (None if approx is None
                  else measures.distortion(exact_scores[ok], np.asarray(approx)[ok]))
    bpv = codec.code_size
    fixed = codec.fixed_bytes
    return MethodResult(
        name=method.name, bytes_per_vector=bpv, fixed_bytes=fixed, total_bytes=n * bpv + fixed,
        recall_at=recall, recall_at_k=recall[k], overlap=float(per_query.mean()),
        rank_correlation=float(measures.rank_correlation(exact, got, k).mean()),
        distortion=distortion, train_seconds=codec.train_seconds,
        encode_seconds=codec.encode_seconds, search_ms_per_query=search_ms,
        trained_on=codec.trained_on,
        rerank_bytes_per_vector=4 * d if method.rerank else 0, ids=got[:, :k].copy(),
        per_query_overlap=per_query)
