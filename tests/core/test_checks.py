"""check_set on loaded files: NaN/Inf rows, zero rows, duplicate ids."""

from __future__ import annotations

import json
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core import vector_checks
from explorer.core.checks import check_set
from explorer.core.loaders import LoadOptions, open_file


def vectors_with_problems() -> np.ndarray:
    v = np.arange(1, 41, dtype=np.float32).reshape(10, 4) / 8
    v[2, 1] = np.nan
    v[5, 0] = np.inf
    v[5, 3] = np.nan
    v[7, 3] = -np.inf
    v[3] = 0.0
    v[8] = 0.0
    return v


def test_nonfinite_and_zero_rows_in_npy(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, vectors_with_problems())

    es = open_file(path)  # loading succeeds; the check reports
    report = check_set(es)

    assert report.scan.nan_rows == 3
    assert report.scan.nonfinite_rows.tolist() == [2, 5, 7]
    assert report.scan.first_nonfinite == (2, 1)
    assert report.scan.n_zero_rows == 2
    assert report.scan.zero_rows.tolist() == [3, 8]
    assert [w.code for w in report.warnings] == ["nonfinite", "zero"]
    assert report.warnings[0].count == 3 and report.warnings[0].examples == (2, 5, 7)
    assert "row 2, dimension 1" in report.warnings[0].message
    assert report.warnings[1].examples == (3, 8)
    assert report.to_dict()["first_nan"] == [2, 1]
    assert report.to_dict()["zero_rows"] == 2


def test_first_nonfinite_is_the_first_column_of_the_first_bad_row(tmp_path):
    v = np.ones((6, 5), np.float32)
    v[4, 0] = np.nan
    v[1, 3] = np.inf
    v[1, 4] = np.nan
    path = tmp_path / "v.npy"
    np.save(path, v)
    assert check_set(open_file(path)).scan.first_nonfinite == (1, 3)


def test_scan_across_many_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_checks, "CHUNK_BYTES", 3 * 4 * 4)  # three rows per chunk
    v = np.ones((20, 4), np.float32)
    v[10, 2] = np.nan
    v[17, 0] = -np.inf
    v[[0, 11, 19]] = 0
    path = tmp_path / "v.npy"
    np.save(path, v)

    report = check_set(open_file(path))

    assert report.scan.nonfinite_rows.tolist() == [10, 17]
    assert report.scan.first_nonfinite == (10, 2)
    assert report.scan.zero_rows.tolist() == [0, 11, 19]


def test_huge_values_are_not_mistaken_for_infinite(tmp_path):
    v = np.full((3, 4), 3e38, np.float32)  # the squared norm overflows, the values do not
    v[1] = 0
    path = tmp_path / "v.npy"
    np.save(path, v)
    report = check_set(open_file(path))
    assert report.scan.nan_rows == 0
    assert report.scan.zero_rows.tolist() == [1]


def test_nan_and_inf_in_csv_are_values_not_errors(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("id,d0,d1,d2\n"
                    "a,0.5,0.25,1.5\n"
                    "b,nan,0.25,1.5\n"
                    "c,0.5,inf,1.5\n"
                    "d,0,0,0\n"
                    "e,0.5,-Infinity,NaN\n")
    es = open_file(path)
    assert np.isnan(es.vectors[1, 0]) and es.vectors[2, 1] == np.inf
    report = check_set(es)
    assert report.scan.nonfinite_rows.tolist() == [1, 2, 4]
    assert report.scan.first_nonfinite == (1, 0)
    assert report.scan.zero_rows.tolist() == [3]


def test_nan_in_parquet_lists_and_jsonl(tmp_path):
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"embedding": pa.array(
        [[0.5, 0.5], [0.5, float("nan")], [0.0, 0.0]], pa.list_(pa.float32()))}), path)
    report = check_set(open_file(path))
    assert report.scan.first_nonfinite == (1, 1)
    assert report.scan.zero_rows.tolist() == [2]

    path = tmp_path / "v.jsonl"  # Python's json writes NaN and Infinity; Arrow reads them
    path.write_text("".join(json.dumps({"embedding": row}) + "\n" for row in
                            [[0.5, 0.5], [0.5, 0.5], [float("inf"), 0.5]]))
    report = check_set(open_file(path))
    assert report.scan.first_nonfinite == (2, 0)


