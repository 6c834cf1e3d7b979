"""The map greys the rows the shared filter holds back: they stay in place, faint and grey,
under the rows that pass, which keep their colouring; the selection still reads on top."""

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute.spatial import GridIndex
from explorer.core.colouring import Colouring
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import TaskState
from explorer.core.library import Library
from explorer.ui.maps.render import (FILTER_CACHE, FILTERED_OUT, UNCOLOURED, Layers,
                                           palette_for, render_layers)
from explorer.ui.state import FilterPart

SIZE = 40


def layers_for(xy, colouring=None, filtered=None, selection=(), index=False, size=SIZE,
               cache=None, values=None):
    xy = np.asarray(xy, dtype=np.float32)
    return Layers(xy, GridIndex(xy) if index else None, (0.0, 40.0, 0.0, 40.0), size, size,
                  colouring, values, frozenset(), 2, np.asarray(selection, dtype=np.int64),
                  None, {} if cache is None else cache,
                  filtered=None if filtered is None else np.asarray(filtered, dtype=np.int64))


def pixel(image, x, y, size=SIZE):
    return image[size - 1 - int(y), int(x)]


SECTIONS = Colouring("section", "categorical", codes=np.array([0, 1, 0, 1], np.int16),
                     labels=["games", "web"], counts=[2, 2])
XY = [[5.5, 5.5], [15.5, 15.5], [25.5, 25.5], [35.5, 35.5]]


def test_rows_outside_the_filter_are_grey_and_faint_the_others_keep_their_colour():
    base, _overlay, (mode, _n) = render_layers(layers_for(XY, SECTIONS, filtered=[0, 1]),
                                               TaskState())
    unfiltered, _o, _i = render_layers(layers_for(XY, SECTIONS), TaskState())
    assert mode in ("blend", "points")
    palette = palette_for(SECTIONS)
    for row, (x, y) in enumerate(XY):
        got, before = pixel(base, x, y), pixel(unfiltered, x, y)
        if row < 2:  # passes: as without a filter, in its category's colour
            np.testing.assert_array_equal(got, before)
            assert np.abs(got[:3].astype(int) - palette[SECTIONS.codes[row]][:3]).max() <= 30
        else:  # held back: still there, grey and fainter
            assert 0 < got[3] < 0.6 * before[3]
            assert np.abs(got[:3].astype(int) - FILTERED_OUT[0][:3]).max() <= 10


def test_a_passing_row_is_drawn_over_a_grey_one_at_the_same_place():
    xy = [[10.5, 10.5]] * 20 + [[10.5, 10.5]]  # 20 held back under one that passes
    codes = np.zeros(21, np.int16)
    colouring = Colouring("section", "categorical", codes=codes, labels=["games"], counts=[21])
    base, _o, _i = render_layers(layers_for(xy, colouring, filtered=[20]), TaskState())
    games = palette_for(colouring)[0]
    assert np.abs(pixel(base, 10.5, 10.5)[:3].astype(int) - games[:3]).max() <= 30


def test_without_a_colouring_the_passing_rows_take_one_colour():
    base, _o, _i = render_layers(layers_for(XY, None, filtered=[3]), TaskState())
    assert np.abs(pixel(base, 35.5, 35.5)[:3].astype(int) - UNCOLOURED[:3]).max() <= 30
    assert pixel(base, 5.5, 5.5)[3] < 0.6 * pixel(base, 35.5, 35.5)[3]


def test_a_numeric_colouring_reads_for_the_passing_rows_only():
    values = np.array([0.0, 0.3, 0.6, 1.0], dtype=np.float32)
    numeric = Colouring("score", "numeric", values=values, vmin=0.0, vmax=1.0)
    base, _o, _i = render_layers(layers_for(XY, numeric, filtered=[2, 3]), TaskState())
    unfiltered, _o, _i = render_layers(layers_for(XY, numeric), TaskState())
    np.testing.assert_array_equal(pixel(base, 35.5, 35.5), pixel(unfiltered, 35.5, 35.5))
    assert pixel(base, 5.5, 5.5)[3] < 0.6 * pixel(unfiltered, 5.5, 5.5)[3]


def test_the_selection_reads_over_the_grey():
    _base, overlay, _i = render_layers(layers_for(XY, SECTIONS, filtered=[0], selection=[3]),
                                      TaskState())
    assert overlay is not None
    around = overlay[SIZE - 1 - 39:SIZE - 1 - 31, 31:40, 3]  # the ring around (35.5, 35.5)
    assert around.max() > 200


def test_a_density_image_greys_too_and_the_cache_follows_the_filter():
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 40, size=(20000, 2))
    codes = (xy[:, 0] > 20).astype(np.int16)
    colouring = Colouring("side", "categorical", codes=codes, labels=["west", "east"],
                          counts=[int((codes == 0).sum()), int((codes == 1).sum())])
    east = np.flatnonzero(codes == 1)
    cache: dict = {}
    base, _o, (mode, _n) = render_layers(
        layers_for(xy, colouring, filtered=east, index=True, size=20, cache=cache),
        TaskState())
    assert mode == "density"
    west_alpha = base[:, :8, 3].mean()
    east_alpha = base[:, 12:, 3].mean()
    assert 0 < west_alpha < east_alpha  # held back: there, but fainter
    first = cache[FILTER_CACHE]
    sizes = len(cache)
    render_layers(layers_for(xy, colouring, filtered=east, index=True, size=20, cache=cache),
                  TaskState())
    assert cache[FILTER_CACHE] is first and len(cache) == sizes  # the same filter: reused
    render_layers(layers_for(xy, colouring, filtered=east[:10], index=True, size=20,
                             cache=cache), TaskState())
    assert cache[FILTER_CACHE] is not first and len(cache) == sizes  # old arrays dropped


@pytest.fixture
def library(explorer_home):
    rng = np.random.default_rng(4)
    lib = Library(explorer_home)
    lib.import_set(EmbeddingSet(rng.normal(size=(300, 2)).astype(np.float32),
                                pa.table({"id": [f"a{i}" for i in range(300)],
                                          "size": np.arange(300)}),
                                name="flat", format="test", id_column="id"))
    return lib


def test_the_map_panel_draws_the_shared_filter(qtbot, windows):
    win = windows()
    view = win.map_view
    with qtbot.waitSignal(view.renderFinished, timeout=60000):
        win.open_library_set("flat")
    assert view.layers().filtered is None
    rows = np.arange(0, 300, 2)
    with qtbot.waitSignal(view.renderFinished, timeout=30000):
        win.state.set_filter_part(FilterPart("chart:size", "size: even", "size % 2 = 0", rows))
    assert view.layers().filtered is win.state.filter.rows
    np.testing.assert_array_equal(view.layers().filtered, rows)
    with qtbot.waitSignal(view.renderFinished, timeout=30000):
        win.state.remove_filter_parts()
    assert view.layers().filtered is None
