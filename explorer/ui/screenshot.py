"""Render the main window with a set loaded to a PNG, without a display."""

from __future__ import annotations

import os
from pathlib import Path

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library


def resolve_set(library: Library, key: str) -> EmbeddingSet:
    """'demo', a library id/name, or a file (imported, or reopened if already imported)."""
    if key == "demo":
        from explorer.compute.demo import ensure_demo

        return library.open(ensure_demo(library).id)
    return library.open_or_import(key)


def take_screenshot(key: str, out: Path, view: str = "table",
                    size: tuple[int, int] = (1400, 900), method: str | None = None,
                    colour: str | None = None) -> Path:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt

    from explorer.ui.app import create_app
    from explorer.ui.main_window import MainWindow

    library = Library()
    es = resolve_set(library, key)
    app = create_app()
    window = MainWindow(library, restore=False)
    window.resize(*size)
    window.show()
    window.refresh_library(es.library_id)
    window.state.set_set(es)
    window.state.set_current(0)
    window.show_view(view)
    if view == "hubness":
        window.neighbours_view.compute_hubness()
    _settle(window, timeout=120.0)
    if view in ("neighbours", "compare", "hubness"):
        # the neighbours lists want room beside the map
        left = int(size[0] * (0.5 if view == "compare" else 0.42))
        window.resizeDocks([window.docks["neighbours"], window.docks["map"]],
                           [left, size[0] - left], Qt.Orientation.Horizontal)
        _settle(window, timeout=30.0)
    if view == "hubness" and window.neighbours_view.hubness is not None:
        window.neighbours_view.clear_marks()
        window.neighbours_view.colour_map_by_hubness()
        _settle(window, timeout=30.0)
    if colour is not None:
        window.map_view.colour.setCurrentText(colour)
        window.map_view._colour_changed()
    if method is not None:
        from explorer.compute.projection import ProjectionParams

        window.map_view.compute_projection(ProjectionParams(method=method, metric=es.metric))
    _settle(window, timeout=1800.0)
    if view in ("neighbours", "compare"):
        window.neighbours_view.zoom_map()
        _settle(window, timeout=30.0)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out), "PNG"):
        raise InputError("cannot write the PNG", path=out)
    window.close()
    app.processEvents()
    return out


def _settle(window, timeout: float) -> None:
    """Let the window finish its background work (projection, drawing) before the picture."""
    import time

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()
        QCoreApplication.processEvents()
        busy = bool(window.jobs.running()) or window.map_view.pending() \
            or window.neighbours_view.pending()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 0.3:
            return
