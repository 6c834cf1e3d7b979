"""Cluster labels on the map: found in a job, placed by zoom without overlaps, a click selects
the cluster, colour by cluster, dropped with their layout, exported with the coordinates."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtWidgets import QApplication

from explorer.compute.clusters.placement import GAP_PX
from explorer.core.library import Library
from explorer.ui.main_window import MainWindow
from explorer.ui.panels.map.labels import FIRM_SHARE, NO_CLUSTER
from explorer.ui.maps.render import grey_codes

JOB_TIMEOUT = 180_000  # the first labels of a machine compile fast-hdbscan's kernels


@pytest.fixture
def window(qtbot, explorer_home):
    win = MainWindow(Library(explorer_home), restore=False)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    win.show_view("map")
    yield win
    win.jobs.shutdown()


def blobs(seed: int = 0) -> tuple[np.ndarray, list[str], list[str]]:
    """4 groups at the corners of a 100-wide square, each of 4 tight blobs 20 apart: a map
    with coarse and fine clusters, each blob's texts saying which it is."""
    rng = np.random.default_rng(seed)
    xy, texts, side = [], [], []
    for c, centre in enumerate([(0, 0), (100, 0), (0, 100), (100, 100)]):
        for f, off in enumerate([(-10, -10), (10, -10), (-10, 10), (10, 10)]):
            xy.append(np.array(centre) + np.array(off) + rng.normal(0, 2, size=(150, 2)))
            texts += [f"group{c} blob{c}x{f} item {i % 7}" for i in range(150)]
            side += ["left" if centre[0] == 0 else "right"] * 150
    xy.append(rng.uniform(-40, 140, size=(40, 2)))  # a little noise
    texts += ["stray"] * 40
    side += ["left"] * 40
    return np.vstack(xy).astype(np.float32), texts, side


@pytest.fixture
def blobs_file(tmp_path):
    xy, texts, _side = blobs()
    path = tmp_path / "blobs.parquet"
    pq.write_table(pa.table({"id": [f"b{i}" for i in range(len(xy))], "text": texts,
                             "vec": list(xy)}), path)
    return path, xy


def open_labelled(qtbot, window, path):
    view = window.map_view
    with qtbot.waitSignal(view.renderFinished, timeout=60000):
        window.open_paths([str(path)])
    qtbot.waitUntil(lambda: view.index is not None, timeout=30000)
    qtbot.waitUntil(lambda: view.labels.result is not None, timeout=JOB_TIMEOUT)
    return view


def show(qtbot, view, rect: QRectF):
    """Show `rect` of the map and wait for the labels to be placed for it."""
    view.viewbox.setRange(rect, padding=0)
    qtbot.waitUntil(lambda: not view.labels._timer.isActive(), timeout=5000)
    return view.labels.placement


def placed_levels(view) -> list[int]:
    cands = view.labels.candidates
    return [int(cands.level[i]) for i in view.labels.placement.index]


