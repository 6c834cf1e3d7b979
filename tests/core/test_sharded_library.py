"""Sharded sets in the library: registered in place, checked on open, never the library's to
delete; metadata queried in the shards through a connection that reaches nothing else."""

from __future__ import annotations

import json
import os

import duckdb
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from explorer.core import manifest
from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.library import VECTORS, Library
from explorer.core.manifest import MANIFEST, LibraryEntry
from explorer.core.metadata import MetadataQuery, query_for
from explorer.core.shard_import import FIT_ENV, import_shards
from explorer.core.sharded import ShardedVectors
from explorer.core.storage import collect, usage

from shard_writer import clustered, write_shards

N, D = 3000, 16


@pytest.fixture
def folder(tmp_path):
    x = clustered(N, D)
    write_shards(tmp_path / "shards", x, 4, batch_rows=256)  # row numbers across row groups
    return tmp_path / "shards", x


def sharded(folder, **kw):
    return import_shards(Library(), [folder], layout="sharded", **kw)


def test_a_forced_sharded_set_copies_nothing_and_reads_the_shards(folder):
    path, x = folder
    entry = sharded(path)
    assert entry.layout == "sharded" and entry.schema_version == 2 and entry.count == N
    assert [s["rows"] for s in entry.shards] == [pq.read_metadata(p).num_rows
                                                for p in sorted(path.iterdir())]
    stored = sorted(p.name for p in (Library().sets_dir / entry.id).iterdir())
    assert VECTORS not in stored and "metadata.parquet" not in stored
    es = Library().open(entry.id)
    assert isinstance(es.vectors, ShardedVectors) and np.array_equal(es.vectors[:], x)
    assert es.metadata.column_names == ["item", "grp", "size"]
    assert json.loads((Library().sets_dir / entry.id / MANIFEST).read_text())["layout"] \
        == "sharded"
    again = sharded(path)
    assert again.reused and again.id == entry.id


def test_the_fit_check_picks_the_layout(folder, monkeypatch):
    path, x = folder
    monkeypatch.setenv(FIT_ENV, str(N * D * 4))
    single = import_shards(Library(), [path])
    assert single.layout == "single" and single.schema_version == 1
    assert np.array_equal(np.asarray(Library().open(single.id).vectors), x)
    monkeypatch.setenv(FIT_ENV, str(N * D * 4 - 1))
    assert import_shards(Library(), [path]).reused  # the stored copy, whatever fits now
    assert import_shards(Library(), [path], new=True).layout == "sharded"


def test_metadata_filter_rows_equal_pyarrows(folder):
    path, _ = folder
    es = Library().open(sharded(path).id)
    table = pq.read_table(path, columns=["grp", "size"])  # pyarrow's own reading of the folder
    expected = np.flatnonzero(pc.and_(pc.equal(table.column("grp"), "b"),
                                      pc.greater(table.column("size"), 700)).to_numpy(
        zero_copy_only=False))
    query = query_for(es)
    assert isinstance(query.source, list)
    assert np.array_equal(query.filter("grp = 'b' and size > 700"), expected)
    assert query.columns() == ["item", "grp", "size"]
    assert np.array_equal(query.search("item 2999"), [2999])
    with pytest.raises(InputError, match="vector"):
        query.filter("vector IS NOT NULL")  # the vectors are no metadata column


def test_the_shard_connection_still_reaches_no_other_file(folder, tmp_path):
    path, _ = folder
    es = Library().open(sharded(path).id)
    other = tmp_path / "other.parquet"
    pq.write_table(pq.read_table(sorted(path.iterdir())[0]), other)
    with query_for(es).connect() as con:
        assert con.execute("SELECT count(*) FROM items").fetchone()[0] == N
        for sql in (f"SELECT * FROM read_parquet('{other}')",
                    f"SELECT * FROM read_parquet('{path}/*.parquet')",
                    "SELECT * FROM read_csv('/etc/passwd')",
                    "SET enable_external_access = true"):
            with pytest.raises(duckdb.Error):
                con.execute(sql).fetchall()


