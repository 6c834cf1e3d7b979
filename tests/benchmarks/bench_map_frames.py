"""Frame times of the map while panning, next to pyqtgraph's ScatterPlotItem on the same data.

For 100k / 1M / 10M clustered points in 20 categories, in one run:
  * ours: MapView panning in steps of 3% of the view (the cached raster is moved;
    the frame is the repaint of the plot), plus the time to draw a sharp new
    raster once the view settles (done in a worker thread in the app);
  * baseline: pg.ScatterPlotItem (pxMode, shared brushes per category: its fast
    path) in a PlotWidget of the same size, panned the same way.
Prints JSON lines and a summary with medians and ratios (baseline / ours).

With --zoom (issue 18): the redraw after a wheel zoom, render_layers as the map panel calls
it, for the views of bench_map_render.zoom_views (1x, 1.25x, 1.5x, 2x, 3x, 4x of the
1200 x 800 plot around the centre and the densest cell; the image 1.5x the plot each way),
each drawn four ways, interleaved, median of --reps: per layer (the baseline: one
density_image a layer, laid over each other, as before the one-pass layers), today's
per-point path (no pyramid: the layers in one pass, `raster.density_layers_image`, its
pixel rows in bands drawn in a thread each; "!" when its image is not the per-layer one
bit for bit; "1 band": the same in one thread) and as the app draws it (with the
panel's pyramid built; the ratio is per layer / this). Colourings: 20 categories; "other"
(the 5 smallest as one "(other)" drawn grey under the rest); "filter" (a filter holding
back 50% of the rows); "mixed" (both). Also: the pyramid's build time (pyramids.build, as the panel's job) and
bytes; against today's image, the share of drawn pixels within 8 of alpha and 3 of
CIEDE2000 ("similar"), the ratio of mean alpha, and the tone error (alpha averaged over
4 x 4 blocks) next to today's own image panned half a pixel; and the worst view's median
against <= 15 ms at 1M and <= 40 ms at 10M.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_map_frames.py [--sizes 100000,1000000,10000000]
    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_map_frames.py --zoom --sizes 1000000,10000000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from explorer.compute.raster import density_layers  # noqa: E402
from explorer.compute.spatial import GridIndex  # noqa: E402
from explorer.core.colouring import OTHER, Colouring  # noqa: E402
from explorer.core.jobs import TaskState  # noqa: E402
from explorer.core.library import Library  # noqa: E402
from explorer.ui.panels.base import PanelContext  # noqa: E402
from explorer.ui.maps import render  # noqa: E402
from explorer.ui.panels.map.panel import MapView, palette_for, render_layers  # noqa: E402
from explorer.ui.maps.pyramids import PyramidCache, build, source_for  # noqa: E402
from explorer.ui.maps.render import Layers  # noqa: E402
from explorer.ui.state import AppState  # noqa: E402
from explorer.ui.workers import JobRunner  # noqa: E402

SIZE = (1200, 800)
ZOOM_LIMITS = {1_000_000: 0.015, 10_000_000: 0.040}


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


def zoom_colourings(n: int, codes: np.ndarray):
    """(name, Colouring, rows the filter lets through or None) for the --zoom variants."""
    k = int(codes.max()) + 1
    labels = [str(i) for i in range(k)]
    plain = Colouring("c", "categorical", codes=codes, labels=labels,
                      counts=np.bincount(codes, minlength=k).tolist())
    smallest = np.argsort(np.bincount(codes, minlength=k))[:5]
    keep = np.setdiff1d(np.arange(k), smallest)
    remap = np.full(k, len(keep), np.int16)
    remap[keep] = np.arange(len(keep))
    merged = remap[codes]
    other = Colouring("c", "categorical", codes=merged, labels=[labels[i] for i in keep]
                      + [OTHER], counts=np.bincount(merged, minlength=len(keep) + 1).tolist())
    passes = np.flatnonzero(np.random.default_rng(7).random(n) < 0.5)
    yield "categories", plain, None
    yield "other", other, None
    yield "filter", plain, passes
    yield "mixed", other, passes


def zoom_redraws(n: int, xy: np.ndarray, codes: np.ndarray, reps: int,
                 bins_per_pixel: list[int]) -> list[dict]:
    """Redraw after zoom, today's path against the pyramid's, per colouring and view."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_map_render import PLOT, densest_cell, similar_share, zoom_views

    index = GridIndex(xy)
    W, H = int(PLOT[0] * 1.5), int(PLOT[1] * 1.5)
    out = []
    for name, colouring, passes in zoom_colourings(n, codes):
        def layers(rect, cache, colouring=colouring, passes=passes):
            return Layers(xy, index, rect, W, H, colouring, None, frozenset(), 3,
                          np.zeros(0, np.int64), None, {}, filtered=passes, pyramids=cache)

        views = zoom_views(index, densest_cell(index))
        source = source_for(layers(views[0][1], None))
        builds = []
        for _ in range(3 if n < 5_000_000 else 1):
            t = time.perf_counter()
            pyramid = build(source, TaskState())
            builds.append(time.perf_counter() - t)
        caches = {}
        for bpp in bins_per_pixel:
            caches[bpp] = PyramidCache()
            caches[bpp].bins_per_pixel = bpp
            caches[bpp].add(source, pyramid)
        out.append({"points": n, "colouring": name, "stage": "pyramid_build",
                    "median_s": round(statistics.median(builds), 4), "bytes": pyramid.nbytes})
        print(json.dumps(out[-1]), flush=True)
        for view, rect in views:
            today_l = layers(rect, None)
            new_l = {bpp: layers(rect, cache) for bpp, cache in caches.items()}
            want = render_layers(today_l, TaskState())  # warm, and the image to match
            dx, dy = (rect[1] - rect[0]) / W / 2, (rect[3] - rect[2]) / H / 2
            panned = render_layers(layers((rect[0] + dx, rect[1] + dx, rect[2] + dy,
                                           rect[3] + dy), None), TaskState())[0]
            got = {bpp: render_layers(lay, TaskState()) for bpp, lay in new_l.items()}
            with per_layer():
                layered = render_layers(today_l, TaskState())[0]
            t_layers, t_one, t_old, t_new = [], [], [], {bpp: [] for bpp in new_l}
            for _ in range(reps):  # interleaved
                with per_layer():
                    t = time.perf_counter()
                    render_layers(today_l, TaskState())
                    t_layers.append(time.perf_counter() - t)
                with one_band():
                    t = time.perf_counter()
                    render_layers(today_l, TaskState())
                    t_one.append(time.perf_counter() - t)
                t = time.perf_counter()
                render_layers(today_l, TaskState())
                t_old.append(time.perf_counter() - t)
                for bpp, lay in new_l.items():
                    t = time.perf_counter()
                    render_layers(lay, TaskState())
                    t_new[bpp].append(time.perf_counter() - t)
            for bpp, lay in new_l.items():
                mode = got[bpp][2][0]
                out.append({"points": n, "colouring": name, "stage": view, "mode": mode,
                            "bins_per_pixel": bpp, "from_pyramid": mode == "density"
                            and caches[bpp].image(lay) is not None,
                            "per_layer_s": round(statistics.median(t_layers), 4),
                            "one_pass_same": bool(np.array_equal(layered, want[0])),
                            "one_band_s": round(statistics.median(t_one), 4),
                            "today_s": round(statistics.median(t_old), 4),
                            "pyramid_s": round(statistics.median(t_new[bpp]), 4),
                            "similar": round(similar_share(got[bpp][0], want[0]), 4),
                            "alpha_ratio": round(float(got[bpp][0][..., 3].mean())
                                                 / max(float(want[0][..., 3].mean()), 1e-9), 3),
                            "tone_err": round(tone_error(got[bpp][0], want[0]), 2),
                            "tone_err_half_pan": round(tone_error(panned, want[0]), 2)})
                print(json.dumps(out[-1]), flush=True)
    return out


