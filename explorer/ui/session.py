"""Save and reopen a window's whole working state (File ▸ Save Session… / Open Session…).

Reading, finding the set and writing run in jobs. A session holds each panel's
`settings()` under its key, whatever the panels are. Opening one opens its set
through the window's usual asynchronous path; the window layout and the settings of
panels that are not `set_bound` apply at once, those of `set_bound` panels (and the
selection and current item) once the session's set is shown, in the window's panel
order. What could not be restored is gathered into notes, never raised.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.library import slugify
from explorer.core.session import EMPTY, SUFFIX, SetRef, Session, find_set
from explorer.ui.panels.jobs import PanelJobs

if TYPE_CHECKING:
    from explorer.ui.main_window import MainWindow

FILTER = f"Embedding Explorer session (*{SUFFIX});;All files (*)"
MAX_NOTE_CHARS = 300  # a panel's note quotes the file, which may be hostile


def collect(window: MainWindow) -> Session:
    """The window's state now; cheap (reads widgets), so it runs on the UI thread."""
    state = window.state
    es = state.embedding_set
    ref = SetRef(es.library_id, es.name, es.count, es.dim, list(es.source)) \
        if es is not None and es.library_id else None
    # what describes a set means nothing without one
    panels = {key: panel.settings() for key, panel in window.panels.items()
              if ref is not None or not panel.set_bound}
    return Session(
        set=ref, selection=state.selection if ref else EMPTY,
        current=state.current if ref else -1, panels=panels,
        window_geometry=bytes(window.saveGeometry().data()),
        window_state=window.dock_layout.state())


def apply_panels(window: MainWindow, session: Session, set_bound: bool) -> list[str]:
    """Give each panel (of one kind: set-bound or not) its saved settings, in the window's
    order; a panel that fails says so in a note instead of stopping the others."""
    notes: list[str] = []
    for key, panel in window.panels.items():
        if panel.set_bound != set_bound or key not in session.panels:
            continue
        try:
            found = panel.apply_settings(session.panels[key]) or []
        except Exception as exc:  # a panel (maybe a plugin's) choked on hostile values
            found = [f"the {panel.title} panel's settings could not be restored "
                     f"({type(exc).__name__}: {exc})"]
        notes += [str(note)[:MAX_NOTE_CHARS] for note in found]
    return notes


def unknown_panels(window: MainWindow, session: Session) -> list[str]:
    """A note naming the panels the session has settings for but this window lacks (a
    plugin's panel not installed here, say)."""
    unknown = sorted(key for key in session.panels if key not in window.panels)
    if not unknown:
        return []
    names = ", ".join(repr(key) for key in unknown[:5]) + (" …" if len(unknown) > 5 else "")
    return [f"the session has settings for panels this window does not have ({names}); "
            "they were left out"]


class SessionManager(QObject):
    saved = Signal(str)  # path
    applied = Signal(object)  # list[str]: what could not be restored, empty when all was

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.notes_box: QMessageBox | None = None
        self._pending: tuple[Path, Session, str, list[str]] | None = None
        self.jobs = PanelJobs("session", window.jobs, window.state, window.show_error,
                              parent=self)
        window.state.setChanged.connect(self._set_changed)

    # --- saving ------------------------------------------------------------------------
    def save_dialog(self) -> None:
        es = self.window.state.embedding_set
        start = str(Path.home() / f"{slugify(es.name) if es is not None else 'session'}{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", start, FILTER)
        if path:
            self.save(path if path.lower().endswith(SUFFIX) else path + SUFFIX)

    def save(self, path: str) -> None:
        session = collect(self.window)
        self.jobs.submit("save", "Saving the session", lambda _state: session.save(path),
                         on_done=self._saved, set_bound=False)

    def _saved(self, path: Path) -> None:
        self.window.statusBar().showMessage(f"Saved the session to {path}", 8000)
        self.saved.emit(str(path))

    # --- opening -----------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", str(Path.home()),
                                              FILTER)
        if path:
            self.open(path)

    def open(self, path: str) -> None:
        library = self.window.library

        def work(_state) -> tuple[Session, str | None, list[str]]:
            session = Session.load(path)
            notes = list(session.warnings)
            if session.set is None:
                return session, None, notes
            entry, problem = find_set(library, session.set)
            return session, entry.id if entry else None, notes + ([problem] if problem else [])

        self.jobs.submit("open", f"Reading {Path(path).name}", work,
                         on_done=lambda result: self._loaded(Path(path), *result),
                         set_bound=False)

    def _loaded(self, path: Path, session: Session, set_id: str | None, notes: list[str]) -> None:
        window = self.window
        if session.window_geometry:
            window.restoreGeometry(QByteArray(session.window_geometry))
        if session.window_state and not window.dock_layout.restore(session.window_state):
            notes = notes + ["the session's panel layout is from another version of the app "
                             "(or damaged), so the current layout was kept"]
        notes = notes + unknown_panels(window, session) + apply_panels(window, session, False)
        if set_id is None:
            self._finish(path, notes)
            return
        self._pending = (path, session, set_id, notes)
        window.open_library_set(set_id)

    def _set_changed(self, es: EmbeddingSet | None) -> None:
        pending, self._pending = self._pending, None
        if pending is None or es is None or es.library_id != pending[2]:
            return  # another set was opened meanwhile: the user moved on
        path, session, _set_id, notes = pending
        # after every view has taken the new set (they connected first, but be sure)
        QTimer.singleShot(0, self, lambda: self._apply(es, path, session, notes))

    def _apply(self, es: EmbeddingSet, path: Path, session: Session, notes: list[str]) -> None:
        window = self.window
        if window.state.embedding_set is not es:
            return
        notes = notes + apply_panels(window, session, True)
        window.state.select(session.selection)
        if session.current >= 0:
            window.state.set_current(session.current)
        self._finish(path, notes)

    def _finish(self, path: Path, notes: list[str]) -> None:
        self.window.statusBar().showMessage(f"Opened the session {path.name}", 8000)
        if notes:
            self.notes_box = notes_box(self.window, path, notes)
        self.applied.emit(notes)


def notes_box(parent, path: Path, notes: list[str]) -> QMessageBox:
    """A modeless note: the session opened, but not all of it could be restored."""
    box = QMessageBox(parent)
    box.setObjectName("sessionNotes")
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("Session opened")
    box.setText(f"{path.name} was opened, but:")
    box.setInformativeText("<ul>" + "".join(f"<li>{html.escape(n[:1].upper() + n[1:])}.</li>"
                                          for n in notes)
                           + "</ul>")
    box.open()
    return box
