"""The neighbours view linked to the map: click -> list -> highlight, history, filters, metrics, hubness."""

import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.main_window import MainWindow
from explorer.ui.panels.base import PanelContext
from explorer.ui.panels.neighbours.hubness_tab import HUBNESS
from explorer.ui.panels.neighbours.panel import CENTROID, NeighboursView
from explorer.ui.state import AppState, SelectMode
from explorer.ui.workers import JobRunner

N, D = 700, 12
WAIT = 60000


def brute_force(vectors, q, metric, k, exclude=(), allowed=None):
    """numpy reference: the k best rows for `q` (scores higher-is-better inside)."""
    v = np.asarray(vectors, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if metric == "cosine":
        s = v @ q / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))
    elif metric == "dot":
        s = v @ q
    else:
        s = -np.linalg.norm(v - q, axis=1)
    ok = np.ones(len(v), dtype=bool) if allowed is None else allowed.copy()
    ok[list(exclude)] = False
    s = np.where(ok, s, -np.inf)
    order = np.argsort(-s, kind="stable")[:k]
    return order[np.isfinite(s[order])]


@pytest.fixture
def vectors():
    rng = np.random.default_rng(7)
    # lengths vary a lot, so cosine, dot and L2 disagree
    v = rng.normal(size=(N, D)) * rng.lognormal(0, 0.6, size=(N, 1))
    return v.astype(np.float32)


@pytest.fixture
def set_file(tmp_path, vectors):
    path = tmp_path / "points.parquet"
    pq.write_table(pa.table({
        "id": [f"p{i}" for i in range(N)],
        "grp": np.array(["a", "b", "c"])[np.arange(N) % 3],
        "text": [f"point number {i}" for i in range(N)],
        "vec": list(vectors)}), path)
    return path


@pytest.fixture
def window(qtbot, explorer_home, set_file):
    win = MainWindow(Library(explorer_home), restore=False)
    qtbot.addWidget(win)
    win.show()
    win.show_view("neighbours")
    with qtbot.waitSignal(win.map_view.renderFinished, timeout=WAIT):
        win.open_paths([str(set_file)])
    qtbot.waitUntil(lambda: win.map_view.index is not None, timeout=WAIT)
    yield win
    win.jobs.shutdown()


def shown_rows(view):
    return view.model.rows.tolist()


def click_point(qtbot, window, row):
    """Click on the map at a point: it becomes current, and the neighbours view searches."""
    view, nview = window.map_view, window.neighbours_view
    x, y = (float(c) for c in view.coords[row])
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        view.gestures.clicked(x, y, Qt.KeyboardModifier.NoModifier)
    assert window.state.current == row


def test_click_on_map_lists_brute_force_neighbours_and_rings_them(qtbot, window, vectors):
    nview, mview = window.neighbours_view, window.map_view
    es = window.state.embedding_set
    target = 37
    click_point(qtbot, window, target)
    expected = brute_force(vectors, vectors[target], es.metric, 10, exclude=[target])
    assert shown_rows(nview) == expected.tolist()
    assert nview.model.rowCount() == 10
    assert nview.model.data(nview.model.index(0, 2)) == f"p{expected[0]}"
    assert nview.model.data(nview.model.index(0, 3)) == f"point number {expected[0]}"
    assert "p37" in nview.query_label.text()
    assert "10 neighbours in" in nview.status.text() and "exact" in nview.status.text()
    # the map rings exactly those items and puts the query star on the clicked point
    marks = window.state.neighbours
    np.testing.assert_array_equal(marks.rows, expected)
    xs, ys = mview.plot.nb_rings.getData()
    got = sorted(zip(xs.tolist(), ys.tolist()))
    want = sorted(zip(mview.coords[expected, 0].astype(float).tolist(),
                      mview.coords[expected, 1].astype(float).tolist()))
    np.testing.assert_allclose(got, want)
    qx, qy = mview.plot.nb_query.getData()
    np.testing.assert_allclose([qx[0], qy[0]], mview.coords[target])
    lx, ly = mview.plot.nb_lines.getData()
    assert len(lx) == 2 * len(expected)
    # the best neighbour has the biggest ring
    sizes = {int(p.data()): p.size() for p in mview.plot.nb_rings.points()}
    assert sizes[int(expected[0])] > sizes[int(expected[-1])]

    # another metric and k: still the numpy answer
    nview.metric_box.setCurrentIndex(nview.metric_box.findData("l2"))
    nview.k.blockSignals(True)
    nview.k.setValue(25)
    nview.k.blockSignals(False)
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview._params_changed()
    assert shown_rows(nview) == brute_force(vectors, vectors[target], "l2", 25,
                                            exclude=[target]).tolist()
    assert nview.model.headerData(1, Qt.Orientation.Horizontal) == "L2 dist."
    assert len(mview.plot.nb_rings.getData()[0]) == 25


