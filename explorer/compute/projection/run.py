"""Making a map: any method through the registry, cached for library sets, or for the CLI.

`cached_project` keeps results of library sets as artefacts, keyed by
`ProjectionParams.key()`, which includes a version number per method: bump the method's
`version` in its declaration when a change alters results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer import plugins
from explorer.compute.projection.params import (
    Projection,
    ProjectionParams,
    method_entry,
)
from explorer.core.jobs import TaskState

if TYPE_CHECKING:
    from explorer.compute.projection.knn_graph import KnnGraph
    from explorer.core.embedding_set import EmbeddingSet

GRAPH_METHOD = "umap"  # the built-in whose fit hands its kNN graph to a sink


def project(vectors: np.ndarray, params: ProjectionParams, state: TaskState | None = None,
            *, _n_epochs: int | None = None, _parallel: bool | None = None,
            _graph_sink: Callable[[KnnGraph], None] | None = None) -> Projection:
    """Compute the map of `vectors` (n, d) described by `params`.

    `_graph_sink` receives the kNN graph of every row the built-in UMAP joined (other methods
    and plugins are never given it), so the library keeps it for hubness.
    """
    state = state or TaskState()
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D, got shape {vectors.shape}")
    n = vectors.shape[0]
    if n == 0:
        return Projection(np.zeros((0, params.dims), np.float32), params, 0.0, {"count": 0})
    t0 = time.perf_counter()
    entry = method_entry(params.method)
    hooks = {k: v for k, v in (("n_epochs", _n_epochs), ("parallel", _parallel)) if v is not None}
    if _graph_sink is not None and params.method == GRAPH_METHOD and entry.origin.builtin:
        hooks["graph_sink"] = _graph_sink
    result = entry.call(entry.spec.target, vectors, params, state, **hooks)
    coords, info = result if entry.origin.builtin else _checked(entry, result, n, params.dims)
    state.progress(1)
    info = {"count": int(n), **info}
    return Projection(coords, params, time.perf_counter() - t0, _jsonable(info))


def cached_project(es: EmbeddingSet, params: ProjectionParams,
                   state: TaskState | None = None) -> Projection:
    """`project` with results of library sets kept under the set's artefacts, and the kNN
    graph a UMAP joins kept too (knn_store), for hubness to count."""
    from explorer.compute import knn_store
    from explorer.core.artifacts import ArtifactStore

    state = state or TaskState()
    store = ArtifactStore(es.path) if es.path is not None else None
    key = params.key()
    if store is not None:
        hit = store.load("projection", key)
        if hit is not None:
            coords, meta = hit
            if coords.shape == (es.count, params.dims) and coords.dtype == np.float32:
                info = dict(meta.get("info") or {})
                info["cached"] = True
                state.progress(1)
                return Projection(coords, params, float(meta.get("seconds", 0.0)), info)

    def keep_graph(graph: KnnGraph) -> None:
        knn_store.save_graph(es, graph, made_by="map")

    result = project(es.vectors, params, state,
                     _graph_sink=keep_graph if store is not None else None)
    if store is not None:
        try:
            store.save("projection", key, result.coords,
                       {"params": asdict(params), "seconds": result.seconds,
                        "info": result.info})
        except (OSError, ValueError):
            pass  # a read-only or full disk costs a recomputation next time, nothing more
    result.info["cached"] = False
    return result


def run_projection(vectors_or_set, params: ProjectionParams, out: str | Path | None = None,
                   state: TaskState | None = None) -> dict:
    """The CLI's `project`: map, measure trustworthiness/continuity on a sample, write Parquet."""
    from explorer.compute.fidelity import trustworthiness_continuity
    from explorer.core.embedding_set import EmbeddingSet

    state = state or TaskState()
    if isinstance(vectors_or_set, EmbeddingSet):
        vectors = vectors_or_set.vectors
        result = cached_project(vectors_or_set, params, state.sub(0.0, 0.85))
    else:
        vectors = np.asarray(vectors_or_set) if not isinstance(vectors_or_set, np.ndarray) \
            else vectors_or_set
        result = project(vectors, params, state.sub(0.0, 0.85))
    state.status("Measuring trustworthiness")
    n = vectors.shape[0]
    # k=10 on a 2000-row sample (k is lowered for tiny sets; None when there are < 3 rows)
    fid = trustworthiness_continuity(vectors, result.coords, k=10, sample=2000,
                                     metric=params.metric, seed=params.seed)
    trust, cont = fid["trustworthiness"], fid["continuity"]
    written = None
    if out is not None:
        state.status("Writing coordinates")
        written = str(write_coords(result.coords, out))
    state.progress(1)
    return {"method": params.method, "count": int(n), "dims": params.dims,
            "seconds": round(result.seconds, 3), "trustworthiness": trust, "continuity": cont,
            "cached": bool(result.info.get("cached", False)), "out": written}


def write_coords(coords: np.ndarray, out: str | Path) -> Path:
    """Parquet (or CSV) with columns x, y[, z] (float32) and row (int64), written atomically."""
    import pyarrow as pa

    from explorer.core.export import write_table

    names = ["x", "y", "z"][: coords.shape[1]]
    table = pa.table({**{nm: pa.array(np.asarray(coords[:, i], dtype=np.float32))
                         for i, nm in enumerate(names)},
                      "row": pa.array(np.arange(coords.shape[0], dtype=np.int64))})
    return write_table(table, Path(out))


def _checked(entry: plugins.Entry, result: Any, n: int, dims: int) -> tuple[np.ndarray, dict]:
    """A plugin's result as the map needs it: finite float32 (n, dims) and a dict."""
    try:
        coords, info = result
        coords = np.ascontiguousarray(coords, dtype=np.float32)
    except (TypeError, ValueError):
        raise entry.fail(f"returned {type(result).__name__}, not (coordinates, info)") from None
    if coords.shape != (n, dims) or not isinstance(info, dict):
        raise entry.fail(f"returned coordinates of shape {coords.shape} and "
                         f"{type(info).__name__} info, expected ({n}, {dims}) and a dict")
    if not np.isfinite(coords).all():
        raise entry.fail("returned coordinates that are not all finite")
    return coords, info


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
