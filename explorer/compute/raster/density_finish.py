"""Finishing a density image in one numba pass, and the accumulator it reuses between renders.

Why: at 1M points in view the per-point density image spent ~12 ms adding points and ~70
ms after that: a fresh 35 MB accumulator (page faults on first touch), a scan for the
non-zero pixels, a float64 numpy finish per pixel (mean colour, `np.log` alpha), a fancy
index for the layer's alpha table, then `composite_over` of the layers. Here one pass
over the accumulator writes each pixel's rounded mean colour and its alpha (a table by
count, built with `count_alpha` so it is the same number), lays it over or under the
image drawn so far (`composite_over`'s float32 arithmetic), and zeroes the accumulator
for the next render. Same pixels as the numpy path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from explorer.compute.numba import jit
from explorer.compute.spatial import run_kernel

WRITE, OVER, UNDER = 0, 1, 2  # the finished layer: the image; laid over it; laid under it
MAX_LUT = 1 << 16  # larger counts in a pixel: the numpy finish (a table that long is slow)


UNIT = np.arange(256, dtype=np.float32) / np.float32(255.0)  # alpha / 255, as composite_over


@jit(nogil=True)
def over_pixel(tr, tg, tb, ta, br, bg, bb, ba):
    """`composite_over` of one pixel (the same float32 arithmetic; its two divisions by 255
    read from a table: the map's finish lays two layers a pixel, 13 float32 divisions)."""
    at = UNIT[ta]
    ab = UNIT[ba]
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


@jit(nogil=True, inline="always")
def lay_under(lay, r, g, b, a, lr, lg, lb, la):
    """Layer `lay`'s pixel laid into (r, g, b, a): the top one (0) written, the others under
    what is there (the pyramid finishes lay their stored layers from the top down)."""
    if lay == 0:
        return lr, lg, lb, la
    return over_pixel(r, g, b, a, lr, lg, lb, la)


@jit(nogil=True, inline="always")
def store_pixel(out, p, r, g, b, a):
    """A finished pixel into the flat RGBA image: every finish kernel's last step."""
    out[p, 0] = r
    out[p, 1] = g
    out[p, 2] = b
    out[p, 3] = a


@jit(nogil=True)
def half_even(v):
    """np.rint of one float64 (half to even), as an int64."""
    return np.int64(np.rint(v))


@jit(nogil=True)
def _finish_kernel(acc, lut, table, mode, out):
    """Each pixel of `acc` (R, G, B sums and count): its mean colour and alpha
    (table[lut[count]]) written to `out` (mode WRITE, transparent where empty), or laid
    over (OVER) or under (UNDER) the pixel there; `acc` is left zero."""
    for p in range(acc.shape[0]):
        c = np.int64(acc[p, 3])
        if c == 0:
            if mode == WRITE or (mode == UNDER and out[p, 3] == 0):
                out[p, 0] = 0
                out[p, 1] = 0
                out[p, 2] = 0
                out[p, 3] = 0
            continue
        fc = np.float64(c)
        r = half_even(np.float64(acc[p, 0]) / fc)
        g = half_even(np.float64(acc[p, 1]) / fc)
        b = half_even(np.float64(acc[p, 2]) / fc)
        a = np.int64(table[lut[c]])
        acc[p, 0] = 0
        acc[p, 1] = 0
        acc[p, 2] = 0
        acc[p, 3] = 0
        if mode == OVER:
            r, g, b, a = over_pixel(r, g, b, a, out[p, 0], out[p, 1], out[p, 2], out[p, 3])
        elif mode == UNDER:
            r, g, b, a = over_pixel(out[p, 0], out[p, 1], out[p, 2], out[p, 3], r, g, b, a)
        out[p, 0] = r
        out[p, 1] = g
        out[p, 2] = b
        out[p, 3] = a
    return 0


def finish(acc: np.ndarray, lut: np.ndarray, table: np.ndarray, mode: int,
           out: np.ndarray) -> bool:
    """Finish `acc` into the flat (pixels, 4) uint8 `out` as `mode` says (numba); False
    when numba cannot, and then neither is touched."""
    return run_kernel(_finish_kernel, acc, lut, table, mode, out) is not False


class Accumulators:
    """A render's (pixels, 4) sums kept for the next one, so a redraw neither allocates nor
    faults in 35 MB (1800 x 1200 pixels). The finish leaves them zero; one whose render
    failed half-way is cleared before reuse. A second render running meanwhile (one
    cancelled late) gets fresh ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrays: dict = {}  # dtype -> (flat array, zero)

    @contextmanager
    def zeroed(self, pixels: int, dtype) -> Iterator[np.ndarray]:
        """A zero (pixels, 4) array of `dtype` for the body, which leaves it zero."""
        if not self._lock.acquire(blocking=False):
            yield np.zeros((pixels, 4), dtype)
            return
        key = np.dtype(dtype)
        flat, zero = self._arrays.pop(key, (None, True))
        if flat is None or flat.size < pixels * 4:
            self._arrays.clear()  # a bigger image: the old arrays would only add up
            flat, zero = np.zeros(pixels * 4, key), True
        try:
            acc = flat[:pixels * 4].reshape(pixels, 4)
            if not zero:  # all of it: a failed render of a bigger image used more
                flat.fill(0)
            yield acc
            self._arrays[key] = (flat, True)
        except BaseException:
            self._arrays[key] = (flat, False)
            raise
        finally:
            self._lock.release()
