"""The panel contract: namespaced kinds, results for a left set dropped, errors inline."""

import threading

import numpy as np
import pyarrow as pa
import pytest
from PySide6.QtWidgets import QProgressBar

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.library import Library
from explorer.ui.panels.base import Panel, PanelContext
from explorer.ui.state import AppState
from explorer.ui.workers import JobRunner


class Probe(Panel):
    key = "probe"
    title = "Probe"

    def __init__(self, context):
        super().__init__(context)
        self.sets = []

    def new_set(self, es):
        self.sets.append(es)


def small_set(name: str) -> EmbeddingSet:
    return EmbeddingSet(np.eye(3, dtype=np.float32), pa.table({"row": [0, 1, 2]}), name)


@pytest.fixture
def panel(qtbot):
    context = PanelContext(AppState(), JobRunner(), Library())
    probe = Probe(context)
    qtbot.addWidget(probe)
    yield probe
    context.runner.shutdown()


def test_kinds_are_namespaced_by_the_panel(panel, qtbot):
    got = []
    job = panel.jobs.submit("work", "Working", lambda state: 7, on_done=got.append)
    assert job.kind == "probe:work"
    qtbot.waitUntil(lambda: got == [7], timeout=10000)


def test_a_result_for_a_set_the_window_left_is_dropped_and_its_job_cancelled(panel, qtbot):
    panel.state.set_set(small_set("a"))
    release = threading.Event()
    got, cancelled = [], []

    def slow(state):
        release.wait(10)
        cancelled.append(state.cancelled)
        return "for a"

    panel.jobs.submit("slow", "Slow", slow, on_done=got.append, on_error=got.append)
    panel.state.set_set(small_set("b"))  # the user moved on
    release.set()
    qtbot.waitUntil(lambda: cancelled == [True], timeout=10000)
    qtbot.wait(100)
    assert got == [] and [es.name for es in panel.sets] == ["a", "b"]


def test_a_job_submitted_for_the_new_set_while_it_arrives_is_kept(panel, qtbot):
    """Whatever order setChanged's slots run in, the new set's own job survives."""
    got = []
    panel.state.setChanged.connect(
        lambda es: panel.jobs.submit("load", "Load", lambda state: es.name, on_done=got.append))
    panel.state.set_set(small_set("c"))
    qtbot.waitUntil(lambda: got == ["c"], timeout=10000)


def test_set_free_jobs_deliver_after_the_set_changed(panel, qtbot):
    panel.state.set_set(small_set("a"))
    release = threading.Event()
    got = []
    panel.jobs.submit("save", "Saving", lambda state: release.wait(10) and "saved",
                      on_done=got.append, set_bound=False)
    panel.state.set_set(small_set("b"))
    release.set()
    qtbot.waitUntil(lambda: got == ["saved"], timeout=10000)


def test_errors_show_inline_in_the_panel_and_clear_with_a_new_set(panel, qtbot):
    panel.show()

    def fail(state):
        raise InputError("no column 'x'", hint="pick another column")

    panel.jobs.submit("bad", "Failing", fail)
    qtbot.waitUntil(lambda: panel.error_line.isVisible(), timeout=10000)
    assert "No column 'x'" in panel.error_line.text()
    assert "pick another column" in panel.error_line.text()
    panel.state.set_set(small_set("d"))
    assert not panel.error_line.isVisible()


def test_a_tracked_kind_shows_progress_and_ends(panel, qtbot):
    bar = QProgressBar()
    ended = []
    tracked = panel.jobs.track("scan", bar, on_end=lambda: ended.append(True))
    tracked.submit("Scanning", lambda state: None)
    qtbot.waitUntil(lambda: ended == [True], timeout=10000)
    assert not tracked.running() and not panel.jobs.running("scan")
