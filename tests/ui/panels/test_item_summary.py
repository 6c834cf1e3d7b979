"""While more than one item is selected, the Item panel says what the selection is: its
size, its categories against the whole set's, and the words that set it apart."""

import numpy as np
import pytest
from articles import WAIT, N, open_articles, store_articles
from PySide6.QtCore import Qt

TOPICS = ["chess", "rain", "goals"]


@pytest.fixture
def library(explorer_home):
    return store_articles(explorer_home, {
        "text": [f"item about {TOPICS[i % 3]} and {TOPICS[i % 3]} openings"
                 if i % 3 == 0 else f"item about {TOPICS[i % 3]}" for i in range(N)]},
        text_column="text")


@pytest.fixture
def win(qtbot, windows):
    return open_articles(qtbot, windows)


def test_a_selection_is_summarised_and_one_item_is_not(qtbot, win):
    view, state = win.item_view, win.state
    assert view.summary_switch.isHidden()
    rows = np.concatenate([np.arange(0, 300, 3), np.arange(1, 60, 3)])  # 100 games, 20 web
    with qtbot.waitSignal(view.summaryShown, timeout=WAIT):
        state.select(rows)
    text = view.summary.text()
    assert "120 selected" in text
    assert "games <b>83%</b>" in text and "(33% of the set)" in text
    assert "web <b>17%</b>" in text and "art" not in text
    assert "terms</span> chess, openings" in text  # what only the games say, not "item"
    state.select([5])
    qtbot.waitUntil(view.summary_switch.isHidden, timeout=WAIT)


def test_the_newest_selection_wins(qtbot, win):
    view, state = win.item_view, win.state
    state.select(np.arange(0, 30, 3))
    view.summarise()  # a job for the first selection is running...
    with qtbot.waitSignal(view.summaryShown, timeout=WAIT):
        state.select(np.arange(1, 30, 3))  # ...and another selection replaces it
    qtbot.wait(50)  # (no timed assertion: any late result of the first would be dropped)
    assert "web <b>100%</b>" in view.summary.text()
    assert "games" not in view.summary.text()


def test_compare_with_the_rest_asks_for_the_selection(qtbot, win):
    view, state = win.item_view, win.state
    button = view.contrast_button
    assert button.isHidden()
    rows = np.arange(0, 90, 3)
    with qtbot.waitSignal(view.summaryShown, timeout=WAIT):
        state.select(rows)
    assert button.isVisible() and button.isEnabled()
    with qtbot.waitSignal(state.contrastRequested, timeout=WAIT) as asked:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert asked.args[0].tolist() == rows.tolist()
    with qtbot.waitSignal(view.summaryShown, timeout=WAIT):
        state.select(np.arange(N))
    assert not button.isEnabled() and "no rest" in button.toolTip()
    state.select([4])
    qtbot.waitUntil(button.isHidden, timeout=WAIT)
