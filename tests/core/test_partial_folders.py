"""Partial folders: deleted once their owner is gone, never while it lives (see test_library for
the same across processes)."""

from __future__ import annotations

import os
import time

from explorer.core.partial_folders import (LOCK_FILE, PARTIAL_PREFIX, TRASH_PREFIX, UNOWNED_AGE,
                                           partial_folder, release, sweep)


def test_a_live_folder_in_this_process_is_kept_and_removed_on_error(tmp_path):
    try:
        with partial_folder(tmp_path, "set") as folder:
            (folder / "vectors.npy").write_bytes(b"x" * 100)
            assert sweep(tmp_path) == [] and folder.is_dir()  # another fd cannot take the lock
            raise RuntimeError("the import failed")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_renamed_folder_leaves_no_lock_file_behind(tmp_path):
    with partial_folder(tmp_path, "set") as folder:
        (folder / "manifest.json").write_text("{}")
        release(folder)
        os.rename(folder, tmp_path / "set")
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == ["manifest.json"]


def test_a_folder_whose_owner_is_gone_is_swept(tmp_path):
    folder = tmp_path / f"{PARTIAL_PREFIX}set-dead"
    folder.mkdir()
    (folder / LOCK_FILE).write_text("12345 host\n")  # written, and no process holds its lock
    assert sweep(tmp_path) == [folder] and not folder.exists()


def test_trash_goes_and_folders_without_a_lock_wait_a_day(tmp_path):
    trash = tmp_path / f"{TRASH_PREFIX}abc"
    legacy_new, legacy_old = tmp_path / f"{PARTIAL_PREFIX}a", tmp_path / f"{PARTIAL_PREFIX}b"
    for folder in (trash, legacy_new, legacy_old):
        folder.mkdir()
    unstamped = tmp_path / f"{PARTIAL_PREFIX}c"  # between its owner's create and lock
    unstamped.mkdir()
    (unstamped / LOCK_FILE).touch()
    old = time.time() - UNOWNED_AGE - 60
    os.utime(legacy_old, (old, old))
    assert sorted(sweep(tmp_path)) == sorted([trash, legacy_old])
    assert legacy_new.is_dir() and unstamped.is_dir()
