"""Quitting during the first launch's warm-up stops it and waits for it, so no thread is
left inside LLVM while Python finalises (a crash on the way out)."""

import threading
from types import SimpleNamespace

from PySide6.QtWidgets import QApplication, QWidget

from explorer.core.jobs import TaskState
from explorer.ui import app as ui_app


def test_quitting_cancels_the_warm_up_and_waits_for_it(qtbot, monkeypatch):
    started, finished = threading.Event(), threading.Event()
    seen: list[bool] = []

    def slow_warm_up(state: TaskState) -> None:
        started.set()
        while not state.cancelled:  # a compile in progress, checking between kernels
            threading.Event().wait(0.02)
        seen.append(True)
        finished.set()
        state.check()  # raises Cancelled, as the real warm-up does between steps

    monkeypatch.setattr(ui_app, "warm_up_kernels", slow_warm_up)
    monkeypatch.setattr(ui_app, "WARM_UP_JOIN_SECONDS", 10.0)

    window = QWidget()
    qtbot.addWidget(window)
    window.jobs = SimpleNamespace(running=list)  # the window's runner, with nothing running
    app = QApplication.instance()
    ui_app.warm_up_when_idle(window, app)
    qtbot.waitUntil(started.is_set, timeout=10000)  # the idle check runs every 2 s
    app.aboutToQuit.emit()  # what quitting does, without ending the test's event loop
    assert finished.is_set() and seen == [True]


def test_the_in_process_warm_up_waits_for_the_compile_worker_and_quit_stops_it(qtbot,
                                                                                 monkeypatch):
    """A first launch compiles in the worker's process; this one only loads after it."""
    worker_done, stopped, started = [False], [], threading.Event()
    monkeypatch.setattr(ui_app.compile_worker, "done", lambda: worker_done[0])
    monkeypatch.setattr(ui_app.compile_worker, "stop", lambda: stopped.append(True))
    monkeypatch.setattr(ui_app, "warm_up_kernels", lambda state: started.set())
    monkeypatch.setattr(ui_app, "WARM_UP_CHECK_MS", 50)
    window = QWidget()
    qtbot.addWidget(window)
    window.jobs = SimpleNamespace(running=list)
    app = QApplication.instance()
    ui_app.warm_up_when_idle(window, app)
    qtbot.wait(300)
    assert not started.is_set()  # no job runs, but the worker still compiles
    worker_done[0] = True
    qtbot.waitUntil(started.is_set, timeout=5000)
    app.aboutToQuit.emit()
    assert stopped  # (an earlier test's quit handler may run too)
