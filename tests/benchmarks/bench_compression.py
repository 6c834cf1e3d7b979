"""Benchmark: the compression workbench's default sweep (issue 7) on 100k x 384.

Not a pytest test. Run directly:

    .venv/bin/python tests/benchmarks/bench_compression.py [--n 100000] [--queries 1000]

Generates n x 384 realistic embeddings (bench_neighbours' `Embeddings`: clustered,
anisotropic, a common mean direction, varying norms; seeded), wraps them in an in-memory
EmbeddingSet (no library, so nothing is cached) and times, with cosine similarity, k=10:

  baseline   exact float32 search of the same query rows (faiss IndexFlatIP over unit rows,
             as the ground truth is computed), ms per query, measured in the same run
  sweep      `evaluate(es)` with the default methods and --queries sampled rows: per method
             training seconds (on a sample of at most TRAIN_ROWS rows, bounded iterations),
             encoding seconds, search ms per query, recall@10, overlap@10, bytes per vector;
             and the total wall time of the whole sweep (the issue's goal: <= 60 s)

One run on a shared machine: the figures are single measurements, not medians; the ratio
search / baseline is what carries over. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import pyarrow as pa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from bench_neighbours import Embeddings  # noqa: E402

from explorer.compute.compression import (OPQ_NITER, PQ_NITER, TRAIN_ROWS,  # noqa: E402
                                          default_methods, evaluate, metric_rows)
from explorer.compute.index import row_norms  # noqa: E402
from explorer.core.embedding_set import EmbeddingSet  # noqa: E402
from explorer.core.jobs import TaskState  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("-k", type=int, default=10)
    args = ap.parse_args()
    import faiss

    log(f"generating {args.n:,} x {args.dim} ...")
    gen = Embeddings(seed=0, d=args.dim)
    x = np.concatenate([gen.sample(min(50_000, args.n - lo), np.random.default_rng([1, lo]))
                        for lo in range(0, args.n, 50_000)])
    es = EmbeddingSet(x, pa.table({"id": np.arange(args.n)}), name="bench", metric="cosine")

    # baseline: exact float32 search of the same rows the sweep samples (seed 0)
    xb = metric_rows(x, "cosine", row_norms(x))
    rows = np.sort(np.random.default_rng(0).choice(args.n, size=args.queries, replace=False))
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(xb)
    start = time.perf_counter()
    flat.search(xb[rows], max(args.k, 100) + 1)
    base_ms = 1000 * (time.perf_counter() - start) / args.queries
    del xb, flat
    log(f"baseline exact float32 search: {base_ms:.3f} ms/query")

    def show(result):
        log(f"  {result.name:<18} train {result.train_seconds:6.2f} s  encode "
            f"{result.encode_seconds:5.2f} s  search {result.search_ms_per_query:7.3f} ms/q  "
            f"recall@10 {result.recall_at_k:.3f}  overlap {result.overlap:.3f}  "
            f"{result.bytes_per_vector} B/vector")

    state = TaskState(on_partial=show)
    names = [m.name for m in default_methods(args.dim)]
    log(f"sweep: {', '.join(names)}")
    start = time.perf_counter()
    ev = evaluate(es, k=args.k, queries=args.queries, state=state)
    wall = time.perf_counter() - start
    print(f"{'method':<18} {'bytes':>6} {'train s':>8} {'encode s':>9} {'search ms/q':>12} "
          f"{'x exact':>8} {'R@1':>6} {'R@10':>6} {'R@100':>6} {'overlap':>8} {'rank rho':>8}")
    for m in ev.methods:
        print(f"{m.name:<18} {m.bytes_per_vector:>6} {m.train_seconds:>8.2f} "
              f"{m.encode_seconds:>9.2f} {m.search_ms_per_query:>12.3f} "
              f"{m.search_ms_per_query / base_ms:>8.2f} {m.recall_at[1]:>6.3f} "
              f"{m.recall_at[10]:>6.3f} {m.recall_at.get(100, float('nan')):>6.3f} "
              f"{m.overlap:>8.3f} {m.rank_correlation:>8.3f}")
    print(f"exact float32 search (baseline): {base_ms:.3f} ms/query; ground truth in the sweep: "
          f"{ev.exact_ms_per_query:.3f} ms/query")
    print(f"total wall time of the default sweep: {wall:.1f} s "
          f"(train sample {TRAIN_ROWS} rows, PQ {PQ_NITER} iterations, OPQ {OPQ_NITER})")
    print(json.dumps({"bench": "compression", "n": args.n, "dim": args.dim,
                      "queries": args.queries, "k": args.k, "cpus": os.cpu_count(),
                      "wall_seconds": round(wall, 2), "exact_ms_per_query": round(base_ms, 3),
                      "methods": [{"name": m.name, "bytes_per_vector": m.bytes_per_vector,
                                   "train_seconds": round(m.train_seconds, 3),
                                   "encode_seconds": round(m.encode_seconds, 3),
                                   "search_ms_per_query": round(m.search_ms_per_query, 4),
                                   "recall_at_10": round(m.recall_at_k, 4),
                                   "overlap": round(m.overlap, 4)} for m in ev.methods]}))


if __name__ == "__main__":
    main()
