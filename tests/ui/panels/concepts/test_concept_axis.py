"""The Axis tab of the Concepts dock, against the headless concept core."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QScrollArea

from explorer.compute import concepts as cc
from explorer.compute.concepts import bins as concept_bins
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.panels.concepts import axis_histogram as concept_axis_histogram
from explorer.ui.panels.concepts.axis import AxisTab
from explorer.ui.panels.concepts.context import ConceptContext
from explorer.ui.panels.concepts.validity_text import validity_plain
from explorer.ui.state import AppState
from explorer.ui.widgets.dock_widgets import ScrollContent

N, D = 1_000, 16
WAIT = 60_000


@pytest.fixture
def planted(explorer_home):
    """x = noise + t·u along the first axis; metadata: a category, a numeric column following t."""
    rng = np.random.default_rng(7)
    t = rng.normal(size=N)
    x = rng.normal(size=(N, D)) * 0.5
    x[:, 0] += 2.0 * t
    x[:, 1] += 3.0  # keeps every item away from the origin: cosines vary smoothly with t
    cat = np.where(t < -0.5, "low", np.where(t > 0.5, "high", "middle"))
    cat[rng.random(N) < 0.05] = "odd"
    value = t + rng.normal(size=N) * 0.3
    table = pa.table({"id": [f"item{i}" for i in range(N)],
                      "text": [f"point {i}" for i in range(N)],
                      "cat": list(cat), "value": value, "t": t})
    lib = Library()
    entry = lib.import_set(EmbeddingSet(vectors=x.astype(np.float32), metadata=table,
                                        name="planted", id_column="id", text_column="text"))
    es = lib.open(entry.id)
    d = cc.from_where(es, "t < -0.5", "t > 0.5", name="strength")
    d.label_a, d.label_b = "weak", "strong"
    d.validity = cc.validate(es, d)
    cc.DirectionStore(es).save(d)
    return es, t


def new_tab(qtbot, tab_jobs, es):
    """An Axis tab on `es`, its context not yet told of the set."""
    state = AppState()
    state.set_set(es)
    panel = tab_jobs(state)
    context = ConceptContext(panel)
    tab = AxisTab(state, panel, context)
    qtbot.addWidget(tab)
    return state, context, tab


def open_tab(qtbot, tab_jobs, es, size=(560, 760)):
    state, context, tab = new_tab(qtbot, tab_jobs, es)
    tab.resize(*size)
    tab.show()
    with qtbot.waitSignal(tab.ready, timeout=WAIT):
        context.set_set(es)
    QApplication.processEvents()  # the layout once the lists are filled and the hint hidden
    return state, context, tab


def listed_rows(table) -> list[int]:
    model = table.rows_model
    return [model.row_at(i) for i in range(model.rowCount())]


def cell(table, row: int, col: int) -> str:
    return table.rows_model.data(table.rows_model.index(row, col))


# --- what the tab shows --------------------------------------------------------------------
def test_histogram_lists_and_validity_follow_the_core(qtbot, tab_jobs, planted):
    es, t = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    d = context.current
    s = cc.scores(es, d)
    np.testing.assert_array_equal(tab.scores, s)

    # every item is in exactly one bar, and the bars span the scores
    assert tab.binned.counts.sum() == N
    assert len(tab.binned.counts) == concept_bins.BINS
    assert tab.binned.edges[0] == pytest.approx(float(s.min()))
    assert tab.binned.edges[-1] == pytest.approx(float(s.max()))
    ref, _ = np.histogram(s.astype(np.float64), bins=tab.binned.edges)
    assert np.abs(ref - tab.binned.counts).sum() <= 4  # only items on a bar's edge may differ
    drawn = sum(float(np.sum(bar.opts["height"])) for bar in tab._bars)
    assert drawn == N

    # the lowest scores at pole A's end, the highest at B's, in order
    order = np.argsort(s, kind="stable")
    assert listed_rows(tab.low_table) == order[:20].tolist()
    assert listed_rows(tab.high_table) == order[::-1][:20].tolist()
    low, high = cc.top_items(es, s, 20)
    assert listed_rows(tab.low_table) == [it["row"] for it in low]
    assert cell(tab.high_table, 0, 0) == f"{high[0]['score']:.3f}"
    assert cell(tab.high_table, 0, 1) == high[0]["label"]
    assert t[order[:20]].max() < t[order[::-1][:20]].min()  # the planted axis

    # the poles, the split between the groups, what the direction is worth
    assert "weak ← → strong" in tab.title.text()
    assert "weak" in tab.pole_a.text() and "strong" in tab.pole_b.text()
    assert tab.split_line.isVisible()
    assert tab.split_line.value() == pytest.approx(d.definition["threshold"])
    v = d.validity
    text = validity_plain(d, v)
    assert f"held-out accuracy {v.heldout_accuracy:.2f}" in text
    assert f"{v.n_a:,} vs {v.n_b:,} items" in text and f"{v.folds} folds" in text
    if v.n_a != v.n_b:
        assert f"balanced {v.heldout_balanced_accuracy:.2f}" in text
    assert v.heldout_accuracy > 0.95
    label = tab.validity_label.text()
    assert "held-out accuracy" in label and f"{v.heldout_accuracy:.2f}" in label
    assert "cross-validation" in tab.validity_label.toolTip()
    assert not tab.warnings_label.isVisible()


def test_brushing_selects_exactly_the_scores_in_the_range(qtbot, tab_jobs, planted):
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    s = cc.scores(es, context.current)
    ordered = np.sort(s)
    lo, hi = float(ordered[100]), float(ordered[400])  # two items sit on the bounds
    s64 = s.astype(np.float64)
    expected = np.flatnonzero((s64 >= lo) & (s64 <= hi))
    assert len(expected) >= 301

    with qtbot.waitSignal(state.selectionChanged, timeout=WAIT) as got:
        tab.region.setRegion((lo, hi))
        tab.region.sigRegionChangeFinished.emit(tab.region)
    np.testing.assert_array_equal(state.selection, expected)
    assert got.args[1] is tab
    assert np.argsort(s, kind="stable")[100] in state.selection  # the bounds are included
    assert f"<b>{len(expected):,}</b> items between" in tab.brush_label.text()
    assert f"{lo:.6g} ≤ score ≤ {hi:.6g}" in tab.brush_label.toolTip()

    # one float32 step above the low bound leaves its item out
    above = float(np.nextafter(np.float32(lo), np.float32(np.inf)))
    tab.set_brush(above, hi)
    np.testing.assert_array_equal(state.selection, np.flatnonzero((s64 >= above) & (s64 <= hi)))
    assert len(state.selection) < len(expected)

    # clearing the brush empties the selection it made
    tab.clear_brush()
    assert len(state.selection) == 0 and not tab.region.isVisible()
    assert "Drag across the plot" in tab.brush_label.text()

    # a selection made elsewhere leaves the brush behind
    tab.set_brush(lo, hi)
    state.select([1, 2, 3], source="map")
    assert not tab.region.isVisible() and tab.brushed is None
    tab.clear_brush()
    assert state.selection.tolist() == [1, 2, 3]


def drag_across(qtbot, tab, state, x0: float, x1: float,
                keys=Qt.KeyboardModifier.NoModifier) -> None:
    """A left drag over the axis histogram from score x0 to x1, with `keys` held."""
    plot = tab.plot
    view = plot.getPlotItem().getViewBox()

    def at(x):
        return plot.mapFromScene(view.mapViewToScene(QPointF(x, 3.0)))

    QTest.mousePress(plot.viewport(), Qt.MouseButton.LeftButton, keys, at(x0))
    for f in np.linspace(0, 1, 6)[1:]:
        QTest.mouseMove(plot.viewport(), at(x0 + f * (x1 - x0)))
    with qtbot.waitSignal(state.selectionChanged, timeout=WAIT):
        QTest.mouseRelease(plot.viewport(), Qt.MouseButton.LeftButton, keys, at(x1))


def test_dragging_across_the_plot_brushes(qtbot, tab_jobs, planted):
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    s = cc.scores(es, context.current).astype(np.float64)
    x0, x1 = np.percentile(s, [30, 60])
    drag_across(qtbot, tab, state, x0, x1)
    lo, hi = tab.brush_range
    assert lo == pytest.approx(x0, abs=(s.max() - s.min()) / 50)
    assert hi == pytest.approx(x1, abs=(s.max() - s.min()) / 50)
    np.testing.assert_array_equal(state.selection, np.flatnonzero((s >= lo) & (s <= hi)))


def test_a_ctrl_drag_takes_the_range_away_from_the_selection(qtbot, tab_jobs, planted):
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    s = cc.scores(es, context.current).astype(np.float64)
    x0, x1 = np.percentile(s, [30, 60])
    state.select(np.arange(N), source="map")
    drag_across(qtbot, tab, state, x0, x1, Qt.KeyboardModifier.ControlModifier)
    lo, hi = tab.brush_range
    np.testing.assert_array_equal(state.selection, np.flatnonzero((s < lo) | (s > hi)))


def test_large_sets_brush_in_a_job(qtbot, tab_jobs, planted, monkeypatch):
    es, _ = planted
    monkeypatch.setattr(concept_axis_histogram, "DIRECT_ROWS", 10)
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    s = cc.scores(es, context.current).astype(np.float64)
    lo, hi = np.percentile(s, [10, 20])
    tab.set_brush(lo, hi)
    qtbot.waitUntil(lambda: len(state.selection) > 0, timeout=WAIT)
    np.testing.assert_array_equal(state.selection, np.flatnonzero((s >= lo) & (s <= hi)))


def test_lists_make_the_current_item_and_mark_it(qtbot, tab_jobs, planted):
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    s = cc.scores(es, context.current)
    table = tab.high_table
    index = table.rows_model.index(2, 1)
    rect = table.visualRect(index)
    with qtbot.waitSignal(state.currentChanged, timeout=WAIT) as got:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    row = listed_rows(table)[2]
    assert state.current == row and got.args == [row, tab]
    assert tab.current_line.isVisible()
    assert tab.current_line.value() == pytest.approx(float(s[row]))
    qtbot.mouseMove(table.viewport(), table.visualRect(table.rows_model.index(0, 1)).center())
    qtbot.waitUntil(lambda: state.hover == listed_rows(table)[0], timeout=WAIT)
    assert tab.hover_line.value() == pytest.approx(float(s[state.hover]))
    state.set_current(-1)
    assert not tab.current_line.isVisible()


def test_list_clicks_select_as_on_the_map_and_a_right_click_keeps_the_selection(
        qtbot, tab_jobs, planted):
    es, _ = planted
    state, _, tab = open_tab(qtbot, tab_jobs, es)
    table = tab.high_table
    listed = listed_rows(table)
    lasso = np.setdiff1d(np.arange(100, 224), listed)  # 124 items picked on the map
    state.select(lasso, source="map")

    def click(position, button=Qt.MouseButton.LeftButton, keys=Qt.KeyboardModifier.NoModifier):
        at = table.visualRect(table.rows_model.index(position, 1)).center()
        qtbot.mouseClick(table.viewport(), button, keys, at)
        if button == Qt.MouseButton.RightButton:  # the menu event a desktop sends after it
            QApplication.sendEvent(table.viewport(), QContextMenuEvent(
                QContextMenuEvent.Reason.Mouse, at, table.viewport().mapToGlobal(at)))

    def highlighted() -> list[int]:
        return sorted(listed[i.row()] for i in table.selectionModel().selectedRows())

    click(3, Qt.MouseButton.RightButton)
    menus = [m for m in tab.findChildren(QMenu) if m.isVisible()]
    assert len(menus) == 1 and "Find neighbours of this item" in [a.text() for a in
                                                                  menus[0].actions()]
    menus[0].close()
    assert state.selection.tolist() == lasso.tolist() and state.current == -1
    assert highlighted() == []
    click(3)
    assert state.selection.tolist() == [listed[3]] and state.current == listed[3]
    click(5, keys=Qt.KeyboardModifier.ShiftModifier)
    assert state.selection.tolist() == sorted([listed[3], listed[5]])
    assert highlighted() == sorted([listed[3], listed[5]])
    click(3, keys=Qt.KeyboardModifier.ControlModifier)
    assert state.selection.tolist() == [listed[5]] and highlighted() == [listed[5]]
    click(5, Qt.MouseButton.RightButton)  # on a selected item: the menu acts on the selection
    menus = [m for m in tab.findChildren(QMenu) if m.isVisible()]
    assert "Remove from the selection" in [a.text() for a in menus[-1].actions()]
    menus[-1].close()
    assert state.selection.tolist() == [listed[5]]


def test_colouring_the_map_gives_it_the_scores(qtbot, tab_jobs, planted):
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    s = cc.scores(es, context.current)
    with qtbot.waitSignal(state.viewRequested, timeout=WAIT) as got:
        tab.colour_button.click()
    assert got.args == ["map"]
    name = "concept: strength"
    assert state.colour_by == name
    derived = state.derived[name]
    np.testing.assert_array_equal(derived.values, s)
    p1, p99 = np.percentile(s, [1, 99])
    assert derived.vmin == pytest.approx(p1) and derived.vmax == pytest.approx(p99)
    assert "weak" in derived.note and "99th" in derived.note


def test_against_revalidates_and_reports_the_spearman(qtbot, tab_jobs, planted):
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    d = context.current
    assert d.validity.against is None
    assert [tab.against.itemText(i) for i in range(tab.against.count())] == \
        ["(none)", *cc.numeric_columns(es)]
    tab.against.setCurrentText("value")
    with qtbot.waitSignal(tab.validityChanged, timeout=WAIT) as got:
        tab.against.activated.emit(tab.against.currentIndex())
    assert got.args[0] is d and d.validity.against == "value"
    ref = cc.validate(es, d, against="value")
    assert d.validity.spearman == pytest.approx(ref.spearman)
    assert d.validity.spearman > 0.8  # value follows t, the planted axis
    text = validity_plain(d, d.validity)
    assert f"Spearman with value ρ = {ref.spearman:+.2f} (p " in text
    assert f"n = {N:,})" in text
    assert f"ρ = {ref.spearman:+.2f}" in tab.validity_label.text()
    assert "rank correlation" in tab.validity_label.toolTip()
    assert cc.DirectionStore(es).get("strength").validity.against is None  # not saved here


def test_colour_by_splits_the_histogram(qtbot, tab_jobs, planted):
    es, t = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    columns = [tab.colour_by.itemText(i) for i in range(tab.colour_by.count())]
    assert columns[0] == "(none)" and "cat" in columns and "value" in columns
    assert "id" not in columns and "text" not in columns

    tab.set_colour_by("cat")
    qtbot.waitUntil(lambda: tab.split is not None and tab.split.column == "cat", timeout=WAIT)
    split = tab.split
    assert sorted(split.labels) == ["high", "low", "middle", "odd"]
    np.testing.assert_array_equal(split.stacks.sum(axis=0), tab.binned.counts)
    cats = np.asarray(es.metadata.column("cat").to_pylist())
    for label, total in zip(split.labels, split.totals):
        assert total == int((cats == label).sum())
    s = tab.scores
    low = split.stacks[split.labels.index("low")]
    high = split.stacks[split.labels.index("high")]
    centres = (tab.binned.edges[:-1] + tab.binned.edges[1:]) / 2
    assert np.average(centres, weights=low) < np.average(centres, weights=high)
    assert tab.legend.isVisible() and "middle" in tab.legend.text()
    assert sum(float(np.sum(bar.opts["height"])) for bar in tab._bars) == N

    tab.set_colour_by("value")
    qtbot.waitUntil(lambda: tab.split is not None and tab.split.column == "value", timeout=WAIT)
    values = np.asarray(es.metadata.column("value").to_pylist())
    bins = tab.binned.bins
    pct = (np.argsort(np.argsort(values)) + 0.5) / N  # no ties in a float column
    for b in np.flatnonzero(tab.binned.counts)[::10]:
        assert tab.split.levels[b] == pytest.approx(float(pct[bins == b].mean()))
    filled = np.flatnonzero(tab.binned.counts >= 10)
    assert tab.split.levels[filled[0]] < 0.3 < 0.7 < tab.split.levels[filled[-1]]  # value ~ t
    assert "percentile" in tab.legend.text()
    assert bins[np.argmin(s)] == 0 and bins[np.argmax(s)] == len(tab.binned.counts) - 1

    tab.set_colour_by(None)
    assert tab.split is None and not tab.legend.isVisible()


def test_stale_answers_never_replace_newer_ones(qtbot, jobs, tab_jobs, planted):
    es, _ = planted
    rng = np.random.default_rng(0)
    rows = rng.permutation(N)
    other = cc.from_rows(es, rows[:4], rows[4:8], name="tiny groups", label_a="few",
                         label_b="others")  # groups far too small: a warning
    other.validity = cc.validate(es, other)
    assert other.validity.warnings
    cc.DirectionStore(es).save(other)
    state, context, tab = open_tab(qtbot, tab_jobs, es)
    qtbot.waitUntil(lambda: len(context.directions) == 2, timeout=WAIT)
    assert context.current.name == "tiny groups"
    assert tab.warnings_label.isVisible()
    assert "Warning:" in tab.warnings_label.text() and "fewer than" in tab.warnings_label.text()

    replaced = []
    tab.validityChanged.connect(replaced.append)
    tab.revalidate("value")  # its answer arrives after the direction has changed
    tab.set_colour_by("cat")
    with qtbot.waitSignal(tab.ready, timeout=WAIT):
        context.choose("strength")
    qtbot.waitUntil(lambda: not jobs.running(), timeout=WAIT)
    assert replaced == []
    d = context.current
    assert tab.direction is d and d.name == "strength"
    assert d.validity.against is None and "Spearman" not in tab.validity_label.text()
    assert not tab.warnings_label.isVisible()
    s = cc.scores(es, d)
    assert tab.binned.counts.sum() == N and tab.binned.lo == pytest.approx(float(s.min()))
    qtbot.waitUntil(lambda: tab.split is not None, timeout=WAIT)
    assert tab.split.stacks.sum() == N
    np.testing.assert_array_equal(tab.split.stacks.sum(axis=0), tab.binned.counts)

    # the same direction, saved and read back as a new object, keeps the brush
    tab.set_brush(float(np.percentile(s, 40)), float(np.percentile(s, 60)))
    chosen = state.selection.copy()
    context.save(d, then_choose=True)
    qtbot.waitUntil(lambda: context.current is not None and context.current is not d,
                    timeout=WAIT)
    qtbot.waitUntil(lambda: context.scores is not None, timeout=WAIT)
    assert tab.direction is context.current and tab.region.isVisible()
    np.testing.assert_array_equal(state.selection, chosen)

    context.set_set(None)
    assert tab.direction is None and not tab.plot_box.isVisible()


def test_bins_for_a_set_left_meanwhile_are_dropped(qtbot, jobs, tab_jobs, planted):
    es, _ = planted
    state, context, tab = new_tab(qtbot, tab_jobs, es)
    left = []

    def leave(d, _scores) -> None:  # runs right after the tab has asked for the bins
        left.append(d)
        state.set_set(None)  # as the window does: the panel then tells its context
        context.set_set(None)

    context.scoresReady.connect(leave)
    context.set_set(es)
    qtbot.waitUntil(lambda: bool(left), timeout=WAIT)
    qtbot.waitUntil(lambda: not jobs.running(), timeout=WAIT)
    assert tab.direction is None and tab.binned is None and tab._bars == []
    assert tab.low_table.rows_model.rowCount() == 0


def test_a_narrow_short_panel_scrolls_instead_of_overlapping(qtbot, tab_jobs, planted):
    """At 300 px wide and too short for it all, nothing of the plot's box lies over
    anything else (the tab scrolls), and the axis title fits under the plot."""
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es, size=(300, 420))
    qtbot.wait(50)

    def box(widget):
        return QRect(widget.mapTo(tab, QPoint(0, 0)), widget.size())

    parts = [tab.plot_holder, tab.pole_a, tab.pole_b, tab.brush_label, tab.clear_button,
             tab.low_title, tab.low_table, tab.high_title, tab.high_table, tab.colour_button]
    for i, a in enumerate(parts):
        for b in parts[i + 1:]:
            assert not box(a).intersects(box(b)), (a, b)
    assert box(tab.pole_a).top() >= box(tab.plot_holder).bottom()
    assert box(tab.brush_label).top() >= box(tab.pole_a).bottom()
    axis = tab.plot.getAxis("bottom")
    assert axis.label.boundingRect().width() < tab.plot.width()


def test_the_lists_at_each_end_read_in_a_narrow_panel(qtbot, tab_jobs, planted):
    """At 360 px the lowest and highest items are stacked, and no item is cut to a dozen
    characters."""
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es, size=(360, 900))
    qtbot.wait(50)
    dozen = 13 * tab.low_table.fontMetrics().horizontalAdvance("0")
    for table in (tab.low_table, tab.high_table):
        assert table.columnWidth(1) >= dozen
    assert tab.low_table.mapTo(tab, QPoint(0, 0)).y() < tab.high_table.mapTo(tab, QPoint(0, 0)).y()


def scroll_area(tab) -> QScrollArea:
    return next(a for a in tab.findChildren(QScrollArea) if isinstance(a.widget(), ScrollContent))


def full_rows(table) -> int:
    """Rows of `table` in view from top to bottom, none cut."""
    return table.viewport().height() // table.rowHeight(0)


def test_a_short_dock_keeps_six_rows_a_list_and_scrolls_to_the_second(qtbot, tab_jobs, planted):
    """The tab's size in a 1400x900 window: each list shows six whole rows (the splitter
    gave them a table's 70 px minimum, 2.5 rows, before), and the tab scrolls down to the
    second list and the colour button instead of cutting them off."""
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es, size=(398, 559))
    qtbot.wait(50)
    area = scroll_area(tab)
    content = area.widget()
    assert content.heightForWidth(content.width()) >= (tab.split_view.minimumSizeHint().height()
                                                      + tab.colour_button.height())
    for table in (tab.low_table, tab.high_table):
        assert full_rows(table) >= 6
    low, high = (QRect(t.mapTo(content, QPoint(0, 0)), t.size())
                 for t in (tab.low_table, tab.high_table))
    assert low.bottom() < high.top()  # stacked, not side by side, at this width
    assert area.verticalScrollBar().maximum() > 0
    area.verticalScrollBar().setValue(area.verticalScrollBar().maximum())
    qtbot.wait(20)
    bottom = tab.colour_button.mapTo(area.viewport(), QPoint(0, tab.colour_button.height()))
    assert bottom.y() <= area.viewport().height()


def test_a_wider_dock_puts_the_lists_side_by_side_and_they_take_the_height(
        qtbot, tab_jobs, planted):
    """The tab's size in a 1920x1080 window: the lists sit side by side, so everything fits
    without scrolling; a taller tab gives most of its height to the lists while the plot
    keeps its minimum."""
    es, _ = planted
    state, context, tab = open_tab(qtbot, tab_jobs, es, size=(510, 631))
    qtbot.wait(50)
    area = scroll_area(tab)
    assert area.verticalScrollBar().maximum() == 0
    low, high = (QRect(t.mapTo(tab, QPoint(0, 0)), t.size())
                 for t in (tab.low_table, tab.high_table))
    assert low.right() < high.left() and low.top() == high.top()
    assert min(full_rows(t) for t in (tab.low_table, tab.high_table)) >= 8
    dozen = 13 * tab.low_table.fontMetrics().horizontalAdvance("0")
    assert min(t.columnWidth(1) for t in (tab.low_table, tab.high_table)) >= dozen
    plot, table = tab.plot_holder.height(), tab.low_table.height()
    assert plot >= tab.plot_holder.minimumHeight()
    tab.resize(510, 900)
    qtbot.wait(50)
    assert tab.low_table.height() - table > tab.plot_holder.height() - plot >= 0
