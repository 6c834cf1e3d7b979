"""Compression workbench (issue 7): figures checked against plain numpy / faiss references."""

import csv
import json

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import compression as cz
from explorer.compute.compression import workbench as ev_mod
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library


def make_es(x, store=False, metric="cosine"):
    es = EmbeddingSet(x, pa.table({"id": [f"i{r}" for r in range(len(x))]}), name="cz",
                      format="test", metric=metric, id_column="id")
    if not store:
        return es
    return Library().open(Library().import_set(es).id)


def clustered(n=1500, d=32, seed=0, scale=None):
    rng = np.random.default_rng(seed)
    scale = np.ones(d) if scale is None else scale
    centres = rng.normal(size=(25, d)) * 2
    x = (centres[rng.integers(0, 25, n)] + rng.normal(size=(n, d))) * scale
    return (x * rng.lognormal(0, 0.3, size=(n, 1))).astype(np.float32)


# --- the reference, written plainly ---------------------------------------------------
def exact_lists(x, rows, metric, depth):
    """float64 numpy brute force: each query row's best `depth` other rows."""
    x64 = x.astype(np.float64)
    if metric == "cosine":
        x64 = x64 / np.linalg.norm(x64, axis=1, keepdims=True)
    out = []
    for r in rows:
        if metric == "l2":
            s = -np.linalg.norm(x64 - x64[r], axis=1)
        else:
            s = x64 @ x64[r]
        s[r] = -np.inf
        out.append(np.argsort(-s, kind="stable")[:depth])
    return np.array(out)


def faiss_lists(index, queries, rows, depth):
    """faiss' own search, each query's row removed."""
    _, ids = index.search(queries, depth + 1)
    return np.array([[i for i in ids[q] if i != r][:depth] for q, r in enumerate(rows)])


def ref_recall(exact, got, j):
    return np.mean([exact[q, 0] in got[q, :j] for q in range(len(exact))])


def ref_overlap(exact, got, k):
    return np.mean([len(set(exact[q, :k]) & set(got[q, :k])) / k for q in range(len(exact))])


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# --- names and bytes -------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("fp16", 768), ("sq8", 384), ("sq6", 288), ("sq4", 192), ("pq16", 16), ("pq48", 48),
    ("opq48", 48), ("binary", 48), ("binary-rerank100", 48), ("trunc96", 384),
    ("pca96", 384), ("rp96", 384), ("pca96-sq8", 96), ("trunc192-fp16", 384),
    ("pca96-pq12", 12), ("rp100-binary", 13)])
def test_bytes_per_vector_formula(name, expected):
    assert cz.parse_method(name).bytes_per_vector(384) == expected


@pytest.mark.parametrize("name", ["fp16", "sq8", "sq6", "sq4", "pq8", "opq8", "binary",
                                  "binary-rerank5", "trunc12", "pca12", "rp12", "pca12-sq8",
                                  "pca12-sq4", "trunc20-pq4", "rp13-binary", "sq6"])
def test_bytes_per_vector_equal_the_codec(name):
    x = cz.metric_rows(clustered(600, 32), "cosine", np.linalg.norm(clustered(600, 32), axis=1))
    method = cz.parse_method(name)
    codec = cz.Codec(method, "cosine").build(x, np.arange(len(x)), 0, TaskState())
    assert codec.code_size == method.bytes_per_vector(32)
    if method.codec not in ("binary", "flat"):
        inner = codec.index
        assert inner.sa_code_size() == method.bytes_per_vector(32)


def test_fixed_and_total_bytes():
    x = clustered(800, 32)
    ev = cz.evaluate(make_es(x), ["pca8", "trunc8", "sq8", "pq8", "opq8", "binary", "fp16"],
                     queries=50)
    by = {m.name: m for m in ev.methods}
    assert by["pca8"].fixed_bytes == 32 * 8 * 4  # the projection matrix
    assert by["trunc8"].fixed_bytes == 0 and by["fp16"].fixed_bytes == 0
    assert by["sq8"].fixed_bytes == 2 * 32 * 4  # per-dimension min and range
    assert by["pq8"].fixed_bytes == 8 * 256 * 4 * 4  # 8 codebooks of 256 x 4 floats
    assert by["opq8"].fixed_bytes == 8 * 256 * 4 * 4 + 32 * 32 * 4  # + the rotation
    assert by["binary"].fixed_bytes == 32 * 4  # the centre
    for m in ev.methods:
        assert m.total_bytes == 800 * m.bytes_per_vector + m.fixed_bytes


