"""The Entanglement tab: how much the saved directions overlap.

A k×k table over the saved directions, one of three readings at a time: the
directions' cosine, the effect (how much an item's score on the column
direction changes when it moves along the row direction so that its row score
rises by one), and the rank correlation of the items' scores. A sentence under
it names the most entangled pair. Computed in a job whenever the saved list
changes; clicking a cell makes the row's direction current.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from explorer.ui.panels.concepts.context import ConceptContext
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.state import AppState
from explorer.ui.widgets.dock_widgets import DIM_STYLE, busy_bar, shrinkable, wrapping
from explorer.ui.widgets.error_line import ErrorLine

# key -> (combo text, what a cell says, the caption under the table)
MODES = {
    "cosine": ("Cosine",
               "The cosine between the two directions: 0 means independent, ±1 the same axis."),
    "effect": ("Effect (score change on the column per unit move along the row)",
               "How much an item's score on the column direction changes, on average, when it "
               "moves along the row direction so that its row score rises by 1."),
    "spearman": ("Score correlation (Spearman)",
                 "The rank correlation of the items' scores on the two directions: whether the "
                 "set's items that score high on one also score high on the other."),
}
DIGITS = 2  # decimals shown in a cell
BLUE = np.array([33, 102, 172], dtype=np.float64)  # −1 (RdBu's ends)
RED = np.array([178, 24, 43], dtype=np.float64)  # +1
WHITE = np.array([255, 255, 255], dtype=np.float64)
DIAGONAL = QColor(236, 236, 236)
ROW_HEADER_CHARS = 48  # names longer than this are cut in the headers (tooltips have them whole)
COLUMN_HEADER_CHARS = 40
HEADER_LINES = 3  # a column's name wraps onto at most this many lines
ROW_HEADER_SHARE = 0.3  # of the table's width, at most, for the row names (they wrap)
HINT = "Save at least two directions (Define tab) to see how much they overlap."


def diverging(value: float) -> QColor:
    """Blue at −1, white at 0, red at +1 (clipped); grey for a missing value."""
    if not np.isfinite(value):
        return QColor(220, 220, 220)
    t = min(1.0, abs(float(value)))
    end = RED if value > 0 else BLUE
    rgb = WHITE + (end - WHITE) * t
    return QColor(*(int(round(c)) for c in rgb))


def format_cell(value: float) -> str:
    if not np.isfinite(value):
        return "–"
    text = f"{value:.{DIGITS}f}"
    return text if text.strip("-0.") else f"{0:.{DIGITS}f}"  # no "-0.00"


def _cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _poles(d) -> str:
    return f"{d.name}\nfrom “{d.label_a}” (low scores) to “{d.label_b}” (high scores)"


def strength(cos: float) -> str:
    a = abs(cos)
    if a >= 0.5:
        return "strongly entangled"
    if a >= 0.2:
        return "entangled"
    if a >= 0.1:
        return "slightly entangled"
    return "nearly independent"


def most_entangled(ent) -> tuple[int, int] | None:
    """The pair (i, j) of largest |cosine|, ordered so that i → j has the larger |effect|."""
    k = len(ent.names)
    if k < 2:
        return None
    cos = np.abs(np.asarray(ent.cosine, dtype=np.float64))
    np.fill_diagonal(cos, -1.0)
    i, j = np.unravel_index(int(np.argmax(cos)), cos.shape)
    effect = np.asarray(ent.effect, dtype=np.float64)
    if np.nan_to_num(abs(effect[j, i])) > np.nan_to_num(abs(effect[i, j])):
        i, j = j, i
    return int(i), int(j)


def sentence(ent, directions) -> str:
    """Rich text naming the most entangled pair and what moving along one does to the other."""
    pair = most_entangled(ent)
    if pair is None:
        return ""
    i, j = pair
    di, dj = directions[i], directions[j]
    cos = float(ent.cosine[i, j])
    effect = float(ent.effect[i, j])
    q = html.escape
    name_i, name_j = f"‘{q(di.name)}’", f"‘{q(dj.name)}’"
    if abs(cos) < 0.1:
        return (f"The directions are {strength(cos)}: the largest cosine, between {name_i} and "
                f"{name_j}, is only <b>{cos:.2f}</b>.")
    verb = "raises" if effect >= 0 else "lowers"
    return (f"{name_i} and {name_j} are {strength(cos)}: cosine <b>{cos:.2f}</b> — moving an "
            f"item towards ‘{q(di.label_b)}’ also {verb} its ‘{q(dj.label_b)}’ score by "
            f"<b>{abs(effect):.2f}</b> per unit.")


class EntanglementTab(QWidget):
    """Recomputed (in a job) whenever the saved directions change; needs two or more."""

    finished = Signal(object)  # cc.Entanglement, once shown

    def __init__(self, state: AppState, jobs: PanelJobs, context: ConceptContext,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.context = context
        self.entanglement = None  # cc.Entanglement shown
        self.directions: list = []  # the Direction objects behind the rows, in order
        self._key: tuple | None = None  # what the shown (or running) matrix was computed for
        self._es = None

        self.mode = shrinkable(QComboBox(), 10)
        for key, (title, tip) in MODES.items():
            self.mode.addItem(title, key)
            self.mode.setItemData(self.mode.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.mode.setToolTip("What the cells show")
        self.mode.currentIndexChanged.connect(lambda _i: self._fill())
        self.busy = busy_bar()
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.mode, 1)

        self.hint = wrapping(QLabel(HINT))
        self.hint.setStyleSheet(DIM_STYLE)
        self.message = ErrorLine()
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setWordWrap(False)
        self.table.setToolTip("Click a cell to make its row's direction current")
        # names wrap in both headers rather than being clipped: the columns are narrow
        columns, rows = self.table.horizontalHeader(), self.table.verticalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        columns.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        columns.setTextElideMode(Qt.TextElideMode.ElideNone)
        columns.sectionResized.connect(lambda *_: self._fit_header())
        rows.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
                                 | Qt.TextFlag.TextWordWrap)
        rows.setTextElideMode(Qt.TextElideMode.ElideNone)
        for header in (columns, rows):
            header.setHighlightSections(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() * 2 + 6)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.cellClicked.connect(self._cell_clicked)
        self.table.hide()
        self.caption = wrapping(QLabel())
        self.caption.setStyleSheet(DIM_STYLE)
        self.summary = wrapping(QLabel())
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.job = jobs.track("entanglement", self.busy, on_status=self.caption.setText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.busy)
        layout.addWidget(self.hint)
        layout.addWidget(self.message)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        layout.addWidget(self.caption)
        layout.addStretch(1)

        context.directionsChanged.connect(self.refresh)
        context.currentChanged.connect(lambda _d: self._mark_current())
        self.refresh()

    # --- public --------------------------------------------------------------------------
    @property
    def mode_key(self) -> str:
        return self.mode.currentData()

    def set_mode(self, key: str) -> None:
        """"cosine", "effect" or "spearman"."""
        self.mode.setCurrentIndex(self.mode.findData(key))

    def matrix(self) -> np.ndarray | None:
        """The numbers the cells show (of the current mode), or None."""
        ent = self.entanglement
        return None if ent is None else np.asarray(getattr(ent, self.mode_key), dtype=np.float64)

    def refresh(self) -> None:
        """Compute the matrix for the saved directions (unless it is already shown)."""
        es, directions = self.context.es, list(self.context.directions)
        if es is not self._es:
            self._es = es
            self._key = None
            self._clear()
        if len(directions) < 2:
            self.job.cancel()
            self._key = None
            self._clear()
            self.hint.setText(HINT if es is not None else "Open a set to compare its directions.")
            self.hint.show()
            return
        key = tuple((d.name, d.label_a, d.label_b, d.vector.tobytes()) for d in directions)
        if key == self._key:
            return
        self._key = key
        self.hint.hide()
        self.message.clear_error()
        self.caption.setText("Measuring how the directions overlap…")

        def work(state):
            from explorer.compute import concepts as cc

            return cc.entanglement(es, directions, state=state)

        # an answer counts only while its list is the one asked for (not stopped, not replaced)
        self.job.submit("Measuring entanglement", work,
                        on_done=lambda ent: self._done(ent, directions) if key == self._key
                        else None,
                        on_error=lambda error: self._failed(error) if key == self._key else None)

    # --- results -------------------------------------------------------------------------
    def _clear(self) -> None:
        self.entanglement = None
        self.directions = []
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.table.hide()
        self.summary.clear()
        self.caption.clear()
        self.message.clear_error()

    def _done(self, ent, directions) -> None:
        self.entanglement = ent
        self.directions = directions
        self.message.clear_error()
        self.hint.hide()
        self.summary.setText(sentence(ent, directions))
        self._fill()
        self.table.show()
        self.finished.emit(ent)

    def _failed(self, error: BaseException) -> None:
        self._key = None  # let the next change try again
        self.caption.setText(MODES[self.mode_key][1] if self.entanglement is not None else "")
        self.message.show_error(error)

    def _fill(self) -> None:
        ent = self.entanglement
        if ent is None:
            return
        key = self.mode_key
        values = self.matrix()
        names = list(ent.names)
        k = len(names)
        t = self.table
        t.clear()
        t.setRowCount(k)
        t.setColumnCount(k)
        for i, d in enumerate(self.directions):
            row_head = QTableWidgetItem(_cut(d.name, ROW_HEADER_CHARS))
            row_head.setToolTip(_poles(d))
            t.setVerticalHeaderItem(i, row_head)
            col_head = QTableWidgetItem(_cut(d.name, COLUMN_HEADER_CHARS))
            col_head.setToolTip(_poles(d))
            t.setHorizontalHeaderItem(i, col_head)
        for i in range(k):
            for j in range(k):
                v = float(values[i, j])
                item = QTableWidgetItem(format_cell(v))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if i == j:
                    item.setBackground(QBrush(DIAGONAL))
                    item.setForeground(QBrush(QColor(130, 130, 130)))
                else:
                    item.setBackground(QBrush(diverging(v)))
                    dark = np.isfinite(v) and abs(v) > 0.55
                    item.setForeground(QBrush(QColor("white") if dark else QColor(20, 20, 20)))
                item.setToolTip(self._cell_tip(key, i, j, v))
                t.setItem(i, j, item)
        self._mark_current()
        self._fit_header()
        self.caption.setText(self._caption(key))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.table.verticalHeader().setMaximumWidth(max(80, int(self.width() * ROW_HEADER_SHARE)))
        self._fit_header()

    def _fit_header(self) -> None:
        """Column names wrap at their spaces: the columns share the width while each name's
        longest word fits its column (the table scrolls sideways beyond that, rather than
        clipping a name); the header is as tall as the longest name wrapped (at most
        HEADER_LINES lines) and the table as tall as its rows, so the sentence sits right
        under it."""
        t = self.table
        header = t.horizontalHeader()
        metrics = QFontMetrics(header.font())
        k = t.columnCount()
        names = [item.text() if (item := t.horizontalHeaderItem(i)) is not None else ""
                 for i in range(k)]
        need = [max((metrics.horizontalAdvance(word) for word in name.split()), default=0) + 14
                for name in names]
        room = t.width() - t.verticalHeader().width() - 2 * t.frameWidth()
        share = room // k if k else room
        stretch = all(share >= n for n in need)
        mode = QHeaderView.ResizeMode.Stretch if stretch else QHeaderView.ResizeMode.Interactive
        for i in range(k):
            if header.sectionResizeMode(i) != mode:
                header.setSectionResizeMode(i, mode)
            if not stretch and header.sectionSize(i) != max(need[i], share):
                header.resizeSection(i, max(need[i], share))
        height = metrics.height()
        for i, name in enumerate(names):
            box = QRect(0, 0, max(1, header.sectionSize(i) - 8), metrics.height() * HEADER_LINES)
            height = max(height, metrics.boundingRect(box, int(Qt.TextFlag.TextWordWrap),
                                                      name).height())
        height = min(height, metrics.height() * HEADER_LINES) + 8
        if header.minimumHeight() != height:
            header.setMinimumHeight(height)
        rows = sum(t.rowHeight(i) for i in range(t.rowCount()))
        scroll = t.horizontalScrollBar().sizeHint().height() if not stretch else 0
        t.setMaximumHeight(max(height, header.sizeHint().height()) + rows + scroll
                           + 2 * t.frameWidth() + 2)

    def _caption(self, key: str) -> str:
        ent = self.entanglement
        text = MODES[key][1]
        if key != "cosine" and ent is not None:
            text += f" Over {ent.rows:,} items" + (" (a random sample)." if self.context.es
                                                    is not None and ent.rows < self.context.es.count
                                                    else ".")
        return text + " Blue: negative · white: 0 · red: positive. Click a cell to make its " \
                      "row's direction current."

    def _cell_tip(self, key: str, i: int, j: int, v: float) -> str:
        di, dj = self.directions[i], self.directions[j]
        a, b = f"‘{di.name}’", f"‘{dj.name}’"
        if i == j:
            return f"{a} with itself"
        if key == "cosine":
            return f"cosine between {a} and {b}: {v:.4f}"
        if key == "effect":
            return (f"moving an item along {a} so that its score rises by 1 (towards "
                    f"‘{di.label_b}’) changes its score on {b} by {v:+.4f} on average")
        return f"Spearman correlation of the items' scores on {a} and {b}: {v:.4f}"

    def _mark_current(self) -> None:
        """The current direction's row name in bold, its column name underlined (bold would
        widen a name its column was fitted to)."""
        current = self.context.current
        for i, d in enumerate(self.directions):
            chosen = current is not None and d.name == current.name
            for head, bold in ((self.table.verticalHeaderItem(i), True),
                               (self.table.horizontalHeaderItem(i), False)):
                if head is None:
                    continue
                font = QFont(self.table.font())
                font.setBold(chosen and bold)
                font.setUnderline(chosen and not bold)
                head.setFont(font)

    def _cell_clicked(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.directions):
            self.context.choose(self.directions[row].name)