def assert_no_overlaps(view):
    rects = view.labels.placement.rects
    w, h = view.viewbox.width(), view.viewbox.height()
    for i in range(len(rects)):
        a = rects[i]
        assert a[0] >= 0 and a[1] >= 0 and a[2] <= w + 1e-6 and a[3] <= h + 1e-6
        for b in rects[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def label_centre(view, candidate: int) -> QPointF:
    """Where a placed label is, in scene coordinates."""
    at = view.labels.placement.index.tolist().index(candidate)
    left, top, right, bottom = view.labels.placement.rects[at]
    return view.labels.layer.mapToScene(QPointF((left + right) / 2, (top + bottom) / 2))


def click(qtbot, view, scene_pos: QPointF, modifier=Qt.KeyboardModifier.NoModifier,
          button=Qt.MouseButton.LeftButton):
    pos = view.plot.mapFromScene(scene_pos)
    qtbot.mouseClick(view.plot.viewport(), button, modifier, QPoint(pos.x(), pos.y()))


def test_labels_appear_and_zooming_in_brings_finer_ones_never_overlapping(qtbot, window,
                                                                         blobs_file):
    path, _xy = blobs_file
    view = open_labelled(qtbot, window, path)
    result = view.labels.result
    assert len(result.levels) >= 2
    assert result.named_by == "terms:text"
    assert len(result.levels[0].clusters) == 4 and len(result.levels[-1].clusters) == 16
    whole = show(qtbot, view, QRectF(-40, -40, 180, 180))
    assert len(whole.index) >= 4
    assert 0 in placed_levels(view) and max(placed_levels(view)) < len(result.levels) - 1
    assert_no_overlaps(view)
    labels = {view.labels.label(i) for i in whole.index}
    assert {c.label for c in result.levels[0].clusters} <= labels
    # each label sits on its anchor (or just beside it): the screen transform is pyqtgraph's
    cands = view.labels.candidates
    gap = 1 + GAP_PX
    for i, (left, top, right, bottom) in zip(whole.index, whole.rects):
        anchor = view.labels.layer.mapFromScene(
            view.viewbox.mapViewToScene(QPointF(cands.x[i], cands.y[i])))
        assert left - gap <= anchor.x() <= right + gap
        assert top - (bottom - top) - gap <= anchor.y() <= bottom + (bottom - top) + gap
    # about 4x on one group: finer names come in beside the coarse one
    show(qtbot, view, QRectF(-20, -20, 40, 40))
    assert 0 in placed_levels(view) and max(placed_levels(view)) >= 1
    assert len(view.labels.placement.index) > len(whole.index) / 4
    assert_no_overlaps(view)
    # about 16x on one blob: its finest cluster is named (by its own label or by its
    # parent's, when the two say the same), and its group's name, bigger than the view,
    # gives way
    show(qtbot, view, QRectF(-15, -15, 10, 10))
    fine = result.levels[-1].clusters[int(result.column(len(result.levels) - 1)[
        np.argmin(np.hypot(_xy[:, 0] + 10, _xy[:, 1] + 10))])]
    assert fine.label in {view.labels.label(i) for i in view.labels.placement.index}
    assert 0 not in placed_levels(view)
    assert_no_overlaps(view)
    # far out of the map: nothing to name
    assert len(show(qtbot, view, QRectF(1000, 1000, 10, 10)).index) == 0


def test_clicking_a_label_selects_its_cluster_shift_adds_ctrl_toggles_right_leaves_it(
        qtbot, window, blobs_file):
    path, _xy = blobs_file
    view = open_labelled(qtbot, window, path)
    show(qtbot, view, QRectF(-40, -40, 180, 180))
    cands, result, state = view.labels.candidates, view.labels.result, window.state
    first, second = [int(i) for i in view.labels.placement.index[:2]]

    def rows(i):
        return result.rows(int(cands.level[i]), int(cands.ident[i]))

    click(qtbot, view, label_centre(view, first))
    np.testing.assert_array_equal(state.selection, rows(first))
    click(qtbot, view, label_centre(view, second), Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_array_equal(state.selection, np.union1d(rows(first), rows(second)))
    click(qtbot, view, label_centre(view, first), Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(state.selection, rows(second))
    click(qtbot, view, label_centre(view, first), Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(state.selection, np.union1d(rows(first), rows(second)))
    click(qtbot, view, label_centre(view, second))  # plain: replaces
    np.testing.assert_array_equal(state.selection, rows(second))
    # Ctrl on a cluster partly selected adds the rest (the cluster is the item toggled)
    state.select(rows(first)[::2])
    click(qtbot, view, label_centre(view, first), Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(state.selection, rows(first))
    click(qtbot, view, label_centre(view, second),
          Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)  # adds
    np.testing.assert_array_equal(state.selection, np.union1d(rows(first), rows(second)))
    click(qtbot, view, label_centre(view, second), button=Qt.MouseButton.RightButton)
    np.testing.assert_array_equal(state.selection, np.union1d(rows(first), rows(second)))
    # ... and opens the cluster's menu, whose entries are about the whole cluster
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=5000)
    menu = QApplication.activePopupWidget()
    entries = {a.text(): a for a in menu.actions() if not a.isSeparator()}
    name = f"“{view.labels.label(second)}” ({len(rows(second)):,} items)"
    asked = []
    state.contrastRequested.connect(asked.append)
    entries["Compare it with the rest"].trigger()
    entries[f"Select {name}"].trigger()
    menu.close()
    np.testing.assert_array_equal(asked[0], rows(second))
    np.testing.assert_array_equal(state.selection, rows(second))
    # the tooltip names the cluster: its terms and its size
    view._mouse_moved(label_centre(view, first))
    cluster = view.labels.cluster(first)
    tip = view.plot.toolTip()
    assert cluster.label in tip and f"{cluster.count:,} items" in tip
    assert all(term in tip for term in cluster.terms)
    # a click beside the labels still selects a point
    points = [view.viewbox.mapViewToScene(QPointF(float(x), float(y))) for x, y in _xy[::97]]
    beside = next(p for p in points if view.labels.at(p) < 0
                  and view.viewbox.sceneBoundingRect().contains(p))
    click(qtbot, view, beside)
    assert len(state.selection) == 1


def test_colour_by_cluster_levels_with_rows_in_none_grey_and_named_so(qtbot, window,
                                                                       blobs_file):
    path, _xy = blobs_file
    view = open_labelled(qtbot, window, path)
    result = view.labels.result
    offered = [view.colour.itemText(i) for i in range(view.colour.count())]
    names = [n for n in offered if n.startswith("Clusters: ")]
    assert names[0] == "Clusters: coarse" and names[-1] == "Clusters: fine"
    assert len(names) == len(result.levels)
    assert view.colour_by("Clusters: fine")
    qtbot.waitUntil(lambda: view.colouring is not None
                    and view.colouring.column == "Clusters: fine", timeout=30000)
    fine = len(result.levels) - 1
    codes = view.colouring.codes.astype(np.int64)
    column = result.column(fine)
    np.testing.assert_array_equal(codes[column >= 0], column[column >= 0])
    assert (codes[column < 0] == len(result.levels[fine].clusters)).all()
    legend = [view.legend.item(i).text() for i in range(view.legend.count())]
    assert len(legend) == len(result.levels[fine].clusters) + (1 if (column < 0).any() else 0)
    assert (column < 0).any()  # the blobs' sprinkle of noise
    assert legend[-1].startswith(NO_CLUSTER + "  (")
    assert grey_codes(view.colouring).tolist() == [False] * (len(legend) - 1) + [True]


def test_a_new_set_drops_the_labels_and_a_late_result_never_draws(qtbot, window, blobs_file,
                                                                 tmp_path, monkeypatch):
    import threading

    from explorer.ui.panels.map import labels as map_labels

    path, _xy = blobs_file
    view = open_labelled(qtbot, window, path)
    show(qtbot, view, QRectF(-40, -40, 180, 180))
    assert len(view.labels.placement.index)
    real = map_labels.cl.cached_cluster_map
    gate = threading.Event()  # holds the next labels jobs until the test lets them go

    def held(*args, **kwargs):
        gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(map_labels.cl, "cached_cluster_map", held)
    xy2, texts2, _side = blobs(seed=1)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"text": texts2, "vec": list(xy2 * 2)}), other)
    first = view.es
    window.open_paths([str(other)])
    qtbot.waitUntil(lambda: view.es is not first and view.coords is not None, timeout=60000)
    assert view.labels.result is None and len(view.labels.placement.index) == 0
    assert len(view.labels.layer.rects) == 0
    assert not any(view.colour.itemText(i).startswith("Clusters: ")
                   for i in range(view.colour.count()))
    # the new set's labels are on their way; a third set is opened before they arrive
    qtbot.waitUntil(lambda: view.labels.job_id is not None, timeout=30000)
    assert view.labels.layer.note.startswith("Naming clusters…")  # said on the map meanwhile
    third = tmp_path / "third.npy"
    np.save(third, np.random.default_rng(2).normal(size=(300, 2)).astype(np.float32))
    with qtbot.waitSignal(window.state.setChanged, timeout=60000):
        window.open_paths([str(third)])
    gate.set()
    qtbot.waitUntil(lambda: view.coords is not None and view.coords.shape == (300, 2),
                    timeout=60000)
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=JOB_TIMEOUT)
    assert view.labels.result is None or view.labels.result.assignments.shape[0] == 300
    assert len(view.labels.layer.images) == len(view.labels.placement.index)
    # a partial layout (a projection under way) drops the labels of the one it replaces
    view.labels.set_map(view.es)
    assert view.labels.result is None and len(view.labels.layer.rects) == 0


