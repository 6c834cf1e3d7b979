"""Rasteriser: counts, colour mixing, orientation, discs, layers, palettes; numba == numpy."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import raster, spatial
from explorer.compute.raster import (
    OTHER_GREY,
    VIRIDIS,
    categorical_palette,
    choose_mode,
    density_counts,
    density_image,
    disc_offsets,
    highlight_image,
    points_image,
)
from explorer.compute.spatial import GridIndex

RED = (255, 0, 0, 255)
BLUE = (0, 0, 255, 255)
GREEN = (0, 255, 0, 255)
PAL = np.array([RED, BLUE, GREEN], dtype=np.uint8)


def clustered(n, k=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, (k, 2))
    lab = rng.integers(0, k, n).astype(np.int32)
    xy = (centres[lab] + rng.standard_normal((n, 2)) * rng.uniform(0.3, 3, k)[lab, None]).astype(np.float32)
    return xy, lab


def in_view_ref(coords, rect):
    x0, x1, y0, y1 = rect
    X = coords[:, 0].astype(np.float64)
    Y = coords[:, 1].astype(np.float64)
    return (X >= x0) & (X < x1) & (Y >= y0) & (Y < y1)


# --- density -------------------------------------------------------------------------


def test_density_total_equals_points_in_view(path):
    xy, lab = clustered(100_000)
    rect = (-15.25, 17.5, -12.125, 9.0)  # float32-exact edges
    # keep points off the view's edges so float32 rounding cannot decide them
    X, Y = xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64)
    off = np.all([np.abs(X - rect[0]) > 1e-4, np.abs(X - rect[1]) > 1e-4,
                  np.abs(Y - rect[2]) > 1e-4, np.abs(Y - rect[3]) > 1e-4], axis=0)
    xy = xy[off]
    expected = int(in_view_ref(xy, rect).sum())
    assert 0 < expected < len(xy)
    counts = density_counts(xy, rect, 640, 400)
    assert counts.shape == (400, 640)
    assert int(counts.sum()) == expected
    # the count image agrees with the coloured one about which pixels hold points
    img = density_image(xy, rect, 640, 400)
    np.testing.assert_array_equal(img[..., 3] > 0, counts > 0)
    pal = categorical_palette(6)
    img = density_image(xy, rect, 640, 400, categories=lab[off], palette=pal)
    np.testing.assert_array_equal(img[..., 3] > 0, counts > 0)


def test_density_pixel_placement_and_orientation(path):
    # view 0..4 x 0..2 into 4x2 pixels: one pixel per data unit
    pts = np.array([[0.5, 1.5], [3.5, 0.5], [3.99, 1.99], [0.0, 0.0], [4.0, 1.0], [1.0, 2.0]], np.float32)
    c = density_counts(pts, (0, 4, 0, 2), 4, 2)
    # (0.5, 1.5): column 0, upper half -> row 0; (3.5, 0.5) and (0,0): bottom row
    # (4.0, 1.0) and (1.0, 2.0) lie on the open edges: outside
    np.testing.assert_array_equal(c, [[1, 0, 0, 1], [1, 0, 0, 1]])


def test_category_mixing_hand_made(path):
    # pixel (row 0, col 0): 3 red + 1 blue; pixel (row 1, col 1): 1 blue; one hidden (-1) point
    pts = np.array([[0.5, 1.5]] * 4 + [[1.5, 0.5], [1.5, 0.5]], np.float32)
    cat = np.array([0, 0, 0, 1, 1, -1])
    img = density_image(pts, (0, 2, 0, 2), 2, 2, categories=cat, palette=PAL, counts_scale="log")
    assert img.shape == (2, 2, 4) and img.dtype == np.uint8
    # mean of 3 x (255,0,0) and (0,0,255): (191.25, 0, 63.75)
    np.testing.assert_array_equal(img[0, 0], [191, 0, 64, 255])  # max count -> opaque
    np.testing.assert_array_equal(img[1, 1], [0, 0, 255, round(0.4 * 255)])  # one point -> min alpha
    assert img[0, 1, 3] == 0 and img[1, 0, 3] == 0
    # linear scale: count 1 of 4 -> 0.4 + 0.6 * 0.25
    img = density_image(pts, (0, 2, 0, 2), 2, 2, categories=cat, palette=PAL, counts_scale="linear")
    assert img[1, 1, 3] == round((0.4 + 0.6 * 0.25) * 255)
    # fixed count_max: 4 of 8 in sqrt scale
    img = density_image(pts, (0, 2, 0, 2), 2, 2, categories=cat, palette=PAL, counts_scale="sqrt", count_max=8)
    assert img[0, 0, 3] == round((0.4 + 0.6 * np.sqrt(0.5)) * 255)


def test_hidden_categories_excluded(path):
    pts = np.array([[0.5, 1.5]] * 4 + [[1.5, 0.5], [1.5, 0.5]], np.float32)
    cat = np.array([0, 0, 0, 1, 1, 2])
    img = density_image(pts, (0, 2, 0, 2), 2, 2, categories=cat, palette=PAL, visible=[True, False, True])
    np.testing.assert_array_equal(img[0, 0], [255, 0, 0, 255])  # blue left out of the mix
    np.testing.assert_array_equal(img[1, 1, :3], [0, 255, 0])  # only green remains
    none = density_image(pts, (0, 2, 0, 2), 2, 2, categories=cat, palette=PAL, visible=[False, False, False])
    assert not none.any()
    allneg = density_image(pts, (0, 2, 0, 2), 2, 2, categories=np.full(6, -1), palette=PAL)
    assert not allneg.any()


def test_category_code_past_palette_is_an_error(path):
    pts = np.zeros((3, 2), np.float32) + 0.5
    with pytest.raises(ValueError, match="palette"):
        density_image(pts, (0, 1, 0, 1), 1, 1, categories=np.array([0, 1, 7]), palette=PAL)


def test_values_mean_colour(path):
    pts = np.array([[0.5, 0.5], [0.5, 0.5], [1.5, 0.5], [1.5, 0.5]], np.float32)
    vals = np.array([0.0, 1.0, 1.0, np.nan])
    img = density_image(pts, (0, 2, 0, 1), 2, 1, values=vals, value_range=(0, 1))
    np.testing.assert_array_equal(img[0, 0, :3], VIRIDIS[128, :3])  # mean 0.5
    np.testing.assert_array_equal(img[0, 1, :3], VIRIDIS[255, :3])  # NaN left out, mean 1
    assert img[0, 0, 3] == 255 and img[0, 1, 3] == round(0.4 * 255)
    # default range: the values' own min and max
    img2 = density_image(pts, (0, 2, 0, 1), 2, 1, values=vals)
    np.testing.assert_array_equal(img, img2)


def test_count_colouring_uses_lut(path):
    pts = np.array([[0.5, 0.5]] * 9 + [[1.5, 0.5]], np.float32)
    img = density_image(pts, (0, 2, 0, 1), 2, 1)
    np.testing.assert_array_equal(img[0, 0], VIRIDIS[255])
    np.testing.assert_array_equal(img[0, 1], VIRIDIS[0])
    lut = np.zeros((256, 4), np.uint8)
    lut[:, 0] = np.arange(256)
    lut[:, 3] = 255
    img = density_image(pts, (0, 2, 0, 1), 2, 1, cmap=lut, counts_scale="linear")
    assert img[0, 1, 0] == int(256 / 9)  # count 1 of 9, linear


def test_index_order_with_spans_gives_same_image(path):
    xy, lab = clustered(50_000, seed=2)
    idx = GridIndex(xy)
    pal = categorical_palette(6)
    for rect in ((-30, 30, -25, 25), (-3, 5, -2, 4), (100, 110, 0, 10)):
        a = density_image(xy, rect, 320, 200, categories=lab, palette=pal)
        spans = idx.view_spans(rect[0], rect[2], rect[1], rect[3])
        b = density_image(idx.sorted_coords, rect, 320, 200, categories=idx.to_sorted(lab), palette=pal,
                          spans=spans)
        np.testing.assert_array_equal(a, b)


def test_numba_and_numpy_images_identical(monkeypatch):
    pytest.importorskip("numba")
    if not spatial.USE_NUMBA:
        pytest.skip("numba disabled")
    xy, lab = clustered(40_000, k=9, seed=5)
    lab[::13] = -1
    vals = xy[:, 0] * 0.5 + np.float32(1)
    vals[::17] = np.nan
    pal = categorical_palette(9, other=True)
    vis = np.ones(10, bool)
    vis[4] = False
    rect = (-21.3, 18.7, -14.1, 16.9)
    order = np.random.default_rng(0).permutation(len(xy))[:8000]
    colours = np.random.default_rng(1).integers(0, 256, (len(xy), 4)).astype(np.uint8)
    calls = [
        lambda: density_image(xy, rect, 300, 200, categories=lab, palette=pal, visible=vis),
        lambda: density_image(xy, rect, 300, 200, values=vals, counts_scale="sqrt"),
        lambda: density_image(xy.astype(np.float64), rect, 300, 200),
        lambda: points_image(xy, rect, 300, 200, categories=lab, palette=pal, visible=vis),
        lambda: points_image(xy, rect, 300, 200, values=vals, radius_px=2, order=order),
        lambda: points_image(xy, rect, 300, 200, colours, radius_px=5, outline=False),
        lambda: highlight_image(xy, rect, 300, 200, order),
        lambda: highlight_image(xy, rect, 300, 200, order, style="disc"),
        lambda: highlight_image(xy, rect, 300, 200, order, mode="density"),
    ]
    for k, call in enumerate(calls):
        monkeypatch.setattr(spatial, "USE_NUMBA", True)
        a = call()
        monkeypatch.setattr(spatial, "USE_NUMBA", False)
        b = call()
        np.testing.assert_array_equal(a, b, err_msg=f"call {k}")
        assert a[..., 3].any()


def test_rect_validation():
    pts = np.zeros((3, 2), np.float32)
    for rect in ((1, 0, 0, 1), (0, 1, 0, 0), (0, float("inf"), 0, 1)):
        with pytest.raises(ValueError):
            density_image(pts, rect, 10, 10)
    with pytest.raises(ValueError):
        points_image(pts, (0, 1, 0, 1), 0, 10)
    with pytest.raises(ValueError):
        density_image(pts, (0, 1, 0, 1), 4, 4, categories=np.zeros(3, int))  # no palette


def test_deep_zoom_keeps_subpixel_accuracy(path):
    # float32 points near 1000 in a view 0.01 wide: (x - x0) must not lose the offset
    # (float32-exact, and each at least 0.005 px from a pixel edge)
    xs = np.float32(1000.0) + np.arange(-20, 20, dtype=np.float32) * np.float32(2 ** -10) + np.float32(2 ** -13)
    pts = np.column_stack([xs, np.full(len(xs), 500.0, np.float32)])
    rect = (999.99, 1000.01, 499.995, 500.005)
    c = density_counts(pts, rect, 1000, 10)
    X = xs.astype(np.float64)
    inside = (X >= rect[0]) & (X < rect[1])
    cols = np.floor((X[inside] - rect[0]) * 1000 / 0.02).astype(int)
    expect = np.zeros(1000, int)
    np.add.at(expect, cols, 1)
    np.testing.assert_array_equal(c.sum(axis=0), expect)


# --- points ----------------------------------------------------------------------------


def test_disc_lands_where_expected(path):
    # a 20x20 view with 1 pixel per unit; point (10.5, 15.5) -> column 10, row 20-1-15 = 4
    pts = np.array([[10.5, 15.5]], np.float32)
    img = points_image(pts, (0, 20, 0, 20), 20, 20, categories=np.array([0]), palette=PAL, radius_px=1)
    drawn = np.argwhere(img[..., 3] > 0)
    assert sorted(map(tuple, drawn)) == [(r, c) for r in (3, 4, 5) for c in (9, 10, 11)]
    np.testing.assert_array_equal(img[4, 10], RED)
    # radius 0: one pixel; high y is near the top
    top = points_image(np.array([[0.5, 19.5]], np.float32), (0, 20, 0, 20), 20, 20, radius_px=0)
    assert np.argwhere(top[..., 3] > 0).tolist() == [[0, 0]]


def test_disc_shape_and_outline():
    offs, rim = disc_offsets(3.0, True)
    d2 = (offs.astype(int) ** 2).sum(1)
    assert d2.max() <= 12 and len(offs) == int(((np.mgrid[-3:4, -3:4] ** 2).sum(0) <= 12).sum())
    assert rim.any() and not rim[d2 == 0].any()
    assert disc_offsets(1.0)[0].shape == (9, 2)
    assert disc_offsets(0.0)[0].tolist() == [[0, 0]]


def test_outline_is_darker(path):
    pts = np.array([[10.5, 10.5]], np.float32)
    img = points_image(pts, (0, 20, 0, 20), 20, 20, categories=np.array([1]), palette=PAL, radius_px=3)
    np.testing.assert_array_equal(img[9, 10], BLUE)  # centre
    np.testing.assert_array_equal(img[9, 13], [0, 0, round(255 * raster.OUTLINE_DARKEN), 255])  # rim
    plain = points_image(pts, (0, 20, 0, 20), 20, 20, categories=np.array([1]), palette=PAL, radius_px=3,
                         outline=False)
    np.testing.assert_array_equal(plain[9, 13], BLUE)


def test_later_points_overwrite_and_order(path):
    pts = np.array([[5.5, 5.5], [6.5, 5.5]], np.float32)  # overlapping discs
    cat = np.array([0, 1])
    img = points_image(pts, (0, 12, 0, 12), 12, 12, categories=cat, palette=PAL, radius_px=2, outline=False)
    np.testing.assert_array_equal(img[6, 6], BLUE)  # the later (blue) wins the overlap
    img = points_image(pts, (0, 12, 0, 12), 12, 12, categories=cat, palette=PAL, radius_px=2, outline=False,
                       order=[1, 0])
    np.testing.assert_array_equal(img[6, 6], RED)
    only = points_image(pts, (0, 12, 0, 12), 12, 12, categories=cat, palette=PAL, radius_px=2, outline=False,
                        order=[1])
    assert not (only[..., :3] == RED[:3]).all(-1).any()
    same = np.array([[5.5, 5.5]] * 3, np.float32)  # same pixel: the last one shows
    img = points_image(same, (0, 12, 0, 12), 12, 12, categories=np.array([0, 2, 1]), palette=PAL, radius_px=1)
    np.testing.assert_array_equal(img[6, 5], BLUE)


def test_points_cut_by_view_edge_are_drawn(path):
    pts = np.array([[-0.5, 5.5], [10.2, 5.5], [30.0, 5.0]], np.float32)
    img = points_image(pts, (0, 10, 0, 10), 10, 10, radius_px=2, outline=False)
    assert img[4, 0, 3] > 0 and img[4, 1, 3] > 0 and img[4, 2, 3] == 0  # left one reaches 2 columns
    assert img[4, 9, 3] > 0  # right one (column 10) reaches column 9
    assert img[..., 3].sum() > 0


def test_points_hidden_categories_and_colours(path):
    pts = np.array([[2.5, 2.5], [7.5, 7.5], [5.5, 5.5]], np.float32)
    img = points_image(pts, (0, 10, 0, 10), 10, 10, categories=np.array([0, 1, -1]), palette=PAL,
                       visible=[True, False, True], radius_px=0)
    assert np.argwhere(img[..., 3] > 0).tolist() == [[7, 2]]
    cols = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.uint8)
    img = points_image(pts, (0, 10, 0, 10), 10, 10, cols, radius_px=0)
    np.testing.assert_array_equal(img[2, 7], [4, 5, 6, 255])
    img = points_image(pts, (0, 10, 0, 10), 10, 10, values=np.array([0.0, np.nan, 1.0]), radius_px=0)
    np.testing.assert_array_equal(img[7, 2], VIRIDIS[0])
    np.testing.assert_array_equal(img[4, 5], VIRIDIS[255])
    assert img[2, 7, 3] == 0


# --- selection layer ---------------------------------------------------------------------


def test_highlight_ring_leaves_point_visible(path):
    pts = np.array([[10.5, 10.5], [3.5, 3.5]], np.float32)
    img = highlight_image(pts, (0, 20, 0, 20), 20, 20, [0], radius_px=2, colour=(255, 200, 0, 255))
    assert img[9, 10, 3] == 0 and img[9, 12, 3] == 0  # the point's own disc stays clear
    np.testing.assert_array_equal(img[9, 13], [255, 200, 0, 255])  # ring just outside radius 2
    np.testing.assert_array_equal(img[9, 14], [20, 20, 20, 255])  # dark outer edge
    assert img[16, 3, 3] == 0  # unselected point: nothing
    mask = np.array([True, False])
    np.testing.assert_array_equal(highlight_image(pts, (0, 20, 0, 20), 20, 20, mask, radius_px=2,
                                                  colour=(255, 200, 0, 255)), img)
    disc = highlight_image(pts, (0, 20, 0, 20), 20, 20, [0], radius_px=2, style="disc")
    assert disc[9, 10, 3] == 255
    assert not highlight_image(pts, (0, 20, 0, 20), 20, 20, []).any()


def test_highlight_density_mode(path):
    xy, _ = clustered(20_000)
    rows = np.arange(0, 20_000, 2)
    img = highlight_image(xy, (-30, 30, -30, 30), 100, 100, rows, colour=(0, 255, 255, 255))
    assert choose_mode(len(rows), 100, 100) == "density"
    counts = density_counts(xy[rows], (-30, 30, -30, 30), 100, 100)
    np.testing.assert_array_equal(img[..., 3] > 0, counts > 0)
    assert (img[img[..., 3] > 0][:, :3] == [0, 255, 255]).all()


# --- modes and palettes --------------------------------------------------------------------


def test_choose_mode():
    assert choose_mode(1000, 1600, 1000) == "points"
    assert choose_mode(300_000, 1600, 1000) == "points"
    assert choose_mode(300_001, 1600, 1000) == "density"
    assert choose_mode(3000, 100, 100) == "density"  # > 1 point per 4 pixels
    assert choose_mode(2500, 100, 100) == "points"
    assert choose_mode(0, 1, 1) == "points"


def _lab(rgb):
    return raster.srgb_to_lab(np.asarray(rgb, dtype=np.float64))


def test_ciede2000_matches_published_pairs():
    # Sharma, Wu & Dalal (2005), test data pairs 1, 2, 7 and 17
    pairs = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
             ((50, 3.1571, -77.2803), (50, 0, -82.7485), 2.8615),
             ((50, 0, 0), (50, -1, 2), 2.3669),
             ((50, 2.5, 0), (73, 25, -18), 27.1492)]
    for a, b, want in pairs:
        assert float(raster.ciede2000(np.array(a), np.array(b))) == pytest.approx(want, abs=1e-4)


def test_categorical_palette():
    p = categorical_palette(10)
    assert p.shape == (10, 4) and p.dtype == np.uint8 and (p[:, 3] == 255).all()
    # pinned: a change of method changes every user's colours, so it is made on purpose
    assert p[0].tolist() == [0x79, 0x36, 0xD7, 255] and p[1].tolist() == [0xBC, 0x1B, 0x00, 255]
    big = categorical_palette(40, other=True)
    assert big.shape == (41, 4)
    assert big[-1].tolist() == list(OTHER_GREY)
    np.testing.assert_array_equal(big[:10], p)  # stable prefix
    lab = _lab(big[:20, :3])
    d = raster.ciede2000(lab[:, None], lab[None])
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 18  # the first 20 well apart (CIEDE2000; 1 is a just-noticeable step)
    grey = _lab([OTHER_GREY[:3], (255, 255, 255), (30, 30, 30)])
    assert raster.ciede2000(lab[:, None], grey[None]).min() >= 18  # and from grey, both backgrounds
    blues = [(c, h) for c, h in zip(lab, np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360)
             if 240 <= h <= 300]
    assert len(blues) <= 4  # the issue saw "similar blues within 20 categories"
    assert categorical_palette(0).shape == (0, 4)
    assert categorical_palette(0, other=True).shape == (1, 4)


def test_category_colours_follow_the_value_not_the_order():
    grey = frozenset({"(other)"})
    a = raster.category_palette(["games", "libs", "python", "(other)"], grey)
    b = raster.category_palette(["python", "(other)", "net", "games"], grey)
    assert a[0].tolist() == b[3].tolist() and a[2].tolist() == b[0].tolist()
    assert a[3].tolist() == list(OTHER_GREY) == b[1].tolist()
    labels = [f"cat{i}" for i in range(raster.PALETTE_SIZE)]
    full = raster.category_palette(labels)
    assert len({tuple(c) for c in full.tolist()}) == raster.PALETTE_SIZE  # collisions move on
    many = raster.category_palette([f"v{i}" for i in range(45)])
    assert len({tuple(c) for c in many.tolist()}) == 45
    assert raster.category_palette([]).shape == (0, 4)


def test_viridis_lut():
    assert VIRIDIS.shape == (256, 4) and VIRIDIS.dtype == np.uint8
    # matplotlib's viridis at a few entries (rounded to 0..255), within interpolation error
    ref = {0: (68, 1, 84), 4: (70, 7, 90), 20: (72, 29, 111), 64: (59, 82, 139), 100: (42, 118, 142),
           130: (32, 146, 140), 170: (53, 183, 121), 200: (112, 207, 87), 242: (221, 227, 24),
           246: (231, 228, 25), 255: (253, 231, 37)}
    for i, rgb in ref.items():
        assert np.abs(VIRIDIS[i, :3].astype(int) - rgb).max() <= 1, i
    lab = _lab(VIRIDIS[:, :3])
    assert np.diff(lab[:, 0]).min() > -0.5  # lightness rises (up to uint8 rounding)
    assert lab[255, 0] - lab[0, 0] > 70


def test_raster_module_has_no_qt():
    import subprocess
    import sys

    code = ("import sys, explorer.compute.raster, explorer.compute.spatial; "
            "sys.exit(any(m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
