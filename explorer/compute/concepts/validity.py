"""How far a direction can be trusted on a set: a direction says nothing by itself.

How well it separates held-out items of its own groups (cross-validated,
rebuilding the direction on every training fold the way it was built), how its
scores follow a numeric column, and whether it is mostly an artefact (the set's
mean direction, or vector length).
"""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa

from explorer.compute.concepts.build import encode_poles, logistic_model
from explorer.compute.concepts.direction import Direction, Validity, check_dim
from explorer.compute.concepts.groups import (cap_rows, check_rows, sample_groups, training_xy,
                                              two_groups, where_rows)
from explorer.compute.concepts.scoring import mean_representation, score_matrix
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

SCORE_SAMPLE = 100_000  # rows behind a Spearman / norm correlation: its standard error is ~0.003
FOLDS = 5

# Artefact warnings. A random unit direction has cosine ~1/sqrt(dim) with any fixed vector
# (0.05 at 384 dims), so 0.5 - a quarter of the direction's squared length along the mean -
# is far beyond chance: the scores then largely measure how typical an item is.
MEAN_COSINE_WARN = 0.5
MEAN_MIN_LENGTH = 0.05  # |mean| / mean |x| below this: the set is centred, its mean is noise
# Scores that rank items by vector length (|Spearman| >= 0.5 with the norm) say more about
# length (often text length or frequency) than about the concept.
NORM_SPEARMAN_WARN = 0.5
NORM_SPREAD_MIN = 1.02  # p95/p5 of the norms below this: all lengths equal, nothing to follow
SMALL_GROUP = 10  # fewer items per group: the held-out accuracy is a rough guide


def numeric_columns(es: EmbeddingSet) -> list[str]:
    return [f.name for f in es.metadata.schema if _is_numeric(f.type)]


def _is_numeric(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_boolean(t) or pa.types.is_temporal(t))


