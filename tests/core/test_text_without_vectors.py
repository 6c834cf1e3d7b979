"""A table of texts without vectors is something to encode: the error says how, with the file's
own name and its best text column, and carries the columns so the GUI can open its Encode
dialog on them (`option` "encode_column")."""

import json
import shlex

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.errors import InputError
from explorer.core.loaders import open_file
from explorer.core.loaders.columns import ENCODE_OPTION

ROWS = [{"id": i, "title": f"Post {i}", "body": f"A much longer body of text for post {i}, "
         "with a few words more than its title has"} for i in range(30)]


def write_csv(path):
    lines = ["id,title,body"] + [f'{r["id"]},{r["title"]},"{r["body"]}"' for r in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_jsonl(path):
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")


def write_parquet(path):
    pq.write_table(pa.Table.from_pylist(ROWS), path)


WRITERS = {"posts.csv": write_csv, "posts.jsonl": write_jsonl, "posts.parquet": write_parquet,
           "my posts (copy).parquet": write_parquet}


@pytest.mark.parametrize("name", WRITERS)
def test_text_without_vectors_says_how_to_encode_it(tmp_path, name):
    path = tmp_path / name
    WRITERS[name](path)
    with pytest.raises(InputError) as info:
        open_file(path)
    err = info.value
    assert err.message == "holds text but no vectors"
    assert err.path == str(path)
    assert err.option == ENCODE_OPTION == "encode_column"
    assert err.choices == ("body", "title")  # the longer text first; never the integer ids
    # the hint is a command that can be pasted as it is, even with spaces in the name
    command = err.hint.removeprefix("encode it: ")
    assert shlex.split(command) == ["embedding-explorer", "encode", str(path), "--column",
                                    "body", "--model", "minilm"]


def test_a_column_named_like_text_comes_first():
    from explorer.core.loaders.guesses import text_columns_ranked

    table = pa.table({"category": ["a much longer value than the other one"] * 3,
                      "text": ["short", "short", "short"], "zz": ["x", "yy", "z"]})
    assert text_columns_ranked(table) == ["text", "category", "zz"]


def test_numbers_without_text_keep_the_old_message(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id\n1\n2\n3\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        open_file(path)
    assert "no vector column found" in info.value.message and info.value.option is None


def test_a_table_with_vectors_and_text_still_opens(tmp_path):
    path = tmp_path / "ok.parquet"
    vectors = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    pq.write_table(pa.table({"body": [r["body"] for r in ROWS], "vec": list(vectors)}), path)
    es = open_file(path)
    assert es.count == 30 and es.text_column == "body"
