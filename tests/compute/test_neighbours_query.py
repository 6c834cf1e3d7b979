"""A neighbours query as asked (explorer/compute/neighbours_query.py): history identity,
the text it shows while searching, and the vector it becomes in a job."""

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import neighbours as nb
from explorer.compute.neighbours_query import QuerySpec
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError


@pytest.fixture
def es():
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(40, 6)) * rng.lognormal(0, 0.5, size=(40, 1))).astype(np.float32)
    return EmbeddingSet(x, pa.table({"id": [f"w{i}" for i in range(40)]}), name="words",
                        id_column="id", metric="cosine")


def test_same_compares_by_value_so_the_history_does_not_repeat_itself():
    a = QuerySpec("centroid", rows=np.array([1, 2, 3]))
    assert a.same(QuerySpec("centroid", rows=np.array([1, 2, 3])))
    assert not a.same(QuerySpec("centroid", rows=np.array([1, 2])))
    assert not a.same(None)
    assert QuerySpec("row", row=4).same(QuerySpec("row", row=4))
    assert not QuerySpec("row", row=4).same(QuerySpec("row", row=5))
    assert not QuerySpec("arithmetic", expr="a + b").same(QuerySpec("text", expr="a + b"))


def test_describe_says_what_was_asked(es):
    assert QuerySpec("row", row=3).describe(es) == f"#3 {es.label(3)}"
    assert QuerySpec("row", row=3).describe(None) == "#3"
    assert QuerySpec("centroid", rows=np.arange(1200)).describe(es) == "centroid of 1,200 selected"
    assert QuerySpec("text", expr="a cat").describe(es) == "\u201ca cat\u201d"
    assert QuerySpec("arithmetic", expr="#1 - #2").describe(es) == "#1 - #2"


def test_build_makes_the_search_s_own_queries(es):
    row = QuerySpec("row", row=7).build(es, "cosine")
    assert row.rows == [7]
    np.testing.assert_array_equal(row.vector, nb.row_query(es, 7).vector)
    centroid = QuerySpec("centroid", rows=np.array([1, 2, 5])).build(es, "dot")
    np.testing.assert_allclose(centroid.vector, nb.centroid_query(es, [1, 2, 5], "dot").vector)
    np.testing.assert_allclose(centroid.vector, es.vectors[[1, 2, 5]].mean(axis=0), rtol=1e-5)
    sums = QuerySpec("arithmetic", expr="#1 - #2 + w3").build(es, "dot")
    np.testing.assert_allclose(sums.vector, es.vectors[1] - es.vectors[2] + es.vectors[3],
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError):
        QuerySpec("arithmetic", expr="#1 + nosuchword").build(es, "dot")
    with pytest.raises(InputError):  # these vectors came from no model installed here
        QuerySpec("text", expr="a cat").build(es, "cosine")
