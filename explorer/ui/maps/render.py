"""Drawing the map's layers into images, in a worker thread: no Qt here.

A render job gets a `Layers` snapshot of what the panel shows (so the UI may change
while it runs) and returns the base image (coloured by a category, a number or the map's
fidelity) and an overlay of search matches and the selection. The base is a density
image where points outnumber pixels, blended translucent discs sized by the zoom where
the view is crowded, and outlined opaque discs of the user's size where it is sparse
(`raster.blend_style`). Search matches are drawn above everything with a white halo, so
they stay visible in the densest part of the map.

While the shared filter holds some rows back (`Layers.filtered`: the rows that pass), the
others are drawn first in light grey, and the rows that pass over them with the colouring,
so where the filtered rows sit reads against the whole map; the selection and search
marks stay on top.

A selection of DIM_MIN_SELECTED rows or more works the same way, as one more condition on
the rows drawn in colour: the unselected rows are drawn in the same faint grey under the
selected ones, which keep their colouring, so what was picked reads against the whole map
without hiding the rest. Where the map is crowded (density or blended discs) the selection
then gets no rings (a pixel or two wide, they would cover the colours that show it), and
its "(other)" rows are not lightened. A single clicked item does not dim the map (browsing
item by item would wash it out at every click); its ring marks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.compute import raster
from explorer.compute.spatial import GridIndex, spans_to_positions
from explorer.core.colouring import MISSING, OTHER, Colouring
from explorer.core.jobs import TaskState

if TYPE_CHECKING:
    from explorer.ui.maps.pyramids import PyramidCache

MARGIN = 0.25  # rasterise this much beyond each edge of the view, so a pan shows content
MATCH = (255, 150, 0, 255)  # search matches: orange discs,
MATCH_EDGE = (110, 50, 0, 255)  # a dark rim, and a white halo (raster.highlight_image)
MATCH_COVER = 0.1
GREY_OPACITY = 0.6  # "(other)" and "(missing)" are context: lighter than the categories
GREY_ALPHA = np.rint(np.arange(256) * GREY_OPACITY).astype(np.uint8)  # as a lookup, fast
FILTERED_OUT = ((190, 190, 190, 255), (95, 95, 95, 255))  # rows the filter holds back (light,
FILTERED_OUT_ALPHA = np.rint(np.arange(256) * 0.55).astype(np.uint8)  # dark map): faint
UNCOLOURED = (33, 145, 140, 255)  # rows that pass, when the map has no colouring
FILTER_CACHE = "filter"  # the sorted_cache entry of the filter's masks and arrays
ACCUMULATORS = "accumulators"  # and the one of the density sums kept between renders
DIM_MIN_SELECTED = 2  # a selection this large dims the rows outside it
SELECTED_RADIUS, SELECTED_ALPHA = 2.5, 0.9  # over a dimmed crowded map, selected rows are
# discs big and firm enough to read their colour (a pixel each in a density image would not)


@dataclass
class Layers:
    """What a render job needs; a snapshot, so the UI may change while it runs."""

    coords: np.ndarray
    index: GridIndex | None  # once built: counts, spatial order and spans make drawing cheap
    rect: tuple[float, float, float, float]  # x0, x1, y0, y1 of the image
    width: int
    height: int
    colouring: Colouring | None
    values: np.ndarray | None  # fidelity overlay, if chosen
    hidden: frozenset[int]
    radius: int
    selection: np.ndarray
    matches: np.ndarray | None
    sorted_cache: dict  # id(per-row array) -> (that array, it in the index's order)
    dark: bool = False  # the map's background is dark: marks drawn dark there turn light
    filtered: np.ndarray | None = None  # rows the shared filter lets through (None: all)
    dim_unselected: bool = True  # a selection (DIM_MIN_SELECTED+) greys the other rows
    pyramids: PyramidCache | None = None  # the panel's: density redraws read bins from them


def palette_for(colouring: Colouring) -> np.ndarray:
    """Well-separated colours for the categories, chosen by each one's value (the same in
    every session); "(other)" and "(missing)" are grey."""
    return raster.category_palette(colouring.labels, frozenset((OTHER, MISSING)))


def colour_kwargs(layers: Layers) -> tuple[dict, np.ndarray | None]:
    """Keyword arguments for the raster functions, and the per-row array they colour by."""
    c = layers.colouring
    if layers.values is not None:
        return {"cmap": raster.VIRIDIS, "value_range": (0.0, 1.0)}, layers.values
    if c is not None and c.kind == "categorical":
        visible = np.ones(len(c.labels), dtype=bool)
        visible[list(layers.hidden)] = False
        return {"palette": palette_for(c), "visible": visible}, c.codes
    if c is not None:
        return {"cmap": raster.VIRIDIS, "value_range": (c.vmin, c.vmax)}, c.values
    return {}, None


def grey_codes(colouring: Colouring | None) -> np.ndarray:
    """Which category codes are grey ("(other)", "(missing)"): drawn under the others."""
    labels = colouring.labels if colouring is not None and colouring.kind == "categorical" \
        else []
    return np.array([label in (OTHER, MISSING) for label in labels], dtype=bool)


def draw_base(layers: Layers, kw: dict, per_row: np.ndarray | None, key: str, mode: str,
              radius: float, alpha: float, *, table: np.ndarray | None = None,
              below: np.ndarray | None = None, above: np.ndarray | None = None) -> np.ndarray:
    """The base image in `mode` ("density", "blend" or "points"), coloured as `kw` says,
    its alpha mapped by `table` and laid over `below` or under `above` (a density image
    does it in the pass that finishes it, with the panel's kept accumulator)."""
    if mode == "density":
        return draw_image(layers, {**kw, "alpha_table": table, "below": below, "above": above,
                                   "accumulators": accumulators(layers)},
                          per_row, key, mode, radius, alpha)
    img = draw_image(layers, kw, per_row, key, mode, radius, alpha)
    if table is not None:
        img[..., 3] = table[img[..., 3]]
    if below is not None:
        return raster.composite_over(img, below)
    if above is not None:
        return raster.composite_over(above, img)
    return img


def accumulators(layers: Layers) -> raster.Accumulators:
    """The panel's density sums, kept between renders in its render cache."""
    return layers.sorted_cache.setdefault(ACCUMULATORS, raster.Accumulators())


def draw_image(layers: Layers, kw: dict, per_row: np.ndarray | None, key: str, mode: str,
               radius: float, alpha: float) -> np.ndarray:
    """One image in `mode`, coloured as `kw` says."""
    x0, x1, y0, y1 = layers.rect
    xy, index = layers.coords, layers.index
    size = (layers.width, layers.height)
    kw = dict(kw)
    if mode in ("density", "blend") and index is not None:
        # points in cell order hit the image memory in order: 3-4x faster at 10M, and
        # blending (which does not depend on the order) 1.6x at 300k in view
        if per_row is not None:
            kw[key] = in_index_order(layers, per_row)
        spans = index.view_spans(x0, y0, x1, y1)
        if mode == "density":
            return raster.density_image(index.sorted_coords, layers.rect, *size, spans=spans,
                                        **kw)
        return raster.blend_image(index.sorted_coords, layers.rect, *size, radius_px=radius,
                                  alpha=alpha, order=spans_to_positions(*spans), **kw)
    if per_row is not None:
        kw[key] = per_row
    if mode == "density":
        return raster.density_image(xy, layers.rect, *size, **kw)
    order = index.in_box(x0, y0, x1, y1) if index is not None else None
    if mode == "blend":
        return raster.blend_image(xy, layers.rect, *size, radius_px=radius, alpha=alpha,
                                  order=order, **kw)
    return raster.points_image(xy, layers.rect, *size, radius_px=radius, order=order, **kw)


def in_index_order(layers: Layers, per_row: np.ndarray) -> np.ndarray:
    """`per_row` in the index's (cell) order, cached: the cache holds the source, so its id
    stays unique while it is used."""
    source, ordered = layers.sorted_cache.get(id(per_row), (None, None))
    if source is not per_row:
        ordered = layers.index.to_sorted(per_row)
        layers.sorted_cache[id(per_row)] = (per_row, ordered)
    return ordered


def match_radius(layers: Layers, radius: float) -> float:
    """The search marks' radius: a point's, smaller when their halos would cover more than
    MATCH_COVER of the view (a common word matching thousands would bury the map)."""
    if layers.matches is None:
        return radius
    halo = len(raster.disc_offsets(radius + 3.0)[0])
    if len(layers.matches) * halo <= MATCH_COVER * layers.width * layers.height:
        return radius
    return max(radius - 2.0, 0.0)


def dims_selection(layers: Layers) -> bool:
    """Whether the selection greys the rows outside it in this render (a selection of
    every row leaves none to grey: its marks are then what shows it)."""
    return layers.dim_unselected \
        and DIM_MIN_SELECTED <= len(layers.selection) < len(layers.coords)


def holds_back(layers: Layers) -> bool:
    """Whether some rows are drawn grey: a filter is on, or a selection dims the others."""
    return layers.filtered is not None or dims_selection(layers)


def filter_cache(layers: Layers) -> dict:
    """The mask of rows drawn in colour (they pass the filter and, while a selection dims
    the map, are selected) and the per-row arrays restricted to it, made once per filter
    and selection. A new one drops the old arrays, and their index-ordered copies."""
    cache = layers.sorted_cache
    entry = cache.get(FILTER_CACHE)
    selection = layers.selection if dims_selection(layers) else None
    if entry is None or entry["rows"] is not layers.filtered \
            or entry["selection"] is not selection:
        if entry is not None:
            for _source, made in entry["arrays"].values():
                cache.pop(id(made), None)
        if layers.filtered is None:
            passes = np.ones(len(layers.coords), dtype=bool)
        else:
            passes = np.zeros(len(layers.coords), dtype=bool)
            passes[layers.filtered] = True
        if selection is not None:
            chosen = np.zeros(len(layers.coords), dtype=bool)
            chosen[selection] = True
            passes &= chosen
        entry = {"rows": layers.filtered, "selection": selection, "passes": passes,
                 "arrays": {}}
        cache[FILTER_CACHE] = entry
    return entry


def restricted(layers: Layers, per_row: np.ndarray | None, name: str) -> np.ndarray:
    """`per_row` with the rows outside the filter left undrawn (code -1, or NaN); for None,
    a code of 0 for rows that pass. `name` tells apart the arrays made from no array."""
    entry = filter_cache(layers)
    key = (name, id(per_row))
    source, made = entry["arrays"].get(key, (None, None))
    if made is None or source is not per_row:
        passes = entry["passes"]
        if per_row is None:
            made = np.where(passes, 0, -1).astype(np.int16) if name == "in" \
                else np.where(passes, -1, 0).astype(np.int16)
        elif per_row.dtype.kind == "f":
            made = np.where(passes, per_row, np.nan).astype(per_row.dtype)
        else:
            made = np.where(passes, per_row, -1).astype(np.int16)
        entry["arrays"][key] = (per_row, made)
    return made


def filtered_out(layers: Layers, mode: str, radius: float, alpha: float,
                 above: np.ndarray) -> np.ndarray:
    """The rows the filter holds back (and, while a selection dims the map, the unselected
    ones), in faint grey, under `above` (the other layers)."""
    grey = np.array([FILTERED_OUT[1] if layers.dark else FILTERED_OUT[0]], dtype=np.uint8)
    codes = restricted(layers, None, "out")
    return draw_base(layers, {"palette": grey, "visible": np.ones(1, dtype=bool)}, codes,
                     "categories", mode, radius, alpha, table=FILTERED_OUT_ALPHA, above=above)


def density_layers(layers: Layers, kw: dict, grey: np.ndarray) -> np.ndarray | None:
    """The density image of every layer in one pass over the points in view (the
    categories, "(other)" and "(missing)" lighter under them, the rows the filter holds
    back under both: what the separate passes draw, bit for bit); None when numba cannot
    (the caller then draws them one by one)."""
    index = layers.index
    held = layers.filtered is not None
    codes = layers.colouring.codes if layers.colouring is not None else None
    if index is None or (codes is None and not held):
        return None
    k = len(kw["palette"])
    plan = raster.map_plan(kw["palette"], kw["visible"], grey, under_table=GREY_ALPHA,
                           held_colour=(FILTERED_OUT[1] if layers.dark else FILTERED_OUT[0])
                           if held else None, held_table=FILTERED_OUT_ALPHA)
    slots = in_index_order(layers, layer_slots(layers, codes, k) if held else codes)
    return raster.density_layers_image(index, layers.rect, layers.width, layers.height, slots,
                                       plan)


def layer_slots(layers: Layers, codes: np.ndarray | None, k: int) -> np.ndarray:
    """Per row, while a filter holds rows back: its category code if it passes (k + 1
    past the palette, so it is reported), k (the held-back rows' grey) if not; made once
    per filter."""
    entry = filter_cache(layers)
    key = ("slots", id(codes), k)
    source, made = entry["arrays"].get(key, (None, None))
    if made is None or source is not codes:
        passes = entry["passes"]
        if codes is None:
            made = np.where(passes, 0, k).astype(np.int16)
        else:
            ok = np.where(codes < k, codes, k + 1)
            made = np.where(passes, ok, k).astype(np.int32 if k + 1 > 2**15 - 1 else np.int16)
        entry["arrays"][key] = (codes, made)
    return made


def render_layers(layers: Layers, state: TaskState) -> tuple[np.ndarray, np.ndarray | None, tuple]:
    """Base image and selection overlay (RGBA, row 0 at the top), for a worker thread."""
    kw, per_row = colour_kwargs(layers)
    key = "values" if layers.values is not None or (
        layers.colouring is not None and layers.colouring.kind == "numeric") else "categories"
    if holds_back(layers):
        if per_row is None:  # no colouring: the rows that pass in one colour
            kw = {"palette": np.array([UNCOLOURED], dtype=np.uint8),
                  "visible": np.ones(1, dtype=bool)}
        per_row = restricted(layers, per_row, "in")
    x0, x1, y0, y1 = layers.rect
    xy, index = layers.coords, layers.index
    size = (layers.width, layers.height)
    if index is not None:
        n_in = int(index.in_view(x0, y0, x1, y1))
    else:
        n_in = int(np.count_nonzero((xy[:, 0] >= x0) & (xy[:, 0] < x1)
                                    & (xy[:, 1] >= y0) & (xy[:, 1] < y1)))
    state.check()
    mode = raster.choose_mode(n_in, *size)
    radius, alpha = float(layers.radius), 1.0
    if mode == "points":
        mode, radius, alpha = raster.blend_style(n_in, *size, layers.radius)
    crowd = (mode, radius, alpha)  # how the grey rows held back are drawn
    if dims_selection(layers) and mode in ("density", "blend"):
        mode, radius, alpha = "blend", max(radius, SELECTED_RADIUS), SELECTED_ALPHA
    grey = grey_codes(layers.colouring)
    # every layer at once from the bins in view, once the panel's pyramid is built, else
    # from the points in view in one pass
    base = layers.pyramids.image(layers) \
        if mode == "density" and layers.pyramids is not None else None
    if base is None and mode == "density" and key == "categories" and "visible" in kw:
        base = density_layers(layers, kw, grey)
    at_once = base is not None
    if not at_once and key == "categories" and grey.any() and "visible" in kw:
        # "(other)" and "(missing)" under the categories, lighter: blended in with them, a
        # mass of grey would wash out every colour that shares its pixels
        shown = kw["visible"]
        # context: lighter; but selected "(other)" rows must read against the dimmed grey
        under = draw_base(layers, {**kw, "visible": shown & grey}, per_row, key, mode,
                          radius, alpha, table=None if dims_selection(layers) else GREY_ALPHA)
        state.check()
        base = draw_base(layers, {**kw, "visible": shown & ~grey}, per_row, key, mode,
                         radius, alpha, below=under)
    elif not at_once:
        base = draw_base(layers, kw, per_row, key, mode, radius, alpha)
    state.check()
    if holds_back(layers) and not at_once:
        base = filtered_out(layers, *crowd, above=base)
        state.check()
    overlay = None
    # Rings around single points are white with a dark rim; over a density image a
    # white wash would read as "faded", so the selection is drawn dark there (light on
    # a dark map).
    selected = ((225, 225, 225, 255) if layers.dark else (40, 40, 40, 255)) \
        if crowd[0] == "density" else (255, 255, 255, 255)
    marked = [(layers.matches, MATCH, MATCH_EDGE, "halo", match_radius(layers, radius))]
    if not (dims_selection(layers) and crowd[0] in ("density", "blend")):
        # over a dimmed crowded map the selection's own colours mark it; rings a pixel or
        # two wide around every selected point would cover them
        marked.append((layers.selection, selected, (20, 20, 20, 255), "ring", radius))
    for rows, colour, edge, style, r in marked:  # the selection is drawn over search matches
        if rows is None or not len(rows):
            continue
        layer = raster.highlight_image(xy, layers.rect, *size, rows, radius_px=r,
                                       colour=colour, edge_colour=edge, style=style)
        if overlay is None:
            overlay = layer
        else:
            drawn = layer[..., 3] > 0
            overlay[drawn] = layer[drawn]
    return base, overlay, (crowd[0], n_in)
