"""The table can show only the selection: the one made elsewhere; a click in the table
picks among those rows and keeps them shown; the filter still applies."""

import numpy as np
import pytest
from articles import WAIT, N, open_articles, store_articles
from PySide6.QtCore import Qt

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
