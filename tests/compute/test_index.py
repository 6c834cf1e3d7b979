"""Exact search equals numpy brute force for every metric, with and without a filter."""

import weakref

import numpy as np
import pytest

from explorer.compute.index import ApproxIndex, CompactIndex, ExactIndex
from explorer.core.errors import InputError

from brute_force import true_scores

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(20000, 48)) * RNG.uniform(0.5, 3.0, size=(20000, 1))).astype(np.float32)


def brute(x, q, metric, k, allowed=None):
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1)
        scores = (x @ q) / np.where(norms > 0, norms, np.inf) / np.linalg.norm(q)
        ok = norms > 0
    elif metric == "dot":
        scores, ok = x @ q, np.ones(len(x), bool)
    else:
        scores, ok = -np.linalg.norm(x - q, axis=1), np.ones(len(x), bool)
    if allowed is not None:
        ok &= allowed
    rows = np.flatnonzero(ok)
    best = rows[np.argsort(-scores[rows], kind="stable")[:k]]
    return best, scores[best]


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
@pytest.mark.parametrize("k", [1, 10, 250])
def test_equals_brute_force(metric, k, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, X)
    index = ExactIndex(np.load(path, mmap_mode="r"), metric)  # searches the memory map as is
    for q in (X[17] + 0.01, RNG.normal(size=48).astype(np.float32)):
        got = index.search(q, k)
        rows, scores = brute(X, q, metric, k)
        assert set(got.rows) == set(rows)
        expected = -scores if metric == "l2" else scores
        np.testing.assert_allclose(got.scores, expected, rtol=2e-4, atol=2e-4)
        assert got.scores[0] == (got.scores.min() if metric == "l2" else got.scores.max())


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_filter_is_applied_inside_the_scan(metric):
    allowed = RNG.random(len(X)) < 0.03  # a rare category: a post-filter of top-k would miss it
    index = ExactIndex(X, metric)
    q = X[5]
    got = index.search(q, 20, allowed=allowed)
    rows, _ = brute(X, q, metric, 20, allowed)
    assert set(got.rows) == set(rows) and allowed[got.rows].all()


def test_zero_rows_have_no_cosine_and_bad_queries_are_refused():
    x = X[:100].copy()
    x[3] = 0
    index = ExactIndex(x, "cosine")
    assert 3 not in index.search(x[4], 99).rows
    assert 3 in ExactIndex(x, "l2").search(np.zeros(48, np.float32), 1).rows
    for bad, msg in [(np.zeros(48), "zero vector"), (np.full(48, np.nan), "NaN"),
                     (np.ones(5), "5 values")]:
        with pytest.raises(InputError, match=msg):
            index.search(bad, 5)
    with pytest.raises(InputError, match="k must be"):
        index.search(x[0], 0)


# --- compact (int8 scan + exact re-rank) and approximate indexes ----------------------


def clustered(n, d, seed=0, clusters=30, norm_sigma=0.5):
    """Anisotropic Gaussian clusters: per-dimension scale decays, row norms vary (lognormal)."""
    rng = np.random.default_rng(seed)
    scale = 1.0 / (1.0 + np.arange(d)) ** 0.7
    centres = rng.normal(size=(clusters, d)) * scale * 3
    x = centres[rng.integers(0, clusters, n)] + rng.normal(size=(n, d)) * scale
    return (x * rng.lognormal(0.0, norm_sigma, size=(n, 1))).astype(np.float32)


CLUSTERED = clustered(20000, 64)


def assert_true_scores(got, x, q, metric, rtol=2e-5):
    """The reported scores are the rows' true ones (L2 compared as squared distances, whose
    float32 error is relative to |q|^2 + |x|^2: that is how the scan computes them)."""
    x64, q64 = x[got.rows].astype(np.float64), np.asarray(q, dtype=np.float64)
    if metric == "l2":
        true_sq = ((x64 - q64) ** 2).sum(axis=1)
        scale = float((q64 ** 2).sum() + (x64 ** 2).sum(axis=1).max(initial=0))
        np.testing.assert_allclose(got.scores.astype(np.float64) ** 2, true_sq,
                                   atol=rtol * max(1.0, scale), rtol=0)
    else:
        s = x64 @ q64
        if metric == "cosine":
            s = s / np.linalg.norm(x64, axis=1) / np.linalg.norm(q64)
        np.testing.assert_allclose(got.scores, s, rtol=0,
                                   atol=rtol * max(1.0, float(np.abs(s).max(initial=0))))


