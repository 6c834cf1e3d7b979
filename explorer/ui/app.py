"""Start the desktop app: QApplication, theme, main window, files from the command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from explorer import __version__
from explorer.compute import index, projection, raster  # noqa: F401 - see warm_up
from explorer.compute.numba import compile_worker, readiness
from explorer.compute.warm_up import warm_up as warm_up_kernels
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library
from explorer.ui import timeline
from explorer.ui.collector import collect_on_ui_thread
from explorer.ui.main_window import MainWindow
from explorer.ui.resources import icon_path
from explorer.ui.system_libraries import missing_libraries, missing_message, uses_xcb
from explorer.ui.watchdog import Watchdog, default_log_path, log_to_file

log = logging.getLogger(__name__)
WARM_UP_JOIN_SECONDS = 60.0  # a kernel being compiled when the user quits
WARM_UP_CHECK_MS = 2000  # how often the idle warm-up looks for no job and the worker done


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="embedding-explorer",
                                description="Embedding Explorer desktop app. Subcommands "
                                            "(inspect, import, list, screenshot, …) run headless; "
                                            "see `embedding-explorer --help`.")
    p.add_argument("files", nargs="*", help="embedding files (or a .eesession session) to open")
    p.add_argument("--demo", action="store_true", help="open the bundled demo set")
    p.add_argument("--set", dest="set_id", metavar="ID",
                   help="open a library set by its id or name (`embedding-explorer list`); "
                        "explorer.show starts the app so")
    p.add_argument("--session", metavar="FILE",
                   help="reopen a saved session (File ▸ Save Session…): its set, selection, "
                        "map, views and window layout")
    p.add_argument("--diagnose", action="store_true",
                   help=f"keep a log in {default_log_path()} and, if the window stops answering "
                        "for 10 s, write every thread's stack into it, to attach to a report of "
                        "a freeze (EXPLORER_DEBUG=1 does the same)")
    p.add_argument("--quit-after-load", action="store_true",
                   help="quit once the set opened is first drawn on the map: a check that the "
                        "app starts on it (tests, scripts)")
    return p.parse_args(argv)


def debug_mode() -> bool:
    """EXPLORER_DEBUG set to anything but '' or '0'."""
    return os.environ.get("EXPLORER_DEBUG", "").strip() not in ("", "0")


def _ensure_display() -> None:
    """Without a display Qt aborts; fall back to offscreen and say how to see the window."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM") \
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        print("embedding-explorer: no display found, running offscreen (nothing will be visible). "
              "Use `xvfb-run embedding-explorer ...` for a virtual display, or "
              "`embedding-explorer screenshot demo --out shot.png` for a picture.",
              file=sys.stderr)


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName("Embedding Explorer")
    app.setOrganizationName("embedding-explorer")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("embedding-explorer")
    app.setWindowIcon(QIcon(str(icon_path())))
    collect_on_ui_thread()  # before any window or worker thread exists
    return app


def start_watchdog() -> Watchdog:
    """Log to the app's log file and dump every thread's stack there on a freeze (`--diagnose`)."""
    path = default_log_path()
    watchdog = Watchdog(log_to_file(path), parent=QApplication.instance())
    watchdog.start()
    print(f"embedding-explorer: diagnosing; the log is {path}", file=sys.stderr)
    return watchdog


def warm_up(state: TaskState | None = None) -> None:
    """Load (compile, without the compile worker) every kernel the map and UMAP use.

    The modules holding the kernels are imported with this one, so this thread
    imports nothing: it only loads (or compiles) machine code.
    """
    warm_up_kernels(state or TaskState())


def warm_up_in_background(state: TaskState | None = None) -> threading.Thread:
    """`warm_up` off the UI thread, so the first UMAP or map drawing does not wait for the JIT.

    Cancel `state` and join the thread before the interpreter exits: a thread still inside
    LLVM while Python finalises can crash the process on its way out.
    """
    state = state or TaskState()

    def work() -> None:
        try:
            timeline.mark("kernels_started")
            warm_up(state)
            timeline.mark("kernels_ready")
        except Cancelled:
            pass
        except Exception:  # noqa: BLE001 - a failed warm-up only means the first map compiles
            log.exception("the kernels' warm-up failed; they compile when first used")

    thread = threading.Thread(target=work, name="explorer-warm-up", daemon=True)
    thread.start()
    return thread


