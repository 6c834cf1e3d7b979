"""Hostile, damaged and awkward text and table files (issue 14): CSV, word vectors, JSONL,
Parquet.

Bad input ends in one InputError naming the row (line) and column; valid input that
earlier versions refused or misread loads; the column handling is linear in columns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from explorer.core.checks import check_set
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.core.loaders import (
    LoadOptions,
    delimited,
    open_file,
    parquet_footer,
    table_checks,
    tables,
)

RNG = np.random.default_rng(14)


def load_error(path: Path, **options) -> InputError:
    with pytest.raises(InputError) as info:
        open_file(path, LoadOptions(**options))
    err = info.value
    assert type(err) is InputError
    assert err.path == str(path)
    return err


# --- word vectors ------------------------------------------------------------------

@pytest.mark.parametrize("header", ["", "3 3\n"], ids=["glove", "word2vec"])
def test_word_text_nan_rows_are_counted_and_droppable(tmp_path, header):
    path = tmp_path / "v.txt"
    path.write_text(header + "a 0.5 0.5 0.5\nb nan 0.5 -inf\nc 0.25 0.5 0.5\n")
    es = open_file(path)
    report = check_set(es)
    assert report.scan.nan_rows == 1 and report.scan.first_nonfinite == (1, 0)
    entry = Library(tmp_path / "lib").import_set(es, drop_nonfinite=True, report=report)
    assert entry.count == 2


def test_words_that_look_like_missing_values_stay_words(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("nan 0.5 0.5\nnull 0.25 0.5\nNA 0.5 0.25\n")
    assert open_file(path).metadata.column("word").to_pylist() == ["nan", "null", "NA"]


@pytest.mark.parametrize("first", [False, True])
def test_word_with_spaces_as_in_glove_common_crawl(tmp_path, first):
    lines = ["a 0.5 0.5 0.5", "at name@domain.com 0.1 0.2 0.3", "2006 0.5 0.5 0.5"]
    if first:
        lines[:2] = lines[1::-1]
    path = tmp_path / "glove.840B.txt"
    path.write_text("\n".join(lines) + "\n")
    es = open_file(path)
    words = es.metadata.column("word").to_pylist()
    assert sorted(words) == ["2006", "a", "at name@domain.com"]
    np.testing.assert_allclose(es.vectors[words.index("at name@domain.com")], [0.1, 0.2, 0.3])


def test_word_text_extra_number_is_still_a_ragged_line(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("a 0.5 0.5 0.5\nb 0.5 0.5 0.5 0.5\n")
    err = load_error(path)
    assert err.line == 2 and "ragged" in err.message


def test_word_text_very_wide_lines(tmp_path):
    """One CSV column per dimension made a 3 MB file 400 000 wide take 3.8 GB."""
    path = tmp_path / "wide.txt"
    row = " ".join(["0.5"] * 50_000)
    path.write_text(f"w0 {row}\nw1 {row}\n")
    assert open_file(path).vectors.shape == (2, 50_000)


def test_word_text_not_utf8(tmp_path):
    head = tmp_path / "latin.txt"
    head.write_bytes(b"caf\xe9 0.5 0.5\nb 0.5 0.5\n")
    err = load_error(head)
    assert "not UTF-8" in err.message and "line 1" in err.message and "UTF-8" in err.hint
    later = tmp_path / "later.txt"
    later.write_bytes(b"".join(b"w%d 0.5 0.5\n" % i for i in range(1000)) + b"caf\xe9 0.5 0.5\n")
    es = open_file(later)
    assert es.metadata.column("word")[1000].as_py() == "caf\ufffd"
    assert any("line 1001" in note for note in es.notes)


# --- CSV: valid files that were refused or misread ---------------------------------------

@pytest.mark.parametrize("ids", [["0", "1", "2"], ["doc1", "doc2", "doc3"], None])
def test_pandas_to_csv_of_a_list_column(tmp_path, ids):
    vectors = RNG.standard_normal((3, 5)).round(4)
    path = tmp_path / "pandas.csv"
    cells = [f'"{row}"' for row in vectors.tolist()]
    if ids is None:
        path.write_text("embedding\n" + "\n".join(cells) + "\n")
    else:
        path.write_text("id,embedding\n" + "".join(f"{i},{c}\n" for i, c in zip(ids, cells)))
    es = open_file(path)
    assert es.vector_column == "embedding"
    np.testing.assert_allclose(es.vectors, vectors, rtol=1e-6)


def test_list_column_written_from_numpy_2_scalars(tmp_path):
    path = tmp_path / "np2.csv"
    path.write_text('id,embedding\n0,"[np.float32(0.5), np.float64(-1.25), np.float32(nan)]"\n'
                    '1,"[np.float32(1.0), np.float64(2.0), np.float32(3.0)]"\n')
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors[1], [1, 2, 3])
    assert check_set(es).scan.nan_rows == 1


def test_list_column_shortened_by_numpy_is_refused(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text('id,embedding\n0,"[0.1 0.2 ... 0.9 1.0]"\n1,"[0.1 0.2 ... 0.9 1.0]"\n')
    err = load_error(path)
    assert (err.row, err.column) == (0, "embedding") and "'...'" in err.message


def test_csv_field_longer_than_the_csv_module_allows(tmp_path):
    text = "x" * 140_000
    first = tmp_path / "first.csv"
    first.write_text(f"text,a,b\n{text},0.5,0.25\ny,0.5,0.5\n")
    es = open_file(first)
    assert es.metadata.column("text")[0].as_py() == text
    later = tmp_path / "later.csv"
    later.write_text(f"id,text,a,b\n1,{text},0.5,0.5\n2,y,0.5,0.5\n3,z,0.5\n")
    err = load_error(later)
    assert err.line == 4 and "ragged" in err.message


def test_duplicate_header_names_are_all_named(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("id,a,a,b,b,c\n1,0.5,0.5,0.5,0.5,0.5\n")
    err = load_error(path)
    assert "'a' (columns 2, 3)" in err.message and "'b' (columns 4, 5)" in err.message
    assert err.column == 3


# --- CSV: a column of numbers with a word in it ------------------------------------------

@pytest.mark.parametrize("header", ["a,b,c\n", "id,a,b,c\n", ""])
def test_stray_word_in_a_vector_column(tmp_path, header):
    rows = ["0.1,0.2,0.3"] * 5 + ["0.4,hello,0.6"] + ["0.1,0.2,0.3"] * 5
    if header.startswith("id"):
        rows = [f"{i},{r}" for i, r in enumerate(rows)]
    path = tmp_path / "stray.csv"
    path.write_text(header + "\n".join(rows) + "\n")
    err = load_error(path)
    assert err.row == 5 and err.line == 6 + bool(header)
    assert err.column == ("b" if header else 2)
    assert "'hello' is not a number" in err.message


def test_stray_word_after_the_first_block(tmp_path, monkeypatch):
    """Column types are guessed from the first block; a later word used to be a parse error."""
    monkeypatch.setattr(delimited, "_BLOCK", 1 << 12)
    rows = [f"{i},0.1,0.2,0.3" for i in range(2000)]
    rows[1500] = "1500,0.4,hello,0.6"
    path = tmp_path / "late.csv"
    path.write_text("id,a,b,c\n" + "\n".join(rows) + "\n")
    err = load_error(path)
    assert (err.row, err.line, err.column) == (1500, 1502, "b")


def test_text_after_the_first_block_in_a_metadata_column(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited, "_BLOCK", 1 << 12)
    rows = [f"{i},{1990 + i % 30},0.2,0.3" for i in range(2000)]
    rows[1500] = "1500,unknown,0.2,0.3"
    path = tmp_path / "year.csv"
    path.write_text("id,year,b,c\n" + "\n".join(rows) + "\n")
    es = open_file(path)
    assert es.dim == 2 and es.metadata.column("year")[1500].as_py() == "unknown"


@pytest.mark.parametrize("cells", [["Dune", "Emma", "1984", "Ulysses"],  # mostly text
                                   ["1999", "2001", "unknown", "2010"]])  # whole numbers
def test_columns_that_stay_metadata(tmp_path, cells):
    path = tmp_path / "meta.csv"
    path.write_text("title,a,b\n" + "".join(f"{c},0.{i + 1},0.5\n" for i, c in enumerate(cells)))
    es = open_file(path)
    assert es.dim == 2 and es.metadata.column("title").to_pylist() == cells


def test_non_utf8_byte_after_the_first_block(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited, "_BLOCK", 1 << 12)
    rows = [f"{i},word,0.1,0.2".encode() for i in range(2000)]
    rows[1500] = b"1500,caf\xe9,0.1,0.2"
    path = tmp_path / "latin.csv"
    path.write_bytes(b"id,text,a,b\n" + b"\n".join(rows) + b"\n")
    err = load_error(path)
    assert err.line == 1502 and "byte 0xe9" in err.message and "UTF-8" in err.hint


# --- many columns --------------------------------------------------------------------------

def test_csv_and_parquet_with_thousands_of_columns(tmp_path):
    """Column handling was quadratic (20 000 columns took 26-55 s); now each is handled once."""
    n, d = 30, 5000
    vectors = RNG.standard_normal((n, d)).astype(np.float32).round(3)
    names = [f"c{i}" for i in range(d)]
    csv_path = tmp_path / "wide.csv"
    csv_path.write_text("id," + ",".join(names) + "\n" + "".join(
        f"{r}," + ",".join(map(str, row)) + "\n" for r, row in enumerate(vectors.tolist())))
    parquet_path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({"id": range(n), **{c: vectors[:, i] for i, c in enumerate(names)}}),
                   parquet_path)
    for path in (csv_path, parquet_path):
        es = open_file(path)
        np.testing.assert_array_equal(es.vectors, vectors)
        assert es.columns == ["id"]


# --- JSON Lines and Parquet ---------------------------------------------------------------

def test_jsonl_nested_thousands_deep_is_refused_before_parsing(tmp_path):
    """Arrow's JSON reader crashed the whole process (a segmentation fault) on this."""
    path = tmp_path / "deep.jsonl"
    deep = "[" * 20_000 + "]" * 20_000
    path.write_text('{"embedding": [0.5, 0.5], "tags": "[[[[ in a string is fine"}\n'
                    f'{{"embedding": [0.5, 0.5], "x": {deep}}}\n')
    err = load_error(path)
    assert err.line == 2 and "levels deep" in err.message


