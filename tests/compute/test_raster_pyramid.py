"""Density pyramid: the same image as today's density layers, from bins; numba == numpy."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import raster, spatial
from explorer.compute.raster import (
    categorical_palette,
    ciede2000,
    composite_over,
    density_image,
)
from explorer.compute.raster.colours import srgb_to_lab
from explorer.compute.raster.density import count_alpha, density_counts
from explorer.compute.raster.pyramid import (
    HELD,
    TOP,
    UNDER,
    alpha_lut,
    build_pyramid,
    level_for,
    pyramid_counts,
    pyramid_image,
)
from explorer.compute.spatial import GridIndex

GREY = (150, 150, 150, 255)
HELD_GREY = (190, 190, 190, 255)
UNDER_ALPHA = np.rint(np.arange(256) * 0.6).astype(np.uint8)  # as the map's "(other)"
HELD_ALPHA = np.rint(np.arange(256) * 0.55).astype(np.uint8)  # and its held-back rows
PALETTE_2 = np.array([GREY, (10, 20, 30, 255)], np.uint8)


class Map:
    """Clustered float64 points in 6 categories, the last one grey ("(other)"), and a
    filter holding back every third row: the three layers the map draws."""

    def __init__(self, n: int = 60_000, seed: int = 0, held: bool = True):
        rng = np.random.default_rng(seed)
        centres = rng.uniform(-20, 20, (6, 2))
        self.lab = rng.integers(0, 6, n)
        spread = rng.uniform(0.5, 4, 6)[self.lab, None]
        self.xy = centres[self.lab] + rng.standard_normal((n, 2)) * spread
        self.palette = categorical_palette(6)
        self.palette[5] = GREY
        self.grey = np.array([False] * 5 + [True])
        self.held = (np.arange(n) % 3 == 0) if held else np.zeros(n, bool)
        self.index = GridIndex(self.xy)
        layer = np.where(self.grey[self.lab], UNDER, TOP)
        layer[self.held] = HELD
        self.pyr = build_pyramid(self.index, self.index.to_sorted(self.lab),
                                 self.index.to_sorted(layer.astype(np.int8)), self.palette)

    def today(self, rect, w, h, **kw):
        """The map's density layers as render_layers draws them today."""
        lab = np.where(self.held, -1, self.lab)
        top = density_image(self.xy, rect, w, h, categories=lab, palette=self.palette,
                            visible=~self.grey, **kw)
        under = density_image(self.xy, rect, w, h, categories=lab, palette=self.palette,
                              visible=self.grey, **kw)
        under[..., 3] = UNDER_ALPHA[under[..., 3]]
        held = density_image(self.xy, rect, w, h, categories=np.where(self.held, 0, -1),
                             palette=np.array([HELD_GREY], np.uint8), **kw)
        held[..., 3] = HELD_ALPHA[held[..., 3]]
        return composite_over(composite_over(top, under), held)

    def image(self, rect, w, h, **kw):
        return pyramid_image(self.pyr, rect, w, h, under_alpha=UNDER_ALPHA, held_alpha=HELD_ALPHA,
                             held_colour=HELD_GREY, **kw)

    def aligned(self, level: int, bins_per_pixel: int, w: int, h: int, around: int = 0):
        """A view on bin edges of `level` about the point `around`, each pixel
        `bins_per_pixel` bins wide."""
        b = self.pyr.levels[level].bin
        px = b * bins_per_pixel
        cx, cy = self.xy[around]
        x0 = self.pyr.x0 + px * np.floor((cx - w * px / 2 - self.pyr.x0) / px)
        y0 = self.pyr.y0 + px * np.floor((cy - h * px / 2 - self.pyr.y0) / px)
        return x0, x0 + w * px, y0, y0 + h * px


