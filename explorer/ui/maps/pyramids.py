"""The map panel's density pyramids: which one a render could use, building it in a job,
and keeping the last two. No Qt here.

A density redraw reads every point in view (all layers in one pass): 50-100 ms at 10M. A
pyramid (`raster.pyramid`) holds per-bin counts and colour sums at every zoom level, made
once in a background job, so a later density redraw reads bins instead
(`PyramidCache.image`).
It is counted for what the rows look like: the coordinates and their index, the
colouring and the categories the legend hides, and the rows the filter holds back. A
change to any of them asks for another pyramid (`PyramidSource.same`); until it is built
the redraw takes today's per-point path, so nothing drawn is ever stale.

What a pyramid does not hold is drawn as today, per point: number and fidelity
colourings (a bin's mean colour is not the colour of its mean value), the count colours
of a map with no colouring and no filter, a selection that dims the map (its rows are
drawn as discs), and views zoomed in so far that the finest bins are wider than a pixel
(few points then). The dark theme changes only the held-back grey, applied per redraw.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from explorer.compute.raster.pyramid import (
    BINS_PER_PIXEL,
    HELD,
    TOP,
    UNDER,
    DensityPyramid,
    build_pyramid,
    pyramid_image,
)
from explorer.compute.spatial import GridIndex
from explorer.core.colouring import Colouring
from explorer.core.jobs import TaskState
from explorer.ui.maps.render import (
    FILTERED_OUT,
    FILTERED_OUT_ALPHA,
    GREY_ALPHA,
    UNCOLOURED,
    Layers,
    dims_selection,
    grey_codes,
    palette_for,
)

POINTS_PER_BIN = 3.5  # a bin read costs about as much as drawing this many points (one layer:
# 10M categories, ms bins / points: 3.1-3.3 points a bin 56.0 / 51.7 and 49.8 / 45.3, 3.8:
# 24.6 / 28.8, bench_map_frames --zoom, load 1.2-2.0),
POINTS_PER_LAYER = 1.5  # and this many more a further layer: the points of every layer are
# drawn in one pass, the bins' split and finish grow faster with the layers (1M at 1x, 3.9
# points a bin, CPU ms bins / points: categories 10.0 / 10.4, "(other)" 16.5 / 12.2, filter
# 17.9 / 13.6, mixed 24.7 / 15.6; load 4.8)
KEEP = 2  # pyramids kept per panel (a colouring and the one before it, say),
MAX_BYTES = 512 * 2**20  # fewer when they weigh more: a mixed 10M one is ~330 MB


@dataclass
class PyramidSource:
    """What a pyramid counts; it holds the arrays, so their identities stay unique."""

    coords: np.ndarray
    index: GridIndex
    colouring: Colouring | None
    hidden: frozenset[int]
    filtered: np.ndarray | None

    def same(self, other: PyramidSource | None) -> bool:
        return other is not None and self.coords is other.coords \
            and self.index is other.index and self.colouring is other.colouring \
            and self.hidden == other.hidden and self.filtered is other.filtered


def source_for(layers: Layers) -> PyramidSource | None:
    """The pyramid this render's density image could be read from; None when its density
    image is not one a pyramid draws (module doc)."""
    c = layers.colouring
    if layers.index is None or len(layers.index) != len(layers.coords) \
            or layers.values is not None or dims_selection(layers):
        return None
    if c is not None and (c.kind != "categorical" or c.codes is None):
        return None
    if c is None and layers.filtered is None:
        return None
    return PyramidSource(layers.coords, layers.index, c,
                         layers.hidden if c is not None else frozenset(), layers.filtered)


def palette_of(source: PyramidSource) -> np.ndarray:
    if source.colouring is None:
        return np.array([UNCOLOURED], dtype=np.uint8)
    return palette_for(source.colouring)


def build(source: PyramidSource, state: TaskState) -> DensityPyramid:
    """Count the rows into a pyramid (a job): each row's palette colour and its layer,
    as `render_layers` draws it (categories on top, "(other)" and "(missing)" under them,
    the rows the filter holds back at the bottom; hidden categories not at all)."""
    n = len(source.coords)
    c = source.colouring
    if c is None:
        code = np.zeros(n, np.int16)
        layer = np.full(n, TOP, np.int8)
    else:
        code = np.asarray(c.codes)
        k = len(c.labels)
        visible = np.ones(k, dtype=bool)
        visible[[h for h in source.hidden if 0 <= h < k]] = False
        by_code = np.where(visible, np.where(grey_codes(c), UNDER, TOP), -1).astype(np.int8)
        valid = (code >= 0) & (code < k)
        layer = np.where(valid, by_code[np.where(valid, code, 0)], -1).astype(np.int8)
        code = np.where(valid, code, 0).astype(np.int16)
    if source.filtered is not None:
        passes = np.zeros(n, dtype=bool)
        passes[source.filtered] = True
        layer[~passes] = HELD
    state.check()
    index = source.index
    return build_pyramid(index, index.to_sorted(code), index.to_sorted(layer),
                         palette_of(source), state=state)


class PyramidCache:
    """The panel's last KEEP pyramids (newest last) and the scratch arrays of their
    redraws. Renders read it from worker threads; the UI thread adds to it."""

    def __init__(self) -> None:
        self._entries: list[tuple[PyramidSource, DensityPyramid | None]] = []  # None: failed
        self._buffers: dict = {}
        self._lock = threading.Lock()  # two renders (one cancelled late) share no buffers
        self.building: PyramidSource | None = None
        self.bins_per_pixel = BINS_PER_PIXEL  # the level a redraw reads (level_for)

    def find(self, source: PyramidSource | None) -> DensityPyramid | None:
        return next((p for have, p in list(self._entries) if have.same(source)), None)

    def has(self, source: PyramidSource) -> bool:
        """Built, or tried and failed."""
        return any(have.same(source) for have, _p in list(self._entries))

    def add(self, source: PyramidSource, pyramid: DensityPyramid | None) -> None:
        kept = [e for e in self._entries if not e[0].same(source)] + [(source, pyramid)]
        while len(kept) > 1 and (len(kept) > KEEP or sum(
                p.nbytes for _s, p in kept if p is not None) > MAX_BYTES):
            kept.pop(0)
        self._entries = kept  # replaced whole: a render thread reads the list it got
        if source.same(self.building):
            self.building = None

    def clear(self) -> None:
        self._entries = []
        self.building = None

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for _s, p in self._entries if p is not None)

    def image(self, layers: Layers) -> np.ndarray | None:
        """The density image of `layers` from its pyramid; None when there is none yet,
        the view is zoomed in past its finest bins, or so far that its bins are hardly
        fewer than its points (POINTS_PER_BIN, POINTS_PER_LAYER: drawing the points is then
        quicker)."""
        pyramid = self.find(source_for(layers))
        if pyramid is None:
            return None
        x0, x1, y0, y1 = layers.rect
        points = int(layers.index.in_view(x0, y0, x1, y1))
        held = FILTERED_OUT[1] if layers.dark else FILTERED_OUT[0]
        own = self._lock.acquire(blocking=False)
        try:
            return pyramid_image(pyramid, layers.rect, layers.width, layers.height,
                                 under_alpha=GREY_ALPHA, held_alpha=FILTERED_OUT_ALPHA,
                                 held_colour=held, bins_per_pixel=self.bins_per_pixel,
                                 buffers=self._buffers if own else {},
                                 max_bins=int(points / (POINTS_PER_BIN + POINTS_PER_LAYER
                                                        * (len(pyramid.stored) - 1))))
        finally:
            if own:
                self._lock.release()

    def wanted(self, layers: Layers, mode: str) -> PyramidSource | None:
        """The pyramid to build after a render drawn in `mode` from `layers`: None when the
        render had no use for one, it is there already or being built."""
        if mode != "density":
            return None
        source = source_for(layers)
        if source is None or self.has(source) or source.same(self.building):
            return None
        return source

    def failed(self, source: PyramidSource) -> None:
        """A build that failed (memory, say) is not asked for again: redraws stay per point."""
        self.add(source, None)


def request(cache: PyramidCache, layers: Layers, mode: str, jobs, on_built) -> None:
    """After a render drawn in `mode`: build the pyramid it could have used, in a job of
    kind "pyramid" (renders go on meanwhile); `on_built(source)` once it is there."""
    source = cache.wanted(layers, mode)
    if source is None:
        return
    cache.building = source

    def done(pyramid: DensityPyramid) -> None:
        cache.add(source, pyramid)
        on_built(source)

    jobs.submit("pyramid", "Preparing the map for zooming", build, source, on_done=done,
                on_error=lambda _error: cache.failed(source))
