"""Plots that only show (a panel's histograms are read, not explored), and axes that show
numbers as they are."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


class PlainAxis(pg.AxisItem):
    """An axis whose tick labels are the values themselves, never SI-scaled.

    pyqtgraph scales a unit-less axis whose range lies within (0, 1) by 1000 and says so
    only in the label ("(x0.001)"); `enableAutoSIPrefix(False)` does not stop it, because
    turning it off recomputes the scale once more while the label is shown and freezes
    that. A concept plane re-mapped while the view spanned ±0.4 read ±400. No prefix range
    at all is the one setting every path through AxisItem respects.
    """

    def getSIPrefixEnableRanges(self) -> tuple:
        return ()


def plain_axes() -> dict[str, PlainAxis]:
    """`axisItems` for a PlotWidget / PlotItem: PlainAxis on the sides shown by default (an
    axis given for the top or the right would be shown too)."""
    return {side: PlainAxis(side) for side in ("left", "bottom")}


def still_plot(owner: QWidget) -> pg.PlotWidget:
    """A plot on `owner`'s base colour without pyqtgraph's menu, mouse zoom and buttons,
    which only lose a histogram's framing in a narrow dock."""
    plot = pg.PlotWidget(axisItems=plain_axes())
    plot.setBackground(owner.palette().base().color())
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    return plot
