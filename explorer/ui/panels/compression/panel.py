"""The Compression dock: what each compression does to this set's neighbours, against bytes.

A sweep runs in one job (each method's result arrives as it finishes); the chart
plots quality against bytes per vector on a log scale with the Pareto frontier,
the budget slider names the best method that fits (or a row of the table picks
one), the table holds every figure, the per-query tab puts one query's exact and
compressed neighbour lists side by side, and the chosen method's per-query
overlap can colour the map. Jobs run through the panel's PanelJobs
(`compression:evaluate`, `compression:export`); errors show inline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel,
                               QLineEdit, QMenu, QPushButton, QSlider, QSpinBox, QTableWidget,
                               QTableWidgetItem, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.panels.compression.query import QueryComparison
from explorer.ui.state import Derived
from explorer.ui.widgets.dock_widgets import DIM_STYLE, FlowSplitter, wrapping
from explorer.ui.widgets.plot import plain_axes
from explorer.ui.widgets.thumbnail_grid import restore_grid

COLUMNS = ("method", "bytes/vector", "overlap@k", "1-NN in top k", "rank ρ", "score error",
           "train s", "ms/query", "whole set")
COLUMN_TIPS = ("", "Bytes of code per vector (re-ranking methods also read each candidate's "
                   "float32 row)",
               "Share of the exact top-k neighbours the method's top-k holds, over the queries; "
               "an item returned in place of another that ties with the k-th neighbour's score "
               "counts as kept (identical texts embed identically)",
               "Share of queries whose exact nearest neighbour is in the method's top k "
               "(recall@k as product-quantisation papers count it)",
               "Spearman's ρ between the exact ranks of the exact top-k and the method's ranks",
               "Mean |method's score - exact score| over the exact top-k pairs (the metric's "
               "similarity or distance; none for Hamming codes)",
               "Seconds to train (on a sample of at most 20,000 rows)",
               "Milliseconds per query for a brute-force scan of the codes",
               "Memory for the whole set: codes plus trained parameters")
SLIDER_STEPS = 1000
WIDE, ASPECT = 900, 1.6  # chart and figures side by side from this wide, this much wider than tall


def ties_tip(r, queries: int) -> str:
    """A method's overlap@k cell: what ties changed, in how many queries."""
    swapped = int(np.count_nonzero(r.per_query_kept > r.per_query_overlap))
    return (f"{r.overlap_with_ties:.3f} with a swap among items tied with the k-th neighbour "
            f"counted as kept; {r.overlap:.3f} counting every swap as a loss. "
            f"{r.queries_with_ties:,} of {queries:,} queries have such ties; in {swapped:,} "
            "of them the method picked other tied items.")


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n / 1024:,.1f} KiB"


