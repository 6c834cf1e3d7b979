"""The Charts panel driven as a user would: click bars, brush a histogram, remove chips, and
the map, the table and the other charts follow, exactly as the same SQL typed in the table."""

import numpy as np
import pyarrow as pa
import pytest
from packages import WAIT, settle, store_packages
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolTip

from explorer.core.column_charts import ChartData
from explorer.ui.panels.charts.panel import part_key
from explorer.ui.panels.charts.widgets import chart_widget

N = 3000
SECTIONS = np.array(["games", "web", "science", "art", "sound"])
PRIORITIES = np.array(["optional", "optional", "optional", "extra", "required"])


def metadata() -> pa.Table:
    rng = np.random.default_rng(11)
    return pa.table({
        "id": [f"a{i}" for i in range(N)],
        "section": SECTIONS[rng.integers(0, 5, N)],
        "priority": PRIORITIES[rng.integers(0, 5, N)],
        "size_kb": rng.lognormal(5, 2, N).astype(np.int64),
        "text": [f"package {i} does {rng.integers(0, 10**6)} things" for i in range(N)],
    })


@pytest.fixture
def library(explorer_home):
    return store_packages(explorer_home, metadata())


@pytest.fixture
def win(qtbot, windows):
    window = windows()
    window.show_view("charts")
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_library_set("packages")
    qtbot.waitUntil(lambda: window.map_view.coords is not None, timeout=WAIT)
    settle(qtbot, window)
    return window


def charts(win):
    return win.panels["charts"]


def click_bar(qtbot, win, column, value, modifier=Qt.KeyboardModifier.NoModifier):
    widget = charts(win).widgets[column]
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, modifier,
                         widget.bar_centre(widget.chart.values.index(value)).toPoint())
    settle(qtbot, win)


def brush(qtbot, win, column, first, last):
    """Drag across bins first..last, as a user would, in a few moves."""
    widget = charts(win).widgets[column]
    start, end = widget.bin_centre(first).toPoint(), widget.bin_centre(last).toPoint()
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 5):
        QTest.mouseMove(widget, start + (end - start) * k / 4)
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           end)
    settle(qtbot, win)


def table_rows(win) -> np.ndarray:
    model = win.table_view.model
    return np.array([model.source_row(r) for r in range(model.rowCount())])


def counts_of(win, column) -> np.ndarray:
    return charts(win).widgets[column].filtered().copy()


def test_defaults_chart_categories_and_numbers_not_ids_or_text(win):
    view = charts(win)
    assert view.columns == ["section", "priority", "size_kb"]
    assert view.widgets["size_kb"].chart.bins.scale == "log"
    menu = {a.data(): a for a in view.columns_menu.actions()}
    assert not menu["id"].isChecked() and "an id per row" in menu["id"].text()
    assert not menu["text"].isChecked()


def test_a_bar_click_filters_map_table_and_charts_as_the_sql_typed_in_the_table(qtbot, win):
    click_bar(qtbot, win, "section", "games")
    state = win.state
    games = np.flatnonzero(metadata().column("section").to_numpy(zero_copy_only=False)
                           == "games")
    np.testing.assert_array_equal(state.filter.rows, games)
    by_click = {"rows": state.filter.rows.copy(), "table": table_rows(win),
                "map": win.map_view.layers().filtered,
                "priority": counts_of(win, "priority"), "size_kb": counts_of(win, "size_kb")}
    np.testing.assert_array_equal(by_click["table"], games)
    np.testing.assert_array_equal(by_click["map"], games)
    sql = state.filter.sql
    assert sql == "\"section\" = 'games'"

    qtbot.mouseClick(charts(win).clear_button, Qt.MouseButton.LeftButton)
    settle(qtbot, win)
    assert state.filter.rows is None and len(table_rows(win)) == N
    assert counts_of(win, "priority").sum() == N
    view = win.table_view
    view.filter_edit.setText(sql)
    with qtbot.waitSignal(state.filterChanged, timeout=WAIT):
        view.filter_edit.returnPressed.emit()
    settle(qtbot, win)
    np.testing.assert_array_equal(state.filter.rows, by_click["rows"])
    np.testing.assert_array_equal(table_rows(win), by_click["table"])
    np.testing.assert_array_equal(win.map_view.layers().filtered, by_click["map"])
    for column in ("priority", "size_kb"):
        np.testing.assert_array_equal(counts_of(win, column), by_click[column])


