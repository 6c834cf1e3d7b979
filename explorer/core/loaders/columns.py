"""Which columns of a table are the vectors, and the matrix they make.

The vectors are one list column (see list_columns), or one numeric column per dimension;
every other column is metadata. Pandas users often write one float column per dimension,
numbered ("dim_0".."dim_383", or "0".."383").

A column of numbers with a few cells that are not is a data error, reported at the first
such cell; a column that is mostly text is metadata. Columns are handled by position,
each once, so a table of 20 000 columns costs what its cells cost.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.errors import InputError
from explorer.core.loaders.guesses import text_columns_ranked
from explorer.core.loaders.list_columns import (
    NUMBER_RE,
    all_true,
    first_index,
    is_list_of_numbers,
    is_numeric,
    is_string,
    list_to_matrix,
    looks_like_list_strings,
    string_lists_to_matrix,
)

ENCODE_OPTION = "encode_column"  # InputError.option of a table of texts: encode which column
PREFERRED_NAMES = ("embedding", "embeddings", "vector", "vectors", "emb", "embs",
                   "features", "feature", "encoding", "values")
_DIGITS = re.compile(r"\d+$")
_INTEGER_RE = r"^\s*[-+]?\d+\s*$"
# A text column whose present cells are at least this share numbers is numbers with typos.
_MOSTLY_NUMBERS = 0.5
_NOT_A_DIMENSION = ("if this column is not part of the vectors, name the columns that are "
                    "with --vectors, e.g. 'dim_*'")
# What a column is, for choosing dimensions: "float" and "whole" hold numbers (or would,
# but for a few bad cells: see _kind), "text" is metadata, "other" anything else.
FLOAT, WHOLE, TEXT, OTHER = "float", "whole", "text", "other"


def check_unique_names(names: list[str], path) -> None:
    """Two columns of one name cannot both be kept: say which names repeat, and where."""
    where: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names, start=1):
        where[name].append(i)
    repeated = {name: at for name, at in where.items() if len(at) > 1}
    if not repeated:
        return
    listed = [f"{name!r} (columns {', '.join(map(str, at[:5]))})"
              for name, at in list(repeated.items())[:10]]
    if len(repeated) == 1:
        name, at = next(iter(repeated.items()))
        message = (f"the column name {name!r} appears more than once "
                   f"(columns {', '.join(map(str, at[:5]))})")
    else:
        more = f", and {len(repeated) - 10} more" if len(repeated) > 10 else ""
        message = "column names appear more than once: " + ", ".join(listed) + more
    raise InputError(message, path=path, column=min(at[1] for at in repeated.values()),
                     hint="give every column its own name")


def split_vectors(table: pa.Table, path, requested: str | None = None,
                  all_numeric: bool = False) -> tuple[np.ndarray, pa.Table, str]:
    """Separate vectors from metadata. Returns (matrix, metadata, description).

    `all_numeric`: a table without column names, where every column after any leading
    labels is a dimension.
    """
    names = table.column_names
    check_unique_names(names, path)
    if requested:
        return _requested(table, path, requested)
    types = table.schema.types
    lists = [i for i, t in enumerate(types) if is_list_of_numbers(t)]
    if not lists:
        lists = [i for i, t in enumerate(types)
                 if is_string(t) and looks_like_list_strings(table.column(i))]
    if lists:
        at = _one_list_column(lists, names, path)
        return _list_matrix(table.column(at), path, names[at]), _drop(table, [at]), names[at]
    kinds = [_kind(table.column(i), t) for i, t in enumerate(types)]
    dims = _after_labels(kinds) if all_numeric else _dimension_columns(names, kinds)
    if not dims:
        texts = [names[i] for i, k in enumerate(kinds) if k == TEXT and is_string(types[i])]
        if texts:
            raise text_without_vectors(table, path, texts)
        raise InputError("no vector column found: no list-of-numbers column and no numeric "
                         "columns", path=path, hint="columns: " + ", ".join(
                             f"{names[i]} ({types[i]})" for i in range(min(20, len(names)))))
    if all_numeric:
        return _numeric_columns(table, dims, path), _drop(table, dims), f"{len(dims)} columns"
    return (_numeric_columns(table, dims, path, _NOT_A_DIMENSION), _drop(table, dims),
            f"{len(dims)} numeric columns")


def text_without_vectors(table: pa.Table, path, texts: list[str]) -> InputError:
    """A table of texts is something to encode, not a broken embedding file: say how.

    `option` and `choices` (the text columns, the best to encode first) let the GUI open
    its Encode dialog on the file with that column chosen.
    """
    ranked = tuple(text_columns_ranked(table, texts))
    command = shlex.join(["embedding-explorer", "encode", str(path), "--column", ranked[0],
                          "--model", "minilm"])
    return InputError("holds text but no vectors", path=path, hint=f"encode it: {command}",
                      choices=ranked, option=ENCODE_OPTION)


def _requested(table: pa.Table, path, requested: str) -> tuple[np.ndarray, pa.Table, str]:
    names = table.column_names
    if requested in names:
        at = names.index(requested)
        col = table.column(at)
        if not is_list_of_numbers(col.type) and not looks_like_list_strings(col):
            raise InputError(
                f"column {requested!r} holds {col.type}, not vectors", path=path,
                hint="give a list column, or a pattern such as 'dim_*' for one column per dimension")
        return _list_matrix(col, path, requested), _drop(table, [at]), requested
    chosen = [i for i, name in enumerate(names) if fnmatch.fnmatchcase(name, requested)]
    if not chosen:
        raise InputError(f"no column matches {requested!r}", path=path,
                         hint="columns: " + ", ".join(names[:30]))
    return _numeric_columns(table, chosen, path), _drop(table, chosen), requested


def _one_list_column(lists: list[int], names: list[str], path) -> int:
    preferred = [i for i in lists if names[i].lower() in PREFERRED_NAMES]
    if len(lists) > 1 and len(preferred) != 1:
        candidates = tuple(names[i] for i in lists)
        raise InputError("several columns could hold the vectors: " + ", ".join(candidates),
                         path=path, hint="choose one with --vectors COLUMN",
                         choices=candidates, option="vector_column")
    return preferred[0] if preferred else lists[0]


def _list_matrix(col: pa.ChunkedArray, path, name: str) -> np.ndarray:
    if is_list_of_numbers(col.type):
        return list_to_matrix(col, path, name)
    return string_lists_to_matrix(col, path, name)


def _drop(table: pa.Table, positions: list[int]) -> pa.Table:
    """The table without these columns, in one step (drop_columns is quadratic in columns)."""
    gone = set(positions)
    return table.select([i for i in range(table.num_columns) if i not in gone])


def _kind(col: pa.ChunkedArray, t: pa.DataType) -> str:
    """FLOAT, WHOLE, TEXT or OTHER; text that is mostly numbers is the number it would be."""
    if pa.types.is_floating(t):
        return FLOAT
    if is_numeric(t):
        return WHOLE
    if not (is_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)):
        return OTHER
    present = len(col) - col.null_count
    if present == 0:
        return TEXT
    numbers = pc.match_substring_regex(col, NUMBER_RE)
    if (pc.sum(numbers).as_py() or 0) < _MOSTLY_NUMBERS * present:
        return TEXT
    fractions = pc.and_(numbers, pc.invert(pc.match_substring_regex(col, _INTEGER_RE)))
    return FLOAT if pc.any(fractions).as_py() else WHOLE


def _dimension_columns(names: list[str], kinds: list[str]) -> list[int]:
    """The columns that are dimensions of one vector.

    One column per dimension is usually numbered ("dim_0".."dim_383", or "0".."383"
    from pandas). When such a numbered group holds floats it is the vector, whole-number
    columns included, and so is a member numbered between its numeric ones whatever it
    holds (an empty column, a text one: the errors then point at them); other numeric
    columns such as "score" stay metadata. Without one, every float column is a
    dimension; and a table of whole numbers only (quantized vectors) is all dimensions.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        if _DIGITS.search(name):
            groups[_DIGITS.sub("", name)].append(i)
    numeric = (FLOAT, WHOLE)
    best = max(groups.values(), key=lambda g: sum(kinds[i] in numeric for i in g), default=[])
    if sum(kinds[i] in numeric for i in best) >= 2 and any(kinds[i] == FLOAT for i in best):
        number = {i: int(_DIGITS.search(names[i])[0]) for i in best}
        inner = [number[i] for i in best if kinds[i] in numeric]
        return [i for i in best if kinds[i] in numeric or min(inner) < number[i] < max(inner)]
    floats = [i for i, k in enumerate(kinds) if k == FLOAT]
    if floats:
        return floats
    if len(kinds) >= 2 and all(k == WHOLE for k in kinds):
        return list(range(len(kinds)))
    return []


