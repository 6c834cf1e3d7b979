"""Pay numba's compile cost once per installation, not once per process.

numba compiles a jitted function the first time it is called in a process.
umap-learn's layout optimiser, `smooth_knn_dist` and the membership-strength
kernel are jitted *without* `cache=True`, and pynndescent compiles dozens of
functions, so the first UMAP in every process spent 15-50 s compiling. The map
pipeline in `explorer.compute.projection` therefore does not run umap-learn's
jitted code at all: the few kernels UMAP needs are defined here, with
`cache=True`, and their machine code is kept in a folder under the app's data
home. After `warm_up()` has run once (the GUI runs it in a background thread at
start-up), a fresh process loads them from disk in a fraction of a second.

`configure()` must run before numba is imported, because numba reads
NUMBA_CACHE_DIR when it is imported; this module calls it before importing
numba, and re-reads numba's configuration if numba was already imported. A
NUMBA_CACHE_DIR set by the user wins.

The kernels follow umap-learn 0.5.12 (`umap/umap_.py` and `umap/layouts.py`,
BSD-3-Clause, (c) Leland McInnes): same maths, same random number generator,
restricted to what a plain Euclidean-output fit needs. Keep their types
stable (see the wrappers in projection.py): numba caches one machine-code
version per argument-type signature.

What umap-learn 0.5.12 and pynndescent 0.7.0 cache themselves (checked in their
sources): umap marks only `layouts.rdist` with cache=True; its epoch optimiser,
`smooth_knn_dist`, `compute_membership_strengths`, `tau_rand_int` and all its
distances compile in every process. pynndescent caches about half of its
jitted functions, but not `nn_descent`/`nn_descent_internal`, which cannot be
cached at all (they take the distance function as an argument, "dynamic
globals"), so its first NN-descent costs ~15 s per process even with a warm
cache. Hence the kNN graph comes from faiss (no JIT) and the rest from here.

Every kernel of the app is made with `jit` (here, or at the import of the module
that defines it, never lazily in a worker thread). Its cache falls back to
memory when the disk refuses a read or write (full, read-only, not ours): the
kernel is compiled and used as usual, the log notes (once per kernel) that it
will be compiled again next time, and nothing fails.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from explorer.core.jobs import TaskState
from explorer.core.paths import data_home

CACHE_SUBDIR = "numba-cache"
# what a disk says when it will not keep the cache: full, read-only, not ours
REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
log = logging.getLogger(__name__)
_configured: Path | None = None
_lock = threading.Lock()


def default_cache_dir() -> Path:
    return data_home() / CACHE_SUBDIR


def configure() -> Path:
    """Point numba's on-disk cache at the app's folder (idempotent); returns the folder.

    Sets NUMBA_CACHE_DIR unless the user already set it. The folder is created by
    numba when it first writes to it.
    """
    global _configured
    with _lock:
        if _configured is not None:
            return _configured
        path = os.environ.get("NUMBA_CACHE_DIR") or str(default_cache_dir())
        os.environ["NUMBA_CACHE_DIR"] = path
        if "numba" in sys.modules:  # imported before us: make it see the variable
            try:
                from numba.core import config as _nb_config
                _nb_config.reload_config()
            except Exception:  # noqa: BLE001 - a cache is an optimisation, never an error
                pass
        _configured = Path(path)
        return _configured


configure()

import numba  # noqa: E402  (must come after configure())
import numpy as np  # noqa: E402
from numba.core.caching import FunctionCache  # noqa: E402


def _note_refusal(name: str, exc: BaseException) -> None:
    """Say it in the log (info: nothing for the user to do), once per kernel."""
    log.info("numba's cache cannot be used for %s (%s); it is compiled in memory, and again "
             "in the next session", name, exc)


class MemoryFallbackCache(FunctionCache):
    """numba's on-disk cache of one function, except that a read or write the disk refuses
    leaves the machine code in memory only (numba itself raises, and the call fails).
    After a refusal the function's cache is off for the session."""

    def __init__(self, py_func: Callable[..., Any]) -> None:
        super().__init__(py_func)
        self.kernel = py_func.__qualname__

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        try:
            return super().load_overload(sig, target_context)
        except OSError as exc:
            self._refused(exc)
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        try:
            super().save_overload(sig, data)
        except OSError as exc:  # numba added the compiled code before saving it: it is in use
            self._refused(exc)

    def _refused(self, exc: OSError) -> None:
        if exc.errno not in REFUSALS:
            raise exc
        self.disable()
        _note_refusal(self.kernel, exc)


def jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """`numba.njit(cache=True, **options)` whose cache falls back to memory (`MemoryFallbackCache`).

    numba has no public way to choose a cache class: `Dispatcher.enable_caching()`
    sets the dispatcher's `_cache`, and so does this. With no folder numba may
    write at all (no cache locator), the kernel is simply not cached.
    """
    def decorate(func: Callable[..., Any]) -> Any:
        dispatcher = numba.njit(**options)(func)
        try:
            dispatcher._cache = MemoryFallbackCache(dispatcher.py_func)
        except (OSError, RuntimeError) as exc:
            _note_refusal(func.__qualname__, exc)
        return dispatcher
    return decorate


