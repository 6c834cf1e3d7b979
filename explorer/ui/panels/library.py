"""The library panel: every stored set with its size on disk, dimension and model.

Damaged sets are listed too (greyed, with what is wrong), so they can be removed
from here instead of only from a terminal. Sizes on disk come later than the list:
`refresh` lists the manifests at once and measures the sets in a background job.
Columns that do not fit the panel's width are hidden (last first), so the name is
never squeezed; everything is in the name's tooltip.

The list is live: a file-system watcher on the sets folder and on each set's folder
(whose manifest a rename, a new model or label column, or attached metadata rewrites)
lists the sets again shortly after something changes there, whoever changed it (the
CLI, another window). A burst of events (an import's temporary folders) gives one
look, made in a job; the list is only rebuilt when a set folder or one of a set's own
files really changed, so the panel's own measuring, or a view writing its caches into
`artifacts/`, never makes it list again.

The context menu asks for changes through signals; the window's `LibraryActions` runs
them, since they open dialogs and change the set the window shows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QBrush, QColor, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from explorer.core.library import METADATA, VECTORS, Library
from explorer.core.manifest import MANIFEST, DamagedSet, LibraryEntry
from explorer.core.model_check import ModelCheck
from explorer.core.storage import human_bytes
from explorer.ui.panels.base import Area, Panel, PanelContext

COLUMNS = ("Name", "Size", "Items", "Dim", "Model", "Metric", "Imported")  # what fits first
SIZE = COLUMNS.index("Size")
SHARDED_TIP = "sharded: the vectors stay in their {shards} shard files, read in place"
MODEL = COLUMNS.index("Model")
KEY = Qt.ItemDataRole.UserRole  # the set's id, on column 0
SORT = Qt.ItemDataRole.UserRole + 1  # the number a numeric column sorts by
_DAMAGED = QColor(150, 40, 40)
NAME_ROOM = 150  # px the name keeps before other columns are hidden
ROWS_WANTED = (4, 8)  # the panel asks for room for its sets (and one more), within these rows
WATCH_DELAY_MS = 200  # a burst of file events gives one look, this long after its first event
AUTOMATIC_LABEL = "Automatic (id, else text)"


def model_shown(model: str | None, check: ModelCheck | None) -> tuple[str, str]:
    """The model as lists show it ("minilm", "minilm ?" when not known to have made the
    vectors) and a tooltip saying why, so a claim is never shown as a fact."""
    if not model:
        return "—", "No model recorded: text queries are off (Set's model… names one)"
    name = model.split(" (sha256 ")[0]
    name = Path(name).name if "/" in name else name
    if check is None:
        if " (sha256 " in model:
            return name, f"{model}\nMade by this model here"
        return f"{name} ?", (f"{model}\nNot checked: the name was recorded as given, never "
                             "compared with the vectors (Set's model… checks it)")
    if check.verified:
        return name, (f"{model}\nChecked: its encoding of {check.sampled} sampled texts has "
                      f"median cosine {check.median_cosine:.3f} with the stored vectors")
    if check.verified is False:
        why = check.reason or "it did not match the vectors"
        return f"{name} ?", f"{model}\nUnverified: {why}; text queries stay off"
    return f"{name} ?", f"{model}\nNot checked: {check.reason or 'nothing to compare it with'}"


@dataclass(frozen=True)
class DiskState:
    """How the library looked on disk when listed, and the folders to watch for changes."""

    signature: tuple
    folders: tuple[str, ...]


def disk_state(library: Library) -> DiskState:
    """The set folders and the stamps of their own files (job side: it reads the disk).

    Until the sets folder exists, the nearest existing folder above it is watched, so the
    first import (from the CLI, say) is still seen."""
    sets = library.sets_dir
    if not sets.is_dir():
        above = next((p for p in sets.parents if p.is_dir()), None)
        return DiskState(("no sets folder",), (str(above),) if above is not None else ())
    signature, folders = [], [str(sets)]
    try:
        children = sorted(sets.iterdir())
    except OSError:
        children = []
    for child in children:
        if child.name.startswith(".") or not child.is_dir():
            continue  # partial imports and removals in progress: their end renames a folder
        folders.append(str(child))
        signature.append((child.name, *(_stamp(child / name)
                                        for name in (MANIFEST, VECTORS, METADATA))))
    return DiskState(tuple(signature), tuple(folders))


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class _Item(QTreeWidgetItem):
    """Numbers sort as numbers (a size not yet measured sorts first), text case-blind."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else 0
        mine, theirs = self.data(column, SORT), other.data(column, SORT)
        if mine is not None or theirs is not None:
            return (mine if mine is not None else -1) < (theirs if theirs is not None else -1)
        return self.text(column).casefold() < other.text(column).casefold()


