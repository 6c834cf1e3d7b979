"""The "Attach metadata" dialog (issue 16), driven as a user would, on real files."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from explorer.core.library import Library
from explorer.ui.dialogs import metadata_dialog
from explorer.ui.dialogs.metadata_dialog import CELL_CHARS, MetadataDialog

WAIT = 30_000  # ms: only how long a broken job may hang a test before it fails
ROWS = 120
SHOTS = Path(os.environ.get("DIALOG_SHOTS", "/tmp/dialog-shots"))
WORDS = ["harbour", "lantern", "orchard", "meadow", "glacier", "compass", "violin", "saffron"]


@pytest.fixture
def stored(library: Library, tmp_path) -> tuple[str, int]:
    """(name, count) of a real set in the test's library: random vectors, no metadata."""
    path = tmp_path / "vectors.npy"
    np.save(path, np.random.default_rng(0).normal(size=(ROWS, 16)).astype(np.float32))
    entry = library.import_file(path)
    return entry.name, entry.count


def metadata_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(1)
    titles = [f"{WORDS[i % len(WORDS)].title()} {i}" for i in range(rows)]
    bodies = [" ".join(rng.choice(WORDS, 30)) + "." for _ in range(rows)]
    return pa.table({"doc_id": [f"d{i:04d}" for i in range(rows)], "title": titles,
                     "text": bodies, "year": rng.integers(1990, 2024, rows),
                     "score": rng.random(rows).round(3)})


@pytest.fixture
def parquet_file(tmp_path) -> Path:
    path = tmp_path / "papers.parquet"
    pq.write_table(metadata_table(ROWS), path)
    return path


