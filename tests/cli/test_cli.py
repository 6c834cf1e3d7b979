"""The CLI's JSON contract and its one-line errors, run as a user would (subprocess)."""


import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from as_process import cli, cli_json

INSPECT_KEYS = {"format", "count", "dim", "dtype", "columns", "vector_column", "nan_rows", "zero_rows"}


@pytest.fixture
def parquet_file(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(120, 24)).astype(np.float32)
    vectors[7] = np.nan
    vectors[8] = 0
    path = tmp_path / "news.parquet"
    pq.write_table(pa.table({
        "id": [f"n{i}" for i in range(120)],
        "section": ["games", "world", "sport"] * 40,
        "size": list(range(120)),
        "title": [f"headline number {i}" for i in range(120)],
        "embedding": list(vectors),
    }), path)
    return path


def test_inspect_json_contract(parquet_file):
    result = cli_json("inspect", parquet_file)
    assert INSPECT_KEYS <= set(result)
    assert result["format"] == "parquet"
    assert (result["count"], result["dim"], result["dtype"]) == (120, 24, "float32")
    assert result["columns"] == ["id", "section", "size", "title"]
    assert result["vector_column"] == "embedding"
    assert (result["nan_rows"], result["zero_rows"]) == (1, 1)


def test_import_list_filter_search_remove(parquet_file):
    out = cli("import", parquet_file, "--name", "news", "--json", check_rc=2)
    assert out.stderr.startswith("error: ") and "NaN" in out.stderr and "--drop-nonfinite" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    entry = cli_json("import", parquet_file, "--name", "news", "--drop-nonfinite", "--model", "toy",
                     "--trust-model")
    assert (entry["id"], entry["count"], entry["dim"], entry["model"]) == ("news", 119, 24, "toy")
    listed = cli_json("list")
    assert [s["id"] for s in listed["sets"]] == ["news"]
    hits = cli_json("filter", "news", "section = 'games' and size > 100")
    assert hits["count"] == 6
    assert all(item["section"] == "games" and item["size"] > 100 for item in hits["items"])
    found = cli_json("search", "news", "NUMBER 11")
    assert found["count"] == 11  # 'number 11' and 'number 110'..'119'
    out = cli("filter", "news", "nosuchcolumn = 1", check_rc=2)
    assert out.stderr.startswith("error: filter") and "nosuchcolumn" in out.stderr
    assert cli_json("remove", "news")["removed"]["id"] == "news"
    assert cli_json("list")["sets"] == []


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p.with_suffix(".npy").write_bytes(b"garbage" * 20), "npy"),
    (lambda p: p.with_suffix(".xyz").write_text("hello"), "unknown file type"),
    (lambda p: p.with_suffix(".csv").write_text("a,b\n1,2\n3\n"), "line 3"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, make, fragment):
    make(tmp_path / "bad")
    path = next(tmp_path.glob("bad.*"))
    out = cli("inspect", path, "--json", check_rc=2)
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert "Traceback" not in out.stderr


def test_usage_errors_exit_2(tmp_path):
    out = cli("inspect", check_rc=2)
    assert "error:" in out.stderr
    out = cli("screenshot", tmp_path / "x.npy", "--out", tmp_path / "s.png", "--size", "big",
              check_rc=2)
    assert "error:" in out.stderr


def test_screenshot_writes_png_of_main_window(parquet_file, tmp_path):
    vectors = np.random.default_rng(3).normal(size=(300, 8)).astype(np.float32)
    path = tmp_path / "v.npy"
    np.save(path, vectors)
    out = tmp_path / "shot.png"
    result = cli_json("screenshot", path, "--out", out, "--size", "900x600")
    assert result["out"] == str(out) and result["size"] == [900, 600]
    assert "table" in result["panels"]  # the view brought forward, as [x, y, w, h]
    assert all(len(rect) == 4 for rect in result["panels"].values())
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert (img.width(), img.height()) == (900, 600)
    colours = {img.pixel(x, y) for x in range(0, 900, 7) for y in range(0, 600, 7)}
    assert len(colours) > 10  # a real rendering, not a blank image


def test_project_json_contract(tmp_path):
    from sklearn.datasets import load_digits

    path = tmp_path / "digits.npy"
    np.save(path, load_digits().data.astype(np.float32))
    out = tmp_path / "xy.parquet"
    result = cli_json("project", path, "--method", "pca", "--out", out)
    assert {"method", "count", "seconds", "trustworthiness", "out"} <= set(result)
    assert (result["method"], result["count"], result["out"]) == ("pca", 1797, str(out))
    assert 0.5 < result["trustworthiness"] <= 1.0
    table = pq.read_table(out)
    assert table.num_rows == 1797 and {"x", "y"} <= set(table.column_names)
    again = cli_json("project", path, "--method", "pca")
    assert again["cached"] is True


def test_project_refines_unless_no_refine_is_asked(tmp_path):
    """`--no-refine` is another map than the default (every point optimised), kept apart."""
    from sklearn.datasets import load_digits

    path = tmp_path / "digits.npy"
    np.save(path, load_digits().data[:600].astype(np.float32))
    placed = cli_json("project", path, "--method", "umap", "--sample", "300", "--no-refine")
    assert placed["cached"] is False and placed["count"] == 600
    assert cli_json("project", path, "--method", "umap", "--sample", "300",
                    "--no-refine")["cached"] is True
    refined = cli_json("project", path, "--method", "umap", "--sample", "300")
    assert refined["cached"] is False
    assert cli_json("project", path, "--method", "umap", "--sample", "300",
                    "--refine")["cached"] is True  # the default, said out loud
