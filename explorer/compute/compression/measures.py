"""How a method's neighbour lists compare with the exact ones (per query, then averaged).

All take `exact` (nq, depth) and `approx` (nq, >= depth or shorter) row ids, best first,
-1 for missing entries.

  recall@j       the share of queries whose exact nearest neighbour is among the method's
                 first j results (the "recall@R" of product-quantisation papers)
  overlap@k      |exact top-k & method top-k| / k, per query (the k-NN set overlap)
  rank corr.     Spearman's rho between the exact ranks 1..k of the exact top-k and the
                 ranks the method gives them in its list (items it does not return share
                 the rank after its last); 0 when every item is missing
  distortion     mean |method score - exact score| over the exact top-k pairs (cosine,
                 dot product or L2 distance as the metric says), the method's score being
                 the one its codes give (before any re-ranking)
"""

from __future__ import annotations

import numpy as np


def recall_at(exact: np.ndarray, approx: np.ndarray, j: int) -> float:
    """Share of queries whose exact nearest neighbour is among the first j of `approx`."""
    nn = exact[:, 0]
    return float(np.mean((approx[:, :j] == nn[:, None]).any(axis=1)))


def overlap(exact: np.ndarray, approx: np.ndarray, k: int) -> np.ndarray:
    """|exact top-k & approx top-k| / k for each query."""
    out = np.empty(len(exact), dtype=np.float64)
    for i in range(len(exact)):
        a = approx[i, :k]
        out[i] = len(np.intersect1d(exact[i, :k], a[a >= 0])) / k
    return out


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_v = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    return ranks


def rank_correlation(exact: np.ndarray, approx: np.ndarray, k: int) -> np.ndarray:
    """Spearman's rho per query between exact ranks 1..k and the method's ranks of those items."""
    out = np.zeros(len(exact), dtype=np.float64)
    if k < 2:
        return out
    truth = np.arange(1, k + 1, dtype=np.float64)
    for i in range(len(exact)):
        lst = approx[i]
        where = {int(r): p for p, r in enumerate(lst) if r >= 0}
        missing = len(lst) + 1
        got = np.array([where.get(int(r), missing) for r in exact[i, :k]], dtype=np.float64)
        got = _average_ranks(got)
        if got.std() == 0:
            continue
        out[i] = float(np.corrcoef(truth, got)[0, 1])
    return out


def distortion(exact_scores: np.ndarray, approx_scores: np.ndarray | None) -> float | None:
    """Mean |approx - exact| over the pairs (None when the method has no comparable score)."""
    if approx_scores is None:
        return None
    return float(np.mean(np.abs(np.asarray(approx_scores, np.float64) - exact_scores)))
