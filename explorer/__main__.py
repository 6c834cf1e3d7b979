"""`embedding-explorer` / `python -m explorer`: the GUI, or a CLI subcommand if one is given."""

from __future__ import annotations

import sys

from explorer.ui import timeline

timeline.mark("process_start")  # as early as possible: what came before is the interpreter's


def main(argv: list[str] | None = None) -> int:
    from explorer import cli

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--selftest"]:
        return _selftest(argv[1:])
    if argv[:1] == ["--compile-kernels"]:  # the frozen app's compile worker (see there)
        from explorer.compute.numba import compile_worker

        return compile_worker.main(argv[1:])
    if cli.wants_cli(argv):
        return cli.run(argv)
    from explorer.ui.app import run_gui

    return run_gui(argv)


def _selftest(rest: list[str]) -> int:
    """`--selftest [--json]`: every capability on generated data (see explorer.selftest)."""
    if rest not in ([], ["--json"]):
        print(f"error: --selftest takes only --json, got {' '.join(rest)}", file=sys.stderr)
        return 2
    from explorer import selftest

    return selftest.run(as_json=bool(rest))


if __name__ == "__main__":
    sys.exit(main())
