"""The two groups of items a direction is built from and checked on.

Rows are checked, filters turned into rows, and large groups sampled (seeded),
so probes and validation cost the same on any size of set.
"""

from __future__ import annotations

import numpy as np

from explorer.compute.concepts.scoring import represent
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.metadata import MetadataQuery

GROUP_SAMPLE = 20_000  # rows per group a probe / validation uses: a d-dim mean or a linear
#   classifier is estimated to well under a percent from 20k rows, and 40k x 384 floats stay small


def check_rows(es: EmbeddingSet, rows, what: str) -> np.ndarray:
    rows = np.unique(np.asarray(rows, dtype=np.int64).ravel())
    if rows.size == 0:
        raise InputError(f"{what} is empty: it needs at least one item")
    if rows[0] < 0 or rows[-1] >= es.count:
        bad = int(rows[0] if rows[0] < 0 else rows[-1])
        raise InputError(f"{what}: row {bad} is out of range (the set has rows 0 to "
                         f"{es.count - 1})")
    return rows


def two_groups(es: EmbeddingSet, rows_a, rows_b, names=("group A", "group B")):
    """Both groups' rows checked; an InputError when an item is on both sides."""
    a = check_rows(es, rows_a, names[0])
    b = check_rows(es, rows_b, names[1])
    both = np.intersect1d(a, b, assume_unique=True)
    if both.size:
        raise InputError(f"{both.size:,} row{'s are' if both.size > 1 else ' is'} in both "
                         f"{names[0]} and {names[1]} (e.g. row {int(both[0])}); an item can "
                         "only be on one side of a direction")
    return a, b


def where_rows(es: EmbeddingSet, where: str) -> np.ndarray:
    """Rows matching a metadata filter (DuckDB WHERE syntax); InputError when none do."""
    if not isinstance(where, str) or not where.strip():
        raise InputError("the filter is empty")
    rows = MetadataQuery(es.metadata).filter(where)
    if rows.size == 0:
        raise InputError(f"filter {where!r} matches no items")
    return rows


def cap_rows(rows: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """All rows up to `cap`, else a sorted random sample of `cap` of them."""
    return rows if rows.size <= cap else np.sort(rng.choice(rows, size=cap, replace=False))


def sample_groups(a: np.ndarray, b: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """At most GROUP_SAMPLE rows of each group, A's drawn first."""
    return cap_rows(a, GROUP_SAMPLE, rng), cap_rows(b, GROUP_SAMPLE, rng)


def training_xy(es: EmbeddingSet, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of A then those of B as a matrix (`represent`), labels 0 for A and 1 for B."""
    x = represent(es, np.concatenate([a, b]))
    y = np.concatenate([np.zeros(a.size, np.int64), np.ones(b.size, np.int64)])
    return x, y