def test_values_beyond_float32_become_infinite(tmp_path):
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"embedding": [[0.5, 1e300], [0.5, 0.5]]}), path)
    es = open_file(path)
    assert es.vectors[0, 1] == np.inf
    assert check_set(es).scan.first_nonfinite == (0, 1)


def test_zero_rows_in_integer_vectors(tmp_path):
    path = tmp_path / "v.ivecs"
    with open(path, "wb") as fh:
        for row in ([1, 2, 3], [0, 0, 0], [4, 0, 6]):
            fh.write(struct.pack("<i", 3) + np.array(row, np.int32).tobytes())
    report = check_set(open_file(path))
    assert report.scan.zero_rows.tolist() == [1]
    assert report.scan.nan_rows == 0


def test_duplicate_ids(tmp_path):
    path = tmp_path / "v.csv"
    ids = [1, 2, 2, 3, 3, 3, 4]
    path.write_text("id,text,d0,d1\n" + "".join(f"{i},t{n},0.5,{n}.5\n" for n, i in enumerate(ids)))
    es = open_file(path)
    assert es.id_column == "id"

    report = check_set(es)

    assert report.duplicate_ids == 2
    assert sorted(report.duplicate_examples) == [2, 3]
    warning = next(w for w in report.warnings if w.code == "duplicate_ids")
    assert warning.count == 2 and "'id'" in warning.message
    assert report.to_dict()["duplicate_ids"] == 2


def test_duplicate_string_ids_and_chosen_id_column(tmp_path):
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"key": ["a", "b", "a", "c"], "title": ["x", "y", "z", "y"],
                             "embedding": [[0.5, 1.0]] * 4}), path)
    assert check_set(open_file(path)).duplicate_examples == ("a",)
    report = check_set(open_file(path, LoadOptions(id_column="title")))
    assert report.duplicate_ids == 1 and report.duplicate_examples == ("y",)


def test_word_vectors_with_a_repeated_word(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("4 2\nthe 0.5 0.5\nof 0.25 0.5\nthe 1.0 0.5\nand 0.5 1.0\n")
    report = check_set(open_file(path))
    assert report.duplicate_ids == 1 and report.duplicate_examples == ("the",)


@pytest.mark.parametrize("columns", [{"label": [0, 1, 0, 1]}, {}])
def test_no_id_column_means_no_duplicate_report(tmp_path, columns):
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({**columns, "embedding": [[0.5, 1.0]] * 4}), path)
    es = open_file(path)
    assert es.id_column is None
    report = check_set(es)
    assert report.duplicate_ids == 0 and report.warnings == []


def test_clean_set_has_no_warnings(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, np.arange(1, 13, dtype=np.float32).reshape(4, 3))
    report = check_set(open_file(path))
    assert report.warnings == []
    assert report.to_dict() == {"nan_rows": 0, "zero_rows": 0, "first_nan": None,
                                "duplicate_ids": 0, "duplicate_examples": [], "warnings": []}


def test_missing_ids_are_not_duplicates(tmp_path):
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"id": pa.array([1, None, None, 2, 2], pa.int64()),
                             "embedding": [[0.5, 1.0]] * 5}), path)
    report = check_set(open_file(path))
    assert report.duplicate_ids == 1
    assert report.duplicate_examples == (2,)


def test_float64_checked_as_the_float32_it_will_be_stored_as(tmp_path):
    vectors = np.ones((4, 3), dtype=np.float64)
    vectors[1] = [1e300, 1, 1]  # Inf in float32
    vectors[2] = [1e-50, 1e-50, 1e-50]  # 0 in float32
    path = tmp_path / "f64.npy"
    np.save(path, vectors)
    scan = check_set(open_file(path)).scan
    assert scan.nonfinite_rows.tolist() == [1] and scan.zero_rows.tolist() == [2]
