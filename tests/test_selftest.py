"""`embedding-explorer --selftest`: every capability passes here, failures are named, and the
user's library is left alone. The end-to-end run takes ~30-60 s (numba compiles cold in the
test's fresh home)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from default_model import needs_minilm

from explorer import selftest


@needs_minilm
def test_selftest_passes_in_a_subprocess_without_touching_the_library(explorer_home):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "explorer", "--selftest", "--json"],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    report = json.loads(done.stdout)
    assert done.returncode == 0, report
    assert report["ok"] and not report["failed"]
    names = [c["name"] for c in report["checks"]]
    assert names == [name for name, _ in selftest.CHECKS]
    assert {c["status"] for c in report["checks"]} <= {"PASS", "SKIP"}
    assert all(c["detail"] for c in report["checks"])
    # the checks ran in a temporary library: the user's (here the test's) has no sets
    assert not (explorer_home / "sets").exists()


def test_a_failing_check_is_named_and_later_checks_say_why_they_did_not_run(monkeypatch):
    def load(ctx):
        raise OSError("disk on fire")

    def library(ctx):
        ctx.need("parquet", "load")
        return "never"

    monkeypatch.setattr(selftest, "CHECKS", [("load", load), ("library", library),
                                             ("extra", lambda ctx: "fine")])
    out = io.StringIO()
    assert selftest.run(out=out) == 1
    text = out.getvalue()
    assert "FAIL  load" in text and "OSError: disk on fire" in text
    assert "FAIL  library" in text and "needs the load check" in text
    assert "PASS  extra" in text
    assert "2 of 3 checks failed (load, library)" in text


@pytest.mark.parametrize("argv", [["--selftest", "--bogus"], ["--selftest", "--json", "x"]])
def test_selftest_takes_only_json(argv, capsys):
    from explorer.__main__ import main

    assert main(argv) == 2
    assert "--selftest takes only --json" in capsys.readouterr().err


def test_the_report_ends_with_the_compile_count(monkeypatch):
    monkeypatch.setattr(selftest, "CHECKS", [("extra", lambda ctx: "fine")])
    out = io.StringIO()
    assert selftest.run(out=out) == 0
    assert out.getvalue().splitlines()[-2:] == ["numba compiles: 0", "all 1 checks passed in " +
                                                out.getvalue().split("passed in ")[1].strip()]
    out = io.StringIO()
    selftest.run(as_json=True, out=out)
    assert json.loads(out.getvalue())["compiles"] == 0
