"""Benchmark (issue 21): thumbnails of >= 20,000 real image files and of a Parquet of embedded
image bytes; throughput, cache size and the hover read, each beside a baseline of the same run.

Not collected by pytest (no test_ functions). Run under the shared lock (minutes; the images
are made once into --work and reused while --n is the same):

    flock /tmp/bench18.lock .venv/bin/python tests/benchmarks/bench_thumbnails.py
        [--n 20000] [--runs 3] [--work /tmp/bench-thumbnails] [--hover 1000]

The images (tests/compute/image_files.py, made with Pillow by two processes): PNG, JPEG and
WebP of random shapes and sizes (48..900 px a side, log-uniform), one in twenty a noisy
"photo" JPEG of 480..1024 px, one in a hundred truncated, one in a hundred garbage, one in
two hundred named but absent, and one real decompression bomb (a 10,000 x 10,000 PNG of about
100 KB). Two library sets over them: `images.parquet` names the files (paths relative to it),
`embedded.parquet` holds the same images as {bytes, path} structs (the Hugging Face layout).

Each run makes the path set's cache from nothing with one decoding thread (the baseline) and
with the default (the cores, at most 4), alternating which goes first, then the embedded
set's with the default. Printed as JSON lines with /proc/loadavg, then medians: thumbnails
per second and the ratio of the default to one thread, and per CPU-second (this process's
user + system time: what a busy machine changes least); the cache's size; an unchanged re-run
(one stat a row); opening the cache; and the hover read, `store.get(row)` + Pillow decoding
that JPEG, median and p99 over --hover random rows, against decoding the original file for
the same rows (what a hover would cost without the cache).

Measured (2 cores shared with other jobs, load 1.4-2.6, 3 runs, medians): one thread 875
thumbnails/s, two threads 1,222/s (ratio 1.40; per run 1.33, 1.41, 1.14), embedded bytes
1,728/s; 19,499 made, 401 broken (200 truncated, 200 garbage, the bomb), 100 missing; cache
32.2 MB (1,652 bytes a thumbnail); unchanged re-run 1.12 s; opening the cache 2.2 ms; hover
read 0.089 ms median, 0.18 ms p99, against decoding the original 0.29 ms, 3.9 ms p99. Under
load 8 the same runs gave 500-850/s and no gain from the second thread.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "compute"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_records import emit
from image_files import drawn_picture, encoded, real_bomb

VERSION = 1  # of the generated images: a change makes them again
CHUNK = 500
FORMATS = ("PNG", "JPEG", "WEBP")
SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


def name_of(i: int) -> str:
    kind = "photo" if i % 20 == 3 else FORMATS[i % 3]
    suffix = ".jpg" if kind == "photo" or i % 100 in (7, 53) else SUFFIX.get(kind, ".png")
    return f"images/{i // 1000:03d}/{i}{'.png' if i == 11 else suffix}"


def make_chunk(job: tuple[str, int, int]) -> int:
    """Write the images of rows start..stop (a pool worker)."""
    work, start, stop = job
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        path = Path(work) / name_of(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        if i % 200 == 99:
            continue  # named, absent
        if i == 11:
            path.write_bytes(real_bomb())
            continue
        if i % 20 == 3:
            w, h = (int(v) for v in rng.integers(480, 1025, 2))
            noise = Image.effect_noise((w, h), 18).convert("RGB")  # grain, centred on 128
            data = encoded(ImageChops.add(drawn_picture(rng, w, h), noise, 1.0, -128), "JPEG",
                           quality=88)
        else:
            w, h = (int(np.exp(rng.uniform(np.log(48), np.log(900)))) for _ in range(2))
            fmt = FORMATS[i % 3]
            data = encoded(drawn_picture(rng, w, h), fmt,
                           **({"compress_level": 1} if fmt == "PNG" else {"quality": 85}))
        if i % 100 == 7:
            data = data[: len(data) // 2]  # truncated
        elif i % 100 == 53:
            data = bytes(rng.integers(0, 256, 3000, dtype=np.uint8))  # garbage
        path.write_bytes(data)
    return stop - start


def generate(work: Path, n: int) -> tuple[Path, Path]:
    """The two data files over n images in `work` (made unless there already)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    marker = work / "made.json"
    paths_file, bytes_file = work / "images.parquet", work / "embedded.parquet"
    if marker.exists() and json.loads(marker.read_text()) == {"n": n, "version": VERSION}:
        return paths_file, bytes_file
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = [(str(work), s, min(n, s + CHUNK)) for s in range(0, n, CHUNK)]
    with Pool(2) as pool:
        for _ in pool.imap_unordered(make_chunk, jobs):
            pass
    names = [name_of(i) for i in range(n)]
    vectors = list(np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32))
    pq.write_table(pa.table({"item": [f"item {i}" for i in range(n)], "image": names,
                             "vector": vectors}), paths_file)
    structs = [{"bytes": (work / p).read_bytes() if (work / p).exists() else None, "path": p}
               for p in names]
    pq.write_table(pa.table({"item": [f"item {i}" for i in range(n)], "image": structs,
                             "vector": vectors}), bytes_file, row_group_size=2000)
    marker.write_text(json.dumps({"n": n, "version": VERSION}))
    emit(what="generated", n=n, seconds=round(time.perf_counter() - started, 1),
         files_bytes=sum(f.stat().st_size for f in (work / "images").rglob("*") if f.is_file()),
         parquet_bytes=bytes_file.stat().st_size)
    return paths_file, bytes_file


