"""Sessions go through the panel contract: a panel the window is given is saved and
restored with no change to the window or the session code, and hostile values give notes."""

import json

import numpy as np
import pyarrow as pa
import pytest
from PySide6.QtWidgets import QSpinBox, QVBoxLayout

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.core.session import Session, SetRef
from explorer.ui.panels import catalogue
from explorer.ui.panels.base import Area, Panel

N, D = 300, 8
WAIT = 60000


class Dummy(Panel):
    """A panel of one number, which a session keeps."""

    key = "dummy"
    title = "Dummy"
    area = Area.RIGHT

    def __init__(self, context, parent=None):
        super().__init__(context, parent)
        self.level = QSpinBox()
        self.level.setRange(0, 100)
        layout = QVBoxLayout(self)
        layout.addWidget(self.error_line)
        layout.addWidget(self.level)

    def settings(self):
        return {"level": self.level.value()}

    def apply_settings(self, settings):
        level = settings.get("level", 0)
        if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
            return [f"the dummy's level should be a whole number from 0 to 100, not "
                    f"{str(level)[:40]!r}"]
        self.level.setValue(level)
        return []


class Fragile(Dummy):
    """A panel (a plugin's, say) that raises on values it did not expect."""

    key = "fragile"
    title = "Fragile"

    def apply_settings(self, settings):
        return [] if settings.get("ok") else [][1]


WITH_DUMMY = (*catalogue.panel_classes(), Dummy)


@pytest.fixture
def library(explorer_home):
    rng = np.random.default_rng(4)
    lib = Library(explorer_home)
    lib.import_set(EmbeddingSet(rng.normal(size=(N, D)).astype(np.float32),
                                pa.table({"id": [f"a{i}" for i in range(N)],
                                          "size": np.arange(N)}),
                                name="articles", format="test", id_column="id"))
    return lib


def open_session(qtbot, win, path) -> list[str]:
    with qtbot.waitSignal(win.sessions.applied, timeout=WAIT) as applied:
        win.open_paths([str(path)])
    return applied.args[0]


def test_a_dummy_panel_is_saved_and_restored_by_a_session(qtbot, windows, tmp_path):
    first = windows(WITH_DUMMY)
    assert "dummy" in first.docks  # a dock like every other panel's, from its area
    with qtbot.waitSignal(first.state.setChanged, timeout=WAIT):
        first.open_library_set("articles")
    first.panels["dummy"].level.setValue(42)
    path = tmp_path / "dummy.eesession"
    with qtbot.waitSignal(first.sessions.saved, timeout=WAIT):
        first.sessions.save(str(path))
    assert json.loads(path.read_text())["panels"]["dummy"] == {"level": 42}

    second = windows(WITH_DUMMY)
    assert open_session(qtbot, second, path) == []
    assert second.panels["dummy"].level.value() == 42
    assert second.state.embedding_set.library_id == "articles"


def test_a_bad_value_in_a_panel_gives_a_note(qtbot, windows, tmp_path):
    path = Session(set=SetRef("articles", "articles", N, D),
                   panels={"dummy": {"level": "x" * 100_000}}).save(tmp_path / "bad.eesession")
    win = windows(WITH_DUMMY)
    notes = open_session(qtbot, win, path)
    assert len(notes) == 1 and "the dummy's level should be a whole number" in notes[0]
    assert win.panels["dummy"].level.value() == 0
    assert "level should be a whole number" in win.sessions.notes_box.informativeText()


def test_unknown_panels_and_a_raising_panel_give_notes(qtbot, windows, tmp_path):
    path = Session(set=SetRef("articles", "articles", N, D),
                   panels={"fragile": {"ok": False}, "dummy": {"level": 7},
                           "nowhere": {"a": 1}, "table": {"filter": ["not", "text"]}}
                   ).save(tmp_path / "odd.eesession")
    win = windows(tuple(catalogue.panel_classes()) + (Dummy, Fragile))
    notes = open_session(qtbot, win, path)
    assert any("panels this window does not have ('nowhere')" in n for n in notes)
    assert any("the Fragile panel's settings could not be restored (IndexError" in n
               for n in notes)
    assert any("the table's filter should be text, not list" in n for n in notes)
    assert len(notes) == 3
    assert win.panels["dummy"].level.value() == 7  # the others still applied


def test_a_hostile_file_gives_notes_not_a_traceback(qtbot, windows, tmp_path):
    junk = {"a": [[[[{"b": None}]]]] * 50, "colour_by": 3, "hidden": "x" * 200_000,
            "projection": [1, {"method": 7}], "view": {"x": "nan"}, "k": -5, "metric": {},
            "filter": 12, "search": None, "current": [1], "plane_x": 9, "tab": 1e308,
            "methods": ["fp16"], "budget": "lots", "level": True}
    data = Session(set=SetRef("articles", "articles", N, D)).to_dict()
    data["panels"] = {key: junk for key in ("map", "neighbours", "concepts", "compression",
                                            "table", "dummy", "library", "item")}
    data["panels"]["huge"] = "y" * 1_000_000
    data["window"] = {"geometry": "", "state": "AAAA"}  # valid base64, no layout
    path = tmp_path / "hostile.eesession"
    path.write_text(json.dumps(data))
    win = windows(WITH_DUMMY)
    notes = open_session(qtbot, win, path)
    assert notes and all(isinstance(n, str) and len(n) <= 300 for n in notes)
    assert any("'huge' panel should be an object" in n for n in notes)
    assert any("layout" in n for n in notes)
    assert win.state.embedding_set.library_id == "articles"
    assert win.last_dialog is None  # no error dialog: only the notes


def test_a_format_1_session_file_still_opens(qtbot, windows, tmp_path):
    """Format 1 kept each view's settings at the top level; its layout was of the old window."""
    data = Session(set=SetRef("articles", "articles", N, D), selection=np.arange(3)).to_dict()
    del data["panels"]
    data.update(schema_version=1, table={"filter": "size < 100", "search": ""},
                neighbours={"k": 7}, window={"geometry": "", "state": "AAAA/wAAAAD9"})
    path = tmp_path / "v1.eesession"
    path.write_text(json.dumps(data))
    win = windows(WITH_DUMMY)
    notes = open_session(qtbot, win, path)
    assert notes == ["the session's panel layout is from another version of the app (or "
                     "damaged), so the current layout was kept"]
    qtbot.waitUntil(lambda: win.table_view.model.rowCount() == 100, timeout=WAIT)
    assert win.neighbours_view.k.value() == 7
    assert list(win.state.selection) == [0, 1, 2]
