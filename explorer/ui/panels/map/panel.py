"""The map: a 2-D projection drawn as a raster, so millions of points stay fluid.

No Python object per point. The points are rasterised in a worker thread into
an image a bit larger than the view (a density image where points outnumber
pixels, discs where they do not); pyqtgraph moves and scales that image while
the user pans or zooms, and a sharp one replaces it once the view settles.
Hit-testing, box and lasso selection go through a grid index of the
coordinates. The selection is the shared one in AppState.

Every job goes through `self.jobs` (kinds `project`, `index`, `colour`, `fidelity`,
`render`, `search`, `export`, and `labels` in `labels.py`): a result for a set the window
has left is dropped, and a newer job of a kind supersedes the older one. The concept plane
is a `project` job too, so a projection still running never replaces the plane it was
superseded by. What the newest-of-kind rule cannot know (an index, fidelity or labels built
for a layout since replaced, a colouring for a column no longer chosen) is checked against
the data itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QSplitter, QVBoxLayout, QWidget

from explorer.compute.spatial import GridIndex
from explorer.core.colouring import Colouring, colouring_for
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.metadata import query_for
from explorer.ui.maps.canvas import MapCanvas
from explorer.ui.maps.pyramids import PyramidCache, PyramidSource, request, source_for
from explorer.ui.maps.remembered import last_viewed, method_title, remember_viewed
from explorer.ui.maps.render import MARGIN, Layers, palette_for, render_layers
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.panels.map import exports
from explorer.ui.panels.map.controls import Legend, MapToolbar
from explorer.ui.panels.map.gestures import MapGestures
from explorer.ui.panels.map.hover_preview import MapHoverPreview
from explorer.ui.panels.map.labels import COLOUR_PREFIX, MapLabels, legend_names
from explorer.ui.panels.map.layout_settings import TUNED
from explorer.ui.panels.map.model import (FIDELITY, FIDELITY_KEY, FREE_TEXT_TOP, NO_COLOUR,
                                          PLANE, distinct_values, fit_box, frame_box,
                                          hover_html, info_text, is_free_text,
                                          preferred_colour, read_saved_map, too_many_note)
from explorer.ui.panels.map.thumbnail_layer import ThumbnailLayer
from explorer.ui.state import ConceptPlane, NeighbourMarks
from explorer.ui.widgets.error_line import error_text

HOVER_PX = 8
FIDELITY_K = 10  # neighbours compared by the fidelity colouring


class MapView(Panel):
    key = "map"
    title = "Map"
    area = Area.CENTRE
    renderFinished = Signal(str, int)  # mode ("density"/"points"), points in the image

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.es: EmbeddingSet | None = None
        self.coords: np.ndarray | None = None
        self.index: GridIndex | None = None
        self.colouring: Colouring | None = None
        self.fidelity: np.ndarray | None = None
        self.hidden: set[int] = set()  # category codes unticked in the legend
        self.matches: np.ndarray | None = None
        self.marks: NeighbourMarks | None = None
        self.projection_info: dict = {}
        self.projection_params = None  # ProjectionParams of the layout shown, once one is
        self._pending_hidden: set[str] = set()  # categories a session hides once coloured
        self._pending_view: QRectF | None = None  # a session's zoom, for the next layout
        self._image_rect: tuple | None = None
        self._sorted_cache: dict = {}
        self.pyramids = PyramidCache()  # density redraws after a zoom read bins, not points

        self.toolbar = MapToolbar()
        bar = self.toolbar
        self.method, self.colour, self.size, self.search = bar.method, bar.colour, bar.size, \
            bar.search
        self.plot = MapCanvas()
        self.viewbox = self.plot.viewbox
        self.labels = MapLabels(self.jobs, self.state, self.viewbox, self)
        self.legend_box = Legend()
        self.legend, self.colour_bar = self.legend_box.items, self.legend_box.colour_bar
        splitter = QSplitter()
        splitter.addWidget(self.plot)
        splitter.addWidget(self.legend_box)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(maximum=1000, textVisible=False, maximumHeight=4)
        self.progress.hide()
        self.project_job = self.jobs.track("project", self.progress,
                                           on_status=self._projection_status)
        self.progress.valueChanged.connect(lambda _v: self._projection_status())
        self._phase = ""  # the running projection's phase, as its job says it
        self._follow = True  # partial layouts are fitted until the user moves the view
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(bar)
        layout.addWidget(self.progress)
        layout.addWidget(self.error_line)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.info)

        self._render_timer = QTimer(self, singleShot=True, interval=40)
        self._render_timer.timeout.connect(self._render)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self._run_search)
        self.method.activated.connect(lambda _i: self.compute_projection())
        bar.layout_settings.remapRequested.connect(self.compute_projection)
        self.viewbox.sigRangeChangedManually.connect(lambda *_: setattr(self, "_follow", False))
        self.colour.activated.connect(lambda _i: self._colour_changed())
        self.size.valueChanged.connect(lambda _v: self._render_timer.start())
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        bar.toolChosen.connect(self.set_tool)
        bar.fitRequested.connect(lambda: self.fit(robust=True))
        bar.allRequested.connect(self.fit)
        bar.dim.toggled.connect(lambda _on: self._dim())
        bar.labels.toggled.connect(self.labels.set_enabled)
        self.labels.enabledChanged.connect(bar.labels.show_enabled)
        bar.labels.columnChosen.connect(self.labels.set_column)
        self.labels.changed.connect(self._clusters_changed)
        bar.exportRequested.connect(self._export_requested)
        self.gestures = MapGestures(self)
        bar.selectAllRequested.connect(self.gestures.select_all_shown)
        bar.clearRequested.connect(lambda: self.state.select([], source=self))
        self.legend_box.toggled.connect(self._legend_toggled)
        self.viewbox.sigRangeChanged.connect(self._range_changed)
        self.viewbox.sigResized.connect(lambda *_: self._render_timer.start())
        self.plot.themeChanged.connect(self._render_timer.start)
        self.plot.themeChanged.connect(self.labels.theme_changed)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.hover_preview = MapHoverPreview(self.plot, self.state)  # thumbnails on hover
        self.thumbnail_layer = ThumbnailLayer(self.viewbox, self.state, self.jobs,
                                              lambda: self.coords, lambda: self.index,
                                              self.visible_rows)  # pictures when zoomed in
        state = self.state
        state.planeChanged.connect(self.show_plane)
        state.selectionChanged.connect(lambda rows, src: self._render_timer.start())
        state.filterChanged.connect(lambda _filter, _src: self._render_timer.start())
        state.neighboursChanged.connect(self._neighbours_changed)
        state.frameRequested.connect(self.frame_rows)
        state.hoverChanged.connect(self._hover_changed)
        state.derivedChanged.connect(self._derived_changed)
        state.colourByChanged.connect(self._colour_by_requested)
        self.plot.show_message("Open a set to see its map")

    # --- session ------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """What a session keeps of the map; projections are cached, so reopening it is quick."""
        params = self.projection_params
        colour = self.colour.currentText() if self.colour.currentIndex() > 0 else ""
        labels = self.colouring.labels if self.colouring is not None \
            and self.colouring.kind == "categorical" else []
        view = self.viewbox.viewRect()
        return {"projection": asdict(params) if params is not None else None,
                "concept_plane": self.method.currentText() == PLANE,
                "colour_by": FIDELITY_KEY if colour == FIDELITY else colour,
                "hidden": sorted(str(labels[c]) for c in self.hidden if c < len(labels)),
                "point_size": self.size.value(), "search": self.search.text(),
                "dim_for_neighbours": self.toolbar.dim.isChecked(),
                "labels": dict(self.labels.wanted), "label_column": self.labels.column,
                "view": [view.left(), view.top(), view.width(), view.height()]
                if self.coords is not None else None}

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        """Restore `settings()` on the set just opened; returns what could not be restored.

        A concept plane is asked of the concepts panel (`state.request_plane()`), which
        answers with `state.planeChanged`.
        """
        saved = read_saved_map(settings)
        notes = list(saved.notes)
        if saved.point_size is not None:
            self.size.setValue(saved.point_size)
        if saved.search is not None:
            self.search.setText(saved.search)
        if saved.dim is not None:
            self.toolbar.dim.setChecked(saved.dim)
        self.labels.restore(saved.labels, saved.label_column)
        if saved.colour is not None:
            if self.colour_by(saved.colour or NO_COLOUR):
                self._pending_hidden = saved.hidden
            elif saved.colour.startswith(COLOUR_PREFIX):  # once the clusters are found
                self.labels.wanted_colour = saved.colour
            else:
                notes.append(f"the map was coloured by “{saved.colour}”, which this set does "
                             "not have until it is computed again")
        if saved.plane:
            self.state.request_plane()
            return notes
        if saved.view is not None:
            self._pending_view = QRectF(*saved.view)
        if saved.projection is not None:
            self.compute_projection(saved.projection)
        return notes

    # --- view ---------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.viewbox.tool = tool
        self.toolbar.choose_tool(tool)

    def fit(self, robust: bool = False) -> None:
        """Show every point, or with `robust` the 0.5-99.5 percentile box (Fit, Home, a new
        layout): a few far outliers would otherwise shrink the map to a dot."""
        self.plot.show_box(fit_box(self.coords, robust), padding=0.06 if robust else 0.03)

    def frame_rows(self, rows: np.ndarray) -> None:
        """Zoom to these rows, keeping at least a tenth of the map around them for context."""
        self.plot.show_box(frame_box(self.coords, rows), padding=0.15)

    def pending(self) -> bool:
        """A render is scheduled but not started (the debounce timer runs)."""
        return self._render_timer.isActive() or self._search_timer.isActive()

    # --- set and projection ------------------------------------------------------
    def new_set(self, es: EmbeddingSet | None) -> None:
        self.labels.set_map(es)
        self._image_rect = None
        self._sorted_cache = {}
        self.pyramids.clear()
        self.es = es
        self.coords = self.index = self.colouring = self.fidelity = self.matches = None
        self.projection_params = self._pending_view = None
        self.projection_info = {}
        self._pending_hidden = set()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.hidden = set()
        self.plot.clear_images()
        self.plot.show_hover(None)
        self.plot.set_axis_labels(None, None)
        self.marks = None
        self.plot.draw_marks(None, None)
        self.legend_box.clear()
        self.info.clear()
        self.colour.clear()
        if es is None:
            self.plot.show_message("Open a set to see its map")
            return
        self.colour.fill(es.columns, list(self.state.derived))
        self.toolbar.labels.fill(es.columns)
        preferred = preferred_colour(es.columns)
        if preferred:
            self.colour.setCurrentText(preferred)
        self.method.refresh()
        from explorer.compute.projection import ProjectionParams, default_params

        self.toolbar.layout_settings.show_params(ProjectionParams(metric=es.metric))
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

        if params is None:
            if self.method.currentText() == PLANE:
                self.state.request_plane()  # the concepts panel answers with planeChanged
                return
            method = self.method.chosen()
            if method is None:  # a plugin's method gone since the menu was filled
                self.method.refresh()
                return
            tuned = self.toolbar.layout_settings.values() if method in TUNED else {}
            params = ProjectionParams(**{"method": method, "metric": es.metric, **tuned})
        name = method_title(params.method)
        self.error_line.clear_error()
        self._phase = f"Computing {name}" if name else ""
        self._follow = True
        self._projection_status()
        self.index = None
        self.jobs.cancel("index")

        def work(state):
            chosen = (last_viewed(es) or params) if resume else params
            projection = cached_project(es, chosen, state)
            remember_viewed(es, chosen)
            return projection

        self.project_job.submit(f"Computing the {name or 'map'}", work,
                                on_done=self._projection_done,
                                on_partial=self._projection_partial,
                                on_error=self._projection_failed)

    def _projection_status(self, text: str | None = None) -> None:
        """The running projection's phase and progress: in the middle of an empty map, else
        on the line under it (the layout shown stays until the new one arrives)."""
        if text is not None:
            self._phase = text.rstrip("…")
        if not self.project_job.running() and text is None:
            return
        shown = f"{self._phase}… {self.progress.value() / 10:.0f}%" if self._phase else ""
        if self.coords is None:
            self.plot.show_message(shown)
        else:
            self.info.setText(shown)

    def _projection_partial(self, coords: np.ndarray) -> None:
        """An intermediate layout: drawn, and fitted to the view (each one spreads further)
        unless the user has moved the view since the projection began."""
        self.coords = np.asarray(coords, dtype=np.float32)
        self.index = None  # it described the coordinates replaced
        self.labels.set_map(self.es)  # the labels of the layout replaced go too
        self.plot.show_message("")
        if self._follow:
            self.fit(robust=True)
        self.plot.draw_marks(self.marks, self.coords)
        self._render_timer.start()

    def _projection_done(self, projection) -> None:
        self.projection_params = projection.params
        method = projection.params.method
        self.method.show_method(method)
        if method in TUNED:
            self.toolbar.layout_settings.show_params(projection.params)
        self._show_layout(projection.coords, {"method": method, "seconds": projection.seconds,
                                              **projection.info},
                          fit=self.coords is None or (method != "identity" and self._follow))
        self.plot.set_axis_labels(None, None)
        self.labels.set_map(self.es, projection, self.coords)

    def _projection_failed(self, error: BaseException) -> None:
        self.plot.show_message("")
        self.info.setText(info_text(self.projection_info) if self.projection_info else "")
        self.show_error(error)

    def show_plane(self, plane: ConceptPlane) -> None:
        """Place the items at their scores along two concept directions (x, y).

        Through the `project` kind, so a projection still running is superseded by it.
        """
        if self.es is None or len(plane.coords) != self.es.count:
            return
        self.jobs.submit("project", "Placing the concept plane", lambda _state: plane,
                         on_done=self._plane_ready)

    def _plane_ready(self, plane: ConceptPlane) -> None:
        self.method.setCurrentText(PLANE)
        self._show_layout(plane.coords, {"method": "concept plane", "seconds": plane.seconds,
                                         "x": plane.x_label, "y": plane.y_label}, fit=True)
        self.plot.set_axis_labels(plane.x_label, plane.y_label)
        self.labels.set_map(self.es)  # clusters are of projections, not of concept scores

    def _show_layout(self, coords: np.ndarray, info: dict, fit: bool) -> None:
        self.coords = np.ascontiguousarray(coords[:, :2], dtype=np.float32)
        self.projection_info = info
        self.fidelity = None
        self.plot.show_message("")
        if fit and self._pending_view is not None:
            self.viewbox.setRange(self._pending_view, padding=0)
            self._pending_view = None
        elif fit:
            self.fit(robust=True)
        self.info.setText(info_text(info))
        self.plot.draw_marks(self.marks, self.coords)
        coords = self.coords
        self.jobs.submit("index", "Indexing the map", lambda _state: GridIndex(coords),
                         on_done=lambda index: self._index_done(index, coords))
        if self.colour.currentText() == FIDELITY:
            self._colour_changed()
        self._render()  # now: a render of the layout replaced is superseded, not shown

    def _index_done(self, index: GridIndex, coords: np.ndarray) -> None:
        if coords is not self.coords:
            return  # built for a layout replaced since
        self.index = index
        self._sorted_cache = {}
        self.pyramids.clear()
        self._render_timer.start()
        self.thumbnail_layer.update_soon()

    # --- colouring -----------------------------------------------------------------
    def _colour_changed(self) -> None:
        es = self.es
        column = self.colour.currentText()
        self.hidden = set()
        self.legend_box.clear()
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
            ready = (colouring, derived.note)

            def work(_state):  # a job all the same, so a colouring still running is superseded
                return ready
        elif (clusters := self.labels.colouring_job(column)) is not None:
            work = clusters
        elif column in es.columns:
            def work(_state):
                colouring = colouring_for(es.metadata, column)
                if colouring.kind != "categorical":
                    return colouring, ""
                distinct = distinct_values(es.metadata, column)
                if is_free_text(distinct, es.count):  # the few repeated texts, the rest grey
                    colouring = colouring_for(es.metadata, column, FREE_TEXT_TOP + 1)
                return colouring, too_many_note(colouring, distinct)
        else:
            self.colouring = None
            self.fidelity = None
            self._dim()
            self.jobs.cancel("colour")
            self._render_timer.start()
            return
        self.jobs.submit("colour", f"Colouring by {column}", work,
                         on_done=lambda result: self._colouring_done(column, *result),
                         on_error=lambda error: self._colouring_failed(column, error))

    def _colouring_done(self, column: str, colouring: Colouring, note: str) -> None:
        if self.colour.currentText() != column:
            return  # another colouring was chosen since
        self.colouring = colouring
        self.fidelity = None
        self._dim()
        self._pending_hidden, pending = set(), self._pending_hidden
        if colouring.kind == "categorical":
            self.hidden = self.legend_box.show_categories(colouring, palette_for(colouring),
                                                          pending, legend_names(colouring))
            self.legend_box.show_note(note)
        else:
            self.legend_box.show_scale(column, colouring.vmin, colouring.vmax, note)
        self._render_timer.start()

    def _colouring_failed(self, column: str, error: BaseException) -> None:
        if self.colour.currentText() != column:
            return
        self.colouring = None
        self._dim()
        self.legend_box.clear()
        self.legend_box.show_title(column)
        self.legend_box.show_note(error_text(error))
        self._render_timer.start()

    def _legend_toggled(self, code: int, shown: bool) -> None:
        if shown:
            self.hidden.discard(code)
        else:
            self.hidden.add(code)
        self._render_timer.start()
        self.thumbnail_layer.update_soon()

    def _compute_fidelity(self) -> None:
        es, coords = self.es, self.coords
        if es is None or coords is None:
            return
        from explorer.compute.fidelity import knn_overlap, trustworthiness_continuity

        def work(state):
            state.status("Comparing map neighbours with original neighbours")
            overlap = knn_overlap(es.vectors, coords, k=FIDELITY_K, metric=es.metric)
            scores = trustworthiness_continuity(es.vectors, coords, k=FIDELITY_K,
                                                metric=es.metric)
            return overlap, scores

        def done(result) -> None:
            if coords is not self.coords or self.colour.currentText() != FIDELITY:
                return  # the layout or the colouring changed since
            overlap, scores = result
            self.fidelity = np.asarray(overlap, dtype=np.float32)
            self.colouring = None
            self._dim()
            self.projection_info.update(scores)
            self.info.setText(info_text(self.projection_info))
            self.legend_box.show_scale(FIDELITY, 0.0, 1.0,
                                       f"share of each item's {FIDELITY_K} nearest neighbours "
                                       "that are near it on the map too")
            self._render_timer.start()

        self.jobs.submit("fidelity", "Measuring map fidelity", work, on_done=done)

    # --- rendering ------------------------------------------------------------------
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

    def pixel_size(self) -> tuple[int, int]:
        """The plot's size in device pixels."""
        ratio = self.devicePixelRatioF()
        return max(1, int(self.viewbox.width() * ratio)), \
            max(1, int(self.viewbox.height() * ratio))

    def layers(self) -> Layers | None:
        """A snapshot of what to draw for the view shown now (None before a layout)."""
        if self.coords is None:
            return None
        view = self.viewbox.viewRect()
        w, h = self.pixel_size()
        mx, my = view.width() * MARGIN, view.height() * MARGIN
        rect = (view.left() - mx, view.right() + mx, view.top() - my, view.bottom() + my)
        index = self.index if self.index is not None and len(self.index) == len(self.coords) \
            else None
        return Layers(self.coords, index, rect, int(w * (1 + 2 * MARGIN)),
                      int(h * (1 + 2 * MARGIN)), self.colouring, self.fidelity,
                      frozenset(self.hidden), self.size.value(), self.state.selection,
                      self.matches, self._sorted_cache, self.plot.dark(),
                      filtered=self.state.filter.rows, pyramids=self.pyramids)

    def _render(self) -> None:
        self._render_timer.stop()
        layers = self.layers()
        if layers is None:
            return
        self.jobs.submit("render", "Drawing the map", render_layers, layers,
                         on_done=lambda result: self.show_render(result, layers.rect, layers))

    def show_render(self, result: tuple, rect: tuple, layers: Layers | None = None) -> None:
        """Show what `render_layers` drew for `rect` (from `layers`: then build the density
        pyramid it could have used, unless a projection still sends partial layouts)."""
        base, overlay, (mode, n_in) = result
        self.plot.show_images(base, overlay, rect)
        self._image_rect = rect
        if layers is not None and not self.project_job.running():
            request(self.pyramids, layers, mode, self.jobs, self._pyramid_built)
        self.renderFinished.emit(mode, n_in)

    def _pyramid_built(self, source: PyramidSource) -> None:
        layers = self.layers()
        if layers is not None and source.same(source_for(layers)):
            self._render()  # the view drawn again, from the pyramid

    # --- interaction -----------------------------------------------------------------
    def _radius(self) -> float:
        """HOVER_PX screen pixels in data units."""
        px = self.viewbox.viewPixelSize()
        return HOVER_PX * max(px[0], px[1])

    def _mouse_moved(self, scene_pos) -> None:
        if self.index is None or not self.viewbox.sceneBoundingRect().contains(scene_pos):
            return
        label = self.labels.at(scene_pos)
        if label >= 0:  # a cluster's name: what it is, what a click does
            self.state.set_hover(-1, source=self)
            self.plot.show_hover(None)
            self.plot.setToolTip(self.labels.tooltip(label))
            return
        p = self.viewbox.mapSceneToView(scene_pos)
        row = self.row_at(p.x(), p.y())
        self.state.set_hover(row, source=self)
        if row < 0:
            self.plot.show_hover(None)
            self.plot.setToolTip("")
            return
        self.plot.show_hover(self.coords[row])
        self.plot.setToolTip(self.hover_text(row))

    def row_at(self, x: float, y: float) -> int:
        """The point drawn nearest (x, y) within HOVER_PX, or -1: a category the legend hides
        is out of reach, as it is out of sight."""
        index = self.index
        if index is None:
            return -1
        r = self._radius()
        row = index.nearest(x, y, r)
        if row < 0 or len(self.visible_rows(np.array([row]))):
            return row
        near = self.visible_rows(index.in_box(x - r, y - r, x + r, y + r))
        if not len(near):
            return -1
        gaps = ((self.coords[near].astype(np.float64) - (x, y)) ** 2).sum(axis=1)
        best = int(np.argmin(gaps))
        return int(near[best]) if gaps[best] <= r * r else -1

    def visible_rows(self, rows: np.ndarray) -> np.ndarray:
        """`rows` without those in a category the legend hides (not drawn at all)."""
        colouring = self.colouring
        if not self.hidden or colouring is None or colouring.kind != "categorical" \
                or self.es is None or len(colouring.codes) != self.es.count:
            return rows
        return rows[~np.isin(colouring.codes[rows], list(self.hidden))]

    def hover_text(self, row: int) -> str:
        """The tooltip of `row` on the map."""
        marks = self.marks
        return hover_html(self.es, row, self.fidelity,
                          {name: d.values for name, d in self.state.derived.items()},
                          marks.rows if marks is not None else None)

    def _run_search(self) -> None:
        text = self.search.text().strip()
        es = self.es
        if not text or es is None:
            self.jobs.cancel("search")
            if self.matches is not None:  # the line under the map said how many matched
                self.info.setText(info_text(self.projection_info))
            self.matches = None
            self._render_timer.start()
            return
        query = query_for(es)  # the library's file, a sharded set's shards, or memory
        self.jobs.submit("search", "Searching",
                         lambda _state: query.search(text),
                         on_done=lambda rows: self._search_done(text, rows))

    def _search_done(self, text: str, rows: np.ndarray) -> None:
        if self.search.text().strip() != text:
            return  # the search was changed or cleared since
        self.matches = rows
        self.info.setText(f"{len(rows):,} items match “{self.search.text()}”")
        self._render_timer.start()

    # --- neighbours, hover from other views, derived colourings ---------------------
    def _neighbours_changed(self, marks: NeighbourMarks | None) -> None:
        self.marks = marks
        self.plot.draw_marks(marks, self.coords)
        self._dim()

    def _dim(self) -> None:
        """Fade the map behind neighbour marks only when Dim is on (the toolbar), and less
        when a colouring is shown, so hubness or concept scores stay readable."""
        coloured = self.colouring is not None or self.fidelity is not None
        self.plot.set_dimmed(self.toolbar.dim.isChecked() and self.marks is not None, coloured)

    def _hover_changed(self, row: int, source) -> None:
        if source is self:
            return
        if row < 0 or self.coords is None or row >= len(self.coords):
            self.plot.show_hover(None)
            return
        self.plot.show_hover(self.coords[row])

    def _derived_changed(self, name: str) -> None:
        if name in self.state.derived:
            if self.colour.offer(name):
                self._colour_changed()  # recomputed: show the new values
        elif self.colour.withdraw(name):
            self._colour_changed()

    def _clusters_changed(self) -> None:
        """Offer colouring by the clusters found, or withdraw it with them."""
        withdrawn, choose = self.labels.sync_colour_menu(self.colour)
        if withdrawn:
            self._colour_changed()
        if choose:
            self.colour_by(choose)
        self.toolbar.labels.show_column(self.labels.column)

    def colour_by(self, name: str) -> bool:
        """Colour the map by `name` (a column, derived values or FIDELITY), if it is offered."""
        at = self.colour.findText(name)
        if at < 0:
            return False
        self.colour.setCurrentIndex(at)
        self._colour_changed()
        return True

    def _colour_by_requested(self, name: str) -> None:
        """Another view asked to colour by `name` (a derived array, say)."""
        if name and name != self.colour.currentText():
            self.colour_by(name)

    # --- export -----------------------------------------------------------------------
    def _export_requested(self, what: str) -> None:
        {"selection": self.export_selection, "coordinates": self.export_coordinates,
         "view": self.export_view}[what]()

    def export_selection(self) -> None:
        exports.export_selection(self)

    def export_coordinates(self) -> None:
        exports.export_coordinates(self)

    def export_view(self, path: str | None = None, width: int | None = None) -> None:
        exports.export_view(self, path, width)
