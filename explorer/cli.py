"""Headless subcommands over explorer.core / explorer.compute; `--json` prints one object.

A user mistake ends in one line `error: ...` on stderr and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from explorer import __version__, plugins
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.loaders import LoadOptions, open_file, supported_extensions

VIEWS = ("table", "library", "map", "neighbours", "compare", "hubness", "concepts",
         "concept-plane", "compression", "compression-query", "compression-map", "encode")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default prints the usage, then exits
        raise InputError(message, hint=f"`{self.prog} --help` shows the options")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="embedding-explorer",
                description="Open, keep and look at embedding sets. Without a subcommand the "
                            "desktop app starts (`embedding-explorer [FILE ...] [--demo]`).")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def load_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("path", help="an embedding file (" + " ".join(supported_extensions()) + ")")
        sp.add_argument("--vectors", metavar="COLUMN",
                        help="vector column, or a pattern such as 'dim_*' for one column per dimension")
        sp.add_argument("--metadata", metavar="FILE", type=Path,
                        help="metadata table joined by row order (CSV/TSV/Parquet/JSONL)")
        sp.add_argument("--dataset", metavar="NAME", help="HDF5 dataset or .npz array to read")
        sp.add_argument("--id-column", metavar="COLUMN", help="metadata column naming the items")
        sp.add_argument("--json", action="store_true", help="print one JSON object")

    sp = sub.add_parser("inspect", help="describe a file without importing it")
    load_opts(sp)

    sp = sub.add_parser("import", help="store a file in the library (an unchanged file "
                                       "imported the same way before is reused)")
    load_opts(sp)
    sp.add_argument("--name", help="name in the library, not taken by another set (default: "
                                   "the file name, made unique)")
    sp.add_argument("--metric", choices=("cosine", "dot", "l2"), help="the metric the vectors are for")
    sp.add_argument("--model", help="the model that made the vectors, if known")
    sp.add_argument("--drop-nonfinite", action="store_true", help="drop rows holding NaN/Inf")
    sp.add_argument("--drop-zero", action="store_true", help="drop all-zero rows")
    sp.add_argument("--new", action="store_true",
                    help="store another copy even if the same file is stored already")
    sp.add_argument("--replace", action="store_true",
                    help="replace the set holding the name (kept until the new one is complete)")

    sp = sub.add_parser("list", help="list the library's sets")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("remove", help="delete a set from the library")
    sp.add_argument("set", help="library id or name")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("rename", help="give a library set another name (not taken by another)")
    sp.add_argument("set", help="library id or name")
    sp.add_argument("name", help="the new name")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("du", help="the library's size: each set's vectors, metadata and "
                                   "artefacts, partial folders, encode work")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("gc", help="free what no set needs: partial folders of stopped imports, "
                                   "work of stopped encodings, stale or damaged artefacts")
    sp.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("filter", help="rows of a library set matching a SQL expression")
    sp.add_argument("set", help="library id or name")
    sp.add_argument("expression", help="e.g. \"section = 'games' and size > 10\"")
    sp.add_argument("--limit", type=int, default=100, help="rows to print (count is always exact)")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("search", help="rows of a library set whose text contains a string")
    sp.add_argument("set", help="library id or name")
    sp.add_argument("text")
    sp.add_argument("--limit", type=int, default=100)
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("project", help="2-D/3-D map of a set (cached in the library)")
    sp.add_argument("path", help="a file, a library id or name, or 'demo'")
    sp.add_argument("--method", choices=plugins.registry().names("projection"), default="pca")
    sp.add_argument("--dims", type=int, choices=(2, 3), default=2)
    sp.add_argument("--sample", type=int, metavar="N",
                    help="fit on N rows and place the rest (default: automatic for large sets)")
    sp.add_argument("--out", type=Path, metavar="FILE", help="write coordinates to Parquet")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("neighbours", help="nearest neighbours of an item, a text or a vector")
    sp.add_argument("path", help="a file, a library id or name, or 'demo'")
    query = sp.add_mutually_exclusive_group(required=True)
    query.add_argument("--row", type=int, metavar="I", help="query with row I (0-based)")
    query.add_argument("--id", metavar="ID", help="query with the item whose id is ID")
    query.add_argument("--text", metavar="T", help="query with a text (needs the set's model)")
    query.add_argument("--vector-file", type=Path, metavar="F",
                       help="query with a vector: .npy, or numbers separated by spaces/commas")
    query.add_argument("--expr", metavar="EXPR",
                       help="vector arithmetic over items, e.g. 'king - man + woman' or '#3 - #7'")
    sp.add_argument("-k", type=int, default=10, help="how many neighbours (1-1000)")
    sp.add_argument("--metric", choices=("cosine", "dot", "l2", "all"),
                    help="default: the set's metric; 'all' compares the three")
    sp.add_argument("--where", metavar="EXPR", help="SQL filter over the metadata, applied "
                                                    "inside the search")
    how = sp.add_mutually_exclusive_group()
    how.add_argument("--exact", action="store_true", help="exact search (the default for "
                                                          "sets up to ~4M x 384)")
    how.add_argument("--approx", action="store_true", help="approximate search (HNSW / IVF)")
    how.add_argument("--kind", choices=("auto", "flat", "compact", "hnsw", "ivf"),
                     help="a given index (see the `index` command)")
    sp.add_argument("--include-query", action="store_true",
                    help="keep the query's own item(s) in the results")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("index", help="build (or reuse) a set's neighbour index")
    sp.add_argument("path", help="a file, a library id or name, or 'demo'")
    sp.add_argument("--kind", choices=("auto", "flat", "compact", "hnsw", "ivf"), default="auto")
    sp.add_argument("--metric", choices=("cosine", "dot", "l2"), help="default: the set's metric")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("hubness", help="k-occurrence: how often items are others' neighbours")
    sp.add_argument("path", help="a file, a library id or name, or 'demo'")
    sp.add_argument("-k", type=int, default=10)
    sp.add_argument("--metric", choices=("cosine", "dot", "l2"), help="default: the set's metric")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("compress", help="what each compression (fp16, int8, PQ, binary, "
                                         "truncation, PCA ...) does to the set's neighbours")
    sp.add_argument("path", help="a file, a library id or name, or 'demo'")
    sp.add_argument("--methods", metavar="LIST",
                    help="comma-separated, e.g. fp16,sq8,sq4,pq16,pq48,opq48,binary,"
                         "binary-rerank100,trunc96,pca96,pca96-sq8 (default: a sweep sized "
                         "for the set's dimension)")
    sp.add_argument("-k", type=int, default=10, help="neighbours compared per query")
    sp.add_argument("--queries", type=int, default=1000, metavar="N",
                    help="query rows sampled from the set (default 1000)")
    sp.add_argument("--seed", type=int, default=0, help="seed of the query sample and training")
    sp.add_argument("--metric", choices=("cosine", "dot", "l2"), help="default: the set's metric")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("encode", help="encode files with an ONNX model into a library set")
    sp.add_argument("inputs", nargs="+", help="text files, folders, a table (CSV/Parquet/JSONL) "
                                             "or images")
    sp.add_argument("--model", default="minilm", help="a model folder or an installed model's "
                                                      "name (default: minilm)")
    sp.add_argument("--column", metavar="C", help="the text column of a table input")
    sp.add_argument("--pattern", metavar="GLOB", help="files to take from folders, e.g. '*.md'")
    sp.add_argument("--chunk-tokens", type=int, default=200, metavar="N",
                    help="text files are cut into chunks of about N tokens")
    sp.add_argument("--overlap-tokens", type=int, default=30, metavar="N")
    sp.add_argument("--batch-size", type=int, default=64, metavar="N")
    sp.add_argument("--out", metavar="NAME", help="the new set's name in the library")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("models", help="install or list the ONNX models encode can use")
    sp.add_argument("action", choices=("list", "install"))
    sp.add_argument("name", nargs="?", help="for install: the model to install (minilm)")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("concept", help="a concept direction between two poles: its validity "
                                        "and the items at each end")
    sp.add_argument("path", help="a file or a library set")
    sp.add_argument("--texts-a", nargs="+", metavar="T", help="pole A as texts (the set's "
                                                               "model encodes them)")
    sp.add_argument("--texts-b", nargs="+", metavar="T", help="pole B as texts")
    sp.add_argument("--where-a", metavar="EXPR", help="pole A as a SQL filter over the metadata")
    sp.add_argument("--where-b", metavar="EXPR", help="pole B as a SQL filter")
    sp.add_argument("--rows-a", nargs="+", type=int, metavar="I", help="pole A as row numbers")
    sp.add_argument("--rows-b", nargs="+", type=int, metavar="I", help="pole B as row numbers")
    sp.add_argument("--probe", action="store_true",
                    help="fit a logistic-regression probe between the groups instead of "
                         "taking the difference of their means")
    sp.add_argument("--against", metavar="COLUMN",
                    help="a numeric column to correlate the scores with (Spearman)")
    sp.add_argument("--check-a", metavar="EXPR", help="with --check-b: labelled groups (SQL "
                    "filters) to measure the held-out accuracy of a direction made otherwise, "
                    "e.g. from texts")
    sp.add_argument("--check-b", metavar="EXPR")
    sp.add_argument("--name", help="the direction's name (default: from its poles)")
    sp.add_argument("--label-a", metavar="L", help="a short name for pole A (default: from it)")
    sp.add_argument("--label-b", metavar="L", help="a short name for pole B")
    sp.add_argument("--top", type=int, default=10, metavar="N", help="items listed at each end")
    sp.add_argument("--out", type=Path, metavar="FILE", help="write the direction as JSON")
    sp.add_argument("--save", action="store_true", help="keep the direction with the set "
                                                        "(the app lists it)")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("demo", help="build the demo set (Python stdlib docstrings) into the library")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("screenshot", help="render the main window with a set loaded to a PNG")
    sp.add_argument("path", help="a file, a library id or name, or 'demo'")
    sp.add_argument("--out", required=True, type=Path, help="PNG file to write")
    sp.add_argument("--view", choices=VIEWS, default="table", help="the dock to bring forward")
    sp.add_argument("--size", default="1400x900", help="window size WxH")
    sp.add_argument("--map", choices=plugins.registry().names("projection"),
                    help="projection to show on the map")
    sp.add_argument("--colour", metavar="COLUMN", help="metadata column to colour the map by")
    sp.add_argument("--inputs", nargs="+", metavar="PATH",
                    help="--view encode: files or folders to encode while the picture is taken")
    sp.add_argument("--model", default="minilm", help="--view encode: the model (default: minilm)")
    sp.add_argument("--json", action="store_true")

    sp = sub.add_parser("plugins", help="every contribution (built-in or from a plugin) and "
                                        "what went wrong with any")
    sp.add_argument("--json", action="store_true")
    return p


COMMANDS = ("inspect", "import", "list", "remove", "rename", "du", "gc", "filter", "search", "project", "neighbours",
            "index", "hubness", "compress", "encode", "models", "concept", "demo", "screenshot",
            "plugins")


def wants_cli(argv: list[str]) -> bool:
    return bool(argv) and (argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version"))


def run(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        result = COMMAND_FUNCS[args.command](args)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the system refused a read or write the command needed (a full disk)
        print(f"error: {InputError(err.strerror or str(err), path=err.filename)}", file=sys.stderr)
        return 2
    except Cancelled:
        print("error: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        import duckdb

        if not isinstance(err, duckdb.Error):
            raise
        # the SQL layer turns query errors into InputError; one that slips through is still
        # about the user's expression, not a crash
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    try:
        if getattr(args, "json", False):
            print(json.dumps(_json_safe(result), default=str, allow_nan=False))
        else:
            _print_human(args.command, result)
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head` closed the pipe: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _json_safe(value):
    """NaN and Inf are not JSON: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _options(args: argparse.Namespace) -> LoadOptions:
    return LoadOptions(vector_column=args.vectors, metadata_path=args.metadata,
                       dataset=args.dataset, id_column=args.id_column)


