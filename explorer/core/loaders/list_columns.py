"""One column holding a whole vector per row: a list column, or text cells such as "[0.1, 0.2]".

Hugging Face datasets and most pipelines store a list (or fixed-size list) column of
floats; pandas' `to_csv` of such a column writes Python's or numpy's text of each list.
Both become an (n, d) float32 matrix here, with ragged rows and bad cells reported by row.
The text cells are parsed by Arrow compute kernels, so a million rows take seconds, not
minutes, and a cell's length is bounded by the file it came from.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.errors import InputError

NUMBER_RE = r"^\s*[-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)\s*$"
# numpy 2 writes the items of list(array) as "np.float32(0.5)"
_NUMPY_SCALAR = r"np\.(float|int|uint)(8|16|32|64)\(([^()]*)\)"
_LIST_SEP = r"\s*,\s*|\s+"
_LIST_START = re.compile(r"\s*\[\s*([-+.\d\]]|nan|NaN|inf|Inf|np\.)")


def is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def is_list_of_numbers(t: pa.DataType) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) \
        and is_numeric(t.value_type)


def looks_like_list_strings(col: pa.ChunkedArray) -> bool:
    """Text cells most of which open a list of numbers ("[0.1", "[ -2", "[np.float32(") in the
    first rows: a list column written as text. Most, not all, so a cell that lost its bracket
    is named by the list checks instead of the column passing for metadata."""
    if not is_string(col.type):
        return False
    head = col.slice(0, 20).drop_null().to_pylist()
    return 2 * sum(bool(_LIST_START.match(str(v))) for v in head) > len(head)


def first_index(mask: pa.ChunkedArray | pa.Array) -> int:
    return int(pc.index(mask, True).as_py())


def all_true(mask: pa.ChunkedArray | pa.Array) -> bool:
    """True for an empty mask too (pc.all alone gives null there)."""
    return bool(pc.all(mask, min_count=0).as_py())


def list_to_matrix(col: pa.ChunkedArray | pa.Array, path, name: str) -> np.ndarray:
    """(n, d) float32 from a list column; ragged rows and nulls are errors with a row."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if col.null_count:
        raise InputError("no vector in this row (null)", path=path,
                         row=first_index(col.is_null()), column=name)
    n = len(col)
    d = _uniform_length(col, path, name)
    values = pc.list_flatten(col)
    if values.null_count:
        flat = first_index(values.is_null())
        raise InputError(f"empty value at position {flat % d if d else 0} of the vector",
                         path=path, row=flat // d if d else 0, column=name)
    with np.errstate(over="ignore"):  # beyond float32 becomes Inf, which check_set reports
        matrix = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return matrix.reshape(n, d)


def _uniform_length(col: pa.Array, path, name: str) -> int:
    """Every row's length, which must be row 0's."""
    if pa.types.is_fixed_size_list(col.type):
        return col.type.list_size
    if not len(col):
        return 0
    lengths = pc.list_value_length(col)
    d = int(lengths[0].as_py())
    bad = pc.not_equal(lengths, d)
    if pc.any(bad).as_py():
        row = first_index(bad)
        raise InputError(
            f"vector has {lengths[row].as_py()} values, but row 0 has {d} (ragged rows)",
            path=path, row=row, column=name)
    return d


def string_lists_to_matrix(col: pa.ChunkedArray, path, name: str) -> np.ndarray:
    """Parse "[0.1, 0.2]" (JSON, Python's str of a list, with nan/inf and numpy 2's
    "np.float32(0.1)") or "[0.1 0.2]" (numpy's str of an array) in every cell."""
    col = col.combine_chunks()
    if col.null_count:
        raise InputError("empty cell where a vector was expected", path=path,
                         row=first_index(col.is_null()), column=name)
    text = pc.utf8_trim_whitespace(col)
    bracketed = pc.and_(pc.starts_with(text, "["), pc.ends_with(text, "]"))
    if not all_true(bracketed):
        raise InputError("cell is not a list of numbers such as [0.1, 0.2]", path=path,
                         row=first_index(pc.invert(bracketed)), column=name)
    inner = pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(text, 1, -1))
    inner = pc.replace_substring_regex(inner, _NUMPY_SCALAR, r"\3")
    parts = pc.split_pattern_regex(inner, _LIST_SEP)
    # "[]" splits into one empty string: a vector of no values
    parts = pc.if_else(pc.equal(inner, ""), pa.scalar([], parts.type), parts)
    d = _uniform_length(parts, path, name)
    flat = pc.list_flatten(parts)
    try:  # beyond float32 becomes Inf, which check_set reports
        values = pc.cast(flat, pa.float32()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # only now look for the value that is not a number
        at = first_index(pc.invert(pc.match_substring_regex(flat, NUMBER_RE)))
        raise _bad_value(str(flat[at]), path, at // d, name) from None
    return values.reshape(len(col), d)


def _bad_value(value: str, path, row: int, name: str) -> InputError:
    if value in ("...", "…"):
        return InputError("the vector was shortened to '...' when it was written (numpy prints "
                          "long arrays that way), so its values are not in the file", path=path,
                          row=row, column=name,
                          hint="write the column with .tolist(), or save the vectors as .npy")
    return InputError(f"{value[:40]!r} in the list is not a number", path=path, row=row,
                      column=name)
