"""Issue 17's bar for map labels, on real texts: the docstrings of a part of the running
Python's standard library (read with ast, as the demo does), embedded with the demo's LSA
and mapped with UMAP.

At least two levels, 8-300 finest clusters, at most 40% of the items in none, the first term
of at least 80% of the finest labels in at least 30% of the cluster's texts, and every level
tighter in the original space than random groups of the same sizes. A control with the
same cluster sizes drawn at random fails the same bar, so the measures can tell.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import clusters as cl
from explorer.compute import demo
from explorer.compute.projection import ProjectionParams, project
from explorer.core.embedding_set import EmbeddingSet

PACKAGES = ["email", "asyncio", "xml", "json", "http", "urllib", "unittest", "multiprocessing",
            "concurrent", "importlib", "logging", "sqlite3", "tkinter", "curses", "dbm", "html",
            "wsgiref", "ctypes", "zoneinfo", "collections"]


@pytest.fixture(scope="module")
def docstrings() -> tuple[EmbeddingSet, np.ndarray]:
    root = demo.stdlib_path()
    tables = [demo.collect_docstrings(root / p) for p in PACKAGES if (root / p).is_dir()]
    table = pa.concat_tables([t for t in tables if t.num_rows])
    assert table.num_rows > 1000  # enough of the standard library was found
    vectors = demo.embed_docstrings(table)
    coords = project(vectors, ProjectionParams(method="umap", seed=0)).coords
    es = EmbeddingSet(vectors=vectors, metadata=table, name="stdlib part", text_column="summary")
    return es, np.asarray(coords)


def bar(es: EmbeddingSet, result: cl.ClusterMap, labels_per_level: list[np.ndarray]) -> dict:
    texts = es.metadata.column("summary").to_pylist()
    fine = result.levels[-1]
    coverage = np.array(cl.term_coverage(texts, labels_per_level[-1], fine))
    return {
        "levels": len(result.levels),
        "fine": len(fine.clusters),
        "noise": fine.noise_fraction,
        "covered": float(np.mean(coverage >= 0.3)),
        "tightness": [cl.tightness(es.vectors, lab) for lab in labels_per_level],
    }


def test_labels_of_real_docstrings_meet_the_bar(docstrings):
    es, coords = docstrings
    result = cl.cluster_map(es, coords)
    found = bar(es, result, [result.column(lv.level) for lv in result.levels])
    assert found["levels"] >= 2
    assert 8 <= found["fine"] <= 300
    assert found["noise"] <= 0.40
    assert found["covered"] >= 0.80, found
    for tight in found["tightness"]:
        assert tight.clusters > 1.5 * tight.random, tight


def test_every_level_names_a_cluster_by_a_word_it_mostly_says_whenever_one_exists(docstrings):
    """Coverage on the coarse levels is bounded by the clusters (big mixed groups of short
    texts share no word), not by the naming: wherever some word is in 30% of a cluster's
    texts, its name starts with such a word."""
    es, coords = docstrings
    result = cl.cluster_map(es, coords)
    texts = es.metadata.column("summary").to_pylist()
    reachable_per_level = []
    for level in result.levels:
        labels = result.column(level.level)
        coverage = np.array(cl.term_coverage(texts, labels, level))
        ceiling = cl.coverage_ceiling(texts, labels, len(level.clusters))
        assert np.all(coverage <= ceiling + 1e-9)
        whole = np.array(cl.term_coverage(texts, labels, level, first_only=False))
        assert np.all(whole >= coverage) and np.mean(whole >= 0.3) >= np.mean(coverage >= 0.3)
        reachable = ceiling >= 0.3
        reachable_per_level.append(int(reachable.sum()))
        assert np.all(coverage[reachable] >= 0.3), (level.level, coverage, ceiling)
    # not vacuous: the finer levels have clusters with such a word (the coarsest may have
    # none: 8 mixed groups of short texts, no word in 30% of any, under UMAP version 4)
    assert reachable_per_level[-1] >= len(result.levels[-1].clusters) // 2, reachable_per_level


def test_random_groups_of_the_same_sizes_fail_it(docstrings):
    """The control: the same levels with the rows shuffled (sizes, names and noise kept)."""
    es, coords = docstrings
    result = cl.cluster_map(es, coords)
    order = np.random.default_rng(0).permutation(es.count)
    shuffled = [result.column(lv.level)[order] for lv in result.levels]
    found = bar(es, result, shuffled)
    assert found["covered"] < 0.5
    assert all(t.clusters < 1.2 * t.random for t in found["tightness"])
