"""k-occurrence (hubness) against a numpy brute-force kNN count."""

import os

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import hubness, knn_store
from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.library import Library


def make_es(x, store=True, metric="cosine"):
    meta = pa.table({"id": [f"i{r}" for r in range(len(x))]})
    es = EmbeddingSet(x, meta, name="hubs", format="test", source=[], metric=metric,
                      id_column="id")
    if not store:
        return es
    return Library().open(Library().import_set(es).id)


def data(n=1500, d=24, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, d)) * 2
    x = centres[rng.integers(0, 12, n)] + rng.normal(size=(n, d))
    return (x * rng.lognormal(0, 0.4, size=(n, 1))).astype(np.float32)


def brute_counts(x, k, metric):
    """How often each row is among the others' k nearest (self excluded; zero rows: no cosine)."""
    x64 = x.astype(np.float64)
    n = len(x)
    norms = np.linalg.norm(x64, axis=1)
    if metric == "cosine":
        u = np.divide(x64, norms[:, None], out=np.zeros_like(x64), where=norms[:, None] > 0)
        s = u @ u.T
        s[:, norms == 0] = -np.inf
    elif metric == "dot":
        s = x64 @ x64.T
    else:
        s = -((norms ** 2)[:, None] + (norms ** 2)[None, :] - 2 * x64 @ x64.T)
    np.fill_diagonal(s, -np.inf)
    counts = np.zeros(n, dtype=np.int64)
    for row in range(n):
        if metric == "cosine" and norms[row] == 0:
            continue
        ok = np.flatnonzero(np.isfinite(s[row]))
        counts[ok[np.argsort(-s[row, ok], kind="stable")[:k]]] += 1
    return counts


@pytest.mark.parametrize("metric", ["cosine", "l2", "dot"])
def test_counts_equal_brute_force(metric):
    x = data()
    k = 10
    result = hubness.k_occurrence(make_es(x, store=False, metric=metric), k=k)
    expected = brute_counts(x, k, metric)
    assert result.exact and result.k == k and result.metric == metric
    assert result.counts.sum() == len(x) * k
    # float32 (faiss) against float64: a near-tie at the k-th place may swap one neighbour
    assert np.abs(result.counts - expected).sum() <= 2, np.flatnonzero(result.counts != expected)
    assert result.hubs[0] == np.argmax(expected) or \
        expected[result.hubs[0]] >= expected.max() - 1
    assert (result.counts[result.hubs[:-1]] >= result.counts[result.hubs[1:]]).all()
    assert result.antihub_count == int((result.counts == 0).sum())
    d = result.to_dict()
    assert sum(d["histogram"]) == len(x)
    assert sum(i * c for i, c in enumerate(d["histogram"])) == len(x) * k
    assert d["max"] == result.counts.max() and len(d["hubs"]) == hubness.TOP


def test_cached_in_the_library_and_refreshed_when_vectors_change(monkeypatch):
    x = data(n=800, seed=1)
    es = make_es(x)
    first = hubness.k_occurrence(es, k=5)
    assert "cosine-k5" in ArtifactStore(es.path).keys(hubness.KIND)

    def no_recompute(*args, **kwargs):
        raise AssertionError("the stored counts should have been used")

    with monkeypatch.context() as m:
        m.setattr(hubness, "knn_graph", no_recompute)
        again = hubness.k_occurrence(Library().open(es.library_id), k=5)
    np.testing.assert_array_equal(again.counts, first.counts)
    assert again.skewness == pytest.approx(first.skewness)
    np.testing.assert_array_equal(again.hubs, first.hubs)

    new = data(n=800, seed=2)
    np.save(es.path / "vectors.tmp.npy", new)
    os.replace(es.path / "vectors.tmp.npy", es.path / "vectors.npy")
    fresh = hubness.k_occurrence(Library().open(es.library_id), k=5)
    assert np.abs(fresh.counts - brute_counts(new, 5, "cosine")).sum() <= 2


def test_zero_rows_have_no_cosine_neighbours_and_are_nobodys():
    x = data(n=600, seed=3)
    x[[4, 50, 51]] = 0
    result = hubness.k_occurrence(make_es(x, store=False), k=8)
    assert (result.counts[[4, 50, 51]] == 0).all()
    assert result.counts.sum() == (len(x) - 3) * 8
    assert np.abs(result.counts - brute_counts(x, 8, "cosine")).sum() <= 2
    assert {4, 50, 51} <= set(result.antihubs.tolist()) or result.antihub_count > hubness.TOP


