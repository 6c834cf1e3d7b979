"""Where a histogram's bins begin and end: round numbers a person can type back as SQL.

A brush on a histogram snaps to bin edges, and the edges become the filter's literals
(`installed_kb >= 100 AND installed_kb < 200`), so they are chosen to read well: steps of
1, 2 or 5 times a power of ten on a linear axis, the 1-2-5 sequence on a log axis (for
sizes and counts that span decades, where a linear axis puts nearly every row in its
first bin), and whole days, months or years for dates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TARGET_BINS = 30  # a linear axis gets about this many bins
LOG_DECADES = 8  # a log axis spans at most this many powers of ten below the maximum
SKEW_FOR_LOG = 20.0  # the 99th percentile this many times the median: a log axis reads better
SECOND_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
                21600, 43200)
DAY_STEPS = (1, 2, 7, 14)
MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200)
DAY_SECONDS = 86400


@dataclass(frozen=True)
class Bins:
    """A histogram's bin edges (in the column's units: numbers, days or seconds since
    1970 for dates and timestamps); bin i holds edges[i] <= value < edges[i + 1]."""

    edges: np.ndarray  # float64, increasing, len >= 2
    scale: str  # "linear" | "log"

    def codes(self, values: np.ndarray, missing: int) -> np.ndarray:
        """Each value's bin (int16), `missing` for NaN and values outside the edges."""
        at = np.searchsorted(self.edges, values, side="right") - 1
        bad = ~np.isfinite(values) | (at < 0) | (at >= len(self.edges) - 1)
        at[bad] = missing
        return at.astype(np.int16)


def number_bins(values: np.ndarray, integer: bool) -> Bins:
    """Bins for the finite `values` of a numeric column (not empty)."""
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and hi > 0 and len(values) >= 20:
        p50, p99 = np.percentile(values, [50, 99])
        if p99 > SKEW_FOR_LOG * max(float(p50), 0.0) or p50 == 0:
            positive = values[values > 0]
            return log_bins(float(positive.min()), hi, has_zero=lo == 0, integer=integer)
    return linear_bins(lo, hi, integer)


def linear_bins(lo: float, hi: float, integer: bool, target: int = TARGET_BINS) -> Bins:
    """Equal bins of a round width covering lo..hi (hi falls inside the last bin)."""
    step = nice_step((hi - lo) / target if hi > lo else 1.0)
    if integer:
        step = max(1.0, float(round(step)))
    start = math.floor(lo / step) * step
    count = math.floor((hi - start) / step) + 1
    edges = start + step * np.arange(count + 1, dtype=np.float64)
    return Bins(clean(edges), "linear")


def log_bins(smallest: float, hi: float, has_zero: bool, integer: bool) -> Bins:
    """1, 2, 5, 10, 20, 50, … from below `smallest` to above `hi`, with a first bin from 0
    when the column has zeros (and values too small for the span shown)."""
    top = math.floor(math.log10(hi))
    low = max(math.floor(math.log10(smallest)), top - LOG_DECADES)
    if integer:
        low = max(low, 0)
    edges = [m * 10.0 ** k for k in range(low, top + 2) for m in (1, 2, 5)]
    first = max(i for i, e in enumerate(edges) if e <= max(smallest, 10.0 ** low))
    last = min(i for i, e in enumerate(edges) if e > hi)
    kept = edges[first:last + 1]
    if has_zero or smallest < kept[0]:
        kept = [0.0] + kept
    return Bins(clean(np.array(kept, dtype=np.float64)), "log")


def day_bins(lo: float, hi: float) -> Bins:
    """Bins of whole days, weeks, months or years (edges in days since 1970)."""
    span = max(hi - lo, 1.0)
    for days in DAY_STEPS:
        if span / days <= TARGET_BINS:
            start = math.floor(lo / days) * days
            count = math.floor((hi - start) / days) + 1
            return Bins(start + days * np.arange(count + 1, dtype=np.float64), "linear")
    first = np.datetime64(math.floor(lo), "D").astype("datetime64[M]")
    last = np.datetime64(math.floor(hi), "D").astype("datetime64[M]")
    months = int((last - first).astype(int)) + 1
    step = next((m for m in MONTH_STEPS if months / m <= TARGET_BINS), MONTH_STEPS[-1])
    if step >= 12:  # whole years, starting in January
        first = first.astype("datetime64[Y]").astype("datetime64[M]")
    start = int(first.astype(int)) // step * step if step < 12 else int(first.astype(int))
    count = (int(last.astype(int)) - start) // step + 1
    edges = np.datetime64(start, "M") + step * np.arange(count + 1)
    return Bins(edges.astype("datetime64[D]").astype(np.float64), "linear")


def second_bins(lo: float, hi: float) -> Bins:
    """Bins of round seconds, minutes or hours within a day; whole days and more beyond
    (edges in seconds since 1970)."""
    span = max(hi - lo, 1.0)
    for seconds in SECOND_STEPS:
        if span / seconds <= TARGET_BINS:
            start = math.floor(lo / seconds) * seconds
            count = math.floor((hi - start) / seconds) + 1
            return Bins(start + seconds * np.arange(count + 1, dtype=np.float64), "linear")
    days = day_bins(math.floor(lo / DAY_SECONDS), math.floor(hi / DAY_SECONDS))
    return Bins(days.edges * DAY_SECONDS, "linear")


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least `raw`."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw * (1 - 1e-9):
            return m * power
    return 10 * power


def clean(edges: np.ndarray) -> np.ndarray:
    """Edges rounded to 12 significant digits: 0.30000000000000004 is typed back as 0.3, and
    the histogram counts with the same number the SQL compares with."""
    return np.array([float(f"{e:.12g}") for e in edges], dtype=np.float64)