def warm_up_when_idle(window, app: QApplication) -> None:
    """Start the in-process warm-up once no job is running and the compile worker is done.

    With the worker (a first launch) the kernels compile in its process and this thread
    only loads them once it has finished (1-2 s). Without it (EXPLORER_FAST_START=0)
    it compiles here for 10-20 s on both cores, which must not slow down the first set
    the user opens. Quitting stops the worker, and this thread between two kernels,
    waiting for the one being compiled."""
    timer = QTimer(window, interval=WARM_UP_CHECK_MS)
    state = TaskState()
    started: list[threading.Thread] = []

    def check() -> None:
        if not window.jobs.running() and compile_worker.done():
            timer.stop()
            started.append(warm_up_in_background(state))

    def stop() -> None:
        with contextlib.suppress(RuntimeError):  # the window, the timer's parent, is gone
            timer.stop()
        compile_worker.stop()
        state.cancel()
        for thread in started:
            thread.join(WARM_UP_JOIN_SECONDS)
    timer.timeout.connect(check)
    app.aboutToQuit.connect(stop)
    timer.start()


class FirstPaint(QObject):
    """Marks `window_shown` on the window's first paint (the window is on screen then)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            timeline.mark_first("window_shown")
            watched.removeEventFilter(self)
        return False


def follow_timeline(window: MainWindow) -> None:
    """With $EXPLORER_TIMELINE set, mark the window's first paint, each set opened
    (`demo_ready` for the demo) and the first drawing of each map method."""
    if not os.environ.get(timeline.ENV):
        return
    window.installEventFilter(FirstPaint(window))
    readiness.watch_compiles(lambda name: timeline.mark("compile", kernel=name))

    def opened(es) -> None:
        from explorer.compute.demo import DEMO_NAME

        if es is not None:
            name = "demo_ready" if es.name == DEMO_NAME else "set_opened"
            timeline.mark(name, n=es.count)

    def drawn(mode: str, n: int) -> None:
        method = window.map_view.projection_info.get("method", "")
        timeline.mark_first("map_drawn", method, method=method, mode=mode, n=n)
    window.state.setChanged.connect(opened)
    window.map_view.renderFinished.connect(drawn)


def quit_after_load(window: MainWindow, app: QApplication) -> None:
    """Quit, as the user would, at the first map drawing after a set is opened (`--quit-
    after-load`); quitting runs the usual shutdown (jobs, the compile worker)."""
    opened: list[object] = []

    def on_set(es) -> None:
        if es is not None:
            opened.append(es)

    def drawn(mode: str, n: int) -> None:
        if opened:
            QTimer.singleShot(0, app.quit)
    window.state.setChanged.connect(on_set)
    window.map_view.renderFinished.connect(drawn)


def run_gui(argv: list[str]) -> int:
    args = _parse(argv)
    if args.set_id:
        try:  # a set that is not there is said in one line, as the CLI says it, not in a window
            Library().entry(args.set_id)
        except InputError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    _ensure_display()
    missing = missing_libraries() if uses_xcb() else []
    if missing:
        print(missing_message(missing), file=sys.stderr)
        return 1
    app = create_app([sys.argv[0]])
    watchdog = start_watchdog() if args.diagnose or debug_mode() else None
    window = MainWindow()
    follow_timeline(window)
    if args.quit_after_load:
        quit_after_load(window, app)
    window.show()
    compile_worker.start()  # a first launch compiles there, never in this process
    timeline.mark("compile_worker", running=compile_worker.running())
    warm_up_when_idle(window, app)
    if args.session:
        window.sessions.open(args.session)
    elif args.files:
        window.open_paths(args.files)
    elif args.set_id:
        window.open_library_set(args.set_id)
    elif args.demo:
        window.open_demo()
    try:
        return app.exec()
    finally:
        if watchdog is not None:
            watchdog.stop()
