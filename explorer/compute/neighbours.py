"""Nearest neighbours of a set: which index, kept where, and the queries users ask.

Indexes live in the library beside the set (`artifacts/index/`), tagged with a
signature of the vectors file, so they are rebuilt only when the set changes.
Row norms and int8 codes are memory-mapped when loaded; an HNSW / IVF graph is
deserialised. Within a process, opened indexes are kept for the next query.

Kinds: "flat" (the exact float32 scan), "compact" (exact results from an int8
scan + float32 re-ranking), "hnsw" and "ivf" (approximate; their recall@10
against exact search is measured on sampled rows at build time and stored).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.compute.index import (ApproxIndex, CompactIndex, ExactIndex, Neighbours, load_kernel,
                                    quantise, row_norms)
from explorer.compute.sharded_search import ShardedExactIndex
from explorer.compute.sharded_search import load_kernel as load_sharded_kernel
from explorer.compute.vectors import METRICS, check_metric, unit
from explorer.core.artifacts import ArtifactStore
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState
from explorer.core.library import NORMS_FORMAT, NORMS_KEY, NORMS_KIND
from explorer.core.library import vectors_signature as library_signature
from explorer.core.metadata import MetadataQuery
from explorer.core.sharded import is_sharded

KINDS = ("auto", "flat", "compact", "hnsw", "ivf", "ivfpq")  # ivfpq only when asked for
TEXT_CHARS = 200  # an item's text in a result, cut here: enough to recognise it
INDEX_KIND = NORMS_KIND  # artefact folder, shared with the norms the import stores
FORMAT = NORMS_FORMAT
FLAT_MAX_VALUES = 64_000_000  # 256 MB of float32 (e.g. 170k x 384): one scan takes ~20 ms
COMPACT_MAX_VALUES = 1_600_000_000  # ~4M x 384: a 1.6 GB int8 scan, ~0.1-0.2 s
HNSW_MAX_ROWS = 10_000_000  # beyond, the graph's links alone outgrow a desktop's memory
RECALL_QUERIES = 200
RECALL_K = 10


@dataclass
class IndexInfo:
    kind: str
    metric: str
    count: int
    dim: int
    build_seconds: float
    bytes: int  # what the index holds beyond the vectors themselves
    exact: bool
    recall_at_10: float | None = None  # approximate kinds: measured on sampled rows
    recall_queries: int = 0
    reused: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line for the UI: kind, exactness or measured recall."""
        name = {"flat": "exact scan", "compact": "int8 scan + exact re-rank"}.get(
            self.kind, self.kind.upper())
        if self.exact:
            return f"{name} · exact"
        return (f"{name} · recall@{RECALL_K} {self.recall_at_10:.3f} "
                f"({self.recall_queries} sampled queries)")


def choose_kind(count: int, dim: int) -> str:
    """Exact while it is fast (flat, then compact codes), then HNSW, then IVF."""
    values = count * dim
    if values <= FLAT_MAX_VALUES:
        return "flat"
    if values <= COMPACT_MAX_VALUES:
        return "compact"
    return "hnsw" if count <= HNSW_MAX_ROWS else "ivf"


def exact_kind(count: int, dim: int) -> str:
    return "flat" if count * dim <= FLAT_MAX_VALUES else "compact"


def approx_kind(count: int) -> str:
    return "hnsw" if count <= HNSW_MAX_ROWS else "ivf"


# --- persistence ------------------------------------------------------------------
def vectors_signature(es: EmbeddingSet) -> dict:
    return library_signature(es.vectors, es.path)


def _store(es: EmbeddingSet) -> ArtifactStore | None:
    return ArtifactStore(es.path) if es.path is not None else None


def _load(store: ArtifactStore | None, key: str, sig: dict):
    if store is None:
        return None
    found = store.load(INDEX_KIND, key)
    if found is None:
        return None
    array, meta = found
    if meta.get("signature") != sig or meta.get("format") != FORMAT:
        return None
    return array, meta


def _save(store: ArtifactStore | None, key: str, array: np.ndarray, sig: dict,
          **meta) -> None:
    if store is not None:
        try:
            store.save(INDEX_KIND, key, array, {"signature": sig, "format": FORMAT, **meta})
        except OSError:
            pass  # a cache that cannot be written is rebuilt next time, nothing more