def test_jsonl_text_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"embedding": [0.5, 0.5], "t": "ok"}\n' * 3
                     + b'{"embedding": [0.5, 0.5], "t": "caf\xe9"}\n')
    err = load_error(path)
    assert err.line == 4 and "UTF-8" in err.message
    names = tmp_path / "names.jsonl"  # a field name Arrow cannot even report
    names.write_bytes(b'{"embedding": [0.5, 0.5], "\xff": 1}\n')
    assert load_error(names).line == 1


def test_parquet_text_that_is_not_utf8(tmp_path):
    offsets = pa.py_buffer(np.array([0, 2, 6], np.int32).tobytes())
    text = pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(b"okcaf\xe9")])
    path = tmp_path / "latin.parquet"
    pq.write_table(pa.table({"t": text, "embedding": [[0.5, 0.5], [0.25, 0.5]]}), path)
    err = load_error(path)
    assert (err.row, err.column) == (1, "t") and "UTF-8" in err.message


def test_jsonl_deep_metadata_file_is_refused(tmp_path):
    vectors = tmp_path / "v.npy"
    np.save(vectors, np.ones((2, 3), np.float32))
    meta = tmp_path / "m.jsonl"
    meta.write_text(json.dumps({"a": 1}) + "\n" + '{"a": ' + "[" * 5000 + "]" * 5000 + "}\n")
    with pytest.raises(InputError) as info:
        open_file(vectors, LoadOptions(metadata_path=meta))
    assert info.value.line == 2 and info.value.path == str(meta)


