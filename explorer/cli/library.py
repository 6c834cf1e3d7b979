"""Subcommands about files and the library: inspect, import, list, remove, rename, set-model,
set-label, attach-metadata, reimport, du, gc, filter, search."""

from __future__ import annotations

import argparse
import glob
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.cli.command import Command, add_json, check_name, progress
from explorer.core.errors import InputError
from explorer.core.loaders import LoadOptions, open_file, supported_extensions

if TYPE_CHECKING:
    from explorer.core.manifest import LibraryEntry


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """How to read a file: shared by `inspect` and `import`."""
    parser.add_argument("path", help="an embedding file (" + " ".join(supported_extensions())
                                     + "), or shards: a folder, a glob such as "
                                       "'out/*.parquet', or several files")
    parser.add_argument("more", nargs="*", metavar="SHARD", help=argparse.SUPPRESS)
    parser.add_argument("--vectors", "--vector-column", metavar="COLUMN", dest="vectors",
                        help="vector column, or a pattern such as 'dim_*' for one column per "
                             "dimension")
    parser.add_argument("--metadata", metavar="FILE", type=Path,
                        help="metadata table joined by row order (CSV/TSV/Parquet/JSONL)")
    parser.add_argument("--dataset", metavar="NAME", help="HDF5 dataset or .npz array to read")
    parser.add_argument("--id-column", metavar="COLUMN", help="metadata column naming the items")
    parser.add_argument("--label-column", metavar="COLUMN",
                        help="metadata column that names the items in lists (default: a short, "
                             "mostly unique text column such as name or title)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def load_options(args: argparse.Namespace) -> LoadOptions:
    return LoadOptions(vector_column=args.vectors, metadata_path=args.metadata,
                       dataset=args.dataset, id_column=args.id_column,
                       label_column=args.label_column)


def shard_items(args: argparse.Namespace) -> list[str] | None:
    """The shards the command names (a folder, a glob, several files), or None for one file."""
    items = [args.path, *args.more]
    if len(items) > 1 or getattr(args, "sharded", False) or Path(args.path).expanduser().is_dir() \
            or (not Path(args.path).expanduser().exists() and glob.has_magic(args.path)):
        return items
    return None


def run_inspect(args: argparse.Namespace) -> dict:
    from explorer.core.checks import check_set

    shards = shard_items(args)
    if shards is not None:
        from explorer.core.shard_import import describe_shards

        return {"path": [str(Path(p).expanduser()) for p in shards], "layout": "sharded",
                "format": "shards", "dtype": "float32",
                **describe_shards(shards, args.vectors, progress(args))}
    state = progress(args)
    es = open_file(args.path, load_options(args), state.sub(0, 0.5))
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
        "label_column": es.label_column,
        "metric": es.metric,
        "notes": es.notes,
        **report.to_dict(),
    }


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    add_load_options(parser)
    parser.add_argument("--name", help="name in the library, not taken by another set "
                                       "(default: the file name, made unique)")
    parser.add_argument("--metric", choices=("cosine", "dot", "l2"),
                        help="the metric the vectors are for")
    add_model_arguments(parser, "--model", "the model that made the vectors, if known: an "
                                           "installed model's name (minilm) or a model folder; "
                                           "checked on a sample of the text column")
    parser.add_argument("--drop-nonfinite", action="store_true", help="drop rows holding NaN/Inf")
    parser.add_argument("--drop-zero", action="store_true", help="drop all-zero rows")
    parser.add_argument("--new", action="store_true",
                        help="store another copy even if the same file is stored already")
    parser.add_argument("--replace", action="store_true",
                        help="replace the set holding the name (kept until the new one is "
                             "complete)")
    parser.add_argument("--sharded", action="store_true",
                        help="shards: keep the vectors in the shard files (nothing copied; "
                             "the default when they would not fit in memory or on disk)")