SMOOTH_K_TOLERANCE = 1e-5
MIN_K_DIST_SCALE = 1e-3
NPY_FLOATMAX = np.finfo(np.float32).max

# numba's workqueue threading layer aborts the process when two threads launch
# parallel kernels at once; the GUI may run jobs in several threads.
parallel_lock = threading.Lock()


# --- fuzzy simplicial set ------------------------------------------------------------

@jit(locals={"psum": numba.types.float32, "lo": numba.types.float32,
             "mid": numba.types.float32, "hi": numba.types.float32},
     parallel=True)
def smooth_knn_dist(distances, k, n_iter, local_connectivity, bandwidth):
    """Per-row sigma and rho so that the row's fuzzy set has cardinality log2(k)."""
    target = np.log2(k) * bandwidth
    rho = np.zeros(distances.shape[0], dtype=np.float32)
    result = np.zeros(distances.shape[0], dtype=np.float32)
    mean_distances = np.mean(distances)

    for i in numba.prange(distances.shape[0]):
        lo = 0.0
        hi = NPY_FLOATMAX
        mid = 1.0
        ith_distances = distances[i]
        non_zero_dists = ith_distances[ith_distances > 0.0]
        if non_zero_dists.shape[0] >= local_connectivity:
            index = int(np.floor(local_connectivity))
            interpolation = local_connectivity - index
            if index > 0:
                rho[i] = non_zero_dists[index - 1]
                if interpolation > SMOOTH_K_TOLERANCE:
                    rho[i] += interpolation * (non_zero_dists[index] - non_zero_dists[index - 1])
            else:
                rho[i] = interpolation * non_zero_dists[0]
        elif non_zero_dists.shape[0] > 0:
            rho[i] = np.max(non_zero_dists)

        for _n in range(n_iter):
            psum = 0.0
            for j in range(1, distances.shape[1]):
                d = distances[i, j] - rho[i]
                if d > 0:
                    psum += np.exp(-(d / mid))
                else:
                    psum += 1.0
            if np.fabs(psum - target) < SMOOTH_K_TOLERANCE:
                break
            if psum > target:
                hi = mid
                mid = (lo + hi) / 2.0
            else:
                lo = mid
                if hi >= NPY_FLOATMAX:
                    mid *= 2
                else:
                    mid = (lo + hi) / 2.0
        result[i] = mid

        if rho[i] > 0.0:
            mean_ith_distances = np.mean(ith_distances)
            if result[i] < MIN_K_DIST_SCALE * mean_ith_distances:
                result[i] = MIN_K_DIST_SCALE * mean_ith_distances
        else:
            if result[i] < MIN_K_DIST_SCALE * mean_distances:
                result[i] = MIN_K_DIST_SCALE * mean_distances
    return result, rho


@jit()
def membership_strengths(knn_indices, knn_dists, sigmas, rhos, bipartite):
    """COO rows, cols, vals of the local fuzzy sets (an index of -1 means no neighbour)."""
    n_samples = knn_indices.shape[0]
    n_neighbors = knn_indices.shape[1]
    rows = np.zeros(knn_indices.size, dtype=np.int32)
    cols = np.zeros(knn_indices.size, dtype=np.int32)
    vals = np.zeros(knn_indices.size, dtype=np.float32)
    for i in range(n_samples):
        for j in range(n_neighbors):
            if knn_indices[i, j] == -1:
                continue
            if (not bipartite) and knn_indices[i, j] == i:
                val = 0.0
            elif knn_dists[i, j] - rhos[i] <= 0.0 or sigmas[i] == 0.0:
                val = 1.0
            else:
                val = np.exp(-((knn_dists[i, j] - rhos[i]) / (sigmas[i])))
            rows[i * n_neighbors + j] = i
            cols[i * n_neighbors + j] = knn_indices[i, j]
            vals[i * n_neighbors + j] = val
    return rows, cols, vals


# --- layout optimisation (one epoch of SGD) ---------------------------------------------
# One kernel serves both modes: numba's cache keys entries by signature, not by the
# `parallel` flag, so two dispatchers of one function would share (and clobber) one cache
# entry, and calling a per-edge helper from two loops costs ~50% (it is not inlined).

@jit()
def tau_rand_int(state):
    """umap's fast pseudo-random int32 (three-state Tausworthe generator)."""
    state[0] = (((state[0] & 4294967294) << 12) & 0xFFFFFFFF) ^ (
        (((state[0] << 13) & 0xFFFFFFFF) ^ state[0]) >> 19)
    state[1] = (((state[1] & 4294967288) << 4) & 0xFFFFFFFF) ^ (
        (((state[1] << 2) & 0xFFFFFFFF) ^ state[1]) >> 25)
    state[2] = (((state[2] & 4294967280) << 17) & 0xFFFFFFFF) ^ (
        (((state[2] << 3) & 0xFFFFFFFF) ^ state[2]) >> 11)
    return np.int32(state[0] ^ state[1] ^ state[2])


