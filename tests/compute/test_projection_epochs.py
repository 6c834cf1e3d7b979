"""UMAP's SGD epoch kernel against a plain-Python epoch that spells out the maths it claims
(umap's gradients, clip, generator and schedule; negative samples from the position the
attractive step left, their steps summed, drawn from a pool of rows' positions), and its
layouts on one core and on every core."""

from __future__ import annotations

from dataclasses import replace

import numba
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors

from explorer.compute.numba import umap_kernels
from explorer.compute.numba.umap_kernels import (
    TABLE_HIGH,
    TABLE_LOW,
    attraction,
    gradient_table,
    repulsion,
    run_epoch,
)
from explorer.compute.projection import ProjectionParams
from explorer.compute.projection.graph import find_ab_params, fuzzy_graph
from explorer.compute.projection.umap import fit, optimize_layout
from explorer.core.jobs import TaskState

MASK32 = 0xFFFFFFFF


def tau_next(s: list[int]) -> int:
    """umap's tau_rand_int on Python ints (exact for the int64 states it sees)."""
    s[0] = (((s[0] & 4294967294) << 12) & MASK32) ^ ((((s[0] << 13) & MASK32) ^ s[0]) >> 19)
    s[1] = (((s[1] & 4294967288) << 4) & MASK32) ^ ((((s[1] << 2) & MASK32) ^ s[1]) >> 25)
    s[2] = (((s[2] & 4294967280) << 17) & MASK32) ^ ((((s[2] << 3) & MASK32) ^ s[2]) >> 11)
    return (s[0] ^ s[1] ^ s[2]) & MASK32


def clip(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -4.0, 4.0)


def reference_epoch(emb, head, tail, pool, pool_rows, eps, a, b, rng, gamma, alpha, eps_neg,
                    next_neg, next_s, n) -> None:
    """One epoch, edge after edge, in float64 (the kernel computes in float32)."""
    m = len(pool_rows)
    for i in range(eps.shape[0]):
        if next_s[i] > n:
            continue
        j, k = int(head[i]), int(tail[i])
        cur = emb[j].astype(np.float64)
        other = emb[k].astype(np.float64)
        d2 = float(((cur - other) ** 2).sum())
        g = -2.0 * a * b * d2 ** (b - 1.0) / (a * d2 ** b + 1.0) if d2 > 0 else 0.0
        step = clip(g * (cur - other)) * alpha
        cur += step
        emb[k] = other - step
        next_s[i] += eps[i]
        n_neg = int((n - next_neg[i]) / eps_neg[i])
        state = [int(v) for v in rng[j]]
        moved = np.zeros_like(cur)
        for _ in range(n_neg):
            drawn = ((tau_next(state) & 0x7FFFFFFF) * m) >> 31
            if pool_rows[drawn] == j:
                continue
            other = pool[drawn].astype(np.float64)
            d2 = float(((cur - other) ** 2).sum())
            if d2 > 0:
                g = 2.0 * gamma * b / ((0.001 + d2) * (a * d2 ** b + 1.0))
                moved += clip(g * (cur - other)) * alpha
        rng[j] = state
        emb[j] = cur + moved
        next_neg[i] += n_neg * eps_neg[i]


def epoch_inputs(n: int, dims: int, n_epochs: int, seed: int) -> dict:
    """A real fuzzy graph of clustered points, umap's schedule, a random start in [0, 10]."""
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, 8)) + 4 * rng.integers(0, 3, size=(n, 1))).astype(np.float32)
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    ind = np.argsort(d, axis=1)[:, :6]
    graph = fuzzy_graph(ind, np.sqrt(np.take_along_axis(d, ind, 1)), 6).tocoo()
    w = graph.data.astype(np.float64)
    eps = n_epochs / (n_epochs * w / w.max())
    emb = rng.uniform(0, 10, size=(n, dims)).astype(np.float32)
    states = rng.integers(-2**31 + 1, 2**31 - 1, size=(n, 3)).astype(np.int64)
    return {"emb": emb, "head": graph.row.astype(np.int32), "tail": graph.col.astype(np.int32),
            "eps": eps, "rng": states, "eps_neg": eps / 5.0, "next_neg": eps / 5.0,
            "next_s": eps.copy()}


