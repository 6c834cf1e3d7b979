"""Benchmark: comparing two 100k x 384 sets (k = 10, cosine, exact, all items) against the two
exact kNN graphs the comparison needs, measured in the same run (issue 19: "the comparison
adds little", a ratio close to 1).

Not collected by pytest (no test_ functions). Run under the shared lock (minutes):

    flock /tmp/bench18.lock .venv/bin/python tests/benchmarks/bench_compare.py
        [--n 100000] [--copy perturbed|pca] [--runs 3] [--threads T]

Sets: A is bench_projection's Gaussian mixture (40 low-rank clusters, 384-d), B a copy of it
with isotropic noise added (`perturbed`: neighbourhoods partly kept, same dimension, so the
Procrustes pass runs too) or its PCA-96 reduction (`pca`); both unit rows, in memory, metric
cosine. Each round times the baseline (each set's norms and its exact kNN graph by
`hubness.knn_graph(exact=True)`, the brute-force search hubness --exact runs) and
`compare_sets(a, b, k=10)`, each first in every other round. Prints one JSON line per run
with /proc/loadavg, then medians and the ratio compare / baseline (also the median of each
round's own ratio). On a shared machine faiss's OpenMP threads wait on each other when a core
is taken away, which swings both timings by 3x between rounds; `--threads 1` measures both
single-threaded, steadier.

Measured on a quiet machine (load 1.5-2.1, faiss's own threads, 3 rounds): the two graphs
57.4 / 57.3 / 56.8 s, compare_sets 61.4 / 60.6 / 61.7 s, ratio of medians 1.07.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_projection import mixture
from bench_records import emit

K = 10


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_sets(n: int, copy: str):
    from explorer.core.embedding_set import EmbeddingSet

    x = unit(mixture(n))
    if copy == "pca":
        centred = x - x.mean(axis=0)
        basis = np.linalg.svd(centred[:20_000].astype(np.float64), full_matrices=False)[2][:96]
        y = unit(centred @ basis.T.astype(np.float32))
    else:
        y = unit(x + np.random.default_rng(9).normal(scale=0.02, size=x.shape)
                 .astype(np.float32))
    meta = pa.table({"id": np.arange(n)})
    return (EmbeddingSet(x, meta, name="a", metric="cosine", id_column="id"),
            EmbeddingSet(y, meta, name="b", metric="cosine", id_column="id"))


def baseline(a, b) -> float:
    from explorer.compute.hubness import knn_graph
    from explorer.compute.neighbours import set_norms
    from explorer.core.jobs import TaskState

    t = time.perf_counter()
    for es in (a, b):
        knn_graph(es, K, "cosine", set_norms(es), TaskState(), exact=True)
    return time.perf_counter() - t


def comparison(a, b):
    from explorer.compute.compare import compare_sets

    t = time.perf_counter()
    result = compare_sets(a, b, k=K)
    return time.perf_counter() - t, result


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--copy", choices=("perturbed", "pca"), default="perturbed")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--threads", type=int, help="faiss's OpenMP threads (default: its own)")
    args = p.parse_args()
    if args.threads:
        import faiss

        faiss.omp_set_num_threads(args.threads)
    a, b = make_sets(args.n, args.copy)
    emit(what="sets", n=args.n, dim_a=a.dim, dim_b=b.dim, copy=args.copy, k=K,
         threads=args.threads)
    base, comp, ratios = [], [], []
    for run in range(args.runs):
        for step in ("baseline", "compare") if run % 2 == 0 else ("compare", "baseline"):
            if step == "baseline":  # first in even rounds, second in odd ones
                base.append(baseline(a, b))
                emit(what="baseline: two exact kNN graphs", run=run, seconds=round(base[-1], 2))
                continue
            seconds, result = comparison(a, b)
            comp.append(seconds)
            emit(what="compare_sets", run=run, seconds=round(seconds, 2),
                 mean_overlap=round(result.mean_overlap, 4),
                 median_overlap=result.median_overlap, cka=round(result.cka, 4),
                 rank_correlation=round(result.rank_correlation, 4),
                 procrustes_residual=None if result.procrustes_residual is None
                 else round(result.procrustes_residual, 4))
        ratios.append(comp[-1] / base[-1])
        emit(what="round", run=run, ratio=round(ratios[-1], 3))
    emit(what="summary", runs=args.runs, baseline_median=round(statistics.median(base), 2),
         compare_median=round(statistics.median(comp), 2),
         ratio_of_medians=round(statistics.median(comp) / statistics.median(base), 3),
         median_ratio=round(statistics.median(ratios), 3))


if __name__ == "__main__":
    main()