def set_norms(es: EmbeddingSet, state: TaskState | None = None) -> np.ndarray:
    """|x| per row, stored with the set after the first pass."""
    sig = vectors_signature(es)
    store = _store(es)
    found = _load(store, NORMS_KEY, sig)
    if found is not None:
        return found[0]
    norms = row_norms(es.vectors, state)
    _save(store, NORMS_KEY, norms, sig)
    return norms


_OPEN: OrderedDict = OrderedDict()  # (set identity, metric, kind, signature) -> (index, info)
_OPEN_LOCK = threading.Lock()
_OPEN_MAX = 6


def open_index(es: EmbeddingSet, metric: str | None = None, kind: str = "auto",
               state: TaskState | None = None, builder=ApproxIndex.build):
    """(index, IndexInfo) for `es`: from memory, from the library, or built (and stored).

    `builder(vectors, metric, kind, norms=, state=)` makes an approximate index that is not
    stored yet (the Ray engine passes its own); it is measured and stored the same way."""
    state = state or TaskState()
    metric = metric or es.metric
    check_metric(metric)
    if kind not in KINDS:
        raise InputError(f"unknown index kind {kind!r}; expected one of {', '.join(KINDS)}")
    n, d = es.vectors.shape
    if kind == "auto":
        kind = auto_kind(es, metric)
    sig = vectors_signature(es)
    cache_key = _cache_key(es, metric, kind, sig)
    with _OPEN_LOCK:
        if cache_key in _OPEN:
            _OPEN.move_to_end(cache_key)
            index, info = _OPEN[cache_key]
            return index, IndexInfo(**{**info.to_dict(), "reused": True})
    index, info = _open_uncached(es, metric, kind, sig, state, builder)
    with _OPEN_LOCK:
        _OPEN[cache_key] = (index, info)
        while len(_OPEN) > _OPEN_MAX:
            _OPEN.popitem(last=False)
    return index, info


def _cache_key(es: EmbeddingSet, metric: str, kind: str, sig: dict) -> tuple:
    ident = str(es.path) if es.path is not None else id(es.vectors)
    return ident, metric, kind, repr(sorted(sig.items()))


def is_open(es: EmbeddingSet, metric: str | None = None, kind: str = "auto") -> bool:
    """Whether `open_index` would answer from memory, without loading or building anything."""
    metric = metric or es.metric
    if kind == "auto":
        kind = auto_kind(es, metric)
    key = _cache_key(es, metric, kind, vectors_signature(es))
    with _OPEN_LOCK:
        return key in _OPEN


def _open_uncached(es: EmbeddingSet, metric: str, kind: str, sig: dict, state: TaskState,
                   builder=ApproxIndex.build):
    store = _store(es)
    n, d = es.vectors.shape
    start = time.perf_counter()
    state.status("Computing vector norms")
    norms = set_norms(es, state.sub(0, 0.1))
    if is_sharded(es.vectors) and kind in ("compact", "hnsw", "ivf"):
        raise InputError(f"a {kind} index is not built over a sharded set: its rows stay in "
                         "the shard files", hint="search it exactly (kind flat) or build an "
                                                 "IVF-PQ index (kind ivfpq)")
    if kind == "flat":
        index = exact_index(es, metric, norms)
        return index, IndexInfo("flat", metric, n, d, time.perf_counter() - start,
                                int(norms.nbytes), exact=True)
    key = f"{metric}-{kind}"
    if kind == "compact":
        found = _load(store, key, sig)
        if found is not None:
            codes, meta = found
            index = CompactIndex(es.vectors, metric, codes, np.asarray(meta["step"], np.float32),
                                 norms)
            return index, IndexInfo(**meta["info"], reused=True)
        state.status("Building int8 codes")
        codes, step = quantise(es.vectors, metric, norms, state.sub(0.1, 1.0))
        index = CompactIndex(es.vectors, metric, codes, step, norms)
        info = IndexInfo("compact", metric, n, d, time.perf_counter() - start,
                         int(codes.nbytes + norms.nbytes), exact=True)
        _save(store, key, codes, sig, step=step.tolist(), info=_persisted(info))
        return index, info
    found = store.load_file(INDEX_KIND, key) if store is not None else None
    if found is not None and found[1].get("signature") == sig and found[1].get("format") == FORMAT:
        try:
            index = ApproxIndex.load(es.vectors, metric, found[0], kind, norms)
            info = IndexInfo(**found[1]["info"], reused=True)
            info.bytes = int(norms.nbytes + found[0].stat().st_size)
            return index, info
        except (RuntimeError, OSError, KeyError, TypeError):
            pass  # damaged: rebuilt below
    index = builder(es.vectors, metric, kind, norms=norms, state=state.sub(0.1, 0.85))
    build = time.perf_counter() - start
    state.status("Measuring recall against exact search")
    recall, queries = measure_recall(index, exact_index(es, metric, norms),
                                     state=state.sub(0.85, 1.0))
    info = IndexInfo(kind, metric, n, d, build, int(norms.nbytes), exact=False,
                     recall_at_10=recall, recall_queries=queries)
    if store is None:
        info.bytes += int(index.serialized_size())
        return index, info
    try:
        path = store.save_file(INDEX_KIND, key, "faiss", index.save,
                               {"signature": sig, "format": FORMAT, "info": _persisted(info)})
        info.bytes += path.stat().st_size
    except (OSError, RuntimeError):
        info.bytes += int(index.serialized_size())  # not kept: rebuilt next time
    return index, info


