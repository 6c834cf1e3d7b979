"""Neighbour search over library sets: index persistence, queries, filters and metric comparison.

Every answer is checked against numpy brute force (float64) over the set's own vectors.
"""

import os

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import neighbours as nb
from explorer.compute.index import CompactIndex, ExactIndex
from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import VECTORS, Library

from brute_force import true_scores

N, D = 3000, 32
GROUPS = np.array(["a", "b", "c", "d"])


def clustered(n=N, d=D, seed=0, norm_sigma=0.5):
    rng = np.random.default_rng(seed)
    scale = 1.0 / (1.0 + np.arange(d)) ** 0.7
    centres = rng.normal(size=(20, d)) * scale * 3
    x = centres[rng.integers(0, 20, n)] + rng.normal(size=(n, d)) * scale
    return (x * rng.lognormal(0.0, norm_sigma, size=(n, 1))).astype(np.float32)


def make_set(vectors, metric="cosine", name="Words", seed=0):
    n = len(vectors)
    rng = np.random.default_rng(seed)
    ids = [f"w{i}" for i in range(n)]
    ids[5], ids[6] = "new york", "x-ray"  # a name with a space, one with a hyphen
    ids[8] = "rock - paper"  # titles like "Song - Artist" are common
    meta = pa.table({"id": ids,
                     "grp": GROUPS[rng.integers(0, 4, n)].tolist(),
                     "size": np.arange(n, dtype=np.int64),
                     "title": [f"item number {i}" for i in range(n)]})
    return EmbeddingSet(vectors, meta, name=name, format="test", source=[], metric=metric,
                        id_column="id", text_column="title")


def stored(vectors, metric="cosine", **kw) -> EmbeddingSet:
    entry = Library().import_set(make_set(vectors, metric, **kw))
    return Library().open(entry.id)


@pytest.fixture(autouse=True)
def fresh_open_cache():
    nb._OPEN.clear()
    yield
    nb._OPEN.clear()


def brute(x, q, metric, k, allowed=None, exclude=()):
    s = true_scores(x, q, metric)
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    s[list(exclude)] = -np.inf
    ok = np.flatnonzero(np.isfinite(s))
    best = ok[np.argsort(-s[ok], kind="stable")[:k]]
    return best, s


def assert_brute(rows, scores, x, q, metric, k, allowed=None, exclude=()):
    """rows/scores are the brute-force top-k (ties aside) with true scores, best first."""
    best, s = brute(x, q, metric, k, allowed, exclude)
    rows = np.asarray(rows)
    assert len(rows) == len(best)
    assert np.isfinite(s[rows]).all(), "a filtered-out or excluded row was returned"
    tol = 1e-4 * max(1.0, float(np.abs(s[np.isfinite(s)]).max()))
    reported = -np.asarray(scores, np.float64) if metric == "l2" else np.asarray(scores)
    np.testing.assert_allclose(reported, s[rows], atol=tol, rtol=0)
    np.testing.assert_allclose(np.sort(s[rows]), np.sort(s[best]), atol=tol, rtol=0)
    for r in set(rows.tolist()) ^ set(best.tolist()):
        assert abs(s[r] - s[best[-1]]) <= tol, f"row {r} is not a tie at the k-th place"


# --- choosing and persisting indexes -------------------------------------------------
def test_choose_kind_thresholds():
    assert nb.choose_kind(1000, 384) == "flat"
    assert nb.choose_kind(1_000_000, 384) == "compact"
    assert nb.choose_kind(5_000_000, 384) == "hnsw"
    assert nb.choose_kind(20_000_000, 96) == "ivf"
    assert nb.exact_kind(1_000_000, 384) == "compact" and nb.approx_kind(100) == "hnsw"


def test_auto_index_of_a_small_set_is_the_exact_scan():
    es = stored(clustered())
    index, info = nb.open_index(es)
    assert isinstance(index, ExactIndex) and info.kind == "flat" and info.exact
    assert (info.count, info.dim, info.metric) == (N, D, "cosine")
    with pytest.raises(InputError, match="unknown index kind"):
        nb.open_index(es, kind="lsh")
    with pytest.raises(InputError, match="unknown metric"):
        nb.open_index(es, metric="hamming")


