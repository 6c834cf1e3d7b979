"""Bad input of every kind ends in one InputError that says what is wrong and where."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from explorer.core.errors import InputError
from explorer.core.loaders import LoadOptions, base, open_file

RNG = np.random.default_rng(7)
V = RNG.standard_normal((40, 6)).astype(np.float32)
WORDS = [f"w{i}" for i in range(40)]


def load_error(path: Path, **options) -> InputError:
    with pytest.raises(InputError) as info:
        open_file(path, LoadOptions(**options))
    err = info.value
    assert type(err) is InputError
    assert "Traceback" not in str(err)
    assert err.path == str(path)
    return err


def write_vecs(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:
        for row in arr:
            fh.write(struct.pack("<i", arr.shape[1]) + row.tobytes())


def write_bin(path: Path, words=WORDS, vectors=V, count: int | None = None) -> None:
    with open(path, "wb") as fh:
        fh.write(f"{len(words) if count is None else count} {vectors.shape[1]}\n".encode())
        for w, row in zip(words, vectors):
            fh.write(w.encode() + b" " + row.astype("<f4").tobytes() + b"\n")


def table() -> pa.Table:
    return pa.table({"id": list(range(len(V))), "text": WORDS,
                     "embedding": pa.array(V.tolist(), pa.list_(pa.float32()))})


def write_h5(path: Path) -> None:
    with h5py.File(path, "w") as fh:
        fh.attrs["distance"] = "angular"
        fh["train"] = V
        fh["test"] = V[:4]
        fh["neighbors"] = np.zeros((4, 3), np.int32)


def write_ipc_stream(path: Path) -> None:
    with ipc.new_stream(path, table().schema) as writer:
        writer.write_table(table())


WRITERS = {
    "v.npy": lambda p: np.save(p, V),
    "v.npz": lambda p: np.savez(p, emb=V, ids=np.arange(len(V))),
    "c.npz": lambda p: np.savez_compressed(p, emb=V, ids=np.arange(len(V))),
    "v.parquet": lambda p: pq.write_table(table(), p),
    "v.feather": lambda p: feather.write_feather(table(), p),
    "s.arrow": write_ipc_stream,
    "v.h5": write_h5,
    "v.fvecs": lambda p: write_vecs(p, V),
    "v.ivecs": lambda p: write_vecs(p, (V * 100).astype(np.int32)),
    "v.bvecs": lambda p: write_vecs(p, (np.abs(V) * 40).astype(np.uint8)),
    "v.csv": lambda p: p.write_text("id,text,d0,d1,d2,d3,d4,d5\n" + "".join(
        f"{i},{w}," + ",".join(map(str, row)) + "\n"
        for i, (w, row) in enumerate(zip(WORDS, V.tolist())))),
    "v.jsonl": lambda p: p.write_text("".join(
        json.dumps({"id": i, "embedding": row}) + "\n" for i, row in enumerate(V.tolist()))),
    "v.txt": lambda p: p.write_text(f"{len(V)} 6\n" + "".join(
        w + " " + " ".join(map(str, row)) + " \n" for w, row in zip(WORDS, V.tolist()))),
    "v.bin": write_bin,
}


# --- what the file is ---------------------------------------------------------------

def test_unknown_extension_with_unknown_content(tmp_path):
    path = tmp_path / "notes.xyz"
    path.write_text("hello world\n")
    err = load_error(path)
    assert err.message == "unknown file type"
    assert ".npy" in err.hint and ".parquet" in err.hint


def test_missing_file(tmp_path):
    assert load_error(tmp_path / "nope.npy").message == "no such file"


def test_directory(tmp_path):
    folder = tmp_path / "embeddings.npy"
    folder.mkdir()
    err = load_error(folder)
    assert "is a directory" in err.message


@pytest.mark.parametrize("name", ["e.npy", "e.csv", "e.parquet", "e.txt", "e.bin", "e.fvecs",
                                  "e.jsonl", "e.h5", "e.xyz"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.touch()
    assert "empty" in load_error(path).message


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("random.npy", bytes(RNG.integers(0, 256, 500, dtype=np.uint8)), "name says npy"),
    ("garbage.parquet", b"this is not parquet at all" * 20, "name says parquet"),
    ("garbage.h5", b"\x00\x01\x02 nope" * 50, "name says hdf5"),
    ("garbage.feather", b"\x00\x01\x02 nope" * 50, "name says arrow"),
    ("garbage.npz", b"not a zip" * 50, "name says npz"),
    ("binary.csv", bytes(range(256)) * 4, "name says csv"),
    ("binary.txt", bytes(range(256)) * 4, "name says word2vec-text"),
    ("fasttext.bin", b"\xba\x16\x4f\x2f" + bytes(300), "name says word2vec-bin"),
    ("bad-magic.parquet", b"PAR1" + b"garbage" * 50 + b"PAR1", "not a readable Parquet file"),
    ("bad-body.h5", b"\x89HDF\r\n\x1a\n" + b"garbage" * 50, "not a readable HDF5 file"),
    ("bad-body.npz", b"PK\x03\x04" + b"garbage" * 50, "not a valid .npz file"),
    ("bad-body.feather", b"ARROW1\x00\x00" + b"garbage" * 50, "not a readable Arrow"),
    ("header.npy", b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
                   b"'shape': (3, 4), }" + b" " * 60 + b"\n", "truncated"),
    ("bad-header.npy", b"\x93NUMPY\x01\x00\x20\x00{'descr': @@@ broken" + b" " * 11 + b"\n",
     "damaged header"),
    ("array.json", b'[{"embedding": [0.1, 0.2]}]', "name says jsonl"),
])
def test_corrupt_file(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    assert fragment in load_error(path).message


@pytest.mark.parametrize("name", ["looks.npy", "looks.csv", "looks.jsonl", "looks.h5"])
def test_extension_says_one_format_content_is_parquet(tmp_path, name):
    path = tmp_path / name
    pq.write_table(table(), path)
    err = load_error(path)
    assert "it looks like parquet" in err.message


def test_extension_npy_content_hdf5(tmp_path):
    path = tmp_path / "looks.npy"
    write_h5(path)
    assert "it looks like hdf5" in load_error(path).message


def test_object_npy_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, [1, 2]], dtype=object), allow_pickle=True)
    err = load_error(path)
    assert "Python objects" in err.message and "float32" in err.message


def test_object_array_in_npz(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, emb=V, tags=np.array([["a"], None] * 20, dtype=object))
    assert "Python objects" in load_error(path).message


@pytest.mark.parametrize(("array", "fragment"), [
    (np.arange(10, dtype=np.float32), "shape (10,); expected 2-D"),
    (np.zeros((2, 3, 4), np.float32), "shape (2, 3, 4); expected 2-D"),
    (np.array(["a", "b"]).reshape(1, 2), "not numbers"),
    (np.ones((3, 3), np.complex64), "not numbers"),
])
def test_npy_that_is_not_a_matrix_of_numbers(tmp_path, array, fragment):
    path = tmp_path / "x.npy"
    np.save(path, array)
    assert fragment in load_error(path).message


# --- truncated files -----------------------------------------------------------------

def test_npy_cut_in_half(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, V)
    data = path.read_bytes()
    header = 10 + int.from_bytes(data[8:10], "little")
    half = len(data) // 2
    path.write_bytes(data[:half])

    err = load_error(path)

    assert err.row == (half - header) // (6 * 4)
    assert err.row == 17
    assert "truncated" in err.message and f"of {len(V)}" in err.message


def test_npy_cut_inside_the_header(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, V)
    path.write_bytes(path.read_bytes()[:40])
    assert "truncated" in load_error(path).message


def test_fvecs_cut_mid_record(tmp_path):
    path = tmp_path / "v.fvecs"
    write_vecs(path, V)
    record = 4 + 6 * 4
    path.write_bytes(path.read_bytes()[:record * 13 + 9])
    err = load_error(path)
    assert err.row == 13
    assert "truncated" in err.message


def test_word2vec_bin_cut(tmp_path):
    path = tmp_path / "v.bin"
    write_bin(path)
    data = path.read_bytes()
    start = data.index(b"\nw7 ") + 1
    path.write_bytes(data[:start + 10])  # inside the values of w7
    err = load_error(path)
    assert err.row == 7
    assert "truncated" in err.message


def test_word2vec_bin_with_fewer_words_than_the_header_says(tmp_path):
    path = tmp_path / "v.bin"
    write_bin(path, count=45)
    err = load_error(path)
    assert err.row == 40
    assert "of 45" in err.message


def test_word2vec_bin_without_count_header(tmp_path):
    path = tmp_path / "v.bin"
    path.write_bytes(b"40 six\n" + bytes(100))
    assert "name says word2vec-bin" in load_error(path).message


def test_word2vec_text_header_count_exceeds_lines(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("7 3\n" + "".join(f"w{i} 0.5 0.25 1.0\n" for i in range(4)))
    err = load_error(path)
    assert err.line == 1
    assert "says 7 words" in err.message and "holds 4" in err.message
    assert "truncated" in err.message


# --- ragged rows ---------------------------------------------------------------------

def test_csv_ragged_row(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("id,a,b,c\n1,0.5,0.5,0.5\n2,0.5,0.5,0.5\n3,0.5,0.5\n4,0.5,0.5,0.5\n")
    err = load_error(path)
    assert err.line == 4
    assert "has 3 fields" in err.message and "4" in err.message and "ragged" in err.message


def test_headerless_tsv_ragged_row(tmp_path):
    path = tmp_path / "vectors.tsv"
    path.write_text("0.5\t0.5\t0.5\n0.5\t0.5\t0.5\t0.5\n")
    err = load_error(path)
    assert err.line == 2
    assert "ragged" in err.message


def test_csv_ragged_row_after_a_blank_line_and_a_header(tmp_path, monkeypatch):
    """Found from Arrow's message: a Python invalid_row_handler given to the streaming
    reader is released by Arrow's threads, and the CLI aborted (SIGABRT) in about 1 of
    70 runs when that fell in the interpreter's exit."""
    options = []
    open_csv = pacsv.open_csv
    monkeypatch.setattr(pacsv, "open_csv",
                        lambda *a, **kw: options.append(kw["parse_options"]) or open_csv(*a, **kw))
    path = tmp_path / "v.csv"
    path.write_text("id,d0,d1\n1,0.5,0.5\n\n2,0.5,0.5,0.5\n")
    err = load_error(path)
    assert err.line == 4 and "has 4 fields, but line 1 has 3 (ragged rows)" in err.message
    assert options and all(o.invalid_row_handler is None for o in options)


