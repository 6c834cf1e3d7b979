"""The EmbeddingSet: vectors, their metadata, and where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from explorer.core.model_check import ModelCheck

METRICS = ("cosine", "dot", "l2")


@dataclass
class EmbeddingSet:
    """n vectors of dimension d with an n-row metadata table.

    `vectors` may be a read-only memory map (library sets and `.npy` files),
    so code must not write into it. Row numbers are the stable identity of an
    item inside a set; `id_column` names the metadata column users know the
    items by, if there is one; `label_column` what lists call them (a short name-like
    column, see core/label_columns.py) and `text_column` the longer text shown beside it
    and encoded by the set's model. `model_check` says whether `model` was checked
    against the vectors (None: made here, or never checked).
    """

    vectors: np.ndarray
    metadata: pa.Table
    name: str
    format: str = ""
    source: list[str] = field(default_factory=list)
    metric: str = "cosine"
    model: str | None = None
    vector_column: str | None = None
    id_column: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    model_check: ModelCheck | None = None
    library_id: str | None = None
    path: Path | None = None  # library folder, once stored
    notes: list[str] = field(default_factory=list)  # what the loader decided, for the user

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-D, got shape {self.vectors.shape}")
        if self.metadata.num_rows != self.vectors.shape[0]:
            raise ValueError(
                f"metadata has {self.metadata.num_rows} rows for {self.vectors.shape[0]} vectors")
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; expected one of {METRICS}")

    @property
    def count(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def columns(self) -> list[str]:
        return list(self.metadata.column_names)

    def label(self, row: int) -> str:
        """What to call item `row` in lists and tooltips: its label, else its id, else its text."""
        for col in (self.label_column, self.id_column, self.text_column):
            if col:
                value = self.metadata.column(col)[row].as_py()
                if value is not None:
                    return str(value)
        return f"#{row}"

    def text(self, row: int) -> str | None:
        """The item's text, shown as secondary text beside its label (None when it has none or
        the text is what labels it already)."""
        if not self.text_column or self.text_column == self.label_column:
            return None
        value = self.metadata.column(self.text_column)[row].as_py()
        return None if value is None else str(value)
