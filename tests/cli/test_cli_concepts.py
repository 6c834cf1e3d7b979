"""The `concept` command: its JSON contract on a planted direction, files it writes, clear errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.cli import run
from explorer.compute import concepts as cc
from explorer.core.library import Library

N, D = 1500, 32


@pytest.fixture
def planted(tmp_path):
    """Vectors moved along a random unit direction u by a strength t; `grp` splits on t."""
    rng = np.random.default_rng(11)
    u = rng.normal(size=D)
    u /= np.linalg.norm(u)
    t = rng.normal(size=N)
    x = rng.normal(size=(N, D)) * 0.4 + 2.0 * t[:, None] * u
    path = tmp_path / "planted.parquet"
    pq.write_table(pa.table({
        "id": [f"i{i}" for i in range(N)],
        "grp": np.where(t < -0.5, "low", np.where(t > 0.5, "high", "mid")).tolist(),
        "strength": t + rng.normal(size=N) * 0.2,
        "vec": list(x.astype(np.float32))}), path)
    return path, u, t


def concept(capsys, *args):
    assert run(["concept", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_filters_give_the_planted_direction_with_its_validity(planted, tmp_path, capsys):
    path, u, t = planted
    out = tmp_path / "d.json"
    got = concept(capsys, path, "--where-a", "grp = 'low'", "--where-b", "grp = 'high'",
                  "--against", "strength", "--out", out, "--top", "5")
    assert got["method"] == "where" and got["out"] == str(out)
    assert got["heldout_accuracy"] > 0.95 and got["spearman"] > 0.8 and got["warnings"] == []
    [direction] = cc.read_json(out)
    assert abs(float(direction.vector @ u)) > 0.95
    # the ends are the items furthest along -u and +u
    es = Library().open(got["set"])
    x = np.asarray(es.vectors, dtype=np.float64)
    cos = x @ direction.vector / np.linalg.norm(x, axis=1)
    assert [i["row"] for i in got["top_a"]] == np.argsort(cos)[:5].tolist()
    assert [i["row"] for i in got["top_b"]] == np.argsort(-cos)[:5].tolist()
    assert all(t[i["row"]] < 0 for i in got["top_a"]) and all(t[i["row"]] > 0 for i in got["top_b"])


def test_a_probe_from_rows_is_saved_with_the_set(planted, capsys):
    path, u, t = planted
    low, high = np.flatnonzero(t < -1)[:60], np.flatnonzero(t > 1)[:60]
    got = concept(capsys, path, "--rows-a", *low, "--rows-b", *high, "--probe", "--save",
                  "--name", "strength")
    assert got["method"] == "probe" and got["saved"] and got["heldout_accuracy"] > 0.9
    es = Library().open(got["set"])
    assert cc.DirectionStore(es).names() == ["strength"]
    assert abs(float(cc.DirectionStore(es).get("strength").vector @ u)) > 0.9


def test_two_extreme_items_checked_against_labelled_groups(planted, capsys):
    path, u, t = planted
    low, high = int(np.argmin(t)), int(np.argmax(t))
    got = concept(capsys, path, "--rows-a", low, "--rows-b", high, "--check-a", "grp = 'low'",
                  "--check-b", "grp = 'high'")
    v = got["validity"]
    assert v["n_a"] == int(np.sum(t < -0.5)) and v["n_b"] == int(np.sum(t > 0.5))
    assert got["heldout_accuracy"] > 0.9


def test_a_group_against_the_rest_is_the_apps_compare_with_the_rest(planted, capsys):
    path, u, _ = planted
    got = concept(capsys, path, "--rest", "--where-b", "grp = 'high'", "--save", "--name", "hi")
    es = Library().open(got["set"])
    high = np.flatnonzero(np.asarray(es.metadata.column("grp").to_pylist()) == "high")
    same = cc.from_rest(es, high)  # what the Concepts panel builds for a selection
    saved = cc.DirectionStore(es).get("hi")
    assert np.allclose(saved.vector, same.vector) and float(saved.vector @ u) > 0.9
    assert got["label_a"] == "the rest" and got["heldout_accuracy"] > 0.8  # mid items lie between
    assert got["validity"]["n_b"] == len(high) and got["validity"]["n_a"] == N - len(high)


@pytest.mark.parametrize("args, fragment", [
    (["--rest"], "give pole B once"),
    (["--rest", "--rows-a", "1", "--rows-b", "2"], "give only pole B"),
    (["--rest", "--where-b", "grp = 'high'", "--probe"], "without texts or a probe"),
    (["--where-a", "grp = 'low'"], "pole B is missing"),
    (["--where-a", "grp = 'low'", "--where-b", "grp = 'nosuch'"], "matches no items"),
    (["--texts-a", "small", "--texts-b", "large"], "ONNX"),
    (["--where-a", "grp = 'low'", "--where-b", "grp = 'high'", "--against", "grp"], "numeric"),
    (["--rows-a", "1", "--rows-b", "1"], "both"),
    (["--rows-a", "1", "--rows-b", "2", "--check-a", "grp = 'low'"], "go together"),
])
def test_errors_are_one_line_exit_2(planted, capsys, args, fragment):
    path, _, _ = planted
    code = run(["concept", str(path), *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines


def test_as_a_user_sees_it(planted):
    path, _, _ = planted
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "explorer", "concept", str(path), "--where-a",
                           "grp = 'low'", "--where-b", "grp = 'high'", "--top", "3"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "held-out accuracy" in done.stdout and "grp = 'high' end:" in done.stdout
