"""Compile (first launch) or load (later ones) every numba kernel a map, its labels and a
search use.

Lives beside the modules it exercises rather than in `explorer.compute.numba`, which they
import: the kernels' package imports nothing of the app's numerics, so no circle.
"""

from __future__ import annotations

import time

import numpy as np

from explorer.compute import clusters, projection
from explorer.compute.index import load_kernel
from explorer.compute.numba import configure
from explorer.compute.numba.umap_kernels import cached_signatures
from explorer.core.jobs import TaskState


def warm_up(state: TaskState | None = None) -> dict:
    """Compile (or load from the on-disk cache) everything a map needs; returns timings.

    Runs a tiny UMAP (single-threaded and multi-threaded epochs, and the path
    that places rows outside a fitted sample), a PCA and the neighbour scan, so every
    kernel signature the app uses is in the cache; then the clusters of a tiny map, so
    the first labels do not wait for fast-hdbscan's compile (about 35 s on two cores with
    an empty cache, under 2 s to load). Safe to call from a background thread; a second
    call is cheap. The app's modules are imported with this one (the app imports it
    first); fast-hdbscan is imported here, last, by `clusters.warm_up`, since importing
    it compiles. `state` is checked between the steps: cancelling stops the warm-up at
    the next one (a compile under way finishes first).
    """
    state = state or TaskState()
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    n, d = 400, 16
    centers = rng.normal(size=(8, d)).astype(np.float32) * 4
    x = (centers[rng.integers(0, 8, n)] + rng.normal(size=(n, d))).astype(np.float32)
    state.status("Preparing the map engine")
    projection.project(x, projection.ProjectionParams(method="umap", seed=0),
                       state=state.sub(0.0, 0.4), _n_epochs=5)
    projection.project(x, projection.ProjectionParams(method="umap", seed=0, sample=200),
                       state=state.sub(0.4, 0.8), _n_epochs=5, _parallel=True)
    projection.project(x, projection.ProjectionParams(method="pca"), state=state.sub(0.8, 0.9))
    for dtype in (np.float32, np.int8):  # neighbour search: float32 rows and int8 codes,
        for writeable in (True, False):  # in memory or memory-mapped read-only
            like = np.zeros((1, 1), dtype=dtype)
            like.flags.writeable = writeable
            load_kernel(like)
    state.check()
    state.status("Preparing the labels engine")
    labels_seconds = clusters.warm_up()
    state.progress(1)
    return {"seconds": time.perf_counter() - t0, "cache_dir": str(configure()),
            "signatures": cached_signatures(), "labels_seconds": labels_seconds}


__all__ = ["warm_up"]
