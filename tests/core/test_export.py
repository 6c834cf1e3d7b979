"""Exporting a selection and map coordinates to CSV / Parquet."""

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.export import export_coordinates, export_rows

ES = EmbeddingSet(np.zeros((5, 3), dtype=np.float32),
                  pa.table({"id": list("abcde"), "tags": [[1], [2], [], [3, 4], None]}),
                  name="t", id_column="id")


def test_selection_to_parquet_and_csv(tmp_path):
    out = export_rows(ES, np.array([1, 3]), tmp_path / "sel.parquet")
    table = pq.read_table(out)
    assert table.column("row").to_pylist() == [1, 3]
    assert table.column("id").to_pylist() == ["b", "d"]
    out = export_rows(ES, np.array([3]), tmp_path / "sel.csv")
    table = pacsv.read_csv(out)
    assert table.column("id").to_pylist() == ["d"]
    assert table.column("tags").to_pylist() == ["[3, 4]"]


def test_coordinates_to_parquet(tmp_path):
    coords = np.arange(10, dtype=np.float32).reshape(5, 2)
    table = pq.read_table(export_coordinates(ES, coords, tmp_path / "xy.parquet"))
    assert table.column_names == ["row", "id", "x", "y"]
    assert table.column("y").to_pylist() == [1, 3, 5, 7, 9]


def test_bad_extension_and_count(tmp_path):
    with pytest.raises(InputError, match="cannot write .xlsx"):
        export_rows(ES, np.array([0]), tmp_path / "x.xlsx")
    with pytest.raises(InputError, match="4 coordinates for 5 items"):
        export_coordinates(ES, np.zeros((4, 2), dtype=np.float32), tmp_path / "x.parquet")
