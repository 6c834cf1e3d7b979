"""From data units to pixels: the view transform and the checks every renderer shares."""

from __future__ import annotations

import math

import numpy as np

from explorer.compute.raster.colours import rgba
from explorer.compute.spatial import spans_to_positions

Rect = tuple[float, float, float, float]

DENSITY_MAX_POINTS = 300_000


def choose_mode(n_in_view: int, width: int, height: int, *, max_points: int = DENSITY_MAX_POINTS) -> str:
    """"density" when points would crowd the pixels, else "points".

    Density when more than one point per 4 pixels would be in view, or more
    than `max_points` (past that, discs cost more than aggregating).
    """
    limit = min(width * height / 4.0, max_points)
    return "density" if n_in_view > limit else "points"


class View:
    """Float constants mapping data to pixel space for one dtype (see module doc)."""

    def __init__(self, rect: Rect, width: int, height: int, dtype):
        x0, x1, y0, y1 = (float(v) for v in rect)
        width, height = int(width), int(height)
        if width < 1 or height < 1:
            raise ValueError("width and height must be >= 1")
        if not (math.isfinite(x0) and math.isfinite(x1) and math.isfinite(y0) and math.isfinite(y1)):
            raise ValueError("rect must be finite")
        if not (x1 > x0 and y1 > y0):
            raise ValueError("rect must have x1 > x0 and y1 > y0")
        self.W, self.H = width, height
        sx, sy = width / (x1 - x0), height / (y1 - y0)
        if np.dtype(dtype) == np.float32:
            f = np.float32
            oxf, oyf = f(x0), f(y0)
            self.ox, self.sx, self.offx = oxf, f(sx), f((float(oxf) - x0) * sx)
            self.oy, self.sy, self.offy = oyf, f(sy), f((float(oyf) - y0) * sy)
        else:
            f = np.float64
            self.ox, self.sx, self.offx = f(x0), f(sx), f(0.0)
            self.oy, self.sy, self.offy = f(y0), f(sy), f(0.0)

    def args(self):
        return self.ox, self.sx, self.offx, self.oy, self.sy, self.offy, self.W, self.H

    def tx(self, x: np.ndarray) -> np.ndarray:
        t = x - self.ox
        t *= self.sx
        t += self.offx
        return t

    def ty(self, y: np.ndarray) -> np.ndarray:
        t = y - self.oy
        t *= self.sy
        t += self.offy
        return t


def as_coords(coords) -> np.ndarray:
    a = np.asarray(coords)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2), got {a.shape}")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return a


def as_spans(spans, n: int):
    if spans is None:
        return np.zeros(1, np.int64), np.full(1, n, np.int64)
    lo, hi = spans
    lo = np.ascontiguousarray(lo, dtype=np.int64)
    hi = np.ascontiguousarray(hi, dtype=np.int64)
    if lo.shape != hi.shape or lo.ndim != 1:
        raise ValueError("spans must be two 1-D arrays of equal length")
    if len(lo) and (lo.min() < 0 or hi.max() > n):
        raise ValueError("spans out of range")
    return lo, hi


def visible_mask(visible, k: int) -> np.ndarray:
    if visible is None:
        return np.ones(k, dtype=np.bool_)
    v = np.asarray(visible, dtype=np.bool_).ravel()
    if len(v) < k:  # categories past the toggles' length stay visible
        v = np.concatenate([v, np.ones(k - len(v), dtype=np.bool_)])
    return np.ascontiguousarray(v[:k])


def category_codes(categories, n: int, palette, visible) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """(codes, palette as RGBA, visible mask): points coloured by one integer category
    code each are checked the same way in every image."""
    cat = np.asarray(categories)
    if cat.shape != (n,) or cat.dtype.kind not in "iu":
        raise ValueError("categories must be an integer array with one code per point")
    if palette is None:
        raise ValueError("categories need a palette")
    pal = rgba(palette)
    return cat, pal, visible_mask(visible, len(pal))


def pixels_numpy(a, lo, hi, view: View):
    """(positions or None, flat pixel index, in-view mask) for the numpy path."""
    if len(lo) == 1 and lo[0] == 0 and hi[0] == len(a):
        pos = None
        x, y = a[:, 0], a[:, 1]
    else:
        pos = spans_to_positions(lo, hi)
        pts = a[pos]
        x, y = pts[:, 0], pts[:, 1]
    tx = view.tx(x)
    ty = view.ty(y)
    m = (tx >= 0) & (tx < view.W) & (ty >= 0) & (ty < view.H)
    return pos, tx, ty, m


def flat_pixels(tx, ty, view: View) -> np.ndarray:
    p = ty.astype(np.intp)
    np.subtract(view.H - 1, p, out=p)
    p *= view.W
    p += tx.astype(np.intp)
    return p
