"""A metadata file the user offers for a stored set, looked at before anything is joined.

Vectors often arrive alone (a .npy, an .fvecs) and their labels in another file. Before
that file is attached (core/metadata_attach.py) the user sees its first rows, its columns
and their types, the id, text and label columns the app would pick (the same guesses an
import makes, loaders/guesses.py and label_columns.py), and whether it can be joined at
all: rows are joined by order, so the counts must match, and a mismatch is said in the
user's words rather than raised, so a dialog can show it beside the preview.

A Parquet file's row count comes from its footer and only its first rows are decoded,
so a preview of a million rows costs what one of a thousand does; the text formats have
no footer and are read whole (their count is their line count).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.label_columns import SAMPLE, guess_label_column
from explorer.core.loaders import tables
from explorer.core.loaders.base import read_head
from explorer.core.loaders.columns import check_unique_names
from explorer.core.loaders.guesses import guess_id_column, guess_text_column

PARQUET_SUFFIXES = (".parquet", ".pq")
POSITIONAL = "row"  # the column a loader gives vectors that come without metadata
KEPT_ROWS = "source_row"  # the file row of each stored row, when an import dropped some


@dataclass(frozen=True)
class MetadataPreview:
    """What a metadata file holds and whether it can be joined to a set of `expected` rows."""

    path: str
    num_rows: int
    columns: list[str]
    types: list[str]  # short readable type per column ("text", "integer", "number", ...)
    head: pa.Table  # the first `rows` rows
    id_column: str | None  # the guesses an import would make
    text_column: str | None
    label_column: str | None
    problem: str | None  # why it cannot be joined, in the user's words; None when it can

    def to_dict(self) -> dict:
        """The preview as JSON: the head as a list of rows."""
        return {"path": self.path, "num_rows": self.num_rows, "columns": self.columns,
                "types": self.types, "head": self.head.to_pylist(),
                "id_column": self.id_column, "text_column": self.text_column,
                "label_column": self.label_column, "problem": self.problem}


def preview_metadata(path: str | Path, expected_rows: int, rows: int = 20) -> MetadataPreview:
    """Read enough of the metadata table at `path` to show it and say whether it fits.

    CSV/TSV/Parquet/JSONL/Arrow, as `loaders.tables.read_metadata_file` reads them. An
    unreadable or hostile file is an InputError naming it; a row count other than
    `expected_rows` is the preview's `problem`, not an error.
    """
    path = Path(path).expanduser()
    rows = max(0, int(rows))
    num_rows, sample = read_sample(path, expected_rows, max(rows, SAMPLE))
    id_column = guess_id_column(sample)
    text_column = guess_text_column(sample, id_column)
    return MetadataPreview(
        path=str(path.resolve()), num_rows=num_rows, columns=list(sample.column_names),
        types=[short_type(t) for t in sample.schema.types], head=sample.slice(0, rows),
        id_column=id_column, text_column=text_column,
        label_column=guess_label_column(sample, id_column, text_column),
        problem=join_problem(num_rows, sample.num_columns, expected_rows))


def read_sample(path: Path, expected_rows: int, rows: int) -> tuple[int, pa.Table]:
    """(the file's row count, its first `rows` rows), checked as a join would check them."""
    read_head(path)  # a missing, empty or unreadable file is named here
    if path.suffix.lower() in PARQUET_SUFFIXES:
        num_rows, sample = tables.read_parquet_head(path, rows)
    else:
        table = tables.read_metadata_file(path, expected_rows)
        num_rows, sample = table.num_rows, table.slice(0, rows)
    check_unique_names(sample.column_names, path)
    return num_rows, sample


def join_problem(num_rows: int, num_columns: int, expected_rows: int) -> str | None:
    """Why a table of this shape cannot be joined to `expected_rows` vectors (None: it can)."""
    if num_columns == 0:
        return "holds no columns"
    if num_rows != expected_rows:
        return (f"has {num_rows:,} rows but the set has {expected_rows:,} vectors; rows are "
                "joined by order, so the counts must match")
    return None


def has_metadata(es: EmbeddingSet) -> bool:
    """Whether the set has metadata of its own, beyond the row numbers a loader gives
    vectors that came alone (`row`, and `source_row` when the import dropped rows)."""
    names = es.metadata.column_names
    if names not in ([POSITIONAL], [POSITIONAL, KEPT_ROWS]):
        return True
    columns = [es.metadata.column(name) for name in names]
    if any(not pa.types.is_integer(c.type) or c.null_count for c in columns):
        return True
    numbers = columns[0].to_numpy()
    expected = columns[1].to_numpy() if len(columns) == 2 else np.arange(es.count)
    return not np.array_equal(numbers, expected)


_TYPES = ((pa.types.is_boolean, "yes/no"), (pa.types.is_integer, "integer"),
          (pa.types.is_floating, "number"), (pa.types.is_decimal, "number"),
          (pa.types.is_string, "text"), (pa.types.is_large_string, "text"),
          (pa.types.is_timestamp, "date and time"), (pa.types.is_date, "date"),
          (pa.types.is_time, "time"), (pa.types.is_duration, "duration"),
          (pa.types.is_binary, "bytes"), (pa.types.is_large_binary, "bytes"),
          (pa.types.is_fixed_size_binary, "bytes"), (pa.types.is_list, "list"),
          (pa.types.is_large_list, "list"), (pa.types.is_fixed_size_list, "list"),
          (pa.types.is_struct, "object"), (pa.types.is_map, "object"),
          (pa.types.is_null, "empty"))


def short_type(t: pa.DataType) -> str:
    """A column's type in a word a user reads ("text", "integer", "list" ...)."""
    if pa.types.is_dictionary(t):
        return short_type(t.value_type)
    for test, word in _TYPES:
        if test(t):
            return word
    return str(t)
