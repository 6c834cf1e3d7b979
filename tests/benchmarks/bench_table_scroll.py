"""How long the metadata table takes to repaint after a scroll jump, at 1M rows vs 1k rows.

Prints JSON lines and a summary: median repaint time per jump for a 1,000,000-row
table and for a 1,000-row table (the baseline measured in the same run), and their
ratio. A virtualised table should cost the same at both sizes.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_table_scroll.py
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from explorer.core.embedding_set import EmbeddingSet  # noqa: E402
from explorer.core.library import Library  # noqa: E402
from explorer.ui.panels.base import PanelContext  # noqa: E402
from explorer.ui.state import AppState  # noqa: E402
from explorer.ui.panels.table import TableView  # noqa: E402
from explorer.ui.workers import JobRunner  # noqa: E402


def make_set(n: int) -> EmbeddingSet:
    rng = np.random.default_rng(0)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon"])
    meta = pa.table({
        "id": pa.array([f"item-{i}" for i in range(n)]),
        "section": pa.array(words[rng.integers(0, 5, n)]),
        "size": pa.array(rng.integers(0, 1000, n)),
        "score": pa.array(rng.random(n)),
        "text": pa.array([f"a longer text field for row {i} with some words" for i in range(n)]),
    })
    return EmbeddingSet(np.zeros((n, 2), dtype=np.float32), meta, name=f"bench-{n}")


def time_jumps(view: TableView, n: int, jumps: int = 60) -> list[float]:
    rng = np.random.default_rng(1)
    bar = view.table.verticalScrollBar()
    out = []
    for target in rng.integers(0, bar.maximum() + 1, jumps):
        bar.setValue(int(target))
        t0 = time.perf_counter()
        view.table.viewport().grab()  # forces a full paint of the visible cells
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    app = QApplication.instance() or QApplication([])
    results = {}
    for n in (1_000, 1_000_000):
        state, jobs = AppState(), JobRunner()
        view = TableView(PanelContext(state, jobs, Library(Path(tempfile.mkdtemp()))))
        view.resize(1200, 900)
        view.show()
        es = make_set(n)
        t0 = time.perf_counter()
        state.set_set(es)
        app.processEvents()
        load = time.perf_counter() - t0
        times = time_jumps(view, n)
        results[n] = statistics.median(times)
        print(json.dumps({"rows": n, "set_table_s": round(load, 3),
                          "median_repaint_ms": round(results[n] * 1000, 2),
                          "max_repaint_ms": round(max(times) * 1000, 2)}))
        jobs.shutdown()
        view.close()
        view.deleteLater()
        app.processEvents()
    print(json.dumps({"ratio_1M_vs_1k": round(results[1_000_000] / results[1_000], 2)}))


if __name__ == "__main__":
    main()
