"""Concept directions on data with a planted direction, checked against numpy and sklearn.

The planted set: clusters in 48 anisotropic dimensions, plus a unit direction u
(in the other 16, isotropic ones) along which every item is moved by a strength
t ~ N(0, 1); everything is then rotated at random, so u looks like any other
direction. Group A is t < -0.5, group B t > 0.5, and the `strength` column is t
plus noise.
"""

import json
import math

import numpy as np
import pyarrow as pa
import pytest
from default_model import needs_minilm
from onnx_models import bert_like, write_folder
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from explorer.compute import concepts as cc
from explorer.compute.concepts import groups as cc_groups
from explorer.compute.concepts import scoring as cc_scoring
from explorer.compute.concepts import validity as cc_validity
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

N, D, K = 2000, 64, 48


def planted(n=N, seed=0, metric="cosine", offset=0.0, length_sigma=0.0):
    """(set, u, t): `offset` adds a common vector (a substantial mean), `length_sigma` log-normal
    lengths. The space (clusters, u, rotation) is the same for every seed: "one model"."""
    space = np.random.default_rng(1234)
    scale = 1.0 / (1.0 + np.arange(K)) ** 0.5
    centres = space.normal(size=(12, K)) * scale * 3
    u0 = np.zeros(D)
    u0[K:] = space.normal(size=D - K)
    u0 /= np.linalg.norm(u0)
    rot = np.linalg.qr(space.normal(size=(D, D)))[0]
    rng = np.random.default_rng(seed)
    base = np.zeros((n, D))
    base[:, :K] = centres[rng.integers(0, 12, n)] + rng.normal(size=(n, K)) * scale + offset
    base[:, K:] = rng.normal(size=(n, D - K)) * 0.3
    t = rng.normal(size=n)
    x = base + t[:, None] * u0
    x *= rng.lognormal(0.0, length_sigma, size=(n, 1))
    x, u = x @ rot.T, rot @ u0
    meta = pa.table({
        "id": [f"i{i}" for i in range(n)],
        "strength": t + rng.normal(size=n) * 0.3,
        "group": np.where(t < -0.5, "a", np.where(t > 0.5, "b", "mid")).tolist(),
        "when": pa.array((np.argsort(np.argsort(t)) * 86_400_000).astype("datetime64[ms]")),
    })
    es = EmbeddingSet(x.astype(np.float32), meta, name="planted", format="test", source=[],
                      metric=metric, id_column="id", model="synthetic (sha256 0123456789ab)")
    return es, u, t


def stored(es: EmbeddingSet) -> EmbeddingSet:
    return Library().open(Library().import_set(es).id)


def groups(t):
    return np.flatnonzero(t < -0.5), np.flatnonzero(t > 0.5)