@pytest.fixture
def short_csv(tmp_path) -> Path:
    """The same columns, but 7 rows fewer than the set has vectors."""
    path = tmp_path / "short.csv"
    table = metadata_table(ROWS - 7)
    lines = ["doc_id,title,year"] + [f"{d},{t},{y}" for d, t, y in zip(
        *(table.column(c).to_pylist() for c in ("doc_id", "title", "year")))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def make_dialog(qtbot):
    made = []

    def make(name: str, rows: int, path: str | None = None) -> MetadataDialog:
        dlg = MetadataDialog(None, set_name=name, expected_rows=rows, path=path)
        qtbot.addWidget(dlg)
        made.append(dlg)
        return dlg

    yield make
    for dlg in made:
        dlg.jobs.shutdown()


def wait_loaded(qtbot, dlg: MetadataDialog) -> None:
    qtbot.waitUntil(lambda: not dlg.loading() and (dlg.preview() is not None
                                                   or dlg.problem_label.isVisibleTo(dlg)),
                    timeout=WAIT)


def combo_items(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_a_matching_parquet_file_is_previewed_with_its_guesses(qtbot, make_dialog, stored,
                                                               parquet_file):
    name, count = stored
    dlg = make_dialog(name, count)
    assert dlg.windowTitle() == f"Attach metadata to “{name}”"
    assert not dlg.attach_button.isEnabled() and dlg.path() is None
    with qtbot.waitSignal(dlg.previewLoaded, timeout=WAIT):
        dlg.set_path(str(parquet_file))
    assert dlg.summary_label.text() == "120 rows · 5 columns — matches the 120 vectors"
    assert not dlg.problem_label.isVisibleTo(dlg)
    assert dlg.attach_button.isEnabled() and dlg.attach_button.isDefault()
    preview = dlg.preview()
    assert combo_items(dlg.id_combo) == ["None", *preview.columns]
    assert combo_items(dlg.label_combo) == ["None", *preview.columns]
    assert dlg.id_combo.currentData() == preview.id_column
    assert dlg.label_column() == preview.label_column == "title"  # short, unique, named so
    assert "lists and tooltips" in dlg.label_combo.toolTip()
    # the table: the first rows, numbered as the items they describe; long text cut short
    model = dlg.head_model
    assert model.rowCount() == preview.head.num_rows > 0
    assert model.headerData(0, Qt.Orientation.Vertical) == 1
    text_col = preview.columns.index("text")
    cell = model.index(0, text_col)
    full = preview.head.column("text")[0].as_py()
    shown = model.data(cell)
    assert len(full) > CELL_CHARS and shown.endswith("…") and len(shown) == CELL_CHARS
    assert model.data(cell, Qt.ItemDataRole.ToolTipRole) == full
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole) is None  # short: no tip
    year = preview.columns.index("year")  # its readable type under its name
    assert model.headerData(year, Qt.Orientation.Horizontal) == f"year\n{preview.types[year]}"
    dlg.show()
    shoot(qtbot, dlg, "metadata-dialog")
    # the user's choices are what the caller reads; Enter attaches
    dlg.id_combo.setCurrentIndex(dlg.id_combo.findData("doc_id"))
    dlg.label_combo.setCurrentIndex(0)
    assert (dlg.path(), dlg.id_column(), dlg.label_column()) == (str(parquet_file), "doc_id",
                                                                 None)
    with qtbot.waitSignal(dlg.accepted, timeout=WAIT):
        qtbot.keyClick(dlg, Qt.Key.Key_Return)


def test_a_row_count_mismatch_disables_attach_and_shows_both_counts(qtbot, make_dialog, stored,
                                                                    short_csv):
    name, count = stored
    dlg = make_dialog(name, count, path=str(short_csv))  # a path given at open is read at once
    wait_loaded(qtbot, dlg)
    assert dlg.preview() is not None and dlg.preview().problem
    assert dlg.summary_label.text() == "113 rows · 3 columns — the set has 120 vectors"
    problem = dlg.problem_label.text()
    assert dlg.problem_label.isVisibleTo(dlg) and "113" in problem and problem[0].isupper()
    assert "#c62828" in dlg.problem_label.styleSheet()
    assert not dlg.attach_button.isEnabled()
    assert not dlg.id_combo.isEnabled() and not dlg.label_combo.isEnabled()
    assert dlg.head_model.rowCount() > 0  # the user still sees what the file holds
    dlg.show()
    shoot(qtbot, dlg, "metadata-dialog-mismatch")
    qtbot.keyClick(dlg, Qt.Key.Key_Return)  # Enter does nothing while Attach is disabled
    assert dlg.isVisible()
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    assert not dlg.isVisible() and dlg.result() == 0


def test_an_unreadable_file_is_said_inline(qtbot, make_dialog, stored, tmp_path):
    name, count = stored
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"this is not parquet at all")
    dlg = make_dialog(name, count)
    with qtbot.waitSignal(dlg.previewFailed, timeout=WAIT):
        dlg.set_path(str(broken))
    assert dlg.problem_label.isVisibleTo(dlg) and dlg.problem_label.text()
    assert "inside the app" not in dlg.problem_label.text()  # the user's file, said as such
    assert not dlg.attach_button.isEnabled() and dlg.path() is None


def test_a_second_file_chosen_while_the_first_loads_wins(qtbot, make_dialog, stored,
                                                          parquet_file, short_csv, monkeypatch):
    name, count = stored
    first_started, release = threading.Event(), threading.Event()
    real = metadata_dialog.preview_metadata

    def slow_for_the_first(path, expected_rows, rows=20):
        if Path(path) == short_csv:
            first_started.set()
            release.wait(WAIT / 1000)  # held until the user has picked the other file
        return real(path, expected_rows, rows)

    monkeypatch.setattr(metadata_dialog, "preview_metadata", slow_for_the_first)
    dlg = make_dialog(name, count)
    dlg.set_path(str(short_csv))
    qtbot.waitUntil(first_started.is_set, timeout=WAIT)
    assert dlg.loading() and dlg.busy_row.isVisibleTo(dlg)
    assert not dlg.attach_button.isEnabled()
    with qtbot.waitSignal(dlg.previewLoaded, timeout=WAIT) as shown:
        dlg.paths_dropped([str(parquet_file)])  # what a drop does; see the drop test
    assert shown.args[0].path == str(parquet_file)
    release.set()  # the first file's answer now arrives, late
    qtbot.waitUntil(lambda: not dlg.jobs.running(), timeout=WAIT)
    qtbot.wait(50)  # let the runner deliver whatever it would
    assert dlg.path() == str(parquet_file) and dlg.attach_button.isEnabled()
    assert dlg.summary_label.text().endswith("matches the 120 vectors")
    assert not dlg.problem_label.isVisibleTo(dlg)


