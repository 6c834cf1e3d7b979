"""A selection's summary: its categories against the set's and the words that set it apart."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from explorer.compute import selection_summary as ss
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import Cancelled, TaskState


def demo_set() -> EmbeddingSet:
    """100 items: 20 python ones about parsing, 80 others about games or web pages."""
    rng = np.random.default_rng(0)
    lang = ["python"] * 20 + ["c"] * 40 + ["rust"] * 30 + ["go"] * 10
    text = ([f"parser for python grammar {i}" for i in range(20)]
            + [f"arcade game with sprites {i}" for i in range(40)]
            + [f"web page server {i}" for i in range(40)])
    meta = pa.table({"name": [f"item{i}" for i in range(100)], "lang": lang,
                     "size": rng.random(100), "description": text})
    return EmbeddingSet(vectors=rng.random((100, 4), dtype=np.float32), metadata=meta,
                        name="t", text_column="description")


def test_shares_are_of_the_selection_against_the_whole_set():
    es = demo_set()
    rows = np.concatenate([np.arange(20), np.arange(20, 25)])  # 20 python + 5 c
    summary = ss.summarise_selection(es, rows)
    assert summary.count == 25 and summary.total == 100
    assert summary.column == "lang"  # the first column of categories (not name or size)
    first, second = summary.categories[:2]
    assert (first.name, first.count) == ("python", 20)
    assert first.share == pytest.approx(0.8) and first.set_share == pytest.approx(0.2)
    assert (second.name, second.share, second.set_share) == ("c", 0.2, 0.4)
    assert len(summary.categories) == 2  # categories with none selected are left out
    assert "python 80% (20% of the set)" in summary.lines()[1]


def test_the_terms_are_the_words_that_set_the_selection_apart():
    es = demo_set()
    summary = ss.summarise_selection(es, np.arange(20))
    assert set(summary.terms[:3]) == {"parser", "python", "grammar"}
    assert "game" not in summary.terms and "web" not in summary.terms
    other = ss.summarise_selection(es, np.arange(20, 60))
    assert set(other.terms[:3]) == {"arcade", "game", "sprites"}


def test_the_colour_by_column_is_used_when_it_holds_categories():
    es = demo_set()
    assert ss.category_column(es, "lang") == "lang"
    assert ss.category_column(es, "size") == "lang"  # numbers: the first categories instead
    assert ss.category_column(es, "hubness") == "lang"  # a derived colouring, not a column


def test_a_cancelled_job_stops():
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        ss.summarise_selection(demo_set(), np.arange(5), state=state)


def test_a_selection_is_named_by_its_category_else_its_terms_else_its_size():
    es = demo_set()
    assert ss.summarise_selection(es, np.arange(20)).name() == "python"  # all of them
    mostly = ss.summarise_selection(es, np.concatenate([np.arange(20), [25, 26]])).name()
    assert mostly == "mostly python"  # 91%, against 20% of the set
    mixed = ss.summarise_selection(es, np.arange(20, 100, 2))  # c, rust, go as in the set
    assert mixed.name() == ", ".join(mixed.terms[:3]) and mixed.terms
    plain = EmbeddingSet(vectors=np.zeros((10, 2), np.float32),
                         metadata=pa.table({"n": np.arange(10)}), name="p")
    assert ss.summarise_selection(plain, np.arange(4)).name() == "selection of 4"
