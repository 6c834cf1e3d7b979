"""The Compare dock on real data: the shipped demo (5,479 MiniLM vectors) against its own
concept-removed copy made by the app's removal, and a small unrelated set that joins nothing."""

import numpy as np
import pyarrow as pa
import pytest
from PySide6.QtCore import Qt

from explorer.compute.compare import compare_sets
from explorer.compute.concepts.direction import Direction
from explorer.compute.concepts.removal import remove_directions
from explorer.compute.demo_resource import read_shipped, shipped_set
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import TaskState
from explorer.core.library import Library
from explorer.ui.panels.base import PanelContext
from explorer.ui.panels.compare.choices import choices
from explorer.ui.panels.compare.item_lists import LISTED
from explorer.ui.panels.compare.panel import (
    EMPTY_TEXT,
    NO_OTHER,
    CompareView,
    run_comparison,
)
from explorer.ui.widgets.ranked_table import GAINED, LOST
from explorer.ui.state import AppState
from explorer.ui.workers import JobRunner

WAIT = 120000


@pytest.fixture(scope="module")
def demo():
    return read_shipped()


@pytest.fixture
def sets(explorer_home, demo):
    """The library: the demo, the demo without its first principal direction (a real
    concept-removed copy), and 60 unrelated items."""
    library = Library(explorer_home)
    a = library.open(library.import_set(shipped_set(demo, "all-MiniLM-L6-v2"),
                                        name="demo").id)
    x = np.asarray(demo.vectors, dtype=np.float64)
    top = np.linalg.svd(x[:2000] - x[:2000].mean(axis=0), full_matrices=False)[2][0]
    direction = Direction("topic", (top / np.linalg.norm(top)).astype(np.float32), "component",
                          model=a.model)
    b = remove_directions(a, [direction], library)
    rng = np.random.default_rng(0)
    other = library.import_set(EmbeddingSet(
        rng.normal(size=(60, 384)).astype(np.float32),
        pa.table({"id": [f"other{i}" for i in range(60)]}), name="unrelated", format="test",
        source=[], metric="cosine", id_column="id"))
    return library, a, b.id, other.id


@pytest.fixture
def view(qtbot, sets):
    library, a, _b, _other = sets
    state, jobs = AppState(), JobRunner()
    widget = CompareView(PanelContext(state, jobs, library))
    qtbot.addWidget(widget)
    widget.resize(1300, 420)
    widget.show()
    state.set_set(a)
    yield widget
    jobs.shutdown()


def run(qtbot, view, b_id, k=10, join="auto"):
    assert view._pick(b_id)
    view.k.setValue(k)
    view.join.setCurrentText(join)
    view.run_button.click()
    qtbot.waitUntil(lambda: not view.compare_job.running(), timeout=WAIT)
    return view.outcome


def test_the_copy_this_set_made_is_offered_first(sets, view):
    library, a, b_id, other_id = sets
    ids = [view.other.itemData(i).id for i in range(view.other.count())]
    assert ids == [b_id, other_id]
    assert "copy of this set" in view.other.itemText(0)
    assert f"{a.count:,} × 384" in view.other.itemText(0)
    assert view.status.text() == EMPTY_TEXT and view.result.isHidden()
    seen_from_other = choices(library.scan()[0], other_id, 60)  # copies of A: not its own
    assert [(c.id, c.derived) for c in seen_from_other] == [(a.library_id, False), (b_id, False)]


def test_a_library_of_one_set_says_what_to_do(qtbot, explorer_home, demo):
    library = Library(explorer_home)
    a = library.open(library.import_set(shipped_set(demo, "m"), name="only").id)
    state, jobs = AppState(), JobRunner()
    widget = CompareView(PanelContext(state, jobs, library))
    qtbot.addWidget(widget)
    state.set_set(a)
    assert widget.status.text() == NO_OTHER and not widget.run_button.isEnabled()
    jobs.shutdown()


def test_comparison_fills_the_summary_histogram_and_list(qtbot, sets, view):
    _library, a, b_id, _other = sets
    outcome = run(qtbot, view, b_id)
    assert outcome is not None and outcome.b_id == b_id
    expected = compare_sets(a, outcome.b, k=10)
    c = outcome.comparison
    np.testing.assert_array_equal(c.overlap, expected.overlap)
    text = view.summary.text()
    assert f"<b>{a.count:,}</b> items compared" in text
    assert f"mean <b>{expected.mean_overlap:.3f}</b>" in text
    assert f"CKA {expected.cka:.3f}" in text and "Procrustes residual" in text
    np.testing.assert_array_equal(view.bars.opts["height"], expected.histogram())
    listed = view.changed.rows()
    assert listed == [int(expected.rows_a[p]) for p in expected.changed(True, LISTED)]
    assert 0 < expected.mean_overlap < 1  # a real change: not every neighbourhood kept
    view.changed.order.setCurrentIndex(1)
    assert view.changed.rows() == [int(expected.rows_a[p])
                                   for p in expected.changed(False, LISTED)]
    assert not view.result.isHidden() and not view.error_line.isVisible()