def test_zoom_map_frames_the_query_and_its_neighbours(qtbot, window):
    mview = window.map_view
    click_point(qtbot, window, 37)
    mview.fit()
    full = mview.viewbox.viewRect()
    window.neighbours_view.zoom_map()
    rect = mview.viewbox.viewRect()
    rows = np.concatenate([[37], window.state.neighbours.rows])
    for x, y in mview.coords[rows]:
        assert rect.contains(float(x), float(y))
    assert rect.width() * rect.height() < full.width() * full.height()


def test_list_click_history_hover_and_select_these(qtbot, window, vectors):
    nview = window.neighbours_view
    state = window.state
    click_point(qtbot, window, 5)
    first = shown_rows(nview)
    chosen = first[2]
    table = nview.table
    index = nview.model.index(2, 2)
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                         pos=table.visualRect(index).center())
    assert state.current == chosen
    assert shown_rows(nview) == brute_force(vectors, vectors[chosen], state.embedding_set.metric,
                                            10, exclude=[chosen]).tolist()
    assert nview.back_action.isEnabled() and not nview.forward_action.isEnabled()
    assert nview.back_action.shortcut().toString() == "Alt+Left"
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview.back_action.trigger()
    assert state.current == 5 and shown_rows(nview) == first
    assert nview.forward_action.isEnabled()
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview.forward_action.trigger()
    assert state.current == chosen
    # hovering a neighbour marks it on the map
    table.entered.emit(nview.model.index(0, 2))
    assert state.hover == shown_rows(nview)[0]
    np.testing.assert_allclose(np.array(window.map_view.plot.hover_item.getData()).ravel(),
                               window.map_view.coords[state.hover])
    nview.select_button.click()
    np.testing.assert_array_equal(state.selection, sorted([chosen] + shown_rows(nview)))


def test_filter_inside_search_and_bad_filter_loses_nothing(qtbot, window, vectors):
    nview = window.neighbours_view
    metric = window.state.embedding_set.metric
    click_point(qtbot, window, 10)
    before = shown_rows(nview)
    nview.filter.setText("grp = 'b'")
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview.filter.returnPressed.emit()
    allowed = np.arange(N) % 3 == 1
    assert shown_rows(nview) == brute_force(vectors, vectors[10], metric, 10, exclude=[10],
                                            allowed=allowed).tolist()
    assert nview.match_label.text() == f"{allowed.sum()} of {N} rows match"
    filtered = shown_rows(nview)
    nview.filter.setText("grp = = 'b'")
    with qtbot.waitSignal(nview.searchFailed, timeout=WAIT):
        nview.filter.returnPressed.emit()
    assert nview.error_line.isVisible() and nview.error_line.text()
    assert "Traceback" not in nview.error_line.text()
    assert shown_rows(nview) == filtered and nview.filter.text() == "grp = = 'b'"
    assert window.last_dialog is None
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview.filter.clear()  # clearing the filter searches everything again
    assert shown_rows(nview) == before and not nview.error_line.isVisible()


