"""Density images: every point aggregated into the pixel it falls in (numba, numpy fallback)."""

from __future__ import annotations

import math

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.raster.colours import VIRIDIS, finite_range, lut_index, rgba
from explorer.compute.raster.view import (
    Rect,
    View,
    as_coords,
    as_spans,
    category_codes,
    flat_pixels,
    pixels_numpy,
)
from explorer.compute.spatial import run_kernel

DEFAULT_MIN_ALPHA = 0.4


@jit(nogil=True)
def _pixel(coords, i, ox, sx, offx, oy, sy, offy, W, H):
    """The flat index of the pixel point i falls in (row 0 at the top), or -1 outside the view."""
    tx = (coords[i, 0] - ox) * sx + offx
    if not (tx >= 0 and tx < W):
        return -1
    ty = (coords[i, 1] - oy) * sy + offy
    if not (ty >= 0 and ty < H):
        return -1
    return (H - 1 - np.int64(ty)) * W + np.int64(tx)


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
            p = _pixel(coords, i, ox, sx, offx, oy, sy, offy, W, H)
            if p < 0:
                continue
            acc[p, 0] += pal[c, 0]
            acc[p, 1] += pal[c, 1]
            acc[p, 2] += pal[c, 2]
            acc[p, 3] += 1
    return bad


@jit(nogil=True)
def _density_count_kernel(coords, lo, hi, ox, sx, offx, oy, sy, offy, W, H, cnt):
    for s in range(lo.shape[0]):
        for i in range(lo[s], hi[s]):
            p = _pixel(coords, i, ox, sx, offx, oy, sy, offy, W, H)
            if p >= 0:
                cnt[p] += 1
    return 0


@jit(nogil=True)
def _density_value_kernel(coords, lo, hi, values, ox, sx, offx, oy, sy, offy, W, H, vsum, cnt):
    for s in range(lo.shape[0]):
        for i in range(lo[s], hi[s]):
            v = np.float64(values[i])
            if not math.isfinite(v):
                continue
            p = _pixel(coords, i, ox, sx, offx, oy, sy, offy, W, H)
            if p < 0:
                continue
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
    a = as_coords(coords)
    n = len(a)
    view = View(rect, width, height, a.dtype)
    W, H = view.W, view.H
    P = W * H
    lo, hi = as_spans(spans, n)
    if categories is not None and values is not None:
        raise ValueError("give categories or values, not both")
    if counts_scale not in _COUNT_SCALES:
        raise ValueError(f"counts_scale must be one of {_COUNT_SCALES}, not {counts_scale!r}")

    if categories is not None:
        cat, pal, vis = category_codes(categories, n, palette, visible)
        K = len(pal)
        acc_dtype = np.uint32 if n * 255 < 2**32 else np.uint64
        acc = np.zeros((P, 4), dtype=acc_dtype)
        pal_w = np.ascontiguousarray(pal[:, :3], dtype=acc_dtype)
        bad = run_kernel(_density_cat_kernel, a, lo, hi, cat, vis, pal_w, *view.args(), acc)
        if bad is False:
            pos, tx, ty, m = pixels_numpy(a, lo, hi, view)
            c = cat if pos is None else cat[pos]
            m &= c >= 0
            over = c >= K
            bad = int(np.count_nonzero(over & m))
            m &= ~over
            idx = np.flatnonzero(m)
            cc = c[idx]
            keep = vis[cc]
            idx, cc = idx[keep], cc[keep]
            p = flat_pixels(tx[idx], ty[idx], view)
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
        flat[nz, 3] = count_alpha(cnz, count_max, counts_scale, min_alpha)
        return img

    lut = VIRIDIS if cmap is None else rgba(cmap, "cmap")
    if values is not None:
        vals = np.asarray(values)
        if vals.shape != (n,):
            raise ValueError("values must have one number per point")
        if vals.dtype.kind not in "fiub":
            raise ValueError("values must be numeric")
        if vals.dtype.kind != "f":
            vals = vals.astype(np.float64)
        vmin, vmax = finite_range(vals, value_range)
        vsum = np.zeros(P, dtype=np.float64)
        cnt = np.zeros(P, dtype=np.uint32 if n < 2**32 else np.uint64)
        done = run_kernel(_density_value_kernel, a, lo, hi, vals, *view.args(), vsum, cnt)
        if done is False:
            pos, tx, ty, m = pixels_numpy(a, lo, hi, view)
            v = vals if pos is None else vals[pos]
            m &= np.isfinite(v)
            idx = np.flatnonzero(m)
            p = flat_pixels(tx[idx], ty[idx], view)
            cnt[:] = np.bincount(p, minlength=P)
            vsum[:] = np.bincount(p, weights=v[idx].astype(np.float64), minlength=P)
        nz = np.flatnonzero(cnt)
        img = np.zeros((H, W, 4), dtype=np.uint8)
        if len(nz) == 0:
            return img
        cnz = cnt[nz].astype(np.float64)
        mean = vsum[nz] / cnz
        flat = img.reshape(P, 4)
        flat[nz, :3] = lut[lut_index(mean, vmin, vmax, len(lut)), :3]
        flat[nz, 3] = count_alpha(cnz, count_max, counts_scale, min_alpha)
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
    a = as_coords(coords)
    view = View(rect, width, height, a.dtype)
    lo, hi = as_spans(spans, len(a))
    cnt = np.zeros(view.W * view.H, dtype=np.uint32 if len(a) < 2**32 else np.uint64)
    if run_kernel(_density_count_kernel, a, lo, hi, *view.args(), cnt) is False:
        pos, tx, ty, m = pixels_numpy(a, lo, hi, view)
        idx = np.flatnonzero(m)
        cnt[:] = np.bincount(flat_pixels(tx[idx], ty[idx], view), minlength=len(cnt))
    return cnt.reshape(view.H, view.W)


def count_alpha(cnz: np.ndarray, count_max, counts_scale: str, min_alpha: float) -> np.ndarray:
    cmax = float(count_max) if count_max else float(cnz.max())
    s = _scale_counts(cnz, max(cmax, 1.0), counts_scale)
    lo = float(np.clip(min_alpha, 0.0, 1.0))
    return np.rint((lo + (1.0 - lo) * s) * 255.0).astype(np.uint8)
