"""Per-column chart data for the linked charts: bars of categories, histograms of numbers and dates.

Why this shape: a brush on one chart must update the others within 100 ms at a million
rows. So each chosen column is prepared once per set — DuckDB counts the whole set's
categories (GROUP BY), numbers and dates get round bin edges (`chart_bins`) — and every row
gets its bar's or bin's code. After that, a filter is a row mask, and a chart's counts are
one `bincount` of its codes under that mask (`cross_counts`).

A chart's part of the filter is SQL, the same expression the table's filter box takes
(`ChartPart.sql`), and the rows it selects are what DuckDB says that SQL selects, on a
connection as restricted as the table's (`metadata.restricted_connection`: no files, no
network, its settings locked), after the same check (`sql_expression.check_expression`).
So "Copy as SQL" typed into the table gives the same rows, by construction.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.chart_bins import Bins, day_bins, number_bins, second_bins
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.metadata import ROW, restricted_connection
from explorer.core.sql_expression import check_expression, plain_message, wrap

CATEGORIES, NUMBERS, DATES = "categories", "numbers", "dates"
TOP_CATEGORIES = 12  # bars per chart; the rest share the "(other)" bar
MAX_SUGGESTED_CATEGORIES = 100  # more distinct values than this is not a chart by default
SUGGESTED = 4  # charts shown for a set opened the first time
MISSING_LABEL = "(missing)"
OTHER_LABEL = "(other)"
ID_NAME = re.compile(r"(^|_)(id|ids|key|row|index|idx|uuid|hash)$", re.IGNORECASE)


@dataclass(frozen=True)
class ColumnKind:
    """How a column can be charted, and whether it is by default (with the reason if not)."""

    name: str
    kind: str  # CATEGORIES | NUMBERS | DATES | "" (no chart: lists, structs, bytes)
    distinct: int
    suggested: bool
    note: str = ""  # "free text", "an id per row", "holds list<float>"


def describe_columns(table: pa.Table) -> list[ColumnKind]:
    """Every column with the chart it would get; low-cardinality categories, numbers and dates
    are suggested, free text and ids are not (they make a chart of 1-row bars)."""
    n = table.num_rows
    kinds = []
    for name in table.column_names:
        column = table.column(name)
        kind = chart_kind(column.type)
        if not kind:
            kinds.append(ColumnKind(name, "", 0, False, f"holds {column.type}"))
            continue
        distinct = int(pc.count_distinct(column).as_py())
        note = ""
        if kind == CATEGORIES and distinct > MAX_SUGGESTED_CATEGORIES:
            note = "an id per row" if distinct >= 0.9 * n else "free text or many values"
        elif kind == NUMBERS and pa.types.is_integer(column.type) and ID_NAME.search(name) \
                and distinct >= 0.9 * n:
            note = "an id per row"
        elif distinct == 0:
            note = "no values"
        kinds.append(ColumnKind(name, kind, distinct, not note, note))
    return kinds


def default_columns(kinds: Sequence[ColumnKind], limit: int = SUGGESTED) -> list[str]:
    """The first `limit` suggested columns, in the table's order."""
    return [k.name for k in kinds if k.suggested][:limit]


def chart_kind(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t):
        return CATEGORIES
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return NUMBERS
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return DATES
    return ""


