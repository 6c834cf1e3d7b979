"""UMAP's settings in the map's toolbar, remembered per set; the phases of a projection
named while it runs; partial layouts fitted to the view as they arrive."""

import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.library import Library
from explorer.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, explorer_home):
    win = MainWindow(Library(explorer_home))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    win.show_view("map")
    yield win
    win.jobs.shutdown()


@pytest.fixture
def vectors_file(tmp_path):
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(300, 12)) + rng.integers(0, 3, size=(300, 1)) * 4).astype(np.float32)
    path = tmp_path / "vectors.parquet"
    pq.write_table(pa.table({"id": [f"v{i}" for i in range(len(x))], "vec": list(x)}), path)
    return path


def open_set(qtbot, window, path):
    with qtbot.waitSignal(window.map_view.renderFinished, timeout=60000):
        window.open_paths([str(path)])
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=60000)
    return window.map_view


def test_umap_settings_map_the_set_and_come_back_with_it(qtbot, window, vectors_file):
    view = open_set(qtbot, window, vectors_file)
    settings = view.toolbar.layout_settings
    assert view.method.currentText() == "PCA" and not settings.isVisibleTo(view)
    view.method.setCurrentText("UMAP")
    qtbot.waitUntil(lambda: settings.isVisibleTo(view), timeout=5000)  # offered for UMAP only
    settings.neighbours.setValue(7)
    settings.min_dist.setValue(0.35)
    settings.metric_box.setCurrentText("euclidean")
    settings.seed.setValue(3)
    assert settings.refine.isChecked()  # every point optimised unless unticked
    settings.refine.setChecked(False)
    with qtbot.waitSignal(view.renderFinished, timeout=120000):
        settings.map_button.click()
    qtbot.waitUntil(lambda: view.projection_params is not None
                    and view.projection_params.method == "umap", timeout=120000)
    params = view.projection_params
    assert (params.n_neighbors, params.min_dist, params.metric, params.seed, params.refine) == \
        (7, 0.35, "euclidean", 3, False)
    es = window.state.embedding_set
    window.state.set_set(None)
    settings.neighbours.setValue(30)
    settings.refine.setChecked(True)
    window.state.set_set(es)  # the set reopens with the layout it was left with
    qtbot.waitUntil(lambda: view.projection_params is not None
                    and view.projection_params.method == "umap", timeout=120000)
    assert settings.values() == {"n_neighbors": 7, "min_dist": 0.35, "metric": "euclidean",
                                 "seed": 3, "refine": False}


def test_phases_are_named_and_partial_layouts_fitted_until_the_user_moves(
        qtbot, window, vectors_file, monkeypatch):
    from explorer.compute import projection
    from explorer.compute.projection import ProjectionParams

    view = open_set(qtbot, window, vectors_file)
    real = projection.cached_project
    go_on, partial_seen = threading.Event(), threading.Event()

    def staged(es, params, state):
        state.status("UMAP: finding 15 nearest neighbours of 300 rows")
        state.progress(0.4)
        go_on.wait(30)
        go_on.clear()
        rng = np.random.default_rng(0)
        for scale in (1.0, 50.0):  # each layout spreads further
            state.partial(rng.normal(size=(es.count, 2)).astype(np.float32) * scale)
            partial_seen.set()
            go_on.wait(30)
            go_on.clear()
        return real(es, params, state)

    monkeypatch.setattr(projection, "cached_project", staged)
    view.compute_projection(ProjectionParams(method="pca"))
    qtbot.waitUntil(lambda: "nearest neighbours" in view.info.text()
                    and "40%" in view.info.text(), timeout=30000)  # the old layout stays
    go_on.set()
    qtbot.waitUntil(partial_seen.is_set, timeout=30000)
    qtbot.waitUntil(lambda: view.viewbox.viewRect().width() > 2, timeout=30000)
    small = view.viewbox.viewRect().width()
    partial_seen.clear()
    go_on.set()
    qtbot.waitUntil(lambda: view.viewbox.viewRect().width() > 20 * small, timeout=30000)
    # once the user pans or zooms, the next layouts leave the view alone
    view.viewbox.sigRangeChangedManually.emit([True, True])
    assert not view._follow


def test_an_empty_map_names_the_phase_in_its_middle(qtbot, window, vectors_file, monkeypatch):
    from explorer.compute import projection

    released = threading.Event()

    def slow(es, params, state):
        state.status("UMAP: building the fuzzy graph")
        state.progress(0.55)
        released.wait(30)
        raise RuntimeError("stopped here")

    monkeypatch.setattr(projection, "cached_project", slow)
    window.open_paths([str(vectors_file)])
    view = window.map_view
    qtbot.waitUntil(lambda: "fuzzy graph… 55%" in view.plot.message.toPlainText(),
                    timeout=30000)
    released.set()
    qtbot.waitUntil(lambda: view.error_line.isVisible(), timeout=30000)
    assert view.plot.message.toPlainText() == ""