# --- sizes a table file declares ------------------------------------------------------------

def test_csv_naming_more_columns_than_can_be_read(tmp_path):
    """Arrow's CSV reader keeps ~9 KB a column: a 3 MB file of 200 000 columns took 1.8 GB."""
    path = tmp_path / "wide.csv"
    path.write_text(",".join(["0.5"] * 70_000) + "\n" + ",".join(["0.5"] * 70_000) + "\n")
    err = load_error(path)
    assert err.line == 1 and "70000 columns" in err.message and ".npy" in err.hint


def test_jsonl_naming_more_fields_than_can_be_read(tmp_path):
    path = tmp_path / "keys.jsonl"
    lines = (json.dumps({"embedding": [0.5, 0.5], **{f"k{j}_{i}": 1 for i in range(100)}})
             for j in range(700))
    path.write_text("\n".join(lines) + "\n")
    err = load_error(path)
    assert err.line == 656 and "field names" in err.message


def test_semicolon_csv_with_decimal_commas(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("name;a;b\nx;0,5;-1,25\ny;2,0;0,001\n")
    es = open_file(path)
    np.testing.assert_allclose(es.vectors, [[0.5, -1.25], [2.0, 0.001]])
    assert es.columns == ["name"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("name", ["z.csv", "z.txt", "z.npy"])
def test_devices_and_pipes_are_not_files(tmp_path, name):
    """A pipe would wait for a writer forever; a device is no file to load."""
    device = tmp_path / name
    device.symlink_to("/dev/zero")
    assert "not a regular file" in load_error(device).message
    pipe = tmp_path / f"pipe-{name}"
    os.mkfifo(pipe)
    assert "not a regular file" in load_error(pipe).message


@pytest.mark.parametrize(("cells", "fragment"), [(["", ""], "empty cell"),
                                                 (["x", "y"], "'x' is not a number")])
def test_a_broken_column_inside_a_numbered_group_is_not_dropped(tmp_path, cells, fragment):
    """An all-empty or all-text d1 between d0 and d3 silently made dimension 3."""
    path = tmp_path / "gap.csv"
    path.write_text("id,d0,d1,d2,d3\n" + "".join(f"{i},0.5,{c},0.5,0.5\n"
                                                 for i, c in enumerate(cells)))
    err = load_error(path)
    assert (err.row, err.column) == (0, "d1") and fragment in err.message


def test_a_text_column_numbered_after_the_group_stays_metadata(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("col1,col2,col3\n0.5,0.5,apple\n0.25,0.5,pear\n")
    es = open_file(path)
    assert es.dim == 2 and es.columns == ["col3"]


def test_parquet_declaring_more_values_than_memory_holds(tmp_path, monkeypatch):
    """Run-length encoding lets a few bytes declare a billion values; they are counted first."""
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"id": range(40), "embedding": [[0.5] * 8] * 40}), path)
    monkeypatch.setattr(tables, "available_memory", lambda: 1000)
    err = load_error(path)
    assert "declares 40 rows" in err.message and "memory" in err.message


