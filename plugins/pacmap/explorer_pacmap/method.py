"""PaCMAP on the rows (a sample of them above AUTO_SAMPLE; the rest placed by their neighbours)."""

from __future__ import annotations

import contextlib
import io
import logging

import numpy as np
import pacmap

from explorer.plugins.api import ProjectionParams, TaskState, fit_sample, parallel_lock

# ~40 s for 20,000 rows on two cores; above, fit on a sample of this size and place the rest
AUTO_SAMPLE = 20_000


def fit(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
        ) -> tuple[np.ndarray, dict]:
    """Embedding Explorer's projection call: (coords (n, dims), info)."""
    def run(x: np.ndarray, sub: TaskState) -> np.ndarray:
        sub.check()
        logging.getLogger("pacmap").setLevel(logging.ERROR)  # small-set notices, not errors
        # pacmap prints a note about random_state on stdout, which `--json` output owns;
        # its numba kernels run on every core, one parallel launch at a time in this process
        with contextlib.redirect_stdout(io.StringIO()), parallel_lock:
            reducer = pacmap.PaCMAP(n_components=params.dims,
                                    n_neighbors=max(1, min(params.n_neighbors, len(x) - 1)),
                                    random_state=params.seed, verbose=False)
            coords = reducer.fit_transform(x, init="pca")
        sub.progress(1)
        return coords

    coords, info = fit_sample(vectors, params, state, run, auto_sample=AUTO_SAMPLE,
                              label="PaCMAP")
    return coords, {**info, "pacmap": pacmap.__version__}
