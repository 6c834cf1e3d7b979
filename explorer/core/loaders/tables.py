"""Tabular files: Parquet, Arrow IPC / Feather, CSV / TSV (incl. the Projector pair), JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders import parquet_footer
from explorer.core.loaders.base import (
    Loaded,
    LoadOptions,
    available_memory,
    is_text,
    read_head,
    relocated,
    size_text,
)
from explorer.core.loaders.columns import split_vectors
from explorer.core.loaders.delimited import (csv_line_of_row, delimiter, line_of_row,
                                             read_delimited)
from explorer.core.loaders.table_checks import check_column_count, check_json_lines, check_utf8

_BLOCK = 16 << 20  # bytes Arrow's JSON reader takes at a time
# What a damaged Parquet/Arrow file raises (a bad UTF-8 name in the footer is a ValueError).
_ARROW_ERRORS = (OSError, ValueError, pa.ArrowNotImplementedError, pa.ArrowTypeError,
                 pa.ArrowKeyError, pa.ArrowIndexError)


# --- Parquet / Arrow -------------------------------------------------------------

def load_parquet(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    table = _read_parquet(path, "not a readable Parquet file", state)
    check_utf8(table, path)
    vectors, meta, col = split_vectors(table, path, opts.vector_column)
    return Loaded(vectors, meta, vector_column=col)


def _read_parquet(path: Path, damaged: str, state: TaskState) -> pa.Table:
    """Row group by row group, once the footer's declared sizes are known to fit in memory."""
    try:
        pf = pq.ParquetFile(path)
        check_column_count(path, pf.metadata.num_columns)
        _check_decoded_size(path, pf.metadata.num_rows)
        parts = []
        for i in range(pf.num_row_groups):
            parts.append(pf.read_row_group(i))
            state.progress(i + 1, pf.num_row_groups)
        return pa.concat_tables(parts) if parts else pf.schema_arrow.empty_table()
    except _ARROW_ERRORS as exc:
        raise InputError(f"{damaged} ({exc})", path=path) from None


def read_parquet_head(path: Path, rows: int) -> tuple[int, pa.Table]:
    """The row count the footer declares and the first `rows` rows, nothing more decoded.

    What a preview of a large metadata file needs: its count without reading a million
    rows. The same checks as a full read run first (the footer parsed in Python, the
    declared sizes against memory), so a hostile file is refused the same way.
    """
    try:
        pf = pq.ParquetFile(path)
        check_column_count(path, pf.metadata.num_columns)
        num_rows = pf.metadata.num_rows
        if num_rows < 0:
            raise InputError(f"not a readable metadata table (its footer declares {num_rows} "
                             "rows)", path=path)
        _check_decoded_size(path, num_rows)
        batches, have = [], 0
        if rows > 0 and num_rows > 0:
            for batch in pf.iter_batches(batch_size=rows):  # row groups may be smaller
                batches.append(batch)
                have += batch.num_rows
                if have >= rows:
                    break
        table = (pa.Table.from_batches(batches) if batches
                 else pf.schema_arrow.empty_table())
    except _ARROW_ERRORS as exc:
        raise InputError(f"not a readable metadata table ({exc})", path=path) from None
    check_utf8(table, path)
    return num_rows, table.slice(0, rows)


# Bytes a value of each Parquet physical type takes once decoded (text: its offset; the
# characters are counted from the chunk's size).
_DECODED_WIDTH = {"BOOLEAN": 1, "INT32": 4, "FLOAT": 4, "INT64": 8, "DOUBLE": 8, "INT96": 12,
                  "BYTE_ARRAY": 4}


def _check_decoded_size(path: Path, num_rows: int) -> None:
    """Run-length encoding lets a few bytes declare a billion values (or rows): count them
    first. The chunks' numbers come from parquet_footer, never pyarrow's column metadata,
    which aborts the process on some damaged footers."""
    need = 0
    for group in parquet_footer.row_groups(path):
        for chunk in group.chunks:
            values = max(chunk.num_values, group.num_rows, 0)
            need += values * _DECODED_WIDTH.get(chunk.physical_type, 8)
            if chunk.physical_type.endswith("BYTE_ARRAY"):
                need += max(chunk.uncompressed_size, 0)
    if need > available_memory():
        raise InputError(f"the file declares {num_rows} rows, about {size_text(need)} once "
                         f"decoded, but only {size_text(available_memory())} of memory is free",
                         path=path, hint="a damaged file, or one too large to open here")


