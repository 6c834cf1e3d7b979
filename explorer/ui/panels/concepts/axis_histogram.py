"""The Axis tab's histogram: the scores' bars, the marks on them, and the brush across them.

AxisTab takes these methods in as a mixin, so the plot's widgets and the brush
stay the tab's own attributes: the tab holds the direction, its scores and their
bins (declared below), and this part draws them and turns a dragged score range
into the shared selection.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from explorer.compute.concepts import (BINS, EMPTY_GREY, Binned, Split, count_between,
                                       rows_between)
from explorer.core.embedding_set import EmbeddingSet
from explorer.ui.panels.concepts.validity_text import fmt
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.selection_gestures import SHAPE_HELP, shape_mode
from explorer.ui.state import AppState, SelectMode
from explorer.ui.widgets.dock_widgets import WrappingBox, wrapping
from explorer.ui.widgets.plot import plain_axes

if TYPE_CHECKING:
    from explorer.compute.concepts import Direction

DIRECT_ROWS = 1_000_000  # up to this many rows a brush is resolved on the UI thread (a few ms)

BAR_RGB = (70, 130, 180)
SPLIT_RGB = (225, 0, 115)
HOVER_RGB = (120, 120, 120)
BRUSH_RGBA = (255, 190, 60, 60)
BRUSH_EDGE = (205, 140, 0)
BRUSH_HINT = ("<span style='color:gray'>Drag across the plot to select the items in a score "
              "range</span>")
PLOT_TIP = ("How many items score in each of {bins} equal score ranges. Drag across the plot to "
            "select the items whose score lies in a range, bounds included (on release: "
            + SHAPE_HELP + "); drag the band or its edges to change it.")


def viridis(t: float) -> tuple[int, int, int]:
    from explorer.compute import raster

    i = int(round(min(1.0, max(0.0, t)) * (len(raster.VIRIDIS) - 1)))
    return tuple(int(v) for v in raster.VIRIDIS[i][:3])


class PoleLabel(QLabel):
    """A pole's name under one end of the axis, cut with … to fit; the tooltip has it whole."""

    def __init__(self, right: bool) -> None:
        super().__init__()
        self.right = right
        self.full = ""
        font = self.font()
        font.setBold(True)
        self.setFont(font)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setAlignment((Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft)
                          | Qt.AlignmentFlag.AlignVCenter)

    def set_pole(self, name: str) -> None:
        self.full = name
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        arrow = " ▶" if self.right else "◀ "
        metrics = QFontMetrics(self.font())
        room = max(0, self.width() - metrics.horizontalAdvance(arrow) - 6)
        name = metrics.elidedText(self.full, Qt.TextElideMode.ElideRight, room)
        self.setText(f"{name}{arrow}" if self.right else f"{arrow}{name}")


class BrushViewBox(pg.ViewBox):
    """A fixed view whose left-drag draws a score range: `on_drag(lo, hi, finished)`."""

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self.on_drag = None

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.on_drag is None:
            ev.ignore()
            return
        ev.accept()
        x0 = self.mapSceneToView(ev.buttonDownScenePos()).x()
        x1 = self.mapSceneToView(ev.scenePos()).x()
        self.on_drag(min(x0, x1), max(x0, x1), ev.isFinish())

    def wheelEvent(self, ev, axis=None) -> None:
        ev.ignore()


