"""Tables: Parquet, Arrow IPC / Feather, CSV / TSV (and the Projector pair), JSONL, metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from explorer.core.checks import check_set
from explorer.core.errors import InputError
from explorer.core.loaders import LoadOptions, open_file, parquet_footer

V = (np.arange(15, dtype=np.float32).reshape(5, 3) - 7) / 4  # exact as text and in float32
IDS = [10, 11, 12, 13, 14]
TEXTS = ["alpha", "beta", "gamma", "delta", "epsilon"]


def load_error(path: Path, **options) -> InputError:
    with pytest.raises(InputError) as info:
        open_file(path, LoadOptions(**options))
    assert type(info.value) is InputError
    return info.value


def list_table(list_type: pa.DataType | None = None) -> pa.Table:
    return pa.table({
        "id": pa.array(IDS, pa.int64()),
        "text": TEXTS,
        "score": [0.5, 1.5, 2.5, 3.5, 4.5],
        "flag": [True, False, True, False, True],
        "embedding": pa.array(V.tolist(), list_type or pa.list_(pa.float32())),
    })


def assert_list_table_loaded(es, fmt: str) -> None:
    assert es.format == fmt
    assert es.vector_column == "embedding"
    np.testing.assert_array_equal(es.vectors, V)
    assert es.vectors.dtype == np.float32
    assert es.columns == ["id", "text", "score", "flag"]
    assert es.metadata.column("id").to_pylist() == IDS
    assert es.metadata.column("text").to_pylist() == TEXTS
    assert es.metadata.column("score").to_pylist() == [0.5, 1.5, 2.5, 3.5, 4.5]
    assert es.metadata.column("flag").to_pylist() == [True, False, True, False, True]
    assert es.id_column == "id"
    assert es.text_column == "text"


def csv_text(header: bool, delim: str = ",") -> str:
    lines = [delim.join(["id", "text", "d0", "d1", "d2"])] if header else []
    lines += [delim.join([str(i), t, *map(str, row)]) for i, t, row in zip(IDS, TEXTS, V.tolist())]
    return "\n".join(lines) + "\n"


# --- Parquet -----------------------------------------------------------------------

@pytest.mark.parametrize("list_type", [pa.list_(pa.float32()), pa.list_(pa.float64()),
                                       pa.large_list(pa.float32()), pa.list_(pa.float32(), 3)],
                         ids=["list32", "list64", "large_list", "fixed_size_list"])
def test_parquet_list_columns(tmp_path, list_type):
    path = tmp_path / "set.parquet"
    pq.write_table(list_table(list_type), path)
    assert_list_table_loaded(open_file(path), "parquet")


def test_parquet_several_row_groups_and_pq_extension(tmp_path):
    path = tmp_path / "set.pq"
    pq.write_table(list_table(), path, row_group_size=2)
    assert pq.ParquetFile(path).num_row_groups == 3
    assert_list_table_loaded(open_file(path), "parquet")


def dims_table(n_dims: int = 12) -> tuple[pa.Table, np.ndarray]:
    rng = np.random.default_rng(3)
    values = (rng.integers(-40, 40, size=(5, n_dims)) / 8).astype(np.float64)
    cols = {"doc_id": [f"d{i}" for i in range(5)], "score": [0.25] * 5}
    cols.update({f"dim_{j}": values[:, j] for j in range(n_dims)})
    return pa.table(cols), values.astype(np.float32)


def test_parquet_one_float_column_per_dimension(tmp_path):
    table, values = dims_table()
    table = table.drop_columns(["score"])
    path = tmp_path / "dims.parquet"
    pq.write_table(table, path)

    es = open_file(path)

    assert es.vectors.shape == (5, 12)
    np.testing.assert_array_equal(es.vectors, values)  # dim_10, dim_11 stay last
    assert es.vector_column == "12 numeric columns"
    assert es.columns == ["doc_id"]
    assert es.id_column == "doc_id"


def test_glob_vector_column_leaves_other_floats_as_metadata(tmp_path):
    table, values = dims_table()
    path = tmp_path / "dims.parquet"
    pq.write_table(table, path)

    auto = open_file(path)  # the numbered dim_* group is the vector; 'score' stays metadata
    np.testing.assert_array_equal(auto.vectors, values)
    assert auto.columns == ["doc_id", "score"]

    es = open_file(path, LoadOptions(vector_column="dim_*"))
    assert es.vector_column == "dim_*"
    np.testing.assert_array_equal(es.vectors, values)
    assert es.columns == ["doc_id", "score"]
    assert es.metadata.column("score").to_pylist() == [0.25] * 5


def test_explicit_vector_column_among_several_list_columns(tmp_path):
    table = pa.table({"name": TEXTS,
                      "img": pa.array((V * 2).tolist(), pa.list_(pa.float32())),
                      "txt": pa.array(V.tolist(), pa.list_(pa.float32()))})
    path = tmp_path / "two.parquet"
    pq.write_table(table, path)

    err = load_error(path)
    assert "several columns" in err.message and "img" in err.message and "txt" in err.message

    es = open_file(path, LoadOptions(vector_column="txt"))
    assert es.vector_column == "txt"
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["name", "img"]
    assert es.metadata.column("img").to_pylist()[1] == (V[1] * 2).tolist()


def test_preferred_list_column_name_wins(tmp_path):
    table = pa.table({"pos": pa.array([[1.0, 2.0]] * 5, pa.list_(pa.float64())),
                      "embedding": pa.array(V.tolist(), pa.list_(pa.float32()))})
    path = tmp_path / "pref.parquet"
    pq.write_table(table, path)
    es = open_file(path)
    assert es.vector_column == "embedding"
    np.testing.assert_array_equal(es.vectors, V)


def test_integer_valued_dimension_in_csv_is_kept(tmp_path):
    """A column whose values happen to be whole numbers is read as int64 by Arrow."""
    path = tmp_path / "dims.csv"
    path.write_text("id,d0,d1,d2\n"
                    "a,0.5,1,0.25\n"
                    "b,-1.5,0,2.75\n")
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, [[0.5, 1, 0.25], [-1.5, 0, 2.75]])
    assert es.columns == ["id"]


@pytest.mark.parametrize("options", [
    {"row_group_size": 2},
    {"compression": "zstd", "use_dictionary": False, "write_page_index": True},
    {"data_page_version": "2.0", "store_schema": False, "use_byte_stream_split": ["score"]},
])
def test_parquet_footer_read_in_python_agrees_with_pyarrow(tmp_path, options):
    """The loader's size check reads the footer itself (pyarrow's column metadata can abort
    the process on a damaged one): every number it uses must be pyarrow's."""
    table = list_table().append_column("nested", pa.array([{"a": [1, 2], "b": "z"}] * 5))
    table = table.append_column("map", pa.array([[("k", 1)]] * 5,
                                                pa.map_(pa.string(), pa.int64())))
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, **options)
    meta = pq.ParquetFile(path).metadata
    groups = parquet_footer.row_groups(path)
    assert len(groups) == meta.num_row_groups
    for g, group in enumerate(groups):
        expected = meta.row_group(g)
        assert group.num_rows == expected.num_rows
        assert [(c.physical_type, c.num_values, c.uncompressed_size) for c in group.chunks] == [
            (col.physical_type, col.num_values, col.total_uncompressed_size)
            for col in (expected.column(i) for i in range(expected.num_columns))]


