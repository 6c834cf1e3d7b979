"""The Compression dock: a real sweep, the frontier on the chart, the budget slider, the map colouring."""

import numpy as np
import pyarrow as pa
import pytest
from clicks import window_click
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QMenu

from explorer.compute import compression as cz
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.panels.base import PanelContext
from explorer.ui.state import AppState
from explorer.ui.panels.compression.panel import CompressionView
from explorer.ui.workers import JobRunner

N, D = 1200, 32
WAIT = 120000
METHODS = "fp16,sq8,sq4,pq8,binary,binary-rerank50,trunc16"


@pytest.fixture
def view(qtbot, explorer_home):
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(N, D)) / (1 + np.arange(D)) ** 0.5).astype(np.float32)
    library = Library(explorer_home)
    entry = library.import_set(EmbeddingSet(x, pa.table({"id": [f"i{i}" for i in range(N)]}),
                                            name="pts", format="test", source=[],
                                            metric="cosine", id_column="id"))
    state, jobs = AppState(), JobRunner()
    widget = CompressionView(PanelContext(state, jobs, library))
    qtbot.addWidget(widget)
    widget.resize(700, 800)
    widget.show()
    state.set_set(library.open(entry.id))
    yield widget
    jobs.shutdown()


def run(qtbot, view, methods=METHODS, queries=200):
    view.methods.setText(methods)
    view.queries.setValue(queries)
    with qtbot.waitSignal(view.evaluated, timeout=WAIT) as got:
        view.run_button.click()
    return got.args[0]


def test_sweep_fills_chart_and_table_with_the_library_figures(qtbot, view):
    ev = run(qtbot, view)
    again = cz.evaluate(view.es, METHODS, k=10, queries=200)  # a cache hit: the same figures
    assert [r.name for r in ev.methods] == [r.name for r in again.methods]
    assert view.table.rowCount() == len(ev.methods)
    for i, r in enumerate(again.methods):
        assert view.table.item(i, 0).text() == r.name
        assert view.table.item(i, 2).text() == f"{r.overlap_with_ties:.3f}"
    xs, ys = view.points.getData()
    np.testing.assert_allclose(10 ** np.asarray(xs), [r.bytes_per_vector for r in ev.methods])
    np.testing.assert_allclose(ys, [r.overlap_with_ties for r in ev.methods])  # as the table
    front = cz.frontier(ev.methods, quality=cz.kept_of)
    fx, _ = view.front_line.getData()
    np.testing.assert_allclose(10 ** np.asarray(fx), [r.bytes_per_vector for r in front])


def test_budget_slider_names_the_best_frontier_method_within_it(qtbot, view):
    ev = run(qtbot, view)
    front = cz.frontier(ev.methods, quality=cz.kept_of)
    for target in front:
        view.set_budget(target.bytes_per_vector)
        budget = view.budget_bytes()
        expected = cz.best_within(ev.methods, budget + 1e-9, quality=cz.kept_of)
        assert view.chosen is expected and expected in front
        assert f"<b>{expected.name}</b>" in view.budget_label.text()
    view.budget.setValue(view.budget.maximum())
    assert view.chosen is max(ev.methods,
                              key=lambda r: (r.overlap_with_ties, -r.bytes_per_vector))


def test_map_colouring_marks_the_query_items_only(qtbot, view):
    ev = run(qtbot, view)
    view.budget.setValue(view.budget.maximum())
    view.colour_map()
    name = f"kept under {view.chosen.name}"
    derived = view.state.derived[name]
    rows = np.asarray(ev.rows)
    np.testing.assert_allclose(derived.values[rows], view.chosen.per_query_kept)
    others = np.setdiff1d(np.arange(N), rows)
    assert np.isnan(derived.values[others]).all()


def test_a_bad_method_name_is_said_and_nothing_runs(qtbot, view):
    view.methods.setText("sq8,zip9")
    view.run_button.click()
    assert "zip9" in view.error_line.text() and view.table.rowCount() == 0
    assert view.error_line.isVisible()


