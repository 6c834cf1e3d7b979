"""The shared application state every view subscribes to.

Views never call each other: they read and write the current set, the
selection (sorted row numbers), the hovered row and the colouring here, and
react to its signals. Each change carries its source so a view can ignore the
echo of its own edit.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from PySide6.QtCore import QObject, Signal

from explorer.core.embedding_set import EmbeddingSet

EMPTY = np.zeros(0, dtype=np.int64)


class SelectMode(Enum):
    REPLACE = "replace"
    ADD = "add"
    SUBTRACT = "subtract"
    INTERSECT = "intersect"


class AppState(QObject):
    setChanged = Signal(object)  # EmbeddingSet | None
    selectionChanged = Signal(object, object)  # rows (np.ndarray), source
    hoverChanged = Signal(int, object)  # row or -1, source
    currentChanged = Signal(int, object)  # the one item being looked at, or -1
    colourByChanged = Signal(str)  # metadata column, "" for none

    def __init__(self) -> None:
        super().__init__()
        self.embedding_set: EmbeddingSet | None = None
        self.selection: np.ndarray = EMPTY
        self.hover = -1
        self.current = -1
        self.colour_by = ""

    def set_set(self, es: EmbeddingSet | None) -> None:
        self.embedding_set = es
        self.selection = EMPTY
        self.hover = -1
        self.current = -1
        self.colour_by = ""
        self.setChanged.emit(es)
        self.selectionChanged.emit(self.selection, None)

    def select(self, rows: np.ndarray | list[int], mode: SelectMode = SelectMode.REPLACE,
               source: object = None) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size > 1 and not bool(np.all(rows[1:] > rows[:-1])):
            rows = np.unique(rows)  # index queries already return sorted unique rows
        if mode is SelectMode.ADD:
            rows = np.union1d(self.selection, rows)
        elif mode is SelectMode.SUBTRACT:
            rows = np.setdiff1d(self.selection, rows)
        elif mode is SelectMode.INTERSECT:
            rows = np.intersect1d(self.selection, rows)
        if np.array_equal(rows, self.selection):
            return
        self.selection = rows
        self.selectionChanged.emit(rows, source)

    def set_hover(self, row: int, source: object = None) -> None:
        if row != self.hover:
            self.hover = row
            self.hoverChanged.emit(row, source)

    def set_current(self, row: int, source: object = None) -> None:
        if row != self.current:
            self.current = row
            self.currentChanged.emit(row, source)

    def set_colour_by(self, column: str) -> None:
        if column != self.colour_by:
            self.colour_by = column
            self.colourByChanged.emit(column)