# --- Arrow IPC / Feather -----------------------------------------------------------

def test_arrow_ipc_file(tmp_path):
    path = tmp_path / "set.arrow"
    table = list_table()
    with ipc.new_file(path, table.schema) as writer:
        writer.write_table(table)
    assert_list_table_loaded(open_file(path), "arrow")


def test_arrow_ipc_stream(tmp_path):
    path = tmp_path / "set.ipc"
    table = list_table()
    with ipc.new_stream(path, table.schema) as writer:
        writer.write_table(table)
    assert_list_table_loaded(open_file(path), "arrow")


@pytest.mark.parametrize("compression", ["uncompressed", "lz4", "zstd"])
def test_feather(tmp_path, compression):
    path = tmp_path / "set.feather"
    feather.write_feather(list_table(pa.list_(pa.float32(), 3)), path, compression=compression)
    assert_list_table_loaded(open_file(path), "arrow")


# --- CSV / TSV ---------------------------------------------------------------------

def test_csv_first_lines_with_a_cell_the_csv_module_refuses(tmp_path):
    """A quoted cell over the csv module's 128 KiB: Arrow splits the first two lines."""
    long = "x, y " * 40_000
    path = tmp_path / "long.csv"
    path.write_text(f'text,d0,d1\n"{long}",0.5,0.25\nshort,1.5,2.5\n')
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, [[0.5, 0.25], [1.5, 2.5]])
    assert es.metadata.column("text").to_pylist() == [long, "short"]


