"""The map's level of detail: zoomed in until few points are in view, they show as pictures.

Once the view holds at most MAX_IN_VIEW points (counted from the grid index's summed-area
table, about as cheap at any zoom) and the set has thumbnails, each of those points is
drawn as its thumbnail, at a fixed size on screen, centred on the point, over the raster.
Decoding a few hundred thumbnails would stall the UI thread, so a job decodes and shrinks
the ones not yet at hand with Pillow (no Qt in the worker); the UI thread only wraps the
arrays as pixmaps, kept in an LRU, so panning back and forth decodes nothing again. A paint
draws only pixmaps at hand, so a frame costs a few hundred small blits whatever the set.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap

from explorer.core.jobs import TaskState
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.state import AppState
from explorer.ui.thumbnails import decode_rgba, pixmap_of_rgba

MAX_IN_VIEW = 400  # points in view at most for the pictures to be drawn
THUMB_PX = 56  # a picture's longest side on the map, in device pixels
KEEP = 4000  # pixmaps kept for panning back
SETTLE_MS = 30  # the view's rows are looked up this long after it stops changing
BATCH = 64  # thumbnails a job decodes between two looks at Cancel
SELECTED_PEN = QPen(QColor(255, 200, 0), 3)  # the selection's colour on the map


def shrink_thumbnails(store, rows: np.ndarray, px: int, state: TaskState) -> dict[int, np.ndarray]:
    """The RGBA pixels of `rows`' thumbnails at most `px` on a side (a job: Pillow only).
    Rows without a thumbnail are left out."""
    from PIL import Image

    out: dict[int, np.ndarray] = {}
    for at, row in enumerate(rows.tolist()):
        if at % BATCH == 0:
            state.check()
            state.progress(at / max(len(rows), 1))
        data = store.get(row)
        pixels = decode_rgba(data) if data else None
        if pixels is None:
            continue
        h, w = pixels.shape[:2]
        if max(h, w) > px:
            scale = px / max(h, w)
            image = Image.fromarray(pixels).resize((max(1, round(w * scale)),
                                                    max(1, round(h * scale))),
                                                   Image.Resampling.BILINEAR)
            pixels = np.asarray(image)
        out[row] = pixels
    return out


class ThumbnailItem(pg.GraphicsObject):
    """Pictures at points: `rows` at `xy` (data units), each `px` device pixels across."""

    def __init__(self) -> None:
        super().__init__()
        self.xy = np.zeros((0, 2))
        self.pixmaps: list[QPixmap] = []
        self.selected = np.zeros(0, dtype=bool)  # framed: the pictures hide the raster's marks
        self._bounds = QRectF()

    def set_pictures(self, xy: np.ndarray, pixmaps: list[QPixmap], bounds: QRectF,
                     selected: np.ndarray | None = None) -> None:
        self.prepareGeometryChange()
        self.xy = xy
        self.pixmaps = pixmaps
        self.selected = np.zeros(len(pixmaps), dtype=bool) if selected is None else selected
        self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, *_args) -> None:
        if not self.pixmaps:
            return
        t = painter.transform()
        x = t.m11() * self.xy[:, 0] + t.m21() * self.xy[:, 1] + t.dx()
        y = t.m12() * self.xy[:, 0] + t.m22() * self.xy[:, 1] + t.dy()
        painter.save()
        painter.resetTransform()  # logical pixels: each pixmap carries its device ratio
        painter.setPen(SELECTED_PEN)
        for px, py, pixmap, chosen in zip(x.tolist(), y.tolist(), self.pixmaps,
                                          self.selected.tolist()):
            size = pixmap.deviceIndependentSize()
            target = QRectF(px - size.width() / 2, py - size.height() / 2, size.width(),
                            size.height())
            painter.drawPixmap(target.topLeft(), pixmap)
            if chosen:
                painter.drawRect(target.adjusted(-1.5, -1.5, 1.5, 1.5))
        painter.restore()


class ThumbnailLayer(QObject):
    """Keeps the map's `ThumbnailItem` in step with the view, the set's store and the
    rows that may be drawn (`visible(rows)`: hidden categories and filtered rows left out)."""

    def __init__(self, viewbox: pg.ViewBox, state: AppState, jobs: PanelJobs,
                 coords: Callable[[], np.ndarray | None], index: Callable[[], object],
                 visible: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__(viewbox)
        self.viewbox = viewbox
        self.state = state
        self.jobs = jobs
        self.coords, self.index, self.visible = coords, index, visible
        self.item = ThumbnailItem()
        self.item.setZValue(12)  # over the raster and its overlay, under hover and marks
        viewbox.addItem(self.item, ignoreBounds=True)
        self.rows = np.zeros(0, dtype=np.int64)  # the rows drawn (or being decoded for)
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._timer.timeout.connect(self.refresh)
        viewbox.sigRangeChanged.connect(lambda *_: self._timer.start())
        viewbox.sigResized.connect(lambda *_: self._timer.start())
        state.thumbnails.changed.connect(self._store_changed)
        state.filterChanged.connect(lambda *_: self._timer.start())
        state.selectionChanged.connect(lambda *_: self._show())

    @property
    def shown(self) -> bool:
        """Pictures are drawn now."""
        return bool(self.item.pixmaps)

    def _store_changed(self) -> None:
        self._pixmaps.clear()
        self.refresh()

    def update_soon(self) -> None:
        """The layout or what is hidden changed: look again once things settle."""
        self._timer.start()

    def rows_in_view(self) -> np.ndarray | None:
        """The rows to draw as pictures, or None when the view holds too many points."""
        coords, index = self.coords(), self.index()
        if coords is None or index is None or len(index) != len(coords):
            return None
        view = self.viewbox.viewRect()
        box = (view.left(), view.top(), view.right(), view.bottom())
        if index.in_view(*box) > MAX_IN_VIEW:
            return None
        rows = self.visible(index.in_box(*box))
        passing = self.state.filter.rows
        return rows if passing is None else np.intersect1d(rows, passing, assume_unique=True)

    def refresh(self) -> None:
        """Draw the pictures of the points in view at hand; decode the others in a job."""
        self._timer.stop()
        store = self.state.thumbnails.store
        rows = self.rows_in_view() if store is not None else None
        if rows is None or not len(rows):
            self.rows = np.zeros(0, dtype=np.int64)
            self.jobs.cancel("thumbnails")
            self._show()
            return
        self.rows = rows
        missing = np.array([r for r in rows.tolist() if r not in self._pixmaps
                            and store.status(r) == "ok"], dtype=np.int64)
        self._show()
        if len(missing):
            ratio = self._ratio()
            self.jobs.submit("thumbnails", "Drawing thumbnails", shrink_thumbnails, store,
                             missing, round(THUMB_PX * ratio),
                             on_done=lambda found: self._decoded(store, found, ratio))

    def _ratio(self) -> float:
        """Device pixels per logical pixel of the plot (2 on a high-density screen)."""
        view = self.viewbox.getViewWidget()
        return view.devicePixelRatioF() if view is not None else 1.0

    def _decoded(self, store, found: dict[int, np.ndarray], ratio: float) -> None:
        if store is not self.state.thumbnails.store:
            return  # another set or another build since
        for row, pixels in found.items():
            pixmap = pixmap_of_rgba(pixels)
            pixmap.setDevicePixelRatio(ratio)
            self._pixmaps[row] = pixmap
        while len(self._pixmaps) > KEEP:
            self._pixmaps.popitem(last=False)
        self._show()

    def _show(self) -> None:
        coords = self.coords()
        drawn = [r for r in self.rows.tolist() if r in self._pixmaps] if coords is not None \
            else []
        if not drawn:
            self.item.set_pictures(np.zeros((0, 2)), [], QRectF())
            return
        for r in drawn:
            self._pixmaps.move_to_end(r)
        xy = coords[drawn].astype(np.float64)
        px_w, px_h = self.viewbox.viewPixelSize()
        mx, my = THUMB_PX * px_w, THUMB_PX * px_h  # half a picture, twice over: zooms in
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        self.item.set_pictures(xy, [self._pixmaps[r] for r in drawn],
                               QRectF(x0 - mx, y0 - my, x1 - x0 + 2 * mx, y1 - y0 + 2 * my),
                               np.isin(drawn, self.state.selection))
