"""Re-importing a set from its file: read again the way it was read, put in its place under its
name, with what the user added since (attached metadata, label column, concept directions, a
model that still verifies) kept when it still fits, and the notes saying what changed."""

import csv
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from onnx_models import bert_like, write_folder

from explorer.compute.reimport import reimport
from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.library import Library
from explorer.core.loaders import LoadOptions
from explorer.core.metadata_attach import attach_metadata

N = 60


def vectors(n=N, dim=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
    return path


def labels(n=N, prefix="item"):
    return [{"name": f"{prefix}-{i}", "note": f"note {i}"} for i in range(n)]


def save_npy(path, x):
    """Write `x` and move the file's mtime on, so a rewrite within one clock tick still shows."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    np.save(path, x)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def gui_finds(library, path):
    return library.find_reusable(path, ImportOptions.from_load(LoadOptions(),
                                                               drop_nonfinite=True))


def test_an_unchanged_file_is_read_again_in_place(tmp_path):
    save_npy(tmp_path / "v.npy", vectors())
    library = Library()
    old = library.import_file(tmp_path / "v.npy", ImportOptions(metric="dot"), name="mine")
    new = reimport(library, "mine")
    assert new.name == "mine" and new.id != old.id and new.metric == "dot"
    assert [e.id for e in library.entries()] == [new.id] and not os.path.exists(old.path)
    assert new.notes == ["re-imported from v.npy, unchanged since the last import"]
    assert library.open("mine").notes == new.notes
    assert new.import_options == old.import_options
    assert library.find_reusable(tmp_path / "v.npy", ImportOptions(metric="dot")).id == new.id


def test_a_changed_file_says_what_changed(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"word": [f"w{i}" for i in range(N)],
                             "vec": list(vectors())}), path)
    library = Library()
    library.import_file(path, name="words")
    library.set_label_column("words", "word")
    x = vectors(N + 5, seed=1)
    x[2] = np.nan
    pq.write_table(pa.table({"word": [f"w{i}" for i in range(N + 5)],
                             "pos": ["noun"] * (N + 5), "vec": list(x)}), path)
    new = reimport(library, "words")
    assert new.count == N + 4 and new.label_column == "word"
    assert new.notes == ["re-imported from t.parquet, changed since the last import",
                         "1 row holding NaN or Inf was dropped",
                         f"{N + 4} x 8 vectors, was {N} x 8",
                         "new columns: pos, source_row"]
    assert library.open("words").label(2) == "w3"  # the NaN row is gone, labels follow


def test_a_label_column_the_file_lost_is_said(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"word": [f"w{i}" for i in range(N)], "vec": list(vectors())}), path)
    library = Library()
    library.import_file(path, ImportOptions(label_column="word"), name="words")
    pq.write_table(pa.table({"term": [f"t{i}" for i in range(N)], "vec": list(vectors())}), path)
    new = reimport(library, "words")
    assert new.label_column == "term"
    assert "the label column 'word' is gone; items are now named by 'term'" in new.notes
    assert ImportOptions.of_entry(new).label_column is None


def test_attached_metadata_comes_along(tmp_path):
    save_npy(tmp_path / "v.npy", vectors())
    library = Library()
    entry = library.import_file(tmp_path / "v.npy", name="vecs")
    meta = write_csv(tmp_path / "labels.csv", labels())
    attach_metadata(library, entry.id, meta)
    library.set_label_column("vecs", "note")
    save_npy(tmp_path / "v.npy", vectors(seed=3))
    new = reimport(library, "vecs")
    assert new.columns == ["name", "note"] and new.label_column == "note"
    assert new.attached_metadata["path"] == str(meta.resolve())
    es = library.open("vecs")
    assert es.label(4) == "note 4"
    np.testing.assert_array_equal(es.vectors, vectors(seed=3))
    assert gui_finds(library, tmp_path / "v.npy").id == new.id


def test_attached_metadata_that_no_longer_fits_stops_it_before_anything_changes(tmp_path):
    save_npy(tmp_path / "v.npy", vectors())
    library = Library()
    entry = library.import_file(tmp_path / "v.npy", name="vecs")
    meta = write_csv(tmp_path / "labels.csv", labels())
    attach_metadata(library, entry.id, meta)
    save_npy(tmp_path / "v.npy", vectors(N + 1))
    with pytest.raises(InputError) as info:
        reimport(library, "vecs")
    assert info.value.path == str(meta.resolve())
    assert "has 60 rows but the file now gives 61 vectors" in info.value.message
    os.remove(meta)
    with pytest.raises(InputError, match="cannot be read again: no such file"):
        reimport(library, "vecs")
    assert [e.id for e in library.entries()] == [entry.id]
    assert library.open("vecs").label(1) == "item-1"


def test_rows_dropped_again_keep_their_attached_labels(tmp_path):
    x = vectors()
    x[[1, 7]] = np.nan
    save_npy(tmp_path / "v.npy", x)
    library = Library()
    entry = library.import_file(tmp_path / "v.npy", ImportOptions(drop_nonfinite=True),
                                name="vecs")
    attach_metadata(library, entry.id, write_csv(tmp_path / "labels.csv", labels()))
    new = reimport(library, "vecs")
    assert new.count == N - 2
    assert [library.open("vecs").label(i) for i in (0, 1, 6)] == ["item-0", "item-2", "item-8"]


def test_a_set_made_here_or_whose_file_is_gone(tmp_path):
    from explorer.core.embedding_set import EmbeddingSet

    library = Library()
    made = library.import_set(EmbeddingSet(vectors(), pa.table({"t": ["a"] * N}), name="made",
                                           format="encoded"))
    with pytest.raises(InputError, match="was made here, not imported from a file"):
        reimport(library, made.id)
    save_npy(tmp_path / "v.npy", vectors())
    entry = library.import_file(tmp_path / "v.npy")
    os.remove(tmp_path / "v.npy")
    with pytest.raises(InputError) as info:
        reimport(library, entry.id)
    assert info.value.path == str(tmp_path / "v.npy") and "is gone" in info.value.message
    assert {e.id for e in library.entries()} == {made.id, entry.id}


def test_concept_directions_are_kept_while_the_dimension_is(tmp_path):
    from explorer.compute import concepts as cc

    save_npy(tmp_path / "v.npy", vectors())
    library = Library()
    library.import_file(tmp_path / "v.npy", name="vecs")
    es = library.open("vecs")
    cc.DirectionStore(es).save(cc.from_rows(es, np.arange(10), np.arange(10, 20), name="d1"))
    new = reimport(library, "vecs")
    assert "1 saved concept direction kept" in new.notes
    assert cc.DirectionStore(library.open("vecs")).names() == ["d1"]
    save_npy(tmp_path / "v.npy", vectors(dim=6))
    new = reimport(library, "vecs")
    assert ("the saved concept directions were not kept: the vectors now have 6 dimensions, "
            "not 8") in new.notes
    assert cc.DirectionStore(library.open("vecs")).names() == []


# --- the model ------------------------------------------------------------------------

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "runs", "fast", "slow", "red", "blue"]


@pytest.fixture
def tiny_model():
    from explorer.compute.encoding.model_folder import models_dir
    from explorer.compute.encoding.text_encoder import TextEncoder

    write_folder(models_dir() / "tiny", bert_like(dim=16))
    return TextEncoder(models_dir() / "tiny")


def texts(n=N):
    rng = np.random.default_rng(4)
    return [" ".join(rng.choice(WORDS, rng.integers(2, 7))) for _ in range(n)]


def test_the_model_is_kept_only_while_it_verifies(tmp_path, tiny_model):
    from explorer.compute.encoding.model_check import import_with_model

    path = tmp_path / "t.parquet"
    t = texts()
    pq.write_table(pa.table({"text": t, "vec": list(tiny_model.encode(t, kind="document"))}),
                   path)
    library = Library()
    entry = import_with_model(library, path, ImportOptions(), "tiny", name="tiny set")
    assert entry.check.verified and entry.model.startswith("tiny (sha256 ")
    new = reimport(library, "tiny set")
    assert new.model == entry.model and new.check.verified
    assert ImportOptions.of_entry(new).model == entry.model
    assert not any("model" in n for n in new.notes)
    # the same texts, other vectors: the model no longer made them
    pq.write_table(pa.table({"text": t, "vec": list(vectors(dim=16))}), path)
    new = reimport(library, "tiny set")
    assert new.model is None and new.model_check is None
    assert ImportOptions.of_entry(new).model is None
    assert any(n.startswith(f"model {entry.model} not kept: its encoding of") for n in new.notes)
    # another dimension: it cannot have made them
    pq.write_table(pa.table({"text": t, "vec": list(vectors(dim=8))}), path)
    library.set_model("tiny set", entry.model, entry.check)
    new = reimport(library, "tiny set")
    assert new.model is None and any("gives 16 dimensions" in n for n in new.notes)


def test_json_of_the_returned_entry(tmp_path):
    save_npy(tmp_path / "v.npy", vectors())
    library = Library()
    library.import_file(tmp_path / "v.npy", name="vecs")
    assert json.dumps(reimport(library, "vecs").to_dict())


def test_a_model_no_longer_installed_is_kept_only_for_the_same_vectors(tmp_path, tiny_model):
    import shutil

    from explorer.compute.encoding.model_check import import_with_model
    from explorer.compute.encoding.model_folder import models_dir

    path = tmp_path / "t.parquet"
    t = texts()
    pq.write_table(pa.table({"text": t, "vec": list(tiny_model.encode(t, kind="document"))}),
                   path)
    library = Library()
    entry = import_with_model(library, path, ImportOptions(), "tiny", name="tiny set")
    shutil.rmtree(models_dir() / "tiny")
    new = reimport(library, "tiny set")
    assert new.model == entry.model and new.model_check == entry.model_check
    assert (f"model {entry.model} kept: it is not installed here, but the vectors are those it "
            "was recorded for") in new.notes
    pq.write_table(pa.table({"text": t[::-1], "vec": list(vectors(dim=16))}), path)
    new = reimport(library, "tiny set")
    assert new.model is None
    assert any("not installed here, so it could not be checked" in n for n in new.notes)
