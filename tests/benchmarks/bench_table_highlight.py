"""How long the metadata table takes to highlight a new selection, at 63k rows.

A map selection of many scattered rows (a lasso on the map is scattered in row order)
replaced by another, and a Ctrl+click in it, through the Table panel. The baseline,
measured in the same run on the same view, is handing Qt the whole new highlight at once
(`ClearAndSelect`, what the table did before): Qt then compares the old and the new
highlight range by range.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_table_highlight.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from PySide6.QtCore import QItemSelection, QItemSelectionModel  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from explorer.core.embedding_set import EmbeddingSet  # noqa: E402
from explorer.core.library import Library  # noqa: E402
from explorer.ui.panels.base import PanelContext  # noqa: E402
from explorer.ui.panels.table import TableView, runs  # noqa: E402
from explorer.ui.state import AppState, SelectMode  # noqa: E402
from explorer.ui.workers import JobRunner  # noqa: E402

N = 63_436
SIZES = (3_000, 10_000, 30_000)


def whole_highlight(view: TableView, rows: np.ndarray) -> QItemSelection:
    selection = QItemSelection()
    last = view.model.columnCount() - 1
    for start, end in zip(*runs(rows)):
        selection.select(view.model.index(int(start), 0), view.model.index(int(end), last))
    return selection


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    QApplication.instance() or QApplication([])
    state, jobs = AppState(), JobRunner()
    view = TableView(PanelContext(state, jobs, Library(Path(tempfile.mkdtemp()))))
    view.resize(1200, 900)
    view.show()
    meta = pa.table({"id": [f"item-{i}" for i in range(N)], "size": np.arange(N)})
    state.set_set(EmbeddingSet(np.zeros((N, 2), dtype=np.float32), meta, name="bench"))
    rng = np.random.default_rng(0)
    highlight = view.table.selectionModel()
    for n in SIZES:
        first, second = (np.sort(rng.choice(N, n, replace=False)) for _ in range(2))
        state.select(first, source="map")
        replace = timed(lambda: state.select(second, source="map"))
        toggle = timed(lambda: state.select(second[n // 2:n // 2 + 1], SelectMode.TOGGLE,
                                            source=view))
        old, new = whole_highlight(view, first), whole_highlight(view, second)
        highlight.select(old, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        baseline = timed(lambda: highlight.select(
            new, QItemSelectionModel.SelectionFlag.ClearAndSelect))
        print(json.dumps({"rows": N, "selected": n, "ranges": len(runs(second)[0]),
                          "replace_ms": round(replace * 1000, 1),
                          "ctrl_click_ms": round(toggle * 1000, 1),
                          "baseline_replace_ms": round(baseline * 1000, 1),
                          "speedup": round(baseline / replace, 1)}))
    jobs.shutdown()


if __name__ == "__main__":
    main()
