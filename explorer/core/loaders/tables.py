"""Tabular files: Parquet, Arrow IPC / Feather, CSV / TSV (incl. the Projector pair), JSONL."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders.base import Loaded, LoadOptions, is_text, read_head, relocated
from explorer.core.loaders.columns import NUMBER_RE, check_numeric_strings, split_vectors

_NUMBER = re.compile(NUMBER_RE)
# What a damaged Parquet/Arrow file raises (a bad UTF-8 name in the footer is a ValueError).
_ARROW_ERRORS = (OSError, ValueError, pa.ArrowNotImplementedError, pa.ArrowTypeError,
                 pa.ArrowKeyError, pa.ArrowIndexError)


# --- Parquet / Arrow -------------------------------------------------------------

def load_parquet(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        pf = pq.ParquetFile(path)
        parts = []
        for i in range(pf.num_row_groups):
            parts.append(pf.read_row_group(i))
            state.progress(i + 1, pf.num_row_groups)
        table = pa.concat_tables(parts) if parts else pf.schema_arrow.empty_table()
    except _ARROW_ERRORS as exc:
        raise InputError(f"not a readable Parquet file ({exc})", path=path) from None
    vectors, meta, col = split_vectors(table, path, opts.vector_column)
    return Loaded(vectors, meta, vector_column=col)


def load_arrow(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        table = feather.read_table(path, memory_map=True)
    except _ARROW_ERRORS:
        try:
            with open(path, "rb") as fh:
                table = ipc.open_stream(fh).read_all()
        except _ARROW_ERRORS as exc:
            raise InputError(f"not a readable Arrow/Feather file ({exc})", path=path) from None
    try:
        # IPC buffers are taken as they are; damaged offsets would only fail (or crash) later.
        table.validate(full=True)
    except _ARROW_ERRORS as exc:
        raise InputError(f"damaged Arrow/Feather file ({exc})", path=path) from None
    state.progress(1)
    vectors, meta, col = split_vectors(table, path, opts.vector_column)
    return Loaded(vectors, meta, vector_column=col)


def sniff_parquet(head: bytes, path: Path) -> bool:
    return head[:4] == b"PAR1"


def sniff_arrow(head: bytes, path: Path) -> bool:
    return head[:6] == b"ARROW1" or head[:4] == b"\xff\xff\xff\xff"


# --- CSV / TSV -------------------------------------------------------------------

def _delimiter(path: Path, first_line: str) -> str:
    if path.suffix.lower() == ".tsv" or "\t" in first_line:
        return "\t"
    if ";" in first_line and "," not in first_line:
        return ";"  # spreadsheets set to a locale with decimal commas write these
    return ","


def _has_header(first: list[str], second: list[str] | None) -> bool:
    """Is the first line column names? Decided column by column against the second line.

    It is a header when a column that holds a number on line 2 holds text on
    line 1, or when line 1 is pandas' numbered header (0, 1, 2, ... possibly
    after an empty index name) above values that are not all whole numbers.
    A first line of numbers next to text labels ("1,apple,0.1") is data.
    """
    if second is None:
        return not all(_NUMBER.match(f) for f in first)
    for a, b in zip(first, second):
        if _NUMBER.match(b) and not _NUMBER.match(a):
            return True
    names = first[1:] if first and first[0] == "" else first
    if names and names == [str(i) for i in range(len(names))]:
        return not all(f.strip().lstrip("+-").isdigit() for f in second if _NUMBER.match(f))
    return False


def read_delimited(path: Path, *, header: bool | None = None,
                   state: TaskState | None = None) -> tuple[pa.Table, bool]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        first_line = fh.readline().rstrip("\r\n")
        second_line = fh.readline().rstrip("\r\n")
    if not first_line.strip():
        raise InputError("the first line is empty", path=path, line=1)
    delim = _delimiter(path, first_line)
    # The Projector's TSV files are not quoted: a label may start with '"'.
    quote = False if delim == "\t" else '"'
    fields = next(csv.reader([first_line], delimiter=delim, quoting=csv.QUOTE_NONE if not quote
                             else csv.QUOTE_MINIMAL))
    second = next(csv.reader([second_line], delimiter=delim)) if second_line.strip() else None
    if header is None:
        header = _has_header(fields, second)
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(autogenerate_column_names=not header,
                                           block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char=quote),
            # only an empty cell is missing: "nan"/"NaN" are the float NaN, found by check_set
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False, null_values=[""]),
        )
        size = max(1, path.stat().st_size)
        batches = []
        done = 0
        for batch in reader:  # streamed, so Cancel is honoured between 16 MB blocks
            batches.append(batch)
            done += batch.nbytes
            if state is not None:
                state.progress(min(done, size), size)
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except pa.ArrowInvalid as exc:
        _locate_csv_error(path, delim, exc)
    if not header:
        table = table.rename_columns([str(i) for i in range(table.num_columns)])
    return table, header


def _locate_csv_error(path: Path, delim: str, exc: Exception) -> None:
    """pyarrow says what went wrong but not on which line; find it."""
    expected = None
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter=delim), start=1):
            if not row:
                continue
            if expected is None:
                expected = len(row)
            elif len(row) != expected:
                raise InputError(f"has {len(row)} fields, but line 1 has {expected} (ragged rows)",
                                 path=path, line=lineno) from None
    raise InputError(f"cannot parse the file ({exc})", path=path) from None


def _line_of_row(path: Path, row: int) -> int | None:
    """The 1-based line holding record `row` of a CSV or JSONL file.

    Arrow skips blank lines, so the row number alone would point above the cell.
    """
    with open(path, "rb") as fh:
        seen = -1
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                seen += 1
                if seen == row:
                    return lineno
    return None


def load_csv(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    table, header = read_delimited(path, state=state.sub(0, 0.7))
    if table.num_rows == 0:
        raise InputError("holds no vectors: nothing follows the header line", path=path)
    state.progress(0.7)
    notes = []
    try:
        check_numeric_strings(table, path)
        vectors, meta, col = split_vectors(table, path, opts.vector_column, all_numeric=not header)
    except InputError as err:
        column = err.column
        if not header and isinstance(column, str) and column.isdigit():
            column = int(column) + 1  # headerless columns are named "0", "1", ...: count from 1
        line = None if err.row is None else _line_of_row(path, err.row + int(header))
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
    try:
        table = pajson.read_json(path, read_options=pajson.ReadOptions(block_size=16 << 20))
    except pa.ArrowInvalid as exc:
        _locate_json_error(path, exc)
    state.progress(0.7)
    try:
        vectors, meta, col = split_vectors(table, path, opts.vector_column)
    except InputError as err:
        if err.row is None:
            raise
        raise relocated(err, line=_line_of_row(path, err.row)) from None
    return Loaded(vectors, meta, vector_column=col)


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
    if suffix in (".parquet", ".pq", ".arrow", ".feather", ".ipc"):
        read = pq.read_table if suffix in (".parquet", ".pq") else feather.read_table
        try:
            return read(path)
        except _ARROW_ERRORS as exc:
            raise InputError(f"not a readable metadata table ({exc})", path=path) from None
    if suffix in (".jsonl", ".ndjson", ".json"):
        try:
            return pajson.read_json(path, read_options=pajson.ReadOptions(block_size=16 << 20))
        except pa.ArrowInvalid as exc:
            _locate_json_error(path, exc)
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        text = fh.read()
    # An empty line is an empty label, so only the final newline is dropped; and only "\n"
    # ends a line (str.splitlines would also split inside labels at \x1c, \u2028, ...).
    lines = [ln.removesuffix("\r") for ln in text.removesuffix("\n").split("\n")]
    delim = _delimiter(path, lines[0])
    if delim not in lines[0]:
        header = len(lines) == expected_rows + 1
        values = lines[1:] if header else lines
        return pa.table({lines[0] if header else "label": values})
    table, _ = read_delimited(path, header=True)
    return table
