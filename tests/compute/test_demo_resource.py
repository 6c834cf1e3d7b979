"""The demo shipped with the app: its files match their manifest and open, and ensure_demo
imports it with its UMAP map as the first map, or builds the demo when it cannot be used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import demo, demo_resource
from explorer.compute.projection import ProjectionParams, cached_project
from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.maps.remembered import VIEW_FILE, last_viewed

from default_model import needs_minilm


@pytest.fixture(scope="module")
def shipped() -> demo_resource.ShippedDemo:
    return demo_resource.read_shipped()


@pytest.fixture
def copy(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped files that ensure_demo reads instead, to damage at will."""
    folder = tmp_path / "demo"
    shutil.copytree(demo_resource.RESOURCE, folder)
    monkeypatch.setattr(demo_resource, "RESOURCE", folder)
    return folder


@pytest.fixture
def no_build(monkeypatch) -> list[list[str]]:
    """ensure_demo's build replaced by a small LSA build; what it was told is recorded."""
    told: list[list[str]] = []
    real = demo.build_demo

    def small(state=None, *, stdlib_dir=None, model=None, notes=None) -> EmbeddingSet:
        told.append(list(notes or []))
        return real(state, stdlib_dir=demo.stdlib_path() / "json", model=None, notes=notes)

    monkeypatch.setattr(demo, "build_demo", small)
    return told


def test_the_shipped_files_match_their_manifest_and_open(shipped):
    manifest = shipped.manifest
    assert manifest["format"] == demo_resource.FORMAT
    assert shipped.table.schema.equals(demo.SCHEMA)
    assert shipped.vectors.dtype == np.float32
    assert shipped.vectors.shape == (manifest["rows"], manifest["dim"]) == (len(shipped.table), 384)
    np.testing.assert_allclose(np.linalg.norm(shipped.vectors, axis=1), 1.0, atol=2e-3)
    assert shipped.coords.shape == (manifest["rows"], 2)
    ids = shipped.table.column("id").to_pylist()
    assert len(set(ids)) == len(ids) and "json.dumps" in ids
    assert manifest["map"]["params"]["method"] == "umap"
    assert manifest["model"]["name"] == demo.DEMO_MODEL
    assert manifest["float16_top10_overlap"] >= 0.99
    assert "fixed data set" in manifest["notes"][0]
    size = sum(p.stat().st_size for p in demo_resource.RESOURCE.iterdir())
    assert size < 6_000_000  # it ships in every wheel


def test_the_shipped_map_is_made_under_the_key_the_app_asks_for(shipped):
    """Fails when UMAP's version changes: then run tools/make_demo_resource.py again (until
    then the demo still opens, and its map is made on first use)."""
    assert shipped.manifest["map"]["key"] == demo_resource.demo_map_params().key()


def test_neighbours_in_the_shipped_map_are_neighbours(shipped):
    """The map is the layout of these vectors: an item's map neighbours are mostly near it."""
    v, xy = shipped.vectors, shipped.coords
    rows = np.random.default_rng(0).choice(len(v), 200, replace=False)
    near = []
    for r in rows:
        by_map = np.argsort(((xy - xy[r]) ** 2).sum(axis=1))[1:11]
        near.append(np.median(v[by_map] @ v[r]) > np.median(v @ v[r]))
    assert np.mean(near) > 0.95


@needs_minilm
def test_the_shipped_model_is_the_installed_default_model(shipped):
    from explorer.compute.encoding.catalogue import install_model

    assert install_model(demo.DEMO_MODEL).sha256 == shipped.model_sha256


@needs_minilm
def test_ensure_demo_imports_the_shipped_demo_with_its_map_first(tmp_path, monkeypatch, shipped):
    monkeypatch.setattr(demo, "build_demo", lambda *a, **k: pytest.fail("the demo was built"))
    lib = Library(root=tmp_path / "lib")
    entry = demo.ensure_demo(lib)
    es = lib.open(entry.id)
    assert es.name == demo.DEMO_NAME and es.count == shipped.manifest["rows"]
    assert es.model.startswith("minilm (sha256 ") and "fixed data set" in es.notes[0]
    np.testing.assert_array_equal(np.asarray(es.vectors), shipped.vectors)
    params = last_viewed(es)
    assert params == ProjectionParams(method="umap", metric="cosine")
    result = cached_project(es, params)
    assert result.info["cached"] and result.info["shipped"]
    np.testing.assert_array_equal(result.coords, shipped.coords)
    assert demo.ensure_demo(lib).id == entry.id and len(lib.entries()) == 1


