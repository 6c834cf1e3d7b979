"""How fast a brush on one chart updates the others, at 100k and 1M rows (target: 100 ms at 1M).

Synthetic metadata with realistic columns (a name per row, a section of 50 values with a
long tail, a priority of 5, sizes spanning decades, a score, release dates over 15 years,
a description), stored as Parquet the way the library keeps it. Four charts (section,
priority, size_kb, released) and one bar already clicked (section); then 20 brushes on
size_kb, each timed:

  * part   - the brushed range's rows, DuckDB running the part's SQL on the Parquet file
             (what the table's filter would run)
  * state  - the shared filter's rows: the parts intersected (on the UI thread)
  * counts - every chart's cross-filtered counts: a bincount of its codes per row mask
  * panel  - the whole path in the Charts panel: from the brush to the other charts
             showing their new counts (two jobs and their hops through the UI thread)

The baseline, measured in the same run, is the direct way: one DuckDB GROUP BY per other
chart with the other parts as its WHERE (what a chart library over SQL would send).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_charts.py [--rows 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from explorer.core.column_charts import ChartData, Masks, cross_counts, quote_name  # noqa: E402
from explorer.core.embedding_set import EmbeddingSet  # noqa: E402
from explorer.core.library import METADATA  # noqa: E402

CHARTS = ("section", "priority", "size_kb", "released")
BRUSHES = 20


def make_metadata(n: int) -> pa.Table:
    rng = np.random.default_rng(0)
    sections = np.array([f"section-{i:02d}" for i in range(50)])
    weights = 1.0 / np.arange(1, 51) ** 1.1
    priorities = np.array(["optional", "extra", "standard", "important", "required"])
    days = rng.integers(0, 15 * 365, n) + np.datetime64("2010-01-01", "D").astype(np.int64)
    return pa.table({
        "name": [f"package-{i}" for i in range(n)],
        "section": sections[rng.choice(50, n, p=weights / weights.sum())],
        "priority": priorities[rng.choice(5, n, p=[0.9, 0.05, 0.03, 0.01, 0.01])],
        "size_kb": rng.lognormal(5.5, 2.2, n).astype(np.int64),
        "score": rng.normal(size=n),
        "released": pa.array(days.astype("datetime64[D]")),
        "description": [f"a tool that does thing number {i % 9973} for its users"
                        for i in range(n)],
    })


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def brushes(chart) -> list[tuple[int, int]]:
    k = len(chart.total)
    rng = np.random.default_rng(1)
    out = []
    for _ in range(BRUSHES):
        a, b = sorted(rng.integers(0, k, 2))
        out.append((int(a), int(b)))
    return out


def core_path(data: ChartData, charts: dict, clicked_rows: np.ndarray) -> dict:
    """The brush's work outside Qt: part rows, the shared filter's rows, every chart's counts."""
    from explorer.ui.state import FilterPart, intersect_rows

    own = {c: f"chart:{c}" for c in charts}
    times = {"part": [], "state": [], "counts": [], "total": []}
    masks, counted = None, None
    for first, last in brushes(charts["size_kb"]):
        part = charts["size_kb"].part_for_bins(first, last)
        t0 = time.perf_counter()
        rows = data.rows(part.sql)
        t1 = time.perf_counter()
        parts = [FilterPart("chart:section", "", "", clicked_rows),
                 FilterPart("chart:size_kb", "", "", rows)]
        intersect_rows(parts, data.count)
        t2 = time.perf_counter()
        masks = Masks(data.count, {p.key: p.rows for p in parts}, masks)
        counted = cross_counts(charts, own, masks, previous=counted)
        t3 = time.perf_counter()
        for key, value in (("part", t1 - t0), ("state", t2 - t1), ("counts", t3 - t2),
                           ("total", t3 - t0)):
            times[key].append(value)
    return {key: ms(statistics.median(values)) for key, values in times.items()} | \
        {"total_max": ms(max(times["total"]))}


