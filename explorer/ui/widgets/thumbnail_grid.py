"""A list of items as a grid of thumbnails, and the switch between a list and its grid.

The neighbour list, hub lists, concept extremes, compression per-query lists and the
selection summary show set rows; for a set of images the pictures say more than the
labels. `ListOrGrid` puts a grid beside any such list and a Grid button to switch; the
grid shows the same rows (it follows a `RowsTable`'s model, or is filled by its owner) and
answers the mouse the way the list does: a click is the list's click (`rowChosen` of the
table, or the grid's own signal), hovering marks the item on the map, a right-click opens
the item's menu. A cell says what the list's row says by its shading (kept, lost, new: the
list's colour tints the cell and frames it), and selected items are framed in the
selection's colour, as the map frames their pictures. Without thumbnails the button says
how to get them and the list stays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import (QAbstractListModel, QEvent, QModelIndex, QObject, QPoint, QRect,
                            QSize, Qt, Signal)
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListView, QStackedWidget, QStyle,
                               QStyledItemDelegate, QStyleOptionViewItem, QToolButton,
                               QVBoxLayout, QWidget)

from explorer.ui.item_menu import item_menu
from explorer.ui.state import AppState
from explorer.ui.thumbnails import Thumbnails
from explorer.ui.widgets.ranked_table import RowsTable, brief

CELL = 96  # pixels of a thumbnail in the grid (the store's are 128: scaled down, sharp)
PLACEHOLDER_TEXT = {"missing": "file missing", "broken": "not an image", "url": "URL (offline)",
                    "pending": "not made yet", "none": "no image"}
NO_THUMBNAILS_TIP = ("This set has no thumbnails: View ▸ Images… chooses its image column "
                     "and builds them")
GRID_TIP = "Show the items as a grid of thumbnails (again: as a list)"
SELECTED = QColor(255, 200, 0)  # the selection's colour, as the map's thumbnail layer frames
SELECTED_ROLE = Qt.ItemDataRole.UserRole + 1  # bool: the cell's item is selected
MARK_WIDTH = 3  # pixels of a cell's frame


def placeholder(status: str, size: int = CELL) -> QPixmap:
    """A grey square saying why an item has no picture."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(128, 128, 128, 40))
    painter = QPainter(pixmap)
    painter.setPen(QColor(110, 110, 110))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                     PLACEHOLDER_TEXT.get(status, status))
    painter.end()
    return pixmap


class GridModel(QAbstractListModel):
    """Set rows as cells: the thumbnail (decoded when painted), the label under it."""

    def __init__(self, thumbnails: Thumbnails, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.rows = np.zeros(0, dtype=np.int64)
        self.label: Callable[[int], str] = str  # position -> text
        self.tooltip: Callable[[int], str] | None = None
        self.marks: dict[int, QColor] = {}  # position -> the list's shading of that row
        self.selection = np.zeros(0, dtype=np.int64)  # sorted set rows
        self.selected = np.zeros(0, dtype=bool)  # per position
        self._placeholders: dict[str, QPixmap] = {}
        thumbnails.changed.connect(self._thumbnails_changed)

    def set_rows(self, rows: np.ndarray, label: Callable[[int], str],
                 tooltip: Callable[[int], str] | None = None,
                 marks: dict[int, QColor] | None = None) -> None:
        """Show `rows`; `marks` shades positions as the list shades its rows."""
        self.beginResetModel()
        self.rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        self.label = label
        self.tooltip = tooltip
        self.marks = dict(marks or {})
        self.selected = self._selected()
        self.endResetModel()

    def set_selection(self, selection: np.ndarray) -> None:
        """Frame the cells of `selection` (sorted set rows, as the shared state keeps it)."""
        self.selection = np.asarray(selection, dtype=np.int64).reshape(-1)
        selected = self._selected()
        if len(self.rows) and not np.array_equal(selected, self.selected):
            self.selected = selected
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1), [SELECTED_ROLE])
        self.selected = selected

    def _selected(self) -> np.ndarray:
        """Which positions hold a selected row: a binary search each, so a selection of a
        million rows costs the grid's few hundred searches, not a sort."""
        sel = self.selection
        if not sel.size or not self.rows.size:
            return np.zeros(len(self.rows), dtype=bool)
        at = np.minimum(np.searchsorted(sel, self.rows), sel.size - 1)
        return sel[at] == self.rows

    def row_at(self, position: int) -> int:
        return int(self.rows[position])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return brief(self.label(i), 40)
        if role == Qt.ItemDataRole.DecorationRole:
            row = int(self.rows[i])
            pixmap = self.thumbnails.pixmap(row)
            if pixmap is not None:
                return pixmap
            status = self.thumbnails.status(row)
            if status not in self._placeholders:
                self._placeholders[status] = placeholder(status)
            return self._placeholders[status]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(i) if self.tooltip is not None else self.label(i)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self.marks.get(i)
        if role == SELECTED_ROLE:
            return bool(self.selected[i]) if i < len(self.selected) else False
        return None

    def _thumbnails_changed(self) -> None:
        if len(self.rows):
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1),
                                  [Qt.ItemDataRole.DecorationRole])


