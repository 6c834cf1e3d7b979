"""Every density layer of the map in one pass over the points, finished only where drawn.

Why: the map's density image is up to three layers (the categories, "(other)" drawn lighter
under them, the rows the filter holds back fainter under both). Drawn one `density_image`
at a time, each layer read every point in view and finished the whole image (1.5x the plot
each way), then was laid over the others: at 1M points in view ~6.5 ms a pass over the
points and ~6.5 a pass over the image (CPU time), 43 ms for the three. Here each point is
read once: its *slot* (a small integer per point) gives its colour and its layer, and it is
added into that layer's sums of its pixel. The index gives the points by cell row, bottom
up, so the sums live in a window of a few pixel rows (a ring buffer that stays in cache,
`row_segments` says which rows a cell row can reach); a row the cell rows still to come
cannot reach is written out as its touched pixels only (counts and rounded mean colours).
Once every layer's largest count is known, those pixels are finished: each layer's alpha
exactly as `density_finish` computes it (a `count_alpha` table over the layer's own largest
count, then the layer's alpha table), the layers laid over each other in the order and way
(`steps`: WRITE, then OVER or UNDER) the separate images were laid, with the same float32
arithmetic. So the image is the separate passes', bit for bit; the rest stays transparent.

With many points in view the image's pixel rows are cut into `bands` (one a core, up to
BANDS), each drawn and finished in its own thread: a pixel is in one band and gets all its
points there, so the bands' pixels are the one image's. On a 2-core machine with a core
free: 1M categories centre 2x, 7.7 -> 4.5 ms; busy, no quicker than one band.

numba only: when it cannot run (not compiled yet on a first launch, turned off), a cell row
spans more than MAX_RING pixel rows, or a pixel holds more points than the alpha tables
cover, `density_layers_image` returns None and the caller draws the layers one
`density_image` at a time (which has the numpy paths).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.raster.colours import rgba
from explorer.compute.raster.density import DEFAULT_MIN_ALPHA, alpha_lut
from explorer.compute.raster.density_finish import (
    MAX_LUT,
    OVER,
    UNDER,
    WRITE,
    half_even,
    over_pixel,
    store_pixel,
)
from explorer.compute.raster.view import Rect, View, visible_mask
from explorer.compute.spatial import GridIndex, run_kernel

EDGE_ROWS = 2  # pixel rows a cell row's points may stray past its edges (float32 rounding)
MAX_RING = 256  # pixel rows open at once; more (a cell row taller than that): None
CHUNK = 2048  # points placed at once (`_place`): their codes stay in the L1 cache
MAX_LAYERS = 3  # the map's: the categories, "(other)" under them, the held-back rows
BANDS = min(os.cpu_count() or 1, 4)  # bands of pixel rows drawn at once, a thread each,
BAND_POINTS = 250_000  # when the points in view hold this many a band
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()  # and the planar copies'
_PLANAR: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # index -> `planar`


@dataclass(frozen=True)
class LayerPlan:
    """How slots become layers, and how the layers are laid.

    ``slot_layer[s]``: the layer of slot s (0 .. layers - 1), or -1 (not drawn);
    ``palette[s]``: its colour (RGB or RGBA); ``tables[layer]``: that layer's alpha table
    (uint8[256]) or None; ``steps``: (layer, WRITE | OVER | UNDER) in the order the
    separate images were laid, WRITE first (`density_image`'s below / above); 1 to
    MAX_LAYERS layers (the finish is unrolled for them).
    """

    slot_layer: np.ndarray
    palette: np.ndarray
    tables: Sequence[np.ndarray | None]
    steps: Sequence[tuple[int, int]]

    def __post_init__(self) -> None:
        layers = len(self.tables)
        if not 1 <= layers <= MAX_LAYERS:
            raise ValueError(f"a plan has 1 to {MAX_LAYERS} layers")
        if len(self.slot_layer) != len(self.palette):
            raise ValueError("slot_layer and palette need one entry per slot")
        if len(self.slot_layer) and (self.slot_layer.min() < -1
                                     or self.slot_layer.max() >= layers):
            raise ValueError(f"slot layers are -1 to {layers - 1}")
        if not self.steps or self.steps[0][1] != WRITE \
                or any(mode not in (OVER, UNDER) for _lay, mode in self.steps[1:]) \
                or sorted(lay for lay, _mode in self.steps) != list(range(layers)):
            raise ValueError("steps lay every layer once, the first written")


def map_plan(palette, visible, grey, *, under_table=None, held_colour=None,
             held_table=None) -> LayerPlan:
    """The map's layers as `render_layers` lays them: the shown categories; when any
    category is `grey`, the shown grey ones written first (alpha by `under_table`) and the
    others over them; with `held_colour`, one more slot (len(palette)) for the rows the
    filter holds back, in that colour under everything (alpha by `held_table`)."""
    pal = rgba(palette)
    k = len(pal)
    shown = visible_mask(visible, k)
    grey = np.asarray(grey, bool)
    grey = np.concatenate([grey, np.zeros(max(k - len(grey), 0), bool)])[:k]
    slot_layer = np.where(shown, 0, -1)
    tables: list[np.ndarray | None] = [None]
    steps = [(0, WRITE)]
    if grey.any():
        slot_layer[shown & grey] = 1
        tables.append(under_table)
        steps = [(1, WRITE), (0, OVER)]
    if held_colour is not None:
        slot_layer = np.append(slot_layer, len(tables))
        steps.append((len(tables), UNDER))
        tables.append(held_table)
        pal = np.concatenate([pal, rgba([held_colour])])
    return LayerPlan(slot_layer, pal, tables, steps)


def row_segments(index: GridIndex, rect: Rect, width: int, height: int):
    """The index's cell rows that can hold a point in view, in the index's order: each one's
    (first, end) positions in its sorted order, and the pixel rows (counted from the bottom)
    its points and those of every later row can fall in, no lower than `floors` (a row
    taken off, for the float32 transform) and, up to it, no higher than `ceils`; None when
    no cell row is in view."""
    x0, x1, y0, y1 = (float(v) for v in rect)
    if index.n_finite == 0 or index.sx == 0.0 or index.sy == 0.0:
        return None
    ca = max(math.floor((x0 - index.xmin) * index.sx) - 1, 0)
    cb = min(math.floor((x1 - index.xmin) * index.sx) + 1, index.nx - 1)
    ra = max(math.floor((y0 - index.ymin) * index.sy) - 1, 0)
    rb = min(math.floor((y1 - index.ymin) * index.sy) + 1, index.ny - 1)
    if ca > cb or ra > rb:
        return None
    rows = np.arange(ra, rb + 1, dtype=np.int64)
    first = index.starts[rows * index.nx + ca].astype(np.int64)
    end = index.starts[rows * index.nx + cb + 1].astype(np.int64)
    scale = int(height) / (y1 - y0)
    edge = (index.ymin + np.arange(ra, rb + 2, dtype=np.float64) / index.sy - y0) * scale
    floors = np.floor(edge[:-1]).astype(np.int64) - EDGE_ROWS
    ceils = np.floor(edge[1:]).astype(np.int64) + EDGE_ROWS
    floors = np.minimum.accumulate(floors[::-1])[::-1]  # a bound for every later row too
    return first, end, np.clip(floors, 0, int(height)), np.clip(ceils, -1, int(height) - 1)


def ring_rows(floors: np.ndarray, ceils: np.ndarray) -> int:
    """Pixel rows the window must hold open at once (a power of two)."""
    need = int(np.max(np.maximum.accumulate(ceils) - floors + 1, initial=1))
    return 1 << max(need - 1, 0).bit_length()


@jit(nogil=True)
def _emit_row(row, W, H, win, occ, ring, found, pix, pcnt, prgb, m, most, fixed):
    """Pixel row `row` (from the bottom) of the window: each pixel that got a point, its
    flat index, per-layer counts and rounded mean colours (`density_image`'s np.rint),
    written at m on; the row left zero. Returns the new m. The pixels with points are
    listed in `found` first, without a branch, from `occ` (a byte a pixel, set to 1 by
    each point: a store, no load): reading the layers' counts instead read 16 bytes a
    pixel and layer (1M mixed centre 2x, 16.4 -> 14.9 ms CPU); noting each pixel as it was
    first hit cost more (1.3x at 7M points)."""
    L = most.shape[0]
    s = row & (ring - 1)
    o = s * W
    t = 0
    for px in range(W):
        found[t] = px
        t += occ[o + px]
        occ[o + px] = 0
    for f in range(t):
        px = found[f]
        base = (s * W + px) * L
        pix[m] = (H - 1 - row) * W + px
        for lay in range(L):  # no branch on an empty layer (sums 0, colour 0): which
            q = base + lay  # layers a pixel holds is random under a filter
            c = np.int64(win[q, 3])
            pcnt[m, lay] = c
            most[lay] = max(most[lay], c)
            if fixed[lay, 3]:  # one colour (`one_colour`): the same branch every pixel
                for ch in range(3):  # for a layer, predicted; a third of the divisions
                    prgb[m, lay, ch] = fixed[lay, ch]  # in mixed (1M centre 2x, -9%)
                    win[q, ch] = 0
            else:
                fc = np.float64(max(c, 1))
                for ch in range(3):
                    prgb[m, lay, ch] = half_even(np.float64(win[q, ch]) / fc)
                    win[q, ch] = 0
            win[q, 3] = 0
        m += 1
    return m


@jit(nogil=True, inline="always")
def _pixel_code(x, y, ox, sx, offx, oy, sy, offy, Wf, Hlo, Hhi, W, low, ring):
    """A point's place in the window: its offset there (pixel row in the ring, column), -1
    out of view, -2 in view but outside the window's rows; and its pixel row (-1 unless
    in the window). The same float arithmetic as `View`, without a branch."""
    tx = (x - ox) * sx + offx
    ty = (y - oy) * sy + offy
    inside = (tx >= 0) & (tx < Wf) & (ty >= Hlo) & (ty < Hhi)
    row = np.int32(ty)
    held = inside & (row >= low) & (row < low + ring)
    code = (row & (ring - 1)) * W + np.int32(tx)
    code = code if held else np.int32(-2)
    return (code if inside else np.int32(-1)), (row if held else np.int32(-1))


@jit(nogil=True)
def _place(coords, xy, a, b, ox, sx, offx, oy, sy, offy, Wf, Hlo, Hhi, W, low, ring, codes):
    """`_pixel_code` of points a .. b into codes[0 : b - a]; returns the highest row in
    the window. float32 coordinates come as `planar` rows (all x, then all y): the loop
    then runs 8 or 16 points an instruction (numba's LLVM does not vectorize the (n, 2)
    array's strided loads), 3-5x quicker than a point at a time, and 1.5x quicker than
    each point's x and y read as one uint64 (10M categories centre 3x, 37.5 -> 33 ms CPU
    in all); float64 ones come as they are."""
    high = np.int32(-1)
    if xy.shape[1]:
        for i in range(a, b):
            x = xy[0, i]
            y = xy[1, i]
            code, row = _pixel_code(x, y, ox, sx, offx, oy, sy, offy, Wf, Hlo, Hhi, W, low,
                                    ring)
            codes[i - a] = code
            high = max(high, row)
    else:
        for i in range(a, b):
            code, row = _pixel_code(coords[i, 0], coords[i, 1], ox, sx, offx, oy, sy, offy,
                                    Wf, Hlo, Hhi, W, low, ring)
            codes[i - a] = code
            high = max(high, row)
    return high


@jit(nogil=True)
def _gather_layers_kernel(coords, xy, first, end, floors, lo, hi, slots, slot_layer, pal,
                          ox, sx, offx, oy, sy, offy, W, H, win, ring, fixed, pix, pcnt, prgb,
                          cmax, bad):
    """Add each drawn point's colour and 1 into its layer's sums of its pixel, for the
    points in pixel rows lo .. hi - 1 (a band, `bands`), in a window of `ring` pixel rows
    (a ring buffer, `win` row-major with the layers innermost); a row is written out
    (`_emit_row`) once the cell rows still to come cannot reach it. The points' places
    are worked out CHUNK at a time without a branch (`_place`), then added one by one:
    10M centre 3x, 7.1M points, 47 -> 34 ms CPU (categories).
    bad[0] gets the slots past the plan's, bad[1] the points outside the window (none
    when the floors hold). Returns the number of pixels written."""
    S = slot_layer.shape[0]
    L = cmax.shape[0]
    most = np.zeros(L, np.int64)  # in registers, not a store a pixel
    found = np.empty(W, np.int64)
    codes = np.empty(CHUNK, np.int32)
    Wf = coords.dtype.type(W)
    Hlo = coords.dtype.type(lo)
    Hhi = coords.dtype.type(hi)
    W32 = np.int32(W)
    ring32 = np.int32(ring)
    past = 0
    outside = 0
    occ = np.zeros(ring * W, np.uint8)
    m = 0
    low = np.int64(0)  # the lowest row still open
    high = np.int64(-1)  # the highest row holding a point (drawn or not: rows between
    # are written out empty)
    for j in range(first.shape[0]):
        f = floors[j]
        if low > high:
            low = max(low, f)
        while low < f:
            m = _emit_row(low, W, H, win, occ, ring, found, pix, pcnt, prgb, m, most, fixed)
            low += 1
        for a in range(first[j], end[j], CHUNK):
            b = min(a + CHUNK, end[j])
            top = _place(coords, xy, a, b, ox, sx, offx, oy, sy, offy, Wf, Hlo, Hhi, W32,
                         np.int32(low), ring32, codes)
            high = max(high, np.int64(top))
            for i in range(a, b):
                k = np.int64(slots[i])
                if k < 0:
                    continue
                if k >= S:
                    past += 1
                    continue
                lay = slot_layer[k]
                if lay < 0:
                    continue
                p = np.int64(codes[i - a])
                if p < 0:
                    outside += p == -2
                    continue
                occ[p] = 1
                q = p * L + lay
                win[q, 0] += pal[k, 0]
                win[q, 1] += pal[k, 1]
                win[q, 2] += pal[k, 2]
                win[q, 3] += 1
    while low <= high:
        m = _emit_row(low, W, H, win, occ, ring, found, pix, pcnt, prgb, m, most, fixed)
        low += 1
    for lay in range(L):
        cmax[lay] = max(cmax[lay], most[lay])
    bad[0] += past
    bad[1] += outside
    return m


@jit(nogil=True, inline="always")  # a call a layer and pixel cost 2.5x the finish
def _layer_pixel(pcnt, prgb, luts, j, lay):
    """Written pixel j's colour and alpha in layer `lay`, and whether the layer holds any
    of its points."""
    c = np.int64(pcnt[j, lay])
    if c == 0:
        return np.int64(0), np.int64(0), np.int64(0), np.int64(0), False
    return (np.int64(prgb[j, lay, 0]), np.int64(prgb[j, lay, 1]), np.int64(prgb[j, lay, 2]),
            np.int64(luts[lay, c]), True)


@jit(nogil=True, inline="always")
def _lay_step(r, g, b, a, pcnt, prgb, luts, j, lay, mode):
    """The pixel (r, g, b, a) with layer `lay` laid OVER or UNDER it; where the layer is
    empty, as laying a transparent image does (under: an alpha-0 pixel turns 0)."""
    lr, lg, lb, la, here = _layer_pixel(pcnt, prgb, luts, j, lay)
    if not here:
        if mode == UNDER and a == 0:
            return np.int64(0), np.int64(0), np.int64(0), np.int64(0)
        return r, g, b, a
    if mode == OVER:
        return over_pixel(lr, lg, lb, la, r, g, b, a)
    return over_pixel(r, g, b, a, lr, lg, lb, la)


@jit(nogil=True)
def _finish_layers_kernel(m, pix, pcnt, prgb, luts, step_layer, step_mode, out):
    """Each written pixel: its layers' colours and alphas (luts[layer][count]) laid as the
    steps say (`density_finish`'s arithmetic), into the flat RGBA `out`. The (at most
    MAX_LAYERS) steps are unrolled, not looped: 1.5-2x quicker (10M mixed centre 3x,
    1.04M pixels: 16.3 -> 10.9 ms CPU; 1M filter centre 2x 5.2 -> 3.5)."""
    n = step_layer.shape[0]
    l0 = step_layer[0]
    l1 = step_layer[1] if n > 1 else -1
    m1 = step_mode[1] if n > 1 else -1
    l2 = step_layer[2] if n > 2 else -1
    m2 = step_mode[2] if n > 2 else -1
    for j in range(m):
        r, g, b, a, _here = _layer_pixel(pcnt, prgb, luts, j, l0)
        if l1 >= 0:
            r, g, b, a = _lay_step(r, g, b, a, pcnt, prgb, luts, j, l1, m1)
        if l2 >= 0:
            r, g, b, a = _lay_step(r, g, b, a, pcnt, prgb, luts, j, l2, m2)
        store_pixel(out, pix[j], r, g, b, a)
    return 0


def density_layers_image(index: GridIndex, rect: Rect, width: int, height: int,
                         slots: np.ndarray, plan: LayerPlan, *, counts_scale: str = "log",
                         min_alpha: float = DEFAULT_MIN_ALPHA) -> np.ndarray | None:
    """The (height, width, 4) image of every layer of `plan`, each of the index's points
    drawn in the layer and colour of its slot (``slots``: an integer per point in the
    index's order, ``index.to_sorted``; negative: not drawn; past the plan's slots:
    ValueError, as a category code past the palette); None when numba cannot draw it
    (module doc)."""
    a = index.sorted_coords
    n = len(a)
    view = View(rect, width, height, a.dtype)
    W, H = view.W, view.H
    s = np.asarray(slots)
    if s.shape != (n,) or s.dtype.kind not in "iu":
        raise ValueError("slots must be an integer array with one slot per point")
    img = np.zeros((H, W, 4), np.uint8)
    segments = row_segments(index, rect, W, H)
    if segments is None:
        return img
    first, end, floors, ceils = segments
    ring = ring_rows(floors, ceils)
    if ring > MAX_RING:
        return None
    L = len(plan.tables)
    sum_dtype = np.uint32 if n * 255 < 2**32 else np.uint64
    pal_w = np.ascontiguousarray(rgba(plan.palette)[:, :3], dtype=sum_dtype)
    slot_layer = np.ascontiguousarray(plan.slot_layer, np.int64)
    colour = (s, slot_layer, pal_w, *view.args())
    fixed = one_colour(plan)
    xy = planar(index)
    parts = in_bands(lambda band: _gather((a, xy, *band), colour, W, H, ring, L,
                                          sum_dtype, fixed),
                     bands(first, end, floors, ceils, H))
    if any(part is None for part in parts):
        return None
    cmax = np.max([part[4] for part in parts], axis=0)
    bad = np.sum([part[5] for part in parts], axis=0)
    if bad[1] or cmax.max(initial=0) > MAX_LUT:
        return None
    if bad[0]:
        raise ValueError(f"{bad[0]} slots are >= the plan's ({len(slot_layer)})")
    luts = np.zeros((L, int(cmax.max(initial=0)) + 1), np.uint8)
    for lay, table in enumerate(plan.tables):
        lut = alpha_lut(int(cmax[lay]), counts_scale, min_alpha)
        luts[lay, :len(lut)] = lut if table is None else np.asarray(table, np.uint8)[lut]
    steps = np.array(plan.steps, np.int64).reshape(-1, 2)
    order = (np.ascontiguousarray(steps[:, 0]), np.ascontiguousarray(steps[:, 1]))
    done = in_bands(lambda part: run_kernel(_finish_layers_kernel, *part[:4], luts, *order,
                                            img.reshape(W * H, 4)), parts)
    if any(ok is False for ok in done):
        return None
    return img


def one_colour(plan: LayerPlan) -> np.ndarray:
    """(layers, 4) int64: a layer's RGB and 1 when all its slots share that colour (the
    map's "(other)" grey and held-back rows), so its mean colour is that, not divided out;
    zeros for the others."""
    rgb = rgba(plan.palette)[:, :3].astype(np.int64)
    fixed = np.zeros((len(plan.tables), 4), np.int64)
    for lay in range(len(plan.tables)):
        own = rgb[plan.slot_layer == lay]
        if len(own) and (own == own[0]).all():
            fixed[lay, :3], fixed[lay, 3] = own[0], 1
    return fixed


def bands(first: np.ndarray, end: np.ndarray, floors: np.ndarray, ceils: np.ndarray,
          height: int) -> list[tuple]:
    """`row_segments`' cell rows cut into BANDS bands of pixel rows holding about as many
    of their points each (one while they are fewer than BAND_POINTS a band): each band's
    (first, end, floors, lo, hi): the cell rows that can reach pixel rows lo .. hi - 1,
    their floors no lower than lo. A pixel is in one band, all its points added there, so
    the bands' images are the one image's pixels."""
    counts = (end - first).astype(np.int64)
    total = int(counts.sum())
    k = max(min(BANDS, total // BAND_POINTS), 1)
    cuts = [0]
    if k > 1:
        share = np.cumsum(counts)
        for i in range(1, k):
            j = min(int(np.searchsorted(share, total * i / k)), len(floors) - 1)
            cuts.append(int(np.clip(floors[j] + EDGE_ROWS, cuts[-1] + 1, height - 1)))
    cuts.append(int(height))
    out = []
    for lo, hi in itertools.pairwise(cuts):
        if lo >= hi:
            continue
        rows = np.flatnonzero((floors < hi) & (ceils >= lo))
        if not len(rows):
            continue
        j0, j1 = int(rows[0]), int(rows[-1]) + 1
        out.append((first[j0:j1], end[j0:j1], np.maximum(floors[j0:j1], lo), lo, hi))
    return out or [(first[:0], end[:0], floors[:0], 0, int(height))]


def in_bands(work, items: list) -> list:
    """`work(item)` of each item, the first in this thread and the others in the band
    threads at the same time (the kernels let go of the GIL)."""
    if len(items) == 1:
        return [work(items[0])]
    futures = [band_pool().submit(work, item) for item in items[1:]]
    return [work(items[0])] + [f.result() for f in futures]


def band_pool() -> ThreadPoolExecutor:
    """The threads drawing the bands after the first, made on first use."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(BANDS - 1, 1),
                                       thread_name_prefix="density-band")
        return _POOL


