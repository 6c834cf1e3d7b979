"""Windows for the UI tests: quiet ones (no restored layout), shut down after the test."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from explorer.core.library import Library
from explorer.ui.main_window import MainWindow
from explorer.ui.panels.base import Panel


@pytest.fixture
def library(explorer_home) -> Library:
    """The test's empty library; a test module with sets to open gives its own."""
    return Library(explorer_home)


@pytest.fixture
def windows(qtbot, library) -> Callable[..., MainWindow]:
    """Makes shown windows on `library`, with the given panels (default: the catalogue's);
    their jobs are shut down after the test."""
    made = []

    def make(panels: Sequence[type[Panel]] | None = None) -> MainWindow:
        win = MainWindow(library, restore=False, panels=panels)
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        win.jobs.shutdown()


@pytest.fixture
def window(windows) -> MainWindow:
    return windows()
