"""The library from the command line (issue 22): one copy per source, unique names, du, gc."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from as_process import cli, cli_json, one_error_line
from disk_usage import walk_bytes
from onnx_models import bert_like, write_folder
from test_encoding_pipeline import write_docs


@pytest.fixture
def vecs(tmp_path) -> Path:
    path = tmp_path / "vecs.npy"
    np.save(path, np.random.default_rng(0).normal(size=(500, 16)).astype(np.float32))
    return path


def test_the_same_file_three_times_is_one_set_and_new_makes_a_second(vecs):
    first = cli_json("import", vecs, "--name", "v")
    second = cli_json("import", vecs, "--name", "v")
    third = cli_json("import", vecs)
    assert [r["reused"] for r in (first, second, third)] == [False, True, True]
    assert first["id"] == second["id"] == third["id"] == "v"
    assert [s["id"] for s in cli_json("list")["sets"]] == ["v"]
    assert cli_json("neighbours", "v", "--row", "0", "-k", "3")["set"] == "v"
    copy = cli_json("import", vecs, "--new")
    assert not copy["reused"] and copy["id"] != "v" and copy["name"] == "vecs"
    again = cli_json("import", vecs, "--new")
    assert again["name"] == "vecs (2)"
    names = [s["name"] for s in cli_json("list")["sets"]]
    assert sorted(names) == ["v", "vecs", "vecs (2)"] and len(set(names)) == 3
    assert cli("import", vecs).stdout.startswith("reused the stored set ")


def test_other_options_are_another_set_named_by_them(vecs, tmp_path):
    plain = cli_json("import", vecs)
    dot = cli_json("import", vecs, "--metric", "dot")
    assert (plain["name"], dot["name"], dot["reused"]) == ("vecs", "vecs (dot)", False)
    assert cli_json("import", vecs, "--metric", "dot")["id"] == dot["id"]
    assert dot["import_options"]["metric"] == "dot" and dot["import_options"]["version"] == 1


def test_a_taken_name_is_one_line_and_replace_swaps_it(vecs, tmp_path):
    other = tmp_path / "other.npy"
    np.save(other, np.ones((7, 16), np.float32))
    cli_json("import", vecs, "--name", "v")
    line = one_error_line(cli("import", other, "--name", "v", check_rc=2))
    assert f"already has a set called 'v': v (from {vecs.resolve()}, imported " in line
    assert "--replace" in line
    swapped = cli_json("import", other, "--name", "v", "--replace")
    assert swapped["name"] == "v" and swapped["count"] == 7
    assert [(s["name"], s["count"]) for s in cli_json("list")["sets"]] == [("v", 7)]


def test_encode_refuses_a_taken_name_before_encoding(vecs, tmp_path):
    cli_json("import", vecs, "--name", "v")
    (tmp_path / "a.md").write_text("some words to encode")
    line = one_error_line(cli("encode", tmp_path / "a.md", "--model", "nosuch", "--out", "v",
                              check_rc=2))
    assert "already has a set called 'v'" in line  # not the missing model: nothing ran


def test_rename_keeps_names_unique(vecs, tmp_path):
    other = tmp_path / "other.npy"
    np.save(other, np.ones((7, 16), np.float32))
    a = cli_json("import", vecs)
    b = cli_json("import", other)
    line = one_error_line(cli("rename", b["id"], "vecs", check_rc=2))
    assert "already has a set called 'vecs'" in line
    assert cli_json("rename", b["id"], "ones")["renamed"]["name"] == "ones"
    assert cli_json("filter", "ones", "true")["set"] == b["id"]
    assert cli_json("filter", a["id"], "true")["count"] == 500


def test_an_ambiguous_name_of_an_older_library_lists_its_sets(vecs, tmp_path, explorer_home):
    other = tmp_path / "other.npy"
    np.save(other, np.ones((7, 16), np.float32))
    cli_json("import", vecs, "--name", "v")
    b = cli_json("import", other, "--name", "w")
    manifest = Path(b["path"]) / "manifest.json"  # as an older version could have written it
    manifest.write_text(manifest.read_text().replace('"name": "w"', '"name": "v"'))
    line = one_error_line(cli("neighbours", "v", "--row", "0", check_rc=2))
    assert line.startswith("error: several library sets are called 'v': ")
    assert f"v (from {vecs.resolve()}, imported " in line
    assert f"{b['id']} (from {other.resolve()}, imported " in line


def test_du_total_is_the_library_folder_s_size(vecs, explorer_home):
    cli_json("import", vecs)
    cli_json("index", "vecs", "--kind", "hnsw")
    cli_json("project", "vecs", "--method", "pca")
    report = cli_json("du")
    assert report["total"] == walk_bytes(explorer_home)
    if shutil.which("du"):
        du = subprocess.run(["du", "-sb", str(explorer_home)], capture_output=True, text=True)
        assert report["total"] == int(du.stdout.split()[0])
    [s] = report["sets"]
    folder = Path(s["path"])
    assert s["vectors"] == (folder / "vectors.npy").stat().st_size
    assert s["metadata"] == (folder / "metadata.parquet").stat().st_size
    assert {"index", "projection"} <= set(s["artefacts"])
    assert s["artefacts"]["projection"] == walk_bytes(folder / "artifacts" / "projection")
    assert s["total"] == walk_bytes(folder)
    assert "vecs" in cli("du").stdout


# --- gc after killed imports and abandoned encodes ---------------------------------------

# The real CLI in a child process, held once it has written the vectors into its partial
# folder (the next step is the metadata), so it can be killed there with SIGKILL.
HELD_CLI = """
import sys
from explorer.core import jobs

