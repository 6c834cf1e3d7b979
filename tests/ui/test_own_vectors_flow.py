"""Issue 16 end to end in the window, with the real dialogs and the real default model: open
vectors made elsewhere (an .npy alone), attach their metadata file, name their model, type a
text query, and read the answers by the set's label column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from default_model import needs_minilm
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from explorer.compute.encoding.catalogue import install_model
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.core.library import Library
from explorer.ui.panels.neighbours.panel import TEXT

WAIT = 120_000  # ms: only how long a broken job may hang the test before it fails
DISHES = ["a spicy curry", "a lemon cake", "fresh pasta", "a fish soup", "a mushroom risotto"]
REPAIRS = ["the broken bicycle", "a leaking roof", "the garden fence", "an old radio",
           "the kitchen tap"]
SENTENCES = ([f"The chef cooked {d} for the guests." for d in DISHES]
             + [f"My neighbour repaired {r} on Sunday." for r in REPAIRS]
             + [f"The team won match number {i} of the season." for i in range(30)])


@pytest.fixture
def from_elsewhere(tmp_path) -> tuple[Path, Path]:
    """(vectors.npy, metadata.csv): MiniLM's vectors of real sentences, saved alone as a
    pipeline elsewhere would, and a table naming each row (name, text) in the same order."""
    install_model("minilm")
    source = tmp_path / "sentences.csv"
    source.write_text("text\n" + "\n".join(SENTENCES) + "\n", encoding="utf-8")
    elsewhere = Library(tmp_path / "elsewhere")
    es = elsewhere.open(encode_inputs([source], EncodeOptions(model="minilm", column="text"),
                                      elsewhere).entry.id)
    texts = es.metadata.column("text").to_pylist()
    vectors = tmp_path / "vectors.npy"
    np.save(vectors, np.asarray(es.vectors, dtype=np.float32))
    metadata = tmp_path / "metadata.csv"
    metadata.write_text("name,text\n" + "".join(f"item-{i},{t}\n" for i, t in enumerate(texts)),
                        encoding="utf-8")
    return vectors, metadata


@needs_minilm
def test_open_attach_name_the_model_and_query_by_text(qtbot, window, from_elsewhere):
    vectors, metadata = from_elsewhere
    actions = window.library_actions
    window.open_paths([str(vectors)])
    qtbot.waitUntil(lambda: actions.offer is not None, timeout=WAIT)
    assert window.state.embedding_set.columns == ["row"]  # imported and shown as it came
    actions.offer.button(QMessageBox.StandardButton.Yes).click()

    qtbot.waitUntil(lambda: actions.metadata_dialog is not None, timeout=WAIT)
    dialog = actions.metadata_dialog
    dialog.set_path(str(metadata))
    qtbot.waitUntil(lambda: dialog.preview() is not None, timeout=WAIT)
    assert dialog.label_column() == "name" and dialog.attach_button.isEnabled()
    dialog.attach_button.click()

    qtbot.waitUntil(lambda: actions.model_dialog is not None, timeout=WAIT)
    chooser = actions.model_dialog
    qtbot.waitUntil(lambda: chooser.model_combo.isEnabled() and "minilm" in
                    chooser.model_combo.currentText(), timeout=WAIT)
    with qtbot.waitSignal(chooser.modelSet, timeout=WAIT) as answered:
        chooser.check_and_set()
    check = answered.args[0].check
    assert check.verified is True and check.median_cosine >= 0.99
    chooser.accept()

    state = window.state
    qtbot.waitUntil(lambda: state.embedding_set.model is not None
                    and state.embedding_set.label_column == "name", timeout=WAIT)
    panel = window.neighbours_view
    qtbot.waitUntil(panel.text_available, timeout=WAIT)
    panel.use_source(TEXT)
    panel.expr.setText("someone cooking food in a kitchen")
    qtbot.keyClick(panel.expr, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.result is not None and panel.model.rowCount() > 0,
                    timeout=WAIT)
    es = state.embedding_set
    shown = [panel.model.data(panel.model.index(r, 2)) for r in range(5)]
    assert all(name.startswith("item-") for name in shown)  # named by the label column
    top = [int(r) for r in panel.result.neighbours.rows[:5]]
    assert shown == [es.label(r) for r in top]
    assert all("chef cooked" in es.text(r) for r in top)  # and the text query found the dishes
