"""Kernels of the all-rows kNN graph joined from pivot lists (`projection.knn_graph`).

A pivot is a row of UMAP's fitted sample; every row knows its nearest pivots. The rows are
registered in the inverted lists of their first few pivots (`lists_csr`), grouped by their
first pivot, and each group is compared with the union of the lists of its rows' pivots
(`join_units`): a group's candidates are read once from the memory map for all its rows,
which is what makes the join affordable at 1M rows. `descent_rows` then offers each row its
neighbours' neighbours (one round of NN-descent).

The join and the descent read int8 codes of the rows with one scale each (`quantise_rows`,
one pass over the rows where they are, a read-only memory map included): at 1M x 384 the
float32 rows do not fit the cache and the join waited on memory. A row whose norm is not
finite has its NaN/Inf values read as 0, as `rows.clean_rows` does.
Distances are umap's: cosine 1 - cos clipped to [0, 2] (a zero row is at 1 from every
other), euclidean |x - y|. Each row's list is written by one thread only, so the parallel
loops need no locks and give the same graph on any number of threads.
"""

from __future__ import annotations

import numba
import numpy as np

from explorer.compute.numba.setup import jit, prange

# Reassociation and contraction let the sums over the dimensions vectorise; no "nnan" or
# "ninf", so the finiteness checks that clean a row still hold.
FAST = {"reassoc", "contract", "nsz", "arcp"}
CAND_BLOCK = 128    # candidates loaded, then compared with a unit's rows, at a time (in L2)


@jit()
def lists_csr(pivot_of, m, assign):
    """Rows registered in their `assign` first pivots: (ptr int64 (m+1,), rows int32), each
    pivot's rows ascending (a counting sort)."""
    n = pivot_of.shape[0]
    a = min(assign, pivot_of.shape[1])
    ptr = np.zeros(m + 1, np.int64)
    for r in range(n):
        for j in range(a):
            ptr[pivot_of[r, j] + 1] += 1
    for p in range(m):
        ptr[p + 1] += ptr[p]
    rows = np.empty(ptr[m], np.int32)
    fill = ptr[:m].copy()
    for r in range(n):
        for j in range(a):
            p = pivot_of[r, j]
            rows[fill[p]] = r
            fill[p] += 1
    return ptr, rows


@jit(inline="always", fastmath=FAST)
def _load(vectors, norms, r, buf, cosine):
    """Row r into buf, non-finite values as 0 and unit length for cosine (zero rows stay 0);
    returns the squared length of what was loaded."""
    d = buf.shape[0]
    s = norms[r]
    if np.isfinite(s):
        for j in range(d):
            buf[j] = vectors[r, j]
    else:
        acc = np.float32(0.0)
        for j in range(d):
            v = vectors[r, j]
            if not np.isfinite(v):
                v = np.float32(0.0)
            buf[j] = v
            acc += v * v
        s = np.sqrt(acc)
    if not cosine:
        return s * s
    inv = np.float32(1.0) / s if s > 0 and np.isfinite(s) else np.float32(0.0)
    for j in range(d):
        buf[j] *= inv
    return np.float32(1.0) if inv > 0 else np.float32(0.0)


@jit(parallel=True, fastmath=FAST)
def quantise_rows(vectors, norms, cosine, r0, r1, codes, scales):
    """Rows r0..r1 as int8 codes with one scale each (`_unpack` reads them back): cleaned
    as `_load` does, unit length for cosine, each row's largest |value| at 127.

    The join reads every candidate row many times over; at 1M x 384 float32 rows (1.5 GB)
    do not stay in the cache and it waited on memory. A quarter of the bytes moves a
    quarter of the traffic; a distance moves by ~1e-3 of its value."""
    d = vectors.shape[1]
    for r in prange(r0, r1):
        buf = np.empty(d, np.float32)
        _load(vectors, norms, r, buf, cosine)
        top = np.float32(0.0)
        for j in range(d):
            top = max(top, abs(buf[j]))
        if not top > 0:
            codes[r, :] = 0
            scales[r] = 0.0
            continue
        up = np.float32(127.0) / top
        acc = np.float32(0.0)
        for j in range(d):
            v = np.float32(np.rint(buf[j] * up))
            codes[r, j] = np.int8(v)
            acc += v * v
        # cosine: the unpacked row has unit length exactly, as the float32 one had
        scales[r] = np.float32(1.0) / np.sqrt(acc) if cosine else top / np.float32(127.0)


