"""Projecting directions out: a derived set whose neighbours no longer see the concept.

And how far each item's neighbours moved, to judge what the removal cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.compute.concepts.arithmetic import check_same_space, span_basis
from explorer.compute.concepts.direction import check_dim
from explorer.compute.concepts.groups import cap_rows, check_rows
from explorer.compute.concepts.scoring import CHUNK
from explorer.compute.vectors import unit
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.jobs import TaskState


def removal_basis(directions) -> np.ndarray:
    """An orthonormal basis (dim, r) of the directions' span (dependent ones add nothing)."""
    directions = list(directions)
    if not directions:
        raise InputError("no direction to remove")
    check_same_space(directions, "remove")
    return span_basis(directions)


def remove_directions(es: EmbeddingSet, directions, library=None, name: str | None = None,
                      state: TaskState | None = None):
    """A derived library set with the directions projected out: x' = x - (x Q) Qᵀ.

    On the raw rows, whatever the metric: every item loses exactly its component
    in the directions' span, so its score on them becomes 0 and its projection
    on anything orthogonal to them is unchanged (for cosine sets the norms
    change, hence the cosines with other directions). Rows go chunk by chunk
    into a memory-mapped .npy in a hidden folder of the library, which the
    import then copies; the folder is removed afterwards (or by the next import,
    if this process is killed: core/partial_folders.py).
    """
    from explorer.core.errors import writing_into
    from explorer.core.library import LIBRARY_FOLDER, Library
    from explorer.core.partial_folders import partial_folder

    state = state or TaskState()
    directions = list(directions)
    for d in directions:
        check_dim(es, d)
    q = removal_basis(directions)
    library = library or Library()
    names = ", ".join(repr(d.name) for d in directions)
    with writing_into(library.sets_dir, LIBRARY_FOLDER):
        library.sets_dir.mkdir(parents=True, exist_ok=True)
        with partial_folder(library.sets_dir, "concepts") as work:
            n, dim = es.count, es.dim
            state.status("Projecting the directions out")
            # plain writes rather than a writable memory map: the rows go to the page cache,
            # not into this process's memory
            with open(work / "vectors.npy", "wb") as fh:
                np.lib.format.write_array_header_2_0(
                    fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                         "fortran_order": False, "shape": (n, dim)})
                for lo in range(0, n, CHUNK):
                    x = np.asarray(es.vectors[lo:lo + CHUNK], dtype=np.float64)
                    fh.write(np.ascontiguousarray(x - (x @ q) @ q.T, dtype=np.float32).data)
                    state.progress(min(n, lo + CHUNK), 2 * n)
            vectors = np.load(work / "vectors.npy", mmap_mode="r")
            note = (f"derived from {es.name!r}" + (f" ({es.library_id})" if es.library_id else "")
                    + f": projected out {names} ({q.shape[1]} dimension"
                    + ("s" if q.shape[1] != 1 else "") + " removed); same items, metadata, "
                    "metric and model")
            derived = EmbeddingSet(
                vectors=vectors, metadata=es.metadata, name=name or f"{es.name} without "
                + ", ".join(d.name for d in directions), format="derived",
                source=[es.library_id or es.name], metric=es.metric, model=es.model,
                vector_column=es.vector_column, id_column=es.id_column,
                text_column=es.text_column, label_column=es.label_column,
                notes=[*es.notes, note])
            entry = library.import_set(derived, state=state.sub(0.5, 1.0))
            del vectors, derived
            return entry


@dataclass
class RemovalEffect:
    """Overlap@k of each sampled query's neighbours before and after a removal."""

    k: int
    metric: str
    rows: np.ndarray = field(repr=False)  # the query rows
    overlaps: np.ndarray = field(repr=False)  # fraction shared, per query
    mean: float
    median: float

    def to_dict(self) -> dict:
        return {"k": self.k, "metric": self.metric, "queries": int(self.rows.size),
                "mean": self.mean, "median": self.median, "rows": self.rows.tolist(),
                "overlaps": self.overlaps.tolist(),
                "histogram": np.bincount(np.rint(self.overlaps * self.k).astype(np.int64),
                                         minlength=self.k + 1).tolist()}


