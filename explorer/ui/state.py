"""The shared application state every view subscribes to.

Views never call each other: they read and write the current set, the
selection (sorted row numbers), the filter (rows that pass it, and its parts), the
hovered row and the colouring here, and react to its signals. Each change carries its
source so a view can ignore the echo of its own edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from PySide6.QtCore import QObject, Signal

from explorer.core.column_charts import combined_sql
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.thumbnails import Thumbnails

EMPTY = np.zeros(0, dtype=np.int64)


class SelectMode(Enum):
    REPLACE = "replace"
    ADD = "add"
    SUBTRACT = "subtract"
    INTERSECT = "intersect"
    TOGGLE = "toggle"  # selected rows leave, the others join (a Ctrl-click)


@dataclass(frozen=True)
class NeighbourMarks:
    """What the map draws for a neighbour search: the query and its ranked neighbours.

    `query_rows` are the items the query is made of (one for a point query, the
    selection for a centroid, the terms of an arithmetic query, none for a typed
    text or a vector); the query marker sits at their mean map position. `rows`
    are the neighbours, best first.
    """

    query_rows: np.ndarray
    rows: np.ndarray
    label: str = ""

    @classmethod
    def of(cls, query_rows, rows, label: str = "") -> NeighbourMarks:
        return cls(np.asarray(query_rows, dtype=np.int64).reshape(-1),
                   np.asarray(rows, dtype=np.int64).reshape(-1), label)


@dataclass(frozen=True)
class Derived:
    """A per-row number computed by a view (k-occurrence, ...) that the map can colour by.

    `vmin`/`vmax` is the colour range (values outside are clipped), so a few
    extreme values do not wash the rest out; `note` says how the range was chosen.
    """

    values: np.ndarray  # float32 (n,)
    vmin: float
    vmax: float
    note: str = ""
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ConceptPlane:
    """The map's concept plane: every item scored along two concept directions."""

    coords: np.ndarray  # float32 (n, 2)
    x_label: str
    y_label: str
    seconds: float


@dataclass(frozen=True)
class FilterPart:
    """One predicate of the shared filter: who set it (`key`: "table", "chart:section"), a
    short label for its chip, its SQL (what the table's filter box takes), and the rows
    where that SQL is true, sorted. `spec` is what the owner needs to show it again (a
    chart's bars or range); others only read the rest."""

    key: str
    label: str
    sql: str
    rows: np.ndarray
    spec: object = None


@dataclass(frozen=True)
class RowFilter:
    """The shared filter: its parts, all of which a row must pass, and the rows that do
    (sorted; None when there are no parts and every row passes)."""

    parts: tuple[FilterPart, ...] = ()
    rows: np.ndarray | None = None

    @property
    def sql(self) -> str:
        """The parts as one expression; typed into the table's filter it gives `rows`."""
        return combined_sql([part.sql for part in self.parts])

    def part(self, key: str) -> FilterPart | None:
        return next((p for p in self.parts if p.key == key), None)

    def passes(self, count: int) -> np.ndarray | None:
        """A row mask of `rows` (None when every row passes)."""
        if self.rows is None:
            return None
        mask = np.zeros(count, dtype=bool)
        mask[self.rows] = True
        return mask


def intersect_rows(parts: Iterable[FilterPart], count: int) -> np.ndarray | None:
    """The rows every part lets through, sorted (None for no parts). Through a mask: linear
    in the set's size, where sorting the lists together would not be."""
    parts = list(parts)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0].rows
    mask = np.zeros(count, dtype=bool)
    mask[parts[0].rows] = True
    for part in parts[1:]:
        keep = np.zeros(count, dtype=bool)
        keep[part.rows] = True
        mask &= keep
    return np.flatnonzero(mask)


