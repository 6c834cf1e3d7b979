"""Benchmark: nearest-neighbour search (issue 4) as ratios to the memory-bandwidth scan bound.

Not a pytest test. Run directly:

    .venv/bin/python tests/benchmarks/bench_neighbours.py --sizes 100000,1000000 --queries 100

For each n it writes (in chunks, seeded, into a temp dir) an n x 384 float32 .npy of
realistic embeddings -- anisotropic and clustered, not isotropic noise (see `Embeddings`):
a common mean direction plus a few "rogue" large dimensions, a few thousand cluster centres
with a decaying spectrum in a random basis, Zipf-like cluster sizes, per-cluster and per-row
noise, and raw norms that vary (~0.55x-2x of the median) -- opens it memory-mapped, warms
the page cache, builds the indexes (build times reported) and then times, all with cosine
similarity and k=10:

  scan bound     numba parallel fastmath sum over the float32 rows (scan_bound.nb_sum_fast):
                 the time one read of the matrix takes here (-> GB/s)
  int8 bound     the same sum over CompactIndex's int8 codes (nb_sum_i8), for reference
  numpy          chunked X @ q, times 1/|x|, argpartition
  faiss flat     faiss IndexFlatIP over a normalised in-RAM copy (add time reported)
  ours exact     explorer.compute.index.ExactIndex(X, "cosine") on the memory map
  ours compact   CompactIndex.build(X, "cosine"): int8 scan + float32 re-rank (recall@10
                 against exact, and how each answer was verified: last_verified)
  HNSW           ApproxIndex.build(X, "cosine", kind="hnsw") (build s, latency, recall@10
                 at the app's default ef_search and a small ef sweep)
  IVF            ApproxIndex.build(..., kind="ivf") (nprobe sweep), unless --no-ivf
  ... direct     the same faiss index and float32 re-rank, searched by faiss directly
                 without any IDSelector (what the index itself delivers, as a check on
                 ApproxIndex.search's own handling of masks)

Queries are held-out rows: drawn from the same clustered distribution with another seed,
so they are not in the index (no self-match to exclude); ground truth is ExactIndex's
top-10 (numpy's and faiss flat's recall@10 against it cross-check it). The app's own
`measure_recall` (real rows as queries, self excluded) is reported too.

Timing is interleaved: each round runs the scan bound, then every method once on that
round's query in a rotated order, then the bound again, so machine noise hits all rows
alike. A short --pause before every timed call lets the thread pools of the previous call
(numba's, faiss' and OpenBLAS' spin for a while after a call) go idle. Reported: medians
over rounds, `x bound` = median(method) / median(bound in the same rounds), and `paired` =
median over rounds of (method / that round's bound). Only medians and ratios mean anything
on a shared machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from explorer.compute.numba import configure  # noqa: E402

configure()  # before numba is imported (scan_bound imports it)

from scan_bound import nb_sum_fast, nb_sum_i8  # noqa: E402
from numba import get_num_threads  # noqa: E402

from explorer.compute.index import ApproxIndex, CompactIndex, ExactIndex, row_norms  # noqa: E402
from explorer.compute.neighbours import measure_recall  # noqa: E402
from explorer.core.jobs import TaskState  # noqa: E402

DIM = 384
K = 10
CHUNK = 100_000


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def emit(rec):
    print(json.dumps(rec), flush=True)


# ---------------------------------------------------------------- data


class Embeddings:
    """A seeded generator of sentence-embedding-like rows.

    x = s_row * (mu + centre[c] + spread[c] * r_row * U (spec_noise * z))
      * mu: common mean direction (random-pair cosine ~0.15, as in many text models)
        with three "rogue" dimensions carrying large offsets;
      * centre[c] = U (spec_centre * z_c), spec_centre ~ j^-0.5 (decaying spectrum in a
        random orthonormal basis U), `centres` of them, sizes ~ Zipf (rank^-0.8);
      * within-cluster noise with a flatter spectrum j^-0.35, a lognormal spread per
        cluster and per row;
      * raw norms scaled by a lognormal per row (cosine ignores them, the index must not
        be confused by them).
    """

    def __init__(self, seed=0, centres=2000, d=DIM):
        rng = np.random.default_rng(seed)
        self.d = d
        basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
        self.basis_t = np.ascontiguousarray(basis.T, dtype=np.float32)
        j = np.arange(1, d + 1)
        spec_c = j ** -0.5
        spec_n = j ** -0.35
        self.spec_c = (spec_c / np.sqrt((spec_c ** 2).sum())).astype(np.float32)
        self.spec_n = (spec_n / np.sqrt((spec_n ** 2).sum())).astype(np.float32)
        mu = rng.standard_normal(d)
        mu *= 0.3 / np.linalg.norm(mu)
        rogue = rng.choice(d, 3, replace=False)
        mu[rogue] += np.array([0.35, -0.25, 0.2])
        self.mu = mu.astype(np.float32)
        z = rng.standard_normal((centres, d)).astype(np.float32)
        self.centres = self.mu + (z * self.spec_c) @ self.basis_t
        w = np.arange(1, centres + 1) ** -0.8
        self.weights = rng.permutation(w / w.sum())
        self.spread = np.exp(rng.normal(np.log(0.8), 0.3, centres)).astype(np.float32)

    def sample(self, m, rng):
        c = rng.choice(len(self.weights), size=m, p=self.weights)
        z = rng.standard_normal((m, self.d), dtype=np.float32)
        s = self.spread[c] * np.exp(rng.normal(0.0, 0.25, m)).astype(np.float32)
        x = self.centres[c] + ((z * self.spec_n) @ self.basis_t) * s[:, None]
        scale = 5.0 * np.exp(rng.normal(0.0, 0.2, m)) / np.linalg.norm(x, axis=1)
        x *= scale.astype(np.float32)[:, None]
        return x.astype(np.float32, copy=False)


def make_matrix(path, n, gen, seed):
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, DIM))
    seeds = np.random.SeedSequence([seed, n]).spawn((n + CHUNK - 1) // CHUNK)
    for b, lo in enumerate(range(0, n, CHUNK)):
        hi = min(n, lo + CHUNK)
        mm[lo:hi] = gen.sample(hi - lo, np.random.default_rng(seeds[b]))
        if b % 2 == 1 or hi == n:
            log(f"  generating n={n}: {hi:,}/{n:,} rows")
    mm.flush()
    del mm


def data_stats(Xa, norms, truth_scores, rng):
    n = len(Xa)
    i = rng.integers(0, n, (4000, 2))
    a = Xa[np.sort(i[:, 0])] / norms[np.sort(i[:, 0])][:, None]
    b = Xa[np.sort(i[:, 1])] / norms[np.sort(i[:, 1])][:, None]
    pair = float(np.median((a * b).sum(1)))
    sample = np.asarray(Xa[np.sort(rng.choice(n, min(n, 20000), replace=False))])
    u = sample / np.linalg.norm(sample, axis=1, keepdims=True)
    ev = np.linalg.eigvalsh(np.cov(u.T))[::-1]
    return {
        "norm_p1_p50_p99": [round(float(v), 3) for v in np.percentile(norms, [1, 50, 99])],
        "random_pair_cosine_median": round(pair, 3),
        "participation_ratio": round(float(ev.sum() ** 2 / (ev ** 2).sum()), 1),
        "top5_pc_variance": round(float(ev[:5].sum() / ev.sum()), 3),
        "query_top1_cos_median": round(float(np.median(truth_scores[:, 0])), 3),
        "query_top10_cos_median": round(float(np.median(truth_scores[:, K - 1])), 3),
        "query_gap_10th_11th_median": round(float(np.median(truth_scores[:, K - 1]
                                                            - truth_scores[:, K])), 5),
    }


# ---------------------------------------------------------------- methods


def numpy_cosine_topk(Xa, inv_norms, q, k, chunk=131072):
    n = Xa.shape[0]
    scores = np.empty(n, np.float32)
    for lo in range(0, n, chunk):
        np.matmul(Xa[lo:lo + chunk], q, out=scores[lo:lo + chunk])
    scores *= inv_norms
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]


def faiss_flat(Xa, norms):
    import faiss

    idx = faiss.IndexFlatIP(DIM)
    for lo in range(0, len(Xa), 131072):
        x = np.array(Xa[lo:lo + 131072])
        x /= np.where(norms[lo:lo + 131072] > 0, norms[lo:lo + 131072], 1)[:, None]
        idx.add(x)
    return idx


class Progress:
    def __init__(self, label):
        self.label, self.t0, self.next = label, time.perf_counter(), 0.1

    def __call__(self, f):
        if f >= self.next:
            el = time.perf_counter() - self.t0
            log(f"  {self.label}: {f:4.0%} after {el:6.1f} s"
                + (f" (eta {el / f * (1 - f):.0f} s)" if f > 0.05 else ""))
            while self.next <= f:
                self.next += 0.1


class ScanCounter:
    """Wraps explorer.compute.index._scan to count the passes one search makes."""

    def __init__(self):
        import explorer.compute.index as ix

        self.calls = []
        orig = ix._scan

        def counting(x, q, scale, offset, mask, k):
            self.calls.append(("int8" if x.dtype == np.int8 else "f32", int(k)))
            return orig(x, q, scale, offset, mask, k)

        ix._scan = counting

    def summary(self):
        int8 = [k for kind, k in self.calls if kind == "int8"]
        return (len(int8), max(int8) if int8 else 0,
                sum(1 for kind, _ in self.calls if kind == "f32"))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------- one size


def run_size(n, args, tmpdir, rows_out):
    nthreads = get_num_threads()
    nblocks = nthreads * 4
    gen = Embeddings(seed=args.seed, centres=args.centres)
    path = os.path.join(tmpdir, f"emb_{n}_{args.seed}_{args.centres}.npy")
    t_gen = 0.0
    if not os.path.exists(path):
        log(f"n={n:,}: writing {path}")
        _, t_gen = timed(lambda: make_matrix(path, n, gen, args.seed))
    X = np.load(path, mmap_mode="r")
    Xa = np.asarray(X)
    nbytes = Xa.nbytes
    for lo in range(0, n, 131072):  # warm the page cache
        np.add.reduce(Xa[lo:lo + 131072], axis=None)
    Q = gen.sample(args.queries, np.random.default_rng([args.seed, 99]))  # held-out

    log(f"n={n:,}: building")
    norms, t_norms = timed(lambda: row_norms(X))
    inv_norms = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1), 0).astype(np.float32)
    exact = ExactIndex(X, "cosine", norms=norms)
    compact, t_compact = timed(lambda: CompactIndex.build(X, "cosine", norms=norms))
    log(f"  compact built in {t_compact:.1f} s")
    fidx, t_faiss = (None, 0.0) if args.no_faiss else timed(lambda: faiss_flat(Xa, norms))

    # HNSW (optionally on a subsample: then its recall is against exact over that subsample)
    hn = n if not args.hnsw_build_max else min(n, args.hnsw_build_max)
    Xh = X if hn == n else X[:hn]  # rows are i.i.d., so the first hn rows are a random sample
    st = TaskState(on_progress=Progress(f"HNSW build n={hn:,}"))
    hnsw, t_hnsw = timed(lambda: ApproxIndex.build(Xh, "cosine", kind="hnsw",
                                                   norms=norms[:hn], state=st))
    log(f"  HNSW built in {t_hnsw:.1f} s")
    exact_h = exact if hn == n else ExactIndex(Xh, "cosine", norms=norms[:hn])
    ivf, t_ivf = None, 0.0
    skipped = []
    if args.no_ivf or n > args.ivf_max_n:
        skipped.append(f"IVF not built at n={n:,} (--no-ivf / --ivf-max-n {args.ivf_max_n:,})")
    else:
        st = TaskState(on_progress=Progress(f"IVF build n={n:,}"))
        ivf, t_ivf = timed(lambda: ApproxIndex.build(X, "cosine", kind="ivf", norms=norms,
                                                     state=st))
        log(f"  IVF built in {t_ivf:.1f} s (nlist={ivf.faiss_index.nlist})")

    # ground truth: ExactIndex top-(k+1) (the (k+1)-th gives the 10th/11th gap)
    truth, truth_sc = [], []
    for q in Q:
        r = exact.search(q, K + 1)
        truth.append(r.rows[:K])
        truth_sc.append(r.scores)
    truth_sc = np.array(truth_sc)
    truth_sets = [set(t.tolist()) for t in truth]
    truth_h = truth_sets if hn == n else [set(exact_h.search(q, K).rows.tolist()) for q in Q]
    stats = data_stats(Xa, norms, truth_sc, np.random.default_rng(5))
    if hn < n:
        skipped.append(f"HNSW built on a subsample: the first {hn:,} of {n:,} rows (i.i.d.); "
                       f"its latency and recall are for that subsample, against exact search "
                       f"over the same rows")
    stats.update(n=n, what="data", gen_s=round(t_gen, 1), bytes=nbytes, threads=nthreads,
                 notes=skipped, loadavg_before_rounds=[round(v, 2) for v in os.getloadavg()],
                 queries=len(Q), query_kind="held-out rows from the same distribution")
    emit(stats)

    # methods: name -> (fn(q) -> rows best first, ground-truth sets per query)
    methods = {}
    methods["numpy brute force"] = (lambda q: numpy_cosine_topk(
        Xa, inv_norms, (q / np.linalg.norm(q)).astype(np.float32), K), truth_sets)
    if fidx is not None:
        methods["faiss IndexFlatIP"] = (lambda q: fidx.search(
            (q / np.linalg.norm(q)).astype(np.float32)[None, :], K)[1][0], truth_sets)
    methods["ours exact"] = (lambda q: exact.search(q, K).rows, truth_sets)
    methods["ours compact+rerank"] = (lambda q: compact.search(q, K).rows, truth_sets)

    def approx_fn(index, attr, value):
        def fn(q):
            setattr(index, attr, value)
            return index.search(q, K).rows
        return fn

    def direct_fn(index, value):
        """The app's faiss index and re-rank, searched by faiss without any IDSelector."""
        import faiss

        def fn(q):
            qn = (q / np.linalg.norm(q)).astype(np.float32)
            want = max(2 * K, K + 20)  # as ApproxIndex.search
            params = (faiss.SearchParametersHNSW(efSearch=max(value, want))
                      if index.kind == "hnsw" else faiss.SearchParametersIVF(nprobe=value))
            _, ids = index.faiss_index.search(qn[None, :], want, params=params)
            cand = np.sort(ids[0][ids[0] >= 0])
            ex = (np.asarray(index.vectors[cand]) @ qn) * index._scale[cand]
            return cand[np.lexsort((cand, -ex))[:K]]
        return fn

    sub = "" if hn == n else f" [built on {hn:,} rows]"
    for ef in args.ef:
        methods[f"HNSW ef={ef}{sub}"] = (approx_fn(hnsw, "ef_search", ef), truth_h)
    app_ef = hnsw.ef_search  # the app's default, whatever it is today
    methods[f"HNSW ef={app_ef} direct{sub}"] = (direct_fn(hnsw, app_ef), truth_h)
    if ivf is not None:
        for npb in args.nprobe:
            methods[f"IVF nprobe={npb}"] = (approx_fn(ivf, "nprobe", npb), truth_sets)
        app_nprobe = ivf.nprobe
        methods[f"IVF nprobe={app_nprobe} direct"] = (direct_fn(ivf, app_nprobe), truth_sets)

    log(f"n={n:,}: warming up, then {args.rounds} interleaved rounds")
    for _ in range(2):
        nb_sum_fast(Xa, nblocks)
        nb_sum_i8(compact.codes, nblocks)
        for fn, _t in methods.values():
            fn(Q[0])
    bound_iso = []
    for _ in range(7):  # the bound alone, before the interleaved rounds (reported only)
        _, dt = timed(lambda: nb_sum_fast(Xa, nblocks))
        bound_iso.append(dt)

    names = list(methods)
    times = {m: [] for m in ["scan bound", "int8 scan bound"] + names}
    hits = collections.Counter()
    verified = collections.Counter()
    passes = collections.Counter()
    counter = ScanCounter()
    per_query = {m: collections.Counter() for m in names}
    round_bound = []  # mean of the bound at the start and at the end of each round
    for r in range(args.rounds):
        t = r % len(Q)
        q = Q[t]
        time.sleep(args.pause)
        _, dt = timed(lambda: nb_sum_fast(Xa, nblocks))
        times["scan bound"].append(dt)
        shift = r % len(names)
        for m in names[shift:] + names[:shift]:
            fn, tr = methods[m]
            time.sleep(args.pause)
            counter.calls.clear()
            rows, dt = timed(lambda: fn(q))
            times[m].append(dt)
            if r < len(Q):
                h = len(tr[t] & set(np.asarray(rows).tolist()))
                hits[m] += h
                per_query[m][h] += 1
                if m == "ours compact+rerank":
                    verified[compact.last_verified] += 1
                    n8, c, nf = counter.summary()
                    passes[f"int8 passes {n8}, C={c}" + (f", f32 passes {nf}" if nf else "")] += 1
        time.sleep(args.pause)
        _, dt = timed(lambda: nb_sum_i8(compact.codes, nblocks))
        times["int8 scan bound"].append(dt)
        time.sleep(args.pause)
        _, dt = timed(lambda: nb_sum_fast(Xa, nblocks))  # the bound again, closing the round
        times["scan bound"].append(dt)
        round_bound.append(0.5 * (times["scan bound"][-2] + dt))
        if (r + 1) % max(1, args.rounds // 5) == 0:
            log(f"  round {r + 1}/{args.rounds}")
    nq = min(args.rounds, len(Q))

    stats["loadavg_after_rounds"] = [round(v, 2) for v in os.getloadavg()]
    log(f"n={n:,}: measure_recall (the app's: {args.queries} real rows, self excluded)")
    app_recall = {}
    hnsw.ef_search = app_ef
    app_recall["ours compact+rerank"] = measure_recall(compact, exact, queries=args.queries)[0]
    app_recall[f"HNSW ef={app_ef}{sub}"] = measure_recall(hnsw, exact_h, queries=args.queries)[0]
    if ivf is not None:
        ivf.nprobe = app_nprobe
        app_recall[f"IVF nprobe={app_nprobe}"] = measure_recall(ivf, exact, queries=args.queries)[0]

    bound = statistics.median(times["scan bound"])
    build = {"ours exact": t_norms, "ours compact+rerank": t_compact,
             "faiss IndexFlatIP": t_faiss}
    for m in names:
        if m.startswith("HNSW"):
            build[m] = t_hnsw
        elif m.startswith("IVF"):
            build[m] = t_ivf
    out = []
    for m, ts in times.items():
        med = statistics.median(ts)
        rec = {"n": n, "method": m, "median_ms": round(med * 1e3, 3),
               "p10_ms": round(float(np.percentile(ts, 10)) * 1e3, 3),
               "p90_ms": round(float(np.percentile(ts, 90)) * 1e3, 3),
               "x_bound": round(med / bound, 3),
               "x_bound_paired": round(statistics.median(
                   np.asarray(ts[:len(round_bound)] if m != "scan bound" else round_bound)
                   / np.asarray(round_bound)), 3),
               "f32_gbps_equiv": round(nbytes / med / 1e9, 2), "runs": len(ts)}
        if m == "scan bound":
            rec["isolated_median_ms"] = round(statistics.median(bound_iso) * 1e3, 3)
            rec["gbps"] = rec["f32_gbps_equiv"]
        if m == "int8 scan bound":
            rec["gbps"] = round(compact.codes.nbytes / med / 1e9, 2)
        if m in methods:
            rec["recall_at_10"] = round(hits[m] / (K * nq), 5)
            rec["queries"] = nq
            rec["hits_hist"] = {str(h): c for h, c in sorted(per_query[m].items())}
        if m in build:
            rec["build_s"] = round(build[m], 2)
        if m in app_recall:
            rec["app_measure_recall"] = round(app_recall[m], 4)
        if m == "ours compact+rerank":
            rec["last_verified"] = dict(verified)
            rec["scan_passes"] = dict(passes)
            rec["codes_bytes"] = int(compact.codes.nbytes)
        if m.startswith("HNSW"):
            rec["hnsw_rows"] = hn
            rec["hnsw_M"] = ApproxIndex.HNSW_M
            rec["efConstruction"] = int(hnsw.faiss_index.hnsw.efConstruction)
        if m.startswith("IVF"):
            rec["nlist"] = int(ivf.faiss_index.nlist)
        emit(rec)
        out.append(rec)
    rows_out.append((n, stats, out))
    del methods, exact, compact, fidx, hnsw, ivf, exact_h, Xa, X
    gc.collect()


def table(rows_out):
    print()
    for n, stats, recs in rows_out:
        print(f"n = {n:,} x {DIM} float32 ({stats['bytes'] / 1e9:.2f} GB), cosine, k={K}; "
              f"{stats['queries']} held-out queries; data: random-pair cos "
              f"{stats['random_pair_cosine_median']}, participation ratio "
              f"{stats['participation_ratio']}, query top-1/top-10 cos "
              f"{stats['query_top1_cos_median']}/{stats['query_top10_cos_median']}")
        print(f"machine load average (1/5/15 min) before the timed rounds "
              f"{stats['loadavg_before_rounds']}, after {stats['loadavg_after_rounds']} "
              f"on {os.cpu_count()} cpus")
        print(f"{'method':<38} {'build s':>8} {'p10 ms':>8} {'median ms':>10} {'p90 ms':>8} "
              f"{'x bound':>8} {'paired':>7} {'recall@10':>10}  notes")
        for r in recs:
            notes = []
            if "gbps" in r:
                notes.append(f"{r['gbps']} GB/s")
            if "isolated_median_ms" in r:
                notes.append(f"alone before the rounds {r['isolated_median_ms']:.1f} ms")
            if "last_verified" in r:
                notes.append("verified " + ", ".join(f"{k}:{v}"
                                                     for k, v in r["last_verified"].items()))
                notes.append("; ".join(f"{k}: {v}x" for k, v in sorted(r["scan_passes"].items())))
            if "app_measure_recall" in r:
                notes.append(f"measure_recall (rows, self excl.) {r['app_measure_recall']:.4f}")
            if r["method"].startswith("HNSW"):
                notes.append(f"M={r['hnsw_M']} efC={r['efConstruction']}")
            if r["method"].startswith("IVF"):
                notes.append(f"nlist={r['nlist']}")
            rec = f"{r['recall_at_10']:.4f}" if "recall_at_10" in r else ""
            b = f"{r['build_s']:.1f}" if "build_s" in r else ""
            print(f"{r['method']:<38} {b:>8} {r['p10_ms']:>8.2f} {r['median_ms']:>10.2f} "
                  f"{r['p90_ms']:>8.2f} {r['x_bound']:>8.3f} {r['x_bound_paired']:>7.3f} "
                  f"{rec:>10}  {'; '.join(notes)}")
        for note in stats["notes"]:
            print(f"NOTE: {note}")
        print()
    print("x bound = median latency / median scan bound of the same interleaved rounds (the "
          "bound runs at the start and the end of every round); paired = median over rounds of "
          "latency / that round's bound (mean of its two runs). "
          "build s: ours exact = row norms; compact = norms excluded (int8 codes); "
          "faiss flat = normalised copy + add.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=0, help="timed rounds (default: --queries)")
    ap.add_argument("--centres", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ef", default="64,128,256,512", help="HNSW ef_search values (the app uses ApproxIndex.ef_search)")
    ap.add_argument("--nprobe", default="8,32,128", help="IVF nprobe values (the app scales nprobe with the list count)")
    ap.add_argument("--hnsw-build-max", type=int, default=0,
                    help="build HNSW on at most this many rows (0 = all); reported as such")
    ap.add_argument("--pause", type=float, default=0.02,
                    help="seconds of idle before each timed call (lets the other OpenMP pool"
                         " -- numba's or faiss' -- stop spinning)")
    ap.add_argument("--no-ivf", action="store_true")
    ap.add_argument("--ivf-max-n", type=int, default=200_000,
                    help="skip IVF above this n (its k-means build at 1M takes ~5 min on 2"
                         " cores, on top of HNSW's ~6 min)")
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--dir", default=None, help="where the .npy files go (default: temp dir)")
    args = ap.parse_args()
    args.ef = [int(v) for v in args.ef.split(",")]
    args.nprobe = [int(v) for v in args.nprobe.split(",")]
    args.rounds = args.rounds or args.queries
    import faiss
    import numba

    import hashlib

    import explorer.compute.index as ix

    src = open(ix.__file__, "rb").read()
    emit({"what": "code", "index_py_sha1": hashlib.sha1(src).hexdigest()[:12],
          "index_py_mtime": time.strftime("%Y-%m-%d %H:%M:%S",
                                          time.localtime(os.path.getmtime(ix.__file__)))})
    emit({"what": "machine", "cpus": os.cpu_count(), "numba_threads": get_num_threads(),
          "faiss_omp_threads": faiss.omp_get_max_threads(), "numba": numba.__version__,
          "faiss": faiss.__version__, "numpy": np.__version__,
          "cpu": platform.processor() or platform.machine()})
    t0 = time.perf_counter()
    rows_out = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            run_size(n, args, tmp, rows_out)
            table(rows_out[-1:])
    print("=" * 30, "summary", "=" * 30)
    table(rows_out)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
