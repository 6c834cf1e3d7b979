"""Cluster labels on the map: the job that finds them, where they go, what a click selects.

The clusters of a layout (`explorer.compute.clusters`) are found and named in a job of the
map panel (kind `labels`), cached with the projection, and shown once they arrive, only on
the layout they were computed for. Which labels show and where is decided again on every
pan and zoom by `cl.place_labels` (pure geometry, a few milliseconds): coarse names on the
whole map, finer ones as their clusters grow on the screen, never overlapping.

The labels are drawn by one item, a child of the view box, in its pixels (not in the map's
coordinates, which pyqtgraph scales): each label's text is rendered once into an image with
a halo of the map's background colour, so it reads over the density on a light and on a
dark map, and a frame costs one image blit per label.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import QGraphicsObject

from explorer.compute import clusters as cl
from explorer.core.colouring import MISSING, Colouring
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.ui.maps.render import DIM_MIN_SELECTED
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.selection_gestures import CLICK_HELP, click_mode
from explorer.ui.state import AppState, SelectMode
from explorer.ui.widgets.error_line import error_text

COLOUR_PREFIX = "Clusters: "  # the colour menu's entries for a level: "Clusters: coarse"
NO_CLUSTER = "(no cluster)"  # what the legend calls the rows in no cluster ...
# ... which a cluster colouring codes as the category of missing values: the map draws that
# grey and under the others (render.grey_codes), as rows in no cluster should be
NOT_IN_A_CLUSTER = MISSING
# per level, coarse first (the finer levels share the last): pixel size, weight, text alpha
STYLES = ((15, QFont.Weight.Bold, 255), (13, QFont.Weight.DemiBold, 245),
          (11, QFont.Weight.Medium, 235))
HALO_PX = 3.0  # the outline of the map's background colour around each letter
PAD_PX = HALO_PX + 1.0  # from the letters to their box's edge: the halo and its soft rim
LABEL_CHARS = 40  # longer names are cut (the tooltip holds all of it)
LAYER_Z = 30  # over the raster, the marks and the hover ring
FADED_OPACITY = 0.3  # a label whose cluster the filter or selection shows little of ...
FIRM_SHARE = 0.25  # ... under a quarter of its rows: a cluster it only grazes reads as background
# methods whose maps are labelled only when the user asks: a PCA of text is one round cloud,
# where HDBSCAN finds two or three clusters that say little (on the 63k Debian set: 2)
LABELS_OFF_FOR = frozenset({"pca"})


def level_names(count: int) -> list[str]:
    """What the colour menu calls each level: coarse, (middle | level 1, ...), fine."""
    if count == 1:
        return ["clusters"]
    middle = ["middle"] if count == 3 else [f"level {i}" for i in range(1, count - 1)]
    return ["coarse", *middle, "fine"]


def cluster_colouring(result: cl.ClusterMap, level: int, name: str) -> tuple[Colouring, str]:
    """Rows coloured by their cluster on `level` (a category per cluster; rows in none are
    NOT_IN_A_CLUSTER: grey, listed as NO_CLUSTER), and the legend's note."""
    clusters = result.levels[level].clusters
    seen: dict[str, int] = {}
    labels = []
    for c in clusters:  # two clusters may share a name: the legend tells them apart
        seen[c.label] = seen.get(c.label, 0) + 1
        labels.append(c.label if seen[c.label] == 1 else f"{c.label} #{c.id}")
    codes = np.asarray(result.column(level)).astype(np.int16)
    outside = int(np.count_nonzero(codes < 0))
    counts = [c.count for c in clusters]
    if outside:
        codes[codes < 0] = len(labels)
        labels.append(NOT_IN_A_CLUSTER)
        counts.append(outside)
    note = f"{len(clusters):,} clusters" + (
        f"; {outside / max(len(codes), 1):.0%} of the items are in no cluster (grey)" if outside else "")
    drawn = result.info.get("sampled")
    if drawn:
        note += (f"; found on a draw of {drawn:,} items, each other item in its nearest drawn "
                 f"item's cluster")
    return Colouring(name, "categorical", codes=codes, labels=labels, counts=counts), note


def faded_labels(result: cl.ClusterMap, cands: cl.Candidates, shown: np.ndarray) -> np.ndarray:
    """Per candidate, whether fewer than FIRM_SHARE of its cluster's rows are in `shown`."""
    faded = np.ones(len(cands), bool)
    for lv in result.levels:
        ids = np.asarray(result.column(lv.level))[shown]
        held = np.bincount(ids[ids >= 0], minlength=len(lv.clusters))
        sizes = np.maximum([c.count for c in lv.clusters], 1)
        on_level = cands.level == lv.level
        faded[on_level] = (held / sizes < FIRM_SHARE)[cands.ident[on_level]]
    return faded


