"""Binary array files (.npy, .npz, .fvecs/.bvecs/.ivecs, HDF5) written by the real libraries."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from explorer.core.errors import InputError
from explorer.core.loaders import LoadOptions, open_file

V = (np.arange(24, dtype=np.float32).reshape(6, 4) - 10) / 8  # exact in float32 and float64


def is_memory_mapped(arr: np.ndarray) -> bool:
    return isinstance(arr, np.memmap) or isinstance(arr.base, np.memmap)


def load_error(path: Path, **options) -> InputError:
    with pytest.raises(InputError) as info:
        open_file(path, LoadOptions(**options))
    assert type(info.value) is InputError
    return info.value


def write_vecs(path: Path, arr: np.ndarray) -> None:
    """The TEXMEX layout: each vector is an int32 dimension, then its values."""
    with open(path, "wb") as fh:
        for row in arr:
            fh.write(struct.pack("<i", arr.shape[1]))
            fh.write(row.tobytes())


# --- .npy ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.float16])
def test_npy_is_memory_mapped_with_exact_values(tmp_path, dtype):
    arr = (V * 8).astype(dtype)
    path = tmp_path / "vectors.npy"
    np.save(path, arr)

    es = open_file(path)

    assert es.vectors.shape == (6, 4)
    assert es.vectors.dtype == np.dtype(dtype)
    assert is_memory_mapped(es.vectors)
    np.testing.assert_array_equal(np.asarray(es.vectors), arr)
    assert es.format == "npy"
    assert es.name == "vectors"
    assert es.metric == "cosine"
    assert es.source == [str(path.resolve())]
    assert es.columns == ["row"]
    assert es.metadata.column("row").to_pylist() == list(range(6))
    assert es.id_column is None and es.text_column is None


def test_npy_memory_map_is_read_only(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, V)
    es = open_file(path)
    with pytest.raises(ValueError):
        es.vectors[0, 0] = 1.0
    np.testing.assert_array_equal(np.load(path), V)


def test_npy_fortran_order_and_big_endian(tmp_path):
    fortran = tmp_path / "fortran.npy"
    np.save(fortran, np.asfortranarray(V))
    big = tmp_path / "big.npy"
    np.save(big, V.astype(">f4"))

    np.testing.assert_array_equal(np.asarray(open_file(fortran).vectors), V)
    np.testing.assert_array_equal(np.asarray(open_file(big).vectors).astype(np.float32), V)


def test_npy_content_is_found_without_the_extension(tmp_path):
    path = tmp_path / "vectors.data"
    with open(path, "wb") as fh:
        np.save(fh, V)
    es = open_file(path)
    assert es.format == "npy"
    np.testing.assert_array_equal(np.asarray(es.vectors), V)


# --- .npz ----------------------------------------------------------------------------

def test_npz_picks_the_2d_array_and_keeps_matching_1d_arrays_as_metadata(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, embeddings=V, ids=np.array([f"doc{i}" for i in range(6)]),
             score=np.linspace(0, 1, 6), other=np.arange(3))

    es = open_file(path)

    assert es.format == "npz"
    assert es.vector_column == "embeddings"
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["ids", "score"]  # 'other' has 3 rows, not 6
    assert es.metadata.column("ids").to_pylist() == [f"doc{i}" for i in range(6)]
    np.testing.assert_allclose(es.metadata.column("score").to_numpy(), np.linspace(0, 1, 6))
    assert es.id_column == "ids"
    assert any("ids" in note for note in es.notes)


def test_npz_compressed_with_default_name(tmp_path):
    path = tmp_path / "set.npz"
    np.savez_compressed(path, V)  # stored as arr_0
    es = open_file(path)
    assert es.vector_column == "arr_0"
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["row"]


def test_npz_prefers_a_known_name_among_several_2d_arrays(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, queries=V[:2] + 100, train=V)
    es = open_file(path)
    assert es.vector_column == "train"
    np.testing.assert_array_equal(es.vectors, V)


def test_npz_dataset_option_picks_among_several_arrays(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, first=V, second=V[::-1] * 2, names=np.array(list("abcdef")))

    err = load_error(path)
    assert "several 2-D arrays" in err.message
    assert "first" in err.message and "second" in err.message
    assert "--dataset" in err.hint

    es = open_file(path, LoadOptions(dataset="second"))
    assert es.vector_column == "second"
    np.testing.assert_array_equal(es.vectors, V[::-1] * 2)
    assert es.metadata.column("names").to_pylist() == list("abcdef")

    err = load_error(path, dataset="third")
    assert "no array named 'third'" in err.message
    assert "first" in err.hint


# --- .fvecs / .bvecs / .ivecs --------------------------------------------------------

@pytest.mark.parametrize(("suffix", "dtype"), [(".fvecs", np.float32), (".ivecs", np.int32),
                                               (".bvecs", np.uint8)])
def test_vecs_files(tmp_path, suffix, dtype):
    arr = (np.arange(35).reshape(5, 7) * 3 % 250).astype(dtype)
    if dtype == np.float32:
        arr = arr / 4 - 7
    path = tmp_path / f"base{suffix}"
    write_vecs(path, arr)

    es = open_file(path)

    assert es.format == "fvecs"
    assert es.vectors.shape == (5, 7)
    assert es.vectors.dtype == np.dtype(dtype)
    assert is_memory_mapped(es.vectors)
    np.testing.assert_array_equal(np.asarray(es.vectors), arr)
    assert es.metadata.column("row").to_pylist() == [0, 1, 2, 3, 4]


def test_fvecs_with_a_record_of_another_dimension(tmp_path):
    path = tmp_path / "mixed.fvecs"
    write_vecs(path, V[:3])
    with open(path, "ab") as fh:  # same byte length as a 4-dim record, but says 3
        fh.write(struct.pack("<i", 3) + np.zeros(4, np.float32).tobytes())
    err = load_error(path)
    assert err.row == 3
    assert "dimension 3" in err.message and "first says 4" in err.message


# --- HDF5 ----------------------------------------------------------------------------

def write_ann_benchmarks(path: Path, distance: str = "angular") -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    train = rng.standard_normal((20, 5)).astype(np.float32)
    test = rng.standard_normal((4, 5)).astype(np.float32)
    with h5py.File(path, "w") as fh:
        fh.attrs["distance"] = distance
        fh.attrs["point_type"] = "float"
        fh["train"] = train
        fh["test"] = test
        fh["neighbors"] = np.arange(12, dtype=np.int32).reshape(4, 3)
        fh["distances"] = np.ones((4, 3), dtype=np.float32)
    return train, test


def test_hdf5_ann_benchmarks_layout(tmp_path):
    path = tmp_path / "glove-25-angular.hdf5"
    train, _ = write_ann_benchmarks(path)

    es = open_file(path)

    assert es.format == "hdf5"
    assert es.vector_column == "train"
    assert es.metric == "cosine"
    assert es.vectors.dtype == np.float32
    np.testing.assert_array_equal(es.vectors, train)
    assert any("test" in note and "neighbors" in note for note in es.notes)


@pytest.mark.parametrize(("distance", "metric"), [("euclidean", "l2"), ("angular", "cosine"),
                                                  ("dot", "dot"), ("jaccard", "cosine")])
def test_hdf5_distance_attribute_sets_the_metric(tmp_path, distance, metric):
    path = tmp_path / "ann.h5"
    write_ann_benchmarks(path, distance)
    assert open_file(path).metric == metric


def test_hdf5_dataset_option(tmp_path):
    path = tmp_path / "ann.hdf5"
    _, test = write_ann_benchmarks(path)
    es = open_file(path, LoadOptions(dataset="test"))
    assert es.vector_column == "test"
    assert es.vectors.shape == (4, 5)
    np.testing.assert_array_equal(es.vectors, test)


def test_hdf5_single_dataset_any_name_float64(tmp_path):
    path = tmp_path / "one.h5"
    with h5py.File(path, "w") as fh:
        fh.create_group("model")["weights"] = V.astype(np.float64)
    es = open_file(path)
    assert es.vector_column == "model/weights"
    assert es.vectors.dtype == np.float32
    np.testing.assert_array_equal(es.vectors, V)


def test_hdf5_bad_dataset_choices(tmp_path):
    path = tmp_path / "ann.h5"
    write_ann_benchmarks(path)
    with h5py.File(path, "a") as fh:
        fh.create_group("extra")
        fh["labels"] = np.arange(20)

    err = load_error(path, dataset="missing")
    assert "'missing'" in err.message and "not in the file" in err.message
    assert "train" in err.hint
    assert "group" in load_error(path, dataset="extra").message
    err = load_error(path, dataset="labels")
    assert "expected a 2-D numeric array" in err.message


def test_hdf5_several_datasets_without_a_known_name(tmp_path):
    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as fh:
        fh["a"] = V
        fh["b"] = V
    err = load_error(path)
    assert "several" in err.message and "--dataset" in err.hint


def test_npz_skips_arrays_arrow_cannot_hold_and_other_zip_members(tmp_path):
    path = tmp_path / "set.npz"
    np.savez(path, emb=V, phase=np.ones(6, np.complex64), tag=np.array([b"x"] * 6))
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("README.txt", "made by hand")
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["tag"]
    assert es.metadata.column("tag").to_pylist() == [b"x"] * 6


def test_zip_without_arrays_named_npz(tmp_path):
    path = tmp_path / "archive.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "hello")
    err = load_error(path)
    assert "no 2-D array" in err.message