@pytest.mark.parametrize("bad", ["pq", "foo", "pca96-", "sq8-pca96", "binary-rerank", "sq3"])
def test_bad_method_names(bad):
    with pytest.raises(InputError) as err:
        cz.parse_methods(f"fp16,{bad}")
    assert repr(bad) in str(err.value) and "pqM" in str(err.value)
    assert "binary-rerankR" in str(err.value)


def test_methods_that_do_not_fit_the_set():
    es = make_es(clustered(300, 32))
    with pytest.raises(InputError, match="pq5.*divide"):
        cz.evaluate(es, ["pq5"], queries=10)
    with pytest.raises(InputError, match="trunc64"):
        cz.evaluate(es, ["trunc64"], queries=10)
    with pytest.raises(InputError, match="k must be"):
        cz.evaluate(es, ["fp16"], k=0, queries=10)
    with pytest.raises(InputError, match="metric"):
        cz.evaluate(es, ["fp16"], metric="manhattan")


def test_default_sweep():
    names = [m.name for m in cz.default_methods(384)]
    assert names == ["fp16", "sq8", "sq4", "pq48", "pq16", "opq48", "binary",
                     "binary-rerank100", "trunc192", "trunc96", "pca96", "pca96-sq8"]
    for d in (32, 100, 768):
        for m in cz.default_methods(d):
            m.check(d)


# --- recall against independent computations --------------------------------------------
@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_recall_equals_an_independent_computation(metric):
    import faiss

    x = clustered(1500, 32)
    k = 10
    ev = cz.evaluate(make_es(x, metric=metric), ["sq8", "trunc16", "pq8", "pca8"], k=k,
                     queries=200, seed=3)
    rows = ev.rows
    assert len(rows) == 200 and ev.depth == 100
    exact = exact_lists(x, rows, metric, 100)
    base = unit(x) if metric == "cosine" else x
    fm = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT

    sq = faiss.IndexScalarQuantizer(32, faiss.ScalarQuantizer.QT_8bit, fm)
    sq.train(base)  # 1500 rows <= the training sample: every row, in order
    sq.add(base)
    pq = faiss.IndexPQ(32, 8, 8, fm)
    pq.pq.cp.niter, pq.pq.cp.seed = cz.PQ_NITER, 1234 + 3  # 1234 + the evaluation's seed
    pq.train(base)
    pq.add(base)
    prefix = base[:, :16].copy()
    if metric == "cosine":
        prefix = unit(prefix)
    flat = faiss.IndexFlat(16, fm)
    flat.add(prefix)
    # PCA by hand: top 8 eigenvectors of the (uncentred) second-moment matrix
    b64 = base.astype(np.float64)
    vals, vecs = np.linalg.eigh(b64.T @ b64 / len(b64))
    proj = (base @ vecs[:, ::-1][:, :8]).astype(np.float32)
    pca = faiss.IndexFlat(8, fm)
    pca.add(proj)
    refs = {"sq8": faiss_lists(sq, base[rows], rows, 100),
            "pq8": faiss_lists(pq, base[rows], rows, 100),
            "trunc16": faiss_lists(flat, prefix[rows], rows, 100),
            "pca8": faiss_lists(pca, proj[rows], rows, 100)}
    for m in ev.methods:
        got = refs[m.name]
        for j in (1, 10, 100):
            assert m.recall_at[j] == pytest.approx(ref_recall(exact, got, j), abs=1e-12), (
                m.name, j)
        assert m.recall_at_k == m.recall_at[10]
        assert m.overlap == pytest.approx(ref_overlap(exact, got, k), abs=1e-12), m.name
        per_query = [len(set(exact[q, :k]) & set(got[q, :k])) / k for q in range(len(rows))]
        np.testing.assert_allclose(m.per_query_overlap, per_query)
        np.testing.assert_array_equal(m.ids, got[:, :k])  # the lists the GUI compares
    np.testing.assert_array_equal(ev.exact, exact)


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
@pytest.mark.parametrize("name", ["fp16", "sq8", "sq4"])
def test_block_scan_of_scalar_codes_returns_faiss_own_lists(monkeypatch, name, metric):
    import faiss

    from explorer.compute.compression import codecs

    monkeypatch.setattr(codecs, "SCAN_BLOCK", 97)  # many blocks, merged across boundaries
    x = clustered(1000, 24, seed=5)
    base = unit(x) if metric == "cosine" else x
    codec = cz.Codec(cz.parse_method(name), metric).build(base, np.arange(len(x)), 0,
                                                          TaskState())
    queries = base[:50]
    got = codec.search(queries, 30)
    qt = {"fp16": faiss.ScalarQuantizer.QT_fp16, "sq8": faiss.ScalarQuantizer.QT_8bit,
          "sq4": faiss.ScalarQuantizer.QT_4bit}[name]
    ref = faiss.IndexScalarQuantizer(24, qt, faiss.METRIC_L2 if metric == "l2"
                                     else faiss.METRIC_INNER_PRODUCT)
    ref.train(base)
    ref.add(base)
    want = ref.search(queries, 30)[1]
    # the same lists; a swap of two neighbours whose scores tie to float rounding is allowed
    assert np.mean(got == want) > 0.99
    assert all(set(g[:10]) == set(w[:10]) or len(set(g[:10]) ^ set(w[:10])) == 2
               for g, w in zip(got, want))


