"""Map fidelity: trustworthiness/continuity equal scikit-learn's; kNN overlap equals brute force."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

from explorer.compute import fidelity
from explorer.compute.fidelity import knn_overlap, sample_rows, trustworthiness_continuity


def _data(n=2500, d=24, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, d)) * 3
    high = (centres[rng.integers(0, 6, n)] + rng.normal(size=(n, d))).astype(np.float32)
    low = (high @ rng.normal(size=(d, 2))).astype(np.float32)   # a lossy 2-D map
    return high, low


def _normalise(x):
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_trustworthiness_and_continuity_equal_sklearn_on_the_sample(metric):
    high, low = _data()
    high[7] = 0.0  # a zero row must not break cosine
    got = trustworthiness_continuity(high, low, k=10, sample=800, metric=metric, seed=3)
    rows = sample_rows(len(high), 800, seed=3)
    assert got["sample_size"] == 800 and got["k"] == 10
    h, lo = high[rows].astype(np.float64), low[rows].astype(np.float64)
    want_t = trustworthiness(h, lo, n_neighbors=10, metric=metric)
    second = _normalise(h) if metric == "cosine" else h
    want_c = trustworthiness(lo, second, n_neighbors=10, metric="euclidean")
    assert np.isclose(got["trustworthiness"], want_t, rtol=0, atol=1e-9)
    assert np.isclose(got["continuity"], want_c, rtol=0, atol=1e-9)
    assert 0.5 < got["trustworthiness"] < 1.0 and 0.5 < got["continuity"] < 1.0


def test_continuity_is_trustworthiness_with_spaces_swapped():
    high, low = _data(n=600)
    a = trustworthiness_continuity(high, low, k=7, sample=None, metric="euclidean")
    b = trustworthiness_continuity(low, high, k=7, sample=None, metric="euclidean")
    assert np.isclose(a["trustworthiness"], b["continuity"], atol=1e-12)
    assert np.isclose(a["continuity"], b["trustworthiness"], atol=1e-12)


def test_perfect_map_scores_one():
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(500, 2)).astype(np.float32)
    f = trustworthiness_continuity(xy, xy, k=10, metric="euclidean")
    assert f["trustworthiness"] == pytest.approx(1.0) and f["continuity"] == pytest.approx(1.0)
    assert np.allclose(knn_overlap(xy, xy, k=10, metric="euclidean"), 1.0)


def test_tiny_sets_lower_k():
    xy = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
    f = trustworthiness_continuity(xy, xy[:, :2], k=10, metric="euclidean")
    assert f["k"] == 4 and 0 <= f["trustworthiness"] <= 1


def _brute_overlap(high, low, k, rows, metric):
    hi = _normalise(high) if metric == "cosine" else high.astype(np.float64)
    nn_h = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(hi)
    nn_l = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(low.astype(np.float64))
    out = []
    for r in rows:
        ih = [j for j in nn_h.kneighbors(hi[r:r + 1], return_distance=False)[0] if j != r][:k]
        il = [j for j in nn_l.kneighbors(low[r:r + 1].astype(np.float64),
                                          return_distance=False)[0] if j != r][:k]
        out.append(len(set(ih) & set(il)) / k)
    return np.array(out)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_overlap_equals_brute_force(metric):
    high, low = _data(n=1200)
    got = knn_overlap(high, low, k=10, metric=metric)          # n <= max_rows: every point
    assert got.shape == (1200,) and got.dtype == np.float32
    want = _brute_overlap(high, low, 10, range(1200), metric)
    assert np.allclose(got, want, rtol=0, atol=1e-6)
    assert 0.0 < got.mean() < 1.0


def test_knn_overlap_given_rows_streams_the_base_in_chunks(monkeypatch, tmp_path):
    high, low = _data(n=3000)
    path = tmp_path / "high.npy"
    np.save(path, high)
    mm = np.load(path, mmap_mode="r")
    monkeypatch.setattr(fidelity, "chunk_rows", lambda d, itemsize=4: 257)  # many partial merges
    rows = np.array([0, 5, 17, 999, 2998, 2999])
    got = knn_overlap(mm, low, k=8, rows=rows, metric="cosine")
    assert got.shape == (6,)
    assert np.allclose(got, _brute_overlap(high, low, 8, rows, "cosine"), atol=1e-6)


def test_knn_overlap_samples_large_sets_and_marks_the_rest_nan():
    high, low = _data(n=3000)
    got = knn_overlap(high, low, k=10, metric="euclidean", max_rows=300, seed=2)
    assert got.shape == (3000,)
    done = np.flatnonzero(~np.isnan(got))
    assert done.size == 300
    np.testing.assert_array_equal(done, sample_rows(3000, 300, seed=2))
    assert np.allclose(got[done], _brute_overlap(high, low, 10, done, "euclidean"), atol=1e-6)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError):
        trustworthiness_continuity(np.zeros((10, 3)), np.zeros((9, 2)))
    with pytest.raises(ValueError):
        knn_overlap(np.zeros((10, 3)), np.zeros((9, 2)))
    with pytest.raises(ValueError):
        knn_overlap(np.zeros((10, 3)), np.zeros((10, 2)), metric="hamming")


def test_default_overlap_rows_shrinks_with_size():
    assert fidelity.default_overlap_rows(1500) == 1500
    assert fidelity.default_overlap_rows(20_000) == 20_000
    assert fidelity.default_overlap_rows(100_000) == 4000
    assert fidelity.default_overlap_rows(10_000_000) == 1000
