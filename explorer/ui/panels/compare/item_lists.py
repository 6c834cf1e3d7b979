"""The items that changed most (or least) between A and B, and one item's two neighbour lists.

The lists are coloured as the Compression panel's per-query view colours exact against
compressed neighbours: a neighbour both sets keep is bold, one A has and B lost is tinted
red on A's side, one B brought in amber on B's side. Every row number here is A's (the core
maps B's neighbours back through the join).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.widgets.dock_widgets import DIM_STYLE, wrapping
from explorer.ui.widgets.ranked_table import GAINED, LOST

LISTED = 100  # items listed as most / least changed
ROW = Qt.ItemDataRole.UserRole


def marks(in_a: np.ndarray, in_b: np.ndarray) -> tuple[set, set, set]:
    """(kept, lost, new) of two neighbour lists (-1 pads a short list)."""
    a = {int(r) for r in in_a if r >= 0}
    b = {int(r) for r in in_b if r >= 0}
    return a & b, a - b, b - a


def swatch(text: str, colour) -> str:
    """`text` on the tint the lists use for it, for a title."""
    return (f"<span style='background: rgba({colour.red()}, {colour.green()}, "
            f"{colour.blue()}, {colour.alpha()})'>&nbsp;{text}&nbsp;</span>")


def table(columns: tuple[str, ...], tip: str, stretch: int = 1) -> QTableWidget:
    """A read-only list whose column `stretch` (the item's name) takes the room left."""
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    t.verticalHeader().hide()
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QTableWidget.SelectionMode.NoSelection)  # the shared selection rules
    t.setToolTip(tip)
    t.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # names differ at both ends
    header = t.horizontalHeader()
    header.setStretchLastSection(False)
    for j in range(len(columns)):
        header.setSectionResizeMode(j, QHeaderView.ResizeMode.Stretch if j == stretch
                                    else QHeaderView.ResizeMode.ResizeToContents)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)
    return t


def row_of(t: QTableWidget, at: int, column: int = 0) -> int:
    item = t.item(at, column) if at >= 0 else None
    return -1 if item is None else int(item.data(ROW))


class ChangedList(QWidget):
    """The items ordered by how much their neighbourhood changed; `chosen` an A row."""

    chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.order = QComboBox()
        self.order.addItems(["Changed most", "Changed least"])
        self.order.setToolTip("Lowest overlap first (then lowest rank correlation), or the "
                              "items whose neighbours stayed the same")
        self.order.currentIndexChanged.connect(lambda _i: self.fill())
        self.table = table(("item", "overlap", "rank ρ"),
                           "Click an item to select it and compare its neighbours in A and B. "
                           "Overlap: the share of its k nearest in A that are among its k "
                           "nearest in B; rank ρ: how alike the shared ones are ranked",
                           stretch=0)
        self.table.cellClicked.connect(lambda r, _c: self._clicked(r))
        self.es: EmbeddingSet | None = None
        self.comparison = None
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.order, 0, 0)
        grid.addWidget(self.table, 1, 0)
        grid.setRowStretch(1, 1)

    def show_comparison(self, es: EmbeddingSet | None, comparison) -> None:
        self.es, self.comparison = es, comparison
        self.fill()

    def most(self) -> bool:
        return self.order.currentIndex() == 0

    def fill(self) -> None:
        c, es = self.comparison, self.es
        if c is None or es is None:
            self.table.setRowCount(0)
            return
        at = c.changed(self.most(), top=LISTED)
        self.table.setRowCount(len(at))
        for i, p in enumerate(at.tolist()):
            row = int(c.rows_a[p])
            rho = c.rank_correlations[p]
            cells = (es.label(row), f"{c.overlap[p]:.2f}", "–" if np.isnan(rho) else f"{rho:.2f}")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(ROW, row)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)

    def rows(self) -> list[int]:
        """The A rows listed, in order."""
        return [row_of(self.table, i) for i in range(self.table.rowCount())]

    def _clicked(self, at: int) -> None:
        row = row_of(self.table, at)
        if row >= 0:
            self.chosen.emit(row)


class NeighbourPair(QWidget):
    """One item's k nearest in A and in B, side by side; `clicked` an A row."""

    clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = wrapping(QLabel())
        self.hint = wrapping(QLabel("Pick an item in the list (or click one on either map) "
                                    "to see its neighbours in both sets."))
        self.hint.setStyleSheet(DIM_STYLE)
        self.title_a, self.title_b = QLabel(), QLabel()
        self.list_a = table(("#", "in A"), "A's nearest neighbours. Bold: B keeps it; red: "
                                           "B lost it")
        self.list_b = table(("#", "in B"), "B's nearest neighbours. Bold: A has it too; amber: "
                                           "new in B")
        for t in (self.list_a, self.list_b):
            t.cellClicked.connect(lambda r, _c, t=t: self._clicked(t, r))
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.title, 0, 0, 1, 2)
        grid.addWidget(self.title_a, 1, 0)
        grid.addWidget(self.title_b, 1, 1)
        grid.addWidget(self.list_a, 2, 0)
        grid.addWidget(self.list_b, 2, 1)
        grid.addWidget(self.hint, 0, 0, 1, 2)  # in the title's place: shown one at a time
        grid.setRowStretch(2, 1)
        self.show_item(None, None, -1)

    def show_item(self, es: EmbeddingSet | None, comparison, at: int) -> None:
        """The lists of compared item `at` (a position in the comparison; -1: none)."""
        ready = es is not None and comparison is not None and at >= 0
        for w in (self.title, self.title_a, self.title_b, self.list_a, self.list_b):
            w.setVisible(ready)
        self.hint.setVisible(not ready)
        if not ready:
            return
        c = comparison
        in_a, in_b = c.neighbours_a[at], c.neighbours_b[at]
        kept, lost, new = marks(in_a, in_b)
        row = int(c.rows_a[at])
        self.title.setText(f"<b>{es.label(row)}</b>: B keeps {len(kept)} of its {c.k} "
                           f"nearest in A ({len(lost)} lost, {len(new)} new)")
        self.title_a.setText(f"<b>A</b>, top {c.k}: <b>bold</b> kept, {swatch('lost', LOST)}")
        self.title_b.setText(f"<b>B</b>, top {c.k}: <b>bold</b> kept, {swatch('new', GAINED)}")
        self._fill(self.list_a, es, in_a, kept, lost, LOST)
        self._fill(self.list_b, es, in_b, kept, new, GAINED)

    @staticmethod
    def _fill(t: QTableWidget, es: EmbeddingSet, rows: np.ndarray, kept: set, changed: set,
              tint) -> None:
        rows = [int(r) for r in rows if r >= 0]
        t.setRowCount(len(rows))
        bold = QFont(t.font())
        bold.setBold(True)
        for i, row in enumerate(rows):
            for j, text in enumerate((str(i + 1), es.label(row))):
                item = QTableWidgetItem(text)
                item.setData(ROW, row)
                if row in kept:
                    item.setFont(bold)
                elif row in changed:
                    item.setBackground(QBrush(tint))
                if j == 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(i, j, item)

    def _clicked(self, t: QTableWidget, at: int) -> None:
        row = row_of(t, at)
        if row >= 0:
            self.clicked.emit(row)
