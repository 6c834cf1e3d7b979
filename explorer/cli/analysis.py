"""Subcommands that compute over a set: project, neighbours, index, hubness, compress, concept."""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli.command import (Command, add_engine_arguments, add_json, add_set_path,
                                  check_engine, open_set, progress)
from explorer.core.embedding_set import METRICS, EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

INDEX_KINDS = ("auto", "flat", "compact", "hnsw", "ivf", "ivfpq")


def add_metric(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", choices=METRICS,
                        help="default: the set's metric")


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    from explorer import plugins

    add_set_path(parser)
    parser.add_argument("--method", choices=plugins.registry().names("projection"),
                        default="pca")
    parser.add_argument("--dims", type=int, choices=(2, 3), default=2)
    parser.add_argument("--sample", type=int, metavar="N",
                        help="fit on N rows and place the rest (default: automatic for large "
                             "sets)")
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                        help="UMAP of over 200,000 rows: layout epochs on every row, from "
                             "the spectral start of every row's graph (the default; with "
                             "--sample, from that sample's layout); --no-refine fits a sample "
                             "and only places the other rows by their nearest fitted ones "
                             "(about twice as fast, less faithful)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write coordinates to Parquet")
    add_json(parser)


def run_project(args: argparse.Namespace) -> dict:
    from explorer.compute.projection import ProjectionParams, run_projection
    from explorer.core.export import check_table_path

    if args.out is not None:
        check_table_path(args.out)  # before the projection, not after it
    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.2))
    try:
        params = ProjectionParams(method=args.method, dims=args.dims, sample=args.sample,
                                  metric=es.metric, refine=args.refine)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return run_projection(es, params, out=args.out, state=state.sub(0.2, 1))


def add_neighbours_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_path(parser)
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--row", type=int, metavar="I", help="query with row I (0-based)")
    query.add_argument("--id", metavar="ID", help="query with the item whose id is ID")
    query.add_argument("--text", metavar="T", help="query with a text (needs the set's model)")
    query.add_argument("--vector-file", type=Path, metavar="F",
                       help="query with a vector: .npy, or numbers separated by spaces/commas")
    query.add_argument("--expr", metavar="EXPR",
                       help="vector arithmetic over items, e.g. 'king - man + woman' or "
                            "'#3 - #7'")
    parser.add_argument("-k", type=int, default=10, help="how many neighbours (1-1000)")
    parser.add_argument("--metric", choices=(*METRICS, "all"),
                        help="default: the set's metric; 'all' compares the three")
    parser.add_argument("--where", metavar="EXPR", help="SQL filter over the metadata, applied "
                                                        "inside the search")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--exact", action="store_true", help="exact search (the default for "
                                                          "sets up to ~4M x 384)")
    how.add_argument("--approx", action="store_true", help="approximate search (HNSW / IVF)")
    how.add_argument("--kind", choices=INDEX_KINDS, help="a given index (see the `index` command)")
    parser.add_argument("--include-query", action="store_true",
                        help="keep the query's own item(s) in the results")
    add_json(parser)


def read_vector(path: Path, dim: int):
    """A query vector from .npy or a text file of numbers (spaces, commas or newlines)."""
    import numpy as np

    try:
        if path.suffix == ".npy":
            vector = np.load(path, allow_pickle=False)
        else:
            text = path.read_text(encoding="utf-8").replace(",", " ").replace("[", " ")
            vector = np.array([float(v) for v in text.replace("]", " ").split()])
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read a vector: {exc}", path=path) from None
    return query_vector(vector, dim, path)


def query_vector(values, dim: int, path: Path | None = None):
    """`values` as a float32 query vector of the set's dimension (`path`: where they were read)."""
    import numpy as np

    try:
        vector = np.asarray(values, dtype=np.float32).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot read a vector: {exc}", path=path) from None
    if vector.size != dim:
        raise InputError(f"the vector has {vector.size} values; the set's vectors have {dim}",
                         path=path)
    return vector


