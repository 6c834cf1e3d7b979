"""Compile (first launch) or load (later ones) every numba kernel a map, its labels and a
search use.

Lives beside the modules it exercises rather than in `explorer.compute.numba`, which they
import: the kernels' package imports nothing of the app's numerics, so no circle.
"""

from __future__ import annotations

import time

import numpy as np

from explorer.compute import clusters, projection, raster
from explorer.compute.index import load_kernel
from explorer.compute.numba import configure, graph_kernels, umap_kernels
from explorer.compute.numba.umap_kernels import cached_signatures
from explorer.compute.raster import density_layers, pyramid
from explorer.compute.sharded_search import load_kernel as load_sharded_kernel
from explorer.compute.spatial import GridIndex, spans_to_positions
from explorer.core.jobs import TaskState


def warm_up(state: TaskState | None = None) -> dict:
    """Compile (or load from the on-disk cache) everything a map needs; returns timings.

    First the map's drawing kernels (`warm_map_drawing`: what a first launch's first map
    needs), then a tiny UMAP (single-threaded and multi-threaded epochs, and the path
    that places rows outside a fitted sample), a PCA and the neighbour scan, so every
    kernel signature the app uses is in the cache; the big maps' kernels (fuzzy union,
    kNN join, density pyramid); then the clusters of a tiny map, so
    the first labels do not wait for fast-hdbscan's compile (about 35 s on two cores with
    an empty cache, under 2 s to load). Safe to call from a background thread; a second
    call is cheap. The app's modules are imported with this one (the app imports it
    first); fast-hdbscan is imported here, last, by `clusters.warm_up`, since importing
    it compiles. `state` is checked between the steps: cancelling stops the warm-up at
    the next one (a compile under way finishes first).
    """
    state = state or TaskState()
    t0 = time.perf_counter()
    state.status("Preparing the map's drawing")  # first: the first map of a launch needs it
    warm_map_drawing()
    rng = np.random.default_rng(0)
    n, d = 400, 16
    centers = rng.normal(size=(8, d)).astype(np.float32) * 4
    x = (centers[rng.integers(0, 8, n)] + rng.normal(size=(n, d))).astype(np.float32)
    state.status("Preparing the map engine")
    projection.project(x, projection.ProjectionParams(method="umap", seed=0),
                       state=state.sub(0.0, 0.4), _n_epochs=5)
    projection.project(x, projection.ProjectionParams(method="umap", seed=0, sample=200),
                       state=state.sub(0.4, 0.8), _n_epochs=5, _parallel=True)
    projection.project(x, projection.ProjectionParams(method="pca"), state=state.sub(0.8, 0.9))
    for dtype in (np.float32, np.int8):  # neighbour search: float32 rows and int8 codes,
        for writeable in (True, False):  # in memory or memory-mapped read-only
            like = np.zeros((1, 1), dtype=dtype)
            like.flags.writeable = writeable
            load_kernel(like)
    load_sharded_kernel()  # a sharded set's scan: every shard in one call
    state.status("Preparing the map engine for big sets")
    umap_kernels.warm()  # the fuzzy union and kNN join of 1M maps, the density pyramid
    graph_kernels.warm()
    pyramid.warm()
    state.status("Preparing the labels engine")
    labels_seconds = clusters.warm_up()
    state.progress(1)
    return {"seconds": time.perf_counter() - t0, "cache_dir": str(configure()),
            "signatures": cached_signatures(), "labels_seconds": labels_seconds}


def warm_map_drawing() -> None:
    """The kernels between a set opening and its map drawn: the grid index (build, lasso)
    and the density, blended-disc, point and "over" images, with the types the map uses:
    writable coordinates and read-only ones (a set's map is a read-only array, and numba
    compiles each apart)."""
    for writeable in (True, False):
        xy = np.random.default_rng(0).normal(size=(2000, 2)).astype(np.float32)
        xy.flags.writeable = writeable
        grid = GridIndex(xy)
        grid.in_polygon(np.array([-1.0, 1.0, 0.0]), np.array([-1.0, -1.0, 1.0]))
        coords = grid.sorted_coords.copy()
        coords.flags.writeable = writeable
        rect = (-3.0, 3.0, -3.0, 3.0)
        codes = (np.arange(2000) % 3).astype(np.int16)
        palette = raster.categorical_palette(3)
        spans = grid.view_spans(-3, -3, 3, 3)
        sorted_codes = grid.to_sorted(codes)
        dense = raster.density_image(coords, rect, 64, 64, categories=sorted_codes,
                                     palette=palette, spans=spans)
        raster.density_image(xy, rect, 64, 64, categories=codes, palette=palette)
        order = spans_to_positions(*spans)
        raster.blend_image(coords, rect, 64, 64, categories=sorted_codes, palette=palette,
                           radius_px=2, alpha=0.5, order=order)
        # an uncoloured map (the demo's first) and one coloured by numbers give the kernels
        # other signatures (no category codes; the colour map's table), compiled here too
        values = np.linspace(0.0, 1.0, 2000)
        for kw in ({}, {"values": values}):
            raster.blend_image(coords, rect, 64, 64, radius_px=2, alpha=0.5, order=order, **kw)
            raster.points_image(xy, rect, 64, 64, radius_px=2,
                                order=grid.in_box(-3, -3, 3, 3), **kw)
            raster.density_image(coords, rect, 64, 64, spans=spans,
                                 **{k: grid.to_sorted(v) for k, v in kw.items()})
        top = raster.points_image(xy, rect, 64, 64, categories=codes, palette=palette,
                                  radius_px=2, order=grid.in_box(-3, -3, 3, 3))
        raster.points_image(xy, rect, 64, 64, categories=codes, palette=palette, radius_px=2)
        raster.composite_over(top, dense)
        raster.density_image(coords, rect, 64, 64, values=grid.to_sorted(codes / np.float32(3)),
                             value_range=(0.0, 1.0), spans=spans)  # a number colouring
    density_layers.warm()  # the map's density layers in one pass


__all__ = ["warm_map_drawing", "warm_up"]
