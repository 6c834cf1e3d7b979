"""The fuzzy union in numba (`fuzzy_union`) against scipy's sparse arithmetic, edge for edge."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute.numba import run_parallel, umap_kernels
from explorer.compute.projection.graph import fuzzy_graph, union_graph


def assert_same_graph(a, b) -> None:
    """Same edges in the same (CSR) order, weights within 1e-6."""
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.data, b.data, rtol=0, atol=1e-6)
    assert a.data.dtype == np.float32 and b.data.dtype == np.float32


def random_knn(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A kNN-like graph: self first at distance 0, random neighbours (some repeated, some
    missing as -1), ascending distances with ties."""
    rng = np.random.default_rng(seed)
    ind = rng.integers(0, n, size=(n, k))
    ind[:, 0] = np.arange(n)
    ind[rng.random((n, k)) < 0.05] = -1
    ind[:, 0] = np.arange(n)
    dist = np.sort(rng.random((n, k)).astype(np.float32).round(2), axis=1)
    dist[:, 0] = 0.0
    return ind, dist


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_epochs", [0, 200])
def test_numba_union_of_knn_graphs_equals_scipy(seed, n_epochs):
    n = [5, 40, 300, 1000, 2500, 60][seed]
    k = min(n, [3, 15, 15, 10, 30, 60][seed])
    ind, dist = random_knn(n, k, seed)
    scipy_g = fuzzy_graph(ind, dist, k, n_epochs=n_epochs, engine="scipy")
    numba_g = fuzzy_graph(ind, dist, k, n_epochs=n_epochs, engine="numba")
    assert_same_graph(numba_g, scipy_g)
    assert scipy_g.nnz > 0
    if n_epochs:
        assert numba_g.data.min() >= numba_g.data.max() / n_epochs


def test_numba_union_sums_duplicates_keeps_self_edges_and_drops_zeros():
    rng = np.random.default_rng(7)
    n, m = 50, 4000
    rows = rng.integers(0, n, m).astype(np.int32)
    cols = rng.integers(0, n, m).astype(np.int32)
    vals = rng.random(m).astype(np.float32) * 0.3
    vals[::7] = 0.0                                   # zero entries: not edges
    rows[:100], cols[:100] = np.arange(100) % n, np.arange(100) % n   # self edges
    rows[100:110], cols[100:110], vals[100:110] = 3, 9, 0.0            # only zeros at (3, 9)
    for n_epochs in (0, 10):
        a = union_graph(rows, cols, vals, n, n_epochs=n_epochs, engine="numba")
        b = union_graph(rows, cols, vals, n, n_epochs=n_epochs, engine="scipy")
        assert_same_graph(a, b)
    assert (a.diagonal() > 0).any()


def test_union_is_symmetric_with_umaps_weights():
    rows = np.array([0, 0, 1, 2, 2], np.int32)
    cols = np.array([1, 2, 0, 0, 0], np.int32)
    vals = np.array([0.5, 0.25, 0.5, 0.125, 0.125], np.float32)   # (2, 0) twice: summed
    g = union_graph(rows, cols, vals, 3, engine="numba").toarray()
    np.testing.assert_allclose(g, g.T)
    assert g[0, 1] == pytest.approx(0.5 + 0.5 - 0.25)
    assert g[0, 2] == pytest.approx(0.25 + 0.25 - 0.0625)
    assert g[1, 2] == 0.0
    assert union_graph(rows, cols, vals, 3, n_epochs=1, engine="numba").nnz == 2  # 0.4375 < 0.75


def test_empty_and_unknown_engine():
    empty = np.zeros(0, np.int32)
    g = union_graph(empty, empty, np.zeros(0, np.float32), 4, engine="numba")
    assert g.shape == (4, 4) and g.nnz == 0
    with pytest.raises(ValueError, match="engine"):
        union_graph(empty, empty, np.zeros(0, np.float32), 4, engine="torch")


def test_warm_compiles_the_union_for_the_types_the_map_passes():
    """One signature whatever the caller (warm-up, the map, these tests): numba caches one
    machine-code version per signature, so a second would compile at the first 1M map."""
    umap_kernels.warm()
    ind, dist = random_knn(100, 10, 0)
    fuzzy_graph(ind.astype(np.int32), dist.astype(np.float64), 10, n_epochs=np.int64(200),
                engine="numba")
    assert len(umap_kernels.fuzzy_union.signatures) == 1


def test_union_is_the_same_on_one_thread_and_on_every_core():
    rng = np.random.default_rng(11)
    n, m = 3000, 45_000
    args = (rng.integers(0, n, m).astype(np.int32), rng.integers(0, n, m).astype(np.int32),
            rng.random(m).astype(np.float32), n, 50)
    one = run_parallel(umap_kernels.fuzzy_union, *args, threads=1)
    every = run_parallel(umap_kernels.fuzzy_union, *args)
    for a, b in zip(one, every, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("engine", ["numba", "scipy"])
def test_a_graph_with_no_edges_is_pruned_to_nothing(engine):
    empty = np.zeros(0, np.int32)
    g = union_graph(empty, empty, np.zeros(0, np.float32), 4, n_epochs=200, engine=engine)
    assert g.shape == (4, 4) and g.nnz == 0
