"""The warm-up covers the kernels between a set opening and its first map, so the compile
worker caches them first (a first launch draws with numpy until then)."""

from __future__ import annotations

from explorer.compute import spatial, warm_up
from explorer.compute.raster import blend, density, points


def test_warm_map_drawing_compiles_every_kernel_of_a_first_map():
    warm_up.warm_map_drawing()
    for kernel in (spatial._build_kernel, density._density_cat_kernel, blend._blend_kernel,
                   blend._finish_kernel, blend._over_kernel, points._points_kernel):
        assert kernel.signatures, kernel.__name__
