"""Benchmark: map spatial index and rendering at 100k / 1M / 10M points.

Not a pytest test (run it by hand):

    .venv/bin/python tests/benchmarks/bench_map_render.py [--sizes 100000,1000000,10000000]
        [--reps 5] [--width 1600 --height 1000] [--no-numpy] [--pyramid [--bins-per-pixel 2,1]]

Data: a clustered Gaussian mixture (20 clusters of different sizes and
spreads, float32), one category per cluster. For each size it times, with
`time.perf_counter` (medians over --reps unless noted):

  build          GridIndex(coords): numba counting sort (steady state), the
                 first build in the process (numba import + disk-cache load,
                 or compile on a cold cache), and the numpy argsort path
  nearest        GridIndex.nearest(x, y, 5 px) at 1000 mouse positions
                 (half on points, half uniform over the view)
  in_view        GridIndex.in_view count for a zoomed view
  lasso          in_polygon for a ~100-vertex lasso holding ~20% of points
                 vs a brute-force vectorised ray casting over every point
                 (numpy, loop over edges); results must be equal
  density_*      density_image at WIDTHxHEIGHT of the whole map: categories
                 in row order, categories in index (cell) order with spans,
                 count colouring, value colouring; numpy fallback too
  points_*       points_image, radius 3, categories: every point in view
                 (worst case), and a zoomed view drawn with order=in_box rows
  blend_*        blend_image (translucent discs, no outlines) on the same two views, at
                 the radius and opacity blend_style picks for them, points in cell order
                 (index.sorted_coords, the view's spans) as the map feeds them: what it draws
                 instead of outlined discs while a view is crowded; points_* are its
                 baseline, measured in the same run, and the ratio is printed
  render_*       the map panel's render_layers on the zoomed view coloured by category,
                 with and without an "(other)" category (drawn as a second pass under
                 the others)
  pan            density frames for a view panned in 10 steps (index order)
  pyramid_*      with --pyramid (issue 18): build_pyramid's time and bytes, then the redraw
                 after each view a wheel zoom makes (1x, 1.25x, 1.5x, 2x, 3x, 4x of a
                 1200 x 800 plot showing the whole map, around the map's centre and around
                 its densest cell; the image is 1.5x the plot each way, as the map panel
                 draws it) with pyramid_image, next to today's density layers (density_image
                 per layer in index order with spans, composite_over) for the same view,
                 interleaved, median of --reps; plus the share of drawn pixels within 8 of
                 alpha and 3 of CIEDE2000 (next to today's image panned half a pixel: what
                 a sub-pixel shift alone changes), and the counts in view (pyramid / points);
                 each for --bins-per-pixel (default "2,1": level_for's wish, timed together). Two
                 colourings: 20 categories, and "mixed" (the 5 smallest as "(other)" under
                 the others, and a filter holding back half the rows)

Each measurement prints one JSON line; a summary table follows, with the
targets: lasso over 1M <= 100 ms, a render <= 33 ms at 1M and <= 100 ms at
10M (the UI pans a cached image; render time is the delay to a sharp image).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np


def make_data(n: int, k: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-50, 50, (k, 2))
    spread = rng.uniform(0.5, 4.0, k)
    weights = rng.dirichlet(np.full(k, 2.0))
    lab = rng.choice(k, size=n, p=weights).astype(np.int32)
    xy = rng.standard_normal((n, 2), dtype=np.float32)
    xy *= spread[lab, None].astype(np.float32)
    xy += centres[lab].astype(np.float32)
    return xy, lab


def lasso(coords: np.ndarray, frac: float = 0.2, m: int = 100, seed: int = 1):
    """A wobbly ~m-vertex loop around the data's centre scaled to hold ~frac of the points."""
    from explorer.compute.spatial import crossing_parity

    rng = np.random.default_rng(seed)
    sample = coords[rng.choice(len(coords), size=min(len(coords), 50_000), replace=False)]
    cx, cy = np.median(sample, axis=0)
    ang = np.linspace(0, 2 * np.pi, m, endpoint=False)
    shape = 1.0 + 0.35 * np.sin(3 * ang + 0.5) + 0.15 * rng.standard_normal(m)
    lo, hi = 0.1, 200.0
    for _ in range(30):
        r = math.sqrt(lo * hi)
        xs, ys = cx + r * shape * np.cos(ang), cy + r * shape * np.sin(ang)
        f = crossing_parity(sample[:, 0], sample[:, 1], xs, ys).mean()
        lo, hi = (r, hi) if f < frac else (lo, r)
    return xs, ys


