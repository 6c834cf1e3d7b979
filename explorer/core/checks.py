"""Checks every set goes through before it is trusted: bad rows, zero rows, duplicate ids."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow.compute as pc

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import Warning_
from explorer.core.jobs import TaskState
from explorer.core.vector_checks import VectorScan, scan_vectors


@dataclass
class SetReport:
    scan: VectorScan
    duplicate_ids: int = 0
    duplicate_examples: tuple = ()
    warnings: list[Warning_] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "nan_rows": self.scan.nan_rows,
            "zero_rows": self.scan.n_zero_rows,
            "first_nan": list(self.scan.first_nonfinite) if self.scan.first_nonfinite else None,
            "duplicate_ids": self.duplicate_ids,
            "duplicate_examples": list(self.duplicate_examples),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def check_set(es: EmbeddingSet, state: TaskState | None = None) -> SetReport:
    scan = scan_vectors(es.vectors, state)
    report = SetReport(scan)
    if scan.nan_rows:
        r, c = scan.first_nonfinite or (-1, -1)
        report.warnings.append(Warning_(
            "nonfinite", f"{scan.nan_rows} rows hold NaN or Inf values (first: row {r}, "
            f"dimension {c}); no distance can be computed for them",
            scan.nan_rows, tuple(int(x) for x in scan.nonfinite_rows[:10])))
    if scan.n_zero_rows:
        report.warnings.append(Warning_(
            "zero", f"{scan.n_zero_rows} rows are all zeros; cosine similarity is undefined "
            "for them", scan.n_zero_rows, tuple(int(x) for x in scan.zero_rows[:10])))
    if es.id_column:
        # missing ids are not duplicates of each other
        counts = pc.value_counts(es.metadata.column(es.id_column).drop_null().combine_chunks())
        dup = counts.filter(pc.greater(counts.field("counts"), 1))
        if len(dup):
            report.duplicate_ids = len(dup)
            examples = tuple(v["values"] for v in dup.slice(0, 5).to_pylist())
            report.duplicate_examples = examples
            report.warnings.append(Warning_(
                "duplicate_ids", f"{len(dup)} values of {es.id_column!r} occur more than once "
                f"(e.g. {', '.join(map(repr, examples[:3]))}); rows stay distinct by row number",
                len(dup)))
    return report

