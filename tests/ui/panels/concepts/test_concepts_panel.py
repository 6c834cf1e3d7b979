"""The Concepts dock: defining directions every way, the plane on the map, files, text poles."""

import json

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import concepts as cc
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.panels.base import PanelContext
from explorer.ui.state import AppState
from explorer.ui.panels.concepts import define as cd
from explorer.ui.panels.concepts.panel import ConceptsView
from explorer.ui.workers import JobRunner

N, D = 900, 16
WAIT = 60000


@pytest.fixture
def planted(explorer_home):
    """Two orthogonal planted directions u (strength t, column `t`) and v (groups by s)."""
    rng = np.random.default_rng(4)
    basis = np.linalg.qr(rng.normal(size=(D, D)))[0]
    u, v = basis[:, 0], basis[:, 1]
    t, s = rng.normal(size=N), rng.normal(size=N)
    x = rng.normal(size=(N, D)) * 0.3 + 1.5 * t[:, None] * u + 1.5 * s[:, None] * v
    meta = pa.table({"id": [f"i{i}" for i in range(N)], "t": t + rng.normal(size=N) * 0.1,
                     "side": np.where(s < -0.4, "left", np.where(s > 0.4, "right", "mid"))})
    library = Library(explorer_home)
    entry = library.import_set(EmbeddingSet(x.astype(np.float32), meta, name="planted",
                                            format="test", source=[], metric="cosine",
                                            id_column="id", model="synthetic (sha256 0123456789ab)"))
    return library, library.open(entry.id), u, v, t


@pytest.fixture
def view(qtbot, planted):
    library, es, *_ = planted
    state, jobs = AppState(), JobRunner()
    widget = ConceptsView(PanelContext(state, jobs, library))
    qtbot.addWidget(widget)
    widget.resize(700, 800)
    widget.show()
    state.set_set(es)
    yield widget
    jobs.shutdown()


def create(qtbot, view, method, name):
    """Press Create with the form as the test filled it; the saved direction."""
    define = view.define
    define.method.setCurrentText(method)
    define.name.setText(name)
    with qtbot.waitSignal(view.context.directionsChanged, timeout=WAIT):
        define.create()
    qtbot.waitUntil(lambda: view.context.find(name) is not None, timeout=WAIT)
    return view.context.find(name)


def test_filters_define_a_checked_direction_that_becomes_current(qtbot, view, planted):
    _, es, u, v, _ = planted
    define = view.define
    define.wheres["A"].setText("side = 'left'")
    define.wheres["B"].setText("side = 'right'")
    define.against.setCurrentText("t")
    d = create(qtbot, view, cd.FILTERS, "side")
    assert abs(float(d.vector @ v)) > 0.95 and d.validity.heldout_accuracy > 0.95
    assert d.validity.against == "t" and abs(d.validity.spearman) < 0.2  # u is another axis
    qtbot.waitUntil(lambda: view.current.currentText() == "side", timeout=WAIT)
    assert view.tabs.currentWidget() is view.axis
    assert cc.DirectionStore(es).names() == ["side"]  # kept with the set


def test_selections_with_a_probe_and_then_arithmetic(qtbot, view, planted):
    _, es, u, v, t = planted
    state, define = view.state, view.define
    define.method.setCurrentText(cd.SELECTION)
    state.select(np.flatnonzero(t < -0.8))
    define._take("A", one=False)
    state.select(np.flatnonzero(t > 0.8))
    define._take("B", one=False)
    assert define.group_labels["A"].text().endswith("items")
    define.group_probe.setChecked(True)
    d = create(qtbot, view, cd.SELECTION, "strength")
    assert d.method == "probe" and abs(float(d.vector @ u)) > 0.95
    define.wheres["A"].setText("side = 'left'")
    define.wheres["B"].setText("side = 'right'")
    create(qtbot, view, cd.FILTERS, "side")
    define.first.setCurrentText("strength")
    define.second.setCurrentText("side")
    define.op.setCurrentIndex(define.op.findData("orth"))
    e = create(qtbot, view, cd.ARITHMETIC, "strength only")
    side = view.context.find("side")
    assert abs(float(e.vector @ side.vector)) < 1e-5 and float(e.vector @ d.vector) > 0.9