def test_a_zero_row_in_a_candidate_list_does_not_cost_a_neighbour():
    """A zero row scores cosine 0, above every negative cosine: when it lands among a row's
    k+1 candidates and is dropped, that row must still get k neighbours."""
    rng = np.random.default_rng(4)
    angles = rng.uniform(0, 2 * np.pi, 60)
    x = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    x[0] = 0
    k = 40  # more than the ~30 others with a positive cosine
    result = hubness.k_occurrence(make_es(x, store=False), k=k)
    np.testing.assert_array_equal(result.counts, brute_counts(x, k, "cosine"))
    assert result.counts.sum() == (len(x) - 1) * k


def test_bad_arguments():
    es = make_es(data(n=50), store=False)
    for k in (0, 50):
        with pytest.raises(InputError, match="k must be"):
            hubness.k_occurrence(es, k=k)
    with pytest.raises(InputError, match="unknown metric"):
        hubness.k_occurrence(es, metric="hamming")


def test_large_dot_sets_use_and_keep_the_sets_hnsw_index(monkeypatch):
    from explorer.compute import neighbours as nb

    monkeypatch.setattr(hubness, "EXACT_MAX", 500)  # the HNSW path, on a small set
    x = data(n=2000)
    es = make_es(x, metric="dot")
    result = hubness.k_occurrence(es, k=10)
    assert not result.exact and result.source == hubness.HNSW
    assert int(result.counts.sum()) == 2000 * 10
    expected = brute_counts(x, 10, "dot")
    assert np.corrcoef(result.counts, expected)[0, 1] > 0.95  # approximate, but the same hubs
    assert "dot-hnsw" in ArtifactStore(es.path).keys("index")  # neighbour search reuses it
    assert nb.is_open(es, "dot", "hnsw")
    assert knn_store.stored(es, "euclidean") is None  # dot has no layout graph to keep


def test_large_sets_join_a_pivot_graph_keep_it_and_say_how_good_it_is(monkeypatch):
    monkeypatch.setattr(hubness, "EXACT_MAX", 500)  # the pivot join, on a small set
    x = data(n=3000, seed=5)
    x[[7, 8]] = 0
    es = make_es(x)
    result = hubness.k_occurrence(es, k=10)
    assert not result.exact and result.source == hubness.PIVOT_GRAPH
    assert 0.8 <= result.recall <= 1.0
    assert (result.counts[[7, 8]] == 0).all() and result.counts.sum() <= (3000 - 2) * 10
    expected = brute_counts(x, 10, "cosine")
    assert np.corrcoef(result.counts, expected)[0, 1] > 0.9
    assert result.to_dict()["source"] == "pivot graph" and result.to_dict()["recall"] is not None
    kept = knn_store.stored(es, "cosine")
    assert kept["k"] == hubness.GRAPH_K and kept["made_by"] == "hubness"

    def no_join(*args, **kwargs):
        raise AssertionError("the stored graph answers k = 12")

    monkeypatch.setattr(hubness, "all_knn", no_join)
    again = hubness.k_occurrence(es, k=12)  # another k: new counts, the same graph
    assert again.source == hubness.STORED_GRAPH and not again.exact and again.recall > 0.8


def exact_graph(x, metric, k, method="pivot"):
    from explorer.compute.projection.knn_graph import all_knn

    graph, _ = all_knn(x, metric, k, TaskState())
    graph.method, graph.recall = method, None  # as if a map had joined it
    return graph


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_a_map_graph_is_counted_when_its_metric_and_k_suffice(monkeypatch, metric):
    x = data(n=1200, seed=6)
    es = make_es(x, metric=metric)
    graph_metric = "cosine" if metric == "cosine" else "euclidean"
    assert knn_store.save_graph(es, exact_graph(x, graph_metric, 11), made_by="map")

    def no_search(*args, **kwargs):
        raise AssertionError("the map's graph should have been counted")

    with monkeypatch.context() as m:
        m.setattr(hubness, "knn_graph", no_search)
        result = hubness.k_occurrence(es, k=10, metric=metric)
    assert result.source == hubness.MAP_GRAPH and not result.exact
    assert result.recall == pytest.approx(1.0, abs=0.01)  # it was an exact graph in disguise
    assert np.abs(result.counts - brute_counts(x, 10, metric)).sum() <= 4

    bigger_k = hubness.k_occurrence(es, k=11, metric=metric)  # needs 12 columns: a search
    assert bigger_k.source == hubness.EXACT and bigger_k.exact
    asked = hubness.k_occurrence(es, k=10, metric=metric, exact=True)  # cached is approximate
    assert asked.source == hubness.EXACT and asked.exact
    assert hubness.k_occurrence(es, k=10, metric=metric).exact  # the exact count is kept


def test_dot_never_counts_a_layout_graph():
    x = data(n=900, seed=7)
    es = make_es(x, metric="dot")
    knn_store.save_graph(es, exact_graph(x, "euclidean", 16), made_by="map")
    result = hubness.k_occurrence(es, k=10)
    assert result.source == hubness.EXACT
    assert np.abs(result.counts - brute_counts(x, 10, "dot")).sum() <= 2


