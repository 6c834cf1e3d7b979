"""The lists of items in the Concepts tabs (an axis's ends, neighbours before and after a
removal) answer the mouse as the map does (selection_gestures): a click selects the item
alone and makes it current, Shift+click adds it, Ctrl+click adds or removes it, and a
right-click opens the item's menu (item_menu) without changing the selection. The view's
highlight is the shared selection, never a press of its own, so a right-click cannot look
as if it selected."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QObject, QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

from explorer.ui.item_menu import item_menu
from explorer.ui.selection_gestures import CLICK_HELP, click_mode
from explorer.ui.state import AppState
from explorer.ui.widgets.ranked_table import RowsTable

MENU_HELP = "right-click for the item's menu"


class ItemListGestures(QObject):
    """Wires one RowsTable to the shared selection; it lives (and its connections end) with
    the table. `chosen(row)` runs after a click's selection, for what the tab adds."""

    def __init__(self, table: RowsTable, state: AppState, menu_parent: QWidget,
                 chosen: Callable[[int], None], what: str = "") -> None:
        super().__init__(table)
        self.table = table
        self.state = state
        self.menu_parent = menu_parent
        self.chosen = chosen
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.setToolTip("\n".join(t for t in (what, f"{CLICK_HELP}; {MENU_HELP}") if t))
        table.rowChosen.connect(self.clicked)
        table.customContextMenuRequested.connect(self.menu)
        table.rows_model.modelReset.connect(self.mark)
        state.selectionChanged.connect(self.mark)

    def clicked(self, row: int) -> None:
        """A click (or Enter) on a listed item; the list is the selection's source."""
        self.state.select([row], click_mode(QApplication.keyboardModifiers()), source=self.table)
        self.chosen(row)

    def menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        menu = item_menu(self.state, self.table.rows_model.row_at(index.row()), self.menu_parent)
        if menu is not None:
            menu.popup(self.table.viewport().mapToGlobal(pos))

    def mark(self, *_args) -> None:
        """Highlight the listed items that are selected (the lists are short)."""
        model = self.table.rows_model
        chosen = QItemSelection()
        selection = self.state.selection
        if len(selection) and model.rowCount():
            last = model.columnCount() - 1
            for i in np.flatnonzero(np.isin(model.rows, selection)).tolist():
                chosen.select(model.index(i, 0), model.index(i, last))
        self.table.selectionModel().select(chosen,
                                           QItemSelectionModel.SelectionFlag.ClearAndSelect)
