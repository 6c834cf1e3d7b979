"""A panel's inline error: what went wrong, in the user's words, until the next try."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from explorer.core.errors import InputError

ERROR_STYLE = "color: #c62828;"


def error_text(error: BaseException) -> str:
    """The user's mistakes speak for themselves (with where and what to do); anything
    else names its type, since it is ours to fix."""
    if isinstance(error, InputError):
        parts = [error.message[:1].upper() + error.message[1:]]
        if error.where():
            parts.append(f"Where: {error.where()}")
        if error.hint:
            parts.append(f"What to do: {error.hint}")
        return "\n".join(parts)
    return f"Something went wrong inside the app: {type(error).__name__}: {error}"


class ErrorLine(QLabel):
    """Hidden until an error; wraps rather than widening its panel; selectable text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorLine")
        self.setWordWrap(True)
        self.setStyleSheet(ERROR_STYLE)
        policy = self.sizePolicy()
        policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
        self.setSizePolicy(policy)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_error(self, error: BaseException) -> None:
        self.setText(error_text(error))
        self.setToolTip(getattr(error, "formatted", "") or "")
        self.show()

    def clear_error(self) -> None:
        self.clear()
        self.hide()
