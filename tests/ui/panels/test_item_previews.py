"""The item panel's previews: an image item's picture (or why there is none, or how to get
pictures), a text chunk marked in its file, and a file gone or changed said in words."""

import numpy as np
import pyarrow as pa
import pytest
from pictures import MISSING, WAIT, open_pictures, store_pictures

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.panels.item.chunk_context import CONTEXT_CHARS, chunk_place, read_context


@pytest.fixture
def library(explorer_home, tmp_path):
    return store_pictures(explorer_home, tmp_path / "pictures")


def test_item_shows_its_picture_or_why_not(qtbot, windows, tmp_path):
    window = open_pictures(qtbot, windows, tmp_path / "pictures", build=False)
    item = window.item_view
    assert "(View ▸ Images…)" in window.statusBar().currentMessage()
    window.state.set_current(0)
    assert item.images_button.isVisible()  # no thumbnails yet: the next step is offered
    assert "build their thumbnails" in item.image.text()
    with qtbot.waitSignal(window.state.imagesRequested, timeout=WAIT):
        item.images_button.click()

    from explorer.compute.thumbnails import ImageSource
    window.image_actions.start(ImageSource("path", "path", str(tmp_path / "pictures")))
    qtbot.waitUntil(window.state.thumbnails.available, timeout=WAIT)
    assert "made" in window.statusBar().currentMessage()
    good = next(r for r in range(20) if not MISSING[r] and r != 0)
    with qtbot.waitSignal(item.originalShown, timeout=WAIT, check_params_cb=lambda r: r == good):
        window.state.set_current(good)
    pixmap = item.image.pixmap()
    assert not pixmap.isNull() and max(pixmap.width(), pixmap.height()) >= 256
    assert "pixels as shown" in item.image.toolTip()
    assert not item.images_button.isVisible()
    before = max(pixmap.width(), pixmap.height())
    item.resize(180, item.height())  # a narrower panel fits the picture again
    after = max(item.image.pixmap().width(), item.image.pixmap().height())
    assert after < before and after <= max(64, item.width() - 16)
    missing = int(np.flatnonzero(MISSING)[0])
    window.state.set_current(missing)
    assert "its file is not there" in item.image.text()


def test_the_original_replaces_the_thumbnail_and_a_late_one_is_dropped(qtbot, windows,
                                                                       tmp_path):
    from PIL import Image

    from explorer.ui.panels.item.original import Original

    window = open_pictures(qtbot, windows, tmp_path / "pictures")
    item = window.item_view
    paths = window.state.embedding_set.metadata.column("path").to_pylist()
    sizes = {r: Image.open(paths[r]).size for r in range(30) if not MISSING[r]}
    big = next(r for r, size in sizes.items() if max(size) > 140)  # larger than its thumbnail
    small = next(r for r, size in sizes.items() if r != big)
    originals = []
    done = item._original_done

    def keep(store, found):
        originals.append(found)
        done(store, found)
    item._original_done = keep
    with qtbot.waitSignal(item.originalShown, timeout=WAIT, check_params_cb=lambda r: r == big):
        window.state.set_current(small)
        window.state.set_current(big)  # the newest wins: small's job is cancelled or dropped
    found = originals[-1]
    assert found.row == big and found.pixels.shape[1::-1] == sizes[big]  # the file, not 128 px
    shown = item.image.pixmap().toImage()
    qtbot.waitUntil(lambda: item.image.height() >= shown.height())  # laid out, not 0 high
    late = Original(small, np.zeros((50, 50, 4), np.uint8))
    done(window.state.thumbnails.store, late)  # a result for an item left: never shown
    assert item.image.pixmap().toImage() == shown
    window.state.set_current(int(np.flatnonzero(MISSING)[0]))  # no file: no job, the reason
    assert "its file is not there" in item.image.text()
    assert not item.jobs.running("original")


def test_selection_summary_switches_to_the_selected_pictures(qtbot, windows, tmp_path):
    window = open_pictures(qtbot, windows, tmp_path / "pictures")
    item = window.item_view
    with qtbot.waitSignal(item.summaryShown, timeout=WAIT):
        window.state.select([1, 2, 3, 5])
    item.summary_switch.button.click()
    assert item.summary_switch.stack.currentWidget() is item.summary_switch.grid
    assert item.summary_switch.grid.grid_model.rows.tolist() == [1, 2, 3, 5]
    assert item.settings() == {"grid": True}


TEXT = ("Alpha paragraph about boats.\n\n" * 80 + "The chunk we look for sits here.\n\n"
        + "Omega paragraph about trains.\n\n" * 80)


@pytest.fixture
def chunks(tmp_path):
    """A set of two chunks of notes/doc.txt as the encoder records them, and the file."""
    folder = tmp_path / "notes"
    folder.mkdir()
    doc = folder / "doc.txt"
    doc.write_text(TEXT, encoding="utf-8")
    start = TEXT.index("The chunk")
    end = start + len("The chunk we look for sits here.")
    table = pa.table({"text": [TEXT[start:end], TEXT[:20]], "source": ["doc.txt", "doc.txt"],
                      "char_start": [start, 0], "char_end": [end, 20]})
    es = EmbeddingSet(np.eye(2, 4, dtype=np.float32), table, name="chunks", format="test",
                      source=[str(doc)], text_column="text")
    return es, doc, start, end


def test_chunk_is_marked_in_its_file(chunks):
    es, doc, start, _end = chunks
    place = chunk_place(es, 0)
    assert place is not None and place.start == start and str(doc) in place.paths
    found = read_context(place)
    assert found.problem == "" and found.note == ""
    assert found.chunk == "The chunk we look for sits here."
    assert found.before == TEXT[start - CONTEXT_CHARS:start]
    assert found.after.startswith("\n\nOmega paragraph")
    assert found.cut_before and found.cut_after  # the file goes on both ways
    start_of_file = read_context(chunk_place(es, 1))
    assert start_of_file.before == "" and not start_of_file.cut_before


def test_a_gone_or_changed_file_is_said_not_raised(chunks):
    es, doc, _start, _end = chunks
    place = chunk_place(es, 0)
    doc.write_text(TEXT.replace("Alpha", "Gamma!"), encoding="utf-8")  # offsets move
    changed = read_context(place)
    assert "has changed since it was encoded" in changed.note
    doc.write_text("short", encoding="utf-8")
    assert "shorter than the chunk" in read_context(place).problem
    doc.write_bytes(b"\x00\x01binary")
    assert "no longer text" in read_context(place).problem
    doc.unlink()
    gone = read_context(place)
    assert gone.problem.startswith("doc.txt is no longer there") and gone.chunk == ""


def test_item_panel_reads_the_chunk_in_a_job_and_marks_it(qtbot, windows, chunks,
                                                         explorer_home):
    es, doc, _start, _end = chunks
    Library(explorer_home).import_set(es)
    window = windows()
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.open_library_set("chunks")
    item = window.item_view
    with qtbot.waitSignal(item.contextShown, timeout=WAIT):
        window.state.set_current(0)
    assert item.chunk_context.chunk == "The chunk we look for sits here."
    html = item.browser.toHtml()
    assert "The chunk we look for sits here." in html and "#fff2a8" in html
    doc.unlink()
    with qtbot.waitSignal(item.contextShown, timeout=WAIT):
        window.state.set_current(1)
    assert "doc.txt is no longer there" in item.browser.toPlainText()
