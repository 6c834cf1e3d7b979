"""The "Which model made this set's vectors?" dialog (issue 16), with the real default model.

Vectors "from elsewhere" are the real all-MiniLM-L6-v2 vectors of real sentences, made by our
own encoder and then stored without their model, as a user's pipeline would hand them over;
the same sentences with random vectors are the mismatch.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from default_model import needs_minilm
from onnx_models import bert_like, write_folder
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget
from sentences import SENTENCES

from explorer.compute.encoding.model_check import set_library_model
from explorer.compute.encoding.model_folder import models_dir
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.core.library import Library
from explorer.ui.dialogs import model_dialog
from explorer.ui.dialogs.model_dialog import FORGET, ModelDialog
from explorer.ui.workers import JobRunner

WAIT = 60_000  # ms: only how long a broken job may hang a test before it fails
SHOTS = Path(os.environ.get("DIALOG_SHOTS", "/tmp/dialog-shots"))


@pytest.fixture
def runner(qtbot):
    """The window's runner, as the dialog is given it."""
    jobs = JobRunner()
    yield jobs
    jobs.shutdown()


@pytest.fixture
def minilm_sets(library: Library, tmp_path) -> tuple[str, str]:
    """(real, noise): ids of two stored sets of the same sentences, neither naming its model:
    one holds MiniLM's own vectors of them, the other random 384-d vectors."""
    from explorer.compute.encoding.catalogue import install_model

    install_model("minilm")
    source = tmp_path / "sentences.csv"
    source.write_text("text\n" + "\n".join(SENTENCES) + "\n", encoding="utf-8")
    encoded = encode_inputs([source], EncodeOptions(model="minilm", column="text"),
                            Library(tmp_path / "elsewhere")).entry
    es = Library(tmp_path / "elsewhere").open(encoded.id)
    texts = es.metadata.column("text").to_pylist()
    vectors = np.asarray(es.vectors)
    ids = []
    for name, values in (("minilm vectors", vectors),
                         ("random vectors", np.random.default_rng(3).normal(
                             size=vectors.shape).astype(np.float32))):
        path = tmp_path / f"{name.replace(' ', '_')}.parquet"
        pq.write_table(pa.table({"name": [f"s{i}" for i in range(len(texts))], "text": texts,
                                 "embedding": list(values)}), path)
        entry = library.import_file(path, name=name)
        assert entry.model is None and entry.text_column == "text" and entry.dim == 384
        ids.append(entry.id)
    return ids[0], ids[1]


@pytest.fixture
def tiny_model(explorer_home) -> str:
    """An installed 8-dimensional text model, which cannot have made 384-d vectors."""
    write_folder(models_dir() / "tiny", bert_like())
    return "tiny"


@pytest.fixture
def make_dialog(qtbot, library, runner):
    made = []

    def make(set_id: str) -> ModelDialog:
        dlg = ModelDialog(None, library=library, set_id=set_id, runner=runner)
        qtbot.addWidget(dlg)
        made.append(dlg)
        return dlg

    yield make
    for dlg in made:
        dlg.jobs.shutdown()


def wait_models(qtbot, dlg: ModelDialog) -> None:
    qtbot.waitUntil(lambda: dlg.model_combo.isEnabled() and dlg.model_combo.count() > 1,
                    timeout=WAIT)


def items(dlg: ModelDialog) -> list[tuple[str, bool]]:
    """(text, enabled) of each combo entry, separators left out."""
    model = dlg.model_combo.model()
    return [(dlg.model_combo.itemText(i), model.item(i).isEnabled())
            for i in range(dlg.model_combo.count()) if dlg.model_combo.itemText(i)]