@dataclass(frozen=True)
class Chart:
    """One column prepared for charting: its bars (categories) or bins, the whole set's
    count in each, and each row's bar or bin as a code (`len(total)` for rows in no bar:
    a number or date with no value).

    Categories have a bar per top value (`values`), then "(missing)" when some rows have no
    value, then "(other)" when there are more values than bars: its count is in `total`
    (index `len(values)`) but it has no entry in `values`, being every value but those."""

    column: str
    kind: str  # CATEGORIES | NUMBERS | DATES
    unit: str  # categories: "text" | "bool"; else "integer" | "number" | "date" | "timestamp"
    codes: np.ndarray  # int16 per row
    total: np.ndarray  # int64 per bar or bin
    values: tuple[Any, ...] = ()  # categories: the value of each bar (None: no value)
    bins: Bins | None = None  # numbers and dates
    other: int = 0  # rows with a value that has no bar of its own (the "(other)" bar)
    missing: int = 0  # rows with no value (shown as a bar for categories)
    distinct: int = 0
    tz: str = ""  # a timestamp column's time zone, if it has one

    @property
    def labels(self) -> list[str]:
        """What each bar says: its value, or "(missing)"."""
        if self.kind == CATEGORIES:
            labels = [MISSING_LABEL if v is None else str(v) for v in self.values]
            return labels + [OTHER_LABEL] * (len(self.total) - len(self.values))
        edges = self.bins.edges[:-1]
        if self.unit == "date":
            days = edges.astype(np.int64).astype("datetime64[D]")
            for unit in ("Y", "M"):  # yearly or monthly bins read as 2021 or 2021-03
                if np.all(days.astype(f"datetime64[{unit}]").astype("datetime64[D]") == days):
                    return [str(d) for d in days.astype(f"datetime64[{unit}]")]
        return [format_value(self, e) for e in edges]

    def counts_rows(self, rows: np.ndarray | None) -> np.ndarray:
        """Rows per bar or bin among `rows` (all rows for None)."""
        if rows is None:
            return self.total
        k = len(self.total)
        return np.bincount(self.codes[rows], minlength=k + 1)[:k]

    @property
    def other_bar(self) -> int:
        """The "(other)" bar's index, or -1 when every value has a bar."""
        return len(self.values) if len(self.total) > len(self.values) else -1

    def shown_values(self) -> tuple[Any, ...]:
        """The values with a bar of their own (not "(missing)"): what "(other)" is not."""
        return tuple(v for v in self.values if v is not None)

    def part_for_bars(self, bars: Sequence[int]) -> ChartPart | None:
        """The filter part choosing these bars (None for none)."""
        chosen = sorted({int(b) for b in bars if 0 <= int(b) < len(self.total)})
        if not chosen:
            return None
        other = self.other_bar in chosen
        return ChartPart(self.column, CATEGORIES,
                         values=tuple(self.values[b] for b in chosen if b < len(self.values)),
                         other_than=self.shown_values() if other else (), unit=self.unit)

    def bars_of(self, part: ChartPart) -> set[int]:
        """The bars a part of bars chooses, to draw it."""
        if part.kind != CATEGORIES:
            return set()
        bars = {i for i, v in enumerate(self.values) if v in part.values}
        if part.other_than and self.other_bar >= 0:
            bars.add(self.other_bar)
        return bars

    def part_for_bins(self, first: int, last: int) -> ChartPart | None:
        """The filter part holding bins first..last (inclusive): edges[first] <= value <
        edges[last + 1]."""
        edges = self.bins.edges
        first, last = sorted((int(first), int(last)))
        first, last = max(first, 0), min(last, len(edges) - 2)
        if first > last:
            return None
        return ChartPart(self.column, self.kind, low=edge_value(self, edges[first]),
                         high=edge_value(self, edges[last + 1]), unit=self.unit, tz=self.tz)

    def bins_of(self, part: ChartPart) -> tuple[int, int] | None:
        """The bins a range part covers (first, last), to draw it; None if it covers none."""
        if self.bins is None or part.kind == CATEGORIES:
            return None
        low, high = axis_number(self, part.low), axis_number(self, part.high)
        edges = self.bins.edges
        first = int(np.searchsorted(edges, low, side="right")) - 1
        last = int(np.searchsorted(edges, high, side="left")) - 1
        first, last = max(first, 0), min(last, len(edges) - 2)
        return (first, last) if first <= last else None


