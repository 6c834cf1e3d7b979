"""The clusters of a 2-D map: HDBSCAN's condensed tree, its clusters, groups of them, label places.

Why fast-hdbscan and not scikit-learn's HDBSCAN: on a 2-D map scikit-learn builds its
spanning tree with Prim's algorithm over all pairs (12.5 s on the 63k Debian map, 34.2 s
at 100k on a busy two-core machine), fast-hdbscan with a k-d tree and Borůvka (0.79 s and
1.18 s on one thread), and the clusters are the same (adjusted Rand index 0.99 at both
sizes, scikit-learn's min_samples one higher: it counts the point itself;
`tests/benchmarks/bench_labels.py` measures both).

Only the condensed tree and the core distances come from the library: the finest level is
chosen from the tree here (excess of mass, the same choice as the library's labels), the
coarser levels group those clusters in the plane (`group_levels`), and each cluster's
label place is found from the core distances (`anchors`).

fast-hdbscan compiles its numba kernels when it is imported and when first called (about 25 s
and 10 s on a busy two-core machine with an empty cache; 1.5 s and 0.04 s once numba's cache
in the app's folder holds them). So it is imported on first use, not with this package:
the map panel may import the package's dataclasses anywhere, and `warm_up` (from the app's
warm-up thread) or the first labels job pays the compile. Its parallel Borůvka breaks ties
between equal edges in whatever order its threads meet them, so two runs on the same map
gave different clusters; on one thread the result is the same every time and, at 100k
points, no slower (1.8-2.3 s against 2.4-2.8 s on a busy two-core machine). Calls hold
`parallel_lock` through `one_launch` (numba aborts on two parallel launches at once).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.compute.numba import configure, one_launch, readiness

MIN_SAMPLES = 5  # neighbours behind each point's core distance: local density, not smoothing
MODE_SAMPLE = 384  # members a label's place is chosen among (0.2 s for 300 clusters)
MODE_SHARE = 0.25  # a label's place has the most members within this share of their spread
MODE_TIE = 0.9  # ... or nearly the most: then the one in the densest spot
MEANING_WEIGHT = 0.5  # of a cluster's direction against its place when grouping (see there)
_import_lock = threading.Lock()


def engine() -> Any:
    """The fast_hdbscan module, imported (and its eager kernels compiled or loaded) once."""
    if "fast_hdbscan" not in sys.modules:  # importing compiles: not in the GUI process
        readiness.wait_for_worker()        # while the first launch's worker does it
    with _import_lock:
        if not _cache_writable():  # fast-hdbscan's own switch: numba may find no folder
            # to cache in, and then refuses to import it; compiled in memory instead
            os.environ.setdefault("FAST_HDBSCAN_NUMBA_CACHE", "0")
        import fast_hdbscan

        return fast_hdbscan


def _cache_writable() -> bool:
    """Whether numba may write its cache where `configure` points it (else compile in memory)."""
    folder = configure()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class CondensedTree:
    """HDBSCAN's condensed tree with the per-point facts the levels and anchors need.

    Nodes are numbered 0..nodes-1 (0 is the root, parents before children). `parent`,
    `birth` (lambda at which the node split off) and `size` are per node; `point_node` is
    the node each point falls out of and `point_lambda` when; `core` each point's core
    distance (small where the map is dense).
    """

    parent: np.ndarray        # int64 (nodes,), -1 for the root
    birth: np.ndarray         # float64 (nodes,)
    size: np.ndarray          # int64 (nodes,)
    point_node: np.ndarray    # int64 (n,)
    point_lambda: np.ndarray  # float64 (n,)
    core: np.ndarray          # float64 (n,)

    @property
    def nodes(self) -> int:
        return int(self.parent.size)

    def children(self) -> list[list[int]]:
        kids: list[list[int]] = [[] for _ in range(self.nodes)]
        for node in range(1, self.nodes):
            kids[int(self.parent[node])].append(node)
        return kids


def condensed_tree(coords: np.ndarray, min_cluster_size: int,
                   min_samples: int = MIN_SAMPLES) -> CondensedTree:
    """HDBSCAN's condensed tree of `coords` (n, 2) with clusters of at least `min_cluster_size`."""
    data = np.ascontiguousarray(coords, dtype=np.float64)
    n = data.shape[0]
    if n < 2:
        return CondensedTree(np.full(1, -1, np.int64), np.zeros(1), np.array([n], np.int64),
                             np.zeros(n, np.int64), np.zeros(n), np.zeros(n))
    hdbscan = engine()  # outside the lock: importing may compile for seconds
    with one_launch(threads=1):  # deterministic; as fast as two threads on a 2-D map
        out = hdbscan.fast_hdbscan(data, min_samples=int(min(min_samples, n - 1)),
                                        min_cluster_size=int(min_cluster_size),
                                        return_trees=True)
    tree, core = out[3], out[6]
    return from_rows(np.asarray(tree.parent), np.asarray(tree.child),
                     np.asarray(tree.lambda_val), np.asarray(tree.child_size), n,
                     np.asarray(core, dtype=np.float64))


