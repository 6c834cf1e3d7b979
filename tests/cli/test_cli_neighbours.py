"""The `neighbours`, `index` and `hubness` commands: JSON contract checked against brute force.

Most runs go through `explorer.cli.run` in this process (the numba kernels compile once per
session); the error paths run as a user would, in a subprocess, to see there is no traceback.
"""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from as_process import cli
from brute_force import true_scores
from onnx_models import bert_like, write_folder

from explorer.cli import run
from explorer.core.library import Library

N, D = 3000, 32


def vectors():
    rng = np.random.default_rng(0)
    scale = 1.0 / (1.0 + np.arange(D)) ** 0.7
    centres = rng.normal(size=(20, D)) * scale * 3
    x = centres[rng.integers(0, 20, N)] + rng.normal(size=(N, D)) * scale
    return (x * rng.lognormal(0, 0.5, size=(N, 1))).astype(np.float32)


X = vectors()
GRP = np.array(["a", "b", "c"])[np.arange(N) % 3]


@pytest.fixture
def parquet_file(tmp_path):
    path = tmp_path / "words.parquet"
    pq.write_table(pa.table({
        "id": [f"n{i}" for i in range(N)],
        "grp": GRP.tolist(),
        "title": [f"item number {i}" for i in range(N)],
        "embedding": list(X),
    }), path)
    return path


