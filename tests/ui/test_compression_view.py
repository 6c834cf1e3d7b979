"""The Compression dock: a real sweep, the frontier on the chart, the budget slider, the map colouring."""

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import compression as cz
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.state import AppState
from explorer.ui.views.compression_view import CompressionView
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
    widget = CompressionView(state, jobs)
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
        assert view.table.item(i, 2).text() == f"{r.overlap:.3f}"
    xs, ys = view.points.getData()
    np.testing.assert_allclose(10 ** np.asarray(xs), [r.bytes_per_vector for r in ev.methods])
    front = cz.frontier(ev.methods)
    fx, _ = view.front_line.getData()
    np.testing.assert_allclose(10 ** np.asarray(fx), [r.bytes_per_vector for r in front])


def test_budget_slider_names_the_best_frontier_method_within_it(qtbot, view):
    ev = run(qtbot, view)
    front = cz.frontier(ev.methods)
    for target in front:
        view.set_budget(target.bytes_per_vector)
        budget = view.budget_bytes()
        expected = cz.best_within(ev.methods, budget + 1e-9)
        assert view.chosen is expected and expected in front
        assert f"<b>{expected.name}</b>" in view.budget_label.text()
    view.budget.setValue(view.budget.maximum())
    assert view.chosen is max(ev.methods, key=lambda r: (r.overlap, -r.bytes_per_vector))


def test_map_colouring_marks_the_query_items_only(qtbot, view):
    ev = run(qtbot, view)
    view.budget.setValue(view.budget.maximum())
    view.colour_map()
    name = f"kept under {view.chosen.name}"
    derived = view.state.derived[name]
    rows = np.asarray(ev.rows)
    np.testing.assert_allclose(derived.values[rows], view.chosen.per_query_overlap)
    others = np.setdiff1d(np.arange(N), rows)
    assert np.isnan(derived.values[others]).all()


def test_a_bad_method_name_is_said_and_nothing_runs(qtbot, view):
    view.methods.setText("sq8,zip9")
    view.run_button.click()
    assert "zip9" in view.message.text() and view.table.rowCount() == 0


def test_export_writes_the_figures_and_the_chart(qtbot, view, tmp_path):
    ev = run(qtbot, view)
    for kind in ("csv", "json", "png"):
        path = tmp_path / f"report.{kind}"
        view.export(kind, str(path))
        qtbot.waitUntil(path.exists, timeout=WAIT)
        qtbot.waitUntil(lambda p=path: str(p) in view.status.text(), timeout=WAIT)
    assert (tmp_path / "report.csv").read_text().count("\n") == len(ev.methods) + 1
    assert (tmp_path / "report.png").stat().st_size > 1000
