"""Points images: each point a filled disc, painted in order (numba, numpy fallback), and the
selection as its own layer."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.raster.colours import (
    VIRIDIS,
    darker,
    finite_range,
    lut_index,
    rgba,
)
from explorer.compute.raster.density import count_alpha, density_counts
from explorer.compute.raster.view import (
    DENSITY_MAX_POINTS,
    Rect,
    View,
    as_coords,
    category_codes,
    choose_mode,
)
from explorer.compute.spatial import run_kernel


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


def _paint(a, view: View, rows, cmode: int, pidx, vis, pal, rim_pal, offs, rim) -> np.ndarray:
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


def colour_mode(n, colours, categories, palette, visible, values, cmap, value_range, rows):
    """(cmode, pidx, vis, pal) for the points kernel."""
    given = sum(x is not None for x in (colours, categories, values))
    if given > 1:
        raise ValueError("give one of colours, categories or values")
    if colours is not None:
        pal = rgba(colours, "colours")
        if len(pal) != n:
            raise ValueError("colours must have one row per point")
        return 0, None, np.ones(1, np.bool_), pal
    if categories is not None:
        cat, pal, vis = category_codes(categories, n, palette, visible)
        return 1, cat, vis, pal
    if values is not None:
        vals = np.asarray(values)
        if vals.shape != (n,):
            raise ValueError("values must have one number per point")
        vals = vals.astype(np.float64, copy=False)
        lut = VIRIDIS if cmap is None else rgba(cmap, "cmap")
        vmin, vmax = finite_range(vals, value_range)
        if rows is not None:
            pidx = np.full(n, -1, dtype=np.int16)
            v = vals[rows]
            fin = np.isfinite(v)
            pidx[rows[fin]] = lut_index(v[fin], vmin, vmax, len(lut))
        else:
            fin = np.isfinite(vals)
            pidx = np.full(n, -1, dtype=np.int16)
            pidx[fin] = lut_index(vals[fin], vmin, vmax, len(lut))
        return 1, pidx, np.ones(len(lut), np.bool_), np.ascontiguousarray(lut)
    return 2, None, np.ones(1, np.bool_), np.array([VIRIDIS[128]], dtype=np.uint8)


def as_rows(order, n: int) -> np.ndarray | None:
    """`order` (row numbers or a bool mask) as int64 row numbers, checked; None for None."""
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
    a = as_coords(coords)
    n = len(a)
    view = View(rect, width, height, a.dtype)
    rows = as_rows(order, n)
    cmode, pidx, vis, pal = colour_mode(n, colours, categories, palette, visible, values, cmap,
                                         value_range, rows)
    offs, rim = disc_offsets(float(radius_px), bool(outline))
    rim_pal = darker(pal) if rim.any() else pal
    return _paint(a, view, rows, cmode, pidx, vis, pal, rim_pal, offs, rim)


def highlight_image(coords, rect: Rect, width: int, height: int, rows, *, radius_px: float = 3.0,
                    colour=(255, 255, 255, 255), edge_colour=(20, 20, 20, 255), style: str = "ring",
                    halo_colour=(255, 255, 255, 235),
                    mode: str = "auto", max_points: int = DENSITY_MAX_POINTS,
                    n_in_view: int | None = None) -> np.ndarray:
    """The selection (`rows`: row numbers or a bool mask) as its own RGBA layer.

    In points mode ``style="ring"`` draws a 2-pixel ring in `colour` just
    outside each selected point's disc (radius_px), with a 1-pixel
    `edge_colour` outer rim so it reads on light and dark maps, leaving the
    point itself visible; ``style="disc"`` draws a larger filled disc
    (radius_px + 2) with the edge; ``style="halo"`` a filled disc (radius_px + 1) with
    the edge over a `halo_colour` disc two pixels wider, every halo under every disc, so
    marks read over the densest, most colourful part of a map (search matches). In density mode (``mode="density"``, or
    "auto" when more than `max_points` selected points are in view; pass
    `n_in_view` if known) the selection is drawn as a density of `colour`
    with a log alpha ramp. Transparent elsewhere; composite above the map.
    """
    a = as_coords(coords)
    n = len(a)
    view = View(rect, width, height, a.dtype)
    sel = as_rows(rows, n)
    if sel is None:
        sel = np.empty(0, dtype=np.int64)
    if mode == "auto":
        if n_in_view is None:
            n_in_view = len(sel) if len(sel) <= max_points else _count_in_view(a, sel, view)
        mode = choose_mode(n_in_view, width, height, max_points=max_points)
    col = rgba(np.asarray([colour]))
    edge = rgba(np.asarray([edge_colour]))
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
            flat[nz, 3] = count_alpha(cnt[nz].astype(np.float64), None, "log", 0.5)
        return img
    if mode != "points":
        raise ValueError("mode must be 'auto', 'points' or 'density'")
    r = max(float(radius_px), 0.0)
    if style == "ring":
        offs, rim = disc_offsets(r + 2.0, True, inner=r)
    elif style == "disc":
        offs, rim = disc_offsets(r + 2.0, True)
    elif style == "halo":
        halo = rgba(np.asarray([halo_colour]))
        offs, rim = disc_offsets(r + 3.0)
        under = _paint(a, view, sel, 2, None, np.ones(1, np.bool_), halo, halo, offs, rim)
        offs, rim = disc_offsets(r + 1.0, True)
        over = _paint(a, view, sel, 2, None, np.ones(1, np.bool_), col, edge, offs, rim)
        drawn = over[..., 3] > 0
        under[drawn] = over[drawn]
        return under
    else:
        raise ValueError("style must be 'ring', 'disc' or 'halo'")
    return _paint(a, view, sel, 2, None, np.ones(1, np.bool_), col, edge, offs, rim)


def _count_in_view(a, rows, view: View) -> int:
    pts = a[rows]
    tx, ty = view.tx(pts[:, 0]), view.ty(pts[:, 1])
    return int(np.count_nonzero((tx >= 0) & (tx < view.W) & (ty >= 0) & (ty < view.H)))
