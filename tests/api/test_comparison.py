"""Set.compare gives what `embedding-explorer compare` gives: the same JSON, the same
per-item table, the same refusals."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from in_process import cli_error, cli_json
from test_sets import META, X, without_timing

import explorer
from explorer.core.errors import InputError


@pytest.fixture
def pair():
    """The clustered set and a random rotation of it (the same neighbours in every space)."""
    rotation, _ = np.linalg.qr(np.random.default_rng(5).normal(size=(X.shape[1],) * 2))
    a = explorer.load(X, metadata=META, name="clusters")
    b = explorer.load((X @ rotation).astype(np.float32), metadata=META, name="rotated")
    return a, b


def test_a_rotation_keeps_every_neighbour(pair):
    a, b = pair
    result = a.compare(b, k=10)
    assert len(result.overlap) == len(a)
    assert result.mean_overlap == pytest.approx(1.0)
    assert result.cka == pytest.approx(1.0, abs=1e-4)
    assert result.procrustes_residual == pytest.approx(0.0, abs=1e-4)
    assert "mean overlap 1.000" in repr(result)


def test_compare_equals_the_cli_s(pair, tmp_path, capsys):
    a, b = pair
    shuffled = np.random.default_rng(2).permutation(len(a))
    c = explorer.load(X[shuffled] + np.float32(0.3) * np.random.default_rng(3).normal(
        size=X.shape).astype(np.float32), metadata={k: [v[i] for i in shuffled]
                                                    for k, v in META.items()}, name="noisy")
    ours = a.compare(c.name, k=7, by="grp", sample=300, seed=4)
    theirs = cli_json(capsys, "compare", a.id, c.id, "-k", 7, "--by", "grp", "--sample", 300,
                      "--seed", 4, "--out", tmp_path / "items.parquet")
    assert theirs["join"] == "id" and theirs["sampled"] == 300
    assert without_timing({**ours.to_dict(), "out": None}) == \
        without_timing({**theirs, "out": None})
    assert ours.to_arrow().equals(pq.read_table(tmp_path / "items.parquet"))
    assert 0.0 < ours.mean_overlap < 1.0


def test_a_mistake_raises_the_cli_s_message(pair, capsys):
    a, b = pair
    with pytest.raises(InputError) as caught:
        a.compare(b, k=0)
    assert f"error: {caught.value}" == cli_error(capsys, "compare", a.id, b.id, "-k", 0)
    with pytest.raises(InputError) as caught:
        a.compare(b, by="no_such_column")
    assert f"error: {caught.value}" == cli_error(capsys, "compare", a.id, b.id, "--by",
                                                 "no_such_column")
    with pytest.raises(InputError, match="whole number"):
        a.compare(b, k=2.5)
