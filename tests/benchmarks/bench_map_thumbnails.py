"""Benchmark (issue 21): panning the map zoomed in with a few hundred thumbnails in view,
against the plain map (the same view, the same pan, the thumbnail layer off) in the same run
(bar: <= 33 ms a frame).

Not collected by pytest. Run under the shared lock (it reuses bench_previews' library and
thumbnails in --work, building them the first time):

    flock /tmp/bench18.lock env QT_QPA_PLATFORM=offscreen .venv/bin/python \
        tests/benchmarks/bench_map_thumbnails.py [--runs 3] [--frames 120]

The window is 1400 x 900 with the 20,000-image set of bench_previews; the view is zoomed
until about --points points are in it (under the layer's MAX_IN_VIEW), the layer has decoded
them, then the view pans in steps of 2% of its width, a frame every 16 ms like a dragging
hand: a frame is the range change, the events it causes and a synchronous repaint of the
plot. Plain and thumbnail passes alternate within each run. Also: the layer's refresh once
the view settles (which rows are in view, which pixmaps it has), and the first decode job
(all pixmaps of a fresh view, in a worker). Medians of each run's median and p95, with
/proc/loadavg.

Measured (2026-12-05, offscreen, 299 thumbnails in view, 120 frames x 3 runs, load 1.2-1.3):
frames 4.10 ms median (p95 5.69) against the plain map's 2.57 (p95 3.65): ratio 1.60 (p95
1.56); the first decode job of a fresh view 86 ms (in a worker), a settled refresh 0.21 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_previews import open_window, picture_set, wait  # noqa: E402
from bench_records import emit  # noqa: E402

FRAME_S = 0.016


def zoom_to(app, view, points: int) -> None:
    """A view around the densest part of the map holding about `points` points."""
    coords = view.coords.astype(np.float64)
    centre = np.median(coords, axis=0)
    near = np.sort(np.abs(coords - centre).max(axis=1))
    half = float(near[min(points, len(near) - 1)])
    rect = view.viewbox.viewRect()
    aspect = rect.height() / max(rect.width(), 1e-12)
    from PySide6.QtCore import QRectF

    view.viewbox.setRange(QRectF(centre[0] - half, centre[1] - half * aspect,
                                 2 * half, 2 * half * aspect), padding=0)
    app.processEvents()


def pan(app, view, frames: int, step: float) -> list[float]:
    """Frame times (s) of panning right then back, a frame each FRAME_S."""
    times = []
    viewport = view.plot.viewport()
    for i in range(frames):
        start = time.perf_counter()
        rect = view.viewbox.viewRect()
        dx = rect.width() * step * (1 if i < frames // 2 else -1)
        view.viewbox.translateBy(x=dx)
        app.processEvents()
        viewport.repaint()
        end = time.perf_counter()
        times.append(end - start)
        rest = FRAME_S - (end - start)
        if rest > 0:
            time.sleep(rest)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=Path("/tmp/bench-thumbnails"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-previews"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--points", type=int, default=300)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    library = picture_set(args.images, args.work)
    window, view = open_window(app, library, args.work)
    layer = view.thumbnail_layer
    summary: dict[str, list[float]] = {}
    for run in range(args.runs):
        zoom_to(app, view, args.points)
        layer._pixmaps.clear()  # a fresh view: time the decode job
        start = time.perf_counter()
        layer.refresh()
        assert wait(app, lambda: len(layer.item.pixmaps) >= 0.9 * len(layer.rows), 120)
        decode_s = time.perf_counter() - start
        in_view = len(layer.rows)
        settle = []
        for _ in range(20):
            t0 = time.perf_counter()
            layer.refresh()
            settle.append(time.perf_counter() - t0)
        passes = {}
        for name in (("plain", "thumbnails") if run % 2 == 0 else ("thumbnails", "plain")):
            layer.item.setVisible(name == "thumbnails")
            zoom_to(app, view, args.points)
            layer.refresh()
            wait(app, lambda: not view.pending(), 10)
            passes[name] = np.asarray(pan(app, view, args.frames, 0.02)) * 1000
        layer.item.setVisible(True)
        for name, ms in passes.items():
            record = emit(what=f"pan frames {name}", run=run, frames=len(ms),
                          thumbnails_in_view=in_view if name == "thumbnails" else 0,
                          median_ms=round(float(np.median(ms)), 2),
                          p95_ms=round(float(np.percentile(ms, 95)), 2))
            summary.setdefault(f"{name} median", []).append(record["median_ms"])
            summary.setdefault(f"{name} p95", []).append(record["p95_ms"])
        record = emit(what="layer", run=run, thumbnails_in_view=in_view,
                      decode_job_ms=round(decode_s * 1000, 1),
                      settle_refresh_ms=round(statistics.median(settle) * 1000, 2))
        summary.setdefault("decode job ms", []).append(record["decode_job_ms"])
        summary.setdefault("settle refresh ms", []).append(record["settle_refresh_ms"])
    medians = {k: statistics.median(v) for k, v in summary.items()}
    emit(what="summary (median of runs)", **medians,
         ratio_median=round(medians["thumbnails median"] / medians["plain median"], 2),
         ratio_p95=round(medians["thumbnails p95"] / medians["plain p95"], 2),
         bar_ms=33, within_bar=medians["thumbnails p95"] <= 33)
    window.jobs.shutdown()


if __name__ == "__main__":
    main()
