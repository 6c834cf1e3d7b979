"""The map's tooltip shows the hovered item's thumbnail when the set has thumbnails.

The map sets its text tooltip on every hover as before; this filter takes Qt's tooltip
event (after Qt's usual delay) and, when the hovered row has a thumbnail, shows a
`PreviewTip` with the picture above the same text instead. A row without one (missing,
broken, a URL, no thumbnails built) keeps the plain text tooltip. The pointer moving to
another row, or off the map, hides the picture.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QWidget

from explorer.ui.state import AppState
from explorer.ui.widgets.preview_tip import PreviewTip


class MapHoverPreview(QObject):
    """Watches `plot`'s tooltip events and the shared hover; owns the picture tooltip."""

    def __init__(self, plot: QWidget, state: AppState) -> None:
        super().__init__(plot)
        self.plot = plot
        self.state = state
        self.tip = PreviewTip(plot)
        self.last_seconds = 0.0  # from the tooltip event to the picture shown (benchmarks)
        plot.installEventFilter(self)
        state.hoverChanged.connect(self._hover_changed)
        state.thumbnails.changed.connect(self.tip.hide_preview)

    def _hover_changed(self, row: int, _source) -> None:
        if row != self.tip.row:
            self.tip.hide_preview()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.plot:
            if event.type() == QEvent.Type.ToolTip:
                return self.show_for(self.state.hover, event)
            if event.type() == QEvent.Type.Leave:
                self.tip.hide_preview()
        return False

    def show_for(self, row: int, event: QHelpEvent) -> bool:
        """Show the picture tooltip of `row` if it has a thumbnail; True when shown (the
        event is then handled), False to let Qt show the text tooltip."""
        start = time.perf_counter()
        pixmap = self.state.thumbnails.pixmap(row) if row >= 0 else None
        if pixmap is None:
            self.tip.hide_preview()
            return False
        self.tip.show_preview(row, pixmap, self.plot.toolTip(), event.globalPos())
        self.last_seconds = time.perf_counter() - start
        return True
