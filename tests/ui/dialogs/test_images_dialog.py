"""View ▸ Images…: the detected columns (URLs counted, never offered), a root folder for
relative paths, and Build making the thumbnails in a window job."""

import pyarrow as pa
import pyarrow.parquet as pq
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
    assert not dialog.root_box.isHidden()
    # the set was stored by the app, not read from a file: a root first, in the app's words
    assert not dialog.build_button.isEnabled() and "choose a root folder" in dialog.note.text()
    dialog.root.setText(str(tmp_path / "pictures"))
    assert dialog.build_button.isEnabled()
    dialog.accept()
    qtbot.waitUntil(window.state.thumbnails.available, timeout=WAIT)
    assert window.state.thumbnails.store.counts()["ok"] == 108
    assert "12 files missing" in window.statusBar().currentMessage()
    window.image_actions.dialog = None
    window.image_actions.action.trigger()  # again: the line says what the build made
    qtbot.waitUntil(lambda: window.image_actions.dialog is not None, timeout=WAIT)
    again = window.image_actions.dialog.list.item(0).text()
    assert again == "path — 120 file paths; built: 108 thumbnails, 12 missing"


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


def test_a_set_without_a_data_file_asks_for_a_root_in_the_app_s_words(qtbot):
    columns = [ImageColumn("file", "path", 10, 0, ["a.jpg"]),
               ImageColumn("picture", "struct", 10, 0, ["PNG 8x8"])]
    dialog = ImagesDialog(columns, has_file=False)
    qtbot.addWidget(dialog)
    assert not dialog.build_button.isEnabled()
    assert "choose a root folder" in dialog.note.text() and "--root" not in dialog.note.text()
    assert "choose a root folder" in dialog.root.placeholderText()
    dialog.root.setText("/tmp")
    assert dialog.build_button.isEnabled() and dialog.source().root == "/tmp"
    dialog.root.clear()
    dialog.list.setCurrentRow(1)  # embedded bytes need no file and no root
    assert dialog.build_button.isEnabled() and dialog.source().kind == "struct"


def test_embedded_image_bytes_are_offered_and_shown_without_files(qtbot, windows, library,
                                                                  tmp_path):
    """A table holding its images as {bytes, path} structs (the Hugging Face layout): the
    column is detected and chosen, and the thumbnails come from the bytes, no file read."""
    import io

    import numpy as np
    from PIL import Image

    from explorer.core.embedding_set import EmbeddingSet

    rng = np.random.default_rng(1)
    cells = []
    for i in range(40):
        out = io.BytesIO()
        Image.new("RGB", (30 + i, 60), tuple(int(v) for v in rng.integers(0, 256, 3))).save(
            out, "PNG")
        cells.append({"bytes": out.getvalue(), "path": f"gone/{i}.png"})  # no such files
    table = pa.table({"id": [f"e{i}" for i in range(40)], "image": cells})
    data = tmp_path / "embedded.parquet"  # the set's data file, as if opened from it
    pq.write_table(table, data)
    library.import_set(EmbeddingSet(rng.normal(size=(40, 2)).astype(np.float32), table,
                                    name="embedded", format="test", id_column="id",
                                    source=[str(data)]))
    window = windows()
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_library_set("embedded")
    qtbot.waitUntil(lambda: window.image_actions.found is not None, timeout=WAIT)
    found = window.image_actions.found
    assert [(c.name, c.kind) for c in found.columns] == [("image", "struct")]
    assert found.source is not None and found.source.column == "image"  # the only one
    window.image_actions.action.trigger()
    qtbot.waitUntil(lambda: window.image_actions.dialog is not None, timeout=WAIT)
    window.image_actions.dialog.accept()
    qtbot.waitUntil(window.state.thumbnails.available, timeout=WAIT)
    assert window.state.thumbnails.store.counts()["ok"] == 40
    pixmap = window.state.thumbnails.pixmap(5)
    assert pixmap is not None and (pixmap.width(), pixmap.height()) == (35, 60)
