"""Exact nearest-neighbour search in the original space, at memory-bandwidth speed.

One query scans every row once: a numba kernel fuses the dot products with a
running top-k per block of rows (one row at a time, so the inner product over
the dimensions vectorises), which measured 1.1x the memory-bandwidth scan
bound on 1M x 384 here against 1.9x for numpy and 3.5x for faiss' IndexFlatIP
(tests/benchmarks/bench_neighbours.py). CompactIndex scans int8 codes first
and gives the same exact answer at 0.33x. It reads the set's vectors
where they are, a read-only memory map included.

Every metric is "higher score is better" inside the scan, as
``score = dot(x, q) * scale[x] + offset[x]``:
  * dot: scale 1, offset 0;
  * cosine: scale 1/|x| with q normalised (raw vectors and norms are kept, so
    nothing is copied); zero rows have no direction and are never returned;
  * l2: scale 2, offset -|x|^2, so score = |q|^2 - |x - q|^2; distances are
    reported as |x - q|.
A boolean `allowed` mask (from a metadata filter) is applied inside the scan,
so filtered results are the true top-k among the matching rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from explorer.compute.numba import compile_worker, jit, prange, readiness
from explorer.compute.vectors import check_metric
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.vector_checks import chunk_rows

MAX_K = 1000


@dataclass
class Neighbours:
    rows: np.ndarray  # int64, best first
    scores: np.ndarray  # float32: cosine similarity, dot product, or L2 distance
    metric: str
    exact: bool = True  # False when an approximate (HNSW / IVF) index answered


@jit(inline="always", nogil=True)
def insert_top(vals, ids, s, i):
    """Put score s of row i into an ascending top list (vals[0] is the current k-th best)."""
    k = vals.shape[0]
    p = 0
    while p + 1 < k and vals[p + 1] < s:
        vals[p] = vals[p + 1]
        ids[p] = ids[p + 1]
        p += 1
    vals[p] = s
    ids[p] = i


@jit(parallel=True, fastmath=True, nogil=True)
def _scan_blocks(x, q, scale, offset, allowed, use_mask, k, nblocks):
    """Each block of rows keeps its own top-k of dot(x, q) * scale + offset."""
    n, d = x.shape
    out_v = np.full((nblocks, k), -np.inf, np.float32)
    out_i = np.full((nblocks, k), -1, np.int64)
    for b in prange(nblocks):
        lo = b * n // nblocks
        hi = (b + 1) * n // nblocks
        vals = np.full(k, -np.inf, np.float32)
        ids = np.full(k, -1, np.int64)
        for i in range(lo, hi):
            if use_mask and not allowed[i]:
                continue
            s = np.float32(0.0)
            for j in range(d):
                s += np.float32(x[i, j]) * q[j]  # int8 codes: float32 math, not float64
            s = s * scale[i] + offset[i]
            if s > vals[0]:
                insert_top(vals, ids, s, i)
        out_v[b] = vals
        out_i[b] = ids
    return out_v, out_i


def load_kernel(like: np.ndarray) -> None:
    """Compile or load the scan for arrays like `like` now, so no search pays for it.

    numba compiles per argument type, and a read-only memory map (a library
    set) is another type than a writable array: the tiny call matches both
    the dtype and the writeability.
    """
    x = np.zeros((2, 2), dtype=like.dtype)
    x.flags.writeable = bool(like.flags.writeable)
    ones = np.ones(2, dtype=np.float32)
    _scan_blocks(x, ones, ones, ones, np.ones(2, dtype=bool), True, 1, 1)


def row_norms(vectors: np.ndarray, state: TaskState | None = None) -> np.ndarray:
    """|x| per row (float32), in chunks so a memory map is never copied whole."""
    state = state or TaskState()
    n, d = vectors.shape
    out = np.empty(n, dtype=np.float32)
    step = chunk_rows(d)
    for start in range(0, n, step):
        chunk = np.asarray(vectors[start:start + step], dtype=np.float32)
        out[start:start + len(chunk)] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
        state.progress(min(n, start + step), n)
    return out


def _scale_offset(metric: str, norms: np.ndarray,
                  unit_rows: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-row (scale, offset, usable mask) so that score = dot * scale + offset."""
    n = len(norms)
    if metric == "cosine":
        if unit_rows:  # codes of normalised rows: the dot already is the cosine
            scale = np.ones(n, dtype=np.float32)
        else:
            with np.errstate(divide="ignore"):
                scale = np.where(norms > 0, 1.0 / norms, 0.0).astype(np.float32)
        usable = norms > 0  # a zero row has no cosine with anything
        return scale, np.zeros(n, dtype=np.float32), None if usable.all() else usable
    if metric == "l2":
        return (np.full(n, 2.0, dtype=np.float32), -(norms.astype(np.float32) ** 2), None)
    return np.ones(n, dtype=np.float32), np.zeros(n, dtype=np.float32), None


