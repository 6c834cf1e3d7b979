"""Every row's kNN graph, kept with a library set so whoever built it is not the last to use it.

A UMAP map of a big set joins every row's nearest neighbours (projection/knn_graph.py); hubness
needs the same graph. Building it costs tens of seconds at 1M rows, reading it back well under
one, so the map hands its graph here and hubness (or a later map) loads it. A graph holds for
the vectors it was built on (the set's signature), for its metric, and for the algorithm that
made it (GRAPH_VERSION: bump it when a change to knn_graph alters graphs).

Two artefacts per metric, `<metric>-ind` and `<metric>-dist`, tied by a token written in both
metas: a crash between the two saves leaves a pair that `load_graph` does not report. The graph
is 8 bytes per row and neighbour (128 MB at 1M rows and k = 16); the library's storage view
counts it under its kind, KIND.
"""

from __future__ import annotations

import uuid

import numpy as np

from explorer.compute.neighbours import vectors_signature
from explorer.compute.projection.knn_graph import KnnGraph
from explorer.compute.vectors import LAYOUT_METRICS
from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet

KIND = "knn_graph"
# 2: graphs joined through the pivot tree (nearest pivots over int8 codes), not an HNSW of
# the pivots: recall@10 at 1M 0.961 against 0.856, so a graph kept from before is joined again
GRAPH_VERSION = 2
MADE_BY = ("map", "hubness")  # who saved a graph: UMAP's fit, or hubness's own join


def _keys(metric: str) -> tuple[str, str]:
    if metric not in LAYOUT_METRICS:
        raise ValueError(f"a stored graph's metric is one of {LAYOUT_METRICS}, got {metric!r}")
    return f"{metric}-ind", f"{metric}-dist"


def stored(es: EmbeddingSet, metric: str) -> dict | None:
    """What the set's stored graph for `metric` is (k, method, made_by, recall), from its
    record alone; None when no graph holds for these vectors and this GRAPH_VERSION."""
    if es.path is None:
        return None
    meta = ArtifactStore(es.path).meta(KIND, _keys(metric)[0])
    if not meta or meta.get("version") != GRAPH_VERSION or \
            meta.get("signature") != vectors_signature(es):
        return None
    return meta


def save_graph(es: EmbeddingSet, graph: KnnGraph, made_by: str = "map") -> bool:
    """Keep `graph` with the set (True when saved).

    Not saved: a set outside the library, a metric without a stored graph ("dot"), a graph
    of another row count, or one with fewer neighbours than the graph already stored (more
    columns answer every smaller k). A full or read-only disk only costs a rebuild later.
    """
    if es.path is None or graph.metric not in LAYOUT_METRICS or made_by not in MADE_BY:
        return False
    n = es.count
    if graph.ind.shape != (n, graph.k) or graph.dist.shape != (n, graph.k):
        return False
    old = stored(es, graph.metric)
    if old is not None and int(old.get("k", 0)) > graph.k:
        return False
    store = ArtifactStore(es.path)
    ind_key, dist_key = _keys(graph.metric)
    meta = {"signature": vectors_signature(es), "version": GRAPH_VERSION, "k": int(graph.k),
            "method": graph.method, "made_by": made_by, "token": uuid.uuid4().hex,
            "recall": None if graph.recall is None else float(graph.recall)}
    try:
        store.delete(KIND, ind_key)  # no moment where a new dist pairs with the old ind
        store.save(KIND, dist_key, np.asarray(graph.dist, dtype=np.float32), meta)
        store.save(KIND, ind_key, np.asarray(graph.ind, dtype=np.int32), meta)
    except (OSError, ValueError):
        return False
    return True


def load_graph(es: EmbeddingSet, metric: str, min_k: int) -> KnnGraph | None:
    """The stored graph for `metric` with at least `min_k` columns (itself first); None when
    there is none for these vectors and this version. Arrays: read-only memory maps."""
    meta = stored(es, metric)
    if meta is None or int(meta.get("k", 0)) < min_k:
        return None
    store = ArtifactStore(es.path)
    ind_key, dist_key = _keys(metric)
    ind = store.load(KIND, ind_key)
    dist = store.load(KIND, dist_key)
    if ind is None or dist is None:
        return None
    (ind, meta), (dist, dist_meta) = ind, dist
    k = int(meta["k"])
    if dist_meta.get("token") != meta.get("token") or \
            ind.shape != (es.count, k) or dist.shape != ind.shape or ind.dtype != np.int32:
        return None
    return KnnGraph(ind, dist, metric, str(meta.get("method", "")), k, recall=meta.get("recall"))


__all__ = ["GRAPH_VERSION", "KIND", "MADE_BY", "load_graph", "save_graph", "stored"]
