"""The PaCMAP projection plugin (plugins/pacmap): a real method through the map's pipeline.

Skipped unless the plugin is installed (`pip install -e plugins/pacmap`). The first PaCMAP
call in a fresh numba cache compiles its kernels (~40 s on two cores), so this file keeps to
a few small fits.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("explorer_pacmap")

from explorer import cli, plugins  # noqa: E402
from explorer.compute.projection import ProjectionParams, cached_project, methods  # noqa: E402
from explorer.core.library import Library  # noqa: E402


def _blobs(n: int, d: int = 32, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    centres = rng.normal(scale=6.0, size=(k, d))
    return (centres[labels] + rng.normal(size=(n, d))).astype(np.float32), labels


def _knn_label_agreement(coords: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    d = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    return float((labels[nn] == labels[:, None]).mean())


def test_pacmap_is_a_map_method_that_keeps_clusters(tmp_path):
    assert "pacmap" in methods()
    entry = plugins.registry().find("projection", "pacmap")
    assert entry.spec.title == "PaCMAP" and not entry.origin.builtin
    x, labels = _blobs(600)
    path = tmp_path / "blobs.npy"
    np.save(path, x)
    es = Library().open_or_import(str(path))
    # fit on a sample of 300 and place the other 300 by their fitted neighbours
    params = ProjectionParams(method="pacmap", metric="euclidean", sample=300)
    result = cached_project(es, params)
    assert result.coords.shape == (600, 2) and result.coords.dtype == np.float32
    assert np.isfinite(result.coords).all()
    assert result.info["fit_rows"] == 300 and result.info["placed"] == "knn-weighted-mean"
    assert _knn_label_agreement(result.coords, labels) > 0.95
    assert entry.status == "loaded"
    again = cached_project(es, params)
    assert again.info["cached"] is True
    np.testing.assert_array_equal(again.coords, result.coords)


def test_cli_project_with_pacmap(tmp_path, capsys):
    x, _ = _blobs(300, seed=1)
    path = tmp_path / "small.npy"
    np.save(path, x)
    out = tmp_path / "map.parquet"
    assert cli.run(["project", str(path), "--method", "pacmap", "--dims", "3",
                    "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)  # nothing of pacmap's own printing
    assert result["method"] == "pacmap" and result["dims"] == 3 and result["count"] == 300
    assert result["trustworthiness"] > 0.9
    assert out.exists()
