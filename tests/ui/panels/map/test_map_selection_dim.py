"""A selection dims the rest of the map: unselected rows stay in place, grey and faint,
selected rows keep their colouring; a single clicked item does not dim anything."""

import numpy as np

from explorer.core.colouring import Colouring
from explorer.core.jobs import TaskState
from explorer.ui.maps.render import (FILTER_CACHE, FILTERED_OUT, Layers, palette_for,
                                           render_layers)

SIZE = 40
XY = [[5.5, 5.5], [15.5, 15.5], [25.5, 25.5], [35.5, 35.5]]
SECTIONS = Colouring("section", "categorical", codes=np.array([0, 1, 0, 1], np.int16),
                     labels=["games", "web"], counts=[2, 2])


def layers_for(selection=(), filtered=None, dim=True, cache=None) -> Layers:
    xy = np.asarray(XY, dtype=np.float32)
    return Layers(xy, None, (0.0, 40.0, 0.0, 40.0), SIZE, SIZE, SECTIONS, None, frozenset(), 2,
                  np.asarray(selection, dtype=np.int64), None, {} if cache is None else cache,
                  filtered=None if filtered is None else np.asarray(filtered, dtype=np.int64),
                  dim_unselected=dim)


def pixel(image, x, y):
    return image[SIZE - 1 - int(y), int(x)]


def test_unselected_rows_are_grey_and_faint_selected_rows_keep_their_colour():
    """Selected rows keep their colour, drawn firmer and larger over the dimmed map (a pixel
    each would not read at 63k)."""
    base, _overlay, _info = render_layers(layers_for(selection=[0, 1]), TaskState())
    plain, _o, _i = render_layers(layers_for(), TaskState())
    palette = palette_for(SECTIONS)
    for row, (x, y) in enumerate(XY):
        got, before = pixel(base, x, y), pixel(plain, x, y)
        if row < 2:  # in its colour, at least as firm as without a selection
            assert got[3] >= before[3]
            assert np.abs(got[:3].astype(int) - palette[SECTIONS.codes[row]][:3]).max() <= 30
        else:  # dimmed, not hidden
            assert 0 < got[3] < 0.6 * before[3]
            assert np.abs(got[:3].astype(int) - FILTERED_OUT[0][:3]).max() <= 10


def test_one_selected_item_or_the_toggle_off_leaves_the_map_as_it_was():
    plain, _o, _i = render_layers(layers_for(), TaskState())
    for layers in (layers_for(selection=[0]), layers_for(selection=[0, 1], dim=False)):
        base, _o, _i = render_layers(layers, TaskState())
        np.testing.assert_array_equal(base, plain)


def test_selection_and_filter_combine_and_a_new_selection_is_not_served_from_the_cache():
    cache: dict = {}
    base, _o, _i = render_layers(layers_for(selection=[0, 1, 2], filtered=[1, 2, 3],
                                            cache=cache), TaskState())
    plain, _o, _i = render_layers(layers_for(), TaskState())
    palette = palette_for(SECTIONS)

    def in_colour(image, row):
        got = pixel(image, *XY[row])
        return bool(np.abs(got[:3].astype(int) - palette[SECTIONS.codes[row]][:3]).max() <= 30
                    and got[3] >= pixel(plain, *XY[row])[3])

    coloured = [in_colour(base, row) for row in range(len(XY))]
    assert coloured == [False, True, True, False]  # selected and passing
    base, _o, _i = render_layers(layers_for(selection=[2, 3], filtered=[1, 2, 3], cache=cache),
                                 TaskState())
    coloured = [in_colour(base, row) for row in range(len(XY))]
    assert coloured == [False, False, True, True]
    assert cache[FILTER_CACHE]["passes"].tolist() == [False, False, True, True]


def test_over_a_dimmed_density_image_the_selection_shows_its_colours_not_dark_marks():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 40, size=(2000, 2)).astype(np.float32)  # crowds a 40x40 image
    codes = (np.arange(2000) % 2).astype(np.int16)
    colouring = Colouring("section", "categorical", codes=codes, labels=["games", "web"],
                          counts=[1000, 1000])
    selection = np.arange(0, 2000, 50, dtype=np.int64)

    def render(dim):
        layers = Layers(xy, None, (0.0, 40.0, 0.0, 40.0), SIZE, SIZE, colouring, None,
                        frozenset(), 2, selection, None, {}, dim_unselected=dim)
        return render_layers(layers, TaskState())

    _base, overlay, (mode, _n) = render(True)
    assert mode == "density" and overlay is None
    _base, overlay, _info = render(False)  # not dimming: the dark marks are the selection
    assert overlay is not None and (overlay[..., 3] > 0).any()
