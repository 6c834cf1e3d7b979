"""Benchmark: hubness (k-occurrence, k = 10, cosine) at 1M rows, today's path against the new.

Not collected by pytest (no test_ functions). Run (each heavy run under the shared lock):

    flock /tmp/bench18.lock .venv/bin/python tests/benchmarks/bench_hubness.py
        [--n 1000000] [--mixture FILE.npy] [--baseline-runs 1] [--runs 3] [--no-debian]

- 1M x 384 mixture (bench_projection's generator; `--mixture` reuses a file it wrote),
  imported into a temporary library:
  (i) today: the set's HNSW index built (timed alone) and searched for every row at
      efSearch 64, `baseline-runs` times (default 1: about 6 minutes; its per-row loop is
      the vectorised one now, so today's figure is a little flattered);
  (ii) new, standalone: no graph stored, the pivot join (`knn_graph.all_knn`), x `runs`;
  (iii) new, after a map: the graph stored (saved by (ii) as a map would save its own;
      UMAP's sink is not wired in this run), counted, x `runs`.
  Each run starts without the cached counts. Agreement of (ii) with (i) at 1M.
- Quality against exact on the first 100k rows as a set of its own: exact counts against
  the pivot graph and HNSW: skewness, Pearson and Spearman correlation of the counts,
  top-20 hub overlap and the graph's sampled recall.
- The 63k Debian MiniLM set: exact (today) against the count of a stored pivot graph
  (standing in for the map's graph), seconds and count correlation.

Prints one JSON object per measurement, with /proc/loadavg, then a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEBIAN = Path("/tmp/own/elsewhere/debian-minilm.npy")
K = 10
RESULTS: list[dict] = []


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def emit(**record) -> dict:
    record["load"] = load()
    RESULTS.append(record)
    print(json.dumps(record, default=float), flush=True)
    return record


def import_npy(library, path: Path, name: str):
    entry = library.import_file(path, name=name)
    return library.open(entry.id)


def forget(es, graph: bool) -> None:
    """Drop the cached counts (and the stored graph): the next count starts from nothing."""
    from explorer.compute import hubness, knn_store
    from explorer.core.artifacts import ArtifactStore

    store = ArtifactStore(es.path)
    store.clear(hubness.KIND)
    if graph:
        store.clear(knn_store.KIND)


def count(es, **kw):
    from explorer.compute import hubness

    t = time.perf_counter()
    result = hubness.k_occurrence(es, k=K, **kw)
    return result, time.perf_counter() - t


def agreement(name: str, truth: np.ndarray, counts: np.ndarray, **extra) -> dict:
    from scipy.stats import spearmanr

    from explorer.compute.hubness import summarise

    a, b = summarise(truth, K, "cosine", True, 0), summarise(counts, K, "cosine", False, 0)
    return emit(step="agreement", case=name, skew_truth=round(a.skewness, 3),
                skew=round(b.skewness, 3),
                pearson=round(float(np.corrcoef(truth, counts)[0, 1]), 4),
                spearman=round(float(spearmanr(truth, counts)[0]), 4),
                top20_overlap=len(set(a.hubs[:20].tolist()) & set(b.hubs[:20].tolist())) / 20,
                antihubs_truth=a.antihub_count, antihubs=b.antihub_count, **extra)


def hnsw_counts(es, state=None) -> tuple[np.ndarray, float, float]:
    """Today's large-set path: (counts, build seconds, search seconds)."""
    from explorer.compute import hubness
    from explorer.compute.neighbours import open_index, set_norms
    from explorer.core.jobs import TaskState

    state = state or TaskState()
    norms = set_norms(es)
    t = time.perf_counter()
    open_index(es, "cosine", "hnsw")
    build = time.perf_counter() - t
    t = time.perf_counter()
    ids, _ = hubness.knn_graph(es, K, "cosine", norms, state, exact=False)
    search = time.perf_counter() - t
    return np.bincount(ids[ids >= 0], minlength=es.count), build, search


def warm() -> None:
    """Compile the join's kernels first (a new home has an empty numba cache): not timed."""
    from explorer.compute.projection.knn_graph import all_knn
    from explorer.core.jobs import TaskState

    t = time.perf_counter()
    x = np.random.default_rng(0).normal(size=(3000, 16)).astype(np.float32)
    all_knn(x, "cosine", 16, TaskState(), exact_max=0)
    emit(step="kernels compiled (not timed)", seconds=round(time.perf_counter() - t, 1))