def test_is_open_tells_whether_a_search_would_wait_for_an_index():
    es = stored(clustered(2000))
    assert not nb.is_open(es, "cosine", "compact")
    nb.open_index(es, "cosine", "compact")
    assert nb.is_open(es, "cosine", "compact") and not nb.is_open(es, "l2", "compact")
    _rewrite_vectors(es, clustered(2000, seed=5))
    assert not nb.is_open(es, "cosine", "compact")  # the vectors changed: not that index


def _rewrite_vectors(es, new):
    """Replace the set's vectors file as an external writer would (same shape)."""
    path = es.path / VECTORS
    tmp = es.path / "vectors.tmp.npy"
    np.save(tmp, new)
    os.replace(tmp, path)


def test_compact_index_is_stored_reloaded_memory_mapped_and_rebuilt_on_change():
    x = clustered(seed=1)
    es = stored(x)
    index, info = nb.open_index(es, "cosine", "compact")
    assert isinstance(index, CompactIndex) and not info.reused and info.exact
    q = x[17] + 0.01
    first = index.search(q, 10)
    assert_brute(first.rows, first.scores, x, q, "cosine", 10)
    assert "cosine-compact" in ArtifactStore(es.path).keys(nb.INDEX_KIND)

    nb._OPEN.clear()  # a new process: only the library is left
    es = Library().open(es.library_id)
    index, info = nb.open_index(es, "cosine", "compact")
    assert info.reused and info.kind == "compact"
    codes = index.codes
    assert isinstance(codes, np.memmap) or isinstance(codes.base, np.memmap)
    assert isinstance(index.norms, np.memmap) or isinstance(index.norms.base, np.memmap)
    again = index.search(q, 10)
    np.testing.assert_array_equal(again.rows, first.rows)

    new = clustered(seed=2)  # different values, same shape
    _rewrite_vectors(es, new)
    es = Library().open(es.library_id)
    assert nb.vectors_signature(es) != nb.vectors_signature(make_set(x))
    index, info = nb.open_index(es, "cosine", "compact")
    assert not info.reused
    for row in (0, 17, 2999):
        got = index.search(new[row], 10)
        assert_brute(got.rows, got.scores, new, new[row], "cosine", 10)
    flat, _ = nb.open_index(es, "cosine", "flat")  # the stored norms were renewed too
    got = flat.search(new[5], 10)
    assert_brute(got.rows, got.scores, new, new[5], "cosine", 10)


def test_changed_vectors_are_noticed_within_one_process():
    x = clustered(seed=3)
    es = stored(x, metric="l2")
    nb.open_index(es, "l2", "compact")
    new = x[::-1].copy()  # same values, other rows
    _rewrite_vectors(es, new)
    es = Library().open(es.library_id)
    index, info = nb.open_index(es, "l2", "compact")  # no clearing of the in-process cache
    assert not info.reused
    got = index.search(new[3], 5)
    assert_brute(got.rows, got.scores, new, new[3], "l2", 5)


def test_hnsw_index_is_stored_with_its_recall_and_rebuilt_on_change():
    x = clustered(seed=4)
    es = stored(x)
    index, info = nb.open_index(es, "cosine", "hnsw")
    assert info.kind == "hnsw" and not info.exact and not info.reused
    assert info.recall_queries == nb.RECALL_QUERIES
    assert 0.9 <= info.recall_at_10 <= 1.0
    q = x[40]
    first = index.search(q, 10)
    assert first.exact is False

    nb._OPEN.clear()
    es = Library().open(es.library_id)
    index, again = nb.open_index(es, "cosine", "hnsw")
    assert again.reused
    assert (again.recall_at_10, again.recall_queries, again.build_seconds, again.bytes) == \
        (info.recall_at_10, info.recall_queries, info.build_seconds, info.bytes)
    assert "recall@10" in again.describe()
    np.testing.assert_array_equal(index.search(q, 10).rows, first.rows)

    new = clustered(seed=5)
    _rewrite_vectors(es, new)
    es = Library().open(es.library_id)
    index, info = nb.open_index(es, "cosine", "hnsw")
    assert not info.reused
    truth = brute(new, new[40], "cosine", 10)[0]
    assert len(set(index.search(new[40], 10).rows.tolist()) & set(truth.tolist())) >= 8


