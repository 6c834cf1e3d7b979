"""A multi-resolution density pyramid: the map's per-bin counts and colour sums, made once,
so a redraw after a zoom reads bins in view instead of points in view.

Today's density path (`density_image`, one pass per layer, then `composite_over`) costs
O(points in view) per redraw: 127 ms at 10M. The pyramid holds, for square bins at
levels 0 (one or two bins across the map) to `depth` (2**depth bins across), each
occupied bin's count and palette-colour sums per *layer*:

    0  the rows drawn in colour
    1  "under": grey categories ("(other)", "(missing)") drawn lighter under layer 0
    2  "held": rows the filter holds back, drawn faint under everything

A redraw picks the coarsest level whose bins are no wider than a pixel (`level_for`),
maps each bin in view to the pixel its centre falls in (the transform of the density
module), and finishes every pixel as `density_image` does (mean colour rounded half to
even, alpha from the count through `count_alpha`, the max count per layer and image),
then lays the layers over each other as `composite_over` does. So when bins nest in
pixels (a view aligned on bin edges, pixels 2**j bins wide) the image equals today's
exactly; elsewhere a point moves by at most half a bin, i.e. half a pixel.

Bins are powers of two in data units, aligned on multiples of the level-0 bin, so bin
edges are exact in float64 and every level nests in the one above. Levels are stored
sparse, as CSR over bin rows (occupied bins only), so memory follows the points, not
the area. When even the finest bin is wider than a pixel, `level_for` and
`pyramid_image` return None: the caller draws the points (few in view, by then).

numba kernels with numpy fallbacks that give the same pyramid and image.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.raster.blend import composite_over
from explorer.compute.raster.colours import rgba
from explorer.compute.raster.density import DEFAULT_MIN_ALPHA, count_alpha
from explorer.compute.raster.view import Rect, View
from explorer.compute.spatial import GridIndex, run_kernel

TOP, UNDER, HELD = 0, 1, 2  # the layers, from the top down
N_LAYERS = 3
MIN_DEPTH, MAX_DEPTH = 8, 13  # 256 to 8192 bins across the map at the finest level


def default_depth(n: int) -> int:
    """Finest level for n points: about sqrt(n) bins across, twice that so a 4x zoom of
    the whole map in a 1200-pixel plot still has bins no wider than a pixel."""
    return int(min(max(math.ceil(math.log2(math.sqrt(max(n, 1)))) + 2, MIN_DEPTH), MAX_DEPTH))


@dataclass
class PyramidLevel:
    """One level: bins of `bin` data units, `nx` x `ny` of them from the pyramid's origin.
    Occupied bins in row-major order: bin row r holds entries row_ptr[r]:row_ptr[r + 1],
    at columns `cols` (ascending); per entry and layer a count and RGB sums."""

    bin: float
    nx: int
    ny: int
    row_ptr: np.ndarray  # int64 (ny + 1,)
    cols: np.ndarray  # int32 (m,)
    counts: np.ndarray  # uint32 (m, N_LAYERS)
    sums: np.ndarray  # uint32, or uint64 past 2**32 / 255 points, (m, N_LAYERS, 3)

    @property
    def nbytes(self) -> int:
        return self.row_ptr.nbytes + self.cols.nbytes + self.counts.nbytes + self.sums.nbytes


@dataclass
class DensityPyramid:
    """Per-bin counts and colour sums of the map's rows at every level (module doc)."""

    x0: float  # origin of every level's bins
    y0: float
    levels: list[PyramidLevel]  # levels[0] coarsest ... levels[-1] finest
    layers: tuple[bool, bool, bool]  # which of TOP, UNDER, HELD hold any row
    points: int  # rows counted (finite, drawn)
    build_seconds: float = 0.0

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self.levels)