def _blocks(n: int, k: int) -> int:
    """Blocks of rows scanned in parallel, each keeping its own top-k.

    Many blocks balance the threads; but a block's list takes an insertion
    (O(k)) for most of its first rows, so blocks hold at least 32k rows.
    """
    return int(max(1, min(256, n // max(4096, 32 * k))))


def _top(vals: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-block top lists: the k best (rows, scores), best first, ties by row."""
    vals, ids = vals.ravel(), ids.ravel()
    found = ids >= 0
    vals, ids = vals[found], ids[found]
    order = np.lexsort((ids, -vals))[:k]
    return ids[order].astype(np.int64), vals[order].astype(np.float32)


class _Searchable:
    """Argument checks and mask handling shared by the exact searches."""

    vectors: np.ndarray
    metric: str
    norms: np.ndarray
    _usable: np.ndarray | None

    def __len__(self) -> int:
        return len(self.vectors)

    def _prepare(self, query: np.ndarray, k: int,
                 allowed: np.ndarray | None) -> tuple[np.ndarray, float, np.ndarray | None]:
        """(query as scanned, |query|, combined mask or None)."""
        q = np.ascontiguousarray(query, dtype=np.float32).ravel()
        n, d = self.vectors.shape
        if q.shape != (d,):
            raise InputError(f"the query has {q.size} values; the set's vectors have {d}")
        if not np.isfinite(q).all():
            raise InputError("the query holds NaN or Inf values")
        if not 1 <= k <= MAX_K:
            raise InputError(f"k must be between 1 and {MAX_K}, got {k}")
        qn = float(np.linalg.norm(q))
        if self.metric == "cosine":
            if qn == 0:
                raise InputError("the query is a zero vector: cosine similarity is undefined")
            q = q / np.float32(qn)
        mask = self._usable
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=bool)
            if allowed.shape != (n,):
                raise InputError(f"the filter mask has {allowed.size} entries for {n} rows")
            mask = allowed if mask is None else (mask & allowed)
        return q, qn, mask

    def _finish(self, rows: np.ndarray, scores: np.ndarray, qn: float,
                q: np.ndarray) -> Neighbours:
        if self.metric == "l2":  # |x - q| itself: |q|^2 - score cancels badly near 0
            diff = np.asarray(self.vectors[np.sort(rows)], dtype=np.float32) - q
            dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            scores = dist[np.searchsorted(np.sort(rows), rows)]
        return Neighbours(rows, scores.astype(np.float32), self.metric)


def _scan(x: np.ndarray, q: np.ndarray, scale: np.ndarray, offset: np.ndarray,
          mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-block top-k lists (vals ascending, -inf / -1 when short): numba's scan, or
    numpy's while the scan is not ready on a first launch (one block, the same rows)."""
    use_mask = mask is not None
    mask_arr = mask if use_mask else np.ones(1, dtype=bool)
    args = (x, q, scale, offset, mask_arr, use_mask, int(k), _blocks(len(x), int(k)))
    if not readiness.ready(_scan_blocks, *args):
        compile_worker.request()
        return scan_numpy(x, q, scale, offset, mask, int(k))
    return _scan_blocks(*args)


def scan_numpy(x: np.ndarray, q: np.ndarray, scale: np.ndarray, offset: np.ndarray,
               mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The scan in numpy, in chunks (a memory map is never copied whole): the k best rows
    by score, ties by row as numba's, as one block's list (vals ascending)."""
    n, d = x.shape
    step = chunk_rows(d)
    best_v = np.empty(0, dtype=np.float32)
    best_i = np.empty(0, dtype=np.int64)
    for start in range(0, n, step):
        stop = min(n, start + step)
        s = (np.asarray(x[start:stop], dtype=np.float32) @ q) * scale[start:stop] \
            + offset[start:stop]
        keep = s > -np.inf  # numba's scan never keeps -inf (nor NaN)
        if mask is not None:
            keep &= mask[start:stop]
        rows = np.flatnonzero(keep)
        if len(rows) > k:  # only rows at or above the chunk's k-th score (ties kept)
            kth = np.partition(s[rows], len(rows) - k)[len(rows) - k]
            rows = rows[s[rows] >= kth]
        vals = np.concatenate([best_v, s[rows].astype(np.float32)])
        ids = np.concatenate([best_i, rows + start])
        order = np.lexsort((ids, -vals))[:k]
        best_v, best_i = vals[order], ids[order]
    out_v = np.full((1, k), -np.inf, dtype=np.float32)
    out_i = np.full((1, k), -1, dtype=np.int64)
    m = len(best_v)
    out_v[0, k - m:] = best_v[::-1]
    out_i[0, k - m:] = best_i[::-1]
    return out_v, out_i


class ExactIndex(_Searchable):
    """Brute-force search over the set's own vectors: exact, no build beyond the norms."""

    kind = "flat"

    def __init__(self, vectors: np.ndarray, metric: str = "cosine",
                 norms: np.ndarray | None = None, state: TaskState | None = None) -> None:
        _check(vectors, metric)
        self.vectors = vectors
        self.metric = metric
        self.norms = row_norms(vectors, state) if norms is None else norms
        self._scale, self._offset, self._usable = _scale_offset(metric, self.norms)

    def search(self, query: np.ndarray, k: int = 10,
               allowed: np.ndarray | None = None) -> Neighbours:
        """The k best rows for `query` (d,), among `allowed` rows if a mask is given."""
        q, qn, mask = self._prepare(query, k, allowed)
        rows, scores = _top(*_scan(self.vectors, q, self._scale, self._offset, mask, k), k)
        return self._finish(rows, scores, qn, q)


def _check(vectors: np.ndarray, metric: str) -> None:
    check_metric(metric)
    if vectors.dtype != np.float32:
        raise InputError("the index needs float32 vectors (library sets are float32)")


def quantise(vectors: np.ndarray, metric: str, norms: np.ndarray,
             state: TaskState | None = None) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes (n, d) and the per-dimension step: x ~= codes * step.

    Cosine codes hold the normalised rows (the raw norms stay in `norms`), so
    one step size fits every row whatever its length. The step is the
    dimension's largest magnitude / 127: nothing is clipped, which keeps the
    rounding error of every score within a known bound.
    """
    state = state or TaskState()
    n, d = vectors.shape
    step_rows = chunk_rows(d)
    inv_norm = None
    if metric == "cosine":
        with np.errstate(divide="ignore"):
            inv_norm = np.where(norms > 0, 1.0 / norms, 0.0).astype(np.float32)
    amax = np.zeros(d, dtype=np.float32)
    for start in range(0, n, step_rows):
        chunk = np.asarray(vectors[start:start + step_rows])
        if inv_norm is not None:
            chunk = chunk * inv_norm[start:start + len(chunk), None]
        np.maximum(amax, np.abs(chunk).max(axis=0), out=amax)
        state.progress(min(n, start + step_rows), 2 * n)
    step = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    inv = (1.0 / step).astype(np.float32)
    codes = np.empty((n, d), dtype=np.int8)
    for start in range(0, n, step_rows):
        chunk = np.asarray(vectors[start:start + step_rows])
        if inv_norm is not None:
            chunk = chunk * inv_norm[start:start + len(chunk), None]
        codes[start:start + len(chunk)] = np.clip(np.rint(chunk * inv), -127, 127)
        state.progress(n + min(n, start + step_rows), 2 * n)
    return codes, step


class CompactIndex(_Searchable):
    """Exact results from a 4x smaller scan: int8 codes first, then float32 re-ranking.

    One int8 scan keeps each block's best few codes (the union is thousands of
    candidates for a handful of insertions per block); the exact scores of a
    prefix of them, best codes first, come from the float32 rows. Rounding
    moves any row's code score by at most B = sum_j |q_j| step_j / 2 (times 2
    for L2), so a row left out scores at most (the larger of the prefix's last
    code score and the best score a block dropped) + B: when the exact k-th
    score is above that, the answer is provably the exact top-k. Otherwise the
    prefix grows, then a scan keeps more per block; past MAX_CANDIDATES a
    statistical margin of 8 standard deviations of the rounding noise is
    accepted, and failing that the float32 scan answers. `last_verified` says
    which held.
    """

    kind = "compact"
    MAX_CANDIDATES = 4096
    SIGMAS = 8.0

    def __init__(self, vectors: np.ndarray, metric: str, codes: np.ndarray, step: np.ndarray,
                 norms: np.ndarray) -> None:
        _check(vectors, metric)
        if codes.shape != vectors.shape or codes.dtype != np.int8:
            raise ValueError("codes must be int8 with the vectors' shape")
        self.vectors, self.metric, self.codes, self.step, self.norms = (
            vectors, metric, codes, np.asarray(step, dtype=np.float32), norms)
        self._scale, self._offset, self._usable = _scale_offset(metric, norms, unit_rows=True)
        self._exact_scale, _, _ = _scale_offset(metric, norms)
        self.last_verified = ""  # "bound" | "statistical" | "fallback", for tests and the UI

    @classmethod
    def build(cls, vectors: np.ndarray, metric: str, norms: np.ndarray | None = None,
              state: TaskState | None = None) -> "CompactIndex":
        state = state or TaskState()
        norms = row_norms(vectors, state.sub(0, 0.3)) if norms is None else norms
        codes, step = quantise(vectors, metric, norms, state.sub(0.3, 1.0))
        return cls(vectors, metric, codes, step, norms)

    def search(self, query: np.ndarray, k: int = 10,
               allowed: np.ndarray | None = None) -> Neighbours:
        q, qn, mask = self._prepare(query, k, allowed)
        qs = (q * self.step).astype(np.float32)
        factor = 2.0 if self.metric == "l2" else 1.0
        bound = factor * 0.5 * float(np.abs(qs).sum())  # |rounding error| <= step/2 per value
        sigma = factor * float(np.sqrt((qs.astype(np.float64) ** 2).sum() / 12.0))
        per_block = max(2 * k, k + 32)
        while True:
            vals, ids = _scan(self.codes, qs, self._scale, self._offset, mask, per_block)
            # A row in no block's list scored at most its block's last kept code score.
            floor = float(vals[:, 0].max())  # -inf when every block kept all its rows
            cand, approx = _top(vals, ids, vals.size)
            c = min(len(cand), per_block)
            while True:  # re-rank growing prefixes until the bound proves the answer
                rows, scores = self._rerank(cand[:c], q, k)
                threshold = max(float(approx[c - 1]) if c < len(cand) else -np.inf, floor)
                if threshold == -np.inf or (len(rows) == k and scores[-1] >= threshold + bound):
                    self.last_verified = "bound"
                    return self._finish(rows, scores, qn, q)
                if c == len(cand) or c >= self.MAX_CANDIDATES:
                    break
                c = min(len(cand), self.MAX_CANDIDATES, 4 * c)
            if len(rows) == k and scores[-1] >= threshold + self.SIGMAS * sigma:
                self.last_verified = "statistical"
                return self._finish(rows, scores, qn, q)
            if per_block >= self.MAX_CANDIDATES or floor + bound <= scores[-1]:
                break  # a wider scan cannot help: the candidates, not the scan, fall short
            per_block = min(self.MAX_CANDIDATES, 8 * per_block)
        self.last_verified = "fallback"
        exact_rows, exact_scores = _top(*_scan(self.vectors, q, self._exact_scale,
                                               self._offset, mask, k), k)
        return self._finish(exact_rows, exact_scores, qn, q)

    def _rerank(self, cand: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.sort(cand)  # ascending rows read the memory map in order
        exact = (np.asarray(self.vectors[order]) @ q) * self._exact_scale[order] + self._offset[order]
        best = np.lexsort((order, -exact))[:k]
        return order[best], exact[best].astype(np.float32)


APPROX_KINDS = ("hnsw", "ivf", "ivfpq")
# An IVF-PQ is added in row ranges (a sharded set's shards, cut to this size): a Ray task's rows
# travel through a local Ray's 256 MB object store, two or three ranges at a time.
BLOCK_ROWS = 100_000
BLOCK_BYTES = 64 << 20


@dataclass
class BuildReport:
    """How an approximate index was just built: where, by how many workers, and the seconds
    of each phase (a loaded index has none)."""

    engine: str = "local"
    workers: int | None = None  # Ray tasks run at once; None: faiss' threads in this process
    ranges: int = 0  # row ranges added (one Ray task each)
    train_seconds: float = 0.0
    add_seconds: float = 0.0
    merge_seconds: float = 0.0


class ApproxIndex(_Searchable):
    """faiss HNSW or IVF over 8-bit scalar-quantised rows, or IVF-PQ; re-ranked on float32 rows.

    The graph (or the inverted lists) finds candidates quickly in compact
    codes; their exact scores then come from the set's own vectors, so the
    scores shown are true ones and only the recall is approximate (it is
    measured and shown next to the index). A filter that keeps few rows is
    answered by the exact masked scan instead: a graph walk through mostly
    excluded rows loses recall. IVF-PQ keeps d/8 bytes a row (an eighth of the
    8-bit codes), so it is the index of sets whose codes must stay small; its
    ranking in codes is rough, so the exact re-rank gets a wider pool of candidates.
    """

    FILTER_EXACT_BELOW = 0.2
    HNSW_M = 32
    # IVF-PQ candidates re-ranked per neighbour asked for. recall@10 on 200k x 384 clustered
    # rows (nprobe 111): 0.58 in codes alone, 0.90 / 0.98 / 0.998 re-ranking 30 / 50 / 100
    # candidates (tests/benchmarks/bench_index_ivfpq.py)
    PQ_POOL = 10

    def __init__(self, vectors: np.ndarray, metric: str, faiss_index, kind: str,
                 norms: np.ndarray) -> None:
        _check(vectors, metric)
        self.vectors, self.metric, self.faiss_index, self.kind, self.norms = (
            vectors, metric, faiss_index, kind, norms)
        self._scale, self._offset, self._usable = _scale_offset(metric, norms)
        self.ef_search = 256  # 1M x 384 clustered: recall@10 0.94 at 256 vs 0.90 at 128, ~1.3 ms
        nlist = getattr(faiss_index, "nlist", 0)
        self.nprobe = int(max(32, nlist // 16))  # ~6% of the lists: recall ~0.95+ on real data
        self.report: BuildReport | None = None  # set by a build, not by a load

    @classmethod
    def build(cls, vectors: np.ndarray, metric: str, kind: str = "hnsw",
              norms: np.ndarray | None = None, state: TaskState | None = None) -> "ApproxIndex":
        """Train on a sample, then add every row range in order (the Ray engine adds the
        same ranges in parallel and merges them into the same lists)."""
        _check_kind(kind)
        _check(vectors, metric)
        state = state or TaskState()
        norms = row_norms(vectors, state.sub(0, 0.05)) if norms is None else norms
        n = len(vectors)
        trained_at = 0.5 if kind == "ivfpq" else 0.1  # an IVF-PQ build is mostly its training
        start = time.perf_counter()
        index = cls.trained(vectors, metric, kind, norms, state)
        train = time.perf_counter() - start
        state.status(f"Building the {kind.upper()} index")
        sub = state.sub(trained_at, 1.0)
        ranges = add_ranges(vectors, kind)
        for lo, hi in ranges:
            index.add(rows_for_faiss(vectors, slice(lo, hi), metric, norms))
            sub.progress(hi, n)
        built = cls(vectors, metric, index, kind, norms)
        built.report = BuildReport("local", None, len(ranges), train,
                                   time.perf_counter() - start - train)
        return built

    @classmethod
    def trained(cls, vectors: np.ndarray, metric: str, kind: str, norms: np.ndarray,
                state: TaskState | None = None):
        """The empty faiss index of `kind`, trained on a sample of rows (seeded): what every
        build adds rows to."""
        import faiss

        _check_kind(kind)
        state = state or TaskState()
        n, d = vectors.shape
        faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
        qt = faiss.ScalarQuantizer.QT_8bit
        nlist = int(max(1, min(65536, 4 * np.sqrt(n), n // 39)))  # faiss wants 39 points per list
        if kind == "hnsw":
            index = faiss.IndexHNSWSQ(d, qt, cls.HNSW_M, faiss_metric)
            index.hnsw.efConstruction = 64
            train_n = min(n, 50_000)
        else:
            # PQ codebooks learn from up to 256 points per centroid: 65,536 rows
            train_n = min(n, max(65_536 if kind == "ivfpq" else 50_000, 40 * nlist))
            quantizer = faiss.IndexFlat(d, faiss_metric)
            if kind == "ivf":
                index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, qt, faiss_metric)
            else:  # fewer than 256 centroids per sub-quantiser when a small set has too few rows
                nbits = int(min(8, max(1, np.log2(max(2, train_n // 39)))))
                index = faiss.IndexIVFPQ(quantizer, d, nlist, pq_subquantisers(d), nbits,
                                         faiss_metric)
            index.own_fields = True
            quantizer.this.disown()
        rng = np.random.default_rng(0)
        train_rows = np.sort(rng.choice(n, size=train_n, replace=False))
        state.status("Training the index")
        index.train(rows_for_faiss(vectors, train_rows, metric, norms))
        return index

    def search(self, query: np.ndarray, k: int = 10,
               allowed: np.ndarray | None = None) -> Neighbours:
        import faiss

        q, qn, mask = self._prepare(query, k, allowed)
        n = len(self.vectors)
        if allowed is not None and mask is not None and mask.mean() < self.FILTER_EXACT_BELOW:
            rows, scores = _top(*_scan_any(self.vectors, q, self._scale, self._offset, mask, k),
                                k)
            return self._finish(rows, scores, qn, q)
        pool = self.PQ_POOL * k if self.kind == "ivfpq" else 2 * k
        want = min(n, max(pool, k + 20))
        sel = None
        if mask is not None:
            # the one-argument form keeps a reference to the bits for as long as faiss needs them
            sel = faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, want))
        else:
            params = faiss.SearchParametersIVF(nprobe=self.nprobe)
        if sel is not None:
            params.sel = sel
        _, ids = self.faiss_index.search(q[None, :], want, params=params)
        cand = ids[0][ids[0] >= 0]
        order = np.sort(cand)
        exact = (np.asarray(self.vectors[order]) @ q) * self._scale[order] + self._offset[order]
        best = np.lexsort((order, -exact))[:k]
        result = self._finish(order[best].astype(np.int64), exact[best].astype(np.float32), qn, q)
        result.exact = False
        return result

    def serialized_size(self) -> int:
        import faiss

        return int(faiss.serialize_index(self.faiss_index).nbytes)

    def save(self, path: str) -> None:
        import faiss

        faiss.write_index(self.faiss_index, str(path))

    @classmethod
    def load(cls, vectors: np.ndarray, metric: str, path, kind: str,
             norms: np.ndarray) -> "ApproxIndex":
        """Read a saved index; its codes stay memory-mapped (only the graph is read in)."""
        import faiss

        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
        return cls(vectors, metric, faiss.read_index(str(path), flags), kind, norms)


def _check_kind(kind: str) -> None:
    if kind not in APPROX_KINDS:
        raise InputError(f"unknown approximate index kind {kind!r}; expected "
                         f"{', '.join(APPROX_KINDS[:-1])} or {APPROX_KINDS[-1]}")


def pq_subquantisers(d: int) -> int:
    """d/8 sub-quantisers (a byte per 8 dimensions), or the largest count below that which
    divides d: faiss cuts each row into equal parts."""
    return next(m for m in range(max(1, d // 8), 0, -1) if d % m == 0)


def add_ranges(vectors, kind: str = "ivfpq") -> list[tuple[int, int]]:
    """The row ranges a build adds, in order. IVF-PQ: each shard of a sharded set (its
    `ranges()`), cut to BLOCK_ROWS / BLOCK_BYTES; the local and the Ray build add the same
    ranges, so their inverted lists are the same."""
    n, d = vectors.shape
    if kind != "ivfpq":
        step = max(10_000, n // 100)
        return [(lo, min(n, lo + step)) for lo in range(0, n, step)]
    step = max(1, min(BLOCK_ROWS, BLOCK_BYTES // (4 * d)))
    shards = vectors.ranges() if callable(getattr(vectors, "ranges", None)) else [(0, n)]
    return [(lo, min(stop, lo + step)) for start, stop in shards for lo in range(start, stop, step)]


def _scan_any(x, q: np.ndarray, scale: np.ndarray, offset: np.ndarray,
              mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The masked exact scan of an ndarray (numba), or of sharded vectors read in slices."""
    if isinstance(x, np.ndarray):
        return _scan(x, q, scale, offset, mask, k)
    return scan_numpy(x, q, scale, offset, mask, k)


def rows_for_faiss(vectors: np.ndarray, rows: slice | np.ndarray, metric: str,
                   norms: np.ndarray) -> np.ndarray:
    """float32 rows (a slice, or sorted row numbers) as faiss should see them: normalised for
    cosine (zero rows stay zero). Read-only rows (a memory map, a shard) are never written."""
    x = np.ascontiguousarray(vectors[rows], dtype=np.float32)
    if metric == "cosine":
        nr = norms[rows]
        x = x * np.where(nr > 0, 1.0 / np.where(nr > 0, nr, 1.0), 0.0)[:, None].astype(np.float32)
    return x