def test_fp16_and_rerank_are_near_exact():
    x = clustered(2000, 48)
    ev = cz.evaluate(make_es(x), ["fp16", "sq8", "binary-rerank1999", "binary"], k=10,
                     queries=300)
    by = {m.name: m for m in ev.methods}
    assert by["fp16"].recall_at_k == pytest.approx(1.0)
    assert by["fp16"].overlap >= 0.99 and by["fp16"].rank_correlation >= 0.99
    assert by["fp16"].distortion < 1e-3
    assert by["sq8"].distortion < by["fp16"].distortion * 1000 + 0.05
    assert by["binary-rerank1999"].overlap == pytest.approx(1.0)  # every row re-ranked
    assert by["binary"].distortion is None
    assert by["binary"].overlap < by["binary-rerank1999"].overlap


def test_binary_codes_are_signs_of_centred_rows():
    x = clustered(1000, 24)
    base = unit(x)
    rows_ = np.arange(len(x))
    codec = cz.Codec(cz.parse_method("binary"), "cosine").build(base, rows_, 0, TaskState())
    centre = base.mean(axis=0)
    q = base[:5]
    ham = np.array([[np.sum((base[i] > centre) != (q[j] > centre)) for i in range(len(x))]
                    for j in range(5)])
    ids = codec.search(q, 10)
    for j in range(5):  # faiss' Hamming order: distances ascending (ties in any order)
        np.testing.assert_array_equal(ham[j, ids[j]], np.sort(ham[j])[:10])


# --- measures ----------------------------------------------------------------------------
def test_measures_by_hand():
    exact = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    approx = np.array([[2, 1, 3, 9], [9, 8, 7, 6]])
    assert cz.recall_at(exact, approx, 1) == 0.0
    assert cz.recall_at(exact, approx, 2) == 0.5
    np.testing.assert_allclose(cz.overlap(exact, approx, 4), [0.75, 0.75])
    rho = cz.rank_correlation(exact, approx, 3)
    # query 0: exact ranks 1,2,3 -> method positions 1,0,2 -> ranks 2,1,3: rho = 0.5
    # query 1: items 5,6,7 -> 5 missing (rank after the list), 6 at 3, 7 at 2 -> rho = -1
    np.testing.assert_allclose(rho, [0.5, -1.0])
    assert cz.distortion(np.array([1.0, 2.0]), np.array([1.5, 1.0])) == 0.75


