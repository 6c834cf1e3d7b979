"""Ranked lists of set rows (neighbours, hubs): a lazy table model, its view and its columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from explorer.core.embedding_set import EmbeddingSet

SCORE_HEADERS = {"cosine": "cosine", "dot": "dot", "l2": "L2 dist."}
# a list's tints against a reference list (exact neighbours, set A): what it lost, what it gained
LOST = QColor(220, 60, 60, 70)  # in the reference top-k, not in this list
GAINED = QColor(230, 160, 30, 80)  # in this list's top-k, not in the reference
MAX_TEXT = 200


def format_score(metric: str, value: float) -> str:
    """Cosines compare in three decimals; dot products and distances have any scale."""
    if not np.isfinite(value):
        return "–"
    if metric == "cosine":
        return f"{value:.3f}"
    return f"{value:.4g}"


def brief(text: str, limit: int = MAX_TEXT) -> str:
    """One line of at most `limit` characters: a cell is no place for a whole document."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_column(es: EmbeddingSet) -> str | None:
    """The column shown next to each item's label: the set's text, else its first string
    column; never the column the label already comes from."""
    if es.text_column and es.text_column in es.columns:
        return es.text_column if es.text_column != es.label_column else None
    strings = [name for name, typ in zip(es.metadata.column_names, es.metadata.schema.types)
               if name not in (es.id_column, es.label_column)
               and (pa.types.is_string(typ) or pa.types.is_large_string(typ))]
    for preferred in ("text", "summary", "description", "title", "content", "sentence", "name"):
        for name in strings:
            if name.lower() == preferred:
                return name
    return strings[0] if strings else None


@dataclass
class Column:
    title: str
    value: Callable[[int], str]  # position in the list -> cell text
    numeric: bool = False
    tooltip: Callable[[int], str] | None = None


def item_column(es: EmbeddingSet, rows: np.ndarray) -> Column:
    """Each row's label; the tooltip adds its row number."""
    return Column("item", lambda i: es.label(int(rows[i])),
                  tooltip=lambda i: f"#{int(rows[i])} {es.label(int(rows[i]))}")


def metadata_column(es: EmbeddingSet, name: str, rows: np.ndarray) -> Column:
    """A metadata column of each row, on one line; the tooltip shows more of it."""
    col = es.metadata.column(name)

    def cell(i: int, limit: int) -> str:
        v = col[int(rows[i])].as_py()
        return "" if v is None else brief(v, limit)

    return Column(name, lambda i: cell(i, MAX_TEXT), tooltip=lambda i: cell(i, 1000))


def item_with_text_column(es: EmbeddingSet, text_col: str | None, rows: np.ndarray) -> Column:
    """Each row's label, whose tooltip adds the item's text: lists too narrow for a text
    column still show it on hover."""
    label = item_column(es, rows)
    if text_col is None:
        return label
    text = metadata_column(es, text_col, rows)
    return Column("item", label.value,
                  tooltip=lambda i: f"{label.tooltip(i)}\n{text.tooltip(i)}")


class RowsModel(QAbstractTableModel):
    """A ranked list of set rows; cells are computed only when painted."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows = np.zeros(0, dtype=np.int64)
        self.columns: list[Column] = []
        self.bold: np.ndarray | None = None
        self.background: dict[int, QBrush] = {}

    def set_content(self, rows: np.ndarray, columns: list[Column], bold: np.ndarray | None = None,
                    background: dict[int, QBrush] | None = None) -> None:
        self.beginResetModel()
        self.rows = np.asarray(rows, dtype=np.int64)
        self.columns = columns
        self.bold = bold
        self.background = background or {}
        self.endResetModel()

    def clear(self) -> None:
        self.set_content(np.zeros(0, dtype=np.int64), self.columns)

    def row_at(self, position: int) -> int:
        return int(self.rows[position])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and section < len(self.columns):
            return self.columns[section].title
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i, col = index.row(), self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.value(i)
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tooltip(i) if col.tooltip is not None else col.value(i)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and self.bold is not None and self.bold[i]:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole:
            return self.background.get(i)
        return None


class RowsTable(QTableView):
    """A compact list of items: click (or Enter) makes one the query, hover marks it on the map."""

    rowChosen = Signal(int)  # set row
    rowHovered = Signal(int)  # set row or -1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows_model = RowsModel(self)
        self.setModel(self.rows_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setMouseTracking(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setHighlightSections(False)
        self.clicked.connect(self._chosen)
        self.activated.connect(self._chosen)
        self.entered.connect(lambda index: self.rowHovered.emit(self.rows_model.row_at(index.row())))
        self.viewport().installEventFilter(self)

    def _chosen(self, index: QModelIndex) -> None:
        if index.isValid():
            self.rowChosen.emit(self.rows_model.row_at(index.row()))

    def eventFilter(self, obj, event) -> bool:
        if obj is self.viewport() and event.type() == QEvent.Type.Leave:
            self.rowHovered.emit(-1)
        return super().eventFilter(obj, event)

    def fit_columns(self, widths: dict[int, int]) -> None:
        """Fixed widths (in characters) for the narrow columns (ranks, scores); the text
        columns (item, metadata) share the rest, so none is squeezed while another keeps
        a width it does not need. The narrow ones can still be dragged wider."""
        char = self.fontMetrics().horizontalAdvance("0")
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        for col in range(self.rows_model.columnCount()):
            if col in widths:
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
                self.setColumnWidth(col, widths[col] * char + 14)
            else:
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)


def compared_list() -> RowsTable:
    """One of several lists shown side by side for comparison: names elided at the left
    (for dotted names the end says most), and no alternating colours, since shading marks
    the items only this list holds."""
    table = RowsTable()
    table.setTextElideMode(Qt.TextElideMode.ElideLeft)
    table.setAlternatingRowColors(False)
    return table