def test_parquet_metadata_file_declaring_more_values_than_memory_holds(tmp_path, monkeypatch):
    vectors = tmp_path / "v.npy"
    np.save(vectors, np.ones((40, 4), np.float32))
    meta = tmp_path / "meta.parquet"
    pq.write_table(pa.table({"id": range(40)}), meta)
    monkeypatch.setattr(tables, "available_memory", lambda: 100)
    with pytest.raises(InputError) as info:
        open_file(vectors, LoadOptions(metadata_path=meta))
    assert info.value.path == str(meta) and "declares 40 rows" in info.value.message


def _rewrite_footer(path: Path, old: bytes, new: bytes) -> None:
    """Replace the one run `old` in a Parquet file's footer, whose length is rewritten too."""
    data = path.read_bytes()
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length:-8]
    assert footer.count(old) == 1
    footer = footer.replace(old, new)
    path.write_bytes(data[:-8 - length] + footer + len(footer).to_bytes(4, "little") + b"PAR1")


# Run in a child: an abort there fails the test instead of killing pytest.
_OPEN_DAMAGED_PARQUET = """
import sys
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from explorer.core.errors import InputError
from explorer.core.loaders import LoadOptions, open_file

path = Path(sys.argv[1])
vectors = path.with_name("v.npy")
np.save(vectors, np.ones((12, 2), np.float32))
for target, options in ((path, LoadOptions()), (vectors, LoadOptions(metadata_path=path))):
    try:
        open_file(target, options)
    except InputError as err:
        print("clean:", err.message)
try:  # what the library reads its own metadata.parquet with
    pq.read_table(path, memory_map=True)
except OSError as exc:
    print("pyarrow read_table:", exc)
try:  # what the set's metadata queries run on; it does not read size statistics
    print("duckdb:", len(duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()), "rows")
except duckdb.Error as exc:
    print("duckdb:", type(exc).__name__)
"""