def test_first_others_skips_self_missing_and_zero_rows():
    ids = np.array([[0, 3, -1, 2, 1, 4],
                    [1, 1, 0, 2, 3, 4],
                    [4, 2, -1, -1, -1, -1]])
    zero = np.array([False, False, True, False, False])
    out = hubness.first_others(ids, np.array([0, 1, 2]), 3, zero)
    np.testing.assert_array_equal(out, [[3, 1, 4], [0, 3, 4], [4, -1, -1]])
    np.testing.assert_array_equal(hubness.first_others(ids[:1], np.array([0]), 2, None), [[3, 2]])


def test_a_graph_is_counted_by_its_first_k_others_whatever_its_rows_hold():
    """Rows that list themselves first and k others are taken as they are; the others (a
    missing neighbour, a zero row, themselves twice) go through first_others: same lists."""
    from explorer.compute.projection.knn_graph import KnnGraph

    n = 3000
    rng = np.random.default_rng(8)
    ind = rng.integers(0, n, (n, 8)).astype(np.int32)
    ind[:, 0] = np.arange(n)
    ind[5, 3], ind[7, 0], ind[12, 2], ind[13, 4] = -1, 9, 11, 13
    zero = np.zeros(n, dtype=bool)
    zero[11] = True
    graph = KnnGraph(ind, np.zeros((n, 8), np.float32), "cosine", "exact", 8)
    lists = hubness.from_graph(None, graph, 5, zero, hubness.MAP_GRAPH, TaskState())
    expected = hubness.first_others(ind, np.arange(n), 5, zero)
    expected[11] = -1
    np.testing.assert_array_equal(lists.ids, expected)
    # an exact graph (a small set's map) counts as exact, and says where it came from
    assert lists.exact and lists.source == hubness.MAP_GRAPH and lists.recall is None


def test_approximate_counts_kept_by_an_older_version_are_counted_again(monkeypatch):
    monkeypatch.setattr(hubness, "EXACT_MAX", 500)
    x = data(n=900, seed=9)
    es = make_es(x, metric="dot")  # dot above EXACT_MAX: HNSW, approximate
    first = hubness.k_occurrence(es, k=5)
    assert not first.exact
    store = ArtifactStore(es.path)
    counts, meta = store.load(hubness.KIND, "dot-k5")
    old = {key: value for key, value in meta.items() if key not in ("version", "source")}
    store.save(hubness.KIND, "dot-k5", np.zeros_like(counts), old)  # as the old version kept

    again = hubness.k_occurrence(es, k=5)
    assert again.counts.sum() == 900 * 5  # counted again, not the kept zeros
    assert store.load(hubness.KIND, "dot-k5")[1]["version"] == hubness.COUNTS_VERSION
    assert hubness.k_occurrence(es, k=5, exact=True).exact  # and exact is asked for anyway


def test_exact_asked_above_exact_max_searches_exactly(monkeypatch):
    monkeypatch.setattr(hubness, "EXACT_MAX", 500)
    x = data(n=900, seed=10)
    result = hubness.k_occurrence(make_es(x), k=6, exact=True)
    assert result.exact and result.source == hubness.EXACT and result.recall is None
    assert np.abs(result.counts - brute_counts(x, 6, "cosine")).sum() <= 2


def test_a_standalone_pivot_graph_keeps_the_skewness_and_hubs_of_the_exact_count(monkeypatch):
    """40k rows with strong hubs (exact skewness 5.16): the pivot graph the count joins when
    no map graph is kept (4k pivots, every row's nearest found through the tree of pivot
    samples, GRAPH_ASSIGN and GRAPH_PROBE lists) holds the skewness within 4 % (5.27 here;
    5.42 from the HNSW over the pivots before), 18 of the 20 top hubs (20 here; 19) and
    the antihubs within 2 % (1.2 % here)."""
    from scipy.stats import spearmanr

    x = data(n=40_000, d=64, seed=0)
    exact = hubness.k_occurrence(make_es(x, store=False), k=10, exact=True)
    monkeypatch.setattr(hubness, "EXACT_MAX", 0)
    joined = hubness.k_occurrence(make_es(x), k=10)
    assert joined.source == hubness.PIVOT_GRAPH and joined.recall > 0.9
    assert abs(joined.skewness - exact.skewness) <= 0.04 * exact.skewness, \
        (joined.skewness, exact.skewness)
    assert len(set(joined.hubs[:20].tolist()) & set(exact.hubs[:20].tolist())) >= 18
    assert abs(joined.antihub_count - exact.antihub_count) <= 0.02 * exact.antihub_count
    assert np.corrcoef(joined.counts, exact.counts)[0, 1] > 0.995
    assert spearmanr(joined.counts, exact.counts)[0] > 0.985
