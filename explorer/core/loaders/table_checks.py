"""Checks a table file needs before or after Arrow reads it.

Arrow's JSON reader recurses once per level of nesting and takes the whole process down
(a segmentation fault, no exception) on a line nested some thousands deep; its readers
keep kilobytes per column, so a small file naming a million columns asks for gigabytes.
Both are refused before Arrow runs. Arrow's JSON and Parquet readers also pass text that
is not UTF-8 through unchecked, which fails much later in whatever reads it next: text
files are checked line by line before they are read, Parquet and Arrow tables by row and
column after.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.core.errors import InputError

MAX_DEPTH = 64  # levels of nested lists/objects in one JSON line; real files use a handful
# Arrow's readers keep some kilobytes per column (CSV ~9 KB, JSON ~4 KB): a few MB of
# column names would otherwise ask for gigabytes.
MAX_COLUMNS = 65_536
_WIDE = "store each vector in one list column, or save the vectors as .npy"
_BLOCK = 4 << 20
# A JSON string (skipped whole, whatever brackets it holds) or a bracket.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
# A field name: a string followed by a colon (a string value holding '": ' may add one more).
_KEY = re.compile(rb'"([^"\\]*(?:\\.[^"\\]*)*)"\s*:')


def check_json_lines(path: Path) -> None:
    """Refuse what would take Arrow's JSON reader down, before it runs.

    A line nested deeper than MAX_DEPTH (only lines with that many opening brackets can
    be; those few are tokenized, so brackets inside strings do not count), more than
    MAX_COLUMNS different field names in the file, or bytes that are not UTF-8 (Arrow
    keeps them, in values and in field names, and what reads them next fails).
    """
    keys: set[bytes] = set()
    line = 1
    for block in _line_blocks(path):
        _check_utf8_block(block, line, path)
        _check_depth(block, line, path)
        keys.update(_KEY.findall(block))
        if len(keys) > MAX_COLUMNS:
            raise InputError(f"has more than {MAX_COLUMNS} different field names; that many "
                             "columns cannot be read", path=path,
                             line=_line_past_keys(block, line, keys), hint=_WIDE)
        line += block.count(b"\n")


def check_utf8_lines(path: Path) -> None:
    """A text table must be UTF-8 throughout: Arrow would make a column with one other byte
    in its first block binary, and fail on one in a later block."""
    line = 1
    for block in _line_blocks(path):
        _check_utf8_block(block, line, path)
        line += block.count(b"\n")


def _check_utf8_block(block: bytes, first_line: int, path: Path) -> None:
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text: byte 0x{block[exc.start]:02x} cannot be decoded",
                         path=path, line=first_line + block.count(b"\n", 0, exc.start),
                         hint="save the file as UTF-8") from None


def _line_blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks of whole lines (a line longer than a block is one block)."""
    pending: list[bytes] = []
    with open(path, "rb") as fh:
        while chunk := fh.read(_BLOCK):
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:
                pending.append(chunk)
                continue
            yield b"".join([*pending, chunk[:cut]])
            pending = [chunk[cut:]]
    if b"".join(pending):
        yield b"".join(pending)


def _check_depth(block: bytes, first_line: int, path: Path) -> None:
    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    brackets = np.flatnonzero((data == ord("[")) | (data == ord("{")))
    per_line = np.bincount(np.searchsorted(ends, brackets))  # opening brackets per line
    for i in np.flatnonzero(per_line > MAX_DEPTH):
        start = int(ends[i - 1]) + 1 if i else 0
        stop = int(ends[i]) if i < len(ends) else len(block)
        if _depth(block[start:stop]) > MAX_DEPTH:
            raise InputError(f"nests lists or objects more than {MAX_DEPTH} levels deep",
                             path=path, line=first_line + int(i))


def _depth(line: bytes) -> int:
    """The deepest nesting in one line, counted up to just past MAX_DEPTH."""
    depth = deepest = 0
    for token in _TOKEN.finditer(line):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def _line_past_keys(block: bytes, first_line: int, keys: set[bytes]) -> int:
    """The line of `block` whose field names took the count past MAX_COLUMNS."""
    seen = keys - set(_KEY.findall(block))
    for i, text in enumerate(block.split(b"\n")):
        seen.update(_KEY.findall(text))
        if len(seen) > MAX_COLUMNS:
            return first_line + i
    return first_line


def check_columns(path: Path, first_line: str, delim: str) -> None:
    """A delimited file's first line may not name more than MAX_COLUMNS columns."""
    check_column_count(path, first_line.count(delim) + 1, line=1)


def check_column_count(path: Path, count: int, line: int | None = None) -> None:
    if count > MAX_COLUMNS:
        raise InputError(f"has {count} columns; more than {MAX_COLUMNS} cannot be read",
                         path=path, line=line, hint=_WIDE)


def check_utf8(table: pa.Table, path: Path) -> None:
    """Text columns must hold UTF-8; the error names the first row and column that does not."""
    try:
        table.validate(full=True)
        return
    except UnicodeDecodeError:  # a column (or nested field) name, which Arrow cannot report
        raise InputError("a column name is not UTF-8 text", path=path,
                         hint="save the file with UTF-8 names") from None
    except (pa.ArrowException, ValueError) as exc:
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
        except pa.ArrowException:
            as_bytes = chunk.view(pa.large_binary() if pa.types.is_large_string(chunk.type)
                                  else pa.binary())
            try:
                as_bytes.validate(full=True)  # offsets and lengths, before any value is read
            except pa.ArrowException:
                return None
            for i, value in enumerate(as_bytes.to_pylist()):
                try:
                    if value is not None:
                        value.decode("utf-8")
                except UnicodeDecodeError:
                    return offset + i
        offset += len(chunk)
    return None