def _progress(args: argparse.Namespace) -> TaskState:
    """A terminal progress line, only when a person is watching stderr."""
    if getattr(args, "json", False) or not sys.stderr.isatty():
        return TaskState()
    last = [-1]

    def show(fraction: float) -> None:
        pct = int(fraction * 100)
        if pct != last[0]:
            last[0] = pct
            print(f"\r{pct:3d}%", end="", file=sys.stderr, flush=True)
    return TaskState(on_progress=show)


def cmd_inspect(args: argparse.Namespace) -> dict:
    from explorer.core.checks import check_set

    state = _progress(args)
    es = open_file(args.path, _options(args), state.sub(0, 0.5))
    report = check_set(es, state.sub(0.5, 1))
    return {
        "path": str(Path(args.path).expanduser().resolve()),
        "format": es.format,
        "count": es.count,
        "dim": es.dim,
        "dtype": str(es.vectors.dtype),
        "columns": es.columns,
        "vector_column": es.vector_column,
        "id_column": es.id_column,
        "text_column": es.text_column,
        "metric": es.metric,
        "notes": es.notes,
        **report.to_dict(),
    }


def _check_name(option: str, name: str | None) -> None:
    """A name the user gave must say something: a blank one is a mistake, not "the default"."""
    if name is not None and not name.strip():
        raise InputError(f"{option} is empty; give the set a name or leave {option} out")