def warm_up() -> float:
    """Compile (first launch) or load fast-hdbscan's kernels now, on a tiny map; seconds.

    For the app's warm-up thread, so the first labels a user asks for do not wait for
    numba (about 10-15 s to compile on two cores, well under a second to load).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    condensed_tree(np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 8]), 10)
    return time.perf_counter() - t0


def from_rows(parent: np.ndarray, child: np.ndarray, lam: np.ndarray, child_size: np.ndarray,
              n: int, core: np.ndarray) -> CondensedTree:
    """A CondensedTree from the rows HDBSCAN libraries return (nodes numbered from n)."""
    lam = np.asarray(lam, dtype=np.float64)
    finite = lam[np.isfinite(lam)]
    # duplicate points are at distance 0: lambda = inf; cap it so sums stay finite
    top = float(finite.max()) * 2 if finite.size else 1.0
    lam = np.where(np.isfinite(lam), lam, top)
    is_node = child >= n
    ids = np.concatenate([[n], child[is_node]]) if n else np.array([0])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]  # node numbers, ascending: a node's index here is its local number
    count = ids.size
    node_parent = np.full(count, -1, np.int64)
    birth = np.zeros(count)
    size = np.zeros(count, np.int64)
    size[0] = n
    j = np.searchsorted(ids, child[is_node])
    node_parent[j] = np.searchsorted(ids, parent[is_node])
    birth[j], size[j] = lam[is_node], child_size[is_node]
    point_node = np.zeros(n, np.int64)
    point_lambda = np.zeros(n)
    pts = ~is_node
    point_node[child[pts]] = np.searchsorted(ids, parent[pts])
    point_lambda[child[pts]] = lam[pts]
    if np.any(node_parent[1:] >= np.arange(1, count)):
        raise ValueError("condensed tree nodes are not numbered parents first")
    return CondensedTree(node_parent, birth, size, point_node, point_lambda, core)


def select(tree: CondensedTree) -> np.ndarray:
    """The nodes HDBSCAN's excess of mass picks (sorted; the root is never one).

    The same choice as fast-hdbscan's labels (tested), made here on the node numbers so the
    coarser levels can be found among their ancestors.
    """
    kids = tree.children()
    stability = np.bincount(tree.point_node, weights=tree.point_lambda,
                            minlength=tree.nodes).astype(np.float64)
    stability -= tree.size * tree.birth  # every member leaves at some lambda >= the birth
    for node in range(1, tree.nodes):
        stability[tree.parent[node]] += tree.size[node] * tree.birth[node]
    best = np.maximum(stability, 0.0)  # rounding can make a stability negative
    pick = np.ones(tree.nodes, bool)
    for node in range(tree.nodes - 1, 0, -1):  # children before parents
        under = sum(best[k] for k in kids[node])
        if kids[node] and under > best[node]:
            best[node], pick[node] = under, False
    chosen, todo = [], list(kids[0])
    while todo:
        node = todo.pop()
        if pick[node]:
            chosen.append(node)
        else:
            todo.extend(kids[node])
    return np.array(sorted(chosen), dtype=np.int64)


def members(tree: CondensedTree, chosen: np.ndarray) -> np.ndarray:
    """Per point, the index into `chosen` of the chosen node that holds it, or -1."""
    owner = np.full(tree.nodes, -1, np.int64)
    owner[chosen] = np.arange(chosen.size)
    for node in range(1, tree.nodes):  # parents first: inherit the nearest chosen ancestor
        if owner[node] < 0:
            owner[node] = owner[tree.parent[node]]
    return owner[tree.point_node]


def group_levels(coords: np.ndarray, fine: np.ndarray, count: int, targets: list[int],
                 meaning: np.ndarray | None = None) -> list[np.ndarray]:
    """Coarser levels as groups of the fine clusters: per target (coarse first), each fine
    cluster's group number.

    The density tree of a map's big central mass is a chain that peels small clusters off
    one at a time (one 91% "cluster" above 115 fine ones on 5,000 Debian packages), so the
    groups are found by Ward's linkage of the fine clusters instead, cut at each target.
    Cuts of one linkage nest, so every fine cluster lies in one group of each level and
    each level refines the one above it. A cluster is placed by its centroid on the map
    (scaled to the map's spread) and, when `meaning` is given (count, d: each cluster's
    mean unit vector), by that as well at MEANING_WEIGHT: groups stay regions of the map
    but are drawn along topics. With the weight at 0 / 0.5 / 1, the middle level's first
    terms held by 30% of their cluster's texts were 58 / 67 / 69% on 5,000 Debian
    descriptions, 51 / 63 / 59% on the demo and 63 / 69 / 68% on 63k Debian, the coarsest
    level's unchanged or worse at 1, regions as compact at 0.5.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    if count < 3:
        return [np.zeros(count, np.int64) for _ in targets]
    rows = fine >= 0
    sums = np.zeros((count, 2))
    np.add.at(sums, fine[rows], coords[rows])
    centroids = sums / np.maximum(np.bincount(fine[rows], minlength=count), 1)[:, None]
    spread = float(np.mean(np.percentile(centroids, 95, axis=0)
                           - np.percentile(centroids, 5, axis=0)))
    features = centroids / (spread if spread > 0 else 1.0)
    if meaning is not None:
        features = np.hstack([features, MEANING_WEIGHT * np.asarray(meaning, np.float64)])
    tree_ = linkage(features, method="ward")
    return [fcluster(tree_, t=int(t), criterion="maxclust").astype(np.int64) - 1
            for t in targets]


