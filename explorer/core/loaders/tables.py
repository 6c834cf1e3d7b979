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
from explorer.core.loaders.base import Loaded, LoadOptions, is_text, read_head
from explorer.core.loaders.columns import NUMBER_RE, check_numeric_strings, split_vectors

_NUMBER = re.compile(NUMBER_RE)


# --- Parquet / Arrow -------------------------------------------------------------

def load_parquet(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        pf = pq.ParquetFile(path)
        parts = []
        for i in range(pf.num_row_groups):
            parts.append(pf.read_row_group(i))
            state.progress(i + 1, pf.num_row_groups)
        table = pa.concat_tables(parts) if parts else pf.schema_arrow.empty_table()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"not a readable Parquet file ({exc})", path=path) from None
    vectors, meta, col = split_vectors(table, path, opts.vector_column)
    return Loaded(vectors, meta, vector_column=col)


def load_arrow(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        table = feather.read_table(path, memory_map=True)
    except (pa.ArrowInvalid, OSError):
        try:
            with open(path, "rb") as fh:
                table = ipc.open_stream(fh).read_all()
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"not a readable Arrow/Feather file ({exc})", path=path) from None
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
    return ","


def _has_header(fields: list[str]) -> bool:
    """A first line that is all numbers is data; anything else is a header."""
    return not all(_NUMBER.match(f) for f in fields[1:] or fields)


def read_delimited(path: Path, *, header: bool | None = None) -> tuple[pa.Table, bool]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        first_line = fh.readline().rstrip("\r\n")
    if not first_line.strip():
        raise InputError("the first line is empty", path=path, line=1)
    delim = _delimiter(path, first_line)
    fields = next(csv.reader([first_line], delimiter=delim))
    if header is None:
        header = _has_header(fields)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(autogenerate_column_names=not header,
                                           block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delim),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
        )
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


def load_csv(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    table, header = read_delimited(path)
    state.progress(0.7)
    notes = []
    offset = 2 if header else 1
    try:
        if header:
            check_numeric_strings(table, path, line_offset=offset)
        vectors, meta, col = split_vectors(table, path, opts.vector_column, all_numeric=not header)
    except InputError as err:
        if err.row is not None and err.line is None:
            err = InputError(err.message, path=err.path, row=err.row, column=err.column,
                             line=err.row + offset, hint=err.hint)
        raise err from None
    if opts.metadata_path is None and path.name.lower().endswith("vectors.tsv"):
        sibling = path.with_name(path.name[: -len("vectors.tsv")] + "metadata.tsv")
        if sibling.exists():
            opts.metadata_path = sibling
            notes.append(f"metadata joined from {sibling.name} (TensorFlow Projector pair)")
    return Loaded(vectors, meta, vector_column=col, notes=notes)


def sniff_text_table(head: bytes, path: Path) -> bool:
    return is_text(head) and bool(head.strip())


# --- JSONL -----------------------------------------------------------------------

def load_jsonl(path: Path, opts: LoadOptions, state: TaskState) -> Loaded:
    try:
        table = pajson.read_json(path, read_options=pajson.ReadOptions(block_size=16 << 20))
    except pa.ArrowInvalid as exc:
        _locate_json_error(path, exc)
    state.progress(0.7)
    vectors, meta, col = split_vectors(table, path, opts.vector_column)
    return Loaded(vectors, meta, vector_column=col)


def _locate_json_error(path: Path, exc: Exception) -> None:
    types: dict[str, type] = {}
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
                if isinstance(value, list) and any(not isinstance(v, (int, float)) or isinstance(v, bool)
                                                   for v in value):
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
    return head.lstrip()[:1] == b"{"


# --- metadata files joined by row order ------------------------------------------

def read_metadata_file(path: Path, expected_rows: int) -> pa.Table:
    """Read a metadata table (CSV/TSV/Parquet/JSONL/Arrow) meant to match row by row.

    A one-column TSV (the Projector's label file) has no header unless it has
    exactly one line more than there are vectors.
    """
    read_head(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pq.read_table(path)
    if suffix in (".arrow", ".feather", ".ipc"):
        return feather.read_table(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        try:
            return pajson.read_json(path)
        except pa.ArrowInvalid as exc:
            _locate_json_error(path, exc)
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        text = fh.read()
    lines = [ln for ln in text.splitlines() if ln != ""]
    delim = _delimiter(path, lines[0] if lines else "")
    single = bool(lines) and delim not in lines[0]
    if single:
        header = len(lines) == expected_rows + 1
        values = lines[1:] if header else lines
        return pa.table({lines[0] if header else "label": values})
    table, _ = read_delimited(path, header=True)
    return table
