"""The vector-stats plugin (plugins/vector-stats): a panel contributed by a plugin, on a real
set, and the TwoNN estimate it shows checked against sets of known intrinsic dimension.

Skipped unless the plugin is installed (`pip install -e plugins/vector-stats`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("explorer_vector_stats")

from explorer_vector_stats import stats
from explorer_vector_stats.panel import DERIVED, NormsPanel
from PySide6.QtCore import Qt

from explorer import plugins
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import TaskState
from explorer.core.library import Library
from explorer.ui.panels import catalogue
from explorer.ui.panels.base import PanelContext
from explorer.ui.state import AppState
from explorer.ui.workers import JobRunner

WAIT = 60000


def _plane(n: int, ambient: int = 20, seed: int = 0) -> np.ndarray:
    """Points spread over a 2-D square, placed in `ambient` dimensions by a random rotation."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(ambient, 2)))
    return (rng.uniform(-1, 1, size=(n, 2)) @ basis.T + rng.normal(size=ambient)) \
        .astype(np.float32)


def test_two_nn_reads_a_plane_in_20_dimensions_as_two():
    dim = stats.two_nn(_plane(3000))
    assert abs(dim.estimate - 2) < 0.3, dim
    assert dim.rows == 3000 and dim.duplicates == 0


def test_two_nn_reads_a_5d_gaussian_as_five():
    rng = np.random.default_rng(1)
    basis, _ = np.linalg.qr(rng.normal(size=(32, 5)))
    x = rng.normal(size=(3000, 5)) @ basis.T
    assert abs(stats.two_nn(x).estimate - 5) < 1


def test_two_nn_leaves_duplicates_out_and_needs_three_rows():
    x = _plane(500)
    dim = stats.two_nn(np.vstack([x, x[:10]]))
    assert dim.duplicates == 20 and dim.rows == 490  # both twins have a neighbour at 0
    assert abs(dim.estimate - 2) < 0.5
    assert np.isnan(stats.two_nn(x[:2]).estimate)


def test_norms_summarise_the_lengths():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1000, 16)).astype(np.float32)
    x[:5] = 0
    norms = stats.norms(x)
    np.testing.assert_allclose(norms.values, np.linalg.norm(x, axis=1), rtol=1e-6)
    assert norms.counts.sum() == 1000 and len(norms.edges) == stats.BINS + 1
    assert norms.zeros == 5 and norms.minimum == 0 and not norms.unit
    assert norms.low < norms.median < norms.high <= norms.maximum
    unit = stats.norms(x[5:] / np.linalg.norm(x[5:], axis=1, keepdims=True))
    assert unit.unit and unit.low < 1 < unit.high  # a colour range even when all are equal


def test_measure_gives_the_lengths_first_then_the_dimension_in_the_sets_distance():
    x = _plane(stats.SAMPLE + 500)  # its offset from the origin varies the lengths
    es = EmbeddingSet(x, pa.table({"id": [str(i) for i in range(len(x))]}),
                      name="plane", format="test", source=[], metric="l2")
    partial = []
    result = stats.measure(es, TaskState(on_partial=partial.append))
    assert len(partial) == 1 and partial[0].dimension is None
    assert result.distance == "Euclidean" and result.sampled
    assert result.dimension.rows == stats.SAMPLE
    assert abs(result.dimension.estimate - 2) < 0.3
    np.testing.assert_allclose(result.norms.values, np.linalg.norm(x, axis=1), rtol=1e-5)


