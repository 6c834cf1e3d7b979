"""The window's side of a set's images: opening its thumbnails, View ▸ Images…, building.

When a set is shown, a job finds its image source (remembered, or the one column that
clearly holds images) and opens its thumbnail cache; the views get it through
`state.thumbnails`. A set whose images have no thumbnails yet gets an offer (the item
panel's empty image area says it, with a button): nothing long starts without the user.
View ▸ Images… lists the detected columns, asks for a root folder for relative paths, and
builds the thumbnails as a window job (progress and Cancel in the status bar; a cancelled
run keeps what it made and the next one resumes; a result for a set left is dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library
from explorer.ui.panels.jobs import PanelJobs
from explorer.ui.state import AppState
from explorer.ui.widgets.error_line import error_text


@dataclass(frozen=True)
class Found:
    """What a set's images are: its source (None: not chosen), the store (None: not built
    or stale), and the columns detected (for the offer's words)."""

    source: object  # ImageSource | None
    store: object  # ThumbnailStore | None
    columns: list


@dataclass(frozen=True)
class Built:
    """A build's end: the report (None when cancelled) and the store as it stands."""

    report: object  # ThumbnailReport | None
    store: object


def find_images(es: EmbeddingSet, state: TaskState) -> Found:
    """The set's image source, cache and candidate columns (a job: it samples the metadata
    and reads the cache's header)."""
    from explorer.compute import thumbnails as th

    state.status("Looking for the set's images")
    source = th.image_source(es)
    store = th.open_thumbnails(es, source) if source is not None else None
    columns = th.find_image_columns(es) if store is None else []
    return Found(source, store, columns)


def offer_text(found: Found) -> str:
    """What the user can do about a set without thumbnails ("" when it has no images)."""
    usable = [c for c in found.columns if c.kind != "url"]
    if found.source is not None:
        return (f"“{found.source.column}” holds the items' images: build their thumbnails to "
                "see them here, on the map and in the lists")
    if usable:
        return (f"{len(usable)} columns may hold images "
                f"({', '.join(c.name for c in usable[:3])}): choose one to see them")
    urls = [c for c in found.columns if c.kind == "url"]
    if urls:
        return (f"“{urls[0].name}” holds {urls[0].urls:,} image URLs, which this app never "
                "fetches: download them and point a path column at them")
    return ""


def build(es: EmbeddingSet, library: Library, source, state: TaskState) -> Built:
    """Remember `source` with the set and make its thumbnails (a job; Cancel keeps them)."""
    from explorer.compute import thumbnails as th

    if es.library_id:
        th.remember_image_source(library, es.library_id, source)
    try:
        report = th.make_thumbnails(es, source, state)
    except Cancelled:
        return Built(None, th.open_thumbnails(es, source))
    return Built(report, th.open_thumbnails(es, source))


def report_text(report) -> str:
    """The status bar's words for a finished build."""
    text = f"Thumbnails: {report.made:,} of {report.count:,} made in {report.seconds:,.1f} s"
    problems = [f"{n:,} {what}" for n, what in ((report.missing, "files missing"),
                                                 (report.broken, "not readable as images"),
                                                 (report.urls, "URLs not loadable offline"))
                if n]
    return text + (f" · {', '.join(problems)}" if problems else "")


class ImageActions(QObject):
    """Opens each shown set's thumbnails, and offers View ▸ Images…."""

    def __init__(self, window: QWidget, library: Library, state: AppState, jobs: PanelJobs,
                 say: Callable[[str, int], None]) -> None:
        super().__init__(window)
        self.window = window
        self.library = library
        self.state = state
        self.jobs = jobs
        self.say = say
        self.found: Found | None = None
        self.dialog = None
        self.action = QAction("&Images…", window)
        self.action.setObjectName("imagesAction")
        self.action.setStatusTip("Choose the column holding the items' images and build "
                                 "their thumbnails")
        self.action.setEnabled(False)
        self.action.triggered.connect(self.open_dialog)
        state.setChanged.connect(self._set_changed)
        state.imagesRequested.connect(self.open_dialog)

    def add_to(self, menu: QMenu) -> None:
        menu.addAction(self.action)

    def _set_changed(self, es: EmbeddingSet | None) -> None:
        self.found = None
        self.action.setEnabled(es is not None)
        if es is not None:
            self.jobs.submit("images", "Looking for images", find_images, es,
                             on_done=lambda found: self._found(es, found),
                             on_error=self._not_found)

    def _not_found(self, error: BaseException) -> None:
        """Not knowing a set's images must not stand between the user and the set: a line
        in the status bar, not a dialog (a damaged cache is rebuilt by the next build)."""
        self.say(f"Could not look for the set's images: {error_text(error)}", 15000)

    def _found(self, es: EmbeddingSet, found: Found) -> None:
        self.found = found
        offer = offer_text(found)
        self.state.thumbnails.set_store(found.store, es.library_id, offer)
        if found.store is None and offer:
            self.say(f"{offer[0].upper()}{offer[1:]} (View ▸ Images…)", 15000)

    def open_dialog(self) -> None:
        """View ▸ Images… (or an empty image area's button): the columns are detected in a
        job first when the set was opened with its thumbnails (nothing was detected then)."""
        es = self.state.embedding_set
        if es is None:
            return
        found = self.found
        if found is not None and (found.columns or found.store is None):
            self._ask(es, found)
            return
        from explorer.compute import thumbnails as th

        self.jobs.submit("images", "Looking for images",
                         lambda _state: Found(th.image_source(es), self.state.thumbnails.store,
                                              th.find_image_columns(es)),
                         on_done=lambda found: self._ask(es, found))

    def _ask(self, es: EmbeddingSet, found: Found) -> None:
        from explorer.ui.dialogs.images_dialog import ImagesDialog

        self.found = found
        from explorer.compute.thumbnails import data_folder

        store = found.store
        built = (store.source.column, store.counts()) if store is not None else None
        dialog = ImagesDialog(found.columns, found.source, self.window,
                              has_file=data_folder(es) is not None, built=built)
        dialog.accepted.connect(lambda: self.start(dialog.source()))
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        self.dialog = dialog
        dialog.open()

    def start(self, source) -> None:
        """Build the thumbnails of `source` for the shown set (a window job)."""
        es = self.state.embedding_set
        if es is None or source is None:
            return
        self.jobs.submit("thumbnails", f"Making thumbnails of {source.column}", build, es,
                         self.library, source,
                         on_done=lambda built: self._built(es, source, built))

    def _built(self, es: EmbeddingSet, source, built: Built) -> None:
        if self.found is not None and self.state.embedding_set is es:
            # the dialog opened next shows what this build made, and from which source
            self.found = Found(source, built.store, self.found.columns)
        self.state.thumbnails.set_store(built.store, es.library_id,
                                        "" if built.store is not None
                                        else "the thumbnails were not finished: build again")
        if built.report is None:
            self.say("Thumbnails stopped; what was made is kept, and View ▸ Images… resumes",
                     15000)
        else:
            self.say(report_text(built.report), 30000)
