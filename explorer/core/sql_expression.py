"""A user's filter must be one SQL expression over the set's own columns, checked before it runs.

Filters come from the user's typing, from session files and from concept JSON, so they are
untrusted. DuckDB parses the filter inside the statement it will run (so `1=0) UNION ...`
or a stray `--` cannot change its shape), and the parsed tree is walked: subqueries, table
functions, parameters, functions with side effects and unknown columns are refused with a
message naming them. The connection that runs it cannot reach files or the network either
(`metadata.restricted_connection`); this check makes the refusal clear and early.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cache

import duckdb

from explorer.core.errors import InputError

TABLE = "items"

# Scalar functions that exist but have no place in a filter: they sleep, write, touch
# sequences or settings, or reveal the query or configuration.
REFUSED_FUNCTIONS = frozenset({
    "current_setting", "getvariable", "sleep_ms", "pg_sleep", "write_log", "setseed",
    "nextval", "currval", "current_query", "json_serialize_sql", "json_deserialize_sql",
    "json_serialize_plan", "json_execute_serialized_sql",
})


def wrap(expression: str) -> str:
    """The statement a filter runs in; newlines keep a `--` comment inside the expression."""
    return f"SELECT * FROM {TABLE} WHERE (\n{expression}\n)"


def check_expression(con: duckdb.DuckDBPyConnection, expression: str,
                     columns: list[str]) -> None:
    """Raise InputError unless `expression` is a single expression over `columns`."""
    problem = punctuation_refusal(expression)
    if problem:
        raise InputError(f"filter {expression!r}: one expression only ({problem})")
    try:
        parsed = json.loads(con.execute("SELECT json_serialize_sql(?)",
                                        [wrap(expression)]).fetchone()[0])
    except duckdb.Error as exc:  # json_serialize_sql itself refused the text
        raise InputError(f"filter {expression!r}: {plain_message(exc)}") from None
    if parsed.get("error"):
        message = str(parsed.get("error_message", "cannot be read")).strip().splitlines()[0]
        if "only select statements" in message.lower():
            message = "one expression only, no ';' or other statements"
        raise InputError(f"filter {expression!r}: {strip_kind(message)}")
    statements = parsed.get("statements", [])
    if len(statements) != 1:
        raise InputError(f"filter {expression!r}: one expression only, no ';'")
    where = statement_where(statements[0].get("node", {}), expression)
    refused = list(refusals(where, {c.lower() for c in columns}))
    if refused:
        raise InputError(f"filter {expression!r}: {refused[0]}"
                         + ("" if refused[0].startswith("no column") else
                            " — a filter is one expression over the set's columns"))


def punctuation_refusal(expression: str) -> str | None:
    """A ';' or a ')' closing what the filter did not open, outside strings and comments."""
    try:
        tokens = duckdb.tokenize(expression)
    except duckdb.Error:
        return None  # the parser says what is wrong
    depth = 0
    ends = [start for start, _ in tokens[1:]] + [len(expression)]
    for (start, kind), end in zip(tokens, ends):
        if kind != duckdb.token_type.operator:
            continue
        for char in expression[start:end]:
            if char == ";":
                return "no ';' or other statements"
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                return "a ')' closes a parenthesis the filter did not open"
    return None


def statement_where(node: dict, expression: str) -> dict:
    """The WHERE expression, after checking the statement kept the shape `wrap` gave it."""
    refused = f"filter {expression!r}: one expression only"
    if node.get("type") != "SELECT_NODE":
        raise InputError(f"{refused} (UNION, INTERSECT or EXCEPT is not allowed)")
    table = node.get("from_table") or {}
    select = node.get("select_list") or []
    if (table.get("type") != "BASE_TABLE" or table.get("table_name") != TABLE
            or len(select) != 1 or select[0].get("class") != "STAR"
            or node.get("modifiers") or (node.get("cte_map") or {}).get("map")
            or node.get("group_expressions") or node.get("having") or node.get("qualify")
            or node.get("sample") or not node.get("where_clause")):
        raise InputError(f"{refused} (it may not close the parenthesis around it, add "
                         "clauses such as ORDER BY, GROUP BY or LIMIT, or a comment)")
    return node["where_clause"]


def refusals(tree: dict, columns: set[str]) -> Iterator[str]:
    """What in a parsed expression a filter may not use, in the words shown to the user."""
    lambda_names = {name.lower() for node in walk(tree) if node.get("class") == "LAMBDA"
                    for ref in walk(node.get("lhs") or {}) if ref.get("class") == "COLUMN_REF"
                    for name in ref.get("column_names", [])[:1]}
    kinds = function_kinds()
    for node in walk(tree):
        kind = node.get("class")
        if kind == "SUBQUERY" or "subquery" in node or "node" in node:
            yield "a subquery (SELECT inside the filter) is not allowed"
        elif kind == "PARAMETER":
            yield "a parameter ($1 or ?) is not allowed"
        elif kind == "STAR" and not node.get("columns"):
            yield "'*' is not allowed (name the columns)"
        elif kind == "WINDOW":
            yield ("a window function (… OVER …) is not allowed in a filter; "
                   "compare with a number instead")
        elif kind == "FUNCTION":
            yield from function_refusal(node, kinds)
        elif kind == "COLUMN_REF":
            yield from column_refusal(node.get("column_names", []), columns, lambda_names)


def function_refusal(node: dict, kinds: dict[str, str]) -> Iterator[str]:
    name = str(node.get("function_name", "")).lower()
    if node.get("schema") or node.get("catalog"):
        yield f"function {name!r} with a schema or catalog is not allowed"
    elif name.startswith("__internal") or name in REFUSED_FUNCTIONS:
        yield f"function {name!r} is not allowed in a filter"
    elif kinds.get(name) in ("table", "table_macro", "pragma"):
        yield f"table function {name!r} is not allowed (it reads tables or files)"
    elif kinds.get(name) == "aggregate":
        yield (f"aggregate {name!r} is not allowed: a filter tests one row at a time "
               "(compare with a number instead)")


def column_refusal(names: list[str], columns: set[str], lambda_names: set[str]) -> Iterator[str]:
    parts = [str(n) for n in names]
    if not parts:
        return
    head = parts[0].lower()
    if head in columns or head in lambda_names:
        return
    if head == TABLE and len(parts) > 1 and parts[1].lower() in columns:
        return
    guess = difflib.get_close_matches(head, sorted(columns), n=1)
    hint = f"; did you mean {guess[0]!r}?" if guess else ""
    shown = ", ".join(sorted(columns)[:12]) + (", …" if len(columns) > 12 else "")
    yield (f"no column named {'.'.join(parts)!r}{hint} (columns: {shown}; "
           "quote text values as 'text' and names with spaces as \"my column\")")


def walk(tree) -> Iterator[dict]:
    """Every expression node of a parsed tree, depth first."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "class" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


@cache
def function_kinds() -> dict[str, str]:
    """Function name → its DuckDB kind; a name with a scalar form counts as scalar."""
    with duckdb.connect(":memory:") as con:
        rows = con.execute("SELECT DISTINCT function_name, function_type "
                           "FROM duckdb_functions()").fetchall()
    kinds: dict[str, str] = {}
    for name, kind in rows:
        if kinds.get(name.lower()) not in ("scalar", "macro"):
            kinds[name.lower()] = kind
    return kinds


def strip_kind(message: str) -> str:
    """'Parser Error: syntax error at …' → 'syntax error at …'."""
    head, sep, rest = message.partition(" Error: ")
    return rest if sep and " " not in head.strip() else message


def plain_message(exc: Exception) -> str:
    return strip_kind(str(exc).strip().splitlines()[0])
