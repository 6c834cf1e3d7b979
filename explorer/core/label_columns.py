"""Which metadata column names a set's items in lists, tooltips and on the map.

A list of neighbours or a concept's extremes reads best by a short, mostly unique name
(a package's `name`, an article's `title`, a word), with the longer text beside it; the
text column alone made the lists a wall of descriptions. The guess looks at a sample
of rows (evenly spread, a few thousand at most, so it costs the same for any size):
a text column qualifies when most rows have a value, its values are short (median
MAX_CHARS characters) and they are mostly distinct. Among those, one that is not the
text column (shown beside the label anyway; unless it is the id column too) wins, then
one named like a label (`name`, `title`, `label`, `id`...), then the most distinct,
then the shortest. An integer id column qualifies too, as the last resort. The user's choice
(`--label-column`, the GUI) is checked against the columns and kept in the manifest.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from explorer.core.errors import InputError

LABEL_NAMES = ("name", "title", "label", "id", "key", "word", "term", "token", "slug",
               "headline", "filename", "file", "path")
MAX_CHARS = 48  # median length of a label; longer is a description
UNIQUE = 0.9  # share of distinct values in the sample that makes a column "mostly unique"
LEAST_UNIQUE = 0.5  # below this a column is a category (a `kind`, a `section`), not a name
SAMPLE = 2000


def guess_label_column(table: pa.Table, id_column: str | None = None,
                       text_column: str | None = None) -> str | None:
    """The column that best names the items of `table`; None when none does."""
    n = table.num_rows
    if n == 0:
        return None
    rows = np.unique(np.linspace(0, n - 1, num=min(n, SAMPLE)).astype(np.int64))
    best: tuple | None = None
    for position, name in enumerate(table.column_names):
        kind = table.schema.field(name).type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            values = [v for v in table.column(name).take(rows).to_pylist()
                      if v is not None and v.strip()]
            if 2 * len(values) < len(rows):
                continue
            median = sorted(len(v) for v in values)[len(values) // 2]
            distinct = len(set(values)) / len(values)
            if median > MAX_CHARS or distinct < LEAST_UNIQUE:
                continue
            shown_anyway = name == text_column and name != id_column
            score = (distinct < UNIQUE, shown_anyway, _name_rank(name), -distinct, median,
                     position)
        elif name == id_column and pa.types.is_integer(kind):
            score = (True, False, 3 * len(LABEL_NAMES), 0.0, 0, position)
        else:
            continue
        if best is None or score < best[0]:
            best = (score, name)
    return None if best is None else best[1]


def check_label_column(column: str, columns: list[str], path: str | None = None) -> None:
    """A label column the user named must exist; the error lists the ones that do."""
    if column not in columns:
        raise InputError(f"no column named {column!r} to label the items with", path=path,
                         hint="columns: " + ", ".join(columns[:30]),
                         choices=tuple(columns), option="label_column")


def _name_rank(name: str) -> int:
    """0.. for a label-like name (exact before partial: `name`, then `package_name`), else last."""
    lower = name.lower()
    if lower in LABEL_NAMES:
        return LABEL_NAMES.index(lower)
    for i, label in enumerate(LABEL_NAMES):
        if lower.startswith(label + "_") or lower.endswith(label):
            return len(LABEL_NAMES) + i
    return 2 * len(LABEL_NAMES)