class LibraryView(Panel):
    key = "library"
    title = "Library"
    area = Area.LEFT
    removeRequested = Signal(str)  # library id, or the folder name of a damaged set
    renameRequested = Signal(str)
    modelRequested = Signal(str)  # Set's model…
    labelColumnRequested = Signal(str, object)  # set id, column (None: automatic)
    attachRequested = Signal(str)  # Attach metadata…
    reimportRequested = Signal(str)
    revealRequested = Signal(str)  # a set's folder (damaged ones too)
    listed = Signal()  # the list was rebuilt (by a refresh or a change seen on disk)

    def __init__(self, context: PanelContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(COLUMNS.index("Imported"), Qt.SortOrder.DescendingOrder)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setMinimumSectionSize(36)
        self.tree.itemActivated.connect(self._activated)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.setToolTip("Double-click or Enter opens a set; right-click for its name, "
                             "model, label column, metadata, folder or removal")
        self.tree.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.entries: dict[str, LibraryEntry] = {}
        self.damaged: dict[str, DamagedSet] = {}
        self._build_key_actions()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.error_line)
        layout.addWidget(self.tree)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._disk_changed)
        self.watch_timer = QTimer(self, singleShot=True, interval=WATCH_DELAY_MS)
        self.watch_timer.timeout.connect(self.look_again)
        self._signature: tuple | None = None  # of the disk state the list shows

    def _build_key_actions(self) -> None:
        """Open (Enter), Rename (F2) and Remove (Delete) act on the selected set; they are
        in its context menu too, showing their keys."""
        def action(text: str, key: QKeySequence, tip: str, slot) -> QAction:
            act = QAction(text, self.tree, shortcut=key, toolTip=tip, statusTip=tip)
            act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            act.triggered.connect(slot)
            self.tree.addAction(act)
            return act

        self.open_action = action("Open", QKeySequence(Qt.Key.Key_Return),
                                  "Show this set in every view", self._open_selected)
        self.rename_action = action("Rename…", QKeySequence(Qt.Key.Key_F2),
                                    "Give the set another name (not its folder's)",
                                    lambda: self._emit_selected(self.renameRequested))
        self.remove_action = action("Remove…", QKeySequence(QKeySequence.StandardKey.Delete),
                                    "Delete the set from the library, after asking; the "
                                    "original file is not touched",
                                    lambda: self._emit_selected(self.removeRequested, True))
        self._selection_changed()

    # --- listing ---------------------------------------------------------------
    def refresh(self, current: str | None = None) -> None:
        """List the sets now (their manifests); measure them and check their files in a
        job, then show the sizes and any set whose files turn out damaged."""
        entries, damaged = self.panel_context.library.scan()
        self.set_entries(entries, current, damaged)
        self._measure()

    def _measure(self) -> None:
        library = self.panel_context.library

        def measure(state):
            from explorer.compute.library_storage import library_usage

            disk = disk_state(library)
            checked = library.scan(read_files=True)
            return checked, library_usage(library, state), disk

        def measured(result) -> None:
            (good, broken), report, disk = result
            # what changed since the list was made is shown too (the watcher's next look
            # compares with the disk as measured here)
            if good != list(self.entries.values()) or [d.id for d in broken] != list(self.damaged):
                self.set_entries(good, None, broken)
            self.set_sizes({s.id: s.total for s in report.sets})
            self._watch(disk)

        self.error_line.clear_error()
        self.jobs.submit("measure", "Measuring the library", measure, on_done=measured,
                         set_bound=False)

    def look_again(self) -> None:
        """Something changed on disk: list the sets again (in a job) if a set did change."""
        library = self.panel_context.library

        def look(state):
            disk = disk_state(library)
            return library.scan(), disk

        def looked(result) -> None:
            (entries, damaged), disk = result
            changed = disk.signature != self._signature
            self._watch(disk)
            if changed:  # else only caches or temporary folders changed
                self.set_entries(entries, None, damaged)
                self._measure()

        self.jobs.submit("watch", "Looking at the library", look, on_done=looked,
                         set_bound=False)

    def _disk_changed(self, _path: str) -> None:
        if not self.watch_timer.isActive():  # the first event of a burst starts the wait
            self.watch_timer.start()

    def _watch(self, disk: DiskState) -> None:
        """Watch the folders `disk` names (new set folders too), and no others.

        A folder newly watched may have changed between the job's look and now, unseen:
        one more look follows, which finds the same folders and ends there."""
        self._signature = disk.signature
        watched = set(self.watcher.directories())
        wanted = set(disk.folders)
        if watched - wanted:
            self.watcher.removePaths(sorted(watched - wanted))
        new = sorted(wanted - watched)
        # a folder gone meanwhile (or past the system's limit of watches) is not watched
        if new and len(self.watcher.addPaths(new)) < len(new):
            self._disk_changed("")

    def set_entries(self, entries: list[LibraryEntry], current: str | None = None,
                    damaged: list[DamagedSet] = ()) -> None:
        """Show these sets; `current` selected and in view, else the selection kept, and the
        list scrolled where it was."""
        tree = self.tree
        sizes = {tree.topLevelItem(i).data(0, KEY): tree.topLevelItem(i).data(SIZE, SORT)
                 for i in range(tree.topLevelItemCount())}
        selected = current or self.selected_id()
        top = tree.itemAt(0, 0)  # the row at the top stays there, wherever new rows land
        anchor = top.data(0, KEY) if top is not None else None
        offset = tree.visualItemRect(top).top() if top is not None else 0
        tree.blockSignals(True)  # clearing is no change of selection worth reporting
        tree.setSortingEnabled(False)
        tree.clear()
        chosen: QTreeWidgetItem | None = None
        self.entries = {e.id: e for e in entries}
        for e in entries:
            item = self._entry_item(e)
            tree.addTopLevelItem(item)
            if sizes.get(e.id) is not None:
                self._show_size(item, sizes[e.id])
            if e.id == selected:
                chosen = item
        self.damaged = {d.id: d for d in damaged}
        for d in damaged:
            short = d.reason.split(" (")[0]  # the whole reason is in the tooltip
            item = _Item([f"{d.id} — damaged: {short}"] + [""] * (len(COLUMNS) - 1))
            item.setData(0, KEY, d.id)
            item.setForeground(0, QBrush(_DAMAGED))
            item.setToolTip(0, f"{d.path}\n{d.reason}\nRight-click to remove it from the library")
            tree.addTopLevelItem(item)
            item.setFirstColumnSpanned(True)
            if d.id == selected:
                chosen = item
        tree.setSortingEnabled(True)
        if chosen is not None:
            tree.setCurrentItem(chosen)
        tree.blockSignals(False)
        self._selection_changed()
        self._fit_columns()
        if current is not None and chosen is not None:
            tree.scrollToItem(chosen)
        else:
            kept = self._item(anchor) if anchor is not None else None
            if kept is not None:
                bar = tree.verticalScrollBar()
                bar.setValue(bar.value() + tree.visualItemRect(kept).top() - offset)
        self.listed.emit()

    def _entry_item(self, e: LibraryEntry) -> _Item:
        model, model_tip = model_shown(e.model, e.check)
        item = _Item([e.name, "…", f"{e.count:,}", str(e.dim), model, e.metric,
                      e.created[:16].replace("T", " ")])
        item.setData(0, KEY, e.id)
        item.setData(COLUMNS.index("Items"), SORT, e.count)
        item.setData(COLUMNS.index("Dim"), SORT, e.dim)
        for col in (SIZE, COLUMNS.index("Items"), COLUMNS.index("Dim")):
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(MODEL, model_tip)
        tip = [f"id: {e.id}", f"{e.count:,} × {e.dim}, {e.metric}, model {model}",
               f"imported: {e.created[:16].replace('T', ' ')}",
               f"source: {', '.join(e.source) or '—'}", f"format: {e.format}"]
        if e.sharded:
            tip.insert(2, SHARDED_TIP.format(shards=len(e.shards or [])))
        if e.zero_rows:
            tip.append(f"{e.zero_rows} all-zero rows")
        if e.nan_rows_dropped:
            tip.append(f"{e.nan_rows_dropped} NaN/Inf rows dropped on import")
        tip += e.notes
        item.setToolTip(0, "\n".join(tip))
        return item

    def set_sizes(self, sizes: dict[str, int]) -> None:
        """Each set's bytes on disk, as measured by `du` (vectors, metadata and artefacts)."""
        self.tree.setSortingEnabled(False)
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            size = sizes.get(item.data(0, KEY))
            if size is not None and item.data(0, KEY) not in self.damaged:
                self._show_size(item, size)
                entry = self.entries.get(item.data(0, KEY))
                if entry is not None and entry.sharded:  # the user's shard files are not counted
                    item.setText(SIZE, f"{item.text(SIZE)} + shards")
                    item.setToolTip(SIZE, SHARDED_TIP.format(shards=len(entry.shards or []))
                                    + f"; {size:,} bytes in the library")
        self.tree.setSortingEnabled(True)
        self._fit_columns()

    def _item(self, set_id: str) -> QTreeWidgetItem | None:
        return next((self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())
                     if self.tree.topLevelItem(i).data(0, KEY) == set_id), None)

    def selected_id(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, KEY) if items else None

    def find(self, set_id: str) -> LibraryEntry | DamagedSet | None:
        """The listed set (or damaged folder) with this id."""
        return self.entries.get(set_id) or self.damaged.get(set_id)

    # --- size ------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        """Room for the sets listed and one more, so a small library takes little height."""
        rows = min(max(self.tree.topLevelItemCount() + 1, ROWS_WANTED[0]), ROWS_WANTED[1])
        row = self.tree.sizeHintForRow(0) if self.tree.topLevelItemCount() else \
            self.tree.fontMetrics().height() + 6
        margins = self.layout().contentsMargins()
        height = (self.tree.header().sizeHint().height() + rows * row + 2 * self.tree.frameWidth()
                  + margins.top() + margins.bottom())
        return QSize(super().sizeHint().width(), height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Each column as wide as its header and cells; those that would leave the name
        less than NAME_ROOM hidden, the least needed (rightmost) first."""
        room = self.tree.viewport().width() - NAME_ROOM
        for col in range(1, len(COLUMNS)):
            self.tree.setColumnHidden(col, False)
            self.tree.resizeColumnToContents(col)
            room -= self.tree.columnWidth(col)
            self.tree.setColumnHidden(col, room < 0 and col > SIZE)

    @staticmethod
    def _show_size(item: QTreeWidgetItem, size: int) -> None:
        item.setText(SIZE, human_bytes(size))
        item.setData(SIZE, SORT, size)
        item.setToolTip(SIZE, f"{size:,} bytes on disk: vectors, metadata and everything "
                              "computed from them (File ▸ Library Storage… has the details)")

    # --- actions ---------------------------------------------------------------
    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        set_id = item.data(0, KEY)
        if set_id not in self.damaged:
            self.state.request_open(set_id)

    def _open_selected(self) -> None:
        set_id = self.selected_id()
        if set_id is not None and set_id not in self.damaged:
            self.state.request_open(set_id)

    def _emit_selected(self, signal, damaged_too: bool = False) -> None:
        set_id = self.selected_id()
        if set_id is not None and (damaged_too or set_id not in self.damaged):
            signal.emit(set_id)

    def _selection_changed(self) -> None:
        set_id = self.selected_id()
        good = set_id is not None and set_id not in self.damaged
        self.open_action.setEnabled(good)
        self.rename_action.setEnabled(good)
        self.remove_action.setEnabled(set_id is not None)

    def menu_for(self, set_id: str) -> QMenu:
        """The context menu of one listed set (damaged: only its folder and removal)."""
        found = self.find(set_id)
        item = self._item(set_id)
        if item is not None:
            self.tree.setCurrentItem(item)  # the keys' actions in the menu act on this set
        menu = QMenu(self)
        menu.setToolTipsVisible(True)

        def add(text: str, tip: str, slot) -> QAction:
            act = menu.addAction(text, slot)
            act.setToolTip(tip)
            act.setStatusTip(tip)
            return act

        if isinstance(found, LibraryEntry):
            menu.addAction(self.open_action)
            menu.addAction(self.rename_action)
            add("Set's model…", "Name the model that made the vectors; it is checked against "
                "them, so text queries and text poles can use it",
                lambda: self.modelRequested.emit(set_id))
            menu.addMenu(self._label_menu(menu, found))
            add("Attach metadata…", "Join a table of names, texts or categories to the items, "
                "row by row (the vectors stay as they are)",
                lambda: self.attachRequested.emit(set_id))
            if found.import_options is not None:
                source = Path(found.source[0]).name if found.source else "its file"
                add("Re-import", f"Read {source} again and replace the set with what it "
                    "holds now", lambda: self.reimportRequested.emit(set_id))
        folder = found.path if found is not None else ""
        add("Reveal in folder", f"Show the set's folder in the file manager: {folder}",
            lambda: self.revealRequested.emit(folder))
        menu.addSeparator()
        menu.addAction(self.remove_action)
        return menu

    def _label_menu(self, parent: QMenu, entry: LibraryEntry) -> QMenu:
        """Label column ▸: what lists call the items; the current one is checked."""
        menu = QMenu("Label column", parent)
        menu.setToolTipsVisible(True)
        tip = "What lists, the map's hover and neighbours call each item"
        menu.menuAction().setToolTip(tip)
        menu.menuAction().setStatusTip(tip)
        group = QActionGroup(menu)
        for column in [None, *entry.columns]:
            act = menu.addAction(AUTOMATIC_LABEL if column is None else column)
            act.setCheckable(True)
            act.setChecked(column == entry.label_column)
            act.setActionGroup(group)
            why = (f"Call the items by their “{column}”" if column is not None else
                   "Call the items by the id column, else by the text column")
            act.setToolTip(why)
            act.setStatusTip(why)
            act.triggered.connect(lambda _c=False, c=column:
                                  self.labelColumnRequested.emit(entry.id, c))
        return menu

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        menu = self.menu_for(item.data(0, KEY))
        menu.exec(self.tree.viewport().mapToGlobal(pos))
        menu.deleteLater()
