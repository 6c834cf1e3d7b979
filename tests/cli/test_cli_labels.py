"""Label columns from the command line: `--label-column`, and an encoded table named by its
`name` column, without provenance columns that carry nothing."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from onnx_models import bert_like, write_folder

from explorer.cli import run
from explorer.core.library import Library

N = 120


def packages(tmp_path):
    path = tmp_path / "packages.csv"
    rows = [f"pkg-{i},A tool that parses format number {i} quickly and safely" for i in range(N)]
    path.write_text("name,description\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_an_encoded_table_is_named_by_its_name_column(tmp_path, capsys):
    from explorer.compute.encoding.model_folder import models_dir

    write_folder(models_dir() / "tiny", bert_like(dim=16))
    assert run(["encode", str(packages(tmp_path)), "--model", "tiny", "--column", "description",
                "--json"]) == 0
    es = Library().open(json.loads(capsys.readouterr().out)["set"])
    assert es.columns == ["text", "name"]  # one file, nothing skipped: no source, no row
    assert (es.label_column, es.text_column) == ("name", "text")
    assert es.label(4) == "pkg-4" and "number 4" in es.text(4)


def test_label_column_at_import(tmp_path, capsys):
    path = tmp_path / "vectors.parquet"
    pq.write_table(pa.table({"name": [f"w{i}" for i in range(N)],
                             "note": [f"note {i}" for i in range(N)],
                             "vec": list(np.random.default_rng(0).normal(size=(N, 4))
                                         .astype(np.float32))}), path)
    assert run(["inspect", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label_column"] == "name"
    assert run(["import", str(path), "--label-column", "note", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)
    assert entry["label_column"] == "note" and Library().open(entry["id"]).label(2) == "note 2"
    assert run(["import", str(path), "--label-column", "title", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "'title'" in err and "name, note" in err


def test_set_label_changes_what_names_the_items(tmp_path, capsys):
    path = tmp_path / "vectors.parquet"
    pq.write_table(pa.table({"name": [f"w{i}" for i in range(N)],
                             "note": [f"note {i}" for i in range(N)],
                             "vec": list(np.random.default_rng(0).normal(size=(N, 4))
                                         .astype(np.float32))}), path)
    assert run(["import", str(path), "--name", "words", "--json"]) == 0
    capsys.readouterr()
    assert run(["set-label", "words", "note", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label_column"] == "note"
    assert Library().open("words").label(3) == "note 3"
    assert run(["set-label", "words", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'nosuch'" in err and "name, note" in err
    assert run(["set-label", "words"]) == 0
    assert "their id, else their text" in capsys.readouterr().out
    assert Library().open("words").label(3) == "w3"  # `name` is its id column