def add_model_arguments(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    parser.add_argument(name, metavar="MODEL" if name.startswith("-") else None,
                        help=help_text)
    parser.add_argument("--trust-model", action="store_true",
                        help="record the model even when its encoding of the set's texts does "
                             "not match the vectors (or it is not installed here): marked "
                             "unverified, and text queries stay off")


def run_import(args: argparse.Namespace) -> dict:
    from explorer.core.import_options import ImportOptions
    from explorer.core.library import Library

    check_name("--name", args.name)
    options = ImportOptions.from_load(load_options(args), metric=args.metric,
                                      drop_nonfinite=args.drop_nonfinite,
                                      drop_zero=args.drop_zero)
    shards = shard_items(args)
    if shards is not None:
        from explorer.core.shard_import import import_shards

        if args.model is not None:
            raise InputError("--model is checked on a single file's import; record it on the "
                             "stored set with `embedding-explorer set-model SET MODEL`")
        entry = import_shards(Library(), shards, options,
                              layout="sharded" if args.sharded else "auto", name=args.name,
                              new=args.new, replace=args.replace, state=progress(args))
        return {**with_model_check(entry), "rows": entry.count}
    if args.model is None:
        entry = Library().import_file(args.path, options, name=args.name, new=args.new,
                                      replace=args.replace, state=progress(args))
    else:
        from explorer.compute.encoding.model_check import import_with_model

        entry = import_with_model(Library(), args.path, options, args.model, args.trust_model,
                                  name=args.name, new=args.new, replace=args.replace,
                                  state=progress(args))
    return with_model_check(entry)


def with_model_check(entry: LibraryEntry) -> dict:
    """The entry as `--json` prints it: `model_check` as the three figures users read."""
    result = entry.to_dict()
    check = entry.check
    result["model_check"] = None if check is None else check.to_dict()
    result["model_note"] = None if check is None or check.verified else check.reason
    return result


def model_line(result: dict) -> str | None:
    """How the set's model was checked, in one line (None when no model is recorded)."""
    check, model = result.get("model_check"), result.get("model")
    if not model:
        return None
    if check is None:
        return f"model {model}"
    if check["verified"]:
        return (f"model {model}: verified (median cosine {check['median_cosine']:.3f} over "
                f"{check['sampled']} rows)")
    return f"model {model}: unverified ({result['model_note']})"


def print_import(result: dict) -> None:
    how = "reused the stored set" if result["reused"] else "stored"
    print(f"{how} {result['name']!r} (id {result['id']}): {result['count']:,} x "
          f"{result['dim']}, {result['metric']}")
    if result.get("layout") == "sharded":
        print(f"sharded: the vectors stay in {len(result['shards'])} shard files (nothing "
              "copied)")
    line = model_line(result)
    if line:
        print(line)


def run_list(args: argparse.Namespace) -> dict:
    from explorer.core.library import Library

    lib = Library()
    entries, damaged = lib.scan(read_files=True)
    return {"library": str(lib.root), "sets": [e.to_dict() for e in entries],
            "damaged": [d.to_dict() for d in damaged]}


def print_list(result: dict) -> None:
    print(f"library: {result['library']}")
    for e in result["sets"]:
        model = e.get("model") or ""
        if model and (e.get("model_check") or {}).get("verified") is False:
            model += " (unverified)"
        shards = f"  [{len(e['shards'])} shards]" if e.get("layout") == "sharded" else ""
        print(f"{e['id']:<30} {e['count']:>10,} x {e['dim']:<5} {e['metric']:<6} "
              f"{model:<24} {e['name']}{shards}")
    for d in result["damaged"]:
        print(f"{d['id']:<30} damaged: {d['reason']}")


def add_set_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("set", help="library id or name")


def add_remove_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_key(parser)
    add_json(parser)


def run_remove(args: argparse.Namespace) -> dict:
    from explorer.core.library import Library

    return {"removed": Library().remove(args.set).to_dict()}


def add_rename_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_key(parser)
    parser.add_argument("name", help="the new name")
    add_json(parser)


def run_rename(args: argparse.Namespace) -> dict:
    from explorer.core.library import Library

    return {"renamed": Library().rename(args.set, args.name).to_dict()}


def print_rename(result: dict) -> None:
    print(f"{result['renamed']['id']} is now called {result['renamed']['name']!r}")


def add_set_model_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_key(parser)
    add_model_arguments(parser, "model", "an installed model's name (minilm) or a model folder; "
                                         "checked on a sample of the set's text column")
    add_json(parser)


def run_set_model(args: argparse.Namespace) -> dict:
    from explorer.compute.encoding.model_check import set_library_model
    from explorer.core.library import Library

    return with_model_check(set_library_model(Library(), args.set, args.model, args.trust_model,
                                              progress(args)))


def print_set_model(result: dict) -> None:
    print(f"{result['id']}: {model_line(result)}")


def add_set_label_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_key(parser)
    parser.add_argument("column", nargs="?",
                        help="the metadata column that names the items in lists (left out: "
                             "the id column, else the text column)")
    add_json(parser)


def run_set_label(args: argparse.Namespace) -> dict:
    from explorer.core.library import Library

    return Library().set_label_column(args.set, args.column).to_dict()


def print_set_label(result: dict) -> None:
    column = result["label_column"]
    print(f"{result['id']}: items are named by "
          + (f"column {column!r}" if column else "their id, else their text"))


def add_attach_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_key(parser)
    parser.add_argument("file", type=Path,
                        help="a metadata table (CSV/TSV/Parquet/JSONL) with one row per vector, "
                             "in the set's order")
    parser.add_argument("--id-column", metavar="C", help="the file's column naming the items "
                                                         "(default: guessed)")
    parser.add_argument("--label-column", metavar="C",
                        help="the column that names the items in lists (default: a short, "
                             "mostly unique text column such as name or title)")
    add_json(parser)


def run_attach(args: argparse.Namespace) -> dict:
    from explorer.core.library import Library
    from explorer.core.metadata_attach import attach_metadata

    return with_model_check(attach_metadata(Library(), args.set, args.file,
                                            id_column=args.id_column,
                                            label_column=args.label_column,
                                            state=progress(args)))


def print_attach(result: dict) -> None:
    attached = result["attached_metadata"] or {}
    print(f"{result['id']}: {Path(attached.get('path', '')).name} attached; columns "
          + ", ".join(result["columns"]))
    print("items are named by " + (f"column {result['label_column']!r}"
                                  if result["label_column"] else "their id, else their text"))


def add_reimport_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_key(parser)
    add_json(parser)


def run_reimport(args: argparse.Namespace) -> dict:
    from explorer.compute.reimport import reimport
    from explorer.core.library import Library

    return with_model_check(reimport(Library(), args.set, progress(args)))


def print_reimport(result: dict) -> None:
    print(f"re-imported {result['name']!r} (id {result['id']}): {result['count']:,} x "
          f"{result['dim']}, {result['metric']}")
    for note in result["notes"]:
        if not note.startswith("metadata attached from"):
            print(f"  {note}")
    line = model_line(result)
    if line:
        print(line)


def run_du(args: argparse.Namespace) -> dict:
    from explorer.compute.library_storage import library_usage
    from explorer.core.library import Library

    return library_usage(Library(), progress(args)).to_dict()


def print_du(result: dict) -> None:
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


def add_gc_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    add_json(parser)


def run_gc(args: argparse.Namespace) -> dict:
    from explorer.compute.library_storage import clean_up
    from explorer.core.library import Library

    return clean_up(Library(), args.dry_run, progress(args)).to_dict()


def print_gc(result: dict) -> None:
    from explorer.core.storage import human_bytes

    verb = "would remove" if result["dry_run"] else "removed"
    for r in result["removed"]:
        print(f"{verb} {r['what']} {r['path']} ({human_bytes(r['bytes'])}): {r['why']}")
    for k in result["kept"]:
        print(f"kept {k['what']} {k['path']}: {k['why']}")
    print(f"{'would free' if result['dry_run'] else 'freed'} {human_bytes(result['freed'])}")


def query_rows(key: str, limit: int, run: Callable) -> dict:
    """Run a metadata query on a library set; the exact count and the first `limit` items."""
    from explorer.core.library import Library
    from explorer.core.metadata import query_for

    if limit < 0:
        raise InputError(f"--limit must be 0 or more, got {limit}")
    es = Library().open(key)  # checks the set's files first, so a damaged one is named
    rows = run(query_for(es))
    shown = rows[:limit]
    items = es.metadata.take(shown).to_pylist() if len(shown) else []
    return {"set": es.library_id, "count": int(len(rows)), "rows": [int(r) for r in shown],
            "items": items}


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_key(parser)
    parser.add_argument("expression", help="e.g. \"section = 'games' and size > 10\"")
    parser.add_argument("--limit", type=int, default=100,
                        help="rows to print (count is always exact)")
    add_json(parser)


def run_filter(args: argparse.Namespace) -> dict:
    return query_rows(args.set, args.limit, lambda q: q.filter(args.expression))


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_key(parser)
    parser.add_argument("text")
    parser.add_argument("--limit", type=int, default=100)
    add_json(parser)


def run_search(args: argparse.Namespace) -> dict:
    return query_rows(args.set, args.limit, lambda q: q.search(args.text))


def print_rows(result: dict) -> None:
    print(f"{result['count']:,} rows")
    for row, item in zip(result["rows"], result["items"]):
        print(row, json.dumps(item, default=str)[:160])


INSPECT = Command("inspect", "describe a file without importing it", add_load_options,
                  run_inspect)
IMPORT = Command("import", "store a file in the library (an unchanged file imported the same "
                           "way before is reused)",
                 add_import_arguments, run_import, print_import)
LIST = Command("list", "list the library's sets", add_json, run_list, print_list)
REMOVE = Command("remove", "delete a set from the library", add_remove_arguments,
                 run_remove)
RENAME = Command("rename", "give a library set another name (not taken by another)",
                 add_rename_arguments, run_rename, print_rename)
SET_MODEL = Command("set-model", "name the model that made a library set's vectors, checked on "
                                "a sample of its texts (text queries and text poles use it)",
                    add_set_model_arguments, run_set_model, print_set_model)
SET_LABEL = Command("set-label", "choose the column that names a library set's items in lists",
                    add_set_label_arguments, run_set_label, print_set_label)
ATTACH_METADATA = Command("attach-metadata", "join a metadata file to a library set by row order "
                                            "(labels for vectors that came alone)",
                          add_attach_arguments, run_attach, print_attach)
REIMPORT = Command("reimport", "read a library set's file again with the options it was "
                               "imported with, and replace the set (attached metadata, label "
                               "column and a model that still verifies are kept)",
                   add_reimport_arguments, run_reimport, print_reimport)
DU = Command("du", "the library's size: each set's vectors, metadata and artefacts, partial "
                   "folders, encode work",
             add_json, run_du, print_du)
GC = Command("gc", "free what no set needs: partial folders of stopped imports, work of "
                   "stopped encodings, stale or damaged artefacts",
             add_gc_arguments, run_gc, print_gc)
FILTER = Command("filter", "rows of a library set matching a SQL expression",
                 add_filter_arguments, run_filter, print_rows)
SEARCH = Command("search", "rows of a library set whose text contains a string",
                 add_search_arguments, run_search, print_rows)
