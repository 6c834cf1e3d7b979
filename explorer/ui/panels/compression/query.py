"""One query's neighbours under exact search and under a compression, side by side.

The figures say how often a method loses neighbours; this says which ones, and
what took their place: each list shows the exact score of every item, items the
method lost are tinted red on the left, the ones it brought in amber on the right
with the rank exact search gives them. Items tied with the k-th neighbour's score
(identical texts embed identically) may be picked differently by the two searches
without either being wrong: such swaps are tinted grey and counted as kept, and a
line says how many items tie. Queries are listed worst first, and the list follows
the current item when it is one of the queries.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QApplication, QComboBox, QGridLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QWidget)

from explorer.compute.compression import ListComparison, compare_one, exact_scores
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.item_menu import item_menu
from explorer.ui.selection_gestures import CLICK_HELP, click_mode
from explorer.ui.state import AppState, NeighbourMarks
from explorer.ui.widgets.dock_widgets import DIM_STYLE, shrinkable, wrapping
from explorer.ui.widgets.ranked_table import GAINED, LOST, SCORE_HEADERS
from explorer.ui.widgets.thumbnail_grid import ListOrGrid, link

TIED = QColor(128, 128, 128, 60)  # in one list only, but tied with the k-th: no loss
QUERIES_TIP = ("The query items, worst first: the share of the exact top-k the method keeps "
               "(items tied with the k-th count as kept), then the item. Picking one makes it "
               "the current item; making a query current elsewhere picks it here.")
TIED_TIP = ("Tied with the {k} neighbour's score: exact search and the method picked "
            "different items among equals, counted as kept")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ties_text(c: ListComparison, k: int) -> str:
    """The line on ties at the k-th score, "" when nothing ties with it."""
    if c.ties <= 1:
        return ""
    more = "at least " if c.ties_at_least else ""
    swapped = len(c.tied_lost)
    return (f"{more}{c.ties} items tie with the {ordinal(k)} neighbour's score "
            f"({c.kth_score:.4f}), "
            "so any of them is a right answer"
            + (f": {swapped} picked differently by the method (grey) are counted as kept."
               if swapped else "."))


class QueryComparison(QWidget):
    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.es: EmbeddingSet | None = None
        self.evaluation = None
        self.result = None  # the MethodResult compared with exact search
        self.query = -1  # index into evaluation.rows

        self.queries = shrinkable(QComboBox(), 12)
        self.queries.setToolTip(QUERIES_TIP)
        self.queries.currentIndexChanged.connect(self._query_picked)
        self.summary = wrapping(QLabel())
        self.ties = wrapping(QLabel())
        self.ties.setStyleSheet(DIM_STYLE)
        self.exact_title = QLabel()
        self.method_title = QLabel()
        self.exact_table = self._table(("#", "item", "score"),
                                       "Exact search on float32 vectors. Red: the method "
                                       "does not return this item in its top k.")
        self.method_table = self._table(("#", "item", "score", "exact #"),
                                        "The method's top k, scored exactly. Amber: not in "
                                        "the exact top k; 'exact #' is where exact search "
                                        "ranks it.")
        self.hint = wrapping(QLabel("Evaluate, then pick a method (the budget's choice, or a "
                                    "row of the table) to compare its neighbour lists."))
        self.hint.setStyleSheet(DIM_STYLE)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 4, 0, 0)
        grid.addWidget(QLabel("Query"), 0, 0)
        grid.addWidget(self.queries, 0, 1, 1, 3)
        grid.addWidget(self.summary, 1, 0, 1, 4)
        grid.addWidget(self.ties, 2, 0, 1, 4)
        grid.addWidget(self.exact_title, 3, 0, 1, 2)
        grid.addWidget(self.method_title, 3, 2, 1, 2)
        # each list can be a grid of thumbnails; one choice for both
        self.grid_switches = link([self._switch(t) for t in (self.exact_table,
                                                             self.method_table)])
        grid.addWidget(self.grid_switches[0], 4, 0, 1, 2)
        grid.addWidget(self.grid_switches[1], 4, 2, 1, 2)
        grid.addWidget(self.hint, 5, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        grid.setRowStretch(4, 1)
        state.currentChanged.connect(self._current_changed)
        self.show_result(None, None, None)

    def _table(self, columns: tuple[str, ...], tooltip: str) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(columns)
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        # the highlight would be the table's own: the shared selection shows on the map, and
        # a right press must not look as if it selected
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.setToolTip(f"{tooltip}\n{CLICK_HELP}; right-click for the item's menu")
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(lambda pos, t=table: self._menu(t, pos))
        header = table.horizontalHeader()
        header.setStretchLastSection(False)
        for j in range(len(columns)):
            header.setSectionResizeMode(j, QHeaderView.ResizeMode.Stretch if j == 1
                                        else QHeaderView.ResizeMode.ResizeToContents)
        table.setTextElideMode(Qt.TextElideMode.ElideLeft)  # ids differ at the end
        table.cellClicked.connect(lambda r, _c, t=table: self._item_clicked(t, r))
        return table

    def _switch(self, table: QTableWidget) -> ListOrGrid:
        """`table` or its thumbnail grid, whose clicks select and whose hover marks the map
        as the table's do; the grid tints and frames lost, gained and tied items as the list."""
        switch = ListOrGrid(table, self.state)
        switch.grid.rowClicked.connect(lambda row: self.state.select(
            [row], click_mode(QApplication.keyboardModifiers()), source=self))
        switch.grid.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
        return switch

    # --- what to show -----------------------------------------------------------------
    def show_result(self, es: EmbeddingSet | None, evaluation, result) -> None:
        """Compare `result`'s lists (a MethodResult of `evaluation`) with the exact ones."""
        if (result is not None and es is self.es and evaluation is self.evaluation
                and result is self.result):
            return  # the budget moved without changing the method: nothing to redraw
        same = evaluation is not None and evaluation is self.evaluation
        self.es, self.evaluation, self.result = es, evaluation, result
        ready = (es is not None and evaluation is not None and result is not None
                 and result.ids is not None and evaluation.exact is not None)
        self.hint.setVisible(not ready)
        for w in (self.queries, self.summary, self.exact_title, self.method_title,
                  *self.grid_switches):
            w.setVisible(ready)
        if not ready:
            self.ties.hide()
            self.query = -1
            return
        keep = self.query if same else -1  # another method, the same query: compare them
        order = self._list_queries()
        current = np.flatnonzero(np.asarray(evaluation.rows) == self.state.current)
        self.show_query(int(current[0]) if current.size else keep if keep >= 0
                        else int(order[0]))

    def _list_queries(self) -> np.ndarray:
        """Fill the query list, worst first by the share kept with ties counted as kept (as
        the Figures table averages it); returns the order."""
        ev, r, es = self.evaluation, self.result, self.es
        shares = r.per_query_kept if r.per_query_kept is not None else r.per_query_overlap
        order = np.argsort(shares, kind="stable")
        self.queries.blockSignals(True)
        self.queries.clear()
        for i in order:
            self.queries.addItem(f"{shares[i]:.2f}  {es.label(int(ev.rows[i]))}", int(i))
        self.queries.blockSignals(False)
        return order

    def show_query(self, index: int) -> None:
        """The lists of query number `index` (a position in evaluation.rows)."""
        ev, r, es = self.evaluation, self.result, self.es
        if ev is None or r is None or es is None or not 0 <= index < ev.queries:
            return
        self.query = index
        at = self.queries.findData(index)
        if at != self.queries.currentIndex():
            self.queries.blockSignals(True)
            self.queries.setCurrentIndex(at)
            self.queries.blockSignals(False)
        k = ev.k
        row = int(ev.rows[index])
        exact_all = ev.exact[index]
        exact_all = exact_all[exact_all >= 0]
        exact = exact_all[:k]
        got = r.ids[index][r.ids[index] >= 0]
        # the whole exact list is scored (a hundred rows): ties past the k-th are counted
        scores = exact_scores(es.vectors, row, np.concatenate([exact_all, got]), ev.metric)
        c = compare_one(exact_all, scores[:len(exact_all)], got, scores[len(exact_all):], k)
        exact_rank = {int(x): i + 1 for i, x in enumerate(exact_all)}
        title = SCORE_HEADERS.get(ev.metric, ev.metric)
        self.exact_title.setText(f"<b>Exact</b> (float32), top {k}")
        self.method_title.setText(f"<b>{r.name}</b>, top {k}")
        for table in (self.exact_table, self.method_table):
            table.horizontalHeaderItem(2).setText(title)
        self._fill(self.exact_table, exact, scores[:len(exact)], set(c.lost), set(c.tied_lost),
                   None)
        self._fill(self.method_table, got, scores[len(exact_all):], set(c.gained),
                   set(c.tied_gained), exact_rank)
        depth = ev.depth
        ranks = ", ".join(str(exact_rank[g]) if g in exact_rank else f">{depth}"
                          for g in c.gained)
        self.summary.setText(
            f"{es.label(row)}: the method keeps {c.kept} of {len(exact)}"
            + (f"; in place of the lost it returns items exact search ranks {ranks}."
               if c.gained else "." if not c.lost else "; it returns fewer items."))
        self.ties.setText(ties_text(c, k))
        self.ties.setVisible(c.ties > 1)

    def _fill(self, table: QTableWidget, rows: np.ndarray, scores: np.ndarray, marked: set,
              tied: set, exact_rank: dict | None) -> None:
        es = self.es
        switch = self.grid_switches[0 if table is self.exact_table else 1]
        mark = LOST if exact_rank is None else GAINED
        switch.grid.grid_model.set_rows(
            rows, lambda i: es.label(int(rows[i])),
            marks={i: mark if row in marked else TIED for i, row in enumerate(rows.tolist())
                   if row in marked or row in tied})
        table.setRowCount(len(rows))
        for i, (row, score) in enumerate(zip(rows.tolist(), scores)):
            cells = [str(i + 1), es.label(row), f"{score:.4f}"]
            if exact_rank is not None:
                cells.append(str(exact_rank.get(row, f">{self.evaluation.depth}")))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row)
                if j != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if row in marked:
                    item.setBackground(QBrush(LOST if exact_rank is None else GAINED))
                elif row in tied:
                    item.setBackground(QBrush(TIED))
                    item.setToolTip(TIED_TIP.format(k=ordinal(self.evaluation.k)))
                table.setItem(i, j, item)

    # --- linking ----------------------------------------------------------------------
    def _query_picked(self, at: int) -> None:
        index = self.queries.itemData(at)
        if index is not None:
            self.mark(int(index))

    def mark(self, index: int) -> None:
        """Show query `index`, make it the current item and put the method's neighbours of it
        on the map (where the replacements lie is the question)."""
        ev, r = self.evaluation, self.result
        if ev is None or r is None:
            return
        self.show_query(index)
        row = int(ev.rows[index])
        self.state.set_current(row, self)
        got = r.ids[index]
        self.state.set_neighbours(NeighbourMarks.of([row], got[got >= 0],
                                                    f"{r.name}, top {ev.k}"))

    def _current_changed(self, row: int, source: object) -> None:
        ev = self.evaluation
        if source is self or ev is None or self.result is None or row < 0:
            return
        found = np.flatnonzero(np.asarray(ev.rows) == row)
        if found.size:
            self.show_query(int(found[0]))

    def _item_clicked(self, table: QTableWidget, at: int) -> None:
        """A neighbour clicked is selected everywhere with the keys' usual meaning (the query
        stays the current item)."""
        row = self._row(table, at)
        if row >= 0:
            self.state.select([row], click_mode(QApplication.keyboardModifiers()), source=self)

    def _menu(self, table: QTableWidget, pos) -> None:
        """A right-click opens the item's menu and selects nothing."""
        menu = item_menu(self.state, self._row(table, table.rowAt(pos.y())), self)
        if menu is not None:
            menu.popup(table.viewport().mapToGlobal(pos))

    @staticmethod
    def _row(table: QTableWidget, at: int) -> int:
        """The set row listed on line `at` (-1 for none)."""
        item = table.item(at, 0) if at >= 0 else None
        return -1 if item is None else int(item.data(Qt.ItemDataRole.UserRole))
