"""Defining a direction on a set: from two poles, a probe or a principal component.

Poles are typed texts encoded by the set's own model, two groups of items or two
extreme items; a probe is a logistic regression between two groups, whose
normal vector is the direction. Each records its definition, so it can be
cross-validated the way it was made.
"""

from __future__ import annotations

import numpy as np

from explorer.compute.concepts.direction import Direction, shorten
from explorer.compute.concepts.groups import (cap_rows, check_rows, sample_groups, two_groups,
                                              training_xy, where_rows)
from explorer.compute.concepts.scoring import mean_representation, represent
from explorer.compute.vectors import unit
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError

ROWS_KEPT = 1_000  # group rows stored in a definition up to this many per group, else a count
COMPONENT_SAMPLE = 20_000
PROBE_MAX_ITER = 1_000  # lbfgs on unit rows converges in tens of iterations; 1000 is headroom


def _new(es: EmbeddingSet, name: str, vector: np.ndarray, method: str, definition: dict,
         label_a: str, label_b: str, groups=None) -> Direction:
    if not np.any(np.asarray(vector)):
        raise InputError(f"direction {name!r} is a zero vector: the two poles are the same point")
    return Direction(name=name, vector=vector, method=method, definition=definition,
                     label_a=label_a, label_b=label_b, model=es.model, set_id=es.library_id,
                     groups=groups)


def _rows_definition(a: np.ndarray, b: np.ndarray) -> dict:
    out: dict = {"n_a": int(a.size), "n_b": int(b.size)}
    if a.size <= ROWS_KEPT and b.size <= ROWS_KEPT:
        out.update(rows_a=a.tolist(), rows_b=b.tolist())
    return out


def _pole_texts(texts, which: str) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    texts = [t.strip() for t in (texts or []) if isinstance(t, str) and t.strip()]
    if not texts:
        raise InputError(f"pole {which} has no text: give at least one text per pole")
    return texts


