"""The Library panel and the Storage dialog, driven as a user would (issue 22)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from explorer.core.errors import InputError
from explorer.core.loaders import LoadOptions
from explorer.core.partial_folders import TRASH_PREFIX
from explorer.core.storage import human_bytes, usage
from explorer.ui.panels.library import COLUMNS, SIZE

WAIT = 30000  # ms: only how long a broken job may hang a test before it fails


@pytest.fixture
def vecs(tmp_path) -> Path:
    path = tmp_path / "vecs.npy"
    np.save(path, np.random.default_rng(0).normal(size=(400, 12)).astype(np.float32))
    return path


def open_and_wait(qtbot, window, path, options=None):
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_paths([str(path)], options)


def rows(window) -> list[str]:
    tree = window.library_view.tree
    return sorted(tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount()))


def test_opening_an_unchanged_file_again_reuses_its_set(qtbot, window, vecs, tmp_path):
    for _ in range(3):
        open_and_wait(qtbot, window, vecs)
    assert [e.name for e in window.library.entries()] == ["vecs"]
    assert "already in the library as “vecs”" in window.statusBar().currentMessage()
    assert rows(window) == ["vecs"]
    meta = tmp_path / "labels.csv"
    meta.write_text("label\n" + "".join(f"l{i}\n" for i in range(400)))
    open_and_wait(qtbot, window, vecs, LoadOptions(metadata_path=meta))
    assert window.state.embedding_set.name == "vecs (metadata labels.csv)"
    open_and_wait(qtbot, window, vecs, LoadOptions(metadata_path=meta))
    assert rows(window) == ["vecs", "vecs (metadata labels.csv)"]


def test_sizes_arrive_from_a_background_job_and_match_du(qtbot, window, vecs):
    window.library.import_file(vecs)  # not opened: no view adds artefacts meanwhile
    window.refresh_library()
    item = window.library_view.tree.topLevelItem(0)
    assert item.text(SIZE) == "…"
    qtbot.waitUntil(lambda: item.text(SIZE) != "…", timeout=WAIT)
    [measured] = usage(window.library).sets
    assert item.text(SIZE) == human_bytes(measured.total)
    assert COLUMNS[SIZE] == "Size"


def test_damaged_sets_are_listed_with_why_and_can_be_removed(qtbot, window, vecs, monkeypatch):
    open_and_wait(qtbot, window, vecs)
    # The views' caches (index, map) land before the damage: one finishing after the removal
    # would leave a leftover folder (hidden, gc's to remove), not what this test is about.
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)
    folder = Path(window.library.entry("vecs").path)
    (folder / "manifest.json").write_text("{broken")
    window.refresh_library()
    assert rows(window) == ["vecs — damaged: manifest.json is not valid JSON"]
    item = window.library_view.tree.topLevelItem(0)
    assert "Expecting property name enclosed in double quotes" in item.toolTip(0)
    assert "vecs" in window.library_view.damaged
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.library_view.removeRequested.emit("vecs")
    assert rows(window) == [] and not folder.exists()


def test_a_set_whose_files_are_damaged_shows_up_once_they_are_checked(qtbot, window, vecs):
    open_and_wait(qtbot, window, vecs)
    # the panels' jobs read the set's memory-mapped vectors: truncating the file under a
    # running one would end the process with SIGBUS, which is not what this test is about
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)
    (Path(window.library.entry("vecs").path) / "vectors.npy").write_bytes(b"")
    window.refresh_library()
    qtbot.waitUntil(lambda: "vecs" in window.library_view.damaged, timeout=WAIT)
    assert rows(window)[0].startswith("vecs — damaged: vectors.npy is not a readable")


def test_removing_from_a_read_only_library_says_so(qtbot, window, vecs, monkeypatch):
    open_and_wait(qtbot, window, vecs)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(window.library.sets_dir))
    monkeypatch.setattr(os, "rename", read_only)
    window.remove_library_set("vecs")
    assert "is not writable" in window.last_dialog.text()
    assert rows(window) == ["vecs"]


def test_rename_refuses_a_taken_name_and_updates_the_title(qtbot, window, vecs, tmp_path,
                                                            monkeypatch):
    other = tmp_path / "other.npy"
    np.save(other, np.ones((5, 12), np.float32))
    open_and_wait(qtbot, window, other)
    open_and_wait(qtbot, window, vecs)
    answers = iter([("other", True), ("my vectors", True)])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: next(answers))
    window.rename_library_set("vecs")
    assert "already has a set called 'other'" in window.last_dialog.text()
    window.rename_library_set("vecs")
    assert rows(window) == ["my vectors", "other"]
    assert window.windowTitle().startswith("my vectors")


def test_storage_dialog_shows_du_and_cleans_up_after_asking(qtbot, window, vecs, monkeypatch):
    open_and_wait(qtbot, window, vecs)
    trash = window.library.sets_dir / f"{TRASH_PREFIX}0001"
    trash.mkdir()
    (trash / "vectors.npy").write_bytes(b"x" * 50_000)
    window.show_storage()
    dialog = window.storage_dialog
    qtbot.waitUntil(lambda: dialog.usage is not None, timeout=WAIT)
    tree = dialog.tree
    labels = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert labels[0] == "vecs" and "Partial folders of imports" in labels
    set_row = tree.topLevelItem(0)
    parts = [set_row.child(i).text(0) for i in range(set_row.childCount())]
    assert parts[:2] == ["vectors", "metadata"] and "index (artefacts)" in parts
    assert human_bytes(dialog.usage.total) in dialog.summary.text()
    assert "can be freed" in dialog.summary.text()
    asked = []

    def answer(box):
        asked.append((box.text(), box.detailedText()))
        return QMessageBox.StandardButton.Yes
    monkeypatch.setattr(QMessageBox, "exec", answer)
    with qtbot.waitSignal(dialog.libraryChanged, timeout=WAIT):
        dialog.clean_button.click()
    [(question, details)] = asked
    assert question.startswith("Remove 1 item and free ") and trash.name in details
    assert not trash.exists() and dialog.last_result.freed >= 50_000
    assert window.library.open("vecs").count == 400
    qtbot.waitUntil(lambda: dialog.refresh_button.isEnabled(), timeout=WAIT)
    dialog.clean_button.click()
    qtbot.waitUntil(lambda: "Nothing to remove" in dialog.summary.text(), timeout=WAIT)
    assert len(asked) == 1


def test_an_error_in_the_storage_dialog_is_shown_not_raised(qtbot, window, monkeypatch):
    import explorer.ui.dialogs.storage_dialog as storage_dialog

    def fails(*args, **kwargs):
        raise InputError("the library folder is not readable")
    monkeypatch.setattr(storage_dialog, "library_usage", fails)
    window.show_storage()
    dialog = window.storage_dialog
    qtbot.waitUntil(lambda: dialog.last_box is not None, timeout=WAIT)
    assert "not readable" in dialog.last_box.text()


def test_columns_that_do_not_fit_are_hidden_not_the_name(qtbot, window, vecs):
    open_and_wait(qtbot, window, vecs)
    tree = window.library_view.tree
    window.docks["library"].setFloating(True)
    window.docks["library"].resize(360, 200)
    qtbot.waitUntil(lambda: tree.isColumnHidden(COLUMNS.index("Imported")), timeout=WAIT)
    assert not tree.isColumnHidden(SIZE) and tree.columnWidth(0) >= 100
    assert "imported:" in tree.topLevelItem(0).toolTip(0)  # hidden columns are in the tip
    window.docks["library"].resize(1000, 200)
    qtbot.waitUntil(lambda: not tree.isColumnHidden(COLUMNS.index("Imported")), timeout=WAIT)
