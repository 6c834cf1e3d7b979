"""The map view: projection on open, lasso / box / click selection linked to the table."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import Qt

from explorer.core.library import Library
from explorer.ui.main_window import MainWindow


def inside_polygon(px, py, xs, ys):
    """Plain even-odd ray casting, one point at a time: the reference."""
    inside = False
    j = len(xs) - 1
    for i in range(len(xs)):
        if (ys[i] > py) != (ys[j] > py) and \
                px < (xs[j] - xs[i]) * (py - ys[i]) / (ys[j] - ys[i]) + xs[i]:
            inside = not inside
        j = i
    return inside


@pytest.fixture
def window(qtbot, explorer_home):
    win = MainWindow(Library(explorer_home))
    qtbot.addWidget(win)
    win.show()
    win.show_view("map")
    yield win
    win.jobs.shutdown()


@pytest.fixture
def plane_file(tmp_path):
    """A 2-D set is shown as it is, so map coordinates are known exactly."""
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(4000, 2)).astype(np.float32)
    path = tmp_path / "plane.parquet"
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(len(xy))],
                             "side": np.where(xy[:, 0] > 0, "east", "west"),
                             "vec": list(xy)}), path)
    return path, xy


def open_map(qtbot, window, path):
    with qtbot.waitSignal(window.map_view.renderFinished, timeout=60000):
        window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.map_view.index is not None, timeout=30000)


def test_two_d_set_is_shown_as_is_with_legend(qtbot, window, plane_file):
    path, xy = plane_file
    open_map(qtbot, window, path)
    view = window.map_view
    np.testing.assert_array_equal(view.coords, xy)
    assert view.projection_info["method"] == "identity"
    assert not view.method.isEnabled()
    assert view.colour.currentText() == "(no colour)"
    view.colour.setCurrentText("side")
    view.colour.activated.emit(view.colour.currentIndex())  # as a choice in the menu
    # the legend, not any render: the index built after open may finish a render first
    qtbot.waitUntil(lambda: view.legend.count() == 2, timeout=30000)
    labels = [view.legend.item(i).text() for i in range(view.legend.count())]
    assert sorted(t.split()[0] for t in labels) == ["east", "west"]
    assert view.plot.base_item.image is not None


def test_lasso_selects_exactly_the_points_inside_and_table_follows(qtbot, window, plane_file):
    path, xy = plane_file
    open_map(qtbot, window, path)
    angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    radius = 1.0 + 0.4 * np.sin(5 * angles)  # a concave star
    xs, ys = radius * np.cos(angles), radius * np.sin(angles)
    window.map_view.gestures.shape_finished("lasso", xs, ys, Qt.KeyboardModifier.NoModifier)
    expected = [i for i, (x, y) in enumerate(xy) if inside_polygon(x, y, xs, ys)]
    np.testing.assert_array_equal(window.state.selection, expected)
    table_rows = sorted({i.row() for i in window.table_view.table.selectionModel().selectedRows()})
    assert table_rows == expected
    # Shift adds a box, Ctrl subtracts one
    window.map_view.gestures.shape_finished("box", np.array([2.0, 3.0]), np.array([2.0, 3.0]),
                                    Qt.KeyboardModifier.ShiftModifier)
    in_box = [i for i, (x, y) in enumerate(xy) if 2 <= x <= 3 and 2 <= y <= 3]
    np.testing.assert_array_equal(window.state.selection, sorted(set(expected) | set(in_box)))
    window.map_view.gestures.shape_finished("box", np.array([-5.0, 5.0]), np.array([0.0, 5.0]),
                                    Qt.KeyboardModifier.ControlModifier)
    assert all(xy[r, 1] < 0 for r in window.state.selection)


def test_click_picks_nearest_point_and_table_selection_draws_on_map(qtbot, window, plane_file):
    path, xy = plane_file
    open_map(qtbot, window, path)
    view = window.map_view
    target = 123
    view.gestures.clicked(float(xy[target, 0]) + 1e-4, float(xy[target, 1]), Qt.KeyboardModifier.NoModifier)
    np.testing.assert_array_equal(window.state.selection, [target])
    assert window.state.current == target
    assert "p123" in window.item_view.browser.toPlainText()
    table = window.table_view.table
    index = table.model().index(7, 0)
    table.scrollTo(index)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=table.visualRect(index).center())
    # (a render snapshotted before the clicks may finish first: wait for the selection's)
    qtbot.waitUntil(lambda: view.plot.overlay_item.image is not None, timeout=30000)
    np.testing.assert_array_equal(window.state.selection, [7])


def test_high_dimensional_set_gets_a_pca_map_and_fidelity(qtbot, window, tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path / "digits.parquet"
    pq.write_table(pa.table({"digit": digits.target.astype(str),
                             "pixels": list(digits.data.astype(np.float32))}), path)
    open_map(qtbot, window, path)
    view = window.map_view
    assert view.projection_info["method"] == "pca"
    assert view.coords.shape == (len(digits.data), 2)
    with qtbot.waitSignal(view.renderFinished, timeout=60000):
        assert view.colour_by("Map fidelity (k-NN overlap)")
    qtbot.waitUntil(lambda: "trustworthiness" in view.info.text(), timeout=60000)
    assert view.fidelity.shape == (len(digits.data),)
    assert 0.0 <= float(np.nanmean(view.fidelity)) <= 1.0


def test_export_view_selection_and_coordinates(qtbot, window, plane_file, tmp_path, monkeypatch):
    import pyarrow.parquet as pq_
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QFileDialog

    path, xy = plane_file
    open_map(qtbot, window, path)
    view = window.map_view
    png = tmp_path / "view.png"
    view.export_view(str(png), width=800)
    assert QImage(str(png)).width() == 800
    window.state.select([5, 9])
    target = tmp_path / "sel.parquet"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    view.export_selection()
    qtbot.waitUntil(target.exists, timeout=10000)
    assert pq_.read_table(target).column("id").to_pylist() == ["p5", "p9"]
    target = tmp_path / "xy.parquet"
    view.export_coordinates()
    qtbot.waitUntil(target.exists, timeout=10000)
    np.testing.assert_array_equal(pq_.read_table(target).column("x").to_numpy(), xy[:, 0])


def test_results_for_a_previous_set_are_dropped(qtbot, window, plane_file, tmp_path, monkeypatch):
    import time

    from explorer.ui.panels.map import panel as map_view

    path, _xy = plane_file
    view = window.map_view
    # no cluster labels: naming them is no part of this test, and in a cold process (numba
    # compiling the clustering) it can outlast the wait for the jobs below
    view.labels.restore({"identity": False}, None)
    open_map(qtbot, window, path)
    real = map_view.colouring_for
    monkeypatch.setattr(map_view, "colouring_for",  # slow, so it finishes after the switch
                        lambda *a, **k: (time.sleep(1.0), real(*a, **k))[1])
    assert view.colour_by("side")
    small = tmp_path / "small.npy"
    np.save(small, np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32))
    with qtbot.waitSignal(view.renderFinished, timeout=60000):
        window.open_paths([str(small)])  # the colouring job of the first set may still finish
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=30000)
    assert view.coords.shape == (50, 2)
    assert view.colouring is None and view.legend.count() == 0
    assert window.last_dialog is None
    window.state.set_set(None)
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=30000)
    assert view.coords is None and view.plot.base_item.image is None


def test_neighbour_marks_wait_for_coordinates_and_clear_with_the_set(qtbot, window, plane_file):
    from explorer.ui.state import NeighbourMarks

    path, xy = plane_file
    view = window.map_view
    with qtbot.waitSignal(window.state.setChanged, timeout=60000):
        window.open_paths([str(path)])
    # marks can arrive before the map has coordinates: they are drawn once it has them
    window.state.set_neighbours(NeighbourMarks.of([3, 9], [10, 11, 12]))
    qtbot.waitUntil(lambda: view.coords is not None and len(view.plot.nb_rings.getData()[0]) == 3,
                    timeout=60000)
    xs, ys = view.plot.nb_rings.getData()
    assert sorted(zip(xs.tolist(), ys.tolist())) == \
        sorted(map(tuple, xy[[10, 11, 12]].astype(float).tolist()))
    qx, qy = view.plot.nb_query.getData()  # a two-item query sits at their mean position
    np.testing.assert_allclose([qx[0], qy[0]], xy[[3, 9]].mean(axis=0), rtol=1e-6)
    lx, ly = view.plot.nb_lines.getData()
    np.testing.assert_allclose(lx[1::2], xs)  # one line from the query to each ring
    assert view.plot.base_item.opacity() == 1  # the map fades only on demand (Dim)
    window.state.set_neighbours(NeighbourMarks.of([], [5]))  # no query items: rings only
    assert len(view.plot.nb_query.getData()[0]) == 0 and len(view.plot.nb_lines.getData()[0]) == 0
    assert len(view.plot.nb_rings.getData()[0]) == 1
    window.state.set_neighbours(None)
    assert len(view.plot.nb_rings.getData()[0]) == 0 and view.plot.base_item.opacity() == 1
    window.state.set_neighbours(NeighbourMarks.of([1], [2, 3]))
    window.state.set_set(None)
    assert len(view.plot.nb_rings.getData()[0]) == 0 and len(view.plot.nb_query.getData()[0]) == 0


def test_derived_values_can_colour_the_map(qtbot, window, plane_file):
    from explorer.ui.state import Derived

    path, xy = plane_file
    open_map(qtbot, window, path)
    view = window.map_view
    values = np.arange(len(xy), dtype=np.float32)
    window.state.set_derived("score", Derived(values, 0.0, 100.0, note="clipped at 100"))
    assert view.colour.findText("score") == view.colour.count() - 2  # before map fidelity
    with qtbot.waitSignal(view.renderFinished, timeout=30000):
        window.state.set_colour_by("score")  # another view asks for it
    assert view.colour.currentText() == "score"
    assert view.colouring.kind == "numeric" and view.colouring.vmax == 100.0
    np.testing.assert_array_equal(view.colouring.values, values)
    assert "clipped at 100" in view.colour_bar.text()
    x, y = xy[42]
    qtbot.waitUntil(lambda: view.index is not None, timeout=30000)
    assert "score</span> 42" in view.hover_text(42)
    window.state.set_derived("score", None)  # withdrawn: the map goes back to no colour
    assert view.colour.findText("score") < 0 and view.colour.currentText() == "(no colour)"
    assert view.colouring is None


def test_projection_for_a_set_left_meanwhile_is_dropped(qtbot, window, plane_file, monkeypatch):
    import threading

    from explorer.compute import projection
    from explorer.compute.projection import ProjectionParams

    path, xy = plane_file
    open_map(qtbot, window, path)
    view = window.map_view
    real = projection.cached_project
    computed, left, returned = threading.Event(), threading.Event(), threading.Event()

    def late(es, params, state):  # done while the set is shown, delivered once it is left
        result = real(es, params, state)
        computed.set()
        left.wait(30)
        returned.set()
        return result

    monkeypatch.setattr(projection, "cached_project", late)
    view.compute_projection(ProjectionParams(method="pca"))
    qtbot.waitUntil(computed.is_set, timeout=30000)
    window.state.set_set(None)
    left.set()
    qtbot.waitUntil(returned.is_set, timeout=30000)
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=30000)
    assert view.coords is None and view.projection_params is None
    assert view.projection_info == {} and view.plot.base_item.image is None


def test_a_failed_projection_is_said_in_the_panel_not_in_a_dialog(qtbot, window, plane_file,
                                                                   monkeypatch):
    from explorer.compute import projection
    from explorer.compute.projection import ProjectionParams
    from explorer.core.errors import InputError

    path, xy = plane_file
    open_map(qtbot, window, path)
    view = window.map_view

    def fails(es, params, state):
        raise InputError("this map cannot be drawn today")

    monkeypatch.setattr(projection, "cached_project", fails)
    view.compute_projection(ProjectionParams(method="pca"))
    qtbot.waitUntil(lambda: view.error_line.isVisible(), timeout=30000)
    assert "cannot be drawn today" in view.error_line.text()
    assert window.last_dialog is None
    assert not view.plot.message.isVisible()  # no "Computing …" left on the map
    np.testing.assert_array_equal(view.coords, xy)  # the map shown stays
    monkeypatch.setattr(projection, "cached_project", projection.run.cached_project)
    view.compute_projection(ProjectionParams(method="pca"))  # a new try clears it
    assert not view.error_line.isVisible()


def test_a_projection_method_contributed_after_import_is_offered(qtbot, window, tmp_path):
    from sklearn.datasets import load_digits

    from explorer import plugins

    reg = plugins.registry()
    spec = plugins.Contribution(kind="projection", name="late-pca", label="Late PCA",
                                target="explorer.compute.projection.pca:fit")
    reg.add(spec, plugins.Origin("late-plugin", "1.0", "late", False))
    try:
        digits = load_digits()
        path = tmp_path / "digits.parquet"
        pq.write_table(pa.table({"pixels": list(digits.data[:300].astype(np.float32))}), path)
        open_map(qtbot, window, path)
        view = window.map_view
        titles = [view.method.itemText(i) for i in range(view.method.count())]
        assert "Late PCA" in titles and titles[-1] == "Concept plane"
        view.method.setCurrentText("Late PCA")
        view.method.activated.emit(view.method.currentIndex())
        qtbot.waitUntil(lambda: view.projection_params is not None
                        and view.projection_params.method == "late-pca", timeout=60000)
        assert view.projection_info["method"] == "late-pca"
        assert view.method.currentText() == "Late PCA"
    finally:
        plugins.reload()
    view.method.refresh()  # gone from the registry: gone from the menu
    assert view.method.findText("Late PCA") < 0


def test_a_free_text_column_says_it_has_too_many_values_to_colour_by(qtbot, window, tmp_path):
    rng = np.random.default_rng(2)
    n = 600
    long_name = "a_rather_long_column_name_that_would_not_fit_the_legend"
    path = tmp_path / "texts.parquet"
    pq.write_table(pa.table({"id": [f"t{i}" for i in range(n)],
                             long_name: [f"description number {i} " + "word " * 30
                                         for i in range(n)],
                             "vec": list(rng.normal(size=(n, 2)).astype(np.float32))}), path)
    open_map(qtbot, window, path)
    view = window.map_view
    with qtbot.waitSignal(view.renderFinished, timeout=30000):
        assert view.colour_by(long_name)
    qtbot.waitUntil(lambda: view.legend.count() == 11, timeout=30000)  # top 10 + other
    note = view.legend_box.note
    assert note.isVisible()
    assert "600 distinct values" in note.text() and "too many to colour by" in note.text()
    assert "other 590 items" in note.text()
    assert view.legend.item(10).text().startswith("(other)")
    first = view.legend.item(0)
    assert len(first.text()) < 100 and first.toolTip().startswith("description number")
    # the header wraps inside the legend instead of being cut off
    title = view.legend_box.title
    assert title.isVisible() and title.toolTip() == long_name
    assert title.minimumSizeHint().width() <= view.legend_box.maximumWidth()
    assert view.colour_by("(no colour)") and not view.colour_by("no such column")
    assert not note.isVisible() and view.legend.count() == 0


def test_a_projection_still_running_does_not_replace_the_concept_plane(qtbot, window, plane_file,
                                                                       monkeypatch):
    import threading

    from explorer.compute import projection
    from explorer.compute.projection import ProjectionParams
    from explorer.ui.state import ConceptPlane

    path, xy = plane_file
    open_map(qtbot, window, path)
    view = window.map_view
    real = projection.cached_project
    computed, overtaken = threading.Event(), threading.Event()

    def slow(es, params, state):
        result = real(es, params, state)
        computed.set()
        overtaken.wait(30)
        return result

    monkeypatch.setattr(projection, "cached_project", slow)
    view.compute_projection(ProjectionParams(method="pca"))
    qtbot.waitUntil(computed.is_set, timeout=30000)
    scores = (xy * [2.0, -1.0]).astype(np.float32)
    window.state.set_plane(ConceptPlane(scores, "north", "south", 0.1))
    qtbot.waitUntil(lambda: view.projection_info.get("x") == "north", timeout=30000)
    overtaken.set()
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=30000)
    assert view.projection_info["method"] == "concept plane"
    assert view.method.currentText() == "Concept plane"
    np.testing.assert_array_equal(view.coords, scores)
    assert view.plot.getAxis("bottom").labelText == "north"
