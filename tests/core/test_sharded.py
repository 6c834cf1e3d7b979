"""ShardedVectors and the shards' footer checks: rows read in place, hostile shards named."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from explorer.core.errors import InputError
from explorer.core.loaders.shard_files import read_metadata, scan_shards, shard_paths
from explorer.core.sharded import ShardedVectors

from shard_writer import clustered, shard_table, write_shards

N, D = 2000, 16


@pytest.fixture(params=["parquet", "arrow"])
def shards(request, tmp_path):
    x = clustered(N, D)
    # Arrow in several record batches: pieces inside one shard
    paths = write_shards(tmp_path / "shards", x, 4, request.param, batch_rows=300)
    return x, paths


def test_rows_read_from_the_shards_equal_the_vectors(shards):
    x, paths = shards
    v = scan_shards(shard_paths([paths[0].parent])).vectors()
    assert v.shape == (N, D) and v.dtype == np.float32 and v.ndim == 2 and len(v) == N
    assert np.array_equal(v[:], x) and np.array_equal(v[7], x[7]) and np.array_equal(v[-1], x[-1])
    assert np.array_equal(v[490:1530], x[490:1530]) and np.array_equal(v[::13], x[::13])
    rows = np.array([1999, 3, 500, 501, 3, 1200])  # any order, repeats
    assert np.array_equal(v[rows], x[rows]) and np.array_equal(v[np.sort(rows)], x[np.sort(rows)])
    mask = np.zeros(N, bool)
    mask[::7] = True
    assert np.array_equal(v[mask], x[mask])
    assert not v[0:10].flags.writeable and not v[rows].flags.writeable
    assert [b - a for a, b in v.ranges()] == [_rows(p) for p in paths]
    assert np.array_equal(np.concatenate([v.shard(i) for i in range(4)]), x)
    assert sum(len(a) for _, a in v.arrays()) == N
    with pytest.raises(IndexError):
        v[N]


def _rows(path):
    if path.suffix == ".parquet":
        return pq.read_metadata(path).num_rows
    return feather.read_table(path).num_rows


def test_arrow_shards_are_memory_mapped_and_parquet_decoded_into_a_small_lru(tmp_path):
    x = clustered(N, D)
    arrow = scan_shards(write_shards(tmp_path / "a", x, 4, "arrow")).vectors()
    assert all(arrow.is_mapped(i) for i in range(4))
    parquet = ShardedVectors(scan_shards(write_shards(tmp_path / "p", x, 4)).shards, D, "vector",
                             decoded_shards=2)
    parquet[:]
    assert not parquet.is_mapped(0) and len(parquet._decoded) == 2  # bounded


def test_np_asarray_refuses_in_words(shards):
    _, paths = shards
    v = scan_shards(paths).vectors()
    with pytest.raises(InputError, match="needs the vectors in one file.*2,000 x 16.*4 shard"):
        np.asarray(v)
    with pytest.raises(InputError):
        np.array(v, dtype=np.float64)


def test_metadata_is_read_without_the_vector_column(shards):
    x, paths = shards
    scan = scan_shards(paths)
    meta = read_metadata(scan, scan.metadata_schema.names)
    assert meta.column_names == ["item", "grp", "size"] and meta.num_rows == N
    assert meta.column("size").to_pylist() == list(range(N))


def test_folder_glob_and_list_name_the_same_shards(tmp_path):
    paths = write_shards(tmp_path / "s", clustered(100, 4), 3)
    (tmp_path / "s" / "notes.txt").write_text("not a shard")
    assert shard_paths([tmp_path / "s"]) == paths
    assert shard_paths([str(tmp_path / "s" / "*.parquet")]) == paths
    assert shard_paths([*paths, paths[0]]) == paths
    with pytest.raises(InputError, match="matches no files"):
        shard_paths([str(tmp_path / "s" / "*.arrow")])
    with pytest.raises(InputError, match="no such file"):
        shard_paths([tmp_path / "gone.parquet"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no Parquet or Arrow"):
        shard_paths([tmp_path / "empty"])


def _expect(paths, match, bad):
    with pytest.raises(InputError, match=match) as err:
        scan_shards(paths)
    assert err.value.path == str(bad)


def test_shards_that_disagree_are_named(tmp_path):
    x = clustered(400, 8)
    paths = write_shards(tmp_path / "s", x, 3)
    other = tmp_path / "other.parquet"
    pq.write_table(shard_table(clustered(10, 6), 0), other)  # another dimension
    _expect([*paths, other], r"fixed_size_list.*6.*first shard", other)
    doubles = tmp_path / "doubles.parquet"
    table = shard_table(clustered(10, 8), 0)
    table = table.set_column(0, "vector", table.column("vector").cast(pa.list_(pa.float64(), 8)))
    pq.write_table(table, doubles)
    _expect([paths[0], doubles], "double.*first shard", doubles)
    extra = tmp_path / "extra.parquet"
    pq.write_table(shard_table(clustered(10, 8), 0).append_column("more", pa.array(range(10))),
                   extra)
    _expect([paths[0], extra], "has column 'more'", extra)
    retyped = tmp_path / "retyped.parquet"
    t = shard_table(clustered(10, 8), 0)
    pq.write_table(t.set_column(3, "size", t.column("size").cast(pa.float64())), retyped)
    _expect([paths[0], retyped], "double here but int64", retyped)


def test_garbled_and_foreign_shards_are_named(tmp_path):
    paths = write_shards(tmp_path / "s", clustered(400, 8), 3)
    garbled = tmp_path / "garbled.parquet"
    data = bytearray(paths[1].read_bytes())
    data[-200:-8] = b"\x99" * 192  # the footer's bytes
    garbled.write_bytes(bytes(data))
    _expect([paths[0], garbled], "not a readable", garbled)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(paths[1].read_bytes()[:300])
    _expect([paths[0], truncated], "Parquet", truncated)
    text = tmp_path / "notes.parquet"
    text.write_text("hello")
    _expect([paths[0], text], "not a Parquet or Arrow IPC file", text)
    stream = tmp_path / "stream.arrow"
    table = shard_table(clustered(10, 8), 0)
    with ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    _expect([stream], "stream has no footer", stream)
    no_vectors = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), no_vectors)
    _expect([no_vectors], "no vector column", no_vectors)


def test_a_ragged_list_shard_is_named_with_its_row_when_read(tmp_path):
    x = clustered(300, 8)
    paths = write_shards(tmp_path / "s", x, 2, list_type="list")
    v = scan_shards(paths).vectors()
    assert np.array_equal(v[:], x)
    table = shard_table(clustered(5, 8), 0, list_type="list")
    rows = table.column("vector").to_pylist()
    rows[3] = rows[3][:5]
    ragged = tmp_path / "ragged.parquet"
    pq.write_table(table.set_column(0, "vector", pa.array(rows, pa.list_(pa.float32()))), ragged)
    v = scan_shards([paths[0], ragged]).vectors()
    with pytest.raises(InputError, match="ragged") as err:
        v[len(v) - 1]
    assert err.value.path == str(ragged) and err.value.row == 3
