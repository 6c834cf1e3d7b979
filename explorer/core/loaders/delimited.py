"""Reading CSV / TSV into an Arrow table: the dialect, the header, and where a bad line is.

The file is parsed by Arrow (the csv module refuses cells over 128 KiB), streamed in
16 MB blocks so Cancel is honoured. Column types are guessed from the first block; a
later cell that breaks a guess makes that column text and the file is read again, so the
vector checks can name the cell instead of the parse failing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.loaders.list_columns import NUMBER_RE
from explorer.core.loaders.table_checks import check_columns, check_utf8_lines

_NUMBER = re.compile(NUMBER_RE)
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+([eE][-+]?\d+)?\s*$")
_FRACTION = re.compile(r"^\s*[-+]?(\d*\.\d+|\d+\.\d*|\d+(\.\d*)?[eE][-+]?\d+)\s*$")
_BLOCK = 16 << 20  # bytes Arrow reads at a time; column types are guessed from the first
_CONVERSION = re.compile(r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error")
_ROW = re.compile(r"Row #(\d+)")
# A row with another number of fields than the first ("Row #" counts the header line and
# skips blank ones). Read from Arrow's message rather than an invalid_row_handler: Arrow's
# threads release a Python handler, and when that falls in the interpreter's exit the
# process aborts ("terminate called without an active exception", 1 in 70 CLI runs).
_RAGGED = re.compile(r"^CSV parse error: Row #(\d+): Expected (\d+) columns, got (\d+)")


@dataclass(frozen=True)
class _Dialect:
    delimiter: str
    quote: str | bool  # False: the Projector's TSV is not quoted, a label may start with '"'
    decimal: str  # "," in files from spreadsheets set to such a locale ("0,5;1,25")
    header: bool


def delimiter(path: Path, first_line: str) -> str:
    if path.suffix.lower() == ".tsv" or "\t" in first_line:
        return "\t"
    if ";" in first_line and "," not in first_line:
        return ";"  # spreadsheets set to a locale with decimal commas write these
    return ","


def read_delimited(path: Path, *, header: bool | None = None,
                   state: TaskState | None = None) -> tuple[pa.Table, bool]:
    """The table, and whether its first line was column names (detected when None)."""
    lines = _first_lines(path)
    if not lines[0].strip():
        raise InputError("the first line is empty", path=path, line=1)
    delim = delimiter(path, lines[0])
    check_columns(path, lines[0], delim)
    check_utf8_lines(path)
    quote = False if delim == "\t" else '"'
    first, second = _first_records(lines, delim, quote)
    decimal = "," if delim == ";" and _decimal_commas(second or first) else "."
    if header is None:
        header = _has_header(*(_with_points(r) if decimal == "," else r for r in (first, second)))
    dialect = _Dialect(delim, quote, decimal, header)
    as_text: list[str] = []
    while (table := _read_csv(path, dialect, as_text, state)) is None:
        pass  # a later block broke the types guessed from the first: read again
    if not header:
        table = table.rename_columns([str(i) for i in range(table.num_columns)])
    return table, header


def line_of_row(path: Path, row: int, quote: str | bool = False) -> int | None:
    """The 1-based line where record `row` of a CSV or JSONL file starts.

    Arrow skips blank lines, so the row number alone would point above the cell; and a
    quoted cell may run over several lines (numpy's text of a long array does), so with a
    `quote` character a line inside quotes starts no record.
    """
    mark = quote.encode() if isinstance(quote, str) else None
    with open(path, "rb") as fh:
        seen, inside = -1, False
        for lineno, line in enumerate(fh, start=1):
            if not inside and line.strip():
                seen += 1
                if seen == row:
                    return lineno
            if mark and line.count(mark) % 2:
                inside = not inside
    return None


def csv_line_of_row(path: Path, row: int) -> int | None:
    """`line_of_row` for a CSV/TSV file, with the quoting its reader used."""
    first = _first_lines(path)[0]
    return line_of_row(path, row, quote=False if delimiter(path, first) == "\t" else '"')


# --- the first two lines ---------------------------------------------------------------

def _first_lines(path: Path) -> tuple[str, str]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return fh.readline().rstrip("\r\n"), fh.readline().rstrip("\r\n")


def _first_records(lines: tuple[str, str], delim: str,
                   quote: str | bool) -> tuple[list[str], list[str] | None]:
    """The cells of the first two lines, split as the reader will split them.

    The csv module is quick but refuses a cell over 128 KiB; Arrow then splits them.
    """
    present = [line for line in lines if line.strip()]
    try:
        cells = list(csv.reader(present, delimiter=delim, quotechar=quote or None,
                                quoting=csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE))
    except csv.Error:
        cells = _split_by_arrow(present, delim, quote)
    return cells[0] if cells else lines[0].split(delim), cells[1] if len(cells) > 1 else None


def _split_by_arrow(lines: list[str], delim: str, quote: str | bool) -> list[list[str]]:
    """Each line read on its own (one row cannot be ragged) from an Arrow buffer, so no
    Python handler or file object is left to Arrow's threads."""
    rows = []
    for line in lines:
        try:
            table = pacsv.read_csv(
                pa.BufferReader(line.encode() + b"\n"),
                read_options=pacsv.ReadOptions(autogenerate_column_names=True,
                                               use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=delim, quote_char=quote),
                convert_options=pacsv.ConvertOptions(
                    column_types={f"f{i}": pa.string() for i in range(line.count(delim) + 1)},
                    strings_can_be_null=False),
            )
        except pa.ArrowInvalid:  # a quote left open: the reader will say where
            rows.append(line.split(delim))
        else:
            rows.append([str(v) for v in table.to_pylist()[0].values()])
    return rows


def _decimal_commas(cells: list[str]) -> bool:
    """Numbers written "0,5" and none written "0.5"."""
    return any(_DECIMAL_COMMA.match(c) for c in cells) and \
        not any("." in c and _NUMBER.match(c) for c in cells)


def _with_points(cells: list[str] | None) -> list[str] | None:
    return None if cells is None else [
        c.replace(",", ".") if _DECIMAL_COMMA.match(c) else c for c in cells]


def _is_value(cell: str) -> bool:
    """A number, or a list of them as pandas' to_csv writes a list column.

    Only the opening bracket is asked for: numpy's text of a long array runs over several
    lines inside its quotes (the second line then holds only its start), and a cell whose
    list is not closed is a bad cell for the vector checks to name, not a header.
    """
    return bool(_NUMBER.match(cell)) or cell.lstrip().startswith("[")


def _has_header(first: list[str], second: list[str] | None) -> bool:
    """Is the first line column names? Decided column by column against the second line.

    It is a header when a column that holds a value (a number, or a list of numbers)
    on line 2 holds text on line 1, or when line 1 is pandas' numbered header (0, 1,
    2, ... possibly after an empty index name) above values that are not all whole
    numbers. A first line of numbers next to text labels ("1,apple,0.1") is data, and so
    is one of mostly values holding a fraction: no header names a column "0.36", so its
    text cell is a stray one for the column checks to report, not a column name.
    """
    if second is None:
        return not all(_is_value(f) for f in first)
    values = sum(_is_value(f) for f in first)
    if any(_FRACTION.match(f) for f in first) and values > len(first) - values:
        return False
    for a, b in zip(first, second):
        if _is_value(b) and not _is_value(a):
            return True
    names = first[1:] if first and first[0] == "" else first
    if names and names == [str(i) for i in range(len(names))]:
        return not all(f.strip().lstrip("+-").isdigit() for f in second if _NUMBER.match(f))
    return False


# --- the whole file ------------------------------------------------------------------------

def _read_csv(path: Path, dialect: _Dialect, as_text: list[str],
              state: TaskState | None) -> pa.Table | None:
    """The whole table; None when a later block holds a cell that does not fit its column's
    guessed type, after adding that column to `as_text`."""
    reader = None
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(autogenerate_column_names=not dialect.header,
                                           block_size=_BLOCK, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter,
                                             quote_char=dialect.quote),
            # only an empty cell is missing: "nan"/"NaN" are the float NaN, found by check_set
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=False, null_values=[""], decimal_point=dialect.decimal,
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
        ragged = _RAGGED.match(str(exc))
        if ragged:
            number, expected, actual = map(int, ragged.groups())
            raise InputError(f"has {actual} fields, but line 1 has {expected} (ragged rows)",
                             path=path, line=line_of_row(path, number - 1, dialect.quote)) from None
        found = _CONVERSION.search(str(exc))
        names = reader.schema.names if reader is not None else []
        column = names[int(found[1])] if found and int(found[1]) < len(names) else None
        row = _ROW.search(str(exc))
        line = line_of_row(path, int(row[1]) - 1, dialect.quote) if row else None
        if column is not None and column not in as_text:
            as_text.append(column)
            return None
        raise InputError(f"cannot parse the file ({exc})", path=path, line=line) from None
