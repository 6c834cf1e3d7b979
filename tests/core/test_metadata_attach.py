"""Attaching a metadata file to a stored set: joined by row order, atomically, the guesses an
import makes, rows dropped at import matched through what the import recorded, and the set
still found when its unchanged vectors file is opened again."""

import csv
import json
import os
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core import metadata_attach
from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import METADATA, Library
from explorer.core.loaders import LoadOptions
from explorer.core.metadata_attach import attach_metadata

N = 80


def items(n=N, prefix="item"):
    return [{"id": i, "name": f"{prefix}-{i}", "description": f"The longer description of "
             f"{prefix} {i}, which says what it is"} for i in range(n)]


def write(path, data):
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(data), path)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    else:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            out = csv.DictWriter(fh, list(data[0]), lineterminator="\n",
                                 delimiter="\t" if path.suffix == ".tsv" else ",")
            out.writeheader()
            out.writerows(data)
    return path


def vectors(n=N, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)


@pytest.fixture
def npy_set(tmp_path):
    """(library, entry) of vectors stored alone, from a real .npy file."""
    np.save(tmp_path / "vecs.npy", vectors())
    library = Library()
    return library, library.import_file(tmp_path / "vecs.npy")


def manifest(entry):
    with open(os.path.join(entry.path, "manifest.json"), encoding="utf-8") as fh:
        return json.load(fh)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl"])
def test_vectors_alone_get_the_file_s_columns(tmp_path, npy_set, suffix):
    library, entry = npy_set
    path = write(tmp_path / f"meta{suffix}", items())
    done = attach_metadata(library, entry.id, path)
    assert done.id == entry.id and done.columns == ["id", "name", "description"]
    assert (done.id_column, done.text_column, done.label_column) == ("id", "description", "name")
    assert done.source == [str(tmp_path / "vecs.npy"), str(path.resolve())]
    assert done.attached_metadata["path"] == str(path.resolve())
    assert done.notes[-1] == f"metadata attached from meta{suffix}: 3 columns, rows joined by order"
    es = library.open(entry.id)
    assert es.columns == ["id", "name", "description"]  # the positional `row` is gone
    assert es.label(7) == "item-7" and es.text(7).startswith("The longer description of item 7")
    stored = manifest(done)
    assert stored["columns"] == es.columns and stored["label_column"] == "name"
    assert stored["import_options"] == manifest(entry)["import_options"]
    assert stored["fingerprint"] == manifest(entry)["fingerprint"]


def test_the_unchanged_vectors_file_still_finds_the_set(tmp_path, npy_set):
    library, entry = npy_set
    path = write(tmp_path / "meta.csv", items())
    attach_metadata(library, entry.id, path)
    gui = ImportOptions.from_load(LoadOptions(), drop_nonfinite=True)  # what opening it asks
    found = library.find_reusable(tmp_path / "vecs.npy", gui)
    assert found is not None and found.id == entry.id
    again = library.import_file(tmp_path / "vecs.npy")
    assert again.reused and again.id == entry.id and library.open(again.id).label(1) == "item-1"
    # editing the attached file later does not make the vectors a new file
    write(path, items(prefix="thing"))
    os.utime(path, ns=(1, 1))
    assert library.find_reusable(tmp_path / "vecs.npy", gui).id == entry.id
    # a changed vectors file is another import, as before
    np.save(tmp_path / "vecs.npy", vectors(seed=1))
    assert library.find_reusable(tmp_path / "vecs.npy", gui) is None
    assert len(library.entries()) == 1


def test_chosen_id_and_label_columns(tmp_path, npy_set):
    library, entry = npy_set
    path = write(tmp_path / "meta.csv", items())
    done = attach_metadata(library, entry.id, path, id_column="name",
                           label_column="description")
    assert (done.id_column, done.label_column) == ("name", "description")
    assert library.open(entry.id).label(2).startswith("The longer description of item 2")
    for option, kwargs in (("id_column", {"id_column": "nosuch"}),
                           ("label_column", {"label_column": "nosuch"})):
        with pytest.raises(InputError) as info:
            attach_metadata(library, entry.id, path, **kwargs)
        assert info.value.option == option and "'nosuch'" in info.value.message
        assert set(info.value.choices) >= {"id", "name", "description"}


