"""Benchmark: exact top-k nearest-neighbour scan over a memory-mapped float32 .npy.

Not a pytest test. Run directly:

    python tests/benchmarks/bench_exact_scan.py --sizes 1000000,100000 --reps 9

For each n it builds (once, in a temp dir) an (n x 384) float32 .npy of random
normal rows normalised to unit length, warms it into the page cache, then measures
(median of --reps repetitions, one query, k=10):

  1. scan bound: fastest plain read pass (numpy chunked reduce / BLAS matvec,
     numba parallel sum) -> GB/s and seconds
  2. numpy brute force: X @ q + argpartition
  3. faiss IndexFlatIP.search (add not timed)
  4. "ours exact": numba fused dot + per-block running top-k, on the memmap
  5. "compact + re-rank": int8 per-dimension symmetric quantisation, numba scan
     for top-C candidates, exact float32 re-rank from the memmap; recall@k vs
     exact over --queries random queries (data rows + noise)

Emits one JSON line per measurement and a summary table (ratios to the bound).
Machine noise: only medians and ratios are meaningful.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np
from numba import get_num_threads, njit, prange

DIM = 384
K = 10


# ---------------------------------------------------------------- numba kernels


@njit(parallel=True, cache=True)
def nb_sum_f32(X, nblocks):
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
def nb_sum_fast(X, nblocks):
    # fastmath lets LLVM vectorise the reduction: this is the real read bound
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


@njit(inline="always")
def _insert(vals, ids, s, i):
    # vals ascending; vals[0] is the current k-th best. Caller checks s > vals[0].
    k = vals.shape[0]
    p = 0
    while p + 1 < k and vals[p + 1] < s:
        vals[p] = vals[p + 1]
        ids[p] = ids[p + 1]
        p += 1
    vals[p] = s
    ids[p] = i


@njit(parallel=True, fastmath=True, cache=True)
def nb_topk_i8(X8, qs, c, nblocks):
    """Approximate scores sum_j float(X8[i,j]) * qs[j]; qs = q * scale / 127."""
    n, d = X8.shape
    out_v = np.full((nblocks, c), -np.inf, np.float32)
    out_i = np.full((nblocks, c), -1, np.int64)
    for b in prange(nblocks):
        lo = b * n // nblocks
        hi = (b + 1) * n // nblocks
        vals = np.full(c, -np.inf, np.float32)
        ids = np.full(c, -1, np.int64)
        for i in range(lo, hi):
            s = np.float32(0.0)
            for j in range(d):
                s += np.float32(X8[i, j]) * qs[j]
            if s > vals[0]:
                _insert(vals, ids, s, i)
        out_v[b] = vals
        out_i[b] = ids
    return out_v, out_i


# ---------------------------------------------------------------- helpers


def merge_blocks(out_v, out_i, k):
    v = out_v.ravel()
    ids = out_i.ravel()
    top = np.argpartition(-v, k - 1)[:k] if v.size > k else np.arange(v.size)
    top = top[np.argsort(-v[top], kind="stable")]
    return ids[top], v[top]


def numpy_topk(X, q, k, chunk=131072):
    n = X.shape[0]
    scores = np.empty(n, np.float32)
    for lo in range(0, n, chunk):
        np.matmul(X[lo : lo + chunk], q, out=scores[lo : lo + chunk])
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]


def ours_exact(index, q, k):
    """The app's exact search (explorer.compute.index), on the memory map as is."""
    return index.search(q, k).rows


def quantise_int8(X, chunk=131072):
    n, d = X.shape
    amax = np.zeros(d, np.float32)
    for lo in range(0, n, chunk):
        np.maximum(amax, np.abs(X[lo : lo + chunk]).max(axis=0), out=amax)
    scale = np.where(amax > 0, amax, 1.0).astype(np.float32)
    inv = (127.0 / scale).astype(np.float32)
    X8 = np.empty((n, d), np.int8)
    for lo in range(0, n, chunk):
        X8[lo : lo + chunk] = np.clip(np.rint(X[lo : lo + chunk] * inv), -127, 127)
    return X8, scale


def compact_rerank(X, X8, scale, q, k, c, nblocks):
    qs = (q * (scale / 127.0)).astype(np.float32)
    v, i = nb_topk_i8(X8, qs, c, nblocks)
    cand, _ = merge_blocks(v, i, c)  # ordered by approx score, best first
    cand_sorted = np.sort(cand)  # sequential-ish gather from the memmap
    exact = X[cand_sorted] @ q
    top = np.argpartition(-exact, k - 1)[:k]
    top = top[np.argsort(-exact[top])]
    return cand_sorted[top], cand


