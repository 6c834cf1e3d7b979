"""The context menu of an item, the same on map points, table rows and list entries.

A right-click never changes the selection. The menu acts on the selection when the item
under the pointer is part of it, and on that one item otherwise (as file managers do), and
says which in its entries. Its actions are requests on AppState that the panels answer,
so the views that open it need not know the neighbours or concepts panels.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget

from explorer.core.source_files import source_file
from explorer.ui.state import AppState, SelectMode

MAX_COPIED = 100_000  # rows copied to the clipboard at once


def menu_rows(state: AppState, row: int) -> np.ndarray:
    """The rows a menu opened on `row` acts on: the selection if `row` is in it, else `row`."""
    selection = state.selection
    at = int(np.searchsorted(selection, row))
    if at < len(selection) and int(selection[at]) == row:
        return selection.copy()
    return np.array([row], dtype=np.int64)


def item_menu(state: AppState, row: int, parent: QWidget | None = None) -> QMenu | None:
    """The menu for item `row` of the open set (None when no set is open or `row` is not
    an item); the caller pops it up where the pointer is, and it deletes itself once closed."""
    es = state.embedding_set
    if es is None or not 0 <= row < es.count:
        return None
    rows = menu_rows(state, row)
    many = len(rows) > 1
    what = f"the {len(rows):,} selected" if many else "this item"
    menu = new_menu(parent)
    menu.setTitle(es.label(row))
    add = partial(add_action, menu)
    add_requests(menu, state, rows, what, enabled_rest=len(rows) < es.count)
    menu.addSeparator()
    only_this = len(state.selection) == 1 and int(state.selection[0]) == row
    if many or only_this:
        add("Remove from the selection",
            lambda: state.select(rows, SelectMode.SUBTRACT, source=parent))
    elif len(state.selection):
        add("Add to the selection", lambda: state.select(rows, SelectMode.ADD, source=parent))
    if not only_this:
        add("Select only this item", lambda: state.select([row], source=parent))
    menu.addSeparator()
    first = f" (the first {MAX_COPIED:,})" if len(rows) > MAX_COPIED else ""
    add("Copy id" + ("s" if many else "") + first, lambda: copy_ids(state, rows),
        "One per line" if many else "")
    text_tip = "" if es.text_column else "This set has no text column: its labels are copied"
    add("Copy text" + ("s" if many else "") + first, lambda: copy_texts(state, rows), text_tip,
        enabled=bool(es.text_column or es.label_column))
    source = source_file(es, row)
    add("Open source file", lambda: open_source(source.path), source.problem or str(source.path),
        enabled=source.path is not None)
    return menu


def group_menu(state: AppState, rows: np.ndarray, name: str,
               parent: QWidget | None = None) -> QMenu | None:
    """The menu of a named group of items (a cluster under its label): select it, and what
    an item's menu asks for, about the whole group."""
    es = state.embedding_set
    rows = np.asarray(rows, dtype=np.int64)
    if es is None or not len(rows):
        return None
    menu = new_menu(parent)
    what = f"“{name}” ({len(rows):,} items)"
    add_action(menu, f"Select {what}", lambda: state.select(rows, source=parent))
    add_action(menu, "Add it to the selection",
               lambda: state.select(rows, SelectMode.ADD, source=parent))
    add_action(menu, "Show it", lambda: state.request_frame(rows))
    menu.addSeparator()
    add_requests(menu, state, rows, "it", enabled_rest=len(rows) < es.count)
    return menu


def add_requests(menu: QMenu, state: AppState, rows: np.ndarray, what: str,
                 enabled_rest: bool) -> None:
    """The entries that hand `rows` to the neighbours and concepts panels."""
    add_action(menu, f"Find neighbours of {what}", lambda: state.request_query(rows),
               "Search the set's own space (for several items, from their mean vector)")
    add_action(menu, f"Select {what} and neighbours",
               lambda: state.request_select_neighbours(rows),
               "The selection becomes these items and their nearest neighbours")
    menu.addSeparator()
    add_action(menu, f"Use {what} as concept pole A", lambda: state.request_pole("A", rows))
    add_action(menu, f"Use {what} as concept pole B", lambda: state.request_pole("B", rows))
    add_action(menu, f"Compare {what} with the rest", lambda: state.request_contrast(rows),
               "A concept direction from the rest of the set to these items, checked as any "
               "concept", enabled=enabled_rest)


def new_menu(parent: QWidget | None) -> QMenu:
    menu = QMenu(parent)
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one per right-click
    menu.setToolTipsVisible(True)
    return menu


def add_action(menu: QMenu, text: str, slot, tip: str = "", enabled: bool = True) -> None:
    action = menu.addAction(text, slot)
    action.setToolTip(tip)
    action.setEnabled(enabled)


def copy_ids(state: AppState, rows: np.ndarray) -> None:
    """The items' ids (their row number when the set has no id column), one per line."""
    es = state.embedding_set
    if es is None:
        return
    rows = rows[:MAX_COPIED]
    if es.id_column:
        values = es.metadata.column(es.id_column).take(rows).to_pylist()
        lines = [f"#{r}" if v is None else str(v) for r, v in zip(rows.tolist(), values)]
    else:
        lines = [str(r) for r in rows.tolist()]
    QGuiApplication.clipboard().setText("\n".join(lines))


def copy_texts(state: AppState, rows: np.ndarray) -> None:
    """The items' texts (their labels when the set has no text), one per line."""
    es = state.embedding_set
    if es is None:
        return
    column = es.text_column or es.label_column
    if not column:
        return
    values = es.metadata.column(column).take(rows[:MAX_COPIED]).to_pylist()
    QGuiApplication.clipboard().setText(
        "\n".join("" if v is None else " ".join(str(v).split()) for v in values))


def open_source(path) -> None:
    """Hand the item's file to the desktop (checked by core.source_files first)."""
    if path is not None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
