"""Blended points: translucent discs without outlines, for maps too crowded for outlined discs.

Opaque discs with a dark rim, painted in row order, turn a crowded map into a grey mesh
of rims (the issue's "muddy grey core of outlined discs" at 63k) and let whichever
category is painted last win. Here every disc is stamped into per-pixel sums instead:
the colour of a pixel is the mean colour of the discs covering it, its opacity that of
`count` discs of opacity `alpha` laid over each other, 1 - (1 - alpha) ** count. Sparse
points stay light, piles saturate to their colour, and the picture does not depend on
the order of the rows. `blend_style` picks the disc size and opacity from how crowded
the view is, so points grow as the user zooms in ("size by zoom").

A numba kernel with a numpy fallback (per-offset bincounts) that gives the same image.
"""

from __future__ import annotations

import math

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.raster.points import as_rows, colour_mode, disc_offsets
from explorer.compute.raster.view import Rect, View, as_coords
from explorer.compute.spatial import run_kernel

SPACING_FRACTION = 0.45  # disc radius as a share of the mean spacing of the points in view
MIN_RADIUS = 1.0  # a 3x3 disc: a single pixel is too faint to read its colour
SPARSE_OVERLAP = 0.03  # below this share of pixels covered, outlined opaque discs read best
ALPHA_RANGE = (0.35, 0.7)  # a disc's opacity: crowded views ... sparse ones
ALPHA_AT_FULL_COVER = 0.5  # the opacity when the discs would cover the view once over


@jit(nogil=True)
def _blend_kernel(coords, rows, use_rows, cmode, pidx, vis, pal, ox, sx, offx, oy, sy, offy,
                  W, H, reach, offs, acc):
    """Add each point's colour (pal row, as in the points kernel's cmode) and 1 to the sums of
    every pixel its disc covers; acc is (H * W, 4) uint32."""
    m = rows.shape[0] if use_rows else coords.shape[0]
    K = vis.shape[0]
    D = offs.shape[0]
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
        r, g, b = pal[c, 0], pal[c, 1], pal[c, 2]
        for d in range(D):
            xx = col + offs[d, 0]
            yy = row + offs[d, 1]
            if xx >= 0 and xx < W and yy >= 0 and yy < H:
                p = yy * W + xx
                acc[p, 0] += r
                acc[p, 1] += g
                acc[p, 2] += b
                acc[p, 3] += 1
    return 0


def _sums_numpy(a, view: View, rows, cmode, pidx, vis, pal, offs, reach) -> np.ndarray:
    W, H = view.W, view.H
    sel = rows if rows is not None else np.arange(len(a), dtype=np.int64)
    if cmode == 0:
        c = sel
    elif cmode == 1:
        c = pidx[sel].astype(np.int64)
        ok = (c >= 0) & (c < len(vis))
        ok[ok] = vis[c[ok]]
        sel, c = sel[ok], c[ok]
    else:
        c = np.zeros(len(sel), dtype=np.int64)
    pts = a[sel]
    tx, ty = view.tx(pts[:, 0]), view.ty(pts[:, 1])
    ok = (tx >= -reach) & (tx < W + reach) & (ty >= -reach) & (ty < H + reach)
    c, tx, ty = c[ok], tx[ok], ty[ok]
    col = np.floor(tx).astype(np.int64)
    row = H - 1 - np.floor(ty).astype(np.int64)
    acc = np.zeros((W * H, 4), dtype=np.uint32)
    colour = pal[c, :3].astype(np.float64)
    pixels, owners = [], []  # every (pixel, point) a disc covers, then one count per channel
    for dx, dy in offs.tolist():
        xx, yy = col + dx, row + dy
        inb = (xx >= 0) & (xx < W) & (yy >= 0) & (yy < H)
        pixels.append(yy[inb] * W + xx[inb])
        owners.append(np.flatnonzero(inb))
    p = np.concatenate(pixels) if pixels else np.zeros(0, np.int64)
    who = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    acc[:, 3] = np.bincount(p, minlength=W * H)
    for ch in range(3):  # sums of whole colour values: exact in float64
        acc[:, ch] = np.rint(np.bincount(p, weights=colour[who, ch], minlength=W * H))
    return acc


