"""The Library panel and the Storage dialog, driven as a user would (issue 22)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.core.loaders import LoadOptions
from explorer.core.partial_folders import TRASH_PREFIX
from explorer.core.storage import human_bytes, usage
from explorer.ui.panels.library import COLUMNS, SIZE, WATCH_DELAY_MS

WAIT = 30000  # ms: only how long a broken job may hang a test before it fails
WATCH_QUIET = 3 * WATCH_DELAY_MS


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
    qtbot.waitUntil(lambda: rows(window) == [] and not folder.exists(), timeout=WAIT)


def test_a_set_whose_files_are_damaged_shows_up_once_they_are_checked(qtbot, window, vecs):
    open_and_wait(qtbot, window, vecs)
    # the panels' jobs read the set's memory-mapped vectors: truncating the file under a
    # running one would end the process with SIGBUS, which is not what this test is about
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)
    (Path(window.library.entry("vecs").path) / "vectors.npy").write_bytes(b"")
    window.refresh_library()
    qtbot.waitUntil(lambda: "vecs" in window.library_view.damaged, timeout=WAIT)
    assert rows(window)[0].startswith("vecs — damaged: vectors.npy is not a readable")


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


# --- the list is live: what another window or the CLI changes shows within a second ---------
LIVE = 1000  # ms


def settled(qtbot, window) -> None:
    """No look at the disk pending or running (the first ones set up the watches)."""
    view = window.library_view
    qtbot.waitUntil(lambda: not view.watch_timer.isActive() and not window.jobs.running(),
                    timeout=WAIT)


def test_sets_imported_renamed_and_removed_elsewhere_show_at_once(qtbot, window, vecs):
    library = window.library
    assert not library.sets_dir.exists()  # no set yet: the folder above it is watched
    settled(qtbot, window)
    assert window.library_view.watcher.directories() == [str(library.root)]
    other = Library(library.root)  # another window's library, say
    other.import_file(vecs)
    qtbot.waitUntil(lambda: rows(window) == ["vecs"], timeout=LIVE)
    settled(qtbot, window)
    assert str(library.sets_dir / "vecs") in window.library_view.watcher.directories()
    other.rename("vecs", "renamed elsewhere")
    qtbot.waitUntil(lambda: rows(window) == ["renamed elsewhere"], timeout=LIVE)
    other.remove("vecs")
    qtbot.waitUntil(lambda: rows(window) == [], timeout=LIVE)


def test_a_cli_import_shows_within_a_second(qtbot, window, vecs):
    settled(qtbot, window)
    run = subprocess.run([sys.executable, "-m", "explorer", "import", str(vecs), "--name",
                          "from the shell"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "EXPLORER_HOME": str(window.library.root)})
    assert run.returncode == 0, run.stderr
    qtbot.waitUntil(lambda: rows(window) == ["from the shell"], timeout=LIVE)
    item = window.library_view.tree.topLevelItem(0)
    qtbot.waitUntil(lambda: item.text(SIZE) != "…", timeout=WAIT)  # measured, as any refresh


def test_a_change_elsewhere_keeps_the_selection_and_the_scroll(qtbot, window, vecs, tmp_path):
    other = Library(window.library.root)
    for i in range(30):
        path = tmp_path / f"v{i:02}.npy"
        np.save(path, np.full((3, 4), i + 1, np.float32))
        other.import_file(path)
    window.refresh_library()
    view = window.library_view
    window.docks["library"].setFloating(True)
    window.docks["library"].resize(500, 260)
    tree = view.tree
    qtbot.waitUntil(lambda: tree.verticalScrollBar().maximum() > 0, timeout=WAIT)
    settled(qtbot, window)
    tree.verticalScrollBar().setValue(tree.verticalScrollBar().maximum() // 2)
    top = tree.itemAt(0, 0).text(0)
    tree.setCurrentItem(tree.itemAt(0, 5))
    selected = view.selected_id()
    other.import_file(vecs)  # sorts first (newest): every row moves down one
    qtbot.waitUntil(lambda: len(rows(window)) == 31, timeout=LIVE)
    assert view.selected_id() == selected
    assert tree.itemAt(0, 0).text(0) == top


def test_the_panel_does_not_list_again_for_caches_or_its_own_measuring(qtbot, window, vecs):
    window.library.import_file(vecs)
    window.refresh_library()
    settled(qtbot, window)
    view = window.library_view
    listed, started = [], []
    view.listed.connect(lambda: listed.append(1))
    window.jobs.jobStarted.connect(lambda job: started.append(job.kind))
    folder = Path(window.library.entry("vecs").path)
    (folder / "cache-of-a-view.bin").write_bytes(b"x")  # a view's cache: looked at, not listed
    partial = window.library.sets_dir / ".partial-import-0001"
    partial.mkdir()  # an import under way elsewhere
    qtbot.waitUntil(lambda: "library:watch" in started, timeout=LIVE)
    settled(qtbot, window)
    partial.rmdir()
    qtbot.waitUntil(lambda: started.count("library:watch") >= 2, timeout=LIVE)
    settled(qtbot, window)
    qtbot.wait(WATCH_QUIET)  # nothing more comes: no look makes another
    assert listed == [] and "library:measure" not in started
    assert set(started) == {"library:watch"} and len(started) <= 4
