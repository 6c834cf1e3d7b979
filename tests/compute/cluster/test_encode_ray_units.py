"""Work units and their journal (no Ray needed): units read together are the plan's items,
in order, with every skipped row reported once; the journal trusts only sound shards."""

import json
from dataclasses import asdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.compute.cluster.journal import JOURNAL_FILE, ShardJournal, shard_name
from explorer.compute.cluster.units import (
    copy_remote,
    local_inputs,
    plan_units,
    read_unit,
    unique,
    unit_size,
)
from explorer.compute.encoding.work_folder import file_digest, seal
from explorer.core.errors import InputError
from explorer.core.inputs import InputOptions, InputPlan


def texts(n, holes=()):
    return [None if i in holes else ("" if i % 97 == 5 else f"row {i} says something")
            for i in range(n)]


def write_inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"text": texts(1000, holes={3, 512, 999}), "n": range(1000)}),
                   folder / "a.parquet", row_group_size=128)
    lines = ["text,n"] + [f"{t or ''},{i}" for i, t in enumerate(texts(300))]
    lines.insert(40, "broken,row,with,fields")  # a CSV row the reader reports by line
    (folder / "b.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for i in range(5):
        (folder / f"doc{i}.md").write_text(f"Document {i}. " * 40, encoding="utf-8")
    (folder / "bin.txt").write_bytes(b"\x00\x01 not text")
    return folder


def read_all(plan, units):
    items, skipped = [], []
    for unit in units:
        items += list(read_unit(unit, plan.options, skipped.append))
    return items, skipped


@pytest.mark.parametrize("rows", [1, 100, 128, 333, 5000])
def test_units_read_together_are_the_plans_items_and_skips(tmp_path, rows):
    folder = write_inputs(tmp_path)
    plan = InputPlan([folder], InputOptions(chunk_tokens=30, overlap_tokens=5))
    expected = list(plan.items())
    units = plan_units(plan, rows_per_unit=rows)
    items, skipped = read_all(plan, units)
    assert [(i.text, i.meta) for i in items] == [(i.text, i.meta) for i in expected]
    assert unique([asdict(s) for s in plan.planned_skips + skipped]) == \
        [asdict(s) for s in plan.skipped]
    assert [u.index for u in units] == list(range(len(units)))
    assert len({u.key for u in units}) == len(units)
    if rows == 100:  # the 1000-row table is cut into item ranges, the small files grouped
        table_units = [u for u in units if u.inputs[0].kind == "table"]
        assert len(table_units) > 10 and all(u.take == 100 for u in table_units[:9])


def test_a_changed_input_changes_its_units_keys(tmp_path):
    folder = write_inputs(tmp_path)
    plan = InputPlan([folder], InputOptions())
    before = {u.index: u.key for u in plan_units(plan)}
    (folder / "doc2.md").write_text("Changed. " * 50, encoding="utf-8")
    after = {u.index: u.key for u in plan_units(InputPlan([folder], InputOptions()))}
    assert before != after


def test_file_uris_are_read_in_place_and_missing_ones_say_so(tmp_path):
    (tmp_path / "a.md").write_text("hello", encoding="utf-8")
    assert local_inputs([(tmp_path / "a.md").as_uri(), tmp_path / "a.md"], tmp_path / "st") == \
        [tmp_path / "a.md", tmp_path / "a.md"]
    assert not (tmp_path / "st").exists()
    with pytest.raises(InputError, match="cannot read nosuch://x"):
        local_inputs(["nosuch://x"], tmp_path / "st")


# --- the journal ---------------------------------------------------------------------------

def journal_with_two_shards(tmp_path):
    folder = write_inputs(tmp_path)
    units = plan_units(InputPlan([folder], InputOptions()), rows_per_unit=300)
    journal = ShardJournal(tmp_path / "work", 4, units)
    for index in (0, 1):
        path = journal.shard(index)
        pq.write_table(pa.table({"x": [index]}), path)
        journal.add({"unit": index, "key": units[index].key, "file": shard_name(index),
                     "items": 300, "rows": 299, "bytes": path.stat().st_size,
                     "blake2b": file_digest(path),
                     "skipped": [{"path": "a", "reason": "empty text", "line": None, "row": 5}]})
    (journal.root / ".stray.partial").write_bytes(b"x")
    pq.write_table(pa.table({"x": [9]}), journal.shard(2))  # written, never journaled
    return units, journal


def test_a_journal_resumes_its_sound_units_and_clears_the_rest(tmp_path):
    units, journal = journal_with_two_shards(tmp_path)
    again = ShardJournal(journal.root, 4, units)
    assert again.done() == {0, 1} and not again.notices
    assert len(again.skipped()) == 2
    assert sorted(p.name for p in journal.root.iterdir()) == [JOURNAL_FILE, shard_name(0),
                                                              shard_name(1)]


def test_a_damaged_shard_or_record_is_encoded_again_with_a_notice(tmp_path):
    units, journal = journal_with_two_shards(tmp_path)
    data = bytearray(journal.shard(1).read_bytes())
    data[10] ^= 0xFF
    journal.shard(1).write_bytes(bytes(data))
    again = ShardJournal(journal.root, 4, units)
    assert again.done() == {0}
    assert "shard 2 of" in again.notices[0] and "has changed" in again.notices[0]
    assert not journal.shard(1).exists()

    lines = journal.path.read_text().splitlines()
    record = json.loads(lines[1])
    record["rows"] = 300  # an edit without a new seal
    journal.path.write_text("\n".join([lines[0], json.dumps(record)]) + "\n{torn")
    third = ShardJournal(journal.root, 4, units)
    assert third.done() == set() and "checksum does not match" in third.notices[0]


def test_records_of_other_units_or_settings_are_not_trusted(tmp_path):
    units, journal = journal_with_two_shards(tmp_path)
    moved = [units[1], units[0]] + units[2:]  # keys no longer match their indices
    assert ShardJournal(journal.root, 4, moved).done() == set()
    units, journal = journal_with_two_shards(tmp_path / "again")
    other_dim = ShardJournal(journal.root, 8, units)
    assert other_dim.done() == set() and "starting over" in other_dim.notices[0]
    lines = journal.path.read_text().splitlines()
    assert json.loads(lines[0]) == seal({"version": 1, "dim": 8})


def test_a_small_job_is_cut_into_enough_units_and_a_large_one_into_windows():
    assert unit_size(2000) == 256 and unit_size(32 * 1000) == 1000
    assert unit_size(10_000_000) == 2048 and unit_size(0) == 256


def test_a_folder_on_another_filesystem_is_copied_with_its_times(tmp_path):
    import os

    import pyarrow.fs as pafs

    remote = tmp_path / "bucket" / "docs"
    (remote / "sub").mkdir(parents=True)
    (remote / "a.md").write_text("alpha", encoding="utf-8")
    (remote / "sub" / "b.md").write_text("beta", encoding="utf-8")
    os.utime(remote / "sub" / "b.md", ns=(1_600_000_000_000_000_000,) * 2)
    store = pafs.SubTreeFileSystem(str(tmp_path / "bucket"), pafs.LocalFileSystem())  # remote
    local = copy_remote(store, "docs", tmp_path / "staging", "s3://bucket/docs")
    assert local == tmp_path / "staging" / "docs"
    assert (local / "sub" / "b.md").read_text(encoding="utf-8") == "beta"
    assert (local / "sub" / "b.md").stat().st_mtime_ns == 1_600_000_000_000_000_000
    with pytest.raises(InputError, match="s3://bucket/nope: no such file"):
        copy_remote(store, "nope", tmp_path / "staging", "s3://bucket/nope")
    with pytest.raises(InputError, match="no such file"):  # another store, found empty
        local_inputs(["mock:///bucket/docs"], tmp_path / "staging")
