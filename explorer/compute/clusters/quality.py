"""Is a labelled map any good? The measures issue 17 asks of it, for tests and benchmarks.

Both are measured against the data, not the algorithm: a label's first word is looked for
in the cluster's own texts, and a cluster's tightness is taken in the original vector
space (the map may have torn or glued neighbourhoods), against random groups of the same
sizes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from explorer.compute.clusters.model import ClusterLevel
from explorer.compute.clusters.naming import TOKEN_PATTERN, membership, words_of

PAIRS_SAMPLE = 200  # members per cluster whose pairwise cosines are averaged


@dataclass(frozen=True)
class Tightness:
    clusters: float  # mean over clusters of the mean cosine between two members
    random: float    # the same for random groups of the same sizes
    groups: int

    @property
    def ratio(self) -> float:
        return self.clusters / self.random if self.random > 0 else float("inf")


def term_coverage(texts: list[str | None], labels: np.ndarray, level: ClusterLevel,
                  first_only: bool = True) -> list[float]:
    """Per cluster, the share of its texts that hold its first term as a word (0 without
    one); with `first_only` False, any of its terms: how much of the cluster its whole label
    speaks for (a coarse cluster's label often names its parts, one term each)."""
    word = re.compile(TOKEN_PATTERN)
    holds: list[set[str]] = [set(word.findall((t or "").lower())) for t in texts]
    out = []
    for cluster in level.clusters:
        rows = np.flatnonzero(labels == cluster.id)
        if not cluster.terms or rows.size == 0:
            out.append(0.0)
            continue
        terms = set(cluster.terms[:1] if first_only else cluster.terms)
        out.append(sum(bool(terms & holds[r]) for r in rows) / rows.size)
    return out


def coverage_ceiling(texts: list[str | None], labels: np.ndarray, count: int) -> np.ndarray:
    """Per cluster, the largest share of its texts that hold any one word a name may start
    with: what `term_coverage` reaches at best, so a level's coverage can be told apart from
    its naming (short texts in a big mixed cluster share no word, whatever the naming)."""
    words = words_of(texts)
    if count == 0 or words.vocabulary.size == 0:
        return np.zeros(count)
    member = membership(labels, count)
    sizes = np.maximum(np.asarray(member.sum(axis=1), dtype=np.float64).ravel(), 1.0)
    held = (member @ words.matrix).tocsr()
    return np.array([float(held[k].max()) / sizes[k] if held[k].nnz else 0.0
                     for k in range(count)])


def mean_cosine(vectors: np.ndarray, rows: np.ndarray) -> float:
    """Mean cosine between two different items of `rows` (zero rows count as 0)."""
    x = np.asarray(vectors[np.sort(rows)], dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    m = x.shape[0]
    if m < 2:
        return float("nan")
    total = x.sum(axis=0)
    return float((total @ total - (x * x).sum()) / (m * (m - 1)))


def tightness(vectors: np.ndarray, labels: np.ndarray, seed: int = 0) -> Tightness:
    """Mean within-cluster cosine against random groups of the same sizes (one draw each)."""
    rng = np.random.default_rng(seed)
    inside, chance = [], []
    everyone = np.arange(labels.size)
    for k in range(int(labels.max()) + 1 if labels.size else 0):
        rows = np.flatnonzero(labels == k)
        if rows.size < 2:
            continue
        take = min(rows.size, PAIRS_SAMPLE)
        inside.append(mean_cosine(vectors, rng.choice(rows, take, replace=False)))
        chance.append(mean_cosine(vectors, rng.choice(everyone, take, replace=False)))
    if not inside:
        return Tightness(float("nan"), float("nan"), 0)
    return Tightness(float(np.mean(inside)), float(np.mean(chance)), len(inside))


__all__ = ["PAIRS_SAMPLE", "Tightness", "coverage_ceiling", "mean_cosine", "term_coverage",
           "tightness"]
