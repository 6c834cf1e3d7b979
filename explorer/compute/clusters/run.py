"""Clustering a map and naming its clusters, as a job; cached beside the map it belongs to.

`cluster_map` is the pure job (coordinates in, `ClusterMap` out); `cached_cluster_map` keeps
a library set's result under its artefacts (kind "clusters"), keyed by the map's key and the
parameters, and checks the map's coordinates against the checksum it was made from, so a
map computed again differently is clustered again, never labelled with old clusters.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from explorer.compute.clusters import naming, tree
from explorer.compute.clusters.model import (
    Cluster,
    ClusterLevel,
    ClusterMap,
    ClusterParams,
)
from explorer.core.checksum import Checksum
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

if TYPE_CHECKING:
    from explorer.compute.projection import Projection, ProjectionParams
    from explorer.core.embedding_set import EmbeddingSet

KIND = "clusters"
MAX_COARSE = 30  # clusters on the coarsest level at most: labels readable on a whole map
DIRECTION_SAMPLE = 256  # members per cluster whose vectors say what it is about
SAMPLE_ABOVE = 200_000  # a bigger map is clustered and named on this many of its points
# ... and named from the texts of a bigger draw (see cluster_map). The Debian set repeated to
# 1M rows (bench_labels --million --name-draws): the finest labels' first term is in 30% of
# their cluster's texts for 78.5 / 80.1 / 81.7% of them named from 200k / 500k / 1M texts,
# in 6.4 / 6.5 / 9.0 s for the whole labelling (today's whole path: 86%: the rest of the gap
# is clustering a draw, not naming from one)
NAME_SAMPLE = 1_000_000
SAMPLE_SEED = 0
SAMPLING_VERSION = 2  # in a big map's cache key: bump it when the draw or the spreading changes


def auto_min_cluster_size(count: int) -> int:
    """A tenth of a percent of the items, at least 10: 5,000 items -> 10, 100,000 -> 100.

    Small enough that a zoomed-in map still shows names, large enough that a name stands
    for a group rather than a handful (and the finest level has at most ~1,000 clusters).
    """
    return max(10, round(count / 1000))


def level_targets(fine: int, levels: int) -> list[int]:
    """Cluster counts wanted above the finest level: the coarsest about sqrt(fine) (2 to
    MAX_COARSE), the ones between spaced evenly on a log scale."""
    if fine < 2 or levels < 2:
        return []
    coarse = min(MAX_COARSE, max(2, round(math.sqrt(fine))))
    steps = levels - 1
    return [round(coarse * (fine / coarse) ** (i / steps)) for i in range(steps)]


def check_coords(coords: np.ndarray, count: int) -> np.ndarray:
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] != 2 or coords.shape[0] != count:
        raise InputError(f"clusters need a 2-D map of the set's {count:,} items, "
                         f"not coordinates of shape {coords.shape}",
                         hint="make a 2-D map first (`project --dims 2`)")
    if not np.isfinite(coords).all():
        raise InputError("the map has coordinates that are not finite numbers")
    return coords


def cluster_map(es: EmbeddingSet, coords: np.ndarray, params: ClusterParams | None = None,
                state: TaskState | None = None, *, sample: int | None = None,
                name_sample: int | None = None) -> ClusterMap:
    """Cluster the 2-D map `coords` of `es` into levels (coarse first) and name every cluster.

    A map of more than `sample` (None: SAMPLE_ABOVE) points is clustered and named on a
    fixed draw of that many of them, and every other point takes the cluster of its
    nearest drawn point on the map (`spread_to_all`): HDBSCAN and the word counts cost
    the most, and a fair draw of a fifth of a map finds its clusters (see there). Its
    clusters are named from the texts of a bigger draw, `name_sample` (None: NAME_SAMPLE)
    rows: a fine cluster of 1,000 points has ~200 drawn texts, too few to tell a word held
    by 30% of it from one held by 27%. Smaller maps are clustered whole, as they always were. A job: progress and cancel through
    `state`, between steps. User mistakes (a column that cannot name, coordinates that do
    not fit) are InputError.
    """
    state = state or TaskState()
    params = params or ClusterParams()
    t0 = time.perf_counter()
    coords = check_coords(coords, es.count)
    how, column = naming.naming_column(es, params.column)
    n = es.count
    size = int(params.min_cluster_size or auto_min_cluster_size(n))
    rows = sample_rows(n, SAMPLE_ABOVE if sample is None else sample)
    state.status(f"Finding clusters in the map of {n:,} items"
                 + (f" (on {rows.size:,} of them)" if rows.size < n else ""))
    state.progress(0.02)
    found = tree.condensed_tree(coords[rows], sample_size(size, rows.size, n))
    state.progress(0.35)
    state.check()
    fine = spread_to_all(coords, rows, tree.members(found, tree.select(found)))
    state.progress(0.4)
    state.check()
    count = int(fine.max()) + 1 if n and fine.max() >= 0 else 0
    state.status("Grouping the clusters into levels")
    of_fine = _levels(coords, fine, count, params.levels, directions(es.vectors, fine, count))
    state.progress(0.5)
    labels, renumber = [], []
    inside = fine >= 0
    for group in of_fine:
        sizes = np.bincount(group[fine[inside]], minlength=int(group.max()) + 1 if count else 0)
        new = np.empty(sizes.size, np.int64)
        new[np.argsort(-sizes, kind="stable")] = np.arange(sizes.size)  # biggest first
        lab = np.full(n, -1, np.int64)
        lab[inside] = new[group[fine[inside]]]
        labels.append(lab)
        renumber.append(new[group])  # fine cluster -> its cluster's id on this level
    state.status("Naming the clusters")
    name_rows = rows if rows.size == n else \
        sample_rows(n, max(rows.size, NAME_SAMPLE if name_sample is None else name_sample))
    names = _names(es, how, column, labels, name_rows, state.sub(0.5, 0.95))
    out_levels = []
    for lv, (lab, new) in enumerate(zip(labels, renumber)):
        count = int(new.max()) + 1 if new.size else 0
        places = tree.anchors(coords[rows], found.core, lab[rows], count)
        sizes = np.bincount(lab[lab >= 0], minlength=count)
        up = np.full(count, -1, np.int64)
        if lv > 0:
            up[new] = renumber[lv - 1]  # every fine cluster of a cluster has the same parent
        clusters = tuple(
            Cluster(k, names[lv][k][0], names[lv][k][1], int(sizes[k]),
                    float(places[k, 0]), float(places[k, 1]), lv,
                    None if lv == 0 else int(up[k]))
            for k in range(count))
        out_levels.append(ClusterLevel(lv, clusters, float(np.mean(lab < 0)) if n else 0.0))
    state.progress(1)
    assignments = np.stack(labels, axis=1).astype(np.int32) if labels else \
        np.zeros((n, 0), np.int32)
    named_by = f"{how}:{column}" if how else ""
    info = {"min_cluster_size": size, "min_samples": tree.MIN_SAMPLES}
    if rows.size < n:
        info["sampled"] = int(rows.size)
        info["named_from"] = int(name_rows.size)
    return ClusterMap(out_levels, assignments, named_by, seconds=time.perf_counter() - t0,
                      info=info)


def sample_rows(count: int, sample: int) -> np.ndarray:
    """The rows a map of `count` points is clustered and named on, ascending: all of them
    up to `sample`, else a fixed random draw of `sample` (the same every time)."""
    if count <= sample:
        return np.arange(count)
    return np.sort(np.random.default_rng(SAMPLE_SEED).choice(count, sample, replace=False))


def sample_size(min_cluster_size: int, drawn: int, count: int) -> int:
    """The smallest cluster among `drawn` of `count` points that stands for a cluster of
    `min_cluster_size` among all of them (at least 10: a handful of drawn points is noise)."""
    if drawn >= count:
        return min_cluster_size
    return max(10, round(min_cluster_size * drawn / count))


def spread_to_all(coords: np.ndarray, rows: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Every point's cluster from those of the drawn `rows`: the cluster of its nearest drawn
    point on the map (or none, when that one is in none). At 1M (`bench_labels.py
    --million`, 200k drawn) against whole: among the rows in a cluster both ways, adjusted
    Rand 0.987 on a synthetic map and 0.968 on the Debian map repeated; 94% and 86% of the
    rows agree on being in none (a cluster's fringe is where HDBSCAN itself wavers: leaving
    out a tenth of the 63k Debian map moves 8.5%); in none 11.8% -> 13.7%, 31.9% -> 32.2%.
    At 60k, a fifth drawn: 0.986, 94%, 9.3% -> 10.3% (`tests/compute/clusters`)."""
    n = coords.shape[0]
    if rows.size == n:
        return drawn
    from scipy.spatial import cKDTree

    out = np.empty(n, np.int64)
    out[rows] = drawn
    rest = np.ones(n, bool)
    rest[rows] = False
    _, nearest = cKDTree(np.asarray(coords[rows], np.float64)).query(
        np.asarray(coords[rest], np.float64), k=1, workers=2)
    out[rest] = drawn[nearest]
    return out