def million(library, args) -> dict:
    from explorer.compute.neighbours import set_norms

    path = args.mixture
    if path is None:
        from bench_projection import write_mixture_npy

        path = Path(library.root) / "bench-input" / f"mixture-{args.n}x384.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        write_mixture_npy(path, args.n)
        emit(step="mixture written", seconds=round(time.perf_counter() - t, 1))
    es = import_npy(library, path, "mixture")
    warm()
    set_norms(es)  # stored once, as the app does on first open; not part of either path
    out: dict = {"n": es.count, "set": es}
    hnsw = None
    for run in range(args.baseline_runs):
        if run:  # a fresh build each run: the in-memory and stored index are dropped
            from explorer.compute import neighbours as nb
            from explorer.core.artifacts import ArtifactStore

            nb.drop_cached(es)
            ArtifactStore(es.path).clear("index")
        hnsw, build, search = hnsw_counts(es)
        emit(step="today hnsw", run=run, build_s=round(build, 1), search_s=round(search, 1),
             total_s=round(build + search, 1))
        out.setdefault("today", []).append(build + search)
    for run in range(args.runs):
        forget(es, graph=True)
        result, seconds = count(es)
        emit(step="new standalone (pivot join)", run=run, seconds=round(seconds, 2),
             source=result.source, recall=result.recall, skew=round(result.skewness, 3))
        out.setdefault("standalone", []).append(seconds)
    for run in range(args.runs):
        forget(es, graph=False)
        reused, seconds = count(es)
        emit(step="new after map (graph stored)", run=run, seconds=round(seconds, 2),
             source=reused.source, recall=reused.recall)
        out.setdefault("reuse", []).append(seconds)
    if hnsw is not None:
        agreement("1M: HNSW (today) as truth vs pivot graph", hnsw, result.counts)
    return out


def first_100k(library, v: np.ndarray) -> None:
    """Exact against pivot and HNSW on the first 100k rows (a set of its own)."""
    from explorer.compute import hubness

    path = Path(library.root) / "bench-input" / "first-100k.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.ascontiguousarray(v[:100_000]))
    es = import_npy(library, path, "first-100k")
    exact, seconds = count(es, exact=True)
    emit(step="100k exact", seconds=round(seconds, 1), skew=round(exact.skewness, 3))
    forget(es, graph=True)
    saved = hubness.EXACT_MAX
    hubness.EXACT_MAX = 0  # the pivot join, as above EXACT_MAX
    try:
        pivot, seconds = count(es)
    finally:
        hubness.EXACT_MAX = saved
    emit(step="100k pivot", seconds=round(seconds, 1), recall=pivot.recall)
    agreement("100k: exact vs pivot graph", exact.counts, pivot.counts, recall=pivot.recall)
    counts, build, search = hnsw_counts(es)
    emit(step="100k hnsw", build_s=round(build, 1), search_s=round(search, 1))
    agreement("100k: exact vs HNSW", exact.counts, counts)


def debian(library) -> None:
    """63k real MiniLM rows: today's exact count against a stored graph's."""
    from explorer.compute import knn_store
    from explorer.compute.projection.knn_graph import all_knn
    from explorer.core.jobs import TaskState

    es = import_npy(library, DEBIAN, "debian-63k")
    exact, seconds = count(es)
    emit(step="63k exact (today)", seconds=round(seconds, 1), source=exact.source)
    t = time.perf_counter()
    graph, _ = all_knn(es.vectors, "cosine", 16, TaskState(), exact_max=0)
    emit(step="63k pivot graph built (stands in for the map's)",
         seconds=round(time.perf_counter() - t, 1))
    knn_store.save_graph(es, graph, made_by="map")
    times = []
    for _ in range(3):
        forget(es, graph=False)
        reused, seconds = count(es)
        times.append(seconds)
    emit(step="63k map graph counted", seconds_median=round(statistics.median(times), 2),
         source=reused.source, recall=reused.recall)
    agreement("63k: exact vs map graph", exact.counts, reused.counts, recall=reused.recall)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, help="library folder (default: a temporary one)")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--mixture", type=Path, help="a mixture .npy bench_projection wrote")
    ap.add_argument("--baseline-runs", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-debian", action="store_true")
    ap.add_argument("--no-100k", action="store_true")
    args = ap.parse_args()
    tmp = None
    if args.home is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-hubness-", dir="/tmp")
        args.home = Path(tmp.name)
    os.environ["EXPLORER_HOME"] = str(args.home)
    from explorer.core.library import Library

    library = Library()
    t0 = time.perf_counter()
    out = million(library, args)
    if not args.no_100k:
        first_100k(library, out["set"].vectors)
    if not args.no_debian and DEBIAN.exists():
        debian(library)
    med = {key: round(statistics.median(v), 2) for key, v in out.items() if isinstance(v, list)}
    print(f"\nhubness {out['n']:,} x 384, k={K}, cosine: median seconds {med} "
          f"(today = HNSW build + search; targets: standalone <= 60, reuse <= 1); "
          f"total {time.perf_counter() - t0:.0f} s; load {load()}")


if __name__ == "__main__":
    main()
