"""One text column of a table as items: CSV / TSV, Parquet, JSON Lines, all streamed.

Each row is one item; the other columns ride along as metadata so the map can be
coloured and filtered by them. Rows are read a block (CSV), a row group
(Parquet) or a line (JSONL) at a time, so a million-row table is never held whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from explorer.core.errors import InputError
from explorer.core.inputs.items import Item, Report, Resume, SkipFile, Skipped
from explorer.core.loaders.table_checks import check_columns
from explorer.core.loaders.delimited import delimiter

FORMATS = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
SUFFIXES = tuple(s for s in FORMATS if s != ".json")  # in folders: .json is mostly config
RESERVED = ("text", "source", "row")  # metadata names items already use
_SLICE = 4096  # rows turned into Python objects at a time
_CSV_BLOCK = 16 << 20
_SNIFF_BLOCK = 1 << 20
_JSONL_SNIFF_LINES = 1000
_NO_CSV_ROWS = "the table has no rows after the column names"


def text_column(path: Path, requested: str | None) -> str:
    """The column to encode: the one asked for, or the only text column (or one named "text")."""
    names, texts = columns(path)
    if requested is not None:
        if requested in names:
            return requested
        folded = [n for n in names if n.lower() == requested.lower()]
        if len(folded) == 1:
            return folded[0]
        raise InputError(f"no column named {requested!r}", path=path, column=requested,
                         hint=_listing(names, texts), choices=tuple(texts or names),
                         option="column")
    if len(texts) == 1:
        return texts[0]
    named = [n for n in texts if n.lower() == "text"]
    if len(named) == 1:
        return named[0]
    if not texts:
        raise InputError("no column holds text", path=path,
                         hint=_listing(names, texts) + "; choose one with --column",
                         choices=tuple(names), option="column")
    raise InputError(f"several columns hold text: {', '.join(texts)}", path=path,
                     hint="choose one with --column", choices=tuple(texts), option="column")


def _listing(names: list[str], texts: list[str]) -> str:
    return ("text columns: " + ", ".join(texts)) if texts else ("columns: " + ", ".join(names))


def read_items(path: Path, source: str, column: str, report: Report,
               resume: Resume) -> Iterator[Item]:
    kind = FORMATS[path.suffix.lower()]
    if kind == "parquet":
        return _parquet_items(path, source, column, report, resume)
    if kind == "csv":
        return _csv_items(path, source, column, report)
    return _jsonl_items(path, source, column, report)


def count_rows(path: Path, column: str) -> int:
    """Rows that will become items: exact for Parquet (nulls from its statistics) and for
    CSV / JSONL without line breaks inside values."""
    if FORMATS[path.suffix.lower()] == "parquet":
        # Nulls are counted by reading the column, not from the row groups' statistics:
        # pyarrow builds those in C++ that aborts the whole process on a damaged footer,
        # where reading raises an error the plan can skip.
        pf = _parquet(path)
        if column not in pf.schema_arrow.names:
            return pf.metadata.num_rows
        return sum(len(part) - part.null_count
                   for g in range(pf.num_row_groups)
                   for part in [pf.read_row_group(g, columns=[column]).column(0)])
    with open(path, "rb") as fh:
        lines = sum(1 for line in fh if line.strip())
    return max(0, lines - (FORMATS[path.suffix.lower()] == "csv"))


def columns(path: Path) -> tuple[list[str], list[str]]:
    """(all column names, those holding text), from the schema or the first block only."""
    kind = FORMATS[path.suffix.lower()]
    if kind == "parquet":
        schema = _parquet(path).schema_arrow
    elif kind == "csv":
        reader = _open_csv(path, None, None, block=_SNIFF_BLOCK)
        schema = reader.schema
        try:
            reader.read_next_batch()
        except StopIteration:
            raise SkipFile(_NO_CSV_ROWS) from None
    else:
        return _jsonl_columns(path)
    # In a CSV, a text column with a byte that is not UTF-8 is guessed to be binary.
    texts = [f.name for f in schema if _is_text_type(f.type, binary=kind == "csv")]
    return schema.names, texts


def _is_text_type(t: pa.DataType, binary: bool) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
            or (binary and pa.types.is_binary(t)))


def _text_of(value: object) -> tuple[str | None, str]:
    """(the text, or None and why there is none)."""
    if value is None:
        return None, "no text (empty cell)"
    if isinstance(value, bytes):  # CSV text arrives undecoded, so one bad row is not a bad file
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"text is not UTF-8 (byte 0x{value[exc.start]:02x} at offset {exc.start})"
    elif isinstance(value, (dict, list)):
        return None, f"holds a {type(value).__name__}, not text"
    elif not isinstance(value, str):
        value = str(value)
    if not value.strip():
        return None, "empty text"
    return value, ""


def _meta(source: str, row: int, record: dict) -> dict:
    """Scalars as they are, nested values as JSON; names the items already use get "_meta"."""
    meta = {"source": source, "row": row}
    for key, value in record.items():
        if isinstance(value, (dict, list, tuple)):
            value = json.dumps(value, ensure_ascii=False, default=str)
        meta[f"{key}_meta" if key in RESERVED else key] = value
    return meta


def _batch_items(path: Path, batch: pa.RecordBatch, column: str, source: str, first_row: int,
                 report: Report) -> Iterator[Item]:
    for offset in range(0, batch.num_rows, _SLICE):
        part = batch.slice(offset, _SLICE)
        texts = part.column(column).to_pylist()
        records = part.drop_columns([column]).to_pylist()
        for i, (value, record) in enumerate(zip(texts, records)):
            row = first_row + offset + i
            text, why = _text_of(value)
            if text is None:
                report(Skipped(str(path), why, row=row))
            else:
                yield Item(text=text, image=None, meta=_meta(source, row, record))


# --- Parquet -----------------------------------------------------------------------

def _parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise SkipFile(f"not a readable Parquet file ({exc})") from None


def _parquet_items(path: Path, source: str, column: str, report: Report,
                   resume: Resume) -> Iterator[Item]:
    pf = _parquet(path)
    if pf.metadata.num_rows == 0:
        raise SkipFile("the table has no rows")
    first_row = 0
    for g in range(pf.num_row_groups):
        rows = pf.metadata.row_group(g).num_rows
        if resume.left:  # pass over whole row groups reading only the text column
            values = pf.read_row_group(g, columns=[column]).column(0).to_pylist()
            usable = sum(_text_of(v)[0] is not None for v in values)
            if usable <= resume.left:
                resume.left -= usable
                first_row += rows
                continue
        for batch in pf.iter_batches(batch_size=_SLICE, row_groups=[g], use_threads=False):
            yield from _batch_items(path, batch, column, source, first_row, report)
            first_row += batch.num_rows


# --- CSV / TSV ---------------------------------------------------------------------

def _open_csv(path: Path, column: str | None, report: Report | None, *, block: int | None = None,
              strings: list[str] | None = None) -> pacsv.CSVStreamingReader:
    """A streaming reader; the text column stays bytes, `strings` are read untyped."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        first_line = fh.readline().rstrip("\r\n")
    if not first_line.strip():
        raise SkipFile("the first line (the column names) is empty", line=1)
    delim = delimiter(path, first_line)
    check_columns(path, first_line, delim)

    def invalid(row: pacsv.InvalidRow) -> str:
        if report is not None:
            report(Skipped(str(path), f"has {row.actual_columns} fields where the header has "
                                      f"{row.expected_columns}: {row.text[:60]!r}",
                           line=row.number))
        return "skip"

    types = dict.fromkeys(strings or (), pa.string())
    if column is not None:
        types[column] = pa.binary()
    try:
        return pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=block or _CSV_BLOCK, use_threads=False),
            # Unquoted TSV (the Projector's): a value may start with '"'. Text may hold newlines.
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char=False if delim == "\t"
                                             else '"', newlines_in_values=True,
                                             invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False,
                                                 null_values=[""]),
        )
    except pa.ArrowInvalid as exc:
        raise SkipFile(f"cannot parse the table ({exc})") from None