def unit_rows(x):
    x = np.asarray(x, dtype=np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


def rep(es, rows):
    x = np.asarray(es.vectors[rows], dtype=np.float32)
    return unit_rows(x).astype(np.float32) if es.metric == "cosine" else x


@pytest.fixture(scope="module")
def cosine_set():
    return planted()


# --- defining ---------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_group_methods_recover_the_planted_direction(metric):
    es, u, t = planted(metric=metric)
    a, b = groups(t)
    made = {"groups": cc.from_rows(es, a, b),
            "where": cc.from_where(es, "\"group\" = 'a'", "\"group\" = 'b'"),
            "probe": cc.probe(es, a, b),
            "probe-where": cc.from_where(es, "\"group\" = 'a'", "\"group\" = 'b'", probe=True)}
    for how, d in made.items():
        assert d.vector.dtype == np.float32 and abs(np.linalg.norm(d.vector) - 1) < 1e-6
        assert float(d.vector @ u) >= 0.95, (how, float(d.vector @ u))
        assert d.model == es.model and d.dim == D
        v = cc.validate(es, d, against="strength")
        assert v.heldout_accuracy >= 0.95 and v.folds == 5, how
        assert v.n_a == a.size and v.n_b == b.size and not v.groups_sampled
        assert v.spearman >= 0.8 and v.spearman_p < 1e-10 and v.spearman_rows == N, how
        assert v.warnings == [], (how, v.warnings)
    assert made["where"].definition["where_a"] == "\"group\" = 'a'"
    assert made["probe-where"].method == "probe" and "where_b" in made["probe-where"].definition
    # the mean difference is exactly that, over every row of each group
    x = rep(es, np.arange(N)).astype(np.float64)
    expected = x[b].mean(axis=0) - x[a].mean(axis=0)
    np.testing.assert_allclose(made["groups"].vector, expected / np.linalg.norm(expected),
                               atol=1e-6)
    # the threshold sits halfway between the groups' mean scores, for means and probes alike
    s = cc.scores(es, made["groups"]).astype(np.float64)
    assert made["groups"].definition["threshold"] == pytest.approx(
        (s[a].mean() + s[b].mean()) / 2, abs=1e-5)
    probe_model = LogisticRegression(C=1.0, max_iter=1000).fit(
        np.vstack([rep(es, a), rep(es, b)]), np.r_[np.zeros(a.size), np.ones(b.size)])
    s = cc.scores(es, made["probe"])
    calls_b = s[np.r_[a, b]] > made["probe"].definition["threshold"]
    assert (calls_b == probe_model.predict(np.vstack([rep(es, a), rep(es, b)]))).mean() > 0.999


def test_extremes_need_clean_items_to_recover_a_direction():
    es, u, t = planted(metric="cosine")
    # two real extreme items carry their own clusters and noise too: the right way, roughly
    noisy = cc.from_extremes(es, int(np.argmin(t)), int(np.argmax(t)))
    assert 0.3 < float(noisy.vector @ u) < 0.95
    # an item and its mirror along u (a point with no u component, plus and minus 3u)
    x = np.asarray(es.vectors, dtype=np.float64)
    p = x[7] - (x[7] @ u) * u
    vectors = np.vstack([x, p - 3 * u, p + 3 * u]).astype(np.float32)
    meta = pa.table({"id": [f"i{i}" for i in range(N + 2)]})
    clean = EmbeddingSet(vectors, meta, name="clean", metric="cosine", id_column="id")
    d = cc.from_extremes(clean, N, N + 1)
    assert float(d.vector @ u) >= 0.999
    assert (d.label_a, d.label_b) == (f"i{N}", f"i{N + 1}")
    with pytest.raises(InputError, match="same vector"):
        cc.from_extremes(EmbeddingSet(np.vstack([vectors, 2 * vectors[-1:]]),
                                      pa.table({"id": list(range(N + 3))}), name="dup"),
                         N + 1, N + 2)


def test_component_is_sklearn_s_pca_on_the_sample(cosine_set):
    es, _, _ = cosine_set
    d = cc.component(es, 1, sample=1500, seed=4)
    rows = np.sort(np.random.default_rng(4).choice(N, size=1500, replace=False))
    pca = PCA(n_components=2, svd_solver="full").fit(rep(es, rows))
    assert abs(float(d.vector @ pca.components_[1])) > 1 - 1e-5
    assert d.definition["index"] == 1 and d.label_b == "high PC2"
    with pytest.raises(InputError, match="components 1 to 64"):
        cc.component(es, 64)


def test_groups_are_checked(cosine_set):
    es, _, _ = cosine_set
    with pytest.raises(InputError, match="3 rows are in both"):
        cc.from_rows(es, [1, 2, 3, 4], [2, 3, 4, 5])
    with pytest.raises(InputError, match="group B is empty"):
        cc.from_rows(es, [1], [])
    with pytest.raises(InputError, match="row 2000 is out of range"):
        cc.probe(es, [1, 2], [3, 2000])
    with pytest.raises(InputError, match="matches no items"):
        cc.from_where(es, "strength > 100", "strength < 0")
    with pytest.raises(InputError, match="in both filter A"):
        cc.from_where(es, "strength > 0", "strength > 1")
    with pytest.raises(InputError, match="filter 'nope > 1'"):
        cc.from_where(es, "nope > 1", "strength < 0")


def test_define_takes_exactly_one_pair(cosine_set):
    es, u, t = cosine_set
    a, b = groups(t)
    assert cc.define(es, rows_a=a, rows_b=b).method == "groups"
    assert cc.define(es, rows_a=a, rows_b=b, probe=True).method == "probe"
    assert cc.define(es, where_a="strength < -1", where_b="strength > 1").method == "where"
    with pytest.raises(InputError, match="exactly one pair"):
        cc.define(es)
    with pytest.raises(InputError, match="got where and rows"):
        cc.define(es, where_a="strength < 0", where_b="strength > 0", rows_a=a, rows_b=b)
    with pytest.raises(InputError, match="pole B is missing"):
        cc.define(es, rows_a=a)
    with pytest.raises(InputError, match="not texts"):
        cc.define(es, texts_a=["x"], texts_b=["y"], probe=True)


# --- scores ---------------------------------------------------------------------------

def test_scores_are_cosines_for_cosine_sets_and_projections_otherwise():
    es, u, _ = planted(n=300)
    x = np.asarray(es.vectors, dtype=np.float64).copy()
    x[5] = 0.0
    zero = EmbeddingSet(x.astype(np.float32), es.metadata, name="z", metric="cosine")
    d = cc.Direction("u", u, "arithmetic")
    got = cc.scores(zero, d)
    assert got.dtype == np.float32 and got[5] == 0.0
    np.testing.assert_allclose(got, unit_rows(x) @ d.vector.astype(np.float64), atol=1e-6)
    np.testing.assert_allclose(cc.scores(zero, d, raw=True), x @ d.vector, atol=1e-5)
    dot = EmbeddingSet(x.astype(np.float32), es.metadata, name="z", metric="dot")
    np.testing.assert_allclose(cc.scores(dot, d), x @ d.vector, atol=1e-5)
    rows = np.array([9, 3, 5])
    np.testing.assert_allclose(cc.scores(zero, d, rows=rows), got[rows], atol=1e-7)
    with pytest.raises(InputError, match="has 3 dimensions but the set has 64"):
        cc.scores(zero, cc.Direction("short", [1, 0, 0], "arithmetic"))


def test_scoring_reports_progress_and_stops_when_cancelled(monkeypatch):
    es, u, _ = planted(n=1000)
    monkeypatch.setattr(cc_scoring, "CHUNK", 128)
    seen = []
    cc.scores(es, cc.Direction("u", u, "arithmetic"), state=TaskState(on_progress=seen.append))
    assert len(seen) == 8 and seen == sorted(seen) and seen[-1] == 1.0
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        cc.scores(es, cc.Direction("u", u, "arithmetic"), state=state)


def test_describe_lists_both_ends(cosine_set):
    es, u, t = cosine_set
    d = cc.from_rows(es, *groups(t))
    d.validity = cc.validate(es, d, against="strength")
    s = cc.scores(es, d)
    out = cc.describe(es, d, s, top=5)
    order = np.argsort(s)
    assert [i["row"] for i in out["top_a"]] == order[:5].tolist()
    assert [i["row"] for i in out["top_b"]] == order[::-1][:5].tolist()
    assert out["top_b"][0]["id"] == f"i{order[-1]}" and out["top_b"][0]["score"] == s[order[-1]]
    assert out["method"] == "groups" and out["heldout_accuracy"] == d.validity.heldout_accuracy
    assert out["spearman"] == d.validity.spearman and out["warnings"] == []
    json.dumps(out)


# --- validity ---------------------------------------------------------------------

@pytest.mark.parametrize("metric,C,folds,seed", [("cosine", 1.0, 5, 0), ("dot", 0.3, 4, 7)])
def test_probe_accuracy_equals_sklearn_s_cross_validation(metric, C, folds, seed):
    es, u, t = planted(metric=metric, seed=1)
    # a harder split than the planted groups, so the folds differ
    a, b = np.flatnonzero(t < 0.1), np.flatnonzero(t > 0.1)
    d = cc.probe(es, a, b, C=C)
    v = cc.validate(es, d, folds=folds, seed=seed)
    x = np.vstack([rep(es, a), rep(es, b)])
    y = np.r_[np.zeros(a.size, int), np.ones(b.size, int)]
    expected = cross_val_score(LogisticRegression(C=C, max_iter=1000), x, y,
                               cv=StratifiedKFold(folds, shuffle=True, random_state=seed)).mean()
    assert v.folds == folds and 0.6 < expected < 0.99
    assert abs(v.heldout_accuracy - expected) <= 1e-12


def test_mean_difference_accuracy_rebuilds_the_direction_on_each_fold(cosine_set):
    es, u, t = cosine_set
    a, b = np.flatnonzero(t < 0.2), np.flatnonzero(t > 0.2)
    d = cc.from_rows(es, a, b)
    v = cc.validate(es, d, seed=3)
    x = np.vstack([rep(es, a), rep(es, b)]).astype(np.float64)
    y = np.r_[np.zeros(a.size, int), np.ones(b.size, int)]
    accs = []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=3).split(x, y):
        w = x[train][y[train] == 1].mean(0) - x[train][y[train] == 0].mean(0)
        s = x[train] @ w
        cut = (s[y[train] == 1].mean() + s[y[train] == 0].mean()) / 2
        accs.append(np.mean((x[test] @ w > cut) == y[test]))
    assert v.heldout_accuracy == pytest.approx(np.mean(accs), abs=1e-9)
    assert 0.6 < v.heldout_accuracy < 0.99 and v.heldout_balanced_accuracy > 0.6


