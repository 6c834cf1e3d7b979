"""`charts` prints what the Charts panel shows; its --where takes the SQL "Copy as SQL" gives."""

import json

import numpy as np
import pyarrow as pa

from explorer.cli import run
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library

N = 400


def make_set(explorer_home) -> pa.Table:
    meta = pa.table({"id": [f"a{i}" for i in range(N)],
                     "section": np.array(["games", "web", "art", "it's"])[np.arange(N) % 4],
                     "size": (np.arange(N) ** 2).astype(np.int64)})
    Library(explorer_home).import_set(EmbeddingSet(np.zeros((N, 4), np.float32), meta,
                                                   name="items", format="test", id_column="id"))
    return meta


def test_charts_counts_the_whole_set_and_a_filter(explorer_home, capsys):
    make_set(explorer_home)
    assert run(["charts", "items", "--where", "\"section\" = 'it''s' AND size < 10000",
                "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == N and result["filtered"] == 25  # rows 3, 7, ..., 99
    section, size = result["charts"]
    assert section["column"] == "section" and size["column"] == "size"  # not the ids
    bars = {bar["label"]: bar for bar in section["bars"]}
    assert bars["it's"] == {"label": "it's", "value": "it's", "part": "\"section\" = 'it''s'",
                            "count": 100, "filtered": 25}
    assert bars["games"]["filtered"] == 0
    assert sum(bar["count"] for bar in size["bars"]) == N and size["kind"] == "numbers"
    assert sum(bar["filtered"] for bar in size["bars"]) == 25


def test_charts_says_what_is_wrong_in_one_line(explorer_home, capsys):
    make_set(explorer_home)
    assert run(["charts", "items", "--where", "sise > 3"]) == 2
    assert "no column named 'sise'; did you mean 'size'" in capsys.readouterr().err
    assert run(["charts", "items", "--columns", "nope"]) == 2
    assert "no column named 'nope' to chart" in capsys.readouterr().err


def test_the_other_bar_is_listed_with_the_sql_that_picks_it(explorer_home, capsys):
    names = [f"kind{i:02d}" for i in range(20)]  # more values than bars
    meta = pa.table({"kind": [names[i % 20] if i % 50 else None for i in range(N)]})
    Library(explorer_home).import_set(EmbeddingSet(np.zeros((N, 4), np.float32), meta,
                                                   name="kinds", format="test"))
    assert run(["charts", "kinds", "--columns", "kind", "--json"]) == 0
    [chart] = json.loads(capsys.readouterr().out)["charts"]
    other = chart["bars"][-1]
    assert other["other"] is True and other["label"] == "(other)" and "value" not in other
    assert other["count"] == chart["other_rows"] > 0 and "NOT IN" in other["part"]
    # the bar's SQL, given back as a filter, counts exactly its rows (no value is not other)
    assert run(["charts", "kinds", "--columns", "kind", "--where", other["part"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["filtered"] == other["count"]
