"""Benchmark: encoding on a local Ray (1 and 2 workers) against the local engine (issue 20).

Not a pytest test. Run directly (a few minutes on 2 cores; hold the shared lock):

    .venv/bin/python tests/benchmarks/bench_encode_ray.py [--n 3000] [--rounds 3]

The texts are real: the first-line summaries of the standard library's docstrings
(explorer.compute.demo.collect_docstrings, ~70 characters each), N of them spread evenly
over the ~5,500 there are, in one Parquet file. The default model (all-MiniLM-L6-v2 int8)
is installed offline into a temporary EXPLORER_HOME. One local Ray with 2 CPUs is started
once (its start-up time is printed apart); every job then starts its own actors and opens
the model in each, as a real job does, so that cost is inside the Ray figures.

Each round runs the three in a rotated order: the local engine (encode_inputs: 2
onnxruntime threads, a reader thread tokenising ahead), Ray with 1 worker and Ray with 2
workers (encode_inputs_ray: one single-threaded model per actor). Reported: the median
items/s of each over the rounds, the ratios of medians to the local engine, the load
average at the start and the end, and the minimum per-row cosine between the Ray and the
local vectors. On one 2-core machine Ray cannot beat the local engine by much: both use
the same two cores; Ray scales with the nodes of a cluster. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-encode-ray-"))
    os.environ["EXPLORER_HOME"] = str(home)

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.compute.cluster.encode_ray import encode_inputs_ray
    from explorer.compute.cluster.ray_session import ray_session
    from explorer.compute.demo import collect_docstrings
    from explorer.compute.encoding.catalogue import install_model
    from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
    from explorer.core.library import Library

    print(f"load at start {loadavg()}, cpus {os.cpu_count()}, python {sys.version.split()[0]}")
    model = str(install_model("minilm").path)
    docs = collect_docstrings()
    picked = docs.take(np.linspace(0, docs.num_rows - 1, args.n).astype(int))
    table = home / "docs.parquet"
    pq.write_table(pa.table({"text": picked.column("summary"), "id": picked.column("id")}),
                   table)
    lengths = [len(t) for t in picked.column("summary").to_pylist()]
    print(f"{args.n:,} docstring summaries, median {statistics.median(lengths):.0f} characters")

    library = Library()
    t0 = time.perf_counter()
    with ray_session(workers=2) as session:
        print(f"local Ray up in {time.perf_counter() - t0:.1f} s ({session.workers} CPUs)")
        runs = {
            "local": lambda i: encode_inputs([table], EncodeOptions(model=model,
                                                                    name=f"local {i}"), library),
            "ray 1 worker": lambda i: encode_inputs_ray(
                [table], EncodeOptions(model=model, name=f"ray1 {i}"), library, workers=1),
            "ray 2 workers": lambda i: encode_inputs_ray(
                [table], EncodeOptions(model=model, name=f"ray2 {i}"), library, workers=2),
        }
        names = list(runs)
        rates: dict[str, list[float]] = {name: [] for name in names}
        vectors: dict[str, np.ndarray] = {}
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                time.sleep(1.0)  # let onnxruntime's spinning threads settle
                start = time.perf_counter()
                result = runs[name](r)
                seconds = time.perf_counter() - start
                rates[name].append(result.count / seconds)
                vectors[name] = np.asarray(library.open(result.entry.id).vectors)
                print(f"round {r + 1} {name:14s} {result.count / seconds:7.1f} items/s "
                      f"({seconds:5.1f} s)  load {loadavg()}")
    base = statistics.median(rates["local"])
    print("\nmedian items/s over", args.rounds, "rounds:")
    for name in names:
        med = statistics.median(rates[name])
        v, ref = vectors[name], vectors["local"]
        cosine = np.sum(v * ref, axis=1) / (np.linalg.norm(v, axis=1) *
                                            np.linalg.norm(ref, axis=1))
        print(f"  {name:14s} {med:7.1f} items/s  ratio to local {med / base:.2f}  "
              f"min cosine to local {cosine.min():.7f}")
    print(f"load at end {loadavg()}")


if __name__ == "__main__":
    main()
