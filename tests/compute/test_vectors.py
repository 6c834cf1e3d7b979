"""One vocabulary for comparing vectors: the set's METRICS, the map's LAYOUT_METRICS, unit()."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import vectors
from explorer.core.embedding_set import METRICS
from explorer.core.errors import InputError


def test_metrics_are_the_sets_own():
    assert vectors.METRICS is METRICS == ("cosine", "dot", "l2")


def test_check_metric_names_the_choices():
    vectors.check_metric("dot")
    with pytest.raises(InputError, match="expected one of cosine, dot, l2"):
        vectors.check_metric("euclidean")


@pytest.mark.parametrize(("metric", "layout"), [("cosine", "cosine"), ("dot", "euclidean"),
                                                ("l2", "euclidean"), ("euclidean", "euclidean")])
def test_every_set_metric_has_a_layout_metric(metric, layout):
    assert vectors.layout_metric(metric) == layout
    assert layout in vectors.LAYOUT_METRICS


def test_unknown_layout_metric_is_a_value_error():
    with pytest.raises(ValueError, match="unknown metric 'manhattan'"):
        vectors.layout_metric("manhattan")


def test_unit_keeps_dtype_and_zero_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    u = vectors.unit(x)
    assert u.dtype == np.float32
    np.testing.assert_allclose(u, [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(vectors.unit(np.array([0.0, 2.0])), [0.0, 1.0])