def test_csv_with_header(tmp_path):
    path = tmp_path / "set.csv"
    path.write_text(csv_text(header=True))

    es = open_file(path)

    assert es.format == "csv"
    np.testing.assert_array_equal(es.vectors, V)
    assert es.vector_column == "3 numeric columns"
    assert es.columns == ["id", "text"]
    assert es.metadata.column("id").to_pylist() == IDS
    assert es.metadata.column("text").to_pylist() == TEXTS
    assert es.id_column == "id" and es.text_column == "text"


def test_headerless_csv(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("\n".join(",".join(map(str, row)) for row in V.tolist()) + "\n")
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["row"]


def test_headerless_csv_with_leading_label_column(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text("".join(f"{t},{','.join(map(str, row))}\n"
                            for t, row in zip(TEXTS, V.tolist())))
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.metadata.column(0).to_pylist() == TEXTS
    assert es.text_column == es.columns[0]


@pytest.mark.parametrize("suffix", [".tsv", ".tab"])
def test_tsv_with_header(tmp_path, suffix):
    path = tmp_path / f"set{suffix}"
    path.write_text(csv_text(header=True, delim="\t"))
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["id", "text"]
    assert es.metadata.column("text").to_pylist() == TEXTS


def test_csv_quoted_metadata_and_crlf(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_bytes(b'title,a,b\r\n"Hello, world",0.5,1.5\r\n"say ""hi""",2.5,-3.5\r\n')
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, [[0.5, 1.5], [2.5, -3.5]])
    assert es.metadata.column("title").to_pylist() == ["Hello, world", 'say "hi"']
    assert es.text_column == "title"


def projector_vectors(path: Path) -> None:
    path.write_text("".join("\t".join(map(str, row)) + "\n" for row in V.tolist()))


def test_projector_pair_with_multi_column_metadata(tmp_path):
    projector_vectors(tmp_path / "vectors.tsv")
    (tmp_path / "metadata.tsv").write_text(
        "word\tpos\n" + "".join(f"{t}\t{'N' if i % 2 else 'V'}\n" for i, t in enumerate(TEXTS)))
    options = LoadOptions()

    es = open_file(tmp_path / "vectors.tsv", options)

    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["word", "pos"]
    assert es.metadata.column("word").to_pylist() == TEXTS
    assert es.metadata.column("pos").to_pylist() == ["V", "N", "V", "N", "V"]
    assert es.id_column == "word" and es.text_column == "word"
    assert es.source == [str((tmp_path / "vectors.tsv").resolve()),
                         str((tmp_path / "metadata.tsv").resolve())]
    assert any("Projector" in note for note in es.notes)
    assert options.metadata_path is None  # the caller's options are not changed


def test_projector_pair_single_column_metadata_without_header(tmp_path):
    projector_vectors(tmp_path / "glove_vectors.tsv")
    (tmp_path / "glove_metadata.tsv").write_text("".join(t + "\n" for t in TEXTS))
    es = open_file(tmp_path / "glove_vectors.tsv")
    assert es.columns == ["label"]
    assert es.metadata.column("label").to_pylist() == TEXTS
    assert es.text_column == "label"
    assert es.id_column is None


def test_projector_single_column_metadata_with_header_and_empty_label(tmp_path):
    projector_vectors(tmp_path / "vectors.tsv")
    labels = ["alpha", "", "gamma", "delta", "epsilon"]
    (tmp_path / "metadata.tsv").write_text("token\n" + "".join(t + "\n" for t in labels))
    es = open_file(tmp_path / "vectors.tsv")
    assert es.columns == ["token"]
    assert es.metadata.column("token").to_pylist() == labels


def test_projector_vectors_without_metadata(tmp_path):
    projector_vectors(tmp_path / "vectors.tsv")
    es = open_file(tmp_path / "vectors.tsv")
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["row"]
    assert es.notes == []


@pytest.mark.parametrize("cell", [
    lambda row: json.dumps(row),                             # JSON
    lambda row: "[" + ", ".join(repr(v) for v in row) + "]",  # str(list), as pandas writes it
    lambda row: "[" + " ".join(str(v) for v in row) + "]",    # str(np.ndarray)
], ids=["json", "python", "numpy"])
def test_csv_column_of_list_strings(tmp_path, cell):
    path = tmp_path / "lists.csv"
    path.write_text("id,text,embedding\n" + "".join(
        f'{i},{t},"{cell(row)}"\n' for i, t, row in zip(IDS, TEXTS, V.tolist())))
    es = open_file(path)
    assert es.vector_column == "embedding"
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["id", "text"]


def test_csv_list_strings_with_nan_as_python_writes_it(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text('id,embedding\n1,"[0.5, nan, 1.0]"\n2,"[inf, 0.25, -1.0]"\n')
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, [[0.5, np.nan, 1.0], [np.inf, 0.25, -1.0]])
    assert check_set(es).scan.nan_rows == 2


# --- JSONL -------------------------------------------------------------------------

def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_jsonl(tmp_path, suffix):
    path = tmp_path / f"set{suffix}"
    write_jsonl(path, [{"doc_id": f"x{i}", "content": t, "lang": "en", "embedding": row}
                       for i, t, row in zip(IDS, TEXTS, V.tolist())])
    es = open_file(path)
    assert es.format == "jsonl"
    assert es.vector_column == "embedding"
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["doc_id", "content", "lang"]
    assert es.metadata.column("doc_id").to_pylist() == [f"x{i}" for i in IDS]
    assert es.id_column == "doc_id" and es.text_column == "content"


def test_jsonl_with_integers_in_the_lists_and_blank_lines(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": 1, "vector": [1, 2, 3]}\n\n{"id": 2, "vector": [0.5, 1.5, -2]}\n')
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, [[1, 2, 3], [0.5, 1.5, -2]])
    assert es.metadata.column("id").to_pylist() == [1, 2]


# --- separate metadata files joined by row order ------------------------------------

def write_metadata(path: Path) -> None:
    table = pa.table({"id": IDS, "text": TEXTS})
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".feather":
        feather.write_feather(table, path)
    elif path.suffix == ".jsonl":
        write_jsonl(path, table.to_pylist())
    else:
        path.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in zip(IDS, TEXTS)))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".feather"])