def directions(vectors: np.ndarray, fine: np.ndarray, count: int,
               per: int = DIRECTION_SAMPLE, seed: int = 0) -> np.ndarray:
    """Each cluster's mean direction in the original space (count, d), unit length, from at
    most `per` of its members (a fixed draw): what a cluster is about, read one cluster's
    draw at a time, so a memory-mapped set is never copied whole."""
    rng = np.random.default_rng(seed)
    order = np.argsort(fine, kind="stable")
    starts = np.searchsorted(fine[order], np.arange(count + 1))
    picked = [rng.choice(order[starts[k]:starts[k + 1]],
                         min(per, starts[k + 1] - starts[k]), replace=False)
              for k in range(count)]
    out = np.zeros((count, vectors.shape[1]))
    for k, rows in enumerate(picked):
        x = np.asarray(vectors[np.sort(rows)], dtype=np.float64)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        mean = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0).mean(axis=0)
        length = np.linalg.norm(mean)
        out[k] = mean / length if length > 0 else mean
    return out


def _levels(coords: np.ndarray, fine: np.ndarray, count: int, levels: int,
            meaning: np.ndarray | None = None) -> list[np.ndarray]:
    """Per level, coarse first, each fine cluster's cluster on that level (the last level
    is the fine clusters themselves). Levels that would repeat a finer one are left out."""
    groups = tree.group_levels(coords, fine, count, level_targets(count, levels), meaning)
    out, last = [], 1  # a level of one cluster says nothing
    for group in groups:
        k = np.unique(group).size
        if last < k < count:
            out.append(group)
            last = k
    return [*out, np.arange(count)]


