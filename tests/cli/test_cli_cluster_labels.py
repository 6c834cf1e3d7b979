"""`embedding-explorer labels`: the clusters of a set's map per level, as JSON, as text and as
a Parquet file of each row's cluster per level; cached with the map; mistakes are one line."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# imported while the tests are collected, so numba's cache is the machine's folder, not one
# test's temporary home (fast-hdbscan's kernels would be compiled again in every run)
import explorer.compute.clusters  # noqa: F401
from explorer.cli import run
from explorer.core.library import Library

WORDS = ["audio", "kernel", "font", "printer", "camera", "network"]


def write_set(path, dim: int = 8, text: bool = True) -> None:
    """Six tight groups in `dim` dimensions; each item's text says its group's word."""
    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(6), 120)
    centres = np.zeros((6, dim))  # around a circle in the plane PCA finds first
    centres[:, 0], centres[:, 1] = (20 * f(np.arange(6) * np.pi / 3) for f in (np.cos, np.sin))
    vectors = (centres[group] + rng.normal(size=(group.size, dim))).astype(np.float32)
    columns = {"vec": list(vectors), "shelf": (group % 3).astype(np.int64),
               "weight": rng.uniform(size=group.size)}
    if text:
        columns["description"] = [f"{WORDS[g]} tool number {i} for the desktop"
                                  for i, g in enumerate(group)]
    pq.write_table(pa.table(columns), path)


def test_labels_as_json_and_parquet(tmp_path, capsys):
    path, out = tmp_path / "items.parquet", tmp_path / "levels.parquet"
    write_set(path)
    assert run(["labels", str(path), "--map", "pca", "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "pca" and result["count"] == 720
    assert {"levels", "noise_fraction", "seconds", "out"} <= set(result)
    assert result["out"] == str(out) and result["cached"] is False
    levels = result["levels"]
    assert [lv["level"] for lv in levels] == list(range(len(levels))) and len(levels) >= 2
    for lv in levels:
        for c in lv["clusters"]:
            assert {"id", "label", "terms", "count", "x", "y"} <= set(c)
            assert c["label"] == ", ".join(c["terms"])
    fine = levels[-1]["clusters"]
    assert {c["terms"][0] for c in fine} == set(WORDS)  # "tool", "desktop": everyone's words
    assert result["noise_fraction"] == levels[-1]["noise_fraction"]

    table = pq.read_table(out)
    names = ["row"] + [f"level_{lv['level']}" for lv in levels]
    assert table.column_names == names
    assert table.column("row").to_pylist() == list(range(720))
    for lv in levels:
        col = table.column(f"level_{lv['level']}").to_numpy()
        assert pa.types.is_int32(table.schema.field(f"level_{lv['level']}").type)
        assert np.array_equal(np.bincount(col[col >= 0]), [c["count"] for c in lv["clusters"]])
        assert np.mean(col < 0) == lv["noise_fraction"]
    for above, below in zip(levels, levels[1:]):  # each cluster lies in its parent
        upper, lower = (table.column(f"level_{lv['level']}").to_numpy() for lv in (above, below))
        for c in below["clusters"]:
            assert set(upper[lower == c["id"]].tolist()) == {c["parent"]}

    assert run(["labels", str(path), "--map", "pca", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["cached"] is True and again["map_cached"] is True and again["out"] is None
    assert again["levels"] == levels


def test_labels_as_text(tmp_path, capsys):
    path = tmp_path / "items.parquet"
    write_set(path)
    assert run(["labels", str(path), "--map", "pca", "--levels", "2"]) == 0
    out = capsys.readouterr().out
    assert "720 items, pca map" in out and "named by terms:description" in out
    assert "level 0:" in out and "level 1:" in out and "level 2:" not in out
    assert all(word in out for word in WORDS)


def test_categories_and_mistakes(tmp_path, capsys):
    path = tmp_path / "bare.parquet"
    write_set(path, text=False)
    assert run(["labels", str(path), "--map", "pca", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "no text column" in err and "choose a column: shelf" in err  # not `weight`
    assert run(["labels", str(path), "--map", "pca", "--column", "shelf", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["named_by"] == "category:shelf"
    assert {c["label"] for c in result["levels"][-1]["clusters"]} == {
        f"shelf: {g} (100%)" for g in range(3)}
    assert run(["labels", str(path), "--map", "pca", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "cannot write .xlsx" in capsys.readouterr().err
    assert run(["labels", str(path), "--map", "pca", "--levels", "9"]) == 2
    assert "levels must be 2 to 5" in capsys.readouterr().err


def test_a_2d_set_is_its_own_map(tmp_path, capsys):
    path = tmp_path / "flat.parquet"
    write_set(path, dim=2)
    assert run(["labels", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "identity" and result["levels"]
    es = Library().open(Library().entries()[0].id)
    assert es.dim == 2


def test_a_map_clustered_on_a_draw_says_so(tmp_path, capsys, monkeypatch):
    from explorer.compute.clusters import run as cluster_run

    monkeypatch.setattr(cluster_run, "SAMPLE_ABOVE", 400)  # the 720 items are a big map here
    path = tmp_path / "items.parquet"
    write_set(path)
    assert run(["labels", str(path), "--map", "pca", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sampled"] == 400 and result["count"] == 720
    assert run(["labels", str(path), "--map", "pca"]) == 0
    assert "fixed draw of 400 items" in capsys.readouterr().out