def run(inputs: dict, epochs: int, n_epochs: int, kernel: bool, alpha0: float = 0.1,
        pool_size: int | None = None, gamma: float = 1.0) -> np.ndarray:
    """`epochs` epochs of a schedule of `n_epochs`, by the kernel on one core or the
    reference. The refine's learning rate by default: at umap's 1.0 a few close points
    get steps that turn float32's rounding into different layouts within 5 epochs.
    Negative samples from the layout itself, or from a snapshot of `pool_size` rows taken
    as each epoch starts (the same rows for both). `gamma`: the repulsion's strength."""
    a, b = find_ab_params(1.0, 0.1)
    s = {key: v.copy() for key, v in inputs.items()}
    m = s["emb"].shape[0]
    draw = np.random.default_rng(5)
    for e in range(epochs):
        pool, pool_rows = s["emb"], np.arange(m, dtype=np.int32)
        if pool_size is not None:
            pool_rows = np.sort(draw.integers(0, m, pool_size).astype(np.int32))
            pool = s["emb"][pool_rows]
        args = (s["emb"], s["head"], s["tail"], pool, pool_rows, s["eps"], a, b, s["rng"],
                gamma, alpha0 * (1.0 - e / n_epochs), s["eps_neg"], s["next_neg"], s["next_s"],
                e)
        if kernel:
            run_epoch(False, *args[:8], gradient_table(a, b, gamma), *args[8:],
                      (0.0,) * s["emb"].shape[1])
        else:
            reference_epoch(*args)
    return s["emb"]


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("pool_size", [None, 16])
@pytest.mark.parametrize("gamma", [1.0, 5.0 / 3.0])
def test_one_core_epochs_follow_the_reference(dims, pool_size, gamma):
    inputs = epoch_inputs(60, dims, 200, seed=dims)
    got = run(inputs, 8, 200, kernel=True, pool_size=pool_size, gamma=gamma)
    want = run(inputs, 8, 200, kernel=False, pool_size=pool_size, gamma=gamma)
    assert np.abs(got - inputs["emb"]).max() > 1.0  # the points moved
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-3)


@numba.njit
def coefficients(d2, table, a, b):
    """The epoch's attraction and repulsion coefficients at each squared distance."""
    out = np.empty((d2.size, 2), dtype=np.float32)
    for i in range(d2.size):
        out[i, 0] = attraction(d2[i], table, np.float32(a), np.float32(b))
        out[i, 1] = repulsion(d2[i], table, np.float32(a), np.float32(b), np.float32(1.0))
    return out


def test_gradient_coefficients_follow_umaps_formula_in_and_beyond_the_table():
    """Within 1.1e-5 of umap's formula inside the table's powers of two, and computed by it
    (float32's error) outside, from 1e-20 to 1e15."""
    a, b = find_ab_params(1.0, 0.1)
    d2 = (10.0 ** np.random.default_rng(0).uniform(-20, 15, 400_000)).astype(np.float32)
    got = coefficients(d2, gradient_table(a, b, 1.0), a, b).astype(np.float64)
    x = d2.astype(np.float64)
    want = np.stack([-2 * a * b * x ** (b - 1) / (a * x ** b + 1),
                     2 * b / ((0.001 + x) * (a * x ** b + 1))], axis=1)
    err = np.abs(got - want) / np.abs(want)
    inside = (x >= 2.0 ** TABLE_LOW) & (x < 2.0 ** TABLE_HIGH)
    assert inside.mean() > 0.3 and (~inside).mean() > 0.3
    assert err[inside].max() < 1.1e-5 and err[~inside].max() < 2e-6, (
        err[inside].max(), err[~inside].max())


def test_a_pool_changes_where_negatives_come_from():
    """The pooled run is a different run (its negatives are the pool's), not the same one."""
    inputs = epoch_inputs(60, 2, 200, seed=3)
    assert np.abs(run(inputs, 8, 200, kernel=True, pool_size=16)
                  - run(inputs, 8, 200, kernel=True)).max() > 1e-2


def test_one_core_is_deterministic():
    inputs = epoch_inputs(200, 2, 50, seed=7)
    np.testing.assert_array_equal(run(inputs, 10, 50, kernel=True),
                                  run(inputs, 10, 50, kernel=True))


