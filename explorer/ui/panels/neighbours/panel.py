"""Nearest neighbours in the original space, linked to the map.

The dock has three tabs over one query:
  * Neighbours (here) — the ranked top-k of a point (follows the current item),
    the selection's centroid or vector arithmetic, with a metadata filter applied
    inside the search, exact or approximate, back / forward history;
  * Compare metrics (compare_tab.py) — cosine, dot and L2 side by side;
  * Hubness (hubness_tab.py) — k-occurrence, hubs and anti-hubs.

Every search runs through the panel's PanelJobs (kinds `neighbours:search`,
`neighbours:index`, `neighbours:model`, `neighbours:compare`, `neighbours:hubness`);
results for an older set (or an older query of the same kind) are dropped. The map
draws what `AppState.neighboursChanged` carries; this panel never talks to it directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QSpinBox, QTabWidget, QToolButton, QVBoxLayout,
                               QWidget)

from explorer.compute.neighbours_query import QuerySpec
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.panels.neighbours.compare_tab import CompareTab
from explorer.ui.panels.neighbours.history import QueryHistory
from explorer.ui.panels.neighbours.hubness_tab import HubnessTab
from explorer.ui.panels.neighbours.index_text import KIND_NAMES, describe_index
from explorer.ui.panels.neighbours.list_gestures import LIST_HELP, ListGestures
from explorer.ui.state import NeighbourMarks
from explorer.ui.widgets.dock_widgets import DIM_STYLE, headline, metric_combo, shrinkable, wrapping
from explorer.ui.widgets.error_line import error_text
from explorer.ui.widgets.filter_hint import NO_EXAMPLE, filter_example
from explorer.ui.widgets.ranked_table import (SCORE_HEADERS, Column, RowsTable, format_score,
                                            item_column, metadata_column, text_column)
from explorer.ui.widgets.thumbnail_grid import ListOrGrid, link, restore_grid

if TYPE_CHECKING:
    from explorer.compute.hubness import Hubness
    from explorer.compute.neighbours import MetricComparison, SearchResult

CURRENT, CENTROID, ARITHMETIC, TEXT = "Current item", "Selection centroid", "Arithmetic", "Text"
SOURCES = {"current": CURRENT, "centroid": CENTROID, "arithmetic": ARITHMETIC, "text": TEXT}
TABS = ("neighbours", "compare", "hubness")


class NeighboursView(Panel):
    """The dock: owns the query (and its history) that the Neighbours and Compare tabs answer."""
    key = "neighbours"
    title = "Neighbours"
    area = Area.LEFT
    tab_keys = frozenset(TABS[1:])

    searchFinished = Signal(object)  # SearchResult
    searchFailed = Signal(str)
    compareFinished = Signal(object)  # MetricComparison
    hubnessFinished = Signal(object)  # Hubness

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        state = self.state
        self.es: EmbeddingSet | None = None
        self.text_col: str | None = None
        self.spec: QuerySpec | None = None
        self.history = QueryHistory()
        self.result: SearchResult | None = None  # shown in the list
        self._index_wanted: tuple | None = None  # (set, metric, kind) of the index being opened
        self._search_dirty = False
        self._select_for: QuerySpec | None = None  # its answer becomes the selection

        self._typed = {ARITHMETIC: "", TEXT: ""}  # what was typed for each typed source
        neighbours_tab = self._build_neighbours_tab()
        self.search_job = self.jobs.track("search", self.busy, on_status=self.status.setText,
                                          on_end=self._search_ended)
        self.index_job = self.jobs.track("index", self.busy, on_status=self.status.setText)
        self.compare_tab = CompareTab(state, self.jobs, self.busy)
        self.compare_tab.rowChosen.connect(self.choose_row)
        self.compare_tab.finished.connect(self.compareFinished)
        self.hubness_tab = HubnessTab(state, self.jobs)
        self.hubness_tab.rowChosen.connect(self.choose_row)
        self.hubness_tab.finished.connect(self.hubnessFinished)
        self.grid_switches = link([self.list_switch, *self.hubness_tab.grid_switches])

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(neighbours_tab, "Neighbours")
        self.tabs.addTab(self.compare_tab, "Compare metrics")
        self.tabs.addTab(self.hubness_tab, "Hubness")
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
        state.currentChanged.connect(self._current_changed)
        state.selectionChanged.connect(self._selection_changed)
        state.queryRequested.connect(self.query_rows)
        state.selectNeighboursRequested.connect(self.select_with_neighbours)
        self.new_set(None)

    @property
    def comparison(self) -> MetricComparison | None:
        """The MetricComparison the Compare metrics tab shows, if any."""
        return self.compare_tab.comparison

    @property
    def hubness(self) -> Hubness | None:
        """The Hubness the Hubness tab shows, if any."""
        return self.hubness_tab.hubness

    def compute_hubness(self) -> None:
        self.hubness_tab.compute()

    def colour_map_by_hubness(self) -> None:
        self.hubness_tab.colour_map()

    # --- session -------------------------------------------------------------------------
    def settings(self) -> dict:
        """What a session keeps: the query's source and typed texts, k, metric, filter, tab."""
        typed = dict(self._typed)
        if self.expr.property("source") in typed:
            typed[self.expr.property("source")] = self.expr.text()
        source = next(k for k, v in SOURCES.items() if v == self.source.currentText())
        return {"source": source, "arithmetic": typed[ARITHMETIC], "text": typed[TEXT],
                "k": self.k.value(), "metric": self.metric_box.currentData(),
                "exact": bool(self.exact.currentData()), "filter": self.filter.text(),
                "tab": TABS[self.tabs.currentIndex()], "grid": self.list_switch.grid_on}

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        """Restore `settings()` on the set just opened (after its selection and current item);
        a value of the wrong type or out of range is left as it is, with a note."""
        notes = []
        k = settings.get("k")
        if isinstance(k, int) and not isinstance(k, bool) \
                and self.k.minimum() <= k <= self.k.maximum():
            self.k.setValue(k)
        elif k is not None:
            notes.append(f"neighbours: k {k!r} is not a whole number from "
                         f"{self.k.minimum()} to {self.k.maximum()}")
        for combo, key in ((self.metric_box, "metric"), (self.exact, "exact")):
            value = settings.get(key)
            at = combo.findData(value) if isinstance(value, (str, bool)) else -1
            if at >= 0:
                combo.setCurrentIndex(at)
            elif value is not None:
                notes.append(f"neighbours: unknown {key} {value!r}")
        for key in ("filter", "arithmetic", "text"):
            if not isinstance(settings.get(key, ""), str):
                notes.append(f"neighbours: {key} {settings[key]!r} is not a text")
        if isinstance(settings.get("filter"), str):
            self.filter.setText(settings["filter"])
        for name, key in ((ARITHMETIC, "arithmetic"), (TEXT, "text")):
            if isinstance(settings.get(key), str):
                self._typed[name] = settings[key]
                if self.expr.property("source") == name:
                    self.expr.setText(settings[key])
        notes += restore_grid(self.grid_switches, settings.get("grid"), "neighbours")
        tab, source = settings.get("tab"), settings.get("source")
        if isinstance(tab, str) and tab in TABS:
            self.tabs.setCurrentIndex(TABS.index(tab))
        elif tab is not None:
            notes.append(f"neighbours: unknown tab {tab!r}")
        if isinstance(source, str) and source in SOURCES:
            self.use_source(SOURCES[source])  # typed text falls back if the model is missing
        elif source is not None:
            notes.append(f"neighbours: unknown query source {source!r}")
        return notes

    # --- building -----------------------------------------------------------------------
    def _build_neighbours_tab(self) -> QWidget:
        self.source = QComboBox()
        for name, tip in ((CURRENT, "The item clicked on the map or in the table"),
                          (CENTROID, "The mean vector of the selected items"),
                          (ARITHMETIC, "Vector arithmetic over items, e.g. king - man + woman"),
                          (TEXT, "")):
            self.source.addItem(name)
            self.source.setItemData(self.source.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.source.activated.connect(lambda _i: self._source_changed())
        self.expr = QLineEdit()
        self.expr.setClearButtonEnabled(True)
        self.expr.returnPressed.connect(self._expr_entered)
        self.expr.hide()
        self._set_text_reason("Open a set to search it by typed text")

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
        self.metric_box = metric_combo("Similarity: cosine (angle), dot product, or L2 (Euclidean) "
                                   "distance. The set's own metric is chosen when it opens.")
        self.metric_box.activated.connect(lambda _i: self._params_changed())
        self.exact = QComboBox()
        self.exact.addItem("Exact", True)
        self.exact.addItem("Approximate", False)
        self.exact.setToolTip("Exact scans every vector (fast up to millions of items). "
                              "Approximate uses an HNSW or IVF index built once in the background "
                              "and kept in the library; its measured recall is shown below.")
        self.exact.activated.connect(lambda _i: self._params_changed())
        shrinkable(self.source, 10)
        shrinkable(self.exact, 4)
        params = QHBoxLayout()
        params.addWidget(self.k)
        params.addWidget(self.metric_box)
        params.addStretch(1)

        self.filter = QLineEdit()
        self.filter.setPlaceholderText(f"Filter (SQL): {NO_EXAMPLE}")
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
        self.query_label.setTextFormat(Qt.TextFormat.RichText)
        self.query_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.index_label = wrapping(QLabel())
        self.index_label.setStyleSheet(DIM_STYLE)

        self.table = RowsTable()
        self.table.rowChosen.connect(self.choose_row)
        self.table.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
        self.table.setToolTip(f"{LIST_HELP}; hover to find it on the map")
        ListGestures(self.table, self.state)
        self.model = self.table.rows_model
        self.list_switch = ListOrGrid.of_table(self.table, self.state)  # or thumbnails

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
        layout.addWidget(self.error_line)
        layout.addWidget(self.list_switch, 1)
        layout.addLayout(status_row)
        layout.addLayout(bottom)
        return tab

    def _set_text_reason(self, reason: str | None) -> None:
        """Offer typed-text queries only when the set's own model can encode them."""
        item = self.source.model().item(self.source.findText(TEXT))
        item.setEnabled(reason is None)
        tip = ("Type a text: the set's model encodes it as a query" if reason is None
               else f"Typed text is not available: {reason}")
        item.setToolTip(tip)
        self.source.setToolTip("What to find neighbours of. Text: " + tip[0].lower() + tip[1:])
        if reason is not None and self.source.currentText() == TEXT:
            self.use_source(CURRENT)

    def text_available(self) -> bool:
        return self.source.model().item(self.source.findText(TEXT)).isEnabled()

    def _check_text_model(self, es: EmbeddingSet) -> None:
        """Find the set's model off the UI thread and open it, so the first query is quick."""
        self._set_text_reason("looking for the set's model…")

        def work(_state) -> str | None:
            from explorer.compute import neighbours as nb
            from explorer.compute.encoding.set_model import query_encoder

            reason = nb.text_query_reason(es)
            if reason is None:
                query_encoder(es.model)
            return reason

        self.jobs.submit("model", "Opening the set's model", work, on_done=self._set_text_reason,
                         on_error=lambda err: self._set_text_reason(error_text(err)))

    # --- state ------------------------------------------------------------------------------
    def new_set(self, es: EmbeddingSet | None) -> None:
        self.compare_tab.set_embedding_set(es)
        self.hubness_tab.set_embedding_set(es)
        self.es = es
        self.spec = None
        self.history = QueryHistory()
        self.result = None
        self._search_dirty = False
        self._select_for = None
        self.text_col = text_column(es) if es is not None else None
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.setPlaceholderText(
            f"Filter (SQL), e.g. {filter_example(es.metadata if es is not None else None)}")
        self.filter.blockSignals(False)
        self.expr.clear()
        self._typed = {ARITHMETIC: "", TEXT: ""}
        self.model.clear()
        self.match_label.clear()
        self.index_label.clear()
        self.status.clear()
        self._hide_message()
        self._update_history_buttons()
        enabled = es is not None
        for w in (self.source, self.k, self.metric_box, self.exact, self.filter, self.select_button,
                  self.clear_button):
            w.setEnabled(enabled)
        if es is None:
            self.query_label.setText("<span style='color:gray'>Open a set to find neighbours.</span>")
            self._set_text_reason("Open a set to search it by typed text")
            return
        self._check_text_model(es)
        self.metric_box.setCurrentIndex(max(0, self.metric_box.findData(es.metric)))
        self.query_label.setText("<span style='color:gray'>Click a point on the map or a row in "
                                 "the table to see its nearest neighbours.</span>")
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

    def show_tab(self, key: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(key))

    def find_for_current(self) -> None:
        """Ctrl+N: neighbours of the current item, or of the selection's centroid."""
        if self.tabs.currentIndex() == TABS.index("hubness"):
            self.tabs.setCurrentIndex(0)
        if self.state.current < 0 and len(self.state.selection):
            self.use_source(CENTROID)
        elif self.state.current >= 0:
            self.use_source(CURRENT)
        self.table.setFocus()

    def use_source(self, name: str) -> None:
        """Query by `name` (CURRENT, CENTROID, ARITHMETIC) from now on, and search."""
        self._set_source(name)
        self._source_changed()

    def _source_changed(self) -> None:
        source = self.source.currentText()
        self._show_expr(source)
        if self.es is None:
            return
        if source == CURRENT and self.state.current >= 0:
            self._set_spec(QuerySpec("row", row=self.state.current))
        elif source == CENTROID:
            self._selection_query()
        elif source in self._typed:
            self.expr.setFocus()
            if self.expr.text().strip():
                self._expr_entered()

    def _selection_query(self) -> None:
        if self.es is None:
            return
        rows = np.asarray(self.state.selection, dtype=np.int64)
        if not len(rows):
            self._show_message("Select some items on the map or in the table: their centroid "
                               "is the query.")
            return
        self._set_spec(QuerySpec("centroid", rows=rows.copy()))

    def _expr_entered(self) -> None:
        """Enter in the line: search by the arithmetic or the text typed there."""
        expr = self.expr.text().strip()
        source = self.source.currentText()
        if self.es is None or not expr or source not in self._typed:
            return
        self._set_spec(QuerySpec("arithmetic" if source == ARITHMETIC else "text", expr=expr))

    def _set_source(self, name: str) -> None:
        self.source.setCurrentText(name)
        self._show_expr(name)

    def _show_expr(self, source: str) -> None:
        """The line edit serves arithmetic and typed text; each keeps what was typed for it."""
        shown = self.expr.property("source")
        if shown in self._typed:
            self._typed[shown] = self.expr.text()
        self.expr.setVisible(source in self._typed)
        if source in self._typed and shown != source:
            self.expr.setProperty("source", source)
            self.expr.setText(self._typed[source])
            if source == TEXT:
                self.expr.setPlaceholderText("Type what to look for, e.g. read a compressed file")
                self.expr.setToolTip("Encoded by the set's own model as a query; Enter to search")
            else:
                self.expr.setPlaceholderText("king - man + woman   or   #12 - #40 + #7")
                self.expr.setToolTip("Items by id, label or #row, joined by + and -; "
                                     "Enter to search")

    def _set_spec(self, spec: QuerySpec, push: bool = True) -> None:
        """Make `spec` the query: remember it in the history and search when visible."""
        self.spec = spec
        if push:
            self.history.push(spec)
        self._update_history_buttons()
        self.query_label.setText(headline(spec.describe(self.es)))
        self._search_dirty = True
        self.compare_tab.set_query(spec)
        self._refresh_visible()

    def _params_changed(self) -> None:
        if self.spec is not None:
            self._search_dirty = self.compare_tab.dirty = True
            if self.isVisible():
                self._search_timer.start()

    def _refresh_visible(self) -> None:
        """Run what the user can see: the search whenever the view shows, the comparison on its tab."""
        if not self.isVisible() or self.spec is None:
            return
        if self._search_dirty:
            self.search()
        if self.compare_tab.dirty and self.tabs.currentWidget() is self.compare_tab:
            self.compare_tab.compare(*self._params())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self, self._refresh_visible)

    def pending(self) -> bool:
        return self._search_timer.isActive() or self._centroid_timer.isActive()

    # --- history -------------------------------------------------------------------------------
    def _update_history_buttons(self) -> None:
        self.back_action.setEnabled(self.history.can_go(-1))
        self.forward_action.setEnabled(self.history.can_go(1))

    def back(self) -> None:
        self._go(-1)

    def forward(self) -> None:
        self._go(1)

    def _go(self, step: int) -> None:
        if not self.history.can_go(step):
            return
        spec = self.history.go(step)
        if spec.kind == "row":
            self._set_source(CURRENT)
            self.state.set_current(spec.row, source=self)
        elif spec.kind == "centroid":
            self._set_source(CENTROID)
        else:
            self._set_source(ARITHMETIC if spec.kind == "arithmetic" else TEXT)
            self.expr.setText(spec.expr)
        self._set_spec(spec, push=False)

    def query_rows(self, rows: np.ndarray) -> None:
        """An item's menu asks for neighbours: the panel comes forward on its Neighbours tab
        and searches from those rows."""
        if self._ask(rows) is not None:
            self.tabs.setCurrentIndex(TABS.index("neighbours"))
            self.state.request_view(self.key)

    def select_with_neighbours(self, rows: np.ndarray) -> None:
        """An item's menu asks to select these rows and their neighbours: search from them
        (even while the panel is hidden) and select when that answer arrives, unless a newer
        query was asked for meanwhile."""
        spec = self._ask(rows)
        if spec is not None:
            self._select_for = spec
            if self._search_dirty:
                self.search()

    def _ask(self, rows: np.ndarray) -> QuerySpec | None:
        """Make `rows` the query: one row as the Current item source does (it becomes the
        current item), several by their centroid (the selection's, as they were taken from
        it). None when no row is of the set."""
        es = self.es
        if es is None:
            return None
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        rows = rows[(rows >= 0) & (rows < es.count)]
        if len(rows) == 0:
            return None
        if len(rows) == 1:
            self._set_source(CURRENT)
            self.state.set_current(int(rows[0]), source=self)
            spec = QuerySpec("row", row=int(rows[0]))
        else:
            self._set_source(CENTROID)
            spec = QuerySpec("centroid", rows=rows)
        self._set_spec(spec)
        return spec

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
    def _params(self) -> tuple[int, str, str | None]:
        """k, metric and the filter (None for none), as the controls say now."""
        return self.k.value(), self.metric_box.currentData(), self.filter.text().strip() or None

    def search(self) -> None:
        es, spec = self.es, self.spec
        self._search_timer.stop()
        if es is None or spec is None:
            return
        self._search_dirty = False
        k, metric, where = self._params()
        from explorer.compute import neighbours as nb

        kind = nb.resolve_kind(es, "auto", bool(self.exact.currentData()))
        if not nb.is_open(es, metric, kind):
            self._open_index(es, metric, kind)  # the search follows once it is open
            return

        def work(state):
            query = spec.build(es, metric)
            return nb.search(es, query, k=k, metric=metric, where=where, kind=kind, state=state)

        self.status.setText("Searching…")
        self.search_job.submit("Finding neighbours", work,
                               on_done=lambda result: self._search_done(result, spec),
                               on_error=self._search_failed)

    def _open_index(self, es: EmbeddingSet, metric: str, kind: str) -> None:
        """Open or build an index in a job of its own, so new queries do not restart it."""
        wanted = (id(es), metric, kind)
        if self._index_wanted == wanted and self.index_job.running():
            return  # being built: the newest query runs when it is ready
        self._index_wanted = wanted
        from explorer.compute import neighbours as nb

        name = {"flat": "exact", "compact": "compact (int8)"}.get(kind, kind.upper())
        self.status.setText(f"Opening the {name} index…")
        # not set-bound: a build for a set left meanwhile goes on (the library keeps the
        # index), but what it answers is only for the set it was asked for
        self.index_job.submit(f"Building the {name} index", nb.open_index, es, metric, kind,
                              on_done=self.jobs.guard(lambda _opened: self.search()),
                              on_error=self.jobs.guard(self._search_failed), set_bound=False)

    def _search_done(self, result: SearchResult, spec: QuerySpec) -> None:
        """Show the answer to `spec`, unless another query was asked for since (its search
        waits until the panel shows, so the older one's job was not replaced)."""
        if spec is not self.spec:
            return
        es = self.es
        self.result = result
        self._hide_message()
        nbrs = result.neighbours
        metric = result.metric
        scores = np.asarray(nbrs.scores)
        rows = np.asarray(nbrs.rows, dtype=np.int64)
        header = SCORE_HEADERS.get(metric, metric)
        columns = [Column("#", lambda i: str(i + 1), numeric=True),
                   Column(header, lambda i: format_score(metric, float(scores[i])), numeric=True,
                          tooltip=lambda i: f"{header} {scores[i]:.6g}"),
                   item_column(es, rows)]
        if self.text_col is not None:
            columns.append(metadata_column(es, self.text_col, rows))
        self.model.set_content(rows, columns)
        self.table.fit_columns({0: max(2, len(str(len(rows)))), 1: 7})
        self.query_label.setText(headline(result.query.label, metric))
        self.index_label.setText(describe_index(result.index))
        if result.where and result.matching is not None:
            self.match_label.setText(f"{result.matching:,} of {es.count:,} rows match")
        else:
            self.match_label.clear()
        found = len(rows)
        exact = bool(getattr(nbrs, "exact", True))
        kind = result.index.kind
        how = "exact" if exact else f"approximate ({KIND_NAMES.get(kind, kind.upper())})"
        text = f"{found:,} neighbour{'s' if found != 1 else ''} in {result.seconds * 1000:.0f} ms · {how}"
        if found < result.k:
            text += f" · only {found:,} item{'s' if found != 1 else ''} available"
        self.status.setText(text)
        self.select_button.setEnabled(found > 0)
        self.state.set_neighbours(NeighbourMarks.of(result.query.rows, rows, result.query.label))
        if self._select_for is spec:
            self._select_for = None
            asked = spec.rows if spec.kind == "centroid" else np.array([spec.row], dtype=np.int64)
            self.state.select(np.union1d(asked, rows), source=self)
        self.searchFinished.emit(result)

    def _search_failed(self, error: BaseException) -> None:
        # the list, the query and the filter text stay as they were: fix and press Enter
        self._search_dirty = True
        self._select_for = None  # a search run after the fix does not select by surprise
        self.status.setText("")
        self.show_error(error)
        self.searchFailed.emit(str(error))

    def _search_ended(self) -> None:
        # a result (delivered right after this) replaces "Stopped."; a cancel leaves it
        if self.status.text().endswith("…"):
            self.status.setText("Stopped.")

    def _show_message(self, text: str) -> None:
        self.error_line.setText(text)
        self.error_line.show()

    def _hide_message(self) -> None:
        self.error_line.clear_error()

    # --- the marks on the map ------------------------------------------------------------------
    def _marked_rows(self) -> np.ndarray | None:
        """The query's items and their neighbours, or None before a search answered."""
        result = self.result
        if result is None:
            return None
        return np.concatenate([np.asarray(result.query.rows, dtype=np.int64),
                               np.asarray(result.neighbours.rows, dtype=np.int64)])

    def select_these(self) -> None:
        rows = self._marked_rows()
        if rows is not None:
            self.state.select(rows, source=self)

    def zoom_map(self) -> None:
        rows = self._marked_rows()
        if rows is not None:
            self.state.request_frame(rows)

    def clear_marks(self) -> None:
        self.state.set_neighbours(None)
