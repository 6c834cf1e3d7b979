"""Names for clusters: the words that set a cluster's texts apart, or its commonest category.

Terms are class-based TF-IDF (as BERTopic names topics): a cluster is one class, and a
word scores by the share of the cluster's texts that hold it times log(1 + A / f), where f
is how many of the set's texts hold it and A the mean cluster size. So a word most of a
cluster says and few others say comes first; a word every text says ("return" in
docstrings) scores near zero everywhere, even in big clusters. The first term is the
best-scoring word that at least COVERS (30%) of the cluster's texts hold, when one does: a
name should start with what the cluster is mostly about, not with a rare word a few of its
items share (on 5,000 Debian descriptions, 83% of the finest clusters' first terms are
then held by 30% of their texts, against 54% by score alone). That is the most any first
word can reach (`quality.coverage_ceiling`): on the same set the coarse, middle and fine
levels' first terms are in 30% of their texts for 36, 67 and 83% of the clusters, exactly
the share of clusters in which any word is; the most covering of the 10 best-scoring words
reaches 27, 61 and 63%, a coarse cluster named by its children's first terms 27 and 64%.
Big groups of short texts mostly share no word (`bench_labels.py`). Words are counted once per
text; English stop words (scikit-learn's list) and numbers are left out. A column of
categories names a cluster by its most common value and that value's share
("section: games (62%)").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from explorer.compute.clusters.model import TOP_TERMS
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError

TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W_]+\b"  # words of two or more characters, not numbers
MAX_CATEGORIES = 200  # a text column with more distinct values is named by its words
WORDS_PER_TEXT = 2.5  # ... and so is one whose values are this many words long on average
COVERS = 0.3  # share of a cluster's texts its first term should be in


@dataclass(frozen=True)
class Words:
    """Which texts hold which words: a binary (texts x words) matrix and the words."""

    matrix: sp.csr_matrix
    vocabulary: np.ndarray  # str

    @property
    def document_frequency(self) -> np.ndarray:
        return np.asarray(self.matrix.sum(axis=0)).ravel()


@dataclass(frozen=True)
class Categories:
    """A column as category codes (-1: missing) and the category names."""

    column: str
    codes: np.ndarray  # int64 (n,)
    names: list[str]


def words_of(texts: list[str | None]) -> Words:
    """Count each word once per text (stop words, numbers and one-letter words left out)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    docs = [t or "" for t in texts]
    vectorizer = CountVectorizer(binary=True, lowercase=True, token_pattern=TOKEN_PATTERN,
                                 stop_words=sorted(ENGLISH_STOP_WORDS),
                                 min_df=2 if len(docs) >= 50 else 1, dtype=np.float32)
    try:
        matrix = vectorizer.fit_transform(docs).tocsr()
    except ValueError:  # no word at all (empty texts, only stop words)
        return Words(sp.csr_matrix((len(docs), 0), dtype=np.float32), np.array([], dtype=str))
    return Words(matrix, vectorizer.get_feature_names_out())


def membership(labels: np.ndarray, count: int) -> sp.csr_matrix:
    """(clusters x rows) 0/1: which rows each cluster holds (rows in none are left out)."""
    rows = np.flatnonzero(labels >= 0)
    return sp.csr_matrix((np.ones(rows.size, np.float32), (labels[rows], rows)),
                         shape=(count, labels.size))


def distinguishing_terms(words: Words, labels: np.ndarray, count: int,
                         top: int = TOP_TERMS) -> list[tuple[str, ...]]:
    """The `top` words of each cluster by class-based TF-IDF (see the module's docstring)."""
    if count == 0:
        return []
    member = membership(labels, count)
    sizes = np.asarray(member.sum(axis=1)).ravel()
    held = (member @ words.matrix).tocsr()  # texts of each cluster holding each word
    idf = np.log1p(float(sizes.sum()) / count / np.maximum(words.document_frequency, 1.0))
    out = []
    for k in range(count):
        start, stop = held.indptr[k], held.indptr[k + 1]
        cols, n_held = held.indices[start:stop], held.data[start:stop]
        if cols.size == 0:
            out.append(())
            continue
        share = n_held / max(sizes[k], 1.0)
        order = np.lexsort((words.vocabulary[cols], -(share * idf[cols])))  # ties: a-z
        covering = order[share[order] >= COVERS]
        if covering.size:  # the best word a good part of the cluster says goes first
            order = np.concatenate([covering[:1], order[order != covering[0]]])
        out.append(tuple(str(words.vocabulary[cols[i]]) for i in order[:top]))
    return out


