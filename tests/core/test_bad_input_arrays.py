"""Hostile and damaged binary files (issue 14): HDF5, .npy, .npz, .fvecs, word2vec .bin.

Each ends in one InputError naming what is wrong and where, before anything is
allocated from a declared size the file could not hold, and nothing outside the file
the user chose is ever read.
"""

from __future__ import annotations

import io
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from explorer.core.errors import InputError
from explorer.core.loaders import LoadOptions, open_file

V = np.arange(40, dtype=np.float32).reshape(10, 4) / 8


def load_error(path: Path, **options) -> InputError:
    with pytest.raises(InputError) as info:
        open_file(path, LoadOptions(**options))
    err = info.value
    assert type(err) is InputError
    assert err.path == str(path)
    return err


def npy_bytes(shape: str, descr: str = "<f4", data: bytes = bytes(48)) -> bytes:
    """A .npy file whose header says anything."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    header += " " * (63 - 10 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data


# --- HDF5: only data stored in the file ------------------------------------------------

@pytest.fixture
def secret(tmp_path) -> Path:
    """A file outside the set that no HDF5 file may make us read."""
    path = tmp_path / "secret.bin"
    path.write_bytes(np.full((64, 2), 7.0, np.float32).tobytes())
    return path


def test_hdf5_external_storage_is_refused(tmp_path, secret):
    path = tmp_path / "ext.h5"
    size = secret.stat().st_size
    with h5py.File(path, "w") as fh:
        fh.create_dataset("train", shape=(size // 8, 2), dtype="f4",
                          external=[(str(secret), 0, size)])
    err = load_error(path)
    assert "'train'" in err.message and "external" in err.message and str(secret) in err.message


def test_hdf5_virtual_dataset_is_refused(tmp_path):
    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as fh:
        fh["data"] = V
    layout = h5py.VirtualLayout(shape=V.shape, dtype="f4")
    layout[:] = h5py.VirtualSource(str(source), "data", shape=V.shape)
    path = tmp_path / "vds.h5"
    with h5py.File(path, "w") as fh:
        fh.create_virtual_dataset("train", layout)
    err = load_error(path)
    assert "'train'" in err.message and "virtual" in err.message


@pytest.mark.parametrize("how", ["dataset", "group", "soft-to-external"])
def test_hdf5_external_links_are_not_followed(tmp_path, how):
    target = tmp_path / "target.h5"
    with h5py.File(target, "w") as fh:
        fh["train"] = V
    path = tmp_path / "link.h5"
    with h5py.File(path, "w") as fh:
        if how == "dataset":
            fh["train"] = h5py.ExternalLink(str(target), "train")
        elif how == "group":
            fh["g"] = h5py.ExternalLink(str(target), "/")
        else:
            fh["e"] = h5py.ExternalLink(str(target), "train")
            fh["train"] = h5py.SoftLink("/e")
    assert "external links are not followed" in load_error(path).message
    name = {"dataset": "train", "group": "g/train", "soft-to-external": "train"}[how]
    err = load_error(path, dataset=name)
    assert "external link" in err.message and str(target) in err.message


def test_hdf5_soft_link_inside_the_file_is_followed_and_a_loop_is_refused(tmp_path):
    path = tmp_path / "soft.h5"
    with h5py.File(path, "w") as fh:
        fh["data"] = V
        fh["alias"] = h5py.SoftLink("/data")
        fh["a"] = h5py.SoftLink("/b")
        fh["b"] = h5py.SoftLink("/a")
    np.testing.assert_array_equal(open_file(path, LoadOptions(dataset="alias")).vectors, V)
    assert "soft links" in load_error(path, dataset="a").message


def test_hdf5_declared_shape_beyond_what_is_stored(tmp_path):
    """Unwritten chunks read as zeros: a 4 GB dataset in a 2 KB file is refused, not made up."""
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("train", shape=(10**7, 100), dtype="f4", chunks=(1000, 100))
    err = load_error(path)
    assert "'train'" in err.message and "10000000 x 100" in err.message


def test_hdf5_compressed_dataset_with_missing_chunks(tmp_path):
    path = tmp_path / "partial.h5"
    with h5py.File(path, "w") as fh:
        ds = fh.create_dataset("train", shape=(1000, 4), dtype="f4", chunks=(100, 4),
                               compression="gzip")
        ds[:100] = 1.0
    err = load_error(path)
    assert "missing 9 of its 10 chunks" in err.message


def test_hdf5_compressed_dataset_that_is_whole_loads(tmp_path):
    path = tmp_path / "zeros.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("train", data=np.zeros((5000, 8), "f4"), chunks=(500, 8),
                          compression="gzip")
    assert open_file(path).vectors.shape == (5000, 8)


def test_hdf5_unknown_compression_filter(tmp_path):
    path = tmp_path / "blosc.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("train", data=V, chunks=(5, 4), compression=32001,
                          allow_unknown_filter=True)
    err = load_error(path)
    assert "filter" in err.message and "32001" in err.message and "not installed" in err.message


def test_hdf5_datasets_numpy_cannot_hold(tmp_path):
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("empty", data=h5py.Empty("f4"))
        fh["pairs"] = np.zeros((3, 3), dtype=[("a", "f4"), ("b", "i4")])
        h5py.h5d.create(fh.id, b"bits", h5py.h5t.STD_B8LE.copy(), h5py.h5s.create_simple((4, 4)))
        fh["train"] = V
    assert open_file(path).vectors.shape == V.shape  # the odd ones are passed over
    assert "no shape" in load_error(path, dataset="empty").message
    assert "expected a 2-D numeric array" in load_error(path, dataset="pairs").message


def test_hdf5_distance_attribute_that_is_not_a_short_string_is_ignored(tmp_path):
    path = tmp_path / "attr.h5"
    with h5py.File(path, "w", libver="latest") as fh:
        fh["train"] = V
        fh.attrs["distance"] = np.arange(100_000)
    assert open_file(path).metric == "cosine"


# --- .npy / .npz -------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["(4, -3)", "(-4, 3)", "(-4, -3)"])
def test_npy_and_npz_with_a_negative_shape(tmp_path, shape):
    npy = tmp_path / "neg.npy"
    npy.write_bytes(npy_bytes(shape))
    assert "negative size" in load_error(npy).message
    npz = tmp_path / "neg.npz"
    with zipfile.ZipFile(npz, "w") as zf:
        zf.writestr("emb.npy", npy_bytes(shape))
    err = load_error(npz)
    assert "negative size" in err.message and "'emb'" in err.message


def test_npz_member_shorter_than_its_header(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.ones((100, 8), np.float32))
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("emb.npy", buf.getvalue()[:1600])
    err = load_error(path)
    assert "'emb'" in err.message and "100 x 8" in err.message and "truncated" in err.message


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_header_declaring_terabytes(tmp_path, compression):
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("emb.npy", npy_bytes("(1000000000, 1000)"))
    err = load_error(path)
    assert "1000000000 x 1000" in err.message and "memory" not in err.message


def test_npz_metadata_array_shorter_than_its_header(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.arange(10))
    path = tmp_path / "meta.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("emb.npy", _saved(V))
        zf.writestr("ids.npy", buf.getvalue()[:-20])
    assert "'ids'" in load_error(path).message


def _saved(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_npz_object_arrays_stay_refused_even_when_not_chosen(tmp_path):
    path = tmp_path / "pickle.npz"
    np.savez(path, emb=V, evil=np.array([print], dtype=object))
    assert "Python objects" in load_error(path).message
    assert "Python objects" in load_error(path, dataset="emb").message


def test_npz_text_array_holding_numbers_that_are_no_character(tmp_path):
    """A damaged <U array: Arrow's UTF-32 decoding raised UnicodeDecodeError, a traceback."""
    labels = np.array([65, 66, 0x110000, 67], "<u4").view("<U1")
    path = tmp_path / "labels.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("emb.npy", _saved(V[:4]))
        zf.writestr("labels.npy", _saved(labels))
    err = load_error(path)
    assert "'labels'" in err.message and "not Unicode" in err.message and err.row == 2


