"""Labels of a big map (explorer.compute.clusters): above SAMPLE_ABOVE points the map is
clustered and named on a draw of its points and every other point takes its nearest drawn
point's cluster. The clusters, the share in none and the names must carry to the whole map;
a map up to the threshold is clustered whole, exactly as HDBSCAN clusters it."""

from __future__ import annotations

import fast_hdbscan
import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_rand_score
from umap_like import texts_of, umap_like, vocabulary

from explorer.compute import clusters as cl
from explorer.compute.clusters import naming, run, tree
from explorer.compute.numba import one_launch
from explorer.compute.projection import Projection, ProjectionParams
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

N, DRAWN = 60_000, 12_000  # a fifth, as 200k of a 1M map


def labelled_set(n: int, seed: int = 5, clusters: int = 120) -> tuple[EmbeddingSet, np.ndarray]:
    shape = umap_like(n, clusters=clusters, seed=seed)
    texts = texts_of(shape, vocabulary(2000), seed=seed)
    rng = np.random.default_rng(seed)
    vectors = (rng.normal(size=(clusters + 1, 16))[shape.topic + 1]
               + rng.normal(size=(n, 16))).astype(np.float32)
    es = EmbeddingSet(vectors=vectors, metadata=pa.table({"description": texts}), name="big",
                      text_column="description")
    return es, shape.coords


@pytest.fixture(scope="module")
def both_ways():
    es, coords = labelled_set(N)
    return es, coords, cl.cluster_map(es, coords, sample=N), cl.cluster_map(es, coords,
                                                                             sample=DRAWN)


def test_a_map_up_to_the_threshold_is_clustered_whole_as_hdbscan_does():
    es, coords = labelled_set(4000, clusters=30)
    result = cl.cluster_map(es, coords)  # 4,000 <= SAMPLE_ABOVE
    assert "sampled" not in result.info
    fine = result.column(len(result.levels) - 1)
    with one_launch(threads=1):  # as the labels run it: two threads break ties at random
        theirs = fast_hdbscan.fast_hdbscan(coords.astype(np.float64),
                                           min_samples=tree.MIN_SAMPLES,
                                           min_cluster_size=cl.auto_min_cluster_size(4000))[0]
    assert np.array_equal(fine < 0, theirs < 0)
    pairs = set(zip(fine[fine >= 0].tolist(), theirs[theirs >= 0].tolist()))
    assert len(pairs) == fine.max() + 1 == theirs.max() + 1  # the same partition
    words = naming.words_of(es.metadata.column("description").to_pylist())  # every text
    terms = naming.distinguishing_terms(words, fine, int(fine.max()) + 1)
    assert [c.terms for c in result.levels[-1].clusters] == terms


def test_a_sampled_map_finds_the_same_clusters_and_the_same_share_in_none(both_ways):
    _, _, whole, sampled = both_ways
    assert sampled.info["sampled"] == DRAWN and "sampled" not in whole.info
    a, b = whole.column(len(whole.levels) - 1), sampled.column(len(sampled.levels) - 1)
    in_both = (a >= 0) & (b >= 0)
    # measured: adjusted Rand 0.986 among the rows in a cluster both ways, 0.82 with the
    # rows in none as one more cluster; 94% agree on being in none; 9.3% vs 10.3% in none
    assert adjusted_rand_score(a[in_both], b[in_both]) >= 0.95
    assert adjusted_rand_score(a, b) >= 0.7
    assert np.mean((a < 0) == (b < 0)) >= 0.9
    assert abs(whole.noise_fraction - sampled.noise_fraction) <= 0.02
    assert abs(len(sampled.levels[-1].clusters) - len(whole.levels[-1].clusters)) \
        <= 0.1 * len(whole.levels[-1].clusters)


def test_a_sampled_map_is_a_whole_labelling_of_every_row(both_ways):
    _, coords, _, sampled = both_ways
    rows = run.sample_rows(N, DRAWN)
    assert rows.size == DRAWN and np.all(np.diff(rows) > 0)
    a = np.asarray(sampled.assignments)
    for upper, lower in zip(sampled.levels, sampled.levels[1:]):
        for c in lower.clusters:
            members = sampled.rows(lower.level, c.id)
            assert members.size == c.count  # sizes count every row, not the drawn ones
            assert set(a[members, upper.level].tolist()) == {c.parent}
    for lv in sampled.levels:
        assert lv.noise_fraction == pytest.approx(np.mean(a[:, lv.level] < 0))
        for c in lv.clusters:  # the label sits on one of its drawn members
            own = np.intersect1d(sampled.rows(lv.level, c.id), rows)
            assert np.min(np.hypot(*(coords[own] - (c.x, c.y)).T)) == pytest.approx(0, abs=1e-5)
    # a row not drawn has the cluster of the drawn row nearest to it on the map
    rest = np.setdiff1d(np.arange(N), rows)[:500]
    nearest = rows[np.argmin(((coords[rest, None] - coords[None, rows]) ** 2).sum(-1), axis=1)]
    assert np.array_equal(a[rest, -1], a[nearest, -1])


