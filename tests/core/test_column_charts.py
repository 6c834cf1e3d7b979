"""Column charts: which columns chart, their bars and bins, the parts' SQL, and cross-filtering.

The rows a chart's part selects must be exactly the rows its SQL selects in the table's
own filter (MetadataQuery over the Parquet file), for every kind of column.
"""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.core.chart_bins import linear_bins, log_bins, nice_step, number_bins
from explorer.core.column_charts import (CATEGORIES, DATES, NUMBERS, ChartData, ChartPart, Masks,
                                         combined_sql, cross_counts, default_columns,
                                         describe_columns)
from explorer.core.errors import InputError
from explorer.core.metadata import MetadataQuery

N = 2000


@pytest.fixture(scope="module")
def table() -> pa.Table:
    rng = np.random.default_rng(3)
    sections = np.array(["games", "web", "it's quoted", "science", "art"])
    section = sections[rng.integers(0, 5, N)].astype(object)
    section[::37] = None
    size = rng.lognormal(5, 2, N).astype(np.int64)
    score = rng.normal(size=N)
    score[5] = np.nan
    days = rng.integers(0, 800, N)
    return pa.table({
        "id": np.arange(N),
        "name": [f"pkg-{i}" for i in range(N)],
        "section": pa.array(section, type=pa.string()),
        "size": size,
        "score": score,
        "released": pa.array([dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in days]),
        "seen": pa.array([dt.datetime(2021, 5, 1) + dt.timedelta(minutes=int(d)) for d in days]),
        "flag": pa.array([None if i % 11 == 0 else bool(i % 3) for i in range(N)]),
        "vec": pa.array([[1.0, 2.0]] * N),
    })


@pytest.fixture(scope="module")
def parquet(table, tmp_path_factory):
    """The set's metadata as the library keeps it."""
    path = tmp_path_factory.mktemp("meta") / "metadata.parquet"
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="module", params=["parquet", "arrow"])
def data(request, table, parquet) -> ChartData:
    return ChartData(table, parquet if request.param == "parquet" else None)


@pytest.fixture(scope="module")
def table_query(data, table, parquet) -> MetadataQuery:
    """The table panel's query over the same source: the library's Parquet file, or the
    in-memory table of a set that has none."""
    return MetadataQuery(parquet if data.path is not None else table)


def test_columns_are_described_and_sensible_ones_suggested(table):
    kinds = {k.name: k for k in describe_columns(table)}
    assert kinds["section"].kind == CATEGORIES and kinds["section"].suggested
    assert kinds["size"].kind == NUMBERS and kinds["size"].suggested
    assert kinds["released"].kind == DATES and kinds["released"].suggested
    assert not kinds["name"].suggested and kinds["name"].note == "an id per row"
    assert not kinds["id"].suggested and kinds["id"].note == "an id per row"
    assert kinds["vec"].kind == "" and "list" in kinds["vec"].note
    assert default_columns(list(kinds.values())) == ["section", "size", "score", "released"]


def test_free_text_is_not_suggested():
    text = pa.table({"t": [f"words {i % 700}" for i in range(1000)]})
    (kind,) = describe_columns(text)
    assert kind.kind == CATEGORIES and not kind.suggested and "free text" in kind.note


def test_categories_count_the_whole_set_and_code_every_row(data, table):
    chart = data.prepare("section")
    values = table.column("section").to_pylist()
    assert chart.values[-1] is None and chart.labels[-1] == "(missing)"
    for i, value in enumerate(chart.values):
        assert chart.total[i] == sum(v == value for v in values)
    assert chart.total.sum() == N and chart.other == 0
    for row in (0, 1, 37, 500):
        assert chart.values[chart.codes[row]] == values[row]
    assert list(chart.total) == sorted(chart.total[:-1], reverse=True) + [chart.total[-1]]


def test_more_categories_than_bars_are_counted_as_other():
    many = pa.table({"c": [f"v{i % 30}" for i in range(3000)]})
    chart = ChartData(many).prepare("c")
    assert len(chart.values) == 12 and chart.distinct == 30
    assert chart.other_bar == 12 and chart.labels[12] == "(other)"
    assert chart.other == chart.total[12] == 3000 - chart.total[:12].sum() > 0
    assert int(np.count_nonzero(chart.codes == 12)) == chart.other  # "other" rows: its bar


@pytest.fixture(scope="module", params=["parquet", "arrow"])
def many_values(request, tmp_path_factory) -> tuple[ChartData, MetadataQuery, np.ndarray]:
    """30 values (one with a quote) and some rows with none: 12 bars, "(missing)", "(other)"."""
    rng = np.random.default_rng(8)
    values = np.array([f"v{i}" for i in range(29)] + ["it's"], dtype=object)
    column = values[np.minimum(rng.geometric(0.15, N) - 1, 29)]
    column[::23] = None
    table = pa.table({"c": pa.array(column, type=pa.string())})
    if request.param == "arrow":
        return ChartData(table), MetadataQuery(table), column
    path = tmp_path_factory.mktemp("many") / "metadata.parquet"
    pq.write_table(table, path)
    return ChartData(table, path), MetadataQuery(path), column