def test_centroid_and_arithmetic_queries(qtbot, window, vectors):
    nview = window.neighbours_view
    metric = window.state.embedding_set.metric
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    pick = [3, 30, 300]
    window.state.select(pick)
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview.use_source(CENTROID)
    centre = (unit if metric == "cosine" else vectors)[pick].mean(axis=0)
    assert shown_rows(nview) == brute_force(vectors, centre, metric, 10, exclude=pick).tolist()
    assert "centroid of 3" in nview.query_label.text()
    # the query star sits at the mean map position of the selected items
    mview = window.map_view
    qx, qy = mview.plot.nb_query.getData()
    np.testing.assert_allclose([qx[0], qy[0]], mview.coords[pick].mean(axis=0), rtol=1e-5)
    # the selection follows: a new selection, a new centroid
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        window.state.select([7], SelectMode.ADD)
    assert "centroid of 4" in nview.query_label.text()

    nview.use_source("Arithmetic")
    assert nview.expr.isVisible()
    nview.expr.setText("#1 - p2 + #3")
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview.expr.returnPressed.emit()
    base = unit if metric == "cosine" else vectors
    q = base[1] - base[2] + base[3]
    assert shown_rows(nview) == brute_force(vectors, q, metric, 10, exclude=[1, 2, 3]).tolist()
    nview.expr.setText("#1 + nosuchitem")
    with qtbot.waitSignal(nview.searchFailed, timeout=WAIT):
        nview.expr.returnPressed.emit()
    assert "nosuchitem" in nview.error_line.text()
    assert shown_rows(nview) == brute_force(vectors, q, metric, 10, exclude=[1, 2, 3]).tolist()
    # the text source is there but off, and says why: these vectors came from no model here
    item = nview.source.model().item(nview.source.findText("Text"))
    qtbot.waitUntil(lambda: "looking" not in item.toolTip(), timeout=WAIT)
    assert not nview.text_available()
    assert "not available" in item.toolTip() and "not from an ONNX model" in item.toolTip()


def test_compare_tab_shows_three_lists_with_norms(qtbot, window, vectors):
    nview = window.neighbours_view
    compare = nview.compare_tab
    click_point(qtbot, window, 12)
    with qtbot.waitSignal(nview.compareFinished, timeout=WAIT):
        window.show_view("compare")
    assert nview.tabs.currentIndex() == 1
    lists = {}
    for metric, table in compare.tables.items():
        lists[metric] = table.rows_model.rows.tolist()
        assert lists[metric] == brute_force(vectors, vectors[12], metric, 10, exclude=[12]).tolist()
        norms = [float(table.rows_model.data(table.rows_model.index(i, 2)))
                 for i in range(table.rows_model.rowCount())]
        np.testing.assert_allclose(norms, np.linalg.norm(vectors[lists[metric]], axis=1), rtol=1e-3)
    text = compare.overlap_label.text()
    shared = len(set(lists["cosine"]) & set(lists["dot"]))
    assert "cosine&nbsp;∩&nbsp;dot <b style='color:" in text and f">{shared}/10</b>" in text
    # what the label shows: the ∩ stands apart ("cosinendot" is what users read before)
    doc = QTextDocument()
    doc.setHtml(text)
    shown_text = doc.toPlainText().replace("\xa0", " ")
    assert f"cosine ∩ dot {shared}/10" in shown_text and "cosine ∩ L2" in shown_text
    assert "query norm" in compare.norms_label.text() and compare.explanation.text()
    everywhere = set(lists["cosine"]) & set(lists["dot"]) & set(lists["l2"])
    model = compare.tables["dot"].rows_model
    for i, row in enumerate(lists["dot"]):
        font = model.data(model.index(i, 1), Qt.ItemDataRole.FontRole)
        assert (font is not None and font.bold()) == (row in everywhere)
        only_here = row not in set(lists["cosine"]) | set(lists["l2"])
        assert (model.data(model.index(i, 1), Qt.ItemDataRole.BackgroundRole) is not None) == only_here
    # clicking an item in a list makes it the query
    row = lists["dot"][4]
    with qtbot.waitSignal(nview.compareFinished, timeout=WAIT):
        compare.tables["dot"].rowChosen.emit(row)
    assert window.state.current == row
    assert nview.comparison.query.rows == [row]


