"""Finding the vector column(s) in a table and turning them into a matrix.

Hugging Face datasets and most pipelines store one list (or fixed-size list)
column of floats next to metadata columns; pandas users often write one float
column per dimension; `to_csv` of a list column gives strings like "[0.1, ...]".
All three shapes are recognised here.
"""

from __future__ import annotations

import fnmatch
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.errors import InputError

PREFERRED_NAMES = ("embedding", "embeddings", "vector", "vectors", "emb", "embs",
                   "features", "feature", "encoding", "values")
NUMBER_RE = r"^\s*[-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)\s*$"
_NUMBER = re.compile(NUMBER_RE)
_LIST_SEP = re.compile(r"[,\s]+")
_DIGITS = re.compile(r"\d+$")


def is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def is_list_of_numbers(t: pa.DataType) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) \
        and is_numeric(t.value_type)


def looks_like_list_strings(col: pa.ChunkedArray) -> bool:
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return False
    head = col.slice(0, 20).drop_null()
    return len(head) > 0 and all(str(v).lstrip().startswith("[") for v in head.to_pylist())


def first_index(mask: pa.ChunkedArray | pa.Array) -> int:
    return int(pc.index(mask, True).as_py())


def list_to_matrix(col: pa.ChunkedArray, path, name: str) -> np.ndarray:
    """(n, d) float32 from a list column; ragged rows and nulls are errors with a row."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if col.null_count:
        raise InputError("no vector in this row (null)", path=path,
                         row=first_index(col.is_null()), column=name)
    n = len(col)
    if pa.types.is_fixed_size_list(col.type):
        d = col.type.list_size
    else:
        lengths = pc.list_value_length(col)
        if n:
            d = int(lengths[0].as_py())
            bad = pc.not_equal(lengths, d)
            if pc.any(bad).as_py():
                row = first_index(bad)
                raise InputError(
                    f"vector has {lengths[row].as_py()} values, but row 0 has {d} (ragged rows)",
                    path=path, row=row, column=name)
        else:
            d = 0
    values = pc.list_flatten(col)
    if values.null_count:
        flat = first_index(values.is_null())
        raise InputError(f"empty value at position {flat % d if d else 0} of the vector",
                         path=path, row=flat // d if d else 0, column=name)
    with np.errstate(over="ignore"):  # beyond float32 becomes Inf, which check_set reports
        matrix = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return matrix.reshape(n, d)


def string_lists_to_matrix(col: pa.ChunkedArray, path, name: str) -> np.ndarray:
    rows = []
    d = None
    for i, text in enumerate(col.to_pylist()):
        values = _parse_list(text)
        if values is None:
            raise InputError("cell is not a list of numbers such as [0.1, 0.2]",
                             path=path, row=i, column=name)
        if d is None:
            d = len(values)
        elif len(values) != d:
            raise InputError(f"vector has {len(values)} values, but row 0 has {d} (ragged rows)",
                             path=path, row=i, column=name)
        rows.append(values)
    with np.errstate(over="ignore"):  # beyond float32 becomes Inf, which check_set reports
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), d or 0)


def _parse_list(text: str | None) -> list[float] | None:
    """Parse "[0.1, 0.2]" (JSON or Python's str of a list, with nan/inf) or "[0.1 0.2]" (numpy)."""
    if text is None:
        return None
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    parts = [p for p in _LIST_SEP.split(text[1:-1].strip()) if p]
    if not all(_NUMBER.match(p) for p in parts):
        return None
    return [float(p) for p in parts]


def check_numeric_strings(table: pa.Table, path) -> None:
    """A mostly-numeric dimension column hides a typo: point at the first bad cell.

    Only columns named like dimensions ("d7", "dim_7", "7") are checked: a text
    metadata column such as a title that is often a number ("1984") is fine.
    """
    for name in table.column_names:
        if not _DIGITS.search(name):
            continue
        col = table.column(name)
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            continue
        present = col.drop_null()
        if len(present) == 0:
            continue
        ok = pc.match_substring_regex(col, NUMBER_RE)
        n_ok = pc.sum(ok).as_py() or 0
        if n_ok >= 0.5 * len(present) and n_ok < len(present):
            row = first_index(pc.invert(pc.fill_null(ok, True)))
            value = col[row].as_py()
            raise InputError(f"{value!r} is not a number", path=path, row=row, column=name)


def check_unique_names(names: list[str], path) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise InputError(f"the column name {name!r} appears more than once", path=path,
                             column=i, hint="give every column its own name")
        seen.add(name)


def split_vectors(table: pa.Table, path, requested: str | None = None,
                  all_numeric: bool = False) -> tuple[np.ndarray, pa.Table, str]:
    """Separate vectors from metadata. Returns (matrix, metadata, description)."""
    names = table.column_names
    check_unique_names(names, path)
    if requested:
        if requested in names:
            col = table.column(requested)
            rest = table.drop_columns([requested])
            if is_list_of_numbers(col.type):
                return list_to_matrix(col, path, requested), rest, requested
            if looks_like_list_strings(col):
                return string_lists_to_matrix(col, path, requested), rest, requested
            raise InputError(
                f"column {requested!r} holds {col.type}, not vectors", path=path,
                hint="give a list column, or a pattern such as 'dim_*' for one column per dimension")
        chosen = fnmatch.filter(names, requested)
        if not chosen:
            raise InputError(f"no column matches {requested!r}", path=path,
                             hint="columns: " + ", ".join(names[:30]))
        return _numeric_columns(table, chosen, path), table.drop_columns(chosen), requested

    list_cols = [n for n in names if is_list_of_numbers(table.schema.field(n).type)]
    if not list_cols:
        list_cols = [n for n in names if looks_like_list_strings(table.column(n))]
    if list_cols:
        preferred = [n for n in list_cols if n.lower() in PREFERRED_NAMES]
        if len(list_cols) > 1 and len(preferred) != 1:
            raise InputError("several columns could hold the vectors: " + ", ".join(list_cols),
                             path=path, hint="choose one with --vectors COLUMN",
                             choices=tuple(list_cols), option="vector_column")
        name = preferred[0] if preferred else list_cols[0]
        col = table.column(name)
        rest = table.drop_columns([name])
        if is_list_of_numbers(col.type):
            return list_to_matrix(col, path, name), rest, name
        return string_lists_to_matrix(col, path, name), rest, name

    if all_numeric:
        # Headerless text: every column is a dimension except leading labels, which
        # run up to the last text column among the leading ones ("7,apple,0.1,0.2").
        text_at = [i for i, n in enumerate(names) if not is_numeric(table.schema.field(n).type)]
        n_labels = 0
        for i in text_at:
            if i > n_labels + 1 and pa.types.is_floating(table.schema.field(names[i - 1]).type):
                break  # text after float dimensions is a bad cell, reported below
            n_labels = i + 1
        label_cols = names[:n_labels]
        dims = names[n_labels:]
        for n in dims:
            if not is_numeric(table.schema.field(n).type):
                _raise_first_non_number(table.column(n), path, n)
        return _numeric_columns(table, dims, path), table.select(label_cols), f"{len(dims)} columns"

    floats = _dimension_columns(table)
    if not floats:
        # All-integer tables (quantized vectors) are all dimensions; next to a float column an
        # integer column is more likely an id, so it is not glued on to make a second dimension.
        ints = [n for n in names if pa.types.is_integer(table.schema.field(n).type)]
        if len(ints) >= 2 and len(ints) == len(names):
            floats = ints
    if not floats:
        raise InputError("no vector column found: no list-of-numbers column and no numeric columns",
                         path=path, hint="columns: " + ", ".join(f"{n} ({table.schema.field(n).type})"
                                                                for n in names[:20]))
    return (_numeric_columns(table, floats, path), table.drop_columns(floats),
            f"{len(floats)} numeric columns")


def _dimension_columns(table: pa.Table) -> list[str]:
    """The numeric columns that are dimensions of one vector.

    One column per dimension is usually numbered ("dim_0".."dim_383", or "0".."383"
    from pandas). When such a numbered group exists it is the vector, whole
    numbers included (a CSV column of whole numbers is read as integers), and
    other numeric columns such as "score" stay metadata. Without one, every
    float column is a dimension.
    """
    names = table.column_names
    numeric = [n for n in names if is_numeric(table.schema.field(n).type)]
    floats = [n for n in numeric if pa.types.is_floating(table.schema.field(n).type)]
    groups: dict[str, list[str]] = {}
    for n in numeric:
        if _DIGITS.search(n):
            groups.setdefault(_DIGITS.sub("", n), []).append(n)
    best = max(groups.values(), key=len, default=[])
    if len(best) >= 2 and any(n in floats for n in best):
        return best
    return floats


def _numeric_columns(table: pa.Table, cols: list[str], path) -> np.ndarray:
    out = np.empty((table.num_rows, len(cols)), dtype=np.float32)
    for j, n in enumerate(cols):
        col = table.column(n)
        if not is_numeric(col.type):
            _raise_first_non_number(col, path, n)
        if col.null_count:
            raise InputError("empty cell where a number was expected", path=path,
                             row=first_index(col.is_null()), column=n)
        with np.errstate(over="ignore"):  # beyond float32 becomes Inf, which check_set reports
            out[:, j] = col.to_numpy()
    return out


def _raise_first_non_number(col: pa.ChunkedArray, path, name: str) -> None:
    if col.null_count:
        raise InputError("empty cell where a number was expected", path=path,
                         row=first_index(col.is_null()), column=name)
    ok = pc.match_substring_regex(col.cast(pa.string()), NUMBER_RE)
    row = first_index(pc.invert(ok)) if not pc.all(ok).as_py() else 0
    raise InputError(f"{col[row].as_py()!r} is not a number", path=path, row=row, column=name)