def test_a_fixed_direction_is_validated_on_given_groups_and_a_reversed_one_is_flagged():
    es, u, t = planted(n=600)
    a, b = groups(t)
    flipped = cc.Direction("-u", -u, "arithmetic")
    v = cc.validate(es, flipped, rows_a=a, rows_b=b, against="strength")
    assert v.heldout_accuracy < 0.1 and v.spearman < -0.8
    assert any("points the other way" in w for w in v.warnings)
    assert cc.validate(es, flipped).heldout_accuracy is None  # no groups: nothing to split
    few = cc.validate(es, cc.Direction("u", u, "arithmetic"), rows_a=a[:4], rows_b=b[:6])
    assert few.folds == 4 and any("fewer than 10" in w for w in few.warnings)


def test_spearman_needs_a_numeric_column_and_ignores_nulls(cosine_set):
    es, u, t = cosine_set
    d = cc.Direction("u", u, "arithmetic")
    with pytest.raises(InputError, match="'group' is not numeric .*numeric columns: strength, "
                                         "when"):
        cc.validate(es, d, against="group")
    with pytest.raises(InputError, match="no column named 'nope'"):
        cc.validate(es, d, against="nope")
    # a date column ranks like the strength it was made from
    assert cc.validate(es, d, against="when").spearman > 0.9
    values = es.metadata.column("strength").to_pylist()
    values[:500] = [None] * 500
    holes = EmbeddingSet(es.vectors, es.metadata.set_column(1, "strength", pa.array(values)),
                         name="holes", metric="cosine")
    v = cc.validate(holes, d, against="strength")
    assert v.spearman_rows == N - 500 and v.spearman > 0.8


