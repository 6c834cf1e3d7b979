"""Drawing a pyramid level whose bins are more than half a pixel wide: each bin's count and
colour sums are split over the (up to 2 x 2) pixels it overlaps, by area.

Why: at one to two bins a pixel, giving each bin to the pixel its centre falls in (as
`pyramid_image` does at finer levels) hands some pixel columns one bin column and others
two, which draws a regular grid over every dense area (plain at 4x zoom on 1M points).
Split by area, every pixel gets its share of the density, so no grid, and a level of one
bin a pixel can be read, four times fewer bins than two a pixel.

Counts become fractional. Alpha interpolates the `count_alpha` table between whole counts,
so a whole count gets exactly today's alpha, and under one point a pixel gets that share
of one point's alpha: what today's image shows there on average (a pixel holding a point
or none), so sparse and middling areas keep today's tone (mean alpha within ~7% at 1M,
1x to 4x; a floor of one point's alpha from half a point made them 12-41% darker). A lone
point straddling pixels is drawn soft across them with the ink of one. Giving lone points
whole to the pixel of their centre instead keeps the grid in sparse areas. Colours are the area-weighted means, rounded as
`density_image` rounds them. When bins nest in pixels the weights are exactly 0 and 1 and
the image is today's. numba with a numpy fallback that draws the same image. Many bins in
view are split in bands of pixel rows, a thread each, as `density_layers` draws points
(`split_bands`: the same image; 10M mixed centre 2x, 46 ms CPU -> 24 a thread).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.raster import density_layers
from explorer.compute.raster.blend import composite_over
from explorer.compute.raster.density import alpha_lut
from explorer.compute.raster.density_finish import half_even, lay_under, store_pixel
from explorer.compute.spatial import run_kernel, spans_to_positions

BAND_BINS = 150_000  # bins in view a band (`split_bands`), drawn in a thread each


def scratch(buffers: dict, name: str, shape: tuple, dtype, zero: bool = False) -> np.ndarray:
    """A scratch array from `buffers`, made when missing or too small. Not cleared: a
    `zero` one is made zero, and the kernels leave it zero."""
    need = int(np.prod(shape))
    got = buffers.get(name)
    if got is None or got.dtype != dtype or got.size < need:
        got = np.zeros(need, dtype) if zero else np.empty(need, dtype)
        buffers[name] = got
    return got[:need].reshape(shape)


def view_range(x0p: float, y0p: float, level, rect) -> tuple[int, int, int, int] | None:
    """The level's bin columns and rows that can be in view (one more each side), or None."""
    x0, x1, y0, y1 = (float(v) for v in rect)
    b = level.bin
    bc_lo = max(math.floor((x0 - x0p) / b) - 1, 0)
    bc_hi = min(math.floor((x1 - x0p) / b) + 1, level.nx - 1)
    br_lo = max(math.floor((y0 - y0p) / b) - 1, 0)
    br_hi = min(math.floor((y1 - y0p) / b) + 1, level.ny - 1)
    if bc_lo > bc_hi or br_lo > br_hi:
        return None
    return bc_lo, bc_hi, br_lo, br_hi


@jit(nogil=True)
def _count_kernel(row_ptr, cols, br_lo, br_hi, bc_lo, bc_hi):
    m = 0
    for r in range(br_lo, br_hi + 1):
        a = row_ptr[r]
        e = row_ptr[r + 1]
        m += np.searchsorted(cols[a:e], bc_hi, "right") - np.searchsorted(cols[a:e], bc_lo)
    return m


def bins_in_view(x0p: float, y0p: float, level, rect) -> int:
    """How many of the level's bins a redraw of `rect` reads: a binary search a bin row."""
    got = view_range(x0p, y0p, level, rect)
    if got is None:
        return 0
    bc_lo, bc_hi, br_lo, br_hi = got
    m = run_kernel(_count_kernel, level.row_ptr, level.cols, br_lo, br_hi, bc_lo, bc_hi)
    if m is not False:
        return int(m)
    return sum(int(np.searchsorted(level.cols[a:e], bc_hi, "right")
                   - np.searchsorted(level.cols[a:e], bc_lo))
               for a, e in zip(level.row_ptr[br_lo:br_hi + 1], level.row_ptr[br_lo + 1:br_hi + 2]))