@jit(fastmath=True)
def _clip(val):
    if val > 4.0:
        return 4.0
    elif val < -4.0:
        return -4.0
    return val


@jit(fastmath=True, locals={"result": numba.types.float32, "diff": numba.types.float32})
def _rdist(x, y):
    result = 0.0
    for i in range(x.shape[0]):
        diff = x[i] - y[i]
        result += diff * diff
    return result


@jit(fastmath=True, parallel=True)
def epoch_parallel(embedding, tail_embedding, head, tail, n_vertices, epochs_per_sample, a, b,
                   rng_state_per_sample, gamma, dim, move_other, alpha,
                   epochs_per_negative_sample, epoch_of_next_negative_sample,
                   epoch_of_next_sample, n):
    """One epoch of umap's SGD over all edges (`numba.prange`: on every core, Hogwild-style).

    Run with `numba.set_num_threads(1)` it visits the edges in order, which is
    deterministic for a given seed (see `run_epoch`).
    """
    for i in numba.prange(epochs_per_sample.shape[0]):
        if epoch_of_next_sample[i] > n:
            continue
        j = head[i]
        k = tail[i]
        current = embedding[j]
        other = tail_embedding[k]
        dist_squared = _rdist(current, other)
        if dist_squared > 0.0:
            grad_coeff = -2.0 * a * b * pow(dist_squared, b - 1.0)
            grad_coeff /= a * pow(dist_squared, b) + 1.0
        else:
            grad_coeff = 0.0
        for d in range(dim):
            grad_d = _clip(grad_coeff * (current[d] - other[d]))
            current[d] += grad_d * alpha
            if move_other:
                other[d] += -grad_d * alpha
        epoch_of_next_sample[i] += epochs_per_sample[i]

        n_neg_samples = int((n - epoch_of_next_negative_sample[i]) / epochs_per_negative_sample[i])
        for _p in range(n_neg_samples):
            k = tau_rand_int(rng_state_per_sample[j]) % n_vertices
            other = tail_embedding[k]
            dist_squared = _rdist(current, other)
            if dist_squared > 0.0:
                grad_coeff = 2.0 * gamma * b
                grad_coeff /= (0.001 + dist_squared) * (a * pow(dist_squared, b) + 1)
            elif j == k:
                continue
            else:
                grad_coeff = 0.0
            for d in range(dim):
                if grad_coeff > 0.0:
                    grad_d = _clip(grad_coeff * (current[d] - other[d]))
                else:
                    grad_d = 0.0
                current[d] += grad_d * alpha
        epoch_of_next_negative_sample[i] += n_neg_samples * epochs_per_negative_sample[i]


def compile_for(kernel: Any, *args: Any) -> None:
    """Compile (or load) `kernel` for these arguments' types now, if it has not been yet.

    So a caller can hold a lock for the run only, never across a compile (which
    takes numba's compiler lock, for seconds on a first launch).
    """
    kernel.compile(tuple(kernel.typeof_pyval(a) for a in args))


def run_epoch(parallel: bool, *args) -> None:
    """`epoch_parallel(*args)` on every core, or on one (edges in order, deterministic)."""
    compile_for(epoch_parallel, *args)
    with parallel_lock:
        if parallel:
            epoch_parallel(*args)
            return
        previous = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            epoch_parallel(*args)
        finally:
            numba.set_num_threads(previous)


KERNELS = {
    "smooth_knn_dist": smooth_knn_dist,
    "membership_strengths": membership_strengths,
    "tau_rand_int": tau_rand_int,
    "epoch_parallel": epoch_parallel,
}


def cached_signatures() -> dict[str, int]:
    """How many compiled signatures each kernel holds in this process (for diagnostics)."""
    return {name: len(fn.signatures) for name, fn in KERNELS.items()}


def warm_up(state=None) -> dict:
    """Compile (or load from the on-disk cache) everything a map needs; returns timings.

    Runs a tiny UMAP (single-threaded and multi-threaded epochs, and the path
    that places rows outside a fitted sample) and a PCA through
    `explorer.compute.projection`, so every kernel signature the app uses is in
    the cache. Safe to call from a background thread; a second call is cheap.
    `projection` and `index` use this module, hence imported here (the app imports
    them first, so its warm-up thread imports nothing).
    """
    from explorer.compute import projection
    from explorer.compute.index import load_kernel

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
    state.progress(1)
    return {"seconds": time.perf_counter() - t0, "cache_dir": str(configure()),
            "signatures": cached_signatures()}


__all__ = ["configure", "default_cache_dir", "jit", "compile_for", "MemoryFallbackCache", "warm_up",
           "smooth_knn_dist", "membership_strengths", "epoch_parallel", "run_epoch",
           "parallel_lock"]
