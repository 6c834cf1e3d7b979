"""An item's context menu acts on the selection or on the item, and never selects by itself."""

import numpy as np
import pyarrow as pa
import pytest
from PySide6.QtGui import QGuiApplication

from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.item_menu import item_menu, menu_rows
from explorer.ui.state import AppState


@pytest.fixture
def state(qapp, tmp_path) -> AppState:
    note = tmp_path / "b.txt"
    note.write_text("b")
    table = pa.table({"id": ["a", "b", "c", "d"], "text": ["apple pie", "banana\nbread", None, "d"],
                      "source": ["/gone/a.txt", str(note), "/bin/sh", None]})
    state = AppState()
    state.set_set(EmbeddingSet(np.eye(4, dtype=np.float32), table, "fruit", id_column="id",
                               text_column="text"))
    return state


MENUS = []  # a menu without a parent lives while Python holds it


def actions(menu) -> dict:
    MENUS.append(menu)
    return {a.text(): a for a in menu.actions() if not a.isSeparator()}


def test_the_menu_acts_on_the_selection_only_when_the_item_is_in_it(state):
    state.select([0, 2])
    assert menu_rows(state, 2).tolist() == [0, 2]
    assert menu_rows(state, 1).tolist() == [1]
    assert "Find neighbours of the 2 selected" in actions(item_menu(state, 0))
    assert "Find neighbours of this item" in actions(item_menu(state, 1))
    assert state.selection.tolist() == [0, 2]


def test_menu_entries_send_their_requests(state):
    seen = []
    state.queryRequested.connect(lambda rows: seen.append(("query", rows.tolist())))
    state.selectNeighboursRequested.connect(lambda rows: seen.append(("select", rows.tolist())))
    state.poleRequested.connect(lambda pole, rows: seen.append((pole, rows.tolist())))
    state.contrastRequested.connect(lambda rows: seen.append(("rest", rows.tolist())))
    state.select([1, 3])
    entries = actions(item_menu(state, 3))
    for text in ("Find neighbours of the 2 selected", "Select the 2 selected and neighbours",
                 "Use the 2 selected as concept pole A", "Use the 2 selected as concept pole B",
                 "Compare the 2 selected with the rest"):
        entries[text].trigger()
    assert seen == [("query", [1, 3]), ("select", [1, 3]), ("A", [1, 3]), ("B", [1, 3]),
                    ("rest", [1, 3])]


def test_selection_entries(state):
    state.select([1, 3])
    actions(item_menu(state, 0))["Add to the selection"].trigger()
    assert state.selection.tolist() == [0, 1, 3]
    actions(item_menu(state, 3))["Remove from the selection"].trigger()
    assert state.selection.tolist() == []
    actions(item_menu(state, 2))["Select only this item"].trigger()
    assert state.selection.tolist() == [2]
    assert "Select only this item" not in actions(item_menu(state, 2))


def test_copy_ids_and_texts(state):
    state.select([0, 1])
    entries = actions(item_menu(state, 1))
    entries["Copy ids"].trigger()
    assert QGuiApplication.clipboard().text() == "a\nb"
    entries["Copy texts"].trigger()
    assert QGuiApplication.clipboard().text() == "apple pie\nbanana bread"


def test_open_source_file_only_for_an_existing_document(state):
    assert actions(item_menu(state, 1))["Open source file"].isEnabled()
    for row, why in ((0, "no longer there"), (2, "not a document"), (3, "has no source")):
        entry = actions(item_menu(state, row))["Open source file"]
        assert not entry.isEnabled() and why in entry.toolTip()


def test_no_menu_without_a_set_or_outside_it(qapp, state):
    assert item_menu(state, 4) is None and item_menu(state, -1) is None
    assert item_menu(AppState(), 0) is None


def test_copying_more_than_the_clipboard_takes_says_how_many(state, monkeypatch):
    from explorer.ui import item_menu as menus

    monkeypatch.setattr(menus, "MAX_COPIED", 1)
    state.select([0, 1, 2])
    entries = actions(item_menu(state, 1))
    entries["Copy ids (the first 1)"].trigger()
    assert QGuiApplication.clipboard().text() == "a"
