"""Density redraws read the panel's pyramid once it is built: the same image as today's
per-point path where bins nest in pixels, today's path for what a pyramid does not hold,
a new pyramid for every change to what it counts, and no more than two kept."""

from pathlib import Path

import numpy as np
import pytest

from explorer.compute.spatial import GridIndex
from explorer.core.colouring import OTHER, Colouring
from explorer.core.jobs import TaskState
from explorer.core.library import Library
from explorer.ui.panels.base import PanelContext
from explorer.ui.panels.map.panel import MapView
from explorer.ui.maps.pyramids import (
    KEEP,
    PyramidCache,
    build,
    request,
    source_for,
)
from explorer.ui.maps.render import Layers, render_layers
from explorer.ui.state import AppState
from explorer.ui.workers import JobRunner

N, SIZE = 40_000, 128


def clustered(n: int = N, seed: int = 0):
    """Points on a 1/256 grid in [0, 64) (exact in float32), a point at the origin so the
    pyramid's bins start there; six categories, the last "(other)"."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 6, n).astype(np.int16)
    centres = rng.uniform(12, 52, (6, 2))
    xy = centres[codes] + rng.standard_normal((n, 2)) * rng.uniform(1, 5, 6)[codes, None]
    xy = np.clip(np.round(xy * 256) / 256, 0, 63.99).astype(np.float32)
    xy[0] = 0.0
    labels = ["a", "b", "c", "d", "e", OTHER]
    colouring = Colouring("kind", "categorical", codes=codes, labels=labels,
                          counts=np.bincount(codes, minlength=6).tolist())
    return xy, colouring


@pytest.fixture(scope="module")
def data():
    xy, colouring = clustered()
    return xy, GridIndex(xy), colouring


def layers_for(data, rect=(0.0, 64.0, 0.0, 64.0), size=SIZE, pyramids=None, **kw):
    xy, index, colouring = data
    args = {"colouring": colouring, "values": None, "hidden": frozenset(), "radius": 2,
            "selection": np.zeros(0, np.int64), "matches": None, "sorted_cache": {}, **kw}
    return Layers(xy, index, rect, size, size, pyramids=pyramids, **args)


def filled(layers) -> PyramidCache:
    cache = PyramidCache()
    source = source_for(layers)
    cache.add(source, build(source, TaskState()))
    return cache


@pytest.mark.parametrize("kw", [{}, {"hidden": frozenset({1})},
                                {"filtered": np.arange(0, N, 2)},
                                {"colouring": None, "filtered": np.arange(0, N, 3)},
                                {"dark": True, "filtered": np.arange(N // 2)}])
@pytest.mark.parametrize("rect", [(0.0, 64.0, 0.0, 64.0), (16.0, 48.0, 16.0, 48.0)])
def test_a_view_on_bin_edges_draws_todays_image_from_the_pyramid(data, kw, rect, monkeypatch):
    from explorer.ui.maps import pyramids

    monkeypatch.setattr(pyramids, "POINTS_PER_BIN", 3)  # bins read at ~3.6 points a bin
    monkeypatch.setattr(pyramids, "POINTS_PER_LAYER", 0.0)
    today = render_layers(layers_for(data, rect, **kw), TaskState())
    layers = layers_for(data, rect, **kw)
    cache = filled(layers)
    calls = []
    image = cache.image
    cache.image = lambda lay: calls.append(image(lay)) or calls[-1]
    got = render_layers(layers_for(data, rect, pyramids=cache, **kw), TaskState())
    assert calls and calls[0] is not None and today[2] == got[2] == ("density", got[2][1])
    assert np.count_nonzero(today[0][..., 3]) > 2000
    np.testing.assert_array_equal(got[0], today[0])


def test_what_a_pyramid_does_not_hold_is_drawn_per_point(data):
    xy, _index, colouring = data
    numeric = Colouring("size", "numeric", values=xy[:, 0].copy(), vmin=0.0, vmax=64.0)
    assert source_for(layers_for(data, colouring=numeric)) is None
    assert source_for(layers_for(data, values=np.ones(N, np.float32))) is None
    assert source_for(layers_for(data, colouring=None)) is None  # count colours
    assert source_for(layers_for(data, selection=np.arange(100))) is None  # dims the map
    assert source_for(layers_for((xy, None, colouring))) is None  # no index yet
    # zoomed past the finest bins: the pyramid gives way to the points
    layers = layers_for(data)
    cache = filled(layers)
    deep = (30.0, 30.5, 30.0, 30.5)
    assert cache.image(layers_for(data, deep)) is None
    np.testing.assert_array_equal(
        render_layers(layers_for(data, deep, pyramids=cache), TaskState())[0],
        render_layers(layers_for(data, deep), TaskState())[0])


def test_every_change_to_what_is_counted_wants_another_pyramid(data):
    xy, index, colouring = data
    base = layers_for(data, filtered=np.arange(10))
    cache = filled(base)
    assert cache.wanted(base, "density") is None  # built already
    assert cache.wanted(layers_for(data), "points") is None  # not a density render
    same = layers_for(data, filtered=base.filtered, dark=True, rect=(1.0, 2.0, 1.0, 2.0))
    assert cache.find(source_for(same)) is not None  # theme and view: the same pyramid
    recoloured = Colouring("kind", "categorical", codes=colouring.codes.copy(),
                           labels=colouring.labels, counts=colouring.counts)
    for changed in (layers_for(data, filtered=np.arange(10)),  # another filter
                    layers_for(data, filtered=base.filtered, hidden=frozenset({2})),
                    layers_for(data, filtered=base.filtered, colouring=recoloured),
                    layers_for((xy.copy(), index, colouring), filtered=base.filtered),
                    layers_for((xy, GridIndex(xy), colouring), filtered=base.filtered)):
        assert cache.wanted(changed, "density") is not None


def test_the_cache_keeps_the_last_two_and_does_not_retry_a_failed_build(data):
    cache = PyramidCache()
    sources = [source_for(layers_for(data, hidden=frozenset({h}))) for h in range(4)]
    for s in sources[:3]:
        cache.add(s, build(s, TaskState()))
    assert [cache.find(s) is not None for s in sources[:3]] == [False] * (3 - KEEP) + [True] * KEEP
    assert cache.nbytes == sum(cache.find(s).nbytes for s in sources[3 - KEEP:3])
    cache.failed(sources[3])
    assert cache.find(sources[3]) is None
    assert cache.wanted(layers_for(data, hidden=frozenset({3})), "density") is None
    cache.clear()
    assert cache.nbytes == 0 and cache.find(sources[2]) is None


def test_past_the_memory_budget_only_the_newest_is_kept(data, monkeypatch):
    cache = PyramidCache()
    first, second = (source_for(layers_for(data, hidden=frozenset({h}))) for h in range(2))
    cache.add(first, build(first, TaskState()))
    monkeypatch.setattr("explorer.ui.maps.pyramids.MAX_BYTES", cache.nbytes + 1)
    cache.add(second, build(second, TaskState()))
    assert cache.find(first) is None and cache.find(second) is not None


class Jobs:
    """PanelJobs' submit, run at once."""

    def __init__(self):
        self.kinds = []

    def submit(self, kind, label, fn, *args, on_done=None, on_error=None):
        self.kinds.append(kind)
        try:
            result = fn(*args, TaskState())
        except MemoryError as error:
            on_error(error)
        else:
            on_done(result)


