"""TaskState: progress reporting, sub-ranges and cancellation."""

import pytest

from explorer.core.jobs import Cancelled, TaskState


def test_sub_task_maps_progress_and_shares_cancel():
    seen = []
    state = TaskState(on_progress=seen.append)
    sub = state.sub(0.5, 1.0)
    sub.progress(1, 2)
    assert seen == [0.75]
    state.cancel()
    assert sub.cancelled
    with pytest.raises(Cancelled):
        sub.progress(2, 2)


def test_status_and_partial_callbacks():
    statuses, partials = [], []
    state = TaskState(on_status=statuses.append, on_partial=partials.append)
    state.status("Reading")
    state.partial([1, 2])
    assert statuses == ["Reading"] and partials == [[1, 2]]