def test_cancel_stops_the_read_and_its_answer_is_dropped(qtbot, make_dialog, stored,
                                                         parquet_file, monkeypatch):
    name, count = stored
    started, release = threading.Event(), threading.Event()
    real = metadata_dialog.preview_metadata

    def held(path, expected_rows, rows=20):
        started.set()
        release.wait(WAIT / 1000)
        return real(path, expected_rows, rows)

    monkeypatch.setattr(metadata_dialog, "preview_metadata", held)
    dlg = make_dialog(name, count)
    dlg.set_path(str(parquet_file))
    qtbot.waitUntil(started.is_set, timeout=WAIT)
    qtbot.mouseClick(dlg.stop_button, Qt.MouseButton.LeftButton)
    assert not dlg.loading() and not dlg.busy_row.isVisibleTo(dlg)
    assert "stopped" in dlg.summary_label.text()
    release.set()
    qtbot.waitUntil(lambda: not dlg.jobs.running(), timeout=WAIT)
    qtbot.wait(50)
    assert dlg.preview() is None and not dlg.attach_button.isEnabled()


def test_a_dropped_file_is_read_and_a_typed_path_after_a_pause(qtbot, make_dialog, stored,
                                                                parquet_file, short_csv):
    name, count = stored
    dlg = make_dialog(name, count)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(parquet_file))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(dlg.previewLoaded, timeout=WAIT):
        dlg.dropEvent(event)
    assert dlg.path_edit.text() == str(parquet_file) and dlg.attach_button.isEnabled()
    dlg.show()
    dlg.path_edit.clear()
    with qtbot.waitSignal(dlg.previewLoaded, timeout=WAIT):
        qtbot.keyClicks(dlg.path_edit, str(short_csv))
        assert not dlg.attach_button.isEnabled()  # nothing to attach while the path is typed
    assert dlg.path() == str(short_csv) and not dlg.attach_button.isEnabled()
    # Enter in the field reads a typed path at once, without waiting for the pause
    dlg.path_edit.clear()
    qtbot.keyClicks(dlg.path_edit, str(parquet_file))
    assert not dlg.loading()  # the pause has not come yet
    with qtbot.waitSignal(dlg.previewLoaded, timeout=WAIT):
        qtbot.keyClick(dlg.path_edit, Qt.Key.Key_Return)
        assert dlg.loading()  # at once
    assert dlg.path() == str(parquet_file) and dlg.isVisible()
    with qtbot.waitSignal(dlg.accepted, timeout=WAIT):  # and Enter again attaches it
        qtbot.keyClick(dlg.path_edit, Qt.Key.Key_Return)


def shoot(qtbot, dlg: MetadataDialog, name: str) -> None:
    """A picture of the dialog as filled in, to look at (not compared)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.wait(100)  # the layout settles on posted events: let them run
    dlg.grab().save(str(SHOTS / f"{name}.png"))


def test_a_stored_set_that_dropped_rows_takes_the_imported_files_count(qtbot, library, tmp_path):
    """With the library's own previewer, a file with the imported file's count can be joined
    (through the rows the import kept); by row count alone it could not."""
    from explorer.core.import_options import ImportOptions
    from explorer.core.metadata_attach import preview_attach

    x = np.random.default_rng(0).normal(size=(ROWS, 16)).astype(np.float32)
    x[[3, 50]] = np.nan
    np.save(tmp_path / "nan.npy", x)
    entry = library.import_file(tmp_path / "nan.npy", ImportOptions(drop_nonfinite=True))
    path = tmp_path / "papers.parquet"
    pq.write_table(metadata_table(ROWS), path)
    for previewer, can in ((None, False),
                           (lambda file: preview_attach(library, entry.id, file), True)):
        dlg = MetadataDialog(None, set_name=entry.name, expected_rows=entry.count,
                             path=str(path), previewer=previewer)
        qtbot.addWidget(dlg)
        wait_loaded(qtbot, dlg)
        assert dlg.attach_button.isEnabled() is can, dlg.summary_label.text()
        dlg.jobs.shutdown()
