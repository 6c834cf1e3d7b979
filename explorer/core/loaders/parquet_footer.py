"""The few numbers of a Parquet footer the loader checks before decoding, read in Python.

pyarrow builds a column chunk's metadata (RowGroupMetaData.column) in C++ that validates
it and throws where no handler is: one inconsistent footer field (a size-statistics
histogram of the wrong length) aborts the whole process. Reading the file through
pyarrow's readers is safe, as they turn the same exception into an OSError, so only the
per-chunk numbers are read here, from the footer's Thrift compact encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from explorer.core.errors import InputError

# Thrift compact protocol type codes (1 and 2 are a boolean's two values).
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = \
    range(13)
_MAX_DEPTH = 64  # structs and lists inside each other; the Parquet format nests a handful
_TYPES = ("BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
          "FIXED_LEN_BYTE_ARRAY")


@dataclass(frozen=True)
class Chunk:
    """One column of one row group, as the footer declares it."""

    physical_type: str
    num_values: int
    uncompressed_size: int


@dataclass(frozen=True)
class RowGroup:
    num_rows: int
    chunks: tuple[Chunk, ...]


class _Damaged(Exception):
    """The footer's bytes do not decode."""


def row_groups(path: Path) -> list[RowGroup]:
    """Every row group's declared row count and column chunks, without pyarrow's metadata."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < 12:
            raise InputError("not a readable Parquet file (too short for a footer)", path=path)
        fh.seek(size - 8)
        tail = fh.read(8)
        length = int.from_bytes(tail[:4], "little")
        if tail[4:] != b"PAR1" or length > size - 12:
            raise InputError("not a readable Parquet file (no plain footer at its end)",
                             path=path)
        fh.seek(size - 8 - length)
        footer = fh.read(length)
    try:
        return _file_metadata(footer)
    except IndexError:
        raise InputError("not a readable Parquet file (damaged footer: it ends inside a value)",
                         path=path) from None
    except _Damaged as exc:
        raise InputError(f"not a readable Parquet file (damaged footer: {exc})",
                         path=path) from None


# Each reader below takes the footer and a position, and returns what it read and the
# position after it; reading past the end is an IndexError. The footer's Thrift decodes
# as a struct of numbered, typed fields; the few wanted are read, the others skipped.

def _file_metadata(data: bytes) -> list[RowGroup]:
    groups: list[RowGroup] = []
    pos = field = 0
    while kind := data[pos] & 0x0F:
        field, pos = _field(data, pos, field)
        if field == 4 and kind == _LIST:
            size, pos = _list(data, pos, _STRUCT)
            for _ in range(size):
                group, pos = _row_group(data, pos)
                groups.append(group)
        else:
            pos = _skip(data, pos, kind)
    return groups


def _row_group(data: bytes, pos: int) -> tuple[RowGroup, int]:
    chunks: list[Chunk] = []
    rows = field = 0
    while kind := data[pos] & 0x0F:
        field, pos = _field(data, pos, field)
        if field == 1 and kind == _LIST:
            size, pos = _list(data, pos, _STRUCT)
            for _ in range(size):
                chunk, pos = _column_chunk(data, pos)
                chunks.append(chunk)
        elif field == 3 and kind == _I64:
            rows, pos = _int(data, pos)
        else:
            pos = _skip(data, pos, kind)
    return RowGroup(rows, tuple(chunks)), pos + 1


def _column_chunk(data: bytes, pos: int) -> tuple[Chunk, int]:
    chunk = None
    field = 0
    while kind := data[pos] & 0x0F:
        field, pos = _field(data, pos, field)
        if field == 3 and kind == _STRUCT:
            chunk, pos = _column_metadata(data, pos)
        else:
            pos = _skip(data, pos, kind)
    if chunk is None:  # only an encrypted column's is left out, and that needs its key
        raise _Damaged("a column chunk without its metadata (an encrypted column?)")
    return chunk, pos + 1


def _column_metadata(data: bytes, pos: int) -> tuple[Chunk, int]:
    values = {1: 0, 5: 0, 6: 0}  # type, num_values, total_uncompressed_size
    field = 0
    while kind := data[pos] & 0x0F:
        field, pos = _field(data, pos, field)
        if field in values and kind in (_I32, _I64):
            values[field], pos = _int(data, pos)
        elif kind in (_I16, _I32, _I64):  # offsets and sizes: walked over here, not in calls
            while data[pos] & 0x80:
                pos += 1
            pos += 1
        else:
            pos = _skip(data, pos, kind)
    code = values[1]
    physical = _TYPES[code] if 0 <= code < len(_TYPES) else "UNKNOWN"
    return Chunk(physical, values[5], values[6]), pos + 1


def _field(data: bytes, pos: int, last: int) -> tuple[int, int]:
    """A field's id (a delta from the last one, or a number of its own) and the position of
    its value."""
    delta = data[pos] >> 4
    return (last + delta, pos + 1) if delta else _int(data, pos + 1)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while shift < 70:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
    raise _Damaged("a number runs over ten bytes")


def _int(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag-encoded i16, i32 or i64."""
    n, pos = _varint(data, pos)
    return (n >> 1) ^ -(n & 1), pos


