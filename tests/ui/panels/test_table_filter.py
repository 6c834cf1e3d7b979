"""The table's filter box is one part of the shared filter: it filters the map and the charts
too, the table shows what every part lets through, and its search stays its own."""

import numpy as np
import pytest
from articles import WAIT, N, open_articles, store_articles

from explorer.ui.state import FilterPart


@pytest.fixture
def library(explorer_home):
    return store_articles(explorer_home, {
        "size": np.arange(N),
        "text": [f"item {i} about {['chess', 'rain', 'goals'][i % 3]}" for i in range(N)]})


@pytest.fixture
def win(qtbot, windows):
    return open_articles(qtbot, windows)


def shown(view) -> list[int]:
    return [view.model.source_row(r) for r in range(view.model.rowCount())]


def type_filter(qtbot, view, text):
    view.filter_edit.setText(text)
    with qtbot.waitSignal(view.queryFinished, timeout=WAIT):
        view.filter_edit.returnPressed.emit()


def test_the_filter_box_is_the_tables_part_of_the_shared_filter(qtbot, win):
    view, state = win.table_view, win.state
    type_filter(qtbot, view, "size < 30 and section = 'games'")
    part = state.filter.part("table")
    assert part is not None and part.sql == "size < 30 and section = 'games'"
    np.testing.assert_array_equal(state.filter.rows, np.arange(0, 30, 3))
    assert shown(view) == list(range(0, 30, 3))
    with qtbot.waitSignal(state.filterChanged, timeout=WAIT):
        view.filter_edit.clear()  # an empty box: every row again
    assert state.filter.parts == () and state.filter.rows is None
    assert view.model.rowCount() == N


def test_another_part_filters_the_table_and_the_search_narrows_it(qtbot, win):
    view, state = win.table_view, win.state
    with qtbot.waitSignal(view.queryFinished, timeout=WAIT):
        state.set_filter_part(FilterPart("chart:section", "section: web", "section = 'web'",
                                         np.arange(1, N, 3)))
    assert shown(view) == list(range(1, N, 3))
    assert view.count_label.text() == f"200 of {N:,} rows · 1 chart filter"
    assert "section = 'web'" in view.count_label.toolTip()
    type_filter(qtbot, view, "size >= 100")  # both parts: their intersection
    assert shown(view) == [r for r in range(100, N) if r % 3 == 1]
    with qtbot.waitSignal(view.queryFinished, timeout=WAIT):
        view.search_edit.setText("item 13")  # the search narrows what the parts let through
    assert shown(view) == [130, 133, 136, 139]
    assert win.state.filter.rows is not None and 131 not in shown(view)
    assert len(state.filter.rows) == len([r for r in range(100, N) if r % 3 == 1])  # not by it


def test_removing_the_tables_part_elsewhere_empties_the_box(qtbot, win):
    view, state = win.table_view, win.state
    type_filter(qtbot, view, "size < 10")
    with qtbot.waitSignal(view.queryFinished, timeout=WAIT):
        state.remove_filter_parts(["table"])  # a chip's ×
    assert view.filter_edit.text() == ""
    assert view.model.rowCount() == N


def test_a_bad_filter_says_what_to_fix_and_filters_nothing(qtbot, win):
    view, state = win.table_view, win.state
    type_filter(qtbot, view, "sise < 10")
    assert view.message.isVisible()
    assert "no column named 'sise'; did you mean 'size'" in view.message.text()
    assert state.filter.parts == () and view.model.rowCount() == N


def test_a_new_set_starts_unfiltered(qtbot, win):
    view, state = win.table_view, win.state
    type_filter(qtbot, view, "size < 10")
    with qtbot.waitSignal(state.filterChanged, timeout=WAIT):
        state.set_set(None)
    assert state.filter.parts == () and view.filter_edit.text() == ""


def test_filter_parts_are_checked_and_combined(qtbot, win):
    state = win.state
    with pytest.raises(ValueError, match="sorted set rows"):
        state.set_filter_part(FilterPart("x", "x", "size > 1", np.array([5, 2])))
    with pytest.raises(ValueError, match="sorted set rows"):
        state.set_filter_part(FilterPart("x", "x", "size > 1", np.array([N])))
    state.set_filter_part(FilterPart("a", "a", "size < 10", np.arange(10)))
    state.set_filter_part(FilterPart("b", "b", "size > 5 or size = 1", np.array([1, 6, 7, 50])))
    np.testing.assert_array_equal(state.filter.rows, [1, 6, 7])
    assert state.filter.sql == "(size < 10) AND (size > 5 or size = 1)"
    state.set_filter_part(FilterPart("a", "a2", "size < 7", np.arange(7)))  # replaced in place
    assert [p.label for p in state.filter.parts] == ["a2", "b"]
    np.testing.assert_array_equal(state.filter.rows, [1, 6])
    state.remove_filter_parts()
    assert state.filter.rows is None and state.filter.sql == ""


def test_another_part_arriving_while_the_box_is_worked_out_keeps_the_box(qtbot, win):
    view, state = win.table_view, win.state
    view.filter_edit.setText("size < 300")
    view.filter_edit.returnPressed.emit()  # its job runs while a chart's part arrives
    state.set_filter_part(FilterPart("chart:section", "section: web", "section = 'web'",
                                     np.arange(1, N, 3)))
    assert view.filter_edit.text() == "size < 300"
    qtbot.waitUntil(lambda: state.filter.part("table") is not None, timeout=WAIT)
    assert shown(view) == list(range(1, 300, 3))