def run_neighbours(args: argparse.Namespace) -> dict:
    from explorer.compute import neighbours as nb

    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.2))
    if args.row is not None:
        query = nb.row_query(es, args.row)
    elif args.id is not None:
        query = nb.id_query(es, args.id)
    elif args.expr is not None:
        query = nb.arithmetic_query(es, args.expr, None if args.metric == "all" else args.metric)
    elif args.vector_file is not None:
        query = nb.vector_query(read_vector(args.vector_file, es.dim),
                                label=str(args.vector_file))
    else:
        query = nb.text_query(es, args.text)
    exclude = not args.include_query
    if args.metric == "all":
        return nb.compare_metrics(es, query, args.k, args.where, exclude,
                                  state.sub(0.2, 1)).to_dict(es)
    kind = nb.resolve_kind(es, args.kind or "auto",
                           True if args.exact else False if args.approx else None)
    result = nb.search(es, query, args.k, args.metric, args.where, kind, exclude,
                       state.sub(0.2, 1))
    return {"set": es.library_id, **result.to_dict(es)}


def print_neighbours(result: dict) -> None:
    """One ranked list, or with `--metric all` the three lists and how far they agree."""
    if "neighbours" in result:
        print(f"{result['query']['label']}  ({result['metric']}, k={result['k']}, "
              f"{'exact' if result['exact'] else 'approximate'}, "
              f"{result['seconds'] * 1000:.1f} ms)")
        for rank, item in enumerate(result["neighbours"], 1):
            print(f"{rank:>4}  {item['score']:>10.4f}  #{item['row']:<8} {named(item)}")
        return
    print(result["explanation"])
    print("overlap: " + ", ".join(f"{k} {v:.0%}" for k, v in result["overlap"].items()))
    for metric, items in result["lists"].items():
        print(f"{metric}: " + ", ".join(i["label"] for i in items))


def named(item: dict) -> str:
    """An item's label, and its id beside it only when that says something more."""
    label, item_id = item["label"], item["id"]
    if item_id is None or str(item_id) == label or item_id == item["row"]:  # the row is shown
        return label
    return f"{label}  (id {item_id})"


def add_index_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_path(parser)
    parser.add_argument("--kind", choices=INDEX_KINDS, default="auto",
                        help="ivfpq: IVF-PQ, the smallest index (d/8 bytes a row), built only "
                             "when asked for")
    add_metric(parser)
    add_engine_arguments(parser, "where an IVF-PQ index adds its rows: here, or in parallel Ray "
                                 "tasks (the cluster extra)",
                         "with --engine ray: Ray tasks run at once (default: every CPU)")
    add_json(parser)


def run_index(args: argparse.Namespace) -> dict:
    from explorer.compute import neighbours as nb

    builder = _index_builder(args)
    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.2))
    index, info = nb.open_index(es, args.metric, args.kind, state.sub(0.2, 1), builder=builder)
    report = getattr(index, "report", None)
    built = report is not None and not info.reused
    return {"set": es.library_id, "chosen_for": "auto" if args.kind == "auto" else "request",
            **info.to_dict(), "engine": report.engine if built else args.engine,
            "workers": report.workers if built else None,
            "build_split": {"train": report.train_seconds, "add": report.add_seconds,
                            "merge": report.merge_seconds, "ranges": report.ranges}
            if built else None}


def _index_builder(args: argparse.Namespace):
    """How an approximate index is built: here, or on Ray (checked before the set is opened)."""
    from explorer.compute.index import ApproxIndex

    check_engine(args)
    if args.engine == "local":
        return ApproxIndex.build
    if args.kind != "ivfpq":
        raise InputError(f"--engine ray builds IVF-PQ indexes; add --kind ivfpq "
                         f"(not {args.kind})")
    from explorer.compute.cluster.index_ray import ray_builder

    return ray_builder(args.ray_address, args.workers)


def add_hubness_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_path(parser)
    parser.add_argument("-k", type=int, default=10)
    add_metric(parser)
    parser.add_argument("--exact", action="store_true",
                        help="search every item's neighbours exactly, even where a map's "
                             "neighbour graph is kept or the set is large (hours at 1M items)")
    add_json(parser)


def run_hubness(args: argparse.Namespace) -> dict:
    from explorer.compute.hubness import k_occurrence
    from explorer.compute.neighbours import item_id

    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.2))
    result = k_occurrence(es, args.k, args.metric, state.sub(0.2, 1), exact=args.exact).to_dict()
    for hub in result["hubs"]:
        hub["id"] = item_id(es, hub["row"])
    return {"set": es.library_id, **result}