@needs_minilm
def test_the_shipped_map_comes_with_its_labels(tmp_path, monkeypatch, shipped):
    """The labels job finds the clusters stored: fast-hdbscan is not needed on a first launch."""
    from explorer.compute import clusters as cl

    lib = Library(root=tmp_path / "lib")
    es = lib.open(demo.ensure_demo(lib).id)
    monkeypatch.setattr(cl.run, "cluster_map", lambda *a: pytest.fail("clustered again"))
    found = cl.cached_cluster_map(es, cached_project(es, last_viewed(es)), cl.ClusterParams())
    assert found.info["cached"] and len(found.levels) >= 2
    np.testing.assert_array_equal(found.column(len(found.levels) - 1),
                                  shipped.clusters[:, -1] if shipped.clusters.ndim == 2
                                  else shipped.clusters)


@needs_minilm
def test_another_umap_version_stores_no_map(tmp_path, monkeypatch, shipped):
    """A map made by another algorithm version is never shown: the set opens as any set."""
    made = shipped.manifest["map"]["key"]
    monkeypatch.setattr(ProjectionParams, "key", lambda self: made.replace("-v", "-v9"))
    lib = Library(root=tmp_path / "lib")
    es = lib.open(demo.ensure_demo(lib).id)
    assert last_viewed(es) is None and not (es.path / VIEW_FILE).exists()
    assert ArtifactStore(es.path).load("projection", made) is None
    assert not (es.path / "artifacts" / "clusters").exists()


@needs_minilm
def test_clusters_of_another_clustering_version_are_not_stored(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_resource, "clusters_key", lambda es, key: "other-key")
    lib = Library(root=tmp_path / "lib")
    es = lib.open(demo.ensure_demo(lib).id)
    assert last_viewed(es) is not None  # the map is stored, its labels will be made
    assert not (es.path / "artifacts" / "clusters").exists()


@needs_minilm
@pytest.mark.parametrize("damage, said", [
    (lambda f: (f / demo_resource.VECTORS_FILE).write_bytes(b"\x93NUMPY broken"), "damaged"),
    (lambda f: (f / demo_resource.MAP_FILE).unlink(), "missing"),
    (lambda f: (f / demo_resource.MANIFEST).write_text("{", encoding="utf-8"), "manifest"),
    (lambda f: shutil.rmtree(f), "carries no demo files"),
])
def test_a_damaged_resource_is_built_instead_with_a_note(tmp_path, copy, no_build, damage, said):
    damage(copy)
    with pytest.raises(demo_resource.NotUsable, match=said):
        demo_resource.read_shipped()
    lib = Library(root=tmp_path / "lib")
    es = lib.open(demo.ensure_demo(lib).id)
    assert len(no_build) == 1 and said in no_build[0][0]
    assert any(n.startswith("The demo shipped with the app was not used") for n in es.notes)


@needs_minilm
def test_vectors_of_another_model_version_are_not_used(tmp_path, copy, no_build):
    manifest = json.loads((copy / demo_resource.MANIFEST).read_text(encoding="utf-8"))
    manifest["model"]["sha256"] = "0" * 64
    (copy / demo_resource.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    lib = Library(root=tmp_path / "lib")
    demo.ensure_demo(lib)
    assert no_build == [["The demo shipped with the app was not used: its vectors were made by "
                         "another version of the model; it was built here instead."]]


def test_rows_that_disagree_with_the_manifest_are_refused(tmp_path, shipped):
    es = EmbeddingSet(vectors=shipped.vectors[:50], metadata=shipped.table.slice(0, 50),
                      name="tiny", source=["here"], model="m", notes=["a note"])
    folder = tmp_path / "tiny"
    demo_resource.write_shipped(folder, es, shipped.coords[:50], model_name="m",
                                model_sha256="f" * 64, map_params=demo_resource.demo_map_params(),
                                map_seconds=1.0, map_info={})
    again = demo_resource.read_shipped(folder)
    assert again.table.equals(es.metadata) and again.manifest["notes"] == ["a note"]
    np.testing.assert_array_equal(again.coords, shipped.coords[:50])
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(shipped.table.slice(0, 50).to_pylist()[::-1],
                                        schema=shipped.table.schema), folder / "items.parquet")
    manifest = json.loads((folder / demo_resource.MANIFEST).read_text(encoding="utf-8"))
    manifest["files"]["items.parquet"] = demo_resource.file_sha256(folder / "items.parquet")
    (folder / demo_resource.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(demo_resource.NotUsable, match="row ids"):
        demo_resource.read_shipped(folder)
