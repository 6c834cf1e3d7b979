"""The encode dialog and its job, driven as a user would, with a tiny real ONNX model."""

import threading
from pathlib import Path

import numpy as np
import pytest
from onnx_models import bert_like, write_folder
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from explorer.compute.encoding import pipeline
from explorer.compute.encoding.model_folder import models_dir
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.core.library import Library
from explorer.ui.dialogs.encode_dialog import EncodeDialog

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "runs", "fast", "slow", "red", "blue"]
WAIT = 60_000


@pytest.fixture
def model(explorer_home):
    """Installed under the temp EXPLORER_HOME as "tiny", so the dialog lists it."""
    write_folder(models_dir() / "tiny", bert_like())
    return "tiny"


@pytest.fixture
def dialog(qtbot):
    dlg = EncodeDialog()
    qtbot.addWidget(dlg)
    yield dlg
    dlg.jobs.shutdown()


def write_docs(folder, files=3, paragraphs=40, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        text = "\n\n".join(" ".join(rng.choice(WORDS, rng.integers(3, 12))) + "."
                           for _ in range(paragraphs))
        (folder / f"doc{f}.md").write_text(text, encoding="utf-8")
    return folder


def wait_models(qtbot, dlg):
    qtbot.waitUntil(lambda: dlg.model_combo.isEnabled() and dlg.model_combo.count() > 1,
                    timeout=WAIT)


def wait_inspection(qtbot, dlg):
    qtbot.waitUntil(lambda: dlg._inspection_current(), timeout=WAIT)
    return dlg.inspection


def test_the_dialog_builds_options_from_its_fields(qtbot, model, dialog, tmp_path):
    docs = write_docs(tmp_path / "docs")
    wait_models(qtbot, dialog)
    assert dialog.model_choice() is not None and dialog.model_choice().name == "tiny"
    assert not dialog.encode_button.isEnabled()  # no inputs yet
    dialog.add_inputs([str(docs)])
    dialog.pattern_edit.setText("*.md")
    dialog.chunk_spin.setValue(50)
    dialog.overlap_spin.setValue(5)
    dialog.name_edit.setText("my docs")
    wait_inspection(qtbot, dialog)
    assert dialog.encode_button.isEnabled()
    assert dialog.inputs() == [str(docs)]
    assert dialog.options() == EncodeOptions(model="tiny", column=None, pattern="*.md",
                                             chunk_tokens=50, overlap_tokens=5, name="my docs")
    assert dialog.job_label() == "Encoding 3 files with tiny"
    assert dialog.overlap_spin.maximum() == 49  # the overlap stays below the chunk size
    dialog.name_edit.clear()
    assert dialog.options().name is None and dialog.name_edit.placeholderText() == "docs"
    dialog.input_list.selectAll()
    dialog.remove_selected()
    assert dialog.inputs() == [] and not dialog.encode_button.isEnabled()


def test_files_and_folders_dropped_on_the_dialog_become_inputs(qtbot, model, dialog, tmp_path):
    docs = write_docs(tmp_path / "docs")
    single = tmp_path / "single.txt"
    single.write_text("the cat sat on the mat", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(docs)), QUrl.fromLocalFile(str(single)),
                  QUrl.fromLocalFile(str(docs))])  # the same folder twice is listed once
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    dialog.dropEvent(event)
    assert dialog.inputs() == [str(docs), str(single)]
    assert dialog.pattern_edit.isEnabled()  # a folder is among the inputs
    assert wait_inspection(qtbot, dialog).files == 4


def test_encode_is_disabled_without_a_model(qtbot, dialog, tmp_path):
    docs = write_docs(tmp_path / "docs")
    dialog.add_inputs([str(docs)])
    wait_models(qtbot, dialog)  # nothing installed in the temp home
    assert dialog.model_choice() is None
    assert not dialog.encode_button.isEnabled()
    actions = [dialog.model_combo.itemText(i) for i in range(dialog.model_combo.count())]
    assert actions[-1] == "Choose model folder…"


