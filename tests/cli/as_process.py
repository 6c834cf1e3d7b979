"""The CLI run as a user runs it, in its own process: exit code, stdout and stderr as they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def cli(*args, check_rc: int = 0) -> subprocess.CompletedProcess:
    """`python -m explorer ARGS` with no display; asserts the exit code."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-m", "explorer", *map(str, args)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.returncode == check_rc, out.stderr
    return out


def cli_json(*args) -> dict:
    """The one-line `--json` answer of a command that must succeed."""
    out = cli(*args, "--json")
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout
    return json.loads(lines[0])


def one_error_line(out: subprocess.CompletedProcess) -> str:
    """The single `error: …` line a refused command prints."""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]
