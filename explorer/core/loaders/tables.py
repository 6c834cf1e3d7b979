"""Tabular files: Parquet, Arrow IPC / Feather, CSV / TSV (incl. the Projector pair), JSONL."""

from __future__ import annotations

import io
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
from explorer.core.loaders.columns import split_vectors
from explorer.core.loaders.list_columns import NUMBER_RE
from explorer.core.loaders.table_checks import check_json_depth, check_utf8

_NUMBER = re.compile(NUMBER_RE)
_BLOCK = 16 << 20  # bytes Arrow reads at a time; CSV column types are guessed from the first
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
    check_utf8(table, path)
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

def delimiter(path: Path, first_line: str) -> str:
    if path.suffix.lower() == ".tsv" or "\t" in first_line:
        return "\t"
    if ";" in first_line and "," not in first_line:
        return ";"  # spreadsheets set to a locale with decimal commas write these
    return ","


def _is_value(cell: str) -> bool:
    """A number, or a list of them as pandas' to_csv writes a list column."""
    if _NUMBER.match(cell):
        return True
    cell = cell.strip()
    return cell.startswith("[") and cell.endswith("]")


def _has_header(first: list[str], second: list[str] | None) -> bool:
    """Is the first line column names? Decided column by column against the second line.

    It is a header when a column that holds a value (a number, or a list of numbers)
    on line 2 holds text on line 1, or when line 1 is pandas' numbered header (0, 1,
    2, ... possibly after an empty index name) above values that are not all whole
    numbers. A first line of numbers next to text labels ("1,apple,0.1") is data.
    """
    if second is None:
        return not all(_is_value(f) for f in first)
    for a, b in zip(first, second):
        if _is_value(b) and not _is_value(a):
            return True
    names = first[1:] if first and first[0] == "" else first
    if names and names == [str(i) for i in range(len(names))]:
        return not all(f.strip().lstrip("+-").isdigit() for f in second if _NUMBER.match(f))
    return False


def _first_lines(path: Path) -> tuple[str, str]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return fh.readline().rstrip("\r\n"), fh.readline().rstrip("\r\n")


def _first_records(lines: tuple[str, str], delim: str,
                   quote: str | bool) -> tuple[list[str], list[str] | None]:
    """The cells of the first two lines, split as the reader will split them.

    Parsed by Arrow, like the whole file: the csv module refuses cells over 128 KiB.
    """
    data = "\n".join(line for line in lines if line.strip()).encode() + b"\n"
    width = lines[0].count(delim) + 1
    try:
        rows = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char=quote,
                                             invalid_row_handler=lambda row: "skip"),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False),
        ).to_pylist()
    except pa.ArrowInvalid:  # a quote left open: the reader will say where
        rows = [line.split(delim) for line in lines if line.strip()]
    cells = [[str(v) for v in row.values()] if isinstance(row, dict) else row for row in rows]
    return cells[0] if cells else lines[0].split(delim), cells[1] if len(cells) > 1 else None


def read_delimited(path: Path, *, header: bool | None = None,
                   state: TaskState | None = None) -> tuple[pa.Table, bool]:
    lines = _first_lines(path)
    if not lines[0].strip():
        raise InputError("the first line is empty", path=path, line=1)
    delim = delimiter(path, lines[0])
    # The Projector's TSV files are not quoted: a label may start with '"'.
    quote = False if delim == "\t" else '"'
    if header is None:
        header = _has_header(*_first_records(lines, delim, quote))
    as_text: list[str] = []
    while (table := _read_csv(path, delim, quote, header, as_text, state)) is None:
        pass  # a later block broke the types guessed from the first: read again
    if not header:
        table = table.rename_columns([str(i) for i in range(table.num_columns)])
    return table, header


_CONVERSION = re.compile(r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error")
_ROW = re.compile(r"Row #(\d+)")


def _read_csv(path: Path, delim: str, quote: str | bool, header: bool, as_text: list[str],
              state: TaskState | None) -> pa.Table | None:
    """The whole table, streamed so Cancel is honoured between 16 MB blocks.

    Column types are guessed from the first block; None when a later block holds a cell
    that does not fit its column's guess, after adding that column to `as_text`.
    """
    ragged: list[pacsv.InvalidRow] = []

    def invalid(row: pacsv.InvalidRow) -> str:
        ragged.append(row)
        return "error"

    reader = None
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(autogenerate_column_names=not header,
                                           block_size=_BLOCK, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char=quote,
                                             invalid_row_handler=invalid),
            # only an empty cell is missing: "nan"/"NaN" are the float NaN, found by check_set
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=False, null_values=[""],
                column_types=dict.fromkeys(as_text, pa.string())),
        )
        size = max(1, path.stat().st_size)
        batches = []
        done = 0
        for batch in reader:
            batches.append(batch)
            done += batch.nbytes
            if state is not None:
                state.progress(min(done, size), size)
        return pa.Table.from_batches(batches, schema=reader.schema)
    except pa.ArrowInvalid as exc:
        if ragged:
            row = ragged[0]
            line = _line_of_row(path, row.number - 1) if row.number else None
            raise InputError(f"has {row.actual_columns} fields, but line 1 has "
                             f"{row.expected_columns} (ragged rows)", path=path,
                             line=line) from None
        found = _CONVERSION.search(str(exc))
        names = reader.schema.names if reader is not None else []
        column = names[int(found[1])] if found and int(found[1]) < len(names) else None
        row = _ROW.search(str(exc))
        line = _line_of_row(path, int(row[1]) - 1) if row else None
        if "invalid UTF8" in str(exc):
            raise InputError("is not UTF-8 text", path=path, line=line,
                             column=column if header else None,
                             hint="save the file as UTF-8") from None
        if column is not None and column not in as_text:
            as_text.append(column)
            return None
        raise InputError(f"cannot parse the file ({exc})", path=path, line=line) from None


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
    table = _read_jsonl(path)
    state.progress(0.7)
    try:
        vectors, meta, col = split_vectors(table, path, opts.vector_column)
    except InputError as err:
        if err.row is None:
            raise
        raise relocated(err, line=_line_of_row(path, err.row)) from None
    return Loaded(vectors, meta, vector_column=col)


def _read_jsonl(path: Path) -> pa.Table:
    check_json_depth(path)
    try:
        table = pajson.read_json(path, read_options=pajson.ReadOptions(block_size=_BLOCK))
    except pa.ArrowInvalid as exc:
        _locate_json_error(path, exc)
    try:
        check_utf8(table, path)
    except InputError as err:
        if err.row is None:
            raise
        raise relocated(err, line=_line_of_row(path, err.row)) from None
    return table


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
    if suffix in (".parquet", ".pq", ".arrow", ".feather", ".ipc"):
        read = pq.read_table if suffix in (".parquet", ".pq") else feather.read_table
        try:
            table = read(path)
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
