"""The map of a sharded set: fitted on a sample and the rest placed, reading rows from the
shards (compute/projection reads `vectors[rows]` and slices, which ShardedVectors serves)."""

from __future__ import annotations

import numpy as np

from explorer.compute.projection import ProjectionParams, cached_project, project
from explorer.core.library import Library
from explorer.core.shard_import import import_shards

from shard_writer import clustered, write_shards


def test_a_sharded_sets_map_is_the_same_map_as_its_vectors_in_one_array(tmp_path):
    x = clustered(6000, 24, seed=4)
    write_shards(tmp_path / "s", x, 4, "arrow")
    es = Library().open(import_shards(Library(), [tmp_path / "s"], layout="sharded").id)
    # fit-and-place: a seeded fit under PARALLEL_MIN rows is deterministic (a refine's
    # epochs on every row run on every core, not bit-identical between runs)
    for params in (ProjectionParams(method="umap", sample=1500, seed=0, refine=False),
                   ProjectionParams(method="pca")):
        got = cached_project(es, params).coords
        want = project(x, params).coords
        assert got.shape == (6000, 2) and np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        assert cached_project(es, params).coords.tobytes() == got.tobytes()  # cached
