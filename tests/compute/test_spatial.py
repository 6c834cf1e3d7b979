"""GridIndex: every query equals a brute-force scan over all points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer.compute import spatial
from explorer.compute.spatial import GridIndex, crossing_parity

# --- references (independent of the module) ---------------------------------------


def ref_pip_scalar(x: float, y: float, xs, ys) -> bool:
    """The textbook even-odd ray casting loop, one point."""
    inside = False
    m = len(xs)
    j = m - 1
    for i in range(m):
        xi, yi, xj, yj = xs[i], ys[i], xs[j], ys[j]
        if ((yi > y) != (yj > y)) and (x < (xj - xi) * (y - yi) / (yj - yi) + xi):
            inside = not inside
        j = i
    return inside


def ref_polygon(coords, xs, ys) -> np.ndarray:
    """The same loop, vectorised over the points (loop over edges), float64."""
    X = coords[:, 0].astype(np.float64)
    Y = coords[:, 1].astype(np.float64)
    xs = [float(v) for v in xs]
    ys = [float(v) for v in ys]
    inside = np.zeros(len(X), dtype=bool)
    if len(xs) < 3:
        return np.flatnonzero(inside)
    j = len(xs) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(len(xs)):
            xi, yi, xj, yj = xs[i], ys[i], xs[j], ys[j]
            cond = (yi > Y) != (yj > Y)
            inside ^= cond & (X < (xj - xi) * (Y - yi) / (yj - yi) + xi)
            j = i
    return np.flatnonzero(inside)


def ref_box(coords, x0, y0, x1, y1) -> np.ndarray:
    X = coords[:, 0].astype(np.float64)
    Y = coords[:, 1].astype(np.float64)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    return np.flatnonzero((X >= x0) & (X <= x1) & (Y >= y0) & (Y <= y1))


def ref_nearest(coords, x, y, radius) -> int:
    X = coords[:, 0].astype(np.float64)
    Y = coords[:, 1].astype(np.float64)
    with np.errstate(invalid="ignore"):
        d = (X - x) ** 2 + (Y - y) ** 2
    ok = np.isfinite(d)
    if not ok.any():
        return -1
    m = d[ok].min()
    if not m <= radius * radius:
        return -1
    return int(np.flatnonzero(d == m).min())


# --- data ----------------------------------------------------------------------------


def uniform(n, seed=0):
    return np.random.default_rng(seed).uniform(-10, 10, (n, 2)).astype(np.float32)


def clustered(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-50, 50, (12, 2))
    spread = rng.uniform(0.05, 5.0, 12)
    lab = rng.integers(0, 12, n)
    return (centres[lab] + rng.standard_normal((n, 2)) * spread[lab, None]).astype(np.float32)


def lattice(k=120):
    """Integer points (exact in float32): polygons with integer vertices hit edges and vertices."""
    g = np.arange(k, dtype=np.float32) - k / 2
    X, Y = np.meshgrid(g, g)
    pts = np.column_stack([X.ravel(), Y.ravel()])
    return np.concatenate([pts, pts[::7]])  # duplicates too


DATASETS = {
    "uniform": lambda: uniform(60_000),
    "clustered": lambda: clustered(60_000),
    "lattice": lattice,
}


@pytest.fixture(scope="module", params=list(DATASETS))
def data(request):
    coords = DATASETS[request.param]()
    return coords, GridIndex(coords)


def polygons(coords, seed=0):
    """Tricky lassos scaled to the data: convex, concave, star, self-intersecting, tiny, huge."""
    rng = np.random.default_rng(seed)
    lo, hi = coords.min(0).astype(np.float64), coords.max(0).astype(np.float64)
    c = (lo + hi) / 2
    s = float((hi - lo).max())
    out = {}
    t = np.linspace(0, 2 * np.pi, 7, endpoint=False)
    out["hexagon"] = (c[0] + 0.3 * s * np.cos(t), c[1] + 0.3 * s * np.sin(t))
    t = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    r = 0.3 * s * (1 + 0.45 * np.sin(5 * t))
    out["concave_flower"] = (c[0] + r * np.cos(t), c[1] + r * np.sin(t))
    t = np.linspace(0, 4 * np.pi, 5, endpoint=False)  # pentagram: self-intersecting
    out["pentagram"] = (c[0] + 0.4 * s * np.cos(t), c[1] + 0.4 * s * np.sin(t))
    out["figure_eight"] = (c[0] + s * np.array([-0.4, 0.4, 0.4, -0.4]),
                           c[1] + s * np.array([-0.3, 0.3, -0.3, 0.3]))
    m = 300
    out["random_walk"] = (c[0] + np.cumsum(rng.normal(0, 0.03 * s, m)),
                          c[1] + np.cumsum(rng.normal(0, 0.03 * s, m)))
    k = 60  # random vertices: heavily self-intersecting
    out["scribble"] = (rng.uniform(lo[0], hi[0], k), rng.uniform(lo[1], hi[1], k))
    p = coords[len(coords) // 3].astype(np.float64)
    e = 1e-3 * s
    out["tiny"] = (p[0] + np.array([-e, e, e, -e]), p[1] + np.array([-e, -e, e, e]))
    out["huge"] = (np.array([-1e6, 1e6, 1e6, -1e6]), np.array([-1e6, -1e6, 1e6, 1e6]))
    out["huge_concave"] = (np.array([-1e5, 1e5, 1e5, c[0], -1e5]), np.array([-1e5, -1e5, 1e5, c[1], 1e5]))
    out["outside"] = (hi[0] + 1 + np.array([0, 1, 1.0]), hi[1] + 1 + np.array([0, 0, 1.0]))
    # vertices on data points and integer-ish lines, with horizontal and vertical edges
    q = np.round(c)
    out["axis_aligned_L"] = (q[0] + np.array([-20, 10, 10, 0, 0, -20.0]), q[1] + np.array([-20, -20, 0, 0, 15, 15.0]))
    out["diagonal_diamond"] = (q[0] + np.array([0, 17, 0, -17.0]), q[1] + np.array([-17, 0, 17, 0.0]))
    out["repeated_vertices"] = (q[0] + np.array([-9, -9, 9, 9, 9, -9.0]), q[1] + np.array([-9, -9, -9, 9, 9, 9.0]))
    out["collinear"] = (c[0] + np.array([-5, 0, 5.0]), c[1] + np.array([-5, 0, 5.0]))
    out["thin_sliver"] = (c[0] + np.array([-0.4 * s, 0.4 * s, 0.4 * s]), c[1] + np.array([0, 1e-4, 2e-4]))
    return out


# --- build ---------------------------------------------------------------------------


def test_build_structure(data):
    coords, idx = data
    assert idx.n == len(coords) == idx.n_finite
    assert sorted(idx.order.tolist()) == list(range(len(coords)))
    assert idx.starts[0] == 0 and idx.starts[-1] == len(coords)
    assert np.all(np.diff(idx.starts) >= 0)
    np.testing.assert_array_equal(idx.sorted_coords, coords[idx.order])
    # every point sits in the cell its position says
    ncells = idx.nx * idx.ny
    cell = np.repeat(np.arange(ncells + 1), np.diff(idx.starts))
    pts = idx.sorted_coords.astype(np.float64)
    cx = np.clip(np.floor((pts[:, 0] - idx.xmin) * idx.sx), 0, idx.nx - 1)
    cy = np.clip(np.floor((pts[:, 1] - idx.ymin) * idx.sy), 0, idx.ny - 1)
    np.testing.assert_array_equal(cell, (cy * idx.nx + cx).astype(np.int64))
    # within a cell rows are ascending (stable sort)
    same = cell[1:] == cell[:-1]
    assert np.all(idx.order[1:][same] > idx.order[:-1][same])


def test_grid_resolution():
    idx = GridIndex(uniform(80_000))
    assert 8_000 <= idx.nx * idx.ny <= 12_000  # ~8 points per cell
    assert abs(idx.nx - idx.ny) <= 2
    wide = np.column_stack([np.linspace(0, 100, 10_000), np.linspace(0, 1, 10_000)[::-1]]).astype(np.float32)
    w = GridIndex(wide)
    assert w.nx > 10 * w.ny


def test_numpy_and_numba_builds_agree():
    coords = clustered(50_000, seed=3)
    coords[::97] = np.nan
    coords[5, 0] = np.inf
    a = GridIndex(coords)
    b = GridIndex(coords, use_numba=False)
    assert not b.used_numba
    np.testing.assert_array_equal(a.order, b.order)
    np.testing.assert_array_equal(a.starts, b.starts)
    np.testing.assert_array_equal(a.sorted_coords, b.sorted_coords)


def test_numba_is_used_when_available():
    pytest.importorskip("numba")
    if not spatial.USE_NUMBA:
        pytest.skip("numba disabled by EXPLORER_NUMBA")
    assert GridIndex(uniform(1000)).used_numba


def test_float64_and_integer_input():
    c64 = uniform(5000).astype(np.float64) * 1.000001
    idx = GridIndex(c64)
    assert idx.sorted_coords.dtype == np.float64
    np.testing.assert_array_equal(idx.in_box(-1, -1, 2, 3), ref_box(c64, -1, -1, 2, 3))
    ints = np.arange(20).reshape(10, 2)
    assert GridIndex(ints).in_box(0, 0, 100, 100).tolist() == list(range(10))
    with pytest.raises(ValueError):
        GridIndex(np.zeros((5, 3)))


# --- nearest ---------------------------------------------------------------------------


def test_nearest_matches_brute_force(data):
    coords, idx = data
    rng = np.random.default_rng(5)
    lo, hi = coords.min(0), coords.max(0)
    span = float((hi - lo).max())
    queries = [tuple(coords[i].astype(np.float64)) for i in rng.integers(0, len(coords), 100)]
    queries += [tuple(rng.uniform(lo - 0.1 * span, hi + 0.1 * span)) for _ in range(150)]
    for x, y in queries:
        for radius in (0.0, span * 1e-3, span * 2e-2, span * 0.3):
            assert idx.nearest(x, y, radius) == ref_nearest(coords, x, y, radius), (x, y, radius)
        assert idx.nearest(x, y) == ref_nearest(coords, x, y, math.inf)


def test_nearest_equidistant_and_far_offsets():
    coords = lattice(60)
    idx = GridIndex(coords)
    rng = np.random.default_rng(8)
    for _ in range(150):
        x, y = rng.integers(-32, 32, 2) + 0.5  # four lattice points at the same distance
        for radius in (0.5, 0.7071067811865476, 0.71, 3.0, math.inf):
            assert idx.nearest(x, y, radius) == ref_nearest(coords, x, y, radius), (x, y, radius)
    far = (uniform(20_000, seed=3).astype(np.float64) * 1e-3 + 1e6)  # tiny spread far from 0
    idx = GridIndex(far)
    for q in far[:50] + 1e-7:
        assert idx.nearest(*q, 1e-5) == ref_nearest(far, *q, 1e-5)
        assert idx.nearest(*q) == ref_nearest(far, *q, math.inf)


def test_nearest_ties_take_lowest_row():
    coords = np.array([[1, 1], [0, 0], [2, 2], [0, 0], [1, -1]], dtype=np.float32)
    idx = GridIndex(coords)
    assert idx.nearest(0, 0, 1) == 1
    assert idx.nearest(1, 0, 1) == 0  # (1,1) and (1,-1) both at distance 1
    assert idx.nearest(1, 0, 0.999) == -1
    assert idx.nearest(50, 50) == 2
    assert idx.nearest(float("nan"), 0, 1) == -1
    assert idx.nearest(0, 0, -1) == -1


# --- boxes -------------------------------------------------------------------------------


def test_in_box_matches_brute_force(data):
    coords, idx = data
    rng = np.random.default_rng(6)
    lo, hi = coords.min(0).astype(np.float64), coords.max(0).astype(np.float64)
    span = hi - lo
    boxes = []
    for _ in range(120):
        a = rng.uniform(lo - 0.2 * span, hi + 0.2 * span)
        b = a + rng.uniform(0, 0.6, 2) * span * rng.choice([-1, 1], 2)
        boxes.append((a[0], a[1], b[0], b[1]))
    # edges exactly on points and on the bounds
    p, q = coords[10].astype(np.float64), coords[2000].astype(np.float64)
    boxes += [(p[0], p[1], q[0], q[1]), (lo[0], lo[1], hi[0], hi[1]), (lo[0], lo[1], lo[0], hi[1]),
              (-math.inf, -math.inf, math.inf, math.inf), (p[0], p[1], p[0], p[1]),
              (hi[0] + 1, hi[1] + 1, hi[0] + 2, hi[1] + 2)]
    for box in boxes:
        ref = ref_box(coords, *box)
        got = idx.in_box(*box)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, ref, err_msg=str(box))
        assert idx.in_view(*box) == len(ref)
        np.testing.assert_array_equal(idx.in_view(*box, rows=True), ref)
        # view_spans covers every point in the box
        lo_s, hi_s = idx.view_spans(*box)
        covered = np.zeros(len(coords), dtype=bool)
        for a_, b_ in zip(lo_s.tolist(), hi_s.tolist()):
            covered[idx.order[a_:b_]] = True
        assert covered[ref].all()


def test_box_with_nan_is_empty():
    idx = GridIndex(uniform(1000))
    assert len(idx.in_box(float("nan"), 0, 1, 1)) == 0
    assert idx.in_view(0, 0, float("nan"), 1) == 0


# --- polygons ------------------------------------------------------------------------------


def test_reference_vectorised_equals_scalar_loop():
    coords = lattice(40)
    for name, (xs, ys) in polygons(coords).items():
        fast = ref_polygon(coords, xs, ys)
        slow = [i for i, (x, y) in enumerate(coords.astype(np.float64)) if ref_pip_scalar(x, y, list(xs), list(ys))]
        assert fast.tolist() == slow, name


@pytest.mark.parametrize("direct_below", [spatial._DIRECT_TEST_POINTS, 0])
def test_in_polygon_matches_reference(data, direct_below, monkeypatch):
    """direct_below=0 forces the grid classification even for the smallest lassos."""
    monkeypatch.setattr(spatial, "_DIRECT_TEST_POINTS", direct_below)
    coords, idx = data
    for name, (xs, ys) in polygons(coords).items():
        ref = ref_polygon(coords, xs, ys)
        got = idx.in_polygon(xs, ys)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, ref, err_msg=name)
        np.testing.assert_array_equal(np.flatnonzero(crossing_parity(coords[:, 0], coords[:, 1], xs, ys)), ref)


def test_in_polygon_special_cases(data):
    coords, idx = data
    n = len(coords)
    big = (np.array([-1e6, 1e6, 1e6, -1e6]), np.array([-1e6, -1e6, 1e6, 1e6]))
    np.testing.assert_array_equal(idx.in_polygon(*big), np.arange(n))
    assert len(idx.in_polygon([], [])) == 0
    assert len(idx.in_polygon([0.0], [0.0])) == 0
    assert len(idx.in_polygon([0.0, 5.0], [0.0, 5.0])) == 0
    with pytest.raises(ValueError):
        idx.in_polygon([0, 1, float("nan")], [0, 1, 2])
    with pytest.raises(ValueError):
        idx.in_polygon([0, 1, 2], [0, 1])


def test_in_polygon_random_lassos():
    coords = clustered(120_000, seed=9)
    idx = GridIndex(coords)
    rng = np.random.default_rng(11)
    for _ in range(25):
        m = int(rng.integers(3, 400))
        cx, cy = coords[rng.integers(len(coords))]
        ang = np.sort(rng.uniform(0, 2 * np.pi, m))
        rad = rng.uniform(1, 40) * (1 + 0.5 * rng.random(m))
        xs, ys = cx + rad * np.cos(ang), cy + rad * np.sin(ang)
        if rng.random() < 0.3:
            perm = rng.permutation(m)
            xs, ys = xs[perm], ys[perm]
        np.testing.assert_array_equal(idx.in_polygon(xs, ys), ref_polygon(coords, xs, ys))


def test_in_polygon_grid_aligned_vertices(monkeypatch):
    """Vertices exactly on cell boundaries and on points' coordinates."""
    monkeypatch.setattr(spatial, "_DIRECT_TEST_POINTS", 0)
    coords = lattice(200)
    idx = GridIndex(coords)
    e = [idx.xmin + k * idx.cell_w for k in (3, 17, 40)]
    f = [idx.ymin + k * idx.cell_h for k in (5, 22, 33)]
    polys = [
        ([e[0], e[2], e[2], e[0]], [f[0], f[0], f[2], f[2]]),
        ([e[0], e[2], e[1]], [f[0], f[1], f[2]]),
        ([-50, 50, 50, 0, -50], [-50, -50, 50, 0, 50]),
        ([-30, 30, -30, 30], [-30, -30, 30, 30]),
    ]
    for xs, ys in polys:
        np.testing.assert_array_equal(idx.in_polygon(xs, ys), ref_polygon(coords, xs, ys))