def test_missing_poles_are_said_not_crashed(qtbot, view):
    view.define.method.setCurrentText(cd.ITEMS)
    view.define.create()
    assert "Pole A is not set" in view.define.message.text()
    view.define.method.setCurrentText(cd.FILTERS)
    view.define.create()
    assert "both A and B" in view.define.message.text()


def test_plane_gives_the_map_the_scores_along_two_directions(qtbot, view, planted):
    _, es, u, v, t = planted
    view.define.wheres["A"].setText("side = 'left'")
    view.define.wheres["B"].setText("side = 'right'")
    create(qtbot, view, cd.FILTERS, "side")
    view.define.wheres["A"].setText("t < -0.5")
    view.define.wheres["B"].setText("t > 0.5")
    create(qtbot, view, cd.FILTERS, "strength")
    view.plane_x.setCurrentText("strength")
    view.plane_y.setCurrentText("side")
    with qtbot.waitSignal(view.state.planeChanged, timeout=WAIT) as got:
        view.plane_button.click()
    plane = got.args[0]
    coords, x_label, y_label = plane.coords, plane.x_label, plane.y_label
    expected = cc.score_matrix(es, [view.context.find("strength"), view.context.find("side")])
    np.testing.assert_allclose(coords, expected, atol=1e-6)
    strength, side = view.context.find("strength"), view.context.find("side")
    assert strength.label_b in x_label and side.label_a in y_label


def test_export_then_import_brings_the_directions_back(qtbot, view, planted, tmp_path):
    view.define.wheres["A"].setText("side = 'left'")
    view.define.wheres["B"].setText("side = 'right'")
    d = create(qtbot, view, cd.FILTERS, "side")
    path = tmp_path / "dirs.json"
    view.export_to(str(path))
    qtbot.waitUntil(path.exists, timeout=WAIT)
    assert [e["name"] for e in json.loads(path.read_text())["directions"]] == ["side"]
    view.context.delete("side")
    qtbot.waitUntil(lambda: not view.context.directions, timeout=WAIT)
    view.import_from(str(path))
    qtbot.waitUntil(lambda: view.context.find("side") is not None, timeout=WAIT)
    np.testing.assert_array_equal(view.context.find("side").vector, d.vector)


def test_text_poles_are_off_for_a_set_without_its_model(qtbot, view):
    item = view.define.method.model().item(view.define.method.findText(cd.TEXTS))
    qtbot.waitUntil(lambda: "looking" not in view.define.text_reason.text(), timeout=WAIT)
    assert not item.isEnabled() and "not available" in view.define.text_reason.text()


def test_a_plane_asked_for_before_the_directions_are_read_comes_once_they_are(qtbot, planted):
    """The map asks for the plane (restoring a session) before the set's directions are read
    and before the session's choice of axes: the plane comes once both are in, on those axes."""
    library, es, *_ = planted
    store = cc.DirectionStore(es)
    for name, where in (("side", ("side = 'left'", "side = 'right'")),
                        ("strength", ("t < -0.5", "t > 0.5"))):
        d = cc.from_where(es, *where, name=name)
        d.label_a, d.label_b = f"{name} low", f"{name} high"
        store.save(d)
    state, jobs = AppState(), JobRunner()
    view = ConceptsView(PanelContext(state, jobs, library))
    qtbot.addWidget(view)
    try:
        state.set_set(es)
        with qtbot.waitSignal(state.planeChanged, timeout=WAIT) as got:
            state.request_plane()
            assert not view.context.loaded
            assert view.apply_settings({"plane_x": "strength", "plane_y": "side",
                                        "current": "side", "tab": "axis"}) == []
        plane = got.args[0]
        assert "strength high" in plane.x_label and "side low" in plane.y_label
        expected = cc.score_matrix(es, [view.context.find("strength"), view.context.find("side")])
        np.testing.assert_allclose(plane.coords, expected, atol=1e-6)
        assert view.tabs.currentWidget() is view.axis and view.current.currentText() == "side"
        notes = view.apply_settings({"tab": ["axis"], "current": 3, "plane_x": "gone"})
        assert len(notes) == 2 and "gone" in view.hint.text()
    finally:
        jobs.shutdown()


