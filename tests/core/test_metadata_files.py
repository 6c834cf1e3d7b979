"""Previewing a metadata file before it is attached: its rows, columns, types, the guesses an
import would make, and a row-count mismatch said in words (not raised); a hostile file is
an InputError; a million-row Parquet file is previewed from its footer and first rows."""

import csv
import json
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.library import Library
from explorer.core.loaders import LoadOptions, open_file, tables
from explorer.core.metadata_files import has_metadata, preview_metadata, short_type

N = 60


def rows(n=N):
    return [{"id": i, "name": f"item-{i}", "description": f"The longer description of item "
             f"number {i}, which says what it is", "score": i / 10} for i in range(n)]


def write(path, data):
    """`data` (a list of dicts) in the format the suffix says."""
    suffix = path.suffix
    if suffix in (".parquet", ".pq"):
        pq.write_table(pa.Table.from_pylist(data), path)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    else:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            out = csv.DictWriter(fh, list(data[0]), delimiter="\t" if suffix == ".tsv" else ",",
                                 lineterminator="\n")
            out.writeheader()
            out.writerows(data)
    return path


@pytest.mark.parametrize("name", ["meta.csv", "meta.tsv", "meta.parquet", "meta.jsonl"])
def test_preview_shows_the_head_types_and_guesses(tmp_path, name):
    path = write(tmp_path / name, rows())
    p = preview_metadata(path, N, rows=5)
    assert p.path == str(path.resolve()) and p.num_rows == N and p.problem is None
    assert p.columns == ["id", "name", "description", "score"]
    assert p.types == ["integer", "text", "text", "number"]
    assert p.head.num_rows == 5 and p.head.column("name").to_pylist()[:2] == ["item-0", "item-1"]
    # the guesses an import of vectors with this file joined would make
    vectors = tmp_path / "v.npy"
    np.save(vectors, np.ones((N, 3), np.float32))
    es = open_file(vectors, LoadOptions(metadata_path=path))
    assert (p.id_column, p.text_column, p.label_column) == (es.id_column, es.text_column,
                                                            es.label_column)
    assert (p.id_column, p.text_column, p.label_column) == ("id", "description", "name")
    assert json.dumps(p.to_dict())  # what a --json caller would print


@pytest.mark.parametrize("name", ["meta.csv", "meta.parquet", "meta.jsonl"])
def test_a_row_count_mismatch_is_a_problem_not_an_error(tmp_path, name):
    path = write(tmp_path / name, rows(N - 1))
    p = preview_metadata(path, 63_436)
    assert p.problem == ("has 59 rows but the set has 63,436 vectors; rows are joined by order, "
                         "so the counts must match")
    assert p.num_rows == N - 1 and p.head.num_rows == 20


def test_a_one_column_label_file_has_a_header_only_with_one_line_more(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("word\n" + "".join(f"w{i}\n" for i in range(10)), encoding="utf-8")
    with_header = preview_metadata(path, 10)
    assert with_header.columns == ["word"] and with_header.problem is None
    without = preview_metadata(path, 11)
    assert without.columns == ["label"] and without.num_rows == 11 and without.problem is None


def test_a_million_row_parquet_is_previewed_from_its_footer(tmp_path, monkeypatch):
    n = 1_000_000
    ids = pa.array(np.arange(n))
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": ids, "title": pa.compute.cast(ids, pa.string())}), path,
                   row_group_size=250_000)
    monkeypatch.setattr(tables, "read_metadata_file",
                        lambda *a: pytest.fail("the whole table was read"))
    start = time.perf_counter()
    p = preview_metadata(path, n)
    took = time.perf_counter() - start
    assert p.num_rows == n and p.problem is None and p.head.num_rows == 20
    assert p.head.column("id").to_pylist() == list(range(20))
    assert took < 5, f"{took:.1f} s"  # a full read takes longer; this reads 2,000 rows


def test_small_row_groups_still_give_the_rows_asked_for(tmp_path):
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.Table.from_pylist(rows()), path, row_group_size=7)
    p = preview_metadata(path, N, rows=25)
    assert p.head.num_rows == 25 and p.head.column("id").to_pylist() == list(range(25))
    assert preview_metadata(path, N, rows=0).head.num_rows == 0


def hostile(tmp_path):
    out = {}
    out["missing"] = tmp_path / "nope.csv"
    out["folder"] = tmp_path / "folder.csv"
    out["folder"].mkdir()
    out["empty"] = tmp_path / "empty.csv"
    out["empty"].write_bytes(b"")
    out["not utf-8"] = tmp_path / "latin.csv"
    out["not utf-8"].write_bytes("name\ncaf\xe9\n".encode("latin-1"))
    out["truncated parquet"] = tmp_path / "cut.parquet"
    write(tmp_path / "whole.parquet", rows())
    out["truncated parquet"].write_bytes((tmp_path / "whole.parquet").read_bytes()[:300])
    out["no footer"] = tmp_path / "junk.parquet"
    out["no footer"].write_bytes(b"PAR1" + bytes(range(256)) * 4)
    out["repeated names"] = tmp_path / "twice.csv"
    out["repeated names"].write_text("name,name\na,b\n", encoding="utf-8")
    out["deep json"] = tmp_path / "deep.jsonl"
    out["deep json"].write_text('{"a": ' + "[" * 5000 + "]" * 5000 + "}\n", encoding="utf-8")
    out["not json"] = tmp_path / "bad.jsonl"
    out["not json"].write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    return out


def test_hostile_files_are_input_errors_naming_them(tmp_path):
    for what, path in hostile(tmp_path).items():
        with pytest.raises(InputError) as info:
            preview_metadata(path, N)
        assert info.value.path is not None and path.name in info.value.path, what


def test_a_file_of_no_columns_cannot_be_joined(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("{}\n" * 3, encoding="utf-8")
    assert preview_metadata(path, 3).problem == "holds no columns"


def test_short_types():
    assert [short_type(t) for t in (pa.bool_(), pa.int8(), pa.float32(), pa.large_string(),
                                     pa.date32(), pa.timestamp("s"), pa.list_(pa.int64()),
                                     pa.struct([("a", pa.int8())]), pa.null(),
                                     pa.dictionary(pa.int8(), pa.string()))] == [
        "yes/no", "integer", "number", "text", "date", "date and time", "list", "object",
        "empty", "text"]


# --- has_metadata ---------------------------------------------------------------------

def test_vectors_alone_have_no_metadata(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(N, 4)).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    library = Library()
    plain = library.open(library.import_file(tmp_path / "v.npy").id)
    assert plain.columns == ["row"] and not has_metadata(plain)
    vectors[[3, 9]] = np.nan
    np.save(tmp_path / "w.npy", vectors)
    dropped = library.open(library.import_file(tmp_path / "w.npy",
                                               ImportOptions(drop_nonfinite=True)).id)
    assert dropped.columns == ["row", "source_row"] and not has_metadata(dropped)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"name": [f"n{i}" for i in range(N)], "vec": list(vectors[:, :2]
                                                                              + 1)}), path)
    named = library.open(library.import_file(path, ImportOptions(drop_nonfinite=True)).id)
    assert has_metadata(named)
    # a column called `row` that is not the row numbers is metadata
    pq.write_table(pa.table({"row": np.arange(N)[::-1].copy(),
                             "vec": list(np.ones((N, 2), np.float32))}), path)
    reversed_rows = library.open(library.import_file(path, ImportOptions(), new=True).id)
    assert reversed_rows.columns == ["row"] and has_metadata(reversed_rows)