def duplicates_at_the_kth():
    """A set with seven exact duplicate rows (20-26) near the query (row 0); the query's
    k-th neighbour is the third of them. Returns the exact list and scores, k, and the
    exact score of every row."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 16)).astype(np.float32)
    x[20:27] = x[20] * 0.3 + x[0]  # identical texts embed identically
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    scores = unit[1:].astype(np.float64) @ unit[0].astype(np.float64)
    order = np.argsort(-scores, kind="stable")
    exact = order + 1
    exact_scores = scores[order]
    first = int(np.flatnonzero(np.isin(exact, np.arange(20, 27)))[0])
    return exact, exact_scores, first + 3, dict(zip(exact.tolist(), exact_scores.tolist()))


def test_a_swap_among_items_tied_at_the_kth_score_is_kept():
    exact, exact_scores, k, score_of = duplicates_at_the_kth()
    top = exact[:k]
    dup_in = [r for r in top.tolist() if 20 <= r <= 26]
    dup_out = [r for r in exact[k:].tolist() if 20 <= r <= 26]
    assert len(dup_in) == 3 and len(dup_out) == 4
    # the method returns the same top k but other duplicates: every one of them ties
    got = np.array([r for r in top.tolist() if r not in dup_in] + dup_out[:3])
    c = cz.compare_one(exact, exact_scores, got, [score_of[r] for r in got], k)
    assert c.kept == k and c.lost == [] and c.gained == []
    assert sorted(c.tied_lost) == sorted(dup_in) and sorted(c.tied_gained) == sorted(dup_out[:3])
    assert c.ties == 7 and not c.ties_at_least
    assert cz.overlap(exact[None, :k], got[None], k)[0] < 1  # what the set overlap says
    # a real loss is still one: the best neighbour replaced by a far item
    far = int(exact[-1])
    got2 = np.array([far, *got[1:].tolist()])
    c2 = cz.compare_one(exact, exact_scores, got2, [score_of[r] for r in got2], k)
    assert c2.lost == [int(exact[0])] and c2.gained == [far] and c2.kept == k - 1
    # a tied item lost for a worse one is lost: nothing equal took its place
    got3 = np.array([*top[:k - 1].tolist(), far])
    c3 = cz.compare_one(exact, exact_scores, got3, [score_of[r] for r in got3], k)
    assert c3.lost == [int(top[k - 1])] and c3.gained == [far] and c3.tied_lost == []
    # an exact list that ends while still tied says there may be more
    c4 = cz.compare_one(exact[:k + 1], exact_scores[:k + 1], top, exact_scores[:k], k)
    assert c4.ties_at_least and c4.kept == k


def test_the_figures_count_a_swap_among_tied_items_as_the_per_query_view_does():
    """Thirty exact duplicate rows: each one's exact top 10 is 10 of the other 29, and a
    method may return another 10 of them. The sweep's overlap_with_ties is the mean of
    what the per-query view says query by query; `overlap` still calls a swap a loss."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(800, 16)).astype(np.float32)
    x[100:130] = x[100]
    rows = np.arange(80, 140)  # 30 queries among the duplicates, 30 beside them
    es = make_es(x, store=True)
    ev = cz.evaluate(es, "fp16,sq4,binary", k=10, rows=rows)
    for m in ev.methods:
        shares, tied = [], 0
        for i, row in enumerate(rows):  # as QueryComparison.show_query compares one query
            exact = ev.exact[i][ev.exact[i] >= 0]
            got = m.ids[i][m.ids[i] >= 0]
            scores = cz.exact_scores(x, int(row), np.concatenate([exact, got]), "cosine")
            c = cz.compare_one(exact, scores[:len(exact)], got, scores[len(exact):], 10)
            shares.append(c.kept / 10)
            tied += c.ties > 1
        np.testing.assert_allclose(m.per_query_kept, shares)
        assert m.overlap_with_ties == pytest.approx(np.mean(shares))
        assert m.queries_with_ties == tied >= 30
        assert (m.per_query_kept >= m.per_query_overlap).all()
    binary = ev.methods[2]
    swapped = np.flatnonzero(binary.per_query_kept > binary.per_query_overlap)
    assert len(swapped) and set(rows[swapped]) <= set(range(100, 130))  # only the duplicates
    assert binary.overlap_with_ties > binary.overlap + 0.1
    again = cz.evaluate(es, "fp16,sq4,binary", k=10, rows=rows)
    for a, b in zip(ev.methods, again.methods):  # from the cache: the same figures
        assert b.cached and b.to_dict() | {"cached": False} == a.to_dict() | {"cached": False}
    d = binary.to_dict()
    assert (d["overlap_with_ties"], d["queries_with_ties"]) == (binary.overlap_with_ties,
                                                                binary.queries_with_ties)


