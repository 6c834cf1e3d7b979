"""Widgets and texts the neighbours dock's tabs share.

The dock sits beside the map and is often narrow, so its combos may shrink below
their longest entry and its labels wrap instead of widening the window.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy

from explorer.core.errors import InputError

METRIC_TITLES = {"cosine": "cosine", "dot": "dot", "l2": "L2"}
ERROR_STYLE = "color: #c62828;"
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


def error_label() -> QLabel:
    """A hidden red label: what went wrong shows here rather than in a dialog."""
    label = wrapping(QLabel())
    label.setStyleSheet(ERROR_STYLE)
    label.hide()
    return label


def headline(text: str, note: str = "") -> str:
    """Rich text: `text` in bold, then `note` in grey (e.g. "top 10")."""
    bold = f"<b>{html.escape(text)}</b>"
    return f"{bold} <span style='color:gray'>· {note}</span>" if note else bold


def error_text(error: BaseException) -> str:
    """The user's mistakes speak for themselves; anything else names its type."""
    if isinstance(error, InputError):
        return str(error)
    return f"{type(error).__name__}: {error}"