def test_artefact_warnings_fire_on_the_mean_direction_only():
    es, u, t = planted(metric="dot", offset=1.0, length_sigma=0.3)
    x = np.asarray(es.vectors, dtype=np.float64)
    mean = cc.Direction("mean", x.mean(axis=0), "arithmetic")
    v = cc.validate(es, mean)
    assert v.mean_cosine > 0.99 and v.norm_spearman > 0.9
    assert any("mostly the mean direction" in w for w in v.warnings)
    assert any("vector length" in w for w in v.warnings)
    for d in (cc.Direction("u", u, "arithmetic"), cc.from_rows(es, *groups(t)),
              cc.probe(es, *groups(t))):
        v = cc.validate(es, d)
        assert float(d.vector @ u) > 0.95
        assert abs(v.mean_cosine) < 0.1 and abs(v.norm_spearman) < 0.2 and v.warnings == []
    # a cosine set, its mean taken over unit rows
    cos_es = EmbeddingSet(es.vectors, es.metadata, name="c", metric="cosine")
    v = cc.validate(cos_es, cc.Direction("mean", unit_rows(x).mean(axis=0), "arithmetic"))
    assert v.mean_cosine > 0.999 and any("mean direction" in w for w in v.warnings)


def test_the_length_warning_catches_a_group_difference_that_picked_up_length():
    # long common vector, lengths vary: the groups' mean lengths differ a little by chance,
    # and the mean difference takes that along; the probe (a boundary, not means) does not
    es, u, t = planted(metric="dot", offset=1.5, length_sigma=0.5)
    leaky = cc.from_rows(es, *groups(t))
    v = cc.validate(es, leaky)
    assert float(leaky.vector @ u) > 0.95 and v.norm_spearman > cc.NORM_SPEARMAN_WARN
    assert any("vector length" in w for w in v.warnings)
    assert cc.validate(es, cc.probe(es, *groups(t))).warnings == []


def test_large_groups_are_sampled(monkeypatch, cosine_set):
    es, u, t = cosine_set
    monkeypatch.setattr(cc_groups, "GROUP_SAMPLE", 300)
    monkeypatch.setattr(cc_validity, "SCORE_SAMPLE", 700)
    d = cc.probe(es, *groups(t))
    assert d.definition["trained_on"] == 600 and float(d.vector @ u) > 0.9
    v = cc.validate(es, d, against="strength")
    assert (v.n_a, v.n_b, v.groups_sampled) == (300, 300, True)
    assert (v.rows_scored, v.rows_sampled, v.spearman_rows) == (700, True, 700)


# --- combining ----------------------------------------------------------------------

