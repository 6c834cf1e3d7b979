"""IVF-PQ: recall against brute force after the exact re-rank, filters, memory-mapped reload,
sharded vectors read in ranges, and its place in the library (stored, reused, rebuilt)."""

import itertools
import os

import numpy as np
import pyarrow as pa
import pytest
from brute_force import true_scores
from clustered_vectors import clustered
from shards_double import ShardedRows

from explorer.compute import index as ix
from explorer.compute import neighbours as nb
from explorer.compute.index import ApproxIndex, add_ranges, pq_subquantisers
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library


X = clustered(8000, 64)
SMALL = clustered(3000, 32, seed=9)  # the library tests build several times


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(metric):
        if metric not in cache:
            cache[metric] = ApproxIndex.build(X, metric, "ivfpq")
        return cache[metric]
    return get


@pytest.fixture(autouse=True)
def fresh_open_cache():
    nb._OPEN.clear()
    yield
    nb._OPEN.clear()


def queries(count=60, seed=1):
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=count, replace=False)
    return X[rows] + rng.normal(size=(count, X.shape[1])).astype(np.float32) * 0.02


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_recall_after_the_exact_rerank_and_true_scores(built, metric):
    index = built(metric)
    assert index.faiss_index.pq.M == 8 and index.report.engine == "local"
    hits = 0
    for q in queries():
        got = index.search(q, 10)
        assert got.exact is False and len(got.rows) == 10
        s = true_scores(X, q, metric)
        hits += len(set(got.rows.tolist()) & set(np.argsort(-s, kind="stable")[:10].tolist()))
        reported = -got.scores.astype(np.float64) if metric == "l2" else got.scores
        np.testing.assert_allclose(reported, s[got.rows], rtol=1e-4, atol=1e-4)
        assert np.all(np.diff(s[got.rows]) <= 1e-6 * np.abs(s).max())  # best first
    assert hits / 600 >= 0.9, f"{metric} recall@10 {hits / 600:.3f}"


def test_the_wider_pool_is_what_the_codes_need(built, monkeypatch):
    """Re-ranking only 2k candidates, as the 8-bit kinds do, loses recall in PQ codes."""
    index = built("cosine")

    def recall():
        hits = 0
        for q in queries(40, seed=2):
            truth = np.argsort(-true_scores(X, q, "cosine"))[:10]
            hits += len(set(index.search(q, 10).rows.tolist()) & set(truth.tolist()))
        return hits / 400
    wide = recall()
    monkeypatch.setattr(index, "PQ_POOL", 1)
    assert recall() < wide


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_filters_are_respected(built, metric):
    index = built(metric)
    rng = np.random.default_rng(5)
    half = rng.random(len(X)) < 0.5  # the inverted lists answer, with a selector
    rare = rng.random(len(X)) < 0.1  # the exact masked scan answers
    hits = 0
    for q in queries(30, seed=3):
        got = index.search(q, 10, allowed=half)
        assert len(got.rows) == 10 and half[got.rows].all(), "a filtered-out row was returned"
        s = np.where(half, true_scores(X, q, metric), -np.inf)
        hits += len(set(got.rows.tolist()) & set(np.argsort(-s)[:10].tolist()))
        got = index.search(q, 10, allowed=rare)
        assert got.exact is True and rare[got.rows].all()
        s = np.where(rare, true_scores(X, q, metric), -np.inf)
        assert set(got.rows.tolist()) == set(np.argsort(-s)[:10].tolist())
    assert hits / 300 >= 0.9


def test_saved_index_loads_memory_mapped_with_the_same_answers(built, tmp_path):
    index = built("l2")
    path = tmp_path / "pq.faiss"
    index.save(str(path))
    back = ApproxIndex.load(X, "l2", path, "ivfpq", index.norms)
    assert back.kind == "ivfpq" and back.report is None
    for q in queries(10, seed=4):
        np.testing.assert_array_equal(back.search(q, 10).rows, index.search(q, 10).rows)
    if os.path.exists("/proc/self/maps"):  # the codes stay in the file, not read into memory
        with open("/proc/self/maps") as fh:
            assert str(path) in fh.read()


