"""The kNN graph of every row of a large set, joined through a sample of pivot rows.

At 1M rows neither an exact kNN (hours) nor an HNSW over every row (minutes) fits the map's
budget. A sample of the rows is a set of *pivots*, an IVF whose centroids are the sample
itself. `pivot_join` registers each row in the inverted lists of its `assign` nearest
pivots, groups rows by their nearest pivot and compares each group with the union of the
lists of its rows' `probe` nearest pivots, reading each candidate row once per group from
an int8 copy of the rows (a quarter of the float32 rows' bytes: at 1M the join waited on
memory). `rounds` of neighbours-of-neighbours then
repair what the lists missed. `all_knn` is the front door: exact (faiss flat) for small
sets, else sampled pivots, every row's nearest pivots found from the int8 codes through a
tree of pivot samples (`nearest_pivots`), then the join (a `PivotContext` it returns
repeats a join on the same pivots). `sampled_recall` checks a graph against brute force.

Distances are umap's (`knn.KnnIndex` gives the same): cosine 1 - cos in [0, 2] (from the
codes, within ~1e-3), a zero row at 1 from every other; euclidean |x - y| (exact, from the
float32 rows). Column 0 is the row itself at distance 0.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from explorer.compute.index import row_norms
from explorer.compute.numba import run_parallel
from explorer.compute.numba.graph_kernels import (
    descent_rows,
    exact_lists,
    join_units,
    lanes,
    lists_csr,
    quantise_rows,
)
from explorer.compute.projection.knn import EXACT_KNN_MAX, KnnIndex, self_first
from explorer.compute.projection.rows import (
    clean_rows,
    gather,
    release,
    sample_rows,
)
from explorer.compute.vectors import layout_metric
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.vector_checks import chunk_rows

UNIT_MAX = 64            # rows compared together at most: a hub pivot's group is split
JOIN_CHUNK_ROWS = 32_768  # rows per kernel call: progress and Cancel between calls (~0.3 s)
# The join reads int8 codes of the rows (graph_kernels.quantise_rows). Cosine rows are unit
# length: a distance from the codes is within ~1e-3 (1M x 384 mixture: recall@15 0.851 with
# codes, 0.851 with float32 rows; join CPU 61 s against 91 s). Euclidean rows far from the
# origin lose their small differences in a code: there the codes choose JOIN_EXTRA more
# neighbours than asked and the float32 rows choose the k among them, at their exact
# distances (a pass that cost 12-20 CPU-s at 1M, so cosine goes without it: the refined 1M
# map's graph with the same neighbours at exact float32 distances (median error of the codes'
# 1.7e-4, 99th percentile 7e-4) gave TW 0.9522 / 0.9513 / 0.9525 / 0.9528 against 0.9535 /
# 0.9538 / 0.9543 / 0.9537 with the codes', one start and 4 seeds: lower in each pair).
JOIN_EXTRA = 2
DESCENT_FAN = 8          # a round offers each row its 8 nearest neighbours' 8 nearest
# (63k real MiniLM rows: recall 0.847 / 0.856 / 0.865 / 0.878 at 6 / 8 / 10 / 14, the
# round's seconds 0.3 / 0.5 / 0.7 / 1.3)
RELEASE_EVERY = 4        # chunks between dropping the map's pages from this process
PIVOT_SHARE = 10         # standalone: one pivot per this many rows ...
PIVOT_MAX = 100_000      # ... up to this many (UMAP's fit sample: 100k)
# Lists a row joins and lists its group reads: 100k x 384 mixture, cosine, one round after,
# recall@15 0.97 at (3, 6), 0.94 at (2, 6), 0.89 at (2, 4); one-shot 0.94 / 0.89 / 0.82.
# 63k real MiniLM rows: 0.925 at (3, 6) with a round, 0.90 without (HNSW as UMAP runs it:
# 0.896); 0.89 at (2, 6) or (3, 4) with a round. The join costs about the lists it reads.
ASSIGN, PROBE = 3, 6
# A standalone graph finds every row's nearest pivots through a tree of nested pivot samples
# (`nearest_pivots`): one pivot in TREE_BRANCH kept per level, a row's group reads the lists
# of its TREE_PROBE nearest centres above, a centre is listed under its TREE_ASSIGN nearest.
# 1M x 384 mixture, 100k pivots, each row's 6 nearest against brute force on 2000 rows (the
# machine shared, load 5-6, so seconds compare only within the list): branch/probe/assign
# 48/3/2: 19 s, nearest right 0.968, 6 nearest 0.965; 16/3/2: 17 s, 0.930, 0.920;
# 100/3/2: 35 s, 0.980, 0.975; 48/2/2: 12 s, 0.828, 0.767; 48/3/1: 18 s, 0.900, 0.871;
# 64/2/2: 11 s, 0.840, 0.778. The HNSW over the pivots it replaces (PLACE_K 8 at PLACE_EF
# 16, as UMAP places rows): 23 s to build, ~74 s to search, 0.911 and 0.900.
TREE_BRANCH = 48
TREE_PROBE = 3
TREE_ASSIGN = 2
# Rows a unit of the tree compares together (the join's UNIT_MAX is 64): a unit reads the
# lists of all its rows' nearest centres, and a row needs only its own. 1M x 384 mixture,
# the map's join (assign 4, probe 8, one round), 2-3 runs each, load ~1.8: its nearest
# pivots in 16.1-16.8 s at 16 against 21.9-23.8 s at 64 (32: 19.1 s, 8: 19.0 s); the
# graph's recall@15 on 2,000 rows 0.9565 against 0.9591 (32: 0.9592, 8: 0.9539); the
# skewness of its N_10 0.2348 against 0.2337 (a reference graph of recall 0.981: 0.226).
TREE_UNIT_MAX = 16
# A row whose nearest pivot is this many times farther than that pivot's own nearest
# (`lost_rows`) has its pivots found again among all of them, for at most LOST_PAIRS row
# and pivot comparisons (1,000 rows of 100k pivots). 1M mixture: 49 rows in 0.15 s, the 6
# led astray among them. Mixtures of 20-30k rows, 40-60 clusters and a coarse level of 3-7
# centres, 12 runs: 5-51 rows astray each; at 3.0 0-3 left (0.1-0.4% of rows searched
# again), at 2.0 1 left in one run (0.7-2%).
LOST_RATIO = 2.0
LOST_PAIRS = 100_000_000


@dataclass
class KnnGraph:
    """Each row's k nearest rows; a row with fewer than k-1 others found has -1 for the rest
    (at its largest distance found, so umap's fuzzy set stays finite)."""

    ind: np.ndarray      # int32 (n, k); column 0 the row itself; -1 missing
    dist: np.ndarray     # float32 (n, k), ascending, umap's distance for `metric`
    metric: str          # "cosine" | "euclidean"
    method: str          # "exact" | "pivot" ("hnsw": UMAP's faiss graph, if it wraps one)
    k: int
    recall: float | None = None
    timings: dict = field(default_factory=dict)


@dataclass
class PivotContext:
    """The pivots a graph was joined from, and every row's nearest pivots: passed back to
    `all_knn`, another join of the same rows skips finding them again."""

    rows: np.ndarray                     # (m,) int64 pivot rows, sorted
    near: np.ndarray                     # (n, width) every row's nearest pivots, nearest
    # first (pivot ids; a pivot lists itself first)

    def pivot_of(self, n: int, probe: int) -> np.ndarray:
        """int32 (n, probe): every row's nearest pivots, nearest first (a pivot: itself)."""
        return _columns(self.near, probe)


def _columns(ind: np.ndarray, width: int) -> np.ndarray:
    """The first `width` columns of a neighbour list, a missing entry (-1, or a list too
    short) replaced by the first column: a repeated pivot adds nothing to the join."""
    first = ind[:, :1]
    out = np.repeat(first, width, axis=1)
    w = min(width, ind.shape[1])
    out[:, :w] = np.where(ind[:, :w] < 0, first, ind[:, :w])
    return out.astype(np.int32)


def _empty(n: int, k: int, metric: str, method: str) -> KnnGraph:
    return KnnGraph(np.full((n, k), -1, np.int32), np.zeros((n, k), np.float32), metric,
                    method, k)


def _float32_rows(vectors: np.ndarray) -> np.ndarray:
    """The rows as the kernels read them: float32, C order. A library set already is (a
    memory map, used as is); anything else is converted, which copies it."""
    if vectors.dtype == np.float32 and vectors.flags.c_contiguous:
        return vectors
    return np.ascontiguousarray(vectors, dtype=np.float32)


def _units(group_ptr: np.ndarray, unit_max: int = UNIT_MAX) -> np.ndarray:
    """Bounds (int64) of units: each group of rows sharing a first pivot, split in equal
    parts of at most `unit_max` rows so a hub's group does not cost its size squared."""
    sizes = np.diff(group_ptr)
    pieces = -(-sizes // unit_max)
    group = np.repeat(np.arange(sizes.size), pieces)
    first = np.repeat(np.cumsum(pieces) - pieces, pieces)
    part = np.arange(group.size) - first
    starts = group_ptr[group] + part * sizes[group] // pieces[group]
    return np.append(starts, group_ptr[-1]).astype(np.int64)


def _nearby_first(pivots: np.ndarray, pivot_of: np.ndarray, probe: int) -> np.ndarray:
    """`pivot_of` with the pivots renumbered so that pivots near each other get near numbers
    (reverse Cuthill-McKee over the pivots' own lists of nearest pivots).

    The join takes the units in pivot order, each lane a run of them: neighbouring units then
    read mostly the same candidate rows, from the cache instead of memory. At 1M x 384 the
    rows do not fit the cache and the join waited on memory, not on its products."""
    import scipy.sparse
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    m = int(np.asarray(pivots).size)
    own = pivot_of[np.asarray(pivots)][:, :probe]
    graph = scipy.sparse.csr_matrix(
        (np.ones(own.size, dtype=np.int8), (np.repeat(np.arange(m), own.shape[1]), own.ravel())),
        shape=(m, m))
    rank = np.empty(m, dtype=np.int32)
    rank[reverse_cuthill_mckee(graph, symmetric_mode=False)] = np.arange(m, dtype=np.int32)
    return rank[pivot_of]


def _fill_missing(ind: np.ndarray, dist: np.ndarray) -> None:
    """A missing neighbour (-1) gets its row's largest distance found (0 when none was)."""
    missing = ind < 0
    if missing.any():
        largest = np.where(missing, 0.0, dist).max(axis=1)
        dist[missing] = np.broadcast_to(largest[:, None], dist.shape)[missing]


def _quantised(vectors: np.ndarray, norms: np.ndarray, cos: bool,
               state: TaskState) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes (n, d) and a float32 scale per row, as the join's kernels read the rows
    (`graph_kernels.quantise_rows`), made in chunks from the rows where they are."""
    n, d = vectors.shape
    codes = np.empty((n, d), dtype=np.int8)
    scales = np.empty(n, dtype=np.float32)
    for i, r0 in enumerate(range(0, n, JOIN_CHUNK_ROWS)):
        r1 = min(n, r0 + JOIN_CHUNK_ROWS)
        run_parallel(quantise_rows, vectors, norms, cos, r0, r1, codes, scales)
        state.progress(r1, n)
        if i % RELEASE_EVERY == RELEASE_EVERY - 1:
            release(vectors)
    release(vectors)
    return codes, scales


def pivot_join(vectors: np.ndarray, norms: np.ndarray | None, metric: str,
               pivots: np.ndarray, pivot_of: np.ndarray, k: int, state: TaskState, *,
               assign: int = ASSIGN, probe: int = PROBE, rounds: int = 1,
               quantised: tuple[np.ndarray, np.ndarray] | None = None) -> KnnGraph:
    """Every row's k nearest rows (itself first) from pivot lists.

    `pivot_of` (n, >= probe) int32: each row's nearest pivots, as ids into `pivots` (the
    pivots' rows), nearest first. `norms`: |row| per row as `index.row_norms` gives them
    (a set's stored norms); None computes them (one pass). `assign`: lists a row joins;
    `probe`: lists a row's group reads; `rounds`: neighbours-of-neighbours rounds after.
    `quantised`: the rows' (codes, scales) when made already (`all_knn` standalone).
    """
    metric = layout_metric(metric)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    n = vectors.shape[0]
    m = int(np.asarray(pivots).size)
    pivot_of = np.ascontiguousarray(pivot_of, dtype=np.int32)
    if pivot_of.ndim != 2 or pivot_of.shape[0] != n or pivot_of.shape[1] < 1:
        raise ValueError(f"pivot_of must be (n={n}, probe), got {pivot_of.shape}")
    if n and (pivot_of.min() < 0 or pivot_of.max() >= m):
        raise ValueError(f"pivot_of holds ids outside the {m} pivots")
    graph = _empty(n, k, metric, "pivot")
    if n == 0:
        return graph
    vectors = _float32_rows(vectors)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    if norms is None:
        norms = row_norms(vectors, state.sub(0.0, 0.05))
        timings["norms"] = time.perf_counter() - t
    norms = np.ascontiguousarray(norms, dtype=np.float32)
    if norms.shape != (n,):  # the kernels index it by row, unchecked
        raise ValueError(f"norms must hold one value per row ({n}), got {norms.shape}")
    cos = metric == "cosine"
    probe = max(1, min(probe, pivot_of.shape[1]))
    join_end = 1.0 if rounds <= 0 else 0.6

    t = time.perf_counter()
    pivot_of = _nearby_first(pivots, pivot_of, probe)
    list_ptr, list_rows = lists_csr(pivot_of, m, max(1, assign))
    group_ptr, order = lists_csr(pivot_of, m, 1)
    unit_ptr = _units(group_ptr)
    timings["lists"] = time.perf_counter() - t

    if quantised is None:
        t = time.perf_counter()
        codes, scales = _quantised(vectors, norms, cos, state.sub(0.05, 0.1))
        timings["quantise"] = time.perf_counter() - t
    else:
        codes, scales = quantised

    t = time.perf_counter()
    # euclidean: the codes choose JOIN_EXTRA more than asked, the float32 rows the k
    exact = k > 1 and not cos
    width = k + JOIN_EXTRA if exact else k
    ind, dist = np.full((n, width), -1, np.int32), np.zeros((n, width), np.float32)
    if k == 1:
        ind[:, 0] = np.arange(n, dtype=np.int32)
    else:
        bounds = np.searchsorted(unit_ptr, np.arange(0, n, JOIN_CHUNK_ROWS))
        bounds = np.unique(np.append(bounds, unit_ptr.size - 1))
        sub = state.sub(0.1, join_end)
        seen = np.zeros((lanes(), n + m), dtype=np.int32)
        for u0, u1 in itertools.pairwise(bounds):
            run_parallel(join_units, codes, scales, cos, pivot_of, probe, list_ptr, list_rows,
                         order, unit_ptr, int(u0), int(u1), seen, ind, dist)
            sub.progress(int(unit_ptr[u1]), n)
    timings["join"] = time.perf_counter() - t

    if k > 1 and rounds > 0:
        t = time.perf_counter()
        for r in range(rounds):
            sub = state.sub(join_end + (1 - join_end) * r / rounds,
                            join_end + (1 - join_end) * (r + 1) / rounds)
            new_ind, new_dist = np.empty_like(ind), np.empty_like(dist)
            for r0 in range(0, n, JOIN_CHUNK_ROWS):
                r1 = min(n, r0 + JOIN_CHUNK_ROWS)
                run_parallel(descent_rows, codes, scales, cos, ind, dist, DESCENT_FAN, order,
                             r0, r1, new_ind, new_dist)
                sub.progress(r1, n)
            ind, dist = new_ind, new_dist
        timings["rounds"] = time.perf_counter() - t
    if exact:
        t = time.perf_counter()
        for i, r0 in enumerate(range(0, n, JOIN_CHUNK_ROWS)):
            r1 = min(n, r0 + JOIN_CHUNK_ROWS)
            state.check()
            run_parallel(exact_lists, vectors, norms, cos, ind, dist, order, r0, r1)
            if i % RELEASE_EVERY == RELEASE_EVERY - 1:
                release(vectors)
        release(vectors)
        timings["exact"] = time.perf_counter() - t
    ind, dist = np.ascontiguousarray(ind[:, :k]), np.ascontiguousarray(dist[:, :k])
    _fill_missing(ind, dist)
    graph.ind, graph.dist = ind, dist
    graph.timings = {key: round(v, 3) for key, v in timings.items()}
    return graph


def _group_order(near: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """(group_ptr int64, order int32): rows grouped by their first column of `near`, and
    inside a group sorted by the next columns, so a unit's rows share their second and
    third choices too and the union of the lists it reads stays small."""
    keys = tuple(near[:, j] for j in range(near.shape[1] - 1, -1, -1))
    order = np.lexsort(keys).astype(np.int32)
    group_ptr = np.zeros(groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(near[:, 0], minlength=groups), out=group_ptr[1:])
    return group_ptr, order


def _nearest_in(codes: np.ndarray, scales: np.ndarray, cos: bool, centres: np.ndarray,
                near: np.ndarray, above: int, width: int,
                state: TaskState) -> tuple[np.ndarray, np.ndarray]:
    """(int32 (n, width), float32 (n,)): every row's nearest `centres` (ids into them, a
    centre itself first), from `near` (n, t): each row's nearest centres of the level above
    (`above` of them); and each row's distance to the nearest centre other than itself.

    The join's kernel does it: a centre is listed under its TREE_ASSIGN nearest upper
    centres, rows are grouped by their nearest upper centre, and each unit of a group reads
    the lists of its rows' t nearest (an IVF over the upper centres, read in blocks)."""
    n = codes.shape[0]
    near = np.ascontiguousarray(near, dtype=np.int32)
    list_ptr, entries = lists_csr(np.ascontiguousarray(near[centres]), above, TREE_ASSIGN)
    list_rows = centres[entries].astype(np.int32)
    group_ptr, order = _group_order(near, above)
    unit_ptr = _units(group_ptr, TREE_UNIT_MAX)
    ind = np.full((n, width + 1), -1, np.int32)
    dist = np.zeros((n, width + 1), np.float32)
    seen = np.zeros((lanes(), n + above), dtype=np.int32)
    bounds = np.searchsorted(unit_ptr, np.arange(0, n, JOIN_CHUNK_ROWS))
    for u0, u1 in itertools.pairwise(np.unique(np.append(bounds, unit_ptr.size - 1))):
        run_parallel(join_units, codes, scales, cos, near, near.shape[1], list_ptr, list_rows,
                     order, unit_ptr, int(u0), int(u1), seen, ind, dist)
        state.progress(int(unit_ptr[u1]), n)
    position = np.full(n, -1, dtype=np.int32)
    position[centres] = np.arange(centres.size, dtype=np.int32)
    found = np.where(ind[:, 1:] >= 0, position[np.maximum(ind[:, 1:], 0)], -1)
    # the kernel skips a row itself: a centre is its own nearest
    found[centres, 1:] = found[centres, :-1]
    found[centres, 0] = np.arange(centres.size, dtype=np.int32)
    return _columns(found, width), dist[:, 1]


def nearest_pivots(codes: np.ndarray, scales: np.ndarray, cos: bool, pivots: np.ndarray,
                   width: int, state: TaskState, *, seed: int = 0) -> np.ndarray:
    """int32 (n, width): every row's nearest `pivots` (ids into them), nearest first, a pivot
    itself first, found through a tree of nested samples of the pivots.

    Each level keeps one pivot in TREE_BRANCH of the level below; every row finds its
    TREE_PROBE nearest of the coarsest level by comparing with all of them, then of each
    finer level among the lists of its nearest above (`_nearest_in`), from the int8 codes
    the join reads next. It replaces an HNSW over the pivots (its build and a search per
    row, both waiting on memory at 1M rows) for a standalone graph."""
    pivots = np.asarray(pivots, dtype=np.int64)
    levels = [pivots]
    rng = np.random.default_rng(seed)
    while levels[-1].size > TREE_BRANCH:
        below = levels[-1]
        levels.append(below[np.sort(rng.choice(below.size, below.size // TREE_BRANCH,
                                               replace=False))])
    near = np.zeros((codes.shape[0], 1), dtype=np.int32)  # every row under one root
    above = 1
    gap = np.zeros(codes.shape[0], dtype=np.float32)
    for depth, centres in enumerate(reversed(levels)):
        last = depth == len(levels) - 1
        near, gap = _nearest_in(codes, scales, cos, centres, near, above,
                                width if last else TREE_PROBE,
                                state.sub(depth / len(levels), (depth + 1) / len(levels)))
        above = centres.size
    lost = lost_rows(near, gap, pivots)
    if lost.size:
        near[lost] = _exact_nearest(codes, scales, cos, lost, pivots, width)
    return near


def lost_rows(near: np.ndarray, gap: np.ndarray, pivots: np.ndarray) -> np.ndarray:
    """Rows (sorted) the tree probably led astray, at most LOST_PAIRS / pivots of them, the
    farthest off first.

    A row reaches its pivots through the coarser levels only: when none of its nearest
    coarse centres lists a centre of its own group, every pivot it gets is another group's,
    then every neighbour the join gives it: on the 1M mixture 6 rows got all 8 pivots from
    another cluster (a uniform coarse level of 43 centres held 25 of its 40), and the map's
    graph 108 edges across clusters, joining two of them. Such a row is far from the
    nearest pivot it was given (`gap`): more than LOST_RATIO times as far as that pivot is
    from its own nearest other pivot, or as the pivots' median of that when larger (a
    duplicate pivot is at 0). At 1M those 6 rows were 4.8-5.7 times, where the 99.99th
    percentile of all rows was 1.9. A pivot is measured by its nearest other pivot, and a
    row whose nearest pivot is lost is lost with it: the pivot's list is the row's way in."""
    n = near.shape[0]
    if pivots.size < 2 or n == 0 or near.shape[1] < 2:
        return np.zeros(0, dtype=np.int64)
    own = gap[pivots]                      # by pivot id: its distance to its nearest other
    finite = own[np.isfinite(own)]
    floor = max(float(np.median(finite)) if finite.size else 0.0, 1e-12)
    nearest = near[:, 0].copy()
    nearest[pivots] = near[pivots, 1]      # a pivot lists itself first
    found = np.isfinite(gap) & (nearest >= 0)  # else no pivot was found at all
    ratio = np.full(n, np.inf)
    ratio[found] = gap[found] / np.maximum(own[nearest[found]], floor)
    ratio[pivots[near[pivots, 1] == near[pivots, 0]]] = 0.0  # a pivot that found no other
    lost_pivot = ratio[pivots] > LOST_RATIO
    first = near[:, 0]
    follows = (first >= 0) & lost_pivot[np.maximum(first, 0)]
    follows[pivots] = False
    ratio[follows] = np.maximum(ratio[follows], ratio[pivots[first[follows]]])
    lost = np.nonzero(ratio > LOST_RATIO)[0]
    cap = max(1, LOST_PAIRS // pivots.size)
    if lost.size > cap:
        lost = lost[np.argsort(-ratio[lost], kind="stable")[:cap]]
    return np.sort(lost).astype(np.int64)


def _exact_nearest(codes: np.ndarray, scales: np.ndarray, cos: bool, rows: np.ndarray,
                   pivots: np.ndarray, width: int) -> np.ndarray:
    """int32 (rows, width): the rows' nearest pivots (ids into `pivots`, a pivot itself
    first) compared with every pivot, by the join's kernel over one list that holds them."""
    n = codes.shape[0]
    order = np.asarray(rows, dtype=np.int32)
    unit_ptr = _units(np.array([0, order.size], dtype=np.int64), TREE_UNIT_MAX)
    list_ptr = np.array([0, pivots.size], dtype=np.int64)
    ind = np.full((n, width + 1), -1, np.int32)
    dist = np.zeros((n, width + 1), np.float32)
    seen = np.zeros((lanes(), n + 1), dtype=np.int32)
    run_parallel(join_units, codes, scales, cos, np.zeros((n, 1), np.int32), 1, list_ptr,
                 pivots.astype(np.int32), order, unit_ptr, 0, unit_ptr.size - 1, seen, ind,
                 dist)
    position = np.full(n, -1, dtype=np.int32)
    position[pivots] = np.arange(pivots.size, dtype=np.int32)
    others = ind[order, 1:]
    found = np.where(others >= 0, position[np.maximum(others, 0)], -1)
    is_pivot = position[order] >= 0        # the kernel skips a row itself: put it first
    found[is_pivot, 1:] = found[is_pivot, :-1]
    found[is_pivot, 0] = position[order[is_pivot]]
    return _columns(found, width)


def check_magnitude(largest: np.ndarray, dims: int, rows: np.ndarray | None = None) -> None:
    """Refuse euclidean rows whose values are too large for float32 distances.

    `largest`: each row's largest |value| (a euclidean code's scale times 127), `rows` their
    row numbers in the set (default: their positions). Beyond about sqrt(float32 max / 4d)
    a squared distance overflows: every distance is infinite and no neighbour is found. In
    the join the tree's lists would then index with -1 (values of 1e30 aborted the process);
    faiss's search failed with a message about an empty array. Cosine rows are unit length."""
    if largest.size == 0:
        return
    at = int(np.argmax(largest))
    value = float(largest[at])
    limit = float(np.sqrt(np.finfo(np.float32).max / (4.0 * max(1, dims)))) / 8.0
    if value > limit:
        row = int(rows[at]) if rows is not None else at
        raise InputError(f"a value of {value:.3g}: euclidean distances between rows this large "
                         f"overflow (the largest usable is about {limit:.1g})", row=row,
                         hint="scale the vectors down, or lay the set out by cosine")


def pivot_count(n: int) -> int:
    """Pivots for a standalone join of n rows (about n / PIVOT_SHARE)."""
    return int(min(n, max(1, min(PIVOT_MAX, n // PIVOT_SHARE))))


def all_knn(vectors: np.ndarray, metric: str, k: int, state: TaskState, *,
            context: PivotContext | None = None, seed: int = 0, norms: np.ndarray | None = None,
            rounds: int = 1, exact_max: int = EXACT_KNN_MAX, pivots: int | None = None,
            assign: int = ASSIGN, probe: int = PROBE) -> tuple[KnnGraph, PivotContext]:
    """The kNN graph of every row (k with itself), and the pivots it was joined from.

    Up to `exact_max` rows without a `context`: exact (faiss flat), every row its own pivot.
    Above: a seeded sample of `pivots` (default `pivot_count(n)`) pivots, every row's
    nearest pivots found from the int8 codes (`nearest_pivots`), then `pivot_join` with
    `rounds`, `assign` and `probe`. A `context` (what an earlier call returned for these
    rows) skips all but the join.
    """
    metric = layout_metric(metric)
    n = vectors.shape[0]
    cos = metric == "cosine"
    timings: dict[str, float] = {}
    if context is None and n <= exact_max:
        t = time.perf_counter()
        state.status(f"Finding the {k} nearest neighbours of {n:,} rows")
        if n == 0:
            graph = _empty(0, k, metric, "exact")
            return graph, PivotContext(np.arange(0, dtype=np.int64), graph.ind)
        x = gather(vectors, None, cos, state.sub(0.0, 0.1))
        index = KnnIndex(x, metric, state.sub(0.1, 0.2))
        ind, dist = index.search(x, k, state.sub(0.2, 1.0))
        self_first(ind, dist)
        ind = ind.astype(np.int32)
        timings["exact"] = round(time.perf_counter() - t, 3)
        graph = KnnGraph(ind, dist, metric, "exact", k, recall=1.0, timings=timings)
        return graph, PivotContext(np.arange(n, dtype=np.int64), ind)
    quantised = None
    if context is None:
        vectors = _float32_rows(vectors)
        t = time.perf_counter()
        if norms is None:
            norms = row_norms(vectors, state.sub(0.0, 0.03))
        state.status(f"kNN graph: reading {n:,} rows")
        quantised = _quantised(vectors, norms, cos, state.sub(0.03, 0.08))
        if not cos:
            check_magnitude(quantised[1] * np.float32(127.0), vectors.shape[1])
        timings["quantise"] = time.perf_counter() - t
        t = time.perf_counter()
        rows = sample_rows(n, min(n, pivots) if pivots else pivot_count(n), seed)
        rows = np.arange(n, dtype=np.int64) if rows is None else rows
        state.status(f"kNN graph: the nearest of {rows.size:,} pivots of every row")
        near = nearest_pivots(*quantised, cos, rows, probe, state.sub(0.08, 0.3), seed=seed)
        context = PivotContext(rows, near)
        timings["assign"] = time.perf_counter() - t
        state = state.sub(0.3, 1.0)
    state.status(f"kNN graph: joining the {k} nearest neighbours of {n:,} rows")
    graph = pivot_join(vectors, norms, metric, context.rows, context.pivot_of(n, probe), k, state,
                       assign=assign, probe=probe, rounds=rounds, quantised=quantised)
    graph.timings = {**{key: round(v, 3) for key, v in timings.items()}, **graph.timings}
    return graph, context


def _distances_to(q: np.ndarray, qq: np.ndarray, vectors: np.ndarray, start: int, stop: int,
                  cos: bool, norms: np.ndarray | None) -> np.ndarray:
    """umap's distances (float32, (q, stop - start)) from cleaned rows q to rows start:stop."""
    block = vectors[start:stop]
    scale = None if norms is None else np.asarray(norms[start:stop], dtype=np.float32)
    if scale is None or block.dtype != np.float32 or not np.isfinite(scale).all():
        x = clean_rows(block, cos)
        dot = q @ x.T
        sq = np.einsum("ij,ij->i", x, x)
    else:  # finite norms: finite rows, compared as they are
        dot = q @ np.asarray(block).T
        if cos:
            dot *= np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)[None, :]
        sq = scale * scale
    if cos:
        return np.clip(1.0 - dot, 0.0, 2.0)
    return np.sqrt(np.maximum(qq[:, None] + sq[None, :] - 2 * dot, 0.0))


def sampled_recall(vectors: np.ndarray, graph: KnnGraph, rows: int = 200,
                   state: TaskState | None = None, *, seed: int = 0,
                   norms: np.ndarray | None = None) -> float:
    """Share of the k-1 true nearest others of `rows` sampled rows that the graph holds.

    Tie-proof: a neighbour the graph lists counts when its exact distance is within the
    row's exact (k-1)-th (duplicates make ids ambiguous, distances are not). Brute force
    in float32 blocks of rows against all sampled rows at once: one pass over the set.
    `norms` (|row| per row, a set's stored ones): a block of float32 rows whose norms are
    all finite is compared where it lies, scaled by them, instead of a cleaned copy (at 1M
    x 384 the copy was half of the pass).
    """
    state = state or TaskState()
    n = graph.ind.shape[0]
    kk = min(graph.k, n) - 1
    if kk <= 0:
        return 1.0
    cos = graph.metric == "cosine"
    sample = sample_rows(n, rows, seed)
    sample = np.arange(n, dtype=np.int64) if sample is None else sample
    q = gather(vectors, sample, cos, TaskState())
    qq = np.einsum("ij,ij->i", q, q)
    best = np.full((sample.size, kk), np.inf, dtype=np.float32)
    step = chunk_rows(vectors.shape[1])
    for start in range(0, n, step):
        stop = min(n, start + step)
        d = _distances_to(q, qq, vectors, start, stop, cos, norms)
        inside = np.flatnonzero((sample >= start) & (sample < stop))
        d[inside, sample[inside] - start] = np.inf
        best = np.partition(np.concatenate([best, d], axis=1), kk - 1, axis=1)[:, :kk]
        state.progress(stop, n)
    release(vectors)
    kth = best.max(axis=1).astype(np.float64)
    found = graph.ind[sample, 1:]
    valid = found >= 0
    others = gather(vectors, np.where(valid, found, 0).ravel(), cos, TaskState())
    others = others.reshape(found.shape + (-1,)).astype(np.float64)
    q64 = q.astype(np.float64)[:, None, :]
    if cos:
        exact = np.clip(1.0 - np.einsum("rkd,rkd->rk", others, q64), 0.0, 2.0)
    else:
        exact = np.sqrt(np.einsum("rkd,rkd->rk", others - q64, others - q64))
    hit = valid & (exact <= kth[:, None] * (1 + 1e-4) + 1e-5)
    return float(hit.sum()) / float(sample.size * kk)


__all__ = ["KnnGraph", "PivotContext", "all_knn", "nearest_pivots", "pivot_count", "pivot_join",
           "sampled_recall"]