class CompressionView(Panel):
    key = "compression"
    title = "Compression"
    area = Area.BOTTOM
    set_bound = False  # its settings are options, not the set's content: they apply at once
    evaluated = Signal(object)  # Evaluation

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        state = self.state
        self.es: EmbeddingSet | None = None
        self.results: list = []  # MethodResult, in the order they arrived
        self.evaluation = None
        self.rows: np.ndarray | None = None  # the query rows of the shown results
        self.chosen = None  # MethodResult the budget names, or the table's row picked
        self._picked: str | None = None  # a method named by a click in the table

        self.methods = QLineEdit()
        self.methods.setToolTip("Methods, comma-separated: fp16, sq8, sq6, sq4, pqM, opqM, "
                                "binary, binary-rerankR, truncT, pcaT, rpT, and a transform "
                                "with a codec such as pca96-sq8. Empty: the default sweep.")
        self.methods.setPlaceholderText("default sweep (fp16, sq8, sq4, pq, opq, binary, …)")
        self.k = QSpinBox()
        self.k.setRange(1, 100)
        self.k.setValue(10)
        self.k.setPrefix("k = ")
        self.k.setToolTip("Neighbours compared per query")
        self.queries = QSpinBox()
        self.queries.setRange(10, 100_000)
        self.queries.setValue(1000)
        self.queries.setSingleStep(100)
        self.queries.setSuffix(" queries")
        self.queries.setToolTip("Items drawn (seeded) from the set as queries; the exact "
                                "neighbours of each are computed once and cached")
        self.use_selection = QCheckBox("Selection as queries")
        self.use_selection.setToolTip("Evaluate with the selected items as the queries")
        self.run_button = QPushButton("Evaluate")
        self.run_button.setToolTip("Compress a copy of the vectors every way listed and compare "
                                   "each one's neighbours with exact search (Esc cancels)")
        self.run_button.clicked.connect(self.evaluate)

        self.plot = pg.PlotWidget(axisItems=plain_axes())  # overlap 0.9, not 900 m
        self.plot.setBackground(None)
        self.plot.setLabel("bottom", "bytes per vector (log scale)")
        self.plot.setLabel("left", "top-k overlap")
        self.plot.getAxis("left").setToolTip("Share of the exact top-k neighbours the method "
                                             "finds, over the queries (a swap among items "
                                             "tied with the k-th counts as kept)")
        self.plot.setLogMode(x=True, y=False)
        self.plot.setYRange(0, 1.02)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMinimumHeight(110)
        self.points = pg.ScatterPlotItem(size=9, pen=pg.mkPen(None), brush=pg.mkBrush(90, 90, 90),
                                         hoverable=True, tip=lambda x, y, data: data)
        self.front_line = pg.PlotDataItem(pen=pg.mkPen((220, 90, 40), width=2))
        self.chosen_mark = pg.ScatterPlotItem(size=16, pen=pg.mkPen((220, 90, 40), width=2),
                                              brush=pg.mkBrush(None))
        self.budget_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((60, 120, 200),
                                                                  style=Qt.PenStyle.DashLine))
        for item in (self.front_line, self.points, self.chosen_mark, self.budget_line):
            self.plot.addItem(item)
        self.labels: list[pg.TextItem] = []

        self.budget = QSlider(Qt.Orientation.Horizontal)
        self.budget.setRange(0, SLIDER_STEPS)
        self.budget.setValue(SLIDER_STEPS // 2)
        self.budget.setToolTip("A memory budget per vector: the best method within it is named "
                               "and ringed on the chart")
        self.budget.valueChanged.connect(lambda _v: self._budget_changed())
        self.budget_label = wrapping(QLabel())
        self.count_rerank = QCheckBox("Count re-rank rows")
        self.count_rerank.setToolTip("Re-ranking methods (binary-rerankR) read the float32 row "
                                     "of each candidate. Off: those rows stay on disk and only "
                                     "the codes count. On: they count towards the bytes.")
        self.count_rerank.toggled.connect(lambda _on: self._show(self.results, self.rows))
        self.colour_button = QPushButton("Colour the map by it")
        self.colour_button.setToolTip("Colour each query item by the share of its exact "
                                      "neighbours the chosen method keeps (only the query "
                                      "items are drawn)")
        self.colour_button.clicked.connect(self.colour_map)
        self.colour_button.setEnabled(False)

        self.export_button = QToolButton(text="Export")
        self.export_button.setToolTip("The figures as CSV or JSON, the chart as PNG")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Figures as CSV…", lambda: self._export_dialog("csv"))
        menu.addAction("Figures as JSON…", lambda: self._export_dialog("json"))
        menu.addAction("Chart as PNG…", lambda: self._export_dialog("png"))
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for j, tip in enumerate(COLUMN_TIPS):
            self.table.horizontalHeaderItem(j).setToolTip(tip)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setToolTip("Click a method to compare its neighbour lists and colour the "
                              "map by it")
        self.table.cellClicked.connect(lambda r, _c: self.pick(self.table.item(r, 0).text()))
        self.comparison = QueryComparison(state)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.table, "Figures")
        self.tabs.addTab(self.comparison, "Per query")
        self.status = wrapping(QLabel())
        self.status.setStyleSheet(DIM_STYLE)

        controls = QGridLayout()
        controls.addWidget(self.methods, 0, 0, 1, 3)
        controls.addWidget(self.run_button, 0, 3)
        controls.addWidget(self.k, 1, 0)
        controls.addWidget(self.queries, 1, 1)
        controls.addWidget(self.use_selection, 1, 2, 1, 2)
        budget = QHBoxLayout()
        budget.addWidget(QLabel("Budget"))
        budget.addWidget(self.budget, 1)
        budget.addWidget(self.count_rerank)
        budget.addWidget(self.colour_button)
        budget.addWidget(self.export_button)
        chart = QWidget()
        chart_layout = QVBoxLayout(chart)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.plot, 1)
        chart_layout.addLayout(budget)
        chart_layout.addWidget(self.budget_label)
        # in a wide, low area (the window's bottom) the chart and the figures sit side by
        # side, each as tall as the panel; in a tall one, stacked
        self.split = FlowSplitter(WIDE, aspect=ASPECT)
        self.split.addWidget(chart)
        self.split.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.error_line)
        layout.addWidget(self.status)
        layout.addWidget(self.split, 1)
        self.new_set(None)

    # --- session ---------------------------------------------------------------------
    def settings(self) -> dict:
        """What a session file keeps of this dock (the figures are cached in the library)."""
        return {"methods": self.methods.text(), "k": self.k.value(),
                "queries": self.queries.value(), "selection_as_queries":
                    self.use_selection.isChecked(), "count_rerank": self.count_rerank.isChecked(),
                "budget": self.budget.value() / SLIDER_STEPS,
                "grid": self.comparison.grid_switches[0].grid_on}

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        """Restore `settings()`; a missing entry keeps its current value, a malformed one
        too, with a note."""
        notes = restore_grid(self.comparison.grid_switches, settings.get("grid"), "compression")
        methods = settings.get("methods")
        if isinstance(methods, str):
            self.methods.setText(methods)
        elif methods is not None:
            notes.append(f"compression: methods {methods!r} is not a text")
        for key, box in (("k", self.k), ("queries", self.queries)):
            value = settings.get(key)
            if isinstance(value, int) and not isinstance(value, bool) \
                    and box.minimum() <= value <= box.maximum():
                box.setValue(value)
            elif value is not None:
                notes.append(f"compression: {key} {value!r} is not a whole number from "
                             f"{box.minimum():,} to {box.maximum():,}")
        for key, box in (("selection_as_queries", self.use_selection),
                         ("count_rerank", self.count_rerank)):
            value = settings.get(key)
            if isinstance(value, bool):
                box.setChecked(value)
            elif value is not None:
                notes.append(f"compression: {key} {value!r} is not true or false")
        budget = settings.get("budget")
        if isinstance(budget, (int, float)) and not isinstance(budget, bool) \
                and math.isfinite(budget):
            self.budget.setValue(round(min(1.0, max(0.0, budget)) * SLIDER_STEPS))
        elif budget is not None:
            notes.append(f"compression: budget {budget!r} is not a number")
        return notes

    # --- running ---------------------------------------------------------------------
    def new_set(self, es: EmbeddingSet | None) -> None:
        self.es = es
        self._show([], None)
        self.run_button.setEnabled(es is not None)
        self.status.setText("Open a set, then Evaluate." if es is None else
                            "Evaluate compares each compression's neighbours with exact search.")

    def evaluate(self) -> None:
        es = self.es
        if es is None:
            return
        from explorer.compute import compression as cz

        rows = None
        if self.use_selection.isChecked():
            rows = np.asarray(self.state.selection, dtype=np.int64)
            if rows.size < 2:
                self.show_error(InputError("select at least two items to use them as queries"))
                return
        try:
            methods = cz.parse_methods(self.methods.text()) if self.methods.text().strip() \
                else None
        except Exception as exc:  # an InputError naming the bad method
            self.show_error(exc)
            return
        k, queries = self.k.value(), self.queries.value()
        self.error_line.clear_error()
        self._show([], None)

        def work(state):
            return cz.evaluate(es, methods, k=k, queries=queries, rows=rows, state=state)

        def partial(result) -> None:
            self._show([*self.results, result], self.rows)

        def done(evaluation) -> None:
            self.evaluation = evaluation
            self._show(list(evaluation.methods), np.asarray(evaluation.rows))
            self.export_button.setEnabled(True)
            self.status.setText(
                f"{evaluation.queries:,} queries, k = {evaluation.k}, {evaluation.metric}; "
                f"exact float32 search {evaluation.exact_ms_per_query:.2f} ms per query, "
                f"{4 * evaluation.dim:,} bytes per vector")
            self.evaluated.emit(evaluation)

        self.status.setText("Evaluating…")
        self.jobs.submit("evaluate", "Evaluating compressions", work, on_done=done,
                         on_partial=partial)

    # --- showing -----------------------------------------------------------------------
    def size_of(self, result) -> float:
        """The bytes a method is charged on the chart and by the budget."""
        from explorer.compute import compression as cz

        size = cz.stored_size if self.count_rerank.isChecked() else cz.code_size
        return max(1.0, float(size(result)))

    def _show(self, results: list, rows: np.ndarray | None) -> None:
        from explorer.compute import compression as cz

        if not results:
            self.evaluation = None
            self._picked = None
            self.export_button.setEnabled(False)
        self.results, self.rows = results, rows
        for label in self.labels:
            self.plot.removeItem(label)
        self.labels = []
        xs = [self.size_of(r) for r in results]
        ys = [cz.kept_of(r) for r in results]
        tips = [f"{r.name}\n{r.bytes_per_vector:,} bytes"
                + (f" + {r.rerank_bytes_per_vector:,} re-ranked" if r.rerank_bytes_per_vector
                   else "") + f"\noverlap@k {cz.kept_of(r):.3f}" for r in results]
        # scatter items take log10 by hand
        self.points.setData(x=np.log10(xs) if xs else [], y=ys, data=tips)
        self._set_axes(xs, ys)
        front = cz.frontier(results, quality=cz.kept_of, size=self.size_of)
        if front:  # a PlotDataItem follows the plot's log mode: it takes bytes as they are
            self.front_line.setData(x=[self.size_of(r) for r in front],
                                    y=[cz.kept_of(r) for r in front])
        else:
            self.front_line.clear()
        self._place_labels(results, xs, ys, {id(r) for r in front})
        self._fill_table(results)
        self._budget_changed()

    def _set_axes(self, xs: list, ys: list) -> None:
        """Bytes ticked at powers of two (how sizes are chosen); overlap from just below the
        worst method to 1, so close methods stay apart."""
        bottom = min([*ys, 0.9]) if ys else 0.0
        self.plot.setYRange(max(0.0, bottom - 0.05), 1.02, padding=0)
        if not xs:
            return
        lo, hi = math.floor(math.log2(min(xs))), math.ceil(math.log2(max(xs)))
        step = max(1, (hi - lo + 7) // 8)  # at most ~8 labels
        ticks = [(math.log10(2 ** e), f"{2 ** e:,}") for e in range(lo, hi + 1, step)]
        self.plot.getAxis("bottom").setTicks([ticks, []])

    def _place_labels(self, results: list, xs: list, ys: list, on_front: set) -> None:
        """Name the frontier's methods (the others say theirs on hover); a name that would
        cover another steps down a line."""
        taken: list[tuple[float, float]] = []
        span = max(0.5, math.log10(max(xs)) - math.log10(min(xs))) if xs else 1.0
        y_lo, y_hi = self.plot.getViewBox().viewRange()[1]
        line = 0.07 * (y_hi - y_lo)
        for i in sorted(range(len(results)), key=lambda i: (xs[i], -ys[i])):
            r = results[i]
            if id(r) not in on_front:
                continue
            x, y = math.log10(xs[i]), ys[i]
            while any(abs(x - tx) < 0.12 * span and abs(y - ty) < line for tx, ty in taken):
                y -= line
            taken.append((x, y))
            label = pg.TextItem(r.name, anchor=(-0.08, 0.5), color=(200, 80, 30))
            label.setPos(x, y)
            self.plot.addItem(label)
            self.labels.append(label)

    def _fill_table(self, results: list) -> None:
        self.table.setRowCount(len(results))
        queries = len(results[0].per_query_kept) if results else 0
        tied = max((r.queries_with_ties for r in results), default=0)
        self.table.horizontalHeaderItem(2).setToolTip(
            COLUMN_TIPS[2] + (f". {tied:,} of {queries:,} queries have items tied with their "
                              "k-th neighbour" if results else ""))
        for i, r in enumerate(results):
            size = f"{r.bytes_per_vector:,}"
            if r.rerank_bytes_per_vector:
                size += f" + {r.rerank_bytes_per_vector:,}"
            cells = (r.name, size, f"{r.overlap_with_ties:.3f}",
                     f"{r.recall_at_k:.3f}", f"{r.rank_correlation:.3f}",
                     "–" if r.distortion is None else f"{r.distortion:.4f}",
                     f"{r.train_seconds:.2f}", f"{r.search_ms_per_query:.3f}",
                     _mib(r.total_bytes))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if j == 2:
                    item.setToolTip(ties_tip(r, queries))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    def budget_bytes(self) -> float | None:
        """The slider's budget: log-spaced between the smallest and largest method shown."""
        sizes = [self.size_of(r) for r in self.results]
        if not sizes:
            return None
        lo, hi = math.log10(min(sizes)), math.log10(max(sizes))
        t = self.budget.value() / SLIDER_STEPS
        return 10 ** (lo + (hi - lo) * t)

    def set_budget(self, bytes_per_vector: float) -> None:
        sizes = [self.size_of(r) for r in self.results]
        if not sizes:
            return
        lo, hi = math.log10(min(sizes)), math.log10(max(sizes))
        t = 0.0 if hi == lo else (math.log10(max(1.0, bytes_per_vector)) - lo) / (hi - lo)
        self.budget.setValue(round(min(1.0, max(0.0, t)) * SLIDER_STEPS))

    def pick(self, name: str) -> None:
        """Choose a method by name (a table click) until the budget moves."""
        if any(r.name == name for r in self.results):
            self._picked = name
            self._update_choice()

    def _budget_changed(self) -> None:
        self._picked = None
        self._update_choice()

    def _update_choice(self) -> None:
        from explorer.compute import compression as cz

        budget = self.budget_bytes()
        picked = next((r for r in self.results if r.name == self._picked), None)
        best = None if budget is None else cz.best_within(self.results, budget + 1e-9,
                                                          quality=cz.kept_of, size=self.size_of)
        self.chosen = picked or best
        if budget is None:
            self.budget_label.setText("")
            self.budget_line.hide()
            self.chosen_mark.clear()
        else:
            self.budget_line.show()
            self.budget_line.setValue(math.log10(budget))
            text = (f"Nothing fits in {budget:,.0f} bytes per vector." if best is None else
                    f"Within {budget:,.0f} bytes per vector the best is "
                    f"<b>{best.name}</b>: {self._describe(best)}")
            if picked is not None and picked is not best:
                text += f"<br>Shown: <b>{picked.name}</b> (picked in the table): " \
                        f"{self._describe(picked)}"
            self.budget_label.setText(text)
            if self.chosen is None:
                self.chosen_mark.clear()
            else:
                self.chosen_mark.setData(x=[math.log10(self.size_of(self.chosen))],
                                         y=[self.chosen.overlap_with_ties])
        self.colour_button.setEnabled(self.chosen is not None and self.rows is not None
                                      and self.chosen.per_query_kept is not None)
        self.comparison.show_result(self.es, self.evaluation, self.chosen)

    def _describe(self, r) -> str:
        n = self.es.count if self.es is not None else 0
        size = f"{r.bytes_per_vector:,} bytes"
        if r.rerank_bytes_per_vector:
            size += f" (+ {r.rerank_bytes_per_vector:,} float32 read back per candidate)"
        return (f"{size}, overlap@k {r.overlap_with_ties:.3f}, {_mib(r.total_bytes)} of codes "
                f"for all {n:,} items")

    def colour_map(self) -> None:
        """Each query item coloured by the share of its exact neighbours the method keeps."""
        c, rows, es = self.chosen, self.rows, self.es
        if c is None or rows is None or es is None or c.per_query_kept is None:
            return
        values = np.full(es.count, np.nan, dtype=np.float32)
        values[rows] = np.asarray(c.per_query_kept, dtype=np.float32)
        name = f"kept under {c.name}"
        self.state.set_derived(name, Derived(values, 0.0, 1.0,
                                             note=f"share of the exact top-k kept; "
                                                  f"{len(rows):,} query items (the others "
                                                  f"are not drawn)"))
        self.state.set_colour_by(name)
        self.state.request_view("map")

    # --- export -------------------------------------------------------------------------
    def _export_dialog(self, kind: str) -> None:
        if self.evaluation is None:
            return
        name = f"{self.es.name if self.es is not None else 'set'} compression.{kind}"
        path, _ = QFileDialog.getSaveFileName(self, "Export", name, f"{kind.upper()} (*.{kind})")
        if path:
            self.export(kind, path)

    def export(self, kind: str, path: str) -> None:
        """Write the figures (a job) or the chart (grabbed here: widgets live on this thread)."""
        evaluation = self.evaluation
        if evaluation is None:
            return
        if kind == "png":
            if self.plot.grab().save(path, "PNG"):
                self.status.setText(f"Wrote {path}")
            else:
                self.show_error(OSError(f"cannot write {path}"))
            return

        def work(_state):
            from explorer.compute import compression as cz

            write = cz.write_csv if kind == "csv" else cz.write_report_json
            return write(evaluation, path)

        self.jobs.submit("export", "Writing the report", work,
                         on_done=lambda p: self.status.setText(f"Wrote {p}"), set_bound=False)

    def show_error(self, error: BaseException) -> None:
        """Inline, in place of the status line (which would say "Evaluating…")."""
        self.status.clear()
        super().show_error(error)
