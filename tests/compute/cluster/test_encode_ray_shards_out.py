"""Encoding on Ray into a folder of shards: the set stays in the shards (a sharded set), with
the rows, order and metadata the one-file set has."""

import numpy as np
import pytest
from onnx_models import bert_like, write_folder
from test_encode_ray import write_table

from explorer.compute.cluster.encode_ray import encode_inputs_ray
from explorer.compute.encoding.pipeline import EncodeOptions
from explorer.compute.neighbours import row_query, search
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.core.sharded import is_sharded


@pytest.fixture
def model(tmp_path):
    return str(write_folder(tmp_path / "model", bert_like()))


def test_shards_out_keeps_a_sharded_set_equal_to_the_one_file_set(tmp_path, model, ray_local):
    folder = tmp_path / "in"
    folder.mkdir()
    write_table(folder / "a.parquet", n=700)
    for i in range(3):  # text files: other metadata columns (source, chunk) than the table's
        (folder / f"doc{i}.md").write_text(f"Paragraph {i} about dogs. " * 30, encoding="utf-8")
    options = EncodeOptions(model=model, chunk_tokens=40, overlap_tokens=5, batch_size=16)
    single = encode_inputs_ray([folder], EncodeOptions(**{**options.__dict__, "name": "one"}),
                               rows_per_unit=200)
    out = tmp_path / "shards"
    sharded = encode_inputs_ray([folder], options, rows_per_unit=200, shards_out=out)
    a, b = Library().open(single.entry.id), Library().open(sharded.entry.id)
    assert is_sharded(b.vectors) and not is_sharded(a.vectors)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in b.vectors.paths)
    assert b.count == a.count
    np.testing.assert_array_equal(b.vectors[0:b.count], np.asarray(a.vectors))
    for col in ("text", "source"):
        assert b.metadata.column(col).to_pylist() == a.metadata.column(col).to_pylist()
    assert b.model == a.model and "engine: Ray" in b.notes[-1]
    got = search(b, row_query(b, 5), k=5).neighbours.rows
    assert list(got) == list(search(a, row_query(a, 5), k=5).neighbours.rows)


def test_a_folder_with_files_in_it_is_refused_before_any_work(tmp_path, model, ray_local):
    out = tmp_path / "shards"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(InputError, match="new or empty"):
        encode_inputs_ray([tmp_path], EncodeOptions(model=model), shards_out=out)
    assert (out / "mine.txt").read_text() == "keep me"
