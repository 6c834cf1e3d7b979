"""Trained, filled compressed indexes: transform + faiss codec, searched like the real thing.

Every method runs on `xb`, the rows as the metric sees them (unit rows for cosine), so
cosine is the inner product of unit vectors, dot the inner product, l2 the L2 distance.
Queries are not compressed (faiss' asymmetric distance), except for binary codes, where
the query is sign-coded too and compared by Hamming distance. Scalar-quantised codes are
scanned in blocks: each block decoded (the values faiss' own SQ distance uses) and scored
with one BLAS product, results merged in a heap; faiss' IndexScalarQuantizer decodes per
pair and is 3-10x slower for the same lists.

Training (PCA, scalar-quantizer ranges, PQ / OPQ codebooks, the binary centre) uses a
seeded sample of at most TRAIN_ROWS rows, with bounded iterations (PQ_NITER k-means
iterations, OPQ_NITER alternations): OPQ with faiss' defaults on 100k x 384 takes minutes.
`Codec.trained_on` says what was used.

`make_codec` builds a method's codec through explorer.plugins: this Codec for the built-in
codecs, a plugin's class (the same interface) for a plugin's.
"""

from __future__ import annotations

import time

import numpy as np

from explorer import plugins
from explorer.compute.compression.methods import Method
from explorer.compute.vectors import unit
from explorer.core.errors import InputError

TRAIN_ROWS = 20_000
PQ_NITER = 15  # k-means iterations per sub-quantizer (faiss default 25)
OPQ_NITER = 8  # OPQ rotation / codebook alternations (faiss default 50)
OPQ_NITER_PQ0 = 10  # k-means iterations of OPQ's first PQ (faiss default 40)
ENCODE_STEP = 65_536
SCAN_BLOCK = 16_384  # scalar-quantised rows decoded at a time by a search
SCALAR = ("fp16", "sq8", "sq6", "sq4")


def make_codec(method: Method, metric: str):
    """A method's untrained codec (`.build(...)` trains and fills it), from its contribution."""
    entry = plugins.registry().find("compression", method.codec)
    if entry is None:  # a plugin's codec whose plugin went away since the name was parsed
        raise InputError(f"no compression codec named {method.codec!r} is installed",
                         hint=plugins.HINT)
    return entry.call(entry.spec.target, method, metric)


def train_rows(n: int, seed: int = 0, limit: int = TRAIN_ROWS) -> np.ndarray:
    """Sorted sample of rows the codecs are trained on (all rows when n <= limit)."""
    if n <= limit:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


class Transform:
    """x -> x' (n, t): a prefix (re-normalised for cosine), PCA or random projection."""

    def __init__(self, method: Method, d: int, metric: str) -> None:
        self.kind, self.t, self.metric = method.transform, method.dims(d), metric
        self.matrix: np.ndarray | None = None  # (d, t) for pca / rp

    def fit(self, sample: np.ndarray, seed: int) -> None:
        d = sample.shape[1]
        if self.kind == "pca":
            # uncentred: the top eigenvectors of the second-moment matrix, so inner products
            # are approximated as they are (a centred PCA drops the mean's share of every
            # dot product); for unit rows the mean direction is then the first component
            s = sample.astype(np.float64)
            _, vecs = np.linalg.eigh(s.T @ s / len(s))
            self.matrix = np.ascontiguousarray(vecs[:, ::-1][:, :self.t], dtype=np.float32)
        elif self.kind == "rp":
            rng = np.random.default_rng(seed)
            self.matrix = (rng.standard_normal((d, self.t)) / np.sqrt(self.t)).astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.kind is None:
            return np.ascontiguousarray(x, dtype=np.float32)
        if self.kind == "trunc":
            y = np.ascontiguousarray(x[:, :self.t], dtype=np.float32)
            return unit(y) if self.metric == "cosine" else y
        return np.ascontiguousarray(x @ self.matrix, dtype=np.float32)

    @property
    def fixed_bytes(self) -> int:
        return 0 if self.matrix is None else int(self.matrix.nbytes)


