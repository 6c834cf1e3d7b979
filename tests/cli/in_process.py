"""The CLI called in this process, as `main` is: its JSON answer, or its one error line."""

from __future__ import annotations

import json

from explorer.cli import run


def cli_json(capsys, *args):
    """The parsed `--json` answer of a command that must succeed."""
    code = run([*map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def cli_error(capsys, *args) -> str:
    """The one `error: …` line of a command refused as a user mistake (exit 2, nothing out)."""
    code = run([*map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]
