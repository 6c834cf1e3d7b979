"""Benchmark: hubness (k-occurrence, k = 10, cosine) at 1M rows, today's path against the new.

Not collected by pytest (no test_ functions). Run:

    .venv/bin/python tests/benchmarks/bench_hubness.py --lock /tmp/bench18.lock
        [--n 1000000] [--mixture FILE.npy] [--runs 3] [--hnsw-runs 0] [--quality-n 200000]
        [--reference] [--home DIR] [--no-debian]

`--lock`: each round (and each quality step) holds this file's lock (flock, as `flock(1)`
takes it) and prints the load average before and after, so helpers sharing the machine
measure one at a time in holds of a few minutes.

- 1M x 384 mixture (bench_projection's generator; `--mixture` reuses a file it wrote),
  imported into a library (`--home`, default a temporary one), `runs` rounds, each:
  (i) baseline, the standalone path as it was (`today_all_knn`: an HNSW over the pivots,
      their kNN searched in it, every other row placed in it as UMAP places rows, then
      the join with knn_graph's ASSIGN and PROBE), counted as `hubness.k_occurrence` counts;
  (ii) new, standalone: `knn_graph.all_knn` as hubness calls it (every row's nearest
      pivots through the tree of pivot samples over the int8 codes; GRAPH_ASSIGN and
      GRAPH_PROBE lists), counted the same way;
  both from nothing stored (no counts, no graph), with the split of each: the graph's
  steps (`KnnGraph.timings`), the recall check and the rest (reading norms, counting).
  Then (iii) the graph stored (as a map would store its own), counted, `runs` times; and
  (optionally, `hnsw-runs`) the set's HNSW index built and searched for every row (the
  path before the pivot join; ~6 minutes).
  Agreement of (ii) with (i) at 1M: skewness, count correlations, top-20 hubs in common.
- With `--reference`, at 1M: the count of a graph joined with far more lists and rounds
  (REFERENCE, recall ~0.98) stands in for the exact one (hours): the baseline's and the
  new count against it.
- Quality against exact on the first `quality-n` rows as a set of its own: the exact count
  (brute force), the baseline's and the new standalone graph (EXACT_MAX forced below the
  set: the pivot join):
  skewness, Pearson and Spearman correlation of the counts, top-20 hub overlap, antihubs
  and the graph's sampled recall.
- The 63k Debian MiniLM set: exact (today) against the count of a stored pivot graph
  (standing in for the map's graph), seconds and count correlation.

Prints one JSON object per measurement, with /proc/loadavg, then a summary of medians.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
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
REFERENCE = {"assign": 4, "probe": 12, "rounds": 3}  # all_knn's arguments for the reference
RESULTS: list[dict] = []


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def emit(**record) -> dict:
    record["load"] = load()
    RESULTS.append(record)
    print(json.dumps(record, default=float), flush=True)
    return record


@contextlib.contextmanager
def held(lock: Path | None, what: str):
    """Hold the shared benchmark lock (if given) for one step, load printed before and after."""
    fh = open(lock, "a") if lock else None  # noqa: SIM115 - closed below
    try:
        if fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
        emit(step=f"lock held: {what}")
        yield
        emit(step=f"lock released: {what}")
    finally:
        if fh:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()


def today_all_knn(vectors, metric, k, state, *, norms=None, exact_max=0, seed=0, **_):
    """The standalone graph as it was made before the tree of pivots: an HNSW over the pivots,
    their kNN searched in it, every other row placed in it (PLACE_K, PLACE_EF), the join."""
    from explorer.compute.projection.knn import KnnIndex, self_first
    from explorer.compute.projection.knn_graph import PivotContext, all_knn, pivot_count
    from explorer.compute.projection.placement import PLACE_K, place
    from explorer.compute.projection.rows import read_fit_rows, sample_rows

    n = vectors.shape[0]
    if n <= exact_max:
        return all_knn(vectors, metric, k, state, norms=norms, exact_max=exact_max)
    cos = metric == "cosine"
    t = time.perf_counter()
    m = pivot_count(n)
    rows = sample_rows(n, m, seed)
    x = read_fit_rows(vectors, rows, cos, state.sub(0.0, 0.03), "kNN graph")
    index = KnnIndex(x, metric, state.sub(0.03, 0.08))
    pind, pdist = index.search(x, min(k, m), state.sub(0.08, 0.15))
    self_first(pind, pdist)
    del x
    pivots = time.perf_counter() - t
    t = time.perf_counter()
    placement = place(vectors, rows, index, PLACE_K, cos, state.sub(0.15, 0.4))
    assign = time.perf_counter() - t
    near = np.empty((n, PLACE_K), dtype=np.int32)  # each row's nearest pivots, a pivot itself
    near[rows] = pind[:, :PLACE_K] if pind.shape[1] >= PLACE_K else \
        np.pad(pind, ((0, 0), (0, PLACE_K - pind.shape[1])), mode="edge")
    near[placement.rest] = placement.ind
    graph, context = all_knn(vectors, metric, k, state.sub(0.4, 1.0),
                             context=PivotContext(rows, near), norms=norms)
    graph.timings = {"pivots": round(pivots, 3), "assign": round(assign, 3), **graph.timings}
    return graph, context


@contextlib.contextmanager
def spied(graph_fn=None):
    """hubness.k_occurrence with its graph step (`graph_fn`, default the real all_knn) and its
    recall check timed; yields the dict of seconds, filled once the count has run."""
    from explorer.compute import hubness

    saved = hubness.all_knn, hubness.sampled_recall
    real_graph, real_recall = graph_fn or hubness.all_knn, hubness.sampled_recall
    timings: dict = {}

    def graph(*args, **kw):
        t = time.perf_counter()
        out = real_graph(*args, **kw)
        timings.update(out[0].timings)
        timings["graph"] = round(time.perf_counter() - t, 3)
        return out

    def recall(*args, **kw):
        t = time.perf_counter()
        out = real_recall(*args, **kw)
        timings["recall_check"] = round(time.perf_counter() - t, 3)
        return out

    hubness.all_knn, hubness.sampled_recall = graph, recall
    try:
        yield timings
    finally:
        hubness.all_knn, hubness.sampled_recall = saved


def import_npy(library, path: Path, name: str):
    """The set `name` of the library (a `--home` kept from an earlier run), else imported."""
    for entry in library.entries():
        if entry.name == name:
            return library.open(entry.id)
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


def standalone(es, graph_fn=None) -> tuple:
    """One count from nothing stored: (result, seconds, the split of the seconds)."""
    forget(es, graph=True)
    with spied(graph_fn) as split:
        result, seconds = count(es)
    split["rest"] = round(seconds - split.get("graph", 0) - split.get("recall_check", 0), 3)
    return result, seconds, split


def reference_counts(es) -> np.ndarray:
    """k-occurrence from a graph joined with many more lists and rounds (REFERENCE): at 1M
    an exact count takes hours, this one a few minutes, and stands in for it."""
    from explorer.compute import hubness
    from explorer.compute.neighbours import set_norms
    from explorer.compute.projection.knn_graph import all_knn, sampled_recall
    from explorer.core.jobs import TaskState

    norms = set_norms(es)
    t = time.perf_counter()
    graph, _ = all_knn(es.vectors, "cosine", K + 1, TaskState(), norms=norms, exact_max=0,
                       **REFERENCE)
    seconds = time.perf_counter() - t
    recall = sampled_recall(es.vectors, graph, 1000, norms=norms, seed=1)
    emit(step="high-recall reference graph", seconds=round(seconds, 1), **REFERENCE,
         recall_1000_rows=round(recall, 4))
    ids = hubness.from_graph(es.vectors, graph, K, None, "reference", TaskState()).ids
    return np.bincount(ids[ids >= 0], minlength=es.count)


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
    for run in range(args.runs):
        with held(args.lock, f"{es.count:,} rows, round {run}: baseline then new"):
            old, seconds, split = standalone(es, today_all_knn)
            emit(step="baseline standalone (HNSW over the pivots)", run=run,
                 seconds=round(seconds, 2), split=split, recall=old.recall,
                 skew=round(old.skewness, 3))
            out.setdefault("baseline", []).append(seconds)
            new, seconds, split = standalone(es)
            emit(step="new standalone (tree of pivots)", run=run, seconds=round(seconds, 2),
                 split=split, recall=new.recall, skew=round(new.skewness, 3))
            out.setdefault("standalone", []).append(seconds)
        agreement(f"{es.count:,} rows, round {run}: baseline vs new", old.counts, new.counts,
                  recall_baseline=old.recall, recall=new.recall)
    if args.reference:
        with held(args.lock, f"{es.count:,} rows: a high-recall reference graph"):
            reference = reference_counts(es)
        agreement(f"{es.count:,}: high-recall reference vs baseline", reference, old.counts,
                  recall=old.recall)
        agreement(f"{es.count:,}: high-recall reference vs new", reference, new.counts,
                  recall=new.recall)
    with held(args.lock, f"{es.count:,} rows: the stored graph counted"):
        for run in range(args.runs):
            forget(es, graph=False)
            reused, seconds = count(es)
            emit(step="new after map (graph stored)", run=run, seconds=round(seconds, 2),
                 source=reused.source, recall=reused.recall)
            out.setdefault("reuse", []).append(seconds)
    for run in range(args.hnsw_runs):
        with held(args.lock, f"1M: HNSW over every row, run {run}"):
            if run:  # a fresh build each run: the in-memory and stored index are dropped
                from explorer.compute import neighbours as nb
                from explorer.core.artifacts import ArtifactStore

                nb.drop_cached(es)
                ArtifactStore(es.path).clear("index")
            hnsw, build, search = hnsw_counts(es)
        emit(step="hnsw over every row", run=run, build_s=round(build, 1),
             search_s=round(search, 1), total_s=round(build + search, 1))
        agreement("1M: HNSW over every row vs new", hnsw, new.counts)
    return out


def quality(library, v: np.ndarray, args) -> None:
    """Exact against the baseline's and the new standalone graph on the first `quality_n`
    rows, a set of its own (the pivot join forced below EXACT_MAX)."""
    from explorer.compute import hubness

    n = args.quality_n
    path = Path(library.root) / "bench-input" / f"first-{n}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        np.save(path, np.ascontiguousarray(v[:n]))
    es = import_npy(library, path, f"first-{n}")
    with held(args.lock, f"{n:,} rows: exact"):
        exact, seconds = count(es, exact=True)
    emit(step=f"{n:,} exact", seconds=round(seconds, 1), skew=round(exact.skewness, 3))
    saved = hubness.EXACT_MAX
    hubness.EXACT_MAX = 0  # the pivot join, as above EXACT_MAX
    try:
        for name, fn in (("baseline", today_all_knn), ("new", None)):
            with held(args.lock, f"{n:,} rows: {name} graph"):
                result, seconds, split = standalone(es, fn)
            emit(step=f"{n:,} {name} standalone", seconds=round(seconds, 1), split=split,
                 recall=result.recall)
            agreement(f"{n:,}: exact vs {name} standalone", exact.counts, result.counts,
                      recall=result.recall)
    finally:
        hubness.EXACT_MAX = saved


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
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hnsw-runs", type=int, default=0)
    ap.add_argument("--quality-n", type=int, default=200_000, help="0: no quality step")
    ap.add_argument("--lock", type=Path, help="each round holds this file's lock")
    ap.add_argument("--reference", action="store_true",
                    help="at 1M, a high-recall graph's count as the stand-in for exact")
    ap.add_argument("--no-debian", action="store_true")
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
    if args.quality_n:
        quality(library, out["set"].vectors, args)
    if not args.no_debian and DEBIAN.exists():
        with held(args.lock, "63k Debian"):
            debian(library)
    med = {key: round(statistics.median(v), 2) for key, v in out.items() if isinstance(v, list)}
    print(f"\nhubness {out['n']:,} x 384, k={K}, cosine: median seconds {med} "
          f"(baseline = the standalone path before the tree of pivots; targets: standalone "
          f"<= 60, reuse <= 1); total {time.perf_counter() - t0:.0f} s; load {load()}")


if __name__ == "__main__":
    main()
