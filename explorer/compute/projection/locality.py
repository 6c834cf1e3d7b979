"""Rows renumbered along a space-filling curve of a layout, so a graph's edges join rows near
in memory.

A refined 1M map's epochs read each edge's two rows at random places of a 1M-row layout
(8 MB for 2-D) and its per-row random states (24 MB): with rows in their file's order,
neighbours on the map are anywhere in memory. Numbered along a Z-order curve of the start
layout, an edge's rows mostly sit within a few pages of each other (the negative samples stay
uniform). Same edges, same epochs, trustworthiness alike. 1M mixture, cosine, 200 epochs:
on one graph and start, alternated, 44.8-51.5 s against 49.7-51.1 s in file order, and
87-97 s when file order ran first after the join; in `bench_projection.py --only umap1m`
(3 rounds each) 43.4 / 49.4 / 45.1 s against 54.9 / 78.4 / 45.6 s the run before.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

CURVE_BITS = 64  # the code's width: each of d dimensions gets CURVE_BITS // d bits (max 16)


def z_order(coords: np.ndarray) -> np.ndarray:
    """Row numbers sorted along a Z-order (Morton) curve of `coords` (n, d): rows close on
    the layout come close in the order. Non-finite coordinates count as the layout's
    lowest; a flat dimension adds nothing."""
    coords = np.asarray(coords, dtype=np.float64)
    n, dims = coords.shape
    bits = min(16, CURVE_BITS // max(dims, 1))
    finite = np.where(np.isfinite(coords), coords, np.nan)
    lo = np.nan_to_num(np.nanmin(finite, axis=0, initial=np.inf), posinf=0.0) if n else 0.0
    hi = np.nan_to_num(np.nanmax(finite, axis=0, initial=-np.inf), neginf=0.0) if n else 0.0
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.nan_to_num((finite - lo) / span, nan=0.0)
    cells = np.clip(scaled * ((1 << bits) - 1), 0, (1 << bits) - 1).astype(np.uint64)
    code = np.zeros(n, dtype=np.uint64)
    for b in range(bits):
        for d in range(dims):
            code |= ((cells[:, d] >> np.uint64(b)) & np.uint64(1)) << np.uint64(b * dims + d)
    return np.argsort(code, kind="stable")


def renumbered(graph: scipy.sparse.coo_matrix, order: np.ndarray) -> scipy.sparse.coo_matrix:
    """The graph with row `order[i]` renumbered i, its edges sorted by their new head (each
    head's edges in their former order)."""
    new_of = np.empty(order.size, dtype=np.int32)
    new_of[order] = np.arange(order.size, dtype=np.int32)
    head = new_of[graph.row]
    by_head = np.argsort(head, kind="stable")
    return scipy.sparse.coo_matrix(
        (graph.data[by_head], (head[by_head], new_of[graph.col][by_head])), shape=graph.shape)


def restored(coords: np.ndarray, order: np.ndarray) -> np.ndarray:
    """A layout of renumbered rows back in the rows' own order (a new array)."""
    out = np.empty_like(coords)
    out[order] = coords
    return out