def test_jsonl_lists_of_different_lengths(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text('{"id": 1, "embedding": [0.5, 0.5, 0.5]}\n'
                    '{"id": 2, "embedding": [0.5, 0.5, 0.5]}\n'
                    '\n'
                    '{"id": 3, "embedding": [0.5, 0.5]}\n')
    err = load_error(path)
    assert err.row == 2
    assert err.line == 4
    assert err.column == "embedding"
    assert "2 values" in err.message and "3" in err.message


def test_parquet_lists_of_different_lengths(tmp_path):
    path = tmp_path / "v.parquet"
    lists = [[0.5, 0.5, 0.5]] * 3 + [[0.5, 0.5, 0.5, 0.5]] + [[0.5, 0.5, 0.5]]
    pq.write_table(pa.table({"id": range(5), "embedding": lists}), path, row_group_size=2)
    err = load_error(path)
    assert err.row == 3
    assert err.column == "embedding"
    assert "4 values" in err.message and "ragged" in err.message


def test_parquet_null_vector_and_null_value(tmp_path):
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"embedding": [[0.5, 0.5], None, [0.5, 0.5]]}), path)
    err = load_error(path)
    assert err.row == 1 and "null" in err.message
    pq.write_table(pa.table({"embedding": [[0.5, 0.5], [0.5, 0.5], [0.5, None]]}), path)
    err = load_error(path)
    assert err.row == 2 and "position 1" in err.message


