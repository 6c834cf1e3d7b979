"""Which methods are worth their memory: the Pareto frontier, and the best one within a budget.

A method is on the frontier when no other method is at least as good on quality
and at most as large in bytes per vector, and strictly better on one of the two.
The budget slider names the best method on or under the budget: the one with the
highest quality, and among equals the smallest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from explorer.compute.compression.workbench import MethodResult


def overlap_of(result: MethodResult) -> float:
    """The default quality: the share of the exact top-k the method finds."""
    return result.overlap


def frontier(results: Sequence[MethodResult],
             quality: Callable[[MethodResult], float] = overlap_of) -> list[MethodResult]:
    """The methods no other method dominates, smallest first."""
    ordered = sorted(results, key=lambda r: (r.bytes_per_vector, -quality(r), r.name))
    kept: list[MethodResult] = []
    best = float("-inf")
    for r in ordered:
        if quality(r) > best:
            kept.append(r)
            best = quality(r)
    return kept


def best_within(results: Sequence[MethodResult], budget_bytes: float,
                quality: Callable[[MethodResult], float] = overlap_of) -> MethodResult | None:
    """The best method whose bytes per vector fit the budget (None when none fits)."""
    fitting = [r for r in results if r.bytes_per_vector <= budget_bytes]
    if not fitting:
        return None
    return max(fitting, key=lambda r: (quality(r), -r.bytes_per_vector, r.name))
