"""The Entanglement and Remove tabs of the Concepts dock, against the headless concept core."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

from explorer.compute import concepts as cc
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.ui.panels.concepts.context import ConceptContext
from explorer.ui.panels.concepts.entanglement import EntanglementTab, format_cell
from explorer.ui.panels.concepts.removal import RemovalTab, format_median
from explorer.ui.state import AppState

N, D = 800, 16
WAIT = 60_000


def planted():
    """Unit directions u, v (cosine 0.6) and w (orthogonal to both) in 16 dimensions."""
    e = np.eye(D)
    u = e[0]
    v = 0.6 * e[0] + 0.8 * e[1]
    w = e[2]
    return u, v, w


@pytest.fixture
def vectors():
    rng = np.random.default_rng(3)
    u, v, w = planted()
    a = rng.choice([-1.0, 1.0], size=N)
    b = rng.choice([-1.0, 1.0], size=N)
    c = rng.choice([-1.0, 1.0], size=N)
    x = rng.normal(size=(N, D)) * 0.7 + 1.5 * a[:, None] * u + 1.2 * b[:, None] * v \
        + 1.0 * c[:, None] * w
    meta = {"su": np.where(a > 0, "hi", "lo"), "sv": np.where(b > 0, "hi", "lo"),
            "sw": np.where(c > 0, "hi", "lo")}
    return x.astype(np.float32), meta


@pytest.fixture
def es(explorer_home, vectors):
    x, meta = vectors
    table = pa.table({"id": [f"item{i}" for i in range(N)],
                      "text": [f"point {i}" for i in range(N)],
                      **{k: list(v) for k, v in meta.items()}})
    lib = Library()
    entry = lib.import_set(EmbeddingSet(vectors=x, metadata=table, name="planted", id_column="id",
                                        text_column="text"))
    opened = lib.open(entry.id)
    store = cc.DirectionStore(opened)
    for col, lo, hi in (("su", "small", "large"), ("sv", "cold", "warm"), ("sw", "old", "new")):
        d = cc.from_where(opened, f"{col} = 'lo'", f"{col} = 'hi'", name=col)
        d.label_a, d.label_b = lo, hi
        store.save(d)
    return opened


def loaded_context(qtbot, panel, es, count=3):
    context = ConceptContext(panel)
    context.set_set(es)
    qtbot.waitUntil(lambda: len(context.directions) == count and context.current is not None,
                    timeout=WAIT)
    return context


def shown(table) -> list[list[str]]:
    return [[table.item(i, j).text() for j in range(table.columnCount())]
            for i in range(table.rowCount())]


def expected_cells(matrix) -> list[list[str]]:
    return [[format_cell(float(x)) for x in row] for row in np.asarray(matrix)]


# --- entanglement ---------------------------------------------------------------------
def test_entanglement_matrix_matches_core_and_toggles(qtbot, tab_jobs, es):
    state = AppState()
    panel = tab_jobs(state)
    context = ConceptContext(panel)
    tab = EntanglementTab(state, panel, context)
    qtbot.addWidget(tab)
    tab.resize(520, 420)
    tab.show()
    assert tab.hint.isVisible() and not tab.table.isVisible()

    context.set_set(es)
    qtbot.waitUntil(lambda: tab.entanglement is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: context.current is not None, timeout=WAIT)
    directions = list(context.directions)
    ref = cc.entanglement(es, directions)
    names = [d.name for d in directions]
    assert tab.entanglement.names == names
    assert [tab.table.verticalHeaderItem(i).text() for i in range(3)] == names
    assert [tab.table.horizontalHeaderItem(i).text() for i in range(3)] == names
    assert "large" in tab.table.verticalHeaderItem(names.index("su")).toolTip()
    assert tab.table.isVisible() and not tab.hint.isVisible()

    assert tab.mode_key == "cosine"
    assert shown(tab.table) == expected_cells(ref.cosine)
    # the planted cosine of u and v, and w nearly orthogonal to both
    i, j, k = names.index("su"), names.index("sv"), names.index("sw")
    assert abs(ref.cosine[i, j]) > 0.4 and abs(ref.cosine[i, k]) < 0.15

    tab.set_mode("effect")
    assert shown(tab.table) == expected_cells(ref.effect)
    assert not np.allclose(ref.effect, ref.cosine, atol=0.005)  # the toggle shows another matrix
    assert "per unit" in tab.mode.currentText()
    tab.set_mode("spearman")
    assert shown(tab.table) == expected_cells(ref.spearman)
    tab.set_mode("cosine")
    assert shown(tab.table) == expected_cells(ref.cosine)

    # the sentence names the most entangled pair
    text = tab.summary.text()
    assert "‘su’" in text and "‘sv’" in text and f"{ref.cosine[i, j]:.2f}" in text
    assert "per unit" in text

    # a click on a cell makes the row's direction current
    target = next(n for n in names if n != context.current.name)
    row = names.index(target)
    rect = tab.table.visualItemRect(tab.table.item(row, (row + 1) % 3))
    qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert context.current is not None and context.current.name == target
    assert tab.table.verticalHeaderItem(row).font().bold()


def test_entanglement_needs_two_directions(qtbot, tab_jobs, es):
    state = AppState()
    panel = tab_jobs(state)
    context = loaded_context(qtbot, panel, es)
    tab = EntanglementTab(state, panel, context)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.entanglement is not None, timeout=WAIT)
    context.delete("sw")
    qtbot.waitUntil(lambda: len(context.directions) == 2, timeout=WAIT)
    qtbot.waitUntil(lambda: tab.entanglement is not None
                    and tab.entanglement.names == [d.name for d in context.directions],
                    timeout=WAIT)
    assert tab.table.rowCount() == 2
    context.delete("sv")
    qtbot.waitUntil(lambda: len(context.directions) == 1, timeout=WAIT)
    assert tab.entanglement is None
    assert tab.hint.isVisible() and "two" in tab.hint.text()
    assert not tab.table.isVisible()


# --- removal --------------------------------------------------------------------------
def bars_of(tab):
    items = [i for i in tab.hist.getPlotItem().items if isinstance(i, pg.BarGraphItem)]
    assert len(items) == 1
    return np.asarray(items[0].opts["height"])


def test_removal_makes_a_derived_set_and_compares_neighbours(qtbot, tab_jobs, es, vectors):
    state = AppState()
    state.set_set(es)
    panel = tab_jobs(state)
    context = ConceptContext(panel)
    tab = RemovalTab(state, panel, context, Library())
    qtbot.addWidget(tab)
    tab.resize(560, 720)
    tab.show()
    context.set_set(es)
    qtbot.waitUntil(lambda: len(context.directions) == 3 and context.current is not None,
                    timeout=WAIT)
    # the current direction is checked for the user
    assert tab.checked() == [context.current.name]
    tab.set_checked(["su"])
    assert tab.name.placeholderText() == "planted without su"
    assert tab.remove_button.toolTip().count("untouched") == 1

    state.set_current(5)
    created, opened = [], []
    state.libraryChanged.connect(created.append)
    state.openSetRequested.connect(opened.append)
    qtbot.mouseClick(tab.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.effect is not None and tab.side is not None, timeout=WAIT)
    assert tab.entry is not None and created == [tab.entry.id]

    # a new library set, derived, with the direction gone; the original untouched
    lib = Library()
    entry = lib.entry(tab.entry.id)
    assert entry.format == "derived" and entry.id != es.library_id and entry.count == N
    after = lib.open(entry.id)
    su, sw = context.find("su"), context.find("sw")
    np.testing.assert_allclose(cc.scores(after, su), 0.0, atol=1e-5)
    np.testing.assert_allclose(cc.scores(after, su, raw=True), 0.0, atol=1e-5)
    # nothing orthogonal to it moved (raw projections)
    w = np.asarray(su.vector, np.float64)
    np.testing.assert_allclose(np.asarray(after.vectors) @ w, 0.0, atol=1e-5)
    residual = np.asarray(es.vectors, np.float64) - np.outer(np.asarray(es.vectors) @ w, w)
    np.testing.assert_allclose(np.asarray(after.vectors), residual, atol=1e-5)
    assert not np.allclose(cc.scores(after, sw), 0.0, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(lib.open(es.library_id).vectors), vectors[0])

    # the overlap figures are the core's, on the same sample
    ref = cc.removal_effect(es, after, sample=200, k=10, seed=0)
    np.testing.assert_array_equal(tab.effect.rows, ref.rows)
    np.testing.assert_allclose(tab.effect.overlaps, ref.overlaps)
    text = tab.summary.text()
    assert "Mean overlap@10 of 200 sampled items' neighbours before vs after" in text
    assert f"{ref.mean:.3f}" in text and f"(median {format_median(ref.median)})" in text
    assert ref.mean < 0.9  # removing a strong planted direction moves neighbours
    np.testing.assert_array_equal(bars_of(tab), ref.to_dict()["histogram"])
    assert tab.hist_box.isVisible()

    # the current item's lists, before and after, side by side
    def check_lists(row):
        side = cc.neighbours_side_by_side(es, after, row, k=10)
        before_model = tab.tables["before"].rows_model
        after_model = tab.tables["after"].rows_model
        assert before_model.rows.tolist() == side.before.rows.tolist()
        assert after_model.rows.tolist() == side.after.rows.tolist()
        for model in (before_model, after_model):
            rows = model.rows.tolist()
            assert model.bold.tolist() == [r in side.shared for r in rows]
            assert sorted(model.background) == [i for i, r in enumerate(rows)
                                                if r not in side.shared]
        assert f"{len(side.shared)} of its 10" in tab.query_label.text()
        return side

    first = check_lists(5)
    assert tab.side.row == 5
    state.set_current(17)
    qtbot.waitUntil(lambda: tab.side is not None and tab.side.row == 17, timeout=WAIT)
    second = check_lists(17)
    assert first.before.rows.tolist() != second.before.rows.tolist()
    # a click in a list makes that item current, and its lists follow
    clicked = int(tab.tables["after"].rows_model.rows[0])
    rect = tab.tables["after"].visualRect(tab.tables["after"].rows_model.index(0, 1))
    qtbot.mouseClick(tab.tables["after"].viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert state.current == clicked and state.selection.tolist() == [clicked]  # as on the map
    qtbot.waitUntil(lambda: tab.side is not None and tab.side.row == clicked, timeout=WAIT)
    check_lists(clicked)
    # a right-click opens the item's menu and leaves the selection and the lists alone
    before = tab.tables["before"]
    at = before.visualRect(before.rows_model.index(2, 1)).center()
    QApplication.sendEvent(before.viewport(), QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, at, before.viewport().mapToGlobal(at)))
    menus = [m for m in tab.findChildren(QMenu) if m.isVisible()]
    assert len(menus) == 1 and "Select only this item" in [a.text() for a in menus[0].actions()]
    menus[0].close()
    assert state.selection.tolist() == [clicked] and tab.side.row == clicked

    # the window opens the new set on request
    assert tab.open_button.isEnabled()
    qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    assert opened == [entry.id]


def removal_tab(qtbot, tab_jobs, es):
    """A Removal tab shown, its context loaded with the three planted directions."""
    state = AppState()
    panel = tab_jobs(state)
    context = loaded_context(qtbot, panel, es)
    tab = RemovalTab(state, panel, context, Library())
    qtbot.addWidget(tab)
    tab.show()
    return state, context, tab


def test_removal_error_keeps_earlier_results(qtbot, tab_jobs, es, monkeypatch):
    state, context, tab = removal_tab(qtbot, tab_jobs, es)
    tab.set_checked(["sv", "sw"])
    assert tab.default_name() == "planted without sv, sw"
    tab.name.setText("no temperature")
    tab.remove()
    qtbot.waitUntil(lambda: tab.effect is not None, timeout=WAIT)
    assert tab.entry.name == "no temperature"
    after = Library().open(tab.entry.id)
    for name in ("sv", "sw"):
        np.testing.assert_allclose(cc.scores(after, context.find(name)), 0.0, atol=1e-5)
    mean_text = tab.summary.text()
    assert state.current == -1 and tab.side is None
    assert "Click an item" in tab.query_label.text()

    def broken(*_args, **_kwargs):
        raise InputError("the disk is full")

    monkeypatch.setattr(cc, "remove_directions", broken)
    qtbot.mouseClick(tab.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.message.isVisible(), timeout=WAIT)
    assert "The disk is full" in tab.message.text()
    assert tab.summary.text() == mean_text and tab.entry is not None
    assert tab.open_button.isEnabled()
    qtbot.waitUntil(lambda: not tab.job.running(), timeout=WAIT)
    assert tab.remove_button.text() == "Remove from a copy"


def test_removal_can_be_stopped(qtbot, tab_jobs, es, monkeypatch):
    state, context, tab = removal_tab(qtbot, tab_jobs, es)
    started = []
    created = []
    state.libraryChanged.connect(created.append)

    def endless(_es, _directions, library=None, name=None, state=None):
        started.append(True)
        while True:
            state.progress(0.5)  # raises Cancelled once stopped
            time.sleep(0.01)

    monkeypatch.setattr(cc, "remove_directions", endless)
    before = {e.id for e in Library().entries()}
    qtbot.mouseClick(tab.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(started), timeout=WAIT)
    assert tab.remove_button.text() == "Stop" and tab.job.running()
    qtbot.mouseClick(tab.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.job.running(), timeout=WAIT)
    assert tab.remove_button.text() == "Remove from a copy"
    assert tab.status.text().startswith("Stopped")
    assert tab.effect is None and tab.entry is None and created == []
    assert {e.id for e in Library().entries()} == before


# --- the store ------------------------------------------------------------------------
@pytest.mark.parametrize("slow", [{}, {"save": 0.3}, {"delete": 0.1, "list": 0.4}])
def test_a_save_and_a_delete_started_together_both_complete(qtbot, jobs, tab_jobs, es, slow,
                                                            monkeypatch):
    """Saving one direction and deleting another at once: both land in the store and both
    answers arrive (one job kind for both used to drop the save's answer), and the saved
    one is current in any order (a delete landing while the save's reload still reads used
    to replace that reload, and the save's choice with it)."""
    for name, seconds in slow.items():
        method = getattr(cc.DirectionStore, name)

        def slowly(*args, _method=method, _seconds=seconds, **kwargs):
            time.sleep(_seconds)
            return _method(*args, **kwargs)
        monkeypatch.setattr(cc.DirectionStore, name, slowly)
    state = AppState()
    state.set_set(es)
    errors = []
    panel = tab_jobs(state, errors)
    context = loaded_context(qtbot, panel, es)
    reloads = []
    reload = context.reload
    context.reload = lambda then_current=None: (reloads.append(then_current),
                                                reload(then_current))
    d = cc.from_where(es, "su = 'lo' and sw = 'lo'", "su = 'hi' and sw = 'hi'", name="both")
    context.save(d)
    context.delete("sv")
    qtbot.waitUntil(lambda: len(reloads) == 2, timeout=WAIT)
    qtbot.waitUntil(lambda: not jobs.running(), timeout=WAIT)
    assert set(reloads) == {"both", None}  # the save's answer, and the delete's
    assert sorted(cc.DirectionStore(es).names()) == ["both", "su", "sw"]
    assert sorted(d.name for d in context.directions) == ["both", "su", "sw"]
    assert context.current is not None and context.current.name == "both"
    assert errors == []


def test_long_direction_names_wrap_in_the_headers_instead_of_being_clipped(qtbot, tab_jobs, es):
    store = cc.DirectionStore(es)
    for name, column in (("sentiment of the review", "su"), ("length of the text", "sv")):
        d = cc.from_where(es, f"{column} = 'lo'", f"{column} = 'hi'", name=name)
        store.save(d)
    state = AppState()
    panel = tab_jobs(state)
    context = loaded_context(qtbot, panel, es, count=5)
    for width in (330, 520):
        tab = EntanglementTab(state, panel, context)
        qtbot.addWidget(tab)
        tab.resize(width, 500)
        tab.show()
        qtbot.waitUntil(lambda t=tab: t.entanglement is not None, timeout=WAIT)
        qtbot.wait(50)
        header = tab.table.horizontalHeader()
        metrics = header.fontMetrics()
        for i in range(tab.table.columnCount()):
            name = tab.table.horizontalHeaderItem(i).text()
            widest = max(metrics.horizontalAdvance(word) for word in name.split())
            assert header.sectionSize(i) >= widest  # every word fits its column
            lines = metrics.boundingRect(QRect(0, 0, header.sectionSize(i) - 8, 1000),
                                         int(Qt.TextFlag.TextWordWrap), name)
            assert header.height() >= lines.height()  # and every line shows
