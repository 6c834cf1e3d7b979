"""The `compare` command: its JSON object is compare_sets' to_dict, its Parquet the per-item
table, and each mistake one `error:` line with exit status 2. Sets: 2,000 of the shipped
demo's real 384-d vectors, a rotation of them and a PCA-96 reduction with shuffled rows."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from as_process import cli, one_error_line
from in_process import cli_error, cli_json

from explorer.cli import compare as compare_cli
from explorer.cli import run
from explorer.compute import compare
from explorer.compute.demo_resource import read_shipped
from explorer.core.library import Library

N = 2000
SPEC = {"count", "k", "join", "sampled", "mean_overlap", "median_overlap", "rank_correlation",
        "cka", "procrustes_residual", "most_changed", "least_changed", "out"}


@pytest.fixture(scope="module")
def demo():
    shipped = read_shipped()
    return np.asarray(shipped.vectors[:N], dtype=np.float32), shipped.table.slice(0, N)


def write(path, x, table, rows=None):
    rows = np.arange(len(x)) if rows is None else rows
    pq.write_table(pa.table({"id": table.column("id").take(pa.array(rows)),
                             "area": table.column("area").take(pa.array(rows)),
                             "embedding": list(x[rows])}), path)
    return path


@pytest.fixture
def files(demo, tmp_path):
    x, table = demo
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(384, 384)))
    centred = x.astype(np.float64) - x.mean(axis=0)
    basis = np.linalg.svd(centred, full_matrices=False)[2][:96]
    shuffled = np.random.default_rng(2).permutation(N)
    return {"a": write(tmp_path / "a.parquet", x, table),
            "rotated": write(tmp_path / "rotated.parquet", (x @ q).astype(np.float32), table),
            "pca": write(tmp_path / "pca.parquet", (centred @ basis.T).astype(np.float32), table,
                         shuffled),
            "fewer": write(tmp_path / "fewer.parquet", x, table, np.arange(5, N)),
            "other": write(tmp_path / "other.parquet", x[:50], table.slice(0, 50).set_column(
                0, "id", pa.array([f"other-{i}" for i in range(50)])))}


def test_json_is_the_core_comparison_and_out_its_table(files, tmp_path, capsys):
    out = tmp_path / "items.parquet"
    got = cli_json(capsys, "compare", files["a"], files["pca"], "-k", 10, "--by", "area",
                   "--out", out)
    assert SPEC | {"by_category"} <= set(got)
    assert (got["count"], got["k"], got["join"], got["sampled"]) == (N, 10, "id", None)
    assert got["procrustes_residual"] is None and (got["dim_a"], got["dim_b"]) == (384, 96)
    assert 0.3 < got["mean_overlap"] < 0.99 and 0.5 < got["cka"] <= 1
    assert len(got["most_changed"]) == len(got["least_changed"]) == 10
    assert {"row", "id", "label", "overlap"} <= set(got["most_changed"][0])
    assert got["out"] == str(out)
    # the same numbers as the core, on the sets the command imported
    library = Library()
    a, b = library.open_or_import(str(files["a"])), library.open_or_import(str(files["pca"]))
    core = compare.compare_sets(a, b, k=10, by="area")
    expected = core.to_dict(a, b)
    for key in ("seconds", "out"):
        got.pop(key), expected.pop(key)
    assert got == json.loads(json.dumps(expected))  # as the command prints it
    table = pq.read_table(out)
    assert table.column_names == ["row_a", "row_b", "id", "label", "overlap",
                                  "rank_correlation", "residual"]
    assert table.num_rows == N
    np.testing.assert_array_equal(table.column("overlap").to_numpy(), core.overlap)
    assert table.column("id").to_pylist() == a.metadata.column("id").to_pylist()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_rotation_and_a_set_with_itself(files, capsys):
    got = cli_json(capsys, "compare", files["a"], files["rotated"], "--join", "row")
    assert got["mean_overlap"] == pytest.approx(1.0, abs=2e-3)
    assert got["cka"] == pytest.approx(1.0, abs=1e-6)
    assert got["procrustes_residual"] == pytest.approx(0.0, abs=1e-6)
    same = cli_json(capsys, "compare", files["a"], files["a"], "-k", 5)
    assert same["mean_overlap"] == 1.0 and same["count"] == N


def test_missing_ids_are_reported_and_a_sample_is_stated(files, capsys):
    got = cli_json(capsys, "compare", files["a"], files["fewer"], "--sample", 300, "--seed", 3)
    report = got["join_report"]
    assert (got["count"], report["only_in_a"], report["only_in_b"]) == (N - 5, 5, 0)
    assert len(report["examples_only_in_a"]) == 5
    assert got["sampled"] == 300 and got["seed"] == 3


def test_human_output(files, capsys):
    assert run(["compare", str(files["a"]), str(files["pca"]), "--by", "area"]) == 0
    out = capsys.readouterr().out
    assert "neighbour overlap: mean" in out and "linear CKA" in out
    assert "Procrustes residual n/a (384 vs 96 dimensions)" in out
    assert "most changed:" in out and "by area:" in out
    assert run(["compare", str(files["a"]), str(files["fewer"])]) == 0
    assert "not joined: 5 only in A" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["-k", "0"], "k must be at least 1"),
    (["-k", str(N)], f"k must be between 1 and {N - 1}"),
    (["--by", "nope"], "column nope: in neither set A nor set B (their columns: "),
    (["--sample", "0"], "the sample must be at least 1"),
    (["--out", "items.xlsx"], "cannot write .xlsx"),
])
def test_bad_arguments_are_one_line(files, capsys, args, words):
    assert words in cli_error(capsys, "compare", files["a"], files["pca"], *args)


def test_sets_that_do_not_join(files, capsys):
    assert "no ids in common" in cli_error(capsys, "compare", files["a"], files["other"])
    assert "set A has 2,000 items and set B 50" in cli_error(
        capsys, "compare", files["a"], files["other"], "--join", "row")


def test_as_a_user_runs_it(files):
    line = one_error_line(cli("compare", files["a"], files["other"], "--json", check_rc=2))
    assert "no ids in common" in line and "Traceback" not in line


def test_join_choices_are_the_cores():
    assert compare_cli.JOINS == compare.JOINS