def build_pyramid(index: GridIndex, colour_code: np.ndarray, layer_of: np.ndarray,
                  palette, *, depth: int | None = None, state=None) -> DensityPyramid:
    """Count the rows into every level, for a job (never the redraw).

    ``colour_code`` (a palette row) and ``layer_of`` (TOP, UNDER, HELD, or -1: not drawn)
    are per row in the index's order (``index.to_sorted``). Rows with a non-finite
    coordinate are not drawn. ``state`` (a TaskState) is checked between levels.
    """
    t0 = time.perf_counter()
    n = index.n_finite
    coords = index.sorted_coords[:n]
    code = np.asarray(colour_code)
    layer = np.asarray(layer_of)
    if code.shape != (index.n,) or code.dtype.kind not in "iu":
        raise ValueError("colour_code must be an integer array with one code per row")
    if layer.shape != (index.n,) or layer.dtype.kind not in "iu":
        raise ValueError("layer_of must be an integer array with one layer per row")
    pal = rgba(palette)
    code, layer = code[:n], layer[:n]
    drawn = layer >= 0
    if np.any(layer[drawn] >= N_LAYERS):
        raise ValueError(f"layers are 0 to {N_LAYERS - 1}")
    if np.any((code[drawn] < 0) | (code[drawn] >= len(pal))):
        raise ValueError(f"colour codes must index the palette ({len(pal)} colours)")
    depth = default_depth(n) if depth is None else int(depth)
    if not 0 <= depth <= 24:
        raise ValueError("depth must be 0 to 24")
    xmin, ymin, xmax, ymax = index.bounds
    span = max(xmax - xmin, ymax - ymin)
    bin0 = 2.0 ** math.ceil(math.log2(span)) if span > 0 else 1.0
    x0, y0 = math.floor(xmin / bin0) * bin0, math.floor(ymin / bin0) * bin0
    sum_dtype = np.uint32 if n * 255 < 2**32 else np.uint64
    pal_w = np.ascontiguousarray(pal[:, :3], dtype=sum_dtype)

    shapes = []
    for lvl in range(depth + 1):
        b = bin0 / 2**lvl
        shapes.append((b, int((xmax - x0) // b) + 1, int((ymax - y0) // b) + 1))
    b, nx, ny = shapes[-1]
    finest = _finest_level(coords, code, layer, pal_w, x0, y0, b, nx, ny)
    levels = [finest]
    for b, nx, ny in reversed(shapes[:-1]):
        if state is not None:
            state.check()
        levels.append(_coarser(levels[-1], b, nx, ny))
    levels.reverse()
    totals = finest.counts.sum(axis=0)
    return DensityPyramid(x0, y0, levels, tuple(bool(t) for t in totals), int(totals.sum()),
                          time.perf_counter() - t0)


@jit(nogil=True)
def _bin_rows_kernel(coords, layer, x0, y0, inv, nx, ny, row_count, bx, by):
    """Each drawn point's finest bin (column, row), and how many points each bin row gets."""
    for i in range(coords.shape[0]):
        if layer[i] < 0:
            continue
        c = np.int64(math.floor((np.float64(coords[i, 0]) - x0) * inv))
        r = np.int64(math.floor((np.float64(coords[i, 1]) - y0) * inv))
        c = min(max(c, 0), nx - 1)
        r = min(max(r, 0), ny - 1)
        bx[i] = c
        by[i] = r
        row_count[r + 1] += 1
    return 0


@jit(nogil=True)
def _fill_rows_kernel(by, layer, row_start, perm):
    """Counting sort of the drawn points by bin row."""
    pos = row_start[:-1].copy()
    for i in range(by.shape[0]):
        if layer[i] < 0:
            continue
        r = by[i]
        perm[pos[r]] = i
        pos[r] += 1
    return 0


@jit(nogil=True)
def _row_bins_kernel(row_start, perm, bx, code, layer, pal, nx, row_ptr, cols, counts, sums,
                     cnt_row, sum_row, seen, touched):
    """Per bin row, add its points into a dense row of bins, then emit the occupied ones
    in column order. Returns the number of occupied bins."""
    m = 0
    L = cnt_row.shape[1]
    for r in range(row_start.shape[0] - 1):
        t = 0
        for k in range(row_start[r], row_start[r + 1]):
            i = perm[k]
            c = bx[i]
            lay = layer[i]
            if not seen[c]:
                seen[c] = True
                touched[t] = c
                t += 1
            cnt_row[c, lay] += 1
            p = code[i]
            sum_row[c, lay, 0] += pal[p, 0]
            sum_row[c, lay, 1] += pal[p, 1]
            sum_row[c, lay, 2] += pal[p, 2]
        if t > 0:
            tc = np.sort(touched[:t])
            for j in range(t):
                c = tc[j]
                cols[m] = c
                for lay in range(L):
                    counts[m, lay] = cnt_row[c, lay]
                    sums[m, lay, 0] = sum_row[c, lay, 0]
                    sums[m, lay, 1] = sum_row[c, lay, 1]
                    sums[m, lay, 2] = sum_row[c, lay, 2]
                    cnt_row[c, lay] = 0
                    sum_row[c, lay, 0] = 0
                    sum_row[c, lay, 1] = 0
                    sum_row[c, lay, 2] = 0
                seen[c] = False
                m += 1
        row_ptr[r + 1] = m
    return m


def _finest_level(coords, code, layer, pal_w, x0, y0, b, nx, ny) -> PyramidLevel:
    n = len(coords)
    inv = 1.0 / b  # a power of two: exact
    sum_dtype = pal_w.dtype
    layer8 = np.ascontiguousarray(layer, dtype=np.int8)
    bx = np.zeros(n, np.int32)
    by = np.zeros(n, np.int32)
    row_start = np.zeros(ny + 1, np.int64)
    if run_kernel(_bin_rows_kernel, coords, layer8, x0, y0, inv, nx, ny, row_start, bx, by) \
            is not False:
        np.cumsum(row_start, out=row_start)
        m_drawn = int(row_start[-1])
        perm = np.empty(m_drawn, np.int64)
        run_kernel(_fill_rows_kernel, by, layer8, row_start, perm)
        cap = min(m_drawn, nx * ny)
        row_ptr = np.zeros(ny + 1, np.int64)
        cols = np.empty(cap, np.int32)
        counts = np.empty((cap, N_LAYERS), np.uint32)
        sums = np.empty((cap, N_LAYERS, 3), sum_dtype)
        code64 = np.ascontiguousarray(code, dtype=np.int64)
        m = run_kernel(_row_bins_kernel, row_start, perm, bx, code64, layer8, pal_w, nx,
                       row_ptr, cols, counts, sums, np.zeros((nx, N_LAYERS), np.uint32),
                       np.zeros((nx, N_LAYERS, 3), sum_dtype), np.zeros(nx, np.bool_),
                       np.empty(nx, np.int64))
        return PyramidLevel(b, nx, ny, row_ptr, cols[:m].copy(), counts[:m].copy(),
                            sums[:m].copy())
    keep = np.flatnonzero(layer >= 0)
    xy = coords[keep].astype(np.float64)
    c = np.clip(np.floor((xy[:, 0] - x0) * inv), 0, nx - 1).astype(np.int64)
    r = np.clip(np.floor((xy[:, 1] - y0) * inv), 0, ny - 1).astype(np.int64)
    return _level_from_bins(r * nx + c, layer[keep].astype(np.int64), None,
                            pal_w[code[keep].astype(np.int64)], b, nx, ny, sum_dtype)


def _level_from_bins(key, lay, weight, colour, b, nx, ny, sum_dtype) -> PyramidLevel:
    """A level from (bin key, layer) entries weighted by `weight` counts (None: 1 each) with
    RGB `colour` sums (numpy)."""
    bins, inv = np.unique(key, return_inverse=True)
    m = len(bins)
    slot = inv * N_LAYERS + lay
    counts = np.bincount(slot, weights=weight, minlength=m * N_LAYERS)
    counts = np.rint(counts).astype(np.uint32).reshape(m, N_LAYERS)
    sums = np.empty((m, N_LAYERS, 3), sum_dtype)
    for ch in range(3):  # float64 sums are exact below 2**53
        sums[:, :, ch] = np.rint(np.bincount(slot, weights=colour[:, ch].astype(np.float64),
                                             minlength=m * N_LAYERS)).reshape(m, N_LAYERS)
    rows = bins // nx
    row_ptr = np.searchsorted(rows, np.arange(ny + 1)).astype(np.int64)
    return PyramidLevel(b, nx, ny, row_ptr, (bins % nx).astype(np.int32), counts, sums)


def _coarser(fine: PyramidLevel, b: float, nx: int, ny: int) -> PyramidLevel:
    """The level above `fine`: each bin the sum of the 2 x 2 bins under it."""
    rows = np.repeat(np.arange(fine.ny, dtype=np.int64), np.diff(fine.row_ptr))
    key = (rows // 2) * nx + fine.cols.astype(np.int64) // 2
    m = len(key)
    if m == 0:
        return PyramidLevel(b, nx, ny, np.zeros(ny + 1, np.int64), np.zeros(0, np.int32),
                            np.zeros((0, N_LAYERS), np.uint32),
                            np.zeros((0, N_LAYERS, 3), fine.sums.dtype))
    bins, inv = np.unique(key, return_inverse=True)
    counts = np.zeros((len(bins), N_LAYERS), np.uint32)
    sums = np.zeros((len(bins), N_LAYERS, 3), fine.sums.dtype)
    np.add.at(counts, inv, fine.counts)
    np.add.at(sums, inv, fine.sums)
    row_ptr = np.searchsorted(bins // nx, np.arange(ny + 1)).astype(np.int64)
    return PyramidLevel(b, nx, ny, row_ptr, (bins % nx).astype(np.int32), counts, sums)


def level_for(pyr: DensityPyramid, rect: Rect, width: int, height: int) -> int | None:
    """The coarsest level whose bins are no wider (and no taller) than a pixel, or None when
    even the finest bins are bigger: then the points are few enough to draw."""
    x0, x1, y0, y1 = (float(v) for v in rect)
    View(rect, width, height, np.float64)  # the same checks as every renderer
    px = min((x1 - x0) / int(width), (y1 - y0) / int(height))
    for lvl, level in enumerate(pyr.levels):
        if level.bin <= px * (1.0 + 1e-12):
            return lvl
    return None


def alpha_lut(cmax: int, counts_scale: str, min_alpha: float, count_max=None) -> np.ndarray:
    """uint8 alpha of counts 0 ... cmax as `count_alpha` gives it (0 for an empty pixel):
    one table per image instead of a log per pixel."""
    lut = np.zeros(int(cmax) + 1, np.uint8)
    if cmax >= 1:
        c = np.arange(1, int(cmax) + 1, dtype=np.float64)
        lut[1:] = count_alpha(c, count_max if count_max else float(cmax), counts_scale, min_alpha)
    return lut


@jit(nogil=True)
def _gather_kernel(row_ptr, cols, counts, sums, br_lo, prow, bc_lo, bc_hi, pcol, W, fixed,
                   cnt_row, sum_row, seen, touched, pix, pcnt, prgb, cmax):
    """Add the bins in view into their pixels, pixel row by pixel row, and write each
    touched pixel once: its index, per-layer counts and rounded mean colours (or the
    layer's `fixed` colour). `prow` (per bin row from br_lo, -1 outside) never increases
    with the bin row, so the bin rows of one pixel row are consecutive. Returns the
    number of pixels written."""
    L = counts.shape[1]
    n_rows = prow.shape[0]
    m = 0
    k = 0
    while k < n_rows:
        pr = prow[k]
        k_end = k + 1
        while k_end < n_rows and prow[k_end] == pr:
            k_end += 1
        if pr >= 0:
            t = 0
            for kk in range(k, k_end):
                r = br_lo + kk
                a = row_ptr[r]
                e = row_ptr[r + 1]
                j = a + np.searchsorted(cols[a:e], bc_lo)
                while j < e and cols[j] <= bc_hi:
                    px = pcol[cols[j] - bc_lo]
                    if px >= 0:
                        if not seen[px]:
                            seen[px] = True
                            touched[t] = px
                            t += 1
                        for lay in range(L):
                            cnt_row[px, lay] += counts[j, lay]
                            sum_row[px, lay, 0] += sums[j, lay, 0]
                            sum_row[px, lay, 1] += sums[j, lay, 1]
                            sum_row[px, lay, 2] += sums[j, lay, 2]
                    j += 1
            for q in range(t):
                px = touched[q]
                pix[m] = np.int64(pr) * W + px
                for lay in range(L):
                    c = np.uint64(cnt_row[px, lay])
                    pcnt[m, lay] = c
                    if c > cmax[lay]:
                        cmax[lay] = c
                    if c > 0 and fixed[lay, 3] == 1:
                        for ch in range(3):
                            prgb[m, lay, ch] = fixed[lay, ch]
                    elif c > 0:
                        for ch in range(3):
                            s = np.uint64(sum_row[px, lay, ch])
                            quo = s // c
                            rem = s - quo * c
                            if 2 * rem > c or (2 * rem == c and quo % 2 == 1):
                                quo += 1  # round half to even, as np.rint
                            prgb[m, lay, ch] = quo
                    else:
                        prgb[m, lay, 0] = 0
                        prgb[m, lay, 1] = 0
                        prgb[m, lay, 2] = 0
                    cnt_row[px, lay] = 0
                    sum_row[px, lay, 0] = 0
                    sum_row[px, lay, 1] = 0
                    sum_row[px, lay, 2] = 0
                seen[px] = False
                m += 1
        k = k_end
    return m


@jit(nogil=True)
def _over(tr, tg, tb, ta, br, bg, bb, ba):
    """`composite_over` of one pixel (the same float32 arithmetic)."""
    at = np.float32(ta) / np.float32(255.0)
    ab = np.float32(ba) / np.float32(255.0)
    if at == 0:
        return br, bg, bb, ba
    if at == 1 or ab == 0:
        return tr, tg, tb, ta
    wb = ab * (np.float32(1.0) - at)
    a = at + wb
    r = np.int64((np.float32(tr) * at + np.float32(br) * wb) / a + np.float32(0.5))
    g = np.int64((np.float32(tg) * at + np.float32(bg) * wb) / a + np.float32(0.5))
    b = np.int64((np.float32(tb) * at + np.float32(bb) * wb) / a + np.float32(0.5))
    return r, g, b, np.int64(a * np.float32(255.0) + np.float32(0.5))


@jit(nogil=True)
def _finish_kernel(m, pix, pcnt, prgb, present, lut0, lut1, lut2, out):
    """Each touched pixel: every layer's colour and alpha, laid over each other
    (top over under, that over held), into the flat RGBA image."""
    for q in range(m):
        p = pix[q]
        r, g, b, a = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
        first = True
        for lay in range(3):
            if not present[lay]:
                continue
            c = pcnt[q, lay]
            if lay == 0:
                la = np.int64(lut0[c])
            elif lay == 1:
                la = np.int64(lut1[c])
            else:
                la = np.int64(lut2[c])
            lr, lg, lb = np.int64(prgb[q, lay, 0]), np.int64(prgb[q, lay, 1]), \
                np.int64(prgb[q, lay, 2])
            if c == 0:
                lr, lg, lb, la = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
            if first:
                r, g, b, a = lr, lg, lb, la
                first = False
            else:
                r, g, b, a = _over(r, g, b, a, lr, lg, lb, la)
        out[p, 0] = r
        out[p, 1] = g
        out[p, 2] = b
        out[p, 3] = a
    return 0


def _layer_luts(cmax, present, counts_scale, count_max, min_alpha, extra) -> list[np.ndarray]:
    luts = []
    for lay in range(N_LAYERS):
        if not present[lay]:
            luts.append(np.zeros(1, np.uint8))
            continue
        lut = alpha_lut(int(cmax[lay]), counts_scale, min_alpha, count_max)
        if extra[lay] is not None:
            lut = np.asarray(extra[lay], dtype=np.uint8)[lut]
        luts.append(np.ascontiguousarray(lut))
    return luts


def pyramid_image(pyr: DensityPyramid, rect: Rect, width: int, height: int, *,
                  counts_scale: str = "log", count_max: float | None = None,
                  min_alpha: float = DEFAULT_MIN_ALPHA, under_alpha=None, held_alpha=None,
                  held_colour=None, buffers: dict | None = None) -> np.ndarray | None:
    """The density image of every layer, composited, as today's density path draws it
    (module doc), from the bins in view; None when no level has bins as small as a pixel.

    ``under_alpha`` / ``held_alpha``: uint8[256] tables applied to the UNDER / HELD layers'
    alpha (the map's lighter grey and fainter held-back rows); ``held_colour``: the HELD
    layer's colour (RGB or RGBA) instead of its rows' palette colours. ``buffers``: a dict
    kept by the caller between redraws, so the scratch arrays are not allocated (and
    faulted in) on every redraw.
    """
    lvl = level_for(pyr, rect, width, height)
    if lvl is None:
        return None
    if counts_scale not in ("log", "sqrt", "linear"):
        raise ValueError(f"counts_scale must be 'log', 'sqrt' or 'linear', not {counts_scale!r}")
    level = pyr.levels[lvl]
    W, H = int(width), int(height)
    img = np.zeros((H, W, 4), np.uint8)
    span = _view_bins(pyr, level, rect, W, H)
    if span is None:
        return img
    br_lo, prow, bc_lo, bc_hi, pcol = span
    present = np.array(pyr.layers, dtype=np.bool_)
    extra = (None, under_alpha, held_alpha)
    fixed = np.zeros((N_LAYERS, 4), np.int64)  # per layer: RGB, and 1 to use it
    if held_colour is not None:
        fixed[HELD, :3] = rgba([held_colour])[0, :3]
        fixed[HELD, 3] = 1
    done = _image_numba(level, span, W, H, present, fixed, counts_scale, count_max, min_alpha,
                        extra, buffers if buffers is not None else {}, img)
    if not done:
        _image_numpy(level, span, W, H, present, fixed, counts_scale, count_max, min_alpha,
                     extra, img)
    return img


def _view_bins(pyr, level, rect, W, H):
    """The bin rows and columns that can be in view, and the pixel row / column of each
    (by its centre, as `_pixel` maps a point; -1 outside); None when no bin is."""
    x0, x1, y0, y1 = (float(v) for v in rect)
    b = level.bin
    bc_lo = max(int(math.floor((x0 - pyr.x0) / b)) - 1, 0)
    bc_hi = min(int(math.floor((x1 - pyr.x0) / b)) + 1, level.nx - 1)
    br_lo = max(int(math.floor((y0 - pyr.y0) / b)) - 1, 0)
    br_hi = min(int(math.floor((y1 - pyr.y0) / b)) + 1, level.ny - 1)
    if bc_lo > bc_hi or br_lo > br_hi:
        return None
    cx = pyr.x0 + (np.arange(bc_lo, bc_hi + 1, dtype=np.float64) + 0.5) * b
    cy = pyr.y0 + (np.arange(br_lo, br_hi + 1, dtype=np.float64) + 0.5) * b
    tx = (cx - x0) * (W / (x1 - x0))
    ty = (cy - y0) * (H / (y1 - y0))
    pcol = np.where((tx >= 0) & (tx < W), np.floor(np.clip(tx, 0, W - 1)), -1).astype(np.int64)
    prow = np.where((ty >= 0) & (ty < H), H - 1 - np.floor(np.clip(ty, 0, H - 1)), -1)
    return br_lo, prow.astype(np.int64), bc_lo, bc_hi, pcol


def _buffer(buffers: dict, name: str, shape: tuple, dtype) -> np.ndarray:
    """A scratch array from `buffers`, grown when too small (contents not cleared)."""
    need = int(np.prod(shape))
    got = buffers.get(name)
    if got is None or got.dtype != dtype or got.size < need:
        got = np.empty(need, dtype)
        buffers[name] = got
    return got[:need].reshape(shape)


def _image_numba(level, span, W, H, present, fixed, counts_scale, count_max, min_alpha, extra,
                 buffers, img) -> bool:
    br_lo, prow, bc_lo, bc_hi, pcol = span
    a, e = level.row_ptr[br_lo], level.row_ptr[br_lo + len(prow)]
    cap = int(min(e - a, W * H))
    sd = level.sums.dtype
    cnt_row = buffers.get(("cnt_row", W, sd))
    if cnt_row is None:  # kept zero by the kernel between calls
        buffers[("cnt_row", W, sd)] = cnt_row = (np.zeros((W, N_LAYERS), sd),
                                                 np.zeros((W, N_LAYERS, 3), sd),
                                                 np.zeros(W, np.bool_))
    pix = _buffer(buffers, "pix", (cap,), np.int64)
    pcnt = _buffer(buffers, "pcnt", (cap, N_LAYERS), np.uint32)
    prgb = _buffer(buffers, "prgb", (cap, N_LAYERS, 3), np.uint8)
    touched = _buffer(buffers, "touched", (W,), np.int64)
    cmax = np.zeros(N_LAYERS, np.uint64)
    m = run_kernel(_gather_kernel, level.row_ptr, level.cols, level.counts, level.sums, br_lo,
                   prow, bc_lo, bc_hi, pcol, W, fixed, *cnt_row, touched, pix, pcnt, prgb, cmax)
    if m is False:
        return False
    luts = _layer_luts(cmax, present, counts_scale, count_max, min_alpha, extra)
    run_kernel(_finish_kernel, m, pix, pcnt, prgb, present, *luts, img.reshape(-1, 4))
    return True


def _pixel_sums(level, span, W):
    """Numpy: (pixel, per-layer counts, per-layer RGB sums) of the bins in view."""
    br_lo, prow, bc_lo, bc_hi, pcol = span
    rows = np.arange(br_lo, br_lo + len(prow))
    pos = [np.arange(level.row_ptr[r], level.row_ptr[r + 1]) for r in rows if prow[r - br_lo] >= 0]
    pos = np.concatenate(pos) if pos else np.zeros(0, np.int64)
    entry_row = np.searchsorted(level.row_ptr, pos, side="right") - 1
    col = level.cols[pos].astype(np.int64)
    ok = (col >= bc_lo) & (col <= bc_hi)
    pos, entry_row, col = pos[ok], entry_row[ok], col[ok]
    pc = pcol[col - bc_lo]
    ok = pc >= 0
    pos, p = pos[ok], prow[entry_row[ok] - br_lo] * W + pc[ok]
    return p, level.counts[pos], level.sums[pos]


def _layer_image(p, cnt, sums, colour, W, H, counts_scale, count_max, min_alpha, extra):
    """One layer as `density_image` finishes it (numpy); `colour` fixes its RGB."""
    img = np.zeros((H, W, 4), np.uint8)
    P = W * H
    c = np.bincount(p, weights=cnt, minlength=P)
    nz = np.flatnonzero(c)
    if len(nz) == 0:
        return img
    flat = img.reshape(P, 4)
    cnz = c[nz]
    for ch in range(3):
        if colour is not None:
            flat[nz, ch] = colour[ch]
            continue
        s = np.bincount(p, weights=sums[:, ch].astype(np.float64), minlength=P)
        flat[nz, ch] = np.rint(s[nz] / cnz)
    alpha = count_alpha(cnz, count_max, counts_scale, min_alpha)
    flat[nz, 3] = alpha if extra is None else np.asarray(extra, np.uint8)[alpha]
    return img


def _image_numpy(level, span, W, H, present, fixed, counts_scale, count_max, min_alpha, extra, img):
    p, cnt, sums = _pixel_sums(level, span, W)
    out = None
    for lay in range(N_LAYERS):
        if not present[lay]:
            continue
        colour = fixed[lay, :3] if fixed[lay, 3] else None
        layer = _layer_image(p, cnt[:, lay].astype(np.float64), sums[:, lay], colour, W, H,
                             counts_scale, count_max, min_alpha, extra[lay])
        out = layer if out is None else composite_over(out, layer)
    if out is not None:
        img[...] = out

