"""du and gc: every byte of the library accounted for once; gc takes only what nothing needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from disk_usage import walk_bytes

from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import NORMS_KEY, NORMS_KIND, Library, vectors_signature
from explorer.core.partial_folders import PARTIAL_PREFIX, TRASH_PREFIX, UNOWNED_AGE
from explorer.core.storage import collect, usage

JOBS = "encode-jobs"
LONG_AGO = time.time() - 2 * UNOWNED_AGE

HOLD_PARTIAL = """
import sys
from pathlib import Path
from explorer.core.partial_folders import partial_folder
with partial_folder(Path(sys.argv[1]), "held") as folder:
    (folder / "vectors.npy").write_bytes(b"x" * 5000)
    print(folder, flush=True)
    sys.stdin.read()
"""

HOLD_JOB = """
import sys
from pathlib import Path
from explorer.compute.encoding.job_lock import job_lock
from explorer.core.jobs import TaskState
with job_lock(Path(sys.argv[1]), "notes with minilm", TaskState(), on_wait=print):
    print("held", flush=True)
    sys.stdin.read()
"""


def make_set(name: str, n: int = 300, d: int = 16, seed: int = 0) -> EmbeddingSet:
    rng = np.random.default_rng(seed)
    return EmbeddingSet(rng.normal(size=(n, d)).astype(np.float32),
                        pa.table({"id": [f"{name}-{i}" for i in range(n)]}), name=name,
                        format="test", id_column="id")


def start(code: str, *args) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    return child, child.stdout.readline().strip()


def stop(child: subprocess.Popen) -> None:
    child.kill()
    child.wait()


@pytest.fixture
def library(tmp_path) -> Library:
    """Three sets, one with artefacts of several kinds; models and a cache beside them."""
    lib = Library(tmp_path / "home")
    for i, name in enumerate(("alpha", "beta", "gamma")):
        lib.import_set(make_set(name, seed=i))
    folder = Path(lib.entry("alpha").path)
    signature = vectors_signature(np.load(folder / "vectors.npy", mmap_mode="r"), folder)
    store = ArtifactStore(folder)
    store.save("projection", "pca-2d-v1-abc", np.zeros((300, 2), np.float32), {"seconds": 1})
    store.save("concepts", "good-bad", np.ones(16, np.float32), {"name": "good-bad"})
    store.save_file("index", "cosine-hnsw", "faiss",
                    lambda path: Path(path).write_bytes(b"i" * 3000), {"signature": signature})
    (lib.root / "models" / "minilm").mkdir(parents=True)
    (lib.root / "models" / "minilm" / "model.onnx").write_bytes(b"m" * 7000)
    return lib


def test_du_accounts_for_every_byte_once(library, tmp_path):
    jobs = library.root / JOBS
    (jobs / "abc").mkdir(parents=True)
    (jobs / "abc" / "vectors.f32").write_bytes(b"v" * 4096)
    (jobs / "abc.lock").write_text("{}")
    partial = library.sets_dir / f"{PARTIAL_PREFIX}x-1"
    partial.mkdir()
    (partial / "vectors.npy").write_bytes(b"p" * 2048)
    alpha = Path(library.entry("alpha").path)
    os.link(alpha / "vectors.npy", tmp_path / "elsewhere.npy")  # a second link: counted once
    shutil.copy(alpha / "vectors.npy", library.root / "models" / "copy.npy")

    report = usage(library, jobs)
    assert report.total == walk_bytes(library.root)
    if shutil.which("du"):
        du = subprocess.run(["du", "-sb", str(library.root)], capture_output=True, text=True)
        assert report.total == int(du.stdout.split()[0])
    sets = {s.id: s for s in report.sets}
    assert set(sets) == {"alpha", "beta", "gamma"}
    a = sets["alpha"]
    assert a.vectors == (alpha / "vectors.npy").stat().st_size == 300 * 16 * 4 + 128
    assert a.metadata == (alpha / "metadata.parquet").stat().st_size
    assert set(a.artefacts) == {"index", "projection", "concepts"}
    assert a.artefacts["index"] > 3000 and a.artefacts["projection"] > 300 * 2 * 4
    assert a.total == a.vectors + a.metadata + sum(a.artefacts.values()) + a.other
    assert a.total == walk_bytes(alpha)
    assert [(p.path, p.bytes) for p in report.partial] == [(str(partial), walk_bytes(partial))]
    assert [(w.path, w.in_use) for w in report.encode_work] == [(str(jobs / "abc"), None)]
    assert report.encode_work[0].bytes == walk_bytes(jobs / "abc") + 2
    assert report.other == {"models": walk_bytes(library.root / "models")}
    assert report.to_dict()["sets"][0]["artefacts"]


def test_du_of_an_empty_or_missing_library(tmp_path):
    report = usage(Library(tmp_path / "none"), tmp_path / "none" / JOBS)
    assert (report.total, report.sets, report.partial, report.encode_work) == (0, [], [], [])


def test_gc_takes_only_what_nothing_needs(library):
    jobs = library.root / JOBS
    alpha = Path(library.entry("alpha").path)
    store = ArtifactStore(alpha)
    vectors = np.load(alpha / "vectors.npy", mmap_mode="r")
    good_sig = vectors_signature(vectors, alpha)
    # stale: made for other vectors; damaged: a flipped byte; a stray temp file of a dead save
    store.save(NORMS_KIND, "stale", np.ones(300, np.float32), {"signature": {**good_sig,
                                                                            "count": 999}})
    store.save("hubness", "cosine-k10", np.ones(300, np.int32), {"signature": good_sig})
    store.save("projection", "umap-2d-v1-def", np.ones((300, 2), np.float32), {})
    npy = store.root / "projection" / "umap-2d-v1-def.npy"
    data = bytearray(npy.read_bytes())
    data[-1] ^= 0xFF
    npy.write_bytes(bytes(data))
    old_tmp = store.root / "projection" / ".x.npy.abc.tmp"
    old_tmp.write_bytes(b"t" * 100)
    os.utime(old_tmp, (LONG_AGO, LONG_AGO))
    young_tmp = store.root / "projection" / ".y.npy.abc.tmp"
    young_tmp.write_bytes(b"t" * 100)
    # partial folders: the trash of a removal, a killed import's, one a live process writes
    trash = library.sets_dir / f"{TRASH_PREFIX}0001"
    (trash / "junk").mkdir(parents=True)
    killed, _ = start(HOLD_PARTIAL, library.sets_dir)
    stop(killed)
    live, live_path = start(HOLD_PARTIAL, library.sets_dir)
    # encode work: one abandoned, one whose job runs in another process
    for key in ("dead", "running"):
        (jobs / key).mkdir(parents=True)
        (jobs / key / "vectors.f32").write_bytes(b"v" * 1000)
    (jobs / "dead.lock").write_text('{"pid": 1}')
    running, said = start(HOLD_JOB, jobs / "running.lock")
    assert said == "held"
    # a damaged set is the user's to remove, never gc's
    (Path(library.entry("gamma").path) / "metadata.parquet").write_bytes(b"PAR1 junk")
    try:
        before = usage(library, jobs)
        dry = collect(library, jobs, dry_run=True)
        assert usage(library, jobs).total == before.total  # looking changes nothing
        done = collect(library, jobs)
        after = usage(library, jobs)
        kept = {(k.what, Path(k.path).name) for k in done.kept}
    finally:
        stop(live)
        stop(running)
    assert [(r.what, r.path) for r in dry.removed] == [(r.what, r.path) for r in done.removed]
    removed = {(r.what, Path(r.path).name): r for r in done.removed}
    assert set(removed) == {
        ("partial folder", trash.name),
        ("partial folder", next(n for w, n in removed if w == "partial folder"
                                and n.startswith(f"{PARTIAL_PREFIX}held"))),
        ("encode work", "dead"),
        ("artefact", "stale"),
        ("artefact", "umap-2d-v1-def"),
        ("stray file", old_tmp.name),
    }
    assert "checksum" in removed[("artefact", "umap-2d-v1-def")].why
    assert "other vectors" in removed[("artefact", "stale")].why
    assert {("partial folder", Path(live_path).name), ("encode work", "running"),
            ("stray file", young_tmp.name)} <= kept
    assert "notes with minilm" in next(k.why for k in done.kept if k.what == "encode work")
    assert done.freed == dry.freed == before.total - after.total
    assert not (jobs / "dead").exists() and not (jobs / "dead.lock").exists()
    assert (jobs / "running" / "vectors.f32").exists() and not old_tmp.exists()
    # everything a set needs is still there and opens
    for name in ("alpha", "beta"):
        es = library.open(name)
        assert es.count == 300
    assert store.load(NORMS_KIND, NORMS_KEY) is not None
    assert store.load("hubness", "cosine-k10") is not None
    assert store.load("projection", "pca-2d-v1-abc") is not None
    assert store.load("concepts", "good-bad") is not None
    assert store.load_file("index", "cosine-hnsw") is not None
    assert [d.id for d in library.scan(read_files=True)[1]] == ["gamma"]
    # once their processes are gone, what they held is garbage too
    again = collect(library, jobs)
    assert sorted((r.what, Path(r.path).name) for r in again.removed) == [
        ("encode work", "running"), ("partial folder", Path(live_path).name)]
    assert collect(library, jobs).removed == []


def test_gc_removes_a_set_a_killed_replace_left(library, monkeypatch):
    old = library.entry("beta")
    monkeypatch.setattr(Library, "delete", lambda self, found, key=None: None)
    library.import_set(make_set("beta", seed=9), name="beta", replace=True)
    monkeypatch.undo()
    notes = {s.id: s.note for s in usage(library).sets}
    assert "replaced" in notes[old.id] and notes["beta-2"] is None
    report = collect(library)
    assert [(r.what, r.set) for r in report.removed] == [("replaced set", old.id)]
    assert not Path(old.path).exists() and library.open("beta").count == 300


def test_after_gc_the_same_job_takes_its_lock_at_once(library):
    from explorer.compute.encoding.job_lock import job_lock
    from explorer.core.jobs import TaskState

    jobs = library.root / JOBS
    (jobs / "k").mkdir(parents=True)
    (jobs / "k" / "vectors.f32").write_bytes(b"v" * 10)
    assert [r.what for r in collect(library, jobs).removed] == ["encode work"]
    assert list(jobs.iterdir()) == []
    with job_lock(jobs / "k.lock", "again", TaskState(), on_wait=pytest.fail):
        assert not (jobs / "k").exists()


def test_caches_written_into_a_removed_set_are_leftovers_not_a_damaged_set(library):
    folder = Path(library.entry("beta").path)
    library.remove("beta")
    # a view finishing a projection for the set just removed writes where it used to be
    ArtifactStore(folder).save("projection", "pca-2d-v1-x", np.zeros((300, 2), np.float32))
    entries, damaged = library.scan(read_files=True)
    assert "beta" not in [e.id for e in entries] + [d.id for d in damaged]
    assert [(p.path, p.in_use) for p in usage(library).partial] == [(str(folder), None)]
    assert [(r.what, r.path) for r in collect(library).removed] == [("leftovers", str(folder))]
    assert not folder.exists() and library.import_set(make_set("beta")).id == "beta"
