"""Benchmark: what checksums cost when a 1,000,000 x 384 float32 artefact is loaded.

Not a pytest test (run it by hand):

    .venv/bin/python tests/benchmarks/bench_artifact_checksum.py [--dir DIR] [--reps 5]

Saves one artefact (1.5 GB) with ArtifactStore, warms the page cache, then times
with `time.perf_counter`, median of `--reps`:

  baseline   np.load(npy, mmap_mode="r"): what a load cost before checksums
  stamped    ArtifactStore.load, file unchanged since it was hashed (the usual load)
  verified   ArtifactStore.load after `os.utime` moved the file's ctime, so the
             whole file is hashed again (the first load after any change or copy)
  save       ArtifactStore.save (hash + write + fsync), once

and prints each against the baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from explorer.core.artifacts import ArtifactStore  # noqa: E402

ROWS, DIM = 1_000_000, 384


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(dir=args.dir, prefix="bench-checksum-"))
    try:
        store = ArtifactStore(root)
        array = np.random.default_rng(0).standard_normal((ROWS, DIM), dtype=np.float32)
        start = time.perf_counter()
        npy = store.save("index", "big", array, {"what": "benchmark"})
        save_s = time.perf_counter() - start
        del array
        np.asarray(np.load(npy, mmap_mode="r")).sum()  # warm the page cache

        def verified() -> None:
            os.utime(npy)  # same bytes, new ctime: the stamp no longer matches
            assert store.load("index", "big") is not None

        baseline = median_time(lambda: np.load(npy, mmap_mode="r"), args.reps)
        stamped = median_time(lambda: store.load("index", "big"), args.reps)
        full = median_time(verified, args.reps)
        size_gb = npy.stat().st_size / 1e9
        print(f"artefact {ROWS:,} x {DIM} float32, {size_gb:.2f} GB, median of {args.reps}")
        print(f"baseline np.load mmap    {baseline * 1e3:9.2f} ms")
        print(f"stamped load             {stamped * 1e3:9.2f} ms  ({stamped / baseline:.1f}x)")
        print(f"verified load (hashing)  {full * 1e3:9.2f} ms  ({full / baseline:.0f}x, "
              f"{size_gb / full:.2f} GB/s)")
        print(f"save with checksum       {save_s * 1e3:9.2f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
