"""Per item: how much two neighbour lists of the same item agree.

Both lists hold positions in the joined items (-1 where a list is short), best first.
Computed a batch of items at a time from the (items, k, k) table of which entries match,
so a million items take seconds and never an items x items array.
"""

from __future__ import annotations

import numpy as np

BATCH = 32_768  # items a step: a (BATCH, k, k) bool table, 3 MB at k = 10


def agreement(lists_a: np.ndarray, lists_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(overlap, rank correlation) per item, float32.

    overlap: |top-k in A & top-k in B| / k (missing entries never match).
    rank correlation: Spearman's rho between the shared neighbours' ranks in A's list and in
    B's list, each ranked 1..m among the m shared ones (no ties: a list names an item once),
    rho = 1 - 6 sum(d^2) / (m (m^2 - 1)); NaN where fewer than 2 neighbours are shared.
    """
    n, k = lists_a.shape
    overlap = np.empty(n, dtype=np.float32)
    rho = np.full(n, np.nan, dtype=np.float32)
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        a = lists_a[lo:hi]
        b = np.where(lists_b[lo:hi] >= 0, lists_b[lo:hi], -2)  # -1 in A never meets -2 in B
        same = a[:, :, None] == b[:, None, :]  # [item, place in A, place in B]
        in_a = same.any(axis=2)  # A's entries that B lists too, in A's order
        in_b = same.any(axis=1)
        m = in_a.sum(axis=1)
        overlap[lo:hi] = m / k
        rank_a = np.cumsum(in_a, axis=1)  # rank among the shared, at each shared entry
        rank_b_at = np.cumsum(in_b, axis=1)
        place_b = same.argmax(axis=2)  # where B lists each of A's shared entries
        rank_b = np.take_along_axis(rank_b_at, place_b, axis=1)
        d2 = np.where(in_a, (rank_a - rank_b) ** 2, 0).sum(axis=1)
        ok = m >= 2
        mm = m[ok].astype(np.float64)
        rho[lo:hi][ok] = 1.0 - 6.0 * d2[ok] / (mm * (mm * mm - 1.0))
    return overlap, rho


def histogram(overlap: np.ndarray, k: int) -> list[int]:
    """Items at each overlap 0/k, 1/k, ..., k/k: the distribution, ready to draw."""
    shared = np.rint(np.asarray(overlap, dtype=np.float64) * k).astype(np.int64)
    return np.bincount(shared, minlength=k + 1)[:k + 1].tolist()
