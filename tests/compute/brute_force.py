"""The reference every search test compares with: float64 scores of every row, by numpy."""

import numpy as np


def true_scores(x, q, metric):
    """float64 "higher is better" scores of every row (-inf where the metric has no answer)."""
    x64, q64 = np.asarray(x, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(x64, axis=1)
        s = (x64 @ q64) / np.where(norms > 0, norms, 1.0) / np.linalg.norm(q64)
        return np.where(norms > 0, s, -np.inf)
    if metric == "dot":
        return x64 @ q64
    return -np.linalg.norm(x64 - q64, axis=1)