def assert_exact_topk(got, x, q, metric, k, allowed=None, rtol=2e-5):
    """`got` (Neighbours) is the true top-k of brute force: same scores, same rows up to ties."""
    s = true_scores(x, q, metric)
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    usable = np.flatnonzero(np.isfinite(s))
    expect = usable[np.argsort(-s[usable], kind="stable")[:k]]
    rows = np.asarray(got.rows)
    assert len(rows) == len(expect) == min(k, len(usable))
    assert len(set(rows.tolist())) == len(rows), "a row is listed twice"
    assert np.isfinite(s[rows]).all(), "a returned row is filtered out or has no score"
    tol = rtol * max(1.0, float(np.abs(s[usable]).max()))
    assert_true_scores(got, x, q, metric, rtol)
    assert np.all(np.diff(s[rows]) <= tol), "not best first"
    np.testing.assert_allclose(np.sort(s[rows]), np.sort(s[expect]), atol=tol, rtol=0)
    kth = s[expect[-1]]
    for r in set(rows.tolist()) ^ set(expect.tolist()):  # only ties at the k-th may swap
        assert abs(s[r] - kth) <= tol, f"row {r} differs from brute force beyond a tie"


@pytest.fixture(scope="module")
def compact_indexes():
    cache = {}

    def get(name, metric):
        if (name, metric) not in cache:
            cache[name, metric] = CompactIndex.build({"clustered": CLUSTERED, "isotropic": X}[name],
                                                     metric)
        return cache[name, metric]
    return get


