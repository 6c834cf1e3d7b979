"""UMAP: umap-learn 0.5.12's algorithm, driven epoch by epoch from here.

Fuzzy simplicial set, spectral initialisation, the same SGD epochs and random number
generator (a whole-set fit draws 3 negative samples at 5/3 of umap's strength instead of 5
at 1: the same repulsion in expectation, FIT_NEGATIVE), through kernels compiled once per
installation (`explorer.compute.numba.umap_kernels`) and a kNN graph from faiss: driving the
epochs here is what gives partial layouts and cancellation between epochs without relying on
umap internals. Deterministic for a seed below PARALLEL_MIN fitted rows (epochs on one
thread); above it the epochs run on every core like umap-learn without a seed (about twice
as fast on two cores, not bit-identical between runs; the cache keeps the first result).

Above UMAP_SAMPLE_ABOVE rows every row is optimised (`params.refine`, the default), as in a
fit of every row, in about twice the time of fitting a sample and placing the rest: every
row's kNN graph joined through a tree of pivots (`knn_graph.all_knn`, the graph hubness then
reuses), umap's spectral start of that whole graph, and umap's 200 epochs on every row at a
quarter of its learning rate (REFINE_ALPHA), their negative samples drawn from a per-epoch
pool of rows in cache (REFINE_POOL), the rows renumbered along a curve of the start
(`locality`). An asked sample is fitted instead and its layout spread over the graph as the
start. 1M x 384 cosine on two cores (`bench_projection.py --only umap1m`, 3 interleaved
rounds): 106.6 / 118.8 / 123.7 s, median 118.8 s (1.40 times the filing-time fit-and-place's
84.8 s in the same run), TW 0.9540 / 0.9539 / 0.9539 against 0.9431 for it (+0.0108) and
0.9429 for today's; continuity 0.9945 against 0.9861. Before, a 100k fit spread over the
graph was the start, at umap's full rate: 9 bench maps 0.9501-0.9540, median 0.9518 (+0.0082
over the filing-time fit-and-place), in 111-120 s. The fit's layout spread over the graph
starts each cluster below the spectral start at the scale TW sees (start TW 0.945 against
0.952), and umap's full rate lost part of what the spectral start holds (REFINE_ALPHA's
trials); the spectral start needed the join's rows led astray found again first
(`knn_graph.lost_rows`: 6 rows joined two clusters, and the start laid them out as one: TW
0.9495-0.9533 over 5 seeds at umap's full rate). umap-learn's own fit of every row: 0.9550,
0.9539, 0.9528 and 0.9545 (four runs, 8-19 minutes; median 0.9542). What made the time, in
benches before: the epochs' rows renumbered along a curve (116.7 s to 82.2 s on one
machine), the pool (epochs 187 s to 88-108 s on a slower one), the gradients' coefficients
from a table (`umap_kernels.gradient_table`: epochs 71-82 s to 48-57 s), the pivot tree
comparing units of 16 rows (`knn_graph.TREE_UNIT_MAX`). With refine=False a bigger sample
(UMAP_AUTO_SAMPLE) is fitted and the other rows only placed at the weighted mean of their
nearest fitted rows, about twice as fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from explorer.compute.numba.umap_kernels import gradient_table, run_epoch
from explorer.compute.projection.graph import find_ab_params, fuzzy_graph
from explorer.compute.projection.knn import KnnIndex, self_first
from explorer.compute.projection.knn_graph import KnnGraph, all_knn, check_magnitude
from explorer.compute.projection.locality import renumbered, restored, z_order
from explorer.compute.projection.params import PARTIAL_STEPS
from explorer.compute.projection.pca import fit as fit_pca
from explorer.compute.projection.pca import pca_init
from explorer.compute.projection.placement import PLACE_K, place, spread
from explorer.compute.projection.rows import (
    fit_size,
    gather,
    read_fit_rows,
    sample_rows,
)
from explorer.compute.vectors import layout_metric
from explorer.core.jobs import Cancelled, TaskState

if TYPE_CHECKING:
    from explorer.compute.projection.params import ProjectionParams

UMAP_SAMPLE_ABOVE = 200_000    # UMAP: above this many rows, refine every row, or fit ...
UMAP_AUTO_SAMPLE = 100_000     # ... this many rows and place the rest (refine=False)
# What makes the refined 1M map (trials on the bench's 1M mixture, cosine, TW as it measures
# it, one run each unless said, load 1.3-2.5). umap-learn's own fit of all 1M rows (nndescent
# graph, spectral start, 200 epochs) reaches TW 0.955, continuity 0.9948, in 1,029 s; our
# fit-and-place 0.9439-0.9447. What separates a refine from that is the graph:
# - Before: the graph joined with the 50k fitted rows as pivots (their HNSW placement as each
#   row's nearest pivots), 30 epochs at rate 0.1 from the placed layout: 0.949-0.951. On
#   that graph nothing lifted it: 200 epochs at rate 1.0 0.951 (with assign/probe 4/8
#   0.9507); a spectral start of the whole 1M graph (18.6 s) 0.9499; umap-learn's own epoch
#   kernel 0.9477; edges pruned at 1/200 as umap-learn does 0.9499; k 45 0.9503; extra
#   edges from random walks (2-4 hops, 5-15 a row), fitted rows held, umap's transform
#   (placed rows optimised against the held fit), LLE weights for placing: within 0.002.
#   The notes of that search (mid-scale loss, fit size, placement, rates) are in git history.
# - Now: the graph joined through the pivot tree as hubness makes it (`all_knn`, 100k
#   sampled pivots, assign 4, probe 8): 30 epochs at 0.1 0.951, 100 epochs at 1.0 0.9518,
#   150 0.9531, 200 0.9545 / 0.9535 / 0.9532, 250 0.9526; probe 12 at 200 epochs 0.9542
#   (+4 s of join). So umap's full schedule (200 epochs) on a good graph, and not fewer.
# - Later, paired on one fit and graph per round (seeds 0-9): probe 12 0.9541 / 0.9536 /
#   0.9546 / 0.9532 / 0.9512, a second descent round 0.9530 / 0.9540 / 0.9538, against
#   0.9545 / 0.9519 / 0.9530 / 0.9535 with today's graph; a spectral start of the whole
#   graph (3.3 s, start TW 0.9493) 0.9524 / 0.9524; a 100k fit 0.9527; 1.5 negative samples
#   0.9520 / 0.9512, 1.0 0.9436 / 0.9434. Every variant at umap's full rate ends at
#   0.952-0.954, whatever the graph, start or fit; from the spectral start of a graph whose
#   clusters the join keeps apart (`knn_graph.lost_rows`), a quarter of the rate holds
#   0.954-0.9555 (REFINE_ALPHA).
# - An asked sample's start: its fit spread over the graph (`placement.spread`, 1.0 s, start
#   TW 0.9404) instead of an HNSW placement of every row (16 s, 0.9397), alike after 200
#   epochs.
REFINE_EPOCHS = 200            # umap's schedule for large sets ...
# ... from a quarter of its starting learning rate: the spectral start already holds each
# cluster's layout at the scale the trustworthiness of 2,000 rows sees (its TW 0.952, the
# fit spread over the graph 0.945), and umap's full rate loses part of it. 1M mixture, one
# joined graph, 5 seeds: from the spectral start 0.9540 / 0.9555 / 0.9549 / 0.9555 / 0.9544
# at 0.25 (median 0.9549), 0.9539 / 0.9549 / 0.9538 at 0.5, 0.9488 / 0.9538 / 0.9531 at 1,
# 0.9553 / 0.9546 at 0.125; nndescent's graph, 3 seeds: 0.9546 / 0.9549 / 0.9548 at 0.25,
# 0.9546 / 0.9553 / 0.9546 at 0.5, 0.9543 / 0.9519 / 0.9515 at 1. From the fit spread over
# the graph: 0.9547 / 0.9536 at 0.25; 0.9554 / 0.9535 / 0.9550 / 0.9537 / 0.9540 at 0.5
# (on another fit 0.9535 / 0.9526 / 0.9520 / 0.9535 / 0.9533); 0.9521-0.9542 at 1.
REFINE_ALPHA = 0.25
# negative samples per edge sample (umap: 5): at 200 epochs TW 0.9537 with 3 and with 5,
# the epochs 86 s against 99 s (150 epochs with 3: 0.9516)
REFINE_NEGATIVE = 3.0
# their strength: umap's. At 5/3 (umap's repulsion in expectation, as FIT_REPULSION) the
# refined 1M map's TW was 0.9534 / 0.9545 / 0.9506 against 0.9510 / 0.9515 / 0.9503 at 1, in
# 120-125 s against 110-124 s (3 rounds, both from a fit with 3 negatives at 5/3); from the
# fit it has now (5 at 1) 0.9538 / 0.9508 against 0.9519 / 0.9533 (2 rounds; with 150 epochs
# 0.9501 / 0.9534): no gain shown, within the map's spread from run to run.
# (Paired on one graph and start, pool 8,192, 4 seeds: 5/3 0.9521 / 0.9522 / 0.9525 / 0.9514
# and 4/3 0.9534 / 0.9532 / 0.9514 / 0.9506 against 0.9533 / 0.9527 / 0.9540 / 0.9505 at 1.)
REFINE_REPULSION = 1.0
# rows whose positions an epoch's negative samples are drawn from (`optimize_layout`): 64 KiB,
# an eighth of a core's L2 here, where a draw from all 1M rows waits on main memory. 1M mixture,
# one graph and start, 200 epochs, 5 seeds: 8,192 rows 0.9530 / 0.9539 / 0.9525 / 0.9532 /
# 0.9536 against 0.9512 / 0.9519 / 0.9518 / 0.9523 / 0.9508 with 65,536 (512 KiB, the
# whole L2), the epochs 35-51 s against 42-66 s (median 39.7 s against 52.6 s); 60 epochs 3 times:
# 65,536 rows 15.6 s, 16,384 12.7 s, 8,192 11.0 s, 4,096 12.3 s (medians). 300 epochs lift TW
# too (0.9535 / 0.9538 / 0.9560 against 0.952 / 0.9526 / 0.9542 with 65,536), for 50% more
# time; at 8,192 rows 280 or 300 epochs showed no gain over 200 (0.9530 / 0.9530 / 0.9523 /
# 0.9523); 4,096 and 2,048 rows 0.9524 / 0.9537 / 0.9523 and 0.9520 / 0.9537 / 0.9521
# against 0.9530 / 0.9513 / 0.9516 (3 seeds): no gain either way. Every row is still drawn
# alike: the pool is a fresh uniform sample each epoch.
# Whole maps (`bench_projection.py --only umap1m`, 3 interleaved rounds): 133.0 / 118.6 /
# 113.3 s (refine epochs 48.7 / 38.8 / 35.8 s), TW 0.9527 / 0.9516 / 0.9540, against 122.6 /
# 145.4 / 133.7 s (51.0 / 69.0 / 52.2 s), TW 0.9530 / 0.9517 / 0.9530 with 65,536.
REFINE_POOL = 8_192
REFINE_ROUNDS = 1              # neighbours-of-neighbours rounds of the joined graph
# The join's lists per row and lists read: hubness's, so hubness counts on the map's graph.
# (3, 6) would save ~10 s of a 55-64 s join (recall@15 0.915 against 0.964; TW 0.9524 /
# 0.9532 / 0.9532 against 0.9544 / 0.9537 / 0.9520), but hubness's skewness then errs 14%.
REFINE_ASSIGN, REFINE_PROBE = 4, 8
# A whole-set fit's negative samples per edge sample and their repulsion's strength: umap
# draws 5 at strength 1; 3 at 5/3 give the same repulsion in expectation from 60% of the
# draws, which are most of an epoch's work. 63k real MiniLM rows, one graph and spectral
# start, 200 epochs, 4 seeds (TW on 4,000 rows): 5 at 1: 0.8595 / 0.8740 / 0.8775 / 0.8755;
# 3 at 5/3: 0.8699 / 0.8723 / 0.8749 / 0.8763; 3 at 1: 0.8599 / 0.8619 / 0.8619 / 0.8617 (too
# little repulsion); 2 at 2.5: 0.8645 / 0.8712 / 0.8688 / 0.8674. 100k rows of the 1M
# mixture, whole fits, 3 seeds (TW on 5,000 rows): 0.9522 / 0.9532 / 0.9533 against 0.9531 /
# 0.9537 / 0.9535, epochs 4.5-4.7 s against 6.4-9.5 s. A sampled fit (a placement's, or an
# asked sample's as a refined map's start) keeps umap's 5 at 1: as the 1M map's start it cost
# the refined map 0.002 TW (0.9510 / 0.9515 / 0.9503 against 0.9532 median before, 3 rounds).
FIT_NEGATIVE = 3.0
FIT_REPULSION = 5.0 / 3.0
PARALLEL_MIN = 10_000          # multi-threaded (non-deterministic) UMAP epochs from here
# A whole-set fit, or a refined map's fit, above this many rows finds its kNN by the pivot
# join, not HNSW: 63k real MiniLM rows, 10-16 s against 22 s, recall@15 0.900 against 0.911
# (both under load ~6); 100k rows of the 1M mixture 3.5 s against 10.7-11.6 s, recall@15
# 0.988 against 0.941 (50k: 1.3-1.6 s against 4.2 s, 0.994 against 0.935)
JOIN_KNN_ABOVE = 50_000


def fit(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
        n_epochs: int | None = None, parallel: bool | None = None,
        graph_sink: Callable[[KnnGraph], None] | None = None,
        ) -> tuple[np.ndarray, dict]:
    """UMAP of the rows; above UMAP_SAMPLE_ABOVE a fitted sample, the rest placed, then
    with `params.refine` every row refined.

    `n_epochs` and `parallel` override the defaults (the warm-up and tests use them).
    `graph_sink`, when given, receives the kNN graph of every row once, if the fit made
    one (hubness reuses it): the fit's own graph, or the joined graph of a refined map.
    """
    n = vectors.shape[0]
    cos = params.metric == "cosine"
    dims = params.dims
    if params.refine and params.sample is None and n > UMAP_SAMPLE_ABOVE:
        return _refine_every_row(vectors, params, state, graph_sink)
    m = fit_size(n, params.sample, UMAP_SAMPLE_ABOVE, UMAP_AUTO_SAMPLE)
    if m < 4:  # nothing to optimise: a PCA of so few points is the layout
        return fit_pca(vectors, replace(params, method="pca"), state)[0], {"fit_rows": int(m)}
    rows = sample_rows(n, m, params.seed)
    sampled = rows is not None
    refine = sampled and params.refine
    k = min(params.n_neighbors, m - 1)
    timings: dict[str, float] = {}
    # progress budget: read, kNN, placement search if sampled, init, fit epochs; a refined
    # map then joins the graph of every row and runs its refine epochs
    p_read, p_knn = (0.01, 0.04) if refine else (0.05, 0.35)
    p_place = 0.55 if sampled and not refine else p_knn
    p_init = p_place + (0.01 if refine else 0.05)
    p_fit = 0.12 if refine else 0.99

    t = time.perf_counter()
    x = read_fit_rows(vectors, rows, cos, state.sub(0.0, p_read), "UMAP")
    if not cos:
        check_magnitude(np.abs(x).max(axis=1, initial=0.0), x.shape[1], rows)
    timings["read"] = time.perf_counter() - t

    t = time.perf_counter()
    state.status(f"UMAP: finding {k} nearest neighbours of {m:,} rows")
    if (refine or not sampled) and m > JOIN_KNN_ABOVE:  # no index to place rows with is needed
        index = None
        own, _ = all_knn(x, params.metric, k, state.sub(p_read, p_knn), seed=params.seed,
                         exact_max=JOIN_KNN_ABOVE)
        ind, dist, knn_method = own.ind, own.dist, own.method
    else:
        index = KnnIndex(x, params.metric, state.sub(p_read, p_read + (p_knn - p_read) / 2))
        ind, dist = index.search(x, k, state.sub(p_read + (p_knn - p_read) / 2, p_knn))
        self_first(ind, dist)
        knn_method = "exact" if index.exact else "hnsw"
    timings["knn"] = time.perf_counter() - t

    placement = None
    if sampled and not refine:  # a refined map spreads the fit over its graph instead
        t = time.perf_counter()
        state.status(f"UMAP: finding fitted neighbours of the other {n - m:,} rows")
        placement = place(vectors, rows, index, min(params.n_neighbors, PLACE_K), cos,
                          state.sub(p_knn, p_place))
        timings["place_search"] = time.perf_counter() - t
    if graph_sink is not None and not sampled:
        graph_sink(KnnGraph(ind.astype(np.int32), dist, layout_metric(params.metric),
                            knn_method, int(k)))
    del index

    t = time.perf_counter()
    state.status("UMAP: building the fuzzy graph and the spectral start")
    graph = fuzzy_graph(ind, dist, k)
    del ind, dist
    rng = np.random.RandomState(params.seed)
    if n_epochs is None:
        n_epochs = 500 if m <= 10_000 else 200
    coo = graph.tocoo()
    coo.sum_duplicates()
    coo.data[coo.data < coo.data.max() / float(max(n_epochs, 10))] = 0.0
    coo.eliminate_zeros()
    init, init_name = _spectral_init(coo.tocsr(), x, dims, rng, state)
    del x
    init = _noisy_scale(init, rng)
    state.progress(p_init)
    timings["graph_init"] = time.perf_counter() - t

    t = time.perf_counter()
    state.status(f"UMAP: optimising the layout ({n_epochs} epochs)")
    if parallel is None:
        parallel = m >= PARALLEL_MIN
    negative_rate, repulsion = (5.0, 1.0) if sampled else (FIT_NEGATIVE, FIT_REPULSION)
    # a refined map's fit shows no partial: its rows are a sample, the map shows every row
    emb = optimize_layout(init, coo, params.min_dist, n_epochs, rng, parallel,
                          state.sub(p_init, p_fit),
                          (lambda e: placement.full(e)) if placement is not None else None,
                          partial_steps=0 if refine else PARTIAL_STEPS,
                          negative_rate=negative_rate, repulsion=repulsion)
    timings["optimise"] = time.perf_counter() - t
    info = {"fit_rows": int(m), "n_neighbors": int(k), "n_epochs": int(n_epochs),
            "init": init_name, "knn": knn_method, "negative_samples": negative_rate,
            "repulsion": round(repulsion, 4),
            "parallel": bool(parallel), "edges": int(coo.nnz),
            "placed": "knn-weighted-mean" if sampled else None, "refined_rows": 0}
    if refine:
        coords, more = _join_and_refine(vectors, params, (rows, emb), k, rng,
                                        state.sub(p_fit, 0.99), timings, graph_sink)
        info.update(more)
    else:
        coords = placement.full(emb) if placement is not None else emb
        info["refined_rows"] = int(m) if not sampled else 0
    info["timings"] = {key: round(v, 3) for key, v in timings.items()}
    return coords, info


def _refine_every_row(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
                      graph_sink: Callable[[KnnGraph], None] | None) -> tuple[np.ndarray, dict]:
    """A big set's map with no sample asked: every row's graph, its spectral start and the
    refine's epochs (`_join_and_refine`)."""
    n = vectors.shape[0]
    k = min(params.n_neighbors, n - 1)
    timings: dict[str, float] = {}
    coords, info = _join_and_refine(vectors, params, None, k, np.random.RandomState(params.seed),
                                    state.sub(0.0, 0.99), timings, graph_sink)
    info.update({"fit_rows": int(n), "n_neighbors": int(k), "n_epochs": int(REFINE_EPOCHS),
                 "knn": info["graph"]["method"], "negative_samples": REFINE_NEGATIVE,
                 "repulsion": round(REFINE_REPULSION, 4), "parallel": True, "placed": None,
                 "timings": {key: round(v, 3) for key, v in timings.items()}})
    return coords, info


