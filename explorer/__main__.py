"""`embedding-explorer` / `python -m explorer`: the GUI, or a CLI subcommand if one is given."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from explorer import cli

    argv = sys.argv[1:] if argv is None else argv
    if cli.wants_cli(argv):
        return cli.run(argv)
    from explorer.ui.app import run_gui

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
