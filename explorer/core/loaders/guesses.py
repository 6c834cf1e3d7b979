"""Which metadata columns are the ids and the text, guessed from names and types.

One place for the guesses, because three readers make them and must agree: opening a
file (loaders), attaching a metadata file to a stored set (core/metadata_attach.py) and
previewing one (core/metadata_files.py); and the loader's "text but no vectors" error
names the best column to encode from the same ranking.
"""

from __future__ import annotations

import pyarrow as pa

# Not "label": in classification sets (most Hugging Face datasets) it is the repeated class.
ID_NAMES = ("id", "ids", "_id", "uid", "key", "doc_id", "word", "name", "token")
# Descriptions before names: the text column is the longer text shown beside the label
# (label_columns.py) and the one a model encodes.
TEXT_NAMES = ("text", "sentence", "document", "content", "body", "passage", "description",
              "summary", "abstract", "title", "caption", "word", "name", "label")
SAMPLE = 200  # cells read to compare the lengths of unnamed text columns


def is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def first_present(table: pa.Table | pa.Schema, names: tuple[str, ...],
                  integers: bool) -> str | None:
    """The first of `names` (any case) that is a text column (or an integer one, if allowed)."""
    schema = table if isinstance(table, pa.Schema) else table.schema
    lower = {c.lower(): c for c in schema.names}
    for name in names:
        if name in lower:
            t = schema.field(lower[name]).type
            if is_string(t) or (integers and pa.types.is_integer(t)):
                return lower[name]
    return None


def guess_id_column(table: pa.Table | pa.Schema) -> str | None:
    """The column users know the items by: one named like an id, holding text or integers."""
    return first_present(table, ID_NAMES, integers=True)


def guess_text_column(table: pa.Table | pa.Schema, id_column: str | None) -> str | None:
    """A text-like name first, else the first string column that is not the ids."""
    schema = table if isinstance(table, pa.Schema) else table.schema
    found = first_present(schema, TEXT_NAMES, integers=False)
    if found:
        return found
    strings = [c for c in schema.names if is_string(schema.field(c).type)]
    others = [c for c in strings if c != id_column]
    return (others or strings or [None])[0]


def text_columns_ranked(table: pa.Table, candidates: list[str] | None = None) -> list[str]:
    """The text columns of `table` (or `candidates`), the one most worth encoding first.

    Columns named like text (TEXT_NAMES, descriptions before names) come first; the others
    follow with the longest median text first (a description before a category), measured
    on a sample of rows, so a million rows cost what a few hundred cost.
    """
    names = candidates if candidates is not None else [
        c for c in table.column_names if is_string(table.schema.field(c).type)]
    rank = {name: i for i, name in enumerate(TEXT_NAMES)}
    named = sorted((c for c in names if c.lower() in rank), key=lambda c: rank[c.lower()])
    others = [c for c in names if c.lower() not in rank]
    return named + sorted(others, key=lambda c: -_median_length(table.column(c)))


def _median_length(col: pa.ChunkedArray) -> int:
    n = len(col)
    step = max(1, n // SAMPLE)
    values = [v for v in col.slice(0, min(n, step * SAMPLE)).to_pylist()[::step]
              if isinstance(v, (str, bytes))]
    return sorted(len(v) for v in values)[len(values) // 2] if values else 0
