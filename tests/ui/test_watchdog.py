"""The freeze watchdog: a blocked UI thread leaves every thread's stack in the log."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading

import pytest

from explorer.ui import app as ui_app
from explorer.ui.watchdog import Watchdog, default_log_path

# PyDLL keeps the GIL during the call: the UI thread is stuck in C code holding it, as in
# the deadlock of issue 23, where no watchdog written in Python could run.
_usleep = ctypes.PyDLL(None).usleep


def freeze_ui_thread(seconds: float) -> None:
    _usleep(int(seconds * 1_000_000))


def test_a_frozen_ui_thread_has_every_stack_logged(qtbot, tmp_path, caplog):
    path = tmp_path / "explorer.log"
    busy = threading.Event()

    def worker_waits() -> None:  # a second thread, whose stack must be in the dump too
        busy.wait(10)

    helper = threading.Thread(target=worker_waits, name="helper")
    helper.start()
    with open(path, "a", encoding="utf-8") as stream:
        watchdog = Watchdog(stream, seconds=1.0)
        try:
            watchdog.start()
            qtbot.wait(300)
            freeze_ui_thread(2.5)
            qtbot.waitUntil(lambda: "did not answer" in caplog.text, timeout=5000)
        finally:
            watchdog.stop()
            busy.set()
            helper.join()
    text = path.read_text()
    assert "Thread 0x" in text and "(most recent call first)" in text
    assert "freeze_ui_thread" in text  # where the UI thread was stuck
    assert "worker_waits" in text  # and the other thread
    assert text.count("(most recent call first)") >= 2 and caplog.text.count("did not answer") == 1


def test_an_answering_ui_thread_logs_nothing(qtbot, tmp_path):
    path = tmp_path / "explorer.log"
    with open(path, "a", encoding="utf-8") as stream:
        watchdog = Watchdog(stream, seconds=1.0)
        watchdog.start()
        qtbot.wait(2500)
        watchdog.stop()
    assert path.read_text() == ""


def test_diagnose_is_a_gui_flag():
    assert ui_app._parse(["--diagnose", "x.npy"]).diagnose
    assert not ui_app._parse(["x.npy"]).diagnose


LAUNCH = r"""
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from explorer.ui import watchdog
from explorer.__main__ import main

watchdog.STALL_SECONDS = 1.0  # the app's 10 s, shortened for the test
run = QApplication.exec
_usleep = __import__("ctypes").PyDLL(None).usleep


def exec_then_freeze(*_args):
    QTimer.singleShot(500, lambda: _usleep(2_500_000))  # the UI thread stops answering
    QTimer.singleShot(4000, QApplication.instance().quit)
    return run()


QApplication.exec = exec_then_freeze
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("how", [{"args": ["--diagnose"]}, {"env": {"EXPLORER_DEBUG": "1"}}])
def test_the_app_runs_the_watchdog_when_asked(explorer_home, how):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **how.get("env", {})}
    out = subprocess.run([sys.executable, "-c", LAUNCH, *how.get("args", [])], env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    log = default_log_path()
    assert str(log) in out.stderr  # the user is told where the log is
    text = log.read_text()
    assert "watchdog on" in text and "did not answer" in text
    assert "exec_then_freeze" in text  # the UI thread's frames, inside the event loop