def test_hubness_counts_and_colouring_the_map(qtbot, window, vectors):
    nview, mview = window.neighbours_view, window.map_view
    hub = nview.hubness_tab
    window.show_view("hubness")
    assert nview.tabs.currentIndex() == 2
    hub.k.setValue(5)
    hub.metric_box.setCurrentIndex(hub.metric_box.findData("l2"))
    with qtbot.waitSignal(nview.hubnessFinished, timeout=WAIT):
        hub.compute_button.click()
    counts = nview.hubness.counts
    assert counts.sum() == N * 5
    # the k-occurrence equals counting numpy's 5 nearest (L2) of every item
    d2 = ((vectors[:, None, :].astype(np.float64) - vectors[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    reference = np.bincount(np.argsort(d2, axis=1)[:, :5].ravel(), minlength=N)
    np.testing.assert_array_equal(counts, reference)
    assert f"{int((reference == 0).sum()):,}</b> anti-hubs" in hub.summary.text()
    assert hub.hubs_table.rows_model.row_at(0) == int(np.argmax(reference))
    assert mview.colour.findText(HUBNESS) >= 0  # offered on the map once computed
    with qtbot.waitSignal(mview.renderFinished, timeout=WAIT):
        hub.colour_button.click()
    assert mview.colour.currentText() == HUBNESS
    assert window.state.colour_by == HUBNESS
    np.testing.assert_array_equal(mview.colouring.values, counts)
    assert mview.colouring.vmax == pytest.approx(np.percentile(counts, 99))
    assert "k-occurrence" in mview.colour_bar.text()


def test_new_set_clears_everything_and_drops_late_results(qtbot, window, tmp_path, monkeypatch):
    from explorer.compute import neighbours as nb

    nview, mview = window.neighbours_view, window.map_view
    click_point(qtbot, window, 3)
    assert len(mview.plot.nb_rings.getData()[0]) == 10
    real = nb.search

    def slow(*args, **kwargs):  # finishes after the switch and ignores the cancel
        time.sleep(1.0)
        return real(*args, **{**kwargs, "state": None})

    monkeypatch.setattr(nb, "search", slow)
    window.state.set_current(4)  # a slow search for the old set
    small = tmp_path / "small.npy"
    np.save(small, np.random.default_rng(1).normal(size=(60, 5)).astype(np.float32))
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_paths([str(small)])
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)
    assert nview.result is None and nview.model.rowCount() == 0
    assert window.state.neighbours is None
    assert len(mview.plot.nb_rings.getData()[0]) == 0 and len(mview.plot.nb_query.getData()[0]) == 0
    assert not nview.back_action.isEnabled()
    assert window.last_dialog is None


def test_approximate_search_shows_index_and_measured_recall(qtbot, window, vectors):
    nview = window.neighbours_view
    click_point(qtbot, window, 21)
    assert "exact scan" in nview.index_label.text()
    nview.exact.setCurrentIndex(nview.exact.findData(False))
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview._params_changed()
    info = nview.result.index
    assert not info.exact and info.kind in ("hnsw", "ivf")
    text = nview.index_label.text()
    assert info.kind.upper() in text and f"recall@10 {info.recall_at_10:.3f}" in text
    assert f"({info.recall_queries:,} sampled queries)" in text
    assert "approximate" in nview.status.text()
    truth = brute_force(vectors, vectors[21], window.state.embedding_set.metric, 10, exclude=[21])
    assert len(set(shown_rows(nview)) & set(truth.tolist())) >= 8


def test_hubness_says_it_counted_the_maps_graph_and_exact_asks_for_a_search(qtbot, window):
    from explorer.compute import knn_store
    from explorer.compute.projection.knn_graph import all_knn
    from explorer.core.jobs import TaskState

    nview = window.neighbours_view
    hub = nview.hubness_tab
    es = hub.es
    graph, _ = all_knn(es.vectors, "cosine", 16, TaskState())
    graph.method = "pivot"  # as a map's join says: approximate (this one happens to be exact)
    assert knn_store.save_graph(es, graph, made_by="map")
    window.show_view("hubness")
    hub.k.setValue(5)
    hub.metric_box.setCurrentIndex(hub.metric_box.findData("cosine"))
    with qtbot.waitSignal(nview.hubnessFinished, timeout=WAIT):
        hub.compute_button.click()
    assert nview.hubness.source == "map graph" and not nview.hubness.exact
    assert "approximate: the map's neighbour graph, 100% of true neighbours" in hub.summary.text()
    hub.exact_box.setChecked(True)
    with qtbot.waitSignal(nview.hubnessFinished, timeout=WAIT):
        hub.compute_button.click()
    assert nview.hubness.exact and "exact neighbour graph" in hub.summary.text()
    assert "approximate" not in hub.summary.text()


def test_graph_text_never_calls_an_approximate_graph_exact():
    from explorer.ui.panels.neighbours.hubness_tab import graph_text

    assert graph_text("exact", True, None) == "exact neighbour graph"
    assert graph_text("pivot graph", False, 0.934) == \
        "approximate: a joined neighbour graph (kept for maps), 93% of true neighbours found " \
        "in a sample"
    assert graph_text("hnsw", False, None) == "approximate: the HNSW index, recall not measured"


def test_hubness_can_be_stopped(qtbot, window, monkeypatch):
    import threading

    from explorer.compute import hubness

    started = threading.Event()

    def endless(es, k=10, metric=None, state=None, exact=False):
        started.set()
        while True:
            time.sleep(0.01)
            state.progress(0.5)  # raises once cancelled

    monkeypatch.setattr(hubness, "k_occurrence", endless)
    nview = window.neighbours_view
    hub = nview.hubness_tab
    window.show_view("hubness")
    hub.compute_button.click()
    assert started.wait(10)
    assert hub.compute_button.text() == "Stop"
    hub.compute_button.click()
    # other panels' jobs (the map, the Norms plugin) finish meanwhile too: wait for this one
    qtbot.waitUntil(lambda: hub.compute_button.text() == "Compute", timeout=WAIT)
    assert hub.summary.text() == "Stopped."
    assert nview.hubness is None and not hub.message.isVisible()


def test_queries_while_an_index_builds_do_not_restart_it(qtbot, window, vectors, monkeypatch):
    from explorer.compute import neighbours as nb

    nview, mview = window.neighbours_view, window.map_view
    builds = []
    real_open = nb.open_index

    def slow_open(es, metric=None, kind="auto", state=None):
        if not nb.is_open(es, metric, kind):  # a build (searches reopen it from memory)
            builds.append(kind)
            for _ in range(20):  # one that takes a while and can be cancelled
                time.sleep(0.02)
                state.check()
        return real_open(es, metric, kind, state)

    monkeypatch.setattr(nb, "open_index", slow_open)
    nview.exact.setCurrentIndex(nview.exact.findData(False))  # approximate: not open yet
    for row in (3, 8, 12):  # three clicks while the index builds
        x, y = (float(c) for c in mview.coords[row])
        mview.gestures.clicked(x, y, Qt.KeyboardModifier.NoModifier)
        nview.search()
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        pass
    assert len(builds) == 1  # one build, never cancelled and restarted
    assert nview.result.query.rows == [12]  # and the answer is for the newest query
    assert not nview.result.index.exact


def test_typed_text_is_encoded_by_the_set_s_own_model(qtbot, tmp_path, explorer_home):
    from explorer.compute.encoding.model_folder import models_dir
    from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
    from explorer.compute.encoding.text_encoder import TextEncoder

    from onnx_models import bert_like, write_folder

    write_folder(models_dir() / "tiny", bert_like(dim=16))
    words = ["the", "cat", "dog", "sat", "on", "mat", "runs", "fast", "slow", "red", "blue"]
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(words, rng.integers(2, 7))) for _ in range(300)]
    table = tmp_path / "texts.parquet"
    pq.write_table(pa.table({"title": texts}), table)
    library = Library(explorer_home)
    entry = encode_inputs([table], EncodeOptions(model="tiny", column="title"), library).entry
    win = MainWindow(library, restore=False)
    qtbot.addWidget(win)
    win.show()
    win.show_view("neighbours")
    nview = win.neighbours_view
    with qtbot.waitSignal(win.map_view.renderFinished, timeout=WAIT):
        win.open_library_set(entry.id)
    qtbot.waitUntil(nview.text_available, timeout=WAIT)
    nview.use_source("Text")
    assert nview.expr.isVisible() and "Type what" in nview.expr.placeholderText()
    nview.expr.setText("red dog runs")
    with qtbot.waitSignal(nview.searchFinished, timeout=WAIT):
        nview.expr.returnPressed.emit()
    es = nview.es
    q = TextEncoder(models_dir() / "tiny").encode(["red dog runs"], kind="query")[0]
    v = np.asarray(es.vectors, dtype=np.float64)
    cos = v @ q / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))
    best = cos[brute_force(v, q, "cosine", 10)]  # texts repeat here: compare scores, not rows
    np.testing.assert_allclose(cos[shown_rows(nview)], best, atol=1e-5)
    assert "red dog runs" in nview.query_label.text()
    # arithmetic keeps its own line; going back to text brings the typed text back
    nview.use_source("Arithmetic")
    assert nview.expr.text() == ""
    nview.use_source("Text")
    assert nview.expr.text() == "red dog runs"
    win.jobs.shutdown()


