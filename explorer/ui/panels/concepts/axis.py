"""The Axis tab of the Concepts dock: every item's score along the current direction.

What the tab shows for the direction the ConceptContext holds as current:
its poles and how far it can be trusted (held-out accuracy or the pole-text
check, the Spearman correlation with a numeric column, warnings); a histogram
of the scores, optionally split by a metadata column; a brush on it that
selects the items in a score range; the items at each end; and a button that
colours the map by the scores.

The lists at each end select as the map does and offer the item's menu (item_lists).

Everything that grows with the set (binning, sorting, colouring, validation)
runs in jobs of the Concepts panel's PanelJobs (which drops what arrives for a set
left meanwhile); each answer is used only for the direction it was asked for, so
an answer for an older direction never overwrites a newer one.

The numbers live in explorer/compute/concepts/bins.py, the validity line's wording
in validity_text, and the histogram with its brush in axis_histogram.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (QComboBox, QGridLayout, QLabel, QPushButton,
                               QSplitter, QToolTip, QWidget)

from explorer.compute.concepts import (MAX_CATEGORIES, TOP, Binned, Split, bin_scores,
                                       colour_columns, split_by)
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.concepts.axis_histogram import AxisHistogram
from explorer.ui.panels.concepts.context import ConceptContext
from explorer.ui.panels.concepts.validity_text import fmt, validity_tokens
from explorer.ui.panels.concepts.item_lists import ItemListGestures
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.state import AppState, Derived
from explorer.ui.widgets.dock_widgets import (DIM_STYLE, FlowSplitter, busy_bar, headline,
                                            scrolling_layout, shrinkable, wrapping)
from explorer.ui.widgets.error_line import ErrorLine
from explorer.ui.widgets.ranked_table import (Column, RowsTable, format_score,
                                            item_with_text_column, text_column)
from explorer.ui.widgets.thumbnail_grid import ListOrGrid

DERIVED_PREFIX = "concept: "  # the map's colour-by entry is this plus the direction's name
NONE = "(none)"
ATTENTION = "#b35900"  # warnings: amber that reads on light and dark backgrounds

METHOD_NOTES = {
    "texts": "typed poles",
    "groups": "two groups, mean difference",
    "where": "two filters, mean difference",
    "extremes": "from one item to another",
    "probe": "logistic probe between two groups",
    "component": "principal component",
    "arithmetic": "built from saved directions",
}
HINT = "Choose a direction above, or define one in the Define tab, to see the items along it."
WIDE = 480  # pixels the tab needs to show the lowest and highest items side by side (a
# 1920x1080 window's dock, ~500 px, has them so and need not scroll; items keep ~20 characters)
LIST_ROWS = 6  # items each list shows at least; a short panel scrolls to keep them


class AxisTab(AxisHistogram, QWidget):
    """The current direction of a ConceptContext, read along its axis."""

    validityChanged = Signal(object)  # Direction whose validity was replaced (the parent saves)
    ready = Signal(object)  # Direction, once its histogram and top items are shown
    rowChosen = Signal(int)  # a set row clicked in a list (it is also made current)

    def __init__(self, state: AppState, jobs: PanelJobs, context: ConceptContext,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.jobs = jobs
        self.context = context
        self.es: EmbeddingSet | None = None
        self.direction = None  # Direction shown
        self.scores: np.ndarray | None = None  # of `direction`, once scored
        self.binned: Binned | None = None
        self.split: Split | None = None  # the histogram's "Colour by" layers, if any
        self.brush_range: tuple[float, float] | None = None  # the brushed [lo, hi], if any
        self.brushed: np.ndarray | None = None  # the rows the brush selected
        self._text_col: str | None = None
        self._tips: dict[str, str] = {}
        self._setting_region = False
        self._bars: list = []

        self.title = wrapping(QLabel())
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.validity_label = wrapping(QLabel())
        self.validity_label.setTextFormat(Qt.TextFormat.RichText)
        self.validity_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.validity_label.linkHovered.connect(self._explain)
        self.warnings_label = wrapping(QLabel())
        self.warnings_label.setTextFormat(Qt.TextFormat.RichText)
        self.warnings_label.setToolTip("What may make the scores measure something other than "
                                       "the concept")
        self.warnings_label.hide()

        self.against = shrinkable(QComboBox(), 6)
        self.against.setToolTip("Check the direction again, with the Spearman correlation of "
                                "its scores with this numeric column")
        self.against.activated.connect(lambda _i: self.revalidate(self._combo_column(self.against)))
        self.colour_by = shrinkable(QComboBox(), 6)
        self.colour_by.setToolTip(f"Split the histogram by a metadata column: its "
                                  f"{MAX_CATEGORIES - 1} largest categories stacked in their own "
                                  "colours, or each bar coloured by where its items' values "
                                  "of a numeric column sit (their mean percentile)")
        self.colour_by.activated.connect(
            lambda _i: self.set_colour_by(self._combo_column(self.colour_by)))
        self.busy = busy_bar()
        controls = QGridLayout()  # two short rows: the dock may be narrow
        controls.addWidget(QLabel("Against"), 0, 0)
        controls.addWidget(self.against, 0, 1)
        controls.addWidget(QLabel("Colour by"), 1, 0)
        controls.addWidget(self.colour_by, 1, 1)
        controls.setColumnStretch(1, 1)

        self.message = ErrorLine()
        self.hint = wrapping(QLabel(HINT))
        self.hint.setStyleSheet(DIM_STYLE)
        self.validate_job = jobs.track("axis-validate", self.busy,
                                       on_status=self._validate_status)

        self._build_histogram()

        self.low_table = RowsTable()
        self.high_table = RowsTable()
        self.low_title = wrapping(QLabel())
        self.high_title = wrapping(QLabel())
        lists = FlowSplitter(WIDE)
        self.grid_switches: list[ListOrGrid] = []  # the panel links them and keeps the choice
        for title, table in ((self.low_title, self.low_table), (self.high_title, self.high_table)):
            title.setTextFormat(Qt.TextFormat.RichText)
            ItemListGestures(table, state, self, self._row_chosen)
            keep_rows(table, LIST_ROWS)
            table.rowHovered.connect(lambda row: self.state.set_hover(row, source=self))
            self.grid_switches.append(ListOrGrid.of_table(table, state, title=title))
            lists.addWidget(self.grid_switches[-1])

        self.colour_button = QPushButton("Colour the map by it")
        self.colour_button.setToolTip("Colour the map's points by their score along this "
                                      "direction (clipped at the 1st and 99th percentiles)")
        self.colour_button.clicked.connect(self.colour_map)

        self.split_view = QSplitter(Qt.Orientation.Vertical)
        self.split_view.addWidget(self.plot_box)
        self.split_view.addWidget(lists)
        self.split_view.setStretchFactor(0, 1)  # the plot reads at its minimum height; the
        self.split_view.setStretchFactor(1, 2)  # lists take most of a taller panel
        self.split_view.setChildrenCollapsible(False)
        layout = scrolling_layout(self)  # too short a panel scrolls rather than overlapping
        layout.setContentsMargins(2, 6, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.validity_label)
        layout.addWidget(self.warnings_label)
        layout.addLayout(controls)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.hint)
        layout.addWidget(self.split_view, 1)
        layout.addWidget(self.colour_button)

        context.currentChanged.connect(self._current_changed)
        context.scoresReady.connect(self._scores_ready)
        state.currentChanged.connect(lambda row, _src: self._mark_current())
        state.hoverChanged.connect(lambda row, _src: self._mark_hover())
        state.selectionChanged.connect(self._selection_changed)
        self._set_changed(context.es)
        self._current_changed(context.current)
        if context.current is not None and context.scores is not None:
            self._scores_ready(context.current, context.scores)

    # --- the set and the direction ----------------------------------------------------------
    def _set_changed(self, es: EmbeddingSet | None) -> None:
        self.es = es
        self._text_col = text_column(es) if es is not None else None
        for combo, names in ((self.against, self._numeric(es)),
                             (self.colour_by, colour_columns(es) if es is not None else [])):
            combo.clear()
            combo.addItem(NONE)
            combo.addItems(names)
        self.split = None

    @staticmethod
    def _numeric(es: EmbeddingSet | None) -> list[str]:
        if es is None:
            return []
        from explorer.compute import concepts as cc

        return cc.numeric_columns(es)

    @staticmethod
    def _combo_column(combo: QComboBox) -> str | None:
        text = combo.currentText()
        return None if not text or text == NONE else text

    def _same(self, d) -> bool:
        """`d` is the direction shown, maybe as a new object (saved and read back)."""
        shown = self.direction
        return (d is not None and shown is not None and self.context.es is self.es
                and d.name == shown.name and d.vector.shape == shown.vector.shape
                and bool(np.array_equal(d.vector, shown.vector)))

    def _current_changed(self, d) -> None:
        if self.context.es is not self.es:
            self._set_changed(self.context.es)
            self.direction = None
        if self._same(d):
            self.direction = d  # the same axis: keep the plot, the brush and the lists
            self._show_direction()
            return
        self.validate_job.cancel()  # for the direction shown until now
        self.direction = d
        self.scores = None
        self.binned = None
        self._forget_brush()
        self.message.clear_error()
        for table in (self.low_table, self.high_table):
            table.rows_model.clear()
        self._clear_plot()
        self._show_direction()
        if d is None:
            self._show_hint(HINT if self.es is not None else "Open a set to read directions.")
        else:
            self._show_hint("Scoring the items…")

    def _show_direction(self) -> None:
        d = self.direction
        has = d is not None
        for w in (self.against, self.colour_by):
            w.setEnabled(has)
        self.colour_button.setEnabled(has and self.scores is not None)
        self.plot_box.setVisible(has)
        self.split_view.setVisible(has)
        if not has:
            self.title.setText("")
            self.validity_label.setText("")
            self.warnings_label.hide()
            self.low_title.setText("")
            self.high_title.setText("")
            return
        a, b = d.label_a, d.label_b
        self.title.setText(headline(f"{a} ← → {b}", METHOD_NOTES.get(d.method, d.method)))
        self.title.setToolTip(f"{d.name}\nLow scores: “{a}” (A); high scores: “{b}” (B)")
        self.pole_a.set_pole(a)
        self.pole_b.set_pole(b)
        self.pole_a.setToolTip(f"The low-score end: pole A, “{a}”")
        self.pole_b.setToolTip(f"The high-score end: pole B, “{b}”")
        self.low_title.setText(headline(f"Lowest: {a}", f"{TOP} items"))
        self.high_title.setText(headline(f"Highest: {b}", f"{TOP} items"))
        v = d.validity
        at = self.against.findText(v.against) if v is not None and v.against else 0
        self.against.setCurrentIndex(max(0, at))
        self._show_validity()

    def _show_validity(self) -> None:
        d = self.direction
        tokens, warnings = validity_tokens(d, d.validity)
        colour = self.palette().text().color().name()
        text, tips, lines = "", {}, []
        for token in tokens:
            if isinstance(token, str):
                text += html.escape(token)
                continue
            number, tip = token
            key = f"n{len(tips)}"
            tips[key] = tip
            lines.append(f"{number}: {tip}")
            text += (f"<a href='{key}' style='color:{colour}; text-decoration:none'>"
                     f"<b>{html.escape(number)}</b></a>")
        self._tips = tips
        self.validity_label.setText(text)
        self.validity_label.setToolTip("\n".join(lines))
        if warnings:
            self.warnings_label.setText("<br>".join(
                f"<span style='color:{ATTENTION}'>⚠ <b>Warning:</b> {html.escape(w)}</span>"
                for w in warnings))
            self.warnings_label.show()
        else:
            self.warnings_label.hide()

    def _explain(self, key: str) -> None:
        """One number's meaning, as soon as the pointer is over it."""
        if key and key in self._tips:
            QToolTip.showText(QCursor.pos(), self._tips[key], self.validity_label)
        else:
            QToolTip.hideText()

    def _show_hint(self, text: str) -> None:
        """The hint line, hidden while empty: its line is a list row in a short panel."""
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    # --- scores, bins and lists -------------------------------------------------------------
    def _scores_ready(self, d, scores) -> None:
        if d is not self.direction and not self._same(d):
            return
        self.direction = d
        if self.binned is not None and self.scores is not None and len(self.scores) == len(scores):
            self.scores = scores  # the same direction scored again: nothing changes
            return
        self.scores = scores
        es = self.es

        def work(_state):
            return bin_scores(es, scores)

        # answers for a direction no longer shown are dropped (a newer one has its own)
        self.jobs.submit("axis-bins", f"Binning the scores along {d.name}", work,
                         on_done=lambda binned: self._binned(binned) if self._same(d) else None,
                         on_error=lambda error: self._failed(error) if self._same(d) else None)

    def _binned(self, binned: Binned) -> None:
        self.binned = binned
        self._show_hint("")
        self.colour_button.setEnabled(True)
        self._fill(self.low_table, binned.top_a)
        self._fill(self.high_table, binned.top_b)
        name = DERIVED_PREFIX + self.direction.name
        if name in self.state.derived:  # the map shows an older version: give it this one
            self._set_derived()
        self._draw()
        column = self._combo_column(self.colour_by)
        if column is not None:
            self.set_colour_by(column)
        self.ready.emit(self.direction)

    def _fill(self, table: RowsTable, items: list[dict]) -> None:
        es = self.es
        rows = np.array([it["row"] for it in items], dtype=np.int64)
        values = [it["score"] for it in items]
        metric = es.metric

        columns = [Column("score", lambda i: format_score(metric, values[i]), numeric=True,
                          tooltip=lambda i: f"score {values[i]:.6g} along the direction"),
                   item_with_text_column(es, self._text_col, rows)]
        table.rows_model.set_content(rows, columns)
        table.fit_columns({0: 7})
        keep_rows(table, LIST_ROWS)  # the header's height is known once it has columns

    def _failed(self, error: BaseException) -> None:
        self.message.show_error(error)
        self._show_hint("")

    def _row_chosen(self, row: int) -> None:
        self.state.set_current(row, source=self)
        self.rowChosen.emit(row)

    # --- colour by --------------------------------------------------------------------------
    def set_colour_by(self, column: str | None) -> None:
        """Split the histogram by `column` (None: one colour), computed in a job."""
        at = self.colour_by.findText(column) if column else 0
        self.colour_by.setCurrentIndex(max(0, at))
        if column is None or at < 0:
            self.split = None
            self.jobs.cancel("axis-colour")
            self._draw()
            return
        binned, es = self.binned, self.es
        if binned is None or es is None:
            return  # applied once the scores are binned

        def work(_state):
            return split_by(es, binned, column)

        def done(split: Split) -> None:
            if self.binned is binned and self._combo_column(self.colour_by) == column:
                self.split = split
                self._draw()

        self.jobs.submit("axis-colour", f"Splitting the histogram by {column}", work,
                         on_done=done,
                         on_error=lambda error: self._failed(error)
                         if self.binned is binned else None)

    # --- the map and the check --------------------------------------------------------------
    def derived_name(self) -> str | None:
        return None if self.direction is None else DERIVED_PREFIX + self.direction.name

    def _set_derived(self) -> None:
        d, b = self.direction, self.binned
        note = (f"scores along “{d.name}”: low = {d.label_a}, high = {d.label_b}; colours "
                f"clipped at the 1st and 99th percentiles ({fmt(b.p1)} to {fmt(b.p99)})")
        self.state.set_derived(self.derived_name(), Derived(
            np.asarray(self.scores, dtype=np.float32), b.p1, b.p99, note=note,
            meta={"direction": d.name, "label_a": d.label_a, "label_b": d.label_b}))

    def colour_map(self) -> None:
        """Give the map the scores as a per-row value, colour by them and bring the map forward."""
        if self.direction is None or self.scores is None or self.binned is None:
            return
        self._set_derived()
        self.state.set_colour_by(self.derived_name())
        self.state.request_view("map")

    def revalidate(self, column: str | None) -> None:
        """Check the direction again (Spearman with `column`, if any), in a job; not saved here."""
        d, es = self.direction, self.es
        if d is None or es is None:
            return
        at = self.against.findText(column) if column else 0
        self.against.setCurrentIndex(max(0, at))

        def work(state):
            from explorer.compute import concepts as cc

            return cc.validate(es, d, against=column, state=state)

        def done(validity) -> None:
            if not self._same(d):  # another direction is shown by now
                return
            self.direction.validity = validity
            self._show_validity()
            self.validityChanged.emit(self.direction)

        self.message.clear_error()
        self.validity_label.setText(f"Checking “{d.name}”"
                                    + (f" against {html.escape(column)}" if column else "") + "…")
        self.validate_job.submit(f"Checking {d.name}", work, on_done=done,
                                 on_error=lambda error: self._validation_failed(error)
                                 if self._same(d) else None)

    def _validate_status(self, text: str) -> None:
        if self.validate_job.running():
            self.validity_label.setText(html.escape(text))

    def _validation_failed(self, error: BaseException) -> None:
        self._failed(error)
        if self.direction is not None:
            self._show_validity()


def keep_rows(table: RowsTable, rows: int) -> None:
    """Make `rows` rows of `table` its minimum height, header and frame included. A table's
    own minimum shows two or three rows, and a splitter in a scrolling tab gives each part
    its minimum: the tab scrolls to a list's rows instead of cutting the list."""
    header = table.horizontalHeader()
    row = table.verticalHeader().defaultSectionSize()
    header_height = header.sizeHint().height() if header.count() else row
    table.setMinimumHeight(header_height + rows * row + 2 * table.frameWidth())