def _knn(es: EmbeddingSet, queries: np.ndarray, k: int, state: TaskState) -> np.ndarray:
    """Exact k nearest rows (self excluded) of each query row: one chunked pass over the set."""
    metric = es.metric
    q = np.asarray(es.vectors[queries], dtype=np.float32)
    if metric == "cosine":
        q = unit(q)
    m, n = len(queries), es.count
    best_s = np.full((m, k), -np.inf, dtype=np.float32)
    best_i = np.full((m, k), -1, dtype=np.int64)
    step = max(1024, min(CHUNK, 4_000_000 // max(1, m)))
    for lo in range(0, n, step):
        x = np.asarray(es.vectors[lo:lo + step], dtype=np.float32)
        s = (x @ q.T).T  # (m, chunk)
        if metric != "dot":
            sq = np.einsum("ij,ij->i", x, x)
            if metric == "cosine":
                nrm = np.sqrt(sq)
                s = np.divide(s, nrm[None, :], out=np.full_like(s, -np.inf),
                              where=nrm[None, :] > 0)
            else:
                s = 2 * s - sq[None, :]  # -|x - q|² + |q|²: the same order as -distance
        ids = np.arange(lo, lo + len(x), dtype=np.int64)
        own = (queries >= lo) & (queries < lo + len(x))
        s[np.flatnonzero(own), queries[own] - lo] = -np.inf
        all_s = np.concatenate([best_s, s], axis=1)
        all_i = np.concatenate([best_i, np.broadcast_to(ids, s.shape)], axis=1)
        keep = np.argpartition(-all_s, k - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(all_s, keep, axis=1)
        best_i = np.take_along_axis(all_i, keep, axis=1)
        state.progress(min(n, lo + step), n)
    best_i[~np.isfinite(best_s)] = -1
    return best_i


def removal_effect(before: EmbeddingSet, after: EmbeddingSet, rows=None, sample: int = 200,
                   k: int = 10, seed: int = 0, state: TaskState | None = None) -> RemovalEffect:
    """How much of each query's k nearest neighbours survives the removal (exact search)."""
    state = state or TaskState()
    if before.count != after.count:
        raise InputError(f"the sets do not have the same items ({before.count:,} and "
                         f"{after.count:,} rows)")
    if not 1 <= k < before.count:
        raise InputError(f"k must be between 1 and {before.count - 1}, got {k}")
    if rows is None:
        usable = np.arange(before.count)
        if before.metric == "cosine":  # a zero vector has no cosine neighbours
            from explorer.compute.neighbours import set_norms

            usable = usable[(set_norms(before) > 0) & (set_norms(after) > 0)]
        rows = cap_rows(usable, max(1, sample), np.random.default_rng(seed))
    else:
        rows = check_rows(before, rows, "the query rows")
    state.status("Neighbours before the removal")
    nb_before = _knn(before, rows, k, state.sub(0, 0.5))
    state.status("Neighbours after the removal")
    nb_after = _knn(after, rows, k, state.sub(0.5, 1.0))
    overlaps = np.array([len(set(a[a >= 0].tolist()) & set(b[b >= 0].tolist())) / k
                         for a, b in zip(nb_before, nb_after)], dtype=np.float64)
    return RemovalEffect(k, before.metric, rows, overlaps,
                         float(overlaps.mean()) if overlaps.size else float("nan"),
                         float(np.median(overlaps)) if overlaps.size else float("nan"))


@dataclass
class SideBySide:
    row: int
    k: int
    before: object  # explorer.compute.index.Neighbours
    after: object
    shared: set

    def to_dict(self, es: EmbeddingSet) -> dict:
        from explorer.compute.neighbours import item_id

        def listed(nb) -> list[dict]:
            return [{"row": int(r), "id": item_id(es, int(r)), "label": es.label(int(r)),
                     "score": float(s), "shared": int(r) in self.shared}
                    for r, s in zip(nb.rows, nb.scores)]

        return {"row": self.row, "k": self.k, "before": listed(self.before),
                "after": listed(self.after), "overlap": len(self.shared) / max(1, self.k)}


def neighbours_side_by_side(before: EmbeddingSet, after: EmbeddingSet, row: int,
                            k: int = 10) -> SideBySide:
    """The query item's exact neighbours in both sets, as the neighbours view finds them."""
    from explorer.compute.neighbours import exact_kind, row_query, search

    lists = [search(es, row_query(es, row), k, kind=exact_kind(es.count, es.dim)).neighbours
             for es in (before, after)]
    shared = set(lists[0].rows.tolist()) & set(lists[1].rows.tolist())
    return SideBySide(int(row), k, lists[0], lists[1], {int(r) for r in shared})