def test_copy_as_sql_gives_the_combined_expression_and_the_table_the_same_rows(qtbot, win):
    click_bar(qtbot, win, "section", "games")
    click_bar(qtbot, win, "priority", "extra")
    widget = charts(win).widgets["size_kb"]
    brush(qtbot, win, "size_kb", 2, len(widget.chart.total) - 3)
    rows = win.state.filter.rows.copy()
    assert 0 < len(rows) < N
    qtbot.mouseClick(charts(win).copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied == win.state.filter.sql and copied.count(" AND (") == 2
    qtbot.mouseClick(charts(win).clear_button, Qt.MouseButton.LeftButton)
    settle(qtbot, win)
    win.table_view.filter_edit.setText(copied)
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        win.table_view.filter_edit.returnPressed.emit()
    np.testing.assert_array_equal(win.state.filter.rows, rows)
    np.testing.assert_array_equal(table_rows(win), rows)


def test_brushing_a_histogram_sets_a_range_of_whole_bins(qtbot, win):
    widget = charts(win).widgets["size_kb"]
    edges = widget.chart.bins.edges
    brush(qtbot, win, "size_kb", 3, 6)
    part = win.state.filter.part(part_key("size_kb"))
    assert part.spec.low == edges[3] and part.spec.high == edges[7]
    assert part.sql == f'"size_kb" >= {int(edges[3])} AND "size_kb" < {int(edges[7])}'
    sizes = metadata().column("size_kb").to_numpy()
    np.testing.assert_array_equal(part.rows,
                                  np.flatnonzero((sizes >= edges[3]) & (sizes < edges[7])))
    assert widget.brushed() == (3, 6)
    assert counts_of(win, "size_kb").sum() == N  # not filtered by its own brush
    assert counts_of(win, "section").sum() == len(part.rows)  # the others are


def test_a_brush_being_dragged_updates_the_others_before_release(qtbot, win):
    widget = charts(win).widgets["size_kb"]
    start, end = widget.bin_centre(2).toPoint(), widget.bin_centre(8).toPoint()
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        QTest.mouseMove(widget, end)
    assert win.state.filter.part(part_key("size_kb")) is not None  # live, before release
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    settle(qtbot, win)
    assert widget.chart.bins_of(win.state.filter.part(part_key("size_kb")).spec) == (2, 8)


def test_the_newest_choice_wins_while_a_part_is_being_worked_out(qtbot, win):
    view = charts(win)
    chart = view.widgets["size_kb"].chart
    for last in range(3, 12):  # faster than the jobs: each waits for the one before
        view.choose("size_kb", chart.part_for_bins(2, last))
    settle(qtbot, win)
    assert chart.bins_of(win.state.filter.part(part_key("size_kb")).spec) == (2, 11)
    view.choose("size_kb", chart.part_for_bins(0, 1))
    view.choose("size_kb", None)  # removed while a job runs: it must not come back
    settle(qtbot, win)
    assert win.state.filter.part(part_key("size_kb")) is None


def test_ctrl_click_adds_a_bar_and_a_plain_click_on_the_only_one_clears(qtbot, win):
    click_bar(qtbot, win, "section", "games")
    click_bar(qtbot, win, "section", "web", Qt.KeyboardModifier.ControlModifier)
    part = win.state.filter.part(part_key("section"))
    assert part.sql == "\"section\" IN ('games', 'web')"
    click_bar(qtbot, win, "section", "games", Qt.KeyboardModifier.ControlModifier)
    assert win.state.filter.part(part_key("section")).sql == "\"section\" = 'web'"
    click_bar(qtbot, win, "section", "web")
    assert win.state.filter.part(part_key("section")) is None
    assert win.state.filter.rows is None


def test_cross_filter_a_chart_is_not_filtered_by_its_own_part(qtbot, win):
    click_bar(qtbot, win, "section", "games")
    click_bar(qtbot, win, "priority", "extra")
    table = metadata()
    section = table.column("section").to_numpy(zero_copy_only=False)
    priority = table.column("priority").to_numpy(zero_copy_only=False)
    sections = charts(win).widgets["section"].chart.values
    expected = [np.count_nonzero((section == s) & (priority == "extra")) for s in sections]
    np.testing.assert_array_equal(counts_of(win, "section"), expected)  # by priority only
    priorities = charts(win).widgets["priority"].chart.values
    expected = [np.count_nonzero((priority == p) & (section == "games")) for p in priorities]
    np.testing.assert_array_equal(counts_of(win, "priority"), expected)  # by section only
    both = np.flatnonzero((section == "games") & (priority == "extra"))
    np.testing.assert_array_equal(win.state.filter.rows, both)
    np.testing.assert_array_equal(table_rows(win), both)


def test_removing_a_chip_restores_the_rows_and_the_chart(qtbot, win):
    click_bar(qtbot, win, "section", "games")
    click_bar(qtbot, win, "priority", "extra")
    before = counts_of(win, "priority")
    chips = charts(win).chips.chips
    assert [c.text for c in chips] == ["section: games", "priority: extra"]
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        qtbot.mouseClick(chips[0].close_button, Qt.MouseButton.LeftButton)
    settle(qtbot, win)
    assert [p.key for p in win.state.filter.parts] == [part_key("priority")]
    assert charts(win).widgets["section"].part is None
    assert counts_of(win, "priority").sum() == N > before.sum()
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        qtbot.mouseClick(charts(win).chips.chips[0].close_button, Qt.MouseButton.LeftButton)
    settle(qtbot, win)
    assert win.state.filter.rows is None and len(table_rows(win)) == N
    assert not charts(win).chips.isVisible()


def test_the_tables_filter_is_a_chip_too(qtbot, win):
    view = win.table_view
    view.filter_edit.setText("size_kb < 100")
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        view.filter_edit.returnPressed.emit()
    settle(qtbot, win)
    (chip,) = charts(win).chips.chips
    assert chip.text == "Table filter: size_kb < 100"
    small = int((metadata().column("size_kb").to_numpy() < 100).sum())
    assert counts_of(win, "section").sum() == small  # every chart follows the table's part
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        qtbot.mouseClick(chip.close_button, Qt.MouseButton.LeftButton)
    assert view.filter_edit.text() == ""


def test_the_selection_is_counted_among_the_filtered(qtbot, win):
    win.state.select(np.arange(100))
    settle(qtbot, win)
    assert charts(win).widgets["section"].selected().sum() == 100
    click_bar(qtbot, win, "priority", "extra")
    extra = metadata().column("priority").to_numpy(zero_copy_only=False)[:100] == "extra"
    assert charts(win).widgets["section"].selected().sum() == extra.sum()


def test_unticking_a_column_removes_its_chart_and_its_part(qtbot, win):
    click_bar(qtbot, win, "section", "games")
    action = next(a for a in charts(win).columns_menu.actions() if a.data() == "section")
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        action.setChecked(False)
    assert "section" not in charts(win).widgets and win.state.filter.rows is None
    action = next(a for a in charts(win).columns_menu.actions() if a.data() == "text")
    action.setChecked(True)  # free text charts as its top values when asked for
    settle(qtbot, win)
    assert charts(win).columns == ["priority", "size_kb", "text"]
    assert len(charts(win).widgets["text"].chart.values) == 12


def test_a_long_chip_is_elided_and_keeps_its_x_in_view(qtbot, win):
    view = win.table_view
    long = " OR ".join(f"size_kb = {i}" for i in range(40))
    view.filter_edit.setText(long)
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        view.filter_edit.returnPressed.emit()
    settle(qtbot, win)
    row = charts(win).chips
    (chip,) = row.chips
    assert chip.label.text().endswith("…") and chip.toolTip() == long
    assert chip.geometry().right() <= row.width()
    button = chip.close_button
    assert button.isVisible() and button.mapTo(row, button.rect().topRight()).x() <= row.width()


def test_a_hover_says_what_a_bar_is(qtbot, win):
    widget = charts(win).widgets["section"]
    QTest.mouseMove(widget, widget.bar_centre(0).toPoint() + QPoint(1, 0))
    assert widget.bar_at(widget.bar_centre(0).y()) == 0


def test_the_other_bar_filters_to_the_values_without_a_bar(qtbot, win):
    action = next(a for a in charts(win).columns_menu.actions() if a.data() == "text")
    action.setChecked(True)
    settle(qtbot, win)
    widget = charts(win).widgets["text"]
    other = widget.chart.other_bar
    assert other == 12 and widget.chart.labels[other] == "(other)"
    assert widget.title_text() == f"text · top 12 of {N:,}"
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         widget.bar_centre(other).toPoint())
    settle(qtbot, win)
    texts = metadata().column("text").to_pylist()
    expected = np.flatnonzero([t not in widget.chart.values for t in texts])
    part = win.state.filter.part(part_key("text"))
    assert part.label == "text: (other)" and part.sql.startswith('"text" NOT IN (')
    np.testing.assert_array_equal(win.state.filter.rows, expected)
    np.testing.assert_array_equal(table_rows(win), expected)
    assert widget.chosen() == {other}
    assert counts_of(win, "section").sum() == len(expected)


