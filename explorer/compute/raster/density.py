"""Density images: every point aggregated into the pixel it falls in (numba, numpy fallback).

A categories image is finished in one numba pass (`density_finish`): alpha table, and the
layer laid over or under the image drawn so far, so the map's layers need no extra passes;
its accumulator can be kept between renders (`Accumulators`)."""

from __future__ import annotations

import math

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.raster.colours import VIRIDIS, finite_range, lut_index, rgba
from explorer.compute.raster.density_finish import (
    MAX_LUT,
    OVER,
    UNDER,
    WRITE,
    Accumulators,
    finish,
)
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
def _density_cat_kernel(coords, lo, hi, cat, vis, pal, ox, sx, offx, oy, sy, offy, W, H, acc,
                        top):
    """Add each shown point's colour and 1 into its pixel; top[0] gets the largest count.
    Returns the number of codes past the palette."""
    K = vis.shape[0]
    bad = 0
    most = np.uint64(0)
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
            most = max(most, acc[p, 3])
    top[0] = most
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
    """Add each finite value and 1 into its pixel; returns the largest count."""
    most = np.uint64(0)
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
            most = max(most, np.uint64(cnt[p]))
    return most


@jit(nogil=True)
def _finish_values_kernel(vsum, cnt, lut, vmin, factor, alpha, out):
    """Each pixel with a value: the LUT colour of its mean (`lut_index`'s float64 steps;
    factor 0: the middle row) and the alpha of its count (`alpha`, by `count_alpha`)."""
    k = lut.shape[0]
    for p in range(cnt.shape[0]):
        c = cnt[p]
        if c == 0:
            continue
        row = k // 2
        if factor != 0.0:
            t = (vsum[p] / np.float64(c) - vmin) * factor
            row = min(max(np.int64(min(max(t, 0.0), np.float64(k - 1))), 0), k - 1)
        out[p, 0] = lut[row, 0]
        out[p, 1] = lut[row, 1]
        out[p, 2] = lut[row, 2]
        out[p, 3] = alpha[c]
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
                  spans=None, alpha_table=None, below: np.ndarray | None = None,
                  above: np.ndarray | None = None,
                  accumulators: Accumulators | None = None) -> np.ndarray:
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

    For drawing layers: ``alpha_table`` (uint8[256]) maps each pixel's alpha; the image is
    then laid over ``below`` or under ``above`` (an (height, width, 4) uint8 image, as
    ``composite_over`` does) in place, and that array returned. ``accumulators``: kept by
    the caller, so a redraw reuses its sums (module doc).
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
    if below is not None and above is not None:
        raise ValueError("give below or above, not both")
    for name, other in (("below", below), ("above", above)):
        if other is not None and (other.shape != (H, W, 4) or other.dtype != np.uint8
                                  or not other.flags.c_contiguous):
            raise ValueError(f"{name} must be a contiguous ({H}, {W}, 4) uint8 image")

    if categories is not None:
        cat, pal, vis = category_codes(categories, n, palette, visible)
        K = len(pal)
        acc_dtype = np.uint32 if n * 255 < 2**32 else np.uint64
        pal_w = np.ascontiguousarray(pal[:, :3], dtype=acc_dtype)
        with (accumulators or Accumulators()).zeroed(P, acc_dtype) as acc:
            top = np.zeros(1, np.int64)
            bad = run_kernel(_density_cat_kernel, a, lo, hi, cat, vis, pal_w, *view.args(), acc,
                             top)
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
                top[0] = acc[:, 3].max() if P else 0
            if bad:
                raise ValueError(f"{bad} category codes are >= len(palette) ({K})")
            return _finish_categories(acc, int(top[0]), (H, W), count_max, counts_scale,
                                      min_alpha, alpha_table, below, above)

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
        top = run_kernel(_density_value_kernel, a, lo, hi, vals, *view.args(), vsum, cnt)
        if top is not False and top <= MAX_LUT:  # one numba pass: no scan, no float64 arrays
            img = np.zeros((H, W, 4), dtype=np.uint8)
            factor = len(lut) / (vmax - vmin) if vmax > vmin else 0.0
            if run_kernel(_finish_values_kernel, vsum, cnt, np.ascontiguousarray(lut), vmin,
                          factor, alpha_lut(int(top), counts_scale, min_alpha, count_max),
                          img.reshape(P, 4)) is not False:
                return _place(img, alpha_table, below, above)
        if top is False:
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
            return _place(img, alpha_table, below, above)
        cnz = cnt[nz].astype(np.float64)
        mean = vsum[nz] / cnz
        flat = img.reshape(P, 4)
        flat[nz, :3] = lut[lut_index(mean, vmin, vmax, len(lut)), :3]
        flat[nz, 3] = count_alpha(cnz, count_max, counts_scale, min_alpha)
        return _place(img, alpha_table, below, above)

    cnt = density_counts(a, rect, W, H, spans=(lo, hi)).reshape(P)
    nz = np.flatnonzero(cnt)
    img = np.zeros((H, W, 4), dtype=np.uint8)
    if len(nz) == 0:
        return _place(img, alpha_table, below, above)
    cnz = cnt[nz].astype(np.float64)
    cmax = float(count_max) if count_max else float(cnz.max())
    s = _scale_counts(cnz, max(cmax, 1.0), counts_scale)
    flat = img.reshape(P, 4)
    flat[nz] = lut[np.minimum((s * len(lut)).astype(np.intp), len(lut) - 1)]
    return _place(img, alpha_table, below, above)


