"""The demo shipped with the app, so a first launch shows its map at once instead of
encoding 5,000 docstrings (37 s on a quiet machine, minutes on a busy one).

`tools/make_demo_resource.py` builds the demo once (explorer/compute/demo.py), rounds
its vectors to float16 (half the bytes; neighbours barely move, the manifest records how
much), lays out the UMAP map of those very vectors, and writes them with a manifest under
explorer/resources/demo/. It is a fixed data set: the docstrings of the Python that made
it, not of the one running (another Python's collect_docstrings would differ a little),
and the set's notes say so.

The files are ours, but a damaged or missing file, or another version of the model
(text queries would land in the wrong space), makes `read_shipped` refuse them with
the reason, and the demo is built here as before. The map is stored under the key the
app asks for (ProjectionParams.key(), which carries UMAP's algorithm version read now):
after a version change the keys differ, nothing is stored, and the map is made again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from explorer.core.atomic import write_json
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import TaskState

if TYPE_CHECKING:
    from explorer.compute.encoding.model_folder import ModelFolder
    from explorer.compute.projection import ProjectionParams
    from explorer.core.library import Library, LibraryEntry

RESOURCE = Path(__file__).resolve().parents[1] / "resources" / "demo"
FORMAT = 1
MANIFEST = "manifest.json"
TABLE_FILE = "items.parquet"
VECTORS_FILE = "vectors-f16.npy"
MAP_FILE = "map-umap.npy"
CLUSTERS_FILE = "clusters.npy"  # the map's labels (artefact kind "clusters"): no first compile
CLUSTERS_META = "clusters.json"  # their artefact record: names, places, levels
# the map's own file (explorer/ui/maps/remembered.py VIEW_FILE, read by last_viewed):
# the set reopens with the projection named there, so the demo's first map is UMAP
VIEW_FILE = "view.json"


class NotUsable(Exception):
    """The shipped demo cannot stand for the demo built here; the message says why."""


def demo_map_params() -> ProjectionParams:
    """The map the app asks for when UMAP is chosen for a cosine set (panel defaults)."""
    from explorer.compute.projection import ProjectionParams

    return ProjectionParams(method="umap", metric="cosine")


def ids_sha256(ids: list[str]) -> str:
    """A digest of the row ids in order: the rows the vectors and the map belong to."""
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class ShippedDemo:
    """The checked files of the shipped demo: every one matches the manifest."""

    folder: Path
    manifest: dict
    table: pa.Table
    vectors: np.ndarray  # float32 (n, d), from the float16 file
    coords: np.ndarray   # float32 (n, 2), the UMAP map of `vectors`
    clusters: np.ndarray | None = None  # the map's cluster levels, when shipped
    clusters_meta: dict | None = None

    @property
    def model_sha256(self) -> str:
        return self.manifest["model"]["sha256"]


def read_shipped(folder: Path | None = None) -> ShippedDemo:
    """The shipped demo (in RESOURCE unless `folder` is given), every file checked against
    the manifest; NotUsable saying why not."""
    folder = Path(folder) if folder is not None else RESOURCE
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotUsable("this installation carries no demo files") from None
    except (OSError, ValueError) as exc:
        raise NotUsable(f"its manifest cannot be read ({exc})") from None
    try:
        if manifest.get("format") != FORMAT:
            raise NotUsable(f"its manifest is format {manifest.get('format')!r}, "
                            f"this version reads {FORMAT}")
        for name, digest in manifest["files"].items():
            path = folder / name
            if not path.is_file():
                raise NotUsable(f"{name} is missing")
            if file_sha256(path) != digest:
                raise NotUsable(f"{name} is damaged (its sha256 differs from the manifest's)")
        rows, dim = int(manifest["rows"]), int(manifest["dim"])
        table = pq.read_table(folder / TABLE_FILE)
        vectors = np.load(folder / VECTORS_FILE, allow_pickle=False).astype(np.float32)
        coords = np.ascontiguousarray(np.load(folder / MAP_FILE, allow_pickle=False),
                                      dtype=np.float32)
        clusters, clusters_meta = None, None
        if "clusters" in manifest:
            clusters = np.load(folder / CLUSTERS_FILE, allow_pickle=False)
            clusters_meta = json.loads((folder / CLUSTERS_META).read_text(encoding="utf-8"))
    except (KeyError, TypeError, ValueError, OSError, pa.ArrowException) as exc:
        raise NotUsable(f"its files cannot be read ({type(exc).__name__}: {exc})") from None
    if clusters is not None and clusters.shape[:1] != (rows,):
        raise NotUsable(f"its clusters are of {clusters.shape[0]} rows, not {rows}")
    if table.num_rows != rows or vectors.shape != (rows, dim) or coords.shape != (rows, 2):
        raise NotUsable(f"its files disagree on the rows: table {table.num_rows}, vectors "
                        f"{vectors.shape}, map {coords.shape}, manifest {rows} x {dim}")
    if ids_sha256(table.column("id").to_pylist()) != manifest.get("ids_sha256"):
        raise NotUsable("its row ids differ from the manifest's")
    if not (np.isfinite(vectors).all() and np.isfinite(coords).all()):
        raise NotUsable("its vectors or map hold values that are not finite")
    return ShippedDemo(folder, manifest, table, vectors, coords, clusters, clusters_meta)


def shipped_set(demo: ShippedDemo, model: str) -> EmbeddingSet:
    """The demo set made of the shipped files; `model` is the installed model's label
    (model_label), whose sha256 the caller has checked against the manifest's."""
    return EmbeddingSet(
        vectors=demo.vectors, metadata=demo.table, name=demo.manifest["name"], format="demo",
        source=[demo.manifest["source"]], metric="cosine", model=model, id_column="id",
        text_column="summary", notes=list(demo.manifest["notes"]))


