"""The Hubness tab: items that are everybody's nearest neighbour, and items nobody's.

How often each item is among the others' k nearest (its k-occurrence): the
histogram, the top hubs and the anti-hubs, and colouring the map by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QSplitter, QVBoxLayout, QWidget)

from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.panels.neighbours.list_gestures import LIST_HELP, ListGestures
from explorer.ui.state import AppState, Derived
from explorer.ui.widgets.dock_widgets import (METRIC_TITLES, FlowSplitter, busy_bar, metric_combo,
                                            wrapping)
from explorer.ui.widgets.error_line import ErrorLine
from explorer.ui.widgets.plot import still_plot
from explorer.ui.widgets.ranked_table import (Column, RowsTable, item_with_text_column,
                                            text_column)
from explorer.ui.widgets.thumbnail_grid import ListOrGrid

if TYPE_CHECKING:
    from explorer.compute.hubness import Hubness

HUBNESS = "k-occurrence (hubness)"  # the name the map offers to colour by
INTRO = ("Compute the k-occurrence to see whether a few items are everybody's nearest neighbour "
         "(hubs) and how many are nobody's (anti-hubs).")
COMPUTE_TIP = "Find every item's k nearest neighbours and count k-occurrences (kept in the library)"
WIDE = 560  # pixels the tab needs to show the hubs and anti-hubs side by side
EXACT_TIP = ("Search every item's neighbours exactly, even where the map's neighbour graph "
             "could be counted instead (on a large set this takes long: hours at 1M items)")
SOURCES = {"map graph": "the map's neighbour graph", "stored graph": "the kept neighbour graph",
           "pivot graph": "a joined neighbour graph (kept for maps)", "hnsw": "the HNSW index"}


def graph_text(source: str, exact: bool, recall: float | None) -> str:
    """How the counted neighbours were found, never calling an approximate graph exact."""
    if exact:
        return "exact neighbour graph"
    found = f"{recall:.0%} of true neighbours found in a sample" if recall is not None \
        else "recall not measured"
    return f"approximate: {SOURCES.get(source, source)}, {found}"


class HubnessTab(QWidget):
    """Computed only on request: it takes every item's k nearest neighbours."""

    finished = Signal(object)  # Hubness
    rowChosen = Signal(int)  # set row clicked in a list: the dock makes it the query

    def __init__(self, state: AppState, jobs: PanelJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.es: EmbeddingSet | None = None
        self.text_col: str | None = None
        self.hubness: Hubness | None = None  # shown

        self.k = QSpinBox()
        self.k.setRange(1, 100)
        self.k.setValue(10)
        self.k.setPrefix("k = ")
        self.k.setToolTip("Count how often each item is among the k nearest neighbours of the others")
        self.metric_box = metric_combo("The similarity the neighbour graph is built with")
        self.exact_box = QCheckBox("Exact")
        self.exact_box.setToolTip(EXACT_TIP)
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip(COMPUTE_TIP)
        self.compute_button.clicked.connect(self._compute_or_stop)
        self.busy = busy_bar()
        row = QHBoxLayout()
        row.addWidget(self.k)
        row.addWidget(self.metric_box)
        row.addWidget(self.exact_box)
        row.addStretch(1)
        row.addWidget(self.busy, 1)
        row.addWidget(self.compute_button)

        self.summary = wrapping(QLabel(INTRO))
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.message = ErrorLine()
        self.job = jobs.track("hubness", self.busy, on_status=self.summary.setText,
                              on_end=self._ended)

        # the plot is made on first use: a pyqtgraph PlotWidget is not free to create
        self.hist: pg.PlotWidget | None = None
        self.hist_box = QWidget()
        self.hist_box.setMinimumHeight(150)
        QVBoxLayout(self.hist_box).setContentsMargins(0, 0, 0, 0)
        self.hist_box.hide()

        self.hubs_table = RowsTable()
        self.antihubs_table = RowsTable()
        lists = FlowSplitter(WIDE)
        self.grid_switches: list[ListOrGrid] = []  # the panel links them and keeps the choice
        for title, table in (("Top hubs", self.hubs_table), ("Anti-hubs", self.antihubs_table)):
            table.rowChosen.connect(self.rowChosen)
            table.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
            table.setToolTip(LIST_HELP)
            ListGestures(table, state)
            self.grid_switches.append(ListOrGrid.of_table(table, state, title=title))
            lists.addWidget(self.grid_switches[-1])

        self.colour_button = QPushButton("Colour the map by it")
        self.colour_button.setToolTip("Colour the map's points by how often each item is a "
                                      "neighbour (clipped at the 99th percentile)")
        self.colour_button.setEnabled(False)
        self.colour_button.clicked.connect(self.colour_map)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.hist_box)
        split.addWidget(lists)
        split.setStretchFactor(0, 1)  # the histogram reads at its minimum height; the lists
        split.setStretchFactor(1, 3)  # are what a short dock needs rows for
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        layout.addWidget(self.colour_button)

    def set_embedding_set(self, es: EmbeddingSet | None) -> None:
        self.es = es
        self.hubness = None
        self.text_col = text_column(es) if es is not None else None
        for table in (self.hubs_table, self.antihubs_table):
            table.rows_model.clear()
        if self.hist is not None:
            self.hist.clear()
        self.hist_box.hide()
        self.message.clear_error()
        self.colour_button.setEnabled(False)
        self.compute_button.setEnabled(es is not None)
        if es is None:
            return
        self.metric_box.setCurrentIndex(max(0, self.metric_box.findData(es.metric)))
        self.k.setMaximum(max(1, min(100, es.count - 1)))
        self.summary.setText(INTRO)

    def compute(self) -> None:
        """Count every item's k-occurrence in the background (the library keeps the graph)."""
        es = self.es
        if es is None:
            return
        k, metric = self.k.value(), self.metric_box.currentData()
        exact = self.exact_box.isChecked()
        from explorer.compute import hubness as hb

        def work(state):
            return hb.k_occurrence(es, k=k, metric=metric, state=state, exact=exact)

        self.message.clear_error()
        self.compute_button.setText("Stop")
        self.compute_button.setToolTip("Stop computing the k-occurrence (Esc)")
        self.summary.setText(f"Finding the {k} nearest neighbours of every item…")
        self.job.submit("Measuring hubness", work, on_done=self._done, on_error=self._failed)

    def _compute_or_stop(self) -> None:
        if self.job.running():
            self.job.cancel()
        else:
            self.compute()

    def _ended(self) -> None:
        self.compute_button.setText("Compute")
        self.compute_button.setToolTip(COMPUTE_TIP)
        self.compute_button.setEnabled(self.es is not None)
        # a result (delivered right after this) replaces "Stopped."; a cancel leaves it
        if self.summary.text().endswith("…"):
            self.summary.setText("Stopped.")

    def _done(self, hub: Hubness) -> None:
        self.hubness = hub
        counts = np.asarray(hub.counts)
        metric = METRIC_TITLES.get(hub.metric, hub.metric)
        if hub.skewness < 0.5:
            verdict = "little hubness"
        elif hub.skewness < 1.5:
            verdict = "moderate hubness"
        else:
            verdict = "strong hubness: a few items are everybody's neighbour"
        share = hub.antihub_count / max(1, len(counts))
        self.summary.setText(
            f"k = {hub.k}, {metric} · skewness "
            f"<b>{hub.skewness:.2f}</b> ({verdict}) · <b>{hub.antihub_count:,}</b> anti-hubs "
            f"({share:.1%}, nobody's neighbour) · largest {int(counts.max()) if len(counts) else 0:,}"
            f" · {graph_text(hub.source, hub.exact, hub.recall)}, {hub.seconds:.1f} s")
        self._draw_histogram(counts, hub.k)
        self._fill(self.hubs_table, np.asarray(hub.hubs, dtype=np.int64), counts, hub.k)
        self._fill(self.antihubs_table, np.asarray(hub.antihubs, dtype=np.int64), counts, hub.k)
        vmax = max(float(np.percentile(counts, 99)) if len(counts) else 1.0, 1.0)
        self.state.set_derived(HUBNESS, Derived(
            counts.astype(np.float32), 0.0, vmax,
            note=f"k={hub.k}, {metric}; colours clipped at the "
                 f"99th percentile ({vmax:.0f}); largest {int(counts.max()):,}",
            meta={"k": hub.k, "metric": hub.metric}))
        self.colour_button.setEnabled(True)
        self.finished.emit(hub)

    def _fill(self, table: RowsTable, rows: np.ndarray, counts: np.ndarray, k: int) -> None:
        """Hubs or anti-hubs with their k-occurrence; the tooltip adds the item's text."""
        columns = [Column("k-occ.", lambda i: f"{int(counts[rows[i]]):,}", numeric=True,
                          tooltip=lambda i: f"among the {k} nearest of "
                                            f"{int(counts[rows[i]]):,} other items"),
                   item_with_text_column(self.es, self.text_col, rows)]
        table.rows_model.set_content(rows, columns)
        table.fit_columns({0: 6})

    def _failed(self, error: BaseException) -> None:
        self.message.show_error(error)
        self.summary.setText("")

    def _histogram(self) -> pg.PlotWidget:
        if self.hist is None:
            self.hist = still_plot(self)
            self.hist.setLabel("bottom", "k-occurrence")  # short: a narrow panel clips it
            self.hist.setLabel("left", "items (log scale)")
            self.hist.setToolTip("How many items have each k-occurrence (how many times an "
                                 "item is among the others' k nearest); the mean is always k. "
                                 "A long right tail means hubs; the orange bar at 0 counts "
                                 "anti-hubs.")
            self.hist_box.layout().addWidget(self.hist)
        return self.hist

    def _draw_histogram(self, counts: np.ndarray, k: int) -> None:
        """Items per k-occurrence on a log scale, at most 80 bars; anti-hubs in orange."""
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
                 if v <= max(1, freq.max())]
        hist.getAxis("left").setTicks([ticks])
        hist.setXRange(-width, top + width, padding=0.02)
        hist.setYRange(0, float(heights.max()) * 1.08, padding=0)

    def colour_map(self) -> None:
        """Colour the map's points by k-occurrence, once it is computed, and bring the map forward."""
        if HUBNESS in self.state.derived:
            self.state.set_colour_by(HUBNESS)
            self.state.request_view("map")
