"""The neighbours dock's lists: a click makes an item the query, Shift/Ctrl+click add it to
or take it from the selection without moving the query, and a right-click changes nothing
and offers the item's menu."""

import pytest
from articles import WAIT, open_articles, store_articles
from clicks import window_click
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMenu

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier
RIGHT = Qt.MouseButton.RightButton
START = [1, 2, 3]


@pytest.fixture
def library(explorer_home):
    return store_articles(explorer_home)


def results(qtbot, win):
    return win.neighbours_view.table


def compared(qtbot, win):
    nview = win.neighbours_view
    with qtbot.waitSignal(nview.compareFinished, timeout=WAIT):
        win.show_view("compare")
    return nview.compare_tab.tables["dot"]


def hubs(qtbot, win):
    nview = win.neighbours_view
    win.show_view("hubness")
    with qtbot.waitSignal(nview.hubnessFinished, timeout=WAIT):
        nview.compute_hubness()
    return nview.hubness_tab.hubs_table


def click(qtbot, table, position, modifiers=Qt.KeyboardModifier.NoModifier,
          button=Qt.MouseButton.LeftButton):
    index = table.model().index(position, 1)
    table.scrollTo(index)
    window_click(qtbot, table.viewport(), table.visualRect(index).center(), button, modifiers)


@pytest.mark.parametrize("which", [results, compared, hubs], ids=lambda f: f.__name__)
def test_list_gestures(qtbot, windows, which):
    win = open_articles(qtbot, windows)
    nview, state = win.neighbours_view, win.state
    win.show_view("neighbours")
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        state.set_current(42, source=win.map_view)  # a click on the map
    table = which(qtbot, win)
    items = table.rows_model.rows.tolist()
    state.select(START, source=win.map_view)
    query, highlight = nview.spec, table.selectionModel().selectedRows()

    click(qtbot, table, 1, button=RIGHT)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    assert "Find neighbours of this item" in [a.text() for a in menu.actions()]
    menu.close()
    assert state.selection.tolist() == START and state.current == 42 and nview.spec is query
    assert table.selectionModel().selectedRows() == highlight  # not even the list's own

    click(qtbot, table, 1, SHIFT)
    assert state.selection.tolist() == sorted(START + [items[1]])
    click(qtbot, table, 2, CTRL)
    assert state.selection.tolist() == sorted(START + items[1:3])
    click(qtbot, table, 1, CTRL)
    assert state.selection.tolist() == sorted(START + [items[2]])
    assert nview.spec is query and state.current == 42  # the query stays

    click(qtbot, table, 3)  # a plain click walks on: the item becomes the query
    assert state.current == items[3] and nview.spec.row == items[3]
    assert state.selection.tolist() == sorted(START + [items[2]])