def blend_image(coords, rect: Rect, width: int, height: int, colours=None, *, categories=None,
                palette=None, visible=None, values=None, cmap=None, value_range=None,
                radius_px: float = 1.0, alpha: float = 0.5, order=None) -> np.ndarray:
    """Draw each point as a translucent disc of `radius_px` pixels, blended (module doc).

    Colours as for `points_image` (``colours``, ``categories`` + ``palette`` +
    ``visible``, or ``values`` + ``cmap`` + ``value_range``); ``order`` limits the rows
    drawn (row numbers or a bool mask), their sequence does not matter. Straight RGBA,
    row 0 at the top, transparent where no disc falls.
    """
    a = as_coords(coords)
    n = len(a)
    view = View(rect, width, height, a.dtype)
    rows = as_rows(order, n)
    cmode, pidx, vis, pal = colour_mode(n, colours, categories, palette, visible, values, cmap,
                                        value_range, rows)
    if not 0.0 < alpha <= 1.0:
        raise ValueError("alpha must be in (0, 1]")
    offs, _rim = disc_offsets(float(radius_px))
    reach = float(np.abs(offs).max() + 1) if len(offs) else 1.0
    W, H = view.W, view.H
    if n > 2**32 // 256:
        raise ValueError("too many points to blend (use a density image)")
    acc = np.zeros((W * H, 4), dtype=np.uint32)
    done = run_kernel(_blend_kernel, a, rows if rows is not None else np.zeros(1, np.int64),
                      rows is not None, cmode,
                      pidx if pidx is not None else np.zeros(1, np.int64), vis,
                      np.ascontiguousarray(pal), *view.args(), a.dtype.type(reach), offs, acc)
    if done is False:
        acc = _sums_numpy(a, view, rows, cmode, pidx, vis, pal, offs, reach)
    img = np.zeros((H, W, 4), dtype=np.uint8)
    lut = alpha_lut(alpha)
    flat = img.reshape(-1, 4)
    if run_kernel(_finish_kernel, acc, lut, flat) is False:
        nz = np.flatnonzero(acc[:, 3])
        got = acc[nz].astype(np.int64)
        count = got[:, 3]
        flat[nz, :3] = (got[:, :3] + (count // 2)[:, None]) // count[:, None]
        flat[nz, 3] = lut[np.minimum(count, len(lut) - 1)]
    return img


def alpha_lut(alpha: float) -> np.ndarray:
    """uint8 opacity of 0, 1, 2 ... discs of opacity `alpha` laid over each other, up to the
    count where it reaches 255 (more discs stay there)."""
    if alpha >= 1.0:
        return np.array([0, 255], dtype=np.uint8)
    top = max(2, math.ceil(math.log(0.5 / 255.0) / math.log(1.0 - alpha)) + 1)
    count = np.arange(top, dtype=np.float64)
    return np.rint(255.0 * (1.0 - (1.0 - alpha) ** count)).astype(np.uint8)


@jit(nogil=True)
def _finish_kernel(acc, lut, out):
    """Each covered pixel: the rounded mean colour of its discs, the opacity of their count."""
    top = lut.shape[0] - 1
    for p in range(acc.shape[0]):
        c = np.int64(acc[p, 3])
        if c == 0:
            continue
        half = c // 2
        out[p, 0] = (np.int64(acc[p, 0]) + half) // c
        out[p, 1] = (np.int64(acc[p, 1]) + half) // c
        out[p, 2] = (np.int64(acc[p, 2]) + half) // c
        out[p, 3] = lut[min(c, top)]
    return 0


@jit(nogil=True)
def _over_kernel(top, bottom, out):
    for p in range(top.shape[0]):
        at = np.float32(top[p, 3]) / np.float32(255.0)
        ab = np.float32(bottom[p, 3]) / np.float32(255.0)
        if at == 0:
            for ch in range(4):
                out[p, ch] = bottom[p, ch]
            continue
        if at == 1 or ab == 0:
            for ch in range(4):
                out[p, ch] = top[p, ch]
            continue
        wb = ab * (np.float32(1.0) - at)
        a = at + wb
        for ch in range(3):
            v = (np.float32(top[p, ch]) * at + np.float32(bottom[p, ch]) * wb) / a
            out[p, ch] = np.uint8(np.int64(v + np.float32(0.5)))
        out[p, 3] = np.uint8(np.int64(a * np.float32(255.0) + np.float32(0.5)))
    return 0


def blend_style(n_in_view: int, width: int, height: int, size: float) -> tuple[str, float, float]:
    """("points", size, 1) for a sparse view (outlined opaque discs of the user's size), else
    ("blend", radius, alpha): discs a fraction of the points' mean spacing across (from
    MIN_RADIUS up to `size`), more transparent the more of the view they would cover
    (`cover`: disc pixels per pixel; tuned by eye on 5k-63k real maps)."""
    pixels = max(1, int(width) * int(height))
    n = max(1, int(n_in_view))
    spacing = math.sqrt(pixels / n)
    radius = min(float(size), max(MIN_RADIUS, SPACING_FRACTION * spacing))
    cover = n * len(disc_offsets(radius)[0]) / pixels
    if cover < SPARSE_OVERLAP:
        return "points", float(size), 1.0
    lo, hi = ALPHA_RANGE
    alpha = float(np.clip(ALPHA_AT_FULL_COVER / math.sqrt(cover), lo, hi))
    return "blend", radius, alpha


def composite_over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA `top` laid over `bottom` (Porter-Duff "over"), same shape."""
    if top.shape != bottom.shape:
        raise ValueError("the two images differ in size")
    out = np.empty_like(top)
    flat_top, flat_bottom = top.reshape(-1, 4), bottom.reshape(-1, 4)
    if run_kernel(_over_kernel, flat_top, flat_bottom, out.reshape(-1, 4)) is not False:
        return out
    at = top[..., 3:4].astype(np.float32) / np.float32(255.0)
    ab = bottom[..., 3:4].astype(np.float32) / np.float32(255.0)
    wb = ab * (np.float32(1.0) - at)
    a = at + wb
    rgb = (top[..., :3] * at + bottom[..., :3] * wb) / np.where(a > 0, a, np.float32(1.0))
    out[..., :3] = (rgb + np.float32(0.5)).astype(np.uint8)
    out[..., 3] = (a[..., 0] * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)
    return out