@jit(inline="always", fastmath=FAST)
def _unpack(codes, scales, r, buf, cosine):
    """Row r of `quantise_rows`' codes into buf (float32); returns its squared length."""
    d = buf.shape[0]
    s = scales[r]
    acc = np.float32(0.0)
    for j in range(d):
        v = np.float32(codes[r, j]) * s
        buf[j] = v
        acc += v * v
    if cosine:
        return np.float32(1.0) if s > 0 else np.float32(0.0)
    return acc


@jit(inline="always", fastmath=FAST)
def _distance(q, c, cosine):
    """umap's distance between two loaded rows, summed directly (no cancellation)."""
    d = q.shape[0]
    s = np.float32(0.0)
    if cosine:
        for j in range(d):
            s += q[j] * c[j]
        return min(np.float32(2.0), max(np.float32(0.0), np.float32(1.0) - s))
    for j in range(d):
        t = q[j] - c[j]
        s += t * t
    return np.sqrt(s)


@jit(inline="always", fastmath=FAST)
def _block(q, a, c, i, out):
    """out[a:a+4, i:i+4] = the dot products of rows a..a+3 of q with rows i..i+3 of c.

    Sixteen sums in registers: each load of a query or candidate value serves four
    products (the join was bound by loads with one candidate at a time: 4x4 blocks made
    its products 1.8x faster on this machine)."""
    s00 = np.float32(0.0)
    s01 = np.float32(0.0)
    s02 = np.float32(0.0)
    s03 = np.float32(0.0)
    s10 = np.float32(0.0)
    s11 = np.float32(0.0)
    s12 = np.float32(0.0)
    s13 = np.float32(0.0)
    s20 = np.float32(0.0)
    s21 = np.float32(0.0)
    s22 = np.float32(0.0)
    s23 = np.float32(0.0)
    s30 = np.float32(0.0)
    s31 = np.float32(0.0)
    s32 = np.float32(0.0)
    s33 = np.float32(0.0)
    for j in range(q.shape[1]):
        c0 = c[i, j]
        c1 = c[i + 1, j]
        c2 = c[i + 2, j]
        c3 = c[i + 3, j]
        q0 = q[a, j]
        q1 = q[a + 1, j]
        q2 = q[a + 2, j]
        q3 = q[a + 3, j]
        s00 += q0 * c0
        s01 += q0 * c1
        s02 += q0 * c2
        s03 += q0 * c3
        s10 += q1 * c0
        s11 += q1 * c1
        s12 += q1 * c2
        s13 += q1 * c3
        s20 += q2 * c0
        s21 += q2 * c1
        s22 += q2 * c2
        s23 += q2 * c3
        s30 += q3 * c0
        s31 += q3 * c1
        s32 += q3 * c2
        s33 += q3 * c3
    out[a, i] = s00
    out[a, i + 1] = s01
    out[a, i + 2] = s02
    out[a, i + 3] = s03
    out[a + 1, i] = s10
    out[a + 1, i + 1] = s11
    out[a + 1, i + 2] = s12
    out[a + 1, i + 3] = s13
    out[a + 2, i] = s20
    out[a + 2, i + 1] = s21
    out[a + 2, i + 2] = s22
    out[a + 2, i + 3] = s23
    out[a + 3, i] = s30
    out[a + 3, i + 1] = s31
    out[a + 3, i + 2] = s32
    out[a + 3, i + 3] = s33


@jit(inline="always")
def _insert(vals, ids, dist, row):
    """Put (dist, row) into a descending top list (vals[0] is the current worst)."""
    k = vals.shape[0]
    p = 0
    while p + 1 < k and vals[p + 1] > dist:
        vals[p] = vals[p + 1]
        ids[p] = ids[p + 1]
        p += 1
    vals[p] = dist
    ids[p] = row


@jit(inline="always")
def _write(r, vals, ids, out_ind, out_dist):
    """Row r's list: itself first at 0, then the others nearest first (-1, inf: missing)."""
    kk = vals.shape[0]
    out_ind[r, 0] = r
    out_dist[r, 0] = 0.0
    for i in range(kk):
        out_ind[r, 1 + i] = ids[kk - 1 - i]
        out_dist[r, 1 + i] = vals[kk - 1 - i]


def lanes() -> int:
    """Independent lanes of `join_units` (each with its own `seen` row): a few per thread, so
    units of uneven cost still balance."""
    return 4 * numba.get_num_threads()


