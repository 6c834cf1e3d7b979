"""The main window driven as a user would: open files, table, selection, jobs, errors."""

import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from explorer.core.library import Library
from explorer.ui import settings as ui_settings
from explorer.ui.main_window import MainWindow
from explorer.ui.state import SelectMode

N = 3000


@pytest.fixture
def window(qtbot, explorer_home):
    win = MainWindow(Library(explorer_home))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.jobs.shutdown()


@pytest.fixture
def parquet_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "articles.parquet"
    pq.write_table(pa.table({
        "id": [f"a{i}" for i in range(N)],
        "section": np.array(["games", "world", "sport"])[np.arange(N) % 3],
        "size": np.arange(N),
        "text": [f"article {i} about {['chess', 'rain', 'goals'][i % 3]}" for i in range(N)],
        "embedding": list(rng.normal(size=(N, 16)).astype(np.float32)),
    }), path)
    return path


def open_and_wait(qtbot, window, path):
    with qtbot.waitSignal(window.state.setChanged, timeout=30000):
        window.open_paths([str(path)])


def test_open_file_fills_table_library_and_title(qtbot, window, parquet_file):
    open_and_wait(qtbot, window, parquet_file)
    model = window.table_view.model
    assert model.rowCount() == N
    assert [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())] == \
        ["id", "section", "size", "text"]
    assert model.data(model.index(5, 3)) == "article 5 about goals"
    assert window.library_view.tree.topLevelItemCount() == 1
    assert "articles" in window.windowTitle()
    assert ui_settings.recent_files() == [str(parquet_file.resolve())]
    # opening the same file again reopens the stored set instead of importing twice
    open_and_wait(qtbot, window, parquet_file)
    assert len(window.library.entries()) == 1


def test_filter_and_search_run_through_duckdb(qtbot, window, parquet_file):
    open_and_wait(qtbot, window, parquet_file)
    view = window.table_view
    view.filter_edit.setText("section = 'games' and size < 30")
    with qtbot.waitSignal(view.queryFinished, timeout=10000):
        view.filter_edit.returnPressed.emit()
    assert view.model.rowCount() == 10
    assert view.count_label.text() == f"10 of {N:,} rows"
    # the hint names this set's own columns, not the demo's
    assert "section = 'games' and size > 10" in view.filter_edit.placeholderText()
    with qtbot.waitSignal(view.queryFinished, timeout=10000):
        view.search_edit.setText("article 2")  # debounced search, intersected with the filter
    assert [view.model.source_row(r) for r in range(view.model.rowCount())] == [21, 24, 27]
    view.filter_edit.setText("nonsense >")
    with qtbot.waitSignal(view.queryFinished, timeout=10000):
        view.filter_edit.returnPressed.emit()
    assert view.message.isVisible() and "syntax error" in view.message.text()


def test_selection_is_shared_both_ways(qtbot, window, parquet_file):
    open_and_wait(qtbot, window, parquet_file)
    view = window.table_view
    window.state.select([4, 5, 6, 100])
    selected = sorted({i.row() for i in view.table.selectionModel().selectedRows()})
    assert selected == [4, 5, 6, 100]
    index = view.model.index(42, 1)
    view.table.scrollTo(index)
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.table.visualRect(index).center())
    np.testing.assert_array_equal(window.state.selection, [42])
    assert window.state.current == 42
    window.state.select([43], SelectMode.ADD)
    assert sorted({i.row() for i in view.table.selectionModel().selectedRows()}) == [42, 43]
    assert "2 selected" in window.set_info.text()


def test_long_job_shows_progress_and_cancels(qtbot, window):
    started = threading.Event()
    results = []

    def slow(state):
        started.set()
        for i in range(400):
            time.sleep(0.01)
            state.progress(i, 400)
        return "finished"

    job = window.jobs.submit("slow", "Slow job", slow, on_done=results.append)
    qtbot.waitUntil(lambda: window.job_status.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: window.job_status.bar.value() > 0, timeout=5000)
    assert window.job_status.label.text() == "Slow job…"
    # its own end: the library panel's looks at the disk end meanwhile too
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=5000,
                          check_params_cb=lambda job_id: job_id == job.id):
        qtbot.mouseClick(window.job_status.cancel_button, Qt.MouseButton.LeftButton)
    assert results == []
    assert not window.job_status.isVisible()


def test_stale_result_never_overwrites_newer(qtbot, window):
    results = []
    gate = threading.Event()

    def old(state):
        gate.wait(5)
        return "old"

    window.jobs.submit("query", "old", old, on_done=results.append)
    with qtbot.waitSignal(window.jobs.jobFinished, timeout=5000):
        window.jobs.submit("query", "new", lambda state: "new", on_done=results.append)
    gate.set()
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=5000)
    assert results == ["new"]


