"""An item's menu asks the neighbours panel for neighbours, or to select an item and its
neighbours: the rows are the CLI's for the same query, and an answer to an older query
never shows or selects once a newer one was asked for."""

import pytest
from articles import WAIT, open_articles, store_articles
from in_process import cli_json


@pytest.fixture
def library(explorer_home):
    return store_articles(explorer_home)


@pytest.fixture
def win(qtbot, windows):
    win = open_articles(qtbot, windows)
    win.show_view("hubness")  # the neighbours panel on another tab
    return win


def cli_rows(capsys, *query) -> list[int]:
    found = cli_json(capsys, "neighbours", "articles", *query, "-k", 10)
    return [item["row"] for item in found["neighbours"]]


def test_find_neighbours_of_an_item_or_of_several(qtbot, win, capsys):
    nview, state = win.neighbours_view, win.state
    win.docks["neighbours"].hide()
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        state.request_query([42])
    assert win.docks["neighbours"].isVisible() and nview.tabs.currentIndex() == 0
    assert nview.model.rows.tolist() == cli_rows(capsys, "--row", 42)
    assert state.current == 42 and nview.source.currentText() == "Current item"
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        state.request_query([9, 3, 7])
    # cosine: the centroid of unit vectors points where their sum does
    assert nview.model.rows.tolist() == cli_rows(capsys, "--expr", "#3 + #7 + #9")
    assert nview.source.currentText() == "Selection centroid"
    assert state.selection.tolist() == []  # finding is not selecting


@pytest.mark.parametrize("rows, query", [([42], ("--row", 42)),
                                         ([3, 7, 9], ("--expr", "#3 + #7 + #9"))])
def test_select_an_item_and_its_neighbours_even_while_the_panel_is_hidden(
        qtbot, win, capsys, rows, query):
    state = win.state
    win.docks["neighbours"].hide()
    state.select([1, 2, 500])  # a selection the request replaces
    with qtbot.waitSignal(state.selectionChanged, timeout=WAIT):
        state.request_select_neighbours(rows)
    assert state.selection.tolist() == sorted(rows + cli_rows(capsys, *query))
    assert not win.docks["neighbours"].isVisible()


def test_a_newer_query_wins_over_an_older_answer(qtbot, win):
    nview, state = win.neighbours_view, win.state
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        state.request_query([1])  # the index is open: the next search starts at once
    win.docks["neighbours"].hide()
    state.select([5])
    state.request_select_neighbours([42])  # searched at once, though hidden
    state.set_current(43, source=win.map_view)  # the newer query waits for the panel
    qtbot.waitUntil(lambda: not nview.search_job.running(), timeout=WAIT)
    assert state.selection.tolist() == [5]  # the older answer neither selects
    assert nview.result.query.rows == [1] and state.neighbours.query_rows.tolist() == [1]
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        win.show_view("neighbours")
    assert nview.result.query.rows == [43]
    assert state.selection.tolist() == [5]
