"""The thumbnail job: every good image made, the rest counted; resumable after Cancel, remade
when a source changes, never read from a damaged cache; paths stay inside their root."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from conftest import image_files, image_set
from image_files import good_image
from PIL import Image

from explorer.compute import thumbnails as th
from explorer.compute.thumbnails import build
from explorer.core.artifacts import ArtifactStore
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState


def decoded(store: th.ThumbnailStore, row: int) -> Image.Image:
    im = Image.open(io.BytesIO(store.get(row)))
    im.load()
    return im


def test_paths_relative_to_the_data_file(path_set):
    es = path_set.open()
    report = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    assert (report.count, report.made, report.new) == (43, 40, 40)
    assert (report.urls, report.missing, report.broken, report.pending) == (1, 2, 0, 0)
    assert report.to_dict()["bytes"] == os.path.getsize(report.cache) > 0
    store = th.open_thumbnails(es)
    assert store.counts() == {"ok": 40, "missing": 2, "broken": 0, "url": 1, "pending": 0}
    assert [store.status(r) for r in (0, 40, 41, 42)] == ["ok", "url", "missing", "missing"]
    assert store.get(40) is None and store.get(41) is None
    assert [store.reason(r) for r in (0, 40, 41, 42)] == [
        None, "a URL (never fetched)", "no value", "no such file"]
    for row in (0, 17, 39):
        original = Image.open(path_set.folder / path_set.values[row])
        thumb = decoded(store, row)
        assert thumb.format == "JPEG" and max(thumb.size) <= 128
        assert thumb.size[0] >= thumb.size[1] if original.width >= original.height else True
        small = original.convert("RGB").resize(thumb.size)  # the same picture
        assert np.abs(np.asarray(small, float) - np.asarray(thumb, float)).mean() < 20


def test_a_root_the_user_picks(tmp_path):
    folder = tmp_path / "data"
    names = [p.split("/", 1)[1] for p in image_files(tmp_path / "pictures", 5)]
    s = image_set(folder, names)  # bare file names: they are in a folder elsewhere
    es = s.open()
    alone = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    assert (alone.made, alone.missing) == (0, 5)
    source = th.ImageSource("image", "path", str(tmp_path / "pictures" / "images"))
    report = th.make_thumbnails(es, source, TaskState())
    assert (report.made, report.root) == (5, str((tmp_path / "pictures" / "images").resolve()))
    assert th.open_thumbnails(es) is not None  # the cache of the source without a root
    assert th.open_thumbnails(es, source).counts()["ok"] == 5
    with pytest.raises(InputError, match="not a folder"):
        th.make_thumbnails(es, th.ImageSource("image", "path", str(tmp_path / "no")), TaskState())


def test_paths_outside_the_root_are_never_read(tmp_path):
    folder = tmp_path / "data"
    good = image_files(folder, 2)
    secret = tmp_path / "secret.png"
    secret.write_bytes(good_image(np.random.default_rng(0), "PNG")[0])
    (folder / "images" / "link.png").symlink_to(secret)
    values = good + ["../secret.png", str(secret), "images/link.png", "/etc/passwd",
                     "images/../../secret.png", "a\x00b.png", "file://" + str(secret)]
    es = image_set(folder, values).open()
    report = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    assert (report.made, report.outside, report.missing) == (2, 7, 7)
    assert {p["reason"] for p in report.problems} == {f"outside the image root {folder}"}
    # a wider root the user picks: relative paths now start there (images/ is not in it), the
    # absolute path and the file URL of the secret are inside it; ../, NUL and /etc are not
    wide = th.make_thumbnails(es, th.ImageSource("image", "path", str(tmp_path)), TaskState())
    assert (wide.made, wide.outside, wide.missing) == (2, 4, 7)
    assert th.open_thumbnails(es, th.ImageSource("image", "path", str(tmp_path))).status(3) == "ok"


def test_bytes_and_struct_columns_need_no_files(tmp_path):
    rng = np.random.default_rng(3)
    blobs = [good_image(rng)[0] for _ in range(20)] + [b"junk", None]
    s = image_set(tmp_path, blobs)
    es = s.open()
    assert es.metadata.schema.field("image").type == pa.binary()
    report = th.make_thumbnails(es, th.image_source(es), TaskState())
    assert (report.kind, report.made, report.broken, report.missing) == ("bytes", 20, 1, 1)
    (on_disk,) = image_files(tmp_path, 1)  # what the last struct's path names
    hf = image_set(tmp_path, [{"bytes": b, "path": f"gone/{i}.png"} for i, b in enumerate(blobs)]
                   + [{"bytes": None, "path": on_disk}], name="hf.parquet")
    es = hf.open()
    report = th.make_thumbnails(es, th.image_source(es), TaskState())
    assert (report.kind, report.made, report.broken, report.missing) == ("struct", 21, 1, 1)
    assert th.open_thumbnails(es).status(22) == "ok"


def test_cancel_keeps_what_was_made_and_the_next_run_resumes(path_set, monkeypatch):
    monkeypatch.setattr(build, "BATCH", 8)
    es = path_set.open()
    source = th.ImageSource("image", "path")
    state = TaskState(on_progress=lambda f: state.cancel() if f > 0.3 else None)
    with pytest.raises(Cancelled):
        th.make_thumbnails(es, source, state)
    partial = th.open_thumbnails(es)
    counts = partial.counts()
    assert counts["pending"] > 0 and counts["ok"] >= 8
    assert partial.get(42) is None and partial.status(42) == "pending"
    report = th.make_thumbnails(es, source, TaskState())
    assert (report.made, report.new) == (40, 40 - counts["ok"])
    again = th.make_thumbnails(es, source, TaskState())
    assert (again.made, again.new, again.cache) == (40, 0, report.cache)


def test_a_changed_source_is_remade_and_the_stale_cache_not_given(path_set):
    es = path_set.open()
    source = th.ImageSource("image", "path")
    th.make_thumbnails(es, source, TaskState())
    before = th.open_thumbnails(es).get(3)
    target = path_set.folder / path_set.values[3]
    fmt = Image.open(target).format
    target.write_bytes(good_image(np.random.default_rng(99), fmt, (300, 301))[0])
    os.utime(target, ns=(1, 1))
    (path_set.folder / "images" / "gone.png").write_bytes(
        good_image(np.random.default_rng(5), "PNG")[0])
    report = th.make_thumbnails(es, source, TaskState())
    assert (report.new, report.made) == (2, 41)
    store = th.open_thumbnails(es)
    assert store.get(3) != before and store.status(42) == "ok"


def test_a_sampled_file_that_changed_makes_the_cache_stale(path_set):
    es = path_set.open()
    th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    (path_set.folder / path_set.values[0]).unlink()  # row 0 is always in the sample
    assert th.open_thumbnails(es) is None


def test_a_damaged_cache_is_not_used(path_set):
    es = path_set.open()
    report = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    data = bytearray(Path(report.cache).read_bytes())
    data[-100] ^= 0xFF
    with open(report.cache, "wb") as fh:  # a new ctime: the checksum is checked again
        fh.write(data)
    assert th.open_thumbnails(es) is None
    assert not os.path.exists(report.cache)  # deleted, never used
    again = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    assert again.new == 40


def test_a_truncated_cache_file_is_not_used(path_set):
    es = path_set.open()
    report = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    os.truncate(report.cache, 1000)
    assert th.open_thumbnails(es) is None


def test_sizes_and_a_set_outside_the_library(path_set):
    es = path_set.open()
    with pytest.raises(InputError, match="not in 16..1024"):
        th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState(), size=4)
    small = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState(), size=32)
    store = th.open_thumbnails(es, size=32)
    assert store.size == 32 and max(decoded(store, 0).size) <= 32 and small.bytes < 200_000
    assert th.open_thumbnails(es) is None  # the 128-pixel one was never made
    es.path = None
    with pytest.raises(InputError, match="not stored"):
        th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    assert th.open_thumbnails(es) is None


def test_an_unknown_column_names_the_columns(path_set):
    with pytest.raises(InputError) as info:
        th.make_thumbnails(path_set.open(), th.ImageSource("picture", "path"), TaskState())
    assert "no column 'picture'" in str(info.value) and "its columns: item, image)" in str(info.value)


def test_the_cache_lives_in_the_set_s_artefacts(path_set):
    es = path_set.open()
    report = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    store = ArtifactStore(es.path)
    (key,) = store.keys("thumbnails")
    assert report.cache == str(es.path / "artifacts" / "thumbnails" / f"{key}.thumbs")
    assert store.strays("thumbnails") == []


def test_a_run_that_dies_keeps_its_last_checkpoint(path_set, monkeypatch):
    """Not cancelled but killed (here: an error half-way): what the last checkpoint saved
    stays, and the next run makes only the rest."""
    monkeypatch.setattr(build, "BATCH", 8)
    monkeypatch.setattr(build, "CHECKPOINT_SECONDS", 0.0)  # as often as saving allows

    def die(fraction: float) -> None:
        if fraction > 0.5:
            raise RuntimeError("killed")
    es = path_set.open()
    with pytest.raises(RuntimeError):
        th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState(on_progress=die))
    saved = th.open_thumbnails(es).counts()
    assert saved["ok"] >= 8 and saved["pending"] > 0
    report = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    assert (report.made, report.new) == (40, 40 - saved["ok"])
