"""Shard folders for the sharded-set tests: clustered vectors with metadata, as an encode
job (or a Ray one) writes them: Parquet or Arrow IPC files with a fixed-size list column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

GROUPS = np.array(["a", "b", "c", "d"])


def clustered(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(16, d)) * 3
    x = centres[rng.integers(0, 16, n)] + rng.normal(size=(n, d))
    return (x * rng.lognormal(0.0, 0.4, size=(n, 1))).astype(np.float32)


def shard_table(vectors: np.ndarray, first_row: int, seed: int = 0,
                list_type: str = "fixed") -> pa.Table:
    n, d = vectors.shape
    rng = np.random.default_rng(seed + first_row)
    flat = pa.array(vectors.ravel(), type=pa.float32())
    column = (pa.FixedSizeListArray.from_arrays(flat, d) if list_type == "fixed" else
              pa.ListArray.from_arrays(pa.array(np.arange(n + 1) * d, pa.int32()), flat))
    return pa.table({"vector": column,
                     "item": [f"item {first_row + i}" for i in range(n)],
                     "grp": GROUPS[rng.integers(0, 4, n)].tolist(),
                     "size": np.arange(first_row, first_row + n, dtype=np.int64)})


def write_shards(folder: Path, vectors: np.ndarray, shards: int = 4, kind: str = "parquet",
                 batch_rows: int | None = None, list_type: str = "fixed") -> list[Path]:
    """`vectors` cut into `shards` files of uneven sizes (shard-000000.parquet, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(vectors)
    cuts = np.linspace(0, n, shards + 1).astype(int)
    cuts[1:-1] += np.arange(1, shards) * 7  # uneven shards
    paths = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        table = shard_table(vectors[a:b], int(a), list_type=list_type)
        if kind == "parquet":
            path = folder / f"shard-{i:06d}.parquet"
            pq.write_table(table, path, row_group_size=batch_rows or 1 << 20)
        else:
            path = folder / f"shard-{i:06d}.arrow"
            feather.write_feather(table, path, compression="uncompressed",
                                  chunksize=batch_rows or 1 << 20)
        paths.append(path)
    return paths