def run_json(capsys, *args):
    code = run([*map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def brute(q, metric="cosine", k=10, exclude=(), allowed=None):
    x64, q64 = X.astype(np.float64), np.asarray(q, np.float64)
    if metric == "cosine":
        s = (x64 @ q64) / np.linalg.norm(x64, axis=1) / np.linalg.norm(q64)
    elif metric == "dot":
        s = x64 @ q64
    else:
        s = -np.linalg.norm(x64 - q64, axis=1)
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    s[list(exclude)] = -np.inf
    best = np.argsort(-s, kind="stable")[:k]
    return best, (-s[best] if metric == "l2" else s[best])


def assert_result(result, q, metric="cosine", k=10, exclude=(), allowed=None):
    assert {"query", "metric", "k", "neighbours", "seconds"} <= set(result)
    assert (result["metric"], result["k"]) == (metric, k)
    assert isinstance(result["seconds"], float)
    items = result["neighbours"]
    # the ids name the items (the title is the text, shown beside them)
    assert all(set(item) == {"row", "id", "label", "text", "score"} for item in items)
    assert all(item["id"] == item["label"] == f"n{item['row']}" for item in items)
    assert all(item["text"] == f"item number {item['row']}" for item in items)
    rows, scores = brute(q, metric, k, exclude, allowed)
    assert [item["row"] for item in items] == rows.tolist()
    np.testing.assert_allclose([item["score"] for item in items], scores, rtol=1e-4, atol=1e-4)


def test_row_and_id_queries(parquet_file, capsys):
    result = run_json(capsys, "neighbours", parquet_file, "--row", 7, "-k", 5)
    assert result["query"]["rows"] == [7] and result["exact"] is True
    assert_result(result, X[7], k=5, exclude=[7])
    by_id = run_json(capsys, "neighbours", parquet_file, "--id", "n7", "-k", 5)
    assert by_id["neighbours"] == result["neighbours"]
    with_self = run_json(capsys, "neighbours", parquet_file, "--row", 7, "-k", 5,
                         "--include-query")
    assert with_self["neighbours"][0]["row"] == 7
    for metric in ("dot", "l2"):
        result = run_json(capsys, "neighbours", parquet_file, "--row", 7, "--metric", metric,
                          "--exact")
        assert_result(result, X[7], metric, exclude=[7])


def test_expr_vector_file_and_where(parquet_file, tmp_path, capsys):
    def unit(v):
        return v.astype(np.float64) / np.linalg.norm(v)

    result = run_json(capsys, "neighbours", parquet_file, "--expr", "#3 - #7 + n9", "-k", 8)
    assert result["query"]["rows"] == [3, 7, 9]
    assert_result(result, unit(X[3]) - unit(X[7]) + unit(X[9]), k=8, exclude=[3, 7, 9])

    q = np.random.default_rng(1).normal(size=D).astype(np.float32)
    np.save(tmp_path / "q.npy", q)
    assert_result(run_json(capsys, "neighbours", parquet_file, "--vector-file",
                           tmp_path / "q.npy"), q)
    (tmp_path / "q.txt").write_text("[" + ", ".join(f"{v:.9g}" for v in q) + "]\n")
    assert_result(run_json(capsys, "neighbours", parquet_file, "--vector-file",
                           tmp_path / "q.txt", "--metric", "l2"), q, "l2")

    result = run_json(capsys, "neighbours", parquet_file, "--row", 4, "--where",
                      "grp = 'c' and title like '%1%'", "-k", 20)
    allowed = (GRP == "c") & np.array(["1" in f"item number {i}" for i in range(N)])
    assert result["matching"] == int(allowed.sum())
    assert_result(result, X[4], k=20, exclude=[4], allowed=allowed)


def test_metric_all_compares_the_three(parquet_file, capsys):
    result = run_json(capsys, "neighbours", parquet_file, "--row", 11, "--metric", "all",
                      "-k", 10)
    assert set(result["lists"]) == {"cosine", "dot", "l2"}
    for metric, items in result["lists"].items():
        rows, _ = brute(X[11], metric, 10, exclude=[11])
        assert [item["row"] for item in items] == rows.tolist()
        np.testing.assert_allclose([item["norm"] for item in items],
                                   np.linalg.norm(X[rows], axis=1), rtol=1e-5)
    lists = {m: {i["row"] for i in items} for m, items in result["lists"].items()}
    for pair, value in result["overlap"].items():
        a, b = pair.split("/")
        assert value == pytest.approx(len(lists[a] & lists[b]) / 10)
    assert isinstance(result["explanation"], str) and result["explanation"]


def test_index_hnsw_then_approximate_search(parquet_file, capsys):
    info = run_json(capsys, "index", parquet_file, "--kind", "hnsw")
    assert info["kind"] == "hnsw" and info["exact"] is False and info["reused"] is False
    assert info["build_seconds"] > 0 and info["bytes"] > 0
    assert 0.9 <= info["recall_at_10"] <= 1.0 and info["recall_queries"] > 0
    again = run_json(capsys, "index", parquet_file, "--kind", "hnsw")
    assert again["reused"] is True and again["recall_at_10"] == info["recall_at_10"]
    result = run_json(capsys, "neighbours", parquet_file, "--row", 5, "--approx")
    assert result["exact"] is False and result["index"]["kind"] == "hnsw"
    assert result["index"]["reused"] is True  # the stored graph, not a new one
    rows, _ = brute(X[5], exclude=[5])
    got = [item["row"] for item in result["neighbours"]]
    assert len(got) == 10 and 5 not in got and len(set(got) & set(rows.tolist())) >= 8
    x64 = X[got].astype(np.float64)  # scores are the true cosines of the returned rows
    true = x64 @ X[5] / np.linalg.norm(x64, axis=1) / np.linalg.norm(X[5].astype(np.float64))
    np.testing.assert_allclose([item["score"] for item in result["neighbours"]], true,
                               rtol=1e-4, atol=1e-4)
    flat = run_json(capsys, "index", parquet_file)
    assert flat["kind"] == "flat" and flat["exact"] is True and flat["chosen_for"] == "auto"
    compact = run_json(capsys, "neighbours", parquet_file, "--row", 5, "--kind", "compact")
    assert compact["exact"] is True and compact["index"]["kind"] == "compact"
    assert [item["row"] for item in compact["neighbours"]] == rows.tolist()


def test_hubness_json(parquet_file, capsys):
    result = run_json(capsys, "hubness", parquet_file, "-k", 5)
    assert (result["k"], result["metric"], result["exact"]) == (5, "cosine", True)
    assert sum(result["histogram"]) == N
    assert sum(i * c for i, c in enumerate(result["histogram"])) == N * 5
    assert result["hubs"] and all(h["id"] == f"n{h['row']}" for h in result["hubs"])
    counts = [h["count"] for h in result["hubs"]]
    assert counts == sorted(counts, reverse=True) and counts[0] == result["max"]
    assert isinstance(result["skewness"], float)
    assert (result["source"], result["recall"]) == ("exact", None)


def test_hubness_counts_a_map_graph_unless_exact_is_asked(parquet_file, capsys):
    from explorer.compute import knn_store
    from explorer.compute.projection.knn_graph import all_knn
    from explorer.core.jobs import TaskState
    from explorer.core.library import Library

    es = Library().open_or_import(str(parquet_file), TaskState())
    graph, _ = all_knn(es.vectors, "cosine", 16, TaskState())
    graph.method = "pivot"  # as a map's join would say (the graph is exact: recall 1)
    assert knn_store.save_graph(es, graph, made_by="map")
    reused = run_json(capsys, "hubness", parquet_file, "-k", 5)
    assert (reused["source"], reused["exact"]) == ("map graph", False)
    assert reused["recall"] == pytest.approx(1.0, abs=0.01)
    asked = run_json(capsys, "hubness", parquet_file, "-k", 5, "--exact")
    assert (asked["source"], asked["exact"], asked["recall"]) == ("exact", True, None)
    assert asked["histogram"] == pytest.approx(reused["histogram"], abs=3)


@pytest.mark.parametrize("args, fragment", [
    (["--text", "a cat"], "ONNX"),
    (["--row", str(N)], "out of range"),
    (["--id", "nosuch"], "nosuch"),
    (["--row", "1", "-k", "0"], "k must be"),
    (["--row", "1", "--where", "nosuchcolumn = 2"], "nosuchcolumn"),
])
def test_errors_are_one_line_exit_2(parquet_file, capsys, args, fragment):
    code = run(["neighbours", str(parquet_file), *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_errors_as_a_user_sees_them(parquet_file, tmp_path, capsys):
    out = cli("neighbours", parquet_file, "--text", "a cat", "--json", check_rc=2)
    assert out.stdout == "" and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "records no model" in lines[0]
    out = cli("neighbours", parquet_file, "--row", "-5", "--json", check_rc=2)
    assert out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: ") and "out of range" in out.stderr
    (tmp_path / "bad.txt").write_text("1 2 three")
    (tmp_path / "short.txt").write_text("1 2 3")
    for name, fragment in (("bad.txt", "cannot read a vector"), ("short.txt", "3 values")):
        code = run(["neighbours", str(parquet_file), "--vector-file", str(tmp_path / name)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and fragment in err, err
        assert len(err.strip().splitlines()) == 1


def test_text_query_through_the_set_s_model(tmp_path, capsys):
    from explorer.compute.encoding.model_folder import models_dir
    from explorer.compute.encoding.text_encoder import TextEncoder


    write_folder(models_dir() / "tiny", bert_like(dim=16))
    rng = np.random.default_rng(5)
    words = ["the", "cat", "dog", "sat", "on", "mat", "runs", "fast", "slow", "red", "blue"]
    texts = [" ".join(rng.choice(words, rng.integers(2, 8))) for _ in range(400)]
    path = tmp_path / "texts.csv"
    path.write_text("title\n" + "\n".join(texts) + "\n", encoding="utf-8")
    assert run(["encode", str(path), "--model", "tiny", "--column", "title", "--json"]) == 0
    encoded = json.loads(capsys.readouterr().out)
    assert run(["neighbours", encoded["set"], "--text", "slow red cat", "-k", "5", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["query"]["kind"] == "text" and "slow red cat" in got["query"]["label"]
    q = TextEncoder(models_dir() / "tiny").encode(["slow red cat"], kind="query")[0]
    v = np.asarray(Library().open(encoded["set"]).vectors)
    best = np.sort(true_scores(v, q, "cosine"))[::-1][:5]
    np.testing.assert_allclose([n["score"] for n in got["neighbours"]], best, atol=1e-5)