def test_combine_and_orthogonalise():
    rng = np.random.default_rng(3)
    a, b, c = (cc.Direction(n, rng.normal(size=D), "arithmetic", model="m") for n in "abc")
    diff = cc.combine([(1, a), (-1, b)])
    expected = a.vector.astype(np.float64) - b.vector
    np.testing.assert_allclose(diff.vector, expected / np.linalg.norm(expected), atol=1e-6)
    assert diff.name == "a - b" and diff.method == "arithmetic" and diff.model == "m"
    assert cc.combine([(-0.5, a), (2, c)]).definition["expression"] == "-0.5*a + 2*c"
    ortho = cc.orthogonalise(a, [b, c])
    assert abs(float(ortho.vector @ b.vector)) < 1e-6 and abs(float(ortho.vector @ c.vector)) < 1e-6
    q, _ = np.linalg.qr(np.stack([b.vector, c.vector], axis=1).astype(np.float64))
    residual = a.vector - q @ (q.T @ a.vector)
    np.testing.assert_allclose(ortho.vector, residual / np.linalg.norm(residual), atol=1e-6)
    assert ortho.definition["kept"] == pytest.approx(np.linalg.norm(residual), rel=1e-6)
    with pytest.raises(InputError, match="lies almost entirely in the span of b, c"):
        cc.orthogonalise(cc.combine([(1, b), (0.3, c)], name="bc"), [b, c])
    with pytest.raises(InputError, match="zero vector"):
        cc.combine([(1, a), (-1, a)])
    with pytest.raises(InputError, match="different dimensions"):
        cc.combine([(1, a), (1, cc.Direction("x", [1, 0], "arithmetic", model="m"))])
    with pytest.raises(InputError, match="different models"):
        cc.orthogonalise(a, [cc.Direction("x", b.vector, "arithmetic", model="other")])


def test_directions_refuse_bad_vectors():
    with pytest.raises(InputError, match="zero vector"):
        cc.Direction("z", np.zeros(4), "arithmetic")
    with pytest.raises(InputError, match="NaN"):
        cc.Direction("n", [1.0, np.nan], "arithmetic")
    with pytest.raises(InputError, match="unknown direction method 'magic'"):
        cc.Direction("m", [1.0, 0.0], "magic")


# --- entanglement ---------------------------------------------------------------------

def test_entanglement_of_raw_projections_is_the_cosine_matrix():
    es, u, t = planted(metric="dot")
    rng = np.random.default_rng(9)
    w = cc.Direction("w", u + rng.normal(size=D) * 0.1, "arithmetic")
    r = cc.Direction("r", rng.normal(size=D), "arithmetic")
    dirs = [cc.Direction("u", u, "arithmetic"), w, r]
    e = cc.entanglement(es, dirs, sample=1500)
    v = np.stack([d.vector for d in dirs], axis=1).astype(np.float64)
    np.testing.assert_allclose(e.cosine, v.T @ v, atol=1e-12)
    np.testing.assert_allclose(e.effect, e.cosine)
    assert e.rows == 1500 and e.names == ["u", "w", "r"]
    np.testing.assert_allclose(np.diag(e.spearman), 1.0)
    rows = np.sort(np.random.default_rng(0).choice(N, size=1500, replace=False))
    s = cc.score_matrix(es, dirs, rows)
    assert e.spearman[0, 1] == pytest.approx(stats.spearmanr(s[:, 0], s[:, 1]).statistic)
    assert e.spearman[1, 2] == pytest.approx(stats.spearmanr(s[:, 1], s[:, 2]).statistic)
    assert e.spearman[0, 1] > 0.5 and abs(e.spearman[0, 2]) < e.spearman[0, 1]
    json.dumps(e.to_dict())


def test_entanglement_effect_for_cosine_sets_is_the_mean_score_change():
    es, u, t = planted(n=400, offset=1.0)
    x = np.asarray(es.vectors, dtype=np.float64)
    m = x.mean(axis=0)
    m = m - (m @ u) * u
    m /= np.linalg.norm(m)
    # orthogonal directions, yet moving an item along one changes its cosine with the other,
    # since the item's length changes too
    di = cc.Direction("i", u + m, "arithmetic")
    dj = cc.Direction("j", u - m, "arithmetic")
    e = cc.entanglement(es, [di, dj], sample=400)
    assert abs(e.cosine[0, 1]) < 1e-6 and abs(e.effect[0, 1]) > 0.05
    step = 1e-5
    moved = x + step * di.vector.astype(np.float64)
    change = unit_rows(moved) - unit_rows(x)
    ratio = (change @ dj.vector) / (change @ di.vector)
    assert e.effect[0, 1] == pytest.approx(ratio.mean(), rel=1e-3)
    with pytest.raises(InputError, match="at least two"):
        cc.entanglement(es, [di])