def test_overlap_with_ties_by_hand():
    exact, exact_scores, k, score_of = duplicates_at_the_kth()
    dup_in = [r for r in exact[:k].tolist() if 20 <= r <= 26]
    dup_out = [r for r in exact[k:].tolist() if 20 <= r <= 26]
    swapped = np.array([r for r in exact[:k].tolist() if r not in dup_in] + dup_out[:3])
    far = np.array([*exact[:k - 1].tolist(), int(exact[-1])])  # the k-th lost for a far one
    got = np.array([swapped, far])
    got_scores = np.array([[score_of[r] for r in g] for g in got.tolist()])
    lists, scores = np.array([exact, exact]), np.array([exact_scores, exact_scores])
    kept, tied = cz.overlap_with_ties(lists, scores, got, got_scores, k)
    assert kept.tolist() == [1.0, (k - 1) / k] and tied.tolist() == [True, True]
    assert cz.overlap(lists[:, :k], got, k).tolist() == [(k - 3) / k, (k - 1) / k]
    tail, tail_scores = lists[:, -4:], scores[:, -4:]  # far items: none ties with another
    alone = cz.overlap_with_ties(tail, tail_scores, tail[:, :3], tail_scores[:, :3], 3)
    assert alone[0].tolist() == [1.0, 1.0] and alone[1].tolist() == [False, False]


def test_ties_are_within_float_tolerance_only():
    assert cz.ties_with(np.array([0.9, 0.9 + 5e-6, 0.9 + 5e-4]), 0.9).tolist() == \
        [True, True, False]
    assert cz.ties_with(np.array([1000.0, 1000.004, 1000.02]), 1000.0).tolist() == \
        [True, True, False]  # relative for large L2 distances and dot products


# --- Matryoshka-like structure ------------------------------------------------------------
def test_truncation_on_planted_matryoshka_structure():
    d = 64
    leading = 1.0 / (1.0 + np.arange(d))  # energy concentrated in the first dimensions
    names = ["trunc32", "trunc16", "trunc8", "trunc4"]
    ev = cz.evaluate(make_es(clustered(3000, d, scale=leading)), names, queries=300)
    over = [m.overlap for m in ev.methods]
    assert over[0] >= 0.8
    assert all(a >= b for a, b in zip(over, over[1:])), over
    assert over[0] - over[-1] > 0.3

    trailing = leading[::-1]  # the same structure in the last dimensions
    ev2 = cz.evaluate(make_es(clustered(3000, d, scale=trailing)), names, queries=300)
    assert max(m.overlap for m in ev2.methods) < 0.2
    assert ev2.methods[0].overlap < over[0] - 0.6


# --- caching, progress, cancel -------------------------------------------------------------
def test_results_are_cached_by_parameters(monkeypatch):
    es = make_es(clustered(1200, 32), store=True)
    first = cz.evaluate(es, ["sq8", "pca8-sq8"], k=5, queries=100)
    assert not any(m.cached for m in first.methods)

    def boom(*a, **kw):
        raise AssertionError("recomputed")

    monkeypatch.setattr(cz.Codec, "build", boom)
    monkeypatch.setattr(ev_mod, "_faiss_exact", boom)
    again = cz.evaluate(es, ["sq8", "pca8-sq8"], k=5, queries=100)
    assert all(m.cached for m in again.methods)
    a, b = first.to_dict(), again.to_dict()
    for m in a["methods"] + b["methods"]:
        m.pop("cached")
    assert a == b
    for m1, m2 in zip(first.methods, again.methods):
        np.testing.assert_array_equal(m1.per_query_overlap, m2.per_query_overlap)
        np.testing.assert_array_equal(m1.ids, m2.ids)
    np.testing.assert_array_equal(first.rows, again.rows)
    np.testing.assert_array_equal(first.exact, again.exact)
    with pytest.raises(AssertionError, match="recomputed"):  # other parameters: computed
        cz.evaluate(es, ["sq8"], k=6, queries=100)


def test_progress_partial_results_and_cancel():
    es = make_es(clustered(800, 32))
    seen, partial = [], []
    state = TaskState(on_progress=seen.append, on_partial=partial.append)
    ev = cz.evaluate(es, ["fp16", "sq8", "pq4"], queries=50, state=state)
    assert [p.name for p in partial] == ["fp16", "sq8", "pq4"]
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert len(ev.methods) == 3

    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        cz.evaluate(es, ["fp16"], queries=50, state=state)

    state = TaskState(on_partial=lambda r: state.cancel())  # stop after the first method
    with pytest.raises(Cancelled):
        cz.evaluate(es, ["fp16", "sq8"], queries=50, state=state)


def test_explicit_query_rows_and_zero_rows():
    x = clustered(600, 16)
    x[10] = 0  # no cosine: never a query, never a neighbour
    ev = cz.evaluate(make_es(x), ["fp16"], rows=[3, 1, 3, 50], k=5)
    assert ev.rows.tolist() == [1, 3, 50] and ev.queries == 3
    ev = cz.evaluate(make_es(x), ["fp16"], queries=599, k=5)
    assert 10 not in ev.rows and len(ev.rows) == 599
    with pytest.raises(InputError, match="zero"):
        cz.evaluate(make_es(x), ["fp16"], rows=[10])


