"""The library round trip: import, reopen memory-mapped, atomic writes, removal."""

import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library
from explorer.core.manifest import MANIFEST, SCHEMA_VERSION, SINGLE_SCHEMA
from explorer.core.partial_folders import PARTIAL_PREFIX
from explorer.core.loaders import open_file


def make_set(n=200, d=16, seed=0, **kw) -> EmbeddingSet:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, d)).astype(np.float64)
    meta = pa.table({"id": [f"item-{i}" for i in range(n)],
                     "section": ["games", "news", "art", "misc"] * (n // 4),
                     "size": np.arange(n)})
    return EmbeddingSet(vectors, meta, name=kw.pop("name", "My Set"), format="test",
                        source=[], id_column="id", **kw)


def test_round_trip_keeps_vectors_metadata_and_manifest(tmp_path):
    lib = Library(tmp_path / "lib")
    es = make_set(model="m-1", metric="dot")
    entry = lib.import_set(es)
    assert entry.id == "my-set" and entry.count == 200 and entry.dim == 16
    back = lib.open(entry.id)
    assert isinstance(back.vectors, np.memmap)
    assert back.vectors.dtype == np.float32
    np.testing.assert_allclose(back.vectors, es.vectors.astype(np.float32))
    assert back.metadata.equals(es.metadata)
    assert (back.model, back.metric, back.id_column) == ("m-1", "dot", "id")
    manifest = json.loads((tmp_path / "lib" / "sets" / "my-set" / MANIFEST).read_text())
    assert manifest["schema_version"] == SINGLE_SCHEMA
    for key in ("count", "dim", "source", "metric", "model", "created"):
        assert key in manifest
    assert [e.id for e in lib.entries()] == ["my-set"]
    assert lib.entry("My Set").id == "my-set"


def test_a_second_set_of_the_same_name_is_numbered(tmp_path):
    lib = Library(tmp_path)
    a = lib.import_set(make_set())
    b = lib.import_set(make_set())
    assert (a.id, a.name) == ("my-set", "My Set")
    assert (b.id, b.name) == ("my-set-2", "My Set (2)")
    assert lib.entry("My Set").id == "my-set" and lib.entry("My Set (2)").id == "my-set-2"


def test_cancelled_import_leaves_nothing_visible(tmp_path):
    lib = Library(tmp_path)
    state = TaskState()
    calls = []

    def progress(fraction):
        calls.append(fraction)
        if fraction > 0.5:
            state.cancel()
    state._on_progress = progress
    with pytest.raises(Cancelled):
        lib.import_set(make_set(n=20000, d=64), state=state)
    assert lib.entries() == []
    assert not any(p.name.startswith(PARTIAL_PREFIX) for p in (tmp_path / "sets").iterdir())


def test_half_written_folder_is_invisible(tmp_path):
    lib = Library(tmp_path)
    lib.import_set(make_set())
    partial = tmp_path / "sets" / f"{PARTIAL_PREFIX}x-123"
    partial.mkdir()
    (partial / "vectors.npy").write_bytes(b"junk")
    damaged = tmp_path / "sets" / "damaged"
    damaged.mkdir()
    (damaged / MANIFEST).write_text("{not json")
    assert [e.id for e in lib.entries()] == ["my-set"]


def test_nonfinite_rows_refused_then_dropped_with_source_row(tmp_path):
    es = make_set(n=40)
    es.vectors[[3, 17]] = np.nan
    es.vectors[5, 2] = np.inf
    es.vectors[9] = 0
    lib = Library(tmp_path)
    with pytest.raises(InputError) as err:
        lib.import_set(es)
    assert "3 rows hold NaN or Inf" in str(err.value) and err.value.row == 3
    entry = lib.import_set(es, drop_nonfinite=True)
    assert entry.count == 37 and entry.nan_rows_dropped == 3 and entry.zero_rows == 1
    back = lib.open(entry.id)
    assert back.metadata.column("source_row").to_pylist()[:6] == [0, 1, 2, 4, 6, 7]
    assert np.isfinite(back.vectors).all()
    entry = lib.import_set(es, drop_nonfinite=True, drop_zero=True)
    assert entry.count == 36 and entry.zero_rows_dropped == 1


def test_reimport_found_by_fingerprint_and_remove(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, np.random.default_rng(1).normal(size=(50, 8)).astype(np.float32))
    lib = Library(tmp_path / "lib")
    es = open_file(path)
    entry = lib.import_set(es)
    assert lib.find_by_fingerprint(str(path.resolve())).id == entry.id
    np.save(path, np.zeros((50, 8), dtype=np.float32) + 1)  # changed file: not the same set
    assert lib.find_by_fingerprint(str(path.resolve())) is None
    lib.remove(entry.id)
    assert lib.entries() == []
    with pytest.raises(InputError, match="no library set"):
        lib.open(entry.id)


def test_metadata_is_parquet_readable_by_others(tmp_path):
    lib = Library(tmp_path)
    entry = lib.import_set(make_set())
    table = pq.read_table(lib.metadata_path(entry.id))
    assert table.column("section").to_pylist()[:3] == ["games", "news", "art"]


def test_default_location_follows_explorer_home(explorer_home):
    assert Library().root == explorer_home


def test_projector_pair_is_recognised_and_metadata_change_reimports(tmp_path):
    vectors = tmp_path / "vectors.tsv"
    vectors.write_text("".join(f"{i}\t{i + 1}\t{i * 2}\n" for i in range(5)))
    meta = tmp_path / "metadata.tsv"
    meta.write_text("word\tfreq\n" + "".join(f"w{i}\t{i}\n" for i in range(5)))
    lib = Library(tmp_path / "lib")
    entry = lib.import_set(open_file(vectors))
    assert len(entry.source) == 2
    assert lib.find_by_fingerprint(str(vectors.resolve())).id == entry.id
    meta.write_text("word\tfreq\n" + "".join(f"x{i}\t{i}\n" for i in range(5)))
    assert lib.find_by_fingerprint(str(vectors.resolve())) is None


def test_damaged_manifests_never_hide_the_library(tmp_path):
    lib = Library(tmp_path)
    lib.import_set(make_set())
    for name, text in [("list", "[]"), ("created", '{"id": "x", "name": "x", "count": 1, "dim": 2,'
                       ' "dtype": "float32", "metric": "cosine", "created": 5, "source": [],'
                       ' "format": "npy"}'), ("count", '{"id": "y", "name": "y", "count": "x",'
                       ' "dim": 2, "dtype": "f", "metric": "cosine", "created": "", "source": [],'
                       ' "format": "npy"}')]:
        folder = tmp_path / "sets" / name
        folder.mkdir()
        (folder / MANIFEST).write_text(text)
    assert "my-set" in [e.id for e in lib.entries()]


def test_a_name_is_never_another_set_s_id(tmp_path):
    lib = Library(tmp_path)
    a = lib.import_set(make_set(name="!!!"))  # slug falls back to 'set'
    b = lib.import_set(make_set(name="set"))  # 'set' is a's id: numbered
    assert (a.id, b.name) == ("set", "set (2)")
    assert lib.entry("set").id == "set"
    with pytest.raises(InputError, match="already has a set whose id is 'set'"):
        lib.import_set(make_set(), name="set")


def test_import_retries_when_another_process_took_the_id(tmp_path, monkeypatch):
    lib = Library(tmp_path)
    real = lib._unique_id
    calls = []

    def racy(base):  # the first answer is taken by a concurrent import before the rename
        calls.append(base)
        candidate = real(base)
        if len(calls) == 1:
            (tmp_path / "sets" / candidate).mkdir(parents=True)
            (tmp_path / "sets" / candidate / "other").write_text("x")
        return candidate
    monkeypatch.setattr(lib, "_unique_id", racy)
    entry = lib.import_set(make_set())
    assert entry.id == "my-set-2"
    assert lib.open("my-set-2").count == 200


def test_import_keeps_the_scans_row_norms_for_kept_rows(tmp_path):
    from explorer.core.artifacts import ArtifactStore
    from explorer.core.library import NORMS_KEY, NORMS_KIND, vectors_signature

    es = make_set(n=40)
    es.vectors[[3, 17]] = np.nan
    lib = Library(tmp_path)
    back = lib.open(lib.import_set(es, drop_nonfinite=True).id)
    norms, meta = ArtifactStore(back.path).load(NORMS_KIND, NORMS_KEY)
    np.testing.assert_allclose(norms, np.linalg.norm(np.asarray(back.vectors), axis=1), rtol=1e-6)
    assert meta["signature"] == vectors_signature(back.vectors, back.path)
    # the signature follows the vectors file: rewriting it makes the stored norms stale
    np.save(back.path / "vectors.npy", np.asarray(back.vectors) * 2)
    assert meta["signature"] != vectors_signature(np.load(back.path / "vectors.npy"), back.path)


# --- damage is named when a set is opened, never met later as a traceback ---------------

def _edit_manifest(folder, **changes):
    data = json.loads((folder / MANIFEST).read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    (folder / MANIFEST).write_text(json.dumps(data))


def _cut_short(folder):
    path = folder / "vectors.npy"
    path.write_bytes(path.read_bytes()[:-40])


FILE_DAMAGE = [
    (lambda f: (f / "vectors.npy").write_bytes(b""), "vectors.npy is not a readable NumPy file: "
                                                      "the file is empty"),
    (lambda f: (f / "vectors.npy").write_bytes(b"\x93NUMPY junk"), "not a readable NumPy file"),
    (lambda f: np.save(f / "vectors.npy", np.zeros((0, 16), np.float32)), "holds no vectors"),
    (lambda f: np.save(f / "vectors.npy", np.zeros((200, 16))), "float64 values, not float32"),
    (lambda f: np.save(f / "vectors.npy", np.zeros(200, np.float32)), "1-D array"),
    (lambda f: np.save(f / "vectors.npy", np.zeros((200, 8), np.float32)),
     "vectors.npy holds 200 x 8 vectors but manifest.json says 200 x 16"),
    (_cut_short, "vectors.npy: it is cut short"),
    (lambda f: (f / "vectors.npy").unlink(), "vectors.npy is missing"),
    (lambda f: pq.write_table(pq.read_table(f / "metadata.parquet").slice(0, 150),
                              f / "metadata.parquet"),
     "metadata.parquet has 150 rows but vectors.npy has 200"),
    (lambda f: (f / "metadata.parquet").write_bytes(b"PAR1 junk"),
     "metadata.parquet cannot be read"),
    (lambda f: (f / "metadata.parquet").unlink(), "metadata.parquet is missing"),
]

MANIFEST_DAMAGE = [
    (lambda f: _edit_manifest(f, metric="manhattan"), "unknown metric 'manhattan'"),
    (lambda f: _edit_manifest(f, count="200"), "'count' is '200', not a whole number"),
    (lambda f: _edit_manifest(f, count=True), "'count' is True, not a whole number"),
    (lambda f: _edit_manifest(f, count=0), "declares 0 x 16 vectors"),
    (lambda f: _edit_manifest(f, source="x.npy"), "'source' is 'x.npy', not a list of text"),
    (lambda f: _edit_manifest(f, model=3), "'model' is 3, not text or null"),
    (lambda f: _edit_manifest(f, metric=None), "manifest.json has no 'metric'"),
    (lambda f: _edit_manifest(f, schema_version=SCHEMA_VERSION + 1), "newer version"),
    (lambda f: (f / MANIFEST).write_text('{"id": "my-set", trunc'), "not valid JSON"),
    (lambda f: (f / MANIFEST).write_text("[]"), "does not hold an object"),
    (lambda f: (f / MANIFEST).write_bytes(b"\xff\xfe\x00"), "manifest.json is not text"),
    (lambda f: (f / MANIFEST).unlink(), "manifest.json is missing"),
]


@pytest.mark.parametrize("damage, reason", FILE_DAMAGE + MANIFEST_DAMAGE)
def test_a_damaged_set_is_named_with_what_is_wrong(tmp_path, damage, reason):
    lib = Library(tmp_path)
    folder = Path(lib.import_set(make_set()).path)
    damage(folder)
    with pytest.raises(InputError) as caught:
        lib.open("my-set")
    message = str(caught.value)
    assert "library set 'my-set' is damaged" in message and reason in message
    assert caught.value.path == str(folder)
    entries, damaged = lib.scan(read_files=True)
    assert entries == [] and [(d.id, d.path) for d in damaged] == [("my-set", str(folder))]
    assert reason in damaged[0].reason


@pytest.mark.parametrize("damage, reason", MANIFEST_DAMAGE)
def test_a_set_with_a_damaged_manifest_is_listed_and_can_be_removed(tmp_path, damage, reason):
    lib = Library(tmp_path)
    folder = Path(lib.import_set(make_set()).path)
    lib.import_set(make_set(name="fine"))
    damage(folder)
    assert [e.id for e in lib.entries()] == ["fine"]
    assert [(d.id, d.path) for d in lib.scan()[1]] == [("my-set", str(folder))]
    with pytest.raises(InputError, match="is damaged"):
        lib.entry("my-set")
    removed = lib.remove("my-set")
    assert (removed.id, removed.path) == ("my-set", str(folder)) and reason in removed.reason
    assert not folder.exists() and lib.scan() == (lib.entries(), [])
    assert [p.name for p in (tmp_path / "sets").iterdir()] == ["fine"]


def test_a_set_with_damaged_files_can_be_removed(tmp_path):
    lib = Library(tmp_path)
    folder = Path(lib.import_set(make_set()).path)
    np.save(folder / "vectors.npy", np.zeros((0, 16), np.float32))
    assert lib.remove("my-set").id == "my-set" and not folder.exists()


# --- a read-only library or a full disk: one sentence, nothing half-written ------------

def _refuse(monkeypatch, target, name, code):
    def refuse(*args, **kwargs):
        named = args[0] if args and isinstance(args[0], (str, Path)) else None
        raise OSError(code, os.strerror(code), named)
    monkeypatch.setattr(target, name, refuse)


def test_a_read_only_library_refuses_import_and_remove_in_one_sentence(tmp_path, monkeypatch):
    lib = Library(tmp_path)
    lib.import_set(make_set())
    with monkeypatch.context() as m:  # what a read-only mount answers, even to root
        _refuse(m, os, "mkdir", errno.EROFS)
        _refuse(m, os, "rename", errno.EROFS)
        with pytest.raises(InputError) as caught:
            lib.import_set(make_set(name="other"))
        assert str(caught.value) == (f"the library folder {tmp_path / 'sets'} is not writable "
                                     "(Read-only file system)")
        with pytest.raises(InputError, match="is not writable"):
            lib.remove("my-set")
    assert [e.id for e in lib.entries()] == ["my-set"]


def test_check_writable_answers_before_any_work(tmp_path, monkeypatch):
    lib = Library(tmp_path)
    lib.check_writable()
    _refuse(monkeypatch, tempfile, "TemporaryFile", errno.EACCES)
    with pytest.raises(InputError, match="library folder .* is not writable"):
        lib.check_writable()


@pytest.mark.parametrize("where", ["vectors", "metadata", "manifest"])
def test_a_full_disk_during_import_leaves_nothing_behind(tmp_path, monkeypatch, where):
    import explorer.core.library as library_module

    lib = Library(tmp_path)
    lib.import_set(make_set(name="before"))
    if where == "vectors":
        real = Library._write_vectors

        def half_then_full(path, *args):
            real(path, *args)
            with open(path, "r+b") as fh:  # as if the disk filled half-way
                fh.truncate(path.stat().st_size // 2)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        monkeypatch.setattr(Library, "_write_vectors", staticmethod(half_then_full))
    elif where == "metadata":
        _refuse(monkeypatch, pq, "write_table", errno.ENOSPC)
    else:
        _refuse(monkeypatch, library_module, "write_json", errno.ENOSPC)
    with pytest.raises(InputError) as caught:
        lib.import_set(make_set(n=400))
    assert str(caught.value) == (f"the disk holding the library folder {tmp_path / 'sets'} is "
                                 "full (No space left on device)")
    assert [p.name for p in (tmp_path / "sets").iterdir()] == ["before"]


def test_an_error_reading_the_source_is_not_blamed_on_the_library(tmp_path, monkeypatch):
    def unreadable(path, *args):  # an HDF5 source read lazily, chunk by chunk
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), "/data/source.h5")

    monkeypatch.setattr(Library, "_write_vectors", staticmethod(unreadable))
    with pytest.raises(PermissionError, match="source.h5"):
        Library(tmp_path).import_set(make_set())
    assert list((tmp_path / "sets").iterdir()) == []


# --- killed imports: their partial folders go at the next import ------------------------

CHILD_IMPORT = """
import sys
import numpy as np, pyarrow as pa
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import TaskState
from explorer.core.library import Library

def progress(fraction):
    if fraction > 0.5 and not progress.told:
        progress.told = True
        print("writing", flush=True)
        sys.stdin.readline()  # held here, its partial folder half-written, until told
progress.told = False
n = 20000
es = EmbeddingSet(np.ones((n, 64), np.float32), pa.table({"i": np.arange(n)}), name="child")
print(Library(sys.argv[1]).import_set(es, state=TaskState(on_progress=progress)).id, flush=True)
"""


def _start_child_import(root):
    child = subprocess.Popen([sys.executable, "-c", CHILD_IMPORT, str(root)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    return child


def _partials(root):
    return sorted(p.name for p in (root / "sets").iterdir() if p.name.startswith(PARTIAL_PREFIX))


def test_an_import_deletes_what_a_killed_import_left(tmp_path):
    child = _start_child_import(tmp_path)
    assert len(_partials(tmp_path)) == 1
    child.kill()
    child.wait()
    assert len(_partials(tmp_path)) == 1  # left behind, with its megabytes
    Library(tmp_path).import_set(make_set())
    assert _partials(tmp_path) == []


def test_an_import_never_touches_one_running_in_another_process(tmp_path):
    child = _start_child_import(tmp_path)
    try:
        running = _partials(tmp_path)
        Library(tmp_path).import_set(make_set())
        assert _partials(tmp_path) == running
        child.stdin.write("go on\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "child"
    finally:
        child.kill()
        child.wait()
    assert {e.id for e in Library(tmp_path).entries()} == {"my-set", "child"}
    assert _partials(tmp_path) == []


# --- one copy per source, unique names (issue 22) ----------------------------------------

@pytest.fixture
def npy_file(tmp_path):
    path = tmp_path / "vecs.npy"
    np.save(path, np.random.default_rng(4).normal(size=(60, 8)).astype(np.float32))
    return path


def test_the_same_unchanged_file_is_stored_once(tmp_path, npy_file):
    from explorer.core.import_options import ImportOptions

    lib = Library(tmp_path / "lib")
    first = lib.import_file(npy_file, name="v")
    again = lib.import_file(npy_file, name="v")
    plain = lib.import_file(npy_file)
    assert not first.reused and again.reused and plain.reused
    assert first.id == again.id == plain.id == "v"
    assert [e.id for e in lib.entries()] == ["v"]
    assert lib.open_or_import(str(npy_file)).library_id == "v"
    # asking to drop rows the file does not have stores the same set
    assert lib.import_file(npy_file, ImportOptions(drop_zero=True)).reused
    # the in-memory route (a loaded set and how it was read) is recognised too
    es = open_file(npy_file)
    assert lib.import_set(es, options=ImportOptions()).id == "v"
    assert len(lib.entries()) == 1


def test_new_forces_a_second_uniquely_named_copy(tmp_path, npy_file):
    lib = Library(tmp_path / "lib")
    first = lib.import_file(npy_file)
    second = lib.import_file(npy_file, new=True)
    assert not second.reused and (first.name, second.name) == ("vecs", "vecs (2)")
    assert second.id != first.id
    assert lib.import_file(npy_file).id in (first.id, second.id)
    assert len(lib.entries()) == 2


def test_other_options_make_another_set_named_by_them(tmp_path, npy_file):
    from explorer.core.import_options import ImportOptions

    meta = tmp_path / "labels.csv"
    meta.write_text("label\n" + "".join(f"l{i}\n" for i in range(60)))
    lib = Library(tmp_path / "lib")
    plain = lib.import_file(npy_file)
    joined = lib.import_file(npy_file, ImportOptions(metadata_path=str(meta)))
    dotted = lib.import_file(npy_file, ImportOptions(metric="dot", model="toy"))
    assert (plain.name, joined.name, dotted.name) == (
        "vecs", "vecs (metadata labels.csv)", "vecs (dot, model toy)")
    assert lib.open(dotted.id).metric == "dot" and lib.open(dotted.id).model == "toy"
    manifest = json.loads((Path(joined.path) / MANIFEST).read_text())
    assert manifest["import_options"]["version"] == 1
    assert manifest["import_options"]["metadata_path"] == str(meta.resolve())
    # each is reused by the same options
    assert lib.import_file(npy_file, ImportOptions(metadata_path=str(meta))).id == joined.id
    assert lib.import_file(npy_file, ImportOptions(model="toy", metric="dot")).id == dotted.id
    assert len(lib.entries()) == 3


def test_dropped_rows_are_part_of_what_is_stored(tmp_path):
    from explorer.core.import_options import ImportOptions

    path = tmp_path / "z.npy"
    x = np.random.default_rng(5).normal(size=(30, 4)).astype(np.float32)
    x[3] = 0
    np.save(path, x)
    lib = Library(tmp_path / "lib")
    kept = lib.import_file(path)
    dropped = lib.import_file(path, ImportOptions(drop_zero=True))
    assert not dropped.reused and dropped.name == "z (zero rows dropped)" and dropped.count == 29
    assert lib.import_file(path, ImportOptions(drop_zero=True)).id == dropped.id
    assert lib.import_file(path).id == kept.id


def test_a_changed_file_is_stored_again_under_a_numbered_name(tmp_path, npy_file):
    lib = Library(tmp_path / "lib")
    old = lib.import_file(npy_file)
    np.save(npy_file, np.ones((60, 8), np.float32))
    new = lib.import_file(npy_file)
    assert not new.reused and (old.name, new.name) == ("vecs", "vecs (2)")
    assert lib.import_file(npy_file).id == new.id


def test_a_set_the_app_makes_again_takes_the_name_of_its_older_build(tmp_path):
    lib = Library(tmp_path)
    es = make_set(name="Rebuilt")
    es.source = ["/data/docs"]
    old = lib.import_set(es)
    new = lib.import_set(es)
    assert new.name == "Rebuilt" and lib.entry("Rebuilt").id == new.id
    assert lib.entry(old.id).name == f"Rebuilt ({old.created[:16].replace('T', ' ')} UTC)"


def test_a_taken_name_is_refused_before_the_file_is_read(tmp_path, npy_file, monkeypatch):
    import explorer.core.loaders as loaders

    other = tmp_path / "other.npy"
    np.save(other, np.zeros((5, 8), np.float32) + 1)
    lib = Library(tmp_path / "lib")
    lib.import_file(npy_file, name="v")
    monkeypatch.setattr(loaders, "open_file", lambda *a, **k: pytest.fail("the file was read"))
    with pytest.raises(InputError) as caught:
        lib.import_file(other, name="v")
    message = str(caught.value)
    assert message.startswith("the library already has a set called 'v': v (from "
                              f"{npy_file.resolve()}, imported ")
    assert "--replace" in message


def test_replace_swaps_the_set_once_the_new_one_is_complete(tmp_path, npy_file):
    other = tmp_path / "other.npy"
    np.save(other, np.zeros((5, 8), np.float32) + 1)
    lib = Library(tmp_path / "lib")
    old = lib.import_file(npy_file, name="v")
    state = TaskState()

    def cancel_late(fraction):  # the new set is half written: the old one is still there
        if fraction > 0.6:
            assert lib.entry("v").id == old.id
            state.cancel()
    state._on_progress = cancel_late
    with pytest.raises(Cancelled):
        lib.import_file(other, name="v", replace=True, state=state)
    assert [e.id for e in lib.entries()] == [old.id] and lib.open("v").count == 60
    new = lib.import_file(other, name="v", replace=True)
    assert [e.id for e in lib.entries()] == [new.id] and lib.open("v").count == 5
    assert not Path(old.path).exists()
    assert lib.replaced() == []


def test_a_replaced_set_is_hidden_at_once_and_left_for_gc(tmp_path, npy_file, monkeypatch):
    other = tmp_path / "other.npy"
    np.save(other, np.zeros((5, 8), np.float32) + 1)
    lib = Library(tmp_path / "lib")
    old = lib.import_file(npy_file, name="v")
    # as if the process died between putting the new set in place and deleting the old one
    monkeypatch.setattr(Library, "delete", lambda self, found, key=None: None)
    new = lib.import_file(other, name="v", replace=True)
    assert [e.id for e in lib.entries()] == [new.id] and lib.entry("v").id == new.id
    assert [e.id for e in lib.replaced()] == [old.id] and Path(old.path).exists()


def test_rename_keeps_names_unique(tmp_path):
    lib = Library(tmp_path)
    a = lib.import_set(make_set(name="a"))
    b = lib.import_set(make_set(name="b"))
    with pytest.raises(InputError, match="already has a set called 'a'"):
        lib.rename(b.id, "a")
    with pytest.raises(InputError, match="cannot be empty"):
        lib.rename(b.id, "  ")
    assert lib.rename(b.id, "  c ").name == "c"
    assert lib.entry("c").id == b.id and lib.entry(a.id).name == "a"
    assert lib.rename("c", "c").name == "c"
    manifest = json.loads((Path(b.path) / MANIFEST).read_text())
    assert manifest["name"] == "c" and manifest["id"] == b.id


def test_rename_keeps_keys_a_newer_version_wrote(tmp_path):
    lib = Library(tmp_path)
    folder = Path(lib.import_set(make_set()).path)
    _edit_manifest(folder, future_field={"x": 1})
    lib.rename("my-set", "ours")
    assert json.loads((folder / MANIFEST).read_text())["future_field"] == {"x": 1}


def test_an_ambiguous_name_of_an_older_library_lists_the_candidates(tmp_path):
    lib = Library(tmp_path)
    a = lib.import_set(make_set(name="v"))
    b = lib.import_set(make_set(name="w"))
    _edit_manifest(Path(b.path), name="v")  # as libraries written before this change could be
    with pytest.raises(InputError) as caught:
        lib.open("v")
    message = str(caught.value)
    assert message.startswith("several library sets are called 'v': ")
    assert f"{a.id} (from no file, imported {a.created[:16].replace('T', ' ')} UTC)" in message
    assert f"{b.id} (from no file" in message and "rename" in message
    assert lib.open(b.id).name == "v"


def test_two_processes_importing_under_one_name_get_one_set(tmp_path, npy_file):
    child = """
import sys
from explorer.core.errors import InputError
from explorer.core.library import Library
try:
    print(Library(sys.argv[1]).import_file(sys.argv[2], name="v", new=True).id)
except InputError as err:
    print("refused", err)
"""
    runs = [subprocess.Popen([sys.executable, "-c", child, str(tmp_path / "lib"), str(npy_file)],
                             stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = sorted(run.communicate()[0].strip() for run in runs)
    assert outputs[-1] == "v" and all(o.startswith("refused") for o in outputs[:-1])
    assert [e.name for e in Library(tmp_path / "lib").entries()] == ["v"]


def test_another_name_asks_for_a_set_of_that_name(tmp_path, npy_file):
    lib = Library(tmp_path / "lib")
    first = lib.import_file(npy_file)
    named = lib.import_file(npy_file, name="v")
    assert not named.reused and (first.name, named.name) == ("vecs", "v")
    assert lib.import_file(npy_file, name="v").id == named.id
    assert lib.import_file(npy_file).reused