def exact_index(es: EmbeddingSet, metric: str, norms: np.ndarray) -> ExactIndex:
    """The exact scan of `es`: over its shards in place when it is a sharded set."""
    if is_sharded(es.vectors):
        return ShardedExactIndex(es.vectors, metric, norms=norms)
    return ExactIndex(es.vectors, metric, norms=norms)


def _persisted(info: IndexInfo) -> dict:
    record = info.to_dict()
    record.pop("reused")
    return record


def measure_recall(index, exact: ExactIndex, queries: int = RECALL_QUERIES, k: int = RECALL_K,
                   seed: int = 0, state: TaskState | None = None) -> tuple[float, int]:
    """Mean recall@k of `index` against exact search, querying with sampled rows (self excluded)."""
    state = state or TaskState()
    n = len(exact)
    usable = np.flatnonzero(exact.norms > 0) if exact.metric == "cosine" else np.arange(n)
    if len(usable) <= k + 1:
        return 1.0, 0
    rows = np.random.default_rng(seed).choice(usable, size=min(queries, len(usable)),
                                              replace=False)
    hits = 0
    for i, row in enumerate(rows):
        q = np.asarray(exact.vectors[row], dtype=np.float32)
        truth = [r for r in exact.search(q, k + 1).rows if r != row][:k]
        got = [r for r in index.search(q, k + 1).rows if r != row][:k]
        hits += len(set(truth) & set(got))
        state.progress(i + 1, len(rows))
    return hits / (k * len(rows)), int(len(rows))


def drop_cached(es: EmbeddingSet) -> None:
    """Forget opened indexes of `es` (after it was removed or rewritten)."""
    ident = str(es.path) if es.path is not None else id(es.vectors)
    with _OPEN_LOCK:
        for key in [key for key in _OPEN if key[0] == ident]:
            del _OPEN[key]


# --- queries ----------------------------------------------------------------------
@dataclass
class Query:
    kind: str  # "row" | "centroid" | "arithmetic" | "vector" | "text"
    label: str
    vector: np.ndarray = field(repr=False)
    rows: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "rows": list(self.rows)}


def _check_row(es: EmbeddingSet, row: int) -> int:
    if not 0 <= int(row) < es.count:
        raise InputError(f"row {row} is out of range: the set has rows 0 to {es.count - 1}")
    return int(row)


def row_query(es: EmbeddingSet, row: int) -> Query:
    row = _check_row(es, row)
    name = es.label(row)
    label = name if name == f"#{row}" else f"#{row} {name}"
    return Query("row", label, np.array(es.vectors[row], dtype=np.float32), [row])


def id_query(es: EmbeddingSet, item_id: str) -> Query:
    return row_query(es, find_item(es, item_id))


def centroid_query(es: EmbeddingSet, rows, metric: str | None = None) -> Query:
    """Mean of the rows (of their directions for cosine, so long vectors do not dominate)."""
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    if rows.size == 0:
        raise InputError("the selection is empty: select items to search from their centroid")
    if rows[0] < 0 or rows[-1] >= es.count:
        raise InputError(f"rows out of range: the set has rows 0 to {es.count - 1}")
    metric = metric or es.metric
    total = np.zeros(es.dim, dtype=np.float64)
    for start in range(0, len(rows), 65536):
        chunk = np.asarray(es.vectors[rows[start:start + 65536]], dtype=np.float32)
        total += (unit(chunk) if metric == "cosine" else chunk).sum(axis=0, dtype=np.float64)
    vector = (total / len(rows)).astype(np.float32)
    if not np.any(vector):
        raise InputError("the centroid of the selection is a zero vector (the items cancel out)")
    label = f"centroid of {len(rows):,} selected" if len(rows) > 1 else f"#{rows[0]}"
    return Query("centroid", label, vector, rows.tolist() if len(rows) <= 10_000 else [])


