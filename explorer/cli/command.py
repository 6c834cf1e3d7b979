"""What a subcommand is (`Command`) and the helpers several subcommands share.

Kept light: the topic modules import this at start-up, so it loads nothing heavy; the work
itself imports what it needs inside each run function.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

if TYPE_CHECKING:
    from explorer.core.embedding_set import EmbeddingSet


def print_fields(result: dict) -> None:
    """The human form of a result no command prints its own way: one `key: value` a line."""
    for key, value in result.items():
        print(f"{key}: {value}")


@dataclass(frozen=True)
class Command:
    """One subcommand, whole: adding one is adding one of these to `explorer.cli.COMMANDS`.

    `add_arguments` fills the subcommand's parser (it runs whenever the parser is built, so
    choices read from the plugin registry are current); `run` does the work and returns the
    result that `--json` prints; `print_human` prints it otherwise.
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], dict]
    print_human: Callable[[dict], None] = print_fields


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")


def add_set_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a file, a library id or name, or 'demo'")


def add_engine_arguments(parser: argparse.ArgumentParser, engine_help: str,
                         workers_help: str) -> None:
    """--engine local|ray, --ray-address and --workers: the same words for every Ray job."""
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help=engine_help)
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="with --engine ray: the cluster to join ('auto', "
                             "'ray://head:10001'); default RAY_ADDRESS, else a local Ray")
    parser.add_argument("--workers", type=int, metavar="N", help=workers_help)


def check_engine(args: argparse.Namespace, ray_only: tuple[str, ...] = ()) -> None:
    """The Ray options make sense and Ray is there, before any work: one line if not.
    `ray_only`: further options (attribute names) that go with --engine ray only."""
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if args.engine == "local":
        given = [name for name in ("ray_address", "workers", *ray_only)
                 if getattr(args, name) is not None]
        if given:
            raise InputError(", ".join("--" + n.replace("_", "-") for n in given)
                             + " go with --engine ray")
        return
    from explorer.compute.cluster.ray_session import ray_available

    missing = ray_available()
    if missing:
        raise InputError(missing)


def progress(args: argparse.Namespace) -> TaskState:
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


def check_name(option: str, name: str | None) -> None:
    """A name the user gave must say something: a blank one is a mistake, not "the default"."""
    if name is not None and not name.strip():
        raise InputError(f"{option} is empty; give the set a name or leave {option} out")


def open_set(path: str, state: TaskState) -> EmbeddingSet:
    """'demo', a library id/name, or a file (imported, or reopened if already imported)."""
    from explorer.core.library import Library

    library = Library()
    if path == "demo":
        from explorer.compute.demo import ensure_demo

        return library.open(ensure_demo(library, state).id)
    return library.open_or_import(path, state)

