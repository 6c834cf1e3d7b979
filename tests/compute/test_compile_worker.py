"""The compile worker: started once by the app unless this setup's marker exists, stopped on
quit; its process runs the warm-up, reports each step and writes the marker at the end."""

from __future__ import annotations

import json
import sys

import pytest

from explorer.compute import warm_up
from explorer.compute.numba import compile_worker


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """A fresh Worker whose marker lives in tmp_path and whose process only sleeps."""
    marker = tmp_path / "compiled-test.json"
    monkeypatch.setattr(compile_worker, "marker_path", lambda cache_dir=None: marker)
    monkeypatch.setattr(compile_worker, "command", lambda m: [
        sys.executable, "-c", "import time; time.sleep(60)"])
    w = compile_worker.Worker()
    monkeypatch.setattr(compile_worker, "WORKER", w)
    monkeypatch.delenv(compile_worker.FAST_START_ENV, raising=False)
    yield w
    w.stop()


def test_the_app_starts_the_worker_once_and_stops_it(worker):
    assert compile_worker.done() and not compile_worker.running()
    compile_worker.request()  # not enabled by the app (the CLI): no worker
    assert worker.proc is None
    compile_worker.start()
    first = worker.proc
    assert compile_worker.running() and not compile_worker.done()
    compile_worker.start()
    compile_worker.request()
    assert worker.proc is first
    compile_worker.stop()
    assert compile_worker.done() and first.poll() is not None


def test_a_marker_means_no_worker(worker, tmp_path):
    (tmp_path / "compiled-test.json").write_text("{}")
    compile_worker.start()
    assert worker.proc is None and compile_worker.done()


def test_fast_start_off_starts_no_worker(worker, monkeypatch):
    monkeypatch.setenv(compile_worker.FAST_START_ENV, "0")
    compile_worker.start()
    assert worker.proc is None and compile_worker.done()


def test_the_worker_process_warms_up_then_writes_the_marker(tmp_path, monkeypatch):
    marker = tmp_path / "compiled-x.json"
    seen = []

    def fake_warm_up(state):
        state.status("step one")
        seen.append(json.loads((tmp_path / "compiled-x.json.progress").read_text())["steps"])
        assert not marker.exists()
        return {"seconds": 0.1}

    monkeypatch.setattr(warm_up, "warm_up", fake_warm_up)
    monkeypatch.setattr(compile_worker.os, "nice", lambda n: 0)
    assert compile_worker.main(["--marker", str(marker)]) == 0
    assert seen == [["step one"]]
    assert json.loads(marker.read_text())["warm_up"] == {"seconds": 0.1}
    assert json.loads((tmp_path / "compiled-x.json.progress").read_text())["steps"][-1] == "done"


def test_the_marker_names_this_setup(monkeypatch, tmp_path):
    path = compile_worker.marker_path(tmp_path)
    assert path.parent == tmp_path and path.name.startswith("compiled-")
    assert path == compile_worker.marker_path(tmp_path)  # stable within a checkout


def test_the_frozen_app_runs_the_worker_with_a_flag(monkeypatch):
    """The bundle has no `python -m`: its executable takes --compile-kernels instead."""
    from explorer import __main__ as entry

    seen = []
    monkeypatch.setattr(compile_worker, "main", lambda argv: seen.append(argv) or 0)
    assert entry.main([compile_worker.FLAG, "--marker", "m.json"]) == 0
    assert seen == [["--marker", "m.json"]]
    monkeypatch.setattr(compile_worker.sys, "frozen", True, raising=False)
    assert compile_worker.command(compile_worker.Path("m.json"))[1:] == [
        compile_worker.FLAG, "--marker", "m.json"]