def similar_share(a: np.ndarray, b: np.ndarray, alpha_tol: int = 8, de_tol: float = 3.0) -> float:
    """Share of the pixels drawn in either image whose alpha is within alpha_tol and colour
    within de_tol (CIEDE2000)."""
    drawn = (a[..., 3] > 0) | (b[..., 3] > 0)
    pa, pb = a[drawn], b[drawn]
    da = np.abs(pa[:, 3].astype(int) - pb[:, 3].astype(int))
    de = ciede2000(srgb_to_lab(pa[:, :3]), srgb_to_lab(pb[:, :3]))
    return float(np.mean((da <= alpha_tol) & (de <= de_tol)))


def tone_error(a: np.ndarray, b: np.ndarray, k: int = 4) -> float:
    """Mean absolute difference of alpha averaged over k x k pixel blocks."""
    h, w = a.shape[0] // k * k, a.shape[1] // k * k

    def tone(img):
        return img[:h, :w, 3].astype(np.float64).reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    return float(np.abs(tone(a) - tone(b)).mean())


@pytest.fixture(scope="module")
def small_map():
    return Map()


@pytest.mark.parametrize("bins_per_pixel", [1, 2, 4])
def test_aligned_views_draw_todays_image_exactly(path, small_map, bins_per_pixel):
    m = small_map
    level = len(m.pyr.levels) - 1
    for around in (0, 1, 2):
        rect = m.aligned(level, bins_per_pixel, 160, 120, around)
        # the coarsest level with bins no wider than a pixel: split by area, exactly here
        assert level_for(m.pyr, rect, 160, 120) == level - {1: 0, 2: 1, 4: 2}[bins_per_pixel]
        want = m.today(rect, 160, 120)
        assert np.count_nonzero(want[..., 3]) > 500
        np.testing.assert_array_equal(m.image(rect, 160, 120), want)


def test_aligned_whole_map_exact_for_every_scale(path, small_map):
    m = small_map
    rect = m.aligned(4, 2, 40, 30)
    for kw in ({"counts_scale": "sqrt"}, {"counts_scale": "linear", "count_max": 50},
               {"min_alpha": 0.1}):
        np.testing.assert_array_equal(m.image(rect, 40, 30, **kw), m.today(rect, 40, 30, **kw))