def test_word2vec_text_ragged_line(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("3 3\na 0.5 0.5 0.5\nb 0.5 0.5\nc 0.5 0.5 0.5\n")
    err = load_error(path)
    assert err.line == 3
    assert "2 numbers" in err.message and "expected 3" in err.message


def test_glove_text_ragged_line(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("a 0.5 0.5 0.5\nb 0.5 0.5 0.5\nc 0.5 0.5 0.5 0.5\n")
    err = load_error(path)
    assert err.line == 3


# --- cells that are not numbers ------------------------------------------------------

def test_csv_with_header_bad_cell(tmp_path):
    path = tmp_path / "v.csv"
    rows = [f"{i},w{i},0.5,0.25,0.125" for i in range(6)]
    rows[3] = "3,w3,0.5,abc,0.125"
    path.write_text("id,text,d0,d1,d2\n" + "\n".join(rows) + "\n")
    err = load_error(path)
    assert err.row == 3
    assert err.line == 5
    assert err.column == "d1"
    assert "'abc' is not a number" in err.message


def test_csv_with_header_empty_cell(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("id,d0,d1\n1,0.5,0.5\n2,,0.5\n")
    err = load_error(path)
    assert (err.row, err.line, err.column) == (1, 3, "d0")
    assert "empty cell" in err.message


@pytest.mark.parametrize(("bad_col", "column"), [(1, 2), (0, 1)])
def test_headerless_csv_bad_cell(tmp_path, bad_col, column):
    rows = [["0.5", "0.25", "0.125"] for _ in range(5)]
    rows[2][bad_col] = "x1"
    path = tmp_path / "v.csv"
    path.write_text("".join(",".join(r) + "\n" for r in rows))
    err = load_error(path)
    assert err.row == 2
    assert err.line == 3
    assert err.column == column  # 1-based: there are no names
    assert "'x1' is not a number" in err.message


def test_jsonl_list_holding_a_string(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text('{"id": 1, "embedding": [0.5, 0.5]}\n'
                    '{"id": 2, "embedding": [0.5, 0.5]}\n'
                    '{"id": 3, "embedding": [0.5, "0.5"]}\n')
    err = load_error(path)
    assert err.line == 3
    assert err.column == "embedding"
    assert "not a number" in err.message


def test_jsonl_broken_json(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text('{"embedding": [0.5, 0.5]}\n{"embedding": [0.5, 0.5}\n')
    err = load_error(path)
    assert err.line == 2
    assert "not valid JSON" in err.message


def test_word2vec_text_non_number(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("3 3\na 0.5 0.5 0.5\nb 0.5 0.5 0.5\nc 0.5 oops 0.5\n")
    err = load_error(path)
    assert err.line == 4
    assert err.column == 3
    assert "'oops' is not a number" in err.message


def test_csv_list_string_that_is_not_a_list(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text('id,embedding\n1,"[0.5, 0.5]"\n2,"[0.5, zero]"\n')
    err = load_error(path)
    assert (err.row, err.line, err.column) == (1, 3, "embedding")


# --- metadata that does not fit -------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_metadata_file_with_other_row_count(tmp_path, suffix):
    vectors = tmp_path / "v.npy"
    np.save(vectors, V[:5])
    meta = tmp_path / f"m{suffix}"
    rows = [{"id": i, "text": f"t{i}"} for i in range(3)]
    if suffix == ".csv":
        meta.write_text("id,text\n" + "".join(f"{r['id']},{r['text']}\n" for r in rows))
    elif suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), meta)
    else:
        meta.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError) as info:
        open_file(vectors, LoadOptions(metadata_path=meta))
    assert type(info.value) is InputError
    assert "3 rows" in info.value.message and "5 vectors" in info.value.message


def test_projector_metadata_with_other_row_count(tmp_path):
    (tmp_path / "vectors.tsv").write_text("0.5\t0.5\n0.25\t0.25\n1\t1\n")
    (tmp_path / "metadata.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(InputError) as info:
        open_file(tmp_path / "vectors.tsv")
    assert "1 rows" in info.value.message and "3 vectors" in info.value.message


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("missing.csv", None, "no such file"),
    ("empty.csv", b"", "empty"),
    ("broken.parquet", b"PAR1 nonsense PAR1", "not a readable metadata table"),
    ("broken.jsonl", b'{"a": 1}\n{"a": \n', "not valid JSON"),
])
def test_unusable_metadata_file(tmp_path, name, content, fragment):
    vectors = tmp_path / "v.npy"
    np.save(vectors, V)
    meta = tmp_path / name
    if content is not None:
        meta.write_bytes(content)
    with pytest.raises(InputError) as info:
        open_file(vectors, LoadOptions(metadata_path=meta))
    assert type(info.value) is InputError
    assert info.value.path == str(meta)
    assert fragment in info.value.message


# --- dimension 0 and 1 ---------------------------------------------------------------

DIM_WRITERS = {
    "npy": ("v.npy", lambda p, d: np.save(p, np.ones((4, d), np.float32))),
    "fvecs": ("v.fvecs", lambda p, d: write_vecs(p, np.ones((4, d), np.float32))),
    "parquet": ("v.parquet", lambda p, d: pq.write_table(
        pa.table({"embedding": pa.array([[1.0] * d] * 4, pa.list_(pa.float32()))}), p)),
    "csv": ("v.csv", lambda p, d: p.write_text("id,a\n" + "".join(f"{i},0.5\n" for i in range(4)))
            if d == 1 else p.write_text("id\n1\n2\n")),
    "txt": ("v.txt", lambda p, d: p.write_text(f"2 {d}\n" + "".join(
        f"w{i}" + " 0.5" * d + "\n" for i in range(2)))),
    "bin": ("v.bin", lambda p, d: write_bin(p, WORDS[:3], np.ones((3, d), np.float32))),
}


@pytest.mark.parametrize("fmt", DIM_WRITERS)
@pytest.mark.parametrize("dim", [0, 1])
def test_dimension_0_and_1_are_refused(tmp_path, fmt, dim):
    name, write = DIM_WRITERS[fmt]
    path = tmp_path / name
    write(path, dim)
    err = load_error(path)
    if fmt in ("npy", "fvecs", "parquet", "bin") or dim == 1:
        assert f"dimension {dim}" in err.message
        assert "at least 2" in err.message


def test_no_rows(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, np.zeros((0, 8), np.float32))
    assert "no vectors" in load_error(path).message
    path = tmp_path / "v.csv"
    path.write_text("id,a,b\n")
    assert "no vectors" in load_error(path).message


# --- the machine says no -------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root can read a chmod 000 file; covered by the monkeypatched test")
def test_unreadable_file_chmod(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, V)
    path.chmod(0)
    try:
        assert "not readable" in load_error(path).message
    finally:
        path.chmod(0o600)


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "v.npy"
    np.save(path, V)

    def refuse(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(base, "open", refuse, raising=False)
    err = load_error(path)
    assert "permission denied" in err.message and "not readable" in err.message


def test_read_error(tmp_path, monkeypatch):
    path = tmp_path / "v.npy"
    np.save(path, V)

    def fail(file, *args, **kwargs):
        raise OSError(5, "Input/output error", str(file))

    monkeypatch.setattr(base, "open", fail, raising=False)
    assert "Input/output error" in load_error(path).message


def test_file_larger_than_memory(tmp_path, monkeypatch):
    csv_path = tmp_path / "big.csv"
    WRITERS["v.csv"](csv_path)
    size = csv_path.stat().st_size
    npy_path = tmp_path / "big.npy"
    np.save(npy_path, np.ones((size // 24, 6), np.float32))
    assert abs(npy_path.stat().st_size - size) < 200
    monkeypatch.setattr(base, "available_memory", lambda: size // 2)

    err = load_error(csv_path)
    assert "memory" in err.message and "KiB" in err.message
    assert ".npy" in str(err)

    es = open_file(npy_path)  # memory-mapped: only pages that are used are read
    assert es.vectors.shape == (size // 24, 6)


@pytest.mark.parametrize("name", [n for n in WRITERS if n not in ("v.npy", "v.fvecs", "v.ivecs",
                                                                   "v.bvecs")])
def test_every_format_read_into_memory_checks_memory(tmp_path, monkeypatch, name):
    path = tmp_path / name
    WRITERS[name](path)
    monkeypatch.setattr(base, "available_memory", lambda: 10)
    assert ".npy" in load_error(path).hint


# --- whatever the damage, the error is an InputError ----------------------------------

@pytest.mark.parametrize("name", WRITERS)
def test_truncated_or_damaged_files_only_raise_input_errors(tmp_path, name):
    good = tmp_path / name
    WRITERS[name](good)
    assert open_file(good).vectors.shape[0] == len(V)
    data = good.read_bytes()
    bad = tmp_path / f"bad_{name}"
    rng = np.random.default_rng(len(data))
    fractions = np.linspace(0.05, 0.99, 15)
    cuts = sorted({1, 4, 8, 16, 64, 128, *(int(f * len(data)) for f in fractions)})
    variants = [data[:c] for c in cuts if c < len(data)]
    for _ in range(25):
        flipped = bytearray(data)
        for pos in rng.integers(0, len(data), 4):
            flipped[pos] = int(rng.integers(0, 256))
        variants.append(bytes(flipped))
    for content in variants:
        bad.write_bytes(content)
        try:
            es = open_file(bad)
        except InputError:
            continue
        assert es.vectors.ndim == 2 and es.metadata.num_rows == es.vectors.shape[0]


def test_jsonl_string_in_vector_next_to_a_tags_list(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text('{"tags": ["a", "b"], "embedding": [0.5, 0.5]}\n'
                    '{"tags": ["c"], "embedding": [0.5, 0.5]}\n'
                    '{"tags": [], "embedding": ["x", "y"]}\n')
    err = load_error(path)
    assert (err.line, err.column) == (3, "embedding")


def test_jsonl_value_changes_type(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text('{"id": 1, "embedding": [0.5, 0.5]}\n{"id": "two", "embedding": [0.5, 0.5]}\n')
    err = load_error(path)
    assert (err.line, err.column) == (2, "id")
    assert "str here but int" in err.message


def test_csv_bad_cell_after_blank_lines(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("id,d0,d1\n1,0.5,0.5\n\n\n2,0.5,0.5\n3,0.5,oops\n4,0.5,0.5\n")
    err = load_error(path)
    assert (err.row, err.line, err.column) == (2, 6, "d1")


# --- ambiguous files: the error carries the candidates and the option that picks one ---

def write_two_list_csv(path: Path) -> None:
    path.write_text('id,a,b\n1,"[0.5, 1.5]","[2.5, 3.5]"\n2,"[0.25, 1.25]","[2.25, 3.25]"\n')


def write_two_array_npz(path: Path) -> None:
    np.savez(path, first=V, second=V * 2)


def write_two_dataset_h5(path: Path) -> None:
    with h5py.File(path, "w") as fh:
        fh["first"] = V
        fh["second"] = V * 2


@pytest.mark.parametrize(("name", "write", "option", "choices"), [
    ("two.parquet", lambda p: pq.write_table(pa.table({"a": V.tolist(), "b": (V * 2).tolist()}), p),
     "vector_column", ("a", "b")),
    ("two.csv", write_two_list_csv, "vector_column", ("a", "b")),
    ("two.npz", write_two_array_npz, "dataset", ("first", "second")),
    ("two.h5", write_two_dataset_h5, "dataset", ("first", "second")),
])
def test_ambiguous_file_offers_choices(tmp_path, name, write, option, choices):
    path = tmp_path / name
    write(path)
    err = load_error(path)
    assert err.option == option
    assert err.choices == choices
    assert err.to_dict()["choices"] == list(choices)

    es = open_file(path, LoadOptions(**{option: choices[1]}))  # what a UI does with the answer
    assert es.vector_column == choices[1]
    assert es.vectors.shape[1] in (2, 6)