def split_span(x0p: float, y0p: float, level, rect, W: int, H: int):
    """Bin rows and columns that can be in view, each one's first pixel row (counted from
    the bottom) or column and its weights there and in the next; None when none is."""
    got = view_range(x0p, y0p, level, rect)
    if got is None:
        return None
    bc_lo, bc_hi, br_lo, br_hi = got
    x0, x1, y0, y1 = (float(v) for v in rect)
    b = level.bin

    def axis(lo, hi, origin, v0, scale, n):
        start = (origin + np.arange(lo, hi + 1, dtype=np.float64) * b - v0) * scale
        width = b * scale
        first = np.floor(start)
        w0 = (np.minimum(start + width, first + 1.0) - start) / width
        w1 = 1.0 - w0
        first = first.astype(np.int64)
        w0[(first < 0) | (first >= n)] = 0.0
        w1[(first + 1 < 0) | (first + 1 >= n)] = 0.0
        return first, w0, w1

    ky, wy0, wy1 = axis(br_lo, br_hi, y0p, y0, H / (y1 - y0), H)
    px, wx0, wx1 = axis(bc_lo, bc_hi, x0p, x0, W / (x1 - x0), W)
    return br_lo, ky, wy0, wy1, bc_lo, bc_hi, px, wx0, wx1


@jit(nogil=True)
def _emit(row, W, H, fixed, cr, sr, span, m, pix, pcnt, prgb, cmax):
    """Write the pixels of pixel row `row` (from the bottom) that got a bin, in column order
    (span[row & 1]: the columns reached), and clear them."""
    s = row & 1
    L = cr.shape[2]
    for px in range(span[s, 0], span[s, 1]):
        got = False
        for lay in range(L):
            got |= cr[s, px, lay] > 0.0
        if not got:
            continue
        pix[m] = np.int64(H - 1 - row) * W + px
        for lay in range(L):
            c = cr[s, px, lay]
            pcnt[m, lay] = c
            cmax[lay] = max(cmax[lay], c)
            for ch in range(3):
                if c <= 0:
                    prgb[m, lay, ch] = 0
                elif fixed[lay, 3] == 1:
                    prgb[m, lay, ch] = fixed[lay, ch]
                else:
                    prgb[m, lay, ch] = min(half_even(sr[s, px, lay, ch] / c), 255)
                sr[s, px, lay, ch] = 0.0
            cr[s, px, lay] = 0.0
        m += 1
    span[s, 0] = W
    span[s, 1] = 0
    return m


@jit(nogil=True)
def _split_kernel(row_ptr, cols, counts, sums, br_lo, ky, wy0, wy1, bc_lo, bc_hi, px0, wx0,
                  wx1, W, H, fixed, cr, sr, span, pix, pcnt, prgb, cmax):
    """Add each bin in view into the pixels it overlaps, by area, two pixel rows open at a
    time (bin rows go up the image in order, each over at most two pixel rows); returns
    the number of pixels written. A bin's count and sums are read once for its (up to
    four) pixels; a row's pixels reached are a column range (bins come in column order)."""
    L = counts.shape[1]
    m = 0
    span[:, 0] = W
    span[:, 1] = 0
    cur = np.int64(-(2**40))  # the lowest pixel row still open (and the one above it)
    for k in range(ky.shape[0]):
        r = br_lo + k
        a = row_ptr[r]
        e = row_ptr[r + 1]
        if a == e:
            continue
        k0 = ky[k]
        if k0 > cur:
            m = _emit(cur, W, H, fixed, cr, sr, span, m, pix, pcnt, prgb, cmax)
            if k0 > cur + 1:
                m = _emit(cur + 1, W, H, fixed, cr, sr, span, m, pix, pcnt, prgb, cmax)
            cur = k0
        first = a + np.searchsorted(cols[a:e], bc_lo)
        j = first
        while j < e and cols[j] <= bc_hi:
            ci = cols[j] - bc_lo
            p = px0[ci]
            for lay in range(L):
                c = counts[j, lay]
                if c == 0:  # most bins hold one layer
                    continue
                cf = np.float64(c)
                sr_ = np.float64(sums[j, lay, 0])
                sg = np.float64(sums[j, lay, 1])
                sb = np.float64(sums[j, lay, 2])
                for dy in range(2):
                    wy = wy0[k] if dy == 0 else wy1[k]
                    if wy <= 0.0:
                        continue
                    s = (k0 + dy) & 1
                    for dx in range(2):
                        w = (wx0[ci] if dx == 0 else wx1[ci]) * wy
                        if w <= 0.0:
                            continue
                        cr[s, p + dx, lay] += cf * w
                        sr[s, p + dx, lay, 0] += sr_ * w
                        sr[s, p + dx, lay, 1] += sg * w
                        sr[s, p + dx, lay, 2] += sb * w
            j += 1
        if j > first:  # the pixel columns this bin row reached, in the rows it covers
            lo = max(px0[cols[first] - bc_lo], 0)
            hi = min(px0[cols[j - 1] - bc_lo] + 2, W)
            for dy in range(2):
                if (wy0[k] if dy == 0 else wy1[k]) > 0.0:
                    s = (k0 + dy) & 1
                    span[s, 0] = min(span[s, 0], lo)
                    span[s, 1] = max(span[s, 1], hi)
    m = _emit(cur, W, H, fixed, cr, sr, span, m, pix, pcnt, prgb, cmax)
    return _emit(cur + 1, W, H, fixed, cr, sr, span, m, pix, pcnt, prgb, cmax)


