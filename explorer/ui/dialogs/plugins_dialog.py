"""Help ▸ Plugins: every contribution, where it came from, whether it loaded, what failed.

The same facts as `embedding-explorer plugins --json`, so a broken plugin can be found and
reported without a terminal; Copy puts that JSON on the clipboard for a bug report.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel,
                               QPlainTextEdit, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from explorer import plugins

COLUMNS = ("Kind", "Name", "Source", "Status", "Error")
_FAILED = QColor(190, 30, 30)


class PluginsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None,
                 registry: plugins.Registry | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pluginsDialog")
        self.setWindowTitle("Plugins")
        self.resize(900, 520)
        self.registry = registry or plugins.registry()
        self.summary = QLabel(self._summary())
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)  # one line a row; the whole error is in the pane below
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setPlaceholderText("Select a row to see its description, or its error "
                                        "with the traceback")
        self._details: list[str] = []
        self._fill()
        self.table.currentCellChanged.connect(lambda row, *_: self._show(row))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setSizes([360, 140])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy as JSON", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setToolTip("The same report as `embedding-explorer plugins --json`, for a bug report")
        copy.clicked.connect(self.copy_report)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)

    def _summary(self) -> str:
        reg = self.registry
        plugin_dists = {e.origin.distribution for e in reg.entries if not e.origin.builtin}
        plugin_dists |= {f.origin.distribution for f in reg.failures if not f.origin.builtin}
        text = (f"{len(reg.entries)} contributions: the built-ins and "
                f"{len(plugin_dists)} plugin distribution{'s' if len(plugin_dists) != 1 else ''}"
                f" (entry-point group <code>{plugins.GROUP}</code>). ")
        text += (f"<b>{reg.problems} problem{'s' if reg.problems != 1 else ''}</b>: the rest "
                 "works without them." if reg.problems else "No problems.")
        for note in reg.notes:
            text += f"<br>Note: {note}"
        return text

    def _fill(self) -> None:
        rows = [((e.spec.kind, e.spec.name, _source(e.origin), e.status, e.error),
                 _entry_details(e)) for e in self.registry.entries]
        rows += [(("—", f.origin.entry_point, _source(f.origin), "failed to load", f.error),
                  f"The declaration of entry point {f.origin.entry_point!r} could not be read; "
                  f"nothing from it is registered.\n\n{f.details or f.error}")
                 for f in self.registry.failures]
        self.table.setRowCount(len(rows))
        self._details = [details for _cells, details in rows]
        for r, (cells, _details) in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if cells[4]:
                    item.setForeground(QBrush(_FAILED))
                    item.setToolTip(cells[4])
                self.table.setItem(r, c, item)

    def _show(self, row: int) -> None:
        self.details.setPlainText(self._details[row] if 0 <= row < len(self._details) else "")

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(json.dumps(self.registry.to_dict(), indent=2))


def _source(origin: plugins.Origin) -> str:
    return "built-in" if origin.builtin else f"{origin.distribution} {origin.version}".strip()


def _entry_details(entry: plugins.Entry) -> str:
    spec = entry.spec
    lines = [f"{spec.kind} {spec.name!r} ({spec.title}): {spec.description or '(no description)'}",
             f"implementation: {spec.target} ({entry.status})",
             f"from: {_source(entry.origin)}, entry point {entry.origin.entry_point!r}"]
    if spec.kind == "loader":
        lines.append(f"files: {' '.join(spec.extensions) or '(by content)'}, "
                     f"priority {spec.priority}")
    if entry.error:
        lines += ["", entry.details or entry.error]
    return "\n".join(lines)