def vector_query(vector, label: str = "vector") -> Query:
    return Query("vector", label, np.asarray(vector, dtype=np.float32).ravel())


def text_query_reason(es: EmbeddingSet) -> str | None:
    """Why typed text cannot query this set (None when it can: its model is installed, and was
    not found to disagree with the vectors)."""
    from explorer.compute.encoding.set_model import set_model, unverified_reason

    refused = unverified_reason(es.model_check, es.model)
    if refused is not None:
        return refused
    try:
        folder = set_model(es.model)
    except InputError as exc:
        return str(exc)
    if folder.dim != es.dim:
        return (f"the set's model {folder.name!r} gives {folder.dim} dimensions but the set "
                f"has {es.dim}")
    return None


def text_query(es: EmbeddingSet, text: str) -> Query:
    """Typed text, encoded as a query by the model that made the set."""
    from explorer.compute.encoding.set_model import encode_query

    reason = text_query_reason(es)
    if reason is not None:
        raise InputError(reason)
    vector = encode_query(es.model, text)
    short = text if len(text) <= 60 else text[:57] + "…"
    return Query("text", f"\u201c{short}\u201d", vector)


def find_item(es: EmbeddingSet, term: str) -> int:
    """Row of an item named `term`: `#12` is row 12, else the id column, then the text column."""
    term = term.strip()
    if len(term) >= 2 and term[0] == term[-1] and term[0] in "\"'":
        term = term[1:-1]
    elif re.fullmatch(r"#\d+", term):
        return _check_row(es, int(term[1:]))
    for column in dict.fromkeys(c for c in (es.id_column, es.text_column) if c):
        col = es.metadata.column(column)
        values = col if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) \
            else col.cast(pa.string())
        hits = pc.indices_nonzero(pc.fill_null(pc.equal(values, term), False)).to_numpy()
        if hits.size:
            return int(hits[0])
    where = " or ".join(c for c in (es.id_column, es.text_column) if c) or "no id column"
    raise InputError(f"no item named {term!r} (looked in {where}); write #ROW for a row number")



def arithmetic_query(es: EmbeddingSet, expr: str, metric: str | None = None) -> Query:
    """`king - man + woman`, `#12 - #40 + #7` or `0.5*#3 + #9`: a sum of (scaled) item vectors.

    Terms are joined by `+` / `-` with spaces around them (names may hold a
    hyphen); quote names with spaces. For cosine each term is normalised first,
    as in the classic analogy arithmetic.
    """
    metric = metric or es.metric
    text = expr.strip()
    if not text:
        raise InputError("the expression is empty; write e.g. 'king - man + woman' or '#12 - #40'")
    quoted: list[str] = []

    def hide(match: re.Match) -> str:  # quoted names may hold " - " themselves
        quoted.append(match.group(1))
        return f"\x00{len(quoted) - 1}\x00"

    masked = re.sub(r"(?<![^\s*])(\"[^\"]*\"|'[^']*')", hide, text)
    parts = re.split(r"\s+([+-])\s+", masked)
    signs = ["+"] + parts[1::2]
    terms = [re.sub(r"\x00(\d+)\x00", lambda m: quoted[int(m.group(1))], t) for t in parts[0::2]]
    total = np.zeros(es.dim, dtype=np.float64)
    rows: list[int] = []
    for sign, term in zip(signs, terms):
        term = term.strip()
        if sign == "+" and term.startswith(("+", "-")) and len(rows) == 0:
            sign, term = term[0], term[1:].strip()
        coef = 1.0
        m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*\*\s*(.+)", term)
        if m:
            coef, term = float(m.group(1)), m.group(2)
        if not term:
            raise InputError(f"expression {expr!r}: a term is missing around '{sign}'")
        row = find_item(es, term)
        v = np.asarray(es.vectors[row], dtype=np.float32)
        if metric == "cosine":
            v = unit(v)
        total += (-coef if sign == "-" else coef) * v
        rows.append(row)
    vector = total.astype(np.float32)
    if not np.any(vector):
        raise InputError(f"expression {expr!r} adds up to a zero vector")
    return Query("arithmetic", text, vector, rows)


