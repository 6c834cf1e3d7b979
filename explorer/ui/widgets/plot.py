"""Plots that only show: a panel's histograms are read, not explored."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


def still_plot(owner: QWidget) -> pg.PlotWidget:
    """A plot on `owner`'s base colour without pyqtgraph's menu, mouse zoom and buttons,
    which only lose a histogram's framing in a narrow dock."""
    plot = pg.PlotWidget()
    plot.setBackground(owner.palette().base().color())
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    return plot
