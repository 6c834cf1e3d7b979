"""The command table: every entry is a subcommand the entry point recognises and that can
print its result as one JSON object."""

from __future__ import annotations

import argparse

from explorer import cli


def test_every_command_is_recognised_and_offers_json() -> None:
    names = [command.name for command in cli.COMMANDS]
    assert len(names) == len(set(names))
    assert "{" + ",".join(names) + "}" in cli.build_parser().format_usage()  # in table order
    for command in cli.COMMANDS:
        assert cli.wants_cli([command.name])
        parser = argparse.ArgumentParser()
        command.add_arguments(parser)
        assert "--json" in parser.format_help(), command.name
