"""The numbers behind a concept axis histogram (the Concepts panel's Axis tab), computed in jobs.

A direction's scores binned and sorted (the bars, the items at each end, the
counts a brush reads), the bins split by a metadata column, and the exact
float32 comparisons that make a brushed range select what it says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from explorer.core.embedding_set import EmbeddingSet

BINS = 120  # histogram bars: fine enough to show two modes, coarse enough to stay smooth
TOP = 20  # items listed at each end
MAX_CATEGORIES = 12  # a "Colour by" column's largest categories drawn apart; the rest "(other)"
EMPTY_GREY = (205, 205, 205)  # a bar, or a category, with no value


@dataclass
class Binned:
    """The scores of one direction, binned and sorted: everything the plot and lists need."""

    edges: np.ndarray  # float64 (BINS + 1,)
    counts: np.ndarray  # int64 (BINS,): items per bin; sums to the finite scores
    bins: np.ndarray = field(repr=False)  # int16 per row: its bin, -1 for a non-finite score
    ordered: np.ndarray = field(repr=False)  # the scores sorted (NaN last): counts for the brush
    lo: float = 0.0  # smallest and largest finite score
    hi: float = 1.0
    p1: float = 0.0  # percentiles behind the map's colour range
    p99: float = 1.0
    finite: int = 0
    top_a: list = field(default_factory=list)  # cc.top_items: lowest scores first
    top_b: list = field(default_factory=list)  # highest first


def bin_scores(es: EmbeddingSet, scores: np.ndarray, bins: int = BINS, top: int = TOP) -> Binned:
    """Bin the finite scores into `bins` equal ranges between their min and max; the top items."""
    from explorer.compute import concepts as cc

    s = np.asarray(scores)
    ok = np.isfinite(s)
    finite = s if ok.all() else s[ok]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        p1, p99 = (float(v) for v in np.percentile(finite, [1, 99]))
    else:
        lo, hi, p1, p99 = 0.0, 1.0, 0.0, 1.0
    if hi <= lo:  # one value: a bin around it
        pad = max(abs(lo) * 1e-3, 1e-3)
        lo, hi = lo - pad, hi + pad
    if p99 <= p1:
        p1, p99 = lo, hi
    edges = np.linspace(lo, hi, bins + 1)
    index = np.full(s.shape, -1, dtype=np.int16)
    step = 1 << 20
    for start in range(0, s.size, step):  # in chunks: a float64 copy of 10M scores is 80 MB
        part = s[start:start + step].astype(np.float64)
        b = np.floor((part - lo) / (hi - lo) * bins)
        good = np.isfinite(b)
        index[start:start + step][good] = np.clip(b[good], 0, bins - 1).astype(np.int16)
    counts = np.bincount(index[index >= 0], minlength=bins).astype(np.int64)
    top_a, top_b = cc.top_items(es, s, top) if finite.size == s.size else \
        _top_finite(es, s, ok, top)
    return Binned(edges, counts, index, np.sort(s), lo, hi, p1, p99, int(finite.size),
                  top_a, top_b)


def _top_finite(es: EmbeddingSet, s: np.ndarray, ok: np.ndarray, top: int):
    """cc.top_items over the finite scores only (a NaN would sort to the high end)."""
    from explorer.compute import concepts as cc

    rows = np.flatnonzero(ok)
    low, high = cc.top_items(es, s[rows], top)
    for item in low + high:
        row = int(rows[item["row"]])
        item.update(row=row, label=es.label(row))
    return low, high


def float32_bounds(lo: float, hi: float) -> tuple[np.float32, np.float32]:
    """The float32 interval holding exactly the float32 values x with lo <= x <= hi."""
    a, b = np.float32(lo), np.float32(hi)
    if float(a) < lo:
        a = np.nextafter(a, np.float32(np.inf))
    if float(b) > hi:
        b = np.nextafter(b, np.float32(-np.inf))
    return a, b


def rows_between(scores: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Rows whose score lies in [lo, hi], bounds included (compared as exact numbers)."""
    s = np.asarray(scores)
    if s.dtype == np.float32:
        a, b = float32_bounds(lo, hi)
    else:
        a, b = lo, hi
    return np.flatnonzero((s >= a) & (s <= b)).astype(np.int64)


def count_between(ordered: np.ndarray, lo: float, hi: float) -> int:
    """How many of the sorted scores lie in [lo, hi]: two binary searches."""
    a, b = float32_bounds(lo, hi) if ordered.dtype == np.float32 else (lo, hi)
    return max(0, int(np.searchsorted(ordered, b, "right") - np.searchsorted(ordered, a, "left")))


@dataclass
class Split:
    """The histogram split by a metadata column."""

    column: str
    kind: str  # "categorical" | "numeric"
    labels: list[str] = field(default_factory=list)  # categorical: a layer each, largest first
    colours: list[tuple] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    stacks: np.ndarray | None = None  # int64 (len(labels), BINS)
    levels: np.ndarray | None = None  # numeric: each bin's mean percentile (0-1), NaN: no value
    quartiles: tuple = ()  # numeric: the column's 0, 25, 50, 75 and 100th percentiles


def split_by(es: EmbeddingSet, binned: Binned, column: str,
             max_categories: int = MAX_CATEGORIES) -> Split:
    """Per-bin counts of each category, or each bin's median value of a numeric column."""
    from explorer.compute import raster
    from explorer.core.colouring import MISSING, OTHER, colouring_for

    colouring = colouring_for(es.metadata, column, max_categories)
    bins = binned.bins
    nb = len(binned.counts)
    if colouring.kind == "categorical":
        k = len(colouring.labels)
        codes = colouring.codes.astype(np.int64)
        ok = (bins >= 0) & (codes >= 0)
        stacks = np.bincount(codes[ok] * nb + bins[ok], minlength=k * nb).reshape(k, nb)
        pal = raster.categorical_palette(k)
        colours = []
        for code, label in enumerate(colouring.labels):
            if label == OTHER:
                colours.append(tuple(int(v) for v in raster.OTHER_GREY[:3]))
            elif label == MISSING:
                colours.append(EMPTY_GREY)
            else:
                colours.append(tuple(int(v) for v in pal[code][:3]))
        return Split(column, "categorical", list(colouring.labels), colours,
                     [int(n) for n in stacks.sum(axis=1)], stacks.astype(np.int64))
    values = colouring.values.astype(np.float64)
    ok = (bins >= 0) & np.isfinite(values)
    b, v = bins[ok].astype(np.int64), values[ok]
    levels = np.full(nb, np.nan)
    if v.size:
        # each item's percentile in the column (ties share theirs), averaged per bin: robust
        # to skewed columns and outliers, and what a Spearman correlation looks at
        from scipy.stats import rankdata

        pct = (rankdata(v) - 0.5) / v.size
        per_bin = np.bincount(b, minlength=nb)
        has = per_bin > 0
        levels[has] = np.bincount(b, weights=pct, minlength=nb)[has] / per_bin[has]
        quartiles = tuple(float(x) for x in np.percentile(v, [0, 25, 50, 75, 100]))
    else:
        quartiles = ()
    return Split(column, "numeric", levels=levels, quartiles=quartiles)


def colour_columns(es: EmbeddingSet) -> list[str]:
    """Metadata columns a histogram can be split by: categories and numbers, not ids or texts."""
    skip = {es.id_column, es.text_column}
    out = []
    for f in es.metadata.schema:
        t = f.type
        if f.name in skip:
            continue
        if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)
                or pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
                or pa.types.is_decimal(t)):
            out.append(f.name)
    return out
