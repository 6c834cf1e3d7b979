"""The concept directions of the open set, shared by the concept tabs and the map's concept plane.

One object holds the saved directions (read from the library in a job, so the UI
thread never waits on disk), which one is current, and the scores of the
current one along the set (computed once per direction and reused by every tab).
Its jobs run through the Concepts panel's PanelJobs: what a job answers for a set
the window has left is dropped there; saving and deleting carry on regardless.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.jobs import PanelJobs


class ConceptContext(QObject):
    directionsChanged = Signal()  # the saved list was (re)loaded
    currentChanged = Signal(object)  # Direction | None
    scoresReady = Signal(object, object)  # Direction, float32 scores of every row

    def __init__(self, jobs: PanelJobs, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.es: EmbeddingSet | None = None
        self.directions: list = []  # Direction, oldest first
        self.current = None  # Direction | None
        self.scores: np.ndarray | None = None  # of `current`, once computed
        self.loaded = False  # the saved directions of `es` have been read
        # the direction a reload should make current: kept until a reload delivers, since a
        # newer reload (a delete's, beside a save) replaces the older one before it answers
        self.wanted: str | None = None

    # --- the set -------------------------------------------------------------------------
    def set_set(self, es: EmbeddingSet | None) -> None:
        self.es = es
        self.directions = []
        self.wanted = None
        self.loaded = es is None or es.path is None  # nothing to read
        self._set_current(None)
        self.directionsChanged.emit()
        if not self.loaded:
            self.reload()

    def reload(self, then_current: str | None = None) -> None:
        """Read the saved directions again; make `then_current` (a name) current after."""
        es = self.es
        if es is None or es.path is None:
            return
        if then_current is not None:
            self.wanted = then_current

        def work(_state):
            from explorer.compute import concepts as cc

            return cc.DirectionStore(es).list()

        def done(directions) -> None:
            self.directions = directions
            self.loaded = True
            self.directionsChanged.emit()
            wanted, self.wanted = self.wanted, None
            name = wanted or (self.current.name if self.current is not None else None)
            chosen = self.find(name) if name else None
            if chosen is None and self.directions and self.current is None:
                chosen = self.directions[-1]
            if chosen is not None:
                self.choose(chosen.name)
            elif self.current is not None and self.find(self.current.name) is None:
                self._set_current(None)

        self.jobs.submit("directions", "Reading the saved directions", work, on_done=done)

    # --- directions ------------------------------------------------------------------------
    def find(self, name: str | None):
        return next((d for d in self.directions if d.name == name), None)

    def choose(self, name: str | None) -> None:
        """Make the saved direction `name` current and score the set along it (in a job)."""
        direction = self.find(name)
        if direction is self.current and direction is not None:
            return
        self._set_current(direction)
        if direction is not None:
            self._score(direction)

    def _set_current(self, direction) -> None:
        self.current = direction
        self.scores = None
        self.currentChanged.emit(direction)

    def _score(self, direction) -> None:
        es = self.es

        def work(state):
            from explorer.compute import concepts as cc

            return cc.scores(es, direction, state=state)

        def done(scores) -> None:
            if direction is self.current:
                self.scores = np.asarray(scores, dtype=np.float32)
                self.scoresReady.emit(direction, self.scores)

        self.jobs.submit("scores", f"Scoring items along {direction.name}", work, on_done=done)

    def save(self, direction, then_choose: bool = True) -> None:
        """Keep `direction` with the set (replacing one of the same name), then reload.

        The write is not bound to the set shown: it lands even if the window moves on
        (only the reload that follows is for this set). Saves of different directions,
        and a save beside a delete, never cancel each other: each name has its own kind.
        """
        es = self.es
        if es is None:
            return

        def work(_state):
            from explorer.compute import concepts as cc

            cc.DirectionStore(es).save(direction)
            return direction.name

        self.jobs.submit(f"save:{direction.name}", f"Saving {direction.name}", work,
                         on_done=self.jobs.guard(lambda name: self._saved(name, then_choose)),
                         set_bound=False)

    def _saved(self, name: str, then_choose: bool) -> None:
        if then_choose:
            self.current = None  # the saved object replaces any older one of that name
        self.reload(then_current=name if then_choose else None)

    def delete(self, name: str) -> None:
        """Remove the saved direction `name` from the set (lands like a save), then reload."""
        es = self.es
        if es is None:
            return

        def work(_state):
            from explorer.compute import concepts as cc

            cc.DirectionStore(es).delete(name)

        if self.current is not None and self.current.name == name:
            self._set_current(None)
        self.jobs.submit(f"delete:{name}", f"Deleting {name}", work,
                         on_done=self.jobs.guard(lambda _r: self.reload()), set_bound=False)