def cmd_import(args: argparse.Namespace) -> dict:
    from explorer.core.import_options import ImportOptions
    from explorer.core.library import Library

    _check_name("--name", args.name)
    options = ImportOptions.from_load(_options(args), metric=args.metric, model=args.model,
                                      drop_nonfinite=args.drop_nonfinite,
                                      drop_zero=args.drop_zero)
    entry = Library().import_file(args.path, options, name=args.name, new=args.new,
                                  replace=args.replace, state=_progress(args))
    return entry.to_dict()


def cmd_list(args: argparse.Namespace) -> dict:
    from explorer.core.library import Library

    lib = Library()
    entries, damaged = lib.scan(read_files=True)
    return {"library": str(lib.root), "sets": [e.to_dict() for e in entries],
            "damaged": [d.to_dict() for d in damaged]}


def cmd_remove(args: argparse.Namespace) -> dict:
    from explorer.core.library import Library

    return {"removed": Library().remove(args.set).to_dict()}


def cmd_rename(args: argparse.Namespace) -> dict:
    from explorer.core.library import Library

    return {"renamed": Library().rename(args.set, args.name).to_dict()}


def cmd_du(args: argparse.Namespace) -> dict:
    from explorer.compute.library_storage import library_usage
    from explorer.core.library import Library

    return library_usage(Library(), _progress(args)).to_dict()


