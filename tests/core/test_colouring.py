"""Colouring by a metadata column: category codes with counts, or numeric values."""

import numpy as np
import pyarrow as pa
import pytest

from explorer.core.colouring import MISSING, OTHER, colouring_for
from explorer.core.errors import InputError


def test_categories_ordered_by_count_with_missing():
    table = pa.table({"s": ["a", "b", None, "a", "c", "a"]})
    c = colouring_for(table, "s")
    assert c.kind == "categorical"
    assert c.labels == ["a", "b", "c", MISSING] and c.counts == [3, 1, 1, 1]
    np.testing.assert_array_equal(c.codes, [0, 1, 3, 0, 2, 0])


def test_rare_categories_share_other():
    table = pa.table({"s": list("aaabbc") + ["d"]})
    c = colouring_for(table, "s", max_categories=3)
    assert c.labels == ["a", "b", OTHER] and c.counts == [3, 2, 2]
    np.testing.assert_array_equal(c.codes, [0, 0, 0, 1, 1, 2, 2])


def test_small_integer_columns_are_categories_large_ones_numeric():
    table = pa.table({"label": [3, 1, 3, 2], "size": np.arange(4) * 1000,
                      "score": [0.5, np.nan, 1.5, 2.5]})
    assert colouring_for(table, "label").labels == ["3", "1", "2"]
    assert colouring_for(table, "size", max_categories=3).kind == "numeric"
    c = colouring_for(table, "score")
    assert (c.kind, c.vmin, c.vmax) == ("numeric", 0.5, 2.5)
    assert np.isnan(c.values[1])


def test_dictionary_column_and_unknown_column():
    table = pa.table({"s": pa.array(["x", "y", "x"]).dictionary_encode()})
    np.testing.assert_array_equal(colouring_for(table, "s").codes, [0, 1, 0])
    with pytest.raises(InputError, match="no column"):
        colouring_for(table, "nope")
