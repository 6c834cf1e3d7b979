"""Pyramid levels of one to two bins a pixel are split by area: no grid over dense areas,
today's image where bins nest in pixels, numba == numpy."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import spatial
from explorer.compute.raster import (
    categorical_palette,
    density_image,
    density_layers,
    pyramid_split,
)
from explorer.compute.raster.density import alpha_lut, density_counts
from explorer.compute.raster.pyramid import (
    TOP,
    build_pyramid,
    level_for,
    pyramid_counts,
    pyramid_image,
)
from explorer.compute.raster.pyramid_split import bins_in_view, split_luts
from explorer.compute.spatial import GridIndex


@pytest.fixture(scope="module")
def uniform():
    """A dense uniform square (about 40 points a pixel below): any grid is the renderer's."""
    xy = np.random.default_rng(3).uniform(0, 1, (600_000, 2))
    index = GridIndex(xy)
    pyr = build_pyramid(index, np.zeros(len(xy), np.int16), np.full(len(xy), TOP, np.int8),
                        categorical_palette(1), depth=8)
    return xy, pyr


def column_ripple(img: np.ndarray) -> float:
    """Spread of the per-column mean alpha over the middle of the image, relative to it."""
    a = img[20:-20, 20:-20, 3].astype(np.float64).mean(axis=0)
    return float(a.std() / a.mean())


def test_one_to_two_bins_a_pixel_draws_no_grid(path, uniform):
    xy, pyr = uniform
    rect = (0.1, 0.9, 0.1, 0.9)
    size = 150  # 256 bins a unit, 187.5 pixels a unit: 1.37 bins a pixel
    assert level_for(pyr, rect, size, size) == len(pyr.levels) - 1
    got = pyramid_image(pyr, rect, size, size)
    today = density_image(xy, rect, size, size, categories=np.zeros(len(xy), np.int16),
                          palette=categorical_palette(1))
    assert column_ripple(got) <= 1.5 * column_ripple(today) + 0.005
    # as strong as today's, a little more: smoothed counts peak lower, and alpha is relative
    # to the image's largest count
    assert 0 <= got[20:-20, 20:-20, 3].mean() - today[20:-20, 20:-20, 3].mean() < 12


def test_bins_given_whole_to_the_pixel_of_their_centre_would_draw_a_grid(path, uniform):
    """What the split is for: counts per pixel with each bin given whole to the pixel of
    its centre (pyramid_counts) ripple across columns; the points' own counts do not."""
    xy, pyr = uniform
    rect = (0.1, 0.9, 0.1, 0.9)

    def ripple(counts):
        c = counts[20:-20, 20:-20].astype(np.float64).mean(axis=0)
        return c.std() / c.mean()
    whole = ripple(pyramid_counts(pyr, rect, 150, 150, bins_per_pixel=1).sum(axis=0))
    assert whole > 5 * ripple(density_counts(xy, rect, 150, 150))


def test_a_lone_point_keeps_its_ink(path):
    xy = np.array([[0.3, 0.3], [0.71, 0.2]])
    pyr = build_pyramid(GridIndex(xy), np.zeros(2, np.int16), np.full(2, TOP, np.int8),
                        categorical_palette(1), depth=6)
    rect = (0.0, 1.0, 0.0, 1.0)
    img = pyramid_image(pyr, rect, 40, 40)  # 64 bins over 40 pixels: split level
    today = density_image(xy, rect, 40, 40, categories=np.zeros(2, np.int16),
                          palette=categorical_palette(1))
    assert 2 <= np.count_nonzero(img[..., 3]) <= 8  # soft over the pixels each straddles
    assert abs(int(img[..., 3].sum()) - int(today[..., 3].sum())) <= 4  # rounding, per piece


