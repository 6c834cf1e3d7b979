"""A group against the rest of its set: the direction from every other row to the group."""

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import concepts as cc
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library

N, D = 1500, 12


def stored_set() -> tuple[EmbeddingSet, np.ndarray]:
    """A stored cosine set whose rows with t > 1 sit further along the first axis."""
    rng = np.random.default_rng(3)
    t = rng.normal(size=N)
    x = rng.normal(size=(N, D)) * 0.4
    x[:, 0] += 2.0 * t
    x[:, 1] += 3.0
    es = EmbeddingSet(x.astype(np.float32), pa.table({"t": t}), name="rest", format="test",
                      source=[], metric="cosine", model="synthetic (sha256 0123456789ab)")
    library = Library()
    return library.open(library.import_set(es).id), t


def test_it_is_from_rows_from_the_rest_to_the_group_and_puts_the_group_high():
    es, t = stored_set()
    group = np.flatnonzero(t > 1)
    rest = np.setdiff1d(np.arange(N), group)
    d = cc.from_rest(es, group[::-1], label="far along")  # order and repeats do not matter
    same = cc.from_rows(es, rest, group)
    np.testing.assert_array_equal(d.vector, same.vector)
    assert d.definition["threshold"] == pytest.approx(same.definition["threshold"])
    assert (d.label_a, d.label_b, d.name) == ("the rest", "far along", "far along vs the rest")
    s = cc.scores(es, d)
    assert s[group].mean() > s[rest].mean()
    assert cc.from_rest(es, group).label_b == f"{group.size:,} items"


def test_a_saved_one_is_checked_on_both_groups_again():
    """The rest (over a thousand rows) is not stored, but found again from the group."""
    es, t = stored_set()
    group = np.flatnonzero(t > 1)
    d = cc.from_rest(es, group, label="far")
    assert d.definition["rest"] and d.definition["rows_b"] == group.tolist()
    assert "rows_a" not in d.definition and d.definition["n_a"] == N - group.size
    cc.DirectionStore(es).save(d)
    saved = cc.DirectionStore(es).get(d.name)
    assert saved.groups is None
    again, fresh = cc.validate(es, saved), cc.validate(es, d)
    assert again.n_a == N - group.size and again.n_b == group.size
    assert again.heldout_balanced_accuracy == fresh.heldout_balanced_accuracy > 0.85


def test_no_group_or_the_whole_set_is_refused_in_words():
    es, _ = stored_set()
    with pytest.raises(InputError, match="empty"):
        cc.from_rest(es, [])
    with pytest.raises(InputError, match="no rest"):
        cc.from_rest(es, np.arange(N))
    with pytest.raises(InputError, match="out of range"):
        cc.from_rest(es, [N])
