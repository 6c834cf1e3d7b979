"""The table can show only the selection: the one made elsewhere; a click in the table
picks among those rows and keeps them shown; the filter still applies; a session keeps it."""

import numpy as np
import pytest
from articles import WAIT, N, open_articles, store_articles
from clicks import window_click
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from explorer.core.session import Session, SetRef
from explorer.ui.state import FilterPart


@pytest.fixture
def library(explorer_home):
    return store_articles(explorer_home)


def shown(view) -> list[int]:
    return [view.model.source_row(r) for r in range(view.model.rowCount())]


@pytest.fixture
def win(qtbot, windows):
    return open_articles(qtbot, windows)


def test_only_the_selection_is_shown_while_the_toggle_is_on(qtbot, win):
    view, state = win.table_view, win.state
    state.select([3, 10, 40, 41])
    view.only_selection.setChecked(True)
    assert shown(view) == [3, 10, 40, 41]
    assert view.count_label.text() == f"4 of {N:,} rows · selection only"
    state.select([7, 8, 9], source=win.map_view)  # a new selection on the map: followed
    assert shown(view) == [7, 8, 9]
    index = view.table.model().index(1, 0)  # a click in the table picks among the rows shown
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.table.visualRect(index).center())
    np.testing.assert_array_equal(state.selection, [8])
    assert shown(view) == [7, 8, 9]
    view.only_selection.setChecked(False)
    assert view.model.rowCount() == N


def test_the_item_menu_picks_among_the_rows_shown_as_a_click_does(qtbot, win):
    view, state = win.table_view, win.state
    state.select([7, 8, 9], source=win.map_view)
    view.only_selection.setChecked(True)
    index = view.table.model().index(2, 0)
    window_click(qtbot, view.table.viewport(), view.table.visualRect(index).center(),
                 Qt.MouseButton.RightButton)
    menu = QApplication.activePopupWidget()
    next(a for a in menu.actions() if a.text() == "Select only this item").trigger()
    menu.close()
    np.testing.assert_array_equal(state.selection, [9])
    assert shown(view) == [7, 8, 9]


def test_the_filter_still_applies_to_the_selection_shown(qtbot, win):
    view, state = win.table_view, win.state
    state.select(np.arange(0, 12))
    view.only_selection.setChecked(True)
    with qtbot.waitSignal(view.queryFinished, timeout=WAIT):
        state.set_filter_part(FilterPart("chart:section", "section: web", "section = 'web'",
                                         np.arange(1, N, 3)))
    assert shown(view) == [1, 4, 7, 10]
    state.select([])
    assert shown(view) == []


def open_session(qtbot, win, path) -> list[str]:
    with qtbot.waitSignal(win.sessions.applied, timeout=WAIT) as applied:
        win.open_paths([str(path)])
    return applied.args[0]


def test_selection_only_is_kept_in_a_session(qtbot, win, windows, tmp_path):
    win.state.select([5, 50, 500])
    win.table_view.only_selection.setChecked(True)
    path = tmp_path / "only.eesession"
    with qtbot.waitSignal(win.sessions.saved, timeout=WAIT):
        win.sessions.save(str(path))
    second = windows()
    assert open_session(qtbot, second, path) == []
    view = second.table_view
    assert view.only_selection.isChecked()
    assert shown(view) == [5, 50, 500]
    assert view.count_label.text() == f"3 of {N:,} rows · selection only"


@pytest.mark.parametrize("value", ["yes", 1, None, [True]])
def test_a_wrong_selection_only_in_a_session_is_a_note(qtbot, windows, tmp_path, value):
    path = Session(set=SetRef("articles", "articles", N, 8), selection=np.arange(4),
                   panels={"table": {"selection_only": value}}).save(tmp_path / "odd.eesession")
    win = windows()
    notes = open_session(qtbot, win, path)
    assert notes == [f"the table's \"Selection only\" should be true or false, not "
                     f"{type(value).__name__}"]
    assert not win.table_view.only_selection.isChecked()
    assert win.table_view.model.rowCount() == N