def add_compress_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_path(parser)
    parser.add_argument("--methods", metavar="LIST",
                        help="comma-separated, e.g. fp16,sq8,sq4,pq16,pq48,opq48,binary,"
                             "binary-rerank100,trunc96,pca96,pca96-sq8 (default: a sweep sized "
                             "for the set's dimension)")
    parser.add_argument("-k", type=int, default=10, help="neighbours compared per query")
    parser.add_argument("--queries", type=int, default=1000, metavar="N",
                        help="query rows sampled from the set (default 1000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the query sample and training")
    add_metric(parser)
    add_json(parser)


def run_compress(args: argparse.Namespace) -> dict:
    from explorer.compute.compression import evaluate

    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.1))
    result = evaluate(es, args.methods, k=args.k, queries=args.queries, metric=args.metric,
                      seed=args.seed, state=state.sub(0.1, 1))
    return {"set": es.library_id, **result.to_dict()}


def print_compress(result: dict) -> None:
    print(f"{result['queries']} queries, k={result['k']}, {result['metric']}; exact float32 "
          f"search {result['exact_ms_per_query']:.3f} ms/query, "
          f"{result['float32_bytes_per_vector']} bytes/vector")
    print(f"{'method':<20} {'bytes':>6} {'recall@k':>9} {'overlap':>8} {'w/ ties':>8} "
          f"{'train s':>8} {'ms/query':>9}")
    tied = 0
    for m in result["methods"]:
        tied = max(tied, m.get("queries_with_ties", 0))
        print(f"{m['name']:<20} {m['bytes_per_vector']:>6} {m['recall_at_k']:>9.3f} "
              f"{m['overlap']:>8.3f} {m['overlap_with_ties']:>8.3f} {m['train_seconds']:>8.2f} "
              f"{m['search_ms_per_query']:>9.3f}")
    if tied:
        print(f"w/ ties: an item swapped for one tied with the k-th neighbour counts as kept "
              f"({tied} of {result['queries']} queries have such ties)")


def add_concept_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a file or a library set")
    parser.add_argument("--texts-a", nargs="+", metavar="T", help="pole A as texts (the set's "
                                                                   "model encodes them)")
    parser.add_argument("--texts-b", nargs="+", metavar="T", help="pole B as texts")
    parser.add_argument("--where-a", metavar="EXPR",
                        help="pole A as a SQL filter over the metadata")
    parser.add_argument("--where-b", metavar="EXPR", help="pole B as a SQL filter")
    parser.add_argument("--rows-a", nargs="+", type=int, metavar="I",
                        help="pole A as row numbers")
    parser.add_argument("--rows-b", nargs="+", type=int, metavar="I",
                        help="pole B as row numbers")
    parser.add_argument("--rest", action="store_true",
                        help="pole A is every item not in pole B (--rows-b or --where-b): what "
                             "sets that group apart, as the app's 'Compare with the rest'")
    parser.add_argument("--probe", action="store_true",
                        help="fit a logistic-regression probe between the groups instead of "
                             "taking the difference of their means")
    parser.add_argument("--against", metavar="COLUMN",
                        help="a numeric column to correlate the scores with (Spearman)")
    parser.add_argument("--check-a", metavar="EXPR",
                        help="with --check-b: labelled groups (SQL filters) to measure the "
                             "held-out accuracy of a direction made otherwise, e.g. from texts")
    parser.add_argument("--check-b", metavar="EXPR")
    parser.add_argument("--name", help="the direction's name (default: from its poles)")
    parser.add_argument("--label-a", metavar="L",
                        help="a short name for pole A (default: from it)")
    parser.add_argument("--label-b", metavar="L", help="a short name for pole B")
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="items listed at each end")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the direction as JSON")
    parser.add_argument("--save", action="store_true", help="keep the direction with the set "
                                                            "(the app lists it)")
    add_json(parser)


