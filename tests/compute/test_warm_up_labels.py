"""The app's warm-up prepares the labels' engine too, last, and stops before it when cancelled."""

from __future__ import annotations

import pytest

from explorer.compute import clusters, warm_up
from explorer.core.jobs import Cancelled, TaskState


def test_warm_up_runs_the_clusters_kernels_last(monkeypatch):
    calls = []
    monkeypatch.setattr(clusters, "warm_up", lambda: calls.append("clusters") or 0.25)
    info = warm_up.warm_up()
    assert calls == ["clusters"] and info["labels_seconds"] == 0.25


def test_a_cancelled_warm_up_does_not_start_the_clusters_compile(monkeypatch):
    calls = []
    monkeypatch.setattr(clusters, "warm_up", lambda: calls.append("clusters") or 0.0)
    state = TaskState()
    real = warm_up.load_kernel

    def cancel_after_the_search_kernels(like):
        real(like)
        state.cancel()  # the user quits while the last kernel before the labels' loads

    monkeypatch.setattr(warm_up, "load_kernel", cancel_after_the_search_kernels)
    with pytest.raises(Cancelled):
        warm_up.warm_up(state)
    assert calls == []
