"""How well one set's geometry maps onto the other's: linear CKA and orthogonal Procrustes.

Both come from the same d x d sums, read in one pass over the joined rows (float64), so a
million items cost O(n d^2) and never an n x n (or an n x d copy of either set):
X^T X, Y^T Y, X^T Y and the column sums, centred afterwards (X_c^T Y_c = X^T Y - n mu_x mu_y^T).
Each set's rows are taken as its metric compares them: unit length for cosine, as they are
for dot and l2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from explorer.compute.projection.rows import clean_rows
from explorer.core.jobs import TaskState
from explorer.core.vector_checks import chunk_rows


@dataclass(frozen=True)
class Moments:
    """The centred second moments of two joined sets."""

    count: int
    mean_a: np.ndarray
    mean_b: np.ndarray
    aa: np.ndarray  # X_c^T X_c
    bb: np.ndarray  # Y_c^T Y_c
    ab: np.ndarray  # X_c^T Y_c


@dataclass(frozen=True)
class Procrustes:
    """The rotation taking A's centred, scaled rows onto B's (a_i R ~ b_i)."""

    rotation: np.ndarray
    scale_a: float  # each set's rows are divided by its root mean squared centred row norm
    scale_b: float
    residual: float  # mean over items of |a_i R - b_i|^2: 0 for a rotated copy, at most 2


class PairReader:
    """Rows of two joined sets, chunk by chunk, as each set's metric compares them (`rows_*`
    None: every row in order, read as slices of the memory map)."""

    def __init__(self, count: int, vectors_a: np.ndarray, rows_a: np.ndarray | None,
                 unit_a: bool, vectors_b: np.ndarray, rows_b: np.ndarray | None,
                 unit_b: bool) -> None:
        self.count = count
        self.a, self.rows_a, self.unit_a = vectors_a, rows_a, unit_a
        self.b, self.rows_b, self.unit_b = vectors_b, rows_b, unit_b
        self.step = chunk_rows(vectors_a.shape[1] + vectors_b.shape[1], itemsize=8)

    def chunks(self, positions: np.ndarray | None, state: TaskState):
        """(A rows, B rows) of the joined `positions` (all when None), float64."""
        n = self.count if positions is None else positions.size
        for lo in range(0, n, self.step):
            hi = min(n, lo + self.step)
            at = slice(lo, hi) if positions is None else positions[lo:hi]
            xa = clean_rows(self.a[at if self.rows_a is None else self.rows_a[at]], self.unit_a)
            xb = clean_rows(self.b[at if self.rows_b is None else self.rows_b[at]], self.unit_b)
            yield xa.astype(np.float64), xb.astype(np.float64)
            state.progress(hi, n)


def moments(reader: PairReader, state: TaskState) -> Moments:
    n = reader.count
    da, db = reader.a.shape[1], reader.b.shape[1]
    sa, sb = np.zeros(da), np.zeros(db)
    aa, bb, ab = np.zeros((da, da)), np.zeros((db, db)), np.zeros((da, db))
    for xa, xb in reader.chunks(None, state):
        sa += xa.sum(axis=0)
        sb += xb.sum(axis=0)
        aa += xa.T @ xa
        bb += xb.T @ xb
        ab += xa.T @ xb
    ma, mb = sa / n, sb / n
    return Moments(n, ma, mb, aa - n * np.outer(ma, ma), bb - n * np.outer(mb, mb),
                   ab - n * np.outer(ma, mb))


def linear_cka(m: Moments) -> float:
    """|X_c^T Y_c|_F^2 / (|X_c^T X_c|_F |Y_c^T Y_c|_F) (Kornblith et al. 2019): 1 when one set
    is a rotation and uniform scaling of the other, near 0 for unrelated sets."""
    den = np.linalg.norm(m.aa) * np.linalg.norm(m.bb)
    return min(1.0, float(np.linalg.norm(m.ab) ** 2 / den)) if den > 0 else 0.0  # rounding


def procrustes(m: Moments) -> Procrustes | None:
    """Orthogonal Procrustes of A's rows onto B's (same dimension only, else None).

    Each set centred and scaled to a mean squared row norm of 1, so the residual does not
    depend on either set's scale. scipy's orthogonal_procrustes(A, B) is the polar factor of
    A^T B; given (I, A^T B) it returns that same rotation without the n x d matrices.
    """
    if m.aa.shape != m.bb.shape:
        return None
    mean_a, mean_b = np.trace(m.aa) / m.count, np.trace(m.bb) / m.count
    scale_a = float(np.sqrt(mean_a)) if mean_a > 0 else 1.0
    scale_b = float(np.sqrt(mean_b)) if mean_b > 0 else 1.0
    cross = m.ab / (scale_a * scale_b)
    rotation, _ = scipy.linalg.orthogonal_procrustes(np.eye(cross.shape[0]), cross)
    fit = float(np.sum(rotation * cross)) / m.count  # tr(R^T A^T B) / n
    total = (np.trace(m.aa) / scale_a ** 2 + np.trace(m.bb) / scale_b ** 2) / m.count
    return Procrustes(rotation, scale_a, scale_b, max(0.0, float(total - 2.0 * fit)))


def item_residuals(reader: PairReader, m: Moments, p: Procrustes, positions: np.ndarray | None,
                   state: TaskState) -> np.ndarray:
    """|a_i R - b_i|^2 per joined item at `positions` (all when None), float32; their mean
    over all items is `p.residual`, so 1 is a typical item's squared length."""
    out = []
    for xa, xb in reader.chunks(positions, state):
        diff = (xa - m.mean_a) / p.scale_a @ p.rotation - (xb - m.mean_b) / p.scale_b
        out.append(np.einsum("ij,ij->i", diff, diff))
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)
