"""Benchmark: the kNN graph of every row, pivot join against faiss HNSW over every row.

Not collected by pytest (no test_ functions). Run:

    .venv/bin/python tests/benchmarks/bench_knn_graph.py [--sizes 100000,300000] [--repeats 3]
        [--workdir DIR] [--skip-baseline]

Data: bench_projection's mixture (`write_mixture_npy`), n x 384 float32, opened as a memory
map with the file in the page cache (`_prime`), metric cosine, k = 15.

Per size, `repeats` rounds, each running in turn:
- baseline `hnsw`: what UMAP's kNN does today for the rows it fits: the rows read and
  normalised (`gather`), `KnnIndex` (faiss IndexHNSWFlat, M 16, efConstruction 40) over
  every row, searched at ef 48, `self_first`. Seconds = read + build + search.
- `all_knn`: the standalone graph from scratch: pivots (UMAP's fit sample size above
  UMAP_SAMPLE_ABOVE rows, else n / 10), every row's nearest pivots through the tree of
  pivot samples (`nearest_pivots`), the join and one neighbours-of-neighbours round. Each
  step's seconds.
- `join`: the join alone from that run's pivots (what UMAP pays after its fit and
  placement), with no round (`rounds=0`) and with one (`rounds=1`).
recall@15 of each graph on 300 sampled rows against exact (`sampled_recall`, brute force),
medians over the rounds; the summary gives the join's seconds over the baseline's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_projection import _prime, write_mixture_npy

from explorer.compute.index import row_norms
from explorer.compute.numba.graph_kernels import warm
from explorer.compute.projection.knn import KnnIndex, self_first
from explorer.compute.projection.knn_graph import (
    KnnGraph,
    all_knn,
    pivot_count,
    sampled_recall,
)
from explorer.compute.projection.rows import gather
from explorer.compute.projection.umap import UMAP_AUTO_SAMPLE, UMAP_SAMPLE_ABOVE
from explorer.core.jobs import TaskState

K = 15
RECALL_ROWS = 300


def emit(**record) -> dict:
    print(json.dumps(record), flush=True)
    return record


def pivots_for(n: int) -> int:
    """As UMAP would have them: its fit sample above its threshold, else a standalone share."""
    return UMAP_AUTO_SAMPLE if n > UMAP_SAMPLE_ABOVE else pivot_count(n)


def hnsw_graph(vectors: np.ndarray) -> tuple[KnnGraph, dict]:
    t0 = time.perf_counter()
    x = gather(vectors, None, True, TaskState())
    t1 = time.perf_counter()
    index = KnnIndex(x, "cosine", TaskState())
    t2 = time.perf_counter()
    ind, dist = index.search(x, K, TaskState())
    self_first(ind, dist)
    t3 = time.perf_counter()
    del index, x
    graph = KnnGraph(ind.astype(np.int32), dist, "cosine", "hnsw", K)
    return graph, {"read": round(t1 - t0, 2), "build": round(t2 - t1, 2),
                   "search": round(t3 - t2, 2), "total": round(t3 - t0, 2)}


def bench_size(path: Path, repeats: int, baseline: bool) -> dict:
    vectors = np.load(path, mmap_mode="r")
    n = len(vectors)
    m = pivots_for(n)
    norms = row_norms(vectors)
    runs: dict[str, list] = {"hnsw_s": [], "hnsw_recall": [], "all_knn_s": [],
                             "join0_s": [], "join0_recall": [], "join1_s": [], "join1_recall": []}
    for r in range(repeats):
        _prime(path)
        if baseline:
            graph, split = hnsw_graph(vectors)
            rec = sampled_recall(vectors, graph, RECALL_ROWS, seed=r)
            runs["hnsw_s"].append(split["total"])
            runs["hnsw_recall"].append(rec)
            emit(bench="knn_graph_hnsw_all_rows", rows=n, round=r, seconds=split,
                 recall_at_15=round(rec, 4))
            del graph
        t = time.perf_counter()
        graph, context = all_knn(vectors, "cosine", K, TaskState(), norms=norms, pivots=m,
                                 rounds=1, seed=r)
        total = time.perf_counter() - t
        rec = sampled_recall(vectors, graph, RECALL_ROWS, seed=r)
        runs["all_knn_s"].append(total)
        runs["join1_s"].append(graph.timings["lists"] + graph.timings["join"]
                               + graph.timings["rounds"])
        runs["join1_recall"].append(rec)
        emit(bench="knn_graph_pivot_all_knn", rows=n, pivots=m, round=r, rounds=1,
             seconds=round(total, 2), timings=graph.timings, recall_at_15=round(rec, 4))
        del graph
        t = time.perf_counter()
        graph, _ = all_knn(vectors, "cosine", K, TaskState(), norms=norms, context=context,
                           rounds=0)
        seconds = time.perf_counter() - t
        rec = sampled_recall(vectors, graph, RECALL_ROWS, seed=r)
        runs["join0_s"].append(seconds)
        runs["join0_recall"].append(rec)
        emit(bench="knn_graph_pivot_join_only", rows=n, pivots=m, round=r, rounds=0,
             seconds=round(seconds, 2), timings=graph.timings, recall_at_15=round(rec, 4))
        del graph, context
    med = {key: round(statistics.median(v), 4 if "recall" in key else 2)
           for key, v in runs.items() if v}
    summary = emit(bench="knn_graph_summary", rows=n, pivots=m, repeats=repeats, medians=med)
    if baseline:
        summary["join1_over_hnsw"] = round(med["join1_s"] / med["hnsw_s"], 3)
        summary["all_knn_over_hnsw"] = round(med["all_knn_s"] / med["hnsw_s"], 3)
        emit(bench="knn_graph_ratio", rows=n, join1_over_hnsw=summary["join1_over_hnsw"],
             all_knn_over_hnsw=summary["all_knn_over_hnsw"])
    return summary


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,300000",
                    help="comma-separated row counts (1000000 takes ~15 min with the baseline)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=None, help="where the mixture .npy files are kept")
    ap.add_argument("--skip-baseline", action="store_true", help="no HNSW over every row")
    args = ap.parse_args()
    t0 = time.perf_counter()
    t = time.perf_counter()
    warm()
    emit(bench="knn_graph_warm", seconds=round(time.perf_counter() - t, 2))
    summaries = []
    with tempfile.TemporaryDirectory(prefix="bench-knn-graph-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for n in (int(s) for s in args.sizes.split(",")):
            path = workdir / f"mixture-{n}x384.npy"
            if not path.exists():
                write_mixture_npy(path, n)
            summaries.append(bench_size(path, args.repeats, not args.skip_baseline))
    print("\nSUMMARY (total %.0f s)" % (time.perf_counter() - t0))
    for s in summaries:
        print("  " + json.dumps(s))


if __name__ == "__main__":
    main()