@dataclass(frozen=True)
class ChartPart:
    """One chart's part of the filter, as the user made it: some bars chosen (`values`; None
    is "no value"), or a range `low <= value < high` in the column's units (numbers, or ISO
    dates and times as text). Sessions keep these fields, never SQL.

    The "(other)" bar is `other_than`: the values shown with bars of their own, which it
    is every value but. A row with no value is not "(other)" (it has its own bar), and
    SQL agrees: `x NOT IN (...)` is not true where x is NULL."""

    column: str
    kind: str  # CATEGORIES | NUMBERS | DATES
    values: tuple[Any, ...] = ()
    other_than: tuple[Any, ...] = ()  # "(other)" chosen: any value but these
    low: Any = None
    high: Any = None
    unit: str = ""
    tz: str = ""

    @property
    def sql(self) -> str:
        """The WHERE expression for this part, as the table's filter box takes it."""
        col = quote_name(self.column)
        if self.kind == CATEGORIES:
            present = [v for v in self.values if v is not None]
            tests = []
            if len(present) == 1:
                tests.append(f"{col} = {sql_literal(present[0])}")
            elif present:
                tests.append(f"{col} IN ({', '.join(sql_literal(v) for v in present)})")
            if self.other_than:
                shown = ", ".join(sql_literal(v) for v in self.other_than)
                tests.append(f"{col} NOT IN ({shown})")
            if len(present) < len(self.values):
                tests.append(f"{col} IS NULL")
            return " OR ".join(tests) if len(tests) < 2 else f"({' OR '.join(tests)})"
        low, high = self.range_literal(self.low), self.range_literal(self.high)
        return f"{col} >= {low} AND {col} < {high}"

    @property
    def label(self) -> str:
        """A short description for a chip: "section: games, web", "installed_kb 100 – 2,000"."""
        if self.kind == CATEGORIES:
            shown = [MISSING_LABEL if v is None else str(v) for v in self.values]
            shown += [OTHER_LABEL] if self.other_than else []
            text = ", ".join(s if len(s) <= 24 else s[:23] + "…" for s in shown[:3])
            more = f" +{len(shown) - 3}" if len(shown) > 3 else ""
            return f"{self.column}: {text}{more}"
        low, high = self.range_text(self.low), self.range_text(self.high)
        if self.unit == "timestamp" and (len(low) > 10 or len(high) > 10):
            low, high = str(self.low)[:16], str(self.high)[:16]  # one format for both ends
        return f"{self.column} {low} – {high}"

    def range_literal(self, value: Any) -> str:
        if self.unit == "date":
            return f"DATE '{value}'"
        if self.unit == "timestamp":
            return f"TIMESTAMPTZ '{value}'" if self.tz else f"TIMESTAMP '{value}'"
        return number_literal(value)

    def range_text(self, value: Any) -> str:
        if self.unit in ("date", "timestamp"):
            return str(value).removesuffix("+00:00").removesuffix(" 00:00:00")
        return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


