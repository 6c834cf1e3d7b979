"""`import FOLDER|GLOB|FILES... [--sharded]` and the commands around a sharded set (in process)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from in_process import cli_error, cli_json

from explorer.core.shard_import import FIT_ENV

from shard_writer import clustered, write_shards

N, D = 1200, 12


@pytest.fixture
def shards(tmp_path):
    x = clustered(N, D)
    return x, write_shards(tmp_path / "run-7", x, 4)


def test_import_sharded_json_and_the_commands_around_it(shards, capsys):
    x, paths = shards
    before = [p.read_bytes() for p in paths]
    result = cli_json(capsys, "import", paths[0].parent, "--sharded", "--name", "run")
    assert result["layout"] == "sharded" and result["rows"] == N == result["count"]
    assert [s["path"] for s in result["shards"]] == [str(p) for p in paths]
    assert result["vector_column"] == "vector" and result["dim"] == D
    listed = cli_json(capsys, "list")["sets"]
    assert [(s["id"], s["layout"], len(s["shards"])) for s in listed] == [("run", "sharded", 4)]
    found = cli_json(capsys, "filter", "run", "grp = 'a' and size >= 600", "--limit", "2")
    assert found["rows"][0] >= 600 and found["items"][0]["grp"] == "a"
    near = cli_json(capsys, "neighbours", "run", "--row", "5", "-k", "3", "--where", "grp = 'b'")
    assert near["index"]["kind"] == "flat" and len(near["neighbours"]) == 3
    charts = cli_json(capsys, "charts", "run", "--where", "grp = 'a'")  # the metadata in memory
    grp = pq.read_table(paths[0].parent, columns=["grp"]).column("grp").to_pylist()
    assert charts["filtered"] == grp.count("a") and charts["rows"] == N
    usage = cli_json(capsys, "du")
    assert usage["sets"][0]["vectors"] == 0 and "not counted" in usage["sets"][0]["note"]
    assert cli_json(capsys, "gc")["removed"] == []
    assert cli_json(capsys, "remove", "run")["removed"]["id"] == "run"
    assert [p.read_bytes() for p in paths] == before


def test_a_glob_or_a_list_of_files_that_fit_is_copied_into_one_file(shards, capsys,
                                                                     monkeypatch):
    x, paths = shards
    single = cli_json(capsys, "import", str(paths[0].parent / "shard-*.parquet"))
    assert single["layout"] == "single" and single["count"] == N
    monkeypatch.setenv(FIT_ENV, "0")  # as if they did not fit
    listed = cli_json(capsys, "import", *paths[:2], "--vector-column", "vector", "--new")
    assert listed["layout"] == "sharded" and len(listed["shards"]) == 2


def test_inspect_describes_shards_without_importing_them(shards, capsys):
    _, paths = shards
    info = cli_json(capsys, "inspect", paths[0].parent)
    assert (info["count"], info["dim"], info["layout"], len(info["shards"])) == \
        (N, D, "sharded", 4)
    assert info["columns"] == ["item", "grp", "size"] and info["nan_rows"] == 0
    assert info["vector_type"] == "fixed_size_list<element: float>[12]"
    assert cli_json(capsys, "list")["sets"] == []


def test_views_that_need_one_file_refuse_in_words(shards, capsys):
    _, paths = shards
    cli_json(capsys, "import", paths[0].parent, "--sharded", "--name", "run")
    line = cli_error(capsys, "compress", "run")
    assert "needs the vectors in one file" in line and "4 shard files" in line
    assert "not built over a sharded set" in cli_error(capsys, "index", "run", "--kind",
                                                       "hnsw")
    projected = cli_json(capsys, "project", "run", "--method", "pca")  # the map reads rows
    assert projected["count"] == N and projected["dims"] == 2


def test_reimport_keeps_a_sharded_set_sharded_and_nothing_is_attached_to_it(shards, capsys,
                                                                          tmp_path):
    x, paths = shards
    cli_json(capsys, "import", paths[0].parent, "--sharded", "--name", "run")
    cli_json(capsys, "set-label", "run", "grp")
    write_shards(paths[0].parent, clustered(N + 40, D, seed=9), 4)  # a pipeline ran again
    assert "changed since it was imported" in cli_error(capsys, "neighbours", "run", "--row",
                                                        "0")
    again = cli_json(capsys, "reimport", "run")
    assert again["layout"] == "sharded" and again["count"] == N + 40 and again["name"] == "run"
    assert again["label_column"] == "grp" and "changed since the last import" in \
        " ".join(again["notes"])
    assert [s["id"] for s in cli_json(capsys, "list")["sets"]] == [again["id"]]
    labels = tmp_path / "labels.csv"
    labels.write_text("name\n" + "\n".join(f"n{i}" for i in range(N + 40)) + "\n")
    assert "nothing can be attached to a sharded set" in cli_error(
        capsys, "attach-metadata", "run", labels)


def test_hostile_shards_are_named(shards, tmp_path, capsys):
    _, paths = shards
    bad = paths[0].parent / "shard-000009.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")
    line = cli_error(capsys, "import", paths[0].parent, "--sharded")
    assert str(bad) in line and "Parquet" in line
    assert cli_json(capsys, "list")["sets"] == []