def cmd_gc(args: argparse.Namespace) -> dict:
    from explorer.compute.library_storage import clean_up
    from explorer.core.library import Library

    return clean_up(Library(), args.dry_run, _progress(args)).to_dict()


def _query_rows(key: str, limit: int, run) -> dict:
    """Run a metadata query on a library set; print the count and the first `limit` items."""
    from explorer.core.library import METADATA, Library
    from explorer.core.metadata import MetadataQuery

    if limit < 0:
        raise InputError(f"--limit must be 0 or more, got {limit}")
    es = Library().open(key)  # checks the set's files first, so a damaged one is named
    rows = run(MetadataQuery(es.path / METADATA))
    shown = rows[:limit]
    items = es.metadata.take(shown).to_pylist() if len(shown) else []
    return {"set": es.library_id, "count": int(len(rows)), "rows": [int(r) for r in shown],
            "items": items}


def cmd_filter(args: argparse.Namespace) -> dict:
    return _query_rows(args.set, args.limit, lambda q: q.filter(args.expression))


def cmd_search(args: argparse.Namespace) -> dict:
    return _query_rows(args.set, args.limit, lambda q: q.search(args.text))


def _open_set(path: str, state):
    """'demo', a library id/name, or a file (imported, or reopened if already imported)."""
    from explorer.core.library import Library

    library = Library()
    if path == "demo":
        from explorer.compute.demo import ensure_demo

        return library.open(ensure_demo(library, state).id)
    return library.open_or_import(path, state)


