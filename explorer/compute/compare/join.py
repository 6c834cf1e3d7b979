"""Which item of set A is which item of set B: by their id columns, or by row order.

A comparison is only as good as its join, so nothing is dropped silently: ids only one set
has, ids a set repeats (the first row with an id is the one joined) and rows without an id
are counted, with examples, in a `JoinReport` the result carries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError

JOINS = ("auto", "id", "row")
EXAMPLES = 5  # ids shown of each kind of mismatch


@dataclass(frozen=True)
class JoinReport:
    """How the two sets were joined and what did not join (`only_*` includes rows without an
    id; `duplicated_*` counts rows whose id an earlier row of the same set has)."""

    how: str  # "id" or "row"
    matched: int
    only_a: int = 0
    only_b: int = 0
    duplicated_a: int = 0
    duplicated_b: int = 0
    examples_only_a: tuple = ()
    examples_only_b: tuple = ()
    examples_duplicated: tuple = ()

    def to_dict(self) -> dict:
        return {"how": self.how, "matched": self.matched, "only_in_a": self.only_a,
                "only_in_b": self.only_b, "duplicated_in_a": self.duplicated_a,
                "duplicated_in_b": self.duplicated_b,
                "examples_only_in_a": list(self.examples_only_a),
                "examples_only_in_b": list(self.examples_only_b),
                "examples_duplicated": list(self.examples_duplicated)}

    def describe(self) -> str:
        """One line for people: what joined and what did not."""
        text = f"{self.matched:,} items joined by {self.how}"
        for count, where, examples in ((self.only_a, "only in A", self.examples_only_a),
                                       (self.only_b, "only in B", self.examples_only_b)):
            if count:
                text += f"; {count:,} {where}" + (f" (e.g. {', '.join(map(repr, examples))})"
                                                  if examples else "")
        if self.duplicated_a or self.duplicated_b:
            text += (f"; {self.duplicated_a + self.duplicated_b:,} repeated ids not joined (e.g. "
                     f"{', '.join(map(repr, self.examples_duplicated))})")
        return text


def join_sets(a: EmbeddingSet, b: EmbeddingSet, join: str = "auto"
              ) -> tuple[np.ndarray, np.ndarray, JoinReport]:
    """(rows of A, rows of B, report): the joined items in A's row order."""
    if join not in JOINS:
        raise InputError(f"unknown join {join!r}; expected one of {', '.join(JOINS)}",
                         choices=JOINS, option="join")
    if join == "auto":
        join = "id" if a.id_column and b.id_column else "row"
    if join == "row":
        if a.count != b.count:
            raise InputError(
                f"set A has {a.count:,} items and set B {b.count:,}: a join by row order needs "
                "the same number", hint="join by id instead: both sets need an id column")
        rows = np.arange(a.count, dtype=np.int64)
        return rows, rows.copy(), JoinReport("row", a.count)
    for name, es in (("A", a), ("B", b)):
        if not es.id_column:
            raise InputError(f"set {name} ({es.name}) has no id column to join by",
                             hint="import it with --id-column COLUMN, or join by row")
    ids_a, ids_b = comparable_ids(a, b)
    first_a, first_b = first_rows(ids_a), first_rows(ids_b)
    in_b = pc.index_in(ids_a, value_set=ids_b, skip_nulls=True).to_numpy(zero_copy_only=False)
    in_a = pc.index_in(ids_b, value_set=ids_a, skip_nulls=True).to_numpy(zero_copy_only=False)
    matched_a = first_a & ~np.isnan(in_b.astype(np.float64))
    rows_a = np.flatnonzero(matched_a).astype(np.int64)
    rows_b = in_b[matched_a].astype(np.int64)
    lone_a = np.flatnonzero(first_a & ~matched_a | ids_a.is_null().to_numpy(zero_copy_only=False))
    lone_b = np.flatnonzero(first_b & np.isnan(in_a.astype(np.float64))
                            | ids_b.is_null().to_numpy(zero_copy_only=False))
    dup_a = np.flatnonzero(~first_a & ids_a.is_valid().to_numpy(zero_copy_only=False))
    dup_b = np.flatnonzero(~first_b & ids_b.is_valid().to_numpy(zero_copy_only=False))
    dups = [*ids_a.take(dup_a[:EXAMPLES]).to_pylist(), *ids_b.take(dup_b[:EXAMPLES]).to_pylist()]
    report = JoinReport("id", int(rows_a.size), int(lone_a.size), int(lone_b.size),
                        int(dup_a.size), int(dup_b.size),
                        tuple(ids_a.take(lone_a[:EXAMPLES]).to_pylist()),
                        tuple(ids_b.take(lone_b[:EXAMPLES]).to_pylist()),
                        tuple(dict.fromkeys(dups))[:EXAMPLES])
    if rows_a.size == 0:
        raise InputError(
            f"sets A and B have no ids in common (column {a.id_column!r} of A, e.g. "
            f"{example(ids_a)}; column {b.id_column!r} of B, e.g. {example(ids_b)})",
            hint="join by row if both list the same items in the same order")
    return rows_a, rows_b, report


def comparable_ids(a: EmbeddingSet, b: EmbeddingSet) -> tuple[pa.Array, pa.Array]:
    """Both id columns as arrays of one type: as they are when both are numbers or both text,
    else as text (an id 7 in one set and "7" in the other are the same item)."""
    ids_a = a.metadata.column(a.id_column).combine_chunks()
    ids_b = b.metadata.column(b.id_column).combine_chunks()
    if pa.types.is_dictionary(ids_a.type):
        ids_a = ids_a.dictionary_decode()
    if pa.types.is_dictionary(ids_b.type):
        ids_b = ids_b.dictionary_decode()
    if ids_a.type == ids_b.type:
        return ids_a, ids_b
    if pa.types.is_integer(ids_a.type) and pa.types.is_integer(ids_b.type):
        return ids_a.cast(pa.int64()), ids_b.cast(pa.int64())
    try:
        return ids_a.cast(pa.large_string()), ids_b.cast(pa.large_string())
    except pa.ArrowInvalid:
        raise InputError(f"the id columns cannot be compared ({ids_a.type} in A, {ids_b.type} "
                         "in B)", hint="join by row") from None


def first_rows(ids: pa.Array) -> np.ndarray:
    """True where a row holds the first occurrence of its (non-null) id."""
    first = pc.index_in(ids, value_set=ids, skip_nulls=True).to_numpy(zero_copy_only=False)
    first = first.astype(np.float64)  # nulls (no id) are NaN: never first
    return first == np.arange(len(ids))


def example(ids: pa.Array) -> str:
    values = [repr(v) for v in ids.drop_null()[:2].to_pylist()]
    return ", ".join(values) if values else "none"
