"""cached_project hands the built-in UMAP a sink that keeps its kNN graph in the library.

umap.fit is replaced by a stand-in (through the method registry's look-up) where the hook
itself is tested; the last test runs the real UMAP, then hubness.
"""

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import hubness, knn_store
from explorer.compute.projection import run
from explorer.compute.projection.knn_graph import KnnGraph
from explorer.compute.projection.params import ProjectionParams
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library

N = 400


class FakeEntry:
    """A registry entry whose fit records the hooks it gets and feeds a graph to a sink."""

    def __init__(self, builtin: bool = True) -> None:
        self.origin = SimpleNamespace(builtin=builtin)
        self.spec = SimpleNamespace(target="fake:fit")
        self.hooks: dict = {}

    def call(self, target, vectors, params, state, **hooks):
        self.hooks = hooks
        n = vectors.shape[0]
        if "graph_sink" in hooks:
            ind = (np.arange(n)[:, None] + np.arange(16)[None, :]) % n
            dist = np.tile(np.linspace(0, 0.5, 16, dtype=np.float32), (n, 1))
            hooks["graph_sink"](KnnGraph(ind.astype(np.int32), dist, "cosine", "pivot", 16))
        return np.zeros((n, params.dims), np.float32), {}


@pytest.fixture
def library_set():
    x = np.random.default_rng(0).normal(size=(N, 12)).astype(np.float32)
    es = EmbeddingSet(x, pa.table({"id": [f"r{i}" for i in range(N)]}), name="maps",
                      format="test", source=[], metric="cosine", id_column="id")
    return Library().open(Library().import_set(es).id)


def use(monkeypatch, entry: FakeEntry) -> FakeEntry:
    monkeypatch.setattr(run, "method_entry", lambda method: entry)
    return entry


def test_the_builtin_umaps_graph_is_kept_and_hubness_counts_it(monkeypatch, library_set):
    entry = use(monkeypatch, FakeEntry())
    run.cached_project(library_set, ProjectionParams(method="umap", metric="cosine"))
    assert "graph_sink" in entry.hooks
    kept = knn_store.stored(library_set, "cosine")
    assert (kept["k"], kept["made_by"], kept["method"]) == (16, "map", "pivot")
    result = hubness.k_occurrence(library_set, k=10)
    assert result.source == hubness.MAP_GRAPH and not result.exact
    # the fake graph lists rows r+1 .. r+10 for row r: every row is listed 10 times
    assert (result.counts == 10).all()


@pytest.mark.parametrize("method, builtin", [("pca", True), ("umap", False)])
def test_no_other_method_and_no_plugin_is_handed_the_sink(monkeypatch, library_set, method,
                                                            builtin):
    entry = use(monkeypatch, FakeEntry(builtin))
    run.cached_project(library_set, ProjectionParams(method=method, metric="cosine"))
    assert "graph_sink" not in entry.hooks
    assert knn_store.stored(library_set, "cosine") is None


def test_a_set_outside_the_library_is_given_no_sink(monkeypatch):
    entry = use(monkeypatch, FakeEntry())
    run.project(np.ones((N, 4), np.float32), ProjectionParams(method="umap"))
    assert "graph_sink" not in entry.hooks


def test_a_real_umap_map_leaves_its_graph_and_hubness_counts_it(library_set):
    from test_hubness import brute_counts

    result = run.cached_project(library_set, ProjectionParams(method="umap", metric="cosine"))
    kept = knn_store.stored(library_set, "cosine")
    assert kept["made_by"] == "map" and kept["k"] == result.info["n_neighbors"] == 15
    hub = hubness.k_occurrence(library_set, k=10)
    # 400 rows: UMAP's own graph is exact, so the count is exact and says it was the map's
    assert hub.source == hubness.MAP_GRAPH and hub.exact
    expected = brute_counts(np.asarray(library_set.vectors), 10, "cosine")
    assert np.abs(hub.counts - expected).sum() <= 4