def cmd_project(args: argparse.Namespace) -> dict:
    from explorer.compute.projection import ProjectionParams, run_projection
    from explorer.core.export import check_table_path

    if args.out is not None:
        check_table_path(args.out)  # before the projection, not after it
    state = _progress(args)
    es = _open_set(args.path, state.sub(0, 0.2))
    try:
        params = ProjectionParams(method=args.method, dims=args.dims, sample=args.sample,
                                  metric=es.metric)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return run_projection(es, params, out=args.out, state=state.sub(0.2, 1))


def _read_vector(path: Path, dim: int):
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
    vector = np.asarray(vector, dtype=np.float32).ravel()
    if vector.size != dim:
        raise InputError(f"the vector has {vector.size} values; the set's vectors have {dim}",
                         path=path)
    return vector


def cmd_neighbours(args: argparse.Namespace) -> dict:
    from explorer.compute import neighbours as nb

    state = _progress(args)
    es = _open_set(args.path, state.sub(0, 0.2))
    if args.row is not None:
        query = nb.row_query(es, args.row)
    elif args.id is not None:
        query = nb.id_query(es, args.id)
    elif args.expr is not None:
        query = nb.arithmetic_query(es, args.expr, None if args.metric == "all" else args.metric)
    elif args.vector_file is not None:
        query = nb.vector_query(_read_vector(args.vector_file, es.dim),
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


def cmd_index(args: argparse.Namespace) -> dict:
    from explorer.compute import neighbours as nb

    state = _progress(args)
    es = _open_set(args.path, state.sub(0, 0.2))
    _, info = nb.open_index(es, args.metric, args.kind, state.sub(0.2, 1))
    return {"set": es.library_id, "chosen_for": "auto" if args.kind == "auto" else "request",
            **info.to_dict()}


def cmd_hubness(args: argparse.Namespace) -> dict:
    from explorer.compute.hubness import k_occurrence
    from explorer.compute.neighbours import item_id

    state = _progress(args)
    es = _open_set(args.path, state.sub(0, 0.2))
    result = k_occurrence(es, args.k, args.metric, state.sub(0.2, 1)).to_dict()
    for hub in result["hubs"]:
        hub["id"] = item_id(es, hub["row"])
    return {"set": es.library_id, **result}


def cmd_compress(args: argparse.Namespace) -> dict:
    from explorer.compute.compression import evaluate

    state = _progress(args)
    es = _open_set(args.path, state.sub(0, 0.1))
    result = evaluate(es, args.methods, k=args.k, queries=args.queries, metric=args.metric,
                      seed=args.seed, state=state.sub(0.1, 1))
    return {"set": es.library_id, **result.to_dict()}


def cmd_encode(args: argparse.Namespace) -> dict:
    from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
    from explorer.core.errors import DISK_FULL, storage_error
    from explorer.core.library import LIBRARY_FOLDER, Library

    for name, value in (("--chunk-tokens", args.chunk_tokens), ("--batch-size", args.batch_size)):
        if value < 1:
            raise InputError(f"{name} must be at least 1, got {value}")
    if not 0 <= args.overlap_tokens < args.chunk_tokens:
        raise InputError("--overlap-tokens must be at least 0 and less than --chunk-tokens")
    _check_name("--out", args.out)
    library = Library()
    if args.out is not None:
        library.check_name(args.out)  # before the encoding, not after it
    options = EncodeOptions(model=args.model, column=args.column, pattern=args.pattern,
                            chunk_tokens=args.chunk_tokens, overlap_tokens=args.overlap_tokens,
                            batch_size=args.batch_size, name=args.out)
    library.check_writable()  # before the encoding, not after it
    try:
        return encode_inputs(args.inputs, options, library=library,
                             state=_progress(args)).to_dict()
    except OSError as exc:  # every write of an encoding goes into the library folder
        if exc.errno not in DISK_FULL:
            raise
        raise storage_error(exc, library.root, LIBRARY_FOLDER) from None


def cmd_models(args: argparse.Namespace) -> dict:
    from explorer.compute.encoding import catalogue

    if args.action == "install":
        if not args.name:
            raise InputError("models install: name the model to install (minilm)")
        folder = catalogue.install_model(args.name)
        return {"installed": folder.name, "path": str(folder.path), "dim": folder.dim}
    return {"models": catalogue.list_models()}


def cmd_concept(args: argparse.Namespace) -> dict:
    from explorer.compute import concepts as cc
    from explorer.core.atomic import output_target

    if args.top < 0:
        raise InputError(f"--top must be 0 or more, got {args.top}")
    if args.out is not None:
        output_target(args.out)  # a folder is refused before the work, not after it
    state = _progress(args)
    es = _open_set(args.path, state.sub(0, 0.2))
    direction = cc.define(es, texts_a=args.texts_a, texts_b=args.texts_b, where_a=args.where_a,
                          where_b=args.where_b, rows_a=args.rows_a, rows_b=args.rows_b,
                          probe=args.probe, name=args.name)
    direction.label_a = args.label_a or direction.label_a
    direction.label_b = args.label_b or direction.label_b
    if (args.check_a is None) != (args.check_b is None):
        raise InputError("--check-a and --check-b go together: one filter for each pole")
    check = {} if args.check_a is None else {"rows_a": cc.where_rows(es, args.check_a),
                                             "rows_b": cc.where_rows(es, args.check_b)}
    direction.validity = cc.validate(es, direction, against=args.against,
                                     state=state.sub(0.2, 0.9), **check)
    result = {"set": es.library_id, **cc.describe(es, direction, top=args.top), "out": None,
              "saved": False}
    if args.out is not None:
        result["out"] = str(cc.export_json([direction], args.out))
    if args.save:
        cc.DirectionStore(es).save(direction)
        result["saved"] = True
    return result


def cmd_demo(args: argparse.Namespace) -> dict:
    from explorer.compute.demo import ensure_demo
    from explorer.core.library import Library

    return ensure_demo(Library(), _progress(args)).to_dict()


def cmd_plugins(args: argparse.Namespace) -> dict:
    return plugins.registry().to_dict()


def cmd_screenshot(args: argparse.Namespace) -> dict:
    import tempfile

    from explorer.core.atomic import output_target, write_output
    from explorer.ui.screenshot import take_screenshot

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size {args.size!r}: expected WIDTHxHEIGHT such as 1400x900") from None
    if width < 1 or height < 1:
        raise InputError(f"--size {args.size!r}: the width and height must be at least 1")
    output_target(args.out)  # a folder is refused before the rendering, not after it
    # rendered beside us, then written into what --out names like every other --out
    with tempfile.TemporaryDirectory(prefix="embedding-explorer-shot-") as tmp:
        shot = take_screenshot(args.path, Path(tmp) / "shot.png", view=args.view,
                               size=(width, height), method=args.map, colour=args.colour,
                               inputs=args.inputs, model=args.model)
        out = write_output(args.out, lambda fh: fh.write(shot.read_bytes()))
    return {"out": str(out), "view": args.view, "size": [width, height]}


COMMAND_FUNCS = {
    "inspect": cmd_inspect, "import": cmd_import, "list": cmd_list, "remove": cmd_remove,
    "rename": cmd_rename, "du": cmd_du, "gc": cmd_gc,
    "filter": cmd_filter, "search": cmd_search, "project": cmd_project,
    "neighbours": cmd_neighbours, "index": cmd_index, "hubness": cmd_hubness,
    "compress": cmd_compress,
    "encode": cmd_encode, "models": cmd_models, "concept": cmd_concept, "demo": cmd_demo,
    "screenshot": cmd_screenshot, "plugins": cmd_plugins,
}


def _print_human(command: str, result: dict) -> None:
    if sys.stderr.isatty():
        print("\r", end="", file=sys.stderr)
    if command == "plugins":
        _print_plugins(result)
        return
    if command == "import":
        how = "reused the stored set" if result["reused"] else "stored"
        print(f"{how} {result['name']!r} (id {result['id']}): {result['count']:,} x "
              f"{result['dim']}, {result['metric']}")
        return
    if command == "rename":
        print(f"{result['renamed']['id']} is now called {result['renamed']['name']!r}")
        return
    if command == "du":
        _print_usage(result)
        return
    if command == "gc":
        _print_cleanup(result)
        return
    if command == "list":
        print(f"library: {result['library']}")
        for e in result["sets"]:
            print(f"{e['id']:<30} {e['count']:>10,} x {e['dim']:<5} {e['metric']:<6} "
                  f"{e.get('model') or '':<24} {e['name']}")
        for d in result["damaged"]:
            print(f"{d['id']:<30} damaged: {d['reason']}")
        return
    if command in ("filter", "search"):
        print(f"{result['count']:,} rows")
        for row, item in zip(result["rows"], result["items"]):
            print(row, json.dumps(item, default=str)[:160])
        return
    if command == "neighbours" and "neighbours" in result:
        print(f"{result['query']['label']}  ({result['metric']}, k={result['k']}, "
              f"{'exact' if result['exact'] else 'approximate'}, {result['seconds'] * 1000:.1f} ms)")
        for rank, item in enumerate(result["neighbours"], 1):
            print(f"{rank:>4}  {item['score']:>10.4f}  #{item['row']:<8} {item['id']}")
        return
    if command == "concept":
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
        return
    if command == "compress":
        print(f"{result['queries']} queries, k={result['k']}, {result['metric']}; exact float32 "
              f"search {result['exact_ms_per_query']:.3f} ms/query, "
              f"{result['float32_bytes_per_vector']} bytes/vector")
        print(f"{'method':<20} {'bytes':>6} {'recall@k':>9} {'overlap':>8} {'train s':>8} "
              f"{'ms/query':>9}")
        for m in result["methods"]:
            print(f"{m['name']:<20} {m['bytes_per_vector']:>6} {m['recall_at_k']:>9.3f} "
                  f"{m['overlap']:>8.3f} {m['train_seconds']:>8.2f} "
                  f"{m['search_ms_per_query']:>9.3f}")
        return
    if command == "neighbours":  # --metric all
        print(result["explanation"])
        print("overlap: " + ", ".join(f"{k} {v:.0%}" for k, v in result["overlap"].items()))
        for metric, items in result["lists"].items():
            print(f"{metric}: " + ", ".join(str(i["id"]) for i in items))
        return
    for key, value in result.items():
        print(f"{key}: {value}")


def _print_plugins(result: dict) -> None:
    for c in result["contributions"]:
        source = "built-in" if c["builtin"] else f"{c['distribution']} {c['version']}"
        print(f"{c['kind']:<12} {c['name']:<16} {source:<28} {c['status']}"
              + (f": {c['error']}" if c["error"] else ""))
    for f in result["failures"]:
        print(f"failed: {f['distribution']} {f['version']} (entry point {f['entry_point']}): "
              f"{f['error']}")
    for note in result["notes"]:
        print(f"note: {note}")


def _print_usage(result: dict) -> None:
    from explorer.core.storage import human_bytes

    print(f"library: {result['root']}  total {human_bytes(result['total'])}")
    for s in result["sets"]:
        parts = [f"vectors {human_bytes(s['vectors'])}", f"metadata {human_bytes(s['metadata'])}"]
        parts += [f"{kind} {human_bytes(size)}" for kind, size in s["artefacts"].items()]
        name = s["name"] if s["name"] == s["id"] else f"{s['name']} ({s['id']})"
        print(f"{human_bytes(s['total']):>10}  {name}: " + ", ".join(parts)
              + (f"  [{s['note']}]" if s["note"] else ""))
    for what, folders in (("partial folder", result["partial"]),
                          ("encode work", result["encode_work"])):
        for f in folders:
            print(f"{human_bytes(f['bytes']):>10}  {what} {f['path']}"
                  + (f"  [{f['in_use']}]" if f["in_use"] else "  [gc removes it]"))
    for name, size in result["other"].items():
        print(f"{human_bytes(size):>10}  {name}")


def _print_cleanup(result: dict) -> None:
    from explorer.core.storage import human_bytes

    verb = "would remove" if result["dry_run"] else "removed"
    for r in result["removed"]:
        print(f"{verb} {r['what']} {r['path']} ({human_bytes(r['bytes'])}): {r['why']}")
    for k in result["kept"]:
        print(f"kept {k['what']} {k['path']}: {k['why']}")
    print(f"{'would free' if result['dry_run'] else 'freed'} {human_bytes(result['freed'])}")
