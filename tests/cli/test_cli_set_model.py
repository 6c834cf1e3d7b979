"""A set's model, named by the user and checked: `import --model`, `--trust-model`, `set-model`.

Vectors "computed elsewhere" are the real default model's (all-MiniLM-L6-v2) vectors of real
sentences, made by our own `encode` and written to a Parquet file with the texts, as a user's
pipeline would; the same texts with random vectors are the mismatch.
"""

import shutil
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from default_model import needs_minilm
from in_process import cli_error, cli_json
from sentences import SENTENCES

from explorer.cli import run
from explorer.core.library import Library


@pytest.fixture
def minilm_files(tmp_path, capsys):
    """(real.parquet, random.parquet): the sentences with MiniLM's vectors, and with noise."""
    from explorer.compute.encoding.catalogue import install_model

    install_model("minilm")
    source = tmp_path / "sentences.csv"
    source.write_text("text\n" + "\n".join(SENTENCES) + "\n", encoding="utf-8")
    encoded = cli_json(capsys, "encode", source, "--model", "minilm", "--column", "text")
    es = Library().open(encoded["set"])
    texts = es.metadata.column("text").to_pylist()
    assert sorted(texts) == sorted(SENTENCES)
    vectors = np.asarray(es.vectors)
    real = tmp_path / "real.parquet"
    pq.write_table(pa.table({"name": [f"s{i}" for i in range(len(texts))], "text": texts,
                             "embedding": list(vectors)}), real)
    noise = np.random.default_rng(3).normal(size=vectors.shape).astype(np.float32)
    fake = tmp_path / "random.parquet"
    pq.write_table(pa.table({"name": [f"s{i}" for i in range(len(texts))], "text": texts,
                             "embedding": list(noise)}), fake)
    Library().remove(encoded["set"])
    return real, fake


@needs_minilm
def test_minilm_vectors_from_elsewhere_are_verified_and_take_text(minilm_files, capsys):
    real, _ = minilm_files
    entry = cli_json(capsys, "import", real, "--model", "minilm")
    check = entry["model_check"]
    assert check["verified"] is True and check["sampled"] == 64
    assert check["median_cosine"] >= 0.99
    assert entry["model"].startswith("minilm (sha256 ")
    got = cli_json(capsys, "neighbours", entry["id"], "--text", "someone cooking food", "-k", "5")
    top = [n["row"] for n in got["neighbours"]]
    texts = Library().open(entry["id"]).metadata.column("text").to_pylist()
    assert any("curry" in texts[r] for r in top[:3]), [texts[r] for r in top]
    concept = cli_json(capsys, "concept", entry["id"], "--texts-a", "cooking food in a kitchen",
                       "--texts-b", "flying an aeroplane")
    assert any("curry" in texts[i["row"]] for i in concept["top_a"])
    assert any("flew" in texts[i["row"]] for i in concept["top_b"])
    # the same file and model typed as the internal label: the stored set comes back
    again = cli_json(capsys, "import", real, "--model", entry["model"])
    assert again["reused"] and again["id"] == entry["id"]


@needs_minilm
def test_random_vectors_fail_the_check(minilm_files, capsys):
    _, fake = minilm_files
    line = cli_error(capsys, "import", fake, "--model", "minilm")
    assert "median cosine" in line and "--trust-model" in line
    assert Library().entries() == []
    entry = cli_json(capsys, "import", fake, "--model", "minilm", "--trust-model")
    check = entry["model_check"]
    assert check["verified"] is False and check["sampled"] == 64
    assert abs(check["median_cosine"]) < 0.3
    line = cli_error(capsys, "neighbours", entry["id"], "--text", "a cat")
    assert "unverified" in line and "median cosine" in line
    assert run(["list"]) == 0
    assert "(unverified)" in capsys.readouterr().out
    line = cli_error(capsys, "concept", entry["id"], "--texts-a", "good", "--texts-b", "bad")
    assert "unverified" in line
    # the same import without insisting again is refused, even though the set is stored
    assert "median cosine" in cli_error(capsys, "import", fake, "--model", "minilm")


@needs_minilm
def test_set_model_later_and_what_a_model_cannot_be(minilm_files, tmp_path, capsys):
    real, fake = minilm_files
    plain = cli_json(capsys, "import", real, "--name", "plain")
    assert plain["model_check"] is None and plain["model"] is None
    assert "records no model" in cli_error(capsys, "neighbours", "plain", "--text", "a cat")
    result = cli_json(capsys, "set-model", "plain", "minilm")
    assert result["model_check"]["verified"] is True
    assert Library().open("plain").model_check.verified is True
    cli_json(capsys, "neighbours", "plain", "--text", "a cat", "-k", "3")
    # a wrong model for a stored set: refused, and the set keeps the model it had
    noise = cli_json(capsys, "import", fake, "--name", "noise")
    assert "median cosine" in cli_error(capsys, "set-model", "noise", "minilm")
    assert Library().open("noise").model is None
    # a name that is no installed model: refused (a typo), or recorded as typed when insisted
    line = cli_error(capsys, "set-model", "noise", "minilim")
    assert "minilim" in line and "--trust-model" in line
    kept = cli_json(capsys, "set-model", "noise", "text-embedding-3-small", "--trust-model")
    assert kept["model"] == "text-embedding-3-small"
    assert kept["model_check"] == {"verified": None, "median_cosine": None, "sampled": 0}
    assert noise["id"] == kept["id"]
    line = cli_error(capsys, "neighbours", "noise", "--text", "a cat")
    assert "'text-embedding-3-small' is not one installed here" in line
    # a model folder given by its path is checked the same way
    from explorer.compute.encoding.model_folder import models_dir

    by_path = cli_json(capsys, "set-model", "plain", models_dir() / "minilm")
    assert by_path["model_check"]["verified"] is True
    assert by_path["model"].startswith("minilm (sha256 ")  # installed: named by its name
    # vectors with no text: recorded, unverified, and said so
    bare = tmp_path / "bare.npy"
    np.save(bare, np.asarray(Library().open("plain").vectors))
    entry = cli_json(capsys, "import", bare, "--model", "minilm")
    assert entry["model_check"] == {"verified": None, "median_cosine": None, "sampled": 0}
    assert "no text column" in entry["model_note"]
    # a model of another width cannot have made the vectors, insisted or not
    small = tmp_path / "small.npy"
    np.save(small, np.random.default_rng(0).normal(size=(10, 8)).astype(np.float32))
    assert "384 dimensions" in cli_error(capsys, "import", small, "--model", "minilm",
                                         "--trust-model")
    # a model folder outside the models folder is recorded by its path, and found there
    own = tmp_path / "my-minilm"
    shutil.copytree(models_dir() / "minilm", own)
    by_path = cli_json(capsys, "set-model", "plain", own)
    assert by_path["model"].startswith(f"{own} (sha256 ")  # found there by text queries
    shutil.rmtree(models_dir() / "minilm")
    cli_json(capsys, "neighbours", "plain", "--text", "a cat", "-k", "3")


@needs_minilm
def test_a_mismatch_is_one_line_without_a_traceback(minilm_files):
    _, fake = minilm_files
    out = subprocess.run([sys.executable, "-m", "explorer", "import", str(fake), "--model",
                          "minilm"], capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1
