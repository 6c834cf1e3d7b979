"""The metadata table: virtualised over Arrow, filtered by DuckDB, linked to the selection.

Its filter box is one part of the shared filter (`AppState.filter`, key "table"): the rows
shown are those every part lets through (the charts' bars and ranges too), narrowed by the
text search, which stays the table's own. "Selection only" narrows it further to the
selection: the one made elsewhere (map, lists) when the toggle is turned on or the selection
changes there; a click in the table picks within those rows instead of emptying the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from PySide6.QtCore import (QAbstractTableModel, QItemSelection, QItemSelectionModel, QModelIndex,
                            Qt, QTimer, Signal)
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QTableView, QVBoxLayout, QWidget)

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.metadata import MetadataQuery, query_for
from explorer.ui.item_menu import item_menu
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.selection_gestures import CLICK_HELP, SHAPE_HELP, click_mode, shape_mode
from explorer.ui.state import AppState, FilterPart, RowFilter, SelectMode, combine
from explorer.ui.widgets.filter_hint import NO_EXAMPLE, filter_example

MAX_CELL_CHARS = 300
MAX_QUERY_CHARS = 10_000  # a session's filter or search beyond this is no one's typing
MAX_SYNC_RANGES = 20_000  # beyond this, highlighting the selection row by row is not worth it
PART = "table"  # the table's part of the shared filter
MAX_LABEL_CHARS = 60


class ArrowTableModel(QAbstractTableModel):
    """Shows rows `rows` (or all) of an Arrow table; cells are converted only when painted."""

    def __init__(self) -> None:
        super().__init__()
        self._columns: list[pa.Array] = []
        self._names: list[str] = []
        self._types: list[str] = []
        self._rows: np.ndarray | None = None
        self._n = 0

    def set_table(self, table: pa.Table | None) -> None:
        self.beginResetModel()
        if table is None:
            self._columns, self._names, self._types, self._n = [], [], [], 0
        else:
            # one chunk gives O(1) cell access; most tables already are one chunk
            self._columns = [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()
                             for c in table.columns]
            self._names = list(table.column_names)
            self._types = [str(t) for t in table.schema.types]
            self._n = table.num_rows
        self._rows = None
        self.endResetModel()

    def set_rows(self, rows: np.ndarray | None) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    @property
    def shown_rows(self) -> np.ndarray | None:
        """The set rows shown, in order, or None when every row is shown."""
        return self._rows

    def source_row(self, view_row: int) -> int:
        return int(self._rows[view_row]) if self._rows is not None else view_row

    def view_rows(self, source_rows: np.ndarray) -> np.ndarray:
        """Positions in this view of the given set rows (those that are shown)."""
        if self._rows is None:
            return source_rows
        if len(self._rows) == 0:
            return source_rows[:0]
        pos = np.minimum(np.searchsorted(self._rows, source_rows), len(self._rows) - 1)
        return pos[self._rows[pos] == source_rows]

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return len(self._rows) if self._rows is not None else self._n

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = self._columns[index.column()][self.source_row(index.row())].as_py()
            if value is None:
                return "" if role == Qt.ItemDataRole.DisplayRole else None
            text = str(value)
            if role == Qt.ItemDataRole.DisplayRole:
                text = text.replace("\n", " ")
                return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"
            return text[:2000] if len(text) > 60 else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if self._types[index.column()].startswith(("int", "uint", "float", "double")):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self._names[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{self._names[section]} ({self._types[section]})"
        elif role == Qt.ItemDataRole.DisplayRole:
            return str(self.source_row(section))
        return None


MOVES = {Qt.Key.Key_Up: QAbstractItemView.CursorAction.MoveUp,
         Qt.Key.Key_Down: QAbstractItemView.CursorAction.MoveDown,
         Qt.Key.Key_PageUp: QAbstractItemView.CursorAction.MovePageUp,
         Qt.Key.Key_PageDown: QAbstractItemView.CursorAction.MovePageDown,
         Qt.Key.Key_Home: QAbstractItemView.CursorAction.MoveHome,
         Qt.Key.Key_End: QAbstractItemView.CursorAction.MoveEnd}


@dataclass(frozen=True)
class Press:
    """A left button held down on a row: where, with which keys, and what it selected."""

    row: int  # view row
    modifiers: Qt.KeyboardModifier
    before: np.ndarray  # the selection before the press
    rows: np.ndarray  # set rows the press chose, and how
    mode: SelectMode


class SelectionTable(QTableView):
    """The table's view. Its highlighted rows only mirror the shared selection; every
    gesture becomes one `AppState.select` with the meaning `selection_gestures` gives it,
    over the whole selection, rows the filter hides included:
      * a click (or an arrow key) replaces it: hidden rows leave too, as after a map click;
      * Shift+click (Shift+arrow) adds the rows from the last row clicked to this one;
      * Ctrl+click (Ctrl+Space) adds or removes one row and keeps all the others;
      * dragging over rows is a brushed range: plain replaces, Shift adds, Ctrl removes,
        Shift+Ctrl keeps only what is inside, measured from the selection before the press;
      * Ctrl+A selects exactly the rows shown, nothing hidden;
      * a right-click (or the menu key) opens the item's menu and selects nothing.
    Qt's own ExtendedSelection knows only the rows shown, so it kept hidden rows under a
    click and replaced everything on a right press."""

    def __init__(self, state: AppState, model: ArrowTableModel, source: QWidget) -> None:
        super().__init__()
        self.state = state
        self.source = source  # the panel: what the selections made here say they came from
        self.rows_model = model
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setToolTip(f"{CLICK_HELP} · drag over rows: {SHAPE_HELP.lower()} · Ctrl+A "
                        "selects the rows shown · right-click for the item's menu")
        self.anchor = -1  # set row of the last plain or Ctrl gesture: Shift extends from it
        self.press: Press | None = None
        header = self.verticalHeader()
        header.sectionPressed.connect(
            lambda row: self.pressed(row, QGuiApplication.keyboardModifiers()))
        header.sectionEntered.connect(self.dragged_to)

    def selectionCommand(self, index: QModelIndex, event=None) -> QItemSelectionModel.SelectionFlag:
        """Qt selects nothing by itself here: the gestures select through AppState."""
        return QItemSelectionModel.SelectionFlag.NoUpdate

    def set_rows(self, view_rows: np.ndarray) -> np.ndarray:
        """The set rows at these positions of the view."""
        shown = self.rows_model.shown_rows
        return view_rows if shown is None else shown[view_rows]

    def pressed(self, row: int, modifiers: Qt.KeyboardModifier) -> None:
        """A click (or a key acting as one) on view row `row` (-1: below the rows)."""
        mode = click_mode(modifiers)
        before = self.state.selection
        self.press = None
        if row < 0:
            if mode is SelectMode.REPLACE:
                self.state.select([], source=self.source)
            return
        anchor = self.rows_model.view_rows(np.array([self.anchor], dtype=np.int64))
        if mode is SelectMode.ADD and self.anchor >= 0 and len(anchor):
            start, end = sorted((int(anchor[0]), row))
            rows = self.set_rows(np.arange(start, end + 1, dtype=np.int64))
        else:
            rows = self.set_rows(np.array([row], dtype=np.int64))
            self.anchor = int(rows[0])
        self.press = Press(row, modifiers, before, rows, mode)
        self.state.select(rows, mode, source=self.source)

    def dragged_to(self, row: int) -> None:
        """The held button is over view row `row`: the range from the pressed row."""
        press = self.press
        if press is None or row < 0:
            return
        if row == press.row:
            rows, mode = press.rows, press.mode
        else:
            start, end = sorted((press.row, row))
            rows = self.set_rows(np.arange(start, end + 1, dtype=np.int64))
            mode = shape_mode(press.modifiers)
        self.state.select(combine(press.before, rows, mode), source=self.source)

    def selectAll(self) -> None:
        """Ctrl+A: the rows shown, and only those."""
        shown = self.rows_model.shown_rows
        es = self.state.embedding_set
        if es is not None:
            self.state.select(np.arange(es.count) if shown is None else shown, source=self.source)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            event.accept()  # Qt would make the row current; the menu opens on its own event
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self.pressed(self.rowAt(event.position().toPoint().y()), event.modifiers())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)  # moves the current row along, and scrolls
        if event.buttons() & Qt.MouseButton.LeftButton:
            row = self.rowAt(event.position().toPoint().y())
            self.dragged_to(row if row >= 0 else self.currentIndex().row())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        self.press = None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Arrows, pages, Home and End move the current row and select as a click would
        (Ctrl only moves); Ctrl+Space toggles the current row. Moving is done here, not by
        Qt, since some styles do not move a row that selects nothing."""
        modifiers = event.modifiers()
        move = MOVES.get(Qt.Key(event.key()))
        row = self.currentIndex().row()
        if move is not None:
            index = self.moveCursor(move, modifiers)
            if index.isValid() and index.row() != row:
                self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
                self.scrollTo(index)
                if click_mode(modifiers) is not SelectMode.TOGGLE:
                    self.pressed(index.row(), modifiers)
                    self.press = None
            event.accept()
        elif event.key() == Qt.Key.Key_Space and modifiers & Qt.KeyboardModifier.ControlModifier:
            if row >= 0:
                self.pressed(row, modifiers)
                self.press = None
            event.accept()
        else:
            super().keyPressEvent(event)  # Ctrl+A comes to selectAll from there

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if event.reason() == QContextMenuEvent.Reason.Mouse:
            row, at = self.rowAt(event.pos().y()), event.globalPos()
        else:  # the menu key: the current row's menu, under the row
            row = self.currentIndex().row()
            at = self.viewport().mapToGlobal(self.visualRect(self.currentIndex()).center())
        # the panel as the menu's parent: its entries then select as the table's clicks do
        menu = item_menu(self.state, self.rows_model.source_row(row), self.source) \
            if row >= 0 else None
        if menu is not None:
            menu.popup(at)
        event.accept()


