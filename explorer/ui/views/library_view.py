"""The library panel: every stored set with its size, dimension and model."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from explorer.core.library import LibraryEntry

COLUMNS = ("Name", "Items", "Dim", "Model", "Metric", "Size", "Imported")


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


class LibraryView(QWidget):
    openRequested = Signal(str)  # library id
    removeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.itemActivated.connect(lambda item, _c: self.openRequested.emit(item.data(0, Qt.ItemDataRole.UserRole)))
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.setToolTip("Double-click or Enter opens a set; right-click for more")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree)

    def set_entries(self, entries: list[LibraryEntry], current: str | None = None) -> None:
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for e in entries:
            item = QTreeWidgetItem([e.name, f"{e.count:,}", str(e.dim), e.model or "—", e.metric,
                                    human_bytes(e.bytes), e.created[:16].replace("T", " ")])
            item.setData(0, Qt.ItemDataRole.UserRole, e.id)
            item.setData(1, Qt.ItemDataRole.UserRole + 1, e.count)
            for col in (1, 2, 5):
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            tip = [f"id: {e.id}", f"source: {', '.join(e.source)}", f"format: {e.format}"]
            if e.zero_rows:
                tip.append(f"{e.zero_rows} all-zero rows")
            if e.nan_rows_dropped:
                tip.append(f"{e.nan_rows_dropped} NaN/Inf rows dropped on import")
            tip += e.notes
            item.setToolTip(0, "\n".join(tip))
            self.tree.addTopLevelItem(item)
            if e.id == current:
                item.setSelected(True)
        self.tree.setSortingEnabled(True)
        for col in range(1, len(COLUMNS)):
            self.tree.resizeColumnToContents(col)

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        set_id = item.data(0, Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.openRequested.emit(set_id))
        menu.addSeparator()
        menu.addAction("Remove from library…", lambda: self.removeRequested.emit(set_id))
        menu.exec(self.tree.viewport().mapToGlobal(pos))