def test_a_sample_compares_fewer_items_but_links_every_joined_one(qtbot, sets, view):
    _library, a, b_id, _other = sets
    view.sample.setValue(500)
    outcome = run(qtbot, view, b_id)
    c = outcome.comparison
    assert c.sampled == 500 and len(c.rows_a) == 500 and c.count == a.count
    assert "<b>500</b> sampled items (of 5,479)" in view.summary.text()
    assert (outcome.a_to_b == np.arange(a.count)).all()  # the maps link every item
    assert len(view.changed.rows()) == LISTED and set(view.changed.rows()) <= set(c.rows_a)


def test_a_result_for_a_set_the_user_left_is_dropped(qtbot, sets, view):
    library, a, b_id, other_id = sets
    stale = run_comparison(library, a, b_id, 10, "auto", None, TaskState())
    view._pick(other_id)  # the user moved on to another B
    view._compared(stale)
    assert view.outcome is None and view.result.isHidden()
    assert view.summary.text() == ""
    # and a job still running when B changes delivers nothing
    view._pick(b_id)
    view.run_button.click()
    view._pick(other_id)
    qtbot.waitUntil(lambda: not view.compare_job.running(), timeout=WAIT)
    qtbot.wait(50)
    assert view.outcome is None and view.result.isHidden()
    # nor one for an A the window has left
    view._pick(b_id)
    view.run_button.click()
    view.state.set_set(library.open(other_id))
    qtbot.waitUntil(lambda: not view.compare_job.running(), timeout=WAIT)
    qtbot.wait(50)
    assert view.outcome is None


def test_colour_by_overlap_reaches_the_shared_state(qtbot, sets, view):
    _library, a, b_id, _other = sets
    outcome = run(qtbot, view, b_id)
    asked = []
    view.state.viewRequested.connect(asked.append)
    view.colour_button.click()
    c = outcome.comparison
    name = view.state.colour_by
    assert name == f"overlap@10 with {outcome.b.name}"
    values = view.state.derived[name].values
    assert len(values) == a.count
    np.testing.assert_array_equal(values[c.rows_a], c.overlap)
    assert asked == ["map"]
    # B's map takes the same colouring, carried over the join to B's rows
    bmap = view.other_map
    qtbot.waitUntil(lambda: bmap.colouring is not None, timeout=WAIT)
    assert bmap.colouring.kind == "numeric"
    np.testing.assert_array_equal(bmap.colouring.values[c.rows_b], c.overlap)
    # and a metadata column the main map is coloured by, with B's own values
    view.state.set_colour_by("module")
    qtbot.waitUntil(lambda: bmap.colouring.column == "module", timeout=WAIT)
    assert bmap.colouring.kind == "categorical" and len(bmap.colouring.codes) == outcome.b.count


def test_unjoined_items_stay_uncoloured(qtbot, sets, view):
    """Joined by id on a B holding a subset of A's items: the rest are NaN (not drawn)."""
    library, a, _b, _other = sets
    keep = np.arange(0, a.count, 2)
    half = library.import_set(EmbeddingSet(
        np.asarray(a.vectors)[keep], a.metadata.take(pa.array(keep)), name="half",
        format="test", source=[], metric="cosine", id_column="id"))
    view.refresh_choices()
    outcome = run(qtbot, view, half.id, join="id")
    assert outcome.comparison.count == len(keep)
    view.colour_button.click()
    values = view.state.derived[view.state.colour_by].values
    assert np.isnan(values[1::2]).all() and np.isfinite(values[::2]).all()
    assert f"{a.count - len(keep):,} items not joined are not drawn" in \
        view.state.derived[view.state.colour_by].note
    assert (outcome.a_to_b[1::2] == -1).all() and (outcome.a_to_b[keep] == np.arange(len(keep))).all()