def test_every_core_keeps_the_layout_trustworthy():
    """Hogwild epochs on every core: finite, and as trustworthy as the ordered ones."""
    x = load_digits().data.astype(np.float32)
    params = ProjectionParams(method="umap", metric="euclidean")
    tw = {}
    for parallel in (False, True):
        coords, info = fit(x, params, TaskState(), n_epochs=200, parallel=parallel)
        assert info["parallel"] is parallel and np.isfinite(coords).all()
        tw[parallel] = trustworthiness(x, coords, n_neighbors=10)
    assert tw[True] >= 0.95 and abs(tw[True] - tw[False]) < 0.01, tw


def test_negatives_from_a_pool_keep_the_layout_as_trustworthy():
    """The refine's pooled negatives (a snapshot of a few rows an epoch) against umap's
    (every row's current position), on the same graph and start."""
    x = load_digits().data.astype(np.float32)
    nn = NearestNeighbors(n_neighbors=15).fit(x)
    dist, ind = nn.kneighbors(x)
    graph = fuzzy_graph(ind, dist, 15).tocoo()
    start = np.random.default_rng(0).uniform(0, 10, size=(len(x), 2)).astype(np.float32)
    tw = {}
    for pool in (None, 128):
        coords = optimize_layout(start.copy(), graph, 0.1, 200, np.random.RandomState(0),
                                 False, TaskState(), pool_size=pool)
        tw[pool] = trustworthiness(x, coords, n_neighbors=10)
    assert tw[None] >= 0.97 and abs(tw[128] - tw[None]) < 0.005, tw


def test_fewer_stronger_negatives_keep_the_layout_as_trustworthy():
    """A fit's 3 negative samples at strength 5/3 (umap's repulsion in expectation) against
    umap's 5 at 1, on the same graph and start; 3 at 1 is the weaker repulsion they replace."""
    x = load_digits().data.astype(np.float32)
    nn = NearestNeighbors(n_neighbors=15).fit(x)
    dist, ind = nn.kneighbors(x)
    graph = fuzzy_graph(ind, dist, 15).tocoo()
    start = np.random.default_rng(0).uniform(0, 10, size=(len(x), 2)).astype(np.float32)
    tw, spread = {}, {}
    for rate, strength in ((5.0, 1.0), (3.0, 5.0 / 3.0), (3.0, 1.0)):
        coords = optimize_layout(start.copy(), graph, 0.1, 200, np.random.RandomState(0),
                                 False, TaskState(), negative_rate=rate, repulsion=strength)
        tw[rate, strength] = trustworthiness(x, coords, n_neighbors=10)
        spread[rate, strength] = float(np.linalg.norm(coords - coords.mean(axis=0), axis=1).mean())
    assert tw[5.0, 1.0] >= 0.97 and abs(tw[3.0, 5.0 / 3.0] - tw[5.0, 1.0]) < 0.005, tw
    # the repulsion sets how far the clusters stand apart: the same at 5/3, less at 1
    assert abs(spread[3.0, 5.0 / 3.0] / spread[5.0, 1.0] - 1.0) < 0.1, spread
    assert spread[3.0, 1.0] < spread[3.0, 5.0 / 3.0], spread


def test_a_whole_fit_draws_fewer_stronger_negatives_and_a_sampled_fit_umaps():
    """A whole-set fit: 3 at 5/3; a sampled fit (a big map's start) keeps umap's 5 at 1."""
    x = load_digits().data.astype(np.float32)
    params = ProjectionParams(method="umap", metric="euclidean")
    _, whole = fit(x[:400], params, TaskState(), n_epochs=20)
    assert whole["negative_samples"] == 3.0 and whole["repulsion"] == round(5.0 / 3.0, 4)
    _, sampled = fit(x, replace(params, sample=300, refine=False), TaskState(), n_epochs=20)
    assert sampled["fit_rows"] == 300
    assert sampled["negative_samples"] == 5.0 and sampled["repulsion"] == 1.0


def test_warm_compiles_the_3d_epoch_a_3d_map_runs():
    """A 3-D layout is a signature of its own (its dims are compiled in): the warm-up has it."""
    umap_kernels.warm()
    before = set(umap_kernels.epoch_parallel.overloads)
    x = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    coords, _ = fit(x, ProjectionParams(method="umap", dims=3), TaskState(), n_epochs=5)
    assert coords.shape == (300, 3) and np.isfinite(coords).all()
    assert set(umap_kernels.epoch_parallel.overloads) == before
