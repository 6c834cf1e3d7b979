"""The library round trip: import, reopen memory-mapped, atomic writes, removal."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import MANIFEST, PARTIAL_PREFIX, SCHEMA_VERSION, Library
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
    assert manifest["schema_version"] == SCHEMA_VERSION
    for key in ("count", "dim", "source", "metric", "model", "created"):
        assert key in manifest
    assert [e.id for e in lib.entries()] == ["my-set"]
    assert lib.entry("My Set").id == "my-set"


def test_same_name_gets_a_new_id(tmp_path):
    lib = Library(tmp_path)
    a = lib.import_set(make_set())
    b = lib.import_set(make_set())
    assert (a.id, b.id) == ("my-set", "my-set-2")
    with pytest.raises(InputError, match="several library sets"):
        lib.entry("My Set")


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


def test_id_and_name_clash_is_ambiguous(tmp_path):
    lib = Library(tmp_path)
    a = lib.import_set(make_set(name="!!!"))  # slug falls back to 'set'
    lib.import_set(make_set(name="set"))  # id 'set-2', name 'set'
    assert a.id == "set"
    with pytest.raises(InputError, match="several library sets"):
        lib.entry("set")
    assert lib.entry("set-2").name == "set"


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
