"""Comparing two embedding sets of the same items (headless): does B keep A's neighbourhoods?

    from explorer.compute.compare import compare_sets
    c = compare_sets(a, b, k=10)          # joined by id when both sets have one, else by row
    c.mean_overlap, c.cka, c.procrustes_residual
    c.to_dict(a, b)                       # the `compare` command's --json object
    c.to_arrow(a)                         # one row per item: overlap, rank correlation, residual

join.py pairs the items (and reports what did not pair), lists.py compares two neighbour
lists per item, alignment.py holds CKA and Procrustes, result.py the `Comparison`, run.py
the job. The exact kNN search is hubness.exact_knn's. Never imports Qt.
"""

from explorer.compute.compare.join import JOINS, JoinReport, join_sets
from explorer.compute.compare.lists import agreement, histogram
from explorer.compute.compare.result import TOP, Comparison
from explorer.compute.compare.run import MAX_CATEGORIES, compare_sets

__all__ = ["JOINS", "MAX_CATEGORIES", "TOP", "Comparison", "JoinReport", "agreement",
           "compare_sets", "histogram", "join_sets"]
