"""The map's plot: the raster images, the hover ring, neighbour marks and selection shapes.

pyqtgraph moves and scales the last raster while the user pans or zooms; the panel
replaces it with a sharp one once the view settles. Neighbour marks are few (k ≤ 1000),
so they are ordinary scatter items drawn over the raster.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, Signal

from explorer.ui.state import NeighbourMarks
from explorer.ui.widgets.plot import plain_axes

pg.setConfigOptions(imageAxisOrder="row-major")

NEIGHBOUR_RGB = (225, 0, 115)  # rings, lines and the query star: reads on light, dark and viridis
# With Dim on, the map fades behind a neighbour search so its rings and lines stand out;
# a colouring (hubness, fidelity, concept scores, categories) fades less, so it still reads.
DIM_OPACITY = 0.4
DIM_COLOURED_OPACITY = 0.7
RING_PENS = [pg.mkPen((*NEIGHBOUR_RGB, int(255 - 135 * f)), width=2.4 - 0.9 * f)
             for f in np.linspace(0, 1, 6)]
TOP_PEN = pg.mkPen((*NEIGHBOUR_RGB, 255), width=3.2)


def neighbour_styles(k: int) -> tuple[np.ndarray, list]:
    """Ring size (px) and pen per rank: the best neighbour biggest and strongest.

    Sizes and pens come in a few shared tiers, so k = 1000 costs little more than k = 10.
    """
    rank = np.arange(k, dtype=np.float64)
    t = np.sqrt(rank / max(k - 1, 1))  # 0 for the best, 1 for the k-th
    tier = np.minimum((t * len(RING_PENS)).astype(int), len(RING_PENS) - 1)
    # a handful of distinct sizes too: pyqtgraph renders one symbol image per size and pen
    sizes = 15.0 - 6.0 * tier / (len(RING_PENS) - 1)
    pens = [RING_PENS[i] for i in tier]
    if k:
        sizes[0] = 21.0
        pens[0] = TOP_PEN
    return sizes, pens


class MapViewBox(pg.ViewBox):
    """Pans and zooms as usual; with the box or lasso tool a left drag draws a selection.

    A right-click asks for a context menu and selects nothing. While a shape is drawn,
    the other buttons neither finish nor replace it (pyqtgraph sends their release as the
    end of the left drag), and Escape (`cancel_shape`) drops it. A click while another
    button is held does nothing: a menu opened mid-pan would take the pan's release.
    """

    shapeFinished = Signal(str, object, object, object)  # tool, xs, ys, modifiers
    clicked = Signal(float, float, object)  # x, y, modifiers
    doubleClicked = Signal()
    contextRequested = Signal(float, float, object)  # x, y, the pointer's QPoint on screen

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.tool = "pan"
        self._path: list[tuple[float, float]] = []
        self.shape_item = pg.PlotCurveItem(pen=pg.mkPen((255, 200, 0), width=2))
        self.shape_item.setZValue(100)
        self.addItem(self.shape_item, ignoreBounds=True)

    def drawing(self) -> bool:
        """A box or lasso is being drawn."""
        return bool(self._path)

    def cancel_shape(self) -> None:
        """Drop the shape being drawn; the rest of that drag draws nothing."""
        self._path = []
        self.shape_item.setData([], [])

    def mouseDragEvent(self, ev, axis=None) -> None:
        if self.tool == "pan" or ev.button() != Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        if not ev.isStart() and not self._path:
            return  # the drag's shape was finished or cancelled already
        if ev.isFinish() and ev.buttons() & Qt.MouseButton.LeftButton:
            return  # another button let go during the drag: the left one still draws
        p = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            start = self.mapSceneToView(ev.buttonDownScenePos())
            self._path = [(start.x(), start.y())]
        self._path.append((p.x(), p.y()))
        xs, ys = self._shape()
        self.shape_item.setData(np.append(xs, xs[:1]), np.append(ys, ys[:1]))
        if ev.isFinish():
            self.cancel_shape()
            self.shapeFinished.emit(self.tool, xs, ys, ev.modifiers())

    def _shape(self) -> tuple[np.ndarray, np.ndarray]:
        pts = np.asarray(self._path, dtype=np.float64)
        if self.tool == "box":
            (ax, ay), (bx, by) = pts[0], pts[-1]
            return np.array([ax, bx, bx, ax]), np.array([ay, ay, by, by])
        return pts[:, 0], pts[:, 1]

    def mouseClickEvent(self, ev) -> None:
        if self._path or ev.buttons() & ~ev.button():  # while a shape is drawn or a drag
            ev.accept()  # (pan, zoom) holds another button, a click is part of that gesture
            return
        p = self.mapSceneToView(ev.scenePos())
        if ev.button() == Qt.MouseButton.LeftButton and ev.double():
            ev.accept()
            self.doubleClicked.emit()
        elif ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.clicked.emit(p.x(), p.y(), ev.modifiers())
        elif ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            self.contextRequested.emit(p.x(), p.y(), ev.screenPos().toPoint())
        else:
            super().mouseClickEvent(ev)


class MapCanvas(pg.PlotWidget):
    """The plot of the map and everything drawn on it; knows nothing of sets or jobs."""

    themeChanged = Signal()

    def __init__(self) -> None:
        viewbox = MapViewBox()
        super().__init__(viewBox=viewbox, axisItems=plain_axes())  # scores as they are
        self.viewbox = viewbox
        self.setBackground(self.palette().base().color())
        self.hideButtons()  # pyqtgraph's "A" fits the bounds of nothing here: Fit does it
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.viewbox.setAspectLocked(True)
        self.base_item = pg.ImageItem()
        self.overlay_item = pg.ImageItem()
        self.overlay_item.setZValue(10)
        self.hover_item = pg.ScatterPlotItem(size=14, pen=pg.mkPen((255, 200, 0), width=2),
                                             brush=pg.mkBrush(0, 0, 0, 0))
        self.hover_item.setZValue(20)
        # a neighbour search: lines from the query to each neighbour, a white halo
        # under each ring so it reads on any colour, the rings, and the query as a star
        self.nb_lines = pg.PlotCurveItem(connect="pairs", antialias=True,
                                         pen=pg.mkPen((*NEIGHBOUR_RGB, 150), width=1.3))
        self.nb_lines.setZValue(14)
        self.nb_halo = pg.ScatterPlotItem(pen=pg.mkPen((255, 255, 255, 230), width=5),
                                          brush=pg.mkBrush(0, 0, 0, 0))
        self.nb_halo.setZValue(15)
        self.nb_rings = pg.ScatterPlotItem(brush=pg.mkBrush(0, 0, 0, 0))
        self.nb_rings.setZValue(16)
        self.nb_query = pg.ScatterPlotItem(symbol="star", size=24,
                                           brush=pg.mkBrush(*NEIGHBOUR_RGB),
                                           pen=pg.mkPen((20, 20, 20), width=1.5))
        self.nb_query.setZValue(18)
        for item in (self.base_item, self.overlay_item, self.hover_item, self.nb_lines,
                     self.nb_halo, self.nb_rings, self.nb_query):
            self.viewbox.addItem(item, ignoreBounds=True)
        self.message = pg.TextItem(anchor=(0.5, 0.5), color=(128, 128, 128))
        self.viewbox.addItem(self.message, ignoreBounds=True)

    def dark(self) -> bool:
        """The map's background is dark (a dark system theme): marks must be light."""
        return self.palette().base().color().lightnessF() < 0.5

    def changeEvent(self, event) -> None:
        """Follow the system's theme: a palette change (light <-> dark) repaints the
        background; the panel redraws the raster, whose marks depend on it."""
        if event.type() == QEvent.Type.PaletteChange:
            self.setBackground(self.palette().base().color())
            self.themeChanged.emit()
        super().changeEvent(event)

    def set_dimmed(self, dimmed: bool, coloured: bool) -> None:
        """Fade the raster (neighbour marks stay as they are), less when it shows a colouring."""
        self.base_item.setOpacity(
            1.0 if not dimmed else DIM_COLOURED_OPACITY if coloured else DIM_OPACITY)

    def show_message(self, text: str) -> None:
        """A word in the middle of the plot ("Computing UMAP…"), or none."""
        self.message.setText(text)
        self.message.setPos(self.viewbox.viewRect().center())
        self.message.setVisible(bool(text))

    def show_images(self, base: np.ndarray, overlay: np.ndarray | None, rect: tuple) -> None:
        """Place a render's images (row 0 at the top) over `rect` = x0, x1, y0, y1."""
        x0, x1, y0, y1 = rect
        qrect = QRectF(x0, y0, x1 - x0, y1 - y0)
        # the view's y axis points up
        self.base_item.setImage(base[::-1], autoLevels=False)
        self.base_item.setRect(qrect)
        if overlay is None:
            self.overlay_item.clear()
        else:
            self.overlay_item.setImage(overlay[::-1], autoLevels=False)
            self.overlay_item.setRect(qrect)

    def clear_images(self) -> None:
        self.base_item.clear()
        self.overlay_item.clear()

    def show_hover(self, xy: np.ndarray | None) -> None:
        """Ring the hovered point, or nothing."""
        if xy is None:
            self.hover_item.setData([], [])
        else:
            self.hover_item.setData([xy[0]], [xy[1]])

    def show_box(self, box: tuple[float, float, float, float] | None, padding: float) -> None:
        """Show (x, y, width, height) of the data, if there is one."""
        if box is not None:
            self.viewbox.setRange(QRectF(*box), padding=padding)

    def set_axis_labels(self, x_label: str | None, y_label: str | None) -> None:
        """A concept plane's axes mean something (scores), so they are shown; a projection's not."""
        for side, label in (("bottom", x_label), ("left", y_label)):
            if label is None:
                self.hideAxis(side)
            else:
                self.showAxis(side)
                self.setLabel(side, label)

    def draw_marks(self, marks: NeighbourMarks | None, coords: np.ndarray | None) -> None:
        """The query star, the neighbour rings and the lines between them (cheap at k=1000)."""
        empty = np.zeros(0)
        if marks is None or coords is None:
            for item in (self.nb_halo, self.nb_rings, self.nb_query):
                item.setData(empty, empty)
            self.nb_lines.setData(empty, empty)
            return
        n = len(coords)
        ranks = np.flatnonzero((marks.rows >= 0) & (marks.rows < n))
        xy = coords[marks.rows[ranks]].astype(np.float64)
        finite = np.isfinite(xy).all(axis=1)
        ranks, xy = ranks[finite], xy[finite]
        sizes, pens = neighbour_styles(len(marks.rows))
        # the best neighbour is drawn last, on top of the others
        ranks, xy = ranks[::-1], xy[::-1]
        self.nb_halo.setData(xy[:, 0], xy[:, 1], size=sizes[ranks] + 1.0)
        self.nb_rings.setData(xy[:, 0], xy[:, 1], size=sizes[ranks],
                              pen=[pens[i] for i in ranks], data=marks.rows[ranks])
        q = marks.query_rows[(marks.query_rows >= 0) & (marks.query_rows < n)]
        qxy = coords[q].astype(np.float64) if len(q) else np.zeros((0, 2))
        qxy = qxy[np.isfinite(qxy).all(axis=1)]
        if not len(qxy):
            self.nb_query.setData(empty, empty)
            self.nb_lines.setData(empty, empty)
            return
        centre = qxy.mean(axis=0)  # a centroid or arithmetic query sits at the mean of its items
        self.nb_query.setData([centre[0]], [centre[1]])
        lines = np.empty((2 * len(xy), 2))
        lines[0::2] = centre
        lines[1::2] = xy
        self.nb_lines.setData(lines[:, 0], lines[:, 1])

    def export(self, path: str, width: int | None = None) -> None:
        """Write the plot as SVG, or as PNG `width` pixels wide (default: twice the screen's)."""
        from pyqtgraph import exporters

        if path.lower().endswith(".svg"):
            exporter = exporters.SVGExporter(self.plotItem)
        else:
            exporter = exporters.ImageExporter(self.plotItem)
            exporter.parameters()["width"] = width or 2 * self.width()
        exporter.export(path)