# --- the panel alone -------------------------------------------------------------------------
def library_set(library, vectors, name):
    meta = pa.table({"id": [f"{name}{i}" for i in range(len(vectors))],
                     "text": [f"a longer text that describes item {i} of {name}"
                              for i in range(len(vectors))]})
    entry = library.import_set(EmbeddingSet(vectors, meta, name=name, format="test", source=[],
                                            metric="cosine", id_column="id",
                                            text_column="text"))
    return library.open(entry.id)


@pytest.fixture
def panel(qtbot, explorer_home):
    state, runner, library = AppState(), JobRunner(), Library(explorer_home)
    view = NeighboursView(PanelContext(state, runner, library))
    qtbot.addWidget(view)
    view.resize(360, 700)
    view.show()
    yield view, library
    runner.shutdown()


def test_a_search_answered_after_the_set_changed_is_dropped(qtbot, panel, vectors, monkeypatch):
    from explorer.compute import neighbours as nb

    view, library = panel
    state = view.state
    first = library_set(library, vectors, "first")
    second = library_set(library, vectors[:50], "second")
    state.set_set(first)
    real, started = nb.search, []

    def slow(*args, **kwargs):  # answers after the switch, and ignores the cancel
        started.append(True)
        time.sleep(0.5)
        return real(*args, **{**kwargs, "state": None})

    monkeypatch.setattr(nb, "search", slow)
    answered = []
    view.searchFinished.connect(answered.append)
    view.searchFailed.connect(answered.append)
    state.set_current(3)
    qtbot.waitUntil(lambda: bool(started), timeout=WAIT)
    state.set_set(second)  # while the search for the first set runs
    qtbot.waitUntil(lambda: not view.jobs.running("search"), timeout=WAIT)
    qtbot.wait(100)
    assert answered == [] and view.result is None and view.model.rowCount() == 0
    assert state.neighbours is None and not view.error_line.isVisible()
    # the same panel answers the new set
    monkeypatch.setattr(nb, "search", real)
    with qtbot.waitSignal(view.searchFinished, timeout=WAIT):
        state.set_current(7)
    assert view.result.query.rows == [7] and view.model.rowCount() == 10


