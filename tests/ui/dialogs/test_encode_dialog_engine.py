"""The Encode dialog's Engine choice, and a Ray job run from the window: progress in the status
bar, Cancel, and the next run resuming from the finished shards (a tiny real ONNX model)."""

import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from onnx_models import bert_like, write_folder
from PySide6.QtCore import Qt

from explorer.compute.cluster import journal
from explorer.compute.cluster.encode_ray import Engine
from explorer.compute.cluster.ray_session import INSTALL_HINT
from explorer.compute.encoding import pipeline
from explorer.compute.encoding.model_folder import models_dir
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.core.library import Library
from explorer.ui.dialogs import encode_dialog
from explorer.ui.dialogs.encode_dialog import EncodeDialog

WAIT = 60_000
WORDS = ["the", "cat", "dog", "sat", "on", "mat", "runs", "fast", "slow", "red", "blue"]


@pytest.fixture
def model(explorer_home):
    write_folder(models_dir() / "tiny", bert_like())
    return "tiny"


def make_dialog(qtbot, **kwargs):
    dlg = EncodeDialog(**kwargs)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.ray_missing != "Looking for Ray…", timeout=WAIT)
    return dlg


def entry_enabled(dlg, row):
    return dlg.engine_combo.model().item(row).isEnabled()


def test_the_engine_choice_gives_local_a_local_ray_or_the_cluster(qtbot, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    dlg = make_dialog(qtbot)
    assert dlg.ray_missing is None and entry_enabled(dlg, 1) and entry_enabled(dlg, 2)
    assert dlg.engine() == Engine() and not dlg.address_edit.isVisibleTo(dlg)
    dlg.engine_combo.setCurrentIndex(1)
    assert dlg.engine() == Engine("ray", "local")
    dlg.engine_combo.setCurrentIndex(2)
    assert dlg.address_edit.isVisibleTo(dlg) and dlg.address_edit.text() == "ray://head:10001"
    assert dlg.engine() == Engine("ray", "ray://head:10001")
    dlg.address_edit.clear()
    assert dlg.engine() == Engine("ray", "auto")
    dlg.jobs.shutdown()
    again = make_dialog(qtbot, engine=Engine("ray", "local"))  # the last job's engine
    assert again.engine() == Engine("ray", "local")
    again.jobs.shutdown()


def test_without_ray_its_entries_are_disabled_and_say_how_to_install(qtbot, monkeypatch):
    monkeypatch.setattr(encode_dialog, "ray_available", lambda: INSTALL_HINT)
    dlg = make_dialog(qtbot, engine=Engine("ray", "local"))
    assert dlg.ray_missing == INSTALL_HINT
    assert not entry_enabled(dlg, 1) and not entry_enabled(dlg, 2)
    assert dlg.engine_combo.itemData(1, Qt.ItemDataRole.ToolTipRole) == INSTALL_HINT
    assert dlg.engine() == Engine()  # still local
    dlg.jobs.shutdown()


def write_table(path, n=960, seed=0):
    rng = np.random.default_rng(seed)
    pq.write_table(pa.table({"text": [" ".join(rng.choice(WORDS, rng.integers(2, 12)))
                                      for _ in range(n)]}), path, row_group_size=128)
    return path


def test_a_ray_job_from_the_window_shows_progress_cancels_and_resumes(
        qtbot, window, model, tmp_path, monkeypatch, ray_local):
    table = write_table(tmp_path / "t.parquet")
    options = EncodeOptions(model=model, batch_size=16)
    full = encode_inputs([table], EncodeOptions(**{**options.__dict__, "name": "full"}),
                         Library(tmp_path / "reference"))
    three_units, release = threading.Event(), threading.Event()
    original = journal.ShardJournal.add

    def add_then_hold(self, record):
        original(self, record)
        if len(self.records) == 3:
            three_units.set()
            release.wait(WAIT / 1000)  # the driver holds here until the user has cancelled

    monkeypatch.setattr(journal.ShardJournal, "add", add_then_hold)
    engine = Engine("ray", "local")
    window.start_encode([str(table)], options, "Encoding 1 file with tiny on Ray", engine)
    qtbot.waitUntil(three_units.is_set, timeout=WAIT)
    qtbot.waitUntil(window.job_status.isVisible, timeout=WAIT)
    qtbot.waitUntil(lambda: "on Ray (2 workers)" in window.job_status.label.text(),
                    timeout=WAIT)
    qtbot.mouseClick(window.job_status.cancel_button, Qt.MouseButton.LeftButton)
    release.set()
    qtbot.waitUntil(lambda: not window.jobs.running(), timeout=WAIT)
    assert window.statusBar().currentMessage().startswith(
        "Encoding cancelled; run it again to resume")
    assert window.library.entries() == []

    monkeypatch.setattr(journal.ShardJournal, "add", original)
    dlg = window.open_encode_dialog()  # pre-filled with the cancelled job and its engine
    qtbot.waitUntil(lambda: dlg.ray_missing is None, timeout=WAIT)
    assert dlg.engine() == engine
    dlg.reject()
    with qtbot.waitSignal(window.state.setChanged, timeout=WAIT):
        window.start_encode([str(table)], options, "Encoding 1 file with tiny on Ray", engine)
    result = window.last_encode
    assert result.engine == "ray" and result.resumed_units == 3
    es = window.state.embedding_set
    reference = Library(tmp_path / "reference").open(full.entry.id)
    assert es.count == reference.count == 960
    np.testing.assert_allclose(np.asarray(es.vectors), np.asarray(reference.vectors), atol=1e-6)
    assert not list((pipeline.data_home() / pipeline.JOBS_DIR).iterdir())