def marks_of(background: dict[int, QBrush]) -> dict[int, QColor]:
    """A `RowsModel`'s shading (position -> brush) as the grid's marks."""
    return {i: brush.color() for i, brush in background.items()}


class CellDelegate(QStyledItemDelegate):
    """A cell: the picture fitted into CELL x CELL (kept in shape, centred), the label under
    it on one line, elided; the hover highlight as the style draws it; the list's shading as
    a tint and a frame of its colour; a selected item framed in the selection's colour."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(CELL + 12, CELL + option.fontMetrics.height() + 10)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        style = option.widget.style() if option.widget is not None else None
        if style is not None and option.state & QStyle.StateFlag.State_MouseOver:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter,
                                option.widget)
        rect = option.rect
        mark = index.data(Qt.ItemDataRole.BackgroundRole)
        if isinstance(mark, QColor):
            painter.fillRect(rect, mark)
            painter.save()
            opaque = QColor(mark)
            opaque.setAlpha(255)
            painter.setPen(QPen(opaque, MARK_WIDTH))
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
            painter.restore()
        box = QRect(rect.x() + (rect.width() - CELL) // 2, rect.y() + 4, CELL, CELL)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            size = pixmap.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(box.center())
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(target, pixmap)
            if index.data(SELECTED_ROLE):
                painter.setPen(QPen(SELECTED, MARK_WIDTH))
                painter.drawRect(target.adjusted(-1, -1, 1, 1))
            painter.restore()
        text = option.fontMetrics.elidedText(str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
                                            Qt.TextElideMode.ElideRight, rect.width() - 4)
        painter.drawText(QRect(rect.x() + 2, box.bottom() + 3, rect.width() - 4,
                               option.fontMetrics.height()), Qt.AlignmentFlag.AlignHCenter, text)


class ThumbnailGrid(QListView):
    """The cells of a `GridModel`, wrapped to the width; keys and mouse as a list's."""

    rowClicked = Signal(int)  # set row
    rowHovered = Signal(int)  # set row or -1
    menuRequested = Signal(int, QPoint)  # set row, where on the screen

    def __init__(self, thumbnails: Thumbnails, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid_model = GridModel(thumbnails, self)
        self.setModel(self.grid_model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setWordWrap(False)
        self.setItemDelegate(CellDelegate(self))
        self.setSpacing(2)
        self.setSelectionMode(QListView.SelectionMode.NoSelection)
        self.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.clicked.connect(self._clicked)
        self.activated.connect(self._clicked)
        self.entered.connect(lambda index: self.rowHovered.emit(
            self.grid_model.row_at(index.row())))
        self.customContextMenuRequested.connect(self._menu)
        self.viewport().installEventFilter(self)

    def _clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.rowClicked.emit(self.grid_model.row_at(index.row()))

    def _menu(self, pos: QPoint) -> None:
        index = self.indexAt(pos)
        if index.isValid():
            self.menuRequested.emit(self.grid_model.row_at(index.row()),
                                    self.viewport().mapToGlobal(pos))

    def eventFilter(self, obj, event) -> bool:
        if obj is self.viewport() and event.type() == QEvent.Type.Leave:
            self.rowHovered.emit(-1)
        return super().eventFilter(obj, event)


class ListOrGrid(QWidget):
    """A list widget and its thumbnail grid, with a Grid button; `grid_on` is a panel
    setting a session keeps. The list is shown whenever the set has no thumbnails."""

    modeChanged = Signal(bool)  # the user switched: True for the grid

    def __init__(self, listing: QWidget, state: AppState, parent: QWidget | None = None, *,
                 title: str | QLabel | None = None) -> None:
        super().__init__(parent)
        self.listing = listing
        self.state = state
        self.thumbnails = state.thumbnails
        self.grid = ThumbnailGrid(self.thumbnails)
        self.grid.menuRequested.connect(self._menu)
        self.button = QToolButton(text="Grid")
        self.button.setObjectName("grid-switch")
        self.button.setCheckable(True)
        self.button.setAutoRaise(True)
        self.button.toggled.connect(self._toggled)
        self.stack = QStackedWidget()
        self.stack.addWidget(listing)
        self.stack.addWidget(self.grid)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        if title is not None:  # on the button's line: no row of its own for the title
            bar.addWidget(title if isinstance(title, QLabel) else QLabel(f"<b>{title}</b>"), 1)
        else:
            bar.addStretch(1)
        bar.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self.thumbnails.changed.connect(self._update)
        state.selectionChanged.connect(lambda rows, _src: self.grid.grid_model.set_selection(rows))
        self.grid.grid_model.set_selection(state.selection)
        self._update()

    @classmethod
    def of_table(cls, table: RowsTable, state: AppState, *,
                 title: str | QLabel | None = None) -> ListOrGrid:
        """The switch for a `RowsTable`: the grid follows its model, labels from its item
        column, and a cell's click and hover are the table's own."""
        switch = cls(table, state, title=title)
        model = table.rows_model

        def follow() -> None:
            item = next((c for c in model.columns if c.title == "item"),
                        model.columns[0] if model.columns else None)
            if item is None:
                switch.grid.grid_model.set_rows(model.rows, str)
                return
            switch.grid.grid_model.set_rows(model.rows, item.value, item.tooltip,
                                            marks_of(model.background))

        model.modelReset.connect(follow)
        switch.grid.rowClicked.connect(table.rowChosen)
        switch.grid.rowHovered.connect(table.rowHovered)
        follow()
        return switch

    @property
    def grid_on(self) -> bool:
        """The user's choice (kept even while the set has no thumbnails to show)."""
        return self.button.isChecked()

    def set_grid(self, on: bool) -> None:
        self.button.setChecked(bool(on))
        self._update()

    def _toggled(self, on: bool) -> None:
        self._update()
        self.modeChanged.emit(on)

    def _update(self) -> None:
        available = self.thumbnails.available()
        self.button.setToolTip(GRID_TIP if available else NO_THUMBNAILS_TIP)
        self.stack.setCurrentWidget(self.grid if available and self.grid_on else self.listing)

    def _menu(self, row: int, at: QPoint) -> None:
        menu = item_menu(self.state, row, self)
        if menu is not None:
            menu.popup(at)


def link(switches: list[ListOrGrid]) -> list[ListOrGrid]:
    """One choice for a panel's lists: switching one to the grid switches them all."""
    def follow(on: bool, origin: ListOrGrid) -> None:
        for other in switches:
            if other is not origin and other.grid_on != on:
                other.button.blockSignals(True)
                other.set_grid(on)
                other.button.blockSignals(False)

    for switch in switches:
        switch.modeChanged.connect(lambda on, s=switch: follow(on, s))
    return switches


def restore_grid(switches: list[ListOrGrid], value: object, panel: str) -> list[str]:
    """A session's "grid" setting (a bool, or absent in older sessions) back on `switches`;
    a note when it is something else."""
    if value is None:
        return []
    if not isinstance(value, bool):
        return [f"{panel}: grid {value!r} is not true or false"]
    for switch in switches:
        switch.set_grid(value)
    return []
