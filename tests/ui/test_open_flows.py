"""Opening your own vectors (issue 16): a vectors-only file is offered metadata and then a
model, a table of text without vectors lands in the Encode dialog; a set that has metadata
opens with no question."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from explorer.core.errors import InputError
from explorer.ui.dialogs.encode_inspect import ModelChoice

from dialog_fakes import FakeMetadataDialog, FakeModelDialog, install

WAIT = 30000  # ms: only how long a broken job may hang a test before it fails
DIM = 12


@pytest.fixture
def vecs(tmp_path) -> Path:
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(50, DIM)).astype(np.float32))
    return path


@pytest.fixture
def names(tmp_path) -> Path:
    path = tmp_path / "names.csv"
    path.write_text("name\n" + "".join(f"item {i}\n" for i in range(50)))
    return path


@pytest.fixture
def models(monkeypatch) -> list[ModelChoice]:
    """The installed models the window finds (none unless a test adds some)."""
    found: list[ModelChoice] = []

    class Found:
        choices = found
    monkeypatch.setattr("explorer.ui.library_actions.find_models", lambda state: Found)
    return found


@pytest.fixture
def attached(monkeypatch) -> list[tuple]:
    """attach_metadata, recording what it was asked and giving the entry back."""
    calls: list[tuple] = []

    def attach(library, key, path, *, id_column=None, label_column=None, state=None):
        calls.append((key, Path(path).name, id_column))
        return library.entry(key)
    monkeypatch.setattr("explorer.ui.library_actions.attach_metadata", attach)
    return calls


def open_and_wait(qtbot, window, path):
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_paths([str(path)])


def offered(qtbot, window) -> QMessageBox:
    qtbot.waitUntil(lambda: window.library_actions.offer is not None, timeout=WAIT)
    return window.library_actions.offer


def test_vectors_only_are_offered_metadata_then_a_model(qtbot, window, vecs, names, models,
                                                        attached, monkeypatch):
    install(monkeypatch, answer=str(names))
    models.append(ModelChoice("tiny", "tiny", "text", DIM, ""))
    models.append(ModelChoice("wide", "wide", "text", DIM * 2, ""))
    open_and_wait(qtbot, window, vecs)
    es = window.state.embedding_set  # imported and shown before anything is asked
    assert es.name == "x" and window.library.entry("x")
    box = offered(qtbot, window)
    assert box.text() == ("“x.npy” has vectors but no metadata. Attach a metadata file (names, "
                          "texts, categories)?")
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):  # the set, opened again
        box.button(QMessageBox.StandardButton.Yes).click()
    assert FakeMetadataDialog.made == [("x", 50, None)]
    assert attached == [("x", "names.csv", "name")]
    assert window.state.embedding_set is not es
    qtbot.waitUntil(lambda: len(FakeModelDialog.made) == 1, timeout=WAIT)
    dialog = FakeModelDialog.made[0]
    assert (dialog.set_id, dialog.runner) == ("x", window.jobs)
    assert "tiny has its 12 dimensions" in window.statusBar().currentMessage()


def test_both_offers_can_be_skipped(qtbot, window, vecs, models, attached, monkeypatch):
    install(monkeypatch, answer=None)
    open_and_wait(qtbot, window, vecs)
    es = window.state.embedding_set
    offered(qtbot, window).button(QMessageBox.StandardButton.No).click()
    assert FakeMetadataDialog.made == [] and attached == []
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)
    assert FakeModelDialog.made == []  # no installed model has the set's dimension
    assert window.state.embedding_set is es
    # cancelling the metadata dialog skips the attaching, not the set
    window.library.remove("x")
    models.append(ModelChoice("tiny", "tiny", "text", DIM, ""))
    open_and_wait(qtbot, window, vecs)
    offered(qtbot, window).button(QMessageBox.StandardButton.Yes).click()
    assert len(FakeMetadataDialog.made) == 1 and attached == []
    qtbot.waitUntil(lambda: len(FakeModelDialog.made) == 1, timeout=WAIT)


def test_a_set_with_metadata_opens_without_a_question(qtbot, window, tmp_path, models,
                                                      monkeypatch):
    install(monkeypatch)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"name": [f"n{i}" for i in range(20)],
                             "embedding": list(np.ones((20, 4), np.float32))}), path)
    open_and_wait(qtbot, window, path)
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)
    assert window.library_actions.offer is None and FakeModelDialog.made == []


def test_the_offer_waits_for_the_import_warnings(qtbot, window, tmp_path, models, monkeypatch):
    vectors = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
    vectors[3] = 0
    path = tmp_path / "zeros.npy"
    np.save(path, vectors)
    open_and_wait(qtbot, window, path)
    assert window.last_dialog.objectName() == "importWarnings"
    assert window.library_actions.offer is None
    window.last_dialog.accept()
    assert offered(qtbot, window).objectName() == "attachMetadataOffer"


def test_several_files_are_not_interrupted_by_questions(qtbot, window, vecs, tmp_path, models):
    second = tmp_path / "y.npy"
    np.save(second, np.ones((7, 3), np.float32))
    window.open_paths([str(vecs), str(second)])
    qtbot.waitUntil(lambda: {e.name for e in window.library.entries()} == {"x", "y"},
                    timeout=WAIT)
    qtbot.waitUntil(lambda: window.library_actions.offer is not None, timeout=WAIT)
    assert "“y.npy” has vectors" in window.library_actions.offer.text()  # the last one asks


def text_only(monkeypatch, path: Path) -> None:
    """Opening `path` says what the core says of a table with text and no vectors."""
    def open_file(p, options, state):
        raise InputError("no vector column found: it holds text", path=p,
                         option="encode_column", choices=("body", "title"))
    monkeypatch.setattr("explorer.ui.main_window.open_file", open_file)


def test_a_text_table_opens_the_encode_dialog_on_its_text(qtbot, window, tmp_path, monkeypatch):
    path = tmp_path / "notes.csv"
    path.write_text("title,body\nA,some text\nB,more text\n")
    text_only(monkeypatch, path)
    window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.encode_dialog is not None, timeout=WAIT)
    dialog = window.encode_dialog
    assert dialog.inputs() == [str(path)]
    assert dialog.column_combo.currentData() == "body"
    assert "notes.csv holds text but no vectors" in window.statusBar().currentMessage()
    assert window.last_dialog is None  # no error: this is how such a file is opened
    dialog.reject()


def test_a_dropped_text_table_too(qtbot, window, tmp_path, monkeypatch):
    path = tmp_path / "notes.csv"
    path.write_text("title,body\nA,some text\n")
    text_only(monkeypatch, path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: window.encode_dialog is not None, timeout=WAIT)
    assert window.encode_dialog.column_combo.currentData() == "body"
    window.encode_dialog.reject()


# --- with the core's own attach and loaders --------------------------------------------------
def test_attached_names_label_the_reopened_set(qtbot, window, vecs, names, models, monkeypatch):
    install(monkeypatch, answer=str(names))
    open_and_wait(qtbot, window, vecs)
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        offered(qtbot, window).button(QMessageBox.StandardButton.Yes).click()
    es = window.state.embedding_set
    assert "name" in es.columns and es.label(7) == "item 7"
    assert "name" in window.library.entry("x").columns


def test_a_real_text_table_lands_in_the_encode_dialog(qtbot, window, tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("stars,review\n" + "".join(
        f"{i % 5},this product was {'good' if i % 2 else 'bad'} in way number {i}\n"
        for i in range(40)))
    window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.encode_dialog is not None, timeout=WAIT)
    assert window.encode_dialog.column_combo.currentData() == "review"
    window.encode_dialog.reject()


def test_a_dropped_folder_of_shards_opens_as_one_set(qtbot, window, tmp_path, monkeypatch):
    from shard_writer import clustered, write_shards

    monkeypatch.setenv("EXPLORER_SHARDED_FIT_BYTES", "0")  # as if the vectors did not fit
    write_shards(tmp_path / "run", clustered(400, 8), 3)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "run"))])
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.dropEvent(QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                                    Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    es = window.state.embedding_set
    assert es.count == 400 and es.name == "run"
    entry = window.library.entry(es.library_id)
    assert entry.sharded and len(entry.shards) == 3
    qtbot.waitUntil(lambda: window.library_view.find(es.library_id) is not None, timeout=WAIT)
    tree = window.library_view.tree
    tips = [tree.topLevelItem(i).toolTip(0) for i in range(tree.topLevelItemCount())]
    assert any("3 shard files" in tip for tip in tips), tips


def test_a_folder_without_shards_goes_to_the_encode_dialog(qtbot, window, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("Some notes about cats.\n")
    window.open_paths([str(folder)])
    qtbot.waitUntil(lambda: window.encode_dialog is not None, timeout=WAIT)
    assert window.encode_dialog.inputs() == [str(folder)]
    assert "holds no vector shards" in window.statusBar().currentMessage()
    window.encode_dialog.reject()
