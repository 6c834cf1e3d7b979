"""t-SNE: openTSNE on the faiss kNN graph, with its callbacks for partial layouts and
cancellation; deterministic for a seed."""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from explorer.compute.projection.knn import EXACT_KNN_MAX, KnnIndex, self_first
from explorer.compute.projection.params import PARTIAL_STEPS
from explorer.compute.projection.pca import fit as fit_pca
from explorer.compute.projection.pca import pca_init
from explorer.compute.projection.placement import PLACE_K, place
from explorer.compute.projection.rows import fit_size, read_fit_rows, sample_rows
from explorer.core.jobs import TaskState

if TYPE_CHECKING:
    from explorer.compute.projection.params import ProjectionParams

TSNE_SAMPLE_ABOVE = 50_000     # t-SNE (openTSNE, ~45 s for 20k rows on 2 cores): sample above ...
TSNE_AUTO_SAMPLE = 50_000      # ... this many


def fit(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
        ) -> tuple[np.ndarray, dict]:
    """t-SNE of the rows (a sample above TSNE_SAMPLE_ABOVE, the rest placed)."""
    n = vectors.shape[0]
    cos = params.metric == "cosine"
    dims = params.dims
    m = fit_size(n, params.sample, TSNE_SAMPLE_ABOVE, TSNE_AUTO_SAMPLE)
    if m < 5:
        return fit_pca(vectors, replace(params, method="pca"), state)[0], {"fit_rows": int(m)}
    rows = sample_rows(n, m, params.seed)
    sampled = rows is not None
    perplexity = float(min(params.perplexity, (m - 1) / 3.0))
    k = min(m - 1, int(3 * perplexity))
    timings: dict[str, float] = {}
    p_read, p_knn = 0.03, 0.25
    p_place = 0.4 if sampled else p_knn

    t = time.perf_counter()
    x = read_fit_rows(vectors, rows, cos, state.sub(0.0, p_read), "t-SNE")
    timings["read"] = time.perf_counter() - t
    t = time.perf_counter()
    state.status(f"t-SNE: finding {k} nearest neighbours of {m:,} rows")
    index = KnnIndex(x, params.metric, state.sub(p_read, (p_read + p_knn) / 2))
    ind, dist = index.search(x, k + 1, state.sub((p_read + p_knn) / 2, p_knn),
                             ef=max(64, k + 16))
    self_first(ind, dist)
    ind, dist = ind[:, 1:], dist[:, 1:]
    if cos:  # t-SNE's Gaussian kernel wants Euclidean distances: on unit rows sqrt(2 (1 - cos))
        dist = np.sqrt(2.0 * dist)
    timings["knn"] = time.perf_counter() - t
    placement = None
    if sampled:
        t = time.perf_counter()
        state.status(f"t-SNE: finding fitted neighbours of the other {n - m:,} rows")
        placement = place(vectors, rows, index, PLACE_K, cos, state.sub(p_knn, p_place))
        timings["place_search"] = time.perf_counter() - t
    del index
    init = pca_init(x, dims)
    del x
    t = time.perf_counter()
    emb = _tsne_opentsne(ind, dist, init, perplexity, params.seed, state, p_place,
                         (lambda e: placement.full(e)) if placement is not None else None)
    timings["optimise"] = time.perf_counter() - t
    coords = placement.full(emb) if placement is not None else emb
    info = {"fit_rows": int(m), "perplexity": perplexity, "engine": "openTSNE",
            "knn": "exact" if m <= EXACT_KNN_MAX else "hnsw",
            "placed": "knn-weighted-mean" if sampled else None,
            "timings": {key: round(v, 3) for key, v in timings.items()}}
    return coords, info


def _tsne_opentsne(ind, dist, init, perplexity, seed, state, p0, full) -> np.ndarray:
    import logging

    from openTSNE import TSNE
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.initialization import rescale
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    logging.getLogger("openTSNE").setLevel(logging.ERROR)
    m = ind.shape[0]
    state.status("t-SNE: affinities")
    knn = PrecomputedNeighbors(np.ascontiguousarray(ind, dtype=np.int64),
                               np.ascontiguousarray(dist, dtype=np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aff = PerplexityBasedNN(knn_index=knn, perplexity=perplexity, n_jobs=_cores())
    init = rescale(np.asarray(init, dtype=np.float64), target_std=1e-4)
    early, late = 250, 500
    total = early + late
    every_partial = max(10, (total // PARTIAL_STEPS) // 10 * 10)
    phase = {"offset": 0, "last": 0}
    optimise_state = state.sub(p0 + 0.02, 0.99)
    state.status(f"t-SNE: optimising the layout ({total} iterations)")

    def callback(iteration, error, embedding):
        it = phase["offset"] + iteration
        if it < phase["last"]:  # second phase restarts its count at 0
            phase["offset"] = early
            it = early + iteration
        phase["last"] = it
        optimise_state.progress(it, total)   # raises Cancelled
        if it % every_partial == 0 and it < total:
            e = np.asarray(embedding, dtype=np.float32)
            state.partial(full(e) if full is not None else e.copy())
        return False

    tsne = TSNE(n_components=init.shape[1], perplexity=perplexity, early_exaggeration_iter=early,
                n_iter=late, n_jobs=_cores(), random_state=seed,
                # FFT interpolation is faster from ~10k rows but only exists for 1-2 dims
                negative_gradient_method="fft" if m > 10_000 and init.shape[1] <= 2 else "bh",
                callbacks=callback, callbacks_every_iters=5 if m > 20_000 else 10,
                verbose=False)
    emb = tsne.fit(affinities=aff, initialization=init)
    return np.asarray(emb, dtype=np.float32)


def _cores() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
