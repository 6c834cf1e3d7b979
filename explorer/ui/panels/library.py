"""The library panel: every stored set with its size on disk, dimension and model.

Damaged sets are listed too (greyed, with what is wrong), so they can be removed
from here instead of only from a terminal. Sizes on disk come later than the list:
`refresh` lists the manifests at once and measures the sets in a background job.
Columns that do not fit the panel's width are hidden (last first), so the name is
never squeezed; everything is in the name's tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QResizeEvent
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from explorer.core.manifest import DamagedSet, LibraryEntry
from explorer.core.storage import human_bytes
from explorer.ui.panels.base import Area, Panel, PanelContext

COLUMNS = ("Name", "Size", "Items", "Dim", "Model", "Metric", "Imported")  # what fits first
SIZE = COLUMNS.index("Size")
KEY = Qt.ItemDataRole.UserRole  # the set's id, on column 0
SORT = Qt.ItemDataRole.UserRole + 1  # the number a numeric column sorts by
_DAMAGED = QColor(150, 40, 40)
NAME_ROOM = 150  # px the name keeps before other columns are hidden
ROWS_WANTED = (4, 8)  # the panel asks for room for its sets (and one more), within these rows


class _Item(QTreeWidgetItem):
    """Numbers sort as numbers (a size not yet measured sorts first), text case-blind."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else 0
        mine, theirs = self.data(column, SORT), other.data(column, SORT)
        if mine is not None or theirs is not None:
            return (mine if mine is not None else -1) < (theirs if theirs is not None else -1)
        return self.text(column).casefold() < other.text(column).casefold()


class LibraryView(Panel):
    key = "library"
    title = "Library"
    area = Area.LEFT
    removeRequested = Signal(str)  # library id, or the folder name of a damaged set
    renameRequested = Signal(str)

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(COLUMNS.index("Imported"), Qt.SortOrder.DescendingOrder)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setMinimumSectionSize(36)
        self.tree.itemActivated.connect(self._activated)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.setToolTip("Double-click or Enter opens a set; right-click to rename or "
                             "remove it")
        self.tree.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.damaged: dict[str, DamagedSet] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.error_line)
        layout.addWidget(self.tree)

    def refresh(self, current: str | None = None) -> None:
        """List the sets now (their manifests); measure them and check their files in a
        job, then show the sizes and any set whose files turn out damaged."""
        library = self.panel_context.library
        entries, damaged = library.scan()
        self.set_entries(entries, current, damaged)

        def measure(state):
            from explorer.compute.library_storage import library_usage

            checked = library.scan(read_files=True)
            return checked, library_usage(library, state)

        def measured(result) -> None:
            (good, broken), report = result
            if [d.id for d in broken] != [d.id for d in damaged]:
                self.set_entries(good, current, broken)
            self.set_sizes({s.id: s.total for s in report.sets})

        self.error_line.clear_error()
        self.jobs.submit("measure", "Measuring the library", measure, on_done=measured,
                         set_bound=False)

    def set_entries(self, entries: list[LibraryEntry], current: str | None = None,
                    damaged: list[DamagedSet] = ()) -> None:
        sizes = {self.tree.topLevelItem(i).data(0, KEY): self.tree.topLevelItem(i).data(SIZE, SORT)
                 for i in range(self.tree.topLevelItemCount())}
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for e in entries:
            item = _Item([e.name, "…", f"{e.count:,}", str(e.dim), e.model or "—", e.metric,
                          e.created[:16].replace("T", " ")])
            item.setData(0, KEY, e.id)
            item.setData(COLUMNS.index("Items"), SORT, e.count)
            item.setData(COLUMNS.index("Dim"), SORT, e.dim)
            for col in (SIZE, COLUMNS.index("Items"), COLUMNS.index("Dim")):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
            tip = [f"id: {e.id}", f"{e.count:,} × {e.dim}, {e.metric}, model {e.model or '—'}",
                   f"imported: {e.created[:16].replace('T', ' ')}",
                   f"source: {', '.join(e.source) or '—'}", f"format: {e.format}"]
            if e.zero_rows:
                tip.append(f"{e.zero_rows} all-zero rows")
            if e.nan_rows_dropped:
                tip.append(f"{e.nan_rows_dropped} NaN/Inf rows dropped on import")
            tip += e.notes
            item.setToolTip(0, "\n".join(tip))
            self.tree.addTopLevelItem(item)
            if sizes.get(e.id) is not None:
                self._show_size(item, sizes[e.id])
            if e.id == current:
                item.setSelected(True)
        self.damaged = {d.id: d for d in damaged}
        for d in damaged:
            short = d.reason.split(" (")[0]  # the whole reason is in the tooltip
            item = _Item([f"{d.id} — damaged: {short}"] + [""] * (len(COLUMNS) - 1))
            item.setData(0, KEY, d.id)
            item.setForeground(0, QBrush(_DAMAGED))
            item.setToolTip(0, f"{d.path}\n{d.reason}\nRight-click to remove it from the library")
            self.tree.addTopLevelItem(item)
            item.setFirstColumnSpanned(True)
        self.tree.setSortingEnabled(True)
        self._fit_columns()

    def set_sizes(self, sizes: dict[str, int]) -> None:
        """Each set's bytes on disk, as measured by `du` (vectors, metadata and artefacts)."""
        self.tree.setSortingEnabled(False)
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            size = sizes.get(item.data(0, KEY))
            if size is not None and item.data(0, KEY) not in self.damaged:
                self._show_size(item, size)
        self.tree.setSortingEnabled(True)
        self._fit_columns()

    def sizeHint(self) -> QSize:
        """Room for the sets listed and one more, so a small library takes little height."""
        rows = min(max(self.tree.topLevelItemCount() + 1, ROWS_WANTED[0]), ROWS_WANTED[1])
        row = self.tree.sizeHintForRow(0) if self.tree.topLevelItemCount() else \
            self.tree.fontMetrics().height() + 6
        margins = self.layout().contentsMargins()
        height = (self.tree.header().sizeHint().height() + rows * row + 2 * self.tree.frameWidth()
                  + margins.top() + margins.bottom())
        return QSize(super().sizeHint().width(), height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Each column as wide as its header and cells; those that would leave the name
        less than NAME_ROOM hidden, the least needed (rightmost) first."""
        room = self.tree.viewport().width() - NAME_ROOM
        for col in range(1, len(COLUMNS)):
            self.tree.setColumnHidden(col, False)
            self.tree.resizeColumnToContents(col)
            room -= self.tree.columnWidth(col)
            self.tree.setColumnHidden(col, room < 0 and col > SIZE)

    @staticmethod
    def _show_size(item: QTreeWidgetItem, size: int) -> None:
        item.setText(SIZE, human_bytes(size))
        item.setData(SIZE, SORT, size)
        item.setToolTip(SIZE, f"{size:,} bytes on disk: vectors, metadata and everything "
                              "computed from them (File ▸ Library Storage… has the details)")

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        set_id = item.data(0, KEY)
        if set_id not in self.damaged:
            self.state.request_open(set_id)

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        set_id = item.data(0, KEY)
        menu = QMenu(self)
        if set_id not in self.damaged:
            menu.addAction("Open", lambda: self.state.request_open(set_id))
            menu.addAction("Rename…", lambda: self.renameRequested.emit(set_id))
            menu.addSeparator()
        menu.addAction("Remove from library…", lambda: self.removeRequested.emit(set_id))
        menu.exec(self.tree.viewport().mapToGlobal(pos))