def timeit(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def make_matrix(path, n, d=DIM, chunk=100_000, seed=0):
    rng = np.random.default_rng(seed)
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        a = rng.standard_normal((hi - lo, d), dtype=np.float32)
        a /= np.linalg.norm(a, axis=1, keepdims=True)
        mm[lo:hi] = a
    mm.flush()
    del mm


def emit(rec):
    print(json.dumps(rec), flush=True)


# ---------------------------------------------------------------- main


def run_size(n, reps, nq, tmpdir, with_faiss, results):
    path = os.path.join(tmpdir, f"emb_{n}.npy")
    t0 = time.perf_counter()
    if not os.path.exists(path):
        make_matrix(path, n)
    t_gen = time.perf_counter() - t0
    X = np.load(path, mmap_mode="r")  # read-only memmap
    Xa = np.asarray(X)  # plain ndarray view on the same mapping (no copy)
    nbytes = Xa.nbytes
    # warm the page cache
    s = 0.0
    for lo in range(0, n, 131072):
        s += float(np.add.reduce(Xa[lo : lo + 131072], axis=None))
    nthreads = get_num_threads()
    nblocks = nthreads * 4
    emit({"n": n, "what": "setup", "gen_s": t_gen, "bytes": nbytes, "threads": nthreads})

    rng = np.random.default_rng(123)
    q = Xa[rng.integers(n)] + 0.05 * rng.standard_normal(DIM).astype(np.float32)
    q = (q / np.linalg.norm(q)).astype(np.float32)

    def rec(name, med, mn, **extra):
        r = {"n": n, "what": name, "median_s": med, "min_s": mn,
             "gbps": nbytes / med / 1e9, **extra}
        results.setdefault(n, {})[name] = r
        emit(r)

    # 1. scan bounds
    ones = np.ones(DIM, np.float32)
    ch = 65536

    def np_reduce():
        for lo in range(0, n, ch):
            np.add.reduce(Xa[lo : lo + ch], axis=None)

    def np_matvec():
        for lo in range(0, n, ch):
            Xa[lo : lo + ch] @ ones

    def np_matvec_whole():
        Xa @ ones

    for name, fn in [("bound_np_reduce", np_reduce), ("bound_np_matvec", np_matvec),
                     ("bound_np_matvec_whole", np_matvec_whole),
                     ("bound_nb_sum", lambda: nb_sum_f32(Xa, nblocks)),
                     ("bound_nb_sum_fastmath", lambda: nb_sum_fast(Xa, nblocks))]:
        rec(name, *timeit(fn, reps))
    bound = min(r["median_s"] for k_, r in results[n].items() if k_.startswith("bound_"))
    results[n]["_bound"] = bound

    # 2. numpy brute force
    ref = numpy_topk(Xa, q, K)
    rec("numpy_matvec_argpartition", *timeit(lambda: numpy_topk(Xa, q, K), reps))

    # 4. ours exact (memmap passed directly: numba sees a read-only array)
    from explorer.compute.index import ExactIndex

    index = ExactIndex(X, "dot")  # rows are unit length: dot ranks as cosine
    got = ours_exact(index, q, K)
    same = set(got.tolist()) == set(ref.tolist())
    rec("ours_exact_numba_fused", *timeit(lambda: ours_exact(index, q, K), reps),
        matches_numpy=same)

    # 3. faiss
    if with_faiss:
        import faiss
        idx = faiss.IndexFlatIP(DIM)
        t0 = time.perf_counter()
        for lo in range(0, n, 131072):
            idx.add(np.ascontiguousarray(Xa[lo : lo + 131072]))
        t_add = time.perf_counter() - t0
        q2 = q[None, :]
        _, fi = idx.search(q2, K)
        rec("faiss_flatip_search", *timeit(lambda: idx.search(q2, K), reps),
            add_s=t_add, matches_numpy=set(fi[0].tolist()) == set(ref.tolist()),
            omp_threads=faiss.omp_get_max_threads())
        del idx

    # 5. compact + re-rank
    t0 = time.perf_counter()
    X8, scale = quantise_int8(Xa)
    t_q = time.perf_counter() - t0
    emit({"n": n, "what": "quantise_int8", "seconds": t_q, "bytes": X8.nbytes})
    rec("bound_int8_nb_sum", *timeit(lambda: nb_sum_i8(X8, nblocks), reps))
    results[n]["bound_int8_nb_sum"]["gbps"] = X8.nbytes / results[n]["bound_int8_nb_sum"]["median_s"] / 1e9

    qrng = np.random.default_rng(7)
    rows = qrng.integers(0, n, nq)
    Q = Xa[rows] + 0.05 * qrng.standard_normal((nq, DIM)).astype(np.float32)
    Q = (Q / np.linalg.norm(Q, axis=1, keepdims=True)).astype(np.float32)
    exacts = [set(numpy_topk(Xa, Q[t], K).tolist()) for t in range(nq)]
    for c in (2 * K, 5 * K, 10 * K):
        # hits: recall@k after re-rank of top-c approx candidates
        hits = 0
        for t in range(nq):
            top, _ = compact_rerank(X, X8, scale, Q[t], K, c, nblocks)
            hits += len(exacts[t] & set(top.tolist()))
        recall = hits / (nq * K)
        rec(f"compact_int8_rerank_C{c}",
            *timeit(lambda: compact_rerank(X, X8, scale, q, K, c, nblocks), reps),
            recall_at_10=recall, quantise_s=t_q)
    del X8


def summary(results):
    print()
    print(f"{'n':>9} {'method':<30} {'median ms':>10} {'GB/s*':>7} {'x bound':>8}  extra")
    for n, res in results.items():
        bound = res["_bound"]
        for name, r in res.items():
            if name.startswith("_"):
                continue
            extra = []
            if "matches_numpy" in r:
                extra.append(f"match={r['matches_numpy']}")
            if "recall_at_10" in r:
                extra.append(f"recall@10={r['recall_at_10']:.4f}")
            print(f"{n:>9} {name:<30} {r['median_s']*1e3:>10.2f} {r['gbps']:>7.2f} "
                  f"{r['median_s']/bound:>8.2f}  {' '.join(extra)}")
    print("* GB/s = float32 matrix bytes / median time (int8 bound row: int8 bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,100000")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--dir", default=None, help="where to keep the .npy (default: temp dir)")
    ap.add_argument("--no-faiss", action="store_true")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            run_size(n, args.reps, args.queries, tmp, not args.no_faiss, results)
    summary(results)


if __name__ == "__main__":
    main()
