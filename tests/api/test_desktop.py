"""explorer.show: the app starts on the stored set in its own process (offscreen here), the
call returns at once, and the process and everything it started end with it."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import explorer
from explorer.api.desktop import app_command
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.ui import timeline
from explorer.ui.app import run_gui

REPO = Path(__file__).resolve().parents[2]
WAIT = 300  # s: only how long a broken start may hang the test (numba may compile cold)


def group_alive(pgid: int) -> list[str]:
    """The processes of group `pgid` still there (zombies included), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # state, ppid, pgrp
            found.append(f"{stat.parent.name} {fields[0]}")
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_show_opens_the_app_on_an_array_and_nothing_is_left(tmp_path, monkeypatch):
    marks = tmp_path / "timeline.jsonl"
    monkeypatch.setenv(timeline.ENV, str(marks))
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH",
                                                                                   "")]))
    x = np.random.default_rng(0).normal(size=(700, 16)).astype(np.float32)
    start = time.monotonic()
    app = explorer.show(x, {"name": [f"p{i}" for i in range(700)]},
                        args=["--quit-after-load"])
    try:
        assert time.monotonic() - start < 30  # it did not wait for the window
        (entry,) = Library().entries()
        assert app.args == [sys.executable, "-m", "explorer", "--set", entry.id,
                            "--quit-after-load"]
        assert os.getpgid(app.pid) == app.pid  # its own session: a Ctrl-C here spares it
        assert app.wait(WAIT) == 0
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
    seen = {m["name"]: m for m in timeline.read(marks)}
    assert {"window_shown", "set_opened", "map_drawn"} <= seen.keys()
    assert seen["set_opened"]["n"] == 700 and seen["map_drawn"]["n"] == 700
    assert group_alive(app.pid) == []  # the compile worker, if it started, was stopped


def test_a_stored_set_takes_no_metadata_and_an_unknown_one_is_one_line(capsys):
    s = explorer.load(np.eye(5, dtype=np.float32) + 1)
    assert app_command(s.id) == [sys.executable, "-m", "explorer", "--set", s.id]
    with pytest.raises(InputError, match=f"metadata applies to vectors being stored, and set "
                                         f"'{s.id}' is stored already"):
        explorer.show(s, {"tag": list(range(5))})
    # the app refuses a set that is not there before it opens a window, in the CLI's words
    assert run_gui(["--set", "no-such-set", "--quit-after-load"]) == 2
    assert capsys.readouterr().err == "error: no library set 'no-such-set' (`embedding-explorer " \
                                      "list` shows the sets)\n"


def test_the_frozen_app_is_started_as_itself(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/embedding-explorer/embedding-explorer")
    assert app_command("s1", ["--diagnose"]) == [
        "/opt/embedding-explorer/embedding-explorer", "--set", "s1", "--diagnose"]
