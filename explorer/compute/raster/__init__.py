"""Rasterise map points into RGBA images, without a Python object per point.

Where points outnumber pixels the map shows a *density image* (every point
aggregated into the pixel it falls in); as the user zooms in it switches to
real points: translucent *blended* discs while the view is crowded, outlined
opaque discs once it is sparse. `choose_mode` and `blend_style` make the call.

Conventions shared by every function here:

* ``rect = (x0, x1, y0, y1)`` is the view in data units; ``width`` x
  ``height`` the image size in pixels. The image is (height, width, 4) uint8,
  straight (not premultiplied) RGBA in memory order R, G, B, A (QImage
  Format_RGBA8888), transparent where nothing is drawn. Row 0 is the TOP of
  the view (y1); column 0 the left (x0).
* A point at (x, y) falls in column ``floor(tx)`` and row ``height - 1 -
  floor(ty)`` with ``tx = (x - x0) * width / (x1 - x0)`` and ``ty = (y - y0)
  * height / (y1 - y0)``: the view is half-open, x0 <= x < x1 and y0 <= y <
  y1. For float32 coordinates tx is computed in float32 as ``(x - ox) * s +
  off`` with ``ox = float32(x0)`` and the float64 remainder folded into
  ``off``, which keeps sub-pixel accuracy down to the data's own float32
  resolution however far the view is from the origin.
* ``categories``: an integer code per point indexing ``palette`` (K colours);
  a negative code hides the point, and ``visible`` (K bools, the legend
  toggles) hides whole categories without touching the per-point array.
* ``values``: a float per point coloured through a 256-entry LUT (``cmap``,
  default `VIRIDIS`) over ``value_range`` (default: the values' finite min and
  max; pass it to keep colours stable while panning). NaN values are not drawn.

Speed: the inner loops are numba kernels (jitted when this package is imported,
compiled on their first call and cached on disk by `explorer.compute.numba`; GIL
released, so a render thread does not block the UI) with numpy fallbacks that
give the identical image (EXPLORER_NUMBA=0 or ``spatial.USE_NUMBA = False``).
The density kernel is memory-bound on the random pixel updates: feeding it
points in spatial order, i.e. ``GridIndex.sorted_coords`` with
``GridIndex.to_sorted(categories)`` (cached by the caller) and
``spans=index.view_spans(...)``, is ~1.7x faster at 10M points and reads only
the points near the view when zoomed in.

The front door of:

    view      the view transform, `choose_mode` and the checks every renderer shares
    colours   palettes (`categorical_palette`, `category_palette` by value, VIRIDIS), LUTs,
              `ciede2000`
    density   `density_image`, `density_counts`; `Accumulators` (its sums, kept between renders)
    density_layers  `density_layers_image`: the map's layers in one pass (`map_plan`, `LayerPlan`)
    points    `points_image`, `highlight_image`, `disc_offsets`
    blend     `blend_image` (translucent discs, no outlines), `blend_style` (size by zoom),
              `composite_over`
"""

from __future__ import annotations

from explorer.compute.raster.blend import blend_image, blend_style, composite_over
from explorer.compute.raster.colours import (
    OTHER_GREY,
    OUTLINE_DARKEN,
    PALETTE_SIZE,
    VIRIDIS,
    categorical_palette,
    category_palette,
    ciede2000,
    lut_from_points,
    srgb_to_lab,
)
from explorer.compute.raster.density import (
    DEFAULT_MIN_ALPHA,
    density_counts,
    density_image,
)
from explorer.compute.raster.density_finish import Accumulators
from explorer.compute.raster.density_layers import (
    LayerPlan,
    density_layers_image,
    map_plan,
)
from explorer.compute.raster.points import disc_offsets, highlight_image, points_image
from explorer.compute.raster.view import DENSITY_MAX_POINTS, Rect, choose_mode

__all__ = [
    "DEFAULT_MIN_ALPHA", "DENSITY_MAX_POINTS", "OTHER_GREY", "OUTLINE_DARKEN", "PALETTE_SIZE",
    "VIRIDIS", "Accumulators", "LayerPlan", "Rect", "blend_image", "blend_style", "categorical_palette", "category_palette",
    "choose_mode", "ciede2000", "composite_over", "density_counts", "density_image",
    "density_layers_image", "disc_offsets",
    "highlight_image", "lut_from_points", "map_plan", "points_image", "srgb_to_lab",
]