def anchors(coords: np.ndarray, core: np.ndarray, labels: np.ndarray,
            count: int) -> np.ndarray:
    """Where each cluster's label goes (count, 2): a member in its main mass.

    The member with (nearly: MODE_TIE) the most of the cluster within MODE_SHARE of its
    spread, counted on an even draw of at most MODE_SAMPLE members, and among those the one
    in the densest spot (smallest core distance). So the label sits on the points, even for
    a crescent whose centroid is empty, and on the bulk of a cluster made of several parts
    (a coarse one), not on a small knot of identical items that is densest but one pixel
    on the screen, nor on the empty edge between two parts.
    """
    out = np.zeros((count, 2), np.float32)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(count + 1))
    for k in range(count):
        rows = order[starts[k]:starts[k + 1]]
        if rows.size == 0:
            continue
        if rows.size > MODE_SAMPLE:  # an even draw, the same every time
            rows = rows[np.linspace(0, rows.size - 1, MODE_SAMPLE).astype(np.int64)]
        pts = np.asarray(coords[rows], dtype=np.float64)
        reach = MODE_SHARE * np.sqrt(((pts - pts.mean(axis=0)) ** 2).sum(axis=1).mean())
        sq = (pts ** 2).sum(axis=1)
        near = (sq[:, None] + sq[None, :] - 2 * pts @ pts.T <= reach ** 2).sum(axis=1)
        best = np.flatnonzero(near >= MODE_TIE * near.max())
        out[k] = pts[best[np.argmin(core[rows[best]])]]
    return out


__all__ = [
    "MEANING_WEIGHT",
    "MIN_SAMPLES",
    "MODE_SAMPLE",
    "MODE_SHARE",
    "CondensedTree",
    "anchors",
    "condensed_tree",
    "engine",
    "from_rows",
    "group_levels",
    "members",
    "select",
    "warm_up",
]
