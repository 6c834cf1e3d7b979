"""Regenerate the demo shipped with the app (explorer/resources/demo/, see
explorer/compute/demo_resource.py): run it after a change to the demo's collection, the
default model or UMAP, and commit the files it writes.

    .venv/bin/python tools/make_demo_resource.py [--out FOLDER] [--map-only]

It builds the demo as a first launch would (stdlib docstrings, MiniLM int8), rounds the
vectors to float16 (the manifest records the top-10 neighbour overlap this keeps), and
lays out the UMAP map of the rounded vectors under the key the app asks for now (so
the UMAP version is read here, never written down). A few minutes on 2 busy cores.
After a change to UMAP alone, `--map-only` keeps the shipped docstrings and vectors (an
encode here differs from them in the last float16 bit of a few values) and makes the map
and its labels again.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from explorer.compute import demo, demo_resource
from explorer.compute.projection import project

OVERLAP_K = 10


def top_k(vectors: np.ndarray, k: int) -> np.ndarray:
    """Each row's k nearest other rows by cosine (the vectors are unit length)."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argpartition(-sims, k, axis=1)[:, :k]


def top_k_overlap(exact: np.ndarray, rounded: np.ndarray, k: int = OVERLAP_K) -> float:
    a, b = top_k(exact, k), top_k(rounded, k)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)]))


def add_labels(out: Path, model_folder) -> str:
    """Import the files just written as a first launch would, run the map's labels job on
    them (a cache hit for the map proves the key), and add its artefact to the files."""
    from explorer.compute import clusters as cl
    from explorer.compute.projection import cached_project
    from explorer.core.artifacts import ArtifactStore
    from explorer.core.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        library = Library(root=Path(tmp))
        shipped = demo_resource.read_shipped(out)
        es = library.open(demo_resource.install_shipped(library, shipped, model_folder).id)
        projection = cached_project(es, demo_resource.demo_map_params())
        if not projection.info.get("cached"):
            raise SystemExit("the shipped map was not found under the key the app asks for")
        found = cl.cached_cluster_map(es, projection, cl.ClusterParams())
        key = demo_resource.clusters_key(es, projection.params.key())
        assignments, meta = ArtifactStore(es.path).load(cl.KIND, key)
        demo_resource.add_clusters(out, cl.KIND, key, np.array(assignments), meta)
    return (f"labels {len(found.levels)} levels, {len(found.levels[-1].clusters)} clusters, "
            f"{found.seconds:.1f} s")


def remap(out: Path) -> int:
    """The map and labels of the demo shipped in `out` made again from its own vectors."""
    try:
        shipped = demo_resource.read_shipped(out)
    except demo_resource.NotUsable as exc:
        print(f"the demo in {out} cannot be mapped again: {exc}", file=sys.stderr)
        return 1
    manifest = shipped.manifest
    folder = demo.demo_encoder()[0].folder
    if folder.sha256 != shipped.model_sha256:
        print("the installed model is not the one the shipped vectors were made with",
              file=sys.stderr)
        return 1
    es = demo_resource.shipped_set(shipped, manifest["model"]["label"])
    params = demo_resource.demo_map_params()
    result = project(shipped.vectors, params)
    extra = {key: manifest[key] for key in ("python", "float16_top10_overlap") if key in manifest}
    manifest = demo_resource.write_shipped(
        out, es, result.coords, model_name=manifest["model"]["name"],
        model_sha256=shipped.model_sha256, map_params=params, map_seconds=result.seconds,
        map_info=result.info, extra=extra)
    labels = add_labels(out, folder)
    print(f"map {manifest['map']['key']} of the shipped {manifest['rows']} rows: UMAP "
          f"{result.seconds:.1f} s, {labels}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=demo_resource.RESOURCE)
    parser.add_argument("--map-only", action="store_true",
                        help="keep the shipped table and vectors; make the map and labels again")
    args = parser.parse_args(argv)
    if args.map_only:
        return remap(args.out)

    t0 = time.perf_counter()
    es = demo.build_demo()
    if not (es.model or "").startswith(f"{demo.DEMO_MODEL} "):
        print(f"the demo was not encoded by {demo.DEMO_MODEL}: {es.notes[1]}", file=sys.stderr)
        return 1
    built = time.perf_counter() - t0
    exact = np.asarray(es.vectors, dtype=np.float32)
    rounded = exact.astype(np.float16).astype(np.float32)
    overlap = top_k_overlap(exact, rounded)
    folder = demo.demo_encoder()[0].folder
    python = sys.version.split()[0]
    notes = [(f"A fixed data set shipped with the app: the docstrings of Python {python}'s "
             "standard library, collected and encoded when this version of Embedding Explorer "
             "was made (the standard library installed here may differ a little). Its vectors "
             f"are stored as float16 and read as float32 (top-{OVERLAP_K} neighbour overlap "
             f"with the float32 vectors: {overlap:.4f})."), *es.notes]
    es = replace(es, vectors=rounded, notes=notes,
                 source=[f"Python {python} standard library (shipped demo)"])

    params = demo_resource.demo_map_params()
    result = project(rounded, params)
    manifest = demo_resource.write_shipped(
        args.out, es, result.coords, model_name=demo.DEMO_MODEL, model_sha256=folder.sha256,
        map_params=params, map_seconds=result.seconds, map_info=result.info,
        extra={"python": python, "float16_top10_overlap": round(overlap, 4)})
    labels = add_labels(args.out, folder)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{manifest['rows']} rows x {manifest['dim']}, map {manifest['map']['key']}: "
          f"{size:,} bytes in {args.out}; top-{OVERLAP_K} overlap float16/float32 "
          f"{overlap:.4f}; build {built:.1f} s, UMAP {result.seconds:.1f} s, {labels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
