"""Benchmark: an IVF-PQ index (kind "ivfpq") built here and on Ray, and what it recalls.

Not a pytest test. Run directly (under the shared lock on a shared machine):

    .venv/bin/python tests/benchmarks/bench_index_ivfpq.py --n 200000 --shards 20 --rounds 3
    .venv/bin/python tests/benchmarks/bench_index_ivfpq.py --n 1000000 --train-rounds 1

It writes n x 384 float32 rows (seeded; clusters in a 32-d latent space mapped up plus noise,
like real embeddings: isotropic noise defeats any quantiser) to a temp .npy, reads them as
`--shards` shards (tests/compute/shards_double.py: rows by slice, a range per shard) and
times, medians of `--rounds`:

  train          ApproxIndex.trained(..., "ivfpq"): k-means of the lists + the PQ codebooks
  add, local     every range added in order by this process' faiss (its OpenMP threads): the
                 baseline, what `index --kind ivfpq` does
  add, Ray N     index_ray.add_on_ray with N workers (one task per range, 1 CPU each, at
                 most N at once) on one local Ray (its start-up reported apart), merge included
  merge          the driver's merge_from of the parts, in range order

Rounds interleave the methods in a rotated order, so a machine whose load drifts hits them
alike; `paired_ratio_median` is the median over rounds of Ray / local in the same round.
It checks that each Ray build equals the local one (the same bytes) and reports recall@10 of
`--queries` sampled rows (self excluded) against the exact scan: in PQ codes alone, and
re-ranked exactly from pools of 30 / 50 / 100 candidates (ApproxIndex.PQ_POOL 3 / 5 / 10),
plus the index's bytes. Ratios are Ray / local of the add phase; nothing is asserted. On one
2-core machine Ray cannot beat faiss' own threads: it scales with nodes, not here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "compute"))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from shards_double import ShardedRows  # noqa: E402

from explorer.compute.cluster.index_ray import add_on_ray  # noqa: E402
from explorer.compute.cluster.ray_session import ray_session  # noqa: E402
from explorer.compute.index import (ApproxIndex, ExactIndex, add_ranges, row_norms,  # noqa: E402
                                    rows_for_faiss)

DIM = 384
CHUNK = 50_000


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def make_rows(path: str, n: int, d: int, seed: int = 0) -> np.ndarray:
    """n x d clustered rows written in chunks to a .npy, returned memory-mapped."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, 32)).astype(np.float32)
    w = (rng.normal(size=(32, d)) / np.sqrt(32)).astype(np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        z = centres[rng.integers(0, 200, m)] + 0.5 * rng.normal(size=(m, 32)).astype(np.float32)
        x = z @ w + 0.05 * rng.normal(size=(m, d)).astype(np.float32)
        out[start:start + m] = x * rng.lognormal(0, 0.2, size=(m, 1)).astype(np.float32)
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def add_locally(blob, sv, norms) -> object:
    import faiss

    index = faiss.deserialize_index(blob)
    for lo, hi in add_ranges(sv, "ivfpq"):
        index.add(rows_for_faiss(sv, slice(lo, hi), "cosine", norms))
    return index


def recall(index: ApproxIndex, exact: ExactIndex, x, queries: int) -> dict:
    """recall@10 in codes alone and re-ranked from pools of 30/50/100 (self excluded)."""
    import faiss

    rows = np.random.default_rng(1).choice(len(x), size=queries, replace=False)
    hits = {"codes": 0, 30: 0, 50: 0, 100: 0}
    params = faiss.SearchParametersIVF(nprobe=index.nprobe)
    for row in rows:
        q = np.asarray(x[row], dtype=np.float32)
        truth = set([r for r in exact.search(q, 11).rows.tolist() if r != row][:10])
        qn = (q / np.linalg.norm(q))[None, :]
        _, ids = index.faiss_index.search(qn, 11, params=params)
        hits["codes"] += len(truth & set([r for r in ids[0].tolist() if r != row][:10]))
        for pool in (30, 50, 100):
            index.PQ_POOL = pool // 10
            got = [r for r in index.search(q, 11).rows.tolist() if r != row][:10]
            hits[pool] += len(truth & set(got))
    index.PQ_POOL = ApproxIndex.PQ_POOL
    names = {"codes": "recall10_codes_only", 30: "recall10_rerank30", 50: "recall10_rerank50",
             100: "recall10_rerank100"}
    return {names[key]: round(v / (10 * queries), 4) for key, v in hits.items()}


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--shards", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--train-rounds", type=int, help="default: --rounds (1M rows: minutes each)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    out: dict = {"n": args.n, "d": DIM, "shards": args.shards, "rounds": args.rounds,
                 "loadavg_start": os.getloadavg(), "faiss_threads": faiss.omp_get_max_threads()}
    with tempfile.TemporaryDirectory(prefix="bench-ivfpq-") as tmp:
        t = time.perf_counter()
        x = make_rows(os.path.join(tmp, "x.npy"), args.n, DIM)
        log(f"rows written in {time.perf_counter() - t:.1f} s")
        sv = ShardedRows(x, args.shards)
        norms = row_norms(x)
        out["ranges"] = len(add_ranges(sv, "ivfpq"))
        trains = []
        for r in range(args.train_rounds or args.rounds):
            t = time.perf_counter()
            trained = ApproxIndex.trained(sv, "cosine", "ivfpq", norms)
            trains.append(time.perf_counter() - t)
            log(f"train round {r}: {trains[-1]:.1f} s")
        out.update(nlist=trained.nlist, pq_m=trained.pq.M, pq_bits=trained.pq.nbits,
                   train_rows=min(args.n, max(65_536, 40 * trained.nlist)),
                   train_s=[round(v, 2) for v in trains], train_median_s=round(
                       statistics.median(trains), 2))
        blob = faiss.serialize_index(trained)
        counts = [int(w) for w in args.workers.split(",")]
        methods = ["local"] + [f"ray{w}" for w in counts]
        times: dict = {m: [] for m in methods}
        merges: dict = {m: [] for m in methods[1:]}
        digests: dict = {m: set() for m in methods}  # every build the same bytes?
        t = time.perf_counter()
        with ray_session(workers=max(counts)) as session:  # one Ray; `workers` tasks at once
            out["ray_init_s"] = round(time.perf_counter() - t, 2)
            out["ray_cpus"] = session.workers
            for r in range(args.rounds):
                for m in methods[r % len(methods):] + methods[:r % len(methods)]:  # rotated
                    merged = faiss.deserialize_index(blob)
                    t = time.perf_counter()
                    if m == "local":
                        merged = local = add_locally(blob, sv, norms)
                    else:
                        merges[m].append(add_on_ray(merged, sv, "cosine", norms, int(m[3:])))
                    times[m].append(time.perf_counter() - t)
                    log(f"round {r} {m}: {times[m][-1]:.2f} s, load {os.getloadavg()[0]:.1f}")
                    digests[m].add(hashlib.sha256(faiss.serialize_index(merged)).hexdigest())
        out["add_local_s"] = [round(v, 2) for v in times["local"]]
        out["add_local_median_s"] = base = round(statistics.median(times["local"]), 2)
        for m in methods[1:]:
            med = statistics.median(times[m])
            paired = statistics.median(a / b for a, b in zip(times[m], times["local"]))
            out[m] = {"add_s": [round(v, 2) for v in times[m]], "add_median_s": round(med, 2),
                      "merge_median_s": round(statistics.median(merges[m]), 3),
                      "ratio_to_local": round(med / base, 2),
                      "paired_ratio_median": round(paired, 2),
                      "equals_local_build": digests[m] == digests["local"]}
        index = ApproxIndex(x, "cosine", local, "ivfpq", norms)
        out["bytes"] = int(faiss.serialize_index(local).nbytes)
        out["bytes_per_row"] = round(out["bytes"] / args.n, 1)
        out["nprobe"] = index.nprobe
        t = time.perf_counter()
        out.update(recall(index, ExactIndex(x, "cosine", norms=norms), x, args.queries))
        out["recall_s"] = round(time.perf_counter() - t, 1)
        out["loadavg_end"] = os.getloadavg()
        del x, sv, index
    print(json.dumps(out))


if __name__ == "__main__":
    main()