class _SetRows:
    """A set's rows, read on demand as a fit reads them (cleaned; unit length for cosine):
    the spectral start of every row's graph reads only its components' rows for their
    centroids, and all of them only if it falls back to a PCA start."""

    def __init__(self, vectors: np.ndarray, params: ProjectionParams, state: TaskState):
        self.vectors, self.params, self.state = vectors, params, state

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return gather(self.vectors, np.asarray(rows, dtype=np.int64),
                      self.params.metric == "cosine", TaskState())

    def pca(self) -> np.ndarray:
        return fit_pca(self.vectors, replace(self.params, method="pca", sample=None),
                       self.state)[0]


def _join_and_refine(vectors: np.ndarray, params: ProjectionParams,
                     fitted: tuple[np.ndarray, np.ndarray] | None, k: int,
                     rng: np.random.RandomState, state: TaskState, timings: dict[str, float],
                     graph_sink: Callable[[KnnGraph], None] | None) -> tuple[np.ndarray, dict]:
    """Every row's kNN graph (the pivot tree's join, as hubness makes it), a start, and
    REFINE_EPOCHS epochs of umap's schedule at REFINE_ALPHA on every row (rows renumbered
    along a curve of the start for the epochs, `locality`).

    The start is umap's spectral layout of the whole graph, as a fit of every row has it,
    or with `fitted` (an asked sample's rows and their layout) that layout spread over it."""
    n = vectors.shape[0]
    t = time.perf_counter()
    state.status(f"UMAP: joining the {k} nearest neighbours of all {n:,} rows")
    knn, _ = all_knn(vectors, params.metric, k, state.sub(0.0, 0.3), seed=params.seed,
                     exact_max=JOIN_KNN_ABOVE, rounds=REFINE_ROUNDS, assign=REFINE_ASSIGN,
                     probe=REFINE_PROBE)
    timings["join"] = time.perf_counter() - t
    if graph_sink is not None:
        graph_sink(knn)

    t = time.perf_counter()
    state.status(f"UMAP: building the fuzzy graph of all {n:,} rows")
    graph = fuzzy_graph(knn.ind, knn.dist, k, n_epochs=REFINE_EPOCHS).tocoo()
    knn_info = {"method": knn.method, "k": int(knn.k), "recall": knn.recall}
    del knn
    if fitted is None:
        state.status(f"UMAP: the spectral start of all {n:,} rows")
        rows = _SetRows(vectors, params, state.sub(0.3, 0.35))
        init, init_name = _spectral_init(graph.tocsr(), rows, params.dims, rng,
                                         state.sub(0.3, 0.35), pca=rows.pca)
        init = _noisy_scale(init, rng)
    else:
        init, init_name = spread(graph, *fitted, state, rng), "spread"
    order = z_order(init)  # the epochs read rows near on the map near in memory
    graph = renumbered(graph, order)
    state.progress(0.35)
    timings["full_graph"] = time.perf_counter() - t

    t = time.perf_counter()
    state.status(f"UMAP: refining every row ({REFINE_EPOCHS} epochs)")
    emb = optimize_layout(init[order], graph, params.min_dist, REFINE_EPOCHS, rng, True,
                          state.sub(0.35, 1.0), lambda e: restored(e, order),
                          alpha0=REFINE_ALPHA, negative_rate=REFINE_NEGATIVE,
                          pool_size=REFINE_POOL, repulsion=REFINE_REPULSION)
    emb = restored(emb, order)
    timings["refine"] = time.perf_counter() - t
    return emb, {"placed": "spread over the graph, refined" if fitted is not None else None,
                 "init": init_name, "refined_rows": int(n),
                 "refine_epochs": int(REFINE_EPOCHS), "refine_edges": int(graph.nnz),
                 "refine_pool": int(min(REFINE_POOL, n)), "graph": knn_info}


