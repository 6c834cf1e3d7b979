"""The memory-bandwidth bound of a scan: the fastest pass that only reads every value.

A parallel sum with fastmath (so LLVM vectorises the reduction) reads the rows
as fast as this machine can; no search over the same rows can be faster, which
makes its time the baseline the neighbour benchmarks divide by.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, fastmath=True, cache=True)
def nb_sum_fast(X, nblocks):
    """Sum of float32 rows, one block of rows per thread task."""
    n, d = X.shape
    part = np.zeros(nblocks, np.float64)
    for b in prange(nblocks):
        lo = b * n // nblocks
        hi = (b + 1) * n // nblocks
        acc = np.float32(0.0)
        for i in range(lo, hi):
            for j in range(d):
                acc += X[i, j]
        part[b] = acc
    return part.sum()


@njit(parallel=True, fastmath=True, cache=True)
def nb_sum_i8(X, nblocks):
    """The same for int8 codes: the bound of the compact scan."""
    n, d = X.shape
    part = np.zeros(nblocks, np.int64)
    for b in prange(nblocks):
        lo = b * n // nblocks
        hi = (b + 1) * n // nblocks
        acc = np.int32(0)
        for i in range(lo, hi):
            for j in range(d):
                acc += np.int32(X[i, j])
        part[b] = acc
    return part.sum()
