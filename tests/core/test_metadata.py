"""Metadata filters and text search through DuckDB, on Parquet files and in-memory tables."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.errors import InputError
from explorer.core.metadata import MetadataQuery

TABLE = pa.table({
    "section": ["games", "news", "games", "art", "games"],
    "size": [5, 20, 11, 50, 30],
    "title": ["Chess openings", "Election night", "Speedrun records", "Monet", "Chess clocks"],
})


@pytest.fixture(params=["parquet", "arrow"])
def query(request, tmp_path):
    if request.param == "parquet":
        path = tmp_path / "m.parquet"
        pq.write_table(TABLE, path)
        return MetadataQuery(path)
    return MetadataQuery(TABLE)


def test_filter_expression(query):
    np.testing.assert_array_equal(query.filter("section = 'games' and size > 10"), [2, 4])
    np.testing.assert_array_equal(query.filter("size between 10 and 30 or title like 'Mon%'"),
                                  [1, 2, 3, 4])


def test_substring_search_is_case_insensitive(query):
    np.testing.assert_array_equal(query.search("chess"), [0, 4])
    np.testing.assert_array_equal(query.search("100%"), [])


@pytest.mark.parametrize("expr, fragment", [
    ("colour = 'red'", "colour"),
    ("size >", "syntax error"),
    ("1=1; DROP TABLE items", "syntax error"),
    ("1=1) ORDER BY __row; DROP VIEW items; SELECT (1", "one expression only"),
    ("   ", "empty"),
])
def test_bad_filters_are_input_errors(query, expr, fragment):
    with pytest.raises(InputError, match=fragment):
        query.filter(expr)