def run_concept(args: argparse.Namespace) -> dict:
    check_concept_output(args.top, args.out)
    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.2))
    return concept_report(es, texts_a=args.texts_a, texts_b=args.texts_b, where_a=args.where_a,
                          where_b=args.where_b, rows_a=args.rows_a, rows_b=args.rows_b,
                          rest=args.rest, probe=args.probe, against=args.against,
                          check_a=args.check_a, check_b=args.check_b, name=args.name,
                          label_a=args.label_a, label_b=args.label_b, top=args.top,
                          out=args.out, save=args.save, state=state.sub(0.2, 1))


def check_concept_output(top: int, out: Path | None) -> None:
    """Refuse what `concept_report` would only refuse after its work."""
    from explorer.core.atomic import output_target

    if top < 0:
        raise InputError(f"--top must be 0 or more, got {top}")
    if out is not None:
        output_target(out)  # a folder is refused before the work, not after it


def concept_report(es: EmbeddingSet, *, texts_a=None, texts_b=None, where_a: str | None = None,
                   where_b: str | None = None, rows_a=None, rows_b=None, rest: bool = False,
                   probe: bool = False, against: str | None = None,
                   check_a: str | None = None, check_b: str | None = None,
                   name: str | None = None, label_a: str | None = None,
                   label_b: str | None = None, top: int = 10, out: Path | None = None,
                   save: bool = False, state: TaskState | None = None) -> dict:
    """What `concept` prints as JSON (the Python API's `Set.concept` too): the direction
    between the poles given, validated, with the items at each end; written to `out` and kept
    with the set (`save`) when asked. Call `check_concept_output` first."""
    from explorer.compute import concepts as cc

    state = state or TaskState()
    direction = cc.define(es, texts_a=texts_a, texts_b=texts_b, where_a=where_a,
                          where_b=where_b, rows_a=rows_a, rows_b=rows_b, probe=probe,
                          name=name, rest=rest)
    direction.label_a = label_a or direction.label_a
    direction.label_b = label_b or direction.label_b
    if (check_a is None) != (check_b is None):
        raise InputError("--check-a and --check-b go together: one filter for each pole")
    check = {} if check_a is None else {"rows_a": cc.where_rows(es, check_a),
                                        "rows_b": cc.where_rows(es, check_b)}
    direction.validity = cc.validate(es, direction, against=against,
                                     state=state.sub(0, 0.9), **check)
    result = {"set": es.library_id, **cc.describe(es, direction, top=top), "out": None,
              "saved": False}
    if out is not None:
        result["out"] = str(cc.export_json([direction], out))
    if save:
        cc.DirectionStore(es).save(direction)
        result["saved"] = True
    return result


def print_concept(result: dict) -> None:
    print(f"{result['label_a']} -> {result['label_b']} ({result['method']})")
    pole = (result["validity"] or {}).get("pole_accuracy")
    if pole is not None:
        print(f"pole texts on their own side: {pole:.0%}")
    if result["heldout_accuracy"] is not None:
        print(f"held-out accuracy {result['heldout_accuracy']:.3f}")
    if result["spearman"] is not None:
        print(f"Spearman with {result['against']}: {result['spearman']:.3f}")
    for warning in result["warnings"]:
        print(f"warning: {warning}")
    for end in ("top_a", "top_b"):
        print(f"{result['label_a' if end == 'top_a' else 'label_b']} end: "
              + ", ".join(f"{i['label']} ({i['score']:.3f})" for i in result[end]))


PROJECT = Command("project", "2-D/3-D map of a set (cached in the library)",
                  add_project_arguments, run_project)
NEIGHBOURS = Command("neighbours", "nearest neighbours of an item, a text or a vector",
                     add_neighbours_arguments, run_neighbours, print_neighbours)
INDEX = Command("index", "build (or reuse) a set's neighbour index", add_index_arguments,
                run_index)
HUBNESS = Command("hubness", "k-occurrence: how often items are others' neighbours",
                  add_hubness_arguments, run_hubness)
COMPRESS = Command("compress", "what each compression (fp16, int8, PQ, binary, truncation, "
                               "PCA ...) does to the set's neighbours",
                   add_compress_arguments, run_compress, print_compress)
CONCEPT = Command("concept", "a concept direction between two poles: its validity and the "
                             "items at each end",
                  add_concept_arguments, run_concept, print_concept)
