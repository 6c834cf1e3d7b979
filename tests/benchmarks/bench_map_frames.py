"""Frame times of the map while panning, next to pyqtgraph's ScatterPlotItem on the same data.

For 100k / 1M / 10M clustered points in 20 categories, in one run:
  * ours: MapView panning in steps of 3% of the view (the cached raster is moved;
    the frame is the repaint of the plot), plus the time to draw a sharp new
    raster once the view settles (done in a worker thread in the app);
  * baseline: pg.ScatterPlotItem (pxMode, shared brushes per category: its fast
    path) in a PlotWidget of the same size, panned the same way.
Prints JSON lines and a summary with medians and ratios (baseline / ours).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_map_frames.py [--sizes 100000,1000000,10000000]
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
import pyqtgraph as pg  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from explorer.compute.spatial import GridIndex  # noqa: E402
from explorer.core.colouring import Colouring  # noqa: E402
from explorer.core.jobs import TaskState  # noqa: E402
from explorer.core.library import Library  # noqa: E402
from explorer.ui.panels.base import PanelContext  # noqa: E402
from explorer.ui.state import AppState  # noqa: E402
from explorer.ui.panels.map.panel import MapView, palette_for, render_layers  # noqa: E402
from explorer.ui.workers import JobRunner  # noqa: E402

SIZE = (1200, 800)


def clustered(n: int, k: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(k, 2))
    codes = rng.integers(0, k, n).astype(np.int16)
    xy = centres[codes] + rng.normal(scale=rng.uniform(0.3, 1.5, k)[codes, None], size=(n, 2))
    return xy.astype(np.float32), codes


def pan_frames(widget, viewbox, app, steps: int) -> list[float]:
    times = []
    for i in range(steps):
        rect = viewbox.viewRect()
        dx = rect.width() * 0.03 * (1 if (i // 10) % 2 == 0 else -1)
        viewbox.translateBy(x=dx)
        t0 = time.perf_counter()
        app.processEvents()
        widget.grab()  # a full repaint of the plot, as a frame on screen
        times.append(time.perf_counter() - t0)
    return times


def ours(app, xy, codes, steps: int) -> dict:
    state, jobs = AppState(), JobRunner()
    view = MapView(PanelContext(state, jobs, Library(Path(tempfile.mkdtemp()))))
    view.resize(*SIZE)
    view.show()
    app.processEvents()
    labels = [str(i) for i in range(int(codes.max()) + 1)]
    t0 = time.perf_counter()
    index = GridIndex(xy)
    index_s = time.perf_counter() - t0
    view.coords, view.index = xy, index
    view.colouring = Colouring("c", "categorical", codes=codes, labels=labels,
                               counts=[int(c) for c in np.bincount(codes)])
    view.fit()
    app.processEvents()
    renders = []
    for _ in range(5):  # a settled view: what the worker thread does after a pan or zoom
        layers = view.layers()  # what the view would hand a worker for this view
        t0 = time.perf_counter()
        result = render_layers(layers, TaskState())
        renders.append(time.perf_counter() - t0)
    view.show_render(result, layers.rect)
    app.processEvents()
    frames = pan_frames(view.plot, view.viewbox, app, steps)
    jobs.shutdown()
    view.close()
    view.deleteLater()
    app.processEvents()
    return {"index_s": index_s, "render_s": statistics.median(renders), "mode": result[2][0],
            "frame_s": statistics.median(frames), "frame_max_s": max(frames)}


def baseline(app, xy, codes, steps: int) -> dict:
    plot = pg.PlotWidget()
    plot.resize(*SIZE)
    plot.show()
    palette = palette_for(Colouring("c", "categorical", codes=codes,
                                    labels=[str(i) for i in range(int(codes.max()) + 1)]))
    brushes = [pg.mkBrush(*map(int, c)) for c in palette]
    t0 = time.perf_counter()
    item = pg.ScatterPlotItem(x=xy[:, 0], y=xy[:, 1], size=4, pen=None,
                              brush=[brushes[c] for c in codes], pxMode=True)
    plot.addItem(item)
    plot.autoRange()
    app.processEvents()
    plot.grab()
    setup_s = time.perf_counter() - t0
    frames = pan_frames(plot, plot.getViewBox(), app, steps)
    plot.close()
    plot.deleteLater()
    app.processEvents()
    return {"setup_s": setup_s, "frame_s": statistics.median(frames), "frame_max_s": max(frames)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="100000,1000000,10000000")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--baseline-max", type=int, default=10_000_000,
                   help="skip the ScatterPlotItem baseline above this many points")
    args = p.parse_args()
    app = QApplication.instance() or QApplication([])
    summary = []
    for n in map(int, args.sizes.split(",")):
        xy, codes = clustered(n)
        ours_r = ours(app, xy, codes, args.steps)
        print(json.dumps({"points": n, "who": "ours", **{k: round(v, 4) if isinstance(v, float) else v
                                                       for k, v in ours_r.items()}}), flush=True)
        base_r = None
        if n <= args.baseline_max:
            base_r = baseline(app, xy, codes, max(3, args.steps // (10 if n >= 5_000_000 else 1)))
            print(json.dumps({"points": n, "who": "ScatterPlotItem",
                              **{k: round(v, 4) for k, v in base_r.items()}}), flush=True)
        summary.append((n, ours_r, base_r))
    print()
    print(f"{'points':>10}  {'ours frame':>11}  {'ours redraw':>11}  {'mode':>8}  "
          f"{'ScatterPlotItem frame':>22}  {'ratio':>7}")
    for n, o, b in summary:
        ratio = f"{b['frame_s'] / o['frame_s']:.0f}x" if b else "-"
        base = f"{b['frame_s'] * 1000:.1f} ms" if b else "skipped"
        print(f"{n:>10,}  {o['frame_s'] * 1000:>8.1f} ms  {o['render_s'] * 1000:>8.1f} ms  "
              f"{o['mode']:>8}  {base:>22}  {ratio:>7}")


if __name__ == "__main__":
    main()
