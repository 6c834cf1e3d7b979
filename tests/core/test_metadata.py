"""Metadata filters and text search through DuckDB, on Parquet files and in-memory tables."""

from pathlib import Path

import duckdb
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
    ("1=1; DROP TABLE items", "one expression only .no ';'"),
    ("1=1) ORDER BY __row; DROP VIEW items; SELECT (1", "one expression only"),
    ("   ", "empty"),
    ("sise > 10", "no column named 'sise'; did you mean 'size'"),
    ("count(size) > 1", "aggregate 'count' is not allowed"),
    ("size > avg(size) OVER ()", "window function"),
])
def test_bad_filters_are_input_errors(query, expr, fragment):
    with pytest.raises(InputError, match=fragment):
        query.filter(expr)


SECRET = "s3cr3t-line-for-the-test"

# Each an attack the filter was open to: reading files (into the error text or as rows),
# listing folders, reaching the network, installing extensions, changing the settings.
ATTACKS = [
    ("CAST((SELECT content FROM read_text('{secret}')) AS INTEGER) = 1", "subquery"),
    ("size IN (SELECT 1)", "subquery"),
    ("EXISTS (SELECT * FROM glob('/root/.*'))", "subquery"),
    ("1=0) UNION ALL SELECT 999999 --", "one expression only"),
    ("1=0) UNION ALL SELECT content FROM read_text('{secret}') --", "one expression only"),
    ("1=0\n) UNION ALL SELECT 7 UNION ALL (SELECT 8", "UNION"),
    ("1=1) ORDER BY 1 --", "one expression only"),
    ("1=1) LIMIT 1 --", "one expression only"),
    ("read_text('{secret}') IS NOT NULL", "table function 'read_text'"),
    ("len(glob('/root/*')) > 0", "table function 'glob'"),
    ("size > (FROM read_csv('https://example.com/x.csv') SELECT 1)", "subquery"),
    ("current_setting('allowed_paths') IS NOT NULL", "'current_setting' is not allowed"),
    ("sleep_ms(100000) IS NULL", "'sleep_ms' is not allowed"),
    ("size = $1", "parameter"),
    ("1=1; INSTALL httpfs", "one expression only"),
    ("1=1; SET enable_external_access = true", "one expression only"),
    ("1=1); COPY items TO '/tmp/x.csv'; SELECT (1", "one expression only"),
    ("main.items.size > 1", "no column named"),
]


@pytest.mark.parametrize("attack, fragment", ATTACKS)
def test_attacks_are_refused_naming_what(query, tmp_path, attack, fragment):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n")
    with pytest.raises(InputError, match=fragment) as info:
        query.filter(attack.format(secret=secret))
    assert SECRET not in str(info.value)


def test_the_connection_itself_reaches_no_file_nor_network(query, tmp_path):
    """Even a query that got past the expression check cannot read, list or fetch."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    home = Path.home() / ".duckdb"
    existed = home.exists()
    with query.connect() as con:
        assert con.execute("SELECT count(*) FROM items").fetchone()[0] == TABLE.num_rows
        for sql in (f"SELECT content FROM read_text('{secret}')",
                    "SELECT * FROM glob('/root/*')",
                    "SELECT * FROM read_csv('https://example.com/x.csv')",
                    f"ATTACH '{tmp_path / 'x.db'}'",
                    f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
                    "INSTALL httpfs", "LOAD httpfs",
                    "SET enable_external_access = true",
                    "SET allowed_paths = ['/']"):
            with pytest.raises(duckdb.Error) as info:
                con.execute(sql)
            assert SECRET not in str(info.value)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "x.db").exists()
    assert home.exists() == existed  # no extension folder made by an install attempt


@pytest.mark.parametrize("expr, expected", [
    ("items.size > 25", [3, 4]),
    ("\"size\" > 25 -- a trailing comment", [3, 4]),
    ("list_contains(list_transform([1, 2], lambda x: x * 10), size)", [1]),
    ("regexp_matches(title, '^Chess') AND lower(section) = 'games'", [0, 4]),
    ("COLUMNS('siz.*') > 40", [3]),
])
def test_ordinary_expressions_still_work(query, expr, expected):
    np.testing.assert_array_equal(query.filter(expr), expected)
