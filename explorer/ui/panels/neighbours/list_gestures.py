"""What clicks do in the neighbours dock's lists (results, hubs and anti-hubs, the three
compared metrics).

A plain click makes the item the neighbours query and the current item, as it always did:
these lists are for walking from item to item, and replacing the selection at each step
would throw away the selection the walk started from (and re-run a centroid query). The
selection keys still mean what they mean on the map and in the table: Shift+click adds the
item to the shared selection, Ctrl+click adds or removes it, and neither moves the query.
A right-click selects nothing (not even the list's own highlight) and opens the item's menu.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QMouseEvent

from explorer.ui.item_menu import item_menu
from explorer.ui.selection_gestures import click_mode
from explorer.ui.state import AppState
from explorer.ui.widgets.ranked_table import RowsTable

LIST_HELP = ("Click: make it the query · Shift+click: add it to the selection · "
             "Ctrl+click: add or remove it · right-click: its menu")
MOUSE_BUTTON_EVENTS = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                       QEvent.Type.MouseButtonDblClick)
SELECTION_KEYS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier


class ListGestures(QObject):
    """Gives `table` the selection keys and the item menu; a plain click is left to it."""

    def __init__(self, table: RowsTable, state: AppState) -> None:
        super().__init__(table)
        self.table = table
        self.state = state
        table.viewport().installEventFilter(self)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self.open_menu)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # the type first: the table may be half destroyed when its last events arrive
        if event.type() not in MOUSE_BUTTON_EVENTS or not isinstance(event, QMouseEvent):
            return False
        if event.button() == Qt.MouseButton.RightButton:
            return True  # Qt would select the row and make it current; the menu comes apart
        keys = event.modifiers() & SELECTION_KEYS
        if event.button() != Qt.MouseButton.LeftButton or not keys:
            return False
        if event.type() == QEvent.Type.MouseButtonPress:
            index = self.table.indexAt(event.position().toPoint())
            if index.isValid():
                row = self.table.rows_model.row_at(index.row())
                self.state.select([row], click_mode(keys), source=self.table)
        return True  # not a query: the list would make it one on release

    def open_menu(self, pos: QPoint) -> None:
        """`pos` is in the viewport's coordinates, as a scroll area gives it."""
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        menu = item_menu(self.state, self.table.rows_model.row_at(index.row()), self.table)
        if menu is not None:
            menu.popup(self.table.viewport().mapToGlobal(pos))
