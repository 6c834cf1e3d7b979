"""The "Attach metadata" dialog: choose a table whose rows describe a set's items, see it first.

A user who brings their own vectors often keeps the texts, ids and labels in a separate
file. The dialog reads that file off the UI thread (`preview_metadata`, on the dialog's own
JobRunner so its small jobs never show in the window's status bar), shows its first rows,
whether its row count matches the set's vectors, and the id and label columns it guesses.
It writes nothing: the caller attaches the chosen file with the chosen columns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from explorer.core.jobs import TaskState
from explorer.core.metadata_files import MetadataPreview, preview_metadata
from explorer.ui.widgets.error_line import ERROR_STYLE, error_text
from explorer.ui.widgets.file_drops import FileDrops
from explorer.ui.workers import Job, JobRunner

TABLE_FILTER = ("Tables and label lists (*.csv *.tsv *.tab *.txt *.parquet *.pq *.jsonl *.ndjson "
                "*.json *.arrow *.feather *.ipc);;CSV (*.csv);;TSV (*.tsv *.tab);;"
                "Parquet (*.parquet *.pq);;JSON Lines (*.jsonl *.ndjson *.json);;"
                "Arrow (*.arrow *.feather *.ipc);;One label per line (*.txt);;All files (*)")
TYPED_PATH_DELAY_MS = 400  # a typed path is read once the typing stops
CELL_CHARS = 60  # a cell longer than this is cut in the table; its tooltip holds it whole
TIP_CHARS = 2000  # a tooltip longer than this is cut too (a cell may hold a whole document)
COLUMN_CHARS = 28  # widest a column starts, in average characters (the user may widen it)
NO_COLUMN = "None"
NO_PARENT = QModelIndex()  # a flat table: its rows have no parent


class HeadModel(QAbstractTableModel):
    """The first rows of a table, read-only: long cells cut short, whole in their tooltip.

    The rows are converted once (a preview holds a few dozen), so painting never touches Arrow.
    """

    def __init__(self, table: pa.Table | None = None, types: list[str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._types: list[str] = []
        self._rows: list[list[str]] = []
        if table is not None:
            self.set_table(table, types or [])

    def set_table(self, table: pa.Table | None, types: list[str]) -> None:
        self.beginResetModel()
        if table is None:
            self._names, self._types, self._rows = [], [], []
        else:
            self._names = list(table.column_names)
            self._types = list(types) + [""] * (len(self._names) - len(types))
            columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
            self._rows = [[cell_text(column[r]) for column in columns]
                          for r in range(table.num_rows)]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._names)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        text = self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return elide(text, CELL_CHARS)
        if role == Qt.ItemDataRole.ToolTipRole and (len(text) > CELL_CHARS or "\n" in text):
            return elide(text, TIP_CHARS, one_line=False)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Vertical:
            # rows are joined by order: the number a row has is the item it describes
            return section + 1 if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:  # the type under the name: ids are told apart
            kind = self._types[section]
            return f"{self._names[section]}\n{kind}" if kind else self._names[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            kind = self._types[section]
            return f"{self._names[section]}: {kind}" if kind else self._names[section]
        return None


def cell_text(value: object) -> str:
    """A cell as the user reads it: empty where the value is missing."""
    return "" if value is None else str(value)


def elide(text: str, limit: int, one_line: bool = True) -> str:
    """`text` cut to `limit` characters with an ellipsis; on one line for a table cell."""
    if one_line:
        text = " ".join(text.split()) if ("\n" in text or "\t" in text) else text
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


Previewer = Callable[[str], MetadataPreview]


def load_preview(path: str, previewer: Previewer, state: TaskState) -> MetadataPreview:
    """The job: read the file's shape and first rows (a cancelled read's answer is dropped)."""
    state.check()
    state.status(f"Reading {Path(path).name}")
    preview = previewer(path)
    state.check()
    state.progress(1.0)
    return preview


class MetadataDialog(FileDrops, QDialog):
    """Choose the metadata file of a set, with a preview; `path()` and the columns after OK."""

    previewLoaded = Signal(object)  # MetadataPreview, once shown
    previewFailed = Signal(object)  # the error, once shown

    def __init__(self, parent: QWidget | None, *, set_name: str, expected_rows: int,
                 path: str | None = None, previewer: Previewer | None = None) -> None:
        """`previewer`: how a file is judged against the set; by default by its row count
        alone (a stored set passes `preview_attach`, which knows the rows its import dropped)."""
        super().__init__(parent)
        self.setObjectName("metadataDialog")
        self.setWindowTitle(f"Attach metadata to “{set_name}”")
        self.setAcceptDrops(True)
        self.set_name = set_name
        self.expected_rows = expected_rows
        self.previewer = previewer or (lambda file: preview_metadata(file, expected_rows))
        self.jobs = JobRunner(parent=self)
        self._preview: MetadataPreview | None = None
        self._job: Job | None = None
        self._build()
        self._typed_timer = QTimer(self, singleShot=True, interval=TYPED_PATH_DELAY_MS)
        self._typed_timer.timeout.connect(self._load)
        self.finished.connect(lambda _result: self.jobs.shutdown())
        self.jobs.jobProgress.connect(self._progress)
        self.jobs.jobStatus.connect(self._status)
        self.jobs.jobFinished.connect(self._finished)
        self._show(None)
        if path:
            self.set_path(path)

    # --- building --------------------------------------------------------------
    def _build(self) -> None:
        n = self.expected_rows
        intro = QLabel(f"A table whose rows describe the {n:,} item{'' if n == 1 else 's'} of "
                       f"“{self.set_name}” (CSV, TSV, Parquet, JSON Lines, Arrow, or a text file "
                       "of one label per line). Rows are joined by order: row 1 of the file is "
                       "item 1, row 2 is item 2, and so on.")
        intro.setWordWrap(True)

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("drop a file here, or browse for it")
        self.path_edit.setToolTip("The metadata file; it is read to show its first rows, and "
                                  "nothing is written until you attach it")
        self.path_edit.setClearButtonEnabled(True)
        self.path_edit.textEdited.connect(self._typed)
        self.path_edit.returnPressed.connect(self._typed_done)
        self.browse_button = QPushButton("&Browse…")
        self.browse_button.setToolTip("Choose a CSV, TSV, Parquet, JSON Lines or Arrow file, or "
                                      "a text file of one label per line")
        self.browse_button.setAutoDefault(False)  # Enter attaches, wherever the focus is
        self.browse_button.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.browse_button)

        self.busy_label = QLabel()
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # reading a file has no useful fraction: a busy bar
        self.busy_bar.setTextVisible(False)
        self.stop_button = QPushButton("Cancel")
        self.stop_button.setToolTip("Stop reading the file")
        self.stop_button.setAutoDefault(False)
        self.stop_button.clicked.connect(self.cancel_preview)
        self.busy_row = QWidget()
        busy = QHBoxLayout(self.busy_row)
        busy.setContentsMargins(0, 0, 0, 0)
        busy.addWidget(self.busy_label)
        busy.addWidget(self.busy_bar, 1)
        busy.addWidget(self.stop_button)
        self.busy_row.hide()

        self.summary_label = QLabel()
        self.summary_label.setObjectName("metadataSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem_label = QLabel()
        self.problem_label.setObjectName("metadataProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(ERROR_STYLE)
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem_label.hide()

        self.head_model = HeadModel(parent=self)
        self.table_view = QTableView()
        self.table_view.setObjectName("metadataHead")
        self.table_view.setModel(self.head_model)
        self.table_view.setToolTip("The first rows of the file; the row number is the item "
                                   "it describes")
        self.table_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table_view.setWordWrap(False)
        self.table_view.setAlternatingRowColors(True)
        self.table_view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        metrics = self.fontMetrics()
        header = self.table_view.horizontalHeader()
        header.setMaximumSectionSize(metrics.averageCharWidth() * COLUMN_CHARS)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table_view.verticalHeader().setDefaultSectionSize(int(metrics.height() * 1.5))
        self.table_view.setMinimumHeight(metrics.height() * 9)

        self.id_combo = QComboBox()
        self.id_combo.setToolTip("The column that identifies each item (unique values); None: "
                                 "items are numbered by their row")
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("Names items in lists and tooltips; None: the id column, "
                                    "else the text column")
        for combo in (self.id_combo, self.label_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumContentsLength(16)
        form = QFormLayout()
        form.addRow("&Id column:", self.id_combo)
        form.addRow("&Label column:", self.label_combo)
        for field_widget in (self.id_combo, self.label_combo):
            label = form.labelForField(field_widget)
            if label is not None:
                label.setToolTip(field_widget.toolTip())

        self.button_box = QDialogButtonBox()
        self.attach_button = self.button_box.addButton("&Attach",
                                                       QDialogButtonBox.ButtonRole.AcceptRole)
        self.attach_button.setToolTip("Attach the file's columns to the set's items (Enter)")
        cancel = self.button_box.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setToolTip("Close without attaching anything (Esc)")
        self.button_box.accepted.connect(self.accept)
        self.button_box.rejected.connect(self.reject)

        file_label = QLabel("&File:")
        file_label.setBuddy(self.path_edit)
        file_line = QHBoxLayout()
        file_line.addWidget(file_label)
        file_line.addLayout(file_row, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(file_line)
        layout.addWidget(self.busy_row)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.table_view, 1)
        layout.addLayout(form)
        layout.addWidget(self.button_box)
        # default once inside the dialog: a button made default before is not the dialog's
        self.attach_button.setDefault(True)
        self.path_edit.setFocus()
        self.setMinimumWidth(metrics.averageCharWidth() * 80)
        self.resize(metrics.averageCharWidth() * 120, metrics.height() * 36)

    # --- what the caller reads -------------------------------------------------
    def path(self) -> str | None:
        """The file whose preview is shown (None until one loaded)."""
        return self._preview.path if self._preview is not None else None

    def id_column(self) -> str | None:
        return self.id_combo.currentData() if self._preview is not None else None

    def label_column(self) -> str | None:
        return self.label_combo.currentData() if self._preview is not None else None

    def preview(self) -> MetadataPreview | None:
        """What was read of the file shown (its text column guess, its row count…)."""
        return self._preview

    def loading(self) -> bool:
        return self._job is not None

    # --- choosing a file -------------------------------------------------------
    def set_path(self, path: str) -> None:
        """Show `path` in the field and read it now (Browse…, a drop, the caller)."""
        self._typed_timer.stop()
        self.path_edit.setText(str(Path(path).expanduser()))
        self._load()

    def paths_dropped(self, paths: list[str]) -> None:
        self.set_path(paths[0])

    def _browse(self) -> None:
        current = self.path_edit.text().strip()
        start = str(Path(current).expanduser().parent) if current else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, f"Metadata for “{self.set_name}”", start,
                                              TABLE_FILTER)
        if path:
            self.set_path(path)

    def _typed(self, _text: str) -> None:
        """A typed path is read when the typing pauses; until then nothing can be attached."""
        self.jobs.cancel_kind("preview")
        self._job = None
        self._show(None)
        if self.path_edit.text().strip():
            self._typed_timer.start()
        else:
            self._typed_timer.stop()

    def _typed_done(self) -> None:
        """Enter in the field reads a typed path at once (a path already read is attached)."""
        if self._typed_timer.isActive():
            self._typed_timer.stop()
            self._load()

    def _load(self) -> None:
        path = self.path_edit.text().strip()
        self._show(None)
        if not path:
            return
        path = str(Path(path).expanduser())
        self.busy_label.setText(f"Reading {Path(path).name}…")
        self.busy_row.show()
        self.summary_label.hide()
        job: Job | None = None

        def done(preview: MetadataPreview) -> None:
            if job is self._job:  # (the runner keeps only the newest; a stopped one is dropped)
                self._job = None
                self._show(preview)
                self.previewLoaded.emit(preview)

        def failed(error: BaseException) -> None:
            if job is self._job:
                self._job = None
                self._show_error(error)
                self.previewFailed.emit(error)

        job = self.jobs.submit("preview", f"Reading {Path(path).name}", load_preview, path,
                               self.previewer, on_done=done, on_error=failed)
        self._job = job

    def cancel_preview(self) -> None:
        """Stop reading; the file's answer, should it come, is dropped."""
        if self._job is not None:
            self.jobs.cancel(self._job.id)
            self._job = None
        self.busy_row.hide()
        self.summary_label.setText("Reading stopped. Choose a file, or browse again.")
        self.summary_label.show()

    def _progress(self, job_id: int, fraction: float) -> None:
        if self._job is not None and job_id == self._job.id and fraction < 1.0:
            self.busy_bar.setRange(0, 1000)
            self.busy_bar.setValue(int(fraction * 1000))

    def _status(self, job_id: int, text: str) -> None:
        if self._job is not None and job_id == self._job.id:
            self.busy_label.setText(text + "…")

    def _finished(self, job_id: int) -> None:
        if self._job is not None and job_id == self._job.id:
            self.busy_row.hide()  # its result (if any) arrives right after, from the runner

    # --- showing ---------------------------------------------------------------
    def _show(self, preview: MetadataPreview | None) -> None:
        """Fill the summary, the table and the combos from `preview` (None: empty them)."""
        self._preview = preview
        self.busy_row.setVisible(self._job is not None)
        self.busy_bar.setRange(0, 0)
        self.problem_label.hide()
        self.summary_label.setVisible(self._job is None)
        if preview is None:
            self.summary_label.setText("Choose the file to see its first rows here.")
            self.head_model.set_table(None, [])
            self._fill_combos([], None, None)
        else:
            self.summary_label.setText(summary(preview, self.expected_rows))
            if preview.problem:
                self.problem_label.setText(problem_sentence(preview.problem))
                self.problem_label.show()
            self.head_model.set_table(preview.head, preview.types)
            self.table_view.resizeColumnsToContents()
            self._fill_combos(preview.columns, preview.id_column, preview.label_column)
        self._update()

    def _show_error(self, error: BaseException) -> None:
        self._show(None)
        self.summary_label.hide()
        self.problem_label.setText(error_text(error))
        self.problem_label.show()

    def _fill_combos(self, columns: list[str], id_guess: str | None,
                     label_guess: str | None) -> None:
        for combo, guess in ((self.id_combo, id_guess), (self.label_combo, label_guess)):
            combo.clear()
            combo.addItem(NO_COLUMN, None)
            for name in columns:
                combo.addItem(name, name)
            combo.setCurrentIndex(max(0, combo.findData(guess)) if guess is not None else 0)

    def _update(self) -> None:
        ok = self._preview is not None and not self._preview.problem
        self.attach_button.setEnabled(ok)
        for combo in (self.id_combo, self.label_combo):
            combo.setEnabled(ok)


def problem_sentence(problem: str) -> str:
    """The core says what is wrong with the file ("has 12 rows but …"): a sentence of it."""
    first = problem.split(" ", 1)[0].lower()
    text = problem if first in ("the", "this", "it", "its", "a", "an") else f"the file {problem}"
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def summary(preview: MetadataPreview, expected_rows: int) -> str:
    """"63,436 rows · 5 columns — matches the 63,436 vectors" (or the set's count beside it)."""
    rows, cols = preview.num_rows, len(preview.columns)
    text = f"{rows:,} row{'' if rows == 1 else 's'} · {cols:,} column{'' if cols == 1 else 's'}"
    vectors = f"{expected_rows:,} vector{'' if expected_rows == 1 else 's'}"
    if preview.problem is None and rows == expected_rows:
        return f"{text} — matches the {vectors}"
    return f"{text} — the set has {vectors}"
