"""The start-up timeline: silent without $EXPLORER_TIMELINE, one JSON line per moment with
it, timed from the process's start, and the moments a real launch marks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute.demo import DEMO_NAME
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui import app as ui_app
from explorer.ui import timeline
from explorer.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]
WAIT = 300  # s: only how long a broken launch may hang the test (numba compiles cold)


@pytest.fixture
def marks_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "timeline.jsonl"
    monkeypatch.setenv(timeline.ENV, str(path))
    monkeypatch.setattr(timeline, "_seen", set())
    return path


def test_without_the_variable_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(timeline.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    timeline.mark("window_shown")
    timeline.mark_first("map_drawn", "pca")
    assert list(tmp_path.iterdir()) == []


def test_marks_are_json_lines_in_order_with_their_info(marks_file):
    timeline.mark("process_start")
    timeline.mark("map_drawn", method="pca", mode="points", n=500)
    marks = timeline.read(marks_file)
    assert [m["name"] for m in marks] == ["process_start", "map_drawn"]
    assert marks[1] | {"t": 0, "mono": 0} == {"t": 0, "mono": 0, "name": "map_drawn",
                                                "method": "pca", "mode": "points", "n": 500}
    assert 0 <= marks[0]["t"] <= marks[1]["t"] and marks[0]["mono"] <= marks[1]["mono"]


def test_mark_first_marks_each_name_and_key_once(marks_file):
    for method in ("pca", "pca", "umap", "pca", "umap"):
        timeline.mark_first("map_drawn", method, method=method)
    timeline.mark_first("window_shown")
    timeline.mark_first("window_shown")
    assert [(m["name"], m.get("method")) for m in timeline.read(marks_file)] == \
        [("map_drawn", "pca"), ("map_drawn", "umap"), ("window_shown", None)]


def test_a_file_that_cannot_be_written_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv(timeline.ENV, str(tmp_path))  # a folder: open() fails
    timeline.mark("window_shown", n=1)


def test_read_skips_a_line_being_written_and_a_missing_file(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"t": 1.0, "name": "window_shown"}\n{"t": 2.0, "na')
    assert timeline.read(path) == [{"t": 1.0, "name": "window_shown"}]
    assert timeline.read(tmp_path / "none.jsonl") == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_times_count_from_the_process_start_not_the_import(tmp_path):
    path = tmp_path / "t.jsonl"
    code = "import time; time.sleep(0.5); from explorer.ui import timeline; timeline.mark('x')"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   env=dict(os.environ, EXPLORER_TIMELINE=str(path), PYTHONPATH=str(REPO)))
    (mark,) = timeline.read(path)
    assert mark["t"] >= 0.5  # the sleep before the import is counted


def test_importing_the_timeline_loads_nothing_heavy():
    code = ("import sys; from explorer.ui import timeline; "
            "print(sorted(m for m in ('numpy', 'PySide6', 'numba', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, text=True,
                         capture_output=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert out.stdout.strip() == "[]"


def test_the_window_marks_its_first_paint_the_demo_and_each_map_method(qtbot, marks_file,
                                                                        explorer_home):
    library = Library(explorer_home)
    table = pa.table({"id": [f"d{i}" for i in range(300)]})
    vectors = np.random.default_rng(1).normal(size=(300, 8)).astype(np.float32)
    entry = library.import_set(EmbeddingSet(vectors, table, name=DEMO_NAME, format="test",
                                            id_column="id"))
    window = MainWindow(library, restore=False)
    qtbot.addWidget(window)
    ui_app.follow_timeline(window)
    try:
        window.show()
        qtbot.waitUntil(lambda: bool(timeline.read(marks_file)), timeout=30000)
        window.open_library_set(entry.id)
        qtbot.waitUntil(lambda: any(m["name"] == "map_drawn" for m in timeline.read(marks_file)),
                        timeout=30000)
        window.map_view.renderFinished.emit("points", 300)  # a redraw: not a first map
        window.map_view.projection_info["method"] = "umap"
        window.map_view.renderFinished.emit("points", 300)  # the first UMAP drawing
    finally:
        window.jobs.shutdown()
    marks = timeline.read(marks_file)
    assert [m["name"] for m in marks] == ["window_shown", "demo_ready", "map_drawn", "map_drawn"]
    assert marks[1]["n"] == 300
    assert [(m["method"], m["mode"], m["n"]) for m in marks[2:]] == \
        [("pca", "points", 300), ("umap", "points", 300)]


def test_the_warm_up_marks_its_start_and_end(marks_file, monkeypatch):
    monkeypatch.setattr(ui_app, "warm_up", lambda state: None)
    ui_app.warm_up_in_background().join(30)
    assert [m["name"] for m in timeline.read(marks_file)] == ["kernels_started", "kernels_ready"]


def test_a_real_launch_marks_start_window_set_and_map(tmp_path):
    np.save(tmp_path / "small.npy", np.random.default_rng(0).normal(size=(500, 16))
            .astype(np.float32))
    path = tmp_path / "t.jsonl"
    env = dict(os.environ, EXPLORER_TIMELINE=str(path), EXPLORER_HOME=str(tmp_path / "home"),
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    app = subprocess.Popen([sys.executable, "-m", "explorer", str(tmp_path / "small.npy")],
                           env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + WAIT
        while app.poll() is None and time.monotonic() < deadline \
                and not any(m["name"] == "map_drawn" for m in timeline.read(path)):
            time.sleep(0.2)
        assert app.poll() is None, app.stderr.read()
    finally:
        app.kill()
        app.wait()
    marks = {m["name"]: m for m in timeline.read(path)}
    assert {"process_start", "window_shown", "set_opened", "map_drawn"} <= marks.keys()
    assert marks["process_start"]["t"] < marks["window_shown"]["t"] < marks["map_drawn"]["t"]
    assert marks["set_opened"]["n"] == 500
    assert (marks["map_drawn"]["method"], marks["map_drawn"]["n"]) == ("pca", 500)