def planar(index: GridIndex) -> np.ndarray:
    """The index's float32 sorted coordinates as (2, n): all x, then all y, for `_place`;
    (2, 0) for float64 ones (it then reads them as they are). Made on first use and kept
    while the index lives: 8 bytes a point more (80 MB at 10M) for a redraw 10% quicker."""
    coords = index.sorted_coords
    if coords.dtype != np.float32:
        return np.empty((2, 0), coords.dtype)
    with _POOL_LOCK:
        got = _PLANAR.get(index)
        if got is None:
            got = _PLANAR[index] = np.ascontiguousarray(coords.T)
    return got


def _gather(head, colour, W, H, ring, L, sum_dtype, fixed):
    """Sum and write out the touched pixels of a band: (their number, pixels, counts,
    colours, each layer's largest count, bad); None when numba cannot now. `fixed`:
    `one_colour`'s."""
    first, end, _floors, lo, hi = head[2:]
    room = max(min(W * (hi - lo), int(np.sum(end - first))), 1)
    win = np.zeros((ring * W * L, 4), sum_dtype)
    pix = np.empty(room, np.int32 if W * H < 2**31 else np.int64)
    pcnt = np.empty((room, L), sum_dtype)
    prgb = np.empty((room, L, 3), np.uint8)
    cmax = np.zeros(L, np.int64)
    bad = np.zeros(2, np.int64)
    m = run_kernel(_gather_layers_kernel, *head, *colour, win, ring, fixed,
                   pix, pcnt, prgb, cmax, bad)
    if m is False:
        return None
    return m, pix, pcnt, prgb, cmax, bad