def test_b_map_and_the_shared_selection_are_linked(qtbot, sets, view):
    _library, a, b_id, _other = sets
    outcome = run(qtbot, view, b_id)
    bmap = view.other_map
    qtbot.waitUntil(lambda: bmap.coords is not None, timeout=WAIT)
    assert bmap.coords.shape == (outcome.b.count, 2)
    # a click on B's map selects the joined A row
    row_b = 1234
    x, y = bmap.coords[row_b]
    bmap.viewbox.clicked.emit(float(x), float(y), Qt.KeyboardModifier.NoModifier)
    picked = int(view.state.selection[0])
    assert len(view.state.selection) == 1 and outcome.a_to_b[picked] == bmap.row_at(x, y)
    # a box selects every A row joined to a B row inside it
    xs, ys = bmap.coords[:, 0], bmap.coords[:, 1]
    box_x, box_y = np.quantile(xs, [0.4, 0.6]), np.quantile(ys, [0.4, 0.6])
    bmap.viewbox.shapeFinished.emit("box", box_x, box_y, Qt.KeyboardModifier.NoModifier)
    inside = np.flatnonzero((xs >= box_x[0]) & (xs <= box_x[1]) & (ys >= box_y[0])
                            & (ys <= box_y[1]))
    np.testing.assert_array_equal(view.state.selection, np.sort(outcome.b_to_a[inside]))
    assert 0 < len(inside) < a.count
    # A's selection is marked at its B rows, the hovered item ringed
    view.state.select([5, 17, 400], source=None)
    np.testing.assert_array_equal(bmap.marked, np.sort(outcome.a_to_b[[5, 17, 400]]))
    view.state.set_hover(17, source=None)
    assert bmap.hover == outcome.a_to_b[17]
    np.testing.assert_allclose(bmap.plot.hover_item.getData()[0], [bmap.coords[bmap.hover][0]])


def test_neighbours_side_by_side_mark_kept_lost_and_new(qtbot, sets, view):
    _library, a, b_id, _other = sets
    outcome = run(qtbot, view, b_id)
    row = view.changed.rows()[0]  # the item that changed most
    view.changed.table.cellClicked.emit(0, 1)
    assert list(view.state.selection) == [row] and view.state.current == row
    in_a, in_b = brute_neighbours(a, row), brute_neighbours(outcome.b, row)
    kept, lost, new = set(in_a) & set(in_b), set(in_a) - set(in_b), set(in_b) - set(in_a)
    assert lost and new  # the most changed item lost some neighbours
    for table, listed, tinted, tint in ((view.pair.list_a, in_a, lost, LOST),
                                        (view.pair.list_b, in_b, new, GAINED)):
        rows = [int(table.item(i, 1).data(Qt.ItemDataRole.UserRole))
                for i in range(table.rowCount())]
        assert rows == listed
        for i, r in enumerate(rows):
            item = table.item(i, 1)
            assert item.font().bold() == (r in kept)
            assert (item.background().color() == tint) == (r in tinted)
    assert f"B keeps {len(kept)} of its 10" in view.pair.title.text()
    # B's neighbours of it are marked on both maps: on B's at their B rows (the same here)
    np.testing.assert_array_equal(view.state.neighbours.rows, in_b)
    bmap = view.other_map
    qtbot.waitUntil(lambda: bmap.coords is not None, timeout=WAIT)
    np.testing.assert_array_equal(bmap.marks.rows, outcome.a_to_b[in_b])
    np.testing.assert_allclose(bmap.plot.nb_query.getData()[0], [bmap.coords[row][0]])


def test_an_error_from_the_core_shows_in_the_panel(qtbot, sets, view):
    _library, _a, _b, other_id = sets
    run(qtbot, view, other_id, join="id")
    assert view.error_line.isVisible()
    text = view.error_line.text()
    assert text.startswith("Sets A and B have no ids in common") and "Traceback" not in text
    assert "What to do: join by row" in text
    assert view.outcome is None and view.result.isHidden()
    assert view.run_button.isEnabled()


def test_session_keeps_b_k_and_join_and_forgets_a_set_gone(qtbot, sets, view):
    _library, _a, b_id, _other = sets
    view._pick(b_id)
    view.k.setValue(25)
    view.join.setCurrentText("row")
    saved = view.settings()
    assert saved == {"other": b_id, "k": 25, "join": "row", "sample": 0}
    view.k.setValue(10)
    view.join.setCurrentText("auto")
    assert view.apply_settings(saved) == []
    assert view.settings() == saved
    assert view.apply_settings({"other": "gone-set", "k": 10, "join": "id"}) == []
    assert view.other_id() is None and view.result.isHidden()
    assert "no longer in the library" in view.status.text()
    assert view.apply_settings({"k": "many", "join": "fuzzy"}) != []


def brute_neighbours(es, row, k=10):
    x = np.asarray(es.vectors, dtype=np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = x @ x[row]
    s[row] = -np.inf
    return [int(i) for i in np.argsort(-s, kind="stable")[:k]]
