"""The `compress` command: JSON contract, figures equal to the library call, one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from explorer.cli import run
from explorer.compute.compression import evaluate
from explorer.core.library import Library

N, D = 1200, 32


@pytest.fixture
def npy_file(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(15, D)) * 2
    x = (centres[rng.integers(0, 15, N)] + rng.normal(size=(N, D))).astype(np.float32)
    path = tmp_path / "vectors.npy"
    np.save(path, x)
    return path


def run_json(capsys, *args):
    code = run([*map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def test_json_contract(capsys, npy_file):
    result = run_json(capsys, "compress", npy_file, "--methods", "fp16,sq8,pq8,binary-rerank50,"
                      "trunc16,pca8-sq8", "-k", "5", "--queries", "100", "--metric", "l2")
    assert {"k", "queries", "metric", "methods"} <= set(result)
    assert (result["k"], result["queries"], result["metric"]) == (5, 100, "l2")
    names = [m["name"] for m in result["methods"]]
    assert names == ["fp16", "sq8", "pq8", "binary-rerank50", "trunc16", "pca8-sq8"]
    bytes_ = {m["name"]: m["bytes_per_vector"] for m in result["methods"]}
    assert bytes_ == {"fp16": 64, "sq8": 32, "pq8": 8, "binary-rerank50": 4, "trunc16": 64,
                      "pca8-sq8": 8}
    for m in result["methods"]:
        assert {"name", "bytes_per_vector", "recall_at_k", "overlap", "overlap_with_ties",
                "queries_with_ties", "train_seconds", "search_ms_per_query"} <= set(m)
        assert 0 <= m["recall_at_k"] <= 1 and 0 <= m["overlap"] <= m["overlap_with_ties"] <= 1
        assert 0 <= m["queries_with_ties"] <= 100
        assert m["train_seconds"] >= 0 and m["search_ms_per_query"] > 0

    # the same figures as the library call on the imported set (a cache hit now)
    es = Library().open(result["set"])
    again = evaluate(es, names, k=5, queries=100, metric="l2").to_dict()
    for a, b in zip(result["methods"], again["methods"]):
        assert b["cached"]
        for key in ("recall_at_k", "overlap", "overlap_with_ties", "queries_with_ties"):
            assert a[key] == b[key], key


def test_default_methods_and_human_output(capsys, npy_file):
    assert run(["compress", str(npy_file), "--queries", "30"]) == 0
    out, _ = capsys.readouterr()
    assert "30 queries, k=10, cosine" in out
    for name in ("fp16", "sq8", "sq4", "opq4", "binary-rerank100", "trunc16", "pca8-sq8"):
        assert name in out


@pytest.mark.parametrize("args, message", [
    (["--methods", "fp16,pq"], "unknown compression method 'pq'; valid forms:"),
    (["--methods", "pq7"], "pq7"),
    (["-k", "0"], "k must be between 1 and"),
    (["--queries", "0"], "queries must be at least 1"),
    (["--metric", "hamming"], "invalid choice"),
])
def test_errors_are_one_line(tmp_path, npy_file, args, message):
    env = {**os.environ, "EXPLORER_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-m", "explorer", "compress", str(npy_file), *args,
                           "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_human_output_counts_ties_as_kept_and_says_so(capsys, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 32)).astype(np.float32)
    x[200:230] = x[0]  # 31 identical vectors: every k-th neighbour of row 0 is tied
    path = tmp_path / "dups.npy"
    np.save(path, x)
    assert run(["compress", str(path), "--methods", "binary", "--queries", "60"]) == 0
    out, _ = capsys.readouterr()
    assert "w/ ties" in out and "queries have such ties" in out