class ChartData:
    """One set's metadata on a restricted DuckDB connection, for the charts' queries.

    SQL runs on what the table's filter runs on: the library's metadata file when the set
    has one (`path`), read the way `MetadataQuery` reads it, else the in-memory table. The
    same source matters: DuckDB's Parquet reader and its Arrow scan can disagree on the
    odd row (a NaN in a range that spans a column's statistics). Row codes for counting
    come from the in-memory `table`, which holds the same values.

    The connection is made on first use and kept; each query runs on its own cursor, so
    jobs on several worker threads may query at once (a DuckDB connection object is not
    thread-safe, its cursors are).
    """

    def __init__(self, table: pa.Table, path: Path | None = None) -> None:
        self.table = table
        self.path = Path(path).resolve() if path is not None else None
        self.count = table.num_rows
        self.column_names = list(table.column_names)
        self._arrow = None if path is not None else \
            table.append_column(ROW, pa.array(np.arange(table.num_rows)))
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor where the set is the view `items`; it reads no other file, nor the network."""
        with self._lock:
            if self._con is None:
                self._con = self._connect()
            cur = self._con.cursor()
        if self._arrow is not None:
            cur.register("items_src", self._arrow)  # registrations belong to a cursor
        return cur

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.path is None:
            con = restricted_connection([])
            con.register("items_src", self._arrow)
            con.execute("CREATE VIEW items AS SELECT * FROM items_src")
            return con
        path = str(self.path)
        con = restricted_connection([path])
        try:  # the row number from the reader's position, as MetadataQuery numbers rows
            quoted = path.replace("'", "''")
            con.execute(f"CREATE VIEW items AS SELECT t.*, (row_number() OVER () - 1) AS {ROW} "
                        f"FROM read_parquet('{quoted}') AS t")
        except BaseException:
            con.close()
            raise
        return con

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def prepare(self, column: str, state: TaskState | None = None) -> Chart:
        """The chart of `column`: whole-set counts and each row's bar or bin."""
        if column not in self.column_names:
            raise InputError(f"no column named {column!r} to chart", column=column)
        kind = chart_kind(self.table.schema.field(column).type)
        if not kind:
            raise InputError(f"column {column!r} holds {self.table.schema.field(column).type}, "
                             "which has no chart (categories, numbers and dates do)")
        if state is not None:
            state.check()
        if kind == CATEGORIES:
            return self._categories(column)
        return self._histogram(column, kind)

    def rows(self, expression: str) -> np.ndarray:
        """Sorted rows where `expression` (a chart's part, or any filter) is true."""
        # the table's very statement (`MetadataQuery.filter`): DuckDB may plan another one
        # differently where its Parquet statistics leave NaN out
        sql = wrap(expression).replace("SELECT *", f"SELECT {ROW}", 1) + f" ORDER BY {ROW}"
        with self.cursor() as cur:
            check_expression(cur, expression, self.column_names)
            try:
                found = cur.execute(sql).fetchnumpy()[ROW]
            except duckdb.Error as exc:
                raise InputError(f"filter {expression!r}: {plain_message(exc)}") from None
        return np.asarray(found, dtype=np.int64)

    def _categories(self, column: str) -> Chart:
        col = quote_name(column)
        with self.cursor() as cur:
            top = cur.execute(f"SELECT {col} AS v, count(*) AS n FROM items WHERE {col} IS NOT "
                              f"NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_CATEGORIES}"
                              ).fetchall()
            missing, distinct = cur.execute(f"SELECT count(*) - count({col}), "
                                            f"count(DISTINCT {col}) FROM items").fetchone()
        values: list[Any] = [v for v, _n in top]
        total = [int(n) for _v, n in top]
        # the codes: a top value's bar, then "(missing)" (if any), then "(other)" = k
        data = self.table.column(column).combine_chunks()
        if pa.types.is_dictionary(data.type):
            data = data.cast(data.type.value_type)
        k = len(values) + (1 if missing else 0)
        found = pc.index_in(data, value_set=pa.array(values, type=data.type))
        codes = pc.fill_null(found, k).to_numpy(zero_copy_only=False).astype(np.int16)
        if missing:
            codes[data.is_null().to_numpy(zero_copy_only=False)] = len(values)
            values.append(None)
            total.append(int(missing))
        unit = "bool" if pa.types.is_boolean(data.type) else "text"
        other = self.count - sum(total)
        if other:
            total.append(other)
        return Chart(column, CATEGORIES, unit, codes, np.array(total, dtype=np.int64),
                     values=tuple(values), other=other, missing=int(missing),
                     distinct=int(distinct))

    def _histogram(self, column: str, kind: str) -> Chart:
        data = self.table.column(column).combine_chunks()
        if pa.types.is_dictionary(data.type):
            data = data.cast(data.type.value_type)
        tz = ""
        if kind == DATES:
            if pa.types.is_date(data.type):
                unit, numbers = "date", data.cast(pa.date32()).cast(pa.int32())
            else:
                unit, tz = "timestamp", data.type.tz or ""
                numbers = pc.cast(data, pa.timestamp("us", tz or None), safe=False).cast(pa.int64())
            values = numbers.to_numpy(zero_copy_only=False).astype(np.float64) \
                if numbers.null_count == 0 else \
                numbers.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False)
            if unit == "timestamp":
                values = values / 1e6
        else:
            unit = "integer" if pa.types.is_integer(data.type) else "number"
            values = data.cast(pa.float64()).fill_null(math.nan).to_numpy(zero_copy_only=False)
        finite = values[np.isfinite(values)]
        if not len(finite):
            bins = Bins(np.array([0.0, 1.0]), "linear")
        elif unit == "date":
            bins = day_bins(float(finite.min()), float(finite.max()))
        elif unit == "timestamp":
            bins = second_bins(float(finite.min()), float(finite.max()))
        else:
            bins = number_bins(finite, unit == "integer")
        k = len(bins.edges) - 1
        codes = bins.codes(values, k)
        total = np.bincount(codes, minlength=k + 1)[:k].astype(np.int64)
        return Chart(column, kind, unit, codes, total, bins=bins,
                     missing=int(len(values) - len(finite)), distinct=0, tz=tz)


