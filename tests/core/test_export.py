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
    levels = {"level_0": np.array([0, 0, 1, -1, 1], np.int32),
              "level_1": np.array([0, 2, 1, -1, 3], np.int32)}
    table = pq.read_table(export_coordinates(ES, coords, tmp_path / "xy2.parquet", levels))
    assert table.column_names == ["row", "id", "x", "y", "level_0", "level_1"]
    assert table.column("level_1").to_pylist() == [0, 2, 1, -1, 3]
    assert table.schema.field("level_0").type == pa.int32()


def test_bad_extension_and_count(tmp_path):
    with pytest.raises(InputError, match="cannot write .xlsx"):
        export_rows(ES, np.array([0]), tmp_path / "x.xlsx")
    with pytest.raises(InputError, match="4 coordinates for 5 items"):
        export_coordinates(ES, np.zeros((4, 2), dtype=np.float32), tmp_path / "x.parquet")


def test_a_link_keeps_pointing_at_the_file_it_names(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "sel.csv"
    link.symlink_to(real)
    assert export_rows(ES, np.array([0, 1]), link) == link
    assert link.is_symlink() and pacsv.read_csv(real).column("id").to_pylist() == ["a", "b"]


def test_a_folder_is_named_as_one(tmp_path):
    folder = tmp_path / "out.parquet"
    folder.mkdir()
    for path in (tmp_path, folder):
        with pytest.raises(InputError, match="is a folder"):
            export_rows(ES, np.array([0]), path)
    assert list(folder.iterdir()) == []


def test_a_pipe_receives_the_csv(tmp_path):
    import os
    import stat

    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        export_rows(ES, np.array([4]), fifo)
        assert os.read(reader, 1000).decode().splitlines() == ['"row","id","tags"', '4,"e",']
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