def _names(es: EmbeddingSet, how: str, column: str | None, labels: list[np.ndarray],
           rows: np.ndarray, state: TaskState) -> list[list[tuple[str, tuple[str, ...]]]]:
    """(label, terms) per cluster per level. Terms come from the texts of `rows` (a draw of
    a big map's rows: a cluster's share of texts holding a word is the same in a fair
    draw, and counting words is the slowest step); categories are counted on every row."""
    counts = [int(lab.max()) + 1 if lab.size and lab.max() >= 0 else 0 for lab in labels]
    if how == "terms":
        values = es.metadata.column(column)
        texts = (values if rows.size == es.count else values.take(rows)).to_pylist()
        state.progress(0.1)
        words = naming.words_of(texts)
        state.progress(0.6)
        out = []
        for lab, count in zip(labels, counts):
            state.check()
            terms = naming.distinguishing_terms(words, lab[rows], count)
            out.append([(", ".join(t) if t else f"cluster {k}", t) for k, t in enumerate(terms)])
        return out
    if how == "category":
        cats = naming.categories_of(es, column)
        return [naming.dominant_categories(cats, lab, count) for lab, count in zip(labels, counts)]
    return [[(f"cluster {k}", ()) for k in range(count)] for count in counts]


def cache_key(map_key: str, params: ClusterParams, named_by: str = "", count: int = 0) -> str:
    """The artefact's key: the map's, then a digest of the parameters, of what names the
    clusters (`terms:description`: the set's text column, which `column=None` stands for)
    and, for a map of `count` > SAMPLE_ABOVE points, of how it is drawn from (so labels
    cached before a change of sampling are made again; smaller maps keep their key)."""
    blob = {"map": map_key, **params.key(), "named_by": named_by}
    if count > SAMPLE_ABOVE:
        blob["sampling"] = [SAMPLING_VERSION, SAMPLE_ABOVE, NAME_SAMPLE, SAMPLE_SEED]
    text = json.dumps(blob, sort_keys=True, separators=(",", ":"))
    return f"{map_key}-c{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def cached_cluster_map(es: EmbeddingSet, projection: Projection,
                       params: ClusterParams | None = None,
                       state: TaskState | None = None) -> ClusterMap:
    """`cluster_map` of a projection, kept with the set's artefacts: a second call loads it.

    What is stored is tied to the map's coordinates by their checksum: after the map is
    computed again (other coordinates under the same key) the clusters are made again.
    """
    from explorer.core.artifacts import ArtifactStore

    state = state or TaskState()
    params = params or ClusterParams()
    t0 = time.perf_counter()
    map_key = projection.params.key()
    coords = check_coords(projection.coords, es.count)
    if es.path is None:
        return replace(cluster_map(es, coords, params, state), map_key=map_key)
    store = ArtifactStore(es.path)
    how, column = naming.naming_column(es, params.column)  # an InputError before any work
    key = cache_key(map_key, params, f"{how}:{column}" if how else "", es.count)
    made_from = Checksum.of_array(np.ascontiguousarray(coords, dtype=np.float32)).to_dict()
    hit = store.load(KIND, key)
    if hit is not None:
        assignments, meta = hit
        try:
            if meta.get("coords") == made_from and assignments.shape[0] == es.count:
                found = ClusterMap.from_meta(meta["result"], assignments)
                state.progress(1)
                return replace(found, map_key=map_key, seconds=time.perf_counter() - t0,
                               info={**dict(meta.get("info") or {}), "cached": True})
        except (KeyError, ValueError, TypeError):
            pass  # not what this version writes: made again below
    result = cluster_map(es, coords, params, state)
    try:
        store.save(KIND, key, result.assignments,
                   {"map": map_key, "coords": made_from, "params": params.key(),
                    "result": result.to_dict(), "info": result.info})
    except (OSError, ValueError):
        pass  # a read-only or full disk costs a recomputation next time, nothing more
    return replace(result, map_key=map_key, info={**result.info, "cached": False})




