"""A uniform-grid spatial index over 2-D map coordinates (up to ~10M points).

The map view needs hit-testing (the point under the mouse), box and lasso
selection, and the number of points in view, on every interaction, without a
Python object per point. `GridIndex` lays a uniform grid over the data bounds
(about 8 points per cell, at most 4096 cells per axis and 4M cells), sorts
the points by cell (a stable counting sort) and keeps, per cell, where its
points start in that order. A query then only looks at the cells that can
hold an answer, as a few contiguous slices of the sorted arrays, and answers
exactly: the results equal a brute-force scan over every point (the tests
check that).

Exactness rests on one monotone function per axis mapping a coordinate to a
cell, ``clip(floor((x - xmin) * sx), 0, nx - 1)`` in float64, used for the
points and for the queries alike: if ``x0 <= x`` then ``cell(x0) <= cell(x)``,
so a cell strictly between the cells of a box's edges only holds points
strictly inside the box and is taken whole; only the cells on the box's
border are tested point by point.

Lasso (`in_polygon`): the even-odd rule with the standard half-open crossing
test, for a point (x, y) and each edge from vertex i to vertex j = i - 1:

    (yi > y) != (yj > y)  and  x < (xj - xi) * (y - yi) / (yj - yi) + xi

evaluated in float64 on the float64 value of each coordinate, exactly in this
order of operations, so a point exactly on an edge is inside or outside as
this formula says (left and bottom edges tend to count as inside, right and
top ones as outside). Grid cells that an edge passes through or near are
marked (each clipped edge is sampled every half cell, then the marks are
dilated by one cell), so every unmarked cell lies at least 3/4 of a cell away
from every edge: all its points are on the same side, which the cell's centre
decides (a scanline pass finds the parity of every cell centre at once). The
points of unmarked inside cells are taken whole; only the points of marked
cells get the exact test above, per edge on just the points in the edge's
y-range (candidates sorted by y).

Points with a NaN or infinite coordinate are indexed in a separate trailing
bucket and never returned by a query.

Numba compiles the build (a counting sort in one pass over the points,
cached on disk, GIL released); with EXPLORER_NUMBA=0 in the environment (or
``USE_NUMBA = False``), numpy's stable argsort gives the same order (slower at
10M points), and so it does on a first launch until the compile worker has cached the
kernel (`explorer.compute.numba.readiness`). The kernels here and in `raster` are jitted
when the module is imported (`explorer.compute.numba.jit`), so no worker thread ever
imports numba or builds a dispatcher; `run_kernel` runs one. No Qt here.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

import numpy as np

from explorer.compute.numba import compile_worker, jit, readiness

__all__ = ["GridIndex", "crossing_parity", "run_kernel", "spans_to_positions", "USE_NUMBA"]

log = logging.getLogger(__name__)

POINTS_PER_CELL = 8.0
MAX_AXIS_CELLS = 4096
MAX_CELLS = 1 << 22
# Below this many candidate points a lasso tests them all directly.
_DIRECT_TEST_POINTS = 4096
# Lasso grid classification needs the polygon's rounding error far below a cell.
_MAX_COORD_TO_CELL = 1e9

USE_NUMBA = os.environ.get("EXPLORER_NUMBA", "1").strip().lower() not in ("0", "false", "no", "off")

_failed: set[Any] = set()  # kernels numba could not compile: numpy from then on


def run_kernel(kernel: Any, *args: Any) -> Any:
    """Run a `jit` kernel; False when numba is off or failed, or while the kernel is not
    ready on a first launch (`readiness.ready`: the compile worker is asked for it): the
    caller then uses numpy, which gives the same result."""
    if not USE_NUMBA or kernel in _failed:
        return False
    if not readiness.ready(kernel, *args):
        compile_worker.request()
        return False
    try:
        return kernel(*args)
    except Exception as exc:
        if type(exc).__module__.startswith("numba"):
            log.warning("numba kernel %s failed (%s); using numpy", kernel.__name__, exc)
            _failed.add(kernel)
            return False
        raise


@jit(nogil=True)
def _build_kernel(coords, xmin, sx, nx, ymin, sy, ny, starts, order, out):
    """Counting sort of points by cell (numba). starts: zeros(ncells + 2)."""
    n = coords.shape[0]
    ncells = nx * ny
    cell = np.empty(n, np.int32)
    for i in range(n):
        x = np.float64(coords[i, 0])
        y = np.float64(coords[i, 1])
        if math.isfinite(x) and math.isfinite(y):
            u = np.floor((x - xmin) * sx)
            if u < 0.0:
                u = 0.0
            elif u > nx - 1.0:
                u = nx - 1.0
            v = np.floor((y - ymin) * sy)
            if v < 0.0:
                v = 0.0
            elif v > ny - 1.0:
                v = ny - 1.0
            c = np.int64(v) * nx + np.int64(u)
        else:
            c = ncells
        cell[i] = c
        starts[c + 1] += 1
    for c in range(ncells + 1):
        starts[c + 1] += starts[c]
    pos = starts[:-1].copy()
    for i in range(n):
        c = cell[i]
        j = pos[c]
        pos[c] = j + 1
        order[j] = i
    for j in range(n):
        i = order[j]
        out[j, 0] = coords[i, 0]
        out[j, 1] = coords[i, 1]


def _no_rows() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


def spans_to_positions(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """All integers in the half-open ranges [lo[k], hi[k]), concatenated (int64)."""
    lens = hi - lo
    keep = lens > 0
    if not keep.all():
        lo, lens = lo[keep], lens[keep]
    if len(lens) == 0:
        return _no_rows()
    if len(lens) == 1:
        return np.arange(lo[0], lo[0] + lens[0], dtype=np.int64)
    ends = np.cumsum(lens)
    total = int(ends[-1])
    shift = np.repeat(lo - (ends - lens), lens)
    shift += np.arange(total, dtype=np.int64)
    return shift


def crossing_parity(px: np.ndarray, py: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon for many points (float64), the rule of `GridIndex.in_polygon`.

    Loops over the edges; for each, only the points in its half-open y-range
    (found by binary search on the points sorted by y) are tested. Returns a
    bool mask aligned with px.
    """
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    k = len(px)
    if k == 0 or len(xs) < 3:
        return np.zeros(k, dtype=bool)
    by_y = np.argsort(py, kind="stable")
    sy = py[by_y]
    sx = px[by_y]
    xj_all = np.roll(xs, 1)
    yj_all = np.roll(ys, 1)
    lo_y = np.minimum(ys, yj_all)
    hi_y = np.maximum(ys, yj_all)
    first = np.searchsorted(sy, lo_y, side="left")
    last = np.searchsorted(sy, hi_y, side="left")
    parity = np.zeros(k, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for e in np.flatnonzero(last > first).tolist():
            a, b = int(first[e]), int(last[e])
            xi, yi, xj, yj = float(xs[e]), float(ys[e]), float(xj_all[e]), float(yj_all[e])
            # (xj - xi) * (y - yi) / (yj - yi) + xi, same rounding as the scalar form
            t = sy[a:b] - yi
            t *= xj - xi
            t /= yj - yi
            t += xi
            parity[a:b] ^= sx[a:b] < t
    out = np.empty(k, dtype=bool)
    out[by_y] = parity
    return out


class GridIndex:
    """Points sorted into a uniform grid for exact, fast spatial queries.

    Attributes (read-only by convention):
      n             number of points given (rows 0..n-1)
      nx, ny        grid columns and rows
      xmin, xmax, ymin, ymax   bounds of the finite points
      order         rows sorted by cell (int32, or int64 past 2**31 rows);
                    points with a non-finite coordinate come last
      starts        int64 (nx*ny + 2,): cell c's points are
                    order[starts[c]:starts[c+1]]; cell nx*ny is the non-finite bucket
      sorted_coords coords[order], same dtype as the input (float32 or float64)
      coords        the coordinates indexed (the input, not copied when it is
                    already float32/float64 and C-contiguous)
      n_finite      number of indexed (finite) points
      build_seconds how long the build took
    """

    def __init__(self, coords, *, points_per_cell: float = POINTS_PER_CELL,
                 max_cells: int = MAX_CELLS, use_numba: bool | None = None):
        t0 = time.perf_counter()
        a = np.asarray(coords)
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"coords must have shape (n, 2), got {a.shape}")
        if a.dtype not in (np.float32, np.float64):
            a = a.astype(np.float64)
        a = np.ascontiguousarray(a)
        n = len(a)
        self.n = n
        self.coords = a
        finite = None
        if n:
            lo = np.array([a[:, 0].min(), a[:, 1].min()], dtype=np.float64)
            hi = np.array([a[:, 0].max(), a[:, 1].max()], dtype=np.float64)
            if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
                finite = np.isfinite(a).all(axis=1)
                if finite.any():
                    f = a[finite]
                    lo = f.min(axis=0).astype(np.float64)
                    hi = f.max(axis=0).astype(np.float64)
                else:
                    lo = hi = np.zeros(2)
        else:
            lo = hi = np.zeros(2)
        self.xmin, self.ymin = float(lo[0]), float(lo[1])
        self.xmax, self.ymax = float(hi[0]), float(hi[1])
        n_finite = n if finite is None else int(finite.sum())
        self.n_finite = n_finite

        w, h = self.xmax - self.xmin, self.ymax - self.ymin
        # an extent too small or too large to scale (float64 extremes) gets one cell
        if not (math.isfinite(w) and (w == 0 or math.isfinite(1.0 / w) and math.isfinite(MAX_AXIS_CELLS / w))):
            w = 0.0
        if not (math.isfinite(h) and (h == 0 or math.isfinite(1.0 / h) and math.isfinite(MAX_AXIS_CELLS / h))):
            h = 0.0
        target = min(max(n_finite / float(points_per_cell), 1.0), float(max_cells))
        if w > 0 and h > 0:
            nx = math.sqrt(target * w / h)
            ny = target / max(nx, 1.0)
        elif w > 0:
            nx, ny = target, 1.0
        elif h > 0:
            nx, ny = 1.0, target
        else:
            nx = ny = 1.0
        nx = int(min(max(round(nx), 1), MAX_AXIS_CELLS))
        ny = int(min(max(round(ny), 1), MAX_AXIS_CELLS))
        while nx * ny > max_cells:
            if nx >= ny:
                nx -= 1
            else:
                ny -= 1
        self.nx, self.ny = nx, ny
        self.sx = nx / w if w > 0 else 0.0
        self.sy = ny / h if h > 0 else 0.0
        self.cell_w = w / nx if w > 0 else 0.0
        self.cell_h = h / ny if h > 0 else 0.0
        ncells = nx * ny
        idx_dtype = np.int32 if n < 2**31 - 1 else np.int64

        done = False
        if use_numba is not False and idx_dtype is np.int32:
            starts = np.zeros(ncells + 2, dtype=np.int64)
            order = np.empty(n, dtype=np.int32)
            out = np.empty_like(a)
            ok = run_kernel(_build_kernel, a, self.xmin, self.sx, nx,
                             self.ymin, self.sy, ny, starts, order, out)
            done = ok is not False
        if not done:
            cell = self._cells_numpy(a, finite)
            order = np.argsort(cell, kind="stable").astype(idx_dtype, copy=False)
            starts = np.zeros(ncells + 2, dtype=np.int64)
            np.cumsum(np.bincount(cell, minlength=ncells + 1), out=starts[1:])
            out = a[order]
        self.order = order
        self.starts = starts
        self.sorted_coords = out
        counts = np.diff(starts[: ncells + 1]).reshape(ny, nx)
        sat = np.zeros((ny + 1, nx + 1), dtype=np.int64)
        np.cumsum(counts, axis=0, out=sat[1:, 1:])
        np.cumsum(sat[1:, 1:], axis=1, out=sat[1:, 1:])
        self._sat = sat
        self.used_numba = done
        self.build_seconds = time.perf_counter() - t0

    # --- cells -------------------------------------------------------------------

    def _cells_numpy(self, a: np.ndarray, finite: np.ndarray | None) -> np.ndarray:
        nx, ny = self.nx, self.ny
        u = a[:, 0].astype(np.float64)
        u -= self.xmin
        u *= self.sx
        np.floor(u, out=u)
        np.clip(u, 0.0, nx - 1.0, out=u)
        v = a[:, 1].astype(np.float64)
        v -= self.ymin
        v *= self.sy
        np.floor(v, out=v)
        np.clip(v, 0.0, ny - 1.0, out=v)
        if finite is not None:
            u[~finite] = 0.0
            v[~finite] = 0.0
        cell = v.astype(np.int64)
        cell *= nx
        cell += u.astype(np.int64)
        if finite is not None:
            cell[~finite] = nx * ny
        return cell

    def _cell_x(self, v: float) -> int:
        """The column a point with x == v falls in (same arithmetic as the build)."""
        if self.sx == 0.0:
            return 0
        u = (v - self.xmin) * self.sx
        if u < 0.0:
            return 0
        if u >= self.nx - 1.0:
            return self.nx - 1
        return math.floor(u)

    def _cell_y(self, v: float) -> int:
        if self.sy == 0.0:
            return 0
        u = (v - self.ymin) * self.sy
        if u < 0.0:
            return 0
        if u >= self.ny - 1.0:
            return self.ny - 1
        return math.floor(u)

    def _box_cells(self, x0, y0, x1, y1):
        """Cell bounds of a box: (ux0, ux1, uy0, uy1) where cells strictly between
        hold only points strictly inside; -1 / n mean "beyond every point"."""
        ux0 = -1 if x0 <= self.xmin else self._cell_x(x0)
        ux1 = self.nx if x1 >= self.xmax else self._cell_x(x1)
        uy0 = -1 if y0 <= self.ymin else self._cell_y(y0)
        uy1 = self.ny if y1 >= self.ymax else self._cell_y(y1)
        return ux0, ux1, uy0, uy1

    def _row_spans(self, ca: int, cb: int, ra: int, rb: int):
        """Sorted-order spans [lo, hi) of cells columns ca..cb in rows ra..rb (inclusive)."""
        if ca > cb or ra > rb:
            return _no_rows(), _no_rows()
        rows = np.arange(ra, rb + 1, dtype=np.int64) * self.nx
        return self.starts[rows + ca], self.starts[rows + cb + 1]

    def _count_cells(self, ca: int, cb: int, ra: int, rb: int) -> int:
        if ca > cb or ra > rb:
            return 0
        s = self._sat
        return int(s[rb + 1, cb + 1] - s[ra, cb + 1] - s[rb + 1, ca] + s[ra, ca])

    def _rows_at(self, positions: np.ndarray) -> np.ndarray:
        return self.order[positions].astype(np.int64, copy=False)

    def _sorted_unique(self, parts: list[np.ndarray]) -> np.ndarray:
        """Concatenate disjoint row sets and sort them (a mask pass when large)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return _no_rows()
        total = sum(len(p) for p in parts)
        if total * 24 > self.n:
            mask = np.zeros(self.n, dtype=bool)
            for p in parts:
                mask[p] = True
            return np.flatnonzero(mask)
        rows = np.concatenate(parts) if len(parts) > 1 else parts[0].astype(np.int64, copy=True)
        rows.sort()
        return rows

    def _box_parts(self, x0, y0, x1, y1):
        """(wholesale spans, spans to test, interior cell bounds) of a closed box, or None."""
        if any(map(math.isnan, (x0, y0, x1, y1))):
            return None
        if self.n_finite == 0 or x0 > self.xmax or x1 < self.xmin or y0 > self.ymax or y1 < self.ymin:
            return None
        ux0, ux1, uy0, uy1 = self._box_cells(x0, y0, x1, y1)
        ca, cb = max(ux0, 0), min(ux1, self.nx - 1)
        ra, rb = max(uy0, 0), min(uy1, self.ny - 1)
        ia, ib = ux0 + 1, ux1 - 1  # interior columns
        ja, jb = uy0 + 1, uy1 - 1  # interior rows
        whole = self._row_spans(ia, ib, ja, jb)
        test_lo, test_hi = [], []
        for r in {uy0, uy1}:
            if ra <= r <= rb:
                lo, hi = self._row_spans(ca, cb, r, r)
                test_lo.append(lo)
                test_hi.append(hi)
        if ja <= jb:
            for c in {ux0, ux1}:
                if ca <= c <= cb:
                    lo, hi = self._row_spans(c, c, ja, jb)
                    test_lo.append(lo)
                    test_hi.append(hi)
        if test_lo:
            test = (np.concatenate(test_lo), np.concatenate(test_hi))
        else:
            test = (_no_rows(), _no_rows())
        return whole, test, (ia, ib, ja, jb)

    def _test_box(self, positions, x0, y0, x1, y1):
        pts = self.sorted_coords[positions]
        px = pts[:, 0].astype(np.float64)
        py = pts[:, 1].astype(np.float64)
        return (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)

    @staticmethod
    def _norm_box(x0, y0, x1, y1):
        x0, x1, y0, y1 = float(x0), float(x1), float(y0), float(y1)
        if x0 > x1:
            x0, x1 = x1, x0
        if y0 > y1:
            y0, y1 = y1, y0
        return x0, y0, x1, y1

    # --- queries -----------------------------------------------------------------

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx): grid rows and columns."""
        return self.ny, self.nx

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the finite points."""
        return self.xmin, self.ymin, self.xmax, self.ymax

    def to_sorted(self, values: np.ndarray) -> np.ndarray:
        """values[order]: a per-row array in the index's cell order (for the renderer)."""
        return np.asarray(values)[self.order]

    def in_box(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        """Sorted rows with x0 <= x <= x1 and y0 <= y <= y1 (corners in any order; ±inf allowed)."""
        x0, y0, x1, y1 = self._norm_box(x0, y0, x1, y1)
        parts = self._box_parts(x0, y0, x1, y1)
        if parts is None:
            return _no_rows()
        (wlo, whi), (tlo, thi), _ = parts
        pos = spans_to_positions(tlo, thi)
        hit = pos[self._test_box(pos, x0, y0, x1, y1)] if len(pos) else pos
        return self._sorted_unique([self._rows_at(spans_to_positions(wlo, whi)), self._rows_at(hit)])

    def in_view(self, x0: float, y0: float, x1: float, y1: float, rows: bool = False):
        """How many points lie in the closed box (an int), or their sorted rows with rows=True.

        The count reads whole cells from a summed-area table and tests only the
        points of the border cells, so it costs about the same at any zoom.
        """
        if rows:
            return self.in_box(x0, y0, x1, y1)
        x0, y0, x1, y1 = self._norm_box(x0, y0, x1, y1)
        parts = self._box_parts(x0, y0, x1, y1)
        if parts is None:
            return 0
        _, (tlo, thi), (ia, ib, ja, jb) = parts
        ia, ib = max(ia, 0), min(ib, self.nx - 1)
        ja, jb = max(ja, 0), min(jb, self.ny - 1)
        whole = self._count_cells(ia, ib, ja, jb)
        pos = spans_to_positions(tlo, thi)
        return whole + (int(np.count_nonzero(self._test_box(pos, x0, y0, x1, y1))) if len(pos) else 0)

    def view_spans(self, x0: float, y0: float, x1: float, y1: float) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) int64 spans of sorted order covering every point in the box.

        A superset (whole cells, one span per cell row), for the renderer:
        ``density_image(index.sorted_coords, ..., spans=index.view_spans(...))``
        reads only the points near the view.
        """
        x0, y0, x1, y1 = self._norm_box(x0, y0, x1, y1)
        if (self.n_finite == 0 or any(map(math.isnan, (x0, y0, x1, y1))) or x0 > self.xmax or x1 < self.xmin
                or y0 > self.ymax or y1 < self.ymin):
            return _no_rows(), _no_rows()
        ca, cb = self._cell_x(x0), self._cell_x(x1)
        ra, rb = self._cell_y(y0), self._cell_y(y1)
        lo, hi = self._row_spans(ca, cb, ra, rb)
        if ca == 0 and cb == self.nx - 1 and len(lo):  # full rows are contiguous: one span
            return lo[:1].copy(), hi[-1:].copy()
        return lo, hi

    def _candidates(self, ca, cb, ra, rb):
        return spans_to_positions(*self._row_spans(ca, cb, ra, rb))

    def nearest(self, x: float, y: float, radius: float = math.inf) -> int:
        """Row of the point nearest to (x, y) within `radius` (data units), or -1.

        Distance is ((px - x)**2 + (py - y)**2) in float64, compared with
        radius * radius; ties go to the lowest row. The search starts with
        the cells within half a cell of (x, y) and widens (x4) until it finds
        a point no farther than the searched reach (then no point outside can
        be nearer) or reaches `radius`. radius=inf finds the nearest point
        anywhere.
        """
        x, y, radius = float(x), float(y), float(radius)
        if self.n_finite == 0 or not (math.isfinite(x) and math.isfinite(y)) or not radius >= 0:
            return -1
        cells = [c for c in (self.cell_w, self.cell_h) if c > 0]
        r = min(radius, 0.5 * min(cells)) if cells else radius
        while True:
            last = r >= radius
            best, _ = self._nearest(x, y, r, radius * radius if last else r * r)
            if best >= 0 or last:
                return best
            covers_all = (x - r <= self.xmin and x + r >= self.xmax
                          and y - r <= self.ymin and y + r >= self.ymax)
            r = radius if covers_all else min(r * 4.0, radius)

    def _nearest(self, x, y, reach, r2):
        """Nearest row with distance² <= r2 among the cells within `reach` of (x, y).

        The reach gets a relative and an ulp-sized slack so every point whose
        computed distance² is <= reach² lies in the cells read.
        """
        scale = max(abs(x), abs(y), abs(self.xmin), abs(self.xmax), abs(self.ymin), abs(self.ymax))
        reach = reach * (1.0 + 1e-9) + 4.0 * math.ulp(scale)
        if x - reach > self.xmax or x + reach < self.xmin or y - reach > self.ymax or y + reach < self.ymin:
            return -1, math.inf
        ca, cb = self._cell_x(x - reach), self._cell_x(x + reach)
        ra, rb = self._cell_y(y - reach), self._cell_y(y + reach)
        lo, hi = self._row_spans(ca, cb, ra, rb)
        pos = spans_to_positions(lo, hi)
        if len(pos) == 0:
            return -1, math.inf
        pts = self.sorted_coords[pos]
        with np.errstate(over="ignore", invalid="ignore"):
            dx = pts[:, 0].astype(np.float64)
            dx -= x
            dx *= dx
            dy = pts[:, 1].astype(np.float64)
            dy -= y
            dy *= dy
            dx += dy
        k = int(np.argmin(dx))
        d2 = float(dx[k])
        if not d2 <= r2:
            return -1, math.inf
        ties = np.flatnonzero(dx == d2)
        if len(ties) > 1:
            return int(self.order[pos[ties]].min()), d2
        return int(self.order[pos[k]]), d2

    def in_polygon(self, xs, ys) -> np.ndarray:
        """Sorted rows inside the polygon (vertices xs, ys; closed implicitly), even-odd rule.

        Self-intersecting polygons are fine; fewer than 3 vertices select
        nothing; non-finite vertices raise ValueError. Exact: equal to
        `crossing_parity` over every point.
        """
        X = np.asarray(xs, dtype=np.float64).ravel()
        Y = np.asarray(ys, dtype=np.float64).ravel()
        if len(X) != len(Y):
            raise ValueError("xs and ys must have the same length")
        if len(X) < 3 or self.n_finite == 0:
            return _no_rows()
        if not (np.isfinite(X).all() and np.isfinite(Y).all()):
            raise ValueError("polygon vertices must be finite")
        pxmin, pxmax = float(X.min()), float(X.max())
        pymin, pymax = float(Y.min()), float(Y.max())
        if pxmin > self.xmax or pxmax < self.xmin or pymin > self.ymax or pymax < self.ymin:
            return _no_rows()
        # Points outside the polygon's bounding box are outside (no crossing to their right,
        # or an even number of them), so only cells meeting the box matter.
        ca, cb = self._cell_x(pxmin), self._cell_x(pxmax)
        ra, rb = self._cell_y(pymin), self._cell_y(pymax)
        gx, gy = cb - ca + 1, rb - ra + 1
        scale = max(abs(pxmin), abs(pxmax), abs(pymin), abs(pymax),
                    abs(self.xmin), abs(self.xmax), abs(self.ymin), abs(self.ymax))
        tiny_cells = (self.sx == 0.0 or self.sy == 0.0
                      or min(self.cell_w, self.cell_h) * _MAX_COORD_TO_CELL < scale)
        if tiny_cells or self._count_cells(ca, cb, ra, rb) <= _DIRECT_TEST_POINTS or gx * gy <= 9:
            pos = self._candidates(ca, cb, ra, rb)
            return self._exact_polygon(pos, X, Y)

        marked = self._edge_cells(X, Y, ca, cb, ra, rb)
        parity = self._centre_parity(X, Y, ca, cb, ra, rb)
        inside = parity & ~marked
        whole = self._mask_spans(inside, ca, ra)
        edge = self._mask_spans(marked, ca, ra)
        rows_whole = self._rows_at(spans_to_positions(*whole))
        rows_edge = self._exact_polygon(spans_to_positions(*edge), X, Y, sort=False)
        return self._sorted_unique([rows_whole, rows_edge])

    def _exact_polygon(self, pos, X, Y, sort=True):
        if len(pos) == 0:
            return _no_rows()
        pts = self.sorted_coords[pos]
        hit = crossing_parity(pts[:, 0], pts[:, 1], X, Y)
        rows = self._rows_at(pos[hit])
        return np.sort(rows) if sort else rows

    def _mask_spans(self, mask: np.ndarray, ca: int, ra: int):
        """Sorted-order spans of the True runs of a (gy, gx) cell mask at origin (ca, ra)."""
        gy, gx = mask.shape
        padded = np.zeros((gy, gx + 2), dtype=np.int8)
        padded[:, 1:-1] = mask
        step = np.diff(padded, axis=1)
        r0, c0 = np.nonzero(step == 1)
        r1, c1 = np.nonzero(step == -1)
        base0 = (r0.astype(np.int64) + ra) * self.nx + ca
        base1 = (r1.astype(np.int64) + ra) * self.nx + ca
        return self.starts[base0 + c0], self.starts[base1 + c1]

    def _edge_cells(self, X, Y, ca, cb, ra, rb) -> np.ndarray:
        """(gy, gx) mask of cells within one cell of a polygon edge (conservative)."""
        gx, gy = cb - ca + 1, rb - ra + 1
        U0 = (X - self.xmin) * self.sx
        V0 = (Y - self.ymin) * self.sy
        U1 = np.roll(U0, 1)
        V1 = np.roll(V0, 1)
        du, dv = U1 - U0, V1 - V0
        # Liang-Barsky clip to the sub-grid plus a one-cell band.
        t0 = np.zeros(len(U0))
        t1 = np.ones(len(U0))
        keep = np.ones(len(U0), dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            for p, q in ((-du, U0 - (ca - 1.0)), (du, (cb + 2.0) - U0),
                         (-dv, V0 - (ra - 1.0)), (dv, (rb + 2.0) - V0)):
                keep &= ~((p == 0) & (q < 0))
                r = q / p
                neg, pos = p < 0, p > 0
                t0 = np.where(neg, np.maximum(t0, r), t0)
                t1 = np.where(pos, np.minimum(t1, r), t1)
        keep &= t0 <= t1
        U0, V0, du, dv, t0, t1 = U0[keep], V0[keep], du[keep], dv[keep], t0[keep], t1[keep]
        mark = np.zeros((gy, gx), dtype=bool)
        if len(U0):
            length = np.maximum(np.abs(du), np.abs(dv)) * (t1 - t0)
            steps = np.ceil(length * 2.0).astype(np.int64) + 1  # samples per edge, <= half a cell apart
            total = int(steps.sum())
            edge = np.repeat(np.arange(len(U0)), steps)
            k = np.arange(total, dtype=np.float64) - np.repeat(np.cumsum(steps) - steps, steps)
            t = t0[edge] + (t1 - t0)[edge] * (k / np.maximum(steps - 1, 1)[edge])
            su = np.floor(U0[edge] + du[edge] * t) - ca
            sv = np.floor(V0[edge] + dv[edge] * t) - ra
            np.clip(su, 0, gx - 1, out=su)
            np.clip(sv, 0, gy - 1, out=sv)
            mark[sv.astype(np.intp), su.astype(np.intp)] = True
        grown = mark.copy()
        grown[1:] |= mark[:-1]
        grown[:-1] |= mark[1:]
        out = grown.copy()
        out[:, 1:] |= grown[:, :-1]
        out[:, :-1] |= grown[:, 1:]
        return out

    def _centre_parity(self, X, Y, ca, cb, ra, rb) -> np.ndarray:
        """(gy, gx) bool: is each cell's centre inside (even-odd), by scanlines."""
        gx, gy = cb - ca + 1, rb - ra + 1
        Xj, Yj = np.roll(X, 1), np.roll(Y, 1)
        lo = np.minimum(Y, Yj)
        hi = np.maximum(Y, Yj)
        # candidate rows per edge (one extra each side), then the exact half-open test
        r_lo = np.floor((lo - self.ymin) * self.sy - 0.5) - 1
        r_hi = np.ceil((hi - self.ymin) * self.sy - 0.5) + 1
        r_lo = np.clip(r_lo, ra, rb + 1).astype(np.int64)
        r_hi = np.clip(r_hi, ra, rb + 1).astype(np.int64)
        counts = np.maximum(r_hi - r_lo, 0)
        total = int(counts.sum())
        toggles = np.zeros((gy, gx + 1), dtype=np.int8)
        if total:
            edge = np.repeat(np.arange(len(X)), counts)
            row = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
            row += np.repeat(r_lo, counts)
            yc = self.ymin + (row + 0.5) / self.sy
            yi, yj, xi, xj = Y[edge], Yj[edge], X[edge], Xj[edge]
            cross = (yi > yc) != (yj > yc)
            edge, row, yc = edge[cross], row[cross], yc[cross]
            yi, yj, xi, xj = yi[cross], yj[cross], xi[cross], xj[cross]
            xint = (xj - xi) * (yc - yi) / (yj - yi) + xi
            # centre of column j is inside the ray's count when j + 0.5 < u(xint)
            k = np.ceil((xint - self.xmin) * self.sx - 0.5) - ca
            k = np.clip(k, 0, gx).astype(np.int64)
            flat = (row - ra) * (gx + 1)
            np.add.at(toggles.reshape(-1), flat, 1)
            np.add.at(toggles.reshape(-1), flat + k, 1)
        parity = np.bitwise_xor.accumulate(toggles & 1, axis=1)[:, :gx]
        return parity.astype(bool)
