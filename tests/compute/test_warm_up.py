"""The warm-up covers the kernels between a set opening and its first map, so the compile
worker caches them first (a first launch draws with numpy until then)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import raster, spatial, warm_up
from explorer.compute.raster import blend, density, density_finish, points
from explorer.compute.spatial import GridIndex


def test_warm_map_drawing_compiles_every_kernel_of_a_first_map():
    warm_up.warm_map_drawing()
    for kernel in (spatial._build_kernel, density._density_cat_kernel, blend._blend_kernel,
                   blend._finish_kernel, blend._over_kernel, points._points_kernel):
        assert kernel.signatures, kernel.__name__


@pytest.mark.parametrize("colouring", ["none", "categories", "values"])
def test_a_first_map_after_the_warm_up_compiles_nothing(colouring):
    """The map of a set (read-only coordinates, a subset of rows in view) in each colouring
    reuses what the warm-up compiled: a first launch's second start compiled the uncoloured
    demo map's blend kernel in the app before the warm-up covered it."""
    warm_up.warm_map_drawing()
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(3000, 2)).astype(np.float32)
    xy.flags.writeable = False
    grid = GridIndex(xy)
    coords = grid.sorted_coords.copy()
    coords.flags.writeable = False
    kw = {"none": {},
          "categories": {"categories": grid.to_sorted((np.arange(3000) % 5).astype(np.int16)),
                         "palette": raster.categorical_palette(5)},
          "values": {"values": grid.to_sorted(rng.normal(size=3000))}}[colouring]
    kernels = [k for module in (blend, density, density_finish, points)
               for k in vars(module).values() if hasattr(k, "overloads")]
    before = {k: set(k.overloads) for k in kernels}  # loaded from disk or compiled: both count
    rect = (-2.0, 2.0, -2.0, 2.0)
    spans = grid.view_spans(-2, -2, 2, 2)
    order = spatial.spans_to_positions(*spans)
    raster.blend_image(coords, rect, 80, 60, radius_px=2, alpha=0.5, order=order, **kw)
    raster.points_image(coords, rect, 80, 60, radius_px=2, order=order, **kw)
    raster.density_image(coords, rect, 80, 60, spans=spans, **kw)
    assert {k.__name__: len(set(k.overloads) - before[k]) for k in kernels} \
        == {k.__name__: 0 for k in kernels}