class LabelLayer(QGraphicsObject):
    """The placed labels, drawn in the view box's pixels over everything on the map.

    Only the labels' boxes are its shape, so a click or a drag anywhere else reaches the
    map below; a click on a label emits `labelClicked` instead.
    """

    labelClicked = Signal(int, object, bool)  # candidate, keyboard modifiers, double click

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.setZValue(LAYER_Z)
        self.setCursor(Qt.CursorShape.PointingHandCursor)  # over a label (its shape)
        self.images: list[QImage] = []  # per placed label
        self.faded = np.zeros(0, bool)  # per placed label: drawn faint
        self.rects = np.zeros((0, 4))
        self.index = np.zeros(0, np.int64)
        self.note = ""
        self._shape = QPainterPath()

    def boundingRect(self) -> QRectF:
        parent = self.parentItem()
        return parent.boundingRect() if parent is not None else QRectF()

    def shape(self) -> QPainterPath:
        return self._shape

    def show_labels(self, index: np.ndarray, rects: np.ndarray, images: list[QImage],
                    faded: np.ndarray | None = None) -> None:
        """`faded`: per placed label, whether it is drawn faint (see `MapLabels.faded`)."""
        self.prepareGeometryChange()
        self.index, self.rects, self.images = index, rects, images
        self.faded = np.zeros(len(images), bool) if faded is None else faded
        path = QPainterPath()
        for left, top, right, bottom in rects.tolist():
            path.addRect(QRectF(left, top, right - left, bottom - top))
        self._shape = path
        self.update()

    def show_note(self, text: str) -> None:
        """A word in the top-left corner ("Naming clusters… 40%"), or none."""
        if text != self.note:
            self.note = text
            self.update()

    def label_at(self, pos: QPointF) -> int:
        """The candidate whose label is under `pos` (this item's pixels), -1 for none."""
        r, x, y = self.rects, pos.x(), pos.y()
        hit = np.flatnonzero((r[:, 0] <= x) & (x <= r[:, 2]) & (r[:, 1] <= y) & (y <= r[:, 3]))
        return int(self.index[hit[-1]]) if hit.size else -1

    def paint(self, painter: QPainter, _option, _widget=None) -> None:
        for image, (left, top, _r, _b), faded in zip(self.images, self.rects.tolist(),
                                                      self.faded.tolist()):
            painter.setOpacity(FADED_OPACITY if faded else 1.0)
            painter.drawImage(QPointF(left, top), image)
        painter.setOpacity(1.0)
        if self.note:
            painter.drawImage(QPointF(8, 6), text_image(self.note, 2, self.dark_map()))

    def dark_map(self) -> bool:
        scene = self.scene()
        views = scene.views() if scene is not None else []
        return bool(views) and views[0].palette().base().color().lightnessF() < 0.5

    def mouseClickEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        hit = self.label_at(ev.pos())
        if hit < 0:
            ev.ignore()
            return
        ev.accept()
        self.labelClicked.emit(hit, ev.modifiers(), bool(ev.double()))


def label_font(level: int) -> QFont:
    size, weight, _alpha = STYLES[min(level, len(STYLES) - 1)]
    font = QFont()
    font.setPixelSize(size)
    font.setWeight(weight)
    return font


def short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def text_outline(text: str, level: int) -> tuple[QPainterPath, float, float]:
    """`text`'s letters as a label of `level` and its box (px): the line's height and
    advance, widened to any glyph reaching past them (a bold "f" or "j" does), plus PAD_PX
    all round, so neither a letter nor its halo is cut at the box's edge."""
    font = label_font(level)
    metrics = QFontMetricsF(font)
    text = short(text)
    path = QPainterPath()
    path.addText(0.0, metrics.ascent(), font, text)
    bounds = path.boundingRect().united(
        QRectF(0.0, 0.0, metrics.horizontalAdvance(text), metrics.ascent() + metrics.descent()))
    path.translate(PAD_PX - bounds.left(), PAD_PX - bounds.top())
    return (path, float(np.ceil(bounds.width() + 2 * PAD_PX)),
            float(np.ceil(bounds.height() + 2 * PAD_PX)))


def text_size(text: str, level: int) -> tuple[float, float]:
    """The box (px) of `text` drawn as a label of `level`, halo included."""
    _path, w, h = text_outline(text, level)
    return w, h


