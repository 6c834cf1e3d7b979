"""A click as the platform delivers it, through the window: a right press there also asks
for the widget's context menu, which a click sent straight to the widget does not."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget


def window_click(qtbot, widget: QWidget, pos: QPoint,
                 button: Qt.MouseButton = Qt.MouseButton.LeftButton,
                 modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Click at `pos` of `widget` (its own coordinates), once the widget is what is there
    (a panel just filled may still be laid out)."""
    window = widget.window()
    qtbot.waitUntil(lambda: window.childAt(widget.mapTo(window, pos)) is widget)
    qtbot.mouseClick(window.windowHandle(), button, modifiers, widget.mapTo(window, pos))