@contextmanager
def one_band():
    """The per-point path in one thread (density_layers.BANDS = 1): what the bands bring."""
    bands = density_layers.BANDS
    density_layers.BANDS = 1
    try:
        yield
    finally:
        density_layers.BANDS = bands


@contextmanager
def per_layer():
    """render_layers as before the one-pass density layers: one density_image a layer."""
    one_pass = render.density_layers
    render.density_layers = lambda *_args: None
    try:
        yield
    finally:
        render.density_layers = one_pass


def tone_error(a: np.ndarray, b: np.ndarray, k: int = 4) -> float:
    """Mean absolute difference of alpha averaged over k x k pixel blocks: how far apart
    two images' tone is (a per-pixel share calls a smooth image far from a speckled one)."""
    h, w = a.shape[0] // k * k, a.shape[1] // k * k

    def tone(img):
        return img[:h, :w, 3].astype(np.float64).reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    return float(np.abs(tone(a) - tone(b)).mean())


def zoom_summary(rows: list[dict]) -> None:
    print(f"\n{'points':>10}  {'colouring':>15}  {'build':>7}  {'MB':>6}  {'per layer':>9}  "
          f"{'1 band':>9}  {'one pass':>9}  {'worst app':>9}  {'ratio':>6}  {'alpha':>9}  {'tone err/pan':>12}  "
          f"target")
    for n in dict.fromkeys(r["points"] for r in rows):
        for name, bpp in dict.fromkeys((r["colouring"], r["bins_per_pixel"]) for r in rows
                                       if r["points"] == n and "bins_per_pixel" in r):
            got = [r for r in rows if r["points"] == n and r["colouring"] == name]
            b = next(r for r in got if r["stage"] == "pyramid_build")
            views = [r for r in got if r.get("bins_per_pixel") == bpp]
            layered = max(r["per_layer_s"] for r in views)
            one = max(r["one_band_s"] for r in views)
            old = max(r["today_s"] for r in views)
            new = max(r["pyramid_s"] for r in views)
            same = all(r["one_pass_same"] for r in views)
            limit = ZOOM_LIMITS.get(n)
            verdict = "-" if limit is None else \
                f"<= {limit * 1000:.0f} ms {'OK' if new <= limit else 'MISSED'}"
            print(f"{n:>10,}  {name + ' ' + str(bpp) + '/px':>15}  {b['median_s']:>6.2f}s  {b['bytes'] / 1e6:>6.1f}  "
                  f"{layered * 1000:>6.1f} ms  {one * 1000:>6.1f} ms  "
                  f"{old * 1000:>6.1f} ms{' ' if same else '!'} "
                  f"{new * 1000:>6.1f} ms  {layered / new:>5.1f}x  "
                  f"{min(r['alpha_ratio'] for r in views):.2f}-{max(r['alpha_ratio'] for r in views):.2f}"
                  f"  {max(r['tone_err'] for r in views):>5.1f}/"
                  f"{max(r['tone_err_half_pan'] for r in views):<6.1f}  {verdict}")
    print(f"load {Path('/proc/loadavg').read_text().strip()}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="100000,1000000,10000000")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--baseline-max", type=int, default=10_000_000,
                   help="skip the ScatterPlotItem baseline above this many points")
    p.add_argument("--zoom", action="store_true",
                   help="only the redraw after zoom, today's path against the pyramid's")
    p.add_argument("--reps", type=int, default=5, help="--zoom: redraws per view and path")
    p.add_argument("--bins-per-pixel", default="2",
                   help="--zoom: the pyramid levels read (level_for), e.g. 2,1 to time both")
    args = p.parse_args()
    if args.zoom:
        print(f"load {Path('/proc/loadavg').read_text().strip()}", flush=True)
        rows = []
        for n in map(int, args.sizes.split(",")):
            rows += zoom_redraws(n, *clustered(n), args.reps,
                                 [int(b) for b in args.bins_per_pixel.split(",")])
        zoom_summary(rows)
        return
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