@pytest.fixture
def library_set(explorer_home):
    """A small set imported into the library (memory-mapped vectors) whose lengths vary."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 24)) * np.linspace(0.5, 4, 400)[:, None]
    library = Library(explorer_home)
    meta = pa.table({"id": [f"r{i}" for i in range(400)]})
    entry = library.import_set(EmbeddingSet(x.astype(np.float32), meta, name="lengths",
                                            format="test", source=[], metric="cosine",
                                            id_column="id"))
    return library, library.open(entry.id)


@pytest.fixture
def panel(qtbot, library_set):
    library, _es = library_set
    runner = JobRunner()
    view = NormsPanel(PanelContext(AppState(), runner, library))
    qtbot.addWidget(view)
    yield view
    runner.shutdown()


def test_the_panel_is_a_plugin_contribution():
    entry = plugins.reload().find("panel", "norms")
    assert entry is not None and not entry.origin.builtin
    assert entry.origin.distribution == "embedding-explorer-vector-stats"
    classes = catalogue.panel_classes()
    assert NormsPanel in classes[7:]  # after the built-ins


def test_the_panel_measures_a_real_set_and_colours_the_map(qtbot, panel, library_set):
    _library, es = library_set
    state = panel.state
    state.set_set(es)  # hidden: nothing runs until the panel is in view
    assert not panel.job.running() and panel.stats is None
    panel.resize(700, 400)
    panel.show()
    qtbot.waitUntil(lambda: panel.stats is not None and panel.stats.dimension is not None,
                    timeout=WAIT)
    lengths = np.linalg.norm(np.asarray(es.vectors, dtype=np.float64), axis=1)
    result = panel.stats
    np.testing.assert_allclose(result.norms.values, lengths, rtol=1e-5)
    assert result.norms.counts.sum() == es.count and result.distance == "cosine"
    assert not result.sampled and result.dimension.rows == es.count
    bars = [item for item in panel.plot.getPlotItem().items
            if type(item).__name__ == "BarGraphItem"]
    assert len(bars) == 1
    text = panel.summary.text()
    assert "400 vectors" in text and "intrinsic dimension ≈" in text and "of 24" in text
    assert panel.colour_button.isEnabled()
    with qtbot.waitSignal(state.viewRequested, timeout=WAIT) as asked:
        qtbot.mouseClick(panel.colour_button, Qt.MouseButton.LeftButton)
    assert asked.args == ["map"]
    assert state.colour_by == DERIVED
    derived = state.derived[DERIVED]
    np.testing.assert_allclose(derived.values, lengths, rtol=1e-5)
    assert derived.vmin == pytest.approx(np.percentile(lengths, 1), rel=1e-4)
    assert derived.vmax == pytest.approx(np.percentile(lengths, 99), rel=1e-4)


def test_a_new_set_clears_the_panel_and_measures_again(qtbot, panel, library_set):
    _library, es = library_set
    panel.show()
    panel.state.set_set(es)
    qtbot.waitUntil(lambda: panel.stats is not None and panel.stats.dimension is not None,
                    timeout=WAIT)
    panel.state.set_set(None)
    assert panel.stats is None and not panel.colour_button.isEnabled()
    assert not panel.measure_button.isEnabled() and "Open a set" in panel.summary.text()


def test_in_the_window_the_panel_is_a_dock_and_colours_the_map(qtbot, library_set):
    from PySide6.QtWidgets import QComboBox

    from explorer.ui.main_window import MainWindow

    library, es = library_set
    win = MainWindow(library, restore=False, panels=catalogue.panel_classes())
    qtbot.addWidget(win)
    try:
        win.show()
        assert "norms" in win.docks  # from its area, like every built-in panel
        with qtbot.waitSignal(win.state.setChanged, timeout=WAIT):
            win.open_library_set(es.library_id)
        norms = win.panels["norms"]
        win.show_view("norms")
        qtbot.waitUntil(lambda: norms.stats is not None and norms.stats.dimension is not None,
                        timeout=WAIT)
        qtbot.mouseClick(norms.colour_button, Qt.MouseButton.LeftButton)
        assert win.state.colour_by == DERIVED
        combos = win.panels["map"].findChildren(QComboBox)
        qtbot.waitUntil(lambda: any(c.currentText() == DERIVED for c in combos), timeout=WAIT)
    finally:
        win.jobs.shutdown()