def _list(data: bytes, pos: int, kind: int | None = None) -> tuple[int, int]:
    """The element count of a list or set (whose elements must be `kind`, if given); every
    element takes at least a byte, so a count the bytes left cannot hold is damage."""
    head = data[pos]
    size, pos = (head >> 4, pos + 1) if head >> 4 != 15 else _varint(data, pos + 1)
    if kind is not None and head & 0x0F != kind:
        raise _Damaged(f"a list of type {head & 0x0F} where {kind} belongs")
    if size > len(data) - pos:
        raise _Damaged(f"a list declares {size} elements in fewer bytes")
    return size, pos


def _skip(data: bytes, pos: int, kind: int, depth: int = 0, element: bool = False) -> int:
    """The position after one value of type `kind` (a boolean field's value is in its type;
    an element's is a byte). Every value walked over takes at least a byte, so the walk is
    linear in the footer's length whatever counts it declares."""
    if depth > _MAX_DEPTH:
        raise _Damaged(f"values nested more than {_MAX_DEPTH} deep")
    if kind in (_I16, _I32, _I64):
        while data[pos] & 0x80:
            pos += 1
        return pos + 1
    if kind == _STRUCT:  # the common values are walked over here, not in calls
        while inner := (head := data[pos]) & 0x0F:
            pos += 1
            if head < 0x10:  # the field's id is a number of its own
                while data[pos] & 0x80:
                    pos += 1
                pos += 1
            if inner in (_I16, _I32, _I64):
                while data[pos] & 0x80:
                    pos += 1
                pos += 1
            elif inner > _FALSE:
                pos = _skip(data, pos, inner, depth + 1)
        return pos + 1
    if kind == _BINARY:
        n, pos = _varint(data, pos)
        if n > len(data) - pos:
            raise _Damaged("it ends inside a value")
        return pos + n
    if kind in (_TRUE, _FALSE):
        return pos + 1 if element else pos
    if kind == _BYTE:
        return pos + 1
    if kind == _DOUBLE:
        return pos + 8
    if kind in (_LIST, _SET):
        inner = data[pos] & 0x0F
        size, pos = _list(data, pos)
        if inner in (_I16, _I32, _I64):  # encodings, histograms: walked over here
            for _ in range(size):
                while data[pos] & 0x80:
                    pos += 1
                pos += 1
            return pos
        for _ in range(size):
            pos = _skip(data, pos, inner, depth + 1, element=True)
        return pos
    if kind == _MAP:
        size, pos = _varint(data, pos)
        if not size:
            return pos
        types = data[pos]
        pos += 1
        if 2 * size > len(data) - pos:
            raise _Damaged(f"a map declares {size} entries in fewer bytes")
        for _ in range(size):
            pos = _skip(data, pos, types >> 4, depth + 1, element=True)
            pos = _skip(data, pos, types & 0x0F, depth + 1, element=True)
        return pos
    raise _Damaged(f"unknown value type {kind}")
