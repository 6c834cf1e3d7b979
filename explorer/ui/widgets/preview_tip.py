"""A tooltip with a picture: an item's thumbnail above its usual tooltip text.

Qt's own tooltip shows rich text but has no way to take a pixmap from memory, and writing
each thumbnail to a file or a data URL only to have the tooltip decode it again would cost
more than the lookup. So this is a small frameless window of the tooltip kind that the
caller shows where Qt would have shown its tooltip, and hides when the pointer moves on.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QPalette, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

OFFSET = QPoint(16, 16)  # below and right of the pointer, as Qt places its tooltips


class PreviewTip(QFrame):
    """A pixmap and a line or two of rich text, in a tooltip-like window."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.ToolTip)
        self.setObjectName("preview-tip")
        self.setFrameShape(QFrame.Shape.Box)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setForegroundRole(QPalette.ColorRole.ToolTipText)
        self.setBackgroundRole(QPalette.ColorRole.ToolTipBase)
        self.setAutoFillBackground(True)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        self.text.setMaximumWidth(360)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(5, 5, 5, 5)
        layout.setSpacing(4)
        layout.addWidget(self.image)
        layout.addWidget(self.text)
        self.row = -1

    def show_preview(self, row: int, pixmap: QPixmap, html: str, at: QPoint) -> None:
        """Show `pixmap` above `html` for `row` near the global point `at`, kept on screen."""
        self.row = row
        self.image.setPixmap(pixmap)
        self.text.setText(html)
        self.text.setVisible(bool(html))
        self.adjustSize()
        pos = at + OFFSET
        screen = QGuiApplication.screenAt(at)
        if screen is not None:
            area = screen.availableGeometry()
            if pos.x() + self.width() > area.right():
                pos.setX(at.x() - OFFSET.x() - self.width())
            if pos.y() + self.height() > area.bottom():
                pos.setY(at.y() - OFFSET.y() - self.height())
        self.move(pos)
        self.show()

    def hide_preview(self) -> None:
        self.row = -1
        self.hide()
