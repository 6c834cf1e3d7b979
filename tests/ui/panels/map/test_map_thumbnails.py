"""The map's pictures: the hover tooltip shows an item's thumbnail, and zoomed in until few
points are in view, the points are drawn as their thumbnails."""

import numpy as np
import pytest
from pictures import MISSING, WAIT, N, open_pictures, store_pictures
from PySide6.QtCore import QEvent, QPointF, QRectF
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication

from explorer.ui.panels.map import thumbnail_layer


@pytest.fixture
def library(explorer_home, tmp_path):
    return store_pictures(explorer_home, tmp_path / "pictures")


def shown_map(qtbot, windows, tmp_path):
    window = open_pictures(qtbot, windows, tmp_path / "pictures")
    view = window.map_view
    window.show_view("map")
    qtbot.waitUntil(lambda: view.index is not None, timeout=WAIT)
    return window, view


def hover(view, row: int) -> bool:
    """Move the pointer onto `row`'s point, then let Qt ask for the tooltip there; True
    when the picture tooltip took the request (False: Qt shows the text tooltip)."""
    x, y = (float(v) for v in view.coords[row])
    scene = view.viewbox.mapViewToScene(QPointF(x, y))
    view._mouse_moved(scene)
    assert view.state.hover == row
    at = view.plot.mapFromScene(scene)
    event = QHelpEvent(QEvent.Type.ToolTip, at, view.plot.mapToGlobal(at))
    return view.hover_preview.eventFilter(view.plot, event)


def isolated_rows(view, count: int) -> list[int]:
    """Rows whose point has no other within hover reach at the view shown (so the hover
    finds exactly them)."""
    xy = view.coords.astype(np.float64)
    gaps = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + np.eye(len(xy)) * 1e9
    alone = np.flatnonzero(gaps.min(axis=1) > 3 * view._radius())
    return alone[:count].tolist()


def test_hover_shows_the_thumbnail_of_a_row_that_has_one(qtbot, windows, tmp_path):
    window, view = shown_map(qtbot, windows, tmp_path)
    view.fit()
    alone = isolated_rows(view, N)
    with_picture = next(r for r in alone if not MISSING[r])
    without = next(r for r in alone if MISSING[r])

    assert hover(view, with_picture)
    tip = view.hover_preview.tip
    assert tip.isVisible() and tip.row == with_picture
    assert not tip.image.pixmap().isNull() and tip.image.pixmap().width() > 8
    assert window.state.thumbnails.store.status(with_picture) == "ok"
    assert view.hover_preview.last_seconds < 1.0  # measured against 50 ms in the benchmark

    assert not hover(view, without)  # no thumbnail: Qt's text tooltip, the picture gone
    assert not tip.isVisible()
    assert f"#{without}" in view.plot.toolTip()


def test_map_draws_pictures_only_when_few_points_are_in_view(qtbot, windows, tmp_path,
                                                             monkeypatch):
    monkeypatch.setattr(thumbnail_layer, "MAX_IN_VIEW", 30)  # 120 points: zoomed out is many
    _window, view = shown_map(qtbot, windows, tmp_path)
    layer = view.thumbnail_layer
    view.fit()
    layer.refresh()
    assert not layer.shown and len(layer.item.pixmaps) == 0

    near = np.argsort(np.abs(view.coords).sum(axis=1))
    centre = view.coords[next(r for r in near if not MISSING[r])].astype(float)
    box = QRectF(centre[0] - 0.05, centre[1] - 0.05, 0.1, 0.1)
    view.viewbox.setRange(box, padding=0)
    qtbot.waitUntil(lambda: layer.shown, timeout=WAIT)
    rows = view.index.in_box(*view.viewbox.viewRect().getCoords())
    expected = [r for r in rows.tolist() if not MISSING[r]]
    assert 0 < len(layer.item.pixmaps) == len(expected)
    np.testing.assert_allclose(layer.item.xy, view.coords[expected])

    assert not layer.item.selected.any()
    view.state.select(expected[:1])  # a selected picture is framed (its point is hidden)
    assert layer.item.selected.tolist() == [True] + [False] * (len(expected) - 1)

    # the pictures are painted, not only listed: the top one's middle pixel is its own
    top = layer.item.xy[-1]
    at = view.plot.mapFromScene(view.viewbox.mapViewToScene(QPointF(*map(float, top))))
    painted = view.plot.viewport().grab().toImage().pixelColor(at)
    pixmap = layer.item.pixmaps[-1]
    own = pixmap.toImage().pixelColor(pixmap.width() // 2, pixmap.height() // 2)
    assert max(abs(painted.red() - own.red()), abs(painted.green() - own.green()),
               abs(painted.blue() - own.blue())) < 40

    view.fit()  # zoomed out again: the raster alone
    qtbot.waitUntil(lambda: not layer.shown, timeout=WAIT)
    QApplication.processEvents()
    assert len(layer.item.pixmaps) == 0
