"""Clusters of a map (explorer.compute.clusters): the levels nest, HDBSCAN's own choice is the
finest level, labels sit on their clusters, names come from the words that set a cluster
apart, results are cached with the map and made again when the map changes."""

from __future__ import annotations

import fast_hdbscan
import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import clusters as cl
from explorer.compute.clusters import naming, tree
from explorer.compute.projection import Projection, ProjectionParams
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

TOPICS = ["audio", "kernel", "font", "python", "game", "network", "printer", "camera"]


def blobs(seed: int = 0, per: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """Eight blobs of varied spread in two far groups of four, plus a sprinkle of noise."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [4, 0], [0, 4], [4, 4], [30, 30], [34, 30], [30, 34], [34, 34]])
    spread = np.array([0.5, 0.8, 0.6, 1.0, 0.5, 0.7, 0.9, 0.6])
    topic = np.repeat(np.arange(8), per)
    pts = centres[topic] + rng.normal(size=(topic.size, 2)) * spread[topic, None]
    noise = rng.uniform(-5, 40, size=(60, 2))
    return np.vstack([pts, noise]).astype(np.float32), np.concatenate([topic, np.full(60, -1)])


def texts_for(topic: np.ndarray, seed: int = 0) -> list[str]:
    """Texts that say their topic's word most of the time, among words everyone says."""
    rng = np.random.default_rng(seed)
    filler = ["tool", "package", "files", "support", "library", "data", "simple", "the", "and"]
    out = []
    for t in topic:
        words = list(rng.choice(filler, 5))
        if t >= 0 and rng.random() < 0.8:
            words.insert(int(rng.integers(0, 5)), TOPICS[t])
        out.append(" ".join(words))
    return out


def text_set(coords: np.ndarray, texts: list[str], **columns) -> EmbeddingSet:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(len(texts), 8)).astype(np.float32)
    meta = pa.table({"description": texts, **columns})
    return EmbeddingSet(vectors=vectors, metadata=meta, name="t", text_column="description")


def test_the_finest_level_is_hdbscans_own_choice():
    coords, _ = blobs()
    found = tree.condensed_tree(coords, 20)
    ours = tree.members(found, tree.select(found))
    theirs = fast_hdbscan.fast_hdbscan(coords.astype(np.float64), min_samples=tree.MIN_SAMPLES,
                                       min_cluster_size=20)[0]
    assert ours.max() >= 5  # a real choice, not one cluster
    assert np.array_equal(ours < 0, theirs < 0)
    pairs = set(zip(ours[ours >= 0].tolist(), theirs[theirs >= 0].tolist()))
    assert len(pairs) == ours.max() + 1 == theirs.max() + 1  # the same partition


def test_levels_nest_coarse_to_fine_and_find_the_blobs():
    coords, topic = blobs()
    es = text_set(coords, texts_for(topic))
    result = cl.cluster_map(es, coords, cl.ClusterParams(min_cluster_size=20))
    assert len(result.levels) >= 2
    a = np.asarray(result.assignments)
    assert a.shape == (coords.shape[0], len(result.levels)) and a.dtype == np.int32
    for upper, lower in zip(result.levels, result.levels[1:]):
        assert len(upper.clusters) < len(lower.clusters)
        for c in lower.clusters:
            rows = result.rows(lower.level, c.id)
            assert rows.size == c.count
            assert set(a[rows, upper.level].tolist()) == {c.parent}  # inside its parent
    for lv in result.levels:
        ids = [c.id for c in lv.clusters]
        assert ids == list(range(len(ids)))
        assert [c.count for c in lv.clusters] == sorted((c.count for c in lv.clusters),
                                                        reverse=True)
        assert all(c.parent is None for c in lv.clusters) == (lv.level == 0)
        assert lv.noise_fraction == pytest.approx(np.mean(a[:, lv.level] < 0))
    fine = a[:, -1]
    for t in range(8):  # each blob is mostly one fine cluster
        assert np.bincount(fine[topic == t][fine[topic == t] >= 0]).max() > 0.8 * 150
    # the coarsest level puts the two far groups of four apart
    top = a[:, 0]
    assert not set(top[(topic >= 0) & (topic < 4)]) & set(top[topic >= 4]) - {-1}


def test_names_are_the_words_that_set_a_cluster_apart():
    coords, topic = blobs()
    es = text_set(coords, texts_for(topic))
    result = cl.cluster_map(es, coords, cl.ClusterParams(min_cluster_size=20))
    fine = result.levels[-1]
    labels = result.column(fine.level)
    named = set()
    for c in fine.clusters:
        main = np.bincount(topic[labels == c.id][topic[labels == c.id] >= 0]).argmax()
        assert c.terms[0] == TOPICS[main]  # not "library", "tool": everyone says those
        assert c.label.startswith(TOPICS[main]) and len(c.terms) <= cl.TOP_TERMS
        assert "the" not in c.terms and "and" not in c.terms  # stop words
        named.add(c.terms[0])
    assert named == set(TOPICS)
    coverage = cl.term_coverage(es.metadata.column("description").to_pylist(), labels, fine)
    assert min(coverage) > 0.6


