"""The filter's parts as chips: a label, the SQL as its tooltip, and × to remove it.

Chips wrap onto as many lines as the panel's width needs (`FlowLayout`), so a narrow
column shows every part of the filter without scrolling sideways.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QLayout, QLayoutItem, QSizePolicy,
                               QToolButton, QWidget)

from explorer.ui.state import FilterPart

CHIP_STYLE = ("QFrame#chip { border: 1px solid palette(mid); border-radius: 10px; "
              "background: palette(base); }")


class FlowLayout(QLayout):
    """Items left to right, wrapping to a new line when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _place(self, rect: QRect, move: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        gap = self.spacing()
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and line > 0:
                x, y, line = rect.x(), y + line + gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap
            line = max(line, hint.height())
        return y + line - rect.y()


class Chip(QFrame):
    """One part of the filter."""

    removed = Signal(str)  # the part's key

    def __init__(self, part: FilterPart, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = part.key
        self.setObjectName("chip")
        self.setStyleSheet(CHIP_STYLE)
        self.setToolTip(part.sql)
        owner = "Table filter: " if part.key == "table" else ""
        self.text = owner + part.label
        self.label = QLabel(self.text)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.close_button = QToolButton()
        self.close_button.setText("×")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Remove this part of the filter")
        self.close_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button.clicked.connect(lambda: self.removed.emit(self.key))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 1, 2, 1)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        layout.addWidget(self.close_button)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)

    def fit(self, width: int) -> None:
        """Elide the label so the chip, its × included, fits in `width` pixels."""
        room = width - self.close_button.sizeHint().width() - 16
        self.label.setText(self.label.fontMetrics().elidedText(
            self.text, Qt.TextElideMode.ElideRight, max(room, 40)))


class ChipRow(QWidget):
    """Every part of the shared filter as a chip, in the order they were made."""

    removed = Signal(str)  # a part's key

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow = FlowLayout(self)
        self.chips: list[Chip] = []
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def show_parts(self, parts: tuple[FilterPart, ...]) -> None:
        for chip in self.chips:
            self.flow.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        for part in parts:
            chip = Chip(part, self)
            chip.removed.connect(self.removed)
            chip.fit(self.room())
            self.flow.addWidget(chip)
            self.chips.append(chip)
        self.setVisible(bool(parts))
        self.updateGeometry()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self.flow.heightForWidth(width)

    def room(self) -> int:
        """The width chips may take: the row's own once laid out, else its panel's."""
        if self.isVisible() and self.width() > 0:
            return self.width()
        parent = self.parentWidget()
        return parent.width() - 8 if parent is not None else 300

    def resizeEvent(self, event) -> None:
        for chip in self.chips:
            chip.fit(self.width())
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        width = max(self.width(), 200)
        return QSize(width, self.flow.heightForWidth(width))