def baseline(data: ChartData, charts: dict, clicked_sql: str) -> dict:
    """One GROUP BY per other chart, the other parts as its WHERE, on the same Parquet file."""
    bins = {"size_kb": "floor(log10(greatest(size_kb, 0) + 1) * 3)",
            "released": "date_trunc('month', released)"}
    times = []
    for first, last in brushes(charts["size_kb"]):
        brush = charts["size_kb"].part_for_bins(first, last).sql
        wheres = {"section": brush, "priority": f"({clicked_sql}) AND ({brush})",
                  "released": f"({clicked_sql}) AND ({brush})"}
        t0 = time.perf_counter()
        with data.cursor() as cur:
            for column, where in wheres.items():
                key = bins.get(column, quote_name(column))
                cur.execute(f"SELECT {key} AS k, count(*) FROM items WHERE {where} "
                            "GROUP BY 1").fetchall()
        times.append(time.perf_counter() - t0)
    return {"group_by": ms(statistics.median(times))}


def panel_path(es: EmbeddingSet, library_dir: Path) -> dict:
    """From a brush in the Charts panel to the other charts showing their counts."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.core.library import Library
    from explorer.ui.panels.base import PanelContext
    from explorer.ui.panels.charts.panel import ChartsView
    from explorer.ui.state import AppState
    from explorer.ui.workers import JobRunner

    app = QApplication.instance() or QApplication([])
    state, runner = AppState(), JobRunner()
    view = ChartsView(PanelContext(state, runner, Library(library_dir)))
    view.resize(420, 900)
    view.show()

    def wait(done, timeout=120.0):
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            loop = QEventLoop()
            QTimer.singleShot(1, loop.quit)
            loop.exec()
        app.processEvents()

    t0 = time.perf_counter()
    state.set_set(es)
    wait(lambda: bool(view.kinds))
    view.set_columns(list(CHARTS))
    wait(lambda: set(view.widgets) == set(CHARTS) and not view.busy())
    ready = time.perf_counter() - t0
    section = view.charts["section"]
    view.choose("section", section.part_for_bars([0]))
    wait(lambda: not view.busy())
    times = []
    shown = []
    view.countsShown.connect(lambda: shown.append(time.perf_counter()))
    for first, last in brushes(view.charts["size_kb"]):
        shown.clear()
        t0 = time.perf_counter()
        view.choose("size_kb", view.charts["size_kb"].part_for_bins(first, last))
        wait(lambda: not view.busy() and bool(shown))
        times.append(shown[-1] - t0)
    runner.shutdown()
    view.close()
    return {"panel": ms(statistics.median(times)), "panel_max": ms(max(times)),
            "charts_ready_s": round(ready, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--no-panel", action="store_true", help="skip the Qt panel timing")
    args = parser.parse_args()
    for n in (int(r) for r in args.rows.split(",")):
        folder = Path(tempfile.mkdtemp(prefix="bench-charts-"))
        table = make_metadata(n)
        pq.write_table(table, folder / METADATA)
        data = ChartData(table, folder / METADATA)
        t0 = time.perf_counter()
        charts = {c: data.prepare(c) for c in CHARTS}
        prepare = time.perf_counter() - t0
        clicked = charts["section"].part_for_bars([0])
        clicked_rows = data.rows(clicked.sql)
        result = {"rows": n, "prepare_4_charts_ms": ms(prepare)}
        result |= core_path(data, charts, clicked_rows)
        result |= baseline(data, charts, clicked.sql)
        if not args.no_panel:
            es = EmbeddingSet(np.zeros((n, 2), dtype=np.float32), table, name=f"bench-{n}",
                              path=folder)
            result |= panel_path(es, Path(tempfile.mkdtemp(prefix="bench-charts-lib-")))
        result["speedup_vs_group_by"] = round(result["group_by"] / max(result["total"], 0.1),
                                              1)
        print(json.dumps(result), flush=True)
        data.close()


if __name__ == "__main__":
    main()
