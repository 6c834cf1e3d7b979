"""Start the desktop app: QApplication, theme, main window, files from the command line."""

from __future__ import annotations

import argparse
import os
import sys
import threading

from explorer import __version__


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="embedding-explorer",
                                description="Embedding Explorer desktop app. Subcommands "
                                            "(inspect, import, list, screenshot, …) run headless; "
                                            "see `embedding-explorer --help`.")
    p.add_argument("files", nargs="*", help="embedding files (or a .eesession session) to open")
    p.add_argument("--demo", action="store_true", help="open the bundled demo set")
    p.add_argument("--session", metavar="FILE",
                   help="reopen a saved session (File ▸ Save Session…): its set, selection, "
                        "map, views and window layout")
    return p.parse_args(argv)


def _ensure_display() -> None:
    """Without a display Qt aborts; fall back to offscreen and say how to see the window."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM") \
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        print("embedding-explorer: no display found, running offscreen (nothing will be visible). "
              "Use `xvfb-run embedding-explorer ...` for a virtual display, or "
              "`embedding-explorer screenshot demo --out shot.png` for a picture.",
              file=sys.stderr)


def create_app(argv: list[str] | None = None):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from explorer.ui.resources import icon_path

    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName("Embedding Explorer")
    app.setOrganizationName("embedding-explorer")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("embedding-explorer")
    app.setWindowIcon(QIcon(str(icon_path())))
    return app


def warm_up_in_background() -> threading.Thread:
    """Compile (first launch) or load (later ones) the map's numba kernels off the UI thread,
    so the first UMAP or map drawing does not wait for the JIT."""

    def work() -> None:
        try:
            import numpy as np

            from explorer.compute import numba_cache, raster
            from explorer.compute.spatial import GridIndex

            numba_cache.warm_up()
            xy = np.random.default_rng(0).normal(size=(2000, 2)).astype(np.float32)
            index = GridIndex(xy)
            index.in_polygon(np.array([-1.0, 1.0, 0.0]), np.array([-1.0, -1.0, 1.0]))
            rect = (-3.0, 3.0, -3.0, 3.0)
            codes = (np.arange(2000) % 3).astype(np.int16)
            raster.density_image(index.sorted_coords, rect, 64, 64, categories=index.to_sorted(codes),
                                 palette=raster.categorical_palette(3),
                                 spans=index.view_spans(-3, -3, 3, 3))
            raster.points_image(xy, rect, 64, 64, categories=codes,
                                palette=raster.categorical_palette(3), radius_px=2)
        except Exception:  # a failed warm-up only means the first map compiles on demand
            pass

    thread = threading.Thread(target=work, name="explorer-warm-up", daemon=True)
    thread.start()
    return thread


def warm_up_when_idle(window) -> None:
    """Start the warm-up once no job is running: on a first launch it compiles for 10-20 s
    on both cores, which must not slow down the first set the user opens."""
    from PySide6.QtCore import QTimer

    timer = QTimer(window, interval=2000)

    def check() -> None:
        if not window.jobs.running():
            timer.stop()
            warm_up_in_background()
    timer.timeout.connect(check)
    timer.start()


def run_gui(argv: list[str]) -> int:
    args = _parse(argv)
    _ensure_display()
    app = create_app([sys.argv[0]])
    from explorer.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    warm_up_when_idle(window)
    if args.session:
        window.sessions.open(args.session)
    elif args.files:
        window.open_paths(args.files)
    elif args.demo:
        window.open_demo()
    return app.exec()
