"""The demo set: stdlib docstrings read with ast, embedded with the default model or LSA."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import demo
from explorer.compute.stdlib_areas import AREAS, OTHER, STDLIB_AREAS, area_of
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

from default_model import needs_minilm

STDLIB = demo.stdlib_path()
SUBSET = ["json", "collections", "re", "csv.py", "gzip.py", "bz2.py", "lzma.py", "argparse.py",
          "string.py", "textwrap.py", "heapq.py", "bisect.py"]
COLUMNS = ["id", "name", "kind", "module", "package", "area", "summary", "text", "doc_lines",
           "file", "lineno"]


def _write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")


@pytest.fixture(scope="module")
def mini_stdlib(tmp_path_factory) -> Path:
    """A few real stdlib modules plus files that must be skipped."""
    root = tmp_path_factory.mktemp("stdlib")
    for name in SUBSET:
        src = STDLIB / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, root / name)
    sentinel = root.parent / "imported.flag"
    long_doc = "This docstring is long enough to be kept by the collector, surely."
    # Importing this module would leave a file behind: collecting must not import.
    _write(root / "sideeffect.py", f'''
        """Module with a side effect on import. {long_doc}"""
        open({str(sentinel)!r}, "w").close()

        if True:
            def twice():
                """First definition of twice. {long_doc}"""
        else:
            def twice():
                """Second definition of twice. {long_doc}"""

        def _private():
            """Private function. {long_doc}"""

        def short():
            """Too short."""

        class Public:
            """A public class. {long_doc}"""

            def __init__(self):
                """Init docstring. {long_doc}"""

            def method(self):
                """A public method. {long_doc}"""

                def inner():
                    """A nested function. {long_doc}"""
    ''')
    _write(root / "broken.py", f'"""{long_doc}"""\ndef oops(:\n')
    _write(root / "_hidden.py", f'"""Private top-level module. {long_doc}"""\n')
    _write(root / "test" / "__init__.py", f'"""Tests. {long_doc}"""\n')
    _write(root / "test" / "test_x.py", f'"""Tests. {long_doc}"""\n')
    _write(root / "json" / "tests" / "__init__.py", f'"""Tests. {long_doc}"""\n')
    _write(root / "site-packages" / "thirdparty" / "__init__.py",
           f'"""Third party. {long_doc}"""\n')
    return root


@pytest.fixture(scope="module")
def mini_table(mini_stdlib) -> pa.Table:
    return demo.collect_docstrings(mini_stdlib)


@pytest.fixture(scope="module")
def full() -> tuple[pa.Table, np.ndarray]:
    table = demo.collect_docstrings()
    return table, demo.embed_docstrings(table)


def _neighbours(vectors: np.ndarray, ids: list[str], key: str, k: int) -> list[str]:
    i = ids.index(key)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit[i]  # cosine, the demo's metric
    order = [j for j in np.argsort(-sims, kind="stable") if j != i]
    return [ids[j] for j in order[:k]]


# --- collecting ------------------------------------------------------------------

def test_collect_columns_and_types(mini_table):
    t = mini_table
    assert t.column_names == COLUMNS
    assert t.schema.field("doc_lines").type == pa.int32()
    assert t.schema.field("lineno").type == pa.int32()
    ids = t.column("id").to_pylist()
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert set(t.column("kind").to_pylist()) == {"module", "class", "function", "method"}
    assert max(len(s) for s in t.column("summary").to_pylist()) <= demo.SUMMARY_CHARS
    assert max(len(s) for s in t.column("text").to_pylist()) <= demo.TEXT_CHARS
    assert min(len(s) for s in t.column("text").to_pylist()) >= demo.MIN_DOC_CHARS
    rows = {r["id"]: r for r in t.to_pylist()}
    dumps = rows["json.dumps"]
    assert dumps["name"] == "dumps" and dumps["kind"] == "function"
    assert dumps["module"] == "json" and dumps["package"] == "json"
    assert dumps["area"] == "Internet Data Handling"
    assert dumps["file"] == "json/__init__.py" and dumps["lineno"] > 1
    assert dumps["summary"].startswith("Serialize ``obj`` to a JSON formatted ``str``")
    assert "\n" not in dumps["summary"] and "\n" in dumps["text"]
    assert dumps["doc_lines"] == dumps["text"].count("\n") + 1
    move = rows["collections.OrderedDict.move_to_end"]
    assert move["kind"] == "method" and move["module"] == "collections"
    assert rows["json"]["kind"] == "module" and rows["json"]["file"] == "json/__init__.py"
    assert rows["json.decoder.JSONDecoder"]["kind"] == "class"
    assert rows["gzip.open"]["area"] == "Data Compression and Archiving"


def test_collect_skips_private_tests_and_broken_files(mini_table):
    ids = set(mini_table.column("id").to_pylist())
    assert "sideeffect.Public" in ids and "sideeffect.Public.method" in ids
    assert not any(i.startswith(("_hidden", "test", "thirdparty", "broken", "json.tests"))
                   for i in ids)
    assert not any("._" in i for i in ids if i.startswith("sideeffect"))  # _private, __init__
    assert "sideeffect.Public.method.inner" not in ids
    assert "sideeffect.short" not in ids
    files = set(mini_table.column("file").to_pylist())
    assert not any("site-packages" in f or "/tests/" in f for f in files)


def test_collect_never_imports(mini_stdlib, mini_table):
    assert "sideeffect" not in sys.modules
    assert not (mini_stdlib.parent / "imported.flag").exists()


def test_duplicate_names_keep_the_first_definition(mini_table):
    rows = {r["id"]: r for r in mini_table.to_pylist()}
    assert rows["sideeffect.twice"]["summary"].startswith("First definition")


def test_collect_is_deterministic(mini_stdlib, mini_table):
    assert demo.collect_docstrings(mini_stdlib).equals(mini_table)


# --- embedding -------------------------------------------------------------------

def test_embed_shape_norm_and_determinism(mini_table):
    v = demo.embed_docstrings(mini_table, dim=64)
    assert v.dtype == np.float32 and v.shape == (mini_table.num_rows, 64)
    assert np.all(np.isfinite(v))
    norms = np.linalg.norm(v, axis=1)  # the share of each TF-IDF row (length 1) kept
    assert np.all(norms <= 1 + 1e-5) and np.all(norms > 0) and norms.std() > 0.01
    np.testing.assert_array_equal(v, demo.embed_docstrings(mini_table, dim=64))


def test_embed_tiny_input_pads_to_dim():
    table = pa.table({"id": ["a.one", "a.two", "b.three"],
                      "summary": ["Open a compressed file.", "Open a file for reading.",
                                  "Parse a JSON document."],
                      "text": ["Open a compressed gzip file.", "Open a plain file.",
                               "Parse a JSON document into objects."]})
    v = demo.embed_docstrings(table, dim=16)
    assert v.shape == (3, 16)
    norms = np.linalg.norm(v, axis=1)  # 2 topics cannot hold all of 3 documents
    assert np.all((norms > 0) & (norms <= 1 + 1e-5))


def test_embed_neighbours_on_subset(mini_table):
    v = demo.embed_docstrings(mini_table)
    ids = mini_table.column("id").to_pylist()
    near = _neighbours(v, ids, "json.dumps", 5)
    assert "json.dump" in near
    assert {"bz2.open", "lzma.open"} & set(_neighbours(v, ids, "gzip.open", 5))


def test_cancel_stops_the_build(mini_stdlib):
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        demo.build_demo(state, stdlib_dir=mini_stdlib, model=None)


def test_progress_is_reported(mini_stdlib):
    seen: list[float] = []
    es = demo.build_demo(TaskState(on_progress=seen.append), stdlib_dir=mini_stdlib, model=None)
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert es.count > 100


# --- the set and the library -----------------------------------------------------

def test_build_demo_set(mini_stdlib, mini_table):
    es = demo.build_demo(stdlib_dir=mini_stdlib, model=None)
    assert es.name == demo.DEMO_NAME
    assert es.format == "demo" and es.metric == "cosine"
    assert es.model == "tfidf-lsa-128 (scikit-learn)"
    assert es.id_column == "id" and es.text_column == "summary"
    assert es.source == [str(mini_stdlib)]
    assert es.dim == 128 and es.count == mini_table.num_rows
    assert es.metadata.equals(mini_table)
    assert any("TF-IDF" in n for n in es.notes)
    assert es.label(es.metadata.column("id").to_pylist().index("json.dumps")) == "json.dumps"


def test_ensure_demo_imports_once(tmp_path, mini_stdlib, monkeypatch):
    lib = Library(root=tmp_path / "lib")
    entry = demo.ensure_demo(lib, stdlib_dir=mini_stdlib, model=None)
    assert entry.name == demo.DEMO_NAME and entry.dim == 128 and entry.zero_rows == 0
    es = lib.open(entry.id)
    assert es.count == entry.count and es.id_column == "id"

    def fail(*args, **kwargs):
        raise AssertionError("the demo was rebuilt although the library has it")

    monkeypatch.setattr(demo, "build_demo", fail)
    again = demo.ensure_demo(lib, model=None)
    assert again.id == entry.id
    assert len(lib.entries()) == 1


def test_without_the_model_the_demo_says_why_it_used_lsa(mini_stdlib):
    es = demo.build_demo(stdlib_dir=mini_stdlib, model="nosuch")
    assert es.model == "tfidf-lsa-128 (scikit-learn)" and es.dim == 128
    assert any("The default model was not used" in n and "nosuch" in n for n in es.notes)


@needs_minilm
def test_the_demo_is_encoded_by_the_default_model(mini_stdlib, mini_table):
    seen: list[float] = []
    es = demo.build_demo(TaskState(on_progress=seen.append), stdlib_dir=mini_stdlib)
    assert es.model.startswith("minilm (sha256 ") and es.dim == 384
    assert es.count == mini_table.num_rows and seen == sorted(seen)
    v = np.asarray(es.vectors)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    ids = mini_table.column("id").to_pylist()
    assert "json.dump" in _neighbours(v, ids, "json.dumps", 3)
    assert {"bz2.open", "lzma.open"} <= set(_neighbours(v, ids, "gzip.open", 5))
    assert any("encoded offline by minilm" in n for n in es.notes)


@needs_minilm
def test_an_lsa_demo_is_replaced_once_the_model_is_there(tmp_path, mini_stdlib):
    lib = Library(root=tmp_path / "lib")
    old = demo.ensure_demo(lib, stdlib_dir=mini_stdlib, model=None)
    new = demo.ensure_demo(lib, stdlib_dir=mini_stdlib)
    assert new.id != old.id and new.dim == 384
    assert [e.id for e in lib.entries()] == [new.id]
    assert demo.ensure_demo(lib, stdlib_dir=mini_stdlib).id == new.id


def test_compute_does_not_import_qt():
    code = ("import sys, explorer.compute.demo, explorer.compute.stdlib_areas; "
            "sys.exit(any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules))")
    root = Path(demo.__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, timeout=60)
    assert done.returncode == 0


# --- areas -------------------------------------------------------------------------

def test_areas_cover_the_public_stdlib():
    public = {m for m in sys.stdlib_module_names if not m.startswith("_")}
    unmapped = public - set(STDLIB_AREAS)
    assert unmapped <= {"this", "antigravity"}
    assert set(STDLIB_AREAS.values()) <= set(AREAS)
    assert area_of("xml.etree.ElementTree") == "Structured Markup"
    assert area_of("optparse") == "Superseded"
    assert area_of("no_such_module") == OTHER


# --- the real, full standard library -----------------------------------------------

def test_full_stdlib_count_and_unique_ids(full):
    table, vectors = full
    ids = table.column("id").to_pylist()
    assert table.num_rows > 3000
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    assert vectors.shape == (table.num_rows, 128)
    assert not np.any(np.linalg.norm(vectors, axis=1) == 0)
    areas = table.column("area").to_pylist()
    assert areas.count(OTHER) / len(areas) < 0.01
    assert len(set(areas)) >= 25
    files = table.column("file").to_pylist()
    assert not any(f.startswith(("test/", "site-packages/", "_")) or "/tests/" in f
                   or "/test/" in f or "idle_test" in f or "__pycache__" in f for f in files)


def test_full_stdlib_embedding_is_meaningful(full):
    table, v = full
    ids = table.column("id").to_pylist()
    near = set(_neighbours(v, ids, "json.dumps", 10))
    assert {"json.dump", "json.loads"} <= near
    assert "re.subn" in _neighbours(v, ids, "re.sub", 10)
    assert "bz2.open" in _neighbours(v, ids, "gzip.open", 5)
    # Items of one Library Reference chapter lie closer than random pairs.
    areas = np.array(table.column("area").to_pylist())
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(ids), (2, 100_000))
    keep = i != j
    i, j = i[keep], j[keep]
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    sims = np.einsum("ij,ij->i", unit[i], unit[j])  # cosine, the demo's metric
    same = areas[i] == areas[j]
    assert sims[same].mean() > 2 * sims[~same].mean()
    assert sims[same].mean() - sims.mean() > 0.05
