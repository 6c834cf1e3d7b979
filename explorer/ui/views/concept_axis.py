"""The Axis tab of the Concepts dock: every item's score along the current direction.

What the tab shows for the direction the ConceptContext holds as current:
its poles and how far it can be trusted (held-out accuracy or the pole-text
check, the Spearman correlation with a numeric column, warnings); a histogram
of the scores, optionally split by a metadata column; a brush on it that
selects the items in a score range; the items at each end; and a button that
colours the map by the scores.

Everything that grows with the set (binning, sorting, colouring, validation)
runs in jobs, and every result carries the generation it was asked for, so an
answer for an older direction never overwrites a newer one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCursor, QFontMetrics
from PySide6.QtWidgets import (QApplication, QComboBox, QGridLayout, QHBoxLayout, QLabel,
                               QProgressBar,
                               QPushButton, QSizePolicy, QSplitter, QToolTip, QVBoxLayout,
                               QWidget)

from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.state import AppState, Derived, SelectMode
from explorer.ui.views.concept_context import ConceptContext
from explorer.ui.views.dock_widgets import (DIM_STYLE, error_label, error_text, headline,
                                            shrinkable, wrapping)
from explorer.ui.views.ranked_table import (Column, RowsTable, format_score, item_column,
                                            metadata_column, text_column)
from explorer.ui.views.tracked_job import TrackedJob
from explorer.ui.workers import JobRunner

BINS = 120  # histogram bars: fine enough to show two modes, coarse enough to stay smooth
TOP = 20  # items listed at each end
MAX_CATEGORIES = 12  # a "Colour by" column's largest categories drawn apart; the rest "(other)"
DIRECT_ROWS = 1_000_000  # up to this many rows a brush is resolved on the UI thread (a few ms)
DERIVED_PREFIX = "concept: "  # the map's colour-by entry is this plus the direction's name
NONE = "(none)"

BAR_RGB = (70, 130, 180)
SPLIT_RGB = (225, 0, 115)
HOVER_RGB = (120, 120, 120)
BRUSH_RGBA = (255, 190, 60, 60)
BRUSH_EDGE = (205, 140, 0)
EMPTY_GREY = (205, 205, 205)
ATTENTION = "#b35900"  # warnings: amber that reads on light and dark backgrounds

METHOD_NOTES = {
    "texts": "typed poles",
    "groups": "two groups, mean difference",
    "where": "two filters, mean difference",
    "extremes": "from one item to another",
    "probe": "logistic probe between two groups",
    "component": "principal component",
    "arithmetic": "built from saved directions",
}
BRUSH_HINT = ("<span style='color:gray'>Drag across the plot to select the items in a score "
              "range</span>")
HINT = "Choose a direction above, or define one in the Define tab, to see the items along it."
PLOT_TIP = ("How many items score in each of {bins} equal score ranges. Drag across the plot to "
            "select the items whose score lies in a range, bounds included (hold Shift on "
            "release to add them to the selection); drag the band or its edges to change it.")


# --- numbers, computed in jobs ---------------------------------------------------------
@dataclass
class Binned:
    """The scores of one direction, binned and sorted: everything the plot and lists need."""

    edges: np.ndarray  # float64 (BINS + 1,)
    counts: np.ndarray  # int64 (BINS,): items per bin; sums to the finite scores
    bins: np.ndarray = field(repr=False)  # int16 per row: its bin, -1 for a non-finite score
    ordered: np.ndarray = field(repr=False)  # the scores sorted (NaN last): counts for the brush
    lo: float = 0.0  # smallest and largest finite score
    hi: float = 1.0
    p1: float = 0.0  # percentiles behind the map's colour range
    p99: float = 1.0
    finite: int = 0
    top_a: list = field(default_factory=list)  # cc.top_items: lowest scores first
    top_b: list = field(default_factory=list)  # highest first


def bin_scores(es: EmbeddingSet, scores: np.ndarray, bins: int = BINS, top: int = TOP) -> Binned:
    """Bin the finite scores into `bins` equal ranges between their min and max; the top items."""
    from explorer.compute import concepts as cc

    s = np.asarray(scores)
    ok = np.isfinite(s)
    finite = s if ok.all() else s[ok]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        p1, p99 = (float(v) for v in np.percentile(finite, [1, 99]))
    else:
        lo, hi, p1, p99 = 0.0, 1.0, 0.0, 1.0
    if hi <= lo:  # one value: a bin around it
        pad = max(abs(lo) * 1e-3, 1e-3)
        lo, hi = lo - pad, hi + pad
    if p99 <= p1:
        p1, p99 = lo, hi
    edges = np.linspace(lo, hi, bins + 1)
    index = np.full(s.shape, -1, dtype=np.int16)
    step = 1 << 20
    for start in range(0, s.size, step):  # in chunks: a float64 copy of 10M scores is 80 MB
        part = s[start:start + step].astype(np.float64)
        b = np.floor((part - lo) / (hi - lo) * bins)
        good = np.isfinite(b)
        index[start:start + step][good] = np.clip(b[good], 0, bins - 1).astype(np.int16)
    counts = np.bincount(index[index >= 0], minlength=bins).astype(np.int64)
    top_a, top_b = cc.top_items(es, s, top) if finite.size == s.size else \
        _top_finite(es, s, ok, top)
    return Binned(edges, counts, index, np.sort(s), lo, hi, p1, p99, int(finite.size),
                  top_a, top_b)


def _top_finite(es: EmbeddingSet, s: np.ndarray, ok: np.ndarray, top: int):
    """cc.top_items over the finite scores only (a NaN would sort to the high end)."""
    from explorer.compute import concepts as cc

    rows = np.flatnonzero(ok)
    low, high = cc.top_items(es, s[rows], top)
    for item in low + high:
        row = int(rows[item["row"]])
        item.update(row=row, label=es.label(row))
    return low, high


def float32_bounds(lo: float, hi: float) -> tuple[np.float32, np.float32]:
    """The float32 interval holding exactly the float32 values x with lo <= x <= hi."""
    a, b = np.float32(lo), np.float32(hi)
    if float(a) < lo:
        a = np.nextafter(a, np.float32(np.inf))
    if float(b) > hi:
        b = np.nextafter(b, np.float32(-np.inf))
    return a, b


def rows_between(scores: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Rows whose score lies in [lo, hi], bounds included (compared as exact numbers)."""
    s = np.asarray(scores)
    if s.dtype == np.float32:
        a, b = float32_bounds(lo, hi)
    else:
        a, b = lo, hi
    return np.flatnonzero((s >= a) & (s <= b)).astype(np.int64)


