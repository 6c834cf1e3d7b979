"""Checks a table file needs before or after Arrow reads it.

Arrow's JSON reader recurses once per level of nesting and takes the whole process down
(a segmentation fault, no exception) on a line nested some thousands deep, so such
lines are refused before it runs. Arrow's JSON and Parquet readers also pass text
that is not UTF-8 through unchecked, which fails much later in whatever reads it next;
it is found here, by row and column.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.core.errors import InputError

MAX_DEPTH = 64  # levels of nested lists/objects in one JSON line; real files use a handful
_BLOCK = 16 << 20
_OPENERS = (ord("["), ord("{"))
# A JSON string (skipped whole, whatever brackets it holds) or a bracket.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def check_json_depth(path: Path, limit: int = MAX_DEPTH) -> None:
    """Refuse a line nested deeper than `limit`, before any JSON parser meets it.

    Only lines with more than `limit` opening brackets can be that deep; those few are
    tokenized to find their real depth (brackets inside strings do not count).
    """
    line = 1
    with open(path, "rb") as fh:
        while lines := fh.readlines(_BLOCK):
            for i in _bracket_heavy(lines, limit):
                depth = _depth(lines[i], limit)
                if depth > limit:
                    raise InputError(f"nests lists or objects more than {limit} levels deep",
                                     path=path, line=line + int(i))
            line += len(lines)


def _bracket_heavy(lines: list[bytes], limit: int) -> np.ndarray:
    data = np.frombuffer(b"".join(lines), dtype=np.uint8)
    opens = np.isin(data, _OPENERS)
    starts = np.cumsum([0] + [len(line) for line in lines[:-1]])
    return np.flatnonzero(np.add.reduceat(opens, starts, dtype=np.int64) > limit)


def _depth(line: bytes, limit: int) -> int:
    """The deepest nesting in one line, counted up to just past `limit`."""
    depth = deepest = 0
    for token in _TOKEN.finditer(line):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def check_utf8(table: pa.Table, path: Path) -> None:
    """Text columns must hold UTF-8; the error names the first row and column that does not."""
    try:
        table.validate(full=True)
        return
    except pa.ArrowInvalid as exc:
        problem = str(exc)
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            row = _first_not_utf8(col)
            if row is not None:
                raise InputError("holds text that is not UTF-8", path=path, row=row, column=name,
                                 hint="save the file as UTF-8")
    raise InputError(f"damaged table: {problem}", path=path)


def _first_not_utf8(col: pa.ChunkedArray) -> int | None:
    """The first row whose text is not UTF-8; None when the column is damaged otherwise."""
    offset = 0
    for chunk in col.chunks:
        try:
            chunk.validate(full=True)
        except pa.ArrowInvalid:
            as_bytes = chunk.view(pa.large_binary() if pa.types.is_large_string(chunk.type)
                                  else pa.binary())
            try:
                as_bytes.validate(full=True)  # offsets and lengths, before any value is read
            except pa.ArrowInvalid:
                return None
            for i, value in enumerate(as_bytes.to_pylist()):
                try:
                    if value is not None:
                        value.decode("utf-8")
                except UnicodeDecodeError:
                    return offset + i
        offset += len(chunk)
    return None