def press(qtbot, win, widget, key, modifier=Qt.KeyboardModifier.NoModifier):
    """A key that changes the chart's part, and the charts settled after it."""
    with qtbot.waitSignal(win.state.filterChanged, timeout=WAIT):
        qtbot.keyClick(widget, key, modifier)
    settle(qtbot, win)


def focus(qtbot, widget) -> None:
    widget.window().activateWindow()
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=WAIT)


def test_tab_reaches_the_charts_in_their_order(qtbot, win):
    view = charts(win)

    def tabbed() -> list[str]:
        """The charts Tab reaches from the Columns button (Copy and Clear are off)."""
        focus(qtbot, view.columns_button)
        reached = []
        for _ in view.columns:
            qtbot.keyClick(QGuiApplication.focusObject(), Qt.Key.Key_Tab)
            reached.append(getattr(QGuiApplication.focusObject(), "column", None))
        return reached

    assert tabbed() == view.columns == ["section", "priority", "size_kb"]
    view.set_columns(["size_kb", "priority", "section"])
    settle(qtbot, win)
    assert tabbed() == ["size_kb", "priority", "section"]


def test_arrows_move_between_bars_space_toggles_escape_clears(qtbot, win):
    widget = charts(win).widgets["section"]
    focus(qtbot, widget)
    assert widget.accessibleName() == "Chart of section"
    assert QToolTip.text().startswith(f"<b>{widget.chart.values[0]}</b><br>")  # by Tab: a tip
    assert "arrows: move" in QToolTip.text()
    qtbot.keyClick(widget, Qt.Key.Key_Down)
    assert QToolTip.text().startswith(f"<b>{widget.chart.values[1]}</b><br>")
    assert widget.current == 1 and win.state.filter.rows is None  # moving chooses nothing
    first, second = widget.chart.values[1], widget.chart.values[2]
    assert widget.accessibleDescription().startswith(f"{first}; ")
    assert "rows in the set" in widget.accessibleDescription()
    press(qtbot, win, widget, Qt.Key.Key_Space)
    assert win.state.filter.part(part_key("section")).sql == f"\"section\" = '{first}'"
    qtbot.keyClick(widget, Qt.Key.Key_Down)
    press(qtbot, win, widget, Qt.Key.Key_Return)
    assert win.state.filter.part(part_key("section")).sql == \
        f"\"section\" IN ('{first}', '{second}')"
    press(qtbot, win, widget, Qt.Key.Key_Enter)  # the same bar again: it leaves the choice
    assert win.state.filter.part(part_key("section")).sql == f"\"section\" = '{first}'"
    assert widget.chosen() == {1}
    press(qtbot, win, widget, Qt.Key.Key_Escape)
    assert win.state.filter.part(part_key("section")) is None and widget.chosen() == set()
    qtbot.keyClick(widget, Qt.Key.Key_End)
    assert widget.current == len(widget.chart.total) - 1
    qtbot.keyClick(widget, Qt.Key.Key_Down)  # stays on the last
    assert widget.current == len(widget.chart.total) - 1


