"""A neighbours query as the user asked for it: an item, a selection's centroid, arithmetic or text.

It becomes a vector only in a job (`build`), and is what the neighbours panel's back /
forward history keeps. Qt-free, so it lives with the search it feeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from explorer.core.embedding_set import EmbeddingSet

if TYPE_CHECKING:
    from explorer.compute.neighbours import Query


@dataclass
class QuerySpec:
    """What the user asked for, before it is turned into a vector (in a job)."""

    kind: str  # "row" | "centroid" | "arithmetic" | "text"
    row: int = -1
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    expr: str = ""  # the arithmetic, or the typed text

    def same(self, other: QuerySpec | None) -> bool:
        """Asking the same again (arrays compare by value) adds nothing to the history."""
        return other is not None and self.kind == other.kind and self.row == other.row \
            and self.expr == other.expr and np.array_equal(self.rows, other.rows)

    def build(self, es: EmbeddingSet, metric: str) -> Query:
        from explorer.compute import neighbours as nb

        if self.kind == "row":
            return nb.row_query(es, self.row)
        if self.kind == "centroid":
            return nb.centroid_query(es, self.rows, metric)
        if self.kind == "text":
            return nb.text_query(es, self.expr)
        return nb.arithmetic_query(es, self.expr, metric)

    def describe(self, es: EmbeddingSet | None) -> str:
        """What the query label says while the search runs (the result has the exact label)."""
        if self.kind == "row":
            return f"#{self.row} {es.label(self.row)}" if es is not None else f"#{self.row}"
        if self.kind == "centroid":
            return f"centroid of {len(self.rows):,} selected"
        return f"\u201c{self.expr}\u201d" if self.kind == "text" else self.expr
