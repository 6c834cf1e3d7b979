"""The map stays readable: dimming on demand, search matches above the density, a fit that
leaves outliers out but reachable, blended points at density, a dark theme."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette

from explorer.core.jobs import TaskState
from explorer.core.library import Library
from explorer.ui.main_window import MainWindow
from explorer.ui.maps.render import MATCH, render_layers
from explorer.ui.state import NeighbourMarks


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
def outliers_file(tmp_path):
    """4,000 points in a unit cloud and 12 far away (1% would not be far)."""
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(4000, 2)).astype(np.float32)
    xy[:12] = rng.normal(size=(12, 2)) + [400.0, -300.0]
    path = tmp_path / "cloud.parquet"
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(len(xy))],
                             "side": np.where(xy[:, 0] > 0, "east", "west"),
                             "word": [f"w{i % 50}" for i in range(len(xy))],
                             "vec": list(xy)}), path)
    return path, xy


def open_map(qtbot, window, path):
    with qtbot.waitSignal(window.map_view.renderFinished, timeout=60000):
        window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.map_view.index is not None, timeout=30000)
    return window.map_view


def test_neighbours_dim_the_map_only_on_demand_and_never_wash_out_a_colouring(
        qtbot, window, outliers_file):
    path, _xy = outliers_file
    view = open_map(qtbot, window, path)
    base = view.plot.base_item
    window.state.set_neighbours(NeighbourMarks.of([20], [21, 22, 23]))
    assert len(view.plot.nb_rings.getData()[0]) == 3 and base.opacity() == 1  # off by default
    view.toolbar.dim.click()
    plain = base.opacity()
    assert plain < 1  # on demand: the map fades behind the rings
    with qtbot.waitSignal(view.renderFinished, timeout=30000):
        assert view.colour_by("side")
    qtbot.waitUntil(lambda: view.colouring is not None, timeout=30000)
    assert plain < base.opacity() < 1  # a colouring fades less, so it still reads
    window.state.set_neighbours(None)
    assert base.opacity() == 1
    saved = view.settings()
    assert saved["dim_for_neighbours"] is True
    view.toolbar.dim.setChecked(False)
    view.apply_settings(saved)
    assert view.toolbar.dim.isChecked()


def test_search_matches_are_drawn_above_the_density_with_a_halo(qtbot, window, outliers_file):
    path, xy = outliers_file
    view = open_map(qtbot, window, path)
    view.search.setText("w7")  # every 50th item, 79 of them in the dense cloud
    qtbot.waitUntil(lambda: view.matches is not None, timeout=30000)
    layers = view.layers()
    assert len(layers.matches) == 80
    _base, overlay, _info = render_layers(layers, TaskState())
    x0, x1, y0, y1 = layers.rect
    h, w = overlay.shape[:2]
    hits = 0
    inside = [r for r in layers.matches if x0 <= xy[r, 0] < x1 and y0 <= xy[r, 1] < y1]
    assert len(inside) == 79  # all but the far one
    for row in inside[:40]:
        px = int((xy[row, 0] - x0) / (x1 - x0) * w)
        py = h - 1 - int((xy[row, 1] - y0) / (y1 - y0) * h)
        hits += tuple(overlay[py, px]) == MATCH  # the match itself, over the raster
    assert hits >= 30  # (a neighbour's rim may cover a few)
    halo = (overlay[..., :3] == 255).all(axis=-1) & (overlay[..., 3] > 200)
    assert halo.sum() > 100  # white around the orange marks
    assert "80 items match" in view.info.text()
    view.search.clear()
    qtbot.waitUntil(lambda: view.matches is None, timeout=30000)
    assert "match" not in view.info.text()
    assert view.info.text().startswith("As given: the set's own coordinates")
    # the method menu, off for a 2-D set, says the same instead of naming a method not used
    assert not view.method.isEnabled() and view.method.currentIndex() == -1
    assert view.method.placeholderText() == "As given"


def test_fit_leaves_far_outliers_out_and_double_click_or_view_all_brings_them_in(
        qtbot, window, outliers_file):
    path, _xy = outliers_file
    view = open_map(qtbot, window, path)

    def shows_outliers() -> bool:
        rect = view.viewbox.viewRect()
        return rect.right() > 400 and rect.top() < -300

    rect = view.viewbox.viewRect()
    assert not shows_outliers() and rect.width() < 20  # the cloud fills the view
    centre = view.plot.mapFromScene(view.viewbox.sceneBoundingRect().center())
    left, at = Qt.MouseButton.LeftButton, QPoint(centre)
    qtbot.mouseClick(view.plot.viewport(), left, pos=at)  # what a double click sends
    qtbot.mouseDClick(view.plot.viewport(), left, pos=at)
    qtbot.mouseRelease(view.plot.viewport(), left, pos=at)
    qtbot.waitUntil(shows_outliers, timeout=5000)
    view.toolbar.fitRequested.emit()  # Fit (Home): the bulk again
    assert not shows_outliers()
    view.toolbar.view_all.trigger()  # Fit's menu, Shift+Home
    assert shows_outliers()


def test_a_crowded_view_blends_points_without_outlines_a_sparse_one_outlines_them(
        qtbot, window, outliers_file):
    path, xy = outliers_file
    view = open_map(qtbot, window, path)
    view.size.setValue(3)
    layers = view.layers()
    assert render_layers(layers, TaskState())[2][0] == "blend"
    x, y = (float(v) for v in xy[100])  # zoom in on one point: few in view
    view.viewbox.setRange(xRange=(x - 0.2, x + 0.2), yRange=(y - 0.2, y + 0.2), padding=0)
    layers = view.layers()
    assert render_layers(layers, TaskState())[2][0] == "points"


def test_the_map_follows_a_dark_theme(qtbot, window, outliers_file):
    path, _xy = outliers_file
    view = open_map(qtbot, window, path)
    assert not view.plot.dark()
    dark = QPalette(view.palette())
    for role in (QPalette.ColorRole.Base, QPalette.ColorRole.Window):
        dark.setColor(role, QColor(32, 33, 36))
    dark.setColor(QPalette.ColorRole.Text, QColor(230, 230, 230))
    with qtbot.waitSignal(view.renderFinished, timeout=30000):
        view.setPalette(dark)  # what a system switching to dark sends down the widgets
    assert view.plot.dark()
    assert view.plot.backgroundBrush().color().getRgb()[:3] == (32, 33, 36)
    window.state.select(np.arange(4000))  # a selection drawn as a density: light on dark
    layers = view.layers()
    layers.width, layers.height = 60, 40  # crowded: density mode
    _base, overlay, (mode, _n) = render_layers(layers, TaskState())
    assert mode == "density" and layers.dark
    drawn = overlay[overlay[..., 3] > 0]
    assert len(drawn) and drawn[:, :3].min() > 200


def layers_for(xy, colouring=None, matches=None, size=(40, 40), radius=2):
    from explorer.ui.maps.render import Layers

    return Layers(np.asarray(xy, dtype=np.float32), None, (0.0, 40.0, 0.0, 40.0), *size,
                  colouring, None, frozenset(), radius, np.zeros(0, np.int64), matches, {})


def test_other_and_missing_are_drawn_under_the_categories():
    from explorer.core.colouring import Colouring
    from explorer.ui.maps.render import palette_for

    xy = [[10.5, 10.5]] * 30 + [[10.5, 10.5], [30.5, 30.5]]  # 30 grey under one "games"
    colouring = Colouring("section", "categorical", codes=np.array([1] * 30 + [0, 1], np.int16),
                          labels=["games", "(other)"], counts=[1, 31])
    base, _overlay, (mode, _n) = render_layers(layers_for(xy, colouring), TaskState())
    assert mode == "blend"
    games = palette_for(colouring)[0]
    pixel = base[40 - 1 - 10, 10]
    # over the pile of grey the category's own colour shows, not a grey mean of 31 points
    assert np.abs(pixel[:3].astype(int) - games[:3]).max() <= 40
    assert pixel[3] > 200


def test_a_search_matching_thousands_draws_smaller_marks():
    from explorer.ui.maps.render import match_radius

    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 40, size=(600, 2))
    few = layers_for(xy, matches=np.arange(5), size=(400, 400))
    many = layers_for(xy, matches=np.arange(600), size=(400, 400))
    assert match_radius(few, 2.0) == 2.0 and match_radius(many, 2.0) < 2.0