@dataclass(frozen=True)
class ChartCounts:
    """What one chart draws over its whole-set bars: the rows the other parts of the filter
    let through, and of those the selected ones (None without a selection)."""

    filtered: np.ndarray
    selected: np.ndarray | None = None
    filtered_rows: int = 0


class Masks:
    """The filter's parts (part key -> sorted rows) and the row lists charts count under.

    Counting through row numbers (`codes[rows]`) is several times faster than through a
    boolean mask at a million rows, so a chart under one other part counts that part's
    rows as they are; under several, their masks are ANDed once per combination. Masks are
    made on first use and taken over from the `previous` Masks for parts whose rows are the
    same array (a brush changes one part; the others' masks stay).
    """

    def __init__(self, count: int, parts: Mapping[str, np.ndarray],
                 previous: Masks | None = None) -> None:
        self.count = count
        self.parts = dict(parts)
        self._masks: dict[str, np.ndarray] = {}
        self._combined: dict[frozenset[str], np.ndarray] = {}
        if previous is not None and previous.count == count:
            for key, rows in self.parts.items():
                if previous.parts.get(key) is rows and key in previous._masks:
                    self._masks[key] = previous._masks[key]

    @classmethod
    def of(cls, count: int, parts: Mapping[str, np.ndarray]) -> Masks:
        return cls(count, parts)

    def mask(self, key: str) -> np.ndarray:
        if key not in self._masks:
            mask = np.zeros(self.count, dtype=bool)
            mask[self.parts[key]] = True
            self._masks[key] = mask
        return self._masks[key]

    def others(self, key: str) -> tuple[str, ...]:
        return tuple(k for k in self.parts if k != key)

    def rows_without(self, key: str) -> np.ndarray | None:
        """Sorted rows that pass every part but `key`'s (None: every row)."""
        others = self.others(key)
        if not others:
            return None
        if len(others) == 1:
            return self.parts[others[0]]
        group = frozenset(others)
        if group not in self._combined:
            combined = self.mask(others[0]).copy()
            for other in others[1:]:
                combined &= self.mask(other)
            self._combined[group] = np.flatnonzero(combined)
        return self._combined[group]


@dataclass(frozen=True)
class Counted:
    """A chart's counts and what they were counted under, to reuse them while that holds."""

    chart: Chart
    under: tuple[tuple[str, np.ndarray], ...]  # the other parts' keys and rows (held, so
    selection: np.ndarray | None  # their identity stays unique) and the selection
    counts: ChartCounts

    def holds(self, chart: Chart, under: tuple, selection: np.ndarray | None) -> bool:
        return (self.chart is chart and self.selection is selection
                and len(self.under) == len(under)
                and all(k == k2 and r is r2 for (k, r), (k2, r2) in zip(self.under, under)))


