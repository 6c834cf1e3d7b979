"""The job runner: reports reach the UI thread in order, a runner shut down and deleted while
a job still runs is never touched again, and workers never collect Qt garbage."""

import gc
import threading
import weakref

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


def test_reports_arrive_on_the_ui_thread_in_order(qtbot):
    jobs = JobRunner()
    seen = []

    def note(kind):
        return lambda *args: seen.append((kind, args[-1], threading.current_thread().name))

    jobs.jobStatus.connect(note("status"))

    def work(state):
        for step in ("read", "index"):
            state.status(step)
        state.partial("layout")
        return "map"

    jobs.submit("map", "Map", work, on_partial=note("partial"), on_done=note("done"))
    qtbot.waitUntil(lambda: len(seen) == 4, timeout=10000)
    main = threading.main_thread().name
    assert seen == [("status", "read", main), ("status", "index", main),
                    ("partial", "layout", main), ("done", "map", main)]
    jobs.shutdown()


def test_a_failing_callback_loses_no_other_result(qtbot):
    jobs = JobRunner()
    got = []

    def boom(_value):
        raise RuntimeError("a view's bug")

    jobs.submit("a", "A", lambda state: 1, on_done=boom)
    jobs.submit("b", "B", lambda state: 2, on_done=got.append)
    with qtbot.captureExceptions() as raised:
        qtbot.waitUntil(lambda: got == [2], timeout=10000)
    assert [str(e[1]) for e in raised] == ["a view's bug"]
    jobs.shutdown()


def test_garbage_holding_qt_objects_is_collected_on_the_ui_thread(qtbot):
    """Issue 23: a worker's allocations must not make it destroy a Qt object (see collector)."""
    JobRunner(parent=QObject())
    assert not gc.isenabled()
    where = []

    def garbage() -> None:
        owned = QObject()  # owned by Python, in a reference cycle: only the collector frees it
        cycle = [owned]
        cycle.append(cycle)
        weakref.finalize(owned, lambda: where.append(threading.current_thread().name))

    garbage()
    kept = []
    worker = threading.Thread(target=lambda: kept.append([[i] for i in range(200_000)]),
                              name="worker")  # far past the thresholds of automatic collection
    worker.start()
    worker.join()
    assert where == []
    qtbot.waitUntil(lambda: bool(where), timeout=5000)
    assert where == [threading.main_thread().name]


def owned_only_by(kept: list) -> list:
    """A Python-owned QObject referenced only from `kept`; returns where it got freed."""
    where = []
    owned = QObject()
    weakref.finalize(owned, lambda: where.append(threading.current_thread().name))
    kept.append(owned)
    return where


def test_a_job_never_drops_the_last_reference_to_a_qt_object_in_its_worker(qtbot):
    jobs = JobRunner()
    kept = []
    where = owned_only_by(kept)
    done = []
    jobs.submit("job", "Job", lambda owned, state: 1, kept.pop(), on_done=done.append)
    qtbot.waitUntil(lambda: done == [1], timeout=10000)
    qtbot.waitUntil(lambda: bool(where), timeout=5000)
    assert where == [threading.main_thread().name]
    jobs.shutdown()


def test_nor_after_its_runner_was_shut_down(qtbot):
    jobs = JobRunner()
    kept = []
    where = owned_only_by(kept)
    release = threading.Event()
    jobs.submit("job", "Job", lambda owned, state: release.wait(10), kept.pop())
    jobs.shutdown()  # the window closes while the job still runs
    release.set()
    qtbot.waitUntil(lambda: bool(where), timeout=5000)
    assert where == [threading.main_thread().name]