def test_truncated_artefact_is_ignored_and_rebuilt():
    x = clustered(seed=6)
    es = stored(x)
    nb.open_index(es, "cosine", "compact")
    npy = _stored_file(es, "cosine-compact")
    size = npy.stat().st_size
    with open(npy, "r+b") as fh:
        fh.truncate(size // 2)
    nb._OPEN.clear()
    es = Library().open(es.library_id)
    index, info = nb.open_index(es, "cosine", "compact")
    assert not info.reused
    got = index.search(x[9], 10)
    assert_brute(got.rows, got.scores, x, x[9], "cosine", 10)
    assert _stored_file(es, "cosine-compact").stat().st_size == size  # stored again


def _stored_file(es, key):
    """The artefact file holding `key` (whatever its format), not its JSON record."""
    files = [p for p in (es.path / "artifacts" / nb.INDEX_KIND).glob(f"{key}.*")
             if p.suffix != ".json"]
    assert len(files) == 1, files
    return files[0]


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_damaged_hnsw_file_is_ignored_and_rebuilt(damage):
    """Shorter, or same length with a broken header (faiss raises RuntimeError): rebuilt."""
    x = clustered(seed=7)
    es = stored(x, metric="l2")
    _, built = nb.open_index(es, "l2", "hnsw")
    path = _stored_file(es, "l2-hnsw")
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        if damage == "truncate":
            fh.truncate(size // 3)
        else:
            fh.write(b"\0\0\0\0")  # faiss' four-character index type
    nb._OPEN.clear()
    es = Library().open(es.library_id)
    index, info = nb.open_index(es, "l2", "hnsw")
    assert not info.reused and info.recall_at_10 is not None
    assert len(index.search(x[1], 10).rows) == 10
    assert _stored_file(es, "l2-hnsw").stat().st_size == size  # stored again, whole


# --- queries ----------------------------------------------------------------------------
def unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def test_arithmetic_over_names_rows_and_scaled_terms():
    x = clustered(seed=8)
    es = stored(x)
    q = nb.arithmetic_query(es, '"new york" - x-ray + w7')
    assert q.kind == "arithmetic" and q.rows == [5, 6, 7]
    np.testing.assert_allclose(q.vector, unit(x[5]) - unit(x[6]) + unit(x[7]), rtol=1e-5, atol=1e-6)
    q = nb.arithmetic_query(es, "#12 - #40 + 0.5*#3")
    assert q.rows == [12, 40, 3]
    np.testing.assert_allclose(q.vector, unit(x[12]) - unit(x[40]) + 0.5 * unit(x[3]),
                               rtol=1e-5, atol=1e-6)
    q = nb.arithmetic_query(es, "'new york' + 2 * w1", metric="l2")  # raw vectors for L2
    assert q.rows == [5, 1]
    np.testing.assert_allclose(q.vector, x[5].astype(np.float64) + 2 * x[1], rtol=1e-5, atol=1e-5)
    q = nb.arithmetic_query(es, "- w2 + w3", metric="dot")
    np.testing.assert_allclose(q.vector, x[3].astype(np.float64) - x[2], rtol=1e-5, atol=1e-5)
    result = nb.search(es, nb.arithmetic_query(es, "w1 - w2 + w3"), k=10)
    assert not {1, 2, 3} & set(result.neighbours.rows.tolist())  # the terms are left out
    v = unit(x[1]) - unit(x[2]) + unit(x[3])
    assert_brute(result.neighbours.rows, result.neighbours.scores, x, v, "cosine", 10,
                 exclude=(1, 2, 3))


def test_quoted_names_may_hold_an_operator():
    """The docstring says to quote names with spaces; a quoted ' - ' is part of the name."""
    x = clustered(n=200, seed=8)
    es = stored(x)
    q = nb.arithmetic_query(es, '"rock - paper" + w1')
    assert q.rows == [8, 1]
    np.testing.assert_allclose(q.vector, unit(x[8]) + unit(x[1]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("expr, fragment", [
    ("w1 - nosuchword + w3", "nosuchword"),
    ("   ", "empty"),
    ("#99999", "out of range"),
    ("w1 - w1", "zero vector"),
])
def test_bad_arithmetic_is_an_input_error(expr, fragment):
    es = stored(clustered(n=200))
    with pytest.raises(InputError, match=fragment):
        nb.arithmetic_query(es, expr)


def test_row_id_centroid_and_vector_queries():
    x = clustered(seed=9)
    x[100] = 0
    es = stored(x)
    q = nb.row_query(es, 5)
    assert q.rows == [5] and q.label == "#5 new york"
    np.testing.assert_array_equal(q.vector, x[5])
    assert nb.id_query(es, "w42").rows == [42]
    with pytest.raises(InputError, match="nosuch"):
        nb.id_query(es, "nosuch")
    with pytest.raises(InputError, match="out of range"):
        nb.row_query(es, N)
    rows = [3, 9, 27, 81, 100]  # a zero row has no direction: it adds nothing to a cosine mean
    c = nb.centroid_query(es, rows)
    assert c.kind == "centroid" and c.rows == rows
    expected = np.mean([unit(x[r]) if r != 100 else np.zeros(D) for r in rows], axis=0)
    np.testing.assert_allclose(c.vector, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nb.centroid_query(es, rows, metric="l2").vector,
                               x[rows].astype(np.float64).mean(axis=0), rtol=1e-5, atol=1e-6)
    for empty in ([], np.zeros(0, dtype=np.int64)):
        with pytest.raises(InputError, match="empty"):
            nb.centroid_query(es, empty)
    with pytest.raises(InputError, match="out of range"):
        nb.centroid_query(es, [1, N])
    result = nb.search(es, c, k=20)
    assert not set(rows) & set(result.neighbours.rows.tolist())
    assert_brute(result.neighbours.rows, result.neighbours.scores, x, c.vector, "cosine", 20,
                 exclude=rows)
    v = nb.vector_query(x[7] * 2, label="mine")
    assert v.rows == [] and v.label == "mine"
    result = nb.search(es, v, k=3)
    assert result.neighbours.rows[0] == 7  # nothing is excluded for a plain vector


# --- search -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["flat", "compact"])
@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_filtered_search_equals_brute_force_over_matching_rows(kind, metric):
    x = clustered(seed=10)
    es = stored(x)
    where = "grp = 'b' and size % 3 = 0"  # ~8% of the rows
    grp = np.asarray(es.metadata.column("grp").to_pylist())
    allowed = (grp == "b") & (np.arange(N) % 3 == 0)
    for row in (3, 4, 1000):  # inside and outside the filter
        result = nb.search(es, nb.row_query(es, row), k=25, metric=metric, where=where, kind=kind)
        assert result.matching == int(allowed.sum()) and result.where == where
        assert allowed[result.neighbours.rows].all()
        assert row not in result.neighbours.rows
        assert_brute(result.neighbours.rows, result.neighbours.scores, x, x[row], metric, 25,
                     allowed, exclude=[row])


@pytest.mark.parametrize("kind", ["flat", "compact", "hnsw"])
def test_a_filter_nothing_matches_gives_no_neighbours(kind):
    es = stored(clustered(n=500, seed=16))
    result = nb.search(es, nb.row_query(es, 1), k=10, where="size < 0", kind=kind)
    assert result.matching == 0 and len(result.neighbours.rows) == 0
    assert result.to_dict(es)["neighbours"] == []


def test_filtered_search_through_the_graph_keeps_to_the_filter():
    x = clustered(seed=11)
    es = stored(x)
    grp = np.asarray(es.metadata.column("grp").to_pylist())
    for where, allowed in (("grp in ('a', 'b')", np.isin(grp, ["a", "b"])),  # the graph answers
                           ("grp = 'c' and size < 1500", (grp == "c") & (np.arange(N) < 1500))):
        result = nb.search(es, nb.row_query(es, 8), k=10, where=where, kind="hnsw")
        assert len(result.neighbours.rows) == 10
        assert allowed[result.neighbours.rows].all()
        if allowed.mean() < 0.2:  # rare: answered by the exact masked scan
            assert_brute(result.neighbours.rows, result.neighbours.scores, x, x[8], "cosine",
                         10, allowed, exclude=[8])


def test_exclude_self_and_result_contract():
    x = clustered(seed=12)
    es = stored(x)
    result = nb.search(es, nb.row_query(es, 5), k=5)
    assert 5 not in result.neighbours.rows and result.matching is None
    assert_brute(result.neighbours.rows, result.neighbours.scores, x, x[5], "cosine", 5,
                 exclude=[5])
    d = result.to_dict(es)
    assert {"query", "metric", "k", "neighbours", "seconds"} <= set(d)
    assert (d["metric"], d["k"], d["query"]["rows"]) == ("cosine", 5, [5])
    assert [set(n) for n in d["neighbours"]] == [{"row", "id", "label", "text", "score"}] * 5
    assert [(n["label"], n["text"]) for n in d["neighbours"]] == [
        (es.label(int(r)), f"item number {r}") for r in result.neighbours.rows]
    ids = es.metadata.column("id").to_pylist()
    assert [(n["row"], n["id"]) for n in d["neighbours"]] == [
        (int(r), ids[r]) for r in result.neighbours.rows]
    assert [n["score"] for n in d["neighbours"]] == pytest.approx(result.neighbours.scores.tolist())
    assert isinstance(d["seconds"], float) and d["seconds"] >= 0
    with_self = nb.search(es, nb.row_query(es, 5), k=5, exclude_self=False)
    assert with_self.neighbours.rows[0] == 5
    assert with_self.neighbours.scores[0] == pytest.approx(1.0, abs=1e-5)


def test_k_of_1000_returns_1000_neighbours_even_without_the_query_row():
    x = clustered(seed=13)
    es = stored(x)
    result = nb.search(es, nb.row_query(es, 0), k=1000)
    assert 0 not in result.neighbours.rows
    assert len(result.neighbours.rows) == 1000
    assert_brute(result.neighbours.rows, result.neighbours.scores, x, x[0], "cosine", 1000,
                 exclude=[0])


@pytest.mark.parametrize("kwargs, fragment", [
    ({"k": 0}, "k must be"),
    ({"k": 1001}, "k must be"),
    ({"metric": "hamming"}, "unknown metric"),
    ({"where": "nosuchcolumn = 1"}, "nosuchcolumn"),
    ({"where": "grp = "}, "filter"),
    ({"where": "1 = 1; drop table items"}, "filter"),
])
def test_bad_search_arguments_are_input_errors(kwargs, fragment):
    es = stored(clustered(n=300))
    with pytest.raises(InputError, match=fragment):
        nb.search(es, nb.row_query(es, 1), **kwargs)


def test_filter_mask():
    es = stored(clustered(n=300))
    assert nb.filter_mask(es, None) is None and nb.filter_mask(es, "  ") is None
    mask = nb.filter_mask(es, "size >= 290")
    assert mask.dtype == bool and np.flatnonzero(mask).tolist() == list(range(290, 300))


# --- metric comparison ------------------------------------------------------------------
def test_compare_metrics_lists_overlaps_and_norm_explanation():
    x = clustered(seed=14, norm_sigma=1.0)  # lengths vary a lot
    es = stored(x)
    row, k = 11, 20
    cmp = nb.compare_metrics(es, nb.row_query(es, row), k=k)
    for metric in ("cosine", "dot", "l2"):
        got = cmp.lists[metric]
        assert row not in got.rows
        assert_brute(got.rows, got.scores, x, x[row], metric, k, exclude=[row])
        np.testing.assert_allclose(cmp.norms[metric], np.linalg.norm(x[got.rows], axis=1),
                                   rtol=1e-5)
    for pair, value in cmp.overlap.items():
        a, b = pair.split("/")
        shared = set(cmp.lists[a].rows.tolist()) & set(cmp.lists[b].rows.tolist())
        assert value == pytest.approx(len(shared) / k)
    assert cmp.overlap["cosine/dot"] < 1.0
    assert "lengths vary" in cmp.explanation
    assert "Dot product favours long vectors" in cmp.explanation
    assert np.median(cmp.norms["dot"]) > np.median(np.linalg.norm(x, axis=1))
    d = cmp.to_dict(es)
    assert set(d["lists"]) == {"cosine", "dot", "l2"}
    assert {"row", "id", "label", "text", "score", "norm"} == set(d["lists"]["dot"][0])


def test_compare_metrics_on_unit_vectors_says_they_rank_the_same():
    x = clustered(seed=15)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    es = stored(x)
    cmp = nb.compare_metrics(es, nb.row_query(es, 3), k=10)
    assert "rank items the same way" in cmp.explanation
    assert all(v == pytest.approx(1.0) for v in cmp.overlap.values())
    for metric in ("cosine", "dot", "l2"):
        assert_brute(cmp.lists[metric].rows, cmp.lists[metric].scores, x, x[3], metric, 10,
                     exclude=[3])
