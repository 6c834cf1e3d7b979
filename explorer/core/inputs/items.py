"""What readers produce: items to encode, records of what was skipped, and the user's options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PROVENANCE = ("source", "row")  # what readers add to every item's metadata


@dataclass
class Item:
    """One thing to encode; `meta` becomes its metadata columns (provenance)."""

    text: str | None
    image: Path | None
    meta: dict = field(default_factory=dict)


@dataclass
class Skipped:
    """An input (file, row) left out, and why: reported to the user, never fatal."""

    path: str
    reason: str
    line: int | None = None  # 1-based line in a text file
    row: int | None = None  # 0-based data row of a table


@dataclass
class InputOptions:
    modality: str = "text"  # "text" | "image"
    column: str | None = None  # tables: the text column
    pattern: str | None = None  # folders: "*.md" or "*.md,*.txt" (default: every supported file)
    chunk_tokens: int = 200
    overlap_tokens: int = 30
    # The model's tokenizer count (special tokens may be included); default: approx_tokens.
    count_tokens: Callable[[str], int] | None = None


class SkipFile(Exception):
    """A reader's way to give up on one file; the plan records it and goes on with the rest."""

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


Report = Callable[[Skipped], None]


@dataclass
class Resume:
    """Items a resumed run still has to pass over.

    The plan drops items while `left` is positive; a reader that can pass over a
    whole block without building its items (a Parquet row group) takes from it first.
    """

    left: int = 0


def drop_uninformative(table: pa.Table) -> pa.Table:
    """The encoded set's metadata without the provenance columns that say nothing.

    `source` is dropped when every item came from one file, `row` when it equals the
    item's position (one table, nothing skipped): the columns the user's table had are
    then not crowded by two that add nothing, and a column of theirs that was renamed
    `source_meta` or `row_meta` to make room gets its name back. A table is never left
    without columns (it must still hold a row per item).
    """
    for name in PROVENANCE:
        if name not in table.column_names or table.num_columns == 1:
            continue
        column = table.column(name)
        if column.null_count:
            continue
        if name == "source":
            useless = pc.count_distinct(column).as_py() <= 1
        else:
            useless = pa.types.is_integer(column.type) and bool(pc.all(pc.equal(
                column, pa.array(np.arange(table.num_rows), type=column.type)),
                min_count=0).as_py())
        if useless:
            table = table.drop_columns([name])
            renamed = f"{name}_meta"
            if renamed in table.column_names:
                table = table.rename_columns([name if c == renamed else c
                                              for c in table.column_names])
    return table
