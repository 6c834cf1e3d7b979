"""`embedding-explorer --selftest`: every capability once, on generated data, offscreen.

Meant for a bundle that was just built or installed: it proves that each part of the
app finds its libraries (Arrow, DuckDB, HDF5, faiss, numba, onnxruntime, Qt and its
plugins) and its data files (the default model, the icon), which an import check
alone would not. Everything happens in a temporary library (EXPLORER_HOME), so the
user's sets and settings are never touched; numba's compiled kernels do go to the
user's usual cache folder, so a later launch of the app finds them warm. It counts the
kernels numba had to compile (none, for a bundle whose shipped cache works: see
explorer/compute/numba/frozen_cache.py; installer/ci-bundle.sh checks it on a new HOME).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from explorer import __version__

N_ITEMS, DIM, CLUSTERS = 1500, 64, 6

# three topics, eight sentences each: a text query must land in its own topic
TOPICS = {
    "cooking": ["Knead the dough and let the bread rise overnight.",
                "Simmer the tomato sauce with garlic and basil.",
                "Roast the vegetables in a hot oven until golden.",
                "Whisk the eggs with sugar for the sponge cake.",
                "Season the soup with salt, pepper and fresh herbs.",
                "Fry the onions slowly until they caramelise.",
                "Bake the cookies for twelve minutes at 180 degrees.",
                "Marinate the chicken in lemon juice and yoghurt."],
    "astronomy": ["The telescope resolved the rings of Saturn.",
                  "A supernova outshone its whole galaxy for weeks.",
                  "The comet's tail always points away from the Sun.",
                  "Jupiter's moons were discovered by Galileo.",
                  "Neutron stars spin hundreds of times per second.",
                  "The Milky Way holds a black hole at its centre.",
                  "Astronomers measured the redshift of distant quasars.",
                  "A total solar eclipse darkened the sky at noon."],
    "finance": ["The central bank raised interest rates again.",
                "Shares fell sharply after the earnings report.",
                "Diversify the portfolio across bonds and equities.",
                "Inflation eroded the value of savings accounts.",
                "The company issued new stock to raise capital.",
                "Mortgage payments rose with the variable rate.",
                "Investors sold government bonds as yields climbed.",
                "The quarterly dividend was cut by half."],
}
TEXT_QUERIES = {"how long to bake bread in the oven": "cooking",
                "planets and stars seen through a telescope": "astronomy",
                "stock market prices and interest": "finance"}


class CheckFailed(Exception):
    """A capability ran but gave a wrong result."""


class Skipped(Exception):
    """A capability this version does not have."""


@dataclass
class Outcome:
    name: str
    status: str  # PASS, FAIL or SKIP
    seconds: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "FAIL"


@dataclass
class Context:
    """What the checks share: the temporary folder and what earlier checks produced."""

    root: Path
    made: dict = field(default_factory=dict)

    def need(self, key: str, producer: str):
        if key not in self.made:
            raise CheckFailed(f"not run: needs the {producer} check, which failed")
        return self.made[key]


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# --- generated data -----------------------------------------------------------------------

def generated_set(seed: int = 0):
    """Clustered vectors with a label per cluster, a text and a numeric `score` that follows
    the direction from cluster c0 to c1 (what the concept check must recover)."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, DIM)) * 3
    labels = rng.integers(0, CLUSTERS, N_ITEMS)
    vectors = (centres[labels] + rng.normal(size=(N_ITEMS, DIM))).astype(np.float32)
    axis = centres[1] - centres[0]
    score = vectors @ (axis / np.linalg.norm(axis)) + rng.normal(size=N_ITEMS)
    table = pa.table({
        "id": [f"item-{i}" for i in range(N_ITEMS)],
        "label": [f"c{c}" for c in labels],
        "text": [f"item {i} of cluster c{c}" for i, c in enumerate(labels)],
        "score": score.astype(np.float64),
    })
    return vectors, table


