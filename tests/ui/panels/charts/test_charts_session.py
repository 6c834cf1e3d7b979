"""Sessions keep the charted columns and the charts' parts of the filter as plain values; a
hostile file's values are refused with notes, and its text stays a quoted value."""

import json

import numpy as np
import pyarrow as pa
import pytest
from packages import WAIT, D, settle, store_packages
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from explorer.core.column_charts import CATEGORIES, ChartPart
from explorer.core.session import Session, SetRef
from explorer.ui.panels.charts.panel import part_key
from explorer.ui.panels.charts.saved import read_saved, to_settings

N = 1500


def metadata() -> pa.Table:
    rng = np.random.default_rng(5)
    return pa.table({
        "id": [f"a{i}" for i in range(N)],
        "section": np.array(["games", "web", "art"])[rng.integers(0, 3, N)],
        "priority": np.array(["optional", "extra"])[rng.integers(0, 2, N)],
        "size_kb": rng.lognormal(5, 2, N).astype(np.int64),
    })


@pytest.fixture
def library(explorer_home):
    return store_packages(explorer_home, metadata())


def open_session(qtbot, win, path) -> list[str]:
    with qtbot.waitSignal(win.sessions.applied, timeout=WAIT) as applied:
        win.open_paths([str(path)])
    settle(qtbot, win)
    return applied.args[0]


def test_a_session_keeps_the_columns_and_the_charts_filter(qtbot, windows, tmp_path):
    first = windows()
    with qtbot.waitSignal(first.state.setChanged, timeout=WAIT):
        first.open_library_set("packages")
    settle(qtbot, first)
    view = first.panels["charts"]
    view.set_columns(["size_kb", "priority"])  # this order, section left out
    settle(qtbot, first)
    bars = view.widgets["priority"]
    QTest.mouseClick(bars, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     bars.bar_centre(bars.chart.values.index("extra")).toPoint())
    chart = view.widgets["size_kb"].chart
    view.choose("size_kb", chart.part_for_bins(2, 5))
    first.table_view.filter_edit.setText("section <> 'art'")
    first.table_view.filter_edit.returnPressed.emit()
    settle(qtbot, first)
    assert len(first.state.filter.parts) == 3
    sql, rows = first.state.filter.sql, first.state.filter.rows.copy()
    path = tmp_path / "charts.eesession"
    with qtbot.waitSignal(first.sessions.saved, timeout=WAIT):
        first.sessions.save(str(path))
    saved = json.loads(path.read_text())["panels"]["charts"]
    assert saved["columns"] == ["size_kb", "priority"]
    by_column = {part["column"]: part for part in saved["parts"]}  # in the order jobs ended
    assert by_column["priority"] == {"column": "priority", "values": ["extra"]}
    assert by_column["size_kb"] == {"column": "size_kb", "range": [int(chart.bins.edges[2]),
                                                                   int(chart.bins.edges[6])]}
    assert "sql" not in json.dumps(saved)  # values, never SQL

    second = windows()
    assert open_session(qtbot, second, path) == []
    assert second.panels["charts"].columns == ["size_kb", "priority"]
    # the parts are applied as their jobs end: compare them by key, not order
    assert {p.key: p.sql for p in second.state.filter.parts} == \
        {p.key: p.sql for p in first.state.filter.parts}
    np.testing.assert_array_equal(second.state.filter.rows, rows)
    assert second.state.filter.part(part_key("size_kb")).sql in sql
    assert second.panels["charts"].widgets["size_kb"].brushed() == (2, 5)


def test_hostile_chart_settings_are_refused_with_notes(qtbot, windows, tmp_path):
    hostile = {
        "columns": ["section", 5, "nope", "x" * 5000, "priority"],
        "parts": [
            {"column": "section", "values": [{"$gt": ""}]},
            {"column": "size_kb", "range": ["0; DROP TABLE items", 5]},
            {"column": "size_kb", "range": [1, float("inf")]},
            {"column": "nope", "values": ["a"]},
            {"column": "priority", "values": ["extra' OR 1=1 --"]},
            "junk",
        ],
    }
    path = Session(set=SetRef("packages", "packages", N, D),
                   panels={"charts": hostile}).save(tmp_path / "hostile.eesession")
    win = windows()
    notes = open_session(qtbot, win, path)
    joined = "\n".join(notes)
    assert "a column should be named by text, not int 5" in joined
    assert "this set has no column named 'nope'" in joined
    assert "'section' holds text, so dict {'$gt': ''} cannot be one of its values" in joined
    assert "the range of 'size_kb' should be two numbers" in joined
    assert "a part should be an object, not str 'junk'" in joined
    assert all(len(n) <= 300 for n in notes)
    assert win.panels["charts"].columns == ["section", "priority"]
    # the quote-laden text is one value, quoted: it selects no row and reads nothing else
    (part,) = win.state.filter.parts
    assert part.sql == "\"priority\" = 'extra'' OR 1=1 --'"
    assert len(part.rows) == 0 and len(win.state.filter.rows) == 0


def test_odd_shapes_give_notes_not_tracebacks(qtbot, windows, tmp_path):
    path = Session(set=SetRef("packages", "packages", N, D),
                   panels={"charts": {"columns": "section", "parts": {"a": 1}}}
                   ).save(tmp_path / "odd.eesession")
    win = windows()
    notes = open_session(qtbot, win, path)
    assert any("the charts' columns should be a list" in n for n in notes)
    assert any("the charts' filter should be a list" in n for n in notes)
    assert win.state.filter.parts == ()
    assert win.panels["charts"].columns  # the defaults, as for a set opened afresh


def test_the_other_bar_is_kept_as_the_values_it_leaves_out():
    schema = metadata().schema
    part = ChartPart("section", CATEGORIES, values=(None,), other_than=("games", "web"),
                     unit="text")
    settings = json.loads(json.dumps(to_settings(["section"], [part])))
    assert settings["parts"] == [{"column": "section", "values": [None],
                                  "other_than": ["games", "web"]}]
    assert read_saved(settings, schema).parts == [part]
    odd = {"parts": [{"column": "section", "values": [], "other_than": ["a", None]},
                     {"column": "section", "values": [], "other_than": "games"},
                     {"column": "section", "values": [], "other_than": [3]},
                     {"column": "section", "values": []}]}
    notes = read_saved(odd, schema).notes
    assert len(notes) == 4 and not read_saved(odd, schema).parts
    assert "the values \"(other)\" leaves out in 'section' should be a list" in notes[0]
    assert "'section' holds text, so int 3 cannot be one of its values" in notes[2]
    assert "the values chosen in 'section' should be a list of 1 to" in notes[3]
