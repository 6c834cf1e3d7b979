"""The pieces of a comparison against their textbook forms: per-item agreement against
scipy's Spearman, CKA's feature-space form against the n x n Gram form, Procrustes against
scipy on the full matrices, and the exact search over a subset of rows against numpy."""

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from explorer.compute.compare import agreement, histogram
from explorer.compute.compare.alignment import (
    PairReader,
    item_residuals,
    linear_cka,
    moments,
    procrustes,
)
from explorer.compute.hubness import exact_knn
from explorer.compute.index import row_norms
from explorer.core.jobs import TaskState


def test_agreement_against_scipy_spearman():
    rng = np.random.default_rng(0)
    a = np.array([rng.permutation(40)[:8] for _ in range(300)])
    b = np.array([rng.permutation(40)[:8] for _ in range(300)])
    b[:5] = a[:5]  # the same lists
    b[5:10] = a[5:10, ::-1]  # the same items, the order reversed
    a[10, 6:] = -1  # short lists never match a short entry of the other
    b[10, 5:] = -1
    overlap, rho = agreement(a, b)
    for i in range(300):
        shared = [v for v in a[i] if v >= 0 and v in set(b[i][b[i] >= 0])]
        assert overlap[i] == pytest.approx(len(shared) / 8)
        if len(shared) < 2:
            assert np.isnan(rho[i])
        else:
            pos_b = [list(b[i]).index(v) for v in shared]
            expected = scipy.stats.spearmanr(np.arange(len(shared)), pos_b).statistic
            assert rho[i] == pytest.approx(expected, abs=1e-6)
    assert (overlap[:10] == 1).all() and (rho[:5] == 1).all() and (rho[5:10] == -1).all()
    assert histogram(overlap, 8) == np.bincount(np.rint(overlap * 8).astype(int),
                                                minlength=9).tolist()


def pair(x, y, unit=False):
    return PairReader(len(x), x, None, unit, y, None, unit)


def test_cka_equals_the_gram_form():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 20)).astype(np.float32)
    y = np.tanh(x @ rng.normal(size=(20, 12))).astype(np.float32) + 0.3 * rng.normal(
        size=(600, 12)).astype(np.float32) + 5.0
    xc, yc = x - x.mean(0), y - y.mean(0)
    gk, gl = xc @ xc.T, yc @ yc.T
    gram = np.sum(gk * gl) / np.sqrt(np.sum(gk * gk) * np.sum(gl * gl))
    m = moments(pair(x, y), TaskState())
    assert linear_cka(m) == pytest.approx(gram, rel=1e-6)
    assert 0.2 < gram < 0.95
    assert procrustes(m) is None  # 20 against 12 dimensions


def test_procrustes_equals_scipy_on_the_full_matrices():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(800, 16)) * np.linspace(3, 0.2, 16)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    y = 2.5 * x @ q + 2.0 * rng.normal(size=x.shape) + 1.0
    x, y = x.astype(np.float32), y.astype(np.float32)
    reader = pair(x, y)
    m = moments(reader, TaskState())
    fit = procrustes(m)
    a = x.astype(np.float64) - x.mean(0)
    b = y.astype(np.float64) - y.mean(0)
    a /= np.sqrt((a * a).sum(1).mean())
    b /= np.sqrt((b * b).sum(1).mean())
    r, _ = scipy.linalg.orthogonal_procrustes(a, b)
    np.testing.assert_allclose(fit.rotation, r, atol=1e-6)
    per_item = ((a @ r - b) ** 2).sum(1)
    assert fit.residual == pytest.approx(per_item.mean(), rel=1e-6)
    assert 0.01 < fit.residual < 0.5  # the noise, not the rotation
    np.testing.assert_allclose(item_residuals(reader, m, fit, None, TaskState()), per_item,
                               rtol=1e-4, atol=1e-7)
    some = np.array([3, 10, 799])
    np.testing.assert_allclose(item_residuals(reader, m, fit, some, TaskState()),
                               per_item[some], rtol=1e-4)


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_exact_knn_over_a_subset_of_rows(metric):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(900, 24)).astype(np.float32)
    x[17] = 0  # no cosine neighbours, nobody's cosine neighbour
    rows = np.sort(rng.choice(900, 600, replace=False))
    rows = np.union1d(rows, [17])
    queries = np.array([0, 5, int(np.searchsorted(rows, 17)), 400])
    got = exact_knn(x, 6, metric, row_norms(x), TaskState(), rows=rows, queries=queries)
    sub = x[rows].astype(np.float64)
    for i, q in enumerate(queries):
        if metric == "cosine":
            n = np.linalg.norm(sub, axis=1)
            s = sub @ sub[q] / np.where(n > 0, n, 1) / max(n[q], 1e-30)
            s[n == 0] = -np.inf
        elif metric == "dot":
            s = sub @ sub[q]
        else:
            s = -np.linalg.norm(sub - sub[q], axis=1)
        s[q] = -np.inf
        if metric == "cosine" and rows[q] == 17:
            assert (got[i] == -1).all()
        if metric != "l2" and rows[q] == 17:
            continue  # cosine: no neighbours; dot: every score 0, any order right
        assert got[i].tolist() == np.argsort(-s, kind="stable")[:6].tolist()
    whole = exact_knn(x, 6, metric, row_norms(x), TaskState())
    assert whole.shape == (900, 6)
