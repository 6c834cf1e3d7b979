"""The Norms panel: how long the current set's vectors are, and its intrinsic dimension.

Built only from `explorer.plugins.api`: a `Panel` that runs its measuring job through
`self.jobs` (so a result for a set the user has left is dropped), draws the histogram with
pyqtgraph and colours the map through the shared state (`set_derived`, `set_colour_by`).
It measures each set once, when the panel is in view, so a set opened while the panel sits
in a background tab costs nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from explorer.plugins.api import Area, Derived, EmbeddingSet, Panel, PanelContext
from explorer_vector_stats.stats import SAMPLE, VectorStats, measure

DERIVED = "norm"  # the name the map lists among its colourings
BAR_BRUSH = (70, 130, 180)
MEDIAN_PEN = (225, 0, 115)


class NormsPanel(Panel):
    key = "norms"
    title = "Norms"
    area = Area.BOTTOM

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.stats: VectorStats | None = None
        self.measured: EmbeddingSet | None = None  # the set last asked for, measured or not
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = pg.PlotWidget()
        self.plot.setBackground(self.palette().base().color())
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "vector length")
        self.plot.setLabel("left", "items")
        self.plot.setMinimumHeight(120)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(6)
        self.bar.hide()
        self.job = self.jobs.track("measure", self.bar, on_end=self._ended)
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip("Measure the lengths of the set's vectors again and "
                                       f"estimate its intrinsic dimension (TwoNN on at most "
                                       f"{SAMPLE:,} rows)")
        self.measure_button.clicked.connect(self.measure)
        self.colour_button = QPushButton("Colour the map by norm")
        self.colour_button.setToolTip("Colour the map's points by their vector's length "
                                      "(clipped at the 1st and 99th percentiles)")
        self.colour_button.clicked.connect(self.colour_map)
        buttons = QHBoxLayout()
        buttons.addWidget(self.measure_button)
        buttons.addWidget(self.colour_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.error_line)
        layout.addWidget(self.summary)
        layout.addWidget(self.bar)
        layout.addWidget(self.plot, 1)
        layout.addLayout(buttons)
        self.new_set(self.state.embedding_set)

    def new_set(self, es: EmbeddingSet | None) -> None:
        self.stats = None
        self.measured = None
        self.plot.clear()
        self.colour_button.setEnabled(False)
        self.measure_button.setEnabled(es is not None)
        self.summary.setText("Open a set to see its vectors' lengths." if es is None else
                             "Measured when this panel is in view.")
        if es is not None and self.isVisible():
            self.measure()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        es = self.state.embedding_set
        if es is not None and es is not self.measured:
            self.measure()

    def measure(self) -> None:
        """Measure the current set in the background (replacing a measurement under way)."""
        es = self.state.embedding_set
        if es is None:
            return
        self.measured = es
        self.error_line.clear_error()
        self.summary.setText(f"Measuring {es.count:,} vectors…")
        self.measure_button.setEnabled(False)
        self.job.submit("Measuring vector lengths", measure, es,
                        on_partial=self._show, on_done=self._show, on_error=self._failed)

    def colour_map(self) -> None:
        """Offer the lengths to the map as a colouring, choose it, and bring the map forward."""
        if self.stats is None:
            return
        norms = self.stats.norms
        self.state.set_derived(DERIVED, Derived(
            norms.values, norms.low, norms.high,
            note=f"vector length; colours clipped at the 1st and 99th percentiles "
                 f"({norms.low:.4g}–{norms.high:.4g})"))
        self.state.set_colour_by(DERIVED)
        self.state.request_view("map")

    def _failed(self, error: BaseException) -> None:
        self.summary.setText("")
        self.show_error(error)

    def _ended(self) -> None:
        self.measure_button.setEnabled(self.state.embedding_set is not None)

    def _show(self, stats: VectorStats) -> None:
        self.stats = stats
        self.colour_button.setEnabled(True)
        self.summary.setText(summary(stats, self.state.embedding_set))
        self._draw(stats)

    def _draw(self, stats: VectorStats) -> None:
        norms = stats.norms
        self.plot.clear()
        edges = norms.edges
        self.plot.addItem(pg.BarGraphItem(x0=edges[:-1], width=np.diff(edges) * 0.9,
                                          height=norms.counts, brush=pg.mkBrush(*BAR_BRUSH),
                                          pen=pg.mkPen(None)))
        self.plot.addItem(pg.InfiniteLine(
            pos=norms.median, angle=90,
            pen=pg.mkPen(MEDIAN_PEN, width=1, style=Qt.PenStyle.DashLine),
            label=f"median {norms.median:.4g}",
            labelOpts={"position": 0.9, "color": MEDIAN_PEN}))
        self.plot.setXRange(float(edges[0]), float(edges[-1]), padding=0.02)
        self.plot.setYRange(0, float(norms.counts.max()) * 1.08, padding=0)


def summary(stats: VectorStats, es: EmbeddingSet | None) -> str:
    """The panel's figures as one rich-text line or two."""
    norms = stats.norms
    count = len(norms.values)
    if norms.unit:
        lengths = "every vector has length 1 (the set is unit-normalised)"
    else:
        lengths = (f"length <b>{norms.mean:.4g}</b> ± {norms.std:.3g} · median "
                   f"{norms.median:.4g} · {norms.minimum:.4g} to {norms.maximum:.4g}")
    parts = [f"{count:,} vectors · {lengths}"]
    if norms.zeros:
        parts.append(f"<b>{norms.zeros:,}</b> of length 0")
    dim = stats.dimension
    if dim is None:
        parts.append("estimating the intrinsic dimension…")
    elif math.isnan(dim.estimate):
        parts.append("too few distinct vectors to estimate the intrinsic dimension")
    else:
        of = f" of {es.dim:,}" if es is not None else ""
        rows = f"{dim.rows:,} sampled rows" if stats.sampled else f"{dim.rows:,} rows"
        twins = f", {dim.duplicates:,} duplicates left out" if dim.duplicates else ""
        parts.append(f"intrinsic dimension ≈ <b>{dim.estimate:.1f}</b>{of} (TwoNN, "
                     f"{stats.distance} distance, {rows}{twins})")
    return " · ".join(parts)
