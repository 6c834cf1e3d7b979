"""explorer.load with `model`: checked against the vectors as `import --model` checks it, and
text queries then answer as `neighbours --text` does. The vectors are the real default
model's (all-MiniLM-L6-v2) of real sentences, made by our own `encode`; the same texts with
random vectors are the mismatch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from default_model import needs_minilm
from in_process import cli_error, cli_json
from sentences import SENTENCES

import explorer
from explorer.core.errors import InputError
from explorer.core.library import Library


@pytest.fixture
def minilm_vectors(tmp_path, capsys) -> tuple[np.ndarray, list[str]]:
    from explorer.compute.encoding.catalogue import install_model

    install_model("minilm")
    source = tmp_path / "sentences.csv"
    source.write_text("text\n" + "\n".join(SENTENCES) + "\n", encoding="utf-8")
    encoded = cli_json(capsys, "encode", source, "--model", "minilm", "--column", "text")
    es = Library().open(encoded["set"])
    vectors, texts = np.array(es.vectors), es.metadata.column("text").to_pylist()
    Library().remove(encoded["set"])
    return vectors, texts


@needs_minilm
def test_a_model_checked_then_text_queries_as_the_cli(minilm_vectors, capsys):
    vectors, texts = minilm_vectors
    s = explorer.load(vectors, metadata=pd.DataFrame({"text": texts}), model="minilm")
    assert s.model.startswith("minilm (sha256 ") and s.embedding_set.model_check.verified
    ours = s.neighbours(text="someone cooking food", k=5)
    theirs = cli_json(capsys, "neighbours", s.id, "--text", "someone cooking food", "-k", 5)
    assert ours.rows.tolist() == [i["row"] for i in theirs["neighbours"]]
    assert ours.to_dict()["query"] == theirs["query"]
    assert any("curry" in texts[r] for r in ours.rows[:3]), [texts[r] for r in ours.rows]
    concept = s.concept(texts_a=["cooking food in a kitchen"], texts_b="flying an aeroplane")
    assert concept == cli_json(capsys, "concept", s.id, "--texts-a", "cooking food in a kitchen",
                               "--texts-b", "flying an aeroplane")
    # the same vectors, metadata and model again: the stored set, not checked again
    assert explorer.load(vectors, metadata={"text": texts}, model="minilm").id == s.id


@needs_minilm
def test_vectors_the_model_did_not_make_are_refused_as_the_cli_refuses_them(
        minilm_vectors, tmp_path, capsys):
    _, texts = minilm_vectors
    noise = np.random.default_rng(3).normal(size=(len(texts), 384)).astype(np.float32)
    path = tmp_path / "random.parquet"
    pq.write_table(pa.table({"text": texts, "embedding": list(noise)}), path)
    with pytest.raises(InputError) as refused:
        explorer.load(noise, metadata={"text": texts}, model="minilm")
    assert cli_error(capsys, "import", path, "--model", "minilm") == f"error: {refused.value}"
    assert Library().entries() == []
    trusted = explorer.load(noise, metadata={"text": texts}, model="minilm", trust_model=True)
    assert trusted.embedding_set.model_check.verified is False
    with pytest.raises(InputError) as refused:
        trusted.neighbours(text="a cat")
    assert cli_error(capsys, "neighbours", trusted.id, "--text", "a cat") == \
        f"error: {refused.value}"