def made(es, source, workers: int | None) -> dict:
    from explorer.compute import thumbnails as th
    from explorer.core.artifacts import ArtifactStore
    from explorer.core.jobs import TaskState

    ArtifactStore(es.path).clear("thumbnails")
    cpu, started = os.times(), time.perf_counter()
    report = th.make_thumbnails(es, source, TaskState(), workers=workers)
    seconds = time.perf_counter() - started
    used = sum(os.times()[:2]) - sum(cpu[:2])  # this process's user + system time, all threads
    return {"seconds": round(seconds, 2), "per_second": round(report.new / seconds, 1),
            "cpu_seconds": round(used, 2), "per_cpu_second": round(report.new / used, 1),
            "made": report.made, "broken": report.broken, "missing": report.missing,
            "cache_bytes": report.bytes}


def hover(es, store, rows: list[int], work: Path) -> tuple[list[float], list[float]]:
    """ms per row: the cached thumbnail read and decoded; the original file decoded."""
    cached, original = [], []
    names = es.metadata.column("image").to_pylist()
    for row in rows:
        t0 = time.perf_counter()
        im = Image.open(io.BytesIO(store.get(row)))
        im.load()
        cached.append((time.perf_counter() - t0) * 1000)
    for row in rows:
        t0 = time.perf_counter()
        with Image.open(work / names[row]) as im:
            im.load()
        original.append((time.perf_counter() - t0) * 1000)
    return cached, original


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-thumbnails")
    p.add_argument("--hover", type=int, default=1000, help="rows the hover read is timed on")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the bomb is counted
    os.environ["EXPLORER_HOME"] = tempfile.mkdtemp(prefix="bench-thumbnails-home-")
    from explorer.compute import thumbnails as th
    from explorer.core.jobs import TaskState
    from explorer.core.library import Library

    paths_file, bytes_file = generate(args.work, args.n)
    library = Library()
    on_disk = library.open(library.import_file(paths_file).id)
    embedded = library.open(library.import_file(bytes_file).id)
    files, structs = th.ImageSource("image", "path"), th.ImageSource("image", "struct")
    default = max(1, min(4, os.cpu_count() or 1))
    results: dict[str, list[dict]] = {"one": [], "default": [], "embedded": []}
    for run in range(args.runs):
        order = [("one", 1), ("default", None)]
        for label, workers in order if run % 2 == 0 else order[::-1]:
            results[label].append(emit(what=f"paths, {label} thread(s)", run=run,
                                       **made(on_disk, files, workers)))
        results["embedded"].append(emit(what="embedded bytes, default threads", run=run,
                                        **made(embedded, structs, None)))
    started = time.perf_counter()
    again = th.make_thumbnails(on_disk, files, TaskState())
    emit(what="unchanged re-run", seconds=round(time.perf_counter() - started, 2),
         new=again.new)
    opens = []
    for _ in range(20):
        t0 = time.perf_counter()
        store = th.open_thumbnails(on_disk)
        opens.append((time.perf_counter() - t0) * 1000)
    ok = [r for r in range(store.count) if store.status(r) == "ok"]
    rows = random.Random(5).sample(ok, min(args.hover, len(ok)))
    cached, original = hover(on_disk, store, rows, args.work)

    def median(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])
    summary = {
        "n": args.n, "threads_default": default,
        "per_second_one_thread": median("one", "per_second"),
        "per_second_default": median("default", "per_second"),
        "ratio_default_to_one": round(median("default", "per_second")
                                      / median("one", "per_second"), 2),
        "per_second_embedded": median("embedded", "per_second"),
        "per_cpu_second_one_thread": median("one", "per_cpu_second"),
        "per_cpu_second_default": median("default", "per_cpu_second"),
        "per_cpu_second_embedded": median("embedded", "per_cpu_second"),
        "made": results["default"][0]["made"], "broken": results["default"][0]["broken"],
        "missing": results["default"][0]["missing"],
        "cache_bytes": results["default"][0]["cache_bytes"],
        "cache_bytes_per_thumbnail": round(results["default"][0]["cache_bytes"]
                                           / max(1, results["default"][0]["made"])),
        "open_ms_median": round(statistics.median(opens), 3),
        "hover_ms_median": pct(cached, 50), "hover_ms_p99": pct(cached, 99),
        "original_ms_median": pct(original, 50), "original_ms_p99": pct(original, 99),
    }
    emit(what="summary", **summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
