"""Encoding files into the library: the vectors, the metadata, skipped inputs, resume after cancel."""

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from explorer.compute.encoding import pipeline
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.compute.encoding.text_encoder import TextEncoder
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

from onnx_models import bert_like, write_folder

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "runs", "fast", "slow", "red", "blue"]


@pytest.fixture
def model(tmp_path):
    return str(write_folder(tmp_path / "model", bert_like()))


def write_docs(folder, files=3, paragraphs=40, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        text = "\n\n".join(" ".join(rng.choice(WORDS, rng.integers(3, 12))) + "."
                           for _ in range(paragraphs))
        (folder / f"doc{f}.md").write_text(text, encoding="utf-8")
    return folder


def test_text_files_become_a_set_with_offsets_and_the_model_s_vectors(tmp_path, model):
    docs = write_docs(tmp_path / "docs")
    (docs / "broken.txt").write_bytes(b"\x00\x01\x02 not text")
    options = EncodeOptions(model=model, chunk_tokens=12, overlap_tokens=2, batch_size=4)
    result = encode_inputs([docs], options)
    es = Library().open(result.entry.id)
    assert es.count == result.count > 30 and es.dim == result.dim
    assert [s.path.endswith("broken.txt") for s in result.skipped] == [True]
    texts = es.metadata.column("text").to_pylist()
    for row in es.metadata.to_pylist()[:20]:  # offsets point at the chunk in its file
        source = (tmp_path / row["source"]).read_text(encoding="utf-8")  # relative to docs' parent
        assert source[row["char_start"]:row["char_end"]] == row["text"]
    expected = TextEncoder(model).encode(texts)
    np.testing.assert_allclose(np.asarray(es.vectors), expected, rtol=1e-5, atol=1e-6)
    assert "sha256" in es.notes[-1] and es.text_column == "text"
    assert not list((pipeline.data_home() / pipeline.JOBS_DIR).glob("*"))  # work folder gone


def test_a_cancelled_job_resumes_after_its_last_window(tmp_path, model):
    docs = write_docs(tmp_path / "docs", files=4, paragraphs=60)
    options = EncodeOptions(model=model, chunk_tokens=12, overlap_tokens=0, batch_size=2)
    full = Library().open(encode_inputs([docs], EncodeOptions(**{**options.__dict__,
                                                                 "name": "full"})).entry.id)
    state = TaskState()
    original = pipeline.WorkFolder.append

    def append_then_cancel(self, *args):
        original(self, *args)
        if len(self.progress["pieces"]) == 2:
            state.cancel()

    pipeline.WorkFolder.append = append_then_cancel
    try:
        with pytest.raises(Cancelled):
            encode_inputs([docs], options, state=state)
    finally:
        pipeline.WorkFolder.append = original
    again = encode_inputs([docs], options)
    assert again.resumed_from == 2 * 2 * pipeline.WINDOW_BATCHES
    es = Library().open(again.entry.id)
    assert es.count == full.count
    assert es.metadata.column("text").to_pylist() == full.metadata.column("text").to_pylist()
    np.testing.assert_allclose(np.asarray(es.vectors), np.asarray(full.vectors), atol=1e-6)


def test_a_table_column_and_clear_errors(tmp_path, model):
    table = pa.table({"title": ["the cat sat", None, "a red dog runs fast"], "n": [1, 2, 3]})
    path = tmp_path / "items.parquet"
    pq.write_table(table, path)
    result = encode_inputs([path], EncodeOptions(model=model, column="title"))
    es = Library().open(result.entry.id)
    assert es.metadata.column("n").to_pylist() == [1, 3]
    assert [s.row for s in result.skipped] == [1]
    with pytest.raises(InputError, match="nosuch"):
        encode_inputs([path], EncodeOptions(model=model, column="nosuch"))
    with pytest.raises(InputError):
        encode_inputs([tmp_path / "missing.md"], EncodeOptions(model=model))


def test_an_item_the_model_turns_into_nan_is_skipped_and_the_rest_kept(tmp_path, model):
    texts = ["the cat sat", "a dog runs", "the nan mat", "red blue", "slow cat"]
    path = tmp_path / "items.csv"
    pacsv.write_csv(pa.table({"title": texts}), path)
    result = encode_inputs([path], EncodeOptions(model=model, column="title", batch_size=4))
    es = Library().open(result.entry.id)
    assert es.metadata.column("text").to_pylist() == [t for t in texts if "nan" not in t]
    [skip] = result.skipped
    assert skip.row == 2 and "not finite" in skip.reason and skip.path.endswith("items.csv")
    expected = TextEncoder(model).encode([t for t in texts if "nan" not in t])
    np.testing.assert_allclose(np.asarray(es.vectors), expected, rtol=1e-5, atol=1e-6)


def test_eta_reads_naturally():
    assert pipeline.eta_text(0, 100.0) == "" and pipeline.eta_text(100, 0.0) == ""
    assert pipeline.eta_text(450, 10.0) == ", about 45 s left"
    assert pipeline.eta_text(30_000, 100.0) == ", about 5 min left"
    assert pipeline.eta_text(1_000_000, 100.0) == ", about 2.8 h left"
