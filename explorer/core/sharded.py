"""A sharded set's vectors: many Parquet / Arrow IPC files read as one (n, d) array, in place.

A set too large to copy into one vectors.npy stays in the user's shard files. Views that
read rows in blocks (`vectors[start:stop]`, `vectors[sorted_rows]`) work on it unchanged;
the shard-aware ones (exact neighbour search) walk `arrays()`. An uncompressed Arrow IPC
shard is memory-mapped, zero copy, so it costs what a .npy does; a Parquet shard (or a
compressed IPC one) has to be decoded, which happens shard by shard on demand into a small
LRU, so memory stays bounded whatever the set's size. `np.asarray()` of the whole set
refuses in the user's words: a view that is not shard-aware would otherwise read millions
of rows one by one, or all of them into memory.
"""

from __future__ import annotations

import mmap
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import ipc

from explorer.core.errors import InputError

ARROW, PARQUET = "arrow", "parquet"
DECODED_SHARDS = 2  # decoded shards kept: a scan moves on, a sample's reads come back
BATCH_ROWS = 16_384  # rows of a Parquet shard decoded at a time
# What a damaged shard raises from pyarrow (a bad UTF-8 name in a footer is a ValueError).
ARROW_ERRORS = (OSError, ValueError, pa.ArrowException)


@dataclass(frozen=True)
class Shard:
    """One shard file as it was checked at import: what `check_files` compares it with."""

    path: str
    kind: str  # ARROW | PARQUET
    rows: int
    size: int
    mtime_ns: int
    digest: str  # blake2b of the file's footer (its schema, row groups or batches)

    def to_manifest(self) -> dict:
        return asdict(self)

    @classmethod
    def from_manifest(cls, data: object) -> Shard:
        """ValueError naming what is wrong with one manifest record."""
        if not isinstance(data, dict):
            raise ValueError("a shard record is not an object")
        try:
            shard = cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except KeyError as exc:
            raise ValueError(f"a shard record has no {exc.args[0]!r}") from None
        ints = (shard.rows, shard.size, shard.mtime_ns)
        if not isinstance(shard.path, str) or shard.kind not in (ARROW, PARQUET) \
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                           for v in ints) or not isinstance(shard.digest, str):
            raise ValueError(f"the shard record of {str(data.get('path'))[:80]!r} is damaged")
        return shard


