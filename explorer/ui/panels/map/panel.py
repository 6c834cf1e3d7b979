"""The map: a 2-D projection drawn as a raster, so millions of points stay fluid.

No Python object per point. The points are rasterised in a worker thread into
an image a bit larger than the view (a density image where points outnumber
pixels, discs where they do not); pyqtgraph moves and scales that image while
the user pans or zooms, and a sharp one replaces it once the view settles.
Hit-testing, box and lasso selection go through a grid index of the
coordinates. The selection is the shared one in AppState.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QMenu, QSpinBox, QSplitter,
                               QToolButton, QVBoxLayout, QWidget)

from explorer import plugins
from explorer.compute import raster
from explorer.compute.spatial import GridIndex
from explorer.core.atomic import write_json
from explorer.core.colouring import Colouring, colouring_for
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.metadata import MetadataQuery
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.state import AppState, ConceptPlane, NeighbourMarks, SelectMode
from explorer.ui.workers import JobRunner

pg.setConfigOptions(imageAxisOrder="row-major")

MARGIN = 0.25  # rasterise this much beyond each edge of the view, so a pan shows content
HOVER_PX = 8
FIDELITY = "Map fidelity (k-NN overlap)"
# menu label -> projection method: the built-ins', then plugins' (identity is chosen by itself)
METHODS = {e.spec.title: e.spec.name for e in plugins.registry().of_kind("projection")
           if e.spec.name != "identity"}
PLANE = "Concept plane"  # two concept directions as the axes, from the Concepts dock
FIDELITY_KEY = "@fidelity"  # the fidelity colouring in a session file (the label may change)
NEIGHBOUR_RGB = (225, 0, 115)  # rings, lines and the query star: reads on light, dark and viridis
DIM_OPACITY = 0.4  # the map fades behind a neighbour search so its rings and lines stand out


def neighbour_styles(k: int) -> tuple[np.ndarray, list]:
    """Ring size (px) and pen per rank: the best neighbour biggest and strongest.

    Sizes and pens come in a few shared tiers, so k = 1000 costs little more than k = 10.
    """
    rank = np.arange(k, dtype=np.float64)
    t = np.sqrt(rank / max(k - 1, 1))  # 0 for the best, 1 for the k-th
    tier = np.minimum((t * len(_RING_PENS)).astype(int), len(_RING_PENS) - 1)
    # a handful of distinct sizes too: pyqtgraph renders one symbol image per size and pen
    sizes = 15.0 - 6.0 * tier / (len(_RING_PENS) - 1)
    pens = [_RING_PENS[i] for i in tier]
    if k:
        sizes[0] = 21.0
        pens[0] = _TOP_PEN
    return sizes, pens


_RING_PENS = [pg.mkPen((*NEIGHBOUR_RGB, int(255 - 135 * f)), width=2.4 - 0.9 * f)
              for f in np.linspace(0, 1, 6)]
_TOP_PEN = pg.mkPen((*NEIGHBOUR_RGB, 255), width=3.2)


@dataclass
class Layers:
    """What a render job needs; a snapshot, so the UI may change while it runs."""

    coords: np.ndarray
    index: GridIndex | None  # once built: counts, spatial order and spans make drawing cheap
    rect: tuple[float, float, float, float]  # x0, x1, y0, y1 of the image
    width: int
    height: int
    colouring: Colouring | None
    values: np.ndarray | None  # fidelity overlay, if chosen
    hidden: frozenset[int]
    radius: int
    selection: np.ndarray
    matches: np.ndarray | None
    sorted_cache: dict  # id(per-row array) -> (that array, it in the index's order)


def palette_for(colouring: Colouring) -> np.ndarray:
    """Distinct colours for the categories; "(other)" and "(missing)" are grey."""
    from explorer.core.colouring import MISSING, OTHER

    pal = raster.categorical_palette(len(colouring.labels))
    for code, label in enumerate(colouring.labels):
        if label in (OTHER, MISSING):
            pal[code] = raster.OTHER_GREY
    return pal


def _colour_kwargs(layers: Layers) -> tuple[dict, np.ndarray | None]:
    """Keyword arguments for the raster functions, and the per-row array they colour by."""
    c = layers.colouring
    if layers.values is not None:
        return dict(cmap=raster.VIRIDIS, value_range=(0.0, 1.0)), layers.values
    if c is not None and c.kind == "categorical":
        visible = np.ones(len(c.labels), dtype=bool)
        visible[list(layers.hidden)] = False
        return dict(palette=palette_for(c), visible=visible), c.codes
    if c is not None:
        return dict(cmap=raster.VIRIDIS, value_range=(c.vmin, c.vmax)), c.values
    return {}, None


def render_layers(layers: Layers, state) -> tuple[np.ndarray, np.ndarray | None, tuple]:
    """Base image and selection overlay (RGBA, row 0 at the top), for a worker thread."""
    kw, per_row = _colour_kwargs(layers)
    key = "values" if layers.values is not None or (
        layers.colouring is not None and layers.colouring.kind == "numeric") else "categories"
    x0, x1, y0, y1 = layers.rect
    xy, index = layers.coords, layers.index
    size = (layers.width, layers.height)
    if index is not None:
        n_in = int(index.in_view(x0, y0, x1, y1))
    else:
        n_in = int(np.count_nonzero((xy[:, 0] >= x0) & (xy[:, 0] < x1)
                                    & (xy[:, 1] >= y0) & (xy[:, 1] < y1)))
    state.check()
    mode = raster.choose_mode(n_in, *size)
    if mode == "density" and index is not None:
        # points in cell order hit the image memory in order: 3-4x faster at 10M
        if per_row is not None:
            source, ordered = layers.sorted_cache.get(id(per_row), (None, None))
            if source is not per_row:  # the cache holds the source, so its id stays unique
                ordered = index.to_sorted(per_row)
                layers.sorted_cache[id(per_row)] = (per_row, ordered)
            kw[key] = ordered
        base = raster.density_image(index.sorted_coords, layers.rect, *size,
                                    spans=index.view_spans(x0, y0, x1, y1), **kw)
    elif mode == "density":
        if per_row is not None:
            kw[key] = per_row
        base = raster.density_image(xy, layers.rect, *size, **kw)
    else:
        if per_row is not None:
            kw[key] = per_row
        order = index.in_box(x0, y0, x1, y1) if index is not None else None
        base = raster.points_image(xy, layers.rect, *size, radius_px=layers.radius, order=order,
                                   **kw)
    state.check()
    overlay = None
    # Rings around single points are white with a dark rim; over a density image a
    # white wash would read as "faded", so the selection is drawn dark there.
    selected = (40, 40, 40, 255) if mode == "density" else (255, 255, 255, 255)
    marked = [(layers.matches, (255, 150, 0, 255), (110, 50, 0, 255)),
              (layers.selection, selected, (20, 20, 20, 255))]
    for rows, colour, edge in marked:  # the selection is drawn over search matches
        if rows is None or not len(rows):
            continue
        layer = raster.highlight_image(xy, layers.rect, *size, rows, radius_px=layers.radius,
                                       colour=colour, edge_colour=edge)
        if overlay is None:
            overlay = layer
        else:
            drawn = layer[..., 3] > 0
            overlay[drawn] = layer[drawn]
    return base, overlay, (mode, n_in)


class MapViewBox(pg.ViewBox):
    """Pans and zooms as usual; with the box or lasso tool a left drag draws a selection."""

    shapeFinished = Signal(str, object, object, object)  # tool, xs, ys, modifiers
    clicked = Signal(float, float, object)  # x, y, modifiers

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.tool = "pan"
        self._path: list[tuple[float, float]] = []
        self.shape_item = pg.PlotCurveItem(pen=pg.mkPen((255, 200, 0), width=2))
        self.shape_item.setZValue(100)
        self.addItem(self.shape_item, ignoreBounds=True)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if self.tool == "pan" or ev.button() != Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            start = self.mapSceneToView(ev.buttonDownScenePos())
            self._path = [(start.x(), start.y())]
        self._path.append((p.x(), p.y()))
        xs, ys = self._shape()
        self.shape_item.setData(np.append(xs, xs[:1]), np.append(ys, ys[:1]))
        if ev.isFinish():
            self.shape_item.setData([], [])
            self.shapeFinished.emit(self.tool, xs, ys, ev.modifiers())
            self._path = []

    def _shape(self) -> tuple[np.ndarray, np.ndarray]:
        pts = np.asarray(self._path, dtype=np.float64)
        if self.tool == "box":
            (ax, ay), (bx, by) = pts[0], pts[-1]
            return np.array([ax, bx, bx, ax]), np.array([ay, ay, by, by])
        return pts[:, 0], pts[:, 1]

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.clicked.emit(p.x(), p.y(), ev.modifiers())
        else:
            super().mouseClickEvent(ev)


VIEW_FILE = "view.json"  # in the set's library folder: what the map showed last


def last_viewed(es: EmbeddingSet):
    """The projection parameters last shown for a library set, if any and still valid."""
    from explorer.compute.projection import ProjectionParams

    if es.path is None:
        return None
    try:
        with open(es.path / VIEW_FILE, encoding="utf-8") as fh:
            return ProjectionParams(**json.load(fh)["projection"])
    except (OSError, ValueError, TypeError, KeyError):
        return None


def remember_viewed(es: EmbeddingSet, params) -> None:
    if es.path is not None and params.method != "identity":
        try:
            write_json(es.path / VIEW_FILE, {"schema_version": 1, "projection": asdict(params)})
        except OSError:
            pass  # a read-only library only forgets the choice


def select_mode(modifiers) -> SelectMode:
    """Shift adds, Ctrl subtracts, both intersect; plain replaces."""
    shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
    ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
    if shift and ctrl:
        return SelectMode.INTERSECT
    if shift:
        return SelectMode.ADD
    if ctrl:
        return SelectMode.SUBTRACT
    return SelectMode.REPLACE


class MapView(Panel):
    key = "map"
    title = "Map"
    area = Area.CENTRE
    renderFinished = Signal(str, int)  # mode ("density"/"points"), points in the image

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        state, jobs = context.state, context.runner
        self.state = state
        self.runner = jobs
        self.es: EmbeddingSet | None = None
        self.coords: np.ndarray | None = None
        self.index: GridIndex | None = None
        self.colouring: Colouring | None = None
        self.fidelity: np.ndarray | None = None
        self.hidden: set[int] = set()
        self.matches: np.ndarray | None = None
        self.projection_info: dict = {}
        self.projection_params = None  # ProjectionParams of the layout shown, once one is
        self._pending_hidden: set[str] = set()  # categories a session hides once coloured
        self._pending_view: QRectF | None = None  # a session's zoom, for the next layout
        self._image_rect: tuple | None = None
        self._sorted_cache: dict = {}
        # Results are tagged with the set and the layout they were computed for; a
        # cancelled job may still deliver, so anything for an older one is dropped.
        self._set_gen = 0
        self._layout_gen = 0

        self._build_controls()
        self.viewbox = MapViewBox()
        self.plot = pg.PlotWidget(viewBox=self.viewbox)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setBackground(self.palette().base().color())
        self.viewbox.setAspectLocked(True)
        self.base_item = pg.ImageItem()
        self.overlay_item = pg.ImageItem()
        self.overlay_item.setZValue(10)
        self.hover_item = pg.ScatterPlotItem(size=14, pen=pg.mkPen((255, 200, 0), width=2),
                                             brush=pg.mkBrush(0, 0, 0, 0))
        self.hover_item.setZValue(20)
        # a neighbour search: lines from the query to each neighbour, a white halo
        # under each ring so it reads on any colour, the rings, and the query as a star
        self.marks: NeighbourMarks | None = None
        self.nb_lines = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((*NEIGHBOUR_RGB, 150), width=1.3),
                                         antialias=True)
        self.nb_lines.setZValue(14)
        self.nb_halo = pg.ScatterPlotItem(pen=pg.mkPen((255, 255, 255, 230), width=5),
                                          brush=pg.mkBrush(0, 0, 0, 0))
        self.nb_halo.setZValue(15)
        self.nb_rings = pg.ScatterPlotItem(brush=pg.mkBrush(0, 0, 0, 0))
        self.nb_rings.setZValue(16)
        self.nb_query = pg.ScatterPlotItem(symbol="star", size=24, brush=pg.mkBrush(*NEIGHBOUR_RGB),
                                           pen=pg.mkPen((20, 20, 20), width=1.5))
        self.nb_query.setZValue(18)
        for item in (self.base_item, self.overlay_item, self.hover_item, self.nb_lines,
                     self.nb_halo, self.nb_rings, self.nb_query):
            self.viewbox.addItem(item, ignoreBounds=True)
        self.message = pg.TextItem(anchor=(0.5, 0.5), color=(128, 128, 128))
        self.viewbox.addItem(self.message, ignoreBounds=True)

        self.legend = QListWidget()
        self.legend.setMaximumWidth(220)
        self.legend.setToolTip("Untick a category to hide it on the map")
        self.legend.itemChanged.connect(self._legend_toggled)
        self.colour_bar = QLabel()
        self.colour_bar.setWordWrap(True)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.legend)
        side_layout.addWidget(self.colour_bar)
        splitter = QSplitter()
        splitter.addWidget(self.plot)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self.controls)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.info)

        self._render_timer = QTimer(self, singleShot=True, interval=40)
        self._render_timer.timeout.connect(self._render)
        self.viewbox.sigRangeChanged.connect(self._range_changed)
        self.viewbox.sigResized.connect(lambda *_: self._render_timer.start())
        self.viewbox.shapeFinished.connect(self._shape_finished)
        self.viewbox.clicked.connect(self._clicked)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        state.setChanged.connect(self._set_changed)
        state.planeChanged.connect(self.show_plane)
        state.selectionChanged.connect(lambda rows, src: self._render_timer.start())
        state.neighboursChanged.connect(self._neighbours_changed)
        state.frameRequested.connect(self.frame_rows)
        state.hoverChanged.connect(self._hover_changed)
        state.derivedChanged.connect(self._derived_changed)
        state.colourByChanged.connect(self._colour_by_requested)
        self._show_message("Open a set to see its map")

    # --- controls --------------------------------------------------------------
    def _build_controls(self) -> None:
        self.method = QComboBox()
        self.method.addItems([*METHODS, PLANE])
        self.method.setItemData(len(METHODS), "Two concept directions as the x and y axes: each "
                                "item sits at its scores along them (choose them in Concepts)",
                                Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("How the vectors are placed in 2-D; results are cached in the library")
        self.method.activated.connect(lambda _i: self.compute_projection())
        self.colour = QComboBox()
        self.colour.setToolTip("Colour points by a metadata column, or by how faithful the map is")
        self.colour.activated.connect(lambda _i: self._colour_changed())
        # long column names must not make the whole map (and its dock) wide
        self.colour.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.colour.setMinimumContentsLength(6)
        self.size = QSpinBox()
        self.size.setRange(1, 8)
        self.size.setValue(2)
        self.size.setPrefix("size ")
        self.size.setToolTip("Point radius in pixels once points are drawn one by one")
        self.size.valueChanged.connect(lambda _v: self._render_timer.start())
        self.tool_buttons: dict[str, QToolButton] = {}
        tools = QHBoxLayout()
        for key, label, shortcut, tip in (
                ("pan", "Pan", "P", "Drag to pan, wheel to zoom"),
                ("box", "Box", "B", "Drag a rectangle to select (Shift adds, Ctrl subtracts)"),
                ("lasso", "Lasso", "L", "Draw around points to select (Shift adds, Ctrl subtracts)")):
            button = QToolButton(text=label, checkable=True, autoExclusive=True)
            button.setToolTip(f"{tip} ({shortcut})")
            button.setShortcut(QKeySequence(shortcut))
            button.clicked.connect(lambda _c, k=key: self.set_tool(k))
            tools.addWidget(button)
            self.tool_buttons[key] = button
        self.tool_buttons["pan"].setChecked(True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Highlight items containing…")
        self.search.setMinimumWidth(50)
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Matching items are ringed in orange on the map")
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self._run_search)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        export = QToolButton(text="Export")
        export.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(export)
        menu.addAction("Selection as CSV / Parquet…", self.export_selection)
        menu.addAction("Coordinates as Parquet…", self.export_coordinates)
        menu.addAction("View as PNG / SVG…", self.export_view)
        export.setMenu(menu)
        fit = QAction("Fit", self, shortcut=QKeySequence("Home"))
        fit.triggered.connect(lambda: self.fit())
        fit_button = QToolButton()
        fit_button.setDefaultAction(fit)
        fit_button.setToolTip("Show the whole map (Home)")

        self.controls = QHBoxLayout()
        self.controls.addWidget(self.method)
        self.controls.addWidget(self.colour, 1)
        self.controls.addWidget(self.size)
        self.controls.addLayout(tools)
        self.controls.addWidget(fit_button)
        self.controls.addWidget(self.search, 1)
        self.controls.addWidget(export)

    # --- session ------------------------------------------------------------------------
    def settings(self) -> dict:
        """What a session keeps of the map; projections are cached, so reopening it is quick."""
        params = self.projection_params
        colour = self.colour.currentText() if self.colour.currentIndex() > 0 else ""
        hidden = self.colouring.labels if self.colouring is not None \
            and self.colouring.kind == "categorical" else []
        view = self.viewbox.viewRect()
        return {"projection": asdict(params) if params is not None else None,
                "concept_plane": self.method.currentText() == PLANE,
                "colour_by": FIDELITY_KEY if colour == FIDELITY else colour,
                "hidden": sorted(str(hidden[c]) for c in self.hidden if c < len(hidden)),
                "point_size": self.size.value(), "search": self.search.text(),
                "view": [view.left(), view.top(), view.width(), view.height()]
                if self.coords is not None else None}

    def apply_settings(self, settings: dict) -> list[str]:
        """Restore `settings()` on the set just opened; returns what could not be restored."""
        from explorer.compute.projection import ProjectionParams

        notes = []
        if isinstance(settings.get("point_size"), int):
            self.size.setValue(settings["point_size"])
        if isinstance(settings.get("search"), str):
            self.search.setText(settings["search"])
        colour = settings.get("colour_by")
        if isinstance(colour, str):
            name = FIDELITY if colour == FIDELITY_KEY else colour
            at = self.colour.findText(name) if name else 0
            if at >= 0:
                self.colour.setCurrentIndex(at)
                self._colour_changed()
                hidden = settings.get("hidden")
                if isinstance(hidden, list):
                    self._pending_hidden = {h for h in hidden if isinstance(h, str)}
            else:
                notes.append(f"the map was coloured by “{colour}”, which this set does not "
                             "have until it is computed again")
        view = settings.get("view")
        plane = settings.get("concept_plane") is True
        if isinstance(view, list) and len(view) == 4 and all(
                isinstance(v, (int, float)) and np.isfinite(v) for v in view) and not plane:
            self._pending_view = QRectF(*view)
        projection = settings.get("projection")
        if isinstance(projection, dict) and not plane:
            known = ProjectionParams.__dataclass_fields__  # a newer file may carry more
            try:
                self.compute_projection(ProjectionParams(
                    **{k: v for k, v in projection.items() if k in known}))
            except (TypeError, ValueError) as exc:
                notes.append(f"the map's projection was not understood ({exc})")
        return notes

    def set_tool(self, tool: str) -> None:
        self.viewbox.tool = tool
        self.tool_buttons[tool].setChecked(True)

    def fit(self, robust: bool = False) -> None:
        """Show every point, or with `robust` the central 99% (a few far outliers
        would otherwise shrink the map to a dot)."""
        if self.coords is None or not len(self.coords):
            return
        step = max(1, len(self.coords) // 200_000)
        sample = self.coords[::step]
        sample = sample[np.isfinite(sample).all(axis=1)]
        if not len(sample):
            return
        q = (0.5, 99.5) if robust else (0, 100)
        lo, hi = np.percentile(sample, q[0], axis=0), np.percentile(sample, q[1], axis=0)
        self.viewbox.setRange(QRectF(lo[0], lo[1], hi[0] - lo[0] or 1, hi[1] - lo[1] or 1),
                              padding=0.06 if robust else 0.03)

    def frame_rows(self, rows: np.ndarray) -> None:
        """Zoom to these rows, keeping at least a tenth of the map around them for context."""
        coords = self.coords
        if coords is None or not len(rows):
            return
        rows = rows[(rows >= 0) & (rows < len(coords))]
        xy = coords[rows].astype(np.float64)
        xy = xy[np.isfinite(xy).all(axis=1)]
        if not len(xy):
            return
        sample = coords[:: max(1, len(coords) // 200_000)]
        sample = sample[np.isfinite(sample).all(axis=1)]
        span = np.percentile(sample, 99.5, axis=0) - np.percentile(sample, 0.5, axis=0)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        size = np.maximum(hi - lo, 0.1 * span.max())
        centre = (lo + hi) / 2
        self.viewbox.setRange(QRectF(centre[0] - size[0] / 2, centre[1] - size[1] / 2,
                                     size[0] or 1, size[1] or 1), padding=0.15)

    # --- set and projection ------------------------------------------------------
    def _current(self, set_gen: int, layout_gen: int | None = None):
        """Wrap a result callback so it only runs while its set (and layout) is shown."""
        def guard(callback):
            def run(result):
                if set_gen == self._set_gen and (layout_gen is None or layout_gen == self._layout_gen):
                    callback(result)
            return run
        return guard

    def _set_changed(self, es: EmbeddingSet | None) -> None:
        for kind in ("map-project", "map-index", "map-render", "map-colour", "map-fidelity",
                     "map-search"):
            self.runner.cancel_kind(kind)
        self._set_gen += 1
        self._layout_gen += 1
        self._image_rect = None
        self._sorted_cache = {}
        self.es = es
        self.coords = self.index = self.colouring = self.fidelity = self.matches = None
        self.projection_params = self._pending_view = None
        self._pending_hidden = set()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.hidden = set()
        self.base_item.clear()
        self.overlay_item.clear()
        self.hover_item.setData([], [])
        self.marks = None
        self._draw_marks()
        self.legend.clear()
        self.colour_bar.clear()
        self.info.clear()
        self.colour.clear()
        if es is None:
            self._show_message("Open a set to see its map")
            return
        self.colour.addItem("(no colour)")
        self.colour.addItems(es.columns)
        self.colour.addItems(list(self.state.derived))
        self.colour.addItem(FIDELITY)
        preferred = next((c for c in ("area", "label", "category", "section", "kind", "class")
                          if c in es.columns), "")
        if preferred:
            self.colour.setCurrentText(preferred)
        from explorer.compute.projection import default_params

        params = default_params(es.dim, es.count, es.metric)
        self.method.setEnabled(params.method != "identity")
        self.compute_projection(params, resume=True)
        self._colour_changed()

    def compute_projection(self, params=None, resume: bool = False) -> None:
        """Map the set with `params` (default: the method chosen in the toolbar).

        With `resume`, the projection last shown for this set is reopened instead
        (from the library's cache), so a set looks the way the user left it.
        """
        es = self.es
        if es is None:
            return
        from explorer.compute.projection import ProjectionParams, cached_project

        if params is None and self.method.currentText() == PLANE:
            self.state.request_plane()  # the concepts panel answers with planeChanged
            return
        if params is None:
            params = ProjectionParams(method=METHODS[self.method.currentText()], metric=es.metric)
        name = next((label for label, m in METHODS.items() if m == params.method), "")
        self._show_message(f"Computing {name}…" if name else "")
        self.index = None
        self.runner.cancel_kind("map-index")
        self._layout_gen += 1
        guard = self._current(self._set_gen, self._layout_gen)

        def work(state):
            chosen = (last_viewed(es) or params) if resume else params
            projection = cached_project(es, chosen, state)
            remember_viewed(es, chosen)
            return projection

        self.runner.submit("map-project", f"Computing the {name or 'map'}", work,
                         on_done=guard(self._projection_done),
                         on_partial=guard(self._projection_partial))

    def _projection_partial(self, coords: np.ndarray) -> None:
        first = self.coords is None
        self.coords = np.asarray(coords, dtype=np.float32)
        if first:
            self.fit(robust=True)
        self._draw_marks()
        self._render_timer.start()

    def _projection_done(self, projection) -> None:
        self.projection_params = projection.params
        method = projection.params.method
        if method in METHODS.values():
            self.method.setCurrentText(next(k for k, v in METHODS.items() if v == method))
        self._show_layout(projection.coords, {"method": method, "seconds": projection.seconds,
                                              **projection.info},
                          fit=self.coords is None or method != "identity")
        self._set_axis_labels(None, None)

    def show_plane(self, plane: ConceptPlane) -> None:
        """Place the items at their scores along two concept directions (x, y)."""
        coords, x_label, y_label, seconds = plane.coords, plane.x_label, plane.y_label, plane.seconds
        if self.es is None or len(coords) != self.es.count:
            return
        self._layout_gen += 1
        self.runner.cancel_kind("map-project")
        self.method.setCurrentText(PLANE)
        self._show_layout(coords, {"method": "concept plane", "seconds": seconds,
                                   "x": x_label, "y": y_label}, fit=True)
        self._set_axis_labels(x_label, y_label)

    def _set_axis_labels(self, x_label: str | None, y_label: str | None) -> None:
        """A concept plane's axes mean something (scores), so they are shown; a projection's not."""
        for side, label in (("bottom", x_label), ("left", y_label)):
            if label is None:
                self.plot.hideAxis(side)
            else:
                self.plot.showAxis(side)
                self.plot.getAxis(side).enableAutoSIPrefix(False)  # scores, not "x0.001"
                self.plot.setLabel(side, label)

    def _show_layout(self, coords: np.ndarray, info: dict, fit: bool) -> None:
        self._layout_gen += 1  # anything computed from a partial layout is now stale
        self.coords = np.ascontiguousarray(coords[:, :2], dtype=np.float32)
        self.projection_info = info
        self.fidelity = None
        self._show_message("")
        if fit and self._pending_view is not None:
            self.viewbox.setRange(self._pending_view, padding=0)
            self._pending_view = None
        elif fit:
            self.fit(robust=True)
        self._update_info()
        self._draw_marks()
        coords = self.coords
        self.runner.submit("map-index", "Indexing the map", lambda state: GridIndex(coords),
                         on_done=self._current(self._set_gen, self._layout_gen)(self._index_done))
        if self.colour.currentText() == FIDELITY:
            self._colour_changed()
        self._render_timer.start()

    def _index_done(self, index: GridIndex) -> None:
        self.index = index
        self._sorted_cache = {}
        self._render_timer.start()

    # --- colouring -----------------------------------------------------------------
    def _colour_changed(self) -> None:
        es = self.es
        column = self.colour.currentText()
        self.hidden = set()
        self.legend.clear()
        self.legend.hide()  # shown again for categories
        self.colour_bar.clear()
        if es is None:
            return
        derived = self.state.derived.get(column)
        self.state.set_colour_by(column if column in es.columns or derived is not None else "")
        if column == FIDELITY:
            self._compute_fidelity()
            return
        if derived is not None:
            colouring = Colouring(column, "numeric", values=derived.values,
                                  vmin=derived.vmin, vmax=derived.vmax)

            def show(result: Colouring) -> None:
                self.colouring = result
                self.fidelity = None
                self._show_colour_bar(column, derived.vmin, derived.vmax, derived.note)
                self._render_timer.start()

            # a job of the colouring kind, so a metadata colouring still running is dropped
            self.runner.submit("map-colour", f"Colouring by {column}", lambda state: colouring,
                             on_done=self._current(self._set_gen)(show))
            return
        if column not in es.columns:
            self.colouring = None
            self._render_timer.start()
            return

        def work(state):
            return colouring_for(es.metadata, column)

        guard = self._current(self._set_gen)
        self.runner.submit("map-colour", f"Colouring by {column}", work,
                         on_done=guard(self._colouring_done), on_error=guard(self._colouring_failed))

    def _colouring_done(self, colouring: Colouring) -> None:
        self.colouring = colouring
        self._pending_hidden, pending = set(), self._pending_hidden
        self.fidelity = None
        self.legend.blockSignals(True)
        self.legend.clear()
        if colouring.kind == "categorical":
            palette = palette_for(colouring)
            for code, (label, count) in enumerate(zip(colouring.labels, colouring.counts)):
                swatch = QPixmap(12, 12)
                swatch.fill(QColor(*[int(v) for v in palette[code][:3]]))
                item = QListWidgetItem(QIcon(swatch), f"{label}  ({count:,})")
                item.setData(Qt.ItemDataRole.UserRole, code)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                hide = str(label) in pending
                item.setCheckState(Qt.CheckState.Unchecked if hide else Qt.CheckState.Checked)
                if hide:
                    self.hidden.add(code)
                self.legend.addItem(item)
            self.colour_bar.clear()
        else:
            self._show_colour_bar(colouring.column, colouring.vmin, colouring.vmax)
        self.legend.blockSignals(False)
        self.legend.setVisible(colouring.kind == "categorical")
        self._render_timer.start()

    def _colouring_failed(self, error: BaseException) -> None:
        self.colouring = None
        self.colour_bar.setText(str(error))
        self._render_timer.start()

    def _show_colour_bar(self, title: str, vmin: float, vmax: float, note: str = "") -> None:
        stops = ", ".join(f"stop:{i / 4:.2f} rgb{tuple(int(v) for v in raster.VIRIDIS[int(i * 63.75)][:3])}"
                          for i in range(5))
        self.colour_bar.setText(
            f"<b>{title}</b><div style='height:12px; background: qlineargradient(x1:0, y1:0, "
            f"x2:1, y2:0, {stops})'>&nbsp;</div>"
            f"<table width='100%'><tr><td>{vmin:.3g}</td><td align='right'>{vmax:.3g}</td></tr></table>"
            + (f"<span style='color:gray'>{note}</span>" if note else ""))

    def _legend_toggled(self, item: QListWidgetItem) -> None:
        code = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self.hidden.discard(code)
        else:
            self.hidden.add(code)
        self._render_timer.start()

    def _compute_fidelity(self) -> None:
        es, coords = self.es, self.coords
        if es is None or coords is None:
            return
        from explorer.compute.fidelity import knn_overlap, trustworthiness_continuity

        def work(state):
            state.status("Comparing map neighbours with original neighbours")
            overlap = knn_overlap(es.vectors, coords, k=10, metric=es.metric)
            scores = trustworthiness_continuity(es.vectors, coords, k=10, metric=es.metric)
            return overlap, scores

        def done(result) -> None:
            overlap, scores = result
            self.fidelity = np.asarray(overlap, dtype=np.float32)
            self.colouring = None
            self.projection_info.update(scores)
            self._update_info()
            self._show_colour_bar("share of the 10 nearest neighbours kept", 0.0, 1.0)
            self._render_timer.start()

        self.runner.submit("map-fidelity", "Measuring map fidelity", work,
                         on_done=self._current(self._set_gen, self._layout_gen)(done))

    def _update_info(self) -> None:
        info = self.projection_info
        parts = [f"{info.get('method', '').upper()}"]
        if "x" in info:
            parts[0] = f"Concept plane: x = {info['x']}, y = {info['y']}"
        if "seconds" in info:
            parts.append(f"{info['seconds']:.2f} s")
        if "trustworthiness" in info:
            parts.append(f"trustworthiness {info['trustworthiness']:.3f}")
        if "continuity" in info:
            parts.append(f"continuity {info['continuity']:.3f}")
        if "sample_size" in info:
            parts.append(f"(k=10, {info['sample_size']:,} sampled points)")
        self.info.setText("  ·  ".join(parts))

    # --- rendering ------------------------------------------------------------------
    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        rect = self.viewbox.viewRect()
        self.message.setPos(rect.center())
        self.message.setVisible(bool(text))

    def _range_changed(self, *_args) -> None:
        if self._image_rect is None:
            self._render_timer.start()
            return
        view = self.viewbox.viewRect()
        x0, x1, y0, y1 = self._image_rect
        covered = view.left() >= x0 and view.right() <= x1 and view.top() >= y0 \
            and view.bottom() <= y1
        # a pan inside the margin costs nothing; a zoom or a pan past it re-renders
        self._render_timer.setInterval(40 if covered else 15)
        self._render_timer.start()

    def pending(self) -> bool:
        """A render is scheduled but not started (the debounce timer runs)."""
        return self._render_timer.isActive() or self._search_timer.isActive()

    def _pixel_size(self) -> tuple[int, int]:
        ratio = self.devicePixelRatioF()
        return max(1, int(self.viewbox.width() * ratio)), max(1, int(self.viewbox.height() * ratio))

    def _render(self) -> None:
        if self.coords is None:
            return
        view = self.viewbox.viewRect()
        w, h = self._pixel_size()
        mx, my = view.width() * MARGIN, view.height() * MARGIN
        rect = (view.left() - mx, view.right() + mx, view.top() - my, view.bottom() + my)
        width, height = int(w * (1 + 2 * MARGIN)), int(h * (1 + 2 * MARGIN))
        index = self.index if self.index is not None and len(self.index) == len(self.coords) \
            else None
        layers = Layers(self.coords, index, rect, width, height, self.colouring, self.fidelity,
                        frozenset(self.hidden), self.size.value(), self.state.selection,
                        self.matches, self._sorted_cache)
        guard = self._current(self._set_gen, self._layout_gen)
        self.runner.submit("map-render", "Drawing the map", lambda state: render_layers(layers, state),
                         on_done=guard(lambda result: self._rendered(result, rect)))

    def _rendered(self, result, rect: tuple) -> None:
        base, overlay, (mode, n_in) = result
        x0, x1, y0, y1 = rect
        qrect = QRectF(x0, y0, x1 - x0, y1 - y0)
        # images come with row 0 at the top; the view's y axis points up
        self.base_item.setImage(base[::-1], autoLevels=False)
        self.base_item.setRect(qrect)
        if overlay is None:
            self.overlay_item.clear()
        else:
            self.overlay_item.setImage(overlay[::-1], autoLevels=False)
            self.overlay_item.setRect(qrect)
        self._image_rect = rect
        self.renderFinished.emit(mode, n_in)

    # --- interaction -----------------------------------------------------------------
    def _radius(self) -> float:
        """HOVER_PX screen pixels in data units."""
        px = self.viewbox.viewPixelSize()
        return HOVER_PX * max(px[0], px[1])

    def _mouse_moved(self, scene_pos) -> None:
        if self.index is None or not self.viewbox.sceneBoundingRect().contains(scene_pos):
            return
        p = self.viewbox.mapSceneToView(scene_pos)
        row = self.index.nearest(p.x(), p.y(), self._radius())
        self.state.set_hover(row, source=self)
        if row < 0:
            self.hover_item.setData([], [])
            self.plot.setToolTip("")
            return
        x, y = self.coords[row]
        self.hover_item.setData([x], [y])
        self.plot.setToolTip(self._tooltip(row))

    def _tooltip(self, row: int) -> str:
        es = self.es
        lines = [f"<b>{es.label(row)}</b> <span style='color:gray'>#{row}</span>"]
        record = es.metadata.slice(row, 1).to_pylist()[0]
        for key, value in list(record.items())[:8]:
            text = str(value)
            lines.append(f"<span style='color:gray'>{key}</span> "
                         f"{text[:160] + ('…' if len(text) > 160 else '')}")
        if self.fidelity is not None and np.isfinite(self.fidelity[row]):
            lines.append(f"<span style='color:gray'>neighbours kept</span> {self.fidelity[row]:.0%}")
        for name, derived in self.state.derived.items():
            lines.append(f"<span style='color:gray'>{name}</span> {derived.values[row]:.4g}")
        marks = self.marks
        if marks is not None:
            hit = np.flatnonzero(marks.rows == row)
            if len(hit):
                lines.append(f"<span style='color:gray'>neighbour</span> rank {int(hit[0]) + 1}"
                             f" of {len(marks.rows)}")
        return "<br>".join(lines)

    def _clicked(self, x: float, y: float, modifiers) -> None:
        if self.index is None:
            return
        row = self.index.nearest(x, y, self._radius())
        mode = select_mode(modifiers)
        if row < 0:
            if mode is SelectMode.REPLACE:
                self.state.select([], source=self)
            return
        self.state.select([row], mode, source=self)
        self.state.set_current(row, source=self)

    def _shape_finished(self, tool: str, xs: np.ndarray, ys: np.ndarray, modifiers) -> None:
        index = self.index
        if index is None:
            return
        mode = select_mode(modifiers)
        if tool == "box":
            rows = index.in_box(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
        else:
            rows = index.in_polygon(xs, ys)
        self.state.select(rows, mode, source=self)

    def _run_search(self) -> None:
        text = self.search.text().strip()
        es = self.es
        if not text or es is None:
            self.runner.cancel_kind("map-search")
            self.matches = None
            self._render_timer.start()
            return
        source = es.path / "metadata.parquet" if es.path else es.metadata
        self.runner.submit("map-search", "Searching", lambda state: MetadataQuery(source).search(text),
                         on_done=self._current(self._set_gen)(self._search_done))

    def _search_done(self, rows: np.ndarray) -> None:
        self.matches = rows
        self.info.setText(f"{len(rows):,} items match “{self.search.text()}”")
        self._render_timer.start()

    # --- neighbours, hover from other views, derived colourings ---------------------
    def _neighbours_changed(self, marks: NeighbourMarks | None) -> None:
        self.marks = marks
        self._draw_marks()

    def _draw_marks(self) -> None:
        """Draw the query star, the neighbour rings and the lines between them (cheap at k=1000)."""
        marks, coords = self.marks, self.coords
        empty = np.zeros(0)
        if marks is None or coords is None:
            for item in (self.nb_halo, self.nb_rings, self.nb_query):
                item.setData(empty, empty)
            self.nb_lines.setData(empty, empty)
            self.base_item.setOpacity(1.0)
            return
        self.base_item.setOpacity(DIM_OPACITY)
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

    def _hover_changed(self, row: int, source) -> None:
        if source is self:
            return
        if row < 0 or self.coords is None or row >= len(self.coords):
            self.hover_item.setData([], [])
            return
        x, y = self.coords[row]
        self.hover_item.setData([x], [y])

    def _derived_changed(self, name: str) -> None:
        at = self.colour.findText(name)
        if name in self.state.derived:
            if at < 0:  # before the fidelity entry, which stays last
                fid = self.colour.findText(FIDELITY)
                self.colour.insertItem(fid if fid >= 0 else self.colour.count(), name)
            elif self.colour.currentText() == name:
                self._colour_changed()  # recomputed: show the new values
        elif at >= 0:
            current = self.colour.currentText() == name
            self.colour.removeItem(at)
            if current:
                self.colour.setCurrentIndex(0)
                self._colour_changed()

    def _colour_by_requested(self, name: str) -> None:
        """Another view asked to colour by `name` (a derived array, say)."""
        if name and name != self.colour.currentText() and self.colour.findText(name) >= 0:
            self.colour.setCurrentText(name)
            self._colour_changed()

    # --- export -----------------------------------------------------------------------
    def export_selection(self) -> None:
        from explorer.core.export import export_rows

        es, rows = self.es, self.state.selection
        if es is None or not len(rows):
            self.info.setText("Select some items first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export selection", f"{es.name}-selection.csv",
                                              "CSV (*.csv);;Parquet (*.parquet)")
        if path:
            self.runner.submit("export", "Exporting", lambda state: export_rows(es, rows, path),
                             on_done=lambda p: self.info.setText(f"Wrote {len(rows):,} items to {p}"))

    def export_coordinates(self) -> None:
        from explorer.core.export import export_coordinates

        es, coords = self.es, self.coords
        if es is None or coords is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export coordinates", f"{es.name}-map.parquet",
                                              "Parquet (*.parquet);;CSV (*.csv)")
        if path:
            self.runner.submit("export", "Exporting", lambda state: export_coordinates(es, coords, path),
                             on_done=lambda p: self.info.setText(f"Wrote coordinates to {p}"))

    def export_view(self, path: str | None = None, width: int | None = None) -> None:
        import pyqtgraph.exporters as exporters

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export view", "map.png",
                                                  "PNG image (*.png);;SVG (*.svg)")
        if not path:
            return
        if path.lower().endswith(".svg"):
            exporter = exporters.SVGExporter(self.plot.plotItem)
        else:
            exporter = exporters.ImageExporter(self.plot.plotItem)
            exporter.parameters()["width"] = width or 2 * self.plot.width()
        exporter.export(path)
        self.info.setText(f"Wrote {path}")