def test_export_has_a_column_per_level_and_labels_can_be_turned_off(qtbot, window, blobs_file,
                                                                    tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    path, xy = blobs_file
    view = open_labelled(qtbot, window, path)
    result = view.labels.result
    target = tmp_path / "xy.parquet"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    view.export_coordinates()
    qtbot.waitUntil(target.exists, timeout=10000)
    table = pq.read_table(target)
    levels = [f"level_{i}" for i in range(len(result.levels))]
    assert table.column_names == ["row", "id", "x", "y", *levels]
    for name, ids in result.level_columns().items():
        np.testing.assert_array_equal(table.column(name).to_numpy(), ids)
    np.testing.assert_array_equal(table.column("x").to_numpy(), xy[:, 0])
    show(qtbot, view, QRectF(-40, -40, 180, 180))
    view.toolbar.labels.setChecked(False)
    qtbot.waitUntil(lambda: len(view.labels.placement.index) == 0, timeout=5000)
    assert not view.labels.layer.isVisible()
    assert view.settings()["labels"] == {"identity": False}
    view.toolbar.labels.setChecked(True)
    qtbot.waitUntil(lambda: len(view.labels.placement.index) > 0, timeout=5000)


def test_a_pca_map_is_labelled_when_asked(qtbot, window, blobs_file):
    from explorer.compute.projection import ProjectionParams

    path, _xy = blobs_file
    view = open_labelled(qtbot, window, path)
    assert view.toolbar.labels.isChecked()
    view.compute_projection(ProjectionParams(method="pca"))
    qtbot.waitUntil(lambda: view.projection_params.method == "pca", timeout=30000)
    assert view.labels.result is None and view.labels.job_id is None
    assert not view.toolbar.labels.isChecked() and not view.labels.layer.isVisible()
    view.toolbar.labels.click()  # on, as a user does
    qtbot.waitUntil(lambda: view.labels.result is not None, timeout=JOB_TIMEOUT)
    assert view.labels.result.map_key.startswith("pca")
    assert view.settings()["labels"] == {"pca": True}


def test_a_set_without_text_is_named_by_a_column_of_categories(qtbot, window, tmp_path):
    xy, _texts, _side = blobs()
    group = np.repeat(np.arange(4), 600)  # numbers, no text: the set has no text column
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"group": np.append(group, np.full(40, 9)), "vec": list(xy)}), path)
    view = open_labelled(qtbot, window, path)
    assert view.labels.result.named_by == "category:group"
    assert view.labels.column == "group"
    checked = [a.text() for a in view.toolbar.labels.group.actions() if a.isChecked()]
    assert checked == ["group"]
    assert view.settings()["label_column"] == "group"