def filter_mask(es: EmbeddingSet, where: str | None) -> np.ndarray | None:
    """Bool mask of rows matching a DuckDB WHERE expression over the metadata (None: no filter)."""
    if where is None or not where.strip():
        return None
    rows = MetadataQuery(es.metadata).filter(where)
    mask = np.zeros(es.count, dtype=bool)
    mask[rows] = True
    return mask


# --- searching --------------------------------------------------------------------
@dataclass
class SearchResult:
    query: Query
    neighbours: Neighbours
    k: int
    metric: str
    where: str | None
    matching: int | None
    seconds: float
    index: IndexInfo

    def to_dict(self, es: EmbeddingSet) -> dict:
        return {
            "query": self.query.to_dict(),
            "metric": self.metric,
            "k": self.k,
            "where": self.where,
            "matching": self.matching,
            "neighbours": [{**item_fields(es, int(r)), "score": float(s)}
                           for r, s in zip(self.neighbours.rows, self.neighbours.scores)],
            "exact": bool(self.neighbours.exact),
            "seconds": self.seconds,
            "index": self.index.to_dict(),
        }


def item_fields(es: EmbeddingSet, row: int) -> dict:
    """An item as a result lists it: row, id, what it is called and, when the set has a
    text column other than what names the items, its text (cut to TEXT_CHARS)."""
    out = {"row": row, "id": item_id(es, row), "label": es.label(row)}
    if es.text_column and es.text_column != es.label_column and (es.label_column
                                                                  or es.id_column):
        text = es.text(row)
        out["text"] = text if text is None or len(text) <= TEXT_CHARS \
            else text[:TEXT_CHARS - 1].rstrip() + "…"
    return out


def item_id(es: EmbeddingSet, row: int):
    if es.id_column:
        value = es.metadata.column(es.id_column)[row].as_py()
        return value if isinstance(value, (int, str)) or value is None else str(value)
    return row


def resolve_kind(es: EmbeddingSet, kind: str = "auto", exact: bool | None = None) -> str:
    """The kind to use: `exact` True/False overrides "auto" with the best exact/approximate one."""
    if kind != "auto":
        return kind
    if is_sharded(es.vectors):  # its exact scan, or IVF-PQ: the one index built over shards
        return {True: "flat", False: "ivfpq"}.get(exact, "auto")
    if exact is True:
        return exact_kind(es.count, es.dim)
    if exact is False:
        return approx_kind(es.count)
    return choose_kind(es.count, es.dim)


def auto_kind(es: EmbeddingSet, metric: str) -> str:
    """What "auto" searches `es` with. A sharded set: its stored IVF-PQ index for `metric`
    when it has one for these vectors (an exact pass decodes every Parquet shard each query),
    else its exact scan; any other set: by its size (`choose_kind`)."""
    if not is_sharded(es.vectors):
        return choose_kind(es.count, es.dim)
    store = _store(es)
    meta = store.meta(INDEX_KIND, f"{metric}-ivfpq") if store is not None else None
    if meta and meta.get("signature") == vectors_signature(es) and meta.get("format") == FORMAT:
        return "ivfpq"
    return "flat"


def search(es: EmbeddingSet, query: Query, k: int = 10, metric: str | None = None,
           where: str | None = None, kind: str = "auto", exclude_self: bool = True,
           state: TaskState | None = None) -> SearchResult:
    """The k nearest items to `query` among those matching `where`, without the query's own items."""
    state = state or TaskState()
    metric = metric or es.metric
    if not 1 <= k <= 1000:
        raise InputError(f"k must be between 1 and 1000, got {k}")
    mask = filter_mask(es, where)
    index, info = open_index(es, metric, kind, state.sub(0, 0.95))
    skip = set(query.rows) if exclude_self else set()
    if skip and (len(skip) > 100 or k + len(skip) > 1000):  # mask the query items out instead
        mask = np.ones(es.count, dtype=bool) if mask is None else mask.copy()
        mask[list(skip)] = False
        skip = set()
    state.status("Searching")
    # before the clock starts: the time shown is the search's
    if isinstance(index, ShardedExactIndex):
        load_sharded_kernel()
    else:
        load_kernel(es.vectors)
    if isinstance(index, CompactIndex):
        load_kernel(index.codes)
    start = time.perf_counter()
    got = index.search(query.vector, min(1000, k + len(skip)), allowed=mask)
    keep = np.array([r not in skip for r in got.rows], dtype=bool)
    neighbours = Neighbours(got.rows[keep][:k], got.scores[keep][:k], got.metric, got.exact)
    seconds = time.perf_counter() - start
    state.progress(1)
    return SearchResult(query, neighbours, k, metric, where or None,
                        None if mask is None else int(mask.sum()), seconds, info)


