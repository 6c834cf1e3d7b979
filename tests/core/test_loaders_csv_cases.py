"""CSV files as people write them: pandas' list columns, stray cells in numbers, bad list cells.

Each file is written the way pandas' `to_csv` writes it (Python's text of a list, numpy's text
of an array, which runs over several lines inside its quotes), with and without the index.
"""

import csv

import numpy as np
import pytest

from explorer.core.errors import InputError
from explorer.core.loaders import open_file

N, D = 40, 8


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        if header:
            out.writerow(header)
        out.writerows(rows)
    return path


def vectors(d=D, seed=0):
    return np.random.default_rng(seed).normal(size=(N, d)).astype(np.float32)


def as_list(v):
    return str([float(x) for x in v])  # what pandas writes for a column of Python lists


@pytest.mark.parametrize("index", [False, True])
@pytest.mark.parametrize("header", [True, False])
def test_pandas_id_and_list_column_is_read_as_vectors(tmp_path, index, header):
    v = vectors()
    rows = [[*([i] if index else []), f"id{i}", as_list(v[i])] for i in range(N)]
    names = [*([""] if index else []), "id", "embedding"]
    es = open_file(write(tmp_path / "out.csv", names if header else None, rows))
    assert (es.count, es.dim) == (N, D)
    np.testing.assert_allclose(es.vectors, v, rtol=1e-6)
    ids = es.metadata.column("id" if header else str(int(index))).to_pylist()
    assert ids == [f"id{i}" for i in range(N)]


@pytest.mark.parametrize("index", [False, True])
def test_numpy_arrays_written_over_several_lines_are_read(tmp_path, index):
    v = vectors(d=20)
    cells = [np.array2string(row, max_line_width=75) for row in v]
    assert "\n" in cells[0]  # numpy wraps the text of a long array
    rows = [[*([i] if index else []), f"id{i}", cells[i]] for i in range(N)]
    es = open_file(write(tmp_path / "np.csv", [*([""] if index else []), "id", "embedding"],
                         rows))
    assert (es.count, es.dim) == (N, 20)
    np.testing.assert_allclose(es.vectors, v, rtol=1e-5)


def test_a_bad_cell_after_multi_line_cells_is_named_at_its_line(tmp_path):
    v = vectors(d=20)
    cells = [np.array2string(row, max_line_width=75) for row in v]
    lines_per_cell = cells[0].count("\n") + 1
    tokens = cells[5].strip("[]").split()
    tokens[12] = "oops"
    cells[5] = "[" + " ".join(tokens[:10]) + "\n " + " ".join(tokens[10:]) + "]"
    path = write(tmp_path / "np.csv", ["id", "embedding"],
                 [[f"id{i}", cells[i]] for i in range(N)])
    with pytest.raises(InputError) as err:
        open_file(path)
    e = err.value
    assert (e.row, e.column) == (5, "embedding") and "oops" in e.message
    assert e.line == 2 + 5 * lines_per_cell


@pytest.mark.parametrize("cell, row, fragment", [
    ("[0.1, abc, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]", 4, "'abc' in the list is not a number"),
    ("[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8", 6, "not a list of numbers"),
    ("[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8", 0, "not a list of numbers"),
    ("0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]", 9, "not a list of numbers"),
    ("[0.1, 0.2, 0.3]", 9, "3 values, but row 0 has 8"),
    ("[0.1, , 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]", 3, "is not a number"),
])
def test_a_malformed_list_cell_is_named_by_row_and_column(tmp_path, cell, row, fragment):
    v = vectors()
    rows = [[f"id{i}", as_list(v[i])] for i in range(N)]
    rows[row][1] = cell
    path = write(tmp_path / "bad.csv", ["id", "embedding"], rows)
    with pytest.raises(InputError) as err:
        open_file(path)
    e = err.value
    assert (e.row, e.column, e.line) == (row, "embedding", row + 2), str(e)
    assert fragment in e.message and str(path) in str(e)


@pytest.mark.parametrize("row", [0, 17, N - 1])
@pytest.mark.parametrize("cell", ["oops", "n/a", "-", "0,5"])
def test_a_stray_cell_in_a_numeric_column_is_an_error_not_metadata(tmp_path, row, cell):
    v = vectors(d=4)
    rows = [[f"n{i}", *map(float, v[i])] for i in range(N)]
    rows[row][3] = cell
    path = write(tmp_path / "stray.csv", ["name", "a", "b", "c", "d"], rows)
    with pytest.raises(InputError) as err:
        open_file(path)
    e = err.value
    assert (e.row, e.column, e.line) == (row, "c", row + 2), str(e)
    assert repr(cell) in e.message


@pytest.mark.parametrize("row", [0, 7])
def test_a_stray_cell_in_a_file_without_header_is_an_error(tmp_path, row):
    """A first line of numbers with one word in it is data with a bad cell, not a header
    (read as one, it lost that row without a word)."""
    v = vectors(d=4)
    rows = [list(map(float, v[i])) for i in range(N)]
    rows[row][2] = "oops"
    with pytest.raises(InputError) as err:
        open_file(write(tmp_path / "plain.csv", None, rows))
    e = err.value
    assert (e.row, e.column, e.line) == (row, 3, row + 1), str(e)


def test_a_header_naming_columns_is_still_a_header(tmp_path):
    """Names with digits, and a header over values, keep working after the stray-cell rule."""
    v = vectors(d=3)
    rows = [[f"w{i}", *map(float, v[i])] for i in range(N)]
    es = open_file(write(tmp_path / "named.csv", ["word", "x1", "x2", "x3"], rows))
    assert es.count == N and es.columns == ["word"]
    es = open_file(write(tmp_path / "numbered.csv", ["", "0", "1", "2"],
                         [[i, *map(float, v[i])] for i in range(N)]))
    assert es.count == N and es.dim == 3