def load_arrow(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    """An Arrow IPC file (Feather v2) or stream, memory-mapped: a length the file declares
    is a slice of the map, so one larger than the file is an error, never an allocation."""
    try:
        with pa.memory_map(str(path)) as source:
            is_file = source.read(6) == b"ARROW1"
            source.seek(0)
            reader = ipc.open_file(source) if is_file else ipc.open_stream(source)
            check_column_count(path, len(reader.schema))
            table = reader.read_all()
    except _ARROW_ERRORS as exc:
        raise InputError(f"not a readable Arrow/Feather file ({exc})", path=path) from None
    except MemoryError:  # only decompression allocates: a damaged length, or a huge file
        raise InputError("its buffers, as the file declares them, need more memory than is "
                         "free (a damaged file, or compressed data larger than memory)",
                         path=path) from None
    # IPC buffers are taken as they are; damaged offsets would only fail (or crash) later.
    check_utf8(table, path)
    state.progress(1)
    vectors, meta, col = split_vectors(table, path, opts.vector_column)
    return Loaded(vectors, meta, vector_column=col)


def sniff_parquet(head: bytes, path: Path) -> bool:
    return head[:4] == b"PAR1"


def sniff_arrow(head: bytes, path: Path) -> bool:
    return head[:6] == b"ARROW1" or head[:4] == b"\xff\xff\xff\xff"


# --- CSV / TSV -------------------------------------------------------------------

def load_csv(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    table, header = read_delimited(path, state=state.sub(0, 0.7))
    if table.num_rows == 0:
        raise InputError("holds no vectors: nothing follows the header line", path=path)
    state.progress(0.7)
    notes = []
    try:
        vectors, meta, col = split_vectors(table, path, opts.vector_column, all_numeric=not header)
    except InputError as err:
        column = err.column
        if not header and isinstance(column, str) and column.isdigit():
            column = int(column) + 1  # headerless columns are named "0", "1", ...: count from 1
        line = None if err.row is None else csv_line_of_row(path, err.row + int(header))
        raise relocated(err, column=column, line=line) from None
    meta_path = None
    if opts.metadata_path is None and path.name.lower().endswith("vectors.tsv"):
        sibling = path.with_name(path.name[: -len("vectors.tsv")] + "metadata.tsv")
        if sibling.exists():
            meta_path = sibling
            notes.append(f"metadata joined from {sibling.name} (TensorFlow Projector pair)")
    return Loaded(vectors, meta, vector_column=col, notes=notes, metadata_path=meta_path)


def sniff_text_table(head: bytes, path: Path) -> bool:
    return is_text(head) and bool(head.strip())


# --- JSONL -----------------------------------------------------------------------

def load_jsonl(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    table = _read_jsonl(path)
    state.progress(0.7)
    try:
        vectors, meta, col = split_vectors(table, path, opts.vector_column)
    except InputError as err:
        if err.row is None:
            raise
        raise relocated(err, line=line_of_row(path, err.row)) from None
    return Loaded(vectors, meta, vector_column=col)


def _read_jsonl(path: Path) -> pa.Table:
    check_json_lines(path)
    try:
        return pajson.read_json(path, read_options=pajson.ReadOptions(block_size=_BLOCK))
    except pa.ArrowInvalid as exc:
        _locate_json_error(path, exc)


def _locate_json_error(path: Path, exc: Exception) -> None:
    types: dict[str, type] = {}
    numeric_lists: dict[str, bool] = {}  # per key: did its first non-empty list hold numbers?
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"not valid JSON ({err.msg})", path=path, line=lineno,
                                 column=err.colno) from None
            except RecursionError:
                raise InputError("nests lists or objects too deeply", path=path,
                                 line=lineno) from None
            if not isinstance(obj, dict):
                raise InputError("each line must be a JSON object", path=path, line=lineno) from None
            for key, value in obj.items():
                if isinstance(value, list) and value:
                    numbers = [isinstance(v, (int, float)) and not isinstance(v, bool)
                               for v in value]
                    # a list of strings (tags) is metadata; a vector with a string is the error
                    mixed = any(numbers) and not all(numbers)
                    if mixed or (numeric_lists.setdefault(key, all(numbers)) and not all(numbers)):
                        raise InputError("list holds a value that is not a number", path=path,
                                         line=lineno, column=key) from None
                if value is not None and key in types and types[key] is not type(value) \
                        and not {types[key], type(value)} <= {int, float}:
                    raise InputError(f"is {type(value).__name__} here but {types[key].__name__} "
                                     "on earlier lines", path=path, line=lineno, column=key) from None
                if value is not None:
                    types.setdefault(key, type(value))
    raise InputError(f"cannot parse the file ({exc})", path=path) from None


def sniff_jsonl(head: bytes, path: Path) -> bool:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{"  # a UTF-8 BOM may lead


# --- metadata files joined by row order ------------------------------------------

def read_metadata_file(path: Path, expected_rows: int) -> pa.Table:
    """Read a metadata table (CSV/TSV/Parquet/JSONL/Arrow) meant to match row by row.

    A one-column TSV (the Projector's label file) has no header unless it has
    exactly one line more than there are vectors.
    """
    read_head(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        table = _read_parquet(path, "not a readable metadata table", TaskState())
        check_utf8(table, path)
        return table
    if suffix in (".arrow", ".feather", ".ipc"):
        try:
            table = feather.read_table(path)
        except _ARROW_ERRORS as exc:
            raise InputError(f"not a readable metadata table ({exc})", path=path) from None
        check_utf8(table, path)
        return table
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _read_jsonl(path)
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("is not UTF-8 text", path=path, line=data.count(b"\n", 0, exc.start) + 1,
                         hint="save the file as UTF-8") from None
    # An empty line is an empty label, so only the final newline is dropped; and only "\n"
    # ends a line (str.splitlines would also split inside labels at \x1c, \u2028, ...).
    lines = [ln.removesuffix("\r") for ln in text.removesuffix("\n").split("\n")]
    delim = delimiter(path, lines[0])
    if delim not in lines[0]:
        header = len(lines) == expected_rows + 1
        values = lines[1:] if header else lines
        return pa.table({lines[0] if header else "label": values})
    table, _ = read_delimited(path, header=True)
    return table
