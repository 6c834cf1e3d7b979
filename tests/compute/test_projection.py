"""Maps: PCA equals scikit-learn, UMAP/t-SNE are trustworthy, stream partial layouts and cancel.

Real data: scikit-learn's digits (1797 x 64, ships with scikit-learn). UMAP's
kernels are compiled once per installation (numba cache), so only the first
run on a machine pays for compilation.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness

from explorer.compute import numba as numba_setup
from explorer.compute.warm_up import warm_up
from explorer.compute.projection import (
    Projection, ProjectionParams, algorithm_version, cached_project, default_params, project,
    run_projection)
from explorer.core.artifacts import ArtifactStore, check_name
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    d = load_digits()
    return d.data.astype(np.float32), d.target


@pytest.fixture(scope="module")
def umap_run(digits):
    """One UMAP of digits, with every partial layout and progress value recorded."""
    x, _ = digits
    partials, fractions = [], []
    state = TaskState(on_progress=fractions.append, on_partial=partials.append)
    result = project(x, ProjectionParams(method="umap", metric="euclidean"), state)
    return result, partials, fractions


# --- parameters --------------------------------------------------------------------------

def test_params_validate_and_normalise():
    assert ProjectionParams(metric="l2").metric == "euclidean"
    assert ProjectionParams(metric="dot").metric == "euclidean"
    for bad in (dict(method="mds"), dict(dims=4), dict(metric="hamming"), dict(sample=1),
                dict(n_neighbors=1), dict(perplexity=0)):
        with pytest.raises(ValueError):
            ProjectionParams(**bad)


def test_key_is_stable_safe_and_versioned():
    p = ProjectionParams(method="umap", n_neighbors=30)
    key = p.key()
    check_name(key)
    assert key.startswith(f"umap-2d-v{algorithm_version('umap')}-")
    code = ("from explorer.compute.projection import ProjectionParams as P;"
            "print(P(method='umap', n_neighbors=30).key())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert other == key                                           # stable across processes
    assert ProjectionParams(method="umap", n_neighbors=30, perplexity=5).key() == key  # irrelevant
    assert ProjectionParams(method="umap", n_neighbors=31).key() != key
    assert ProjectionParams(method="umap", n_neighbors=30, seed=1).key() != key
    assert ProjectionParams(method="umap", n_neighbors=30, dims=3).key() != key
    assert ProjectionParams(method="umap", n_neighbors=30, metric="euclidean").key() != key
    assert ProjectionParams(method="pca").key() != ProjectionParams(method="pca", sample=10).key()


def test_default_params():
    assert default_params(2, 10) == ProjectionParams(method="identity", dims=2)
    assert default_params(3, 10).method == "identity" and default_params(3, 10).dims == 3
    assert default_params(1, 10).method == "identity"
    assert default_params(384, 1_000_000).method == "pca"
    assert default_params(384, 10, metric="l2").metric == "euclidean"


# --- identity and PCA ----------------------------------------------------------------------

def test_identity():
    xy = np.random.default_rng(0).normal(size=(50, 2))
    got = project(xy, ProjectionParams(method="identity"))
    assert got.coords.dtype == np.float32 and got.coords.shape == (50, 2)
    np.testing.assert_allclose(got.coords, xy.astype(np.float32))
    padded = project(xy, ProjectionParams(method="identity", dims=3)).coords
    np.testing.assert_allclose(padded[:, :2], xy.astype(np.float32))
    assert (padded[:, 2] == 0).all()


def _match_up_to_sign(a, b, atol):
    for i in range(a.shape[1]):
        s = np.sign(np.dot(a[:, i], b[:, i])) or 1.0
        np.testing.assert_allclose(a[:, i], s * b[:, i], rtol=0, atol=atol)


@pytest.mark.parametrize("dims", [2, 3])
def test_pca_equals_sklearn(digits, dims):
    x, _ = digits
    got = project(x, ProjectionParams(method="pca", dims=dims, metric="euclidean"))
    sk = PCA(n_components=dims, svd_solver="full")
    want = sk.fit_transform(x.astype(np.float64))
    assert got.coords.dtype == np.float32 and got.coords.shape == (len(x), dims)
    _match_up_to_sign(got.coords, want, atol=1e-3 * np.abs(want).max())
    np.testing.assert_allclose(got.info["explained_variance_ratio"],
                               sk.explained_variance_ratio_, rtol=1e-6)
    # same sign convention as sklearn, not just up to sign
    np.testing.assert_allclose(got.coords, want, atol=1e-3 * np.abs(want).max())


def test_pca_cosine_is_pca_of_normalised_rows_and_keeps_zero_rows(digits):
    x, _ = digits
    x = x.copy()
    x[5] = 0.0
    got = project(x, ProjectionParams(method="pca", metric="cosine")).coords
    norms = np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    unit = np.divide(x, norms, out=np.zeros(x.shape), where=norms > 0)
    want = PCA(n_components=2, svd_solver="full").fit_transform(unit)
    _match_up_to_sign(got, want, atol=1e-4 * np.abs(want).max() * 10)
    assert np.isfinite(got).all()


def test_pca_on_a_memory_map_fits_a_sample_and_streams(tmp_path):
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(3, 40)) * np.array([[5.0], [3.0], [1.0]])
    x = (rng.normal(size=(30_000, 3)) @ basis + rng.normal(size=(30_000, 40)) * 0.1)
    path = tmp_path / "v.npy"
    np.save(path, x.astype(np.float32))
    mm = np.load(path, mmap_mode="r")
    got = project(mm, ProjectionParams(method="pca", metric="euclidean", sample=5000))
    assert got.info["fit_rows"] == 5000
    want = PCA(n_components=2, svd_solver="full").fit_transform(x)
    for i in range(2):  # a 5000-row fit recovers the same axes
        assert abs(np.corrcoef(got.coords[:, i], want[:, i])[0, 1]) > 0.999
    assert not mm.flags.writeable  # never written to


def test_nonfinite_rows_do_not_poison_the_map(digits):
    x, _ = digits
    x = x.copy()
    x[3, 4] = np.nan
    x[9, 0] = np.inf
    got = project(x, ProjectionParams(method="pca", metric="cosine")).coords
    assert np.isfinite(got).all()


# --- UMAP ------------------------------------------------------------------------------------

def test_umap_digits_is_trustworthy(umap_run, digits):
    x, _ = digits
    result, _, _ = umap_run
    assert isinstance(result, Projection)
    assert result.coords.shape == (len(x), 2) and result.coords.dtype == np.float32
    assert np.isfinite(result.coords).all()
    t5 = trustworthiness(x, result.coords, n_neighbors=5)
    t10 = trustworthiness(x, result.coords, n_neighbors=10)
    assert t5 >= 0.95 and t10 >= 0.95, (t5, t10)
    assert result.info["init"] == "spectral" and result.info["n_epochs"] == 500


def test_umap_emits_partial_layouts_while_optimising(umap_run, digits):
    x, _ = digits
    result, partials, fractions = umap_run
    assert len(partials) >= 10                      # at least every 10% of the epochs
    for p in partials:
        assert p.shape == (len(x), 2) and p.dtype == np.float32 and np.isfinite(p).all()
    assert all(p is not result.coords for p in partials)
    assert not np.allclose(partials[0], result.coords)   # the layout moved after the first
    assert not np.allclose(partials[0], partials[-1])
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_umap_same_seed_same_layout(umap_run, digits):
    x, _ = digits
    again = project(x, ProjectionParams(method="umap", metric="euclidean"))
    np.testing.assert_array_equal(again.coords, umap_run[0].coords)


def test_umap_cancel_mid_optimisation(digits):
    x, _ = digits
    seen = []
    fractions = []

    def on_partial(coords):
        seen.append(coords)
        state.cancel()              # the user hits "stop" on seeing the first layout

    state = TaskState(on_progress=fractions.append, on_partial=on_partial)
    with pytest.raises(Cancelled):
        project(x, ProjectionParams(method="umap", metric="euclidean"), state)
    assert len(seen) == 1
    assert fractions[-1] < 0.5      # stopped right after the first partial, far from the end


def test_umap_cancel_from_another_thread_is_prompt():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(12, 32))[rng.integers(0, 12, 6000)] * 3
         + rng.normal(size=(6000, 32))).astype(np.float32)
    state = TaskState()
    started = threading.Event()
    state._on_partial = lambda c: started.set()
    outcome = {}

    def run():
        try:
            project(x, ProjectionParams(method="umap", metric="cosine"), state, _n_epochs=5000)
            outcome["done"] = True
        except Cancelled:
            outcome["cancelled_at"] = time.perf_counter()

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(120)
    t = time.perf_counter()
    state.cancel()
    worker.join(30)
    assert "cancelled_at" in outcome
    assert outcome["cancelled_at"] - t < 1.0


def test_umap_fits_a_sample_and_places_every_row(digits):
    x, _ = digits
    partials = []
    result = project(x, ProjectionParams(method="umap", metric="euclidean", sample=900,
                                         refine=False), TaskState(on_partial=partials.append))
    assert result.info["fit_rows"] == 900 and result.info["placed"] == "knn-weighted-mean"
    assert result.coords.shape == (len(x), 2) and np.isfinite(result.coords).all()
    assert partials and all(p.shape == (len(x), 2) for p in partials)
    assert trustworthiness(x, result.coords, n_neighbors=10) >= 0.93


def test_umap_3d_and_tiny_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10)).astype(np.float32)
    r = project(x, ProjectionParams(method="umap", dims=3), _n_epochs=50)
    assert r.coords.shape == (300, 3) and np.isfinite(r.coords).all()
    for n in (1, 2, 3, 5, 17):
        r = project(x[:n], ProjectionParams(method="umap"), _n_epochs=20)
        assert r.coords.shape == (n, 2) and np.isfinite(r.coords).all()
    assert project(x[:0], ProjectionParams(method="umap")).coords.shape == (0, 2)


# --- t-SNE -----------------------------------------------------------------------------------

def test_tsne_digits_is_trustworthy_and_streams(digits):
    x, _ = digits
    partials = []
    result = project(x, ProjectionParams(method="tsne", metric="euclidean"),
                     TaskState(on_partial=partials.append))
    assert result.coords.shape == (len(x), 2) and np.isfinite(result.coords).all()
    assert trustworthiness(x, result.coords, n_neighbors=10) >= 0.97
    assert len(partials) >= 9 and all(p.shape == (len(x), 2) for p in partials)


def test_tsne_cancel_after_first_partial(digits):
    x, _ = digits
    seen = []

    def on_partial(coords):
        seen.append(coords)
        state.cancel()

    state = TaskState(on_partial=on_partial)
    with pytest.raises(Cancelled):
        project(x, ProjectionParams(method="tsne"), state)
    assert len(seen) == 1


# --- caching and the CLI entry -----------------------------------------------------------------

@pytest.fixture
def library_set(tmp_path, digits):
    x, y = digits
    es = EmbeddingSet(vectors=x, metadata=pa.table({"label": y}), name="digits")
    lib = Library(tmp_path / "lib")
    entry = lib.import_set(es)
    return lib.open(entry.id)


def test_cached_project_round_trip(library_set):
    params = ProjectionParams(method="umap", metric="euclidean", seed=3)
    first = cached_project(library_set, params)
    assert first.info["cached"] is False
    store = ArtifactStore(library_set.path)
    assert store.keys("projection") == [params.key()]
    t = time.perf_counter()
    second = cached_project(library_set, params)
    elapsed = time.perf_counter() - t
    assert second.info["cached"] is True and elapsed < 0.5
    np.testing.assert_array_equal(second.coords, first.coords)
    assert second.seconds == pytest.approx(first.seconds)
    assert second.info["n_epochs"] == first.info["n_epochs"]
    # a damaged artefact is recomputed, not fatal
    (library_set.path / "artifacts" / "projection" / f"{params.key()}.npy").write_bytes(b"junk")
    third = cached_project(library_set, params)
    assert third.info["cached"] is False
    np.testing.assert_array_equal(third.coords, first.coords)


def test_cached_project_without_a_library_path_computes(digits):
    x, y = digits
    es = EmbeddingSet(vectors=x, metadata=pa.table({"label": y}), name="mem")
    r = cached_project(es, ProjectionParams(method="pca"))
    assert r.coords.shape == (len(x), 2) and r.info["cached"] is False


def test_run_projection_writes_parquet(library_set, tmp_path):
    out = tmp_path / "out" / "coords.parquet"
    res = run_projection(library_set, ProjectionParams(method="pca", dims=3), out=out)
    assert set(res) >= {"method", "count", "seconds", "trustworthiness", "continuity", "out"}
    assert res["method"] == "pca" and res["count"] == library_set.count
    assert 0.5 < res["trustworthiness"] <= 1 and 0.5 < res["continuity"] <= 1
    assert res["out"] == str(out)
    json.dumps(res)
    table = pq.read_table(out)
    assert table.column_names == ["x", "y", "z", "row"]
    assert table.num_rows == library_set.count
    assert table.column("row").to_pylist()[:3] == [0, 1, 2]
    raw = run_projection(np.asarray(library_set.vectors), ProjectionParams(method="pca"))
    assert raw["out"] is None and raw["count"] == library_set.count


# --- numba cache -------------------------------------------------------------------------------

def test_numba_cache_is_configured_under_data_home(tmp_path):
    assert numba_setup.configure() == numba_setup.configure()      # idempotent
    code = ("import os, numba; from explorer.compute import numba as c;"
            "print(c.configure()); print(numba.config.CACHE_DIR)")
    env = {k: v for k, v in __import__("os").environ.items() if k != "NUMBA_CACHE_DIR"}
    env["EXPLORER_HOME"] = str(tmp_path / "home")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    want = str(tmp_path / "home" / numba_setup.CACHE_SUBDIR)
    assert out == [want, want]


def test_warm_up_fills_the_on_disk_cache():
    info = warm_up()
    cache = numba_setup.configure()
    index_files = list(cache.rglob("umap_kernels.*.nbi"))
    names = {p.name.split(".")[1].split("-")[0] for p in index_files}
    assert {"smooth_knn_dist", "membership_strengths", "epoch_parallel"} <= names
    assert info["signatures"]["epoch_parallel"] >= 1
