"""The item inspector: everything known about the row the user is looking at, and, while
more than one item is selected, what the selection is (its summary, computed in a job:
reading the texts' words takes seconds on a big set, so the UI never waits for it), with a
button that asks the Concepts panel what sets the selection apart from the rest.

A set with thumbnails shows the item's picture above its fields (the thumbnail at once, then
the original, read and decoded in a job; a picture for an item left since is dropped), and
the selection as a grid of pictures at the press of Grid; a set without says how to get them (View ▸ Images…).
A chunk of a text file shows where it sits in its file: the file is read in a job (see
`chunk_context`), and a file gone or changed since is said, not raised.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QTextBrowser, QToolButton,
                               QVBoxLayout, QWidget)

from explorer.compute.selection_summary import SelectionSummary, summarise_selection
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.panels.item.chunk_context import ChunkContext, chunk_place, read_context
from explorer.ui.panels.item.original import MAX_SIDE as MAX_ORIGINAL_SIDE
from explorer.ui.panels.item.original import Original, read_original
from explorer.ui.thumbnails import pixmap_of_rgba
from explorer.ui.widgets.thumbnail_grid import ListOrGrid, restore_grid

IMAGE_PX = 256  # a small picture is shown scaled up to this
IMAGE_MAX_PX = 480  # a larger one as wide as the panel, at most this wide or high: its
# thumbnail (128 px) at that size first, so the original takes its place without a jump
SUMMARY_CELLS = 500  # the selection's grid shows its first items, not all of a million

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
    contextShown = Signal()  # a chunk's context (or why there is none) is shown
    originalShown = Signal(int)  # the row whose original picture (or why none) is shown

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
        # the summary's text, or the selected items' pictures
        self.summary_switch = ListOrGrid(self.summary, self.state)
        self.summary_switch.grid.rowClicked.connect(
            lambda row: self.state.set_current(row, source=self))
        self.summary_switch.grid.rowHovered.connect(
            lambda row: self.state.set_hover(row, source=self))
        self.summary_switch.hide()
        self.contrast_button = QToolButton(text="Compare with the rest")
        self.contrast_button.setAutoRaise(True)
        self.contrast_button.setToolTip(CONTRAST_TIP)
        self.contrast_button.clicked.connect(
            lambda: self.state.request_contrast(self.state.selection))
        self.contrast_button.hide()
        self.image = QLabel()
        self.picture = None  # (pixmap as read, largest side) while a picture is shown
        self.image.setObjectName("item-image")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setWordWrap(True)
        self.image.hide()
        self.images_button = QPushButton("Choose images…")
        self.images_button.setToolTip("Choose the column that holds the items' images and "
                                      "build their thumbnails (View ▸ Images…)")
        self.images_button.clicked.connect(self.state.request_images)
        self.images_button.hide()
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addStretch(1)
        actions.addWidget(self.contrast_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.error_line)
        layout.addWidget(self.summary_switch)
        layout.addLayout(actions)
        layout.addWidget(self.image)
        layout.addWidget(self.images_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.browser, 1)
        self._summary_timer = QTimer(self, singleShot=True, interval=SUMMARY_DELAY_MS)
        self._summary_timer.timeout.connect(self.summarise)
        self._summarised: np.ndarray | None = None  # the rows the job running now summarises
        self.row = -1
        self.item_html = ""  # the row's fields, before its context is read
        self.chunk_context: ChunkContext | None = None
        self.state.currentChanged.connect(lambda row, _src: self.show_row(row))
        self.state.selectionChanged.connect(lambda _rows, _src: self._summary_stale())
        self.state.colourByChanged.connect(lambda _col: self._summary_stale())
        self.state.thumbnails.changed.connect(lambda: self._show_image(self.row))
        self.show_row(-1)

    def new_set(self, es: EmbeddingSet | None) -> None:
        self.show_row(-1)
        self.summarise()

    def settings(self) -> dict[str, Any]:
        return {"grid": self.summary_switch.grid_on}

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        return restore_grid([self.summary_switch], settings.get("grid"), "item")

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
            self.summary_switch.hide()
            self.contrast_button.hide()
            return
        self._summarised = rows
        every = len(rows) >= es.count
        self.contrast_button.setEnabled(not every)
        self.contrast_button.setToolTip("Every item is selected: there is no rest to compare "
                                        "with" if every else CONTRAST_TIP)
        self.contrast_button.show()
        shown = rows[:SUMMARY_CELLS]
        self.summary_switch.grid.grid_model.set_rows(shown, lambda i: es.label(int(shown[i])))
        if not self.summary_switch.isVisible():
            self.summary.setText(f"<b>{len(rows):,} selected</b> "
                                 "<span style='color:gray'>summarising…</span>")
            self.summary_switch.show()
        colour_by = self.state.colour_by or None
        self.jobs.submit("summary", "Summarising the selection", summarise_selection, es,
                         rows, colour_by, on_done=lambda s: self._summary_done(rows, s))

    def _summary_done(self, rows: np.ndarray, summary: SelectionSummary) -> None:
        if rows is not self._summarised:
            return  # a job cancelled too late still delivers: the selection changed since
        self.summary.setText(summary_html(summary))
        self.summary_switch.show()
        self.summaryShown.emit()

    # --- the item -----------------------------------------------------------------
    def show_row(self, row: int) -> None:
        es: EmbeddingSet | None = self.state.embedding_set
        self.jobs.cancel("context")
        self.chunk_context = None
        if es is None or row < 0 or row >= es.count:
            self.row = -1
            self._show_image(-1)
            self.browser.setHtml("<p style='color:gray'>Click a row to see the item here.</p>")
            return
        self.row = row
        self._show_image(row)
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
        place = chunk_place(es, row)
        if text_col and record.get(text_col) and place is None:
            parts.append("<hr><p style='white-space:pre-wrap'>"
                         f"{html.escape(str(record[text_col]))}</p>")
        vec = es.vectors[row]
        head = ", ".join(f"{v:.3g}" for v in vec[:8])
        parts.append(f"<p style='color:gray'>vector ({es.dim}): [{head}{', …' if es.dim > 8 else ''}]</p>")
        self.item_html = "".join(parts)
        if place is None:
            self.browser.setHtml(self.item_html)
            return
        self.browser.setHtml(self.item_html + "<hr><p style='color:gray'>reading "
                             f"{html.escape(place.source)}…</p>")
        self.jobs.submit("context", "Reading the chunk's file", read_context, place,
                         on_done=lambda found: self._context_done(row, found))

    def _context_done(self, row: int, found: ChunkContext) -> None:
        if row != self.row:
            return  # another item is shown since
        self.chunk_context = found
        self.browser.setHtml(self.item_html + "<hr>" + context_html(found))
        self.contextShown.emit()

    def _show_image(self, row: int) -> None:
        """The item's picture (its thumbnail, scaled up to IMAGE_PX, until the original is
        read), or why there is none, or the way to get pictures when the set may have some."""
        self.jobs.cancel("original")
        self.image.setToolTip("")
        thumbnails = self.state.thumbnails
        self.images_button.setVisible(row >= 0 and not thumbnails.available()
                                      and bool(thumbnails.offer))
        if row < 0 or not thumbnails.available():
            self.image.setVisible(bool(thumbnails.offer) and row >= 0)
            self._set_note(html.escape(thumbnails.offer))
            return
        pixmap = thumbnails.pixmap(row)
        why = thumbnails.status(row)
        if pixmap is None:
            self._set_note(f"no picture: {html.escape(PICTURE_PROBLEMS.get(why, why))}")
        else:
            full = max(pixmap.width(), pixmap.height()) >= thumbnails.store.size
            self._set_picture(pixmap, IMAGE_MAX_PX if full else IMAGE_PX)
        self.image.show()
        es = self.state.embedding_set
        if es is not None and why in ("ok", "pending"):  # the others would fail again
            store = thumbnails.store
            self.jobs.submit("original", "Reading the item's picture", read_original, es,
                             store.source, row,
                             on_done=lambda found: self._original_done(store, found),
                             on_error=lambda _error: None)  # the thumbnail stays

    def _set_picture(self, pixmap, largest: int) -> None:
        """`pixmap` fitted into the panel's width and `largest` pixels (scaled up or down);
        fitted again when the panel is resized."""
        self.picture = (pixmap, largest)
        self._fit_picture()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.picture is not None and event.size().width() != event.oldSize().width():
            self._fit_picture()

    def _fit_picture(self) -> None:
        pixmap, largest = self.picture
        self.image.setWordWrap(False)  # a wrapping label has no height for a pixmap (Qt)
        side = max(64, min(largest, self.width() - 16))
        scale = side / max(pixmap.width(), pixmap.height(), 1)
        self.image.setPixmap(pixmap if scale == 1 else pixmap.scaled(
            max(1, round(pixmap.width() * scale)), max(1, round(pixmap.height() * scale)),
            Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def _set_note(self, text: str) -> None:
        """Grey words in the picture's place (`text` is HTML), wrapped to the panel."""
        self.picture = None
        self.image.setWordWrap(True)
        self.image.setText(f"<span style='color:gray'>{text}</span>")

    def _original_done(self, store, found: Original) -> None:
        """The original replaces the thumbnail, unless another item (or store) is shown since."""
        if found.row != self.row or store is not self.state.thumbnails.store:
            return
        if found.pixels is not None:
            full = max(found.pixels.shape[:2]) >= store.size
            self._set_picture(pixmap_of_rgba(found.pixels), IMAGE_MAX_PX if full else IMAGE_PX)
            self.image.setToolTip(f"{found.pixels.shape[1]} x {found.pixels.shape[0]} pixels "
                                  "as shown (the original, fitted into "
                                  f"{MAX_ORIGINAL_SIDE} pixels)")
        elif self.image.pixmap().isNull():
            self._set_note(f"no picture: {html.escape(found.reason)}")
        self.originalShown.emit(found.row)


PICTURE_PROBLEMS = {"missing": "its file is not there", "broken": "its file is not an image "
                    "this app can read safely", "url": "it is a URL, and this app works offline",
                    "pending": "its thumbnail is not made yet (View ▸ Images… resumes)"}


def context_html(found: ChunkContext) -> str:
    """The chunk marked in the text around it, or why it cannot be shown."""
    where = f"<p style='color:gray'>in {html.escape(found.path or found.source)}</p>"
    if found.problem:
        return f"<p style='color:#b05000'>{html.escape(found.problem)}</p>"
    note = f"<p style='color:#b05000'>{html.escape(found.note)}</p>" if found.note else ""
    return (where + note + "<p style='white-space:pre-wrap'>"
            f"<span style='color:gray'>{'…' if found.cut_before else ''}"
            f"{html.escape(found.before)}</span>"
            f"<span style='background-color:#fff2a8;color:black'>{html.escape(found.chunk)}</span>"
            f"<span style='color:gray'>{html.escape(found.after)}{'…' if found.cut_after else ''}"
            "</span></p>")
