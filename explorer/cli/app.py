"""Subcommands about the application itself: demo, screenshot, plugins."""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli.command import Command, add_json, add_set_path, progress
from explorer.core.errors import InputError

VIEWS = ("table", "library", "map", "neighbours", "compare", "hubness", "concepts",
         "concept-plane", "compression", "compression-query", "compression-map", "charts",
         "encode")


def run_demo(args: argparse.Namespace) -> dict:
    from explorer.compute.demo import ensure_demo
    from explorer.core.library import Library

    return ensure_demo(Library(), progress(args)).to_dict()


def add_screenshot_arguments(parser: argparse.ArgumentParser) -> None:
    from explorer import plugins

    add_set_path(parser)
    parser.add_argument("--out", required=True, type=Path, help="PNG file to write")
    parser.add_argument("--view", choices=VIEWS, default="table",
                        help="the dock to bring forward")
    parser.add_argument("--size", default="1400x900", help="window size WxH")
    parser.add_argument("--map", choices=plugins.registry().names("projection"),
                        help="projection to show on the map")
    parser.add_argument("--colour", metavar="COLUMN", help="metadata column to colour the map by")
    parser.add_argument("--inputs", nargs="+", metavar="PATH",
                        help="--view encode: files or folders to encode while the picture is "
                             "taken")
    parser.add_argument("--model", default="minilm",
                        help="--view encode: the model (default: minilm)")
    add_json(parser)


def run_screenshot(args: argparse.Namespace) -> dict:
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
        out = write_output(args.out, lambda fh: fh.write(shot.path.read_bytes()))
    return {"out": str(out), "view": args.view, **shot.to_dict()}


def run_plugins(args: argparse.Namespace) -> dict:
    from explorer import plugins

    return plugins.registry().to_dict()


def print_plugins(result: dict) -> None:
    for c in result["contributions"]:
        source = "built-in" if c["builtin"] else f"{c['distribution']} {c['version']}"
        print(f"{c['kind']:<12} {c['name']:<16} {source:<28} {c['status']}"
              + (f": {c['error']}" if c["error"] else ""))
    for f in result["failures"]:
        print(f"failed: {f['distribution']} {f['version']} (entry point {f['entry_point']}): "
              f"{f['error']}")
    for note in result["notes"]:
        print(f"note: {note}")


DEMO = Command("demo", "build the demo set (Python stdlib docstrings) into the library",
               add_json, run_demo)
SCREENSHOT = Command("screenshot", "render the main window with a set loaded to a PNG",
                     add_screenshot_arguments, run_screenshot)
PLUGINS = Command("plugins", "every contribution (built-in or from a plugin) and what went "
                             "wrong with any",
                  add_json, run_plugins, print_plugins)
