"""The words for comparing vectors, defined once for explorer.compute.

Two vocabularies, not to be confused:

* METRICS ("cosine", "dot", "l2"): how a set's rows are compared, in neighbour search,
  hubness, concepts and compression. A set's metric is checked where the set is made
  (explorer.core.embedding_set, which compute may import and core may not the other way),
  so it is defined there and named here.
* LAYOUT_METRICS ("cosine", "euclidean"): how rows are compared when laid out on a map or
  when a map's fidelity is measured; "dot" and "l2" sets are laid out as "euclidean"
  (`layout_metric`).
"""

from __future__ import annotations

import numpy as np

from explorer.core.embedding_set import METRICS
from explorer.core.errors import InputError

LAYOUT_METRICS = ("cosine", "euclidean")
LAYOUT_METRIC_ALIASES = {"cosine": "cosine", "euclidean": "euclidean", "l2": "euclidean",
                         "dot": "euclidean"}


def check_metric(metric: str) -> None:
    """An InputError (the user chose it) unless `metric` is one of METRICS."""
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")


def layout_metric(metric: str) -> str:
    """The layout metric of a set's or a caller's metric (a ValueError if there is none)."""
    try:
        return LAYOUT_METRIC_ALIASES[metric]
    except KeyError:
        raise ValueError(f"unknown metric {metric!r}; expected one of "
                         f"{sorted(LAYOUT_METRIC_ALIASES)}") from None


def unit(x: np.ndarray) -> np.ndarray:
    """Rows (or one vector) scaled to length 1, in x's dtype; zero rows stay zero."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


__all__ = ["LAYOUT_METRICS", "LAYOUT_METRIC_ALIASES", "METRICS", "check_metric", "layout_metric",
           "unit"]
