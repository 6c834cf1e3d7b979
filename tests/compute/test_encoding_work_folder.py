"""A damaged encode work folder is detected on resume: trusted windows are kept, never zeros."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute.encoding import pipeline
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.compute.encoding.work_folder import WorkFolder, seal
from explorer.core.errors import InputError
from explorer.core.inputs import Skipped
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

from onnx_models import bert_like, write_folder
from test_encoding_pipeline import write_docs

DIM = 4
WINDOW_ROWS = (5, 3, 6)  # rows kept per window; each window consumed one more item


def finished_folder(root) -> tuple[WorkFolder, np.ndarray]:
    """A work folder with three finished windows (and a skipped input in the second)."""
    work = WorkFolder(root, DIM)
    rng = np.random.default_rng(0)
    rows = []
    for window, n in enumerate(WINDOW_ROWS):
        vectors = rng.normal(size=(n, DIM)).astype(np.float32)
        skipped = [Skipped("a.csv", "empty text", row=window)] if window == 1 else []
        work.append(vectors, pa.table({"text": [f"w{window} r{i}" for i in range(n)]}),
                    n + 1, skipped)
        rows.append(vectors)
    return work, np.concatenate(rows)


def edit_progress(root, change, reseal: bool) -> None:
    path = root / "progress.json"
    data = json.loads(path.read_text())
    change(data)
    if reseal:  # as if written by the app: only the field checks can catch it
        data = seal({k: v for k, v in data.items() if k != "checksum"})
    path.write_text(json.dumps(data))


def test_an_intact_folder_resumes_where_it_stopped(tmp_path):
    work, rows = finished_folder(tmp_path / "job")
    with open(work.vectors_path, "ab") as fh:  # an unfinished window's rows, then a crash
        fh.write(b"\x01" * DIM * 4 * 7)
    (tmp_path / "job" / "meta-000003.parquet").write_bytes(b"unfinished")
    again = WorkFolder(tmp_path / "job", DIM)
    assert again.notice is None
    assert again.items_done == sum(WINDOW_ROWS) + 3 and again.rows == sum(WINDOW_ROWS)
    np.testing.assert_array_equal(np.asarray(again.vectors()), rows)
    assert again.metadata().column("text").to_pylist()[-1] == "w2 r5"
    assert [s["row"] for s in again.skipped()] == [1]
    assert not (tmp_path / "job" / "meta-000003.parquet").exists()
    assert again.vectors_path.stat().st_size == rows.nbytes


UNREADABLE = {
    "a list": (lambda p: p.write_text("[]"), "not a JSON object"),
    "cut short": (lambda p: p.write_text(p.read_text()[:40]), "not JSON"),
    "not text": (lambda p: p.write_bytes(b"\xff\xfe"), "not JSON"),
    "a folder": (lambda p: (p.unlink(), p.mkdir()), "Is a directory"),
    "an older version": (lambda p: p.write_text(json.dumps(
        {"items_done": 5, "rows": 5, "pieces": ["meta-000000.parquet"], "skipped": [],
         "dim": DIM})), "written by another version of the app"),
    "edited": (lambda p: p.write_text(p.read_text().replace('"items": 6', '"items": 60')),
               "its checksum does not match"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_an_unreadable_record_means_starting_over_with_a_notice(tmp_path, case):
    finished_folder(tmp_path / "job")
    damage, reason = UNREADABLE[case]
    damage(tmp_path / "job" / "progress.json")
    again = WorkFolder(tmp_path / "job", DIM)
    assert again.notice == (f"The progress saved by an earlier run of this encoding is "
                            f"unreadable ({reason}); starting over")
    assert again.items_done == 0 and again.rows == 0
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["vectors.f32"]
    assert again.vectors_path.stat().st_size == 0


RESEALED = {
    "no pieces": (lambda d: d.pop("pieces"), "the record lacks 'pieces'"),
    "pieces not a list": (lambda d: d.update(pieces={}), "the record has a wrong 'pieces'"),
    "a window without rows": (lambda d: d["pieces"][1].pop("rows"), "window 2 lacks 'rows'"),
    "rows as text": (lambda d: d["pieces"][0].update(rows="5"), "window 1 has a wrong 'rows'"),
    "rows as true": (lambda d: d["pieces"][0].update(rows=True), "window 1 has a wrong 'rows'"),
    "more rows than items": (lambda d: d["pieces"][0].update(rows=50),
                             "window 1 has impossible counts"),
    "a file outside": (lambda d: d["pieces"][0].update(file="../../outside.parquet"),
                       "window 1 names the file '../../outside.parquet'"),
    "a short hash": (lambda d: d["pieces"][2].update(meta_blake2b="abc"),
                     "window 3 has a malformed hash"),
    "a bad skipped entry": (lambda d: d["pieces"][1]["skipped"][0].pop("reason"),
                            "window 2's skipped input lacks 'reason'"),
    "another width": (lambda d: d.update(dim=DIM + 1), f"for {DIM + 1} dimensions, not {DIM}"),
}


@pytest.mark.parametrize("case", list(RESEALED))
def test_every_field_of_the_record_is_checked(tmp_path, case):
    finished_folder(tmp_path / "job")
    change, reason = RESEALED[case]
    edit_progress(tmp_path / "job", change, reseal=True)
    again = WorkFolder(tmp_path / "job", DIM)
    assert again.notice == (f"The progress saved by an earlier run of this encoding is "
                            f"unreadable ({reason}); starting over")
    assert again.items_done == 0


def flip_byte(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


ROW = DIM * 4
DAMAGED = {
    "second piece deleted": (lambda root: (root / "meta-000001.parquet").unlink(), 1,
                             "window 2 of 3: its metadata file meta-000001.parquet is missing"),
    "first piece rewritten": (lambda root: (root / "meta-000000.parquet").write_bytes(b"x"), 0,
                              "window 1 of 3: its metadata file meta-000000.parquet has changed"),
    "third piece flipped": (lambda root: flip_byte(root / "meta-000002.parquet", 20), 2,
                            "window 3 of 3: its metadata file meta-000002.parquet has changed"),
    "vectors cut in the third window": (
        lambda root: (root / "vectors.f32").open("r+b").truncate(9 * ROW), 2,
        "window 3 of 3: vectors.f32 ends before its rows"),
    "vectors gone": (lambda root: (root / "vectors.f32").unlink(), 0,
                     "window 1 of 3: vectors.f32 ends before its rows"),
    "a row of the second window flipped": (
        lambda root: flip_byte(root / "vectors.f32", 6 * ROW), 1,
        "window 2 of 3: its rows in vectors.f32 have changed"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damage_drops_that_window_and_every_later_one(tmp_path, case):
    work, rows = finished_folder(tmp_path / "job")
    damage, intact, reason = DAMAGED[case]
    damage(tmp_path / "job")
    again = WorkFolder(tmp_path / "job", DIM)
    done = sum(n + 1 for n in WINDOW_ROWS[:intact])
    kept = sum(WINDOW_ROWS[:intact])
    assert again.notice == ("Work saved by an earlier run of this encoding is damaged "
                            f"({reason}); " + (f"resuming after item {done:,}, the end of the "
                                               "last intact window" if intact else "starting over"))
    assert again.items_done == done and again.rows == kept
    np.testing.assert_array_equal(np.asarray(again.vectors()), rows[:kept])
    if intact:
        assert again.vectors_path.stat().st_size == kept * ROW
    assert len(again.metadata()) == kept
    pieces = sorted(p.name for p in (tmp_path / "job").glob("meta-*"))
    assert pieces == [f"meta-{i:06d}.parquet" for i in range(intact)]
    later = WorkFolder(tmp_path / "job", DIM)  # the repaired record is trusted next time
    assert later.notice is None and later.items_done == done


# --- the whole pipeline over a damaged folder --------------------------------------------

@pytest.fixture
def model(tmp_path):
    return str(write_folder(tmp_path / "model", bert_like()))


def stopped_after(docs, options, windows: int) -> None:
    """Run the job and cancel it once `windows` windows are finished, as Esc or Ctrl+C would."""
    state = TaskState()
    original = WorkFolder.append

    def append_then_cancel(self, *args):
        original(self, *args)
        if len(self.progress["pieces"]) == windows:
            state.cancel()

    WorkFolder.append = append_then_cancel
    try:
        with pytest.raises(Cancelled):
            encode_inputs([docs], options, state=state)
    finally:
        WorkFolder.append = original


def job_folder():
    [folder] = [p for p in (pipeline.data_home() / pipeline.JOBS_DIR).iterdir() if p.is_dir()]
    return folder


@pytest.mark.parametrize("damage, resumed_windows, notice", [
    (lambda job: (job / "vectors.f32").open("r+b").truncate(
        (job / "vectors.f32").stat().st_size - 100), 2, "vectors.f32 ends before its rows"),
    (lambda job: (job / "progress.json").write_text("[]"), 0, "unreadable (not a JSON object)"),
    (lambda job: (job / "meta-000001.parquet").unlink(), 1, "meta-000001.parquet is missing"),
], ids=["vectors cut short", "record unreadable", "piece deleted"])
def test_a_damaged_job_resumes_to_the_same_set_as_a_clean_run(tmp_path, model, damage,
                                                              resumed_windows, notice):
    docs = write_docs(tmp_path / "docs", files=4, paragraphs=60)
    options = EncodeOptions(model=model, chunk_tokens=12, overlap_tokens=0, batch_size=2)
    clean = Library().open(encode_inputs([docs], EncodeOptions(**{**options.__dict__,
                                                                  "name": "clean"})).entry.id)
    stopped_after(docs, options, windows=3)
    damage(job_folder())
    result = encode_inputs([docs], options)
    assert result.resumed_from == resumed_windows * 2 * pipeline.WINDOW_BATCHES
    [told] = result.notices
    assert notice in told
    es = Library().open(result.entry.id)
    vectors = np.asarray(es.vectors)
    assert not (np.abs(vectors).sum(axis=1) == 0).any()  # no row made of zeros
    assert es.metadata.column("text").to_pylist() == clean.metadata.column("text").to_pylist()
    np.testing.assert_allclose(vectors, np.asarray(clean.vectors), atol=1e-6)
    assert not list((pipeline.data_home() / pipeline.JOBS_DIR).iterdir())


def test_a_full_disk_while_encoding_is_one_line_and_leaves_no_half_piece(tmp_path, model,
                                                                        monkeypatch):
    docs = write_docs(tmp_path / "docs", files=4, paragraphs=60)
    options = EncodeOptions(model=model, chunk_tokens=12, overlap_tokens=0, batch_size=2)
    real_fsync, pieces = os.fsync, []

    def fsync_fills_the_disk(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".partial"):
            pieces.append(fd)
            if len(pieces) == 3:  # the third window's metadata piece meets a full disk
                raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_fills_the_disk)
    with pytest.raises(InputError, match="the disk holding the encoding work folder .* is full"):
        encode_inputs([docs], options)
    names = [p.name for p in job_folder().iterdir()]
    assert not [n for n in names if n.endswith(".partial")]  # the half piece was not left
    monkeypatch.setattr(os, "fsync", real_fsync)
    result = encode_inputs([docs], options)  # room again: the job resumes and finishes
    assert result.resumed_from == 2 * 2 * pipeline.WINDOW_BATCHES  # two windows were kept
    assert Library().open(result.entry.id).count == result.count