def test_the_other_bar_chooses_every_value_without_a_bar_but_not_the_missing(many_values):
    data, table_query, column = many_values
    chart = data.prepare("c")
    other, missing = chart.other_bar, chart.values.index(None)
    assert other == len(chart.values) == missing + 1 and chart.labels[other] == "(other)"
    shown = set(chart.shown_values())
    is_other = np.array([v is not None and v not in shown for v in column])
    assert is_other.any() and "it's" not in shown
    part = chart.part_for_bars([other])
    assert part.other_than == chart.shown_values() and part.label == "c: (other)"
    assert part.sql.startswith('"c" NOT IN (') and "IS NULL" not in part.sql
    rows = data.rows(part.sql)
    np.testing.assert_array_equal(rows, np.flatnonzero(is_other))  # no row without a value
    np.testing.assert_array_equal(rows, table_query.filter(part.sql))  # the table's SQL
    np.testing.assert_array_equal(rows, np.flatnonzero(chart.codes == other))  # its bar
    assert chart.bars_of(part) == {other}
    with_them = chart.part_for_bars([0, missing, other])  # a value, "(missing)", "(other)"
    expected = is_other | (column == chart.values[0]) | np.array([v is None for v in column])
    np.testing.assert_array_equal(data.rows(with_them.sql), np.flatnonzero(expected))
    np.testing.assert_array_equal(table_query.filter(with_them.sql), np.flatnonzero(expected))
    assert with_them.label == f"c: {chart.values[0]}, (missing), (other)"
    assert chart.bars_of(with_them) == {0, missing, other}


def test_histogram_bins_hold_every_value_once(data, table):
    chart = data.prepare("size")
    sizes = table.column("size").to_numpy()
    assert chart.bins.scale == "log"  # sizes span decades
    edges = chart.bins.edges
    assert edges[0] <= sizes.min() and edges[-1] > sizes.max()
    expected = np.histogram(sizes, bins=edges)[0]
    expected[-1] -= np.count_nonzero(sizes == edges[-1])  # numpy's last bin is closed
    np.testing.assert_array_equal(chart.total, expected)
    score = data.prepare("score")
    assert score.bins.scale == "linear" and score.missing == 1  # the NaN
    assert score.total.sum() == N - 1


