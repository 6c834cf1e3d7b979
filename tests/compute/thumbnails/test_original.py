"""One item's image read again at a size worth looking at (the item panel): by the build's
rules (inside the root, regular files, the pixel limit), fitted into max_side, never enlarged."""

from __future__ import annotations

import io
import os

import numpy as np
import pyarrow as pa
import pytest
from conftest import image_files, image_set
from image_files import encoded, picture, png_declaring
from PIL import Image

from explorer import load
from explorer.compute import thumbnails as th
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def test_the_original_is_larger_than_its_thumbnail_and_the_same_picture(tmp_path):
    rng = np.random.default_rng(3)
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    big = picture(rng, 1600, 800)
    (folder / "images" / "big.png").write_bytes(encoded(big, "PNG"))
    (folder / "images" / "small.jpg").write_bytes(encoded(picture(rng, 300, 200), "JPEG"))
    es = image_set(folder, ["images/big.png", "images/small.jpg"]).open()
    source = th.ImageSource("image", "path")
    shown = opened(th.read_image(es, source, 0))
    assert shown.size == (1024, 512)  # fitted into 1024, shape kept
    assert opened(th.read_image(es, source, 0, max_side=400)).size == (400, 200)
    assert opened(th.read_image(es, source, 1)).size == (300, 200)  # never enlarged
    small = big.convert("RGB").resize(shown.size)
    assert np.abs(np.asarray(small, float) - np.asarray(shown.convert("RGB"), float)).mean() < 12


def test_why_a_row_has_no_image(tmp_path):
    folder = tmp_path / "data"
    values = image_files(folder, 1) + ["images/gone.png", None, "https://example.com/a.jpg",
                                      "../outside.png", "images/bomb.png", "images"]
    (folder / "images" / "bomb.png").write_bytes(png_declaring(100_000, 100_000))
    (tmp_path / "outside.png").write_bytes(encoded(Image.new("RGB", (9, 9)), "PNG"))
    es = image_set(folder, values).open()
    source = th.ImageSource("image", "path")
    assert isinstance(th.read_image(es, source, 0), bytes)
    found = [th.read_image(es, source, row) for row in range(1, len(values))]
    assert [(f.status, f.reason) for f in found] == [
        ("missing", "no such file"), ("missing", "no value"), ("url", "a URL (never fetched)"),
        ("outside", f"outside the image root {os.path.realpath(folder)}"),
        ("broken", "too many pixels (a decompression bomb?)"),
        ("broken", "not a regular file (a folder, device, pipe or socket)")]
    with pytest.raises(IndexError):
        th.read_image(es, source, len(values))
    with pytest.raises(InputError, match="no column 'nope'"):
        th.read_image(es, th.ImageSource("nope", "path"), 0)


def test_the_store_names_the_source_its_originals_come_from(path_set):
    es = path_set.open()
    th.make_thumbnails(es, th.ImageSource("image", "path"), TaskState())
    store = th.open_thumbnails(es)
    assert store.source == th.ImageSource("image", "path", os.path.realpath(path_set.folder))
    assert opened(th.read_image(es, store.source, 0)).size == Image.open(
        path_set.folder / path_set.values[0]).size  # 40..200 px: shown as they are


def embedded(n: int) -> list[dict]:
    rng = np.random.default_rng(5)
    return [{"bytes": encoded(picture(rng, 60, 40), "PNG"), "path": f"{i}.png"}
            for i in range(n)]


def test_a_set_made_in_memory_shows_its_embedded_images(tmp_path):
    """No data file: embedded bytes need none; paths need a root, said in the app's words."""
    file = image_files(tmp_path, 1)[0]
    structs = embedded(3) + [{"bytes": None, "path": file}]
    es = load(np.eye(4, dtype=np.float32),
              metadata=pa.table({"picture": structs, "file": [file] * 4})).embedding_set
    assert es.source[0].startswith("array:")  # not a file: no folder for paths to start from
    report = th.make_thumbnails(es, th.ImageSource("picture", "struct"), TaskState())
    assert (report.made, report.missing) == (3, 1)
    assert opened(th.read_image(es, th.ImageSource("picture", "struct"), 2)).size == (60, 40)
    assert th.read_image(es, th.ImageSource("picture", "struct"), 3).reason == (
        "a path, and no image root to find it in")
    with pytest.raises(InputError) as raised:
        th.make_thumbnails(es, th.ImageSource("file", "path"), TaskState())
    assert raised.value.option == "root" and "--root" not in str(raised.value)
    assert "choose a root folder" in raised.value.hint
    report = th.make_thumbnails(es, th.ImageSource("file", "path", str(tmp_path)), TaskState())
    assert report.made == 4
