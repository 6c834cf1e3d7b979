"""Hostile and awkward images (issue 21): each ends as a thumbnail or a "broken" row with a
reason, never a crash, a stall or a read outside the set's folder."""

from __future__ import annotations

import io
import os
import threading

import numpy as np
import pytest
from conftest import image_set
from image_files import hostile_images, odd_images, real_bomb
from PIL import Image

from explorer.compute import thumbnails as th
from explorer.core.jobs import TaskState

HOSTILE = hostile_images(np.random.default_rng(21))
ODD = odd_images(np.random.default_rng(21))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_image_is_broken_with_a_reason(name):
    data = HOSTILE[name]
    with pytest.raises(th.BadImage) as info:
        th.thumbnail_jpeg(data, 128)
    reason = str(info.value)
    assert reason and "Traceback" not in reason and len(reason) < 200
    if name.startswith("bomb"):
        assert "decompression bomb" in reason
    if name.startswith("truncated"):
        assert reason == "the file is truncated"


def test_a_real_decompression_bomb_is_refused_before_it_is_decoded():
    bomb = real_bomb()
    assert len(bomb) < 1_000_000  # 100M pixels in well under a megabyte
    with pytest.raises(th.BadImage, match="over the limit"):  # said only before decoding
        th.thumbnail_jpeg(bomb, 128)


@pytest.mark.parametrize("name", sorted(ODD))
def test_awkward_modes_and_animations_become_upright_rgb_or_grey(name):
    data, size = ODD[name]
    thumb = Image.open(io.BytesIO(th.thumbnail_jpeg(data, 128)))
    thumb.load()
    assert thumb.format == "JPEG" and thumb.mode in ("RGB", "L") and thumb.size == size
    if name == "deep-16-bit.png":  # scaled to its own range, not clipped to white
        values = np.asarray(thumb)
        assert values.min() < 40 and values.max() > 200
    if name in ("palette.png", "grey-alpha.png"):
        assert np.asarray(thumb).mean() > 10


def test_files_that_must_not_be_read_in_a_set(tmp_path):
    """A pipe (would block), a device, a folder, a file over the size cap (sparse: never read),
    every hostile image: a complete run with each counted, in seconds."""
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    values = ["images/pipe.jpg", "images/folder.jpg", "images/huge.jpg", "images/zero.jpg"]
    for name, data in HOSTILE.items():
        (folder / "images" / name).write_bytes(data)
        values.append(f"images/{name}")
    os.mkfifo(folder / "images" / "pipe.jpg")
    (folder / "images" / "folder.jpg").mkdir()
    with open(folder / "images" / "huge.jpg", "wb") as fh:
        fh.truncate(th.MAX_SOURCE_BYTES + 1)
    (folder / "images" / "zero.jpg").symlink_to("/dev/zero")
    es = image_set(folder, values).open()
    done = []
    worker = threading.Thread(target=lambda: done.append(
        th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())), daemon=True)
    worker.start()
    worker.join(60)
    assert done, "the job stalled"
    report = done[0]
    assert (report.made, report.broken, report.outside) == (0, len(values) - 1, 1)
    first = {p["reason"].split(" (")[0]: (p["row"], p["rows"]) for p in report.problems}
    assert first["not a regular file"] == (0, 2)  # the pipe, then the folder
    assert first["larger than 64 MiB"] == (2, 1)
    assert first[f"outside the image root {folder}"] == (3, 1)
    assert first["the file is truncated"] == (4, 2)
    store = th.open_thumbnails(es)
    assert [store.status(row) for row in range(4)] == ["broken", "broken", "broken", "missing"]
    assert store.reason(2) == "larger than 64 MiB"
    again = th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    assert again.problems == report.problems and again.new == 0  # kept, reasons and all
    assert th.open_thumbnails(es).reason(4) == "the file is truncated"
