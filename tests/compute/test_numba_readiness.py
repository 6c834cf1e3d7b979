"""The readiness gate: while the compile worker runs, a kernel is used only if it is compiled
here or loadable from numba's disk cache, and asking never compiles in this process."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba.core import config, event
from numba.core.caching import Cache, IndexDataCacheFile

from explorer.compute import index, spatial
from explorer.compute.numba import compile_worker, readiness

KERNEL_SOURCE = textwrap.dedent('''
    from explorer.compute.numba import jit

    @jit(nogil=True)
    def twice(a):
        return a * 2
''')


def test_numba_private_cache_api_is_still_there():
    """readiness reads numba's cache through private names; a numba that renames them must
    fail here, not silently draw with numpy for the whole first session."""
    assert callable(Cache._index_key)
    assert callable(IndexDataCacheFile._load_index)
    kernel = spatial._build_kernel
    assert isinstance(kernel._cache, Cache)
    assert isinstance(kernel._cache._cache_file, IndexDataCacheFile)
    assert callable(kernel.targetctx.codegen().magic_tuple)
    assert isinstance(kernel.overloads, dict)
    assert callable(event.install_listener) and issubclass(readiness.NoCompile, event.Listener)
    sig = readiness.signature(kernel, (np.zeros((2, 2), np.float32),))
    assert isinstance(readiness.in_cache_index(kernel, sig), bool)


@pytest.fixture
def cached_kernel(tmp_path, monkeypatch):
    """A kernel whose float64 signature another process compiled into an empty cache
    folder, loaded here fresh (nothing compiled in this process)."""
    folder = tmp_path / "mod"
    folder.mkdir()
    (folder / "ready_kernel_mod.py").write_text(KERNEL_SOURCE)
    cache = tmp_path / "cache"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache),
               PYTHONPATH=os.pathsep.join([str(folder), *sys.path]))
    compile_there = "import numpy, ready_kernel_mod as m; m.twice(numpy.ones(3))"
    subprocess.run([sys.executable, "-c", compile_there], env=env, check=True, timeout=300)
    monkeypatch.setattr(config, "CACHE_DIR", str(cache))
    monkeypatch.syspath_prepend(str(folder))
    sys.modules.pop("ready_kernel_mod", None)
    module = importlib.import_module("ready_kernel_mod")
    yield module.twice
    sys.modules.pop("ready_kernel_mod", None)


@pytest.fixture
def worker_running(monkeypatch):
    """As if the compile worker were compiling; `generation` is its progress counter."""
    generation = [1]
    monkeypatch.setattr(compile_worker, "running", lambda: True)
    monkeypatch.setattr(compile_worker.WORKER, "generation", lambda: generation[0])
    requested = []
    monkeypatch.setattr(compile_worker, "request", lambda: requested.append(True))
    return generation


def test_without_a_worker_everything_is_ready(monkeypatch):
    monkeypatch.setattr(compile_worker, "running", lambda: False)
    assert readiness.ready(spatial._build_kernel, np.zeros((1, 2), np.float64))


def test_a_cached_signature_is_loaded_and_a_missing_one_never_compiles(cached_kernel,
                                                                       worker_running):
    compiles = []

    class Count(event.Listener):
        def on_start(self, ev):
            compiles.append(ev)

        def on_end(self, ev):
            pass

    with event.install_listener("numba:compile", Count()):
        assert readiness.ready(cached_kernel, np.ones(3))  # loaded from the disk cache
        assert not readiness.ready(cached_kernel, np.ones(3, np.int32))  # not cached
        assert not readiness.ready(cached_kernel, np.ones(3, np.int32))  # memoised
    assert compiles == []
    assert len(cached_kernel.overloads) == 1
    assert np.array_equal(cached_kernel(np.ones(3)), np.full(3, 2.0))


def test_a_negative_answer_is_checked_again_after_the_worker_reports(cached_kernel,
                                                                     worker_running,
                                                                     monkeypatch):
    calls = []
    real = readiness.load_now
    monkeypatch.setattr(readiness, "load_now", lambda k, s: calls.append(s) or real(k, s))
    arg = np.ones(3, np.int32)
    assert not readiness.ready(cached_kernel, arg)
    assert not readiness.ready(cached_kernel, arg)
    assert len(calls) == 1
    worker_running[0] += 1  # the worker finished a step
    assert not readiness.ready(cached_kernel, arg)
    assert len(calls) == 2


def test_run_kernel_falls_back_to_numpy_while_not_ready(path, worker_running, monkeypatch):
    """The grid index built while its kernel is not ready equals the numba-built one."""
    xy = np.random.default_rng(3).normal(size=(5000, 2)).astype(np.float32)
    reference = spatial.GridIndex(xy)
    monkeypatch.setattr(readiness, "ready", lambda kernel, *args: False)
    gated = spatial.GridIndex(xy)
    assert not gated.used_numba
    assert np.array_equal(gated.order, reference.order)
    assert np.array_equal(gated.starts, reference.starts)
    assert np.array_equal(gated.sorted_coords, reference.sorted_coords)


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_the_numpy_scan_gives_the_numba_scan_s_rows(metric, monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(20000, 24)).astype(np.float32)
    x[100:110] = x[7]  # ties: equal rows score equally, the lower row first
    x[50] = 0
    q = x[7] + rng.normal(size=24).astype(np.float32) * 0.01
    allowed = rng.random(20000) > 0.3
    allowed[100:110] = True
    exact = index.ExactIndex(x, metric)
    compact = index.CompactIndex.build(x, metric)
    want = exact.search(q, 15, allowed)
    want_compact = compact.search(q, 15, allowed)
    monkeypatch.setattr(readiness, "ready", lambda kernel, *args: False)
    monkeypatch.setattr(compile_worker, "request", lambda: None)
    got = exact.search(q, 15, allowed)
    got_compact = compact.search(q, 15, allowed)
    assert np.array_equal(got.rows, want.rows)
    assert np.allclose(got.scores, want.scores, rtol=1e-5, atol=1e-4)
    assert np.array_equal(got_compact.rows, want_compact.rows)
    vals, ids = index.scan_numpy(x, q, np.ones(20000, np.float32), np.zeros(20000, np.float32),
                                 None, 25000)  # k above n: every row, -inf/-1 padded first
    assert (ids[0, :5000] == -1).all() and np.isinf(vals[0, :5000]).all()
    assert sorted(ids[0, 5000:]) == list(range(20000))


def test_watch_compiles_names_each_kernel_numba_compiles(cached_kernel):
    names = []
    readiness.watch_compiles(names.append)
    cached_kernel(np.ones(3, np.int16))  # a signature nobody cached: compiled here
    assert "twice" in names


def test_a_first_map_drawn_while_not_ready_is_the_same_image(worker_running, monkeypatch):
    """The demo's first map (blend mode over the grid index, then 'over' for held-back
    points) and density/points images: numpy through the gate draws numba's pixels."""
    from explorer.compute import raster

    rng = np.random.default_rng(11)
    xy = (rng.normal(size=(6000, 2)) * [3, 2]).astype(np.float32)
    codes = rng.integers(0, 7, 6000).astype(np.int16)
    palette = raster.categorical_palette(7)
    rect = (-7.0, 8.0, -5.0, 6.0)

    def images():
        grid = spatial.GridIndex(xy)
        spans = grid.view_spans(rect[0], rect[2], rect[1], rect[3])
        sorted_codes = grid.to_sorted(codes)
        blend = raster.blend_image(grid.sorted_coords, rect, 320, 240, categories=sorted_codes,
                                   palette=palette, radius_px=2.5, alpha=0.4,
                                   order=spatial.spans_to_positions(*spans))
        dense = raster.density_image(grid.sorted_coords, rect, 320, 240,
                                     categories=sorted_codes, palette=palette, spans=spans)
        dots = raster.points_image(xy, rect, 320, 240, categories=codes, palette=palette,
                                   radius_px=3, order=grid.in_box(*rect[::2], *rect[1::2]))
        return [blend, dense, dots, raster.composite_over(dots, blend)]

    monkeypatch.setattr(readiness, "ready", lambda kernel, *args: True)
    want = images()
    monkeypatch.setattr(readiness, "ready", lambda kernel, *args: False)
    got = images()
    for k, (a, b) in enumerate(zip(want, got, strict=True)):
        assert a[..., 3].any()
        np.testing.assert_array_equal(a, b, err_msg=f"image {k}")


def test_a_job_waiting_for_the_worker_says_so_and_can_be_cancelled(cached_kernel,
                                                                   worker_running,
                                                                   monkeypatch):
    """UMAP's epochs and fast-hdbscan have no numpy path: their job waits, cancellable."""
    import threading

    from explorer.core.jobs import Cancelled, TaskState

    monkeypatch.setattr(readiness, "POLL_SECONDS", 0.01)
    texts = []
    state = TaskState(on_status=texts.append)
    timer = threading.Timer(0.2, state.cancel)
    timer.start()
    with readiness.job_state(state), pytest.raises(Cancelled):
        readiness.wait_for(cached_kernel, (np.ones(3, np.int64),))  # never cached
    assert texts == [readiness.WAIT_STATUS]
    readiness.wait_for(cached_kernel, (np.ones(3),))  # cached: no wait
    running = [True]
    monkeypatch.setattr(compile_worker, "running", lambda: running[0])
    threading.Timer(0.1, lambda: running.__setitem__(0, False)).start()
    readiness.wait_for_worker(TaskState())  # returns once the worker is done
    assert not running[0]
