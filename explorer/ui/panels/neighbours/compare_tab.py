"""The Compare metrics tab: the cosine, dot and L2 top-k of one query side by side.

Their overlaps and the vector norms explain where the metrics disagree: dot
product favours long vectors, L2 favours vectors about as long as the query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.panels.neighbours.list_gestures import LIST_HELP, ListGestures
from explorer.ui.state import AppState
from explorer.ui.widgets.dock_widgets import (DIM_STYLE, METRIC_TITLES, FlowSplitter, headline,
                                            titled, wrapping)
from explorer.ui.widgets.error_line import ErrorLine
from explorer.ui.widgets.ranked_table import (SCORE_HEADERS, Column, RowsTable, compared_list,
                                            format_score, item_column)

if TYPE_CHECKING:
    from explorer.compute.neighbours import MetricComparison
    from explorer.compute.neighbours_query import QuerySpec

WIDE = 620  # pixels the tab needs to show the three lists side by side
# "∩" with spaces: squeezed between two words it reads as an "n" ("cosinendot")
OVERLAP_PAIRS = [("cosine/dot", "cosine ∩ dot"), ("cosine/l2", "cosine ∩ L2"),
                 ("dot/l2", "dot ∩ L2")]
ONLY_HERE = QColor(255, 140, 0, 75)


class CompareTab(QWidget):
    """Compares on demand: the dock asks when the tab shows and the query is out of date."""

    finished = Signal(object)  # MetricComparison
    rowChosen = Signal(int)  # set row clicked in a list: the dock makes it the query

    def __init__(self, state: AppState, jobs: PanelJobs, busy: QProgressBar,
                 parent: QWidget | None = None) -> None:
        """`busy` is the progress bar comparing shows in (the neighbours tab's)."""
        super().__init__(parent)
        self.state = state
        self.es: EmbeddingSet | None = None
        self.spec: QuerySpec | None = None  # the panel's query
        self.comparison: MetricComparison | None = None  # shown
        self.dirty = False  # the comparison shown is not for the query and parameters set
        self.job = jobs.track("compare", busy, on_end=self._ended)

        self.query_label = wrapping(QLabel())
        self.overlap_label = wrapping(QLabel())
        self.overlap_label.setToolTip("How many of the k neighbours two metrics agree on")
        self.norms_label = wrapping(QLabel())
        self.norms_label.setStyleSheet(DIM_STYLE)
        for label in (self.query_label, self.overlap_label, self.norms_label):
            label.setTextFormat(Qt.TextFormat.RichText)
        self.explanation = wrapping(QLabel())
        self.message = ErrorLine()
        legend = wrapping(QLabel("<b>bold</b>: in all three lists &nbsp;·&nbsp; "
                        "<span style='background:rgba(255,140,0,0.3)'>&nbsp;shaded&nbsp;</span>: "
                        "only in this list"))
        legend.setStyleSheet(DIM_STYLE)
        self.tables: dict[str, RowsTable] = {}
        self.split = FlowSplitter(WIDE)  # three lists side by side, or stacked when narrow
        for metric, title in METRIC_TITLES.items():
            table = compared_list()
            table.rowChosen.connect(self.rowChosen)
            table.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
            table.setToolTip(LIST_HELP)
            ListGestures(table, state)
            self.split.addWidget(titled(title, table))
            self.tables[metric] = table
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 6, 2, 2)
        for widget in (self.query_label, self.overlap_label, self.norms_label, self.explanation,
                       self.message, legend):
            layout.addWidget(widget)
        layout.addWidget(self.split, 1)

    def set_embedding_set(self, es: EmbeddingSet | None) -> None:
        self.es = es
        self.spec = self.comparison = None
        self.dirty = False
        for table in self.tables.values():
            table.rows_model.clear()
        for label in (self.query_label, self.overlap_label, self.norms_label, self.explanation):
            label.clear()
        self.message.clear_error()

    def set_query(self, spec: QuerySpec) -> None:
        """A new query: compared when the tab shows."""
        self.spec = spec
        self.dirty = True

    def compare(self, k: int, metric: str, where: str | None) -> None:
        """The top `k` under each metric, among the rows `where` allows; `metric` builds the query."""
        es, spec = self.es, self.spec
        if es is None or spec is None:
            return
        self.dirty = False
        from explorer.compute import neighbours as nb

        def work(state):
            query = spec.build(es, metric)
            return nb.compare_metrics(es, query, k=k, where=where, state=state)

        self.query_label.setText(headline(spec.describe(es), "comparing…"))
        self.job.submit("Comparing metrics", work, on_done=self._done, on_error=self._failed)

    def _done(self, cmp: MetricComparison) -> None:
        self.comparison = cmp
        self.message.clear_error()
        k = cmp.k
        self.query_label.setText(headline(cmp.query.label, f"top {k}"))
        parts = []
        for key, title in OVERLAP_PAIRS:
            share = float(cmp.overlap.get(key, float("nan")))
            n = int(round(share * k)) if np.isfinite(share) else 0
            colour = "#2e7d32" if share >= 0.8 else ("#c62828" if share < 0.5 else "#ef6c00")
            parts.append(f"{title.replace(' ', '&nbsp;')} <b style='color:{colour}'>{n}/{k}</b>")
        self.overlap_label.setText(" &nbsp;·&nbsp; ".join(parts))
        p = cmp.norm_percentiles
        nan = float("nan")
        self.norms_label.setText(
            f"query norm {cmp.query_norm:#.4g} &nbsp;·&nbsp; norms in the set: "
            f"5th percentile {p.get('p5', nan):#.4g} · median {p.get('p50', nan):#.4g} · "
            f"95th percentile {p.get('p95', nan):#.4g}")
        self.explanation.setText(cmp.explanation)
        members = {m: set(np.asarray(cmp.lists[m].rows).tolist()) for m in self.tables}
        everywhere = set.intersection(*members.values())
        for metric, table in self.tables.items():
            others = set().union(*(rows for m, rows in members.items() if m != metric))
            self._fill(table, metric, cmp, everywhere, others)
        self.finished.emit(cmp)

    def _fill(self, table: RowsTable, metric: str, cmp: MetricComparison, everywhere: set[int],
              others: set[int]) -> None:
        """One metric's list: bold where all three agree, shaded where only this one has it."""
        rows = np.asarray(cmp.lists[metric].rows, dtype=np.int64)
        scores = np.asarray(cmp.lists[metric].scores)
        norms = np.asarray(cmp.norms[metric])
        bold = np.array([r in everywhere for r in rows.tolist()], dtype=bool)
        only_here = QBrush(ONLY_HERE)
        shaded = {i: only_here for i, r in enumerate(rows.tolist()) if r not in others}
        label = item_column(self.es, rows)
        header = SCORE_HEADERS[metric]
        columns = [Column(header, lambda i: format_score(metric, float(scores[i])), numeric=True,
                          tooltip=lambda i: f"rank {i + 1} · {header} {scores[i]:.6g}"),
                   Column("item", label.value, tooltip=lambda i: f"rank {i + 1} · {label.tooltip(i)}"),
                   Column("norm", lambda i: f"{norms[i]:#.4g}", numeric=True,
                          tooltip=lambda i: f"vector norm {norms[i]:.6g}")]
        table.rows_model.set_content(rows, columns, bold=bold, background=shaded)
        table.fit_columns({0: 6, 2: 5})

    def _failed(self, error: BaseException) -> None:
        self.dirty = True
        if self.spec is not None:
            self.query_label.setText(headline(self.spec.describe(self.es)))
        self.message.show_error(error)

    def _ended(self) -> None:
        # a result (delivered right after this) replaces "stopped"; a cancel leaves it
        if "comparing…" in self.query_label.text():
            self.dirty = True
            if self.spec is not None:
                self.query_label.setText(headline(self.spec.describe(self.es), "stopped"))
