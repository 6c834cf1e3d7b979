"""The job runner: a runner shut down and deleted while a job still runs is never touched again."""

import threading

import shiboken6
from PySide6.QtCore import QObject

from explorer.ui.workers import JobRunner


def test_a_job_finishing_after_its_runner_was_deleted_does_not_touch_it(qtbot):
    owner = QObject()  # a dialog, say, that owns its runner and is deleted when closed
    jobs = JobRunner(parent=owner)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    delivered, errors = [], []

    def work(state):
        started.set()
        release.wait(10)
        try:
            state.partial("late layout")  # reports after the owner is gone
        except Exception as exc:  # noqa: BLE001 - the runner's C++ side was reached
            errors.append(exc)
        finally:
            finished.set()
        return "late"

    jobs.submit("slow", "A slow job", work, on_done=delivered.append)
    assert started.wait(10)
    jobs.shutdown()
    shiboken6.delete(owner)  # the runner goes with it
    assert not shiboken6.isValid(jobs)
    release.set()
    assert finished.wait(10)
    qtbot.wait(100)  # any event it could still have posted would arrive now
    assert delivered == [] and errors == []
