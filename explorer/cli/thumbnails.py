"""`thumbnails`: make (or bring up to date) the thumbnail cache of a set's image column.

The column is `--column`, else the one remembered with the set, else the only one found; a
column or root the user names is remembered with the set, so the app shows the same images.
Images are never fetched: URLs are counted. See explorer.compute.thumbnails.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from explorer.cli.command import Command, add_json, add_set_path, open_set, progress
from explorer.core.errors import InputError


def add_thumbnails_arguments(parser: argparse.ArgumentParser) -> None:
    add_set_path(parser)
    parser.add_argument("--column", metavar="C",
                        help="the column holding images: file paths, image bytes or "
                             "{bytes, path} structs (default: the set's image column)")
    parser.add_argument("--root", type=Path, metavar="DIR",
                        help="the folder relative paths start from, and that no path may "
                             "leave (default: the folder of the set's data file)")
    parser.add_argument("--size", type=int, default=128, metavar="PX",
                        help="the thumbnails' longest side in pixels (default 128)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="images decoded at once (default: the cores, at most 4)")
    add_json(parser)


def run_thumbnails(args: argparse.Namespace) -> dict:
    from explorer.compute import thumbnails as th
    from explorer.core.library import Library

    if args.workers is not None and args.workers < 1:
        raise InputError("--workers must be at least 1", option="workers")
    root = None if args.root is None else str(args.root.expanduser().resolve())
    if root is not None and not Path(root).is_dir():
        raise InputError("is not a folder", path=args.root, option="root")
    state = progress(args)
    es = open_set(args.path, state.sub(0, 0.05))
    source = th.pick_source(es, args.column, root)
    with warnings.catch_warnings():  # a bomb or a damaged file is counted; Pillow's warnings
        warnings.filterwarnings("ignore", module=r"PIL\.")  # about them would be noise
        try:
            report = th.make_thumbnails(es, source, state.sub(0.05, 1), size=args.size,
                                        workers=args.workers)
        except InputError as exc:
            if exc.option == "root" and exc.hint:  # the app's words name no flag; here --root
                exc.hint += " (--root DIR)"
            raise
    if (args.column is not None or root is not None) and report.made and es.library_id:
        th.remember_image_source(Library(), es.library_id, source)  # the app shows the same
    return report.to_dict()


def print_thumbnails(result: dict) -> None:
    from explorer.core.storage import human_bytes

    root = f", root {result['root']}" if result["root"] else ""
    print(f"{result['count']:,} items, images from column {result['column']!r} "
          f"({result['kind']}{root})")
    kept = result["made"] - result["new"]
    made = f"{result['new']:,} made now" + (f", {kept:,} kept from the last run" if kept else "")
    urls = f", {result['urls']:,} URLs (never fetched)" if result["urls"] else ""
    print(f"{result['made']:,} thumbnails ({made}), {result['missing']:,} missing, "
          f"{result['broken']:,} broken{urls}")
    if result["outside"]:
        print(f"{result['outside']:,} paths lie outside the image root and were not read "
              "(--root picks a folder that holds them)")
    for problem in result["problems"]:
        more = f" (and {problem['rows'] - 1:,} more)" if problem["rows"] > 1 else ""
        print(f"  row {problem['row']}{more}: {problem['status']}, {problem['reason']}")
    print(f"cache {human_bytes(result['bytes'])} in {result['seconds']:.2f} s: {result['cache']}")


THUMBNAILS = Command("thumbnails", "make the thumbnails of a set's images (files or bytes)",
                     add_thumbnails_arguments, run_thumbnails, print_thumbnails)