def test_errors_of_the_panel_show_in_it(qtbot, view):
    view.show_plane()  # no directions yet
    assert view.error_line.isVisible() and "two directions" in view.error_line.text()


# --- what an item's menu asks for ----------------------------------------------------------
def test_a_pole_request_fills_the_form_and_builds_nothing(qtbot, view, planted):
    _, es, *_ = planted
    state, define = view.state, view.define
    view.show_tab("axis")
    with qtbot.waitSignal(state.viewRequested, timeout=WAIT) as asked:
        state.request_pole("A", [5])
    assert asked.args == ["concepts"] and view.tabs.currentWidget() is define
    assert define.method.currentText() == cd.ITEMS  # one item, and B is not set
    assert define.item_labels["A"].text() == f"#5 {es.label(5)}"
    assert define.item_labels["B"].text() == "not set" and "Choose the other" in define.status.text()
    state.request_pole("B", [9, 7, 8])
    assert define.method.currentText() == cd.SELECTION  # a group: two selections
    assert define.group_labels["B"].text() == "3 items"
    assert define.group_labels["A"].text() == f"#5 {es.label(5)}"
    assert "press Create" in define.status.text()
    state.request_pole("B", [6])
    assert define.method.currentText() == cd.ITEMS  # both poles one item each
    state.request_pole("B", [5, 6])
    assert "in the other pole too" in define.status.text()
    assert state.selection.size == 0  # the form took the rows, not the selection
    qtbot.wait(100)  # (nothing may be building: no timed assertion, only none running)
    assert not define.build_job.running() and not view.context.directions
    state.request_pole("B", [7, 8, 9])
    d = create(qtbot, view, cd.SELECTION, "five to three")
    expected = cc.from_rows(es, [5], [7, 8, 9])
    np.testing.assert_allclose(d.vector, expected.vector, atol=1e-6)


def test_compare_with_the_rest_builds_checks_and_saves_a_direction(qtbot, view, planted):
    _, es, *_ = planted
    state = view.state
    side = np.asarray(es.metadata.column("side").to_pylist())
    rows = np.flatnonzero(side == "right")
    state.select(rows)
    state.request_contrast(state.selection)
    assert view.tabs.currentWidget() is view.define  # while it builds
    qtbot.waitUntil(lambda: view.context.current is not None, timeout=WAIT)
    d = view.context.current
    assert (d.name, d.label_a, d.label_b) == ("right vs the rest", "the rest", "right")
    qtbot.waitUntil(lambda: view.tabs.currentWidget() is view.axis, timeout=WAIT)
    assert cc.DirectionStore(es).names() == ["right vs the rest"]
    rest = np.setdiff1d(np.arange(N), rows)
    np.testing.assert_allclose(d.vector, cc.from_rows(es, rest, rows).vector, atol=1e-6)
    assert d.validity.n_b == rows.size and d.validity.heldout_balanced_accuracy > 0.9
    s = cc.scores(es, d)
    assert s[rows].mean() > s[rest].mean()
    assert state.selection.tolist() == rows.tolist() and state.colour_by == ""


def test_compare_with_the_rest_refuses_no_items_and_every_item(qtbot, view):
    view.state.request_contrast([])
    assert "Select some items first" in view.define.message.text()
    view.state.request_contrast(np.arange(N))
    assert "Every item is selected: there is no rest" in view.define.message.text()
    assert not view.define.build_job.running()
