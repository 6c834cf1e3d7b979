"""A multi-resolution density pyramid: the map's per-bin counts and colour sums, made once,
so a redraw after a zoom reads bins in view instead of points in view.

The per-point density path (`density_layers_image`: every layer in one pass over the points
in view) costs O(points in view) per redraw: 50-100 ms at 10M. The pyramid holds, for
square bins at levels 0 (one or two bins across the map) to `depth` (2**depth bins across),
each occupied bin's count and palette-colour sums per *layer*:

    0  the rows drawn in colour
    1  "under": grey categories ("(other)", "(missing)") drawn lighter under layer 0
    2  "held": rows the filter holds back, drawn faint under everything

A redraw picks the coarsest level whose bins are no wider than a pixel (`level_for`).
Bins wider than half a pixel are split by area over the pixels they overlap
(`pyramid_split`: no aliasing grid); finer ones (asked for with `bins_per_pixel`, or the
coarsest level of a far zoom-out) each go to the pixel its centre falls in (the transform
of the density module). Either way every pixel is finished as `density_image` does (mean
colour rounded half to even, alpha from the count through `count_alpha`, the max count
per layer and image), then the layers are laid over each other as `composite_over` does.
So when bins nest in pixels (a view aligned on bin edges, pixels 2**j bins wide) the
image equals today's exactly; elsewhere a point moves by at most half a bin, i.e. half a
pixel (and split bins spread over up to 2 x 2 pixels).

Bins are powers of two in data units, from an origin on the finest bins' grid, so bin
edges are exact in float64 and every level nests in the one below it. Levels are stored
sparse, as CSR over bin rows (occupied bins only), so memory follows the points, not
the area. When even the finest bin is wider than a pixel, `level_for` and
`pyramid_image` return None: the caller draws the points (few in view, by then).

Only the layers that hold rows are stored. numba kernels (one thread: on this shared
2-core machine a parallel redraw was slower, its threads waiting for a busy core) with
numpy fallbacks that give the same pyramid and image.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from explorer.compute import spatial
from explorer.compute.numba import jit
from explorer.compute.raster.blend import composite_over
from explorer.compute.raster.colours import rgba
from explorer.compute.raster.density import DEFAULT_MIN_ALPHA, alpha_lut, count_alpha
from explorer.compute.raster.density_finish import half_even, lay_under, store_pixel
from explorer.compute.raster.pyramid_split import (
    bins_in_view,
    scratch,
    split_image,
    split_span,
)
from explorer.compute.raster.view import Rect, View
from explorer.compute.spatial import GridIndex, run_kernel

TOP, UNDER, HELD = 0, 1, 2  # the layers, from the top down
N_LAYERS = 3
MIN_DEPTH, MAX_DEPTH = 8, 13  # 256 to 8192 bins across the map at the finest level
MAX_SPAN = 2.0**1000  # a wider map has no power-of-two bin covering it
BINS_PER_PIXEL = 1  # bins across a pixel wanted (level_for); under 2, bins are split by area


def default_depth(n: int) -> int:
    """Finest level for n points: about sqrt(n) bins across, twice that so a 4x zoom of
    the whole map in a 1200-pixel plot still has bins no wider than a pixel."""
    return int(min(max(math.ceil(math.log2(math.sqrt(max(n, 1)))) + 2, MIN_DEPTH), MAX_DEPTH))


@dataclass
class PyramidLevel:
    """One level: bins of `bin` data units, `nx` x `ny` of them from the pyramid's origin.
    Occupied bins in row-major order: bin row r holds entries row_ptr[r]:row_ptr[r + 1],
    at columns `cols` (ascending); per entry and stored layer a count and RGB sums."""

    bin: float
    nx: int
    ny: int
    row_ptr: np.ndarray  # int64 (ny + 1,)
    cols: np.ndarray  # int32 (m,)
    counts: np.ndarray  # uint32 (m, layers stored)
    sums: np.ndarray  # uint32, or uint64 past 2**32 / 255 points, (m, layers stored, 3)

    @property
    def nbytes(self) -> int:
        return self.row_ptr.nbytes + self.cols.nbytes + self.counts.nbytes + self.sums.nbytes


@dataclass
class DensityPyramid:
    """Per-bin counts and colour sums of the map's rows at every level (module doc)."""

    x0: float  # origin of every level's bins
    y0: float
    levels: list[PyramidLevel]  # levels[0] coarsest ... levels[-1] finest
    stored: tuple[int, ...]  # the layers (TOP, UNDER, HELD) holding rows: the columns kept
    points: int  # rows counted (finite, drawn)
    build_seconds: float = 0.0

    @property
    def layers(self) -> tuple[bool, bool, bool]:
        """Which of TOP, UNDER, HELD hold any row."""
        return tuple(lay in self.stored for lay in range(N_LAYERS))

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
    stored = tuple(int(v) for v in np.flatnonzero(np.bincount(layer[drawn], minlength=N_LAYERS)))
    column = np.full(N_LAYERS + 1, -1, np.int8)  # layer -> stored column; -1 stays -1
    column[list(stored)] = np.arange(len(stored))
    col_of = column[np.where(drawn, layer, N_LAYERS)]

    xmin, ymin, xmax, ymax = index.bounds
    span = max(xmax - xmin, ymax - ymin)
    if not span < MAX_SPAN:
        raise ValueError("the map's coordinates are too far apart to count into bins")
    bin0 = 2.0 ** math.ceil(math.log2(span)) if span > 0 else 1.0
    finest_bin = bin0 / 2**depth
    x0 = math.floor(xmin / finest_bin) * finest_bin
    y0 = math.floor(ymin / finest_bin) * finest_bin
    sum_dtype = np.uint32 if n * 255 < 2**32 else np.uint64
    pal_w = np.ascontiguousarray(pal[:, :3], dtype=sum_dtype)
    shapes = [(bin0 / 2**lvl, int((xmax - x0) // (bin0 / 2**lvl)) + 1,
               int((ymax - y0) // (bin0 / 2**lvl)) + 1) for lvl in range(depth + 1)]
    levels = [_finest_level(coords, code, col_of, len(stored), pal_w, x0, y0, *shapes[-1])]
    for b, nx, ny in reversed(shapes[:-1]):
        if state is not None:
            state.check()
        levels.append(_coarser(levels[-1], b, nx, ny))
    levels.reverse()
    return DensityPyramid(x0, y0, levels, stored, int(np.count_nonzero(drawn)),
                          time.perf_counter() - t0)


@jit(nogil=True)
def _bin_rows_kernel(coords, col_of, x0, y0, inv, nx, ny, row_count, bx, by):
    """Each drawn point's finest bin (column, row), and how many points each bin row gets."""
    for i in range(coords.shape[0]):
        if col_of[i] < 0:
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
def _fill_rows_kernel(by, col_of, row_start, perm):
    """Counting sort of the drawn points by bin row."""
    pos = row_start[:-1].copy()
    for i in range(by.shape[0]):
        if col_of[i] < 0:
            continue
        r = by[i]
        perm[pos[r]] = i
        pos[r] += 1
    return 0


@jit(nogil=True)
def _emit_row(t, touched, seen, cnt_row, sum_row, m, cols, counts, sums):
    """Write a bin row's touched bins (sorted by column) from the dense row, clearing it."""
    L = cnt_row.shape[1]
    tc = np.sort(touched[:t])
    for j in range(t):
        c = tc[j]
        cols[m] = c
        for lay in range(L):
            counts[m, lay] = cnt_row[c, lay]
            for ch in range(3):
                sums[m, lay, ch] = sum_row[c, lay, ch]
                sum_row[c, lay, ch] = 0
            cnt_row[c, lay] = 0
        seen[c] = False
        m += 1
    return m


@jit(nogil=True)
def _occupied_kernel(row_start, perm, bx, seen, touched):
    """How many finest bins hold a point: the room to make for them (no more, at 10M)."""
    m = 0
    for r in range(row_start.shape[0] - 1):
        t = 0
        for k in range(row_start[r], row_start[r + 1]):
            c = bx[perm[k]]
            if not seen[c]:
                seen[c] = True
                touched[t] = c
                t += 1
        for j in range(t):
            seen[touched[j]] = False
        m += t
    return m


@jit(nogil=True)
def _row_bins_kernel(row_start, perm, bx, code, col_of, pal, row_ptr, cols, counts, sums,
                     cnt_row, sum_row, seen, touched):
    """Per bin row, add its points into a dense row of bins, then emit the occupied ones
    in column order. Returns the number of occupied bins."""
    m = 0
    for r in range(row_start.shape[0] - 1):
        t = 0
        for k in range(row_start[r], row_start[r + 1]):
            i = perm[k]
            c = bx[i]
            lay = col_of[i]
            if not seen[c]:
                seen[c] = True
                touched[t] = c
                t += 1
            cnt_row[c, lay] += 1
            p = code[i]
            for ch in range(3):
                sum_row[c, lay, ch] += pal[p, ch]
        m = _emit_row(t, touched, seen, cnt_row, sum_row, m, cols, counts, sums)
        row_ptr[r + 1] = m
    return m


@jit(nogil=True)
def _add_bin(c, j, counts, sums, seen, touched, t, cnt_row, sum_row):
    """Add bin j's counts and colour sums into slot c of a row, noting c the first time;
    returns how many slots are noted."""
    if not seen[c]:
        seen[c] = True
        touched[t] = c
        t += 1
    for lay in range(counts.shape[1]):
        cnt_row[c, lay] += counts[j, lay]
        for ch in range(3):
            sum_row[c, lay, ch] += sums[j, lay, ch]
    return t


@jit(nogil=True)
def _coarser_kernel(f_ptr, f_cols, f_counts, f_sums, ny, row_ptr, cols, counts, sums,
                    cnt_row, sum_row, seen, touched):
    """Each coarse bin row: the sums of the 2 x 2 fine bins under each of its bins."""
    m = 0
    f_ny = f_ptr.shape[0] - 1
    for r in range(ny):
        t = 0
        for fr in range(2 * r, min(2 * r + 2, f_ny)):
            for j in range(f_ptr[fr], f_ptr[fr + 1]):
                t = _add_bin(f_cols[j] // 2, j, f_counts, f_sums, seen, touched, t,
                             cnt_row, sum_row)
        m = _emit_row(t, touched, seen, cnt_row, sum_row, m, cols, counts, sums)
        row_ptr[r + 1] = m
    return m


def _row_scratch(nx: int, L: int):
    """Dense row of bins (counts, sums), its seen marks and touched list: kept zero."""
    return (np.zeros((nx, L), np.uint64), np.zeros((nx, L, 3), np.uint64),
            np.zeros(nx, np.bool_), np.empty(nx, np.int64))


def _empty_level(ny, cap, L, sum_dtype):
    """row_ptr, and room for `cap` bins' columns, counts and sums."""
    return (np.zeros(ny + 1, np.int64), np.empty(cap, np.int32),
            np.empty((cap, L), np.uint32), np.empty((cap, L, 3), sum_dtype))


def _finest_level(coords, code, col_of, L, pal_w, x0, y0, b, nx, ny) -> PyramidLevel:
    n = len(coords)
    inv = 1.0 / b  # a power of two: exact
    sum_dtype = pal_w.dtype
    bx = np.zeros(n, np.int32)
    by = np.zeros(n, np.int32)
    row_start = np.zeros(ny + 1, np.int64)
    if run_kernel(_bin_rows_kernel, coords, col_of, x0, y0, inv, nx, ny, row_start, bx, by) \
            is not False:
        np.cumsum(row_start, out=row_start)
        perm = np.empty(int(row_start[-1]), np.int64)
        run_kernel(_fill_rows_kernel, by, col_of, row_start, perm)
        scratch = _row_scratch(nx, L)
        cap = run_kernel(_occupied_kernel, row_start, perm, bx, scratch[2], scratch[3])
        out = _empty_level(ny, cap, L, sum_dtype)
        run_kernel(_row_bins_kernel, row_start, perm, bx, np.ascontiguousarray(code, np.int64),
                   col_of, pal_w, *out, *scratch)
        return PyramidLevel(b, nx, ny, *out)
    keep = np.flatnonzero(col_of >= 0)
    xy = coords[keep].astype(np.float64)
    c = np.clip(np.floor((xy[:, 0] - x0) * inv), 0, nx - 1).astype(np.int64)
    r = np.clip(np.floor((xy[:, 1] - y0) * inv), 0, ny - 1).astype(np.int64)
    key = r * nx + c
    bins, where = np.unique(key, return_inverse=True)
    slot = where * L + col_of[keep]
    size = len(bins) * L
    counts = np.bincount(slot, minlength=size).astype(np.uint32).reshape(len(bins), L)
    sums = np.empty((len(bins), L, 3), sum_dtype)
    colour = pal_w[code[keep].astype(np.int64)].astype(np.float64)
    for ch in range(3):  # float64 sums are exact below 2**53
        sums[:, :, ch] = np.rint(np.bincount(slot, weights=colour[:, ch],
                                             minlength=size)).reshape(len(bins), L)
    row_ptr = np.searchsorted(bins // nx, np.arange(ny + 1)).astype(np.int64)
    return PyramidLevel(b, nx, ny, row_ptr, (bins % nx).astype(np.int32), counts, sums)


def _coarser(fine: PyramidLevel, b: float, nx: int, ny: int) -> PyramidLevel:
    """The level above `fine`: each bin the sum of the 2 x 2 bins under it."""
    L = fine.counts.shape[1]
    sum_dtype = fine.sums.dtype
    out = _empty_level(ny, len(fine.cols), L, sum_dtype)
    m = run_kernel(_coarser_kernel, fine.row_ptr, fine.cols, fine.counts, fine.sums, ny, *out,
                   *_row_scratch(nx, L))
    if m is not False:
        return PyramidLevel(b, nx, ny, out[0], out[1][:m].copy(), out[2][:m].copy(),
                            out[3][:m].copy())
    rows = np.repeat(np.arange(fine.ny, dtype=np.int64), np.diff(fine.row_ptr))
    key = (rows // 2) * nx + fine.cols.astype(np.int64) // 2
    bins, where = np.unique(key, return_inverse=True)
    counts = np.zeros((len(bins), L), np.uint32)
    sums = np.zeros((len(bins), L, 3), sum_dtype)
    np.add.at(counts, where, fine.counts)
    np.add.at(sums, where, fine.sums)
    row_ptr = np.searchsorted(bins // nx, np.arange(ny + 1)).astype(np.int64)
    return PyramidLevel(b, nx, ny, row_ptr, (bins % nx).astype(np.int32), counts, sums)


def level_for(pyr: DensityPyramid, rect: Rect, width: int, height: int, *,
              bins_per_pixel: int = BINS_PER_PIXEL) -> int | None:
    """The coarsest level with `bins_per_pixel` bins or more across a pixel (the smaller of
    its sides); failing that, the coarsest with bins no wider than a pixel; None when even
    the finest bins are wider: then the points are few enough to draw.

    Given whole to the pixel of their centre, bins alias: at one to two a pixel, a pixel
    column gets one or two bin columns, a grid over every dense area; at two to four the
    same beat, fainter but still plain on a whole map of 1M points. So the default is one
    bin a pixel (four times fewer bins to read than two) with each bin split by area over
    the pixels it overlaps (`pyramid_split`), which draws no grid.
    """
    x0, x1, y0, y1 = (float(v) for v in rect)
    View(rect, width, height, np.float64)  # the same checks as every renderer
    px = min((x1 - x0) / int(width), (y1 - y0) / int(height))
    for per_pixel in dict.fromkeys((max(int(bins_per_pixel), 1), 1)):
        for lvl, level in enumerate(pyr.levels):
            if level.bin * per_pixel <= px * (1.0 + 1e-12):
                return lvl
    return None


@jit(nogil=True)
def _gather_kernel(row_ptr, cols, counts, sums, br_lo, prow, bc_lo, bc_hi, pcol, W, fixed,
                   cr, sr, seen, touched, pix, pcnt, prgb, cmax):
    """Add the bins in view into their pixels, pixel row by pixel row, and write each
    touched pixel once: its index, per-layer counts and rounded mean colours (or the
    layer's `fixed` colour); cmax gets each layer's largest count. `prow` (per bin row
    from br_lo, -1 outside) never increases with the bin row, so the bin rows of one
    pixel row are consecutive. Returns the number of pixels written."""
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
                        t = _add_bin(px, j, counts, sums, seen, touched, t, cr, sr)
                    j += 1
            for q in range(t):
                px = touched[q]
                pix[m] = np.int64(pr) * W + px
                for lay in range(L):
                    c = cr[px, lay]
                    pcnt[m, lay] = c
                    cmax[lay] = max(cmax[lay], c)
                    for ch in range(3):
                        if c == 0:
                            prgb[m, lay, ch] = 0
                        elif fixed[lay, 3] == 1:
                            prgb[m, lay, ch] = fixed[lay, ch]
                        else:  # float64, rounded half to even: density_image's np.rint
                            prgb[m, lay, ch] = half_even(np.float64(sr[px, lay, ch])
                                                         / np.float64(c))
                        sr[px, lay, ch] = 0
                    cr[px, lay] = 0
                seen[px] = False
                m += 1
        k = k_end
    return m


@jit(nogil=True)
def _finish_kernel(m, pix, pcnt, prgb, luts, out):
    """Each touched pixel: every stored layer's colour and alpha (luts[layer][count]),
    laid over each other from the top down, into the flat RGBA image."""
    L = pcnt.shape[1]
    for q in range(m):
        p = pix[q]
        r, g, b, a = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
        for lay in range(L):
            c = pcnt[q, lay]
            lr, lg, lb, la = np.int64(0), np.int64(0), np.int64(0), np.int64(0)
            if c > 0:
                lr, lg, lb = np.int64(prgb[q, lay, 0]), np.int64(prgb[q, lay, 1]), \
                    np.int64(prgb[q, lay, 2])
                la = np.int64(luts[lay, c])
            r, g, b, a = lay_under(lay, r, g, b, a, lr, lg, lb, la)
        store_pixel(out, p, r, g, b, a)
    return 0


def pyramid_image(pyr: DensityPyramid, rect: Rect, width: int, height: int, *,
                  counts_scale: str = "log", count_max: float | None = None,
                  min_alpha: float = DEFAULT_MIN_ALPHA, under_alpha=None, held_alpha=None,
                  held_colour=None, bins_per_pixel: int = BINS_PER_PIXEL,
                  buffers: dict | None = None, max_bins: int | None = None) -> np.ndarray | None:
    """The density image of every layer, composited, as today's density path draws it
    (module doc), from the bins in view; None when no level has bins as small as a pixel.

    ``under_alpha`` / ``held_alpha``: uint8[256] tables applied to the UNDER / HELD layers'
    alpha (the map's lighter grey and fainter held-back rows); ``held_colour``: the HELD
    layer's colour (RGB or RGBA) instead of its rows' palette colours. ``buffers``: a dict
    kept by the caller between redraws, so the scratch arrays are not allocated (and
    faulted in) on every redraw. ``max_bins``: None too when the bin rows in view hold
    more bins than that (drawing the points is then as quick).
    """
    if counts_scale not in ("log", "sqrt", "linear"):
        raise ValueError(f"counts_scale must be 'log', 'sqrt' or 'linear', not {counts_scale!r}")
    lvl = level_for(pyr, rect, width, height, bins_per_pixel=bins_per_pixel)
    if lvl is None:
        return None
    level = pyr.levels[lvl]
    W, H = int(width), int(height)
    x0, x1, y0, y1 = (float(v) for v in rect)
    if max_bins is not None and bins_in_view(pyr.x0, pyr.y0, level, rect) > max_bins:
        return None
    img = np.zeros((H, W, 4), np.uint8)
    split = level.bin * 2 > min((x1 - x0) / W, (y1 - y0) / H)  # under 2 bins a pixel
    span = split_span(pyr.x0, pyr.y0, level, rect, W, H) if split \
        else _view_bins(pyr, level, rect, W, H)
    if span is None or not pyr.stored:
        return img
    extra = {UNDER: under_alpha, HELD: held_alpha}
    tables = [extra.get(lay) for lay in pyr.stored]
    fixed = np.zeros((len(pyr.stored), 4), np.int64)  # per stored layer: RGB, 1 to use it
    if held_colour is not None and HELD in pyr.stored:
        fixed[pyr.stored.index(HELD), :3] = rgba([held_colour])[0, :3]
        fixed[pyr.stored.index(HELD), 3] = 1
    finish = (counts_scale, count_max, min_alpha, tables)
    if split:
        split_image(level, span, W, H, fixed, finish, buffers if buffers is not None else {}, img)
        return img
    if not _image_numba(level, span, W, H, fixed, finish,
                        buffers if buffers is not None else {}, img):
        _image_numpy(level, span, W, H, fixed, finish, img)
    return img


def _view_bins(pyr, level, rect, W, H):
    """The bin rows and columns that can be in view, and the pixel row / column of each
    (by its centre, as `_pixel` maps a point; -1 outside); None when no bin is."""
    x0, x1, y0, y1 = (float(v) for v in rect)
    b = level.bin
    bc_lo = max(math.floor((x0 - pyr.x0) / b) - 1, 0)
    bc_hi = min(math.floor((x1 - pyr.x0) / b) + 1, level.nx - 1)
    br_lo = max(math.floor((y0 - pyr.y0) / b) - 1, 0)
    br_hi = min(math.floor((y1 - pyr.y0) / b) + 1, level.ny - 1)
    if bc_lo > bc_hi or br_lo > br_hi:
        return None
    cx = pyr.x0 + (np.arange(bc_lo, bc_hi + 1, dtype=np.float64) + 0.5) * b
    cy = pyr.y0 + (np.arange(br_lo, br_hi + 1, dtype=np.float64) + 0.5) * b
    tx = (cx - x0) * (W / (x1 - x0))
    ty = (cy - y0) * (H / (y1 - y0))
    pcol = np.where((tx >= 0) & (tx < W), np.floor(np.clip(tx, 0, W - 1)), -1).astype(np.int64)
    prow = np.where((ty >= 0) & (ty < H), H - 1 - np.floor(np.clip(ty, 0, H - 1)), -1)
    return br_lo, prow.astype(np.int64), bc_lo, bc_hi, pcol


def _image_numba(level, span, W, H, fixed, finish, buffers, img) -> bool:
    br_lo, prow, bc_lo, bc_hi, pcol = span
    L = level.counts.shape[1]
    # a touched pixel holds at least one bin: the bins in the rows in view bound them
    cap = max(int(level.row_ptr[br_lo + len(prow)] - level.row_ptr[br_lo]), 1)
    cnt_row = scratch(buffers, "cnt_row", (W, L), np.uint64, zero=True)
    sum_row = scratch(buffers, "sum_row", (W, L, 3), np.uint64, zero=True)
    seen = scratch(buffers, "seen", (W,), np.bool_, zero=True)
    touched = scratch(buffers, "touched", (W,), np.int64)
    pix = scratch(buffers, "pix", (cap,), np.int64)
    pcnt = scratch(buffers, "pcnt", (cap, L), np.uint64)
    prgb = scratch(buffers, "prgb", (cap, L, 3), np.uint8)
    cmax = np.zeros(L, np.uint64)
    m = run_kernel(_gather_kernel, level.row_ptr, level.cols, level.counts, level.sums, br_lo,
                   prow, bc_lo, bc_hi, pcol, W, fixed, cnt_row, sum_row, seen, touched, pix,
                   pcnt, prgb, cmax)
    if m is False:
        return False
    luts = _luts(cmax, *finish)
    return run_kernel(_finish_kernel, m, pix, pcnt, prgb, luts, img.reshape(-1, 4)) is not False


def _luts(cmax, counts_scale, count_max, min_alpha, tables) -> np.ndarray:
    """(stored layers, max count + 1) uint8: each layer's alpha by count."""
    top = int(max(cmax)) if len(cmax) else 0
    luts = np.zeros((len(tables), top + 1), np.uint8)
    for lay, table in enumerate(tables):
        lut = alpha_lut(int(cmax[lay]), counts_scale, min_alpha, count_max)
        luts[lay, :len(lut)] = lut if table is None else np.asarray(table, np.uint8)[lut]
    return luts


def pyramid_counts(pyr: DensityPyramid, rect: Rect, width: int, height: int, *,
                   bins_per_pixel: int = BINS_PER_PIXEL) -> np.ndarray | None:
    """(N_LAYERS, height, width) uint32 counts per pixel and layer, as `pyramid_image` adds
    them (`density_counts` per layer); None when no level has bins as small as a pixel."""
    lvl = level_for(pyr, rect, width, height, bins_per_pixel=bins_per_pixel)
    if lvl is None:
        return None
    W, H = int(width), int(height)
    out = np.zeros((N_LAYERS, H * W), np.uint32)
    level = pyr.levels[lvl]
    span = _view_bins(pyr, level, rect, W, H)
    if span is not None:
        p, cnt, _sums = _pixel_sums(level, span, W)
        for col, lay in enumerate(pyr.stored):
            out[lay] = np.bincount(p, weights=cnt[:, col], minlength=H * W)
    return out.reshape(N_LAYERS, H, W)


def _pixel_sums(level, span, W):
    """Numpy: (pixel, per-layer counts, per-layer RGB sums) of the bins in view."""
    br_lo, prow, bc_lo, bc_hi, pcol = span
    rows = np.flatnonzero(prow >= 0) + br_lo
    starts, stops = level.row_ptr[rows], level.row_ptr[rows + 1]
    pos = spatial.spans_to_positions(starts, stops)
    entry_row = np.repeat(rows, stops - starts)
    col = level.cols[pos].astype(np.int64)
    ok = (col >= bc_lo) & (col <= bc_hi)
    pos, entry_row, col = pos[ok], entry_row[ok], col[ok]
    pc = pcol[col - bc_lo]
    ok = pc >= 0
    pos, p = pos[ok], prow[entry_row[ok] - br_lo] * W + pc[ok]
    return p, level.counts[pos], level.sums[pos]


def _layer_image(p, cnt, sums, colour, W, H, counts_scale, count_max, min_alpha, table):
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
    flat[nz, 3] = alpha if table is None else np.asarray(table, np.uint8)[alpha]
    return img


def _image_numpy(level, span, W, H, fixed, finish, img):
    counts_scale, count_max, min_alpha, tables = finish
    p, cnt, sums = _pixel_sums(level, span, W)
    out = None
    for col, table in enumerate(tables):
        colour = fixed[col, :3] if fixed[col, 3] else None
        layer = _layer_image(p, cnt[:, col].astype(np.float64), sums[:, col], colour, W, H,
                             counts_scale, count_max, min_alpha, table)
        out = layer if out is None else composite_over(out, layer)
    img[...] = out


def warm() -> None:
    """Compile (or load) every kernel signature here and in `pyramid_split` with tiny calls,
    for the warm-up: float32 and float64 coordinates, one and three stored layers, uint32
    and uint64 sums (the latter past 2**32 / 255 points), bins split by area and not, and
    the count of bins in view."""
    rng = np.random.default_rng(0)
    pal = np.array([(200, 30, 30, 255), (150, 150, 150, 255)], np.uint8)
    for dtype in (np.float32, np.float64):
        index = GridIndex(rng.normal(size=(64, 2)).astype(dtype))
        for layers in (np.zeros(64, np.int8), np.arange(64, dtype=np.int8) % N_LAYERS):
            pyr = build_pyramid(index, np.arange(64) % 2, layers, pal, depth=3)
            for size in (4, 2):  # bins split by area (a pixel a bin), and not (two)
                pyramid_image(pyr, (-2.0, 2.0, -2.0, 2.0), size, size, held_colour=(1, 2, 3))
    col_of = np.zeros(64, np.int8)
    wide = _finest_level(index.sorted_coords, np.zeros(64, np.int64), col_of, 1,
                         pal[:, :3].astype(np.uint64), -4.0, -4.0, 1.0, 8, 8)
    level = _coarser(wide, 2.0, 4, 4)
    pyr = DensityPyramid(-4.0, -4.0, [level, wide], (TOP,), 64)
    pyramid_image(pyr, (-4.0, 4.0, -4.0, 4.0), 8, 8)
    pyramid_image(pyr, (-4.0, 4.0, -4.0, 4.0), 4, 4)
    pyramid_image(pyr, (-4.0, 4.0, -4.0, 4.0), 4, 4, max_bins=64)  # bins_in_view
