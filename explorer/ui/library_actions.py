"""What the window does to a library set when the user asks from the library panel, and
what it offers after an import.

Each action's flow (question, dialog, job, reload) reads in one place here instead of
in the window. Every change to the library runs as a window job, so its progress is in
the status bar and the UI never waits on the disk or on a lock another process holds
(a rename from the CLI, say). When the changed set is the one shown, it is opened again
so every view sees the change (lists show the new labels), keeping the selection when
the rows are the same. Dialogs are opened, never exec'd: the window goes on behind them.

After an import (`after_import`) a set with vectors but no metadata is offered a
metadata file, then a set with no model the model dialog when an installed model has
its dimension. Both can be skipped: the set is imported and usable already.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from explorer.compute.reimport import reimport
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.core.manifest import LibraryEntry
from explorer.core.metadata_attach import attach_metadata, preview_attach
from explorer.ui.dialogs.encode_inspect import ModelChoice, find_models
from explorer.ui.dialogs.messages import error_box
from explorer.ui.dialogs.metadata_dialog import MetadataDialog
from explorer.ui.dialogs.model_dialog import ModelDialog
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.panels.library import LibraryView, model_shown
from explorer.ui.state import AppState
from explorer.ui.workers import JobRunner

Yes, No = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


class LibraryActions(QObject):
    """Rename, remove, label column, metadata, model, re-import and reveal for library sets;
    owned by the window, wired to its library panel."""

    shownSetRenamed = Signal()  # the shown set got another name (in place): retitle

    def __init__(self, window: QWidget, library: Library, state: AppState, jobs: PanelJobs,
                 runner: JobRunner, view: LibraryView,
                 status: Callable[[str, int], None]) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.state = state
        self.jobs = jobs  # the window's: kinds "window:rename:ID", "window:reload" ...
        self.runner = runner  # the model dialog runs its check on it
        self.view = view
        self.status = status
        self.last_dialog: QWidget | None = None  # the newest message box opened here
        self.offer: QMessageBox | None = None  # "attach a metadata file?", while open
        self.metadata_dialog: QDialog | None = None
        self.model_dialog: QDialog | None = None
        view.renameRequested.connect(self.rename)
        view.removeRequested.connect(self.remove)
        view.modelRequested.connect(lambda set_id: self.choose_model(set_id))
        view.labelColumnRequested.connect(self.set_label_column)
        view.attachRequested.connect(lambda set_id: self.attach(set_id))
        view.reimportRequested.connect(self.reimport)
        view.revealRequested.connect(self.reveal)

    # --- helpers ---------------------------------------------------------------
    def shown(self, set_id: str) -> bool:
        es = self.state.embedding_set
        return es is not None and es.library_id == set_id

    def error(self, error: BaseException, title: str) -> None:
        self.last_dialog = error_box(self.window, error, title)

    def _listed(self, set_id: str) -> LibraryEntry | None:
        """The set as the panel lists it; None (and the list made again, and said so) when
        it is gone: removed meanwhile, by the command line or another window."""
        entry = self.view.entries.get(set_id)
        if entry is None:
            self.view.refresh()
            self.error(InputError(f"no library set {set_id!r}",
                                  hint="it was removed meanwhile (from the command line or "
                                       "another window?)"), "Set not found")
        return entry

    def _submit(self, kind: str, label: str, work: Callable[[], object],
                done: Callable[[object], None], title: str) -> None:
        """A library change as a window job that outlives a change of set."""
        self.jobs.submit(kind, label, lambda state: work(), on_done=done,
                         on_error=lambda err: self.error(err, title), set_bound=False)

    def reload_if_shown(self, set_id: str, new_id: str | None = None,
                        keep_selection: bool = True) -> None:
        """Open the shown set again (as `new_id` after a re-import), so the views see what
        changed; the selection and current item stay when the rows are the same."""
        es = self.state.embedding_set
        if es is None or es.library_id != set_id:
            return
        selection = np.array(self.state.selection) if keep_selection else None
        current = self.state.current
        library, key = self.library, new_id or set_id

        def done(new: EmbeddingSet) -> None:
            if self.state.embedding_set is not es:
                return  # another set was opened meanwhile
            self.state.set_set(new)
            if selection is not None and new.count == es.count:
                self.state.select(selection)
                self.state.set_current(current)

        self.jobs.submit("reload", f"Opening “{es.name}” again", lambda state: library.open(key),
                         on_done=done, on_error=lambda err: self.error(err, "Cannot open"),
                         set_bound=False)

    # --- name and removal ------------------------------------------------------
    def rename(self, set_id: str) -> None:
        """Ask for a new name; one another set has is refused, naming that set."""
        entry = self._listed(set_id)
        if entry is None:
            return
        name, ok = QInputDialog.getText(self.window, "Rename set", f"New name for “{entry.name}”:",
                                        QLineEdit.EchoMode.Normal, entry.name)
        if not ok or name.strip() == entry.name:
            return
        library = self.library

        def done(renamed: LibraryEntry) -> None:
            es = self.state.embedding_set
            if es is not None and es.library_id == set_id:
                es.name = renamed.name
                self.shownSetRenamed.emit()
            self.view.refresh(set_id)

        self._submit(f"rename:{set_id}", f"Renaming “{entry.name}”",
                     lambda: library.rename(set_id, name), done, "Cannot rename")

    def remove(self, set_id: str) -> None:
        """Remove a set (or a damaged one, by its folder name) after asking."""
        found = self.view.find(set_id)
        if found is None:
            self._listed(set_id)
            return
        if isinstance(found, LibraryEntry):
            question = (f"Remove “{found.name}” ({found.count:,} items) from the library? The "
                        "original file is not touched.")
        else:
            question = f"Remove the damaged set “{set_id}” from the library? ({found.reason})"
        if QMessageBox.question(self.window, "Remove set", question) != Yes:
            return
        if self.shown(set_id):
            self.state.set_set(None)
        library, name = self.library, getattr(found, "name", set_id)

        def done(_removed: object) -> None:
            self.status(f"Removed “{name}” from the library", 8000)
            self.view.refresh()

        def failed(error: BaseException) -> None:  # a read-only library, or removed meanwhile
            self.error(error, "Cannot remove")
            self.view.refresh()

        self.jobs.submit(f"remove:{set_id}", f"Removing “{name}”",
                         lambda state: library.remove(set_id), on_done=done, on_error=failed,
                         set_bound=False)

    def reveal(self, folder: str) -> None:
        """Show a set's folder in the desktop's file manager."""
        if not folder or not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            self.status(f"No file manager could be opened; the set is in {folder}", 15000)

    # --- what the set's items are called, and their metadata -------------------
    def set_label_column(self, set_id: str, column: str | None) -> None:
        """Call the set's items by `column` (None: the id column, else the text column)."""
        entry = self._listed(set_id)
        if entry is None or entry.label_column == column:
            return
        library = self.library
        what = f"its “{column}” column" if column else "its id column, else its text"

        def done(changed: LibraryEntry) -> None:
            self.status(f"“{changed.name}” now calls its items by {what}", 8000)
            self.view.refresh()
            self.reload_if_shown(set_id)

        self._submit(f"label:{set_id}", f"Changing the labels of “{entry.name}”",
                     lambda: library.set_label_column(set_id, column), done,
                     "Cannot change the label column")

    def attach(self, set_id: str, path: str | None = None,
               then: Callable[[], None] | None = None) -> None:
        """Ask for a metadata file (MetadataDialog) and join it to the set in a job; the
        shown set is opened again with it. `then` runs once this is done or skipped."""
        entry = self._listed(set_id)
        if entry is None:
            if then is not None:
                then()
            return
        library = self.library
        dialog = MetadataDialog(self.window, set_name=entry.name, expected_rows=entry.count,
                                path=path,
                                previewer=lambda file: preview_attach(library, set_id, file))
        self.metadata_dialog = dialog

        def closed(result: int) -> None:
            if self.metadata_dialog is dialog:
                self.metadata_dialog = None
            dialog.deleteLater()
            if result == QDialog.DialogCode.Accepted and dialog.path():
                self._attach_file(entry, str(dialog.path()), dialog.id_column(),
                                  dialog.label_column(), then)
            elif then is not None:
                then()

        dialog.finished.connect(closed)
        dialog.open()

    def _attach_file(self, entry: LibraryEntry, path: str, id_column: str | None,
                     label_column: str | None, then: Callable[[], None] | None) -> None:
        library, set_id, file = self.library, entry.id, Path(path).name

        def work(state) -> LibraryEntry:
            return attach_metadata(library, set_id, path, id_column=id_column,
                                   label_column=label_column, state=state)

        def done(changed: LibraryEntry) -> None:
            columns = [c for c in changed.columns if c not in ("row", "source_row")]
            # what the attaching found worth saying (a model not checked against the new
            # text column, say) is the last of the set's notes
            said = [n for n in changed.notes[-1:] if n.startswith("the model")]
            self.status(f"Attached {file} to “{changed.name}”: {len(columns):,} column"
                        f"{'' if len(columns) == 1 else 's'} ({', '.join(columns[:6])}"
                        f"{', …' if len(columns) > 6 else ''})"
                        + "".join(f" · {n}" for n in said), 30000 if said else 15000)
            self.view.refresh()
            self.reload_if_shown(set_id)
            if then is not None:
                then()

        def failed(error: BaseException) -> None:
            self.error(error, "Cannot attach metadata")
            if then is not None:
                then()

        self.jobs.submit(f"attach:{set_id}", f"Attaching {file} to “{entry.name}”", work,
                         on_done=done, on_error=failed, set_bound=False)

    # --- model and re-import ---------------------------------------------------
    def choose_model(self, set_id: str) -> None:
        """Set's model…: the dialog checks the model against the vectors itself."""
        dialog = ModelDialog(self.window, library=self.library, set_id=set_id, runner=self.runner)
        self.model_dialog = dialog
        dialog.modelSet.connect(self._model_set)

        def closed(_result: int) -> None:
            if self.model_dialog is dialog:
                self.model_dialog = None
            dialog.deleteLater()

        dialog.finished.connect(closed)
        dialog.open()

    def _model_set(self, entry: LibraryEntry) -> None:
        shown, tip = model_shown(entry.model, entry.check)
        self.status(f"“{entry.name}”'s model: {shown} — {tip.splitlines()[-1]}", 15000)
        self.view.refresh()
        self.reload_if_shown(entry.id)

    def reimport(self, set_id: str) -> None:
        """Read the set's file again and replace the set; asked first when it is shown."""
        entry = self._listed(set_id)
        if entry is None:
            return
        source = Path(entry.source[0]).name if entry.source else "its file"
        if self.shown(set_id) and QMessageBox.question(
                self.window, "Re-import set",
                f"“{entry.name}” is open. Re-importing reads {source} again and replaces the "
                "set with what it holds now; the views then show the new copy. Re-import?") \
                != Yes:
            return
        library = self.library

        def done(new: LibraryEntry) -> None:
            # the re-import's notes start with "re-imported from …" and say what changed
            start = max((i for i, n in enumerate(new.notes) if n.startswith("re-imported")),
                        default=len(new.notes))
            notes = "".join(f" · {n}" for n in new.notes[start + 1:])
            self.status(f"Re-imported “{new.name}” from {source}: {new.count:,} × {new.dim}"
                        + notes, 30000 if notes else 10000)
            self.view.refresh()
            self.reload_if_shown(set_id, new.id, keep_selection=False)

        self.jobs.submit(f"reimport:{set_id}", f"Re-importing {source}",
                         lambda state: reimport(library, set_id, state=state), on_done=done,
                         on_error=lambda err: self.error(err, "Cannot re-import"),
                         set_bound=False)

    # --- after an import -------------------------------------------------------
    def after_import(self, es: EmbeddingSet, has_metadata: bool, path: str,
                     more: bool = False) -> None:
        """Offer what a new set lacks: metadata, then its model. With `more` files waiting
        to be opened, nothing is asked: the status bar says where to add metadata later."""
        file = Path(path).name
        if more:
            if not has_metadata:
                self.status(f"{file} has vectors but no metadata: Attach metadata… in the "
                            "library's menu adds names, texts or categories", 15000)
            return
        if has_metadata:
            self.offer_model(es)
        else:
            self.offer_metadata(es, file, then=lambda: self.offer_model(es))

    def offer_metadata(self, es: EmbeddingSet, file: str, then: Callable[[], None]) -> None:
        """A small question, answered whenever the user likes; "Attach…" opens the dialog.
        An earlier import's question still open is withdrawn: one at a time."""
        if self.offer is not None:  # an earlier import's question, not answered: withdrawn
            old, self.offer = self.offer, None
            old.blockSignals(True)
            old.close()
            old.deleteLater()
        box = QMessageBox(QMessageBox.Icon.Question, "Attach metadata",
                          f"“{file}” has vectors but no metadata. Attach a metadata file "
                          "(names, texts, categories)?", Yes | No, self.window)
        box.setObjectName("attachMetadataOffer")
        box.setInformativeText("A table (CSV, TSV, Parquet, JSON Lines) with one row per "
                               "vector, in the same order. The set is imported and usable "
                               "either way; Attach metadata… in the library's menu does "
                               "this later.")
        box.button(Yes).setText("Attach…")
        box.button(No).setText("Not now")
        box.setEscapeButton(No)
        self.offer = box
        set_id = es.library_id

        def answered(_result: int) -> None:
            if self.offer is box:
                self.offer = None
            box.deleteLater()
            if box.standardButton(box.clickedButton()) == Yes and set_id is not None:
                self.attach(set_id, then=then)
            else:
                then()

        box.finished.connect(answered)
        box.setModal(False)  # the set is open behind it: the user may look before answering
        box.show()

    def offer_model(self, es: EmbeddingSet) -> None:
        """A set with no model, while shown: the model dialog opens when an installed
        model has the set's dimension (looked up in a job: it opens each model)."""
        if es.model or es.library_id is None:
            return
        dim, set_id = es.dim, es.library_id

        def fitting(state) -> list[ModelChoice]:
            return [c for c in find_models(state).choices if c.dim == dim]

        def found(choices: list[ModelChoice]) -> None:
            shown = self.state.embedding_set
            if not choices or shown is None or shown.library_id != set_id or shown.model:
                return
            names = ", ".join(c.name for c in choices)
            self.status(f"“{shown.name}” records no model, and {names} "
                        f"{'has' if len(choices) == 1 else 'have'} its {dim} dimensions: "
                        "name the model that made its vectors, or Cancel", 20000)
            self.choose_model(set_id)

        self.jobs.submit("models", "Looking for installed models", fitting, on_done=found,
                         on_error=lambda err: None, set_bound=False)  # only an offer
