"""Entanglement: whether saved directions measure the same thing.

Compared in the space (their cosine) and in the items' scores, since for cosine
sets the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.compute.concepts.direction import check_dim
from explorer.compute.concepts.groups import cap_rows
from explorer.compute.concepts.scoring import score_matrix
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

ENTANGLEMENT_SAMPLE = 20_000


@dataclass
class Entanglement:
    """How saved directions overlap: in the space, and in the scores they give the items.

    `cosine[i, j]`: the directions' cosine. `effect[i, j]`: how much an item's
    score on j changes when it moves along i so that its score on i rises by 1,
    averaged over items (equal to the cosine for raw projections; for cosine
    sets the normalisation adds a term per item). `spearman[i, j]`: the rank
    correlation of the items' scores.
    """

    names: list[str]
    cosine: np.ndarray
    effect: np.ndarray
    spearman: np.ndarray
    rows: int

    def to_dict(self) -> dict:
        return {"names": self.names, "cosine": self.cosine.tolist(),
                "effect": self.effect.tolist(), "spearman": self.spearman.tolist(),
                "rows": self.rows}


def entanglement(es: EmbeddingSet, directions, sample: int = ENTANGLEMENT_SAMPLE, seed: int = 0,
                 state: TaskState | None = None) -> Entanglement:
    directions = list(directions)
    if len(directions) < 2:
        raise InputError("entanglement needs at least two directions")
    for d in directions:
        check_dim(es, d)
    v = np.stack([d.vector for d in directions], axis=1).astype(np.float64)
    cos = v.T @ v
    rows = cap_rows(np.arange(es.count), max(1, sample), np.random.default_rng(seed))
    s = score_matrix(es, directions, rows, state=state).astype(np.float64)
    if es.metric == "cosine":
        k = len(directions)
        effect = np.eye(k)
        for i in range(k):
            den = 1.0 - s[:, i] ** 2
            ok = den > 1e-6
            for j in range(k):
                if i != j and ok.any():
                    effect[i, j] = float(np.mean((cos[i, j] - s[ok, i] * s[ok, j]) / den[ok]))
    else:
        effect = cos.copy()
    from scipy import stats  # imported here: 0.7 s, which the window's start would wait for
    ranks = stats.rankdata(s, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.corrcoef(ranks, rowvar=False) if len(s) >= 3 else np.full_like(cos, np.nan)
    return Entanglement([d.name for d in directions], cos, effect, rho, int(rows.size))
