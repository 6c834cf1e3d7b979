"""`labels`: the clusters of a set's map, coarse to fine, each named (explorer.compute.clusters).

The map is the one `project --method METHOD` makes (UMAP unless asked otherwise; a 2-D set
is its own map), computed and cached first when the set has none, as `project` would.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli.command import Command, add_json, add_set_path, open_set, progress
from explorer.core.errors import InputError

DEFAULT_MAP = "umap"


def add_labels_arguments(parser: argparse.ArgumentParser) -> None:
    from explorer import plugins

    add_set_path(parser)
    parser.add_argument("--map", choices=plugins.registry().names("projection"),
                        metavar="METHOD",
                        help=f"the map to cluster: {DEFAULT_MAP} unless given (a 2-D set: "
                             "identity); computed and cached first if the set has none")
    parser.add_argument("--column", metavar="COLUMN",
                        help="name clusters by this column: a text column by its distinguishing "
                             "words, a column of categories by its commonest value (default: "
                             "the set's text column)")
    parser.add_argument("--min-cluster-size", type=int, metavar="N",
                        help="the finest clusters' smallest size (default: 0.1%% of the items, "
                             "at least 10)")
    parser.add_argument("--levels", type=int, default=3, metavar="L",
                        help="levels wanted, coarse to fine (2-5; default 3; levels that would "
                             "repeat another are left out)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="write each row's cluster per level (row, level_0, level_1, ...; "
                             "-1: in no cluster) to Parquet")
    add_json(parser)


def run_labels(args: argparse.Namespace) -> dict:
    from explorer.compute.clusters import ClusterParams
    from explorer.compute.clusters.run import run_labels as label_map
    from explorer.compute.projection import ProjectionParams
    from explorer.core.export import check_table_path

    if args.out is not None:
        check_table_path(args.out)  # before the work, not after it
    params = ClusterParams(column=args.column, min_cluster_size=args.min_cluster_size,
                           levels=args.levels)
    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.1))
    method = args.map or ("identity" if es.dim == 2 else DEFAULT_MAP)
    try:
        map_params = ProjectionParams(method=method, dims=2, metric=es.metric)
    except ValueError as exc:
        raise InputError(str(exc), option="map") from None
    return label_map(es, map_params, params, out=args.out, state=state.sub(0.1, 1))


def print_labels(result: dict) -> None:
    cached = "cached" if result["cached"] else f"{result['seconds']:.2f} s"
    print(f"{result['count']:,} items, {result['method']} map; clusters {cached}, named by "
          f"{result['named_by'] or 'number'}")
    if result.get("sampled"):
        print(f"clustered and named on a fixed draw of {result['sampled']:,} items; every other "
              f"item is in its nearest drawn item's cluster")
    for level in result["levels"]:
        print(f"level {level['level']}: {len(level['clusters'])} clusters, "
              f"{level['noise_fraction']:.0%} of the items in no cluster")
        for c in level["clusters"]:
            up = "" if c["parent"] is None else f"  (in {c['parent']})"
            print(f"  {c['id']:>4}  {c['count']:>8,}  {c['label']}{up}")
    if result["out"]:
        print(f"levels written to {result['out']}")


LABELS = Command("labels", "clusters of a set's map, coarse to fine, named by their words",
                 add_labels_arguments, run_labels, print_labels)
