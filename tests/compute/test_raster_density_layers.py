"""Every density layer in one pass (`density_layers_image`) draws what the separate
`density_image` passes laid over each other drew, bit for bit; it says None where numba
cannot draw it, so the caller draws them one by one."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from explorer.compute import spatial
from explorer.compute.raster import (
    categorical_palette,
    composite_over,
    density_image,
    density_layers_image,
    map_plan,
)
from explorer.compute.raster import density_layers as dl
from explorer.compute.spatial import GridIndex

UNDER_TABLE = np.rint(np.arange(256) * 0.6).astype(np.uint8)
HELD_TABLE = np.rint(np.arange(256) * 0.55).astype(np.uint8)
HELD = (190, 190, 190)
K = 6


def clustered(n=30_000, seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    codes = rng.integers(-1, K, n).astype(np.int16)
    centres = rng.uniform(-4, 4, (K + 1, 2))
    xy = centres[codes] + rng.standard_normal((n, 2)) * rng.uniform(0.2, 1.5, K + 1)[codes, None]
    return xy.astype(dtype), codes


def separate(index, rect, w, h, codes, passes, pal, grey, visible):
    """The layers as render_layers drew them: one density_image each, laid over each other."""
    xy = index.sorted_coords
    shown = np.ones(K, bool) if visible is None else visible
    drawn = np.where(passes, codes, -1)

    def draw(c, p, vis, table=None):
        img = density_image(xy, rect, w, h, categories=c, palette=p, visible=vis)
        if table is not None:
            img[..., 3] = table[img[..., 3]]
        return img

    if grey.any():
        img = composite_over(draw(drawn, pal, shown & ~grey),
                             draw(drawn, pal, shown & grey, UNDER_TABLE))
    else:
        img = draw(drawn, pal, shown)
    if not passes.all():
        held = np.where(passes, -1, 0).astype(np.int16)
        img = composite_over(img, draw(held, np.array([HELD + (255,)], np.uint8), None,
                                       HELD_TABLE))
    return img


def one_pass(index, rect, w, h, codes, passes, pal, grey, visible):
    plan = map_plan(pal, visible, grey, under_table=UNDER_TABLE,
                    held_colour=None if passes.all() else HELD, held_table=HELD_TABLE)
    slots = np.where(passes, codes, K).astype(np.int16)
    return density_layers_image(index, rect, w, h, slots, plan)


@pytest.mark.parametrize("layers", ["categories", "other", "filter", "mixed", "hidden",
                                    "one grey"])
@pytest.mark.parametrize("rect", [(-6.0, 6.0, -5.0, 5.0), (-1.3, 2.1, -0.7, 1.9),
                                  (3.0, 9.0, -9.0, -2.0), (-60.0, 60.0, -40.0, 40.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_pass_equals_the_layers_laid_over_each_other(layers, rect, dtype):
    xy, codes = clustered(dtype=dtype)
    index = GridIndex(xy)
    sorted_codes = index.to_sorted(codes)
    pal = categorical_palette(K)
    grey = np.zeros(K, bool)
    if layers in ("other", "mixed", "hidden", "one grey"):
        grey[[1, 4]] = True
    if layers == "one grey":  # as the map's "(other)": a layer of one colour
        pal[grey] = (150, 150, 150, 255)
    passes = np.ones(len(xy), bool)
    if layers in ("filter", "mixed", "hidden", "one grey"):
        passes = index.to_sorted(np.random.default_rng(2).random(len(xy)) < 0.4)
    visible = None
    if layers == "hidden":
        visible = np.array([True, False, True, True, False, True])
    want = separate(index, rect, 160, 120, sorted_codes, passes, pal, grey, visible)
    got = one_pass(index, rect, 160, 120, sorted_codes, passes, pal, grey, visible)
    assert got is not None
    assert np.count_nonzero(want[..., 3]) > 20
    np.testing.assert_array_equal(got, want)


def test_a_view_off_the_map_is_transparent():
    xy, codes = clustered()
    index = GridIndex(xy)
    got = one_pass(index, (50.0, 60.0, 50.0, 60.0), 40, 30, index.to_sorted(codes),
                   np.ones(len(xy), bool), categorical_palette(K), np.zeros(K, bool), None)
    assert got.shape == (30, 40, 4) and not got.any()


def test_without_numba_it_says_none(monkeypatch):
    monkeypatch.setattr(spatial, "USE_NUMBA", False)
    xy, codes = clustered()
    index = GridIndex(xy)
    assert one_pass(index, (-6.0, 6.0, -5.0, 5.0), 80, 60, index.to_sorted(codes),
                    np.ones(len(xy), bool), categorical_palette(K), np.zeros(K, bool),
                    None) is None


def test_a_cell_row_taller_than_the_window_says_none(monkeypatch):
    """Zoomed so far in that one cell row spans more pixel rows than the window holds."""
    monkeypatch.setattr(dl, "MAX_RING", 4)
    xy, codes = clustered()
    index = GridIndex(xy)
    assert one_pass(index, (0.0, 0.2, 0.0, 0.2), 80, 60, index.to_sorted(codes),
                    np.ones(len(xy), bool), categorical_palette(K), np.zeros(K, bool),
                    None) is None


def test_a_slot_past_the_plan_is_refused():
    xy, codes = clustered()
    index = GridIndex(xy)
    slots = index.to_sorted(codes).copy()
    slots[5] = K + 3
    plan = map_plan(categorical_palette(K), None, np.zeros(K, bool))
    with pytest.raises(ValueError, match="slots"):
        density_layers_image(index, (-60.0, 60.0, -40.0, 40.0), 80, 60, slots, plan)


def test_the_plan_lays_grey_first_and_held_rows_under_everything():
    plan = map_plan(categorical_palette(3), [True, False, True], [False, False, True],
                    held_colour=HELD)
    assert plan.slot_layer.tolist() == [0, -1, 1, 2]
    assert [tuple(s) for s in plan.steps] == [(1, dl.WRITE), (0, dl.OVER), (2, dl.UNDER)]
    assert plan.palette[3, :3].tolist() == list(HELD)
    with pytest.raises(ValueError, match="steps"):
        dl.LayerPlan(np.zeros(2, np.int64), categorical_palette(2), [None],
                     [(0, dl.OVER)])
    with pytest.raises(ValueError, match="layers"):
        dl.LayerPlan(np.arange(4, dtype=np.int64), categorical_palette(4), [None] * 4,
                     [(0, dl.WRITE), (1, dl.OVER), (2, dl.UNDER), (3, dl.UNDER)])


@pytest.mark.parametrize(("lo", "hi"), [(0, 70), (10, 60)])
def test_points_are_placed_as_the_view_transform_places_them(lo, hi):
    """`_place` (no branch; float32 read as planar rows) against View's own transform:
    each point's pixel, out of view or of the band's rows lo .. hi - 1 (-1) or outside
    the window's rows (-2), the planar and the plain reads alike, on points all over and
    just past the edges."""
    from explorer.compute.raster.view import View
    rng = np.random.default_rng(4)
    rect, w, h = (-1.0, 3.0, -2.0, 1.0), 90, 70
    xy = np.concatenate([rng.uniform(-1.5, 3.5, (3000, 2)),
                         np.array([[-1.0, -2.0], [3.0, 1.0], [np.nextafter(3.0, 0), 0.0],
                                   [0.0, np.nextafter(-2.0, -3)], [np.nan, 0.0]])])
    xy = xy.astype(np.float32)
    index = GridIndex(xy)
    xy = index.sorted_coords
    view = View(rect, w, h, np.float32)
    tx, ty = view.tx(xy[:, 0]), view.ty(xy[:, 1])
    inside = (tx >= 0) & (tx < w) & (ty >= lo) & (ty < hi)
    low, ring = 20, 32
    row = np.where(inside, np.nan_to_num(ty), -1).astype(np.int64)
    held = inside & (row >= low) & (row < low + ring)
    want = np.where(inside, np.where(held, (row % ring) * w + np.nan_to_num(tx).astype(np.int64),
                                     -2), -1)
    args = (*view.args()[:6], np.float32(w), np.float32(lo), np.float32(hi), np.int32(w),
            np.int32(low), np.int32(ring))
    rows = dl.planar(index)
    assert rows.shape == (2, len(xy)) and rows is dl.planar(index)  # made once
    np.testing.assert_array_equal(rows.T, xy)
    for planar in (rows, np.empty((2, 0), np.float32)):
        codes = np.empty(len(xy), np.int32)
        top = dl._place(xy, planar, 0, len(xy), *args, codes)
        np.testing.assert_array_equal(codes[:len(xy)], want)
        assert top == row[held].max()
    assert dl.planar(GridIndex(xy.astype(np.float64))).shape == (2, 0)


@pytest.mark.parametrize("layers", ["categories", "mixed"])
def test_crowded_pixels_equal_the_layers_too(layers):
    """Thousands of points of mixed colours a pixel (counts past 2**15 in some): their mean
    colours and alphas as the separate passes drew them."""
    rng = np.random.default_rng(6)
    n = 400_000
    xy = rng.normal(scale=[0.3, 0.05], size=(n, 2)).astype(np.float32)
    codes = rng.integers(0, K, n).astype(np.int16)
    index = GridIndex(xy)
    sorted_codes = index.to_sorted(codes)
    grey = np.zeros(K, bool)
    passes = np.ones(n, bool)
    if layers == "mixed":
        grey[[1, 4]] = True
        passes = index.to_sorted(rng.random(n) < 0.5)
    pal = categorical_palette(K)
    rect = (-1.0, 1.0, -1.0, 1.0)
    want = separate(index, rect, 12, 6, sorted_codes, passes, pal, grey, None)
    got = one_pass(index, rect, 12, 6, sorted_codes, passes, pal, grey, None)
    assert got is not None
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("bands", [2, 3, 4])
@pytest.mark.parametrize("layers", ["categories", "mixed"])
@pytest.mark.parametrize("rect", [(-6.0, 6.0, -5.0, 5.0), (-1.3, 2.1, -0.7, 1.9),
                                  (-60.0, 60.0, -40.0, 40.0)])
def test_bands_drawn_at_once_are_the_one_image(monkeypatch, bands, layers, rect):
    """The pixel rows cut into bands, each drawn in its own thread: every pixel in one
    band with all its points, so the image is the separate passes', bit for bit."""
    monkeypatch.setattr(dl, "BANDS", bands)
    monkeypatch.setattr(dl, "BAND_POINTS", 1000)
    xy, codes = clustered()
    index = GridIndex(xy)
    sorted_codes = index.to_sorted(codes)
    pal = categorical_palette(K)
    grey = np.zeros(K, bool)
    passes = np.ones(len(xy), bool)
    if layers == "mixed":
        grey[[1, 4]] = True
        passes = index.to_sorted(np.random.default_rng(2).random(len(xy)) < 0.4)
    segments = dl.row_segments(index, rect, 160, 120)
    cut = dl.bands(*segments, 120)
    assert len(cut) > 1
    assert cut[0][-2] == 0 and cut[-1][-1] == 120
    assert all(a[-1] == b[-2] for a, b in itertools.pairwise(cut))  # a hi, the next lo
    want = separate(index, rect, 160, 120, sorted_codes, passes, pal, grey, None)
    got = one_pass(index, rect, 160, 120, sorted_codes, passes, pal, grey, None)
    assert np.count_nonzero(want[..., 3]) > 20
    np.testing.assert_array_equal(got, want)


def test_few_points_are_one_band():
    xy, _codes = clustered(n=2000)
    index = GridIndex(xy)
    segments = dl.row_segments(index, (-60.0, 60.0, -40.0, 40.0), 160, 120)
    (first, end, _floors, lo, hi), = dl.bands(*segments, 120)
    assert (lo, hi) == (0, 120) and int(np.sum(end - first)) == 2000


def test_a_layer_of_one_colour_is_told_apart():
    pal = categorical_palette(4)
    pal[[1, 3]] = (150, 150, 150, 255)
    plan = map_plan(pal, None, [False, True, False, True], held_colour=HELD)
    assert dl.one_colour(plan).tolist() == [[0, 0, 0, 0], [150, 150, 150, 1], [*HELD, 1]]
    plan = map_plan(categorical_palette(4), None, [False, True, False, True])
    assert not dl.one_colour(plan)[:, 3].any()
