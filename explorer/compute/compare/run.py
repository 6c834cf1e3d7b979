"""`compare_sets`: the comparison job (pure function with a TaskState; progress and cancel)."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

from explorer.compute.compare.alignment import (
    PairReader,
    item_residuals,
    linear_cka,
    moments,
    procrustes,
)
from explorer.compute.compare.join import join_sets
from explorer.compute.compare.lists import agreement
from explorer.compute.compare.result import Comparison
from explorer.compute.hubness import exact_knn
from explorer.compute.neighbours import set_norms
from explorer.compute.vectors import check_metric
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

MAX_CATEGORIES = 50  # categories listed by `by`; the rest are pooled as one


def compare_sets(a: EmbeddingSet, b: EmbeddingSet, k: int = 10, join: str = "auto",
                 sample: int | None = None, by: str | None = None, seed: int = 0,
                 state: TaskState | None = None) -> Comparison:
    """Compare two sets of the same items, each in its own space with its own metric.

    Items are joined by id or row (`join_sets`). Each set's EXACT k nearest others of every
    item (self excluded) are searched among the joined items only (faiss brute force,
    hubness.exact_knn); `sample` compares the lists of that many seeded items, still
    searched among all joined items. Per item: overlap@k and the Spearman correlation of
    the shared neighbours' ranks (lists.agreement); the mean over items of the overlap is
    also the "mutual k-NN alignment" of Huh et al. 2024. Linear CKA and, when the
    dimensions match, orthogonal Procrustes come from one pass over all joined rows
    (alignment.py). `by`: mean overlap per value of a metadata column (A's, else B's).
    Memory: the two (items, k) lists and faiss's copy of one set, never items x items.
    """
    state = state or TaskState()
    start = time.perf_counter()
    check_metric(a.metric)
    check_metric(b.metric)
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}", option="k")
    if by is not None and by not in a.columns and by not in b.columns:
        names = sorted(set(a.columns) | set(b.columns))
        raise InputError("in neither set A nor set B" +
                         (f" (their columns: {', '.join(names)})" if names else
                          " (they have no metadata columns)"), column=by, choices=tuple(names),
                         option="by")
    rows_a, rows_b, report = join_sets(a, b, join)
    n = rows_a.size
    if n < 2:
        raise InputError(f"only {n} item joins the two sets ({report.describe()}): nothing "
                         "to compare")
    if k >= n:
        raise InputError(f"k must be between 1 and {n - 1} for {n:,} joined items, got {k}",
                         option="k")
    queries = None
    if sample is not None:
        if sample < 1:
            raise InputError(f"the sample must be at least 1 item, got {sample}",
                             option="sample")
        if sample < n:
            queries = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    at = np.arange(n) if queries is None else queries
    every_a = None if np.array_equal(rows_a, np.arange(a.count)) else rows_a
    every_b = None if np.array_equal(rows_b, np.arange(b.count)) else rows_b

    state.status(f"Set A: the {k} nearest neighbours of {at.size:,} items")
    lists_a = exact_knn(a.vectors, k, a.metric, set_norms(a, state.sub(0, 0.02)),
                        state.sub(0.02, 0.45), rows=every_a, queries=queries)
    state.status(f"Set B: the {k} nearest neighbours of {at.size:,} items")
    lists_b = exact_knn(b.vectors, k, b.metric, set_norms(b, state.sub(0.45, 0.47)),
                        state.sub(0.47, 0.9), rows=every_b, queries=queries)
    overlap, rho = agreement(lists_a, lists_b)

    state.status("Aligning the two sets (CKA, Procrustes)")
    reader = PairReader(n, a.vectors, every_a, a.metric == "cosine",
                        b.vectors, every_b, b.metric == "cosine")
    m = moments(reader, state.sub(0.9, 0.97))
    fit = procrustes(m)
    residual = None if fit is None else item_residuals(reader, m, fit, queries,
                                                        state.sub(0.97, 1.0))
    shared = rho[~np.isnan(rho)]
    state.progress(1)
    return Comparison(
        rows_a=rows_a[at], rows_b=rows_b[at], overlap=overlap,
        neighbours_a=np.where(lists_a >= 0, rows_a[np.maximum(lists_a, 0)], -1),
        neighbours_b=np.where(lists_b >= 0, rows_a[np.maximum(lists_b, 0)], -1),
        rank_correlations=rho, residual=residual, k=k, count=n,
        sampled=None if queries is None else int(queries.size), seed=seed,
        mean_overlap=float(overlap.mean(dtype=np.float64)),
        median_overlap=float(np.median(overlap)),
        rank_correlation=float(shared.mean(dtype=np.float64)) if shared.size else None,
        cka=linear_cka(m), procrustes_residual=None if fit is None else fit.residual,
        join=report, joined_a=rows_a, joined_b=rows_b, metric_a=a.metric, metric_b=b.metric, dim_a=a.dim, dim_b=b.dim,
        by=by, by_category=None if by is None else categories(
            a if by in a.columns else b, rows_a[at] if by in a.columns else rows_b[at], by,
            overlap),
        seconds=round(time.perf_counter() - start, 3))


def categories(es: EmbeddingSet, rows: np.ndarray, column: str, overlap: np.ndarray) -> dict:
    """{value: {"count", "mean_overlap"}} of the items' `column`, largest first; past
    MAX_CATEGORIES the rest pooled under "(N other values)", no value under "(none)"."""
    values = es.metadata.column(column).take(pa.array(rows)).combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    try:
        values = values.cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise InputError(f"holds {values.type}, not categories to group by",
                         column=column, option="by") from None
    table = pa.table({"value": values.fill_null("(none)"),
                      "overlap": pa.array(overlap, pa.float64())})
    groups = table.group_by("value").aggregate([("overlap", "sum"), ("overlap", "count")])
    groups = groups.sort_by([("overlap_count", "descending"), ("value", "ascending")])
    names = groups.column("value").to_pylist()
    sums = groups.column("overlap_sum").to_numpy()
    counts = groups.column("overlap_count").to_numpy()
    out = {name: {"count": int(c), "mean_overlap": float(s / c)}
           for name, s, c in zip(names[:MAX_CATEGORIES], sums, counts)}
    if len(names) > MAX_CATEGORIES:
        rest_c, rest_s = counts[MAX_CATEGORIES:].sum(), sums[MAX_CATEGORIES:].sum()
        out[f"({len(names) - MAX_CATEGORIES} other values)"] = {
            "count": int(rest_c), "mean_overlap": float(rest_s / rest_c)}
    return out