def encode_poles(es: EmbeddingSet, texts_a, texts_b) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (float64) of each pole's texts, encoded as documents by the set's model."""
    from explorer.compute.encoding.set_model import query_encoder
    from explorer.compute.neighbours import text_query_reason

    poles = [_pole_texts(texts_a, "A"), _pole_texts(texts_b, "B")]
    reason = text_query_reason(es)
    if reason is not None:
        raise InputError(reason)
    encoder = query_encoder(es.model)
    out = []
    for texts in poles:
        v = encoder.encode(texts, kind="document").astype(np.float64)
        if not np.all(np.isfinite(v)):
            raise InputError("the model turns a pole text into NaN values; reword it")
        out.append(unit(v))
    return out[0], out[1]


def from_texts(es: EmbeddingSet, texts_a, texts_b, name: str | None = None) -> Direction:
    """Two poles typed as texts, encoded by the model that made the set.

    Texts are encoded as documents (the model's document prefix, if it has one),
    not as queries: the poles are descriptions placed among the items, and with
    an asymmetric model (e5, bge) a query prefix shifts every text by the same
    offset, putting the poles outside the items' region. Each pole is the mean
    of its texts' unit vectors (so no text weighs more for being longer); the
    direction runs from pole A's mean to pole B's.
    """
    texts_a, texts_b = _pole_texts(texts_a, "A"), _pole_texts(texts_b, "B")
    va, vb = encode_poles(es, texts_a, texts_b)
    label_a, label_b = shorten(" / ".join(texts_a)), shorten(" / ".join(texts_b))
    return _new(es, name or f"{label_a} → {label_b}", vb.mean(axis=0) - va.mean(axis=0),
                "texts", {"texts_a": texts_a, "texts_b": texts_b}, label_a, label_b)


def _mean_difference(es: EmbeddingSet, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """B's mean minus A's, and the score halfway between the groups' mean scores."""
    ma, mb = mean_representation(es, a), mean_representation(es, b)
    diff = mb - ma
    norm = float(np.linalg.norm(diff))
    threshold = float((ma + mb) @ diff / (2 * norm)) if norm > 0 else 0.0
    return diff, threshold


def from_rows(es: EmbeddingSet, rows_a, rows_b, name: str | None = None,
              label_a: str | None = None, label_b: str | None = None) -> Direction:
    """From group A's mean to group B's (of unit rows for cosine sets), over every row given."""
    a, b = two_groups(es, rows_a, rows_b)
    label_a = label_a or f"group A ({a.size:,})"
    label_b = label_b or f"group B ({b.size:,})"
    vector, threshold = _mean_difference(es, a, b)
    return _new(es, name or f"{label_a} → {label_b}", vector, "groups",
                {**_rows_definition(a, b), "threshold": threshold}, label_a, label_b,
                groups=(a, b))


def from_rest(es: EmbeddingSet, rows, name: str | None = None,
              label: str | None = None) -> Direction:
    """From the rest of the set (pole A, low scores) to `rows` (pole B, high scores): what
    sets these items apart, as `from_rows` over every other row. High is the group's end so
    that the items scoring highest are those most like it, selected or not.

    The definition says `rest` and keeps the group's rows when few, so a later check can
    find both groups again although the rest is never stored.
    """
    b = check_rows(es, rows, "the group")
    if b.size >= es.count:
        raise InputError("every item is in the group: there is no rest to compare it with")
    a = np.setdiff1d(np.arange(es.count, dtype=np.int64), b, assume_unique=True)
    label = label or f"{b.size:,} items"
    d = from_rows(es, a, b, name or f"{label} vs the rest", label_a="the rest", label_b=label)
    d.definition = {"rest": True, "n_a": int(a.size), "n_b": int(b.size),
                    **({"rows_b": b.tolist()} if b.size <= ROWS_KEPT else {}),
                    "threshold": d.definition["threshold"]}
    return d


def from_where(es: EmbeddingSet, where_a: str, where_b: str, name: str | None = None,
               probe: bool = False, C: float = 1.0, seed: int = 0) -> Direction:
    """Groups given as metadata filters; the mean difference, or a probe when `probe`."""
    a, b = where_rows(es, where_a), where_rows(es, where_b)
    a, b = two_groups(es, a, b, (f"filter A ({where_a})", f"filter B ({where_b})"))
    label_a, label_b = shorten(where_a), shorten(where_b)
    definition = {"where_a": where_a, "where_b": where_b, "n_a": int(a.size), "n_b": int(b.size)}
    if probe:
        d = _probe(es, a, b, C, seed, name or f"probe: {label_a} → {label_b}", label_a, label_b)
        d.definition.update(where_a=where_a, where_b=where_b)
        d.definition.pop("rows_a", None)
        d.definition.pop("rows_b", None)
        return d
    vector, definition["threshold"] = _mean_difference(es, a, b)
    return _new(es, name or f"{label_a} → {label_b}", vector, "where", definition, label_a,
                label_b, groups=(a, b))


def from_extremes(es: EmbeddingSet, row_a: int, row_b: int, name: str | None = None) -> Direction:
    """From one item to another (their unit vectors for cosine sets)."""
    a, b = two_groups(es, [row_a], [row_b], ("item A", "item B"))
    x = represent(es, np.concatenate([a, b])).astype(np.float64)
    if not np.any(x[1] - x[0]):
        raise InputError(f"items #{int(a[0])} and #{int(b[0])} have the same vector "
                         "(direction): there is no direction between them")
    label_a, label_b = shorten(es.label(int(a[0]))), shorten(es.label(int(b[0])))
    return _new(es, name or f"{label_a} → {label_b}", x[1] - x[0], "extremes",
                {"row_a": int(a[0]), "row_b": int(b[0])}, label_a, label_b)


def logistic_model(C: float):
    """The probe's classifier (imported on use: scikit-learn is slow to import)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=PROBE_MAX_ITER)


def probe(es: EmbeddingSet, rows_a, rows_b, C: float = 1.0, name: str | None = None,
          seed: int = 0, label_a: str | None = None, label_b: str | None = None) -> Direction:
    """A logistic regression between the groups; the direction is the normal of its boundary.

    Fitted on the same representation the scores use (unit rows for cosine sets),
    without rescaling features: a standardised model's normal would not be a
    direction of the embedding space. At most GROUP_SAMPLE rows per group (seeded).
    """
    a, b = two_groups(es, rows_a, rows_b)
    label_a = label_a or f"group A ({a.size:,})"
    label_b = label_b or f"group B ({b.size:,})"
    return _probe(es, a, b, C, seed, name or f"probe: {label_a} → {label_b}", label_a, label_b)


def _probe(es, a, b, C, seed, name, label_a, label_b) -> Direction:
    if not C > 0:
        raise InputError(f"the probe's C must be positive, got {C}")
    rng = np.random.default_rng(seed)
    sa, sb = sample_groups(a, b, rng)
    x, y = training_xy(es, sa, sb)
    model = logistic_model(C).fit(x, y)
    coef = model.coef_[0].astype(np.float64)
    norm = float(np.linalg.norm(coef))
    if norm == 0:
        raise InputError("the probe found no boundary between the groups (all weights zero)")
    definition = {**_rows_definition(a, b), "C": C, "seed": seed,
                  "trained_on": int(sa.size + sb.size),
                  "threshold": float(-model.intercept_[0] / norm)}
    return _new(es, name, coef, "probe", definition, label_a, label_b, groups=(a, b))


fit_probe = probe  # for callers whose own `probe` is a flag (see `define`)


def component(es: EmbeddingSet, index: int = 0, sample: int = COMPONENT_SAMPLE, seed: int = 0,
              name: str | None = None) -> Direction:
    """The index-th principal component (0-based) of a seeded sample of the rows."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    rows = cap_rows(np.arange(es.count), max(2, sample), rng)
    limit = min(es.dim, rows.size)
    if not 0 <= index < limit:
        raise InputError(f"component {index + 1} does not exist: the set offers components "
                         f"1 to {limit}")
    pca = PCA(n_components=index + 1, svd_solver="full" if limit <= 1000 else "auto",
              random_state=seed).fit(represent(es, rows))
    label = f"PC{index + 1}"
    return _new(es, name or label, pca.components_[index], "component",
                {"index": index, "sample": int(rows.size), "seed": seed,
                 "explained_variance_ratio": float(pca.explained_variance_ratio_[index])},
                f"low {label}", f"high {label}")


def define(es: EmbeddingSet, *, texts_a=None, texts_b=None, where_a: str | None = None,
           where_b: str | None = None, rows_a=None, rows_b=None, probe: bool = False,
           C: float = 1.0, name: str | None = None, rest: bool = False) -> Direction:
    """The CLI's choice: exactly one pair of poles (texts, filters or rows), optionally a probe;
    with `rest`, pole B alone (rows or a filter) against every other item."""
    if rest:
        return _from_rest_of(es, where_b, rows_b, given_a=(texts_a, texts_b, where_a, rows_a),
                             probe=probe, name=name)
    pairs = {"texts": (texts_a, texts_b), "where": (where_a, where_b), "rows": (rows_a, rows_b)}
    given = [k for k, (a, b) in pairs.items() if a is not None or b is not None]
    if len(given) != 1:
        raise InputError("give exactly one pair of poles: texts (A and B), filters (A and B) or "
                         "rows (A and B)" + (f"; got {' and '.join(given)}" if given else ""))
    kind = given[0]
    a, b = pairs[kind]
    if a is None or b is None:
        raise InputError(f"{kind}: pole {'A' if a is None else 'B'} is missing")
    if kind == "texts":
        if probe:
            raise InputError("a probe needs two groups of items (filters or rows), not texts")
        return from_texts(es, a, b, name)
    if kind == "where":
        return from_where(es, a, b, name, probe=probe, C=C)
    return fit_probe(es, a, b, C, name) if probe else from_rows(es, a, b, name)


def _from_rest_of(es: EmbeddingSet, where_b: str | None, rows_b, given_a: tuple,
                  probe: bool, name: str | None) -> Direction:
    """`define(rest=True)`: the group is pole B, the rest of the set is pole A."""
    if any(v is not None for v in given_a) or probe:
        raise InputError("with --rest the rest of the set is pole A: give only pole B "
                         "(--rows-b or --where-b), without texts or a probe")
    if (where_b is None) == (rows_b is None):
        raise InputError("with --rest give pole B once: --rows-b or --where-b")
    rows = where_rows(es, where_b) if where_b is not None else rows_b
    return from_rest(es, rows, name, label=where_b)
