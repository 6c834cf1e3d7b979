"""Widgets and texts the analysis panels (neighbours, concepts, compression) share.

The panels sit beside the map and are often narrow, so their combos may shrink below
their longest entry and their labels wrap instead of widening the window. Errors show
in an `ErrorLine` (explorer/ui/widgets/error_line.py), like every panel's.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (QComboBox, QFrame, QLabel, QProgressBar, QScrollArea,
                               QSizePolicy, QSplitter, QVBoxLayout, QWidget)

METRIC_TITLES = {"cosine": "cosine", "dot": "dot", "l2": "L2"}  # display text of the metrics
DIM_STYLE = "color: gray;"


def shrinkable(combo: QComboBox, chars: int = 6) -> QComboBox:
    """A combo that may get narrower than its longest entry (the dock can be narrow)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
    return combo


def wrapping(label: QLabel) -> QLabel:
    """Long texts wrap instead of widening the dock (and with it the window)."""
    label.setWordWrap(True)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    return label


def busy_bar(height: int = 8) -> QProgressBar:
    """A thin bar in thousandths, hidden until a job runs: a panel's job tracker
    (`PanelJobs.track`) shows, fills and hides it."""
    bar = QProgressBar()
    bar.setRange(0, 1000)
    bar.setTextVisible(False)
    bar.setMaximumHeight(height)
    bar.hide()
    return bar


def titled(title: str | QLabel, content: QWidget) -> QWidget:
    """`content` under its title (a text, shown in bold, or a label the caller retitles
    later), without margins: one of several lists side by side in a `FlowSplitter`."""
    box = QWidget()
    col = QVBoxLayout(box)
    col.setContentsMargins(0, 0, 0, 0)
    col.addWidget(title if isinstance(title, QLabel) else QLabel(f"<b>{title}</b>"))
    col.addWidget(content, 1)
    return box


def metric_combo(tooltip: str) -> QComboBox:
    """Cosine, dot or L2, with the metric's key as each entry's data."""
    combo = QComboBox()
    for metric, title in METRIC_TITLES.items():
        combo.addItem(title, metric)
    combo.setToolTip(tooltip)
    return shrinkable(combo, 3)


def headline(text: str, note: str = "") -> str:
    """Rich text: `text` in bold, then `note` in grey (e.g. "top 10")."""
    bold = f"<b>{html.escape(text)}</b>"
    return f"{bold} <span style='color:gray'>· {note}</span>" if note else bold


class FlowSplitter(QSplitter):
    """Parts side by side when the splitter is at least `wide` pixels wide (and, with an
    `aspect`, that many times wider than tall), stacked otherwise: no list is squeezed to
    a dozen characters in a narrow panel, and no chart to a strip in a wide, low one."""

    def __init__(self, wide: int, aspect: float = 0.0, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.wide = wide
        self.aspect = aspect
        self.setChildrenCollapsible(False)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        size = event.size()
        side_by_side = size.width() >= max(self.wide, self.aspect * size.height())
        orientation = Qt.Orientation.Horizontal if side_by_side else Qt.Orientation.Vertical
        if orientation != self.orientation():
            self.setOrientation(orientation)


class WrappingBox(QWidget):
    """A box whose minimum height is what its layout needs at its current width, wrapped
    labels included. A splitter asks its parts only for a width-free minimum, so a box
    of wrapping labels would be squeezed until they overlap what is above them."""

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth() and self.width() > 0:
            hint.setHeight(max(hint.height(), layout.minimumHeightForWidth(self.width())))
        return hint

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # a new width: the wrapped labels need another height


class ScrollContent(QWidget):
    """What a `scrolling` area holds: as tall as the area while its content fits, and as
    tall as it needs (its minimum, wrapped labels included) when it does not. A scroll
    area asks for the preferred height for a width, which would make a plot as tall as
    it would like and scroll for nothing."""

    def heightForWidth(self, width: int) -> int:
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            return layout.minimumHeightForWidth(width)
        return super().heightForWidth(width)


def scrolling(content: QWidget) -> QScrollArea:
    """`content` at the panel's width, scrolling up and down when the panel is too short
    for it instead of squeezing its parts over each other."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(content)
    return area


def scrolling_layout(owner: QWidget) -> QVBoxLayout:
    """The layout of `owner`'s content, which scrolls (see `scrolling`)."""
    content = ScrollContent()
    QVBoxLayout(owner).setContentsMargins(0, 0, 0, 0)
    owner.layout().addWidget(scrolling(content))
    return QVBoxLayout(content)
