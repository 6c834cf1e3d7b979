"""`SetComparison`: what `Set.compare` returns, the `compare` command's answer in Python.

It keeps the two sets beside the core's `Comparison`, so its tables name items by the first
set's labels and ids without the caller passing the sets again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from explorer.compute.compare import Comparison
from explorer.core.embedding_set import EmbeddingSet

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True, eq=False)
class SetComparison:
    """Two sets of the same items compared: `overlap` per compared item (aligned with
    `rows_a` / `rows_b`), `mean_overlap`, `cka`, `procrustes_residual` (None when the
    dimensions differ), and the CLI's JSON (`to_dict`) and per-item table (`to_arrow`)."""

    result: Comparison = field(repr=False)
    a: EmbeddingSet = field(repr=False)
    b: EmbeddingSet = field(repr=False)

    def __repr__(self) -> str:
        return (f"SetComparison({self.a.name!r} vs {self.b.name!r}, {len(self.overlap):,} items, "
                f"k={self.result.k}, mean overlap {self.mean_overlap:.3f}, "
                f"CKA {self.cka:.3f})")

    @property
    def rows_a(self) -> np.ndarray:
        return self.result.rows_a

    @property
    def rows_b(self) -> np.ndarray:
        return self.result.rows_b

    @property
    def overlap(self) -> np.ndarray:
        return self.result.overlap

    @property
    def mean_overlap(self) -> float:
        return self.result.mean_overlap

    @property
    def cka(self) -> float:
        return self.result.cka

    @property
    def procrustes_residual(self) -> float | None:
        return self.result.procrustes_residual

    def to_dict(self) -> dict:
        """The object `embedding-explorer compare A B --json` prints."""
        return self.result.to_dict(self.a, self.b)

    def to_arrow(self) -> pa.Table:
        """One row per compared item: row_a, row_b, id, label, overlap, rank_correlation,
        residual: the table `compare --out FILE.parquet` writes."""
        return self.result.to_arrow(self.a)

    def to_pandas(self) -> pandas.DataFrame:
        """`to_arrow()` as a DataFrame (needs pandas, which this project does not install)."""
        return self.to_arrow().to_pandas()