def rows_terms(words: Words, rows: np.ndarray, top: int = TOP_TERMS) -> tuple[str, ...]:
    """The `top` words that set the texts of `rows` apart from the others' (the two as
    classes of the same c-TF-IDF as clusters), for a selection's summary."""
    labels = np.ones(words.matrix.shape[0], dtype=np.int64)
    labels[np.asarray(rows, dtype=np.int64)] = 0
    return distinguishing_terms(words, labels, 2, top)[0]


def is_category_column(es: EmbeddingSet, column: str) -> bool:
    """Whether `column` reads as categories (few distinct short values, or small integers)
    rather than as free text or numbers."""
    try:
        return naming_column(es, column)[0] == "category"
    except InputError:
        return False


def categories_of(es: EmbeddingSet, column: str) -> Categories:
    values = es.metadata.column(column)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    encoded = pc.dictionary_encode(values).combine_chunks()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return Categories(column, codes, [str(v) for v in encoded.dictionary.to_pylist()])


def dominant_categories(cats: Categories, labels: np.ndarray, count: int,
                        top: int = TOP_TERMS) -> list[tuple[str, tuple[str, ...]]]:
    """(label, the `top` commonest values) per cluster: "section: games (62%)"."""
    ok = (labels >= 0) & (cats.codes >= 0)
    width = max(len(cats.names), 1)
    table = np.bincount(labels[ok] * width + cats.codes[ok],
                        minlength=count * width).reshape(count, width)
    sizes = np.bincount(labels[labels >= 0], minlength=count)
    out = []
    for k in range(count):
        order = np.lexsort((np.arange(width), -table[k]))
        found = [i for i in order[:top] if table[k, i] > 0]
        if not found:
            out.append((f"{cats.column}: (none)", ()))
            continue
        share = table[k, found[0]] / max(sizes[k], 1)
        out.append((f"{cats.column}: {cats.names[found[0]]} ({share:.0%})",
                    tuple(cats.names[i] for i in found)))
    return out


def naming_column(es: EmbeddingSet, column: str | None) -> tuple[str, str | None]:
    """("terms" | "category" | "", column): how this set's clusters are named.

    The column asked for, else the set's text column; a set with neither is named by
    numbers when it has no metadata to name by, and asks which column otherwise
    (InputError with the candidates as `choices`, option "column"). A text column of a few
    short values names by category as one asked for does: its words would be the same in
    every cluster ("group" of "group-04", the numbers left out).
    """
    if column is None:
        if es.text_column:
            return _text_or_categories(es, es.text_column)
        candidates = tuple(c for c in es.columns if _nameable(es, c))
        if not candidates:
            return "", None
        raise InputError("the set has no text column to name its clusters by",
                         hint="choose a column: " + ", ".join(candidates),
                         choices=candidates, option="column")
    if column not in es.columns:
        raise InputError("no such column", column=column,
                         hint="the set's columns: " + ", ".join(es.columns),
                         choices=tuple(es.columns), option="column")
    if not _nameable(es, column):
        raise InputError(f"column {column!r} holds neither text nor categories", column=column,
                         hint="choose a text column or one with a few distinct values",
                         choices=tuple(c for c in es.columns if _nameable(es, c)),
                         option="column")
    if not _is_text(es.metadata.column(column).type):
        return "category", column
    return _text_or_categories(es, column)


def _text_or_categories(es: EmbeddingSet, column: str) -> tuple[str, str]:
    """A text column of few distinct short values names by category, any other (or one with
    no text at all: its clusters are numbered) by terms."""
    values = es.metadata.column(column)
    if not _is_text(values.type) or pc.count_distinct(values).as_py() > MAX_CATEGORIES:
        return "terms", column
    return ("category", column) if 0 < _mean_words(values) < WORDS_PER_TEXT else \
        ("terms", column)


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _nameable(es: EmbeddingSet, column: str) -> bool:
    """Text, or values few enough to be categories (numbers with many values are neither)."""
    values = es.metadata.column(column)
    if _is_text(values.type):
        return True
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return pc.count_distinct(values).as_py() <= MAX_CATEGORIES
    return False


def _mean_words(values: pa.ChunkedArray, sample: int = 2000) -> float:
    head = values.slice(0, sample)
    texts = [t for t in head.to_pylist() if t]
    return float(np.mean([len(t.split()) for t in texts])) if texts else 0.0


__all__ = [
    "COVERS",
    "MAX_CATEGORIES",
    "TOKEN_PATTERN",
    "Categories",
    "Words",
    "categories_of",
    "distinguishing_terms",
    "dominant_categories",
    "is_category_column",
    "membership",
    "naming_column",
    "rows_terms",
    "words_of",
]