def install_shipped(library: Library, demo: ShippedDemo, folder: ModelFolder,
                    state: TaskState | None = None) -> LibraryEntry:
    """Import the shipped demo; keep its map under the key the app asks for, and make
    that map the one the set opens with, when the key is the one the map was made under."""
    from explorer.compute.encoding.set_model import model_label
    from explorer.core.artifacts import ArtifactStore

    state = state or TaskState()
    if folder.sha256 != demo.model_sha256:
        raise NotUsable("its vectors were made by another version of the model")
    state.status("Importing the shipped demo")
    es = shipped_set(demo, model_label(folder))
    entry = library.import_set(es, state=state)
    made = demo.manifest["map"]
    params = demo_map_params()
    if made.get("key") == params.key():
        store = ArtifactStore(Path(entry.path))
        try:
            store.save("projection", made["key"], demo.coords,
                       {"params": asdict(params), "seconds": made.get("seconds", 0.0),
                        "info": {**made.get("info", {}), "shipped": True}})
            write_json(Path(entry.path) / VIEW_FILE,
                       {"schema_version": 1, "projection": asdict(params)})
            found = demo.manifest.get("clusters")
            if demo.clusters is not None and found["key"] == clusters_key(es, made["key"]):
                store.save(found["kind"], found["key"], demo.clusters, demo.clusters_meta)
        except (OSError, ValueError):
            pass  # the set opens with PCA, and UMAP is computed when asked for
    state.progress(1)
    return entry


def clusters_key(es: EmbeddingSet, map_key: str) -> str:
    """The key the map's labels job (default parameters) keeps the clusters of `map_key` under:
    read now, so a change of the clustering's version stores nothing and labels are made."""
    from explorer.compute.clusters import ClusterParams, naming
    from explorer.compute.clusters.run import cache_key

    how, column = naming.naming_column(es, None)
    return cache_key(map_key, ClusterParams(), f"{how}:{column}" if how else "", es.count)


def add_clusters(folder: Path, kind: str, key: str, assignments: np.ndarray,
                 meta: dict) -> dict:
    """Add the map's clusters, as the labels job stored them, to the demo in `folder`."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    np.save(folder / CLUSTERS_FILE, assignments)
    (folder / CLUSTERS_META).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    for name in (CLUSTERS_FILE, CLUSTERS_META):
        manifest["files"][name] = file_sha256(folder / name)
    manifest["clusters"] = {"kind": kind, "key": key}
    write_manifest(folder, manifest)
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    """Package data: a plain, world-readable file (write_json's temporary file is private)."""
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")


def write_shipped(folder: Path, es: EmbeddingSet, coords: np.ndarray, *, model_name: str,
                  model_sha256: str,
                  map_params: ProjectionParams, map_seconds: float, map_info: dict,
                  extra: dict | None = None) -> dict:
    """Write the demo's files and manifest into `folder` (tools/make_demo_resource.py).

    `es.vectors` must be the float16-rounded vectors the map was made from, so the map
    stored is the one `cached_project` would make of the imported set.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*"):
        if stale.is_file():
            stale.unlink()
    vectors = np.asarray(es.vectors)
    pq.write_table(es.metadata, folder / TABLE_FILE, compression="zstd", compression_level=19)
    np.save(folder / VECTORS_FILE, vectors.astype(np.float16))
    np.save(folder / MAP_FILE, np.ascontiguousarray(coords, dtype=np.float32))
    files = (TABLE_FILE, VECTORS_FILE, MAP_FILE)
    manifest = {
        "format": FORMAT, "name": es.name, "source": es.source[0] if es.source else "",
        "rows": int(vectors.shape[0]), "dim": int(vectors.shape[1]),
        "ids_sha256": ids_sha256(es.metadata.column("id").to_pylist()),
        "model": {"name": model_name, "label": es.model, "sha256": model_sha256},
        "map": {"key": map_params.key(), "params": asdict(map_params),
                "seconds": round(float(map_seconds), 3), "info": map_info},
        "notes": list(es.notes), "files": {f: file_sha256(folder / f) for f in files},
        **(extra or {}),
    }
    write_manifest(folder, manifest)
    return manifest


__all__ = ["NotUsable", "ShippedDemo", "add_clusters", "clusters_key", "demo_map_params",
           "install_shipped", "read_shipped", "shipped_set", "write_shipped"]
