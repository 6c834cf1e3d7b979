"""`Set`: a stored library set, asked from Python what the CLI's commands answer.

Each method calls the compute functions the matching CLI command calls, with the same
defaults, so a script and `embedding-explorer COMMAND --json` give the same numbers; a
mistake raises the InputError whose text the CLI prints after `error:`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.manifest import LibraryEntry

if TYPE_CHECKING:
    import pandas

    from explorer.api.comparison import SetComparison


@dataclass(frozen=True)
class NeighbourList:
    """The nearest items of one query, best first: `rows`, `ids`, `labels`, `scores` (cosine
    similarity, dot product or L2 distance), and the CLI's JSON of the same search."""

    rows: np.ndarray  # int64
    ids: list
    labels: list[str]
    scores: np.ndarray  # float32
    metric: str
    exact: bool
    record: dict = field(repr=False)  # what `neighbours --json` prints

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict:
        """The CLI's `neighbours --json` answer."""
        return dict(self.record)

    def to_arrow(self) -> pa.Table:
        """One row per neighbour: row, id, label (text, when the set has one), score."""
        items = self.record["neighbours"]
        columns: dict[str, Any] = {"row": pa.array(self.rows, pa.int64()),
                                   "id": pa.array(self.ids), "label": pa.array(self.labels,
                                                                               pa.string())}
        if items and "text" in items[0]:
            columns["text"] = pa.array([item["text"] for item in items], pa.string())
        columns["score"] = pa.array(self.scores, pa.float32())
        return pa.table(columns)

    def to_pandas(self) -> pandas.DataFrame:
        """`to_arrow()` as a DataFrame (needs pandas, which this project does not install)."""
        return self.to_arrow().to_pandas()


