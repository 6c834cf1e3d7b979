"""Set's queries give what the CLI gives for the same set: neighbours, project (through the
same cache), compress, concept; to_arrow keeps metadata and vectors."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from in_process import cli_json

import explorer
from explorer.core.errors import InputError

N, D = 600, 24


def clustered() -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, D)) * 3
    group = np.arange(N) % 6
    x = (centres[group] + rng.normal(size=(N, D))).astype(np.float32)
    meta = {"id": [f"item{i}" for i in range(N)], "grp": [f"g{g}" for g in group],
            "size": rng.normal(size=N) + group}
    return x, meta


X, META = clustered()


@pytest.fixture
def s():
    return explorer.load(X, metadata=META, name="clusters")


TIMING = ("seconds", "index", "train_seconds", "search_ms_per_query", "exact_ms_per_query",
          "cached")


def without_timing(value):
    """A result without what differs from run to run (times, index or cache reuse)."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def test_neighbours_equal_the_cli_s(s, tmp_path, capsys):
    q = np.random.default_rng(1).normal(size=D).astype(np.float32)
    np.save(tmp_path / "q.npy", q)
    pairs = [({"row": 7, "k": 5}, ["--row", 7, "-k", 5]),
             ({"id": "item9", "where": "grp <> 'g3'"}, ["--id", "item9", "--where",
                                                           "grp <> 'g3'"]),
             ({"vector": q, "metric": "l2"}, ["--vector-file", tmp_path / "q.npy", "--metric",
                                              "l2"]),
             ({"expr": "item1 - item2 + item3", "k": 8}, ["--expr", "item1 - item2 + item3",
                                                          "-k", 8]),
             ({"row": 4, "exact": False}, ["--row", 4, "--approx"])]
    for kwargs, args in pairs:
        ours = s.neighbours(**kwargs)
        theirs = cli_json(capsys, "neighbours", s.id, *args)
        if "vector" in kwargs:  # the CLI names the query by the file it read
            assert theirs["query"]["label"] == str(tmp_path / "q.npy")
            theirs["query"]["label"] = "vector"
        assert without_timing(ours.to_dict()) == without_timing(theirs), kwargs
        assert ours.rows.tolist() == [i["row"] for i in theirs["neighbours"]]
        assert ours.ids == [i["id"] for i in theirs["neighbours"]]
        np.testing.assert_array_equal(ours.scores, np.float32([i["score"]
                                                               for i in theirs["neighbours"]]))
    assert s.neighbours(row=4, exact=False).exact is False


def test_project_shares_the_cli_s_cached_map(s, tmp_path, capsys):
    xy = s.project("pca")
    assert xy.shape == (N, 2) and xy.dtype == np.float32
    out = tmp_path / "map.parquet"
    theirs = cli_json(capsys, "project", s.id, "--method", "pca", "--out", out)
    assert theirs["cached"] is True  # the map the API made, kept with the set
    table = pq.read_table(out)
    np.testing.assert_array_equal(np.column_stack([table.column("x").to_numpy(),
                                                   table.column("y").to_numpy()]), xy)
    # and the other way round: a map the CLI made is the one the API reads
    cli_json(capsys, "project", s.id, "--method", "tsne", "--sample", 200, "--out",
             tmp_path / "tsne.parquet")
    tsne = pq.read_table(tmp_path / "tsne.parquet")
    np.testing.assert_array_equal(s.project("tsne", sample=200)[:, 0],
                                  tsne.column("x").to_numpy())
    assert s.project("pca", dims=3).shape == (N, 3)
    umap = s.project(n_neighbors=10)  # UMAP unless told otherwise, as the app's map
    assert umap.shape == (N, 2) and np.isfinite(umap).all()
    # n_neighbors reached the map: the CLI's default (15) is another map, not cached yet
    assert cli_json(capsys, "project", s.id, "--method", "umap")["cached"] is False
    with pytest.raises(InputError, match="unknown projection method 'nope'"):
        s.project("nope")
    with pytest.raises(InputError, match="n_neighbors must be at least 2"):
        s.project("umap", n_neighbors=1)
    with pytest.raises(InputError, match="unexpected keyword argument 'colour'"):
        s.project("pca", colour="red")


def test_compress_equals_the_cli_s(s, capsys):
    ours = s.compress(["fp16", "sq8", "pq8"], k=5, queries=100)
    theirs = cli_json(capsys, "compress", s.id, "--methods", "fp16,sq8,pq8", "-k", 5,
                      "--queries", 100)
    assert without_timing(ours) == without_timing(theirs)
    assert [m["name"] for m in ours["methods"]] == ["fp16", "sq8", "pq8"]
    assert ours["methods"][0]["recall_at_k"] > 0.95
    assert s.compress("fp16,sq8", k=5, queries=100)["queries"] == 100


def test_concept_equals_the_cli_s(s, tmp_path, capsys):
    ours = s.concept(where_a="grp = 'g0'", where_b="grp = 'g1'", against="size", top=3,
                     label_a="zero", save=True)
    theirs = cli_json(capsys, "concept", s.id, "--where-a", "grp = 'g0'", "--where-b",
                      "grp = 'g1'", "--against", "size", "--top", 3, "--label-a", "zero")
    assert ours["saved"] is True and theirs["saved"] is False
    assert {**ours, "saved": False} == theirs
    assert ours["label_a"] == "zero" and ours["heldout_accuracy"] > 0.9
    rows = s.concept(rows_a=np.arange(0, N, 6), rows_b=list(range(1, N, 6)), probe=True,
                     out=tmp_path / "d.json")
    assert rows["out"] == str(tmp_path / "d.json") and rows["method"] == "probe"
    with pytest.raises(InputError, match="--top must be 0 or more"):
        s.concept(where_a="grp = 'g0'", where_b="grp = 'g1'", top=-1)
    with pytest.raises(InputError, match="exactly one pair of poles"):
        s.concept(where_a="grp = 'g0'", rows_b=[1, 2])


def test_to_arrow_holds_the_metadata_and_the_vectors(s):
    table = s.to_arrow()
    assert table.column_names == ["id", "grp", "size", "vector"]
    np.testing.assert_array_equal(np.stack(table.column("vector").to_numpy(zero_copy_only=False)),
                                  X)
    assert table.column("id").to_pylist() == META["id"]
    assert repr(s) == f"Set('clusters', id='{s.id}', 600 x 24, cosine)"