def column_values(es: EmbeddingSet, column: str, rows=None) -> np.ndarray:
    """float64 values of a numeric (or date/time) column, NaN where null; InputError otherwise."""
    numeric = numeric_columns(es)
    available = f"numeric columns: {', '.join(numeric)}" if numeric else "the set has none"
    if column not in es.metadata.column_names:
        raise InputError(f"no column named {column!r} ({available})")
    col = es.metadata.column(column)
    if not _is_numeric(col.type):
        raise InputError(f"column {column!r} is not numeric ({col.type}); {available}")
    if rows is not None:
        col = col.take(pa.array(np.asarray(rows, dtype=np.int64)))
    if pa.types.is_temporal(col.type):
        col = col.cast(pa.int64()) if pa.types.is_timestamp(col.type) or \
            pa.types.is_duration(col.type) else col.cast(pa.int64(), safe=False)
    col = col.cast(pa.float64())
    return col.to_numpy(zero_copy_only=False).astype(np.float64)


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None, int]:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None, None, int(x.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from scipy import stats  # imported here: 0.7 s, which the window's start would wait for
        rho, p = stats.spearmanr(x, y)
    return float(rho), float(p), int(x.size)


def _groups_for(es: EmbeddingSet, d: Direction, rows_a, rows_b):
    """The item groups behind a direction: given, kept on it, or re-found from its definition."""
    if rows_a is not None or rows_b is not None:
        if rows_a is None or rows_b is None:
            raise InputError("validation groups: give both A and B")
        return two_groups(es, rows_a, rows_b)
    if d.groups is not None and d.set_id == es.library_id:
        return d.groups
    spec = d.definition
    if d.method in ("where", "probe") and "where_a" in spec and "where_b" in spec:
        return two_groups(es, where_rows(es, spec["where_a"]), where_rows(es, spec["where_b"]))
    if d.method in ("groups", "probe") and "rows_a" in spec and "rows_b" in spec \
            and d.set_id == es.library_id:
        return two_groups(es, spec["rows_a"], spec["rows_b"])
    if d.method == "groups" and spec.get("rest") and "rows_b" in spec \
            and d.set_id == es.library_id:  # a group against the rest (`from_rest`)
        b = check_rows(es, spec["rows_b"], "the group")
        return two_groups(es, np.setdiff1d(np.arange(es.count), b, assume_unique=True), b)
    return None


def _fold_accuracy(x, y, folds, seed, fit) -> tuple[float, float]:
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold

    accs, baccs = [], []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        predict = fit(x[train], y[train])
        pred = predict(x[test])
        accs.append(float(np.mean(pred == y[test])))
        baccs.append(float(balanced_accuracy_score(y[test], pred)))
    return float(np.mean(accs)), float(np.mean(baccs))


def heldout_accuracy(es: EmbeddingSet, d: Direction, a: np.ndarray, b: np.ndarray,
                     folds: int = FOLDS, seed: int = 0) -> tuple[float, float, int]:
    """(accuracy, balanced accuracy, folds used) of splitting A from B on held-out items.

    StratifiedKFold(folds, shuffle, seed) over A's rows then B's. On each
    training part the direction is rebuilt as it was made - the group means'
    difference, or a logistic regression for a probe (then its own `predict`,
    so the number equals sklearn's `cross_val_score`) - and a fixed direction
    (texts, extremes, ...) is kept. Held-out items are called B when their score
    is above the midpoint of the training groups' mean scores.
    """
    x, y = training_xy(es, a, b)
    folds = min(folds, int(a.size), int(b.size))
    if folds < 2:
        raise InputError("cross-validation needs at least 2 items in each group")
    if d.method == "probe":
        C = float(d.definition.get("C", 1.0))

        def fit(xt, yt):
            return logistic_model(C).fit(xt, yt).predict
    else:
        fixed = d.vector if d.method not in ("groups", "where") else None

        def fit(xt, yt):
            v = fixed if fixed is not None else \
                (xt[yt == 1].mean(axis=0, dtype=np.float64)
                 - xt[yt == 0].mean(axis=0, dtype=np.float64)).astype(np.float32)
            s = xt @ v
            threshold = (float(s[yt == 1].mean()) + float(s[yt == 0].mean())) / 2
            return lambda xs: (xs @ v > threshold).astype(np.int64)
    acc, bacc = _fold_accuracy(x, y, folds, seed, fit)
    return acc, bacc, folds


def pole_accuracy(es: EmbeddingSet, d: Direction) -> tuple[float | None, int]:
    """Text poles, leave one text out: is each text on its own pole's side of the midpoint?

    Needs two texts or more per pole; (None, count) otherwise or when the model is gone.
    """
    ta, tb = d.definition.get("texts_a") or [], d.definition.get("texts_b") or []
    if len(ta) < 2 or len(tb) < 2:
        return None, len(ta) + len(tb)
    try:
        va, vb = encode_poles(es, ta, tb)
    except InputError:
        return None, len(ta) + len(tb)
    right = 0
    for i in range(len(va)):
        ma, mb = np.delete(va, i, axis=0).mean(axis=0), vb.mean(axis=0)
        v = mb - ma
        right += int(va[i] @ v < (ma @ v + mb @ v) / 2)
    for i in range(len(vb)):
        ma, mb = va.mean(axis=0), np.delete(vb, i, axis=0).mean(axis=0)
        v = mb - ma
        right += int(vb[i] @ v > (ma @ v + mb @ v) / 2)
    return right / (len(va) + len(vb)), len(va) + len(vb)


def validate(es: EmbeddingSet, d: Direction, rows_a=None, rows_b=None,
             against: str | None = None, folds: int = FOLDS, seed: int = 0,
             state: TaskState | None = None) -> Validity:
    """Held-out accuracy of the group split, Spearman with `against`, artefact warnings.

    Groups: the rows given, else the ones the direction was made from (kept on
    it, or re-found from its filters). At most GROUP_SAMPLE per group and
    SCORE_SAMPLE rows for the correlations, seeded; Validity says when it sampled.
    """
    state = state or TaskState()
    check_dim(es, d)
    if against is not None:
        column_values(es, against, rows=[])  # a wrong column fails before any work
    out = Validity(set_id=es.library_id)
    rng = np.random.default_rng(seed)
    state.status("Checking the direction")
    groups = _groups_for(es, d, rows_a, rows_b)
    if groups is not None:
        a, b = groups
        sa, sb = sample_groups(a, b, rng)
        out.n_a, out.n_b = int(sa.size), int(sb.size)
        out.groups_sampled = bool(sa.size < a.size or sb.size < b.size)
        if min(sa.size, sb.size) >= 2:
            acc, bacc, used = heldout_accuracy(es, d, sa, sb, folds, seed)
            out.heldout_accuracy, out.heldout_balanced_accuracy, out.folds = acc, bacc, used
            if min(a.size, b.size) < SMALL_GROUP:
                out.warnings.append(f"a group has fewer than {SMALL_GROUP} items: the held-out "
                                    "accuracy is a rough guide")
            if acc < 0.5:
                out.warnings.append(f"group B scores lower than group A on held-out items "
                                    f"(accuracy {acc:.2f}): the direction points the other way")
    state.progress(0.4)
    if d.method == "texts":
        out.pole_accuracy, out.pole_texts = pole_accuracy(es, d)
    rows = cap_rows(np.arange(es.count), SCORE_SAMPLE, rng)
    out.rows_scored, out.rows_sampled = int(rows.size), bool(rows.size < es.count)
    norms = np.empty(rows.size, dtype=np.float32)
    s = score_matrix(es, [d], rows, state=state.sub(0.4, 0.9), norms_out=norms)[:, 0]
    if against is not None:
        values = column_values(es, against, rows)
        out.against = against
        out.spearman, out.spearman_p, out.spearman_rows = _spearman(s.astype(np.float64), values)
    p5, p95 = np.percentile(norms, [5, 95]) if norms.size else (0.0, 0.0)
    if p5 > 0 and p95 / p5 >= NORM_SPREAD_MIN:
        out.norm_spearman = _spearman(s.astype(np.float64), norms.astype(np.float64))[0]
        if out.norm_spearman is not None and abs(out.norm_spearman) >= NORM_SPEARMAN_WARN:
            out.warnings.append(f"scores follow vector length (Spearman {out.norm_spearman:.2f} "
                                "with the norm): the direction may measure length (often text "
                                "length or frequency) more than the concept")
    mean = mean_representation(es, rows)
    # how long the represented rows are on average: 1 for cosine (unit rows; 0 for zero ones)
    typical = float(np.mean((norms > 0) if es.metric == "cosine" else norms)) if norms.size else 0
    length = float(np.linalg.norm(mean))
    if length > 0:
        out.mean_cosine = float(mean @ d.vector.astype(np.float64) / length)
        if abs(out.mean_cosine) >= MEAN_COSINE_WARN and typical > 0 \
                and length / typical >= MEAN_MIN_LENGTH:
            out.warnings.append(f"mostly the mean direction: cosine {out.mean_cosine:.2f} with "
                                "the set's mean vector, so scores largely measure how typical an "
                                "item is")
    state.progress(1.0)
    return out
