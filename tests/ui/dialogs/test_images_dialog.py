"""View ▸ Images…: the detected columns (URLs counted, never offered), a root folder for
relative paths, and Build making the thumbnails in a window job."""

import pytest
from pictures import WAIT, open_pictures, store_pictures

from explorer.compute.thumbnails import ImageColumn
from explorer.ui.dialogs.images_dialog import NONE_FOUND, ImagesDialog


@pytest.fixture
def library(explorer_home, tmp_path):
    return store_pictures(explorer_home, tmp_path / "pictures")


def test_menu_lists_the_column_and_builds_from_the_root_chosen(qtbot, windows, tmp_path):
    window = open_pictures(qtbot, windows, tmp_path / "pictures", build=False)
    assert window.image_actions.action.isEnabled()
    window.image_actions.action.trigger()
    qtbot.waitUntil(lambda: window.image_actions.dialog is not None, timeout=WAIT)
    dialog = window.image_actions.dialog
    assert dialog.list.count() == 1
    assert dialog.list.item(0).text() == "path — 120 file paths"
    assert dialog.build_button.isEnabled() and not dialog.root_box.isHidden()
    dialog.root.setText(str(tmp_path / "pictures"))
    dialog.accept()
    qtbot.waitUntil(window.state.thumbnails.available, timeout=WAIT)
    assert window.state.thumbnails.store.counts()["ok"] == 108
    assert "12 files missing" in window.statusBar().currentMessage()


def test_urls_are_counted_and_never_offered(qtbot, tmp_path):
    columns = [ImageColumn("photo_url", "url", 500, 500, ["https://example.com/a.jpg"]),
               ImageColumn("image", "bytes", 480, 0, ["PNG 64x64"]),
               ImageColumn("file", "path", 500, 20, ["a.jpg"])]
    dialog = ImagesDialog(columns)
    qtbot.addWidget(dialog)
    assert dialog.list.currentRow() == 1  # the first usable one
    assert dialog.list.item(2).text() == ("file — 500 file paths, 20 of them URLs "
                                          "(not loadable offline)")
    assert dialog.source().kind == "bytes" and dialog.source().root is None
    assert dialog.root_box.isHidden()  # bytes need no folder
    dialog.list.setCurrentRow(0)
    assert not dialog.build_button.isEnabled() and dialog.source() is None
    assert "never fetches" in dialog.note.text()

    empty = ImagesDialog([])
    qtbot.addWidget(empty)
    assert empty.note.text() == NONE_FOUND and not empty.build_button.isEnabled()