# --- removal ----------------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["dot", "cosine"])
def test_removal_zeroes_the_direction_and_keeps_orthogonal_projections(metric):
    es, u, t = planted(metric=metric, offset=0.5)
    es = stored(es)
    d = cc.from_rows(es, *groups(t), name="planted")
    rng = np.random.default_rng(4)
    v = rng.normal(size=D)
    v = cc.Direction("v", v - (v @ d.vector) * d.vector, "arithmetic")  # orthogonal to d
    assert abs(float(v.vector @ d.vector)) < 1e-6
    entry = cc.remove_directions(es, [d])
    after = Library().open(entry.id)
    assert (after.count, after.dim, after.metric, after.model) == (N, D, metric, es.model)
    assert after.format == "derived" and after.metadata.equals(es.metadata)
    assert any("projected out 'planted'" in note for note in after.notes)
    assert not list(Library().sets_dir.glob(".partial-*"))
    np.testing.assert_allclose(cc.scores(after, d), 0.0, atol=1e-5)
    # raw projections on a direction orthogonal to the removed one do not move
    np.testing.assert_allclose(cc.scores(after, v, raw=True), cc.scores(es, v, raw=True),
                               atol=1e-5)
    if metric == "dot":
        np.testing.assert_allclose(cc.scores(after, v), cc.scores(es, v), atol=1e-5)
    else:
        # lengths shrink, so cosines with other directions grow: x'.v / |x'|
        x2 = np.asarray(after.vectors, dtype=np.float64)
        np.testing.assert_allclose(cc.scores(after, v), unit_rows(x2) @ v.vector, atol=1e-6)
        assert np.abs(cc.scores(after, v)).mean() > np.abs(cc.scores(es, v)).mean()


def test_removing_several_directions_removes_their_span():
    es, u, t = planted(metric="dot")
    es = stored(es)
    rng = np.random.default_rng(1)
    d1 = cc.Direction("u", u, "arithmetic")
    d2 = cc.Direction("mix", u + rng.normal(size=D), "arithmetic")
    d3 = cc.combine([(1, d1), (2, d2)], name="dependent")  # adds no new dimension
    assert cc.removal_basis([d1, d2, d3]).shape == (D, 2)
    after = Library().open(cc.remove_directions(es, [d1, d2, d3], name="less").id)
    assert after.name == "less" and any("2 dimensions removed" in n for n in after.notes)
    np.testing.assert_allclose(cc.score_matrix(after, [d1, d2, d3]), 0.0, atol=1e-5)


def brute_knn(es, row, k):
    x = np.asarray(es.vectors, dtype=np.float64)
    s = unit_rows(x) @ unit_rows(x[row:row + 1])[0] if es.metric == "cosine" else x @ x[row]
    s[row] = -np.inf
    return set(np.argsort(-s, kind="stable")[:k].tolist())


def test_removal_effect_and_side_by_side_against_brute_force():
    es, u, t = planted(n=800, metric="cosine")
    es = stored(es)
    after = Library().open(cc.remove_directions(es, [cc.Direction("u", u, "arithmetic")]).id)
    effect = cc.removal_effect(es, after, sample=40, k=10, seed=2)
    assert effect.rows.size == 40 and effect.overlaps.shape == (40,)
    for row, overlap in zip(effect.rows[:10], effect.overlaps[:10]):
        expected = len(brute_knn(es, row, 10) & brute_knn(after, row, 10)) / 10
        assert overlap == pytest.approx(expected)
    assert effect.mean < 0.95 and effect.median == np.median(effect.overlaps)
    d = effect.to_dict()
    assert sum(d["histogram"]) == 40 and len(d["histogram"]) == 11
    same = cc.removal_effect(es, es, rows=[1, 2, 3], k=5)
    assert same.overlaps.tolist() == [1.0, 1.0, 1.0]
    side = cc.neighbours_side_by_side(es, after, 17, k=8)
    assert set(side.before.rows.tolist()) == brute_knn(es, 17, 8)
    assert set(side.after.rows.tolist()) == brute_knn(after, 17, 8)
    out = side.to_dict(es)
    assert len(out["before"]) == 8 and out["overlap"] == len(side.shared) / 8
    assert all(i["shared"] == (i["row"] in side.shared) for i in out["after"])


@pytest.mark.parametrize("metric", ["dot", "l2"])
def test_removal_effect_other_metrics(metric):
    es, u, t = planted(n=500, metric=metric)
    x = np.asarray(es.vectors, dtype=np.float64)
    es2 = EmbeddingSet((x - np.outer(x @ u, u)).astype(np.float32), es.metadata, name="b",
                       metric=metric)
    effect = cc.removal_effect(es, es2, rows=[0, 5, 9], k=6)
    for row, overlap in zip([0, 5, 9], effect.overlaps):
        if metric == "dot":
            expected = len(brute_knn(es, row, 6) & brute_knn(es2, row, 6)) / 6
        else:
            def l2(xx):
                dist = ((xx - xx[row]) ** 2).sum(1)
                dist[row] = np.inf
                return set(np.argsort(dist, kind="stable")[:6].tolist())
            expected = len(l2(x) & l2(np.asarray(es2.vectors, np.float64))) / 6
        assert overlap == pytest.approx(expected)