@jit(parallel=True, fastmath=FAST)
def join_units(codes, scales, cosine, pivot_of, probe, list_ptr, list_rows, order, unit_ptr,
               u0, u1, seen, out_ind, out_dist):
    """For units u0..u1 (rows order[unit_ptr[u]:unit_ptr[u+1]], one first pivot each): every
    row's k-1 nearest among the union of the lists of the unit's rows' `probe` first pivots.

    `seen` int32 (lanes, n + m), zero before the first call: lane l marks the rows (then the
    pivots, at n + p) it has taken for unit u with u + 1, which removes duplicates without
    sorting. The units are split into `lanes` runs, one lane each.
    """
    n, d = codes.shape
    kk = out_ind.shape[1] - 1
    probe = min(probe, pivot_of.shape[1])
    nlanes = seen.shape[0]
    for lane in prange(nlanes):
        a0 = u0 + (u1 - u0) * lane // nlanes
        a1 = u0 + (u1 - u0) * (lane + 1) // nlanes
        mark = seen[lane]
        gmax = 1
        for u in range(a0, a1):
            gmax = max(gmax, unit_ptr[u + 1] - unit_ptr[u])
        gpad = (gmax + 3) // 4 * 4
        q = np.zeros((gpad, d), np.float32)      # rows past a unit's g stay 0 (unused)
        vals = np.empty((gmax, kk), np.float32)
        ids = np.empty((gmax, kk), np.int32)
        pv = np.empty(gmax * probe, np.int32)
        qn = np.empty(gmax, np.float32)
        c = np.zeros((CAND_BLOCK, d), np.float32)
        cn = np.empty(CAND_BLOCK, np.float32)
        dots = np.empty((gpad, CAND_BLOCK), np.float32)
        cand = np.empty(1024, np.int32)
        for u in range(a0, a1):
            stamp = u + 1
            lo = unit_ptr[u]
            g = unit_ptr[u + 1] - lo
            npv = 0
            total = 0
            for a in range(g):
                for j in range(probe):
                    p = pivot_of[order[lo + a], j]
                    if mark[n + p] != stamp:
                        mark[n + p] = stamp
                        pv[npv] = p
                        npv += 1
                        total += list_ptr[p + 1] - list_ptr[p]
            if total > cand.size:
                cand = np.empty(max(total, 2 * cand.size), np.int32)
            nc = 0
            for i in range(npv):
                p = pv[i]
                for e in range(list_ptr[p], list_ptr[p + 1]):
                    row = list_rows[e]
                    if mark[row] != stamp:
                        mark[row] = stamp
                        cand[nc] = row
                        nc += 1
            for a in range(g):
                qn[a] = _unpack(codes, scales, order[lo + a], q[a], cosine)
                vals[a, :] = np.inf
                ids[a, :] = -1
            for a in range(g, gpad):
                q[a, :] = 0.0
            g4 = (g + 3) // 4 * 4
            for c0 in range(0, nc, CAND_BLOCK):
                cb = min(CAND_BLOCK, nc - c0)
                for i in range(cb):
                    cn[i] = _unpack(codes, scales, cand[c0 + i], c[i], cosine)
                cb4 = (cb + 3) // 4 * 4
                for i in range(cb, cb4):
                    c[i, :] = 0.0
                for a in range(0, g4, 4):
                    for i in range(0, cb4, 4):
                        _block(q, a, c, i, dots)
                for a in range(g):
                    me = order[lo + a]
                    for i in range(cb):
                        row = cand[c0 + i]
                        if row == me:
                            continue
                        if cosine:
                            dist = min(np.float32(2.0), max(np.float32(0.0),
                                                            np.float32(1.0) - dots[a, i]))
                        else:  # |q|^2 + |c|^2 - 2 q.c screens; a list entry gets |q - c| summed
                            sq = qn[a] + cn[i] - np.float32(2.0) * dots[a, i]
                            worst = vals[a, 0]
                            if sq - np.float32(1e-5) * (qn[a] + cn[i]) >= worst * worst:
                                continue
                            dist = _distance(q[a], c[i], cosine)
                        if dist < vals[a, 0]:
                            _insert(vals[a], ids[a], dist, row)
            for a in range(g):
                _write(order[lo + a], vals[a], ids[a], out_ind, out_dist)


