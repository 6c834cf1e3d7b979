"""Fixtures of the Concepts panel's tab tests: one job runner a test, and the panel's jobs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.state import AppState
from explorer.ui.workers import JobRunner


@pytest.fixture
def jobs():
    runner = JobRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def tab_jobs(jobs) -> Callable[..., PanelJobs]:
    """Makes the Concepts panel's PanelJobs for a state, as the panel gives its tabs; errors
    go to the list given."""

    def make(state: AppState, errors: list | None = None) -> PanelJobs:
        return PanelJobs("concepts", jobs, state, (errors if errors is not None else []).append)

    return make