def _finish_categories(acc, cmax, shape, count_max, counts_scale, min_alpha, alpha_table,
                       below, above) -> np.ndarray:
    """The image of a categories accumulator (mean colour, alpha by count), placed as
    `density_image` says; leaves `acc` zero."""
    H, W = shape
    if below is not None:
        out, mode = below, OVER
    elif above is not None:
        out, mode = above, UNDER
    else:
        out, mode = np.empty((H, W, 4), np.uint8), WRITE
    if cmax <= MAX_LUT:
        lut = alpha_lut(cmax, counts_scale, min_alpha, count_max)
        table = np.arange(256, dtype=np.uint8) if alpha_table is None \
            else np.ascontiguousarray(alpha_table, np.uint8)
        if table.shape != (256,):
            raise ValueError("alpha_table must have 256 entries")
        if finish(acc, lut, table, mode, out.reshape(-1, 4)):
            return out
    nz = _nonzero_rows(acc, 3)
    img = np.zeros((H, W, 4), dtype=np.uint8)
    if len(nz):
        got = acc[nz].astype(np.float64)
        cnz = got[:, 3]
        flat = img.reshape(H * W, 4)
        mean = got[:, :3]
        mean /= cnz[:, None]
        flat[nz, :3] = np.rint(mean)
        flat[nz, 3] = count_alpha(cnz, count_max, counts_scale, min_alpha)
    acc.fill(0)
    return _place(img, alpha_table, below, above)


def _place(img, alpha_table, below, above) -> np.ndarray:
    """`img` with its alpha mapped, laid over `below` or under `above` (in place)."""
    from explorer.compute.raster.blend import (
        composite_over,  # blend imports this module
    )

    if alpha_table is not None:
        img[..., 3] = np.asarray(alpha_table, np.uint8)[img[..., 3]]
    if below is not None:
        below[...] = composite_over(img, below)
        return below
    if above is not None:
        above[...] = composite_over(above, img)
        return above
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


def alpha_lut(cmax: int, counts_scale: str, min_alpha: float, count_max=None) -> np.ndarray:
    """uint8 alpha of counts 0 ... cmax as `count_alpha` gives it (0 for an empty pixel):
    one table per image instead of a log per pixel."""
    lut = np.zeros(int(cmax) + 1, np.uint8)
    if cmax >= 1:
        c = np.arange(1, int(cmax) + 1, dtype=np.float64)
        lut[1:] = count_alpha(c, count_max if count_max else float(cmax), counts_scale, min_alpha)
    return lut