def test_the_first_term_is_one_most_of_the_cluster_says():
    """A rare word held by a few members scores high per text, but the name starts with the
    word a good part of the cluster holds."""
    texts = ["zebra audio"] * 2 + ["audio"] * 8 + ["audio thing"] * 50 + ["other thing"] * 40
    words = naming.words_of(texts)
    labels = np.array([0] * 10 + [-1] * 90)
    share = {"zebra": 0.2, "audio": 1.0}
    freq = {"zebra": 2, "audio": 60}
    score = {w: share[w] * np.log1p(10 / freq[w]) for w in share}
    assert score["zebra"] > score["audio"]  # by score alone the rare word would lead
    assert naming.distinguishing_terms(words, labels, 1)[0][:2] == ("audio", "zebra")


def test_categories_name_clusters_when_asked_for():
    coords, topic = blobs()
    section = [("games" if t == 4 else "net") if t >= 0 else None for t in topic]
    es = text_set(coords, texts_for(topic), section=section)
    result = cl.cluster_map(es, coords, cl.ClusterParams(column="section", min_cluster_size=20))
    assert result.named_by == "category:section"
    labels = result.column(result.levels[-1].level)
    game = np.bincount(labels[topic == 4][labels[topic == 4] >= 0]).argmax()
    c = result.levels[-1].clusters[game]
    share = np.mean(np.array(section, dtype=object)[labels == game] == "games")
    assert c.label == f"section: games ({share:.0%})" and c.terms[0] == "games"


def test_a_set_without_text_asks_which_column_names_its_clusters():
    coords, topic = blobs()
    meta = pa.table({"section": [str(t) for t in topic], "size": np.arange(topic.size) * 1.5})
    es = EmbeddingSet(vectors=np.zeros((topic.size, 4), np.float32) + 1, metadata=meta, name="x")
    with pytest.raises(InputError) as err:
        cl.cluster_map(es, coords)
    assert err.value.option == "column" and err.value.choices == ("section",)
    with pytest.raises(InputError, match="column sektion: no such column"):
        cl.cluster_map(es, coords, cl.ClusterParams(column="sektion"))
    with pytest.raises(InputError, match="neither text nor categories"):
        cl.cluster_map(es, coords, cl.ClusterParams(column="size"))
    bare = EmbeddingSet(vectors=es.vectors, metadata=pa.table({"n": np.arange(topic.size) * .5}),
                        name="bare")
    result = cl.cluster_map(bare, coords, cl.ClusterParams(min_cluster_size=20))
    assert result.named_by == "" and result.levels[0].clusters[0].label == "cluster 0"


def test_a_label_sits_on_its_cluster_not_in_an_empty_middle():
    rng = np.random.default_rng(3)
    angle = rng.uniform(0, np.pi, 600)  # a crescent: its centroid is off the points
    crescent = np.c_[np.cos(angle), np.sin(angle)] * 10 + rng.normal(size=(600, 2)) * 0.3
    blob = rng.normal(size=(300, 2)) * 0.5 + [30, 0]
    coords = np.vstack([crescent, blob]).astype(np.float32)
    topic = np.repeat([0, 1], [600, 300])
    es = text_set(coords, texts_for(topic))
    result = cl.cluster_map(es, coords, cl.ClusterParams(min_cluster_size=50))
    for lv in result.levels:
        for c in lv.clusters:
            members = coords[result.rows(lv.level, c.id)]
            assert np.any(np.all(members == [c.x, c.y], axis=1))  # a member's place
    fine = result.levels[-1]
    on_arc = result.column(fine.level)[:600]
    arc = fine.clusters[np.bincount(on_arc[on_arc >= 0]).argmax()]
    assert arc.count >= 500
    centroid = coords[result.rows(fine.level, arc.id)].mean(axis=0)
    assert abs(np.hypot(*centroid) - 10) > 3      # the centroid is off the arc ...
    assert abs(np.hypot(arc.x, arc.y) - 10) < 1.5  # ... the label on it


def test_the_same_map_gives_the_same_clusters():
    coords, topic = blobs(seed=5)
    es = text_set(coords, texts_for(topic))
    one, two = (cl.cluster_map(es, coords, cl.ClusterParams(min_cluster_size=20))
                for _ in range(2))
    assert np.array_equal(one.assignments, two.assignments)
    assert one.to_dict() == two.to_dict()


