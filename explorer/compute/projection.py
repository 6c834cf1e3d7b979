"""Maps of an embedding set: PCA, UMAP, t-SNE (and identity for sets that are already 2-D/3-D).

Every method is a job: `project(vectors, params, state)` reports progress,
honours cancellation, and UMAP and t-SNE hand intermediate layouts to
`state.partial` while they optimise, always as a float32 array of shape
(n, dims) covering every input row (rows placed from a sample get their place
from their fitted neighbours), so the UI can draw the map as it forms.

Vectors may be a read-only memory map of millions of rows: nothing here copies
the whole matrix. PCA fits on a sample and transforms in chunks; UMAP and t-SNE
fit on all rows up to a size and on a sample above it (`params.sample`, with
an automatic default), placing the other rows at the weighted mean of their
nearest fitted neighbours' coordinates. For metric "cosine" the rows are
L2-normalised first (zero rows stay zero).

UMAP runs umap-learn's algorithm (0.5.12: fuzzy simplicial set, spectral
initialisation, the same SGD epochs and random number generator) through
kernels compiled once per installation (see `explorer.compute.numba.umap_kernels`) and a kNN graph
from faiss; the epochs are driven from here, which is what gives partial
layouts and cancellation between epochs without relying on umap internals.
t-SNE runs openTSNE on the same kNN graph, with its callbacks for partial
layouts and cancellation (scikit-learn's TSNE is the fallback).

Reproducibility: PCA and t-SNE are deterministic for a seed; UMAP is too below
PARALLEL_MIN fitted rows (epochs on one thread), and above it runs its epochs on
every core like umap-learn without a seed (about twice as fast on two cores, not
bit-identical between runs; the cache keeps the first result).

The methods are the projection contributions of explorer.plugins: the built-ins here
(declared in explorer/contributions.py) and any plugin's, each called as
`fit(vectors, params, state) -> (coords, info)`; `fit_sample` does the reading, sampling and
placing for a plugin's method.

`cached_project` keeps results of library sets as artefacts, keyed by
`ProjectionParams.key()`, which includes a version number per method: bump the method's
`version` in its declaration when a change alters results.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import mmap
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer import plugins
from explorer.compute.numba import run_parallel
from explorer.compute.numba.umap_kernels import membership_strengths, run_epoch, smooth_knn_dist
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.vector_checks import chunk_rows

if TYPE_CHECKING:
    from explorer.core.embedding_set import EmbeddingSet

METRICS = ("cosine", "euclidean")
_METRIC_ALIASES = {"cosine": "cosine", "euclidean": "euclidean", "l2": "euclidean",
                   "dot": "euclidean"}

PCA_FIT_ROWS = 100_000         # PCA: mean and covariance from at most this many rows
UMAP_SAMPLE_ABOVE = 200_000    # UMAP: above this many rows, fit on a sample ...
UMAP_AUTO_SAMPLE = 100_000     # ... of this many rows and place the rest
TSNE_SAMPLE_ABOVE = 50_000     # t-SNE (openTSNE, ~45 s for 20k rows on 2 cores): sample above ...
TSNE_AUTO_SAMPLE = 50_000      # ... this many
EXACT_KNN_MAX = 15_000         # exact (flat) kNN up to here, HNSW above
PARALLEL_MIN = 10_000          # multi-threaded (non-deterministic) UMAP epochs from here
PARTIAL_STEPS = 20             # intermediate layouts per optimisation (every 5%)
QUERY_CHUNK = 8192             # rows per faiss search call (cancellation granularity)
# Rows outside a fitted sample go to the weighted mean of their PLACE_K nearest fitted rows,
# found with HNSW at efSearch PLACE_EF: at 1M rows this search is the largest cost (8 and 16
# instead of 10 and 32 cut it by a third; trustworthiness moved by 0.002).
PLACE_K = 8
PLACE_EF = 16


# --- methods, parameters and results ----------------------------------------------------

def methods() -> tuple[str, ...]:
    """Every projection method: the built-ins, then plugins' (see explorer.plugins)."""
    return plugins.registry().names("projection")


def algorithm_version(method: str) -> int:
    """Part of the cache key: a method's cached results stand until its version changes."""
    return _method(method).spec.version


def _method(name: str) -> plugins.Entry:
    entry = plugins.registry().find("projection", name)
    if entry is None:
        raise ValueError(f"unknown projection method {name!r}; expected one of {methods()}")
    return entry