def runs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last of each run of consecutive numbers in sorted `rows`."""
    if not len(rows):
        return rows, rows
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    return rows[np.r_[0, breaks]], rows[np.r_[breaks - 1, len(rows) - 1]]


def filter_placeholder(table: pa.Table | None) -> str:
    if table is None:
        return f"Filter (SQL): {NO_EXAMPLE}   ⏎"
    return f"Filter (SQL), e.g.  {filter_example(table)}   ⏎"


class TableView(Panel):
    """Filter box (SQL through DuckDB), text search, and the virtualised table."""
    key = "table"
    title = "Table"
    area = Area.BOTTOM

    queryFinished = Signal()  # the shown rows changed, or the query failed

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._query: MetadataQuery | None = None

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(filter_placeholder(None))
        self.filter_edit.setToolTip("A DuckDB WHERE expression over the metadata columns; "
                                    "Enter applies it, an empty box shows every row (Ctrl+L)")
        self.filter_edit.setClearButtonEnabled(True)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search text…")
        self.search_edit.setToolTip("Case-insensitive substring search over the text columns (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.only_selection = QCheckBox("Selection only")
        self.only_selection.setToolTip("Show only the selected rows (the filter and search "
                                       "still apply); clicks in the table pick among them")
        self.message = QLabel()
        self.message.setStyleSheet("color: #c0392b")
        self.message.setWordWrap(True)
        self.message.hide()

        self.model = ArrowTableModel()
        self.table = SelectionTable(self.state, self.model, self)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.table.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setDefaultSectionSize(140)
        hh.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)

        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 3)
        bar.addWidget(self.search_edit, 2)
        bar.addWidget(self.only_selection)
        bar.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.error_line)
        layout.addWidget(self.table)

        self._search_rows: np.ndarray | None = None  # the text search's rows, if one is typed
        self._applied = False  # the filter box's expression is a part of the shared filter
        self._only: np.ndarray | None = None  # the selection shown while "Selection only" is on
        self._highlighted = np.zeros(0, dtype=np.int64)  # view rows drawn as selected
        self.model.modelReset.connect(self._forget_highlight)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self._run_search)
        self.search_edit.textChanged.connect(lambda _: self._search_timer.start())
        self.filter_edit.returnPressed.connect(self._run_filter)
        self.filter_edit.textChanged.connect(lambda t: self._run_filter() if not t else None)

        self.state.filterChanged.connect(self._filter_changed)
        self.state.selectionChanged.connect(self._selection_changed)
        self.state.selectionChanged.connect(self._selection_for_only)
        self.only_selection.toggled.connect(self._only_toggled)

    # --- the panel contract ----------------------------------------------------
    def new_set(self, es: EmbeddingSet | None) -> None:
        self._set_texts("", "")
        self._search_rows = None
        self._applied = False
        self._only = None
        self.only_selection.blockSignals(True)
        self.only_selection.setChecked(False)
        self.only_selection.blockSignals(False)
        self.message.hide()
        self.model.set_table(es.metadata if es is not None else None)
        self.filter_edit.setPlaceholderText(filter_placeholder(es.metadata if es else None))
        self._query = None
        if es is not None:
            self._query = query_for(es)  # the library's file, a sharded set's shards, or memory
            self._fit_columns(es.metadata)
        self._update_count()

    def settings(self) -> dict[str, Any]:
        return {"filter": self.filter_edit.text(), "search": self.search_edit.text(),
                "selection_only": self.only_selection.isChecked()}

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        """Fill in the filter and search and run them, as Enter would, and turn "Selection
        only" on or off (the session's selection, restored next, is then what it shows). The
        filter is as untrusted as the file: the query refuses what would read anything but
        the table."""
        notes, texts = [], {}
        only = settings.get("selection_only", False)
        if not isinstance(only, bool):
            notes.append(f"the table's \"Selection only\" should be true or false, not "
                         f"{type(only).__name__}")
            only = False
        for name in ("filter", "search"):
            value = settings.get(name, "")
            if not isinstance(value, str):
                notes.append(f"the table's {name} should be text, not {type(value).__name__}")
                value = ""
            elif len(value) > MAX_QUERY_CHARS:
                notes.append(f"the table's {name} is {len(value):,} characters long (at most "
                             f"{MAX_QUERY_CHARS:,} are taken), so it was left empty")
                value = ""
            texts[name] = value
        self._set_texts(texts["filter"], texts["search"])
        self.only_selection.setChecked(only)
        self._run_query()
        return notes

    def focus_filter(self) -> None:
        """Edit ▸ Filter… (Ctrl+L)."""
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def focus_search(self) -> None:
        """Edit ▸ Search… (Ctrl+F)."""
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    # --- set and query ---------------------------------------------------------
    def _set_texts(self, filter_text: str, search_text: str) -> None:
        """Fill both boxes without running a query (the caller decides)."""
        for edit, text in ((self.filter_edit, filter_text), (self.search_edit, search_text)):
            edit.blockSignals(True)
            edit.setText(text)
            edit.blockSignals(False)
        self._search_timer.stop()

    def _fit_columns(self, table: pa.Table, sample_rows: int = 200) -> None:
        """Size columns from the header and the first rows, within sane bounds."""
        metrics = self.table.fontMetrics()
        head = table.slice(0, sample_rows)
        for i, name in enumerate(table.column_names):
            values = sorted((str(v) for v in head.column(i).to_pylist() if v is not None), key=len)
            typical = values[int(0.8 * (len(values) - 1))][:48] if values else ""
            width = max(metrics.horizontalAdvance(name) + 28, metrics.horizontalAdvance(typical) + 16)
            self.table.setColumnWidth(i, min(320, max(48, width)))

    def _run_query(self) -> None:
        """Run the filter box and the search as they read now."""
        self._run_filter()
        self._run_search()

    def _run_filter(self) -> None:
        """The filter box's expression becomes the table's part of the shared filter."""
        if self._query is None:
            return
        expr = self.filter_edit.text().strip()
        self.message.hide()
        if not expr:
            self.jobs.cancel("filter")
            self._applied = False
            if self.state.filter.part(PART) is not None:
                self.state.remove_filter_parts([PART], source=self)
            else:
                self._show_rows()
            return
        query = self._query
        label = expr if len(expr) <= MAX_LABEL_CHARS else expr[:MAX_LABEL_CHARS - 1] + "…"
        self.jobs.submit("filter", "Filtering metadata", lambda _state: query.filter(expr),
                         on_done=lambda rows: self._filter_done(expr, label, rows),
                         on_error=self._query_failed)

    def _filter_done(self, expr: str, label: str, rows: np.ndarray) -> None:
        if self.filter_edit.text().strip() != expr:
            return  # a job cancelled too late still delivers: the box was changed since
        self._applied = True
        self.state.set_filter_part(FilterPart(PART, label, expr, rows), source=self)

    def _run_search(self) -> None:
        """The search narrows what the table shows; it is not part of the shared filter."""
        self._search_timer.stop()
        if self._query is None:
            return
        text = self.search_edit.text().strip()
        if not text:
            self.jobs.cancel("search")
            if self._search_rows is not None:
                self._search_rows = None
                self._show_rows()
            return
        query = self._query
        self.jobs.submit("search", "Searching metadata", lambda _state: query.search(text),
                         on_done=self._search_done, on_error=self._query_failed)

    def _search_done(self, rows: np.ndarray) -> None:
        self._search_rows = rows
        self._show_rows()

    def _filter_changed(self, row_filter: RowFilter, source: object) -> None:
        if self._applied and row_filter.part(PART) is None:
            self._applied = False  # its chip was removed elsewhere: the box says so
            self._set_texts("", self.search_edit.text())
            self.message.hide()
        self._show_rows()

    def _show_rows(self) -> None:
        """Show the rows the shared filter lets through, narrowed by the search."""
        es = self.state.embedding_set
        if es is None:
            return
        rows, found = self.state.filter.rows, self._search_rows
        if found is not None:
            if rows is None:
                rows = found
            else:
                passes = np.zeros(es.count, dtype=bool)
                passes[rows] = True
                rows = found[passes[found]]
        if self._only is not None:
            if rows is None:
                rows = self._only
            else:
                chosen = np.zeros(es.count, dtype=bool)
                chosen[self._only] = True
                rows = rows[chosen[rows]]
        if rows is None and self.model.shown_rows is None:
            self._update_count()
        else:
            self.model.set_rows(rows)
            self._update_count()
            self._selection_changed(self.state.selection, None)
        self.queryFinished.emit()

    def _query_failed(self, error: BaseException) -> None:
        self.message.setText(str(error))
        self.message.show()
        self.queryFinished.emit()

    def _update_count(self) -> None:
        es = self.state.embedding_set
        if es is None:
            self.count_label.setText("")
            return
        shown = self.model.rowCount()
        text = f"{shown:,} of {es.count:,} rows" if shown != es.count else f"{es.count:,} rows"
        if self._only is not None:
            text += " · selection only"
        others = [p for p in self.state.filter.parts if p.key != PART]
        if others:  # the charts filter the table too: say so, and how
            text += f" · {len(others)} chart filter{'s' if len(others) > 1 else ''}"
        self.count_label.setText(text)
        self.count_label.setToolTip("\n".join(f"{p.label}: {p.sql}" for p in others))

    # --- selection only --------------------------------------------------------
    def _only_toggled(self, on: bool) -> None:
        self._only = np.asarray(self.state.selection, dtype=np.int64) if on else None
        self._show_rows()

    def _selection_for_only(self, rows: np.ndarray, source: object) -> None:
        """A selection made elsewhere becomes the rows shown; one made here picks among
        them, so the table does not shrink to the row just clicked."""
        if self._only is None or source is self:
            return
        self._only = np.asarray(rows, dtype=np.int64)
        self._show_rows()

    # --- selection sync --------------------------------------------------------
    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.state.set_current(self.model.source_row(current.row()), source=self)

    def _selection_changed(self, rows: np.ndarray, source: object) -> None:
        """Highlight the selected rows shown (the view selects nothing by itself); a
        selection made elsewhere is also scrolled to."""
        view_rows = self.model.view_rows(rows)
        count = len(runs(view_rows)[0])
        if count > MAX_SYNC_RANGES:
            view_rows, count = view_rows[:0], 0
        old = self._highlighted
        added = np.setdiff1d(view_rows, old, assume_unique=True)
        removed = np.setdiff1d(old, view_rows, assume_unique=True)
        highlighted = self.table.selectionModel()
        Flag = QItemSelectionModel.SelectionFlag
        # Qt compares the old and new highlight range by range: a few rows toggled are
        # quick to tell it, a whole new selection of thousands of ranges only once cleared
        # (6.6 s for 30,000 scattered rows of 63k replaced by others)
        if len(runs(added)[0]) + len(runs(removed)[0]) < count:
            highlighted.select(self._ranges(added), Flag.Select)
            highlighted.select(self._ranges(removed), Flag.Deselect)
        else:
            highlighted.clearSelection()
            highlighted.select(self._ranges(view_rows), Flag.Select)
        self._highlighted = view_rows
        if len(view_rows) and source is not self:
            self.table.scrollTo(self.model.index(int(view_rows[0]), 0))

    def _forget_highlight(self) -> None:
        """A model reset clears the view's selection."""
        self._highlighted = np.zeros(0, dtype=np.int64)

    def _ranges(self, view_rows: np.ndarray) -> QItemSelection:
        """Whole rows `view_rows` (sorted) as one range per run of consecutive rows."""
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for start, end in zip(*runs(view_rows)):
            selection.select(self.model.index(int(start), 0), self.model.index(int(end), last))
        return selection