def count_between(ordered: np.ndarray, lo: float, hi: float) -> int:
    """How many of the sorted scores lie in [lo, hi]: two binary searches."""
    a, b = float32_bounds(lo, hi) if ordered.dtype == np.float32 else (lo, hi)
    return max(0, int(np.searchsorted(ordered, b, "right") - np.searchsorted(ordered, a, "left")))


@dataclass
class Split:
    """The histogram split by a metadata column."""

    column: str
    kind: str  # "categorical" | "numeric"
    labels: list[str] = field(default_factory=list)  # categorical: a layer each, largest first
    colours: list[tuple] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    stacks: np.ndarray | None = None  # int64 (len(labels), BINS)
    levels: np.ndarray | None = None  # numeric: each bin's mean percentile (0-1), NaN: no value
    quartiles: tuple = ()  # numeric: the column's 0, 25, 50, 75 and 100th percentiles


def split_by(es: EmbeddingSet, binned: Binned, column: str,
             max_categories: int = MAX_CATEGORIES) -> Split:
    """Per-bin counts of each category, or each bin's median value of a numeric column."""
    from explorer.compute import raster
    from explorer.core.colouring import MISSING, OTHER, colouring_for

    colouring = colouring_for(es.metadata, column, max_categories)
    bins = binned.bins
    nb = len(binned.counts)
    if colouring.kind == "categorical":
        k = len(colouring.labels)
        codes = colouring.codes.astype(np.int64)
        ok = (bins >= 0) & (codes >= 0)
        stacks = np.bincount(codes[ok] * nb + bins[ok], minlength=k * nb).reshape(k, nb)
        pal = raster.categorical_palette(k)
        colours = []
        for code, label in enumerate(colouring.labels):
            if label == OTHER:
                colours.append(tuple(int(v) for v in raster.OTHER_GREY[:3]))
            elif label == MISSING:
                colours.append(EMPTY_GREY)
            else:
                colours.append(tuple(int(v) for v in pal[code][:3]))
        return Split(column, "categorical", list(colouring.labels), colours,
                     [int(n) for n in stacks.sum(axis=1)], stacks.astype(np.int64))
    values = colouring.values.astype(np.float64)
    ok = (bins >= 0) & np.isfinite(values)
    b, v = bins[ok].astype(np.int64), values[ok]
    levels = np.full(nb, np.nan)
    if v.size:
        # each item's percentile in the column (ties share theirs), averaged per bin: robust
        # to skewed columns and outliers, and what a Spearman correlation looks at
        from scipy.stats import rankdata

        pct = (rankdata(v) - 0.5) / v.size
        per_bin = np.bincount(b, minlength=nb)
        has = per_bin > 0
        levels[has] = np.bincount(b, weights=pct, minlength=nb)[has] / per_bin[has]
        quartiles = tuple(float(x) for x in np.percentile(v, [0, 25, 50, 75, 100]))
    else:
        quartiles = ()
    return Split(column, "numeric", levels=levels, quartiles=quartiles)


def viridis(t: float) -> tuple[int, int, int]:
    from explorer.compute import raster

    i = int(round(min(1.0, max(0.0, t)) * (len(raster.VIRIDIS) - 1)))
    return tuple(int(v) for v in raster.VIRIDIS[i][:3])


def colour_columns(es: EmbeddingSet) -> list[str]:
    """Metadata columns a histogram can be split by: categories and numbers, not ids or texts."""
    skip = {es.id_column, es.text_column}
    out = []
    for f in es.metadata.schema:
        t = f.type
        if f.name in skip:
            continue
        if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)
                or pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
                or pa.types.is_decimal(t)):
            out.append(f.name)
    return out


# --- texts -------------------------------------------------------------------------------
def fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if abs(x) >= 10 ** -digits or x == 0 else f"{x:.2g}"


def p_text(p: float) -> str:
    if p == 0:
        return "p < 1e-300"
    return f"p = {p:.3f}" if p >= 0.001 else f"p = {p:.0e}"