def test_non_finite_points_are_never_returned():
    coords = uniform(5000, seed=2)
    coords[::50, 0] = np.nan
    coords[1::50, 1] = np.inf
    idx = GridIndex(coords)
    assert idx.n_finite == len(coords) - 200
    finite = np.isfinite(coords).all(1)
    np.testing.assert_array_equal(idx.in_box(-100, -100, 100, 100), np.flatnonzero(finite))
    np.testing.assert_array_equal(idx.in_polygon([-100, 100, 0], [-100, -100, 100]),
                                  ref_polygon(coords, [-100, 100, 0], [-100, -100, 100]))
    assert idx.in_view(-100, -100, 100, 100) == finite.sum()
    assert idx.nearest(0.0, 0.0) == ref_nearest(coords, 0.0, 0.0, math.inf)


def test_degenerate_layouts():
    for coords in (np.zeros((0, 2), np.float32), np.array([[1, 2]], np.float32),
                   np.full((50, 2), 3.0, np.float32),
                   np.column_stack([np.zeros(300), np.linspace(0, 1, 300)]).astype(np.float32),
                   np.column_stack([np.linspace(0, 1, 300), np.zeros(300)]).astype(np.float32)):
        idx = GridIndex(coords)
        for box in ((-1, -1, 5, 5), (0, 0, 0.5, 0.5), (0.2, -1, 0.3, 2)):
            np.testing.assert_array_equal(idx.in_box(*box), ref_box(coords, *box))
            assert idx.in_view(*box) == len(ref_box(coords, *box))
        for xs, ys in (([-1, 5, 5, -1], [-1, -1, 5, 5]), ([0, 0.5, 0], [0, 0.5, 1]), ([-1, 2, 0.5], [0.5, 0.5, 0.2])):
            np.testing.assert_array_equal(idx.in_polygon(xs, ys), ref_polygon(coords, xs, ys))
        for q in ((0, 0), (3, 3), (0.5, 0.1)):
            assert idx.nearest(*q, 0.3) == ref_nearest(coords, *q, 0.3)
            assert idx.nearest(*q) == ref_nearest(coords, *q, math.inf)


def test_numpy_path_queries(monkeypatch):
    monkeypatch.setattr(spatial, "USE_NUMBA", False)
    coords = clustered(30_000, seed=4)
    idx = GridIndex(coords)
    assert not idx.used_numba
    xs, ys = polygons(coords)["concave_flower"]
    np.testing.assert_array_equal(idx.in_polygon(xs, ys), ref_polygon(coords, xs, ys))
    np.testing.assert_array_equal(idx.in_box(-10, -10, 10, 10), ref_box(coords, -10, -10, 10, 10))


def test_to_sorted():
    coords = uniform(1000)
    idx = GridIndex(coords)
    vals = np.arange(1000) * 2
    np.testing.assert_array_equal(idx.to_sorted(vals), vals[idx.order])
