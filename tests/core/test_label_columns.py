"""The label column: guessed as a short, mostly unique name; chosen by the user; kept in the
manifest; and the provenance columns an encoding adds only when they say something."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.inputs.items import drop_uninformative
from explorer.core.label_columns import guess_label_column
from explorer.core.library import Library
from explorer.core.loaders import LoadOptions, open_file
from explorer.core.model_check import ModelCheck

N = 300


def descriptions(n=N):
    return [f"A library that does thing number {i} and explains it at some length" for i in
            range(n)]


@pytest.mark.parametrize("columns, expected", [
    ({"id": list(range(N)), "description": descriptions(), "name": [f"pkg-{i}" for i in range(N)]},
     "name"),
    ({"body": descriptions(), "title": [f"Headline {i}" for i in range(N)]}, "title"),
    # a classification `label` repeats: a category, not a name; the unique word wins
    ({"label": ["pos", "neg"] * (N // 2), "word": [f"w{i}" for i in range(N)]}, "word"),
    # a short name that repeats a lot (methods called get, close, ...) loses to a unique id
    ({"id": [f"mod{i % 7}.fn{i}" for i in range(N)], "name": [f"fn{i % 150}" for i in range(N)],
      "summary": descriptions()}, "id"),
    # no name-like column: the most distinct short text column
    ({"kind": ["a", "b", "c"] * (N // 3), "code": [f"X{i:04d}" for i in range(N)]}, "code"),
    # only long texts and numbers: nothing names the items
    ({"text": descriptions(), "score": np.arange(N, dtype=float)}, None),
    ({"row": np.arange(N)}, None),
])
def test_the_guess(columns, expected):
    assert guess_label_column(pa.table(columns)) == expected


def test_the_text_column_labels_only_when_nothing_else_can():
    table = pa.table({"id": [f"w{i}" for i in range(N)],
                      "title": [f"item number {i}" for i in range(N)]})
    assert guess_label_column(table, "id", text_column="title") == "id"
    assert guess_label_column(table.select(["title"]), text_column="title") == "title"


def test_an_integer_id_column_is_the_last_resort():
    table = pa.table({"doc_id": np.arange(N), "text": descriptions()})
    assert guess_label_column(table, id_column="doc_id") == "doc_id"
    assert guess_label_column(table) is None


def test_mostly_empty_or_blank_columns_do_not_label():
    names = [None] * (N - 10) + [f"n{i}" for i in range(10)]
    assert guess_label_column(pa.table({"name": names, "text": descriptions()})) is None


def table_file(tmp_path, **extra):
    rng = np.random.default_rng(0)
    path = tmp_path / "pkgs.parquet"
    pq.write_table(pa.table({"id": list(range(N)), "description": descriptions(),
                             "name": [f"pkg-{i}" for i in range(N)], **extra,
                             "embedding": list(rng.normal(size=(N, 8)).astype(np.float32))}),
                   path)
    return path


def test_a_set_is_labelled_by_its_name_with_the_description_beside_it(tmp_path):
    es = open_file(table_file(tmp_path))
    assert (es.label_column, es.text_column, es.id_column) == ("name", "description", "id")
    assert es.label(7) == "pkg-7" and es.text(7).startswith("A library that does thing number 7")
    es = open_file(table_file(tmp_path), LoadOptions(label_column="description"))
    assert es.label(7).startswith("A library") and es.text(7) is None  # not shown twice
    with pytest.raises(InputError) as err:
        open_file(table_file(tmp_path), LoadOptions(label_column="title"))
    assert "'title'" in str(err.value) and "description, name" in str(err.value)
    assert err.value.option == "label_column" and "name" in err.value.choices


def test_the_label_column_is_kept_in_the_manifest_and_can_be_changed(tmp_path):
    lib = Library()
    path = table_file(tmp_path)
    entry = lib.import_file(path)
    assert entry.label_column == "name"
    assert lib.open(entry.id).label(3) == "pkg-3"
    chosen = lib.import_file(path, ImportOptions(label_column="id"))
    assert chosen.id != entry.id and lib.open(chosen.id).label_column == "id"
    assert lib.set_label_column(entry.id, "description").label_column == "description"
    assert lib.open(entry.id).label(3).startswith("A library")
    with pytest.raises(InputError) as err:
        lib.set_label_column(entry.id, "nosuch")
    assert "'nosuch'" in str(err.value) and "embedding" not in err.value.choices
    lib.set_label_column(entry.id, None)
    assert lib.open(entry.id).label_column is None and lib.open(entry.id).label(3) == "3"
    assert lib.import_file(path).id == entry.id  # still the same import


def test_the_model_check_is_kept_in_the_manifest_and_read_strictly(tmp_path):
    lib = Library()
    entry = lib.import_file(table_file(tmp_path))
    assert entry.check is None and lib.open(entry.id).model_check is None
    lib.set_model(entry.id, "m (sha256 0123456789ab)", ModelCheck(True, 0.998, 64))
    es = lib.open(entry.id)
    assert es.model == "m (sha256 0123456789ab)"
    assert es.model_check == ModelCheck(True, 0.998, 64)
    manifest = json.loads((es.path / "manifest.json").read_text())
    manifest["model_check"]["verified"] = "yes"
    manifest["model_check"]["from_a_newer_version"] = 1
    (es.path / "manifest.json").write_text(json.dumps(manifest))
    entries, damaged = lib.scan()
    assert entries == [] and "model_check.verified" in damaged[0].reason
    manifest["model_check"]["verified"] = False
    (es.path / "manifest.json").write_text(json.dumps(manifest))
    assert lib.open(entry.id).model_check.verified is False  # unknown keys are ignored
    lib.set_model(entry.id, None, None)
    assert lib.open(entry.id).model is None and lib.open(entry.id).model_check is None


def test_provenance_columns_go_when_they_say_nothing():
    n = 5
    one_file = pa.table({"text": list("abcde"), "source": ["a.csv"] * n,
                         "row": pa.array(range(n), pa.int64()), "row_meta": list("vwxyz")})
    assert drop_uninformative(one_file).column_names == ["text", "row"]
    assert drop_uninformative(one_file).column("row").to_pylist() == list("vwxyz")
    skipped = pa.table({"text": list("abcd"), "source": ["a.csv"] * 4,
                        "row": pa.array([0, 1, 3, 4], pa.int64())})
    assert drop_uninformative(skipped).column_names == ["text", "row"]
    two_files = pa.table({"text": list("abcd"), "source": ["a.csv", "a.csv", "b.csv", "b.csv"],
                          "row": pa.array([0, 1, 0, 1], pa.int64())})
    assert drop_uninformative(two_files).column_names == ["text", "source", "row"]
    only = pa.table({"source": ["a.png"] * 3})
    assert drop_uninformative(only).column_names == ["source"]  # a row per item stays


def test_an_encoded_set_made_here_gets_a_label_column_too():
    table = pa.table({"text": descriptions(), "name": [f"pkg-{i}" for i in range(N)]})
    es = EmbeddingSet(np.ones((N, 4), np.float32), table, name="made", text_column="text")
    entry = Library().import_set(es)
    assert entry.label_column == "name"