def warm() -> None:
    """Compile (or load) the kernels' signatures with tiny calls, for the warm-up: float32 and
    float64 coordinates, int16 and int32 slots, uint32 and uint64 sums (the latter past
    2**32 / 255 points)."""
    rng = np.random.default_rng(0)
    rect = (-3.0, 3.0, -3.0, 3.0)
    plan = map_plan(np.full((3, 4), 200, np.uint8), None, [False, False, True],
                    held_colour=(190, 190, 190))
    for dtype in (np.float32, np.float64):
        index = GridIndex(rng.normal(size=(400, 2)).astype(dtype))
        segments = row_segments(index, rect, 32, 32)
        ring = ring_rows(*segments[2:])
        for slots in (np.arange(400, dtype=np.int16) % 4, np.arange(400, dtype=np.int32) % 4):
            density_layers_image(index, rect, 32, 32, slots, plan)
            colour = (slots, plan.slot_layer.astype(np.int64), np.full((4, 3), 200, np.uint64),
                      *View(rect, 32, 32, dtype).args())
            coords = index.sorted_coords
            m, pix, pcnt, prgb, cmax, _bad = _gather((coords, planar(index), *segments[:3],
                                                      0, 32), colour, 32, 32, ring, 3,
                                                     np.uint64, one_colour(plan))
            steps = np.array(plan.steps, np.int64)
            _finish_layers_kernel(m, pix, pcnt, prgb, np.full((3, int(cmax.max()) + 1), 9,
                                                              np.uint8),
                                  steps[:, 0].copy(), steps[:, 1].copy(),
                                  np.zeros((1024, 4), np.uint8))
