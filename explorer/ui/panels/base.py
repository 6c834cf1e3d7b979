"""The panel contract: what every panel of the window is, and the one list of them.

A panel is a widget with a key, a title and a default area. It learns of a new set
through `new_set()`, keeps what a session saves in `settings()` and takes it back in
`apply_settings()` (returning notes on what could not be restored), shows its errors
inline with `show_error()`, and runs every background job through `self.jobs`
(`PanelJobs`). Panels never call each other: they read and write the shared
`AppState` (including "show this panel", the concept plane and "open this set").

The window, sessions and `screenshot` iterate panels; adding one is one "panel"
contribution (the built-ins are declared in `explorer/contributions.py` like any
plugin's), which `explorer.ui.panels.catalogue` reads when a window is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from PySide6.QtWidgets import QWidget

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import Library
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.state import AppState
from explorer.ui.widgets.error_line import ErrorLine
from explorer.ui.workers import JobRunner


class Area(Enum):
    """Where a panel sits by default; the map is the window's centre."""

    CENTRE = "centre"
    LEFT = "left"
    RIGHT = "right"
    BOTTOM = "bottom"


@dataclass(frozen=True)
class PanelContext:
    """What every panel is built with."""

    state: AppState
    runner: JobRunner
    library: Library


class Panel(QWidget):
    """Base of every panel. Subclasses set the class attributes and override the hooks."""

    key: ClassVar[str]
    title: ClassVar[str]
    area: ClassVar[Area] = Area.LEFT
    # settings that describe the set's content (a selection, a map) wait for the session's
    # set to be shown; others (compression options) apply at once
    set_bound: ClassVar[bool] = True
    # tabs other panels may ask for by name (`state.request_view("hubness")`)
    tab_keys: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"panel-{self.key}")
        self.panel_context = context
        self.state = context.state
        self.error_line = ErrorLine(self)
        self.jobs = PanelJobs(self.key, context.runner, context.state, self.show_error,
                              parent=self)
        context.state.setChanged.connect(self._panel_set_changed)

    def new_set(self, es: EmbeddingSet | None) -> None:
        """The window shows another set (or none). The panel's jobs for the old one are
        already cancelled and their results will be dropped."""

    def settings(self) -> dict[str, Any]:
        """What a session keeps of this panel (plain JSON values)."""
        return {}

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        """Restore `settings()` from a session, which may be old or hostile: check every
        value, apply what is valid, and return one note per thing that could not be."""
        return []

    def show_tab(self, key: str) -> None:
        """Bring the tab `key` (one of `tab_keys`) forward inside the panel."""

    def show_error(self, error: BaseException) -> None:
        """A job of this panel failed: say so in the panel, not in a dialog."""
        self.error_line.show_error(error)

    def _panel_set_changed(self, es: EmbeddingSet | None) -> None:
        self.error_line.clear_error()
        self.new_set(es)
