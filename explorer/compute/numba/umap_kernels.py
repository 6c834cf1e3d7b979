"""UMAP's kernels, ours: compiled once per installation, not once per process.

numba compiles a jitted function the first time it is called in a process.
umap-learn's layout optimiser, `smooth_knn_dist` and the membership-strength
kernel are jitted *without* `cache=True`, and pynndescent compiles dozens of
functions, so the first UMAP in every process spent 15-50 s compiling. The map
pipeline in `explorer.compute.projection` therefore does not run umap-learn's
jitted code at all: the few kernels UMAP needs are defined here, with the app's
`jit` (cached on disk under the app's data home, see `setup`). After
`explorer.compute.warm_up.warm_up()` has run once (the GUI runs it in a background
thread at start-up), a fresh process loads them from disk in a fraction of a second.

The kernels follow umap-learn 0.5.12 (`umap/umap_.py` and `umap/layouts.py`,
BSD-3-Clause, (c) Leland McInnes): same maths, same random number generator,
restricted to what a plain Euclidean-output fit needs. Keep their types
stable (see the wrappers in explorer.compute.projection): numba caches one
machine-code version per argument-type signature.

What umap-learn 0.5.12 and pynndescent 0.7.0 cache themselves (checked in their
sources): umap marks only `layouts.rdist` with cache=True; its epoch optimiser,
`smooth_knn_dist`, `compute_membership_strengths`, `tau_rand_int` and all its
distances compile in every process. pynndescent caches about half of its
jitted functions, but not `nn_descent`/`nn_descent_internal`, which cannot be
cached at all (they take the distance function as an argument, "dynamic
globals"), so its first NN-descent costs ~15 s per process even with a warm
cache. Hence the kNN graph comes from faiss (no JIT) and the rest from here.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from explorer.compute.numba.setup import jit, run_parallel

SMOOTH_K_TOLERANCE = 1e-5
MIN_K_DIST_SCALE = 1e-3
NPY_FLOATMAX = np.finfo(np.float32).max

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


@jit()
def _starts(keys, n):
    """(n + 1,) offsets of a counting sort by `keys` in [0, n): key i's entries start at [i]."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(keys.shape[0]):
        ptr[keys[e] + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    return ptr


@jit()
def _by_row(rows, cols, vals, n):
    """CSR (ptr, col, val) of COO entries by a stable counting sort on the row: sequential
    when the entries come by row, as `membership_strengths` gives them."""
    m = rows.shape[0]
    ptr = _starts(rows, n)
    fill = ptr[:n].copy()
    col = np.empty(m, dtype=np.int32)
    val = np.empty(m, dtype=np.float32)
    for e in range(m):
        q = fill[rows[e]]
        col[q] = cols[e]
        val[q] = vals[e]
        fill[rows[e]] = q + 1
    return ptr, col, val


@jit()
def _summed_row(col, val, lo, hi):
    """Sort entries lo:hi by column, sum duplicates and drop zeros in place; returns how
    many are left (at lo:). Rows are short (k entries): an insertion sort in cache."""
    if hi - lo > 32:  # a long row: numba's stable sort (insertion sort is quadratic)
        by = np.argsort(col[lo:hi], kind="mergesort")
        col[lo:hi] = col[lo:hi][by]
        val[lo:hi] = val[lo:hi][by]
    else:
        for q in range(lo + 1, hi):
            c, v = col[q], val[q]
            p = q
            while p > lo and col[p - 1] > c:
                col[p] = col[p - 1]
                val[p] = val[p - 1]
                p -= 1
            col[p] = c
            val[p] = v
    out = lo
    q = lo
    while q < hi:
        c, v = col[q], val[q]
        q += 1
        while q < hi and col[q] == c:
            v += val[q]
            q += 1
        if v != 0.0:
            col[out] = c
            val[out] = v
            out += 1
    return out - lo


@jit()
def _compacted(ptr, kept, col, val, n):
    """CSR of the first kept[i] entries of each row i."""
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        out_ptr[i + 1] = out_ptr[i] + kept[i]
    out_col = np.empty(out_ptr[n], dtype=np.int32)
    out_val = np.empty(out_ptr[n], dtype=np.float32)
    for i in range(n):
        out_col[out_ptr[i]:out_ptr[i + 1]] = col[ptr[i]:ptr[i] + kept[i]]
        out_val[out_ptr[i]:out_ptr[i + 1]] = val[ptr[i]:ptr[i] + kept[i]]
    return out_ptr, out_col, out_val


@jit()
def _transposed_csr(ptr, col, val, n):
    """The transpose of a CSR matrix, rows visited in order so each row's columns come sorted."""
    nnz = col.shape[0]
    t_ptr = _starts(col, n)
    fill = t_ptr[:n].copy()
    t_col = np.empty(nnz, dtype=np.int32)
    t_val = np.empty(nnz, dtype=np.float32)
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            c = col[p]
            t_col[fill[c]] = i
            t_val[fill[c]] = val[p]
            fill[c] += 1
    return t_ptr, t_col, t_val


@jit()
def _merged_row(i, a_ptr, a_col, a_val, t_ptr, t_col, t_val, floor, head, tail, w, at):
    """Merge row i of a and of its transpose, w = a + b - ab in float32 as scipy computes it,
    keeping w != 0 and w >= floor; returns (edges kept, largest w). Written from `at` to
    head, tail and w when they have room (they are empty to count first)."""
    write = head.shape[0] > 0
    out = at
    w_max = np.float32(0.0)
    p, p_end = a_ptr[i], a_ptr[i + 1]
    s, s_end = t_ptr[i], t_ptr[i + 1]
    while p < p_end or s < s_end:
        if s >= s_end or (p < p_end and a_col[p] < t_col[s]):
            c, x, y = a_col[p], a_val[p], np.float32(0.0)
            p += 1
        elif p >= p_end or t_col[s] < a_col[p]:
            c, x, y = t_col[s], np.float32(0.0), t_val[s]
            s += 1
        else:
            c, x, y = a_col[p], a_val[p], t_val[s]
            p += 1
            s += 1
        v = np.float32(x + y) - np.float32(x * y)
        if v != 0.0 and v >= floor:
            if write:
                head[out] = i
                tail[out] = c
                w[out] = v
            w_max = max(w_max, v)
            out += 1
    return out - at, w_max


@jit(parallel=True)
def fuzzy_union(rows, cols, vals, n, n_epochs):
    """umap's fuzzy union w = a + b - ab of a directed graph and its transpose, in O(E + n).

    Entries (rows[e], cols[e], vals[e]) of one (n, n) matrix; duplicates are summed and zero
    entries dropped, as scipy's coo -> csr does. Returns (head, tail, w) sorted by head then
    tail (scipy's CSR order), without the edges below max(w) / n_epochs (none dropped when
    n_epochs <= 0: the pruning umap applies before its epochs). Replaces scipy's coo -> csr,
    transpose, add and multiply (their sorts and temporaries: 1.5x the time at 1M rows).
    Rows are independent (the same result on any number of threads): run it through
    `run_parallel`.
    """
    ptr, col, val = _by_row(rows, cols, vals, n)
    kept = np.empty(n, dtype=np.int64)
    for i in numba.prange(n):
        kept[i] = _summed_row(col, val, ptr[i], ptr[i + 1])
    a_ptr, a_col, a_val = _compacted(ptr, kept, col, val, n)
    t_ptr, t_col, t_val = _transposed_csr(a_ptr, a_col, a_val, n)
    none = np.empty(0, dtype=np.int32)
    no_w = np.empty(0, dtype=np.float32)
    count = np.zeros(n + 1, dtype=np.int64)
    top = np.zeros(max(n, 1), dtype=np.float32)
    floor = np.float32(-np.inf)
    for i in numba.prange(n):
        c, t = _merged_row(i, a_ptr, a_col, a_val, t_ptr, t_col, t_val, floor, none, none,
                           no_w, 0)
        count[i + 1] = c
        top[i] = t
    if n_epochs > 0:
        floor = top.max() / np.float32(n_epochs)
        for i in numba.prange(n):
            c, t = _merged_row(i, a_ptr, a_col, a_val, t_ptr, t_col, t_val, floor, none,
                               none, no_w, 0)
            count[i + 1] = c
    for i in range(n):
        count[i + 1] += count[i]
    head = np.empty(count[n], dtype=np.int32)
    tail = np.empty(count[n], dtype=np.int32)
    w = np.empty(count[n], dtype=np.float32)
    for i in numba.prange(n):
        _merged_row(i, a_ptr, a_col, a_val, t_ptr, t_col, t_val, floor, head, tail, w,
                    count[i])
    return head, tail, w


# --- layout optimisation (one epoch of SGD) ---------------------------------------------
# One kernel serves both modes: numba's cache keys entries by signature, not by the
# `parallel` flag, so two dispatchers of one function would share (and clobber) one cache
# entry. Its helpers are inlined into numba's IR (`inline="always"`): a call from the
# parallel loop's body is otherwise not inlined, and cost ~50%.

@jit(inline="always")
def _tau_next(s0, s1, s2):
    """umap's `tau_rand_int` (three-state Tausworthe generator) on a state held in
    registers: the next state and its int32."""
    s0 = (((s0 & 4294967294) << 12) & 0xFFFFFFFF) ^ ((((s0 << 13) & 0xFFFFFFFF) ^ s0) >> 19)
    s1 = (((s1 & 4294967288) << 4) & 0xFFFFFFFF) ^ ((((s1 << 2) & 0xFFFFFFFF) ^ s1) >> 25)
    s2 = (((s2 & 4294967280) << 17) & 0xFFFFFFFF) ^ ((((s2 << 3) & 0xFFFFFFFF) ^ s2) >> 11)
    return s0, s1, s2, np.int32(s0 ^ s1 ^ s2)


@jit(fastmath=True, inline="always")
def _clip(val):
    """umap's clip of a gradient to [-4, 4], kept in float32."""
    return min(max(val, np.float32(-4.0)), np.float32(4.0))


# The gradient's coefficient is a function of the squared distance alone (given a, b and the
# repulsion's strength): `gradient_table` tabulates both (attraction, repulsion) once per
# layout, and the epoch reads them instead of computing a `powf` and a division per step
# (synthetic 1M-row epochs, 20 edges a row, 3 negative samples: 0.80-1.17 s -> 0.42-0.74 s).
# Buckets: TABLE_BITS leading mantissa bits of each power of two in [2^TABLE_LOW, 2^TABLE_HIGH),
# linear within a bucket (relative error below 1.1e-5 against umap's formula in float64);
# outside that range the epoch computes the formula (`test_projection_epochs` checks both).
TABLE_BITS = 8
TABLE_LOW, TABLE_HIGH = -32, 24
TABLE_SHIFT = 23 - TABLE_BITS  # float32 mantissa bits below a bucket's
TABLE_FIRST = (127 + TABLE_LOW) << TABLE_BITS  # the first bucket's (exponent, mantissa) bits
TABLE_FRACTION = 1.0 / (1 << TABLE_SHIFT)


def gradient_table(a: float, b: float, gamma: float) -> np.ndarray:
    """Per bucket of squared distance d2 (float32): the attraction's coefficient at its start
    and its rise across it, then the repulsion's (umap's `-2ab d2^(b-1) / (1 + a d2^b)` and
    `2 gamma b / ((0.001 + d2)(1 + a d2^b))`)."""
    buckets = (TABLE_HIGH - TABLE_LOW) << TABLE_BITS
    i = np.arange(buckets + 1)
    mantissa = 1.0 + (i & ((1 << TABLE_BITS) - 1)) / (1 << TABLE_BITS)
    d2 = np.ldexp(mantissa, (i >> TABLE_BITS) + TABLE_LOW)  # the last: 2^TABLE_HIGH
    pb = d2 ** b
    attract = -2.0 * a * b * pb / (d2 * (a * pb + 1.0))
    repel = 2.0 * gamma * b / ((0.001 + d2) * (a * pb + 1.0))
    table = np.empty((buckets, 4), dtype=np.float32)
    table[:, 0], table[:, 1] = attract[:-1], np.diff(attract)
    table[:, 2], table[:, 3] = repel[:-1], np.diff(repel)
    return table


@intrinsic
def _float_bits(typingctx, value):
    """A float32's bits as an int32 (a bit cast: no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int32))
    return types.int32(types.float32), codegen


@jit(fastmath=True, inline="always")
def _bucket(d2, buckets):
    """d2's bucket in the gradient table and its position across it, or (-1, 0) outside."""
    bits = _float_bits(d2)
    at = (bits >> TABLE_SHIFT) - TABLE_FIRST
    if at < 0 or at >= buckets:
        return -1, np.float32(0.0)
    return at, np.float32(bits & ((1 << TABLE_SHIFT) - 1)) * np.float32(TABLE_FRACTION)


@jit(fastmath=True, inline="always")
def attraction(d2, table, a32, b32):
    """umap's attraction coefficient at a squared distance d2 > 0 (float32): from the
    table within its range, else umap's formula."""
    at, f = _bucket(d2, table.shape[0])
    if at >= 0:
        return table[at, 0] + f * table[at, 1]
    pd = pow(d2, b32)  # d^(b-1) = d^b / d: one pow
    return np.float32(-2.0) * a32 * b32 * pd / (d2 * (a32 * pd + np.float32(1.0)))


@jit(fastmath=True, inline="always")
def repulsion(d2, table, a32, b32, gamma32):
    """umap's repulsion coefficient at a squared distance d2 > 0 (float32): from the table
    within its range, else umap's formula."""
    at, f = _bucket(d2, table.shape[0])
    if at >= 0:
        return table[at, 2] + f * table[at, 3]
    pd = pow(d2, b32)
    return (np.float32(2.0) * gamma32 * b32
            / ((np.float32(0.001) + d2) * (a32 * pd + np.float32(1.0))))


@jit(fastmath=True, parallel=True)
def epoch_parallel(embedding, head, tail, pool, pool_rows, epochs_per_sample, a, b, table,
                   rng_state_per_sample, gamma, alpha, epochs_per_negative_sample,
                   epoch_of_next_negative_sample, epoch_of_next_sample, n, origin):
    """One epoch of umap's SGD over the edges due (`numba.prange`: on every core,
    Hogwild-style), for a 2-D or 3-D layout that is its own tail embedding.

    umap's gradients, clip, random generator and schedule, in single precision (the
    layout's own; no float64 literal may join a chain: numba would widen it). Two
    departures, both measured on 63k real rows (trustworthiness on 2 x 8,000 rows, 2 runs
    each from one start: 0.8664 umap's order, 0.8669 this): a negative sample's vertex is
    taken by multiply-shift instead of a modulo, and an edge's negative samples are all
    taken from the position its attractive step left (their steps summed, as in a
    mini-batch), not each from the one the previous left. That chain of dependent `powf`s
    was what the epoch waited on: 200 epochs 19 s -> 11 s of CPU time (float32 and the
    generator's state in registers alone: 16.5 s). The gradients' coefficients are read
    from `table` (`gradient_table(a, b, gamma)`), within 1.1e-5 of umap's formula.
    Negative samples are drawn from `pool`, the positions of rows `pool_rows`: the layout
    itself (and every row) for umap's own epochs, or a snapshot of a random subset that fits
    in the core's cache for a refine of 1M rows, whose epochs otherwise wait on a read from
    main memory for each negative sample (`umap.optimize_layout`'s `pool_size`).
    `origin` is `(0.0,) * dims`: its length is part of the signature, so a 2-D map's
    machine code has no 3-D branches (7% of the epoch).
    Run with `numba.set_num_threads(1)` it visits the edges in order, which is
    deterministic for a given seed (see `run_epoch`).
    """
    a32 = np.float32(a)
    b32 = np.float32(b)
    gamma32 = np.float32(gamma)
    step = np.float32(alpha)
    zero = np.float32(0.0)
    three = len(origin) == 3
    n_pool = pool_rows.shape[0]
    for i in numba.prange(epochs_per_sample.shape[0]):
        if epoch_of_next_sample[i] > n:
            continue
        j = head[i]
        k = tail[i]
        c0 = embedding[j, 0]
        c1 = embedding[j, 1]
        c2 = embedding[j, 2] if three else zero
        o0 = embedding[k, 0]
        o1 = embedding[k, 1]
        o2 = embedding[k, 2] if three else zero
        x0 = c0 - o0
        x1 = c1 - o1
        x2 = c2 - o2
        d2 = x0 * x0 + x1 * x1 + x2 * x2
        g = zero
        if d2 > zero:
            g = attraction(d2, table, a32, b32)
        g0 = _clip(g * x0) * step
        g1 = _clip(g * x1) * step
        g2 = _clip(g * x2) * step
        c0 += g0
        c1 += g1
        c2 += g2
        embedding[k, 0] = o0 - g0
        embedding[k, 1] = o1 - g1
        if three:
            embedding[k, 2] = o2 - g2
        epoch_of_next_sample[i] += epochs_per_sample[i]

        n_neg_samples = int((n - epoch_of_next_negative_sample[i])
                            / epochs_per_negative_sample[i])
        s0 = rng_state_per_sample[j, 0]
        s1 = rng_state_per_sample[j, 1]
        s2 = rng_state_per_sample[j, 2]
        m0 = zero
        m1 = zero
        m2 = zero
        for _p in range(n_neg_samples):
            s0, s1, s2, r = _tau_next(s0, s1, s2)
            # a vertex by multiply-shift of 31 random bits: uniform as umap's modulo is,
            # without a 64-bit division per sample
            k = ((np.int64(r) & 0x7FFFFFFF) * n_pool) >> 31
            if pool_rows[k] == j:  # umap: no step from the vertex itself
                continue
            x0 = c0 - pool[k, 0]
            x1 = c1 - pool[k, 1]
            x2 = (c2 - pool[k, 2]) if three else zero
            d2 = x0 * x0 + x1 * x1 + x2 * x2
            if d2 > zero:  # umap: none from a vertex on top of this one either
                g = repulsion(d2, table, a32, b32, gamma32)
                m0 += _clip(g * x0) * step
                m1 += _clip(g * x1) * step
                m2 += _clip(g * x2) * step
        rng_state_per_sample[j, 0] = s0
        rng_state_per_sample[j, 1] = s1
        rng_state_per_sample[j, 2] = s2
        embedding[j, 0] = c0 + m0
        embedding[j, 1] = c1 + m1
        if three:
            embedding[j, 2] = c2 + m2
        epoch_of_next_negative_sample[i] += n_neg_samples * epochs_per_negative_sample[i]


def run_epoch(parallel: bool, *args) -> None:
    """`epoch_parallel(*args)` on every core, or on one (edges in order, deterministic)."""
    run_parallel(epoch_parallel, *args, threads=None if parallel else 1)


KERNELS = {
    "smooth_knn_dist": smooth_knn_dist,
    "membership_strengths": membership_strengths,
    "fuzzy_union": fuzzy_union,
    "epoch_parallel": epoch_parallel,
}


def warm() -> None:
    """Compile (or load) the kernels the map uses only at large sizes or in 3-D, with the
    types it passes, so the first 1M map does not wait on the compiler (the warm-up's small
    2-D UMAP never reaches them)."""
    edges = np.array([0, 1], dtype=np.int32)
    run_parallel(fuzzy_union, edges, edges[::-1].copy(), np.ones(2, dtype=np.float32), 2, 0)
    # the 3-D epoch (the warm-up's small UMAP is 2-D): one edge, one epoch
    f64, rng_state = np.ones(2), np.ones((2, 3), dtype=np.int64)
    layout = np.zeros((2, 3), dtype=np.float32)
    run_epoch(False, layout, edges, edges[::-1].copy(), layout, edges, f64, 1.0, 1.0,
              gradient_table(1.0, 1.0, 1.0), rng_state, 1.0, 1.0, f64.copy(), f64.copy(),
              f64.copy(), 0, (0.0, 0.0, 0.0))


def cached_signatures() -> dict[str, int]:
    """How many compiled signatures each kernel holds in this process (for diagnostics)."""
    return {name: len(fn.signatures) for name, fn in KERNELS.items()}


__all__ = ["KERNELS", "attraction", "cached_signatures", "epoch_parallel", "fuzzy_union",
           "gradient_table", "membership_strengths", "repulsion", "run_epoch", "smooth_knn_dist",
           "warm"]
