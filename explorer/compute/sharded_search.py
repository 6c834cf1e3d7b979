"""Exact nearest neighbours over a sharded set: one scan over every shard, merged by score.

The obvious way, one ExactIndex search per shard, cost 151 ms a query over 20 memory-mapped
shards against 24 ms for the same rows in one file (200k x 384). The time was not the
reading: each search is a parallel numba region, and on a busy 2-core machine every region
waits for its threads to be scheduled again (a raw 10k-row kernel call took ~12 ms, of which
the scan is under 2). So the memory-mapped shards are scanned by one parallel kernel over
(shard, block) work items, which costs what the single-file scan costs. Parquet shards must
be decoded first (ShardedVectors keeps a small LRU); each decoded shard is scanned as it
comes, so memory holds a shard or two, not the set. Scores, ties and the filter mask are
the single-file scan's: the global row is what every block keeps, and the mask, scales and
offsets are the set's, indexed by it.

tests/benchmarks/bench_sharded.py, 1M x 384 in 20 shards of 50k rows: 58.8 ms a query against
57.8 ms for the single file (load 1.5; one search per shard: 63.0 ms, and 1.51x the single
file at load 6.7); Parquet shards, decoded on every query, 4.1 s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from explorer.compute.index import ExactIndex, Neighbours, insert_top, scan_numpy
from explorer.compute.numba import compile_worker, jit, prange, readiness
from explorer.compute.numba.row_pointers import row_table, rows_at
from explorer.core.sharded import ShardedVectors

BLOCK_ROWS = 32_768  # rows a work item scans; fewer and a block's top-k insertions dominate


@jit(parallel=True, fastmath=True, nogil=True)
def scan_pieces(table, d, work, q, scale, offset, allowed, use_mask, k):
    """Each work item (piece, first global row of the piece, lo, hi) keeps its own top-k of
    dot(x, q) * scale + offset over rows lo:hi of its piece, by global row; the pieces are
    the (address, rows) of `table` (row_pointers.py), d columns each."""
    nw = work.shape[0]
    out_v = np.full((nw, k), -np.inf, np.float32)
    out_i = np.full((nw, k), -1, np.int64)
    for w in prange(nw):
        x = rows_at(table, work[w, 0], d)
        base = work[w, 1]
        vals = np.full(k, -np.inf, np.float32)
        ids = np.full(k, -1, np.int64)
        for i in range(work[w, 2], work[w, 3]):
            g = base + i
            if use_mask and not allowed[g]:
                continue
            s = np.float32(0.0)
            for j in range(d):
                s += x[i, j] * q[j]
            s = s * scale[g] + offset[g]
            if s > vals[0]:
                insert_top(vals, ids, s, g)
        out_v[w] = vals
        out_i[w] = ids
    return out_v, out_i


def work_items(pieces: list[tuple[int, np.ndarray]]) -> np.ndarray:
    """(piece, first global row, lo, hi) blocks of at most about BLOCK_ROWS rows."""
    items = []
    for p, (start, arr) in enumerate(pieces):
        blocks = max(1, len(arr) // BLOCK_ROWS)
        for b in range(blocks):
            lo, hi = b * len(arr) // blocks, (b + 1) * len(arr) // blocks
            if hi > lo:
                items.append((p, start, lo, hi))
    return np.array(items, dtype=np.int64).reshape(-1, 4)


def typed_pieces(pieces: list[tuple[int, np.ndarray]]) -> tuple[list[np.ndarray], np.ndarray]:
    """The arrays as the kernel takes them: C-ordered float32 rows (kept here, alive for as
    long as the batch is) and their (address, rows) table."""
    arrays = [np.ascontiguousarray(arr, dtype=np.float32) for _, arr in pieces]
    return arrays, row_table(arrays)


def load_kernel() -> None:
    """Compile or load the pieces scan now, so no search pays for it (a tiny call with the
    types every search passes: read-only float32 pieces)."""
    x = np.zeros((2, 2), dtype=np.float32)
    x.flags.writeable = False
    pieces = [(0, x)]
    ones = np.ones(2, dtype=np.float32)
    _, table = typed_pieces(pieces)
    scan_pieces(table, 2, work_items(pieces), ones, ones, ones, np.ones(2, dtype=bool), True, 1)


class ShardedExactIndex(ExactIndex):
    """ExactIndex's contract and results over a ShardedVectors: `search(query, k, allowed)`
    with the global row numbers, the same scores and the same order of ties."""

    def __init__(self, vectors: ShardedVectors, metric: str = "cosine",
                 norms: np.ndarray | None = None) -> None:
        super().__init__(vectors, metric, norms)
        self._mapped: tuple[Any, np.ndarray] | None = None

    def search(self, query: np.ndarray, k: int = 10,
               allowed: np.ndarray | None = None) -> Neighbours:
        q, qn, mask = self._prepare(query, k, allowed)
        vals, ids = [], []
        mapped = self._mapped_pieces()
        if len(mapped[1]):
            self._scan(mapped, q, mask, k, vals, ids)
        held = self.vectors.decoded()  # first, before the LRU lets them go
        for i in held + [i for i in range(len(self.vectors.shards)) if i not in held]:
            if not self.vectors.is_mapped(i):  # decoded shard by shard (a small LRU)
                pieces = [(int(self.vectors.offsets[i]) + s, a)
                          for s, a in self.vectors.pieces(i)]
                self._scan((typed_pieces(pieces), work_items(pieces)), q, mask, k, vals, ids)
        rows, scores = top(np.concatenate(vals), np.concatenate(ids), k)
        return self._finish(rows, scores, qn, q)

    def _mapped_pieces(self) -> tuple[Any, np.ndarray]:
        """The zero-copy pieces of every memory-mapped shard, kept for the next query."""
        if self._mapped is None:
            v = self.vectors
            pieces = [(int(v.offsets[i]) + s, a) for i in range(len(v.shards)) if v.is_mapped(i)
                      for s, a in v.pieces(i)]
            self._mapped = (typed_pieces(pieces), work_items(pieces))
        return self._mapped

    def _scan(self, batch: tuple[Any, np.ndarray], q: np.ndarray, mask: np.ndarray | None,
              k: int, vals: list, ids: list) -> None:
        (pieces, table), work = batch
        use_mask = mask is not None
        mask_arr = mask if use_mask else np.ones(1, dtype=bool)
        args = (table, int(self.vectors.dim), work, q, self._scale, self._offset, mask_arr,
                use_mask, int(k))
        if readiness.ready(scan_pieces, *args):
            v, i = scan_pieces(*args)
            vals.append(v.ravel())
            ids.append(i.ravel())
            return
        compile_worker.request()  # a first launch: numpy until the kernel is compiled
        for p, start in sorted({(int(p), int(s)) for p, s, _, _ in work}):
            x = pieces[p]
            stop = start + len(x)
            v, i = scan_numpy(x, q, self._scale[start:stop], self._offset[start:stop],
                              None if mask is None else mask[start:stop], int(k))
            vals.append(v.ravel())
            ids.append(np.where(i.ravel() >= 0, i.ravel() + start, -1))


def top(vals: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (rows, scores) of several top lists, best first, ties by row."""
    found = ids >= 0
    vals, ids = vals[found], ids[found]
    order = np.lexsort((ids, -vals))[:k]
    return ids[order].astype(np.int64), vals[order].astype(np.float32)