def _eigenmap(graph, dims: int, state: TaskState) -> np.ndarray | None:
    """Laplacian eigenmap of a connected graph (umap's spectral init); None when eigsh fails.

    In float32 first (63k real rows: 1.0 s instead of 1.7 s, the same vectors to 1e-4),
    float64 if that does not converge.
    """
    import scipy.sparse
    import scipy.sparse.linalg
    n = graph.shape[0]
    k = dims + 1
    if n <= k + 1:
        return None
    deg = np.asarray(graph.sum(axis=0)).ravel()
    sqrt_deg = np.sqrt(deg)
    inv = np.where(sqrt_deg > 0, 1.0 / np.where(sqrt_deg > 0, sqrt_deg, 1), 0.0)
    dinv = scipy.sparse.diags(inv)
    a = (dinv @ graph @ dinv).tocsr()      # normalised adjacency = I - normalised Laplacian
    if n <= 500:  # small graphs (tiny components): dense is faster and never fails
        try:
            vals, vecs = np.linalg.eigh(a.toarray())
        except np.linalg.LinAlgError:
            return None
    else:
        vals, vecs = None, None
        for dtype in (np.float32, np.float64):
            a_t = a.astype(dtype)

            def matvec(v, a_t=a_t):
                state.check()
                return a_t @ v

            op = scipy.sparse.linalg.LinearOperator((n, n), matvec=matvec, matmat=matvec,
                                                    dtype=dtype)
            # umap asks ARPACK for the smallest eigenvalues of the Laplacian with sqrt(n)
            # Lanczos vectors; the largest of the normalised adjacency are the same
            # vectors, and scipy's default subspace (20) converges faster here (6 s instead
            # of 9 s at 100k rows).
            try:
                vals, vecs = scipy.sparse.linalg.eigsh(op, k, which="LA", tol=1e-4,
                                                       v0=np.ones(n, dtype=dtype),
                                                       maxiter=n * 5)
                break
            except Cancelled:
                raise
            except (scipy.sparse.linalg.ArpackError, ValueError, np.linalg.LinAlgError):
                continue
        if vals is None:
            return None
    order = np.argsort(vals)[::-1][1:k]
    return vecs[:, order].astype(np.float64)


