"""Two runs of one encode job never share its work folder: the second waits, naming the first."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from explorer.compute.encoding import pipeline
from explorer.compute.encoding.job_lock import job_lock
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.compute.encoding.work_folder import WorkFolder
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

from onnx_models import bert_like, write_folder
from test_encoding_pipeline import write_docs

WAIT = 120  # seconds: only how long a broken lock may hang a test before it fails

HOLDER = """
import sys
from pathlib import Path
from explorer.compute.encoding.job_lock import job_lock
from explorer.core.jobs import TaskState

with job_lock(Path(sys.argv[1]), "texts.csv with minilm", TaskState(), on_wait=print):
    print("held", flush=True)
    sys.stdin.read()
"""


def hold_in_another_process(lock) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


def never_waits(message: str) -> None:
    raise AssertionError(f"waited: {message}")


class Attempt(threading.Thread):
    """Take the lock in a thread; `waiting` is set when it has to wait, `held` when it has it."""

    def __init__(self, lock, state: TaskState | None = None) -> None:
        super().__init__(daemon=True)
        self.lock, self.state = lock, state or TaskState()
        self.waiting, self.held = threading.Event(), threading.Event()
        self.messages: list[str] = []
        self.error: BaseException | None = None

    def on_wait(self, message: str) -> None:
        self.messages.append(message)
        self.waiting.set()

    def run(self) -> None:
        try:
            with job_lock(self.lock, "mine", self.state, self.on_wait):
                self.held.set()
        except BaseException as exc:  # checked by the test
            self.error = exc


def test_a_run_waits_for_another_process_and_names_it(tmp_path):
    lock = tmp_path / "job.lock"
    holder = hold_in_another_process(lock)
    try:
        attempt = Attempt(lock)
        attempt.start()
        assert attempt.waiting.wait(WAIT)
        assert not attempt.held.is_set()
        [message] = attempt.messages
        assert message.startswith(f"Waiting for process {holder.pid}, which started the same "
                                  "encoding (texts.csv with minilm) at ")
    finally:
        holder.stdin.close()
        holder.wait()
    attempt.join(WAIT)
    assert attempt.held.is_set() and attempt.error is None
    assert not lock.exists()  # removed by its last holder


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    lock = tmp_path / "job.lock"
    holder = hold_in_another_process(lock)
    holder.kill()  # SIGKILL: no cleanup of its own runs
    holder.wait()
    assert lock.exists()
    with job_lock(lock, "mine", TaskState(), on_wait=never_waits):
        pass


def test_a_waiting_run_can_be_cancelled(tmp_path):
    lock = tmp_path / "job.lock"
    with job_lock(lock, "first", TaskState(), on_wait=never_waits):
        attempt = Attempt(lock)
        attempt.start()
        assert attempt.waiting.wait(WAIT)
        assert attempt.messages == ["Waiting for the earlier run of the same encoding (first) "
                                    "to stop"]
        attempt.state.cancel()
        attempt.join(WAIT)
    assert isinstance(attempt.error, Cancelled) and not attempt.held.is_set()


@pytest.fixture
def model(tmp_path):
    return str(write_folder(tmp_path / "model", bert_like()))


def test_two_runs_of_the_same_job_at_once_both_make_the_right_set(tmp_path, model, monkeypatch):
    docs = write_docs(tmp_path / "docs", files=4, paragraphs=60)
    options = EncodeOptions(model=model, chunk_tokens=12, overlap_tokens=0, batch_size=2)
    clean = Library().open(encode_inputs([docs], EncodeOptions(**{**options.__dict__,
                                                                  "name": "clean"})).entry.id)
    first_window, release = threading.Event(), threading.Event()
    original = WorkFolder.append

    def append_then_hold(self, *args):
        original(self, *args)
        if threading.current_thread().name == "first" and len(self.progress["pieces"]) == 1:
            first_window.set()
            release.wait(WAIT)  # the first run stays in the middle of its job

    monkeypatch.setattr(WorkFolder, "append", append_then_hold)
    results: dict[str, object] = {}

    def run(name: str, state: TaskState) -> None:
        try:
            results[name] = encode_inputs([docs], EncodeOptions(**{**options.__dict__,
                                                                   "name": name}), state=state)
        except BaseException as exc:  # checked below
            results[name] = exc

    waiting = threading.Event()
    second_state = TaskState(on_status=lambda text: text.startswith("Waiting") and waiting.set())
    first = threading.Thread(target=run, args=("a", TaskState()), name="first")
    second = threading.Thread(target=run, args=("b", second_state), name="second")
    first.start()
    try:
        assert first_window.wait(WAIT)
        second.start()
        assert waiting.wait(WAIT), "the second run did not wait for the first"
    finally:
        release.set()
        first.join(WAIT)
        second.join(WAIT)
    for name in ("a", "b"):
        result = results[name]
        assert isinstance(result, pipeline.EncodeResult), result
        es = Library().open(result.entry.id)
        assert es.metadata.column("text").to_pylist() == \
            clean.metadata.column("text").to_pylist()
        np.testing.assert_allclose(np.asarray(es.vectors), np.asarray(clean.vectors), atol=1e-6)
    assert results["b"].notices == ["Waiting for the earlier run of the same encoding "
                                    "(docs with model) to stop"]
    assert not list((pipeline.data_home() / pipeline.JOBS_DIR).iterdir())  # no lock file left
