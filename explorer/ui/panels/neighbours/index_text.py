"""The line under the neighbour list that says which index answered and how well."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from explorer.compute.neighbours import IndexInfo

KIND_NAMES = {"flat": "exact scan", "compact": "int8 scan + float32 re-rank",
              "hnsw": "HNSW", "ivf": "IVF", "ivfpq": "IVF-PQ"}


def describe_index(info: IndexInfo | None) -> str:
    """E.g. "HNSW · recall@10 0.987 (200 sampled queries) · 3.1 MB · built in 2.1 s"."""
    if info is None:
        return ""
    parts = [KIND_NAMES.get(info.kind, info.kind)]
    if info.kind == "flat":
        parts[0] += f" of {info.count:,} × {info.dim}"
    elif info.exact:
        parts.append("exact results")
    elif info.recall_at_10 is not None:
        parts.append(f"recall@10 {info.recall_at_10:.3f} ({info.recall_queries:,} sampled queries)")
    if info.kind != "flat" and info.bytes >= 2**20 // 10:
        parts.append(f"{info.bytes / 2**20:.1f} MB")
    if info.kind != "flat":
        if info.reused:
            parts.append("from the library")
        elif info.build_seconds >= 0.05:
            parts.append(f"built in {info.build_seconds:.1f} s")
    return " · ".join(parts)