def write_levels(result: ClusterMap, out: str | Path) -> Path:
    """Parquet (or CSV/TSV by the extension) with `row` and one int32 column per level,
    `level_0` (coarsest) ..., -1 where a row is in no cluster; written atomically."""
    import pyarrow as pa

    from explorer.core.export import write_table

    columns = {"row": pa.array(np.arange(result.assignments.shape[0], dtype=np.int64))}
    columns.update({name: pa.array(ids) for name, ids in result.level_columns().items()})
    return write_table(pa.table(columns), Path(out))


def run_labels(es: EmbeddingSet, map_params: ProjectionParams,
               params: ClusterParams | None = None, out: str | Path | None = None,
               state: TaskState | None = None) -> dict:
    """The CLI's `labels`: the map (made and cached first if need be, like `project`), its
    clusters (cached with it), the levels' file; `seconds` is the labels' time alone."""
    from explorer.compute.projection import cached_project

    state = state or TaskState()
    if map_params.dims != 2:
        raise InputError("clusters are found on 2-D maps", hint="leave --dims out")
    state.status(f"Opening or computing the {map_params.method} map")
    projection = cached_project(es, map_params, state.sub(0.0, 0.7))
    result = cached_cluster_map(es, projection, params, state.sub(0.7, 0.97))
    written = None
    if out is not None:
        state.status("Writing the levels")
        written = str(write_levels(result, out))
    state.progress(1)
    return {"method": map_params.method, "map_key": projection.params.key(),
            "map_cached": bool(projection.info.get("cached", False)),
            "map_seconds": round(projection.seconds, 3), "count": es.count,
            **result.to_dict(), "cached": bool(result.info.get("cached", False)),
            "min_cluster_size": result.info.get("min_cluster_size"),
            "sampled": result.info.get("sampled"),  # rows clustered and named, when a draw
            "seconds": round(result.seconds, 3), "out": written}


__all__ = ["KIND", "MAX_COARSE", "SAMPLE_ABOVE", "SAMPLING_VERSION", "auto_min_cluster_size",
           "cache_key", "cached_cluster_map", "check_coords", "cluster_map", "directions",
           "level_targets", "run_labels", "sample_rows", "sample_size", "spread_to_all",
           "write_levels"]