def text_image(text: str, level: int, dark: bool, ratio: float = 1.0) -> QImage:
    """`text` as a label of `level`: letters in the map's ink, outlined with its background
    (a halo), so it reads over any colour of the density."""
    path, w, h = text_outline(text, level)
    image = QImage(max(1, int(np.ceil(w * ratio))), max(1, int(np.ceil(h * ratio))),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(ratio)
    image.fill(Qt.GlobalColor.transparent)
    alpha = STYLES[min(level, len(STYLES) - 1)][2]
    ink = QColor(245, 245, 245, alpha) if dark else QColor(20, 20, 20, alpha)
    halo = QColor(24, 24, 24, 215) if dark else QColor(255, 255, 255, 225)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    stroker = QPainterPathStroker(QPen(halo, 2 * HALO_PX))
    stroker.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    stroker.setWidth(2 * HALO_PX)
    painter.fillPath(stroker.createStroke(path), halo)
    painter.fillPath(path, ink)
    painter.end()
    return image


class MapLabels(QObject):
    """The map's cluster labels for the layout shown: computed in a job, placed on every
    view change, selecting a cluster on a click. The panel tells it of each layout
    (`set_map`); it tells the panel when the clusters arrive or go (`changed`), so the
    colour menu offers or withdraws colouring by cluster."""

    changed = Signal()
    enabledChanged = Signal(bool)  # labels shown or not, for the layout's method

    def __init__(self, jobs: PanelJobs, state: AppState, viewbox,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs, self.state, self.viewbox = jobs, state, viewbox
        self.layer = LabelLayer(viewbox)
        self.layer.labelClicked.connect(self._label_clicked)
        self.enabled = True
        self.wanted: dict[str, bool] = {}  # the user's choice per projection method
        self.column: str | None = None  # what names the clusters (None: the text column)
        self.es: EmbeddingSet | None = None
        self.projection = None
        self.coords: np.ndarray | None = None  # the layout the labels are for
        self.result: cl.ClusterMap | None = None
        self.candidates: cl.Candidates | None = None
        self.placement: cl.Placement = cl.Placement(np.zeros(0, np.int64), np.zeros((0, 4)))
        self.widths = self.heights = np.zeros(0)
        self.images: dict[tuple[int, bool, float], QImage] = {}  # (candidate, dark, ratio)
        self.job_id: int | None = None
        self._faded: tuple[object, np.ndarray] = (None, np.zeros(0, bool))  # (what, per candidate)
        self.wanted_colour = ""  # a cluster colouring to choose once the clusters arrive
        self._timer = QTimer(self, singleShot=True, interval=0)  # one placement per event
        self._timer.timeout.connect(self.place)
        state.filterChanged.connect(lambda *_: self._timer.start())
        state.selectionChanged.connect(lambda *_: self._timer.start())
        viewbox.sigRangeChanged.connect(lambda *_: self._timer.start())
        viewbox.sigResized.connect(lambda *_: self._timer.start())
        jobs.runner.jobProgress.connect(self._progress)

    # --- what to label ----------------------------------------------------------------
    def set_map(self, es: EmbeddingSet | None, projection=None,
                coords: np.ndarray | None = None) -> None:
        """A new layout (`projection`, drawn as `coords`), or none (None: no set, a partial
        layout, a concept plane): the old labels go, the new ones are computed if shown."""
        if es is not self.es:
            self.column, self.wanted_colour = None, ""
        self.es, self.projection, self.coords = es, projection, coords
        self._drop()
        if projection is not None:
            method = projection.params.method
            self._enable(self.wanted.get(method, method not in LABELS_OFF_FOR))
        self.compute()

    def set_enabled(self, on: bool) -> None:
        """The user turned the labels on or off: for this projection method from now on."""
        if self.projection is not None:
            self.wanted[self.projection.params.method] = on
        self._enable(on)

    def restore(self, wanted: dict[str, bool], column: str | None) -> None:
        """A session's choices: labels on or off per method, and what names the clusters."""
        self.wanted.update(wanted)
        if column is not None:
            self.set_column(column)
        if self.projection is not None:
            method = self.projection.params.method
            self._enable(self.wanted.get(method, method not in LABELS_OFF_FOR))
            if self.enabled:
                self.compute()
            self._timer.start()

    def _enable(self, on: bool) -> None:
        if on != self.enabled:
            self.enabled = on
            self.enabledChanged.emit(on)
        self.layer.setVisible(on)
        if on:
            self.compute()  # if they are not found yet
        else:
            self.jobs.cancel("labels")
            self._end_job()
        self._timer.start()

    def set_column(self, column: str | None) -> None:
        """Name the clusters by `column` (None: the set's text column) and compute them again."""
        if column != self.column:
            self.column = column
            self._drop()
            self.compute()

    def compute(self) -> None:
        """Find and name the clusters of the layout shown, in a job (cached with the map)."""
        es, projection, coords = self.es, self.projection, self.coords
        if not self.enabled or es is None or projection is None or coords is None \
                or self.result is not None:
            return
        params = cl.ClusterParams(column=self.column)

        def work(state):
            state.status("Naming clusters")
            result = cl.cached_cluster_map(es, projection, params, state)
            return result, cl.label_candidates(result, coords)

        job = self.jobs.submit("labels", "Naming clusters", work,
                               on_done=lambda found: self._done(coords, *found),
                               on_error=lambda error: self._failed(coords, error))
        self.job_id = job.id
        self.layer.show_note("Naming clusters…")

    def _drop(self) -> None:
        had = self.result is not None
        self.jobs.cancel("labels")
        self._end_job()
        self.result = self.candidates = None
        self.images = {}
        self.widths = self.heights = np.zeros(0)
        self.place()
        if had:
            self.changed.emit()

    def _end_job(self) -> None:
        self.job_id = None
        self.layer.show_note("")

    def _progress(self, job_id: int, fraction: float) -> None:
        if job_id == self.job_id:
            self.layer.show_note(f"Naming clusters… {fraction:.0%}")

    def _done(self, coords: np.ndarray, result: cl.ClusterMap, cands: cl.Candidates) -> None:
        if coords is not self.coords:
            return  # computed for a layout replaced since
        self._end_job()
        self.result, self.candidates = result, cands
        sizes = np.array([text_size(self.label(i), int(cands.level[i]))
                          for i in range(len(cands))]).reshape(-1, 2)
        self.widths, self.heights = sizes[:, 0], sizes[:, 1]
        self.place()
        self.changed.emit()

    def _failed(self, coords: np.ndarray, error: BaseException) -> None:
        if coords is not self.coords:
            return
        self._end_job()
        if isinstance(error, InputError) and error.option == "column" and error.choices \
                and self.column is None:
            # no text column: name by a column of categories, the one coloured by if it is one
            colour = self.state.colour_by
            self.set_column(colour if colour in error.choices else error.choices[0])
            return
        self.layer.show_note(f"No labels: {error_text(error)}")

    # --- where they go ------------------------------------------------------------------
    def label(self, candidate: int) -> str:
        c = self.cluster(candidate)
        return c.label if c is not None else ""

    def cluster(self, candidate: int) -> cl.Cluster | None:
        cands, result = self.candidates, self.result
        if cands is None or result is None or not 0 <= candidate < len(cands):
            return None
        return result.levels[int(cands.level[candidate])].clusters[int(cands.ident[candidate])]

    def place(self) -> None:
        """Choose and place the labels for the view shown now (on every pan and zoom)."""
        self._timer.stop()
        cands = self.candidates
        width, height = self.viewbox.width(), self.viewbox.height()
        if cands is None or not self.enabled or width < 1 or height < 1:
            self.placement = cl.Placement(np.zeros(0, np.int64), np.zeros((0, 4)))
        else:
            r = self.viewbox.viewRect()
            self.placement = cl.place_labels(cands, self.widths, self.heights,
                                             (r.left(), r.top(), r.right(), r.bottom()),
                                             (width, height))
        dark = self.layer.dark_map()
        ratio = self.layer.scene().views()[0].devicePixelRatioF() \
            if self.layer.scene() is not None and self.layer.scene().views() else 1.0
        images = []
        for i in self.placement.index.tolist():
            key = (i, dark, ratio)
            if key not in self.images:
                self.images[key] = text_image(self.label(i), int(cands.level[i]), dark, ratio)
            images.append(self.images[key])
        faded = self.faded()
        self.layer.show_labels(self.placement.index, self.placement.rects, images,
                               faded[self.placement.index] if len(faded) else None)

    def faded(self) -> np.ndarray:
        """Per candidate, whether under FIRM_SHARE of its cluster's rows are among those the
        map shows in colour (those the filter lets through and, while a selection dims the
        map, the selected): such a label is drawn faint, so the names read where the
        coloured points are, not on every cluster a scattered selection grazes."""
        cands, result = self.candidates, self.result
        if cands is None or result is None:
            return np.zeros(0, bool)
        shown = self.state.filter.rows
        selection = np.asarray(self.state.selection, dtype=np.int64)
        if len(selection) >= DIM_MIN_SELECTED:
            shown = selection if shown is None else np.intersect1d(shown, selection)
        if shown is None:
            return np.zeros(len(cands), bool)
        key = (id(self.state.filter), selection.tobytes(), id(result))
        if self._faded[0] != key:
            self._faded = (key, faded_labels(result, cands, np.asarray(shown, np.int64)))
        return self._faded[1]

    def theme_changed(self) -> None:
        self.images = {}
        self.place()

    # --- what they do -------------------------------------------------------------------
    def at(self, scene_pos: QPointF) -> int:
        """The candidate whose label is under a scene position, -1 for none."""
        if not self.layer.isVisible():
            return -1
        return self.layer.label_at(self.layer.mapFromScene(scene_pos))

    def tooltip(self, candidate: int) -> str:
        c = self.cluster(candidate)
        if c is None:
            return ""
        names = level_names(len(self.result.levels))
        terms = ", ".join(html.escape(t) for t in c.terms)
        return (f"<b>{html.escape(c.label)}</b><br>{c.count:,} items · {names[c.level]} "
                f"cluster" + (f"<br><span style='color:gray'>terms</span> {terms}" if terms
                              else "")
                + f"<br><span style='color:gray'>{CLICK_HELP} · double-click zooms to "
                  "it</span>")

    def rows(self, candidate: int) -> np.ndarray:
        c = self.cluster(candidate)
        return self.result.rows(c.level, c.id) if c is not None else np.zeros(0, np.int64)

    def _label_clicked(self, candidate: int, modifiers, double: bool) -> None:
        """The keys mean what they mean everywhere (`selection_gestures.click_mode`), the
        cluster being the item clicked: Ctrl takes it away when all of it is selected and
        adds it otherwise (row by row, a partly selected cluster would be scattered)."""
        rows = self.rows(candidate)
        if double:
            self.state.request_frame(rows)
            return
        mode = click_mode(modifiers)
        if mode is SelectMode.TOGGLE:
            inside = len(rows) > 0 and np.isin(rows, self.state.selection).all()
            mode = SelectMode.SUBTRACT if inside else SelectMode.ADD
        self.state.select(rows, mode, source=self)

    # --- colouring and export -----------------------------------------------------------
    def colourings(self) -> dict[str, int]:
        """The colour menu's entries for the clusters shown -> their level."""
        if self.result is None or not self.result.levels:
            return {}
        names = level_names(len(self.result.levels))
        return {COLOUR_PREFIX + names[lv.level]: lv.level for lv in self.result.levels}

    def colouring_job(self, name: str) -> Callable | None:
        """A job colouring the rows by the clusters of the menu entry `name`, or None."""
        level, result = self.colourings().get(name), self.result
        if level is None or result is None:
            return None
        return lambda _state: cluster_colouring(result, level, name)

    def sync_colour_menu(self, combo) -> tuple[bool, str]:
        """Offer this layout's cluster colourings in the colour menu `combo` and withdraw
        any other; (the colouring chosen was withdrawn, a colouring to choose now). One
        withdrawn with its layout is wanted again: chosen when the next clusters arrive."""
        offered = self.colourings()
        withdrawn = False
        for name in [combo.itemText(i) for i in range(combo.count())]:
            if name.startswith(COLOUR_PREFIX) and name not in offered and combo.withdraw(name):
                self.wanted_colour, withdrawn = name, True
        for name in offered:
            combo.offer(name)
        choose = ""
        if self.wanted_colour in offered:
            choose, self.wanted_colour = self.wanted_colour, ""
        return withdrawn, choose

    def level_columns(self, coords: np.ndarray | None) -> dict[str, np.ndarray]:
        """`level_0`, ... for an export of `coords`, when the labels shown are of them."""
        if self.result is None or coords is None or coords is not self.coords:
            return {}
        return self.result.level_columns()


def legend_names(colouring: Colouring) -> dict[str, str]:
    """How the legend shows a cluster colouring's grey entry: NO_CLUSTER, not "(missing)"."""
    return {NOT_IN_A_CLUSTER: NO_CLUSTER} if colouring.column.startswith(COLOUR_PREFIX) else {}


__all__ = ["COLOUR_PREFIX", "FIRM_SHARE", "NOT_IN_A_CLUSTER", "NO_CLUSTER", "LabelLayer",
           "MapLabels", "cluster_colouring", "faded_labels", "legend_names", "level_names",
           "text_image", "text_outline", "text_size"]