def test_a_model_folder_given_by_path_is_checked_and_chosen(qtbot, tmp_path):
    folder = write_folder(tmp_path / "elsewhere", bert_like())
    dlg = EncodeDialog(model=str(folder))
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.model_choice() is not None, timeout=WAIT)
    assert dlg.options().model == str(folder.resolve())
    dlg.jobs.shutdown()


def test_the_column_combo_fills_for_a_csv(qtbot, model, dialog, tmp_path):
    table = tmp_path / "notes.csv"
    table.write_text("id,title,body\n1,A cat,the cat sat\n2,A dog,the dog runs\n3,Red,red mat\n",
                     encoding="utf-8")
    wait_models(qtbot, dialog)
    dialog.add_inputs([str(table)])
    result = wait_inspection(qtbot, dialog)
    columns = [dialog.column_combo.itemText(i) for i in range(dialog.column_combo.count())]
    assert columns == ["(automatic)", "title", "body"]
    # two text columns and none called "text": the user has to choose, Encode waits for it
    assert result.error is not None and "Text column" in dialog.estimate_label.text()
    assert not dialog.encode_button.isEnabled()
    dialog.column_combo.setCurrentIndex(2)
    result = wait_inspection(qtbot, dialog)
    assert result.error is None and result.items == 3
    assert dialog.options().column == "body" and dialog.encode_button.isEnabled()
    assert dialog.estimate_label.text().startswith("1 file, about 3 items")


def test_the_estimate_lists_skipped_files_with_their_reasons(qtbot, model, dialog, tmp_path):
    docs = write_docs(tmp_path / "docs", files=2)
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    wait_models(qtbot, dialog)
    dialog.add_inputs([str(docs), str(picture)])
    result = wait_inspection(qtbot, dialog)
    assert result.files == 2 and result.items > 0
    assert [Path(s.path).name for s in result.skipped] == ["photo.png"]
    assert "1 skipped" in dialog.estimate_label.text()
    assert dialog.skipped_list.isVisibleTo(dialog) and dialog.skipped_list.count() == 1
    assert "image model" in dialog.skipped_list.item(0).text()
    assert dialog.encode_button.isEnabled()  # the rest can still be encoded


def test_encode_files_through_the_window_opens_the_new_set(qtbot, window, model, tmp_path):
    docs = write_docs(tmp_path / "docs")
    (docs / "broken.txt").write_bytes(b"caf\xe9 au lait\n")  # Latin-1: skipped, with a reason
    action = next(a for a in window.menuBar().actions()[0].menu().actions()
                  if a.text() == "&Encode Files…")
    assert action.shortcut().toString() == "Ctrl+E"
    action.trigger()
    dlg = window.encode_dialog
    assert dlg is not None and dlg.isVisible()
    wait_models(qtbot, dlg)
    dlg.add_inputs([str(docs)])
    dlg.chunk_spin.setValue(12)
    dlg.overlap_spin.setValue(2)
    wait_inspection(qtbot, dlg)
    assert dlg.job_label() == "Encoding 4 files with tiny"
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        qtbot.keyClick(dlg, Qt.Key.Key_Return)  # Enter = Encode
    result = window.last_encode
    es = window.state.embedding_set
    assert es.library_id == result.entry.id and es.count == result.count > 30
    assert [e.id for e in window.library.entries()] == [result.entry.id]
    assert [Path(s.path).name for s in result.skipped] == ["broken.txt"]
    box = window.last_dialog
    assert box.objectName() == "encodeSkipped" and not box.isModal()
    assert "broken.txt" in box.informativeText() and "UTF-8" in box.informativeText()
    assert window.encode_dialog is None  # closed and let go


def test_escape_closes_the_dialog_without_encoding(qtbot, window, model, tmp_path):
    dlg = window.open_encode_dialog([str(write_docs(tmp_path / "docs"))])
    wait_models(qtbot, dlg)
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    assert window.encode_dialog is None
    # the library's file watcher may be looking at the folder; no encode job runs
    assert [job.kind for job in window.jobs.running() if job.kind != "library:watch"] == []
    assert window.library.entries() == []


