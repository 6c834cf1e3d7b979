"""Rows of many arrays in one kernel call, by address: a table of (address, rows) per array
and `rows_at`, which views one of them as an (rows, cols) float32 array inside a kernel.

numba's typed List would carry the arrays itself, but its own functions are compiled in
every process and never cached, so a bundle that ships every kernel compiled would still
compile them on a user's machine; an address and a shape are plain integers. The caller
keeps the arrays alive (and C-ordered float32) for as long as the kernel runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import carray, types
from numba.extending import intrinsic

from explorer.compute.numba.setup import jit


@intrinsic
def _float32_pointer(typingctx, address):
    """The integer `address` as a float32 pointer (for carray)."""
    if not isinstance(address, types.Integer):
        return None
    sig = types.CPointer(types.float32)(address)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))
    return sig, codegen


@jit(inline="always", nogil=True)
def rows_at(table, p, cols):
    """Array `p` of `table` (rows of [address, rows]) as a C-ordered (rows, cols) float32 view."""
    return carray(_float32_pointer(table[p, 0]), (table[p, 1], cols))


def row_table(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """(address, rows) of each C-ordered float32 2-D array, for `rows_at`."""
    table = np.zeros((len(arrays), 2), dtype=np.int64)
    for i, a in enumerate(arrays):
        if a.dtype != np.float32 or a.ndim != 2 or not a.flags.c_contiguous:
            raise ValueError("row_table takes C-ordered float32 2-D arrays")
        table[i] = (a.ctypes.data, a.shape[0])
    return table
