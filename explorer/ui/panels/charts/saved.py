"""What a session keeps of the charts, read back as untrusted input.

A session names the charted columns and each chart's part of the filter as plain values
(the bars chosen, or a range), never as SQL: the SQL is made again from checked values,
with every name and text quoted, and checked once more before it runs. Anything that does
not fit the set shown (a column it lacks, a value of the wrong kind, something too long to
be anyone's choice) is left out with a note in the user's words.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from explorer.core.column_charts import CATEGORIES, DATES, ChartPart, chart_kind

MAX_COLUMNS = 50
MAX_PARTS = 50
MAX_VALUES = 1000
MAX_TEXT = 1000


@dataclass
class Saved:
    """The checked settings: columns to chart, parts to apply, and notes on the rest."""

    columns: list[str] | None = None
    parts: list[ChartPart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def to_settings(columns: list[str], parts: list[ChartPart]) -> dict[str, Any]:
    """The JSON a session keeps."""
    saved = []
    for part in parts:
        entry: dict[str, Any] = {"column": part.column}
        if part.kind == CATEGORIES:
            entry["values"] = list(part.values)
            if part.other_than:
                entry["other_than"] = list(part.other_than)
        else:
            entry["range"] = [part.low, part.high]
        saved.append(entry)
    return {"columns": list(columns), "parts": saved}


def read_saved(settings: Mapping[str, Any], schema: pa.Schema) -> Saved:
    """Check a session's charts settings against the set shown."""
    saved = Saved()
    columns = settings.get("columns")
    if columns is not None:
        if not isinstance(columns, list) or len(columns) > MAX_COLUMNS:
            saved.notes.append(f"the charts' columns should be a list of at most {MAX_COLUMNS} "
                               f"names, not {describe(columns)}")
        else:
            saved.columns = []
            for name in columns:
                problem = column_problem(name, schema)
                if problem:
                    saved.notes.append(f"the charts: {problem}")
                elif name not in saved.columns:
                    saved.columns.append(name)
    parts = settings.get("parts", [])
    if not isinstance(parts, list) or len(parts) > MAX_PARTS:
        saved.notes.append(f"the charts' filter should be a list of at most {MAX_PARTS} parts, "
                           f"not {describe(parts)}")
        return saved
    seen = set()
    for entry in parts:
        part, problem = read_part(entry, schema)
        if problem:
            saved.notes.append(f"the charts' filter: {problem}, so it was left out")
        elif part.column not in seen:
            seen.add(part.column)
            saved.parts.append(part)
    return saved


def read_part(entry: Any, schema: pa.Schema) -> tuple[ChartPart | None, str]:
    if not isinstance(entry, Mapping):
        return None, f"a part should be an object, not {describe(entry)}"
    name = entry.get("column")
    problem = column_problem(name, schema)
    if problem:
        return None, problem
    t = schema.field(name).type
    kind = chart_kind(t)
    if kind == CATEGORIES:
        values, other_than = entry.get("values"), entry.get("other_than", [])
        if not isinstance(other_than, list) or len(other_than) > MAX_VALUES \
                or None in other_than:
            return None, (f"the values \"(other)\" leaves out in {name!r} should be a list "
                          f"of at most {MAX_VALUES:,} values, not {describe(other_than)}")
        if not isinstance(values, list) or not (values or other_than) \
                or len(values) > MAX_VALUES:
            return None, (f"the values chosen in {name!r} should be a list of 1 to "
                          f"{MAX_VALUES:,} values, not {describe(values)}")
        wanted = bool if pa.types.is_boolean(t) else str
        for value in values + other_than:
            if value is not None and (type(value) is not wanted
                                      or (wanted is str and len(value) > MAX_TEXT)):
                return None, (f"{name!r} holds {'true/false' if wanted is bool else 'text'}, "
                              f"so {describe(value)} cannot be one of its values")
        unit = "bool" if wanted is bool else "text"
        return ChartPart(name, kind, values=tuple(values), other_than=tuple(other_than),
                         unit=unit), ""
    bounds = entry.get("range")
    if not isinstance(bounds, list) or len(bounds) != 2:
        return None, f"the range of {name!r} should be [low, high], not {describe(bounds)}"
    if kind == DATES:
        unit = "date" if pa.types.is_date(t) else "timestamp"
        tz = getattr(t, "tz", None) or ""
        try:
            low, high = (read_moment(b, unit, tz) for b in bounds)
        except ValueError:
            return None, (f"the range of {name!r} should be two dates (2021-03-01) or times, "
                          f"not {describe(bounds)}")
        return ChartPart(name, kind, low=low, high=high, unit=unit, tz=tz), ""
    if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b)
               for b in bounds):
        return None, f"the range of {name!r} should be two numbers, not {describe(bounds)}"
    unit = "integer" if pa.types.is_integer(t) else "number"
    return ChartPart(name, kind, low=bounds[0], high=bounds[1], unit=unit), ""


def read_moment(value: Any, unit: str, tz: str) -> str:
    """A saved date or time, as the ISO text a range keeps (ValueError when it is not one)."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError(value)
    if unit == "date":
        return dt.date.fromisoformat(value).isoformat()
    moment = dt.datetime.fromisoformat(value.removesuffix("+00:00"))
    if moment.tzinfo is not None:
        raise ValueError(value)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return text + "+00:00" if tz else text


def column_problem(name: Any, schema: pa.Schema) -> str:
    if not isinstance(name, str) or len(name) > MAX_TEXT:
        return f"a column should be named by text, not {describe(name)}"
    if name not in schema.names:
        return f"this set has no column named {name[:80]!r}"
    if not chart_kind(schema.field(name).type):
        return f"{name!r} holds {schema.field(name).type}, which has no chart"
    return ""


def describe(value: Any) -> str:
    """A value from the file, short enough to quote in a note."""
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"
