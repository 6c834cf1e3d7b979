"""Directions built from saved ones: weighted sums and Gram-Schmidt.

Both work on the span of saved directions, which is also what a removal
projects out; only directions of one model's space mix.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from explorer.compute.concepts.direction import Direction, shorten
from explorer.core.errors import InputError

ORTHO_MIN = 0.05  # |residual| of Gram-Schmidt below this: nothing of the direction is left
# Directions are float32, so a combination of saved ones is independent of them only at the
# 1e-7 level; a span keeps the singular values above this fraction of the largest, so such
# a combination adds no spurious (noise) dimension to a removal or a Gram-Schmidt basis.
SPAN_RCOND = 1e-4


def check_same_space(directions: list[Direction], what: str) -> None:
    """An InputError unless the directions share a dimension and a model."""
    dims = {d.dim for d in directions}
    if len(dims) > 1:
        raise InputError(f"cannot {what} directions of different dimensions ({sorted(dims)})")
    models = {d.model for d in directions}
    if len(models) > 1:
        raise InputError(f"cannot {what} directions made by different models ("
                         + ", ".join(sorted(str(m) for m in models)) + ")")


def _common(values):
    values = set(values)
    return values.pop() if len(values) == 1 else None


def span_basis(directions) -> np.ndarray:
    """An orthonormal basis (dim, r) of the directions' span, noise dimensions dropped."""
    return scipy.linalg.orth(np.stack([d.vector for d in directions], axis=1).astype(np.float64),
                             rcond=SPAN_RCOND)


def combine(terms, name: str | None = None) -> Direction:
    """A weighted sum of saved directions, e.g. [(1, a), (-1, b)] for a - b, normalised."""
    terms = list(terms)
    if not terms:
        raise InputError("nothing to combine: give at least one (weight, direction)")
    dirs = [d for _, d in terms]
    check_same_space(dirs, "combine")
    total = np.zeros(dirs[0].dim, dtype=np.float64)
    parts = []
    for weight, d in terms:
        weight = float(weight)
        if not math.isfinite(weight):
            raise InputError(f"the weight of {d.name!r} is not a finite number")
        total += weight * d.vector.astype(np.float64)
        sign = "-" if weight < 0 else "+"
        mag = "" if abs(weight) == 1 else f"{abs(weight):g}*"
        parts.append(f"{sign} {mag}{d.name}")
    expr = " ".join(parts)
    expr = expr[2:] if expr.startswith("+ ") else "-" + expr[2:]
    if np.linalg.norm(total) < 1e-6:
        raise InputError(f"{expr} adds up to a zero vector")
    return Direction(name=name or expr, vector=total, method="arithmetic",
                     definition={"expression": expr,
                                 "terms": [{"weight": float(w), "name": d.name} for w, d in terms]},
                     label_a=f"low ({shorten(expr)})", label_b=f"high ({shorten(expr)})",
                     model=dirs[0].model, set_id=_common(d.set_id for d in dirs))


def orthogonalise(direction: Direction, others, name: str | None = None) -> Direction:
    """`direction` with its components along `others` removed (Gram-Schmidt), normalised.

    The scores of the result no longer move when an item moves along any of the
    others. Refused when (almost) nothing is left: the direction lies in their span.
    """
    others = list(others)
    if not others:
        raise InputError("orthogonalise against what? give at least one other direction")
    check_same_space([direction, *others], "orthogonalise")
    basis = span_basis(others)
    v = direction.vector.astype(np.float64)
    residual = v - basis @ (basis.T @ v)
    kept = float(np.linalg.norm(residual))
    names = ", ".join(o.name for o in others)
    if kept < ORTHO_MIN:
        raise InputError(f"{direction.name!r} lies almost entirely in the span of {names}: "
                         f"only {kept:.3f} of it is left after orthogonalising")
    expr = f"{direction.name} ⟂ {names}"
    return Direction(name=name or expr, vector=residual, method="arithmetic",
                     definition={"expression": expr, "base": direction.name,
                                 "against": [o.name for o in others], "kept": kept},
                     label_a=direction.label_a, label_b=direction.label_b,
                     model=direction.model, set_id=_common([direction.set_id,
                                                            *(o.set_id for o in others)]))