def test_to_dict_shape():
    d = cz.evaluate(make_es(clustered(500, 16)), "fp16,pq4", queries=20).to_dict()
    assert {"k", "queries", "metric", "methods"} <= set(d)
    assert (d["k"], d["queries"], d["metric"]) == (10, 20, "cosine")
    for m in d["methods"]:
        assert {"name", "bytes_per_vector", "recall_at_k", "overlap", "train_seconds",
                "search_ms_per_query"} <= set(m)
    assert d["methods"][1]["trained_on"] == {"sample_rows": 500, "pq_iterations": cz.PQ_NITER}


def _result(name, size, quality, rerank=0):
    return cz.MethodResult(name=name, bytes_per_vector=size, fixed_bytes=0, total_bytes=0,
                           recall_at={10: quality}, recall_at_k=quality, overlap=quality,
                           rank_correlation=0.0, distortion=None, train_seconds=0.0,
                           encode_seconds=0.0, search_ms_per_query=0.0, trained_on={},
                           rerank_bytes_per_vector=rerank)


def test_budget_can_count_the_rows_a_re_ranking_method_reads():
    results = [_result("sq8", 384, 0.97), _result("pq48", 48, 0.6),
               _result("binary-rerank100", 48, 0.95, rerank=1536)]
    assert cz.best_within(results, 64).name == "binary-rerank100"  # rows on disk
    assert cz.best_within(results, 64, size=cz.stored_size).name == "pq48"
    assert cz.best_within(results, 2000, size=cz.stored_size).name == "sq8"
    assert [r.name for r in cz.frontier(results, size=cz.stored_size)] == ["pq48", "sq8"]
    assert results[2].stored_bytes_per_vector == 48 + 1536


def test_frontier_and_budget_pick_the_undominated_methods():
    results = [_result("fp16", 768, 1.0), _result("sq8", 384, 0.99), _result("trunc96", 384, 0.5),
               _result("pq48", 48, 0.6), _result("binary", 48, 0.52), _result("pq16", 16, 0.3),
               _result("sq4", 192, 0.99)]
    assert [r.name for r in cz.frontier(results)] == ["pq16", "pq48", "sq4", "fp16"]
    assert cz.best_within(results, 400).name == "sq4"  # as good as sq8, and smaller
    assert cz.best_within(results, 100).name == "pq48"
    assert cz.best_within(results, 10) is None
    assert cz.best_within(results, 10_000).name == "fp16"
    # a brute-force check of "no other method is as small and at least as good"
    front = {r.name for r in cz.frontier(results)}
    for r in results:
        dominated = any(o is not r and o.bytes_per_vector <= r.bytes_per_vector
                        and o.overlap >= r.overlap
                        and (o.bytes_per_vector, -o.overlap) < (r.bytes_per_vector, -r.overlap)
                        for o in results)
        assert (r.name in front) == (not dominated), r.name


def test_report_files_hold_the_sweep_s_figures(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(600, 16)).astype(np.float32)
    lib = Library()
    es = lib.open(lib.import_set(EmbeddingSet(x, pa.table({"id": [str(i) for i in range(600)]}),
                                              name="r", format="test", source=[],
                                              metric="cosine")).id)
    ev = cz.evaluate(es, "fp16,sq4,binary", k=10, queries=50)
    rows = list(csv.DictReader(open(cz.write_csv(ev, tmp_path / "r.csv"), encoding="utf-8")))
    assert [r["name"] for r in rows] == ["fp16", "sq4", "binary"]
    for row, m in zip(rows, ev.methods):
        assert int(row["bytes_per_vector"]) == m.bytes_per_vector
        assert float(row["overlap"]) == pytest.approx(m.overlap, abs=1e-12)
        assert float(row["overlap_with_ties"]) == pytest.approx(m.overlap_with_ties, abs=1e-12)
        assert int(row["queries_with_ties"]) == m.queries_with_ties
        assert float(row["recall_at_10"]) == pytest.approx(m.recall_at[10], abs=1e-12)
    data = json.loads(cz.write_report_json(ev, tmp_path / "r.json").read_text())
    assert data["query_rows"] == [int(r) for r in ev.rows]
    assert [m["name"] for m in data["methods"]] == ["fp16", "sq4", "binary"]
