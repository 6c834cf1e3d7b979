"""Sharded vectors as the index code may read them (the ShardedVectors contract of issue 20):
rows by int, slice or sorted row numbers, read-only; `ranges()` per shard; no np.asarray.
Every read is recorded, so a test can check the index never asked for the whole set at once."""

from __future__ import annotations

import itertools

import numpy as np

from explorer.core.errors import InputError


class ShardedRows:
    def __init__(self, x: np.ndarray, shards: int) -> None:
        self._x = np.asarray(x, dtype=np.float32)
        cuts = np.linspace(0, len(x), shards + 1).astype(int)
        self._ranges = [(int(a), int(b)) for a, b in itertools.pairwise(cuts)]
        self.shape, self.dtype, self.ndim = self._x.shape, np.dtype(np.float32), 2
        self.paths: list = []
        self.reads: list[int] = []  # rows read per call

    def __len__(self) -> int:
        return len(self._x)

    def ranges(self) -> list[tuple[int, int]]:
        return list(self._ranges)

    def shard(self, i: int) -> np.ndarray:
        lo, hi = self._ranges[i]
        return self[lo:hi]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, np.ndarray):
            assert key.ndim == 1 and key.dtype.kind in "iu", key.dtype
            assert np.all(np.diff(key) >= 0), "rows of sharded vectors are read in order"
        elif not isinstance(key, (int, np.integer, slice)):
            raise TypeError(f"sharded vectors are read by int, slice or sorted rows, not {key!r}")
        out = np.array(self._x[key])
        out.flags.writeable = False
        self.reads.append(1 if out.ndim == 1 else len(out))
        return out

    def __array__(self, *args, **kwargs):
        raise InputError(f"this view needs the vectors in one file ({self._x.nbytes:,} bytes)")
