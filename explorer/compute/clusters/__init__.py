"""Clusters of a 2-D map, coarse to fine, each named by what sets its items apart.

The finest level is HDBSCAN's own choice on the map (fast-hdbscan); the coarser ones group
those clusters (Ward's linkage of their places on the map and, at half weight, of their mean
directions in the original space), so every fine cluster lies inside one cluster of each
coarser level, and a row in no fine cluster is in none on any level. Clusters are named by
class-based TF-IDF terms of the set's text column, or by the commonest value of a column of
categories, and each has a place for its label: a member in its densest part. A map of
more than `SAMPLE_ABOVE` (200k) points is clustered and named on a fixed draw of 200k of
them, and every other point takes the cluster of its nearest drawn point on the map
(`ClusterMap.info["sampled"]` then says how many were drawn); smaller maps are clustered whole.

Use the package, not its modules: `from explorer.compute import clusters as cl`.

    cl.cached_cluster_map(es, projection, cl.ClusterParams(), state) -> cl.ClusterMap
        the job the map panel runs; cached with the map (artefact kind "clusters")
    cl.cluster_map(es, coords, params, state)   the same for any (n, 2) coordinates, uncached
    ClusterMap.levels[i].clusters -> Cluster(id, label, terms, count, x, y, level, parent)
    ClusterMap.column(level) -> each row's cluster id (-1: none), to colour by cluster
    ClusterMap.rows(level, id) -> the rows a click on a label selects
    ClusterMap.level_columns() -> {"level_0": ids, ...} to export beside the coordinates;
        cl.write_levels(result, path) writes them with `row` (Parquet, CSV, TSV)
    cl.label_candidates(result, coords) -> cl.Candidates   every level's labels, by priority
    cl.place_labels(candidates, widths, heights, view, size) -> cl.Placement   the labels
        to show for one view, never overlapping (cheap: called on every pan and zoom)
    cl.warm_up()   loads (or compiles, once per machine) fast-hdbscan's kernels: the app's
        warm-up thread should call it

The modules: `model` (the dataclasses), `tree` (the condensed tree, the levels, the label
places), `naming` (terms and categories), `run` (the job and its cache), `placement` (which
labels show at a zoom, and where on the screen), `quality` (the measures a good labelling
meets: term coverage and the most any naming could reach, tightness against random groups).
"""

from explorer.compute.clusters.model import (
    TOP_TERMS,
    VERSION,
    Cluster,
    ClusterLevel,
    ClusterMap,
    ClusterParams,
)
from explorer.compute.clusters.placement import (
    Candidates,
    Placement,
    label_candidates,
    place_labels,
)
from explorer.compute.clusters.quality import (
    Tightness,
    coverage_ceiling,
    mean_cosine,
    term_coverage,
    tightness,
)
from explorer.compute.clusters.run import (
    KIND,
    SAMPLE_ABOVE,
    auto_min_cluster_size,
    cached_cluster_map,
    cluster_map,
    level_targets,
    write_levels,
)
from explorer.compute.clusters.tree import warm_up

__all__ = [
    "KIND",
    "SAMPLE_ABOVE",
    "TOP_TERMS",
    "VERSION",
    "Candidates",
    "Cluster",
    "ClusterLevel",
    "ClusterMap",
    "ClusterParams",
    "Placement",
    "Tightness",
    "auto_min_cluster_size",
    "cached_cluster_map",
    "cluster_map",
    "coverage_ceiling",
    "label_candidates",
    "level_targets",
    "mean_cosine",
    "place_labels",
    "term_coverage",
    "tightness",
    "warm_up",
    "write_levels",
]
