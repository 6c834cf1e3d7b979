"""The fused density finish (alpha table, laid over or under in the same pass, kept sums)
draws what the separate steps drew, on both paths."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute.raster import (
    Accumulators,
    categorical_palette,
    composite_over,
    density,
    density_image,
)

RECT = (-3.0, 3.0, -2.0, 2.0)
TABLE = np.rint(np.arange(256) * 0.6).astype(np.uint8)


def data(n=20_000, k=6, seed=1):
    rng = np.random.default_rng(seed)
    xy = rng.normal(size=(n, 2)).astype(np.float32)
    codes = rng.integers(-1, k, n).astype(np.int16)
    return xy, codes, categorical_palette(k)


def separate(xy, codes, pal, vis, table=None, **kw):
    img = density_image(xy, RECT, 120, 80, categories=codes, palette=pal, visible=vis, **kw)
    if table is not None:
        img[..., 3] = table[img[..., 3]]
    return img


def test_table_and_over_and_under_equal_separate_steps(path):
    xy, codes, pal = data()
    grey = np.arange(len(pal)) < 2
    want_under = separate(xy, codes, pal, grey, TABLE)
    want = composite_over(separate(xy, codes, pal, ~grey), want_under)
    held = np.full(len(xy), -1, np.int16)
    held[::3] = 0
    one = np.array([(190, 190, 190, 255)], np.uint8)
    want = composite_over(want, separate(xy, held, one, None, TABLE))
    acc = Accumulators()
    for _ in range(2):  # the second time from the kept (zeroed) sums
        under = density_image(xy, RECT, 120, 80, categories=codes, palette=pal, visible=grey,
                              alpha_table=TABLE, accumulators=acc)
        got = density_image(xy, RECT, 120, 80, categories=codes, palette=pal, visible=~grey,
                            below=under, accumulators=acc)
        assert got is under
        got = density_image(xy, RECT, 120, 80, categories=held, palette=one, alpha_table=TABLE,
                            above=got, accumulators=acc)
        np.testing.assert_array_equal(got, want)


def test_kept_sums_are_cleared_after_a_failed_render(path):
    xy, codes, pal = data()
    acc = Accumulators()
    want = density_image(xy, RECT, 120, 80, categories=codes, palette=pal)
    with pytest.raises(ValueError, match="category codes"):
        density_image(xy, RECT, 120, 80, categories=codes + 10, palette=pal, accumulators=acc)
    got = density_image(xy, RECT, 120, 80, categories=codes, palette=pal, accumulators=acc)
    np.testing.assert_array_equal(got, want)


def test_count_max_and_scales_match_the_numpy_finish(path, monkeypatch):
    xy, codes, pal = data(5000)
    for scale, cmax in (("log", None), ("sqrt", 3), ("linear", None)):
        fused = density_image(xy, RECT, 60, 40, categories=codes, palette=pal,
                              counts_scale=scale, count_max=cmax)
        with monkeypatch.context() as m:
            m.setattr(density, "MAX_LUT", -1)  # counts past the table: the numpy finish
            plain = density_image(xy, RECT, 60, 40, categories=codes, palette=pal,
                                  counts_scale=scale, count_max=cmax)
        np.testing.assert_array_equal(fused, plain)


def test_below_must_fit_the_image():
    xy, codes, pal = data(100)
    with pytest.raises(ValueError, match="below must be"):
        density_image(xy, RECT, 12, 8, categories=codes, palette=pal,
                      below=np.zeros((8, 13, 4), np.uint8))


@pytest.mark.parametrize("kw", [{}, {"value_range": (-0.5, 0.25)}, {"counts_scale": "linear"},
                                {"count_max": 3.0}, {"constant": True},
                                {"alpha_table": TABLE}])
def test_the_fused_values_finish_equals_the_numpy_one(monkeypatch, kw):
    """Mean value -> LUT colour and count -> alpha in one numba pass, as numpy did it."""
    from explorer.compute import spatial

    if not spatial.USE_NUMBA:
        pytest.skip("numba disabled")
    xy, _codes, _pal = data()
    kw = dict(kw)
    vals = xy[:, 0] * xy[:, 1] if not kw.pop("constant", False) else np.full(len(xy), 2.0)
    vals[::7] = np.nan
    got = density_image(xy, RECT, 120, 80, values=vals, **kw)
    monkeypatch.setattr(spatial, "USE_NUMBA", False)
    want = density_image(xy, RECT, 120, 80, values=vals, **kw)
    assert np.count_nonzero(want[..., 3]) > 1000
    np.testing.assert_array_equal(got, want)
