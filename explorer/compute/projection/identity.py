"""The identity map: the first 2 or 3 columns, for sets that are already 2-D / 3-D."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from explorer.core.jobs import TaskState
from explorer.core.vector_checks import chunk_rows

if TYPE_CHECKING:
    from explorer.compute.projection.params import ProjectionParams


def fit(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
        ) -> tuple[np.ndarray, dict]:
    """The first `params.dims` columns as float32 (zeros where the set has fewer)."""
    n, d = vectors.shape
    dims = params.dims
    coords = np.zeros((n, dims), dtype=np.float32)
    take = min(d, dims)
    step = chunk_rows(d)
    for start in range(0, n, step):
        coords[start:start + step, :take] = vectors[start:start + step, :take]
        state.progress(min(n, start + step), n)
    return coords, {"columns": take}