def test_sharded_vectors_are_read_in_ranges_never_whole():
    """Rows come by slices and sorted row numbers (ShardedRows checks); ranges follow shards."""
    sv = ShardedRows(X, 3)
    index = ApproxIndex.build(sv, "cosine", "ivfpq")
    assert index.report.ranges == 3
    hits = 0
    for q in queries(30, seed=6):
        truth = np.argsort(-true_scores(X, q, "cosine"))[:10]
        hits += len(set(index.search(q, 10).rows.tolist()) & set(truth.tolist()))
    assert hits / 300 >= 0.9
    rare = np.zeros(len(X), dtype=bool)
    rare[::25] = True  # few rows: the exact scan, over the shards in slices
    got = index.search(X[7], 5, allowed=rare)
    s = np.where(rare, true_scores(X, X[7], "cosine"), -np.inf)
    assert got.exact and set(got.rows.tolist()) == set(np.argsort(-s)[:5].tolist())
    with pytest.raises(InputError, match="one file"):
        np.asarray(sv)


def test_ranges_follow_shards_and_are_cut_to_the_block_size(monkeypatch):
    sv = ShardedRows(X, 3)
    monkeypatch.setattr(ix, "BLOCK_ROWS", 1000)
    ranges = add_ranges(sv)
    assert ranges[0] == (0, 1000) and ranges[-1][1] == len(X)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # contiguous, in order
    assert {lo for lo, _ in ranges} >= {lo for lo, _ in sv.ranges()}  # no range spans shards
    monkeypatch.setattr(ix, "BLOCK_BYTES", 64 * 4 * 300)  # 300 rows of 64 floats
    assert max(hi - lo for lo, hi in add_ranges(X)) == 300


def test_subquantisers_divide_the_dimension():
    assert [pq_subquantisers(d) for d in (384, 64, 100, 7, 1)] == [48, 8, 10, 1, 1]


@pytest.mark.parametrize("n", [60, 700])
def test_small_sets_still_build(n):
    """Too few rows for 256 centroids a sub-quantiser: fewer bits, not a faiss error."""
    x = clustered(n, 16, seed=n)
    index = ApproxIndex.build(x, "cosine", "ivfpq")
    assert index.faiss_index.pq.nbits < 8
    assert len(index.search(x[0], 10).rows) == 10


def test_unknown_kind_is_refused():
    with pytest.raises(InputError, match="hnsw, ivf or ivfpq"):
        ApproxIndex.build(X[:100], "cosine", "pq")


# --- in the library -------------------------------------------------------------------
def stored(x, metric):
    meta = pa.table({"id": [f"w{i}" for i in range(len(x))]})
    entry = Library().import_set(EmbeddingSet(x, meta, name="pq", format="test", source=[],
                                              metric=metric, id_column="id"))
    return Library().open(entry.id)


def stored_file(es, key):
    """The index file of `key`, not its JSON record."""
    files = [p for p in (es.path / "artifacts" / nb.INDEX_KIND).glob(f"{key}.*")
             if p.suffix != ".json"]
    assert len(files) == 1, files
    return files[0]


def test_stored_reused_without_a_rebuild_and_never_chosen_by_itself(monkeypatch):
    es = stored(SMALL, "cosine")
    index, info = nb.open_index(es, "cosine", "ivfpq")
    assert (info.kind, info.exact, info.reused) == ("ivfpq", False, False)
    assert info.recall_at_10 >= 0.9 and info.recall_queries == nb.RECALL_QUERIES
    assert info.bytes >= len(SMALL) * 4  # d/8 = 4 bytes of codes a row, plus the norms
    q = SMALL[40]
    first = index.search(q, 10).rows

    nb._OPEN.clear()

    def no_build(*args, **kwargs):
        raise AssertionError("a stored index was rebuilt")
    monkeypatch.setattr(ApproxIndex, "build", no_build)
    es = Library().open(es.library_id)
    index, again = nb.open_index(es, "cosine", "ivfpq", builder=no_build)
    assert again.reused and again.recall_at_10 == info.recall_at_10
    np.testing.assert_array_equal(index.search(q, 10).rows, first)
    assert all(nb.choose_kind(n, 384) != "ivfpq" for n in (10, 10**5, 10**7, 10**9))


def test_damaged_stored_index_is_rebuilt():
    es = stored(SMALL, "l2")
    nb.open_index(es, "l2", "ivfpq")
    path = stored_file(es, "l2-ivfpq")
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 3)
    nb._OPEN.clear()
    es = Library().open(es.library_id)
    index, info = nb.open_index(es, "l2", "ivfpq")
    assert not info.reused and info.recall_at_10 >= 0.9
    assert len(index.search(SMALL[1], 10).rows) == 10
    assert stored_file(es, "l2-ivfpq").stat().st_size == size  # stored again, whole