def _write_inputs(folder: Path, vectors: np.ndarray, table) -> dict[str, Path]:
    """The set in four formats (each needs other libraries: Arrow, NumPy, CSV, HDF5)."""
    import h5py
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = {"parquet": folder / "set.parquet", "npy": folder / "set.npy",
             "csv": folder / "head.csv", "hdf5": folder / "head.h5"}
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM)
    pq.write_table(table.append_column("embedding", column), paths["parquet"])
    np.save(paths["npy"], vectors)
    head = vectors[:200]
    with paths["csv"].open("w", encoding="utf-8") as f:
        f.write("label," + ",".join(f"d{j}" for j in range(DIM)) + "\n")
        for row, label in zip(head, table.column("label").to_pylist()):
            f.write(label + "," + ",".join(f"{v:.6f}" for v in row) + "\n")
    with h5py.File(paths["hdf5"], "w") as f:
        f.create_dataset("train", data=head)
    return paths


# --- the checks ---------------------------------------------------------------------------

def check_kernels(ctx: Context) -> str:
    """Every numba kernel the app uses (explorer.compute.warm_up), compiled or loaded."""
    from explorer.compute.warm_up import warm_up

    start = time.perf_counter()
    warm_up()
    return f"every kernel of the map, labels and search ready in {time.perf_counter() - start:.1f}s"


def check_load(ctx: Context) -> str:
    from explorer.core.loaders import open_file

    vectors, table = generated_set()
    paths = _write_inputs(ctx.root / "inputs", vectors, table)
    for kind, path in paths.items():
        es = open_file(path)
        n = N_ITEMS if kind in ("parquet", "npy") else 200
        _expect((es.count, es.dim) == (n, DIM),
                f"{kind}: read {es.count} x {es.dim}, wrote {n} x {DIM}")
        _expect(np.allclose(np.asarray(es.vectors[:n]), vectors[:n], atol=1e-5),
                f"{kind}: the vectors read differ from those written")
    ctx.made["parquet"] = paths["parquet"]
    return f"{', '.join(paths)}: {N_ITEMS} x {DIM}"


def check_library(ctx: Context) -> str:
    from explorer.core.library import METADATA, Library
    from explorer.core.loaders import open_file
    from explorer.core.metadata import MetadataQuery

    library = Library()
    entry = library.import_set(open_file(ctx.need("parquet", "load")), name="selftest")
    _expect([e.id for e in library.entries()] == [entry.id], "the imported set is not listed")
    es = library.open(entry.id)
    _expect(isinstance(es.vectors, np.memmap), "the stored vectors are not memory-mapped")
    query = MetadataQuery(Path(entry.path) / METADATA)
    labels = np.asarray(es.metadata.column("label").to_pylist())
    rows = query.filter("label = 'c3' and score > -1000")
    _expect(np.array_equal(rows, np.flatnonzero(labels == "c3")), "the SQL filter's rows are wrong")
    found = query.search("OF CLUSTER C2")
    _expect(np.array_equal(found, np.flatnonzero(labels == "c2")),
            "the text search's rows are wrong")
    ctx.made["set"] = es
    return f"stored, reopened (memory-mapped), SQL filter {len(rows)} rows, search {len(found)}"


def check_map(ctx: Context) -> str:
    from explorer.compute.projection import ProjectionParams, run_projection

    es = ctx.need("set", "library")
    parts = []
    # t-SNE (openTSNE) on a slice: it is the slowest and adds no code path at full size
    for method, data in (("pca", es), ("umap", es), ("tsne", np.asarray(es.vectors[:300]))):
        result = run_projection(data, ProjectionParams(method=method, metric=es.metric))
        trust = result["trustworthiness"]
        _expect(trust is not None and trust > 0.8,
                f"{method}: trustworthiness {trust} (expected > 0.8 on clustered data)")
        parts.append(f"{method} {result['seconds']:.1f}s trust {trust:.2f}")
    return ", ".join(parts)