@pytest.mark.parametrize("data", ["clustered", "isotropic"])
@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
@pytest.mark.parametrize("k", [1, 10, 100])
@pytest.mark.parametrize("rare_filter", [False, True])
def test_compact_equals_brute_force(compact_indexes, data, metric, k, rare_filter):
    x = {"clustered": CLUSTERED, "isotropic": X}[data]
    index = compact_indexes(data, metric)
    rng = np.random.default_rng(k)
    allowed = rng.random(len(x)) < 0.03 if rare_filter else None
    verified = []
    for row in rng.choice(len(x), size=3, replace=False):
        for q in (x[row], x[row] + rng.normal(size=x.shape[1]).astype(np.float32) * 0.05):
            got = index.search(q, k, allowed=allowed)
            assert got.exact
            assert_exact_topk(got, x, q, metric, k, allowed)
            verified.append(index.last_verified)
    assert set(verified) <= {"bound", "statistical", "fallback"}
    if data == "clustered":  # well-separated neighbours: the error bound proves most answers
        assert verified.count("bound") >= 0.8 * len(verified), verified


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_compact_fallback_on_ties_is_still_exact(metric):
    """6000 identical rows tie with the query: no bound separates them, the float32 scan answers."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(12000, 32)).astype(np.float32)
    dup = rng.normal(size=32).astype(np.float32) * 3  # long, so it wins for dot and l2 too
    x[::2] = dup
    index = CompactIndex.build(x, metric)
    for k in (1, 10, 100):
        got = index.search(dup, k)
        assert index.last_verified == "fallback"
        assert_exact_topk(got, x, dup, metric, k)
        assert np.all(got.rows % 2 == 0)  # all ties: the duplicates, lowest rows first
        np.testing.assert_array_equal(got.rows, np.arange(0, 2 * k, 2))


def test_compact_zero_rows_and_memory_map(tmp_path):
    x = CLUSTERED[:5000].copy()
    x[10:20] = 0
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    index = CompactIndex.build(mapped, "cosine")
    got = index.search(x[3], 100)
    assert not np.isin(np.arange(10, 20), got.rows).any()
    assert_exact_topk(got, x, x[3], "cosine", 100)
    index = CompactIndex.build(mapped, "l2")
    got = index.search(np.zeros(64, np.float32), 10)  # the zero rows are the nearest in L2
    assert set(got.rows.tolist()) == set(range(10, 20))


APPROX_X = clustered(6000, 32, seed=3)


@pytest.fixture(scope="module")
def approx_indexes():
    cache = {}

    def get(kind, metric):
        if (kind, metric) not in cache:
            cache[kind, metric] = ApproxIndex.build(APPROX_X, metric, kind)
        return cache[kind, metric]
    return get


def _queries(x, count=60, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(x), size=count, replace=False)
    return x[rows] + rng.normal(size=(count, x.shape[1])).astype(np.float32) * 0.02


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_approx_recall_and_true_scores(approx_indexes, kind, metric):
    index = approx_indexes(kind, metric)
    hits = 0
    queries = _queries(APPROX_X)
    for q in queries:
        got = index.search(q, 10)
        assert got.exact is False and len(got.rows) == 10
        s = true_scores(APPROX_X, q, metric)
        truth = np.argsort(-s, kind="stable")[:10]
        hits += len(set(got.rows.tolist()) & set(truth.tolist()))
        assert_true_scores(got, APPROX_X, q, metric)  # re-ranked on the float32 rows
        assert np.all(np.diff(s[got.rows]) <= 1e-6 * np.abs(s).max())  # best first
    recall = hits / (10 * len(queries))
    assert recall >= 0.9, f"{kind}/{metric} recall@10 {recall:.3f}"


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_approx_filter_is_respected(approx_indexes, kind, metric):
    index = approx_indexes(kind, metric)
    rng = np.random.default_rng(5)
    half = rng.random(len(APPROX_X)) < 0.5  # common: the graph answers, with a selector
    rare = rng.random(len(APPROX_X)) < 0.1  # rare: the exact masked scan answers
    hits = 0
    queries = _queries(APPROX_X, 40, seed=1)
    for q in queries:
        got = index.search(q, 10, allowed=half)
        assert len(got.rows) == 10 and half[got.rows].all(), "a filtered-out row was returned"
        s = np.where(half, true_scores(APPROX_X, q, metric), -np.inf)
        hits += len(set(got.rows.tolist()) & set(np.argsort(-s)[:10].tolist()))
        got = index.search(q, 10, allowed=rare)
        assert got.exact is True  # the exact scan answered
        assert_exact_topk(got, APPROX_X, q, metric, 10, rare)
    assert hits / (10 * len(queries)) >= 0.9


def test_approx_filter_bitmap_outlives_the_faiss_search(approx_indexes, monkeypatch):
    """faiss.IDSelectorBitmap(n, swig_ptr(bits)) keeps a raw pointer: `bits` must stay alive."""
    index = approx_indexes("hnsw", "l2")
    made = []
    real = np.packbits

    def tracked(*args, **kwargs):
        out = real(*args, **kwargs)
        made.append(weakref.ref(out))
        return out

    class Probe:
        def __getattr__(self, name):
            return getattr(inner, name)

        def search(self, *args, **kwargs):
            alive.append(all(ref() is not None for ref in made))
            return inner.search(*args, **kwargs)

    inner, alive = index.faiss_index, []
    monkeypatch.setattr(np, "packbits", tracked)
    monkeypatch.setattr(index, "faiss_index", Probe())
    allowed = np.random.default_rng(0).random(len(APPROX_X)) < 0.5
    got = index.search(APPROX_X[0], 10, allowed=allowed)
    assert made and alive == [True], "the filter bitmap was freed before faiss read it"
    assert allowed[got.rows].all()


def test_approx_saves_loads_and_refuses_bad_kind(approx_indexes, tmp_path):
    index = approx_indexes("hnsw", "cosine")
    index.save(str(tmp_path / "g.faiss"))
    back = ApproxIndex.load(APPROX_X, "cosine", tmp_path / "g.faiss", "hnsw", index.norms)
    for row in (11, 12):
        np.testing.assert_array_equal(back.search(APPROX_X[row], 10).rows,
                                      index.search(APPROX_X[row], 10).rows)
    with pytest.raises(InputError, match="unknown approximate index kind"):
        ApproxIndex.build(APPROX_X[:100], "cosine", "lsh")
    with pytest.raises(InputError, match="unknown metric"):
        ApproxIndex.build(APPROX_X[:100], "hamming", "hnsw")


def test_l2_distance_of_an_identical_row_is_zero(approx_indexes):
    """|q|^2 - (2 x.q - |x|^2) cancels in float32: a row queried with itself is reported up to
    ~7e-4 |q| away (a third of the rows here). The k distances reported should be computed as
    |x - q| on the returned rows (cheap), as numpy brute force does."""
    indexes = (ExactIndex(APPROX_X, "l2"), CompactIndex.build(APPROX_X, "l2"),
               approx_indexes("hnsw", "l2"))
    worst = {}
    for index in indexes:
        name = type(index).__name__
        for row in range(0, len(APPROX_X), 120):
            q = APPROX_X[row]
            got = index.search(q, 1)
            assert got.rows[0] == row
            worst[name] = max(worst.get(name, 0.0), float(got.scores[0] / np.linalg.norm(q)))
    assert max(worst.values()) <= 1e-5, f"self-distance / |q| per index: {worst}"