# --- persistence --------------------------------------------------------------------

def test_json_round_trip_and_refusals(tmp_path, cosine_set):
    es, u, t = cosine_set
    d = cc.from_where(es, "strength < -0.5", "strength > 0.5", name="strong")
    d.validity = cc.validate(es, d, against="strength")
    path = cc.export_json([d, cc.Direction("u", u, "arithmetic", model=es.model)],
                          tmp_path / "dirs.json")
    back = cc.import_json(path, es)
    assert [b.name for b in back] == ["strong", "u"]
    assert np.array_equal(back[0].vector, d.vector) and back[0].vector.dtype == np.float32
    assert back[0].to_json() == d.to_json()
    assert back[0].validity.heldout_accuracy == d.validity.heldout_accuracy

    def write(obj):
        p = tmp_path / "bad.json"
        p.write_text(json.dumps(obj), encoding="utf-8")
        return p

    good = d.to_json()
    with pytest.raises(InputError, match="64 values but 'dim' says 65"):
        cc.read_json(write({**good, "dim": 65}))
    with pytest.raises(InputError, match="NaN"):
        cc.read_json(write({**good, "vector": [math.nan] + good["vector"][1:]}))
    with pytest.raises(InputError, match="missing vector"):
        cc.read_json(write({k: v for k, v in good.items() if k != "vector"}))
    with pytest.raises(InputError, match="list of numbers"):
        cc.read_json(write({**good, "vector": ["1"] * 64}))
    with pytest.raises(InputError, match="unknown direction method"):
        cc.read_json(write({**good, "method": "guess"}))
    with pytest.raises(InputError, match="no directions"):
        cc.read_json(write({"format": cc.JSON_FORMAT, "directions": []}))
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not a JSON file"):
        cc.read_json(tmp_path / "broken.json")
    # another set's dimension: never; another model: only with force
    small = EmbeddingSet(np.ones((3, 8), np.float32), pa.table({"a": [1, 2, 3]}), name="s",
                         model=es.model)
    with pytest.raises(InputError, match="64 dimensions but the set has 8"):
        cc.import_json(path, small, force=True)
    other = EmbeddingSet(es.vectors, es.metadata, name="o", model="other (sha256 abcdefabcdef)")
    with pytest.raises(InputError, match="only means something in the space of the model"):
        cc.import_json(path, other)
    assert len(cc.import_json(path, other, force=True)) == 2
    unknown = EmbeddingSet(es.vectors, es.metadata, name="u")
    with pytest.raises(InputError, match="an unrecorded model"):
        cc.import_json(path, unknown)


def test_a_direction_is_reusable_on_another_set_of_the_same_model(tmp_path):
    es, u, t = planted(seed=0)
    es = stored(es)
    d = cc.from_rows(es, *groups(t))
    path = cc.export_json([d], tmp_path / "d.json")
    es2, _, _ = planted(seed=0, n=500)  # same model label, other items
    es2 = stored(es2)
    (again,) = cc.import_json(path, es2)
    assert again.set_id == es.library_id != es2.library_id
    # the transient groups belong to the first set: validating on the second needs its own
    v = cc.validate(es2, again, against="strength")
    assert v.heldout_accuracy is None and v.spearman > 0.8 and v.set_id == es2.library_id
    # a set without a model label accepts directions made on itself
    bare = stored(EmbeddingSet(es.vectors, es.metadata, name="bare", metric="cosine"))
    own = cc.from_rows(bare, *groups(t))
    assert own.model is None
    assert len(cc.import_json(cc.export_json([own], tmp_path / "own.json"), bare)) == 1


def test_directions_are_saved_with_the_set():
    es, u, t = planted()
    es = stored(es)
    a, b = groups(t)
    store = cc.DirectionStore(es)
    assert store.list() == []
    d = cc.from_where(es, "\"group\" = 'a'", "\"group\" = 'b'", name="a to b")
    d.validity = cc.validate(es, d, against="strength")
    store.save(d)
    store.save(cc.Direction("a-to-b", u, "arithmetic", model=es.model))  # the same key
    store.save(cc.probe(es, a[:50], b[:50], name="small probe"))
    reopened = cc.DirectionStore(Library().open(es.library_id))
    assert reopened.names() == ["a to b", "a-to-b", "small probe"]
    got = reopened.get("a to b")
    assert np.array_equal(got.vector, d.vector) and got.to_json() == d.to_json()
    assert got.groups is None
    # validating a saved direction finds its groups again from the filters, or the kept rows
    again = Library().open(es.library_id)
    assert cc.validate(again, got).heldout_accuracy == d.validity.heldout_accuracy
    small = reopened.get("small probe")
    assert small.definition["rows_a"] == a[:50].tolist()
    assert cc.validate(again, small).n_a == 50
    with pytest.raises(InputError, match="already saved"):
        reopened.save(got, replace=False)
    got.label_b = "the b group"
    reopened.save(got)
    assert reopened.get("a to b").label_b == "the b group" and len(reopened.list()) == 3
    reopened.delete("a-to-b")
    assert reopened.names() == ["a to b", "small probe"]
    with pytest.raises(InputError, match="no direction named 'a-to-b'"):
        reopened.get("a-to-b")
    with pytest.raises(InputError, match="not in the library"):
        cc.DirectionStore(planted(n=10)[0])