def test_bad_file_shows_dialog_and_app_goes_on(qtbot, window, tmp_path, parquet_file):
    bad = tmp_path / "broken.csv"
    bad.write_text("a,b,c\n1,2,3\n4,5\n")
    window.open_paths([str(bad)])
    qtbot.waitUntil(lambda: window.last_dialog is not None and window.last_dialog.isVisible(),
                    timeout=10000)
    box = window.last_dialog
    assert "ragged" in box.text()
    assert "broken.csv" in box.informativeText() and "line 3" in box.informativeText()
    box.accept()
    open_and_wait(qtbot, window, parquet_file)  # still works afterwards
    assert window.table_view.model.rowCount() == N


def test_nan_rows_asked_then_dropped(qtbot, window, tmp_path, monkeypatch):
    vectors = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    vectors[[2, 9]] = np.nan
    vectors[11] = 0
    path = tmp_path / "nan.npy"
    np.save(path, vectors)
    asked = []
    monkeypatch.setattr("explorer.ui.main_window.ask_drop_nonfinite",
                        lambda parent, p, report: asked.append(report.scan.nan_rows) or True)
    open_and_wait(qtbot, window, path)
    assert asked == [2]
    assert window.state.embedding_set.count == 48
    assert window.last_dialog.objectName() == "importWarnings"
    assert "all zeros" in window.last_dialog.informativeText()


def test_drop_opens_files(qtbot, window, parquet_file):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(parquet_file))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.state.setChanged, timeout=30000):
        window.dropEvent(event)
    assert window.state.embedding_set.count == N


def test_layout_persists(qtbot, explorer_home):
    first = MainWindow(Library(explorer_home))
    qtbot.addWidget(first)
    first.show()
    first.docks["item"].hide()
    first.close()
    second = MainWindow(Library(explorer_home))
    qtbot.addWidget(second)
    second.show()
    assert not second.docks["item"].isVisible()
    assert second.docks["table"].isVisible()
    second.close()


def test_ambiguous_vector_column_is_asked(qtbot, window, tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    path = tmp_path / "two.parquet"
    pq.write_table(pa.table({"name": [f"n{i}" for i in range(30)],
                             "img": list(rng.normal(size=(30, 6)).astype(np.float32)),
                             "txt": list(rng.normal(size=(30, 4)).astype(np.float32))}), path)
    offered = []
    monkeypatch.setattr("explorer.ui.main_window.ask_choice",
                        lambda parent, err: offered.append(err.choices) or "txt")
    open_and_wait(qtbot, window, path)
    assert offered == [("img", "txt")]
    es = window.state.embedding_set
    assert (es.dim, es.vector_column) == (4, "txt")
    assert "img" in es.columns


def test_selection_outside_filter_survives_table_clicks(qtbot, window, parquet_file):
    open_and_wait(qtbot, window, parquet_file)
    view = window.table_view
    window.state.select([1, 3])  # row 1 is 'world', row 3 is 'games'
    view.filter_edit.setText("section = 'games'")
    with qtbot.waitSignal(view.queryFinished, timeout=10000):
        view.filter_edit.returnPressed.emit()
    assert sorted({i.row() for i in view.table.selectionModel().selectedRows()}) == [1]  # row 3
    index = view.model.index(2, 0)  # set row 6
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ControlModifier, view.table.visualRect(index).center())
    np.testing.assert_array_equal(window.state.selection, [1, 3, 6])


def test_cancel_forgets_files_waiting_to_open(qtbot, window, tmp_path, parquet_file):
    other = tmp_path / "other.npy"
    np.save(other, np.random.default_rng(5).normal(size=(40, 4)).astype(np.float32))
    gate = threading.Event()
    window.jobs.submit("open", "Reading", lambda state: gate.wait(5))  # keeps 'open' busy
    window.open_paths([str(parquet_file), str(other)])
    window.cancel_jobs()
    gate.set()
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=10000)
    assert window._queue == []
    es = window.state.embedding_set  # the first file may have finished before the cancel
    assert es is None or es.name == "articles"


def test_neighbours_dock_menus_and_shortcuts(qtbot, window, parquet_file):
    from PySide6.QtGui import QAction

    from explorer.ui.panels.neighbours.panel import NeighboursView

    assert isinstance(window.docks["neighbours"].widget(), NeighboursView)
    assert "concepts" in window.docks and "compression" in window.docks
    shortcuts = [a.shortcut().toString() for a in window.findChildren(QAction)
                 if not a.shortcut().isEmpty()]
    assert len(shortcuts) == len(set(shortcuts)), shortcuts  # no two actions share a key
    assert {"Ctrl+N", "Ctrl+Shift+N", "Ctrl+3", "Alt+Left", "Alt+Right"} <= set(shortcuts)
    window.show_view("compare")
    assert window.neighbours_view.tabs.currentIndex() == 1
    assert window.docks["neighbours"].isVisible()
    window.show_view("hubness")
    assert window.neighbours_view.tabs.currentIndex() == 2
    open_and_wait(qtbot, window, parquet_file)
    window.state.set_current(8)
    with qtbot.waitSignal(window.neighbours_view.searchFinished, timeout=30000):
        window.find_neighbours()  # Ctrl+N
    assert window.neighbours_view.tabs.currentIndex() == 0
    assert window.neighbours_view.result.query.rows == [8]
    assert window.state.neighbours.rows.tolist() == window.neighbours_view.model.rows.tolist()