def test_list_columns_read_in_a_narrow_panel(qtbot, panel, vectors):
    """At 360 px no text column of the neighbour, hub or anti-hub lists is cut to a dozen
    characters (the score columns keep what they need)."""
    view, library = panel
    view.state.set_set(library_set(library, vectors, "narrow"))
    with qtbot.waitSignal(view.searchFinished, timeout=WAIT):
        view.state.set_current(3)
    dozen = 13 * view.table.fontMetrics().horizontalAdvance("0")
    assert view.table.columnWidth(2) >= dozen and view.table.columnWidth(3) >= dozen
    view.tabs.setCurrentIndex(2)
    with qtbot.waitSignal(view.hubnessFinished, timeout=WAIT):
        view.compute_hubness()
    qtbot.wait(50)
    for table in (view.hubness_tab.hubs_table, view.hubness_tab.antihubs_table):
        assert table.columnWidth(1) >= dozen


def test_settings_come_back_and_bad_ones_are_noted(qtbot, panel, vectors):
    view, library = panel
    view.state.set_set(library_set(library, vectors, "kept"))
    view.k.setValue(17)
    view.metric_box.setCurrentIndex(view.metric_box.findData("l2"))
    saved = view.settings()
    assert saved["k"] == 17 and saved["metric"] == "l2"
    view.k.setValue(5)
    assert view.apply_settings(saved) == [] and view.k.value() == 17
    notes = view.apply_settings({"k": "many", "metric": "manhattan", "tab": "nowhere",
                                 "source": ["current"], "filter": 3})
    assert len(notes) == 5 and view.k.value() == 17 and view.metric_box.currentData() == "l2"