def test_request_builds_once_and_tells_the_panel(data, monkeypatch):
    layers = layers_for(data)
    cache, jobs, built = PyramidCache(), Jobs(), []
    request(cache, layers, "density", jobs, built.append)
    request(cache, layers, "density", jobs, built.append)
    assert jobs.kinds == ["pyramid"] and built[0].same(source_for(layers))
    assert cache.find(source_for(layers)) is not None

    def no_memory(*_args, **_kw):
        raise MemoryError
    monkeypatch.setattr("explorer.ui.maps.pyramids.build_pyramid", no_memory)
    hidden = layers_for(data, hidden=frozenset({0}))
    request(cache, hidden, "density", jobs, built.append)
    request(cache, hidden, "density", jobs, built.append)
    assert jobs.kinds == ["pyramid"] * 2 and len(built) == 1  # failed once, not again


def test_the_panel_builds_a_pyramid_after_a_density_render_and_draws_from_it(qtbot, data,
                                                                            tmp_path: Path):
    xy, index, colouring = data
    runner = JobRunner()
    view = MapView(PanelContext(AppState(), runner, Library(tmp_path)))
    qtbot.addWidget(view)
    view.resize(300, 260)  # small enough for 40k points to be drawn as a density
    view.show()
    view.coords, view.index, view.colouring = xy, index, colouring
    view.fit()
    drawn = []
    image = view.pyramids.image
    view.pyramids.image = lambda lay: drawn.append(image(lay)) or drawn[-1]
    with qtbot.waitSignal(view.renderFinished, timeout=30000) as first:
        view._render()
    assert first.args[0] == "density"
    qtbot.waitUntil(lambda: any(d is not None for d in drawn), timeout=30000)
    assert view.pyramids.nbytes > 0
    view.new_set(None)
    assert view.pyramids.nbytes == 0
    runner.shutdown()