def test_cancel_mid_job_leaves_no_set_and_the_next_run_resumes(qtbot, window, model, tmp_path,
                                                               monkeypatch):
    docs = write_docs(tmp_path / "docs", files=4, paragraphs=60)
    options = EncodeOptions(model=model, chunk_tokens=12, overlap_tokens=0, batch_size=2)
    full = encode_inputs([docs], EncodeOptions(**{**options.__dict__, "name": "full"}),
                         Library(tmp_path / "reference"))
    two_windows, release = threading.Event(), threading.Event()
    original = pipeline.WorkFolder.append

    def append_then_hold(self, *args):
        original(self, *args)
        if len(self.progress["pieces"]) == 2:
            two_windows.set()
            release.wait(WAIT / 1000)  # the worker holds here until the user has cancelled

    monkeypatch.setattr(pipeline.WorkFolder, "append", append_then_hold)
    window.start_encode([str(docs)], options, "Encoding 4 files with tiny")
    qtbot.waitUntil(two_windows.is_set, timeout=WAIT)
    qtbot.waitUntil(window.job_status.isVisible, timeout=WAIT)
    assert window.job_status.label.text().startswith("Encoding with tiny")
    qtbot.mouseClick(window.job_status.cancel_button, Qt.MouseButton.LeftButton)
    release.set()
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)
    assert window.statusBar().currentMessage().startswith(
        "Encoding cancelled; run it again to resume")
    assert window.library.entries() == [] and window.state.embedding_set is None
    assert list((pipeline.data_home() / pipeline.JOBS_DIR).iterdir())  # the work folder stays

    monkeypatch.setattr(pipeline.WorkFolder, "append", original)
    dlg = window.open_encode_dialog()  # pre-filled with the cancelled job: Enter resumes it
    assert dlg.inputs() == [str(docs)] and dlg.chunk_spin.value() == 12
    dlg.reject()
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.start_encode([str(docs)], options, "Encoding 4 files with tiny")
    result = window.last_encode
    assert result.resumed_from == 2 * 2 * pipeline.WINDOW_BATCHES
    assert window.state.embedding_set.count == full.count
    assert not list((pipeline.data_home() / pipeline.JOBS_DIR).iterdir())


def test_sets_open_while_an_encode_job_runs(qtbot, window, model, tmp_path, monkeypatch):
    docs = write_docs(tmp_path / "docs", files=2)
    other = encode_inputs([write_docs(tmp_path / "other", files=1)],
                          EncodeOptions(model=model, name="other"), window.library)
    started, release = threading.Event(), threading.Event()
    original = pipeline.WorkFolder.append

    def hold(self, *args):
        started.set()
        release.wait(WAIT / 1000)
        original(self, *args)

    monkeypatch.setattr(pipeline.WorkFolder, "append", hold)
    window.start_encode([str(docs)], EncodeOptions(model=model), "Encoding 2 files with tiny")
    qtbot.waitUntil(started.is_set, timeout=WAIT)
    try:
        with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
            window.open_library_set(other.entry.id)
        assert window.state.embedding_set.name == "other"
        assert window.window_jobs.running("encode")  # still going
    finally:
        release.set()
    qtbot.waitUntil(lambda: window.last_encode is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: window.state.embedding_set.library_id == window.last_encode.entry.id,
                    timeout=WAIT)


def test_a_failed_encode_shows_an_error(qtbot, window, model, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_bytes(b"")
    window.start_encode([str(empty)], EncodeOptions(model=model), "Encoding 1 file with tiny")
    qtbot.waitUntil(lambda: isinstance(window.last_dialog, QMessageBox), timeout=WAIT)
    assert window.last_dialog.windowTitle() == "Cannot encode"
    assert "skipped" in window.last_dialog.text()
