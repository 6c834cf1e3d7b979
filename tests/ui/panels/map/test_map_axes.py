"""The concept plane's axes read the scores themselves, however often the map is re-mapped."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.library import Library
from explorer.ui.main_window import MainWindow
from explorer.ui.state import ConceptPlane


@pytest.fixture
def window(qtbot, explorer_home):
    win = MainWindow(Library(explorer_home))
    qtbot.addWidget(win)
    win.show()
    win.show_view("map")
    yield win
    win.jobs.shutdown()


def shown_ticks(axis) -> list[tuple[float, float]]:
    """(value, number as drawn) of each tick, the way pyqtgraph's AxisItem draws them."""
    lo, hi = sorted(axis.range)
    pairs = []
    for spacing, values in axis.tickValues(lo, hi, 400):
        strings = axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
        pairs += [(v, float(s.replace("\u2212", "-"))) for v, s in zip(values, strings)]
    return pairs


def test_concept_plane_axis_values_are_the_scores_after_re_mapping(qtbot, window, tmp_path):
    rng = np.random.default_rng(3)
    xy = rng.normal(size=(3000, 2)).astype(np.float32)
    path = tmp_path / "plane.parquet"
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(len(xy))], "vec": list(xy)}), path)
    with qtbot.waitSignal(window.map_view.renderFinished, timeout=60000):
        window.open_paths([str(path)])
    view = window.map_view
    scores = (xy * 0.15).astype(np.float32)  # cosine scores: within ±0.6
    for x_label, y_label in (("north", "south"), ("east", "west"), ("up", "down")):
        window.state.set_plane(ConceptPlane(scores, x_label, y_label, 0.1))
        qtbot.waitUntil(lambda want=x_label: view.projection_info.get("x") == want,
                        timeout=30000)
        for side, column in (("bottom", 0), ("left", 1)):
            axis = view.plot.getAxis(side)
            ticks = shown_ticks(axis)
            assert len(ticks) >= 3
            for value, drawn in ticks:
                assert drawn == pytest.approx(value, abs=1e-9)
            drawn = [d for _v, d in ticks]
            # the ticks span the scores shown, not a thousand times more
            assert max(abs(d) for d in drawn) <= 2 * float(np.abs(scores[:, column]).max())
            assert axis.labelUnitPrefix == "" and "(x" not in axis.labelString()


def test_a_projection_shows_no_axes_and_the_plane_only_its_two(qtbot, window, tmp_path):
    rng = np.random.default_rng(4)
    xy = rng.normal(size=(500, 2)).astype(np.float32)
    path = tmp_path / "plane.parquet"
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(len(xy))], "vec": list(xy)}), path)
    with qtbot.waitSignal(window.map_view.renderFinished, timeout=60000):
        window.open_paths([str(path)])
    view = window.map_view
    item = view.plot.getPlotItem()
    def shown() -> set[str]:
        return {side for side in ("left", "bottom", "right", "top")
                if item.getAxis(side).isVisible()}

    assert shown() == set()  # a projection's axes mean nothing
    window.state.set_plane(ConceptPlane(xy * 0.1, "north", "south", 0.1))
    qtbot.waitUntil(lambda: view.projection_info.get("x") == "north", timeout=30000)
    assert shown() == {"left", "bottom"}