class Codec:
    """A method trained on a sample of `xb` and holding every row's code."""

    def __init__(self, method: Method, metric: str) -> None:
        self.method, self.metric = method, metric
        self.transform: Transform | None = None
        self.index = None  # faiss Index / IndexBinary
        self.centre: np.ndarray | None = None  # binary codes: the sample mean
        self.xb: np.ndarray | None = None  # binary re-ranking: the float32 rows
        self.train_seconds = 0.0
        self.encode_seconds = 0.0
        self.trained_on: dict = {}

    # --- building --------------------------------------------------------------
    def build(self, xb: np.ndarray, sample_rows: np.ndarray, seed: int, state) -> "Codec":
        import faiss

        method, metric = self.method, self.metric
        n, d = xb.shape
        t = method.dims(d)
        start = time.perf_counter()
        self.transform = Transform(method, d, metric)
        sample = np.ascontiguousarray(xb[sample_rows], dtype=np.float32)
        self.transform.fit(sample, seed)
        tsample = self.transform(sample)
        faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
        info: dict = {"sample_rows": int(len(sample_rows))}
        if method.codec == "binary":
            self.centre = tsample.mean(axis=0).astype(np.float32)
            self.index = faiss.IndexBinaryFlat(8 * method.bytes_per_vector(d))
            if method.rerank:
                self.xb = xb
        elif method.codec == "flat":
            self.index = faiss.IndexFlat(t, faiss_metric)
            info = {}  # nothing to train beyond the transform
        elif method.codec in ("fp16", "sq8", "sq6", "sq4"):
            qt = {"fp16": faiss.ScalarQuantizer.QT_fp16, "sq8": faiss.ScalarQuantizer.QT_8bit,
                  "sq6": faiss.ScalarQuantizer.QT_6bit,
                  "sq4": faiss.ScalarQuantizer.QT_4bit}[method.codec]
            self.index = faiss.IndexScalarQuantizer(t, qt, faiss_metric)
            self.index.train(tsample)
            if method.codec == "fp16":
                info = {}
        else:
            pq = faiss.IndexPQ(t, method.m, 8, faiss_metric)
            pq.pq.cp.niter = PQ_NITER
            pq.pq.cp.seed = seed + 1234
            pq.pq.cp.min_points_per_centroid = 1  # small sets: no warning (trained_on says)
            info["pq_iterations"] = PQ_NITER
            if method.codec == "opq":
                opq = faiss.OPQMatrix(t, method.m)
                opq.niter = OPQ_NITER
                opq.niter_pq_0 = OPQ_NITER_PQ0
                inner = faiss.ProductQuantizer(t, method.m, 8)  # the PQ OPQ alternates with
                inner.cp.seed = seed + 1234
                inner.cp.min_points_per_centroid = 1  # as above: no warning per iteration
                opq.pq = inner
                info["opq_iterations"] = OPQ_NITER
                self.index = faiss.IndexPreTransform(opq, pq)
                self._keep = (opq, pq, inner)  # the Python objects own the C++ ones
            else:
                self.index = pq
            self.index.train(tsample)
        if method.transform == "pca":
            info["sample_rows"] = int(len(sample_rows))
        self.trained_on = info
        self.train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for lo in range(0, n, ENCODE_STEP):
            self._add(self.transform(np.asarray(xb[lo:lo + ENCODE_STEP], dtype=np.float32)))
            state.progress(min(n, lo + ENCODE_STEP), n)
        self.encode_seconds = time.perf_counter() - start
        return self

    def _signs(self, y: np.ndarray) -> np.ndarray:
        """Packed sign bits of y - centre, padded with zero bits to whole bytes."""
        bits = np.zeros((len(y), 8 * ((y.shape[1] + 7) // 8)), dtype=bool)
        bits[:, :y.shape[1]] = y > self.centre
        return np.packbits(bits, axis=1)

    def _add(self, y: np.ndarray) -> None:
        self.index.add(self._signs(y) if self.method.codec == "binary" else y)

    # --- sizes -----------------------------------------------------------------
    @property
    def code_size(self) -> int:
        return int(self.index.code_size if self.method.codec == "binary"
                   else self.index.sa_code_size())

    @property
    def fixed_bytes(self) -> int:
        """Trained parameters: transform matrix, SQ ranges, codebooks, OPQ rotation, centre."""
        import faiss

        total = self.transform.fixed_bytes if self.transform is not None else 0
        codec = self.method.codec
        if codec == "binary":
            total += int(self.centre.nbytes)
        elif codec in ("sq8", "sq6", "sq4"):
            total += 4 * int(self.index.sq.trained.size())
        elif codec in ("pq", "opq"):
            pq = faiss.downcast_index(self.index.index) if codec == "opq" else self.index
            total += 4 * int(pq.pq.centroids.size())
            if codec == "opq":
                total += 4 * int(faiss.downcast_VectorTransform(self.index.chain.at(0)).A.size())
        return total

    # --- searching ---------------------------------------------------------------
    def search(self, queries: np.ndarray, want: int) -> np.ndarray:
        """Row ids (nq, <= want) of the best rows for each query (-1 where none)."""
        y = self.transform(queries)
        if self.method.codec in SCALAR:
            return self._scan_decoded(y, want)
        if self.method.codec != "binary":
            return self.index.search(y, want)[1]
        r = self.method.rerank
        _, cand = self.index.search(self._signs(y), max(want, r) if r else want)
        if not r:
            return cand
        out = np.full((len(queries), min(want, r)), -1, dtype=np.int64)
        for i in range(len(queries)):
            c = cand[i][cand[i] >= 0]
            x = np.asarray(self.xb[np.sort(c)], dtype=np.float32)
            if self.metric == "l2":
                s = -np.einsum("ij,ij->i", x - queries[i], x - queries[i])
            else:
                s = x @ queries[i]
            best = np.sort(c)[np.lexsort((np.sort(c), -s))][:out.shape[1]]
            out[i, :len(best)] = best
        return out

    def _scan_decoded(self, y: np.ndarray, want: int) -> np.ndarray:
        """Brute-force top-`want` over the scalar codes, a decoded block at a time."""
        import faiss

        n = self.index.ntotal
        codes = faiss.vector_to_array(self.index.codes).reshape(n, -1)
        l2 = self.metric == "l2"
        heap = faiss.ResultHeap(len(y), want, keep_max=not l2)
        for lo in range(0, n, SCAN_BLOCK):
            block = self.index.sa_decode(codes[lo:lo + SCAN_BLOCK])
            dist, ids = faiss.knn(y, block, min(want, len(block)),
                                  faiss.METRIC_L2 if l2 else faiss.METRIC_INNER_PRODUCT)
            heap.add_result(dist, np.where(ids >= 0, ids + lo, -1))
        heap.finalize()
        return heap.I

    def pair_scores(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
        """The codec's own score (cosine / dot / L2 distance) of each query with its rows.

        None for binary codes: a Hamming distance is not a similarity.
        """
        if self.method.codec == "binary":
            return None
        y = self.transform(queries)
        rec = self.index.reconstruct_batch(rows.ravel().astype(np.int64))
        rec = rec.reshape(rows.shape[0], rows.shape[1], -1)
        if self.metric == "l2":
            return np.sqrt(((rec - y[:, None, :]) ** 2).sum(axis=2))
        return np.einsum("qkt,qt->qk", rec, y)
