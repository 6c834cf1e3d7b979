"""A comparison of two sets of the same items: per-item arrays, the summary, and its forms
(the CLI's JSON object, an Arrow table per item)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.compute.compare.join import JoinReport
from explorer.compute.compare.lists import histogram
from explorer.compute.neighbours import item_id
from explorer.core.embedding_set import EmbeddingSet

TOP = 10  # items listed as most and least changed


@dataclass(frozen=True, eq=False)
class Comparison:
    """Per-item arrays are aligned on the compared items: every joined item, or the `sampled`
    ones (in A's row order). Neighbour lists are A's row numbers, B's mapped back through the
    join, -1 where a list is short (a zero vector has no cosine neighbours)."""

    rows_a: np.ndarray  # int64 row of each item in A
    rows_b: np.ndarray  # int64 row of each item in B
    overlap: np.ndarray  # float32 |top-k in A & top-k in B| / k
    neighbours_a: np.ndarray  # (items, k) int64
    neighbours_b: np.ndarray  # (items, k) int64
    rank_correlations: np.ndarray  # float32 Spearman of the shared neighbours, NaN if < 2
    residual: np.ndarray | None  # float32 |a R - b|^2 after Procrustes (same dimension only)
    k: int
    count: int  # joined items (each searched among all of them)
    sampled: int | None  # items whose neighbours were compared, when a sample
    seed: int
    mean_overlap: float
    median_overlap: float
    rank_correlation: float | None  # mean over items sharing >= 2 neighbours
    cka: float  # linear CKA over all joined items
    procrustes_residual: float | None  # mean residual over all joined items
    join: JoinReport
    joined_a: np.ndarray  # int64 rows of EVERY joined item in A (a sample's are a subset)
    joined_b: np.ndarray  # ... and their rows in B
    metric_a: str
    metric_b: str
    dim_a: int
    dim_b: int
    by: str | None = None
    by_category: dict | None = None  # category -> {"count", "mean_overlap"}
    seconds: float = 0.0

    @property
    def chance_overlap(self) -> float:
        """The overlap two unrelated lists of k among count - 1 others have on average."""
        return self.k / (self.count - 1)

    def histogram(self) -> list[int]:
        """Items at each overlap 0/k .. k/k."""
        return histogram(self.overlap, self.k)

    def changed(self, most: bool = True, top: int = TOP) -> np.ndarray:
        """Positions (into the per-item arrays) of the `top` items that changed most (lowest
        overlap, then lowest rank correlation, then largest residual) or least."""
        sign = 1.0 if most else -1.0
        rho = np.nan_to_num(self.rank_correlations, nan=-2.0)
        keys = [np.arange(len(self.overlap))]
        if self.residual is not None:
            keys.append(-sign * self.residual)
        keys += [sign * rho, sign * self.overlap]
        return np.lexsort(keys)[:top]

    def item(self, es: EmbeddingSet, at: int, with_lists: bool = True) -> dict:
        row = int(self.rows_a[at])
        out = {"row": row, "row_b": int(self.rows_b[at]), "id": item_id(es, row),
               "label": es.label(row), "overlap": float(self.overlap[at]),
               "rank_correlation": none_if_nan(self.rank_correlations[at]),
               "residual": None if self.residual is None else float(self.residual[at])}
        if with_lists:
            for key, lists in (("neighbours_a", self.neighbours_a),
                               ("neighbours_b", self.neighbours_b)):
                out[key] = [{"row": int(r), "id": item_id(es, int(r)), "label": es.label(int(r))}
                            for r in lists[at] if r >= 0]
        return out

    def to_dict(self, a: EmbeddingSet, b: EmbeddingSet) -> dict:
        """The CLI's `--json` object (its "out" filled in by the command that writes one)."""
        out = {"a": a.name, "b": b.name, "count": self.count, "k": self.k,
               "join": self.join.how, "join_report": self.join.to_dict(),
               "sampled": self.sampled, "seed": self.seed if self.sampled else None,
               "metric_a": self.metric_a, "metric_b": self.metric_b,
               "dim_a": self.dim_a, "dim_b": self.dim_b,
               "mean_overlap": self.mean_overlap, "median_overlap": self.median_overlap,
               "chance_overlap": self.chance_overlap, "histogram": self.histogram(),
               "rank_correlation": self.rank_correlation, "cka": self.cka,
               "procrustes_residual": self.procrustes_residual,
               "most_changed": [self.item(a, int(i)) for i in self.changed(True)],
               "least_changed": [self.item(a, int(i)) for i in self.changed(False)],
               "seconds": self.seconds, "out": None}
        if self.by is not None:
            out["by"], out["by_category"] = self.by, self.by_category
        return out

    def to_arrow(self, a: EmbeddingSet) -> pa.Table:
        """One row per compared item: row_a, row_b, id, label, overlap, rank_correlation,
        residual (null without Procrustes)."""
        n = len(self.rows_a)
        return pa.table({
            "row_a": pa.array(self.rows_a, pa.int64()),
            "row_b": pa.array(self.rows_b, pa.int64()),
            "id": ids_of(a, self.rows_a),
            "label": labels_of(a, self.rows_a),
            "overlap": pa.array(self.overlap, pa.float32()),
            "rank_correlation": pa.array(self.rank_correlations, pa.float32(), from_pandas=True),
            "residual": pa.nulls(n, pa.float32()) if self.residual is None
            else pa.array(self.residual, pa.float32()),
        })


def none_if_nan(value) -> float | None:
    return None if np.isnan(value) else float(value)


def ids_of(es: EmbeddingSet, rows: np.ndarray) -> pa.Array:
    """The items' ids (their row numbers in a set without an id column)."""
    if not es.id_column:
        return pa.array(rows, pa.int64())
    return es.metadata.column(es.id_column).take(pa.array(rows)).combine_chunks()


def labels_of(es: EmbeddingSet, rows: np.ndarray) -> pa.Array:
    """`es.label` of many rows at once: label, else id, else text column, else "#row"."""
    taken = pa.array([f"#{r}" for r in rows], pa.large_string())
    for column in (es.text_column, es.id_column, es.label_column):  # the first one wins last
        if column:
            values = es.metadata.column(column).take(pa.array(rows)).combine_chunks()
            if pa.types.is_dictionary(values.type):
                values = values.dictionary_decode()
            taken = pc.coalesce(values.cast(pa.large_string()), taken)
    return taken