def brute_lasso(coords: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Plain vectorised ray casting over every point (loop over edges)."""
    X = coords[:, 0].astype(np.float64)
    Y = coords[:, 1].astype(np.float64)
    inside = np.zeros(len(X), dtype=bool)
    j = len(xs) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(xs)):
            xi, yi, xj, yj = xs[i], ys[i], xs[j], ys[j]
            cond = (yi > Y) != (yj > Y)
            xint = (xj - xi) * (Y - yi) / (yj - yi) + xi
            inside ^= cond & (X < xint)
            j = i
    return np.flatnonzero(inside)


def timed(fn, reps: int):
    times, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), out


def emit(rec: dict, rows: list):
    rows.append(rec)
    print(json.dumps(rec), flush=True)


def bench_size(n: int, args, rows: list):
    from explorer.compute import raster, spatial
    from explorer.compute.raster import (
        categorical_palette,
        choose_mode,
        density_image,
        points_image,
    )
    from explorer.compute.spatial import GridIndex, spans_to_positions

    W, H, reps = args.width, args.height, args.reps
    xy, lab = make_data(n)
    base = {"n": n}

    t = time.perf_counter()
    idx = GridIndex(xy)
    first = time.perf_counter() - t
    med, best, idx = timed(lambda: GridIndex(xy), max(1, min(reps, 3)))
    emit({**base, "stage": "build", "median_s": med, "min_s": best, "first_s": first,
          "numba": idx.used_numba, "grid": [idx.nx, idx.ny]}, rows)
    if not args.no_numpy:
        med, best, _ = timed(lambda: GridIndex(xy, use_numba=False), 1)
        emit({**base, "stage": "build_numpy", "median_s": med}, rows)

    x0, y0, x1, y1 = idx.bounds
    pad = 0.02 * max(x1 - x0, y1 - y0)
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    # keep the pixel aspect square
    sx, sy = (x1 - x0) / W, (y1 - y0) / H
    px = max(sx, sy)
    cxv, cyv = (x0 + x1) / 2, (y0 + y1) / 2
    full = (cxv - px * W / 2, cxv + px * W / 2, cyv - px * H / 2, cyv + px * H / 2)

    rng = np.random.default_rng(3)
    radius = 5 * px
    on_pts = xy[rng.integers(0, n, 500)].astype(np.float64)
    uni = np.column_stack([rng.uniform(full[0], full[1], 500), rng.uniform(full[2], full[3], 500)])
    qs = np.vstack([on_pts, uni])
    ts = []
    for qx, qy in qs:
        t = time.perf_counter()
        idx.nearest(qx, qy, radius)
        ts.append(time.perf_counter() - t)
    ts.sort()
    emit({**base, "stage": "nearest", "median_s": statistics.median(ts), "p99_s": ts[int(0.99 * len(ts))],
          "max_s": ts[-1], "radius_px": 5}, rows)

    zoom = (cxv - px * W / 8, cxv + px * W / 8, cyv - px * H / 8, cyv + px * H / 8)
    med, best, cnt = timed(lambda: idx.in_view(zoom[0], zoom[2], zoom[1], zoom[3]), 20)
    emit({**base, "stage": "in_view", "median_s": med, "count": cnt}, rows)

    xs, ys = lasso(xy)
    med, best, got = timed(lambda: idx.in_polygon(xs, ys), reps)
    bmed, bbest, ref = timed(lambda: brute_lasso(xy, xs, ys), max(1, min(reps, 3)))
    emit({**base, "stage": "lasso", "median_s": med, "min_s": best, "vertices": len(xs),
          "selected_frac": len(got) / n, "brute_median_s": bmed, "speedup": bmed / med,
          "equal": bool(np.array_equal(got, ref))}, rows)

    pal = categorical_palette(20)
    sorted_xy = idx.sorted_coords
    sorted_lab = idx.to_sorted(lab)
    vals = xy[:, 0] + xy[:, 1]
    vrange = (float(vals.min()), float(vals.max()))
    spans = idx.view_spans(full[0], full[2], full[1], full[3])
    cases = {
        "density_cat_roworder": lambda: density_image(xy, full, W, H, categories=lab, palette=pal),
        "density_cat_indexorder": lambda: density_image(sorted_xy, full, W, H, categories=sorted_lab,
                                                        palette=pal, spans=spans),
        "density_count": lambda: density_image(sorted_xy, full, W, H, spans=spans),
    }
    sorted_vals = idx.to_sorted(vals)
    cases["density_values"] = lambda: density_image(sorted_xy, full, W, H, values=sorted_vals,
                                                    value_range=vrange, spans=spans)
    for name, fn in cases.items():
        fn()  # warm (compile / cache load)
        med, best, img = timed(fn, reps)
        emit({**base, "stage": name, "median_s": med, "min_s": best, "size": [W, H],
              "drawn_px": int(np.count_nonzero(img[..., 3]))}, rows)
    if not args.no_numpy:
        spatial.USE_NUMBA = False
        try:
            for name in ("density_cat_roworder", "density_cat_indexorder"):
                med, best, _ = timed(cases[name], max(1, min(reps, 2)))
                emit({**base, "stage": name + "_numpy", "median_s": med, "size": [W, H]}, rows)
        finally:
            spatial.USE_NUMBA = True

    fn = lambda: points_image(xy, full, W, H, categories=lab, palette=pal, radius_px=3)
    fn()
    med, best, _ = timed(fn, max(1, min(reps, 3)))
    emit({**base, "stage": "points_all_in_view", "median_s": med, "min_s": best, "size": [W, H],
          "mode_would_be": choose_mode(n, W, H)}, rows)
    # a zoomed view holding at most ~200k points: what points mode really draws
    f = 1.0
    while True:
        zv = (cxv - px * W * f / 2, cxv + px * W * f / 2, cyv - px * H * f / 2, cyv + px * H * f / 2)
        cnt = idx.in_view(zv[0], zv[2], zv[1], zv[3])
        if choose_mode(cnt, W, H) == "points" or f < 1e-4:
            break
        f /= 1.5

    def zoomed():
        rows_in = idx.in_box(zv[0], zv[2], zv[1], zv[3])
        return points_image(xy, zv, W, H, categories=lab, palette=pal, radius_px=3, order=rows_in)

    zoomed()
    med, best, _ = timed(zoomed, reps)
    emit({**base, "stage": "points_zoomed_in_box", "median_s": med, "min_s": best, "in_view": cnt,
          "size": [W, H]}, rows)
    blend_views = [("blend_all_in_view", full, n), ("blend_zoomed_in_box", zv, cnt)]
    for name, view, count in blend_views:
        if choose_mode(count, W, H) != "points":
            continue  # density would be drawn: no blend to time
        _mode, r, a = raster.blend_style(count, W, H, 3)

        def blended(view=view, r=r, a=a):  # as the map draws it: points in cell order
            lo, hi = idx.view_spans(view[0], view[2], view[1], view[3])
            return raster.blend_image(sorted_xy, view, W, H, categories=sorted_lab, palette=pal,
                                      radius_px=r, alpha=a, order=spans_to_positions(lo, hi))

        blended()
        med, best, _ = timed(blended, reps)
        emit({**base, "stage": name, "median_s": med, "min_s": best, "in_view": count,
              "radius_px": r, "alpha": round(a, 3), "size": [W, H]}, rows)
    render_cases(n, xy, lab, idx, zv, W, H, reps, base, rows)
    sel = idx.in_polygon(xs, ys)
    hl = lambda: raster.highlight_image(xy, zv, W, H, sel)
    hl()
    med, best, _ = timed(hl, reps)
    emit({**base, "stage": "highlight_zoomed", "median_s": med, "selected": len(sel)}, rows)

    # panning: 10 frames, the view moving by 5% of its width each
    ts = []
    for k in range(10):
        dx = (k - 5) * 0.05 * (full[1] - full[0])
        v = (full[0] + dx, full[1] + dx, full[2], full[3])
        t = time.perf_counter()
        sp = idx.view_spans(v[0], v[2], v[1], v[3])
        density_image(sorted_xy, v, W, H, categories=sorted_lab, palette=pal, spans=sp)
        ts.append(time.perf_counter() - t)
    emit({**base, "stage": "pan_density_indexorder", "median_s": statistics.median(ts), "max_s": max(ts)}, rows)
    del xy, lab, idx


def render_cases(n, xy, lab, idx, view, W, H, reps, base, rows):
    """render_layers as the map panel calls it, one category per cluster, then with the
    smallest clusters as "(other)" (a second pass under the others)."""
    from explorer.core.colouring import OTHER, Colouring
    from explorer.core.jobs import TaskState
    from explorer.ui.maps.render import Layers, render_layers

    k = int(lab.max()) + 1
    labels = [f"c{i}" for i in range(k)]
    counts = np.bincount(lab, minlength=k).tolist()
    with_other = [*labels[:k - 5], OTHER]
    other_codes = np.minimum(lab, k - 5).astype(np.int16)
    other_counts = [*counts[:k - 5], sum(counts[k - 5:])]
    for name, colouring in (
            ("render_categories", Colouring("c", "categorical", codes=lab.astype(np.int16),
                                            labels=labels, counts=counts)),
            ("render_categories_other", Colouring("c", "categorical", codes=other_codes,
                                                  labels=with_other, counts=other_counts))):
        def render(colouring=colouring):
            layers = Layers(xy, idx, view, W, H, colouring, None, frozenset(), 3,
                            np.zeros(0, np.int64), None, {})
            return render_layers(layers, TaskState())

        render()
        med, best, out = timed(render, reps)
        emit({**base, "stage": name, "median_s": med, "min_s": best, "mode": out[2][0],
              "size": [W, H]}, rows)


PLOT = (1200, 800)  # bench_map_frames' plot; the image is 1.5x it each way (render.MARGIN)
ZOOMS = (1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
UNDER_ALPHA = np.rint(np.arange(256) * 0.6).astype(np.uint8)  # render.GREY_ALPHA
HELD_ALPHA = np.rint(np.arange(256) * 0.55).astype(np.uint8)  # render.FILTERED_OUT_ALPHA
HELD_GREY = (190, 190, 190, 255)


def zoom_views(idx, densest):
    """(name, image rect) for each wheel zoom around the centre and the densest cell."""
    x0, y0, x1, y1 = idx.bounds
    pad = 0.02 * max(x1 - x0, y1 - y0)
    px = max((x1 - x0 + 2 * pad) / PLOT[0], (y1 - y0 + 2 * pad) / PLOT[1])  # square pixels
    views = []
    for where, (cx, cy) in (("centre", ((x0 + x1) / 2, (y0 + y1) / 2)), ("dense", densest)):
        for z in ZOOMS:
            hw, hh = 0.75 * px * PLOT[0] / z, 0.75 * px * PLOT[1] / z  # 1.5x the plot
            views.append((f"{where}_{z:g}x", (cx - hw, cx + hw, cy - hh, cy + hh)))
    return views


def densest_cell(idx):
    counts = np.diff(idx.starts[: idx.nx * idx.ny + 1]).reshape(idx.ny, idx.nx)
    r, c = np.unravel_index(int(np.argmax(counts)), counts.shape)
    return idx.xmin + (c + 0.5) * idx.cell_w, idx.ymin + (r + 0.5) * idx.cell_h


def colourings(lab, k):
    """(name, palette, grey category mask, held-back rows or None)."""
    from explorer.compute.raster import categorical_palette

    pal = categorical_palette(k)
    yield "categories", pal, np.zeros(k, bool), None
    grey = np.zeros(k, bool)
    sizes = np.bincount(lab, minlength=k)
    grey[np.argsort(sizes)[:5]] = True
    mixed = pal.copy()
    mixed[grey] = (150, 150, 150, 255)
    held = np.random.default_rng(7).random(len(lab)) < 0.5
    yield "mixed", mixed, grey, held


def today_layers(sorted_xy, spans, sorted_lab, sorted_held, pal, grey, rect, W, H):
    """Today's density layers, as render_layers draws them (index order, spans)."""
    from explorer.compute.raster import composite_over, density_image

    lab = sorted_lab if sorted_held is None else np.where(sorted_held, -1, sorted_lab)
    kw = {"categories": lab, "palette": pal, "spans": spans}
    if grey.any():
        under = density_image(sorted_xy, rect, W, H, visible=grey, **kw)
        under[..., 3] = UNDER_ALPHA[under[..., 3]]
        base = composite_over(density_image(sorted_xy, rect, W, H, visible=~grey, **kw), under)
    else:
        base = density_image(sorted_xy, rect, W, H, **kw)
    if sorted_held is not None:
        held = density_image(sorted_xy, rect, W, H, categories=np.where(sorted_held, 0, -1),
                             palette=np.array([HELD_GREY], np.uint8), spans=spans)
        held[..., 3] = HELD_ALPHA[held[..., 3]]
        base = composite_over(base, held)
    return base


def similar_share(a, b, alpha_tol=8, de_tol=3.0):
    from explorer.compute.raster import ciede2000, srgb_to_lab

    drawn = (a[..., 3] > 0) | (b[..., 3] > 0)
    pa, pb = a[drawn], b[drawn]
    if not len(pa):
        return 1.0
    da = np.abs(pa[:, 3].astype(int) - pb[:, 3].astype(int))
    ok = da <= alpha_tol
    de = np.full(len(pa), np.inf)
    both = (pa[:, 3] > 0) & (pb[:, 3] > 0)
    de[both] = ciede2000(srgb_to_lab(pa[both, :3]), srgb_to_lab(pb[both, :3]))
    return float(np.mean(ok & (de <= de_tol)))


def bench_pyramid(n, args, rows):
    from explorer.compute.raster.pyramid import HELD, TOP, UNDER
    from explorer.compute.spatial import GridIndex

    xy, lab = make_data(n)
    idx = GridIndex(xy)
    for name, pal, grey, held in colourings(lab, int(lab.max()) + 1):
        layer = np.where(grey[lab], UNDER, TOP).astype(np.int8)
        if held is not None:
            layer[held] = HELD
        bench_colouring(idx, idx.to_sorted(lab), idx.to_sorted(layer),
                        None if held is None else idx.to_sorted(held), pal, grey,
                        {"n": n, "colouring": name}, args.reps, rows,
                        [int(b) for b in args.bins_per_pixel.split(",")])


def bench_colouring(idx, sorted_lab, sorted_layer, sorted_held, pal, grey, base, reps, rows,
                    bins_per_pixel):
    """Build one pyramid, then time every zoom view with it and with today's layers."""
    from functools import partial

    from explorer.compute.raster import choose_mode, density_counts
    from explorer.compute.raster.pyramid import (
        build_pyramid,
        level_for,
        pyramid_counts,
        pyramid_image,
    )

    W, H = int(PLOT[0] * 1.5), int(PLOT[1] * 1.5)
    build = partial(build_pyramid, idx, sorted_lab, sorted_layer, pal)
    t = time.perf_counter()
    build()
    first = time.perf_counter() - t
    med, _best, pyr = timed(build, 1 if base["n"] >= 5_000_000 else 3)
    emit({**base, "stage": "pyramid_build", "median_s": med, "first_s": first,
          "bytes": pyr.nbytes, "levels": len(pyr.levels),
          "finest_bins": [pyr.levels[-1].nx, pyr.levels[-1].ny]}, rows)
    kw = {"under_alpha": UNDER_ALPHA, "held_alpha": HELD_ALPHA, "held_colour": HELD_GREY,
          "buffers": {}}
    sorted_xy = idx.sorted_coords
    for view_name, rect in zoom_views(idx, densest_cell(idx)):
        spans = idx.view_spans(rect[0], rect[2], rect[1], rect[3])
        old = partial(today_layers, sorted_xy, spans, sorted_lab, sorted_held, pal, grey, rect,
                      W, H)
        news = {bpp: partial(pyramid_image, pyr, rect, W, H, bins_per_pixel=bpp, **kw)
                for bpp in bins_per_pixel}
        want = old()  # warm
        got = {bpp: new() for bpp, new in news.items()}
        t_old, t_new = [], {bpp: [] for bpp in news}
        for _ in range(reps):  # interleaved
            t = time.perf_counter()
            old()
            t_old.append(time.perf_counter() - t)
            for bpp, new in news.items():
                t = time.perf_counter()
                new()
                t_new[bpp].append(time.perf_counter() - t)
        n_in = int(idx.in_view(rect[0], rect[2], rect[1], rect[3]))
        dx, dy = (rect[1] - rect[0]) / W / 2, (rect[3] - rect[2]) / H / 2
        moved = (rect[0] + dx, rect[1] + dx, rect[2] + dy, rect[3] + dy)
        panned = today_layers(sorted_xy, idx.view_spans(moved[0], moved[2], moved[1], moved[3]),
                              sorted_lab, sorted_held, pal, grey, moved, W, H)
        exact = int(density_counts(sorted_xy, rect, W, H, spans=spans).sum())
        for bpp in news:
            rec = {**base, "stage": f"pyramid_{view_name}", "bins_per_pixel": bpp,
                   "today_s": statistics.median(t_old),
                   "median_s": statistics.median(t_new[bpp]) if got[bpp] is not None else None,
                   "level": level_for(pyr, rect, W, H, bins_per_pixel=bpp), "in_view": n_in,
                   "map_mode": choose_mode(n_in, *PLOT),
                   "similar_half_pan": round(similar_share(panned, want), 4)}
            if got[bpp] is not None:
                counted = int(pyramid_counts(pyr, rect, W, H, bins_per_pixel=bpp).sum())
                rec.update(similar=round(similar_share(got[bpp], want), 4),
                           counts_ratio=round(counted / max(exact, 1), 5))
            emit(rec, rows)


def pyramid_summary(rows, sizes):
    print("\nredraw after zoom (ms, median; today = density layers from points; similar = share "
          "of drawn pixels within 8 alpha and 3 CIEDE2000 of today's image, next to today's own "
          "image panned half a pixel)")
    print(f"{'n':>11} {'colouring':>11} {'view':>14} {'bins/px':>7} {'today':>8} {'pyramid':>8} {'level':>6} "
          f"{'similar':>8} {'½px pan':>8} {'counts':>8} {'mode':>8}")
    for r in rows:
        if not r["stage"].startswith("pyramid_") or r["stage"] == "pyramid_build":
            continue
        new = f"{r['median_s'] * 1000:8.1f}" if r["median_s"] is not None else f"{'points':>8}"
        print(f"{r['n']:>11,} {r['colouring']:>11} {r['stage'][8:]:>14} {r['bins_per_pixel']:>7} "
              f"{r['today_s'] * 1000:8.1f} "
              f"{new} {r['level']!s:>6} {r.get('similar', '-'):>8} "
              f"{r.get('similar_half_pan', '-'):>8} {r.get('counts_ratio', '-'):>8} "
              f"{r['map_mode']:>8}")
    for r in rows:
        if r["stage"] == "pyramid_build":
            print(f"build {r['n']:,} {r['colouring']}: {r['median_s'] * 1000:.0f} ms, "
                  f"{r['bytes'] / 1e6:.1f} MB, finest {r['finest_bins']}")
    for n, limit in ((1_000_000, 0.015), (10_000_000, 0.040)):
        for bpp in sorted({r.get("bins_per_pixel") for r in rows} - {None}):
            got = [r for r in rows if r["n"] == n and r.get("bins_per_pixel") == bpp]
            if not got:
                continue
            drawn = [r["median_s"] for r in got if r["median_s"] is not None]
            worst_old = max(r["today_s"] for r in got)
            worst = max(drawn) if drawn else float("nan")
            print(f"target redraw after zoom {n:,} <= {limit * 1000:.0f} ms, {bpp} bins/px: worst "
                  f"{worst * 1000:.1f} ms (today {worst_old * 1000:.1f} ms; "
                  f"{len(got) - len(drawn)} views past the finest level) "
                  f"{'OK' if worst <= limit else 'MISSED'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000,10000000")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--width", type=int, default=1600)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy-fallback timings")
    ap.add_argument("--pyramid", action="store_true",
                    help="only the density pyramid stages (redraw after zoom, issue 18)")
    ap.add_argument("--bins-per-pixel", default="2,1",
                    help="--pyramid: the bins across a pixel to time (level_for's choice)")
    args = ap.parse_args()
    rows: list[dict] = []
    t = time.perf_counter()
    import explorer.compute.raster  # noqa: F401

    print(json.dumps({"stage": "import", "seconds": time.perf_counter() - t, "cpus": os.cpu_count(),
                      "numpy": np.__version__}), flush=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for n in sizes:
        if args.pyramid:
            bench_pyramid(n, args, rows)
        else:
            bench_size(n, args, rows)
    if args.pyramid:
        pyramid_summary(rows, sizes)
        return

    print("\nsummary (ms; median)")
    stages = []
    for r in rows:
        if r["stage"] not in stages:
            stages.append(r["stage"])
    header = f"{'stage':28s}" + "".join(f"{n:>14,d}" for n in sizes)
    print(header)
    for st in stages:
        line = f"{st:28s}"
        for n in sizes:
            rec = next((r for r in rows if r["n"] == n and r["stage"] == st), None)
            line += f"{rec['median_s'] * 1000:14.2f}" if rec else f"{'-':>14s}"
        print(line)
    for r in rows:
        if r["stage"] == "lasso":
            print(f"lasso n={r['n']:,}: {r['median_s'] * 1000:.1f} ms vs brute {r['brute_median_s'] * 1000:.1f} ms "
                  f"({r['speedup']:.1f}x), {r['selected_frac']:.1%} selected, equal={r['equal']}")
    lasso_1m = next((r for r in rows if r["n"] == 1_000_000 and r["stage"] == "lasso"), None)
    if lasso_1m:
        print(f"target lasso 1M <= 100 ms: {'OK' if lasso_1m['median_s'] <= 0.1 else 'MISSED'}")
    for n in sizes:
        for blend, points in (("blend_all_in_view", "points_all_in_view"),
                              ("blend_zoomed_in_box", "points_zoomed_in_box"),
                              ("render_categories_other", "render_categories")):
            b = next((r for r in rows if r["n"] == n and r["stage"] == blend), None)
            p = next((r for r in rows if r["n"] == n and r["stage"] == points), None)
            if b and p:
                print(f"{blend} / {points} at {n:,}: {b['median_s'] * 1000:.1f} / "
                      f"{p['median_s'] * 1000:.1f} ms = {b['median_s'] / p['median_s']:.2f}x")
    for n, limit in ((1_000_000, 0.033), (10_000_000, 0.100)):
        rec = next((r for r in rows if r["n"] == n and r["stage"] == "density_cat_indexorder"), None)
        if rec:
            print(f"target density render {n:,} <= {limit * 1000:.0f} ms: {rec['median_s'] * 1000:.1f} ms "
                  f"{'OK' if rec['median_s'] <= limit else 'MISSED'}")


if __name__ == "__main__":
    main()
