"""The Charts panel: one small chart per chosen metadata column, linked by a cross-filter.

Clicking bars or brushing a histogram sets that chart's part of the shared filter
(`AppState.filter`, key "chart:<column>"); the map greys the rows held back, the table
shows the rest, and every chart shows the rows the *other* parts let through (a chart is
not filtered by its own part, so its bars stay there to choose from). Every part of the
filter, the table's too, is a chip here: × removes it, "Clear all" removes them all,
"Copy as SQL" copies the combined expression the table's filter box takes.

All the work is in jobs (`self.jobs`): `describe` (which columns chart well), one
`prepare:<column>` per chart, `part:<column>` (the rows of a chart's new part, through
DuckDB) and `counts` (the cross-filtered counts, newest wins). While a brush is dragged,
a column's part job runs one at a time and the last brush position waits for it, so the
other views follow the brush as fast as they can without a queue of stale ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMenu, QPushButton, QScrollArea,
                               QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from explorer.core.column_charts import (Chart, ChartData, ChartPart, ColumnKind, Counted,
                                         Masks, cross_counts, default_columns,
                                         describe_columns)
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.metadata import metadata_file
from explorer.ui.panels.base import Area, Panel, PanelContext
from explorer.ui.panels.charts.chips import ChipRow
from explorer.ui.panels.charts.saved import read_saved, to_settings
from explorer.ui.panels.charts.widgets import ChartWidget, chart_widget
from explorer.ui.state import FilterPart, RowFilter

PREFIX = "chart:"  # the charts' parts of the shared filter are keyed "chart:<column>"
NOTE_STYLE = "color: palette(placeholder-text);"


def part_key(column: str) -> str:
    return PREFIX + column


class ChartsView(Panel):
    key = "charts"
    title = "Charts"
    area = Area.LEFT
    countsShown = Signal()  # the charts show counts for the filter and selection as they are

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.data: ChartData | None = None
        self.kinds: list[ColumnKind] = []
        self.columns: list[str] = []  # charted, in the order shown
        self.charts: dict[str, Chart] = {}
        self.widgets: dict[str, ChartWidget] = {}
        self._pending_columns: list[str] | None = None  # a session's, until the set is described
        self._extra_columns: list[str] = []  # the columns of a session's parts, charted too
        self._waiting: dict[str, ChartPart | None] = {}  # a part per column, behind a running job
        self._running: set[str] = set()  # columns whose part job runs
        self._counting = self._recount = False  # a counts job runs / the state changed since
        self._masks: Masks | None = None  # the last counts' masks and counts, reused for the
        self._last_counts: dict[str, Counted] = {}  # parts and charts a change leaves as they were
        self._chosen: dict[str, ChartPart | None] = {}  # the newest choice per column: a job
        # cancelled too late still delivers, and must not bring back a part removed since

        self.columns_button = QToolButton()
        self.columns_button.setText("Columns")
        self.columns_button.setToolTip("Choose the metadata columns to chart")
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self.columns_button)
        self.columns_button.setMenu(self.columns_menu)
        self.copy_button = QPushButton("Copy as SQL")
        self.copy_button.setToolTip("Copy the whole filter as one SQL expression: typed into "
                                    "the table's filter box it gives the same rows")
        self.copy_button.clicked.connect(self.copy_sql)
        self.clear_button = QPushButton("Clear all")
        self.clear_button.setToolTip("Remove every part of the filter (the table's too)")
        self.clear_button.clicked.connect(self.clear_all)
        bar = QHBoxLayout()
        bar.addWidget(self.columns_button)
        bar.addStretch(1)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.clear_button)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.chips = ChipRow()
        self.chips.removed.connect(self.remove_part)
        self.chips.hide()
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(8)
        self.body_layout.addStretch(1)
        self.placeholder = QLabel("Open a set to chart its columns")
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet(NOTE_STYLE)
        self.body_layout.insertWidget(0, self.placeholder)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the charts, not round them
        scroll.setWidget(self.body)
        self.scroll = scroll

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.chips)
        layout.addWidget(self.summary)
        layout.addWidget(self.error_line)
        layout.addWidget(scroll, 1)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self._counts_timer = QTimer(self, singleShot=True, interval=0)
        self._counts_timer.timeout.connect(self._count)
        self.state.filterChanged.connect(self._filter_changed)
        self.state.selectionChanged.connect(lambda _rows, _src: self._counts_timer.start())
        self._show_summary()

    # --- the panel contract ---------------------------------------------------------------
    def new_set(self, es: EmbeddingSet | None) -> None:
        for widget in self.widgets.values():
            widget.deleteLater()
        self.widgets, self.charts, self.columns, self.kinds = {}, {}, [], []
        self._waiting, self._running, self._chosen = {}, set(), {}
        self._counting = self._recount = False
        self._masks, self._last_counts = None, {}
        self._pending_columns, self._extra_columns = None, []
        self.columns_menu.clear()
        self.chips.show_parts(())
        self.data = None if es is None else \
            ChartData(es.metadata, metadata_file(es))
        self.placeholder.setText("Open a set to chart its columns" if es is None
                                 else "Looking at the columns…")
        self.placeholder.show()
        self._show_summary()
        if es is None:
            return
        data = self.data
        self.jobs.submit("describe", "Looking at the metadata columns",
                         lambda _state: describe_columns(data.table), on_done=self._described)

    def settings(self) -> dict[str, Any]:
        parts = [p.spec for p in self.state.filter.parts
                 if p.key.startswith(PREFIX) and isinstance(p.spec, ChartPart)]
        return to_settings(self.columns, parts)

    def apply_settings(self, settings: Mapping[str, Any]) -> list[str]:
        """Chart the session's columns and apply its parts; what does not fit this set (or is
        not a plain value) is left out with a note."""
        es = self.state.embedding_set
        if es is None:
            return []
        if not isinstance(settings, Mapping):
            return ["the charts' settings should be an object"]
        saved = read_saved(settings, es.metadata.schema)
        charted = [p.column for p in saved.parts]  # a part's chart is shown with it
        if saved.columns is not None or charted:
            if self.kinds:
                self.set_columns((self.columns if saved.columns is None else saved.columns)
                                 + charted)
            else:
                self._pending_columns = None if saved.columns is None else saved.columns
                self._extra_columns = charted
        for part in saved.parts:
            self.choose(part.column, part)
        return saved.notes

    # --- columns ---------------------------------------------------------------------------
    def _described(self, kinds: list[ColumnKind]) -> None:
        self.kinds = kinds
        self.columns_menu.clear()
        for kind in kinds:
            note = f"  ({kind.note})" if kind.note else ""
            action = QAction(f"{kind.name}{note}", self.columns_menu, checkable=True)
            action.setData(kind.name)
            action.setEnabled(bool(kind.kind))
            action.toggled.connect(lambda on, name=kind.name: self._column_toggled(name, on))
            self.columns_menu.addAction(action)
        wanted = self._pending_columns if self._pending_columns is not None \
            else default_columns(kinds)
        self.set_columns(wanted + self._extra_columns)
        self._pending_columns, self._extra_columns = None, []
        if not self.columns:
            self.placeholder.setText("No column of this set makes a chart; choose one under "
                                     "Columns (categories, numbers and dates do)")

    def set_columns(self, columns: list[str]) -> None:
        """Chart these columns, in this order; charts of others are removed with their parts."""
        chartable = {k.name for k in self.kinds if k.kind}
        columns = [c for c in dict.fromkeys(columns) if c in chartable]
        for gone in [c for c in self.columns if c not in columns]:
            self._drop_chart(gone)
        self.columns = columns
        for action in self.columns_menu.actions():
            action.blockSignals(True)
            action.setChecked(action.data() in columns)
            action.blockSignals(False)
        for column in columns:
            if column not in self.charts:
                self._prepare(column)
        self._arrange()

    def _column_toggled(self, column: str, on: bool) -> None:
        self.set_columns(self.columns + [column] if on
                         else [c for c in self.columns if c != column])

    def _drop_chart(self, column: str) -> None:
        self.jobs.cancel(f"prepare:{column}")
        self.charts.pop(column, None)
        widget = self.widgets.pop(column, None)
        if widget is not None:
            widget.deleteLater()
        self._waiting.pop(column, None)
        self.state.remove_filter_parts([part_key(column)], source=self)

    def _prepare(self, column: str) -> None:
        data = self.data
        self.jobs.submit(f"prepare:{column}", f"Charting {column}",
                         lambda state: data.prepare(column, state),
                         on_done=lambda chart: self._prepared(chart, data))

    def _prepared(self, chart: Chart, data: ChartData) -> None:
        if data is not self.data or chart.column not in self.columns:
            return  # another set, or the column was unticked meanwhile
        self.charts[chart.column] = chart
        widget = chart_widget(chart)
        widget.partChosen.connect(self.choose)
        widget.partMoved.connect(self.choose)
        part = self.state.filter.part(part_key(chart.column))
        widget.show_part(part.spec if part is not None else None)
        self.widgets[chart.column] = widget
        self._arrange()
        self._counts_timer.start()

    def _arrange(self) -> None:
        """The charts in the chosen order, above the stretch."""
        for widget in self.widgets.values():
            self.body_layout.removeWidget(widget)
        shown = [self.widgets[c] for c in self.columns if c in self.widgets]
        for at, widget in enumerate(shown):
            self.body_layout.insertWidget(at, widget)
        for before, after in pairwise([self.clear_button, *shown]):
            QWidget.setTabOrder(before, after)  # Tab goes on to the charts, down the panel
        self.placeholder.setVisible(not self.widgets)
        if not self.widgets and self.columns:
            self.placeholder.setText("Charting " + ", ".join(self.columns) + "…")

    # --- the filter ------------------------------------------------------------------------
    def choose(self, column: str, part: ChartPart | None) -> None:
        """Make `part` the chart's part of the shared filter (None removes it). One job per
        column at a time: a part chosen meanwhile waits, and only the newest one does."""
        if self.data is None:
            return
        self._chosen[column] = part
        if part is None:
            self._waiting.pop(column, None)
            self.jobs.cancel(f"part:{column}")
            self._running.discard(column)
            self.state.remove_filter_parts([part_key(column)], source=self)
            return
        if column in self._running:
            self._waiting[column] = part
            return
        self._running.add(column)
        data = self.data
        self.jobs.submit(f"part:{column}", f"Filtering by {column}",
                         lambda _state: data.rows(part.sql),
                         on_done=lambda rows: self._part_done(column, part, rows),
                         on_error=lambda error: self._part_failed(column, error))

    def _part_done(self, column: str, part: ChartPart, rows) -> None:
        self._running.discard(column)
        if column not in self._waiting and self._chosen.get(column) != part:
            return  # removed (or replaced) since it was asked for
        self.error_line.clear_error()
        self.state.set_filter_part(FilterPart(part_key(column), part.label, part.sql, rows,
                                              spec=part), source=self)
        if column in self._waiting:
            self.choose(column, self._waiting.pop(column))

    def _part_failed(self, column: str, error: BaseException) -> None:
        self._running.discard(column)
        self._waiting.pop(column, None)
        self.show_error(error)

    def remove_part(self, key: str) -> None:
        """A chip's ×: the part goes; a chart's choice is cleared, the table's box emptied."""
        if key.startswith(PREFIX):
            self._waiting.pop(key[len(PREFIX):], None)
            self._chosen[key[len(PREFIX):]] = None
        self.state.remove_filter_parts([key], source=self)

    def clear_all(self) -> None:
        self._waiting.clear()
        self._chosen = {column: None for column in self._chosen}
        self.state.remove_filter_parts(None, source=self)

    def copy_sql(self) -> None:
        sql = self.state.filter.sql
        QGuiApplication.clipboard().setText(sql)
        self.summary.setText("Copied the filter as SQL" if sql else "There is no filter to copy")

    def _filter_changed(self, row_filter: RowFilter, _source: object) -> None:
        self.chips.show_parts(row_filter.parts)
        for column, widget in self.widgets.items():
            part = row_filter.part(part_key(column))
            if part is None and self._chosen.get(column) is not None \
                    and column not in self._running:
                self._chosen[column] = None  # removed elsewhere (the table's Clear, a session)
            widget.show_part(part.spec if part is not None else None)
        self._show_summary()
        self._counts_timer.start()

    def _show_summary(self) -> None:
        es, row_filter = self.state.embedding_set, self.state.filter
        self.copy_button.setEnabled(bool(row_filter.parts))
        self.clear_button.setEnabled(bool(row_filter.parts))
        if es is None:
            self.summary.setText("")
        elif row_filter.rows is None:
            self.summary.setText(f"All {es.count:,} rows · click a bar or drag across a "
                                 "histogram to filter")
        else:
            shown = len(row_filter.rows)
            self.summary.setText(f"<b>{shown:,}</b> of {es.count:,} rows pass the filter "
                                 f"({shown / max(es.count, 1):.1%})")

    def busy(self) -> bool:
        """Some chart, part or count is still being worked out (tests and screenshots wait)."""
        mine = self.jobs.kind("")
        return self._counts_timer.isActive() or bool(self._running) or self._counting or any(
            job.kind.startswith(mine) for job in self.jobs.runner.running())

    # --- counts ----------------------------------------------------------------------------
    def _count(self) -> None:
        """Each chart's counts under the other parts of the filter, and the selection's. One
        job at a time: a change meanwhile is counted when it ends, from the state as it is
        then (a brush dragged fast skips the positions it has already left)."""
        if self.data is None or not self.charts:
            return
        if self._counting:
            self._recount = True
            return
        charts = dict(self.charts)
        own = {column: part_key(column) for column in charts}
        parts = {p.key: p.rows for p in self.state.filter.parts}
        selection = self.state.selection
        previous_masks, previous = self._masks, self._last_counts
        count = self.data.count
        data = self.data

        def work(state):
            masks = Masks(count, parts, previous_masks)
            return masks, cross_counts(charts, own, masks, selection, state, previous)

        self._counting, self._recount = True, False
        self.jobs.submit("counts", "Counting", work,
                         on_done=lambda result: self._counted(data, *result),
                         on_error=self._count_failed)

    def _counted(self, data: ChartData, masks: Masks, counted: Mapping[str, Counted]) -> None:
        self._counting = False
        if data is not self.data:
            return
        self._masks, self._last_counts = masks, dict(counted)
        for column, widget in self.widgets.items():
            if column in counted and widget.chart is self.charts.get(column):
                widget.show_counts(counted[column].counts)
        if self._recount:
            self._count()
        else:
            self.countsShown.emit()

    def _count_failed(self, error: BaseException) -> None:
        self._counting = False
        self.show_error(error)
        if self._recount:
            self._count()