@dataclass(frozen=True)
class ProjectionParams:
    method: str = "pca"          # "pca" | "umap" | "tsne" | "identity" | a plugin's
    dims: int = 2
    sample: int | None = None    # rows to fit on (None: automatic, see the *_SAMPLE constants)
    n_neighbors: int = 15        # UMAP
    min_dist: float = 0.1        # UMAP
    perplexity: float = 30.0     # t-SNE
    metric: str = "cosine"       # "cosine" | "euclidean" ("l2"; "dot" maps raw vectors like l2)
    seed: int = 0

    def __post_init__(self) -> None:
        _method(self.method)
        if self.dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {self.dims}")
        metric = _METRIC_ALIASES.get(self.metric)
        if metric is None:
            raise ValueError(f"unknown metric {self.metric!r}; expected one of "
                             f"{sorted(_METRIC_ALIASES)}")
        object.__setattr__(self, "metric", metric)
        if self.sample is not None and int(self.sample) < 2:
            raise ValueError("sample must be at least 2 rows")
        if self.n_neighbors < 2:
            raise ValueError("n_neighbors must be at least 2")
        if not self.perplexity > 0:
            raise ValueError("perplexity must be positive")

    def relevant(self) -> dict:
        """The fields that change this method's result."""
        out: dict[str, Any] = {"method": self.method, "dims": self.dims}
        if self.method == "identity":
            return out
        out.update(metric=self.metric, sample=self.sample)
        if self.method == "umap":
            out.update(n_neighbors=self.n_neighbors, min_dist=float(self.min_dist), seed=self.seed)
        elif self.method == "tsne":
            out.update(perplexity=float(self.perplexity), seed=self.seed)
        elif self.method != "pca":  # a plugin's method: the knobs it may read
            out.update(n_neighbors=self.n_neighbors, seed=self.seed)
        return out

    def key(self) -> str:
        """Stable, filesystem-safe cache key, e.g. `umap-2d-v1-3f9a0c1b2d4e`."""
        version = algorithm_version(self.method)
        blob = json.dumps({**self.relevant(), "version": version},
                          sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return f"{self.method}-{self.dims}d-v{version}-{digest}"


@dataclass
class Projection:
    coords: np.ndarray           # float32 (n, dims); read-only memory map when loaded from cache
    params: ProjectionParams
    seconds: float
    info: dict = field(default_factory=dict)


def default_params(dim: int, count: int, metric: str = "cosine") -> ProjectionParams:
    """What to show first: the set itself when it is 2-D/3-D, else PCA (fast at any size)."""
    metric = metric if metric in _METRIC_ALIASES else "cosine"
    if dim <= 3:
        return ProjectionParams(method="identity", dims=3 if dim == 3 else 2, metric=metric)
    return ProjectionParams(method="pca", dims=2, metric=metric)


# --- entry points ----------------------------------------------------------------------

def project(vectors: np.ndarray, params: ProjectionParams, state: TaskState | None = None,
            *, _n_epochs: int | None = None, _parallel: bool | None = None) -> Projection:
    """Compute the map of `vectors` (n, d) described by `params`."""
    state = state or TaskState()
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D, got shape {vectors.shape}")
    n = vectors.shape[0]
    if n == 0:
        return Projection(np.zeros((0, params.dims), np.float32), params, 0.0, {"count": 0})
    t0 = time.perf_counter()
    entry = _method(params.method)
    hooks = {k: v for k, v in (("n_epochs", _n_epochs), ("parallel", _parallel)) if v is not None}
    result = entry.call(entry.spec.target, vectors, params, state, **hooks)
    coords, info = result if entry.origin.builtin else _checked(entry, result, n, params.dims)
    state.progress(1)
    info = {"count": int(n), **info}
    return Projection(coords, params, time.perf_counter() - t0, _jsonable(info))


def cached_project(es: EmbeddingSet, params: ProjectionParams,
                   state: TaskState | None = None) -> Projection:
    """`project` with results of library sets kept under the set's artefacts."""
    from explorer.core.artifacts import ArtifactStore

    state = state or TaskState()
    store = ArtifactStore(es.path) if es.path is not None else None
    key = params.key()
    if store is not None:
        hit = store.load("projection", key)
        if hit is not None:
            coords, meta = hit
            if coords.shape == (es.count, params.dims) and coords.dtype == np.float32:
                info = dict(meta.get("info") or {})
                info["cached"] = True
                state.progress(1)
                return Projection(coords, params, float(meta.get("seconds", 0.0)), info)
    result = project(es.vectors, params, state)
    if store is not None:
        try:
            store.save("projection", key, result.coords,
                       {"params": asdict(params), "seconds": result.seconds,
                        "info": result.info})
        except (OSError, ValueError):
            pass  # a read-only or full disk costs a recomputation next time, nothing more
    result.info["cached"] = False
    return result


def run_projection(vectors_or_set, params: ProjectionParams, out: str | Path | None = None,
                   state: TaskState | None = None) -> dict:
    """The CLI's `project`: map, measure trustworthiness/continuity on a sample, write Parquet."""
    from explorer.compute.fidelity import trustworthiness_continuity
    from explorer.core.embedding_set import EmbeddingSet

    state = state or TaskState()
    if isinstance(vectors_or_set, EmbeddingSet):
        vectors = vectors_or_set.vectors
        result = cached_project(vectors_or_set, params, state.sub(0.0, 0.85))
    else:
        vectors = np.asarray(vectors_or_set) if not isinstance(vectors_or_set, np.ndarray) \
            else vectors_or_set
        result = project(vectors, params, state.sub(0.0, 0.85))
    state.status("Measuring trustworthiness")
    n = vectors.shape[0]
    # k=10 on a 2000-row sample (k is lowered for tiny sets; None when there are < 3 rows)
    fid = trustworthiness_continuity(vectors, result.coords, k=10, sample=2000,
                                     metric=params.metric, seed=params.seed)
    trust, cont = fid["trustworthiness"], fid["continuity"]
    written = None
    if out is not None:
        state.status("Writing coordinates")
        written = str(write_coords(result.coords, out))
    state.progress(1)
    return {"method": params.method, "count": int(n), "dims": params.dims,
            "seconds": round(result.seconds, 3), "trustworthiness": trust, "continuity": cont,
            "cached": bool(result.info.get("cached", False)), "out": written}


def fit_sample(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
               fit: Callable[[np.ndarray, TaskState], np.ndarray], *, auto_sample: int,
               label: str) -> tuple[np.ndarray, dict]:
    """A plugin method's fit, at any size: `fit(x, state)` maps rows x (m, d) to (m, dims).

    x is float32, non-finite values zeroed, L2-normalised for cosine; all rows up to
    `auto_sample` (or `params.sample`), else a seeded sample, the other rows placed at the
    weighted mean of their nearest fitted rows as UMAP and t-SNE do.
    """
    n = vectors.shape[0]
    cos = params.metric == "cosine"
    m = _fit_size(n, params.sample, auto_sample, auto_sample)
    rows = _sample_rows(n, m, params.seed)
    sampled = rows is not None
    state.status(f"{label}: reading {m:,} rows" + (f" (a sample of {n:,})" if sampled else ""))
    x = _gather(vectors, rows, cos, state.sub(0.0, 0.05))
    placement = None
    if sampled:
        state.status(f"{label}: finding fitted neighbours of the other {n - m:,} rows")
        index = _KnnIndex(x, params.metric, state.sub(0.05, 0.1))
        placement = _place(vectors, rows, index, PLACE_K, cos, state.sub(0.1, 0.3))
        del index
    state.status(f"{label}: fitting {m:,} rows")
    emb = np.asarray(fit(x, state.sub(0.3 if sampled else 0.05, 0.99)), dtype=np.float32)
    if emb.shape != (m, params.dims):
        raise ValueError(f"{label} gave coordinates of shape {emb.shape}, "
                         f"expected {(m, params.dims)}")
    coords = placement.full(emb) if placement is not None else emb
    return coords, {"fit_rows": int(m), "placed": "knn-weighted-mean" if sampled else None}


def _checked(entry: plugins.Entry, result: Any, n: int, dims: int) -> tuple[np.ndarray, dict]:
    """A plugin's result as the map needs it: finite float32 (n, dims) and a dict."""
    try:
        coords, info = result
        coords = np.ascontiguousarray(coords, dtype=np.float32)
    except (TypeError, ValueError):
        raise entry.fail(f"returned {type(result).__name__}, not (coordinates, info)") from None
    if coords.shape != (n, dims) or not isinstance(info, dict):
        raise entry.fail(f"returned coordinates of shape {coords.shape} and "
                         f"{type(info).__name__} info, expected ({n}, {dims}) and a dict")
    if not np.isfinite(coords).all():
        raise entry.fail("returned coordinates that are not all finite")
    return coords, info


def write_coords(coords: np.ndarray, out: str | Path) -> Path:
    """Parquet (or CSV) with columns x, y[, z] (float32) and row (int64), written atomically."""
    import pyarrow as pa

    from explorer.core.export import write_table

    names = ["x", "y", "z"][: coords.shape[1]]
    table = pa.table({**{nm: pa.array(np.asarray(coords[:, i], dtype=np.float32))
                         for i, nm in enumerate(names)},
                      "row": pa.array(np.arange(coords.shape[0], dtype=np.int64))})
    return write_table(table, Path(out))


# --- identity --------------------------------------------------------------------------

def _identity(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
              ) -> tuple[np.ndarray, dict]:
    n, d = vectors.shape
    dims = params.dims
    coords = np.zeros((n, dims), dtype=np.float32)
    take = min(d, dims)
    step = chunk_rows(d)
    for start in range(0, n, step):
        coords[start:start + step, :take] = vectors[start:start + step, :take]
        state.progress(min(n, start + step), n)
    return coords, {"columns": take}


# --- reading rows ----------------------------------------------------------------------

def _release(vectors: np.ndarray) -> None:
    """Drop this process's mapping of pages read so far (they stay in the page cache)."""
    mapping = getattr(vectors, "_mmap", None) if isinstance(vectors, np.memmap) else None
    if mapping is None and isinstance(getattr(vectors, "base", None), mmap.mmap):
        mapping = vectors.base
    if mapping is not None:
        try:
            mapping.madvise(mmap.MADV_DONTNEED)
        except (AttributeError, OSError, ValueError):
            pass


def _clean(chunk: np.ndarray, normalise: bool) -> np.ndarray:
    """float32 copy with non-finite values zeroed and (for cosine) rows L2-normalised."""
    x = np.array(chunk, dtype=np.float32, copy=True, order="C")
    if not np.isfinite(x).all():
        np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    if normalise:
        norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(np.float32)
        np.divide(x, norms[:, None], out=x, where=norms[:, None] > 0)
    return x


def _prefetch(vectors: np.ndarray, start: int, stop: int) -> None:
    """Ask the kernel to read rows start:stop of a memory-mapped file ahead (MADV_WILLNEED).

    Issued for the next chunk while this one is processed, so reading a set that is not
    in the page cache overlaps with computing instead of faulting in page by page.
    """
    mapping = getattr(vectors, "_mmap", None) if isinstance(vectors, np.memmap) else None
    if mapping is None or start >= stop or not vectors.flags.c_contiguous:
        return
    try:
        base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
        row_bytes = vectors.strides[0]
        begin = vectors.ctypes.data - base + start * row_bytes
        end = vectors.ctypes.data - base + stop * row_bytes
        begin -= begin % mmap.PAGESIZE
        end = min(end, len(mapping))
        if end > begin >= 0:
            mapping.madvise(mmap.MADV_WILLNEED, begin, end - begin)
    except (AttributeError, OSError, ValueError, TypeError, BufferError):
        pass


def _block_sample(n: int, m: int, seed: int, block: int = 512) -> np.ndarray | None:
    """Sorted rows of ~m/block runs of `block` consecutive rows, one run in each of as many
    equal slices of 0..n (random offset inside each slice), or None for all rows.

    Used to fit PCA: reading runs touches ~m rows' worth of pages (sequential I/O) where
    m random rows would touch almost every page of the file, and one run in every slice
    still samples every part of a file sorted by, say, category.
    """
    if m >= n:
        return None
    if 2 * m > n:
        return _sample_rows(n, m, seed)
    nblocks = max(1, m // block)
    sizes = np.full(nblocks, m // nblocks, dtype=np.int64)
    sizes[: m % nblocks] += 1                      # exactly m rows
    width = n / nblocks                            # >= 2 * max(sizes) - 1: runs never overlap
    rng = np.random.default_rng(seed)
    starts = np.arange(nblocks) * width + rng.uniform(0, 1, nblocks) * (width - sizes)
    starts = starts.astype(np.int64)
    return np.concatenate([np.arange(s, s + k) for s, k in zip(starts, sizes)])


def _sample_rows(n: int, m: int, seed: int) -> np.ndarray | None:
    """Sorted row numbers of a deterministic random sample, or None for all rows."""
    if m >= n:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64)


def _gather(vectors: np.ndarray, rows: np.ndarray | None, normalise: bool,
            state: TaskState) -> np.ndarray:
    """Rows (all when None) as a cleaned float32 (m, d) array, read in chunks."""
    n, d = vectors.shape
    m = n if rows is None else rows.size
    out = np.empty((m, d), dtype=np.float32)
    step = chunk_rows(d)
    for start in range(0, m, step):
        stop = min(m, start + step)
        chunk = vectors[start:stop] if rows is None else vectors[rows[start:stop]]
        out[start:stop] = _clean(chunk, normalise)
        state.progress(stop, m)
    _release(vectors)
    return out


def _fit_size(n: int, sample: int | None, above: int, auto: int) -> int:
    if sample is not None:
        return min(n, int(sample))
    return auto if n > above else n


# --- PCA -------------------------------------------------------------------------------

def _pca(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
         ) -> tuple[np.ndarray, dict]:
    """Exact PCA of (a sample of) the rows; transform all rows in chunks."""
    n, d = vectors.shape
    cos = params.metric == "cosine"
    m = min(n, params.sample or PCA_FIT_ROWS)
    rows = _block_sample(n, m, params.seed)
    m = n if rows is None else int(rows.size)
    state.status("PCA: fitting" + (f" on {m:,} of {n:,} rows" if rows is not None else ""))
    mean, components, evr, total_var = pca_fit(vectors, rows, params.dims, cos,
                                               state.sub(0.0, 0.45))
    state.status("PCA: placing every row")
    coords = pca_transform(vectors, mean, components, cos, state.sub(0.45, 1.0))
    return coords, {"explained_variance_ratio": [float(v) for v in evr],
                    "fit_rows": int(m), "total_variance": float(total_var)}


def pca_fit(vectors: np.ndarray, rows: np.ndarray | None, dims: int, normalise: bool,
            state: TaskState | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mean (d,), components (dims, d) with sklearn's sign convention, explained variance ratio.

    One pass over the rows in chunks accumulating float64 sums around a shift
    (the first chunk's mean), so it is exact up to rounding and never holds more
    than a chunk. Components beyond the data's dimension are zero.
    """
    state = state or TaskState()
    n, d = vectors.shape
    m = n if rows is None else rows.size
    step = max(1, min(chunk_rows(d), 32768))
    shift = None
    total = np.zeros(d, dtype=np.float64)
    scatter = np.zeros((d, d), dtype=np.float64)
    for start in range(0, m, step):
        stop = min(m, start + step)
        if rows is None:
            _prefetch(vectors, stop, min(m, stop + step))
        elif stop < m:
            _prefetch(vectors, int(rows[stop]), int(rows[min(m, stop + step) - 1]) + 1)
        raw = vectors[start:stop] if rows is None else vectors[rows[start:stop]]
        # float32 products (sgemm, twice dgemm's speed) summed per chunk into float64:
        # centred on a shift, a chunk's sums lose nothing a 2-D map can show
        chunk = _clean(raw, normalise)
        if shift is None:
            shift = chunk.mean(axis=0, dtype=np.float64).astype(np.float32)
        chunk -= shift
        total += chunk.sum(axis=0, dtype=np.float64)
        scatter += chunk.T @ chunk
        state.progress(stop, m)
    _release(vectors)
    mean_shifted = total / m
    cov = (scatter - m * np.outer(mean_shifted, mean_shifted)) / max(1, m - 1)
    mean = shift.astype(np.float64) + mean_shifted
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    evals = np.clip(evals[order], 0.0, None)
    evecs = evecs[:, order]
    k = min(dims, d)
    comps = np.zeros((dims, d), dtype=np.float64)
    comps[:k] = evecs[:, :k].T
    # sklearn's svd_flip(u_based_decision=False): the largest |entry| of each component is > 0
    for i in range(k):
        j = int(np.argmax(np.abs(comps[i])))
        if comps[i, j] < 0:
            comps[i] = -comps[i]
    total_var = float(evals.sum())
    evr = np.zeros(dims)
    if total_var > 0:
        evr[:k] = evals[:k] / total_var
    return mean, comps, evr, total_var


def pca_transform(vectors: np.ndarray, mean: np.ndarray, components: np.ndarray,
                  normalise: bool, state: TaskState | None = None) -> np.ndarray:
    """(x [/|x|] - mean) @ components.T for every row, in chunks, without copying the matrix."""
    state = state or TaskState()
    n, d = vectors.shape
    dims = components.shape[0]
    w = np.ascontiguousarray(components.T, dtype=np.float32)     # (d, dims)
    offset = (mean @ components.T).astype(np.float32)             # (dims,)
    out = np.empty((n, dims), dtype=np.float32)
    step = chunk_rows(d)
    _prefetch(vectors, 0, min(n, step))
    for start in range(0, n, step):
        stop = min(n, start + step)
        _prefetch(vectors, stop, min(n, stop + step))
        chunk = np.asarray(vectors[start:stop])
        if chunk.dtype != np.float32:
            chunk = chunk.astype(np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            proj = chunk @ w
        bad = ~np.isfinite(proj).all(axis=1)
        if bad.any():  # rows with NaN/Inf: redo them with the offending values zeroed
            proj[bad] = _clean(chunk[bad], False) @ w
        if normalise:
            with np.errstate(invalid="ignore", over="ignore"):
                sq = np.einsum("ij,ij->i", chunk, chunk)
            if bad.any():
                clean_bad = _clean(chunk[bad], False)
                sq[bad] = np.einsum("ij,ij->i", clean_bad, clean_bad)
            norms = np.sqrt(sq, dtype=np.float32)
            np.divide(proj, norms[:, None], out=proj, where=norms[:, None] > 0)
        proj -= offset
        out[start:stop] = proj
        state.progress(stop, n)
        if start // step % 4 == 3:
            _release(vectors)
    _release(vectors)
    return out


# --- nearest neighbours (faiss) ------------------------------------------------------------

class _KnnIndex:
    """Exact flat index for small sets, HNSW for large ones; inner product on normalised rows."""

    def __init__(self, x: np.ndarray, metric: str, state: TaskState) -> None:
        import faiss

        self.metric = metric
        m, d = x.shape
        ip = metric == "cosine"
        self.exact = m <= EXACT_KNN_MAX
        if self.exact:
            self.index = faiss.IndexFlatIP(d) if ip else faiss.IndexFlatL2(d)
            self.index.add(x)
            state.progress(1)
        else:
            faiss_metric = faiss.METRIC_INNER_PRODUCT if ip else faiss.METRIC_L2
            self.index = faiss.IndexHNSWFlat(d, 16, faiss_metric)
            self.index.hnsw.efConstruction = 40
            step = max(QUERY_CHUNK, m // 50)
            for start in range(0, m, step):
                self.index.add(x[start:start + step])
                state.progress(min(m, start + step), m)

    def search(self, q: np.ndarray, k: int, state: TaskState,
               ef: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices int64 (q, k), distances float32 (q, k)); missing neighbours are -1."""
        if not self.exact:
            self.index.hnsw.efSearch = max(ef or 48, k + 8 if ef is None else k)
        nq = q.shape[0]
        ind = np.empty((nq, k), dtype=np.int64)
        dist = np.empty((nq, k), dtype=np.float32)
        step = QUERY_CHUNK
        if self.exact:  # brute force: keep each call near 1e10 flops (~0.2 s) for cancelling
            step = int(max(256, min(QUERY_CHUNK, 5e9 // max(1, self.index.ntotal * q.shape[1]))))
        for start in range(0, nq, step):
            s, i = self.index.search(q[start:start + step], k)
            ind[start:start + step] = i
            dist[start:start + step] = self._to_distance(s)
            state.progress(min(nq, start + step), nq)
        _fill_missing(ind, dist)
        return ind, dist

    def _to_distance(self, s: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":  # umap's cosine distance: 1 - cos
            return np.clip(1.0 - s, 0.0, 2.0)
        return np.sqrt(np.maximum(s, 0.0))


def _fill_missing(ind: np.ndarray, dist: np.ndarray) -> None:
    """Give missing neighbours (-1) a finite distance (the row's largest) so kernels stay sane."""
    missing = ind < 0
    if missing.any():
        masked = np.where(missing, -np.inf, dist)
        row_max = masked.max(axis=1)
        row_max[~np.isfinite(row_max)] = 1.0
        dist[missing] = np.broadcast_to(row_max[:, None], dist.shape)[missing]


def _self_first(ind: np.ndarray, dist: np.ndarray) -> None:
    """Make column 0 the row itself (duplicates can push it down or out), as umap expects."""
    rows = np.arange(ind.shape[0])
    bad = np.flatnonzero(ind[:, 0] != rows)
    for r in bad:
        where = np.flatnonzero(ind[r] == r)
        if where.size:
            j = where[0]
            ind[r, 1:j + 1] = ind[r, :j].copy()
            dist[r, 1:j + 1] = dist[r, :j].copy()
        else:
            ind[r, 1:] = ind[r, :-1].copy()
            dist[r, 1:] = dist[r, :-1].copy()
        ind[r, 0] = r
        dist[r, 0] = 0.0


# --- placement of rows outside the fitted sample ----------------------------------------------

class _Placement:
    """Rows outside the fitted sample, with weights over their nearest fitted rows."""

    def __init__(self, n: int, fit_rows: np.ndarray, rest: np.ndarray, ind: np.ndarray,
                 weights: np.ndarray) -> None:
        self.n = n
        self.fit_rows = fit_rows
        self.rest = rest
        self.ind = ind                # (r, k) int32 into the sample
        self.weights = weights        # (r, k) float32, rows sum to 1

    def full(self, fitted: np.ndarray) -> np.ndarray:
        out = np.empty((self.n, fitted.shape[1]), dtype=np.float32)
        out[self.fit_rows] = fitted
        step = 1 << 17
        for start in range(0, self.rest.size, step):
            sl = slice(start, start + step)
            out[self.rest[sl]] = np.einsum("rk,rkd->rd", self.weights[sl], fitted[self.ind[sl]])
        return out


def _place(vectors: np.ndarray, fit_rows: np.ndarray, index: _KnnIndex, k: int,
           normalise: bool, state: TaskState) -> _Placement:
    """kNN of every row outside the sample among the sample, weighted like umap's transform."""
    n, d = vectors.shape
    mask = np.ones(n, dtype=bool)
    mask[fit_rows] = False
    rest = np.flatnonzero(mask)
    k = max(1, min(k, fit_rows.size))
    ind = np.empty((rest.size, k), dtype=np.int32)
    weights = np.empty((rest.size, k), dtype=np.float32)
    step = chunk_rows(d)
    done = 0
    for start in range(0, n, step):
        stop = min(n, start + step)
        local = np.flatnonzero(mask[start:stop])
        if local.size == 0:
            continue
        q = _clean(vectors[start:stop][local] if local.size < stop - start
                   else vectors[start:stop], normalise)
        i, dist = index.search(q, k, state.sub(done / rest.size, (done + local.size) / rest.size),
                               ef=PLACE_EF)
        weights[done:done + local.size] = _membership_weights(i, dist, k)
        ind[done:done + local.size] = np.maximum(i, 0)
        done += local.size
        state.progress(done, rest.size)
        if start // step % 4 == 3:
            _release(vectors)
    _release(vectors)
    return _Placement(n, fit_rows, rest, ind, weights)


def _membership_weights(ind: np.ndarray, dist: np.ndarray, k: int) -> np.ndarray:
    """Row-normalised fuzzy memberships of query rows (umap's transform: local connectivity 0)."""
    d32 = np.ascontiguousarray(dist, dtype=np.float32)
    sigmas, rhos = _smooth_knn_dist(d32, float(k), 0.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        val = np.exp(-np.maximum(d32 - rhos[:, None], 0.0) / sigmas[:, None])
    val = np.where(sigmas[:, None] > 0, val, 1.0)
    val[ind < 0] = 0.0
    total = val.sum(axis=1, keepdims=True)
    uniform = np.where(ind >= 0, 1.0, 0.0)
    val = np.where(total > 0, val / np.where(total > 0, total, 1), uniform / np.maximum(
        uniform.sum(axis=1, keepdims=True), 1))
    return val.astype(np.float32)


# --- UMAP ------------------------------------------------------------------------------------

def _smooth_knn_dist(dist: np.ndarray, k: float, local_connectivity: float = 1.0):
    args = (np.ascontiguousarray(dist, dtype=np.float32), float(k), 64,
            float(local_connectivity), 1.0)
    return run_parallel(smooth_knn_dist, *args)  # compiled first, never under the lock


def fuzzy_graph(ind: np.ndarray, dist: np.ndarray, n_neighbors: int):
    """umap's fuzzy simplicial set (fuzzy union) of a kNN graph, as a scipy CSR matrix."""
    import scipy.sparse

    m = ind.shape[0]
    dist = np.ascontiguousarray(dist, dtype=np.float32)
    sigmas, rhos = _smooth_knn_dist(dist, float(n_neighbors), 1.0)
    rows, cols, vals = membership_strengths(
        np.ascontiguousarray(ind, dtype=np.int64), dist, sigmas, rhos, False)
    g = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(m, m)).tocsr()
    g.eliminate_zeros()
    t = g.transpose().tocsr()
    g = (g + t - g.multiply(t)).tocsr()
    g.eliminate_zeros()
    return g


@functools.lru_cache(maxsize=32)
def find_ab_params(spread: float, min_dist: float) -> tuple[float, float]:
    """umap's fit of 1 / (1 + a d^2b) to the offset exponential given by min_dist."""
    from scipy.optimize import curve_fit

    def curve(x, a, b):
        return 1.0 / (1.0 + a * x ** (2 * b))

    xv = np.linspace(0, spread * 3, 300)
    yv = np.zeros(xv.shape)
    yv[xv < min_dist] = 1.0
    yv[xv >= min_dist] = np.exp(-(xv[xv >= min_dist] - min_dist) / spread)
    params, _ = curve_fit(curve, xv, yv)
    return float(params[0]), float(params[1])


def _eigenmap(graph, dims: int, state: TaskState) -> np.ndarray | None:
    """Laplacian eigenmap of a connected graph (umap's spectral init); None when eigsh fails."""
    import scipy.sparse
    import scipy.sparse.linalg

    n = graph.shape[0]
    k = dims + 1
    if n <= k + 1:
        return None
    deg = np.asarray(graph.sum(axis=0)).ravel()
    sqrt_deg = np.sqrt(deg)
    inv = np.where(sqrt_deg > 0, 1.0 / np.where(sqrt_deg > 0, sqrt_deg, 1), 0.0)
    dinv = scipy.sparse.diags(inv)
    a = (dinv @ graph @ dinv).tocsr()      # normalised adjacency = I - normalised Laplacian

    def matvec(v):
        state.check()
        return a @ v

    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=matvec, matmat=matvec,
                                            dtype=np.float64)
    # umap asks ARPACK for the smallest eigenvalues of the Laplacian with sqrt(n) Lanczos
    # vectors; the largest of the normalised adjacency are the same vectors, and scipy's
    # default subspace (20) converges faster here (6 s instead of 9 s at 100k rows).
    try:
        if n <= 500:  # small graphs (tiny components): dense is faster and never fails
            vals, vecs = np.linalg.eigh(a.toarray())
        else:
            vals, vecs = scipy.sparse.linalg.eigsh(op, k, which="LA", tol=1e-4, v0=np.ones(n),
                                                   maxiter=n * 5)
    except Cancelled:
        raise
    except (scipy.sparse.linalg.ArpackError, ValueError, np.linalg.LinAlgError):
        return None
    order = np.argsort(vals)[::-1][1:k]
    return vecs[:, order]


def _spectral_init(graph, x: np.ndarray, dims: int, rng: np.random.RandomState,
                   state: TaskState) -> tuple[np.ndarray, str]:
    """umap's spectral initialisation, including its layout of disconnected components."""
    import scipy.sparse.csgraph

    n = graph.shape[0]
    n_comp, labels = scipy.sparse.csgraph.connected_components(graph, directed=False)
    if n_comp == 1:
        emb = _eigenmap(graph, dims, state)
        if emb is not None:
            return emb, "spectral"
        return _pca_init(x, dims), "pca"
    # disconnected: place components by their centroids, each laid out on its own
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_comp + 1))
    if n_comp > 2 * dims:
        centroids = np.stack([x[order[bounds[c]:bounds[c + 1]]].mean(axis=0)
                              for c in range(n_comp)])
        meta = _pca_init(centroids, dims) if n_comp > dims else None
        if meta is None or not np.isfinite(meta).all() or np.abs(meta).max() == 0:
            meta = rng.uniform(-1, 1, size=(n_comp, dims))
        meta = meta / np.abs(meta).max()
    else:
        kk = int(np.ceil(n_comp / 2.0))
        base = np.hstack([np.eye(kk), np.zeros((kk, max(0, dims - kk)))])[:, :dims]
        meta = np.vstack([base, -base])[:n_comp]
    # jitter coincident component positions
    meta = meta + rng.normal(scale=1e-3, size=meta.shape)
    from scipy.spatial import cKDTree
    nn_dist, _ = cKDTree(meta).query(meta, k=2)
    out = np.empty((n, dims), dtype=np.float64)
    for c in range(n_comp):
        members = order[bounds[c]:bounds[c + 1]]
        data_range = max(float(nn_dist[c, 1]) / 2.0, 1e-3)
        sub = None
        if members.size >= 2 * dims and members.size > dims + 1:
            sub = _eigenmap(graph[members][:, members], dims, state)
        if sub is None:
            sub = rng.uniform(-data_range, data_range, size=(members.size, dims))
        else:
            scale = np.abs(sub).max()
            sub = sub * (data_range / scale if scale > 0 else 1.0)
        out[members] = sub + meta[c]
        if c % 64 == 0:
            state.check()
    return out, f"spectral ({n_comp} components)"


def _pca_init(x: np.ndarray, dims: int) -> np.ndarray:
    mean, comps, _, _ = pca_fit(x, None, dims, False)
    return (x - mean) @ comps.T


def _umap(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
          n_epochs: int | None = None, parallel: bool | None = None,
          ) -> tuple[np.ndarray, dict]:
    n = vectors.shape[0]
    cos = params.metric == "cosine"
    dims = params.dims
    m = _fit_size(n, params.sample, UMAP_SAMPLE_ABOVE, UMAP_AUTO_SAMPLE)
    if m < 4:  # nothing to optimise: a PCA of so few points is the layout
        return _pca(vectors, replace(params, method="pca"), state)[0], {"fit_rows": int(m)}
    rows = _sample_rows(n, m, params.seed)
    sampled = rows is not None
    k = min(params.n_neighbors, m - 1)
    timings: dict[str, float] = {}
    # progress budget: read 5%, kNN 30%, placement search 20% if sampled, init 5%, epochs rest
    p_read, p_knn = 0.05, 0.35
    p_place = 0.55 if sampled else p_knn
    p_init = p_place + 0.05

    t = time.perf_counter()
    state.status(f"UMAP: reading {m:,} rows" + (f" (a sample of {n:,})" if sampled else ""))
    x = _gather(vectors, rows, cos, state.sub(0.0, p_read))
    timings["read"] = time.perf_counter() - t

    t = time.perf_counter()
    state.status(f"UMAP: finding {k} nearest neighbours of {m:,} rows")
    index = _KnnIndex(x, params.metric, state.sub(p_read, p_read + (p_knn - p_read) / 2))
    ind, dist = index.search(x, k, state.sub(p_read + (p_knn - p_read) / 2, p_knn))
    _self_first(ind, dist)
    timings["knn"] = time.perf_counter() - t

    placement = None
    if sampled:
        t = time.perf_counter()
        state.status(f"UMAP: finding fitted neighbours of the other {n - m:,} rows")
        placement = _place(vectors, rows, index, min(params.n_neighbors, PLACE_K), cos,
                           state.sub(p_knn, p_place))
        timings["place_search"] = time.perf_counter() - t
    del index

    t = time.perf_counter()
    state.status("UMAP: building the fuzzy graph and the spectral start")
    graph = fuzzy_graph(ind, dist, k)
    del ind, dist
    rng = np.random.RandomState(params.seed)
    if n_epochs is None:
        n_epochs = 500 if m <= 10_000 else 200
    coo = graph.tocoo()
    coo.sum_duplicates()
    coo.data[coo.data < coo.data.max() / float(max(n_epochs, 10))] = 0.0
    coo.eliminate_zeros()
    init, init_name = _spectral_init(coo.tocsr(), x, dims, rng, state)
    del x
    init = _noisy_scale(init, rng)
    state.progress(p_init)
    timings["graph_init"] = time.perf_counter() - t

    t = time.perf_counter()
    state.status(f"UMAP: optimising the layout ({n_epochs} epochs)")
    if parallel is None:
        parallel = m >= PARALLEL_MIN
    emb = optimize_layout(init, coo, params.min_dist, n_epochs, rng, parallel,
                          state.sub(p_init, 0.99),
                          (lambda e: placement.full(e)) if placement is not None else None)
    timings["optimise"] = time.perf_counter() - t
    coords = placement.full(emb) if placement is not None else emb
    info = {"fit_rows": int(m), "n_neighbors": int(k), "n_epochs": int(n_epochs),
            "init": init_name, "knn": "exact" if m <= EXACT_KNN_MAX else "hnsw",
            "parallel": bool(parallel), "edges": int(coo.nnz),
            "placed": "knn-weighted-mean" if sampled else None,
            "timings": {key: round(v, 3) for key, v in timings.items()}}
    return coords, info


def _noisy_scale(coords: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """umap: scale so the largest |coordinate| is 10, add tiny noise, then stretch to [0, 10]."""
    coords = np.asarray(coords, dtype=np.float64)
    peak = np.abs(coords).max()
    coords = (coords * (10.0 / peak if peak > 0 else 1.0)).astype(np.float32)
    coords = coords + rng.normal(scale=0.0001, size=coords.shape).astype(np.float32)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return (10.0 * (coords - lo) / span).astype(np.float32, order="C")


def optimize_layout(embedding: np.ndarray, graph, min_dist: float, n_epochs: int,
                    rng: np.random.RandomState, parallel: bool, state: TaskState,
                    full=None, partial_steps: int = PARTIAL_STEPS) -> np.ndarray:
    """umap's SGD over the graph's edges, one cached kernel call per epoch.

    Between epochs: progress (which raises Cancelled when asked to stop) and,
    every `n_epochs / partial_steps` epochs, an intermediate layout for
    `state.partial` (`full` maps the fitted rows' layout to all rows).
    """
    a, b = find_ab_params(1.0, float(min_dist))
    head = np.ascontiguousarray(graph.row, dtype=np.int32)
    tail = np.ascontiguousarray(graph.col, dtype=np.int32)
    weights = graph.data.astype(np.float64)
    epochs_per_sample = -1.0 * np.ones(weights.shape[0], dtype=np.float64)
    n_samples = n_epochs * (weights / weights.max())
    epochs_per_sample[n_samples > 0] = float(n_epochs) / n_samples[n_samples > 0]
    rng_state = rng.randint(np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1,
                            3).astype(np.int64)
    emb = np.ascontiguousarray(embedding, dtype=np.float32)
    m, dim = emb.shape
    rng_per_sample = (np.full((m, 3), rng_state, dtype=np.int64)
                      + emb[:, 0].astype(np.float64).view(np.int64).reshape(-1, 1))
    epochs_per_negative_sample = epochs_per_sample / 5.0
    next_negative = epochs_per_negative_sample.copy()
    next_sample = epochs_per_sample.copy()
    every = max(1, n_epochs // max(1, partial_steps))
    alpha = 1.0
    for epoch in range(n_epochs):
        run_epoch(parallel, emb, emb, head, tail, int(m), epochs_per_sample,
                  float(a), float(b), rng_per_sample, 1.0, int(dim), True,
                  float(alpha), epochs_per_negative_sample, next_negative,
                  next_sample, int(epoch))
        alpha = 1.0 * (1.0 - (float(epoch) / float(n_epochs)))
        state.progress(epoch + 1, n_epochs)
        if (epoch + 1) % every == 0 and epoch + 1 < n_epochs:
            state.partial(full(emb) if full is not None else emb.copy())
    return emb


# --- t-SNE -----------------------------------------------------------------------------------

def _tsne(vectors: np.ndarray, params: ProjectionParams, state: TaskState,
          ) -> tuple[np.ndarray, dict]:
    n = vectors.shape[0]
    cos = params.metric == "cosine"
    dims = params.dims
    m = _fit_size(n, params.sample, TSNE_SAMPLE_ABOVE, TSNE_AUTO_SAMPLE)
    if m < 5:
        return _pca(vectors, replace(params, method="pca"), state)[0], {"fit_rows": int(m)}
    rows = _sample_rows(n, m, params.seed)
    sampled = rows is not None
    perplexity = float(min(params.perplexity, (m - 1) / 3.0))
    k = min(m - 1, int(3 * perplexity))
    timings: dict[str, float] = {}
    p_read, p_knn = 0.03, 0.25
    p_place = 0.4 if sampled else p_knn

    t = time.perf_counter()
    state.status(f"t-SNE: reading {m:,} rows" + (f" (a sample of {n:,})" if sampled else ""))
    x = _gather(vectors, rows, cos, state.sub(0.0, p_read))
    timings["read"] = time.perf_counter() - t
    t = time.perf_counter()
    state.status(f"t-SNE: finding {k} nearest neighbours of {m:,} rows")
    index = _KnnIndex(x, params.metric, state.sub(p_read, (p_read + p_knn) / 2))
    ind, dist = index.search(x, k + 1, state.sub((p_read + p_knn) / 2, p_knn),
                             ef=max(64, k + 16))
    _self_first(ind, dist)
    ind, dist = ind[:, 1:], dist[:, 1:]
    if cos:  # t-SNE's Gaussian kernel wants Euclidean distances: on unit rows sqrt(2 (1 - cos))
        dist = np.sqrt(2.0 * dist)
    timings["knn"] = time.perf_counter() - t
    placement = None
    if sampled:
        t = time.perf_counter()
        state.status(f"t-SNE: finding fitted neighbours of the other {n - m:,} rows")
        placement = _place(vectors, rows, index, PLACE_K, cos, state.sub(p_knn, p_place))
        timings["place_search"] = time.perf_counter() - t
    del index
    init = _pca_init(x, dims)
    del x
    t = time.perf_counter()
    emb = _tsne_opentsne(ind, dist, init, perplexity, params.seed, state, p_place,
                         (lambda e: placement.full(e)) if placement is not None else None)
    timings["optimise"] = time.perf_counter() - t
    coords = placement.full(emb) if placement is not None else emb
    info = {"fit_rows": int(m), "perplexity": perplexity, "engine": "openTSNE",
            "knn": "exact" if m <= EXACT_KNN_MAX else "hnsw",
            "placed": "knn-weighted-mean" if sampled else None,
            "timings": {key: round(v, 3) for key, v in timings.items()}}
    return coords, info


def _tsne_opentsne(ind, dist, init, perplexity, seed, state, p0, full) -> np.ndarray:
    import logging

    from openTSNE import TSNE
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.initialization import rescale
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    logging.getLogger("openTSNE").setLevel(logging.ERROR)
    m = ind.shape[0]
    state.status("t-SNE: affinities")
    knn = PrecomputedNeighbors(np.ascontiguousarray(ind, dtype=np.int64),
                               np.ascontiguousarray(dist, dtype=np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aff = PerplexityBasedNN(knn_index=knn, perplexity=perplexity, n_jobs=_cores())
    init = rescale(np.asarray(init, dtype=np.float64), target_std=1e-4)
    early, late = 250, 500
    total = early + late
    every_partial = max(10, (total // PARTIAL_STEPS) // 10 * 10)
    phase = {"offset": 0, "last": 0}
    optimise_state = state.sub(p0 + 0.02, 0.99)
    state.status(f"t-SNE: optimising the layout ({total} iterations)")

    def callback(iteration, error, embedding):
        it = phase["offset"] + iteration
        if it < phase["last"]:  # second phase restarts its count at 0
            phase["offset"] = early
            it = early + iteration
        phase["last"] = it
        optimise_state.progress(it, total)   # raises Cancelled
        if it % every_partial == 0 and it < total:
            e = np.asarray(embedding, dtype=np.float32)
            state.partial(full(e) if full is not None else e.copy())
        return False

    tsne = TSNE(n_components=init.shape[1], perplexity=perplexity, early_exaggeration_iter=early,
                n_iter=late, n_jobs=_cores(), random_state=seed,
                # FFT interpolation is faster from ~10k rows but only exists for 1-2 dims
                negative_gradient_method="fft" if m > 10_000 and init.shape[1] <= 2 else "bh",
                callbacks=callback, callbacks_every_iters=5 if m > 20_000 else 10,
                verbose=False)
    emb = tsne.fit(affinities=aff, initialization=init)
    return np.asarray(emb, dtype=np.float32)


# --- helpers -----------------------------------------------------------------------------------

def _cores() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = ["Projection", "ProjectionParams", "algorithm_version", "cached_project",
           "default_params", "fit_sample", "fuzzy_graph", "methods", "optimize_layout", "pca_fit",
           "pca_transform", "project", "run_projection", "write_coords"]
