"""A sweep's figures as files people keep: CSV (one row per method) and JSON (everything)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from explorer.compute.compression.workbench import Evaluation
from explorer.core.atomic import write_json

CSV_COLUMNS = ("name", "bytes_per_vector", "fixed_bytes", "total_bytes", "recall_at_1",
               "recall_at_10", "recall_at_100", "recall_at_k", "overlap", "overlap_with_ties",
               "queries_with_ties", "rank_correlation",
               "distortion", "train_seconds", "encode_seconds", "search_ms_per_query",
               "rerank_bytes_per_vector")


def csv_rows(evaluation: Evaluation) -> list[dict]:
    """One flat row per method; recall at depths the sweep did not reach is left empty."""
    rows = []
    for m in evaluation.methods:
        row = {key: value for key, value in m.to_dict().items() if key in CSV_COLUMNS}
        for j in (1, 10, 100):
            row[f"recall_at_{j}"] = m.recall_at.get(j, "")
        rows.append(row)
    return rows


def write_csv(evaluation: Evaluation, path: str | Path) -> Path:
    """The table, written whole to a temporary file and renamed into place."""
    path = Path(path)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(csv_rows(evaluation))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text.getvalue())
    os.replace(tmp, path)
    return path


def write_report_json(evaluation: Evaluation, path: str | Path) -> Path:
    """Everything `compress --json` prints, plus the query rows (to reproduce the sweep)."""
    path = Path(path)
    write_json(path, {**evaluation.to_dict(), "query_rows": [int(r) for r in evaluation.rows]})
    return path
