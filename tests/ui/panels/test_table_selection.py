"""Clicks and keys in the table mean what they mean on the map and in the lists, over the
whole selection: from one starting selection, partly hidden by a filter, each gesture gives
the rows it promises, and a right-click only opens the item's menu."""

import numpy as np
import pytest
from articles import WAIT, N, open_articles, store_articles
from clicks import window_click
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

from explorer.ui.state import FilterPart

NONE = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier
LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
GAMES = np.arange(0, N, 3)  # the rows the filter shows: view row i is set row 3 i
START = [1, 2, 3, 6, 9, 300]  # a lasso: 1, 2 hidden by the filter, 3, 6, 9 and 300 shown
ANCHOR = 2  # view row (set row 6) clicked before the lasso: Shift extends from it


@pytest.fixture
def library(explorer_home):
    return store_articles(explorer_home)


@pytest.fixture
def win(qtbot, windows):
    win = open_articles(qtbot, windows)
    with qtbot.waitSignal(win.table_view.queryFinished, timeout=WAIT):
        win.state.set_filter_part(FilterPart("chart:section", "section: games",
                                             "section = 'games'", GAMES))
    click(qtbot, win.table_view.table, ANCHOR)
    win.state.select(START, source=win.map_view)
    win.state.set_current(300, source=win.map_view)
    return win


def centre(table, view_row):
    index = table.model().index(view_row, 0)
    table.scrollTo(index)
    return table.visualRect(index).center()


def click(qtbot, table, view_row, modifiers=NONE, button=LEFT):
    window_click(qtbot, table.viewport(), centre(table, view_row), button, modifiers)


def drag(qtbot, table, start, end, modifiers=NONE):
    qtbot.mousePress(table.viewport(), LEFT, modifiers, centre(table, start))
    qtbot.mouseMove(table.viewport(), centre(table, end))
    qtbot.mouseRelease(table.viewport(), LEFT, modifiers, centre(table, end))


def keys(qtbot, table, key, modifiers=NONE):
    table.setFocus()
    table.setCurrentIndex(table.model().index(1, 0))  # set row 3; selects nothing
    qtbot.keyClick(table, key, modifiers)


def click_below(qtbot, table):
    """A plain click under the last row shown empties the selection, as on the map."""
    panel = table.source
    with qtbot.waitSignal(panel.queryFinished, timeout=WAIT):
        panel.state.set_filter_part(FilterPart("chart:size", "four", "true", GAMES[1:5]))
    last = table.visualRect(table.model().index(3, 0))
    qtbot.mouseClick(table.viewport(), LEFT, NONE, QPoint(last.center().x(), last.bottom() + 10))


GESTURES = {
    "click": (lambda b, t: click(b, t, 4), [12]),  # hidden rows leave too
    "click below the rows": (click_below, []),
    "Shift+click": (lambda b, t: click(b, t, 4, SHIFT), sorted({*START, 6, 9, 12})),
    "Ctrl+click a selected row": (lambda b, t: click(b, t, 1, CTRL), [1, 2, 6, 9, 300]),
    "Ctrl+click another": (lambda b, t: click(b, t, 4, CTRL), sorted({*START, 12})),
    "Shift+Ctrl+click": (lambda b, t: click(b, t, 4, SHIFT | CTRL), sorted({*START, 6, 9, 12})),
    "Ctrl+A": (lambda b, t: keys(b, t, Qt.Key.Key_A, CTRL), GAMES.tolist()),
    "drag": (lambda b, t: drag(b, t, 3, 5), [9, 12, 15]),
    "Shift+drag": (lambda b, t: drag(b, t, 3, 5, SHIFT), sorted({*START, 12, 15})),
    "Ctrl+drag": (lambda b, t: drag(b, t, 1, 3, CTRL), [1, 2, 300]),
    "Shift+Ctrl+drag": (lambda b, t: drag(b, t, 1, 4, SHIFT | CTRL), [3, 6, 9]),
    "Down": (lambda b, t: keys(b, t, Qt.Key.Key_Down), [6]),
    "Shift+Down": (lambda b, t: keys(b, t, Qt.Key.Key_Down, SHIFT), sorted({*START, 6})),
    "Ctrl+Down": (lambda b, t: keys(b, t, Qt.Key.Key_Down, CTRL), START),  # moves only
    "Ctrl+Space": (lambda b, t: keys(b, t, Qt.Key.Key_Space, CTRL), [1, 2, 6, 9, 300]),
    "right-click": (lambda b, t: click(b, t, 4, button=RIGHT), START),
    "Ctrl+right-click": (lambda b, t: click(b, t, 4, CTRL, RIGHT), START),
}


@pytest.mark.parametrize("gesture", list(GESTURES))
def test_each_gesture_from_the_same_selection(qtbot, win, gesture):
    act, expected = GESTURES[gesture]
    act(qtbot, win.table_view.table)
    np.testing.assert_array_equal(win.state.selection, expected)
    shown = sorted(r for r in expected if r % 3 == 0)
    highlighted = sorted(GAMES[i.row()] for i in win.table_view.table.selectionModel().selectedRows())
    assert highlighted == shown  # the table draws the shared selection, not its own
    count = f"{len(expected):,} selected"
    assert (count in win.set_info.text()) == bool(expected)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu) == gesture.endswith("right-click")
    if menu is not None:
        assert win.state.current == 300  # a right-click does not make the row current
        assert "Find neighbours of this item" in [a.text() for a in menu.actions()]
        menu.close()


def test_the_menu_key_opens_the_current_rows_menu(qtbot, win):
    table = win.table_view.table
    table.setCurrentIndex(table.model().index(4, 0))  # set row 12, as arrows with Ctrl would
    # what the platform sends for the menu key (offscreen, a key press does not)
    QApplication.sendEvent(table, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard,
                                                    QPoint(), QPoint()))
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu) and menu.title() == win.state.embedding_set.label(12)
    menu.close()
    np.testing.assert_array_equal(win.state.selection, START)