def test_npy_header_longer_than_numpy_reads(tmp_path):
    path = tmp_path / "long.npy"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + " " * 20_000
    path.write_bytes(b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little")
                     + header.encode() + bytes(24))
    assert "at most 10000" in load_error(path).message


@pytest.mark.parametrize("header", ["[1, 2]", "{'shape': (2, 3)}", "(" * 300, "-" * 9000 + "1",
                                    "1+" * 5000 + "1", "{'descr': '<f4', 'fortran_order': 0, "
                                    "'shape': (2, 3)}"])
def test_npy_header_that_is_no_dict_numpy_would_read(tmp_path, header):
    """Deep nesting makes ast.literal_eval raise RecursionError or MemoryError."""
    path = tmp_path / "odd.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                     + header.encode() + bytes(24))
    assert "damaged header" in load_error(path).message


def test_npy_header_written_by_python_2_still_loads(tmp_path):
    path = tmp_path / "py2.npy"
    path.write_bytes(npy_bytes("(3L, 4L)", data=V[:3].tobytes()))
    with pytest.warns(UserWarning, match="Python 2"):  # numpy's, when it maps the data
        np.testing.assert_array_equal(open_file(path).vectors, V[:3])


@pytest.mark.parametrize("descr", ["|O", "<V8", "<M8[s]", "<U4", "<c8"])
def test_npy_dtypes_that_are_not_numbers(tmp_path, descr):
    path = tmp_path / "odd.npy"
    path.write_bytes(npy_bytes("(2, 3)", descr, bytes(200)))
    message = load_error(path).message
    assert "not numbers" in message or "Python objects" in message