def _spectral_init(graph, x: np.ndarray | _SetRows, dims: int, rng: np.random.RandomState,
                   state: TaskState,
                   pca: Callable[[], np.ndarray] | None = None) -> tuple[np.ndarray, str]:
    """umap's spectral initialisation, including its layout of disconnected components.

    `x`: the rows (an array, or anything that reads rows by number: component centroids);
    `pca`: the start when the eigenvectors do not converge (default: `x`'s PCA).

    On one BLAS thread: its calls are small (ARPACK's updates of 20 vectors, eigh of a
    component or of the centroids' covariance), and two threads that spin on them took
    63k real rows' init from 2.2 s to 5-16 s on a busy 2-core machine.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return _spectral_layout(graph, x, dims, rng, state,
                                pca if pca is not None else lambda: pca_init(x, dims))


def _spectral_layout(graph, x: np.ndarray | _SetRows, dims: int,
                     rng: np.random.RandomState, state: TaskState,
                     pca: Callable[[], np.ndarray]) -> tuple[np.ndarray, str]:
    """`_spectral_init`'s work."""
    import scipy.sparse.csgraph

    n = graph.shape[0]
    n_comp, labels = scipy.sparse.csgraph.connected_components(graph, directed=False)
    if n_comp == 1:
        emb = _eigenmap(graph, dims, state)
        if emb is not None:
            return emb, "spectral"
        return pca(), "pca"
    # disconnected: place components by their centroids, each laid out on its own
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_comp + 1))
    if n_comp > 2 * dims:
        centroids = np.stack([x[order[bounds[c]:bounds[c + 1]]].mean(axis=0)
                              for c in range(n_comp)])
        meta = pca_init(centroids, dims) if n_comp > dims else None
        if meta is None or not np.isfinite(meta).all() or np.abs(meta).max() == 0:
            meta = rng.uniform(-1, 1, size=(n_comp, dims))
        meta = meta / np.abs(meta).max()
    else:
        kk = int(np.ceil(n_comp / 2.0))
        base = np.hstack([np.eye(kk), np.zeros((kk, max(0, dims - kk)))])[:, :dims]
        meta = np.vstack([base, -base])[:n_comp]
    # jitter coincident component positions
    meta = meta + rng.normal(scale=1e-3, size=meta.shape)
    from scipy.spatial import cKDTree
    nn_dist, _ = cKDTree(meta).query(meta, k=2)
    out = np.empty((n, dims), dtype=np.float64)
    for c in range(n_comp):
        members = order[bounds[c]:bounds[c + 1]]
        data_range = max(float(nn_dist[c, 1]) / 2.0, 1e-3)
        sub = None
        if members.size >= 2 * dims and members.size > dims + 1:
            sub = _eigenmap(graph[members][:, members], dims, state)
        if sub is None:
            sub = rng.uniform(-data_range, data_range, size=(members.size, dims))
        else:
            scale = np.abs(sub).max()
            sub = sub * (data_range / scale if scale > 0 else 1.0)
        out[members] = sub + meta[c]
        if c % 64 == 0:
            state.check()
    return out, f"spectral ({n_comp} components)"


