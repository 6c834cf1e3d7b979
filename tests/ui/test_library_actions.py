"""The library panel's context menu and keys, driven as a user would: each entry does what it
says, in a job, and the shown set follows (issue 16)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox

from explorer.core.library import Library
from explorer.core.loaders import LoadOptions, open_file
from explorer.core.model_check import ModelCheck
from explorer.ui.panels.library import AUTOMATIC_LABEL, MODEL

from dialog_fakes import FakeMetadataDialog, FakeModelDialog, install

WAIT = 30000  # ms: only how long a broken job may hang a test before it fails
N = 60


@pytest.fixture
def vecs(tmp_path) -> Path:
    path = tmp_path / "vecs.npy"
    np.save(path, np.random.default_rng(0).normal(size=(400, 12)).astype(np.float32))
    return path


@pytest.fixture
def titled(tmp_path) -> Path:
    """Items with a code (their ids), a title and a category."""
    path = tmp_path / "titled.parquet"
    pq.write_table(pa.table({
        "code": [f"c{i}" for i in range(N)],
        "title": [f"title {i}" for i in range(N)],
        "kind": np.array(["a", "b", "c"])[np.arange(N) % 3],
        "embedding": list(np.random.default_rng(1).normal(size=(N, 8)).astype(np.float32)),
    }), path)
    return path


def open_and_wait(qtbot, window, path):
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_paths([str(path)])


def rows(window) -> list[str]:
    tree = window.library_view.tree
    return sorted(tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount()))


def action(menu: QMenu, text: str):
    found = [a for a in menu.actions() if a.text() == text]
    assert found, [a.text() for a in menu.actions()]
    return found[0]


def texts(menu: QMenu) -> list[str]:
    return [a.text() or "—" for a in menu.actions()]


def status_log(window) -> list[str]:
    """Every message the status bar shows from now on. A job's closing message may time out,
    or give way to another, before the set the job reopens is shown (CI's loaded machine), so
    tests read this log rather than the message showing at the end."""
    shown: list[str] = []
    window.statusBar().messageChanged.connect(shown.append)
    return shown


def idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)


def yes(monkeypatch, asked: list | None = None) -> None:
    def answer(parent, title, text, *args, **kwargs):
        if asked is not None:
            asked.append(text)
        return QMessageBox.StandardButton.Yes
    monkeypatch.setattr(QMessageBox, "question", answer)


def test_menu_of_a_set_and_of_a_damaged_one(qtbot, window, vecs):
    open_and_wait(qtbot, window, vecs)
    idle(qtbot, window)
    menu = window.library_view.menu_for("vecs")
    assert texts(menu) == ["Open", "Rename…", "Set's model…", "Label column", "Attach metadata…",
                           "Re-import", "Reveal in folder", "—", "Remove…"]
    assert all(a.toolTip() and a.statusTip() for a in menu.actions() if a.text())
    keys = {a.text(): a.shortcut().toString() for a in menu.actions()}
    assert (keys["Open"], keys["Rename…"], keys["Remove…"]) == ("Return", "F2", "Del")
    (Path(window.library.entry("vecs").path) / "manifest.json").write_text("{broken")
    window.refresh_library()
    assert texts(window.library_view.menu_for("vecs")) == ["Reveal in folder", "—", "Remove…"]


def test_a_set_made_here_is_not_offered_a_re_import(qtbot, window, vecs):
    window.library.import_set(open_file(vecs, LoadOptions()), name="made here")
    window.refresh_library()
    assert "Re-import" not in texts(window.library_view.menu_for("made-here"))


def test_open_reveal_and_keys(qtbot, window, vecs, monkeypatch):
    window.library.import_file(vecs)
    window.refresh_library()
    view = window.library_view
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        action(view.menu_for("vecs"), "Open").trigger()
    assert window.state.embedding_set.library_id == "vecs"
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    action(view.menu_for("vecs"), "Reveal in folder").trigger()
    assert opened == [window.library.entry("vecs").path]
    # F2 and Delete on the list act on the selected set
    asked = []
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: asked.append("rename") or
                        ("", False))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append("remove") or
                        QMessageBox.StandardButton.No)
    view.tree.setCurrentItem(view.tree.topLevelItem(0))
    view.tree.setFocus()
    qtbot.keyClick(view.tree, Qt.Key.Key_F2)
    qtbot.keyClick(view.tree, Qt.Key.Key_Delete)
    assert asked == ["rename", "remove"]


def test_remove_asks_and_clears(qtbot, window, titled, monkeypatch):
    open_and_wait(qtbot, window, titled)
    asked = []
    yes(monkeypatch, asked)
    action(window.library_view.menu_for("titled"), "Remove…").trigger()
    assert "Remove “titled” (60 items)" in asked[0]
    assert window.state.embedding_set is None  # at once: no view reads a set being removed
    # the job's end (the list may have seen the set go before it: the folder goes first)
    qtbot.waitUntil(lambda: "Removed “titled”" in window.statusBar().currentMessage(),
                    timeout=WAIT)
    assert rows(window) == [] and window.library.entries() == []


def test_removing_from_a_read_only_library_says_so(qtbot, window, vecs, monkeypatch):
    open_and_wait(qtbot, window, vecs)
    idle(qtbot, window)  # the views' caches are written (with os.rename) before it fails
    yes(monkeypatch)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(window.library.sets_dir))
    monkeypatch.setattr(os, "rename", read_only)
    window.library_actions.remove("vecs")
    qtbot.waitUntil(lambda: window.library_actions.last_dialog is not None, timeout=WAIT)
    assert "is not writable" in window.library_actions.last_dialog.text()
    assert rows(window) == ["vecs"]


def test_rename_refuses_a_taken_name_and_updates_the_title(qtbot, window, vecs, tmp_path,
                                                            monkeypatch):
    other = tmp_path / "other.npy"
    np.save(other, np.ones((5, 12), np.float32))
    open_and_wait(qtbot, window, other)
    open_and_wait(qtbot, window, vecs)
    answers = iter([("other", True), ("my vectors", True)])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: next(answers))
    actions = window.library_actions
    actions.rename("vecs")
    qtbot.waitUntil(lambda: actions.last_dialog is not None, timeout=WAIT)
    assert "already has a set called 'other'" in actions.last_dialog.text()
    action(window.library_view.menu_for("vecs"), "Rename…").trigger()
    qtbot.waitUntil(lambda: window.windowTitle().startswith("my vectors"), timeout=WAIT)
    assert rows(window) == ["my vectors", "other"]


def test_label_column_submenu_changes_the_labels(qtbot, window, titled):
    open_and_wait(qtbot, window, titled)
    es = window.state.embedding_set
    labels = action(window.library_view.menu_for("titled"), "Label column").menu()
    assert texts(labels) == [AUTOMATIC_LABEL, "code", "title", "kind"]
    checked = [a.text() for a in labels.actions() if a.isChecked()]
    assert checked == [es.label_column or AUTOMATIC_LABEL]
    window.state.select([3, 4])
    action(labels, "kind").trigger()
    qtbot.waitUntil(lambda: window.state.embedding_set is not es, timeout=WAIT)
    shown = window.state.embedding_set
    assert (shown.label_column, shown.label(4)) == ("kind", "b")
    assert window.state.selection.tolist() == [3, 4]  # the same rows: the selection stays
    assert window.library.entry("titled").label_column == "kind"
    labels = action(window.library_view.menu_for("titled"), "Label column").menu()
    assert [a.text() for a in labels.actions() if a.isChecked()] == ["kind"]
    action(labels, AUTOMATIC_LABEL).trigger()  # the id column, else the text
    qtbot.waitUntil(lambda: window.state.embedding_set.label_column is None, timeout=WAIT)


def test_set_model_opens_the_dialog_and_the_set_follows(qtbot, window, titled, monkeypatch):
    install(monkeypatch)
    open_and_wait(qtbot, window, titled)
    es = window.state.embedding_set
    shown = status_log(window)
    action(window.library_view.menu_for("titled"), "Set's model…").trigger()
    [dialog] = FakeModelDialog.made
    assert (dialog.set_id, dialog.library, dialog.runner) == ("titled", window.library,
                                                              window.jobs)
    check = ModelCheck(False, 0.12, 64, "its encoding of 64 sampled texts has median cosine "
                                        "0.12 with the stored vectors, 0.99 needed")
    entry = window.library.set_model("titled", "minilm (sha256 0123456789ab)", check)
    dialog.modelSet.emit(entry)
    qtbot.waitUntil(lambda: window.state.embedding_set is not es, timeout=WAIT)
    assert window.state.embedding_set.model_check == check
    item = window.library_view.tree.topLevelItem(0)
    assert item.text(MODEL) == "minilm ?" and "Unverified" in item.toolTip(MODEL)
    assert "minilm ?" in window.set_info.text() and "Unverified" in window.set_info.toolTip()
    assert any("model: minilm ?" in text for text in shown), shown


def test_model_column_tells_checked_from_unchecked(qtbot, window, vecs):
    library = window.library
    library.import_file(vecs)
    view = window.library_view
    cases = [(None, None, "—", "No model recorded"),
             ("minilm (sha256 0123456789ab)", None, "minilm", "Made by this model here"),
             ("openai-3-small", None, "openai-3-small ?", "Not checked"),
             ("minilm (sha256 0123456789ab)", ModelCheck(True, 0.998, 64), "minilm",
              "median cosine 0.998"),
             ("ada", ModelCheck(None, reason="'ada' is not a model installed here"), "ada ?",
              "Not checked: 'ada' is not a model installed here")]
    for model, check, shown, why in cases:
        library.set_model("vecs", model, check)
        window.refresh_library()
        item = view.tree.topLevelItem(0)
        assert item.text(MODEL) == shown and why in item.toolTip(MODEL)


def test_attach_metadata_runs_in_a_job_and_the_open_set_follows(qtbot, window, vecs, tmp_path,
                                                                monkeypatch):
    meta = tmp_path / "names.csv"
    meta.write_text("name\n" + "".join(f"n{i}\n" for i in range(400)))
    install(monkeypatch, answer=str(meta))
    attached = []

    def attach(library, key, path, *, id_column=None, label_column=None, state=None):
        attached.append((key, path, id_column, label_column))
        state.progress(0.5)
        return library.entry(key)
    monkeypatch.setattr("explorer.ui.library_actions.attach_metadata", attach)
    monkeypatch.setattr("explorer.ui.library_actions.find_models", lambda state: [])
    open_and_wait(qtbot, window, vecs)
    es = window.state.embedding_set
    shown = status_log(window)
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        action(window.library_view.menu_for("vecs"), "Attach metadata…").trigger()
    assert FakeMetadataDialog.made == [("vecs", 400, None)]
    assert attached == [("vecs", str(meta), "name", None)]
    assert window.state.embedding_set is not es and window.state.embedding_set.name == "vecs"
    assert any("Attached names.csv to “vecs”" in text for text in shown), shown
    # cancelled: nothing is attached
    FakeMetadataDialog.answer = None
    action(window.library_view.menu_for("vecs"), "Attach metadata…").trigger()
    assert len(attached) == 1


def test_re_import_asks_when_the_set_is_open(qtbot, window, vecs, titled, monkeypatch):
    calls = []

    def reimport(library, key, state=None):
        calls.append(key)
        return library.entry(key)
    monkeypatch.setattr("explorer.ui.library_actions.reimport", reimport)
    asked = []
    yes(monkeypatch, asked)
    open_and_wait(qtbot, window, titled)
    open_and_wait(qtbot, window, vecs)
    es = window.state.embedding_set
    action(window.library_view.menu_for("titled"), "Re-import").trigger()  # not open: no asking
    qtbot.waitUntil(lambda: calls == ["titled"], timeout=WAIT)
    assert asked == [] and window.state.embedding_set is es
    shown = status_log(window)
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        action(window.library_view.menu_for("vecs"), "Re-import").trigger()
    assert calls == ["titled", "vecs"] and "“vecs” is open" in asked[0]
    assert window.state.embedding_set is not es
    assert any("Re-imported “vecs”" in text for text in shown), shown


def test_a_set_removed_meanwhile_is_named_not_acted_on(qtbot, window, vecs, monkeypatch):
    window.library.import_file(vecs)
    window.refresh_library()
    menu = window.library_view.menu_for("vecs")
    Library(window.library.root).remove("vecs")  # another window, before this one saw it
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("new name", True))
    action(menu, "Rename…").trigger()
    qtbot.waitUntil(lambda: window.library_actions.last_dialog is not None, timeout=WAIT)
    assert "No library set 'vecs'" in window.library_actions.last_dialog.text()
    qtbot.waitUntil(lambda: rows(window) == [], timeout=WAIT)


def test_actions_and_window_share_no_key(window):
    from PySide6.QtGui import QAction

    keys = [a.shortcut().toString() for a in window.findChildren(QAction)
            if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys)), keys
    assert {"F2", "Del", "Return"} <= set(keys)
