"""Image columns are found from their Arrow type and a sample of values, best first, and the
chosen one is remembered with the set."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from conftest import image_files, image_set
from image_files import good_image

from explorer.compute import thumbnails as th
from explorer.core.library import Library


def test_each_kind_is_found_and_the_offline_ones_come_first(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "data"
    paths = image_files(folder, 12)
    blobs = [good_image(rng)[0] for _ in range(12)]
    struct = pa.array([{"bytes": b, "path": f"x{i}.png"} for i, b in enumerate(blobs)])
    urls = [f"https://cdn.example.com/{i}.jpg?w=200" for i in range(12)]
    mixed = paths[:9] + [f"http://example.com/{i}.png" for i in range(3)]
    s = image_set(folder, paths, column="file")
    es = s.open()
    es.metadata = (es.metadata.append_column("blob", pa.array(blobs, pa.binary()))
                   .append_column("hf", struct).append_column("link", pa.array(urls))
                   .append_column("mixed", pa.array(mixed))
                   .append_column("notes", pa.array([f"note {i}.txt" for i in range(12)]))
                   .append_column("raw", pa.array([bytes(20)] * 12)))
    found = {c.name: c for c in th.find_image_columns(es)}
    assert set(found) == {"file", "blob", "hf", "link", "mixed"}
    assert [c.name for c in th.find_image_columns(es)][:2] == ["hf", "blob"]
    assert (found["hf"].kind, found["blob"].kind, found["file"].kind) == ("struct", "bytes", "path")
    assert (found["link"].kind, found["link"].urls) == ("url", 12)
    assert (found["mixed"].kind, found["mixed"].urls, found["mixed"].count) == ("path", 3, 12)
    assert found["blob"].examples[0].endswith("bytes")
    assert found["file"].examples[0].startswith("images/")


def test_a_struct_of_paths_only_is_an_image_column(tmp_path):
    folder = tmp_path / "data"
    paths = image_files(folder, 5)
    s = image_set(folder, [{"bytes": None, "path": p} for p in paths])
    (col,) = th.find_image_columns(s.open())
    assert (col.name, col.kind, col.count) == ("image", "struct", 5)


def test_the_only_offline_column_is_picked_until_one_is_remembered(tmp_path):
    folder = tmp_path / "data"
    s = image_set(folder, image_files(folder, 6))
    assert th.image_source(s.open()) == th.ImageSource("image", "path")
    th.remember_image_source(Library(), s.set_id,
                             th.ImageSource("image", "path", str(folder / "images")))
    manifest = Library().entry(s.set_id).image_source
    assert manifest == {"column": "image", "kind": "path", "root": "images"}  # relative
    assert th.image_source(s.open()) == th.ImageSource("image", "path",
                                                       str(folder / "images"))
    elsewhere = tmp_path / "pictures"  # beside the data's folder: read back without ".."
    elsewhere.mkdir()
    th.remember_image_source(Library(), s.set_id, th.ImageSource("image", "path", str(elsewhere)))
    assert Library().entry(s.set_id).image_source["root"] == "../pictures"
    assert th.image_source(s.open()).root == str(elsewhere)
    th.remember_image_source(Library(), s.set_id, None)
    assert Library().entry(s.set_id).image_source is None


def test_a_remembered_column_the_set_no_longer_has_is_not_believed(tmp_path):
    folder = tmp_path / "data"
    s = image_set(folder, image_files(folder, 3))
    Library().set_image_source(s.set_id, {"column": "gone", "kind": "path", "root": None})
    assert th.image_source(s.open()) == th.ImageSource("image", "path")
    Library().set_image_source(s.set_id, {"column": "image", "kind": "video", "root": 3})
    assert th.image_source(s.open()) == th.ImageSource("image", "path")


def test_no_image_column_and_url_only_sets_pick_nothing(tmp_path):
    s = image_set(tmp_path, [f"https://example.com/{i}.jpg" for i in range(4)])
    assert [c.kind for c in th.find_image_columns(s.open())] == ["url"]
    assert th.image_source(s.open()) is None
    plain = image_set(tmp_path, [f"word {i}" for i in range(4)], name="plain.parquet")
    assert th.find_image_columns(plain.open()) == []
