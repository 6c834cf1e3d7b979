"""Exact search equals numpy brute force for every metric, with and without a filter."""

import numpy as np
import pytest

from explorer.compute.index import ExactIndex
from explorer.core.errors import InputError

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
