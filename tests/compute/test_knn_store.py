"""The kNN graph kept with a library set: what it answers, and what it no longer holds for."""

import os

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import knn_store
from explorer.compute.projection.knn_graph import KnnGraph
from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library


def make_es(n=300, d=8, seed=0, store=True):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    meta = pa.table({"id": [f"i{r}" for r in range(n)]})
    es = EmbeddingSet(x, meta, name="graph", format="test", source=[], metric="cosine",
                      id_column="id")
    return Library().open(Library().import_set(es).id) if store else es


def fake_graph(n, k, metric="cosine", seed=1):
    """A graph of the right shape (its contents do not matter to the store)."""
    rng = np.random.default_rng(seed)
    ind = rng.integers(0, n, size=(n, k)).astype(np.int32)
    ind[:, 0] = np.arange(n)
    dist = np.sort(rng.random((n, k)).astype(np.float32), axis=1)
    dist[:, 0] = 0
    return KnnGraph(ind, dist, metric, "pivot", k, recall=0.93)


def test_a_saved_graph_comes_back_for_any_k_it_covers():
    es = make_es()
    graph = fake_graph(es.count, 16)
    assert knn_store.save_graph(es, graph, made_by="map")
    again = Library().open(es.library_id)
    for min_k in (1, 11, 16):
        found = knn_store.load_graph(again, "cosine", min_k)
        np.testing.assert_array_equal(found.ind, graph.ind)
        np.testing.assert_array_equal(found.dist, graph.dist)
        assert (found.k, found.metric, found.method, found.recall) == (16, "cosine", "pivot", 0.93)
    assert knn_store.load_graph(again, "cosine", 17) is None
    assert knn_store.load_graph(again, "euclidean", 2) is None
    assert knn_store.stored(again, "cosine")["made_by"] == "map"
    with pytest.raises(ValueError, match="metric"):
        knn_store.load_graph(again, "dot", 2)


def test_a_graph_with_more_neighbours_is_not_replaced_by_one_with_fewer():
    es = make_es()
    assert knn_store.save_graph(es, fake_graph(es.count, 21), made_by="hubness")
    assert not knn_store.save_graph(es, fake_graph(es.count, 16, seed=2))
    assert knn_store.stored(es, "cosine")["k"] == 21
    assert knn_store.save_graph(es, fake_graph(es.count, 21, seed=3))  # as many: the newer


def test_nothing_is_kept_where_it_cannot_hold():
    es = make_es()
    assert not knn_store.save_graph(make_es(store=False), fake_graph(300, 16))
    assert not knn_store.save_graph(es, fake_graph(299, 16))  # another row count
    assert not knn_store.save_graph(es, fake_graph(es.count, 16, metric="dot"))
    assert ArtifactStore(es.path).keys(knn_store.KIND) == []
    assert knn_store.load_graph(make_es(store=False), "cosine", 2) is None


def test_new_vectors_or_a_new_graph_version_retire_the_graph(monkeypatch):
    es = make_es()
    knn_store.save_graph(es, fake_graph(es.count, 16))
    with monkeypatch.context() as m:
        m.setattr(knn_store, "GRAPH_VERSION", knn_store.GRAPH_VERSION + 1)
        assert knn_store.load_graph(es, "cosine", 2) is None
    assert knn_store.load_graph(es, "cosine", 2) is not None
    new = np.random.default_rng(9).normal(size=(es.count, es.dim)).astype(np.float32)
    np.save(es.path / "vectors.tmp.npy", new)
    os.replace(es.path / "vectors.tmp.npy", es.path / "vectors.npy")
    assert knn_store.load_graph(Library().open(es.library_id), "cosine", 2) is None


def test_halves_of_two_different_saves_are_not_paired():
    es = make_es()
    knn_store.save_graph(es, fake_graph(es.count, 16))
    store = ArtifactStore(es.path)
    ind, meta = store.load(knn_store.KIND, "cosine-ind")
    store.save(knn_store.KIND, "cosine-ind", np.array(ind), {**meta, "token": "another save"})
    assert knn_store.load_graph(es, "cosine", 2) is None