def combine(before: np.ndarray, rows, mode: SelectMode) -> np.ndarray:
    """The selection `mode` makes of the selection `before` (sorted) and `rows`, sorted."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if rows.size > 1 and not bool(np.all(rows[1:] > rows[:-1])):
        rows = np.unique(rows)  # index queries already return sorted unique rows
    if mode is SelectMode.REPLACE:
        return rows
    return {SelectMode.ADD: np.union1d, SelectMode.SUBTRACT: np.setdiff1d,
            SelectMode.INTERSECT: np.intersect1d, SelectMode.TOGGLE: np.setxor1d}[mode](
        before, rows)


class AppState(QObject):
    setChanged = Signal(object)  # EmbeddingSet | None
    selectionChanged = Signal(object, object)  # rows (np.ndarray), source
    filterChanged = Signal(object, object)  # RowFilter, source
    hoverChanged = Signal(int, object)  # row or -1, source
    currentChanged = Signal(int, object)  # the one item being looked at, or -1
    colourByChanged = Signal(str)  # metadata column or derived name, "" for none
    neighboursChanged = Signal(object)  # NeighbourMarks | None
    derivedChanged = Signal(str)  # name of a derived per-row array added, replaced or removed
    frameRequested = Signal(object)  # rows the map should zoom to
    # requests between panels, which never call each other
    viewRequested = Signal(str)  # a panel's key (or a tab: "compare", "hubness"): bring it forward
    planeRequested = Signal()  # the map wants the concept plane: the concepts panel answers
    planeChanged = Signal(object)  # ConceptPlane, once computed
    openSetRequested = Signal(str)  # library id of a set to show
    libraryChanged = Signal(str)  # a set was added or changed in the library (its id)
    # what an item's context menu asks for; each carries the rows it is about
    queryRequested = Signal(object)  # neighbours of these rows (one: the item; more: centroid)
    selectNeighboursRequested = Signal(object)  # select these rows and their neighbours
    poleRequested = Signal(str, object)  # "A" or "B": these rows are that concept pole
    contrastRequested = Signal(object)  # a concept direction from these rows to the rest
    imagesRequested = Signal()  # a view's empty image area asks for View ▸ Images…

    def __init__(self) -> None:
        super().__init__()
        self.embedding_set: EmbeddingSet | None = None
        self.selection: np.ndarray = EMPTY
        self.filter = RowFilter()
        self.hover = -1
        self.current = -1
        self.colour_by = ""
        self.neighbours: NeighbourMarks | None = None
        self.derived: dict[str, Derived] = {}
        self.thumbnails = Thumbnails(parent=self)  # the shown set's, set by the window

    def set_set(self, es: EmbeddingSet | None) -> None:
        self.embedding_set = es
        self.selection = EMPTY
        filtered, self.filter = bool(self.filter.parts), RowFilter()
        self.hover = -1
        self.current = -1
        self.colour_by = ""
        self.neighbours = None
        self.derived = {}
        self.thumbnails.set_store(None)  # the window opens the new set's in a job
        self.setChanged.emit(es)
        self.selectionChanged.emit(self.selection, None)
        if filtered:
            self.filterChanged.emit(self.filter, None)

    def select(self, rows: np.ndarray | list[int], mode: SelectMode = SelectMode.REPLACE,
               source: object = None) -> None:
        rows = combine(self.selection, rows, mode)
        if np.array_equal(rows, self.selection):
            return
        self.selection = rows
        self.selectionChanged.emit(rows, source)

    def set_filter_part(self, part: FilterPart, source: object = None) -> None:
        """Add `part` to the filter, or replace the part with its key (keeping its place)."""
        es = self.embedding_set
        if es is None:
            return
        rows = np.asarray(part.rows, dtype=np.int64).reshape(-1)
        if len(rows) and (rows[0] < 0 or rows[-1] >= es.count
                          or not bool(np.all(rows[1:] > rows[:-1]))):
            raise ValueError(f"{part.key}: the rows of a filter part must be sorted set rows")
        part = FilterPart(part.key, part.label, part.sql, rows, part.spec)
        parts = list(self.filter.parts)
        at = next((i for i, p in enumerate(parts) if p.key == part.key), None)
        if at is None:
            parts.append(part)
        else:
            parts[at] = part
        self._set_filter(parts, source)

    def remove_filter_parts(self, keys: Iterable[str] | None = None,
                            source: object = None) -> None:
        """Take the parts with these keys out of the filter (None: every part)."""
        drop = None if keys is None else set(keys)
        parts = [p for p in self.filter.parts if drop is not None and p.key not in drop]
        if len(parts) != len(self.filter.parts):
            self._set_filter(parts, source)

    def _set_filter(self, parts: list[FilterPart], source: object) -> None:
        count = self.embedding_set.count if self.embedding_set is not None else 0
        self.filter = RowFilter(tuple(parts), intersect_rows(parts, count))
        self.filterChanged.emit(self.filter, source)

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

    def set_neighbours(self, marks: NeighbourMarks | None) -> None:
        """Show a query and its neighbours on the map (None clears them)."""
        self.neighbours = marks
        self.neighboursChanged.emit(marks)

    def request_frame(self, rows) -> None:
        """Ask the map to show these rows (and some context around them)."""
        self.frameRequested.emit(np.asarray(rows, dtype=np.int64))

    def set_derived(self, name: str, derived: Derived | None) -> None:
        """Add (or with None remove) a per-row array views can colour by."""
        if derived is None:
            if self.derived.pop(name, None) is None:
                return
        else:
            es = self.embedding_set
            if es is not None and len(derived.values) != es.count:
                raise ValueError(f"{name}: {len(derived.values)} values for {es.count} rows")
            self.derived[name] = derived
        self.derivedChanged.emit(name)

    def request_view(self, key: str) -> None:
        """Ask the window to bring a panel (or one of its tabs) forward."""
        self.viewRequested.emit(key)

    def request_plane(self) -> None:
        self.planeRequested.emit()

    def set_plane(self, plane: ConceptPlane) -> None:
        """A concept plane is ready: the map shows it."""
        self.planeChanged.emit(plane)

    def request_open(self, set_id: str) -> None:
        self.openSetRequested.emit(set_id)

    def library_changed(self, set_id: str = "") -> None:
        self.libraryChanged.emit(set_id)

    def request_query(self, rows) -> None:
        """Ask the neighbours panel to search from these rows."""
        self.queryRequested.emit(np.asarray(rows, dtype=np.int64).reshape(-1))

    def request_select_neighbours(self, rows) -> None:
        """Ask the neighbours panel to select these rows and their neighbours."""
        self.selectNeighboursRequested.emit(np.asarray(rows, dtype=np.int64).reshape(-1))

    def request_pole(self, pole: str, rows) -> None:
        """Ask the concepts panel to take these rows as pole `pole` ("A" or "B")."""
        if pole not in ("A", "B"):
            raise ValueError(f"a concept pole is A or B, not {pole!r}")
        self.poleRequested.emit(pole, np.asarray(rows, dtype=np.int64).reshape(-1))

    def request_images(self) -> None:
        """Ask the window to let the user choose the set's image column and build thumbnails."""
        self.imagesRequested.emit()

    def request_contrast(self, rows) -> None:
        """Ask the concepts panel for the direction from these rows to the rest of the set."""
        self.contrastRequested.emit(np.asarray(rows, dtype=np.int64).reshape(-1))