def test_metadata_file_joined_by_row_order(tmp_path, suffix):
    vectors = tmp_path / "v.npy"
    np.save(vectors, V)
    meta = tmp_path / f"meta{suffix}"
    write_metadata(meta)

    es = open_file(vectors, LoadOptions(metadata_path=meta))

    np.testing.assert_array_equal(np.asarray(es.vectors), V)
    assert es.columns == ["id", "text"]
    assert es.metadata.column("id").to_pylist() == IDS
    assert es.metadata.column("text").to_pylist() == TEXTS
    assert es.id_column == "id" and es.text_column == "text"
    assert es.source == [str(vectors.resolve()), str(meta.resolve())]


def test_metadata_file_next_to_own_metadata_renames_clashes(tmp_path):
    path = tmp_path / "set.parquet"
    pq.write_table(list_table(), path)
    meta = tmp_path / "more.csv"
    meta.write_text("text,extra\n" + "".join(f"T{i},{i * 2}\n" for i in range(5)))
    es = open_file(path, LoadOptions(metadata_path=meta))
    assert es.columns == ["id", "text", "score", "flag", "text_meta", "extra"]
    assert es.metadata.column("text").to_pylist() == TEXTS
    assert es.metadata.column("text_meta").to_pylist() == [f"T{i}" for i in range(5)]
    assert es.metadata.column("extra").to_pylist() == [0, 2, 4, 6, 8]


# --- id and text columns -----------------------------------------------------------

