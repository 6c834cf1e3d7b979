"""compare_sets on the shipped demo (5,479 real MiniLM docstring vectors, 384-d, held out from
any tuning): a rotation, a PCA-96 reduction against numpy brute force, random vectors, joins
by id and by row, samples, categories, and the mistakes a user can make."""

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute.compare import compare_sets
from explorer.compute.demo_resource import read_shipped
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState

K = 10


@pytest.fixture(scope="module")
def demo():
    shipped = read_shipped()
    return np.asarray(shipped.vectors, dtype=np.float32), shipped.table


def make(x, table, metric="cosine", id_column="id", name="s"):
    return EmbeddingSet(np.ascontiguousarray(x, dtype=np.float32), table, name=name,
                        metric=metric, id_column=id_column)


def brute_lists(x, k, metric="cosine"):
    """Each row's k nearest others by float64 numpy, 512 rows at a time."""
    x = np.asarray(x, dtype=np.float64)
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
    sq = (x * x).sum(axis=1)
    out = np.empty((len(x), k), dtype=np.int64)
    for lo in range(0, len(x), 512):
        hi = min(len(x), lo + 512)
        s = x[lo:hi] @ x.T
        if metric == "l2":
            s = 2 * s - sq[None, :]  # -|x - y|^2 up to a per-row constant
        s[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf
        top = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1)
        out[lo:hi] = np.take_along_axis(top, order, axis=1)
    return out


def brute_overlap(la, lb):
    return np.array([len(set(p) & set(q)) for p, q in zip(la, lb)]) / la.shape[1]


def rotation(d, seed=1):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def test_a_rotation_keeps_every_neighbourhood(demo):
    x, table = demo
    c = compare_sets(make(x, table), make(x @ rotation(x.shape[1]), table), k=K)
    assert (c.count, c.sampled, c.join.how, c.join.matched) == (len(x), None, "id", len(x))
    assert c.mean_overlap == pytest.approx(1.0, abs=1e-3) and c.median_overlap == 1.0
    assert c.cka == pytest.approx(1.0, abs=1e-6)
    assert c.procrustes_residual == pytest.approx(0.0, abs=1e-6)
    assert c.residual.max() < 1e-5 and c.rank_correlation > 0.99


def test_pca96_overlap_equals_numpy_brute_force(demo):
    x, table = demo
    centred = x.astype(np.float64) - x.mean(axis=0)
    basis = np.linalg.svd(centred, full_matrices=False)[2][:96]
    reduced = (centred @ basis.T).astype(np.float32)
    c = compare_sets(make(x, table), make(reduced, table), k=K)
    expected = brute_overlap(brute_lists(x, K), brute_lists(reduced, K))
    assert abs(c.mean_overlap - expected.mean()) < 0.02
    assert np.mean(np.abs(c.overlap - expected)) < 0.02  # item by item, not only on average
    assert 0.2 < c.mean_overlap < 0.95  # a real change: neither kept nor lost
    assert (c.dim_a, c.dim_b) == (384, 96)
    assert c.procrustes_residual is None and c.residual is None  # dimensions differ
    assert c.to_dict(make(x, table), make(reduced, table))["procrustes_residual"] is None
    assert c.to_arrow(make(x, table)).column("residual").null_count == len(x)
    # the lists themselves are the brute force's (A's numbering on both sides)
    assert np.mean([len(set(p) & set(q)) for p, q in zip(c.neighbours_a, brute_lists(x, K))]) \
        > K - 0.05


def test_random_vectors_overlap_at_chance(demo):
    x, table = demo
    noise = np.random.default_rng(3).normal(size=x.shape).astype(np.float32)
    c = compare_sets(make(x, table), make(noise, table), k=K)
    chance = K / (len(x) - 1)
    assert c.chance_overlap == pytest.approx(chance)
    assert c.mean_overlap < 3 * chance + 0.002 and c.median_overlap == 0.0
    assert c.cka < 0.1
    assert c.procrustes_residual > 1.5  # nothing a rotation could fit


