"""Widgets and texts the analysis panels (neighbours, concepts, compression) share.

The panels sit beside the map and are often narrow, so their combos may shrink below
their longest entry and their labels wrap instead of widening the window. Errors show
in an `ErrorLine` (explorer/ui/widgets/error_line.py), like every panel's.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QSplitter, QWidget

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
    """Lists side by side when the splitter is at least `wide` pixels wide, stacked when
    narrower, so that no list is squeezed to a dozen characters in a narrow panel."""

    def __init__(self, wide: int, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.wide = wide
        self.setChildrenCollapsible(False)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        orientation = (Qt.Orientation.Horizontal if event.size().width() >= self.wide
                       else Qt.Orientation.Vertical)
        if orientation != self.orientation():
            self.setOrientation(orientation)