def test_a_view_with_hardly_fewer_bins_than_points_is_drawn_per_point(data, monkeypatch):
    """Zoomed in on sparse rows the pyramid's bins are about as many as the points: reading
    them is no quicker, so the points are drawn (POINTS_PER_BIN)."""
    from explorer.ui.maps import pyramids

    layers = layers_for(data)
    cache = filled(layers)
    assert cache.image(layers) is not None  # ~9 points a bin in the whole map's view
    monkeypatch.setattr(pyramids, "POINTS_PER_BIN", 1000)
    assert cache.image(layers) is None
    monkeypatch.setattr(pyramids, "POINTS_PER_BIN", 3)
    monkeypatch.setattr(pyramids, "POINTS_PER_LAYER", 4)  # "(other)" under: 7 a bin wanted
    assert cache.image(layers_for(data, (16.0, 48.0, 16.0, 48.0))) is None  # ~3.6 a bin


@pytest.mark.parametrize("dark", [False, True])
def test_the_per_point_layers_drawn_in_one_finish_equal_them_laid_over_each_other(data, dark):
    """render_layers draws "(other)" under the categories and the held-back rows under both
    in density_image's finish; the same as drawing each and composite_over, as before."""
    from explorer.compute import raster
    from explorer.ui.maps.render import (
        FILTERED_OUT,
        FILTERED_OUT_ALPHA,
        GREY_ALPHA,
        palette_for,
    )

    xy, _index, colouring = data
    passes = np.arange(0, N, 2)
    layers = layers_for(data, filtered=passes, dark=dark)
    got, _overlay, (mode, _n) = render_layers(layers, TaskState())
    assert mode == "density"
    codes = np.where(np.isin(np.arange(N), passes), colouring.codes, -1)
    pal = palette_for(colouring)
    grey = np.array([label == OTHER for label in colouring.labels])

    def draw(c, p, visible=None):
        return raster.density_image(xy, layers.rect, SIZE, SIZE, categories=c, palette=p,
                                    visible=visible)

    under = draw(codes, pal, grey)
    under[..., 3] = GREY_ALPHA[under[..., 3]]
    want = raster.composite_over(draw(codes, pal, ~grey), under)
    held = draw(np.where(np.isin(np.arange(N), passes), -1, 0),
                np.array([FILTERED_OUT[1] if dark else FILTERED_OUT[0]], np.uint8))
    held[..., 3] = FILTERED_OUT_ALPHA[held[..., 3]]
    np.testing.assert_array_equal(got, raster.composite_over(want, held))