def test_numba_and_numpy_split_the_same(monkeypatch, uniform):
    pytest.importorskip("numba")
    xy, _pyr = uniform
    layer = np.where(xy[:, 0] > 0.5, 0, 2).astype(np.int8)
    index = GridIndex(xy)
    pal = categorical_palette(3)
    mixed = build_pyramid(index, index.to_sorted(np.arange(len(xy)) % 3),
                          index.to_sorted(layer), pal, depth=8)
    kw = {"held_colour": (190, 190, 190), "held_alpha": np.arange(256, dtype=np.uint8) // 2}
    rect = (0.33, 0.71, 0.27, 0.66)
    got = pyramid_image(mixed, rect, 70, 60, **kw)
    monkeypatch.setattr(spatial, "USE_NUMBA", False)
    again = pyramid_image(mixed, rect, 70, 60, **kw)
    # float sums in another order: a value may round the other way, by one
    assert np.abs(got.astype(int) - again.astype(int)).max() <= 1
    assert np.count_nonzero(got[..., 3]) > 3000


def test_fractional_counts_interpolate_todays_alpha():
    luts = split_luts(np.array([10.4]), "log", None, 0.4, [None])
    whole = alpha_lut(11, "log", 0.4, 10.4)
    np.testing.assert_array_equal(luts[0, :12], whole)


def test_bins_in_view_counts_the_bins_a_redraw_reads(path, uniform):
    _xy, pyr = uniform
    level = pyr.levels[-1]
    rows = np.repeat(np.arange(level.ny), np.diff(level.row_ptr))
    for rect in ((0.1, 0.9, 0.1, 0.9), (0.3, 0.35, 0.6, 0.9), (2.0, 3.0, 0.0, 1.0)):
        x0, x1, y0, y1 = rect
        c_lo, c_hi = np.floor((np.array([x0, x1]) - pyr.x0) / level.bin) + (-1, 1)
        r_lo, r_hi = np.floor((np.array([y0, y1]) - pyr.y0) / level.bin) + (-1, 1)
        want = np.count_nonzero((level.cols >= c_lo) & (level.cols <= c_hi)
                                & (rows >= r_lo) & (rows <= r_hi))
        assert bins_in_view(pyr.x0, pyr.y0, level, rect) == want
    rect = (0.1, 0.9, 0.1, 0.9)
    assert pyramid_image(pyr, rect, 150, 150, max_bins=0) is None
    assert pyramid_image(pyr, rect, 150, 150, max_bins=10**9) is not None


def test_the_alpha_of_a_fractional_count_is_the_interpolation_without_a_branch():
    """`_alpha` (no branch) against the rule written out: 0 for no point, under one point
    from nothing to one point's alpha, else linear between the whole counts around it;
    luts[:, 0] is 0 even when a table maps alpha 0 to more."""
    import math

    from explorer.compute.raster.pyramid_split import _alpha
    odd = np.clip(np.arange(256) + 7, 0, 255).astype(np.uint8)  # alpha 0 -> 7
    luts = split_luts(np.array([37.6, 3.2]), "log", None, 0.4, [None, odd])
    assert not luts[:, 0].any()
    counts = np.concatenate([[0.0, 1e-9, 0.25, 0.5, 0.999, 1.0, 1.5, 2.0, 3.2, 37.6],
                             np.random.default_rng(0).uniform(0, 37.6, 500)])

    def rule(lay, c):
        if c <= 0:
            return 0
        if c < 1:
            return math.floor(float(luts[lay, 1]) * c + 0.5)
        f = int(c)
        a = float(luts[lay, f])
        a += (float(luts[lay, f + 1]) - a) * (c - f)
        return math.floor(a + 0.5)
    for lay in range(2):
        for c in counts:
            assert _alpha(luts, lay, c) == rule(lay, c), (lay, c)


@pytest.mark.parametrize("bands", [2, 3])
@pytest.mark.parametrize(("rect", "w", "h"), [((0.33, 0.71, 0.27, 0.66), 70, 60),
                                              ((-0.2, 1.3, -0.1, 1.1), 140, 120)])
def test_bands_drawn_at_once_split_the_same_as_one(monkeypatch, uniform, bands, rect, w, h):
    """Bins split in bands of pixel rows, a thread each: every pixel gets the same bins in
    the same order as in one band, so the same image, bit for bit."""
    pytest.importorskip("numba")
    xy, _pyr = uniform
    layer = np.where(xy[:, 0] > 0.5, 0, 2).astype(np.int8)
    index = GridIndex(xy)
    mixed = build_pyramid(index, index.to_sorted(np.arange(len(xy)) % 3),
                          index.to_sorted(layer), categorical_palette(3), depth=8)
    kw = {"held_colour": (190, 190, 190), "held_alpha": np.arange(256, dtype=np.uint8) // 2}
    monkeypatch.setattr(density_layers, "BANDS", 1)
    one = pyramid_image(mixed, rect, w, h, **kw)
    monkeypatch.setattr(density_layers, "BANDS", bands)
    monkeypatch.setattr(pyramid_split, "BAND_BINS", 100)
    level = mixed.levels[level_for(mixed, rect, w, h)]
    assert level.bin * 2 > (rect[1] - rect[0]) / w  # split by area
    span = pyramid_split.split_span(mixed.x0, mixed.y0, level, rect, w, h)
    assert len(pyramid_split.split_bands(level, span, h)) == bands
    np.testing.assert_array_equal(pyramid_image(mixed, rect, w, h, **kw), one)
    assert np.count_nonzero(one[..., 3]) > 3000