def _noisy_scale(coords: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """umap: scale so the largest |coordinate| is 10, add tiny noise, then stretch to [0, 10]."""
    coords = np.asarray(coords, dtype=np.float64)
    peak = np.abs(coords).max()
    coords = (coords * (10.0 / peak if peak > 0 else 1.0)).astype(np.float32)
    coords = coords + rng.normal(scale=0.0001, size=coords.shape).astype(np.float32)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return (10.0 * (coords - lo) / span).astype(np.float32, order="C")


def optimize_layout(embedding: np.ndarray, graph, min_dist: float, n_epochs: int,
                    rng: np.random.RandomState, parallel: bool, state: TaskState,
                    full=None, partial_steps: int = PARTIAL_STEPS,
                    alpha0: float = 1.0, negative_rate: float = 5.0,
                    pool_size: int | None = None, repulsion: float = 1.0) -> np.ndarray:
    """umap's SGD over the graph's edges, one cached kernel call per epoch.

    Between epochs: progress (which raises Cancelled when asked to stop) and,
    every `n_epochs / partial_steps` epochs, an intermediate layout for
    `state.partial` (`full` maps the fitted rows' layout to all rows). `negative_rate`
    negative samples per edge sample, each pushed with strength `repulsion` (umap's 5 and 1).
    With `pool_size` below the row count, each epoch draws its negative samples from the
    positions of that many random rows taken as the epoch starts (umap draws them from every
    row's current position): the same repulsion in expectation, read from cache.
    """
    a, b = find_ab_params(1.0, float(min_dist))
    gamma = float(repulsion)  # the table's and the kernel's (beyond the table)
    table = gradient_table(a, b, gamma)
    head = np.ascontiguousarray(graph.row, dtype=np.int32)
    tail = np.ascontiguousarray(graph.col, dtype=np.int32)
    weights = graph.data.astype(np.float64)
    epochs_per_sample = -1.0 * np.ones(weights.shape[0], dtype=np.float64)
    n_samples = n_epochs * (weights / weights.max())
    epochs_per_sample[n_samples > 0] = float(n_epochs) / n_samples[n_samples > 0]
    rng_state = rng.randint(np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1,
                            3).astype(np.int64)
    emb = np.ascontiguousarray(embedding, dtype=np.float32)
    m = emb.shape[0]
    origin = (0.0,) * emb.shape[1]  # the layout's dims, as the kernel's type
    rng_per_sample = (np.full((m, 3), rng_state, dtype=np.int64)
                      + emb[:, 0].astype(np.float64).view(np.int64).reshape(-1, 1))
    epochs_per_negative_sample = epochs_per_sample / negative_rate
    next_negative = epochs_per_negative_sample.copy()
    next_sample = epochs_per_sample.copy()
    every = max(1, n_epochs // max(1, partial_steps))
    pooled = pool_size is not None and pool_size < m
    pool, pool_rows = emb, np.arange(m, dtype=np.int32)
    if pooled:
        pool = np.empty((pool_size, emb.shape[1]), dtype=np.float32)
    alpha = alpha0
    for epoch in range(n_epochs):
        if pooled:  # sorted: the snapshot's gather reads memory in order
            pool_rows = np.sort(rng.randint(0, m, pool_size).astype(np.int32))
            np.take(emb, pool_rows, axis=0, out=pool)
        run_epoch(parallel, emb, head, tail, pool, pool_rows, epochs_per_sample, float(a),
                  float(b), table, rng_per_sample, gamma, float(alpha),
                  epochs_per_negative_sample,
                  next_negative, next_sample, int(epoch), origin)
        alpha = alpha0 * (1.0 - (float(epoch) / float(n_epochs)))
        state.progress(epoch + 1, n_epochs)
        if (epoch + 1) % every == 0 and epoch + 1 < n_epochs:
            state.partial(full(emb) if full is not None else emb.copy())
    return emb
