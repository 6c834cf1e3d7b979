"""How a method's neighbour lists compare with the exact ones (per query, then averaged).

All take `exact` (nq, depth) and `approx` (nq, >= depth or shorter) row ids, best first,
-1 for missing entries.

  recall@j       the share of queries whose exact nearest neighbour is among the method's
                 first j results (the "recall@R" of product-quantisation papers)
  overlap@k      |exact top-k & method top-k| / k, per query (the k-NN set overlap)
  with ties      the same, a swap among items tied with the k-th neighbour's score
                 counted as kept (`compare_one`, `overlap_with_ties`)
  rank corr.     Spearman's rho between the exact ranks 1..k of the exact top-k and the
                 ranks the method gives them in its list (items it does not return share
                 the rank after its last); 0 when every item is missing
  distortion     mean |method score - exact score| over the exact top-k pairs (cosine,
                 dot product or L2 distance as the metric says), the method's score being
                 the one its codes give (before any re-ranking)

`compare_one` compares one query's two lists by exact score, so items tied with the
k-th neighbour (identical texts embed identically) are not called lost or brought in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Two exact scores closer than this (relative to max(1, |score|)) tie. Exact search ranks
# float32 dot products, whose rounding grows to ~1e-6 at a few hundred dimensions; a
# hundredfold that still separates any two neighbours a user could tell apart.
TIE_TOLERANCE = 1e-5


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


@dataclass(frozen=True)
class ListComparison:
    """One query's exact top-k against a method's, ties at the k-th score counted as kept.

    Exact search and a method may pick different items among those tied with the k-th
    neighbour; neither choice is better, so such a swap is no loss. `lost` and `gained`
    are the real differences; `tied_lost` / `tied_gained` the swaps among equals.
    """

    kept: int  # of the exact top k, swaps among ties included
    lost: list[int]  # exact top-k items the method misses (not made up by a tie)
    gained: list[int]  # items the method returns in their place
    tied_lost: list[int]  # exact top-k items tied with the k-th, another tied item returned
    tied_gained: list[int]  # the tied items returned instead
    ties: int  # items scoring the same as the k-th neighbour, it included (0: no k-th)
    ties_at_least: bool  # the exact list ended while still tied: there may be more
    kth_score: float


def ties_with(scores: np.ndarray, score: float) -> np.ndarray:
    """Which of `scores` tie with `score` (within TIE_TOLERANCE)."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.abs(scores - score) <= TIE_TOLERANCE * max(1.0, abs(float(score)))


def compare_one(exact: np.ndarray, exact_scores: np.ndarray, got: np.ndarray,
                got_scores: np.ndarray, k: int) -> ListComparison:
    """Compare one query's lists: `exact` (its exact list, best first, as deep as known, -1
    for none) and `got` (the method's top k), each with the items' exact scores."""
    exact, got = np.asarray(exact), np.asarray(got)
    exact_scores, got_scores = np.asarray(exact_scores, np.float64), np.asarray(got_scores,
                                                                               np.float64)
    known = exact >= 0
    exact, exact_scores = exact[known], exact_scores[known]
    valid = got >= 0
    got, got_scores = got[valid], got_scores[valid]
    top = exact[:k].tolist()
    if not top:
        return ListComparison(0, [], got.tolist(), [], [], 0, False, float("nan"))
    kth = float(exact_scores[min(k, len(exact)) - 1])
    got_set, top_set = set(got.tolist()), set(top)
    tied_exact = ties_with(exact_scores, kth)
    tied_got = ties_with(got_scores, kth)
    lost = [r for r in top if r not in got_set]
    gained = [r for r in got.tolist() if r not in top_set]
    lost_tied = [r for r, t in zip(exact[:k].tolist(), tied_exact[:k]) if t and r not in got_set]
    gained_tied = [r for r, t in zip(got.tolist(), tied_got) if t and r not in top_set]
    swaps = min(len(lost_tied), len(gained_tied))
    # the lowest-ranked tied items of each list are paired off: the order among equals is
    # arbitrary, so which ones hardly matters
    tied_lost, tied_gained = lost_tied[len(lost_tied) - swaps:], gained_tied[:swaps]
    lost = [r for r in lost if r not in tied_lost]
    gained = [r for r in gained if r not in tied_gained]
    ties = len(set(exact[tied_exact].tolist()) | set(got[tied_got].tolist()))
    return ListComparison(len(top) - len(lost), lost, gained, tied_lost, tied_gained, ties,
                           bool(len(exact) > k and tied_exact[-1]), kth)


def exact_scores(vectors: np.ndarray, query: int, rows: np.ndarray, metric: str) -> np.ndarray:
    """The metric's exact value (float64) between row `query` and each of `rows`."""
    rows = np.asarray(rows, dtype=np.int64)
    x = np.asarray(vectors[rows], dtype=np.float64)
    q = np.asarray(vectors[query], dtype=np.float64)
    if metric == "l2":
        return np.sqrt(((x - q) ** 2).sum(axis=1))
    s = x @ q
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1) * np.linalg.norm(q)
        s = np.divide(s, norms, out=np.zeros_like(s), where=norms > 0)
    return s


def overlap_with_ties(exact: np.ndarray, exact_scores: np.ndarray, got: np.ndarray,
                      got_scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per query, the share of its exact top k the method keeps, a swap among items tied
    with the k-th counted as kept (`compare_one`; `overlap` calls it a loss), and whether
    any other item ties with its k-th neighbour (which is when the two can differ).

    `exact` (nq, >= k) and `got` (nq, k) are row ids (-1: none), each with the items'
    exact scores. The exact list one past the k-th is enough: were the (k+1)-th not tied
    with the k-th, no later one would be."""
    kept = np.empty(len(exact), dtype=np.float64)
    tied = np.zeros(len(exact), dtype=bool)
    for i in range(len(exact)):
        c = compare_one(exact[i, :k + 1], exact_scores[i, :k + 1], got[i], got_scores[i], k)
        kept[i] = c.kept / k
        tied[i] = c.ties > 1
    return kept, tied
