"""`attach-metadata`, `reimport` and what `neighbours` calls the items, from the command line:
real files in tmp_path, JSON like the other library commands, one-line errors (exit 2)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from in_process import cli_error, cli_json

from explorer.cli import run
from explorer.core.library import Library

N = 40


def vectors(n=N, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)


@pytest.fixture
def vecs(tmp_path, capsys):
    """A .npy imported as set 'vecs', and a CSV of its labels."""
    np.save(tmp_path / "vecs.npy", vectors())
    cli_json(capsys, "import", tmp_path / "vecs.npy", "--name", "vecs")
    meta = tmp_path / "labels.csv"
    meta.write_text("key,name,description\n" + "".join(
        f"k{i},word-{i},a sentence that describes word {i} at some length\n" for i in range(N)),
        encoding="utf-8")
    return tmp_path / "vecs.npy", meta


def test_attach_metadata_json_and_plain(vecs, capsys):
    _, meta = vecs
    got = cli_json(capsys, "attach-metadata", "vecs", meta, "--id-column", "key")
    assert got["name"] == "vecs" and got["columns"] == ["key", "name", "description"]
    assert (got["id_column"], got["text_column"], got["label_column"]) == (
        "key", "description", "name")
    assert got["attached_metadata"]["path"] == str(meta.resolve())
    assert got["model_check"] is None and got["reused"] is False
    assert run(["attach-metadata", "vecs", str(meta), "--label-column", "key"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{got['id']}: labels.csv attached; columns key, name, description",
                   "items are named by column 'key'"]
    assert Library().open("vecs").label(3) == "k3"


def test_attach_metadata_errors_are_one_line(vecs, tmp_path, capsys):
    _, meta = vecs
    short = tmp_path / "short.csv"
    short.write_text("name,n\n" + "".join(f"w{i},{i}\n" for i in range(N - 1)), encoding="utf-8")
    line = cli_error(capsys, "attach-metadata", "vecs", short)
    assert line == (f"error: {short}: has 39 rows but the set has 40 vectors; rows are joined by "
                    "order, so the counts must match (the set is "
                    f"{Library().entry('vecs').describe()})")
    assert "'nosuch'" in cli_error(capsys, "attach-metadata", "vecs", meta, "--label-column",
                                   "nosuch")
    assert "no library set 'other'" in cli_error(capsys, "attach-metadata", "other", meta)
    assert "no such file" in cli_error(capsys, "attach-metadata", "vecs", tmp_path / "gone.csv")
    assert Library().open("vecs").columns == ["row"]


def test_reimport_json_and_plain(vecs, capsys):
    path, meta = vecs
    cli_json(capsys, "attach-metadata", "vecs", meta)
    np.save(path, vectors(seed=1))
    os.utime(path, ns=(10**18, 10**18))
    got = cli_json(capsys, "reimport", "vecs")
    assert got["name"] == "vecs" and got["columns"] == ["key", "name", "description"]
    assert "re-imported from vecs.npy, changed since the last import" in got["notes"]
    np.testing.assert_array_equal(Library().open("vecs").vectors, vectors(seed=1))
    assert run(["reimport", "vecs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("re-imported 'vecs' (id vecs-") and out[0].endswith(
        ": 40 x 8, cosine")
    assert out[1:] == ["  re-imported from vecs.npy, unchanged since the last import"]
    # importing the unchanged file gives the set back, with its labels
    again = cli_json(capsys, "import", path)
    assert again["reused"] and again["label_column"] == "name"


def test_reimport_errors_are_one_line(vecs, tmp_path, capsys):
    path, _ = vecs
    os.remove(path)
    assert cli_error(capsys, "reimport", "vecs") == (
        f"error: {path}: the file set 'vecs' was imported from is gone (put it back, or import "
        "another file)")
    source = tmp_path / "texts.txt"
    source.write_text("the cat sat\n", encoding="utf-8")
    import pyarrow as pa

    from explorer.core.embedding_set import EmbeddingSet

    Library().import_set(EmbeddingSet(vectors(), pa.table({"t": ["x"] * N}), name="made",
                                      format="encoded"))
    assert "was made here, not imported from a file" in cli_error(capsys, "reimport", "made")


# --- neighbours: labels and texts -------------------------------------------------------

def test_neighbours_name_the_items_by_their_label(vecs, capsys):
    _, meta = vecs
    cli_json(capsys, "attach-metadata", "vecs", meta, "--id-column", "key")
    got = cli_json(capsys, "neighbours", "vecs", "--row", "0", "-k", "5")
    for item in got["neighbours"]:
        row = item["row"]
        assert set(item) == {"row", "id", "label", "text", "score"}
        assert (item["id"], item["label"]) == (f"k{row}", f"word-{row}")
        assert item["text"] == f"a sentence that describes word {row} at some length"
    assert run(["neighbours", "vecs", "--row", "0", "-k", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split("#")[1].split(None, 1)[1] for line in lines] == [
        f"word-{i['row']}  (id k{i['row']})" for i in got["neighbours"]]
    compared = cli_json(capsys, "neighbours", "vecs", "--row", "0", "-k", "3", "--metric", "all")
    assert all(set(i) == {"row", "id", "label", "text", "score", "norm"}
               for items in compared["lists"].values() for i in items)


def test_neighbours_show_no_id_that_is_the_label_and_cut_long_texts(tmp_path, capsys):
    from explorer.compute.neighbours import TEXT_CHARS

    np.save(tmp_path / "v.npy", vectors())
    meta = tmp_path / "m.jsonl"
    meta.write_text("".join(json.dumps({"name": f"w{i}", "body": f"{i} " + "long " * 100})
                            + "\n" for i in range(N)), encoding="utf-8")
    cli_json(capsys, "import", tmp_path / "v.npy", "--name", "v")
    cli_json(capsys, "attach-metadata", "v", meta)
    got = cli_json(capsys, "neighbours", "v", "--row", "1", "-k", "3")
    for item in got["neighbours"]:
        assert item["id"] == item["label"] == f"w{item['row']}"  # `name` is the id and label
        assert len(item["text"]) == TEXT_CHARS and item["text"].endswith("…")
    assert run(["neighbours", "v", "--row", "1", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert all(line.endswith(f"w{i['row']}") for line, i in zip(lines, got["neighbours"]))


def test_vectors_alone_are_named_by_their_row(tmp_path, capsys):
    np.save(tmp_path / "v.npy", vectors())
    got = cli_json(capsys, "neighbours", tmp_path / "v.npy", "--row", "2", "-k", "3")
    assert all(set(i) == {"row", "id", "label", "score"} and i["label"] == f"#{i['row']}"
               for i in got["neighbours"])
    assert run(["neighbours", str(tmp_path / "v.npy"), "--row", "2", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert all("(id" not in line for line in lines)


def test_no_traceback_in_a_real_process(vecs, tmp_path):
    """As a user runs it: the mismatch is one line on stderr, exit status 2."""
    short = tmp_path / "short.tsv"
    short.write_text("w0\nw1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "explorer", "attach-metadata", "vecs",
                           str(short)], capture_output=True, text=True, timeout=120,
                          env={**os.environ})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: {short}: has 2 rows but the set has 40 vectors")
    assert "Traceback" not in done.stderr
