"""What a selection is: its size, how its categories compare with the whole set's, and the
words that set its texts apart from the rest.

One front door, `summarise_selection`, run in a job (it reads every text once per set to
count words; the word matrix is then kept for the set, so the next selection's summary
costs a sparse product). The categories come from the column the map is coloured by when
that column reads as categories, else from the set's first such column; the terms are the
clusters' class-based TF-IDF (`clusters.naming.rows_terms`) with the selection as one
class and the rest as the other, so a word most of the selection says and few others say
comes first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from explorer.compute.clusters import naming
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import TaskState

TOP_CATEGORIES = 5
TOP_TERMS = 8
NAME_TERMS = 3  # terms in a selection's name
NAME_SHARE = 0.8  # a category this much of the selection, and
NAME_LIFT = 1.5  # this many times commoner in it than in the set, names it
NAME_LENGTH = 40  # characters: a name is a pole's label under the axis

_words_lock = threading.Lock()
_words_cache: dict[str, tuple[EmbeddingSet, naming.Words]] = {}  # one set: the last asked


@dataclass(frozen=True)
class CategoryShare:
    """One category's share of the selection against its share of the whole set."""

    name: str
    count: int  # in the selection
    share: float  # of the selection
    set_share: float  # of the whole set

    @property
    def lift(self) -> float:
        """How many times commoner the category is in the selection than in the set."""
        return self.share / self.set_share if self.set_share > 0 else float("inf")


@dataclass(frozen=True)
class SelectionSummary:
    """A selection in a few lines; `column`/`text_column` are None when the set has none."""

    count: int
    total: int
    column: str | None
    categories: tuple[CategoryShare, ...]
    text_column: str | None
    terms: tuple[str, ...]

    def name(self) -> str:
        """A short name for the selection (a concept pole's, say): the category nearly all
        of it shares when that sets it apart, else its first terms, else its size."""
        top = self.categories[0] if self.categories else None
        if top is not None and top.share >= NAME_SHARE and top.lift >= NAME_LIFT:
            name = top.name if top.share == 1 else f"mostly {top.name}"
        elif self.terms:
            name = ", ".join(self.terms[:NAME_TERMS])
        else:
            return f"selection of {self.count:,}"
        name = " ".join(name.split())
        return name if len(name) <= NAME_LENGTH else name[:NAME_LENGTH - 1] + "…"

    def lines(self) -> list[str]:
        """Plain text, as the CLI or a tooltip would show it."""
        out = [f"{self.count:,} of {self.total:,} selected"]
        if self.column:
            out.append(f"{self.column}: " + ", ".join(
                f"{c.name} {c.share:.0%} ({c.set_share:.0%} of the set)"
                for c in self.categories))
        if self.terms:
            out.append("terms: " + ", ".join(self.terms))
        return out


def groups_rows(es: EmbeddingSet, column: str) -> bool:
    """Whether `column` holds categories that group rows: an id or a name (nearly one value
    per row) says nothing as shares."""
    if not naming.is_category_column(es, column):
        return False
    distinct = pc.count_distinct(es.metadata.column(column)).as_py()
    return distinct <= max(2, es.count // 2)


def category_column(es: EmbeddingSet, preferred: str | None = None) -> str | None:
    """`preferred` if it is a metadata column of categories, else the first such column
    that is not the set's id, label or text."""
    if preferred and preferred in es.columns and groups_rows(es, preferred):
        return preferred
    own = {es.id_column, es.label_column, es.text_column, preferred}
    for column in es.columns:
        if column not in own and groups_rows(es, column):
            return column
    return None


def category_shares(es: EmbeddingSet, column: str, rows: np.ndarray,
                    top: int = TOP_CATEGORIES) -> tuple[CategoryShare, ...]:
    """The `top` commonest categories of `rows`, each with its share of the whole set."""
    cats = naming.categories_of(es, column)
    width = max(len(cats.names), 1)
    whole = np.bincount(cats.codes[cats.codes >= 0], minlength=width)
    picked = cats.codes[rows]
    inside = np.bincount(picked[picked >= 0], minlength=width)
    order = np.lexsort((np.arange(width), -inside))
    n, total = max(len(rows), 1), max(len(cats.codes), 1)
    return tuple(CategoryShare(cats.names[i], int(inside[i]), inside[i] / n, whole[i] / total)
                 for i in order[:top] if inside[i] > 0)


def words_for(es: EmbeddingSet, column: str) -> naming.Words:
    """The set's word matrix over `column`, counted once and kept while the set is asked
    about (a newer set replaces it)."""
    key = f"{id(es)}:{column}"
    with _words_lock:
        hit = _words_cache.get(key)
        if hit is not None and hit[0] is es:
            return hit[1]
    words = naming.words_of(es.metadata.column(column).to_pylist())
    with _words_lock:
        _words_cache.clear()
        _words_cache[key] = (es, words)
    return words


def summarise_selection(es: EmbeddingSet, rows: np.ndarray, colour_by: str | None = None,
                        state: TaskState | None = None) -> SelectionSummary:
    """Count, category shares against the set and distinguishing terms of `rows`."""
    state = state or TaskState()
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    rows = rows[(rows >= 0) & (rows < es.count)]
    column = category_column(es, colour_by)
    shares = category_shares(es, column, rows) if column and len(rows) else ()
    state.check()
    terms: tuple[str, ...] = ()
    text = es.text_column
    if text and len(rows) and len(rows) < es.count:
        words = words_for(es, text)
        state.check()
        if words.matrix.shape[1]:
            terms = naming.rows_terms(words, rows, TOP_TERMS)
    return SelectionSummary(len(rows), es.count, column, shares, text, terms)


__all__ = ["CategoryShare", "SelectionSummary", "category_column", "category_shares", "groups_rows",
           "summarise_selection", "words_for"]