def test_a_failing_evaluation_is_said_in_the_panel(qtbot, view, monkeypatch):
    def broken(*_args, **_kwargs):
        raise OSError("the cache folder is read-only")

    monkeypatch.setattr(cz, "evaluate", broken)
    view.methods.setText("sq8")
    view.run_button.click()
    qtbot.waitUntil(view.error_line.isVisible, timeout=WAIT)
    assert "the cache folder is read-only" in view.error_line.text()
    assert "Evaluating" not in view.status.text() and view.table.rowCount() == 0
    monkeypatch.undo()
    run(qtbot, view, methods="sq8")  # the next try clears it
    assert not view.error_line.isVisible()


def test_export_writes_the_figures_and_the_chart(qtbot, view, tmp_path):
    ev = run(qtbot, view)
    for kind in ("csv", "json", "png"):
        path = tmp_path / f"report.{kind}"
        view.export(kind, str(path))
        qtbot.waitUntil(path.exists, timeout=WAIT)
        qtbot.waitUntil(lambda p=path: str(p) in view.status.text(), timeout=WAIT)
    assert (tmp_path / "report.csv").read_text().count("\n") == len(ev.methods) + 1
    assert (tmp_path / "report.png").stat().st_size > 1000


def test_per_query_tab_sets_the_exact_and_the_method_lists_side_by_side(qtbot, view):
    ev = run(qtbot, view)
    comparison = view.comparison
    first = view.chosen  # the budget's choice, its worst query shown
    assert comparison.result is first
    assert comparison.query == int(np.argmin(first.per_query_kept))
    before = comparison.query
    view.pick("pq8")
    chosen = view.chosen
    assert chosen.name == "pq8" and "pq8" in view.budget_label.text()
    assert comparison.result is chosen and comparison.query == before  # same query, new method
    # queries are listed worst first; picking one makes it the current item
    worst = int(np.argmin(chosen.per_query_kept))
    assert comparison.queries.itemData(0) == worst
    comparison.queries.setCurrentIndex(1)  # (index 0 may be showing already)
    comparison.queries.setCurrentIndex(0)
    assert comparison.query == worst and view.state.current == int(ev.rows[worst])
    row = int(ev.rows[worst])
    exact = [int(r) for r in ev.exact[worst, :ev.k]]
    got = [int(r) for r in chosen.ids[worst]]
    table_rows = [int(comparison.exact_table.item(i, 0).data(Qt.ItemDataRole.UserRole))
                  for i in range(comparison.exact_table.rowCount())]
    assert table_rows == exact
    method_rows = [int(comparison.method_table.item(i, 0).data(Qt.ItemDataRole.UserRole))
                   for i in range(comparison.method_table.rowCount())]
    assert method_rows == got
    # the tint marks exactly the items one list has and the other has not
    lost = {i for i, r in enumerate(exact) if r not in got}
    tinted = {i for i in range(len(exact))
              if comparison.exact_table.item(i, 1).background().style() != Qt.BrushStyle.NoBrush}
    assert tinted == lost and lost  # the worst pq8 query loses something
    assert (chosen.per_query_kept >= chosen.per_query_overlap).all()
    # scores are the exact cosine, whatever list the item is in
    x = np.asarray(view.es.vectors, dtype=np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    want = x[got] @ x[row]
    shown = [float(comparison.method_table.item(i, 2).text()) for i in range(len(got))]
    np.testing.assert_allclose(shown, want, atol=1e-4)
    # making another query current elsewhere follows it; clicking a neighbour selects it
    other = int(np.argmax(chosen.per_query_kept))
    view.state.set_current(int(ev.rows[other]))
    assert comparison.query == other
    comparison._item_clicked(comparison.method_table, 0)
    first, second = int(chosen.ids[other][0]), int(chosen.ids[other][1])
    assert view.state.selection.tolist() == [first]
    # moving the budget drops the pick: the budget's choice is compared again
    view.budget.setValue(view.budget.maximum())
    assert comparison.result is view.chosen is not chosen


def test_counting_re_rank_rows_moves_binary_rerank_on_the_chart(qtbot, view):
    ev = run(qtbot, view)
    rerank = next(r for r in ev.methods if r.name == "binary-rerank50")
    view.set_budget(rerank.bytes_per_vector)
    codes_only = view.chosen
    assert codes_only.bytes_per_vector <= rerank.bytes_per_vector
    view.count_rerank.setChecked(True)
    xs, _ = view.points.getData()
    at = [r.name for r in ev.methods].index("binary-rerank50")
    assert 10 ** xs[at] == pytest.approx(rerank.bytes_per_vector + 4 * D)
    view.set_budget(rerank.bytes_per_vector)
    assert view.chosen is not rerank  # the float32 rows no longer fit the budget


def test_settings_round_trip(qtbot, view):
    view.methods.setText("sq8,pq8")
    view.k.setValue(7)
    view.use_selection.setChecked(True)
    view.count_rerank.setChecked(True)
    saved = view.settings()
    view.methods.setText("")
    view.k.setValue(10)
    view.use_selection.setChecked(False)
    view.count_rerank.setChecked(False)
    notes = view.apply_settings({**saved, "unknown": 1, "queries": "many"})
    assert view.settings() == saved
    assert len(notes) == 1 and "queries" in notes[0]


def test_a_wide_low_area_puts_the_chart_beside_the_figures(qtbot, view):
    """In the window's bottom area (wide and low) the chart and the table are side by side,
    each as tall as the panel allows; in a tall panel they are stacked."""
    view.resize(1400, 340)
    qtbot.waitUntil(lambda: view.split.orientation() == Qt.Orientation.Horizontal, timeout=WAIT)
    qtbot.wait(50)
    row = view.table.verticalHeader().defaultSectionSize()
    assert view.plot.height() >= 180 and view.table.viewport().height() >= 6 * row
    view.resize(700, 800)
    qtbot.waitUntil(lambda: view.split.orientation() == Qt.Orientation.Vertical, timeout=WAIT)


def test_items_tied_at_the_kth_score_are_kept_and_counted(qtbot, explorer_home):
    """Identical texts embed identically: exact search and a method may return different
    duplicates at the k-th place; the per-query view calls none of them lost."""
    import dataclasses

    from explorer.ui.panels.compression.query import QueryComparison

    rng = np.random.default_rng(8)
    x = rng.normal(size=(400, 16)).astype(np.float32)
    x[100:114] = x[0] + 0.4 * x[100]  # fourteen exact duplicates near the query, row 0,
    x[200:202] = x[0] + 0.05 * x[200:202]  # behind two nearer items
    library = Library(explorer_home)
    entry = library.import_set(EmbeddingSet(x, pa.table({"id": [f"i{i}" for i in range(400)]}),
                                            name="dups", format="test", source=[],
                                            metric="cosine", id_column="id"))
    es = library.open(entry.id)
    ev = cz.evaluate(es, "fp16", k=10, rows=[0])
    exact = [int(r) for r in ev.exact[0]]
    top = exact[:10]
    dups = set(range(100, 114))
    inside = [r for r in top if r in dups]
    outside = [r for r in exact[10:] if r in dups]
    assert top[:2] == [200, 201] or top[:2] == [201, 200]
    assert len(inside) == 8 and len(outside) == 6, "the duplicates straddle the k-th place"
    k_th = 10 - len(inside)  # the top k with its duplicates swapped for the others
    swapped = np.array([[*top[:k_th], *outside[:len(inside)],
                         *top[k_th + len(outside[:len(inside)]):]]])
    assert len(swapped[0]) == 10
    scores = cz.exact_scores(es.vectors, 0, np.concatenate([ev.exact[0, :11], swapped[0]]),
                             ev.metric)
    kept, tied = cz.overlap_with_ties(ev.exact[:, :11], scores[None, :11], swapped,
                                      scores[None, 11:], 10)
    result = dataclasses.replace(ev.methods[0], name="swapped", ids=swapped,
                                 per_query_overlap=cz.overlap(ev.exact[:, :10], swapped, 10),
                                 per_query_kept=kept)
    assert result.per_query_overlap[0] < 1  # the set overlap calls the swap a loss
    assert kept.tolist() == [1.0] and tied.tolist() == [True]
    widget = QueryComparison(AppState())
    qtbot.addWidget(widget)
    widget.show()
    widget.show_result(es, ev, result)
    assert "keeps 10 of 10." in widget.summary.text()
    for table in (widget.exact_table, widget.method_table):
        brushes = [table.item(i, 1).background() for i in range(table.rowCount())]
        tinted = [b.color().getRgb() for b in brushes if b.style() != Qt.BrushStyle.NoBrush]
        assert tinted and all(rgb == (128, 128, 128, 60) for rgb in tinted)  # grey: a tie
    assert widget.ties.isVisible()
    ties = widget.ties.text()
    assert ties.startswith("14 items tie with the 10th neighbour's score")
    assert "6 picked differently" in ties
    # the list of queries says so too
    assert widget.queries.itemText(0).startswith("1.00") and widget.query == 0
    # the same query against the method's real lists: nothing swapped, no grey
    widget.show_result(es, ev, ev.methods[0])
    assert "picked differently" not in widget.ties.text()


def test_the_figures_count_swaps_among_tied_items_as_kept_and_say_how_many(qtbot,
                                                                           explorer_home):
    """Thirty exact duplicates as queries: binary codes return other duplicates than exact
    search does; the table's overlap@k keeps them, as the per-query view does, and its
    tooltips say how many queries have ties."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(800, 16)).astype(np.float32)
    x[100:130] = x[100]
    library = Library(explorer_home)
    entry = library.import_set(EmbeddingSet(x, pa.table({"id": [f"i{i}" for i in range(800)]}),
                                            name="dups", format="test", source=[],
                                            metric="cosine", id_column="id"))
    state, jobs = AppState(), JobRunner()
    view = CompressionView(PanelContext(state, jobs, library))
    qtbot.addWidget(view)
    view.show()
    state.set_set(library.open(entry.id))
    state.select(np.arange(80, 140))
    view.use_selection.setChecked(True)
    ev = run(qtbot, view, methods="fp16,binary")
    binary = ev.methods[1]
    assert binary.overlap_with_ties > binary.overlap + 0.1  # the swaps are no loss
    cell = view.table.item(1, 2)
    assert cell.text() == f"{binary.overlap_with_ties:.3f}" != f"{binary.overlap:.3f}"
    swapped = int(np.count_nonzero(binary.per_query_kept > binary.per_query_overlap))
    assert swapped >= 10
    assert f"{binary.overlap:.3f} counting every swap as a loss" in cell.toolTip()
    assert f"{binary.queries_with_ties} of 60 queries have such ties; in {swapped} of them" \
        in cell.toolTip()
    header = view.table.horizontalHeaderItem(2).toolTip()
    assert header.endswith(f"{binary.queries_with_ties} of 60 queries have items tied with "
                           "their k-th neighbour")
    view.pick("binary")  # the per-query list ranks the queries by the same shares
    shares = [float(view.comparison.queries.itemText(i).split()[0])
              for i in range(view.comparison.queries.count())]
    assert shares == sorted(round(s, 2) for s in binary.per_query_kept)
    jobs.shutdown()


def test_the_per_query_lists_select_with_the_usual_keys_and_right_click_opens_a_menu(
        qtbot, view):
    run(qtbot, view)
    view.pick("pq8")
    view.tabs.setCurrentWidget(view.comparison)
    table = view.comparison.method_table
    qtbot.waitUntil(lambda: table.isVisible() and table.rowCount() > 1, timeout=10_000)
    rows = [int(table.item(i, 0).data(Qt.ItemDataRole.UserRole)) for i in range(2)]

    def line(i: int) -> QPoint:
        return table.visualItemRect(table.item(i, 1)).center()

    viewport = table.viewport()
    window_click(qtbot, viewport, line(0))
    assert view.state.selection.tolist() == [rows[0]]
    window_click(qtbot, viewport, line(1), modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert view.state.selection.tolist() == sorted(rows)
    window_click(qtbot, viewport, line(0), modifiers=Qt.KeyboardModifier.ControlModifier)
    assert view.state.selection.tolist() == [rows[1]]
    window_click(qtbot, viewport, line(0), button=Qt.MouseButton.RightButton)
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=5000)
    menu = QApplication.activePopupWidget()
    assert "Find neighbours of this item" in [a.text() for a in menu.actions()]
    menu.close()
    assert view.state.selection.tolist() == [rows[1]] and not table.selectedItems()