def _after_labels(kinds: list[str]) -> list[int]:
    """Without column names: leading labels, then every column is a dimension.

    The labels run up to the last text column among the leading ones ("7,apple,0.1,0.2");
    text after float dimensions is a bad cell, reported when the column is read.
    """
    n_labels = 0
    for i, kind in enumerate(kinds):
        if kind not in (TEXT, OTHER):
            continue
        if i > n_labels + 1 and kinds[i - 1] == FLOAT:
            break
        n_labels = i + 1
    return list(range(n_labels, len(kinds)))


def _numeric_columns(table: pa.Table, positions: list[int], path,
                     hint: str | None = None) -> np.ndarray:
    names = table.column_names
    out = np.empty((table.num_rows, len(positions)), dtype=np.float32)
    for j, i in enumerate(positions):
        col = table.column(i)
        if col.null_count:
            raise InputError("empty cell where a number was expected", path=path,
                             row=first_index(col.is_null()), column=names[i])
        if not is_numeric(col.type):
            col = _text_to_numbers(col, path, names[i], hint)
        with np.errstate(over="ignore"):  # beyond float32 becomes Inf, which check_set reports
            out[:, j] = col.to_numpy()
    return out


def _text_to_numbers(col: pa.ChunkedArray, path, name: str,
                     hint: str | None) -> pa.ChunkedArray:
    """A text column of numbers as float64, or the error at its first cell that is not one."""
    if not (is_string(col.type) or pa.types.is_binary(col.type)
            or pa.types.is_large_binary(col.type)):
        raise InputError(f"holds {col.type}, not numbers", path=path, column=name)
    ok = pc.match_substring_regex(col, NUMBER_RE)
    if not all_true(ok):
        row = first_index(pc.invert(ok))
        value = col[row].as_py()
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        raise InputError(f"{value[:40]!r} is not a number", path=path, row=row, column=name,
                         hint=hint)
    return pc.cast(pc.utf8_trim_whitespace(col.cast(pa.string())), pa.float64())