def _csv_items(path: Path, source: str, column: str, report: Report) -> Iterator[Item]:
    """Types are guessed from the first block; if a later block breaks the guess, the file is
    read again with every column as text, carrying on after the rows already given."""
    done = 0
    strings: list[str] | None = None
    reported = 0

    def once(skipped: Skipped) -> None:  # a re-read meets the invalid rows it reported before
        nonlocal reported
        reported += 1
        if reported > seen_before:
            report(skipped)

    while True:
        seen_before, reported = reported, 0
        reader = _open_csv(path, column, once, strings=strings)
        row = 0
        try:
            for batch in reader:
                if row + batch.num_rows > done:
                    start = max(0, done - row)
                    yield from _batch_items(path, batch.slice(start), column, source,
                                            row + start, report)
                    done = row + batch.num_rows
                row += batch.num_rows
            if row == 0:
                raise SkipFile(_NO_CSV_ROWS)
            return
        except pa.ArrowInvalid as exc:
            if strings is not None or "conversion error" not in str(exc):
                raise SkipFile(f"cannot parse the table after row {done} ({exc})") from None
            strings = [n for n in reader.schema.names if n != column]


# --- JSON Lines ----------------------------------------------------------------------

def _jsonl_records(path: Path, report: Report | None) -> Iterator[tuple[int, int, dict]]:
    """(row, line, object) per non-blank line; a line that is not a JSON object is reported."""
    row = 0
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                why = "" if isinstance(record, dict) else "each line must be a JSON object"
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                why = f"not valid JSON ({exc})"
            except RecursionError:
                why = "nests lists or objects too deeply to read"
            if why:
                if report is not None:
                    report(Skipped(str(path), why, line=lineno, row=row))
            else:
                yield row, lineno, record
            row += 1


def _jsonl_columns(path: Path) -> tuple[list[str], list[str]]:
    names: dict[str, bool] = {}  # name -> holds text somewhere
    for _, (_, _, record) in zip(range(_JSONL_SNIFF_LINES), _jsonl_records(path, None)):
        for key, value in record.items():
            names[key] = names.get(key, False) or isinstance(value, str)
    if not names:
        raise SkipFile(f"none of the first {_JSONL_SNIFF_LINES} lines is a JSON object "
                       "(JSON Lines expected: one object per line)")
    return list(names), [k for k, is_text in names.items() if is_text]


def _jsonl_items(path: Path, source: str, column: str, report: Report) -> Iterator[Item]:
    for row, line, record in _jsonl_records(path, report):
        present = column in record
        text, why = _text_of(record.pop(column, None))
        if text is None:
            report(Skipped(str(path), why if present else f"no {column!r} field",
                           line=line, row=row))
        else:
            yield Item(text=text, image=None, meta=_meta(source, row, record))
