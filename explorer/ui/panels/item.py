"""The item inspector: everything known about the row the user is looking at, and, while
more than one item is selected, what the selection is (its summary, computed in a job:
reading the texts' words takes seconds on a big set, so the UI never waits for it), with a
button that asks the Concepts panel what sets the selection apart from the rest."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QTextBrowser, QToolButton, QVBoxLayout,
                               QWidget)

from explorer.compute.selection_summary import SelectionSummary, summarise_selection
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.base import Area, Panel, PanelContext

SUMMARY_MIN = 2  # a selection this large is summarised
SUMMARY_DELAY_MS = 150  # a lasso being dragged changes the selection often: wait for it
CONTRAST_TIP = ("A concept direction from the rest of the set to the selected items, checked "
                "and saved like any concept (Concepts panel)")


def summary_html(summary: SelectionSummary) -> str:
    """The summary as a few short lines: shares with the set's share beside them."""
    parts = [(f"<b>{summary.count:,} selected</b> "
              f"<span style='color:gray'>of {summary.total:,} "
              f"({summary.count / max(summary.total, 1):.1%})</span>")]
    if summary.column and summary.categories:
        shares = "<br>".join(
            f"{html.escape(c.name)} <b>{c.share:.0%}</b> "
            f"<span style='color:gray'>({c.set_share:.0%} of the set)</span>"
            for c in summary.categories)
        parts.append(f"<span style='color:gray'>{html.escape(summary.column)}</span><br>{shares}")
    if summary.terms:
        parts.append("<span style='color:gray'>terms</span> "
                     + html.escape(", ".join(summary.terms)))
    elif summary.text_column and summary.count < summary.total:
        parts.append("<span style='color:gray'>no word sets these texts apart</span>")
    return "<br>".join(parts)


class ItemView(Panel):
    key = "item"
    title = "Item"
    area = Area.LEFT

    summaryShown = Signal()  # a summary job's result is shown

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.summary = QLabel()
        self.summary.setObjectName("selection-summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setStyleSheet("QLabel#selection-summary { padding: 4px; "
                                   "border-bottom: 1px solid palette(mid); }")
        self.summary.hide()
        self.contrast_button = QToolButton(text="Compare with the rest")
        self.contrast_button.setAutoRaise(True)
        self.contrast_button.setToolTip(CONTRAST_TIP)
        self.contrast_button.clicked.connect(
            lambda: self.state.request_contrast(self.state.selection))
        self.contrast_button.hide()
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addStretch(1)
        actions.addWidget(self.contrast_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.error_line)
        layout.addWidget(self.summary)
        layout.addLayout(actions)
        layout.addWidget(self.browser)
        self._summary_timer = QTimer(self, singleShot=True, interval=SUMMARY_DELAY_MS)
        self._summary_timer.timeout.connect(self.summarise)
        self._summarised: np.ndarray | None = None  # the rows the job running now summarises
        self.state.currentChanged.connect(lambda row, _src: self.show_row(row))
        self.state.selectionChanged.connect(lambda _rows, _src: self._summary_stale())
        self.state.colourByChanged.connect(lambda _col: self._summary_stale())
        self.show_row(-1)

    def new_set(self, es: EmbeddingSet | None) -> None:
        self.show_row(-1)
        self.summarise()

    # --- the selection's summary -----------------------------------------------
    def _summary_stale(self) -> None:
        """What is shown, or being computed, no longer describes the selection: drop any
        result still to come and summarise again once the selection settles."""
        self._summarised = None
        self._summary_timer.start()

    def summarise(self) -> None:
        """Summarise the selection in a job (the newest wins), or hide the summary."""
        self._summary_timer.stop()
        es, rows = self.state.embedding_set, self.state.selection
        if es is None or len(rows) < SUMMARY_MIN:
            self.jobs.cancel("summary")
            self._summarised = None
            self.summary.hide()
            self.contrast_button.hide()
            return
        self._summarised = rows
        every = len(rows) >= es.count
        self.contrast_button.setEnabled(not every)
        self.contrast_button.setToolTip("Every item is selected: there is no rest to compare "
                                        "with" if every else CONTRAST_TIP)
        self.contrast_button.show()
        if not self.summary.isVisible():
            self.summary.setText(f"<b>{len(rows):,} selected</b> "
                                 "<span style='color:gray'>summarising…</span>")
            self.summary.show()
        colour_by = self.state.colour_by or None
        self.jobs.submit("summary", "Summarising the selection", summarise_selection, es,
                         rows, colour_by, on_done=lambda s: self._summary_done(rows, s))

    def _summary_done(self, rows: np.ndarray, summary: SelectionSummary) -> None:
        if rows is not self._summarised:
            return  # a job cancelled too late still delivers: the selection changed since
        self.summary.setText(summary_html(summary))
        self.summary.show()
        self.summaryShown.emit()

    def show_row(self, row: int) -> None:
        es: EmbeddingSet | None = self.state.embedding_set
        if es is None or row < 0 or row >= es.count:
            self.browser.setHtml("<p style='color:gray'>Click a row to see the item here.</p>")
            return
        record = es.metadata.slice(row, 1).to_pylist()[0]
        title = html.escape(es.label(row))
        parts = [f"<h3>{title}</h3><p style='color:gray'>row {row} of {es.count:,}</p><table>"]
        text_col = es.text_column
        for key, value in record.items():
            if key == text_col:
                continue
            shown = html.escape(str(value))[:300]
            parts.append(f"<tr><td style='color:gray;padding-right:8px'>{html.escape(key)}</td>"
                         f"<td>{shown}</td></tr>")
        parts.append("</table>")
        if text_col and record.get(text_col):
            parts.append("<hr><p style='white-space:pre-wrap'>"
                         f"{html.escape(str(record[text_col]))}</p>")
        vec = es.vectors[row]
        head = ", ".join(f"{v:.3g}" for v in vec[:8])
        parts.append(f"<p style='color:gray'>vector ({es.dim}): [{head}{', …' if es.dim > 8 else ''}]</p>")
        self.browser.setHtml("".join(parts))