def test_a_set_with_metadata_keeps_its_columns_and_clashing_names_get_meta(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"name": [f"own-{i}" for i in range(N)], "vec": list(vectors())}),
                   path)
    library = Library()
    entry = library.import_file(path)
    assert entry.label_column == "name"
    meta = write(tmp_path / "extra.csv", [{"name": f"x{i}", "topic": f"t{i % 3}"}
                                          for i in range(N)])
    done = attach_metadata(library, entry.id, meta)
    assert done.columns == ["name", "name_meta", "topic"]
    assert done.label_column == "name"  # the set's own label stays
    es = library.open(entry.id)
    assert es.label(4) == "own-4" and es.metadata.column("name_meta")[4].as_py() == "x4"
    assert done.attached_metadata["columns"] == ["name_meta", "topic"]


def test_attaching_again_replaces_what_the_last_attach_added(tmp_path, npy_set):
    library, entry = npy_set
    attach_metadata(library, entry.id, write(tmp_path / "wrong.csv",
                                             [{"colour": f"c{i}"} for i in range(N)]))
    done = attach_metadata(library, entry.id, write(tmp_path / "right.csv", items()))
    assert done.columns == ["id", "name", "description"]
    assert done.source[-1] == str((tmp_path / "right.csv").resolve()) and len(done.source) == 2
    assert [n for n in done.notes if "attached" in n] == [
        "metadata attached from right.csv: 3 columns, rows joined by order"]


def test_a_row_count_mismatch_names_both_counts_and_the_file(tmp_path, npy_set):
    library, entry = npy_set
    before = Path(entry.path, METADATA).read_bytes()
    path = write(tmp_path / "short.csv", items(N - 3))
    with pytest.raises(InputError) as info:
        attach_metadata(library, entry.id, path)
    err = info.value
    assert err.path == str(path)
    assert err.message == ("has 77 rows but the set has 80 vectors; rows are joined by order, "
                           "so the counts must match")
    assert "vecs" in err.hint
    assert Path(entry.path, METADATA).read_bytes() == before
    assert library.entry(entry.id).attached_metadata is None


def test_rows_dropped_at_import_are_matched_through_the_kept_rows(tmp_path):
    x = vectors()
    x[[5, 40]] = np.nan
    np.save(tmp_path / "nan.npy", x)
    library = Library()
    entry = library.import_file(tmp_path / "nan.npy", ImportOptions(drop_nonfinite=True))
    assert entry.count == N - 2 and entry.nan_rows_dropped == 2
    # the imported file's rows: matched through source_row, so no label shifts
    done = attach_metadata(library, entry.id, write(tmp_path / "all.csv", items()))
    assert done.columns == ["id", "name", "description", "source_row"]
    assert "matched through the file rows kept at import" in done.notes[-1]
    es = library.open(entry.id)
    assert [es.label(i) for i in (4, 5, 38, 39, 77)] == [
        "item-4", "item-6", "item-39", "item-41", "item-79"]
    # the stored rows' count: joined as it is
    done = attach_metadata(library, entry.id, write(tmp_path / "kept.csv", items(N - 2, "k")))
    assert library.open(entry.id).label(5) == "k-5"
    # neither: both counts in the message
    with pytest.raises(InputError, match="has 70 rows but the set has 78 vectors.*the imported "
                                         "file had 80, of which 2 were dropped"):
        attach_metadata(library, entry.id, write(tmp_path / "other.csv", items(70)))


def test_dropped_rows_without_a_record_of_them_are_refused(tmp_path):
    x = vectors()
    x[3] = np.nan
    path = tmp_path / "own.parquet"
    # the file's own `source_row` is no record of the import's (it is not increasing), so the
    # import does not add one, and the set cannot say which file rows it kept
    pq.write_table(pa.table({"source_row": np.arange(N)[::-1].copy(), "vec": list(x)}), path)
    library = Library()
    entry = library.import_file(path, ImportOptions(drop_nonfinite=True))
    with pytest.raises(InputError) as info:
        attach_metadata(library, entry.id, write(tmp_path / "all.csv", items()))
    assert "has 80 rows, as the imported file had, but 1 of them was dropped" in \
        info.value.message and "79 rows" in info.value.hint


