"""`embedding-explorer thumbnails`: the JSON the contract names, the column remembered, and
every mistake one line in the user's words (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from image_files import SUFFIX, good_image, hostile_images, write_set
from in_process import cli_error, cli_json

from explorer.compute import thumbnails as th
from explorer.core.library import Library

ROOT = Path(__file__).resolve().parents[2]


def images(folder: Path, n: int) -> list[str]:
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        data, fmt = good_image(rng, sizes=(30, 120))
        (folder / "images" / f"{i}{SUFFIX[fmt]}").write_bytes(data)
        out.append(f"images/{i}{SUFFIX[fmt]}")
    for name, data in list(hostile_images(rng).items())[:3]:
        (folder / "images" / name).write_bytes(data)
        out.append(f"images/{name}")
    return out + ["https://example.com/x.jpg", None]


def test_thumbnails_of_a_file_s_path_column(tmp_path, capsys):
    data = write_set(tmp_path, images(tmp_path, 12))
    result = cli_json(capsys, "thumbnails", data)
    assert {"count", "made", "missing", "broken", "seconds", "bytes", "urls", "column",
            "cache"} <= set(result)
    assert (result["count"], result["made"], result["broken"]) == (17, 12, 3)
    assert (result["missing"], result["urls"], result["column"]) == (1, 1, "image")
    assert result["bytes"] == Path(result["cache"]).stat().st_size
    again = cli_json(capsys, "thumbnails", data)
    assert (again["made"], again["new"]) == (12, 0)
    (entry,) = Library().entries()
    assert th.open_thumbnails(Library().open(entry.id)).counts()["ok"] == 12
    wrong = cli_json(capsys, "thumbnails", entry.id, "--column", "item")  # names, not files
    assert (wrong["made"], wrong["missing"]) == (0, 17)
    assert Library().entry(entry.id).image_source is None  # a column of no images: not kept


def test_a_root_and_column_given_are_remembered(tmp_path, capsys):
    names = [p.split("/", 1)[1] if p and "/" in p and not p.startswith("http") else p
             for p in images(tmp_path / "pictures", 4)]
    data = write_set(tmp_path / "data", names, column="file")
    result = cli_json(capsys, "thumbnails", data, "--column", "file", "--root",
                      tmp_path / "pictures" / "images", "--size", "64")
    assert (result["made"], result["size"]) == (4, 64)
    (entry,) = Library().entries()
    assert Library().entry(entry.id).image_source == {
        "column": "file", "kind": "path", "root": "../pictures/images"}
    assert cli_json(capsys, "thumbnails", entry.id, "--size", "64")["new"] == 0
    again = cli_json(capsys, "thumbnails", entry.id, "--size", "64", "--column", "file")
    assert (again["new"], again["made"]) == (0, 4)  # the root picked for it is kept


def test_an_embedded_bytes_column_in_parquet(tmp_path, capsys):
    rng = np.random.default_rng(4)
    blobs = [good_image(rng, sizes=(30, 90))[0] for _ in range(10)]
    path = tmp_path / "hf.parquet"
    pq.write_table(pa.table({"image": [{"bytes": b, "path": f"{i}.jpg"}
                                       for i, b in enumerate(blobs)],
                             "vector": list(rng.normal(size=(10, 3)).astype(np.float32))}),
                   path)
    result = cli_json(capsys, "thumbnails", path)
    assert (result["kind"], result["made"], result["broken"]) == ("struct", 10, 0)


def test_mistakes_are_one_line(tmp_path, capsys):
    data = write_set(tmp_path, images(tmp_path, 2))
    assert "no library set 'nope'" in cli_error(capsys, "thumbnails", "nope")
    err = cli_error(capsys, "thumbnails", data, "--column", "picture")
    assert "no column 'picture'" in err and "its columns: item, image)" in err
    assert "is not a folder" in cli_error(capsys, "thumbnails", data, "--root", tmp_path / "no")
    assert "16..1024" in cli_error(capsys, "thumbnails", data, "--size", "8")
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"word": ["a", "b"], "vector": [[1.0, 0.0], [0.0, 1.0]]}), plain)
    err = cli_error(capsys, "thumbnails", plain)
    assert "no column of image paths or image bytes found" in err and "word" in err
    links = write_set(tmp_path, [f"https://example.com/{i}.png" for i in range(3)],
                      name="links.parquet")
    assert "only URLs (3)" in cli_error(capsys, "thumbnails", links)


def test_the_real_command_prints_a_summary_and_none_of_pillow_s_warnings(tmp_path):
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    hostile = hostile_images(np.random.default_rng(0))
    (folder / "images" / "bomb.png").write_bytes(hostile["bomb-warning.png"])
    (folder / "images" / "cut.tif").write_bytes(hostile["cut-header.tif"])
    data = write_set(folder, ["images/bomb.png", "images/missing.png", "images/cut.tif"])
    env = {"EXPLORER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin"}
    run = subprocess.run([sys.executable, "-m", "explorer", "thumbnails", str(data)], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert "0 thumbnails (0 made now), 1 missing, 2 broken" in run.stdout
    assert "row 0: broken, 10000 x 10000 pixels is over the limit" in run.stdout
    run = subprocess.run([sys.executable, "-m", "explorer", "thumbnails", str(data), "--json"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert json.loads(run.stdout)["broken"] == 2 and run.stderr == ""


def test_a_set_stored_from_python_needs_a_root_for_its_paths(tmp_path, capsys):
    """The app says "choose a root folder"; the CLI adds the flag that does it."""
    from explorer import load

    names = images(tmp_path, 2)  # 2 good, 3 hostile, a URL, a null
    stored = load(np.eye(len(names), dtype=np.float32), metadata={"image": names})
    err = cli_error(capsys, "thumbnails", stored.id, "--column", "image")
    assert "not read from a file" in err and "choose a root folder" in err and "--root" in err
    result = cli_json(capsys, "thumbnails", stored.id, "--column", "image", "--root", tmp_path)
    assert (result["made"], result["broken"], result["urls"]) == (2, 3, 1)