@pytest.mark.parametrize(("columns", "id_column", "text_column"), [
    ({"id": IDS, "text": TEXTS}, "id", "text"),
    ({"ID": IDS, "Sentence": TEXTS}, "ID", "Sentence"),
    ({"uid": [str(i) for i in IDS], "caption": TEXTS}, "uid", "caption"),
    ({"doc_id": [str(i) for i in IDS], "category": TEXTS}, "doc_id", "category"),
    ({"key": [str(i) for i in IDS]}, "key", "key"),
    ({"label": [0, 1, 0, 1, 0], "text": TEXTS}, None, "text"),  # a class, not an id
    ({"score": [0.1] * 5, "label": list("ababa")}, None, "label"),
    ({"count": [1, 2, 3, 4, 5]}, None, None),
    ({"name": TEXTS}, "name", "name"),
])
def test_id_and_text_column_detection(tmp_path, columns, id_column, text_column):
    path = tmp_path / "set.parquet"
    pq.write_table(pa.table({**columns, "embedding": pa.array(V.tolist(), pa.list_(pa.float32()))}),
                   path)
    es = open_file(path)
    assert es.id_column == id_column
    assert es.text_column == text_column


def test_id_column_option(tmp_path):
    path = tmp_path / "set.parquet"
    pq.write_table(list_table(), path)
    es = open_file(path, LoadOptions(id_column="text"))
    assert es.id_column == "text"
    assert es.label(2) == "gamma"
    err = load_error(path, id_column="nope")
    assert "'nope'" in err.message and "id" in err.hint


def test_jsonl_list_of_strings_is_metadata(tmp_path):
    path = tmp_path / "set.jsonl"
    write_jsonl(path, [{"tags": ["x", "y"][: i % 3], "embedding": row}
                       for i, row in enumerate(V.tolist())])
    es = open_file(path)
    assert es.vector_column == "embedding"
    np.testing.assert_array_equal(es.vectors, V)
    assert es.metadata.column("tags").to_pylist() == [[], ["x"], ["x", "y"], [], ["x"]]


# --- files as spreadsheets and Windows tools write them ---------------------------------

BOM = "\ufeff".encode()


def test_csv_with_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(BOM + csv_text(header=True).replace("\n", "\r\n").encode())
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["id", "text"]
    assert es.id_column == "id"


def test_semicolon_separated_csv(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(csv_text(header=True, delim=";"))
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.metadata.column("text").to_pylist() == TEXTS


def test_jsonl_with_byte_order_mark(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_bytes(BOM + b'{"id": 7, "embedding": [0.5, 0.25]}\n{"id": 8, "embedding": [1, 2]}\n')
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, [[0.5, 0.25], [1, 2]])
    assert es.metadata.column("id").to_pylist() == [7, 8]


def test_single_column_metadata_with_byte_order_mark(tmp_path):
    projector_vectors(tmp_path / "vectors.tsv")
    (tmp_path / "metadata.tsv").write_bytes(BOM + "".join(t + "\n" for t in TEXTS).encode())
    assert open_file(tmp_path / "vectors.tsv").metadata.column("label").to_pylist() == TEXTS


@pytest.mark.parametrize("text, count, dim, columns", [
    ("0,1,2,3\n0.1,0.2,0.3,0.4\n0.5,0.6,0.7,0.8\n", 2, 4, ["row"]),  # pandas' numbered header
    (",0,1,2\n0,0.1,0.2,0.3\n1,0.4,0.5,0.6\n", 2, 3, [""]),  # ... with its index column
    ("1,apple,0.1,0.2\n2,pear,0.3,0.4\n3,fig,0.5,0.6\n", 3, 2, ["0", "1"]),  # labels, no header
    ("title,d0,d1\n1984,0.1,0.2\nDune,0.3,0.4\n2001,0.5,0.6\n", 3, 2, ["title"]),  # text metadata
])
def test_header_detection_and_label_columns(tmp_path, text, count, dim, columns):
    path = tmp_path / "t.csv"
    path.write_text(text)
    es = open_file(path)
    assert (es.count, es.dim, es.columns) == (count, dim, columns)


def test_duplicate_column_names_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("name,name,d0,d1\na,b,0.1,0.2\nc,d,0.3,0.4\n")
    with pytest.raises(InputError, match="'name' appears more than once") as err:
        open_file(path)
    assert err.value.column == 2


def test_projector_labels_may_start_with_a_quote(tmp_path):
    (tmp_path / "vectors.tsv").write_text("0.1\t0.2\n0.3\t0.4\n")
    (tmp_path / "metadata.tsv").write_text('"quoted\n"another\n')
    es = open_file(tmp_path / "vectors.tsv")
    assert es.metadata.column(0).to_pylist() == ['"quoted', '"another']
