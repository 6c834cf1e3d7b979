"""A list of arrays a kernel can take: numba's typed List, built here so that only this
package imports numba (compute/sharded_search.py scans many shards in one kernel call)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numba.typed import List


def array_list(arrays: Iterable[np.ndarray]) -> List:
    """The arrays (all of one dtype, dimension, order and writeability) as a typed List."""
    out = List()
    for a in arrays:
        out.append(a)
    return out
