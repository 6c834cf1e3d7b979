"""The main window: the map in the centre, every other panel a dock around it; file opening,
library, sessions, status bar with progress/cancel.

What the library panel asks for a set (rename, remove, label column, metadata, model,
re-import) and what an import offers afterwards (metadata for vectors alone, the model)
are `LibraryActions`' (library_actions.py). A table of text without vectors opens the
Encode dialog on its text column.

The layout is built from the panels' default areas (`Panel.area`): the left column holds
the library above the item and analysis panels (tabbed), the bottom area the table with
wide analyses (compression) tabbed beside it, which get room when brought forward. The
user's layout is remembered per screen size; View ▸ Reset Layout rebuilds the default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QWidget)

from explorer import __version__, plugins
from explorer.compute.cluster.encode_ray import Engine, encode_with
from explorer.compute.encoding.pipeline import EncodeOptions, EncodeResult
from explorer.core.checks import check_set
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.import_options import ImportOptions
from explorer.core.jobs import Cancelled
from explorer.core.library import Library
from explorer.core.loaders import LoadOptions, formats, open_file
from explorer.core.loaders.columns import ENCODE_OPTION
from explorer.core.metadata_files import has_metadata
from explorer.core.session import is_session_path
from explorer.ui import settings as ui_settings
from explorer.ui.dialogs.encode_dialog import EncodeDialog, skipped_box
from explorer.ui.dialogs.messages import ask_choice, ask_drop_nonfinite, error_box, warnings_box
from explorer.ui.images import ImageActions
from explorer.ui.layout import FIRST_SIZE, DockLayout
from explorer.ui.library_actions import LibraryActions
from explorer.ui.panels.base import Panel, PanelContext
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.panels import catalogue
from explorer.ui.panels.library import model_shown
from explorer.ui.session import SessionManager
from explorer.ui.state import AppState
from explorer.ui.widgets.file_drops import FileDrops
from explorer.ui.workers import Job, JobRunner


class JobStatus(QWidget):
    """Status-bar widget: what runs, how far it is, and a button to stop it (Esc).

    It follows the newest job, except `quiet` kinds (the library's look at the disk after a
    change elsewhere, which the user did not ask for); when that one ends, the job still
    running before it is shown again with its latest status."""

    def __init__(self, jobs: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._job: Job | None = None
        self.quiet: set[str] = set()  # job kinds never shown here
        self._texts: dict[int, str] = {}  # each running job's latest status
        jobs.jobStarted.connect(self._started)
        jobs.jobProgress.connect(self._progress)
        jobs.jobStatus.connect(self._status)
        jobs.jobFinished.connect(self._finished)
        # quick jobs finish before the bar would be worth showing
        self._show_timer = QTimer(self, singleShot=True, interval=150)
        self._show_timer.timeout.connect(lambda: self.setVisible(self._job is not None))
        self.hide()

    def cancel(self) -> None:
        if self._job is not None:
            self.jobs.cancel(self._job.id)

    def _started(self, job: Job) -> None:
        if job.kind in self.quiet:
            return
        self._job = job
        self.label.setText(job.label + "…")
        self.bar.setValue(0)
        self._show_timer.start()

    def _progress(self, job_id: int, fraction: float) -> None:
        if self._job is not None and job_id == self._job.id:
            self.bar.setValue(int(fraction * 1000))

    def _status(self, job_id: int, text: str) -> None:
        self._texts[job_id] = text
        if self._job is not None and job_id == self._job.id:
            self.label.setText(text + "…")

    def _finished(self, job_id: int) -> None:
        self._texts.pop(job_id, None)
        if self._job is not None and job_id == self._job.id:
            running = [job for job in self.jobs.running() if job.kind not in self.quiet]
            self._job = running[-1] if running else None
            if self._job is None:
                self.hide()
            else:
                self.label.setText(self._texts.get(self._job.id, self._job.label) + "…")


class MainWindow(FileDrops, QMainWindow):
    def __init__(self, library: Library | None = None, restore: bool = True,
                 panels: Sequence[type[Panel]] | None = None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.library = library or Library()
        self.state = AppState()
        # a third worker, so a long encode job never holds up opening sets or the views' jobs
        self.jobs = JobRunner(max_workers=3, parent=self)
        self.jobs.jobFailed.connect(lambda job, err: self.show_error(err))
        # the window's own jobs (opening, importing, encoding) take the panels' path too:
        # kinds "window:open", "window:encode"; they outlive a change of set
        self.window_jobs = PanelJobs("window", self.jobs, self.state, self.show_error, parent=self)
        self.setWindowTitle("Embedding Explorer")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.setDocumentMode(True)
        self.resize(*FIRST_SIZE)
        self.last_dialog: QMessageBox | None = None
        self._queue: list[str] = []  # files waiting to be opened, one job at a time
        self.encode_dialog: EncodeDialog | None = None
        self._last_encode: tuple[list[str], EncodeOptions] | None = None  # pre-fills the next
        self._last_engine = Engine()  # where the last encoding ran: the next dialog offers it
        self.last_encode: EncodeResult | None = None

        context = PanelContext(self.state, self.jobs, self.library)
        # the registry's panels (built-ins first, then plugins'; a broken plugin's is left
        # out and reported in Help ▸ Plugins), or the caller's own list
        built = catalogue.build(context, panels)
        self.panels: dict[str, Panel] = {panel.key: panel for panel in built.panels}
        self.table_view = self.panels["table"]
        self.library_view = self.panels["library"]
        self.item_view = self.panels["item"]
        self.map_view = self.panels["map"]
        self.neighbours_view = self.panels["neighbours"]
        self.concepts_view = self.panels["concepts"]
        self.compression_view = self.panels["compression"]
        self.state.viewRequested.connect(self.show_view)
        self.state.openSetRequested.connect(self.open_library_set)
        self.state.libraryChanged.connect(lambda _id: self.refresh_library())
        # rename, remove, label column, metadata, model... of the library's sets
        self.library_actions = LibraryActions(
            self, self.library, self.state, self.window_jobs, self.jobs, self.library_view,
            lambda text, ms: self.statusBar().showMessage(text, ms))
        self.library_actions.shownSetRenamed.connect(
            lambda: self._set_changed(self.state.embedding_set))
        self.storage_dialog = None  # File ▸ Library Storage…, while open
        # each set's thumbnails, View ▸ Images… (choose the image column, build them)
        self.image_actions = ImageActions(self, self.library, self.state, self.window_jobs,
                                          lambda text, ms: self.statusBar().showMessage(text, ms))

        self.dock_layout = DockLayout(self, self.panels)
        centre = self.dock_layout.centre
        self.setCentralWidget(centre if centre is not None else QWidget())
        self.docks: dict[str, QDockWidget] = self.dock_layout.docks
        self.dock_layout.reset()

        self.job_status = JobStatus(self.jobs)
        self.job_status.quiet.update((self.library_view.jobs.kind("watch"),
                                      self.window_jobs.kind("images")))
        self.job_status.cancel_button.clicked.connect(self._queue.clear)
        # the set's summary stays on the right, so a passing message never overlaps it
        self.set_info = QLabel()
        self.statusBar().addPermanentWidget(self.set_info)
        self.statusBar().addPermanentWidget(self.job_status)
        self.sessions = SessionManager(self)
        self._build_menus()
        self.state.setChanged.connect(self._set_changed)
        self.state.selectionChanged.connect(self._selection_changed)
        self.refresh_library()
        if restore:
            self.dock_layout.restore_saved()
        self._report_plugin_problems()

    # --- layout ----------------------------------------------------------------
    def reset_layout(self) -> None:
        """View ▸ Reset Layout: every panel back in its default place and size."""
        self.dock_layout.reset()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self.dock_layout.sized:
            self.dock_layout.default_sizes()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.dock_layout.window_resized()

    def show_view(self, key: str) -> None:
        """Bring a panel forward, or the panel holding the tab `key` with that tab shown."""
        if key not in self.panels:
            holder = next((p for p in self.panels.values() if key in p.tab_keys), None)
            if holder is None:
                return
            holder.show_tab(key)
            key = holder.key
        if key not in self.docks:  # the centre panel is always in view
            self.panels[key].setFocus()
            return
        dock = self.docks[key]
        dock.show()
        dock.raise_()

    def find_neighbours(self) -> None:
        """Ctrl+N: neighbours of the current item (or of the selection's centroid)."""
        self.show_view("neighbours")
        self.neighbours_view.find_for_current()

    def save_layout(self) -> None:
        self.dock_layout.save()

    def cancel_jobs(self) -> None:
        """Esc / Cancel: stop the running job and forget files still waiting to open."""
        self._queue.clear()
        self.job_status.cancel()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.jobs.shutdown()
        super().closeEvent(event)

    # --- menus -----------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        act = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open,
                      statusTip="Open an embedding file and add it to the library")
        act.triggered.connect(self.open_dialog)
        file_menu.addAction(act)
        act = QAction("Open &Folder of Shards…", self,
                      statusTip="Open a folder of Parquet or Arrow shards with a vector column as "
                                "one set (kept in place when the vectors would not fit)")
        act.setObjectName("openShardsAction")
        act.triggered.connect(self.open_shards_dialog)
        file_menu.addAction(act)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._fill_recent_menu()
        act = QAction("Open &Demo", self, statusTip="Python standard library docstrings, embedded offline")
        act.triggered.connect(self.open_demo)
        file_menu.addAction(act)
        act = QAction("&Encode Files…", self, shortcut=QKeySequence("Ctrl+E"),
                      statusTip="Encode text files, a table's text column or images with an "
                                "ONNX model into a new set")
        act.triggered.connect(lambda: self.open_encode_dialog())
        file_menu.addAction(act)
        act = QAction("Library &Storage…", self,
                      statusTip="What the library holds on disk, and freeing what no set needs")
        act.setObjectName("storageAction")
        act.triggered.connect(self.show_storage)
        file_menu.addAction(act)
        file_menu.addSeparator()
        act = QAction("Open Sess&ion…", self, shortcut=QKeySequence("Ctrl+Shift+O"),
                      statusTip="Reopen a saved working state: set, selection, map, views, layout")
        act.triggered.connect(self.sessions.open_dialog)
        file_menu.addAction(act)
        act = QAction("&Save Session…", self, shortcut=QKeySequence("Ctrl+Shift+S"),
                      statusTip="Save the working state (set, selection, map, views, layout) "
                                "to a small file")
        act.triggered.connect(self.sessions.save_dialog)
        file_menu.addAction(act)
        file_menu.addSeparator()
        act = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        act.triggered.connect(self.close)
        file_menu.addAction(act)

        edit = self.menuBar().addMenu("&Edit")
        act = QAction("&Clear Selection", self, shortcut=QKeySequence("Ctrl+Shift+A"))
        act.triggered.connect(lambda: self.state.select([]))
        edit.addAction(act)
        act = QAction("&Filter…", self, shortcut=QKeySequence("Ctrl+L"))
        act.triggered.connect(lambda: (self.show_view("table"), self.table_view.focus_filter()))
        edit.addAction(act)
        act = QAction("&Search…", self, shortcut=QKeySequence.StandardKey.Find)
        act.triggered.connect(lambda: (self.show_view("table"), self.table_view.focus_search()))
        edit.addAction(act)
        act = QAction("Find &Neighbours", self, shortcut=QKeySequence("Ctrl+N"),
                      statusTip="Nearest neighbours of the current item, or of the selection's "
                                "centroid, in the original space")
        act.triggered.connect(self.find_neighbours)
        edit.addAction(act)
        act = QAction("Co&mpare Metrics", self, shortcut=QKeySequence("Ctrl+Shift+N"),
                      statusTip="Cosine, dot and L2 neighbours of the query side by side")
        act.triggered.connect(lambda: self.show_view("compare"))
        edit.addAction(act)
        act = QAction("Cancel &Job", self, shortcut=QKeySequence(Qt.Key.Key_Escape))
        act.triggered.connect(self.cancel_jobs)
        edit.addAction(act)

        view = self.menuBar().addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        for number, key in enumerate(("map", "table", "neighbours", "item", "library"), start=1):
            if key in self.panels:
                act = QAction(f"Go to {self.panels[key].title}", self,
                              shortcut=QKeySequence(f"Ctrl+{number}"))
                act.triggered.connect(lambda _c=False, k=key: self.show_view(k))
                view.addAction(act)
        view.addSeparator()
        self.image_actions.add_to(view)
        act = QAction("&Reset Layout", self, statusTip="Every panel back in its place and size")
        act.setObjectName("resetLayoutAction")
        act.triggered.connect(self.reset_layout)
        view.addAction(act)

        help_menu = self.menuBar().addMenu("&Help")
        act = QAction("Supported &Formats", self)
        act.triggered.connect(self._show_formats)
        help_menu.addAction(act)
        act = QAction("&Plugins…", self)
        act.setObjectName("pluginsAction")
        act.triggered.connect(self.show_plugins)
        help_menu.addAction(act)
        act = QAction("&About", self)
        act.triggered.connect(lambda: QMessageBox.about(
            self, "About Embedding Explorer",
            f"<b>Embedding Explorer</b> {__version__}<br>Library: {self.library.root}"))
        help_menu.addAction(act)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = ui_settings.recent_files()
        for path in recent:
            self.recent_menu.addAction(path, lambda p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(recent))

    def _show_formats(self) -> None:
        rows = "".join(f"<tr><td>{' '.join(f.extensions)}</td><td>{f.description}</td></tr>"
                       for f in formats())
        QMessageBox.information(self, "Supported formats", f"<table>{rows}</table>")

    def _report_plugin_problems(self) -> None:
        """A broken plugin never stops the app, but it should not go unnoticed either."""
        problems = plugins.registry().problems
        if problems:
            self.statusBar().showMessage(
                f"{problems} plugin problem{'s' if problems > 1 else ''}: "
                "Help ▸ Plugins says what and where", 30000)

    def show_plugins(self) -> None:
        from explorer.ui.dialogs.plugins_dialog import PluginsDialog

        self.plugins_dialog = PluginsDialog(self)
        self.plugins_dialog.open()

    # --- drag and drop ---------------------------------------------------------
    def paths_dropped(self, paths: list[str]) -> None:
        self.open_paths(paths)

    # --- opening ---------------------------------------------------------------
    def open_dialog(self) -> None:
        patterns = " ".join(f"*{ext}" for f in formats() for ext in f.extensions)
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open embeddings", str(Path.home()),
            f"Embedding files ({patterns});;All files (*)")
        if paths:
            self.open_paths(paths)

    def open_shards_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of shards",
                                                  str(Path.home()))
        if folder:
            self.open_paths([folder])

    def open_paths(self, paths: list[str], options: LoadOptions | None = None) -> None:
        """Open files one after another: known files reopen from the library, new ones import.

        A session file among them is opened instead, since it names its own set; a folder
        is a set's shards (or, holding none, files to encode)."""
        sessions = [p for p in paths if is_session_path(p)]
        if sessions:
            self._queue.clear()
            self.sessions.open(sessions[0])
            return
        self._queue[:] = paths[1:]  # a new request replaces whatever was still waiting
        self._open_path(paths[0], options or LoadOptions())

    def _open_next(self) -> None:
        if self._queue:
            self._open_path(self._queue.pop(0), LoadOptions())

    def _open_path(self, path: str, options: LoadOptions) -> None:
        if Path(path).is_dir():
            self._open_shards(path)
        else:
            self._open_file(path, options)

    def _open_shards(self, folder: str) -> None:
        """A folder's shards as one set: reopened when unchanged, copied into the library
        when the vectors fit, else kept in place (a sharded set); a folder with no shard
        files is offered to the Encode dialog instead."""
        library = self.library
        name = Path(folder).name

        def work(state) -> EmbeddingSet | None:
            from explorer.core.loaders.shard_files import SUFFIXES
            from explorer.core.shard_import import import_shards

            if not any(p.suffix.lower() in SUFFIXES for p in Path(folder).iterdir()
                       if p.is_file()):
                return None
            return library.open(import_shards(library, [folder], state=state).id)

        def done(es: EmbeddingSet | None) -> None:
            if es is not None:
                self._library_set_opened(es)
                return
            self.statusBar().showMessage(f"{name} holds no vector shards: choose a model to "
                                         "encode its files into a new set", 30000)
            self.open_encode_dialog([folder])
            self._open_next()

        self.window_jobs.submit("open", f"Reading the shards in {name}", work, on_done=done,
                                on_error=self._open_failed, set_bound=False)

    def _open_file(self, path: str, options: LoadOptions) -> None:
        library = self.library
        resolved = str(Path(path).expanduser().resolve())
        # rows with NaN are dropped only when the user says so, and a stored copy means they did
        wanted = ImportOptions.from_load(options, drop_nonfinite=True)

        def work(state):
            known = library.find_reusable(resolved, wanted)
            if known is not None:
                return known, None, None
            es = open_file(path, options, state.sub(0, 0.5))
            state.status("Checking vectors")
            return None, es, check_set(es, state.sub(0.5, 1))

        def done(result) -> None:
            known, es, report = result
            ui_settings.add_recent_file(resolved)
            self._fill_recent_menu()
            if known is not None:
                self.statusBar().showMessage(
                    f"{Path(path).name} is unchanged and already in the library as "
                    f"“{known.name}”: reopened, not imported again", 8000)
                self._load_library_set(known.id)
            else:
                self._import(path, es, report, ImportOptions.from_load(options))

        def failed(error: BaseException) -> None:
            if isinstance(error, InputError) and error.option == ENCODE_OPTION:
                self._encode_table(path, error)
                return
            if isinstance(error, InputError) and error.choices and error.option:
                choice = ask_choice(self, error)
                if choice is not None:
                    self._open_file(path, dataclasses.replace(options, **{error.option: choice}))
                    return
            self._open_failed(error)

        self.window_jobs.submit("open", f"Reading {Path(path).name}", work, on_done=done,
                                on_error=failed, set_bound=False)

    def _open_failed(self, error: BaseException) -> None:
        self.show_error(error)
        self._open_next()

    def _encode_table(self, path: str, error: InputError) -> None:
        """A table with text but no vectors: the Encode dialog, with the file and its best
        text column filled in, makes a set of it."""
        column = error.choices[0] if error.choices else None
        self.statusBar().showMessage(
            f"{Path(path).name} holds text but no vectors: choose a model to encode "
            + (f"its “{column}” column" if column else "it") + " into a new set", 30000)
        self.open_encode_dialog([path], column=column)
        self._open_next()

    def _import(self, path: str, es: EmbeddingSet, report, options: ImportOptions) -> None:
        drop = False
        if report.scan.nan_rows:
            if not ask_drop_nonfinite(self, path, report):
                self.statusBar().showMessage(f"{Path(path).name} was not imported", 8000)
                self._open_next()
                return
            drop = True
        library = self.library

        def work(state) -> tuple[EmbeddingSet, bool]:
            entry = library.import_set(es, drop_nonfinite=drop, report=report, options=options,
                                       state=state)
            stored = library.open(entry.id)
            return stored, has_metadata(stored)

        def done(result: tuple[EmbeddingSet, bool]) -> None:
            stored, described = result
            self.refresh_library(stored.library_id)
            self.state.set_set(stored)
            more = bool(self._queue)

            def offer() -> None:  # what the set lacks: metadata, its model
                self.library_actions.after_import(stored, described, path, more)

            box = warnings_box(self, path, report)
            if box is not None:
                self.last_dialog = box
                box.finished.connect(lambda _r: offer())  # one question at a time
            else:
                offer()
            self._open_next()

        self.window_jobs.submit("open", f"Importing {Path(path).name}", work, on_done=done,
                                on_error=self._open_failed, set_bound=False)

    def open_library_set(self, set_id: str) -> None:
        self._queue.clear()
        self._load_library_set(set_id)

    def _load_library_set(self, set_id: str) -> None:
        library = self.library
        self.window_jobs.submit("open", "Opening set", lambda state: library.open(set_id),
                                on_done=self._library_set_opened, on_error=self._open_failed,
                                set_bound=False)

    def _library_set_opened(self, es: EmbeddingSet) -> None:
        self.state.set_set(es)
        self.refresh_library(es.library_id)
        self._open_next()

    def open_demo(self) -> None:
        self._queue.clear()
        library = self.library

        def work(state) -> EmbeddingSet:
            from explorer.compute.demo import ensure_demo

            return library.open(ensure_demo(library, state).id)

        self.window_jobs.submit("open", "Building the demo set", work,
                                on_done=self._library_set_opened, on_error=self._open_failed,
                                set_bound=False)

    # --- encoding --------------------------------------------------------------
    def open_encode_dialog(self, inputs: list[str] | None = None, model: str | None = None,
                           column: str | None = None) -> EncodeDialog:
        """File ▸ Encode Files…, filled in with the last job, so a cancelled one resumes;
        `column`: the text column of a table to encode."""
        last_inputs, last_options = self._last_encode or (None, None)
        dialog = EncodeDialog(self, inputs=inputs if inputs is not None else last_inputs,
                              model=model, options=last_options, column=column,
                              engine=self._last_engine)
        dialog.accepted.connect(lambda: self.start_encode(dialog.inputs(), dialog.options(),
                                                          dialog.job_label(), dialog.engine()))
        dialog.finished.connect(lambda _r: self._encode_dialog_closed(dialog))
        self.encode_dialog = dialog
        dialog.open()
        return dialog

    def _encode_dialog_closed(self, dialog: EncodeDialog) -> None:
        if self.encode_dialog is dialog:
            self.encode_dialog = None
        dialog.deleteLater()

    def start_encode(self, paths: list[str], options: EncodeOptions, label: str,
                     engine: Engine | None = None) -> Job:
        """Encode in the background (job kind "encode", apart from "open"); the new set opens.
        `engine`: here (default) or on Ray."""
        library = self.library
        engine = engine or Engine()
        self._last_encode = (list(paths), options)
        self._last_engine = engine
        if self.window_jobs.running("encode"):
            self.statusBar().showMessage("The running encoding job was stopped; run it again to "
                                         "resume", 10000)

        def work(state) -> EncodeResult | None:
            try:
                return encode_with(engine, paths, options, library, state)
            except Cancelled:
                return None  # its work folder stays: the same job resumes after its last window

        return self.window_jobs.submit("encode", label, work, on_done=self._encoded,
                                       on_error=self._encode_failed, set_bound=False)

    def _encoded(self, result: EncodeResult | None) -> None:
        if result is None:
            self.statusBar().showMessage("Encoding cancelled; run it again to resume "
                                         "(File ▸ Encode Files…)", 30000)
            return
        self.last_encode = result
        self._last_encode = None  # done: the next dialog starts afresh
        self.refresh_library(result.entry.id)
        # Notices say what the job found on its way (damaged resume work redone, a wait for
        # another run of the same job): worth a longer look than the usual summary.
        notes = "".join(f" · {note}" for note in result.notices)
        self.statusBar().showMessage(
            f"Encoded {result.count:,} items into “{result.entry.name}” in "
            f"{result.seconds:,.0f} s ({result.items_per_second:,.0f}/s){notes}",
            60000 if notes else 15000)
        self._load_library_set(result.entry.id)
        if result.skipped:
            self.last_dialog = skipped_box(self, result.skipped)

    def _encode_failed(self, error: BaseException) -> None:
        self.last_dialog = error_box(self, error, "Cannot encode")

    def refresh_library(self, current: str | None = None) -> None:
        """The library panel lists the sets again (and measures them in its own job)."""
        self.library_view.refresh(current)

    def show_storage(self) -> None:
        from explorer.ui.dialogs.storage_dialog import StorageDialog

        dialog = StorageDialog(self.library, self)
        dialog.libraryChanged.connect(lambda: self.refresh_library(
            self.state.embedding_set.library_id if self.state.embedding_set else None))
        dialog.finished.connect(lambda _r: self._storage_closed(dialog))
        self.storage_dialog = dialog
        dialog.open()

    def _storage_closed(self, dialog) -> None:
        if self.storage_dialog is dialog:
            self.storage_dialog = None
        dialog.deleteLater()

    def show_error(self, error: BaseException) -> None:
        self.last_dialog = error_box(self, error)

    # --- state -----------------------------------------------------------------
    def _set_changed(self, es: EmbeddingSet | None) -> None:
        if es is None:
            self.setWindowTitle("Embedding Explorer")
            self.set_info.setText("")
            self.set_info.setToolTip("")
            return
        self.setWindowTitle(f"{es.name} — Embedding Explorer")
        self._update_info()

    def _selection_changed(self, rows, _source) -> None:
        self._update_info()

    def _update_info(self) -> None:
        es = self.state.embedding_set
        if es is None:
            return
        text = f"{es.name}: {es.count:,} × {es.dim}  ·  {es.metric}"
        model, why = model_shown(es.model, es.model_check)
        if es.model:
            text += f"  ·  {model}"
        self.set_info.setToolTip(why)
        if len(self.state.selection):
            text += f"  ·  {len(self.state.selection):,} selected"
        self.set_info.setText(text)
