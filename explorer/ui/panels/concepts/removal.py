"""The Remove tab: project saved directions out of a copy of the set; what it does to neighbours.

The copy is a derived library set (each vector minus its projection on the
checked directions); the original is untouched. What the removal did is shown
two ways: the overlap@k of sampled items' neighbours before and after (a mean,
a median and a histogram), and the current item's neighbour lists in both sets
side by side, items in both lists bold and items only in one shaded.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QSplitter, QVBoxLayout, QWidget)

from explorer.core.library import Library
from explorer.ui.panels.concepts.context import ConceptContext
from explorer.ui.panels.concepts.item_lists import ItemListGestures
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.state import AppState
from explorer.ui.widgets.dock_widgets import (DIM_STYLE, FlowSplitter, busy_bar, headline, titled,
                                            wrapping)
from explorer.ui.widgets.error_line import ErrorLine
from explorer.ui.widgets.plot import still_plot
from explorer.ui.widgets.ranked_table import (SCORE_HEADERS, Column, RowsTable, compared_list,
                                            format_score, item_column)

K = 10  # neighbours compared per query
SAMPLE = 200  # sampled query items behind the overlap figures
ONLY_HERE = QColor(255, 140, 0, 75)  # as in the Compare metrics tab
EXPLAIN = ("Removal replaces each item's vector by itself minus its projection on the checked "
           "direction(s), so every item scores 0 along them and nothing orthogonal to them "
           "changes. The result is a new set in the library (a copy, with the same items and "
           "metadata); the original set is untouched.")
REMOVE_TIP = "Project the checked directions out of a copy of the set.\n\n" + EXPLAIN
INTRO = ("Check the directions to remove, then “Remove from a copy”: you will see how many of "
         "each item's nearest neighbours survive.")
NO_DIRECTIONS = "Save a direction with the set (Define tab) to remove it."
PICK_ITEM = ("Click an item (on the map, in the table or in a list below) to compare its "
             "neighbours before and after.")
WIDE = 560  # pixels the tab needs to show the two neighbour lists side by side


def format_median(value: float) -> str:
    """A median overlap (a multiple of 1/k or halfway between two): 1.0, 0.9, 0.85."""
    if not np.isfinite(value):
        return "–"
    text = f"{value:.3g}"
    return text if "." in text else text + ".0"


class RemovalTab(QWidget):
    """One job makes the derived set and measures the overlap; another compares one item's lists.

    The derived set is announced (`AppState.library_changed`) as soon as it is in the
    library, even if the window has moved to another set meanwhile; "Open the new set"
    asks the window through the state too.
    """

    finished = Signal(object)  # cc.RemovalEffect (or None if stopped before it), once shown
    sideBySideReady = Signal(object)  # cc.SideBySide, once shown

    def __init__(self, state: AppState, jobs: PanelJobs, context: ConceptContext,
                 library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.context = context
        self.library = library
        self.k = K
        self.sample = SAMPLE
        self.es = None  # the set directions are removed from
        self.entry = None  # LibraryEntry of the derived set
        self.after = None  # the derived set, opened
        self.removed: list[str] = []  # names of the directions it lacks
        self.effect = None  # cc.RemovalEffect shown
        self.side = None  # cc.SideBySide shown
        self._default_checked: str | None = None  # the name checked for the user, not by them

        self.list = QListWidget()
        self.list.setToolTip("The saved directions; the checked ones are removed")
        self._fit_list()
        self.list.itemChanged.connect(lambda _item: self._checks_changed())
        self.name = QLineEdit()
        self.name.setToolTip("The new set's name in the library")
        self.remove_button = QPushButton("Remove from a copy")
        self.remove_button.setToolTip(REMOVE_TIP)
        self.remove_button.clicked.connect(self._remove_or_stop)
        self.open_button = QPushButton("Open the new set")
        self.open_button.setToolTip("Open the derived set in the window (its map, neighbours "
                                    "and concepts)")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_clicked)
        self.busy = busy_bar()
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel("New set"))
        name_row.addWidget(self.name, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.busy, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.open_button)

        self.status = wrapping(QLabel(INTRO))
        self.status.setStyleSheet(DIM_STYLE)
        self.status.setToolTip(EXPLAIN)
        self.summary = wrapping(QLabel())
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setToolTip("Overlap@k: the share of an item's k nearest neighbours that "
                                "are still among its k nearest after the removal")
        self.message = ErrorLine()
        self.jobs = jobs
        self.job = jobs.track("removal", self.busy, on_status=self._job_status, on_end=self._ended)

        # the plot is made on first use: a pyqtgraph PlotWidget is not free to create
        self.hist: pg.PlotWidget | None = None
        self.hist_box = QWidget()
        self.hist_box.setMinimumHeight(120)
        QVBoxLayout(self.hist_box).setContentsMargins(0, 0, 0, 0)
        self.hist_box.hide()

        self.side_busy = busy_bar(6)
        self.side_job = jobs.track("removal-neighbours", self.side_busy)
        self.query_label = wrapping(QLabel())
        self.query_label.setTextFormat(Qt.TextFormat.RichText)
        self.side_message = ErrorLine()
        self.legend = wrapping(QLabel(
            "<b>bold</b>: in both lists &nbsp;·&nbsp; "
            "<span style='background:rgba(255,140,0,0.3)'>&nbsp;shaded&nbsp;</span>: "
            "only in this list"))
        self.legend.setStyleSheet(DIM_STYLE)
        self.tables: dict[str, RowsTable] = {}
        self.titles: dict[str, QLabel] = {}
        self.lists = FlowSplitter(WIDE)
        for key, title in (("before", "Before"), ("after", "After removal")):
            table = compared_list()
            ItemListGestures(table, state, self,
                             lambda row: self.state.set_current(row, source=self),
                             "Click an item to compare its neighbours instead")
            table.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
            label = QLabel(f"<b>{title}</b>")
            self.lists.addWidget(titled(label, table))
            self.tables[key] = table
            self.titles[key] = label
        self.side_box = QWidget()
        side = QVBoxLayout(self.side_box)
        side.setContentsMargins(0, 0, 0, 0)
        for widget in (self.query_label, self.side_busy, self.side_message, self.legend):
            side.addWidget(widget)
        side.addWidget(self.lists, 1)
        self.side_box.hide()

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.hist_box)
        split.addWidget(self.side_box)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addWidget(QLabel("Directions to remove"))
        layout.addWidget(self.list)
        layout.addLayout(name_row)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.message)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

        context.directionsChanged.connect(self._directions_changed)
        context.currentChanged.connect(self._current_direction_changed)
        state.currentChanged.connect(self._current_item_changed)
        self._directions_changed()

    # --- public --------------------------------------------------------------------------
    def checked(self) -> list[str]:
        """Names of the directions to remove, in the list's order."""
        return [self.list.item(i).text() for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names) -> None:
        names = set(names)
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names
                               else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._checks_changed()

    def default_name(self) -> str:
        es = self.es
        names = self.checked()
        if es is None or not names:
            return ""
        return f"{es.name} without {', '.join(names)}"

    def remove(self) -> None:
        """Make the derived set and measure the overlap, in one job."""
        es, names = self.es, self.checked()
        directions = [d for d in (self.context.find(n) for n in names) if d is not None]
        if es is None or not directions:
            self.message.setText("Check at least one saved direction to remove.")
            self.message.show()
            return
        library = self.library
        name = self.name.text().strip() or None
        k, sample = self.k, self.sample

        def work(state):
            from explorer.compute import concepts as cc
            from explorer.core.jobs import Cancelled

            entry = cc.remove_directions(es, directions, library=library, name=name,
                                         state=state.sub(0.0, 0.6))
            after = library.open(entry.id)
            try:
                state.status(f"Comparing {sample} items' neighbours before and after")
                effect = cc.removal_effect(es, after, sample=sample, k=k,
                                           state=state.sub(0.6, 1.0))
            except Cancelled:  # the set is made: report it, without the overlap
                effect = None
            return entry, after, effect

        self.message.clear_error()
        self.remove_button.setText("Stop")
        self.remove_button.setToolTip("Stop the removal (a set already made stays in the library)")
        self.status.setText("Projecting the directions out of a copy…")
        removed = [d.name for d in directions]
        shown = self.jobs.guard(lambda result: self._done(result, removed))

        def made(result) -> None:
            self.state.library_changed(result[0].id)  # in the library whatever is shown now
            shown(result)

        # not set-bound: a set made while the window moved on is still announced
        self.job.submit("Removing " + ", ".join(names), work, on_done=made,
                        on_error=self.jobs.guard(self._failed), set_bound=False)

    def compare_current(self) -> None:
        """The current item's neighbours before and after, side by side (in a job)."""
        before, after, row = self.es, self.after, self.state.current
        if before is None or after is None:
            return
        self.side_box.show()
        if row is None or row < 0 or row >= before.count:
            self.side_job.cancel()
            self.side = None
            self.query_label.setText(f"<span style='color:gray'>{html.escape(PICK_ITEM)}</span>")
            for table in self.tables.values():
                table.rows_model.clear()
            return
        k = self.k

        def work(_state):
            from explorer.compute import concepts as cc

            return cc.neighbours_side_by_side(before, after, row, k=k)

        self.side_message.clear_error()
        self.query_label.setText(headline(before.label(row), "comparing neighbours…"))
        self.side_job.submit("Neighbours before and after the removal", work,
                             on_done=self._side_done, on_error=self._side_failed)

    # --- the set and its directions ------------------------------------------------------
    def _new_set(self, es) -> None:
        self.job.cancel()  # a derived set that lands anyway is still announced
        self.es = es
        self.entry = self.after = self.effect = self.side = None
        self.removed = []
        self._default_checked = None
        self.list.clear()
        self.summary.clear()
        self.message.clear_error()
        self.side_message.clear_error()
        self.open_button.setEnabled(False)
        if self.hist is not None:
            self.hist.clear()
        self.hist_box.hide()
        self.side_box.hide()
        for table in self.tables.values():
            table.rows_model.clear()
        self.status.setText(INTRO)

    def _directions_changed(self) -> None:
        if self.context.es is not self.es:
            self._new_set(self.context.es)
        before = set(self.checked())
        self.list.blockSignals(True)
        self.list.clear()
        for d in self.context.directions:
            item = QListWidgetItem(d.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if d.name in before
                               else Qt.CheckState.Unchecked)
            item.setToolTip(f"{d.name}\nfrom “{d.label_a}” to “{d.label_b}”")
            self.list.addItem(item)
        self.list.blockSignals(False)
        self._fit_list()
        if not self.checked() and self.context.current is not None:
            self._check_default(self.context.current.name)
        has = bool(self.context.directions)
        self.remove_button.setEnabled(self.es is not None and has or self.job.running())
        if self.es is None:
            self.status.setText("Open a set to remove directions from it.")
        elif not has:
            self.status.setText(NO_DIRECTIONS)
        elif self.effect is None and not self.job.running():
            self.status.setText(INTRO)
        self._checks_changed()

    def _fit_list(self) -> None:
        """Room for the saved directions, up to six lines; it scrolls beyond."""
        lines = min(6, max(2, self.list.count()))
        line = self.list.sizeHintForRow(0) if self.list.count() else self.fontMetrics().height() + 4
        self.list.setFixedHeight(lines * line + 2 * self.list.frameWidth() + 4)

    def _check_default(self, name: str) -> None:
        self.set_checked([name])
        self._default_checked = name

    def _current_direction_changed(self, direction) -> None:
        """The current direction is checked for the user, until they check something themselves."""
        if direction is None:
            return
        checked = self.checked()
        if not checked or checked == [self._default_checked]:
            self._check_default(direction.name)

    def _checks_changed(self) -> None:
        checked = self.checked()
        if checked != [self._default_checked]:
            self._default_checked = None  # the user's choice from now on
        self.name.setPlaceholderText(self.default_name() or "name of the new set")
        if not self.job.running():
            self.remove_button.setEnabled(bool(checked) and self.es is not None)

    # --- the removal -----------------------------------------------------------------------
    def _remove_or_stop(self) -> None:
        if self.job.running():
            self.job.cancel()
        else:
            self.remove()

    def _job_status(self, text: str) -> None:
        self.status.setText(text)

    def _ended(self) -> None:
        self.remove_button.setText("Remove from a copy")
        self.remove_button.setToolTip(REMOVE_TIP)
        self.remove_button.setEnabled(bool(self.checked()) and self.es is not None)
        # a result (delivered right after this) replaces "Stopped."; a cancel leaves it
        if self.status.text().endswith("…"):
            self.status.setText("Stopped; nothing was added to the library.")

    def _done(self, result, names: list[str]) -> None:
        entry, after, effect = result
        self.entry, self.after, self.effect = entry, after, effect
        self.removed = names
        self.message.clear_error()
        self.open_button.setEnabled(True)
        removed = ", ".join(f"‘{n}’" for n in names)
        self.status.setText(f"Made “{entry.name}” ({entry.count:,} items) without {removed}. "
                            "The original set is unchanged.")
        if effect is None:
            self.summary.setText("Stopped before comparing neighbours.")
            self.hist_box.hide()
        else:
            self.summary.setText(self._summary(effect))
            self._draw_histogram(effect)
        self.compare_current()
        self.finished.emit(effect)

    def _summary(self, effect) -> str:
        n = int(effect.rows.size)
        mean, median = effect.mean, effect.median
        colour = "#2e7d32" if mean >= 0.8 else ("#c62828" if mean < 0.5 else "#ef6c00")
        return (f"Mean overlap@{effect.k} of {n:,} sampled items' neighbours before vs after: "
                f"<b style='color:{colour}'>{mean:.3f}</b> (median {format_median(median)})")

    def _failed(self, error: BaseException) -> None:
        self.message.show_error(error)
        if self.effect is not None and self.entry is not None:
            self.status.setText(f"Showing “{self.entry.name}”, made earlier.")
        else:
            self.status.setText("")

    def _open_clicked(self) -> None:
        if self.entry is not None:
            self.state.request_open(self.entry.id)

    def _histogram(self) -> pg.PlotWidget:
        if self.hist is None:
            self.hist = still_plot(self)
            self.hist.setLabel("left", "sampled items")
            self.hist.setToolTip("How many sampled items keep 0, 1, … k of their k nearest "
                                 "neighbours after the removal; bars at the right mean the "
                                 "neighbourhoods barely changed")
            self.hist_box.layout().addWidget(self.hist)
        return self.hist

    def _draw_histogram(self, effect) -> None:
        hist = self._histogram()
        hist.clear()
        self.hist_box.show()
        k = effect.k
        counts = np.asarray(effect.to_dict()["histogram"], dtype=np.float64)
        x = np.arange(k + 1)
        brushes = [pg.mkBrush(70, 130, 180) if i == k else pg.mkBrush(239, 108, 0)
                   if i < k / 2 else pg.mkBrush(120, 160, 200) for i in x]
        hist.addItem(pg.BarGraphItem(x=x, height=counts, width=0.8, brushes=brushes,
                                     pen=pg.mkPen(None)))
        for i, c in zip(x, counts):  # the count over each bar that has any
            if c > 0:
                label = pg.TextItem(f"{int(c):,}", color=(90, 90, 90), anchor=(0.5, 1.0))
                label.setPos(float(i), float(c))
                hist.addItem(label)
        hist.setLabel("bottom", f"neighbours kept (of the {k} nearest)")
        hist.getAxis("bottom").setTicks([[(int(i), str(int(i))) for i in x]])
        hist.setXRange(-0.6, k + 0.6, padding=0)
        hist.setYRange(0, max(1.0, float(counts.max())) * 1.15, padding=0)

    # --- the current item's lists ----------------------------------------------------------
    def _current_item_changed(self, _row: int, _source) -> None:
        if self.after is not None:
            self.compare_current()

    def _side_done(self, side) -> None:
        self.side = side
        before = self.es
        self.side_message.clear_error()
        kept = len(side.shared)
        self.query_label.setText(headline(
            before.label(side.row), f"{kept} of its {side.k} nearest neighbours kept"))
        lists = {"before": side.before, "after": side.after}
        members = {key: set(np.asarray(nb.rows).tolist()) for key, nb in lists.items()}
        for key, table in self.tables.items():
            other = members["after" if key == "before" else "before"]
            self._fill(table, lists[key], other)
        self.sideBySideReady.emit(side)

    def _fill(self, table: RowsTable, nb, other: set[int]) -> None:
        es = self.es
        rows = np.asarray(nb.rows, dtype=np.int64)
        scores = np.asarray(nb.scores)
        metric = nb.metric
        shared = np.array([r in other for r in rows.tolist()], dtype=bool)
        only_here = QBrush(ONLY_HERE)
        shaded = {i: only_here for i in range(len(rows)) if not shared[i]}
        label = item_column(es, rows)
        header = SCORE_HEADERS.get(metric, metric)
        columns = [Column(header, lambda i: format_score(metric, float(scores[i])), numeric=True,
                          tooltip=lambda i: f"rank {i + 1} · {header} {scores[i]:.6g}"),
                   Column("item", label.value,
                          tooltip=lambda i: f"rank {i + 1} · {label.tooltip(i)}"
                          + ("" if shared[i] else "\nonly in this list"))]
        table.rows_model.set_content(rows, columns, bold=shared, background=shaded)
        table.fit_columns({0: 6})

    def _side_failed(self, error: BaseException) -> None:
        self.side_message.show_error(error)
        if self.side is not None:
            self.query_label.setText(headline(self.es.label(self.side.row), "shown earlier"))