@dataclass(frozen=True, eq=False)
class Set:
    """A library set: `len(s)`, `s.name`, `s.id`, `s.dim`, `s.metric`, `s.model`, and the
    queries below. `embedding_set` is the set as opened (vectors memory-mapped, metadata in
    memory), `entry` its library entry; `reused` says that `load` found it stored already."""

    embedding_set: EmbeddingSet = field(repr=False)
    entry: LibraryEntry = field(repr=False)

    def __repr__(self) -> str:
        return (f"Set({self.name!r}, id={self.id!r}, {len(self):,} x {self.dim}, "
                f"{self.metric})")

    def __len__(self) -> int:
        return self.embedding_set.count

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def dim(self) -> int:
        return self.embedding_set.dim

    @property
    def metric(self) -> str:
        return self.embedding_set.metric

    @property
    def model(self) -> str | None:
        return self.embedding_set.model

    @property
    def reused(self) -> bool:
        return self.entry.reused

    @property
    def vectors(self) -> np.ndarray:
        """The stored float32 vectors (a read-only memory map)."""
        return self.embedding_set.vectors

    @property
    def metadata(self) -> pa.Table:
        return self.embedding_set.metadata

    def to_arrow(self) -> pa.Table:
        """The metadata with the vectors as one fixed-size list column (named as the vectors
        column the set was read from, else `vector`; `_` added while a metadata column has
        that name); `explorer.load` reads it back."""
        es = self.embedding_set
        name = es.vector_column or "vector"
        while name in es.columns:
            name += "_"
        values = pa.array(np.ascontiguousarray(es.vectors, dtype=np.float32).ravel())
        return es.metadata.append_column(name, pa.FixedSizeListArray.from_arrays(values, es.dim))

    def neighbours(self, row: int | None = None, *, id: str | None = None,
                   text: str | None = None, vector: Sequence[float] | np.ndarray | None = None,
                   expr: str | None = None, k: int = 10, where: str | None = None,
                   metric: str | None = None, exact: bool | None = None,
                   include_query: bool = False) -> NeighbourList:
        """The k nearest items to one query, as `embedding-explorer neighbours`: a `row`, an
        item's `id`, a `text` (encoded by the set's model), a `vector`, or arithmetic over
        items (`expr`, e.g. 'king - man + woman'); among the items matching `where` (SQL over
        the metadata); the query's own items left out unless `include_query`. `exact`
        True/False picks exact or approximate search (default: exact up to ~4M x 384)."""
        from explorer.cli.analysis import query_vector
        from explorer.compute import neighbours as nb
        from explorer.compute.vectors import check_metric

        es = self.embedding_set
        given = [what for what, v in (("row", row), ("id", id), ("text", text),
                                      ("vector", vector), ("expr", expr)) if v is not None]
        if len(given) != 1:
            raise InputError("give exactly one query: row, id, text, vector or expr"
                             + (f"; got {', '.join(given)}" if given else ""))
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise InputError(f"k must be a whole number, got {k!r}")
        if metric is not None:
            check_metric(metric)  # before the query: arithmetic reads it
        if row is not None:
            query = nb.row_query(es, row)
        elif id is not None:
            query = nb.id_query(es, str(id))
        elif expr is not None:
            query = nb.arithmetic_query(es, expr, metric)
        elif vector is not None:
            query = nb.vector_query(query_vector(vector, es.dim))
        else:
            query = nb.text_query(es, text)
        kind = nb.resolve_kind(es, "auto", exact)
        result = nb.search(es, query, k, metric, where, kind, not include_query)
        record = {"set": es.library_id, **result.to_dict(es)}
        items = record["neighbours"]
        return NeighbourList(rows=np.asarray(result.neighbours.rows, dtype=np.int64),
                             ids=[item["id"] for item in items],
                             labels=[item["label"] for item in items],
                             scores=np.asarray(result.neighbours.scores, dtype=np.float32),
                             metric=result.metric, exact=bool(result.neighbours.exact),
                             record=record)

    def project(self, method: str = "umap", *, dims: int = 2, sample: int | None = None,
                refine: bool = True, **params: Any) -> np.ndarray:
        """The map's (n, dims) float32 coordinates, as `embedding-explorer project` makes
        them and kept with the set (the app and the CLI reuse them, and this reuses theirs).
        `params`: the other ProjectionParams (n_neighbors, min_dist, perplexity, seed, and
        metric, which defaults to the set's)."""
        from explorer.compute.projection import ProjectionParams, cached_project

        params.setdefault("metric", self.metric)
        try:
            chosen = ProjectionParams(method=method, dims=dims, sample=sample, refine=refine,
                                      **params)
        except TypeError as exc:  # an unknown keyword
            raise InputError(f"project: {exc}") from None
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return np.array(cached_project(self.embedding_set, chosen).coords)

    def compress(self, methods: str | Sequence[str] | None = None, k: int = 10,
                 queries: int = 1000, seed: int = 0, metric: str | None = None) -> dict:
        """What each compression does to the set's neighbours: the dict `embedding-explorer
        compress --json` prints (methods: names such as 'fp16', 'sq8', 'pq16', or one
        comma-separated string; default: a sweep sized for the set's dimension)."""
        from explorer.compute.compression import evaluate

        es = self.embedding_set
        result = evaluate(es, methods, k=k, queries=queries, metric=metric, seed=seed)
        return {"set": es.library_id, **result.to_dict()}

    def concept(self, *, texts_a: Sequence[str] | None = None,
                texts_b: Sequence[str] | None = None, where_a: str | None = None,
                where_b: str | None = None, rows_a: Sequence[int] | None = None,
                rows_b: Sequence[int] | None = None, rest: bool = False, probe: bool = False,
                against: str | None = None, check_a: str | None = None,
                check_b: str | None = None, name: str | None = None,
                label_a: str | None = None, label_b: str | None = None, top: int = 10,
                out: str | Path | None = None, save: bool = False) -> dict:
        """A concept direction between two poles (texts, SQL filters or rows; `rest`: pole B
        against every other item), validated, with the `top` items at each end: the dict
        `embedding-explorer concept --json` prints, with the same options as keywords."""
        from explorer.cli.analysis import check_concept_output, concept_report

        out = None if out is None else Path(out)
        check_concept_output(top, out)
        return concept_report(self.embedding_set, texts_a=_listed(texts_a),
                              texts_b=_listed(texts_b), where_a=where_a, where_b=where_b,
                              rows_a=_listed(rows_a), rows_b=_listed(rows_b), rest=rest,
                              probe=probe, against=against, check_a=check_a, check_b=check_b,
                              name=name, label_a=label_a, label_b=label_b, top=top, out=out,
                              save=save)

    def compare(self, other: Set | str | Path, k: int = 10, *, join: str = "auto",
                sample: int | None = None, by: str | None = None,
                seed: int = 0) -> SetComparison:
        """How `other` (a Set, or a library id, name or file) differs from this set, item by
        item: each set's exact k nearest neighbours compared per joined item, CKA and
        Procrustes, as `embedding-explorer compare` (same options, same numbers).
        `join`: "id", "row" or "auto" (by id when both sets have an id column)."""
        from explorer.api.comparison import SetComparison
        from explorer.api.loading import load
        from explorer.compute.compare import compare_sets

        other_set = other if isinstance(other, Set) else load(other)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise InputError(f"k must be a whole number, got {k!r}", option="k")
        result = compare_sets(self.embedding_set, other_set.embedding_set, k=int(k), join=join,
                              sample=sample, by=by, seed=seed)
        return SetComparison(result, self.embedding_set, other_set.embedding_set)


def _listed(values):
    """A sequence as the list argparse would give (a lone string is one text, not letters)."""
    if values is None:
        return None
    if isinstance(values, str):
        return [values]
    return [v.item() if isinstance(v, np.generic) else v for v in values]
