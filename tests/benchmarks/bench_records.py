"""Measurements as JSON lines with the machine's load average, and a median timer: what the
label benchmarks (`bench_labels.py`, `bench_label_placement.py`) print and collect."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

RESULTS: list[dict] = []


def emit(**record) -> dict:
    """Print a measurement as one JSON line, with the machine's load average (a shared
    machine's figures mean little without it)."""
    record["load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3]) \
        if Path("/proc/loadavg").exists() else None
    RESULTS.append(record)
    print(json.dumps(record, default=float), flush=True)
    return record


def timed(fn, repeat: int = 1):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)