real = jobs.TaskState.status

def status(self, text):
    real(self, text)
    if text.startswith(sys.argv[1]) and not status.held:
        status.held = True
        print("held", flush=True)
        sys.stdin.readline()
status.held = False
jobs.TaskState.status = status
from explorer.cli import run
sys.exit(run(sys.argv[2:]))
"""


def held_cli(at: str, *args) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HELD_CLI, at, *map(str, args)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert child.stdout.readline() == "held\n"
    return child


def kill9(child: subprocess.Popen) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.wait()


def test_gc_frees_what_killed_imports_and_encodes_left(tmp_path, explorer_home, vecs):
    big = tmp_path / "big.npy"
    np.save(big, np.random.default_rng(1).normal(size=(40_000, 128)).astype(np.float32))
    model = str(write_folder(tmp_path / "model", bert_like()))
    docs = write_docs(tmp_path / "docs", files=4, paragraphs=60)
    notes = write_docs(tmp_path / "notes", files=2, paragraphs=30, seed=1)
    kept = cli_json("import", vecs)
    for _ in range(2):  # two imports killed half-way through
        kill9(held_cli("Writing metadata", "import", big, "--new"))
    kill9(held_cli("Encoding with model:", "encode", docs, "--model", model, "--batch-size", "2",
                   "--chunk-tokens", "12", "--overlap-tokens", "2"))
    running = held_cli("Encoding with model:", "encode", notes, "--model", model,
                       "--batch-size", "2", "--chunk-tokens", "12", "--overlap-tokens", "2",
                       "--json")
    try:
        sets = explorer_home / "sets"
        # the second import swept what the first left; its own partial folder is still there
        [partial] = [p for p in sets.iterdir() if p.name.startswith(".partial-")]
        assert (partial / "vectors.npy").stat().st_size > 40_000 * 128 * 4
        jobs = explorer_home / "encode-jobs"
        assert len([p for p in jobs.iterdir() if p.is_dir()]) == 2
        before = cli_json("du")
        waste = sum(p["bytes"] for p in before["partial"]) + sum(
            w["bytes"] for w in before["encode_work"] if w["in_use"] is None)
        assert waste > 40_000 * 128 * 4
        dry = cli_json("gc", "--dry-run")
        assert dry["freed"] == waste and cli_json("du")["total"] == before["total"]
        done = cli_json("gc")
        assert done["freed"] == waste
        assert sorted(r["what"] for r in done["removed"]) == ["encode work", "partial folder"]
        assert [k["what"] for k in done["kept"]] == ["encode work"]
        after = cli_json("du")
        assert after["total"] == before["total"] - waste == walk_bytes(explorer_home)
        assert not [p for p in sets.iterdir() if p.name.startswith(".partial-")]
        assert cli_json("filter", kept["id"], "true")["count"] == 500
        running.stdin.write("go on\n")
        running.stdin.flush()
        finished = json.loads(running.communicate(timeout=300)[0].strip().splitlines()[-1])
        assert running.returncode == 0
    finally:
        if running.poll() is None:
            kill9(running)
    assert [p for p in jobs.iterdir()] == []  # the run removed its own work when it finished
    for s in cli_json("list")["sets"]:  # every set opens
        assert cli_json("filter", s["id"], "true")["count"] == s["count"]
    assert {s["id"] for s in cli_json("list")["sets"]} == {kept["id"], finished["set"]}
    assert cli_json("gc")["removed"] == []
