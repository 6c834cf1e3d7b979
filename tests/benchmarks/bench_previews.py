"""Benchmark (issue 21): from hover to the picture tooltip on the map, against the plain text
tooltip of the same rows in the same run (bar: <= 50 ms).

Not collected by pytest. Run under the shared lock (the first run builds the thumbnails of
20,000 images, a minute or two; later runs reuse the library in --work):

    flock /tmp/bench18.lock env QT_QPA_PLATFORM=offscreen .venv/bin/python \
        tests/benchmarks/bench_previews.py [--images /tmp/bench-thumbnails] [--runs 3]

The images are the thumbs benchmark's (tests/benchmarks/bench_thumbnails.py makes them into
--images: 20,000 PNG, JPEG and WebP files of 48..1024 px, some broken, one bomb); the set
here names them by paths relative to that folder (the Images dialog's root folder) and maps
them in 2-D (the first two principal axes of their vectors), so the map needs no UMAP.

A hover, as the map does it: the pointer moves onto a point (`_mouse_moved`: the nearest row,
its tooltip text), then Qt's tooltip event comes (`MapHoverPreview`: the row's pixmap from the
LRU, or decoded from the store, and the tip shown), then the events are processed (the tip
laid out and painted). "cold" rows were never hovered (a store read and a JPEG decode),
"warm" ones were. The baseline: the same pointer move and Qt's own text tooltip
(QToolTip.showText with the same text). Printed as JSON lines with /proc/loadavg, then
medians over --runs of each run's median and p95.

Measured (2026-12-05, offscreen, 200 rows x 3 runs, load 2.8): picture tooltip cold 2.26 ms
median (p95 2.60), warm 1.52, against the text tooltip's 1.77 (p95 2.07): ratio 1.28.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_records import emit  # noqa: E402

SET = "bench-pictures"


def wait(app, condition, seconds: float = 600.0) -> bool:
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.002)
    return bool(condition())


def picture_set(images: Path, work: Path):
    """The library at work/home holding SET (made once): the images' relative paths, a
    `kind` column, 2-D vectors; its thumbnails built through the app's own job function."""
    from explorer.compute import thumbnails as th
    from explorer.core.jobs import TaskState
    from explorer.core.library import Library
    from explorer.core.loaders import LoadOptions, open_file

    library = Library(work / "home")
    if (work / "set_id").exists():
        return library
    table = pq.read_table(images / "images.parquet")
    vectors = np.asarray(table.column("vector").to_pylist(), dtype=np.float32)
    centred = vectors - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centred[:5000], full_matrices=False)
    xy = (centred @ axes[:2].T).astype(np.float32)
    kinds = [Path(p).suffix.lstrip(".") for p in table.column("image").to_pylist()]
    data = work / "pictures.parquet"
    pq.write_table(pa.table({"id": [f"i{i}" for i in range(len(xy))], "kind": kinds,
                             "image": table.column("image"), "vec": list(xy)}), data)
    es = open_file(str(data), LoadOptions())
    entry = library.import_set(es, name=SET)
    stored = library.open(entry.id)
    source = th.ImageSource("image", "path", str(images))
    th.remember_image_source(library, entry.id, source)
    started = time.perf_counter()
    report = th.make_thumbnails(stored, source, TaskState())
    emit(what="thumbnails built", seconds=round(time.perf_counter() - started, 1),
         **{k: v for k, v in report.to_dict().items() if k in ("count", "made", "missing",
                                                              "broken", "bytes")})
    (work / "set_id").write_text(entry.id)
    return library


def set_id(work: Path) -> str:
    return (work / "set_id").read_text()


def open_window(app, library, work: Path, size=(1400, 900)):
    """A shown window with the picture set open, its map indexed and its thumbnails."""
    from explorer.ui.main_window import MainWindow

    window = MainWindow(library, restore=False)
    window.resize(*size)
    window.show()
    window.open_library_set(set_id(work))
    view = window.map_view
    assert wait(app, lambda: view.index is not None and window.state.thumbnails.available())
    # cluster names come from a job of their own and take the pointer where they sit: off,
    # so the same rows are hovered whenever that job ends
    view.labels.set_enabled(False)
    wait(app, lambda: not view.pending() and not view.jobs.running("labels"), 60)
    return window, view


def hover_rows(view, count: int, rng) -> list[int]:
    """Rows with a thumbnail whose point the pointer finds at the view shown (not another
    point over it, nor a cluster's name)."""
    from PySide6.QtCore import QPointF

    store = view.state.thumbnails.store
    rows = []
    for row in rng.permutation(len(view.coords)).tolist():
        if store.status(row) != "ok":
            continue
        view._mouse_moved(view.viewbox.mapViewToScene(QPointF(*map(float, view.coords[row]))))
        if view.state.hover == row:
            rows.append(row)
            if len(rows) == count:
                break
    return rows


def one_hover(app, view, row: int, picture: bool) -> float:
    """Seconds from the pointer's move onto `row` to its tooltip shown and painted."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QToolTip

    x, y = (float(v) for v in view.coords[row])
    scene = view.viewbox.mapViewToScene(QPointF(x, y))
    at = view.plot.mapFromScene(scene)
    start = time.perf_counter()
    view._mouse_moved(scene)
    event = QHelpEvent(QEvent.Type.ToolTip, at, view.plot.mapToGlobal(at))
    if picture:
        assert view.hover_preview.eventFilter(view.plot, event)
    else:
        QToolTip.showText(event.globalPos(), view.plot.toolTip(), view.plot)
    app.processEvents()
    seconds = time.perf_counter() - start
    view.hover_preview.tip.hide_preview()
    QToolTip.hideText()
    view.state.set_hover(-1)
    app.processEvents()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=Path("/tmp/bench-thumbnails"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-previews"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hovers", type=int, default=200)
    args = parser.parse_args()
    if not (args.images / "images.parquet").exists():
        sys.exit(f"no images in {args.images}: run tests/benchmarks/bench_thumbnails.py first")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    library = picture_set(args.images, args.work)
    window, view = open_window(app, library, args.work)
    summary: dict[str, list[float]] = {}
    for run in range(args.runs):
        view.fit()
        app.processEvents()
        rows = hover_rows(view, args.hovers, np.random.default_rng(run))
        window.state.thumbnails.set_store(window.state.thumbnails.store,
                                          window.state.thumbnails.set_id)  # a cold LRU
        figures = {"text": [], "cold": [], "warm": []}
        for i, row in enumerate(rows):  # interleaved, so load changes hit both alike
            order = [("text", False), ("cold", True)] if i % 2 else [("cold", True),
                                                                     ("text", False)]
            for name, picture in order:
                figures[name].append(one_hover(app, view, row, picture))
            figures["warm"].append(one_hover(app, view, row, True))
        for name, times in figures.items():
            ms = np.asarray(times) * 1000
            record = emit(what=f"hover {name}", run=run, rows=len(ms),
                          median_ms=round(float(np.median(ms)), 2),
                          p95_ms=round(float(np.percentile(ms, 95)), 2))
            summary.setdefault(f"{name} median", []).append(record["median_ms"])
            summary.setdefault(f"{name} p95", []).append(record["p95_ms"])
    medians = {k: statistics.median(v) for k, v in summary.items()}
    emit(what="summary (median of runs, ms)", **medians,
         cold_over_text=round(medians["cold median"] / medians["text median"], 2),
         bar_ms=50, within_bar=medians["cold p95"] <= 50)
    window.jobs.shutdown()
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