@needs_minilm
def test_minilm_vectors_from_elsewhere_are_verified(qtbot, make_dialog, library, minilm_sets,
                                                    tiny_model):
    real, _ = minilm_sets
    dlg = make_dialog(real)
    assert dlg.windowTitle() == "Which model made “minilm vectors”'s vectors?"
    assert dlg.current_label.text() == "No model recorded: text queries are off for this set"
    assert "100 vectors · 384 dimensions · text column “text”" in dlg.set_label.text()
    wait_models(qtbot, dlg)
    assert dlg.choice().name == "minilm"  # the only model that fits is preselected
    dlg.show()
    with qtbot.waitSignal(dlg.modelSet, timeout=WAIT) as recorded:
        qtbot.keyClick(dlg, Qt.Key.Key_Return)  # Enter = Check and set
        assert dlg.running() and dlg.busy_row.isVisibleTo(dlg)
        assert not dlg.check_button.isEnabled() and not dlg.model_combo.isEnabled()
    entry = recorded.args[0]
    check = library.entry(real).check
    assert entry.model.startswith("minilm (sha256 ") and entry.id == real
    assert check.verified is True and check.median_cosine >= 0.99 and check.sampled == 64
    qtbot.waitUntil(lambda: not dlg.running(), timeout=WAIT)
    assert not dlg.busy_row.isVisibleTo(dlg)
    result = dlg.result_label.text()
    assert result.startswith(f"Set: minilm — verified · median cosine "
                             f"{check.median_cosine:.3f} over 64 texts.")
    assert "Text queries now work" in result
    assert dlg.current_label.text().startswith("minilm — verified · median cosine")
    # recorded: Close is what remains, and what Enter does
    assert dlg.close_button.isVisibleTo(dlg) and dlg.close_button.isDefault()
    assert not dlg.check_button.isVisibleTo(dlg) and not dlg.cancel_button.isVisibleTo(dlg)
    shoot(qtbot, dlg, "model-dialog-verified")
    with qtbot.waitSignal(dlg.accepted, timeout=WAIT):
        qtbot.keyClick(dlg, Qt.Key.Key_Return)


@needs_minilm
def test_random_vectors_are_refused_then_kept_unverified_on_request(qtbot, make_dialog, library,
                                                                    minilm_sets):
    _, noise = minilm_sets
    dlg = make_dialog(noise)
    wait_models(qtbot, dlg)
    dlg.show()
    qtbot.mouseClick(dlg.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.trust_button.isVisibleTo(dlg), timeout=WAIT)
    refusal = dlg.result_label.text()
    assert "not made by minilm" in refusal and "median cosine" in refusal
    assert "--trust-model" not in refusal  # the CLI's advice, not the dialog's
    assert "#c62828" in dlg.result_label.styleSheet()
    assert library.entry(noise).model is None  # nothing recorded
    assert not dlg.check_button.isEnabled()  # the same check again would say the same
    assert not dlg.trust_button.isDefault() and not dlg.trust_button.autoDefault()
    assert dlg.isVisible()
    shoot(qtbot, dlg, "model-dialog-refused")
    with qtbot.waitSignal(dlg.modelSet, timeout=WAIT) as recorded:
        qtbot.mouseClick(dlg.trust_button, Qt.MouseButton.LeftButton)
    check = recorded.args[0].check
    assert check.verified is False and check.median_cosine < 0.5
    assert library.entry(noise).check.verified is False
    assert library.entry(noise).model.startswith("minilm (sha256 ")
    qtbot.waitUntil(lambda: not dlg.running(), timeout=WAIT)
    assert dlg.result_label.text().startswith("Set: minilm — unverified · median cosine")
    assert not dlg.trust_button.isVisibleTo(dlg)


def test_models_of_another_width_are_listed_but_disabled(qtbot, make_dialog, library,
                                                         tiny_model, tmp_path, monkeypatch):
    path = tmp_path / "wide.npy"
    np.save(path, np.random.default_rng(0).normal(size=(50, 768)).astype(np.float32))
    entry = library.import_file(path)
    dlg = make_dialog(entry.id)
    wait_models(qtbot, dlg)
    listed = items(dlg)
    assert listed[0] == ("No installed model gives 768 dimensions", True)
    assert ("tiny (8-d, the set is 768-d)", False) in listed
    assert listed[-2:] == [("Model folder…", True), ("None — forget the model", False)]
    assert not any(text.startswith("Install") for text, _ in listed)  # MiniLM is 384-d
    assert dlg.choice() is None and not dlg.check_button.isEnabled()
    assert "No installed model gives 768 dimensions" in dlg.note_label.text()
    # a folder chosen by hand is opened off the UI thread and joins the list, disabled too
    folder = write_folder(tmp_path / "other-model", bert_like(dim=16))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    dlg.model_combo.setCurrentIndex(dlg.model_combo.findData("choose"))
    qtbot.waitUntil(lambda: "16 dimensions" in dlg.note_label.text(), timeout=WAIT)
    assert ("other-model (16-d, the set is 768-d)", False) in items(dlg)
    assert dlg.choice() is None and not dlg.check_button.isEnabled()
    dlg.show()
    shoot(qtbot, dlg, "model-dialog-wrong-width")
    dlg.model_combo.showPopup()
    shoot(qtbot, dlg.model_combo.view().window(), "model-dialog-wrong-width-list")
    dlg.model_combo.hidePopup()
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    assert not dlg.isVisible() and entry.model is None


