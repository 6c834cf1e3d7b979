"""Label placement per view: the map's grid placement (`clusters.place_labels`) against an
every-pair greedy baseline on the same candidates, and a 4K stress case. Run through
`bench_labels.py` (its note explains the views)."""

from __future__ import annotations

import statistics
import time

import numpy as np
from bench_records import emit, timed

CHAR_PX = (8.5, 7.4, 5.6)  # per level, coarse first: the map's 15/13/11 px fonts, measured
LINE_PX = (26.0, 24.0, 21.0)  # the same, halo and its rim included


def pairwise_greedy(order, px, py, widths, heights, echo, size, limit):
    """The baseline: `placement.greedy` testing each box against every placed one."""
    from explorer.compute.clusters import placement

    w_px, h_px = size
    g = placement.GAP_PX
    placed, rects = [], []
    shown = np.zeros(len(px), dtype=bool)
    for i in order.tolist():
        if echo[i] >= 0 and shown[echo[i]]:
            continue
        w, h = float(widths[i]), float(heights[i])
        for dx, dy in placement.SHIFTS:
            left = min(max(float(px[i]) - w / 2 + dx * (w + g), 0.0), w_px - w)
            top = min(max(float(py[i]) - h / 2 + dy * (h + g), 0.0), h_px - h)
            right, bottom = left + w, top + h
            if any(left - g < r[2] and r[0] < right + g and top - g < r[3] and r[1] < bottom + g
                   for r in rects):
                continue
            placed.append(i)
            rects.append((left, top, right, bottom))
            shown[i] = True
            break
        if len(placed) >= limit:
            break
    return placed


def placement_timing(es, projection) -> None:
    """Milliseconds of `place_labels` per view (see the module's note), against the baseline."""
    from explorer.compute import clusters as cl
    from explorer.compute.clusters import placement

    coords = np.asarray(projection.coords)
    result = cl.cached_cluster_map(es, projection)
    cands, t_cands = timed(lambda: cl.label_candidates(result, coords))
    chars = np.array([len(result.levels[lv].clusters[k].label[:40])
                      for lv, k in zip(cands.level, cands.ident)])
    style = np.minimum(cands.level, 2)
    widths = chars * np.take(CHAR_PX, style) + 6
    heights = np.take(LINE_PX, style)
    lo, hi = np.percentile(coords, 0.5, axis=0), np.percentile(coords, 99.5, axis=0)
    fine = result.levels[-1].clusters[0]
    rng = np.random.default_rng(0)
    emit(what="placement_candidates", count=len(cands), seconds=round(t_cands, 3))
    for size in ((1400, 900), (740, 560)):
        aspect = size[1] / size[0]
        span = max(hi[0] - lo[0], (hi[1] - lo[1]) / aspect)
        views = {}
        for name, zoom, (cx, cy) in (("whole", 1, (lo + hi) / 2), ("4x", 4, (fine.x, fine.y)),
                                     ("16x", 16, (fine.x, fine.y))):
            w = span / zoom
            views[name] = [(cx - w / 2, cy - w * aspect / 2, cx + w / 2, cy + w * aspect / 2)]
        views["random"] = []
        for _ in range(300):
            w = span / 2 ** rng.uniform(1, 6)
            cx, cy = rng.uniform(lo, hi)
            views["random"].append((cx - w / 2, cy - w * aspect / 2, cx + w / 2, cy + w * aspect / 2))
        for name, boxes in views.items():
            ours, base, placed = [], [], []
            for view in boxes:
                for _ in range(5 if name != "random" else 1):
                    t0 = time.perf_counter()
                    got = cl.place_labels(cands, widths, heights, view, size)
                    ours.append(time.perf_counter() - t0)
                placed.append(len(got.index))
                # the baseline on the same candidates (the level-of-detail filter included)
                t0 = time.perf_counter()
                x0, y0, x1, y1 = view
                sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
                px, py = (cands.x - x0) * sx, (y1 - cands.y) * sy
                r_px = cands.radius * min(sx, sy)
                ok = (px >= 0) & (px <= size[0]) & (py >= 0) & (py <= size[1])
                ok &= (cands.level == 0) | (r_px >= placement.SHOW_RADIUS_PX)
                ok &= (cands.level == cands.finest) | \
                    (r_px <= placement.HIDE_VIEW_SHARE * max(size))
                limit = max(1, int(placement.MAX_LABELS_PER_MPX * size[0] * size[1] / 1e6))
                ref = pairwise_greedy(np.flatnonzero(ok), px, py, widths, heights, cands.echo,
                                      size, limit)
                base.append(time.perf_counter() - t0)
                assert ref == got.index.tolist(), "the grid placed other labels than the baseline"
            emit(what="placement", size=f"{size[0]}x{size[1]}", view=name, views=len(boxes),
                 ms_median=round(1000 * statistics.median(ours), 3),
                 ms_max=round(1000 * max(ours), 3), placed_median=statistics.median(placed),
                 placed_max=max(placed),
                 baseline_ms_median=round(1000 * statistics.median(base), 3),
                 baseline_ms_max=round(1000 * max(base), 3))


def placement_stress() -> None:
    """The worst case the grid is for: 3,000 candidates, all big enough and in view, on a
    3840x2160 plot (a 4K screen; up to 746 labels), against the every-pair baseline."""
    from explorer.compute import clusters as cl
    from explorer.compute.clusters import placement

    rng = np.random.default_rng(1)
    k, size = 3000, (3840, 2160)
    cands = cl.Candidates(rng.uniform(0, 100, k), rng.uniform(0, 100, k), np.full(k, 50.0),
                          np.zeros(k, np.int64), np.arange(k), np.arange(k, 0, -1),
                          np.full(k, -1), 0)
    widths, heights = rng.uniform(40, 200, k), np.full(k, 19.0)
    view = (0.0, 0.0, 100.0, 100.0 * size[1] / size[0])
    got, t_ours = timed(lambda: cl.place_labels(cands, widths, heights, view, size), repeat=3)
    sx = size[0] / 100.0
    px, py = cands.x * sx, (view[3] - cands.y) * sx
    ok = np.flatnonzero((py >= 0) & (py <= size[1]))
    limit = int(placement.MAX_LABELS_PER_MPX * size[0] * size[1] / 1e6)
    ref, t_base = timed(lambda: pairwise_greedy(ok, px, py, widths, heights, cands.echo, size,
                                                limit))
    assert ref == got.index.tolist(), "the grid placed other labels than the baseline"
    emit(what="placement", size="3840x2160", view="stress", views=1,
         ms_median=round(1000 * t_ours, 3), ms_max=round(1000 * t_ours, 3),
         placed_median=len(got.index), placed_max=len(got.index),
         baseline_ms_median=round(1000 * t_base, 3), baseline_ms_max=round(1000 * t_base, 3))
