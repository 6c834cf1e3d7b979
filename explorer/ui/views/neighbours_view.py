"""Nearest neighbours in the original space, linked to the map.

Three tabs over one query:
  * Neighbours — the ranked top-k of a point (follows the current item), the
    selection's centroid or vector arithmetic, with a metadata filter applied
    inside the search, exact or approximate, back / forward history;
  * Compare metrics — the cosine, dot and L2 top-k side by side, with their
    overlap and the vector norms that explain where they disagree;
  * Hubness — how often each item is among the others' k nearest (k-occurrence),
    its histogram, the hubs and anti-hubs, and colouring the map by it.

Every search runs in the window's JobRunner; results for an older set (or an
older query of the same kind) are dropped. The map draws what
`AppState.neighboursChanged` carries; this view never talks to it directly.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSizePolicy, QSpinBox,
                               QSplitter, QTableView, QTabWidget, QToolButton, QVBoxLayout,
                               QWidget)

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.ui.state import AppState, Derived, NeighbourMarks
from explorer.ui.workers import Job, JobRunner

CURRENT, CENTROID, ARITHMETIC, TEXT = "Current item", "Selection centroid", "Arithmetic", "Text"
METRIC_TITLES = {"cosine": "cosine", "dot": "dot", "l2": "L2"}
SCORE_HEADERS = {"cosine": "cosine", "dot": "dot", "l2": "L2 dist."}
HUBNESS = "k-occurrence (hubness)"
MAX_TEXT = 200
HISTORY = 200
ERROR_STYLE = "color: #c62828;"
DIM_STYLE = "color: gray;"


def format_score(metric: str, value: float) -> str:
    if not np.isfinite(value):
        return "–"
    if metric == "cosine":
        return f"{value:.3f}"
    return f"{value:.4g}"


def text_column(es: EmbeddingSet) -> str | None:
    """The column shown next to each neighbour: the set's text, else its first string column."""
    if es.text_column and es.text_column in es.columns:
        return es.text_column
    strings = [name for name, typ in zip(es.metadata.column_names, es.metadata.schema.types)
               if name != es.id_column and (pa.types.is_string(typ) or pa.types.is_large_string(typ))]
    for preferred in ("text", "summary", "description", "title", "content", "sentence", "name"):
        for name in strings:
            if name.lower() == preferred:
                return name
    return strings[0] if strings else None


# --- queries --------------------------------------------------------------------------
@dataclass
class QuerySpec:
    """What the user asked for, before it is turned into a vector (in a job)."""

    kind: str  # "row" | "centroid" | "arithmetic"
    row: int = -1
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    expr: str = ""

    def same(self, other: QuerySpec | None) -> bool:
        return other is not None and self.kind == other.kind and self.row == other.row \
            and self.expr == other.expr and np.array_equal(self.rows, other.rows)

    def build(self, es: EmbeddingSet, metric: str):
        from explorer.compute import neighbours as nb

        if self.kind == "row":
            return nb.row_query(es, self.row)
        if self.kind == "centroid":
            return nb.centroid_query(es, self.rows, metric)
        return nb.arithmetic_query(es, self.expr, metric)

    def describe(self, es: EmbeddingSet | None) -> str:
        if self.kind == "row":
            return f"#{self.row} {es.label(self.row)}" if es is not None else f"#{self.row}"
        if self.kind == "centroid":
            return f"centroid of {len(self.rows):,} selected"
        return self.expr


def shrinkable(combo: QComboBox, chars: int = 6) -> QComboBox:
    """A combo that may get narrower than its longest entry (the dock can be narrow)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


def wrapping(label: QLabel) -> QLabel:
    """Long texts wrap instead of widening the dock (and with it the window)."""
    label.setWordWrap(True)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    return label


def brief(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- list model -----------------------------------------------------------------------
@dataclass
class Column:
    title: str
    value: Callable[[int], str]  # position in the list -> cell text
    numeric: bool = False
    tooltip: Callable[[int], str] | None = None


class RowsModel(QAbstractTableModel):
    """A ranked list of set rows; cells are computed only when painted."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows = np.zeros(0, dtype=np.int64)
        self.columns: list[Column] = []
        self.bold: np.ndarray | None = None
        self.background: dict[int, QBrush] = {}

    def set_content(self, rows: np.ndarray, columns: list[Column], bold: np.ndarray | None = None,
                    background: dict[int, QBrush] | None = None) -> None:
        self.beginResetModel()
        self.rows = np.asarray(rows, dtype=np.int64)
        self.columns = columns
        self.bold = bold
        self.background = background or {}
        self.endResetModel()

    def clear(self) -> None:
        self.set_content(np.zeros(0, dtype=np.int64), self.columns)

    def row_at(self, position: int) -> int:
        return int(self.rows[position])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and section < len(self.columns):
            return self.columns[section].title
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i, col = index.row(), self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.value(i)
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tooltip(i) if col.tooltip is not None else col.value(i)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and self.bold is not None and self.bold[i]:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole:
            return self.background.get(i)
        return None


