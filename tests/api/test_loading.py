"""explorer.load: arrays, Arrow tables and DataFrames stored in the library (once), files and
library sets opened; bad input refused with the CLI's words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from brute_force import true_scores
from in_process import cli_error, cli_json

import explorer
from explorer.core.errors import InputError
from explorer.core.library import Library

N, D = 400, 12


def vectors(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(N, D)) * rng.lognormal(0, 0.5, size=(N, 1))).astype(np.float32)


X = vectors()
GRP = np.array(["a", "b", "c", "d"])[np.arange(N) % 4]


def brute(q, metric, k, exclude=(), allowed=None):
    s = true_scores(X, q, metric)
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    s[list(exclude)] = -np.inf
    best = np.argsort(-s, kind="stable")[:k]
    return best, (-s[best] if metric == "l2" else s[best])


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_an_array_gives_numpy_brute_force_neighbours(metric):
    s = explorer.load(X, metric=metric)
    assert (len(s), s.dim, s.metric, s.name) == (N, D, metric, "array")
    result = s.neighbours(row=7, k=5)
    rows, scores = brute(X[7], metric, 5, exclude=[7])
    assert result.rows.tolist() == rows.tolist() == result.ids
    np.testing.assert_allclose(result.scores, scores, rtol=1e-4, atol=1e-4)
    assert result.labels == [f"#{r}" for r in rows] and result.metric == metric
    table = result.to_arrow()
    assert table.column_names == ["row", "id", "label", "score"]
    assert table.column("row").to_pylist() == rows.tolist()
    # the query's own item only when asked for (under dot a longer vector may outrank it)
    assert s.neighbours(row=7, k=5, include_query=True).rows.tolist() == \
        brute(X[7], metric, 5)[0].tolist()


def test_a_table_with_a_list_column_and_metadata():
    table = pa.table({"id": [f"w{i}" for i in range(N)], "grp": GRP,
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), D)})
    s = explorer.load(table)
    assert s.embedding_set.id_column == "id" and s.embedding_set.vector_column == "embedding"
    assert s.metadata.column_names == ["id", "grp"]
    np.testing.assert_array_equal(s.vectors, X)
    by_id = s.neighbours(id="w7", k=5)
    assert by_id.ids == [f"w{r}" for r in brute(X[7], "cosine", 5, exclude=[7])[0]]
    allowed = GRP == "b"
    where = s.neighbours(row=7, k=6, where="grp = 'b'")
    assert where.rows.tolist() == brute(X[7], "cosine", 6, exclude=[7], allowed=allowed)[0] \
        .tolist()
    assert where.to_dict()["matching"] == int(allowed.sum())
    # the vectors come back as a column; loading that again is the same set
    again = s.to_arrow()
    assert again.column_names == ["id", "grp", "embedding"]
    assert explorer.load(again).id == s.id


def test_a_dataframe_and_an_array_with_a_dataframe_of_metadata():
    df = pd.DataFrame({"title": [f"item {i}" for i in range(N)], "grp": GRP,
                       "vector": list(X)})
    s = explorer.load(df, name="frame")
    assert s.name == "frame" and s.metadata.column_names == ["title", "grp"]
    np.testing.assert_array_equal(s.vectors, X)
    meta = pd.DataFrame({"name": [f"n{i}" for i in range(N)], "size": np.arange(N) * 2})
    s2 = explorer.load(X, metadata=meta, metric="dot")
    assert s2.embedding_set.id_column == "name" and s2.metric == "dot"
    result = s2.neighbours(id="n3", k=4, where="size > 100")
    rows, _ = brute(X[3], "dot", 4, exclude=[3], allowed=np.arange(N) * 2 > 100)
    assert result.ids == [f"n{r}" for r in rows]
    assert result.to_pandas()["id"].tolist() == result.ids


def test_loading_the_same_array_again_reuses_the_stored_set():
    first = explorer.load(X)
    again = explorer.load(X.astype(np.float64))  # the same float32 rows once stored
    assert again.id == first.id and again.reused and not first.reused
    assert [e.id for e in Library().entries()] == [first.id]
    # another metric, other metadata or another name is another set
    other = {explorer.load(X, metric="l2").id,
             explorer.load(X, metadata={"tag": np.arange(N)}).id,
             explorer.load(X, name="named").id}
    assert len(other | {first.id}) == 4 and len(Library().entries()) == 4
    assert explorer.load(X, name="named").reused
    # the same metadata given as a DataFrame (text as pandas' large_string) or as a dict
    tags = [f"t{i}" for i in range(N)]
    assert explorer.load(X, metadata=pd.DataFrame({"tag": tags})).id == \
        explorer.load(X, metadata={"tag": tags}).id


def test_a_file_and_a_library_set_open_as_the_cli_stores_them(tmp_path, capsys):
    path = tmp_path / "vecs.npy"
    np.save(path, X)
    s = explorer.load(str(path))
    stored = cli_json(capsys, "list")["sets"]
    assert [e["id"] for e in stored] == [s.id] and stored[0]["format"] == "npy"
    assert explorer.load(path).id == s.id  # reopened, not imported again
    assert explorer.load(s.id).id == s.id and explorer.load(s.name).id == s.id
    assert cli_json(capsys, "neighbours", path, "--row", 3, "-k", 4)["set"] == s.id
    # a metadata file joined by row order, as `import --metadata` joins it: another set
    (tmp_path / "meta.csv").write_text("word,grp\n" + "".join(f"w{i},{GRP[i]}\n"
                                                               for i in range(N)))
    labelled = explorer.load(path, metadata=tmp_path / "meta.csv", metric="l2")
    assert labelled.id != s.id and labelled.metric == "l2"
    assert labelled.neighbours(id="w3", k=2).ids == \
        [f"w{r}" for r in brute(X[3], "l2", 2, exclude=[3])[0]]
    with pytest.raises(InputError, match="with a file, metadata is the path"):
        explorer.load(path, metadata={"grp": GRP})


def cli_message(capsys, *args) -> str:
    return cli_error(capsys, *args).removeprefix("error: ")


def test_bad_input_is_refused_with_the_cli_s_message(tmp_path, capsys):
    with pytest.raises(InputError, match=r"array has shape \(12,\); expected 2-D"):
        explorer.load(X[0])
    with pytest.raises(InputError, match="at least 2 are needed"):
        explorer.load(X[:, :1])
    with pytest.raises(InputError, match="not numbers"):
        explorer.load(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(InputError, match="nothing to load"):
        explorer.load(None)
    with pytest.raises(InputError, match="metadata has 3 rows but there are 400 vectors"):
        explorer.load(X, metadata={"tag": [1, 2, 3]})
    with pytest.raises(InputError, match="unknown metric 'euclid'"):
        explorer.load(X, metric="euclid")
    # NaN rows: what the CLI says of the same vectors in a file, without the file's name
    bad = X.copy()
    bad[5, 2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(InputError) as refused:
        explorer.load(bad)
    file_message = cli_message(capsys, "import", tmp_path / "bad.npy")
    assert file_message == f"{tmp_path / 'bad.npy'}, {refused.value}"
    assert refused.value.row == 5
    assert Library().entries() == []
    # queries: the very line the CLI prints for the same set
    s = explorer.load(X, metadata={"id": [f"w{i}" for i in range(N)]})
    cases = [({"id": "nope"}, ["--id", "nope"]), ({"row": 3, "k": 0}, ["--row", 3, "-k", 0]),
             ({"row": N}, ["--row", N]),
             ({"row": 3, "where": "colour = 'red'"}, ["--row", 3, "--where", "colour = 'red'"])]
    for kwargs, args in cases:
        with pytest.raises(InputError) as refused:
            s.neighbours(**kwargs)
        assert str(refused.value) == cli_message(capsys, "neighbours", s.id, *args)
    with pytest.raises(InputError, match="the vector has 3 values; the set's vectors have 12"):
        s.neighbours(vector=[1, 2, 3])
    with pytest.raises(InputError, match="k must be a whole number, got 2.5"):
        s.neighbours(row=1, k=2.5)
    with pytest.raises(InputError, match="exactly one query"):
        s.neighbours(row=1, id="w2")
    with pytest.raises(InputError) as refused:
        explorer.load("no-such-set")
    assert str(refused.value) == cli_message(capsys, "neighbours", "no-such-set", "--row", 0)
    with pytest.raises(InputError, match="metric applies to vectors being stored"):
        explorer.load(s.id, metric="dot")
    with pytest.raises(InputError, match="name and model apply to vectors being stored"):
        explorer.load(s, name="other", model="minilm")
    assert explorer.load(s) is s