def validity_tokens(d, v) -> tuple[list, list[str]]:
    """The validity line as plain texts and (number, what it means) pairs, and the warnings."""
    if v is None:
        return ["Not checked yet: choose a column under “Against” (or “(none)”) to check "
                "it."], []
    a, b = d.label_a, d.label_b
    out: list = []
    if v.heldout_accuracy is not None:
        out += ["held-out accuracy ", (fmt(v.heldout_accuracy, 2),
                f"The share of held-out items ({v.folds}-fold cross-validation, the direction "
                "rebuilt on each training part) that land on their own group's side of the "
                "split; 0.5 is chance.")]
        if v.n_a != v.n_b and v.heldout_balanced_accuracy is not None:
            out += [" (balanced ", (fmt(v.heldout_balanced_accuracy, 2),
                    "The accuracy averaged over the two groups, so the larger group cannot "
                    "carry it; 0.5 is chance."), ")"]
        out += [", ", (f"{v.folds} folds", "How many parts the groups were split into, each "
                                            "held out once."),
                ", ", (f"{v.n_a:,} vs {v.n_b:,} items",
                       f"The items of “{a}” (A) and of “{b}” (B) behind the accuracy"
                       + (", sampled from larger groups." if v.groups_sampled else "."))]
    elif v.pole_accuracy is not None:
        right = int(round(v.pole_accuracy * v.pole_texts))
        out += ["pole texts on their own side ", (f"{right} of {v.pole_texts}",
                "Each pole text, left out in turn, is placed by the other texts: how many fall "
                "on their own pole's side of the midpoint.")]
    elif d.method == "texts":
        out += ["the pole-text check needs two texts per pole"]
    else:
        out += ["no groups to check it on"]
    if v.against:
        if v.spearman is None:
            out += [f" · Spearman with {v.against}: not defined (a constant column or too few "
                    "values)"]
        else:
            out += [f" · Spearman with {v.against} ", (f"ρ = {v.spearman:+.2f}",
                    f"The rank correlation of the items' scores with {v.against}: +1 when the "
                    "scores rise with it, 0 when they do not follow it.")]
            if v.spearman_p is not None:
                out += [" (", (p_text(v.spearman_p), "The chance of a correlation at least this "
                               f"strong if the scores and {v.against} were unrelated."), ", "]
            else:
                out += [" ("]
            out += [(f"n = {v.spearman_rows:,}", f"The items with a value in {v.against} behind "
                     "the correlation" + (" (a sample)." if v.rows_sampled else ".")), ")"]
    if v.norm_spearman is not None:
        out += [" · length ", (f"ρ = {v.norm_spearman:+.2f}",
                "The rank correlation of the scores with the items' vector lengths: near 0 means "
                "the direction does not measure length.")]
    if v.mean_cosine is not None:
        out += [" · mean-vector cos ", (fmt(v.mean_cosine, 2),
                "The direction's cosine with the set's mean vector: near 0 means the scores do "
                "not just measure how typical an item is.")]
    return out, list(v.warnings)


def validity_plain(d, v) -> str:
    """The validity line without markup (what the label reads as)."""
    tokens, _ = validity_tokens(d, v)
    return "".join(t if isinstance(t, str) else t[0] for t in tokens)


class PoleLabel(QLabel):
    """A pole's name under one end of the axis, cut with … to fit; the tooltip has it whole."""

    def __init__(self, right: bool) -> None:
        super().__init__()
        self.right = right
        self.full = ""
        font = self.font()
        font.setBold(True)
        self.setFont(font)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setAlignment((Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft)
                          | Qt.AlignmentFlag.AlignVCenter)

    def set_pole(self, name: str) -> None:
        self.full = name
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        arrow = " ▶" if self.right else "◀ "
        metrics = QFontMetrics(self.font())
        room = max(0, self.width() - metrics.horizontalAdvance(arrow) - 6)
        name = metrics.elidedText(self.full, Qt.TextElideMode.ElideRight, room)
        self.setText(f"{name}{arrow}" if self.right else f"{arrow}{name}")


