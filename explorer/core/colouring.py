"""Turn a metadata column into colours: category codes with a legend, or numeric values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.errors import InputError

MAX_CATEGORIES = 20  # the palette's distinct colours; the rest share "other"
OTHER = "(other)"
MISSING = "(missing)"


@dataclass
class Colouring:
    column: str
    kind: str  # "categorical" | "numeric"
    codes: np.ndarray | None = None  # int16 per row, index into labels
    labels: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    values: np.ndarray | None = None  # float32 per row (numeric); NaN = no value
    vmin: float = 0.0
    vmax: float = 1.0


def is_categorical(col: pa.ChunkedArray, max_categories: int = MAX_CATEGORIES) -> bool:
    t = col.type
    if pa.types.is_dictionary(t) or pa.types.is_boolean(t) or pa.types.is_string(t) \
            or pa.types.is_large_string(t):
        return True
    if pa.types.is_integer(t):
        return pc.count_distinct(col).as_py() <= max_categories
    return False


def colouring_for(table: pa.Table, column: str, max_categories: int = MAX_CATEGORIES) -> Colouring:
    if column not in table.column_names:
        raise InputError(f"no column named {column!r} to colour by")
    col = table.column(column)
    if is_categorical(col, max_categories):
        return _categorical(column, col, max_categories)
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) \
            or pa.types.is_decimal(col.type):
        values = col.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float32)
        finite = values[np.isfinite(values)]
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        return Colouring(column, "numeric", values=values, vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)
    raise InputError(f"column {column!r} holds {col.type}, which has no colour scale")


def _categorical(column: str, col: pa.ChunkedArray, max_categories: int) -> Colouring:
    if not pa.types.is_string(col.type) and not pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    counts = pc.value_counts(col.combine_chunks()).to_pylist()
    present = sorted(((c["counts"], str(c["values"])) for c in counts if c["values"] is not None),
                     key=lambda t: (-t[0], t[1]))
    missing = sum(c["counts"] for c in counts if c["values"] is None)
    keep = present if len(present) <= max_categories else present[: max_categories - 1]
    labels = [label for _, label in keep]
    sizes = [n for n, _ in keep]
    if len(keep) < len(present):
        labels.append(OTHER)
        sizes.append(sum(n for n, _ in present[len(keep):]))
    other_code = labels.index(OTHER) if OTHER in labels else -1
    if missing:
        labels.append(MISSING)
        sizes.append(missing)
    values = col.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.cast(pa.string())
    # typed: inferring a list's type makes pyarrow try `import dateutil` (absent) on every
    # call, a path scan under the import lock from a worker thread
    idx = pc.index_in(values, value_set=pa.array(labels[: len(keep)], type=pa.string()))
    codes = pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int16)
    nulls = values.is_null().to_numpy(zero_copy_only=False)
    codes[(codes < 0) & ~nulls] = other_code
    if missing:
        codes[nulls] = len(labels) - 1
    return Colouring(column, "categorical", codes=codes, labels=labels, counts=sizes)