@dataclass
class MetricComparison:
    query: Query
    k: int
    lists: dict[str, Neighbours]
    overlap: dict[str, float]
    norms: dict[str, np.ndarray]
    query_norm: float
    norm_percentiles: dict[str, float]
    explanation: str

    def to_dict(self, es: EmbeddingSet) -> dict:
        return {
            "query": self.query.to_dict(),
            "k": self.k,
            "lists": {m: [{**item_fields(es, int(r)), "score": float(s), "norm": float(nm)}
                          for r, s, nm in zip(nb.rows, nb.scores, self.norms[m])]
                      for m, nb in self.lists.items()},
            "overlap": self.overlap,
            "query_norm": self.query_norm,
            "norm_percentiles": self.norm_percentiles,
            "explanation": self.explanation,
        }


def compare_metrics(es: EmbeddingSet, query: Query, k: int = 10, where: str | None = None,
                    exclude_self: bool = True, state: TaskState | None = None) -> MetricComparison:
    """Exact top-k under cosine, dot and L2, their overlaps, and the norms that explain them."""
    state = state or TaskState()
    lists: dict[str, Neighbours] = {}
    for i, metric in enumerate(METRICS):
        result = search(es, query, k, metric, where, resolve_kind(es, exact=True), exclude_self,
                        state.sub(i / 3, (i + 1) / 3))
        lists[metric] = result.neighbours
    norms_all = set_norms(es)
    norms = {m: np.asarray(norms_all[nb.rows], dtype=np.float32) for m, nb in lists.items()}
    overlap = {}
    for a, b in (("cosine", "dot"), ("cosine", "l2"), ("dot", "l2")):
        shared = len(set(lists[a].rows.tolist()) & set(lists[b].rows.tolist()))
        overlap[f"{a}/{b}"] = shared / max(1, min(len(lists[a].rows), len(lists[b].rows)))
    p5, p50, p95 = (float(v) for v in np.percentile(norms_all, [5, 50, 95]))
    qn = float(np.linalg.norm(query.vector))
    return MetricComparison(query, k, lists, overlap, norms, qn,
                            {"p5": p5, "p50": p50, "p95": p95},
                            explain(overlap, norms, qn, p5, p50, p95))


def explain(overlap: dict[str, float], norms: dict[str, np.ndarray], query_norm: float,
            p5: float, p50: float, p95: float) -> str:
    """Why the three lists differ, in a sentence or three, from the norms."""
    spread = p95 / p5 if p5 > 0 else float("inf")
    if spread < 1.02:
        return ("All vectors have (almost) the same length, so cosine, dot and L2 rank items "
                "the same way; any difference is ties.")
    med = {m: float(np.median(v)) if len(v) else 0.0 for m, v in norms.items()}
    lines = [f"Vector lengths vary: the 95th percentile norm is {spread:.1f}x the 5th "
             f"(median {p50:.3g})."]
    if med["dot"] > 1.1 * med["cosine"]:
        lines.append(f"Dot product favours long vectors: its items' median norm is "
                     f"{med['dot']:.3g} against {med['cosine']:.3g} for cosine's.")
    if abs(med["l2"] - query_norm) < abs(med["cosine"] - query_norm) - 0.05 * p50 \
            or abs(med["l2"] - query_norm) < 0.1 * query_norm:
        lines.append(f"L2 favours items about as long as the query (|q| = {query_norm:.3g}; "
                     f"its items' median norm {med['l2']:.3g}).")
    if min(overlap.values()) >= 0.999:
        lines.append("Here the choice of metric does not change the answer.")
    elif overlap["cosine/dot"] <= 0.5:
        lines.append("Cosine and dot disagree on half the items or more: the choice matters "
                     "for this query.")
    return " ".join(lines)
