"""Render the main window with a set loaded to a PNG, without a display.

The picture is the layout a user gets at that size (no special docks); the result also
says where each panel in view is, so the layout can be tested.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Screenshot:
    """The PNG written, the window's size, and each panel in view as [x, y, w, h] in window
    coordinates (panels behind a tab, hidden or closed are left out)."""

    path: Path
    size: tuple[int, int]
    panels: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"size": list(self.size),
                "panels": {key: list(rect) for key, rect in self.panels.items()}}


def take_screenshot(key: str, out: Path, view: str = "table",
                    size: tuple[int, int] = (1400, 900), method: str | None = None,
                    colour: str | None = None, inputs: list[str] | None = None,
                    model: str = "minilm", progress: float = 0.3) -> Screenshot:
    """The window with `key`'s set, `view` brought forward; view "encode" adds the encode
    dialog over it, its job (`inputs` with `model`) running in the status bar and past
    `progress`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
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
    window.show_view({"encode": "map", "concept-plane": "concepts", "compression-query":
                      "compression", "compression-map": "compression"}.get(view, view))
    if view == "hubness":
        window.neighbours_view.compute_hubness()
    _settle(window, timeout=120.0)
    if view in ("concepts", "concept-plane"):
        _show_concepts(window, plane=view == "concept-plane")
    if view.startswith("compression"):
        _show_compression(window, view)
    if view == "charts":
        _show_charts(window)
    if view == "hubness" and window.neighbours_view.hubness is not None:
        window.neighbours_view.clear_marks()
        window.neighbours_view.colour_map_by_hubness()
        _settle(window, timeout=30.0)
    if colour is not None:
        window.map_view.colour_by(colour)
    if method is not None:
        from explorer.compute.projection import ProjectionParams

        window.map_view.compute_projection(ProjectionParams(method=method, metric=es.metric))
    _settle(window, timeout=1800.0)
    if view in ("neighbours", "compare"):
        window.neighbours_view.zoom_map()
        _settle(window, timeout=30.0)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image = _encode_picture(window, inputs or [], model, progress) if view == "encode" \
        else window.grab()
    if not image.save(str(out), "PNG"):
        raise InputError("cannot write the PNG", path=out)
    shot = Screenshot(out, (window.width(), window.height()),
                      {key: rect.getRect()
                       for key, rect in window.dock_layout.panel_rects(window.panels).items()})
    window.close()
    app.processEvents()
    return shot


def _encode_picture(window, inputs: list[str], model: str, progress: float):
    """Start an encode job from a filled-in dialog; once it is under way, the window with the
    dialog laid over its centre. The job is cancelled afterwards (it stays resumable)."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QPainter

    if not inputs:
        raise InputError("the encode screenshot needs inputs to encode (--inputs)")
    dialog = window.open_encode_dialog(inputs, model)
    _wait(lambda: dialog.model_choice() is not None and dialog.inspection is not None
          and not dialog.jobs.running(), 120.0, "the encode dialog to find the model and inputs")
    if dialog.inspection.error is not None:
        raise InputError(f"cannot encode the inputs: {dialog.inspection.summary()}")
    job = window.start_encode(dialog.inputs(), dialog.options(), dialog.job_label())
    reached = [0.0]
    window.jobs.jobProgress.connect(
        lambda job_id, f: reached.__setitem__(0, f) if job_id == job.id else None)
    _wait(lambda: reached[0] >= progress or job.id not in {j.id for j in window.jobs.running()},
          1800.0, "the encode job to get under way")
    if job.id not in {j.id for j in window.jobs.running()}:
        raise InputError("the encode job ended before the picture; give more inputs")
    _wait(lambda: False, 0.3, "")  # the status bar repaints with the latest text
    picture = window.grab()
    front = dialog.grab()
    # offscreen windows have no frame: draw a plain title bar so it reads as a dialog
    bar = 30
    width, height = front.width(), front.height() + bar
    x, y = (picture.width() - width) // 2, (picture.height() - height) // 2
    painter = QPainter(picture)
    painter.fillRect(x + 6, y + 6, width, height, QColor(0, 0, 0, 60))  # shadow
    painter.fillRect(x, y, width, bar, dialog.palette().window().color().darker(112))
    painter.drawText(QRect(x, y, width, bar), Qt.AlignmentFlag.AlignCenter, dialog.windowTitle())
    painter.drawPixmap(x, y + bar, front)
    painter.setPen(QColor(120, 120, 120))
    painter.drawRect(x - 1, y - 1, width + 1, height + 1)
    painter.end()
    window.jobs.cancel(job.id)
    dialog.reject()
    return picture


def _show_concepts(window, plane: bool) -> None:
    """The Axis tab of the newest saved direction; with `plane`, the newest two as the map's axes."""
    view = window.concepts_view
    context = view.context
    _wait(lambda: context.directions and context.scores is not None, 300.0,
          "the set's saved directions (save some first: embedding-explorer concept ... --save)")
    view.show_tab("axis")
    if plane:
        if len(context.directions) < 2:
            raise InputError("the concept plane needs two directions saved with the set")
        view.plane_x.setCurrentIndex(len(context.directions) - 2)
        view.plane_y.setCurrentIndex(len(context.directions) - 1)
        before = window.map_view.projection_info
        view.show_plane()
        _wait(lambda: window.map_view.projection_info is not before
              and "x" in window.map_view.projection_info, 300.0, "the concept plane")
    _settle(window, timeout=60.0)


def _show_compression(window, view_name: str) -> None:
    """The default sweep evaluated, the budget at a tenth of float32's bytes; then for
    "compression-query" the worst query's lists under the map, for "compression-map" the
    map coloured by each query's kept share."""
    import numpy as np

    view = window.compression_view
    done = []
    view.evaluated.connect(done.append)
    view.evaluate()
    _wait(lambda: bool(done), 1800.0, "the compression sweep")
    view.set_budget(window.state.embedding_set.dim * 4 / 10)
    if view_name in ("compression-query", "compression-map"):
        view.count_rerank.setChecked(True)  # float32 rows count: the budget names a code
        view.set_budget(window.state.embedding_set.dim * 4 / 10)
    if view_name == "compression-query":
        view.tabs.setCurrentWidget(view.comparison)
        view.comparison.mark(view.comparison.queries.itemData(0))  # the worst query
        _settle(window, timeout=30.0)
        marks = window.state.neighbours
        window.state.request_frame(np.concatenate([marks.query_rows, marks.rows]))
    if view_name == "compression-map":
        view.colour_map()
    _settle(window, timeout=30.0)


def _show_charts(window) -> None:
    """The Charts panel with its default columns charted and counted (its counts wait on a
    timer, which the window's job list does not show)."""
    view = window.panels["charts"]
    _wait(lambda: not view.busy(), 300.0, "the charts")
    _settle(window, timeout=30.0)


def _wait(done, timeout: float, what: str) -> None:
    import time

    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            if what:
                raise InputError(f"timed out waiting for {what}")
            return
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()


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