def test_a_failed_write_leaves_the_old_metadata(tmp_path, npy_set, monkeypatch):
    library, entry = npy_set
    path = write(tmp_path / "meta.csv", items())
    folder = entry.path
    old = Path(folder, METADATA).read_bytes()
    old_manifest = manifest(entry)

    def half_written(target, table):
        with open(target, "wb") as fh:
            fh.write(b"PAR1 half a table")
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(metadata_attach, "write_metadata", half_written)
    with pytest.raises(InputError, match="full"):
        attach_metadata(library, entry.id, path)
    assert Path(folder, METADATA).read_bytes() == old
    assert sorted(os.listdir(folder)) == ["artifacts", "manifest.json", METADATA, "vectors.npy"]
    monkeypatch.undo()

    # the table is in place when the manifest cannot be written: the old one is put back
    def no_manifest(*args, **kwargs):
        raise OSError(28, "No space left on device", os.path.join(folder, "manifest.json"))

    monkeypatch.setattr(metadata_attach, "write_fields", no_manifest)
    with pytest.raises(InputError, match="full"):
        attach_metadata(library, entry.id, path)
    assert Path(folder, METADATA).read_bytes() == old
    assert manifest(entry) == old_manifest
    assert sorted(os.listdir(folder)) == ["artifacts", "manifest.json", METADATA, "vectors.npy"]
    assert library.open(entry.id).columns == ["row"]


def test_a_cancel_changes_nothing(tmp_path, npy_set):
    library, entry = npy_set
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        attach_metadata(library, entry.id, write(tmp_path / "meta.csv", items()), state=state)
    assert library.open(entry.id).columns == ["row"]
    assert sorted(os.listdir(entry.path)) == ["artifacts", "manifest.json", METADATA,
                                              "vectors.npy"]


def test_a_reader_sees_the_old_table_or_the_new_one(tmp_path, npy_set):
    library, entry = npy_set
    files = [write(tmp_path / "a.csv", items(prefix="a")), write(tmp_path / "b.parquet",
                                                                 items(prefix="b"))]
    seen, errors, stop = set(), [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                es = Library().open(entry.id)
                assert es.metadata.num_rows == N
                seen.add(es.label(N - 1))
            except Exception as exc:  # noqa: BLE001 - any failure is the test's failure
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(24):
            attach_metadata(library, entry.id, files[i % 2])
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert seen <= {"#79", "a-79", "b-79"} and len(seen) >= 2


@pytest.mark.parametrize("name", ["it's \"quoted\"; rm -rf ~.csv", "naïve 日本語 labels.tsv",
                                  "-starts-with-a-dash.jsonl", "line\nbreak.parquet",
                                  "$(touch pwned).csv"])
def test_hostile_file_names(tmp_path, npy_set, name):
    library, entry = npy_set
    path = write(tmp_path / name, items())
    done = attach_metadata(library, entry.id, path)
    assert done.source[-1] == str(path.resolve())
    assert library.open(entry.id).label(3) == "item-3"
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(InputError) as info:
        attach_metadata(library, entry.id, write(tmp_path / ("short " + name), items(5)))
    assert info.value.path == str(tmp_path / ("short " + name))


def test_a_hundred_thousand_rows(tmp_path):
    n = 100_000
    np.save(tmp_path / "big.npy", np.random.default_rng(2).normal(size=(n, 8)).astype(np.float32))
    library = Library()
    entry = library.import_file(tmp_path / "big.npy")
    ids = np.arange(n)
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": ids, "title": pa.compute.cast(pa.array(ids), pa.string())}),
                   path)
    done = attach_metadata(library, entry.id, path)
    assert done.count == n and done.label_column == "title"
    es = library.open(entry.id)
    assert es.label(n - 1) == str(n - 1) and es.metadata.num_rows == n
    assert done.duplicate_ids == 0


def test_duplicate_ids_are_counted_again(tmp_path, npy_set):
    library, entry = npy_set
    data = items()
    for r in data[:10]:
        r["id"] = 0
    done = attach_metadata(library, entry.id, write(tmp_path / "dup.csv", data))
    assert done.duplicate_ids == 1


