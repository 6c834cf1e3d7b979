"""Placement of rows outside a fitted sample: the fitted rows it finds, the buffer it fills,
and the start a refined map spreads over its graph."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from explorer.compute.projection.knn import KnnIndex
from explorer.compute.projection.placement import place, spread
from explorer.compute.projection.rows import clean_rows
from explorer.core.jobs import Cancelled, TaskState

N, D, M, K = 600, 12, 150, 8


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(5, D)) * 4
    return (centres[rng.integers(0, 5, N)] + rng.normal(size=(N, D))).astype(np.float32)


@pytest.fixture(scope="module")
def fit_rows() -> np.ndarray:
    return np.sort(np.random.default_rng(4).choice(N, M, replace=False))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_placement_finds_the_nearest_fitted_rows(vectors, fit_rows, metric):
    cos = metric == "cosine"
    x = clean_rows(vectors[fit_rows], cos)
    p = place(vectors, fit_rows, KnnIndex(x, metric, TaskState()), K, cos, TaskState())
    rest = clean_rows(vectors[p.rest], cos)
    assert p.ind.shape == p.weights.shape == (N - M, K) and p.ind.dtype == np.int32
    if cos:  # umap's cosine distance on normalised rows
        every = np.clip(1.0 - rest @ x.T, 0.0, 2.0)
    else:
        every = np.sqrt(np.maximum(((rest[:, None, :] - x[None]) ** 2).sum(-1), 0.0))
    kept = np.take_along_axis(every, p.ind, axis=1)
    np.testing.assert_allclose(kept, np.sort(every, axis=1)[:, :K], rtol=1e-4, atol=1e-4)
    assert (np.diff(p.weights, axis=1) <= 1e-6).all()  # nearer fitted rows weigh more
    np.testing.assert_allclose(p.weights.sum(axis=1), 1.0, rtol=1e-5)


class ShortIndex:
    """An index that finds only 3 of the neighbours asked for (as HNSW may): -1 after."""

    def search(self, q, k, state, ef=None):
        ind = np.full((len(q), k), -1, np.int64)
        dist = np.full((len(q), k), 0.5, np.float32)
        ind[:, :3] = np.arange(3)
        dist[:, :3] = [0.1, 0.2, 0.3]
        return ind, dist


def test_missing_neighbours_have_no_weight(vectors, fit_rows):
    p = place(vectors, fit_rows, ShortIndex(), K, False, TaskState())
    assert (p.weights[:, 3:] == 0).all() and (p.weights[:, :3] > 0).all()
    np.testing.assert_allclose(p.weights.sum(axis=1), 1.0, rtol=1e-5)


def test_full_fills_the_buffer_it_is_given(vectors, fit_rows):
    x = clean_rows(vectors[fit_rows], False)
    p = place(vectors, fit_rows, KnnIndex(x, "euclidean", TaskState()), K, False, TaskState())
    rng = np.random.default_rng(5)
    buf = np.full((N, 2), np.nan, np.float32)
    for _ in range(2):  # a second layout overwrites every row of the same buffer
        fitted = rng.normal(size=(M, 2)).astype(np.float32)
        fresh = p.full(fitted)
        assert p.full(fitted, out=buf) is buf
        np.testing.assert_array_equal(buf, fresh)
        np.testing.assert_array_equal(buf[fit_rows], fitted)
        expected = np.einsum("rk,rkd->rd", p.weights, fitted[p.ind])
        np.testing.assert_allclose(buf[p.rest], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [np.zeros((N, 3), np.float32), np.zeros((N, 2), np.float64),
                                 np.zeros((2, N), np.float32).T])
def test_full_refuses_a_buffer_of_the_wrong_shape_or_type(vectors, fit_rows, bad):
    p = place(vectors, fit_rows, ShortIndex(), K, False, TaskState())
    with pytest.raises(ValueError, match="placement buffer"):
        p.full(np.zeros((M, 2), np.float32), out=bad)


def test_spread_passes_the_fit_along_the_graph_wave_by_wave():
    # a path 0 - 1 - 2 - 3 - 4 and a separate pair 5 - 6 with no fitted row
    edges = [(0, 1, 1.0), (1, 2, 1.0), (2, 3, 0.5), (3, 4, 1.0), (2, 4, 1.0), (5, 6, 1.0)]
    r = [a for a, b, _ in edges] + [b for a, b, _ in edges]
    c = [b for a, b, _ in edges] + [a for a, b, _ in edges]
    w = [x for *_, x in edges] * 2
    graph = scipy.sparse.coo_matrix((w, (r, c)), shape=(7, 7))
    fitted = np.array([[0.0, 0.0], [4.0, 8.0]], dtype=np.float32)
    out = spread(graph, np.array([0, 3]), fitted, TaskState(), np.random.RandomState(0))
    assert out.dtype == np.float32 and out.shape == (7, 2)
    assert np.array_equal(out[[0, 3]], fitted)  # fitted rows keep their place
    # first wave: 1 (next to 0), 2 (next to 3 only: 1 is not placed yet), 4 (next to 3)
    assert np.allclose(out[1], [0, 0]) and np.allclose(out[2], [4, 8])
    assert np.allclose(out[4], [4, 8])
    # rows no wave reaches start at a fitted row's position
    assert all(any(np.array_equal(out[i], f) for f in fitted) for i in (5, 6))


def test_spread_weights_the_placed_neighbours():
    graph = scipy.sparse.coo_matrix(([1.0, 3.0, 1.0, 3.0], ([2, 2, 0, 1], [0, 1, 2, 2])),
                                    shape=(3, 3))
    fitted = np.array([[0.0, 0.0], [4.0, 0.0]], dtype=np.float32)
    out = spread(graph, np.array([0, 1]), fitted, TaskState(), np.random.RandomState(0))
    assert np.allclose(out[2], [3.0, 0.0])  # (1 * 0 + 3 * 4) / 4


def test_spread_stops_when_cancelled():
    graph = scipy.sparse.identity(4, format="coo")
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        spread(graph, np.array([0]), np.zeros((1, 2), np.float32), state,
               np.random.RandomState(0))
