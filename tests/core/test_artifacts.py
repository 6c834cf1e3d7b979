"""ArtifactStore: derived arrays beside a library set, written atomically, never fatal to read."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest

from explorer.core.artifacts import ArtifactStore, check_name, safe_key


@pytest.fixture
def store(tmp_path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "some-set")


def test_round_trip_is_memory_mapped(store, tmp_path):
    arr = np.arange(30, dtype=np.float32).reshape(10, 3)
    store.save("projection", "pca-2d-v1-abc", arr, {"seconds": 1.5, "info": {"k": [1, 2]}})
    assert (tmp_path / "some-set" / "artifacts" / "projection" / "pca-2d-v1-abc.npy").is_file()
    assert (tmp_path / "some-set" / "artifacts" / "projection" / "pca-2d-v1-abc.json").is_file()
    loaded = store.load("projection", "pca-2d-v1-abc")
    assert loaded is not None
    got, meta = loaded
    assert isinstance(got, np.memmap)
    assert not got.flags.writeable
    np.testing.assert_array_equal(got, arr)
    assert meta == {"seconds": 1.5, "info": {"k": [1, 2]}}
    assert store.keys("projection") == ["pca-2d-v1-abc"]
    assert store.kinds() == ["projection"]


def test_overwrite_and_delete(store):
    store.save("k", "a", np.zeros(3), {"v": 1})
    store.save("k", "a", np.ones((2, 2), dtype=np.int64), {"v": 2})
    got, meta = store.load("k", "a")
    np.testing.assert_array_equal(got, np.ones((2, 2)))
    assert got.dtype == np.int64 and meta == {"v": 2}
    store.save("k", "b", np.zeros(1))
    assert store.keys("k") == ["a", "b"]
    store.delete("k", "a")
    assert store.load("k", "a") is None
    assert store.keys("k") == ["b"]
    store.clear("k")
    assert store.keys("k") == []


def test_missing_things_are_none_not_errors(store):
    assert store.load("projection", "nothing") is None
    assert store.keys("projection") == []
    assert store.kinds() == []
    assert store.load("../etc", "passwd") is None  # unsafe names read as absent


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "a\\b", ".hidden", "..", "a b", "x.",
                                 "é", "-lead", "k" * 161, "nul\x00"])
def test_unsafe_names_are_refused(store, bad):
    with pytest.raises(ValueError):
        check_name(bad)
    with pytest.raises(ValueError):
        store.save("projection", bad, np.zeros(2))
    with pytest.raises(ValueError):
        store.save(bad, "key", np.zeros(2))


def test_safe_key_makes_valid_names():
    for text in ["UMAP / cosine, n=15", "../../etc", "", "ünïcode", "a" * 500, "...."]:
        check_name(safe_key(text))


def _paths(store, kind, key):
    folder = store.root / kind
    return folder / f"{key}.npy", folder / f"{key}.json"


def test_damaged_artefacts_load_as_none(store):
    arr = np.random.default_rng(0).normal(size=(1000, 2)).astype(np.float32)

    def fresh():
        store.save("p", "k", arr, {"a": 1})
        return _paths(store, "p", "k")

    npy, js = fresh()
    npy.write_bytes(npy.read_bytes()[:500])            # truncated array
    assert store.load("p", "k") is None

    npy, js = fresh()
    npy.write_bytes(b"not an npy file at all")          # garbage array
    assert store.load("p", "k") is None

    npy, js = fresh()
    js.write_text("{ broken json")                      # garbage meta
    assert store.load("p", "k") is None

    npy, js = fresh()
    record = json.loads(js.read_text())
    record["shape"] = [999, 2]                          # meta of another array
    js.write_text(json.dumps(record))
    assert store.load("p", "k") is None

    npy, js = fresh()
    js.write_text(json.dumps(["a", "list"]))            # wrong JSON type
    assert store.load("p", "k") is None

    npy, js = fresh()
    js.unlink()                                         # array without meta
    assert store.load("p", "k") is None
    assert store.keys("p") == []

    npy, js = fresh()
    npy.unlink()                                        # meta without array
    assert store.load("p", "k") is None
    assert store.keys("p") == []


def test_failed_save_leaves_no_temp_files_and_no_half_artefact(store, monkeypatch):
    store.save("p", "k", np.zeros(4), {"v": "old"})
    with pytest.raises(TypeError):
        store.save("p", "k", np.ones(4), {"v": object()})   # meta not JSON: refused up front
    got, meta = store.load("p", "k")
    assert meta == {"v": "old"}                              # old artefact untouched

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", explode)
    with pytest.raises(OSError):
        store.save("p", "k", np.ones(4), {"v": "new"})
    # crash while writing the array: the artefact reads as absent, never as new meta + old data
    assert store.load("p", "k") is None
    leftovers = [p.name for p in (store.root / "p").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_object_arrays_are_refused(store):
    with pytest.raises(ValueError):
        store.save("p", "k", np.array([object()]))


def test_files_written_by_other_libraries_are_kept_atomically(tmp_path):
    store = ArtifactStore(tmp_path)

    def write(path):
        with open(path, "wb") as fh:
            fh.write(b"graph" * 100)

    target = store.save_file("index", "cosine-hnsw", "faiss", write, {"recall": 0.98})
    path, meta = store.load_file("index", "cosine-hnsw")
    assert path == target and path.read_bytes() == b"graph" * 100 and meta == {"recall": 0.98}
    assert store.keys("index") == ["cosine-hnsw"]
    with open(path, "ab") as fh:  # changed behind our back: not trusted
        fh.write(b"x")
    assert store.load_file("index", "cosine-hnsw") is None

    def fail(path):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.save_file("index", "cosine-ivf", "faiss", fail)
    assert store.load_file("index", "cosine-ivf") is None
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
    store.delete("index", "cosine-hnsw")
    assert not path.exists() and store.keys("index") == []


# --- checksums: a damaged artefact is deleted, never used ----------------------------------

def _flip_byte(path, offset_from_end=10, keep_times=False):
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(-offset_from_end, 2)
        byte = fh.read(1)
        fh.seek(-offset_from_end, 2)
        fh.write(bytes([byte[0] ^ 0x55]))
    if keep_times:  # mtime put back as it was: only the ctime tells
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("keep_times", [False, True])
def test_a_flipped_byte_is_caught_and_the_artefact_deleted(store, keep_times):
    norms = np.linspace(1, 2, 1000, dtype=np.float32)
    store.save("index", "norms", norms, {"format": 1})
    npy, js = _paths(store, "index", "norms")
    size = npy.stat().st_size
    _flip_byte(npy, keep_times=keep_times)
    assert npy.stat().st_size == size  # same size, same header: only the checksum can tell
    assert store.load("index", "norms") is None
    assert not npy.exists() and not js.exists()
    store.save("index", "norms", norms)  # rebuilt by the caller, as usual
    np.testing.assert_array_equal(store.load("index", "norms")[0], norms)


def test_an_unchanged_file_is_hashed_once_not_on_every_load(store, monkeypatch):
    from explorer.core import checksum

    store.save("projection", "k", np.arange(600, dtype=np.float32).reshape(200, 3))
    npy, _ = _paths(store, "projection", "k")
    calls = []
    real = checksum.Checksum.of_array.__func__
    monkeypatch.setattr(checksum.Checksum, "of_array",
                        classmethod(lambda cls, *a: calls.append(1) or real(cls, *a)))
    for _ in range(3):
        assert store.load("projection", "k") is not None
    assert calls == []  # stamped when saved: nothing changed since
    os.utime(npy)  # same bytes, but the file was touched: hashed again, then trusted
    for _ in range(3):
        assert store.load("projection", "k") is not None
    assert calls == [1]


def test_artefacts_of_an_older_version_are_hashed_on_first_load_then_guarded(store):
    arr = np.arange(50, dtype=np.int64)
    store.save("p", "k", arr, {"v": 1})
    npy, js = _paths(store, "p", "k")
    record = json.loads(js.read_text())
    del record["checksum"], record["verified"]
    js.write_text(json.dumps(record))  # as the previous version wrote it
    got, meta = store.load("p", "k")
    np.testing.assert_array_equal(got, arr)
    assert meta == {"v": 1} and "checksum" in json.loads(js.read_text())
    _flip_byte(npy)
    assert store.load("p", "k") is None and not npy.exists()


def test_a_newer_record_is_left_alone(store):
    store.save("p", "k", np.zeros(3))
    npy, js = _paths(store, "p", "k")
    record = json.loads(js.read_text())
    record["format"] = 99
    js.write_text(json.dumps(record))
    assert store.load("p", "k") is None
    assert npy.exists() and js.exists()


def test_files_of_other_libraries_are_checksummed_too(tmp_path):
    store = ArtifactStore(tmp_path)

    def write(path):
        with open(path, "wb") as fh:
            fh.write(bytes(range(256)) * 40)

    target = store.save_file("index", "cosine-hnsw", "faiss", write)
    _flip_byte(target, keep_times=True)
    assert store.load_file("index", "cosine-hnsw") is None
    assert not target.exists() and store.keys("index") == []


def test_a_full_disk_while_writing_the_record_leaves_nothing(store, monkeypatch):
    import explorer.core.artifacts as artifacts

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(artifacts, "write_json", full)
    with pytest.raises(OSError):
        store.save("p", "k", np.ones(10))
    assert list((store.root / "p").iterdir()) == []


def test_an_unreadable_artefact_is_absent_not_damaged(store, monkeypatch):
    import explorer.core.artifacts as artifacts

    store.save("p", "k", np.ones(10))

    def refused(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(artifacts, "map_checked", refused)
    assert store.load("p", "k") is None
    assert sorted(p.name for p in (store.root / "p").iterdir()) == ["k.json", "k.npy"]