def test_shift_arrows_stretch_a_histograms_range(qtbot, win):
    widget = charts(win).widgets["size_kb"]
    focus(qtbot, widget)
    for _ in range(3):
        qtbot.keyClick(widget, Qt.Key.Key_Right)
    press(qtbot, win, widget, Qt.Key.Key_Space)
    assert widget.chart.bins_of(win.state.filter.part(part_key("size_kb")).spec) == (3, 3)
    press(qtbot, win, widget, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    press(qtbot, win, widget, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    part = win.state.filter.part(part_key("size_kb"))
    assert widget.chart.bins_of(part.spec) == (3, 5) and widget.brushed() == (3, 5)
    edges = widget.chart.bins.edges
    assert part.sql == f'"size_kb" >= {int(edges[3])} AND "size_kb" < {int(edges[6])}'
    assert counts_of(win, "section").sum() == len(part.rows)
    press(qtbot, win, widget, Qt.Key.Key_Escape)
    assert win.state.filter.rows is None


def test_the_focused_chart_and_bar_are_marked(qtbot, win):
    widget = charts(win).widgets["priority"]
    highlight = widget.palette().highlight().color().rgb()
    mark = widget.rect_of(1)
    x, y = int(mark.left()), int(mark.center().y())  # on its left edge

    def marked() -> tuple[bool, bool]:
        image = widget.grab().toImage()
        return (image.pixel(0, widget.height() // 2) == highlight,
                image.pixel(x, y) == highlight)

    assert marked() == (False, False)
    focus(qtbot, widget)
    qtbot.keyClick(widget, Qt.Key.Key_Down)
    assert marked() == (True, True)
    charts(win).columns_button.setFocus()
    qtbot.waitUntil(lambda: not widget.hasFocus(), timeout=WAIT)
    assert marked() == (False, False)
    qtbot.waitUntil(lambda: "arrows" not in QToolTip.text(), timeout=WAIT)
    widget.setFocus(Qt.FocusReason.MouseFocusReason)  # a click: its own tooltip, not the keys'
    qtbot.waitUntil(widget.hasFocus, timeout=WAIT)
    assert "arrows" not in QToolTip.text() and marked()[0]


def test_the_title_counts_values_not_the_missing_bar(qapp):
    values = [f"v{i % 20}" for i in range(400)] + [None] * 5
    chart = ChartData(pa.table({"c": pa.array(values, type=pa.string())})).prepare("c")
    widget = chart_widget(chart)
    assert chart.labels[-2:] == ["(missing)", "(other)"]
    assert widget.title_text() == "c · top 12 of 20"
    assert widget.name_of(chart.other_bar) == "(other): the 8 values without a bar of their own"


def test_a_value_from_the_file_is_text_in_a_tooltip_not_markup(qapp):
    values = ["<img src='file:///etc/x.png'>"] * 5 + ["a & b"] * 3
    widget = chart_widget(ChartData(pa.table({"c": values})).prepare("c"))
    tip = widget.tooltip_html(0, "click")
    assert "<img" not in tip and "&lt;img src=&#x27;file:///etc/x.png&#x27;&gt;" in tip
    assert "a &amp; b" in widget.tooltip_html(1, "click")
    assert widget.describe(1)[0] == "a & b"  # plain for assistive technology
