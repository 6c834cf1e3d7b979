"""render_layers draws a density image's layers in one pass over the points
(`render.density_layers`): the same image, bit for bit, as drawing them one by one."""

import numpy as np
import pytest

from explorer.compute.spatial import GridIndex
from explorer.core.colouring import MISSING, OTHER, Colouring
from explorer.core.jobs import TaskState
from explorer.ui.maps import render
from explorer.ui.maps.render import Layers, render_layers

N, W, H = 30_000, 150, 110


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 7, N).astype(np.int16)
    centres = rng.uniform(-5, 5, (8, 2))
    xy = (centres[codes] + rng.standard_normal((N, 2)) * rng.uniform(0.3, 2, 8)[codes, None])
    xy = xy.astype(np.float32)
    labels = ["a", "b", "c", OTHER, "d", MISSING, "e"]
    other = Colouring("kind", "categorical", codes=codes, labels=labels,
                      counts=np.bincount(codes[codes >= 0], minlength=7).tolist())
    plain = Colouring("kind", "categorical", codes=codes, labels=list("abcdefg"),
                      counts=other.counts)
    return xy, GridIndex(xy), plain, other


def layers_for(data, colouring="plain", rect=(-8.0, 8.0, -6.0, 6.0), **kw):
    xy, index, plain, other = data
    chosen = {"plain": plain, "other": other, None: None}[colouring]
    args = {"values": None, "hidden": frozenset(), "radius": 2,
            "selection": np.zeros(0, np.int64), "matches": None, "sorted_cache": {}, **kw}
    return Layers(xy, index, rect, W, H, chosen, **args)


CASES = {
    "categories": {},
    "other": {"colouring": "other"},
    "filter": {"filtered": np.arange(0, N, 2)},
    "mixed": {"colouring": "other", "filtered": np.arange(0, N, 3)},
    "mixed dark": {"colouring": "other", "filtered": np.arange(N // 2), "dark": True},
    "hidden": {"colouring": "other", "hidden": frozenset({0, 3}),
               "filtered": np.arange(0, N, 2)},
    "uncoloured filter": {"colouring": None, "filtered": np.arange(0, N, 4)},
    "zoomed": {"colouring": "other", "filtered": np.arange(0, N, 2),
               "rect": (-4.0, 3.0, -3.0, 2.5)},
}


@pytest.mark.parametrize("case", CASES)
def test_the_layers_in_one_pass_equal_them_drawn_one_by_one(data, monkeypatch, case):
    calls = []
    one_pass = render.density_layers
    monkeypatch.setattr(render, "density_layers",
                        lambda *a: calls.append(1) or one_pass(*a))
    got, _overlay, (mode, _n) = render_layers(layers_for(data, **CASES[case]), TaskState())
    assert mode == "density" and calls
    monkeypatch.setattr(render, "density_layers", lambda *a: None)
    want = render_layers(layers_for(data, **CASES[case]), TaskState())[0]
    assert np.count_nonzero(want[..., 3]) > 1000
    np.testing.assert_array_equal(got, want)


def test_a_redraw_reuses_the_slots_of_a_filter(data):
    """The held-back rows' slots are made once per filter and the index's order kept."""
    cache = {}
    layers = layers_for(data, colouring="other", filtered=np.arange(0, N, 2), sorted_cache=cache)
    first = render_layers(layers, TaskState())[0]
    kept = dict(cache)
    again = render_layers(layers, TaskState())[0]
    np.testing.assert_array_equal(first, again)
    assert {k for k in cache if isinstance(k, int)} == {k for k in kept if isinstance(k, int)}
