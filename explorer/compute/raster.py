"""Rasterise map points into RGBA images, without a Python object per point.

Where points outnumber pixels the map shows a *density image* (every point
aggregated into the pixel it falls in); as the user zooms in it switches to
real *points* (filled discs). `choose_mode` makes the call.

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

Speed: the inner loops are numba kernels (jitted when this module is imported,
compiled on their first call and cached on disk by `explorer.compute.numba`; GIL
released, so a render thread does not block the UI) with numpy fallbacks that
give the identical image (EXPLORER_NUMBA=0 or ``spatial.USE_NUMBA = False``).
The density kernel is memory-bound on the random pixel updates: feeding it
points in spatial order, i.e. ``GridIndex.sorted_coords`` with
``GridIndex.to_sorted(categories)`` (cached by the caller) and
``spans=index.view_spans(...)``, is ~1.7x faster at 10M points and reads only
the points near the view when zoomed in.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.spatial import run_kernel, spans_to_positions

__all__ = [
    "DENSITY_MAX_POINTS", "OTHER_GREY", "TABLEAU10", "VIRIDIS", "categorical_palette", "choose_mode",
    "density_counts", "density_image", "disc_offsets", "highlight_image", "lut_from_points", "points_image",
]

Rect = tuple[float, float, float, float]

DENSITY_MAX_POINTS = 300_000
DEFAULT_MIN_ALPHA = 0.4
OUTLINE_DARKEN = 0.55
OTHER_GREY = (150, 150, 150, 255)

# Tableau 10 without its grey (which "other" would clash with).
TABLEAU10 = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
             "#edc948", "#b07aa1", "#ff9da7", "#9c755f")

# viridis (matplotlib's, CC0), control points every 8 entries plus two near
# the end, interpolated linearly to 256 entries (within ~1/255 of the original).
_VIRIDIS_POINTS = (
    (0, 0.267004, 0.004874, 0.329415), (8, 0.277018, 0.050344, 0.375715),
    (16, 0.282327, 0.094955, 0.417331), (24, 0.282884, 0.135920, 0.453427),
    (32, 0.278826, 0.175490, 0.483397), (40, 0.270595, 0.214069, 0.507052),
    (48, 0.258965, 0.251537, 0.524736), (56, 0.244972, 0.287675, 0.537260),
    (64, 0.229739, 0.322361, 0.545706), (72, 0.214298, 0.355619, 0.551184),
    (80, 0.199430, 0.387607, 0.554642), (88, 0.185556, 0.418570, 0.556753),
    (96, 0.172719, 0.448791, 0.557885), (104, 0.160665, 0.478540, 0.558115),
    (112, 0.149039, 0.508051, 0.557250), (120, 0.137770, 0.537492, 0.554906),
    (128, 0.127568, 0.566949, 0.550556), (136, 0.120565, 0.596422, 0.543611),
    (144, 0.120638, 0.625828, 0.533488), (152, 0.132268, 0.655014, 0.519661),
    (160, 0.157851, 0.683765, 0.501686), (168, 0.196571, 0.711827, 0.479221),
    (176, 0.246070, 0.738910, 0.452024), (184, 0.304148, 0.764704, 0.419943),
    (192, 0.369214, 0.788888, 0.382914), (200, 0.440137, 0.811138, 0.340967),
    (208, 0.515992, 0.831158, 0.294279), (216, 0.595839, 0.848717, 0.243329),
    (224, 0.678489, 0.863742, 0.189503), (232, 0.762373, 0.876424, 0.137064),
    (240, 0.845561, 0.887322, 0.099702), (244, 0.886271, 0.892374, 0.095374),
    (248, 0.926106, 0.897330, 0.104071), (252, 0.964894, 0.902323, 0.123941),
    (255, 0.993248, 0.906157, 0.143936),
)


# --- colours -----------------------------------------------------------------------

def _hex_rgba(h: str) -> tuple[int, int, int, int]:
    h = h.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255


def lut_from_points(points) -> np.ndarray:
    """A (256, 4) uint8 LUT from control points (index 0..255, r, g, b in 0..1), linear in between."""
    p = np.asarray(points, dtype=np.float64)
    idx = np.arange(256, dtype=np.float64)
    lut = np.empty((256, 4), dtype=np.uint8)
    for ch in range(3):
        lut[:, ch] = np.rint(np.clip(np.interp(idx, p[:, 0], p[:, ch + 1]), 0, 1) * 255)
    lut[:, 3] = 255
    return lut


VIRIDIS = lut_from_points(_VIRIDIS_POINTS)
VIRIDIS.setflags(write=False)


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


@lru_cache(maxsize=8)
def _glasbey(k: int) -> np.ndarray:
    """k distinct colours: Tableau 10's nine, then greedy farthest-point picks in CIELAB
    (glasbey-like) among mid-lightness, saturated sRGB colours, kept away from grey."""
    fixed = np.array([_hex_rgba(h)[:3] for h in TABLEAU10], dtype=np.float64)
    if k <= len(fixed):
        return fixed[:k].astype(np.uint8)
    levels = np.linspace(0, 255, 18)
    cand = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = _srgb_to_lab(cand)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    ok = (lab[:, 0] > 35) & (lab[:, 0] < 88) & (chroma > 30)
    cand, lab = cand[ok], lab[ok]
    avoid = np.vstack([_srgb_to_lab(fixed), _srgb_to_lab(np.array([OTHER_GREY[:3]], dtype=np.float64)),
                       _srgb_to_lab(np.array([[255.0, 255, 255], [0, 0, 0]]))])
    dist = np.min(((lab[:, None, :] - avoid[None, :, :]) ** 2).sum(-1), axis=1)
    chosen = [c for c in fixed]
    while len(chosen) < k:
        j = int(np.argmax(dist))
        chosen.append(cand[j])
        dist = np.minimum(dist, ((lab - lab[j]) ** 2).sum(-1))
    return np.rint(np.array(chosen)).astype(np.uint8)


def categorical_palette(k: int, *, other: bool = False) -> np.ndarray:
    """(k, 4) uint8 RGBA colours for k categories, plus OTHER_GREY last when other=True.

    The first nine are Tableau 10's; beyond, glasbey-like picks that stay
    distinguishable (in CIELAB) from the earlier ones and from grey.
    """
    k = int(k)
    if k < 0:
        raise ValueError("k must be >= 0")
    rgb = _glasbey(k) if k else np.empty((0, 3), dtype=np.uint8)
    pal = np.empty((k + bool(other), 4), dtype=np.uint8)
    pal[:k, :3] = rgb
    pal[:k, 3] = 255
    if other:
        pal[k] = OTHER_GREY
    return pal


def _rgba(colours, name="palette") -> np.ndarray:
    c = np.asarray(colours)
    if c.ndim != 2 or c.shape[1] not in (3, 4):
        raise ValueError(f"{name} must have shape (k, 3) or (k, 4), got {c.shape}")
    if c.dtype != np.uint8:
        c = np.clip(np.rint(c), 0, 255).astype(np.uint8)
    if c.shape[1] == 3:
        c = np.concatenate([c, np.full((len(c), 1), 255, np.uint8)], axis=1)
    return np.ascontiguousarray(c)


def _darker(pal: np.ndarray, factor: float = OUTLINE_DARKEN) -> np.ndarray:
    out = pal.copy()
    out[:, :3] = np.rint(pal[:, :3] * factor).astype(np.uint8)
    return out


# --- view transform ------------------------------------------------------------------

def choose_mode(n_in_view: int, width: int, height: int, *, max_points: int = DENSITY_MAX_POINTS) -> str:
    """"density" when points would crowd the pixels, else "points".

    Density when more than one point per 4 pixels would be in view, or more
    than `max_points` (past that, discs cost more than aggregating).
    """
    limit = min(width * height / 4.0, max_points)
    return "density" if n_in_view > limit else "points"


class _View:
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


def _coords(coords) -> np.ndarray:
    a = np.asarray(coords)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2), got {a.shape}")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    return a


def _spans(spans, n: int):
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


def _visible(visible, k: int) -> np.ndarray:
    if visible is None:
        return np.ones(k, dtype=np.bool_)
    v = np.asarray(visible, dtype=np.bool_).ravel()
    if len(v) < k:  # categories past the toggles' length stay visible
        v = np.concatenate([v, np.ones(k - len(v), dtype=np.bool_)])
    return np.ascontiguousarray(v[:k])


# --- density -------------------------------------------------------------------------

@jit(nogil=True)
def _density_cat_kernel(coords, lo, hi, cat, vis, pal, ox, sx, offx, oy, sy, offy, W, H, acc):
    K = vis.shape[0]
    bad = 0
    for s in range(lo.shape[0]):
        for i in range(lo[s], hi[s]):
            c = cat[i]
            if c < 0:
                continue
            if c >= K:
                bad += 1
                continue
            if not vis[c]:
                continue
            tx = (coords[i, 0] - ox) * sx + offx
            if not (tx >= 0 and tx < W):
                continue
            ty = (coords[i, 1] - oy) * sy + offy
            if not (ty >= 0 and ty < H):
                continue
            p = (H - 1 - np.int64(ty)) * W + np.int64(tx)
            acc[p, 0] += pal[c, 0]
            acc[p, 1] += pal[c, 1]
            acc[p, 2] += pal[c, 2]
            acc[p, 3] += 1
    return bad


@jit(nogil=True)
def _density_count_kernel(coords, lo, hi, ox, sx, offx, oy, sy, offy, W, H, cnt):
    for s in range(lo.shape[0]):
        for i in range(lo[s], hi[s]):
            tx = (coords[i, 0] - ox) * sx + offx
            if not (tx >= 0 and tx < W):
                continue
            ty = (coords[i, 1] - oy) * sy + offy
            if not (ty >= 0 and ty < H):
                continue
            cnt[(H - 1 - np.int64(ty)) * W + np.int64(tx)] += 1
    return 0


@jit(nogil=True)
def _density_value_kernel(coords, lo, hi, values, ox, sx, offx, oy, sy, offy, W, H, vsum, cnt):
    for s in range(lo.shape[0]):
        for i in range(lo[s], hi[s]):
            v = np.float64(values[i])
            if not math.isfinite(v):
                continue
            tx = (coords[i, 0] - ox) * sx + offx
            if not (tx >= 0 and tx < W):
                continue
            ty = (coords[i, 1] - oy) * sy + offy
            if not (ty >= 0 and ty < H):
                continue
            p = (H - 1 - np.int64(ty)) * W + np.int64(tx)
            vsum[p] += v
            cnt[p] += 1
    return 0


@jit(nogil=True)
def _nonzero_kernel(acc, col, out):
    """Write the rows p with acc[p, col] != 0 into out (if big enough); return their number."""
    j = 0
    m = out.shape[0]
    for p in range(acc.shape[0]):
        if acc[p, col] != 0:
            if j < m:
                out[j] = p
            j += 1
    return j


def _nonzero_rows(acc: np.ndarray, col: int) -> np.ndarray:
    """np.flatnonzero(acc[:, col]) without the strided scan (numba), same result."""
    out = np.empty(max(len(acc) // 8, 1), dtype=np.intp)
    k = run_kernel(_nonzero_kernel, acc, col, out)
    if k is False:
        return np.flatnonzero(acc[:, col])
    if k > len(out):
        out = np.empty(k, dtype=np.intp)
        run_kernel(_nonzero_kernel, acc, col, out)
    return out[:k]


def _pixels_numpy(a, lo, hi, view: _View):
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


def _flat(tx, ty, view: _View) -> np.ndarray:
    p = ty.astype(np.intp)
    np.subtract(view.H - 1, p, out=p)
    p *= view.W
    p += tx.astype(np.intp)
    return p


_COUNT_SCALES = ("log", "sqrt", "linear")


def _scale_counts(c: np.ndarray, cmax: float, counts_scale: str) -> np.ndarray:
    """Counts (>= 1, float64) to [0, 1]."""
    if counts_scale == "log":
        s = np.log(c) / math.log(cmax) if cmax > 1 else np.ones_like(c)
    elif counts_scale == "sqrt":
        s = np.sqrt(c / cmax)
    elif counts_scale == "linear":
        s = c / cmax
    else:
        raise ValueError(f"counts_scale must be 'log', 'sqrt' or 'linear', not {counts_scale!r}")
    return np.clip(s, 0.0, 1.0, out=s)


def density_image(coords, rect: Rect, width: int, height: int, categories=None, palette=None,
                  counts_scale: str = "log", *, values=None, cmap=None, value_range=None,
                  visible=None, count_max: float | None = None, min_alpha: float = DEFAULT_MIN_ALPHA,
                  spans=None) -> np.ndarray:
    """Aggregate points per pixel into an RGBA image (height, width, 4).

    Three colourings:
      * categories + palette: each pixel gets the count-weighted mean colour of
        its points' categories (category share) and an alpha rising with its
        count (``min_alpha`` for one point, 1 at ``count_max``);
        hidden points (negative code, or ``visible[code]`` False) are left out.
      * values (+ cmap, value_range): the LUT colour of the mean value of the
        pixel's points, alpha from the count as above.
      * neither: colour from the count itself through ``cmap`` (default
        viridis), opaque.
    ``counts_scale`` is "log" (default), "sqrt" or "linear"; ``count_max``
    fixes the count that maps to full strength (default: the image's
    largest count; pass one to keep frames comparable). ``spans=(lo, hi)``
    restricts the points read to those index ranges (see module doc).
    Empty pixels are transparent.
    """
    a = _coords(coords)
    n = len(a)
    view = _View(rect, width, height, a.dtype)
    W, H = view.W, view.H
    P = W * H
    lo, hi = _spans(spans, n)
    if categories is not None and values is not None:
        raise ValueError("give categories or values, not both")
    if counts_scale not in _COUNT_SCALES:
        raise ValueError(f"counts_scale must be one of {_COUNT_SCALES}, not {counts_scale!r}")

    if categories is not None:
        cat = np.asarray(categories)
        if cat.shape != (n,) or cat.dtype.kind not in "iu":
            raise ValueError("categories must be an integer array with one code per point")
        if palette is None:
            raise ValueError("categories need a palette")
        pal = _rgba(palette)
        K = len(pal)
        vis = _visible(visible, K)
        acc_dtype = np.uint32 if n * 255 < 2**32 else np.uint64
        acc = np.zeros((P, 4), dtype=acc_dtype)
        pal_w = np.ascontiguousarray(pal[:, :3], dtype=acc_dtype)
        bad = run_kernel(_density_cat_kernel, a, lo, hi, cat, vis, pal_w, *view.args(), acc)
        if bad is False:
            pos, tx, ty, m = _pixels_numpy(a, lo, hi, view)
            c = cat if pos is None else cat[pos]
            m &= c >= 0
            over = c >= K
            bad = int(np.count_nonzero(over & m))
            m &= ~over
            idx = np.flatnonzero(m)
            cc = c[idx]
            keep = vis[cc]
            idx, cc = idx[keep], cc[keep]
            p = _flat(tx[idx], ty[idx], view)
            acc[:, 3] = np.bincount(p, minlength=P)
            for ch in range(3):
                acc[:, ch] = np.bincount(p, weights=pal_w[cc, ch], minlength=P)
        if bad:
            raise ValueError(f"{bad} category codes are >= len(palette) ({K})")
        nz = _nonzero_rows(acc, 3)
        img = np.zeros((H, W, 4), dtype=np.uint8)
        if len(nz) == 0:
            return img
        got = acc[nz].astype(np.float64)
        cnz = got[:, 3]
        flat = img.reshape(P, 4)
        mean = got[:, :3]
        mean /= cnz[:, None]
        flat[nz, :3] = np.rint(mean)
        flat[nz, 3] = _alpha(cnz, count_max, counts_scale, min_alpha)
        return img

    lut = VIRIDIS if cmap is None else _rgba(cmap, "cmap")
    if values is not None:
        vals = np.asarray(values)
        if vals.shape != (n,):
            raise ValueError("values must have one number per point")
        if vals.dtype.kind not in "fiub":
            raise ValueError("values must be numeric")
        if vals.dtype.kind != "f":
            vals = vals.astype(np.float64)
        vmin, vmax = _value_range(vals, value_range)
        vsum = np.zeros(P, dtype=np.float64)
        cnt = np.zeros(P, dtype=np.uint32 if n < 2**32 else np.uint64)
        done = run_kernel(_density_value_kernel, a, lo, hi, vals, *view.args(), vsum, cnt)
        if done is False:
            pos, tx, ty, m = _pixels_numpy(a, lo, hi, view)
            v = vals if pos is None else vals[pos]
            m &= np.isfinite(v)
            idx = np.flatnonzero(m)
            p = _flat(tx[idx], ty[idx], view)
            cnt[:] = np.bincount(p, minlength=P)
            vsum[:] = np.bincount(p, weights=v[idx].astype(np.float64), minlength=P)
        nz = np.flatnonzero(cnt)
        img = np.zeros((H, W, 4), dtype=np.uint8)
        if len(nz) == 0:
            return img
        cnz = cnt[nz].astype(np.float64)
        mean = vsum[nz] / cnz
        flat = img.reshape(P, 4)
        flat[nz, :3] = lut[_lut_index(mean, vmin, vmax, len(lut)), :3]
        flat[nz, 3] = _alpha(cnz, count_max, counts_scale, min_alpha)
        return img

    cnt = density_counts(a, rect, W, H, spans=(lo, hi)).reshape(P)
    nz = np.flatnonzero(cnt)
    img = np.zeros((H, W, 4), dtype=np.uint8)
    if len(nz) == 0:
        return img
    cnz = cnt[nz].astype(np.float64)
    cmax = float(count_max) if count_max else float(cnz.max())
    s = _scale_counts(cnz, max(cmax, 1.0), counts_scale)
    flat = img.reshape(P, 4)
    flat[nz] = lut[np.minimum((s * len(lut)).astype(np.intp), len(lut) - 1)]
    return img


def density_counts(coords, rect: Rect, width: int, height: int, *, spans=None) -> np.ndarray:
    """(height, width) per-pixel point counts (uint32), row 0 at the top."""
    a = _coords(coords)
    view = _View(rect, width, height, a.dtype)
    lo, hi = _spans(spans, len(a))
    cnt = np.zeros(view.W * view.H, dtype=np.uint32 if len(a) < 2**32 else np.uint64)
    if run_kernel(_density_count_kernel, a, lo, hi, *view.args(), cnt) is False:
        pos, tx, ty, m = _pixels_numpy(a, lo, hi, view)
        idx = np.flatnonzero(m)
        cnt[:] = np.bincount(_flat(tx[idx], ty[idx], view), minlength=len(cnt))
    return cnt.reshape(view.H, view.W)


def _alpha(cnz: np.ndarray, count_max, counts_scale: str, min_alpha: float) -> np.ndarray:
    cmax = float(count_max) if count_max else float(cnz.max())
    s = _scale_counts(cnz, max(cmax, 1.0), counts_scale)
    lo = float(np.clip(min_alpha, 0.0, 1.0))
    return np.rint((lo + (1.0 - lo) * s) * 255.0).astype(np.uint8)


def _value_range(vals: np.ndarray, value_range) -> tuple[float, float]:
    if value_range is not None:
        vmin, vmax = (float(v) for v in value_range)
    else:
        finite = vals[np.isfinite(vals)] if not np.isfinite(vals).all() else vals
        if len(finite) == 0:
            return 0.0, 1.0
        vmin, vmax = float(finite.min()), float(finite.max())
    return vmin, vmax


def _lut_index(v: np.ndarray, vmin: float, vmax: float, k: int = 256) -> np.ndarray:
    """Values to LUT rows: [vmin, vmax] split in k equal bins, clipped at the ends."""
    if not vmax > vmin:
        return np.full(len(v), k // 2, dtype=np.intp)
    s = (np.asarray(v, dtype=np.float64) - vmin) * (k / (vmax - vmin))
    np.clip(s, 0, k - 1, out=s)
    return s.astype(np.intp)


# --- points --------------------------------------------------------------------------

@jit(nogil=True)
def _points_kernel(coords, rows, use_rows, cmode, pidx, vis, pal, rim_pal,
                   ox, sx, offx, oy, sy, offy, W, H, reach, offs, rim, out):
    """Painter's algorithm: each point stamps its disc offsets; later points win.

    pal / rim_pal are packed RGBA (uint32 per colour), out is (H, W) uint32.
    cmode 0: colour row = point row (pal has one row per point);
    cmode 1: colour row = pidx[i] (skip if < 0, >= len(vis) or not vis[...]);
    cmode 2: colour row 0 for every point.
    """
    m = rows.shape[0] if use_rows else coords.shape[0]
    K = vis.shape[0]
    D = offs.shape[0]
    R = 0
    for d in range(D):
        R = max(R, abs(offs[d, 0]), abs(offs[d, 1]))
    for k in range(m):
        i = rows[k] if use_rows else k
        if cmode == 0:
            c = np.int64(i)
        elif cmode == 1:
            c = np.int64(pidx[i])
            if c < 0 or c >= K or not vis[c]:
                continue
        else:
            c = np.int64(0)
        tx = (coords[i, 0] - ox) * sx + offx
        if not (tx >= -reach and tx < W + reach):
            continue
        ty = (coords[i, 1] - oy) * sy + offy
        if not (ty >= -reach and ty < H + reach):
            continue
        col = np.int64(np.floor(tx))
        row = H - 1 - np.int64(np.floor(ty))
        fill = pal[c]
        edge = rim_pal[c]
        if col >= R and col < W - R and row >= R and row < H - R:
            for d in range(D):
                out[row + offs[d, 1], col + offs[d, 0]] = edge if rim[d] else fill
        else:
            for d in range(D):
                xx = col + offs[d, 0]
                yy = row + offs[d, 1]
                if xx >= 0 and xx < W and yy >= 0 and yy < H:
                    out[yy, xx] = edge if rim[d] else fill
    return 0


@lru_cache(maxsize=64)
def disc_offsets(radius_px: float, outline: bool = False, inner: float = -1.0):
    """(offsets (D, 2) int32 as (dx, dy) with dy down, rim flags (D,) bool) of a disc.

    Pixel (dx, dy) belongs to a disc of radius r when dx² + dy² <= r² + r
    (r = 0: one pixel; r = 1: 3x3). With outline, pixels outside the disc of
    radius r - 1 are flagged as rim. Pixels inside radius `inner` are left
    out (a ring) when inner >= 0.
    """
    r = max(float(radius_px), 0.0)
    R = int(math.floor(r))
    dy, dx = np.mgrid[-R:R + 1, -R:R + 1]
    d2 = dx * dx + dy * dy
    keep = d2 <= r * r + r
    if inner >= 0:
        keep &= d2 > inner * inner + inner
    rim = np.zeros_like(keep)
    if outline and r >= 2:
        ri = r - 1.0
        rim = d2 > ri * ri + ri
    offs = np.stack([dx[keep], dy[keep]], axis=1).astype(np.int32)
    flags = rim[keep].astype(np.bool_)
    offs.setflags(write=False)
    flags.setflags(write=False)
    return offs, flags


def _paint(a, view: _View, rows, cmode: int, pidx, vis, pal, rim_pal, offs, rim) -> np.ndarray:
    W, H = view.W, view.H
    out = np.zeros((H, W, 4), dtype=np.uint8)
    reach = float(np.abs(offs).max() + 1) if len(offs) else 1.0
    use_rows = rows is not None
    rows_arr = rows if use_rows else np.zeros(1, np.int64)
    pidx_arr = pidx if pidx is not None else np.zeros(1, np.int64)
    out32 = out.view(np.uint32).reshape(H, W)
    done = run_kernel(_points_kernel, a, rows_arr, use_rows, cmode, pidx_arr, vis,
                       np.ascontiguousarray(pal).view(np.uint32).ravel(),
                       np.ascontiguousarray(rim_pal).view(np.uint32).ravel(),
                       *view.args(), a.dtype.type(reach), offs, rim, out32)
    if done is not False:
        return out
    # numpy: keep, per pixel, the highest (rank, rim) stamped on it.
    sel = rows if use_rows else np.arange(len(a), dtype=np.int64)
    if cmode == 0:
        c = sel
    elif cmode == 1:
        c = pidx[sel].astype(np.int64)
        ok = (c >= 0) & (c < len(vis))
        ok[ok] = vis[c[ok]]
        rank = np.flatnonzero(ok)
        sel, c = sel[rank], c[rank]
    else:
        c = np.zeros(len(sel), dtype=np.int64)
    rank = np.arange(len(sel), dtype=np.int64)
    pts = a[sel]
    tx, ty = view.tx(pts[:, 0]), view.ty(pts[:, 1])
    ok = (tx >= -reach) & (tx < W + reach) & (ty >= -reach) & (ty < H + reach)
    if not ok.all():
        rank, c, tx, ty = rank[ok], c[ok], tx[ok], ty[ok]
    col = np.floor(tx).astype(np.int64)
    row = H - 1 - np.floor(ty).astype(np.int64)
    # points on the same centre pixel stamp the same pixels: only the last counts
    R = int(reach) + 1
    key = (row + R) * (W + 2 * R + 1) + (col + R)
    _, first_rev = np.unique(key[::-1], return_index=True)
    last = np.sort(len(key) - 1 - first_rev)
    rank, c, col, row = rank[last], c[last], col[last], row[last]
    zbuf = np.full(W * H, -1, dtype=np.int64)
    for d in range(len(offs)):
        xx = col + int(offs[d, 0])
        yy = row + int(offs[d, 1])
        inb = (xx >= 0) & (xx < W) & (yy >= 0) & (yy < H)
        p = (yy[inb] * W + xx[inb])
        z = rank[inb] * 2 + int(rim[d])
        np.maximum(z, zbuf[p], out=z)
        zbuf[p] = z
    nz = np.flatnonzero(zbuf >= 0)
    z = zbuf[nz]
    # rank -> colour row: ranks of the deduplicated points, found by search
    which = np.searchsorted(rank, z >> 1)
    crow = c[which]
    is_rim = (z & 1).astype(bool)
    flat = out.reshape(-1, 4)
    flat[nz] = np.where(is_rim[:, None], rim_pal[crow], pal[crow])
    return out


def _colour_mode(n, colours, categories, palette, visible, values, cmap, value_range, rows):
    """(cmode, pidx, vis, pal) for the points kernel."""
    given = sum(x is not None for x in (colours, categories, values))
    if given > 1:
        raise ValueError("give one of colours, categories or values")
    if colours is not None:
        pal = _rgba(colours, "colours")
        if len(pal) != n:
            raise ValueError("colours must have one row per point")
        return 0, None, np.ones(1, np.bool_), pal
    if categories is not None:
        cat = np.asarray(categories)
        if cat.shape != (n,) or cat.dtype.kind not in "iu":
            raise ValueError("categories must be an integer array with one code per point")
        if palette is None:
            raise ValueError("categories need a palette")
        pal = _rgba(palette)
        return 1, cat, _visible(visible, len(pal)), pal
    if values is not None:
        vals = np.asarray(values)
        if vals.shape != (n,):
            raise ValueError("values must have one number per point")
        vals = vals.astype(np.float64, copy=False)
        lut = VIRIDIS if cmap is None else _rgba(cmap, "cmap")
        vmin, vmax = _value_range(vals, value_range)
        if rows is not None:
            pidx = np.full(n, -1, dtype=np.int16)
            v = vals[rows]
            fin = np.isfinite(v)
            pidx[rows[fin]] = _lut_index(v[fin], vmin, vmax, len(lut))
        else:
            fin = np.isfinite(vals)
            pidx = np.full(n, -1, dtype=np.int16)
            pidx[fin] = _lut_index(vals[fin], vmin, vmax, len(lut))
        return 1, pidx, np.ones(len(lut), np.bool_), np.ascontiguousarray(lut)
    return 2, None, np.ones(1, np.bool_), np.array([VIRIDIS[128]], dtype=np.uint8)


def _rows(order, n: int):
    if order is None:
        return None
    r = np.asarray(order)
    if r.dtype == np.bool_:
        if r.shape != (n,):
            raise ValueError("a boolean order/rows mask needs one entry per point")
        return np.flatnonzero(r)
    if r.ndim != 1 or (len(r) and r.dtype.kind not in "iu"):
        raise ValueError("order/rows must be a 1-D integer array")
    r = r.astype(np.int64, copy=False)
    if len(r) and (r.min() < 0 or r.max() >= n):
        raise ValueError("order/rows out of range")
    return r


def points_image(coords, rect: Rect, width: int, height: int, colours=None, *, categories=None,
                 palette=None, visible=None, values=None, cmap=None, value_range=None,
                 radius_px: float = 3.0, order=None, outline: bool = True) -> np.ndarray:
    """Draw each point as a filled disc of `radius_px` pixels into an RGBA image.

    Colour per point from ``colours`` ((n, 3|4) uint8), or ``categories`` +
    ``palette`` (+ ``visible``), or ``values`` (+ ``cmap``, ``value_range``).
    Points are painted in row order, later ones over earlier ones; ``order``
    (row numbers, may be a subset, or a bool mask) gives the sequence instead
    and draws only those rows; e.g. ``order=index.in_box(view)``.
    With ``outline`` (radius >= 2) each disc gets a darker one-pixel rim so
    overlapping points stay apart. Discs cut by the view's edge are drawn in
    part. No anti-aliasing.
    """
    a = _coords(coords)
    n = len(a)
    view = _View(rect, width, height, a.dtype)
    rows = _rows(order, n)
    cmode, pidx, vis, pal = _colour_mode(n, colours, categories, palette, visible, values, cmap,
                                         value_range, rows)
    offs, rim = disc_offsets(float(radius_px), bool(outline))
    rim_pal = _darker(pal) if rim.any() else pal
    return _paint(a, view, rows, cmode, pidx, vis, pal, rim_pal, offs, rim)


def highlight_image(coords, rect: Rect, width: int, height: int, rows, *, radius_px: float = 3.0,
                    colour=(255, 255, 255, 255), edge_colour=(20, 20, 20, 255), style: str = "ring",
                    mode: str = "auto", max_points: int = DENSITY_MAX_POINTS,
                    n_in_view: int | None = None) -> np.ndarray:
    """The selection (`rows`: row numbers or a bool mask) as its own RGBA layer.

    In points mode ``style="ring"`` draws a 2-pixel ring in `colour` just
    outside each selected point's disc (radius_px), with a 1-pixel
    `edge_colour` outer rim so it reads on light and dark maps, leaving the
    point itself visible; ``style="disc"`` draws a larger filled disc
    (radius_px + 2) with the edge. In density mode (``mode="density"``, or
    "auto" when more than `max_points` selected points are in view; pass
    `n_in_view` if known) the selection is drawn as a density of `colour`
    with a log alpha ramp. Transparent elsewhere; composite above the map.
    """
    a = _coords(coords)
    n = len(a)
    view = _View(rect, width, height, a.dtype)
    sel = _rows(rows, n)
    if sel is None:
        sel = np.empty(0, dtype=np.int64)
    if mode == "auto":
        if n_in_view is None:
            n_in_view = len(sel) if len(sel) <= max_points else _count_in_view(a, sel, view)
        mode = choose_mode(n_in_view, width, height, max_points=max_points)
    col = _rgba(np.asarray([colour]))
    edge = _rgba(np.asarray([edge_colour]))
    if mode == "density":
        img = np.zeros((view.H, view.W, 4), dtype=np.uint8)
        if len(sel) == 0:
            return img
        sub = a[sel]
        cnt = density_counts(sub, rect, width, height).reshape(-1)
        nz = np.flatnonzero(cnt)
        if len(nz):
            flat = img.reshape(-1, 4)
            flat[nz, :3] = col[0, :3]
            flat[nz, 3] = _alpha(cnt[nz].astype(np.float64), None, "log", 0.5)
        return img
    if mode != "points":
        raise ValueError("mode must be 'auto', 'points' or 'density'")
    r = max(float(radius_px), 0.0)
    if style == "ring":
        offs, rim = disc_offsets(r + 2.0, True, inner=r)
    elif style == "disc":
        offs, rim = disc_offsets(r + 2.0, True)
    else:
        raise ValueError("style must be 'ring' or 'disc'")
    return _paint(a, view, sel, 2, None, np.ones(1, np.bool_), col, edge, offs, rim)


def _count_in_view(a, rows, view: _View) -> int:
    pts = a[rows]
    tx, ty = view.tx(pts[:, 0]), view.ty(pts[:, 1])
    return int(np.count_nonzero((tx >= 0) & (tx < view.W) & (ty >= 0) & (ty < view.H)))
