"""Where cluster labels go on the screen: which level shows at this zoom, and no overlaps.

Pure geometry, no Qt: the map panel measures each label's text once and calls `place_labels` on
every pan and zoom, so it must stay cheap (a few hundred candidates in a few milliseconds:
`tests/benchmarks/bench_labels.py` times it).

Level of detail comes from each cluster's size on the screen, not from a zoom number: a
cluster's label is a candidate once the cluster spans at least SHOW_RADIUS_PX (the coarsest
level always is), and a cluster of a coarser level steps aside once it is bigger than the
view (we are inside it: its finer clusters say more). So the whole map shows the coarse
names, and zooming in brings the finer ones in where their clusters have grown, big
clusters first. Candidates are placed greedily by priority (coarser level first, then the
bigger cluster), each on its anchor or just beside it, and dropped when their box
would overlap one placed before (a grid of placed boxes keeps the test local).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.compute.clusters.model import ClusterMap

SHOW_RADIUS_PX = 30.0  # a finer cluster's label shows once the cluster is this big on screen
HIDE_VIEW_SHARE = 0.6  # a coarser cluster's label gives way once its radius is 0.6 of the view
GAP_PX = 3.0  # between two labels' boxes
CELL_PX = 96.0  # side of the grid cells placed boxes are filed under
# where a box may sit, tried in turn: centred on its anchor, just above it, just below it,
# beginning at it, ending at it (in box widths and heights, plus a gap, from the centre)
SHIFTS = ((0.0, 0.0), (0.0, -1.0), (0.0, 1.0), (0.5, 0.0), (-0.5, 0.0))
MAX_LABELS_PER_MPX = 90  # at most this many labels per million pixels of view


@dataclass(frozen=True)
class Candidates:
    """Every cluster of every level as a label candidate, in priority order (coarse level
    first, then bigger clusters): what does not change while the view moves."""

    x: np.ndarray       # float64 (k,) the label's anchor on the map
    y: np.ndarray
    radius: np.ndarray  # float64 (k,) the cluster's spread on the map (RMS distance to its mean)
    level: np.ndarray   # int64 (k,)
    ident: np.ndarray   # int64 (k,) the cluster's id within its level
    count: np.ndarray   # int64 (k,)
    echo: np.ndarray    # int64 (k,) the candidate whose words this one repeats (its parent's), -1
    finest: int         # the finest level

    def __len__(self) -> int:
        return int(self.x.size)

    def find(self, level: int, ident: int) -> int:
        """The candidate of cluster `ident` on `level`, -1 when there is none."""
        hit = np.flatnonzero((self.level == level) & (self.ident == ident))
        return int(hit[0]) if hit.size else -1


@dataclass(frozen=True)
class Placement:
    """The labels placed for one view: candidates (in the order placed) and their boxes in
    screen pixels (left, top, right, bottom; y down), which never overlap."""

    index: np.ndarray  # int64 (m,)
    rects: np.ndarray  # float64 (m, 4)

    def at(self, px: float, py: float) -> int:
        """The candidate whose box holds the screen point (px, py), or -1."""
        r = self.rects
        hit = np.flatnonzero((r[:, 0] <= px) & (px <= r[:, 2]) & (r[:, 1] <= py) & (py <= r[:, 3]))
        return int(self.index[hit[-1]]) if hit.size else -1


EMPTY = Placement(np.zeros(0, np.int64), np.zeros((0, 4)))


def cluster_radii(coords: np.ndarray, column: np.ndarray, count: int) -> np.ndarray:
    """Each cluster's RMS distance from its mean on the map (count,): how big it is, so its
    size on the screen can be read from the zoom."""
    inside = column >= 0
    lab = column[inside]
    xy = np.asarray(coords, dtype=np.float64)[inside]
    n = np.maximum(np.bincount(lab, minlength=count), 1)
    spread = np.zeros(count)
    for axis in range(2):
        mean = np.bincount(lab, xy[:, axis], minlength=count) / n
        sq = np.bincount(lab, xy[:, axis] ** 2, minlength=count) / n
        spread += np.maximum(sq - mean ** 2, 0.0)
    return np.sqrt(spread)


def label_candidates(result: ClusterMap, coords: np.ndarray) -> Candidates:
    """The label candidates of `result` on the map `coords` (for a worker thread: one pass
    over the rows per level)."""
    xs, ys, radius, level, ident, count, labels, parent = [], [], [], [], [], [], [], []
    for lv in result.levels:
        clusters = lv.clusters
        radius.append(cluster_radii(coords, result.column(lv.level), len(clusters)))
        for c in clusters:
            xs.append(c.x)
            ys.append(c.y)
            level.append(c.level)
            ident.append(c.id)
            count.append(c.count)
            labels.append(frozenset(c.terms) or c.label)  # "a, b" repeats "b, a"
            parent.append(-1 if c.parent is None else c.parent)
    level_a = np.asarray(level, np.int64)
    ident_a = np.asarray(ident, np.int64)
    count_a = np.asarray(count, np.int64)
    order = np.lexsort((ident_a, -count_a, level_a))  # coarse first, then bigger
    where = {(int(level_a[i]), int(ident_a[i])): pos for pos, i in enumerate(order)}
    echo = np.full(len(order), -1, np.int64)
    for pos, i in enumerate(order):
        up = where.get((int(level_a[i]) - 1, int(parent[i])), -1) if parent[i] >= 0 else -1
        if up >= 0 and labels[order[up]] == labels[i]:
            echo[pos] = up
    radii = np.concatenate(radius) if radius else np.zeros(0)
    return Candidates(np.asarray(xs, np.float64)[order], np.asarray(ys, np.float64)[order],
                      radii[order], level_a[order], ident_a[order], count_a[order], echo,
                      max((lv.level for lv in result.levels), default=0))


def place_labels(cands: Candidates, widths: np.ndarray, heights: np.ndarray,
                 view: tuple[float, float, float, float], size: tuple[float, float],
                 show_px: float = SHOW_RADIUS_PX) -> Placement:
    """The labels to show for `view` = (x0, y0, x1, y1) of the map drawn on `size` = (width,
    height) screen pixels (y up on the map, down on the screen), and their boxes.

    `widths`/`heights` are each candidate's box in pixels (its text as drawn). A candidate
    is considered when its anchor is in view and its cluster is big enough on the screen
    (see the module's note); it is placed on its anchor, or just beside it (SHIFTS),
    inside the view and GAP_PX clear of every box placed before, else left out.
    """
    x0, y0, x1, y1 = view
    w_px, h_px = float(size[0]), float(size[1])
    if not len(cands) or x1 <= x0 or y1 <= y0 or w_px < 1 or h_px < 1:
        return EMPTY
    sx, sy = w_px / (x1 - x0), h_px / (y1 - y0)
    px = (cands.x - x0) * sx
    py = (y1 - cands.y) * sy
    r_px = cands.radius * min(sx, sy)
    big = HIDE_VIEW_SHARE * max(w_px, h_px)
    ok = (px >= 0) & (px <= w_px) & (py >= 0) & (py <= h_px)
    ok &= (cands.level == 0) | (r_px >= show_px)
    ok &= (cands.level == cands.finest) | (r_px <= big)
    ok &= (widths <= w_px) & (heights <= h_px)
    limit = max(1, int(MAX_LABELS_PER_MPX * w_px * h_px / 1e6))
    return greedy(np.flatnonzero(ok), px, py, widths, heights, cands.echo, (w_px, h_px), limit)


def greedy(order: np.ndarray, px: np.ndarray, py: np.ndarray, widths: np.ndarray,
           heights: np.ndarray, echo: np.ndarray, size: tuple[float, float],
           limit: int) -> Placement:
    """Place boxes centred on (px, py) in `order`, each where it overlaps none placed before
    (moved by one of SHIFTS if need be, kept inside `size`), at most `limit`.

    Placed boxes are filed under the CELL_PX grid cells they touch, so each test looks at
    the few boxes nearby: linear in the candidates, not quadratic.
    """
    w_px, h_px = size
    grid: dict[tuple[int, int], list[tuple[float, float, float, float]]] = {}
    placed: list[int] = []
    rects: list[tuple[float, float, float, float]] = []
    shown = np.zeros(len(px), dtype=bool)
    g = GAP_PX
    for i in order.tolist():
        if echo[i] >= 0 and shown[echo[i]]:
            continue  # the same words as its parent's label, which is shown
        w, h = float(widths[i]), float(heights[i])
        for dx, dy in SHIFTS:
            left = min(max(float(px[i]) - w / 2 + dx * (w + g), 0.0), w_px - w)
            top = min(max(float(py[i]) - h / 2 + dy * (h + g), 0.0), h_px - h)
            right, bottom = left + w, top + h
            cells = [(cx, cy) for cx in range(int((left - g) // CELL_PX),
                                               int((right + g) // CELL_PX) + 1)
                     for cy in range(int((top - g) // CELL_PX), int((bottom + g) // CELL_PX) + 1)]
            if any(left - g < r[2] and r[0] < right + g and top - g < r[3] and r[1] < bottom + g
                   for cell in cells for r in grid.get(cell, ())):
                continue
            box = (left, top, right, bottom)
            for cell in cells:
                grid.setdefault(cell, []).append(box)
            placed.append(i)
            rects.append(box)
            shown[i] = True
            break
        if len(placed) >= limit:
            break
    if not placed:
        return EMPTY
    return Placement(np.asarray(placed, np.int64), np.asarray(rects, np.float64))


__all__ = ["CELL_PX", "EMPTY", "GAP_PX", "HIDE_VIEW_SHARE", "MAX_LABELS_PER_MPX",
           "SHIFTS", "SHOW_RADIUS_PX", "Candidates", "Placement", "cluster_radii", "greedy",
           "label_candidates", "place_labels"]