def test_join_by_id_of_shuffled_rows_equals_row_join(demo):
    x, table = demo
    b = x @ rotation(x.shape[1], 5) + np.random.default_rng(5).normal(
        scale=0.02, size=x.shape).astype(np.float32)  # changes some neighbourhoods
    by_row = compare_sets(make(x, table), make(b, table), k=K, join="row")
    perm = np.random.default_rng(7).permutation(len(x))
    by_id = compare_sets(make(x, table), make(b[perm], table.take(perm)), k=K, join="id")
    assert by_id.join.how == "id" and by_row.join.how == "row"
    np.testing.assert_array_equal(by_id.rows_a, by_row.rows_a)
    np.testing.assert_array_equal(perm[by_id.rows_b], by_id.rows_a)
    np.testing.assert_array_equal(by_id.overlap, by_row.overlap)
    np.testing.assert_array_equal(by_id.neighbours_b, by_row.neighbours_b)
    assert 0.5 < by_row.mean_overlap < 1.0
    for key in ("mean_overlap", "rank_correlation", "cka", "procrustes_residual"):
        assert getattr(by_id, key) == pytest.approx(getattr(by_row, key), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(by_id.residual, by_row.residual, rtol=1e-5, atol=1e-9)


def test_missing_extra_and_repeated_ids_are_reported(demo):
    x, table = demo
    n = len(x)
    keep = np.setdiff1d(np.arange(n), [4, 9])  # B lacks rows 4 and 9 ...
    ids_b = table.column("id").take(pa.array(keep)).to_pylist() + ["extra-item", "abc"]
    vec_b = np.vstack([x[keep], x[:1], x[:1]])  # ... has one id A lacks and repeats "abc"
    b = EmbeddingSet(vec_b, pa.table({"id": ids_b}), name="b", id_column="id")
    c = compare_sets(make(x, table), b, k=K)
    r = c.join
    assert (c.count, r.matched, r.only_a, r.only_b, r.duplicated_b) == (n - 2, n - 2, 2, 1, 1)
    ids = table.column("id").to_pylist()
    assert set(r.examples_only_a) == {ids[4], ids[9]} and r.examples_only_b == ("extra-item",)
    assert r.examples_duplicated == ("abc",)
    assert 4 not in c.rows_a and 9 not in c.rows_a
    report = c.to_dict(make(x, table), b)["join_report"]
    assert report["only_in_a"] == 2 and ids[4] in report["examples_only_in_a"]
    assert "2 only in A" in r.describe() and "'extra-item'" in r.describe()
    assert c.mean_overlap > 0.99  # the same vectors, searched among the joined items only


def test_ids_of_different_types_join_as_text(demo):
    x, _ = demo
    a = EmbeddingSet(x[:500], pa.table({"id": np.arange(500)}), name="a", id_column="id")
    b = EmbeddingSet(x[:500][::-1], pa.table({"id": [str(i) for i in range(500)][::-1]}),
                     name="b", id_column="id")
    c = compare_sets(a, b, k=5)
    assert c.join.matched == 500 and c.mean_overlap == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_array_equal(c.rows_b, 499 - c.rows_a)


def test_metrics_each_in_its_own_space(demo):
    x, table = demo
    scaled = x * np.random.default_rng(2).lognormal(0, 0.5, size=(len(x), 1)).astype(np.float32)
    c = compare_sets(make(x, table), make(scaled, table, metric="l2"), k=K)
    expected = brute_overlap(brute_lists(x, K), brute_lists(scaled, K, "l2"))
    assert (c.metric_a, c.metric_b) == ("cosine", "l2")
    assert abs(c.mean_overlap - expected.mean()) < 0.01 and c.mean_overlap < 0.9


def test_sample_compares_the_same_lists_as_all_items(demo):
    x, table = demo
    b = x[:, :128]  # a truncation
    full = compare_sets(make(x, table), make(b, table), k=K)
    part = compare_sets(make(x, table), make(b, table), k=K, sample=700, seed=4)
    assert part.sampled == 700 and part.count == len(x) and len(part.overlap) == 700
    at = np.searchsorted(full.rows_a, part.rows_a)
    np.testing.assert_array_equal(part.overlap, full.overlap[at])
    np.testing.assert_array_equal(part.neighbours_b, full.neighbours_b[at])
    assert part.cka == pytest.approx(full.cka)  # CKA is over every joined item
    # the whole join comes with a sample (the linked maps show every joined item)
    np.testing.assert_array_equal(part.joined_a, full.rows_a)
    np.testing.assert_array_equal(part.joined_b, full.rows_b)
    again = compare_sets(make(x, table), make(b, table), k=K, sample=700, seed=4)
    np.testing.assert_array_equal(again.rows_a, part.rows_a)  # seeded
    d = part.to_dict(make(x, table), make(b, table))
    assert d["sampled"] == 700 and d["seed"] == 4
    assert compare_sets(make(x, table), make(b, table), k=K, sample=10**6).sampled is None


def test_by_category_means(demo):
    x, table = demo
    b = x[:, :64]
    c = compare_sets(make(x, table), make(b, table), k=K, by="area")
    areas = np.array(table.column("area").to_pylist(), dtype=object)
    assert sum(v["count"] for v in c.by_category.values()) == len(x)
    for name, v in c.by_category.items():
        mask = areas == (None if name == "(none)" else name)
        if not name.endswith("other values)"):
            assert v["count"] == mask.sum()
            assert v["mean_overlap"] == pytest.approx(float(c.overlap[mask].mean()), abs=1e-6)
    assert c.to_dict(make(x, table), make(b, table))["by_category"] == c.by_category


def test_most_and_least_changed(demo):
    x, table = demo
    b = x[:, :64]
    c = compare_sets(make(x, table), make(b, table), k=K)
    most, least = c.changed(True), c.changed(False)
    assert c.overlap[most].max() <= np.sort(c.overlap)[len(most) - 1]
    assert c.overlap[least].min() >= np.sort(c.overlap)[-len(least)]
    d = c.to_dict(make(x, table), make(b, table))
    first = d["most_changed"][0]
    assert first["overlap"] == float(c.overlap.min())
    assert [n["row"] for n in first["neighbours_a"]] == c.neighbours_a[most[0]].tolist()
    assert first["label"] == table.column("id")[first["row"]].as_py()
    assert len(d["most_changed"]) == len(d["least_changed"]) == 10
    assert sum(d["histogram"]) == len(x) and len(d["histogram"]) == K + 1


def test_a_set_with_itself_and_cancel(demo):
    x, table = demo
    a = make(x[:1000], table.slice(0, 1000))
    c = compare_sets(a, a, k=5)
    assert c.mean_overlap == 1.0 and c.cka == pytest.approx(1.0) and c.rank_correlation == 1.0
    seen = []
    state = TaskState(on_progress=seen.append)
    compare_sets(a, a, k=5, state=state)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    state = TaskState(on_progress=lambda f: state.cancel() if f > 0.3 else None)
    with pytest.raises(Cancelled):
        compare_sets(a, a, k=5, state=state)


@pytest.mark.parametrize("kwargs, words", [
    ({"k": 0}, "k must be at least 1"),
    ({"k": 1000}, "k must be between 1 and 999"),
    ({"by": "nope"}, "column nope: in neither set A nor set B"),
    ({"join": "name"}, "unknown join"),
    ({"sample": 0}, "at least 1 item"),
])
def test_bad_arguments(demo, kwargs, words):
    x, table = demo
    a = make(x[:1000], table.slice(0, 1000))
    with pytest.raises(InputError, match=words):
        compare_sets(a, a, **kwargs)


def test_sets_that_do_not_join(demo):
    x, table = demo
    a = make(x[:100], table.slice(0, 100))
    other = make(x[100:300], table.slice(100, 200))
    with pytest.raises(InputError, match="no ids in common"):
        compare_sets(a, other)
    with pytest.raises(InputError, match="100 items and set B 200"):
        compare_sets(a, other, join="row")
    bare = EmbeddingSet(x[:100], pa.table({"n": np.arange(100)}), name="bare")
    with pytest.raises(InputError, match="no id column"):
        compare_sets(a, bare, join="id")
    assert compare_sets(a, bare, k=3).join.how == "row"  # auto: by row when one has no ids
    with pytest.raises(InputError, match="only 1 item joins"):
        compare_sets(a, make(x[:1], table.slice(0, 1)))


def test_by_a_column_of_lists_is_refused(demo):
    x, _ = demo
    a = EmbeddingSet(x[:200], pa.table({"id": np.arange(200), "tags": [[1, 2]] * 200}),
                     name="a", id_column="id")
    with pytest.raises(InputError, match="column tags: holds list"):
        compare_sets(a, a, by="tags")


def test_the_tables_labels_are_the_sets_labels():
    from explorer.compute.compare.result import ids_of, labels_of

    meta = pa.table({"id": [10, 11, None, 13, None], "name": ["a", None, None, "d", None],
                     "text": ["t0", "t1", "t2", None, None]})
    es = EmbeddingSet(np.eye(5, dtype=np.float32), meta, name="l", id_column="id",
                      label_column="name", text_column="text")
    rows = np.array([4, 0, 1, 2, 3])
    assert labels_of(es, rows).to_pylist() == [es.label(int(r)) for r in rows]
    assert labels_of(es, rows).to_pylist() == ["#4", "a", "11", "t2", "d"]
    assert ids_of(es, rows).to_pylist() == [None, 10, 11, None, 13]
    bare = EmbeddingSet(np.eye(5, dtype=np.float32), pa.table({"n": range(5)}), name="b")
    assert ids_of(bare, rows).to_pylist() == rows.tolist()
    assert labels_of(bare, rows).to_pylist() == [bare.label(int(r)) for r in rows]