# --- text poles -----------------------------------------------------------------------

@pytest.fixture
def tiny_text_set(tmp_path):
    from explorer.compute.encoding.model_folder import models_dir
    from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs

    write_folder(models_dir() / "tiny", bert_like(dim=16))
    rng = np.random.default_rng(5)
    words = ["the", "cat", "dog", "sat", "on", "mat", "runs", "fast", "slow", "red", "blue"]
    texts = [" ".join(rng.choice(words, rng.integers(2, 8))) for _ in range(300)]
    texts += ["slow red cat", "fast blue dog"]
    path = tmp_path / "texts.csv"
    path.write_text("title\n" + "\n".join(texts) + "\n", encoding="utf-8")
    result = encode_inputs([path], EncodeOptions(model="tiny", column="title"))
    return Library().open(result.entry.id)


def test_text_poles_are_encoded_by_the_set_s_model(tiny_text_set):
    from explorer.compute.encoding.model_folder import models_dir
    from explorer.compute.encoding.text_encoder import TextEncoder

    es = tiny_text_set
    poles_a, poles_b = ["slow red cat", "red cat sat"], ["fast blue dog", "  ", "blue dog runs"]
    d = cc.from_texts(es, poles_a, poles_b)
    enc = TextEncoder(models_dir() / "tiny")
    va = unit_rows(enc.encode(poles_a, kind="document")).mean(axis=0)
    vb = unit_rows(enc.encode(["fast blue dog", "blue dog runs"], kind="document")).mean(axis=0)
    np.testing.assert_allclose(d.vector, (vb - va) / np.linalg.norm(vb - va), atol=1e-6)
    assert d.method == "texts" and d.model == es.model and d.dim == 16
    assert d.definition == {"texts_a": poles_a, "texts_b": ["fast blue dog", "blue dog runs"]}
    assert d.label_a == "slow red cat / red cat sat"
    s = cc.scores(es, d)
    texts = es.metadata.column(es.text_column).to_pylist()
    assert s[texts.index("fast blue dog")] > s[texts.index("slow red cat")]
    v = cc.validate(es, d)
    assert v.pole_texts == 4 and v.pole_accuracy is not None and v.heldout_accuracy is None
    with pytest.raises(InputError, match="pole A has no text"):
        cc.from_texts(es, ["", " "], ["dog"])


def test_text_poles_need_the_set_s_model(cosine_set):
    es, _, _ = cosine_set
    bare = EmbeddingSet(es.vectors, es.metadata, name="bare")
    with pytest.raises(InputError, match="it records no model"):
        cc.from_texts(bare, ["a"], ["b"])
    with pytest.raises(InputError, match="is not installed"):
        cc.from_texts(es, ["a"], ["b"])  # 'synthetic (sha256 …)' is nowhere to be found


@needs_minilm
def test_minilm_poles_order_sentences_by_sentiment():
    from explorer.compute.encoding.catalogue import install_model
    from explorer.compute.encoding.set_model import model_label
    from explorer.compute.encoding.text_encoder import TextEncoder

    folder = install_model("minilm")
    sentences = ["I hated this film", "I loved this film", "The film was shown on Tuesday",
                 "What a dreadful, boring movie", "A wonderful, moving film"]
    vectors = TextEncoder(folder).encode(sentences, kind="document")
    es = EmbeddingSet(vectors, pa.table({"text": sentences}), name="reviews",
                      model=model_label(folder), text_column="text")
    d = cc.from_texts(es, ["terrible", "awful"], ["wonderful", "excellent"])
    s = dict(zip(sentences, cc.scores(es, d)))
    assert s["I hated this film"] < s["I loved this film"]
    assert s["What a dreadful, boring movie"] < s["A wonderful, moving film"]
    assert cc.validate(es, d).pole_accuracy == 1.0