class BrushViewBox(pg.ViewBox):
    """A fixed view whose left-drag draws a score range: `on_drag(lo, hi, finished)`."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self.on_drag = None

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.on_drag is None:
            ev.ignore()
            return
        ev.accept()
        x0 = self.mapSceneToView(ev.buttonDownScenePos()).x()
        x1 = self.mapSceneToView(ev.scenePos()).x()
        self.on_drag(min(x0, x1), max(x0, x1), ev.isFinish())

    def wheelEvent(self, ev, axis=None) -> None:
        ev.ignore()


# --- the tab -------------------------------------------------------------------------------
class AxisTab(QWidget):
    """The current direction of a ConceptContext, read along its axis."""

    validityChanged = Signal(object)  # Direction whose validity was replaced (the parent saves)
    ready = Signal(object)  # Direction, once its histogram and top items are shown
    rowChosen = Signal(int)  # a set row clicked in a list (it is also made current)
    showViewRequested = Signal(str)  # "map", once the map is coloured by the scores

    def __init__(self, state: AppState, jobs: JobRunner, context: ConceptContext,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.jobs = jobs
        self.context = context
        self.es: EmbeddingSet | None = None
        self.direction = None  # Direction shown
        self.scores: np.ndarray | None = None  # of `direction`, once scored
        self.binned: Binned | None = None
        self.split: Split | None = None  # the histogram's "Colour by" layers, if any
        self.brush_range: tuple[float, float] | None = None  # the brushed [lo, hi], if any
        self.brushed: np.ndarray | None = None  # the rows the brush selected
        self._gen = 0  # bumped for every new direction or set: older results are dropped
        self._text_col: str | None = None
        self._tips: dict[str, str] = {}
        self._setting_region = False
        self._bars: list = []

        self.title = wrapping(QLabel())
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.validity_label = wrapping(QLabel())
        self.validity_label.setTextFormat(Qt.TextFormat.RichText)
        self.validity_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.validity_label.linkHovered.connect(self._explain)
        self.warnings_label = wrapping(QLabel())
        self.warnings_label.setTextFormat(Qt.TextFormat.RichText)
        self.warnings_label.setToolTip("What may make the scores measure something other than "
                                       "the concept")
        self.warnings_label.hide()

        self.against = shrinkable(QComboBox(), 6)
        self.against.setToolTip("Check the direction again, with the Spearman correlation of "
                                "its scores with this numeric column")
        self.against.activated.connect(lambda _i: self.revalidate(self._combo_column(self.against)))
        self.colour_by = shrinkable(QComboBox(), 6)
        self.colour_by.setToolTip(f"Split the histogram by a metadata column: its "
                                  f"{MAX_CATEGORIES - 1} largest categories stacked in their own "
                                  "colours, or each bar coloured by where its items' values "
                                  "of a numeric column sit (their mean percentile)")
        self.colour_by.activated.connect(
            lambda _i: self.set_colour_by(self._combo_column(self.colour_by)))
        self.busy = QProgressBar()
        self.busy.setRange(0, 1000)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(8)
        self.busy.hide()
        controls = QGridLayout()  # two short rows: the dock may be narrow
        controls.addWidget(QLabel("Against"), 0, 0)
        controls.addWidget(self.against, 0, 1)
        controls.addWidget(QLabel("Colour by"), 1, 0)
        controls.addWidget(self.colour_by, 1, 1)
        controls.setColumnStretch(1, 1)

        self.message = error_label()
        self.hint = wrapping(QLabel(HINT))
        self.hint.setStyleSheet(DIM_STYLE)
        self.validate_job = TrackedJob(jobs, "concept-axis-validate", self.busy,
                                       on_status=self._validate_status, parent=self)

        # the plot is made on first use: a pyqtgraph PlotWidget is not free to create
        self.plot: pg.PlotWidget | None = None
        self.region: pg.LinearRegionItem | None = None
        self.split_line: pg.InfiniteLine | None = None
        self.current_line: pg.InfiniteLine | None = None
        self.hover_line: pg.InfiniteLine | None = None
        self.plot_holder = QWidget()
        self.plot_holder.setMinimumHeight(170)
        QVBoxLayout(self.plot_holder).setContentsMargins(0, 0, 0, 0)
        self.pole_a = PoleLabel(right=False)
        self.pole_b = PoleLabel(right=True)
        poles = QHBoxLayout()
        poles.setContentsMargins(0, 0, 0, 0)
        poles.addWidget(self.pole_a, 1)
        poles.addWidget(self.pole_b, 1)
        self.legend = wrapping(QLabel())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.hide()
        self.brush_label = wrapping(QLabel(BRUSH_HINT))
        self.brush_label.setTextFormat(Qt.TextFormat.RichText)
        self.brush_label.setToolTip("The items whose score lies in the brushed range, bounds "
                                    "included (lo ≤ score ≤ hi); they are the selection")
        self.clear_button = QPushButton("Clear brush")
        self.clear_button.setToolTip("Remove the brushed range and the selection it made")
        self.clear_button.clicked.connect(self.clear_brush)
        self.clear_button.setEnabled(False)
        brush_row = QHBoxLayout()
        brush_row.setContentsMargins(0, 0, 0, 0)
        brush_row.addWidget(self.brush_label, 1)
        brush_row.addWidget(self.clear_button)
        self.plot_box = QWidget()
        box = QVBoxLayout(self.plot_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.plot_holder, 1)
        box.addLayout(poles)
        box.addWidget(self.legend)
        box.addLayout(brush_row)

        self.low_table = RowsTable()
        self.high_table = RowsTable()
        self.low_title = wrapping(QLabel())
        self.high_title = wrapping(QLabel())
        lists = QSplitter(Qt.Orientation.Horizontal)
        for title, table in ((self.low_title, self.low_table), (self.high_title, self.high_table)):
            title.setTextFormat(Qt.TextFormat.RichText)
            table.rowChosen.connect(self._row_chosen)
            table.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
            table.setToolTip("Click an item to make it the current item")
            holder = QWidget()
            col = QVBoxLayout(holder)
            col.setContentsMargins(0, 0, 0, 0)
            col.addWidget(title)
            col.addWidget(table, 1)
            lists.addWidget(holder)

        self.colour_button = QPushButton("Colour the map by it")
        self.colour_button.setToolTip("Colour the map's points by their score along this "
                                      "direction (clipped at the 1st and 99th percentiles)")
        self.colour_button.clicked.connect(self.colour_map)

        self.split_view = QSplitter(Qt.Orientation.Vertical)
        self.split_view.addWidget(self.plot_box)
        self.split_view.addWidget(lists)
        self.split_view.setStretchFactor(0, 3)
        self.split_view.setStretchFactor(1, 2)
        self.split_view.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.validity_label)
        layout.addWidget(self.warnings_label)
        layout.addLayout(controls)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.hint)
        layout.addWidget(self.split_view, 1)
        layout.addWidget(self.colour_button)

        context.currentChanged.connect(self._current_changed)
        context.scoresReady.connect(self._scores_ready)
        state.currentChanged.connect(lambda row, _src: self._mark_current())
        state.hoverChanged.connect(lambda row, _src: self._mark_hover())
        state.selectionChanged.connect(self._selection_changed)
        self._set_changed(context.es)
        self._current_changed(context.current)
        if context.current is not None and context.scores is not None:
            self._scores_ready(context.current, context.scores)

    # --- the set and the direction ----------------------------------------------------------
    def _set_changed(self, es: EmbeddingSet | None) -> None:
        self.es = es
        self.validate_job.new_set()
        self._text_col = text_column(es) if es is not None else None
        for combo, names in ((self.against, self._numeric(es)),
                             (self.colour_by, colour_columns(es) if es is not None else [])):
            combo.clear()
            combo.addItem(NONE)
            combo.addItems(names)
        self.split = None

    @staticmethod
    def _numeric(es: EmbeddingSet | None) -> list[str]:
        if es is None:
            return []
        from explorer.compute import concepts as cc

        return cc.numeric_columns(es)

    @staticmethod
    def _combo_column(combo: QComboBox) -> str | None:
        text = combo.currentText()
        return None if not text or text == NONE else text

    def _same(self, d) -> bool:
        """`d` is the direction shown, maybe as a new object (saved and read back)."""
        shown = self.direction
        return (d is not None and shown is not None and self.context.es is self.es
                and d.name == shown.name and d.vector.shape == shown.vector.shape
                and bool(np.array_equal(d.vector, shown.vector)))

    def _current_changed(self, d) -> None:
        if self.context.es is not self.es:
            self._set_changed(self.context.es)
            self.direction = None
        if self._same(d):
            self.direction = d  # the same axis: keep the plot, the brush and the lists
            self._show_direction()
            return
        self._gen += 1
        self.validate_job.new_set()
        self.direction = d
        self.scores = None
        self.binned = None
        self._forget_brush()
        self.message.hide()
        for table in (self.low_table, self.high_table):
            table.rows_model.clear()
        self._clear_plot()
        self._show_direction()
        if d is None:
            self.hint.setText(HINT if self.es is not None else "Open a set to read directions.")
        else:
            self.hint.setText("Scoring the items…")

    def _show_direction(self) -> None:
        d = self.direction
        has = d is not None
        for w in (self.against, self.colour_by):
            w.setEnabled(has)
        self.colour_button.setEnabled(has and self.scores is not None)
        self.plot_box.setVisible(has)
        self.split_view.setVisible(has)
        if not has:
            self.title.setText("")
            self.validity_label.setText("")
            self.warnings_label.hide()
            self.low_title.setText("")
            self.high_title.setText("")
            return
        a, b = d.label_a, d.label_b
        self.title.setText(headline(f"{a} ← → {b}", METHOD_NOTES.get(d.method, d.method)))
        self.title.setToolTip(f"{d.name}\nLow scores: “{a}” (A); high scores: “{b}” (B)")
        self.pole_a.set_pole(a)
        self.pole_b.set_pole(b)
        self.pole_a.setToolTip(f"The low-score end: pole A, “{a}”")
        self.pole_b.setToolTip(f"The high-score end: pole B, “{b}”")
        self.low_title.setText(headline(f"Lowest: {a}", f"{TOP} items"))
        self.high_title.setText(headline(f"Highest: {b}", f"{TOP} items"))
        v = d.validity
        at = self.against.findText(v.against) if v is not None and v.against else 0
        self.against.setCurrentIndex(max(0, at))
        self._show_validity()

    def _show_validity(self) -> None:
        d = self.direction
        tokens, warnings = validity_tokens(d, d.validity)
        colour = self.palette().text().color().name()
        text, tips, lines = "", {}, []
        for token in tokens:
            if isinstance(token, str):
                text += html.escape(token)
                continue
            number, tip = token
            key = f"n{len(tips)}"
            tips[key] = tip
            lines.append(f"{number}: {tip}")
            text += (f"<a href='{key}' style='color:{colour}; text-decoration:none'>"
                     f"<b>{html.escape(number)}</b></a>")
        self._tips = tips
        self.validity_label.setText(text)
        self.validity_label.setToolTip("\n".join(lines))
        if warnings:
            self.warnings_label.setText("<br>".join(
                f"<span style='color:{ATTENTION}'>⚠ <b>Warning:</b> {html.escape(w)}</span>"
                for w in warnings))
            self.warnings_label.show()
        else:
            self.warnings_label.hide()

    def _explain(self, key: str) -> None:
        """One number's meaning, as soon as the pointer is over it."""
        if key and key in self._tips:
            QToolTip.showText(QCursor.pos(), self._tips[key], self.validity_label)
        else:
            QToolTip.hideText()

    # --- scores, bins and lists -------------------------------------------------------------
    def _scores_ready(self, d, scores) -> None:
        if d is not self.direction and not self._same(d):
            return
        self.direction = d
        if self.binned is not None and self.scores is not None and len(self.scores) == len(scores):
            self.scores = scores  # the same direction scored again: nothing changes
            return
        self.scores = scores
        es, gen = self.es, self._gen

        def work(_state):
            return bin_scores(es, scores)

        self.jobs.submit("concept-axis-bins", f"Binning the scores along {d.name}", work,
                         on_done=self._guard(gen, self._binned),
                         on_error=self._guard(gen, self._failed))

    def _guard(self, gen: int, callback):
        return lambda value: callback(value) if gen == self._gen else None

    def _binned(self, binned: Binned) -> None:
        self.binned = binned
        self.hint.setText("")
        self.colour_button.setEnabled(True)
        self._fill(self.low_table, binned.top_a)
        self._fill(self.high_table, binned.top_b)
        name = DERIVED_PREFIX + self.direction.name
        if name in self.state.derived:  # the map shows an older version: give it this one
            self._set_derived()
        self._draw()
        column = self._combo_column(self.colour_by)
        if column is not None:
            self.set_colour_by(column)
        self.ready.emit(self.direction)

    def _fill(self, table: RowsTable, items: list[dict]) -> None:
        es = self.es
        rows = np.array([it["row"] for it in items], dtype=np.int64)
        values = [it["score"] for it in items]
        label = item_column(es, rows)
        text = metadata_column(es, self._text_col, rows) if self._text_col is not None else None
        metric = es.metric

        def tip(i: int) -> str:
            return label.tooltip(i) if text is None else f"{label.tooltip(i)}\n{text.tooltip(i)}"

        columns = [Column("score", lambda i: format_score(metric, values[i]), numeric=True,
                          tooltip=lambda i: f"score {values[i]:.6g} along the direction"),
                   Column("item", label.value, tooltip=tip)]
        table.rows_model.set_content(rows, columns)
        table.fit_columns({0: 7})

    def _failed(self, error: BaseException) -> None:
        self.message.setText(error_text(error))
        self.message.show()
        self.hint.setText("")

    def _row_chosen(self, row: int) -> None:
        self.state.set_current(row, source=self)
        self.rowChosen.emit(row)

    # --- the plot ---------------------------------------------------------------------------
    def _plot(self) -> pg.PlotWidget:
        if self.plot is None:
            view = BrushViewBox()
            view.on_drag = self._dragging
            self.plot = pg.PlotWidget(viewBox=view)
            self.plot.setBackground(self.palette().base().color())
            self.plot.setMenuEnabled(False)
            self.plot.hideButtons()
            self.plot.setLabel("left", "items")
            self.plot.getAxis("bottom").enableAutoSIPrefix(False)
            self.plot.getAxis("left").enableAutoSIPrefix(False)
            self.plot.setToolTip(PLOT_TIP.format(bins=BINS))
            item = self.plot.getPlotItem()
            item.getAxis("left").setWidth(44)
            self.region = pg.LinearRegionItem(brush=pg.mkBrush(*BRUSH_RGBA),
                                              hoverBrush=pg.mkBrush(*BRUSH_RGBA[:3], 90),
                                              pen=pg.mkPen(*BRUSH_EDGE, width=2))
            self.region.setZValue(-10)  # behind the bars, which stay crisp inside the band
            self.region.hide()
            self.region.sigRegionChanged.connect(self._region_moving)
            self.region.sigRegionChangeFinished.connect(self._region_finished)
            dashed = Qt.PenStyle.DashLine
            self.split_line = pg.InfiniteLine(
                angle=90, pen=pg.mkPen(SPLIT_RGB, width=1.5, style=dashed), label="split",
                labelOpts={"position": 0.93, "color": SPLIT_RGB})
            ink = self.palette().text().color()
            self.current_line = pg.InfiniteLine(
                angle=90, pen=pg.mkPen(ink, width=2), label="current",
                labelOpts={"position": 0.78, "color": ink})
            self.hover_line = pg.InfiniteLine(
                angle=90, pen=pg.mkPen(HOVER_RGB, width=1, style=Qt.PenStyle.DotLine))
            for z, line in ((8, self.split_line), (9, self.current_line),
                            (7, self.hover_line)):
                line.setZValue(z)
                line.hide()
                self.plot.addItem(line)
            self.plot.addItem(self.region)
            self.plot_holder.layout().addWidget(self.plot)
        return self.plot

    def _clear_plot(self) -> None:
        if self.plot is None:
            return
        for bar in self._bars:
            self.plot.removeItem(bar)
        self._bars = []
        for line in (self.split_line, self.current_line, self.hover_line):
            line.hide()
        self.legend.hide()

    def _draw(self) -> None:
        """The histogram (split by the "Colour by" column, if one is chosen) and its marks."""
        binned, d = self.binned, self.direction
        if binned is None or d is None:
            return
        plot = self._plot()
        self._clear_plot()
        edges = binned.edges
        x, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)  # touching: thin gaps alias
        split = self.split
        pen = pg.mkPen(None)
        if split is not None and split.kind == "categorical":
            bottom = np.zeros(len(binned.counts), dtype=np.float64)
            for k, label in enumerate(split.labels):
                h = split.stacks[k].astype(np.float64)
                on = h > 0
                if on.any():
                    self._bars.append(pg.BarGraphItem(
                        x=x[on], width=width[on], y0=bottom[on], height=h[on],
                        brush=pg.mkBrush(*split.colours[k]), pen=pen))
                bottom += h
        else:
            if split is not None and split.kind == "numeric":
                brushes = [pg.mkBrush(*(EMPTY_GREY if not np.isfinite(m) else viridis(m)))
                           for m in split.levels]
            else:
                brushes = [pg.mkBrush(*BAR_RGB)] * len(binned.counts)
            on = binned.counts > 0
            self._bars.append(pg.BarGraphItem(
                x=x[on], width=width[on], height=binned.counts[on].astype(np.float64),
                brushes=[b for b, keep in zip(brushes, on) if keep], pen=pen))
        for bar in self._bars:
            plot.addItem(bar)
        self._show_legend()

        lo, hi = binned.lo, binned.hi
        threshold = d.definition.get("threshold") if isinstance(d.definition, dict) else None
        if isinstance(threshold, (int, float)) and np.isfinite(threshold):
            self.split_line.setValue(float(threshold))
            self.split_line.show()
            lo, hi = min(lo, float(threshold)), max(hi, float(threshold))
        pad = (hi - lo) * 0.02
        plot.setXRange(lo - pad, hi + pad, padding=0)
        top = float(binned.counts.max()) if binned.counts.size else 1.0
        plot.setYRange(0, max(1.0, top) * 1.12, padding=0)
        self.region.setBounds((lo - pad, hi + pad))
        metric = self.es.metric if self.es is not None else ""
        plot.setLabel("bottom", "score along the direction"
                      + (" (cosine of item and direction)" if metric == "cosine" else
                         " (projection)"))
        self._mark_current()
        self._mark_hover()
        if self.brush_range is not None:
            self._show_region(*self.brush_range)

    def _show_legend(self) -> None:
        split = self.split
        if split is None:
            self.legend.hide()
            return
        q = html.escape
        if split.kind == "categorical":
            entries = [f"<span style='color:rgb{tuple(c)}'>■</span>&nbsp;"
                       f"{q(label).replace(' ', '&nbsp;')}&nbsp;<span style='color:gray'>"
                       f"({n:,})</span>"
                       for label, c, n in zip(split.labels, split.colours, split.totals)]
            self.legend.setText(f"<b>{q(split.column)}</b>: " + " &nbsp; ".join(entries))
            self.legend.setToolTip(f"Each bar stacks the items of each {split.column} value, "
                                   "largest first from the bottom; “(other)” gathers the "
                                   "smaller ones")
        else:
            stops = "".join(f"<span style='color:rgb{viridis(t)}'>■</span>"
                            for t in np.linspace(0, 1, 6))
            grey = (f" · <span style='color:rgb{EMPTY_GREY}'>■</span>&nbsp;no value"
                    if bool(np.any(~np.isfinite(split.levels) & (self.binned.counts > 0)))
                    else "")
            quart = split.quartiles
            self.legend.setText(f"bar colour: its items' <b>{q(split.column)}</b> on average, as "
                                f"a percentile: low {stops} high{grey}")
            values = (f" ({split.column} runs from {fmt(quart[0])} through the median "
                      f"{fmt(quart[2])} to {fmt(quart[4])})" if quart else "")
            self.legend.setToolTip(f"Each bar's colour is the mean percentile of its items' "
                                   f"{split.column} among all items{values}: purple when they "
                                   "have low values, yellow high ones, teal typical ones. "
                                   "Percentiles, so a few extreme values do not decide it.")
        self.legend.show()

    def _mark_current(self) -> None:
        self._mark(self.current_line, self.state.current)

    def _mark_hover(self) -> None:
        self._mark(self.hover_line, self.state.hover)

    def _mark(self, line, row: int) -> None:
        if line is None:
            return
        s = self.scores
        if self.binned is None or s is None or not 0 <= row < len(s) or not np.isfinite(s[row]):
            line.hide()
            return
        line.setValue(float(s[row]))
        line.show()

    # --- colour by --------------------------------------------------------------------------
    def set_colour_by(self, column: str | None) -> None:
        """Split the histogram by `column` (None: one colour), computed in a job."""
        at = self.colour_by.findText(column) if column else 0
        self.colour_by.setCurrentIndex(max(0, at))
        if column is None or at < 0:
            self.split = None
            self.jobs.cancel_kind("concept-axis-colour")
            self._draw()
            return
        binned, es, gen = self.binned, self.es, self._gen
        if binned is None or es is None:
            return  # applied once the scores are binned

        def work(_state):
            return split_by(es, binned, column)

        def done(split: Split) -> None:
            if self.binned is binned and self._combo_column(self.colour_by) == column:
                self.split = split
                self._draw()

        self.jobs.submit("concept-axis-colour", f"Splitting the histogram by {column}", work,
                         on_done=self._guard(gen, done), on_error=self._guard(gen, self._failed))

    # --- brushing ---------------------------------------------------------------------------
    def _show_region(self, lo: float, hi: float) -> None:
        self._setting_region = True
        try:
            self.region.setRegion((lo, hi))
        finally:
            self._setting_region = False
        self.region.show()
        self._count_label(lo, hi)

    def _dragging(self, lo: float, hi: float, finished: bool) -> None:
        if self.binned is None:
            return
        self._show_region(lo, hi)
        if finished:
            self._region_finished()

    def _region_moving(self, *_args) -> None:
        if not self._setting_region and self.region.isVisible():
            self._count_label(*self.region.getRegion())

    def _region_finished(self, *_args) -> None:
        if self._setting_region or self.binned is None:
            return
        lo, hi = self.region.getRegion()
        add = bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier)
        self.set_brush(lo, hi, SelectMode.ADD if add else SelectMode.REPLACE)

    def _count_label(self, lo: float, hi: float) -> None:
        if self.binned is None:
            return
        n = count_between(self.binned.ordered, lo, hi)
        self.brush_label.setText(f"<b>{n:,}</b> item{'s' if n != 1 else ''} between "
                                 f"{fmt(lo)} and {fmt(hi)}")
        self.brush_label.setToolTip(f"The items with {lo:.6g} ≤ score ≤ {hi:.6g}, bounds "
                                    "included; releasing the brush makes them the selection")

    def set_brush(self, lo: float, hi: float, mode: SelectMode = SelectMode.REPLACE) -> None:
        """Select exactly the items with lo <= score <= hi (the shared selection)."""
        s = self.scores
        if s is None or self.binned is None:
            return
        lo, hi = (float(lo), float(hi)) if lo <= hi else (float(hi), float(lo))
        self.brush_range = (lo, hi)
        self._show_region(lo, hi)
        self.clear_button.setEnabled(True)
        if len(s) <= DIRECT_ROWS:
            self._brushed(rows_between(s, lo, hi), mode)
            return
        gen = self._gen
        self.jobs.submit("concept-axis-brush", "Selecting the brushed items",
                         lambda _state: rows_between(s, lo, hi),
                         on_done=self._guard(gen, lambda rows: self._brushed(rows, mode)
                                             if self.brush_range == (lo, hi) else None),
                         on_error=self._guard(gen, self._failed))

    def _brushed(self, rows: np.ndarray, mode: SelectMode) -> None:
        self.brushed = rows
        self.state.select(rows, mode, source=self)
        if mode is not SelectMode.REPLACE:
            self.brushed = self.state.selection

    def clear_brush(self) -> None:
        """Hide the brush; the selection it made (if it is still the selection) is emptied."""
        mine = self.brushed is not None and np.array_equal(self.state.selection, self.brushed)
        self._forget_brush()
        if mine:
            self.state.select(np.zeros(0, dtype=np.int64), source=self)

    def _forget_brush(self) -> None:
        self.brush_range = None
        self.brushed = None
        if self.region is not None:
            self.region.hide()
        self.brush_label.setText(BRUSH_HINT)
        self.clear_button.setEnabled(False)

    def _selection_changed(self, rows, source) -> None:
        if source is self or self.brushed is None:
            return
        if not np.array_equal(rows, self.brushed):  # selected elsewhere: the brush is stale
            self._forget_brush()

    # --- the map and the check --------------------------------------------------------------
    def derived_name(self) -> str | None:
        return None if self.direction is None else DERIVED_PREFIX + self.direction.name

    def _set_derived(self) -> None:
        d, b = self.direction, self.binned
        note = (f"scores along “{d.name}”: low = {d.label_a}, high = {d.label_b}; colours "
                f"clipped at the 1st and 99th percentiles ({fmt(b.p1)} to {fmt(b.p99)})")
        self.state.set_derived(self.derived_name(), Derived(
            np.asarray(self.scores, dtype=np.float32), b.p1, b.p99, note=note,
            meta={"direction": d.name, "label_a": d.label_a, "label_b": d.label_b}))

    def colour_map(self) -> None:
        """Give the map the scores as a per-row value, colour by them and bring the map forward."""
        if self.direction is None or self.scores is None or self.binned is None:
            return
        self._set_derived()
        self.state.set_colour_by(self.derived_name())
        self.showViewRequested.emit("map")

    def revalidate(self, column: str | None) -> None:
        """Check the direction again (Spearman with `column`, if any), in a job; not saved here."""
        d, es = self.direction, self.es
        if d is None or es is None:
            return
        at = self.against.findText(column) if column else 0
        self.against.setCurrentIndex(max(0, at))
        gen = self._gen

        def work(state):
            from explorer.compute import concepts as cc

            return cc.validate(es, d, against=column, state=state)

        def done(validity) -> None:
            if gen != self._gen or self.direction is None:
                return
            self.direction.validity = validity
            self._show_validity()
            self.validityChanged.emit(self.direction)

        self.message.hide()
        self.validity_label.setText(f"Checking “{d.name}”"
                                    + (f" against {html.escape(column)}" if column else "") + "…")
        self.validate_job.submit(f"Checking {d.name}", work, on_done=done,
                                 on_error=self._validation_failed)

    def _validate_status(self, text: str) -> None:
        if self.validate_job.running():
            self.validity_label.setText(html.escape(text))

    def _validation_failed(self, error: BaseException) -> None:
        self._failed(error)
        if self.direction is not None:
            self._show_validity()
