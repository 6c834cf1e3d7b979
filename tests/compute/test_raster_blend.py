"""Blended discs (no outlines, alpha by count, order-free), their size by zoom, and halos."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import raster, spatial
from explorer.compute.raster import blend_image, blend_style, highlight_image

RED = (255, 0, 0, 255)
BLUE = (0, 0, 255, 255)
PAL = np.array([RED, BLUE], dtype=np.uint8)
RECT = (0.0, 20.0, 0.0, 20.0)  # 20 x 20 pixels, one per unit


def pixel(img, x, y):
    """The pixel a point at (x, y) falls in (row 0 is the top)."""
    return img[img.shape[0] - 1 - int(y), int(x)]


def test_a_disc_has_its_colour_no_outline_and_alpha(path):
    xy = np.array([[5.5, 5.5]], dtype=np.float32)
    img = blend_image(xy, RECT, 20, 20, categories=np.array([0]), palette=PAL, radius_px=2,
                      alpha=0.6)
    drawn = img[..., 3] > 0
    assert drawn.sum() == len(raster.disc_offsets(2.0)[0])  # the whole disc, nothing more
    assert (img[drawn][:, :3] == RED[:3]).all()  # no darker rim
    assert (img[drawn][:, 3] == round(0.6 * 255)).all()


def test_overlapping_discs_mix_colours_and_pile_up_alpha_whatever_their_order(path):
    xy = np.array([[5.5, 5.5], [5.5, 5.5], [6.5, 5.5], [15.5, 15.5]], dtype=np.float32)
    cats = np.array([0, 1, 1, 0])
    img = blend_image(xy, RECT, 20, 20, categories=cats, palette=PAL, radius_px=1, alpha=0.5)
    p = pixel(img, 5.5, 5.5)  # under all three: one red, two blue
    np.testing.assert_array_equal(p[:3], [85, 0, 170])
    assert p[3] == round(255 * (1 - 0.5 ** 3))
    order = [3, 1, 0, 2]
    again = blend_image(xy[order], RECT, 20, 20, categories=cats[order], palette=PAL,
                        radius_px=1, alpha=0.5)
    np.testing.assert_array_equal(again, img)  # later rows do not win
    hidden = blend_image(xy, RECT, 20, 20, categories=cats, palette=PAL, radius_px=1, alpha=0.5,
                         visible=[True, False])
    assert tuple(pixel(hidden, 5.5, 5.5)) == (255, 0, 0, 128)
    some = blend_image(xy, RECT, 20, 20, categories=cats, palette=PAL, radius_px=1, alpha=0.5,
                       order=np.array([3]))
    assert pixel(some, 5.5, 5.5)[3] == 0 and pixel(some, 15.5, 15.5)[3] == 128


def test_numba_and_numpy_blend_the_same_image(monkeypatch):
    pytest.importorskip("numba")
    rng = np.random.default_rng(4)
    xy = rng.normal(size=(5000, 2)).astype(np.float32)
    cats = rng.integers(-1, 6, size=5000)
    pal = raster.categorical_palette(6)
    vals = rng.normal(size=5000)
    rect = (-2.5, 3.0, -2.0, 2.2)
    kw = [{"categories": cats, "palette": pal, "visible": [True, False, True, True, True, True]},
          {"values": vals, "value_range": (-1, 1)}, {}]
    for k in kw:
        fast = blend_image(xy, rect, 97, 63, radius_px=2, alpha=0.4, **k)
        monkeypatch.setattr(spatial, "USE_NUMBA", False)
        slow = blend_image(xy, rect, 97, 63, radius_px=2, alpha=0.4, **k)
        monkeypatch.setattr(spatial, "USE_NUMBA", True)
        np.testing.assert_array_equal(fast, slow)
        assert fast[..., 3].any()


def test_blend_style_grows_discs_as_the_view_empties_then_outlines_them():
    w, h = 1200, 900
    crowded = blend_style(60_000, w, h, 4)
    middle = blend_style(5_000, w, h, 4)
    sparse = blend_style(200, w, h, 4)
    assert crowded[0] == "blend" and middle[0] == "blend" and sparse == ("points", 4.0, 1.0)
    assert raster.blend.MIN_RADIUS <= crowded[1] < middle[1] <= 4  # size by zoom
    assert blend_style(300_000, w, h, 4)[2] < crowded[2] <= middle[2]  # crowds: more transparent
    assert blend_style(5_000, w, h, 1)[1] == 1  # never beyond the user's size
    with pytest.raises(ValueError):
        blend_image(np.zeros((1, 2)), RECT, 20, 20, alpha=0.0)


def test_halo_marks_are_drawn_over_every_halo(path):
    xy = np.array([[5.5, 5.5], [8.5, 5.5]], dtype=np.float32)  # closer than the halos
    img = highlight_image(xy, RECT, 20, 20, np.array([0, 1]), radius_px=1, style="halo",
                          colour=(255, 150, 0, 255), edge_colour=(110, 50, 0, 255),
                          mode="points")
    assert tuple(pixel(img, 5.5, 5.5)) == (255, 150, 0, 255)
    assert tuple(pixel(img, 8.5, 5.5)) == (255, 150, 0, 255)
    between = [tuple(pixel(img, x + 0.5, 5.5)) for x in range(5, 9)]
    assert all(p in ((255, 150, 0, 255), (110, 50, 0, 255)) for p in between)  # no halo over
    assert tuple(pixel(img, 3.5, 5.5)) == (110, 50, 0, 255)  # the rim
    assert tuple(pixel(img, 5.5, 9.5)) == (255, 255, 255, 235)  # the halo above the first
    assert pixel(img, 5.5, 11.5)[3] == 0


def test_composite_over_is_porter_duff(path):
    top = np.array([[[255, 0, 0, 128], [0, 0, 0, 0], [0, 0, 255, 255]]], dtype=np.uint8)
    bottom = np.array([[[0, 0, 255, 255], [10, 20, 30, 40], [255, 0, 0, 255]]], dtype=np.uint8)
    out = raster.composite_over(top, bottom)
    np.testing.assert_array_equal(out[0, 0], [128, 0, 127, 255])
    np.testing.assert_array_equal(out[0, 1], [10, 20, 30, 40])  # nothing on top
    np.testing.assert_array_equal(out[0, 2], [0, 0, 255, 255])  # opaque top wins