def cross_counts(charts: Mapping[str, Chart], own: Mapping[str, str], masks: Masks,
                 selection: np.ndarray | None = None, state: TaskState | None = None,
                 previous: Mapping[str, Counted] | None = None) -> dict[str, Counted]:
    """Each chart's counts under every part of the filter but its own (`own[column]` is the
    key of the chart's own part): a chart you brush keeps showing all its bars, so you can
    move the brush, while the others follow it (crossfilter's rule). A chart whose other
    parts and selection are those of `previous` keeps its counts (the brushed one does)."""
    selection = selection if selection is not None and len(selection) else None
    result = {}
    for column, chart in charts.items():
        if state is not None:
            state.check()
        key = own.get(column, "")
        under = tuple((k, masks.parts[k]) for k in masks.others(key))
        old = (previous or {}).get(column)
        if old is not None and old.holds(chart, under, selection):
            result[column] = old
            continue
        rows = masks.rows_without(key)
        filtered = chart.counts_rows(rows)
        selected = None
        if selection is not None:
            if rows is None:
                picked = selection
            else:
                passes = masks.mask(under[0][0]) if len(under) == 1 else None
                if passes is None:
                    passes = np.zeros(masks.count, dtype=bool)
                    passes[rows] = True
                picked = selection[passes[selection]]
            selected = chart.counts_rows(picked)
        count = masks.count if rows is None else len(rows)
        result[column] = Counted(chart, under, selection, ChartCounts(filtered, selected, count))
    return result


def combined_sql(expressions: Sequence[str]) -> str:
    """The parts as one WHERE expression: each in parentheses, joined by AND."""
    parts = [e.strip() for e in expressions if e.strip()]
    if len(parts) == 1:
        return parts[0]
    return " AND ".join(f"({e})" for e in parts)


def quote_name(name: str) -> str:
    """A column name as SQL: always quoted, so names with spaces or keywords work."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """A category's value as SQL: text quoted ('' for a quote), booleans as TRUE/FALSE."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return number_literal(value)
    return "'" + str(value).replace("'", "''") + "'"


def number_literal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise InputError(f"{value!r} is not a number a filter can compare with")
    return str(int(value)) if isinstance(value, int) else repr(float(value))


def edge_value(chart: Chart, edge: float) -> Any:
    """A bin edge in the column's units: an int for integer columns (and round numbers),
    ISO text for dates and timestamps."""
    if chart.unit == "date":
        return str(np.datetime64(round(edge), "D"))
    if chart.unit == "timestamp":
        moment = dt.datetime.fromtimestamp(edge, dt.UTC)
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        return text + "+00:00" if chart.tz else text
    if chart.unit == "integer" or float(edge).is_integer():
        return int(edge)
    return float(edge)


def axis_number(chart: Chart, value: Any) -> float:
    """`edge_value` back on the chart's axis (days or seconds since 1970 for dates)."""
    if chart.unit == "date":
        return float(np.datetime64(str(value), "D").astype(np.int64))
    if chart.unit == "timestamp":
        text = str(value).removesuffix("+00:00")
        moment = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        return moment.timestamp()
    return float(value)


def format_value(chart: Chart, edge: float) -> str:
    """A bin edge as an axis label: 1.5k, 2M, 2021-03, 14:00."""
    if chart.unit == "date":
        day = np.datetime64(round(edge), "D")
        return str(day)
    if chart.unit == "timestamp":
        return dt.datetime.fromtimestamp(edge, dt.UTC).strftime("%Y-%m-%d %H:%M")
    return short_number(edge)


def short_number(value: float) -> str:
    """1200 → 1.2k, 3500000 → 3.5M, 0.25 → 0.25: axis labels that fit under a bin."""
    size = abs(value)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"