def test_unknown_set_and_missing_file(tmp_path, npy_set):
    library, entry = npy_set
    with pytest.raises(InputError, match="no library set 'nosuch'"):
        attach_metadata(library, "nosuch", write(tmp_path / "m.csv", items()))
    with pytest.raises(InputError, match="no such file"):
        attach_metadata(library, entry.id, tmp_path / "gone.csv")


def test_a_manifest_naming_columns_the_table_lacks_still_opens(tmp_path, npy_set, monkeypatch):
    """Where the old table cannot be kept aside (no hard links), a manifest that cannot be
    written leaves the new table under the old manifest: the set opens, naming nothing gone."""
    library, entry = npy_set
    attach_metadata(library, entry.id, write(tmp_path / "meta.csv", items()))
    monkeypatch.setattr(metadata_attach, "keep_old", lambda target, backup: False)

    def no_manifest(*args, **kwargs):
        raise OSError(28, "No space left on device", os.path.join(entry.path, "manifest.json"))

    monkeypatch.setattr(metadata_attach, "write_fields", no_manifest)
    with pytest.raises(InputError):
        attach_metadata(library, entry.id, write(tmp_path / "colours.csv",
                                                 [{"colour": f"c{i}"} for i in range(N)]))
    assert library.entry(entry.id).label_column == "name"
    es = library.open(entry.id)
    assert es.columns == ["colour"] and (es.id_column, es.text_column, es.label_column) == (
        None, None, None)
    assert es.label(3) == "#3"


def test_gc_removes_what_a_killed_attach_left_once_a_day_old(tmp_path, npy_set):
    from explorer.core.storage import collect

    library, entry = npy_set
    old, new = (os.path.join(entry.path, f".{METADATA}.{t}") for t in ("aaaa.tmp", "bbbb.old"))
    for path in (old, new):
        with open(path, "wb") as fh:
            fh.write(b"PAR1 half")
    os.utime(old, (1, 1))
    report = collect(library)
    assert [r.path for r in report.removed if r.what == "attach leftover"] == [old]
    assert [k.path for k in report.kept if k.what == "attach leftover"] == [new]
    assert not os.path.exists(old) and os.path.exists(new)
    assert library.open(entry.id).columns == ["row"]


def test_the_preview_for_a_set_knows_the_rows_its_import_dropped(tmp_path):
    from explorer.core.metadata_attach import preview_attach
    from explorer.core.metadata_files import preview_metadata

    x = vectors()
    x[[5, 40]] = np.nan
    np.save(tmp_path / "nan.npy", x)
    library = Library()
    entry = library.import_file(tmp_path / "nan.npy", ImportOptions(drop_nonfinite=True))
    assert preview_attach(library, entry.id, write(tmp_path / "all.csv", items())).problem is None
    assert preview_attach(library, entry.id, write(tmp_path / "kept.csv",
                                                   items(N - 2))).problem is None
    assert preview_attach(library, entry.id, write(tmp_path / "other.csv", items(9))).problem == (
        "has 9 rows but the set has 78 vectors; rows are joined by order, so the counts must "
        "match (the imported file had 80, of which 2 were dropped)")
    # what the plain preview says of the imported file's count, knowing nothing of the set
    assert "has 80 rows but the set has 78 vectors" in \
        preview_metadata(tmp_path / "all.csv", 78).problem
    path = tmp_path / "own.parquet"
    pq.write_table(pa.table({"source_row": np.arange(N)[::-1].copy(), "vec": list(x)}), path)
    unrecorded = library.import_file(path, ImportOptions(drop_nonfinite=True))
    assert preview_attach(library, unrecorded.id, tmp_path / "all.csv").problem == (
        "has 80 rows, as the imported file had, but 2 of them were dropped at import and the "
        "set does not record which")


def test_a_hand_edited_record_of_the_last_attach_is_not_believed(tmp_path, npy_set):
    from explorer.core.library import write_fields

    library, entry = npy_set
    attach_metadata(library, entry.id, write(tmp_path / "meta.csv", items()))
    write_fields(Path(entry.path), attached_metadata={"path": 3, "columns": 5, "note": ["x"]})
    done = attach_metadata(library, entry.id, write(tmp_path / "more.csv",
                                                    [{"topic": f"t{i}"} for i in range(N)]))
    assert done.columns == ["id", "name", "description", "topic"]