def test_parquet_footer_on_which_pyarrow_column_metadata_aborts(tmp_path):
    """A definition-level histogram of the wrong length: pyarrow's RowGroupMetaData.column
    throws from C++ where nothing catches it, and the process aborts (SIGABRT)."""
    path = tmp_path / "hist.parquet"
    pq.write_table(pa.table({"id": pa.array([None] * 5 + list(range(7)), pa.int64()),
                             "embedding": [[0.5, 0.25]] * 12}), path)
    # the column's SizeStatistics.definition_level_histogram, [5 nulls, 7 values]: a list
    # header (2 x i64) and two zigzag varints; a third entry is one more than its levels
    _rewrite_footer(path, b"\x26\x0a\x0e", b"\x36\x0a\x0e\x00")
    result = subprocess.run([sys.executable, "-c", _OPEN_DAMAGED_PARQUET, str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 4, result.stdout
    assert lines[0].startswith("clean: not a readable Parquet file") and "histogram" in lines[0]
    assert lines[1].startswith("clean: not a readable metadata table") and "histogram" in lines[1]
    assert lines[2].startswith("pyarrow read_table:") and lines[3].startswith("duckdb:")


@pytest.mark.parametrize(("footer", "fragment"), [
    (b"\x49\xfc" + b"\xff" * 3 + b"\x0f", "declares 33554431 elements"),  # row_groups
    (b"\x19\x1c" + b"\x19\x19" * 100, "nested more than"),  # lists inside lists
    (b"\x19\x1c\x15\x04", "ends inside a value"),
    (b"\x1d", "unknown value type 13"),
])
def test_parquet_footer_reader_on_footers_pyarrow_would_refuse(tmp_path, footer, fragment):
    """Every count it walks over is held to the bytes left, so nothing a footer declares
    makes it loop or recurse past the footer's length."""
    path = tmp_path / "f.parquet"
    path.write_bytes(b"PAR1" + footer + len(footer).to_bytes(4, "little") + b"PAR1")
    with pytest.raises(InputError) as info:
        parquet_footer.row_groups(path)
    assert "damaged footer" in info.value.message and fragment in info.value.message


@pytest.mark.parametrize("suffix", [".parquet", ".feather"])
def test_parquet_and_arrow_with_more_columns_than_can_be_read(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(table_checks, "MAX_COLUMNS", 50)
    path = tmp_path / f"wide{suffix}"
    table = pa.table({f"c{i}": [0.5, 0.25] for i in range(60)})
    (pq.write_table if suffix == ".parquet" else feather.write_feather)(table, path)
    assert "60 columns" in load_error(path).message


def test_arrow_column_name_that_is_not_utf8(tmp_path):
    path = tmp_path / "names.feather"
    feather.write_feather(pa.table({"embedding": [[0.5, 0.5]] * 3, "zzzz": [1, 2, 3]}), path,
                          compression="uncompressed")
    path.write_bytes(path.read_bytes().replace(b"zzzz", b"\xff\xfe\xfd\xfc"))
    assert "column name is not UTF-8" in load_error(path).message
