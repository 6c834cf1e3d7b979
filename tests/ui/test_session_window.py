"""Sessions driven as a user would: save one window's state, reopen it in a fresh window."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from explorer.compute import concepts as cc
from explorer.compute.projection import ProjectionParams
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.core.session import Session, SetRef
from explorer.ui.panels.map.panel import PLANE

N, D = 600, 16
WAIT = 60000


@pytest.fixture
def library(explorer_home):
    """One set with a categorical and a numeric column, and two saved directions."""
    rng = np.random.default_rng(3)
    meta = pa.table({"id": [f"a{i}" for i in range(N)],
                     "section": np.array(["games", "world", "sport"])[np.arange(N) % 3],
                     "size": np.arange(N)})
    lib = Library(explorer_home)
    entry = lib.import_set(EmbeddingSet(rng.normal(size=(N, D)).astype(np.float32), meta,
                                        name="articles", format="test", id_column="id"))
    es = lib.open(entry.id)
    for i, name in enumerate(("pc1", "pc2")):
        cc.DirectionStore(es).save(cc.component(es, i, name=name))
    return lib


def open_set(qtbot, win):
    with qtbot.waitSignal(win.state.setChanged, timeout=WAIT):
        win.open_library_set("articles")
    qtbot.waitUntil(lambda: win.map_view.projection_params is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: len(win.concepts_view.context.directions) == 2, timeout=WAIT)


def save(qtbot, win, path):
    with qtbot.waitSignal(win.sessions.saved, timeout=WAIT):
        win.sessions.save(str(path))


def open_session(qtbot, win, path) -> list[str]:
    with qtbot.waitSignal(win.sessions.applied, timeout=WAIT) as applied:
        win.open_paths([str(path)])  # as the command line and a drop do
    return applied.args[0]


def test_session_round_trip_into_a_fresh_window(qtbot, windows, tmp_path):
    first = windows()
    open_set(qtbot, first)
    m = first.map_view
    m.compute_projection(ProjectionParams(method="pca", sample=400))
    qtbot.waitUntil(lambda: m.projection_params.sample == 400, timeout=WAIT)
    m.colour.setCurrentText("section")
    m.colour.activated.emit(m.colour.currentIndex())
    qtbot.waitUntil(lambda: m.legend.count() == 3, timeout=WAIT)
    sport = next(i for i in range(3) if m.legend.item(i).text().startswith("sport"))
    m.legend.item(sport).setCheckState(Qt.CheckState.Unchecked)  # as a click on its tick
    m.size.setValue(4)
    selection = np.r_[5:50, 100, 300:320]
    first.state.select(selection)
    first.state.set_current(7)
    nb = first.neighbours_view
    nb.k.setValue(25)
    nb.metric_box.setCurrentIndex(nb.metric_box.findData("l2"))
    nb.filter.setText("size > 10")
    cv = first.concepts_view
    cv.context.choose("pc2")
    cv.plane_x.setCurrentText("pc2")
    cv.plane_y.setCurrentText("pc1")
    cv.show_tab("entanglement")
    compression = {"methods": "fp16,sq8", "k": 20, "queries": 300,
                   "selection_as_queries": True, "count_rerank": True, "budget": 0.25,
                   "grid": True}  # the lists as thumbnail grids: kept like the rest
    first.compression_view.apply_settings(compression)
    first.table_view.filter_edit.setText("size < 500")
    with qtbot.waitSignal(first.table_view.queryFinished, timeout=WAIT):
        first.table_view.filter_edit.returnPressed.emit()
    assert first.table_view.settings() == {"filter": "size < 500", "search": "",
                                           "selection_only": False}
    first.docks["library"].hide()
    saved_view = m.viewbox.viewRect()

    path = tmp_path / "work.eesession"
    save(qtbot, first, path)
    data = json.loads(path.read_text())
    assert data["set"]["id"] == "articles" and data["current"] == 7
    assert data["panels"]["map"]["colour_by"] == "section"
    assert data["panels"]["map"]["hidden"] == ["sport"]
    assert path.stat().st_size < 20_000

    # the set's own memory of the map now says plain PCA: the session must say otherwise
    m.compute_projection(ProjectionParams(method="pca"))
    qtbot.waitUntil(lambda: m.projection_params.sample is None, timeout=WAIT)

    second = windows()
    assert open_session(qtbot, second, path) == []
    s, m2 = second.state, second.map_view
    assert s.embedding_set.library_id == "articles"
    np.testing.assert_array_equal(s.selection, selection)
    assert s.current == 7
    qtbot.waitUntil(lambda: m2.projection_params is not None
                    and m2.projection_params.sample == 400, timeout=WAIT)
    qtbot.waitUntil(lambda: m2.legend.count() == 3 and m2.hidden == {sport}, timeout=WAIT)
    assert m2.colour.currentText() == "section" and s.colour_by == "section"
    assert m2.size.value() == 4
    view = m2.viewbox.viewRect()
    assert abs(view.center().x() - saved_view.center().x()) < 0.05 * saved_view.width()
    assert abs(view.width() - saved_view.width()) < 0.1 * saved_view.width()
    nb2 = second.neighbours_view
    assert (nb2.k.value(), nb2.metric_box.currentData(), nb2.filter.text()) == (25, "l2", "size > 10")
    qtbot.waitUntil(lambda: second.concepts_view.current.currentText() == "pc2", timeout=WAIT)
    cv2 = second.concepts_view
    assert (cv2.plane_x.currentText(), cv2.plane_y.currentText()) == ("pc2", "pc1")
    assert cv2.tabs.currentWidget() is cv2.entanglement
    assert second.compression_view.settings() == compression
    qtbot.waitUntil(lambda: second.table_view.model.rowCount() == 500, timeout=WAIT)
    assert not second.docks["library"].isVisible()
    assert second.docks["table"].isVisible()


def test_concept_plane_is_restored_on_the_map(qtbot, windows, tmp_path):
    first = windows()
    open_set(qtbot, first)
    first.concepts_view.plane_x.setCurrentText("pc1")
    first.concepts_view.plane_y.setCurrentText("pc2")
    first.concepts_view.show_plane()
    qtbot.waitUntil(lambda: "x" in first.map_view.projection_info, timeout=WAIT)
    path = tmp_path / "plane.eesession"
    save(qtbot, first, path)

    second = windows()
    assert open_session(qtbot, second, path) == []
    m2 = second.map_view
    qtbot.waitUntil(lambda: "x" in m2.projection_info, timeout=WAIT)
    assert m2.method.currentText() == PLANE
    assert m2.projection_info["x"] == first.map_view.projection_info["x"]
    second.resize(1200, 800)
    second.grab().save(str(tmp_path / "session.png"))


def test_missing_set_is_reported_and_the_rest_applies(qtbot, windows, tmp_path):
    compression = {"methods": "binary", "k": 5, "queries": 100, "selection_as_queries": False,
                   "count_rerank": False, "budget": 0.75, "grid": False}
    session = Session(set=SetRef("gone", "Old news", 40, 8, [str(tmp_path / "old.npy")]),
                      selection=np.arange(10), current=3,
                      panels={"map": {"colour_by": "section"}, "compression": compression})
    path = session.save(tmp_path / "old.eesession")
    win = windows()
    open_set(qtbot, win)
    notes = open_session(qtbot, win, path)
    assert len(notes) == 1 and "“Old news” (gone) is no longer in the library" in notes[0]
    assert win.sessions.notes_box.objectName() == "sessionNotes"
    assert "no longer in the library" in win.sessions.notes_box.informativeText()
    assert win.compression_view.settings() == compression
    assert win.state.embedding_set.library_id == "articles"  # what was open stays open
    assert len(win.state.selection) == 0


def test_damaged_session_shows_a_dialog_and_the_app_goes_on(qtbot, windows, tmp_path):
    path = tmp_path / "broken.eesession"
    path.write_text('{"format": "embedding-explorer-session", "schema_version": 1, "current": []}')
    win = windows()
    win.open_paths([str(path)])
    qtbot.waitUntil(lambda: win.last_dialog is not None, timeout=WAIT)
    assert win.last_dialog.objectName() == "errorDialog"
    assert "'current'" in win.last_dialog.text()
    assert str(path) in win.last_dialog.informativeText()


def test_dropping_a_session_file_opens_it(qtbot, windows, tmp_path):
    first = windows()
    open_set(qtbot, first)
    first.state.select([1, 2, 3])
    path = tmp_path / "drop.eesession"
    save(qtbot, first, path)
    second = windows()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(second.sessions.applied, timeout=WAIT):
        second.dropEvent(event)
    assert list(second.state.selection) == [1, 2, 3]


LAUNCH = r"""
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from explorer.__main__ import main

run = QApplication.exec


def exec_until_applied(*_args):
    app = QApplication.instance()
    win = next(w for w in app.topLevelWidgets() if w.objectName() == "MainWindow")

    def applied(notes):
        print(json.dumps({"set": win.state.embedding_set.library_id, "notes": notes,
                          "selection": win.state.selection.tolist()}))
        app.exit(0)

    win.sessions.applied.connect(applied)
    QTimer.singleShot(50000, lambda: app.exit(3))
    return run()


QApplication.exec = exec_until_applied
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("how", [["--session"], []])
def test_the_app_launches_into_a_session(library, tmp_path, how):
    path = Session(set=SetRef("articles", "articles", N, D), selection=np.arange(4, 9)).save(
        tmp_path / "launch.eesession")
    out = subprocess.run([sys.executable, "-c", LAUNCH, *how, str(path)], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"set": "articles", "notes": [], "selection": [4, 5, 6, 7, 8]}
