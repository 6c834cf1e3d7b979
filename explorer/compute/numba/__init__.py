"""numba for the whole app: the only package in `explorer` that imports numba.

Importing it first points numba's on-disk cache at the app's folder (`configure`, which
must run before numba is imported), so every module that jits a kernel gets `jit`
(cached on disk, falling back to memory on a disk that refuses) and `prange` from here.
`parallel_lock` serialises parallel launches across threads; `compile_for` (or
`run_parallel`, which does both) compiles before the lock is taken, never under it;
`one_launch` holds the lock (and sets the threads) around a library's parallel kernels.

    setup         configure, jit with its memory-fallback cache, the parallel lock
    umap_kernels  the UMAP kernels (fuzzy set, one SGD epoch), ours so they are cached
    frozen_cache  the cache locator of the PyInstaller bundle (named by its runtime hook)
    compile_worker  a first launch's compile, in its own process (started by the app)
    readiness     is a kernel compiled or loadable now? (numpy paths draw until it is)

Warm-up (compiling or loading every kernel the map uses) is
`explorer.compute.warm_up`, beside the modules whose kernels it runs.
"""

from __future__ import annotations

from explorer.compute.numba.setup import (
    CACHE_SUBDIR,
    MemoryFallbackCache,
    compile_for,
    configure,
    default_cache_dir,
    jit,
    one_launch,
    parallel_lock,
    prange,
    run_parallel,
)

__all__ = ["CACHE_SUBDIR", "MemoryFallbackCache", "compile_for", "configure",
           "default_cache_dir", "jit", "one_launch", "parallel_lock", "prange", "run_parallel"]