@jit(nogil=True)
def _alpha(luts, lay, c):
    """Layer `lay`'s alpha at a fractional count, linear between whole counts and, under
    one point, from nothing (luts[lay, 0] is 0) to one point's alpha (module doc). No
    branch: a fifth of the counts are under one, at random, and a branch on it cost 3x the
    finish (10M centre 2x, 872k pixels: 12.3 -> 3.7 ms CPU). `split_luts` makes the table
    longer than the largest count, so f + 1 is always in it."""
    f = min(np.int64(c), luts.shape[1] - 2)
    a = np.float64(luts[lay, f])
    a += (np.float64(luts[lay, f + 1]) - a) * (c - f)
    return np.int64(a + 0.5)  # a >= 0: as floor(a + 0.5)


@jit(nogil=True)
def _finish_split_kernel(m, pix, pcnt, prgb, luts, out):
    """Each touched pixel: every stored layer's colour and alpha, laid over each other from
    the top down, into the flat RGBA image."""
    L = pcnt.shape[1]
    for q in range(m):
        p = pix[q]
        r, g, b, a = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
        for lay in range(L):
            la = _alpha(luts, lay, pcnt[q, lay])
            lr, lg, lb = np.int64(0), np.int64(0), np.int64(0)
            if la > 0:
                lr, lg, lb = np.int64(prgb[q, lay, 0]), np.int64(prgb[q, lay, 1]), \
                    np.int64(prgb[q, lay, 2])
            r, g, b, a = lay_under(lay, r, g, b, a, lr, lg, lb, la)
        store_pixel(out, p, r, g, b, a)
    return 0


def split_luts(cmax, counts_scale, count_max, min_alpha, tables) -> np.ndarray:
    """(stored layers, top + 2) uint8: each layer's alpha by whole count, up to one past
    its largest (fractional) count, so the interpolation has both ends."""
    top = math.ceil(max(cmax)) + 1 if len(cmax) else 1
    luts = np.zeros((len(tables), top + 1), np.uint8)
    for lay, table in enumerate(tables):
        c = float(cmax[lay])
        lut = alpha_lut(top, counts_scale, min_alpha, count_max if count_max else max(c, 1.0))
        luts[lay] = lut if table is None else np.asarray(table, np.uint8)[lut]
    luts[:, 0] = 0  # no point, no alpha, whatever the table says (`_alpha` reads it)
    return luts


def split_image(level, span, W, H, fixed, finish, buffers, img) -> None:
    """Draw the level's bins in view into `img` (H, W, 4) split by area (module doc)."""
    if not _split_numba(level, span, W, H, fixed, finish, buffers, img):
        _split_numpy(level, span, W, H, fixed, finish, img)


def _split_numba(level, span, W, H, fixed, finish, buffers, img) -> bool:
    parts = density_layers.in_bands(
        lambda band: _split_band(level, band[0], W, H, fixed, buffers.setdefault(band[1], {})),
        [(part, f"band {i}") for i, part in enumerate(split_bands(level, span, H))])
    if any(part is None for part in parts):
        return False
    luts = split_luts(np.max([part[4] for part in parts], axis=0), *finish)
    done = density_layers.in_bands(
        lambda part: run_kernel(_finish_split_kernel, *part[:4], luts, img.reshape(-1, 4)),
        parts)
    return all(ok is not False for ok in done)


def _split_band(level, span, W, H, fixed, buffers):
    """One band's pixels: (their number, pixels, counts, colours, each layer's largest
    count); None when numba cannot now."""
    br_lo, ky = span[0], span[1]
    L = level.counts.shape[1]
    bins = int(level.row_ptr[br_lo + len(ky)] - level.row_ptr[br_lo])
    cap = max(min(4 * bins, W * H), 1)
    cr = scratch(buffers, "split_cr", (2, W, L), np.float64, zero=True)
    sr = scratch(buffers, "split_sr", (2, W, L, 3), np.float64, zero=True)
    pix = scratch(buffers, "split_pix", (cap,), np.int64)
    pcnt = scratch(buffers, "split_pcnt", (cap, L), np.float64)
    prgb = scratch(buffers, "split_prgb", (cap, L, 3), np.uint8)
    cmax = np.zeros(L, np.float64)
    m = run_kernel(_split_kernel, level.row_ptr, level.cols, level.counts, level.sums, *span,
                   W, H, fixed, cr, sr, np.zeros((2, 2), np.int64), pix, pcnt, prgb, cmax)
    if m is False:
        return None
    return m, pix, pcnt, prgb, cmax


