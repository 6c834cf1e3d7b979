"""Headless subcommands over explorer.core / explorer.compute; `--json` prints one object.

Each subcommand is one `Command` in `COMMANDS` (arguments, run, human printer), grouped by
topic in library.py, analysis.py, encode.py and app.py; this module builds the parser from
the table, dispatches and prints. A user mistake ends in one line `error: ...` on stderr and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from explorer import __version__
from explorer.cli import analysis, app, encode, library
from explorer.cli.command import Command
from explorer.cli.charts import CHARTS
from explorer.cli.compare import COMPARE
from explorer.cli.labels import LABELS
from explorer.cli.thumbnails import THUMBNAILS
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled

# in the order `--help` lists them
COMMANDS: tuple[Command, ...] = (
    library.INSPECT, library.IMPORT, library.LIST, library.REMOVE, library.RENAME,
    library.SET_MODEL, library.SET_LABEL, library.ATTACH_METADATA, library.REIMPORT, library.DU,
    library.GC, library.FILTER, library.SEARCH,
    analysis.PROJECT, analysis.NEIGHBOURS, analysis.INDEX, analysis.HUBNESS, analysis.COMPRESS,
    COMPARE, LABELS, CHARTS, THUMBNAILS,
    encode.ENCODE, encode.MODELS, analysis.CONCEPT,
    app.DEMO, app.SCREENSHOT, app.PLUGINS,
)
BY_NAME = {command.name: command for command in COMMANDS}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default prints the usage, then exits
        raise InputError(message, hint=f"`{self.prog} --help` shows the options")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="embedding-explorer",
               description="Open, keep and look at embedding sets. Without a subcommand the "
                           "desktop app starts (`embedding-explorer [FILE ...] [--demo]`).")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.add_arguments(sub.add_parser(command.name, help=command.help))
    return p


def wants_cli(argv: list[str]) -> bool:
    return bool(argv) and (argv[0] in BY_NAME or argv[0] in ("-h", "--help", "--version"))


def run(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        command = BY_NAME[args.command]
        result = command.run(args)
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
            if sys.stderr.isatty():  # past the progress line
                print("\r", end="", file=sys.stderr)
            command.print_human(result)
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
