"""Benchmark: a sharded set on one machine (issue 20): exact search over shards against the
single-file scan, and the peak memory of a desktop process that opens such a set.

Not a pytest test. Run directly (it writes ~3 x n x d x 4 bytes into a temp folder, then
deletes it):

    .venv/bin/python tests/benchmarks/bench_sharded.py --rows 1000000 --dim 384 --shards 20

It writes n synthetic embeddings (a mixture in a 32-d latent space mapped to d dimensions,
plus noise, normalised: clustered, with the low intrinsic dimension real ones have) as
`--shards` Parquet files (fixed-size list float32, the metadata columns beside them), the same
rows as uncompressed Arrow IPC files, and one .npy, the single-file baseline. Then, cosine,
k=10, on queries that are rows of the set:

  single file      ExactIndex over the .npy memory map (the baseline, same run)
  IPC, one call    ShardedExactIndex over the memory-mapped IPC shards (all in one kernel call)
  IPC, per shard   one ExactIndex search per shard, merged: what the first prototype did
  Parquet stream   ShardedExactIndex over the Parquet shards: every shard decoded per query

Timing is interleaved over rounds (each round runs every method once, in a rotated order),
after a warm-up that compiles the kernels and fills the page cache; reported are medians and
the ratio to the single-file median of the same rounds. Then a fresh process per layout
imports the shards as a sharded set and another opens it, runs a filter and two neighbour
queries, and reports its peak RSS (VmHWM; RssAnon and RssFile, the pages of mapped files,
after each step) next to the size of the vectors and the metadata; "single" does the same
with the IPC shards imported into one vectors.npy: the baseline, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def synthetic(n: int, d: int, seed: int) -> np.ndarray:
    """n rows: 200 clusters in a 32-d latent space, mapped to d dimensions, noise, unit rows."""
    rng = np.random.default_rng(1234)
    centres = rng.normal(size=(200, 32)).astype(np.float32) * 2
    mix = rng.normal(size=(32, d)).astype(np.float32) / np.sqrt(32)
    rng = np.random.default_rng(seed)
    z = centres[rng.integers(0, 200, n)] + rng.normal(size=(n, 32)).astype(np.float32)
    x = z @ mix + 0.3 * rng.normal(size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def write(folder: Path, n: int, d: int, shards: int) -> None:
    """Parquet and IPC shards of the same rows, and the single .npy, written shard by shard."""
    for sub in ("parquet", "ipc"):
        (folder / sub).mkdir(parents=True)
    single = np.lib.format.open_memmap(folder / "single.npy", mode="w+", dtype=np.float32,
                                       shape=(n, d))
    cuts = np.linspace(0, n, shards + 1).astype(int)
    groups = np.array(["news", "blog", "paper", "forum", "wiki"])
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        x = synthetic(int(b - a), d, seed=i)
        single[a:b] = x
        rng = np.random.default_rng(i)
        table = pa.table({
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), d),
            "id": np.arange(a, b, dtype=np.int64),
            "source": groups[rng.integers(0, 5, b - a)],
            "year": rng.integers(1990, 2026, b - a).astype(np.int32)})
        pq.write_table(table, folder / "parquet" / f"shard-{i:06d}.parquet",
                       compression="none", row_group_size=16384)
        feather.write_feather(table, folder / "ipc" / f"shard-{i:06d}.arrow",
                              compression="uncompressed", chunksize=b - a)
    single.flush()
    del single


def timing(folder: Path, rounds: int, queries: int) -> dict:
    from explorer.compute.index import ExactIndex, load_kernel, row_norms
    from explorer.compute.sharded_search import ShardedExactIndex
    from explorer.compute.sharded_search import load_kernel as load_sharded
    from explorer.core.loaders.shard_files import scan_shards, shard_paths

    single = np.load(folder / "single.npy", mmap_mode="r")
    ipc = scan_shards(shard_paths([folder / "ipc"])).vectors()
    parquet = scan_shards(shard_paths([folder / "parquet"])).vectors()
    load_kernel(single)
    load_sharded()
    norms = row_norms(single)
    pieces = [(s, a) for s, a in ipc.arrays()]
    load_kernel(pieces[0][1])
    per_shard = [(s, ExactIndex(a, "cosine", norms=norms[s:s + len(a)])) for s, a in pieces]

    def per_shard_search(q):
        rows, scores = [], []
        for s, index in per_shard:
            r = index.search(q, 10)
            rows.append(r.rows + s)
            scores.append(r.scores)
        rows, scores = np.concatenate(rows), np.concatenate(scores)
        return rows[np.lexsort((rows, -scores))[:10]]

    methods = {
        "single file": ExactIndex(single, "cosine", norms=norms).search,
        "IPC, one call": ShardedExactIndex(ipc, "cosine", norms=norms).search,
        "IPC, per shard": per_shard_search,
        "Parquet stream": ShardedExactIndex(parquet, "cosine", norms=norms).search,
    }
    rng = np.random.default_rng(7)
    qrows = rng.choice(len(single), size=rounds * queries, replace=False)
    want = {}
    for name, search in methods.items():  # warm-up: kernels, page cache, equal answers
        got = search(np.array(single[qrows[0]]))
        want[name] = got if isinstance(got, np.ndarray) else got.rows
    same = all(np.array_equal(want["single file"], v) for v in want.values())
    times: dict[str, list[float]] = {name: [] for name in methods}
    names = list(methods)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            reps = 1 if name == "Parquet stream" else queries
            start = time.perf_counter()
            for q in qrows[r * queries:r * queries + reps]:
                methods[name](np.array(single[q]))
            times[name].append((time.perf_counter() - start) / reps * 1000)
    base = float(np.median(times["single file"]))
    return {"same_answers": same,
            "ms_per_query": {k: round(float(np.median(v)), 1) for k, v in times.items()},
            "x_single": {k: round(float(np.median(v)) / base, 2) for k, v in times.items()},
            "rounds": rounds}


CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
from explorer.core.library import Library
from explorer.core.metadata import query_for
from explorer.compute import neighbours as nb
from explorer.compute.sharded_search import load_kernel
def status(*keys):
    values = {}
    for line in open("/proc/self/status"):
        name = line.split(":")[0]
        if name in keys:
            values[name] = int(line.split()[1]) >> 10
    return values
def hwm():
    return status("VmHWM")["VmHWM"]
out = {}
if sys.argv[2] == "import":
    from explorer.core.shard_import import import_shards
    layout = "single" if sys.argv[4] == "single" else "sharded"
    t = time.perf_counter()
    entry = import_shards(Library(), [sys.argv[3]], layout=layout, name=sys.argv[4])
    out.update(import_seconds=round(time.perf_counter() - t, 1), import_hwm_mb=hwm())
else:
    t = time.perf_counter()
    es = Library().open(sys.argv[4])
    out["open_seconds"] = round(time.perf_counter() - t, 2)
    out["metadata_bytes"] = es.metadata.nbytes
    t = time.perf_counter()
    rows = query_for(es).filter("source = 'paper' AND year >= 2010")
    out.update(filter_seconds=round(time.perf_counter() - t, 2), matching=int(len(rows)))
    load_kernel()
    from explorer.compute.index import load_kernel as load_single
    load_single(es.vectors)
    out["after_filter"] = status("VmHWM", "RssAnon", "RssFile")
    t = time.perf_counter()
    result = nb.search(es, nb.row_query(es, 12345), k=10, where="source = 'paper'")
    out["first_query_seconds"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    result = nb.search(es, nb.row_query(es, 4321), k=10)
    out["query_seconds"] = round(time.perf_counter() - t, 2)
    out["after_queries"] = status("VmHWM", "RssAnon", "RssFile")
print(json.dumps(out))
"""


def child(mode: str, folder: Path, name: str, home: Path) -> dict:
    env = dict(os.environ, EXPLORER_HOME=str(home))
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode, str(folder), name],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (a temp folder)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-sharded-", dir=args.dir))
    home = folder / "home"
    os.environ["EXPLORER_HOME"] = str(home)
    try:
        start = time.perf_counter()
        write(folder, args.rows, args.dim, args.shards)
        report = {"rows": args.rows, "dim": args.dim, "shards": args.shards,
                  "vectors_bytes": args.rows * args.dim * 4,
                  "write_seconds": round(time.perf_counter() - start, 1),
                  "loadavg_before": open("/proc/loadavg").read().split()[:3]}
        report["search"] = timing(folder, args.rounds, args.queries)
        for layout, shards in (("ipc", "ipc"), ("parquet", "parquet"), ("single", "ipc")):
            report[layout] = {**child("import", folder / shards, layout, home),
                              **child("open", folder / shards, layout, home)}
        report["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
        print(json.dumps(report, indent=1))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