def test_saved_labels_settings_are_checked():
    from explorer.ui.panels.map.model import read_saved_map

    saved = read_saved_map({"labels": {"pca": True, "umap": "yes", 3: False},
                            "label_column": "section"})
    assert saved.labels == {"pca": True} and saved.label_column == "section"
    saved = read_saved_map({"labels": True, "label_column": 7})
    assert saved.labels == {} and saved.label_column is None


def test_a_session_turns_the_labels_of_the_map_shown_off_and_names_by_its_column(
        qtbot, window, blobs_file):
    path, _xy = blobs_file
    view = open_labelled(qtbot, window, path)
    notes = view.apply_settings({"labels": {"identity": False}, "label_column": "id",
                                 "colour_by": "Clusters: coarse"})
    assert notes == []
    assert not view.toolbar.labels.isChecked() and not view.labels.layer.isVisible()
    assert view.labels.column == "id" and view.labels.result is None  # named again, when shown
    view.toolbar.labels.setChecked(True)
    qtbot.waitUntil(lambda: view.labels.result is not None, timeout=JOB_TIMEOUT)
    assert view.labels.result.named_by in ("terms:id", "category:id")
    qtbot.waitUntil(lambda: view.colour.currentText() == "Clusters: coarse", timeout=30000)


def test_labels_of_clusters_the_selection_or_filter_shows_little_of_are_faint(qtbot, window,
                                                                             blobs_file):
    path, _xy = blobs_file
    view = open_labelled(qtbot, window, path)
    show(qtbot, view, QRectF(-40, -40, 180, 180))
    labels, state = view.labels, window.state
    assert not labels.layer.faded.any()  # nothing selected or filtered: every label firm
    cands, result = labels.candidates, labels.result
    first = int(labels.placement.index[0])
    rows = result.rows(int(cands.level[first]), int(cands.ident[first]))
    finest = len(result.levels) - 1
    blob = result.rows(finest, int(result.column(finest)[rows[0]]))
    chosen = np.union1d(blob, rows[::5])  # one fine cluster and a fifth of the rest around it
    state.select(chosen)
    qtbot.waitUntil(lambda: labels.layer.faded.any(), timeout=5000)
    for at, i in enumerate(labels.placement.index.tolist()):  # what is drawn
        members = result.rows(int(cands.level[i]), int(cands.ident[i]))
        assert labels.layer.faded[at] == (np.isin(members, chosen).mean() < FIRM_SHARE), i
    faded = labels.faded()  # every candidate, placed or not
    assert not faded[first]  # the coarse cluster, nearly half of it shown
    inside = np.unique(result.column(finest)[rows])
    fine = {int(k): bool(faded[cands.find(finest, int(k))]) for k in inside}
    assert not fine.pop(int(result.column(finest)[rows[0]]))
    assert fine and all(fine.values())  # a fifth of each shown: faint, though not empty
    # a scattered selection grazes every cluster: every label faint, not every label firm
    state.select(np.arange(0, len(result.assignments), 8))
    qtbot.waitUntil(lambda: labels.layer.faded.all(), timeout=5000)
    state.select([])
    qtbot.waitUntil(lambda: not labels.layer.faded.any(), timeout=5000)


def test_colour_by_cluster_says_when_a_big_map_was_clustered_on_a_draw():
    from explorer.compute import clusters as cl
    from explorer.core.embedding_set import EmbeddingSet
    from explorer.ui.panels.map.labels import cluster_colouring

    xy, texts, _side = blobs()
    es = EmbeddingSet(xy, pa.table({"text": texts}), "blobs", text_column="text")
    whole = cl.cluster_map(es, xy)
    drawn = cl.cluster_map(es, xy, sample=1200)
    assert "draw" not in cluster_colouring(whole, 0, "Clusters")[1]
    assert "found on a draw of 1,200 items" in cluster_colouring(drawn, 0, "Clusters")[1]