def test_bin_edges_are_round_numbers():
    assert nice_step(0.37) == 0.5 and nice_step(7) == 10 and nice_step(1.0) == 1
    edges = linear_bins(-1.03, 2.9, integer=False).edges
    assert edges[0] == -1.2 and all(len(repr(float(e))) <= 4 for e in edges)
    assert list(log_bins(3, 4000, has_zero=True, integer=True).edges) == \
        [0, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
    integers = number_bins(np.arange(0, 11, dtype=float), integer=True)
    assert integers.scale == "linear" and np.all(np.diff(integers.edges) == 1)


def test_dates_bin_by_whole_months_and_times_by_round_minutes(data):
    released = data.prepare("released")
    assert released.unit == "date"
    assert all(label.count("-") == 1 for label in released.labels)  # 2020-01: months
    assert released.total.sum() == N
    seen = data.prepare("seen")
    assert seen.unit == "timestamp" and seen.total.sum() == N


@pytest.mark.parametrize("column", ["section", "flag", "size", "score", "released", "seen"])
def test_a_parts_rows_are_what_its_sql_gives_in_the_table(data, table_query, column):
    chart = data.prepare(column)
    if chart.kind == CATEGORIES:
        parts = [chart.part_for_bars([0]), chart.part_for_bars([1, len(chart.values) - 1])]
    else:
        k = len(chart.total)
        parts = [chart.part_for_bins(0, 0), chart.part_for_bins(k // 3, 2 * k // 3),
                 chart.part_for_bins(k - 1, 0)]
    for part in parts:
        rows = data.rows(part.sql)
        np.testing.assert_array_equal(rows, table_query.filter(part.sql))
        assert len(rows) > 0, part.sql
        if chart.kind != CATEGORIES:  # a range of bins holds exactly those bins' rows
            first, last = chart.bins_of(part)
            # but for DuckDB reading Parquet, NaN passes a range that spans the column's
            # statistics (they leave NaN out); the table filter says so too, as checked above
            counted = [r for r in rows if chart.codes[r] < len(chart.total)]
            assert len(counted) == chart.total[first:last + 1].sum(), part.sql


def test_part_sql_and_labels_read_well(data):
    section = data.prepare("section")
    games = section.part_for_bars([section.values.index("games")])
    assert games.sql == "\"section\" = 'games'" and games.label == "section: games"
    quoted = section.part_for_bars([section.values.index("it's quoted"),
                                    len(section.values) - 1])
    assert quoted.sql == "(\"section\" = 'it''s quoted' OR \"section\" IS NULL)"
    assert quoted.label == "section: it's quoted, (missing)"
    size = ChartPart("size", NUMBERS, low=100, high=2000, unit="integer")
    assert size.sql == '"size" >= 100 AND "size" < 2000'
    assert size.label == "size 100 – 2,000"
    day = ChartPart("released", DATES, low="2020-03-01", high="2020-06-01", unit="date")
    assert day.sql == "\"released\" >= DATE '2020-03-01' AND \"released\" < DATE '2020-06-01'"


def test_hostile_names_and_values_stay_quoted(table_query):
    odd = pa.table({'we"ird name': ["a", "b'); DROP TABLE x; --", "c"]})
    data = ChartData(odd)
    chart = data.prepare('we"ird name')
    part = chart.part_for_bars([chart.values.index("b'); DROP TABLE x; --")])
    np.testing.assert_array_equal(data.rows(part.sql), [1])
    np.testing.assert_array_equal(MetadataQuery(odd).filter(part.sql), [1])


def test_the_connection_reads_no_files(data, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret\n")
    with pytest.raises(InputError, match="table function|subquery"):
        data.rows(f"size > (SELECT count(*) FROM read_text('{secret}'))")
    with data.cursor() as cur, pytest.raises(Exception, match="disabled|Permission"):
        cur.execute(f"SELECT * FROM read_text('{secret}')").fetchall()


def test_a_bad_filter_names_the_column_and_suggests_one(data):
    with pytest.raises(InputError, match="no column named 'sise'; did you mean 'size'"):
        data.rows("sise > 3")


def test_cross_filter_leaves_each_chart_out_of_its_own_part(data, table):
    charts = {c: data.prepare(c) for c in ("section", "size")}
    own = {"section": "chart:section", "size": "chart:size"}
    games = charts["section"].part_for_bars([charts["section"].values.index("games")])
    small = charts["size"].part_for_bins(0, 3)
    parts = {"chart:section": data.rows(games.sql), "chart:size": data.rows(small.sql),
             "table": data.rows("score > 0")}
    counted = cross_counts(charts, own, Masks.of(N, parts), selection=np.arange(100))
    counts = {column: c.counts for column, c in counted.items()}
    sections = table.column("section").to_pylist()
    sizes = table.column("size").to_numpy()
    scores = table.column("score").to_numpy()
    in_size = (sizes >= small.low) & (sizes < small.high)
    # the section chart: filtered by size and the table, not by its own choice of games
    others = in_size & (scores > 0)
    for i, value in enumerate(charts["section"].values):
        expected = sum(1 for r in range(N) if others[r] and sections[r] == value)
        assert counts["section"].filtered[i] == expected
    assert counts["section"].filtered_rows == int(others.sum())
    # the size chart: filtered by games and the table
    others = np.array([s == "games" for s in sections]) & (scores > 0)
    assert counts["size"].filtered.sum() == int(others.sum())
    assert counts["size"].selected.sum() == int(others[:100].sum())


def test_no_parts_means_the_whole_set(data):
    chart = data.prepare("section")
    counted = cross_counts({"section": chart}, {"section": "chart:section"}, Masks.of(N, {}))
    np.testing.assert_array_equal(counted["section"].counts.filtered, chart.total)
    assert counted["section"].counts.selected is None


def test_counts_are_reused_while_what_they_were_counted_under_holds(data):
    charts = {c: data.prepare(c) for c in ("section", "size")}
    own = {"section": "chart:section", "size": "chart:size"}
    games = data.rows(charts["section"].part_for_bars([0]).sql)
    small, large = data.rows('"size" < 100'), data.rows('"size" >= 100')
    positive = data.rows("score > 0")
    first_masks = Masks(N, {"chart:section": games, "chart:size": small, "table": positive})
    first = cross_counts(charts, own, first_masks)
    masks = Masks(N, {"chart:section": games, "chart:size": large, "table": positive},
                  previous=first_masks)
    second = cross_counts(charts, own, masks, previous=first)  # a brush on size moved
    assert second["size"] is first["size"]  # counted under section and table only: kept
    assert second["section"] is not first["section"]
    assert second["section"].counts.filtered.sum() == len(np.intersect1d(large, positive))
    assert masks.mask("table") is first_masks.mask("table")  # made once, taken over
    third = cross_counts(charts, own, masks, selection=np.arange(10), previous=second)
    assert third["size"] is not second["size"]  # a selection now: counted again
    expected = np.isin(np.arange(10), np.intersect1d(games, positive)).sum()
    assert third["size"].counts.selected.sum() == expected


def test_combined_sql_joins_parts():
    assert combined_sql(["a = 1"]) == "a = 1"
    assert combined_sql(["a = 1 OR b = 2", "c < 3", " "]) == "(a = 1 OR b = 2) AND (c < 3)"
    assert combined_sql([]) == ""


def test_a_column_without_a_chart_is_refused_in_words(data):
    with pytest.raises(InputError, match="'vec' holds list<item: double>, which has no chart"):
        data.prepare("vec")
    with pytest.raises(InputError, match="no column named 'nope'"):
        data.prepare("nope")
