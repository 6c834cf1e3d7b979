"""Which methods are worth their memory: the Pareto frontier, and the best one within a budget.

A method is on the frontier when no other method is at least as good on quality
and at most as large, and strictly better on one of the two. The budget slider
names the best method on or under the budget: the one with the highest quality,
and among equals the smallest.

Size is the code held per vector by default; a re-ranking method also reads each
candidate's float32 row, which a search engineer may keep on disk (not counted) or
in memory (`stored_size`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from explorer.compute.compression.workbench import MethodResult

Measure = Callable[[MethodResult], float]


def overlap_of(result: MethodResult) -> float:
    """The default quality: the share of the exact top-k the method finds."""
    return result.overlap


def kept_of(result: MethodResult) -> float:
    """The share of the exact top-k the method keeps, a swap among items tied with the
    k-th counted as kept (what the panel plots; `overlap_of` for the plain set overlap)."""
    return result.overlap_with_ties


def code_size(result: MethodResult) -> float:
    """Bytes of the code kept per vector (re-ranking rows assumed on disk)."""
    return result.bytes_per_vector


def stored_size(result: MethodResult) -> float:
    """Bytes per vector counting the float32 rows a re-ranking method reads back."""
    return result.stored_bytes_per_vector


def frontier(results: Sequence[MethodResult], quality: Measure = overlap_of,
             size: Measure = code_size) -> list[MethodResult]:
    """The methods no other method dominates, smallest first."""
    ordered = sorted(results, key=lambda r: (size(r), -quality(r), r.name))
    kept: list[MethodResult] = []
    best = float("-inf")
    for r in ordered:
        if quality(r) > best:
            kept.append(r)
            best = quality(r)
    return kept


def best_within(results: Sequence[MethodResult], budget_bytes: float,
                quality: Measure = overlap_of, size: Measure = code_size
                ) -> MethodResult | None:
    """The best method whose size fits the budget (None when none fits)."""
    fitting = [r for r in results if size(r) <= budget_bytes]
    if not fitting:
        return None
    return max(fitting, key=lambda r: (quality(r), -size(r), r.name))
