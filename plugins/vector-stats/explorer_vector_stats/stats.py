"""How long a set's vectors are, and how many dimensions they really use: numpy only, no Qt.

`measure` is the panel's job: one pass over the vectors (memory-mapped sets of any size are
read a block at a time) for their lengths, then a TwoNN estimate of the intrinsic dimension
on a seeded sample of at most SAMPLE rows, whose exact two nearest neighbours stay cheap.

TwoNN (Facco, d'Errico, Rodriguez & Laio, Sci. Rep. 2017): for each point the ratio
mu = r2 / r1 of its second to first nearest-neighbour distance follows a Pareto law with
exponent d, the intrinsic dimension, whatever the density, so its maximum-likelihood
estimate is d = n / sum(log mu). It needs only the two nearest neighbours, and the sample
keeps it at n^2 distances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.plugins.api import EmbeddingSet, TaskState, unit

SAMPLE = 5000  # rows for the TwoNN estimate
BLOCK = 65536  # rows read at once for the lengths
QUERY_BLOCK = 256  # rows whose neighbours are searched at once (a block x SAMPLE distance matrix)
CANDIDATES = 4  # nearest rows by the fast distance, measured again exactly
BINS = 60
UNIT_TOLERANCE = 1e-3  # lengths this close to 1 count as unit-normalised


@dataclass(frozen=True)
class Norms:
    """Every row's Euclidean length and their distribution."""

    values: np.ndarray  # float32 (n,)
    counts: np.ndarray  # int64 (BINS,): rows per bin
    edges: np.ndarray  # float64 (BINS + 1,)
    mean: float
    std: float
    minimum: float
    median: float
    maximum: float
    low: float  # 1st percentile: a colour range that a few outliers do not wash out
    high: float  # 99th percentile (above `low` even when every length is the same)
    zeros: int  # rows of length 0

    @property
    def unit(self) -> bool:
        """Every vector has length 1 (the set was normalised before it was saved)."""
        return bool(abs(self.minimum - 1) <= UNIT_TOLERANCE
                    and abs(self.maximum - 1) <= UNIT_TOLERANCE)


@dataclass(frozen=True)
class Dimension:
    """A TwoNN estimate of the intrinsic dimension."""

    estimate: float  # nan when the sample cannot tell (fewer than 3 distinct rows)
    rows: int  # rows the estimate is made of
    duplicates: int  # sampled rows left out: another sampled row is at distance 0


@dataclass(frozen=True)
class VectorStats:
    norms: Norms
    dimension: Dimension | None  # None while it is being estimated
    distance: str  # what the dimension is measured in: "cosine" or "Euclidean"
    sampled: bool  # the dimension comes from a sample of the rows


def norms(vectors: np.ndarray, state: TaskState | None = None) -> Norms:
    """The length of every row, read BLOCK rows at a time."""
    state = state or TaskState()
    n = len(vectors)
    if n == 0:
        raise ValueError("no vectors to measure")
    values = np.empty(n, dtype=np.float32)
    for lo in range(0, n, BLOCK):
        block = np.asarray(vectors[lo:lo + BLOCK], dtype=np.float32)
        values[lo:lo + len(block)] = np.sqrt(np.einsum("ij,ij->i", block, block,
                                                       dtype=np.float64))
        state.progress(lo + len(block), n)  # raises Cancelled when the user stops
    minimum, maximum = float(values.min()), float(values.max())
    low, median, high = (float(v) for v in np.percentile(values, [1, 50, 99]))
    margin = UNIT_TOLERANCE * max(1.0, maximum)
    # lengths that differ only by rounding (a unit-normalised set) get one bar in a visible
    # range, and the map a colour range that is not empty
    spread = (minimum - margin, maximum + margin) if maximum - minimum < margin \
        else (minimum, maximum)
    if high - low < margin:
        low, high = low - margin, high + margin
    counts, edges = np.histogram(values.astype(np.float64), bins=BINS, range=spread)
    return Norms(values, counts, edges, mean=float(values.mean(dtype=np.float64)),
                 std=float(values.std(dtype=np.float64)), minimum=minimum, median=median,
                 maximum=maximum, low=low, high=high,
                 zeros=int(np.count_nonzero(values == 0)))


def two_nn(x: np.ndarray, state: TaskState | None = None) -> Dimension:
    """The TwoNN intrinsic dimension of the rows of `x` (Euclidean distances, all pairs)."""
    state = state or TaskState()
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    if n < 3:
        return Dimension(float("nan"), n, 0)
    squares = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    wanted = min(CANDIDATES, n - 1)
    r1, r2 = np.empty(n), np.empty(n)
    for lo in range(0, n, QUERY_BLOCK):
        hi = min(n, lo + QUERY_BLOCK)
        # fast squared distances find the candidates; measuring them again in float64
        # avoids the cancellation of |a|^2 + |b|^2 - 2ab for close pairs of long vectors
        fast = squares[lo:hi, None] + squares[None, :] - 2.0 * (x[lo:hi] @ x.T)
        fast[np.arange(hi - lo), np.arange(lo, hi)] = np.inf
        nearest = np.argpartition(fast, wanted - 1, axis=1)[:, :wanted]
        exact = np.linalg.norm(x[nearest].astype(np.float64)
                               - x[lo:hi, None, :].astype(np.float64), axis=2)
        exact.sort(axis=1)
        r1[lo:hi], r2[lo:hi] = exact[:, 0], exact[:, 1]
        state.progress(hi, n)
    kept = r1 > 0
    total = float(np.log(r2[kept] / r1[kept]).sum())
    used = int(kept.sum())
    estimate = used / total if used >= 3 and total > 0 else float("nan")
    return Dimension(estimate, used, n - used)


def sample_rows(n: int, size: int = SAMPLE, seed: int = 0) -> np.ndarray:
    """Sorted row numbers of a seeded sample (all rows when there are few): sorted, so a
    memory-mapped set is read front to back."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def measure(es: EmbeddingSet, state: TaskState) -> VectorStats:
    """The panel's job: lengths first (delivered as a partial result), then the dimension."""
    state.status("Measuring the vectors' lengths")
    lengths = norms(es.vectors, state.sub(0.0, 0.3))
    rows = sample_rows(es.count)
    sampled = len(rows) < es.count
    cosine = es.metric == "cosine"
    distance = "cosine" if cosine else "Euclidean"
    state.partial(VectorStats(lengths, None, distance, sampled))
    state.status("Estimating the intrinsic dimension")
    x = np.asarray(es.vectors[rows], dtype=np.float32)
    if cosine:
        x = unit(x)  # between unit vectors the Euclidean distance ranks as the cosine one
    return VectorStats(lengths, two_nn(x, state.sub(0.3, 1.0)), distance, sampled)