def test_a_sampled_map_is_named_by_what_all_its_texts_say(both_ways):
    es, _, whole, sampled = both_ways
    texts = es.metadata.column("description").to_pylist()
    covered = []
    for result in (whole, sampled):
        fine = result.levels[-1]
        share = np.array(cl.term_coverage(texts, result.column(fine.level), fine))
        covered.append(float(np.mean(share >= 0.3)))
    # measured: the first term is in 30% of its cluster's texts (all of them, not the
    # drawn ones) for 100% of the fine labels whole and 95% sampled
    assert covered[1] >= 0.9 and covered[1] >= covered[0] - 0.08, covered


def test_a_sampled_map_is_named_from_a_bigger_draw_of_texts_than_it_is_clustered_on():
    es, coords = labelled_set(6000, clusters=30)
    result = cl.cluster_map(es, coords, sample=1500, name_sample=3000)
    assert (result.info["sampled"], result.info["named_from"]) == (1500, 3000)
    rows = run.sample_rows(6000, 3000)
    texts = es.metadata.column("description").take(rows).to_pylist()
    fine = result.column(len(result.levels) - 1)
    terms = naming.distinguishing_terms(naming.words_of(texts), fine[rows], int(fine.max()) + 1)
    assert [c.terms for c in result.levels[-1].clusters] == terms
    # a draw to name from never smaller than the one clustered; the default names from all
    assert cl.cluster_map(es, coords, sample=1500, name_sample=100).info["named_from"] == 1500
    assert cl.cluster_map(es, coords, sample=1500).info["named_from"] == 6000


def test_a_sampled_map_gives_the_same_labels_every_time():
    es, coords = labelled_set(3000, clusters=20)
    one, two = (cl.cluster_map(es, coords, sample=1000) for _ in range(2))
    assert np.array_equal(one.assignments, two.assignments)
    assert one.to_dict() == two.to_dict()


def test_a_sampled_map_says_so_and_can_be_cancelled_after_the_clustering():
    es, coords = labelled_set(3000, clusters=20)
    said: list[str] = []
    state = TaskState(on_status=said.append)
    state.progress = lambda done, total=1.0: state.cancel() if done >= 0.35 else None
    with pytest.raises(Cancelled):
        cl.cluster_map(es, coords, sample=1000, state=state)
    assert said == ["Finding clusters in the map of 3,000 items (on 1,000 of them)"]


def test_the_smallest_cluster_shrinks_with_the_draw_but_not_below_ten():
    assert run.sample_size(1000, 200_000, 1_000_000) == 200
    assert run.sample_size(20, 200_000, 1_000_000) == 10
    assert run.sample_size(20, 5000, 5000) == 20


def test_a_big_map_has_its_own_cache_key_and_small_ones_keep_theirs(monkeypatch):
    params = cl.ClusterParams()
    small = run.cache_key("umap-x", params, "terms:d", run.SAMPLE_ABOVE)
    assert small == run.cache_key("umap-x", params, "terms:d")  # cached labels still hold
    big = run.cache_key("umap-x", params, "terms:d", run.SAMPLE_ABOVE + 1)
    assert big != small
    monkeypatch.setattr(run, "SAMPLING_VERSION", run.SAMPLING_VERSION + 1)
    assert run.cache_key("umap-x", params, "terms:d", run.SAMPLE_ABOVE + 1) != big
    assert run.cache_key("umap-x", params, "terms:d", run.SAMPLE_ABOVE) == small


def test_a_cached_big_map_is_made_again_after_the_sampling_changes(monkeypatch, tmp_path):
    es, coords = labelled_set(3000, clusters=20)
    library = Library(tmp_path / "lib")
    stored = library.open(library.import_set(es).id)
    projection = Projection(coords, ProjectionParams(method="pca"), 0.0)
    monkeypatch.setattr(run, "SAMPLE_ABOVE", 1000)  # 3,000 points are a big map now
    first = cl.cached_cluster_map(stored, projection)
    assert first.info["cached"] is False and first.info["sampled"] == 1000
    assert cl.cached_cluster_map(stored, projection).info["cached"] is True
    monkeypatch.setattr(run, "SAMPLING_VERSION", run.SAMPLING_VERSION + 1)
    assert cl.cached_cluster_map(stored, projection).info["cached"] is False