def test_arrow_shards_are_queried_in_place_too(tmp_path):
    x = clustered(900, 8)
    paths = write_shards(tmp_path / "a", x, 3, "arrow", batch_rows=200)
    es = Library().open(import_shards(Library(), [tmp_path / "a"], layout="sharded").id)
    rows = MetadataQuery(paths, exclude="vector").filter("grp = 'a'")
    grp = es.metadata.column("grp").to_numpy(zero_copy_only=False)
    assert np.array_equal(rows, np.flatnonzero(grp == "a"))
    assert np.array_equal(es.vectors[:], x)


@pytest.mark.parametrize("change", ["touch", "rewrite", "delete", "garble"])
def test_a_changed_or_missing_shard_is_named(folder, change):
    path, _ = folder
    entry = sharded(path)
    shard = sorted(path.iterdir())[2]
    if change == "touch":
        os.utime(shard, ns=(1, 1))
    elif change == "rewrite":
        pq.write_table(pq.read_table(shard).slice(0, 10), shard)
    elif change == "delete":
        shard.unlink()
    else:
        data = bytearray(shard.read_bytes())
        data[-40:-8] = b"\0" * 32
        shard.write_bytes(bytes(data))
        os.utime(shard, ns=(entry.shards[2]["mtime_ns"],) * 2)  # the same size and time
    with pytest.raises(InputError, match=f"damaged: the shard {shard}.*"
                       + ("missing" if change == "delete" else "changed")):
        Library().open(entry.id)
    assert [d.id for d in Library().scan(read_files=True)[1]] == [entry.id]


def test_an_older_version_refuses_a_sharded_manifest_by_name(folder, monkeypatch):
    path, _ = folder
    entry = sharded(path)
    monkeypatch.setattr(manifest, "SCHEMA_VERSION", 1)  # what the version before reads
    with pytest.raises(InputError, match="written by a newer version"):
        Library().open(entry.id)


def test_a_sharded_manifest_must_list_its_shards(folder):
    path, _ = folder
    entry = sharded(path)
    data = json.loads((Library().sets_dir / entry.id / MANIFEST).read_text())
    for edit, match in (({"schema_version": 1}, "under schema 1"),
                        ({"shards": []}, "without its shards"),
                        ({"shards": [{"path": 3}]}, "has no 'kind'"),
                        ({"count": N + 1}, "shards hold 3,000 rows but the set 3,001"),
                        ({"layout": "tiled"}, "unknown layout")):
        with pytest.raises(ValueError, match=match):
            LibraryEntry.from_manifest({**data, **edit}, path)


def test_nan_rows_are_named_with_their_shard_and_cannot_be_dropped(tmp_path):
    x = clustered(600, 8)
    x[450, 3] = np.nan
    paths = write_shards(tmp_path / "s", x, 3)
    with pytest.raises(InputError, match="1 rows hold NaN.*dimension 3") as err:
        import_shards(Library(), [tmp_path / "s"], layout="sharded")
    where = int(450 - pq.read_metadata(paths[0]).num_rows - pq.read_metadata(paths[1]).num_rows)
    assert err.value.path == str(paths[2]) and err.value.row == where
    with pytest.raises(InputError, match="no row can be dropped"):
        import_shards(Library(), [tmp_path / "s"], ImportOptions(drop_nonfinite=True),
                      layout="sharded")
    single = import_shards(Library(), [tmp_path / "s"], ImportOptions(drop_nonfinite=True),
                           layout="single")
    assert single.count == 599 and single.layout == "single"


def test_remove_gc_and_du_leave_the_users_shards_alone(folder):
    path, _ = folder
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    entry = sharded(path)
    lib = Library()
    report = usage(lib)
    (set_usage,) = report.sets
    assert set_usage.vectors == 0 and "not counted" in set_usage.note
    assert report.total < sum(len(b) for b in before.values())  # only the library's files
    assert not collect(lib).removed
    lib.remove(entry.id)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert not lib.entries()