def test_numba_and_numpy_build_and_draw_the_same(monkeypatch, small_map):
    pytest.importorskip("numba")
    m = small_map
    rect = (-17.3, 21.9, -12.6, 14.1)
    got = m.image(rect, 300, 200)
    monkeypatch.setattr(spatial, "USE_NUMBA", False)
    again = Map()
    for a, b in zip(m.pyr.levels, again.pyr.levels):
        for name in ("row_ptr", "cols", "counts", "sums"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(again.image(rect, 300, 200), got)


@pytest.mark.parametrize("rect", [(-17.3, 21.9, -12.6, 14.1), (-10.3, 10.1, -7.2, 7.9),
                                  (-40.0, 40.0, -30.0, 30.0)])
@pytest.mark.parametrize("size", [(320, 240), (160, 120)])
def test_any_view_is_closer_to_todays_image_than_a_half_pixel_pan(path, small_map, rect, size):
    """A point moves by at most half a bin, so at most half a pixel, or is spread over the
    up to 2 x 2 pixels its bin overlaps: the image's tone (alpha averaged over 4 x 4 pixel
    blocks) differs from today's about as much as today's differs from itself panned by half
    a pixel. (Per pixel, a split image is smooth where today's is speckled: one point more
    or less changes a sparse pixel's alpha a lot.)"""
    m = small_map
    w, h = size
    got, want = m.image(rect, w, h), m.today(rect, w, h)
    dx, dy = (rect[1] - rect[0]) / w / 2, (rect[3] - rect[2]) / h / 2
    panned = m.today((rect[0] + dx, rect[1] + dx, rect[2] + dy, rect[3] + dy), w, h)
    assert tone_error(got, want) <= 1.25 * tone_error(panned, want) + 0.5
    assert abs(got[..., 3].mean() - want[..., 3].mean()) <= 0.1 * want[..., 3].mean()
    drawn_got, drawn_want = np.count_nonzero(got[..., 3]), np.count_nonzero(want[..., 3])
    # nothing lost; sparse points straddling pixels light up to four (most split in two)
    assert 0.95 * drawn_want <= drawn_got <= 2.7 * drawn_want


def test_counts_in_view_are_conserved(path, small_map):
    m = small_map
    rect = m.aligned(len(m.pyr.levels) - 2, 2, 200, 150)
    want = density_counts(m.xy, rect, 200, 150)
    np.testing.assert_array_equal(pyramid_counts(m.pyr, rect, 200, 150).sum(axis=0), want)
    # any view: only the bins across its edges may be counted in or out
    x0, x1, y0, y1 = rect = (-17.3, 21.9, -12.6, 14.1)
    got = int(pyramid_counts(m.pyr, rect, 300, 200).sum())
    exact = int(density_counts(m.xy, rect, 300, 200).sum())
    b = m.pyr.levels[level_for(m.pyr, rect, 300, 200)].bin
    X, Y = m.xy[:, 0], m.xy[:, 1]
    near_edge = int(np.count_nonzero(
        (np.minimum(np.abs(X - x0), np.abs(X - x1)) < b) & (Y > y0 - b) & (Y < y1 + b)
        | (np.minimum(np.abs(Y - y0), np.abs(Y - y1)) < b) & (X > x0 - b) & (X < x1 + b)))
    assert abs(got - exact) <= near_edge
    whole = (m.pyr.x0, m.pyr.x0 + 2 * m.pyr.levels[0].bin, m.pyr.y0,
             m.pyr.y0 + 2 * m.pyr.levels[0].bin)
    assert int(pyramid_counts(m.pyr, whole, 2, 2).sum()) == len(m.xy)


def test_empty_views_and_empty_pyramids_draw_nothing(path, small_map):
    img = small_map.image((500.0, 510.0, 500.0, 505.0), 64, 32)
    assert img.shape == (32, 64, 4) and not img.any()
    m = small_map
    nothing = build_pyramid(m.index, np.zeros(len(m.xy), np.int16),
                            np.full(len(m.xy), -1, np.int8), m.palette)
    assert nothing.points == 0 and nothing.layers == (False, False, False)
    img = pyramid_image(nothing, (-20.0, 20.0, -20.0, 20.0), 64, 64)
    assert img is not None and not img.any()


def test_a_single_point(path):
    index = GridIndex(np.array([[2.5, -1.25]]))
    pyr = build_pyramid(index, np.array([1]), np.array([TOP], np.int8), PALETTE_2)
    assert pyr.points == 1 and pyr.layers == (True, False, False)
    img = pyramid_image(pyr, (2.0, 3.0, -2.0, -1.0), 4, 4)
    want = density_image(np.array([[2.5, -1.25]]), (2.0, 3.0, -2.0, -1.0), 4, 4,
                         categories=np.array([1]), palette=PALETTE_2)
    np.testing.assert_array_equal(img, want)
    assert np.count_nonzero(img[..., 3]) == 1


def test_zoomed_past_the_finest_bins_there_is_no_image(small_map):
    m = small_map
    finest = m.pyr.levels[-1].bin
    rect = (0.0, finest * 50, 0.0, finest * 50)
    assert level_for(m.pyr, rect, 100, 100) is None
    assert pyramid_image(m.pyr, rect, 100, 100) is None
    # the coarsest level with bins no wider than a pixel (the smaller pixel side decides);
    # asked for two bins a pixel, the coarsest with two, failing that one
    last = len(m.pyr.levels) - 1
    two = {"bins_per_pixel": 2}
    assert level_for(m.pyr, (0.0, finest * 100, 0.0, finest * 400), 100, 100, **two) == last
    assert level_for(m.pyr, (0.0, finest * 200, 0.0, finest * 400), 100, 100, **two) == last
    assert level_for(m.pyr, (0.0, finest * 400, 0.0, finest * 400), 100, 100, **two) == last - 1
    assert level_for(m.pyr, (0.0, finest * 400, 0.0, finest * 400), 100, 100) == last - 2
    assert level_for(m.pyr, (0.0, finest * 300, 0.0, finest * 400), 100, 100) == last - 1


@pytest.mark.parametrize("scale", ["log", "sqrt", "linear"])
def test_alpha_lut_equals_count_alpha(scale):
    for cmax, count_max, lo in ((1, None, 0.4), (7, None, 0.4), (4000, None, 0.2),
                                (300, 1000.0, 0.4), (300, 50.0, 0.0)):
        lut = alpha_lut(cmax, scale, lo, count_max)
        counts = np.arange(1, cmax + 1, dtype=np.float64)
        # count_alpha of an image whose largest count is cmax (or count_max when given)
        want = count_alpha(np.append(counts, cmax), count_max, scale, lo)[:-1]
        assert lut[0] == 0
        np.testing.assert_array_equal(lut[1:], want)


def test_scratch_buffers_are_reused_and_left_clean(small_map):
    m = small_map
    buffers: dict = {}
    rect = (-17.3, 21.9, -12.6, 14.1)
    first = pyramid_image(m.pyr, rect, 300, 200, buffers=buffers)
    assert buffers
    other = pyramid_image(m.pyr, (-10.3, 10.1, -7.2, 7.9), 160, 120, buffers=buffers)
    assert other.any()
    np.testing.assert_array_equal(pyramid_image(m.pyr, rect, 300, 200, buffers=buffers), first)
    np.testing.assert_array_equal(pyramid_image(m.pyr, rect, 300, 200), first)


def test_bad_input_is_refused_in_words(small_map):
    m = small_map
    n = len(m.xy)
    with pytest.raises(ValueError, match="one code per row"):
        build_pyramid(m.index, np.zeros(n - 1, np.int16), np.zeros(n, np.int8), m.palette)
    with pytest.raises(ValueError, match="palette"):
        build_pyramid(m.index, np.full(n, 9), np.zeros(n, np.int8), m.palette)
    with pytest.raises(ValueError, match="layers"):
        build_pyramid(m.index, np.zeros(n, np.int16), np.full(n, 5, np.int8), m.palette)
    with pytest.raises(ValueError, match="x1 > x0"):
        pyramid_image(m.pyr, (1.0, 0.0, 0.0, 1.0), 10, 10)
    with pytest.raises(ValueError, match="counts_scale"):
        pyramid_image(m.pyr, (-20.0, 20.0, -20.0, 20.0), 10, 10, counts_scale="cubic")


def test_a_map_too_wide_to_bin_is_refused_in_words():
    index = GridIndex(np.array([[-1e307, 0.0], [1e307, 1.0]]))
    with pytest.raises(ValueError, match="too far apart"):
        build_pyramid(index, np.zeros(2, np.int16), np.zeros(2, np.int8), PALETTE_2)


def test_non_finite_rows_are_left_out():
    xy = np.array([[0.5, 0.5], [np.nan, 1.0], [1.5, 0.5], [np.inf, 0.0]])
    index = GridIndex(xy)
    pyr = build_pyramid(index, np.zeros(4, np.int16), np.zeros(4, np.int8), raster.categorical_palette(1))
    assert pyr.points == 2


def test_warm_draws_without_error():
    from explorer.compute.raster.pyramid import warm

    warm()


def test_a_cancelled_build_stops(small_map):
    from explorer.core.jobs import Cancelled, TaskState

    m = small_map
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        build_pyramid(m.index, np.zeros(len(m.xy), np.int16), np.zeros(len(m.xy), np.int8),
                      m.palette, state=state)