def check_labels(ctx: Context) -> str:
    """Clusters of a map and their c-TF-IDF names (fast-hdbscan's kernels, frozen too)."""
    from explorer.compute.clusters import ClusterParams, cluster_map

    es = ctx.need("set", "library")
    vectors = np.asarray(es.vectors, dtype=np.float64)
    centred = vectors - vectors.mean(axis=0)
    coords = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    found = cluster_map(es, coords.astype(np.float32), ClusterParams(column="text"))
    finest = found.levels[-1]
    _expect(len(found.levels) >= 1 and len(finest.clusters) >= 2,
            f"{len(finest.clusters)} clusters in the finest level (expected several)")
    truth = es.metadata.column("label").to_pylist()
    named = 0
    for cluster in finest.clusters:
        rows = found.rows(finest.level, cluster.id)
        common = max(set(truth[r] for r in rows), key=[truth[r] for r in rows].count)
        named += tuple(cluster.terms[:1]) == (common,)
    _expect(named >= len(finest.clusters) / 2,
            f"only {named} of {len(finest.clusters)} clusters are named by their items' cluster")
    return (f"{len(found.levels)} levels, {len(finest.clusters)} clusters, {named} named by "
            f"their items' own word, {found.seconds:.1f}s")


def check_search(ctx: Context) -> str:
    from explorer.compute import neighbours as nb

    es = ctx.need("set", "library")
    labels = np.asarray(es.metadata.column("label").to_pylist())
    queries = range(0, N_ITEMS, N_ITEMS // 20)
    exact, approx = [], []
    for row in queries:
        query = nb.row_query(es, row)
        exact.append(nb.search(es, query, 10, kind=nb.resolve_kind(es, exact=True)))
        approx.append(nb.search(es, query, 10, kind="hnsw"))
    same = np.mean([labels[r.neighbours.rows] == labels[r.query.rows[0]] for r in exact])
    _expect(same > 0.95, f"exact search: only {same:.0%} of neighbours share the cluster")
    recall = np.mean([len(set(a.neighbours.rows) & set(e.neighbours.rows)) / 10
                      for a, e in zip(approx, exact)])
    _expect(recall > 0.8, f"HNSW recall@10 against exact search is {recall:.2f}")
    return f"exact ({exact[0].index.kind}) same-cluster {same:.0%}, HNSW recall@10 {recall:.2f}"


def check_encode(ctx: Context) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.compute import neighbours as nb
    from explorer.compute.encoding.catalogue import install_model
    from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
    from explorer.core.library import Library

    model = install_model("minilm")
    path = ctx.root / "inputs" / "sentences.parquet"
    topics = [t for t, texts in TOPICS.items() for _ in texts]
    pq.write_table(pa.table({"sentence": [s for texts in TOPICS.values() for s in texts],
                             "topic": topics}), path)
    result = encode_inputs([path], EncodeOptions(model="minilm", column="sentence",
                                                 name="selftest-encoded"))
    _expect((result.count, result.dim) == (len(topics), model.dim),
            f"encoded {result.count} x {result.dim}, expected {len(topics)} x {model.dim}")
    es = Library().open(result.entry.id)
    found = es.metadata.column("topic").to_pylist()
    for text, topic in TEXT_QUERIES.items():
        hit = nb.search(es, nb.text_query(es, text), 3)
        got = [found[r] for r in hit.neighbours.rows]
        _expect(got.count(topic) >= 2, f"text query {text!r} found {got}, expected {topic}")
    ctx.made["encoded"] = es
    return (f"{model.name} ({model.dim} d): {result.count} sentences, "
            f"{result.items_per_second:.0f}/s; text queries find their topic")


def check_concept(ctx: Context) -> str:
    from explorer.compute import concepts as cc

    es = ctx.need("set", "library")
    direction = cc.define(es, where_a="label = 'c0'", where_b="label = 'c1'", probe=True)
    validity = cc.validate(es, direction, against="score")
    accuracy, rho = validity.heldout_accuracy, validity.spearman
    _expect(accuracy is not None and accuracy > 0.95, f"held-out accuracy {accuracy}")
    _expect(rho is not None and rho > 0.5, f"Spearman with score {rho} (expected > 0.5)")
    cc.DirectionStore(es).save(direction)
    encoded = ctx.made.get("encoded")
    texts = ""
    if encoded is not None:  # text poles need the model; the encode check reports it missing
        poles = cc.define(encoded, texts_a=TOPICS["cooking"][:3], texts_b=TOPICS["finance"][:3])
        scores = cc.scores(encoded, poles)
        topics = np.asarray(encoded.metadata.column("topic").to_pylist())
        _expect(scores[topics == "finance"].mean() > scores[topics == "cooking"].mean(),
                "the text direction cooking -> finance does not order the sentences")
        texts = "; text poles order the sentences"
    return f"probe c0 -> c1: held-out accuracy {accuracy:.2f}, Spearman {rho:.2f}{texts}"


def check_compression(ctx: Context) -> str:
    from explorer.compute.compression import evaluate

    es = ctx.need("set", "library")
    evaluation = evaluate(es, "fp16,sq8,pq16,binary", k=10, queries=100)
    by_name = {m.name: m for m in evaluation.methods}
    _expect(set(by_name) == {"fp16", "sq8", "pq16", "binary"}, f"methods: {sorted(by_name)}")
    _expect(by_name["fp16"].overlap > 0.95, f"fp16 keeps {by_name['fp16'].overlap:.2f} overlap")
    _expect(by_name["sq8"].overlap > 0.8, f"sq8 keeps {by_name['sq8'].overlap:.2f} overlap")
    return ", ".join(f"{m.name} {m.bytes_per_vector} B {m.overlap:.2f}" for m in evaluation.methods)


def check_gui(ctx: Context) -> str:
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from explorer.ui.screenshot import take_screenshot

    es = ctx.need("set", "library")
    shot = take_screenshot(es.library_id, ctx.root / "window.png", view="map", size=(1000, 700))
    image = QImage(str(shot.path))
    _expect(not image.isNull() and image.width() >= 600 and image.height() >= 400,
            f"the window picture is {image.width()} x {image.height()}")
    colours = {image.pixel(x, y) for x in range(0, image.width(), 25)
               for y in range(0, image.height(), 25)}
    _expect(len(colours) > 20, "the window picture is (nearly) blank")
    app = QApplication.instance()
    _expect(not app.windowIcon().isNull(), "the window icon (SVG) did not load")
    return (f"{app.platformName()}: main window {image.width()} x {image.height()} with the "
            f"set's map, {len(colours)} colours")


def check_plugins(ctx: Context) -> str:
    """The built-ins come through the entry point (the bundle carries the app's metadata)
    and every one of them imports: the other checks reach most, not all, of them."""
    if importlib.util.find_spec("explorer.plugins") is None:
        raise Skipped("this version has no plugin system (explorer.plugins)")
    from explorer import plugins

    registry = plugins.registry()
    _expect(not registry.notes, "; ".join(registry.notes))
    builtins = [e for e in registry.entries if e.origin.builtin]
    broken = []
    for entry in builtins:
        refs = (entry.spec.target, entry.spec.sniff) if entry.spec.sniff else (entry.spec.target,)
        try:
            for ref in refs:
                entry.resolve(ref)
        except plugins.PluginFailure as exc:
            broken.append(str(exc))
    _expect(not broken, "; ".join(broken))
    counts = {k: sum(e.spec.kind == k for e in builtins) for k in plugins.KINDS}
    _expect(all(counts.values()), f"built-ins per kind: {counts}")
    others = {e.origin.distribution for e in registry.entries if not e.origin.builtin}
    return (", ".join(f"{n} {k}" for k, n in counts.items()) + " built-ins import"
            + (f"; plugins: {', '.join(sorted(others))}" if others else "")
            + (f"; {registry.problems} plugin problems (embedding-explorer plugins)"
               if registry.problems else ""))


# In order: plugins first, as loading files depends on the loaders it finds.
CHECKS: list[tuple[str, Callable[[Context], str]]] = [
    ("plugins", check_plugins), ("kernels", check_kernels), ("load", check_load), ("library", check_library),
    ("map", check_map), ("labels", check_labels), ("search", check_search), ("encode", check_encode),
    ("concept", check_concept), ("compression", check_compression), ("gui", check_gui),
]


# --- running ------------------------------------------------------------------------------

def run_checks(root: Path, report: Callable[[Outcome], None]) -> list[Outcome]:
    ctx = Context(root)
    (root / "inputs").mkdir(parents=True, exist_ok=True)
    outcomes = []
    for name, check in CHECKS:
        start = time.perf_counter()
        try:
            outcome = Outcome(name, "PASS", 0.0, check(ctx))
        except Skipped as exc:
            outcome = Outcome(name, "SKIP", 0.0, str(exc))
        except CheckFailed as exc:
            outcome = Outcome(name, "FAIL", 0.0, str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken capability is a result, not a crash
            where = traceback.extract_tb(exc.__traceback__)[-1]
            outcome = Outcome(name, "FAIL", 0.0, f"{type(exc).__name__}: {_first_line(exc)} "
                                                f"({Path(where.filename).name}:{where.lineno})")
        outcome.seconds = time.perf_counter() - start
        outcomes.append(outcome)
        report(outcome)
    return outcomes


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def run(as_json: bool = False, out: TextIO | None = None) -> int:
    """Run every check in a temporary library; 0 when all pass, else 1."""
    out = out or sys.stdout
    from explorer.compute.numba import configure

    configure()  # the user's cache folder, before EXPLORER_HOME points elsewhere
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = Path(tempfile.mkdtemp(prefix="explorer-selftest-"))
    saved = os.environ.get("EXPLORER_HOME")
    os.environ["EXPLORER_HOME"] = str(root / "home")
    frozen = bool(getattr(sys, "frozen", False))
    if not as_json:
        print(f"embedding-explorer {__version__} self-test ({'bundle' if frozen else 'source'}, "
              f"temporary library {root})", file=out, flush=True)

    def line(o: Outcome) -> None:
        if not as_json:
            print(f"{o.status}  {o.name:<12}{o.seconds:6.1f}s  {o.detail}",
                  file=out, flush=True)

    from explorer.compute.numba.compile_count import CompileCounter

    compiles = CompileCounter()
    compiles.start()
    start = time.perf_counter()
    try:
        outcomes = run_checks(root, line)
    finally:
        compiles.stop()
        if saved is None:
            os.environ.pop("EXPLORER_HOME", None)
        else:
            os.environ["EXPLORER_HOME"] = saved
        shutil.rmtree(root, ignore_errors=True)
    seconds = time.perf_counter() - start
    failed = [o.name for o in outcomes if not o.ok]
    if as_json:
        checks = [{**asdict(o), "seconds": round(o.seconds, 2)} for o in outcomes]
        print(json.dumps({"ok": not failed, "version": __version__, "frozen": frozen,
                          "seconds": round(seconds, 2), "failed": failed, "checks": checks,
                          "compiles": len(compiles.names), "compiled": sorted(compiles.names)}),
              file=out)
    else:
        print(compiles.summary(), file=out)
        if failed:
            print(f"{len(failed)} of {len(outcomes)} checks failed ({', '.join(failed)}) "
                  f"in {seconds:.1f}s", file=out)
        else:
            print(f"all {len(outcomes)} checks passed in {seconds:.1f}s", file=out)
    return 1 if failed else 0
