"""Render the main window with a set loaded to a PNG, without a display."""

from __future__ import annotations

import os
from pathlib import Path

from explorer.core.checks import check_set
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.core.loaders import open_file


def resolve_set(library: Library, key: str) -> EmbeddingSet:
    """'demo', a library id/name, or a file (imported, or reopened if already imported)."""
    if key == "demo":
        from explorer.compute.demo import ensure_demo

        return library.open(ensure_demo(library).id)
    path = Path(key).expanduser()
    if not path.exists():
        return library.open(key)
    known = library.find_by_fingerprint(str(path.resolve()))
    if known is not None:
        return library.open(known.id)
    es = open_file(path)
    entry = library.import_set(es, report=check_set(es))
    return library.open(entry.id)


def take_screenshot(key: str, out: Path, view: str = "table",
                    size: tuple[int, int] = (1400, 900)) -> Path:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

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
    loop = QEventLoop()
    QTimer.singleShot(300, loop.quit)
    loop.exec()
    QCoreApplication.processEvents()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out), "PNG"):
        raise InputError("cannot write the PNG", path=out)
    window.close()
    app.processEvents()
    return out