class RowsTable(QTableView):
    """A compact list of items: click (or Enter) makes one the query, hover marks it on the map."""

    rowChosen = Signal(int)  # set row
    rowHovered = Signal(int)  # set row or -1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows_model = RowsModel(self)
        self.setModel(self.rows_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setMouseTracking(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setHighlightSections(False)
        self.clicked.connect(self._chosen)
        self.activated.connect(self._chosen)
        self.entered.connect(lambda index: self.rowHovered.emit(self.rows_model.row_at(index.row())))
        self.viewport().installEventFilter(self)

    def _chosen(self, index: QModelIndex) -> None:
        if index.isValid():
            self.rowChosen.emit(self.rows_model.row_at(index.row()))

    def eventFilter(self, obj, event) -> bool:
        if obj is self.viewport() and event.type() == QEvent.Type.Leave:
            self.rowHovered.emit(-1)
        return super().eventFilter(obj, event)

    def fit_columns(self, widths: dict[int, int]) -> None:
        """Fixed widths (in characters) for the narrow columns; the last one stretches."""
        char = self.fontMetrics().horizontalAdvance("0")
        for col, chars in widths.items():
            self.setColumnWidth(col, chars * char + 14)


# --- the view ---------------------------------------------------------------------------
class NeighboursView(QWidget):
    searchFinished = Signal(object)  # SearchResult
    searchFailed = Signal(str)
    compareFinished = Signal(object)  # MetricComparison
    hubnessFinished = Signal(object)  # Hubness
    showViewRequested = Signal(str)  # ask the window to bring a dock forward ("map")

    def __init__(self, state: AppState, jobs: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.jobs = jobs
        self.es: EmbeddingSet | None = None
        self.text_col: str | None = None
        self.spec: QuerySpec | None = None
        self.history: list[QuerySpec] = []
        self.history_pos = -1
        self.result = None  # SearchResult shown in the list
        self._index_wanted: tuple | None = None  # (set, metric, kind) of the index being opened
        self.comparison = None  # MetricComparison shown in the compare tab
        self.hubness = None  # Hubness shown in the hubness tab
        self._set_gen = 0
        self._search_dirty = False
        self._compare_dirty = False
        self._job_ids: dict[int, str] = {}  # running job id -> "search" / "compare" / "hubness"

        from explorer.compute import neighbours as nb

        self._text_reason = nb.TEXT_DISABLED_REASON
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_neighbours_tab(), "Neighbours")
        self.tabs.addTab(self._build_compare_tab(), "Compare metrics")
        self.tabs.addTab(self._build_hubness_tab(), "Hubness")
        self.tabs.setTabToolTip(0, "The k nearest neighbours of the query in the original space")
        self.tabs.setTabToolTip(1, "Where cosine, dot product and L2 distance disagree, and why")
        self.tabs.setTabToolTip(2, "Items that are everybody's neighbour, and items nobody's")
        self.tabs.currentChanged.connect(lambda _i: self._refresh_visible())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)

        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.search)
        self._centroid_timer = QTimer(self, singleShot=True, interval=250)
        self._centroid_timer.timeout.connect(self._selection_query)
        jobs.jobProgress.connect(self._job_progress)
        jobs.jobStatus.connect(self._job_status)
        jobs.jobFinished.connect(self._job_finished)
        state.setChanged.connect(self._set_changed)
        state.currentChanged.connect(self._current_changed)
        state.selectionChanged.connect(self._selection_changed)
        self._set_changed(None)

    # --- building -----------------------------------------------------------------------
    def _build_neighbours_tab(self) -> QWidget:
        self.source = QComboBox()
        for name, tip in ((CURRENT, "The item clicked on the map or in the table"),
                          (CENTROID, "The mean vector of the selected items"),
                          (ARITHMETIC, "Vector arithmetic over items, e.g. king - man + woman"),
                          (TEXT, self._text_reason)):
            self.source.addItem(name)
            self.source.setItemData(self.source.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        text_item = self.source.model().item(self.source.findText(TEXT))
        text_item.setEnabled(False)
        self.source.setToolTip("What to find neighbours of. Text queries: " + self._text_reason)
        self.source.activated.connect(lambda _i: self._source_changed())
        self.expr = QLineEdit()
        self.expr.setPlaceholderText("king - man + woman   or   #12 - #40 + #7")
        self.expr.setToolTip("Items by id, label or #row, joined by + and -; Enter to search")
        self.expr.setClearButtonEnabled(True)
        self.expr.returnPressed.connect(self._arithmetic_query)
        self.expr.hide()

        self.back_action = QAction("◀", self, shortcut=QKeySequence("Alt+Left"),
                                   toolTip="Back to the previous query (Alt+Left)")
        self.back_action.triggered.connect(self.back)
        self.forward_action = QAction("▶", self, shortcut=QKeySequence("Alt+Right"),
                                      toolTip="Forward to the next query (Alt+Right)")
        self.forward_action.triggered.connect(self.forward)
        for act in (self.back_action, self.forward_action):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(act)
        self.back_button = QToolButton()
        self.back_button.setDefaultAction(self.back_action)
        self.forward_button = QToolButton()
        self.forward_button.setDefaultAction(self.forward_action)

        top = QHBoxLayout()
        top.addWidget(self.source)
        top.addWidget(self.expr, 1)
        top.addStretch(0)
        top.addWidget(self.back_button)
        top.addWidget(self.forward_button)

        self.k = QSpinBox()
        self.k.setRange(1, 1000)
        self.k.setValue(10)
        self.k.setPrefix("k = ")
        self.k.setToolTip("How many neighbours (1 to 1000)")
        self.k.valueChanged.connect(lambda _v: self._params_changed())
        self.metric = QComboBox()
        for m in ("cosine", "dot", "l2"):
            self.metric.addItem(METRIC_TITLES[m], m)
        self.metric.setToolTip("Similarity: cosine (angle), dot product, or L2 (Euclidean) "
                               "distance. The set's own metric is chosen when it opens.")
        self.metric.activated.connect(lambda _i: self._params_changed())
        self.exact = QComboBox()
        self.exact.addItem("Exact", True)
        self.exact.addItem("Approximate", False)
        self.exact.setToolTip("Exact scans every vector (fast up to millions of items). "
                              "Approximate uses an HNSW or IVF index built once in the background "
                              "and kept in the library; its measured recall is shown below.")
        self.exact.activated.connect(lambda _i: self._params_changed())
        shrinkable(self.source, 10)
        shrinkable(self.metric, 3)
        shrinkable(self.exact, 4)
        params = QHBoxLayout()
        params.addWidget(self.k)
        params.addWidget(self.metric)
        params.addStretch(1)

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter (SQL), e.g. kind = 'function'")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("A DuckDB WHERE expression over the metadata, applied inside the "
                               "search: the results are the true top-k among matching items. "
                               "Enter to apply.")
        self.filter.returnPressed.connect(self._params_changed)
        self.filter.textChanged.connect(lambda t: self._params_changed() if not t else None)
        self.match_label = QLabel()
        self.match_label.setStyleSheet(DIM_STYLE)
        self.match_label.setToolTip("How many items pass the filter")
        filt = QHBoxLayout()
        filt.addWidget(self.filter, 1)
        filt.addWidget(self.match_label)
        filt.addWidget(self.exact)

        self.query_label = wrapping(QLabel())
        self.query_label.setWordWrap(True)
        self.query_label.setTextFormat(Qt.TextFormat.RichText)
        self.query_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.index_label = wrapping(QLabel())
        self.index_label.setStyleSheet(DIM_STYLE)
        self.index_label.setWordWrap(True)
        self.message = wrapping(QLabel())
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        self.table = RowsTable()
        self.table.rowChosen.connect(self.choose_row)
        self.table.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
        self.table.setToolTip("Click an item to make it the query; hover to find it on the map")
        self.model = self.table.rows_model

        self.busy = QProgressBar()
        self.busy.setRange(0, 1000)
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(12)
        self.busy.hide()
        self.status = wrapping(QLabel())
        self.status.setStyleSheet(DIM_STYLE)
        self.select_button = QPushButton("Select these")
        self.select_button.setToolTip("Make the query items and their neighbours the shared "
                                      "selection (Ctrl+Shift+E)")
        self.select_button.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.select_button.clicked.connect(self.select_these)
        self.zoom_button = QPushButton("Zoom map")
        self.zoom_button.setToolTip("Zoom the map to the query and its neighbours (Ctrl+Shift+M)")
        self.zoom_button.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.zoom_button.clicked.connect(self.zoom_map)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove the query and its neighbours from the map")
        self.clear_button.clicked.connect(self.clear_marks)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.busy)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.zoom_button)
        bottom.addWidget(self.clear_button)
        bottom.addWidget(self.select_button)

        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addLayout(top)
        layout.addLayout(params)
        layout.addLayout(filt)
        layout.addWidget(self.query_label)
        layout.addWidget(self.index_label)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(status_row)
        layout.addLayout(bottom)
        return tab

    def _build_compare_tab(self) -> QWidget:
        self.compare_query = wrapping(QLabel())
        self.compare_query.setWordWrap(True)
        self.overlap_label = wrapping(QLabel())
        self.overlap_label.setToolTip("How many of the k neighbours two metrics agree on")
        self.norms_label = wrapping(QLabel())
        self.norms_label.setWordWrap(True)
        self.norms_label.setStyleSheet(DIM_STYLE)
        for label in (self.compare_query, self.overlap_label, self.norms_label):
            label.setTextFormat(Qt.TextFormat.RichText)
        self.explanation = wrapping(QLabel())
        self.explanation.setWordWrap(True)
        self.compare_message = wrapping(QLabel())
        self.compare_message.setWordWrap(True)
        self.compare_message.setStyleSheet(ERROR_STYLE)
        self.compare_message.hide()
        legend = wrapping(QLabel("<b>bold</b>: in all three lists &nbsp;·&nbsp; "
                        "<span style='background:rgba(255,140,0,0.3)'>&nbsp;shaded&nbsp;</span>: "
                        "only in this list"))
        legend.setStyleSheet(DIM_STYLE)
        self.compare_tables: dict[str, RowsTable] = {}
        self.compare_split = QSplitter(Qt.Orientation.Horizontal)
        for metric in ("cosine", "dot", "l2"):
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            title = QLabel(f"<b>{METRIC_TITLES[metric]}</b>")
            table = RowsTable()
            table.setTextElideMode(Qt.TextElideMode.ElideLeft)  # dotted names: the end says most
            table.setAlternatingRowColors(False)  # the shading says "only in this list"
            table.rowChosen.connect(self.choose_row)
            table.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
            table.setToolTip("Click an item to make it the query")
            col.addWidget(title)
            col.addWidget(table, 1)
            self.compare_split.addWidget(box)
            self.compare_tables[metric] = table
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addWidget(self.compare_query)
        layout.addWidget(self.overlap_label)
        layout.addWidget(self.norms_label)
        layout.addWidget(self.explanation)
        layout.addWidget(self.compare_message)
        layout.addWidget(legend)
        layout.addWidget(self.compare_split, 1)
        return tab

    def _build_hubness_tab(self) -> QWidget:
        self.hub_k = QSpinBox()
        self.hub_k.setRange(1, 100)
        self.hub_k.setValue(10)
        self.hub_k.setPrefix("k = ")
        self.hub_k.setToolTip("Count how often each item is among the k nearest neighbours of the others")
        self.hub_metric = QComboBox()
        for m in ("cosine", "dot", "l2"):
            self.hub_metric.addItem(METRIC_TITLES[m], m)
        self.hub_metric.setToolTip("The similarity the neighbour graph is built with")
        self.hub_compute = QPushButton("Compute")
        self.hub_compute.setToolTip("Find every item's k nearest neighbours and count "
                                    "k-occurrences (kept in the library)")
        self.hub_compute.clicked.connect(self._compute_or_stop)
        self.hub_busy = QProgressBar()
        self.hub_busy.setRange(0, 1000)
        self.hub_busy.setTextVisible(False)
        self.hub_busy.setMaximumHeight(8)
        self.hub_busy.hide()
        shrinkable(self.hub_metric, 3)
        row = QHBoxLayout()
        row.addWidget(self.hub_k)
        row.addWidget(self.hub_metric)
        row.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.hub_compute)
        row2.addWidget(self.hub_busy, 1)
        row2.addStretch(0)  # keeps the button its own size while the bar is hidden

        self.hub_summary = wrapping(QLabel("Compute the k-occurrence to see whether a few items are "
                                  "everybody's nearest neighbour (hubs) and how many are nobody's "
                                  "(anti-hubs)."))
        self.hub_summary.setWordWrap(True)
        self.hub_summary.setTextFormat(Qt.TextFormat.RichText)
        self.hub_message = wrapping(QLabel())
        self.hub_message.setWordWrap(True)
        self.hub_message.setStyleSheet(ERROR_STYLE)
        self.hub_message.hide()

        # the plot is made on first use: a pyqtgraph PlotWidget is not free to create
        self.hist: pg.PlotWidget | None = None
        self.hist_box = QWidget()
        self.hist_box.setMinimumHeight(150)
        QVBoxLayout(self.hist_box).setContentsMargins(0, 0, 0, 0)
        self.hist_box.hide()

        self.hubs_table = RowsTable()
        self.hubs_table.rowChosen.connect(self.choose_row)
        self.hubs_table.rowHovered.connect(lambda r: self.state.set_hover(r, source=self))
        self.antihubs_table = RowsTable()
        self.antihubs_table.rowChosen.connect(self.choose_row)
        self.antihubs_table.rowHovered.connect(lambda r: self.state.set_hover(r, source=self))
        lists = QSplitter(Qt.Orientation.Horizontal)
        for title, table in (("Top hubs", self.hubs_table), ("Anti-hubs", self.antihubs_table)):
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            col.addWidget(QLabel(f"<b>{title}</b>"))
            col.addWidget(table, 1)
            table.setToolTip("Click an item to make it the neighbours query")
            lists.addWidget(box)

        self.colour_button = QPushButton("Colour the map by it")
        self.colour_button.setToolTip("Colour the map's points by how often each item is a "
                                      "neighbour (clipped at the 99th percentile)")
        self.colour_button.setEnabled(False)
        self.colour_button.clicked.connect(self.colour_map_by_hubness)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.hist_box)
        split.addWidget(lists)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addLayout(row)
        layout.addLayout(row2)
        layout.addWidget(self.hub_summary)
        layout.addWidget(self.hub_message)
        layout.addWidget(split, 1)
        layout.addWidget(self.colour_button)
        return tab

    # --- state ------------------------------------------------------------------------------
    def _set_changed(self, es: EmbeddingSet | None) -> None:
        for kind in ("neighbours", "neighbours-compare", "hubness"):
            self.jobs.cancel_kind(kind)
        self._set_gen += 1
        self.es = es
        self.spec = None
        self.history, self.history_pos = [], -1
        self.result = self.comparison = self.hubness = None
        self._search_dirty = self._compare_dirty = False
        self.text_col = text_column(es) if es is not None else None
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.blockSignals(False)
        self.expr.clear()
        self.model.clear()
        self.match_label.clear()
        self.index_label.clear()
        self.status.clear()
        self._hide_message()
        for table in (*self.compare_tables.values(), self.hubs_table, self.antihubs_table):
            table.rows_model.clear()
        for label in (self.compare_query, self.overlap_label, self.norms_label, self.explanation):
            label.clear()
        self.compare_message.hide()
        if self.hist is not None:
            self.hist.clear()
        self.hist_box.hide()
        self.hub_message.hide()
        self.colour_button.setEnabled(False)
        self._update_history_buttons()
        enabled = es is not None
        for w in (self.source, self.k, self.metric, self.exact, self.filter, self.select_button,
                  self.clear_button, self.hub_compute):
            w.setEnabled(enabled)
        if es is None:
            self.query_label.setText("<span style='color:gray'>Open a set to find neighbours.</span>")
            return
        for combo in (self.metric, self.hub_metric):
            combo.setCurrentIndex(max(0, combo.findData(es.metric)))
        self.hub_k.setMaximum(max(1, min(100, es.count - 1)))
        self.query_label.setText("<span style='color:gray'>Click a point on the map or a row in "
                                 "the table to see its nearest neighbours.</span>")
        self.hub_summary.setText("Compute the k-occurrence to see whether a few items are "
                                 "everybody's nearest neighbour (hubs) and how many are nobody's "
                                 "(anti-hubs).")
        self.select_button.setEnabled(False)
        if self.source.currentText() == CURRENT and self.state.current >= 0:
            self._set_spec(QuerySpec("row", row=self.state.current))

    def _current_changed(self, row: int, source) -> None:
        if source is self or self.es is None or row < 0:
            return
        if self.source.currentText() == CURRENT:
            self._set_spec(QuerySpec("row", row=row))

    def _selection_changed(self, rows, source) -> None:
        if source is not self and self.source.currentText() == CENTROID and self.es is not None:
            self._centroid_timer.start()

    def use_source(self, name: str) -> None:
        """Query by `name` (CURRENT, CENTROID, ARITHMETIC) from now on, and search."""
        self._set_source(name)
        self._source_changed()

    def _source_changed(self) -> None:
        source = self.source.currentText()
        self.expr.setVisible(source == ARITHMETIC)
        if self.es is None:
            return
        if source == CURRENT and self.state.current >= 0:
            self._set_spec(QuerySpec("row", row=self.state.current))
        elif source == CENTROID:
            self._selection_query()
        elif source == ARITHMETIC:
            self.expr.setFocus()
            if self.expr.text().strip():
                self._arithmetic_query()

    def _selection_query(self) -> None:
        if self.es is None:
            return
        rows = np.asarray(self.state.selection, dtype=np.int64)
        if not len(rows):
            self._show_message("Select some items on the map or in the table: their centroid "
                               "is the query.")
            return
        self._set_spec(QuerySpec("centroid", rows=rows.copy()))

    def _arithmetic_query(self) -> None:
        expr = self.expr.text().strip()
        if self.es is None or not expr:
            return
        self._set_source(ARITHMETIC)
        self._set_spec(QuerySpec("arithmetic", expr=expr))

    def _set_source(self, name: str) -> None:
        self.source.setCurrentText(name)
        self.expr.setVisible(name == ARITHMETIC)

    def _set_spec(self, spec: QuerySpec, push: bool = True) -> None:
        """Make `spec` the query: remember it in the history and search when visible."""
        self.spec = spec
        if push and not spec.same(self.history[self.history_pos] if self.history_pos >= 0 else None):
            del self.history[self.history_pos + 1:]
            self.history.append(spec)
            if len(self.history) > HISTORY:
                del self.history[0]
            self.history_pos = len(self.history) - 1
        self._update_history_buttons()
        self.query_label.setText(f"<b>{html.escape(spec.describe(self.es))}</b>")
        self._search_dirty = self._compare_dirty = True
        self._refresh_visible()

    def _params_changed(self) -> None:
        if self.spec is not None:
            self._search_dirty = self._compare_dirty = True
            if self.isVisible():
                self._search_timer.start()

    def _refresh_visible(self) -> None:
        """Run what the user can see: the search whenever the view shows, the comparison on its tab."""
        if not self.isVisible() or self.spec is None:
            return
        if self._search_dirty:
            self.search()
        if self._compare_dirty and self.tabs.currentIndex() == 1:
            self.compare()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self, self._refresh_visible)

    def pending(self) -> bool:
        return self._search_timer.isActive() or self._centroid_timer.isActive()

    # --- history -------------------------------------------------------------------------------
    def _update_history_buttons(self) -> None:
        self.back_action.setEnabled(self.history_pos > 0)
        self.forward_action.setEnabled(0 <= self.history_pos < len(self.history) - 1)

    def back(self) -> None:
        if self.history_pos > 0:
            self._go(self.history_pos - 1)

    def forward(self) -> None:
        if self.history_pos < len(self.history) - 1:
            self._go(self.history_pos + 1)

    def _go(self, pos: int) -> None:
        self.history_pos = pos
        spec = self.history[pos]
        if spec.kind == "row":
            self._set_source(CURRENT)
            self.state.set_current(spec.row, source=self)
        elif spec.kind == "centroid":
            self._set_source(CENTROID)
        else:
            self._set_source(ARITHMETIC)
            self.expr.setText(spec.expr)
        self._set_spec(spec, push=False)

    def choose_row(self, row: int) -> None:
        """A neighbour (or hub) was clicked: it becomes the query and the current item."""
        if self.es is None:
            return
        if self.spec is not None and self.spec.kind == "row" and self.spec.row == row \
                and self.source.currentText() == CURRENT:
            return  # already the query (a double click both clicks and activates)
        self._set_source(CURRENT)
        self.state.set_current(row, source=self)
        self._set_spec(QuerySpec("row", row=row))

    # --- search ------------------------------------------------------------------------------------
    def _guard(self, callback):
        gen = self._set_gen

        def run(value):
            if gen == self._set_gen:
                callback(value)
        return run

    def _params(self) -> tuple[int, str, str | None, bool]:
        where = self.filter.text().strip() or None
        return self.k.value(), self.metric.currentData(), where, bool(self.exact.currentData())

    def search(self) -> None:
        es, spec = self.es, self.spec
        self._search_timer.stop()
        if es is None or spec is None:
            return
        self._search_dirty = False
        k, metric, where, exact = self._params()
        from explorer.compute import neighbours as nb

        kind = nb.resolve_kind(es, "auto", exact)
        if not nb.is_open(es, metric, kind):
            self._open_index(es, metric, kind)  # the search follows once it is open
            return

        def work(state):
            query = spec.build(es, metric)
            return nb.search(es, query, k=k, metric=metric, where=where, kind=kind, state=state)

        self.status.setText("Searching…")
        job = self.jobs.submit("neighbours", "Finding neighbours", work,
                               on_done=self._guard(self._search_done),
                               on_error=self._guard(self._search_failed))
        self._track(job, "search")

    def _open_index(self, es, metric: str, kind: str) -> None:
        """Open or build an index in a job of its own, so new queries do not restart it."""
        wanted = (id(es), metric, kind)
        if self._index_wanted == wanted and "index" in self._job_ids.values():
            return  # being built: the newest query runs when it is ready
        self._index_wanted = wanted
        from explorer.compute import neighbours as nb

        def work(state):
            return nb.open_index(es, metric, kind, state)

        name = {"flat": "exact", "compact": "compact (int8)"}.get(kind, kind.upper())
        self.status.setText(f"Opening the {name} index…")
        job = self.jobs.submit("neighbour-index", f"Building the {name} index", work,
                               on_done=self._guard(lambda _opened: self.search()),
                               on_error=self._guard(self._search_failed))
        self._track(job, "index")

    def _search_done(self, result) -> None:
        es = self.es
        self.result = result
        self._hide_message()
        nbrs = result.neighbours
        metric = result.metric
        scores = np.asarray(nbrs.scores)
        rows = np.asarray(nbrs.rows, dtype=np.int64)
        columns = [Column("#", lambda i: str(i + 1), numeric=True),
                   Column(SCORE_HEADERS.get(metric, metric),
                          lambda i: format_score(metric, float(scores[i])), numeric=True,
                          tooltip=lambda i: f"{SCORE_HEADERS.get(metric, metric)} {scores[i]:.6g}"),
                   self._label_column(rows)]
        if self.text_col is not None:
            columns.append(self._text_column(rows))
        self.model.set_content(rows, columns)
        self.table.fit_columns({0: max(2, len(str(len(rows)))), 1: 7, 2: 26})
        self.query_label.setText(f"<b>{html.escape(result.query.label)}</b>"
                                 f" <span style='color:gray'>· {metric}</span>")
        self.index_label.setText(describe_index(result.index))
        if result.where and result.matching is not None:
            self.match_label.setText(f"{result.matching:,} of {es.count:,} rows match")
        else:
            self.match_label.clear()
        found = len(rows)
        how = "exact" if nbrs_exact(result) else f"approximate ({result.index.kind.upper()})"
        text = f"{found:,} neighbour{'s' if found != 1 else ''} in {result.seconds * 1000:.0f} ms · {how}"
        if found < result.k:
            text += f" · only {found:,} item{'s' if found != 1 else ''} available"
        self.status.setText(text)
        self.select_button.setEnabled(found > 0)
        self.state.set_neighbours(NeighbourMarks.of(result.query.rows, rows, result.query.label))
        self.searchFinished.emit(result)

    def _search_failed(self, error: BaseException) -> None:
        # the list, the query and the filter text stay as they were: fix and press Enter
        self._search_dirty = True
        self.status.setText("")
        self._show_message(error_text(error))
        self.searchFailed.emit(str(error))

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _hide_message(self) -> None:
        self.message.clear()
        self.message.hide()

    def _label_column(self, rows: np.ndarray) -> Column:
        es = self.es
        return Column("item", lambda i: es.label(int(rows[i])),
                      tooltip=lambda i: f"#{int(rows[i])} {es.label(int(rows[i]))}")

    def _text_column(self, rows: np.ndarray) -> Column:
        col = self.es.metadata.column(self.text_col)

        def value(i: int) -> str:
            v = col[int(rows[i])].as_py()
            return "" if v is None else brief(v)

        def tip(i: int) -> str:
            v = col[int(rows[i])].as_py()
            return "" if v is None else brief(v, 1000)
        return Column(self.text_col, value, tooltip=tip)

    def select_these(self) -> None:
        result = self.result
        if result is None:
            return
        rows = np.concatenate([np.asarray(result.query.rows, dtype=np.int64),
                               np.asarray(result.neighbours.rows, dtype=np.int64)])
        self.state.select(rows, source=self)

    def zoom_map(self) -> None:
        result = self.result
        if result is not None:
            self.state.request_frame(np.concatenate([
                np.asarray(result.query.rows, dtype=np.int64),
                np.asarray(result.neighbours.rows, dtype=np.int64)]))

    def clear_marks(self) -> None:
        self.state.set_neighbours(None)

    # --- compare metrics ---------------------------------------------------------------------------
    def compare(self) -> None:
        es, spec = self.es, self.spec
        if es is None or spec is None:
            return
        self._compare_dirty = False
        k, metric, where, _exact = self._params()
        from explorer.compute import neighbours as nb

        def work(state):
            query = spec.build(es, metric)
            return nb.compare_metrics(es, query, k=k, where=where, state=state)

        self.compare_query.setText(f"<b>{html.escape(spec.describe(es))}</b> "
                                   "<span style='color:gray'>· comparing…</span>")
        job = self.jobs.submit("neighbours-compare", "Comparing metrics", work,
                               on_done=self._guard(self._compare_done),
                               on_error=self._guard(self._compare_failed))
        self._track(job, "compare")

    def _compare_done(self, cmp) -> None:
        self.comparison = cmp
        self.compare_message.hide()
        k = cmp.k
        self.compare_query.setText(f"<b>{html.escape(cmp.query.label)}</b>"
                                   f" <span style='color:gray'>· top {k}</span>")
        pairs = [("cosine/dot", "cosine∩dot"), ("cosine/l2", "cosine∩L2"), ("dot/l2", "dot∩L2")]
        parts = []
        for key, title in pairs:
            share = float(cmp.overlap.get(key, float("nan")))
            n = int(round(share * k)) if np.isfinite(share) else 0
            colour = "#2e7d32" if share >= 0.8 else ("#c62828" if share < 0.5 else "#ef6c00")
            parts.append(f"{title} <b style='color:{colour}'>{n}/{k}</b>")
        self.overlap_label.setText(" &nbsp;·&nbsp; ".join(parts))
        p = cmp.norm_percentiles
        nan = float("nan")
        self.norms_label.setText(
            f"query norm {cmp.query_norm:#.4g} &nbsp;·&nbsp; norms in the set: "
            f"5th percentile {p.get('p5', nan):#.4g} · median {p.get('p50', nan):#.4g} · "
            f"95th percentile {p.get('p95', nan):#.4g}")
        self.explanation.setText(cmp.explanation)
        lists = {m: np.asarray(cmp.lists[m].rows, dtype=np.int64) for m in ("cosine", "dot", "l2")}
        everywhere = set(lists["cosine"].tolist()) & set(lists["dot"].tolist()) \
            & set(lists["l2"].tolist())
        unique_brush = QBrush(QColor(255, 140, 0, 75))
        for metric, table in self.compare_tables.items():
            rows = lists[metric]
            others = set().union(*(set(lists[m].tolist()) for m in lists if m != metric))
            scores = np.asarray(cmp.lists[metric].scores)
            norms = np.asarray(cmp.norms[metric])
            bold = np.array([r in everywhere for r in rows.tolist()], dtype=bool)
            shaded = {i: unique_brush for i, r in enumerate(rows.tolist()) if r not in others}
            label = self._label_column(rows)
            columns = [Column(SCORE_HEADERS[metric],
                              lambda i, s=scores, m=metric: format_score(m, float(s[i])),
                              numeric=True,
                              tooltip=lambda i, s=scores, m=metric:
                              f"rank {i + 1} · {SCORE_HEADERS[m]} {s[i]:.6g}"),
                       Column("item", label.value,
                              tooltip=lambda i, t=label.tooltip: f"rank {i + 1} · {t(i)}"),
                       Column("norm", lambda i, n=norms: f"{n[i]:#.4g}", numeric=True,
                              tooltip=lambda i, n=norms: f"vector norm {n[i]:.6g}")]
            table.rows_model.set_content(rows, columns, bold=bold, background=shaded)
            header = table.horizontalHeader()
            header.setStretchLastSection(False)
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
            table.fit_columns({0: 6, 2: 5})
        self.compareFinished.emit(cmp)

    def _compare_failed(self, error: BaseException) -> None:
        self._compare_dirty = True
        if self.spec is not None:
            self.compare_query.setText(f"<b>{html.escape(self.spec.describe(self.es))}</b>")
        self.compare_message.setText(error_text(error))
        self.compare_message.show()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # three lists side by side need room; a narrow dock stacks them
        wide = self.width() >= 620
        self.compare_split.setOrientation(Qt.Orientation.Horizontal if wide
                                          else Qt.Orientation.Vertical)

    # --- hubness ------------------------------------------------------------------------------------
    def compute_hubness(self) -> None:
        es = self.es
        if es is None:
            return
        k, metric = self.hub_k.value(), self.hub_metric.currentData()
        from explorer.compute import hubness as hb

        def work(state):
            return hb.k_occurrence(es, k=k, metric=metric, state=state)

        self.hub_message.hide()
        self.hub_compute.setText("Stop")
        self.hub_compute.setToolTip("Stop computing the k-occurrence (Esc)")
        self.hub_summary.setText(f"Finding the {k} nearest neighbours of every item…")
        job = self.jobs.submit("hubness", "Measuring hubness", work,
                               on_done=self._guard(self._hubness_done),
                               on_error=self._guard(self._hubness_failed))
        self._track(job, "hubness")

    def _compute_or_stop(self) -> None:
        if self.hub_compute.text() == "Stop":
            self.jobs.cancel_kind("hubness")
        else:
            self.compute_hubness()

    def _hub_idle(self) -> None:
        self.hub_compute.setText("Compute")
        self.hub_compute.setToolTip("Find every item's k nearest neighbours and count "
                                    "k-occurrences (kept in the library)")
        self.hub_compute.setEnabled(self.es is not None)

    def _hubness_done(self, hub) -> None:
        es = self.es
        self.hubness = hub
        counts = np.asarray(hub.counts)
        if hub.skewness < 0.5:
            verdict = "little hubness"
        elif hub.skewness < 1.5:
            verdict = "moderate hubness"
        else:
            verdict = "strong hubness: a few items are everybody's neighbour"
        share = hub.antihub_count / max(1, len(counts))
        self.hub_summary.setText(
            f"k = {hub.k}, {METRIC_TITLES.get(hub.metric, hub.metric)} · skewness "
            f"<b>{hub.skewness:.2f}</b> ({verdict}) · <b>{hub.antihub_count:,}</b> anti-hubs "
            f"({share:.1%}, nobody's neighbour) · largest {int(counts.max()) if len(counts) else 0:,}"
            f" · {'exact' if hub.exact else 'approximate (HNSW)'} neighbour graph, "
            f"{hub.seconds:.1f} s")
        self._draw_histogram(counts, hub.k)
        for table, rows in ((self.hubs_table, np.asarray(hub.hubs, dtype=np.int64)),
                            (self.antihubs_table, np.asarray(hub.antihubs, dtype=np.int64))):
            label = self._label_column(rows)
            tip = label.tooltip
            if self.text_col is not None:
                text = self._text_column(rows).tooltip
                tip = (lambda i, a=label.tooltip, b=text: f"{a(i)}\n{b(i)}")
            columns = [Column("k-occ.", lambda i, r=rows: f"{int(counts[r[i]]):,}", numeric=True,
                              tooltip=lambda i, r=rows: f"among the {hub.k} nearest of "
                                                        f"{int(counts[r[i]]):,} other items"),
                       Column("item", label.value, tooltip=tip)]
            table.rows_model.set_content(rows, columns)
            table.fit_columns({0: 6})
        vmax = float(np.percentile(counts, 99)) if len(counts) else 1.0
        vmax = max(vmax, 1.0)
        self.state.set_derived(HUBNESS, Derived(
            counts.astype(np.float32), 0.0, vmax,
            note=f"k={hub.k}, {METRIC_TITLES.get(hub.metric, hub.metric)}; colours clipped at the "
                 f"99th percentile ({vmax:.0f}); largest {int(counts.max()):,}",
            meta={"k": hub.k, "metric": hub.metric}))
        self.colour_button.setEnabled(es is not None)
        self.hubnessFinished.emit(hub)

    def _hubness_failed(self, error: BaseException) -> None:
        self.hub_message.setText(error_text(error))
        self.hub_message.show()
        self.hub_summary.setText("")

    def _histogram(self) -> pg.PlotWidget:
        if self.hist is None:
            self.hist = pg.PlotWidget()
            self.hist.setBackground(self.palette().base().color())
            self.hist.setMenuEnabled(False)
            self.hist.setMouseEnabled(x=False, y=False)
            self.hist.hideButtons()
            self.hist.setLabel("bottom", "k-occurrence (times among the others' k nearest)")
            self.hist.setLabel("left", "items (log scale)")
            self.hist.setToolTip("How many items have each k-occurrence; the mean is always k. "
                                 "A long right tail means hubs; the orange bar at 0 counts "
                                 "anti-hubs.")
            self.hist_box.layout().addWidget(self.hist)
        return self.hist

    def _draw_histogram(self, counts: np.ndarray, k: int) -> None:
        hist = self._histogram()
        hist.clear()
        self.hist_box.show()
        if not len(counts):
            return
        top = int(counts.max())
        width = max(1, int(np.ceil((top + 1) / 80)))
        freq = np.bincount(counts // width)
        x = np.arange(len(freq)) * width + (width - 1) / 2
        heights = np.log10(1 + freq)
        brushes = [pg.mkBrush(70, 130, 180)] * len(freq)
        if freq[0] and width == 1:
            brushes[0] = pg.mkBrush(255, 140, 0)  # anti-hubs
        bars = pg.BarGraphItem(x=x, height=heights, width=width * 0.85, brushes=brushes,
                               pen=pg.mkPen(None))
        hist.addItem(bars)
        mean = pg.InfiniteLine(pos=k, angle=90, pen=pg.mkPen((225, 0, 115), width=1,
                                                             style=Qt.PenStyle.DashLine),
                               label=f"mean = k = {k}",
                               labelOpts={"position": 0.9, "color": (225, 0, 115)})
        hist.addItem(mean)
        ticks = [(np.log10(1 + v), f"{v:,}") for v in 10 ** np.arange(0, 10)
                 if v <= max(1, freq.max()) * 1.0]
        hist.getAxis("left").setTicks([ticks])
        hist.setXRange(-width, top + width, padding=0.02)
        hist.setYRange(0, float(heights.max()) * 1.08, padding=0)

    def colour_map_by_hubness(self) -> None:
        if HUBNESS in self.state.derived:
            self.state.set_colour_by(HUBNESS)
            self.showViewRequested.emit("map")

    # --- job progress inside the view -------------------------------------------------------------
    def _track(self, job: Job, what: str) -> None:
        self._job_ids = {jid: w for jid, w in self._job_ids.items() if w != what}
        self._job_ids[job.id] = what
        bar = self.hub_busy if what == "hubness" else self.busy
        bar.setValue(0)
        QTimer.singleShot(200, bar, lambda: bar.setVisible(
            any(w == what for w in self._job_ids.values())))

    def _job_progress(self, job_id: int, fraction: float) -> None:
        what = self._job_ids.get(job_id)
        if what is not None:
            (self.hub_busy if what == "hubness" else self.busy).setValue(int(fraction * 1000))

    def _job_status(self, job_id: int, text: str) -> None:
        what = self._job_ids.get(job_id)
        if what in ("search", "index"):
            self.status.setText(text + "…")
        elif what == "hubness":
            self.hub_summary.setText(text + "…")

    def _job_finished(self, job_id: int) -> None:
        what = self._job_ids.pop(job_id, None)
        if what is None:
            return
        if not any(w == what for w in self._job_ids.values()):
            # a result (delivered right after this) replaces "Stopped"; a cancel leaves it
            (self.hub_busy if what == "hubness" else self.busy).hide()
            if what == "hubness":
                self._hub_idle()
                if self.hub_summary.text().endswith("…"):
                    self.hub_summary.setText("Stopped.")
            elif what == "search" and self.status.text().endswith("…"):
                self.status.setText("Stopped.")
            elif what == "compare" and "comparing…" in self.compare_query.text():
                self._compare_dirty = True
                if self.spec is not None:
                    self.compare_query.setText(f"<b>{html.escape(self.spec.describe(self.es))}</b>"
                                               " <span style='color:gray'>· stopped</span>")


def nbrs_exact(result) -> bool:
    return bool(getattr(result.neighbours, "exact", True))


KIND_NAMES = {"flat": "exact scan", "compact": "int8 scan + float32 re-rank",
              "hnsw": "HNSW", "ivf": "IVF"}


def describe_index(info) -> str:
    """E.g. "HNSW · recall@10 0.987 (200 sampled queries) · 3.1 MB · built in 2.1 s"."""
    if info is None:
        return ""
    parts = [KIND_NAMES.get(info.kind, info.kind)]
    if info.kind == "flat":
        parts[0] += f" of {info.count:,} × {info.dim}"
    elif info.exact:
        parts.append("exact results")
    elif info.recall_at_10 is not None:
        parts.append(f"recall@10 {info.recall_at_10:.3f} ({info.recall_queries:,} sampled queries)")
    if info.kind != "flat" and info.bytes >= 2**20 // 10:
        parts.append(f"{info.bytes / 2**20:.1f} MB")
    if info.kind != "flat":
        if info.reused:
            parts.append("from the library")
        elif info.build_seconds >= 0.05:
            parts.append(f"built in {info.build_seconds:.1f} s")
    return " · ".join(parts)


def error_text(error: BaseException) -> str:
    if isinstance(error, InputError):
        return str(error)
    return f"{type(error).__name__}: {error}"