def test_a_set_without_text_shows_why_its_model_is_not_checked_and_can_forget_it(
        qtbot, make_dialog, library, tmp_path):
    path = tmp_path / "plain.npy"
    np.save(path, np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32))
    entry = library.import_file(path)
    folder = write_folder(models_dir() / "tiny", bert_like())
    set_library_model(library, entry.id, str(folder))  # no text column: recorded, unchecked
    dlg = make_dialog(entry.id)
    assert "no text column" in dlg.set_label.text()
    assert dlg.current_label.text().endswith(
        "not checked: the set has no text column to check the model with")
    wait_models(qtbot, dlg)
    dlg.model_combo.setCurrentIndex(dlg.model_combo.findData(FORGET))
    assert dlg.check_button.text() == "&Forget the model"
    with qtbot.waitSignal(dlg.modelSet, timeout=WAIT) as recorded:
        qtbot.mouseClick(dlg.check_button, Qt.MouseButton.LeftButton)
    assert recorded.args[0].model is None and library.entry(entry.id).model is None
    qtbot.waitUntil(lambda: not dlg.running(), timeout=WAIT)
    assert dlg.result_label.text().startswith("Forgotten")
    assert dlg.current_label.text().startswith("No model recorded")


def test_a_width_mismatch_from_the_check_is_said_inline(qtbot, make_dialog, library, runner,
                                                       tmp_path, tiny_model, monkeypatch):
    """Were a model of another width chosen (a folder the list did not know), the core's
    refusal shows in the dialog, which stays open with nothing changed."""
    path = tmp_path / "wide.npy"
    np.save(path, np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32))
    entry = library.import_file(path)
    dlg = make_dialog(entry.id)
    wait_models(qtbot, dlg)
    assert dlg.choice().name == "tiny"
    write_folder(models_dir() / "tiny", bert_like(dim=12))  # replaced since it was listed
    with qtbot.waitSignal(runner.jobFinished, timeout=WAIT):
        dlg.check_and_set()
    qtbot.waitUntil(lambda: dlg.result_label.isVisibleTo(dlg), timeout=WAIT)
    assert "12 dimensions" in dlg.result_label.text() and "8" in dlg.result_label.text()
    assert not dlg.trust_button.isVisibleTo(dlg) and dlg.check_button.isEnabled()
    assert library.entry(entry.id).model is None


def test_cancel_stops_a_running_check_and_changes_nothing(qtbot, make_dialog, library, runner,
                                                        tmp_path, tiny_model, monkeypatch):
    path = tmp_path / "small.npy"
    np.save(path, np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32))
    entry = library.import_file(path)
    started, release = threading.Event(), threading.Event()
    real = model_dialog.set_library_model

    def held(library, key, model, trust, state):
        started.set()
        release.wait(WAIT / 1000)
        state.check()  # where the real check first reports, and so stops
        return real(library, key, model, trust, state)

    monkeypatch.setattr(model_dialog, "set_library_model", held)
    dlg = make_dialog(entry.id)
    wait_models(qtbot, dlg)
    dlg.show()
    qtbot.mouseClick(dlg.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(started.is_set, timeout=WAIT)
    assert [job.label for job in runner.running()] == [f"Checking tiny against “{entry.name}”"]
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)  # Esc stops the check; the dialog stays
    assert dlg.isVisible() and dlg.busy_label.text() == "Stopping…"
    release.set()
    qtbot.waitUntil(lambda: not dlg.running(), timeout=WAIT)
    assert dlg.result_label.text() == "Stopped: nothing was changed."
    assert library.entry(entry.id).model is None
    assert dlg.check_button.isEnabled() and dlg.model_combo.isEnabled()
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)  # now it closes
    assert not dlg.isVisible()


def shoot(qtbot, dlg: QWidget, name: str) -> None:
    """A picture of the dialog as filled in, to look at (not compared)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    qtbot.wait(100)  # the layout settles on posted events: let them run
    dlg.grab().save(str(SHOTS / f"{name}.png"))
