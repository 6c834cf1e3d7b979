"""Exact neighbours over a sharded set equal brute force (issue 20's Done-when), with filters,
for Parquet shards decoded one by one and Arrow shards memory-mapped in several batches."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import neighbours as nb
from explorer.compute.index import ExactIndex
from explorer.compute.numba import readiness
from explorer.compute.sharded_search import ShardedExactIndex
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.core.metadata import query_for
from explorer.core.shard_import import import_shards
from explorer.core.sharded import ShardedVectors

from shard_writer import clustered, write_shards
from test_neighbours import assert_brute

N, D = 20_000, 64
QUERIES = 50


@pytest.fixture(autouse=True)
def fresh_open_cache():
    nb._OPEN.clear()
    yield
    nb._OPEN.clear()


@pytest.fixture(scope="module")
def vectors():
    return clustered(N, D, seed=3)


def open_sharded(tmp_path, x, kind="parquet", **kw):
    write_shards(tmp_path / "shards", x, 4, kind, **kw)
    entry = import_shards(Library(), [tmp_path / "shards"], layout="sharded")
    return Library().open(entry.id)


def test_four_parquet_shards_import_as_one_set_whose_neighbours_equal_brute_force(
        tmp_path, vectors):
    es = open_sharded(tmp_path, vectors)
    assert isinstance(es.vectors, ShardedVectors) and es.count == N
    index, info = nb.open_index(es)
    assert isinstance(index, ShardedExactIndex) and info.kind == "flat" and info.exact
    rng = np.random.default_rng(1)
    mask = np.flatnonzero(query_for(es).filter("grp IN ('a', 'c') AND size % 3 = 0"))
    allowed = np.zeros(N, bool)
    allowed[mask] = True
    for i, row in enumerate(rng.choice(N, QUERIES, replace=False)):
        q = vectors[row]
        got = index.search(q, 10)
        assert_brute(got.rows, got.scores, vectors, q, "cosine", 10)
        if i % 5 == 0:
            got = index.search(q, 10, allowed=allowed)
            assert_brute(got.rows, got.scores, vectors, q, "cosine", 10, allowed=allowed)
    result = nb.search(es, nb.row_query(es, 17), k=10, where="grp = 'b'")
    grp = es.metadata.column("grp").to_numpy(zero_copy_only=False)
    assert_brute(result.neighbours.rows, result.neighbours.scores, vectors, vectors[17],
                 "cosine", 10, allowed=grp == "b", exclude=(17,))
    assert result.matching == int((grp == "b").sum())


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_memory_mapped_arrow_shards_give_the_single_file_scans_answer(tmp_path, vectors, metric):
    x = vectors.copy()
    x[123] = 0  # a zero row: never a cosine neighbour
    es = open_sharded(tmp_path, x, "arrow", batch_rows=3000)  # several batches a shard
    assert all(es.vectors.is_mapped(i) for i in range(4))
    sharded = ShardedExactIndex(es.vectors, metric)
    single = ExactIndex(x, metric)
    allowed = np.random.default_rng(2).random(N) < 0.1
    for row in (0, 5000, 5001, 19_999):
        for mask in (None, allowed):
            a, b = sharded.search(x[row], 25, mask), single.search(x[row], 25, mask)
            assert np.array_equal(a.rows, b.rows)
            np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6, atol=1e-6)
            assert_brute(a.rows, a.scores, x, x[row], metric, 25, allowed=mask)


def test_before_the_kernel_is_ready_numpy_gives_the_same_answer(tmp_path, vectors,
                                                                  monkeypatch):
    es = open_sharded(tmp_path, vectors)
    index = ShardedExactIndex(es.vectors, "cosine")
    want = [index.search(vectors[r], 10) for r in (3, 9000)]
    monkeypatch.setattr(readiness, "ready", lambda *a: False)  # a first launch compiling
    for r, w in zip((3, 9000), want):
        got = index.search(vectors[r], 10)
        assert np.array_equal(got.rows, w.rows)


def test_only_the_exact_scan_is_offered_for_a_sharded_set(tmp_path, vectors):
    es = open_sharded(tmp_path, vectors[:2000])
    for kind in ("compact", "hnsw", "ivf"):
        with pytest.raises(InputError, match=f"a {kind} index is not built over a sharded"):
            nb.open_index(es, kind=kind)
    assert nb.resolve_kind(es, exact=True) == "flat"
    comparison = nb.compare_metrics(es, nb.row_query(es, 4), k=5)
    assert set(comparison.lists) == {"cosine", "dot", "l2"}


def test_auto_searches_a_sharded_set_with_its_stored_ivfpq_index(tmp_path, vectors):
    """An exact pass decodes every Parquet shard on each query: once an IVF-PQ index is
    stored for the metric, "auto" (and the app's Approximate) search with it."""
    es = open_sharded(tmp_path, vectors)
    assert nb.resolve_kind(es) == "auto" and nb.auto_kind(es, "cosine") == "flat"
    assert nb.resolve_kind(es, exact=False) == "ivfpq"
    nb.open_index(es, kind="ivfpq")
    nb.drop_cached(es)
    assert nb.auto_kind(es, "cosine") == "ivfpq" and nb.auto_kind(es, "l2") == "flat"
    result = nb.search(es, nb.row_query(es, 7), k=10)
    assert result.index.kind == "ivfpq" and not result.neighbours.exact
    assert nb.search(es, nb.row_query(es, 7), k=10, kind="flat").index.kind == "flat"


def test_the_norms_found_at_import_are_what_search_uses(tmp_path, vectors, monkeypatch):
    es = open_sharded(tmp_path, vectors[:3000])
    monkeypatch.setattr(nb, "row_norms", lambda *a, **k: pytest.fail("norms read again"))
    np.testing.assert_allclose(nb.set_norms(es), np.linalg.norm(vectors[:3000], axis=1),
                               rtol=1e-5)