class AxisHistogram:
    """The plot box of AxisTab and what runs it. AxisTab provides the state declared here,
    its widgets' palette and its error line (`_failed`)."""

    state: AppState
    jobs: PanelJobs
    es: EmbeddingSet | None
    direction: Direction | None
    scores: np.ndarray | None
    binned: Binned | None
    split: Split | None
    brush_range: tuple[float, float] | None
    brushed: np.ndarray | None
    _setting_region: bool
    _bars: list

    def _build_histogram(self) -> None:
        """The widgets of `plot_box`: room for the plot, the poles, the legend, the brush row."""
        # the plot is made on first use: a pyqtgraph PlotWidget is not free to create
        self.plot: pg.PlotWidget | None = None
        self.region: pg.LinearRegionItem | None = None
        self.split_line: pg.InfiniteLine | None = None
        self.current_line: pg.InfiniteLine | None = None
        self.hover_line: pg.InfiniteLine | None = None
        self.plot_holder = QWidget()
        self.plot_holder.setMinimumHeight(170)
        QVBoxLayout(self.plot_holder).setContentsMargins(0, 0, 0, 0)
        self.pole_a = PoleLabel(right=False)
        self.pole_b = PoleLabel(right=True)
        poles = QHBoxLayout()
        poles.setContentsMargins(0, 0, 0, 0)
        poles.addWidget(self.pole_a, 1)
        poles.addWidget(self.pole_b, 1)
        self.legend = wrapping(QLabel())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.hide()
        self.brush_label = wrapping(QLabel(BRUSH_HINT))
        self.brush_label.setTextFormat(Qt.TextFormat.RichText)
        self.brush_label.setToolTip("The items whose score lies in the brushed range, bounds "
                                    "included (lo ≤ score ≤ hi); they are the selection")
        self.clear_button = QPushButton("Clear brush")
        self.clear_button.setToolTip("Remove the brushed range and the selection it made")
        self.clear_button.clicked.connect(self.clear_brush)
        self.clear_button.setEnabled(False)
        brush_row = QHBoxLayout()
        brush_row.setContentsMargins(0, 0, 0, 0)
        brush_row.addWidget(self.brush_label, 1)
        brush_row.addWidget(self.clear_button)
        self.plot_box = WrappingBox()  # in a splitter: its wrapped labels keep their room
        box = QVBoxLayout(self.plot_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.plot_holder, 1)
        box.addLayout(poles)
        box.addWidget(self.legend)
        box.addLayout(brush_row)

    # --- the plot ---------------------------------------------------------------------------
    def _plot(self) -> pg.PlotWidget:
        if self.plot is None:
            view = BrushViewBox()
            view.on_drag = self._dragging
            self.plot = pg.PlotWidget(viewBox=view, axisItems=plain_axes())
            self.plot.setBackground(self.palette().base().color())
            self.plot.setMenuEnabled(False)
            self.plot.hideButtons()
            self.plot.setLabel("left", "items")
            self.plot.setToolTip(PLOT_TIP.format(bins=BINS))
            item = self.plot.getPlotItem()
            item.getAxis("left").setWidth(44)
            self.region = pg.LinearRegionItem(brush=pg.mkBrush(*BRUSH_RGBA),
                                              hoverBrush=pg.mkBrush(*BRUSH_RGBA[:3], 90),
                                              pen=pg.mkPen(*BRUSH_EDGE, width=2))
            self.region.setZValue(-10)  # behind the bars, which stay crisp inside the band
            self.region.hide()
            self.region.sigRegionChanged.connect(self._region_moving)
            self.region.sigRegionChangeFinished.connect(self._region_finished)
            dashed = Qt.PenStyle.DashLine
            self.split_line = pg.InfiniteLine(
                angle=90, pen=pg.mkPen(SPLIT_RGB, width=1.5, style=dashed), label="split",
                labelOpts={"position": 0.93, "color": SPLIT_RGB})
            ink = self.palette().text().color()
            self.current_line = pg.InfiniteLine(
                angle=90, pen=pg.mkPen(ink, width=2), label="current",
                labelOpts={"position": 0.78, "color": ink})
            self.hover_line = pg.InfiniteLine(
                angle=90, pen=pg.mkPen(HOVER_RGB, width=1, style=Qt.PenStyle.DotLine))
            for z, line in ((8, self.split_line), (9, self.current_line),
                            (7, self.hover_line)):
                line.setZValue(z)
                line.hide()
                self.plot.addItem(line)
            self.plot.addItem(self.region)
            self.plot_holder.layout().addWidget(self.plot)
        return self.plot

    def _clear_plot(self) -> None:
        if self.plot is None:
            return
        for bar in self._bars:
            self.plot.removeItem(bar)
        self._bars = []
        for line in (self.split_line, self.current_line, self.hover_line):
            line.hide()
        self.legend.hide()

    def _draw(self) -> None:
        """The histogram (split by the "Colour by" column, if one is chosen) and its marks."""
        binned, d = self.binned, self.direction
        if binned is None or d is None:
            return
        plot = self._plot()
        self._clear_plot()
        edges = binned.edges
        x, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)  # touching: thin gaps alias
        split = self.split
        pen = pg.mkPen(None)
        if split is not None and split.kind == "categorical":
            bottom = np.zeros(len(binned.counts), dtype=np.float64)
            for k, label in enumerate(split.labels):
                h = split.stacks[k].astype(np.float64)
                on = h > 0
                if on.any():
                    self._bars.append(pg.BarGraphItem(
                        x=x[on], width=width[on], y0=bottom[on], height=h[on],
                        brush=pg.mkBrush(*split.colours[k]), pen=pen))
                bottom += h
        else:
            if split is not None and split.kind == "numeric":
                brushes = [pg.mkBrush(*(EMPTY_GREY if not np.isfinite(m) else viridis(m)))
                           for m in split.levels]
            else:
                brushes = [pg.mkBrush(*BAR_RGB)] * len(binned.counts)
            on = binned.counts > 0
            self._bars.append(pg.BarGraphItem(
                x=x[on], width=width[on], height=binned.counts[on].astype(np.float64),
                brushes=[b for b, keep in zip(brushes, on) if keep], pen=pen))
        for bar in self._bars:
            plot.addItem(bar)
        self._show_legend()

        lo, hi = binned.lo, binned.hi
        threshold = d.definition.get("threshold") if isinstance(d.definition, dict) else None
        if isinstance(threshold, (int, float)) and np.isfinite(threshold):
            self.split_line.setValue(float(threshold))
            self.split_line.show()
            lo, hi = min(lo, float(threshold)), max(hi, float(threshold))
        pad = (hi - lo) * 0.02
        plot.setXRange(lo - pad, hi + pad, padding=0)
        top = float(binned.counts.max()) if binned.counts.size else 1.0
        plot.setYRange(0, max(1.0, top) * 1.12, padding=0)
        self.region.setBounds((lo - pad, hi + pad))
        metric = self.es.metric if self.es is not None else ""
        # short: a label wider than the plot runs under the poles and the brush row
        plot.setLabel("bottom", "score (cosine)" if metric == "cosine" else "score (projection)")
        plot.getAxis("bottom").setToolTip(
            "Each item's score along the direction: "
            + ("the cosine of the item and the direction" if metric == "cosine" else
               "the projection of the item on the direction"))
        self._mark_current()
        self._mark_hover()
        if self.brush_range is not None:
            self._show_region(*self.brush_range)

    def _show_legend(self) -> None:
        split = self.split
        if split is None:
            self.legend.hide()
            return
        q = html.escape
        if split.kind == "categorical":
            entries = [f"<span style='color:rgb{tuple(c)}'>■</span>&nbsp;"
                       f"{q(label).replace(' ', '&nbsp;')}&nbsp;<span style='color:gray'>"
                       f"({n:,})</span>"
                       for label, c, n in zip(split.labels, split.colours, split.totals)]
            self.legend.setText(f"<b>{q(split.column)}</b>: " + " &nbsp; ".join(entries))
            self.legend.setToolTip(f"Each bar stacks the items of each {split.column} value, "
                                   "largest first from the bottom; “(other)” gathers the "
                                   "smaller ones")
        else:
            stops = "".join(f"<span style='color:rgb{viridis(t)}'>■</span>"
                            for t in np.linspace(0, 1, 6))
            grey = (f" · <span style='color:rgb{EMPTY_GREY}'>■</span>&nbsp;no value"
                    if bool(np.any(~np.isfinite(split.levels) & (self.binned.counts > 0)))
                    else "")
            quart = split.quartiles
            self.legend.setText(f"bar colour: its items' <b>{q(split.column)}</b> on average, as "
                                f"a percentile: low {stops} high{grey}")
            values = (f" ({split.column} runs from {fmt(quart[0])} through the median "
                      f"{fmt(quart[2])} to {fmt(quart[4])})" if quart else "")
            self.legend.setToolTip(f"Each bar's colour is the mean percentile of its items' "
                                   f"{split.column} among all items{values}: purple when they "
                                   "have low values, yellow high ones, teal typical ones. "
                                   "Percentiles, so a few extreme values do not decide it.")
        self.legend.show()

    def _mark_current(self) -> None:
        self._mark(self.current_line, self.state.current)

    def _mark_hover(self) -> None:
        self._mark(self.hover_line, self.state.hover)

    def _mark(self, line, row: int) -> None:
        if line is None:
            return
        s = self.scores
        if self.binned is None or s is None or not 0 <= row < len(s) or not np.isfinite(s[row]):
            line.hide()
            return
        line.setValue(float(s[row]))
        line.show()

    # --- brushing ---------------------------------------------------------------------------
    def _show_region(self, lo: float, hi: float) -> None:
        self._setting_region = True
        try:
            self.region.setRegion((lo, hi))
        finally:
            self._setting_region = False
        self.region.show()
        self._count_label(lo, hi)

    def _dragging(self, lo: float, hi: float, finished: bool) -> None:
        if self.binned is None:
            return
        self._show_region(lo, hi)
        if finished:
            self._region_finished()

    def _region_moving(self, *_args) -> None:
        if not self._setting_region and self.region.isVisible():
            self._count_label(*self.region.getRegion())

    def _region_finished(self, *_args) -> None:
        if self._setting_region or self.binned is None:
            return
        lo, hi = self.region.getRegion()
        self.set_brush(lo, hi, shape_mode(QApplication.keyboardModifiers()))

    def _count_label(self, lo: float, hi: float) -> None:
        if self.binned is None:
            return
        n = count_between(self.binned.ordered, lo, hi)
        self.brush_label.setText(f"<b>{n:,}</b> item{'s' if n != 1 else ''} between "
                                 f"{fmt(lo)} and {fmt(hi)}")
        self.brush_label.setToolTip(f"The items with {lo:.6g} ≤ score ≤ {hi:.6g}, bounds "
                                    "included; releasing the brush makes them the selection")

    def set_brush(self, lo: float, hi: float, mode: SelectMode = SelectMode.REPLACE) -> None:
        """Select exactly the items with lo <= score <= hi (the shared selection)."""
        s = self.scores
        if s is None or self.binned is None:
            return
        lo, hi = (float(lo), float(hi)) if lo <= hi else (float(hi), float(lo))
        self.brush_range = (lo, hi)
        self._show_region(lo, hi)
        self.clear_button.setEnabled(True)
        if len(s) <= DIRECT_ROWS:
            self._brushed(rows_between(s, lo, hi), mode)
            return
        # the answer counts only while these scores and this range are shown
        self.jobs.submit("axis-brush", "Selecting the brushed items",
                         lambda _state: rows_between(s, lo, hi),
                         on_done=lambda rows: self._brushed(rows, mode)
                         if self.scores is s and self.brush_range == (lo, hi) else None,
                         on_error=lambda error: self._failed(error)
                         if self.scores is s else None)

    def _brushed(self, rows: np.ndarray, mode: SelectMode) -> None:
        self.brushed = rows
        self.state.select(rows, mode, source=self)
        if mode is not SelectMode.REPLACE:
            self.brushed = self.state.selection

    def clear_brush(self) -> None:
        """Hide the brush; the selection it made (if it is still the selection) is emptied."""
        mine = self.brushed is not None and np.array_equal(self.state.selection, self.brushed)
        self._forget_brush()
        if mine:
            self.state.select(np.zeros(0, dtype=np.int64), source=self)

    def _forget_brush(self) -> None:
        self.brush_range = None
        self.brushed = None
        if self.region is not None:
            self.region.hide()
        self.brush_label.setText(BRUSH_HINT)
        self.clear_button.setEnabled(False)

    def _selection_changed(self, rows, source) -> None:
        if source is self or self.brushed is None:
            return
        if not np.array_equal(rows, self.brushed):  # selected elsewhere: the brush is stale
            self._forget_brush()
