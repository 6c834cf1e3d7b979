"""File ▸ Library Storage…: what the library holds on disk, and freeing what nothing needs.

The same figures as `embedding-explorer du --json` (each set by vectors, metadata and
artefact kind; partial folders; encode work; installed models and caches), and Clean
Up runs `gc`: first only looking, so the user sees what would go and how much it
frees, then for real. Both walk the disk, so they run on the dialog's own JobRunner;
the dialog can be closed while they run.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QMessageBox,
                               QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from explorer.compute.library_storage import clean_up, library_usage
from explorer.core.library import Library
from explorer.core.partial_folders import TRASH_PREFIX
from explorer.core.storage import CleanUp, LibraryUsage, human_bytes
from explorer.ui.dialogs.messages import error_box
from explorer.ui.workers import JobRunner

COLUMNS = ("What", "Size", "Note")
_FREEABLE = QColor(160, 90, 0)
_QUIET = QColor(110, 110, 110)


class StorageDialog(QDialog):
    libraryChanged = Signal()  # gc removed something: the library panel should look again

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("storageDialog")
        self.setWindowTitle("Library Storage")
        self.resize(860, 500)
        self.library = library
        self.usage: LibraryUsage | None = None
        self.last_result: CleanUp | None = None
        self.last_box: QMessageBox | None = None
        self.measured = ""  # the summary of the last measurement
        self.jobs = JobRunner(parent=self)
        self.finished.connect(lambda _r: self.jobs.shutdown())
        self.summary = QLabel("Measuring the library…")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setColumnWidth(0, 360)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.clean_button = QPushButton("Clean Up…")
        self.clean_button.setToolTip("Remove what no set needs: partial folders of stopped "
                                     "imports, work of stopped encodings, stale or damaged "
                                     "artefacts (you see the list first)")
        self.clean_button.clicked.connect(self.clean_up)
        buttons.addButton(self.refresh_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.clean_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.refresh()

    # --- measuring ------------------------------------------------------------------------
    def refresh(self) -> None:
        library = self.library
        self.refresh_button.setEnabled(False)
        self.jobs.submit("usage", "Measuring the library",
                         lambda state: library_usage(library, state),
                         on_done=self.show_usage, on_error=self._failed)

    def show_usage(self, report: LibraryUsage) -> None:
        self.usage = report
        self.refresh_button.setEnabled(True)
        self.tree.clear()
        for s in report.sets:
            item = self._row(self.tree, s.name, s.total,
                             s.note or ("" if s.name == s.id else f"id {s.id}"),
                             _FREEABLE if s.replaced else None)
            self._row(item, "vectors", s.vectors)
            self._row(item, "metadata", s.metadata)
            for kind, size in sorted(s.artefacts.items(), key=lambda kv: -kv[1]):
                self._row(item, f"{kind} (artefacts)", size)
            self._row(item, "manifest and folders", s.other, colour=_QUIET)
        for title, folders, hint in (
                ("Partial folders of imports", report.partial, "left by a stopped import"),
                ("Encode work", report.encode_work, "a stopped encoding's work")):
            if folders:
                group = self._row(self.tree, title, sum(f.bytes for f in folders), "")
                for f in folders:
                    why = ("the rest of a removed set" if Path(f.path).name.startswith(TRASH_PREFIX)
                           else hint)
                    self._row(group, Path(f.path).name, f.bytes,
                              f.in_use or f"{why}; Clean Up removes it",
                              None if f.in_use else _FREEABLE)
                group.setExpanded(True)
        for name, size in sorted(report.other.items()):
            self._row(self.tree, name, size, "beside the library (models, caches, settings)",
                      _QUIET)
        self._row(self.tree, "library folders", report.library_files, "", _QUIET)
        freeable = (sum(f.bytes for f in report.partial if f.in_use is None)
                    + sum(f.bytes for f in report.encode_work if f.in_use is None)
                    + sum(s.total for s in report.sets if s.replaced))
        damaged = sum(1 for s in report.sets if s.note and not s.replaced)
        whole = len(report.sets) - damaged
        self.measured = (
            f"<b>{human_bytes(report.total)}</b> in {report.root}: {whole} "
            f"set{'s' if whole != 1 else ''}" + (f" and {damaged} damaged" if damaged else "")
            + (f"; <b>{human_bytes(freeable)}</b> can be freed with Clean Up (it also looks "
               "for stale artefacts)" if freeable else "; Clean Up also looks for stale or "
                                                       "damaged artefacts"))
        self.summary.setText(self.measured)

    def _row(self, parent, label: str, size: int, note: str = "",
             colour: QColor | None = None) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent, [label, human_bytes(size), note])
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(1, f"{size:,} bytes")
        if note:
            item.setToolTip(2, note)
        if colour is not None:
            for column in range(len(COLUMNS)):
                item.setForeground(column, QBrush(colour))
        return item

    # --- cleaning up ----------------------------------------------------------------------
    def clean_up(self) -> None:
        """Look first (a dry run), ask, then remove."""
        library = self.library
        self.clean_button.setEnabled(False)
        self.jobs.submit("gc", "Looking for what can go",
                         lambda state: clean_up(library, dry_run=True, state=state),
                         on_done=self._confirm, on_error=self._failed)

    def _confirm(self, plan: CleanUp) -> None:
        if not plan.removed:
            self.clean_button.setEnabled(True)
            self.summary.setText(self.measured + "<br>Nothing to remove: every file is used by "
                                 "a set, or by an import or encoding that is running.")
            return
        listing = "\n".join(f"{r.what}: {r.path} ({human_bytes(r.bytes)}) — {r.why}"
                            for r in plan.removed)
        box = QMessageBox(QMessageBox.Icon.Question, "Clean Up",
                          f"Remove {len(plan.removed)} item{'s' if len(plan.removed) != 1 else ''}"
                          f" and free {human_bytes(plan.freed)}?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.setInformativeText("No set loses anything it needs; what a running import or "
                               "encoding uses is kept.")
        box.setDetailedText(listing)
        box.button(QMessageBox.StandardButton.Yes).setText("Remove")
        if box.exec() != QMessageBox.StandardButton.Yes:
            self.clean_button.setEnabled(True)
            return
        library = self.library
        self.jobs.submit("gc", "Cleaning up", lambda state: clean_up(library, state=state),
                         on_done=self._cleaned, on_error=self._failed)

    def _cleaned(self, done: CleanUp) -> None:
        self.clean_button.setEnabled(True)
        self.last_result = done
        self.libraryChanged.emit()
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self.clean_button.setEnabled(True)
        self.last_box = error_box(self, error, "Library storage")
