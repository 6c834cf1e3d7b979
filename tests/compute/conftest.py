"""Fixtures of the compute tests: `path` runs a test once with the numba kernels and once on
numpy (the raster and spatial code has both, which must agree)."""

from __future__ import annotations

import pytest

from explorer.compute import spatial


@pytest.fixture(params=["numba", "numpy"])
def path(request, monkeypatch):
    """Run a test on both implementations."""
    if request.param == "numba":
        pytest.importorskip("numba")
        if not spatial.USE_NUMBA:
            pytest.skip("numba disabled by EXPLORER_NUMBA")
    else:
        monkeypatch.setattr(spatial, "USE_NUMBA", False)
    return request.param
