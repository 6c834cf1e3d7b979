"""The numbers behind a concept axis histogram (explorer/compute/concepts/bins.py)."""

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute.concepts import bins
from explorer.core.embedding_set import EmbeddingSet

N = 500


@pytest.fixture
def es():
    rng = np.random.default_rng(8)
    meta = pa.table({"id": [f"i{i}" for i in range(N)],
                     "text": [f"item {i}" for i in range(N)],
                     "kind": np.array(["a", "b", "c"])[np.arange(N) % 3],
                     "size": rng.normal(size=N),
                     "flag": np.arange(N) % 2 == 0})
    return EmbeddingSet(rng.normal(size=(N, 4)).astype(np.float32), meta, name="pts",
                        id_column="id", text_column="text")


def test_bins_count_every_finite_score_and_list_both_ends(es):
    s = np.random.default_rng(1).normal(size=N).astype(np.float32)
    s[[4, 9]] = np.nan
    b = bins.bin_scores(es, s, bins=20, top=5)
    assert b.counts.sum() == N - 2 == b.finite and len(b.edges) == 21
    assert b.lo == pytest.approx(float(np.nanmin(s))) and b.hi == pytest.approx(float(np.nanmax(s)))
    assert b.bins[4] == b.bins[9] == -1
    np.testing.assert_array_equal(np.bincount(b.bins[b.bins >= 0], minlength=20), b.counts)
    order = np.argsort(np.where(np.isfinite(s), s, np.inf), kind="stable")
    assert [it["row"] for it in b.top_a] == order[:5].tolist()
    assert [it["row"] for it in b.top_b][0] == int(np.nanargmax(s))
    assert all(np.isfinite(it["score"]) for it in b.top_a + b.top_b)
    assert b.p1 < b.p99


def test_one_value_still_gets_a_bin(es):
    b = bins.bin_scores(es, np.full(N, 0.5, dtype=np.float32), bins=10, top=3)
    assert b.counts.sum() == N and b.lo < 0.5 < b.hi


def test_a_range_selects_exactly_its_float32_scores_bounds_included():
    s = np.array([0.1, 0.2, 0.30000001, 0.4, np.nan], dtype=np.float32)
    lo, hi = float(s[1]), float(s[3])  # the float32 values themselves, as float64
    np.testing.assert_array_equal(bins.rows_between(s, lo, hi), [1, 2, 3])
    assert bins.count_between(np.sort(s), lo, hi) == 3
    a, b = bins.float32_bounds(0.2, 0.4)
    assert float(a) >= 0.2 and float(b) <= 0.4
    assert bins.count_between(np.sort(s), 0.5, 0.9) == 0


def test_split_by_a_category_and_by_a_number(es):
    s = np.linspace(-1, 1, N).astype(np.float32)
    b = bins.bin_scores(es, s, bins=10, top=3)
    cat = bins.split_by(es, b, "kind")
    assert cat.kind == "categorical" and sorted(cat.labels) == ["a", "b", "c"]
    np.testing.assert_array_equal(cat.stacks.sum(axis=0), b.counts)
    assert sum(cat.totals) == N and len(cat.colours) == 3
    num = bins.split_by(es, b, "size")
    assert num.kind == "numeric" and len(num.levels) == 10
    assert np.all((num.levels >= 0) & (num.levels <= 1)) and len(num.quartiles) == 5


def test_colour_columns_leave_out_ids_and_texts(es):
    assert bins.colour_columns(es) == ["kind", "size", "flag"]