def test_cached_with_the_map_and_made_again_when_the_map_changes():
    coords, topic = blobs()
    lib = Library()
    shuffled = texts_for(topic, seed=1)[::-1]
    es = lib.open(lib.import_set(text_set(coords, texts_for(topic), other=shuffled)).id)
    params = ProjectionParams(method="pca")
    projection = Projection(coords, params, 0.0)
    wanted = cl.ClusterParams(min_cluster_size=20)
    first = cl.cached_cluster_map(es, projection, wanted)
    assert first.info["cached"] is False and first.map_key == params.key()
    second = cl.cached_cluster_map(es, projection, wanted)
    assert second.info["cached"] is True
    assert second.to_dict() == first.to_dict()
    assert np.array_equal(second.assignments, first.assignments)
    other = cl.cached_cluster_map(es, projection, cl.ClusterParams(min_cluster_size=40))
    assert other.info["cached"] is False  # other parameters: another artefact
    order = np.random.default_rng(0).permutation(len(coords))
    moved = Projection(coords[order], params, 0.0)  # the same key, other coordinates
    again = cl.cached_cluster_map(es, moved, wanted)
    assert again.info["cached"] is False
    assert cl.cached_cluster_map(es, moved, wanted).info["cached"] is True
    assert cl.cached_cluster_map(es, projection, wanted).info["cached"] is False
    es.text_column = "other"  # what `column=None` names by changed: named again
    renamed = cl.cached_cluster_map(es, projection, wanted)
    assert renamed.info["cached"] is False and renamed.named_by == "terms:other"


def test_cancel_stops_the_job_and_bad_coordinates_are_refused():
    coords, topic = blobs()
    es = text_set(coords, texts_for(topic))
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        cl.cluster_map(es, coords, cl.ClusterParams(min_cluster_size=20), state)
    with pytest.raises(InputError, match="2-D map"):
        cl.cluster_map(es, np.zeros((coords.shape[0], 3), np.float32))
    with pytest.raises(InputError, match="2-D map"):
        cl.cluster_map(es, coords[:-1])
    bad = coords.copy()
    bad[3, 0] = np.nan
    with pytest.raises(InputError, match="not finite"):
        cl.cluster_map(es, bad)
    with pytest.raises(InputError):
        cl.ClusterParams(levels=1)


def test_level_targets_and_sizes():
    assert cl.auto_min_cluster_size(5_000) == 10 and cl.auto_min_cluster_size(100_000) == 100
    assert cl.level_targets(100, 2) == [10]
    assert cl.level_targets(100, 3) == [10, 32]
    assert cl.level_targets(10_000, 2) == [30]  # at most MAX_COARSE on the coarsest level
    assert cl.level_targets(1, 3) == []


def test_warm_up_runs_the_kernels_on_a_tiny_map():
    assert cl.warm_up() >= 0.0


def test_tiny_sets_and_stacked_points_give_what_there_is():
    for n in (0, 1, 2, 30):
        es = text_set(np.zeros((n, 2), np.float32), ["a word here"] * n)
        result = cl.cluster_map(es, np.random.default_rng(0).normal(size=(n, 2)))
        assert result.assignments.shape[0] == n and len(result.levels) == 1
        assert result.levels[0].clusters == () and np.all(np.asarray(result.assignments) == -1)
    stacked = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0]], np.float32), 100, axis=0)
    es = text_set(stacked, ["a word here"] * 200)  # every point on one of two spots
    result = cl.cluster_map(es, stacked)
    assert sorted((c.x, c.y, c.count) for c in result.levels[-1].clusters) == [
        (0.0, 0.0, 100), (5.0, 5.0, 100)]


def test_a_text_column_of_a_few_short_values_names_clusters_by_category():
    """A set whose only text is a label like "group-04" (vectors brought with a category
    column): its words are the same in every cluster, so its values name them."""
    coords, topic = blobs()
    group = [f"group-{t:02d}" if t >= 0 else "group-99" for t in topic]
    es = text_set(coords, group)
    result = cl.cluster_map(es, coords, cl.ClusterParams(min_cluster_size=20))
    assert result.named_by == "category:description"
    labels = result.column(result.levels[-1].level)
    game = np.bincount(labels[topic == 4][labels[topic == 4] >= 0]).argmax()
    assert result.levels[-1].clusters[game].label.startswith("description: group-04 (")
    assert len({c.label for c in result.levels[-1].clusters}) == len(result.levels[-1].clusters)
    prose = text_set(coords, texts_for(topic))  # free text still names by its words
    assert cl.cluster_map(prose, coords, cl.ClusterParams(min_cluster_size=20)).named_by == \
        "terms:description"


def test_a_text_column_with_no_text_numbers_its_clusters_rather_than_naming_them_empty():
    coords, topic = blobs()
    for values in ([None] * topic.size, [""] * topic.size):
        es = text_set(coords, values)
        result = cl.cluster_map(es, coords, cl.ClusterParams(min_cluster_size=20))
        assert result.named_by == "terms:description"
        assert all(c.label.startswith("cluster ") for c in result.levels[-1].clusters)