# --- .fvecs and word2vec binary -----------------------------------------------------------

def test_fvecs_declaring_a_huge_dimension(tmp_path):
    path = tmp_path / "huge.fvecs"
    path.write_bytes((1 << 19).to_bytes(4, "little") + bytes(64))
    err = load_error(path)
    assert err.row == 0 and "truncated" in err.message


def test_word2vec_bin_header_declaring_a_huge_dimension(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"1 5000000\na 1 2 3\n")
    err = load_error(path)
    assert err.line == 1 and "dimension 5000000" in err.message


def test_word2vec_bin_word_that_is_not_utf8_is_kept_and_noted(tmp_path):
    path = tmp_path / "latin.bin"
    with open(path, "wb") as fh:
        fh.write(b"2 3\n")
        for word in (b"caf\xe9", b"ok"):
            fh.write(word + b" " + np.ones(3, "<f4").tobytes() + b"\n")
    es = open_file(path)
    assert es.metadata.column("word").to_pylist() == ["caf\ufffd", "ok"]
    assert any("not valid UTF-8" in note for note in es.notes)


# --- the general rule, in a process that cannot allocate much ------------------------------

def _zipped(name: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, content)
    return buf.getvalue()


# numpy reads as many header bytes as the length field says before looking at them.
_HUGE_HEADER = b"\x93NUMPY\x02\x00" + (3 << 30).to_bytes(4, "little") + bytes(64)

# name: (content, what the error must mention)
HOSTILE = {
    "x.txt": (b"1 5000000\na 1 2 3\n", "5000000 numbers"),  # grew to 22.9 GB
    "x.bin": (b"1 5000000\na 1 2 3\n", "dimension 5000000"),
    "x.npy": (npy_bytes("(100000000000, 1000)"), "truncated"),
    "header.npy": (_HUGE_HEADER, "declares 3221225472 bytes"),
    "header.npz": (_zipped("emb.npy", _HUGE_HEADER), "declares 3221225472 bytes"),
    # version 1.191 was read as 2.0 (a 4-byte length): the fuzz case that asked for 3 GB
    "version.npy": (b"\x93NUMPY\x01\xbf" + (0xBFC96822).to_bytes(4, "little") + bytes(64),
                    "format version 1.191"),
    "x.fvecs": (((1 << 20) - 1).to_bytes(4, "little") + bytes(16), "truncated"),
    # an Arrow stream whose first message claims 2 GiB of metadata
    "x.arrow": (b"\xff\xff\xff\xff" + (0x7FFF_FFF0).to_bytes(4, "little") + bytes(64),
                "not a readable Arrow"),
}


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is what Linux enforces")
@pytest.mark.parametrize("name", HOSTILE)
def test_declared_sizes_are_checked_before_allocating(tmp_path, name):
    """With 1.5 GiB of address space beyond the interpreter's, the CLI still says why.

    Run in a child with an address-space limit, so a regression fails here instead of
    taking the machine's memory.
    """
    path = tmp_path / name
    content, fragment = HOSTILE[name]
    path.write_bytes(content)
    code = "import sys; from explorer.cli import run; sys.exit(run(['inspect', sys.argv[1]]))"
    limit = _address_space() + (3 << 29)
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "memory" not in result.stderr  # refused for what it declares, not for lack of RAM
    assert fragment in result.stderr


def _address_space() -> int:
    """What a fresh interpreter with explorer's loaders imported maps, in bytes."""
    code = ("import explorer.cli, explorer.core.loaders.arrays, "
            "explorer.core.loaders.word_vectors\n"
            "print(sum(int(l.split()[1]) for l in open('/proc/self/status') "
            "if l.startswith('VmSize')) * 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return int(out.stdout)


@pytest.mark.parametrize("name", ["v.txt", "v.bin"])
def test_word_vectors_header_of_dimension_0(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"2 0\na b\nc d\n")
    err = load_error(path)
    assert err.line == 1 and "dimension 0" in err.message