@jit(parallel=True, fastmath=FAST)
def descent_rows(codes, scales, cosine, ind, dist, fan, order, r0, r1, out_ind, out_dist):
    """Rows order[r0:r1] of one NN-descent round: each row's list merged with its `fan`
    nearest neighbours' `fan` nearest (read from ind/dist, written to out_ind/out_dist).
    In the join's order (by first pivot), rows next to each other share most of their
    neighbours' neighbours, which then come from the cache."""
    d = codes.shape[1]
    kk = ind.shape[1] - 1
    f = min(fan, kk)
    for at in prange(r0, r1):
        r = order[at]
        cand = np.empty(f * f, np.int32)
        nc = 0
        for a in range(1, 1 + f):
            s = ind[r, a]
            if s < 0:
                continue
            for b in range(1, 1 + f):
                t = ind[s, b]
                if t >= 0 and t != r:
                    cand[nc] = t
                    nc += 1
        cand = np.unique(cand[:nc])
        vals = np.empty(kk, np.float32)
        ids = np.empty(kk, np.int32)
        for i in range(kk):
            vals[i] = dist[r, kk - i]
            ids[i] = ind[r, kk - i]
        q = np.empty(d, np.float32)
        c = np.empty(d, np.float32)
        _unpack(codes, scales, r, q, cosine)
        for t in cand:
            known = False
            for i in range(kk):
                if ids[i] == t:
                    known = True
                    break
            if known:
                continue
            _unpack(codes, scales, t, c, cosine)
            dd = _distance(q, c, cosine)
            if dd < vals[0]:
                _insert(vals, ids, dd, t)
        _write(r, vals, ids, out_ind, out_dist)


@jit(parallel=True, fastmath=FAST)
def exact_lists(vectors, norms, cosine, ind, dist, order, r0, r1):
    """Rows order[r0:r1] of a joined graph: each listed neighbour's distance recomputed from
    the float32 rows, the list sorted again. The codes choose the neighbours; a distance
    umap's fuzzy set reads, and a near-duplicate's order, come from the rows themselves
    (int8 codes of rows far from the origin lose their small differences)."""
    d = vectors.shape[1]
    k = ind.shape[1]
    for at in prange(r0, r1):
        r = order[at]
        q = np.empty(d, np.float32)
        c = np.empty(d, np.float32)
        _load(vectors, norms, r, q, cosine)
        for i in range(1, k):
            t = ind[r, i]
            if t >= 0:
                _load(vectors, norms, t, c, cosine)
                dist[r, i] = _distance(q, c, cosine)
        for i in range(2, k):  # insertion sort; a missing entry (-1, inf) stays last
            dv = dist[r, i]
            iv = ind[r, i]
            p = i
            while p > 1 and dist[r, p - 1] > dv:
                dist[r, p] = dist[r, p - 1]
                ind[r, p] = ind[r, p - 1]
                p -= 1
            dist[r, p] = dv
            ind[r, p] = iv


KERNELS = {"lists_csr": lists_csr, "quantise_rows": quantise_rows, "join_units": join_units,
           "descent_rows": descent_rows, "exact_lists": exact_lists}


def warm() -> None:
    """Compile (or load) every signature the join uses: writable and read-only float32 rows
    (a library set is a read-only memory map) into codes, cosine and euclidean alike."""
    pivot_of = np.array([[0, 1], [1, 0], [0, 1]], dtype=np.int32)
    ptr, rows = lists_csr(pivot_of, 2, 2)
    order = np.arange(3, dtype=np.int32)
    unit_ptr = np.array([0, 3], dtype=np.int64)
    norms = np.ones(3, dtype=np.float32)
    ind = np.empty((3, 2), dtype=np.int32)
    dist = np.empty((3, 2), dtype=np.float32)
    seen = np.zeros((1, 5), dtype=np.int32)
    codes = np.empty((3, 3), dtype=np.int8)
    scales = np.empty(3, dtype=np.float32)
    for writeable in (True, False):
        x = np.eye(3, dtype=np.float32)
        x.flags.writeable = writeable
        for cosine in (True, False):
            quantise_rows(x, norms, cosine, 0, 3, codes, scales)
            seen[:] = 0
            join_units(codes, scales, cosine, pivot_of, 2, ptr, rows, order, unit_ptr, 0, 1,
                       seen, ind, dist)
            descent_rows(codes, scales, cosine, ind, dist, 1, order, 0, 3, ind.copy(),
                         dist.copy())
            exact_lists(x, norms, cosine, ind, dist, order, 0, 3)


__all__ = ["KERNELS", "descent_rows", "exact_lists", "join_units", "lanes", "lists_csr",
           "quantise_rows", "warm"]
