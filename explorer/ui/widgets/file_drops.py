"""Local files and folders dropped on a window: the main window opens them, the encode
dialog adds them to its inputs; both accept a drag the same way."""

from __future__ import annotations

from PySide6.QtGui import QDragEnterEvent, QDropEvent


class FileDrops:
    """Mixed in before a Qt widget class (which must `setAcceptDrops(True)`): a drag that
    brings at least one local path is accepted, and its local paths go to `paths_dropped`."""

    def paths_dropped(self, paths: list[str]) -> None:
        raise NotImplementedError

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.paths_dropped(paths)
