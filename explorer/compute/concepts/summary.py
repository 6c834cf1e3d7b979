"""What a direction means in a set, shown by the items at each of its ends."""

from __future__ import annotations

import numpy as np

from explorer.compute.concepts.direction import Direction
from explorer.compute.concepts.scoring import scores
from explorer.core.embedding_set import EmbeddingSet


def top_items(es: EmbeddingSet, s: np.ndarray, top: int = 10) -> tuple[list[dict], list[dict]]:
    """The `top` lowest-scoring items (pole A's end) and the `top` highest (pole B's end)."""
    from explorer.compute.neighbours import item_id

    top = max(0, min(int(top), len(s)))
    order = np.argsort(s, kind="stable")

    def item(row) -> dict:
        row = int(row)
        return {"row": row, "id": item_id(es, row), "label": es.label(row), "score": float(s[row])}

    return [item(r) for r in order[:top]], [item(r) for r in order[::-1][:top]]


def describe(es: EmbeddingSet, d: Direction, s: np.ndarray | None = None, top: int = 10) -> dict:
    """What the CLI prints: method, poles, validity in brief, the top items at each end."""
    s = scores(es, d) if s is None else s
    top_a, top_b = top_items(es, s, top)
    v = d.validity
    definition = {k: v for k, v in d.definition.items() if k not in ("rows_a", "rows_b")}
    return {"name": d.name, "method": d.method, "label_a": d.label_a, "label_b": d.label_b,
            "model": d.model, "definition": definition,
            "heldout_accuracy": v.heldout_accuracy if v else None,
            "spearman": v.spearman if v else None, "against": v.against if v else None,
            "validity": v.to_dict() if v else None,
            "warnings": list(v.warnings) if v else [], "top_a": top_a, "top_b": top_b}