def split_bands(level, span, H: int) -> list[tuple]:
    """`split_span` cut into bands of pixel rows holding about as many bins each (one while
    they are fewer than BAND_BINS a band, up to `density_layers.BANDS`): each band's span,
    its bin rows those reaching its pixel rows, their weights 0 in the rows of the others.
    Every pixel gets the same bins, in the same order, as in one band: the same image."""
    br_lo, ky, wy0, wy1 = span[:4]
    per_row = np.diff(level.row_ptr[br_lo:br_lo + len(ky) + 1])
    total = int(per_row.sum())
    k = max(min(density_layers.BANDS, total // BAND_BINS), 1)
    if k == 1:
        return [span]
    share = np.cumsum(per_row)
    cuts = [0]
    for i in range(1, k):
        j = min(int(np.searchsorted(share, total * i / k)), len(ky) - 1)
        cuts.append(int(np.clip(ky[j], cuts[-1] + 1, H - 1)))
    cuts.append(int(H))
    out = []
    for lo, hi in itertools.pairwise(cuts):
        rows = np.flatnonzero((ky + 1 >= lo) & (ky < hi))
        if lo >= hi or not len(rows):
            continue
        k0, k1 = int(rows[0]), int(rows[-1]) + 1
        band_ky = ky[k0:k1]
        out.append((br_lo + k0, band_ky,
                    np.where((band_ky >= lo) & (band_ky < hi), wy0[k0:k1], 0.0),
                    np.where((band_ky + 1 >= lo) & (band_ky + 1 < hi), wy1[k0:k1], 0.0),
                    *span[4:]))
    return out or [span]


def _split_numpy(level, span, W, H, fixed, finish, img) -> None:
    br_lo, ky, wy0, wy1, bc_lo, bc_hi, px0, wx0, wx1 = span
    counts_scale, count_max, min_alpha, tables = finish
    rows = np.arange(br_lo, br_lo + len(ky))
    starts, stops = level.row_ptr[rows], level.row_ptr[rows + 1]
    pos = spans_to_positions(starts, stops)
    k = np.repeat(np.arange(len(ky)), stops - starts)
    col = level.cols[pos].astype(np.int64)
    ok = (col >= bc_lo) & (col <= bc_hi)
    pos, k, ci = pos[ok], k[ok], col[ok] - bc_lo
    parts = []  # (flat pixel, weight) of each bin's up to four pieces
    for wy, dy in ((wy0[k], 0), (wy1[k], 1)):
        for wx, dx in ((wx0[ci], 0), (wx1[ci], 1)):
            w = wy * wx
            keep = w > 0
            row = ky[k][keep] + dy
            parts.append((pos[keep], (H - 1 - row) * W + px0[ci][keep] + dx, w[keep]))
    pos = np.concatenate([p[0] for p in parts])
    pixel = np.concatenate([p[1] for p in parts])
    w = np.concatenate([p[2] for p in parts])
    P = W * H
    out = None
    for col_i, table in enumerate(tables):
        c = np.bincount(pixel, weights=level.counts[pos, col_i] * w, minlength=P)
        layer = np.zeros((H, W, 4), np.uint8)
        flat = layer.reshape(P, 4)
        nz = np.flatnonzero(c > 0)
        if len(nz):
            for ch in range(3):
                if fixed[col_i, 3]:
                    flat[nz, ch] = fixed[col_i, ch]
                else:
                    s = np.bincount(pixel, weights=level.sums[pos, col_i, ch] * w, minlength=P)
                    flat[nz, ch] = np.minimum(np.rint(s[nz] / c[nz]), 255)
            lut = split_luts(np.array([c[nz].max()]), counts_scale, count_max, min_alpha,
                             [table])[0]
            cz = c[nz]
            f = np.minimum(np.floor(cz).astype(np.int64), len(lut) - 1)
            nxt = np.minimum(f + 1, len(lut) - 1)
            a = lut[f] + (lut[nxt].astype(np.float64) - lut[f]) * (cz - f)
            a = np.where(cz < 1.0, lut[1] * cz, a)
            flat[nz, 3] = np.floor(a + 0.5)
        flat[flat[:, 3] == 0] = 0
        out = layer if out is None else composite_over(out, layer)
    img[...] = out
