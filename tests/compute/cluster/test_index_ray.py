"""IVF-PQ on Ray: the same inverted lists as one sequential build, recall@10 >= 0.9 on four
shards of clustered rows, a crashed task retried, a cancel between ranges, and the library's
store/reuse path."""

import os
import time

import numpy as np
import pyarrow as pa
import pytest
from clustered_vectors import clustered
from shards_double import ShardedRows

from explorer.compute import index as ix
from explorer.compute import neighbours as nb
from explorer.compute.cluster import index_ray
from explorer.compute.cluster.index_ray import build_ivfpq_ray, ray_builder
from explorer.compute.index import ApproxIndex, ExactIndex, row_norms
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

X = clustered(20_000, 64, seed=11)  # four shards of 5,000 rows
SMALL = clustered(3000, 16, seed=12)


def serialized(index) -> bytes:
    import faiss

    return faiss.serialize_index(index.faiss_index).tobytes()


@pytest.fixture(scope="module")
def both(ray_local):
    """(sequential local build, Ray build, progress fractions of the Ray build)."""
    sv = ShardedRows(X, 4)
    norms = row_norms(X)
    local = ApproxIndex.build(sv, "cosine", "ivfpq", norms=norms)
    seen: list[float] = []
    on_ray = build_ivfpq_ray(sv, "cosine", norms, workers=2, state=TaskState(seen.append))
    return local, on_ray, seen


def test_ray_build_equals_one_sequential_build(both):
    local, on_ray, _ = both
    assert serialized(on_ray) == serialized(local)  # the same centroids, codes and lists
    rng = np.random.default_rng(0)
    half = rng.random(len(X)) < 0.5
    for row in rng.choice(len(X), 50, replace=False):
        q = X[row] + 0.01
        np.testing.assert_array_equal(on_ray.search(q, 10).rows, local.search(q, 10).rows)
        np.testing.assert_array_equal(on_ray.search(q, 10, allowed=half).rows,
                                      local.search(q, 10, allowed=half).rows)


def test_recall_at_10_on_four_shards_and_the_report(both):
    _, on_ray, seen = both
    recall, queries = nb.measure_recall(on_ray, ExactIndex(X, "cosine"))
    print(f"IVF-PQ on Ray, 20k x 64 in 4 shards: recall@10 {recall:.3f} ({queries} queries); "
          f"{on_ray.report}")
    assert recall >= 0.9 and queries == nb.RECALL_QUERIES
    report = on_ray.report
    assert (report.engine, report.workers, report.ranges) == ("ray", 2, 4)
    assert report.train_seconds > 0 and report.add_seconds > 0 and report.merge_seconds > 0
    assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == 1.0  # per finished range


def test_a_crashed_task_is_retried(ray_local, tmp_path, monkeypatch):
    marker = str(tmp_path / "crashed")
    real = index_ray.add_rows

    def crash_once(empty, rows):  # pickled with the task, run in a worker
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the worker process dies mid-task
        return real(empty, rows)

    monkeypatch.setattr(index_ray, "add_rows", crash_once)
    sv = ShardedRows(SMALL, 3)
    built = build_ivfpq_ray(sv, "l2", workers=2)
    assert os.path.exists(marker)
    assert serialized(built) == serialized(ApproxIndex.build(sv, "l2", "ivfpq"))


def test_cancel_stops_between_ranges_and_frees_the_workers(ray_local, monkeypatch):
    import ray

    monkeypatch.setattr(ix, "BLOCK_ROWS", 250)  # 12 ranges
    calls = []

    def cancel_at_first_range(fraction):
        calls.append(fraction)
        state.cancel()

    state = TaskState(cancel_at_first_range)
    with pytest.raises(Cancelled):
        build_ivfpq_ray(SMALL, "cosine", row_norms(SMALL), workers=2, state=state)
    assert len(calls) == 1  # no range reported after the cancel
    deadline = time.monotonic() + 20
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2, "tasks kept running after the cancel"


def test_stored_by_the_library_and_reused_without_ray(ray_local):
    nb._OPEN.clear()
    meta = pa.table({"id": [f"r{i}" for i in range(len(SMALL))]})
    entry = Library().import_set(EmbeddingSet(SMALL, meta, name="ray", format="test", source=[],
                                              metric="cosine", id_column="id"))
    es = Library().open(entry.id)
    index, info = nb.open_index(es, "cosine", "ivfpq", builder=ray_builder(workers=2))
    assert index.report.engine == "ray" and not info.reused and info.recall_at_10 >= 0.9
    first = index.search(SMALL[3], 10).rows
    nb._OPEN.clear()

    def no_build(*args, **kwargs):
        raise AssertionError("the stored index was rebuilt")
    index, again = nb.open_index(Library().open(entry.id), "cosine", "ivfpq", builder=no_build)
    assert again.reused and again.recall_at_10 == info.recall_at_10
    np.testing.assert_array_equal(index.search(SMALL[3], 10).rows, first)
    nb._OPEN.clear()
    with pytest.raises(InputError, match="--kind ivfpq"):
        nb.open_index(Library().open(entry.id), "cosine", "hnsw", builder=ray_builder())