class ShardedVectors:
    """(n, d) float32 rows spread over shard files, read where they are.

    `__getitem__` takes an int, a slice or a 1-D array of rows (sorted reads each shard
    once; any order works) and gives a read-only float32 ndarray. `ranges()` are the shards'
    row ranges, `shard(i)` one shard's rows, `arrays()` every zero-copy piece with its first
    row (an IPC file written in several record batches is several pieces).
    """

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, shards: list[Shard], dim: int, vector_column: str,
                 decoded_shards: int = DECODED_SHARDS) -> None:
        self.shards = list(shards)
        self.dim = int(dim)
        self.vector_column = vector_column
        self.offsets = np.cumsum([0] + [s.rows for s in self.shards]).astype(np.int64)
        self.shape = (int(self.offsets[-1]), self.dim)
        self.flags = SimpleNamespace(writeable=False, c_contiguous=False, owndata=False)
        self._decoded_max = max(1, decoded_shards)
        self._mapped: dict[int, list[tuple[int, np.ndarray]]] = {}
        self._maps: dict[int, mmap.mmap] = {}
        self._decoded: OrderedDict[int, list[tuple[int, np.ndarray]]] = OrderedDict()
        self._lock = threading.Lock()

    # --- the array protocol views rely on -------------------------------------------
    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        return self.size * 4

    @property
    def paths(self) -> list[Path]:
        return [Path(s.path) for s in self.shards]

    def __array__(self, dtype=None, copy=None):
        from explorer.core.loaders.base import size_text

        raise InputError(
            f"this view needs the vectors in one file, but this set's {self.shape[0]:,} x "
            f"{self.dim} vectors ({size_text(self.nbytes)}) are in {len(self.shards)} shard "
            "files", hint="import the shards without --sharded (when they fit on disk) to use "
                          "it; neighbours, filters and the map work on sharded sets")

    def __repr__(self) -> str:
        return f"ShardedVectors({self.shape[0]} x {self.dim}, {len(self.shards)} shards)"

    def ranges(self) -> list[tuple[int, int]]:
        return [(int(a), int(b)) for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def shard(self, i: int) -> np.ndarray:
        pieces = self.pieces(i)
        if len(pieces) == 1:
            return pieces[0][1]
        return _readonly(np.concatenate([a for _, a in pieces]) if pieces
                         else np.zeros((0, self.dim), np.float32))

    def arrays(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, rows) of every piece in order: mapped ones zero copy, Parquet decoded."""
        for i in range(len(self.shards)):
            for start, arr in self.pieces(i):
                yield int(self.offsets[i]) + start, arr

    def fingerprint(self) -> list[str]:
        """What derived data of the set is tied to: each shard's footer digest and size."""
        return [f"{s.digest}:{s.size}:{s.mtime_ns}" for s in self.shards]

    def locate(self, row: int) -> tuple[Path, int]:
        """(shard file, row inside it) of a global row, for messages."""
        i = int(np.searchsorted(self.offsets, row, side="right") - 1)
        return Path(self.shards[i].path), int(row - self.offsets[i])

    def release(self) -> None:
        """Drop the decoded shards and the pages of the mapped ones read so far."""
        with self._lock:
            self._decoded.clear()
        self.release_pages()

    def release_pages(self) -> None:
        """Drop this process's mapping of the IPC pages read so far (they stay in the page
        cache): a pass over every row would otherwise count the whole set in its memory,
        as `vector_checks.release_pages` does for a memory-mapped .npy."""
        with self._lock:
            maps = list(self._maps.values())
        for mapping in maps:
            try:
                mapping.madvise(mmap.MADV_DONTNEED)
            except (AttributeError, OSError, ValueError):
                pass

    # --- reading rows ---------------------------------------------------------------
    def __getitem__(self, key) -> np.ndarray:
        n = self.shape[0]
        if isinstance(key, tuple):
            if len(key) == 2 and key[1] == slice(None):
                key = key[0]
            else:
                raise InputError("a sharded set is read by rows (vectors[rows])")
        if isinstance(key, (int, np.integer)):
            row = int(key) + (n if key < 0 else 0)
            if not 0 <= row < n:
                raise IndexError(f"row {int(key)} is out of range for {n} rows")
            return self._rows_sorted(np.array([row], dtype=np.int64))[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                return self._slice(start, max(start, stop))
            return self._rows_sorted(np.arange(start, stop, step, dtype=np.int64)) \
                if step > 0 else self[np.arange(start, stop, step, dtype=np.int64)]
        rows = np.asarray(key)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise IndexError(f"a mask of {rows.size} entries for {n} rows")
            return self._rows_sorted(np.flatnonzero(rows))
        if rows.ndim != 1 or not (rows.dtype.kind in "iu" or rows.size == 0):
            raise IndexError("rows must be a 1-D array of row numbers")
        rows = rows.astype(np.int64, copy=True)
        rows[rows < 0] += n
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            raise IndexError(f"rows out of range for {n} rows")
        if rows.size < 2 or bool(np.all(rows[1:] >= rows[:-1])):
            return self._rows_sorted(rows)
        order = np.argsort(rows, kind="stable")
        out = np.empty((rows.size, self.dim), dtype=np.float32)
        out[order] = self._rows_sorted(rows[order])
        return _readonly(out)

    def _slice(self, start: int, stop: int) -> np.ndarray:
        parts = []
        first = int(np.searchsorted(self.offsets, start, side="right") - 1)
        for i in range(max(0, first), len(self.shards)):
            lo = int(self.offsets[i])
            if lo >= stop:
                break
            for p_start, arr in self.pieces(i):
                a, b = lo + p_start, lo + p_start + len(arr)
                if b <= start or a >= stop:
                    continue
                parts.append(arr[max(start, a) - a:min(stop, b) - a])
        if not parts:
            return _readonly(np.zeros((0, self.dim), dtype=np.float32))
        return parts[0] if len(parts) == 1 else _readonly(np.concatenate(parts))

    def _rows_sorted(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((rows.size, self.dim), dtype=np.float32)
        bounds = np.searchsorted(rows, self.offsets)
        for i in range(len(self.shards)):
            a, b = int(bounds[i]), int(bounds[i + 1])
            if a == b:
                continue
            local = rows[a:b] - self.offsets[i]
            for p_start, arr in self.pieces(i):
                lo, hi = np.searchsorted(local, [p_start, p_start + len(arr)])
                if hi > lo:
                    out[a + lo:a + hi] = arr[local[lo:hi] - p_start]
        return _readonly(out)

    def decoded(self) -> list[int]:
        """The shards decoded now (a scan that starts with them decodes two fewer)."""
        with self._lock:
            return list(self._decoded)

    def is_mapped(self, i: int) -> bool:
        """Whether shard i is read zero copy from a memory map (else decoded on demand)."""
        self.pieces(i)
        return i in self._mapped

    def pieces(self, i: int) -> list[tuple[int, np.ndarray]]:
        """Shard i's rows as (first row inside the shard, read-only float32 rows) pieces."""
        with self._lock:
            if i in self._mapped:
                return self._mapped[i]
            if i in self._decoded:
                self._decoded.move_to_end(i)
                return self._decoded[i]
        shard = self.shards[i]
        if shard.kind == PARQUET:  # room first: the LRU's shards and the new one never exceed it
            with self._lock:
                while len(self._decoded) >= self._decoded_max:
                    self._decoded.popitem(last=False)
        mapped, pieces = self._read(shard)
        with self._lock:
            if mapped is not None:
                self._mapped[i] = pieces
                self._maps[i] = mapped
            else:
                self._decoded[i] = pieces
                while len(self._decoded) > self._decoded_max:
                    self._decoded.popitem(last=False)
        return pieces

    def _read(self, shard: Shard) -> tuple[mmap.mmap | None, list[tuple[int, np.ndarray]]]:
        """(its memory map when read zero copy, pieces) of one shard; InputError naming the
        file when it is wrong."""
        path = Path(shard.path)
        try:
            if shard.kind == ARROW:
                mapped, pieces = read_ipc_vectors(path, self.vector_column, self.dim)
            else:
                mapped, pieces = None, [(0, read_parquet_vectors(path, self.vector_column,
                                                                 self.dim, shard.rows))]
        except FileNotFoundError:
            raise InputError("a shard of this set is missing", path=path,
                             hint="put it back, or remove the set and import the shards "
                                  "again") from None
        except ARROW_ERRORS as exc:
            raise InputError(f"the shard cannot be read ({exc})", path=path) from None
        rows = sum(len(a) for _, a in pieces)
        if rows != shard.rows:
            raise InputError(f"the shard holds {rows:,} rows but held {shard.rows:,} when "
                             "it was imported", path=path)
        return mapped, pieces


def read_ipc_vectors(path: Path, column: str,
                     dim: int) -> tuple[mmap.mmap | None, list[tuple[int, np.ndarray]]]:
    """An Arrow IPC file's vectors per record batch: views of the memory map when the batch
    is uncompressed float32 without nulls (zero copy), else decoded copies."""
    with open(path, "rb") as fh:  # our own map, so its pages can be released (release_pages)
        mapping = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    whole = pa.py_buffer(mapping)
    lo, hi = whole.address, whole.address + whole.size
    reader = ipc.open_file(pa.BufferReader(whole))
    pieces, start, mapped = [], 0, True
    for b in range(reader.num_record_batches):
        col = reader.get_batch(b).column(column)
        arr = None
        if pa.types.is_fixed_size_list(col.type) and col.type.value_type == pa.float32() \
                and col.null_count == 0 and col.offset == 0 and col.type.list_size == dim:
            values = col.values
            buf = values.buffers()[1]
            if values.null_count == 0 and buf is not None and lo <= buf.address < hi:
                arr = values.to_numpy(zero_copy_only=True)[:len(col) * dim].reshape(-1, dim)
        if arr is None:
            mapped = False
            arr = _readonly(_matrix(col, path, column, dim, start))
        pieces.append((start, arr))
        start += len(col)
    return mapping if mapped else None, pieces


def read_parquet_vectors(path: Path, column: str, dim: int, rows: int) -> np.ndarray:
    """One Parquet shard's vector column decoded to float32, once memory is known to hold it.

    Decoded batch by batch into one float32 array: decoding a whole shard at once took
    about four times its size at the peak, and Arrow's allocator kept most of that.
    """
    from explorer.core.loaders.base import available_memory, size_text

    need = rows * dim * 4 + BATCH_ROWS * dim * 16  # the rows, and one batch being decoded
    if need > available_memory():
        raise InputError(f"decoding this shard ({rows:,} x {dim}) needs about "
                         f"{size_text(need)} but only {size_text(available_memory())} of "
                         "memory is free", path=path,
                         hint="write smaller shards, or Arrow IPC files, which are "
                              "memory-mapped")
    out = np.empty((rows, dim), dtype=np.float32)
    at = 0
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=BATCH_ROWS,
                                                                  columns=[column]):
        matrix = _matrix(batch.column(0), path, column, dim, at)
        if at + len(matrix) > rows:
            break  # more rows than the footer said: named by the caller's count check
        out[at:at + len(matrix)] = matrix
        at += len(matrix)
    pa.default_memory_pool().release_unused()
    if at != rows:
        raise InputError(f"the shard holds {at:,} rows or more but held {rows:,} when it "
                         "was imported", path=path)
    return _readonly(out)


def _matrix(col: pa.Array | pa.ChunkedArray, path: Path, column: str, dim: int,
            first_row: int) -> np.ndarray:
    from explorer.core.loaders.list_columns import list_to_matrix

    try:
        matrix = list_to_matrix(col, path, column)
    except InputError as err:
        if err.row is not None:
            err.row += first_row
        raise
    if matrix.shape[1] != dim and len(matrix):
        raise InputError(f"the vectors have {matrix.shape[1]} values here but {dim} in the "
                         "first shard", path=path, column=column)
    return matrix.reshape(-1, dim)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def is_sharded(vectors: object) -> bool:
    return isinstance(vectors, ShardedVectors)
